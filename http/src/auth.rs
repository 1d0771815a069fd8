//! Bearer-token authentication: each token names a principal of the service's own type (a role,
//! a client, or `()` for a service with one token), found by comparing the presented token with
//! every configured one in constant time.

use crate::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::borrow::Cow;
use std::sync::Arc;
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The API tokens of a service, each mapped to the principal `R` it authenticates.
///
/// Tokens are compared after trimming surrounding whitespace (token files end in a newline).
/// `Debug` never shows them.
#[derive(Clone)]
pub struct Tokens<R> {
    entries: Arc<[(Box<[u8]>, R)]>,
    missing: Arc<str>,
}

impl<R> std::fmt::Debug for Tokens<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} redacted)", self.entries.len())
    }
}

impl<R: Clone> Tokens<R> {
    /// Tokens and the principal each one authenticates; an empty token authenticates nothing.
    /// `expected` completes the message of a request without a bearer token: "send
    /// 'Authorization: Bearer TOKEN' with {expected}" (for example "this service's API token").
    pub fn new<T: AsRef<str>>(tokens: impl IntoIterator<Item = (T, R)>, expected: &str) -> Self {
        Self {
            entries: tokens
                .into_iter()
                .map(|(t, r)| (t.as_ref().trim().as_bytes().into(), r))
                .filter(|(t, _): &(Box<[u8]>, R)| !t.is_empty())
                .collect(),
            missing: format!("send 'Authorization: Bearer TOKEN' with {expected}").into(),
        }
    }

    /// The principal of `token`, if it is one of the tokens. Every token is compared, each in
    /// constant time, so the time taken says nothing about which token matched or how much of
    /// one did (only about the lengths of the tokens).
    pub fn principal(&self, token: &str) -> Option<R> {
        let token = token.trim().as_bytes();
        let mut found = u64::MAX;
        for (i, (t, _)) in self.entries.iter().enumerate() {
            found.conditional_assign(&(i as u64), t.as_ref().ct_eq(token));
        }
        self.entries.get(found as usize).map(|(_, r)| r.clone())
    }

    /// The principal of the request's `Authorization: Bearer TOKEN` header; `401
    /// unauthenticated` without one or with an unknown token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<R, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated(Cow::Owned(self.missing.to_string())))?;
        self.principal(token)
            .ok_or_else(|| unauthenticated(Cow::Borrowed("unknown API token")))
    }
}

impl<R: Clone + Send + Sync + 'static> Tokens<R> {
    /// The principal of the request's credentials: `Ok(None)` without an `Authorization` header,
    /// `401 unauthenticated` with one that names no known token.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Option<R>, ApiError> {
        match headers.get(header::AUTHORIZATION) {
            None => Ok(None),
            Some(_) => self.authenticate(headers).map(Some),
        }
    }

    /// An admission policy over these tokens (see [`crate::admission`]): a body needs a known
    /// token, authenticated clients are charged by the `name` of their principal, anonymous ones
    /// by address, at `rates`.
    pub fn admission(
        &self,
        name: impl Fn(&R) -> String + Send + Sync + 'static,
        rates: crate::admission::Rates,
    ) -> crate::Admission {
        let tokens = self.clone();
        let missing = format!("requests with a body need credentials: {}", self.missing);
        crate::Admission::new(
            move |req: &axum::extract::Request| {
                Ok(tokens.identify(req.headers())?.map(|p| name(&p)))
            },
            missing,
            rates,
        )
    }
}

fn unauthenticated(message: Cow<'static, str>) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "unauthenticated",
        message,
    )
}

/// An extractor of the authenticated principal: a handler that takes `Auth(role): Auth<Role>`
/// (first, so that a request without a token is answered 401 before anything else) runs only for
/// a request with a known token. The router's state must give the [`Tokens`] (`FromRef`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<R>(pub R);

impl<S, R> FromRequestParts<S> for Auth<R>
where
    Tokens<R>: FromRef<S>,
    R: Clone + Send + Sync + 'static,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Tokens::<R>::from_ref(state)
            .authenticate(&parts.headers)
            .map(Auth)
    }
}

/// `Ok` when `principal` is one of `allowed`; otherwise `403 wrong-role`: "{what} needs the A or
/// B role; this token is C", with the names that `name` gives.
pub fn require<R: PartialEq>(
    principal: &R,
    allowed: &[R],
    what: &str,
    name: impl Fn(&R) -> &'static str,
) -> Result<(), ApiError> {
    if allowed.contains(principal) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(&name).collect();
    Err(ApiError::forbidden(
        "wrong-role",
        format!(
            "{what} needs the {} role; this token is {}",
            names.join(" or "),
            name(principal)
        ),
    ))
}
