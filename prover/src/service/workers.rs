//! The worker threads: a fixed pool that makes proofs (each proof itself uses rayon) and a few
//! threads that submit finished proofs to ledger nodes. Each thread counts itself out when it
//! ends, so shutdown can wait for them.

use super::jobs::{now_ms, JobError, JobId, JobState, Target};
use super::queue::PushError;
use super::Inner;
use crate::witness::Statement;
use crate::{prove, ProverError, ProvingKey};
use serde_json::json;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;
use tracing::info;

/// Threads that submit finished proofs to ledger nodes.
pub(super) const FORWARDERS: usize = 2;

/// A queued proof.
pub(super) struct ProveWork {
    pub(super) id: JobId,
    pub(super) statement: Statement,
    pub(super) key: Arc<ProvingKey>,
    pub(super) accepted: Instant,
}

/// A proof to submit to a ledger.
pub(super) struct ForwardWork {
    id: JobId,
    envelope: Arc<str>,
    target: Target,
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

/// Starts `inner.config.workers` proving threads and [`FORWARDERS`] forwarding threads; `inner`
/// must count them all as live.
pub(super) fn spawn(inner: &Arc<Inner>) -> std::io::Result<()> {
    let workers = inner.config.workers;
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
    Ok(())
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
        inner.metrics.queue_wait(waited);
        inner.metrics.busy.inc();
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
        inner.metrics.busy.dec();
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
                match inner.forward.push(work) {
                    Ok(()) => {}
                    // As many proofs wait for the ledgers as for a worker: the ledgers are slow
                    // or unreachable. The job ends with its envelope, for the client to submit
                    // later, rather than hold a job slot new proofs need.
                    Err((PushError::Full, work)) => {
                        inner.metrics.submitted("failed");
                        info!(job = %id, ledger = %work.target.ledger, "ledger submission: too many waiting");
                        if let Some(job) = inner.jobs().jobs.get_mut(&id) {
                            job.ledger = Some(json!({
                                "url": work.target.ledger.trim_end_matches('/'),
                                "ucr": work.target.ucr.as_str(),
                                "status": "failed",
                                "reason": {
                                    "error": "ledger-busy",
                                    "message": "too many proofs are waiting to be submitted; \
                                                submit this envelope later",
                                },
                            }));
                        }
                        inner.finish(id, Ok(envelope));
                    }
                    // Forwarders stop only after the last proving worker: cannot happen.
                    Err((PushError::Closed, _)) => inner.finish(id, Ok(envelope)),
                }
            }
            (outcome, _) => inner.finish(id, outcome),
        }
    }
}

fn forward_loop(inner: &Inner) {
    while let Some(work) = inner.forward.pop() {
        let started = Instant::now();
        let ledger = inner.ledger.submit(&work.target, &work.envelope);
        let status = match ledger["status"].as_str() {
            Some("included") => "included",
            Some("pending") => "pending",
            Some("rejected") => "rejected",
            _ => "failed",
        };
        inner.metrics.submitted(status);
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
