//! Blocks for consensus: building a proposal from the mempool, validating a proposal in full
//! (links, timestamp, size, proposer, every rule in order, every proof batched), and applying
//! finalized blocks to the store in one synced batch each.

use super::mempool::proof_rejection;
use super::{party_key, Chain, ChainError, Pending, Pool, MAX_CLOCK_SKEW_MS, MAX_PROPOSAL_AGE_MS};
use crate::rules::{chain_batch, CheckError, Overlay, Rejection, SignatureBatch};
use crate::store::{BlockHashes, Blocks, Finality, PendingBlocks, StoreError};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use zkcustoms_ledger_types::block::{Block, HEADER_LEN, MAX_BLOCK_BYTES};
use zkcustoms_ledger_types::tx::{Hash, Transaction};
use zkcustoms_verifier::batch::Backend;
use zkcustoms_verifier::ProofEnvelope;

/// A block held here, as [`Chain::block_bytes_by_hash`] answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeldBlock {
    /// Its canonical bytes.
    Bytes {
        /// The block's height.
        height: u64,
        /// The block's bytes.
        bytes: Vec<u8>,
    },
    /// Longer than asked for: its length only.
    Longer {
        /// The block's height.
        height: u64,
        /// The block's length in bytes.
        len: usize,
    },
}

/// Why a proposed block was refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// Its parent is neither the finalized tip nor a pending block that descends from it.
    #[error("parent is not on the finalized chain")]
    NotOnChain,
    /// Its header does not name the parent or the next height.
    #[error("block does not extend its parent")]
    DoesNotExtend,
    /// Its timestamp is before the parent's.
    #[error("block timestamp before its parent's")]
    Timestamp,
    /// Its timestamp is more than [`MAX_CLOCK_SKEW_MS`] ahead of this node's clock: refused now,
    /// but no proof of a fault, since clocks differ between validators (a node whose clock is
    /// behind sees honest blocks, even certified ones, ahead of it).
    #[error(
        "block timestamp {0} ms ahead of this node's clock (at most {MAX_CLOCK_SKEW_MS} allowed)"
    )]
    AheadOfClock(u64),
    /// Proposed for a vote with a timestamp more than [`MAX_PROPOSAL_AGE_MS`] behind this node's
    /// clock: this node does not vote for it. A leader may not date its block back towards its
    /// parent's time (the ledger's time judges registry roots' grace and proofs' days), but this
    /// is no proof of a fault either, since clocks differ between validators.
    #[error(
        "proposed block timestamp {0} ms behind this node's clock (at most {MAX_PROPOSAL_AGE_MS} allowed)"
    )]
    BehindClock(u64),
    /// It holds more transactions than genesis allows, or more bytes than [`MAX_BLOCK_BYTES`].
    #[error("block size out of range")]
    TooLarge,
    /// Its proposer is not a genesis validator.
    #[error("proposer is not a validator")]
    UnknownProposer,
    /// A transaction (by index) breaks a ledger rule.
    #[error("transaction {0}: {1}")]
    Rule(usize, Rejection),
    /// A transaction's (by index) proof does not verify.
    #[error("transaction {0}: {1}")]
    Proof(usize, Rejection),
    /// This node's store failed: the block was not judged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BlockError {
    /// True when the block itself is at fault (its proposer or sender sent a bad block); false
    /// when this node could not check it, or refused it by its own clock.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            BlockError::Store(_) | BlockError::AheadOfClock(_) | BlockError::BehindClock(_)
        )
    }
}

impl Chain {
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
    pub(super) fn ancestors(
        &self,
        pool: &Pool,
        parent: &Hash,
    ) -> Result<Option<Vec<Block>>, StoreError> {
        let mut chain = Vec::new();
        if !self.walk_to_tip(pool, parent, |block| chain.push(block.into_owned()))? {
            return Ok(None);
        }
        chain.reverse();
        Ok(Some(chain))
    }

    /// Whether `parent` is the finalized tip or a pending block descending from it.
    fn extends_tip(&self, pool: &Pool, parent: &Hash) -> Result<bool, StoreError> {
        self.walk_to_tip(pool, parent, |_| {})
    }

    /// Walks from `parent` back to the finalized tip, handing each pending block on the way to
    /// `visit` (newest first): `false` when `parent` does not descend from the tip.
    fn walk_to_tip(
        &self,
        pool: &Pool,
        parent: &Hash,
        mut visit: impl FnMut(Cow<'_, Block>),
    ) -> Result<bool, StoreError> {
        let (tip_h, tip_hash) = self.tip();
        let mut cur = *parent;
        while cur != tip_hash {
            let block = match pool.pending_blocks.get(&cur) {
                Some(p) => Cow::Borrowed(&p.block),
                None => match self.store.get::<PendingBlocks>(&cur)? {
                    Some(b) => Cow::Owned(b),
                    None => return Ok(false),
                },
            };
            if block.header.height <= tip_h {
                return Ok(false);
            }
            cur = block.header.parent;
            visit(block);
        }
        Ok(true)
    }

    pub(super) fn parent_of(&self, ancestors: &[Block]) -> Result<(u64, u64), StoreError> {
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

    pub(super) fn overlay_of(ancestors: &[Block]) -> Overlay {
        let mut overlay = Overlay::default();
        for b in ancestors {
            for tx in &b.txs {
                overlay.apply(tx, b.header.timestamp_ms);
            }
        }
        overlay
    }

    pub(super) fn persist_pending(&self, pool: &mut Pool, block: &Block) -> Result<(), StoreError> {
        let hash = block.hash();
        // The block is encoded once: the bytes stored are the bytes served to peers.
        let pending = Pending::new(block.clone());
        let mut batch = crate::store::Batch::new();
        batch.put_encoded::<PendingBlocks>(&hash, PendingBlocks::value_from_bytes(&pending.bytes));
        self.store.write(batch, true)?;
        pool.pending_blocks.insert(hash, pending);
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
        // The mempool's transactions in order, each against the state its predecessors leave.
        let max = self.genesis.params().max_block_txs as usize;
        let mut txs = self.select_signed(&pool, &ancestors, timestamp)?;
        // An unfinalized parent gets a child even without transactions: a block that was both
        // notarized and nullified in its view is finalized only through a descendant, and its
        // transactions must not wait for new ones to arrive.
        let parent_unfinalized = !ancestors.is_empty();
        // On the finalized tip, a transaction the rules refuse now is refused as it would be at
        // the next finalization (a proof whose root's grace period or day has passed meanwhile):
        // the mempool is checked again at once, rather than keeping it pending (and its
        // nullifier held) for as long as nothing is finalized.
        if !parent_unfinalized && txs.len() < pool.order.len().min(max) {
            self.revalidate(&mut pool)?;
            txs = self.select_signed(&pool, &ancestors, timestamp)?;
        }
        if txs.is_empty() && !parent_unfinalized {
            return Ok(None);
        }
        // The block's proofs, batched: those this node verified on arrival are not verified again.
        let verdicts = self.verify_batch(&txs);
        let mut kept = Vec::with_capacity(txs.len());
        for (tx, verdict) in txs.into_iter().zip(verdicts) {
            match verdict {
                Ok(()) => kept.push(tx),
                Err(r) => {
                    let hash = tx.hash();
                    Self::remove_from_pool(&mut pool, &hash);
                    pool.reject(hash, r, party_key(&tx), self.limits.max_rejected);
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

    /// [`Chain::select`] with the signatures verified together; should the batch fail, the
    /// selection runs again checking each signature alone, leaving out those that do not verify.
    fn select_signed(
        &self,
        pool: &Pool,
        ancestors: &[Block],
        timestamp: u64,
    ) -> Result<Vec<Transaction>, StoreError> {
        let max = self.genesis.params().max_block_txs as usize;
        let mut signatures = SignatureBatch::new(pool.order.len().min(max));
        let txs = self.select(pool, ancestors, timestamp, Some(&mut signatures))?;
        if signatures.verify() {
            return Ok(txs);
        }
        self.select(pool, ancestors, timestamp, None)
    }

    /// The transactions of the mempool that a block on `ancestors` at `timestamp` can hold, in
    /// mempool order, each checked against the state the previous ones leave (their signatures
    /// queued in `batch` when given).
    fn select(
        &self,
        pool: &Pool,
        ancestors: &[Block],
        timestamp: u64,
        mut batch: Option<&mut SignatureBatch>,
    ) -> Result<Vec<Transaction>, StoreError> {
        let rules = self.rules();
        let mut overlay = Self::overlay_of(ancestors);
        let max = self.genesis.params().max_block_txs as usize;
        let mut txs = Vec::new();
        // The block's encoded length so far: it stays within `MAX_BLOCK_BYTES`.
        let mut len = HEADER_LEN;
        for hash in &pool.order {
            if txs.len() >= max {
                break;
            }
            if overlay.contains_tx(hash) {
                continue;
            }
            let entry = &pool.txs[hash];
            if len + 4 + entry.size > MAX_BLOCK_BYTES {
                break;
            }
            let tx = &entry.tx;
            let checked = match batch.as_deref_mut() {
                Some(b) => rules.check_deferring_signature(tx, &overlay, timestamp, b),
                None => rules.check(tx, &overlay, timestamp),
            };
            match checked {
                Ok(()) => {
                    overlay.apply(tx, timestamp);
                    txs.push(tx.clone());
                    len += 4 + entry.size;
                }
                // Left in the mempool: it is revalidated against the finalized state.
                Err(CheckError::Rejected(_)) => {}
                Err(CheckError::Store(e)) => return Err(e),
            }
        }
        Ok(txs)
    }

    /// Checks, before this node votes for a proposed block, that its timestamp is not more than
    /// [`MAX_PROPOSAL_AGE_MS`] behind this node's clock. [`Chain::validate`] bounds a block's
    /// timestamp only by its parent's and by this node's clock plus the skew, which is all a
    /// block finalized long ago (caught up, or applied late) can be held to; a block being voted
    /// on must also be recent, or a leader could date it back to its parent's time after the
    /// ledger was idle, and so have a registry root superseded since count as current, or a proof
    /// of a past day as timely.
    pub fn check_proposal_age(&self, block: &Block) -> Result<(), BlockError> {
        let age = self.now_ms().saturating_sub(block.header.timestamp_ms);
        if age > MAX_PROPOSAL_AGE_MS {
            return Err(BlockError::BehindClock(age));
        }
        Ok(())
    }

    /// Validates a block proposed on `parent`: header links, timestamp, size, every rule in order
    /// and every proof (batched). A valid block is stored as pending.
    pub fn validate(&self, parent: Hash, block: &Block) -> Result<(), BlockError> {
        let pool = self.pool.lock().expect("pool lock");
        let Some(ancestors) = self.ancestors(&pool, &parent)? else {
            return Err(BlockError::NotOnChain);
        };
        let (parent_height, parent_ts) = self.parent_of(&ancestors)?;
        let h = &block.header;
        if h.parent != parent || h.height != parent_height + 1 {
            return Err(BlockError::DoesNotExtend);
        }
        if h.timestamp_ms < parent_ts {
            return Err(BlockError::Timestamp);
        }
        let now = self.now_ms();
        if h.timestamp_ms > now + MAX_CLOCK_SKEW_MS {
            return Err(BlockError::AheadOfClock(h.timestamp_ms - now));
        }
        if h.tx_count > self.genesis.params().max_block_txs || block.encoded_len() > MAX_BLOCK_BYTES
        {
            return Err(BlockError::TooLarge);
        }
        if !self
            .genesis
            .validators
            .iter()
            .any(|v| v.as_ref() == h.proposer)
        {
            return Err(BlockError::UnknownProposer);
        }
        // Every rule in order, the signatures queued and verified together. A refusal counts
        // only once the signatures before it verify (a bad signature earlier may be what led
        // to it); when the batch fails, the rules run again one by one to name the first
        // transaction at fault and its refusal. They read the finalized state as of a snapshot
        // taken with the ancestors, so the lock is released meanwhile: submissions and
        // finalizations go on.
        let snapshot = self.store.snapshot();
        drop(pool);
        let rules = self.rules().as_of(&snapshot);
        let mut signatures = SignatureBatch::new(block.txs.len());
        let mut overlay = Self::overlay_of(&ancestors);
        let mut refused = None;
        for (i, tx) in block.txs.iter().enumerate() {
            match rules.check_deferring_signature(tx, &overlay, h.timestamp_ms, &mut signatures) {
                Ok(()) => overlay.apply(tx, h.timestamp_ms),
                Err(CheckError::Rejected(r)) => {
                    refused = Some(BlockError::Rule(i, r));
                    break;
                }
                Err(CheckError::Store(e)) => return Err(BlockError::Store(e)),
            }
        }
        if !signatures.verify() {
            let mut overlay = Self::overlay_of(&ancestors);
            for (i, tx) in block.txs.iter().enumerate() {
                match rules.check(tx, &overlay, h.timestamp_ms) {
                    Ok(()) => overlay.apply(tx, h.timestamp_ms),
                    Err(CheckError::Rejected(r)) => return Err(BlockError::Rule(i, r)),
                    Err(CheckError::Store(e)) => return Err(BlockError::Store(e)),
                }
            }
            // Each signature verifies alone but not in the batch: cannot happen with the same
            // acceptance rules; refuse the block rather than trust either answer.
            return Err(BlockError::Rule(
                0,
                Rejection::new(
                    "bad-signature",
                    "the block's signatures do not verify together".to_string(),
                ),
            ));
        }
        if let Some(e) = refused {
            return Err(e);
        }
        // The pairings too (their verdict depends on the block alone).
        self.verify_all(&block.txs)
            .map_err(|(i, r)| BlockError::Proof(i, r))?;
        let mut pool = self.pool.lock().expect("pool lock");
        // A finalization meanwhile on another branch left this block on a fork that can no
        // longer be finalized: it is not kept.
        if !self.extends_tip(&pool, &parent)? {
            return Err(BlockError::NotOnChain);
        }
        self.persist_pending(&mut pool, block)?;
        Ok(())
    }

    /// A pending block by hash.
    pub fn pending_block(&self, hash: &Hash) -> Option<Block> {
        let pool = self.pool.lock().expect("pool lock");
        pool.pending_blocks.get(hash).map(|p| p.block.clone())
    }

    /// A pending block's height and canonical bytes, by hash (shared, not copied).
    pub fn pending_block_bytes(&self, hash: &Hash) -> Option<(u64, Arc<[u8]>)> {
        let pool = self.pool.lock().expect("pool lock");
        pool.pending_blocks
            .get(hash)
            .map(|p| (p.block.header.height, p.bytes.clone()))
    }

    /// True when `hash` is the genesis, a finalized block or a pending (validated) block: a
    /// block proposed on it can be validated here.
    pub fn knows_block(&self, hash: &Hash) -> Result<bool, StoreError> {
        let pending = || {
            let pool = self.pool.lock().expect("pool lock");
            pool.pending_blocks.contains_key(hash)
        };
        if *hash == self.genesis.chain_id || pending() {
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

    /// The height and canonical bytes of a pending or finalized block by hash, a finalized one
    /// read as stored without decoding its transactions: what a peer that missed a proposal is
    /// sent. A block longer than `max_len` bytes is answered by its length alone (a finalized
    /// one is not copied out of the store).
    pub fn block_bytes_by_hash(
        &self,
        hash: &Hash,
        max_len: usize,
    ) -> Result<Option<HeldBlock>, StoreError> {
        let held = |height: u64, bytes: Result<Vec<u8>, usize>| match bytes {
            Ok(bytes) => HeldBlock::Bytes { height, bytes },
            Err(len) => HeldBlock::Longer { height, len },
        };
        if let Some((height, bytes)) = self.pending_block_bytes(hash) {
            let len = bytes.len();
            return Ok(Some(held(
                height,
                if len > max_len {
                    Err(len)
                } else {
                    Ok(bytes.to_vec())
                },
            )));
        }
        match self.store.get::<BlockHashes>(hash)? {
            Some(height) => Ok(self
                .store
                .raw_block_within(height, max_len)?
                .map(|raw| held(height, raw.map(|r| r.block)))),
            None => Ok(None),
        }
    }

    /// Builds a block on `parent` from the given transactions without checking any rule or
    /// proof, and stores it as pending: what a faulty or malicious validator could propose.
    /// Honest code never calls it; the fault-injection tests do, to show that the other
    /// validators refuse such a block. `None` when `parent` is not known here.
    #[cfg(feature = "test-utils")]
    pub fn forge_block(
        &self,
        parent: Hash,
        txs: Vec<Transaction>,
    ) -> Result<Option<Block>, StoreError> {
        self.forge_block_at(parent, txs, None)
    }

    /// [`Chain::forge_block`] with the block's timestamp chosen (`None`: this node's clock, or
    /// the parent's time if later; `Some(t)`: `t`, whatever it is).
    #[cfg(feature = "test-utils")]
    pub fn forge_block_at(
        &self,
        parent: Hash,
        txs: Vec<Transaction>,
        timestamp_ms: Option<u64>,
    ) -> Result<Option<Block>, StoreError> {
        let mut pool = self.pool.lock().expect("pool lock");
        let Some(ancestors) = self.ancestors(&pool, &parent)? else {
            return Ok(None);
        };
        let (parent_height, parent_ts) = self.parent_of(&ancestors)?;
        let timestamp = timestamp_ms.unwrap_or_else(|| self.now_ms().max(parent_ts));
        let block = Block::new(parent_height + 1, parent, timestamp, self.proposer, txs);
        self.persist_pending(&mut pool, &block)?;
        Ok(Some(block))
    }

    /// The proofs among transactions this node has not verified yet (the same transaction bytes):
    /// each one's index among them, its transaction's hash and its envelope. Those it verified
    /// before are counted as reused.
    fn unverified_proofs(
        &self,
        txs: &[Transaction],
    ) -> (Vec<usize>, Vec<Hash>, Vec<ProofEnvelope>) {
        let mut reused = 0;
        let mut out = (Vec::new(), Vec::new(), Vec::new());
        for (i, tx) in txs.iter().enumerate() {
            if let Transaction::SubmitProof(p) = tx {
                let hash = tx.hash();
                if self.verified.contains(&hash) {
                    reused += 1;
                } else {
                    out.0.push(i);
                    out.1.push(hash);
                    out.2.push(p.envelope.clone());
                }
            }
        }
        self.metrics.proof_verdicts_reused(reused);
        out
    }

    /// Batch-verifies the proofs among transactions: one verdict per transaction (`Ok` for
    /// transactions without a proof). Proofs this node has already verified (the same
    /// transaction bytes) are not verified again; every other proof is, and a success is
    /// remembered.
    pub(super) fn verify_batch(&self, txs: &[Transaction]) -> Vec<Result<(), Rejection>> {
        let (idx, hashes, envs) = self.unverified_proofs(txs);
        let mut out: Vec<Result<(), Rejection>> = txs.iter().map(|_| Ok(())).collect();
        if envs.is_empty() {
            return out;
        }
        let start = std::time::Instant::now();
        let verdicts = self.keys.verify_batch(&envs, Backend::default());
        self.metrics.proof_verified(envs.len(), start.elapsed());
        for ((i, hash), v) in idx.into_iter().zip(hashes).zip(verdicts) {
            if v.is_ok() {
                self.verified.insert(hash);
            }
            out[i] = v.map_err(proof_rejection);
        }
        out
    }

    /// Whether every proof among transactions verifies, as a vote on a block needs: the proofs
    /// this node has not verified yet, one batch check per key and no bisection (a block of
    /// invalid proofs costs what a valid one does, however its proposer arranges them); all are
    /// remembered when they verify. Answers the index of the first transaction at fault: the
    /// first whose proof cannot be checked, else the first of a key's proofs that fail together.
    fn verify_all(&self, txs: &[Transaction]) -> Result<(), (usize, Rejection)> {
        let (idx, hashes, envs) = self.unverified_proofs(txs);
        if envs.is_empty() {
            return Ok(());
        }
        let start = std::time::Instant::now();
        let verdict = self.keys.verify_all(&envs, Backend::default());
        self.metrics.proof_verified(envs.len(), start.elapsed());
        match verdict {
            Ok(()) => {
                for hash in hashes {
                    self.verified.insert(hash);
                }
                Ok(())
            }
            Err((j, e)) if e.is_invalid_proof() && envs.len() > 1 => Err((
                idx[j],
                Rejection::new(
                    "invalid-proof",
                    "the block's proofs under this transaction's key, checked together, do not \
                     all verify",
                ),
            )),
            Err((j, e)) => Err((idx[j], proof_rejection(e))),
        }
    }

    pub(super) fn remove_from_pool(pool: &mut Pool, hash: &Hash) {
        if let Some(e) = pool.txs.remove(hash) {
            pool.bytes -= e.size;
            pool.order.retain(|h| h != hash);
            let party = party_key(&e.tx);
            if let Some(share) = pool.by_party.get_mut(&party) {
                share.txs -= 1;
                share.bytes -= e.size;
                if share.txs == 0 {
                    pool.by_party.remove(&party);
                }
            }
        }
    }

    /// Applies a block finalized by consensus, with the ancestors it finalizes implicitly: all of
    /// them, their indices, and the removal of the pending blocks this finalization makes stale,
    /// in one synced batch (a crash leaves the finalization whole or not begun). Replays of
    /// finalizations already applied are ignored.
    pub fn finalize(&self, hash: Hash, view: u64, certificate: Vec<u8>) -> Result<(), ChainError> {
        self.finalize_as(hash, Finality::Certificate { view, certificate })
    }

    /// Applies the pending block `hash` and its pending ancestors as finalized by the certificate
    /// of a descendant at height `top`, which this node does not hold yet: what catching up
    /// applies of a run of blocks finalized by one certificate that is longer than one response,
    /// once it has verified that certificate and the headers from `hash` up to it. The rest of
    /// the run follows with that certificate ([`Chain::finalize`]).
    pub fn finalize_under(&self, hash: Hash, top: u64) -> Result<(), ChainError> {
        self.finalize_as(hash, Finality::Descendant(top))
    }

    /// The stored blocks from height `tip` down that name `awaited` as the descendant whose
    /// certificate finalizes them, encoded again naming `certified` (what
    /// [`Chain::finalize_under`] stored of a run that another certificate overtakes).
    fn renamed_run(
        &self,
        awaited: u64,
        certified: u64,
        tip: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut renamed = Vec::new();
        for height in (1..=tip).rev() {
            match self.store.raw_block(height)? {
                Some(mut raw) if raw.finality == Finality::Descendant(awaited) => {
                    raw.finality = Finality::Descendant(certified);
                    renamed.push((height, raw.encode_value()));
                }
                _ => break,
            }
        }
        Ok(renamed)
    }

    fn finalize_as(&self, hash: Hash, finality: Finality) -> Result<(), ChainError> {
        if self.store.contains::<BlockHashes>(&hash)? {
            return Ok(());
        }
        let mut pool = self.pool.lock().expect("pool lock");
        // Consensus and catch-up may both finalize this block: whichever took the lock second
        // finds it done (and gone from the pending blocks), which is no error.
        if self.store.contains::<BlockHashes>(&hash)? {
            return Ok(());
        }
        let target = match pool.pending_blocks.get(&hash).map(|p| p.block.clone()) {
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
        // The block that finalizes the others: this one, or the descendant it names.
        let certified = match &finality {
            Finality::Descendant(named) if *named > top => *named,
            Finality::Descendant(named) => {
                return Err(ChainError::UnknownBlock(format!(
                    "block {top} cannot be finalized by block {named}, not a descendant"
                )))
            }
            Finality::Certificate { .. } => top,
        };
        // A run caught up in part under a descendant's certificate that this finalization
        // overtakes (a later block's, or a run proof to another end: which run ends a peer
        // serves depends on the certificates it holds): the run's blocks stored so far name this
        // finalization's certified block instead, their ancestor too, so that every block names
        // the next certified one. Waiting for the first certificate instead could wait for ever.
        let renamed = match pool.awaited {
            Some(awaited) if awaited != certified => {
                self.renamed_run(awaited, certified, chain[0].header.height - 1)?
            }
            _ => Vec::new(),
        };
        let mut batch = chain_batch(
            &self.store,
            chain.iter().enumerate().map(|(i, block)| {
                let finality = if i == last {
                    finality.clone()
                } else {
                    Finality::Descendant(certified)
                };
                (block, finality)
            }),
        )?;
        for (height, value) in renamed {
            batch.put_encoded::<Blocks>(&height, value);
        }
        // The finalized blocks leave the pending set, with every pending block at their heights
        // (on forks that can no longer be finalized); in the store, the same batch removes them
        // all, including any that only the store still holds.
        let mut stale: HashSet<Hash> = chain.iter().map(Block::hash).collect();
        stale.extend(
            pool.pending_blocks
                .iter()
                .filter(|(_, p)| p.block.header.height <= top)
                .map(|(h, _)| *h),
        );
        for h in &stale {
            batch.delete::<PendingBlocks>(h);
        }
        self.store.write(batch, true)?;
        for h in &stale {
            pool.pending_blocks.remove(h);
        }
        let now = self.now_ms();
        for block in &chain {
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
        }
        pool.awaited = match finality {
            Finality::Descendant(awaited) => Some(awaited),
            Finality::Certificate { .. } => None,
        };
        self.tip.send_replace((top, hash));
        self.revalidate(&mut pool)?;
        Ok(())
    }
}
