//! Audit throughput: `zkcustoms audit --data-dir` (every check: hash links, transaction roots,
//! certificates, block rules, every ledger rule replayed into a fresh store, every proof
//! re-verified in batches) over a stored ledger of 100,000 aeo-status proof transactions.
//!
//! The log needs 100,000 distinct valid statements (the ledger refuses a reused nullifier or a
//! second proof of the same claim). Proving them honestly would take hours on two cores (the
//! measured proving time is printed), so all but a handful are made with the zero-knowledge
//! simulator: development keys come from a public seed, so their trapdoor (alpha, beta, gamma,
//! delta) is known, and with it a valid Groth16 proof of any public values costs a few scalar
//! multiplications. The trapdoor is checked against the verifying key before use, and every
//! simulated proof passes exactly the verification an honest one does (that is why development
//! keys must never be used in production). The first block also carries honestly proved proofs.
//!
//! The same ledger measures the explorer's search by nullifier: one seek in the nullifier index
//! against a scan of every nullifier (how it was found before the index).
//!
//! The ledger is built once (real finalization certificates of its validator) and cached under
//! the target directory (`audit-bench/`); `ZKCUSTOMS_AUDIT_BENCH_TXS` changes the number of proof
//! transactions.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use ark_bls12_381::{Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{Field, UniformRand};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rand::rngs::OsRng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zkcustoms_audit::{self as audit, StoreSource};
use zkcustoms_benches::dev_keys;
use zkcustoms_circuits::aeo_status::nullifier;
use zkcustoms_circuits::registry::example_registry;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::queries;
use zkcustoms_ledger_core::store::{Batch, Nullifiers, Store, VerifyingKeys};
use zkcustoms_ledger_core::testing::append_block;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::genesis::{
    Genesis, GenesisFile, Params, PinnedKey, SignerEntry, ValidatorEntry, GENESIS_FORMAT,
};
use zkcustoms_ledger_types::tx::{ledger_scope, Hash, PublishRoot, Transaction, Ucr};
use zkcustoms_prover::setup::DEV_SEED;
use zkcustoms_prover::{prove, Statement};
use zkcustoms_verifier::{ProofEnvelope, PublicValues, VerifyingKey};

/// Proof transactions in the audited log (unless `ZKCUSTOMS_AUDIT_BENCH_TXS` says otherwise).
const DEFAULT_TXS: usize = 100_000;
/// Honestly proved proofs in the first block (their proving time is measured and printed).
const HONEST: usize = 8;
/// Transactions per block (the genesis default).
const BLOCK_TXS: usize = 512;
/// Version of the cached ledger's layout; a change rebuilds it.
const CACHE_VERSION: u32 = 2;

/// The trapdoor of the development aeo-status key, recovered from the public seed the way
/// `zkcustoms setup --dev` draws it (ark-groth16's order: alpha, beta, gamma, delta, then the two
/// generators), and checked against the verifying key.
struct Trapdoor {
    alpha_beta: Fr,
    delta_inv: Fr,
    gamma_over_delta: Fr,
    g1: G1Projective,
    g2: G2Projective,
}

fn trapdoor(vk: &VerifyingKey) -> Trapdoor {
    let mut h = Sha256::new();
    h.update(DEV_SEED.as_bytes());
    h.update(CircuitId::AeoStatusV1.file_stem().as_bytes());
    let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
    let alpha = Fr::rand(&mut rng);
    let beta = Fr::rand(&mut rng);
    let gamma = Fr::rand(&mut rng);
    let delta = Fr::rand(&mut rng);
    let g1 = G1Projective::rand(&mut rng);
    let g2 = G2Projective::rand(&mut rng);
    let k = &vk.arkworks();
    assert!(
        (g1 * alpha).into_affine() == k.alpha_g1
            && (g2 * beta).into_affine() == k.beta_g2
            && (g2 * gamma).into_affine() == k.gamma_g2
            && (g2 * delta).into_affine() == k.delta_g2,
        "the development key's trapdoor is not the one derived from the public seed"
    );
    let delta_inv = delta.inverse().expect("delta is not zero");
    Trapdoor {
        alpha_beta: alpha * beta,
        delta_inv,
        gamma_over_delta: gamma * delta_inv,
        g1,
        g2,
    }
}

/// The simulator: A = a G1, B = b G2, C = ((ab - alpha beta) / delta) G1 - (gamma / delta) S with
/// S the inputs' combination, so e(A, B) = e(alpha, beta) e(S, gamma) e(C, delta).
fn simulate(
    t: &Trapdoor,
    vk: &VerifyingKey,
    inputs: &[Fr],
) -> ark_groth16::Proof<ark_bls12_381::Bls12_381> {
    let k = vk.arkworks();
    let mut scalars = vec![Fr::from(1u64)];
    scalars.extend_from_slice(inputs);
    // sum_i s_i IC_i, written out (a handful of inputs).
    let s: G1Projective = k
        .gamma_abc_g1
        .iter()
        .zip(&scalars)
        .map(|(base, x)| *base * x)
        .sum();
    let a = Fr::rand(&mut OsRng);
    let b = Fr::rand(&mut OsRng);
    let c = t.g1 * ((a * b - t.alpha_beta) * t.delta_inv) - s * t.gamma_over_delta;
    ark_groth16::Proof {
        a: (t.g1 * a).into_affine(),
        b: (t.g2 * b).into_affine(),
        c: c.into_affine(),
    }
}

/// The cached ledger: `genesis.json` and the node data directory `data/ledger`, complete when
/// `complete` exists.
fn cached_ledger(txs: usize) -> PathBuf {
    let dir = zkcustoms_benches::target_dir().join(format!("audit-bench/v{CACHE_VERSION}-{txs}"));
    let keys = dev_keys(&[CircuitId::AeoStatusV1]).expect("dev keys");
    let c = &keys.circuits[0];
    let vk = c.proving_key.verifying_key().clone();
    if dir.join("complete").exists() {
        let genesis = Genesis::load(&dir.join("genesis.json")).expect("cached genesis");
        if genesis.pinned.get(&CircuitId::AeoStatusV1) == Some(&vk.id()) {
            eprintln!("audit bench: using the cached ledger in {}", dir.display());
            return dir;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Statement::AeoStatus { public, private } = &c.statement else {
        unreachable!("aeo-status key set")
    };
    // The ledger: a genesis with one validator, an authority and an office; the trader's
    // registration and the root, then blocks of proof transactions (one consignment each, signed
    // by the trader), each block certified by the validator.
    let validator = crypto::generate();
    let authority = crypto::generate();
    let office = crypto::generate();
    let file = GenesisFile {
        format: GENESIS_FORMAT.into(),
        chain_name: "zkcustoms-audit-bench".into(),
        validators: vec![ValidatorEntry {
            name: "validator-0".into(),
            public_key: crypto::public_hex(&crypto::public_of(&validator)),
            p2p_address: "127.0.0.1:7400".parse().unwrap(),
        }],
        authorities: vec![SignerEntry {
            id: "DE-GZD".into(),
            public_key: crypto::public_hex(&crypto::public_of(&authority)),
            administration: None,
        }],
        customs_offices: vec![SignerEntry {
            id: "DE-HAMBURG-HAFEN".into(),
            public_key: crypto::public_hex(&crypto::public_of(&office)),
            administration: Some("DE".into()),
        }],
        auditors: vec![],
        verifying_keys: vec![PinnedKey {
            statement: "aeo-status/v1".into(),
            size_class: None,
            id: vk.id(),
        }],
        params: Params {
            as_of_tolerance_days: None,
            ..Params::default()
        },
        development: true,
    };
    let bytes = serde_json::to_vec_pretty(&file).unwrap();
    let genesis = Genesis::from_bytes(&bytes).unwrap();
    std::fs::write(dir.join("genesis.json"), &bytes).unwrap();
    let chain: Hash = genesis.chain_id;
    // Proof `i` is filed under consignment `ucr(i)`: its scope is this ledger's for it.
    let ucr = |i: usize| Ucr::parse(&format!("BENCH-{i}")).expect("a valid UCR");
    let scope_of = |i: usize| ledger_scope(&chain, &ucr(i));
    let statement = |scope: String| {
        let mut p = public.clone();
        p.nullifier = nullifier(&private.holder_secret, &scope);
        p.scope = scope;
        p
    };

    // Honest proofs, timed.
    let start = Instant::now();
    let honest: Vec<ProofEnvelope> = (0..HONEST)
        .into_par_iter()
        .map(|i| {
            let s = Statement::AeoStatus {
                public: statement(scope_of(i)),
                private: private.clone(),
            };
            prove(&c.proving_key, &s, &mut OsRng).expect("proof")
        })
        .collect();
    let per_proof = start.elapsed() / HONEST as u32;
    eprintln!(
        "audit bench: honest aeo-status proving takes {:.0} ms a proof on {} threads: {} proofs \
         would take {:.1} h; simulating them with the development trapdoor instead",
        per_proof.as_secs_f64() * 1e3,
        rayon::current_num_threads(),
        txs,
        per_proof.as_secs_f64() * txs as f64 / 3600.0
    );

    // Simulated proofs of distinct statements (distinct scopes, so distinct nullifiers).
    let t = trapdoor(&vk);
    let start = Instant::now();
    let simulated: Vec<ProofEnvelope> = (HONEST..txs)
        .into_par_iter()
        .map(|i| {
            let public = PublicValues::AeoStatus(statement(scope_of(i)));
            let inputs = public
                .to_field_elements(CircuitId::AeoStatusV1)
                .expect("valid public values");
            ProofEnvelope {
                circuit: CircuitId::AeoStatusV1,
                vk_id: vk.id(),
                proof: simulate(&t, &vk, &inputs),
                public,
            }
        })
        .collect();
    eprintln!(
        "audit bench: {} proofs simulated in {:.1} s",
        simulated.len(),
        start.elapsed().as_secs_f64()
    );
    for e in simulated.iter().take(16) {
        vk.verify(e)
            .expect("a simulated proof verifies like an honest one");
    }

    let start = Instant::now();
    let store = Store::open(&dir.join("data/ledger")).unwrap();
    store.bind_chain(&genesis.chain_id).unwrap();
    let mut b = Batch::new();
    b.put::<VerifyingKeys>(
        &vk.id().0,
        &(
            CircuitId::AeoStatusV1,
            VerifyingKey::canonical_bytes(vk.arkworks()),
        ),
    );
    store.write(b, true).unwrap();
    let signers = std::slice::from_ref(&validator);
    let t0 = 1_764_000_000_000u64;
    let root = PublishRoot::sign(
        &genesis.chain_id,
        &authority,
        "DE-GZD",
        example_registry().root,
        1,
    );
    let trader = Trader::new("DE123456789012345");
    append_block(
        &store,
        &genesis,
        signers,
        t0,
        vec![
            trader.registration(&chain, "DE-HAMBURG-HAFEN", &office),
            Transaction::PublishRoot(root),
        ],
    )
    .unwrap();
    let all: Vec<ProofEnvelope> = honest.into_iter().chain(simulated).collect();
    for (n, chunk) in all.chunks(BLOCK_TXS).enumerate() {
        let txs = chunk
            .par_iter()
            .enumerate()
            .map(|(k, envelope)| {
                let i = n * BLOCK_TXS + k;
                trader.proof(&chain, ucr(i).as_str(), envelope.clone())
            })
            .collect();
        append_block(&store, &genesis, signers, t0 + 1000 * (n as u64 + 1), txs).unwrap();
    }
    drop(store);
    std::fs::write(dir.join("complete"), b"").unwrap();
    eprintln!(
        "audit bench: ledger of {} blocks written in {:.1} s to {}",
        all.len().div_ceil(BLOCK_TXS) + 1,
        start.elapsed().as_secs_f64(),
        dir.display()
    );
    dir
}

/// Proof transactions in the audited log: `ZKCUSTOMS_AUDIT_BENCH_TXS`, else [`DEFAULT_TXS`].
fn bench_txs() -> usize {
    std::env::var("ZKCUSTOMS_AUDIT_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TXS)
}

fn bench_audit(c: &mut Criterion) {
    let txs = bench_txs();
    let dir = cached_ledger(txs);
    let genesis = Genesis::load(&dir.join("genesis.json")).unwrap();
    let mut last = None;
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(txs as u64));
    group.bench_function(
        format!(
            "audit {txs} aeo-status proof txs from a store, {} threads",
            rayon::current_num_threads()
        ),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let source = StoreSource::open(&dir.join("data")).unwrap();
                    let keys = source.verifying_keys(&genesis).unwrap();
                    let report = audit::run(&genesis, &source, &keys, |_| {}).unwrap();
                    total += start.elapsed();
                    assert!(report.ok, "{:?}", report.first_failure);
                    assert_eq!(report.proofs_valid, txs as u64);
                    last = Some(report);
                }
                total
            })
        },
    );
    group.finish();
    if let Some(r) = last {
        eprintln!(
            "audit bench: {} blocks, {} transactions, {} proofs re-verified, {} certificates in \
             {:.2} s: {:.0} proofs per second (last run)",
            r.blocks,
            r.transactions,
            r.proofs_checked,
            r.certificates_verified,
            r.elapsed_seconds,
            r.proofs_per_second
        );
    }
}

/// The explorer's search by nullifier over the same ledger (one nullifier per proof transaction):
/// one seek in the nullifier index, against the scan of every nullifier that found it before
/// the index existed (the anchor, measured in the same run).
fn bench_nullifier_search(c: &mut Criterion) {
    let txs = bench_txs();
    let dir = cached_ledger(txs);
    // Opened for writing: a ledger cached before the index existed gets it here.
    let store = Store::open(&dir.join("data/ledger")).unwrap();
    let all = store.scan_prefix::<Nullifiers>(&[], usize::MAX).unwrap();
    assert_eq!(all.len(), txs);
    let ((_, wanted), at) = all[txs / 2];
    drop(all);
    let mut group = c.benchmark_group("nullifier search");
    group.bench_function("index seek", |b| {
        b.iter(|| {
            let found = queries::nullifier_location(&store, &wanted).unwrap();
            assert_eq!(found, Some(at));
        })
    });
    group.bench_function("scan (before the index)", |b| {
        b.iter(|| {
            let found = queries::scan_for_nullifier(&store, &wanted).unwrap();
            assert_eq!(found, Some(at));
        })
    });
    group.finish();
}

criterion_group!(benches, bench_audit, bench_nullifier_search);
criterion_main!(benches);
