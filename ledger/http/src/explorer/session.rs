//! Signing in and out: a server-side session named by a random id in an `HttpOnly`,
//! `SameSite=Strict` cookie, for the node's explorer accounts (each a named person reading as a
//! customs office or an auditor). Each sign-in is logged with the account and its party.

use super::*;

/// The sign-in page's query.
#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// A local path to come back to after signing in ("/" when absent or not local).
pub(super) fn local_path(next: Option<&str>) -> String {
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

pub(super) async fn signin_form(
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
pub(super) struct SignInForm {
    token: String,
    next: Option<String>,
}

pub(super) fn session_cookie(id: &str, max_age: u64) -> String {
    format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

pub(super) async fn signin(
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
    let refused = |status: StatusCode, message: &str| {
        page(&ctx, status, "Sign in", view::signin(&next, Some(message)))
    };
    let Some(account) = state.accounts.sign_in(&form.token) else {
        if state.tokens.principal(&form.token).is_some() {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "API tokens are for programs. People sign in with an explorer account of their \
                 own: ask this node's operator for one.",
            ));
        }
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "This token is not one of the node's explorer accounts.",
        ));
    };
    let Some(id) = ex.sign_in(&account.name, &account.party) else {
        return Err(refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many people are signed in: try again later.",
        ));
    };
    tracing::info!(account = %account.name, party = %account.party, "explorer sign-in");
    let mut r = redirect(&next);
    let value = HeaderValue::from_str(&session_cookie(&id, SESSION_TTL.as_secs()))
        .map_err(|e| internal(&ctx, e))?;
    r.headers_mut().insert(header::SET_COOKIE, value);
    Ok(r)
}

/// The sign-out form.
#[derive(Deserialize)]
pub(super) struct SignOutForm {
    csrf: String,
}

pub(super) async fn signout(
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
