//! The prover service under load: `aeo-status/v1` proofs answered per second over HTTP on
//! loopback, and the latency a client sees from request to envelope (p50, p99), next to the time
//! of one proof made directly with the key as the service holds it (its fixed-base tables built,
//! its constraint matrices kept): the service's floor.
//!
//! Each measured iteration sends `REQUESTS` synchronous proof requests (the example witness) from
//! one client (latency of a lone request) or from 8 client threads at once (throughput), to a
//! service started once per configuration (1 and 2 workers; rayon inside each proof either way);
//! the queue is large enough that nothing is refused.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use zkcustoms_benches::{dev_keys, rng};
use zkcustoms_circuits::{aeo_status, CircuitId};
use zkcustoms_prover::service::{run_until, ProverService, ServiceConfig, ServiceKeys};
use zkcustoms_prover::witness::example;
use zkcustoms_verifier::KeyDir;

/// Requests per measured iteration.
const REQUESTS: usize = 16;
const TOKEN: &str = "bench-token-0123456789abcdef";

struct Running {
    url: String,
    stop: Arc<Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(keys: &std::path::Path, workers: usize) -> Running {
    let service_keys = ServiceKeys::load(&KeyDir::open(keys).unwrap(), &[]).unwrap();
    let mut config = ServiceConfig::new(TOKEN);
    config.workers = workers;
    config.queue = 256;
    let service = ProverService::start(service_keys, config).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = Arc::new(Notify::new());
    let s = stop.clone();
    let thread = std::thread::spawn(move || {
        run_until(listener, service, Duration::from_secs(60), move || {
            Ok(async move { s.notified().await })
        })
        .expect("service runs");
    });
    Running {
        url,
        stop,
        thread: Some(thread),
    }
}

/// One synchronous proof request; a proof not ready within the service's synchronous wait (a
/// machine busy with something else) is answered 202 and polled to the end.
fn prove_over_http(agent: &ureq::Agent, url: &str, witness: &str) {
    let auth = format!("Bearer {TOKEN}");
    let r = agent
        .post(&format!("{url}/v1/proofs/aeo-status/v1"))
        .set("Authorization", &auth)
        .send_string(witness)
        .expect("accepted");
    if r.status() == 200 {
        return;
    }
    assert_eq!(r.status(), 202);
    let id = r.into_json::<serde_json::Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    eprintln!("a synchronous proof took longer than the synchronous wait: polling job {id}");
    loop {
        let v: serde_json::Value = agent
            .get(&format!("{url}/v1/jobs/{id}?wait_ms=30000"))
            .set("Authorization", &auth)
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        match v["state"].as_str() {
            Some("done") => return,
            Some("failed") => panic!("{v}"),
            _ => {}
        }
    }
}

fn bench_prover_service(c: &mut Criterion) {
    let keys = dev_keys(&[CircuitId::AeoStatusV1]).expect("dev keys");
    let witness = example(aeo_status::ID).unwrap().to_string();

    let mut group = c.benchmark_group("prover_service");
    group.sample_size(10);
    let direct = &keys.circuits[0];
    let dir = zkcustoms_verifier::KeyDir::open(keys.dir.path()).expect("key directory");
    let mut tabled =
        zkcustoms_prover::ProvingKey::load(&dir, CircuitId::AeoStatusV1).expect("proving key");
    tabled.precompute_tables();
    let mut r = rng();
    group.bench_function("aeo-status/v1 prove directly, tables (no service)", |b| {
        b.iter(|| zkcustoms_prover::prove(&tabled, &direct.statement, &mut r).unwrap())
    });

    group.throughput(Throughput::Elements(REQUESTS as u64));
    for (clients, workers) in [(1, 1), (8, 1), (8, 2)] {
        let service = start(keys.dir.path(), workers);
        let latencies = Mutex::new(Vec::<Duration>::new());
        group.bench_function(
            format!("{REQUESTS} aeo-status/v1 sync requests, {clients} clients, {workers} workers"),
            |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        std::thread::scope(|s| {
                            for _ in 0..clients {
                                let (url, witness, latencies) =
                                    (&service.url, &witness, &latencies);
                                s.spawn(move || {
                                    let agent = ureq::agent();
                                    for _ in 0..REQUESTS / clients {
                                        let t0 = Instant::now();
                                        prove_over_http(&agent, url, witness);
                                        latencies.lock().unwrap().push(t0.elapsed());
                                    }
                                });
                            }
                        });
                    }
                    start.elapsed()
                })
            },
        );
        let l = latencies.into_inner().unwrap();
        let case = format!("{clients} clients, {workers} workers");
        if let Some(p) = zkcustoms_benches::table::record_latencies("prover_service", &case, &l) {
            eprintln!(
                "{case}: request to envelope over {} requests: p50 {:.0} ms, p99 {:.0} ms, max \
                 {:.0} ms",
                l.len(),
                p.p50,
                p.p99,
                p.max,
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_prover_service);
criterion_main!(benches);
