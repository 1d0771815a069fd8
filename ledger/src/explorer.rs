//! The ledger explorer: server-rendered HTML pages for customs officers and auditors, served by
//! the node at `/` on the API's listener ([`router`] is merged into [`crate::api::router`]).
//!
//! Pages: home (latest blocks and transactions, counts, status), a block, a transaction (its
//! statement and public values in plain words, the node's verdict, finality, a download of its
//! inclusion proof), search by UCR, transaction or block hash, nullifier or height, each
//! authority's registry-root history, node and validator status, the amendment history of a
//! consignment's documents, and "verify a proof" (an envelope pasted or uploaded, checked with the
//! node's verifying keys).
//!
//! What is public (blocks, counts, registry roots, status, verifying a proof) needs no sign-in.
//! Records of consignments (UCR search, details of record transactions, amendment history) are
//! shown only to a viewer signed in with the node's customs or auditor API token: signing in
//! starts a server-side session named by a random id in an `HttpOnly`, `SameSite=Strict` cookie.
//! Every form that changes something checks that it was posted from this origin, and signing out
//! also needs the session's own form token. The style sheet is compiled into the binary; pages
//! load nothing else and carry a strict content security policy.

mod view;

use crate::api::{ApiState, MAX_RECORDS};
use crate::chain::{Chain, TxStatus};
use crate::store::{
    records_prefix, roots_prefix, Documents, Examinations, Nullifiers, Records, RegistryRoots,
    RootIndex, StoreError, StoredBlock, Transactions,
};
use crate::tx::{Hash, Role, Transaction, Ucr};
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::Markup;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkcustoms_verifier::{ProofEnvelope, PublicValues, VerifyError};

/// Largest body the explorer's forms accept (an envelope is about 1.5 KiB), in bytes.
pub const MAX_UPLOAD: usize = 64 * 1024;
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "zkcustoms_session";
/// How long a session lasts after signing in.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Most sessions held at once; signing in beyond it is refused until some expire.
pub const MAX_SESSIONS: usize = 10_000;
/// Blocks shown on the home page.
pub const LATEST_BLOCKS: u64 = 10;
/// Transactions listed on the home page.
pub const LATEST_TXS: usize = 20;
/// Recent blocks read to show which validators propose.
pub const RECENT_PROPOSALS: u64 = 100;

/// A signed-in session.
#[derive(Clone)]
struct Session {
    role: Role,
    csrf: String,
    expires: Instant,
}

/// What the explorer keeps between requests: the sessions, and the running count of finalized
/// transactions (summed from block headers as the chain grows).
#[derive(Clone, Default)]
struct Explorer {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    tx_count: Arc<Mutex<(u64, u64)>>,
}

/// Who is looking at a page: the role of a signed-in viewer and their form token.
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    /// Customs or auditor.
    pub role: Role,
    /// The token the sign-out form carries.
    pub csrf: String,
}

/// What every page needs: the viewer, if signed in, and the ledger's name.
pub(crate) struct Ctx {
    /// The signed-in viewer.
    pub viewer: Option<Viewer>,
    /// The ledger's name (genesis).
    pub chain_name: String,
}

impl Ctx {
    fn signed_in(&self) -> bool {
        self.viewer.is_some()
    }
}

fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

impl Explorer {
    fn ctx(&self, state: &ApiState, headers: &HeaderMap) -> Ctx {
        Ctx {
            viewer: self.viewer(headers),
            chain_name: state.chain.genesis().file.chain_name.clone(),
        }
    }

    fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get(&id) {
            Some(s) if s.expires > Instant::now() => Some(Viewer {
                role: s.role,
                csrf: s.csrf.clone(),
            }),
            Some(_) => {
                sessions.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Starts a session; `None` when too many are open.
    fn sign_in(&self, role: Role) -> Option<String> {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            return None;
        }
        let id = random_hex(32);
        sessions.insert(
            id.clone(),
            Session {
                role,
                csrf: random_hex(16),
                expires: now + SESSION_TTL,
            },
        );
        Some(id)
    }

    fn sign_out(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, SESSION_COOKIE) {
            self.sessions.lock().expect("sessions lock").remove(&id);
        }
    }

    /// Finalized transactions up to `height`, adding the headers of blocks not yet counted.
    fn total_txs(&self, chain: &Chain, height: u64) -> Result<u64, StoreError> {
        let mut count = self.tx_count.lock().expect("count lock");
        while count.0 < height {
            let h = count.0 + 1;
            let n = chain.store().block_header(h)?.map_or(0, |b| b.tx_count);
            *count = (h, count.1 + u64::from(n));
        }
        Ok(count.1)
    }
}

/// The explorer's routes, to merge into the API router (which adds tracing, load shedding and
/// the concurrency limit). Its forms take at most [`MAX_UPLOAD`] bytes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/", get(home))
        .route("/assets/explorer.css", get(css))
        .route("/blocks/{height}", get(block_page))
        .route("/tx/{hash}", get(tx_page))
        .route("/tx/{hash}/inclusion", get(inclusion_download))
        .route("/search", get(search))
        .route("/consignments/{ucr}", get(consignment_page))
        .route("/consignments/{ucr}/history", get(history_page))
        .route("/registry", get(registry_index))
        .route("/registry/{authority}", get(registry_page))
        .route("/status", get(status_page))
        .route("/verify", get(verify_form).post(verify_submit))
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(Extension(Explorer::default()))
}

const CSS: &str = include_str!("explorer/explorer.css");

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// An HTML page with the explorer's security headers. Pages are never cached: they may show
/// records to a signed-in viewer.
fn html(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn page(ctx: &Ctx, status: StatusCode, title: &str, body: Markup) -> Response {
    html(status, view::layout(ctx, title, body))
}

fn error(ctx: &Ctx, status: StatusCode, title: &str, message: impl AsRef<str>) -> Response {
    page(
        ctx,
        status,
        title,
        view::error(title, message.as_ref(), status),
    )
}

fn internal(ctx: &Ctx, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "explorer: internal error");
    error(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        "The node failed to answer",
        "Something went wrong on the node while reading the ledger; its log says what. Try again \
         later.",
    )
}

/// A page only a signed-in viewer may see: 401 with a sign-in link that comes back here.
fn sign_in_needed(ctx: &Ctx, what: &str, back: &str) -> Response {
    page(
        ctx,
        StatusCode::UNAUTHORIZED,
        "Sign in to see records",
        view::sign_in_needed(what, back),
    )
}

/// Runs store reads on a blocking thread; a failure becomes the 500 page.
async fn read<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(ctx, e)),
        Err(e) => Err(internal(ctx, e)),
    }
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Refuses a form posted from another site: the `Origin` (or, failing that, `Sec-Fetch-Site`)
/// must name this host. Clients that send neither (not a browser) are not at risk of CSRF.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let bare = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return matches!((bare, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
    }
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site") | Some("same-site")
    )
}

fn cross_site(ctx: &Ctx) -> Response {
    error(
        ctx,
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form was sent from another site. Open the explorer's own page and send it again.",
    )
}

fn parse_height(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|h| *h >= 1)
}

fn parse_hash(s: &str) -> Option<Hash> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != 64 {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

/// Everything the home page shows.
pub(crate) struct HomeData {
    /// Finalized height.
    pub height: u64,
    /// Hash of the tip.
    pub tip: Hash,
    /// Finalized transactions in all.
    pub total_txs: u64,
    /// Mempool transactions and bytes.
    pub mempool: (usize, usize),
    /// The latest blocks, newest first.
    pub blocks: Vec<StoredBlock>,
    /// Published registry roots, per authority.
    pub roots: Vec<(String, usize)>,
}

async fn home(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let chain = state.chain.clone();
    let data = read(&ctx, move || {
        let (height, tip) = chain.tip();
        let total_txs = ex.total_txs(&chain, height)?;
        let mut blocks = Vec::new();
        let low = height.saturating_sub(LATEST_BLOCKS - 1).max(1);
        for h in (low..=height).rev() {
            if let Some(b) = chain.store().block(h)? {
                blocks.push(b);
            }
        }
        let mut roots = Vec::new();
        for a in chain.genesis().authorities.keys() {
            let n = chain
                .store()
                .last_with_prefix::<RegistryRoots>(&roots_prefix(a))?
                .map_or(0, |((_, seq), _)| seq as usize);
            roots.push((a.clone(), n));
        }
        Ok(HomeData {
            height,
            tip,
            total_txs,
            mempool: chain.mempool_size(),
            blocks,
            roots,
        })
    })
    .await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        "Ledger explorer",
        view::home(&ctx, state.chain.genesis(), &data),
    ))
}

async fn block_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    Path(height): Path<String>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let Some(height) = parse_height(&height) else {
        return Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Not a block height",
            "A block height is a whole number from 1 up, such as 12.",
        ));
    };
    let chain = state.chain.clone();
    let (block, tip) = read(&ctx, move || {
        Ok((chain.store().block(height)?, chain.tip().0))
    })
    .await?;
    let Some(block) = block else {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No such block",
            format!("No block is finalized at height {height}: the ledger's height is {tip}."),
        ));
    };
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Block {height}"),
        view::block(&ctx, state.chain.genesis(), &block, tip),
    ))
}

/// A finalized transaction with its block.
pub(crate) struct IncludedTx {
    /// The block.
    pub block: StoredBlock,
    /// Index in the block.
    pub index: u32,
    /// The node's verdict on its proof, verified again now (for proof transactions).
    pub verdict: Option<Result<(), VerifyError>>,
}

impl IncludedTx {
    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.block.block.txs[self.index as usize]
    }
}

/// Loads a finalized transaction and its block; `None` when it is not finalized here.
fn load_included(chain: &Chain, hash: &Hash) -> Result<Option<IncludedTx>, StoreError> {
    let Some(loc) = chain.store().get::<Transactions>(hash)? else {
        return Ok(None);
    };
    let Some(block) = chain.store().block(loc.height)? else {
        return Ok(None);
    };
    if block.block.txs.get(loc.index as usize).map(|t| t.hash()) != Some(*hash) {
        return Err(StoreError::Mismatch(format!(
            "transaction index points at height {} index {}, which holds another transaction",
            loc.height, loc.index
        )));
    }
    Ok(Some(IncludedTx {
        block,
        index: loc.index,
        verdict: None,
    }))
}

fn bad_hash(ctx: &Ctx) -> Response {
    error(
        ctx,
        StatusCode::BAD_REQUEST,
        "Not a transaction hash",
        "A transaction hash is 64 hexadecimal digits (0-9, a-f).",
    )
}

async fn tx_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let Some(hash) = parse_hash(&hash) else {
        return Err(bad_hash(&ctx));
    };
    let chain = state.chain.clone();
    let signed_in = ctx.signed_in();
    let (status, included) = read(&ctx, move || {
        let status = chain.status(&hash)?;
        let mut included = load_included(&chain, &hash)?;
        if let Some(inc) = included.as_mut() {
            // Proofs of records are verified again only for a viewer who may see them.
            inc.verdict = match (inc.tx(), signed_in) {
                (Transaction::SubmitProof(p), true) => Some(chain.keys().verify(&p.envelope)),
                _ => None,
            };
        }
        Ok((status, included))
    })
    .await?;
    if matches!(status, TxStatus::Unknown) {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "Unknown transaction",
            format!(
                "This node knows no transaction {}: it is not on the ledger, not waiting in the \
                 mempool, and not recently refused.",
                hex::encode(hash)
            ),
        ));
    }
    let title = format!("Transaction {}…", &hex::encode(hash)[..12]);
    Ok(page(
        &ctx,
        StatusCode::OK,
        &title,
        view::transaction(
            &ctx,
            state.chain.genesis(),
            &hash,
            &status,
            included.as_ref(),
        ),
    ))
}

async fn inclusion_download(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let Some(hash) = parse_hash(&hash) else {
        return Err(bad_hash(&ctx));
    };
    let chain = state.chain.clone();
    let included = read(&ctx, move || load_included(&chain, &hash)).await?;
    let Some(included) = included else {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "Not on the ledger",
            "No finalized transaction has this hash, so there is no inclusion proof (it may still \
             be pending).",
        ));
    };
    let hex_hash = hex::encode(hash);
    if included.tx().ucr().is_some() && !ctx.signed_in() {
        return Err(sign_in_needed(
            &ctx,
            "the inclusion proof of a record",
            &format!("/tx/{hex_hash}"),
        ));
    }
    let chain = state.chain.clone();
    let proof = match tokio::task::spawn_blocking(move || {
        crate::inclusion::build(chain.store(), &chain.genesis().chain_id, &hash)
    })
    .await
    {
        Ok(Ok(Some(p))) => p,
        Ok(Ok(None)) => return Err(internal(&ctx, "a finalized transaction has no inclusion")),
        Ok(Err(e)) => return Err(internal(&ctx, e)),
        Err(e) => return Err(internal(&ctx, e)),
    };
    let body = serde_json::to_string_pretty(&proof).map_err(|e| internal(&ctx, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"inclusion-{hex_hash}.json\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The search box's query.
#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// What a 64-digit hex search names.
enum HashHit {
    Tx,
    Block(u64),
    Nullifier(Hash),
    Nothing,
}

/// The transaction that presented a nullifier, in any scope (a scan of the nullifier index).
fn find_nullifier(chain: &Chain, value: &Hash) -> Result<Option<Hash>, StoreError> {
    let Ok(n) = zkcustoms_circuits::field::fr_from_be_bytes(value) else {
        return Ok(None);
    };
    let found = chain
        .store()
        .scan_prefix::<Nullifiers>(&[], usize::MAX)?
        .into_iter()
        .find(|((_, x), _)| *x == n);
    let Some((_, loc)) = found else {
        return Ok(None);
    };
    Ok(chain
        .store()
        .block(loc.height)?
        .and_then(|b| b.block.txs.get(loc.index as usize).map(|t| t.hash())))
}

async fn search(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let q = match query {
        Ok(Query(q)) => q.q.trim().to_owned(),
        Err(_) => String::new(),
    };
    let shapes = "Search for a UCR (such as 26DE-HAM-000042), a transaction or block hash or a \
                  nullifier (64 hexadecimal digits), or a block height (a number).";
    if q.is_empty() {
        return Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Nothing to search for",
            shapes,
        ));
    }
    if q.len() > 200 {
        return Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Search text too long",
            shapes,
        ));
    }
    if let Some(hash) = parse_hash(&q) {
        let chain = state.chain.clone();
        let signed_in = ctx.signed_in();
        let hit = read(&ctx, move || {
            if !matches!(chain.status(&hash)?, TxStatus::Unknown) {
                return Ok(HashHit::Tx);
            }
            if let Some(h) = chain.store().get::<crate::store::BlockHashes>(&hash)? {
                return Ok(HashHit::Block(h));
            }
            // Nullifiers belong to records: looked up for a signed-in viewer only.
            if signed_in {
                if let Some(tx) = find_nullifier(&chain, &hash)? {
                    return Ok(HashHit::Nullifier(tx));
                }
            }
            Ok(HashHit::Nothing)
        })
        .await?;
        let hex_hash = hex::encode(hash);
        return match hit {
            HashHit::Tx => Ok(redirect(&format!("/tx/{hex_hash}"))),
            HashHit::Block(h) => Ok(redirect(&format!("/blocks/{h}"))),
            HashHit::Nullifier(tx) => Ok(redirect(&format!("/tx/{}", hex::encode(tx)))),
            HashHit::Nothing if ctx.signed_in() => Err(error(
                &ctx,
                StatusCode::NOT_FOUND,
                "Nothing found",
                format!("No transaction, block or nullifier on this ledger is {hex_hash}."),
            )),
            HashHit::Nothing => Err(error(
                &ctx,
                StatusCode::NOT_FOUND,
                "Nothing found",
                format!(
                    "No transaction or block on this ledger is {hex_hash}. To look up a \
                     nullifier, sign in with a customs or auditor token."
                ),
            )),
        };
    }
    if let Some(height) = parse_height(&q) {
        if height <= state.chain.tip().0 {
            return Ok(redirect(&format!("/blocks/{height}")));
        }
    }
    match Ucr::parse(&q.to_ascii_uppercase()) {
        Ok(ucr) => Ok(redirect(&format!("/consignments/{ucr}"))),
        Err(_) => Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Not something the explorer can search for",
            format!("{q:?} is not a UCR, a hash, a nullifier or a block height. {shapes}"),
        )),
    }
}

fn bad_ucr(ctx: &Ctx, e: impl std::fmt::Display) -> Response {
    error(
        ctx,
        StatusCode::BAD_REQUEST,
        "Not a UCR",
        format!(
            "A unique consignment reference has 1 to 35 characters: upper-case letters, digits \
             and '-' ({e})."
        ),
    )
}

/// The UCR of a consignment page (`/consignments/{ucr}{page}`) for a signed-in reader: a bad
/// UCR is the 400 page, and without a sign-in the page for `what` asks for one and comes back.
#[allow(clippy::result_large_err)] // the error is the page the handler answers with
fn signed_in_ucr(ctx: &Ctx, ucr: &str, what: &str, page: &str) -> Result<Ucr, Response> {
    let ucr = Ucr::parse(ucr).map_err(|e| bad_ucr(ctx, e))?;
    if !ctx.signed_in() {
        return Err(sign_in_needed(
            ctx,
            what,
            &format!("/consignments/{ucr}{page}"),
        ));
    }
    Ok(ucr)
}

/// A consignment's records.
pub(crate) struct ConsignmentData {
    /// Every record, in ledger order: location and transaction.
    pub records: Vec<(crate::store::TxLocation, Transaction)>,
    /// The examination mark, if any.
    pub examination: Option<crate::store::ExaminationEntry>,
    /// The latest version of each document type.
    pub documents: Vec<(crate::store::DocumentKey, crate::store::DocumentEntry)>,
}

async fn consignment_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    Path(ucr): Path<String>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let ucr = signed_in_ucr(&ctx, &ucr, "the records of a consignment", "")?;
    let chain = state.chain.clone();
    let key = ucr.clone();
    let data = read(&ctx, move || {
        let store = chain.store();
        let records = store
            .scan_prefix::<Records>(&records_prefix(&key), MAX_RECORDS)?
            .into_iter()
            .map(|((_, loc), tx)| (loc, tx))
            .collect();
        let examination = store.get::<Examinations>(&key)?;
        let mut documents: Vec<(crate::store::DocumentKey, crate::store::DocumentEntry)> =
            Vec::new();
        for (k, d) in store.scan_prefix::<Documents>(&records_prefix(&key), usize::MAX)? {
            match documents.last_mut() {
                Some(last) if last.0.doc_type == k.doc_type => *last = (k, d),
                _ => documents.push((k, d)),
            }
        }
        Ok(ConsignmentData {
            records,
            examination,
            documents,
        })
    })
    .await?;
    if data.records.is_empty() {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No records",
            format!("The ledger holds no record of consignment {ucr}."),
        ));
    }
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Consignment {ucr}"),
        view::consignment(&ctx, &ucr, &data),
    ))
}

/// One anchored version of a document.
pub(crate) struct VersionRow {
    /// Document type and version.
    pub key: crate::store::DocumentKey,
    /// Digest, reference, location.
    pub entry: crate::store::DocumentEntry,
    /// The version it replaced.
    pub supersedes: Option<u32>,
    /// Its block's timestamp.
    pub timestamp_ms: Option<u64>,
    /// Its transaction's hash.
    pub tx_hash: Option<Hash>,
}

async fn history_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    Path(ucr): Path<String>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let ucr = signed_in_ucr(
        &ctx,
        &ucr,
        "the amendment history of a consignment",
        "/history",
    )?;
    let chain = state.chain.clone();
    let key = ucr.clone();
    let (rows, examination) = read(&ctx, move || {
        let store = chain.store();
        let mut rows = Vec::new();
        for (k, entry) in store.scan_prefix::<Documents>(&records_prefix(&key), usize::MAX)? {
            let tx = store.get::<Records>(&(key.clone(), entry.location))?;
            let supersedes = match &tx {
                Some(Transaction::AnchorDocument(a)) => a.supersedes,
                _ => None,
            };
            rows.push(VersionRow {
                timestamp_ms: store
                    .block_header(entry.location.height)?
                    .map(|h| h.timestamp_ms),
                tx_hash: tx.map(|t| t.hash()),
                supersedes,
                key: k,
                entry,
            });
        }
        Ok((rows, store.get::<Examinations>(&key)?))
    })
    .await?;
    if rows.is_empty() {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No documents",
            format!("No document is anchored under consignment {ucr}."),
        ));
    }
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Amendment history of {ucr}"),
        view::history(&ucr, &rows, examination.as_ref()),
    ))
}

/// One published registry root and its standing.
pub(crate) struct RootRow {
    /// Its sequence number.
    pub sequence: u64,
    /// The root and where it was published.
    pub entry: crate::store::RootEntry,
    /// Until when it stays acceptable, once superseded (milliseconds since the epoch).
    pub acceptable_until_ms: Option<u64>,
}

fn root_history(chain: &Chain, authority: &str) -> Result<Vec<RootRow>, StoreError> {
    let roots = chain
        .store()
        .scan_prefix::<RegistryRoots>(&roots_prefix(authority), usize::MAX)?;
    let grace_ms = chain
        .genesis()
        .params()
        .root_grace_seconds
        .saturating_mul(1000);
    Ok(roots
        .iter()
        .enumerate()
        .map(|(i, ((_, seq), e))| RootRow {
            sequence: *seq,
            entry: e.clone(),
            acceptable_until_ms: roots
                .get(i + 1)
                .map(|(_, next)| next.timestamp_ms.saturating_add(grace_ms)),
        })
        .collect())
}

async fn registry_index(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let chain = state.chain.clone();
    let all = read(&ctx, move || {
        let mut all = Vec::new();
        for a in chain.genesis().authorities.keys() {
            all.push((a.clone(), root_history(&chain, a)?));
        }
        Ok(all)
    })
    .await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        "Registry roots",
        view::registry_index(&all, state.chain.now_ms()),
    ))
}

async fn registry_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    Path(authority): Path<String>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    if !state.chain.genesis().authorities.contains_key(&authority) {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "Unknown authority",
            format!("{authority:?} is not an AEO authority of this ledger."),
        ));
    }
    let chain = state.chain.clone();
    let a = authority.clone();
    let rows = read(&ctx, move || root_history(&chain, &a)).await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Registry roots of {authority}"),
        view::registry(&authority, &rows, state.chain.now_ms()),
    ))
}

/// What the status page shows beyond genesis.
pub(crate) struct StatusData {
    /// Finalized height and tip.
    pub height: u64,
    /// Tip hash.
    pub tip: Hash,
    /// Timestamp of the tip block.
    pub tip_time_ms: Option<u64>,
    /// Mempool transactions and bytes.
    pub mempool: (usize, usize),
    /// Per validator public key (hex): blocks proposed among the recent ones, and the last height.
    pub proposals: HashMap<String, (u64, u64)>,
    /// How many recent blocks were read.
    pub recent: u64,
    /// The node's clock.
    pub now_ms: u64,
}

async fn status_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let chain = state.chain.clone();
    let data = read(&ctx, move || {
        let (height, tip) = chain.tip();
        let mut proposals: HashMap<String, (u64, u64)> = HashMap::new();
        let low = height.saturating_sub(RECENT_PROPOSALS - 1).max(1);
        let mut tip_time_ms = None;
        for h in low..=height {
            if let Some(header) = chain.store().block_header(h)? {
                let e = proposals.entry(hex::encode(header.proposer)).or_default();
                *e = (e.0 + 1, h);
                tip_time_ms = Some(header.timestamp_ms);
            }
        }
        Ok(StatusData {
            height,
            tip,
            tip_time_ms,
            mempool: chain.mempool_size(),
            proposals,
            recent: if height == 0 { 0 } else { height - low + 1 },
            now_ms: chain.now_ms(),
        })
    })
    .await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        "Node and validators",
        view::status(state.chain.genesis(), &data),
    ))
}

async fn verify_form(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
) -> Response {
    let ctx = ex.ctx(&state, &headers);
    page(
        &ctx,
        StatusCode::OK,
        "Verify a proof",
        view::verify_form(state.chain.keys()),
    )
}

/// What the ledger says about an aeo-status proof's registry root: its sequence number, whether
/// it is the authority's current root, and the block it was published in.
pub(crate) struct RootStanding {
    /// Sequence number of the root.
    pub sequence: u64,
    /// True when no later root was published.
    pub current: bool,
    /// Block it was published in.
    pub height: u64,
}

/// The verdict on an envelope submitted to the verify page.
pub(crate) struct Verdict {
    /// The envelope, when it parsed.
    pub envelope: ProofEnvelope,
    /// The verification result.
    pub result: Result<(), VerifyError>,
    /// For aeo-status proofs: the registry root's standing on this ledger (`None`: not published
    /// here).
    pub root: Option<Option<RootStanding>>,
}

fn root_standing(
    chain: &Chain,
    env: &ProofEnvelope,
) -> Result<Option<Option<RootStanding>>, StoreError> {
    let PublicValues::AeoStatus(p) = &env.public else {
        return Ok(None);
    };
    let store = chain.store();
    let Some(seq) = store.get::<RootIndex>(&(p.authority.clone(), p.registry_root))? else {
        return Ok(Some(None));
    };
    let latest = store
        .last_with_prefix::<RegistryRoots>(&roots_prefix(&p.authority))?
        .map_or(0, |((_, s), _)| s);
    let height = store
        .get::<RegistryRoots>(&(p.authority.clone(), seq))?
        .map_or(0, |e| e.height);
    Ok(Some(Some(RootStanding {
        sequence: seq,
        current: seq == latest,
        height,
    })))
}

fn upload_failed(ctx: &Ctx, status: StatusCode, message: String) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return error(
            ctx,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Upload too large",
            format!(
                "The explorer accepts envelopes of at most {} KiB; a proof envelope is about 1.5 \
                 KiB. Check that you chose the right file.",
                MAX_UPLOAD / 1024
            ),
        );
    }
    error(
        ctx,
        StatusCode::BAD_REQUEST,
        "The form could not be read",
        format!("Send the verify form from the explorer's page ({message})."),
    )
}

async fn verify_submit(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    if !same_origin(&headers) {
        return Err(cross_site(&ctx));
    }
    let mut multipart = multipart.map_err(|e| upload_failed(&ctx, e.status(), e.body_text()))?;
    let (mut pasted, mut uploaded) = (Vec::new(), Vec::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(upload_failed(&ctx, e.status(), e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| upload_failed(&ctx, e.status(), e.body_text()))?;
        match name.as_str() {
            "envelope" => pasted = bytes.to_vec(),
            "file" => uploaded = bytes.to_vec(),
            _ => {}
        }
    }
    let bytes = if uploaded.iter().any(|b| !b.is_ascii_whitespace()) {
        uploaded
    } else {
        pasted
    };
    let keys = state.chain.keys();
    let refuse = |status: StatusCode, title: &str, message: String| {
        page(
            &ctx,
            status,
            title,
            view::verify_refused(title, &message, status, keys),
        )
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "No envelope",
            "Paste a proof envelope (JSON) into the text box or choose its file.".into(),
        ));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Not a proof envelope",
            "The file is not text: a proof envelope is a JSON file (zkcustoms-proof/v1).".into(),
        ));
    };
    let envelope = ProofEnvelope::from_json(&text).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            "Not a proof envelope",
            format!("The text is not a valid proof envelope: {e}."),
        )
    })?;
    let chain = state.chain.clone();
    let verdict = read(&ctx, move || {
        let result = chain.keys().verify(&envelope);
        let root = root_standing(&chain, &envelope)?;
        Ok(Verdict {
            envelope,
            result,
            root,
        })
    })
    .await?;
    let status = if verdict.result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        &ctx,
        status,
        "Verification result",
        view::verdict(&verdict),
    ))
}

/// The sign-in page's query.
#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// A local path to come back to after signing in ("/" when absent or not local).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && p.len() <= 300
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.?=&%".contains(&b)) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn signin_form(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let ctx = ex.ctx(&state, &headers);
    let next = query.ok().and_then(|Query(q)| q.next);
    page(
        &ctx,
        StatusCode::OK,
        "Sign in",
        view::signin(&local_path(next.as_deref()), None),
    )
}

/// The sign-in form.
#[derive(Deserialize)]
struct SignInForm {
    token: String,
    next: Option<String>,
}

fn session_cookie(id: &str, max_age: u64) -> String {
    format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

async fn signin(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    if !same_origin(&headers) {
        return Err(cross_site(&ctx));
    }
    let Ok(Form(form)) = form else {
        return Err(page(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Sign in",
            view::signin("/", Some("The form could not be read: send it again.")),
        ));
    };
    let next = local_path(form.next.as_deref());
    let role = state.tokens.role(form.token.trim().as_bytes());
    let refused = |status: StatusCode, message: &str| {
        page(&ctx, status, "Sign in", view::signin(&next, Some(message)))
    };
    match role {
        None => Err(refused(
            StatusCode::UNAUTHORIZED,
            "This token is not one of the node's API tokens.",
        )),
        Some(role @ (Role::Customs | Role::Auditor)) => {
            let Some(id) = ex.sign_in(role) else {
                return Err(refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many people are signed in: try again later.",
                ));
            };
            let mut r = redirect(&next);
            let value = HeaderValue::from_str(&session_cookie(&id, SESSION_TTL.as_secs()))
                .map_err(|e| internal(&ctx, e))?;
            r.headers_mut().insert(header::SET_COOKIE, value);
            Ok(r)
        }
        Some(_) => Err(refused(
            StatusCode::FORBIDDEN,
            "Only customs and auditor tokens can read records in the explorer.",
        )),
    }
}

/// The sign-out form.
#[derive(Deserialize)]
struct SignOutForm {
    csrf: String,
}

async fn signout(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let token_ok = match (&ctx.viewer, &form) {
        (Some(v), Ok(Form(f))) => same(&v.csrf, &f.csrf),
        // Not signed in: there is nothing to end.
        (None, _) => true,
        _ => false,
    };
    if !same_origin(&headers) || !token_ok {
        return Err(cross_site(&ctx));
    }
    ex.sign_out(&headers);
    let mut r = redirect("/");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie("", 0)).map_err(|e| internal(&ctx, e))?,
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_shapes() {
        assert_eq!(parse_height("12"), Some(12));
        assert_eq!(parse_height("0"), None);
        assert_eq!(parse_height("1e3"), None);
        assert_eq!(parse_height("123456789012345678901"), None);
        assert!(parse_hash(&"ab".repeat(32)).is_some());
        assert!(parse_hash(&format!("0x{}", "AB".repeat(32))).is_some());
        assert!(parse_hash(&"ab".repeat(31)).is_none());
        assert!(parse_hash(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn only_local_paths_come_back_after_sign_in() {
        assert_eq!(local_path(Some("/consignments/A-1")), "/consignments/A-1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/a\"b")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn cookies_and_origins() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; zkcustoms_session=abc"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
