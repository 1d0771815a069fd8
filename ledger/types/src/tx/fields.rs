//! The syntax of transaction fields: consignment references, party ids, document types and
//! references, digests and signatures in their text forms.

use super::{Hash, TxError};
use crate::crypto::{self, PublicKey, Signature};
use std::fmt;

pub(crate) fn field_err(field: &'static str, reason: impl Into<String>) -> TxError {
    TxError::Field {
        field,
        reason: reason.into(),
    }
}

/// A unique consignment reference (WCO UCR): 1 to 35 characters, upper-case letters, digits and
/// `-`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ucr(String);

impl Ucr {
    /// Longest UCR.
    pub const MAX_LEN: usize = 35;

    /// Checks and wraps a UCR.
    pub fn parse(s: &str) -> Result<Self, TxError> {
        let ok_char = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-';
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(field_err(
                "ucr",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !s.chars().all(ok_char) || s.starts_with('-') {
            return Err(field_err(
                "ucr",
                "only A-Z, 0-9 and '-' are allowed, starting with a letter or digit",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The UCR as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ucr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A trader's party id: its EORI number (Economic Operators Registration and Identification),
/// a two-letter country code followed by 1 to 15 upper-case letters or digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Eori(String);

impl Eori {
    /// Longest EORI number.
    pub const MAX_LEN: usize = 17;

    /// Checks and wraps an EORI number; `field` names it in the error.
    pub fn parse_field(field: &'static str, s: &str) -> Result<Self, TxError> {
        let b = s.as_bytes();
        let ok = (3..=Self::MAX_LEN).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !ok {
            return Err(field_err(
                field,
                "an EORI number is a two-letter country code and 1 to 15 upper-case letters or \
                 digits (e.g. DE123456789012345)",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Checks and wraps an EORI number.
    pub fn parse(s: &str) -> Result<Self, TxError> {
        Self::parse_field("trader", s)
    }

    /// The EORI number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Eori {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an identifier of an authority, customs office, administration or auditor: 1 to 64
/// printable ASCII characters without spaces.
pub fn check_party_id(field: &'static str, s: &str) -> Result<(), TxError> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(field_err(
            field,
            "must be 1 to 64 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

/// Checks a document type: 1 to 32 characters, lower-case letters, digits and `-`.
pub fn check_doc_type(s: &str) -> Result<(), TxError> {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if s.is_empty() || s.len() > 32 || !s.bytes().all(ok) {
        return Err(field_err(
            "doc_type",
            "must be 1 to 32 characters: a-z, 0-9 and '-' (e.g. invoice, declaration)",
        ));
    }
    Ok(())
}

/// Checks an off-ledger reference: 1 to 256 printable ASCII characters (a URI, an archive id).
pub fn check_reference(s: &str) -> Result<(), TxError> {
    if s.is_empty() || s.len() > 256 || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(field_err(
            "reference",
            "must be 1 to 256 printable ASCII characters",
        ));
    }
    Ok(())
}

pub(crate) fn parse_signature(s: &str) -> Result<Signature, TxError> {
    let bytes = hex::decode(s).map_err(|_| field_err("signature", "not hex"))?;
    crypto::signature_from_bytes(&bytes).map_err(|e| field_err("signature", e))
}

pub(crate) fn parse_public_key(s: &str) -> Result<PublicKey, TxError> {
    crypto::public_from_hex(s).map_err(|e| field_err("public_key", e))
}

/// Parses a 32-byte hex digest.
pub fn parse_digest(s: &str) -> Result<Hash, TxError> {
    let bytes = hex::decode(s).map_err(|_| field_err("digest", "not hex"))?;
    bytes
        .try_into()
        .map_err(|_| field_err("digest", "must be 32 bytes (64 hex digits)"))
}
