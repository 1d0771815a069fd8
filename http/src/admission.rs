//! Admission: what a service decides from a request's head alone, before it takes a concurrency
//! slot or reads a byte of the body.
//!
//! - A request that carries a body must present a known token, except on the few paths a service
//!   opens to anonymous bodies (a sign-in form, say): an unknown client cannot make the service
//!   wait for a body it never sends.
//! - Every request is charged to its client, in a token bucket: an authenticated client by its
//!   principal, an anonymous one by its address (IPv6 by its /64 network). A path can cost more
//!   than one token (one that runs pairings, say). Over budget, `429 rate-limited` with
//!   `Retry-After`. Refused credentials are charged to their sender's address.
//! - Credentials that cost real work to check (a signature to verify,
//!   [`Admission::costly_credentials`]) and fail that check are also charged to a bucket of their
//!   sender's network, at the anonymous rate: once it is empty, requests from that network that
//!   carry such credentials are refused `429` before anything checks them.
//! - Every client has at most so many requests in progress at once ([`InFlight`]: 64 for a
//!   principal, 16 for an anonymous address by default), counted from admission until the
//!   handler has answered (its body read, if it reads one). Beyond it, `429 rate-limited`: a
//!   client that opens requests and sends their bodies a byte at a time holds its own share of
//!   the service's concurrency limit, never all of it. Anonymous clients together have at most
//!   so many too (64 by default): visitors from many addresses cannot crowd authenticated
//!   parties out (beyond it, `503 busy`).
//!
//! The buckets are bounded: at most [`MAX_CLIENTS`] are kept, and a full table first forgets
//! clients whose bucket has refilled (they lose nothing by it); if none has, the request is
//! refused `503 busy` rather than the table growing. The in-progress counts hold only clients
//! with a request in progress.

use crate::counts::count_down;
use crate::ApiError;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Most clients whose buckets are kept at once.
pub const MAX_CLIENTS: usize = 65_536;

/// A token-bucket rate: `per_second` tokens are added each second, up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Sustained requests (tokens) per second.
    pub per_second: f64,
    /// Most requests (tokens) at once after a quiet period.
    pub burst: f64,
}

impl Rate {
    /// `per_second` sustained, `burst` at once.
    pub const fn new(per_second: f64, burst: f64) -> Self {
        Self { per_second, burst }
    }
}

/// The rates a service charges its clients at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// Each authenticated principal's rate.
    pub authenticated: Rate,
    /// Each anonymous client address's rate.
    pub anonymous: Rate,
}

impl Default for Rates {
    /// 1,000 requests a second (bursts of 2,000) for each principal, 20 (bursts of 60) for each
    /// anonymous address.
    fn default() -> Self {
        Self {
            authenticated: Rate::new(1000.0, 2000.0),
            anonymous: Rate::new(20.0, 60.0),
        }
    }
}

/// How many requests each client may have in progress at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Each authenticated principal's.
    pub authenticated: usize,
    /// Each anonymous client address's.
    pub anonymous: usize,
    /// Every anonymous client's together: however many addresses anonymous visitors come from,
    /// the rest of the concurrency limit stays with authenticated parties.
    pub anonymous_total: usize,
}

impl Default for InFlight {
    /// 64 for each principal and 64 for every anonymous client together (each a quarter of the
    /// ledger's default concurrency limit), 16 for each anonymous address.
    fn default() -> Self {
        Self {
            authenticated: 64,
            anonymous: 16,
            anonymous_total: 64,
        }
    }
}

/// Who a request is charged to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Client {
    Principal(String),
    Address(IpAddr),
    /// A request without a peer address (a router called in process).
    Unknown,
    /// Every anonymous client together, for [`InFlight::anonymous_total`].
    Anonymous,
    /// The costly credentials refused from one network (`None`: without a peer address), for
    /// [`Admission::costly_credentials`].
    Refused(Option<IpAddr>),
}

impl Client {
    /// Whether the client is charged as an anonymous one (everything but a principal).
    fn is_anonymous(&self) -> bool {
        !matches!(self, Client::Principal(_))
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Names the principal of a request's credentials from its head (method, target, headers; the
/// body is not read yet): `Ok(Some(name))` for known credentials, `Ok(None)` for none, `Err`
/// (the service's `401`) for credentials it does not accept.
pub type Identify = dyn Fn(&Request) -> Result<Option<String>, ApiError> + Send + Sync;

/// A service's admission policy (see the module documentation).
pub struct Admission {
    identify: Box<Identify>,
    missing: String,
    open_bodies: Vec<String>,
    costs: Vec<(Method, String, f64)>,
    rates: Rates,
    buckets: Mutex<HashMap<Client, Bucket>>,
    costly: Vec<(header::HeaderName, &'static str)>,
    in_flight: InFlight,
    running: Arc<Mutex<HashMap<Client, usize>>>,
}

/// A request admitted: it counts as in progress for its client until this is dropped.
#[derive(Debug)]
pub struct Admitted {
    running: Arc<Mutex<HashMap<Client, usize>>>,
    client: Client,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        count_down(&mut running, &self.client);
        if self.client.is_anonymous() {
            count_down(&mut running, &Client::Anonymous);
        }
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("open_bodies", &self.open_bodies)
            .field("costs", &self.costs)
            .field("rates", &self.rates)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Admission {
    /// A policy that names principals with `identify` and charges clients at `rates`. `missing`
    /// is the message of the `401` answered to a body without credentials.
    pub fn new(
        identify: impl Fn(&Request) -> Result<Option<String>, ApiError> + Send + Sync + 'static,
        missing: impl Into<String>,
        rates: Rates,
    ) -> Self {
        Self {
            identify: Box::new(identify),
            missing: missing.into(),
            open_bodies: Vec::new(),
            costs: Vec::new(),
            rates,
            buckets: Mutex::new(HashMap::new()),
            costly: Vec::new(),
            in_flight: InFlight::default(),
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Allows each client `in_flight` requests in progress at once (instead of the default).
    pub fn in_flight(mut self, in_flight: InFlight) -> Self {
        self.in_flight = in_flight;
        self
    }

    /// Credentials carried in `header` cost real work to check (a signature to verify), and
    /// `identify` refuses those that fail it with the code `refusal`: a request carrying one is
    /// refused `429` before `identify` looks at it once its sender's network has had as many
    /// refused with `refusal` as the anonymous rate allows. A forger then costs the service at
    /// most that rate of checks per network, and parties elsewhere nothing; parties behind the
    /// same network address wait with it.
    pub fn costly_credentials(mut self, header: header::HeaderName, refusal: &'static str) -> Self {
        self.costly.push((header, refusal));
        self
    }

    /// Lets anonymous clients send a body to `path` (exact match).
    pub fn open_body(mut self, path: impl Into<String>) -> Self {
        self.open_bodies.push(path.into());
        self
    }

    /// Charges `tokens` (instead of one) for `method` on `path` (exact match).
    pub fn cost(mut self, method: Method, path: impl Into<String>, tokens: f64) -> Self {
        self.costs.push((method, path.into(), tokens));
        self
    }

    /// Admits `req` or answers why not: `401 unauthenticated` (a body without a known token),
    /// the refusal of `identify`, `429 rate-limited` (over its rate, or as many requests in
    /// progress as its client may have) or `503 busy`. A refused request is charged to its
    /// sender's address, as an anonymous one. The request is in progress until the answer is
    /// dropped.
    pub fn check(&self, req: &Request) -> Result<Admitted, ApiError> {
        self.check_at(req, Instant::now())
    }

    fn check_at(&self, req: &Request, now: Instant) -> Result<Admitted, ApiError> {
        let costly = self
            .costly
            .iter()
            .find(|(h, _)| req.headers().contains_key(h))
            .map(|(_, refusal)| *refusal);
        if costly.is_some() {
            self.may_check(&Self::refused(req), now)?;
        }
        let principal = match (self.identify)(req) {
            Ok(principal) => principal,
            // Refused credentials cost their sender what an anonymous request does: guessing
            // tokens or forging signatures is rate limited like anything else (a sender past
            // its rate hears 429, not why its credentials were refused).
            Err(refused) => {
                if costly == Some(refused.code()) {
                    // Past this rate, the next ones are refused before they are checked.
                    self.charge(Self::refused(req), 1.0, now)?;
                }
                self.charge(Self::address(req), 1.0, now)?;
                return Err(refused);
            }
        };
        let path = req.uri().path();
        if principal.is_none() && has_body(req) && !self.open_bodies.iter().any(|p| p == path) {
            self.charge(Self::address(req), 1.0, now)?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                self.missing.clone(),
            ));
        }
        let cost = self
            .costs
            .iter()
            .find(|(m, p, _)| m == req.method() && p == path)
            .map_or(1.0, |c| c.2);
        let client = match principal {
            Some(name) => Client::Principal(name),
            None => Self::address(req),
        };
        self.charge(client.clone(), cost, now)?;
        self.start(client)
    }

    /// Counts a request of `client` in progress, if it may have one more (and, for an anonymous
    /// client, if anonymous clients together may).
    fn start(&self, client: Client) -> Result<Admitted, ApiError> {
        let anonymous = client.is_anonymous();
        let most = if anonymous {
            self.in_flight.anonymous
        } else {
            self.in_flight.authenticated
        };
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if *running.get(&client).unwrap_or(&0) >= most {
            return Err(ApiError::too_many_requests(
                "rate-limited",
                format!(
                    "this client has {most} requests in progress, as many as it may: retry once \
                     one is answered"
                ),
                1,
            ));
        }
        if anonymous
            && *running.get(&Client::Anonymous).unwrap_or(&0) >= self.in_flight.anonymous_total
        {
            return Err(ApiError::unavailable(
                "busy",
                "the service is answering as many requests without credentials as it takes at \
                 once: retry later",
            )
            .retry_after(1));
        }
        *running.entry(client.clone()).or_insert(0) += 1;
        if anonymous {
            *running.entry(Client::Anonymous).or_insert(0) += 1;
        }
        Ok(Admitted {
            running: self.running.clone(),
            client,
        })
    }

    /// The anonymous client a request is charged to: its sender's network.
    fn address(req: &Request) -> Client {
        crate::shutdown::peer(req).map_or(Client::Unknown, |a| {
            Client::Address(crate::shutdown::network(a.ip()))
        })
    }

    /// The client costly credentials refused from `req`'s network are charged to.
    fn refused(req: &Request) -> Client {
        match Self::address(req) {
            Client::Address(network) => Client::Refused(Some(network)),
            _ => Client::Refused(None),
        }
    }

    /// Whether costly credentials may be checked for `client` at `now`: its bucket holds a token
    /// (a client not seen yet has a full one, if there is room to track it); nothing is charged.
    fn may_check(&self, client: &Client, now: Instant) -> Result<(), ApiError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match buckets.get(client) {
            Some(b) if refilled(b, self.rate(client), now) < 1.0 => {
                Err(ApiError::too_many_requests(
                    "rate-limited",
                    "this network sent more refused signatures than its rate allows: retry later",
                    1,
                ))
            }
            Some(_) => Ok(()),
            None => self.make_room(&mut buckets, now),
        }
    }

    /// Makes room for one more client when as many as [`MAX_CLIENTS`] are tracked, forgetting
    /// those whose buckets are full again; `503 busy` when none is.
    fn make_room(
        &self,
        buckets: &mut HashMap<Client, Bucket>,
        now: Instant,
    ) -> Result<(), ApiError> {
        if buckets.len() < MAX_CLIENTS {
            return Ok(());
        }
        buckets.retain(|c, b| {
            let rate = self.rate(c);
            refilled(b, rate, now) < rate.burst
        });
        if buckets.len() >= MAX_CLIENTS {
            return Err(ApiError::unavailable(
                "busy",
                "the service is tracking as many clients as it can: retry later",
            )
            .retry_after(1));
        }
        Ok(())
    }

    /// The rate `client` is charged at.
    fn rate(&self, client: &Client) -> Rate {
        if client.is_anonymous() {
            self.rates.anonymous
        } else {
            self.rates.authenticated
        }
    }

    fn charge(&self, client: Client, cost: f64, now: Instant) -> Result<(), ApiError> {
        let rate = self.rate(&client);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&client) {
            self.make_room(&mut buckets, now)?;
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        bucket.tokens = refilled(bucket, rate, now);
        bucket.at = now;
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            return Ok(());
        }
        let wait = if rate.per_second > 0.0 {
            ((cost - bucket.tokens) / rate.per_second).ceil().max(1.0) as u64
        } else {
            3600
        };
        Err(ApiError::too_many_requests(
            "rate-limited",
            "this client sent more requests than its rate allows: retry later",
            wait,
        ))
    }
}

/// A bucket's tokens at `now`.
fn refilled(b: &Bucket, rate: Rate, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * rate.per_second).min(rate.burst)
}

/// Whether a request announces a body: a non-zero `Content-Length` or any `Transfer-Encoding`.
/// Whether a request announces a body (a `Transfer-Encoding`, or a `Content-Length` other than 0),
/// as the admission judges it before anything is read.
pub fn has_body(req: &Request) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

/// The middleware [`crate::wrap`] installs: admits the request or answers the refusal.
pub(crate) async fn admit(
    admission: Arc<Admission>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match admission.check(&req) {
        Ok(admitted) => {
            let response = next.run(req).await;
            drop(admitted);
            response
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    use std::time::Duration;

    fn policy() -> Admission {
        Admission::new(
            |req: &Request| match req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes())
            {
                None => Ok(None),
                Some(b"Bearer good") => Ok(Some("trader".into())),
                Some(_) => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "unknown API token",
                )),
            },
            "send a token",
            Rates {
                authenticated: Rate::new(10.0, 20.0),
                anonymous: Rate::new(1.0, 3.0),
            },
        )
        .open_body("/login")
        .cost(Method::POST, "/verify", 2.0)
    }

    fn req(method: &str, path: &str, token: Option<&str>, len: Option<u64>, from: &str) -> Request {
        let mut b = axum::http::Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(l) = len {
            b = b.header(header::CONTENT_LENGTH, l);
        }
        let mut r = b.body(Body::empty()).unwrap();
        let addr: SocketAddr = from.parse().unwrap();
        r.extensions_mut().insert(ConnectInfo(addr));
        r
    }

    #[test]
    fn bodies_need_a_known_token_except_on_open_paths() {
        let a = policy();
        let now = Instant::now();
        let e = a
            .check_at(
                &req("POST", "/v1/tx", None, Some(262_144), "10.0.0.1:1"),
                now,
            )
            .unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated")
        );
        assert_eq!(e.message(), "send a token");
        let mut chunked = req("POST", "/v1/tx", None, None, "10.0.0.1:1");
        chunked
            .headers_mut()
            .insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(a.check_at(&chunked, now).is_err());
        let e = a
            .check_at(
                &req("POST", "/v1/tx", Some("bad"), Some(10), "10.0.0.1:1"),
                now,
            )
            .unwrap_err();
        assert_eq!(e.message(), "unknown API token");
        a.check_at(
            &req("POST", "/v1/tx", Some("good"), Some(10), "10.0.0.1:1"),
            now,
        )
        .unwrap();
        a.check_at(&req("POST", "/login", None, Some(40), "10.0.0.2:1"), now)
            .unwrap();
        a.check_at(&req("GET", "/v1/tx", None, Some(0), "10.0.0.3:1"), now)
            .unwrap();
    }

    #[test]
    fn refused_credentials_are_charged_to_their_sender() {
        let a = policy();
        let now = Instant::now();
        let bad = |from: &str| req("GET", "/", Some("bad"), None, from);
        for _ in 0..3 {
            let e = a.check_at(&bad("10.0.0.1:1"), now).unwrap_err();
            assert_eq!(e.code(), "unauthenticated");
        }
        // Past the anonymous rate, a guess is answered 429 (not why its credentials were
        // refused), and so is a body sent without any.
        let e = a.check_at(&bad("10.0.0.1:2"), now).unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate-limited")
        );
        let e = a
            .check_at(&req("POST", "/v1/tx", None, Some(10), "10.0.0.1:3"), now)
            .unwrap_err();
        assert_eq!(e.code(), "rate-limited");
        // Another address, and a valid token from this one, are not affected.
        let e = a.check_at(&bad("10.0.0.9:1"), now).unwrap_err();
        assert_eq!(e.code(), "unauthenticated");
        a.check_at(&req("GET", "/", Some("good"), None, "10.0.0.1:1"), now)
            .unwrap();
    }

    #[test]
    fn costly_credentials_are_not_checked_past_their_networks_refusal_rate() {
        let checked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = checked.clone();
        let a = Admission::new(
            move |req: &Request| {
                if req.headers().contains_key("signature") {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "bad-signature",
                        "the signature does not verify",
                    ));
                }
                Ok(req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .map(|_| "trader".to_owned()))
            },
            "send a token",
            Rates {
                authenticated: Rate::new(10.0, 20.0),
                anonymous: Rate::new(1.0, 3.0),
            },
        )
        .costly_credentials(
            header::HeaderName::from_static("signature"),
            "bad-signature",
        );
        let now = Instant::now();
        let forged = |from: &str| {
            let mut r = req("GET", "/", None, None, from);
            r.headers_mut()
                .insert("signature", "sig1=:AAAA:".parse().unwrap());
            r
        };
        for _ in 0..3 {
            let e = a.check_at(&forged("10.0.0.1:1"), now).unwrap_err();
            assert_eq!(e.code(), "bad-signature");
        }
        // Past the rate, forged signatures from that network are refused unchecked.
        for _ in 0..100 {
            let e = a.check_at(&forged("10.0.0.1:2"), now).unwrap_err();
            assert_eq!(
                (e.status(), e.code()),
                (StatusCode::TOO_MANY_REQUESTS, "rate-limited")
            );
        }
        assert_eq!(checked.load(std::sync::atomic::Ordering::SeqCst), 3);
        // Another network is checked, and a token from this one is not affected.
        let e = a.check_at(&forged("10.0.0.9:1"), now).unwrap_err();
        assert_eq!(e.code(), "bad-signature");
        a.check_at(&req("GET", "/", Some("good"), None, "10.0.0.1:1"), now)
            .unwrap();
        // A second later one check is allowed again.
        let later = now + Duration::from_secs(1);
        let e = a.check_at(&forged("10.0.0.1:1"), later).unwrap_err();
        assert_eq!(e.code(), "bad-signature");
        assert_eq!(checked.load(std::sync::atomic::Ordering::SeqCst), 5);
    }

    #[test]
    fn each_client_has_its_own_bucket_that_refills() {
        let a = policy();
        let t0 = Instant::now();
        let get = |from: &str| req("GET", "/", None, None, from);
        for _ in 0..3 {
            a.check_at(&get("10.0.0.1:1"), t0).unwrap();
        }
        let e = a.check_at(&get("10.0.0.1:2"), t0).unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate-limited")
        );
        // Another address, and the authenticated principal, are not affected.
        a.check_at(&get("10.0.0.9:1"), t0).unwrap();
        a.check_at(&req("GET", "/", Some("good"), None, "10.0.0.1:1"), t0)
            .unwrap();
        // One second later one token is back.
        let t1 = t0 + Duration::from_secs(1);
        a.check_at(&get("10.0.0.1:1"), t1).unwrap();
        assert!(a.check_at(&get("10.0.0.1:1"), t1).is_err());
        // A costly path takes two tokens at once.
        let t2 = t1 + Duration::from_secs(1);
        assert!(a
            .check_at(&req("POST", "/verify", None, None, "10.0.0.1:1"), t2)
            .is_err());
        let t3 = t2 + Duration::from_secs(1);
        a.check_at(&req("POST", "/verify", None, None, "10.0.0.1:1"), t3)
            .unwrap();
    }

    #[test]
    fn each_client_has_at_most_so_many_requests_in_progress() {
        let a = policy().in_flight(InFlight {
            authenticated: 2,
            anonymous: 1,
            anonymous_total: 8,
        });
        let now = Instant::now();
        let get = |from: &str, token: Option<&str>| req("GET", "/", token, None, from);
        let first = a.check_at(&get("10.0.0.1:1", None), now).unwrap();
        let e = a.check_at(&get("10.0.0.1:2", None), now).unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate-limited")
        );
        assert!(
            e.message().contains("1 requests in progress"),
            "{}",
            e.message()
        );
        // Another address, and a principal sending from this one, are not affected; a
        // principal is counted wherever it sends from.
        let other = a.check_at(&get("10.0.0.2:1", None), now).unwrap();
        let p1 = a.check_at(&get("10.0.0.1:3", Some("good")), now).unwrap();
        let p2 = a.check_at(&get("10.0.0.3:1", Some("good")), now).unwrap();
        let e = a
            .check_at(&get("10.0.0.4:1", Some("good")), now)
            .unwrap_err();
        assert!(
            e.message().contains("2 requests in progress"),
            "{}",
            e.message()
        );
        // Answered, a request gives its place back; only clients with requests in progress
        // are counted.
        drop(first);
        a.check_at(&get("10.0.0.1:4", None), now).unwrap();
        // The other address, the principal and the anonymous clients' total.
        assert_eq!(a.running.lock().unwrap().len(), 3);
        drop((other, p1, p2));
        assert!(a.running.lock().unwrap().is_empty());
    }

    #[test]
    fn anonymous_clients_together_leave_room_for_principals() {
        let a = policy().in_flight(InFlight {
            authenticated: 2,
            anonymous: 2,
            anonymous_total: 3,
        });
        let now = Instant::now();
        let get = |from: &str, token: Option<&str>| req("GET", "/", token, None, from);
        // Three visitors from two addresses fill the anonymous share, each address under its
        // own cap.
        let held = [
            a.check_at(&get("10.0.0.1:1", None), now).unwrap(),
            a.check_at(&get("10.0.0.1:2", None), now).unwrap(),
            a.check_at(&get("10.0.0.2:1", None), now).unwrap(),
        ];
        let e = a.check_at(&get("10.0.0.3:1", None), now).unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "busy")
        );
        // A principal is still served, from any address.
        let p = a.check_at(&get("10.0.0.3:2", Some("good")), now).unwrap();
        // One anonymous request answered makes room for another.
        let [first, second, third] = held;
        drop(first);
        let next = a.check_at(&get("10.0.0.3:3", None), now).unwrap();
        drop((second, third, next, p));
        assert!(a.running.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv6_clients_are_charged_by_their_64() {
        let a = policy();
        let now = Instant::now();
        for host in 1..=3 {
            a.check_at(
                &req("GET", "/", None, None, &format!("[2001:db8::{host}]:1")),
                now,
            )
            .unwrap();
        }
        assert!(a
            .check_at(&req("GET", "/", None, None, "[2001:db8::ffff]:1"), now)
            .is_err());
        a.check_at(&req("GET", "/", None, None, "[2001:db8:0:1::1]:1"), now)
            .unwrap();
    }

    #[test]
    fn the_table_is_bounded() {
        let a = policy();
        let now = Instant::now();
        for i in 0..MAX_CLIENTS as u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            a.charge(Client::Address(IpAddr::V4(ip)), 1.0, now).unwrap();
        }
        let e = a
            .check_at(&req("GET", "/", None, None, "192.168.0.1:1"), now)
            .unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "busy")
        );
        // Once the buckets have refilled, their clients are forgotten and room is made.
        let later = now + Duration::from_secs(5);
        a.check_at(&req("GET", "/", None, None, "192.168.0.1:1"), later)
            .unwrap();
        assert_eq!(a.buckets.lock().unwrap().len(), 1);
    }
}
