//! The prover service as a real process (`zkcustoms serve prover`): proofs submitted through it
//! to a real ledger node process, graceful shutdown with requests in flight, and a bounded load
//! test on loopback (many clients for a fixed time: no 5xx, every accepted job finishes, the job
//! store stays capped). Its logs, at the most verbose level, are scanned for witness values and
//! tokens.

mod common;

use common::node::Ledger;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_types::tx::{ledger_scope, Ucr};
use zkcustoms_verifier::{KeyDir, ProofEnvelope, PublicValues};

const TOKEN: &str = "prover-e2e-token-5f0c3a9d7e21b846";
/// The customs broker that runs the prover service for the trader [`EORI`] (the example
/// certificate's operator): the service signs the proof transactions with the broker's key, as
/// the owner's delegate. (The service logs the EORI number it signs as: the broker's is not a
/// witness value, so the scan for witness values below stays meaningful.)
const BROKER: &str = "NL000111222";
const AEO: &str = "/v1/proofs/aeo-status/v1";

/// Development keys for aeo-status only: its proofs take a fraction of a second.
fn keys() -> &'static (tempfile::TempDir, String) {
    static KEYS: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").display().to_string();
        let o = run(&[
            "setup",
            "--dev",
            "--out",
            &path,
            "--circuit",
            "aeo-status/v1",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (dir, path)
    })
}

fn witness() -> Value {
    let o = run(&["example", "aeo-status", "--as-of", "2026-11-25"]);
    assert!(o.status.success());
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A prover service process, with its log at the most verbose level.
struct Prover {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    url: String,
    child: Option<Child>,
    agent: ureq::Agent,
}

impl Prover {
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let token_file = path.join("api.token");
        zkcustoms_ledger_types::crypto::write_secret(&token_file, format!("{TOKEN}\n").as_bytes())
            .unwrap();
        let log = std::fs::File::create(path.join("prover.log")).unwrap();
        let mut args = vec![
            "serve",
            "prover",
            "--keys",
            &keys().1,
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            token_file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let mut child = bin()
            .args(&args)
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        // The first line says where it listens (port 0: the system picked a free one).
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut p = Prover {
            _dir: dir,
            dir: path,
            url: String::new(),
            child: Some(child),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
        };
        p.url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no address on stdout: {line:?}: {}", p.log()))
            .to_owned();
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prover.log")).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends a request; answers the status, the Retry-After header and the body.
    fn call(&self, req: ureq::Request, body: Option<&Value>) -> (u16, Option<String>, String) {
        let req = req.set("Authorization", &format!("Bearer {TOKEN}"));
        let r = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let resp = match r {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(e) => panic!("transport error: {e}\n{}", self.log()),
        };
        let status = resp.status();
        let retry = resp.header("Retry-After").map(str::to_owned);
        (status, retry, resp.into_string().unwrap())
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Option<String>, String) {
        let req = self.agent.post(&format!("{}{path}", self.url));
        self.call(req, Some(body))
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.call(self.agent.get(&format!("{}{path}", self.url)), None);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn metrics(&self) -> String {
        ureq::get(&format!("{}/metrics", self.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    }

    /// Long-polls a job until it is finished.
    fn finished(&self, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let (status, v) = self.get(&format!("/v1/jobs/{id}?wait_ms=10000"));
            assert_eq!(status, 200, "{v}");
            if v["state"] == "done" || v["state"] == "failed" {
                return v;
            }
            assert!(start.elapsed() < Duration::from_secs(120), "job stuck: {v}");
        }
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let o = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .output()
            .unwrap();
        assert!(o.status.success());
        child.wait().unwrap()
    }
}

impl Drop for Prover {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A gauge or counter from the Prometheus text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in\n{text}"))
}

fn verifies(text: &str) -> ProofEnvelope {
    let env = ProofEnvelope::from_json(text).unwrap();
    let vk = KeyDir::open(&keys().1)
        .unwrap()
        .verifying_key(CircuitId::AeoStatusV1)
        .unwrap();
    vk.verify(&env).unwrap();
    env
}

/// Values of the example witness that must never be in a log.
fn secrets(w: &Value) -> Vec<String> {
    let cert = &w["membership"]["certificate"];
    let mut s: Vec<String> = [
        &w["holder_secret"],
        &cert["operator_id"],
        &cert["holder_commitment"],
    ]
    .iter()
    .map(|v| v.as_str().unwrap().to_owned())
    .collect();
    for sibling in w["membership"]["path"]["siblings"].as_array().unwrap() {
        s.push(sibling.as_str().unwrap().to_owned());
    }
    s
}

#[test]
fn proofs_go_from_the_prover_service_to_a_ledger_node() {
    let mut l = Ledger::prepare_with_keys(&keys().1, true);
    l.start();
    // The authority publishes the example registry's root.
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certificates.json");
    std::fs::write(
        &certs,
        run(&["example", "certificates", "--as-of", "2026-11-25"]).stdout,
    )
    .unwrap();
    let registry = dir.path().join("registry");
    let o = run(&[
        "registry",
        "build",
        "--certificates",
        certs.to_str().unwrap(),
        "--out",
        registry.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let root = registry.join("root.json").display().to_string();
    let key = l.path("authority-DE-GZD.key");
    let o = l.cli(
        "authority",
        &["submit", "root", "--registry", &root, "--key", &key],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The office registers the trader and its broker; the trader owns the consignment (its
    // first anchor under it) and lets the broker act for it.
    let ucr = "26DE-HAM-000042";
    l.register_trader(EORI);
    let broker_key = l.register_trader(BROKER);
    let o = l.as_trader(
        EORI,
        &[
            "submit",
            "anchor",
            "--ucr",
            ucr,
            "--doc-type",
            "declaration",
            "--digest",
            &"11".repeat(32),
            "--reference",
            "vault://declarations/1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = l.cli(
        "trader",
        &[
            "party",
            "delegate",
            "--owner",
            EORI,
            "--key",
            &l.trader_key(EORI),
            "--delegate",
            BROKER,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let trader_token = l.path("trader.token");
    let mut p = Prover::start(&[
        "--ledger",
        &l.url,
        "--ledger-genesis",
        &l.path("genesis.json"),
        "--ledger-token-file",
        &trader_token,
        "--ledger-trader",
        BROKER,
        "--ledger-key",
        &broker_key,
    ]);
    let log = p.log();
    assert!(log.contains("DEVELOPMENT KEYS"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("serving") && l.contains("aeo-status/v1")),
        "{log}"
    );

    // Prove and submit: the job reports the ledger's transaction, included. (The service makes
    // the proof in the ledger's scope for the consignment, which it asks the node for.)
    let w = witness();
    let request = json!({"witness": w, "submit_to": {"ucr": ucr}});
    let (status, _, body) = p.post(AEO, &request);
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = p.finished(&id);
    assert_eq!(job["state"], "done", "{job}");
    let ledger = &job["ledger"];
    assert_eq!(ledger["status"], "included", "{job}\n{}", p.log());
    assert_eq!(ledger["ucr"], ucr);
    let hash = ledger["hash"].as_str().unwrap();
    let env = verifies(&job["envelope"].to_string());
    let PublicValues::AeoStatus(public) = &env.public else {
        panic!("an aeo-status envelope: {job}")
    };
    assert_eq!(
        public.scope,
        ledger_scope(&l.chain_id(), &Ucr::parse(ucr).unwrap())
    );
    // The ledger holds that very proof under the consignment.
    let tx = l
        .client("auditor")
        .get(&format!("/v1/transactions/{hash}"))
        .unwrap();
    assert_eq!(tx["status"], "included");
    assert_eq!(tx["height"], ledger["height"]);
    let records = l
        .client("customs")
        .get(&format!("/v1/records?ucr={ucr}"))
        .unwrap();
    // After the owner's anchor, the proof, signed by the broker.
    let recorded = &records["records"][1]["transaction"];
    assert_eq!(recorded["type"], "submit_proof");
    assert_eq!(recorded["trader"], BROKER);
    assert_eq!(
        ProofEnvelope::from_json(&recorded["envelope"].to_string()).unwrap(),
        env
    );

    // The same statement again: a new proof, which the ledger refuses (same nullifier).
    let (status, _, body) = p.post(AEO, &request);
    assert_eq!(status, 202);
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = p.finished(&id);
    assert_eq!(job["state"], "done");
    assert_eq!(job["ledger"]["status"], "rejected", "{job}");
    let code = job["ledger"]["reason"]["error"].as_str().unwrap();
    assert!(
        ["duplicate-proof", "nullifier-used"].contains(&code),
        "{job}"
    );

    // A synchronous proof is the envelope itself, which `zkcustoms verify` accepts.
    let (status, _, body) = p.post(AEO, &w);
    assert_eq!(status, 200, "{body}");
    let file = dir.path().join("aeo.proof.json");
    std::fs::write(&file, &body).unwrap();
    let o = run(&["verify", "--keys", &keys().1, file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    let metrics = p.metrics();
    assert_eq!(
        metric(
            &metrics,
            "zkcustoms_prover_ledger_submissions_total{status=\"included\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            "zkcustoms_prover_ledger_submissions_total{status=\"rejected\"}"
        ),
        1.0
    );

    let status = p.stop();
    assert!(status.success(), "exit {status}: {}", p.log());
    let log = p.log();
    assert!(log.contains("prover service stopped"), "{log}");
    assert!(log.contains(&id), "jobs are logged");
    // At TRACE, the log has neither witness values nor tokens.
    let ledger_token = l.token("trader");
    for s in secrets(&w)
        .iter()
        .map(String::as_str)
        .chain([TOKEN, ledger_token.trim()])
    {
        assert!(!log.contains(s), "{s} is in the log");
    }
    l.stop();
}

/// The service catches SIGINT and SIGTERM before it says where it listens: checked where the
/// kernel records the handlers, the moment the address line is read; a SIGTERM right then is a
/// graceful shutdown (exit 0).
#[test]
fn signals_are_caught_before_the_address_line() {
    let mut p = Prover::start(&[]);
    assert_catches_shutdown_signals(p.pid());
    let status = p.stop();
    assert!(status.success(), "exit {status}: {}", p.log());
}

#[test]
fn shutdown_answers_every_request_in_flight() {
    let mut prover = Prover::start(&["--workers", "1", "--queue", "8"]);
    let w = witness();
    let answers = Arc::new(Mutex::new(Vec::new()));
    // Eight requests: with one worker, shutdown finds jobs waiting unless the machine stalls for
    // seven proofs between the scrape below and the signal.
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (prover, w, answers) = (&prover, &w, answers.clone());
            s.spawn(move || {
                let a = prover.post(AEO, w);
                answers.lock().unwrap().push(a);
            });
        }
        // Before the signal, every request has its job and the worker has taken one of them: a
        // job accepted is not yet a job proving, and only a job taken by a worker finishes
        // after the signal. Both counts only grow, so one scrape where both hold is enough.
        let start = Instant::now();
        loop {
            let m = prover.metrics();
            let accepted = metric(
                &m,
                "zkcustoms_prover_jobs_accepted_total{statement=\"aeo-status/v1\"}",
            );
            let taken = metric(&m, "zkcustoms_prover_jobs{state=\"proving\"}")
                + metric(&m, "zkcustoms_prover_jobs{state=\"done\"}");
            if accepted == 8.0 && taken >= 1.0 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "jobs not accepted and taken by the worker:\n{m}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let o = std::process::Command::new("kill")
            .args(["-TERM", &prover.pid().to_string()])
            .output()
            .unwrap();
        assert!(o.status.success());
    });
    let status = prover.child.take().unwrap().wait().unwrap();
    assert!(status.success(), "exit {status}: {}", prover.log());
    // Running proofs finished (200), waiting ones failed cleanly (503); none was cut off.
    let answers = answers.lock().unwrap();
    let mut failed = 0;
    for (status, _, body) in answers.iter() {
        match status {
            200 => {
                verifies(body);
            }
            503 => {
                assert_eq!(
                    serde_json::from_str::<Value>(body).unwrap()["error"],
                    "shutting-down"
                );
                failed += 1;
            }
            other => panic!("answered {other}: {body}"),
        }
    }
    let log = prover.log();
    let reported = log
        .lines()
        .find(|l| l.contains("prover service stopped"))
        .and_then(|l| l.split("failed_waiting=").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no shutdown report: {log}"));
    assert_eq!(reported, failed.to_string(), "{log}");
    assert_eq!(answers.len(), 8);
    assert!(failed < 8, "the running proof finished");
    assert!(
        failed >= 1,
        "no job was waiting at the signal: the 503 path was not run"
    );
}

/// Many clients for a fixed time against a small queue and job store.
#[test]
fn bounded_load_on_loopback() {
    const CLIENTS: usize = 16;
    const MAX_JOBS: f64 = 16.0;
    let run_for = Duration::from_secs(5);
    let prover = Prover::start(&[
        "--workers",
        "2",
        "--queue",
        "4",
        "--max-jobs",
        "16",
        "--result-ttl-secs",
        "5",
    ]);
    let w = witness();
    let stop = AtomicBool::new(false);
    let latencies = Mutex::new(Vec::<Duration>::new());
    let (accepted, proved, refused) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let most_stored = Mutex::new(0f64);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let (prover, w) = (&prover, &w);
            let (stop, latencies) = (&stop, &latencies);
            let (accepted, proved, refused) = (&accepted, &proved, &refused);
            s.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    // One request in four runs as a job that the client polls.
                    let job = (c + n) % 4 == 0;
                    let path = if job {
                        format!("{AEO}?mode=job")
                    } else {
                        AEO.to_owned()
                    };
                    let t0 = Instant::now();
                    let (status, retry, body) = prover.post(&path, w);
                    match status {
                        200 => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            verifies(&body);
                            proved.fetch_add(1, Ordering::Relaxed);
                            latencies.lock().unwrap().push(t0.elapsed());
                        }
                        202 => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            let v: Value = serde_json::from_str(&body).unwrap();
                            let done = prover.finished(v["id"].as_str().unwrap());
                            match done["state"].as_str() {
                                Some("done") => {
                                    verifies(&done["envelope"].to_string());
                                    proved.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => assert!(
                                    done["error"]["error"].is_string()
                                        && done["error"]["message"].is_string(),
                                    "a failed job says why: {done}"
                                ),
                            }
                        }
                        429 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            let secs: u64 = retry.expect("Retry-After").parse().unwrap();
                            assert!((1..=60).contains(&secs));
                            // Back off, but not past the end of the run.
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        other => panic!("answered {other}: {body}"),
                    }
                }
            });
        }
        // Watch the job store while the clients run.
        while start.elapsed() < run_for {
            let stored = metric(&prover.metrics(), "zkcustoms_prover_jobs_stored");
            let mut m = most_stored.lock().unwrap();
            *m = m.max(stored);
            drop(m);
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = start.elapsed();
    let (accepted, proved, refused) = (
        accepted.into_inner(),
        proved.into_inner(),
        refused.into_inner(),
    );
    let metrics = prover.metrics();
    let most_stored = *most_stored.lock().unwrap();
    let hwm_kib: u64 = std::fs::read_to_string(format!("/proc/{}/status", prover.pid()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let mut l = latencies.into_inner().unwrap();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1];
    eprintln!(
        "load: {CLIENTS} clients, {:.1} s: {accepted} accepted, {proved} proved ({:.1} proofs/s), \
         {refused} answered 429; synchronous latency p50 {:.0} ms, p99 {:.0} ms; \
         at most {most_stored} jobs stored; peak RSS {} MiB",
        elapsed.as_secs_f64(),
        proved as f64 / elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        hwm_kib / 1024
    );
    // Every accepted job finished, the queue bound was met, the store stayed capped.
    assert_eq!(proved, accepted, "every accepted job made a proof");
    assert!(
        refused > 0,
        "the queue of 4 filled up under {CLIENTS} clients"
    );
    assert!(most_stored <= MAX_JOBS);
    assert!(metric(&metrics, "zkcustoms_prover_jobs_stored") <= MAX_JOBS);
    assert_eq!(
        metric(
            &metrics,
            "zkcustoms_prover_jobs_finished_total{statement=\"aeo-status/v1\",outcome=\"done\"}"
        ),
        accepted as f64
    );
    assert!(!metrics.contains("status=\"5"), "no 5xx:\n{metrics}");
    assert!(hwm_kib < 512 * 1024, "peak RSS {hwm_kib} KiB");
}
