//! BLS12-381 points and field elements crossing between arkworks and blst, without re-encoding.
//!
//! Both libraries keep base-field elements in Montgomery form with R = 2^384 over six
//! little-endian 64-bit limbs, fully reduced, and both build the extension fields as the same
//! tower (Fp2 = Fp[u]/(u^2+1), Fp6 = Fp2[v]/(v^3-(u+1)), Fp12 = Fp6[w]/(w^2-v)): a conversion
//! copies limbs. Nothing here validates a point: these are for points already validated (decoded
//! with full checks, read from a checked key, or computed), never for outside bytes.

use ark_bls12_381::{Fq, Fq2, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, Zero};
use blst::{blst_fp, blst_fp2, blst_p1, blst_p1_affine, blst_p2, blst_p2_affine};

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
