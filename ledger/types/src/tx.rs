//! Ledger transactions: what the parties submit, in a canonical binary form (hashed, stored) and a
//! JSON form (the HTTP API).
//!
//! ```text
//! transaction  = version u8 (=1) | kind u8 | body
//! publish_root      (1) = authority str16 | root [32, BE Fr] | sequence u64 | signature [64]
//! anchor_document   (2) = ucr str16 | doc type str16 | digest [32] | reference str16
//!                         | version u32 | supersedes (0 | 1 u32)
//! submit_proof      (3) = ucr str16 | envelope bytes (u32 length, canonical envelope)
//! mark_examination  (4) = ucr str16 | office str16 | signature [64]
//! ```
//!
//! A transaction's hash is the SHA-256 of its canonical bytes. Signatures (Ed25519) cover the
//! ledger's chain id (the genesis hash) and every field before the signature, under a namespace per
//! kind, so a signature is valid on one ledger and for one purpose only.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, PrivateKey, PublicKey, Signature};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use std::fmt;
use zkcustoms_circuits::field::{fr_from_hex, fr_to_be_bytes, fr_to_hex};
use zkcustoms_circuits::Fr;
use zkcustoms_verifier::ProofEnvelope;

/// A SHA-256 hash (transactions, blocks, documents).
pub type Hash = [u8; 32];

/// Version byte of the transaction encoding.
pub const TX_VERSION: u8 = 1;
/// Largest canonical transaction accepted, in bytes.
pub const MAX_TX_BYTES: usize = 4096;
/// Signature namespace of registry-root publications.
pub const PUBLISH_ROOT_NAMESPACE: &[u8] = b"zkcustoms/publish-root/v1";
/// Signature namespace of examination marks.
pub const MARK_EXAMINATION_NAMESPACE: &[u8] = b"zkcustoms/mark-examination/v1";

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Why a transaction could not be decoded or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The bytes are not a canonical transaction.
    #[error("malformed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// A field has a value that is not allowed.
    #[error("invalid {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The JSON is not a transaction.
    #[error("malformed transaction JSON: {0}")]
    Json(String),
}

fn field_err(field: &'static str, reason: impl Into<String>) -> TxError {
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

/// Checks an identifier of an authority or customs office: 1 to 64 printable ASCII characters
/// without spaces.
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

/// An AEO authority publishes the current root of its certificate registry.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishRoot {
    /// The authority, as listed in genesis and named in its certificates.
    pub authority: String,
    /// The registry's Merkle root.
    pub root: Fr,
    /// 1 for the first root, then one more for each new root.
    pub sequence: u64,
    /// The authority's signature.
    pub signature: Signature,
}

impl PublishRoot {
    /// The bytes the authority signs.
    pub fn signed_message(chain_id: &Hash, authority: &str, root: &Fr, sequence: u64) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(chain_id)
            .str16(authority)
            .fixed(&fr_to_be_bytes(root))
            .u64(sequence);
        w.finish()
    }

    /// Builds and signs a publication.
    pub fn sign(
        chain_id: &Hash,
        key: &PrivateKey,
        authority: &str,
        root: Fr,
        sequence: u64,
    ) -> Self {
        let msg = Self::signed_message(chain_id, authority, &root, sequence);
        Self {
            authority: authority.to_owned(),
            root,
            sequence,
            signature: crypto::sign(key, PUBLISH_ROOT_NAMESPACE, &msg),
        }
    }

    /// Checks the signature against the authority's key.
    pub fn verify_signature(&self, chain_id: &Hash, key: &PublicKey) -> bool {
        let msg = Self::signed_message(chain_id, &self.authority, &self.root, self.sequence);
        crypto::verify(key, PUBLISH_ROOT_NAMESPACE, &msg, &self.signature)
    }
}

/// A trader anchors the digest of an off-ledger document under a consignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorDocument {
    /// The consignment.
    pub ucr: Ucr,
    /// The kind of document (`invoice`, `declaration`, ...).
    pub doc_type: String,
    /// SHA-256 of the document (for invoices: of the canonical encoding).
    pub digest: Hash,
    /// Where the (encrypted) document is kept off-ledger.
    pub reference: String,
    /// The version: 1, then one more per amendment.
    pub version: u32,
    /// The version this one replaces (absent for version 1).
    pub supersedes: Option<u32>,
}

/// A trader submits a proof about a consignment.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmitProof {
    /// The consignment the proof is for.
    pub ucr: Ucr,
    /// The proof envelope (its scope, for aeo-status proofs, is in the public values).
    pub envelope: ProofEnvelope,
}

/// A customs office marks a declaration as under examination: no new version of its documents is
/// accepted afterwards (RKC General Annex Standard 3.27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkExamination {
    /// The consignment whose declaration is examined.
    pub ucr: Ucr,
    /// The customs office, as listed in genesis.
    pub office: String,
    /// The office's signature.
    pub signature: Signature,
}

impl MarkExamination {
    /// The bytes the office signs.
    pub fn signed_message(chain_id: &Hash, ucr: &Ucr, office: &str) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(chain_id).str16(ucr.as_str()).str16(office);
        w.finish()
    }

    /// Builds and signs a mark.
    pub fn sign(chain_id: &Hash, key: &PrivateKey, ucr: Ucr, office: &str) -> Self {
        let msg = Self::signed_message(chain_id, &ucr, office);
        Self {
            signature: crypto::sign(key, MARK_EXAMINATION_NAMESPACE, &msg),
            ucr,
            office: office.to_owned(),
        }
    }

    /// Checks the signature against the office's key.
    pub fn verify_signature(&self, chain_id: &Hash, key: &PublicKey) -> bool {
        let msg = Self::signed_message(chain_id, &self.ucr, &self.office);
        crypto::verify(key, MARK_EXAMINATION_NAMESPACE, &msg, &self.signature)
    }
}

/// A ledger transaction.
// Proofs are most of the traffic: boxing the largest variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Transaction {
    /// Publish a registry root (authority-signed).
    PublishRoot(PublishRoot),
    /// Anchor a document digest.
    AnchorDocument(AnchorDocument),
    /// Submit a proof.
    SubmitProof(SubmitProof),
    /// Mark a declaration under examination (customs-signed).
    MarkExamination(MarkExamination),
}

/// The role whose API token may submit a kind of transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An AEO authority.
    Authority,
    /// A trader.
    Trader,
    /// A customs administration.
    Customs,
    /// An auditor (read-only).
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Authority, Role::Trader, Role::Customs, Role::Auditor];

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Authority => "authority",
            Role::Trader => "trader",
            Role::Customs => "customs",
            Role::Auditor => "auditor",
        }
    }
}

impl Transaction {
    /// The kind's name in the JSON form (`publish_root`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Transaction::PublishRoot(_) => "publish_root",
            Transaction::AnchorDocument(_) => "anchor_document",
            Transaction::SubmitProof(_) => "submit_proof",
            Transaction::MarkExamination(_) => "mark_examination",
        }
    }

    /// The role allowed to submit it.
    pub fn role(&self) -> Role {
        match self {
            Transaction::PublishRoot(_) => Role::Authority,
            Transaction::AnchorDocument(_) | Transaction::SubmitProof(_) => Role::Trader,
            Transaction::MarkExamination(_) => Role::Customs,
        }
    }

    /// The consignment it concerns, if any.
    pub fn ucr(&self) -> Option<&Ucr> {
        match self {
            Transaction::PublishRoot(_) => None,
            Transaction::AnchorDocument(a) => Some(&a.ucr),
            Transaction::SubmitProof(p) => Some(&p.ucr),
            Transaction::MarkExamination(m) => Some(&m.ucr),
        }
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(TX_VERSION);
        match self {
            Transaction::PublishRoot(t) => {
                w.u8(1)
                    .str16(&t.authority)
                    .fixed(&fr_to_be_bytes(&t.root))
                    .u64(t.sequence)
                    .fixed(t.signature.as_ref());
            }
            Transaction::AnchorDocument(t) => {
                w.u8(2)
                    .str16(t.ucr.as_str())
                    .str16(&t.doc_type)
                    .fixed(&t.digest)
                    .str16(&t.reference)
                    .u32(t.version)
                    .option(t.supersedes, |w, v| {
                        w.u32(v);
                    });
            }
            Transaction::SubmitProof(t) => {
                w.u8(3).str16(t.ucr.as_str()).bytes(&t.envelope.to_bytes());
            }
            Transaction::MarkExamination(t) => {
                w.u8(4)
                    .str16(t.ucr.as_str())
                    .str16(&t.office)
                    .fixed(t.signature.as_ref());
            }
        }
        w.finish()
    }

    /// The transaction's hash: SHA-256 of its canonical bytes.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_bytes())
    }

    /// Decodes canonical bytes with full validation (field syntax, envelope points, exact length).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TxError> {
        check_size(bytes.len())?;
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != TX_VERSION {
            return Err(field_err("version", format!("unknown version {version}")));
        }
        let tx = match r.u8("kind")? {
            1 => {
                let authority = r.str16("authority", 64)?.to_owned();
                let root = zkcustoms_circuits::field::fr_from_be_bytes(&r.array("root")?)
                    .map_err(|_| field_err("root", "not a canonical field element"))?;
                let sequence = r.u64("sequence")?;
                let signature = crypto::read_signature(&mut r, "signature")?;
                Transaction::PublishRoot(PublishRoot {
                    authority,
                    root,
                    sequence,
                    signature,
                })
            }
            2 => {
                let ucr = Ucr::parse(r.str16("ucr", Ucr::MAX_LEN)?)?;
                let doc_type = r.str16("doc_type", 32)?.to_owned();
                let digest = r.array("digest")?;
                let reference = r.str16("reference", 256)?.to_owned();
                let version = r.u32("version")?;
                let supersedes = r.option("supersedes", |r| r.u32("supersedes"))?;
                Transaction::AnchorDocument(AnchorDocument {
                    ucr,
                    doc_type,
                    digest,
                    reference,
                    version,
                    supersedes,
                })
            }
            3 => {
                let ucr = Ucr::parse(r.str16("ucr", Ucr::MAX_LEN)?)?;
                let envelope = ProofEnvelope::from_bytes(r.bytes("envelope", MAX_TX_BYTES)?)
                    .map_err(|e| field_err("envelope", e.to_string()))?;
                Transaction::SubmitProof(SubmitProof { ucr, envelope })
            }
            4 => {
                let ucr = Ucr::parse(r.str16("ucr", Ucr::MAX_LEN)?)?;
                let office = r.str16("office", 64)?.to_owned();
                let signature = crypto::read_signature(&mut r, "signature")?;
                Transaction::MarkExamination(MarkExamination {
                    ucr,
                    office,
                    signature,
                })
            }
            k => return Err(field_err("kind", format!("unknown transaction kind {k}"))),
        };
        r.finish()?;
        tx.check_fields()?;
        Ok(tx)
    }

    /// The field rules both decoders apply: party ids, document type, reference, versions.
    /// (UCRs are checked when parsed, envelopes when decoded.)
    fn check_fields(&self) -> Result<(), TxError> {
        match self {
            Transaction::PublishRoot(t) => check_party_id("authority", &t.authority),
            Transaction::AnchorDocument(t) => {
                check_doc_type(&t.doc_type)?;
                check_reference(&t.reference)?;
                check_versions(t)
            }
            Transaction::SubmitProof(_) => Ok(()),
            Transaction::MarkExamination(t) => check_party_id("office", &t.office),
        }
    }

    /// The JSON form (what the API accepts and answers).
    pub fn to_json(&self) -> Value {
        match self {
            Transaction::PublishRoot(t) => json!({
                "type": "publish_root",
                "authority": t.authority,
                "root": fr_to_hex(&t.root),
                "sequence": t.sequence,
                "signature": hex::encode(t.signature.as_ref()),
            }),
            Transaction::AnchorDocument(t) => json!({
                "type": "anchor_document",
                "ucr": t.ucr.as_str(),
                "doc_type": t.doc_type,
                "digest": hex::encode(t.digest),
                "reference": t.reference,
                "version": t.version,
                "supersedes": t.supersedes,
            }),
            Transaction::SubmitProof(t) => json!({
                "type": "submit_proof",
                "ucr": t.ucr.as_str(),
                "envelope": serde_json::from_str::<Value>(&t.envelope.to_json())
                    .expect("envelope JSON is JSON"),
            }),
            Transaction::MarkExamination(t) => json!({
                "type": "mark_examination",
                "ucr": t.ucr.as_str(),
                "office": t.office,
                "signature": hex::encode(t.signature.as_ref()),
            }),
        }
    }

    /// Parses and validates the JSON form (unknown fields are refused).
    pub fn from_json(value: Value) -> Result<Self, TxError> {
        let wire: Wire = serde_json::from_value(value).map_err(|e| TxError::Json(e.to_string()))?;
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
            } => Transaction::AnchorDocument(AnchorDocument {
                ucr: Ucr::parse(&ucr)?,
                doc_type,
                digest: parse_digest(&digest)?,
                reference,
                version,
                supersedes,
            }),
            Wire::SubmitProof { ucr, envelope } => Transaction::SubmitProof(SubmitProof {
                ucr: Ucr::parse(&ucr)?,
                envelope: ProofEnvelope::from_json(&envelope.to_string())
                    .map_err(|e| field_err("envelope", e.to_string()))?,
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
        };
        tx.check_fields()?;
        // Text fields must also fit the binary form.
        check_size(tx.to_bytes().len())?;
        Ok(tx)
    }
}

fn check_size(len: usize) -> Result<(), TxError> {
    if len > MAX_TX_BYTES {
        return Err(field_err(
            "transaction",
            format!("{len} bytes, at most {MAX_TX_BYTES}"),
        ));
    }
    Ok(())
}

/// Version 1 supersedes nothing; version n > 1 supersedes n - 1.
fn check_versions(a: &AnchorDocument) -> Result<(), TxError> {
    match (a.version, a.supersedes) {
        (0, _) => Err(field_err("version", "versions start at 1")),
        (1, None) => Ok(()),
        (1, Some(_)) => Err(field_err("supersedes", "version 1 supersedes nothing")),
        (v, Some(s)) if s == v - 1 => Ok(()),
        (v, _) => Err(field_err(
            "supersedes",
            format!("version {v} must supersede version {}", v - 1),
        )),
    }
}

fn parse_signature(s: &str) -> Result<Signature, TxError> {
    let bytes = hex::decode(s).map_err(|_| field_err("signature", "not hex"))?;
    crypto::signature_from_bytes(&bytes).map_err(|e| field_err("signature", e))
}

/// Parses a 32-byte hex digest.
pub fn parse_digest(s: &str) -> Result<Hash, TxError> {
    let bytes = hex::decode(s).map_err(|_| field_err("digest", "not hex"))?;
    bytes
        .try_into()
        .map_err(|_| field_err("digest", "must be 32 bytes (64 hex digits)"))
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
    },
    SubmitProof {
        ucr: String,
        envelope: Value,
    },
    MarkExamination {
        ucr: String,
        office: String,
        signature: String,
    },
}

/// Key of a document version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentKey {
    /// The consignment.
    pub ucr: Ucr,
    /// The document type.
    pub doc_type: String,
    /// The version.
    pub version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain() -> Hash {
        sha256(b"test chain")
    }

    pub(crate) fn samples() -> Vec<Transaction> {
        let authority = crypto::generate();
        let office = crypto::generate();
        vec![
            Transaction::PublishRoot(PublishRoot::sign(
                &chain(),
                &authority,
                "DE-GZD",
                Fr::from(12345u64),
                1,
            )),
            Transaction::AnchorDocument(AnchorDocument {
                ucr: Ucr::parse("6DE123456789012345-2026-00042").unwrap(),
                doc_type: "invoice".into(),
                digest: sha256(b"invoice"),
                reference: "vault://invoices/INV-1".into(),
                version: 2,
                supersedes: Some(1),
            }),
            Transaction::MarkExamination(MarkExamination::sign(
                &chain(),
                &office,
                Ucr::parse("UCR-1").unwrap(),
                "DE-HAMBURG-HAFEN",
            )),
        ]
    }

    #[test]
    fn binary_and_json_round_trip() {
        for tx in samples() {
            let bytes = tx.to_bytes();
            assert_eq!(Transaction::from_bytes(&bytes).unwrap(), tx);
            assert_eq!(Transaction::from_json(tx.to_json()).unwrap(), tx);
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Transaction::from_bytes(&longer).is_err());
            assert!(Transaction::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        }
    }

    #[test]
    fn signatures_bind_chain_and_fields() {
        let key = crypto::generate();
        let t = PublishRoot::sign(&chain(), &key, "DE-GZD", Fr::from(7u64), 3);
        let public = crypto::public_of(&key);
        assert!(t.verify_signature(&chain(), &public));
        assert!(!t.verify_signature(&sha256(b"other chain"), &public));
        let mut moved = t.clone();
        moved.sequence = 4;
        assert!(!moved.verify_signature(&chain(), &public));
        assert!(!t.verify_signature(&chain(), &crypto::public_of(&crypto::generate())));
    }

    #[test]
    fn bad_fields_are_refused() {
        assert!(Ucr::parse("").is_err());
        assert!(Ucr::parse("lower-case").is_err());
        assert!(Ucr::parse(&"A".repeat(36)).is_err());
        assert!(Ucr::parse("-LEADING").is_err());
        let mut json = samples()[1].to_json();
        json["supersedes"] = Value::from(5);
        assert!(matches!(
            Transaction::from_json(json.clone()),
            Err(TxError::Field {
                field: "supersedes",
                ..
            })
        ));
        json["supersedes"] = Value::from(1);
        json["extra"] = Value::from(1);
        assert!(matches!(
            Transaction::from_json(json),
            Err(TxError::Json(_))
        ));
        let mut json = samples()[0].to_json();
        json["signature"] = Value::from("00");
        assert!(matches!(
            Transaction::from_json(json),
            Err(TxError::Field {
                field: "signature",
                ..
            })
        ));
        assert!(Transaction::from_json(json!({"type": "mint", "amount": 1})).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Transaction::from_bytes(&bytes);
        }

        #[test]
        fn mutated_encodings_never_panic(i in 0usize..200, b in any::<u8>()) {
            for tx in samples() {
                let mut bytes = tx.to_bytes();
                let n = bytes.len();
                bytes[i % n] = b;
                if let Ok(back) = Transaction::from_bytes(&bytes) {
                    prop_assert_eq!(back.to_bytes(), bytes);
                }
            }
        }
    }
}
