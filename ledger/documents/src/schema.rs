//! The document database's column families and their value layouts.

use crate::keys::{SealKey, MASTER_ID_LEN, WRAPPED_LEN};
use crate::meta::{check_reader, check_reader_list, MAX_READERS};
use crate::{DocumentMeta, DocumentState, KEY_LEN, NONCE_LEN};
use zeroize::Zeroizing;
use zkcustoms_ledger_core::store::{Documents, Schema};
use zkcustoms_ledger_types::codec::{self, DecodeError, Writer};
use zkcustoms_ledger_types::party::Reader;
use zkcustoms_ledger_types::tx::{check_party_id, DocumentKey, Eori};

pub(crate) fn read_doc_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
    Documents::decode_key(bytes)
}

/// Version byte of a [`DocumentMetas`] value. The document metas have their own: version 1 was
/// the layout of role-based access lists (a bit per role), which is refused, never misread.
pub const DOCUMENT_META_VERSION: u8 = 2;

/// The version byte of the role-based layout that [`DOCUMENT_META_VERSION`] replaced.
const ROLE_BASED_META_VERSION: u8 = 1;

/// Longest party id (and administration) in a stored access list.
const MAX_ID_LEN: usize = 64;

/// Tag of a [`Reader::Customs`] in a stored access list.
const READER_CUSTOMS: u8 = 1;
/// Tag of a [`Reader::Party`] in a stored access list.
const READER_PARTY: u8 = 2;

/// Tag of a stored document.
const STATE_STORED: u8 = 1;
/// Tag of a forgotten document.
const STATE_FORGOTTEN: u8 = 2;

/// `document_meta`: what the node records about each document. Key: `ucr str16 | doc type str16 |
/// version u32`. Value (its own version byte, [`DOCUMENT_META_VERSION`]):
///
/// ```text
/// version u8 = 2
/// digest [32]
/// size u64
/// uploader str16                     EORI number
/// readers count u16                  at most 64, then per reader (sorted, no repeats):
///     kind u8                        1 customs (every office of an administration) | 2 party
///     id str16                       the administration, or the party's id
/// uploaded ms u64
/// state u8                           1 stored | 2 forgotten, then:
///     by str16                       the id of the party that forgot it
///     at ms u64
/// ```
///
/// Decoding is strict: exact length, the uploader an EORI number, each reader as
/// [`Reader::parse`] reads it, the readers sorted without repeats, so a decoded value encodes to
/// the same bytes. A value of version 1 (role-based access lists, written by older nodes) is
/// refused with an error that says so.
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
        let count = u16::try_from(v.readers.len()).expect("access lists are checked to be short");
        w.fixed(&v.digest)
            .u64(v.size)
            .str16(v.uploader.as_str())
            .u16(count);
        for reader in &v.readers {
            match reader {
                Reader::Customs(admin) => w.u8(READER_CUSTOMS).str16(admin),
                Reader::Party(id) => w.u8(READER_PARTY).str16(id),
            };
        }
        w.u64(v.uploaded_at_ms);
        match &v.state {
            DocumentState::Stored => {
                w.u8(STATE_STORED);
            }
            DocumentState::Forgotten { by, at_ms } => {
                w.u8(STATE_FORGOTTEN).str16(by).u64(*at_ms);
            }
        }
    }
    fn read_value(r: &mut codec::Reader<'_>) -> Result<DocumentMeta, DecodeError> {
        let digest = r.array("digest")?;
        let size = r.u64("size")?;
        let uploader = Eori::parse_field("uploader", r.str16("uploader", Eori::MAX_LEN)?)
            .map_err(|e| DecodeError::invalid("uploader", e.to_string()))?;
        let count = usize::from(r.u16("readers")?);
        if count > MAX_READERS {
            return Err(DecodeError::invalid(
                "readers",
                format!("{count} readers, at most {MAX_READERS} allowed"),
            ));
        }
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count {
            let reader = match r.u8("reader kind")? {
                READER_CUSTOMS => Reader::Customs(r.str16("reader", MAX_ID_LEN)?.to_owned()),
                READER_PARTY => Reader::Party(r.str16("reader", MAX_ID_LEN)?.to_owned()),
                k => return Err(DecodeError::invalid("reader kind", format!("kind {k}"))),
            };
            check_reader(&reader).map_err(|e| DecodeError::invalid("reader", e))?;
            readers.push(reader);
        }
        check_reader_list(&readers).map_err(|e| DecodeError::invalid("readers", e))?;
        let uploaded_at_ms = r.u64("uploaded")?;
        let state = match r.u8("state")? {
            STATE_STORED => DocumentState::Stored,
            STATE_FORGOTTEN => {
                let by = r.str16("forgotten by", MAX_ID_LEN)?;
                check_party_id("forgotten by", by)
                    .map_err(|e| DecodeError::invalid("forgotten by", e.to_string()))?;
                DocumentState::Forgotten {
                    by: by.to_owned(),
                    at_ms: r.u64("forgotten at")?,
                }
            }
            t => return Err(DecodeError::invalid("state", format!("tag {t}"))),
        };
        Ok(DocumentMeta {
            digest,
            size,
            uploader,
            readers,
            uploaded_at_ms,
            state,
        })
    }

    /// Encodes a value with [`DOCUMENT_META_VERSION`] (not the ledger's value version).
    fn encode_value(value: &DocumentMeta) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(DOCUMENT_META_VERSION);
        Self::write_value(value, &mut w);
        w.finish()
    }

    /// Decodes a value of [`DOCUMENT_META_VERSION`], exactly; refuses the role-based layout.
    fn decode_value(bytes: &[u8]) -> Result<DocumentMeta, DecodeError> {
        let mut r = codec::Reader::new(bytes);
        match r.u8("value version")? {
            DOCUMENT_META_VERSION => {}
            ROLE_BASED_META_VERSION => {
                return Err(DecodeError::invalid(
                    "value version",
                    "version 1 is the role-based access list of older nodes, which names no \
                     uploader and no parties: this record cannot be read by this version",
                ))
            }
            v => {
                return Err(DecodeError::invalid(
                    "value version",
                    format!("unknown version {v}"),
                ))
            }
        }
        let value = Self::read_value(&mut r)?;
        r.finish()?;
        Ok(value)
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
    fn read_value(r: &mut codec::Reader<'_>) -> Result<StoredKey, DecodeError> {
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
    fn read_value(r: &mut codec::Reader<'_>) -> Result<Vec<u8>, DecodeError> {
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
    fn read_value(r: &mut codec::Reader<'_>) -> Result<u64, DecodeError> {
        r.u64("forgotten at")
    }
}

/// `document_master`: the id of the master key that every document key of the database is
/// wrapped under, recorded once every key is (on the first open, or when the keys that older
/// versions stored in the clear have been wrapped). Opening then checks this one value instead of
/// every stored key, and refuses a database of another master key even when it holds no document
/// yet. A database without it (written by older versions) has every key checked, and wrapped, on
/// open. Key: empty (the one entry). Value: `version | master id [8]`.
pub struct DocumentMaster;

impl Schema for DocumentMaster {
    const CF: &'static str = "document_master";
    type Key = ();
    type Value = [u8; MASTER_ID_LEN];
    fn encode_key(_: &()) -> Vec<u8> {
        Vec::new()
    }
    fn decode_key(bytes: &[u8]) -> Result<(), DecodeError> {
        codec::Reader::new(bytes).finish()
    }
    fn write_value(v: &[u8; MASTER_ID_LEN], w: &mut Writer) {
        w.fixed(v);
    }
    fn read_value(r: &mut codec::Reader<'_>) -> Result<[u8; MASTER_ID_LEN], DecodeError> {
        r.array("master key id")
    }
}

/// Every column family of the document database, in one place.
pub const DOCUMENT_COLUMN_FAMILIES: [&str; 5] = [
    DocumentMetas::CF,
    DocumentKeys::CF,
    DocumentBlobs::CF,
    DocumentShreds::CF,
    DocumentMaster::CF,
];
