//! Our Groth16 prover against plain `ark_groth16::Groth16::prove`, on the same circuit, the same
//! development keys and the same example witness, side by side in one run:
//!
//! - `prover/<circuit>/ours`: `ProvingKey::prove_circuit` as the prover service runs it
//!   (ark-groth16's proof, with the circuit's matrices kept from the first proof, blst's
//!   multi-scalar multiplications, the witness's bits summed instead of multiplied, and the
//!   fixed-base tables of `ProvingKey::precompute_tables` where the key's queries are small);
//! - `prover/<circuit>/ours-one-shot`: the same without tables and with a key fresh from its
//!   file each time, as `zkcustoms prove` runs it (one proof per process, where building the
//!   tables would cost more than it saves): its proof builds the constraint matrices, as
//!   `Groth16::prove` does every time (loading the key is not timed);
//! - `prover/<circuit>/ark-groth16`: `Groth16::<Bls12_381>::prove` with the key's arkworks form.
//!
//! Both sides only prove: no native check, no verification. Circuits: `aeo-status/v1` and
//! `invoice-value/v1 (4 lines)`. Keys are made once per circuit when its group first runs.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use ark_bls12_381::Bls12_381;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use std::time::Duration;
use zkcustoms_benches::{dev_keys, rng};
use zkcustoms_circuits::aeo_status::AeoStatusCircuit;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::invoice_value;
use zkcustoms_circuits::registry::example_aeo_status;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::ProvingKey;
use zkcustoms_verifier::KeyDir;

fn aeo_status() -> AeoStatusCircuit {
    let (public, private) = example_aeo_status();
    AeoStatusCircuit { public, private }
}

fn bench_circuit<C, F>(c: &mut Criterion, id: CircuitId, time: Duration, make: F)
where
    C: ark_relations::gr1cs::ConstraintSynthesizer<ark_bls12_381::Fr>,
    F: Fn() -> C,
{
    let mut group = c.benchmark_group(format!("prover/{id}"));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(time);
    // The development keys, and the same proving key loaded again with its tables.
    let keys = std::cell::OnceCell::new();
    let keys = || {
        keys.get_or_init(|| {
            let dev = dev_keys(&[id]).expect("development keys");
            let dir = KeyDir::open(dev.dir.path()).expect("key directory");
            let mut tabled = ProvingKey::load(&dir, id).expect("proving key");
            tabled.precompute_tables();
            (dev, tabled)
        })
    };
    group.bench_function("ours", |b| {
        let pk = &keys().1;
        let mut r = rng();
        b.iter(|| black_box(pk.prove_circuit(make(), &mut r).unwrap()));
    });
    group.bench_function("ours-one-shot", |b| {
        let dir = KeyDir::open(keys().0.dir.path()).expect("key directory");
        let mut r = rng();
        // The key (and the proof) are dropped outside the timed routine.
        b.iter_batched(
            || ProvingKey::load(&dir, id).expect("proving key"),
            |pk| {
                let proof = pk.prove_circuit(make(), &mut r).unwrap();
                (pk, proof)
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("ark-groth16", |b| {
        let pk = keys().0.circuits[0].proving_key.arkworks();
        let mut r = rng();
        b.iter(|| black_box(Groth16::<Bls12_381>::prove(pk, make(), &mut r).unwrap()));
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    bench_circuit(
        c,
        CircuitId::AeoStatusV1,
        Duration::from_secs(10),
        aeo_status,
    );
    bench_circuit(
        c,
        CircuitId::InvoiceValueV1(SizeClass::Lines4),
        Duration::from_secs(40),
        || invoice_value::dummy(SizeClass::Lines4),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
