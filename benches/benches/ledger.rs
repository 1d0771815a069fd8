//! The single-validator ledger node under load: proof transactions finalized per second, with
//! every proof verified on arrival and again, batched, in its block, and the latency from
//! submission to finalization (p50, p99).
//!
//! Each measured iteration starts a fresh node (RocksDB in a new directory, Simplex consensus,
//! the HTTP API on 127.0.0.1), publishes the registry root, then submits the same set of
//! pre-made aeo-status proofs (distinct scopes, so distinct nullifiers) from several client
//! threads over HTTP, each waiting for its transaction to be included. Node start-up and the root
//! are outside the measured time.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::OsRng;
use rayon::prelude::*;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use zkcustoms_benches::dev_keys;
use zkcustoms_circuits::aeo_status::nullifier;
use zkcustoms_circuits::registry::example_registry;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger::chain::MempoolLimits;
use zkcustoms_ledger::client::Client;
use zkcustoms_ledger::genesis::{write_dev, DevGenesis, DevGenesisOptions, NodeConfig, Params};
use zkcustoms_ledger::node::{run_until, NodeOptions};
use zkcustoms_ledger::tx::{PublishRoot, SubmitProof, Transaction, Ucr};
use zkcustoms_ledger::{crypto, genesis::Genesis};
use zkcustoms_prover::{prove, Statement};
use zkcustoms_verifier::ProofEnvelope;

/// Proof transactions per measured iteration.
const TXS: usize = 96;
/// Client threads submitting at once.
const CLIENTS: usize = 32;

/// A port for a node to listen on, below the kernel's ephemeral range (32768 and up on Linux):
/// a port from the ephemeral range can be taken by any outgoing connection (this process opens
/// thousands) between the moment it is found free and the moment the node binds it.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Processes start at different offsets in 20000..32000.
    let offset = (std::process::id() % 500) * 24;
    loop {
        let port = 20_000 + (offset + NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000;
        let port = u16::try_from(port).expect("below 32000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `TXS` aeo-status proofs of the example certificate, one per scope.
fn proofs(keys: &zkcustoms_benches::DevKeys) -> Vec<ProofEnvelope> {
    let c = &keys.circuits[0];
    let Statement::AeoStatus { public, private } = &c.statement else {
        unreachable!("aeo-status key set")
    };
    (0..TXS)
        .into_par_iter()
        .map(|i| {
            let mut public = public.clone();
            public.scope = format!("bench/session/{i}");
            public.nullifier = nullifier(&private.holder_secret, &public.scope);
            let s = Statement::AeoStatus {
                public,
                private: private.clone(),
            };
            prove(&c.proving_key, &s, &mut OsRng).expect("proof")
        })
        .collect()
}

struct RunningNode {
    stop: Arc<Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
    url: String,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_node(dev: &DevGenesis, data: &Path) -> RunningNode {
    let port = free_port();
    let stop = Arc::new(Notify::new());
    let opts = NodeOptions {
        genesis: dev.genesis.clone(),
        config: dev.node_configs[0].clone(),
        data_dir: data.to_owned(),
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        max_body: 256 * 1024,
        mempool: MempoolLimits::default(),
        max_concurrency: 256,
    };
    let s = stop.clone();
    let thread = std::thread::spawn(move || {
        run_until(opts, async move { s.notified().await }).expect("node runs");
    });
    let url = format!("http://127.0.0.1:{port}");
    let token = token(dev, "auditor");
    let client = Client::new(&url, &token);
    let start = Instant::now();
    while client.status().is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "node did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    RunningNode {
        stop,
        thread: Some(thread),
        url,
    }
}

fn token(dev: &DevGenesis, role: &str) -> String {
    let cfg = NodeConfig::load(&dev.node_configs[0]).unwrap();
    cfg.tokens
        .iter()
        .find(|(r, _)| r.name() == role)
        .map(|(_, t)| t.clone())
        .unwrap()
}

fn bench_ledger(c: &mut Criterion) {
    let keys = dev_keys(&[CircuitId::AeoStatusV1]).expect("dev keys");
    eprintln!("making {TXS} aeo-status proofs (distinct scopes)...");
    let envelopes = proofs(&keys);
    let work = tempfile::tempdir().unwrap();
    // A fresh genesis (new validator key, new peer-to-peer port) for every measured node.
    let new_ledger = |n: u32| {
        write_dev(&DevGenesisOptions {
            out: work.path().join(format!("genesis-{n}")),
            keys: keys.dir.path().to_owned(),
            validators: 1,
            p2p_port: free_port(),
            api_port: None,
            authorities: vec!["DE-GZD".into()],
            offices: vec!["DE-HAMBURG-HAFEN".into()],
            params: Params {
                // The example certificate's proofs are for a fixed day.
                as_of_tolerance_days: None,
                ..Params::default()
            },
        })
        .unwrap()
    };
    let txs: Vec<Transaction> = envelopes
        .into_iter()
        .map(|envelope| {
            Transaction::SubmitProof(SubmitProof {
                ucr: Ucr::parse("BENCH-UCR-1").unwrap(),
                envelope,
            })
        })
        .collect();
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut runs = 0u32;

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TXS as u64));
    group.bench_function(
        format!("finalize {TXS} aeo-status proof txs, 1 validator"),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    runs += 1;
                    let data = work.path().join(format!("data-{runs}"));
                    let dev = new_ledger(runs);
                    let genesis = Genesis::load(&dev.genesis).unwrap();
                    let authority_key = crypto::read_private(&dev.signer_keys["DE-GZD"]).unwrap();
                    let trader = token(&dev, "trader");
                    let authority = token(&dev, "authority");
                    let node = start_node(&dev, &data);
                    let root = PublishRoot::sign(
                        &genesis.chain_id,
                        &authority_key,
                        "DE-GZD",
                        example_registry().root,
                        1,
                    );
                    let admin = Client::new(&node.url, &authority);
                    let h = admin.submit(&Transaction::PublishRoot(root)).unwrap();
                    let v = admin.wait(&h, Duration::from_secs(30)).unwrap();
                    assert_eq!(v["status"], "included");

                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for chunk in txs.chunks(TXS.div_ceil(CLIENTS)) {
                            let client = Client::new(&node.url, &trader);
                            let latencies = latencies.clone();
                            s.spawn(move || {
                                for tx in chunk {
                                    let t0 = Instant::now();
                                    let h = client.submit(tx).expect("accepted");
                                    let v = client.wait(&h, Duration::from_secs(60)).unwrap();
                                    assert_eq!(v["status"], "included", "{v}");
                                    latencies.lock().unwrap().push(t0.elapsed());
                                }
                            });
                        }
                    });
                    total += start.elapsed();
                    drop(node);
                    let _ = std::fs::remove_dir_all(&data);
                }
                total
            })
        },
    );
    group.finish();

    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    if !l.is_empty() {
        let pct = |p: f64| l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1];
        eprintln!(
            "submission to finalization over {} proof txs ({CLIENTS} clients): p50 {:.1} ms, \
             p99 {:.1} ms, max {:.1} ms",
            l.len(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            l.last().unwrap().as_secs_f64() * 1e3,
        );
    }
}

criterion_group!(benches, bench_ledger);
criterion_main!(benches);
