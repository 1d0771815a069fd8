//! Who is calling: this node's operator with a role token (`Authorization: Bearer`, from the
//! node's configuration), or a party of the ledger that signed its request with its own key
//! (HTTP message signatures, RFC 9421: [`zkcustoms_ledger_types::http_signature`]). A party needs
//! nothing from the node it calls: its key is in genesis (offices, authorities, auditors) or in
//! its registration on the ledger (traders), so every validator of the network can verify its
//! requests, each signed for the node it is sent to.
//!
//! A signed request is verified twice: from its head at admission (so that its rate is charged
//! to the party and its body is read only for a party whose signature holds; a nonce already
//! used is refused there too, charged to the sender's address), and in full by the handler
//! ([`caller`]): the body against its `Content-Digest`, then the nonce against replay, recorded.
//!
//! A signed request sent under a name this node does not answer to (its `Host`, see
//! [`PartyAuth::with_authorities`]) is refused `421 wrong-node` before its signature is checked.
//! Every other signed request must be bound to this node (`401 authority-required` otherwise):
//! signed over `@authority`, whose value is that `Host`. A node that received a party's
//! request can therefore not replay it at another administration's node: not a document upload
//! or forget (which act on that node's own copy), not a read (whose answer is that node's view
//! for the party: a consignment's records carry the access lists it keeps), and not a transaction
//! submission either (the transaction is the same everywhere, but the replay would be charged to
//! the party's rate and requests in progress there, and with a body trickled in, hold them).

use crate::ApiState;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use zkcustoms_http::ApiError;
use zkcustoms_ledger_core::chain::PartyKey;
use zkcustoms_ledger_core::rules::{Overlay, Rules};
use zkcustoms_ledger_core::store::StoreError;
use zkcustoms_ledger_types::crypto::PublicKey;
use zkcustoms_ledger_types::genesis::MAX_PUBLIC_AUTHORITIES;
use zkcustoms_ledger_types::http_signature::{
    self, HttpSignatureError, NonceCache, SignatureHeaders, VerifiedRequest, DEFAULT_WINDOW_SECS,
};
use zkcustoms_ledger_types::party::Party;
use zkcustoms_ledger_types::tx::{Eori, Role, SignerKind};

/// Most nonces of signed requests remembered at once, and per party.
const NONCES: usize = 200_000;
const NONCES_PER_PARTY: usize = 20_000;

/// The replay guard and clock window of signed requests.
#[derive(Debug)]
pub struct PartyAuth {
    nonces: NonceCache,
    window_secs: u64,
    /// The authorities (`host[:port]`) under which parties reach this node.
    authorities: Vec<String>,
}

impl PartyAuth {
    /// The same guard, for a node that parties reach under `authorities` (`host[:port]`, host in
    /// lower case, as [`http_signature::check_authority`] accepts them), at most
    /// [`MAX_PUBLIC_AUTHORITIES`]: requests bound to another authority are refused. Without any,
    /// every bound request is.
    pub fn with_authorities(
        self,
        authorities: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let authorities: Vec<String> = authorities.into_iter().collect();
        if authorities.len() > MAX_PUBLIC_AUTHORITIES {
            return Err(format!(
                "{} given, at most {MAX_PUBLIC_AUTHORITIES}",
                authorities.len()
            ));
        }
        for a in &authorities {
            http_signature::check_authority(a).map_err(|e| format!("{a:?}: {e}"))?;
        }
        Ok(Self {
            authorities,
            ..self
        })
    }
}

impl Default for PartyAuth {
    /// A window of [`DEFAULT_WINDOW_SECS`] either way, 200,000 remembered nonces (20,000 per
    /// party).
    fn default() -> Self {
        Self {
            nonces: NonceCache::new(NONCES, NONCES_PER_PARTY),
            window_secs: DEFAULT_WINDOW_SECS,
            authorities: Vec::new(),
        }
    }
}

/// Who made a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The holder of one of this node's role tokens.
    Role(Role),
    /// A party of the ledger, by its own signature.
    Party(Party),
}

impl Caller {
    /// The caller in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Caller::Role(r) => format!("the {} role", r.name()),
            Caller::Party(p) => p.to_string(),
        }
    }
}

/// The party a key id names, with its current key: a genesis authority, office or auditor, or a
/// registered trader whose key is not revoked (finalized state).
fn party_key(state: &ApiState, id: &str) -> Result<Option<(Party, PublicKey)>, StoreError> {
    let g = state.chain.genesis();
    if let Some(k) = g.authorities.get(id) {
        return Ok(Some((Party::Authority(id.to_owned()), k.clone())));
    }
    if let Some(o) = g.offices.get(id) {
        let party = Party::Office {
            id: id.to_owned(),
            administration: o.administration.clone(),
        };
        return Ok(Some((party, o.key.clone())));
    }
    if let Some(k) = g.auditors.get(id) {
        return Ok(Some((Party::Auditor(id.to_owned()), k.clone())));
    }
    let Ok(eori) = Eori::parse(id) else {
        return Ok(None);
    };
    let rules = Rules::new(g, state.chain.store());
    Ok(rules
        .active_trader_key(&eori, &Overlay::default())?
        .map(|k| (Party::Trader(eori), k)))
}

fn signature_headers(headers: &HeaderMap) -> SignatureHeaders<'_> {
    let lines = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            // A value that is not visible ASCII cannot be a valid field: pass it on to fail.
            .map(|v| v.to_str().unwrap_or("\u{fffd}"))
            .collect()
    };
    SignatureHeaders {
        signature_input: lines("signature-input"),
        signature: lines("signature"),
        content_digest: lines("content-digest"),
    }
}

/// Whether a request carries a party's signature headers.
pub(crate) fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key("signature-input") || headers.contains_key("signature")
}

/// The one answer to a key id that names no party with a current key and to a signature that
/// does not verify under the named party's key: telling them apart would let anyone find out
/// which traders are registered (their identities are for the ledger's parties), by signing a
/// request under each id with a key of their own.
fn no_valid_signature(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad-signature",
        format!(
            "no valid signature under the key of {id:?}: the key id names no party with a \
             current key here, or the signature does not verify under that party's key"
        ),
    )
}

fn signature_error(e: HttpSignatureError) -> ApiError {
    let status = match e {
        HttpSignatureError::UnknownKey(id) | HttpSignatureError::BadSignature(id) => {
            return no_valid_signature(&id)
        }
        HttpSignatureError::ReplayCacheFull(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// A key no party holds and whose secret nobody keeps: a key id that names no party is checked
/// against it, so that refusing an unknown party takes the same work as refusing a bad
/// signature. Its verdict never admits anyone (no party is found).
fn stand_in_key() -> &'static PublicKey {
    static KEY: std::sync::OnceLock<PublicKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        zkcustoms_ledger_types::crypto::public_of(&zkcustoms_ledger_types::crypto::generate())
    })
}

fn now_secs(state: &ApiState) -> u64 {
    state.chain.now_ms() / 1000
}

/// Verifies a signed request (its body when `body` is given, else from the head alone, with
/// `has_body` saying whether one follows) and names its party.
fn verify(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<&[u8], bool>,
) -> Result<(Party, VerifiedRequest), ApiError> {
    let received = signature_headers(headers);
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    // Where the request arrived: `Host` (HTTP/1.1), else the target's authority (HTTP/2).
    let authority = headers
        .get(axum::http::header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let mut found = None;
    let mut failure = None;
    let resolve = |id: &str| match party_key(state, id) {
        Ok(Some((party, key))) => {
            found = Some(party);
            Some(key)
        }
        Ok(None) => Some(stand_in_key().clone()),
        Err(e) => {
            failure = Some(e);
            None
        }
    };
    // Sent under a name that is not this node's: refused before its signature is checked (a
    // request captured at one node and replayed at another costs this one no verification).
    if let Some(a) = authority.filter(|a| !state.parties.authorities.iter().any(|x| x == a)) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "wrong-node",
            format!("the request was sent to {a:?}, which is not this node"),
        ));
    }
    let (now, window) = (now_secs(state), state.parties.window_secs);
    let verified = match body {
        Ok(bytes) => http_signature::verify_request_at(
            &received,
            authority,
            method.as_str(),
            target,
            bytes,
            resolve,
            now,
            window,
        ),
        Err(has_body) => http_signature::verify_request_head_at(
            &received,
            authority,
            method.as_str(),
            target,
            has_body,
            resolve,
            now,
            window,
        ),
    };
    if let Some(e) = failure {
        return Err(ApiError::internal(e));
    }
    let verified = verified.map_err(signature_error)?;
    let party = found.ok_or_else(|| no_valid_signature(&verified.party_id))?;
    match &verified.authority {
        Some(a) if !state.parties.authorities.contains(a) => {
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "wrong-node",
                format!("the request is signed for {a:?}, which is not this node"),
            ))
        }
        None => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authority-required",
                "a signed request must be signed for the node it is sent to (covering @authority)",
            ))
        }
        Some(_) => {}
    }
    Ok((party, verified))
}

/// Whether a request announces a body (as the admission sees it).
fn announces_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(axum::http::header::TRANSFER_ENCODING),
    }
}

/// The principal of a request's head, for admission: a signing party (`party:ID`) whose
/// signature holds (its body, if any, is checked later by the handler), else a role token's role.
pub(crate) fn identify(state: &ApiState, req: &Request) -> Result<Option<String>, ApiError> {
    if !is_signed(req.headers()) {
        return Ok(state
            .tokens
            .identify(req.headers())?
            .map(|role| role.name().to_owned()));
    }
    let has_body = announces_body(req.headers());
    let (party, verified) = verify(state, req.method(), req.uri(), req.headers(), Err(has_body))?;
    // A replay of a request already served is refused here, charged to its sender's address:
    // replaying a captured request must not spend the party's rate or its requests in progress.
    state
        .parties
        .nonces
        .check(&verified, now_secs(state))
        .map_err(signature_error)?;
    Ok(Some(format!("party:{}", party.id())))
}

/// The caller of a request, verified in full: a party's signature over the method, target and
/// `body` (empty for none), used once; else a role token. A signed request speaks for its party
/// whatever token it also carries. Answers `401` without credentials or with credentials that
/// do not hold.
pub(crate) fn caller(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, ApiError> {
    if !is_signed(headers) {
        return state.tokens.authenticate(headers).map(Caller::Role);
    }
    let (party, verified) = verify(state, method, uri, headers, Ok(body))?;
    state
        .parties
        .nonces
        .check_and_remember(&verified, now_secs(state))
        .map_err(signature_error)?;
    Ok(Caller::Party(party))
}

/// The verified caller of a request without a body, as an extractor (first among a handler's
/// arguments, so that a request without valid credentials is answered `401` before anything
/// else).
#[derive(Clone, Debug)]
pub(crate) struct Who(pub Caller);

impl axum::extract::FromRequestParts<ApiState> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &ApiState,
    ) -> Result<Self, ApiError> {
        caller(state, &parts.method, &parts.uri, &parts.headers, &[]).map(Who)
    }
}

/// Whether the caller is told why a transaction signed by `signer` was refused: customs and
/// auditors (by role token or as a party), and the signer itself by its own signature. A role
/// token names no party, so a trader's or an authority's token is told the code only: the
/// message may name another trader's consignment (docs/privacy.md).
pub(crate) fn may_read_refusal(caller: &Caller, signer: &PartyKey) -> bool {
    match caller {
        Caller::Role(r) => matches!(r, Role::Customs | Role::Auditor),
        Caller::Party(p) => {
            matches!(p, Party::Office { .. } | Party::Auditor(_))
                || is_signer(p, signer.0, &signer.1)
        }
    }
}

/// Whether `party` is the signer of kind `kind` and id `id` (a trader, an authority or an
/// office: the same id under another role is another party).
pub(crate) fn is_signer(party: &Party, kind: SignerKind, id: &str) -> bool {
    let same_kind = match party {
        Party::Trader(_) => kind == SignerKind::Trader,
        Party::Authority(_) => kind == SignerKind::Authority,
        Party::Office { .. } => kind == SignerKind::Office,
        Party::Auditor(_) => false,
    };
    same_kind && party.id() == id
}

/// `403 wrong-role` unless the caller is customs or an auditor, by role token or as a party.
pub(crate) fn require_oversight(caller: &Caller, what: &str) -> Result<(), ApiError> {
    let ok = match caller {
        Caller::Role(r) => matches!(r, Role::Customs | Role::Auditor),
        Caller::Party(p) => matches!(p, Party::Office { .. } | Party::Auditor(_)),
    };
    if ok {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "wrong-role",
        format!(
            "{what} is for customs and auditors, not {}",
            caller.describe()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_authorities_are_checked_and_bounded_however_given() {
        let many = |n: usize| (0..n).map(|i| format!("node{i}.example:8080"));
        assert!(PartyAuth::default()
            .with_authorities(many(MAX_PUBLIC_AUTHORITIES))
            .is_ok());
        let e = PartyAuth::default()
            .with_authorities(many(MAX_PUBLIC_AUTHORITIES + 1))
            .err()
            .unwrap();
        assert!(e.contains("at most"), "{e}");
        let e = PartyAuth::default()
            .with_authorities(["Node.Example".to_owned()])
            .err()
            .unwrap();
        assert!(e.contains("Node.Example"), "{e}");
    }
}
