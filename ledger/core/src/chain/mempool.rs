//! Admission into the mempool: rules checked against the finalized state and the mempool, the
//! proof verified; where a transaction stands; the mempool re-checked after each finalization.

use super::{party_key, Chain, Entry, PartyKey, Pool, SubmitError, TxStatus};
use crate::rules::{signature_refused_by, CheckError, Overlay, Rejection, NOT_OWNER};
use crate::store::{StoreError, Transactions};
use crate::verdicts::signature_digest;
use zkcustoms_ledger_types::crypto::PublicKey;
use zkcustoms_ledger_types::tx::{peek, Eori, Hash, Peeked, SignerKind, Transaction, MAX_TX_BYTES};
use zkcustoms_verifier::batch::Backend;
use zkcustoms_verifier::{ProofEnvelope, VerifyError};

/// What a node does with a transaction a peer relayed, judged from its bytes before it decodes
/// them ([`Chain::screen_relayed`]).
#[derive(Debug)]
pub enum Screened {
    /// Held here already (waiting in the mempool, or finalized): nothing to do.
    Held,
    /// Refused undecoded: no room for it, the mempool being full ([`SubmitError::Full`]) or its
    /// signer's share of it ([`SubmitError::PartyFull`]); its signer is a trader not registered
    /// here (`unknown-party`) or whose key is revoked (`revoked-key`); or its signature is not
    /// its signer's (`wrong-party-key` for a trader, whose key honest validators may disagree on
    /// for a while; `bad-signature` for a party listed in genesis, the relaying peer's fault).
    /// Every one of its bytes would be refused for the same reason.
    Refused(SubmitError),
    /// To decode and admit ([`Chain::submit_many_from_peer`]); so are bytes that do not name a
    /// signer, for the decoding to name their fault.
    Decode,
    /// Longer than any transaction ([`MAX_TX_BYTES`], the length given): not even hashed, and
    /// the relaying peer's fault.
    Oversized(usize),
}

/// A transaction past the checks that need no proof verification.
enum Staged {
    /// Decided already: pending before, or refused.
    Done(Result<(Hash, bool), SubmitError>),
    /// Passes the rules against the mempool as it was; its proof (if any) is still to verify.
    Ready {
        tx: Box<Transaction>,
        size: usize,
        now: u64,
        /// An outsider's proof that passes every other rule: refused with this once its proof
        /// is verified (as it would be verified under an unused UCR).
        outsider: Option<Rejection>,
    },
}

impl Chain {
    /// Verifies the proofs (of the transactions with these hashes) that this node has not
    /// verified yet, in a batch with the other proofs arriving now; successes are remembered.
    fn verify_arrivals(&self, proofs: &[(Hash, &ProofEnvelope)]) -> Vec<Result<(), Rejection>> {
        let mut out: Vec<Result<(), Rejection>> = proofs.iter().map(|_| Ok(())).collect();
        let (idx, envs): (Vec<usize>, Vec<ProofEnvelope>) = proofs
            .iter()
            .enumerate()
            .filter(|(_, (hash, _))| !self.verified.contains(hash))
            .map(|(i, (_, env))| (i, (*env).clone()))
            .unzip();
        self.metrics.proof_verdicts_reused(proofs.len() - idx.len());
        let verify_batch = |batch: &[ProofEnvelope]| {
            let start = std::time::Instant::now();
            let verdicts = self.keys.verify_batch(batch, Backend::default());
            let took = start.elapsed();
            self.metrics.proof_verified(batch.len(), took);
            tracing::debug!(
                proofs = batch.len(),
                took_us = took.as_micros() as u64,
                "verified arriving proofs"
            );
            verdicts
        };
        let verdicts = self.arrivals.verify(&envs, &verify_batch);
        for (i, verdict) in idx.into_iter().zip(verdicts) {
            if verdict.is_ok() {
                self.verified.insert(proofs[i].0);
            }
            out[i] = verdict.map_err(proof_rejection);
        }
        out
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
        let (result, new) = self.submit_inner(tx, false);
        if let (Ok(_), true, Some(tx)) = (&result, new, relay) {
            if let Some(sink) = self.gossip.lock().expect("gossip lock").as_ref() {
                let _ = sink.unbounded_send(tx);
            }
        }
        result
    }

    /// Admits a transaction relayed by another validator (checked like a client's, but for an
    /// outsider's proof, refused before it is verified; not relayed again).
    pub fn submit_from_peer(&self, tx: Transaction) -> Result<Hash, SubmitError> {
        self.submit_inner(tx, true).0
    }

    /// Admits transactions relayed by other validators, each checked as by
    /// [`Chain::submit_from_peer`] and none relayed again, their proofs verified in one batch:
    /// one result each, in order.
    pub fn submit_many_from_peer(&self, txs: Vec<Transaction>) -> Vec<Result<Hash, SubmitError>> {
        let received: Vec<(Transaction, Hash, usize)> = txs
            .into_iter()
            .map(|tx| {
                let (hash, size) = self.received(&tx);
                (tx, hash, size)
            })
            .collect();
        let signed: Vec<(Hash, PartyKey)> = received
            .iter()
            .map(|(tx, hash, _)| (*hash, party_key(tx)))
            .collect();
        signed
            .into_iter()
            .zip(self.admit_all(received, true))
            .map(|((hash, signer), result)| self.settled(hash, signer, result).0)
            .collect()
    }

    /// Screens the canonical bytes of a transaction a peer relayed before they are decoded: one
    /// held here already costs a hash; one for which the mempool has no room (or its signer's
    /// share of it), signed by a trader that cannot sign here (not registered, or its key
    /// revoked), or whose signature is not its signer's, a hash, a read of its signer ([`peek`])
    /// and of that signer's key, and at most one signature check (remembered when it verifies),
    /// never a decoding of its proof points. A peer relaying the same transaction, one party's,
    /// transactions of made-up traders, or copies of a real transaction with other signature
    /// bytes, over and over, cannot make this node decode them. A refusal is counted in the
    /// metrics as if it had been decoded.
    pub fn screen_relayed(&self, bytes: &[u8]) -> Screened {
        if bytes.len() > MAX_TX_BYTES {
            return Screened::Oversized(bytes.len());
        }
        let hash = zkcustoms_ledger_types::tx::sha256(bytes);
        if matches!(self.holds_tx(&hash), Ok(true)) {
            self.metrics.relayed_held();
            return Screened::Held;
        }
        let Ok(peeked) = peek(bytes) else {
            return Screened::Decode;
        };
        let refused = {
            let pool = self.pool.lock().expect("pool lock");
            self.check_capacity(&pool, &(peeked.signer, peeked.id.to_owned()), bytes.len())
                .and_then(|()| self.signer_key(&peeked, &pool.overlay))
        };
        let refused = refused.and_then(|key| {
            key.map_or(Ok(()), |key| {
                self.screen_signature(bytes, &hash, &peeked, &key)
            })
        });
        match refused {
            Ok(()) => Screened::Decode,
            Err(e) => {
                self.metrics.received(peeked.kind);
                self.count_refusal(&e);
                Screened::Refused(e)
            }
        }
    }

    /// The current key of a peeked transaction's signer: a trader's, or a key listed in genesis
    /// (`None` for a signer unknown here, or when the store fails: left to the decoded
    /// transaction's checks, which name the fault).
    fn signer_key(
        &self,
        peeked: &Peeked<'_>,
        overlay: &Overlay,
    ) -> Result<Option<PublicKey>, SubmitError> {
        Ok(match peeked.signer {
            SignerKind::Trader => match Eori::parse(peeked.id) {
                Ok(t) => match self.rules().trader_signing_key(&t, overlay) {
                    Ok(key) => Some(key),
                    Err(CheckError::Rejected(r)) => return Err(SubmitError::Rejected(r)),
                    Err(CheckError::Store(_)) => None,
                },
                Err(_) => None,
            },
            SignerKind::Authority => self.genesis.authorities.get(peeked.id).cloned(),
            SignerKind::Office => self.genesis.offices.get(peeked.id).map(|o| o.key.clone()),
        })
    }

    /// Checks the signature of relayed canonical `bytes` against `key` before anything else is
    /// decoded ([`Peeked::signature_holds`]); a success is remembered, so the decoded
    /// transaction's check does not verify it again.
    fn screen_signature(
        &self,
        bytes: &[u8],
        hash: &Hash,
        peeked: &Peeked<'_>,
        key: &PublicKey,
    ) -> Result<(), SubmitError> {
        let digest = signature_digest(hash, key);
        if self.signatures.contains(&digest) {
            return Ok(());
        }
        match peeked.signature_holds(bytes, &self.genesis.chain_id, key) {
            Some(false) => Err(SubmitError::Rejected(signature_refused_by(
                peeked.kind,
                peeked.signer,
                peeked.id,
            ))),
            Some(true) => {
                self.signatures.insert(digest);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Admits transactions (with their hashes and sizes): the checks that need no proof for
    /// each, the proofs of those that pass verified in one batch (without the pool's lock), then
    /// each entered. Answers each one's hash and whether it is new to the mempool, in order.
    fn admit_all(
        &self,
        txs: Vec<(Transaction, Hash, usize)>,
        relayed: bool,
    ) -> Vec<Result<(Hash, bool), SubmitError>> {
        let staged: Vec<(Hash, Staged)> = txs
            .into_iter()
            .map(|(tx, hash, size)| (hash, self.stage(tx, hash, size, relayed)))
            .collect();
        let proofs: Vec<(Hash, &ProofEnvelope)> = staged
            .iter()
            .filter_map(|(hash, s)| match s {
                Staged::Ready { tx, .. } => match tx.as_ref() {
                    Transaction::SubmitProof(p) => Some((*hash, &p.envelope)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let mut verdicts = self.verify_arrivals(&proofs).into_iter();
        staged
            .into_iter()
            .map(|(hash, s)| match s {
                Staged::Done(result) => result,
                Staged::Ready {
                    tx,
                    size,
                    now,
                    outsider,
                } => {
                    let verdict = match tx.as_ref() {
                        Transaction::SubmitProof(_) => verdicts.next().expect("one verdict"),
                        _ => Ok(()),
                    };
                    verdict
                        .and_then(|()| outsider.map_or(Ok(()), Err))
                        .map_err(SubmitError::from)
                        .and_then(|()| self.enter(*tx, hash, size, now))
                }
            })
            .collect()
    }

    /// Counts a transaction received; answers its hash and size.
    fn received(&self, tx: &Transaction) -> (Hash, usize) {
        let bytes = tx.to_bytes();
        self.metrics.received(tx.kind());
        (zkcustoms_ledger_types::tx::sha256(&bytes), bytes.len())
    }

    /// Counts an admission or a refusal (a refusal is remembered for status queries, with the
    /// transaction's signer); answers the hash and whether the transaction was new to the
    /// mempool.
    fn settled(
        &self,
        hash: Hash,
        signer: PartyKey,
        result: Result<(Hash, bool), SubmitError>,
    ) -> (Result<Hash, SubmitError>, bool) {
        match &result {
            Ok(_) => self.metrics.admitted(),
            Err(e) => {
                self.count_refusal(e);
                if let SubmitError::Rejected(r) = e {
                    let mut pool = self.pool.lock().expect("pool lock");
                    pool.reject(hash, r.clone(), signer, self.limits.max_rejected);
                }
            }
        }
        let new = matches!(result, Ok((_, true)));
        (result.map(|(h, _)| h), new)
    }

    /// Counts a refusal under its code (not this node's own failures).
    fn count_refusal(&self, e: &SubmitError) {
        if let Some(code) = e.code() {
            self.metrics.rejected(code);
        }
    }

    /// Admits a client's transaction, or a peer's (`relayed`); also answers whether it was new
    /// to the mempool.
    fn submit_inner(&self, tx: Transaction, relayed: bool) -> (Result<Hash, SubmitError>, bool) {
        let (hash, size) = self.received(&tx);
        let signer = party_key(&tx);
        let result = self.admit_all(vec![(tx, hash, size)], relayed);
        self.settled(hash, signer, result.into_iter().next().expect("one answer"))
    }

    /// The checks before the proof: already pending, room in the mempool, the rules against
    /// the finalized state and the mempool. A client's proof under another trader's UCR is
    /// verified before it is refused `not-owner`, as it would be under an unused UCR (the
    /// refusal tells a trader nothing of another's consignment); a `relayed` one is refused at
    /// once, since a validator sees the whole ledger anyway, and a flood of them would otherwise
    /// cost every node a pairing each.
    fn stage(&self, tx: Transaction, hash: Hash, size: usize, relayed: bool) -> Staged {
        let now = self.now_ms();
        let pool = self.pool.lock().expect("pool lock");
        if pool.txs.contains_key(&hash) {
            return Staged::Done(Ok((hash, false)));
        }
        let checked = self
            .check_capacity(&pool, &party_key(&tx), size)
            .and_then(|()| Ok(self.rules().check(&tx, &pool.overlay, now)?));
        match checked {
            Ok(()) => Staged::Ready {
                tx: Box::new(tx),
                size,
                now,
                outsider: None,
            },
            Err(SubmitError::Rejected(r))
                if r.code == NOT_OWNER && !relayed && matches!(tx, Transaction::SubmitProof(_)) =>
            {
                Staged::Ready {
                    tx: Box::new(tx),
                    size,
                    now,
                    outsider: Some(r),
                }
            }
            Err(e) => Staged::Done(Err(e)),
        }
    }

    /// Enters a transaction whose proof verified into the mempool, the capacity and the rules
    /// checked again (the state may have moved while the proof was verified).
    fn enter(
        &self,
        tx: Transaction,
        hash: Hash,
        size: usize,
        now: u64,
    ) -> Result<(Hash, bool), SubmitError> {
        let mut pool = self.pool.lock().expect("pool lock");
        if pool.txs.contains_key(&hash) {
            return Ok((hash, false));
        }
        let party = party_key(&tx);
        self.check_capacity(&pool, &party, size)?;
        self.rules().check(&tx, &pool.overlay, now)?;
        pool.overlay.apply(&tx, now);
        pool.order.push_back(hash);
        pool.bytes += size;
        let share = pool.by_party.entry(party).or_default();
        share.txs += 1;
        share.bytes += size;
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

    /// Room for a transaction of `size` bytes that `party` signed in the mempool, and in the
    /// party's share of it.
    fn check_capacity(
        &self,
        pool: &Pool,
        party: &PartyKey,
        size: usize,
    ) -> Result<(), SubmitError> {
        if pool.txs.len() >= self.limits.max_txs || pool.bytes + size > self.limits.max_bytes {
            return Err(SubmitError::Full(pool.txs.len()));
        }
        let share = pool.by_party.get(party).copied().unwrap_or_default();
        if share.txs >= self.limits.max_party_txs
            || share.bytes + size > self.limits.max_party_bytes
        {
            return Err(SubmitError::PartyFull {
                party: party.1.clone(),
                waiting: share.txs,
                bytes: share.bytes,
            });
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
        if let Some((why, signer)) = pool.rejected.get(hash) {
            return Ok(TxStatus::Rejected {
                why: why.clone(),
                signer: signer.clone(),
            });
        }
        // It may have been finalized between the two reads.
        drop(pool);
        Ok(self.included(hash)?.unwrap_or(TxStatus::Unknown))
    }

    /// Whether this node holds the transaction already, pending in its mempool or finalized: a
    /// copy relayed again needs no decoding.
    pub fn holds_tx(&self, hash: &Hash) -> Result<bool, StoreError> {
        if self.pool.lock().expect("pool lock").txs.contains_key(hash) {
            return Ok(true);
        }
        self.store.contains::<Transactions>(hash)
    }

    /// A transaction waiting in the mempool, by its hash (decoded, its rules, signature and
    /// proof checked on admission).
    pub fn pending_tx(&self, hash: &Hash) -> Option<Transaction> {
        let pool = self.pool.lock().expect("pool lock");
        pool.txs.get(hash).map(|e| e.tx.clone())
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
                    let signer = party_key(tx);
                    Self::remove_from_pool(pool, &hash);
                    pool.reject(hash, r, signer, self.limits.max_rejected);
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
