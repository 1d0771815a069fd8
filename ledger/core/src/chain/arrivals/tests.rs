//! Batching of arrivals, with a verifier that records its batches: proofs are numbers, odd
//! ones do not verify, and 255 makes the verifier panic.

use super::*;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

fn verdict(x: u32) -> Verdict {
    if x.is_multiple_of(2) {
        Ok(())
    } else {
        Err(VerifyError::InvalidProof)
    }
}

/// Records every batch it is given.
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Vec<u32>>>,
}

impl Recorder {
    fn verify(&self, batch: &[u32]) -> Vec<Verdict> {
        self.batches.lock().unwrap().push(batch.to_vec());
        assert!(!batch.contains(&255), "the verifier fails on 255");
        batch.iter().map(|x| verdict(*x)).collect()
    }

    fn batches(&self) -> Vec<Vec<u32>> {
        self.batches.lock().unwrap().clone()
    }
}

/// A verifier that records its batches and holds the batch of proof 100 until `gate` opens.
fn gated(recorder: &Recorder, gate: mpsc::Receiver<()>) -> impl Fn(&[u32]) -> Vec<Verdict> + '_ {
    let gate = Mutex::new(gate);
    move |b: &[u32]| {
        if b == [100] {
            gate.lock().unwrap().recv().unwrap();
        }
        recorder.verify(b)
    }
}

/// Waits (polling the queue) until it is in the state a step of a test needs.
fn wait_for(arrivals: &Arrivals<u32>, state: (bool, usize)) {
    for _ in 0..10_000 {
        if arrivals.state() == state {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("the queue never reached {state:?}: {:?}", arrivals.state());
}

fn invalid(v: &Verdict) -> bool {
    matches!(v, Err(VerifyError::InvalidProof))
}

#[test]
fn a_proof_alone_is_verified_at_once_alone() {
    let arrivals = Arrivals::default();
    let recorder = Recorder::default();
    let verdicts = arrivals.verify(&[4], &|b| recorder.verify(b));
    assert!(verdicts[0].is_ok());
    assert!(invalid(&arrivals.verify(&[5], &|b| recorder.verify(b))[0]));
    assert_eq!(recorder.batches(), vec![vec![4], vec![5]]);
    assert_eq!(arrivals.state(), (false, 0));
    assert!(arrivals.verify(&[], &|b| recorder.verify(b)).is_empty());
}

#[test]
fn one_callers_proofs_are_verified_in_batches_of_at_most_max_batch_in_order() {
    let arrivals = Arrivals::default();
    let recorder = Recorder::default();
    let proofs: Vec<u32> = (0..150).collect();
    let verdicts = arrivals.verify(&proofs, &|b| recorder.verify(b));
    let sizes: Vec<usize> = recorder.batches().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![MAX_BATCH, MAX_BATCH, 150 - 2 * MAX_BATCH]);
    for (x, v) in proofs.iter().zip(&verdicts) {
        assert_eq!(v.is_ok(), x.is_multiple_of(2), "proof {x}");
    }
}

#[test]
fn proofs_arriving_during_a_batch_form_the_next_batch_each_caller_its_own_verdicts() {
    let arrivals = Arrivals::default();
    let recorder = Recorder::default();
    // The first batch waits at the gate until the others are queued behind it.
    let (open, gate) = mpsc::channel::<()>();
    let verify = gated(&recorder, gate);
    thread::scope(|s| {
        let first = s.spawn(|| arrivals.verify(&[100], &verify));
        wait_for(&arrivals, (true, 0));
        let others: Vec<_> = [vec![2, 3], vec![4], vec![7, 8, 9]]
            .into_iter()
            .map(|mine| {
                let (arrivals, verify) = (&arrivals, &verify);
                s.spawn(move || (mine.clone(), arrivals.verify(&mine, verify)))
            })
            .collect();
        wait_for(&arrivals, (true, 6));
        open.send(()).unwrap();
        assert!(first.join().unwrap()[0].is_ok());
        for h in others {
            let (mine, verdicts) = h.join().unwrap();
            assert_eq!(verdicts.len(), mine.len());
            for (x, v) in mine.iter().zip(&verdicts) {
                assert_eq!(v.is_ok(), x.is_multiple_of(2), "proof {x}");
            }
        }
    });
    let batches = recorder.batches();
    assert_eq!(
        batches.len(),
        2,
        "one batch, then everything queued behind it: {batches:?}"
    );
    let mut second = batches[1].clone();
    second.sort();
    assert_eq!(second, vec![2, 3, 4, 7, 8, 9]);
    assert_eq!(arrivals.state(), (false, 0));
}

#[test]
fn a_panicking_batch_reaches_only_the_caller_of_the_proof_that_causes_it() {
    let arrivals = Arrivals::default();
    let recorder = Recorder::default();
    let (open, gate) = mpsc::channel::<()>();
    let verify = gated(&recorder, gate);
    thread::scope(|s| {
        let first = s.spawn(|| arrivals.verify(&[100], &verify));
        wait_for(&arrivals, (true, 0));
        let poison = s.spawn(|| arrivals.verify(&[255], &verify));
        let good = s.spawn(|| arrivals.verify(&[6], &verify));
        let bad = s.spawn(|| arrivals.verify(&[11], &verify));
        wait_for(&arrivals, (true, 3));
        open.send(()).unwrap();
        assert!(first.join().unwrap()[0].is_ok());
        assert!(poison.join().is_err(), "the panic reaches its caller");
        assert!(good.join().unwrap()[0].is_ok());
        assert!(invalid(&bad.join().unwrap()[0]));
    });
    // The batch of three panicked; each of its proofs was then verified alone, by its caller.
    let batches = recorder.batches();
    let mut failed = batches[1].clone();
    failed.sort();
    assert_eq!(failed, vec![6, 11, 255], "{batches:?}");
    assert!(batches[2..].iter().all(|b| b.len() == 1), "{batches:?}");
    let mut alone: Vec<u32> = batches[2..].iter().flatten().copied().collect();
    alone.sort();
    assert_eq!(alone, vec![6, 11, 255], "{batches:?}");
    // The queue goes on.
    assert_eq!(arrivals.state(), (false, 0));
    assert!(arrivals.verify(&[8], &|b| recorder.verify(b))[0].is_ok());
}
