//! The ledger's column families: one typed [`Schema`] each, with the byte layout of its keys and
//! values drawn in its doc comment. Keys are big-endian, so iteration follows height and sequence
//! order; values start with [`VALUE_VERSION`]. Every column family is listed in
//! [`COLUMN_FAMILIES`].

use zkcustoms_circuits::field::{fr_from_be_bytes, fr_to_be_bytes};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::{CircuitId, Fr};
use zkcustoms_ledger_types::block::{Block, BlockError, BlockHeader};
use zkcustoms_ledger_types::codec::{DecodeError, Reader, Writer};
use zkcustoms_ledger_types::tx::{check_doc_type, DocumentKey, Hash, Transaction, Ucr};

mod parties;
pub use parties::*;

/// Version byte at the start of every stored value.
pub const VALUE_VERSION: u8 = 1;

/// A typed column family: how its keys and values are laid out.
pub trait Schema {
    /// Column family name.
    const CF: &'static str;
    /// Key type.
    type Key;
    /// Value type.
    type Value;
    /// Encodes a key (big-endian, prefix-free where prefixes are iterated).
    fn encode_key(key: &Self::Key) -> Vec<u8>;
    /// Decodes a key.
    fn decode_key(bytes: &[u8]) -> Result<Self::Key, DecodeError>;
    /// Writes a value's fields (after the version byte).
    fn write_value(value: &Self::Value, w: &mut Writer);
    /// Reads a value's fields (after the version byte).
    fn read_value(r: &mut Reader<'_>) -> Result<Self::Value, DecodeError>;

    /// Encodes a value with its version byte.
    fn encode_value(value: &Self::Value) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VALUE_VERSION);
        Self::write_value(value, &mut w);
        w.finish()
    }

    /// Decodes a value, checking its version byte and exact length.
    fn decode_value(bytes: &[u8]) -> Result<Self::Value, DecodeError> {
        let mut r = Reader::new(bytes);
        read_value_version(&mut r)?;
        let value = Self::read_value(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// Reads a stored value's version byte: [`VALUE_VERSION`], or an error.
fn read_value_version(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    match r.u8("value version")? {
        VALUE_VERSION => Ok(()),
        v => Err(DecodeError::invalid(
            "value version",
            format!("unknown version {v}"),
        )),
    }
}

pub(crate) fn exact<T>(
    bytes: &[u8],
    f: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = f(&mut r)?;
    r.finish()?;
    Ok(v)
}

pub(crate) fn read_ucr(r: &mut Reader<'_>) -> Result<Ucr, DecodeError> {
    Ucr::parse(r.str16("ucr", Ucr::MAX_LEN)?)
        .map_err(|e| DecodeError::invalid("ucr", e.to_string()))
}

fn read_fr(r: &mut Reader<'_>, field: &'static str) -> Result<Fr, DecodeError> {
    fr_from_be_bytes(&r.array(field)?)
        .map_err(|_| DecodeError::invalid(field, "not a field element"))
}

/// Where a transaction sits: block height and index in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
}

pub(crate) fn write_loc(w: &mut Writer, l: &TxLocation) {
    w.u64(l.height).u32(l.index);
}

pub(crate) fn read_loc(r: &mut Reader<'_>) -> Result<TxLocation, DecodeError> {
    Ok(TxLocation {
        height: r.u64("height")?,
        index: r.u32("index")?,
    })
}

/// `meta`: single values. Key: one tag byte. Value: `version | bytes (u32 length)`.
pub struct Meta;
/// Meta key: the chain id of the ledger this database belongs to.
pub const META_CHAIN_ID: u8 = 1;
/// Meta key: the finalized tip (`height u64 | hash [32]`).
pub const META_TIP: u8 = 2;
/// Meta key: the database's format (one byte), which says which derived indices it holds; absent
/// in a database written before formats were recorded (format 1).
pub const META_FORMAT: u8 = 3;

/// The database format this release writes. Format 2 adds the [`NullifierIndex`]; a database of
/// an older format is brought up to it when it is opened for writing, one of a newer format is
/// refused.
pub const FORMAT: u8 = 2;

impl Schema for Meta {
    const CF: &'static str = "meta";
    type Key = u8;
    type Value = Vec<u8>;
    fn encode_key(key: &u8) -> Vec<u8> {
        vec![*key]
    }
    fn decode_key(bytes: &[u8]) -> Result<u8, DecodeError> {
        exact(bytes, |r| r.u8("meta key"))
    }
    fn write_value(v: &Vec<u8>, w: &mut Writer) {
        w.bytes(v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
        Ok(r.bytes("meta value", 1 << 16)?.to_vec())
    }
}

/// How a stored block was finalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finality {
    /// By its own finalization certificate (encoded as consensus encodes it), in a view.
    Certificate {
        /// The consensus view.
        view: u64,
        /// The encoded finalization.
        certificate: Vec<u8>,
    },
    /// Implicitly, by the certificate of a descendant at this height.
    Descendant(u64),
}

/// A finalized block as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredBlock {
    /// The block.
    pub block: Block,
    /// What finalized it.
    pub finality: Finality,
}

/// Largest encoded block a [`Blocks`] value holds.
const MAX_STORED_BLOCK: usize = 64 << 20;
/// Largest encoded finalization certificate a [`Blocks`] value holds.
const MAX_CERTIFICATE: usize = 1 << 20;

fn write_finality(finality: &Finality, w: &mut Writer) {
    match finality {
        Finality::Certificate { view, certificate } => {
            w.u8(1).u64(*view).bytes(certificate);
        }
        Finality::Descendant(h) => {
            w.u8(2).u64(*h);
        }
    }
}

fn read_finality(r: &mut Reader<'_>) -> Result<Finality, DecodeError> {
    Ok(match r.u8("finality")? {
        1 => Finality::Certificate {
            view: r.u64("view")?,
            certificate: r.bytes("certificate", MAX_CERTIFICATE)?.to_vec(),
        },
        2 => Finality::Descendant(r.u64("descendant")?),
        t => return Err(DecodeError::invalid("finality", format!("tag {t}"))),
    })
}

/// `blocks`: height → block. Key: `height u64`. Value:
/// `version | block bytes (u32 len) | finality: 1 view u64 | certificate (u32 len)  or  2 height u64`.
pub struct Blocks;

impl Schema for Blocks {
    const CF: &'static str = "blocks";
    type Key = u64;
    type Value = StoredBlock;
    fn encode_key(key: &u64) -> Vec<u8> {
        key.to_be_bytes().to_vec()
    }
    fn decode_key(bytes: &[u8]) -> Result<u64, DecodeError> {
        exact(bytes, |r| r.u64("height"))
    }
    fn write_value(v: &StoredBlock, w: &mut Writer) {
        w.bytes(&v.block.to_bytes());
        write_finality(&v.finality, w);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<StoredBlock, DecodeError> {
        let raw = r.bytes("block", MAX_STORED_BLOCK)?;
        let block =
            Block::from_bytes(raw).map_err(|e| DecodeError::invalid("block", e.to_string()))?;
        let finality = read_finality(r)?;
        Ok(StoredBlock { block, finality })
    }
}

/// A finalized block as stored, its transactions left encoded: what a node serves to a peer
/// catching up without decoding it, and what it checks first in a peer's response (the
/// certificate, the links by hash) before it decodes the transactions and their proofs.
/// Encodes to the same bytes as a [`Blocks`] value.
#[derive(Clone, Debug, PartialEq)]
pub struct RawStoredBlock {
    /// The block's header, read from the start of `block`.
    pub header: BlockHeader,
    /// The block's bytes: nothing after the header is checked until [`RawStoredBlock::decode_block`].
    pub block: Vec<u8>,
    /// What finalized it.
    pub finality: Finality,
}

impl RawStoredBlock {
    /// A decoded stored block, encoded again.
    pub fn of(stored: &StoredBlock) -> Self {
        Self {
            header: stored.block.header.clone(),
            block: stored.block.to_bytes(),
            finality: stored.finality.clone(),
        }
    }

    /// Decodes a [`Blocks`] value: its version, length, block header and finality are checked,
    /// the block's transactions are not read.
    pub fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        match Self::decode_value_within(bytes, usize::MAX)? {
            Ok(raw) => Ok(raw),
            Err(len) => unreachable!("a block of {len} bytes is within usize::MAX"),
        }
    }

    /// [`RawStoredBlock::decode_value`] when the block is at most `max_len` bytes long; a longer
    /// one is checked the same, but only its length is answered (`Err`), its bytes not copied.
    pub fn decode_value_within(
        bytes: &[u8],
        max_len: usize,
    ) -> Result<Result<Self, usize>, DecodeError> {
        let mut r = Reader::new(bytes);
        read_value_version(&mut r)?;
        let block = r.bytes("block", MAX_STORED_BLOCK)?;
        let header = BlockHeader::peek(block)?;
        let finality = read_finality(&mut r)?;
        r.finish()?;
        if block.len() > max_len {
            return Ok(Err(block.len()));
        }
        Ok(Ok(Self {
            header,
            block: block.to_vec(),
            finality,
        }))
    }

    /// The header of the block in a [`Blocks`] value, read without the rest of the value.
    pub fn peek_header(bytes: &[u8]) -> Result<BlockHeader, DecodeError> {
        let mut r = Reader::new(bytes);
        read_value_version(&mut r)?;
        BlockHeader::peek(r.bytes("block", MAX_STORED_BLOCK)?)
    }

    /// The same bytes as [`Blocks`] encodes for this block.
    pub fn encode_value(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VALUE_VERSION).bytes(&self.block);
        write_finality(&self.finality, &mut w);
        w.finish()
    }

    /// The length of [`RawStoredBlock::encode_value`]'s bytes.
    pub fn encoded_len(&self) -> usize {
        let finality = match &self.finality {
            Finality::Certificate { certificate, .. } => 1 + 8 + 4 + certificate.len(),
            Finality::Descendant(_) => 1 + 8,
        };
        1 + 4 + self.block.len() + finality
    }

    /// The block's hash (of its header).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Decodes the block in full ([`Block::from_bytes_reusing`]: every transaction and the
    /// header's commitment to them checked, transactions `known` holds by hash not decoded
    /// again).
    pub fn decode_block(
        &self,
        known: impl Fn(&Hash) -> Option<Transaction>,
    ) -> Result<Block, BlockError> {
        Block::from_bytes_reusing(&self.block, known)
    }
}

/// `block_hashes`: block hash → height. Key: `hash [32]`. Value: `version | height u64`.
pub struct BlockHashes;

impl Schema for BlockHashes {
    const CF: &'static str = "block_hashes";
    type Key = Hash;
    type Value = u64;
    fn encode_key(key: &Hash) -> Vec<u8> {
        key.to_vec()
    }
    fn decode_key(bytes: &[u8]) -> Result<Hash, DecodeError> {
        exact(bytes, |r| r.array("hash"))
    }
    fn write_value(v: &u64, w: &mut Writer) {
        w.u64(*v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
        r.u64("height")
    }
}

/// `transactions`: transaction hash → location. Key: `hash [32]`. Value:
/// `version | height u64 | index u32`.
pub struct Transactions;

impl Schema for Transactions {
    const CF: &'static str = "transactions";
    type Key = Hash;
    type Value = TxLocation;
    fn encode_key(key: &Hash) -> Vec<u8> {
        key.to_vec()
    }
    fn decode_key(bytes: &[u8]) -> Result<Hash, DecodeError> {
        exact(bytes, |r| r.array("hash"))
    }
    fn write_value(v: &TxLocation, w: &mut Writer) {
        write_loc(w, v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<TxLocation, DecodeError> {
        read_loc(r)
    }
}

/// `records`: every transaction about a consignment, in ledger order. Key:
/// `ucr str16 | height u64 | index u32` (the length prefix keeps UCR prefixes apart). Value:
/// `version | canonical transaction (u32 len)`.
pub struct Records;

impl Schema for Records {
    const CF: &'static str = "records";
    type Key = (Ucr, TxLocation);
    type Value = Transaction;
    fn encode_key((ucr, loc): &(Ucr, TxLocation)) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(ucr.as_str());
        write_loc(&mut w, loc);
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<(Ucr, TxLocation), DecodeError> {
        exact(bytes, |r| Ok((read_ucr(r)?, read_loc(r)?)))
    }
    fn write_value(v: &Transaction, w: &mut Writer) {
        w.bytes(&v.to_bytes());
    }
    fn read_value(r: &mut Reader<'_>) -> Result<Transaction, DecodeError> {
        Transaction::from_bytes(r.bytes("transaction", zkcustoms_ledger_types::tx::MAX_TX_BYTES)?)
            .map_err(|e| DecodeError::invalid("transaction", e.to_string()))
    }
}

/// Prefix of a UCR's records.
pub fn records_prefix(ucr: &Ucr) -> Vec<u8> {
    let mut w = Writer::new();
    w.str16(ucr.as_str());
    w.finish()
}

/// `nullifiers`: used aeo-status nullifiers. Key: `SHA-256(scope) [32] | nullifier [32, BE Fr]`.
/// Value: `version | height u64 | index u32`.
pub struct Nullifiers;

impl Schema for Nullifiers {
    const CF: &'static str = "nullifiers";
    type Key = (Hash, Fr);
    type Value = TxLocation;
    fn encode_key((scope, n): &(Hash, Fr)) -> Vec<u8> {
        let mut k = scope.to_vec();
        k.extend_from_slice(&fr_to_be_bytes(n));
        k
    }
    fn decode_key(bytes: &[u8]) -> Result<(Hash, Fr), DecodeError> {
        exact(bytes, |r| {
            Ok((r.array("scope hash")?, read_fr(r, "nullifier")?))
        })
    }
    fn write_value(v: &TxLocation, w: &mut Writer) {
        write_loc(w, v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<TxLocation, DecodeError> {
        read_loc(r)
    }
}

/// `nullifier_index`: the [`Nullifiers`] by nullifier, so that a nullifier is found without
/// knowing its scope (format 2). Key: `nullifier [32, BE Fr] | SHA-256(scope) [32]`. Value:
/// `version | height u64 | index u32`. Written in the same batch as the nullifier itself.
pub struct NullifierIndex;

impl Schema for NullifierIndex {
    const CF: &'static str = "nullifier_index";
    type Key = (Fr, Hash);
    type Value = TxLocation;
    fn encode_key((n, scope): &(Fr, Hash)) -> Vec<u8> {
        let mut k = fr_to_be_bytes(n).to_vec();
        k.extend_from_slice(scope);
        k
    }
    fn decode_key(bytes: &[u8]) -> Result<(Fr, Hash), DecodeError> {
        exact(bytes, |r| {
            Ok((read_fr(r, "nullifier")?, r.array("scope hash")?))
        })
    }
    fn write_value(v: &TxLocation, w: &mut Writer) {
        write_loc(w, v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<TxLocation, DecodeError> {
        read_loc(r)
    }
}

/// `claims`: accepted proof statements, so that a re-randomised copy of an accepted proof (same
/// statement, key and public values, other proof bytes) is refused. Key: `claim hash [32]` (see
/// [`crate::rules::claim_hash`]). Value: `version | height u64 | index u32`.
pub struct Claims;

impl Schema for Claims {
    const CF: &'static str = "claims";
    type Key = Hash;
    type Value = TxLocation;
    fn encode_key(key: &Hash) -> Vec<u8> {
        key.to_vec()
    }
    fn decode_key(bytes: &[u8]) -> Result<Hash, DecodeError> {
        exact(bytes, |r| r.array("claim"))
    }
    fn write_value(v: &TxLocation, w: &mut Writer) {
        write_loc(w, v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<TxLocation, DecodeError> {
        read_loc(r)
    }
}

/// A published registry root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootEntry {
    /// The root.
    pub root: Fr,
    /// Block it was published in.
    pub height: u64,
    /// That block's timestamp.
    pub timestamp_ms: u64,
}

/// `registry_roots`: each authority's roots by sequence. Key: `authority str16 | sequence u64`.
/// Value: `version | root [32] | height u64 | timestamp ms u64`.
pub struct RegistryRoots;

impl Schema for RegistryRoots {
    const CF: &'static str = "registry_roots";
    type Key = (String, u64);
    type Value = RootEntry;
    fn encode_key((a, seq): &(String, u64)) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(a).u64(*seq);
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<(String, u64), DecodeError> {
        exact(bytes, |r| {
            Ok((r.str16("authority", 64)?.to_owned(), r.u64("sequence")?))
        })
    }
    fn write_value(v: &RootEntry, w: &mut Writer) {
        w.fixed(&fr_to_be_bytes(&v.root))
            .u64(v.height)
            .u64(v.timestamp_ms);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<RootEntry, DecodeError> {
        Ok(RootEntry {
            root: read_fr(r, "root")?,
            height: r.u64("height")?,
            timestamp_ms: r.u64("timestamp")?,
        })
    }
}

/// Prefix of an authority's roots.
pub fn roots_prefix(authority: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.str16(authority);
    w.finish()
}

/// `root_index`: which sequence number a root has. Key: `authority str16 | root [32]`. Value:
/// `version | sequence u64`.
pub struct RootIndex;

impl Schema for RootIndex {
    const CF: &'static str = "root_index";
    type Key = (String, Fr);
    type Value = u64;
    fn encode_key((a, root): &(String, Fr)) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(a).fixed(&fr_to_be_bytes(root));
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<(String, Fr), DecodeError> {
        exact(bytes, |r| {
            Ok((r.str16("authority", 64)?.to_owned(), read_fr(r, "root")?))
        })
    }
    fn write_value(v: &u64, w: &mut Writer) {
        w.u64(*v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
        r.u64("sequence")
    }
}

/// An anchored document version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentEntry {
    /// Its digest.
    pub digest: Hash,
    /// Its off-ledger reference.
    pub reference: String,
    /// Where it was anchored.
    pub location: TxLocation,
}

/// `documents`: document versions by consignment. Key: `ucr str16 | doc type str16 | version u32`.
/// Value: `version | digest [32] | reference str16 | height u64 | index u32`.
pub struct Documents;

impl Schema for Documents {
    const CF: &'static str = "documents";
    type Key = DocumentKey;
    type Value = DocumentEntry;
    fn encode_key(k: &DocumentKey) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(k.ucr.as_str()).str16(&k.doc_type).u32(k.version);
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<DocumentKey, DecodeError> {
        exact(bytes, |r| {
            let ucr = read_ucr(r)?;
            let doc_type = r.str16("doc type", 32)?.to_owned();
            check_doc_type(&doc_type)
                .map_err(|e| DecodeError::invalid("doc type", e.to_string()))?;
            Ok(DocumentKey {
                ucr,
                doc_type,
                version: r.u32("version")?,
            })
        })
    }
    fn write_value(v: &DocumentEntry, w: &mut Writer) {
        w.fixed(&v.digest).str16(&v.reference);
        write_loc(w, &v.location);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<DocumentEntry, DecodeError> {
        Ok(DocumentEntry {
            digest: r.array("digest")?,
            reference: r.str16("reference", 256)?.to_owned(),
            location: read_loc(r)?,
        })
    }
}

/// Prefix of one document type's versions under a consignment.
pub fn documents_prefix(ucr: &Ucr, doc_type: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.str16(ucr.as_str()).str16(doc_type);
    w.finish()
}

/// `digests`: anchored digests by consignment, for invoice-value and declaration-match proofs.
/// Key: `digest [32] | ucr str16`. Value: `version | doc type str16 | version u32`.
pub struct Digests;

impl Schema for Digests {
    const CF: &'static str = "digests";
    type Key = (Hash, Ucr);
    type Value = (String, u32);
    fn encode_key((d, ucr): &(Hash, Ucr)) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(d).str16(ucr.as_str());
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<(Hash, Ucr), DecodeError> {
        exact(bytes, |r| Ok((r.array("digest")?, read_ucr(r)?)))
    }
    fn write_value((t, v): &(String, u32), w: &mut Writer) {
        w.str16(t).u32(*v);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<(String, u32), DecodeError> {
        Ok((r.str16("doc type", 32)?.to_owned(), r.u32("version")?))
    }
}

/// A declaration under examination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExaminationEntry {
    /// The customs office.
    pub office: String,
    /// Where it was marked.
    pub location: TxLocation,
    /// Block timestamp.
    pub timestamp_ms: u64,
}

/// `examinations`: consignments whose declaration is under examination. Key: `ucr str16`.
/// Value: `version | office str16 | height u64 | index u32 | timestamp ms u64`.
pub struct Examinations;

impl Schema for Examinations {
    const CF: &'static str = "examinations";
    type Key = Ucr;
    type Value = ExaminationEntry;
    fn encode_key(k: &Ucr) -> Vec<u8> {
        records_prefix(k)
    }
    fn decode_key(bytes: &[u8]) -> Result<Ucr, DecodeError> {
        exact(bytes, read_ucr)
    }
    fn write_value(v: &ExaminationEntry, w: &mut Writer) {
        w.str16(&v.office);
        write_loc(w, &v.location);
        w.u64(v.timestamp_ms);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<ExaminationEntry, DecodeError> {
        Ok(ExaminationEntry {
            office: r.str16("office", 64)?.to_owned(),
            location: read_loc(r)?,
            timestamp_ms: r.u64("timestamp")?,
        })
    }
}

/// `verifying_keys`: the pinned verifying keys, stored at first start so the ledger (and an
/// auditor) can re-verify without the key directory. Key: `key id [32]`. Value:
/// `version | statement tag u8 (1 aeo-status/v1, 2 invoice-value/v1, 3 declaration-match/v1)
/// | size class u8 | key bytes (u32 len)`.
pub struct VerifyingKeys;

impl Schema for VerifyingKeys {
    const CF: &'static str = "verifying_keys";
    type Key = Hash;
    type Value = (CircuitId, Vec<u8>);
    fn encode_key(key: &Hash) -> Vec<u8> {
        key.to_vec()
    }
    fn decode_key(bytes: &[u8]) -> Result<Hash, DecodeError> {
        exact(bytes, |r| r.array("key id"))
    }
    fn write_value((c, bytes): &(CircuitId, Vec<u8>), w: &mut Writer) {
        match c {
            CircuitId::AeoStatusV1 => w.u8(1).u8(0),
            CircuitId::InvoiceValueV1(s) => w.u8(2).u8(s.lines() as u8),
            CircuitId::DeclarationMatchV1(s) => w.u8(3).u8(s.lines() as u8),
        };
        w.bytes(bytes);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<(CircuitId, Vec<u8>), DecodeError> {
        let circuit = match (r.u8("statement")?, r.u8("size class")?) {
            (1, 0) => CircuitId::AeoStatusV1,
            (2, n) => CircuitId::InvoiceValueV1(
                SizeClass::try_from(u32::from(n))
                    .map_err(|e| DecodeError::invalid("size class", e))?,
            ),
            (3, n) => CircuitId::DeclarationMatchV1(
                SizeClass::try_from(u32::from(n))
                    .map_err(|e| DecodeError::invalid("size class", e))?,
            ),
            (t, n) => {
                return Err(DecodeError::invalid(
                    "statement",
                    format!("tag {t} size class {n}"),
                ))
            }
        };
        Ok((circuit, r.bytes("key", 1 << 20)?.to_vec()))
    }
}

/// `pending_blocks`: blocks proposed or verified but not yet finalized, kept so that a restarted
/// node can finalize what consensus agreed on before the crash. Key: `block hash [32]`. Value:
/// `version | block bytes (u32 len)`.
pub struct PendingBlocks;

impl PendingBlocks {
    /// The stored value of a block from its canonical bytes: what [`Schema::encode_value`]
    /// writes for that block, without encoding the block a second time.
    pub fn value_from_bytes(block: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VALUE_VERSION);
        w.bytes(block);
        w.finish()
    }
}

impl Schema for PendingBlocks {
    const CF: &'static str = "pending_blocks";
    type Key = Hash;
    type Value = Block;
    fn encode_key(key: &Hash) -> Vec<u8> {
        key.to_vec()
    }
    fn decode_key(bytes: &[u8]) -> Result<Hash, DecodeError> {
        exact(bytes, |r| r.array("hash"))
    }
    fn write_value(v: &Block, w: &mut Writer) {
        w.bytes(&v.to_bytes());
    }
    fn read_value(r: &mut Reader<'_>) -> Result<Block, DecodeError> {
        Block::from_bytes(r.bytes("block", MAX_STORED_BLOCK)?)
            .map_err(|e| DecodeError::invalid("block", e.to_string()))
    }
}

/// The column families the blocks do not derive: the metadata, the blocks themselves, the
/// verifying keys and the pending blocks.
const NOT_DERIVED: [&str; 4] = [Meta::CF, Blocks::CF, VerifyingKeys::CF, PendingBlocks::CF];

/// The column families a finalized block's writes derive from the blocks alone: every one of
/// [`COLUMN_FAMILIES`] but the metadata, the blocks, the verifying keys and the pending blocks
/// (a family added later is derived unless listed there). An auditor recomputes them by
/// replaying the blocks and compares them with a store's.
pub fn derived_families() -> impl Iterator<Item = &'static str> {
    COLUMN_FAMILIES
        .into_iter()
        .filter(|cf| !NOT_DERIVED.contains(cf))
}

/// Every column family, in one place.
pub const COLUMN_FAMILIES: [&str; 18] = [
    Meta::CF,
    Blocks::CF,
    BlockHashes::CF,
    Transactions::CF,
    Records::CF,
    Nullifiers::CF,
    Claims::CF,
    RegistryRoots::CF,
    RootIndex::CF,
    Documents::CF,
    Digests::CF,
    Examinations::CF,
    VerifyingKeys::CF,
    PendingBlocks::CF,
    TraderKeys::CF,
    Owners::CF,
    Delegations::CF,
    NullifierIndex::CF,
];
