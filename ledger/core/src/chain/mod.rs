//! The node's ledger core: admission of transactions into a bounded mempool (rules checked, proof
//! verified), building and validating blocks for consensus (rules re-checked, proofs verified
//! again in a batch), and applying finalized blocks to the store in one synced batch each.
//!
//! Every method here may block (RocksDB, pairings): async callers run them on blocking threads.

use crate::metrics::Metrics;
use crate::rules::{CheckError, Overlay, Rejection, Rules};
use crate::store::{Finality, PendingBlocks, Store, StoreError, TxLocation, VerifyingKeys};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use zkcustoms_circuits::aeo_status::AeoStatusPublic;
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{Hash, SignerKind, Transaction};

mod arrivals;
mod blocks;
mod mempool;

use crate::verdicts::Verified;
pub use crate::verdicts::DEFAULT_CAPACITY as VERDICT_CACHE;
use arrivals::Arrivals;
pub use arrivals::MAX_BATCH as ARRIVAL_BATCH;

pub use blocks::{BlockError, HeldBlock};
pub use mempool::Screened;
use tokio::sync::{watch, Notify};
use zkcustoms_verifier::{KeyDir, VerifierKeys, VerifyingKey};

/// Milliseconds since the Unix epoch on this machine's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How far in the future a block's timestamp may be, in milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 10_000;

/// How far behind this node's clock the timestamp of a block it votes for may be, in
/// milliseconds: the clock skew allowed ([`MAX_CLOCK_SKEW_MS`]) plus the longest a proposal takes
/// to reach a validator and be verified (a vote waits at most a few leader timeouts of seconds),
/// with room to spare.
pub const MAX_PROPOSAL_AGE_MS: u64 = 30_000;

/// Limits of the mempool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolLimits {
    /// Most transactions waiting.
    pub max_txs: usize,
    /// Most bytes (canonical encodings) waiting.
    pub max_bytes: usize,
    /// Most transactions waiting that one party signed (an authority, an office or a trader):
    /// no party can fill the mempool and keep the others out.
    pub max_party_txs: usize,
    /// Most bytes waiting that one party signed.
    pub max_party_bytes: usize,
    /// Most rejection verdicts remembered for status queries.
    pub max_rejected: usize,
}

impl MempoolLimits {
    /// Room for `max_txs` transactions and 16 MiB, a quarter of each for any one party, and
    /// 100,000 rejection verdicts remembered.
    pub fn with_max_txs(max_txs: usize) -> Self {
        const MAX_BYTES: usize = 16 << 20;
        Self {
            max_txs,
            max_bytes: MAX_BYTES,
            max_party_txs: max_txs.div_ceil(4),
            max_party_bytes: MAX_BYTES.div_ceil(4),
            max_rejected: 100_000,
        }
    }
}

impl Default for MempoolLimits {
    /// 10,000 transactions and 16 MiB; 2,500 transactions and 4 MiB for any one party.
    fn default() -> Self {
        Self::with_max_txs(10_000)
    }
}

/// Why the node could not start or continue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A verifying key is missing or does not match genesis.
    #[error("verifying keys: {0}")]
    Keys(String),
    /// A block consensus finalized is not known locally.
    #[error("finalized block {0} is not known to this node")]
    UnknownBlock(String),
}

/// Why a submission was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// It breaks a rule (the API answers 422 with the code).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The mempool is full (the API answers 503).
    #[error("the mempool is full ({0} transactions waiting): retry later")]
    Full(usize),
    /// The party that signed it has its share of the mempool waiting already (the API answers
    /// 429).
    #[error(
        "{party} has {waiting} transactions ({bytes} bytes) waiting, its share of the mempool: \
         retry once some are finalized"
    )]
    PartyFull {
        /// The signing party's id.
        party: String,
        /// Its transactions waiting.
        waiting: usize,
        /// Their bytes.
        bytes: usize,
    },
    /// The node failed (the API answers 500).
    #[error(transparent)]
    Internal(#[from] StoreError),
}

impl SubmitError {
    /// The refusal's code, as the metrics count it and the API answers it (`None`: the node
    /// failed).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            SubmitError::Rejected(r) => Some(r.code),
            SubmitError::Full(_) => Some("mempool-full"),
            SubmitError::PartyFull { .. } => Some("party-share"),
            SubmitError::Internal(_) => None,
        }
    }
}

impl From<CheckError> for SubmitError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Rejected(r) => SubmitError::Rejected(r),
            CheckError::Store(s) => SubmitError::Internal(s),
        }
    }
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Finalized in a block.
    Included {
        /// Its location.
        location: TxLocation,
        /// The block's hash.
        block: Hash,
    },
    /// Waiting in the mempool.
    Pending,
    /// Refused after it was accepted into the mempool (or on submission).
    Rejected {
        /// Why: its message may name a UCR, an office or digests, so it is for the signer,
        /// customs and auditors only (docs/privacy.md).
        why: Rejection,
        /// Who the transaction says signed it: its kind of party and id.
        signer: PartyKey,
    },
    /// Never seen (or forgotten).
    Unknown,
}

struct Entry {
    tx: Transaction,
    size: usize,
    received_ms: u64,
}

/// A signing party, as the mempool counts its share and a refusal remembers its signer: the kind
/// of party (authority, office, trader) and its id.
pub type PartyKey = (SignerKind, String);

fn party_key(tx: &Transaction) -> PartyKey {
    let signer = tx.signer();
    (signer.kind(), signer.id().to_owned())
}

/// What one party's transactions take of the mempool.
#[derive(Clone, Copy, Debug, Default)]
struct Share {
    txs: usize,
    bytes: usize,
}

#[derive(Default)]
struct Pool {
    order: VecDeque<Hash>,
    txs: HashMap<Hash, Entry>,
    bytes: usize,
    by_party: HashMap<PartyKey, Share>,
    overlay: Overlay,
    rejected: HashMap<Hash, (Rejection, PartyKey)>,
    rejected_order: VecDeque<Hash>,
    pending_blocks: HashMap<Hash, Pending>,
    /// The height of the descendant whose certificate finalizes the stored tip, when catching
    /// up applied part of a run under a certificate ([`Chain::finalize_under`]): a finalization
    /// by another certificate first renames the run's blocks to name its certified block, so
    /// that no block names one that no certificate of its own finalizes.
    awaited: Option<u64>,
}

/// A pending block, with its canonical bytes: what a peer that missed its proposal is sent, and
/// what this validator broadcasts when it proposed it, never encoded again (a request beyond the
/// peer's budget is answered from the length alone, nothing copied or encoded).
pub(super) struct Pending {
    pub(super) block: Block,
    pub(super) bytes: Arc<[u8]>,
}

impl Pending {
    pub(super) fn new(block: Block) -> Self {
        let bytes = block.to_bytes().into();
        Self { block, bytes }
    }
}

impl Pool {
    fn reject(&mut self, hash: Hash, why: Rejection, signer: PartyKey, max: usize) {
        if self.rejected.insert(hash, (why, signer)).is_none() {
            self.rejected_order.push_back(hash);
        }
        while self.rejected_order.len() > max {
            if let Some(old) = self.rejected_order.pop_front() {
                self.rejected.remove(&old);
            }
        }
    }
}

/// The ledger core of a node.
pub struct Chain {
    genesis: Genesis,
    store: Store,
    keys: VerifierKeys,
    proposer: [u8; 32],
    limits: MempoolLimits,
    pool: Mutex<Pool>,
    tip: watch::Sender<(u64, Hash)>,
    new_tx: Notify,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
    gossip: Mutex<Option<futures::channel::mpsc::UnboundedSender<Transaction>>>,
    /// Transactions whose proofs this node has verified (each proof verified once per node).
    verified: Verified,
    /// Transaction signatures this node has verified, by [`crate::verdicts::signature_digest`]
    /// (each signature verified once per node and key).
    signatures: Verified,
    /// Proofs arriving at the same time, verified together.
    arrivals: Arrivals,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &hex::encode(self.genesis.chain_id))
            .finish()
    }
}

/// Loads the pinned verifying keys: from the store when it has them, otherwise from a key
/// directory (checked against the ids pinned in genesis) and then stored.
fn load_keys(
    genesis: &Genesis,
    store: &Store,
    keydir: Option<&Path>,
) -> Result<VerifierKeys, ChainError> {
    let mut keys = VerifierKeys::default();
    let mut missing = Vec::new();
    for (circuit, id) in &genesis.pinned {
        match store.get::<VerifyingKeys>(&id.0)? {
            Some((c, bytes)) if c == *circuit => {
                let key = VerifyingKey::from_bytes(c, &bytes)
                    .map_err(|e| ChainError::Keys(format!("stored key for {c}: {e}")))?;
                if key.id() != *id {
                    return Err(ChainError::Keys(format!(
                        "stored key for {c} has another id"
                    )));
                }
                keys.insert(key);
            }
            _ => missing.push((*circuit, *id)),
        }
    }
    // Development keys serve a development genesis only, checked at each start (a key
    // directory that no longer opens matters only while keys are missing).
    let opened = keydir.map(KeyDir::open);
    if let Some(Ok(kd)) = &opened {
        genesis
            .check_key_dir(kd)
            .map_err(|e| ChainError::Keys(e.to_string()))?;
    }
    if missing.is_empty() {
        return Ok(keys);
    }
    let kd = opened
        .ok_or_else(|| {
            ChainError::Keys(format!(
                "{} pinned verifying key(s) are not in the database yet: give the key directory",
                missing.len()
            ))
        })?
        .map_err(|e| ChainError::Keys(e.to_string()))?;
    let mut batch = crate::store::Batch::new();
    for (circuit, id) in missing {
        let key = kd
            .verifying_key(circuit)
            .map_err(|e| ChainError::Keys(format!("{circuit}: {e}")))?;
        if key.id() != id {
            return Err(ChainError::Keys(format!(
                "the key directory's key for {circuit} is {}, genesis pins {id}",
                key.id()
            )));
        }
        batch.put::<VerifyingKeys>(
            &id.0,
            &(circuit, VerifyingKey::canonical_bytes(key.arkworks())),
        );
        keys.insert(key);
    }
    store.write(batch, true)?;
    Ok(keys)
}

impl Chain {
    /// Opens the ledger core over a store: binds the store to the genesis, loads the pinned
    /// verifying keys, and reloads the blocks that were pending when the node stopped.
    pub fn open(
        genesis: Genesis,
        store: Store,
        keydir: Option<&Path>,
        proposer: [u8; 32],
        limits: MempoolLimits,
    ) -> Result<Self, ChainError> {
        store.bind_chain(&genesis.chain_id)?;
        let keys = load_keys(&genesis, &store, keydir)?;
        let tip = store.tip()?.unwrap_or((0, genesis.chain_id));
        let mut pool = Pool::default();
        if let Some(stored) = store.raw_block(tip.0)? {
            if let Finality::Descendant(awaited) = stored.finality {
                pool.awaited = Some(awaited);
            }
        }
        let mut stale = crate::store::Batch::new();
        for (hash, block) in store.scan_prefix::<PendingBlocks>(&[], usize::MAX)? {
            if block.header.height > tip.0 {
                pool.pending_blocks.insert(hash, Pending::new(block));
            } else {
                stale.delete::<PendingBlocks>(&hash);
            }
        }
        if !stale.is_empty() {
            store.write(stale, true)?;
        }
        let metrics = Metrics::default();
        metrics.set_height(tip.0);
        Ok(Self {
            genesis,
            store,
            keys,
            proposer,
            limits,
            pool: Mutex::new(pool),
            tip: watch::channel(tip).0,
            new_tx: Notify::new(),
            clock: Box::new(now_ms),
            gossip: Mutex::new(None),
            verified: Verified::new(VERDICT_CACHE),
            signatures: Verified::new(VERDICT_CACHE),
            arrivals: Arrivals::default(),
            metrics,
        })
    }

    /// Replaces the clock (milliseconds since the Unix epoch) that stamps blocks and checks
    /// timestamps: a node uses its runtime's clock, so a simulated cluster runs deterministically.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Milliseconds since the Unix epoch on this node's clock.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// Sends every transaction admitted from a client from now on to `sink` (a validator relays
    /// them to its peers, so whichever validator leads next can include them).
    pub fn set_gossip(&self, sink: futures::channel::mpsc::UnboundedSender<Transaction>) {
        *self.gossip.lock().expect("gossip lock") = Some(sink);
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The verifying keys.
    pub fn keys(&self) -> &VerifierKeys {
        &self.keys
    }

    /// Why the ledger would refuse now, whatever the consignment, an aeo-status proof with public
    /// values `p` ([`Rules::check_aeo_timeliness`] against the finalized state at this node's
    /// time): an authority not in genesis, a registry root never published or superseded more
    /// than the grace period ago, or a day too far from today. `None`: none of these.
    pub fn aeo_refusal_now(&self, p: &AeoStatusPublic) -> Result<Option<Rejection>, StoreError> {
        let checked = self
            .rules()
            .check_aeo_timeliness(p, &Overlay::default(), self.now_ms());
        match checked {
            Ok(()) => Ok(None),
            Err(CheckError::Rejected(r)) => Ok(Some(r)),
            Err(CheckError::Store(e)) => Err(e),
        }
    }

    /// The finalized tip (height, hash), and a receiver that sees it change.
    pub fn tip(&self) -> (u64, Hash) {
        *self.tip.borrow()
    }

    /// Watches the finalized tip.
    pub fn watch_tip(&self) -> watch::Receiver<(u64, Hash)> {
        self.tip.subscribe()
    }

    /// Number of transactions and bytes in the mempool.
    pub fn mempool_size(&self) -> (usize, usize) {
        let pool = self.pool.lock().expect("pool lock");
        (pool.txs.len(), pool.bytes)
    }

    /// Resolves when a transaction arrives (the proposer waits on it when the mempool is empty).
    pub async fn tx_arrived(&self) {
        self.new_tx.notified().await
    }

    /// Signature checks answered from this node's remembered verdicts instead of verified again
    /// ([`crate::verdicts`]).
    pub fn signature_verdicts_reused(&self) -> u64 {
        self.signatures.hits()
    }

    /// The rules, with this node's signature verdicts.
    fn rules(&self) -> Rules<'_> {
        Rules::new(&self.genesis, &self.store).remembering_signatures(&self.signatures)
    }
}

#[cfg(test)]
mod tests {
    use super::MempoolLimits;

    #[test]
    fn each_party_may_hold_a_quarter_of_the_mempool() {
        let d = MempoolLimits::default();
        assert_eq!((d.max_txs, d.max_bytes), (10_000, 16 << 20));
        assert_eq!((d.max_party_txs, d.max_party_bytes), (2_500, 4 << 20));
        let small = MempoolLimits::with_max_txs(10);
        assert_eq!((small.max_txs, small.max_party_txs), (10, 3));
        assert_eq!(small.max_bytes, d.max_bytes);
    }
}
