//! The ledger under load, a single validator and a four-validator cluster on loopback, measured
//! in the same run: proof transactions finalized per second, with every proof verified on
//! arrival and again, batched, in its block (by every validator), and the latency from
//! submission to finalization (p50, p99).
//!
//! Each measured iteration starts fresh nodes in this process (RocksDB in new directories,
//! Simplex consensus over the fixed-peer network on 127.0.0.1, the HTTP APIs), publishes the
//! registry root, then submits the same set of pre-made aeo-status proofs (distinct scopes, so
//! distinct nullifiers) from several client threads over HTTP, client k to validator k mod N,
//! each waiting for its transaction to be included. Start-up and the root are outside the
//! measured time.

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

fn start_node(dev: &DevGenesis, index: usize, data: &Path) -> RunningNode {
    let port = free_port();
    let stop = Arc::new(Notify::new());
    let opts = NodeOptions {
        genesis: dev.genesis.clone(),
        config: dev.node_configs[index].clone(),
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

/// The first of `n` consecutive free ports (validators' peer-to-peer ports).
fn free_ports(n: usize) -> u16 {
    loop {
        let base = free_port();
        if (0..n as u16).all(|k| TcpListener::bind(("127.0.0.1", base + k)).is_ok()) {
            // Move the counter past the range, so API ports are taken elsewhere.
            for _ in 1..n {
                free_port();
            }
            return base;
        }
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
    // `BENCH_LOG=info` (an env-filter) shows the nodes' logs.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("BENCH_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let keys = dev_keys(&[CircuitId::AeoStatusV1]).expect("dev keys");
    eprintln!("making {TXS} aeo-status proofs (distinct scopes)...");
    let envelopes = proofs(&keys);
    let work = tempfile::tempdir().unwrap();
    let txs: Vec<Transaction> = envelopes
        .into_iter()
        .map(|envelope| {
            Transaction::SubmitProof(SubmitProof {
                ucr: Ucr::parse("BENCH-UCR-1").unwrap(),
                envelope,
            })
        })
        .collect();
    let mut runs = 0u32;
    let mut report = Vec::new();

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TXS as u64));
    for validators in [1usize, 4] {
        let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
        group.bench_function(
            format!("finalize {TXS} aeo-status proof txs, {validators} validator(s)"),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        runs += 1;
                        // A fresh genesis (new keys, new ports) and databases every time.
                        let dev = write_dev(&DevGenesisOptions {
                            out: work.path().join(format!("genesis-{runs}")),
                            keys: keys.dir.path().to_owned(),
                            validators,
                            p2p_port: free_ports(validators),
                            api_port: None,
                            authorities: vec!["DE-GZD".into()],
                            offices: vec!["DE-HAMBURG-HAFEN".into()],
                            params: Params {
                                // The example certificate's proofs are for a fixed day.
                                as_of_tolerance_days: None,
                                ..Params::default()
                            },
                        })
                        .unwrap();
                        let data = work.path().join(format!("data-{runs}"));
                        total += run_once(&dev, &data, &txs, &latencies);
                    }
                    total
                })
            },
        );
        let mut l = latencies.lock().unwrap().clone();
        l.sort();
        if !l.is_empty() {
            let pct = |p: f64| l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1];
            report.push(format!(
                "{validators} validator(s): submission to finalization over {} proof txs \
                 ({CLIENTS} clients): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                l.len(),
                pct(0.50).as_secs_f64() * 1e3,
                pct(0.99).as_secs_f64() * 1e3,
                l.last().unwrap().as_secs_f64() * 1e3,
            ));
        }
    }
    group.finish();
    for line in report {
        eprintln!("{line}");
    }
}

/// Starts the validators, publishes the registry root, then times `CLIENTS` clients submitting
/// the proofs (client k to validator k mod N) and waiting for each to be finalized.
fn run_once(
    dev: &DevGenesis,
    data: &Path,
    txs: &[Transaction],
    latencies: &Arc<Mutex<Vec<Duration>>>,
) -> Duration {
    let genesis = Genesis::load(&dev.genesis).unwrap();
    let authority_key = crypto::read_private(&dev.signer_keys["DE-GZD"]).unwrap();
    let trader = token(dev, "trader");
    let authority = token(dev, "authority");
    let nodes: Vec<RunningNode> = (0..dev.node_configs.len())
        .map(|i| start_node(dev, i, &data.join(format!("node-{i}"))))
        .collect();
    let root = PublishRoot::sign(
        &genesis.chain_id,
        &authority_key,
        "DE-GZD",
        example_registry().root,
        1,
    );
    let admin = Client::new(&nodes[0].url, &authority);
    let h = admin.submit(&Transaction::PublishRoot(root)).unwrap();
    // Every validator holds the root before proofs that need it arrive (a validator learns of
    // the transaction when it is relayed or finalized: until then it answers 404).
    for node in &nodes {
        let client = Client::new(&node.url, &authority);
        let start = Instant::now();
        loop {
            match client.wait(&h, Duration::from_secs(5)) {
                Ok(v) if v["status"] == "included" => break,
                _ => {
                    assert!(
                        start.elapsed() < Duration::from_secs(60),
                        "root not finalized"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
    let start = Instant::now();
    std::thread::scope(|s| {
        for (k, chunk) in txs.chunks(TXS.div_ceil(CLIENTS)).enumerate() {
            let client = Client::new(&nodes[k % nodes.len()].url, &trader);
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
    let elapsed = start.elapsed();
    drop(nodes);
    let _ = std::fs::remove_dir_all(data);
    elapsed
}

criterion_group!(benches, bench_ledger);
criterion_main!(benches);
