//! BLS12-381 points on blst: validated decoding of compressed points, fixed-base tables and
//! 128-bit scalings (points cross between arkworks and blst with [`crate::blst_form`]).
//!
//! The compressed encoding is the same in both libraries (the Zcash one: big-endian x, bit 7 of
//! the first byte set for compression, bit 6 for the point at infinity, bit 5 for the larger y),
//! and blst accepts exactly the encodings arkworks accepts; the tests below hold the two decoders
//! to the same answers.

#[cfg(test)]
use crate::blst_form::fp2;
use crate::blst_form::{fq, fq2};
pub(crate) use crate::blst_form::{g1, g2};
use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, Zero};
use blst::{blst_p1, blst_p1_affine, blst_p2_affine, BLST_ERROR};

/// An Fp12 element in blst form (the tests compare pairings with it).
#[cfg(test)]
pub(crate) fn fp12(x: &ark_bls12_381::Fq12) -> blst::blst_fp12 {
    let f6 = |c: &ark_bls12_381::Fq6| blst::blst_fp6 {
        fp2: [fp2(&c.c0), fp2(&c.c1), fp2(&c.c2)],
    };
    blst::blst_fp12 {
        fp6: [f6(&x.c0), f6(&x.c1)],
    }
}

/// True for blst's encoding of the G1 point at infinity.
pub(crate) fn g1_is_infinity(p: &blst_p1_affine) -> bool {
    *p == blst_p1_affine::default()
}

/// True for blst's encoding of the G2 point at infinity.
pub(crate) fn g2_is_infinity(p: &blst_p2_affine) -> bool {
    *p == blst_p2_affine::default()
}

/// Why a compressed point was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PointError {
    /// Not a canonical compressed encoding (flags, or a coordinate not below the modulus).
    Encoding,
    /// No point of the curve has this x coordinate.
    NotOnCurve,
    /// On the curve but outside the prime-order subgroup.
    NotInSubgroup,
    /// The point at infinity, which proofs never hold.
    Infinity,
}

impl std::fmt::Display for PointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PointError::Encoding => "not a canonical compressed encoding",
            PointError::NotOnCurve => "not on the curve",
            PointError::NotInSubgroup => "not in the prime-order subgroup",
            PointError::Infinity => "the point at infinity",
        })
    }
}

fn uncompress_error(e: BLST_ERROR) -> Result<(), PointError> {
    match e {
        BLST_ERROR::BLST_SUCCESS => Ok(()),
        BLST_ERROR::BLST_POINT_NOT_ON_CURVE => Err(PointError::NotOnCurve),
        BLST_ERROR::BLST_POINT_NOT_IN_GROUP => Err(PointError::NotInSubgroup),
        _ => Err(PointError::Encoding),
    }
}

/// Decodes a compressed G1 point: canonical encoding, on the curve, in the prime-order subgroup
/// and not the point at infinity.
#[allow(unsafe_code)]
pub(crate) fn decode_g1(bytes: &[u8; 48]) -> Result<G1Affine, PointError> {
    let mut p = blst_p1_affine::default();
    // SAFETY: `blst_p1_uncompress` reads exactly 48 bytes from a 48-byte array and writes one
    // affine point into `p`.
    uncompress_error(unsafe { blst::blst_p1_uncompress(&mut p, bytes.as_ptr()) })?;
    if g1_is_infinity(&p) {
        return Err(PointError::Infinity);
    }
    // SAFETY: reads one affine point.
    if !unsafe { blst::blst_p1_affine_in_g1(&p) } {
        return Err(PointError::NotInSubgroup);
    }
    // blst has checked the point: on the curve, in the subgroup, coordinates fully reduced.
    Ok(G1Affine::new_unchecked(fq(&p.x), fq(&p.y)))
}

/// Decodes a compressed G2 point: canonical encoding, on the curve, in the prime-order subgroup
/// and not the point at infinity.
#[allow(unsafe_code)]
pub(crate) fn decode_g2(bytes: &[u8; 96]) -> Result<G2Affine, PointError> {
    let mut p = blst_p2_affine::default();
    // SAFETY: `blst_p2_uncompress` reads exactly 96 bytes from a 96-byte array and writes one
    // affine point into `p`.
    uncompress_error(unsafe { blst::blst_p2_uncompress(&mut p, bytes.as_ptr()) })?;
    if g2_is_infinity(&p) {
        return Err(PointError::Infinity);
    }
    // SAFETY: reads one affine point.
    if !unsafe { blst::blst_p2_affine_in_g2(&p) } {
        return Err(PointError::NotInSubgroup);
    }
    // blst has checked the point: on the curve, in the subgroup, coordinates fully reduced.
    Ok(G2Affine::new_unchecked(fq2(&p.x), fq2(&p.y)))
}

/// `out = out + p` in blst's Jacobian form (doubling and infinity handled).
#[allow(unsafe_code)]
pub(crate) fn add_affine(out: &mut blst_p1, p: &blst_p1_affine) {
    let acc: *mut blst_p1 = out;
    // SAFETY: blst reads `acc` and `p` fully before it writes the sum to `acc`; both point to
    // valid points.
    unsafe { blst::blst_p1_add_or_double_affine(acc, acc, p) };
}

/// `-p`.
#[allow(unsafe_code)]
pub(crate) fn neg(mut p: blst_p1) -> blst_p1 {
    // SAFETY: negates the point in place.
    unsafe { blst::blst_p1_cneg(&mut p, true) };
    p
}

/// The affine form of a Jacobian point (infinity gives blst's all-zero encoding).
#[allow(unsafe_code)]
pub(crate) fn to_affine(p: &blst_p1) -> blst_p1_affine {
    let mut out = blst_p1_affine::default();
    // SAFETY: reads one Jacobian point and writes one affine point.
    unsafe { blst::blst_p1_to_affine(&mut out, p) };
    out
}

/// `r_i p_i` for 128-bit scalars, in affine form (one inversion for all). Each scaling takes 128
/// doublings instead of a full-width scalar's 255.
#[allow(unsafe_code)]
pub(crate) fn scale_128(points: &[blst_p1_affine], r: &[u128]) -> Vec<blst_p1_affine> {
    debug_assert_eq!(points.len(), r.len());
    let scaled: Vec<blst_p1> = points
        .iter()
        .zip(r)
        .map(|(p, ri)| {
            let mut jacobian = blst_p1::default();
            let mut out = blst_p1::default();
            let scalar = ri.to_le_bytes();
            // SAFETY: `blst_p1_from_affine` reads one affine point and writes one Jacobian
            // point; `blst_p1_mult` reads 128 bits (16 bytes, little-endian) from a 16-byte array
            // and the point, and writes the product into `out`.
            unsafe {
                blst::blst_p1_from_affine(&mut jacobian, p);
                blst::blst_p1_mult(&mut out, &jacobian, scalar.as_ptr(), 128);
            }
            out
        })
        .collect();
    let mut affine = vec![blst_p1_affine::default(); scaled.len()];
    if !scaled.is_empty() {
        let list: [*const blst_p1; 2] = [scaled.as_ptr(), std::ptr::null()];
        // SAFETY: a list whose second entry is null tells blst that the points lie contiguously
        // from the first: it reads `scaled.len()` points from `scaled` and writes as many into
        // `affine`, which holds that many.
        unsafe { blst::blst_p1s_to_affine(affine.as_mut_ptr(), list.as_ptr(), scaled.len()) };
    }
    affine
}

/// `sum_i r_i p_i` for 128-bit scalars, with blst's Pippenger on the calling thread.
#[allow(unsafe_code)]
pub(crate) fn msm_128(points: &[blst_p1_affine], r: &[u128]) -> blst_p1 {
    debug_assert_eq!(points.len(), r.len());
    let mut out = blst_p1::default();
    // The point at infinity adds nothing: it is left out.
    let (points, scalars): (Vec<blst_p1_affine>, Vec<[u8; 16]>) = points
        .iter()
        .zip(r)
        .filter(|(p, _)| !g1_is_infinity(p))
        .map(|(p, ri)| (*p, ri.to_le_bytes()))
        .unzip();
    let scalars = scalars.concat();
    let n = points.len();
    if n == 0 {
        return out;
    }
    // SAFETY: reads the size of the scratch space Pippenger needs for `n` points.
    let bytes = unsafe { blst::blst_p1s_mult_pippenger_scratch_sizeof(n) };
    let mut scratch = vec![0u64; bytes.div_ceil(8)];
    let p: [*const blst_p1_affine; 2] = [points.as_ptr(), std::ptr::null()];
    let s: [*const u8; 2] = [scalars.as_ptr(), std::ptr::null()];
    // SAFETY: the second entries of both lists are null, so blst reads `n` contiguous affine
    // points from `points` and `n` contiguous 16-byte scalars (128 bits each) from `scalars`;
    // `scratch` holds the number of bytes blst asked for; the sum is written into `out`.
    unsafe {
        blst::blst_p1s_mult_pippenger(
            &mut out,
            p.as_ptr(),
            n,
            s.as_ptr(),
            128,
            scratch.as_mut_ptr(),
        )
    };
    out
}

/// Window width of the fixed-base tables.
const WINDOW: usize = 6;
/// Number of windows covering a 255-bit scalar.
const WINDOWS: usize = 255_usize.div_ceil(WINDOW);

/// A table of multiples of one fixed G1 base in blst form: entry `i * 2^WINDOW + j` is
/// `j * 2^(WINDOW i) * base`, so a scalar multiplication costs one mixed addition per non-zero
/// window (at most 43) and no doubling.
#[derive(Clone)]
pub(crate) struct FixedBase(Vec<blst_p1_affine>);

impl FixedBase {
    /// The table of a base (computed once per key, with arkworks).
    pub(crate) fn new(base: &G1Affine) -> Self {
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
        Self(
            G1Projective::normalize_batch(&points)
                .iter()
                .map(g1)
                .collect(),
        )
    }

    /// `scalar * base`, in blst's Jacobian form.
    pub(crate) fn mul(&self, scalar: &Fr) -> blst_p1 {
        let mut acc = blst_p1::default();
        self.mul_add(&mut acc, scalar);
        acc
    }

    /// `acc += scalar * base`.
    pub(crate) fn mul_add(&self, acc: &mut blst_p1, scalar: &Fr) {
        let limbs = scalar.into_bigint().0;
        for i in 0..WINDOWS {
            let j = window(&limbs, i * WINDOW);
            if j != 0 {
                add_affine(acc, &self.0[(i << WINDOW) | j]);
            }
        }
    }
}

/// Bits `start..start + WINDOW` of a little-endian 256-bit integer.
fn window(limbs: &[u64; 4], start: usize) -> usize {
    let (limb, offset) = (start / 64, start % 64);
    let mut w = limbs[limb] >> offset;
    if offset + WINDOW > 64 && limb + 1 < limbs.len() {
        w |= limbs[limb + 1] << (64 - offset);
    }
    (w as usize) & ((1 << WINDOW) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Fq, G1Projective, G2Projective};
    use ark_ff::{BigInteger, One, UniformRand};
    use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// Jacobian to arkworks affine, through blst's own normalisation.
    fn ark_g1(p: &blst_p1) -> G1Affine {
        let a = to_affine(p);
        if g1_is_infinity(&a) {
            G1Affine::zero()
        } else {
            G1Affine::new_unchecked(fq(&a.x), fq(&a.y))
        }
    }

    #[test]
    fn fixed_base_tables_multiply_like_arkworks() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let base = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let table = FixedBase::new(&base);
        let edge = [
            Fr::zero(),
            Fr::one(),
            -Fr::one(),
            Fr::from(1u64 << 6),
            Fr::from(63u64),
            Fr::from(u64::MAX),
            Fr::from(u128::MAX),
        ];
        for s in edge.into_iter().chain((0..16).map(|_| Fr::rand(&mut rng))) {
            assert_eq!(ark_g1(&table.mul(&s)), (base * s).into_affine());
        }
    }

    #[test]
    fn scalings_and_sums_agree_with_arkworks() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for n in [1usize, 2, 3, 17, 64] {
            let mut points: Vec<G1Affine> = (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect();
            let mut r: Vec<u128> = (0..n)
                .map(|_| (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()))
                .collect();
            r[0] = u128::MAX;
            if n > 2 {
                r[1] = 1;
                points[2] = G1Affine::zero();
            }
            let ours: Vec<blst_p1_affine> = points.iter().map(g1).collect();
            let scaled = scale_128(&ours, &r);
            let mut sum = G1Projective::zero();
            for ((p, ri), s) in points.iter().zip(&r).zip(&scaled) {
                let expected = (*p * Fr::from(*ri)).into_affine();
                assert_eq!(*s, g1(&expected));
                sum += expected;
            }
            assert_eq!(ark_g1(&msm_128(&ours, &r)), sum.into_affine());
        }
        assert!(g1_is_infinity(&to_affine(&msm_128(&[], &[]))));
    }

    fn compressed<T: CanonicalSerialize>(p: &T) -> Vec<u8> {
        let mut out = Vec::new();
        p.serialize_compressed(&mut out).unwrap();
        out
    }

    /// The reference: arkworks' validating decoder, refusing the point at infinity.
    fn reference<T: CanonicalDeserialize + AffineRepr>(bytes: &[u8]) -> Option<T> {
        T::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
            .ok()
            .filter(|p| !p.is_zero())
    }

    /// Encodings of every kind of G1 and G2 point decoders must refuse or accept, with the
    /// reason expected of each.
    fn cases(rng: &mut ChaCha20Rng, len: usize) -> Vec<(Vec<u8>, Option<PointError>)> {
        let mut out = Vec::new();
        let valid = |rng: &mut ChaCha20Rng| {
            if len == 48 {
                compressed(&G1Projective::rand(rng).into_affine())
            } else {
                compressed(&G2Projective::rand(rng).into_affine())
            }
        };
        for _ in 0..16 {
            out.push((valid(rng), None));
        }
        // The point at infinity, canonical and with stray bits.
        let mut inf = vec![0u8; len];
        inf[0] = 0xc0;
        out.push((inf.clone(), Some(PointError::Infinity)));
        for (byte, bit) in [(0, 0x20), (0, 0x01), (len - 1, 0x01), (len / 2, 0x80)] {
            let mut bad = inf.clone();
            bad[byte] |= bit;
            out.push((bad, Some(PointError::Encoding)));
        }
        // Uncompressed flag, or the infinity flag without compression.
        let mut bad = valid(rng);
        bad[0] &= 0x7f;
        out.push((bad, Some(PointError::Encoding)));
        let mut bad = vec![0u8; len];
        bad[0] = 0x40;
        out.push((bad, Some(PointError::Encoding)));
        // A coordinate at or above the modulus: all ones below the flags.
        let mut bad = vec![0xff; len];
        bad[0] = 0x9f;
        out.push((bad, Some(PointError::Encoding)));
        let p = Fq::MODULUS.to_bytes_be();
        let mut bad = vec![0u8; len];
        bad[..48].copy_from_slice(&p);
        bad[0] |= 0x80;
        out.push((bad, Some(PointError::Encoding)));
        // x = 0 (on G1 this is (0, ±2), on the curve but of order 3).
        let mut zero = vec![0u8; len];
        zero[0] = 0x80;
        out.push((zero.clone(), None));
        zero[0] = 0xa0;
        out.push((zero, None));
        // Random x: about half have no point, the others a point outside the subgroup.
        for _ in 0..32 {
            let mut x = vec![0u8; len];
            rng.fill_bytes(&mut x);
            x[0] = 0x80 | (x[0] & 0x2f);
            out.push((x, None));
        }
        // One flipped bit of a valid encoding.
        for _ in 0..16 {
            let mut bad = valid(rng);
            let bit = (rng.next_u32() as usize) % (8 * len);
            bad[bit / 8] ^= 1 << (bit % 8);
            out.push((bad, None));
        }
        out
    }

    #[test]
    fn g1_decoding_refuses_and_accepts_what_arkworks_does() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let mut refused = [0usize; 4];
        for (bytes, expected) in cases(&mut rng, 48) {
            let array: [u8; 48] = bytes.as_slice().try_into().unwrap();
            let ours = decode_g1(&array);
            assert_eq!(ours.ok(), reference::<G1Affine>(&bytes), "{bytes:02x?}");
            if let Some(e) = expected {
                assert_eq!(ours, Err(e), "{bytes:02x?}");
            }
            if let Err(e) = ours {
                refused[e as usize] += 1;
            } else {
                assert_eq!(compressed(&ours.unwrap()), bytes, "one encoding per point");
            }
        }
        assert!(refused.iter().all(|&n| n > 0), "{refused:?}");
    }

    #[test]
    fn g2_decoding_refuses_and_accepts_what_arkworks_does() {
        let mut rng = ChaCha20Rng::seed_from_u64(17);
        let mut refused = [0usize; 4];
        for (bytes, expected) in cases(&mut rng, 96) {
            let array: [u8; 96] = bytes.as_slice().try_into().unwrap();
            let ours = decode_g2(&array);
            assert_eq!(ours.ok(), reference::<G2Affine>(&bytes), "{bytes:02x?}");
            if let Some(e) = expected {
                assert_eq!(ours, Err(e), "{bytes:02x?}");
            }
            if let Err(e) = ours {
                refused[e as usize] += 1;
            } else {
                assert_eq!(compressed(&ours.unwrap()), bytes, "one encoding per point");
            }
        }
        assert!(refused.iter().all(|&n| n > 0), "{refused:?}");
    }
}
