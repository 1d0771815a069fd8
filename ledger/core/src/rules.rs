//! The ledger's rules: what makes a transaction acceptable given the finalized state and the
//! transactions not yet finalized (pending blocks, the block being built, the mempool), and the
//! index writes a finalized block makes.
//!
//! Proof verification itself is not done here (it is the expensive part): callers verify each
//! proof on arrival and again, batched, when they validate a block.

use crate::store::{
    documents_prefix, roots_prefix, Batch, BlockHashes, Blocks, Claims, Digests, DocumentEntry,
    Documents, ExaminationEntry, Examinations, Finality, Meta, Nullifiers, Records, RegistryRoots,
    RootEntry, RootIndex, Store, StoreError, StoredBlock, Transactions, TxLocation, META_TIP,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use zkcustoms_circuits::declaration_match::DeclarationMatchPublic;
use zkcustoms_circuits::field::fr_to_be_bytes;
use zkcustoms_circuits::invoice_value::InvoiceValuePublic;
use zkcustoms_circuits::Fr;
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{sha256, DocumentKey, Hash, Transaction, Ucr};
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

/// Every rejection code, for documentation and metrics.
pub const REJECTION_CODES: &[&str] = &[
    "bad-signature",
    "unknown-authority",
    "unknown-office",
    "bad-sequence",
    "duplicate-root",
    "unknown-root",
    "stale-root",
    "as-of-day",
    "unpinned-key",
    "unanchored-digest",
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

/// The claim of a proof: statement, key and public values, without the proof bytes. Two proofs
/// with the same claim prove the same thing (one may be a re-randomised copy of the other).
pub fn claim_hash(envelope: &ProofEnvelope) -> Hash {
    let bytes = envelope.to_bytes();
    let mut msg = b"zkcustoms/claim/v1".to_vec();
    msg.extend_from_slice(&bytes[..bytes.len() - PROOF_LEN]);
    sha256(&msg)
}

/// The nullifier index key of an aeo-status proof.
pub fn nullifier_key(scope: &str, nullifier: &Fr) -> (Hash, Fr) {
    (sha256(scope.as_bytes()), *nullifier)
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
    digests: HashSet<(Hash, Ucr)>,
    examinations: HashSet<Ucr>,
}

impl Overlay {
    /// True when the overlay holds this transaction.
    pub fn contains_tx(&self, hash: &Hash) -> bool {
        self.tx_hashes.contains(hash)
    }

    /// Records a transaction's effects (it must have passed [`Rules::check`] against this overlay).
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
                self.digests.insert((t.digest, t.ucr.clone()));
            }
            Transaction::SubmitProof(t) => {
                self.claims.insert(claim_hash(&t.envelope));
                if let PublicValues::AeoStatus(p) = &t.envelope.public {
                    let (s, n) = nullifier_key(&p.scope, &p.nullifier);
                    self.nullifiers.insert((s, fr_to_be_bytes(&n)));
                }
            }
            Transaction::MarkExamination(t) => {
                self.examinations.insert(t.ucr.clone());
            }
        }
    }
}

/// The rules of a ledger: its genesis and its store.
pub struct Rules<'a> {
    /// The genesis.
    pub genesis: &'a Genesis,
    /// The finalized state.
    pub store: &'a Store,
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

impl Rules<'_> {
    /// Checks a transaction against the finalized state plus an overlay, at a block time. Proofs
    /// are not verified here.
    pub fn check(
        &self,
        tx: &Transaction,
        overlay: &Overlay,
        time_ms: u64,
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
        let chain = &self.genesis.chain_id;
        match tx {
            Transaction::PublishRoot(t) => {
                let key = self.genesis.authorities.get(&t.authority).ok_or_else(|| {
                    Rejection::new(
                        "unknown-authority",
                        format!("authority {:?} is not listed in genesis", t.authority),
                    )
                })?;
                if !t.verify_signature(chain, key) {
                    return Err(Rejection::new(
                        "bad-signature",
                        format!("the signature is not {}'s over this root", t.authority),
                    )
                    .into());
                }
                let latest = self
                    .latest_root(&t.authority, overlay)?
                    .map_or(0, |(s, _)| s);
                if t.sequence != latest + 1 {
                    return Err(Rejection::new(
                        "bad-sequence",
                        format!(
                            "{}'s next root must have sequence {}, got {}",
                            t.authority,
                            latest + 1,
                            t.sequence
                        ),
                    )
                    .into());
                }
                if self
                    .root_sequence(&t.authority, &t.root, overlay)?
                    .is_some()
                {
                    return Err(Rejection::new(
                        "duplicate-root",
                        "this root was already published by the authority",
                    )
                    .into());
                }
            }
            Transaction::AnchorDocument(t) => {
                self.refuse_examined(&t.ucr, overlay)?;
                let latest = self.latest_version(&t.ucr, &t.doc_type, overlay)?;
                if t.version != latest + 1 {
                    let msg = if latest == 0 {
                        format!(
                            "no {} is anchored for {} yet: the first version is 1",
                            t.doc_type, t.ucr
                        )
                    } else {
                        format!(
                            "the latest {} of {} is version {latest}: a new version must be {} \
                             and supersede {latest}",
                            t.doc_type,
                            t.ucr,
                            latest + 1
                        )
                    };
                    return Err(Rejection::new("version-conflict", msg).into());
                }
            }
            Transaction::SubmitProof(t) => {
                let env = &t.envelope;
                match self.genesis.pinned.get(&env.circuit) {
                    Some(id) if *id == env.vk_id => {}
                    _ => {
                        return Err(Rejection::new(
                            "unpinned-key",
                            format!(
                                "verifying key {} for {} is not pinned in genesis",
                                env.vk_id, env.circuit
                            ),
                        )
                        .into())
                    }
                }
                let claim = claim_hash(env);
                if overlay.claims.contains(&claim) || self.store.contains::<Claims>(&claim)? {
                    return Err(Rejection::new(
                        "duplicate-proof",
                        "a proof of the same statement with the same public values is already \
                         accepted (proof bytes do not make a proof new)",
                    )
                    .into());
                }
                match &env.public {
                    PublicValues::AeoStatus(p) => {
                        if !self.genesis.authorities.contains_key(&p.authority) {
                            return Err(Rejection::new(
                                "unknown-authority",
                                format!("authority {:?} is not listed in genesis", p.authority),
                            )
                            .into());
                        }
                        self.check_root(&p.authority, &p.registry_root, overlay, time_ms)?;
                        if let Some(tol) = self.genesis.params().as_of_tolerance_days {
                            let day = time_ms / DAY_MS;
                            let as_of = u64::from(p.as_of.days());
                            if as_of.abs_diff(day) > u64::from(tol) {
                                return Err(Rejection::new(
                                    "as-of-day",
                                    format!(
                                        "the proof is for {}, more than {tol} day(s) from the \
                                         ledger's day",
                                        p.as_of
                                    ),
                                )
                                .into());
                            }
                        }
                        let (s, n) = nullifier_key(&p.scope, &p.nullifier);
                        if overlay.nullifiers.contains(&(s, fr_to_be_bytes(&n)))
                            || self.store.contains::<Nullifiers>(&(s, n))?
                        {
                            return Err(Rejection::new(
                                "nullifier-used",
                                format!(
                                    "this certificate was already presented in scope {:?}",
                                    p.scope
                                ),
                            )
                            .into());
                        }
                    }
                    PublicValues::InvoiceValue(InvoiceValuePublic { digest, .. })
                    | PublicValues::DeclarationMatch(DeclarationMatchPublic { digest, .. }) => {
                        let key = (*digest, t.ucr.clone());
                        if !overlay.digests.contains(&key)
                            && !self.store.contains::<Digests>(&key)?
                        {
                            return Err(Rejection::new(
                                "unanchored-digest",
                                format!(
                                    "{}: invoice digest {} is not anchored for {}",
                                    env.circuit.statement(),
                                    hex::encode(digest),
                                    t.ucr
                                ),
                            )
                            .into());
                        }
                    }
                    _ => {
                        return Err(Rejection::new(
                            "malformed-proof",
                            "statement not accepted by this ledger",
                        )
                        .into())
                    }
                }
            }
            Transaction::MarkExamination(t) => {
                let key = self.genesis.offices.get(&t.office).ok_or_else(|| {
                    Rejection::new(
                        "unknown-office",
                        format!("customs office {:?} is not listed in genesis", t.office),
                    )
                })?;
                if !t.verify_signature(chain, key) {
                    return Err(Rejection::new(
                        "bad-signature",
                        format!("the signature is not office {}'s for {}", t.office, t.ucr),
                    )
                    .into());
                }
                if overlay.examinations.contains(&t.ucr)
                    || self.store.contains::<Examinations>(&t.ucr)?
                {
                    return Err(Rejection::new(
                        "already-under-examination",
                        format!("{} is already under examination", t.ucr),
                    )
                    .into());
                }
            }
        }
        Ok(())
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

    /// The latest root of an authority: its sequence and root.
    pub fn latest_root(
        &self,
        authority: &str,
        overlay: &Overlay,
    ) -> Result<Option<(u64, Fr)>, StoreError> {
        if let Some((seq, (root, _))) = overlay
            .roots
            .get(authority)
            .and_then(|m| m.last_key_value())
        {
            return Ok(Some((*seq, *root)));
        }
        Ok(self
            .store
            .last_with_prefix::<RegistryRoots>(&roots_prefix(authority))?
            .map(|((_, seq), e)| (seq, e.root)))
    }

    fn root_sequence(
        &self,
        authority: &str,
        root: &Fr,
        overlay: &Overlay,
    ) -> Result<Option<u64>, StoreError> {
        if let Some(m) = overlay.roots.get(authority) {
            if let Some((seq, _)) = m.iter().find(|(_, (r, _))| r == root) {
                return Ok(Some(*seq));
            }
        }
        self.store.get::<RootIndex>(&(authority.to_owned(), *root))
    }

    fn root_timestamp(
        &self,
        authority: &str,
        seq: u64,
        overlay: &Overlay,
    ) -> Result<Option<u64>, StoreError> {
        if let Some((_, ts)) = overlay.roots.get(authority).and_then(|m| m.get(&seq)) {
            return Ok(Some(*ts));
        }
        Ok(self
            .store
            .get::<RegistryRoots>(&(authority.to_owned(), seq))?
            .map(|e| e.timestamp_ms))
    }

    /// A root is acceptable when it is the authority's latest, or was superseded less than the
    /// grace window ago.
    fn check_root(
        &self,
        authority: &str,
        root: &Fr,
        overlay: &Overlay,
        time_ms: u64,
    ) -> Result<(), CheckError> {
        let short = || hex::encode(&fr_to_be_bytes(root)[..8]);
        let seq = self
            .root_sequence(authority, root, overlay)?
            .ok_or_else(|| {
                Rejection::new(
                    "unknown-root",
                    format!(
                        "registry root {}… was never published by {authority}",
                        short()
                    ),
                )
            })?;
        let latest = self.latest_root(authority, overlay)?.map_or(0, |(s, _)| s);
        if seq == latest {
            return Ok(());
        }
        let superseded_at = self
            .root_timestamp(authority, seq + 1, overlay)?
            .unwrap_or(time_ms);
        let grace_ms = self
            .genesis
            .params()
            .root_grace_seconds
            .saturating_mul(1000);
        if time_ms.saturating_sub(superseded_at) > grace_ms {
            return Err(Rejection::new(
                "stale-root",
                format!(
                    "registry root {}… of {authority} was superseded by sequence {} more than \
                     {} s ago",
                    short(),
                    seq + 1,
                    self.genesis.params().root_grace_seconds
                ),
            )
            .into());
        }
        Ok(())
    }
}

/// The writes that record a finalized block and every index it changes, with the new tip.
pub fn block_batch(block: &Block, finality: Finality) -> Batch {
    let mut b = Batch::new();
    let h = &block.header;
    let hash = block.hash();
    for (i, tx) in block.txs.iter().enumerate() {
        let loc = TxLocation {
            height: h.height,
            index: i as u32,
        };
        b.put::<Transactions>(&tx.hash(), &loc);
        if let Some(ucr) = tx.ucr() {
            b.put::<Records>(&(ucr.clone(), loc), tx);
        }
        match tx {
            Transaction::PublishRoot(t) => {
                b.put::<RegistryRoots>(
                    &(t.authority.clone(), t.sequence),
                    &RootEntry {
                        root: t.root,
                        height: h.height,
                        timestamp_ms: h.timestamp_ms,
                    },
                );
                b.put::<RootIndex>(&(t.authority.clone(), t.root), &t.sequence);
            }
            Transaction::AnchorDocument(t) => {
                b.put::<Documents>(
                    &DocumentKey {
                        ucr: t.ucr.clone(),
                        doc_type: t.doc_type.clone(),
                        version: t.version,
                    },
                    &DocumentEntry {
                        digest: t.digest,
                        reference: t.reference.clone(),
                        location: loc,
                    },
                );
                b.put::<Digests>(&(t.digest, t.ucr.clone()), &(t.doc_type.clone(), t.version));
            }
            Transaction::SubmitProof(t) => {
                b.put::<Claims>(&claim_hash(&t.envelope), &loc);
                if let PublicValues::AeoStatus(p) = &t.envelope.public {
                    b.put::<Nullifiers>(&nullifier_key(&p.scope, &p.nullifier), &loc);
                }
            }
            Transaction::MarkExamination(t) => {
                b.put::<Examinations>(
                    &t.ucr,
                    &ExaminationEntry {
                        office: t.office.clone(),
                        location: loc,
                        timestamp_ms: h.timestamp_ms,
                    },
                );
            }
        }
    }
    b.put::<Blocks>(
        &h.height,
        &StoredBlock {
            block: block.clone(),
            finality,
        },
    );
    b.put::<BlockHashes>(&hash, &h.height);
    b.put::<Meta>(&META_TIP, &Store::tip_value(h.height, &hash));
    b
}
