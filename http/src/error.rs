//! The one error type of every route: an HTTP status, a stable code and a message, answered as
//! `{"error": code, "message": message}`.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::borrow::Cow;

/// The message of a `500 internal` answer unless the service's [`crate::Limits`] name another:
/// the detail goes to the log, never to the client.
pub const INTERNAL_MESSAGE: &str = "the service failed to answer; see its log";

/// Marks a response made by [`ApiError::internal`], so that [`crate::wrap`] can put the
/// service's own message in it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Internal;

/// An API error: an HTTP status, a stable machine-readable code and a message for a person.
///
/// 4xx answers say what was wrong with the request; their message may quote the request (a
/// witness, say) and so is never logged: only the status and code are, at INFO. 5xx answers made
/// with [`ApiError::internal`] hide the detail, which is logged at ERROR instead.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
    internal: bool,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            internal: false,
        }
    }

    /// `400 Bad Request`: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `403 Forbidden`: the caller is known but may not do this.
    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// `404 Not Found`: no such thing.
    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// `422 Unprocessable Entity`: well-formed, but a rule refused it.
    pub fn unprocessable(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// `429 Too Many Requests` with `Retry-After: secs`.
    pub fn too_many_requests(
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
        secs: u64,
    ) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message).retry_after(secs)
    }

    /// `502 Bad Gateway`: a service this one depends on failed.
    pub fn bad_gateway(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, code, message)
    }

    /// `503 Service Unavailable`: try again later.
    pub fn unavailable(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// `500 internal`: a failure inside the service. `what` is logged at ERROR (it must hold no
    /// secret); the client gets only the service's generic message.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self {
            internal: true,
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                INTERNAL_MESSAGE,
            )
        }
    }

    /// A rejected request body: `413 body-too-large` (naming the limit, `max_body` bytes) or
    /// `400 bad-body`.
    pub fn body_rejection(rejection: BytesRejection, max_body: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                format!("request bodies are limited to {max_body} bytes"),
            )
        } else {
            Self::bad_request("bad-body", rejection.body_text())
        }
    }

    /// A rejected query string: `400 bad-query`, saying what was wrong.
    pub fn query_rejection(rejection: QueryRejection) -> Self {
        Self::bad_request("bad-query", rejection.body_text())
    }

    /// Adds `Retry-After: secs` to the answer.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Any error of the service's own libraries (a store, a document service) answers `500 internal`
/// through `?`: the detail goes to the log, the client gets the service's generic message. Errors
/// a client caused are mapped explicitly (with [`ApiError::new`] and friends) before they get here.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::internal(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The message may quote the request: it goes to the client, never to the log.
        if self.status.is_client_error() {
            tracing::info!(
                status = self.status.as_u16(),
                error = self.code,
                "request refused"
            );
        }
        let mut r = (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.internal {
            r.extensions_mut().insert(Internal);
        }
        r
    }
}

/// Runs CPU or disk work on tokio's blocking pool; a task that panicked answers
/// [`ApiError::internal`]. The panic's message is not logged here (it may quote the request):
/// the panic hook has already printed it where the operator chose.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::internal(if e.is_panic() {
            "a blocking task panicked"
        } else {
            "a blocking task was cancelled"
        })
    })
}
