//! Fixed-base tables for the multi-scalar multiplications of small circuits.
//!
//! A proving key's bases never change, so a prover that makes many proofs with one key can
//! precompute, for every base `P`, the multiples `2^(13j)·P` for `j = 0..20`. A scalar written in
//! signed 13-bit digits `d_j` (each in `[-2^12, 2^12)`, 20 of them hold any scalar below 2^255 with
//! its carries) then gives `s·P = Σ_j d_j·(2^(13j)·P)`, and the whole product
//! `Σ_i s_i·P_i` is one 13-bit bucket pass over 20 points per base: no doublings between windows
//! and one bucket reduction per thread instead of one per window. For the aeo-status key (about
//! 6,000 bases a query, almost all scalars full-size) that is about 1.5 times fewer additions than
//! Pippenger over the bases themselves.
//!
//! In G2 the pass is blst's `tile_pippenger` with a window of 13 over 13-bit scalars: blst reads
//! each 13-bit value with Booth's encoding, i.e. as a two's-complement digit in `[-2^12, 2^12)`,
//! which is exactly how the digits are written here. In G1 it is the batch-affine bucket pass of
//! [`super::affine`] over the same digits. A table takes 20 affine points per base (about
//! 1.9 kB a base in G1, 3.8 kB in G2), so only queries of at most [`MAX_BASES`] bases get one.

use ark_bls12_381::Fr;
use ark_ff::PrimeField;
use blst::{blst_p1, blst_p1_affine, blst_p2, blst_p2_affine};
use rayon::prelude::*;

/// Bits per digit.
const WINDOW: usize = 13;
/// Digits per scalar: 20 × 13 = 260 bits hold any scalar below 2^255 and its last carry.
const DIGITS: usize = 20;
/// The largest query that gets a table.
pub(crate) const MAX_BASES: usize = 1 << 15;
/// Bases doubled and normalized per parallel task while a table is built.
const BASES_PER_TASK: usize = 256;

/// The signed 13-bit digits of a canonical scalar, least significant first, each written as its
/// 13-bit two's complement in two little-endian bytes.
fn digits(limbs: &[u64; 4], out: &mut Vec<u8>) {
    let mut carry = 0u64;
    for j in 0..DIGITS {
        let v = super::affine::bits(limbs, j * WINDOW, WINDOW) + carry;
        // Digits of 2^12 and above are taken as v - 2^13 and carry one into the next window.
        carry = u64::from(v >= 1 << (WINDOW - 1));
        let digit = v.wrapping_sub(carry << WINDOW) & ((1 << WINDOW) - 1);
        out.extend_from_slice(&(digit as u16).to_le_bytes());
    }
    debug_assert_eq!(carry, 0, "a scalar below 2^255 leaves no carry");
}

/// What a table needs of a group in blst's form.
pub(crate) trait Group: Copy + Default + Eq + Send + Sync {
    /// The group's points in blst's projective (Jacobian) form.
    type Point: Copy + Default + Send;
    /// `2^(13j)·base` for `j = 0..20`, appended to `out` in affine form.
    fn multiples(bases: &[Self], out: &mut Vec<Self>);
    /// One 13-bit bucket pass: `Σ digit_k · points_k`, digits as [`digits`] writes them.
    fn tile(points: &[Self], digits: &[u8]) -> Self::Point;
    /// `a + b`.
    fn add(a: &Self::Point, b: &Self::Point) -> Self::Point;
}

/// One bucket pass in G1: batch-affine buckets ([`super::affine`]), the 13-bit two's complement
/// digits read back as signed values.
fn tile_g1(points: &[blst_p1_affine], digits: &[u8]) -> blst_p1 {
    assert_eq!(digits.len(), points.len() * 2, "two bytes a digit");
    let digit = |i: usize| {
        let v = u16::from_le_bytes([digits[2 * i], digits[2 * i + 1]]);
        // Sign-extend the 13-bit value.
        ((v << (16 - WINDOW)) as i16) >> (16 - WINDOW)
    };
    super::affine::bucket_pass(points, digit, WINDOW)
}

/// One bucket pass in G2: blst's `tile_pippenger` with a window of 13 over 13-bit scalars.
#[allow(unsafe_code)]
fn tile_g2(points: &[blst_p2_affine], digits: &[u8]) -> blst_p2 {
    let mut out = blst_p2::default();
    if points.is_empty() {
        return out;
    }
    assert_eq!(digits.len(), points.len() * 2, "two bytes a digit");
    // SAFETY: blst_p2s_mult_pippenger_scratch_sizeof(0) is the size of one bucket.
    let bucket = unsafe { blst::blst_p2s_mult_pippenger_scratch_sizeof(0) } / 8;
    let mut scratch = vec![0u64; bucket << (WINDOW - 1)];
    let p: [*const blst_p2_affine; 2] = [points.as_ptr(), std::ptr::null()];
    let s: [*const u8; 2] = [digits.as_ptr(), std::ptr::null()];
    // SAFETY: `points` and `digits` hold the same number of entries (two bytes each, contiguous,
    // as the null second pointers say); the scratch holds 2^12 buckets, what a window of 13
    // needs.
    unsafe {
        blst::blst_p2s_tile_pippenger(
            &mut out,
            p.as_ptr(),
            points.len(),
            s.as_ptr(),
            WINDOW,
            scratch.as_mut_ptr(),
            0,
            WINDOW,
        )
    };
    out
}

macro_rules! group {
    ($affine:ty, $point:ty, $from_affine:ident, $double:ident, $to_affine:ident, $tile:ident,
     $add:ident) => {
        #[allow(unsafe_code)]
        impl Group for $affine {
            type Point = $point;

            fn multiples(bases: &[Self], out: &mut Vec<Self>) {
                let mut projective = Vec::with_capacity(bases.len() * DIGITS);
                for base in bases {
                    let mut p = <$point>::default();
                    // SAFETY: blst's point functions read and write the structs passed by
                    // reference; the output may alias the input.
                    unsafe { blst::$from_affine(&mut p, base) };
                    for _ in 0..DIGITS {
                        projective.push(p);
                        for _ in 0..WINDOW {
                            unsafe { blst::$double(&mut p, &p) };
                        }
                    }
                }
                let start = out.len();
                out.resize(start + projective.len(), Self::default());
                let inputs: [*const $point; 2] = [projective.as_ptr(), std::ptr::null()];
                // SAFETY: `out[start..]` holds `projective.len()` points; the null second
                // pointer tells blst that the inputs are contiguous.
                unsafe {
                    blst::$to_affine(out[start..].as_mut_ptr(), inputs.as_ptr(), projective.len())
                };
            }

            fn tile(points: &[Self], digits: &[u8]) -> Self::Point {
                $tile(points, digits)
            }

            fn add(a: &Self::Point, b: &Self::Point) -> Self::Point {
                let mut out = <$point>::default();
                // SAFETY: plain reads of `a` and `b`, a write of `out`.
                unsafe { blst::$add(&mut out, a, b) };
                out
            }
        }
    };
}

group!(
    blst_p1_affine,
    blst_p1,
    blst_p1_from_affine,
    blst_p1_double,
    blst_p1s_to_affine,
    tile_g1,
    blst_p1_add_or_double
);
group!(
    blst_p2_affine,
    blst_p2,
    blst_p2_from_affine,
    blst_p2_double,
    blst_p2s_to_affine,
    tile_g2,
    blst_p2_add_or_double
);

/// The multiples of one query's bases (those not at infinity), with where each base stands in
/// the query.
pub(crate) struct Table<A> {
    /// The position in the query of each base in the table.
    index: Vec<usize>,
    /// `DIGITS` points per base, in the order of `index`.
    points: Vec<A>,
}

impl<A: Group> Table<A> {
    /// The table of `bases`; `None` for a query of more than [`MAX_BASES`] bases.
    pub(crate) fn new(bases: &[A]) -> Option<Self> {
        if bases.len() > MAX_BASES {
            return None;
        }
        let infinity = A::default();
        let index: Vec<usize> = (0..bases.len()).filter(|&i| bases[i] != infinity).collect();
        let kept: Vec<A> = index.iter().map(|&i| bases[i]).collect();
        let points = kept
            .par_chunks(BASES_PER_TASK)
            .map(|chunk| {
                let mut out = Vec::with_capacity(chunk.len() * DIGITS);
                A::multiples(chunk, &mut out);
                out
            })
            .collect::<Vec<_>>()
            .concat();
        Some(Self { index, points })
    }

    /// `Σ scalars[i] · bases[i]` over the pairs up to the shorter of the query and `scalars`.
    pub(crate) fn msm(&self, scalars: &[Fr]) -> A::Point {
        let mut bytes = Vec::with_capacity(self.index.len() * DIGITS * 2);
        for &i in &self.index {
            let limbs = scalars.get(i).map_or([0; 4], |s| s.into_bigint().0);
            digits(&limbs, &mut bytes);
        }
        let per_task = self
            .points
            .len()
            .div_ceil(rayon::current_num_threads().max(1))
            .max(1);
        self.points
            .par_chunks(per_task)
            .zip(bytes.par_chunks(per_task * 2))
            .map(|(points, digits)| A::tile(points, digits))
            .reduce(A::Point::default, |a, b| A::add(&a, &b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{AffineRepr, VariableBaseMSM};
    use ark_ff::{BigInteger, Field, UniformRand, Zero};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkcustoms_verifier::blst_form::{from_p1, from_p2, g1, g2};

    /// The digits put back together give the scalar, for edge values and random ones.
    #[test]
    fn digits_sum_to_the_scalar() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let mut scalars = vec![
            Fr::zero(),
            Fr::from(1u64),
            Fr::from(4095u64),
            Fr::from(4096u64),
            Fr::from(8191u64),
            Fr::from(8192u64),
            -Fr::from(1u64),
            -Fr::from(4096u64),
        ];
        scalars.extend((0..200).map(|_| Fr::rand(&mut rng)));
        for s in scalars {
            let mut bytes = Vec::new();
            digits(&s.into_bigint().0, &mut bytes);
            assert_eq!(bytes.len(), DIGITS * 2);
            let mut sum = Fr::zero();
            for (j, d) in bytes.chunks(2).enumerate() {
                let v = i64::from(u16::from_le_bytes([d[0], d[1]]));
                assert!(v < 1 << WINDOW);
                let signed = if v >= 1 << (WINDOW - 1) {
                    v - (1 << WINDOW)
                } else {
                    v
                };
                let weight = Fr::from(2u64).pow([(WINDOW * j) as u64]);
                sum += Fr::from(signed) * weight;
            }
            assert_eq!(sum, s, "{:?}", s.into_bigint().to_bytes_le());
        }
    }

    /// Tables in G1 and G2 give arkworks' multi-scalar multiplication, with bases at infinity,
    /// fewer scalars than bases, edge scalars and random ones, on one thread and on several.
    #[test]
    fn tables_give_the_multi_scalar_multiplication() {
        let mut rng = ChaCha20Rng::seed_from_u64(14);
        let n = 300;
        let mut b1: Vec<G1Affine> = (0..n)
            .map(|_| G1Projective::rand(&mut rng).into())
            .collect();
        let mut b2: Vec<G2Affine> = (0..n)
            .map(|_| G2Projective::rand(&mut rng).into())
            .collect();
        b1[7] = G1Affine::zero();
        b2[7] = G2Affine::zero();
        let mut scalars: Vec<Fr> = (0..n - 20).map(|_| Fr::rand(&mut rng)).collect();
        scalars[0] = Fr::zero();
        scalars[1] = Fr::from(1u64);
        scalars[2] = -Fr::from(1u64);
        scalars[3] = Fr::from(4096u64);
        let t1 = Table::new(&b1.iter().map(g1).collect::<Vec<_>>()).unwrap();
        let t2 = Table::new(&b2.iter().map(g2).collect::<Vec<_>>()).unwrap();
        let k = scalars.len();
        let want1 = G1Projective::msm(&b1[..k], &scalars).unwrap();
        let want2 = G2Projective::msm(&b2[..k], &scalars).unwrap();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                assert_eq!(from_p1(&t1.msm(&scalars)), want1, "{threads} threads");
                assert_eq!(from_p2(&t2.msm(&scalars)), want2, "{threads} threads");
            });
        }
        assert_eq!(from_p1(&t1.msm(&[])), G1Projective::zero());
        assert!(Table::new(&vec![g1(&G1Affine::generator()); MAX_BASES + 1]).is_none());
    }
}
