//! The layers around a service's whole router: request traces, admission (credentials before any
//! body, per-client rates: [`crate::admission`]), load shedding above one global concurrency
//! limit, a per-request timeout, a body read timeout and a body limit, plus the response counter
//! and the JSON answers of unknown routes and methods.
//!
//! `axum::Router::layer` wraps each route on its own: a concurrency limit added there gives every
//! route a semaphore of its own, so `n` routes admit `n` times the limit. [`wrap`] instead puts
//! the finished router behind one stack, so one semaphore counts every request.

use crate::admission::{admit, Admission};
use crate::error::Internal;
use crate::metrics::ResponseCounter;
use crate::{ApiError, INTERNAL_MESSAGE};
use axum::body::{Body, Bytes, HttpBody};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use hyper::body::{Frame, SizeHint};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;
use tower::ServiceBuilder;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

/// How much a service takes on at once.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Requests served at once, over every route together; more are shed with `503 overloaded`.
    pub max_concurrency: usize,
    /// Longest time a request may take; then it is answered `503 timeout`.
    pub timeout: Duration,
    /// Longest wait for the next bytes of a request body; then reading it fails (`400 bad-body`)
    /// and the request gives its concurrency slot back.
    pub body_timeout: Duration,
    /// Longest time for a whole request body, counted from when the request takes its slot: a
    /// client that sends a byte now and then, each in time, still cannot hold the slot longer.
    /// Then reading the body fails (`400 bad-body`).
    pub body_deadline: Duration,
    /// What is decided from a request's head before it takes a slot; `None` admits everything.
    pub admission: Option<Arc<Admission>>,
    /// Message of the `503 overloaded` answer.
    pub overloaded_message: Cow<'static, str>,
    /// Message of every `500 internal` answer (the detail is only logged).
    pub internal_message: Cow<'static, str>,
}

impl Limits {
    /// Limits with the toolkit's messages: "the service is answering as many requests as it
    /// can: retry later" and [`INTERNAL_MESSAGE`], a body read timeout of 10 seconds, a whole
    /// body in 30 seconds and no admission policy.
    pub fn new(max_body: usize, max_concurrency: usize, timeout: Duration) -> Self {
        Self {
            max_body,
            max_concurrency,
            timeout,
            body_timeout: Duration::from_secs(10),
            body_deadline: Duration::from_secs(30),
            admission: None,
            overloaded_message: "the service is answering as many requests as it can: retry later"
                .into(),
            internal_message: INTERNAL_MESSAGE.into(),
        }
    }

    /// The same limits with this `503 overloaded` message.
    pub fn overloaded_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.overloaded_message = message.into();
        self
    }

    /// The same limits with this admission policy.
    pub fn admission(mut self, admission: Admission) -> Self {
        self.admission = Some(Arc::new(admission));
        self
    }

    /// The same limits with this `500 internal` message.
    pub fn internal_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.internal_message = message.into();
        self
    }
}

/// `routes` with JSON answers for an unknown route (`404 not-found`) and a known route asked with
/// another method (`405 method-not-allowed`). Call it before [`wrap`], so the response counter
/// sees these answers too.
pub fn json_fallbacks<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(|| async { ApiError::not_found("not-found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take this method",
            )
        })
}

/// The finished service: `routes` (state applied, fallbacks set) with every response counted
/// in `responses` by matched route and status, behind one stack for the whole router, outermost
/// first: request traces, admission (`401`, `429`, before any slot is taken or body byte read),
/// load shedding (`503 overloaded` with `Retry-After: 1`), one concurrency limit, the timeout
/// (`503 timeout`), the body read timeout and deadline, and the body limit. `500 internal` answers get the
/// limits' message.
pub fn wrap(routes: Router, limits: &Limits, responses: &ResponseCounter) -> Router {
    let routes = routes.layer(middleware::from_fn_with_state(
        responses.clone(),
        crate::metrics::count_responses,
    ));
    let (internal, overloaded) = (
        limits.internal_message.clone(),
        limits.overloaded_message.clone(),
    );
    let admission = limits.admission.clone();
    let body_deadline = limits.body_deadline;
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            internal_message(req, next, internal.clone())
        }))
        .option_layer(admission.map(|a| {
            middleware::from_fn(move |req: Request, next: Next| admit(a.clone(), req, next))
        }))
        .layer(HandleErrorLayer::new(move |err: BoxError| {
            let overloaded = overloaded.clone();
            async move { middleware_error(err, overloaded) }
        }))
        .load_shed()
        .concurrency_limit(limits.max_concurrency.max(1))
        .timeout(limits.timeout)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            next.run(req.map(|body| Body::new(DeadlineBody::new(body, body_deadline))))
        }))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(DefaultBodyLimit::max(limits.max_body))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// A request body that must arrive whole before a deadline, set when it is wrapped.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body, within: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(within)),
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err("the request body did not arrive in time".into())));
        }
        Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map_err(BoxError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn middleware_error(err: BoxError, overloaded: Cow<'static, str>) -> ApiError {
    if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::unavailable("overloaded", overloaded).retry_after(1)
    } else if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::unavailable("timeout", "the request took too long")
    } else {
        ApiError::internal(err)
    }
}

/// Puts the service's message into the `500 internal` answers of [`ApiError::internal`].
async fn internal_message(req: Request, next: Next, message: Cow<'static, str>) -> Response {
    let response = next.run(req).await;
    if response.extensions().get::<Internal>().is_none() || message == INTERNAL_MESSAGE {
        return response;
    }
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response()
}
