//! The JSON form of transactions (what the API accepts and answers): the same fields as the
//! binary form, hashes and keys in hex, unknown fields refused.

use super::fields::{field_err, parse_public_key, parse_signature};
use super::*;
use crate::crypto;
use serde_json::{json, Value};
use zkcustoms_circuits::field::{fr_from_hex, fr_to_hex};

impl Transaction {
    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let mut v = match self {
            Transaction::PublishRoot(t) => json!({
                "authority": t.authority,
                "root": fr_to_hex(&t.root),
                "sequence": t.sequence,
            }),
            Transaction::AnchorDocument(t) => json!({
                "ucr": t.ucr.as_str(),
                "doc_type": t.doc_type,
                "digest": hex::encode(t.digest),
                "reference": t.reference,
                "version": t.version,
                "supersedes": t.supersedes,
                "trader": t.trader.as_str(),
            }),
            Transaction::SubmitProof(t) => json!({
                "ucr": t.ucr.as_str(),
                "envelope": serde_json::from_str::<Value>(&t.envelope.to_json())
                    .expect("envelope JSON is JSON"),
                "trader": t.trader.as_str(),
            }),
            Transaction::MarkExamination(t) => json!({
                "ucr": t.ucr.as_str(),
                "office": t.office,
            }),
            Transaction::RegisterTrader(t) => json!({
                "office": t.office,
                "trader": t.trader.as_str(),
                "public_key": crypto::public_hex(&t.public_key),
            }),
            Transaction::RotateTraderKey(t) => json!({
                "office": t.office,
                "trader": t.trader.as_str(),
                "sequence": t.sequence,
                "public_key": crypto::public_hex(&t.public_key),
            }),
            Transaction::RevokeTrader(t) => json!({
                "office": t.office,
                "trader": t.trader.as_str(),
                "sequence": t.sequence,
            }),
            Transaction::Delegate(t) => json!({
                "owner": t.owner.as_str(),
                "delegate": t.delegate.as_str(),
                "sequence": t.sequence,
                "active": t.active,
            }),
        };
        v["type"] = self.kind().into();
        v["signature"] = hex::encode(self.signature().as_ref()).into();
        v
    }

    /// Parses and validates the JSON form (unknown fields are refused).
    pub fn from_json(value: Value) -> Result<Self, TxError> {
        let wire: Wire = serde_json::from_value(value).map_err(|e| TxError::Json(e.to_string()))?;
        let eori = |field, s: &str| Eori::parse_field(field, s);
        let tx = match wire {
            Wire::PublishRoot {
                authority,
                root,
                sequence,
                signature,
            } => Transaction::PublishRoot(PublishRoot {
                authority,
                root: fr_from_hex(&root).map_err(|e| field_err("root", e.to_string()))?,
                sequence,
                signature: parse_signature(&signature)?,
            }),
            Wire::AnchorDocument {
                ucr,
                doc_type,
                digest,
                reference,
                version,
                supersedes,
                trader,
                signature,
            } => Transaction::AnchorDocument(AnchorDocument {
                ucr: Ucr::parse(&ucr)?,
                doc_type,
                digest: parse_digest(&digest)?,
                reference,
                version,
                supersedes,
                trader: eori("trader", &trader)?,
                signature: parse_signature(&signature)?,
            }),
            Wire::SubmitProof {
                ucr,
                envelope,
                trader,
                signature,
            } => Transaction::SubmitProof(SubmitProof {
                ucr: Ucr::parse(&ucr)?,
                envelope: ProofEnvelope::from_json(&envelope.to_string())
                    .map_err(|e| field_err("envelope", e.to_string()))?,
                trader: eori("trader", &trader)?,
                signature: parse_signature(&signature)?,
            }),
            Wire::MarkExamination {
                ucr,
                office,
                signature,
            } => Transaction::MarkExamination(MarkExamination {
                ucr: Ucr::parse(&ucr)?,
                office,
                signature: parse_signature(&signature)?,
            }),
            Wire::RegisterTrader {
                office,
                trader,
                public_key,
                signature,
            } => Transaction::RegisterTrader(RegisterTrader {
                office,
                trader: eori("trader", &trader)?,
                public_key: parse_public_key(&public_key)?,
                signature: parse_signature(&signature)?,
            }),
            Wire::RotateTraderKey {
                office,
                trader,
                sequence,
                public_key,
                signature,
            } => Transaction::RotateTraderKey(RotateTraderKey {
                office,
                trader: eori("trader", &trader)?,
                sequence,
                public_key: parse_public_key(&public_key)?,
                signature: parse_signature(&signature)?,
            }),
            Wire::RevokeTrader {
                office,
                trader,
                sequence,
                signature,
            } => Transaction::RevokeTrader(RevokeTrader {
                office,
                trader: eori("trader", &trader)?,
                sequence,
                signature: parse_signature(&signature)?,
            }),
            Wire::Delegate {
                owner,
                delegate,
                sequence,
                active,
                signature,
            } => Transaction::Delegate(Delegate {
                owner: eori("owner", &owner)?,
                delegate: eori("delegate", &delegate)?,
                sequence,
                active,
                signature: parse_signature(&signature)?,
            }),
        };
        tx.check_fields()?;
        // Text fields must also fit the binary form.
        check_size(tx.to_bytes().len())?;
        Ok(tx)
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Wire {
    PublishRoot {
        authority: String,
        root: String,
        sequence: u64,
        signature: String,
    },
    AnchorDocument {
        ucr: String,
        doc_type: String,
        digest: String,
        reference: String,
        version: u32,
        #[serde(default)]
        supersedes: Option<u32>,
        trader: String,
        signature: String,
    },
    SubmitProof {
        ucr: String,
        envelope: Value,
        trader: String,
        signature: String,
    },
    MarkExamination {
        ucr: String,
        office: String,
        signature: String,
    },
    RegisterTrader {
        office: String,
        trader: String,
        public_key: String,
        signature: String,
    },
    RotateTraderKey {
        office: String,
        trader: String,
        sequence: u32,
        public_key: String,
        signature: String,
    },
    RevokeTrader {
        office: String,
        trader: String,
        sequence: u32,
        signature: String,
    },
    Delegate {
        owner: String,
        delegate: String,
        sequence: u32,
        active: bool,
        signature: String,
    },
}
