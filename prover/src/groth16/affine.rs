//! Pippenger's bucket method with batch-affine additions, for every product in G1 and G2 of more
//! than about a hundred bases.
//!
//! The invoice statements' `h` query holds 2^18 bases with full-size scalars: most of their proof
//! is that one product; in the aeo-status statement the largest part is the G2 product.
//! Pippenger's method splits each scalar into signed `c`-bit digits and, per window, adds every
//! base into the bucket of its digit; the cost is these additions. blst and arkworks keep buckets
//! in extended Jacobian coordinates (8 multiplications and 2 squarings per addition of an affine
//! base). Here buckets are affine points and additions are made in batches that share one field
//! inversion (Montgomery's trick): 3 multiplications for the shared inversion, then 2 and a
//! squaring for the sum, so about 6 per addition instead of 10 (in G2 the same counts over `Fp2`,
//! whose inversion is one `Fp` inversion and a few multiplications). A base whose bucket already
//! waits in the current batch cannot join it; it is added to a Jacobian overflow sum of that
//! bucket instead, as blst would add it, so no input can make the method slower than that.
//!
//! The field arithmetic is blst's (its Montgomery multiplication in assembly), one code for both
//! groups through the [`Field`] and [`Affine`] traits. Windows run in parallel on rayon's pool,
//! one bucket set per window. Like every Pippenger implementation the memory accessed depends on
//! the scalars; the prover runs on the trader's own machine, as the other multi-scalar
//! multiplications here do.

use blst::{blst_fp, blst_fp2, blst_p1, blst_p1_affine, blst_p2, blst_p2_affine};
use rayon::prelude::*;

/// How many bases ahead of the current one its bucket is fetched.
const PREFETCH: usize = 8;

/// Products of fewer bases than this go to blst's Pippenger, faster there (measured: at 64 bases
/// blst's takes 0.8 times the time of this one in G1 and G2, at 128 bases 1.15 times, at 4,096
/// 1.6 and 1.9 times).
pub(crate) const MIN_BASES: usize = 1 << 7;

/// A field of coordinates, `Fp` or `Fp2`, in blst's Montgomery form. Every operation is one call
/// into blst that writes its result in place: returning 48- or 96-byte values made the copies cost
/// as much as the arithmetic.
pub(crate) trait Field: Copy + Default + PartialEq {
    /// `out = a - b`.
    fn sub(out: &mut Self, a: &Self, b: &Self);
    /// `a = a - b`.
    fn sub_assign(a: &mut Self, b: &Self);
    /// `a = b - a`.
    fn sub_from(a: &mut Self, b: &Self);
    /// `a = a + b`.
    fn add_assign(a: &mut Self, b: &Self);
    /// `out = a · b`.
    fn mul(out: &mut Self, a: &Self, b: &Self);
    /// `a = a · b`.
    fn mul_assign(a: &mut Self, b: &Self);
    /// `out = a²`.
    fn sqr(out: &mut Self, a: &Self);
    /// `a = -a`.
    fn neg(a: &mut Self);
    /// `out = 1 / a` for `a ≠ 0`, in variable time (the binary Euclidean algorithm).
    fn inverse(out: &mut Self, a: &Self);
    /// The least significant limb, for a quick first comparison.
    fn low(&self) -> u64;
}

macro_rules! field {
    ($field:ty, $sub:ident, $add:ident, $mul:ident, $sqr:ident, $cneg:ident, $inverse:ident,
     |$f:ident| $low:expr) => {
        #[allow(unsafe_code)]
        impl Field for $field {
            fn sub(out: &mut Self, a: &Self, b: &Self) {
                // SAFETY: blst reads `a` and `b` and writes `out`, all valid for the call.
                unsafe { blst::$sub(out, a, b) };
            }

            fn sub_assign(a: &mut Self, b: &Self) {
                let a: *mut Self = a;
                // SAFETY: blst allows its output to be one of its inputs.
                unsafe { blst::$sub(a, a, b) };
            }

            fn sub_from(a: &mut Self, b: &Self) {
                let a: *mut Self = a;
                // SAFETY: as in `sub_assign`.
                unsafe { blst::$sub(a, b, a) };
            }

            fn add_assign(a: &mut Self, b: &Self) {
                let a: *mut Self = a;
                // SAFETY: as in `sub_assign`.
                unsafe { blst::$add(a, a, b) };
            }

            fn mul(out: &mut Self, a: &Self, b: &Self) {
                // SAFETY: as in `sub`.
                unsafe { blst::$mul(out, a, b) };
            }

            fn mul_assign(a: &mut Self, b: &Self) {
                let a: *mut Self = a;
                // SAFETY: as in `sub_assign`.
                unsafe { blst::$mul(a, a, b) };
            }

            fn sqr(out: &mut Self, a: &Self) {
                // SAFETY: as in `sub`.
                unsafe { blst::$sqr(out, a) };
            }

            fn neg(a: &mut Self) {
                let a: *mut Self = a;
                // SAFETY: as in `sub_assign`.
                unsafe { blst::$cneg(a, a, true) };
            }

            fn inverse(out: &mut Self, a: &Self) {
                // SAFETY: as in `sub`.
                unsafe { blst::$inverse(out, a) };
            }

            fn low(&self) -> u64 {
                let $f = self;
                $low
            }
        }
    };
}

field!(
    blst_fp,
    blst_fp_sub,
    blst_fp_add,
    blst_fp_mul,
    blst_fp_sqr,
    blst_fp_cneg,
    blst_fp_eucl_inverse,
    |f| f.l[0]
);
field!(
    blst_fp2,
    blst_fp2_sub,
    blst_fp2_add,
    blst_fp2_mul,
    blst_fp2_sqr,
    blst_fp2_cneg,
    blst_fp2_eucl_inverse,
    |f| f.fp[0].l[0]
);

/// A group's affine points in blst's form (all-zero: the point at infinity), with the Jacobian
/// operations that the overflow sums and the bucket reduction need.
pub(crate) trait Affine: Copy + Default + Eq + Send + Sync {
    /// The coordinates' field.
    type Field: Field;
    /// The group's points in blst's Jacobian form.
    type Point: Copy + Default + Send;
    /// The coordinates `(x, y)`.
    fn xy(&self) -> (&Self::Field, &Self::Field);
    /// The coordinates `(x, y)`, to write.
    fn xy_mut(&mut self) -> (&mut Self::Field, &mut Self::Field);
    /// `acc += p`.
    fn add_to(acc: &mut Self::Point, p: &Self);
    /// `acc += p`.
    fn add(acc: &mut Self::Point, p: &Self::Point);
    /// `acc = 2·acc`.
    fn double(acc: &mut Self::Point);
    /// `self` in Jacobian form.
    fn to_point(&self) -> Self::Point;
    /// `points` in affine form, written to `out` (as long as `points`), with one inversion.
    fn to_affines(points: &[Self::Point], out: &mut [Self]);

    /// `2·self` in affine form.
    fn doubled(&self) -> Self {
        let mut point = self.to_point();
        Self::double(&mut point);
        let mut out = [Self::default()];
        Self::to_affines(&[point], &mut out);
        out[0]
    }
}

macro_rules! affine {
    ($affine:ty, $field:ty, $point:ty, $add_affine:ident, $add:ident, $double:ident,
     $from_affine:ident, $to_affines:ident) => {
        #[allow(unsafe_code)]
        impl Affine for $affine {
            type Field = $field;
            type Point = $point;

            fn xy(&self) -> (&$field, &$field) {
                (&self.x, &self.y)
            }

            fn xy_mut(&mut self) -> (&mut $field, &mut $field) {
                (&mut self.x, &mut self.y)
            }

            fn add_to(acc: &mut $point, p: &Self) {
                let a = *acc;
                // SAFETY: blst reads `a` and `p` and writes `acc`.
                unsafe { blst::$add_affine(acc, &a, p) };
            }

            fn add(acc: &mut $point, p: &$point) {
                let a = *acc;
                // SAFETY: as in `add_to`.
                unsafe { blst::$add(acc, &a, p) };
            }

            fn double(acc: &mut $point) {
                let a = *acc;
                // SAFETY: as in `add_to`.
                unsafe { blst::$double(acc, &a) };
            }

            fn to_point(&self) -> $point {
                let mut point = <$point>::default();
                // SAFETY: blst reads `self` and writes `point`.
                unsafe { blst::$from_affine(&mut point, self) };
                point
            }

            fn to_affines(points: &[$point], out: &mut [Self]) {
                assert_eq!(points.len(), out.len(), "one affine point for each point");
                if points.is_empty() {
                    return;
                }
                let inputs: [*const $point; 2] = [points.as_ptr(), std::ptr::null()];
                // SAFETY: `out` holds `points.len()` points; the null second pointer tells blst
                // that the inputs are contiguous.
                unsafe { blst::$to_affines(out.as_mut_ptr(), inputs.as_ptr(), points.len()) };
            }
        }
    };
}

affine!(
    blst_p1_affine,
    blst_fp,
    blst_p1,
    blst_p1_add_or_double_affine,
    blst_p1_add_or_double,
    blst_p1_double,
    blst_p1_from_affine,
    blst_p1s_to_affine
);
affine!(
    blst_p2_affine,
    blst_fp2,
    blst_p2,
    blst_p2_add_or_double_affine,
    blst_p2_add_or_double,
    blst_p2_double,
    blst_p2_from_affine,
    blst_p2s_to_affine
);

/// What a bucket holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    Holds,
    /// Holds a point and waits in the current batch for a sum.
    Waiting,
}

/// One window's buckets: bucket `k` collects the bases whose digit is `±(k + 1)`.
struct Buckets<A: Affine> {
    sums: Vec<A>,
    state: Vec<State>,
    /// Jacobian sums of the bases that came while their bucket was waiting.
    overflow: Vec<A::Point>,
    overflowed: Vec<bool>,
    /// The batch: which bucket, which point, and the running products of the denominators.
    batch: Vec<(u32, A)>,
    products: Vec<A::Field>,
    capacity: usize,
}

impl<A: Affine> Buckets<A> {
    fn new(buckets: usize, capacity: usize) -> Self {
        Self {
            sums: vec![A::default(); buckets],
            state: vec![State::Empty; buckets],
            overflow: vec![A::Point::default(); buckets],
            overflowed: vec![false; buckets],
            batch: Vec::with_capacity(capacity),
            products: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Asks the processor to bring bucket `k` into its cache: the buckets are visited in the
    /// scalars' order, and waiting for each one in turn would dominate.
    fn prefetch(&self, k: usize) {
        // A bucket out of range is refused by `add` when it comes; the hint is not given.
        #[cfg(target_arch = "x86_64")]
        if let Some(sum) = self.sums.get(k) {
            #[allow(unsafe_code)]
            // SAFETY: a prefetch is a hint, and the address is that of an element of `sums`.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(sum).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = k;
    }

    /// Adds `base`, or its negation when `negative`, to bucket `k`.
    fn add(&mut self, k: usize, base: &A, negative: bool) {
        match self.state[k] {
            State::Empty => {
                let s = &mut self.sums[k];
                *s = *base;
                if negative {
                    A::Field::neg(s.xy_mut().1);
                }
                self.state[k] = State::Holds;
            }
            State::Waiting => {
                let mut p = *base;
                if negative {
                    A::Field::neg(p.xy_mut().1);
                }
                A::add_to(&mut self.overflow[k], &p);
                self.overflowed[k] = true;
            }
            State::Holds => {
                self.batch.push((k as u32, *base));
                let Some((_, p)) = self.batch.last_mut() else {
                    return;
                };
                if negative {
                    A::Field::neg(p.xy_mut().1);
                }
                let s = &mut self.sums[k];
                let ((sx, sy), (px, py)) = (s.xy(), p.xy());
                // One limb first: equal x coordinates are rare, a full comparison is a call.
                if sx.low() == px.low() && sx == px {
                    // The chord formula does not apply: doubling, or a point and its negation.
                    if sy == py {
                        *s = s.doubled();
                    } else {
                        self.state[k] = State::Empty;
                    }
                    self.batch.pop();
                    return;
                }
                self.state[k] = State::Waiting;
                // The running product of the batch's denominators `x_p - x_s`.
                let at = self.products.len();
                self.products.push(A::Field::default());
                let (before, this) = self.products.split_at_mut(at);
                A::Field::sub(&mut this[0], px, sx);
                if let Some(previous) = before.last() {
                    A::Field::mul_assign(&mut this[0], previous);
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
        let mut inverse = A::Field::default();
        A::Field::inverse(&mut inverse, last);
        let (mut this, mut lambda, mut t, mut u) = Default::default();
        for i in (0..self.batch.len()).rev() {
            let (k, ref p) = self.batch[i];
            let k = k as usize;
            let (px, py) = p.xy();
            let (sx, sy) = self.sums[k].xy_mut();
            // This denominator's inverse, and the inverse of the product of those before it.
            match i {
                0 => this = inverse,
                _ => A::Field::mul(&mut this, &inverse, &self.products[i - 1]),
            }
            A::Field::sub(&mut t, px, sx);
            A::Field::mul_assign(&mut inverse, &t);
            // λ = (y_p - y_s) / (x_p - x_s).
            A::Field::sub(&mut t, py, sy);
            A::Field::mul(&mut lambda, &t, &this);
            // t = λ² - x_p; x = t - x_s; u = x_s - x = 2·x_s - t; y = λ·u - y_s.
            A::Field::sqr(&mut t, &lambda);
            A::Field::sub_assign(&mut t, px);
            A::Field::sub(&mut u, sx, &t);
            A::Field::add_assign(&mut u, sx);
            A::Field::sub_from(sx, &t);
            A::Field::mul_assign(&mut u, &lambda);
            A::Field::sub_from(sy, &u);
            self.state[k] = State::Holds;
        }
        self.batch.clear();
        self.products.clear();
    }

    /// `Σ (k + 1)·bucket_k`, by the running-sum reduction.
    fn finish(mut self) -> A::Point {
        self.flush();
        let mut running = A::Point::default();
        let mut total = A::Point::default();
        for k in (0..self.sums.len()).rev() {
            if self.state[k] != State::Empty {
                A::add_to(&mut running, &self.sums[k]);
            }
            if self.overflowed[k] {
                A::add(&mut running, &self.overflow[k]);
            }
            A::add(&mut total, &running);
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
fn bits(scalar: &[u64; 4], at: usize, c: usize) -> u64 {
    let (limb, shift) = (at / 64, at % 64);
    let mut v = scalar.get(limb).map_or(0, |l| l >> shift);
    if shift + c > 64 {
        v |= scalar.get(limb + 1).map_or(0, |l| l << (64 - shift));
    }
    v & ((1 << c) - 1)
}

/// The signed `c`-bit digits of `scalar` (little-endian limbs, below 2^nbits), least significant
/// first, each in `[-2^(c-1), 2^(c-1)]`.
pub(crate) fn digits(scalar: &[u64; 4], c: usize, windows: usize, out: &mut [i16]) {
    let half = 1u64 << (c - 1);
    let mut carry = 0;
    for (w, out) in out.iter_mut().enumerate().take(windows) {
        let v = bits(scalar, w * c, c) + carry;
        carry = u64::from(v > half);
        *out = (v as i64 - ((carry as i64) << c)) as i16;
    }
    debug_assert_eq!(carry, 0, "the last window holds the last carry");
}

/// `Σ digit(i) · points[i]` for digits in `[-2^(c-1), 2^(c-1)]`, points not at infinity (the
/// chord formula would take blst's all-zero encoding for the point `(0, 0)`): one window of
/// Pippenger's method, or the whole product over a fixed-base table's points.
pub(crate) fn bucket_pass<A: Affine>(
    points: &[A],
    digit: impl Fn(usize) -> i16,
    c: usize,
) -> A::Point {
    let buckets = 1usize << (c - 1);
    let mut b = Buckets::<A>::new(buckets, (buckets / 8).clamp(32, 256));
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
pub(crate) fn msm<A: Affine>(bases: &[A], scalars: &[[u64; 4]], nbits: usize) -> A::Point {
    let n = bases.len().min(scalars.len());
    let c = window(n);
    // One more bit than the scalars for the last window's carry.
    let windows = (nbits + 1).div_ceil(c);
    let mut all = vec![0i16; n * windows];
    all.par_chunks_mut(windows)
        .zip(scalars[..n].par_iter())
        .for_each(|(out, s)| digits(s, c, windows, out));
    let sums: Vec<A::Point> = (0..windows)
        .into_par_iter()
        .map(|w| bucket_pass(&bases[..n], |i| all[i * windows + w], c))
        .collect();
    let mut acc = A::Point::default();
    for sum in sums.iter().rev() {
        for _ in 0..c {
            A::double(&mut acc);
        }
        A::add(&mut acc, sum);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::{PrimeField, UniformRand};
    use rand::{RngCore, SeedableRng};
    use zkcustoms_verifier::blst_form::{from_p1, from_p2, g1, g2};

    /// Checks the product in G1 over `bases` and in G2 over as many multiples of a G2 point
    /// (`bases[i] = k_i·g1` gives `k_i·g2` in G2: the same pattern of equal and opposite bases).
    fn check(bases: &[G1Affine], g2_bases: &[G2Affine], scalars: &[Fr]) {
        let limbs: Vec<[u64; 4]> = scalars.iter().map(|s| s.into_bigint().0).collect();
        let full = G1Projective::msm(bases, scalars).unwrap();
        let blst1: Vec<_> = bases.iter().map(g1).collect();
        assert_eq!(from_p1(&msm(&blst1, &limbs, 255)), full);
        let full2 = G2Projective::msm(g2_bases, scalars).unwrap();
        let blst2: Vec<_> = g2_bases.iter().map(g2).collect();
        assert_eq!(from_p2(&msm(&blst2, &limbs, 255)), full2, "G2");
        // Scalars below 2^64 in the 64-bit pass the prover gives them.
        if limbs.iter().all(|l| l[1..] == [0; 3]) {
            assert_eq!(from_p1(&msm(&blst1, &limbs, 64)), full, "64 bits");
            assert_eq!(from_p2(&msm(&blst2, &limbs, 64)), full2, "G2, 64 bits");
        }
    }

    /// `k_i·p` for the given multipliers, in affine form.
    fn multiples<G: CurveGroup>(p: G, k: &[u64]) -> Vec<G::Affine> {
        G::normalize_batch(
            &k.iter()
                .map(|&k| p * G::ScalarField::from(k))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn digits_give_back_the_scalar() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut scalars: Vec<Fr> = (0..200).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64)]);
        // Around each window's half and whole (the fixed-base tables' 13 among them): the
        // carries' edges.
        for c in 8..=15u32 {
            let (half, whole) = (1u64 << (c - 1), 1u64 << c);
            for v in [half - 1, half, half + 1, whole - 1, whole, whole + half] {
                scalars.extend([Fr::from(v), -Fr::from(v)]);
            }
        }
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
        let (p1, p2) = (G1Projective::rand(&mut rng), G2Projective::rand(&mut rng));
        for n in [1, 2, 300, 5000] {
            let k: Vec<u64> = (1..=n).collect();
            let (bases, g2_bases) = (multiples(p1, &k), multiples(p2, &k));
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            check(&bases, &g2_bases, &scalars);
            let small: Vec<Fr> = (0..n).map(|_| Fr::from(rng.next_u64())).collect();
            check(&bases, &g2_bases, &small);
        }
    }

    #[test]
    fn equal_bases_and_scalars_take_every_path() {
        // The same base with the same scalar puts every base in the same buckets: doublings in
        // a bucket, bases arriving while their bucket waits in a batch. A base next to its
        // negation empties a bucket.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let p = G1Projective::rand(&mut rng).into_affine();
        let q = G2Projective::rand(&mut rng).into_affine();
        let s = Fr::rand(&mut rng);
        check(&vec![p; 3000], &vec![q; 3000], &vec![s; 3000]);
        let alternate = |i: usize| i.is_multiple_of(2);
        let bases: Vec<G1Affine> = (0..2000)
            .map(|i| if alternate(i) { p } else { -p })
            .collect();
        let g2_bases: Vec<G2Affine> = (0..2000)
            .map(|i| if alternate(i) { q } else { -q })
            .collect();
        check(&bases, &g2_bases, &vec![s; 2000]);
        let mixed: Vec<Fr> = (0..3000)
            .map(|i| if i % 3 == 0 { s } else { Fr::rand(&mut rng) })
            .collect();
        check(&vec![p; 3000], &vec![q; 3000], &mixed);
        check(&[], &[], &[]);
    }
}
