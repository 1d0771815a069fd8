//! The record at the start of every transcript file's contents: who contributed, the beacon if
//! it is a beacon step, and the proofs of knowledge of the step's secrets.
//!
//! ```text
//! participant   2+n   UTF-8, at most 256 bytes
//! beacon        1     0: none; 1: followed by the value (2+n bytes) and log2 iterations (1)
//! proofs        1+k·384  count, then each proof: s (G1), s·x (G1), r·x (G2)
//! ```

use crate::beacon::Beacon;
use crate::codec::{Reader, Writer};
use crate::pok::Pok;
use crate::CeremonyError;

/// The longest participant name, in bytes.
pub const MAX_PARTICIPANT_BYTES: usize = 256;

/// A step's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The participant's name (`beacon` for a beacon, empty for initial files).
    pub participant: String,
    /// The beacon of a beacon step.
    pub beacon: Option<Beacon>,
    /// Proofs of knowledge, one per secret, in the stage's order (tau, alpha, beta; or delta).
    pub proofs: Vec<Pok>,
}

impl Record {
    /// Checks a participant name: 1 to 256 bytes, no control characters.
    pub fn check_participant(name: &str) -> Result<(), CeremonyError> {
        if name.is_empty()
            || name.len() > MAX_PARTICIPANT_BYTES
            || name.chars().any(char::is_control)
        {
            return Err(CeremonyError::Invalid(format!(
                "a participant name has 1 to {MAX_PARTICIPANT_BYTES} bytes and no control \
                 characters: {name:?}"
            )));
        }
        Ok(())
    }

    /// Appends the record.
    pub fn write(&self, w: &mut Writer) {
        w.short_bytes(self.participant.as_bytes());
        match &self.beacon {
            None => w.u8(0),
            Some(b) => {
                w.u8(1);
                w.short_bytes(&b.value);
                w.u8(b.iterations_log2);
            }
        }
        w.u8(self.proofs.len() as u8);
        for p in &self.proofs {
            p.write(w);
        }
    }

    /// Reads a record with exactly `proofs` proofs labelled by `labels`.
    pub fn read(r: &mut Reader<'_>, labels: &[&str]) -> Result<Record, String> {
        let participant = r.short_string("participant")?;
        if participant.len() > MAX_PARTICIPANT_BYTES {
            return Err("participant name longer than 256 bytes".into());
        }
        let beacon = match r.u8("beacon flag")? {
            0 => None,
            1 => {
                let value = r.short_bytes("beacon value")?.to_vec();
                let iterations = r.u8("beacon iterations")?;
                Some(Beacon::new(value, iterations).map_err(|e| e.to_string())?)
            }
            other => return Err(format!("beacon flag {other}")),
        };
        let n = r.u8("number of proofs")? as usize;
        if n != labels.len() {
            return Err(format!(
                "{n} proofs of knowledge, expected {}",
                labels.len()
            ));
        }
        let proofs = labels
            .iter()
            .map(|l| Pok::read(r, l))
            .collect::<Result<_, _>>()?;
        Ok(Record {
            participant,
            beacon,
            proofs,
        })
    }
}
