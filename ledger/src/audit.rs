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
//!    before the parent's nor in the future, at most `max_block_txs` transactions (`block-rules`);
//! 5. every transaction decodes with full validation (`transaction-decode`) and passes every ledger
//!    rule, checked by the same [`Rules`] the nodes run, against a fresh replay of the blocks
//!    before it (`rule`, with the rule's code: signatures of authorities and customs offices,
//!    nullifier uniqueness, registry-root currency and grace, anchored digests, versions,
//!    examinations, duplicates, pinned keys);
//! 6. every proof verifies, re-checked in batches over many blocks at once (`proof`);
//! 7. for a store: every transaction's index entry points at its place, the stored tip is the last
//!    block, and nothing is stored past it (`index`).
//!
//! The audit goes on after a failure (to count them) and reports them in ledger order; the first
//! one names the height, the transaction (index and hash) and the check exactly.

use crate::block::{merkle_root, BlockHeader, HEADER_LEN, MAX_BLOCK_TXS};
use crate::chain::{now_ms, MAX_CLOCK_SKEW_MS};
use crate::client::{Client, ClientError};
use crate::codec::Reader;
use crate::consensus::verify_finalization;
use crate::genesis::Genesis;
use crate::state::{block_batch, CheckError, Overlay, Rules};
use crate::store::{
    Blocks, Finality, Meta, Store, TempStore, Transactions, TxLocation, VerifyingKeys,
    META_CHAIN_ID, VALUE_VERSION,
};
use crate::tx::{sha256, Hash, Transaction, TxError, MAX_TX_BYTES};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkcustoms_verifier::batch::Backend;
use zkcustoms_verifier::{KeyDir, ProofEnvelope, VerifierKeys, VerifyingKey};

/// Format tag of an audit report.
pub const REPORT_FORMAT: &str = "zkcustoms-audit/v1";
/// Most failures listed in a report (all are counted).
pub const MAX_LISTED_FAILURES: usize = 100;
/// About how many transactions are read, replayed and batch-verified together.
const WINDOW_TXS: u64 = 4096;

/// What the audit checks, in the order it checks them within a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Check {
    /// No block is stored at a height up to the tip.
    MissingBlock,
    /// The stored block does not decode (framing, header, finality).
    BlockDecode,
    /// The block stored at a height says another height.
    BlockHeight,
    /// The parent hash is not the previous block's hash (the genesis hash for height 1).
    HashLink,
    /// The header's transaction count or root does not commit to the transactions.
    TxRoot,
    /// The block is not finalized by a valid certificate of a quorum of genesis validators.
    Certificate,
    /// A block rule: proposer, timestamp, size.
    BlockRules,
    /// A transaction does not decode.
    TransactionDecode,
    /// A ledger rule (the failure's code names it).
    Rule,
    /// A proof does not verify.
    Proof,
    /// The store's indices or tip disagree with the blocks.
    Index,
}

impl Check {
    /// The check's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::MissingBlock => "missing-block",
            Check::BlockDecode => "block-decode",
            Check::BlockHeight => "block-height",
            Check::HashLink => "hash-link",
            Check::TxRoot => "tx-root",
            Check::Certificate => "certificate",
            Check::BlockRules => "block-rules",
            Check::TransactionDecode => "transaction-decode",
            Check::Rule => "rule",
            Check::Proof => "proof",
            Check::Index => "index",
        }
    }

    /// True for checks of one transaction (as opposed to the block).
    fn per_transaction(self) -> bool {
        matches!(
            self,
            Check::TransactionDecode | Check::Rule | Check::Proof | Check::Index
        )
    }
}

/// One failed check, located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Block height.
    pub height: u64,
    /// Index of the transaction in the block, when the failure is about one.
    pub index: Option<u32>,
    /// Hash of that transaction (hex).
    pub tx_hash: Option<String>,
    /// The check that failed.
    pub check: Check,
    /// For `rule` and `proof`: the rule's refusal code (`nullifier-used`, `invalid-proof`, ...).
    pub code: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Failure {
    fn block(height: u64, check: Check, message: impl Into<String>) -> Self {
        Self {
            height,
            index: None,
            tx_hash: None,
            check,
            code: None,
            message: message.into(),
        }
    }

    fn tx(height: u64, index: u32, hash: &Hash, check: Check, message: impl Into<String>) -> Self {
        Self {
            height,
            index: Some(index),
            tx_hash: Some(hex::encode(hash)),
            check,
            code: None,
            message: message.into(),
        }
    }

    fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Ledger order: height, then block-level checks before the transactions', then index.
    fn order(&self) -> (u64, bool, u32, Check) {
        (
            self.height,
            self.check.per_transaction(),
            self.index.unwrap_or(0),
            self.check,
        )
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "block {}", self.height)?;
        if let Some(i) = self.index {
            write!(f, ", transaction {i}")?;
        }
        if let Some(h) = &self.tx_hash {
            write!(f, " ({}…)", &h[..16])?;
        }
        write!(f, ": {}", self.check.name())?;
        if let Some(c) = &self.code {
            write!(f, " [{c}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of an audit (also its JSON report).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub format: &'static str,
    /// True when every check holds.
    pub ok: bool,
    /// What was audited (a store path or a node URL).
    pub source: String,
    /// The chain id (hex).
    pub chain_id: String,
    /// The chain's name in genesis.
    pub chain_name: String,
    /// Number of genesis validators whose quorum certificates need.
    pub validators: usize,
    /// Height of the tip audited.
    pub height: u64,
    /// The tip's hash as the source states it (hex).
    pub tip: String,
    /// Blocks read.
    pub blocks: u64,
    /// Transactions read.
    pub transactions: u64,
    /// Transactions by kind.
    pub transactions_by_kind: BTreeMap<&'static str, u64>,
    /// Finalization certificates verified.
    pub certificates_verified: u64,
    /// Proofs re-verified (batched), valid or not.
    pub proofs_checked: u64,
    /// Proofs that verified.
    pub proofs_valid: u64,
    /// Wall-clock time of the audit, in seconds.
    pub elapsed_seconds: f64,
    /// Proofs re-verified per second of the whole audit.
    pub proofs_per_second: f64,
    /// The checks made, by name.
    pub checks: Vec<&'static str>,
    /// The first failure in ledger order.
    pub first_failure: Option<Failure>,
    /// Number of failures.
    pub failure_count: u64,
    /// The first [`MAX_LISTED_FAILURES`] failures, in ledger order.
    pub failures: Vec<Failure>,
}

/// Progress, reported after each group of blocks.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Last height checked.
    pub height: u64,
    /// The tip being audited up to.
    pub tip: u64,
    /// Transactions checked so far.
    pub transactions: u64,
    /// Proofs re-verified so far.
    pub proofs: u64,
    /// Failures so far.
    pub failures: u64,
    /// Time since the audit started.
    pub elapsed: Duration,
}

/// Why an audit cannot run (as opposed to a check that fails, which is in the [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The source cannot be read: missing or unreadable store, unreachable node, refused token.
    #[error("{0}")]
    Source(String),
    /// The source belongs to another ledger than the genesis given.
    #[error("{0}")]
    WrongChain(String),
    /// The verifying keys pinned in genesis cannot be loaded.
    #[error("verifying keys: {0}")]
    Keys(String),
    /// The temporary replay store failed.
    #[error("replay store: {0}")]
    Replay(#[from] crate::store::StoreError),
    /// Writing output failed.
    #[error("{0}")]
    Output(String),
}

/// A block as a source holds it: the header, the transactions' bytes (not decoded yet) and how
/// it was finalized.
#[derive(Clone, Debug)]
pub struct RawBlock {
    /// The header.
    pub header: BlockHeader,
    /// Each transaction's canonical bytes, as stored.
    pub txs: Vec<Vec<u8>>,
    /// What finalized it.
    pub finality: Finality,
}

/// A block read from a source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Fetched {
    /// Nothing at this height.
    Missing,
    /// Something that does not decode; the index of the transaction at fault when known.
    Broken {
        /// The transaction at fault, when the damage is in one.
        index: Option<u32>,
        /// What is wrong.
        message: String,
    },
    /// A block.
    Block(RawBlock),
}

/// Where the audited blocks come from.
pub trait Source: Sync {
    /// What is audited, for the report.
    fn describe(&self) -> String;
    /// The chain id the source says it belongs to.
    fn chain_id(&self) -> Result<Hash, AuditError>;
    /// The finalized tip the source states: height and hash.
    fn tip(&self) -> Result<(u64, Hash), AuditError>;
    /// The block at a height.
    fn block(&self, height: u64) -> Result<Fetched, AuditError>;
    /// Where the source's index places a transaction; `None` when the source keeps no index
    /// (then the `index` checks are skipped).
    fn tx_location(&self, hash: &Hash) -> Result<Option<Option<TxLocation>>, AuditError>;
    /// True when the source is a complete, frozen store: then nothing may follow the tip.
    fn frozen(&self) -> bool;
}

/// A stopped node's store, opened read-only.
#[derive(Debug)]
pub struct StoreSource {
    store: Store,
    path: PathBuf,
}

impl StoreSource {
    /// Opens a node's data directory (`DIR/ledger`) or the database directory itself, read-only.
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        if !dir.is_dir() {
            return Err(AuditError::Source(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let path = if dir.join("ledger").is_dir() {
            dir.join("ledger")
        } else {
            dir.to_owned()
        };
        if !path.join("CURRENT").is_file() {
            return Err(AuditError::Source(format!(
                "{} is not a node data directory (no ledger database in it)",
                dir.display()
            )));
        }
        let store = Store::open_read_only(&path).map_err(|e| {
            AuditError::Source(format!("cannot open the database {}: {e}", path.display()))
        })?;
        Ok(Self { store, path })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The verifying keys pinned in genesis, as the node stored them (each checked against its
    /// pinned id).
    pub fn verifying_keys(&self, genesis: &Genesis) -> Result<VerifierKeys, AuditError> {
        let mut keys = VerifierKeys::default();
        for (circuit, id) in &genesis.pinned {
            let stored = self
                .store
                .get::<VerifyingKeys>(&id.0)
                .map_err(|e| AuditError::Keys(e.to_string()))?;
            let key = match stored {
                Some((c, bytes)) if c == *circuit => VerifyingKey::from_bytes(c, &bytes)
                    .map_err(|e| AuditError::Keys(format!("stored key of {c}: {e}")))?,
                _ => {
                    return Err(AuditError::Keys(format!(
                        "the store holds no verifying key {id} for {circuit}: give --keys"
                    )))
                }
            };
            if key.id() != *id {
                return Err(AuditError::Keys(format!(
                    "the stored key of {circuit} is not the pinned key {id}: give --keys"
                )));
            }
            keys.insert(key);
        }
        Ok(keys)
    }
}

/// Decodes a stored `blocks` value without decoding its transactions (see
/// [`crate::store::Blocks`] for the layout).
pub fn parse_stored_block(raw: &[u8]) -> Fetched {
    let broken = |message: String| Fetched::Broken {
        index: None,
        message,
    };
    let mut r = Reader::new(raw);
    let outer = (|| {
        let version = r.u8("value version")?;
        if version != VALUE_VERSION {
            return Err(crate::codec::DecodeError::invalid(
                "value version",
                format!("unknown version {version}"),
            ));
        }
        let block = r.bytes("block", 64 << 20)?;
        let finality = match r.u8("finality")? {
            1 => Finality::Certificate {
                view: r.u64("view")?,
                certificate: r.bytes("certificate", 1 << 20)?.to_vec(),
            },
            2 => Finality::Descendant(r.u64("descendant")?),
            t => {
                return Err(crate::codec::DecodeError::invalid(
                    "finality",
                    format!("tag {t}"),
                ))
            }
        };
        Ok((block, finality))
    })();
    let (block, finality) = match outer.and_then(|v| r.finish().map(|()| v)) {
        Ok(v) => v,
        Err(e) => return broken(format!("stored block: {e}")),
    };
    if block.len() < HEADER_LEN {
        return broken("stored block is shorter than a header".into());
    }
    let header = match BlockHeader::from_bytes(&block[..HEADER_LEN]) {
        Ok(h) => h,
        Err(e) => return broken(format!("header: {e}")),
    };
    let mut r = Reader::new(&block[HEADER_LEN..]);
    let mut txs = Vec::new();
    while r.remaining() > 0 {
        if txs.len() > MAX_BLOCK_TXS as usize {
            return broken(format!("more than {MAX_BLOCK_TXS} transactions"));
        }
        match r.bytes("transaction", MAX_TX_BYTES) {
            Ok(t) => txs.push(t.to_vec()),
            Err(e) => {
                return Fetched::Broken {
                    index: Some(txs.len() as u32),
                    message: format!("transaction framing: {e}"),
                }
            }
        }
    }
    Fetched::Block(RawBlock {
        header,
        txs,
        finality,
    })
}

impl Source for StoreSource {
    fn describe(&self) -> String {
        format!("store {}", self.path.display())
    }

    fn chain_id(&self) -> Result<Hash, AuditError> {
        let id = self
            .store
            .get::<Meta>(&META_CHAIN_ID)
            .map_err(|e| AuditError::Source(e.to_string()))?
            .ok_or_else(|| {
                AuditError::Source(format!(
                    "{} holds no chain id: not a zkcustoms ledger database",
                    self.path.display()
                ))
            })?;
        id.try_into()
            .map_err(|_| AuditError::Source("the stored chain id is not 32 bytes".into()))
    }

    fn tip(&self) -> Result<(u64, Hash), AuditError> {
        self.store
            .tip()
            .map_err(|e| AuditError::Source(e.to_string()))?
            .ok_or_else(|| AuditError::Source("the database records no tip".into()))
    }

    fn block(&self, height: u64) -> Result<Fetched, AuditError> {
        match self.store.get_raw::<Blocks>(&height) {
            Ok(None) => Ok(Fetched::Missing),
            Ok(Some(raw)) => Ok(parse_stored_block(&raw)),
            Err(e) => Err(AuditError::Source(e.to_string())),
        }
    }

    fn tx_location(&self, hash: &Hash) -> Result<Option<Option<TxLocation>>, AuditError> {
        match self.store.get::<Transactions>(hash) {
            Ok(l) => Ok(Some(l)),
            // A damaged index entry is a failed check, not a reason to stop.
            Err(crate::store::StoreError::Corrupted { .. }) => Ok(Some(None)),
            Err(e) => Err(AuditError::Source(e.to_string())),
        }
    }

    fn frozen(&self) -> bool {
        true
    }
}

/// A node's HTTP API, read with an auditor (or customs) token.
#[derive(Debug)]
pub struct NodeSource {
    client: Client,
    url: String,
}

impl NodeSource {
    /// A source reading the node at `url` with `token`.
    pub fn new(url: &str, token: &str) -> Self {
        Self {
            client: Client::new(url, token),
            url: url.to_owned(),
        }
    }

    fn status(&self) -> Result<Value, AuditError> {
        self.client.status().map_err(|e| source_error(&self.url, e))
    }
}

fn source_error(url: &str, e: ClientError) -> AuditError {
    AuditError::Source(format!("node {url}: {e}"))
}

fn hex32(v: &Value, field: &str) -> Result<[u8; 32], String> {
    v[field]
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{field} is not 32 bytes of hex"))
}

/// Reads a block as the API answers it (`GET /v1/blocks/{height}`).
fn parse_api_block(v: &Value) -> Fetched {
    let broken = |message: String| Fetched::Broken {
        index: None,
        message,
    };
    let int = |field: &str| v[field].as_u64().ok_or(format!("{field} is not a number"));
    let header = (|| -> Result<BlockHeader, String> {
        Ok(BlockHeader {
            height: int("height")?,
            parent: hex32(v, "parent")?,
            timestamp_ms: int("timestamp_ms")?,
            tx_root: hex32(v, "tx_root")?,
            tx_count: u32::try_from(int("tx_count")?).map_err(|_| "tx_count is too large")?,
            proposer: hex32(v, "proposer")?,
        })
    })();
    let header = match header {
        Ok(h) => h,
        Err(e) => return broken(format!("header: {e}")),
    };
    let f = &v["finality"];
    let finality = match f["kind"].as_str() {
        Some("certificate") => match (
            f["view"].as_u64(),
            f["certificate"].as_str().and_then(|c| hex::decode(c).ok()),
        ) {
            (Some(view), Some(certificate)) => Finality::Certificate { view, certificate },
            _ => return broken("finality: malformed certificate".into()),
        },
        Some("descendant") => match f["height"].as_u64() {
            Some(h) => Finality::Descendant(h),
            None => return broken("finality: malformed descendant".into()),
        },
        _ => return broken("finality: unknown kind".into()),
    };
    let Some(list) = v["transactions"].as_array() else {
        return broken("transactions are not a list".into());
    };
    if list.len() > MAX_BLOCK_TXS as usize {
        return broken(format!("more than {MAX_BLOCK_TXS} transactions"));
    }
    let mut txs = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let mut t = t.clone();
        if let Some(o) = t.as_object_mut() {
            // The hash the node adds is recomputed, not trusted.
            o.remove("hash");
        }
        match Transaction::from_json(t) {
            Ok(tx) => txs.push(tx.to_bytes()),
            Err(e) => {
                return Fetched::Broken {
                    index: Some(i as u32),
                    message: format!("transaction: {e}"),
                }
            }
        }
    }
    Fetched::Block(RawBlock {
        header,
        txs,
        finality,
    })
}

impl Source for NodeSource {
    fn describe(&self) -> String {
        format!("node {}", self.url)
    }

    fn chain_id(&self) -> Result<Hash, AuditError> {
        hex32(&self.status()?, "chain_id")
            .map_err(|e| AuditError::Source(format!("node {}: status: {e}", self.url)))
    }

    fn tip(&self) -> Result<(u64, Hash), AuditError> {
        let v = self.status()?;
        let height = v["height"].as_u64().ok_or_else(|| {
            AuditError::Source(format!("node {}: status has no height", self.url))
        })?;
        let tip = hex32(&v, "tip")
            .map_err(|e| AuditError::Source(format!("node {}: status: {e}", self.url)))?;
        Ok((height, tip))
    }

    fn block(&self, height: u64) -> Result<Fetched, AuditError> {
        match self.client.get(&format!("/v1/blocks/{height}")) {
            Ok(v) => Ok(parse_api_block(&v)),
            Err(ClientError::Api { status: 404, .. }) => Ok(Fetched::Missing),
            Err(e) => Err(source_error(&self.url, e)),
        }
    }

    fn tx_location(&self, _: &Hash) -> Result<Option<Option<TxLocation>>, AuditError> {
        Ok(None)
    }

    fn frozen(&self) -> bool {
        false
    }
}

/// The verifying keys pinned in genesis, from a key directory (each checked against its id).
pub fn keys_from_dir(dir: &Path, genesis: &Genesis) -> Result<VerifierKeys, AuditError> {
    let kd = KeyDir::open(dir).map_err(|e| AuditError::Keys(e.to_string()))?;
    let mut keys = VerifierKeys::default();
    for (circuit, id) in &genesis.pinned {
        let key = kd
            .verifying_key(*circuit)
            .map_err(|e| AuditError::Keys(format!("{circuit}: {e}")))?;
        if key.id() != *id {
            return Err(AuditError::Keys(format!(
                "the key directory's key for {circuit} is {}, genesis pins {id}",
                key.id()
            )));
        }
        keys.insert(key);
    }
    Ok(keys)
}

/// A proof waiting for its batch.
struct PendingProof {
    height: u64,
    index: u32,
    hash: Hash,
    envelope: ProofEnvelope,
}

/// The sequential state of a replay.
struct Replay<'a> {
    genesis: &'a Genesis,
    source: &'a dyn Source,
    store: TempStore,
    failures: Vec<Failure>,
    /// Hash of the previous block; `None` after a block that could not be read.
    prev_hash: Option<Hash>,
    prev_timestamp: u64,
    prev_view: u64,
    /// Blocks finalized by a descendant that is not reached yet: (height, descendant named).
    awaiting: Vec<(u64, u64)>,
    blocks: u64,
    transactions: u64,
    by_kind: BTreeMap<&'static str, u64>,
    certificates: u64,
    now: u64,
}

impl Replay<'_> {
    fn fail(&mut self, f: Failure) {
        self.failures.push(f);
    }

    /// Checks one block and replays its transactions; its proofs are queued.
    fn block(
        &mut self,
        height: u64,
        fetched: &Fetched,
        decoded: Vec<Result<Transaction, TxError>>,
        proofs: &mut Vec<PendingProof>,
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
        let rules = Rules {
            genesis: self.genesis,
            store: &self.store,
        };
        let mut overlay = Overlay::default();
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
            match rules.check(&tx, &overlay, h.timestamp_ms) {
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
        let block = crate::block::Block {
            header: h.clone(),
            txs: kept,
        };
        self.store
            .write(block_batch(&block, raw.finality.clone()), false)?;
        self.prev_hash = Some(hash);
        self.prev_timestamp = h.timestamp_ms;
        Ok(())
    }

    fn tx_root(&mut self, height: u64, raw: &RawBlock) -> Result<(), AuditError> {
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

    fn finality(&mut self, height: u64, hash: &Hash, finality: &Finality) {
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
                    Err(e) => self.fail(Failure::block(height, Check::Certificate, e)),
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

    fn block_rules(&mut self, height: u64, h: &BlockHeader) {
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
        if h.timestamp_ms > self.now + MAX_CLOCK_SKEW_MS {
            broken.push(format!("timestamp {} is in the future", h.timestamp_ms));
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
fn verify_proofs(keys: &VerifierKeys, proofs: &[PendingProof]) -> Vec<Failure> {
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
        now: now_ms(),
    };
    let mut proofs_checked = 0u64;
    let mut proof_failures = 0u64;
    let mut window = 1u64;
    let mut height = 1u64;
    while height <= tip {
        let end = tip.min(height + window - 1);
        let fetched: Vec<Fetched> = (height..=end)
            .into_par_iter()
            .map(|h| source.block(h))
            .collect::<Result<_, _>>()?;
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
        let mut proofs = Vec::new();
        let mut txs_in_window = 0u64;
        for ((h, f), d) in (height..=end).zip(&fetched).zip(decoded) {
            txs_in_window += d.len() as u64;
            replay.block(h, f, d, &mut proofs)?;
        }
        let failed = verify_proofs(keys, &proofs);
        proofs_checked += proofs.len() as u64;
        proof_failures += failed.len() as u64;
        replay.failures.extend(failed);
        progress(&Progress {
            height: end,
            tip,
            transactions: replay.transactions,
            proofs: proofs_checked,
            failures: replay.failures.len() as u64,
            elapsed: start.elapsed(),
        });
        // Aim at about WINDOW_TXS transactions per group of blocks, growing step by step.
        let per_block = (txs_in_window / (end - height + 1)).max(1);
        window = (WINDOW_TXS / per_block).clamp(1, (window * 4).min(1024));
        height = end + 1;
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
    if source.frozen() && !matches!(source.block(tip + 1)?, Fetched::Missing) {
        replay.fail(Failure::block(
            tip + 1,
            Check::Index,
            "a block is stored after the recorded tip",
        ));
    }
    let mut failures = std::mem::take(&mut replay.failures);
    failures.sort_by_key(Failure::order);
    let failure_count = failures.len() as u64;
    failures.truncate(MAX_LISTED_FAILURES);
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
