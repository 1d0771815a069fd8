//! The prover service: proofs over HTTP for a trader's own systems (ERP, customs broker
//! software), run next to where the data lives.
//!
//! `POST /v1/proofs/{statement}` takes a witness file (what `zkcustoms example` prints), checks it
//! natively before any proving starts (422 names the check that failed) and queues a job. Fast
//! statements (`aeo-status/v1`) answer the proof envelope directly by default; slow ones
//! (`invoice-value/v1`, `declaration-match/v1`) answer `202` with a job id, and
//! `GET /v1/jobs/{id}` reports its state and result. `?mode=job` or `?mode=sync` chooses. A
//! request may also ask for the finished proof to be submitted to a ledger node
//! (`{"witness": ..., "submit_to": {"ledger": URL, "ucr": UCR}}`): the service posts the ledger's
//! `submit_proof` transaction with its trader token and reports the transaction hash and status
//! in the job.
//!
//! Proofs run on a fixed pool of worker threads (each proof itself uses rayon); the queue in front
//! of them is bounded and a full queue is answered `429` with `Retry-After`. Finished jobs are kept
//! for a bounded time and up to a bounded number. Keys load once at start and are shared. Every
//! `/v1` route needs the API token; `/metrics` and `/openapi.json` do not.
//!
//! Witness values never reach a log: handlers and workers log job ids, statements, states, error
//! codes and timings only, never an error message derived from a witness (those go back to the
//! client that sent the witness, and nowhere else).
//!
//! One file per concern: [`config`] (how it runs), `queue` (the bounded work queue), `jobs` (the
//! job store), `workers` (the proving and forwarding threads), `ledger` (the one place that
//! speaks to a ledger node), `metrics`, `request` (checking a proof request), `openapi`, and
//! `http` (the routes, on the zkcustoms HTTP toolkit; the only file that speaks axum).

pub mod config;
mod http;
mod jobs;
mod ledger;
mod metrics;
mod openapi;
mod queue;
mod request;
mod workers;

pub use config::{ServiceConfig, ServiceError, ServiceKeys};
pub use http::router;
pub use jobs::JobId;
pub use openapi::openapi_document;
pub use zkcustoms_http::shutdown_signal;

use crate::ProvingKey;
use jobs::{JobError, JobStore};
use ledger::LedgerClient;
use queue::WorkQueue;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, warn};
use workers::{ForwardWork, ProveWork, FORWARDERS};
use zkcustoms_circuits::{aeo_status, CircuitId};
use zkcustoms_http::Tokens;

/// Statements answered synchronously unless the request asks for a job: their proofs take well
/// under a second.
pub const FAST_STATEMENTS: [&str; 1] = [aeo_status::ID];
/// Longest wait a job query may ask for, in milliseconds.
pub const MAX_WAIT_MS: u64 = 30_000;
/// Log filter directives that every subscriber of the service must end with. The proof system's
/// tracing spans (targets `gr1cs` and `r1cs`, one per gadget call, at INFO) record circuit
/// variables, witness values included, as fields: enabled, they would put witness values within
/// reach of any subscriber that exports spans, and they slow proving down by orders of magnitude.
/// The HTTP client logs request headers (the ledger token) at DEBUG.
pub const LOG_DIRECTIVES: &str = "gr1cs=off,r1cs=off,ureq=info";

/// The prover service: its keys, worker pool, queue and job store. Cheap to clone (shared).
#[derive(Clone)]
pub struct ProverService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ProverService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProverService")
            .field("config", &self.inner.config)
            .field("circuits", &self.inner.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What the handlers and the threads share.
struct Inner {
    config: ServiceConfig,
    tokens: Tokens<()>,
    keys: BTreeMap<CircuitId, Arc<ProvingKey>>,
    development: bool,
    queue: WorkQueue<ProveWork>,
    forward: WorkQueue<ForwardWork>,
    jobs: Mutex<JobStore>,
    metrics: metrics::Metrics,
    /// The Prometheus registry of `metrics`, with the HTTP response counter.
    registry: Arc<zkcustoms_http::Metrics>,
    ledger: LedgerClient,
    stopping: AtomicBool,
    provers_live: AtomicUsize,
    live: Mutex<usize>,
    idle: Condvar,
}

impl ProverService {
    /// Starts the worker pool over `keys`. Its threads run until
    /// [`ProverService::begin_shutdown`] (which [`run_until`] calls when told to stop).
    pub fn start(keys: ServiceKeys, config: ServiceConfig) -> Result<Self, ServiceError> {
        config.check()?;
        if keys.keys.is_empty() {
            return Err(ServiceError::NoKeys);
        }
        let map: BTreeMap<CircuitId, Arc<ProvingKey>> = keys
            .keys
            .into_iter()
            .map(|k| (k.circuit(), Arc::new(k)))
            .collect();
        let workers = config.workers;
        let inner = Arc::new_cyclic(|weak| {
            let (metrics, registry) = metrics::Metrics::new(weak.clone());
            Inner {
                tokens: Tokens::new([(config.token.as_str(), ())], "this service's API token"),
                ledger: LedgerClient::new(
                    config.ledger_token.as_deref(),
                    config.ledger_signer.clone(),
                    config.ledger_chain,
                    config.ledger_wait,
                ),
                queue: WorkQueue::new(config.queue),
                forward: WorkQueue::new(config.queue),
                jobs: Mutex::default(),
                metrics,
                registry: Arc::new(registry),
                stopping: AtomicBool::new(false),
                provers_live: AtomicUsize::new(workers),
                live: Mutex::new(workers + FORWARDERS),
                idle: Condvar::new(),
                keys: map,
                development: keys.development,
                config,
            }
        });
        workers::spawn(&inner)?;
        Ok(Self { inner })
    }

    /// The circuits served.
    pub fn circuits(&self) -> Vec<CircuitId> {
        self.inner.keys.keys().copied().collect()
    }

    /// Jobs held in memory (waiting, running and finished).
    pub fn jobs_stored(&self) -> usize {
        self.inner.jobs().jobs.len()
    }

    /// Jobs waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.inner.queue.len()
    }

    /// Logs what the service serves (circuits and verifying key ids, development keys, its
    /// configuration) and where.
    pub fn log_startup(&self, address: std::net::SocketAddr) {
        let inner = &self.inner;
        if inner.development {
            warn!("DEVELOPMENT KEYS: made from a public seed, anyone can forge proofs under them");
        }
        for key in inner.keys.values() {
            info!(circuit = %key.circuit(), vk_id = %key.verifying_key().id(), "serving");
        }
        info!(address = %address, config = ?inner.config, "prover service running");
    }

    /// Stops taking jobs: new requests are answered `503`, jobs still waiting fail with
    /// `shutting-down`, and running proofs and ledger submissions go on. Answers how many waiting
    /// jobs failed.
    pub fn begin_shutdown(&self) -> usize {
        let inner = &self.inner;
        inner.stopping.store(true, Relaxed);
        let left = inner.queue.close(true);
        let n = left.len();
        for work in left {
            inner.finish(
                work.id,
                Err(JobError {
                    code: "shutting-down",
                    message: "the service shut down before this job started".into(),
                }),
            );
        }
        let running = inner.metrics.busy.get();
        info!(
            failed_waiting = n,
            running, "shutting down: no new jobs, running jobs finish"
        );
        n
    }

    /// Waits up to `timeout` for every worker to finish after [`ProverService::begin_shutdown`];
    /// answers whether they all did.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout.min(config::MAX_DURATION);
        let mut live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        while *live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            live = self
                .inner
                .idle
                .wait_timeout(live, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// What a shutdown left behind.
#[derive(Clone, Copy, Debug)]
pub struct ShutdownReport {
    /// Jobs that were waiting for a worker and failed with `shutting-down`.
    pub failed_waiting: usize,
    /// Whether every running job finished within the grace time.
    pub drained: bool,
}

/// Serves `service` on `listener` until the future that `stop` makes resolves, then shuts down
/// gracefully: no new jobs (`503`), waiting jobs fail with `shutting-down`, requests in flight
/// are answered, and running proofs and ledger submissions get up to `grace` to finish.
///
/// `stop` is called inside the service's runtime before any request is served: a caller that
/// catches signals there ([`shutdown_signal`]) and then announces the address has the handlers
/// in place before a client can know where the service listens.
pub fn run_until<S, F>(
    listener: std::net::TcpListener,
    service: ProverService,
    grace: Duration,
    stop: S,
) -> Result<ShutdownReport, ServiceError>
where
    S: FnOnce() -> std::io::Result<F>,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("prover-http")
        .enable_all()
        .build()?;
    let stop = {
        let _context = runtime.enter();
        stop()?
    };
    let failed = Arc::new(AtomicUsize::new(0));
    let (svc, f) = (service.clone(), failed.clone());
    let app = router(service.clone());
    runtime.block_on(zkcustoms_http::serve_until(listener, app, async move {
        stop.await;
        f.store(svc.begin_shutdown(), Relaxed);
    }))?;
    // Every request is answered and every waiting job has failed: what is left are running
    // proofs and ledger submissions.
    let drained = service.wait_idle(grace);
    let failed_waiting = failed.load(Relaxed);
    info!(failed_waiting, drained, "prover service stopped");
    Ok(ShutdownReport {
        failed_waiting,
        drained,
    })
}
