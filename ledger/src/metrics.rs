//! Node counters, rendered in the Prometheus text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the submission-to-finalization latency histogram.
const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The node's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    received: Mutex<BTreeMap<&'static str, u64>>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    admitted: AtomicU64,
    blocks: AtomicU64,
    txs_finalized: AtomicU64,
    height: AtomicU64,
    mempool: AtomicU64,
    proofs: AtomicU64,
    proof_micros: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_ms_sum: AtomicU64,
    http: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    /// A transaction was received.
    pub fn received(&self, kind: &'static str) {
        *self
            .received
            .lock()
            .expect("metrics")
            .entry(kind)
            .or_default() += 1;
    }

    /// A transaction entered the mempool.
    pub fn admitted(&self) {
        self.admitted.fetch_add(1, Relaxed);
    }

    /// A transaction was refused.
    pub fn rejected(&self, code: &'static str) {
        *self
            .rejected
            .lock()
            .expect("metrics")
            .entry(code)
            .or_default() += 1;
    }

    /// Proofs were verified.
    pub fn proof_verified(&self, n: usize, took: Duration) {
        self.proofs.fetch_add(n as u64, Relaxed);
        self.proof_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// A block was finalized.
    pub fn block_finalized(&self, height: u64, txs: usize) {
        self.blocks.fetch_add(1, Relaxed);
        self.txs_finalized.fetch_add(txs as u64, Relaxed);
        self.height.store(height, Relaxed);
    }

    /// Sets the finalized height.
    pub fn set_height(&self, height: u64) {
        self.height.store(height, Relaxed);
    }

    /// Sets the mempool size.
    pub fn set_mempool(&self, n: usize) {
        self.mempool.store(n as u64, Relaxed);
    }

    /// A transaction was finalized this long after it was admitted.
    pub fn finalized_latency(&self, ms: u64) {
        let secs = ms as f64 / 1000.0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_ms_sum.fetch_add(ms, Relaxed);
    }

    /// An HTTP request was answered.
    pub fn http(&self, route: &str, status: u16) {
        *self
            .http
            .lock()
            .expect("metrics")
            .entry((route.to_owned(), status))
            .or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, kind: &str| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        counter(
            "zkcustoms_transactions_received_total",
            "Transactions received, by kind.",
            "counter",
        );
        let mut s2 = String::new();
        for (k, v) in self.received.lock().expect("metrics").iter() {
            let _ = writeln!(
                s2,
                "zkcustoms_transactions_received_total{{kind=\"{k}\"}} {v}"
            );
        }
        s.push_str(&s2);
        let line = |s: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        line(
            &mut s,
            "zkcustoms_transactions_admitted_total",
            "Transactions accepted into the mempool.",
            "counter",
            self.admitted.load(Relaxed).to_string(),
        );
        let _ = writeln!(
            s,
            "# HELP zkcustoms_transactions_rejected_total Transactions refused, by reason.\n\
             # TYPE zkcustoms_transactions_rejected_total counter"
        );
        for (k, v) in self.rejected.lock().expect("metrics").iter() {
            let _ = writeln!(
                s,
                "zkcustoms_transactions_rejected_total{{reason=\"{k}\"}} {v}"
            );
        }
        line(
            &mut s,
            "zkcustoms_blocks_finalized_total",
            "Blocks finalized since the node started.",
            "counter",
            self.blocks.load(Relaxed).to_string(),
        );
        line(
            &mut s,
            "zkcustoms_transactions_finalized_total",
            "Transactions finalized since the node started.",
            "counter",
            self.txs_finalized.load(Relaxed).to_string(),
        );
        line(
            &mut s,
            "zkcustoms_finalized_height",
            "Height of the finalized tip.",
            "gauge",
            self.height.load(Relaxed).to_string(),
        );
        line(
            &mut s,
            "zkcustoms_mempool_transactions",
            "Transactions waiting in the mempool.",
            "gauge",
            self.mempool.load(Relaxed).to_string(),
        );
        line(
            &mut s,
            "zkcustoms_proofs_verified_total",
            "Groth16 proofs verified (on arrival and again in blocks).",
            "counter",
            self.proofs.load(Relaxed).to_string(),
        );
        line(
            &mut s,
            "zkcustoms_proof_verification_seconds_total",
            "Time spent verifying proofs.",
            "counter",
            format!("{:.6}", self.proof_micros.load(Relaxed) as f64 / 1e6),
        );
        let name = "zkcustoms_finalization_latency_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} From admission to finalization.\n# TYPE {name} histogram"
        );
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                self.latency_buckets[i].load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "{name}_sum {:.3}",
            self.latency_ms_sum.load(Relaxed) as f64 / 1000.0
        );
        let _ = writeln!(s, "{name}_count {count}");
        let _ = writeln!(
            s,
            "# HELP zkcustoms_http_responses_total HTTP responses, by route and status.\n\
             # TYPE zkcustoms_http_responses_total counter"
        );
        for ((route, status), v) in self.http.lock().expect("metrics").iter() {
            let _ = writeln!(
                s,
                "zkcustoms_http_responses_total{{route=\"{route}\",status=\"{status}\"}} {v}"
            );
        }
        s
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
        let text = m.render();
        assert!(text.contains("zkcustoms_transactions_received_total{kind=\"submit_proof\"} 1"));
        assert!(text.contains("zkcustoms_transactions_rejected_total{reason=\"nullifier-used\"} 1"));
        assert!(text.contains("zkcustoms_finalization_latency_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("zkcustoms_finalization_latency_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("zkcustoms_finalized_height 4"));
    }
}
