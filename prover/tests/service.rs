//! The prover service, driven through its router without a socket (`tower::ServiceExt::oneshot`):
//! synchronous answers and jobs, every kind of bad input with its JSON error, the native check
//! before any proving (422), the bounded queue (429 with Retry-After), the bounded job store,
//! graceful shutdown, ledger targets, metrics, the OpenAPI document, and logs that never contain
//! a witness value.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::{aeo_status, declaration_match, invoice_value, CircuitId};
use zkcustoms_ledger_client::tx::LEDGER_SCOPE_DOMAIN;
use zkcustoms_prover::service::{
    router, ProverService, ServiceConfig, ServiceKeys, LOG_DIRECTIVES,
};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example;
use zkcustoms_verifier::{KeyDir, ProofEnvelope, PublicValues};

const TOKEN: &str = "prover-test-token-0123456789abcdef";
const AEO: &str = "/v1/proofs/aeo-status/v1";
const INVOICE: &str = "/v1/proofs/invoice-value/v1";

// ---------------------------------------------------------------------------------------------
// Logs: every event of every test in this binary, at every level, goes to one buffer.

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        // Everything, as the service's binary filters it: at every level, less the proof
        // system's spans (see LOG_DIRECTIVES).
        let filter = format!("trace,{LOG_DIRECTIVES}");
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Keys and services

/// Development keys for aeo-status (fast to make), once per test binary.
fn aeo_keys() -> &'static (tempfile::TempDir, PathBuf) {
    static KEYS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(dir.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap();
        let path = dir.path().to_path_buf();
        (dir, path)
    })
}

/// Development keys for aeo-status and the 4-line invoice class (the invoice key takes a while).
fn invoice_keys() -> &'static (tempfile::TempDir, PathBuf) {
    static KEYS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(
            dir.path(),
            &[
                CircuitId::AeoStatusV1,
                CircuitId::InvoiceValueV1(SizeClass::Lines4),
            ],
            |_| {},
        )
        .unwrap();
        let path = dir.path().to_path_buf();
        (dir, path)
    })
}

/// Development keys for the 4-line declaration-match class.
fn declaration_keys() -> &'static (tempfile::TempDir, PathBuf) {
    static KEYS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(
            dir.path(),
            &[CircuitId::DeclarationMatchV1(SizeClass::Lines4)],
            |_| {},
        )
        .unwrap();
        let path = dir.path().to_path_buf();
        (dir, path)
    })
}

fn config() -> ServiceConfig {
    let mut c = ServiceConfig::new(TOKEN);
    c.workers = 2;
    c.queue = 8;
    c.max_jobs = 64;
    c.max_body = 64 * 1024;
    c
}

fn start(dir: &PathBuf, config: ServiceConfig) -> (ProverService, Router) {
    logs();
    let keys = ServiceKeys::load(&KeyDir::open(dir).unwrap(), &[]).unwrap();
    let service = ProverService::start(keys, config).unwrap();
    let r = router(service.clone());
    (service, r)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "{} is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The error code of a JSON error, after checking that it has exactly `error` and `message`.
    fn error(&self) -> String {
        let v = self.json();
        let o = v.as_object().expect("an error is an object");
        assert!(o["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert_eq!(o.len(), 2, "{v}");
        o["error"].as_str().unwrap().to_owned()
    }
}

async fn send(r: &Router, method: Method, uri: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = r
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(r: &Router, uri: &str, body: &Value) -> Answer {
    send(
        r,
        Method::POST,
        uri,
        Some(TOKEN),
        body.to_string().into_bytes(),
    )
    .await
}

async fn get(r: &Router, uri: &str) -> Answer {
    send(r, Method::GET, uri, Some(TOKEN), Vec::new()).await
}

/// Waits for a job to finish (long polls) and answers it.
async fn finished(r: &Router, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let a = get(r, &format!("/v1/jobs/{id}?wait_ms=10000")).await;
        assert_eq!(a.status, StatusCode::OK);
        let v = a.json();
        if v["state"] == "done" || v["state"] == "failed" {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "job stuck: {v}");
    }
}

/// A change to a witness.
type Edit = Box<dyn Fn(&mut Value)>;

fn aeo_witness() -> Value {
    example(aeo_status::ID).unwrap()
}

fn invoice_witness() -> Value {
    example(invoice_value::ID).unwrap()
}

/// Checks an envelope under the key directory's verifying key, and that a wrong public input
/// makes it fail.
fn assert_verifies(dir: &PathBuf, text: &str) -> ProofEnvelope {
    let env = ProofEnvelope::from_json(text).unwrap();
    let vk = KeyDir::open(dir)
        .unwrap()
        .verifying_key(env.circuit)
        .unwrap();
    vk.verify(&env).unwrap();
    let mut wrong = env.clone();
    match &mut wrong.public {
        PublicValues::AeoStatus(p) => p.scope.push('x'),
        PublicValues::InvoiceValue(p) => p.declared_value_minor += 1,
        PublicValues::DeclarationMatch(p) => p.items[0].value_minor += 1,
        _ => unreachable!("three statements"),
    }
    assert!(vk.verify(&wrong).unwrap_err().is_invalid_proof());
    env
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_statement_answers_its_envelope_and_any_statement_runs_as_a_job() {
    let dir = &aeo_keys().1;
    let (service, r) = start(dir, config());

    // aeo-status answers the envelope itself (what `zkcustoms prove` writes).
    let a = post(&r, AEO, &aeo_witness()).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let env = assert_verifies(dir, std::str::from_utf8(&a.body).unwrap());
    assert_eq!(env.circuit, CircuitId::AeoStatusV1);
    let location = a.headers[header::LOCATION].to_str().unwrap().to_owned();
    let job = get(&r, &location).await.json();
    assert_eq!(job["state"], "done");
    assert_eq!(job["statement"], aeo_status::ID);
    assert_eq!(
        ProofEnvelope::from_json(&job["envelope"].to_string()).unwrap(),
        env
    );
    assert!(job["proving_ms"].is_u64() && job["expires_ms"].is_u64());

    // The short name and the escaped id name the same statement; mode=job answers 202 at once.
    for uri in [
        "/v1/proofs/aeo-status?mode=job",
        "/v1/proofs/aeo-status%2Fv1?mode=job",
    ] {
        let a = post(&r, uri, &aeo_witness()).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        let v = a.json();
        assert!(["queued", "proving"].contains(&v["state"].as_str().unwrap()));
        assert_eq!(
            a.headers[header::LOCATION].to_str().unwrap(),
            format!("/v1/jobs/{}", v["id"].as_str().unwrap())
        );
        let done = finished(&r, v["id"].as_str().unwrap()).await;
        assert_eq!(done["state"], "done", "{done}");
        assert_verifies(dir, &done["envelope"].to_string());
    }
    service.begin_shutdown();

    // A synchronous request whose proof is not ready in time answers 202 with its job.
    let mut c = config();
    c.sync_wait = Duration::from_millis(1);
    let (service, r) = start(dir, c);
    let a = post(&r, AEO, &aeo_witness()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let done = finished(&r, a.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "done");
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_with_a_json_error_before_any_job() {
    let dir = &aeo_keys().1;
    let (service, r) = start(dir, config());
    let w = aeo_witness();
    let body = w.to_string().into_bytes();

    // Authentication.
    let a = send(&r, Method::POST, AEO, None, body.clone()).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let a = send(
        &r,
        Method::POST,
        AEO,
        Some("prover-test-token-0123456789abcdeX"),
        body.clone(),
    )
    .await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let a = send(&r, Method::GET, "/v1/status", None, Vec::new()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // Statements, routes and methods.
    let a = post(&r, "/v1/proofs/origin/v1", &w).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::NOT_FOUND, "unknown-statement")
    );
    let a = post(&r, INVOICE, &invoice_witness()).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::NOT_FOUND, "statement-not-served")
    );
    let a = get(&r, "/v1/nothing").await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let a = get(&r, AEO).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    let a = post(&r, &format!("{AEO}?mode=later"), &w).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "bad-query")
    );
    let a = post(&r, &format!("{AEO}?fast=1"), &w).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "bad-query")
    );

    // Malformed and incomplete witnesses.
    let raw = |b: &[u8]| send(&r, Method::POST, AEO, Some(TOKEN), b.to_vec());
    let a = raw(b"{not json").await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-json")
    );
    let a = raw(&[0xff, 0xfe, b'{']).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-json")
    );
    let a = raw(b"").await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-json")
    );
    // A key twice: refused, not read by its last value.
    let text = serde_json::to_string(&w).unwrap();
    let a = raw(format!("{{\"membership\":null,{}", &text[1..]).as_bytes()).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-json")
    );
    let edits: Vec<(&str, Edit)> = vec![
        (
            "missing field",
            Box::new(|v: &mut Value| {
                v.as_object_mut().unwrap().remove("membership");
            }),
        ),
        (
            "missing statement",
            Box::new(|v: &mut Value| {
                v.as_object_mut().unwrap().remove("statement");
            }),
        ),
        (
            "other statement",
            Box::new(|v: &mut Value| v["statement"] = "invoice-value/v1".into()),
        ),
        (
            "unknown field",
            Box::new(|v: &mut Value| v["extra"] = 1.into()),
        ),
        (
            "bad secret",
            Box::new(|v: &mut Value| v["holder_secret"] = "zz".into()),
        ),
        (
            "bad day",
            Box::new(|v: &mut Value| v["as_of"] = "2026-13-45".into()),
        ),
        (
            "bad tier",
            Box::new(|v: &mut Value| v["required_tier"] = "GOLD".into()),
        ),
        (
            "empty scope",
            Box::new(|v: &mut Value| v["scope"] = "".into()),
        ),
        ("array", Box::new(|v: &mut Value| *v = json!([1, 2]))),
    ];
    for (what, edit) in &edits {
        let mut v = w.clone();
        edit(&mut v);
        let a = post(&r, AEO, &v).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}: {}", a.json());
        assert!(
            ["malformed-witness", "malformed-request"].contains(&a.error().as_str()),
            "{what}: {}",
            a.json()
        );
    }
    // The wrapped form refuses unknown fields too.
    let a = post(&r, AEO, &json!({"witness": w, "priority": 1})).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-request")
    );
    // No ledger is configured here.
    let a = post(
        &r,
        AEO,
        &json!({"witness": w, "submit_to": {"ucr": "UCR-1"}}),
    )
    .await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::BAD_REQUEST, "submit-not-configured")
    );

    // Witnesses that do not satisfy the statement: 422 names the failed check.
    let checks: Vec<(&str, Edit)> = vec![
        (
            "holder secret does not match",
            Box::new(|v: &mut Value| {
                v["holder_secret"] = format!("{:064x}", 7).into();
            }),
        ),
        (
            "certificate has expired",
            Box::new(|v: &mut Value| v["as_of"] = "2027-03-01".into()),
        ),
        (
            "not yet valid",
            Box::new(|v: &mut Value| v["as_of"] = "2024-01-01".into()),
        ),
        (
            "not in the registry",
            Box::new(|v: &mut Value| {
                v["membership"]["certificate"]["operator_id"] = "DE000000000000001".into();
            }),
        ),
        (
            "not in the registry",
            Box::new(|v: &mut Value| {
                v["membership"]["path"]["index"] = 1.into();
            }),
        ),
        (
            "another authority",
            Box::new(|v: &mut Value| v["authority"] = "FR-DGDDI".into()),
        ),
        (
            "Merkle path must have 20 siblings",
            Box::new(|v: &mut Value| {
                v["membership"]["path"]["siblings"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
        ),
    ];
    for (check, edit) in &checks {
        let mut v = w.clone();
        edit(&mut v);
        let a = post(&r, AEO, &v).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{check}: {}",
            a.json()
        );
        assert_eq!(a.error(), "unsatisfied-witness");
        let message = a.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(check), "{check}: {message}");
        assert!(message.contains(aeo_status::ID), "{message}");
    }

    // A ledger's scope for a consignment, brought by the caller instead of set for submit_to,
    // is refused: it would prove the holder's certificate for that consignment's owner.
    let mut lent = w.clone();
    lent["scope"] = format!("{LEDGER_SCOPE_DOMAIN}:{}", "ab".repeat(32)).into();
    let a = post(&r, AEO, &lent).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "ledger-scope")
    );

    // Oversized bodies.
    let mut big = w.clone();
    big["scope"] = "x".repeat(128 * 1024).into();
    let a = post(&r, AEO, &big).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );

    // Unknown and malformed job ids.
    for id in ["00112233445566778899aabbccddeeff", "nope", "0011"] {
        let a = get(&r, &format!("/v1/jobs/{id}")).await;
        assert_eq!(
            (a.status, a.error().as_str()),
            (StatusCode::NOT_FOUND, "unknown-job")
        );
    }
    let a = get(&r, "/v1/jobs/00112233445566778899aabbccddeeff?wait=1").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // None of this made a job or reached a worker.
    assert_eq!(service.jobs_stored(), 0);
    let metrics = String::from_utf8(get(&r, "/metrics").await.body).unwrap();
    assert!(
        metrics.contains("zkcustoms_prover_jobs_accepted_total{statement=\"aeo-status/v1\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("zkcustoms_prover_proving_seconds_count{statement=\"aeo-status/v1\"} 0")
    );
    // The service still works.
    let a = post(&r, AEO, &w).await;
    assert_eq!(a.status, StatusCode::OK);
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_value_runs_as_a_job_after_its_native_check() {
    let dir = &invoice_keys().1;
    let (service, r) = start(dir, config());
    let w = invoice_witness();
    let checks: Vec<(&str, Edit)> = vec![
        (
            "declared value differs",
            Box::new(|v: &mut Value| {
                v["declared"]["value_minor"] =
                    (v["declared"]["value_minor"].as_u64().unwrap() + 1).into();
            }),
        ),
        (
            "declared currency differs",
            Box::new(|v: &mut Value| {
                v["declared"]["currency"] = "USD".into();
            }),
        ),
        (
            "lines do not add up to",
            Box::new(|v: &mut Value| {
                v["invoice"]["lines"][0]["amount_minor"] = 1.into();
            }),
        ),
    ];
    for (check, edit) in &checks {
        let mut v = w.clone();
        edit(&mut v);
        let a = post(&r, INVOICE, &v).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{check}: {}",
            a.json()
        );
        assert_eq!(a.error(), "unsatisfied-witness");
        let message = a.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(check), "{check}: {message}");
    }
    // Five lines need the 16-line class, which this service has no key for.
    let mut five = w.clone();
    let line = five["invoice"]["lines"][0].clone();
    let amount = line["amount_minor"].as_u64().unwrap();
    five["invoice"]["lines"]
        .as_array_mut()
        .unwrap()
        .extend([line.clone(), line]);
    for (a, b) in [("invoice", "total_minor"), ("declared", "value_minor")] {
        let total = five[a][b].as_u64().unwrap() + 2 * amount;
        five[a][b] = total.into();
    }
    let a = post(&r, INVOICE, &five).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "circuit-not-served")
    );
    assert_eq!(service.jobs_stored(), 0);

    // A valid witness: 202 and a job by default (the proof takes seconds).
    let a = post(&r, "/v1/proofs/invoice-value", &w).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.json());
    let job = a.json();
    assert_eq!(
        (job["statement"].as_str(), job["size_class"].as_u64()),
        (Some(invoice_value::ID), Some(4))
    );
    let done = finished(&r, job["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");
    let env = assert_verifies(dir, &done["envelope"].to_string());
    assert_eq!(env.circuit, CircuitId::InvoiceValueV1(SizeClass::Lines4));

    // The invoice's private values are in no log line.
    let text = log_text();
    assert!(
        text.contains(job["id"].as_str().unwrap()),
        "the job is logged"
    );
    for secret in [
        "INV-2026-000451",
        "NL000099998888",
        "Static converters",
        "Insulated cables",
        "1080000",
        "520000",
        "243250",
    ] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declaration_match_runs_as_a_job_after_its_native_check() {
    let dir = &declaration_keys().1;
    let (service, r) = start(dir, config());
    let w = example(declaration_match::ID).unwrap();
    let checks: Vec<(&str, Edit)> = vec![
        (
            "item 850440: value differs",
            Box::new(|v: &mut Value| v["declared"]["items"][0]["value_minor"] = 1_080_000.into()),
        ),
        (
            "heading must be six digits",
            Box::new(|v: &mut Value| v["declared"]["items"][1]["hs_code"] = "8544".into()),
        ),
        (
            "declared in more than one item",
            Box::new(|v: &mut Value| v["declared"]["items"][1]["hs_code"] = "850440".into()),
        ),
        (
            "no items",
            Box::new(|v: &mut Value| v["declared"]["items"] = json!([])),
        ),
        (
            "invoice line 3 is in no declaration item",
            Box::new(|v: &mut Value| {
                v["declared"]["items"].as_array_mut().unwrap().pop();
            }),
        ),
    ];
    for (check, edit) in &checks {
        let mut v = w.clone();
        edit(&mut v);
        let a = post(&r, "/v1/proofs/declaration-match", &v).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{check}: {}",
            a.json()
        );
        assert_eq!(a.error(), "unsatisfied-witness");
        let message = a.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(check), "{check}: {message}");
    }
    assert_eq!(service.jobs_stored(), 0);

    // A valid witness: 202 and a job by default, in the smallest class served.
    let a = post(&r, "/v1/proofs/declaration-match", &w).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.json());
    let job = a.json();
    assert_eq!(
        (job["statement"].as_str(), job["size_class"].as_u64()),
        (Some(declaration_match::ID), Some(4))
    );
    let done = finished(&r, job["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");
    let env = assert_verifies(dir, &done["envelope"].to_string());
    assert_eq!(
        env.circuit,
        CircuitId::DeclarationMatchV1(SizeClass::Lines4)
    );
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_with_retry_after_and_every_accepted_job_finishes() {
    let dir = &aeo_keys().1;
    let mut c = config();
    c.workers = 1;
    c.queue = 1;
    c.max_jobs = 4;
    let (service, r) = start(dir, c);
    // Back-to-back requests take milliseconds, a proof hundreds: the queue of one fills at once.
    let mut accepted = Vec::new();
    let mut refused = None;
    for _ in 0..10 {
        let a = post(&r, &format!("{AEO}?mode=job"), &aeo_witness()).await;
        match a.status {
            StatusCode::ACCEPTED => accepted.push(a.json()["id"].as_str().unwrap().to_owned()),
            StatusCode::TOO_MANY_REQUESTS => {
                refused = Some(a);
                break;
            }
            s => panic!("unexpected {s}"),
        }
    }
    let refused = refused.expect("the queue filled up");
    // Jobs finished by now (a slow machine may finish one between two requests).
    let metrics = String::from_utf8(get(&r, "/metrics").await.body).unwrap();
    let finished_by_now: usize = metrics
        .lines()
        .filter(|l| l.starts_with("zkcustoms_prover_jobs_finished_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(refused.error(), "queue-full");
    let retry: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    // One proving and one waiting when the queue refused, besides those already finished.
    assert!(
        (1..=2 + finished_by_now).contains(&accepted.len()),
        "{} accepted, {finished_by_now} finished",
        accepted.len()
    );
    assert!(service.jobs_stored() <= 4);
    for id in &accepted {
        assert_eq!(finished(&r, id).await["state"], "done");
    }
    let metrics = String::from_utf8(get(&r, "/metrics").await.body).unwrap();
    assert!(metrics.contains("zkcustoms_prover_http_responses_total{route=\"/v1/proofs/{*statement}\",status=\"429\"} 1"), "{metrics}");
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_are_kept_for_a_bounded_time_and_number() {
    let dir = &aeo_keys().1;
    let mut c = config();
    c.workers = 1;
    c.queue = 1;
    c.max_jobs = 3;
    // Long enough that no result expires while the count is checked, however slow the machine.
    c.result_ttl = Duration::from_secs(600);
    let (service, r) = start(dir, c.clone());
    let mut ids = Vec::new();
    for _ in 0..5 {
        let a = post(&r, AEO, &aeo_witness()).await;
        assert_eq!(a.status, StatusCode::OK);
        let loc = a.headers[header::LOCATION].to_str().unwrap().to_owned();
        ids.push(loc);
        assert!(service.jobs_stored() <= 3);
    }
    // The oldest results made room for the newest.
    assert_eq!(get(&r, &ids[0]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&r, &ids[1]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&r, &ids[4]).await.status, StatusCode::OK);
    service.begin_shutdown();
    // And results expire: checked only once they must have (absence, never presence, under a
    // short lifetime).
    c.result_ttl = Duration::from_millis(50);
    let (service, r) = start(dir, c);
    let a = post(&r, AEO, &aeo_witness()).await;
    assert_eq!(a.status, StatusCode::OK);
    let id = a.headers[header::LOCATION].to_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&r, &id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(service.jobs_stored(), 0);
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_fails_waiting_jobs_and_finishes_running_ones() {
    let dir = &aeo_keys().1;
    let mut c = config();
    c.workers = 1;
    c.queue = 8;
    let (service, r) = start(dir, c);
    let mut ids = Vec::new();
    // Eight jobs: shutdown finds jobs waiting unless the machine stalls for seven proofs between
    // the worker taking the first and the shutdown.
    for _ in 0..8 {
        let a = post(&r, &format!("{AEO}?mode=job"), &aeo_witness()).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        ids.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    // A job accepted is not yet a job running: wait until the worker has taken the first one
    // (jobs are taken in order), so that shutdown finds one job running and the rest waiting.
    let start = Instant::now();
    loop {
        let v = get(&r, &format!("/v1/jobs/{}", ids[0])).await.json();
        if v["state"] != "queued" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the worker took no job: {v}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiting = service.queue_depth();
    let failed = service.begin_shutdown();
    // The worker may take one more job between the two reads.
    assert!(
        failed <= waiting && failed + 1 >= waiting,
        "{failed} of {waiting}"
    );
    let a = post(&r, AEO, &aeo_witness()).await;
    assert_eq!(
        (a.status, a.error().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "shutting-down")
    );
    assert!(
        service.wait_idle(Duration::from_secs(60)),
        "workers stopped"
    );
    let mut failed_seen = 0;
    for id in &ids {
        let v = get(&r, &format!("/v1/jobs/{id}")).await.json();
        match v["state"].as_str() {
            Some("done") => assert!(v["envelope"].is_object()),
            Some("failed") => {
                assert_eq!(v["error"]["error"], "shutting-down", "{v}");
                failed_seen += 1;
            }
            other => panic!("job left {other:?}"),
        }
    }
    assert_eq!(failed_seen, failed);
    assert!((1..=7).contains(&failed), "one job was running: {failed}");
}

/// A ledger node for the tests: it answers its status (`chain`) at once, and holds every other
/// request unanswered until `release` is set (then answers it 503 and every later one at once).
/// It serves at most `connections` connections, and holds none longer than two minutes.
struct FakeLedger {
    url: String,
    /// Requests held unanswered so far.
    held: Arc<std::sync::atomic::AtomicUsize>,
    release: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeLedger {
    fn start(chain: [u8; 32], connections: usize) -> Self {
        use std::io::{BufRead, BufReader};
        use std::sync::atomic::Ordering::SeqCst;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, rel) = (held.clone(), release.clone());
        std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let (held, release) = (h.clone(), rel.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(stream.try_clone().unwrap());
                    let mut first = String::new();
                    let _ = r.read_line(&mut first);
                    let mut line = String::new();
                    while r.read_line(&mut line).unwrap_or(0) > 2 {
                        line.clear();
                    }
                    let (status, body) = if first.starts_with("GET /v1/status") {
                        ("200 OK", json!({"chain_id": hex::encode(chain)}))
                    } else {
                        held.fetch_add(1, SeqCst);
                        let until = Instant::now() + Duration::from_secs(120);
                        while !release.load(SeqCst) && Instant::now() < until {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        (
                            "503 Service Unavailable",
                            json!({"error": "overloaded", "message": "test"}),
                        )
                    };
                    let body = body.to_string();
                    let mut w = stream;
                    let _ = write!(
                        w,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        FakeLedger { url, held, release }
    }

    fn held(&self) -> usize {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FakeLedger {
    fn drop(&mut self) {
        self.release
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A ledger that holds every submission unanswered fills the forwarders and then the forward
/// queue (as long as the proving queue); a proof finished after that ends at once with its
/// envelope and `ledger-busy`, instead of holding a job slot new proofs need. Nothing is lost:
/// every job ends with its envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_that_does_not_answer_cannot_hold_every_job() {
    let dir = &aeo_keys().1;
    let ledger = FakeLedger::start([7; 32], 16);
    let mut c = config();
    c.queue = 2;
    c.max_jobs = 16;
    c.ledgers = vec![ledger.url.clone()];
    c.ledger_chain = Some([7; 32]);
    c.ledger_token = Some("trader-token".into());
    c.ledger_signer = Some((
        zkcustoms_ledger_client::tx::Eori::parse("NL000111222").unwrap(),
        zkcustoms_ledger_client::crypto::generate(),
    ));
    let (service, r) = start(dir, c);
    let body = json!({"witness": aeo_witness(), "submit_to": {"ledger": ledger.url, "ucr": "26DE-HAM-000042"}});
    async fn submit(r: &Router, body: &Value) -> String {
        let a = post(r, AEO, body).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.json());
        a.json()["id"].as_str().unwrap().to_owned()
    }
    // Two submissions held by the ledger, one per forwarder.
    let mut ids = Vec::new();
    for n in 1..=2 {
        ids.push(submit(&r, &body).await);
        let start = Instant::now();
        while ledger.held() < n {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no forwarder took it"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Two more wait for a forwarder: the forward queue is full.
    for _ in 0..2 {
        let id = submit(&r, &body).await;
        let start = Instant::now();
        loop {
            let v = get(&r, &format!("/v1/jobs/{id}")).await.json();
            if v["state"] == "submitting" {
                break;
            }
            assert_eq!(v["state"].as_str().map(|s| s != "done"), Some(true), "{v}");
            assert!(start.elapsed() < Duration::from_secs(120), "{v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ids.push(id);
    }
    // The next one ends at once, its envelope kept, the ledger not asked.
    let busy = submit(&r, &body).await;
    let v = finished(&r, &busy).await;
    assert_eq!(v["state"], "done", "{v}");
    assert_eq!(v["ledger"]["status"], "failed", "{v}");
    assert_eq!(v["ledger"]["reason"]["error"], "ledger-busy", "{v}");
    assert_verifies(dir, &v["envelope"].to_string());
    assert_eq!(ledger.held(), 2);
    // Released, the ledger refuses what it held (and what follows): every job ends with its
    // envelope and the ledger's answer.
    drop(ledger);
    for id in &ids {
        let v = finished(&r, id).await;
        assert_eq!(v["state"], "done", "{v}");
        assert_eq!(v["ledger"]["status"], "failed", "{v}");
        assert_eq!(v["ledger"]["http_status"], 503, "{v}");
        assert!(v["envelope"].is_object(), "{v}");
    }
    service.begin_shutdown();
}

/// A duration no deadline can be computed from (an operator's "forever") is refused at start,
/// instead of killing the workers at their first finished job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durations_past_the_bound_are_refused_at_start() {
    let dir = &aeo_keys().1;
    // `ProverService::start` runs the same check first.
    let edits: [fn(&mut ServiceConfig); 4] = [
        |c| c.result_ttl = Duration::MAX,
        |c| c.request_timeout = Duration::from_secs(u64::MAX),
        |c| c.sync_wait = Duration::from_secs(31 * 86_400),
        |c| c.ledger_wait = Duration::MAX,
    ];
    for edit in edits {
        let mut c = config();
        edit(&mut c);
        let refused = c.check().expect_err("an unbounded duration is refused");
        assert!(refused.to_string().contains("at most 30 days"), "{refused}");
    }
    // The bound itself is accepted, and the service starts with it.
    let mut c = config();
    c.result_ttl = zkcustoms_prover::service::config::MAX_DURATION;
    c.check().unwrap();
    let (service, _) = start(dir, c);
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_go_only_to_configured_ledgers_and_report_their_outcome() {
    let dir = &aeo_keys().1;
    // Nothing listens on port 9 of the loopback: the submission fails and says why.
    let ledger = "http://127.0.0.1:9";
    let mut c = config();
    c.ledgers = vec![ledger.into()];
    c.ledger_token = Some("trader-token".into());
    c.ledger_signer = Some((
        zkcustoms_ledger_client::tx::Eori::parse("NL000111222").unwrap(),
        zkcustoms_ledger_client::crypto::generate(),
    ));
    c.ledger_wait = Duration::from_secs(2);
    // The network's chain id comes from its genesis, configured: without it, no ledger.
    let keys = ServiceKeys::load(&KeyDir::open(dir).unwrap(), &[]).unwrap();
    match ProverService::start(keys, c.clone()) {
        Err(refused) => assert!(refused.to_string().contains("genesis"), "{refused}"),
        Ok(_) => panic!("a ledger without its genesis was accepted"),
    }
    c.ledger_chain = Some([7; 32]);
    // A node of another network (here one that answers another chain id to each of the two
    // requests below) is submitted nothing, and nothing is proved for it.
    let elsewhere = FakeLedger::start([8; 32], 2);
    let (other, r) = start(
        dir,
        ServiceConfig {
            ledgers: vec![elsewhere.url.clone()],
            ..c.clone()
        },
    );
    let w = aeo_witness();
    for _ in 0..2 {
        let body =
            json!({"witness": w, "submit_to": {"ledger": elsewhere.url, "ucr": "26DE-HAM-000042"}});
        let a = post(&r, AEO, &body).await;
        assert_eq!(
            (a.status, a.error()),
            (StatusCode::BAD_GATEWAY, "ledger-wrong-chain".to_owned())
        );
        assert!(a.json()["message"]
            .as_str()
            .unwrap()
            .contains(&hex::encode([8u8; 32])));
    }
    other.begin_shutdown();
    let (service, r) = start(dir, c);
    let cases = [
        (
            json!({"ledger": "http://10.0.0.1:8080", "ucr": "UCR-1"}),
            "ledger-not-allowed",
        ),
        (json!({"ucr": "ucr lower case"}), "bad-ucr"),
        (json!({"ledger": ledger}), "malformed-request"),
    ];
    for (submit_to, code) in cases {
        let a = post(&r, AEO, &json!({"witness": w, "submit_to": submit_to})).await;
        assert_eq!(
            (a.status, a.error()),
            (StatusCode::BAD_REQUEST, code.to_owned())
        );
    }
    let body = json!({"witness": w, "submit_to": {"ledger": "http://127.0.0.1:9/", "ucr": "26DE-HAM-000042"}});
    // (A synchronous request with a target would be refused, but the scope comes first and
    // needs the ledger.)
    let a = post(&r, &format!("{AEO}?mode=sync"), &body).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY);
    // An aeo-status proof for a ledger carries that ledger's scope for the consignment: the
    // service asks the ledger for its chain id first, and says so when it cannot reach it.
    let a = post(&r, AEO, &body).await;
    assert_eq!(
        (a.status, a.error()),
        (StatusCode::BAD_GATEWAY, "ledger-unreachable".to_owned())
    );
    service.begin_shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_metrics_and_openapi() {
    let dir = &aeo_keys().1;
    let (service, r) = start(dir, config());
    assert_eq!(post(&r, AEO, &aeo_witness()).await.status, StatusCode::OK);
    let status = get(&r, "/v1/status").await.json();
    let circuits = status["circuits"].as_array().unwrap();
    assert_eq!(circuits.len(), 1);
    assert_eq!(circuits[0]["statement"], aeo_status::ID);
    assert_eq!(circuits[0]["default_mode"], "sync");
    let kd = KeyDir::open(dir).unwrap();
    assert_eq!(
        circuits[0]["vk_id"],
        kd.entry(CircuitId::AeoStatusV1).unwrap().vk_id.to_string()
    );
    assert_eq!(status["development_keys"], true);
    assert_eq!(status["queue"]["capacity"], 8);

    // Metrics and the OpenAPI document need no token.
    let a = send(&r, Method::GET, "/metrics", None, Vec::new()).await;
    assert_eq!(a.status, StatusCode::OK);
    let text = String::from_utf8(a.body).unwrap();
    for line in [
        "zkcustoms_prover_queue_depth 0",
        "zkcustoms_prover_workers_busy 0",
        "zkcustoms_prover_jobs{state=\"done\"} 1",
        "zkcustoms_prover_jobs{state=\"queued\"} 0",
        "zkcustoms_prover_jobs_accepted_total{statement=\"aeo-status/v1\"} 1",
        "zkcustoms_prover_jobs_finished_total{statement=\"aeo-status/v1\",outcome=\"done\"} 1",
        "zkcustoms_prover_proving_seconds_bucket{le=\"+Inf\",statement=\"aeo-status/v1\"} 1",
        "zkcustoms_prover_proving_seconds_count{statement=\"aeo-status/v1\"} 1",
        "zkcustoms_prover_queue_wait_seconds_count 1",
        "# TYPE zkcustoms_prover_proving_seconds histogram",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
    // OpenMetrics: the exposition ends with its EOF marker.
    assert!(text.ends_with("# EOF\n"), "{text}");
    let a = send(&r, Method::GET, "/openapi.json", None, Vec::new()).await;
    let doc = a.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/proofs/{statement}",
        "/v1/jobs/{id}",
        "/v1/status",
        "/metrics",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["paths"]["/v1/proofs/{statement}"]["post"]["responses"]["429"].is_object());
    service.begin_shutdown();
}

/// A refused witness is named by the place of what is wrong and what was expected there, never
/// by the value sent: the answer may be logged by whatever sits between the trader's systems and
/// its prover, and the value may be private.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_never_quote_witness_values() {
    let aeo: Vec<(&str, Edit)> = vec![
        (
            "`membership.certificate.valid_until`: invalid date",
            Box::new(|v| {
                v["membership"]["certificate"]["valid_until"] = "SECRETVALUE-30/06".into()
            }),
        ),
        (
            "`membership.certificate.tier`: unknown AEO tier",
            Box::new(|v| v["membership"]["certificate"]["tier"] = "SECRETVALUE-tier".into()),
        ),
        (
            "`membership.certificate.operator_id`: invalid type, expected a string",
            Box::new(|v| v["membership"]["certificate"]["operator_id"] = 4_242_424_242_u64.into()),
        ),
        (
            "`membership.certificate`: unknown field, expected",
            Box::new(|v| v["membership"]["certificate"]["SECRETVALUE"] = 1.into()),
        ),
    ];
    let invoice: Vec<(&str, Edit)> = vec![
        (
            "`invoice.lines[0].amount_minor`: invalid type, expected u64",
            Box::new(|v| v["invoice"]["lines"][0]["amount_minor"] = "4242424242".into()),
        ),
        (
            "invoice lines do not add up to the invoice total",
            Box::new(|v| v["invoice"]["lines"][0]["amount_minor"] = 4_242_424_242_u64.into()),
        ),
    ];
    let runs = [
        (&aeo_keys().1, AEO, aeo_witness(), aeo),
        (&invoice_keys().1, INVOICE, invoice_witness(), invoice),
    ];
    for (dir, route, witness, cases) in runs {
        let (service, r) = start(dir, config());
        for (named, edit) in &cases {
            let mut v = witness.clone();
            edit(&mut v);
            let a = post(&r, route, &v).await;
            assert!(a.status.is_client_error(), "{named}: {}", a.status);
            let body = String::from_utf8_lossy(&a.body);
            assert!(body.contains(named), "{named}: {body}");
            for value in ["SECRETVALUE", "4242424242", "30/06"] {
                assert!(!body.contains(value), "{named}: {body}");
            }
        }
        service.begin_shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_witness_values() {
    let dir = &aeo_keys().1;
    let (service, r) = start(dir, config());
    let w = aeo_witness();
    let secret = w["holder_secret"].as_str().unwrap().to_owned();
    let operator = w["membership"]["certificate"]["operator_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sibling = w["membership"]["path"]["siblings"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let commitment = w["membership"]["certificate"]["holder_commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    // Jobs that succeed, in both modes.
    assert_eq!(post(&r, AEO, &w).await.status, StatusCode::OK);
    let a = post(&r, &format!("{AEO}?mode=job"), &w).await;
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(finished(&r, &id).await["state"], "done");
    // Requests refused for values, which the answer does not quote either.
    let planted = [
        ("holder_secret", "SECRETVALUE-holder-7d1f"),
        ("as_of", "SECRETVALUE-day-19c2"),
        ("required_tier", "SECRETVALUE-tier-0b3e"),
    ];
    for (field, value) in planted {
        let mut v = w.clone();
        v[field] = value.into();
        let a = post(&r, AEO, &v).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(!String::from_utf8_lossy(&a.body).contains(value));
    }
    let mut v = w.clone();
    v["membership"]["certificate"]["operator_id"] = "DESECRETVALUE0042".into();
    let a = post(&r, AEO, &v).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut v = w.clone();
    v["unknown_SECRETVALUE_field"] = 1.into();
    assert_eq!(post(&r, AEO, &v).await.status, StatusCode::BAD_REQUEST);

    let text = log_text();
    // The capture works: the jobs and refusals are there.
    assert!(text.contains(&id), "job {id} is not in the log");
    assert!(text.contains("unsatisfied-witness") && text.contains("malformed-witness"));
    for value in [&secret, &operator, &sibling, &commitment] {
        assert!(!text.contains(value.as_str()), "{value} is in the log");
    }
    assert!(
        !text.contains("SECRETVALUE"),
        "a witness value is in the log"
    );
    service.begin_shutdown();
}
