//! The points of a `.ptau` file: affine coordinates in Montgomery form, little-endian
//! (ffjavascript's `toRprLEM`), decoded with every check (coordinates below q, not infinity, on
//! the curve, in the prime-order subgroup).

use super::N8;
use crate::curve;
use ark_bls12_381::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, PrimeField};
use rayon::prelude::*;

/// 2^384 modulo q: a field element `x` is stored as `x·R`.
pub(crate) fn montgomery_r() -> Fq {
    Fq::from(2u64).pow([384])
}

fn fq_from_lem(bytes: &[u8], r_inv: &Fq) -> Result<Fq, String> {
    let mut limbs = [0u64; 6];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    let m = Fq::from_bigint(ark_ff::BigInt(limbs))
        .ok_or_else(|| "a coordinate is not below q".to_owned())?;
    Ok(m * r_inv)
}

fn fq_to_lem(x: &Fq, r: &Fq, out: &mut [u8]) {
    out.copy_from_slice(&(*x * r).into_bigint().to_bytes_le());
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// Decodes and checks one G1 point: coordinates below q, not infinity, on the curve, in the
/// prime-order subgroup.
pub(crate) fn g1_from_lem(bytes: &[u8], r_inv: &Fq) -> Result<G1Affine, String> {
    if all_zero(bytes) {
        return Err("the point at infinity".into());
    }
    let x = fq_from_lem(&bytes[..N8], r_inv)?;
    let y = fq_from_lem(&bytes[N8..], r_inv)?;
    let p = G1Affine::new_unchecked(x, y);
    curve::check_g1(&p)?;
    Ok(p)
}

/// Decodes and checks one G2 point, as [`g1_from_lem`].
pub(crate) fn g2_from_lem(bytes: &[u8], r_inv: &Fq) -> Result<G2Affine, String> {
    if all_zero(bytes) {
        return Err("the point at infinity".into());
    }
    let c = |i: usize| fq_from_lem(&bytes[i * N8..(i + 1) * N8], r_inv);
    let p = G2Affine::new_unchecked(Fq2::new(c(0)?, c(1)?), Fq2::new(c(2)?, c(3)?));
    curve::check_g2(&p)?;
    Ok(p)
}

pub(crate) fn g1_to_lem(p: &G1Affine, r: &Fq, out: &mut [u8]) {
    assert!(!p.is_zero(), "phase-1 points are never infinity");
    fq_to_lem(&p.x, r, &mut out[..N8]);
    fq_to_lem(&p.y, r, &mut out[N8..]);
}

pub(crate) fn g2_to_lem(p: &G2Affine, r: &Fq, out: &mut [u8]) {
    assert!(!p.is_zero(), "phase-1 points are never infinity");
    for (i, c) in [p.x.c0, p.x.c1, p.y.c0, p.y.c1].iter().enumerate() {
        fq_to_lem(c, r, &mut out[i * N8..(i + 1) * N8]);
    }
}

/// Decodes points in parallel; an error names the point's index.
pub(crate) fn points<T: Send>(
    bytes: &[u8],
    size: usize,
    decode: impl Fn(&[u8]) -> Result<T, String> + Sync,
) -> Result<Vec<T>, String> {
    bytes
        .par_chunks(size)
        .enumerate()
        .map(|(i, c)| decode(c).map_err(|e| format!("point {i}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{G1_BYTES, G2_BYTES};
    use crate::pok;
    use ark_ec::CurveGroup;

    #[test]
    fn montgomery_encoding_matches_arkworks_internal_form() {
        // arkworks keeps field elements in Montgomery form with R = 2^384 too: the encoding of
        // x is its internal limbs, which pins the conversion both ways.
        let (g1, _) = pok::generators();
        let r = montgomery_r();
        let mut out = [0u8; G1_BYTES];
        g1_to_lem(&g1, &r, &mut out);
        let limbs: Vec<u8> = g1.x.0 .0.iter().flat_map(|l| l.to_le_bytes()).collect();
        assert_eq!(&out[..N8], &limbs[..]);
        let r_inv = r.inverse().unwrap();
        assert_eq!(g1_from_lem(&out, &r_inv).unwrap(), g1);
    }

    #[test]
    fn points_round_trip_and_bad_points_are_refused() {
        let r = montgomery_r();
        let r_inv = r.inverse().unwrap();
        let (g1, g2) = pok::generators();
        let p1 = (g1 * ark_bls12_381::Fr::from(7u64)).into_affine();
        let p2 = (g2 * ark_bls12_381::Fr::from(9u64)).into_affine();
        let mut b1 = [0u8; G1_BYTES];
        let mut b2 = [0u8; G2_BYTES];
        g1_to_lem(&p1, &r, &mut b1);
        g2_to_lem(&p2, &r, &mut b2);
        assert_eq!(g1_from_lem(&b1, &r_inv).unwrap(), p1);
        assert_eq!(g2_from_lem(&b2, &r_inv).unwrap(), p2);
        assert!(g1_from_lem(&[0; G1_BYTES], &r_inv)
            .unwrap_err()
            .contains("infinity"));
        let mut off = b1;
        off[3] ^= 1;
        assert!(g1_from_lem(&off, &r_inv)
            .unwrap_err()
            .contains("not on the curve"));
        let mut big = b1;
        big[..N8].fill(0xff);
        assert!(g1_from_lem(&big, &r_inv).unwrap_err().contains("below q"));
        // A point of the curve outside the subgroup: x = 0 gives y^2 = 4 on E(Fq).
        let two = Fq::from(2u64);
        let outside = G1Affine::new_unchecked(Fq::from(0u64), two);
        assert!(outside.is_on_curve() && !outside.is_in_correct_subgroup_assuming_on_curve());
        let mut b = [0u8; G1_BYTES];
        fq_to_lem(&outside.x, &r, &mut b[..N8]);
        fq_to_lem(&outside.y, &r, &mut b[N8..]);
        assert!(g1_from_lem(&b, &r_inv).unwrap_err().contains("subgroup"));
        assert!(!g1.is_zero());
    }
}
