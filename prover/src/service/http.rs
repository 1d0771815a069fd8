//! The service's HTTP API, built on the zkcustoms HTTP toolkit: the routes and their handlers.
//! The only file of the crate that speaks axum.
//!
//! Every `/v1` route needs the API token; `/metrics` and `/openapi.json` do not. The toolkit's
//! stack puts admission (a body needs the token, before a byte of it is read; per-client rates),
//! one concurrency limit (load shedding above it), a timeout, a body read timeout, a body limit
//! and request traces around the whole router, and counts every response by route and status.

use super::jobs::{job_view, JobError, JobId, Refusal};
use super::request::{prepare, served_list, statement_id};
use super::{ProverService, FAST_STATEMENTS, MAX_WAIT_MS};
use crate::STATEMENTS;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tracing::info;
use zkcustoms_http::{blocking, json_fallbacks, wrap, ApiError, Auth, Limits, Tokens};

/// The message of a `500 internal` answer.
const INTERNAL: &str = "the prover service failed to answer; see its log";

impl FromRef<ProverService> for Tokens<()> {
    fn from_ref(service: &ProverService) -> Self {
        service.inner.tokens.clone()
    }
}

/// Builds the service's router (no socket): the routes, an API token on every `/v1` route, and
/// the toolkit's stack around them all (body limit, load shedding above the concurrency limit,
/// per-request timeout, request traces, response counter).
pub fn router(service: ProverService) -> Router {
    let inner = &service.inner;
    let c = &inner.config;
    let limits = Limits::new(c.max_body, c.max_concurrency, c.request_timeout)
        .internal_message(INTERNAL)
        .admission(inner.tokens.admission(|_| "client".to_owned(), c.rates));
    let routes = Router::new()
        .route("/v1/proofs/{*statement}", post(submit))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/status", get(status))
        .merge(inner.registry.clone().routes())
        .merge(super::openapi::openapi().routes());
    wrap(
        json_fallbacks(routes).with_state(service.clone()),
        &limits,
        inner.registry.responses(),
    )
}

/// Query of a proof request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveQuery {
    /// `sync` (answer the envelope) or `job` (answer 202 and a job id).
    mode: Option<String>,
}

/// Query of a job.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobQuery {
    /// Wait up to this many milliseconds for the job to finish.
    wait_ms: Option<u64>,
}

fn shutting_down() -> ApiError {
    ApiError::unavailable("shutting-down", "the service is shutting down")
}

/// How a refused job is answered.
fn refused(why: Refusal, queue: usize) -> ApiError {
    match why {
        Refusal::Busy(secs) => ApiError::too_many_requests(
            "busy",
            "every job slot holds a running job: retry later",
            secs,
        ),
        Refusal::QueueFull(secs) => ApiError::too_many_requests(
            "queue-full",
            format!("{queue} jobs are waiting for a worker: retry later"),
            secs,
        ),
        Refusal::ShuttingDown => shutting_down(),
    }
}

/// How a failed job is answered to a synchronous request.
fn job_failure(e: JobError) -> ApiError {
    let status = match e.code {
        "shutting-down" => StatusCode::SERVICE_UNAVAILABLE,
        "unsatisfied-witness" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, e.code, e.message)
}

fn job_location(id: JobId) -> HeaderValue {
    HeaderValue::from_str(&format!("/v1/jobs/{id}")).expect("hex is a valid header value")
}

async fn submit(
    Auth(()): Auth<()>,
    State(svc): State<ProverService>,
    Path(statement): Path<String>,
    query: Result<Query<ProveQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let inner = &svc.inner;
    if inner.stopping.load(Relaxed) {
        return Err(shutting_down());
    }
    let statement = statement_id(&statement).ok_or_else(|| {
        ApiError::not_found(
            "unknown-statement",
            format!(
                "unknown statement {statement:?}: expected one of {}",
                STATEMENTS.join(", ")
            ),
        )
    })?;
    if !inner.keys.keys().any(|c| c.statement() == statement) {
        return Err(ApiError::not_found(
            "statement-not-served",
            format!(
                "this service has no proving key for {statement}; it serves {}",
                served_list(inner)
            ),
        ));
    }
    let Query(q) = query.map_err(ApiError::query_rejection)?;
    let sync = match q.mode.as_deref() {
        None => FAST_STATEMENTS.contains(&statement),
        Some("sync") => true,
        Some("job") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad-query",
                format!("mode {other:?}: expected sync or job"),
            ))
        }
    };
    let body = body.map_err(|e| ApiError::body_rejection(e, inner.config.max_body))?;
    let svc2 = svc.clone();
    let prepared = blocking(move || prepare(&svc2.inner, statement, &body)).await??;
    let has_target = prepared.target.is_some();
    if has_target && q.mode.as_deref() == Some("sync") {
        return Err(ApiError::bad_request(
            "bad-query",
            "a request with submit_to runs as a job: leave mode out or use mode=job",
        ));
    }
    let sync = sync && !has_target;
    let (id, mut done) = inner
        .enqueue(prepared)
        .map_err(|why| refused(why, inner.config.queue))?;
    info!(job = %id, statement, sync, submit = has_target, "job accepted");
    if sync {
        let wait = inner
            .config
            .sync_wait
            .min(inner.config.request_timeout.mul_f64(0.9));
        let finished = tokio::time::timeout(wait, done.wait_for(|o| o.is_some())).await;
        if let Ok(Ok(outcome)) = finished {
            let outcome = outcome.clone().expect("waited for an outcome");
            return match outcome {
                Ok(envelope) => {
                    let mut r = (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        envelope.to_string(),
                    )
                        .into_response();
                    r.headers_mut().insert(header::LOCATION, job_location(id));
                    Ok(r)
                }
                Err(e) => Err(job_failure(e)),
            };
        }
        // Not finished in time: the job goes on; the client polls for it.
    }
    let view = {
        let store = inner.jobs();
        store
            .jobs
            .get(&id)
            .map(|j| job_view(id, j, inner.config.result_ttl))
    };
    let view = view.ok_or_else(|| ApiError::internal("an accepted job vanished"))?;
    let mut r = (StatusCode::ACCEPTED, Json(view)).into_response();
    r.headers_mut().insert(header::LOCATION, job_location(id));
    Ok(r)
}

async fn job(
    Auth(()): Auth<()>,
    State(svc): State<ProverService>,
    Path(id): Path<String>,
    query: Result<Query<JobQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let inner = &svc.inner;
    let Query(q) = query.map_err(ApiError::query_rejection)?;
    let unknown = || ApiError::not_found("unknown-job", "no such job (or its result has expired)");
    let id = JobId::parse(&id).ok_or_else(unknown)?;
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0).min(MAX_WAIT_MS))
        .min(inner.config.request_timeout.mul_f64(0.9));
    let mut done = {
        let mut store = inner.jobs();
        store.purge(Instant::now());
        store.jobs.get(&id).ok_or_else(unknown)?.subscribe()
    };
    if !wait.is_zero() {
        let _ = tokio::time::timeout(wait, done.wait_for(|o| o.is_some())).await;
    }
    let store = inner.jobs();
    let job = store.jobs.get(&id).ok_or_else(unknown)?;
    Ok(Json(job_view(id, job, inner.config.result_ttl)))
}

async fn status(
    Auth(()): Auth<()>,
    State(svc): State<ProverService>,
) -> Result<Json<Value>, ApiError> {
    let inner = &svc.inner;
    let c = &inner.config;
    let stored = {
        let mut store = inner.jobs();
        store.purge(Instant::now());
        store.jobs.len()
    };
    Ok(Json(json!({
        "circuits": inner.keys.values().map(|k| json!({
            "statement": k.circuit().statement(),
            "size_class": k.circuit().size_class().map(|c| c.lines()),
            "vk_id": k.verifying_key().id().to_string(),
            "pk_id": k.id().to_string(),
            "default_mode": if FAST_STATEMENTS.contains(&k.circuit().statement()) { "sync" } else { "job" },
        })).collect::<Vec<_>>(),
        "development_keys": inner.development,
        "workers": c.workers,
        "busy": inner.metrics.busy.get(),
        "queue": {"depth": inner.queue.len(), "capacity": c.queue},
        "jobs": {"stored": stored, "max": c.max_jobs, "result_ttl_seconds": c.result_ttl.as_secs()},
        "ledgers": c.ledgers,
        "shutting_down": inner.stopping.load(Relaxed),
    })))
}
