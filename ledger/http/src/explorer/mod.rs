//! The ledger explorer: server-rendered HTML pages for customs officers and auditors, served by
//! the node at `/` on the API's listener ([`router`] is merged into [`crate::router`]).
//!
//! Pages: home (latest blocks, a page at a time, and their transactions, counts, status), a block, a transaction (its
//! statement and public values in plain words, the node's verdict, finality, a download of its
//! inclusion proof), search by UCR, transaction or block hash, nullifier or height, each
//! authority's registry-root history, node and validator status, the amendment history of a
//! consignment's documents, and "verify a proof" (an envelope pasted or uploaded, checked with the
//! node's verifying keys). Long lists (blocks, a consignment's records and amendment history, an
//! authority's roots) come a page at a time, each with a link to the next carrying the ledger's
//! cursor (`?cursor=`, [`zkcustoms_ledger_core::queries::Cursor`]); a cursor that does not decode
//! is a readable 400 page.
//!
//! What is public (blocks, counts, registry roots, status, verifying a proof) needs no sign-in.
//! Records of consignments (UCR search, details of record transactions, amendment history) are
//! shown only to a viewer signed in with an explorer account of the node (a named person reading
//! as a customs office or an auditor of genesis, [`crate::accounts`]; API tokens do not sign in):
//! signing in starts a server-side session named by a random id in an `HttpOnly`, `SameSite=Strict` cookie.
//! Every form that changes something checks that it was posted from this origin, and signing out
//! also needs the session's own form token. The style sheet is compiled into the binary; pages
//! load nothing else and carry a strict content security policy.

mod lists;
mod pages;
mod session;
mod verify;
mod view;

use lists::*;
use pages::*;
use session::*;
use verify::*;

use crate::ApiState;
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
use zkcustoms_ledger_core::chain::{Chain, TxStatus};
use zkcustoms_ledger_core::queries::{self, BlockHeight, BlockTx};
use zkcustoms_ledger_core::store::{RawStoredBlock, StoreError};
use zkcustoms_ledger_types::block::BlockHeader;
use zkcustoms_ledger_types::party::Party;
use zkcustoms_ledger_types::tx::{sha256, Hash, Transaction, Ucr};
use zkcustoms_verifier::{ProofEnvelope, PublicValues, VerifyError};

/// Largest body the explorer's forms accept (an envelope is about 1.5 KiB), in bytes.
pub const MAX_UPLOAD: usize = 64 * 1024;
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "zkcustoms_session";
/// How long a session lasts after signing in.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Most sessions held at once; signing in beyond it is refused until some expire.
pub const MAX_SESSIONS: usize = 10_000;
/// Most sessions one explorer account has open at once (its browsers and devices); signing in
/// once more ends its oldest.
pub const MAX_ACCOUNT_SESSIONS: usize = 8;
/// Blocks shown on a page of the home page's block list.
pub const LATEST_BLOCKS: usize = 10;
/// Transactions listed on the home page.
pub const LATEST_TXS: usize = 20;
/// Recent blocks read to show which validators propose.
pub const RECENT_PROPOSALS: u64 = 100;

/// A signed-in session: the account's name and party.
#[derive(Clone)]
struct Session {
    name: String,
    party: Party,
    csrf: String,
    expires: Instant,
}

/// Proofs the verify page checks at once, for every visitor together: its pairings are the most
/// expensive work an anonymous visitor can ask for. More are answered 503 at once.
pub const MAX_VERIFICATIONS: usize = 2;

/// What a proof verified on the verify page costs a visitor's rate, in requests.
pub const VERIFY_COST: f64 = 10.0;

/// What the explorer keeps between requests: the sessions, the running count of finalized
/// transactions (summed from block headers as the chain grows) and the verify page's slots.
#[derive(Clone)]
pub(crate) struct Explorer {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    tx_count: Arc<Mutex<(u64, u64)>>,
    verifications: Arc<tokio::sync::Semaphore>,
}

impl Default for Explorer {
    fn default() -> Self {
        Self {
            sessions: Arc::default(),
            tx_count: Arc::default(),
            verifications: Arc::new(tokio::sync::Semaphore::new(MAX_VERIFICATIONS)),
        }
    }
}

/// A page's one path segment as text. One that is not UTF-8 once percent-decoded is the
/// explorer's readable 400 page (with its security headers), not axum's plain-text rejection.
pub(crate) struct PageSegment(pub String);

impl axum::extract::FromRequestParts<ApiState> for PageSegment {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &ApiState,
    ) -> Result<Self, Response> {
        let e = match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => return Ok(PageSegment(text)),
            Err(e) => e,
        };
        // The explorer's state is on every explorer route; without it, axum's answer stands.
        let Some(ex) = parts.extensions.get::<Explorer>().cloned() else {
            return Err(e.into_response());
        };
        let ctx = ex.ctx(state, &parts.headers);
        Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Not an address of this explorer",
            format!(
                "The address does not read as text ({}). Addresses name a block height, a \
                 hash, a UCR or an authority in letters and digits.",
                e.body_text()
            ),
        ))
    }
}

/// Who is looking at a page: a signed-in account's name and party, and its form token.
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    /// The account's name.
    pub name: String,
    /// The customs office or auditor the account reads as.
    pub party: Party,
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

    /// The principal a signed-in viewer's requests are charged to (`session:` and its account's
    /// name): an officer signed in is rated as an authenticated client, not with every anonymous
    /// visitor behind the same address (a proxy, a customs office's network).
    pub(crate) fn session_principal(&self, headers: &HeaderMap) -> Option<String> {
        self.viewer(headers).map(|v| format!("session:{}", v.name))
    }

    fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get(&id) {
            Some(s) if s.expires > Instant::now() => Some(Viewer {
                name: s.name.clone(),
                party: s.party.clone(),
                csrf: s.csrf.clone(),
            }),
            Some(_) => {
                sessions.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Starts a session of the account `name` reading as `party`; `None` when too many are open.
    /// An account with [`MAX_ACCOUNT_SESSIONS`] open already loses its oldest: one account
    /// signing in over and over ends its own sessions, and cannot fill the table for everyone.
    fn sign_in(&self, name: &str, party: &Party) -> Option<String> {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        let mut own: Vec<(Instant, String)> = sessions
            .iter()
            .filter(|(_, s)| s.name == name && s.party == *party)
            .map(|(id, s)| (s.expires, id.clone()))
            .collect();
        if own.len() >= MAX_ACCOUNT_SESSIONS {
            own.sort();
            for (_, id) in &own[..=own.len() - MAX_ACCOUNT_SESSIONS] {
                sessions.remove(id);
            }
        }
        if sessions.len() >= MAX_SESSIONS {
            return None;
        }
        let id = random_hex(32);
        sessions.insert(
            id.clone(),
            Session {
                name: name.to_owned(),
                party: party.clone(),
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

    /// Finalized transactions up to `height`, adding the headers of blocks not yet counted;
    /// `None` while another request counts. After a restart the first count reads every block
    /// header: one request does it, and no other waits for it (a wait would hold one of the
    /// blocking threads consensus and storage need too, for as long as the count takes).
    fn total_txs(&self, chain: &Chain, height: u64) -> Result<Option<u64>, StoreError> {
        let mut count = match self.tx_count.try_lock() {
            Ok(count) => count,
            Err(std::sync::TryLockError::WouldBlock) => return Ok(None),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        };
        while count.0 < height {
            let h = count.0 + 1;
            let n = chain.store().block_header(h)?.map_or(0, |b| b.tx_count);
            *count = (h, count.1 + u64::from(n));
        }
        Ok(Some(count.1))
    }
}

/// The explorer's routes over its state `ex` (sessions, counts, verify slots), to merge into the
/// API router (which adds tracing, load shedding and the concurrency limit). Its forms take at
/// most [`MAX_UPLOAD`] bytes.
pub(crate) fn router(ex: Explorer) -> Router<ApiState> {
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
        .layer(Extension(ex))
}

const CSS: &str = include_str!("explorer.css");

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

/// A hash typed into the search box or a page address: the API's hash syntax, with an optional
/// `0x` that people copy from other tools.
fn parse_hash(s: &str) -> Option<Hash> {
    zkcustoms_ledger_types::wire::parse_hash(s.strip_prefix("0x").unwrap_or(s))
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

    /// One account signing in over and over keeps only its newest sessions, and cannot fill the
    /// table for the others; only a full table of many accounts refuses a sign-in.
    #[test]
    fn an_account_has_at_most_so_many_sessions() {
        let ex = Explorer::default();
        let auditor = Party::Auditor("EU-OLAF".into());
        let office = Party::Office {
            id: "DE-HAMBURG-HAFEN".into(),
            administration: "DE".into(),
        };
        let first = ex.sign_in("J. Schmidt", &office).unwrap();
        let mut mine: Vec<String> = (0..MAX_SESSIONS + 5)
            .map(|_| ex.sign_in("A. Auditor", &auditor).unwrap())
            .collect();
        let held = |id: &String| ex.sessions.lock().unwrap().contains_key(id);
        assert_eq!(ex.sessions.lock().unwrap().len(), MAX_ACCOUNT_SESSIONS + 1);
        assert!(held(&first), "another account's session was ended");
        let newest = mine.split_off(mine.len() - MAX_ACCOUNT_SESSIONS);
        assert!(newest.iter().all(held) && !mine.iter().any(held));
        // The same name reading as another party is another account.
        ex.sign_in("A. Auditor", &office).unwrap();
        assert_eq!(ex.sessions.lock().unwrap().len(), MAX_ACCOUNT_SESSIONS + 2);
        // Many accounts together still meet the table's bound.
        for i in 0..MAX_SESSIONS {
            let _ = ex.sign_in(&format!("person {i}"), &office);
        }
        assert_eq!(ex.sessions.lock().unwrap().len(), MAX_SESSIONS);
        assert!(ex.sign_in("one more", &office).is_none());
        assert!(held(&first));
    }

    /// While one request counts the finalized transactions (after a restart, every block
    /// header), another is answered at once without the count, and the count is kept.
    #[test]
    fn the_transaction_count_never_makes_a_request_wait() {
        use zkcustoms_ledger_core::chain::MempoolLimits;
        use zkcustoms_ledger_core::store::Store;
        let ledger = zkcustoms_ledger_core::testing::examples::example_ledger();
        let store = Store::open(&ledger.store_path()).unwrap();
        let limits = MempoolLimits::default();
        let chain = Chain::open(ledger.genesis.clone(), store, None, [0; 32], limits).unwrap();
        let height = chain.tip().0;
        assert_eq!(height, 2);
        let ex = Explorer::default();
        let counting = ex.tx_count.lock().unwrap();
        assert_eq!(ex.total_txs(&chain, height).unwrap(), None);
        drop(counting);
        let all: u64 = ledger.blocks.iter().map(|b| b.txs.len() as u64).sum();
        assert_eq!(ex.total_txs(&chain, height).unwrap(), Some(all));
        assert_eq!(*ex.tx_count.lock().unwrap(), (height, all));
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
