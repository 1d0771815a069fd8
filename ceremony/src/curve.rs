//! Group arithmetic the ceremony spends its time in: scalar multiplication with the GLV
//! endomorphism in both groups (arkworks uses it for G1 only; its G2 parameters are there but
//! plain double-and-add runs), and the inverse FFT over group elements that turns powers of tau
//! into the Lagrange basis.

use ark_bls12_381::{g1, g2, Fr};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::Projective;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{FftField, Field, One};
use rayon::prelude::*;
use std::ops::{Add, Sub};

/// A group whose scalar multiplication uses the GLV endomorphism.
pub trait FastMul:
    CurveGroup<ScalarField = Fr> + Add<Output = Self> + Sub<Output = Self> + Send + Sync
{
    /// `s·self`.
    fn fast_mul(&self, s: &Fr) -> Self;
}

impl FastMul for Projective<g1::Config> {
    fn fast_mul(&self, s: &Fr) -> Self {
        // arkworks' G1 multiplication is GLV already.
        *self * s
    }
}

impl FastMul for Projective<g2::Config> {
    fn fast_mul(&self, s: &Fr) -> Self {
        g2::Config::glv_mul_projective(*self, *s)
    }
}

/// `s·p` for an affine point, with GLV.
pub fn mul<A: AffineRepr<ScalarField = Fr>>(p: &A, s: &Fr) -> A::Group
where
    A::Group: FastMul,
{
    p.into_group().fast_mul(s)
}

/// Multiplies each point by its scalar, in parallel.
pub fn mul_each<A>(points: &[A], scalars: &[Fr]) -> Vec<A>
where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: FastMul + CurveGroup<Affine = A>,
{
    assert_eq!(points.len(), scalars.len(), "one scalar per point");
    let p: Vec<A::Group> = points
        .par_iter()
        .zip(scalars.par_iter())
        .map(|(p, s)| mul(p, s))
        .collect();
    A::Group::normalize_batch(&p)
}

/// Multiplies every point by one scalar, in parallel.
pub fn mul_all<A>(points: &[A], s: &Fr) -> Vec<A>
where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: FastMul + CurveGroup<Affine = A>,
{
    let p: Vec<A::Group> = points.par_iter().map(|p| mul(p, s)).collect();
    A::Group::normalize_batch(&p)
}

/// The inverse FFT of `values` (a power of two of them) over the group: output `i` is
/// `(1/n) sum_j omega^(-ij) values_j` for omega the primitive n-th root of unity arkworks'
/// radix-2 domain uses. Applied to `tau^j·G` it gives the Lagrange basis `L_i(tau)·G`.
pub fn ifft<A>(values: &[A]) -> Vec<A>
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
                    });
            }
        } else {
            a.par_chunks_mut(len).for_each(butterfly);
        }
        len *= 2;
    }
    let n_inv = Fr::from(n as u64).inverse().expect("nonzero");
    a.par_iter_mut().for_each(|p| *p = p.fast_mul(&n_inv));
    A::Group::normalize_batch(&a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Affine, G2Affine, G2Projective};
    use ark_ff::{UniformRand, Zero};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use rand::SeedableRng;

    #[test]
    fn glv_in_g2_is_scalar_multiplication() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for _ in 0..8 {
            let p = G2Projective::rand(&mut rng);
            let s = Fr::rand(&mut rng);
            assert_eq!(p.fast_mul(&s), p * s);
        }
        let p = G2Projective::rand(&mut rng);
        assert_eq!(p.fast_mul(&-Fr::one()), -p);
        assert!(p.fast_mul(&Fr::zero()).is_zero());
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
            assert_eq!(ifft(&p1), e1, "G1, n = {n}");
            assert_eq!(ifft(&p2), e2, "G2, n = {n}");
        }
    }
}
