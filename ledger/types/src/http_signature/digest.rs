//! The body's digest a signed request covers: the `Content-Digest` header (RFC 9530, sha-256).

use super::{sfv, HttpSignatureError, MAX_HEADER_LEN};
use sfv::{Bare, Member};

pub(super) fn digest_error(why: impl Into<String>) -> HttpSignatureError {
    HttpSignatureError::ContentDigestMismatch(why.into())
}

/// The `Content-Digest` header value of a body (RFC 9530): `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256={}", sfv::serialize_bytes(&crate::tx::sha256(body)))
}

/// Checks the `Content-Digest` field lines of a request against its body. The header must be
/// present once when the body is not empty; when present it must be a dictionary of byte
/// sequences with exactly one `sha-256` member equal to the body's SHA-256 (members for other
/// algorithms are ignored, as RFC 9530 allows).
pub fn verify_content_digest(field_lines: &[&str], body: &[u8]) -> Result<(), HttpSignatureError> {
    let line = match field_lines {
        [] if body.is_empty() => return Ok(()),
        [] => return Err(digest_error("the request has a body but no Content-Digest")),
        [line] => *line,
        _ => return Err(digest_error("Content-Digest appears more than once")),
    };
    if line.len() > MAX_HEADER_LEN {
        return Err(digest_error(format!(
            "Content-Digest is longer than {MAX_HEADER_LEN} bytes"
        )));
    }
    let dict = sfv::parse_dictionary(line)
        .map_err(|e| digest_error(format!("Content-Digest is malformed: {e}")))?;
    let mut sha256 = None;
    for (key, member) in &dict {
        let Member::Item(Bare::Bytes(bytes), params) = member else {
            return Err(digest_error(
                "Content-Digest members must be byte sequences",
            ));
        };
        if !params.is_empty() {
            return Err(digest_error("Content-Digest members take no parameters"));
        }
        if key == "sha-256" {
            sha256 = Some(bytes);
        }
    }
    let expected = sha256.ok_or_else(|| digest_error("Content-Digest has no sha-256 member"))?;
    if expected.as_slice() != crate::tx::sha256(body) {
        return Err(digest_error("the body does not match its sha-256 digest"));
    }
    Ok(())
}
