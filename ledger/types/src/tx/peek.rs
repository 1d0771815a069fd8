//! A transaction's kind and signer read from its canonical bytes without decoding it: a node
//! screens what a peer relays by them (is there room in the mempool for this signer?) before it
//! pays for decoding the rest, a proof envelope's curve points above all.

use super::fields::field_err;
use super::Hash;
use super::{
    check_party_id, check_size, Eori, Signer, TxError, Ucr, KINDS, MAX_TX_BYTES, TX_VERSION,
};
use crate::codec::Reader;
use crate::crypto::{self, PublicKey};

/// The kind of party that signs a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignerKind {
    /// An AEO authority listed in genesis.
    Authority,
    /// A customs office listed in genesis.
    Office,
    /// A trader registered on the ledger.
    Trader,
}

impl Signer<'_> {
    /// The kind of party.
    pub fn kind(&self) -> SignerKind {
        match self {
            Signer::Authority(_) => SignerKind::Authority,
            Signer::Office(_) => SignerKind::Office,
            Signer::Trader(_) => SignerKind::Trader,
        }
    }
}

/// What [`peek`] reads of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peeked<'a> {
    /// The kind of transaction, by its JSON name (as [`super::Transaction::kind`]).
    pub kind: &'static str,
    /// The kind's signature namespace (as [`super::Transaction::namespace`]).
    pub namespace: &'static [u8],
    /// The kind of party that signs it.
    pub signer: SignerKind,
    /// The signer's id (as [`Signer::id`]), checked as that kind of id.
    pub id: &'a str,
}

/// Reads the kind and the signer of the transaction whose canonical bytes are `bytes`, walking
/// only the fields before the signer's id and checking that id; whatever comes after it (the
/// signature, the end of the bytes) and the other fields' values are not checked. When
/// [`super::Transaction::from_bytes`] accepts the bytes, this answers the same kind and signer;
/// when it does not, this may still answer.
pub fn peek(bytes: &[u8]) -> Result<Peeked<'_>, TxError> {
    check_size(bytes.len())?;
    let mut r = Reader::new(bytes);
    let version = r.u8("version")?;
    if version != TX_VERSION {
        return Err(field_err("version", format!("unknown version {version}")));
    }
    let kind = r.u8("kind")?;
    let ucr = |r: &mut Reader<'_>| r.str16("ucr", Ucr::MAX_LEN).map(|_| ());
    let (signer, field) = match kind {
        1 => (SignerKind::Authority, "authority"),
        2 => {
            ucr(&mut r)?;
            r.str16("doc_type", 32)?;
            r.take(32, "digest")?;
            r.str16("reference", 256)?;
            r.u32("version")?;
            r.option("supersedes", |r| r.u32("supersedes"))?;
            (SignerKind::Trader, "trader")
        }
        3 => {
            ucr(&mut r)?;
            r.bytes("envelope", MAX_TX_BYTES)?;
            (SignerKind::Trader, "trader")
        }
        4 => {
            ucr(&mut r)?;
            (SignerKind::Office, "office")
        }
        5..=7 => (SignerKind::Office, "office"),
        8 => (SignerKind::Trader, "owner"),
        k => return Err(field_err("kind", format!("unknown transaction kind {k}"))),
    };
    let id = match signer {
        SignerKind::Trader => {
            let id = r.str16(field, Eori::MAX_LEN)?;
            Eori::parse_field(field, id)?;
            id
        }
        SignerKind::Authority | SignerKind::Office => {
            let id = r.str16(field, 64)?;
            check_party_id(field, id)?;
            id
        }
    };
    let (_, name, namespace) = KINDS[usize::from(kind) - 1];
    Ok(Peeked {
        kind: name,
        namespace,
        signer,
        id,
    })
}

impl Peeked<'_> {
    /// Whether the signature of the transaction whose canonical bytes are `bytes` (their last
    /// [`crypto::SIGNATURE_LEN`]) verifies under `key` on the ledger `chain_id`, before they are
    /// decoded: the same message as [`super::Transaction::signed_message`] (the chain id, then
    /// every byte before the signature), under this kind's namespace. `None` when the bytes hold
    /// no signature to check (the decoding names their fault).
    pub fn signature_holds(&self, bytes: &[u8], chain_id: &Hash, key: &PublicKey) -> Option<bool> {
        let at = bytes.len().checked_sub(crypto::SIGNATURE_LEN)?;
        let (unsigned, signature) = bytes.split_at(at);
        let signature = crypto::signature_from_bytes(signature).ok()?;
        let mut message = Vec::with_capacity(chain_id.len() + unsigned.len());
        message.extend_from_slice(chain_id);
        message.extend_from_slice(unsigned);
        Some(crypto::verify(key, self.namespace, &message, &signature))
    }
}
