//! Off-ledger documents: the node keeps the documents whose digests are anchored on the ledger,
//! encrypted at rest, each under its own key, and can destroy that key for good (crypto-shredding)
//! while the digest and every proof about it stay on the ledger.
//!
//! # Where things live
//!
//! Documents live in their own RocksDB database next to the ledger's (`DATA_DIR/documents`, the
//! ledger being `DATA_DIR/ledger`), not in the ledger's database:
//!
//! - the ledger's database is what auditors open, copy and export, and what every validator holds
//!   identically; documents, their keys and the record of what was forgotten are private to the
//!   node that received them and must never travel with a copy of the ledger;
//! - forgetting flushes and compacts the document database to get a destroyed key out of every
//!   file: that never touches the ledger's synced block batches;
//! - `zkcustoms audit` opens the ledger read-only with a fixed list of column families: it is not
//!   affected.
//!
//! Three column families ([`DOCUMENT_COLUMN_FAMILIES`]), all keyed like the ledger's `documents`
//! index (`ucr str16 | doc type str16 | version u32`): [`DocumentMetas`] (digest, size, access
//! list, upload time, and who forgot the document and when), [`DocumentKeys`] (the per-document
//! key and nonce) and [`DocumentBlobs`] (the ciphertext).
//!
//! # Encryption
//!
//! XChaCha20-Poly1305 with a random 256-bit key and a random 192-bit nonce per document, both from
//! the operating system's RNG. The associated data binds the ciphertext to its document:
//! `"zkcustoms/document/v1" | ucr str16 | doc type str16 | version u32 | digest [32]`, so a
//! ciphertext moved under another document, or a document whose anchored digest differs, does not
//! decrypt. After decryption the plaintext's SHA-256 is checked against the anchored digest.
//!
//! # Forgetting
//!
//! [`DocumentService::forget`] deletes the key and the ciphertext in one synced batch, marks the
//! document forgotten (by whom, when), then flushes every column family (so no write-ahead log
//! still holds the key), compacts the key and ciphertext column families down to the bottommost
//! level (so no table file holds them), and purges the obsolete files before it returns. What it
//! cannot reach: copies held by other validators (each node keeps what was uploaded to it; the
//! trader forgets on each), backups or snapshots of the directory taken before, and blocks the
//! file system or the disk keeps after a file is deleted (use encrypted volumes).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rocksdb::{
    BottommostLevelCompaction, ColumnFamilyDescriptor, CompactOptions, DBCompressionType, Options,
    WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use zeroize::Zeroizing;
use zkcustoms_ledger_core::store::{Documents, Schema, Store, StoreError};
use zkcustoms_ledger_types::codec::{DecodeError, Reader, Writer};
use zkcustoms_ledger_types::tx::DocumentKey;
use zkcustoms_ledger_types::tx::{sha256, Hash, Role};

/// The document database's directory name inside a node's data directory.
pub const DOCUMENTS_DIR: &str = "documents";
/// Default largest document, in bytes.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Domain of the associated data that binds a ciphertext to its document.
pub const DOCUMENT_AAD_DOMAIN: &[u8] = b"zkcustoms/document/v1";
/// Length of a document key.
pub const KEY_LEN: usize = 32;
/// Length of a document nonce (XChaCha20-Poly1305).
pub const NONCE_LEN: usize = 24;
/// Cipher tag of XChaCha20-Poly1305 in [`DocumentKeys`].
const CIPHER_XCHACHA20_POLY1305: u8 = 1;

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// No finalized anchor exists for this (UCR, document type, version).
    #[error("{0} is not anchored on the ledger (an anchor must be finalized before its document is uploaded)")]
    UnknownAnchor(String),
    /// The bytes' SHA-256 is not the anchored digest.
    #[error("the document's SHA-256 is {got}, the anchored digest of {id} is {expected} (for invoices: upload the canonical encoding)")]
    DigestMismatch {
        /// The document.
        id: String,
        /// The anchored digest (hex).
        expected: String,
        /// The uploaded bytes' digest (hex).
        got: String,
    },
    /// The document was already uploaded.
    #[error(
        "{0} is already stored: a document is uploaded once (anchor a new version to amend it)"
    )]
    Duplicate(String),
    /// The node keeps no such document.
    #[error("this node keeps no document {0}")]
    UnknownDocument(String),
    /// The document was forgotten: its key is destroyed.
    #[error("{id} was forgotten by the {by} role at {at_ms} ms since the epoch: its key is destroyed and it can never be read again")]
    Forgotten {
        /// The document.
        id: String,
        /// Who forgot it.
        by: &'static str,
        /// When (milliseconds since the Unix epoch).
        at_ms: u64,
    },
    /// The role may not read the document.
    #[error("the {role} role is not on the access list of {id} (readers: {readers})")]
    NotAllowed {
        /// The document.
        id: String,
        /// The role that asked.
        role: &'static str,
        /// The roles that may read it.
        readers: String,
    },
    /// An empty upload.
    #[error("the document is empty")]
    Empty,
    /// An upload larger than the limit.
    #[error("the document has {len} bytes, at most {max} are accepted")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The access list is not valid.
    #[error("invalid access list: {0}")]
    Readers(String),
    /// The ledger's store failed.
    #[error(transparent)]
    Ledger(#[from] StoreError),
    /// The document database failed.
    #[error("document database: {0}")]
    Db(#[from] rocksdb::Error),
    /// Stored bytes do not decode, or a ciphertext does not decrypt to its anchored document.
    #[error("corrupted document entry in {cf}: {reason}")]
    Corrupted {
        /// The column family.
        cf: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// A document's name for messages: `UCR/doc-type/vN`.
pub fn display_id(id: &DocumentKey) -> String {
    format!("{}/{}/v{}", id.ucr, id.doc_type, id.version)
}

/// The bit of a role in an access list (layout of [`DocumentMetas`]).
fn role_bit(role: Role) -> u8 {
    match role {
        Role::Authority => 1,
        Role::Trader => 2,
        Role::Customs => 4,
        Role::Auditor => 8,
    }
}

fn role_from_bit(bit: u8) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role_bit(*r) == bit)
}

/// Parses an access list: role names separated by commas (`customs,auditor`); empty means the
/// trader alone. The trader, who uploads, may always read and is added.
pub fn parse_readers(s: &str) -> Result<Vec<Role>, DocumentError> {
    let mut roles = vec![Role::Trader];
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let role = Role::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                DocumentError::Readers(format!(
                    "unknown role {name:?}: expected authority, trader, customs or auditor"
                ))
            })?;
        roles.push(role);
    }
    roles.sort();
    roles.dedup();
    Ok(roles)
}

/// Where a document stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentState {
    /// Stored, encrypted; readable by its access list.
    Stored,
    /// Forgotten: key and ciphertext destroyed.
    Forgotten {
        /// The role that forgot it.
        by: Role,
        /// When, in milliseconds since the Unix epoch.
        at_ms: u64,
    },
}

/// What the node records about a document (kept after it is forgotten).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentMeta {
    /// The anchored digest.
    pub digest: Hash,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Roles that may read it (always including the trader), sorted.
    pub readers: Vec<Role>,
    /// Upload time, in milliseconds since the Unix epoch.
    pub uploaded_at_ms: u64,
    /// Stored or forgotten.
    pub state: DocumentState,
}

impl DocumentMeta {
    /// True when `role` may read the document.
    pub fn may_read(&self, role: Role) -> bool {
        self.readers.contains(&role)
    }

    /// The JSON form (what the API answers; never the key or the contents).
    pub fn to_json(&self) -> serde_json::Value {
        let readers: Vec<&str> = self.readers.iter().map(|r| r.name()).collect();
        let mut v = serde_json::json!({
            "digest": hex::encode(self.digest),
            "size": self.size,
            "readers": readers,
            "uploaded_at_ms": self.uploaded_at_ms,
        });
        match self.state {
            DocumentState::Stored => v["state"] = "stored".into(),
            DocumentState::Forgotten { by, at_ms } => {
                v["state"] = "forgotten".into();
                v["forgotten_by"] = by.name().into();
                v["forgotten_at_ms"] = at_ms.into();
            }
        }
        v
    }
}

fn read_doc_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
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

/// A document's key and nonce. `Debug` never shows them; the key is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    nonce: [u8; NONCE_LEN],
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    /// A fresh random key and nonce from the operating system's RNG.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        Self { key, nonce }
    }

    /// The raw key bytes (for tests that look for them on disk).
    #[doc(hidden)]
    pub fn key_bytes(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.key[..]))
    }

    /// Encrypts a document under this key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.cipher()
            .encrypt(
                XNonce::from_slice(&self.nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory")
    }

    /// Decrypts and authenticates a ciphertext bound to `aad`; `None` when it does not
    /// authenticate.
    pub fn open(&self, ciphertext: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        self.cipher()
            .decrypt(
                XNonce::from_slice(&self.nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

/// The associated data of a document's ciphertext.
pub fn associated_data(id: &DocumentKey, digest: &Hash) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(DOCUMENT_AAD_DOMAIN)
        .str16(id.ucr.as_str())
        .str16(&id.doc_type)
        .u32(id.version)
        .fixed(digest);
    w.finish()
}

/// `document_keys`: each stored document's key, deleted when it is forgotten. Key: `ucr str16 |
/// doc type str16 | version u32`. Value: `version | cipher u8 (1 XChaCha20-Poly1305) | key [32] |
/// nonce [24]`.
pub struct DocumentKeys;

impl Schema for DocumentKeys {
    const CF: &'static str = "document_keys";
    type Key = DocumentKey;
    type Value = SealKey;
    fn encode_key(key: &DocumentKey) -> Vec<u8> {
        Documents::encode_key(key)
    }
    fn decode_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
        read_doc_key(bytes)
    }
    fn write_value(v: &SealKey, w: &mut Writer) {
        w.u8(CIPHER_XCHACHA20_POLY1305)
            .fixed(&v.key[..])
            .fixed(&v.nonce);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<SealKey, DecodeError> {
        let cipher = r.u8("cipher")?;
        if cipher != CIPHER_XCHACHA20_POLY1305 {
            return Err(DecodeError::invalid("cipher", format!("tag {cipher}")));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(r.take(KEY_LEN, "key")?);
        Ok(SealKey {
            key,
            nonce: r.array("nonce")?,
        })
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

/// Every column family of the document database, in one place.
pub const DOCUMENT_COLUMN_FAMILIES: [&str; 3] =
    [DocumentMetas::CF, DocumentKeys::CF, DocumentBlobs::CF];

/// The node's document service: its own RocksDB database of encrypted documents.
pub struct DocumentService {
    db: DB,
    path: PathBuf,
    max_bytes: usize,
    /// Reads share it; uploads and forgets take it alone (so no read pins a table file that
    /// forgetting must delete).
    lock: RwLock<()>,
}

impl std::fmt::Debug for DocumentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentService")
            .field("path", &self.path)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl DocumentService {
    /// Opens (or creates) the document database at `path`; documents up to `max_bytes` are
    /// accepted.
    pub fn open(path: &Path, max_bytes: usize) -> Result<Self, DocumentError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Obsolete write-ahead logs are deleted, never archived or recycled: a destroyed key must
        // not survive in an old log.
        opts.set_wal_ttl_seconds(0);
        opts.set_wal_size_limit_mb(0);
        opts.set_recycle_log_file_num(0);
        let cfs = DOCUMENT_COLUMN_FAMILIES.iter().map(|name| {
            let mut cf = Options::default();
            // Ciphertexts and keys do not compress.
            cf.set_compression_type(DBCompressionType::None);
            ColumnFamilyDescriptor::new(*name, cf)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(Self {
            db,
            path: path.to_owned(),
            max_bytes,
            lock: RwLock::new(()),
        })
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Largest document accepted, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every document column family is opened")
    }

    fn get<S: Schema>(&self, key: &S::Key) -> Result<Option<S::Value>, DocumentError> {
        match self.db.get_cf(self.cf(S::CF), S::encode_key(key))? {
            None => Ok(None),
            Some(bytes) => {
                S::decode_value(&bytes)
                    .map(Some)
                    .map_err(|e| DocumentError::Corrupted {
                        cf: S::CF,
                        reason: e.to_string(),
                    })
            }
        }
    }

    fn put<S: Schema>(&self, batch: &mut WriteBatch, key: &S::Key, value: &S::Value) {
        batch.put_cf(self.cf(S::CF), S::encode_key(key), S::encode_value(value));
    }

    fn delete<S: Schema>(&self, batch: &mut WriteBatch, key: &S::Key) {
        batch.delete_cf(self.cf(S::CF), S::encode_key(key));
    }

    fn write_synced(&self, batch: WriteBatch) -> Result<(), DocumentError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        Ok(())
    }

    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.lock.write().unwrap_or_else(|e| e.into_inner())
    }

    /// What the node records about a document, if it received it.
    pub fn meta(&self, id: &DocumentKey) -> Result<Option<DocumentMeta>, DocumentError> {
        let _guard = self.read_lock();
        self.get::<DocumentMetas>(id)
    }

    /// Stores a document uploaded by the trader: its anchor must be finalized on `ledger`, its
    /// SHA-256 must be the anchored digest, and it must not have been uploaded before (or
    /// forgotten). `readers` is the access list (the trader is always added).
    pub fn upload(
        &self,
        ledger: &Store,
        id: &DocumentKey,
        bytes: &[u8],
        readers: &[Role],
        now_ms: u64,
    ) -> Result<DocumentMeta, DocumentError> {
        if bytes.is_empty() {
            return Err(DocumentError::Empty);
        }
        if bytes.len() > self.max_bytes {
            return Err(DocumentError::TooLarge {
                len: bytes.len(),
                max: self.max_bytes,
            });
        }
        let anchor = ledger
            .get::<Documents>(id)?
            .ok_or_else(|| DocumentError::UnknownAnchor(display_id(id)))?;
        // One upload at a time: the duplicate check and the write must not interleave.
        let _guard = self.write_lock();
        if let Some(existing) = self.get::<DocumentMetas>(id)? {
            return Err(match existing.state {
                DocumentState::Stored => DocumentError::Duplicate(display_id(id)),
                DocumentState::Forgotten { by, at_ms } => DocumentError::Forgotten {
                    id: display_id(id),
                    by: by.name(),
                    at_ms,
                },
            });
        }
        let digest = sha256(bytes);
        if digest != anchor.digest {
            return Err(DocumentError::DigestMismatch {
                id: display_id(id),
                expected: hex::encode(anchor.digest),
                got: hex::encode(digest),
            });
        }
        let mut readers = readers.to_vec();
        readers.push(Role::Trader);
        readers.sort();
        readers.dedup();
        let key = SealKey::generate();
        let ciphertext = key.seal(bytes, &associated_data(id, &digest));
        let meta = DocumentMeta {
            digest,
            size: bytes.len() as u64,
            readers,
            uploaded_at_ms: now_ms,
            state: DocumentState::Stored,
        };
        let mut batch = WriteBatch::default();
        self.put::<DocumentMetas>(&mut batch, id, &meta);
        self.put::<DocumentKeys>(&mut batch, id, &key);
        self.put::<DocumentBlobs>(&mut batch, id, &ciphertext);
        self.write_synced(batch)?;
        Ok(meta)
    }

    /// The plaintext of a document, for a role on its access list.
    pub fn read(&self, id: &DocumentKey, role: Role) -> Result<Vec<u8>, DocumentError> {
        let _guard = self.read_lock();
        let meta = self
            .get::<DocumentMetas>(id)?
            .ok_or_else(|| DocumentError::UnknownDocument(display_id(id)))?;
        if !meta.may_read(role) {
            return Err(DocumentError::NotAllowed {
                id: display_id(id),
                role: role.name(),
                readers: meta
                    .readers
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let DocumentState::Forgotten { by, at_ms } = meta.state {
            return Err(DocumentError::Forgotten {
                id: display_id(id),
                by: by.name(),
                at_ms,
            });
        }
        let corrupted = |cf, reason: &str| DocumentError::Corrupted {
            cf,
            reason: format!("{}: {reason}", display_id(id)),
        };
        let key = self
            .get::<DocumentKeys>(id)?
            .ok_or_else(|| corrupted(DocumentKeys::CF, "the key is missing"))?;
        let ciphertext = self
            .get::<DocumentBlobs>(id)?
            .ok_or_else(|| corrupted(DocumentBlobs::CF, "the ciphertext is missing"))?;
        let plaintext = key
            .open(&ciphertext, &associated_data(id, &meta.digest))
            .ok_or_else(|| corrupted(DocumentBlobs::CF, "the ciphertext does not authenticate"))?;
        if sha256(&plaintext) != meta.digest {
            return Err(corrupted(
                DocumentBlobs::CF,
                "the plaintext is not the anchored document",
            ));
        }
        Ok(plaintext)
    }

    /// Forgets a document: destroys its key and ciphertext, records who forgot it and when, and
    /// makes sure no file of the database still holds them (flush, compaction, purge of obsolete
    /// files) before it returns. The anchored digest and every proof on the ledger are untouched.
    pub fn forget(
        &self,
        id: &DocumentKey,
        by: Role,
        now_ms: u64,
    ) -> Result<DocumentMeta, DocumentError> {
        let _guard = self.write_lock();
        let mut meta = self
            .get::<DocumentMetas>(id)?
            .ok_or_else(|| DocumentError::UnknownDocument(display_id(id)))?;
        if let DocumentState::Forgotten { by, at_ms } = meta.state {
            return Err(DocumentError::Forgotten {
                id: display_id(id),
                by: by.name(),
                at_ms,
            });
        }
        meta.state = DocumentState::Forgotten { by, at_ms: now_ms };
        let mut batch = WriteBatch::default();
        self.delete::<DocumentKeys>(&mut batch, id);
        self.delete::<DocumentBlobs>(&mut batch, id);
        self.put::<DocumentMetas>(&mut batch, id, &meta);
        self.write_synced(batch)?;
        self.erase_deleted(Some(id))?;
        Ok(meta)
    }

    /// Rewrites the database so that deleted values are in no file any more: every memtable is
    /// flushed (the write-ahead logs that held them become obsolete), the table files of the key
    /// and ciphertext column families that hold the document (every one when `id` is `None`) are
    /// compacted through the bottommost level (deleted values and their tombstones are dropped),
    /// and obsolete files are deleted now rather than later.
    fn erase_deleted(&self, id: Option<&DocumentKey>) -> Result<(), DocumentError> {
        let range = id.map(Documents::encode_key);
        for name in DOCUMENT_COLUMN_FAMILIES {
            self.db.flush_cf(self.cf(name))?;
        }
        let mut opts = CompactOptions::default();
        opts.set_exclusive_manual_compaction(true);
        opts.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        for name in [DocumentKeys::CF, DocumentBlobs::CF] {
            self.db
                .compact_range_cf_opt(self.cf(name), range.as_deref(), range.as_deref(), &opts);
        }
        // Re-enabling file deletions scans the directory and deletes every obsolete file at once.
        self.db.disable_file_deletions()?;
        self.db.enable_file_deletions()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use zkcustoms_ledger_core::store::{Batch, DocumentEntry, TempStore, TxLocation};
    use zkcustoms_ledger_types::tx::Ucr;

    fn id(doc_type: &str, version: u32) -> DocumentKey {
        DocumentKey {
            ucr: Ucr::parse("26DE-HAM-000042").unwrap(),
            doc_type: doc_type.into(),
            version,
        }
    }

    fn anchor(ledger: &Store, id: &DocumentKey, content: &[u8]) {
        let mut b = Batch::new();
        b.put::<Documents>(
            id,
            &DocumentEntry {
                digest: sha256(content),
                reference: "vault://x".into(),
                location: TxLocation {
                    height: u64::from(id.version),
                    index: 0,
                },
            },
        );
        ledger.write(b, true).unwrap();
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    /// Every file under `dir` that contains `needle`.
    fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        found.push(path);
                    }
                }
            }
        }
        found
    }

    #[test]
    fn schemas_round_trip() {
        let k = id("invoice", 3);
        let meta = DocumentMeta {
            digest: sha256(b"d"),
            size: 42,
            readers: vec![Role::Trader, Role::Customs, Role::Auditor],
            uploaded_at_ms: 7,
            state: DocumentState::Stored,
        };
        for state in [
            DocumentState::Stored,
            DocumentState::Forgotten {
                by: Role::Customs,
                at_ms: 9,
            },
        ] {
            let v = DocumentMeta {
                state,
                ..meta.clone()
            };
            let bytes = DocumentMetas::encode_value(&v);
            assert_eq!(DocumentMetas::decode_value(&bytes).unwrap(), v);
            assert!(DocumentMetas::decode_value(&bytes[..bytes.len() - 1]).is_err());
        }
        assert_eq!(
            DocumentMetas::decode_key(&DocumentMetas::encode_key(&k)).unwrap(),
            k
        );
        let key = SealKey::generate();
        let bytes = DocumentKeys::encode_value(&key);
        assert_eq!(bytes.len(), 1 + 1 + KEY_LEN + NONCE_LEN);
        assert_eq!(DocumentKeys::decode_value(&bytes).unwrap(), key);
        let mut wrong = bytes.clone();
        wrong[1] = 2;
        assert!(DocumentKeys::decode_value(&wrong).is_err());
        let blob = vec![1, 2, 3];
        assert_eq!(
            DocumentBlobs::decode_value(&DocumentBlobs::encode_value(&blob)).unwrap(),
            blob
        );
        assert_eq!(format!("{key:?}"), "SealKey(<redacted>)");
    }

    #[test]
    fn ciphertexts_are_bound_to_their_document() {
        let key = SealKey::generate();
        let (a, b) = (id("invoice", 1), id("invoice", 2));
        let digest = sha256(b"doc");
        let ct = key.seal(b"doc", &associated_data(&a, &digest));
        assert_eq!(
            key.open(&ct, &associated_data(&a, &digest)).unwrap(),
            b"doc"
        );
        assert!(key.open(&ct, &associated_data(&b, &digest)).is_none());
        assert!(key
            .open(&ct, &associated_data(&a, &sha256(b"other")))
            .is_none());
        assert!(SealKey::generate()
            .open(&ct, &associated_data(&a, &digest))
            .is_none());
        let mut tampered = ct.clone();
        tampered[0] ^= 1;
        assert!(key.open(&tampered, &associated_data(&a, &digest)).is_none());
        assert_ne!(SealKey::generate(), SealKey::generate());
    }

    #[test]
    fn access_lists_parse() {
        assert_eq!(parse_readers("").unwrap(), vec![Role::Trader]);
        assert_eq!(
            parse_readers("auditor, customs,customs").unwrap(),
            vec![Role::Trader, Role::Customs, Role::Auditor]
        );
        assert!(matches!(
            parse_readers("customs,king"),
            Err(DocumentError::Readers(_))
        ));
    }

    #[test]
    fn uploads_reads_and_forgets_follow_the_rules() {
        let ledger = TempStore::new().unwrap();
        let dir = temp_dir();
        let docs = DocumentService::open(dir.path(), 64).unwrap();
        let inv = id("invoice", 1);
        let content = b"invoice 1".to_vec();
        // Not anchored yet.
        assert!(matches!(
            docs.upload(&ledger, &inv, &content, &[Role::Customs], 1),
            Err(DocumentError::UnknownAnchor(_))
        ));
        anchor(&ledger, &inv, &content);
        assert!(matches!(
            docs.upload(&ledger, &inv, b"invoice 2", &[Role::Customs], 1),
            Err(DocumentError::DigestMismatch { .. })
        ));
        assert!(matches!(
            docs.upload(&ledger, &inv, &[], &[], 1),
            Err(DocumentError::Empty)
        ));
        assert!(matches!(
            docs.upload(&ledger, &inv, &[7; 65], &[], 1),
            Err(DocumentError::TooLarge { len: 65, max: 64 })
        ));
        assert!(docs.meta(&inv).unwrap().is_none());
        let meta = docs
            .upload(&ledger, &inv, &content, &[Role::Customs], 5)
            .unwrap();
        assert_eq!(meta.readers, vec![Role::Trader, Role::Customs]);
        assert_eq!(meta.state, DocumentState::Stored);
        assert!(matches!(
            docs.upload(&ledger, &inv, &content, &[Role::Customs], 6),
            Err(DocumentError::Duplicate(_))
        ));
        assert_eq!(docs.read(&inv, Role::Trader).unwrap(), content);
        assert_eq!(docs.read(&inv, Role::Customs).unwrap(), content);
        assert!(matches!(
            docs.read(&inv, Role::Auditor),
            Err(DocumentError::NotAllowed { .. })
        ));
        assert!(matches!(
            docs.read(&id("invoice", 2), Role::Trader),
            Err(DocumentError::UnknownDocument(_))
        ));
        assert!(matches!(
            docs.forget(&id("invoice", 2), Role::Trader, 9),
            Err(DocumentError::UnknownDocument(_))
        ));

        let forgotten = docs.forget(&inv, Role::Customs, 10).unwrap();
        assert_eq!(
            forgotten.state,
            DocumentState::Forgotten {
                by: Role::Customs,
                at_ms: 10
            }
        );
        assert_eq!(forgotten.digest, meta.digest);
        for role in [Role::Trader, Role::Customs] {
            assert!(matches!(
                docs.read(&inv, role),
                Err(DocumentError::Forgotten {
                    by: "customs",
                    at_ms: 10,
                    ..
                })
            ));
        }
        // A second forget changes nothing; neither does a new upload.
        assert!(matches!(
            docs.forget(&inv, Role::Trader, 11),
            Err(DocumentError::Forgotten { by: "customs", .. })
        ));
        assert!(matches!(
            docs.upload(&ledger, &inv, &content, &[], 12),
            Err(DocumentError::Forgotten { .. })
        ));
        assert_eq!(docs.meta(&inv).unwrap(), Some(forgotten));
        // The ledger's anchor is untouched.
        assert_eq!(
            ledger.get::<Documents>(&inv).unwrap().unwrap().digest,
            sha256(&content)
        );
    }

    #[test]
    fn forgotten_keys_and_plaintexts_are_in_no_file() {
        let ledger = TempStore::new().unwrap();
        let dir = temp_dir();
        let marker = b"PLAINTEXT-MARKER-7d41c0a9: Static converters, 4 x 1200 EUR".to_vec();
        let kept_marker = b"KEPT-MARKER-55b2e8f1: another consignment's invoice".to_vec();
        let (gone, kept) = (id("invoice", 1), id("declaration", 1));
        anchor(&ledger, &gone, &marker);
        anchor(&ledger, &kept, &kept_marker);
        let (gone_key, kept_key) = {
            let docs = DocumentService::open(dir.path(), 1 << 16).unwrap();
            docs.upload(&ledger, &gone, &marker, &[Role::Customs], 1)
                .unwrap();
            docs.upload(&ledger, &kept, &kept_marker, &[], 1).unwrap();
            let gone_key = docs.get::<DocumentKeys>(&gone).unwrap().unwrap();
            let kept_key = docs.get::<DocumentKeys>(&kept).unwrap().unwrap();
            // Encrypted at rest: the plaintexts are in no file, in the log or after a flush.
            for m in [&marker, &kept_marker] {
                assert_eq!(files_containing(dir.path(), m), Vec::<PathBuf>::new());
            }
            // The scan finds what is there: the keys are on disk until forgotten.
            assert!(!files_containing(dir.path(), gone_key.key_bytes()).is_empty());
            for name in DOCUMENT_COLUMN_FAMILIES {
                docs.db.flush_cf(docs.cf(name)).unwrap();
            }
            assert!(!files_containing(dir.path(), gone_key.key_bytes()).is_empty());
            assert_eq!(files_containing(dir.path(), &marker), Vec::<PathBuf>::new());

            docs.forget(&gone, Role::Trader, 2).unwrap();
            assert_eq!(
                files_containing(dir.path(), gone_key.key_bytes()),
                Vec::<PathBuf>::new(),
                "the forgotten key is still on disk"
            );
            assert_eq!(docs.read(&kept, Role::Trader).unwrap(), kept_marker);
            (gone_key, kept_key)
        };
        // Reopened (the write-ahead log replayed), and compacted once more: still gone, the other
        // document still readable.
        let docs = DocumentService::open(dir.path(), 1 << 16).unwrap();
        assert!(matches!(
            docs.read(&gone, Role::Trader),
            Err(DocumentError::Forgotten { .. })
        ));
        docs.erase_deleted(None).unwrap();
        assert_eq!(docs.read(&kept, Role::Trader).unwrap(), kept_marker);
        drop(docs);
        assert_eq!(
            files_containing(dir.path(), gone_key.key_bytes()),
            Vec::<PathBuf>::new()
        );
        assert!(!files_containing(dir.path(), kept_key.key_bytes()).is_empty());
        for m in [&marker, &kept_marker] {
            assert_eq!(files_containing(dir.path(), m), Vec::<PathBuf>::new());
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = DocumentMetas::decode_key(&bytes);
            for b in [bytes.clone(), [&[zkcustoms_ledger_core::store::VALUE_VERSION][..], &bytes[..]].concat()] {
                let _ = DocumentMetas::decode_value(&b);
                let _ = DocumentKeys::decode_value(&b);
                let _ = DocumentBlobs::decode_value(&b);
            }
        }
    }
}
