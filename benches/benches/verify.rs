//! Verification cost, measured in one run on the same proofs: plain ark-groth16 single
//! verification, our single verification (arkworks and blst paths), and batch verification at
//! 1, 16, 64 and 256 proofs (reported per batch; divide by the size for the per-proof cost), with
//! the ratios to ark-groth16 single verification printed at the end; and,
//! beside them, the check every ledger transaction now pays first: its party's Ed25519 signature
//! over the `submit_proof` transaction carrying the same proof, alone and in a batch of 64 (as a
//! block's signatures are verified); and what a relayed transaction costs a validator before it
//! is checked, decoded in full or screened by its hash and signer.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use ark_bls12_381::Bls12_381;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::prove;
use zkcustoms_verifier::batch::{holds, Backend, PreparedProof};

fn bench_verify(c: &mut Criterion) {
    let circuit = CircuitId::AeoStatusV1;
    let keys = zkcustoms_benches::dev_keys(&[circuit]).expect("development keys");
    let dev = &keys.circuits[0];
    let key = dev.proving_key.verifying_key();
    let mut rng = zkcustoms_benches::rng();
    let envelope = prove(&dev.proving_key, &dev.statement, &mut rng).expect("proof");
    let inputs = envelope.public.to_field_elements(circuit).expect("inputs");
    // 256 distinct valid proofs (re-randomised copies of one proof).
    let proofs: Vec<PreparedProof> = (0..256)
        .map(|_| PreparedProof {
            proof: ark_groth16::Groth16::<Bls12_381>::rerandomize_proof(
                key.arkworks(),
                &envelope.proof,
                &mut rng,
            ),
            inputs: inputs.clone(),
        })
        .collect();
    let refs: Vec<&PreparedProof> = proofs.iter().collect();

    let mut g = c.benchmark_group("verify aeo-status/v1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("single/ark-groth16", |b| {
        b.iter(|| {
            assert!(ark_groth16::Groth16::<Bls12_381>::verify_proof(
                key.prepared(),
                &proofs[0].proof,
                &proofs[0].inputs
            )
            .expect("verify"))
        })
    });
    for backend in [Backend::Arkworks, Backend::Blst] {
        g.bench_function(format!("single/ours-{backend:?}"), |b| {
            b.iter(|| assert!(holds(key, &refs[..1], backend)))
        });
    }
    // The same proof in a signed transaction: what the rules check before the proof.
    let trader = zkcustoms_ledger_core::testing::parties::Trader::new("DE123456789012345");
    let chain = zkcustoms_ledger_types::tx::sha256(b"bench chain");
    let tx = trader.proof(&chain, "26DE-HAM-000042", envelope.clone());
    let public = trader.public_key();
    g.bench_function("transaction-signature/ed25519", |b| {
        b.iter(|| assert!(tx.verify_signature(&chain, &public)))
    });
    // What a validator pays for a transaction a peer relays before anything is checked:
    // decoding it (the proof points validated: on curve, in subgroup), against screening it
    // (its hash, and its signer read to check there is room for it).
    let bytes = tx.to_bytes();
    g.bench_function("relayed-transaction/decode", |b| {
        b.iter(|| zkcustoms_ledger_types::tx::Transaction::from_bytes(&bytes).expect("decodes"))
    });
    g.bench_function("relayed-transaction/screen", |b| {
        b.iter(|| {
            (
                zkcustoms_ledger_types::tx::sha256(&bytes),
                zkcustoms_ledger_types::tx::peek(&bytes).expect("names its signer"),
            )
        })
    });
    // The signatures of a block of 64 proof transactions, verified together as block
    // validation does (reported per block).
    let block: Vec<_> = (0..64)
        .map(|i| trader.proof(&chain, &format!("26DE-HAM-{i:06}"), envelope.clone()))
        .collect();
    g.throughput(Throughput::Elements(block.len() as u64));
    g.bench_function("transaction-signatures/ed25519-batch-64", |b| {
        b.iter(|| {
            let mut batch = zkcustoms_ledger_core::rules::SignatureBatch::new(block.len());
            for tx in &block {
                batch.add(tx, &chain, &public);
            }
            assert!(batch.verify())
        })
    });
    // What a validator pays for a block of those 64 a peer sends: decoding it (every proof
    // point validated), against what it checks on arrival now (the encoding and the header's
    // commitment, by hashing the transactions' bytes); the decoding waits until a proposal,
    // a parent or a finalization needs the block (reported per block).
    let block_bytes =
        zkcustoms_ledger_types::block::Block::new(1, [0; 32], 0, [0; 32], block).to_bytes();
    g.bench_function("received-block-64/decode", |b| {
        b.iter(|| zkcustoms_ledger_types::block::Block::from_bytes(&block_bytes).expect("decodes"))
    });
    g.bench_function("received-block-64/check-commitment", |b| {
        b.iter(|| {
            zkcustoms_ledger_types::block::Block::check_commitment(&block_bytes).expect("commits")
        })
    });
    g.throughput(Throughput::Elements(1));
    for n in [1usize, 16, 64, 256] {
        g.throughput(Throughput::Elements(n as u64));
        for backend in [Backend::Arkworks, Backend::Blst] {
            g.bench_with_input(
                BenchmarkId::new(format!("batch-{backend:?}"), n),
                &n,
                |b, &n| b.iter(|| assert!(holds(key, &refs[..n], backend))),
            );
        }
    }
    g.finish();
    print_ratios(key, &refs);
}

/// The median time of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// The speed-ups the verifier is held to, timed once more side by side (medians of several runs)
/// so that one run shows them: plain ark-groth16 single verification against ours on blst, and
/// against batch verification on blst per proof at 256.
fn print_ratios(key: &zkcustoms_verifier::VerifyingKey, refs: &[&PreparedProof]) {
    let ark = median(41, || {
        assert!(ark_groth16::Groth16::<Bls12_381>::verify_proof(
            key.prepared(),
            &refs[0].proof,
            &refs[0].inputs
        )
        .expect("verify"))
    });
    let single = median(41, || assert!(holds(key, &refs[..1], Backend::Blst)));
    println!(
        "ratios: ark-groth16 single {ark:.2?}, ours single on blst {single:.2?} ({:.1}x)",
        ark.as_secs_f64() / single.as_secs_f64()
    );
    for n in [64, 256] {
        let batch = median(7, || assert!(holds(key, &refs[..n], Backend::Blst)));
        let per_proof = batch / n as u32;
        println!(
            "ratios: batch-Blst of {n} {batch:.2?}, {per_proof:.2?} per proof ({:.1}x ark-groth16 single)",
            ark.as_secs_f64() / per_proof.as_secs_f64()
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_verify
}
criterion_main!(benches);
