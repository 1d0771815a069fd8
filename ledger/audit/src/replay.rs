//! The replay: every block's links, root, certificate and rules against a fresh copy of the state
//! before it, and every proof re-verified in batches.

use crate::report::*;
use crate::source::*;
use rayon::prelude::*;
use std::collections::BTreeMap;
use zkcustoms_ledger_core::finality::verify_finalization;
use zkcustoms_ledger_core::rules::{
    block_batch, signature_refused, CheckError, Overlay, Rules, SignatureBatch,
};
use zkcustoms_ledger_core::store::{Finality, TempStore, TxLocation};
use zkcustoms_ledger_types::block::{merkle_root, BlockHeader};
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{sha256, Hash, Transaction, TxError};
use zkcustoms_verifier::batch::Backend;
use zkcustoms_verifier::{ProofEnvelope, VerifierKeys};

/// A proof waiting for its batch.
pub(crate) struct PendingProof {
    pub(crate) height: u64,
    pub(crate) index: u32,
    pub(crate) hash: Hash,
    pub(crate) envelope: ProofEnvelope,
}

/// The signatures of one block's transactions, queued to be verified together off the
/// sequential replay, with the transaction behind each (in the batch's order).
pub(crate) struct PendingSignatures {
    height: u64,
    batch: SignatureBatch,
    /// Index in the block, hash and transaction of each queued signature.
    entries: Vec<(u32, Hash, Transaction)>,
}

/// The sequential state of a replay.
pub(crate) struct Replay<'a> {
    pub(crate) genesis: &'a Genesis,
    pub(crate) source: &'a dyn Source,
    pub(crate) store: TempStore,
    pub(crate) failures: Vec<Failure>,
    /// Hash of the previous block; `None` after a block that could not be read.
    pub(crate) prev_hash: Option<Hash>,
    pub(crate) prev_timestamp: u64,
    pub(crate) prev_view: u64,
    /// Blocks finalized by a descendant that is not reached yet: (height, descendant named).
    pub(crate) awaiting: Vec<(u64, u64)>,
    pub(crate) blocks: u64,
    pub(crate) transactions: u64,
    pub(crate) by_kind: BTreeMap<&'static str, u64>,
    pub(crate) certificates: u64,
}

impl Replay<'_> {
    pub(crate) fn fail(&mut self, f: Failure) {
        self.failures.push(f);
    }

    /// Checks one block and replays its transactions; its proofs and signatures are queued.
    pub(crate) fn block(
        &mut self,
        height: u64,
        fetched: &Fetched,
        decoded: Vec<Result<Transaction, TxError>>,
        proofs: &mut Vec<PendingProof>,
        signatures: &mut Vec<PendingSignatures>,
    ) -> Result<(), AuditError> {
        let raw = match fetched {
            Fetched::Missing => {
                self.fail(Failure::block(
                    height,
                    Check::MissingBlock,
                    "no block is stored at this height",
                ));
                self.prev_hash = None;
                return Ok(());
            }
            Fetched::Broken { index, message } => {
                let mut f = Failure::block(height, Check::BlockDecode, message.clone());
                f.index = *index;
                self.fail(f);
                self.prev_hash = None;
                return Ok(());
            }
            Fetched::Block(b) => b,
        };
        self.blocks += 1;
        let h = &raw.header;
        let hash = h.hash();
        if h.height != height {
            self.fail(Failure::block(
                height,
                Check::BlockHeight,
                format!(
                    "the block stored at height {height} says height {}",
                    h.height
                ),
            ));
        }
        if let Some(prev) = self.prev_hash {
            if h.parent != prev {
                let what = if height == 1 {
                    "the genesis hash".to_string()
                } else {
                    format!("the hash of block {}", height - 1)
                };
                self.fail(Failure::block(
                    height,
                    Check::HashLink,
                    format!(
                        "parent {} is not {what} ({})",
                        hex::encode(h.parent),
                        hex::encode(prev)
                    ),
                ));
            }
        }
        self.tx_root(height, raw)?;
        self.finality(height, &hash, &raw.finality);
        self.block_rules(height, h);

        // Transactions, in order, against the replayed state.
        let rules = Rules::new(self.genesis, &self.store);
        let mut overlay = Overlay::default();
        let mut queued = PendingSignatures {
            height,
            batch: SignatureBatch::new(decoded.len()),
            entries: Vec::with_capacity(decoded.len()),
        };
        let mut kept = Vec::with_capacity(decoded.len());
        let mut failures = Vec::new();
        for (i, (bytes, tx)) in raw.txs.iter().zip(decoded).enumerate() {
            let index = i as u32;
            let tx_hash = sha256(bytes);
            self.transactions += 1;
            let tx = match tx {
                Ok(tx) => tx,
                Err(e) => {
                    failures.push(Failure::tx(
                        height,
                        index,
                        &tx_hash,
                        Check::TransactionDecode,
                        e.to_string(),
                    ));
                    continue;
                }
            };
            *self.by_kind.entry(tx.kind()).or_default() += 1;
            // The signature is queued rather than checked here; should it fail, its refusal
            // replaces whatever the other rules said of this transaction
            // ([`verify_signatures`]), as the ledger's own check refuses it at the signature.
            let queued_before = queued.batch.len();
            let verdict =
                rules.check_deferring_signature(&tx, &overlay, h.timestamp_ms, &mut queued.batch);
            if queued.batch.len() > queued_before {
                queued.entries.push((index, tx_hash, tx.clone()));
            }
            match verdict {
                Ok(()) => {}
                Err(CheckError::Rejected(r)) => failures.push(
                    Failure::tx(height, index, &tx_hash, Check::Rule, r.message).with_code(r.code),
                ),
                Err(CheckError::Store(e)) => return Err(AuditError::Replay(e)),
            }
            // What the ledger recorded is replayed, valid or not, so later checks see its state.
            overlay.apply(&tx, h.timestamp_ms);
            if let Some(loc) = self.source.tx_location(&tx_hash)? {
                let here = TxLocation { height, index };
                if loc != Some(here) {
                    let said = match loc {
                        Some(l) => format!("block {} index {}", l.height, l.index),
                        None => "nowhere".into(),
                    };
                    failures.push(Failure::tx(
                        height,
                        index,
                        &tx_hash,
                        Check::Index,
                        format!("the transaction index places it {said}"),
                    ));
                }
            }
            if let Transaction::SubmitProof(p) = &tx {
                proofs.push(PendingProof {
                    height,
                    index,
                    hash: tx_hash,
                    envelope: p.envelope.clone(),
                });
            }
            kept.push(tx);
        }
        self.failures.extend(failures);
        signatures.push(queued);
        let block = zkcustoms_ledger_types::block::Block {
            header: h.clone(),
            txs: kept,
        };
        self.store.write(
            block_batch(&self.store, &block, raw.finality.clone())?,
            false,
        )?;
        self.prev_hash = Some(hash);
        self.prev_timestamp = h.timestamp_ms;
        Ok(())
    }

    pub(crate) fn tx_root(&mut self, height: u64, raw: &RawBlock) -> Result<(), AuditError> {
        let h = &raw.header;
        if h.tx_count as usize != raw.txs.len() {
            self.fail(Failure::block(
                height,
                Check::TxRoot,
                format!(
                    "the header counts {} transactions, the block holds {}",
                    h.tx_count,
                    raw.txs.len()
                ),
            ));
            return Ok(());
        }
        if merkle_root(&raw.txs) == h.tx_root {
            return Ok(());
        }
        // Name the transaction that is not the one recorded, when the index tells.
        let mut f = Failure::block(
            height,
            Check::TxRoot,
            "the transactions do not hash to the header's transaction root",
        );
        for (i, bytes) in raw.txs.iter().enumerate() {
            let hash = sha256(bytes);
            let here = Some(TxLocation {
                height,
                index: i as u32,
            });
            match self.source.tx_location(&hash)? {
                Some(loc) if loc != here => {
                    f.index = Some(i as u32);
                    f.tx_hash = Some(hex::encode(hash));
                    f.message = format!(
                        "the transactions do not hash to the header's transaction root: \
                         transaction {i} is not the one recorded at this place"
                    );
                    break;
                }
                _ => {}
            }
        }
        self.fail(f);
        Ok(())
    }

    pub(crate) fn finality(&mut self, height: u64, hash: &Hash, finality: &Finality) {
        match finality {
            Finality::Certificate { view, certificate } => {
                match verify_finalization(self.genesis, hash, certificate) {
                    Ok(v) if v != *view => self.fail(Failure::block(
                        height,
                        Check::Certificate,
                        format!("the certificate is for view {v}, stored as view {view}"),
                    )),
                    Ok(v) if v <= self.prev_view => self.fail(Failure::block(
                        height,
                        Check::Certificate,
                        format!(
                            "the certificate's view {v} is not after the previous certificate's \
                             ({})",
                            self.prev_view
                        ),
                    )),
                    Ok(v) => {
                        self.certificates += 1;
                        self.prev_view = v;
                    }
                    Err(e) => self.fail(Failure::block(height, Check::Certificate, e.to_string())),
                }
                for (h, named) in std::mem::take(&mut self.awaiting) {
                    if named != height {
                        self.fail(Failure::block(
                            h,
                            Check::Certificate,
                            format!(
                                "finalized by descendant {named}, but the next certified block \
                                 is {height}"
                            ),
                        ));
                    }
                }
            }
            Finality::Descendant(named) => {
                if *named <= height {
                    self.fail(Failure::block(
                        height,
                        Check::Certificate,
                        format!("names block {named}, not a descendant, as its finality"),
                    ));
                } else {
                    self.awaiting.push((height, *named));
                }
            }
        }
    }

    pub(crate) fn block_rules(&mut self, height: u64, h: &BlockHeader) {
        // The checks `Chain::validate` makes of a proposed block's header.
        let mut broken = Vec::new();
        if !self
            .genesis
            .validators
            .iter()
            .any(|v| v.as_ref() == h.proposer)
        {
            broken.push("the proposer is not a genesis validator".to_string());
        }
        if h.timestamp_ms < self.prev_timestamp {
            broken.push(format!(
                "timestamp {} is before the parent's ({})",
                h.timestamp_ms, self.prev_timestamp
            ));
        }
        if h.tx_count > self.genesis.params().max_block_txs {
            broken.push(format!(
                "{} transactions, a block carries at most {}",
                h.tx_count,
                self.genesis.params().max_block_txs
            ));
        }
        if !broken.is_empty() {
            self.fail(Failure::block(height, Check::BlockRules, broken.join("; ")));
        }
    }
}

/// Verifies queued proofs in batches, split across the available threads; answers the failures.
pub(crate) fn verify_proofs(keys: &VerifierKeys, proofs: &[PendingProof]) -> Vec<Failure> {
    if proofs.is_empty() {
        return Vec::new();
    }
    let threads = rayon::current_num_threads().max(1);
    let chunk = proofs.len().div_ceil(threads).max(32);
    proofs
        .par_chunks(chunk)
        .flat_map_iter(|group| {
            let envelopes: Vec<ProofEnvelope> = group.iter().map(|p| p.envelope.clone()).collect();
            let verdicts = keys.verify_batch(&envelopes, Backend::Blst);
            group
                .iter()
                .zip(verdicts)
                .filter_map(|(p, v)| v.err().map(|e| (p, e)))
                .map(|(p, e)| {
                    let code = if e.is_invalid_proof() {
                        "invalid-proof"
                    } else {
                        "malformed-proof"
                    };
                    Failure::tx(p.height, p.index, &p.hash, Check::Proof, e.to_string())
                        .with_code(code)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Verifies queued signatures, each block's in one batch (blocks in parallel); for a batch that
/// fails, finds the bad signatures one by one. Answers their failures, each as the ledger's rules
/// refuse a transaction whose signature does not verify.
pub(crate) fn verify_signatures(chain: &Hash, pending: Vec<PendingSignatures>) -> Vec<Failure> {
    pending
        .into_par_iter()
        .flat_map_iter(|p| {
            let keys = p.batch.keys().to_vec();
            if p.batch.verify() {
                return Vec::new();
            }
            p.entries
                .iter()
                .zip(keys)
                .filter(|((_, _, tx), key)| !tx.verify_signature(chain, key))
                .map(|((index, hash, tx), _)| {
                    let refusal = signature_refused(tx);
                    Failure::tx(p.height, *index, hash, Check::Rule, refusal.message)
                        .with_code(refusal.code)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What verifying one window's proofs and signatures found.
pub(crate) struct Checked {
    /// Proofs verified.
    pub(crate) proofs: u64,
    proof_failures: Vec<Failure>,
    signature_failures: Vec<Failure>,
}

impl Checked {
    /// Adds the failures to `failures` (each signature failure in place of the rule failures of
    /// its transaction); answers the number of proof failures.
    pub(crate) fn merge(self, failures: &mut Vec<Failure>) -> u64 {
        record_signature_failures(failures, self.signature_failures);
        let n = self.proof_failures.len() as u64;
        failures.extend(self.proof_failures);
        n
    }
}

/// Verifies one window's queued proofs and signatures.
pub(crate) fn check_window(
    keys: &VerifierKeys,
    chain: &Hash,
    proofs: Vec<PendingProof>,
    signatures: Vec<PendingSignatures>,
) -> Checked {
    let (signature_failures, proof_failures) = rayon::join(
        || verify_signatures(chain, signatures),
        || verify_proofs(keys, &proofs),
    );
    Checked {
        proofs: proofs.len() as u64,
        proof_failures,
        signature_failures,
    }
}

/// Puts each signature failure in place of the rule failures of its transaction: the ledger's
/// rules refuse a transaction at its signature before any other rule.
fn record_signature_failures(failures: &mut Vec<Failure>, bad: Vec<Failure>) {
    let refused: std::collections::HashSet<(u64, Option<u32>)> =
        bad.iter().map(|f| (f.height, f.index)).collect();
    failures.retain(|g| !(g.check == Check::Rule && refused.contains(&(g.height, g.index))));
    failures.extend(bad);
}
