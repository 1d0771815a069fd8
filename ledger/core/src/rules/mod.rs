//! The ledger's rules: what makes a transaction acceptable given the finalized state and the
//! transactions not yet finalized (pending blocks, the block being built, the mempool), and the
//! index writes a finalized block makes.
//!
//! Every transaction is first checked for its signer: the key of the authority or office listed
//! in genesis, or the current key of the registered trader ([`parties`]), must have signed it on
//! this ledger. Then the rules of its kind apply: registry roots ([`roots`]), documents and
//! consignment ownership, proofs and the context they are bound to ([`proofs`]), examinations,
//! traders' keys and delegations.
//!
//! Proof verification itself is not done here (it is the expensive part): callers verify each
//! proof on arrival and again, batched, when they validate a block.

mod batch;
mod parties;
mod proofs;
mod roots;

pub use batch::{block_batch, chain_batch};
pub use parties::{signature_refused, signature_refused_by};
pub use proofs::INVOICE_DOC_TYPE;

use crate::store::{
    documents_prefix, Documents, Examinations, Snapshot, State, Store, StoreError, Transactions,
};
use crate::verdicts::Verified;
use std::collections::{BTreeMap, HashMap, HashSet};
use zkcustoms_circuits::field::fr_to_be_bytes;
use zkcustoms_circuits::Fr;
use zkcustoms_ledger_types::crypto::PublicKey;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{sha256, Eori, Hash, Transaction, Ucr};
use zkcustoms_verifier::envelope::PROOF_LEN;
use zkcustoms_verifier::{ProofEnvelope, PublicValues};

/// Why a transaction is refused: a stable code (what the API answers as `error`) and a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// Stable, machine-readable reason.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl Rejection {
    /// A rejection.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The refusal of an anchor or a proof by a trader that is neither the consignment's owner nor
/// one of its delegates (given only once every other rule passes).
pub const NOT_OWNER: &str = "not-owner";

/// Every rejection code, for documentation and metrics.
pub const REJECTION_CODES: &[&str] = &[
    "bad-signature",
    "unknown-authority",
    "unknown-office",
    "unknown-party",
    "revoked-key",
    "wrong-party-key",
    "already-registered",
    "wrong-administration",
    "not-owner",
    "bad-sequence",
    "duplicate-root",
    "unknown-root",
    "stale-root",
    "as-of-day",
    "wrong-scope",
    "unpinned-key",
    "unanchored-digest",
    "not-an-invoice",
    "superseded-digest",
    "nullifier-used",
    "duplicate-proof",
    "duplicate-transaction",
    "under-examination",
    "already-under-examination",
    "version-conflict",
    "invalid-proof",
    "malformed-proof",
];

/// Milliseconds in a day.
const DAY_MS: u64 = 86_400_000;

/// The claim of a proof filed under a consignment: the UCR, statement, key and public values,
/// without the proof bytes. Two proofs with the same claim prove the same thing about the same
/// consignment (one may be a re-randomised copy of the other).
pub fn claim_hash(ucr: &Ucr, envelope: &ProofEnvelope) -> Hash {
    let bytes = envelope.to_bytes();
    let mut msg = b"zkcustoms/claim/v2".to_vec();
    msg.extend_from_slice(&(ucr.as_str().len() as u16).to_be_bytes());
    msg.extend_from_slice(ucr.as_str().as_bytes());
    msg.extend_from_slice(&bytes[..bytes.len() - PROOF_LEN]);
    sha256(&msg)
}

/// The nullifier index key of an aeo-status proof.
pub fn nullifier_key(scope: &str, nullifier: &Fr) -> (Hash, Fr) {
    (sha256(scope.as_bytes()), *nullifier)
}

/// A trader's key as the overlay holds it: its latest sequence, the key (`None` once revoked)
/// and the office that made the change.
#[derive(Clone, Debug)]
struct TraderKey {
    sequence: u32,
    key: Option<PublicKey>,
    office: String,
}

/// The effects of transactions that are not finalized yet, layered over the store.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    tx_hashes: HashSet<Hash>,
    nullifiers: HashSet<(Hash, [u8; 32])>,
    claims: HashSet<Hash>,
    /// Roots published, per authority: sequence → (root, timestamp).
    roots: BTreeMap<String, BTreeMap<u64, (Fr, u64)>>,
    documents: HashMap<(Ucr, String), u32>,
    /// Anchored digests: (digest, UCR) → (document type, version).
    digests: HashMap<(Hash, Ucr), (String, u32)>,
    examinations: HashSet<Ucr>,
    trader_keys: HashMap<Eori, TraderKey>,
    owners: HashMap<Ucr, Eori>,
    /// Delegations: (owner, delegate) → (sequence, active).
    delegations: HashMap<(Eori, Eori), (u32, bool)>,
}

impl Overlay {
    /// True when the overlay holds this transaction.
    pub fn contains_tx(&self, hash: &Hash) -> bool {
        self.tx_hashes.contains(hash)
    }

    /// The first pending trader write under a consignment: its owner when the store names none
    /// ([`Rules::owner`] reads the store first), since the rules let later writes through only
    /// for the owner or a delegate.
    fn bind(&mut self, ucr: &Ucr, trader: &Eori) {
        self.owners
            .entry(ucr.clone())
            .or_insert_with(|| trader.clone());
    }

    /// Records a transaction's effects (it must have passed [`Rules::check`] against this overlay
    /// and the same store).
    pub fn apply(&mut self, tx: &Transaction, timestamp_ms: u64) {
        self.tx_hashes.insert(tx.hash());
        match tx {
            Transaction::PublishRoot(t) => {
                self.roots
                    .entry(t.authority.clone())
                    .or_default()
                    .insert(t.sequence, (t.root, timestamp_ms));
            }
            Transaction::AnchorDocument(t) => {
                self.documents
                    .insert((t.ucr.clone(), t.doc_type.clone()), t.version);
                self.digests
                    .insert((t.digest, t.ucr.clone()), (t.doc_type.clone(), t.version));
                self.bind(&t.ucr, &t.trader);
            }
            Transaction::SubmitProof(t) => {
                self.bind(&t.ucr, &t.trader);
                self.claims.insert(claim_hash(&t.ucr, &t.envelope));
                if let PublicValues::AeoStatus(p) = &t.envelope.public {
                    let (s, n) = nullifier_key(&p.scope, &p.nullifier);
                    self.nullifiers.insert((s, fr_to_be_bytes(&n)));
                }
            }
            Transaction::MarkExamination(t) => {
                self.examinations.insert(t.ucr.clone());
            }
            Transaction::RegisterTrader(t) => {
                let key = TraderKey {
                    sequence: 1,
                    key: Some(t.public_key.clone()),
                    office: t.office.clone(),
                };
                self.trader_keys.insert(t.trader.clone(), key);
            }
            Transaction::RotateTraderKey(t) => {
                let key = TraderKey {
                    sequence: t.sequence,
                    key: Some(t.public_key.clone()),
                    office: t.office.clone(),
                };
                self.trader_keys.insert(t.trader.clone(), key);
            }
            Transaction::RevokeTrader(t) => {
                let key = TraderKey {
                    sequence: t.sequence,
                    key: None,
                    office: t.office.clone(),
                };
                self.trader_keys.insert(t.trader.clone(), key);
            }
            Transaction::Delegate(t) => {
                self.delegations.insert(
                    (t.owner.clone(), t.delegate.clone()),
                    (t.sequence, t.active),
                );
            }
        }
    }
}

/// Transaction signatures queued to be verified together (Ed25519 batch verification with
/// random coefficients, [`commonware_cryptography::BatchVerifier`]). Batch and single
/// verification accept exactly the same signatures (ZIP 215 rules, as in `ed25519-consensus`),
/// so a batch that verifies means each of its signatures does.
pub struct SignatureBatch {
    batch: commonware_cryptography::ed25519::Batch,
    /// The key of each queued signature, in order: what a caller needs to find the bad ones
    /// when the batch fails.
    keys: Vec<PublicKey>,
}

impl SignatureBatch {
    /// An empty batch with room for `capacity` signatures.
    pub fn new(capacity: usize) -> Self {
        use commonware_cryptography::BatchVerifier;
        Self {
            batch: commonware_cryptography::ed25519::Batch::new(capacity),
            keys: Vec::with_capacity(capacity),
        }
    }

    /// Queues `tx`'s signature by `key` on the ledger `chain_id`.
    pub fn add(&mut self, tx: &Transaction, chain_id: &Hash, key: &PublicKey) {
        use commonware_cryptography::BatchVerifier;
        // `add` refuses nothing (it only queues): a bad signature fails `verify`.
        let _ = self.batch.add(
            tx.namespace(),
            &tx.signed_message(chain_id),
            key,
            tx.signature(),
        );
        self.keys.push(key.clone());
    }

    /// How many signatures are queued.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key each queued signature was queued with, in order.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// True when every queued signature verifies (an empty batch does).
    pub fn verify(self) -> bool {
        use commonware_cryptography::BatchVerifier;
        if self.keys.is_empty() {
            return true;
        }
        // The random coefficients come from the operating system: a proposer cannot choose
        // signatures that cancel out.
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        let mut rng = <rand_chacha_10::ChaCha20Rng as rand_core_10::SeedableRng>::from_seed(seed);
        self.batch
            .verify(&mut rng, &commonware_parallel::Sequential)
    }
}

/// The rules of a ledger: its genesis and its store.
pub struct Rules<'a> {
    /// The genesis.
    pub genesis: &'a Genesis,
    /// The finalized state: the database as it is, or as of a snapshot.
    pub store: State<'a>,
    /// Signatures verified before, skipped when met again; a signature verified here is
    /// remembered (`None`: every signature is verified, as the audit does).
    pub signatures: Option<&'a Verified>,
}

/// Where a rule check fails: a rejection, or the store failing.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The transaction breaks a rule.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<'a> Rules<'a> {
    /// The rules of the ledger of `genesis` over `store`, verifying every signature.
    pub fn new(genesis: &'a Genesis, store: &'a Store) -> Self {
        Self {
            genesis,
            store: State::Live(store),
            signatures: None,
        }
    }

    /// These rules, reading the finalized state as of `snapshot`.
    pub fn as_of(self, snapshot: &'a Snapshot<'a>) -> Self {
        Self {
            store: State::At(snapshot),
            ..self
        }
    }

    /// These rules, skipping the signatures remembered in `verdicts` and remembering those
    /// they verify ([`crate::verdicts`]).
    pub fn remembering_signatures(self, verdicts: &'a Verified) -> Self {
        Self {
            signatures: Some(verdicts),
            ..self
        }
    }

    /// Checks a transaction against the finalized state plus an overlay, at a block time: not a
    /// duplicate, signed by its signer's current key on this ledger, and within the rules of its
    /// kind. Proofs are not verified here.
    pub fn check(
        &self,
        tx: &Transaction,
        overlay: &Overlay,
        time_ms: u64,
    ) -> Result<(), CheckError> {
        self.check_with(tx, overlay, time_ms, None)
    }

    /// [`Rules::check`], except that the signature is queued in `batch` rather than checked:
    /// the transaction passes every other rule, and passes them all once `batch` verifies.
    pub fn check_deferring_signature(
        &self,
        tx: &Transaction,
        overlay: &Overlay,
        time_ms: u64,
        batch: &mut SignatureBatch,
    ) -> Result<(), CheckError> {
        self.check_with(tx, overlay, time_ms, Some(batch))
    }

    fn check_with(
        &self,
        tx: &Transaction,
        overlay: &Overlay,
        time_ms: u64,
        batch: Option<&mut SignatureBatch>,
    ) -> Result<(), CheckError> {
        let hash = tx.hash();
        if overlay.contains_tx(&hash) || self.store.contains::<Transactions>(&hash)? {
            return Err(Rejection::new(
                "duplicate-transaction",
                format!(
                    "transaction {} is already on the ledger or pending",
                    hex::encode(hash)
                ),
            )
            .into());
        }
        self.check_signer(tx, &hash, overlay, batch)?;
        match tx {
            Transaction::PublishRoot(t) => self.check_publish_root(t, overlay),
            // A trader that may not write under an owned consignment is checked as if the UCR
            // were unused and told `not-owner` only when nothing else refuses it, so that no
            // refusal tells another trader whether a UCR is in use (docs/privacy.md); only a
            // valid first write, which would claim the UCR, is answered differently.
            Transaction::AnchorDocument(t) => {
                let outsider = self.outsider(&t.ucr, &t.trader, overlay)?;
                if outsider.is_none() {
                    self.refuse_examined(&t.ucr, overlay)?;
                }
                let latest = match outsider {
                    Some(_) => 0,
                    None => self.latest_version(&t.ucr, &t.doc_type, overlay)?,
                };
                // A hostile store an auditor replays may hold the last version there is.
                let Some(next) = latest.checked_add(1) else {
                    return Err(Rejection::new(
                        "version-conflict",
                        format!("{} of {} has no version after {latest}", t.doc_type, t.ucr),
                    )
                    .into());
                };
                if t.version != next {
                    let msg = if latest == 0 {
                        format!(
                            "version {} cannot come first: the first {} of {} is version 1",
                            t.version, t.doc_type, t.ucr
                        )
                    } else {
                        format!(
                            "the latest {} of {} is version {latest}: a new version must be \
                             {next} and supersede {latest}",
                            t.doc_type, t.ucr
                        )
                    };
                    return Err(Rejection::new("version-conflict", msg).into());
                }
                outsider.map_or(Ok(()), |r| Err(r.into()))
            }
            // (At admission an outsider's proof is verified before it is told `not-owner`, as
            // a proof under an unused UCR would be.)
            Transaction::SubmitProof(t) => {
                let outsider = self.outsider(&t.ucr, &t.trader, overlay)?;
                self.check_proof(t, overlay, time_ms, outsider.is_some())?;
                outsider.map_or(Ok(()), |r| Err(r.into()))
            }
            Transaction::MarkExamination(t) => {
                if overlay.examinations.contains(&t.ucr)
                    || self.store.contains::<Examinations>(&t.ucr)?
                {
                    return Err(Rejection::new(
                        "already-under-examination",
                        format!("{} is already under examination", t.ucr),
                    )
                    .into());
                }
                Ok(())
            }
            Transaction::RegisterTrader(_)
            | Transaction::RotateTraderKey(_)
            | Transaction::RevokeTrader(_) => self.check_trader_key_change(tx, overlay),
            Transaction::Delegate(t) => self.check_delegation(t, overlay),
        }
    }

    fn refuse_examined(&self, ucr: &Ucr, overlay: &Overlay) -> Result<(), CheckError> {
        let examined = if overlay.examinations.contains(ucr) {
            Some("pending".to_string())
        } else {
            self.store
                .get::<Examinations>(ucr)?
                .map(|e| format!("office {}, block {}", e.office, e.location.height))
        };
        match examined {
            Some(by) => Err(Rejection::new(
                "under-examination",
                format!(
                    "{ucr} is under examination ({by}): no new version is accepted \
                     (RKC General Annex Standard 3.27)"
                ),
            )
            .into()),
            None => Ok(()),
        }
    }

    /// Latest version of a document type under a consignment (0 when none).
    pub fn latest_version(
        &self,
        ucr: &Ucr,
        doc_type: &str,
        overlay: &Overlay,
    ) -> Result<u32, StoreError> {
        if let Some(v) = overlay.documents.get(&(ucr.clone(), doc_type.to_owned())) {
            return Ok(*v);
        }
        Ok(self
            .store
            .last_with_prefix::<Documents>(&documents_prefix(ucr, doc_type))?
            .map_or(0, |(k, _)| k.version))
    }
}
