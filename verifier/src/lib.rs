//! zkcustoms verifier: proof envelopes, verifying keys checked against their ids, and Groth16
//! verification over BLS12-381 with every outside byte validated.
//!
//! Verification derives the public field elements from the envelope's named values, checks their
//! number against the circuit and the key (ark-groth16 silently ignores extra or missing inputs),
//! decodes points with full validation, and answers with distinct errors for malformed input, a
//! wrong key and a proof that does not verify.

pub mod batch;
mod blst_backend;
pub mod blst_form;
mod blst_points;
pub mod envelope;
pub mod keys;
mod prepared;
pub mod snarkjs;
#[cfg(test)]
mod testing;

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Groth16, Proof};
use std::collections::BTreeMap;
use zkcustoms_circuits::CircuitId;

pub use envelope::{ProofEnvelope, PublicValues};
pub use keys::{KeyDir, KeyError, KeyId, VerifyingKey};

/// Why a proof was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is not a well-formed envelope, value or proof.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The statement (or size class) is not one this verifier knows.
    #[error("{0}")]
    UnknownStatement(String),
    /// No key is loaded for the circuit.
    #[error("no verifying key loaded for {0}")]
    NoKey(CircuitId),
    /// The envelope names another key than the one held for its circuit.
    #[error(
        "proof is for verifying key {found}, but the key held for this statement is {expected}"
    )]
    WrongKey {
        /// The key held.
        expected: KeyId,
        /// The key the envelope names.
        found: KeyId,
    },
    /// The number of public inputs is not the circuit's.
    #[error("expected {expected} public inputs, got {found}")]
    PublicInputCount {
        /// The circuit's count.
        expected: usize,
        /// The count given.
        found: usize,
    },
    /// The proof is well-formed but does not verify.
    #[error("proof does not verify")]
    InvalidProof,
}

impl VerifyError {
    /// True when the error says the proof is well-formed but false (as opposed to bad input).
    pub fn is_invalid_proof(&self) -> bool {
        matches!(self, VerifyError::InvalidProof)
    }
}

impl VerifyingKey {
    /// Verifies a proof over public field elements, checking their count first (on the default
    /// pairing path, blst).
    pub fn verify_inputs(
        &self,
        inputs: &[Fr],
        proof: &Proof<Bls12_381>,
    ) -> Result<(), VerifyError> {
        self.verify_inputs_with(inputs, proof, batch::Backend::default())
    }

    /// Verifies a proof over public field elements on the given pairing path.
    pub fn verify_inputs_with(
        &self,
        inputs: &[Fr],
        proof: &Proof<Bls12_381>,
        backend: batch::Backend,
    ) -> Result<(), VerifyError> {
        let expected = self.num_inputs();
        if inputs.len() != expected || expected != self.circuit().num_public_inputs() {
            return Err(VerifyError::PublicInputCount {
                expected,
                found: inputs.len(),
            });
        }
        let ok = match backend {
            batch::Backend::Arkworks => {
                Groth16::<Bls12_381>::verify_proof(&self.pvk, proof, inputs)
                    .map_err(|e| VerifyError::Malformed(e.to_string()))?
            }
            batch::Backend::Blst => blst_backend::verify_one(self, proof, inputs),
        };
        if ok {
            Ok(())
        } else {
            Err(VerifyError::InvalidProof)
        }
    }

    /// The public field elements of an envelope for this key: the envelope must be for this
    /// key's circuit and name this key, and the number of inputs must be the key's.
    pub fn envelope_inputs(&self, envelope: &ProofEnvelope) -> Result<Vec<Fr>, VerifyError> {
        if envelope.circuit != self.circuit() {
            return Err(VerifyError::Malformed(format!(
                "envelope is for {}, this key verifies {}",
                envelope.circuit,
                self.circuit()
            )));
        }
        self.check_envelope_key(envelope.vk_id)?;
        let inputs = envelope.public.to_field_elements(self.circuit())?;
        let expected = self.num_inputs();
        if inputs.len() != expected {
            return Err(VerifyError::PublicInputCount {
                expected,
                found: inputs.len(),
            });
        }
        Ok(inputs)
    }

    /// Verifies an envelope against this key.
    pub fn verify(&self, envelope: &ProofEnvelope) -> Result<(), VerifyError> {
        let inputs = self.envelope_inputs(envelope)?;
        self.verify_inputs(&inputs, &envelope.proof)
    }
}

/// The verifying keys a verifier holds, one per circuit.
#[derive(Clone, Debug, Default)]
pub struct VerifierKeys {
    keys: BTreeMap<CircuitId, VerifyingKey>,
}

impl VerifierKeys {
    /// Adds (or replaces) the key of its circuit.
    pub fn insert(&mut self, key: VerifyingKey) {
        self.keys.insert(key.circuit(), key);
    }

    /// The key of a circuit.
    pub fn get(&self, circuit: CircuitId) -> Option<&VerifyingKey> {
        self.keys.get(&circuit)
    }

    /// Every key held.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.values()
    }

    /// Verifies an envelope with the key held for its circuit.
    pub fn verify(&self, envelope: &ProofEnvelope) -> Result<(), VerifyError> {
        self.get(envelope.circuit)
            .ok_or(VerifyError::NoKey(envelope.circuit))?
            .verify(envelope)
    }

    /// Parses an envelope from JSON and verifies it.
    pub fn verify_json(&self, text: &str) -> Result<ProofEnvelope, VerifyError> {
        let envelope = ProofEnvelope::from_json(text)?;
        self.verify(&envelope)?;
        Ok(envelope)
    }
}

/// What a verified envelope establishes, in plain words (the private values stay unknown).
pub fn describe(envelope: &ProofEnvelope) -> String {
    match &envelope.public {
        PublicValues::AeoStatus(p) => format!(
            "an operator holding an AEO certificate of tier {} or higher, issued by {} and valid \
             on {}, is in registry {}…; nullifier {}… for scope {:?}",
            p.required_tier.name(),
            p.authority,
            p.as_of,
            &zkcustoms_circuits::field::fr_to_hex(&p.registry_root)[..16],
            &zkcustoms_circuits::field::fr_to_hex(&p.nullifier)[..16],
            p.scope
        ),
        PublicValues::InvoiceValue(p) => format!(
            "the invoice with SHA-256 {} totals {} {} and its lines add up to that total",
            hex::encode(p.digest),
            format_minor(p.declared_value_minor, &p.currency),
            p.currency
        ),
        PublicValues::DeclarationMatch(p) => format!(
            "the lines of the invoice with SHA-256 {}, grouped by HS-6 heading, are exactly the \
             declaration items {} (in {})",
            hex::encode(p.digest),
            p.items
                .iter()
                .map(|i| format!("{} {}", i.hs_code, format_minor(i.value_minor, &p.currency)))
                .collect::<Vec<_>>()
                .join(", "),
            p.currency
        ),
    }
}

/// An amount in minor units written in major units, with the ISO 4217 exponent of its currency.
fn format_minor(v: u64, currency: &str) -> String {
    let exponent = match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    if exponent == 0 {
        return v.to_string();
    }
    let unit = 10u64.pow(exponent);
    format!(
        "{}.{:0width$}",
        v / unit,
        v % unit,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::format_minor;

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(format_minor(1_843_250, "EUR"), "18432.50");
        assert_eq!(format_minor(5, "EUR"), "0.05");
        assert_eq!(format_minor(1_843_250, "JPY"), "1843250");
        assert_eq!(format_minor(1_843_250, "KWD"), "1843.250");
    }
}
