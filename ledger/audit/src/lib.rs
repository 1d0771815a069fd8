//! Audit: replay a ledger from genesis and check everything an auditor must be able to rely on,
//! years later and without trusting the nodes.
//!
//! The blocks come from a [`Source`]: a stopped node's RocksDB store opened read-only
//! ([`StoreSource`]) or a node's HTTP API with an auditor token ([`NodeSource`]). For every height
//! from 1 to the tip, in order:
//!
//! 1. the block is there and decodes (`missing-block`, `block-decode`), at its height
//!    (`block-height`), and links to its parent by hash, the genesis hash for height 1
//!    (`hash-link`);
//! 2. the header's transaction count and RFC 6962 root commit to the stored transactions
//!    (`tx-root`, computed over the stored bytes before anything is decoded);
//! 3. the block is finalized: its own certificate verifies against a quorum of the genesis
//!    validators for exactly this block hash, in a view later than the previous certificate's, or
//!    it names the descendant whose certificate finalized it and that descendant is the next
//!    certified block (`certificate`);
//! 4. the block rules a validating node applies: proposer is a genesis validator, timestamp not
//!    before the parent's, at most `max_block_txs` transactions (`block-rules`). Whether a block
//!    was dated ahead of the clock is judged by the validators voting for it, against their own
//!    clocks, and attested by its certificate; an audit does not judge it by the auditor's clock,
//!    so that its verdict depends on the log and the genesis alone, whoever runs it and when;
//! 5. every transaction decodes with full validation (`transaction-decode`) and passes every ledger
//!    rule, checked by the same [`Rules`] the nodes run, against a fresh replay of the blocks
//!    before it (`rule`, with the rule's code: signatures of authorities and customs offices,
//!    nullifier uniqueness, registry-root currency and grace, anchored digests, versions,
//!    examinations, duplicates, pinned keys);
//! 6. every proof verifies, re-checked in batches over many blocks at once (`proof`);
//! 7. for a store: every transaction's index entry points at its place, the stored tip is the last
//!    block, nothing is stored past it, and every column family the blocks derive (owners,
//!    delegations, trader keys, nullifiers, claims, roots, documents, digests, examinations,
//!    records and the indices) holds exactly what the replay of the blocks wrote, no entry more
//!    or less (`index`): the state a node enforces and serves is the blocks' state.
//!
//! The audit goes on after a failure (to count them) and reports them in ledger order; the first
//! one names the height, the transaction (index and hash) and the check exactly.

mod replay;
mod report;
mod source;

use rayon::prelude::*;
use replay::*;
pub use report::{AuditError, Check, Failure, Progress, Report};
pub use source::{
    keys_from_dir, parse_stored_block, Fetched, NodeSource, RawBlock, Source, StoreSource,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;
use zkcustoms_ledger_core::finality::verify_finalization;
use zkcustoms_ledger_core::store::{
    derived_families, Finality, NullifierIndex, Schema, Store, TempStore,
};
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{sha256, Hash, Transaction, TxError};
use zkcustoms_verifier::VerifierKeys;

/// Format tag of an audit report.
pub const REPORT_FORMAT: &str = "zkcustoms-audit/v1";
/// Most failures listed in a report (all are counted).
pub const MAX_LISTED_FAILURES: usize = 100;
/// About how many transactions are read, replayed and batch-verified together.
pub(crate) const WINDOW_TXS: u64 = 4096;
/// Blocks read at once (in parallel) while a window is filled.
const FETCH_CHUNK: u64 = 16;
/// Missing blocks in a row after which the rest of the stated chain is not read (one failure
/// says so).
const MAX_MISSING_RUN: u64 = 1024;
/// The tip a node states bounds the walk, so it must be a block the genesis validators certified
/// under the stated hash (a node's finalized tip always carries its own certificate): a node
/// stating a tip far above its chain, with made-up blocks below it, would otherwise be read for
/// as long as it likes. A stored ledger's tip is the auditor's own copy, and a missing or broken
/// tip block there is reported as a failure.
fn check_stated_tip(
    genesis: &Genesis,
    source: &dyn Source,
    tip: u64,
    tip_hash: &Hash,
) -> Result<(), AuditError> {
    if tip == 0 {
        return Ok(());
    }
    let refused = |why: String| {
        AuditError::Source(format!(
            "{} states tip {tip} ({}), {why}: nothing is read",
            source.describe(),
            hex::encode(tip_hash)
        ))
    };
    let Fetched::Block(block) = source.block(tip)? else {
        return Err(refused("and serves no block there".into()));
    };
    let hash = block.header.hash();
    if hash != *tip_hash || block.header.height != tip {
        return Err(refused(format!(
            "and serves block {} ({}) there",
            block.header.height,
            hex::encode(hash)
        )));
    }
    match &block.finality {
        Finality::Certificate { certificate, .. } => {
            verify_finalization(genesis, &hash, certificate)
                .map(|_| ())
                .map_err(|e| refused(format!("whose certificate does not verify ({e})")))
        }
        Finality::Descendant(top) => Err(refused(format!(
            "which carries no certificate of its own (it says block {top} finalizes it: a node \
             catching up holds such a tip until it has that block; audit it once it has caught \
             up)"
        ))),
    }
}

/// Audits a ledger: every check of the module documentation, from genesis to the tip the source
/// states. `keys` are the verifying keys pinned in genesis. Answers the report (whose `ok` says
/// whether everything holds), or why the audit could not run.
pub fn run(
    genesis: &Genesis,
    source: &dyn Source,
    keys: &VerifierKeys,
    mut progress: impl FnMut(&Progress),
) -> Result<Report, AuditError> {
    let start = Instant::now();
    let chain_id = source.chain_id()?;
    if chain_id != genesis.chain_id {
        return Err(AuditError::WrongChain(format!(
            "{} belongs to chain {}, not to this genesis ({})",
            source.describe(),
            hex::encode(chain_id),
            hex::encode(genesis.chain_id)
        )));
    }
    for (circuit, id) in &genesis.pinned {
        if keys.get(*circuit).map(|k| k.id()) != Some(*id) {
            return Err(AuditError::Keys(format!(
                "no verifying key {id} for {circuit}"
            )));
        }
    }
    let (tip, tip_hash) = source.tip()?;
    if !source.frozen() {
        check_stated_tip(genesis, source, tip, &tip_hash)?;
    }
    let store = TempStore::new()?;
    store.bind_chain(&genesis.chain_id)?;
    let mut replay = Replay {
        genesis,
        source,
        store,
        failures: Vec::new(),
        prev_hash: Some(genesis.chain_id),
        prev_timestamp: 0,
        prev_view: 0,
        awaiting: Vec::new(),
        blocks: 0,
        transactions: 0,
        by_kind: BTreeMap::new(),
        certificates: 0,
    };
    let mut proofs_checked = 0u64;
    let mut proof_failures = 0u64;
    let mut window = 1u64;
    let mut height = 1u64;
    let mut in_flight: Option<(Vec<PendingProof>, Vec<PendingSignatures>)> = None;
    let mut found = Found::default();
    let mut missing_run = 0u64;
    while height <= tip {
        // Read a chunk of blocks at a time, until the window's transactions are in: however the
        // source sizes its blocks, about WINDOW_TXS transactions (and a chunk) are held at once.
        let last = tip.min(height + window - 1);
        let mut fetched: Vec<Fetched> = Vec::new();
        let mut txs_fetched = 0u64;
        while height + (fetched.len() as u64) <= last && txs_fetched < WINDOW_TXS {
            let from = height + fetched.len() as u64;
            let chunk: Vec<Fetched> = (from..=last.min(from + FETCH_CHUNK - 1))
                .into_par_iter()
                .map(|h| source.block(h))
                .collect::<Result<_, _>>()?;
            for f in &chunk {
                match f {
                    Fetched::Block(b) => {
                        txs_fetched += b.txs.len() as u64;
                        missing_run = 0;
                    }
                    // A block that does not decode is no more there than a missing one.
                    Fetched::Missing | Fetched::Broken { .. } => missing_run += 1,
                }
            }
            fetched.extend(chunk);
        }
        let end = height + fetched.len() as u64 - 1;
        let decoded: Vec<Vec<Result<Transaction, TxError>>> = fetched
            .par_iter()
            .map(|f| match f {
                Fetched::Block(b) => b
                    .txs
                    .par_iter()
                    .map(|t| Transaction::from_bytes(t))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        // The window's blocks are replayed (one thread: each block's state follows the one
        // before) while the previous window's proofs and signatures are verified beside it.
        let mut proofs = Vec::new();
        let mut signatures = Vec::new();
        let previous = in_flight.take();
        let (checked, replayed) = rayon::join(
            || previous.map(|(p, s)| check_window(keys, &genesis.chain_id, p, s)),
            || -> Result<(), AuditError> {
                for ((h, f), d) in (height..=end).zip(&fetched).zip(decoded) {
                    replay.block(h, f, d, &mut proofs, &mut signatures)?;
                }
                Ok(())
            },
        );
        replayed?;
        if let Some(checked) = checked {
            proofs_checked += checked.proofs;
            proof_failures += checked.merge(&mut replay.failures);
        }
        // The blocks before this window have had their signatures checked: their failures are
        // final.
        let (done, recent) = std::mem::take(&mut replay.failures)
            .into_iter()
            .partition(|f| f.height < height);
        replay.failures = recent;
        found.add(done);
        in_flight = Some((proofs, signatures));
        progress(&Progress {
            height: end,
            tip,
            transactions: replay.transactions,
            proofs: proofs_checked,
            failures: found.count + replay.failures.len() as u64,
            elapsed: start.elapsed(),
        });
        // A source that states a tip far above the blocks it holds is not read to the end.
        if missing_run >= MAX_MISSING_RUN && end < tip {
            replay.fail(Failure::block(
                end + 1,
                Check::MissingBlock,
                format!(
                    "{missing_run} blocks in a row are missing up to here: blocks {} to {tip} \
                     are not read",
                    end + 1
                ),
            ));
            break;
        }
        // Aim at about WINDOW_TXS transactions per group of blocks, growing step by step.
        let per_block = (txs_fetched / (end - height + 1)).max(1);
        window = (WINDOW_TXS / per_block).clamp(1, (window * 4).min(1024));
        height = end + 1;
    }
    if let Some((p, s)) = in_flight.take() {
        let checked = check_window(keys, &genesis.chain_id, p, s);
        proofs_checked += checked.proofs;
        proof_failures += checked.merge(&mut replay.failures);
        progress(&Progress {
            height: tip,
            tip,
            transactions: replay.transactions,
            proofs: proofs_checked,
            failures: found.count + replay.failures.len() as u64,
            elapsed: start.elapsed(),
        });
    }
    for (h, named) in std::mem::take(&mut replay.awaiting) {
        replay.fail(Failure::block(
            h,
            Check::Certificate,
            format!("finalized by descendant {named}, but no certified block follows it"),
        ));
    }
    if replay.prev_hash.is_some_and(|h| h != tip_hash) && tip > 0 {
        replay.fail(Failure::block(
            tip,
            Check::Index,
            format!(
                "the stated tip {} is not the last block's hash",
                hex::encode(tip_hash)
            ),
        ));
    }
    if tip == 0 && tip_hash != genesis.chain_id {
        replay.fail(Failure::block(
            0,
            Check::Index,
            "the stated tip of an empty ledger is not the genesis hash",
        ));
    }
    // (A recorded tip at the last height there is has nothing after it.)
    let next = tip.checked_add(1).filter(|_| source.frozen());
    if let Some(next) = next {
        if !matches!(source.block(next)?, Fetched::Missing) {
            replay.fail(Failure::block(
                next,
                Check::Index,
                "a block is stored after the recorded tip",
            ));
        }
    }
    if source.frozen() {
        if let Some(stored) = source.database() {
            derived_state(stored, &mut replay, tip)?;
        }
    }
    found.add(std::mem::take(&mut replay.failures));
    let (failure_count, failures) = found.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let mut checks: Vec<&'static str> = [
        Check::MissingBlock,
        Check::BlockDecode,
        Check::BlockHeight,
        Check::HashLink,
        Check::TxRoot,
        Check::Certificate,
        Check::BlockRules,
        Check::TransactionDecode,
        Check::Rule,
        Check::Proof,
    ]
    .iter()
    .map(|c| c.name())
    .collect();
    if source.frozen() {
        checks.push(Check::Index.name());
    }
    Ok(Report {
        format: REPORT_FORMAT,
        ok: failures.is_empty(),
        source: source.describe(),
        chain_id: hex::encode(genesis.chain_id),
        chain_name: genesis.file.chain_name.clone(),
        validators: genesis.validators.len(),
        height: tip,
        tip: hex::encode(tip_hash),
        blocks: replay.blocks,
        transactions: replay.transactions,
        transactions_by_kind: replay.by_kind,
        certificates_verified: replay.certificates,
        proofs_checked,
        proofs_valid: proofs_checked - proof_failures,
        elapsed_seconds: elapsed,
        proofs_per_second: if elapsed > 0.0 {
            proofs_checked as f64 / elapsed
        } else {
            0.0
        },
        checks,
        first_failure: failures.first().cloned(),
        failure_count,
        failures,
    })
}

/// The failures found: all counted, the first [`MAX_LISTED_FAILURES`] in ledger order kept (a
/// ledger failing at every transaction does not fill the auditor's memory).
#[derive(Default)]
struct Found {
    count: u64,
    kept: Vec<Failure>,
}

impl Found {
    fn add(&mut self, failures: impl IntoIterator<Item = Failure>) {
        for f in failures {
            self.count += 1;
            self.kept.push(f);
            if self.kept.len() >= 4 * MAX_LISTED_FAILURES {
                self.trim();
            }
        }
    }

    fn trim(&mut self) {
        self.kept.sort_by_key(Failure::order);
        self.kept.truncate(MAX_LISTED_FAILURES);
    }

    /// The count, and the failures listed.
    fn finish(mut self) -> (u64, Vec<Failure>) {
        self.trim();
        (self.count, self.kept)
    }
}

/// Compares each column family of `stored` that the blocks derive with the one the replay
/// wrote: the first difference in each is a failure at the tip.
fn derived_state(stored: &Store, replay: &mut Replay, tip: u64) -> Result<(), AuditError> {
    for cf in derived_families() {
        // A database of format 1 has no nullifier index yet (its node writes it when upgraded).
        if cf == NullifierIndex::CF && stored.format() < 2 {
            continue;
        }
        let difference = stored
            .first_difference(&replay.store, cf)
            .map_err(|e| AuditError::Source(format!("column family {cf}: {e}")))?;
        if let Some((key, d)) = difference {
            replay.fail(Failure::block(
                tip,
                Check::Index,
                format!(
                    "the {cf} column family holds {d} (key {}): its state is not the blocks'",
                    hex::encode(key)
                ),
            ));
        }
    }
    Ok(())
}

/// Writes the ledger's transactions as JSON lines, in ledger order: `{"height", "index",
/// "block", "timestamp_ms", "hash", "transaction"}` (the transaction in its API JSON form).
/// Nothing is checked beyond decoding: audit the ledger to rely on it. Answers the number of
/// lines written.
pub fn export_log(source: &dyn Source, out: &mut dyn Write) -> Result<u64, AuditError> {
    let (tip, _) = source.tip()?;
    let mut lines = 0u64;
    let io = |e: std::io::Error| AuditError::Output(e.to_string());
    for height in 1..=tip {
        let raw = match source.block(height)? {
            Fetched::Block(b) => b,
            Fetched::Missing => {
                return Err(AuditError::Source(format!(
                    "block {height} is missing: run `zkcustoms audit`"
                )))
            }
            Fetched::Broken { message, .. } => {
                return Err(AuditError::Source(format!(
                    "block {height} does not decode ({message}): run `zkcustoms audit`"
                )))
            }
        };
        let block_hash = hex::encode(raw.header.hash());
        for (i, bytes) in raw.txs.iter().enumerate() {
            let tx = Transaction::from_bytes(bytes).map_err(|e| {
                AuditError::Source(format!(
                    "block {height}, transaction {i} does not decode ({e}): run `zkcustoms audit`"
                ))
            })?;
            let line = serde_json::json!({
                "height": height,
                "index": i,
                "block": block_hash,
                "timestamp_ms": raw.header.timestamp_ms,
                "hash": hex::encode(sha256(bytes)),
                "transaction": tx.to_json(),
            });
            writeln!(out, "{line}").map_err(io)?;
            lines += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(lines)
}
