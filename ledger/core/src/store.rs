//! RocksDB storage: one typed schema per column family, big-endian keys (so iteration follows
//! height and sequence order), values that start with a version byte.
//!
//! The column families and their layouts are in [`crate::schema`] (re-exported here), every one
//! listed in [`COLUMN_FAMILIES`]. A finalized block and all the indices it
//! changes are written in one [`Batch`] with a synced write-ahead log, so after a crash either all
//! of a block is there or none of it is.

use crate::schema::exact;
use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use zkcustoms_ledger_types::block::BlockHeader;
use zkcustoms_ledger_types::codec::{DecodeError, Writer};
use zkcustoms_ledger_types::tx::Hash;

pub use crate::schema::*;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("database: {0}")]
    Db(#[from] rocksdb::Error),
    /// Stored bytes do not decode: the database is corrupted or from another version.
    #[error("corrupted entry in {cf}: {error}")]
    Corrupted {
        /// The column family.
        cf: &'static str,
        /// What is wrong.
        error: DecodeError,
    },
    /// The database belongs to another ledger.
    #[error("{0}")]
    Mismatch(String),
    /// A write refused by [`Store::fail_writes_after`]: a crash simulated between two writes.
    #[cfg(feature = "test-utils")]
    #[error("write refused by an injected fault")]
    InjectedFault,
}

/// Nullifiers indexed per batch when a format-1 database is upgraded.
const UPGRADE_BATCH: usize = 10_000;

/// One write: column family, key, value (`None` deletes).
type Op = (&'static str, Vec<u8>, Option<Vec<u8>>);

/// A decoded entry of a schema.
pub type Entry<S> = (<S as Schema>::Key, <S as Schema>::Value);

/// Writes collected for one atomic, synced commit.
#[derive(Default)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a value.
    pub fn put<S: Schema>(&mut self, key: &S::Key, value: &S::Value) -> &mut Self {
        self.put_encoded::<S>(key, S::encode_value(value))
    }

    /// Puts a value `S` encoded elsewhere (by a helper of `S` that writes what
    /// [`Schema::encode_value`] would) under a key.
    pub(crate) fn put_encoded<S: Schema>(&mut self, key: &S::Key, value: Vec<u8>) -> &mut Self {
        self.ops.push((S::CF, S::encode_key(key), Some(value)));
        self
    }

    /// Puts bytes as they are under a key (tests that store what no schema encodes).
    #[cfg(test)]
    pub(crate) fn put_raw(&mut self, cf: &'static str, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((cf, key, Some(value)));
    }

    /// Deletes a key.
    pub fn delete<S: Schema>(&mut self, key: &S::Key) -> &mut Self {
        self.ops.push((S::CF, S::encode_key(key), None));
        self
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The ledger database.
pub struct Store {
    db: DB,
    path: PathBuf,
    format: u8,
    /// How many more writes succeed before [`StoreError::InjectedFault`] (`usize::MAX`: all).
    #[cfg(feature = "test-utils")]
    writes_left: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the database with every column family, and brings a database of an
    /// older [format](FORMAT) up to this release's: a format-1 database gets its
    /// [`NullifierIndex`] written from its nullifiers, in batches, the format recorded last (a
    /// crash part-way leaves a format-1 database whose next opening starts again).
    ///
    /// An existing database is opened with the column families it has: one missing a family its
    /// format holds is damaged and refused, never given an empty one (rules checked against an
    /// empty set of nullifiers would let one be used twice), and one holding a family this release
    /// does not know is refused as another release's.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut store = Self::open_as_stored(path, None)?;
        store.upgrade(UPGRADE_BATCH)?;
        Ok(store)
    }

    /// Opens (or creates) the database as [`Store::open`] does, for the chain `chain_id`: another
    /// chain's database is refused before anything is written to it (an upgrade included), and
    /// one not bound to a chain yet is bound to this one.
    pub fn open_for_chain(path: &Path, chain_id: &Hash) -> Result<Self, StoreError> {
        let mut store = Self::open_as_stored(path, Some(chain_id))?;
        store.upgrade(UPGRADE_BATCH)?;
        store.bind_chain(chain_id)?;
        Ok(store)
    }

    /// Opens (or creates) the database with every column family, in the format it was written in;
    /// with `chain`, refuses another chain's database before adding a column family to it.
    fn open_as_stored(path: &Path, chain: Option<&Hash>) -> Result<Self, StoreError> {
        let existing = path.join("CURRENT").exists();
        let present = if existing {
            DB::list_cf(&Options::default(), path)?
        } else {
            COLUMN_FAMILIES.iter().map(|cf| cf.to_string()).collect()
        };
        if let Some(cf) = present
            .iter()
            .find(|p| *p != "default" && !COLUMN_FAMILIES.contains(&p.as_str()))
        {
            return Err(StoreError::Mismatch(format!(
                "the database at {} has a column family {cf} this release does not know: it was \
                 written by a newer release or is not a ledger database",
                path.display()
            )));
        }
        let (open, missing): (Vec<&str>, Vec<&str>) = COLUMN_FAMILIES
            .into_iter()
            .partition(|cf| present.iter().any(|p| p == cf));
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(!existing);
        let cfs = open
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let mut store = Self::with(db, path);
        if let Some(chain_id) = chain.filter(|_| open.contains(&Meta::CF)) {
            store.check_chain(chain_id)?;
        }
        // A database that holds nothing a ledger wrote (no format recorded, no block) is one
        // whose creation a crash cut short between its column families: it is completed.
        if !missing.is_empty() && !store.is_unstarted(&open) {
            if open.contains(&Meta::CF) {
                store.format = store.read_format()?;
            }
            store.refuse_missing(&missing)?;
        }
        for cf in missing {
            store.db.create_cf(cf, &Options::default())?;
        }
        store.format = store.read_format()?;
        Ok(store)
    }

    /// Whether a database opened with the column families `open` holds no recorded format and
    /// no block (an unreadable entry counts as something written).
    fn is_unstarted(&self, open: &[&str]) -> bool {
        let empty = |cf: &str| {
            !open.contains(&cf)
                || self
                    .db
                    .iterator_cf(self.cf(cf), IteratorMode::Start)
                    .next()
                    .is_none()
        };
        empty(Meta::CF) && empty(Blocks::CF)
    }

    /// Opens an existing database read-only (an auditor's view of a stopped node's store): nothing
    /// is created or written, and a missing database or column family is an error, but for the
    /// indices a database of an older format does not have yet (its [`Store::format`] says which
    /// queries read around them).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let present = DB::list_cf(&Options::default(), path)?;
        let (open, missing): (Vec<&str>, Vec<&str>) = COLUMN_FAMILIES
            .into_iter()
            .partition(|cf| present.iter().any(|p| p == cf));
        let db = DB::open_cf_for_read_only(&Options::default(), path, open, false)?;
        let mut store = Self::with(db, path);
        store.format = store.read_format()?;
        store.refuse_missing(&missing)?;
        Ok(store)
    }

    /// Refuses a database of the stored format that lacks one of `missing`: only an index a
    /// newer format added ([`NullifierIndex`], format 2) may be absent from an older database.
    fn refuse_missing(&self, missing: &[&str]) -> Result<(), StoreError> {
        let since = |cf: &str| if cf == NullifierIndex::CF { 2 } else { 1 };
        match missing.iter().find(|cf| since(cf) <= self.format) {
            Some(cf) => Err(StoreError::Mismatch(format!(
                "the database at {} has no column family {cf}: it is damaged or not a ledger \
                 database",
                self.path.display()
            ))),
            None => Ok(()),
        }
    }

    fn with(db: DB, path: &Path) -> Self {
        Self {
            db,
            path: path.to_owned(),
            format: FORMAT,
            #[cfg(feature = "test-utils")]
            writes_left: std::sync::atomic::AtomicUsize::new(usize::MAX),
        }
    }

    /// The stored format: 1 where none is recorded; a newer one than this release's is refused.
    fn read_format(&self) -> Result<u8, StoreError> {
        let format = match self.get::<Meta>(&META_FORMAT)? {
            None => 1,
            Some(v) => match v[..] {
                [f] => f,
                _ => {
                    return Err(StoreError::Corrupted {
                        cf: Meta::CF,
                        error: DecodeError::invalid("format", format!("{} bytes", v.len())),
                    })
                }
            },
        };
        if format > FORMAT {
            return Err(StoreError::Mismatch(format!(
                "the database at {} has format {format}, newer than this release's ({FORMAT}): \
                 open it with the release that wrote it or a later one",
                self.path.display()
            )));
        }
        Ok(format)
    }

    /// The database's format: [`FORMAT`] once opened for writing; a read-only database keeps the
    /// format it was written in.
    pub fn format(&self) -> u8 {
        self.format
    }

    /// Brings the database up to [`FORMAT`]: for format 1, writes the [`NullifierIndex`] of every
    /// stored nullifier, `chunk` entries per batch, and records the format in the last batch.
    /// Re-writing an index entry is harmless, so a crash part-way leaves a format-1 database whose
    /// next opening starts again.
    fn upgrade(&mut self, chunk: usize) -> Result<(), StoreError> {
        if self.format >= FORMAT {
            return Ok(());
        }
        let chunk = chunk.max(1);
        let mut from = Vec::new();
        loop {
            let entries = self.scan_prefix_from::<Nullifiers>(&[], &from, chunk)?;
            let mut b = Batch::new();
            for ((scope, n), loc) in &entries {
                b.put::<NullifierIndex>(&(*n, *scope), loc);
            }
            let last = entries.len() < chunk;
            if last {
                b.put::<Meta>(&META_FORMAT, &vec![FORMAT]);
            }
            self.write(b, true)?;
            if last {
                self.format = FORMAT;
                return Ok(());
            }
            if let Some((key, _)) = entries.last() {
                from = successor(&Nullifiers::encode_key(key));
            }
        }
    }

    /// The first key, in key order, at which the column family `cf` holds something else here
    /// than in `other`, and what: compared as stored, nothing decoded. `None` when they hold the
    /// same entries. (An auditor compares a store's derived column families with those its
    /// replay of the blocks wrote.)
    pub fn first_difference(
        &self,
        other: &Store,
        cf: &str,
    ) -> Result<Option<(Vec<u8>, Difference)>, StoreError> {
        let mut here = self.db.iterator_cf(self.cf(cf), IteratorMode::Start);
        let mut there = other.db.iterator_cf(other.cf(cf), IteratorMode::Start);
        let (mut a, mut b) = (here.next().transpose()?, there.next().transpose()?);
        loop {
            let (ka, va, kb, vb) = match (&a, &b) {
                (None, None) => return Ok(None),
                (Some((k, _)), None) => return Ok(Some((k.to_vec(), Difference::Extra))),
                (None, Some((k, _))) => return Ok(Some((k.to_vec(), Difference::Missing))),
                (Some((ka, va)), Some((kb, vb))) => (ka, va, kb, vb),
            };
            match ka.cmp(kb) {
                std::cmp::Ordering::Less => return Ok(Some((ka.to_vec(), Difference::Extra))),
                std::cmp::Ordering::Greater => return Ok(Some((kb.to_vec(), Difference::Missing))),
                std::cmp::Ordering::Equal if va != vb => {
                    return Ok(Some((ka.to_vec(), Difference::Changed)))
                }
                std::cmp::Ordering::Equal => {}
            }
            a = here.next().transpose()?;
            b = there.next().transpose()?;
        }
    }

    /// The stored bytes of a key, undecoded (an auditor decodes them itself to locate damage).
    pub fn get_raw<S: Schema>(&self, key: &S::Key) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(S::CF), S::encode_key(key))?)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family of the database's format is opened")
    }

    /// Reads a value.
    pub fn get<S: Schema>(&self, key: &S::Key) -> Result<Option<S::Value>, StoreError> {
        decode_value::<S>(self.db.get_cf(self.cf(S::CF), S::encode_key(key))?)
    }

    /// True when the key is present.
    pub fn contains<S: Schema>(&self, key: &S::Key) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(S::CF), S::encode_key(key))?
            .is_some())
    }

    /// Every entry whose encoded key starts with `prefix`, in key order (at most `limit`).
    pub fn scan_prefix<S: Schema>(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry<S>>, StoreError> {
        self.scan_prefix_from::<S>(prefix, prefix, limit)
    }

    /// The entries whose encoded key starts with `prefix` and is at or after `from`, in key order
    /// (at most `limit`): the next page of a list whose last key shown was `k` starts
    /// [`from`](Self::scan_prefix_from) `successor(k)`. A `from` before `prefix` reads from the
    /// prefix's first key.
    pub fn scan_prefix_from<S: Schema>(
        &self,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry<S>>, StoreError> {
        let from = from.max(prefix);
        let mut out = Vec::new();
        let iter = self
            .db
            .iterator_cf(self.cf(S::CF), IteratorMode::From(from, Direction::Forward));
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push(decode_entry::<S>(&k, &v)?);
        }
        Ok(out)
    }

    /// The entries whose encoded key starts with `prefix` and comes before `before` (every one of
    /// them when `None`), last key first (at most `limit`): newest-first pages.
    pub fn scan_prefix_back<S: Schema>(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry<S>>, StoreError> {
        // Seek to the last key at or before the bound (past every key with this prefix when
        // there is none), then walk back, skipping the bound itself.
        let upper = before.map_or_else(|| after_prefix(prefix), <[u8]>::to_vec);
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.cf(S::CF),
            IteratorMode::From(&upper, Direction::Reverse),
        );
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if before.is_some_and(|b| *k >= *b) {
                continue;
            }
            if !k.starts_with(prefix) {
                break;
            }
            out.push(decode_entry::<S>(&k, &v)?);
        }
        Ok(out)
    }

    /// The last entry whose encoded key starts with `prefix`.
    pub fn last_with_prefix<S: Schema>(
        &self,
        prefix: &[u8],
    ) -> Result<Option<Entry<S>>, StoreError> {
        let upper = after_prefix(prefix);
        let from = IteratorMode::From(&upper, Direction::Reverse);
        last_of::<S>(self.db.iterator_cf(self.cf(S::CF), from), prefix)
    }

    /// The database as of now: reads through the snapshot see no later write.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            store: self,
            inner: self.db.snapshot(),
        }
    }

    /// Lets the next `n` writes succeed and refuses every later one, writing nothing, until
    /// [`Store::heal`]: what a crash after `n` writes leaves on disk.
    #[cfg(feature = "test-utils")]
    pub fn fail_writes_after(&self, n: usize) {
        self.writes_left
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Ends [`Store::fail_writes_after`]: every write succeeds again.
    #[cfg(feature = "test-utils")]
    pub fn heal(&self) {
        self.fail_writes_after(usize::MAX);
    }

    /// Writes a batch atomically; `sync` waits for the write-ahead log to reach the disk.
    pub fn write(&self, batch: Batch, sync: bool) -> Result<(), StoreError> {
        #[cfg(feature = "test-utils")]
        {
            use std::sync::atomic::Ordering;
            let left = self.writes_left.load(Ordering::SeqCst);
            if left == 0 {
                return Err(StoreError::InjectedFault);
            }
            if left != usize::MAX {
                self.writes_left.store(left - 1, Ordering::SeqCst);
            }
        }
        let mut wb = WriteBatch::default();
        for (cf, k, v) in batch.ops {
            match v {
                Some(v) => wb.put_cf(self.cf(cf), k, v),
                None => wb.delete_cf(self.cf(cf), k),
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db.write_opt(wb, &opts)?;
        Ok(())
    }

    /// The finalized tip: height and hash (height 0 and the chain id before the first block).
    pub fn tip(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        match self.get::<Meta>(&META_TIP)? {
            None => Ok(None),
            Some(bytes) => exact(&bytes, |r| Ok((r.u64("height")?, r.array("hash")?)))
                .map(Some)
                .map_err(|error| StoreError::Corrupted {
                    cf: Meta::CF,
                    error,
                }),
        }
    }

    /// Encodes a tip for [`META_TIP`].
    pub fn tip_value(height: u64, hash: &Hash) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(height).fixed(hash);
        w.finish()
    }

    /// The finalized block at a height.
    pub fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        self.get::<Blocks>(&height)
    }

    /// The finalized block at a height as stored, its transactions not decoded (what is served
    /// to a peer catching up or asking for a block).
    pub fn raw_block(&self, height: u64) -> Result<Option<RawStoredBlock>, StoreError> {
        self.read_block_value(height, RawStoredBlock::decode_value)
    }

    /// [`Store::raw_block`] when the block is at most `max_len` bytes long; of a longer one, only
    /// its length (`Err`), its bytes not copied.
    pub fn raw_block_within(
        &self,
        height: u64,
        max_len: usize,
    ) -> Result<Option<Result<RawStoredBlock, usize>>, StoreError> {
        self.read_block_value(height, |v| RawStoredBlock::decode_value_within(v, max_len))
    }

    /// The header of the finalized block at a height, read without decoding its transactions.
    pub fn block_header(&self, height: u64) -> Result<Option<BlockHeader>, StoreError> {
        self.read_block_value(height, RawStoredBlock::peek_header)
    }

    /// Reads what `read` takes from the [`Blocks`] value at a height, without copying it.
    fn read_block_value<T>(
        &self,
        height: u64,
        read: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self
            .db
            .get_pinned_cf(self.cf(Blocks::CF), Blocks::encode_key(&height))?
        else {
            return Ok(None);
        };
        read(&bytes)
            .map(Some)
            .map_err(|error| StoreError::Corrupted {
                cf: Blocks::CF,
                error,
            })
    }

    /// Binds the database to a chain id on first use, and refuses another chain's database.
    pub fn bind_chain(&self, chain_id: &Hash) -> Result<(), StoreError> {
        if self.check_chain(chain_id)? {
            return Ok(());
        }
        let mut b = Batch::new();
        b.put::<Meta>(&META_CHAIN_ID, &chain_id.to_vec());
        b.put::<Meta>(&META_TIP, &Self::tip_value(0, chain_id));
        self.write(b, true)
    }

    /// Refuses another chain's database; `true` when it is bound to `chain_id`, `false` when it
    /// is bound to none yet.
    fn check_chain(&self, chain_id: &Hash) -> Result<bool, StoreError> {
        match self.get::<Meta>(&META_CHAIN_ID)? {
            Some(id) if id == chain_id => Ok(true),
            Some(id) => Err(StoreError::Mismatch(format!(
                "the database at {} belongs to chain {}, not to this genesis ({})",
                self.path.display(),
                hex::encode(id),
                hex::encode(chain_id)
            ))),
            None => Ok(false),
        }
    }
}

/// The database as of one moment ([`Store::snapshot`]): reads through it see no write made after
/// it was taken, so that a check can run against one state while finalizations go on.
pub struct Snapshot<'a> {
    store: &'a Store,
    inner: rocksdb::Snapshot<'a>,
}

/// The finalized state as the rules read it: the database as it is, or as of a [`Snapshot`].
#[derive(Clone, Copy)]
pub enum State<'a> {
    /// The database as it is at each read.
    Live(&'a Store),
    /// The database as of a snapshot.
    At(&'a Snapshot<'a>),
}

impl<'a> State<'a> {
    /// Reads a value.
    pub fn get<S: Schema>(&self, key: &S::Key) -> Result<Option<S::Value>, StoreError> {
        match self {
            Self::Live(store) => store.get::<S>(key),
            Self::At(snap) => decode_value::<S>(
                snap.inner
                    .get_cf(snap.store.cf(S::CF), S::encode_key(key))?,
            ),
        }
    }

    /// True when the key is present.
    pub fn contains<S: Schema>(&self, key: &S::Key) -> Result<bool, StoreError> {
        match self {
            Self::Live(store) => store.contains::<S>(key),
            Self::At(snap) => Ok(snap
                .inner
                .get_pinned_cf(snap.store.cf(S::CF), S::encode_key(key))?
                .is_some()),
        }
    }

    /// The entry with the greatest key among those starting with `prefix`.
    pub fn last_with_prefix<S: Schema>(
        &self,
        prefix: &[u8],
    ) -> Result<Option<Entry<S>>, StoreError> {
        match self {
            Self::Live(store) => store.last_with_prefix::<S>(prefix),
            Self::At(snap) => {
                let upper = after_prefix(prefix);
                let from = IteratorMode::From(&upper, Direction::Reverse);
                last_of::<S>(snap.inner.iterator_cf(snap.store.cf(S::CF), from), prefix)
            }
        }
    }
}

fn decode_value<S: Schema>(bytes: Option<Vec<u8>>) -> Result<Option<S::Value>, StoreError> {
    bytes
        .map(|b| S::decode_value(&b))
        .transpose()
        .map_err(|error| StoreError::Corrupted { cf: S::CF, error })
}

/// A key after every key starting with `prefix` (the keys of a schema are shorter than 64 bytes
/// past any prefix), where a reverse scan of the prefix starts.
fn after_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut upper = prefix.to_vec();
    upper.extend_from_slice(&[0xff; 64]);
    upper
}

/// The first entry of a reverse scan if its key starts with `prefix`.
fn last_of<S: Schema>(
    mut iter: rocksdb::DBIterator<'_>,
    prefix: &[u8],
) -> Result<Option<Entry<S>>, StoreError> {
    let Some(item) = iter.next() else {
        return Ok(None);
    };
    let (k, v) = item?;
    if !k.starts_with(prefix) {
        return Ok(None);
    }
    decode_entry::<S>(&k, &v).map(Some)
}

/// The smallest key after `key` in byte order (`key` followed by a zero byte): where a page that
/// continues after `key` starts.
pub fn successor(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.extend_from_slice(key);
    k.push(0);
    k
}

fn decode_entry<S: Schema>(k: &[u8], v: &[u8]) -> Result<Entry<S>, StoreError> {
    let corrupted = |error| StoreError::Corrupted { cf: S::CF, error };
    Ok((
        S::decode_key(k).map_err(corrupted)?,
        S::decode_value(v).map_err(corrupted)?,
    ))
}

/// How a column family differs from another store's at a key ([`Store::first_difference`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Only this store holds the key.
    Extra,
    /// Only the other store holds the key.
    Missing,
    /// Both hold the key, with other values.
    Changed,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Difference::Extra => "an entry the blocks do not make",
            Difference::Missing => "no entry where the blocks make one",
            Difference::Changed => "another value than the blocks make",
        })
    }
}

/// A store in a temporary directory, removed on drop (for tests).
pub struct TempStore {
    /// The store.
    pub store: Store,
    _dir: TempDirGuard,
}

struct TempDirGuard(PathBuf);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempStore {
    /// A fresh, empty store.
    pub fn new() -> Result<Self, StoreError> {
        use rand::RngCore;
        let mut b = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let dir = std::env::temp_dir().join(format!("zkcustoms-store-{}", hex::encode(b)));
        let store = Store::open(&dir)?;
        Ok(Self {
            store,
            _dir: TempDirGuard(dir),
        })
    }
}

impl std::ops::Deref for TempStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use zkcustoms_circuits::invoice::SizeClass;
    use zkcustoms_circuits::{CircuitId, Fr};
    use zkcustoms_ledger_types::block::Block;
    use zkcustoms_ledger_types::crypto;
    use zkcustoms_ledger_types::tx::{sha256, AnchorDocument, Eori};
    use zkcustoms_ledger_types::tx::{DocumentKey, Transaction, Ucr};

    fn ucr() -> Ucr {
        Ucr::parse("6DE1234-2026-1").unwrap()
    }

    fn loc() -> TxLocation {
        TxLocation {
            height: 300,
            index: 2,
        }
    }

    fn anchor() -> Transaction {
        Transaction::AnchorDocument(AnchorDocument {
            ucr: ucr(),
            doc_type: "invoice".into(),
            digest: sha256(b"x"),
            reference: "vault://x".into(),
            version: 1,
            supersedes: None,
            trader: eori(),
            signature: crypto::unsigned(),
        })
    }

    fn eori() -> Eori {
        Eori::parse("DE1234").unwrap()
    }

    fn round_trip<S: Schema>(k: S::Key, v: S::Value)
    where
        S::Key: PartialEq + std::fmt::Debug,
        S::Value: PartialEq + std::fmt::Debug,
    {
        assert_eq!(S::decode_key(&S::encode_key(&k)).unwrap(), k, "{}", S::CF);
        let bytes = S::encode_value(&v);
        assert_eq!(S::decode_value(&bytes).unwrap(), v, "{}", S::CF);
        let mut wrong = bytes.clone();
        wrong[0] = 9;
        assert!(S::decode_value(&wrong).is_err());
        assert!(S::decode_value(&bytes[..bytes.len() - 1]).is_err());
    }

    /// A stored block read raw is the same block, value and length as the decoded one; its
    /// transactions are decoded only when asked, and a damaged one is found then.
    #[test]
    fn stored_blocks_read_raw_encode_as_stored() {
        let store = TempStore::new().unwrap();
        let block = Block::new(1, sha256(b"p"), 5, [1; 32], vec![anchor(), anchor()]);
        for (height, finality) in [
            (
                1,
                Finality::Certificate {
                    view: 9,
                    certificate: vec![7; 100],
                },
            ),
            (2, Finality::Descendant(3)),
        ] {
            let stored = StoredBlock {
                block: block.clone(),
                finality,
            };
            let mut b = Batch::new();
            b.put::<Blocks>(&height, &stored);
            store.write(b, false).unwrap();
            let raw = store.raw_block(height).unwrap().expect("stored");
            assert_eq!(raw, RawStoredBlock::of(&stored));
            assert_eq!(raw.encode_value(), Blocks::encode_value(&stored));
            assert_eq!(raw.encoded_len(), raw.encode_value().len());
            assert_eq!(
                (raw.header.clone(), raw.hash()),
                (block.header.clone(), block.hash())
            );
            assert_eq!(raw.decode_block(|_| None).unwrap(), block);
            // Within a length: the same block when it fits, its length alone when it does not.
            let len = raw.block.len();
            assert_eq!(
                store.raw_block_within(height, len).unwrap(),
                Some(Ok(raw.clone()))
            );
            assert_eq!(
                store.raw_block_within(height, len - 1).unwrap(),
                Some(Err(len))
            );
        }
        assert_eq!(store.raw_block_within(3, usize::MAX).unwrap(), None);
        // A value whose transactions are damaged reads raw (its header is whole), and fails
        // to decode in full.
        let mut value = Blocks::encode_value(&StoredBlock {
            block: block.clone(),
            finality: Finality::Descendant(3),
        });
        let at = value.len() - 20;
        value[at] ^= 1;
        let raw = RawStoredBlock::decode_value(&value).unwrap();
        assert_eq!(raw.header, block.header);
        assert!(raw.decode_block(|_| None).is_err());
        assert!(Blocks::decode_value(&value).is_err());
        // A value cut short, or with a trailing byte, or of another version does not read.
        assert!(RawStoredBlock::decode_value(&value[..value.len() - 1]).is_err());
        let mut long = value.clone();
        long.push(0);
        assert!(RawStoredBlock::decode_value(&long).is_err());
        value[0] = VALUE_VERSION + 1;
        assert!(RawStoredBlock::decode_value(&value).is_err());
        assert!(RawStoredBlock::peek_header(&value).is_err());
    }

    #[test]
    fn every_schema_round_trips() {
        let block = Block::new(3, sha256(b"p"), 5, [1; 32], vec![anchor()]);
        round_trip::<Meta>(META_TIP, vec![1, 2, 3]);
        round_trip::<Blocks>(
            3,
            StoredBlock {
                block: block.clone(),
                finality: Finality::Certificate {
                    view: 9,
                    certificate: vec![7; 100],
                },
            },
        );
        round_trip::<Blocks>(
            2,
            StoredBlock {
                block: block.clone(),
                finality: Finality::Descendant(3),
            },
        );
        round_trip::<BlockHashes>(sha256(b"b"), 3);
        let store = TempStore::new().unwrap();
        let mut b = Batch::new();
        b.put::<Blocks>(
            &3,
            &StoredBlock {
                block: block.clone(),
                finality: Finality::Descendant(4),
            },
        );
        store.write(b, false).unwrap();
        assert_eq!(store.block_header(3).unwrap(), Some(block.header.clone()));
        assert_eq!(store.block_header(4).unwrap(), None);
        assert_eq!(store.raw_block(4).unwrap(), None);
        round_trip::<Transactions>(sha256(b"t"), loc());
        round_trip::<Records>((ucr(), loc()), anchor());
        round_trip::<Nullifiers>((sha256(b"scope"), Fr::from(99u64)), loc());
        round_trip::<NullifierIndex>((Fr::from(99u64), sha256(b"scope")), loc());
        round_trip::<Claims>(sha256(b"c"), loc());
        round_trip::<RegistryRoots>(
            ("DE-GZD".into(), 4),
            RootEntry {
                root: Fr::from(5u64),
                height: 6,
                timestamp_ms: 7,
            },
        );
        round_trip::<RootIndex>(("DE-GZD".into(), Fr::from(5u64)), 4);
        round_trip::<Documents>(
            DocumentKey {
                ucr: ucr(),
                doc_type: "invoice".into(),
                version: 2,
            },
            DocumentEntry {
                digest: sha256(b"d"),
                reference: "vault://d".into(),
                location: loc(),
            },
        );
        round_trip::<Digests>((sha256(b"d"), ucr()), ("invoice".into(), 2));
        round_trip::<Examinations>(
            ucr(),
            ExaminationEntry {
                office: "DE-HH".into(),
                location: loc(),
                timestamp_ms: 8,
            },
        );
        round_trip::<VerifyingKeys>(
            sha256(b"k"),
            (CircuitId::InvoiceValueV1(SizeClass::Lines16), vec![1, 2, 3]),
        );
        round_trip::<VerifyingKeys>(
            sha256(b"k"),
            (CircuitId::DeclarationMatchV1(SizeClass::Lines4), vec![4]),
        );
        // A pending block stored from its canonical bytes is stored as its schema encodes it.
        assert_eq!(
            PendingBlocks::value_from_bytes(&block.to_bytes()),
            PendingBlocks::encode_value(&block)
        );
        round_trip::<PendingBlocks>(sha256(b"b"), block);
        let key = crypto::public_of(&crypto::generate());
        for public_key in [Some(key), None] {
            round_trip::<TraderKeys>(
                (eori(), 3),
                TraderKeyEntry {
                    public_key,
                    office: "DE-HH".into(),
                    location: loc(),
                },
            );
        }
        round_trip::<Owners>(
            ucr(),
            OwnerEntry {
                owner: eori(),
                location: loc(),
            },
        );
        for active in [true, false] {
            round_trip::<Delegations>(
                (eori(), Eori::parse("NL99").unwrap()),
                DelegationEntry {
                    sequence: 2,
                    active,
                    location: loc(),
                },
            );
        }
    }

    /// Reads through a snapshot see the database as it was when it was taken; live reads see
    /// every later write.
    #[test]
    fn a_snapshot_sees_no_later_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let entry = |office: &str| TraderKeyEntry {
            public_key: None,
            office: office.into(),
            location: loc(),
        };
        let mut b = Batch::new();
        b.put::<TraderKeys>(&(eori(), 1), &entry("DE-HH"));
        store.write(b, true).unwrap();

        let snapshot = store.snapshot();
        let mut b = Batch::new();
        b.put::<TraderKeys>(&(eori(), 2), &entry("DE-B"));
        b.put::<Owners>(
            &ucr(),
            &OwnerEntry {
                owner: eori(),
                location: loc(),
            },
        );
        store.write(b, true).unwrap();

        let prefix = trader_keys_prefix(&eori());
        let (then, now) = (State::At(&snapshot), State::Live(&store));
        let sequence = |s: State| {
            s.last_with_prefix::<TraderKeys>(&prefix)
                .unwrap()
                .unwrap()
                .0
                 .1
        };
        assert_eq!((sequence(then), sequence(now)), (1, 2));
        assert!(!then.contains::<Owners>(&ucr()).unwrap());
        assert!(then.get::<Owners>(&ucr()).unwrap().is_none());
        assert!(now.contains::<Owners>(&ucr()).unwrap());
        assert_eq!(now.get::<Owners>(&ucr()).unwrap().unwrap().owner, eori());
        assert_eq!(
            then.get::<TraderKeys>(&(eori(), 1)).unwrap(),
            Some(entry("DE-HH"))
        );
    }

    #[test]
    fn keys_sort_by_height_and_prefixes_stay_apart() {
        let a = Records::encode_key(&(
            ucr(),
            TxLocation {
                height: 2,
                index: 0,
            },
        ));
        let b = Records::encode_key(&(
            ucr(),
            TxLocation {
                height: 256,
                index: 0,
            },
        ));
        assert!(a < b);
        let short = Ucr::parse("AB").unwrap();
        let long = Ucr::parse("ABC").unwrap();
        assert!(!Records::encode_key(&(long, loc())).starts_with(&records_prefix(&short)));
    }

    #[test]
    fn store_writes_reads_and_scans() {
        let store = TempStore::new().unwrap();
        let chain = sha256(b"chain");
        store.bind_chain(&chain).unwrap();
        store.bind_chain(&chain).unwrap();
        assert!(matches!(
            store.bind_chain(&sha256(b"other")),
            Err(StoreError::Mismatch(_))
        ));
        assert_eq!(store.tip().unwrap(), Some((0, chain)));
        let mut b = Batch::new();
        for seq in 1..=3u64 {
            b.put::<RegistryRoots>(
                &("DE-GZD".into(), seq),
                &RootEntry {
                    root: Fr::from(seq),
                    height: seq,
                    timestamp_ms: seq * 10,
                },
            );
        }
        b.put::<RegistryRoots>(
            &("DE-GZDX".into(), 9),
            &RootEntry {
                root: Fr::from(9u64),
                height: 9,
                timestamp_ms: 90,
            },
        );
        store.write(b, true).unwrap();
        let all = store
            .scan_prefix::<RegistryRoots>(&roots_prefix("DE-GZD"), 100)
            .unwrap();
        assert_eq!(all.len(), 3);
        let (key, last) = store
            .last_with_prefix::<RegistryRoots>(&roots_prefix("DE-GZD"))
            .unwrap()
            .unwrap();
        assert_eq!((key.1, last.root), (3, Fr::from(3u64)));
        assert!(store
            .last_with_prefix::<RegistryRoots>(&roots_prefix("FR"))
            .unwrap()
            .is_none());
        let mut b = Batch::new();
        b.delete::<RegistryRoots>(&("DE-GZD".into(), 3));
        store.write(b, false).unwrap();
        assert!(store
            .get::<RegistryRoots>(&("DE-GZD".into(), 3))
            .unwrap()
            .is_none());
    }

    fn no_panic<S: Schema>(bytes: &[u8]) {
        let _ = S::decode_key(bytes);
        let _ = S::decode_value(bytes);
        let mut versioned = vec![VALUE_VERSION];
        versioned.extend_from_slice(bytes);
        let _ = S::decode_value(&versioned);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            no_panic::<Meta>(&bytes);
            no_panic::<Blocks>(&bytes);
            no_panic::<BlockHashes>(&bytes);
            no_panic::<Transactions>(&bytes);
            no_panic::<Records>(&bytes);
            no_panic::<Nullifiers>(&bytes);
            no_panic::<Claims>(&bytes);
            no_panic::<RegistryRoots>(&bytes);
            no_panic::<RootIndex>(&bytes);
            no_panic::<Documents>(&bytes);
            no_panic::<Digests>(&bytes);
            no_panic::<Examinations>(&bytes);
            no_panic::<VerifyingKeys>(&bytes);
            no_panic::<PendingBlocks>(&bytes);
            no_panic::<NullifierIndex>(&bytes);
        }
    }

    fn nullifier(i: u64) -> ((Hash, Fr), TxLocation) {
        let loc = TxLocation {
            height: i,
            index: 1,
        };
        ((sha256(&i.to_be_bytes()), Fr::from(1000 + i)), loc)
    }

    /// A database written before the nullifier index: no `nullifier_index` column family, no
    /// format recorded; `indexed` of its nullifiers are in an index all the same (an upgrade
    /// interrupted part-way).
    fn format_1_database(dir: &Path, nullifiers: u64, indexed: u64) {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let old = COLUMN_FAMILIES
            .iter()
            .filter(|cf| **cf != NullifierIndex::CF);
        let mut db = DB::open_cf(&opts, dir, old).unwrap();
        let cf = db.cf_handle(Nullifiers::CF).unwrap();
        for i in 0..nullifiers {
            let (key, loc) = nullifier(i);
            let value = Nullifiers::encode_value(&loc);
            db.put_cf(cf, Nullifiers::encode_key(&key), value).unwrap();
        }
        if indexed > 0 {
            db.create_cf(NullifierIndex::CF, &Options::default())
                .unwrap();
            let cf = db.cf_handle(NullifierIndex::CF).unwrap();
            for i in 0..indexed {
                let ((scope, n), loc) = nullifier(i);
                let key = NullifierIndex::encode_key(&(n, scope));
                db.put_cf(cf, key, NullifierIndex::encode_value(&loc))
                    .unwrap();
            }
        }
    }

    fn index(store: &Store) -> Vec<Entry<NullifierIndex>> {
        store
            .scan_prefix::<NullifierIndex>(&[], usize::MAX)
            .unwrap()
    }

    #[test]
    fn a_format_1_database_gets_its_nullifier_index_when_opened_for_writing() {
        let dir = tempfile::tempdir().unwrap();
        format_1_database(dir.path(), 25, 0);
        let find = |store: &Store, i: u64| {
            let ((_, n), _) = nullifier(i);
            crate::queries::nullifier_location(store, &n).unwrap()
        };

        // Read-only (an auditor's copy), it stays as it is, and a nullifier is still found.
        let read_only = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(read_only.format(), 1);
        assert_eq!(find(&read_only, 7), Some(nullifier(7).1));
        assert_eq!(find(&read_only, 25), None);
        drop(read_only);

        // Opened for writing, it gets the index of every nullifier, and records its format.
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.format(), FORMAT);
        assert_eq!(store.get::<Meta>(&META_FORMAT).unwrap(), Some(vec![FORMAT]));
        let expected: Vec<_> = (0..25)
            .map(|i| {
                let ((scope, n), loc) = nullifier(i);
                ((n, scope), loc)
            })
            .collect();
        let mut found = index(&store);
        found.sort_by_key(|(_, loc)| loc.height);
        assert_eq!(found, expected);
        assert_eq!(find(&store, 24), Some(nullifier(24).1));
        assert_eq!(find(&store, 25), None);

        // In batches of any size: the same index (2 per batch, 13 batches, the last short).
        let mut b = Batch::new();
        for (key, _) in &expected {
            b.delete::<NullifierIndex>(key);
        }
        b.delete::<Meta>(&META_FORMAT);
        store.write(b, true).unwrap();
        store.format = 1;
        store.upgrade(2).unwrap();
        assert_eq!(index(&store).len(), 25);
        assert_eq!(store.format(), FORMAT);
        drop(store);

        // Its next opening, for writing or reading, finds it in this format.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!((store.format(), index(&store).len()), (FORMAT, 25));
        drop(store);
        assert_eq!(Store::open_read_only(dir.path()).unwrap().format(), FORMAT);
    }

    /// A crash during the upgrade leaves part of the index and no format: the next opening
    /// writes the whole index again.
    #[test]
    fn an_interrupted_upgrade_is_completed_on_the_next_opening() {
        let dir = tempfile::tempdir().unwrap();
        format_1_database(dir.path(), 10, 4);
        let read_only = Store::open_read_only(dir.path()).unwrap();
        assert_eq!((read_only.format(), index(&read_only).len()), (1, 4));
        drop(read_only);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!((store.format(), index(&store).len()), (FORMAT, 10));
    }

    /// Another chain's database is refused before anything is written to it: an older one is
    /// not upgraded first.
    #[test]
    fn another_chain_s_database_is_refused_before_it_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        format_1_database(dir.path(), 5, 0);
        let (ours, theirs) = (sha256(b"ours"), sha256(b"theirs"));
        {
            let present = DB::list_cf(&Options::default(), dir.path()).unwrap();
            let db = DB::open_cf(&Options::default(), dir.path(), present).unwrap();
            let key = Meta::encode_key(&META_CHAIN_ID);
            let value = Meta::encode_value(&theirs.to_vec());
            db.put_cf(db.cf_handle(Meta::CF).unwrap(), key, value)
                .unwrap();
        }
        let err = Store::open_for_chain(dir.path(), &ours).unwrap_err();
        assert!(err.to_string().contains("belongs to chain"), "{err}");
        let untouched = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(untouched.format(), 1);
        assert!(!DB::list_cf(&Options::default(), dir.path())
            .unwrap()
            .contains(&NullifierIndex::CF.to_string()));
        drop(untouched);

        // Its own chain's node upgrades it; a new database is bound to the chain it opens for.
        let store = Store::open_for_chain(dir.path(), &theirs).unwrap();
        assert_eq!((store.format(), index(&store).len()), (FORMAT, 5));
        let fresh = tempfile::tempdir().unwrap();
        drop(Store::open_for_chain(fresh.path(), &ours).unwrap());
        let bound = Store::open_for_chain(fresh.path(), &theirs).unwrap_err();
        assert!(bound.to_string().contains("belongs to chain"), "{bound}");
    }

    #[test]
    fn a_database_of_a_newer_format_or_missing_an_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut b = Batch::new();
        b.put::<Meta>(&META_FORMAT, &vec![FORMAT + 1]);
        store.write(b, true).unwrap();
        drop(store);
        for opened in [Store::open(dir.path()), Store::open_read_only(dir.path())] {
            let error = opened.unwrap_err().to_string();
            assert!(error.contains("newer than this release's"), "{error}");
        }

        // A format-2 database without its index column family is damaged, not old.
        let dir = tempfile::tempdir().unwrap();
        format_1_database(dir.path(), 1, 0);
        let mut opts = Options::default();
        opts.create_missing_column_families(true);
        let old = COLUMN_FAMILIES
            .iter()
            .filter(|cf| **cf != NullifierIndex::CF);
        let db = DB::open_cf(&opts, dir.path(), old).unwrap();
        let meta = db.cf_handle(Meta::CF).unwrap();
        let format = Meta::encode_value(&vec![FORMAT]);
        db.put_cf(meta, Meta::encode_key(&META_FORMAT), format)
            .unwrap();
        drop(db);
        for opened in [Store::open_read_only(dir.path()), Store::open(dir.path())] {
            let error = opened.unwrap_err().to_string();
            assert!(
                error.contains("no column family nullifier_index"),
                "{error}"
            );
        }
        // So is any database holding blocks without one of the families every format has (its
        // meta family is then not read), and it is left as it was: opening it for writing
        // creates nothing.
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        for lacking in [Nullifiers::CF, Meta::CF] {
            let dir = tempfile::tempdir().unwrap();
            let some = COLUMN_FAMILIES.iter().filter(|cf| **cf != lacking);
            let db = DB::open_cf(&opts, dir.path(), some).unwrap();
            let blocks = db.cf_handle(Blocks::CF).unwrap();
            db.put_cf(blocks, 1u64.to_be_bytes(), b"a block").unwrap();
            drop(db);
            let error = Store::open(dir.path()).unwrap_err().to_string();
            assert!(
                error.contains(&format!("no column family {lacking}")),
                "{error}"
            );
            let families = DB::list_cf(&Options::default(), dir.path()).unwrap();
            assert!(!families.iter().any(|cf| cf == lacking));
        }
        // A creation cut short between its column families (nothing written yet) is completed.
        let dir = tempfile::tempdir().unwrap();
        let first = COLUMN_FAMILIES.iter().take(3);
        drop(DB::open_cf(&opts, dir.path(), first).unwrap());
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.format(), FORMAT);
        drop(store);
        let families = DB::list_cf(&Options::default(), dir.path()).unwrap();
        assert!(COLUMN_FAMILIES
            .iter()
            .all(|cf| families.iter().any(|f| f == cf)));
        // A family this release does not know is another release's database.
        let dir = tempfile::tempdir().unwrap();
        let more = COLUMN_FAMILIES.iter().chain(&["from_a_newer_release"]);
        drop(DB::open_cf(&opts, dir.path(), more).unwrap());
        let error = Store::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("does not know"), "{error}");
        // A format byte of another length is damage too.
        let store = Store::open(&dir.path().join("other")).unwrap();
        let mut b = Batch::new();
        b.put::<Meta>(&META_FORMAT, &vec![2, 0]);
        store.write(b, true).unwrap();
        drop(store);
        let error = Store::open(&dir.path().join("other")).unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupted { cf: "meta", .. }),
            "{error}"
        );
    }
}
