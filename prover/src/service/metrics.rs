//! The service's Prometheus metrics, registered into the HTTP toolkit's registry (which adds the
//! HTTP response counter, `zkcustoms_prover_http_responses_total`): proving and queue-wait
//! histograms, jobs accepted and finished, ledger submissions, busy workers, and, read at each
//! scrape, the queue and the job store.

use super::jobs::JobState;
use super::Inner;
use crate::STATEMENTS;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Weak;
use std::time::{Duration, Instant};
use zkcustoms_http::prometheus_client::metrics::counter::Counter;
use zkcustoms_http::prometheus_client::metrics::family::Family;
use zkcustoms_http::prometheus_client::metrics::gauge::Gauge;
use zkcustoms_http::prometheus_client::metrics::histogram::Histogram;

/// Upper bounds (seconds) of the proving and queue-wait histograms.
const BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

type Labels<const N: usize> = [(&'static str, &'static str); N];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// What the service counts and times.
pub(super) struct Metrics {
    proving: Family<Labels<1>, Histogram, fn() -> Histogram>,
    queue_wait: Histogram,
    accepted: Family<Labels<1>, Counter>,
    finished: Family<Labels<2>, Counter>,
    ledger: Family<Labels<1>, Counter>,
    /// Workers making a proof.
    pub(super) busy: Gauge,
    /// Moving average of proving time, for `Retry-After`.
    pub(super) avg_proving_micros: AtomicU64,
}

impl Metrics {
    /// The metrics, registered into a new registry; the gauges read at scrape time read the
    /// service through `inner` (and are left out once it is gone).
    pub(super) fn new(inner: Weak<Inner>) -> (Self, zkcustoms_http::Metrics) {
        let m = Self {
            proving: Family::new_with_constructor(histogram),
            queue_wait: histogram(),
            accepted: Family::default(),
            finished: Family::default(),
            ledger: Family::default(),
            busy: Gauge::default(),
            avg_proving_micros: AtomicU64::new(0),
        };
        // Every statement is listed from the start, with zeros.
        for s in STATEMENTS {
            let _ = m.accepted.get_or_create(&[("statement", s)]);
            let _ = m.proving.get_or_create(&[("statement", s)]);
        }
        let mut registry = zkcustoms_http::Metrics::new("zkcustoms_prover_http_responses");
        registry.register_gauges(move |g| {
            let Some(inner) = inner.upgrade() else {
                return Ok(());
            };
            let c = &inner.config;
            let mut by_state: BTreeMap<JobState, i64> =
                JobState::ALL.iter().map(|s| (*s, 0)).collect();
            let stored = {
                let mut store = inner.jobs();
                store.purge(Instant::now());
                for j in store.jobs.values() {
                    *by_state.entry(j.state).or_default() += 1;
                }
                store.jobs.len()
            };
            g.gauge(
                "zkcustoms_prover_queue_depth",
                "Jobs waiting for a worker",
                inner.queue.len() as i64,
            )?;
            g.gauge(
                "zkcustoms_prover_queue_capacity",
                "Most jobs that may wait for a worker",
                c.queue as i64,
            )?;
            g.labeled(
                "zkcustoms_prover_jobs",
                "Jobs held in memory, by state",
                "state",
                by_state.iter().map(|(s, n)| (s.name(), *n)),
            )?;
            g.gauge(
                "zkcustoms_prover_jobs_stored",
                "Jobs held in memory (at most zkcustoms_prover_jobs_max)",
                stored as i64,
            )?;
            g.gauge(
                "zkcustoms_prover_jobs_max",
                "Most jobs held in memory",
                c.max_jobs as i64,
            )
        });
        let r = registry.registry();
        r.register(
            "zkcustoms_prover_workers_busy",
            "Workers making a proof",
            m.busy.clone(),
        );
        r.register(
            "zkcustoms_prover_jobs_accepted",
            "Jobs accepted, by statement",
            m.accepted.clone(),
        );
        r.register(
            "zkcustoms_prover_jobs_finished",
            "Jobs finished, by statement and outcome (done or the error code)",
            m.finished.clone(),
        );
        r.register(
            "zkcustoms_prover_ledger_submissions",
            "Proofs submitted to a ledger, by outcome",
            m.ledger.clone(),
        );
        r.register(
            "zkcustoms_prover_proving_seconds",
            "Time to make and self-verify a proof, by statement",
            m.proving.clone(),
        );
        r.register(
            "zkcustoms_prover_queue_wait_seconds",
            "Time a job waited for a worker",
            m.queue_wait.clone(),
        );
        (m, registry)
    }

    /// A job was accepted.
    pub(super) fn accepted(&self, statement: &'static str) {
        self.accepted
            .get_or_create(&[("statement", statement)])
            .inc();
    }

    /// A job finished with `outcome` (`done` or the error code).
    pub(super) fn finished(&self, statement: &'static str, outcome: &'static str) {
        self.finished
            .get_or_create(&[("statement", statement), ("outcome", outcome)])
            .inc();
    }

    /// A ledger submission ended with `status`.
    pub(super) fn submitted(&self, status: &'static str) {
        self.ledger.get_or_create(&[("status", status)]).inc();
    }

    /// A job waited this long for a worker.
    pub(super) fn queue_wait(&self, waited: Duration) {
        self.queue_wait.observe(waited.as_secs_f64());
    }

    /// A proof of `statement` took this long.
    pub(super) fn proved(&self, statement: &'static str, took: Duration) {
        self.proving
            .get_or_create(&[("statement", statement)])
            .observe(took.as_secs_f64());
        let new = took.as_micros() as u64;
        let old = self.avg_proving_micros.load(Relaxed);
        let avg = if old == 0 { new } else { (old * 7 + new) / 8 };
        self.avg_proving_micros.store(avg, Relaxed);
    }
}
