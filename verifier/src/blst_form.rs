//! BLS12-381 points and field elements crossing between arkworks and blst, without re-encoding.
//!
//! Both libraries keep base-field elements in Montgomery form with R = 2^384 over six
//! little-endian 64-bit limbs, fully reduced, and both build the extension fields as the same
//! tower (Fp2 = Fp[u]/(u^2+1), Fp6 = Fp2[v]/(v^3-(u+1)), Fp12 = Fp6[w]/(w^2-v)): a conversion
//! copies limbs. The conversions validate nothing: they are for points already validated (decoded
//! with full checks, read from a checked key, or computed), never for outside bytes; the subgroup
//! checks ([`in_g1`], [`in_g2`]) are for points known to be on the curve.

use ark_bls12_381::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, PrimeField, Zero};
use blst::{blst_fp, blst_fp2, blst_p1, blst_p1_affine, blst_p2, blst_p2_affine, MultiPoint};
use zeroize::Zeroizing;

/// A base-field element in blst form.
pub fn fp(x: &Fq) -> blst_fp {
    blst_fp { l: (x.0).0 }
}

/// A quadratic-extension element in blst form.
pub fn fp2(x: &Fq2) -> blst_fp2 {
    blst_fp2 {
        fp: [fp(&x.c0), fp(&x.c1)],
    }
}

/// An arkworks base-field element from blst's (the same Montgomery limbs, fully reduced).
pub fn fq(x: &blst_fp) -> Fq {
    Fq::new_unchecked(BigInt(x.l))
}

/// An arkworks quadratic-extension element from blst's.
pub fn fq2(x: &blst_fp2) -> Fq2 {
    Fq2::new(fq(&x.fp[0]), fq(&x.fp[1]))
}

/// A G1 point in blst's affine form; the point at infinity is blst's all-zero encoding.
pub fn g1(p: &G1Affine) -> blst_p1_affine {
    match p.xy() {
        Some((x, y)) => blst_p1_affine {
            x: fp(&x),
            y: fp(&y),
        },
        None => blst_p1_affine::default(),
    }
}

/// A G2 point in blst's affine form; the point at infinity is blst's all-zero encoding.
pub fn g2(p: &G2Affine) -> blst_p2_affine {
    match p.xy() {
        Some((x, y)) => blst_p2_affine {
            x: fp2(&x),
            y: fp2(&y),
        },
        None => blst_p2_affine::default(),
    }
}

/// arkworks' Jacobian G1 point as blst's (infinity: `z = 0` in both).
pub fn to_p1(p: &G1Projective) -> blst_p1 {
    blst_p1 {
        x: fp(&p.x),
        y: fp(&p.y),
        z: fp(&p.z),
    }
}

/// arkworks' Jacobian G2 point as blst's.
pub fn to_p2(p: &G2Projective) -> blst_p2 {
    blst_p2 {
        x: fp2(&p.x),
        y: fp2(&p.y),
        z: fp2(&p.z),
    }
}

/// blst's Jacobian G1 point as arkworks' (also Jacobian; `z = 0` is infinity in both).
pub fn from_p1(p: &blst_p1) -> G1Projective {
    if fq(&p.z).is_zero() {
        return G1Projective::zero();
    }
    G1Projective::new_unchecked(fq(&p.x), fq(&p.y), fq(&p.z))
}

/// blst's Jacobian G2 point as arkworks'.
pub fn from_p2(p: &blst_p2) -> G2Projective {
    if fq2(&p.z).is_zero() {
        return G2Projective::zero();
    }
    G2Projective::new_unchecked(fq2(&p.x), fq2(&p.y), fq2(&p.z))
}

/// The scalar as blst reads it: 32 little-endian bytes, fully reduced (zeroized after use: the
/// ceremony multiplies by secrets).
fn scalar_bytes(s: &Fr) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    for (chunk, limb) in out.chunks_exact_mut(8).zip(s.into_bigint().0) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// `s·p` in G1 with blst: the scalar split by the curve's endomorphism (GLV), assembly field
/// arithmetic, constant time.
#[allow(unsafe_code)]
pub fn mul_g1(p: &G1Projective, s: &Fr) -> G1Projective {
    let p = to_p1(p);
    let mut out = blst_p1::default();
    // SAFETY: blst reads 255 bits (32 bytes) of the scalar, which lives until the call returns,
    // and writes `out`; `p` is a point of the curve (an arkworks point, the same limbs).
    unsafe { blst::blst_p1_mult(&mut out, &p, scalar_bytes(s).as_ptr(), 255) };
    from_p1(&out)
}

/// `s·p` in G2 with blst (four-way GLS decomposition, constant time).
#[allow(unsafe_code)]
pub fn mul_g2(p: &G2Projective, s: &Fr) -> G2Projective {
    let p = to_p2(p);
    let mut out = blst_p2::default();
    // SAFETY: as in `mul_g1`.
    unsafe { blst::blst_p2_mult(&mut out, &p, scalar_bytes(s).as_ptr(), 255) };
    from_p2(&out)
}

/// Whether a point of the curve is in G1, the prime-order subgroup (blst's endomorphism test).
/// The caller has checked that the point is on the curve.
#[allow(unsafe_code)]
pub fn in_g1(p: &G1Affine) -> bool {
    if p.is_zero() {
        return true;
    }
    // SAFETY: reads one affine point.
    unsafe { blst::blst_p1_affine_in_g1(&g1(p)) }
}

/// Whether a point of the twist is in G2, the prime-order subgroup. The caller has checked that
/// the point is on the curve.
#[allow(unsafe_code)]
pub fn in_g2(p: &G2Affine) -> bool {
    if p.is_zero() {
        return true;
    }
    // SAFETY: reads one affine point.
    unsafe { blst::blst_p2_affine_in_g2(&g2(p)) }
}

/// The scalars as blst's multi-scalar multiplication reads them: `bits` bits each (the longest
/// scalar's length), little-endian, in whole bytes.
fn msm_scalars(scalars: &[Fr]) -> (Vec<u8>, usize) {
    let bits = scalars
        .iter()
        .map(|s| s.into_bigint().num_bits())
        .max()
        .unwrap_or(0)
        .max(1) as usize;
    let nbytes = bits.div_ceil(8);
    let mut out = Vec::with_capacity(nbytes * scalars.len());
    for s in scalars {
        out.extend_from_slice(&scalar_bytes(s)[..nbytes]);
    }
    (out, bits)
}

/// `sum s_i p_i` in G1 with blst's Pippenger multi-scalar multiplication, on blst's own worker
/// threads. Public scalars only (not constant time in the scalars' lengths).
pub fn msm_g1(points: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    assert_eq!(points.len(), scalars.len(), "one scalar per point");
    if points.is_empty() {
        return G1Projective::zero();
    }
    let affine: Vec<blst_p1_affine> = points.iter().map(g1).collect();
    let (bytes, bits) = msm_scalars(scalars);
    from_p1(&affine.mult(&bytes, bits))
}

/// `sum s_i p_i` in G2, as [`msm_g1`].
pub fn msm_g2(points: &[G2Affine], scalars: &[Fr]) -> G2Projective {
    assert_eq!(points.len(), scalars.len(), "one scalar per point");
    if points.is_empty() {
        return G2Projective::zero();
    }
    let affine: Vec<blst_p2_affine> = points.iter().map(g2).collect();
    let (bytes, bits) = msm_scalars(scalars);
    from_p2(&affine.mult(&bytes, bits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::VariableBaseMSM;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn multiplications_match_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        for n in [0usize, 1, 2, 5, 40] {
            let p1: Vec<G1Affine> = (0..n).map(|_| G1Affine::rand(&mut rng)).collect();
            let p2: Vec<G2Affine> = (0..n).map(|_| G2Affine::rand(&mut rng)).collect();
            let mut full: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let short: Vec<Fr> = (0..n)
                .map(|_| Fr::from(rand::Rng::gen::<u128>(&mut rng)))
                .collect();
            if n > 2 {
                full[1] = Fr::zero();
                full[2] = -Fr::from(1u64);
            }
            for s in [&full, &short] {
                assert_eq!(
                    msm_g1(&p1, s),
                    G1Projective::msm(&p1, s).unwrap(),
                    "G1, n = {n}"
                );
                assert_eq!(
                    msm_g2(&p2, s),
                    G2Projective::msm(&p2, s).unwrap(),
                    "G2, n = {n}"
                );
            }
            for (p, s) in p1.iter().zip(&full) {
                assert_eq!(mul_g1(&p.into_group(), s), *p * s);
            }
            for (p, s) in p2.iter().zip(&full) {
                assert_eq!(mul_g2(&p.into_group(), s), *p * s);
            }
        }
        // The point at infinity among the points, and as the point multiplied.
        let mut p1: Vec<G1Affine> = (0..4).map(|_| G1Affine::rand(&mut rng)).collect();
        p1[2] = G1Affine::zero();
        let s: Vec<Fr> = (0..4).map(|_| Fr::rand(&mut rng)).collect();
        assert_eq!(msm_g1(&p1, &s), G1Projective::msm(&p1, &s).unwrap());
        assert!(mul_g1(&G1Projective::zero(), &s[0]).is_zero());
        assert!(mul_g2(&G2Projective::zero(), &s[0]).is_zero());
    }

    #[test]
    fn subgroup_checks_match_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        assert!(in_g1(&G1Affine::rand(&mut rng)) && in_g1(&G1Affine::zero()));
        assert!(in_g2(&G2Affine::rand(&mut rng)) && in_g2(&G2Affine::zero()));
        // x = 0 gives y^2 = 4 on E(Fq): on the curve, outside the subgroup.
        let outside = G1Affine::new_unchecked(Fq::from(0u64), Fq::from(2u64));
        assert!(outside.is_on_curve() && !in_g1(&outside));
        let mut x = Fq2::from(1u64);
        let outside2 = loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
                break p;
            }
            x += Fq2::from(1u64);
        };
        assert!(!outside2.is_in_correct_subgroup_assuming_on_curve() && !in_g2(&outside2));
    }
}
