//! The ledger's counters (transactions by kind and refusal reason, blocks, height, mempool,
//! proof verification, finalization latency), as `prometheus-client` metrics that a node
//! registers into the registry its `/metrics` route renders.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Upper bounds (seconds) of the submission-to-finalization latency histogram.
const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The ledger's counters. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Metrics {
    received: Family<KindLabel, Counter>,
    rejected: Family<ReasonLabel, Counter>,
    admitted: Counter,
    blocks: Counter,
    txs_finalized: Counter,
    height: Gauge,
    mempool: Gauge,
    proofs: Counter,
    proofs_reused: Counter,
    proof_batches: Counter,
    proof_seconds: Counter<f64, AtomicU64>,
    relayed_held: Counter,
    relayed_unheard: Counter,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            received: Family::default(),
            rejected: Family::default(),
            admitted: Counter::default(),
            blocks: Counter::default(),
            txs_finalized: Counter::default(),
            height: Gauge::default(),
            mempool: Gauge::default(),
            proofs: Counter::default(),
            proofs_reused: Counter::default(),
            proof_batches: Counter::default(),
            proof_seconds: Counter::default(),
            relayed_held: Counter::default(),
            relayed_unheard: Counter::default(),
            latency: Histogram::new(LATENCY_BUCKETS),
        }
    }
}

impl Metrics {
    /// Registers every counter into `registry` (names as the node has always exposed them).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "zkcustoms_transactions_received",
            "Transactions received, by kind",
            self.received.clone(),
        );
        registry.register(
            "zkcustoms_transactions_admitted",
            "Transactions accepted into the mempool",
            self.admitted.clone(),
        );
        registry.register(
            "zkcustoms_transactions_rejected",
            "Transactions refused, by reason",
            self.rejected.clone(),
        );
        registry.register(
            "zkcustoms_blocks_finalized",
            "Blocks finalized since the node started",
            self.blocks.clone(),
        );
        registry.register(
            "zkcustoms_transactions_finalized",
            "Transactions finalized since the node started",
            self.txs_finalized.clone(),
        );
        registry.register(
            "zkcustoms_finalized_height",
            "Height of the finalized tip",
            self.height.clone(),
        );
        registry.register(
            "zkcustoms_mempool_transactions",
            "Transactions waiting in the mempool",
            self.mempool.clone(),
        );
        registry.register(
            "zkcustoms_proofs_verified",
            "Groth16 proofs verified (each once per node, unless evicted from the verdict cache)",
            self.proofs.clone(),
        );
        registry.register(
            "zkcustoms_proof_verdicts_reused",
            "Proofs not verified again because this node had already verified the same transaction",
            self.proofs_reused.clone(),
        );
        registry.register(
            "zkcustoms_proof_batches",
            "Verifications of proofs together (arrivals at the same time, or a block's unseen proofs)",
            self.proof_batches.clone(),
        );
        registry.register(
            "zkcustoms_proof_verification_seconds",
            "Time spent verifying proofs",
            self.proof_seconds.clone(),
        );
        registry.register(
            "zkcustoms_relayed_transactions_held",
            "Transactions peers relayed that this node held already (pending or finalized): not decoded again",
            self.relayed_held.clone(),
        );
        registry.register(
            "zkcustoms_relayed_transactions_unheard",
            "Transactions peers relayed that were dropped unread, their peer's budget of refused relays spent",
            self.relayed_unheard.clone(),
        );
        registry.register(
            "zkcustoms_finalization_latency_seconds",
            "From admission to finalization",
            self.latency.clone(),
        );
    }

    /// A transaction was received.
    pub fn received(&self, kind: &'static str) {
        self.received.get_or_create(&KindLabel { kind }).inc();
    }

    /// A transaction entered the mempool.
    pub fn admitted(&self) {
        self.admitted.inc();
    }

    /// A transaction was refused.
    pub fn rejected(&self, code: &'static str) {
        self.rejected
            .get_or_create(&ReasonLabel { reason: code })
            .inc();
    }

    /// Transactions refused with `code` since the node started.
    pub fn rejected_count(&self, code: &'static str) -> u64 {
        self.rejected
            .get(&ReasonLabel { reason: code })
            .map_or(0, |c| c.get())
    }

    /// A batch of proofs was verified.
    pub fn proof_verified(&self, n: usize, took: Duration) {
        self.proofs.inc_by(n as u64);
        self.proof_batches.inc();
        self.proof_seconds.inc_by(took.as_secs_f64());
    }

    /// Proofs were found in the verdict cache and not verified again.
    pub fn proof_verdicts_reused(&self, n: usize) {
        self.proofs_reused.inc_by(n as u64);
    }

    /// Proofs verified since the node started.
    pub fn proofs_verified(&self) -> u64 {
        self.proofs.get()
    }

    /// Batches of proofs verified since the node started.
    pub fn proof_batches(&self) -> u64 {
        self.proof_batches.get()
    }

    /// Proofs whose verdict was reused since the node started.
    pub fn proofs_reused(&self) -> u64 {
        self.proofs_reused.get()
    }

    /// A peer relayed a transaction this node held already.
    pub fn relayed_held(&self) {
        self.relayed_held.inc();
    }

    /// Transactions relayed that this node held already, since it started.
    pub fn relayed_held_count(&self) -> u64 {
        self.relayed_held.get()
    }

    /// A peer relayed a transaction while its budget of refused relays was spent: dropped unread.
    pub fn relayed_unheard(&self) {
        self.relayed_unheard.inc();
    }

    /// Transactions relayed that were dropped unread, since the node started.
    pub fn relayed_unheard_count(&self) -> u64 {
        self.relayed_unheard.get()
    }

    /// A block was finalized.
    pub fn block_finalized(&self, height: u64, txs: usize) {
        self.blocks.inc();
        self.txs_finalized.inc_by(txs as u64);
        self.set_height(height);
    }

    /// Sets the finalized height.
    pub fn set_height(&self, height: u64) {
        self.height.set(i64::try_from(height).unwrap_or(i64::MAX));
    }

    /// Sets the mempool size.
    pub fn set_mempool(&self, n: usize) {
        self.mempool.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A transaction was finalized this long after it was admitted.
    pub fn finalized_latency(&self, ms: u64) {
        self.latency.observe(ms as f64 / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.received("submit_proof");
        m.rejected("nullifier-used");
        m.finalized_latency(30);
        m.block_finalized(4, 2);
        m.proof_verified(3, Duration::from_millis(1500));
        m.relayed_held();
        m.relayed_unheard();
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            "zkcustoms_transactions_received_total{kind=\"submit_proof\"} 1",
            "zkcustoms_transactions_rejected_total{reason=\"nullifier-used\"} 1",
            "zkcustoms_finalization_latency_seconds_bucket{le=\"0.05\"} 1",
            "zkcustoms_finalization_latency_seconds_bucket{le=\"0.025\"} 0",
            "zkcustoms_finalized_height 4",
            "zkcustoms_transactions_finalized_total 2",
            "zkcustoms_proofs_verified_total 3",
            "zkcustoms_proof_verification_seconds_total 1.5",
            "zkcustoms_relayed_transactions_held_total 1",
            "zkcustoms_relayed_transactions_unheard_total 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
