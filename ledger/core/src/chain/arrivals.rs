//! Proofs that arrive together are verified together.
//!
//! Clients' submissions (each on its own blocking thread) and the transactions peers relay queue
//! their proofs here. A caller that finds no verification running takes everything queued (up to
//! [`MAX_BATCH`] proofs) and batch-verifies it, then every caller gets the verdict on its own
//! proofs. The node verifies with [`VerifierKeys::verify_batch`], which bisects a failing batch
//! so that one bad proof never sinks the others, and checks a batch of one exactly, as a single
//! verification. A proof that arrives alone is verified at once, alone; under load, the proofs
//! that arrive while one batch is being verified form the next one. Nothing waits for a timer.
//!
//! Should verification panic (a bug: every input is decoded and validated before), the batch's
//! callers are told to verify their proofs alone, so that the panic reaches only the caller whose
//! proof causes it and the queue never stalls.

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex};
#[cfg(doc)]
use zkcustoms_verifier::VerifierKeys;
use zkcustoms_verifier::{ProofEnvelope, VerifyError};

/// The verdict on one proof.
pub(crate) type Verdict = Result<(), VerifyError>;

/// The most proofs verified in one batch: large enough that a batch's fixed cost (one final
/// exponentiation) is small beside its proofs, small enough that the proofs queued behind a
/// batch wait no more than a few tens of milliseconds.
pub const MAX_BATCH: usize = 64;

/// The verdict on one queued proof.
#[derive(Debug)]
enum Slot {
    /// Verified in a batch.
    Done(Verdict),
    /// The batch's verification panicked: verify this proof alone.
    Alone,
}

/// The queue of proofs waiting for verification and the verdicts not yet collected.
#[derive(Debug)]
struct Queue<T> {
    waiting: VecDeque<(u64, T)>,
    verdicts: HashMap<u64, Slot>,
    /// A caller is verifying a batch.
    busy: bool,
    next_ticket: u64,
}

/// Groups the verification of proofs (the node's are [`ProofEnvelope`]s) that arrive at the
/// same time.
#[derive(Debug)]
pub(crate) struct Arrivals<T = ProofEnvelope> {
    queue: Mutex<Queue<T>>,
    ready: Condvar,
}

impl<T> Default for Arrivals<T> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                verdicts: HashMap::new(),
                busy: false,
                next_ticket: 0,
            }),
            ready: Condvar::new(),
        }
    }
}

/// Puts a batch's verdicts in place even when its verification panics.
struct Verifying<'a, T> {
    arrivals: &'a Arrivals<T>,
    tickets: Vec<u64>,
    verdicts: Option<Vec<Verdict>>,
}

impl<T> Drop for Verifying<'_, T> {
    fn drop(&mut self) {
        // The lock may be poisoned only by a panic under it, and nothing below panics.
        let mut q = match self.arrivals.queue.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        };
        match self.verdicts.take() {
            Some(verdicts) => {
                for (t, v) in self.tickets.iter().zip(verdicts) {
                    q.verdicts.insert(*t, Slot::Done(v));
                }
            }
            None => {
                for t in &self.tickets {
                    q.verdicts.insert(*t, Slot::Alone);
                }
            }
        }
        q.busy = false;
        drop(q);
        self.arrivals.ready.notify_all();
    }
}

impl<T: Clone> Arrivals<T> {
    /// Verifies `envelopes` (one verdict each, in order), in a batch with whatever other proofs
    /// are waiting, by `verify_batch` (one verdict per proof, in order; the node's is
    /// [`VerifierKeys::verify_batch`]). Blocks the calling thread until the verdicts are in.
    pub(crate) fn verify(
        &self,
        envelopes: &[T],
        verify_batch: &dyn Fn(&[T]) -> Vec<Verdict>,
    ) -> Vec<Verdict> {
        if envelopes.is_empty() {
            return Vec::new();
        }
        let mut q = self.queue.lock().expect("arrivals lock");
        let first = q.next_ticket;
        q.next_ticket += envelopes.len() as u64;
        for (i, env) in envelopes.iter().enumerate() {
            q.waiting.push_back((first + i as u64, env.clone()));
        }
        let mine = first..first + envelopes.len() as u64;
        loop {
            if mine.clone().all(|t| q.verdicts.contains_key(&t)) {
                let slots: Vec<Slot> = mine
                    .map(|t| q.verdicts.remove(&t).expect("verdict present"))
                    .collect();
                drop(q);
                return slots
                    .into_iter()
                    .zip(envelopes)
                    .map(|(slot, env)| match slot {
                        Slot::Done(v) => v,
                        Slot::Alone => verify_batch(std::slice::from_ref(env))
                            .pop()
                            .expect("one verdict"),
                    })
                    .collect();
            }
            if !q.busy && !q.waiting.is_empty() {
                q.busy = true;
                let take = q.waiting.len().min(MAX_BATCH);
                let (tickets, batch): (Vec<u64>, Vec<T>) = q.waiting.drain(..take).unzip();
                drop(q);
                let mut verifying = Verifying {
                    arrivals: self,
                    tickets,
                    verdicts: None,
                };
                match catch_unwind(AssertUnwindSafe(|| verify_batch(&batch))) {
                    Ok(verdicts) => {
                        assert_eq!(verdicts.len(), batch.len(), "one verdict per proof");
                        verifying.verdicts = Some(verdicts);
                        drop(verifying);
                    }
                    // Every proof of the batch is marked to be verified alone (this caller's
                    // too): the panic reaches only the caller whose proof causes it.
                    Err(_panic) => drop(verifying),
                }
                q = self.queue.lock().expect("arrivals lock");
                continue;
            }
            q = self.ready.wait(q).expect("arrivals lock");
        }
    }

    /// Whether a batch is being verified, and how many proofs wait.
    #[cfg(test)]
    fn state(&self) -> (bool, usize) {
        let q = self.queue.lock().expect("arrivals lock");
        (q.busy, q.waiting.len())
    }
}

#[cfg(test)]
mod tests;
