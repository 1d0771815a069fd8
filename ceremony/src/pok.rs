//! Proofs of knowledge of a secret and the pairing checks they rest on.
//!
//! As in Zcash's Powers of Tau: the participant picks a G1 point `s`, publishes `s` and `s·x`,
//! hashes the previous file's hash, a label and both points onto G2 as `r`, and publishes
//! `r·x`. Anyone checks `e(s, r·x) = e(s·x, r)`; the pair `(r, r·x)` then shows that an update
//! of the parameters (`P` to `P·x`) used the same `x`. Since `r` depends on the transcript,
//! the proof cannot be copied from another step.

use crate::codec::{Reader, Writer};
use crate::secrets::Secret;
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{UniformRand, Zero};
use ark_serialize::CanonicalSerialize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// A proof of knowledge of one secret `x`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pok {
    /// The base `s`.
    pub s: G1Affine,
    /// `s·x`.
    pub s_x: G1Affine,
    /// `r·x`, where `r` hashes the transcript and `s`, `s·x` onto G2.
    pub r_x: G2Affine,
}

/// Bytes of an encoded proof.
pub const POK_BYTES: usize = 2 * crate::codec::G1_BYTES + crate::codec::G2_BYTES;

impl Pok {
    /// Proves knowledge of `x` from the base `s`, bound to the previous file and a label.
    pub(crate) fn prove(
        x: &Secret,
        s: G1Projective,
        previous: &[u8; 32],
        label: &str,
        participant: &str,
    ) -> Pok {
        let s = s.into_affine();
        let s_x = (s * x.0).into_affine();
        let r = hash_to_g2(previous, label, participant, &s, &s_x);
        Pok {
            s,
            s_x,
            r_x: (r * x.0).into_affine(),
        }
    }

    /// The G2 point `r` of this proof in its transcript.
    pub fn r(&self, previous: &[u8; 32], label: &str, participant: &str) -> G2Affine {
        hash_to_g2(previous, label, participant, &self.s, &self.s_x).into_affine()
    }

    /// Checks the proof itself: nonzero points and `e(s, r·x) = e(s·x, r)`. Returns `r`, or
    /// `None` when the proof does not verify.
    pub fn verify(&self, previous: &[u8; 32], label: &str, participant: &str) -> Option<G2Affine> {
        if self.s.is_zero() || self.s_x.is_zero() || self.r_x.is_zero() {
            return None;
        }
        let r = self.r(previous, label, participant);
        same_ratio((self.s, self.s_x), (r, self.r_x)).then_some(r)
    }

    /// Appends the proof.
    pub fn write(&self, w: &mut Writer) {
        w.g1(&self.s);
        w.g1(&self.s_x);
        w.g2(&self.r_x);
    }

    /// Reads a proof (points validated).
    pub fn read(r: &mut Reader<'_>, label: &str) -> Result<Pok, String> {
        Ok(Pok {
            s: r.g1(&format!("{label} proof base"))?,
            s_x: r.g1(&format!("{label} proof base times secret"))?,
            r_x: r.g2(&format!("{label} proof G2 point"))?,
        })
    }
}

/// Hashes the transcript position and the proof's G1 points onto G2: a ChaCha20 stream seeded
/// with SHA-256 of the inputs drives arkworks' try-and-increment sampler, which clears the
/// cofactor. Nobody knows the discrete logarithm of the result.
pub fn hash_to_g2(
    previous: &[u8; 32],
    label: &str,
    participant: &str,
    s: &G1Affine,
    s_x: &G1Affine,
) -> G2Projective {
    let mut h = Sha256::new();
    h.update(b"zkcustoms-ceremony/pok/v1");
    h.update(previous);
    for part in [label.as_bytes(), participant.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let mut points = Vec::with_capacity(2 * crate::codec::G1_BYTES);
    s.serialize_uncompressed(&mut points).expect("vector");
    s_x.serialize_uncompressed(&mut points).expect("vector");
    h.update(&points);
    let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
    G2Projective::rand(&mut rng)
}

/// Whether `(a1, a2)` in G1 and `(b1, b2)` in G2 have the same ratio: `e(a1, b2) = e(a2, b1)`.
pub fn same_ratio(a: (G1Affine, G1Affine), b: (G2Affine, G2Affine)) -> bool {
    let (a1, a2) = a;
    let (b1, b2) = b;
    Bls12_381::multi_pairing([a1, (-a2.into_group()).into_affine()], [b2, b1]).is_zero()
}

/// Randomness for the randomized checks of a file, derived from the hashes of the files
/// compared (Fiat–Shamir): reproducible, and fixed only once the file is.
pub fn check_rng(label: &str, hashes: &[&[u8; 32]]) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"zkcustoms-ceremony/check/v1");
    h.update((label.len() as u64).to_be_bytes());
    h.update(label.as_bytes());
    for x in hashes {
        h.update(x);
    }
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// `n` random 128-bit scalars: a random linear combination of `n` claims fails to expose a
/// false one with probability at most 2^-128.
pub fn coefficients(rng: &mut ChaCha20Rng, n: usize) -> Vec<Fr> {
    (0..n).map(|_| Fr::from(rng.gen::<u128>())).collect()
}

/// `Σ c_i · p_i` in G1 (blst's Pippenger).
pub fn msm_g1(points: &[G1Affine], c: &[Fr]) -> G1Projective {
    zkcustoms_verifier::blst_form::msm_g1(points, c)
}

/// `Σ c_i · p_i` in G2 (blst's Pippenger).
pub fn msm_g2(points: &[G2Affine], c: &[Fr]) -> G2Projective {
    zkcustoms_verifier::blst_form::msm_g2(points, c)
}

/// Checks that `b_i = x · a_i` for every `i`, for the `x` with `g2_x = x · g2` (both given
/// in G2): one random linear combination and one pairing equation.
pub fn same_ratio_vectors(
    a: &[G1Affine],
    b: &[G1Affine],
    g2: G2Affine,
    g2_x: G2Affine,
    rng: &mut ChaCha20Rng,
) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let c = coefficients(rng, a.len());
    let sa = msm_g1(a, &c).into_affine();
    let sb = msm_g1(b, &c).into_affine();
    same_ratio((sa, sb), (g2, g2_x))
}

/// The G1 and G2 generators.
pub fn generators() -> (G1Affine, G2Affine) {
    (G1Affine::generator(), G2Affine::generator())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Entropy;

    #[test]
    fn a_proof_verifies_only_in_its_own_transcript() {
        let e = Entropy::from_seed([1; 32]);
        let x = e.secret("tau");
        let pok = Pok::prove(&x, e.pok_base("tau"), &[9; 32], "tau", "alice");
        assert!(pok.verify(&[9; 32], "tau", "alice").is_some());
        assert!(pok.verify(&[8; 32], "tau", "alice").is_none());
        assert!(pok.verify(&[9; 32], "alpha", "alice").is_none());
        assert!(pok.verify(&[9; 32], "tau", "mallory").is_none());
        let other = e.secret("alpha");
        let mut forged = pok.clone();
        forged.s_x = (pok.s * other.0).into_affine();
        assert!(forged.verify(&[9; 32], "tau", "alice").is_none());
    }

    #[test]
    fn vectors_with_a_wrong_ratio_are_refused() {
        let (g1, g2) = generators();
        let x = Fr::from(5u64);
        let a: Vec<G1Affine> = (1..6u64)
            .map(|i| (g1 * Fr::from(i)).into_affine())
            .collect();
        let mut b: Vec<G1Affine> = a.iter().map(|p| (*p * x).into_affine()).collect();
        let g2_x = (g2 * x).into_affine();
        let mut rng = check_rng("test", &[]);
        assert!(same_ratio_vectors(&a, &b, g2, g2_x, &mut rng));
        b[3] = (b[3] + g1).into_affine();
        assert!(!same_ratio_vectors(&a, &b, g2, g2_x, &mut rng));
    }
}
