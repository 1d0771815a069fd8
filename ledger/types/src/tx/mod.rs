//! Ledger transactions: what the parties submit, in a canonical binary form (hashed, stored) and a
//! JSON form (the HTTP API). Every transaction is signed by the party it names.
//!
//! ```text
//! transaction = version u8 (=2) | kind u8 | body | signature [64]
//! publish_root       (1) = authority str16 | root [32, BE Fr] | sequence u64
//! anchor_document    (2) = ucr str16 | doc type str16 | digest [32] | reference str16
//!                          | version u32 | supersedes (0 | 1 u32) | trader str16
//! submit_proof       (3) = ucr str16 | envelope bytes (u32 length, canonical envelope)
//!                          | trader str16
//! mark_examination   (4) = ucr str16 | office str16
//! register_trader    (5) = office str16 | trader str16 | public key [32]
//! rotate_trader_key  (6) = office str16 | trader str16 | sequence u32 | public key [32]
//! revoke_trader      (7) = office str16 | trader str16 | sequence u32
//! delegate           (8) = owner str16 | delegate str16 | sequence u32 | active u8 (0 | 1)
//! ```
//!
//! A transaction's hash is the SHA-256 of its canonical bytes. The signature (Ed25519) is the
//! signer's over the ledger's chain id (the genesis hash) followed by every byte before the
//! signature, under a namespace per kind ([`Transaction::namespace`]), so a signature is valid on
//! one ledger, for one kind and for these exact fields only. The signer is the authority of a
//! root, the office of a mark or a trader-key change, the trader of an anchor or a proof (the
//! consignment's owner or a delegate), the owner of a delegation.

mod fields;
mod json;
mod peek;
#[cfg(test)]
mod tests;

pub use fields::{check_doc_type, check_party_id, check_reference, parse_digest, Eori, Ucr};
pub use peek::{peek, Peeked, SignerKind};

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, PrivateKey, PublicKey, Signature};
use fields::field_err;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zkcustoms_circuits::field::fr_to_be_bytes;
use zkcustoms_circuits::Fr;
use zkcustoms_verifier::ProofEnvelope;

/// A SHA-256 hash (transactions, blocks, documents).
pub type Hash = [u8; 32];

/// Version byte of the transaction encoding.
pub const TX_VERSION: u8 = 2;
/// Largest canonical transaction accepted, in bytes.
pub const MAX_TX_BYTES: usize = 4096;

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Domain of the scopes of aeo-status proofs filed on a ledger.
pub const LEDGER_SCOPE_DOMAIN: &str = "zkcustoms/ledger-scope/v1";

/// The scope an aeo-status proof filed under `ucr` on the ledger `chain_id` must carry: the
/// domain, then the hex SHA-256 of the domain, the chain id and the UCR. A proof made for one
/// consignment on one ledger therefore names neither another consignment nor another ledger, and
/// its nullifier is the holder's for this consignment only.
pub fn ledger_scope(chain_id: &Hash, ucr: &Ucr) -> String {
    let mut w = Writer::new();
    w.str16(LEDGER_SCOPE_DOMAIN)
        .fixed(chain_id)
        .str16(ucr.as_str());
    format!("{LEDGER_SCOPE_DOMAIN}:{}", hex::encode(sha256(&w.finish())))
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

/// An AEO authority publishes the current root of its certificate registry.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishRoot {
    /// The authority, as listed in genesis and named in its certificates (the signer).
    pub authority: String,
    /// The registry's Merkle root.
    pub root: Fr,
    /// 1 for the first root, then one more for each new root.
    pub sequence: u64,
    /// The authority's signature.
    pub signature: Signature,
}

impl PublishRoot {
    /// Builds and signs a publication.
    pub fn sign(
        chain_id: &Hash,
        key: &PrivateKey,
        authority: &str,
        root: Fr,
        sequence: u64,
    ) -> Self {
        let tx = Transaction::PublishRoot(Self {
            authority: authority.to_owned(),
            root,
            sequence,
            signature: crypto::unsigned(),
        });
        match tx.signed(chain_id, key) {
            Transaction::PublishRoot(t) => t,
            _ => unreachable!("signing keeps the kind"),
        }
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
    /// The signing trader: the consignment's owner or one of its delegates.
    pub trader: Eori,
    /// The trader's signature.
    pub signature: Signature,
}

/// A trader submits a proof about a consignment.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmitProof {
    /// The consignment the proof is for.
    pub ucr: Ucr,
    /// The proof envelope (its scope, for aeo-status proofs, is in the public values).
    pub envelope: ProofEnvelope,
    /// The signing trader: the consignment's owner or one of its delegates.
    pub trader: Eori,
    /// The trader's signature.
    pub signature: Signature,
}

/// A customs office marks a declaration as under examination: no new version of its documents is
/// accepted afterwards (RKC General Annex Standard 3.27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkExamination {
    /// The consignment whose declaration is examined.
    pub ucr: Ucr,
    /// The customs office, as listed in genesis (the signer).
    pub office: String,
    /// The office's signature.
    pub signature: Signature,
}

impl MarkExamination {
    /// Builds and signs a mark.
    pub fn sign(chain_id: &Hash, key: &PrivateKey, ucr: Ucr, office: &str) -> Self {
        let tx = Transaction::MarkExamination(Self {
            ucr,
            office: office.to_owned(),
            signature: crypto::unsigned(),
        });
        match tx.signed(chain_id, key) {
            Transaction::MarkExamination(t) => t,
            _ => unreachable!("signing keeps the kind"),
        }
    }
}

/// A customs office registers a trader's key on the ledger; the office's administration vouches
/// for the trader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterTrader {
    /// The registering office, as listed in genesis (the signer).
    pub office: String,
    /// The trader.
    pub trader: Eori,
    /// The trader's Ed25519 public key.
    pub public_key: PublicKey,
    /// The office's signature.
    pub signature: Signature,
}

/// An office of the administration that vouches for a trader replaces the trader's key (also
/// reinstating a revoked trader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotateTraderKey {
    /// The office (the signer).
    pub office: String,
    /// The trader.
    pub trader: Eori,
    /// The trader's next key sequence: one more than the latest (registration is 1).
    pub sequence: u32,
    /// The new public key.
    pub public_key: PublicKey,
    /// The office's signature.
    pub signature: Signature,
}

/// An office of the administration that vouches for a trader revokes the trader's key: nothing
/// signed by the trader is accepted until a rotation gives it a new key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeTrader {
    /// The office (the signer).
    pub office: String,
    /// The trader.
    pub trader: Eori,
    /// The trader's next key sequence.
    pub sequence: u32,
    /// The office's signature.
    pub signature: Signature,
}

/// A consignment owner lets another registered trader (a customs broker, a forwarder) act for it
/// on all its consignments, or withdraws that delegation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegate {
    /// The owner (the signer).
    pub owner: Eori,
    /// The trader who may act for the owner.
    pub delegate: Eori,
    /// 1 for the pair's first delegation change, then one more per change.
    pub sequence: u32,
    /// True to grant, false to withdraw.
    pub active: bool,
    /// The owner's signature.
    pub signature: Signature,
}

/// A ledger transaction.
// Proofs are most of the traffic: boxing the largest variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Transaction {
    /// Publish a registry root (authority-signed).
    PublishRoot(PublishRoot),
    /// Anchor a document digest (trader-signed).
    AnchorDocument(AnchorDocument),
    /// Submit a proof (trader-signed).
    SubmitProof(SubmitProof),
    /// Mark a declaration under examination (office-signed).
    MarkExamination(MarkExamination),
    /// Register a trader's key (office-signed).
    RegisterTrader(RegisterTrader),
    /// Replace a trader's key (office-signed).
    RotateTraderKey(RotateTraderKey),
    /// Revoke a trader's key (office-signed).
    RevokeTrader(RevokeTrader),
    /// Grant or withdraw a delegation (owner-signed).
    Delegate(Delegate),
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

/// Who signs a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer<'a> {
    /// An AEO authority listed in genesis.
    Authority(&'a str),
    /// A customs office listed in genesis.
    Office(&'a str),
    /// A trader registered on the ledger.
    Trader(&'a Eori),
}

impl<'a> Signer<'a> {
    /// The signer's party id.
    pub fn id(&self) -> &'a str {
        match self {
            Signer::Authority(s) | Signer::Office(s) => s,
            Signer::Trader(e) => e.as_str(),
        }
    }
}

/// Every kind of transaction: (kind byte, JSON name, signature namespace).
pub const KINDS: [(u8, &str, &[u8]); 8] = [
    (1, "publish_root", b"zkcustoms/tx/publish-root/v2"),
    (2, "anchor_document", b"zkcustoms/tx/anchor-document/v2"),
    (3, "submit_proof", b"zkcustoms/tx/submit-proof/v2"),
    (4, "mark_examination", b"zkcustoms/tx/mark-examination/v2"),
    (5, "register_trader", b"zkcustoms/tx/register-trader/v2"),
    (6, "rotate_trader_key", b"zkcustoms/tx/rotate-trader-key/v2"),
    (7, "revoke_trader", b"zkcustoms/tx/revoke-trader/v2"),
    (8, "delegate", b"zkcustoms/tx/delegate/v2"),
];

impl Transaction {
    fn kind_byte(&self) -> u8 {
        match self {
            Transaction::PublishRoot(_) => 1,
            Transaction::AnchorDocument(_) => 2,
            Transaction::SubmitProof(_) => 3,
            Transaction::MarkExamination(_) => 4,
            Transaction::RegisterTrader(_) => 5,
            Transaction::RotateTraderKey(_) => 6,
            Transaction::RevokeTrader(_) => 7,
            Transaction::Delegate(_) => 8,
        }
    }

    /// The kind's name in the JSON form (`publish_root`, ...).
    pub fn kind(&self) -> &'static str {
        KINDS[usize::from(self.kind_byte()) - 1].1
    }

    /// The signature namespace of the kind.
    pub fn namespace(&self) -> &'static [u8] {
        KINDS[usize::from(self.kind_byte()) - 1].2
    }

    /// The role whose API token may submit it.
    pub fn role(&self) -> Role {
        match self {
            Transaction::PublishRoot(_) => Role::Authority,
            Transaction::AnchorDocument(_)
            | Transaction::SubmitProof(_)
            | Transaction::Delegate(_) => Role::Trader,
            Transaction::MarkExamination(_)
            | Transaction::RegisterTrader(_)
            | Transaction::RotateTraderKey(_)
            | Transaction::RevokeTrader(_) => Role::Customs,
        }
    }

    /// Who signs it.
    pub fn signer(&self) -> Signer<'_> {
        match self {
            Transaction::PublishRoot(t) => Signer::Authority(&t.authority),
            Transaction::AnchorDocument(t) => Signer::Trader(&t.trader),
            Transaction::SubmitProof(t) => Signer::Trader(&t.trader),
            Transaction::MarkExamination(t) => Signer::Office(&t.office),
            Transaction::RegisterTrader(t) => Signer::Office(&t.office),
            Transaction::RotateTraderKey(t) => Signer::Office(&t.office),
            Transaction::RevokeTrader(t) => Signer::Office(&t.office),
            Transaction::Delegate(t) => Signer::Trader(&t.owner),
        }
    }

    /// The trader whose key a registration, rotation or revocation changes.
    pub fn registered_trader(&self) -> Option<&Eori> {
        match self {
            Transaction::RegisterTrader(t) => Some(&t.trader),
            Transaction::RotateTraderKey(t) => Some(&t.trader),
            Transaction::RevokeTrader(t) => Some(&t.trader),
            _ => None,
        }
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        match self {
            Transaction::PublishRoot(t) => &t.signature,
            Transaction::AnchorDocument(t) => &t.signature,
            Transaction::SubmitProof(t) => &t.signature,
            Transaction::MarkExamination(t) => &t.signature,
            Transaction::RegisterTrader(t) => &t.signature,
            Transaction::RotateTraderKey(t) => &t.signature,
            Transaction::RevokeTrader(t) => &t.signature,
            Transaction::Delegate(t) => &t.signature,
        }
    }

    fn signature_mut(&mut self) -> &mut Signature {
        match self {
            Transaction::PublishRoot(t) => &mut t.signature,
            Transaction::AnchorDocument(t) => &mut t.signature,
            Transaction::SubmitProof(t) => &mut t.signature,
            Transaction::MarkExamination(t) => &mut t.signature,
            Transaction::RegisterTrader(t) => &mut t.signature,
            Transaction::RotateTraderKey(t) => &mut t.signature,
            Transaction::RevokeTrader(t) => &mut t.signature,
            Transaction::Delegate(t) => &mut t.signature,
        }
    }

    /// The consignment it concerns, if any.
    pub fn ucr(&self) -> Option<&Ucr> {
        match self {
            Transaction::AnchorDocument(a) => Some(&a.ucr),
            Transaction::SubmitProof(p) => Some(&p.ucr),
            Transaction::MarkExamination(m) => Some(&m.ucr),
            _ => None,
        }
    }

    /// The bytes the signer signs: the chain id, then every canonical byte before the signature.
    pub fn signed_message(&self, chain_id: &Hash) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(chain_id);
        self.write_unsigned(&mut w);
        w.finish()
    }

    /// Signs the transaction with `key` on the ledger `chain_id` (replacing any signature).
    pub fn signed(mut self, chain_id: &Hash, key: &PrivateKey) -> Self {
        let sig = crypto::sign(key, self.namespace(), &self.signed_message(chain_id));
        *self.signature_mut() = sig;
        self
    }

    /// Checks the signature against the signer's key on the ledger `chain_id`.
    pub fn verify_signature(&self, chain_id: &Hash, key: &PublicKey) -> bool {
        crypto::verify(
            key,
            self.namespace(),
            &self.signed_message(chain_id),
            self.signature(),
        )
    }

    fn write_unsigned(&self, w: &mut Writer) {
        w.u8(TX_VERSION).u8(self.kind_byte());
        match self {
            Transaction::PublishRoot(t) => {
                w.str16(&t.authority)
                    .fixed(&fr_to_be_bytes(&t.root))
                    .u64(t.sequence);
            }
            Transaction::AnchorDocument(t) => {
                w.str16(t.ucr.as_str())
                    .str16(&t.doc_type)
                    .fixed(&t.digest)
                    .str16(&t.reference)
                    .u32(t.version)
                    .option(t.supersedes, |w, v| {
                        w.u32(v);
                    })
                    .str16(t.trader.as_str());
            }
            Transaction::SubmitProof(t) => {
                w.str16(t.ucr.as_str())
                    .bytes(&t.envelope.to_bytes())
                    .str16(t.trader.as_str());
            }
            Transaction::MarkExamination(t) => {
                w.str16(t.ucr.as_str()).str16(&t.office);
            }
            Transaction::RegisterTrader(t) => {
                w.str16(&t.office)
                    .str16(t.trader.as_str())
                    .fixed(t.public_key.as_ref());
            }
            Transaction::RotateTraderKey(t) => {
                w.str16(&t.office)
                    .str16(t.trader.as_str())
                    .u32(t.sequence)
                    .fixed(t.public_key.as_ref());
            }
            Transaction::RevokeTrader(t) => {
                w.str16(&t.office).str16(t.trader.as_str()).u32(t.sequence);
            }
            Transaction::Delegate(t) => {
                w.str16(t.owner.as_str())
                    .str16(t.delegate.as_str())
                    .u32(t.sequence)
                    .u8(u8::from(t.active));
            }
        }
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write_unsigned(&mut w);
        w.fixed(self.signature().as_ref());
        w.finish()
    }

    /// The transaction's hash: SHA-256 of its canonical bytes.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_bytes())
    }

    /// Decodes canonical bytes with full validation (field syntax, keys, envelope points, exact
    /// length).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TxError> {
        check_size(bytes.len())?;
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != TX_VERSION {
            return Err(field_err("version", format!("unknown version {version}")));
        }
        let ucr = |r: &mut Reader<'_>| Ucr::parse(r.str16("ucr", Ucr::MAX_LEN)?);
        let eori =
            |r: &mut Reader<'_>, field| Eori::parse_field(field, r.str16(field, Eori::MAX_LEN)?);
        let id = |r: &mut Reader<'_>, field| -> Result<String, TxError> {
            Ok(r.str16(field, 64)?.to_owned())
        };
        let kind = r.u8("kind")?;
        // Every kind ends with the signature; it is read last, after the body.
        let sig = crypto::unsigned();
        let mut tx = match kind {
            1 => {
                let authority = id(&mut r, "authority")?;
                let root = zkcustoms_circuits::field::fr_from_be_bytes(&r.array("root")?)
                    .map_err(|_| field_err("root", "not a canonical field element"))?;
                let sequence = r.u64("sequence")?;
                Transaction::PublishRoot(PublishRoot {
                    authority,
                    root,
                    sequence,
                    signature: sig,
                })
            }
            2 => Transaction::AnchorDocument(AnchorDocument {
                ucr: ucr(&mut r)?,
                doc_type: r.str16("doc_type", 32)?.to_owned(),
                digest: r.array("digest")?,
                reference: r.str16("reference", 256)?.to_owned(),
                version: r.u32("version")?,
                supersedes: r.option("supersedes", |r| r.u32("supersedes"))?,
                trader: eori(&mut r, "trader")?,
                signature: sig,
            }),
            3 => {
                let ucr = ucr(&mut r)?;
                let envelope = ProofEnvelope::from_bytes(r.bytes("envelope", MAX_TX_BYTES)?)
                    .map_err(|e| field_err("envelope", e.to_string()))?;
                Transaction::SubmitProof(SubmitProof {
                    ucr,
                    envelope,
                    trader: eori(&mut r, "trader")?,
                    signature: sig,
                })
            }
            4 => Transaction::MarkExamination(MarkExamination {
                ucr: ucr(&mut r)?,
                office: id(&mut r, "office")?,
                signature: sig,
            }),
            5 => Transaction::RegisterTrader(RegisterTrader {
                office: id(&mut r, "office")?,
                trader: eori(&mut r, "trader")?,
                public_key: crypto::read_public(&mut r, "public_key")?,
                signature: sig,
            }),
            6 => Transaction::RotateTraderKey(RotateTraderKey {
                office: id(&mut r, "office")?,
                trader: eori(&mut r, "trader")?,
                sequence: r.u32("sequence")?,
                public_key: crypto::read_public(&mut r, "public_key")?,
                signature: sig,
            }),
            7 => Transaction::RevokeTrader(RevokeTrader {
                office: id(&mut r, "office")?,
                trader: eori(&mut r, "trader")?,
                sequence: r.u32("sequence")?,
                signature: sig,
            }),
            8 => Transaction::Delegate(Delegate {
                owner: eori(&mut r, "owner")?,
                delegate: eori(&mut r, "delegate")?,
                sequence: r.u32("sequence")?,
                active: match r.u8("active")? {
                    0 => false,
                    1 => true,
                    _ => return Err(field_err("active", "must be 0 or 1")),
                },
                signature: sig,
            }),
            k => return Err(field_err("kind", format!("unknown transaction kind {k}"))),
        };
        *tx.signature_mut() = crypto::read_signature(&mut r, "signature")?;
        r.finish()?;
        tx.check_fields()?;
        Ok(tx)
    }

    /// The field rules both decoders apply: party ids, document type, reference, versions,
    /// sequences. (UCRs and EORI numbers are checked when parsed, envelopes when decoded.)
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
            Transaction::RegisterTrader(t) => check_party_id("office", &t.office),
            Transaction::RotateTraderKey(RotateTraderKey {
                office, sequence, ..
            })
            | Transaction::RevokeTrader(RevokeTrader {
                office, sequence, ..
            }) => {
                check_party_id("office", office)?;
                if *sequence < 2 {
                    return Err(field_err(
                        "sequence",
                        "registration is sequence 1: a change is 2 or more",
                    ));
                }
                Ok(())
            }
            Transaction::Delegate(t) => {
                if t.owner == t.delegate {
                    return Err(field_err("delegate", "an owner cannot delegate to itself"));
                }
                if t.sequence == 0 {
                    return Err(field_err("sequence", "sequences start at 1"));
                }
                Ok(())
            }
        }
    }
}

pub(crate) fn check_size(len: usize) -> Result<(), TxError> {
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
