//! The node's ledger core: admission of transactions into a bounded mempool (rules checked, proof
//! verified), building and validating blocks for consensus (rules re-checked, proofs verified
//! again in a batch), and applying finalized blocks to the store in one synced batch each.
//!
//! Every method here may block (RocksDB, pairings): async callers run them on blocking threads.

use crate::block::Block;
use crate::genesis::Genesis;
use crate::metrics::Metrics;
use crate::state::{block_batch, CheckError, Overlay, Rejection, Rules};
use crate::store::{
    BlockHashes, Finality, PendingBlocks, Store, StoreError, Transactions, TxLocation,
    VerifyingKeys,
};
use crate::tx::{Hash, Transaction};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{watch, Notify};
use zkcustoms_verifier::batch::Backend;
use zkcustoms_verifier::{KeyDir, ProofEnvelope, VerifierKeys, VerifyError, VerifyingKey};

/// Milliseconds since the Unix epoch on this machine's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How far in the future a block's timestamp may be, in milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 10_000;

/// Limits of the mempool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolLimits {
    /// Most transactions waiting.
    pub max_txs: usize,
    /// Most bytes (canonical encodings) waiting.
    pub max_bytes: usize,
    /// Most rejection verdicts remembered for status queries.
    pub max_rejected: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        Self {
            max_txs: 10_000,
            max_bytes: 16 << 20,
            max_rejected: 100_000,
        }
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
    /// The node failed (the API answers 500).
    #[error(transparent)]
    Internal(#[from] StoreError),
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
    /// Refused after it was accepted into the mempool (or on submission), and why.
    Rejected(Rejection),
    /// Never seen (or forgotten).
    Unknown,
}

struct Entry {
    tx: Transaction,
    size: usize,
    received_ms: u64,
}

#[derive(Default)]
struct Pool {
    order: VecDeque<Hash>,
    txs: HashMap<Hash, Entry>,
    bytes: usize,
    overlay: Overlay,
    rejected: HashMap<Hash, Rejection>,
    rejected_order: VecDeque<Hash>,
    pending_blocks: HashMap<Hash, Block>,
}

impl Pool {
    fn reject(&mut self, hash: Hash, why: Rejection, max: usize) {
        if self.rejected.insert(hash, why).is_none() {
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
    documents: Option<std::sync::Arc<crate::documents::DocumentService>>,
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
    if missing.is_empty() {
        return Ok(keys);
    }
    let dir = keydir.ok_or_else(|| {
        ChainError::Keys(format!(
            "{} pinned verifying key(s) are not in the database yet: give the key directory",
            missing.len()
        ))
    })?;
    let kd = KeyDir::open(dir).map_err(|e| ChainError::Keys(e.to_string()))?;
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
        for (hash, block) in store.scan_prefix::<PendingBlocks>(&[], usize::MAX)? {
            if block.header.height > tip.0 {
                pool.pending_blocks.insert(hash, block);
            }
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
            documents: None,
            metrics,
        })
    }

    /// Replaces the clock (milliseconds since the Unix epoch) that stamps blocks and checks
    /// timestamps: a node uses its runtime's clock, so a simulated cluster runs deterministically.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Attaches the node's off-ledger document service (the API's document routes answer 503
    /// without one).
    pub fn with_documents(mut self, documents: crate::documents::DocumentService) -> Self {
        self.documents = Some(std::sync::Arc::new(documents));
        self
    }

    /// The node's document service, if it keeps documents.
    pub fn documents(&self) -> Option<&std::sync::Arc<crate::documents::DocumentService>> {
        self.documents.as_ref()
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

    fn rules(&self) -> Rules<'_> {
        Rules {
            genesis: &self.genesis,
            store: &self.store,
        }
    }

    /// Verifies one proof.
    fn verify_one(&self, env: &ProofEnvelope) -> Result<(), Rejection> {
        let start = std::time::Instant::now();
        let result = self.keys.verify(env);
        self.metrics.proof_verified(1, start.elapsed());
        result.map_err(proof_rejection)
    }

    /// Admits a transaction from a client into the mempool: rules checked against the finalized
    /// state and the mempool, the proof (if any) verified. Re-submitting a pending transaction
    /// is idempotent. A newly admitted transaction is relayed to the other validators.
    pub fn submit(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        let relay = self
            .gossip
            .lock()
            .expect("gossip lock")
            .is_some()
            .then(|| tx.clone());
        let (result, new) = self.submit_inner(tx);
        if let (Ok(_), true, Some(tx)) = (&result, new, relay) {
            if let Some(sink) = self.gossip.lock().expect("gossip lock").as_ref() {
                let _ = sink.unbounded_send(tx);
            }
        }
        result
    }

    /// Admits a transaction relayed by another validator (checked exactly like a client's, and
    /// not relayed again).
    pub fn submit_from_peer(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        self.submit_inner(tx).0
    }

    /// Admits a transaction; also answers whether it was new to the mempool.
    fn submit_inner(&self, tx: Transaction) -> (Result<Hash, SubmitError>, bool) {
        let bytes = tx.to_bytes();
        let (hash, size) = (crate::tx::sha256(&bytes), bytes.len());
        self.metrics.received(tx.kind());
        let result = self.admit(tx, hash, size);
        let new = matches!(result, Ok((_, true)));
        let result = result.map(|(h, _)| h);
        match &result {
            Ok(_) => self.metrics.admitted(),
            Err(SubmitError::Rejected(r)) => {
                self.metrics.rejected(r.code);
                let mut pool = self.pool.lock().expect("pool lock");
                pool.reject(hash, r.clone(), self.limits.max_rejected);
            }
            Err(SubmitError::Full(_)) => self.metrics.rejected("mempool-full"),
            Err(SubmitError::Internal(_)) => {}
        }
        (result, new)
    }

    /// Admits a transaction; answers its hash and whether it is new to the mempool.
    fn admit(&self, tx: Transaction, hash: Hash, size: usize) -> Result<(Hash, bool), SubmitError> {
        let now = self.now_ms();
        {
            let pool = self.pool.lock().expect("pool lock");
            if pool.txs.contains_key(&hash) {
                return Ok((hash, false));
            }
            self.check_capacity(&pool, size)?;
            self.rules().check(&tx, &pool.overlay, now)?;
        }
        // The expensive part runs without the lock.
        if let Transaction::SubmitProof(p) = &tx {
            self.verify_one(&p.envelope)?;
        }
        let mut pool = self.pool.lock().expect("pool lock");
        if pool.txs.contains_key(&hash) {
            return Ok((hash, false));
        }
        self.check_capacity(&pool, size)?;
        // The state may have moved while the proof was verified.
        self.rules().check(&tx, &pool.overlay, now)?;
        pool.overlay.apply(&tx, now);
        pool.order.push_back(hash);
        pool.bytes += size;
        pool.rejected.remove(&hash);
        pool.txs.insert(
            hash,
            Entry {
                tx,
                size,
                received_ms: now,
            },
        );
        self.metrics.set_mempool(pool.txs.len());
        drop(pool);
        self.new_tx.notify_one();
        Ok((hash, true))
    }

    fn check_capacity(&self, pool: &Pool, size: usize) -> Result<(), SubmitError> {
        if pool.txs.len() >= self.limits.max_txs || pool.bytes + size > self.limits.max_bytes {
            return Err(SubmitError::Full(pool.txs.len()));
        }
        Ok(())
    }

    /// Where a transaction stands.
    pub fn status(&self, hash: &Hash) -> Result<TxStatus, StoreError> {
        if let Some(status) = self.included(hash)? {
            return Ok(status);
        }
        let pool = self.pool.lock().expect("pool lock");
        if pool.txs.contains_key(hash) {
            return Ok(TxStatus::Pending);
        }
        if let Some(r) = pool.rejected.get(hash) {
            return Ok(TxStatus::Rejected(r.clone()));
        }
        // It may have been finalized between the two reads.
        drop(pool);
        Ok(self.included(hash)?.unwrap_or(TxStatus::Unknown))
    }

    /// The status of a finalized transaction (its block's header only is read).
    fn included(&self, hash: &Hash) -> Result<Option<TxStatus>, StoreError> {
        let Some(location) = self.store.get::<Transactions>(hash)? else {
            return Ok(None);
        };
        let block = self
            .store
            .block_header(location.height)?
            .map(|h| h.hash())
            .unwrap_or_default();
        Ok(Some(TxStatus::Included { location, block }))
    }

    /// True when the mempool holds a transaction that a block on `parent` could include: one not
    /// already in `parent` or its unfinalized ancestors. A pending block on another branch (one
    /// that was nullified, say) does not hold its transactions back. For a parent this node does
    /// not hold, any transaction counts.
    pub fn has_candidates_for(&self, parent: &Hash) -> Result<bool, StoreError> {
        let pool = self.pool.lock().expect("pool lock");
        let Some(ancestors) = self.ancestors(&pool, parent)? else {
            return Ok(!pool.txs.is_empty());
        };
        let included: HashSet<Hash> = ancestors
            .iter()
            .flat_map(|b| b.txs.iter().map(Transaction::hash))
            .collect();
        Ok(pool.txs.keys().any(|h| !included.contains(h)))
    }

    /// The pending blocks from the finalized tip up to `parent` (oldest first), or `None` when
    /// `parent` does not descend from the finalized tip.
    fn ancestors(&self, pool: &Pool, parent: &Hash) -> Result<Option<Vec<Block>>, StoreError> {
        let (tip_h, tip_hash) = self.tip();
        let mut chain = Vec::new();
        let mut cur = *parent;
        while cur != tip_hash {
            let block = match pool.pending_blocks.get(&cur) {
                Some(b) => b.clone(),
                None => match self.store.get::<PendingBlocks>(&cur)? {
                    Some(b) => b,
                    None => return Ok(None),
                },
            };
            if block.header.height <= tip_h {
                return Ok(None);
            }
            cur = block.header.parent;
            chain.push(block);
        }
        chain.reverse();
        Ok(Some(chain))
    }

    fn parent_of(&self, ancestors: &[Block]) -> Result<(u64, u64), StoreError> {
        if let Some(b) = ancestors.last() {
            return Ok((b.header.height, b.header.timestamp_ms));
        }
        let (h, _) = self.tip();
        let ts = if h == 0 {
            0
        } else {
            self.store
                .block_header(h)?
                .map(|header| header.timestamp_ms)
                .unwrap_or(0)
        };
        Ok((h, ts))
    }

    fn overlay_of(ancestors: &[Block]) -> Overlay {
        let mut overlay = Overlay::default();
        for b in ancestors {
            for tx in &b.txs {
                overlay.apply(tx, b.header.timestamp_ms);
            }
        }
        overlay
    }

    fn persist_pending(&self, pool: &mut Pool, block: &Block) -> Result<(), StoreError> {
        let hash = block.hash();
        let mut batch = crate::store::Batch::new();
        batch.put::<PendingBlocks>(&hash, block);
        self.store.write(batch, true)?;
        pool.pending_blocks.insert(hash, block.clone());
        Ok(())
    }

    /// Builds a block on `parent` from the mempool, or `None` when there is nothing to include
    /// and the parent is finalized (or the parent is not on the finalized chain). On an
    /// unfinalized parent the block may be empty. The block is stored as pending before it
    /// is returned, so consensus never agrees on a block this node could lose.
    pub fn propose(&self, parent: Hash) -> Result<Option<Block>, StoreError> {
        let mut pool = self.pool.lock().expect("pool lock");
        let Some(ancestors) = self.ancestors(&pool, &parent)? else {
            return Ok(None);
        };
        let (parent_height, parent_ts) = self.parent_of(&ancestors)?;
        let timestamp = self.now_ms().max(parent_ts);
        let mut overlay = Self::overlay_of(&ancestors);
        let max = self.genesis.params().max_block_txs as usize;
        let mut txs = Vec::new();
        for hash in &pool.order {
            if txs.len() >= max {
                break;
            }
            if overlay.contains_tx(hash) {
                continue;
            }
            let tx = &pool.txs[hash].tx;
            match self.rules().check(tx, &overlay, timestamp) {
                Ok(()) => {
                    overlay.apply(tx, timestamp);
                    txs.push(tx.clone());
                }
                // Left in the mempool: it is revalidated against the finalized state.
                Err(CheckError::Rejected(_)) => {}
                Err(CheckError::Store(e)) => return Err(e),
            }
        }
        // An unfinalized parent gets a child even without transactions: a block that was both
        // notarized and nullified in its view is finalized only through a descendant, and its
        // transactions must not wait for new ones to arrive.
        let parent_unfinalized = !ancestors.is_empty();
        if txs.is_empty() && !parent_unfinalized {
            return Ok(None);
        }
        // Verify the block's proofs again, batched, exactly as a validating peer does.
        let verdicts = self.verify_batch(&txs);
        let mut kept = Vec::with_capacity(txs.len());
        for (tx, verdict) in txs.into_iter().zip(verdicts) {
            match verdict {
                Ok(()) => kept.push(tx),
                Err(r) => {
                    let hash = tx.hash();
                    Self::remove_from_pool(&mut pool, &hash);
                    pool.reject(hash, r, self.limits.max_rejected);
                }
            }
        }
        if kept.is_empty() && !parent_unfinalized {
            return Ok(None);
        }
        let block = Block::new(parent_height + 1, parent, timestamp, self.proposer, kept);
        self.persist_pending(&mut pool, &block)?;
        Ok(Some(block))
    }

    /// Validates a block proposed on `parent`: header links, timestamp, size, every rule in order
    /// and every proof (batched). A valid block is stored as pending.
    pub fn validate(&self, parent: Hash, block: &Block) -> Result<Result<(), String>, StoreError> {
        let pool = self.pool.lock().expect("pool lock");
        let Some(ancestors) = self.ancestors(&pool, &parent)? else {
            return Ok(Err("parent is not on the finalized chain".into()));
        };
        let (parent_height, parent_ts) = self.parent_of(&ancestors)?;
        let h = &block.header;
        if h.parent != parent || h.height != parent_height + 1 {
            return Ok(Err("block does not extend its parent".into()));
        }
        if h.timestamp_ms < parent_ts || h.timestamp_ms > self.now_ms() + MAX_CLOCK_SKEW_MS {
            return Ok(Err("block timestamp out of range".into()));
        }
        if h.tx_count > self.genesis.params().max_block_txs {
            return Ok(Err("block size out of range".into()));
        }
        if !self
            .genesis
            .validators
            .iter()
            .any(|v| v.as_ref() == h.proposer)
        {
            return Ok(Err("proposer is not a validator".into()));
        }
        let mut overlay = Self::overlay_of(&ancestors);
        for (i, tx) in block.txs.iter().enumerate() {
            match self.rules().check(tx, &overlay, h.timestamp_ms) {
                Ok(()) => overlay.apply(tx, h.timestamp_ms),
                Err(CheckError::Rejected(r)) => return Ok(Err(format!("transaction {i}: {r}"))),
                Err(CheckError::Store(e)) => return Err(e),
            }
        }
        // The pairings run without the lock: submissions and other validations go on meanwhile
        // (the verdict depends on the block alone).
        drop(pool);
        if let Some((i, r)) = self
            .verify_batch(&block.txs)
            .into_iter()
            .enumerate()
            .find_map(|(i, v)| v.err().map(|r| (i, r)))
        {
            return Ok(Err(format!("transaction {i}: {r}")));
        }
        let mut pool = self.pool.lock().expect("pool lock");
        self.persist_pending(&mut pool, block)?;
        Ok(Ok(()))
    }

    /// A pending block by hash.
    pub fn pending_block(&self, hash: &Hash) -> Option<Block> {
        let pool = self.pool.lock().expect("pool lock");
        pool.pending_blocks.get(hash).cloned()
    }

    /// True when `hash` is the genesis, a finalized block or a pending (validated) block: a
    /// block proposed on it can be validated here.
    pub fn knows_block(&self, hash: &Hash) -> Result<bool, StoreError> {
        if *hash == self.genesis.chain_id || self.pending_block(hash).is_some() {
            return Ok(true);
        }
        self.store.contains::<BlockHashes>(hash)
    }

    /// A pending or finalized block by hash (what a peer asks for when it missed a proposal).
    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>, StoreError> {
        if let Some(b) = self.pending_block(hash) {
            return Ok(Some(b));
        }
        match self.store.get::<BlockHashes>(hash)? {
            Some(height) => Ok(self.store.block(height)?.map(|s| s.block)),
            None => Ok(None),
        }
    }

    /// Builds a block on `parent` from the given transactions without checking any rule or
    /// proof, and stores it as pending: what a faulty or malicious validator could propose.
    /// Honest code never calls it; the fault-injection tests do, to show that the other
    /// validators refuse such a block. `None` when `parent` is not known here.
    pub fn forge_block(
        &self,
        parent: Hash,
        txs: Vec<Transaction>,
    ) -> Result<Option<Block>, StoreError> {
        let mut pool = self.pool.lock().expect("pool lock");
        let Some(ancestors) = self.ancestors(&pool, &parent)? else {
            return Ok(None);
        };
        let (parent_height, parent_ts) = self.parent_of(&ancestors)?;
        let timestamp = self.now_ms().max(parent_ts);
        let block = Block::new(parent_height + 1, parent, timestamp, self.proposer, txs);
        self.persist_pending(&mut pool, &block)?;
        Ok(Some(block))
    }

    /// Batch-verifies the proofs among transactions: one verdict per transaction (`Ok` for
    /// transactions without a proof).
    fn verify_batch(&self, txs: &[Transaction]) -> Vec<Result<(), Rejection>> {
        let (idx, envs): (Vec<usize>, Vec<ProofEnvelope>) = txs
            .iter()
            .enumerate()
            .filter_map(|(i, tx)| match tx {
                Transaction::SubmitProof(p) => Some((i, p.envelope.clone())),
                _ => None,
            })
            .unzip();
        let mut out: Vec<Result<(), Rejection>> = txs.iter().map(|_| Ok(())).collect();
        if envs.is_empty() {
            return out;
        }
        let start = std::time::Instant::now();
        let verdicts = self.keys.verify_batch(&envs, Backend::default());
        self.metrics.proof_verified(envs.len(), start.elapsed());
        for (i, v) in idx.into_iter().zip(verdicts) {
            out[i] = v.map_err(proof_rejection);
        }
        out
    }

    fn remove_from_pool(pool: &mut Pool, hash: &Hash) {
        if let Some(e) = pool.txs.remove(hash) {
            pool.bytes -= e.size;
            pool.order.retain(|h| h != hash);
        }
    }

    /// Applies a block finalized by consensus, with the ancestors it finalizes implicitly: each
    /// block and all its indices in one synced batch, oldest first. Replays of finalizations
    /// already applied are ignored.
    pub fn finalize(&self, hash: Hash, view: u64, certificate: Vec<u8>) -> Result<(), ChainError> {
        if self.store.contains::<BlockHashes>(&hash)? {
            return Ok(());
        }
        let mut pool = self.pool.lock().expect("pool lock");
        let target = match pool.pending_blocks.get(&hash).cloned() {
            Some(b) => b,
            None => self
                .store
                .get::<PendingBlocks>(&hash)?
                .ok_or_else(|| ChainError::UnknownBlock(hex::encode(hash)))?,
        };
        let parent = target.header.parent;
        let mut chain = self
            .ancestors(&pool, &parent)?
            .ok_or_else(|| ChainError::UnknownBlock(hex::encode(parent)))?;
        chain.push(target);
        let last = chain.len() - 1;
        let top = chain[last].header.height;
        let now = self.now_ms();
        for (i, block) in chain.iter().enumerate() {
            let finality = if i == last {
                Finality::Certificate {
                    view,
                    certificate: certificate.clone(),
                }
            } else {
                Finality::Descendant(top)
            };
            let bhash = block.hash();
            let mut batch = block_batch(block, finality);
            batch.delete::<PendingBlocks>(&bhash);
            self.store.write(batch, true)?;
            pool.pending_blocks.remove(&bhash);
            for tx in &block.txs {
                let th = tx.hash();
                if let Some(e) = pool.txs.get(&th) {
                    self.metrics
                        .finalized_latency(now.saturating_sub(e.received_ms));
                }
                Self::remove_from_pool(&mut pool, &th);
            }
            self.metrics
                .block_finalized(block.header.height, block.txs.len());
            self.tip.send_replace((block.header.height, bhash));
        }
        // Forget pending blocks that can no longer be finalized.
        let stale: Vec<Hash> = pool
            .pending_blocks
            .iter()
            .filter(|(_, b)| b.header.height <= top)
            .map(|(h, _)| *h)
            .collect();
        if !stale.is_empty() {
            let mut batch = crate::store::Batch::new();
            for h in &stale {
                pool.pending_blocks.remove(h);
                batch.delete::<PendingBlocks>(h);
            }
            self.store.write(batch, false)?;
        }
        self.revalidate(&mut pool)?;
        Ok(())
    }

    /// Re-checks the mempool against the new finalized state; transactions that no longer pass
    /// are rejected (their status says why).
    fn revalidate(&self, pool: &mut Pool) -> Result<(), StoreError> {
        let now = self.now_ms();
        let mut overlay = Overlay::default();
        let order: Vec<Hash> = pool.order.iter().copied().collect();
        for hash in order {
            let tx = &pool.txs[&hash].tx;
            match self.rules().check(tx, &overlay, now) {
                Ok(()) => overlay.apply(tx, now),
                Err(CheckError::Rejected(r)) => {
                    self.metrics.rejected(r.code);
                    Self::remove_from_pool(pool, &hash);
                    pool.reject(hash, r, self.limits.max_rejected);
                }
                Err(CheckError::Store(e)) => return Err(e),
            }
        }
        pool.overlay = overlay;
        self.metrics.set_mempool(pool.txs.len());
        Ok(())
    }
}

fn proof_rejection(e: VerifyError) -> Rejection {
    if e.is_invalid_proof() {
        Rejection::new("invalid-proof", "the proof does not verify")
    } else {
        Rejection::new("malformed-proof", e.to_string())
    }
}
