//! Per statement and size class: key setup, proving, and verification (ours against plain
//! `ark_groth16::Groth16::verify_proof` on the same proof, in the same run). Constraint counts are
//! printed at the start of each group. Select a group with criterion's filter, for example
//! `cargo bench -p zkcustoms-benches --bench statements -- aeo-status`.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use ark_bls12_381::Bls12_381;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use zkcustoms_benches::rng;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_statement;
use zkcustoms_prover::{prove, ProvingKey};
use zkcustoms_verifier::KeyDir;

fn bench_circuit(c: &mut Criterion, circuit: CircuitId) {
    let name = circuit.to_string();
    // Criterion's filter matches benchmark ids; skip the expensive preparation of groups that
    // are filtered out.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        if !name.contains(&filter) && !format!("{name}/").contains(&filter) {
            return;
        }
    }
    let shape = circuit.shape().expect("shape");
    println!(
        "{name}: {} constraints, {} public inputs",
        shape.constraints, shape.public_inputs
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    setup_dev(dir.path(), &[circuit], |_| {}).expect("setup");
    let kd = KeyDir::open(dir.path()).expect("keys");
    let pk = ProvingKey::load(&kd, circuit).expect("proving key");
    let vk = kd.verifying_key(circuit).expect("verifying key");
    let statement = example_statement(circuit).expect("example statement");
    let mut r = rng();
    let envelope = prove(&pk, &statement, &mut r).expect("proof");
    let inputs = envelope.public.to_field_elements(circuit).expect("inputs");

    let mut g = c.benchmark_group(&name);
    let slow = shape.constraints > 100_000;
    g.sample_size(10);
    if slow {
        g.measurement_time(Duration::from_secs(60));
    }
    g.bench_function("setup", |b| {
        b.iter(|| {
            let out = tempfile::tempdir().expect("temporary directory");
            setup_dev(out.path(), &[circuit], |_| {}).expect("setup")
        })
    });
    g.bench_function("prove", |b| {
        b.iter(|| prove(&pk, &statement, &mut r).expect("proof"))
    });
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(50);
    g.bench_function("verify/ours", |b| {
        b.iter(|| vk.verify(&envelope).expect("verifies"))
    });
    g.bench_function("verify/ark-groth16", |b| {
        b.iter(|| {
            assert!(ark_groth16::Groth16::<Bls12_381>::verify_proof(
                vk.prepared(),
                &envelope.proof,
                &inputs
            )
            .expect("verify"))
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    for circuit in CircuitId::ALL {
        bench_circuit(c, circuit);
    }
}

criterion_group!(statements, benches);
criterion_main!(statements);
