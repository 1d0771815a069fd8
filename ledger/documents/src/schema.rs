//! The document database's column families and their value layouts.

use crate::keys::{SealKey, MASTER_ID_LEN, WRAPPED_LEN};
use crate::{DocumentMeta, DocumentState, KEY_LEN, NONCE_LEN};
use zeroize::Zeroizing;
use zkcustoms_ledger_core::store::{Documents, Schema};
use zkcustoms_ledger_types::codec::{DecodeError, Reader, Writer};
use zkcustoms_ledger_types::tx::{DocumentKey, Role};

/// The bit of a role in an access list (layout of [`DocumentMetas`]).
pub(crate) fn role_bit(role: Role) -> u8 {
    match role {
        Role::Authority => 1,
        Role::Trader => 2,
        Role::Customs => 4,
        Role::Auditor => 8,
    }
}

pub(crate) fn role_from_bit(bit: u8) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role_bit(*r) == bit)
}

pub(crate) fn read_doc_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
    Documents::decode_key(bytes)
}

/// `document_meta`: what the node records about each document. Key: `ucr str16 | doc type str16 |
/// version u32`. Value: `version | digest [32] | size u64 | readers u8 (bits: 1 authority,
/// 2 trader, 4 customs, 8 auditor) | uploaded ms u64 | state: 1 stored  or  2 forgotten by role
/// bit u8 | at ms u64`.
pub struct DocumentMetas;

impl Schema for DocumentMetas {
    const CF: &'static str = "document_meta";
    type Key = DocumentKey;
    type Value = DocumentMeta;
    fn encode_key(key: &DocumentKey) -> Vec<u8> {
        Documents::encode_key(key)
    }
    fn decode_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
        read_doc_key(bytes)
    }
    fn write_value(v: &DocumentMeta, w: &mut Writer) {
        let readers = v.readers.iter().fold(0u8, |acc, r| acc | role_bit(*r));
        w.fixed(&v.digest)
            .u64(v.size)
            .u8(readers)
            .u64(v.uploaded_at_ms);
        match v.state {
            DocumentState::Stored => {
                w.u8(1);
            }
            DocumentState::Forgotten { by, at_ms } => {
                w.u8(2).u8(role_bit(by)).u64(at_ms);
            }
        }
    }
    fn read_value(r: &mut Reader<'_>) -> Result<DocumentMeta, DecodeError> {
        let digest = r.array("digest")?;
        let size = r.u64("size")?;
        let bits = r.u8("readers")?;
        if bits & !0x0f != 0 || bits & role_bit(Role::Trader) == 0 {
            return Err(DecodeError::invalid("readers", format!("bits {bits:#04x}")));
        }
        let readers = Role::ALL
            .into_iter()
            .filter(|r| bits & role_bit(*r) != 0)
            .collect::<Vec<_>>();
        let uploaded_at_ms = r.u64("uploaded")?;
        let state = match r.u8("state")? {
            1 => DocumentState::Stored,
            2 => {
                let bit = r.u8("forgotten by")?;
                let by = role_from_bit(bit).ok_or_else(|| {
                    DecodeError::invalid("forgotten by", format!("role bit {bit}"))
                })?;
                DocumentState::Forgotten {
                    by,
                    at_ms: r.u64("forgotten at")?,
                }
            }
            t => return Err(DecodeError::invalid("state", format!("tag {t}"))),
        };
        let mut readers = readers;
        readers.sort();
        Ok(DocumentMeta {
            digest,
            size,
            readers,
            uploaded_at_ms,
            state,
        })
    }
}

/// A stored document key: wrapped under the node's master key, or (in databases written before
/// master keys) in the clear, which opening the database rewraps.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredKey {
    /// Tag 1: the key in the clear (older databases only; rewrapped on open).
    Plain(SealKey),
    /// Tag 2: the key wrapped under a master key.
    Wrapped {
        /// The master key's identifier.
        master: [u8; MASTER_ID_LEN],
        /// The wrapped key.
        wrapped: [u8; WRAPPED_LEN],
        /// The document's nonce.
        nonce: [u8; NONCE_LEN],
    },
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredKey::Plain(_) => f.write_str("StoredKey::Plain(<redacted>)"),
            StoredKey::Wrapped { master, .. } => {
                write!(f, "StoredKey::Wrapped(master {})", hex::encode(master))
            }
        }
    }
}

/// `document_keys`: each stored document's key, deleted when it is forgotten. Key: `ucr str16 |
/// doc type str16 | version u32`. Value: `version | tag u8`, then for tag 2 (XChaCha20-Poly1305,
/// wrapped) `master id [8] | wrapped key [72] | nonce [24]`, for tag 1 (XChaCha20-Poly1305, in
/// the clear, older databases) `key [32] | nonce [24]`.
pub struct DocumentKeys;

/// Tag of a key in the clear.
const KEY_PLAIN: u8 = 1;
/// Tag of a wrapped key.
const KEY_WRAPPED: u8 = 2;

impl Schema for DocumentKeys {
    const CF: &'static str = "document_keys";
    type Key = DocumentKey;
    type Value = StoredKey;
    fn encode_key(key: &DocumentKey) -> Vec<u8> {
        Documents::encode_key(key)
    }
    fn decode_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
        read_doc_key(bytes)
    }
    fn write_value(v: &StoredKey, w: &mut Writer) {
        match v {
            StoredKey::Plain(k) => {
                w.u8(KEY_PLAIN).fixed(&k.key_bytes()[..]).fixed(k.nonce());
            }
            StoredKey::Wrapped {
                master,
                wrapped,
                nonce,
            } => {
                w.u8(KEY_WRAPPED).fixed(master).fixed(wrapped).fixed(nonce);
            }
        }
    }
    fn read_value(r: &mut Reader<'_>) -> Result<StoredKey, DecodeError> {
        match r.u8("key tag")? {
            KEY_PLAIN => {
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                key.copy_from_slice(r.take(KEY_LEN, "key")?);
                Ok(StoredKey::Plain(SealKey::from_parts(
                    key,
                    r.array("nonce")?,
                )))
            }
            KEY_WRAPPED => Ok(StoredKey::Wrapped {
                master: r.array("master key id")?,
                wrapped: r.array("wrapped key")?,
                nonce: r.array("nonce")?,
            }),
            tag => Err(DecodeError::invalid("key tag", format!("tag {tag}"))),
        }
    }
}

/// `document_blobs`: each stored document's ciphertext (with its 16-byte tag), deleted when it is
/// forgotten. Key: `ucr str16 | doc type str16 | version u32`. Value: `version | ciphertext
/// (u32 len)`.
pub struct DocumentBlobs;

/// Largest ciphertext a stored value may hold.
const MAX_STORED_CIPHERTEXT: usize = 1 << 30;

impl Schema for DocumentBlobs {
    const CF: &'static str = "document_blobs";
    type Key = DocumentKey;
    type Value = Vec<u8>;
    fn encode_key(key: &DocumentKey) -> Vec<u8> {
        Documents::encode_key(key)
    }
    fn decode_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
        read_doc_key(bytes)
    }
    fn write_value(v: &Vec<u8>, w: &mut Writer) {
        w.bytes(v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
        Ok(r.bytes("ciphertext", MAX_STORED_CIPHERTEXT)?.to_vec())
    }
}

/// `document_shreds`: documents forgotten whose erase (flush, compaction, purge) is not yet
/// confirmed. Written in the same synced batch that deletes the key, deleted once the erase is
/// confirmed; opening the database and retrying the forget re-run the erase while one is left.
/// Key: `ucr str16 | doc type str16 | version u32`. Value: `version | forgotten at ms u64`.
pub struct DocumentShreds;

impl Schema for DocumentShreds {
    const CF: &'static str = "document_shreds";
    type Key = DocumentKey;
    type Value = u64;
    fn encode_key(key: &DocumentKey) -> Vec<u8> {
        Documents::encode_key(key)
    }
    fn decode_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
        read_doc_key(bytes)
    }
    fn write_value(v: &u64, w: &mut Writer) {
        w.u64(*v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
        r.u64("forgotten at")
    }
}

/// Every column family of the document database, in one place.
pub const DOCUMENT_COLUMN_FAMILIES: [&str; 4] = [
    DocumentMetas::CF,
    DocumentKeys::CF,
    DocumentBlobs::CF,
    DocumentShreds::CF,
];
