//! The typed JSON bodies of a ledger node's `/v1` API, shared by the server and every client, so
//! that the contract is written once.
//!
//! Hashes travel as 64 lower-case hex digits without a prefix ([`parse_hash`] is the one parser).

use crate::tx::Hash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest wait a status query may ask for, in milliseconds.
pub const MAX_WAIT_MS: u64 = 30_000;

/// Parses a hash: exactly 64 hex digits (either case), nothing else.
pub fn parse_hash(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

/// Serde for a [`Hash`] as 64 hex digits.
pub mod hex_hash {
    use super::*;

    /// Writes the hash as hex.
    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    /// Reads 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        parse_hash(&s).ok_or_else(|| serde::de::Error::custom("a hash is 64 hex digits"))
    }
}

/// An error answer: `{"error": code, "message": text}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable code (for a refused transaction: the rule).
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

/// The answer to `POST /v1/transactions`: the transaction is in the mempool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The transaction's hash.
    #[serde(with = "hex_hash")]
    pub hash: Hash,
    /// Always `pending`.
    pub status: TxStatusKind,
}

/// The kind of a transaction's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatusKind {
    /// Finalized in a block.
    Included,
    /// Waiting in the mempool.
    Pending,
    /// Refused.
    Rejected,
    /// Never seen by this node (or forgotten).
    Unknown,
}

/// The answer to `GET /v1/transactions/{hash}`: where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxState {
    /// The transaction's hash.
    #[serde(with = "hex_hash")]
    pub hash: Hash,
    /// Where it stands.
    pub status: TxStatusKind,
    /// Height of its block, when included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Index in its block, when included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Hash of its block, when included.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hex_hash"
    )]
    pub block: Option<Hash>,
    /// Why it was refused, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ErrorBody>,
}

mod opt_hex_hash {
    use super::*;

    pub fn serialize<S: Serializer>(h: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&hex::encode(h)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Hash>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                parse_hash(&s).ok_or_else(|| serde::de::Error::custom("a hash is 64 hex digits"))
            })
            .transpose()
    }
}

impl TxState {
    /// A status without block details.
    pub fn new(hash: Hash, status: TxStatusKind) -> Self {
        Self {
            hash,
            status,
            height: None,
            index: None,
            block: None,
            reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hashes_are_exactly_64_hex_digits() {
        assert_eq!(parse_hash(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hash(&"AB".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hash(&format!("0x{}", "ab".repeat(31))), None);
        assert_eq!(parse_hash(&"ab".repeat(31)), None);
        assert_eq!(parse_hash(&"zz".repeat(32)), None);
    }

    #[test]
    fn statuses_have_the_documented_shape() {
        let mut included = TxState::new([1; 32], TxStatusKind::Included);
        included.height = Some(3);
        included.index = Some(0);
        included.block = Some([2; 32]);
        let v = serde_json::to_value(&included).unwrap();
        assert_eq!(
            v,
            json!({"hash": "01".repeat(32), "status": "included", "height": 3, "index": 0,
                   "block": "02".repeat(32)})
        );
        assert_eq!(serde_json::from_value::<TxState>(v).unwrap(), included);
        let pending = serde_json::to_value(TxState::new([1; 32], TxStatusKind::Pending)).unwrap();
        assert_eq!(
            pending,
            json!({"hash": "01".repeat(32), "status": "pending"})
        );
        let bad = json!({"hash": "01", "status": "pending"});
        assert!(serde_json::from_value::<TxState>(bad).is_err());
        let submitted: Submitted =
            serde_json::from_value(json!({"hash": "01".repeat(32), "status": "pending"})).unwrap();
        assert_eq!(submitted.hash, [1; 32]);
    }
}
