//! Group arithmetic the ceremony spends its time in: scalar multiplication (blst's, on arkworks
//! points converted limb for limb), and the inverse FFT over group elements that turns powers of
//! tau into the Lagrange basis.

use crate::Meter;
use ark_bls12_381::{g1, g2, Fr, G1Affine, G2Affine};
use ark_ec::short_weierstrass::Projective;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{FftField, Field, One};
use rayon::prelude::*;
use std::ops::{Add, Sub};
use zkcustoms_verifier::blst_form;

/// A group with fast scalar multiplication: blst's, which decomposes the scalar with the curve's
/// endomorphism (GLV in G1, four-way GLS in G2) over assembly field arithmetic, and runs in
/// constant time (the contributions multiply by secrets).
pub trait FastMul:
    CurveGroup<ScalarField = Fr> + Add<Output = Self> + Sub<Output = Self> + Send + Sync
{
    /// `s·self`.
    fn fast_mul(&self, s: &Fr) -> Self;
}

impl FastMul for Projective<g1::Config> {
    fn fast_mul(&self, s: &Fr) -> Self {
        blst_form::mul_g1(self, s)
    }
}

impl FastMul for Projective<g2::Config> {
    fn fast_mul(&self, s: &Fr) -> Self {
        blst_form::mul_g2(self, s)
    }
}

/// Checks a G1 point decoded from outside bytes: on the curve and in the prime-order subgroup
/// (arkworks' curve equation, blst's subgroup test).
pub fn check_g1(p: &G1Affine) -> Result<(), &'static str> {
    if !p.is_on_curve() {
        Err("not on the curve")
    } else if !blst_form::in_g1(p) {
        Err("not in the prime-order subgroup")
    } else {
        Ok(())
    }
}

/// Checks a G2 point decoded from outside bytes, as [`check_g1`].
pub fn check_g2(p: &G2Affine) -> Result<(), &'static str> {
    if !p.is_on_curve() {
        Err("not on the curve")
    } else if !blst_form::in_g2(p) {
        Err("not in the prime-order subgroup")
    } else {
        Ok(())
    }
}

/// `s·p` for an affine point.
pub fn mul<A: AffineRepr<ScalarField = Fr>>(p: &A, s: &Fr) -> A::Group
where
    A::Group: FastMul,
{
    p.into_group().fast_mul(s)
}

/// Points a thread multiplies between two counts on the meter.
const CHUNK: usize = 256;

/// `f(i, points[i])` for every point, in parallel, counting each point on the meter.
fn counted_map<A, G: Send>(points: &[A], meter: &Meter, f: impl Fn(usize, &A) -> G + Sync) -> Vec<G>
where
    A: Sync,
{
    points
        .par_chunks(CHUNK)
        .enumerate()
        .flat_map_iter(|(c, chunk)| {
            let out: Vec<G> = chunk
                .iter()
                .enumerate()
                .map(|(j, p)| f(c * CHUNK + j, p))
                .collect();
            meter.add(out.len() as u64);
            out
        })
        .collect()
}

/// Multiplies each point by its scalar, in parallel, counting each point on the meter.
pub fn mul_each<A>(points: &[A], scalars: &[Fr], meter: &Meter) -> Vec<A>
where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: FastMul + CurveGroup<Affine = A>,
{
    assert_eq!(points.len(), scalars.len(), "one scalar per point");
    A::Group::normalize_batch(&counted_map(points, meter, |i, p| mul(p, &scalars[i])))
}

/// Multiplies every point by one scalar, in parallel, counting each point on the meter.
pub fn mul_all<A>(points: &[A], s: &Fr, meter: &Meter) -> Vec<A>
where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: FastMul + CurveGroup<Affine = A>,
{
    A::Group::normalize_batch(&counted_map(points, meter, |_, p| mul(p, s)))
}

/// The work units [`ifft`] counts for `n` values: each of its log2(n) layers and its final
/// scaling pass count every value once.
pub fn ifft_work(n: usize) -> usize {
    n * (n.trailing_zeros() as usize + 1)
}

/// The inverse FFT of `values` (a power of two of them) over the group: output `i` is
/// `(1/n) sum_j omega^(-ij) values_j` for omega the primitive n-th root of unity arkworks'
/// radix-2 domain uses. Applied to `tau^j·G` it gives the Lagrange basis `L_i(tau)·G`.
/// Counts [`ifft_work`] units on the meter.
pub fn ifft<A>(values: &[A], meter: &Meter) -> Vec<A>
where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: FastMul + CurveGroup<Affine = A>,
{
    let n = values.len();
    assert!(n.is_power_of_two(), "a power of two of values");
    let mut a: Vec<A::Group> = values.par_iter().map(|p| p.into_group()).collect();
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = if bits == 0 {
            0
        } else {
            i.reverse_bits() >> (usize::BITS - bits)
        };
        if i < j {
            a.swap(i, j);
        }
    }
    let omega_inv = Fr::get_root_of_unity(n as u64)
        .expect("2^power divides the multiplicative group")
        .inverse()
        .expect("nonzero");
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let step = omega_inv.pow([(n / len) as u64]);
        let mut twiddles = Vec::with_capacity(half);
        let mut w = Fr::one();
        for _ in 0..half {
            twiddles.push(w);
            w *= step;
        }
        let butterfly = |block: &mut [A::Group]| {
            let (lo, hi) = block.split_at_mut(half);
            for ((u, v), w) in lo.iter_mut().zip(hi.iter_mut()).zip(&twiddles) {
                let t = if w.is_one() { *v } else { v.fast_mul(w) };
                *v = *u - t;
                *u += t;
            }
            meter.add(block.len() as u64);
        };
        if half >= 64 {
            // Few large blocks: split each block's butterflies across threads.
            for block in a.chunks_mut(len) {
                let (lo, hi) = block.split_at_mut(half);
                lo.par_chunks_mut(32)
                    .zip(hi.par_chunks_mut(32))
                    .zip(twiddles.par_chunks(32))
                    .for_each(|((lo, hi), tw)| {
                        for ((u, v), w) in lo.iter_mut().zip(hi.iter_mut()).zip(tw) {
                            let t = if w.is_one() { *v } else { v.fast_mul(w) };
                            *v = *u - t;
                            *u += t;
                        }
                        meter.add(2 * lo.len() as u64);
                    });
            }
        } else {
            a.par_chunks_mut(len).for_each(butterfly);
        }
        len *= 2;
    }
    let n_inv = Fr::from(n as u64).inverse().expect("nonzero");
    a.par_chunks_mut(CHUNK).for_each(|chunk| {
        for p in chunk.iter_mut() {
            *p = p.fast_mul(&n_inv);
        }
        meter.add(chunk.len() as u64);
    });
    A::Group::normalize_batch(&a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Projective, G2Projective};
    use ark_ff::{UniformRand, Zero};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use rand::SeedableRng;

    #[test]
    fn fast_multiplication_is_scalar_multiplication() {
        fn check<G: FastMul + UniformRand>(rng: &mut rand_chacha::ChaCha20Rng) {
            for _ in 0..8 {
                let p = G::rand(rng);
                let s = Fr::rand(rng);
                assert_eq!(p.fast_mul(&s), p * s);
            }
            let p = G::rand(rng);
            assert_eq!(p.fast_mul(&-Fr::one()), -p);
            assert_eq!(p.fast_mul(&Fr::one()), p);
            assert!(p.fast_mul(&Fr::zero()).is_zero());
            assert!(G::zero().fast_mul(&Fr::rand(rng)).is_zero());
        }
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        check::<G1Projective>(&mut rng);
        check::<G2Projective>(&mut rng);
    }

    #[test]
    fn multiplying_many_points_counts_each_once() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        // More than one chunk, and a last chunk cut short.
        let n = 2 * CHUNK + 7;
        let points: Vec<G1Affine> = (0..n).map(|_| G1Affine::rand(&mut rng)).collect();
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let meter = Meter::new(n as u64);
        let each = mul_each(&points, &scalars, &meter);
        assert_eq!(meter.done() as usize, n);
        for ((p, s), q) in points.iter().zip(&scalars).zip(&each) {
            assert_eq!((*p * s).into_affine(), *q);
        }
        let meter = Meter::new(n as u64);
        let all = mul_all(&points, &scalars[0], &meter);
        assert_eq!(meter.done() as usize, n);
        for (p, q) in points.iter().zip(&all) {
            assert_eq!((*p * scalars[0]).into_affine(), *q);
        }
    }

    #[test]
    fn group_ifft_is_the_scalar_ifft_in_the_exponent() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        for n in [1usize, 2, 16, 256] {
            let x: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let expected = Radix2EvaluationDomain::<Fr>::new(n).unwrap().ifft(&x);
            let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
            let p1: Vec<G1Affine> = x.iter().map(|s| (g1 * s).into_affine()).collect();
            let p2: Vec<G2Affine> = x.iter().map(|s| (g2 * s).into_affine()).collect();
            let e1: Vec<G1Affine> = expected.iter().map(|s| (g1 * s).into_affine()).collect();
            let e2: Vec<G2Affine> = expected.iter().map(|s| (g2 * s).into_affine()).collect();
            let (m1, m2) = (Meter::new(0), Meter::new(0));
            assert_eq!(ifft(&p1, &m1), e1, "G1, n = {n}");
            assert_eq!(ifft(&p2, &m2), e2, "G2, n = {n}");
            assert_eq!(
                m1.done() as usize,
                ifft_work(n),
                "every unit counted once, n = {n}"
            );
            assert_eq!(
                m2.done() as usize,
                ifft_work(n),
                "every unit counted once, n = {n}"
            );
        }
    }
}
