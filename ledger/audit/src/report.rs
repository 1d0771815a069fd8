//! What an audit reports: the checks, each failure with where it happened, the report, progress
//! and why an audit could not run.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use zkcustoms_ledger_types::tx::Hash;

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
    pub(crate) fn per_transaction(self) -> bool {
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
    pub(crate) fn block(height: u64, check: Check, message: impl Into<String>) -> Self {
        Self {
            height,
            index: None,
            tx_hash: None,
            check,
            code: None,
            message: message.into(),
        }
    }

    pub(crate) fn tx(
        height: u64,
        index: u32,
        hash: &Hash,
        check: Check,
        message: impl Into<String>,
    ) -> Self {
        Self {
            height,
            index: Some(index),
            tx_hash: Some(hex::encode(hash)),
            check,
            code: None,
            message: message.into(),
        }
    }

    pub(crate) fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Ledger order: height, then block-level checks before the transactions', then index.
    pub(crate) fn order(&self) -> (u64, bool, u32, Check) {
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
    /// Last height replayed (the proofs and signatures of the last group of blocks are verified
    /// while the next group is replayed: `proofs` counts those verified so far).
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
    Replay(#[from] zkcustoms_ledger_core::store::StoreError),
    /// Writing output failed.
    #[error("{0}")]
    Output(String),
}
