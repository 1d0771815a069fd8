//! zkcustoms statements: for each one a public struct, a private struct, a native `check`, the
//! Groth16 circuit over BLS12-381, a dummy witness for key generation and `public_inputs()` (the
//! one place that fixes the order of public inputs). Also the primitives they share: Poseidon,
//! the registry Merkle tree, day numbers, the canonical invoice encoding.
//!
//! This crate is pure: no I/O, no threads of its own.

pub mod aeo_status;
pub mod codec;
pub mod date;
pub mod declaration_match;
pub mod field;
pub mod gadgets;
pub mod invoice;
pub mod invoice_value;
pub mod merkle;
pub mod poseidon;
pub mod registry;
pub mod sha256;

/// The scalar field of BLS12-381, over which every circuit is written.
pub type Fr = ark_bls12_381::Fr;

use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use invoice::SizeClass;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A circuit with its own keys: a statement, and for invoice statements a size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CircuitId {
    /// `aeo-status/v1`.
    AeoStatusV1,
    /// `invoice-value/v1` for a size class.
    InvoiceValueV1(SizeClass),
    /// `declaration-match/v1` for a size class (its items: at most the class's line count).
    DeclarationMatchV1(SizeClass),
}

impl CircuitId {
    /// Every circuit, in key-generation order.
    pub const ALL: [CircuitId; 5] = [
        CircuitId::AeoStatusV1,
        CircuitId::InvoiceValueV1(SizeClass::Lines4),
        CircuitId::InvoiceValueV1(SizeClass::Lines16),
        CircuitId::DeclarationMatchV1(SizeClass::Lines4),
        CircuitId::DeclarationMatchV1(SizeClass::Lines16),
    ];

    /// The statement id (`aeo-status/v1`).
    pub fn statement(self) -> &'static str {
        match self {
            CircuitId::AeoStatusV1 => aeo_status::ID,
            CircuitId::InvoiceValueV1(_) => invoice_value::ID,
            CircuitId::DeclarationMatchV1(_) => declaration_match::ID,
        }
    }

    /// The size class, for statements that have one.
    pub fn size_class(self) -> Option<SizeClass> {
        match self {
            CircuitId::AeoStatusV1 => None,
            CircuitId::InvoiceValueV1(c) | CircuitId::DeclarationMatchV1(c) => Some(c),
        }
    }

    /// The circuit for a statement id and optional size class.
    pub fn from_parts(statement: &str, size_class: Option<SizeClass>) -> Result<Self, String> {
        match (statement, size_class) {
            (aeo_status::ID, None) => Ok(CircuitId::AeoStatusV1),
            (aeo_status::ID, Some(_)) => Err(format!("{} has no size class", aeo_status::ID)),
            (invoice_value::ID, Some(c)) => Ok(CircuitId::InvoiceValueV1(c)),
            (invoice_value::ID, None) => Err(format!(
                "{} needs a size class (4 or 16)",
                invoice_value::ID
            )),
            (declaration_match::ID, Some(c)) => Ok(CircuitId::DeclarationMatchV1(c)),
            (declaration_match::ID, None) => Err(format!(
                "{} needs a size class (4 or 16)",
                declaration_match::ID
            )),
            (other, _) => Err(format!(
                "unknown statement {other:?}: expected {}, {} or {}",
                aeo_status::ID,
                invoice_value::ID,
                declaration_match::ID
            )),
        }
    }

    /// A file-name stem for this circuit's keys (`aeo-status-v1`, `invoice-value-v1-lines4`).
    pub fn file_stem(self) -> String {
        let base = self.statement().replace('/', "-");
        match self.size_class() {
            Some(c) => format!("{base}-lines{}", c.lines()),
            None => base,
        }
    }

    /// Number of public inputs of the circuit.
    pub fn num_public_inputs(self) -> usize {
        match self {
            CircuitId::AeoStatusV1 => aeo_status::NUM_PUBLIC_INPUTS,
            CircuitId::InvoiceValueV1(_) => invoice_value::NUM_PUBLIC_INPUTS,
            CircuitId::DeclarationMatchV1(c) => declaration_match::num_public_inputs(c),
        }
    }

    /// Synthesizes the circuit over its dummy witness in setup mode.
    pub fn shape(self) -> Result<CircuitShape, ark_relations::gr1cs::SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        match self {
            CircuitId::AeoStatusV1 => {
                registry::aeo_status_dummy().generate_constraints(cs.clone())?
            }
            CircuitId::InvoiceValueV1(c) => {
                invoice_value::dummy(c).generate_constraints(cs.clone())?
            }
            CircuitId::DeclarationMatchV1(c) => {
                declaration_match::dummy(c).generate_constraints(cs.clone())?
            }
        }
        cs.finalize();
        let matrices = cs.to_matrices()?;
        let mut h = Sha256::new();
        for (label, mats) in &matrices {
            h.update(label.as_bytes());
            for m in mats {
                h.update((m.len() as u64).to_be_bytes());
                for row in m {
                    h.update((row.len() as u64).to_be_bytes());
                    for (coeff, var) in row {
                        h.update(field::fr_to_be_bytes(coeff));
                        h.update((*var as u64).to_be_bytes());
                    }
                }
            }
        }
        Ok(CircuitShape {
            constraints: cs.num_constraints(),
            public_inputs: cs.num_instance_variables() - 1,
            witnesses: cs.num_witness_variables(),
            matrix_hash: hex::encode(h.finalize()),
        })
    }
}

impl std::fmt::Display for CircuitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.size_class() {
            Some(c) => write!(f, "{} ({} lines)", self.statement(), c.lines()),
            None => f.write_str(self.statement()),
        }
    }
}

/// The size of a circuit and a hash of its constraint matrices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// Number of constraints.
    pub constraints: usize,
    /// Number of public inputs (not counting the constant one).
    pub public_inputs: usize,
    /// Number of private witness variables.
    pub witnesses: usize,
    /// SHA-256 over the constraint matrices (hex).
    pub matrix_hash: String,
}

/// Serde for field elements as canonical big-endian hex (refusing non-canonical values).
pub mod serde_fr {
    use crate::field::{fr_from_hex, fr_to_hex};
    use crate::Fr;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Serializes as 64 hex digits.
    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fr_to_hex(x))
    }

    /// Deserializes from 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        let s = String::deserialize(d)?;
        fr_from_hex(&s).map_err(D::Error::custom)
    }
}

/// Serde for lists of field elements as canonical big-endian hex.
pub mod serde_fr_vec {
    use crate::field::{fr_from_hex, fr_to_hex};
    use crate::Fr;
    use serde::{de::Error as _, ser::SerializeSeq, Deserialize, Deserializer, Serializer};

    /// Serializes as a list of 64-digit hex strings.
    pub fn serialize<S: Serializer>(xs: &[Fr], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(xs.len()))?;
        for x in xs {
            seq.serialize_element(&fr_to_hex(x))?;
        }
        seq.end()
    }

    /// Deserializes from a list of 64-digit hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fr>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| fr_from_hex(s).map_err(D::Error::custom))
            .collect()
    }
}
