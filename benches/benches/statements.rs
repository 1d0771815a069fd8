//! One criterion group per statement and size class (`aeo-status/v1`,
//! `invoice-value/v1 (4 lines)`, `invoice-value/v1 (16 lines)`, `declaration-match/v1 (4 lines)`,
//! `declaration-match/v1 (16 lines)`), each with four benchmarks:
//!
//! - `setup`: development key generation for that circuit alone, written to a new temporary
//!   directory;
//! - `prove`: `zkcustoms_prover::prove` on the example statement (native check, proof and the
//!   prover's own verification), with proof randomness from a fixed-seed RNG;
//! - `verify`: our `VerifyingKey::verify` on the resulting envelope (deriving the field elements
//!   from the named public values, the key and count checks, then the pairing check);
//! - `ark_groth16_verify`: plain `ark_groth16::Groth16::verify_proof` with the same key's
//!   prepared key, the same field elements and the same proof, in the same run.
//!
//! A group's keys and proof are made, and its constraint count printed, the first time one of
//! its benchmarks runs, so a group that criterion's filter leaves out costs nothing:
//! `cargo bench -p zkcustoms-benches --bench statements -- aeo-status` runs only the fast group,
//! `-- 'invoice-value/v1 (4 lines)'` one circuit, `-- '4 lines'` both invoice statements of a
//! size class.
//!
//! Setup and prove take ten samples. For the invoice circuits each sample is a single run
//! of several seconds (16 lines: about 40 s setup and 10 s prove on two cores), so criterion's
//! warning that it cannot complete 10 samples in the target time is expected there.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use ark_bls12_381::{Bls12_381, Fr};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use std::cell::OnceCell;
use std::io::IsTerminal;
use std::sync::Once;
use std::time::Duration;
use zkcustoms_benches::{dev_keys, rng, DevCircuit};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::prove;
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_verifier::ProofEnvelope;

/// Samples for setup and prove (criterion's minimum).
const SLOW_SAMPLES: usize = 10;
/// Samples and measurement time for the two verifications (about a millisecond each).
const VERIFY_SAMPLES: usize = 50;
const VERIFY_TIME: Duration = Duration::from_secs(5);

/// Measurement time of `setup` and `prove` for a circuit. For the invoice circuits it is
/// ten times a run on two cores, taken on the low side: criterion rounds runs per sample up, so
/// this gives one run per sample, where a generous figure would double the runs.
fn measurement_times(circuit: CircuitId) -> (Duration, Duration) {
    let secs = |setup, prove| (Duration::from_secs(setup), Duration::from_secs(prove));
    match circuit {
        // Under a second each: several runs per sample.
        CircuitId::AeoStatusV1 => secs(10, 10),
        // The SHA-256 of the encoding dominates both invoice statements: the same times.
        CircuitId::InvoiceValueV1(SizeClass::Lines4)
        | CircuitId::DeclarationMatchV1(SizeClass::Lines4) => secs(150, 40),
        CircuitId::InvoiceValueV1(SizeClass::Lines16)
        | CircuitId::DeclarationMatchV1(SizeClass::Lines16) => secs(300, 80),
    }
}

/// What the prove and verify benchmarks of a circuit work on.
struct Fixture {
    /// Keys and example statement.
    dev: DevCircuit,
    /// One proof of the example statement.
    envelope: ProofEnvelope,
    /// Its public field elements, as the verifier derives them.
    inputs: Vec<Fr>,
}

/// A group's shared state, made when one of its benchmarks first runs.
struct Group {
    circuit: CircuitId,
    announced: Once,
    fixture: OnceCell<Fixture>,
}

impl Group {
    fn new(circuit: CircuitId) -> Self {
        Self {
            circuit,
            announced: Once::new(),
            fixture: OnceCell::new(),
        }
    }

    /// Prints the circuit's size, once.
    fn announce(&self) {
        self.announced.call_once(|| {
            let shape = self.circuit.shape().expect("circuit shape");
            if std::io::stderr().is_terminal() {
                // End criterion's progress line, which it rewrites in place.
                eprintln!();
            }
            println!(
                "{}: {} constraints, {} public inputs, {} witness variables",
                self.circuit, shape.constraints, shape.public_inputs, shape.witnesses
            );
        });
    }

    /// Keys, statement and one proof (made once).
    fn fixture(&self) -> &Fixture {
        self.announce();
        self.fixture.get_or_init(|| {
            let dev = dev_keys(&[self.circuit])
                .expect("development keys")
                .circuits
                .pop()
                .expect("keys of the circuit");
            let envelope = prove(&dev.proving_key, &dev.statement, &mut rng()).expect("proof");
            let inputs = envelope
                .public
                .to_field_elements(self.circuit)
                .expect("public field elements");
            Fixture {
                dev,
                envelope,
                inputs,
            }
        })
    }
}

fn bench_circuit(c: &mut Criterion, circuit: CircuitId) {
    let group = Group::new(circuit);
    let (setup_time, prove_time) = measurement_times(circuit);
    let mut g = c.benchmark_group(circuit.to_string());

    g.sampling_mode(SamplingMode::Flat)
        .sample_size(SLOW_SAMPLES)
        .measurement_time(setup_time);
    g.bench_function("setup", |b| {
        group.announce();
        b.iter_batched(
            || tempfile::tempdir().expect("temporary directory"),
            |dir| {
                setup_dev(dir.path(), &[circuit], |_| {}).expect("setup");
                // Removing the keys is not part of setup: the directory is dropped untimed.
                dir
            },
            BatchSize::PerIteration,
        )
    });

    g.measurement_time(prove_time);
    let mut prove_rng = rng();
    g.bench_function("prove", |b| {
        let f = group.fixture();
        b.iter(|| prove(&f.dev.proving_key, &f.dev.statement, &mut prove_rng).expect("proof"))
    });

    g.sampling_mode(SamplingMode::Auto)
        .sample_size(VERIFY_SAMPLES)
        .measurement_time(VERIFY_TIME);
    g.bench_function("verify", |b| {
        let f = group.fixture();
        let vk = f.dev.proving_key.verifying_key();
        b.iter(|| vk.verify(black_box(&f.envelope)).expect("verifies"))
    });
    g.bench_function("ark_groth16_verify", |b| {
        let f = group.fixture();
        let pvk = f.dev.proving_key.verifying_key().prepared();
        b.iter(|| {
            let ok = ark_groth16::Groth16::<Bls12_381>::verify_proof(
                pvk,
                black_box(&f.envelope.proof),
                black_box(&f.inputs),
            )
            .expect("verification runs");
            assert!(ok, "proof verifies");
        })
    });
    g.finish();
}

fn statements(c: &mut Criterion) {
    for circuit in CircuitId::ALL {
        bench_circuit(c, circuit);
    }
}

criterion_group!(benches, statements);
criterion_main!(benches);
