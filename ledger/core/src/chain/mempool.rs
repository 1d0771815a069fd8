//! Admission into the mempool: rules checked against the finalized state and the mempool, the
//! proof verified; where a transaction stands; the mempool re-checked after each finalization.

use super::{Chain, Entry, Pool, SubmitError, TxStatus};
use crate::rules::{CheckError, Overlay, Rejection};
use crate::store::{StoreError, Transactions};
use zkcustoms_ledger_types::tx::{Hash, Transaction};
use zkcustoms_verifier::{ProofEnvelope, VerifyError};

impl Chain {
    /// Verifies the proof of transaction `hash`, unless this node already has; a success is
    /// remembered.
    pub(super) fn verify_one(&self, hash: Hash, env: &ProofEnvelope) -> Result<(), Rejection> {
        if self.verified.contains(&hash) {
            self.metrics.proof_verdicts_reused(1);
            return Ok(());
        }
        let start = std::time::Instant::now();
        let result = self.keys.verify(env);
        self.metrics.proof_verified(1, start.elapsed());
        if result.is_ok() {
            self.verified.insert(hash);
        }
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
    pub(super) fn submit_inner(&self, tx: Transaction) -> (Result<Hash, SubmitError>, bool) {
        let bytes = tx.to_bytes();
        let (hash, size) = (zkcustoms_ledger_types::tx::sha256(&bytes), bytes.len());
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
    pub(super) fn admit(
        &self,
        tx: Transaction,
        hash: Hash,
        size: usize,
    ) -> Result<(Hash, bool), SubmitError> {
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
            self.verify_one(hash, &p.envelope)?;
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

    pub(super) fn check_capacity(&self, pool: &Pool, size: usize) -> Result<(), SubmitError> {
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
    pub(super) fn included(&self, hash: &Hash) -> Result<Option<TxStatus>, StoreError> {
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

    /// Re-checks the mempool against the new finalized state; transactions that no longer pass
    /// are rejected (their status says why).
    pub(super) fn revalidate(&self, pool: &mut Pool) -> Result<(), StoreError> {
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

pub(super) fn proof_rejection(e: VerifyError) -> Rejection {
    if e.is_invalid_proof() {
        Rejection::new("invalid-proof", "the proof does not verify")
    } else {
        Rejection::new("malformed-proof", e.to_string())
    }
}
