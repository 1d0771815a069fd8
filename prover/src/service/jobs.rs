//! Jobs: their ids and states, the bounded store that keeps them (finished ones for a bounded
//! time), queuing a new one, finishing one, and the JSON view a client gets of one.

use super::queue::PushError;
use super::workers::ProveWork;
use super::Inner;
use crate::witness::Statement;
use crate::ProvingKey;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tracing::{info, warn};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_client::tx::Ucr;

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

/// The state of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum JobState {
    Queued,
    Proving,
    Submitting,
    Done,
    Failed,
}

impl JobState {
    pub(super) const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Proving,
        JobState::Submitting,
        JobState::Done,
        JobState::Failed,
    ];

    pub(super) fn name(self) -> &'static str {
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
pub(super) struct JobError {
    pub(super) code: &'static str,
    pub(super) message: String,
}

/// What a finished job made: the envelope as JSON text, or why it failed.
pub(super) type Outcome = Result<Arc<str>, JobError>;

/// Where a finished proof goes.
#[derive(Clone, Debug)]
pub(super) struct Target {
    /// The ledger node's API address, without a trailing `/`.
    pub(super) ledger: String,
    /// The consignment the proof is about (checked by the ledger's own rule on arrival).
    pub(super) ucr: Ucr,
}

pub(super) struct Job {
    pub(super) circuit: CircuitId,
    pub(super) state: JobState,
    created_ms: u64,
    pub(super) started_ms: Option<u64>,
    finished_ms: Option<u64>,
    pub(super) queue_ms: Option<u64>,
    pub(super) proving_ms: Option<u64>,
    pub(super) envelope: Option<Arc<str>>,
    error: Option<JobError>,
    pub(super) target: Option<Target>,
    pub(super) ledger: Option<Value>,
    /// Set once the job is finished (after its ledger submission, if any).
    done: watch::Sender<Option<Outcome>>,
}

impl Job {
    /// Wakes when the job is finished.
    pub(super) fn subscribe(&self) -> watch::Receiver<Option<Outcome>> {
        self.done.subscribe()
    }
}

#[derive(Default)]
pub(super) struct JobStore {
    pub(super) jobs: HashMap<JobId, Job>,
    /// Finished jobs, oldest first, with the instant their result expires.
    finished: VecDeque<(JobId, Instant)>,
}

impl JobStore {
    /// Drops the jobs whose result has expired.
    pub(super) fn purge(&mut self, now: Instant) {
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

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A statement checked natively and the key to prove it with, ready to queue.
pub(super) struct Prepared {
    pub(super) statement: Statement,
    pub(super) key: Arc<ProvingKey>,
    pub(super) target: Option<Target>,
}

/// Why a job was not queued.
#[derive(Debug)]
pub(super) enum Refusal {
    /// Every job slot holds a job that is not finished; retry after this many seconds.
    Busy(u64),
    /// The queue is full; retry after this many seconds.
    QueueFull(u64),
    /// The service is shutting down.
    ShuttingDown,
}

impl Inner {
    pub(super) fn jobs(&self) -> MutexGuard<'_, JobStore> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves a job to a new state (while it is not finished).
    pub(super) fn set_state(&self, id: JobId, state: JobState, edit: impl FnOnce(&mut Job)) {
        if let Some(job) = self.jobs().jobs.get_mut(&id) {
            job.state = state;
            edit(job);
        }
    }

    /// Stores a new job and queues its proof; answers its id and what wakes when it finishes.
    pub(super) fn enqueue(
        &self,
        p: Prepared,
    ) -> Result<(JobId, watch::Receiver<Option<Outcome>>), Refusal> {
        let id = JobId::random();
        let circuit = p.statement.circuit();
        let (tx, rx) = watch::channel(None);
        {
            let mut store = self.jobs();
            if !store.make_room(self.config.max_jobs, Instant::now()) {
                return Err(Refusal::Busy(self.retry_after()));
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
        if let Err((why, _)) = self.queue.push(work) {
            self.jobs().jobs.remove(&id);
            return Err(match why {
                PushError::Full => Refusal::QueueFull(self.retry_after()),
                PushError::Closed => Refusal::ShuttingDown,
            });
        }
        self.metrics.accepted(circuit.statement());
        Ok((id, rx))
    }

    /// Finishes a job: records the outcome, starts its time-to-live, wakes whoever waits for it.
    pub(super) fn finish(&self, id: JobId, outcome: Outcome) {
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
        self.metrics.finished(statement, code);
        job.done.send_replace(Some(outcome));
        store.finished.push_back((id, now + self.config.result_ttl));
        drop(store);
        if code == "done" {
            info!(job = %id, statement, "job done");
        } else {
            warn!(job = %id, statement, error = code, "job failed");
        }
    }

    /// Seconds a refused client should wait: the jobs ahead of it over the workers, at the
    /// recent proving time.
    fn retry_after(&self) -> u64 {
        let avg = self.metrics.avg_proving_micros.load(Relaxed).max(100_000) as f64 / 1e6;
        let ahead = (self.queue.len() + self.config.workers) as f64;
        ((avg * ahead / self.config.workers as f64).ceil() as u64).clamp(1, 60)
    }
}

/// A job as its client sees it.
pub(super) fn job_view(id: JobId, j: &Job, ttl: Duration) -> Value {
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
        j.finished_ms
            .map(|f| f.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))),
    );
    if let Some(e) = &j.envelope {
        v["envelope"] = serde_json::from_str(e).unwrap_or(Value::Null);
    }
    if let Some(e) = &j.error {
        v["error"] = json!({"error": e.code, "message": e.message});
    }
    if let Some(t) = &j.target {
        v["submit_to"] = json!({"ledger": t.ledger, "ucr": t.ucr.as_str()});
    }
    if let Some(l) = &j.ledger {
        v["ledger"] = l.clone();
    }
    v
}
