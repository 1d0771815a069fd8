//! "Verify a proof": an envelope pasted or uploaded, checked with the node's verifying keys, and
//! what the ledger says about its registry root.

use super::*;
use zkcustoms_ledger_core::rules::Rejection;

pub(super) async fn verify_form(
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
    /// For aeo-status proofs: why the ledger would refuse the proof now, whatever the
    /// consignment (its root superseded beyond the grace period, its day too far from today).
    pub refused_now: Option<Rejection>,
}

pub(super) fn root_standing(
    chain: &Chain,
    env: &ProofEnvelope,
) -> Result<Option<Option<RootStanding>>, StoreError> {
    let PublicValues::AeoStatus(p) = &env.public else {
        return Ok(None);
    };
    let store = chain.store();
    let Some(seq) = queries::root_sequence(store, &p.authority, &p.registry_root)? else {
        return Ok(Some(None));
    };
    let latest = queries::latest_root(store, &p.authority)?.map_or(0, |(s, _)| s);
    let height = queries::root_at(store, &p.authority, seq)?.map_or(0, |e| e.height);
    Ok(Some(Some(RootStanding {
        sequence: seq,
        current: seq == latest,
        height,
    })))
}

pub(super) fn upload_failed(ctx: &Ctx, status: StatusCode, message: String) -> Response {
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

pub(super) async fn verify_submit(
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
    // Decoding the envelope checks its points (a G2 decompression and subgroup check): it too
    // takes a slot, and runs off the executor.
    let Ok(slot) = ex.verifications.clone().try_acquire_owned() else {
        let mut busy = error(
            &ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "Verifier busy",
            "The explorer is verifying as many proofs as it can at once. Try again in a moment.",
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(busy);
    };
    let chain = state.chain.clone();
    let verdict = read(&ctx, move || {
        let _slot = slot;
        let envelope = match ProofEnvelope::from_json(&text) {
            Ok(envelope) => envelope,
            Err(e) => return Ok(Err(e)),
        };
        let result = chain.keys().verify(&envelope);
        let root = root_standing(&chain, &envelope)?;
        let refused_now = match &envelope.public {
            PublicValues::AeoStatus(p) => chain.aeo_refusal_now(p)?,
            _ => None,
        };
        Ok(Ok(Verdict {
            envelope,
            result,
            root,
            refused_now,
        }))
    })
    .await?
    .map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            "Not a proof envelope",
            format!("The text is not a valid proof envelope: {e}."),
        )
    })?;
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
