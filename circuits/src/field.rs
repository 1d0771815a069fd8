//! Field-element encodings shared by the statements: canonical big-endian hex, ASCII packing,
//! and hashing of free-form strings to field elements.

use crate::Fr;
use ark_ff::{BigInteger, PrimeField};
use sha2::{Digest, Sha256};

/// Why a value could not be turned into a field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// Not 64 hexadecimal digits.
    #[error("expected 64 hexadecimal digits (32 bytes)")]
    BadHex,
    /// The number is not below the BLS12-381 scalar field modulus.
    #[error("value is not a canonical field element (not below the scalar field modulus)")]
    NotCanonical,
    /// The text is empty, too long, or not printable ASCII.
    #[error("text must be 1 to 31 printable ASCII characters")]
    BadText,
}

/// Parses 32 big-endian bytes as hex into a field element, refusing non-canonical values.
pub fn fr_from_hex(s: &str) -> Result<Fr, FieldError> {
    let bytes = hex::decode(s).map_err(|_| FieldError::BadHex)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| FieldError::BadHex)?;
    fr_from_be_bytes(&bytes)
}

/// Interprets 32 big-endian bytes as a field element, refusing non-canonical values.
pub fn fr_from_be_bytes(bytes: &[u8; 32]) -> Result<Fr, FieldError> {
    let x = Fr::from_be_bytes_mod_order(bytes);
    if fr_to_be_bytes(&x) != *bytes {
        return Err(FieldError::NotCanonical);
    }
    Ok(x)
}

/// The canonical 32-byte big-endian encoding of a field element.
pub fn fr_to_be_bytes(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_be());
    out
}

/// Canonical big-endian hex of a field element (64 digits).
pub fn fr_to_hex(x: &Fr) -> String {
    hex::encode(fr_to_be_bytes(x))
}

/// Packs 1 to 31 printable ASCII characters into a field element (big-endian, injective).
pub fn pack_ascii(s: &str) -> Result<Fr, FieldError> {
    if s.is_empty() || s.len() > 31 || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(FieldError::BadText);
    }
    Ok(Fr::from_be_bytes_mod_order(s.as_bytes()))
}

/// Hashes an arbitrary string into a field element under a label (SHA-256, reduced).
///
/// Used for verifier scopes, which are free-form (a session challenge, a programme).
pub fn hash_to_field(label: &str, s: &str) -> Fr {
    let mut h = Sha256::new();
    h.update((label.len() as u64).to_be_bytes());
    h.update(label.as_bytes());
    h.update(s.as_bytes());
    Fr::from_be_bytes_mod_order(&h.finalize())
}

/// Splits a SHA-256 digest into two field elements: the high and the low 128 bits.
pub fn digest_to_fields(digest: &[u8; 32]) -> [Fr; 2] {
    [
        Fr::from_be_bytes_mod_order(&digest[..16]),
        Fr::from_be_bytes_mod_order(&digest[16..]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_refusals() {
        let x = Fr::from(123456789u64);
        assert_eq!(fr_from_hex(&fr_to_hex(&x)).unwrap(), x);
        assert_eq!(fr_from_hex("00"), Err(FieldError::BadHex));
        assert_eq!(fr_from_hex(&"zz".repeat(32)), Err(FieldError::BadHex));
        assert_eq!(fr_from_hex(&"ff".repeat(32)), Err(FieldError::NotCanonical));
    }

    #[test]
    fn ascii_packing_is_injective_and_bounded() {
        assert_ne!(pack_ascii("DE").unwrap(), pack_ascii("ED").unwrap());
        assert!(pack_ascii("").is_err());
        assert!(pack_ascii(&"x".repeat(32)).is_err());
        assert!(pack_ascii("tab\there").is_err());
        assert!(pack_ascii(&"x".repeat(31)).is_ok());
    }
}
