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
//! Off-ledger documents ([`zkcustoms_documents`]) have their own routes: the trader uploads the bytes
//! of an anchored document with an access list, the roles on it read them, the trader or customs
//! forgets the document (409 uploaded twice, 410 forgotten, 422 digest mismatch).

pub mod accounts;
mod auth;
mod document_routes;
pub mod explorer;
mod openapi;
mod records;
#[cfg(feature = "test-utils")]
pub mod testing;

pub use accounts::{Account, Accounts};
pub use auth::{Caller, PartyAuth};
pub use openapi::document as openapi_document;
pub use zkcustoms_ledger_types::wire::MAX_WAIT_MS;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use zkcustoms_circuits::field::fr_to_hex;
use zkcustoms_documents::DocumentService;
use zkcustoms_http::{blocking, json_fallbacks, wrap, ApiError, Limits, Metrics, Rates, Tokens};
use zkcustoms_ledger_core::chain::{Chain, SubmitError, TxStatus};
use zkcustoms_ledger_core::queries::{
    self, BlockHeight, Cursor, Position, RootSequence, DEFAULT_PAGE, MAX_PAGE,
};
use zkcustoms_ledger_core::store::{Finality, StoreError, StoredBlock};
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::json;
use zkcustoms_ledger_types::tx::{Eori, Hash, Role, Transaction};
use zkcustoms_ledger_types::wire::{self, ErrorBody, Submitted, TxState, TxStatusKind};

/// The API tokens of a node: one per role, from its configuration.
pub fn role_tokens(map: &BTreeMap<Role, String>) -> Tokens<Role> {
    Tokens::new(
        map.iter().map(|(role, token)| (token.as_str(), *role)),
        "a role token of this node",
    )
}

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The ledger core.
    pub chain: Arc<Chain>,
    /// The node's off-ledger documents (the document routes answer 503 without them).
    pub documents: Option<Arc<DocumentService>>,
    /// API tokens and their roles.
    pub tokens: Tokens<Role>,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Most requests in flight, over every route together; more are shed with 503.
    pub max_concurrency: usize,
    /// The rates each role token, each signing party and each anonymous address is charged at
    /// (429 above them).
    pub rates: Rates,
    /// The replay guard and clock window of requests signed by parties.
    pub parties: Arc<PartyAuth>,
    /// Who may sign in to the explorer, and as which party.
    pub accounts: Arc<Accounts>,
}

impl FromRef<ApiState> for Tokens<Role> {
    fn from_ref(state: &ApiState) -> Self {
        state.tokens.clone()
    }
}

/// `403 wrong-role` unless `role` is one of `allowed`.
pub(crate) fn require(role: Role, allowed: &[Role], what: &str) -> Result<(), ApiError> {
    zkcustoms_http::require(&role, allowed, what, |r| r.name())
}

/// Builds the node's router: the JSON API and the explorer, behind one limit stack.
pub fn router(state: ApiState) -> Router {
    let max_body = state.max_body;
    let explorer = explorer::Explorer::default();
    let limits = Limits::new(
        max_body,
        state.max_concurrency,
        Duration::from_millis(MAX_WAIT_MS + 30_000),
    )
    .overloaded_message("the node is serving as many requests as it can: retry later")
    .internal_message("the node failed to answer; see its log")
    .admission(admission(&state, explorer.clone()));
    let mut metrics = Metrics::new("zkcustoms_http_responses");
    state.chain.metrics.register(metrics.registry());
    let metrics = Arc::new(metrics);
    let routes = Router::new()
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{hash}", get(transaction))
        .route("/v1/transactions/{hash}/inclusion", get(inclusion))
        .route("/v1/blocks", get(blocks))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block_at))
        .route("/v1/records", get(records::records))
        .route("/v1/records/history", get(records::history))
        .route(
            "/v1/documents/{ucr}/{doc_type}/{version}",
            document_routes::routes(state.documents.as_ref().map_or(max_body, |d| d.max_bytes())),
        )
        .route("/v1/registry/{authority}", get(registry))
        .route("/v1/traders/{eori}", get(trader))
        .route("/v1/status", get(status))
        .merge(metrics.clone().routes())
        .merge(openapi::document().routes())
        .merge(crate::explorer::router(explorer));
    wrap(
        json_fallbacks(routes).with_state(state),
        &limits,
        metrics.responses(),
    )
}

/// The explorer's forms, which browsers send with a body and no credentials.
const EXPLORER_FORMS: [&str; 3] = ["/signin", "/verify", "/signout"];

/// The node's admission policy: a body needs a role token (except the explorer's sign-in,
/// sign-out and verify forms, which browsers send), each role, each signing party, each
/// explorer account signed in and each anonymous address has its rate, a proof verified on
/// the explorer's verify page costs as much as [`explorer::VERIFY_COST`] requests, and anonymous
/// visitors together have at most a quarter of the concurrency limit in progress; past the
/// anonymous rate of refused signatures, a network's signed requests are refused before their
/// signature is checked.
fn admission(state: &ApiState, explorer: explorer::Explorer) -> zkcustoms_http::Admission {
    let identify_state = state.clone();
    zkcustoms_http::Admission::new(
        move |req: &axum::extract::Request| match auth::identify(&identify_state, req)? {
            Some(principal) => Ok(Some(principal)),
            // A session names its account for the explorer's pages and forms only: a body
            // sent to any other route still needs a token or a signature.
            None if zkcustoms_http::admission::has_body(req)
                && !EXPLORER_FORMS.contains(&req.uri().path()) =>
            {
                Ok(None)
            }
            None => Ok(explorer.session_principal(req.headers())),
        },
        "requests with a body need credentials: a role token of this node, or a party's \
         signature (RFC 9421)",
        state.rates,
    )
    .open_body(EXPLORER_FORMS[0])
    .open_body(EXPLORER_FORMS[1])
    .open_body(EXPLORER_FORMS[2])
    .cost(axum::http::Method::POST, "/verify", explorer::VERIFY_COST)
    // A party's signature costs a verification to check: a network sending forged ones gets
    // the anonymous rate of checks, no more.
    .costly_credentials(
        axum::http::HeaderName::from_static("signature"),
        "bad-signature",
    )
    // Anonymous visitors together hold at most a quarter of the concurrency limit: from however
    // many addresses, they cannot crowd out the parties.
    .in_flight(zkcustoms_http::InFlight {
        anonymous_total: (state.max_concurrency / 4).max(1),
        ..zkcustoms_http::InFlight::default()
    })
}

async fn submit(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
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
    // Authenticating the caller, decoding the transaction (a proof's points are decompressed
    // and checked to lie in their subgroups) and admitting it are CPU work: they run on the
    // blocking pool, never on the executor that also runs consensus and the network.
    let hash = blocking(move || admit(&state, &method, &uri, &headers, &body)).await??;
    Ok((
        StatusCode::ACCEPTED,
        Json(Submitted {
            hash,
            status: TxStatusKind::Pending,
        }),
    )
        .into_response())
}

/// Authenticates the caller of `POST /v1/transactions` (without a signature, its token decides
/// before the body is looked at), decodes the transaction, checks that the caller may send it
/// and submits it to the mempool.
fn admit(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Hash, ApiError> {
    let caller = auth::caller(state, method, uri, headers, body)?;
    // A value takes at least a byte of the body: its length bounds them.
    let value: Value = json::strict_json(body, body.len()).map_err(|e| {
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
    match &caller {
        Caller::Role(role) => {
            require(*role, &[tx.role()], &format!("a {} transaction", tx.kind()))?;
        }
        // A party sends what it signed itself.
        Caller::Party(p) if auth::is_signer(p, tx.signer().kind(), tx.signer().id()) => {}
        Caller::Party(p) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong-party",
                format!(
                    "a {} signed by {} is sent by its signer, not by {p}",
                    tx.kind(),
                    tx.signer().id()
                ),
            ))
        }
    }
    state.chain.submit(tx).map_err(|e| match e {
        SubmitError::Rejected(r) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code, r.message)
        }
        e @ SubmitError::Full(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mempool-full",
            e.to_string(),
        ),
        e @ SubmitError::PartyFull { .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "party-share", e.to_string())
        }
        e => ApiError::internal(e),
    })
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    wire::parse_hash(s).ok_or_else(|| {
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

/// What a refusal's reason says to a caller not told why (see [`auth::may_read_refusal`]).
const REASON_WITHHELD: &str =
    "the reason is told to the transaction's signer (by its own signature), customs and auditors";

/// A transaction's status as `caller` is told it.
fn status_json(hash: &Hash, status: &TxStatus, caller: &auth::Caller) -> TxState {
    match status {
        TxStatus::Included { location, block } => TxState {
            height: Some(location.height),
            index: Some(location.index),
            block: Some(*block),
            ..TxState::new(*hash, TxStatusKind::Included)
        },
        TxStatus::Pending => TxState::new(*hash, TxStatusKind::Pending),
        TxStatus::Rejected { why, signer } => TxState {
            reason: Some(ErrorBody {
                error: why.code.to_owned(),
                message: if auth::may_read_refusal(caller, signer) {
                    why.message.clone()
                } else {
                    REASON_WITHHELD.to_owned()
                },
            }),
            ..TxState::new(*hash, TxStatusKind::Rejected)
        },
        TxStatus::Unknown => TxState::new(*hash, TxStatusKind::Unknown),
    }
}

/// A route's one path segment as text. One that is not UTF-8 once percent-decoded answers
/// `400 bad-path` in the API's `{error, message}` form, not axum's plain-text rejection.
pub(crate) struct PathText(pub String);

impl FromRequestParts<ApiState> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &ApiState,
    ) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(text)| PathText(text))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-path", e.body_text()))
    }
}

async fn transaction(
    State(state): State<ApiState>,
    who: auth::Who,
    PathText(hash): PathText,
    query: Result<Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TxState>, ApiError> {
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
            s => return Ok(Json(status_json(&hash, &s, &who.0))),
        }
    }
}

async fn inclusion(
    State(state): State<ApiState>,
    who: auth::Who,
    PathText(hash): PathText,
) -> Result<Json<Value>, ApiError> {
    auth::require_oversight(&who.0, "inclusion proofs")?;
    let hash = parse_hash(&hash)?;
    let chain = state.chain.clone();
    let proof = blocking(move || {
        zkcustoms_ledger_core::inclusion::build(chain.store(), &chain.genesis().chain_id, &hash)
    })
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
    who: auth::Who,
) -> Result<Json<Value>, ApiError> {
    auth::require_oversight(&who.0, "reading blocks")?;
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
    who: auth::Who,
    PathText(height): PathText,
) -> Result<Json<Value>, ApiError> {
    auth::require_oversight(&who.0, "reading blocks")?;
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

/// `?cursor=&limit=` of a list: where the page starts (a `next_cursor` answered before; the
/// first page without one) and how many items it holds (1 to [`MAX_PAGE`], [`DEFAULT_PAGE`]
/// when absent).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// The query of a route, or `400 bad-query`.
fn query<T>(q: QueryResult<T>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-query", e.body_text()))
}

/// A page size: [`DEFAULT_PAGE`] when absent, `400 bad-query` outside 1 to [`MAX_PAGE`] (a
/// limit out of range is refused, not clamped, so a client learns the bound).
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n),
        n => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            format!("limit is 1 to {MAX_PAGE} items per page, not {n}"),
        )),
    }
}

/// The position a page continues from, or `400 bad-cursor`.
fn page_cursor<P: Position>(cursor: Option<&str>) -> Result<Option<P>, ApiError> {
    cursor
        .map(|c| {
            Cursor::<P>::decode(c).map(|Cursor(p)| p).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad-cursor",
                    format!("{e}: pass back a next_cursor this route answered"),
                )
            })
        })
        .transpose()
}

fn next_cursor<P: Position>(next: &Option<Cursor<P>>) -> Value {
    next.as_ref()
        .map_or(Value::Null, |c| Value::from(c.encode()))
}

/// Block headers, newest first, a page at a time (customs, auditor).
async fn blocks(
    State(state): State<ApiState>,
    who: auth::Who,
    q: QueryResult<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    auth::require_oversight(&who.0, "reading blocks")?;
    let q = query(q)?;
    let limit = page_limit(q.limit)?;
    let before = page_cursor::<BlockHeight>(q.cursor.as_deref())?;
    let chain = state.chain.clone();
    let page =
        blocking(move || queries::block_headers_page(chain.store(), before, limit)).await??;
    Ok(Json(json!({
        "blocks": page.items.iter().map(|h| json!({
            "height": h.height,
            "hash": hex::encode(h.hash()),
            "parent": hex::encode(h.parent),
            "timestamp_ms": h.timestamp_ms,
            "tx_root": hex::encode(h.tx_root),
            "tx_count": h.tx_count,
            "proposer": hex::encode(h.proposer),
        })).collect::<Vec<_>>(),
        "next_cursor": next_cursor(&page.next),
    })))
}

async fn registry(
    State(state): State<ApiState>,
    _who: auth::Who,
    PathText(authority): PathText,
    q: QueryResult<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let limit = page_limit(q.limit)?;
    let after = page_cursor::<RootSequence>(q.cursor.as_deref())?;
    if !state.chain.genesis().authorities.contains_key(&authority) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-authority",
            unknown_authority(&authority),
        ));
    }
    let chain = state.chain.clone();
    let value = blocking(move || -> Result<Value, StoreError> {
        let store = chain.store();
        let page = queries::root_history_page(store, &authority, after, limit)?;
        let latest = queries::latest_root(store, &authority)?.map_or(0, |(s, _)| s);
        let grace_ms = chain
            .genesis()
            .params()
            .root_grace_seconds
            .saturating_mul(1000);
        let out: Vec<Value> = page
            .items
            .iter()
            .map(|r| {
                json!({
                    "sequence": r.sequence,
                    "root": fr_to_hex(&r.entry.root),
                    "height": r.entry.height,
                    "timestamp_ms": r.entry.timestamp_ms,
                    "current": r.sequence == latest,
                    "acceptable_until_ms": r.superseded_at_ms.map(|t| t.saturating_add(grace_ms)),
                })
            })
            .collect();
        Ok(json!({
            "authority": authority,
            "latest_sequence": latest,
            "roots": out,
            "next_cursor": next_cursor(&page.next),
        }))
    })
    .await??;
    Ok(Json(value))
}

/// The refusal of an authority genesis does not list, naming it only when it has the shape of a
/// party id (at most 64 printable characters): a page never carries a visitor's long text.
fn unknown_authority(authority: &str) -> String {
    match zkcustoms_ledger_types::tx::check_party_id("authority", authority) {
        Ok(()) => format!("authority {authority:?} is not listed in genesis"),
        Err(_) => "no authority of that name is listed in genesis (an authority's name is 1 to 64 \
                   printable characters without spaces)"
            .into(),
    }
}

/// A registered trader: its key history (sequence, key or revoked, office, administration,
/// location), its current key and status, and the delegations it made.
async fn trader(
    State(state): State<ApiState>,
    _who: auth::Who,
    PathText(eori): PathText,
) -> Result<Json<Value>, ApiError> {
    let eori = Eori::parse(&eori)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-trader", e.to_string()))?;
    let chain = state.chain.clone();
    let value = blocking(move || -> Result<Option<Value>, StoreError> {
        let store = chain.store();
        let Some((latest, current)) = queries::current_trader_key(store, &eori)? else {
            return Ok(None);
        };
        // The history from the registration on, at most a page of it: the current key is read
        // on its own, so a long history never shows an older key as the current one.
        let history = queries::trader_keys(store, &eori)?;
        let administration = |office: &str| {
            chain
                .genesis()
                .offices
                .get(office)
                .map(|o| o.administration.clone())
        };
        let registered = history.first().map_or(&current.office, |(_, e)| &e.office);
        let vouching = administration(registered);
        let keys: Vec<Value> = history
            .iter()
            .map(|(seq, e)| {
                json!({
                    "sequence": seq,
                    "public_key": e.public_key.as_ref().map(crypto::public_hex),
                    "office": e.office,
                    "height": e.location.height,
                    "index": e.location.index,
                })
            })
            .collect();
        let delegations: Vec<Value> = queries::delegations_of(store, &eori)?
            .into_iter()
            .map(|(d, e)| {
                json!({
                    "delegate": d.as_str(),
                    "sequence": e.sequence,
                    "active": e.active,
                    "height": e.location.height,
                })
            })
            .collect();
        let history_complete = history.last().is_some_and(|(seq, _)| *seq == latest);
        let delegations_complete = delegations.len() < queries::MAX_PARTY_ENTRIES;
        Ok(Some(json!({
            "trader": eori.as_str(),
            "administration": vouching,
            "status": if current.public_key.is_some() { "active" } else { "revoked" },
            "public_key": current.public_key.as_ref().map(crypto::public_hex),
            "sequence": latest,
            "history": keys,
            "history_complete": history_complete,
            "delegations": delegations,
            "delegations_complete": delegations_complete,
        })))
    })
    .await??;
    value.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-party",
            "this trader is not registered on this ledger",
        )
    })
}

async fn status(State(state): State<ApiState>, _who: auth::Who) -> Result<Json<Value>, ApiError> {
    let chain = &state.chain;
    let g = chain.genesis();
    let (height, tip) = chain.tip();
    // The mempool's lock may be held through a finalization: waited for on the blocking pool.
    let pool = chain.clone();
    let (txs, bytes) = blocking(move || pool.mempool_size()).await?;
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
