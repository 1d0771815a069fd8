//! The random beacon that closes each stage: a public value nobody could predict before the
//! last contribution (a future block hash, a lottery draw), hashed 2^k times with SHA-256 so that
//! nobody can try many candidate values in the time between its publication and its use.

use crate::secrets::Entropy;
use crate::CeremonyError;
use sha2::{Digest, Sha256};

/// The largest number of iterations, 2^32: about 20 minutes of SHA-256 on one core, longer than
/// the time between two Bitcoin blocks (what the delay must outlast). Every verifier recomputes
/// every beacon, so a larger count would let whoever applies the beacons make each verification
/// of the transcript take days.
pub const MAX_ITERATIONS_LOG2: u8 = 32;
/// The longest beacon value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;
/// The participant name recorded for a beacon step.
pub const BEACON_PARTICIPANT: &str = "beacon";

/// Where a step's secrets come from.
pub(crate) enum Secrets<'a> {
    /// A participant (its name) and its fresh entropy.
    Fresh(&'a str, Entropy),
    /// The beacon: its secrets are public, recomputed by every verifier.
    Beacon(Beacon),
}

impl<'a> Secrets<'a> {
    /// The participant, the beacon if any and the entropy of a step of `stage`; a beacon is
    /// refused while `contributed` is false (its secrets are public: a phase nobody contributed
    /// to would give keys anyone could forge proofs under), before it is hashed.
    pub(crate) fn take(
        self,
        stage: &str,
        contributed: bool,
        progress: &mut dyn FnMut(crate::Event<'_>),
    ) -> Result<(&'a str, Option<Beacon>, Entropy), crate::Fault> {
        match self {
            Secrets::Fresh(participant, entropy) => Ok((participant, None, entropy)),
            Secrets::Beacon(_) if !contributed => Err(crate::Fault::NobodyContributed),
            Secrets::Beacon(beacon) => {
                let entropy = crate::timed(
                    progress,
                    &format!("beacon: 2^{} SHA-256 iterations", beacon.iterations_log2),
                    || beacon.entropy(stage),
                );
                Ok((BEACON_PARTICIPANT, Some(beacon), entropy))
            }
        }
    }
}

/// A beacon: its public value and the number of hash iterations, both recorded in the
/// transcript so that anyone can recompute its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beacon {
    /// The public value.
    pub value: Vec<u8>,
    /// log2 of the number of SHA-256 iterations.
    pub iterations_log2: u8,
}

impl Beacon {
    /// A beacon from its value (1 to 1024 bytes) and iteration exponent (at most
    /// [`MAX_ITERATIONS_LOG2`]).
    pub fn new(value: Vec<u8>, iterations_log2: u8) -> Result<Self, CeremonyError> {
        if value.is_empty() || value.len() > MAX_VALUE_BYTES {
            return Err(CeremonyError::Invalid(format!(
                "a beacon value has 1 to {MAX_VALUE_BYTES} bytes, this one {}",
                value.len()
            )));
        }
        if iterations_log2 > MAX_ITERATIONS_LOG2 {
            return Err(CeremonyError::Invalid(format!(
                "at most 2^{MAX_ITERATIONS_LOG2} beacon iterations, not 2^{iterations_log2}"
            )));
        }
        Ok(Beacon {
            value,
            iterations_log2,
        })
    }

    /// The beacon's secrets for one stage (`phase1`, or a circuit's phase 2): the value hashed
    /// 2^k times, then with the stage's name. Public: anyone recomputes them.
    pub fn entropy(&self, stage: &str) -> Entropy {
        let mut h: [u8; 32] = Sha256::new()
            .chain_update(b"zkcustoms-ceremony/beacon/v1")
            .chain_update((self.value.len() as u64).to_be_bytes())
            .chain_update(&self.value)
            .finalize()
            .into();
        for _ in 0..(1u64 << self.iterations_log2) {
            h = Sha256::digest(h).into();
        }
        let seed = Sha256::new()
            .chain_update(h)
            .chain_update((stage.len() as u64).to_be_bytes())
            .chain_update(stage.as_bytes())
            .finalize()
            .into();
        Entropy::from_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beacon_secrets_depend_on_value_iterations_and_stage() {
        let b = Beacon::new(b"block 123".to_vec(), 4).unwrap();
        let tau = |b: &Beacon, stage: &str| b.entropy(stage).secret("tau").0;
        assert_eq!(tau(&b, "phase1"), tau(&b.clone(), "phase1"));
        assert_ne!(tau(&b, "phase1"), tau(&b, "phase2"));
        assert_ne!(
            tau(&b, "phase1"),
            tau(&Beacon::new(b"block 123".to_vec(), 5).unwrap(), "phase1")
        );
        assert_ne!(
            tau(&b, "phase1"),
            tau(&Beacon::new(b"block 124".to_vec(), 4).unwrap(), "phase1")
        );
        assert!(Beacon::new(Vec::new(), 4).is_err());
        assert!(Beacon::new(b"x".to_vec(), 41).is_err());
    }
}
