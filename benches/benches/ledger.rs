//! The ledger under load, a single validator and a four-validator cluster on loopback, measured
//! in the same run: proof transactions finalized per second, with every proof verified on
//! arrival and again, batched, in its block (by every validator), and the latency from
//! submission to finalization (p50, p99).
//!
//! Each measured iteration starts fresh validators, each a release `zkcustoms node` process as
//! deployed (RocksDB in a new directory, Simplex consensus over the fixed-peer network on
//! 127.0.0.1, the HTTP API; `make bench` builds the binary first), publishes the
//! registry root and the trader's registration, then submits the same set of pre-made aeo-status
//! proof transactions (each filed under its own consignment, so with its own scope and nullifier,
//! and signed by the trader) from several client threads over HTTP, client k to validator k mod N,
//! each waiting for its transaction to be included. Start-up, the root and the registration, and
//! a warm-up until every validator has proposed a finalized block (reported on its own) are
//! outside the measured time. Each cluster size has one development genesis (its proofs are
//! bound to its chain id) and fresh databases every iteration. `ZKCUSTOMS_LEDGER_BENCH_TXS`
//! changes the number of proof transactions of an iteration (96 by default),
//! `ZKCUSTOMS_LEDGER_BENCH_VALIDATORS` the cluster sizes (`1,4` by default).

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::OsRng;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkcustoms_benches::dev_keys;
use zkcustoms_circuits::aeo_status::nullifier;
use zkcustoms_circuits::registry::example_registry;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_client::Client;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_types::genesis::{
    write_dev, DevGenesis, DevGenesisOptions, NodeConfig, Params,
};
use zkcustoms_ledger_types::tx::{ledger_scope, Hash, PublishRoot, Transaction, Ucr};
use zkcustoms_ledger_types::wire::TxStatusKind;
use zkcustoms_ledger_types::{crypto, genesis::Genesis};
use zkcustoms_prover::{prove, Statement};
use zkcustoms_verifier::ProofEnvelope;

/// Proof transactions per measured iteration (unless `ZKCUSTOMS_LEDGER_BENCH_TXS` says
/// otherwise).
const DEFAULT_TXS: usize = 96;
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

/// The trader of the bench.
fn trader() -> Trader {
    Trader::new("DE123456789012345")
}

/// The consignment of proof `i`.
fn ucr(i: usize) -> String {
    format!("BENCH-UCR-{i}")
}

/// `txs` aeo-status proofs of the example certificate on the ledger `chain`, proof `i` for
/// consignment [`ucr`]`(i)`.
fn proofs(keys: &zkcustoms_benches::DevKeys, chain: &Hash, txs: usize) -> Vec<ProofEnvelope> {
    let c = &keys.circuits[0];
    let Statement::AeoStatus { public, private } = &c.statement else {
        unreachable!("aeo-status key set")
    };
    (0..txs)
        .into_par_iter()
        .map(|i| {
            let mut public = public.clone();
            public.scope = ledger_scope(chain, &Ucr::parse(&ucr(i)).expect("a valid UCR"));
            public.nullifier = nullifier(&private.holder_secret, &public.scope);
            let s = Statement::AeoStatus {
                public,
                private: private.clone(),
            };
            prove(&c.proving_key, &s, &mut OsRng).expect("proof")
        })
        .collect()
}

/// A `zkcustoms node` process; killed and reaped when dropped.
struct RunningNode {
    child: Child,
    url: String,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release `zkcustoms` binary that the nodes run (`make bench` builds it first).
fn node_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("ZKCUSTOMS_BIN") {
        return bin.into();
    }
    let bin = zkcustoms_benches::target_dir()
        .join("release")
        .join("zkcustoms");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build --release --bin zkcustoms` (make bench does), \
         or point ZKCUSTOMS_BIN at a zkcustoms binary",
        bin.display()
    );
    bin
}

/// Starts validator `index` as its own process, its log in `data/node.log`, and waits for its
/// API to answer.
fn start_node(dev: &DevGenesis, index: usize, data: &Path) -> RunningNode {
    let port = free_port();
    std::fs::create_dir_all(data).unwrap();
    let log = std::fs::File::create(data.join("node.log")).unwrap();
    let mut child = Command::new(node_binary())
        .arg("node")
        .arg("--genesis")
        .arg(&dev.genesis)
        .arg("--config")
        .arg(&dev.node_configs[index])
        .arg("--data-dir")
        .arg(data.join("db"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start zkcustoms node");
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::new(&url, &token(dev, "auditor"));
    let start = Instant::now();
    while client.status().is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(data.join("node.log")).unwrap_or_default();
            panic!("validator {index} exited with {status}: {log}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "validator {index} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    RunningNode { child, url }
}

/// Stops the bench with `what` and the end of each validator's log.
fn fail(data: &Path, validators: usize, what: &str) -> ! {
    for i in 0..validators {
        let log =
            std::fs::read_to_string(data.join(format!("node-{i}/node.log"))).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        eprintln!("--- validator {i}, end of its log:");
        for line in &lines[lines.len().saturating_sub(30)..] {
            eprintln!("{line}");
        }
    }
    panic!("{what}");
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

/// The cluster sizes measured: 1 and 4 validators, or those `ZKCUSTOMS_LEDGER_BENCH_VALIDATORS`
/// lists (comma-separated).
fn cluster_sizes() -> Vec<usize> {
    std::env::var("ZKCUSTOMS_LEDGER_BENCH_VALIDATORS").map_or(vec![1, 4], |v| {
        v.split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("ZKCUSTOMS_LEDGER_BENCH_VALIDATORS: numbers of validators, e.g. 1,4")
            })
            .collect()
    })
}

fn bench_ledger(c: &mut Criterion) {
    // The nodes log at `warn` to `node.log` in their data directories; `BENCH_LOG=info` (an
    // env-filter) says more, and `BENCH_KEEP_LOGS=DIR` keeps the logs.
    let keys = dev_keys(&[CircuitId::AeoStatusV1]).expect("dev keys");
    let n: usize = std::env::var("ZKCUSTOMS_LEDGER_BENCH_TXS")
        .ok()
        .map(|v| {
            v.parse()
                .expect("ZKCUSTOMS_LEDGER_BENCH_TXS: a number of transactions")
        })
        .unwrap_or(DEFAULT_TXS);
    let work = tempfile::tempdir().unwrap();
    let mut runs = 0u32;
    let mut report = Vec::new();

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    for validators in cluster_sizes() {
        let dev = write_dev(&DevGenesisOptions {
            out: work.path().join(format!("genesis-{validators}")),
            keys: keys.dir.path().to_owned(),
            validators,
            p2p_port: free_ports(validators),
            api_port: None,
            authorities: vec!["DE-GZD".into()],
            offices: vec!["DE-HAMBURG-HAFEN".into()],
            auditors: vec![],
            params: Params {
                // The example certificate's proofs are for a fixed day.
                as_of_tolerance_days: None,
                ..Params::default()
            },
        })
        .unwrap();
        let chain = Genesis::load(&dev.genesis).unwrap().chain_id;
        eprintln!("making {n} aeo-status proofs for the {validators}-validator ledger...");
        let txs: Vec<Transaction> = proofs(&keys, &chain, n)
            .into_par_iter()
            .enumerate()
            .map(|(i, envelope)| trader().proof(&chain, &ucr(i), envelope))
            .collect();
        let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
        let warm_ups = Mutex::new(Vec::<(Duration, usize)>::new());
        group.bench_function(
            format!("finalize {n} aeo-status proof txs, {validators} validator(s)"),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        runs += 1;
                        // Fresh databases every time.
                        let data = work.path().join(format!("data-{runs}"));
                        total += run_once(&dev, &data, &txs, &latencies, &warm_ups);
                    }
                    total
                })
            },
        );
        let mut w = warm_ups.lock().unwrap().clone();
        w.sort();
        if let (Some(first), Some(last)) = (w.first(), w.last()) {
            report.push(format!(
                "{validators} validator(s): warm-up before each iteration (until every validator \
                 has proposed a finalized block), outside the measured time: median {:.2} s \
                 ({} anchors), shortest {:.2} s, longest {:.2} s ({} anchors)",
                w[w.len() / 2].0.as_secs_f64(),
                w[w.len() / 2].1,
                first.0.as_secs_f64(),
                last.0.as_secs_f64(),
                last.1,
            ));
        }
        let l = latencies.lock().unwrap().clone();
        let case = format!("{validators} validator(s)");
        if let Some(p) = zkcustoms_benches::table::record_latencies("ledger", &case, &l) {
            report.push(format!(
                "{case}: submission to finalization over {} proof txs ({CLIENTS} clients): p50 \
                 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                l.len(),
                p.p50,
                p.p99,
                p.max,
            ));
        }
    }
    group.finish();
    for line in report {
        eprintln!("{line}");
    }
}

/// Starts the validators, publishes the registry root, warms the cluster up ([`warm_up`]), then
/// times `CLIENTS` clients submitting the proofs (client k to validator k mod N) and waiting for
/// each to be finalized.
fn run_once(
    dev: &DevGenesis,
    data: &Path,
    txs: &[Transaction],
    latencies: &Arc<Mutex<Vec<Duration>>>,
    warm_ups: &Mutex<Vec<(Duration, usize)>>,
) -> Duration {
    let genesis = Genesis::load(&dev.genesis).unwrap();
    let authority_key = crypto::read_private(&dev.signer_keys["DE-GZD"]).unwrap();
    let office_key = crypto::read_private(&dev.signer_keys["DE-HAMBURG-HAFEN"]).unwrap();
    let customs = token(dev, "customs");
    let trader_token = token(dev, "trader");
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
    let registration = trader().registration(&genesis.chain_id, "DE-HAMBURG-HAFEN", &office_key);
    let r = Client::new(&nodes[0].url, &customs)
        .submit(&registration)
        .unwrap();
    // Every validator holds the root and the registration before proofs that need them arrive (a
    // validator learns of a transaction when it is relayed or finalized: until then it answers
    // 404).
    for node in &nodes {
        let client = Client::new(&node.url, &authority);
        for tx in [&h, &r] {
            let start = Instant::now();
            loop {
                match client.wait(tx, Duration::from_secs(5)) {
                    Ok(v) if v.status == TxStatusKind::Included => break,
                    _ => {
                        if start.elapsed() > Duration::from_secs(60) {
                            fail(
                                data,
                                nodes.len(),
                                "the registry root and the registration were not finalized in \
                                 60 s",
                            );
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
    }
    let warm = warm_up(dev, data, &genesis, &nodes, &customs, &trader_token);
    warm_ups.lock().unwrap().push(warm);
    let start = Instant::now();
    std::thread::scope(|s| {
        for (k, chunk) in txs.chunks(txs.len().div_ceil(CLIENTS)).enumerate() {
            let client = Client::new(&nodes[k % nodes.len()].url, &trader_token);
            let latencies = latencies.clone();
            s.spawn(move || {
                for tx in chunk {
                    let t0 = Instant::now();
                    let h = client.submit(tx).expect("accepted");
                    let v = client.wait(&h, Duration::from_secs(60)).unwrap();
                    assert_eq!(v.status, TxStatusKind::Included, "{v:?}");
                    latencies.lock().unwrap().push(t0.elapsed());
                }
            });
        }
    });
    let elapsed = start.elapsed();
    drop(nodes);
    // `BENCH_KEEP_LOGS=DIR` keeps each validator's log of each iteration (DIR/data-N/node-K.log).
    if let Some(keep) = std::env::var_os("BENCH_KEEP_LOGS") {
        let dst = Path::new(&keep).join(data.file_name().expect("a data directory"));
        std::fs::create_dir_all(&dst).unwrap();
        for k in 0..dev.node_configs.len() {
            let log = data.join(format!("node-{k}/node.log"));
            std::fs::copy(&log, dst.join(format!("node-{k}.log"))).unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(data);
    elapsed
}

/// Most warm-up transactions before the bench gives up on a cluster.
const MAX_WARM_UP: usize = 60;

/// Warms the cluster up, outside the measured time: document anchors (cheap transactions), one
/// at a time and each to the next validator, until every validator has proposed a finalized
/// block. Until then, a validator's peer-to-peer connections to some of the others may not be
/// established yet: its proposals reach too few of them and its views time out, which is
/// start-up, not throughput. Answers the time it took and the anchors it needed.
fn warm_up(
    dev: &DevGenesis,
    data: &Path,
    genesis: &Genesis,
    nodes: &[RunningNode],
    customs: &str,
    trader_token: &str,
) -> (Duration, usize) {
    let start = Instant::now();
    let validators: BTreeSet<String> = genesis
        .file
        .validators
        .iter()
        .map(|v| v.public_key.to_lowercase())
        .collect();
    let reader = Client::new(&nodes[0].url, customs);
    for k in 0..=MAX_WARM_UP {
        let blocks = reader.get("/v1/blocks?limit=1000").unwrap();
        let proposers: BTreeSet<String> = blocks["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["proposer"].as_str().map(str::to_owned))
            .collect();
        if validators.is_subset(&proposers) {
            return (start.elapsed(), k);
        }
        let anchor = trader().anchor(
            &genesis.chain_id,
            &format!("BENCH-WARM-UP-{k}"),
            "invoice",
            zkcustoms_ledger_types::tx::sha256(&k.to_be_bytes()),
            "warm-up",
            1,
        );
        let client = Client::new(&nodes[k % nodes.len()].url, trader_token);
        let h = client.submit(&anchor).unwrap();
        let v = client.wait(&h, Duration::from_secs(60)).unwrap();
        assert_eq!(v.status, TxStatusKind::Included, "{v:?}");
    }
    fail(
        data,
        dev.node_configs.len(),
        &format!("not every validator proposed a finalized block after {MAX_WARM_UP} anchors"),
    )
}

criterion_group!(benches, bench_ledger);
criterion_main!(benches);
