//! Fixed-base tables for the multi-scalar multiplications of small circuits.
//!
//! A proving key's bases never change, so a prover that makes many proofs with one key can
//! precompute, for every base `P`, the multiples `2^(13j)·P` for `j = 0..20`. A scalar written in
//! signed 13-bit digits `d_j` (each in `[-2^12, 2^12]`, 20 of them hold any scalar below 2^255 with
//! its carries) then gives `s·P = Σ_j d_j·(2^(13j)·P)`, and the whole product
//! `Σ_i s_i·P_i` is one 13-bit bucket pass over 20 points per base: no doublings between windows
//! and one bucket reduction per thread instead of one per window. For the aeo-status key (about
//! 6,000 bases a query, almost all scalars full-size) that is about 1.5 times fewer additions than
//! Pippenger over the bases themselves.
//!
//! The pass is the batch-affine bucket pass of [`super::affine`], in G1 and in G2, split over
//! the threads by ranges of points. A table takes 20 affine points per base (about
//! 1.9 kB a base in G1, 3.8 kB in G2), so only queries of at most [`MAX_BASES`] bases get one.

use super::affine::{bucket_pass, digits, Affine};
use ark_bls12_381::Fr;
use ark_ff::PrimeField;
use rayon::prelude::*;

/// Bits per digit.
const WINDOW: usize = 13;
/// Digits per scalar: 20 × 13 = 260 bits hold any scalar below 2^255 and its last carry.
const DIGITS: usize = 20;
/// The largest query that gets a table.
pub(crate) const MAX_BASES: usize = 1 << 15;
/// Bases doubled and normalized per parallel task while a table is built.
const BASES_PER_TASK: usize = 256;

/// `2^(13j)·base` for `j = 0..20` for each of `bases` (none at infinity), in affine form.
fn multiples<A: Affine>(bases: &[A]) -> Vec<A> {
    let mut projective = Vec::with_capacity(bases.len() * DIGITS);
    for base in bases {
        let mut p = base.to_point();
        for _ in 0..DIGITS {
            projective.push(p);
            for _ in 0..WINDOW {
                A::double(&mut p);
            }
        }
    }
    let mut out = vec![A::default(); projective.len()];
    A::to_affines(&projective, &mut out);
    out
}

/// The multiples of one query's bases (those not at infinity), with where each base stands in
/// the query.
pub(crate) struct Table<A> {
    /// The position in the query of each base in the table.
    index: Vec<usize>,
    /// `DIGITS` points per base, in the order of `index`.
    points: Vec<A>,
}

impl<A: Affine> Table<A> {
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
            .map(multiples)
            .collect::<Vec<_>>()
            .concat();
        Some(Self { index, points })
    }

    /// `Σ scalars[i] · bases[i]` over the pairs up to the shorter of the query and `scalars`.
    pub(crate) fn msm(&self, scalars: &[Fr]) -> A::Point {
        // The signed 13-bit digits of each scalar, least significant first: digit j of a scalar
        // goes with `2^(13j)·P`, its base's j-th point.
        let mut all = vec![0i16; self.points.len()];
        all.par_chunks_mut(DIGITS)
            .zip(self.index.par_iter())
            .for_each(|(out, &i)| {
                let limbs = scalars.get(i).map_or([0; 4], |s| s.into_bigint().0);
                digits(&limbs, WINDOW, DIGITS, out);
            });
        let per_task = self
            .points
            .len()
            .div_ceil(rayon::current_num_threads().max(1))
            .max(1);
        self.points
            .par_chunks(per_task)
            .zip(all.par_chunks(per_task))
            .map(|(points, digits)| bucket_pass(points, |i| digits[i], WINDOW))
            .reduce(A::Point::default, |mut a, b| {
                A::add(&mut a, &b);
                a
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{AffineRepr, VariableBaseMSM};
    use ark_ff::{UniformRand, Zero};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkcustoms_verifier::blst_form::{from_p1, from_p2, g1, g2};

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
