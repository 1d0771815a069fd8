//!
//! A party (a trader, a customs office, an auditor) authenticates its requests to any validator
//! node with its own Ed25519 key instead of a shared bearer token.
//!
//! A signed request carries two headers, and a third when it has a body:
//!
//! ```text
//! Content-Digest: sha-256=:<base64 of SHA-256(body)>:
//! Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=1767225600;
//!   nonce="000102030405060708090a0b0c0d0e0f";keyid="DE123456789012345";alg="ed25519";
//!   tag="zkcustoms"
//! Signature: sig1=:<base64 of the 64-byte Ed25519 signature>:
//! ```
//!
//! (`Signature-Input` is one line; it is folded here for reading.)
//!
//! **Covered components.** Exactly `@method`, `@path`, `@query` and, when the body is not empty,
//! `content-digest`, each once, in any order; and optionally `@authority`. Without `@authority` a
//! request's signature is valid at whichever node receives it (the ledger's nodes refuse such a
//! request: they accept only requests bound to them). With it ([`sign_request_to`]), the request
//! is bound to the node it was sent to: its value is
//! the authority of the URL the party called (lower-case host, `:port` unless the scheme's
//! default), the verifier builds the base from the request's `Host` and must accept only its own
//! authorities, so a node that received the request cannot replay it at another node. A request
//! without a body is one whose body is empty; its signature must not cover `content-digest`, and
//! a request with a body must be signed over its digest (RFC 9530, sha-256).
//!
//! **Parameters**, each once, in any order: `created` (unix seconds), `expires` (optional, unix
//! seconds, not before `created`), `nonce` (16 random bytes as 32 lower-case hex digits), `keyid`
//! (the party's id: an EORI, a customs office code, an auditor's id; 1 to 64 printable ASCII
//! characters without spaces, `"` and `\` escaped as RFC 8941 strings escape them),
//! `alg="ed25519"` and the application tag `tag="zkcustoms"`. Any other parameter is refused. The
//! signature's label is `sig1`; a header with another label or a second signature is refused.
//!
//! **Signature base** (RFC 9421 §2.5): one line `"<component>": <value>` per covered component in
//! the order of `Signature-Input`, each ended by a line feed, then the line
//! `"@signature-params": <the inner list with its parameters>` without a line feed. The `@query`
//! value is the query with its leading `?`, or `?` alone when the target has no query; the
//! `content-digest` value is the header's value. For example:
//!
//! ```text
//! "@method": POST
//! "@path": /v1/transactions
//! "@query": ?wait_ms=0
//! "content-digest": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
//! "@signature-params": ("@method" "@path" "@query" "content-digest");created=1767225600;nonce="000102030405060708090a0b0c0d0e0f";keyid="DE123456789012345";alg="ed25519";tag="zkcustoms"
//! ```
//!
//! **The one deviation from RFC 9421's `ed25519` algorithm.** RFC 9421 §3.3.6 signs the signature
//! base itself. The ledger's Ed25519 keys sign through `commonware-cryptography`, whose signer
//! always prefixes a namespace and offers no way to sign without one; the Ed25519 message here is
//! therefore `varint(len(NAMESPACE)) || NAMESPACE || signature base`, with [`NAMESPACE`] =
//! `zkcustoms/http-request/v1` (25 bytes, so the prefix is the byte `0x19`). A verifier written
//! against another library must build that message; everything else is plain RFC 9421. The
//! namespace also keeps a request signature from ever being valid as a transaction signature.
//!
//! **Verification** ([`verify_request`]) checks, in order: the headers are present once each and
//! at most [`MAX_HEADER_LEN`] bytes long, they parse strictly, the covered components are exactly
//! the required ones, `created` is within the window around `now` and `expires` has not passed,
//! the body matches its `Content-Digest`, the key id names a known party, and the signature
//! verifies. Replays are refused afterwards by a [`NonceCache`]: record a request there only once
//! it verified.

mod digest;
mod replay;
mod sfv;
#[cfg(test)]
mod tests;

pub use digest::{content_digest, verify_content_digest};
pub use replay::NonceCache;

use crate::crypto::{self, PrivateKey, PublicKey};
use digest::digest_error;
use rand::RngCore;
use sfv::{Bare, Member, Params};

/// The namespace the Ed25519 signer prefixes to a request's signature base.
pub const NAMESPACE: &[u8] = b"zkcustoms/http-request/v1";
/// The label of the one signature a request carries.
pub const LABEL: &str = "sig1";
/// The `alg` parameter.
pub const ALG: &str = "ed25519";
/// The `tag` parameter: the application the signature is for.
pub const TAG: &str = "zkcustoms";
/// The longest value accepted for each of `Signature-Input`, `Signature` and `Content-Digest`.
pub const MAX_HEADER_LEN: usize = 1024;
/// The longest request target (path and query) that is signed or verified.
pub const MAX_TARGET_LEN: usize = 8192;
/// Bytes of a nonce.
pub const NONCE_LEN: usize = 16;
/// A clock-skew window that suits most deployments: five minutes either way.
pub const DEFAULT_WINDOW_SECS: u64 = 300;

/// Why a request's signature was refused, or a request could not be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpSignatureError {
    /// The request carries neither a `Signature-Input` nor a `Signature` header.
    #[error("the request is not signed: it has no Signature-Input and Signature headers")]
    Missing,
    /// A signature header is absent, repeated, too long, not in the accepted form, or does not
    /// cover exactly the required components.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The key id names no party that the verifier knows.
    #[error("unknown key id {0:?}")]
    UnknownKey(String),
    /// The signature does not verify under the named party's key.
    #[error("the signature does not verify under the key of {0:?}")]
    BadSignature(String),
    /// `created` is outside the clock-skew window, or `expires` has passed.
    #[error("the signature is not valid now: {0}")]
    Expired(String),
    /// The party already used this nonce in a signature that is still valid.
    #[error("{0:?} already used this nonce")]
    Replayed(String),
    /// The body does not match its `Content-Digest` header, or the header is absent or malformed
    /// while the request has a body.
    #[error("content digest: {0}")]
    ContentDigestMismatch(String),
    /// The replay guard holds as many live nonces as it may; the request may be sent again later.
    #[error("too many recent signed requests to remember: {0}")]
    ReplayCacheFull(String),
    /// The request given to [`sign_request`] cannot be signed (method, target, party id or times).
    #[error("cannot sign the request: {0}")]
    InvalidRequest(String),
}

impl HttpSignatureError {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing-signature",
            Self::Malformed(_) => "malformed-signature",
            Self::UnknownKey(_) => "unknown-key",
            Self::BadSignature(_) => "bad-signature",
            Self::Expired(_) => "expired-signature",
            Self::Replayed(_) => "replayed-signature",
            Self::ContentDigestMismatch(_) => "content-digest-mismatch",
            Self::ReplayCacheFull(_) => "replay-cache-full",
            Self::InvalidRequest(_) => "invalid-request",
        }
    }
}

fn malformed(why: impl Into<String>) -> HttpSignatureError {
    HttpSignatureError::Malformed(why.into())
}

/// A fresh nonce from the operating system's random generator.
pub fn fresh_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    nonce
}

/// The parameters of one signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureParams {
    /// The signing party's id (`keyid`).
    pub party_id: String,
    /// When the signature was made, in unix seconds.
    pub created: u64,
    /// When it stops being valid, in unix seconds, if earlier than the verifier's window.
    pub expires: Option<u64>,
    /// A random value that makes the signature unique.
    pub nonce: [u8; NONCE_LEN],
}

/// The header values that sign a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The `Signature-Input` header value.
    pub signature_input: String,
    /// The `Signature` header value.
    pub signature: String,
    /// The `Content-Digest` header value, for a request with a body.
    pub content_digest: Option<String>,
}

impl SignedHeaders {
    /// The headers as a verifier receives them, one field line each.
    pub fn as_received(&self) -> SignatureHeaders<'_> {
        SignatureHeaders {
            signature_input: vec![&self.signature_input],
            signature: vec![&self.signature],
            content_digest: self.content_digest.iter().map(String::as_str).collect(),
        }
    }
}

/// The signature headers of a received request: every field line of each, in order (a header
/// that appears more than once is refused).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// The `Signature-Input` field lines.
    pub signature_input: Vec<&'a str>,
    /// The `Signature` field lines.
    pub signature: Vec<&'a str>,
    /// The `Content-Digest` field lines.
    pub content_digest: Vec<&'a str>,
}

/// What a verified signature establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The party that signed the request.
    pub party_id: String,
    /// The signature's nonce.
    pub nonce: [u8; NONCE_LEN],
    /// When the signature was made, in unix seconds.
    pub created: u64,
    /// The signature's `expires` parameter, if it had one.
    pub expires: Option<u64>,
    /// The last second at which the signature is accepted: `created` plus the window, or
    /// `expires` when earlier. The replay guard remembers the nonce until then.
    pub valid_until: u64,
    /// The authority the signature covers (`@authority`), if it covers one: the verifier must
    /// check that it is one of its own.
    pub authority: Option<String>,
}

/// A covered component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Component {
    Method,
    Authority,
    Path,
    Query,
    ContentDigest,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Self::Method => "@method",
            Self::Authority => "@authority",
            Self::Path => "@path",
            Self::Query => "@query",
            Self::ContentDigest => "content-digest",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Self::Method,
            Self::Authority,
            Self::Path,
            Self::Query,
            Self::ContentDigest,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }

    /// The components a request must cover, in the order a signer lists them.
    fn required(has_body: bool) -> &'static [Component] {
        const WITHOUT_BODY: [Component; 3] = [Component::Method, Component::Path, Component::Query];
        const WITH_BODY: [Component; 4] = [
            Component::Method,
            Component::Path,
            Component::Query,
            Component::ContentDigest,
        ];
        if has_body {
            &WITH_BODY
        } else {
            &WITHOUT_BODY
        }
    }

    /// The components a signer covers: the required ones, with `@authority` after `@method` when
    /// the request is bound to a node.
    fn signed(has_body: bool, bound: bool) -> Vec<Component> {
        let mut out = Self::required(has_body).to_vec();
        if bound {
            out.insert(1, Component::Authority);
        }
        out
    }
}

/// Checks an authority as a signer writes it and a verifier receives it in `Host`: a host (a
/// name of lower-case letters, digits, `-` and `.`, or an IPv4 address, or an IPv6 address in
/// brackets) with an optional `:port`, at most 255 bytes.
pub fn check_authority(authority: &str) -> Result<(), &'static str> {
    let ok_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-:[]".contains(&b);
    if authority.is_empty() || authority.len() > 255 || !authority.bytes().all(ok_byte) {
        return Err(
            "the authority is not a lower-case host with an optional port (at most 255 bytes)",
        );
    }
    Ok(())
}

/// A request's method, authority (when known), path and query, checked.
struct Target<'a> {
    method: &'a str,
    authority: Option<&'a str>,
    path: &'a str,
    /// The query with its leading `?`, or `?` alone.
    query: &'a str,
}

impl<'a> Target<'a> {
    /// Checks a method (an HTTP token) and an origin-form target (`/path?query`, visible ASCII).
    fn new(method: &'a str, path_and_query: &'a str) -> Result<Self, &'static str> {
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if method.is_empty() || method.len() > 32 || !method.bytes().all(tchar) {
            return Err("the method is not an HTTP token of at most 32 characters");
        }
        if path_and_query.len() > MAX_TARGET_LEN {
            return Err("the request target is too long");
        }
        if !path_and_query.starts_with('/')
            || !path_and_query
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'#')
        {
            return Err("the request target is not a path of visible ASCII starting with '/'");
        }
        let (path, query) = match path_and_query.find('?') {
            Some(i) => (&path_and_query[..i], &path_and_query[i..]),
            None => (path_and_query, "?"),
        };
        Ok(Self {
            method,
            authority: None,
            path,
            query,
        })
    }

    /// The same target, received at (or sent to) `authority`.
    fn at(mut self, authority: Option<&'a str>) -> Result<Self, &'static str> {
        if let Some(a) = authority {
            check_authority(a)?;
        }
        self.authority = authority;
        Ok(self)
    }

    fn value(&self, component: Component, digest: &'a str) -> &'a str {
        match component {
            Component::Method => self.method,
            Component::Authority => self.authority.unwrap_or_default(),
            Component::Path => self.path,
            Component::Query => self.query,
            Component::ContentDigest => digest,
        }
    }
}

/// Builds the signature base from the covered components and the serialised parameters.
fn base(components: &[Component], target: &Target<'_>, digest: &str, params_line: &str) -> String {
    let mut out = String::new();
    for &c in components {
        out.push_str(&format!("\"{}\": {}\n", c.name(), target.value(c, digest)));
    }
    out.push_str(&format!("\"@signature-params\": {params_line}"));
    out
}

/// The signature parameters as an inner list with parameters, in the order a signer writes them.
fn params_line(components: &[Component], params: &SignatureParams) -> String {
    let items: Vec<(Bare, Params)> = components
        .iter()
        .map(|c| (Bare::String(c.name().into()), Vec::new()))
        .collect();
    let mut list: Params = vec![("created".into(), Bare::Integer(params.created))];
    if let Some(expires) = params.expires {
        list.push(("expires".into(), Bare::Integer(expires)));
    }
    list.push(("nonce".into(), Bare::String(hex::encode(params.nonce))));
    list.push(("keyid".into(), Bare::String(params.party_id.clone())));
    list.push(("alg".into(), Bare::String(ALG.into())));
    list.push(("tag".into(), Bare::String(TAG.into())));
    sfv::serialize_inner_list(&items, &list)
}

fn check_params(params: &SignatureParams) -> Result<(), String> {
    crate::tx::check_party_id("keyid", &params.party_id).map_err(|e| e.to_string())?;
    if params.created > sfv::MAX_INTEGER {
        return Err(format!("created must be at most {}", sfv::MAX_INTEGER));
    }
    if let Some(expires) = params.expires {
        if expires > sfv::MAX_INTEGER || expires < params.created {
            return Err(format!(
                "expires must be between created and {}",
                sfv::MAX_INTEGER
            ));
        }
    }
    Ok(())
}

/// The signature base of a request signed with `params` (what [`sign_request_with`] signs).
/// A body is `Some` non-empty slice; `None` and an empty body are the same.
pub fn signature_base(
    params: &SignatureParams,
    method: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
) -> Result<String, HttpSignatureError> {
    signature_base_to(params, None, method, path_and_query, body)
}

/// The signature base of a request signed with `params`, bound to `authority` when given (what
/// [`sign_request_to`] signs).
pub fn signature_base_to(
    params: &SignatureParams,
    authority: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
) -> Result<String, HttpSignatureError> {
    let invalid = HttpSignatureError::InvalidRequest;
    check_params(params).map_err(invalid)?;
    let target = Target::new(method, path_and_query)
        .and_then(|t| t.at(authority))
        .map_err(|e| invalid(e.into()))?;
    let body = body.unwrap_or_default();
    let components = Component::signed(!body.is_empty(), authority.is_some());
    let digest = content_digest(body);
    Ok(base(
        &components,
        &target,
        &digest,
        &params_line(&components, params),
    ))
}

/// Signs a request as `party_id`, made at `created` (unix seconds) with `nonce`. `path_and_query`
/// is the request target exactly as sent (`/v1/transactions?wait_ms=0`); a body is `Some`
/// non-empty slice (`None` and an empty body are the same).
pub fn sign_request(
    key: &PrivateKey,
    party_id: &str,
    method: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
    created: u64,
    nonce: [u8; NONCE_LEN],
) -> Result<SignedHeaders, HttpSignatureError> {
    let params = SignatureParams {
        party_id: party_id.into(),
        created,
        expires: None,
        nonce,
    };
    sign_request_with(key, &params, method, path_and_query, body)
}

/// Signs a request with the given parameters (an `expires` among them).
pub fn sign_request_with(
    key: &PrivateKey,
    params: &SignatureParams,
    method: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
) -> Result<SignedHeaders, HttpSignatureError> {
    sign_request_to(key, params, None, method, path_and_query, body)
}

/// Signs a request bound to the node at `authority` (`@authority`: the host and, unless the
/// scheme's default, `:port` of the URL called, host in lower case) when given: only that node
/// accepts it.
pub fn sign_request_to(
    key: &PrivateKey,
    params: &SignatureParams,
    authority: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
) -> Result<SignedHeaders, HttpSignatureError> {
    let signed = signature_base_to(params, authority, method, path_and_query, body)?;
    let body = body.unwrap_or_default();
    let components = Component::signed(!body.is_empty(), authority.is_some());
    let signature = crypto::sign(key, NAMESPACE, signed.as_bytes());
    Ok(SignedHeaders {
        signature_input: format!("{LABEL}={}", params_line(&components, params)),
        signature: format!("{LABEL}={}", sfv::serialize_bytes(signature.as_ref())),
        content_digest: (!body.is_empty()).then(|| content_digest(body)),
    })
}

/// A parsed `Signature-Input`.
struct ParsedInput {
    components: Vec<Component>,
    params: SignatureParams,
    /// The inner list re-serialised: the `@signature-params` value.
    params_line: String,
}

/// The one header line of a signature header, bounded.
fn one_line<'a>(lines: &[&'a str], name: &str) -> Result<&'a str, HttpSignatureError> {
    match lines {
        [line] if line.len() <= MAX_HEADER_LEN => Ok(line),
        [_] => Err(malformed(format!(
            "{name} is longer than {MAX_HEADER_LEN} bytes"
        ))),
        [] => Err(malformed(format!("{name} is missing"))),
        _ => Err(malformed(format!("{name} appears more than once"))),
    }
}

/// The one member of a signature header's dictionary, labelled [`LABEL`].
fn only_member(value: &str, name: &str) -> Result<Member, HttpSignatureError> {
    let dict = sfv::parse_dictionary(value).map_err(|e| malformed(format!("{name}: {e}")))?;
    let Ok([(label, member)]) = <[_; 1]>::try_from(dict) else {
        return Err(malformed(format!("{name} must hold exactly one signature")));
    };
    if label != LABEL {
        return Err(malformed(format!("{name}: the label must be {LABEL}")));
    }
    Ok(member)
}

fn parse_signature_input(value: &str) -> Result<ParsedInput, HttpSignatureError> {
    let Member::InnerList(items, params) = only_member(value, "Signature-Input")? else {
        return Err(malformed(
            "Signature-Input: the signature is not an inner list",
        ));
    };
    let mut components = Vec::new();
    for (item, item_params) in &items {
        let Bare::String(name) = item else {
            return Err(malformed("a covered component is not a string"));
        };
        if !item_params.is_empty() {
            return Err(malformed("covered components take no parameters"));
        }
        let c = Component::from_name(name)
            .ok_or_else(|| malformed(format!("component {name:?} is not accepted")))?;
        if components.contains(&c) {
            return Err(malformed(format!("component {name:?} is covered twice")));
        }
        components.push(c);
    }
    let (mut created, mut expires, mut nonce, mut keyid) = (None, None, None, None);
    let (mut alg, mut tag) = (false, false);
    for (key, value) in &params {
        match (key.as_str(), value) {
            ("created", Bare::Integer(n)) => created = Some(*n),
            ("expires", Bare::Integer(n)) => expires = Some(*n),
            ("nonce", Bare::String(s)) => nonce = Some(parse_nonce(s)?),
            ("keyid", Bare::String(s)) => keyid = Some(s.clone()),
            ("alg", Bare::String(s)) if s == ALG => alg = true,
            ("tag", Bare::String(s)) if s == TAG => tag = true,
            ("created" | "expires" | "nonce" | "keyid" | "alg" | "tag", _) => {
                return Err(malformed(format!("parameter {key} has a wrong value")))
            }
            _ => return Err(malformed(format!("parameter {key} is not accepted"))),
        }
    }
    let missing = |what: &str| malformed(format!("parameter {what} is missing"));
    if !alg {
        return Err(missing("alg"));
    }
    if !tag {
        return Err(missing("tag"));
    }
    let params_out = SignatureParams {
        party_id: keyid.ok_or_else(|| missing("keyid"))?,
        created: created.ok_or_else(|| missing("created"))?,
        expires,
        nonce: nonce.ok_or_else(|| missing("nonce"))?,
    };
    check_params(&params_out).map_err(malformed)?;
    Ok(ParsedInput {
        components,
        params: params_out,
        params_line: sfv::serialize_inner_list(&items, &params),
    })
}

/// A nonce: exactly 32 lower-case hex digits.
fn parse_nonce(s: &str) -> Result<[u8; NONCE_LEN], HttpSignatureError> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if s.len() != 2 * NONCE_LEN || !s.bytes().all(lower_hex) {
        return Err(malformed("the nonce must be 32 lower-case hex digits"));
    }
    let mut out = [0u8; NONCE_LEN];
    hex::decode_to_slice(s, &mut out).map_err(|_| malformed("the nonce is not hex"))?;
    Ok(out)
}

fn parse_signature(value: &str) -> Result<crypto::Signature, HttpSignatureError> {
    let Member::Item(Bare::Bytes(bytes), params) = only_member(value, "Signature")? else {
        return Err(malformed("Signature: the signature is not a byte sequence"));
    };
    if !params.is_empty() {
        return Err(malformed("Signature: the signature takes no parameters"));
    }
    crypto::signature_from_bytes(&bytes).map_err(malformed)
}

/// Verifies a request's signature: `method` and `path_and_query` as received (the request
/// target in origin form), `body` its bytes (empty when it has none), `resolve` the public key of
/// a party id (`None` for an unknown party), `now` in unix seconds, and `window_secs` the clock
/// skew accepted either way around `created`. See the module documentation for the order of the
/// checks. A verified request must still pass the replay guard ([`NonceCache`]).
pub fn verify_request(
    headers: &SignatureHeaders<'_>,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    resolve: impl FnOnce(&str) -> Option<PublicKey>,
    now: u64,
    window_secs: u64,
) -> Result<VerifiedRequest, HttpSignatureError> {
    verify_request_at(
        headers,
        None,
        method,
        path_and_query,
        body,
        resolve,
        now,
        window_secs,
    )
}

/// [`verify_request`] for a request received at `authority` (its `Host`; `None` when unknown, and
/// then a signature covering `@authority` is refused). A signature that covers `@authority` is
/// verified over this value: the caller must still check that
/// [`VerifiedRequest::authority`] is one of its own.
#[allow(clippy::too_many_arguments)]
pub fn verify_request_at(
    headers: &SignatureHeaders<'_>,
    authority: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    resolve: impl FnOnce(&str) -> Option<PublicKey>,
    now: u64,
    window_secs: u64,
) -> Result<VerifiedRequest, HttpSignatureError> {
    let verified = verify_request_head_at(
        headers,
        authority,
        method,
        path_and_query,
        !body.is_empty(),
        resolve,
        now,
        window_secs,
    )?;
    verify_content_digest(&headers.content_digest, body)?;
    Ok(verified)
}

/// Verifies a request's signature from its head alone, before its body is read: the same checks
/// as [`verify_request`] but the body's digest (`has_body` says whether a body follows, so
/// whether the signature must cover `Content-Digest`). The signature covers the digest header,
/// so once this succeeds only a body that does not match that header can still fail: check it
/// with [`verify_content_digest`] once the body is read.
pub fn verify_request_head(
    headers: &SignatureHeaders<'_>,
    method: &str,
    path_and_query: &str,
    has_body: bool,
    resolve: impl FnOnce(&str) -> Option<PublicKey>,
    now: u64,
    window_secs: u64,
) -> Result<VerifiedRequest, HttpSignatureError> {
    verify_request_head_at(
        headers,
        None,
        method,
        path_and_query,
        has_body,
        resolve,
        now,
        window_secs,
    )
}

/// [`verify_request_head`] for a request received at `authority` (see [`verify_request_at`]).
#[allow(clippy::too_many_arguments)]
pub fn verify_request_head_at(
    headers: &SignatureHeaders<'_>,
    authority: Option<&str>,
    method: &str,
    path_and_query: &str,
    has_body: bool,
    resolve: impl FnOnce(&str) -> Option<PublicKey>,
    now: u64,
    window_secs: u64,
) -> Result<VerifiedRequest, HttpSignatureError> {
    if headers.signature_input.is_empty() && headers.signature.is_empty() {
        return Err(HttpSignatureError::Missing);
    }
    let input = parse_signature_input(one_line(&headers.signature_input, "Signature-Input")?)?;
    let signature = parse_signature(one_line(&headers.signature, "Signature")?)?;
    let target = Target::new(method, path_and_query).map_err(malformed)?;
    let required = Component::required(has_body);
    let bound = input.components.contains(&Component::Authority);
    let others = input.components.len() - usize::from(bound);
    if others != required.len() || !required.iter().all(|c| input.components.contains(c)) {
        let names: Vec<&str> = required.iter().map(|c| c.name()).collect();
        return Err(malformed(format!(
            "the signature must cover exactly {} (and optionally @authority)",
            names.join(", ")
        )));
    }
    let target = match (bound, authority) {
        (false, _) => target,
        (true, None) => {
            return Err(malformed(
                "the signature covers @authority, and the request names no authority (Host)",
            ))
        }
        (true, Some(a)) => target
            .at(Some(a))
            .map_err(|e| malformed(format!("Host: {e}")))?,
    };
    let p = &input.params;
    if p.created > now.saturating_add(window_secs) {
        return Err(HttpSignatureError::Expired(format!(
            "created {} is more than {window_secs} s after now ({now})",
            p.created
        )));
    }
    if p.created.saturating_add(window_secs) < now {
        return Err(HttpSignatureError::Expired(format!(
            "created {} is more than {window_secs} s before now ({now})",
            p.created
        )));
    }
    if let Some(expires) = p.expires.filter(|&e| e < now) {
        return Err(HttpSignatureError::Expired(format!(
            "it expired at {expires}, before now ({now})"
        )));
    }
    if has_body && headers.content_digest.len() != 1 {
        return Err(digest_error(
            "a request with a body needs one Content-Digest header",
        ));
    }
    let key =
        resolve(&p.party_id).ok_or_else(|| HttpSignatureError::UnknownKey(p.party_id.clone()))?;
    // The digest is covered only with a body, so its header is then present once.
    let digest = headers
        .content_digest
        .first()
        .map_or("", |d| d.trim_matches([' ', '\t']));
    let signed = base(&input.components, &target, digest, &input.params_line);
    if !crypto::verify(&key, NAMESPACE, signed.as_bytes(), &signature) {
        return Err(HttpSignatureError::BadSignature(p.party_id.clone()));
    }
    let window_end = p.created.saturating_add(window_secs);
    Ok(VerifiedRequest {
        party_id: p.party_id.clone(),
        nonce: p.nonce,
        created: p.created,
        expires: p.expires,
        valid_until: p.expires.map_or(window_end, |e| e.min(window_end)),
        authority: target.authority.map(str::to_owned),
    })
}
