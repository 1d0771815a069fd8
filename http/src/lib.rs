//! zkcustoms HTTP toolkit: what every zkcustoms HTTP service shares, written once and knowing
//! nothing of ledgers or proofs.
//!
//! - [`ApiError`]: the one error type, answered as `{"error": code, "message": text}`; 4xx say
//!   what was wrong, 5xx hide internals and are logged. [`blocking`] runs CPU or disk work off
//!   the async threads.
//! - [`Tokens`], [`Auth`] and [`require`]: bearer tokens mapped to the service's own principal
//!   type (roles, or `()`), compared in constant time; `401 unauthenticated`, `403 wrong-role`.
//! - [`Limits`], [`wrap`] and [`json_fallbacks`]: one stack around the whole router (traces,
//!   [`Admission`]: credentials before any body and per-client [`Rate`]s, load shedding above one
//!   global concurrency limit, timeout, body read timeout, body limit) and the response counter.
//! - [`Metrics`]: a [`prometheus_client`] registry the service registers its metrics into, with
//!   the response counter and scrape-time [`Gauges`]; [`Metrics::routes`] serves `/metrics`.
//! - [`OpenApi`]: the service's OpenAPI 3.1 document, served by [`OpenApi::routes`].
//! - [`serve_until`] and [`serve_with`] (caps on connections, in all and per client network;
//!   header read and stalled write timeouts; a bounded request head; the peer address on each
//!   request) and [`shutdown_signal`]: serving and graceful shutdown.
//!
//! A service wires them like this (its `fn router(state) -> Router` builds no socket):
//!
//! ```
//! use axum::extract::State;
//! use axum::routing::get;
//! use axum::{Json, Router};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use zkcustoms_http::{json_fallbacks, wrap, Auth, Limits, Metrics, OpenApi, Operation, Tokens};
//!
//! #[derive(Clone)]
//! struct AppState {
//!     tokens: Tokens<()>,
//! }
//!
//! impl axum::extract::FromRef<AppState> for Tokens<()> {
//!     fn from_ref(s: &AppState) -> Self {
//!         s.tokens.clone()
//!     }
//! }
//!
//! async fn hello(Auth(()): Auth<()>, State(_): State<AppState>) -> Json<&'static str> {
//!     Json("hello")
//! }
//!
//! fn router(state: AppState, metrics: Arc<Metrics>) -> Router {
//!     let doc = OpenApi::new("example", "1.0.0", "An example service.").operation(
//!         "/v1/hello",
//!         "get",
//!         Operation::new("Says hello").ok("200", "a greeting").errors(&["401"]),
//!     );
//!     let limits = Limits::new(64 * 1024, 256, Duration::from_secs(30));
//!     let routes = Router::new()
//!         .route("/v1/hello", get(hello))
//!         .merge(metrics.clone().routes())
//!         .merge(doc.routes());
//!     wrap(json_fallbacks(routes).with_state(state), &limits, metrics.responses())
//! }
//!
//! let tokens = Tokens::new([("a-long-enough-api-token", ())], "this service's API token");
//! let metrics = Arc::new(Metrics::new("example_http_responses"));
//! let _app = router(AppState { tokens }, metrics);
//! // Inside the runtime, before announcing the address or serving a request:
//! // let stop = zkcustoms_http::shutdown_signal()?;
//! // zkcustoms_http::serve_until(listener, app, stop).await
//! ```

pub mod admission;
pub mod auth;
mod counts;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod shutdown;

pub use admission::{Admission, Admitted, InFlight, Rate, Rates};
pub use auth::{require, Auth, Tokens};
pub use error::{blocking, ApiError, INTERNAL_MESSAGE};
pub use limits::{json_fallbacks, wrap, Limits};
pub use metrics::{Gauges, Metrics, ResponseCounter};
pub use openapi::{OpenApi, Operation, Param};
pub use prometheus_client;
pub use shutdown::{peer, serve_until, serve_with, shutdown_signal, ServeLimits};
