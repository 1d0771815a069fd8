//! The prover service: proofs over HTTP for a trader's own systems (ERP, customs broker
//! software), run next to where the data lives.
//!
//! `POST /v1/proofs/{statement}` takes a witness file (what `zkcustoms example` prints), checks it
//! natively before any proving starts (422 names the check that failed) and queues a job. Fast
//! statements (`aeo-status/v1`) answer the proof envelope directly by default; slow ones
//! (`invoice-value/v1`, `declaration-match/v1`) answer `202` with a job id, and
//! `GET /v1/jobs/{id}` reports its state and result. `?mode=job` or `?mode=sync` chooses. A request may also ask for the finished proof to be
//! submitted to a ledger node (`{"witness": ..., "submit_to": {"ledger": URL, "ucr": UCR}}`): the
//! service posts the ledger's `submit_proof` transaction with its trader token and reports the
//! transaction hash and status in the job.
//!
//! Proofs run on a fixed pool of worker threads (each proof itself uses rayon); the queue in front
//! of them is bounded and a full queue is answered `429` with `Retry-After`. Finished jobs are kept
//! for a bounded time and up to a bounded number. Keys load once at start and are shared. Every
//! `/v1` route needs the API token; `/metrics` and `/openapi.json` do not.
//!
//! Witness values never reach a log: handlers and workers log job ids, statements, states, error
//! codes and timings only, never an error message derived from a witness (those go back to the
//! client that sent the witness, and nowhere else).

use crate::witness::{Statement, Witness};
use crate::{prove, ProverError, ProvingKey, STATEMENTS};
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use tracing::{info, warn};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::{aeo_status, CircuitId};
use zkcustoms_verifier::KeyDir;

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
/// Threads that submit finished proofs to ledger nodes.
const FORWARDERS: usize = 2;
/// Upper bounds (seconds) of the proving and queue-wait histograms.
const BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How the service runs.
#[derive(Clone)]
pub struct ServiceConfig {
    /// The API token clients send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Proofs made at once (each uses rayon inside).
    pub workers: usize,
    /// Jobs waiting for a worker; more are answered `429`.
    pub queue: usize,
    /// Jobs kept in memory (waiting, running and finished); finished jobs are dropped oldest
    /// first beyond it, and when every kept job is still running new ones are answered `429`.
    pub max_jobs: usize,
    /// How long a finished job's result is kept.
    pub result_ttl: Duration,
    /// Longest time a request may take; a synchronous request answers `202` with its job id
    /// before this.
    pub request_timeout: Duration,
    /// How long a synchronous request waits for its proof before answering `202`.
    pub sync_wait: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Requests served at once; more are shed with `503`.
    pub max_concurrency: usize,
    /// Ledger node API addresses (`http://127.0.0.1:8080`) that `submit_to` may name.
    pub ledgers: Vec<String>,
    /// Trader token for the ledger nodes.
    pub ledger_token: Option<String>,
    /// How long a submission waits for the ledger to include or reject the transaction.
    pub ledger_wait: Duration,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("workers", &self.workers)
            .field("queue", &self.queue)
            .field("max_jobs", &self.max_jobs)
            .field("result_ttl", &self.result_ttl)
            .field("request_timeout", &self.request_timeout)
            .field("sync_wait", &self.sync_wait)
            .field("max_body", &self.max_body)
            .field("max_concurrency", &self.max_concurrency)
            .field("ledgers", &self.ledgers)
            .field("ledger_wait", &self.ledger_wait)
            .finish_non_exhaustive()
    }
}

impl ServiceConfig {
    /// A configuration with this API token and the defaults: half the cores as workers (at least
    /// two: on two cores, two workers prove about 7% more than one), a queue of 64, 1024 jobs kept for 10 minutes, 60 s per request, 30 s of synchronous
    /// wait, 1 MiB bodies, 256 requests at once, no ledger.
    pub fn new(token: impl Into<String>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            token: token.into(),
            workers: (cores / 2).max(2),
            queue: 64,
            max_jobs: 1024,
            result_ttl: Duration::from_secs(600),
            request_timeout: Duration::from_secs(60),
            sync_wait: Duration::from_secs(30),
            max_body: 1024 * 1024,
            max_concurrency: 256,
            ledgers: Vec::new(),
            ledger_token: None,
            ledger_wait: Duration::from_secs(30),
        }
    }

    fn check(&self) -> Result<(), ServiceError> {
        let bad = |m: &str| Err(ServiceError::Config(m.into()));
        if self.token.trim().len() < 16 {
            return bad("the API token must be at least 16 characters");
        }
        if self.workers == 0 || self.queue == 0 || self.max_concurrency == 0 {
            return bad("workers, queue and concurrency must be at least 1");
        }
        if self.max_jobs < self.queue + self.workers {
            return bad("max jobs must be at least queue + workers");
        }
        if !self.ledgers.is_empty() && self.ledger_token.is_none() {
            return bad("a ledger needs a trader token");
        }
        for l in &self.ledgers {
            if !(l.starts_with("http://") || l.starts_with("https://")) {
                return Err(ServiceError::Config(format!(
                    "ledger {l:?} must be an http:// or https:// address"
                )));
            }
        }
        Ok(())
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The configuration is not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No proving key to serve.
    #[error("no proving key to serve: the key directory has none of the circuits asked for")]
    NoKeys,
    /// A key could not be loaded.
    #[error(transparent)]
    Prover(#[from] ProverError),
    /// A thread or socket could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The proving keys a service serves, loaded once and checked against their ids.
pub struct ServiceKeys {
    keys: Vec<ProvingKey>,
    development: bool,
}

impl std::fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceKeys")
            .field("keys", &self.keys)
            .field("development", &self.development)
            .finish()
    }
}

impl ServiceKeys {
    /// Loads the proving keys of `only` (every circuit of the directory when empty) with
    /// [`ProvingKey::load`].
    pub fn load(dir: &KeyDir, only: &[CircuitId]) -> Result<Self, ServiceError> {
        let circuits: Vec<CircuitId> = if only.is_empty() {
            dir.circuits().collect()
        } else {
            only.to_vec()
        };
        let keys = circuits
            .into_iter()
            .map(|c| ProvingKey::load(dir, c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            keys,
            development: dir.manifest().development,
        })
    }

    /// Keys loaded elsewhere; `development` says whether they are development keys.
    pub fn new(keys: Vec<ProvingKey>, development: bool) -> Self {
        Self { keys, development }
    }
}

/// A job id: 128 random bits, in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId([u8; 16]);

impl JobId {
    fn random() -> Self {
        use rand::RngCore;
        let mut b = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut b);
        JobId(b)
    }

    /// Parses 32 hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes = hex::decode(s).ok()?;
        Some(JobId(bytes.try_into().ok()?))
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JobId({self})")
    }
}

// ---------------------------------------------------------------------------------------------
// Queues

/// A FIFO of work for a pool of threads, optionally bounded.
struct WorkQueue<T> {
    state: Mutex<QueueState<T>>,
    ready: Condvar,
    capacity: usize,
}

struct QueueState<T> {
    items: VecDeque<T>,
    closed: bool,
}

enum PushError {
    Full,
    Closed,
}

impl<T> WorkQueue<T> {
    fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, item: T) -> Result<(), (PushError, T)> {
        let mut s = self.lock();
        if s.closed {
            return Err((PushError::Closed, item));
        }
        if s.items.len() >= self.capacity {
            return Err((PushError::Full, item));
        }
        s.items.push_back(item);
        drop(s);
        self.ready.notify_one();
        Ok(())
    }

    /// The next item; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<T> {
        let mut s = self.lock();
        loop {
            if let Some(item) = s.items.pop_front() {
                return Some(item);
            }
            if s.closed {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Closes the queue; with `take`, the items still waiting are removed and returned, otherwise
    /// the threads go on until it is empty.
    fn close(&self, take: bool) -> Vec<T> {
        let mut s = self.lock();
        s.closed = true;
        let left = if take {
            s.items.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(s);
        self.ready.notify_all();
        left
    }

    fn len(&self) -> usize {
        self.lock().items.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// The state of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum JobState {
    Queued,
    Proving,
    Submitting,
    Done,
    Failed,
}

impl JobState {
    const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Proving,
        JobState::Submitting,
        JobState::Done,
        JobState::Failed,
    ];

    fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Proving => "proving",
            JobState::Submitting => "submitting",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

/// Why a job failed: a stable code and a message for the client.
#[derive(Clone, Debug)]
struct JobError {
    code: &'static str,
    message: String,
}

/// What a finished job made: the envelope as JSON text, or why it failed.
type Outcome = Result<Arc<str>, JobError>;

/// Where a finished proof goes.
#[derive(Clone, Debug)]
struct Target {
    ledger: String,
    ucr: String,
}

struct Job {
    circuit: CircuitId,
    state: JobState,
    created_ms: u64,
    started_ms: Option<u64>,
    finished_ms: Option<u64>,
    queue_ms: Option<u64>,
    proving_ms: Option<u64>,
    envelope: Option<Arc<str>>,
    error: Option<JobError>,
    target: Option<Target>,
    ledger: Option<Value>,
    /// Set once the job is finished (after its ledger submission, if any).
    done: watch::Sender<Option<Outcome>>,
}

#[derive(Default)]
struct JobStore {
    jobs: HashMap<JobId, Job>,
    /// Finished jobs, oldest first, with the instant their result expires.
    finished: VecDeque<(JobId, Instant)>,
}

impl JobStore {
    fn purge(&mut self, now: Instant) {
        while let Some((id, expires)) = self.finished.front().copied() {
            if expires > now {
                break;
            }
            self.finished.pop_front();
            self.jobs.remove(&id);
        }
    }

    /// Makes room for one more job: drops expired results, then the oldest finished ones.
    fn make_room(&mut self, max: usize, now: Instant) -> bool {
        self.purge(now);
        while self.jobs.len() >= max {
            match self.finished.pop_front() {
                Some((id, _)) => {
                    self.jobs.remove(&id);
                }
                None => return false,
            }
        }
        true
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A queued proof.
struct ProveWork {
    id: JobId,
    statement: Statement,
    key: Arc<ProvingKey>,
    accepted: Instant,
}

/// A proof to submit to a ledger.
struct ForwardWork {
    id: JobId,
    envelope: Arc<str>,
    target: Target,
}

// ---------------------------------------------------------------------------------------------
// Metrics

struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Relaxed);
    }

    fn render(&self, s: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}",
                self.buckets[i].load(Relaxed)
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(s, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            s,
            "{name}_sum{braces} {:.6}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "{name}_count{braces} {count}");
    }
}

struct Metrics {
    proving: BTreeMap<&'static str, Histogram>,
    queue_wait: Histogram,
    accepted: Mutex<BTreeMap<&'static str, u64>>,
    finished: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    ledger: Mutex<BTreeMap<&'static str, u64>>,
    http: Mutex<BTreeMap<(String, u16), u64>>,
    busy: AtomicUsize,
    /// Moving average of proving time, for `Retry-After`.
    avg_proving_micros: AtomicU64,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    *m.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(k)
        .or_default() += 1;
}

impl Metrics {
    fn new() -> Self {
        Self {
            proving: STATEMENTS.iter().map(|s| (*s, Histogram::new())).collect(),
            queue_wait: Histogram::new(),
            accepted: Mutex::new(STATEMENTS.iter().map(|s| (*s, 0)).collect()),
            finished: Mutex::default(),
            ledger: Mutex::default(),
            http: Mutex::default(),
            busy: AtomicUsize::new(0),
            avg_proving_micros: AtomicU64::new(0),
        }
    }

    fn proved(&self, statement: &'static str, took: Duration) {
        if let Some(h) = self.proving.get(statement) {
            h.observe(took);
        }
        let new = took.as_micros() as u64;
        let old = self.avg_proving_micros.load(Relaxed);
        let avg = if old == 0 { new } else { (old * 7 + new) / 8 };
        self.avg_proving_micros.store(avg, Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// The service

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

struct Inner {
    config: ServiceConfig,
    keys: BTreeMap<CircuitId, Arc<ProvingKey>>,
    development: bool,
    queue: WorkQueue<ProveWork>,
    forward: WorkQueue<ForwardWork>,
    jobs: Mutex<JobStore>,
    metrics: Metrics,
    stopping: AtomicBool,
    provers_live: AtomicUsize,
    live: Mutex<usize>,
    idle: Condvar,
    agent: ureq::Agent,
}

/// Counts a pool thread out when it ends, however it ends.
struct LiveGuard {
    inner: Arc<Inner>,
    prover: bool,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        // Once the last proving worker is gone no proof can be handed to the forwarders: let
        // them finish what they hold and stop.
        if self.prover && self.inner.provers_live.fetch_sub(1, Relaxed) == 1 {
            self.inner.forward.close(false);
        }
        let mut live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        *live -= 1;
        self.inner.idle.notify_all();
    }
}

impl ProverService {
    /// Starts the worker pool over `keys`. Its threads run until
    /// [`ProverService::begin_shutdown`] (which [`run_until`] calls when told to stop).
    pub fn start(keys: ServiceKeys, config: ServiceConfig) -> Result<Self, ServiceError> {
        config.check()?;
        if keys.keys.is_empty() {
            return Err(ServiceError::NoKeys);
        }
        let mut map = BTreeMap::new();
        for k in keys.keys {
            map.insert(k.circuit(), Arc::new(k));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout(config.ledger_wait + Duration::from_secs(15))
            .redirects(0)
            .build();
        let workers = config.workers;
        let inner = Arc::new(Inner {
            queue: WorkQueue::new(config.queue),
            forward: WorkQueue::new(usize::MAX),
            jobs: Mutex::default(),
            metrics: Metrics::new(),
            stopping: AtomicBool::new(false),
            provers_live: AtomicUsize::new(workers),
            live: Mutex::new(workers + FORWARDERS),
            idle: Condvar::new(),
            keys: map,
            development: keys.development,
            config,
            agent,
        });
        for i in 0..workers + FORWARDERS {
            let guard = LiveGuard {
                inner: inner.clone(),
                prover: i < workers,
            };
            let (name, run): (String, fn(&Inner)) = if i < workers {
                (format!("prover-{i}"), prove_loop)
            } else {
                (format!("forwarder-{}", i - workers), forward_loop)
            };
            std::thread::Builder::new().name(name).spawn(move || {
                run(&guard.inner);
                drop(guard);
            })?;
        }
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
        let running = inner.metrics.busy.load(Relaxed);
        info!(
            failed_waiting = n,
            running, "shutting down: no new jobs, running jobs finish"
        );
        n
    }

    /// Waits up to `timeout` for every worker to finish after [`ProverService::begin_shutdown`];
    /// answers whether they all did.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
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

impl Inner {
    fn jobs(&self) -> MutexGuard<'_, JobStore> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves a job to a new state (while it is not finished).
    fn set_state(&self, id: JobId, state: JobState, edit: impl FnOnce(&mut Job)) {
        if let Some(job) = self.jobs().jobs.get_mut(&id) {
            job.state = state;
            edit(job);
        }
    }

    /// Finishes a job: records the outcome, starts its time-to-live, wakes whoever waits for it.
    fn finish(&self, id: JobId, outcome: Outcome) {
        let now = Instant::now();
        let mut store = self.jobs();
        let Some(job) = store.jobs.get_mut(&id) else {
            return;
        };
        let statement = job.circuit.statement();
        let code = match &outcome {
            Ok(env) => {
                job.state = JobState::Done;
                job.envelope = Some(env.clone());
                "done"
            }
            Err(e) => {
                job.state = JobState::Failed;
                job.error = Some(e.clone());
                e.code
            }
        };
        job.finished_ms = Some(now_ms());
        // Counted before anyone waiting is woken: whoever saw the job finish sees it counted.
        bump(&self.metrics.finished, (statement, code));
        job.done.send_replace(Some(outcome));
        store.finished.push_back((id, now + self.config.result_ttl));
        drop(store);
        if code == "done" {
            info!(job = %id, statement, "job done");
        } else {
            warn!(job = %id, statement, error = code, "job failed");
        }
    }

    fn retry_after(&self) -> u64 {
        let avg = self.metrics.avg_proving_micros.load(Relaxed).max(100_000) as f64 / 1e6;
        let ahead = (self.queue.len() + self.config.workers) as f64;
        ((avg * ahead / self.config.workers as f64).ceil() as u64).clamp(1, 60)
    }
}

fn prover_error(e: &ProverError) -> JobError {
    // Messages of these errors name keys and proof-system failures, never witness values.
    let code = match e {
        ProverError::Unsatisfied { .. } => "unsatisfied-witness",
        ProverError::Synthesis(_) => "proof-system",
        ProverError::SelfCheck(_) => "self-check",
        _ => "internal",
    };
    JobError {
        code,
        message: e.to_string(),
    }
}

fn prove_loop(inner: &Inner) {
    while let Some(work) = inner.queue.pop() {
        let ProveWork {
            id,
            statement,
            key,
            accepted,
        } = work;
        let circuit = statement.circuit();
        let started = Instant::now();
        let waited = started - accepted;
        inner.metrics.queue_wait.observe(waited);
        inner.metrics.busy.fetch_add(1, Relaxed);
        inner.set_state(id, JobState::Proving, |j| {
            j.started_ms = Some(now_ms());
            j.queue_ms = Some(waited.as_millis() as u64);
        });
        info!(job = %id, circuit = %circuit, queue_ms = waited.as_millis() as u64, "proving");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            prove(&key, &statement, &mut rand::rngs::OsRng)
        }));
        // The witness is not needed any more.
        drop(statement);
        let took = started.elapsed();
        inner.metrics.busy.fetch_sub(1, Relaxed);
        let outcome = match result {
            Ok(Ok(envelope)) => {
                inner.metrics.proved(circuit.statement(), took);
                Ok(Arc::<str>::from(envelope.to_json()))
            }
            Ok(Err(e)) => Err(prover_error(&e)),
            Err(_) => Err(JobError {
                code: "internal",
                message: "proving failed unexpectedly; see the service log".into(),
            }),
        };
        let proving_ms = took.as_millis() as u64;
        info!(job = %id, circuit = %circuit, proving_ms, ok = outcome.is_ok(), "proving finished");
        let target = {
            let mut store = inner.jobs();
            store.jobs.get_mut(&id).and_then(|j| {
                j.proving_ms = Some(proving_ms);
                j.target.clone()
            })
        };
        match (outcome, target) {
            (Ok(envelope), Some(target)) => {
                inner.set_state(id, JobState::Submitting, |j| {
                    j.envelope = Some(envelope.clone())
                });
                let work = ForwardWork {
                    id,
                    envelope: envelope.clone(),
                    target,
                };
                if inner.forward.push(work).is_err() {
                    // Forwarders stop only after the last proving worker: cannot happen.
                    inner.finish(id, Ok(envelope));
                }
            }
            (outcome, _) => inner.finish(id, outcome),
        }
    }
}

fn forward_loop(inner: &Inner) {
    while let Some(work) = inner.forward.pop() {
        let started = Instant::now();
        let ledger = submit_to_ledger(inner, &work);
        let status = match ledger["status"].as_str() {
            Some("included") => "included",
            Some("pending") => "pending",
            Some("rejected") => "rejected",
            _ => "failed",
        };
        bump(&inner.metrics.ledger, status);
        info!(
            job = %work.id,
            ledger = %work.target.ledger,
            status,
            error = ledger["reason"]["error"].as_str().unwrap_or(""),
            ms = started.elapsed().as_millis() as u64,
            "ledger submission"
        );
        if let Some(job) = inner.jobs().jobs.get_mut(&work.id) {
            job.ledger = Some(ledger);
        }
        inner.finish(work.id, Ok(work.envelope));
    }
}

/// Posts the `submit_proof` transaction and waits (up to the configured time) for the ledger to
/// include or reject it. Answers the `ledger` part of the job.
fn submit_to_ledger(inner: &Inner, work: &ForwardWork) -> Value {
    let base = work.target.ledger.trim_end_matches('/');
    let token = inner.config.ledger_token.as_deref().unwrap_or("").trim();
    let auth = format!("Bearer {token}");
    let mut out = json!({"url": base, "ucr": work.target.ucr});
    let envelope: Value = serde_json::from_str(&work.envelope).unwrap_or(Value::Null);
    let tx = json!({"type": "submit_proof", "ucr": work.target.ucr, "envelope": envelope});
    let failed = |out: &mut Value, code: &str, message: String| {
        out["status"] = "failed".into();
        out["reason"] = json!({"error": code, "message": message});
    };
    let answer = inner
        .agent
        .post(&format!("{base}/v1/transactions"))
        .set("Authorization", &auth)
        .send_json(&tx);
    let hash = match answer {
        Ok(r) => match r.into_json::<Value>() {
            Ok(v) if v["hash"].is_string() => v["hash"].as_str().unwrap_or("").to_owned(),
            _ => {
                failed(
                    &mut out,
                    "bad-answer",
                    "the ledger answered no transaction hash".into(),
                );
                return out;
            }
        },
        Err(ureq::Error::Status(code, r)) => {
            let body: Value = r.into_json().unwrap_or(Value::Null);
            let reason = json!({
                "error": body["error"].as_str().unwrap_or("unknown"),
                "message": body["message"].as_str().unwrap_or(""),
            });
            out["http_status"] = code.into();
            out["status"] = if code == 422 { "rejected" } else { "failed" }.into();
            out["reason"] = reason;
            return out;
        }
        Err(e) => {
            failed(&mut out, "unreachable", e.to_string());
            return out;
        }
    };
    out["hash"] = hash.clone().into();
    out["status"] = "pending".into();
    let deadline = Instant::now() + inner.config.ledger_wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        let wait_ms = (left.as_millis() as u64).min(MAX_WAIT_MS);
        let r = inner
            .agent
            .get(&format!("{base}/v1/transactions/{hash}?wait_ms={wait_ms}"))
            .set("Authorization", &auth)
            .call();
        match r.map(|r| r.into_json::<Value>()) {
            Ok(Ok(v)) => match v["status"].as_str() {
                Some("pending") => continue,
                Some(status) => {
                    out["status"] = status.into();
                    for k in ["height", "index", "block", "reason"] {
                        if !v[k].is_null() {
                            out[k] = v[k].clone();
                        }
                    }
                    return out;
                }
                None => return out,
            },
            // The transaction was accepted: whatever goes wrong while waiting, it stays pending.
            _ => return out,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// An API error: an HTTP status, a stable code and a message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure inside the service: logged with `what` (which must hold no witness value),
    /// answered without detail.
    fn internal(what: &str) -> Self {
        tracing::error!(error = what, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the prover service failed to answer; see its log",
        )
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The message may quote the witness: it goes to the client, never to the log.
        if self.status.is_client_error() {
            info!(
                status = self.status.as_u16(),
                error = self.code,
                "request refused"
            );
        }
        let mut r = (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

fn authenticate(svc: &Inner, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send 'Authorization: Bearer TOKEN' with this service's API token",
            )
        })?;
    let (a, b) = (token.trim().as_bytes(), svc.config.token.trim().as_bytes());
    // Compared in constant time.
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if !same {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "unknown API token",
        ));
    }
    Ok(())
}

/// Builds the service's router (no socket): the routes, an API token on every `/v1` route, a
/// body limit, load shedding above the concurrency limit, a per-request timeout, request traces.
pub fn router(service: ProverService) -> Router {
    let c = &service.inner.config;
    let (max_body, concurrency, timeout) = (c.max_body, c.max_concurrency, c.request_timeout);
    Router::new()
        .route("/v1/proofs/{*statement}", post(submit))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take this method",
            )
        })
        .layer(middleware::from_fn_with_state(
            service.clone(),
            count_responses,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(concurrency)
                .timeout(timeout),
        )
        .layer(TraceLayer::new_for_http())
        .with_state(service)
}

async fn overloaded(err: BoxError) -> ApiError {
    if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the service is answering as many requests as it can: retry later",
        )
        .retry_after(1)
    } else if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
    } else {
        ApiError::internal("middleware failure")
    }
}

async fn count_responses(State(svc): State<ProverService>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    bump(&svc.inner.metrics.http, (route, response.status().as_u16()));
    response
}

/// Query of a proof request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveQuery {
    /// `sync` (answer the envelope) or `job` (answer 202 and a job id).
    mode: Option<String>,
}

/// The wrapped form of a proof request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveRequest {
    witness: Value,
    #[serde(default)]
    submit_to: Option<SubmitTo>,
}

/// Where to submit the finished proof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitTo {
    /// Ledger node API address; may be left out when the service knows exactly one.
    #[serde(default)]
    ledger: Option<String>,
    /// Unique consignment reference the proof is about.
    ucr: String,
}

/// The statement id of a path segment: the id itself or its short name (`aeo-status`).
fn statement_id(s: &str) -> Option<&'static str> {
    let s = s.trim_matches('/');
    STATEMENTS
        .iter()
        .copied()
        .find(|id| *id == s || id.split('/').next() == Some(s))
}

/// The ledger's UCR syntax (`zkcustoms_ledger::tx::Ucr`), checked before any proving.
fn check_ucr(s: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-';
    if s.is_empty() || s.len() > 35 || !s.chars().all(ok) || s.starts_with('-') {
        return Err(format!(
            "ucr {s:?} must be 1 to 35 characters of A-Z, 0-9 and '-', starting with a letter or digit"
        ));
    }
    Ok(())
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// A checked request, ready to queue.
struct Prepared {
    statement: Statement,
    key: Arc<ProvingKey>,
    target: Option<Target>,
}

/// Parses the body, builds the statement and runs the native check (on a blocking thread).
fn prepare(inner: &Inner, statement: &'static str, body: &[u8]) -> Result<Prepared, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| bad_request("malformed-json", "the body is not UTF-8"))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| bad_request("malformed-json", format!("the body is not JSON: {e}")))?;
    let (witness, submit) = if value.get("witness").is_some() {
        let r: ProveRequest = serde_json::from_value(value)
            .map_err(|e| bad_request("malformed-request", e.to_string()))?;
        (r.witness, r.submit_to)
    } else {
        (value, None)
    };
    let target = submit.map(|s| resolve_target(inner, s)).transpose()?;
    let mut witness = Witness::from_json(statement, &witness.to_string()).map_err(witness_error)?;
    // An invoice without a size class goes to the smallest class served that holds it.
    let smallest_served = |lines: usize, circuit: fn(SizeClass) -> CircuitId| {
        SizeClass::ALL
            .into_iter()
            .find(|c| c.lines() >= lines && inner.keys.contains_key(&circuit(*c)))
    };
    match &mut witness {
        Witness::InvoiceValue(w) if w.size_class.is_none() => {
            w.size_class = smallest_served(w.invoice.lines.len(), CircuitId::InvoiceValueV1);
        }
        Witness::DeclarationMatch(w) if w.size_class.is_none() => {
            w.size_class = smallest_served(w.invoice.lines.len(), CircuitId::DeclarationMatchV1);
        }
        _ => {}
    }
    let statement = witness.statement().map_err(witness_error)?;
    statement.check().map_err(witness_error)?;
    let circuit = statement.circuit();
    let key = inner.keys.get(&circuit).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "circuit-not-served",
            format!(
                "this service has no proving key for {circuit}; it serves {}",
                served_list(inner)
            ),
        )
    })?;
    Ok(Prepared {
        statement,
        key,
        target,
    })
}

fn witness_error(e: ProverError) -> ApiError {
    match e {
        ProverError::MalformedWitness(m) => bad_request("malformed-witness", m),
        e @ ProverError::Unsatisfied { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsatisfied-witness",
            e.to_string(),
        ),
        _ => ApiError::internal("witness preparation failed"),
    }
}

fn resolve_target(inner: &Inner, s: SubmitTo) -> Result<Target, ApiError> {
    let ledgers = &inner.config.ledgers;
    if ledgers.is_empty() {
        return Err(bad_request(
            "submit-not-configured",
            "this service submits to no ledger (start it with --ledger and --ledger-token-file)",
        ));
    }
    let norm = |u: &str| u.trim_end_matches('/').to_owned();
    let ledger = match s.ledger {
        Some(l) => ledgers
            .iter()
            .find(|k| norm(k) == norm(&l))
            .cloned()
            .ok_or_else(|| {
                bad_request(
                    "ledger-not-allowed",
                    format!(
                        "this service submits only to {}",
                        ledgers
                            .iter()
                            .map(|l| norm(l))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
        None if ledgers.len() == 1 => ledgers[0].clone(),
        None => {
            return Err(bad_request(
                "ledger-required",
                "this service knows several ledgers: name one in submit_to.ledger",
            ))
        }
    };
    check_ucr(&s.ucr).map_err(|m| bad_request("bad-ucr", m))?;
    Ok(Target {
        ledger: norm(&ledger),
        ucr: s.ucr,
    })
}

fn served_list(inner: &Inner) -> String {
    inner
        .keys
        .keys()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn job_location(id: JobId) -> HeaderValue {
    HeaderValue::from_str(&format!("/v1/jobs/{id}")).expect("hex is a valid header value")
}

async fn submit(
    State(svc): State<ProverService>,
    Path(statement): Path<String>,
    query: Result<Query<ProveQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let inner = &svc.inner;
    authenticate(inner, &headers)?;
    if inner.stopping.load(Relaxed) {
        return Err(shutting_down());
    }
    let statement = statement_id(&statement).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-statement",
            format!(
                "unknown statement {statement:?}: expected one of {}",
                STATEMENTS.join(", ")
            ),
        )
    })?;
    if !inner.keys.keys().any(|c| c.statement() == statement) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "statement-not-served",
            format!(
                "this service has no proving key for {statement}; it serves {}",
                served_list(inner)
            ),
        ));
    }
    let Query(q) = query.map_err(|e| bad_request("bad-query", e.body_text()))?;
    let sync = match q.mode.as_deref() {
        None => FAST_STATEMENTS.contains(&statement),
        Some("sync") => true,
        Some("job") => false,
        Some(other) => {
            return Err(bad_request(
                "bad-query",
                format!("mode {other:?}: expected sync or job"),
            ))
        }
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                format!(
                    "request bodies are limited to {} bytes",
                    inner.config.max_body
                ),
            )
        } else {
            bad_request("bad-body", e.body_text())
        }
    })?;
    let svc2 = svc.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&svc2.inner, statement, &body))
        .await
        .map_err(|_| ApiError::internal("the witness check task failed"))??;
    let has_target = prepared.target.is_some();
    if has_target && q.mode.as_deref() == Some("sync") {
        return Err(bad_request(
            "bad-query",
            "a request with submit_to runs as a job: leave mode out or use mode=job",
        ));
    }
    let sync = sync && !has_target;
    let (id, mut done) = enqueue(inner, prepared)?;
    info!(job = %id, statement, sync, submit = has_target, "job accepted");
    if sync {
        let wait = inner
            .config
            .sync_wait
            .min(inner.config.request_timeout.mul_f64(0.9));
        let finished = tokio::time::timeout(wait, done.wait_for(|o| o.is_some())).await;
        if let Ok(Ok(outcome)) = finished {
            let outcome = outcome.clone().expect("waited for an outcome");
            return match outcome {
                Ok(envelope) => {
                    let mut r = (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        envelope.to_string(),
                    )
                        .into_response();
                    r.headers_mut().insert(header::LOCATION, job_location(id));
                    Ok(r)
                }
                Err(e) => Err(job_failure(e)),
            };
        }
        // Not finished in time: the job goes on; the client polls for it.
    }
    let view = {
        let store = inner.jobs();
        store
            .jobs
            .get(&id)
            .map(|j| job_view(id, j, inner.config.result_ttl))
    };
    let view = view.ok_or_else(|| ApiError::internal("an accepted job vanished"))?;
    let mut r = (StatusCode::ACCEPTED, Json(view)).into_response();
    r.headers_mut().insert(header::LOCATION, job_location(id));
    Ok(r)
}

fn shutting_down() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting-down",
        "the service is shutting down",
    )
}

/// How a failed job is answered to a synchronous request.
fn job_failure(e: JobError) -> ApiError {
    let status = match e.code {
        "shutting-down" => StatusCode::SERVICE_UNAVAILABLE,
        "unsatisfied-witness" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, e.code, e.message)
}

/// Stores a new job and queues its proof.
fn enqueue(
    inner: &Inner,
    p: Prepared,
) -> Result<(JobId, watch::Receiver<Option<Outcome>>), ApiError> {
    let id = JobId::random();
    let circuit = p.statement.circuit();
    let (tx, rx) = watch::channel(None);
    {
        let mut store = inner.jobs();
        if !store.make_room(inner.config.max_jobs, Instant::now()) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                "every job slot holds a running job: retry later",
            )
            .retry_after(inner.retry_after()));
        }
        store.jobs.insert(
            id,
            Job {
                circuit,
                state: JobState::Queued,
                created_ms: now_ms(),
                started_ms: None,
                finished_ms: None,
                queue_ms: None,
                proving_ms: None,
                envelope: None,
                error: None,
                target: p.target,
                ledger: None,
                done: tx,
            },
        );
    }
    let work = ProveWork {
        id,
        statement: p.statement,
        key: p.key,
        accepted: Instant::now(),
    };
    if let Err((why, _)) = inner.queue.push(work) {
        inner.jobs().jobs.remove(&id);
        return Err(match why {
            PushError::Full => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue-full",
                format!(
                    "{} jobs are waiting for a worker: retry later",
                    inner.config.queue
                ),
            )
            .retry_after(inner.retry_after()),
            PushError::Closed => shutting_down(),
        });
    }
    bump(&inner.metrics.accepted, circuit.statement());
    Ok((id, rx))
}

fn job_view(id: JobId, j: &Job, ttl: Duration) -> Value {
    let mut v = json!({
        "id": id.to_string(),
        "statement": j.circuit.statement(),
        "state": j.state.name(),
        "created_ms": j.created_ms,
    });
    if let Some(c) = j.circuit.size_class() {
        v["size_class"] = c.lines().into();
    }
    let mut set = |k: &str, x: Option<u64>| {
        if let Some(x) = x {
            v[k] = x.into();
        }
    };
    set("started_ms", j.started_ms);
    set("finished_ms", j.finished_ms);
    set("queue_ms", j.queue_ms);
    set("proving_ms", j.proving_ms);
    set(
        "expires_ms",
        j.finished_ms.map(|f| f + ttl.as_millis() as u64),
    );
    if let Some(e) = &j.envelope {
        v["envelope"] = serde_json::from_str(e).unwrap_or(Value::Null);
    }
    if let Some(e) = &j.error {
        v["error"] = json!({"error": e.code, "message": e.message});
    }
    if let Some(t) = &j.target {
        v["submit_to"] = json!({"ledger": t.ledger, "ucr": t.ucr});
    }
    if let Some(l) = &j.ledger {
        v["ledger"] = l.clone();
    }
    v
}

/// Query of a job.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobQuery {
    /// Wait up to this many milliseconds for the job to finish.
    wait_ms: Option<u64>,
}

async fn job(
    State(svc): State<ProverService>,
    Path(id): Path<String>,
    query: Result<Query<JobQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let inner = &svc.inner;
    authenticate(inner, &headers)?;
    let Query(q) = query.map_err(|e| bad_request("bad-query", e.body_text()))?;
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-job",
            "no such job (or its result has expired)",
        )
    };
    let id = JobId::parse(&id).ok_or_else(unknown)?;
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0).min(MAX_WAIT_MS))
        .min(inner.config.request_timeout.mul_f64(0.9));
    let mut done = {
        let mut store = inner.jobs();
        store.purge(Instant::now());
        store.jobs.get(&id).ok_or_else(unknown)?.done.subscribe()
    };
    if !wait.is_zero() {
        let _ = tokio::time::timeout(wait, done.wait_for(|o| o.is_some())).await;
    }
    let store = inner.jobs();
    let job = store.jobs.get(&id).ok_or_else(unknown)?;
    Ok(Json(job_view(id, job, inner.config.result_ttl)))
}

async fn status(
    State(svc): State<ProverService>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let inner = &svc.inner;
    authenticate(inner, &headers)?;
    let c = &inner.config;
    let stored = {
        let mut store = inner.jobs();
        store.purge(Instant::now());
        store.jobs.len()
    };
    Ok(Json(json!({
        "circuits": inner.keys.values().map(|k| json!({
            "statement": k.circuit().statement(),
            "size_class": k.circuit().size_class().map(|c| c.lines()),
            "vk_id": k.verifying_key().id().to_string(),
            "pk_id": k.id().to_string(),
            "default_mode": if FAST_STATEMENTS.contains(&k.circuit().statement()) { "sync" } else { "job" },
        })).collect::<Vec<_>>(),
        "development_keys": inner.development,
        "workers": c.workers,
        "busy": inner.metrics.busy.load(Relaxed),
        "queue": {"depth": inner.queue.len(), "capacity": c.queue},
        "jobs": {"stored": stored, "max": c.max_jobs, "result_ttl_seconds": c.result_ttl.as_secs()},
        "ledgers": c.ledgers,
        "shutting_down": inner.stopping.load(Relaxed),
    })))
}

async fn metrics(State(svc): State<ProverService>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_metrics(&svc.inner),
    )
}

fn render_metrics(inner: &Inner) -> String {
    let m = &inner.metrics;
    let mut s = String::new();
    let head = |s: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    head(
        &mut s,
        "zkcustoms_prover_queue_depth",
        "Jobs waiting for a worker.",
        "gauge",
    );
    let _ = writeln!(s, "zkcustoms_prover_queue_depth {}", inner.queue.len());
    head(
        &mut s,
        "zkcustoms_prover_queue_capacity",
        "Most jobs that may wait for a worker.",
        "gauge",
    );
    let _ = writeln!(s, "zkcustoms_prover_queue_capacity {}", inner.config.queue);
    head(
        &mut s,
        "zkcustoms_prover_workers_busy",
        "Workers making a proof.",
        "gauge",
    );
    let _ = writeln!(s, "zkcustoms_prover_workers_busy {}", m.busy.load(Relaxed));
    let mut by_state: BTreeMap<JobState, usize> = JobState::ALL.iter().map(|s| (*s, 0)).collect();
    let stored = {
        let mut store = inner.jobs();
        store.purge(Instant::now());
        for j in store.jobs.values() {
            *by_state.entry(j.state).or_default() += 1;
        }
        store.jobs.len()
    };
    head(
        &mut s,
        "zkcustoms_prover_jobs",
        "Jobs held in memory, by state.",
        "gauge",
    );
    for (state, n) in &by_state {
        let _ = writeln!(s, "zkcustoms_prover_jobs{{state=\"{}\"}} {n}", state.name());
    }
    head(
        &mut s,
        "zkcustoms_prover_jobs_stored",
        "Jobs held in memory (at most zkcustoms_prover_jobs_max).",
        "gauge",
    );
    let _ = writeln!(s, "zkcustoms_prover_jobs_stored {stored}");
    head(
        &mut s,
        "zkcustoms_prover_jobs_max",
        "Most jobs held in memory.",
        "gauge",
    );
    let _ = writeln!(s, "zkcustoms_prover_jobs_max {}", inner.config.max_jobs);
    head(
        &mut s,
        "zkcustoms_prover_jobs_accepted_total",
        "Jobs accepted, by statement.",
        "counter",
    );
    for (k, v) in m.accepted.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(
            s,
            "zkcustoms_prover_jobs_accepted_total{{statement=\"{k}\"}} {v}"
        );
    }
    head(
        &mut s,
        "zkcustoms_prover_jobs_finished_total",
        "Jobs finished, by statement and outcome (done or the error code).",
        "counter",
    );
    for ((st, outcome), v) in m.finished.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(
            s,
            "zkcustoms_prover_jobs_finished_total{{statement=\"{st}\",outcome=\"{outcome}\"}} {v}"
        );
    }
    head(
        &mut s,
        "zkcustoms_prover_ledger_submissions_total",
        "Proofs submitted to a ledger, by outcome.",
        "counter",
    );
    for (k, v) in m.ledger.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(
            s,
            "zkcustoms_prover_ledger_submissions_total{{status=\"{k}\"}} {v}"
        );
    }
    let name = "zkcustoms_prover_proving_seconds";
    head(
        &mut s,
        name,
        "Time to make and self-verify a proof, by statement.",
        "histogram",
    );
    for (st, h) in &m.proving {
        h.render(&mut s, name, &format!("statement=\"{st}\""));
    }
    let name = "zkcustoms_prover_queue_wait_seconds";
    head(&mut s, name, "Time a job waited for a worker.", "histogram");
    m.queue_wait.render(&mut s, name, "");
    head(
        &mut s,
        "zkcustoms_prover_http_responses_total",
        "HTTP responses, by route and status.",
        "counter",
    );
    for ((route, code), v) in m.http.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(
            s,
            "zkcustoms_prover_http_responses_total{{route=\"{route}\",status=\"{code}\"}} {v}"
        );
    }
    s
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI 3.1 description of the service.
pub fn openapi_document() -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let errors = |codes: &[&str]| {
        let mut m = serde_json::Map::new();
        for c in codes {
            m.insert(
                (*c).to_string(),
                json!({"description": "error", "content": {"application/json": {"schema": error}}}),
            );
        }
        Value::Object(m)
    };
    let ok = |desc: &str| json!({"description": desc, "content": {"application/json": {}}});
    let with = |mut base: Value, extra: Value| {
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zkcustoms prover service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Groth16 proofs of zkcustoms statements from witness files, run next to \
                the trader's data. Witnesses are checked natively before proving (422 names the \
                failed check). Fast statements answer the envelope (200) unless mode=job; others \
                answer 202 with a job. A full queue answers 429 with Retry-After.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "ProveRequest": {
                    "description": "A witness file (what `zkcustoms example` prints), or an object with the witness and where to submit the proof.",
                    "oneOf": [
                        {"type": "object", "required": ["statement"]},
                        {"type": "object", "required": ["witness"], "properties": {
                            "witness": {"type": "object"},
                            "submit_to": {"type": "object", "required": ["ucr"], "properties": {
                                "ledger": {"type": "string"}, "ucr": {"type": "string"}}},
                        }},
                    ],
                },
                "Job": {
                    "type": "object",
                    "required": ["id", "statement", "state", "created_ms"],
                    "properties": {
                        "id": {"type": "string"},
                        "statement": {"type": "string"},
                        "size_class": {"type": "integer"},
                        "state": {"enum": JobState::ALL.iter().map(|s| s.name()).collect::<Vec<_>>()},
                        "envelope": {"type": "object"},
                        "error": error,
                        "ledger": {"type": "object", "description": "url, ucr, hash, status (pending, included, rejected, failed), height, index, block, reason"},
                    },
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/proofs/{statement}": {"post": {
                "summary": "Prove a statement from a witness",
                "parameters": [
                    {"name": "statement", "in": "path", "required": true,
                     "schema": {"enum": ["aeo-status/v1", "invoice-value/v1", "declaration-match/v1", "aeo-status", "invoice-value", "declaration-match"]}},
                    {"name": "mode", "in": "query", "schema": {"enum": ["sync", "job"]}},
                ],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProveRequest"}}}},
                "responses": with(json!({
                    "200": ok("the proof envelope (mode sync); Location names the job"),
                    "202": {"description": "the job (mode job, or a synchronous proof not finished in time)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                }), errors(&["400", "401", "404", "413", "422", "429", "500", "503"])),
            }},
            "/v1/jobs/{id}": {"get": {
                "summary": "A job's state and result",
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "wait_ms", "in": "query", "schema": {"type": "integer", "maximum": MAX_WAIT_MS}},
                ],
                "responses": with(json!({"200": {"description": "the job",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}}),
                    errors(&["400", "401", "404"])),
            }},
            "/v1/status": {"get": {"summary": "Circuits served (key ids), workers, queue, jobs, ledgers",
                "responses": with(json!({"200": ok("status")}), errors(&["401"]))}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                "responses": {"200": {"description": "text exposition"}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                "responses": {"200": ok("OpenAPI document")}}},
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Running

/// What a shutdown left behind.
#[derive(Clone, Copy, Debug)]
pub struct ShutdownReport {
    /// Jobs that were waiting for a worker and failed with `shutting-down`.
    pub failed_waiting: usize,
    /// Whether every running job finished within the grace time.
    pub drained: bool,
}

/// Serves `service` on `listener` until `stop` resolves, then shuts down gracefully: no new jobs
/// (`503`), waiting jobs fail with `shutting-down`, requests in flight are answered, and running
/// proofs and ledger submissions get up to `grace` to finish.
pub fn run_until(
    listener: std::net::TcpListener,
    service: ProverService,
    grace: Duration,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<ShutdownReport, ServiceError> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("prover-http")
        .enable_all()
        .build()?;
    let failed = Arc::new(AtomicUsize::new(0));
    let (svc, f) = (service.clone(), failed.clone());
    let app = router(service.clone());
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                stop.await;
                f.store(svc.begin_shutdown(), Relaxed);
            })
            .await
    })?;
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

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
