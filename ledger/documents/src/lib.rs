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
//! Five column families ([`DOCUMENT_COLUMN_FAMILIES`]), four of them keyed like the ledger's
//! `documents` index (`ucr str16 | doc type str16 | version u32`): [`DocumentMetas`] (digest,
//! size, access list, upload time, and who forgot the document and when), [`DocumentKeys`] (the
//! per-document key, wrapped under the node's master key, and nonce), [`DocumentBlobs`] (the
//! ciphertext) and [`DocumentShreds`] (forgotten documents whose erase is not yet confirmed);
//! and [`DocumentMaster`], the id of the master key the database's keys are wrapped under.
//!
//! # Who reads
//!
//! Access lists name parties, not roles: each document records the trader who uploaded it (who
//! may always read it) and its readers ([`Reader`]): every customs office of an administration
//! (`customs:DE`) or one party by its id (an auditor, an authority, another trader). A refusal
//! does not say who the readers are. Who may upload or forget a document (the consignment's
//! owner or a delegate) is the caller's decision, made from the ledger before it calls.
//!
//! # Encryption
//!
//! XChaCha20-Poly1305 with a random 256-bit key and a random 192-bit nonce per document, both from
//! the operating system's RNG. The document key is stored wrapped under the node's
//! [`MasterKey`], kept outside the data directory ([`keys`]): a copy of the directory alone
//! decrypts nothing. The associated data binds the ciphertext to its document:
//! `"zkcustoms/document/v1" | ucr str16 | doc type str16 | version u32 | digest [32]`, so a
//! ciphertext moved under another document, or a document whose anchored digest differs, does not
//! decrypt. After decryption the plaintext's SHA-256 is checked against the anchored digest.
//! [`DocumentService::rotate_master_key`] re-wraps every document key under a new master key and
//! erases the old wraps from the files, crash-safe (the node stopped: `zkcustoms document
//! rotate-master-key`).
//!
//! # Forgetting
//!
//! [`DocumentService::forget`] deletes the key and the ciphertext, marks the document forgotten
//! (by whom, when) and records a shred-pending marker, in one synced batch; then it erases: it
//! flushes every column family (so no write-ahead log still holds the key), compacts the key and
//! ciphertext column families down to the bottommost level (so no table file holds them), purges
//! the obsolete files, checks that RocksDB reported no background error, and only then deletes
//! the marker. A crash, a kill or a failure anywhere in between leaves the marker: the erase is
//! run again when the forget is retried and every time the database is opened, until it is
//! confirmed; a failed erase is an error, never a success. What it
//! cannot reach: copies held by other validators (each node keeps what was uploaded to it; the
//! trader forgets on each), backups or snapshots of the directory taken before, and blocks the
//! file system or the disk keeps after a file is deleted (use encrypted volumes).

pub mod keys;
mod meta;
mod schema;
#[cfg(feature = "test-utils")]
pub mod testing;
#[cfg(test)]
mod tests;

pub use keys::{associated_data, check_key_file_outside, LocalMasterKey, MasterKey, SealKey};
pub use meta::{DocumentMeta, DocumentState, MAX_READERS};
pub use schema::{
    DocumentBlobs, DocumentKeys, DocumentMaster, DocumentMetas, DocumentShreds, StoredKey,
    DOCUMENT_COLUMN_FAMILIES, DOCUMENT_META_VERSION,
};

use keys::{key_wrap_data, MASTER_ID_LEN};
use rocksdb::{
    BottommostLevelCompaction, ColumnFamilyDescriptor, CompactOptions, DBCompressionType,
    IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use zkcustoms_ledger_core::store::{Documents, Schema, Store, StoreError};
use zkcustoms_ledger_types::party::{Party, Reader};
use zkcustoms_ledger_types::tx::{check_party_id, sha256, DocumentKey, Eori};

/// A step of forgetting where a test can inject a fault (with the `test-utils` feature, which
/// only the tests enable); without the feature it is nothing.
macro_rules! step {
    ($name:literal) => {
        #[cfg(feature = "test-utils")]
        fail::fail_point!($name, |_| Err(DocumentError::Injected($name)));
    };
}

mod rotate;

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
    #[error("{id} was forgotten by {by} at {at_ms} ms since the epoch: its key is destroyed and it can never be read again")]
    Forgotten {
        /// The document.
        id: String,
        /// The id of the party that forgot it.
        by: String,
        /// When (milliseconds since the Unix epoch).
        at_ms: u64,
    },
    /// The party may not read the document. The message names neither the uploader nor the
    /// readers: a refusal does not tell who may read.
    #[error("{party} is not on the access list of {id}")]
    NotAllowed {
        /// The document.
        id: String,
        /// The party that asked (kind and id).
        party: String,
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
    /// The access list names more readers than a document may have.
    #[error("the access list names {count} readers, at most {max} are accepted")]
    TooManyReaders {
        /// How many distinct readers it names.
        count: usize,
        /// The limit ([`MAX_READERS`]).
        max: usize,
    },
    /// An entry of the access list is not a reader that an access list can name.
    #[error("invalid reader {reader:?} on the access list: {reason}")]
    InvalidReader {
        /// The entry.
        reader: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A party's id is not one a document record can name (1 to 64 printable ASCII characters).
    #[error("invalid party id {0:?}: a party id is 1 to 64 printable ASCII characters")]
    InvalidParty(String),
    /// The ledger's store failed.
    #[error(transparent)]
    Ledger(#[from] StoreError),
    /// The document database failed.
    #[error("document database: {0}")]
    Db(#[from] rocksdb::Error),
    /// The master key is missing, malformed, not the one the database was written under, or
    /// failed to wrap or unwrap a key.
    #[error("document master key: {0}")]
    MasterKey(String),
    /// Erasing forgotten documents from the database's files failed: the forget is not complete
    /// (it is retried on the next forget of the document and when the database is opened).
    #[error("erasing forgotten documents from disk failed, the forget is not complete: {0}")]
    Erase(String),
    /// A fault injected by a test.
    #[doc(hidden)]
    #[error("injected fault at {0}")]
    Injected(&'static str),
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

/// The node's document service: its own RocksDB database of encrypted documents, whose keys are
/// wrapped under the node's master key.
pub struct DocumentService {
    db: DB,
    path: PathBuf,
    max_bytes: usize,
    master: Arc<dyn MasterKey>,
    /// Reads share it; uploads and forgets take it alone (so no read pins a table file that
    /// forgetting must delete).
    lock: RwLock<()>,
}

impl std::fmt::Debug for DocumentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentService")
            .field("path", &self.path)
            .field("max_bytes", &self.max_bytes)
            .field("master", &hex::encode(self.master.id()))
            .finish()
    }
}

impl DocumentService {
    /// Opens (or creates) the document database at `path`; documents up to `max_bytes` are
    /// accepted; document keys are wrapped under `master`. Opening completes what a crash left
    /// undone: the erase of every forgotten document not yet confirmed, and the wrapping of keys
    /// stored in the clear by older versions (then erased from every file). A database written
    /// under another master key is refused.
    pub fn open(
        path: &Path,
        max_bytes: usize,
        master: Arc<dyn MasterKey>,
    ) -> Result<Self, DocumentError> {
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
        let service = Self {
            db,
            path: path.to_owned(),
            max_bytes,
            master,
            lock: RwLock::new(()),
        };
        service.recover()?;
        Ok(service)
    }

    /// Checks that the database is this master key's, wraps the keys that older versions stored
    /// in the clear, and finishes every erase left pending. The master key is checked against
    /// the one the database records ([`DocumentMaster`]). A database that records none (a new
    /// one, or one written by older versions) has every stored key checked and wrapped
    /// ([`Self::check_and_wrap_stored_keys`]), and the files of the key column family rewritten
    /// so that old key values are in none (older versions may have left a key in the clear in
    /// one, and a crash may have stopped an earlier open between wrapping and erasing); only then
    /// is the master key recorded.
    fn recover(&self) -> Result<(), DocumentError> {
        let _guard = self.write_lock();
        let recorded = self.get::<DocumentMaster>(&())?;
        let rewrite_keys = match recorded {
            Some(master) => {
                self.check_master(master, "the document database")?;
                false
            }
            None => self.check_and_wrap_stored_keys()?,
        };
        let pending = self.pending_erases()?;
        if !pending.is_empty() {
            self.erase_deleted(None)?;
            self.clear_shreds(&pending)?;
        } else if rewrite_keys {
            // Only stored keys were rewritten: their column family's files are.
            self.erase_deleted_in(None, &[DocumentKeys::CF])?;
        }
        if rewrite_keys {
            tracing::info!("document keys checked and their old values erased from every file");
        }
        if !pending.is_empty() {
            tracing::info!(
                documents = pending.len(),
                "pending erases of forgotten documents completed"
            );
        }
        if recorded.is_none() {
            let mut batch = WriteBatch::default();
            self.put::<DocumentMaster>(&mut batch, &(), &self.master.id());
            self.write_synced(batch)?;
        }
        Ok(())
    }

    /// For a database that records no master key: checks every wrapped key against this master
    /// key and wraps, in one synced batch, every key stored in the clear. Returns whether the
    /// database holds any key (whose column family's files the caller must then rewrite). Writes
    /// nothing when a key of another master key is found.
    fn check_and_wrap_stored_keys(&self) -> Result<bool, DocumentError> {
        let mut rewrap = WriteBatch::default();
        let mut plain = 0usize;
        let mut any = false;
        for item in self
            .db
            .iterator_cf(self.cf(DocumentKeys::CF), IteratorMode::Start)
        {
            let (k, v) = item?;
            let id = DocumentKeys::decode_key(&k).map_err(|e| corrupted(DocumentKeys::CF, e))?;
            match DocumentKeys::decode_value(&v).map_err(|e| corrupted(DocumentKeys::CF, e))? {
                StoredKey::Plain(key) => {
                    plain += 1;
                    let wrapped = self.wrap(&id, &key)?;
                    self.put::<DocumentKeys>(&mut rewrap, &id, &wrapped);
                }
                StoredKey::Wrapped { master, .. } => {
                    self.check_master(master, "the document database")?;
                }
            }
            any = true;
        }
        if plain > 0 {
            self.write_synced(rewrap)?;
            tracing::info!(keys = plain, "document keys wrapped under the master key");
        }
        Ok(any)
    }

    /// The documents whose erase a crash left unconfirmed (their shred markers).
    fn pending_erases(&self) -> Result<Vec<DocumentKey>, DocumentError> {
        let mut pending = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(DocumentShreds::CF), IteratorMode::Start)
        {
            let (k, _) = item?;
            pending.push(
                DocumentShreds::decode_key(&k).map_err(|e| corrupted(DocumentShreds::CF, e))?,
            );
        }
        Ok(pending)
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
            Some(bytes) => S::decode_value(&bytes)
                .map(Some)
                .map_err(|e| corrupted(S::CF, e)),
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

    fn wrap(&self, id: &DocumentKey, key: &SealKey) -> Result<StoredKey, DocumentError> {
        let wrapped = self
            .master
            .wrap(key.key_bytes(), &key_wrap_data(id, key.nonce()))?;
        Ok(StoredKey::Wrapped {
            master: self.master.id(),
            wrapped,
            nonce: *key.nonce(),
        })
    }

    /// `Ok` when `master` (the id stored with a wrapped key of `what`) is this node's master key.
    fn check_master(&self, master: [u8; MASTER_ID_LEN], what: &str) -> Result<(), DocumentError> {
        if master == self.master.id() {
            return Ok(());
        }
        Err(DocumentError::MasterKey(format!(
            "{what} was written under master key {}, this node's master key is {}",
            hex::encode(master),
            hex::encode(self.master.id())
        )))
    }

    fn unwrap(&self, id: &DocumentKey, stored: StoredKey) -> Result<SealKey, DocumentError> {
        match stored {
            StoredKey::Plain(key) => Ok(key),
            StoredKey::Wrapped {
                master,
                wrapped,
                nonce,
            } => {
                self.check_master(master, &display_id(id))?;
                let key = self.master.unwrap(&wrapped, &key_wrap_data(id, &nonce))?;
                Ok(SealKey::from_parts(key, nonce))
            }
        }
    }

    /// What the node records about a document, if it received it.
    pub fn meta(&self, id: &DocumentKey) -> Result<Option<DocumentMeta>, DocumentError> {
        let _guard = self.read_lock();
        self.get::<DocumentMetas>(id)
    }

    /// Whether a forgotten document's erase is still to be confirmed.
    pub fn erase_pending(&self, id: &DocumentKey) -> Result<bool, DocumentError> {
        let _guard = self.read_lock();
        Ok(self.get::<DocumentShreds>(id)?.is_some())
    }

    /// Stores a document uploaded by the trader `uploader`: its anchor must be finalized on
    /// `ledger`, its SHA-256 must be the anchored digest, and it must not have been uploaded
    /// before (or forgotten). `readers` is the access list: who may read it besides `uploader`,
    /// who always may (sorted and deduplicated here; at most [`MAX_READERS`] distinct readers,
    /// each as [`Reader::parse`] reads it).
    ///
    /// Who may upload (the consignment's owner, or a trader it delegated to) is not checked here:
    /// the caller (the HTTP layer) decides it from the ledger before calling.
    pub fn upload(
        &self,
        ledger: &Store,
        id: &DocumentKey,
        bytes: &[u8],
        readers: &[Reader],
        uploader: &Eori,
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
        let readers = access_list(readers)?;
        let anchor = ledger
            .get::<Documents>(id)?
            .ok_or_else(|| DocumentError::UnknownAnchor(display_id(id)))?;
        // One upload at a time: the duplicate check and the write must not interleave.
        let _guard = self.write_lock();
        if let Some(existing) = self.get::<DocumentMetas>(id)? {
            return Err(forgotten(id, &existing.state)
                .unwrap_or_else(|| DocumentError::Duplicate(display_id(id))));
        }
        let digest = sha256(bytes);
        if digest != anchor.digest {
            return Err(DocumentError::DigestMismatch {
                id: display_id(id),
                expected: hex::encode(anchor.digest),
                got: hex::encode(digest),
            });
        }
        let key = SealKey::generate();
        let ciphertext = key.seal(bytes, &associated_data(id, &digest));
        let stored = self.wrap(id, &key)?;
        let meta = DocumentMeta {
            digest,
            size: bytes.len() as u64,
            uploader: uploader.clone(),
            readers,
            uploaded_at_ms: now_ms,
            state: DocumentState::Stored,
        };
        let mut batch = WriteBatch::default();
        self.put::<DocumentMetas>(&mut batch, id, &meta);
        self.put::<DocumentKeys>(&mut batch, id, &stored);
        self.put::<DocumentBlobs>(&mut batch, id, &ciphertext);
        self.write_synced(batch)?;
        Ok(meta)
    }

    /// The plaintext of a document, for `by`: its uploader or a party its access list admits
    /// ([`DocumentMeta::may_read`]). Anyone else is refused with [`DocumentError::NotAllowed`],
    /// which does not say who may read; a forgotten document answers
    /// [`DocumentError::Forgotten`] to those who may read it.
    pub fn read(&self, id: &DocumentKey, by: &Party) -> Result<Vec<u8>, DocumentError> {
        let _guard = self.read_lock();
        let meta = self
            .get::<DocumentMetas>(id)?
            .ok_or_else(|| DocumentError::UnknownDocument(display_id(id)))?;
        if !meta.may_read(by) {
            return Err(DocumentError::NotAllowed {
                id: display_id(id),
                party: by.to_string(),
            });
        }
        if let Some(e) = forgotten(id, &meta.state) {
            return Err(e);
        }
        let missing = |cf, reason: &str| corrupted(cf, format!("{}: {reason}", display_id(id)));
        let stored = self
            .get::<DocumentKeys>(id)?
            .ok_or_else(|| missing(DocumentKeys::CF, "the key is missing"))?;
        let key = self.unwrap(id, stored)?;
        let ciphertext = self
            .get::<DocumentBlobs>(id)?
            .ok_or_else(|| missing(DocumentBlobs::CF, "the ciphertext is missing"))?;
        let plaintext = key
            .open(&ciphertext, &associated_data(id, &meta.digest))
            .ok_or_else(|| missing(DocumentBlobs::CF, "the ciphertext does not authenticate"))?;
        if sha256(&plaintext) != meta.digest {
            return Err(missing(
                DocumentBlobs::CF,
                "the plaintext is not the anchored document",
            ));
        }
        Ok(plaintext)
    }

    /// Forgets a document: destroys its key and ciphertext, records who forgot it and when, and
    /// makes sure no file of the database still holds them (flush, compaction, purge of obsolete
    /// files, then a check for background errors) before it returns. The anchored digest and
    /// every proof on the ledger are untouched.
    ///
    /// A forget that failed or was interrupted after its batch was written is completed by the
    /// next call (which answers the document's record) or by the next [`DocumentService::open`];
    /// once the erase is confirmed, a second forget answers [`DocumentError::Forgotten`].
    ///
    /// The record names `by` by its id. Who may forget (the consignment's owner, or a party it
    /// delegated to) is not checked here: the caller (the HTTP layer) decides it from the ledger
    /// before calling.
    pub fn forget(
        &self,
        id: &DocumentKey,
        by: &Party,
        now_ms: u64,
    ) -> Result<DocumentMeta, DocumentError> {
        // The record must decode again: its id is checked before anything is written.
        check_party_id("party", by.id())
            .map_err(|_| DocumentError::InvalidParty(by.id().to_owned()))?;
        let _guard = self.write_lock();
        let mut meta = self
            .get::<DocumentMetas>(id)?
            .ok_or_else(|| DocumentError::UnknownDocument(display_id(id)))?;
        if let Some(e) = forgotten(id, &meta.state) {
            if self.get::<DocumentShreds>(id)?.is_none() {
                return Err(e);
            }
            // An earlier forget did not confirm its erase: finish it now.
            self.erase_deleted(Some(id))?;
            self.clear_shreds(std::slice::from_ref(id))?;
            return Ok(meta);
        }
        meta.state = DocumentState::Forgotten {
            by: by.id().to_owned(),
            at_ms: now_ms,
        };
        let mut batch = WriteBatch::default();
        self.delete::<DocumentKeys>(&mut batch, id);
        self.delete::<DocumentBlobs>(&mut batch, id);
        self.put::<DocumentMetas>(&mut batch, id, &meta);
        self.put::<DocumentShreds>(&mut batch, id, &now_ms);
        step!("forget-before-batch");
        self.write_synced(batch)?;
        step!("forget-after-batch");
        self.erase_deleted(Some(id))?;
        step!("forget-after-erase");
        self.clear_shreds(std::slice::from_ref(id))?;
        Ok(meta)
    }

    /// Deletes the shred-pending markers of documents whose erase is confirmed.
    fn clear_shreds(&self, ids: &[DocumentKey]) -> Result<(), DocumentError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for id in ids {
            self.delete::<DocumentShreds>(&mut batch, id);
        }
        self.write_synced(batch)
    }

    /// Rewrites the database so that deleted values are in no file any more: every memtable is
    /// flushed (the write-ahead logs that held them become obsolete), the table files of the key
    /// and ciphertext column families that hold the document (every one when `id` is `None`) are
    /// compacted through the bottommost level (deleted values and their tombstones are dropped),
    /// and obsolete files are deleted now rather than later. Fails if RocksDB reports a
    /// background error (a failed flush or compaction) while it runs.
    fn erase_deleted(&self, id: Option<&DocumentKey>) -> Result<(), DocumentError> {
        self.erase_deleted_in(id, &[DocumentKeys::CF, DocumentBlobs::CF])
    }

    /// [`Self::erase_deleted`], compacting the table files of the column families `compact`
    /// only.
    fn erase_deleted_in(
        &self,
        id: Option<&DocumentKey>,
        compact: &[&str],
    ) -> Result<(), DocumentError> {
        let errors = || -> Result<u64, DocumentError> {
            Ok(self
                .db
                .property_int_value("rocksdb.background-errors")?
                .unwrap_or(0))
        };
        let before = errors()?;
        let range = id.map(Documents::encode_key);
        for name in DOCUMENT_COLUMN_FAMILIES {
            self.db
                .flush_cf(self.cf(name))
                .map_err(|e| DocumentError::Erase(format!("flushing {name}: {e}")))?;
        }
        step!("erase-after-flush");
        let mut opts = CompactOptions::default();
        opts.set_exclusive_manual_compaction(true);
        opts.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        for name in compact {
            self.db
                .compact_range_cf_opt(self.cf(name), range.as_deref(), range.as_deref(), &opts);
        }
        step!("erase-after-compaction");
        // Re-enabling file deletions scans the directory and deletes every obsolete file at once.
        self.db
            .disable_file_deletions()
            .and_then(|()| self.db.enable_file_deletions())
            .map_err(|e| DocumentError::Erase(format!("purging obsolete files: {e}")))?;
        let after = errors()?;
        if after > before {
            return Err(DocumentError::Erase(format!(
                "RocksDB reported {} background error(s) while compacting: see the node's log",
                after - before
            )));
        }
        Ok(())
    }

    /// The stored (wrapped) key value and the ciphertext of a document, as they are on disk, for
    /// tests that scan the files for them.
    #[doc(hidden)]
    pub fn stored_entries(&self, id: &DocumentKey) -> Result<(Vec<u8>, Vec<u8>), DocumentError> {
        let _guard = self.read_lock();
        let get = |cf: &str| -> Result<Vec<u8>, DocumentError> {
            Ok(self
                .db
                .get_cf(self.cf(cf), Documents::encode_key(id))?
                .unwrap_or_default())
        };
        Ok((get(DocumentKeys::CF)?, get(DocumentBlobs::CF)?))
    }

    /// Runs [`DocumentService::forget`]'s erase over every document (tests).
    #[doc(hidden)]
    pub fn erase_all(&self) -> Result<(), DocumentError> {
        let _guard = self.write_lock();
        self.erase_deleted(None)
    }
}

/// The access list as stored: every reader checked, sorted, without repeats, at most
/// [`MAX_READERS`].
fn access_list(readers: &[Reader]) -> Result<Vec<Reader>, DocumentError> {
    for reader in readers {
        meta::check_reader(reader).map_err(|reason| DocumentError::InvalidReader {
            reader: reader.to_string(),
            reason,
        })?;
    }
    let mut readers = readers.to_vec();
    readers.sort();
    readers.dedup();
    if readers.len() > MAX_READERS {
        return Err(DocumentError::TooManyReaders {
            count: readers.len(),
            max: MAX_READERS,
        });
    }
    Ok(readers)
}

/// [`DocumentError::Forgotten`] for a document in `state`, if it was forgotten.
fn forgotten(id: &DocumentKey, state: &DocumentState) -> Option<DocumentError> {
    match state {
        DocumentState::Stored => None,
        DocumentState::Forgotten { by, at_ms } => Some(DocumentError::Forgotten {
            id: display_id(id),
            by: by.clone(),
            at_ms: *at_ms,
        }),
    }
}

fn corrupted(cf: &'static str, reason: impl std::fmt::Display) -> DocumentError {
    DocumentError::Corrupted {
        cf,
        reason: reason.to_string(),
    }
}
