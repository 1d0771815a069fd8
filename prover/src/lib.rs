//! zkcustoms prover: runs next to the trader's data. It makes development keys, loads proving
//! keys checked against their ids, turns witness files into statements, runs the native check
//! before any proving (so an unsatisfiable witness is answered with the check that failed), and
//! emits proof envelopes that it has verified itself. [`service`] serves the same over HTTP to
//! the trader's own systems, with a bounded worker pool and job queue.
//!
//! Witness values never leave this crate except inside a zero-knowledge proof, and no type here
//! prints them.

mod groth16;
pub mod service;
pub mod setup;
pub mod witness;

use ark_bls12_381::Bls12_381;
use ark_serialize::{Compress, Validate};
use rand::{CryptoRng, RngCore};
use zkcustoms_circuits::aeo_status::{self, AeoStatusCircuit};
use zkcustoms_circuits::declaration_match::{self, DeclarationMatchCircuit};
use zkcustoms_circuits::invoice_value::{self, InvoiceValueCircuit};
use zkcustoms_circuits::CircuitId;
use zkcustoms_verifier::keys::decode_exact;
use zkcustoms_verifier::{KeyDir, KeyError, KeyId, ProofEnvelope, PublicValues, VerifyingKey};

pub use witness::{
    AeoStatusWitness, DeclarationMatchWitness, InvoiceValueWitness, Statement, Witness,
};

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProverError {
    /// The witness file is not valid JSON of the right shape.
    #[error("malformed witness: {0}")]
    MalformedWitness(String),
    /// The witness does not satisfy the statement: the named check failed.
    #[error("witness does not satisfy {statement}: {check}")]
    Unsatisfied {
        /// The statement.
        statement: &'static str,
        /// The check that failed.
        check: String,
    },
    /// A key could not be loaded.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// Key generation or proving failed inside the proof system.
    #[error("proof system error: {0}")]
    Synthesis(String),
    /// The proof made does not verify under the verifying key (keys do not match each other).
    #[error(
        "the proof made does not verify under verifying key {0}: the key directory is inconsistent"
    )]
    SelfCheck(KeyId),
    /// Development keys were asked for in a directory holding other keys.
    #[error(
        "{0} holds keys that are not development keys (or a manifest that does not read): \
         development keys are never written over them; choose another directory"
    )]
    NotDevelopment(std::path::PathBuf),
    /// Writing keys failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A proving key of one circuit, with its verifying key.
pub struct ProvingKey {
    circuit: CircuitId,
    id: KeyId,
    pk: ark_groth16::ProvingKey<Bls12_381>,
    /// The key's queries in blst's form, for [`groth16`]'s multi-scalar multiplications.
    queries: groth16::Queries,
    /// The circuit's constraint matrices, kept from the first proof (see the `groth16` module).
    shape: std::sync::OnceLock<groth16::Shape>,
    vk: VerifyingKey,
}

impl std::fmt::Debug for ProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvingKey")
            .field("circuit", &self.circuit)
            .field("id", &self.id)
            .finish()
    }
}

impl ProvingKey {
    /// Loads a circuit's proving key from a key directory: the file must match its id (the
    /// SHA-256 of its canonical uncompressed bytes), decode exactly, and belong to the
    /// directory's verifying key of the same circuit (which is decoded with full validation).
    pub fn load(dir: &KeyDir, circuit: CircuitId) -> Result<Self, ProverError> {
        let vk = dir.verifying_key(circuit)?;
        let entry = dir.entry(circuit)?;
        let (path, bytes) = dir.read_checked(&entry.pk_file, entry.pk_id)?;
        // Points are not re-validated here: the id check pins the exact bytes that setup (or a
        // ceremony) wrote, full validation of a 16-line key takes minutes on two cores, and a
        // proving key can only spoil the prover's own proofs, each of which is verified under
        // the validated verifying key before it leaves `prove`.
        let pk: ark_groth16::ProvingKey<Bls12_381> =
            decode_exact(&bytes, Compress::No, Validate::No).map_err(|why| {
                KeyError::Malformed {
                    path: path.clone(),
                    why,
                }
            })?;
        if VerifyingKey::canonical_bytes(&pk.vk) != VerifyingKey::canonical_bytes(vk.arkworks()) {
            return Err(KeyError::Malformed {
                path,
                why: "proving key does not belong to the verifying key in the manifest".into(),
            }
            .into());
        }
        let queries = groth16::Queries::new(&pk);
        Ok(Self {
            circuit,
            id: entry.pk_id,
            pk,
            queries,
            shape: std::sync::OnceLock::new(),
            vk,
        })
    }

    /// Makes fixed-base tables of this key's queries of at most 32,768 bases, for a prover that
    /// makes many proofs with the key (the prover service does this at start): the proofs are
    /// the same, made faster (about 1.5 times fewer additions in each multi-scalar
    /// multiplication), at the cost of building the tables once (about 1.6 s for
    /// aeo-status on two cores) and 20 points of memory per base (about 90 MB for aeo-status).
    /// Larger queries (the invoice statements') keep the plain path. Answers whether any table
    /// was made.
    pub fn precompute_tables(&mut self) -> bool {
        self.queries.precompute()
    }

    /// The circuit.
    pub fn circuit(&self) -> CircuitId {
        self.circuit
    }

    /// The proving key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.vk
    }

    /// The arkworks proving key.
    pub fn arkworks(&self) -> &ark_groth16::ProvingKey<Bls12_381> {
        &self.pk
    }

    /// A Groth16 proof of `circuit` under this key, in ark-groth16's format, with fresh
    /// randomness from `rng`. It is the proof `ark_groth16::Groth16::prove` would make with the
    /// same randomness, computed with blst's multi-scalar multiplications (see the `groth16`
    /// module). It is not verified here; [`prove`] verifies every proof it returns.
    pub fn prove_circuit<C, R>(
        &self,
        circuit: C,
        rng: &mut R,
    ) -> Result<ark_groth16::Proof<Bls12_381>, ark_relations::gr1cs::SynthesisError>
    where
        C: ark_relations::gr1cs::ConstraintSynthesizer<ark_bls12_381::Fr>,
        R: RngCore + CryptoRng,
    {
        groth16::prove(&self.pk, &self.queries, &self.shape, circuit, rng)
    }
}

/// Checks a statement natively, then proves it and verifies the result.
pub fn prove<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    statement: &Statement,
    rng: &mut R,
) -> Result<ProofEnvelope, ProverError> {
    if statement.circuit() != pk.circuit {
        return Err(ProverError::MalformedWitness(format!(
            "witness is for {}, the key is for {}",
            statement.circuit(),
            pk.circuit
        )));
    }
    statement.check()?;
    let synth = |e: ark_relations::gr1cs::SynthesisError| ProverError::Synthesis(e.to_string());
    let (proof, public) = match statement {
        Statement::AeoStatus { public, private } => {
            let circuit = AeoStatusCircuit {
                public: public.clone(),
                private: private.clone(),
            };
            (
                pk.prove_circuit(circuit, rng).map_err(synth)?,
                PublicValues::AeoStatus(public.clone()),
            )
        }
        Statement::InvoiceValue {
            class,
            public,
            private,
        } => {
            let circuit = InvoiceValueCircuit {
                class: *class,
                public: public.clone(),
                private: private.clone(),
            };
            (
                pk.prove_circuit(circuit, rng).map_err(synth)?,
                PublicValues::InvoiceValue(public.clone()),
            )
        }
        Statement::DeclarationMatch {
            class,
            public,
            private,
        } => {
            let circuit = DeclarationMatchCircuit {
                class: *class,
                public: public.clone(),
                private: private.clone(),
            };
            (
                pk.prove_circuit(circuit, rng).map_err(synth)?,
                PublicValues::DeclarationMatch(public.clone()),
            )
        }
    };
    let envelope = ProofEnvelope {
        circuit: pk.circuit,
        vk_id: pk.vk.id(),
        public,
        proof,
    };
    pk.vk
        .verify(&envelope)
        .map_err(|_| ProverError::SelfCheck(pk.vk.id()))?;
    Ok(envelope)
}

/// The statement ids this prover knows.
pub const STATEMENTS: [&str; 3] = [aeo_status::ID, invoice_value::ID, declaration_match::ID];
