//! Pippenger's bucket method with batch-affine additions, for the large G1 products.
//!
//! The invoice statements' `h` query holds 2^18 bases with full-size scalars: most of their proof
//! is that one product. Pippenger's method splits each scalar into signed `c`-bit digits and, per
//! window, adds every base into the bucket of its digit; the cost is these additions. blst and
//! arkworks keep buckets in extended Jacobian coordinates (8 multiplications and 2 squarings per
//! addition of an affine base). Here buckets are affine points and additions are made in batches
//! that share one field inversion (Montgomery's trick): 3 multiplications for the shared
//! inversion, then 2 and a squaring for the sum, so about 6 per addition instead of 10. A base
//! whose bucket already waits in the current batch cannot join it; it is added to a Jacobian
//! overflow sum of that bucket instead, as blst would add it, so no input can make the method
//! slower than that.
//!
//! The field arithmetic is blst's (its Montgomery multiplication in assembly). Windows run in
//! parallel on rayon's pool, one bucket set per window. Like every Pippenger implementation the
//! memory accessed depends on the scalars; the prover runs on the trader's own machine, as the
//! other multi-scalar multiplications here do.

use blst::{blst_fp, blst_p1, blst_p1_affine};
use rayon::prelude::*;

/// How many bases ahead of the current one its bucket is fetched.
const PREFETCH: usize = 8;

/// Products of fewer bases than this go to blst's Pippenger: the batches would be too small to
/// share their inversion well.
pub(crate) const MIN_BASES: usize = 1 << 12;

/// Field operations on blst's `Fp` (Montgomery form), each one call into blst that writes its
/// result in place: returning 48-byte values made the copies cost as much as the arithmetic.
#[allow(unsafe_code)]
mod fp {
    use blst::blst_fp;

    /// `out = a - b`.
    pub(super) fn sub(out: &mut blst_fp, a: &blst_fp, b: &blst_fp) {
        // SAFETY: blst reads `a` and `b` and writes `out`, all valid for the call.
        unsafe { blst::blst_fp_sub(out, a, b) };
    }

    /// `a = a - b`.
    pub(super) fn sub_assign(a: &mut blst_fp, b: &blst_fp) {
        let a: *mut blst_fp = a;
        // SAFETY: blst allows its output to be one of its inputs.
        unsafe { blst::blst_fp_sub(a, a, b) };
    }

    /// `a = b - a`.
    pub(super) fn sub_from(a: &mut blst_fp, b: &blst_fp) {
        let a: *mut blst_fp = a;
        // SAFETY: as in `sub_assign`.
        unsafe { blst::blst_fp_sub(a, b, a) };
    }

    /// `a = a + b`.
    pub(super) fn add_assign(a: &mut blst_fp, b: &blst_fp) {
        let a: *mut blst_fp = a;
        // SAFETY: as in `sub_assign`.
        unsafe { blst::blst_fp_add(a, a, b) };
    }

    /// `out = a · b`.
    pub(super) fn mul(out: &mut blst_fp, a: &blst_fp, b: &blst_fp) {
        // SAFETY: as in `sub`.
        unsafe { blst::blst_fp_mul(out, a, b) };
    }

    /// `a = a · b`.
    pub(super) fn mul_assign(a: &mut blst_fp, b: &blst_fp) {
        let a: *mut blst_fp = a;
        // SAFETY: as in `sub_assign`.
        unsafe { blst::blst_fp_mul(a, a, b) };
    }

    /// `out = a²`.
    pub(super) fn sqr(out: &mut blst_fp, a: &blst_fp) {
        // SAFETY: as in `sub`.
        unsafe { blst::blst_fp_sqr(out, a) };
    }

    /// `a = -a`.
    pub(super) fn neg(a: &mut blst_fp) {
        let a: *mut blst_fp = a;
        // SAFETY: as in `sub_assign`.
        unsafe { blst::blst_fp_cneg(a, a, true) };
    }

    /// `out = 1 / a` for `a ≠ 0`, in variable time (the binary Euclidean algorithm).
    pub(super) fn inverse(out: &mut blst_fp, a: &blst_fp) {
        // SAFETY: as in `sub`.
        unsafe { blst::blst_fp_eucl_inverse(out, a) };
    }
}

/// Point operations in blst's Jacobian form.
#[allow(unsafe_code)]
mod point {
    use blst::{blst_p1, blst_p1_affine};

    /// `acc += p`, `p` affine (all-zero: the point at infinity).
    pub(super) fn add_affine(acc: &mut blst_p1, p: &blst_p1_affine) {
        let a = *acc;
        // SAFETY: blst reads `a` and `p` and writes `acc`.
        unsafe { blst::blst_p1_add_or_double_affine(acc, &a, p) };
    }

    /// `acc += p`.
    pub(super) fn add(acc: &mut blst_p1, p: &blst_p1) {
        let a = *acc;
        // SAFETY: as in `add_affine`.
        unsafe { blst::blst_p1_add_or_double(acc, &a, p) };
    }

    /// `acc = 2·acc`.
    pub(super) fn double(acc: &mut blst_p1) {
        let a = *acc;
        // SAFETY: as in `add_affine`.
        unsafe { blst::blst_p1_double(acc, &a) };
    }

    /// `2·p` in affine form.
    pub(super) fn double_affine(p: &blst_p1_affine) -> blst_p1_affine {
        let mut j = blst_p1::default();
        let mut out = blst_p1_affine::default();
        // SAFETY: blst reads `p`, `j` and writes `j`, `out`.
        unsafe {
            blst::blst_p1_from_affine(&mut j, p);
            blst::blst_p1_double(&mut j, &j);
            blst::blst_p1_to_affine(&mut out, &j);
        }
        out
    }
}

/// What a bucket holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    Holds,
    /// Holds a point and waits in the current batch for a sum.
    Waiting,
}

/// One window's buckets: bucket `k` collects the bases whose digit is `±(k + 1)`.
struct Buckets {
    sums: Vec<blst_p1_affine>,
    state: Vec<State>,
    /// Jacobian sums of the bases that came while their bucket was waiting.
    overflow: Vec<blst_p1>,
    overflowed: Vec<bool>,
    /// The batch: which bucket, which point, and the running products of the denominators.
    batch: Vec<(u32, blst_p1_affine)>,
    products: Vec<blst_fp>,
    capacity: usize,
}

impl Buckets {
    fn new(buckets: usize, capacity: usize) -> Self {
        Self {
            sums: vec![blst_p1_affine::default(); buckets],
            state: vec![State::Empty; buckets],
            overflow: vec![blst_p1::default(); buckets],
            overflowed: vec![false; buckets],
            batch: Vec::with_capacity(capacity),
            products: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Asks the processor to bring bucket `k` into its cache: the buckets are visited in the
    /// scalars' order, and waiting for each one in turn would dominate.
    fn prefetch(&self, k: usize) {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: a prefetch is a hint; the address is that of an element of `sums`.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.sums.as_ptr().add(k).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = k;
    }

    /// Adds `base`, or its negation when `negative`, to bucket `k`.
    fn add(&mut self, k: usize, base: &blst_p1_affine, negative: bool) {
        match self.state[k] {
            State::Empty => {
                let s = &mut self.sums[k];
                *s = *base;
                if negative {
                    fp::neg(&mut s.y);
                }
                self.state[k] = State::Holds;
            }
            State::Waiting => {
                let mut p = *base;
                if negative {
                    fp::neg(&mut p.y);
                }
                point::add_affine(&mut self.overflow[k], &p);
                self.overflowed[k] = true;
            }
            State::Holds => {
                self.batch.push((k as u32, *base));
                let Some((_, p)) = self.batch.last_mut() else {
                    return;
                };
                if negative {
                    fp::neg(&mut p.y);
                }
                let s = &mut self.sums[k];
                // One limb first: equal x coordinates are rare, a full comparison is a call.
                if s.x.l[0] == p.x.l[0] && s.x == p.x {
                    // The chord formula does not apply: doubling, or a point and its negation.
                    if s.y == p.y {
                        *s = point::double_affine(s);
                    } else {
                        self.state[k] = State::Empty;
                    }
                    self.batch.pop();
                    return;
                }
                self.state[k] = State::Waiting;
                // The running product of the batch's denominators `x_p - x_s`.
                let at = self.products.len();
                self.products.push(blst_fp::default());
                let (before, this) = self.products.split_at_mut(at);
                fp::sub(&mut this[0], &p.x, &s.x);
                if let Some(previous) = before.last() {
                    fp::mul_assign(&mut this[0], previous);
                }
                if self.batch.len() == self.capacity {
                    self.flush();
                }
            }
        }
    }

    /// Makes the batch's sums: one inversion of the product of the denominators, then each
    /// denominator's inverse from it (Montgomery's trick).
    fn flush(&mut self) {
        let Some(last) = self.products.last() else {
            return;
        };
        let mut inverse = blst_fp::default();
        fp::inverse(&mut inverse, last);
        let (mut this, mut lambda, mut t, mut u) = Default::default();
        for i in (0..self.batch.len()).rev() {
            let (k, ref p) = self.batch[i];
            let k = k as usize;
            let s = &mut self.sums[k];
            // This denominator's inverse, and the inverse of the product of those before it.
            match i {
                0 => this = inverse,
                _ => fp::mul(&mut this, &inverse, &self.products[i - 1]),
            }
            fp::sub(&mut t, &p.x, &s.x);
            fp::mul_assign(&mut inverse, &t);
            // λ = (y_p - y_s) / (x_p - x_s).
            fp::sub(&mut t, &p.y, &s.y);
            fp::mul(&mut lambda, &t, &this);
            // t = λ² - x_p; x = t - x_s; u = x_s - x = 2·x_s - t; y = λ·u - y_s.
            fp::sqr(&mut t, &lambda);
            fp::sub_assign(&mut t, &p.x);
            fp::sub(&mut u, &s.x, &t);
            fp::add_assign(&mut u, &s.x);
            fp::sub_from(&mut s.x, &t);
            fp::mul_assign(&mut u, &lambda);
            fp::sub_from(&mut s.y, &u);
            self.state[k] = State::Holds;
        }
        self.batch.clear();
        self.products.clear();
    }

    /// `Σ (k + 1)·bucket_k`, by the running-sum reduction.
    fn finish(mut self) -> blst_p1 {
        self.flush();
        let mut running = blst_p1::default();
        let mut total = blst_p1::default();
        for k in (0..self.sums.len()).rev() {
            if self.state[k] != State::Empty {
                point::add_affine(&mut running, &self.sums[k]);
            }
            if self.overflowed[k] {
                point::add(&mut running, &self.overflow[k]);
            }
            point::add(&mut total, &running);
        }
        total
    }
}

/// The window for `n` bases: log2(n) - 2 bits, so that a window's buckets number about an eighth
/// of the bases (measured best on 8,191 and 262,143 bases).
fn window(n: usize) -> usize {
    (n.max(1).ilog2() as usize).saturating_sub(2).clamp(8, 15)
}

/// Bits `at..at + c` of `scalar` (little-endian limbs; zeros past its end), `c < 64`.
pub(super) fn bits(scalar: &[u64; 4], at: usize, c: usize) -> u64 {
    let (limb, shift) = (at / 64, at % 64);
    let mut v = scalar.get(limb).map_or(0, |l| l >> shift);
    if shift + c > 64 {
        v |= scalar.get(limb + 1).map_or(0, |l| l << (64 - shift));
    }
    v & ((1 << c) - 1)
}

/// The signed `c`-bit digits of `scalar` (little-endian limbs, below 2^nbits), least significant
/// first, each in `[-2^(c-1), 2^(c-1)]`.
fn digits(scalar: &[u64; 4], c: usize, windows: usize, out: &mut [i16]) {
    let half = 1u64 << (c - 1);
    let mut carry = 0;
    for (w, out) in out.iter_mut().enumerate().take(windows) {
        let v = bits(scalar, w * c, c) + carry;
        carry = u64::from(v > half);
        *out = (v as i64 - ((carry as i64) << c)) as i16;
    }
    debug_assert_eq!(carry, 0, "the last window holds the last carry");
}

/// `Σ digit(i) · points[i]` for digits in `[-2^(c-1), 2^(c-1)]`: one window of Pippenger's
/// method, or the whole product over a fixed-base table's points.
pub(crate) fn bucket_pass(
    points: &[blst_p1_affine],
    digit: impl Fn(usize) -> i16,
    c: usize,
) -> blst_p1 {
    let buckets = 1usize << (c - 1);
    let mut b = Buckets::new(buckets, (buckets / 8).clamp(32, 256));
    for (i, point) in points.iter().enumerate() {
        if i + PREFETCH < points.len() {
            let ahead = digit(i + PREFETCH);
            if ahead != 0 {
                b.prefetch(ahead.unsigned_abs() as usize - 1);
            }
        }
        let d = digit(i);
        if d != 0 {
            b.add(d.unsigned_abs() as usize - 1, point, d < 0);
        }
    }
    b.finish()
}

/// `Σ scalars[i] · bases[i]` for scalars below `2^nbits` (little-endian 64-bit limbs), bases in
/// blst's affine form (none at infinity).
pub(crate) fn msm(bases: &[blst_p1_affine], scalars: &[[u64; 4]], nbits: usize) -> blst_p1 {
    let n = bases.len().min(scalars.len());
    let c = window(n);
    // One more bit than the scalars for the last window's carry.
    let windows = (nbits + 1).div_ceil(c);
    let mut all = vec![0i16; n * windows];
    all.par_chunks_mut(windows)
        .zip(scalars[..n].par_iter())
        .for_each(|(out, s)| digits(s, c, windows, out));
    let sums: Vec<blst_p1> = (0..windows)
        .into_par_iter()
        .map(|w| bucket_pass(&bases[..n], |i| all[i * windows + w], c))
        .collect();
    let mut acc = blst_p1::default();
    for sum in sums.iter().rev() {
        for _ in 0..c {
            point::double(&mut acc);
        }
        point::add(&mut acc, sum);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Fr, G1Affine, G1Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::{PrimeField, UniformRand};
    use rand::{RngCore, SeedableRng};
    use zkcustoms_verifier::blst_form::{from_p1, g1};

    fn check(bases: &[G1Affine], scalars: &[Fr]) {
        let theirs = G1Projective::msm(bases, scalars).unwrap();
        let blst_bases: Vec<_> = bases.iter().map(g1).collect();
        let limbs: Vec<[u64; 4]> = scalars.iter().map(|s| s.into_bigint().0).collect();
        assert_eq!(from_p1(&msm(&blst_bases, &limbs, 255)), theirs);
        // Scalars below 2^64 in the 64-bit pass the prover gives them.
        if limbs.iter().all(|l| l[1..] == [0; 3]) {
            assert_eq!(from_p1(&msm(&blst_bases, &limbs, 64)), theirs, "64 bits");
        }
    }

    #[test]
    fn digits_give_back_the_scalar() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut scalars: Vec<Fr> = (0..200).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64)]);
        for c in 8..=15 {
            let windows = 256usize.div_ceil(c);
            for s in &scalars {
                let mut out = vec![0i16; windows];
                digits(&s.into_bigint().0, c, windows, &mut out);
                let back = out.iter().rev().fold(Fr::from(0u64), |acc, &d| {
                    let digit = if d < 0 {
                        -Fr::from(d.unsigned_abs())
                    } else {
                        Fr::from(d as u64)
                    };
                    acc * Fr::from(1u64 << c) + digit
                });
                assert_eq!(back, *s, "window {c}");
                assert!(out.iter().all(|d| d.unsigned_abs() <= 1 << (c - 1)));
            }
        }
    }

    #[test]
    fn random_products_match_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let g = G1Projective::rand(&mut rng);
        for n in [1, 2, 300, 5000] {
            let bases: Vec<G1Affine> = (0..n)
                .map(|i| (g * Fr::from(i as u64 + 1)).into_affine())
                .collect();
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            check(&bases, &scalars);
            let small: Vec<Fr> = (0..n).map(|_| Fr::from(rng.next_u64())).collect();
            check(&bases, &small);
        }
    }

    #[test]
    fn equal_bases_and_scalars_take_every_path() {
        // The same base with the same scalar puts every base in the same buckets: doublings in
        // a bucket, bases arriving while their bucket waits in a batch. A base next to its
        // negation empties a bucket.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let p = G1Projective::rand(&mut rng).into_affine();
        let s = Fr::rand(&mut rng);
        check(&vec![p; 3000], &vec![s; 3000]);
        let bases: Vec<G1Affine> = (0..2000).map(|i| if i % 2 == 0 { p } else { -p }).collect();
        check(&bases, &vec![s; 2000]);
        let mixed: Vec<Fr> = (0..3000)
            .map(|i| if i % 3 == 0 { s } else { Fr::rand(&mut rng) })
            .collect();
        check(&vec![p; 3000], &mixed);
        check(&[], &[]);
    }
}
