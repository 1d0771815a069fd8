//! The proof envelope: what a prover emits and a verifier or ledger node consumes.
//!
//! ```json
//! {
//!   "format": "zkcustoms-proof/v1",
//!   "statement": "invoice-value/v1",
//!   "size_class": 4,
//!   "vk_id": "…64 hex digits…",
//!   "public": { "digest": "…", "declared_value_minor": 1843250, "currency": "EUR" },
//!   "proof": "…384 hex digits: A (48 bytes), B (96), C (48), compressed…"
//! }
//! ```
//!
//! Verifiers derive field elements from the named public values themselves. Groth16 proofs are
//! re-randomisable: the proof bytes identify nothing, the public values do.

use crate::keys::KeyId;
use crate::VerifyError;
use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::Proof;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use serde::{Deserialize, Serialize};
use zkcustoms_circuits::aeo_status::{self, AeoStatusPublic};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::invoice_value::{self, InvoiceValuePublic};
use zkcustoms_circuits::CircuitId;

/// Format tag of an envelope.
pub const ENVELOPE_FORMAT: &str = "zkcustoms-proof/v1";
/// Length of a compressed BLS12-381 Groth16 proof.
pub const PROOF_LEN: usize = 192;

/// The public values of a statement, by statement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicValues {
    /// `aeo-status/v1`.
    AeoStatus(AeoStatusPublic),
    /// `invoice-value/v1`.
    InvoiceValue(InvoiceValuePublic),
}

impl PublicValues {
    /// The field elements, in circuit order, with their count checked against the circuit.
    pub fn to_field_elements(&self, circuit: CircuitId) -> Result<Vec<Fr>, VerifyError> {
        let inputs = match (self, circuit) {
            (PublicValues::AeoStatus(p), CircuitId::AeoStatusV1) => aeo_status::public_inputs(p)
                .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            (PublicValues::InvoiceValue(p), CircuitId::InvoiceValueV1(_)) => {
                invoice_value::public_inputs(p)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?
            }
            _ => {
                return Err(VerifyError::Malformed(format!(
                    "public values do not belong to {circuit}"
                )))
            }
        };
        if inputs.len() != circuit.num_public_inputs() {
            return Err(VerifyError::PublicInputCount {
                expected: circuit.num_public_inputs(),
                found: inputs.len(),
            });
        }
        Ok(inputs)
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            PublicValues::AeoStatus(p) => serde_json::to_value(p),
            PublicValues::InvoiceValue(p) => serde_json::to_value(p),
        }
        .expect("public values serialize")
    }
}

/// A decoded, validated proof envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ProofEnvelope {
    /// The circuit (statement and size class).
    pub circuit: CircuitId,
    /// The verifying key the proof is for.
    pub vk_id: KeyId,
    /// The named public values.
    pub public: PublicValues,
    /// The proof, decoded with full validation (on curve, in the prime-order subgroup).
    pub proof: Proof<Bls12_381>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    statement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size_class: Option<serde_json::Value>,
    vk_id: String,
    public: serde_json::Value,
    proof: String,
}

/// Decodes a compressed proof of exactly [`PROOF_LEN`] bytes with full validation.
pub fn decode_proof(bytes: &[u8]) -> Result<Proof<Bls12_381>, VerifyError> {
    if bytes.len() != PROOF_LEN {
        return Err(VerifyError::Malformed(format!(
            "proof must be {PROOF_LEN} bytes, got {}",
            bytes.len()
        )));
    }
    Proof::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|e| VerifyError::Malformed(format!("proof points are invalid: {e}")))
}

/// Compressed bytes of a proof.
pub fn encode_proof(proof: &Proof<Bls12_381>) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_LEN);
    proof
        .serialize_compressed(&mut out)
        .expect("writing to a vector cannot fail");
    out
}

impl ProofEnvelope {
    /// Parses and validates an envelope from JSON.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        let wire: Wire = serde_json::from_str(text)
            .map_err(|e| VerifyError::Malformed(format!("envelope: {e}")))?;
        if wire.format != ENVELOPE_FORMAT {
            return Err(VerifyError::Malformed(format!(
                "unknown envelope format {:?}, expected {ENVELOPE_FORMAT:?}",
                wire.format
            )));
        }
        let size_class = match wire.size_class {
            None => None,
            Some(v) => Some(
                serde_json::from_value::<SizeClass>(v)
                    .map_err(|e| VerifyError::Malformed(format!("size_class: {e}")))?,
            ),
        };
        let circuit = CircuitId::from_parts(&wire.statement, size_class)
            .map_err(VerifyError::UnknownStatement)?;
        let vk_id = KeyId::parse(&wire.vk_id).map_err(VerifyError::Malformed)?;
        let public = match circuit {
            CircuitId::AeoStatusV1 => PublicValues::AeoStatus(
                serde_json::from_value(wire.public)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            ),
            CircuitId::InvoiceValueV1(_) => PublicValues::InvoiceValue(
                serde_json::from_value(wire.public)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            ),
        };
        // Derive the field elements once now, so a value out of range is malformed input.
        public.to_field_elements(circuit)?;
        let bytes = hex::decode(&wire.proof)
            .map_err(|_| VerifyError::Malformed("proof is not hex".into()))?;
        let proof = decode_proof(&bytes)?;
        Ok(Self {
            circuit,
            vk_id,
            public,
            proof,
        })
    }

    /// The envelope as pretty JSON.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            format: ENVELOPE_FORMAT.into(),
            statement: self.circuit.statement().into(),
            size_class: self
                .circuit
                .size_class()
                .map(|c| serde_json::Value::from(c.lines())),
            vk_id: self.vk_id.to_string(),
            public: self.public.to_json(),
            proof: hex::encode(encode_proof(&self.proof)),
        };
        serde_json::to_string_pretty(&wire).expect("envelope serializes")
    }
}
