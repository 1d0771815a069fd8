//! The toolkit driven through routers without a socket (`tower::ServiceExt::oneshot`): JSON
//! errors, bearer authentication and roles, the one concurrency limit shared by every route, the
//! timeout, the body limit, the response counter, scrape-time gauges, the OpenAPI document.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRef, Query, State};
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};
use tower::ServiceExt;
use zkcustoms_http::prometheus_client::metrics::counter::Counter;
use zkcustoms_http::{
    blocking, json_fallbacks, require, wrap, ApiError, Auth, InFlight, Limits, Metrics, OpenApi,
    Operation, Param, Rate, Rates, Tokens,
};

const ADMIN: &str = "admin-token-0123456789abcdef";
const READER: &str = "reader-token-0123456789abcdef";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Admin,
    Reader,
}

fn name(r: &Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::Reader => "reader",
    }
}

/// Lets a test hold a request inside its handler: the handler says it has started, then waits
/// for the test to release it.
type Gate = Arc<Mutex<mpsc::Receiver<oneshot::Sender<oneshot::Sender<()>>>>>;

#[derive(Clone)]
struct AppState {
    tokens: Tokens<Role>,
    gate: Gate,
    hits: Counter,
}

impl FromRef<AppState> for Tokens<Role> {
    fn from_ref(s: &AppState) -> Self {
        s.tokens.clone()
    }
}

async fn public(State(s): State<AppState>) -> &'static str {
    s.hits.inc();
    "ok"
}

async fn whoami(Auth(role): Auth<Role>) -> Json<Value> {
    Json(json!({"role": name(&role)}))
}

async fn admin_only(Auth(role): Auth<Role>) -> Result<&'static str, ApiError> {
    require(&role, &[Role::Admin], "this route", name)?;
    Ok("admin")
}

/// Held until the test releases it.
async fn held(State(s): State<AppState>) -> &'static str {
    let gate = s.gate.lock().await.recv().await.expect("a gate");
    let (release, released) = oneshot::channel();
    gate.send(release).ok();
    let _ = released.await;
    "released"
}

async fn body(body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let b = body.map_err(|e| ApiError::body_rejection(e, 16))?;
    Ok(format!("{} bytes", b.len()))
}

async fn query(
    q: Result<Query<BTreeMap<String, u32>>, QueryRejection>,
) -> Result<String, ApiError> {
    let Query(q) = q.map_err(ApiError::query_rejection)?;
    Ok(format!("{} parameters", q.len()))
}

async fn fails() -> Result<(), ApiError> {
    blocking(|| panic!("a secret detail")).await
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

struct App {
    router: Router,
    metrics: Arc<Metrics>,
    /// Sends gates to held requests: each held request takes one and says it has started.
    gates: mpsc::Sender<oneshot::Sender<oneshot::Sender<()>>>,
}

fn app(limits: Limits) -> App {
    let mut metrics = Metrics::new("test_http_responses");
    let hits = Counter::default();
    metrics
        .registry()
        .register("test_hits", "Hits of the test", hits.clone());
    metrics.register_gauges(|g| {
        g.gauge("test_depth", "Depth of the test", 3)?;
        g.labeled(
            "test_jobs",
            "Jobs of the test",
            "state",
            [("queued", 1), ("done", 2)],
        )
    });
    let metrics = Arc::new(metrics);
    let (gates, rx) = mpsc::channel(16);
    let state = AppState {
        tokens: Tokens::new(
            [
                (format!("{ADMIN}\n"), Role::Admin),
                (READER.into(), Role::Reader),
                (String::new(), Role::Admin),
            ],
            "a role token of this service",
        ),
        gate: Arc::new(Mutex::new(rx)),
        hits,
    };
    let doc = OpenApi::new("test", "1", "A test.").operation(
        "/v1/whoami",
        "get",
        Operation::new("Who am I")
            .param(Param::query("x", json!({"type": "integer"})))
            .ok("200", "the role")
            .errors(&["401"]),
    );
    let routes = Router::new()
        .route("/public", get(public))
        .route("/v1/whoami", get(whoami))
        .route("/v1/admin", get(admin_only))
        .route("/held/a", get(held))
        .route("/held/b", get(held))
        .route("/body", post(body))
        .route("/query", get(query))
        .route("/fails", get(fails))
        .route("/slow", get(slow))
        .merge(metrics.clone().routes())
        .merge(doc.routes());
    let router = wrap(
        json_fallbacks(routes).with_state(state),
        &limits,
        metrics.responses(),
    );
    App {
        router,
        metrics,
        gates,
    }
}

fn limits() -> Limits {
    Limits::new(1024, 8, Duration::from_secs(10))
}

async fn call(r: &Router, method: Method, uri: &str, token: Option<&str>, body: &[u8]) -> Response {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.clone()
        .oneshot(req.body(Body::from(body.to_vec())).unwrap())
        .await
        .unwrap()
}

async fn get_(r: &Router, uri: &str, token: Option<&str>) -> Response {
    call(r, Method::GET, uri, token, b"").await
}

async fn text(r: Response) -> String {
    let b = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

/// The status and the error code of a JSON error, after checking it has exactly `error` and a
/// non-empty `message`; answers the message too.
async fn error(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let v: Value = serde_json::from_str(&text(r).await).unwrap();
    let o = v.as_object().expect("an object");
    assert_eq!(o.len(), 2, "{v}");
    let message = o["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    (status, o["error"].as_str().unwrap().to_owned(), message)
}

#[tokio::test]
async fn tokens_name_principals_and_roles_are_required() {
    let app = app(limits());
    let r = &app.router;
    let a = get_(r, "/v1/whoami", Some(ADMIN)).await;
    assert_eq!(a.status(), StatusCode::OK);
    assert_eq!(text(a).await, r#"{"role":"admin"}"#);
    let a = get_(r, "/v1/whoami", Some(READER)).await;
    assert_eq!(text(a).await, r#"{"role":"reader"}"#);

    let (status, code, message) = error(get_(r, "/v1/whoami", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(
        message,
        "send 'Authorization: Bearer TOKEN' with a role token of this service"
    );
    for wrong in ["admin-token-0123456789abcdeX", "admin-token", "", " "] {
        let (status, code, message) = error(get_(r, "/v1/whoami", Some(wrong)).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthenticated")
        );
        assert_eq!(message, "unknown API token", "{wrong:?}");
    }
    let basic = Request::builder()
        .uri("/v1/whoami")
        .header(header::AUTHORIZATION, format!("Basic {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let a = r.clone().oneshot(basic).await.unwrap();
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        get_(r, "/v1/admin", Some(ADMIN)).await.status(),
        StatusCode::OK
    );
    let (status, code, message) = error(get_(r, "/v1/admin", Some(READER)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "wrong-role")
    );
    assert_eq!(
        message,
        "this route needs the admin role; this token is reader"
    );

    // The table itself: trimmed, empty tokens never match, Debug shows none.
    let t = Tokens::new([(" x-token ", 1u8), ("y-token", 2), ("", 3)], "a token");
    assert_eq!(t.principal("x-token"), Some(1));
    assert_eq!(t.principal("y-token\n"), Some(2));
    assert_eq!(t.principal(""), None);
    assert_eq!(t.principal("x-toke"), None);
    assert!(!format!("{t:?}").contains("token"));
}

#[tokio::test]
async fn errors_are_json_with_a_code_and_a_message() {
    let app = app(limits());
    let r = &app.router;
    let (status, code, _) = error(get_(r, "/nothing", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let (status, code, _) = error(call(r, Method::POST, "/public", None, b"").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    // Body limit: the router's limit applies (1024), and the handler names its own figure.
    assert_eq!(
        text(call(r, Method::POST, "/body", None, &[7; 10]).await).await,
        "10 bytes"
    );
    let (status, code, message) =
        error(call(r, Method::POST, "/body", None, &[7; 2000]).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    assert_eq!(message, "request bodies are limited to 16 bytes");
    // Query.
    assert_eq!(
        text(get_(r, "/query?a=1&b=2", None).await).await,
        "2 parameters"
    );
    let (status, code, _) = error(get_(r, "/query?a=x", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad-query")
    );
    // A failure inside hides its detail behind the service's message.
    let a = get_(r, "/fails", None).await;
    let (status, code, message) = error(a).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    assert_eq!(message, zkcustoms_http::INTERNAL_MESSAGE);
    let own = app_with_internal_message();
    let (_, code, message) = error(get_(&own, "/fails", None).await).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("internal", "the node failed to answer; see its log")
    );
    // Constructors and the Retry-After header.
    let e = ApiError::too_many_requests("queue-full", "full", 7);
    assert_eq!(
        (e.status(), e.code(), e.message()),
        (StatusCode::TOO_MANY_REQUESTS, "queue-full", "full")
    );
    let a = axum::response::IntoResponse::into_response(e);
    assert_eq!(a.headers()[header::RETRY_AFTER], "7");
}

fn app_with_internal_message() -> Router {
    app(limits().internal_message("the node failed to answer; see its log")).router
}

/// Waits until `n` requests are held inside their handlers, then answers their release
/// handles.
async fn hold(app: &App, n: usize) -> Vec<oneshot::Sender<()>> {
    let mut releases = Vec::new();
    for _ in 0..n {
        let (tx, rx) = oneshot::channel();
        app.gates.send(tx).await.unwrap();
        releases.push(rx.await.expect("a request took the gate"));
    }
    releases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_concurrency_limit_counts_every_route() {
    let two = app(Limits::new(1024, 2, Duration::from_secs(10)).overloaded_message("busy, busy"));
    // Two requests held, on two different routes: the limit of two is reached.
    let a = tokio::spawn(get_owned(two.router.clone(), "/held/a"));
    let b = tokio::spawn(get_owned(two.router.clone(), "/held/b"));
    let releases = hold(&two, 2).await;
    // A third request, on a third route, is shed: the limit is the router's, not each route's.
    let r = get_(&two.router, "/public", None).await;
    assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    let (status, code, message) = error(r).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded", "busy, busy")
    );
    let (status, code, _) = error(get_(&two.router, "/held/a", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
    );
    // Released, both answer, and the router takes requests again.
    for r in releases {
        r.send(()).unwrap();
    }
    assert_eq!(text(a.await.unwrap()).await, "released");
    assert_eq!(text(b.await.unwrap()).await, "released");
    assert_eq!(text(get_(&two.router, "/public", None).await).await, "ok");

    // With a limit of one, a request held on one route sheds a request to another.
    let one = app(Limits::new(1024, 1, Duration::from_secs(10)));
    let a = tokio::spawn(get_owned(one.router.clone(), "/held/a"));
    let release = hold(&one, 1).await;
    let (status, code, message) = error(get_(&one.router, "/v1/whoami", Some(ADMIN)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
    );
    assert_eq!(
        message,
        "the service is answering as many requests as it can: retry later"
    );
    release.into_iter().for_each(|r| r.send(()).unwrap());
    assert_eq!(a.await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        get_(&one.router, "/v1/whoami", Some(ADMIN)).await.status(),
        StatusCode::OK
    );
}

/// A request from `from` (the peer address a server would record) with `body` as its body.
fn request_from(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Body,
    from: &str,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let mut req = req
        .header(header::CONTENT_LENGTH, "100")
        .body(body)
        .unwrap();
    let addr: std::net::SocketAddr = from.parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

/// A client that opens requests and never finishes sending their bodies holds only its own
/// share of the concurrency limit: its next request is refused `429` at once, and other clients
/// are still served; once its bodies end, it is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stalling_its_bodies_holds_only_its_own_share() {
    let tokens = Tokens::new([(ADMIN.to_owned(), Role::Admin)], "a role token");
    let many = Rate::new(1_000.0, 1_000.0);
    let admission = tokens
        .admission(
            |r| name(r).to_owned(),
            Rates {
                authenticated: many,
                anonymous: many,
            },
        )
        .open_body("/body")
        .in_flight(InFlight {
            authenticated: 4,
            anonymous: 4,
            anonymous_total: 5,
        });
    // The stalled bodies below wait for the test, however slow the machine.
    let limits = Limits {
        body_timeout: Duration::from_secs(600),
        body_deadline: Duration::from_secs(600),
        ..Limits::new(1024, 5, Duration::from_secs(600))
    };
    let app = app(limits.admission(admission));
    // Four anonymous requests from one address announce 100 bytes and send none (yet); each
    // says when its handler first asks for its body (it was admitted then, and holds a slot).
    let mut bodies = Vec::new();
    let mut reading = Vec::new();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
        bodies.push(tx);
        let (asked, asked_rx) = oneshot::channel::<()>();
        reading.push(asked_rx);
        let mut asked = Some(asked);
        let body = futures::stream::poll_fn(move |cx| {
            if let Some(a) = asked.take() {
                let _ = a.send(());
            }
            futures::StreamExt::poll_next_unpin(&mut rx, cx)
        });
        let req = request_from(
            Method::POST,
            "/body",
            None,
            Body::from_stream(body),
            "10.0.0.1:1",
        );
        stalled.push(tokio::spawn(app.router.clone().oneshot(req)));
    }
    for r in reading {
        r.await.expect("a stalled request reached its handler");
    }
    // The four are in progress: its fifth is refused.
    let body = Body::from(vec![0; 100]);
    let req = request_from(Method::POST, "/body", None, body, "10.0.0.1:2");
    let refused = app.router.clone().oneshot(req).await.unwrap();
    let (status, code, message) = error(refused).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate-limited")
    );
    assert!(message.contains("4 requests in progress"), "{message}");
    // The fifth slot of the service is still there for everyone else.
    assert_eq!(
        text(get_with(&app.router, "/v1/whoami", Some(ADMIN), "10.0.0.1:3").await).await,
        r#"{"role":"admin"}"#
    );
    assert_eq!(
        text(get_with(&app.router, "/public", None, "10.0.0.2:1").await).await,
        "ok"
    );
    // Its bodies sent, the four are answered and the client is served again.
    for tx in bodies {
        tx.unbounded_send(Ok(Bytes::from(vec![0; 100]))).unwrap();
    }
    for r in stalled {
        assert_eq!(text(r.await.unwrap().unwrap()).await, "100 bytes");
    }
    assert_eq!(
        text(get_with(&app.router, "/public", None, "10.0.0.1:4").await).await,
        "ok"
    );
}

async fn get_with(r: &Router, uri: &str, token: Option<&str>, from: &str) -> Response {
    let mut req = request_from(Method::GET, uri, token, Body::empty(), from);
    req.headers_mut().remove(header::CONTENT_LENGTH);
    r.clone().oneshot(req).await.unwrap()
}

async fn get_owned(r: Router, uri: &'static str) -> Response {
    get_(&r, uri, None).await
}

#[tokio::test]
async fn a_request_past_the_timeout_is_answered_503() {
    // The handler sleeps 30 s: the 100 ms timeout answers first.
    let app = app(Limits::new(1024, 8, Duration::from_millis(100)));
    let (status, code, _) = error(get_(&app.router, "/slow", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "timeout")
    );
}

#[tokio::test]
async fn metrics_count_responses_by_route_and_render_the_registry() {
    let app = app(limits());
    let r = &app.router;
    get_(r, "/v1/whoami", Some(ADMIN)).await;
    get_(r, "/v1/whoami", Some(ADMIN)).await;
    get_(r, "/v1/whoami", None).await;
    get_(r, "/no/such/route", None).await;
    get_(r, "/public", None).await;
    let responses = app.metrics.responses();
    assert_eq!(responses.get("/v1/whoami", StatusCode::OK), 2);
    assert_eq!(responses.get("/v1/whoami", StatusCode::UNAUTHORIZED), 1);
    assert_eq!(responses.get("unmatched", StatusCode::NOT_FOUND), 1);

    let a = get_(r, "/metrics", None).await;
    assert_eq!(a.status(), StatusCode::OK);
    assert!(a.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let t = text(a).await;
    for line in [
        "# HELP test_http_responses HTTP responses, by route and status.",
        "# TYPE test_http_responses counter",
        "test_http_responses_total{route=\"/v1/whoami\",status=\"200\"} 2",
        "test_http_responses_total{route=\"/v1/whoami\",status=\"401\"} 1",
        "test_http_responses_total{route=\"unmatched\",status=\"404\"} 1",
        "# HELP test_hits Hits of the test.",
        "test_hits_total 1",
        "# HELP test_depth Depth of the test.",
        "# TYPE test_depth gauge",
        "test_depth 3",
        "test_jobs{state=\"queued\"} 1",
        "test_jobs{state=\"done\"} 2",
    ] {
        assert!(t.lines().any(|l| l == line), "{line} missing in\n{t}");
    }
    assert!(t.ends_with("# EOF\n"), "{t}");
}

#[tokio::test]
async fn a_body_trickled_past_its_deadline_is_refused() {
    // Each byte arrives well within the wait for the next one, but the whole body (100 bytes,
    // one each 100 ms: ten seconds) not within the deadline.
    let app = app(Limits {
        body_timeout: Duration::from_secs(600),
        body_deadline: Duration::from_secs(1),
        ..limits()
    });
    let trickle = futures::stream::unfold(0u8, |sent| async move {
        if sent == 100 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), sent + 1))
    });
    let req = Request::builder()
        .method(Method::POST)
        .uri("/body")
        .header(header::CONTENT_LENGTH, 100)
        .body(Body::from_stream(trickle))
        .unwrap();
    let r = app.router.clone().oneshot(req).await.unwrap();
    let (status, code, _) = error(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad-body")
    );
    // A body sent at once is read.
    let r = call(&app.router, Method::POST, "/body", None, &[b'x'; 100]).await;
    assert_eq!(text(r).await, "100 bytes");
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token() {
    let app = app(limits());
    let a = get_(&app.router, "/openapi.json", None).await;
    assert_eq!(a.status(), StatusCode::OK);
    let doc: Value = serde_json::from_str(&text(a).await).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "test");
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert_eq!(
        doc["components"]["schemas"]["Error"]["required"],
        json!(["error", "message"])
    );
    let op = &doc["paths"]["/v1/whoami"]["get"];
    assert_eq!(
        op["parameters"][0],
        json!({"name": "x", "in": "query", "schema": {"type": "integer"}})
    );
    assert_eq!(
        op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );
    assert_eq!(doc["paths"]["/metrics"]["get"]["security"], json!([]));
    assert_eq!(doc["paths"]["/openapi.json"]["get"]["security"], json!([]));
}
