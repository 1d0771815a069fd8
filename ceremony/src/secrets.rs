//! A participant's secrets: drawn from the operating system (mixed with optional text the
//! participant types), held only in memory, zeroized when dropped and never written.

use ark_bls12_381::{Fr, G1Projective};
use ark_ff::{PrimeField, UniformRand, Zero};
use rand::rngs::OsRng;
use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// The seed a contribution's secrets derive from. Zeroized on drop; `Debug` prints nothing.
pub struct Entropy {
    seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Entropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entropy(<secret>)")
    }
}

impl Entropy {
    /// Fresh entropy: 64 bytes from the operating system hashed with the participant's text
    /// (which may be empty; it can only add entropy, never replace the system's).
    pub fn from_os(text: &str) -> Self {
        let mut os = Zeroizing::new([0u8; 64]);
        OsRng.fill_bytes(os.as_mut());
        let mut h = Sha256::new();
        h.update(b"zkcustoms-ceremony/entropy/v1");
        h.update(os.as_ref());
        h.update((text.len() as u64).to_be_bytes());
        h.update(text.as_bytes());
        let mut digest = h.finalize();
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&digest);
        digest.as_mut_slice().zeroize();
        Entropy { seed }
    }

    /// Entropy from a known seed: deterministic, hence public. Beacons derive their secrets this
    /// way from the beacon's value; tests use it to be reproducible. Never for a participant.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Entropy {
            seed: Zeroizing::new(seed),
        }
    }

    /// A secret scalar for `label` (`tau`, `alpha`, `beta`, `delta`): SHA-512 of the seed reduced
    /// modulo the group order (bias below 2^-250), never zero.
    pub(crate) fn secret(&self, label: &str) -> Secret {
        for counter in 0u32.. {
            let mut h = Sha512::new();
            h.update(b"zkcustoms-ceremony/secret/v1");
            h.update((label.len() as u64).to_be_bytes());
            h.update(label.as_bytes());
            h.update(counter.to_be_bytes());
            h.update(self.seed.as_ref());
            let mut wide = h.finalize();
            let x = Fr::from_le_bytes_mod_order(&wide);
            wide.as_mut_slice().zeroize();
            if !x.is_zero() {
                return Secret(x);
            }
        }
        unreachable!("a nonzero scalar turns up")
    }

    /// The public G1 point a proof of knowledge for `label` starts from: a hash of the seed onto
    /// the curve, so that a beacon's proof is reproducible.
    pub(crate) fn pok_base(&self, label: &str) -> G1Projective {
        let mut h = Sha256::new();
        h.update(b"zkcustoms-ceremony/pok-base/v1");
        h.update((label.len() as u64).to_be_bytes());
        h.update(label.as_bytes());
        h.update(self.seed.as_ref());
        let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
        G1Projective::rand(&mut rng)
    }
}

/// A secret scalar, zeroized when dropped.
pub(crate) struct Secret(pub Fr);

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_deterministic_per_seed_and_label_and_fresh_from_the_system() {
        let a = Entropy::from_seed([7; 32]);
        let b = Entropy::from_seed([7; 32]);
        assert_eq!(a.secret("tau").0, b.secret("tau").0);
        assert_ne!(a.secret("tau").0, a.secret("alpha").0);
        assert_ne!(
            a.secret("tau").0,
            Entropy::from_seed([8; 32]).secret("tau").0
        );
        assert_eq!(a.pok_base("tau"), b.pok_base("tau"));
        let os1 = Entropy::from_os("");
        let os2 = Entropy::from_os("");
        assert_ne!(os1.secret("tau").0, os2.secret("tau").0);
        assert_eq!(format!("{os1:?}"), "Entropy(<secret>)");
    }
}
