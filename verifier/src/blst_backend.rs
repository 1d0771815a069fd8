//! The blst path: Groth16 checks with blst's Miller loop and final exponentiation (about twice
//! as fast as arkworks' on x86-64), and the group arithmetic around them on blst too: the public
//! input sums from fixed-base tables, the batch's 128-bit scalings `r_i A_i` and its Pippenger sum
//! `sum r_i C_i`. arkworks remains the reference.
//!
//! Points arrive validated (decoded by `blst_points` or arkworks) and cross over to blst without
//! re-encoding (see `blst_points`). Pairs with a point at infinity contribute one to the product,
//! as in arkworks: they are left out of the Miller loops, whose blst versions do not handle them.
//! The differential tests below and in the prover's tests hold the two implementations to the
//! same answers.

use crate::blst_points::{
    g1, g1_is_infinity, g2, g2_is_infinity, msm_128, neg, scale_128, to_affine, FixedBase,
};
use crate::prepared::{input_weights, PreparedProof};
use crate::VerifyingKey;
use ark_bls12_381::{Fr, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use blst::{blst_fp12, blst_fp6, blst_p1, blst_p1_affine, blst_p2_affine};
use rayon::prelude::*;

/// The neutral element of Fp12 (blst's `Default` for `blst_fp12` is one).
fn one() -> blst_fp12 {
    blst_fp12::default()
}

/// Number of Fp6 line coefficients blst precomputes for one G2 point (BLS12-381).
const LINES: usize = 68;

/// The Miller-loop line coefficients of a fixed G2 point, computed once (none for the point at
/// infinity, whose pairings are all one).
#[derive(Clone)]
struct Lines(Option<Box<[blst_fp6; LINES]>>);

impl Lines {
    #[allow(unsafe_code)]
    fn new(q: &blst_p2_affine) -> Self {
        if g2_is_infinity(q) {
            return Self(None);
        }
        let mut lines = Box::new([blst_fp6::default(); LINES]);
        // SAFETY: `blst_precompute_lines` writes exactly 68 line coefficients (its C signature is
        // `blst_fp6 Qlines[68]`) into a buffer that holds 68, and only reads `q`.
        unsafe { blst::blst_precompute_lines(lines.as_mut_ptr(), q) };
        Self(Some(lines))
    }

    /// The Miller loop of `(q, p)` for the `q` these lines were computed from.
    #[allow(unsafe_code)]
    fn miller_loop(&self, p: &blst_p1_affine) -> blst_fp12 {
        match &self.0 {
            Some(lines) if !g1_is_infinity(p) => {
                let mut out = blst_fp12::default();
                // SAFETY: `blst_miller_loop_lines` reads exactly 68 line coefficients from a
                // buffer of 68 and the point `p`, and writes one Fp12 element into `out`.
                unsafe { blst::blst_miller_loop_lines(&mut out, lines.as_ptr(), p) };
                out
            }
            _ => one(),
        }
    }
}

/// The product of the Miller loops of pairs, on the calling thread (blst shares the squarings of
/// up to 16 pairs). Pairs with a point at infinity are left out.
#[allow(unsafe_code)]
fn miller_loop_n(qs: &[blst_p2_affine], ps: &[blst_p1_affine]) -> blst_fp12 {
    let (qs, ps): (Vec<blst_p2_affine>, Vec<blst_p1_affine>) = qs
        .iter()
        .zip(ps)
        .filter(|(q, p)| !g2_is_infinity(q) && !g1_is_infinity(p))
        .map(|(q, p)| (*q, *p))
        .unzip();
    if qs.is_empty() {
        return one();
    }
    let mut out = blst_fp12::default();
    let q: [*const blst_p2_affine; 2] = [qs.as_ptr(), std::ptr::null()];
    let p: [*const blst_p1_affine; 2] = [ps.as_ptr(), std::ptr::null()];
    // SAFETY: the second entries of both lists are null, so blst reads `qs.len()` contiguous
    // points from `qs` and as many from `ps` (the same length), and writes one Fp12 element.
    unsafe { blst::blst_miller_loop_n(&mut out, q.as_ptr(), p.as_ptr(), qs.len()) };
    out
}

/// A verifying key's constants in blst form, computed once per key.
#[derive(Clone)]
pub(crate) struct BlstKey {
    /// Fixed-base tables of every input base, the constant input's first.
    inputs: Vec<FixedBase>,
    alpha: FixedBase,
    alpha_beta: blst_fp12,
    beta: Lines,
    neg_gamma: Lines,
    neg_delta: Lines,
}

impl BlstKey {
    pub(crate) fn new(vk: &ark_groth16::VerifyingKey<ark_bls12_381::Bls12_381>) -> Self {
        let neg_gamma: G2Affine = (-vk.gamma_g2.into_group()).into_affine();
        let neg_delta: G2Affine = (-vk.delta_g2.into_group()).into_affine();
        let beta = g2(&vk.beta_g2);
        Self {
            inputs: vk.gamma_abc_g1.iter().map(FixedBase::new).collect(),
            alpha: FixedBase::new(&vk.alpha_g1),
            alpha_beta: miller_loop_n(&[beta], &[g1(&vk.alpha_g1)]).final_exp(),
            beta: Lines::new(&beta),
            neg_gamma: Lines::new(&g2(&neg_gamma)),
            neg_delta: Lines::new(&g2(&neg_delta)),
        }
    }
}

/// `IC_0 + sum_j x_j IC_j` with the key's fixed-base tables.
fn prepared_inputs(key: &VerifyingKey, inputs: &[Fr]) -> blst_p1_affine {
    let tables = &key.blst().inputs;
    debug_assert_eq!(tables.len(), inputs.len() + 1);
    let mut acc = tables[0].mul(&Fr::one());
    for (t, x) in tables[1..].iter().zip(inputs) {
        t.mul_add(&mut acc, x);
    }
    to_affine(&acc)
}

/// The single Groth16 check with blst: `e(A,B) e(P,-gamma) e(C,-delta) = e(alpha,beta)`.
/// The caller has checked the input count. Two threads share the work: one computes `P` from
/// the fixed-base tables and the loops of the fixed points `-gamma` and `-delta` (precomputed
/// lines), the other the loop of `(A, B)`.
pub(crate) fn verify_one(
    key: &VerifyingKey,
    proof: &ark_groth16::Proof<ark_bls12_381::Bls12_381>,
    inputs: &[Fr],
) -> bool {
    let b = key.blst();
    let (with_inputs, rest) = rayon::join(
        || {
            let p = prepared_inputs(key, inputs);
            b.neg_gamma.miller_loop(&p) * b.neg_delta.miller_loop(&g1(&proof.c))
        },
        || miller_loop_n(&[g2(&proof.b)], &[g1(&proof.a)]),
    );
    (with_inputs * rest).final_exp() == b.alpha_beta
}

/// Proofs per task of the batch: each task scales its `A_i` and runs one Miller loop over its
/// pairs (blst shares the squarings of up to 16 pairs per loop).
const CHUNK: usize = 16;

/// `prod_i e(r_i A_i, B_i)` before the final exponentiation, for one task's proofs.
fn scaled_pairs(proofs: &[&PreparedProof], r: &[u128]) -> blst_fp12 {
    let a: Vec<blst_p1_affine> = proofs.iter().map(|p| g1(&p.proof.a)).collect();
    let b: Vec<blst_p2_affine> = proofs.iter().map(|p| g2(&p.proof.b)).collect();
    miller_loop_n(&b, &scale_128(&a, r))
}

/// The batch check with blst (see the `batch` module) for 128-bit scalars `r` (non-zero): the
/// random-linear-combination identity with `e(-(sum r_i) alpha, beta)` moved to the left, so the
/// product must be one. The proofs' scalings and Miller loops run in tasks of [`CHUNK`] proofs
/// across rayon's threads; beside them, one task computes the input sum, `sum r_i C_i` and the
/// loops of the three fixed points.
pub(crate) fn batch_holds(key: &VerifyingKey, proofs: &[&PreparedProof], r: &[u128]) -> bool {
    debug_assert_eq!(proofs.len(), r.len());
    if proofs.is_empty() {
        return true;
    }
    let b = key.blst();
    let (varying, fixed) = rayon::join(
        || {
            proofs
                .par_chunks(CHUNK)
                .zip(r.par_chunks(CHUNK))
                .map(|(p, r)| scaled_pairs(p, r))
                .reduce(one, |x, y| x * y)
        },
        || {
            let r_fr: Vec<Fr> = r.iter().map(|&ri| Fr::from(ri)).collect();
            let (weights, sum_r) = input_weights(key, proofs, &r_fr);
            let mut inputs = blst_p1::default();
            for (t, w) in b.inputs.iter().zip(&weights) {
                t.mul_add(&mut inputs, w);
            }
            let cs: Vec<blst_p1_affine> = proofs.iter().map(|p| g1(&p.proof.c)).collect();
            let c = msm_128(&cs, r);
            let neg_alpha = neg(b.alpha.mul(&sum_r));
            b.neg_gamma.miller_loop(&to_affine(&inputs))
                * b.neg_delta.miller_loop(&to_affine(&c))
                * b.beta.miller_loop(&to_affine(&neg_alpha))
        },
    );
    (varying * fixed).final_exp() == one()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blst_points::fp12;
    use ark_bls12_381::{Bls12_381, G1Affine, G2Affine};
    use ark_ec::pairing::Pairing;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn pairings_agree_with_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut ps: Vec<G1Affine> = Vec::new();
        let mut qs: Vec<G2Affine> = Vec::new();
        for _ in 0..20 {
            let p = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
            let q = (G2Affine::generator() * Fr::rand(&mut rng)).into_affine();
            let ark = Bls12_381::pairing(p, q).0;
            let ours = miller_loop_n(&[g2(&q)], &[g1(&p)]).final_exp();
            assert!(ours == fp12(&ark));
            let lines = Lines::new(&g2(&q)).miller_loop(&g1(&p)).final_exp();
            assert!(lines == fp12(&ark));
            ps.push(p);
            qs.push(q);
        }
        // Pairs with the point at infinity on either side count as one, as in arkworks.
        ps[3] = G1Affine::zero();
        qs[17] = G2Affine::zero();
        let ark = Bls12_381::multi_pairing(&ps, &qs).0;
        let bq: Vec<blst_p2_affine> = qs.iter().map(g2).collect();
        let bp: Vec<blst_p1_affine> = ps.iter().map(g1).collect();
        assert!(miller_loop_n(&bq, &bp).final_exp() == fp12(&ark));
        assert!(miller_loop_n(&bq[3..4], &bp[3..4]) == one());
        assert!(Lines::new(&bq[0]).miller_loop(&bp[3]) == one());
        assert!(Lines::new(&bq[17]).miller_loop(&bp[0]) == one());
    }
}
