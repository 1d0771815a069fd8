//! The node's HTTP API (axum, JSON). [`router`] builds it without a socket; the node and the
//! tests both use it.
//!
//! Every `/v1` route needs `Authorization: Bearer TOKEN` with a role token from the node's
//! configuration: submitting a transaction needs the role of its kind (authority: registry roots;
//! trader: documents and proofs; customs: examinations), reading records, blocks and inclusion
//! proofs needs customs or auditor. Errors are `{"error": code, "message": text}`: 400 malformed
//! input, 401 no or unknown token, 403 wrong role, 404 unknown, 413 body too large, 422 a ledger
//! rule refused the transaction (the code names the rule), 503 mempool full or node overloaded.
//!
//! Off-ledger documents ([`crate::documents`]) have their own routes: the trader uploads the bytes
//! of an anchored document with an access list, the roles on it read them, the trader or customs
//! forgets the document (409 uploaded twice, 410 forgotten, 422 digest mismatch).

mod document_routes;

use crate::block::Block;
use crate::chain::{Chain, SubmitError, TxStatus};
use crate::state::REJECTION_CODES;
use crate::store::{
    documents_prefix, records_prefix, roots_prefix, Documents, Examinations, Finality, Records,
    RegistryRoots, StoreError, StoredBlock,
};
use crate::tx::{Hash, Role, Transaction, Ucr};
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use zkcustoms_circuits::field::fr_to_hex;

/// Longest wait a status query may ask for, in milliseconds.
pub const MAX_WAIT_MS: u64 = 30_000;
/// Most records answered per query.
pub const MAX_RECORDS: usize = 1000;

/// API tokens by value.
#[derive(Clone)]
pub struct Tokens {
    tokens: Vec<(Vec<u8>, Role)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

impl Tokens {
    /// Tokens from a role → token map.
    pub fn new(map: &BTreeMap<Role, String>) -> Self {
        Self {
            tokens: map
                .iter()
                .map(|(r, t)| (t.as_bytes().to_vec(), *r))
                .collect(),
        }
    }

    /// The role of a token (compared in constant time against every token).
    pub(crate) fn role(&self, token: &[u8]) -> Option<Role> {
        let mut found = None;
        for (t, role) in &self.tokens {
            let same = t.len() == token.len()
                && t.iter().zip(token).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            if same {
                found = Some(*role);
            }
        }
        found
    }
}

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The ledger core.
    pub chain: Arc<Chain>,
    /// API tokens.
    pub tokens: Tokens,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Most requests in flight; more are shed with 503.
    pub max_concurrency: usize,
}

/// An API error: an HTTP status, a stable code and a message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node failed to answer; see its log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)
}

fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<Role, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send 'Authorization: Bearer TOKEN' with a role token of this node",
            )
        })?;
    state.tokens.role(value.trim().as_bytes()).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "unknown API token",
        )
    })
}

fn require(role: Role, allowed: &[Role], what: &str) -> Result<(), ApiError> {
    if allowed.contains(&role) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "wrong-role",
        format!(
            "{what} needs the {} role; this token is {}",
            names.join(" or "),
            role.name()
        ),
    ))
}

/// Builds the API router.
pub fn router(state: ApiState) -> Router {
    let max_body = state.max_body;
    let concurrency = state.max_concurrency.max(1);
    Router::new()
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{hash}", get(transaction))
        .route("/v1/transactions/{hash}/inclusion", get(inclusion))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block_at))
        .route("/v1/records", get(records))
        .route(
            "/v1/documents/{ucr}/{doc_type}/{version}",
            document_routes::routes(state.chain.documents().map_or(max_body, |d| d.max_bytes())),
        )
        .route("/v1/registry/{authority}", get(registry))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .merge(crate::explorer::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(concurrency)
                .timeout(Duration::from_millis(MAX_WAIT_MS + 30_000)),
        )
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn overloaded(err: BoxError) -> ApiError {
    if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the node is serving as many requests as it can: retry later",
        )
    } else if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
    } else {
        ApiError::internal(err)
    }
}

async fn count_responses(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    state.chain.metrics.http(&route, response.status().as_u16());
    response
}

async fn submit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let role = authenticate(&state, &headers)?;
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "body-too-large",
                format!("request bodies are limited to {} bytes", state.max_body),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad-body", e.body_text())
        }
    })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let tx = Transaction::from_json(value).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-transaction",
            e.to_string(),
        )
    })?;
    require(role, &[tx.role()], &format!("a {} transaction", tx.kind()))?;
    let chain = state.chain.clone();
    match blocking(move || chain.submit(tx)).await? {
        Ok(hash) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"hash": hex::encode(hash), "status": "pending"})),
        )
            .into_response()),
        Err(SubmitError::Rejected(r)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            r.code,
            r.message,
        )),
        Err(e @ SubmitError::Full(_)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mempool-full",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-hash",
                "a hash is 64 hex digits",
            )
        })
}

/// Query of a transaction status.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    /// Wait up to this many milliseconds for a pending transaction to be decided.
    wait_ms: Option<u64>,
}

fn status_json(hash: &Hash, status: &TxStatus) -> Value {
    match status {
        TxStatus::Included { location, block } => json!({
            "hash": hex::encode(hash),
            "status": "included",
            "height": location.height,
            "index": location.index,
            "block": hex::encode(block),
        }),
        TxStatus::Pending => json!({"hash": hex::encode(hash), "status": "pending"}),
        TxStatus::Rejected(r) => json!({
            "hash": hex::encode(hash),
            "status": "rejected",
            "reason": {"error": r.code, "message": r.message},
        }),
        TxStatus::Unknown => json!({"hash": hex::encode(hash), "status": "unknown"}),
    }
}

async fn transaction(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
    query: Result<Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authenticate(&state, &headers)?;
    let hash = parse_hash(&hash)?;
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-query", e.body_text()))?;
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    let deadline = tokio::time::Instant::now() + wait;
    let mut tip = state.chain.watch_tip();
    loop {
        tip.borrow_and_update();
        let chain = state.chain.clone();
        let status = blocking(move || chain.status(&hash)).await??;
        match status {
            TxStatus::Unknown => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown-transaction",
                    "this node does not know the transaction",
                ))
            }
            TxStatus::Pending if tokio::time::Instant::now() < deadline => {
                // Wake when a block is finalized (or at the deadline) and look again.
                let _ = tokio::time::timeout_at(deadline, tip.changed()).await;
            }
            s => return Ok(Json(status_json(&hash, &s))),
        }
    }
}

async fn inclusion(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let role = authenticate(&state, &headers)?;
    require(role, &[Role::Customs, Role::Auditor], "inclusion proofs")?;
    let hash = parse_hash(&hash)?;
    let chain = state.chain.clone();
    let proof =
        blocking(move || crate::inclusion::build(chain.store(), &chain.genesis().chain_id, &hash))
            .await?
            .map_err(ApiError::internal)?;
    match proof {
        Some(p) => Ok(Json(serde_json::to_value(p).map_err(ApiError::internal)?)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-included",
            "no finalized transaction has this hash (it may be pending or unknown)",
        )),
    }
}

fn block_json(stored: &StoredBlock) -> Value {
    let b: &Block = &stored.block;
    let h = &b.header;
    let finality = match &stored.finality {
        Finality::Certificate { view, certificate } => json!({
            "kind": "certificate",
            "view": view,
            "certificate": hex::encode(certificate),
        }),
        Finality::Descendant(height) => json!({"kind": "descendant", "height": height}),
    };
    json!({
        "height": h.height,
        "hash": hex::encode(b.hash()),
        "parent": hex::encode(h.parent),
        "timestamp_ms": h.timestamp_ms,
        "tx_root": hex::encode(h.tx_root),
        "tx_count": h.tx_count,
        "proposer": hex::encode(h.proposer),
        "finality": finality,
        "transactions": b.txs.iter().map(|tx| {
            let mut v = tx.to_json();
            v["hash"] = Value::from(hex::encode(tx.hash()));
            v
        }).collect::<Vec<_>>(),
    })
}

async fn latest_block(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let role = authenticate(&state, &headers)?;
    require(role, &[Role::Customs, Role::Auditor], "reading blocks")?;
    let (height, _) = state.chain.tip();
    if height == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no-blocks",
            "no block is finalized yet",
        ));
    }
    get_block(state, height).await
}

async fn block_at(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(height): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let role = authenticate(&state, &headers)?;
    require(role, &[Role::Customs, Role::Auditor], "reading blocks")?;
    let height: u64 = height.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-height",
            "a height is a positive integer",
        )
    })?;
    get_block(state, height).await
}

async fn get_block(state: ApiState, height: u64) -> Result<Json<Value>, ApiError> {
    let chain = state.chain.clone();
    match blocking(move || chain.store().block(height)).await?? {
        Some(b) => Ok(Json(block_json(&b))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-block",
            format!("no finalized block at height {height}"),
        )),
    }
}

/// Query of records.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsQuery {
    ucr: String,
}

async fn records(
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let role = authenticate(&state, &headers)?;
    require(role, &[Role::Customs, Role::Auditor], "reading records")?;
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-query", e.body_text()))?;
    let ucr = Ucr::parse(&q.ucr)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-ucr", e.to_string()))?;
    let chain = state.chain.clone();
    let value = blocking(move || -> Result<Value, ApiError> {
        let store = chain.store();
        let rows = store.scan_prefix::<Records>(&records_prefix(&ucr), MAX_RECORDS)?;
        let examination = store.get::<Examinations>(&ucr)?;
        let doc_types: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter_map(|(_, tx)| match tx {
                Transaction::AnchorDocument(a) => Some(a.doc_type.as_str()),
                _ => None,
            })
            .collect();
        // Per document type: the current version, and every version with the transaction that
        // anchored it, the version that superseded it and the node's off-ledger copy.
        let mut latest = Vec::new();
        for doc_type in doc_types {
            let versions =
                store.scan_prefix::<Documents>(&documents_prefix(&ucr, doc_type), usize::MAX)?;
            let Some((current, d)) = versions.last() else {
                continue;
            };
            let mut history = Vec::new();
            for (i, (k, e)) in versions.iter().enumerate() {
                let tx = store
                    .get::<Records>(&(ucr.clone(), e.location))?
                    .map(|tx| hex::encode(tx.hash()));
                let off_ledger = match chain.documents() {
                    Some(docs) => docs.meta(k)?.map(|m| m.to_json()),
                    None => None,
                };
                history.push(json!({
                    "version": k.version,
                    "digest": hex::encode(e.digest),
                    "reference": e.reference,
                    "height": e.location.height,
                    "index": e.location.index,
                    "tx": tx,
                    "superseded_by": versions.get(i + 1).map(|(next, _)| next.version),
                    "document": off_ledger,
                }));
            }
            latest.push(json!({
                "doc_type": current.doc_type,
                "version": current.version,
                "digest": hex::encode(d.digest),
                "reference": d.reference,
                "height": d.location.height,
                "history": history,
            }));
        }
        Ok(json!({
            "ucr": ucr.as_str(),
            "under_examination": examination.map(|e| json!({
                "office": e.office,
                "height": e.location.height,
                "timestamp_ms": e.timestamp_ms,
            })),
            "documents": latest,
            "records": rows.iter().map(|((_, loc), tx)| {
                let mut v = tx.to_json();
                v["hash"] = Value::from(hex::encode(tx.hash()));
                json!({"height": loc.height, "index": loc.index, "transaction": v})
            }).collect::<Vec<_>>(),
        }))
    })
    .await??;
    Ok(Json(value))
}

async fn registry(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(authority): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authenticate(&state, &headers)?;
    if !state.chain.genesis().authorities.contains_key(&authority) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-authority",
            format!("authority {authority:?} is not listed in genesis"),
        ));
    }
    let chain = state.chain.clone();
    let value = blocking(move || -> Result<Value, StoreError> {
        let roots = chain
            .store()
            .scan_prefix::<RegistryRoots>(&roots_prefix(&authority), usize::MAX)?;
        let latest = roots.last().map(|((_, s), _)| *s).unwrap_or(0);
        let grace_ms = chain.genesis().params().root_grace_seconds * 1000;
        let mut out = Vec::new();
        for (i, ((_, seq), e)) in roots.iter().enumerate() {
            let acceptable_until = roots
                .get(i + 1)
                .map(|(_, next)| next.timestamp_ms + grace_ms);
            out.push(json!({
                "sequence": seq,
                "root": fr_to_hex(&e.root),
                "height": e.height,
                "timestamp_ms": e.timestamp_ms,
                "current": *seq == latest,
                "acceptable_until_ms": acceptable_until,
            }));
        }
        Ok(json!({
            "authority": authority,
            "latest_sequence": latest,
            "roots": out,
        }))
    })
    .await??;
    Ok(Json(value))
}

async fn status(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authenticate(&state, &headers)?;
    let chain = &state.chain;
    let g = chain.genesis();
    let (height, tip) = chain.tip();
    let (txs, bytes) = chain.mempool_size();
    Ok(Json(json!({
        "chain_id": hex::encode(g.chain_id),
        "chain_name": g.file.chain_name,
        "height": height,
        "tip": hex::encode(tip),
        "mempool": {"transactions": txs, "bytes": bytes},
        "validators": g.file.validators.iter().map(|v| &v.name).collect::<Vec<_>>(),
        "authorities": g.authorities.keys().collect::<Vec<_>>(),
        "customs_offices": g.offices.keys().collect::<Vec<_>>(),
        "verifying_keys": g.pinned.iter().map(|(c, id)| json!({
            "circuit": c.to_string(), "id": id.to_string()
        })).collect::<Vec<_>>(),
        "params": g.file.params,
    })))
}

async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.chain.metrics.render(),
    )
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI 3.1 description of the API.
pub fn openapi_document() -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let errors = |codes: &[&str]| {
        let mut m = serde_json::Map::new();
        for c in codes {
            m.insert(
                (*c).to_string(),
                json!({"description": "error", "content": {"application/json": {"schema": error}}}),
            );
        }
        Value::Object(m)
    };
    let ok = |desc: &str| json!({"description": desc, "content": {"application/json": {}}});
    let with = |mut base: Value, extra: Value| {
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zkcustoms ledger node",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Permissioned ledger of zero-knowledge proofs for Customs. Rejection codes (422): "
                .to_string() + &REJECTION_CODES.join(", "),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Transaction": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["publish_root", "anchor_document", "submit_proof", "mark_examination"]}},
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/transactions": {"post": {
                "summary": "Submit a transaction (role by kind: authority, trader, customs)",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transaction"}}}},
                "responses": with(json!({"202": ok("accepted into the mempool: {hash, status}")}),
                    errors(&["400", "401", "403", "413", "422", "503"])),
            }},
            "/v1/transactions/{hash}": {"get": {
                "summary": "Status of a transaction: pending, included (height, index, block) or rejected (reason)",
                "parameters": [
                    {"name": "hash", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "wait_ms", "in": "query", "schema": {"type": "integer", "maximum": MAX_WAIT_MS}},
                ],
                "responses": with(json!({"200": ok("status")}), errors(&["400", "401", "404"])),
            }},
            "/v1/transactions/{hash}/inclusion": {"get": {
                "summary": "Inclusion proof of a finalized transaction (customs, auditor): the transaction, its RFC 6962 Merkle path, the block header (and the headers up to the certified descendant, if any) and the finalization certificate; `zkcustoms verify-inclusion` checks it offline against the genesis file",
                "parameters": [{"name": "hash", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": with(json!({"200": ok("inclusion proof (format zkcustoms-inclusion/v1)")}), errors(&["400", "401", "403", "404"])),
            }},
            "/v1/blocks/latest": {"get": {"summary": "The latest finalized block (customs, auditor)",
                "responses": with(json!({"200": ok("block")}), errors(&["401", "403", "404"]))}},
            "/v1/blocks/{height}": {"get": {"summary": "A finalized block (customs, auditor)",
                "parameters": [{"name": "height", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": with(json!({"200": ok("block")}), errors(&["400", "401", "403", "404"]))}},
            "/v1/records": {"get": {"summary": "Every record of a consignment (customs, auditor): the records in ledger order, the examination mark, and per document type the current version with its full history (each version's digest, height, transaction hash, superseded-by, and the node's off-ledger copy: stored or forgotten)",
                "parameters": [{"name": "ucr", "in": "query", "required": true, "schema": {"type": "string"}}],
                "responses": with(json!({"200": ok("records")}), errors(&["400", "401", "403"]))}},
            "/v1/documents/{ucr}/{doc_type}/{version}": {
                "parameters": [
                    {"name": "ucr", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "doc_type", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "version", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                ],
                "post": {
                    "summary": "Upload the bytes of an anchored document (trader): their SHA-256 must be the anchored digest (for invoices: the canonical encoding); stored encrypted under a key of its own; once per document",
                    "parameters": [{"name": "readers", "in": "query", "description": "roles that may read it besides the trader, comma-separated (customs, auditor, authority)", "schema": {"type": "string"}}],
                    "requestBody": {"content": {"application/octet-stream": {}}},
                    "responses": with(json!({"201": ok("stored: {ucr, doc_type, version, document: {digest, size, readers, uploaded_at_ms, state}}")}),
                        errors(&["400", "401", "403", "404", "409", "410", "413", "422", "503"])),
                },
                "get": {
                    "summary": "Read a document (roles on its access list): the plaintext bytes; 410 once forgotten",
                    "responses": with(json!({"200": {"description": "the document", "content": {"application/octet-stream": {}}}}),
                        errors(&["400", "401", "403", "404", "410", "503"])),
                },
                "delete": {
                    "summary": "Forget a document (trader, customs): its key and ciphertext are destroyed and erased from the node's files; the digest and every proof stay on the ledger",
                    "responses": with(json!({"200": ok("forgotten: the document's record with forgotten_by and forgotten_at_ms")}),
                        errors(&["400", "401", "403", "404", "410", "503"])),
                },
            },
            "/v1/registry/{authority}": {"get": {"summary": "An authority's published registry roots",
                "parameters": [{"name": "authority", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": with(json!({"200": ok("roots")}), errors(&["401", "404"]))}},
            "/v1/status": {"get": {"summary": "Chain id, height, mempool, parties",
                "responses": with(json!({"200": ok("status")}), errors(&["401"]))}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                "responses": {"200": {"description": "text exposition"}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                "responses": {"200": ok("OpenAPI document")}}},
        },
    })
}
