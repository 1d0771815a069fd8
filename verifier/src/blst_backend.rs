//! The blst pairing path: Groth16 checks with blst's Miller loop and final exponentiation
//! (about twice as fast as arkworks' on x86-64), arkworks remaining the reference.
//!
//! Points are decoded and validated by arkworks first (on curve, in the prime-order subgroup);
//! they cross over to blst without re-encoding, because both libraries keep BLS12-381 base-field
//! elements in Montgomery form with R = 2^384 over six little-endian 64-bit limbs, and both build
//! Fp12 as the same tower (Fp2 = Fp[u]/(u^2+1), Fp6 = Fp2[v]/(v^3-(u+1)), Fp12 = Fp6[w]/(w^2-v)).
//! The differential tests below and in the prover's tests hold the two implementations to the
//! same answers.

use crate::prepared::{input_weights, scaled_a, PreparedProof};
use crate::VerifyingKey;
use ark_bls12_381::{Fq, Fq12, Fq2, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use blst::{blst_fp, blst_fp12, blst_fp2, blst_fp6, blst_p1_affine, blst_p2_affine};

fn fp(x: &Fq) -> blst_fp {
    blst_fp { l: (x.0).0 }
}

fn fp2(x: &Fq2) -> blst_fp2 {
    blst_fp2 {
        fp: [fp(&x.c0), fp(&x.c1)],
    }
}

/// A G1 point in blst form. The point at infinity maps to blst's (0, 0) encoding of infinity.
pub(crate) fn g1(p: &G1Affine) -> blst_p1_affine {
    match p.xy() {
        Some((x, y)) => blst_p1_affine {
            x: fp(&x),
            y: fp(&y),
        },
        None => blst_p1_affine::default(),
    }
}

/// A G2 point in blst form.
pub(crate) fn g2(p: &G2Affine) -> blst_p2_affine {
    match p.xy() {
        Some((x, y)) => blst_p2_affine {
            x: fp2(&x),
            y: fp2(&y),
        },
        None => blst_p2_affine::default(),
    }
}

/// An Fp12 element in blst form.
pub(crate) fn fp12(x: &Fq12) -> blst_fp12 {
    let f6 = |c: &ark_bls12_381::Fq6| blst_fp6 {
        fp2: [fp2(&c.c0), fp2(&c.c1), fp2(&c.c2)],
    };
    blst_fp12 {
        fp6: [f6(&x.c0), f6(&x.c1)],
    }
}

/// Number of Fp6 line coefficients blst precomputes for one G2 point (BLS12-381).
const LINES: usize = 68;

/// The Miller-loop line coefficients of a fixed G2 point, computed once.
#[derive(Clone)]
struct Lines(Box<[blst_fp6; LINES]>);

impl Lines {
    #[allow(unsafe_code)]
    fn new(q: &blst_p2_affine) -> Self {
        let mut lines = Box::new([blst_fp6::default(); LINES]);
        // SAFETY: `blst_precompute_lines` writes exactly 68 line coefficients (its C signature is
        // `blst_fp6 Qlines[68]`) into a buffer that holds 68, and only reads `q`.
        unsafe { blst::blst_precompute_lines(lines.as_mut_ptr(), q) };
        Self(lines)
    }

    /// The Miller loop of `(q, p)` for the `q` these lines were computed from.
    #[allow(unsafe_code)]
    fn miller_loop(&self, p: &blst_p1_affine) -> blst_fp12 {
        let mut out = blst_fp12::default();
        // SAFETY: `blst_miller_loop_lines` reads exactly 68 line coefficients from a buffer of
        // 68 and the point `p`, and writes one Fp12 element into `out`.
        unsafe { blst::blst_miller_loop_lines(&mut out, self.0.as_ptr(), p) };
        out
    }
}

/// Window width of the fixed-base tables for the key's input bases.
const WINDOW: usize = 6;
/// Number of windows covering a 255-bit scalar.
const WINDOWS: usize = 255_usize.div_ceil(WINDOW);

/// A table of multiples of one fixed G1 base: entry `i * 2^WINDOW + j` is `j * 2^(WINDOW i) *
/// base`, so a scalar multiplication costs one mixed addition per non-zero window.
#[derive(Clone)]
struct FixedBase(Vec<G1Affine>);

impl FixedBase {
    fn new(base: &G1Affine) -> Self {
        let mut points = Vec::with_capacity(WINDOWS << WINDOW);
        let mut b = base.into_group();
        for _ in 0..WINDOWS {
            let mut acc = G1Projective::zero();
            for _ in 0..1 << WINDOW {
                points.push(acc);
                acc += b;
            }
            b = acc;
        }
        Self(G1Projective::normalize_batch(&points))
    }

    fn mul(&self, scalar: &Fr) -> G1Projective {
        let bits = scalar.into_bigint().to_bits_le();
        let mut acc = G1Projective::zero();
        for (i, window) in bits.chunks(WINDOW).enumerate().take(WINDOWS) {
            let j = window
                .iter()
                .rev()
                .fold(0usize, |n, &bit| (n << 1) | usize::from(bit));
            if j != 0 {
                acc += self.0[(i << WINDOW) | j];
            }
        }
        acc
    }
}

/// A verifying key's constants in blst form, computed once per key.
#[derive(Clone)]
pub(crate) struct BlstKey {
    inputs: Vec<FixedBase>,
    alpha_beta: blst_fp12,
    beta: Lines,
    neg_gamma: Lines,
    neg_delta: Lines,
    one: blst_fp12,
}

impl BlstKey {
    pub(crate) fn new(vk: &ark_groth16::VerifyingKey<ark_bls12_381::Bls12_381>) -> Self {
        let neg_gamma: G2Affine = (-vk.gamma_g2.into_group()).into_affine();
        let neg_delta: G2Affine = (-vk.delta_g2.into_group()).into_affine();
        let beta = g2(&vk.beta_g2);
        Self {
            inputs: vk.gamma_abc_g1[1..].iter().map(FixedBase::new).collect(),
            alpha_beta: blst_fp12::miller_loop(&beta, &g1(&vk.alpha_g1)).final_exp(),
            beta: Lines::new(&beta),
            neg_gamma: Lines::new(&g2(&neg_gamma)),
            neg_delta: Lines::new(&g2(&neg_delta)),
            one: fp12(&Fq12::one()),
        }
    }
}

/// `IC_0 + sum_j x_j IC_j` with the key's fixed-base tables.
fn prepared_inputs(key: &VerifyingKey, inputs: &[Fr]) -> G1Affine {
    let tables = &key.blst().inputs;
    debug_assert_eq!(tables.len(), inputs.len());
    tables
        .iter()
        .zip(inputs)
        .fold(key.pvk.vk.gamma_abc_g1[0].into_group(), |acc, (t, x)| {
            acc + t.mul(x)
        })
        .into_affine()
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
            b.neg_gamma.miller_loop(&g1(&p)) * b.neg_delta.miller_loop(&g1(&proof.c))
        },
        || blst_fp12::miller_loop(&g2(&proof.b), &g1(&proof.a)),
    );
    (with_inputs * rest).final_exp() == b.alpha_beta
}

/// The batch check with blst (see the `batch` module): the random-linear-combination identity with
/// `e(-(sum r_i) alpha, beta)` moved to the left, so the product must be one.
pub(crate) fn batch_holds(key: &VerifyingKey, proofs: &[&PreparedProof], r: &[Fr]) -> bool {
    let b = key.blst();
    let (weights, sum_r) = input_weights(key, proofs, r);
    let ic = &key.pvk.vk.gamma_abc_g1;
    let inputs = G1Projective::msm_unchecked(ic, &weights).into_affine();
    let cs: Vec<G1Affine> = proofs.iter().map(|p| p.proof.c).collect();
    let c = G1Projective::msm_unchecked(&cs, r).into_affine();
    let neg_alpha = (-(key.pvk.vk.alpha_g1 * sum_r)).into_affine();
    let ra = scaled_a(proofs, r);
    let qs: Vec<blst_p2_affine> = proofs.iter().map(|p| g2(&p.proof.b)).collect();
    let ps: Vec<blst_p1_affine> = ra.iter().map(g1).collect();
    let (varying, fixed) = rayon::join(
        || blst_fp12::miller_loop_n(&qs, &ps),
        || {
            b.neg_gamma.miller_loop(&g1(&inputs))
                * b.neg_delta.miller_loop(&g1(&c))
                * b.beta.miller_loop(&g1(&neg_alpha))
        },
    );
    (varying * fixed).final_exp() == b.one
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Bls12_381, G2Affine};
    use ark_ec::pairing::Pairing;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn pairings_agree_with_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for _ in 0..8 {
            let p = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
            let q = (G2Affine::generator() * Fr::rand(&mut rng)).into_affine();
            let ark = Bls12_381::pairing(p, q).0;
            let ours = blst_fp12::miller_loop(&g2(&q), &g1(&p)).final_exp();
            assert!(ours == fp12(&ark));
            let lines = Lines::new(&g2(&q)).miller_loop(&g1(&p)).final_exp();
            assert!(lines == fp12(&ark));
        }
    }

    #[test]
    fn fixed_base_tables_multiply_like_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let base = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let table = FixedBase::new(&base);
        let edge = [
            Fr::zero(),
            Fr::one(),
            -Fr::one(),
            Fr::from(1u64 << 6),
            Fr::from(63u64),
        ];
        for s in edge.into_iter().chain((0..16).map(|_| Fr::rand(&mut rng))) {
            assert_eq!(table.mul(&s).into_affine(), (base * s).into_affine());
        }
    }
}
