//! Pages of the ledger's lists and their cursors.
//!
//! A cursor is `v1.` followed by the lower-case hex of `list tag u8 | position`, where the
//! position is, big-endian:
//!
//! | list (tag)                   | position                          | bytes  |
//! |------------------------------|-----------------------------------|--------|
//! | records of a UCR (1)         | `height u64 \| index u32`         | 12     |
//! | blocks, newest first (2)     | `height u64`                      | 8      |
//! | registry roots (3)           | `sequence u64`                    | 8      |
//! | document versions (4)        | `doc type str16 \| version u32`   | 7..=38 |
//! | a block's transactions (5)   | `height u64 \| index u32`         | 12     |
//!
//! It names the last item of the page it came with; the next page continues after it (before
//! it, for lists read newest first). Decoding checks everything: the version prefix, the length
//! (at most [`MAX_CURSOR_LEN`] characters), the hex, the list tag and the exact length of the
//! position.

use super::*;
use crate::schema::Schema;
use crate::store::successor;
use zkcustoms_ledger_types::block::BlockHeader;
use zkcustoms_ledger_types::codec::{DecodeError, Reader};
use zkcustoms_ledger_types::tx::{check_doc_type, DocumentKey};

/// Items in a page when the reader names no limit.
pub const DEFAULT_PAGE: usize = 100;
/// Most items in a page.
pub const MAX_PAGE: usize = 1000;
/// What every cursor starts with: its format version.
pub const CURSOR_PREFIX: &str = "v1.";
/// Longest cursor, in characters (the longest position is a document version's, 38 bytes).
pub const MAX_CURSOR_LEN: usize = CURSOR_PREFIX.len() + 2 * (1 + 38);

/// Why a cursor was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum CursorError {
    /// It does not start with the version prefix.
    #[error("a cursor starts with {CURSOR_PREFIX:?}")]
    Version,
    /// It is longer than any cursor.
    #[error("a cursor has at most {MAX_CURSOR_LEN} characters")]
    TooLong,
    /// What follows the prefix is not lower-case hexadecimal.
    #[error("a cursor is {CURSOR_PREFIX:?} followed by lower-case hexadecimal digits")]
    NotHex,
    /// It is a cursor of another list.
    #[error("this is a cursor of {found}, not of {expected}")]
    WrongList {
        /// The list this page belongs to.
        expected: &'static str,
        /// The list the cursor names.
        found: &'static str,
    },
    /// Its position does not decode (truncated, trailing bytes, a bad field).
    #[error("the cursor's position does not decode: {0}")]
    Position(DecodeError),
}

/// A position in one of the ledger's lists.
pub trait Position: Sized {
    /// The list's tag, the first byte of a cursor.
    const LIST: u8;
    /// The list's name, for errors.
    const NAME: &'static str;
    /// Writes the position.
    fn write(&self, w: &mut Writer);
    /// Reads a position, checking each field.
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

fn list_name(tag: u8) -> &'static str {
    match tag {
        TxLocation::LIST => TxLocation::NAME,
        BlockHeight::LIST => BlockHeight::NAME,
        RootSequence::LIST => RootSequence::NAME,
        DocVersion::LIST => DocVersion::NAME,
        BlockTx::LIST => BlockTx::NAME,
        _ => "no list",
    }
}

impl Position for TxLocation {
    const LIST: u8 = 1;
    const NAME: &'static str = "records";
    fn write(&self, w: &mut Writer) {
        w.u64(self.height).u32(self.index);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxLocation {
            height: r.u64("height")?,
            index: r.u32("index")?,
        })
    }
}

/// A transaction's place in its block: the position in the list of a block's transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockTx {
    /// The block's height.
    pub height: u64,
    /// The transaction's index in the block.
    pub index: u32,
}

impl Position for BlockTx {
    const LIST: u8 = 5;
    const NAME: &'static str = "a block's transactions";
    fn write(&self, w: &mut Writer) {
        w.u64(self.height).u32(self.index);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockTx {
            height: r.u64("height")?,
            index: r.u32("index")?,
        })
    }
}

/// A block height: the position in the list of blocks, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeight(pub u64);

impl Position for BlockHeight {
    const LIST: u8 = 2;
    const NAME: &'static str = "blocks";
    fn write(&self, w: &mut Writer) {
        w.u64(self.0);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeight(r.u64("height")?))
    }
}

/// A registry root's sequence number: the position in an authority's root history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootSequence(pub u64);

impl Position for RootSequence {
    const LIST: u8 = 3;
    const NAME: &'static str = "registry roots";
    fn write(&self, w: &mut Writer) {
        w.u64(self.0);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RootSequence(r.u64("sequence")?))
    }
}

/// A document's type and version: the position in a consignment's document history (by type,
/// then version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocVersion {
    /// The document type.
    pub doc_type: String,
    /// The version.
    pub version: u32,
}

impl Position for DocVersion {
    const LIST: u8 = 4;
    const NAME: &'static str = "document versions";
    fn write(&self, w: &mut Writer) {
        w.str16(&self.doc_type).u32(self.version);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let doc_type = r.str16("doc type", 32)?.to_owned();
        check_doc_type(&doc_type).map_err(|e| DecodeError::invalid("doc type", e.to_string()))?;
        Ok(DocVersion {
            doc_type,
            version: r.u32("version")?,
        })
    }
}

/// An opaque, validated cursor: where the next page of a list starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor<P>(pub P);

impl<P: Position> Cursor<P> {
    /// The cursor's text: [`CURSOR_PREFIX`] and the hex of its list tag and position.
    pub fn encode(&self) -> String {
        let mut w = Writer::new();
        w.u8(P::LIST);
        self.0.write(&mut w);
        format!("{CURSOR_PREFIX}{}", hex::encode(w.finish()))
    }

    /// Reads a cursor of this list from a reader's text, checking everything.
    pub fn decode(text: &str) -> Result<Self, CursorError> {
        if text.len() > MAX_CURSOR_LEN {
            return Err(CursorError::TooLong);
        }
        let digits = text
            .strip_prefix(CURSOR_PREFIX)
            .ok_or(CursorError::Version)?;
        // One spelling per cursor: lower-case digits only.
        if digits.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(CursorError::NotHex);
        }
        let bytes = hex::decode(digits).map_err(|_| CursorError::NotHex)?;
        let mut r = Reader::new(&bytes);
        let tag = r.u8("list").map_err(CursorError::Position)?;
        if tag != P::LIST {
            return Err(CursorError::WrongList {
                expected: P::NAME,
                found: list_name(tag),
            });
        }
        let position = P::read(&mut r).map_err(CursorError::Position)?;
        r.finish().map_err(CursorError::Position)?;
        Ok(Cursor(position))
    }
}

impl<P: Position> std::fmt::Display for Cursor<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

/// One page of a list: its items in list order and the cursor of the next page (`None` after
/// the last item).
#[derive(Clone, Debug)]
pub struct Page<T, P> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts.
    pub next: Option<Cursor<P>>,
}

/// A page size within `1..=MAX_PAGE`.
fn clamp(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

/// The first `limit` of `items` (read one past the page, to know whether a next page exists).
fn page_of<T, P>(mut items: Vec<T>, limit: usize, position: impl Fn(&T) -> P) -> Page<T, P> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more {
        items.last().map(|t| Cursor(position(t)))
    } else {
        None
    };
    Page { items, next }
}

/// The transactions about a consignment in ledger order, from after `after` (from the first
/// when `None`): at most `limit` (within `1..=MAX_PAGE`).
pub fn records_page(
    store: &Store,
    ucr: &Ucr,
    after: Option<&TxLocation>,
    limit: usize,
) -> Result<Page<(TxLocation, Transaction), TxLocation>, StoreError> {
    let limit = clamp(limit);
    let prefix = records_prefix(ucr);
    let from = match after {
        Some(loc) => successor(&Records::encode_key(&(ucr.clone(), *loc))),
        None => prefix.clone(),
    };
    let rows = store
        .scan_prefix_from::<Records>(&prefix, &from, limit + 1)?
        .into_iter()
        .map(|((_, loc), tx)| (loc, tx))
        .collect();
    Ok(page_of(rows, limit, |(loc, _)| *loc))
}

/// The headers of finalized blocks, newest first, from below `before` (from the tip when
/// `None`): at most `limit` (within `1..=MAX_PAGE`).
pub fn block_headers_page(
    store: &Store,
    before: Option<BlockHeight>,
    limit: usize,
) -> Result<Page<BlockHeader, BlockHeight>, StoreError> {
    let limit = clamp(limit);
    let tip = store.tip()?.map_or(0, |(h, _)| h);
    let mut height = match before {
        Some(BlockHeight(h)) => h.saturating_sub(1).min(tip),
        None => tip,
    };
    let mut items = Vec::new();
    while height >= 1 && items.len() < limit {
        if let Some(header) = store.block_header(height)? {
            items.push(header);
        }
        height -= 1;
    }
    // Heights are contiguous: a block below the last one shown means another page.
    let next = match items.last() {
        Some(last) if items.len() == limit && height >= 1 => Some(Cursor(BlockHeight(last.height))),
        _ => None,
    };
    Ok(Page { items, next })
}

/// A page of a finalized block's transactions, in block order, from after index `after` (from
/// the first when `None`): at most `limit` (within `1..=MAX_PAGE`), each with its index and
/// hash. Only the page's transactions are decoded (a proof's points are checked when decoded,
/// so a whole full block would cost as many checks as it holds proofs); the block's encoding and
/// its header's commitment to every transaction are checked.
pub fn block_txs_page(
    block: &RawStoredBlock,
    after: Option<u32>,
    limit: usize,
) -> Result<Page<(u32, Hash, Transaction), BlockTx>, StoreError> {
    let limit = clamp(limit);
    let from = after.map_or(0, |index| index as usize + 1);
    let txs = block_tx_bytes(block)?;
    let mut items = Vec::new();
    for (index, bytes) in txs.iter().enumerate().skip(from).take(limit) {
        let tx = Transaction::from_bytes(bytes).map_err(|e| corrupted_block(e.to_string()))?;
        items.push((index as u32, sha256(bytes), tx));
    }
    let next = match items.last() {
        Some(&(index, ..)) if (index as usize) + 1 < txs.len() => Some(Cursor(BlockTx {
            height: block.header.height,
            index,
        })),
        _ => None,
    };
    Ok(Page { items, next })
}

/// A registry root, its sequence and when it was superseded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootItem {
    /// Its sequence number (the first root is 1).
    pub sequence: u64,
    /// The root and where it was published.
    pub entry: RootEntry,
    /// When the next root was published (milliseconds since the epoch); `None` while current.
    pub superseded_at_ms: Option<u64>,
}

/// An authority's published registry roots, oldest first, from after `after`: at most `limit`
/// (within `1..=MAX_PAGE`).
pub fn root_history_page(
    store: &Store,
    authority: &str,
    after: Option<RootSequence>,
    limit: usize,
) -> Result<Page<RootItem, RootSequence>, StoreError> {
    let limit = clamp(limit);
    let prefix = roots_prefix(authority);
    let from = match after {
        Some(RootSequence(seq)) => {
            successor(&RegistryRoots::encode_key(&(authority.to_owned(), seq)))
        }
        None => prefix.clone(),
    };
    // One past the page: the next root supersedes the page's last.
    let rows = store.scan_prefix_from::<RegistryRoots>(&prefix, &from, limit + 1)?;
    let items = rows
        .iter()
        .enumerate()
        .map(|(i, ((_, seq), e))| RootItem {
            sequence: *seq,
            entry: e.clone(),
            superseded_at_ms: rows.get(i + 1).map(|(_, next)| next.timestamp_ms),
        })
        .collect();
    Ok(page_of(items, limit, |r: &RootItem| {
        RootSequence(r.sequence)
    }))
}

/// An authority's published registry roots, newest first, from below `before`: at most `limit`
/// (within `1..=MAX_PAGE`).
pub fn root_history_page_newest_first(
    store: &Store,
    authority: &str,
    before: Option<RootSequence>,
    limit: usize,
) -> Result<Page<RootItem, RootSequence>, StoreError> {
    let limit = clamp(limit);
    let prefix = roots_prefix(authority);
    let key = |seq: u64| RegistryRoots::encode_key(&(authority.to_owned(), seq));
    let bound = before.map(|RootSequence(seq)| key(seq));
    let rows = store.scan_prefix_back::<RegistryRoots>(&prefix, bound.as_deref(), limit + 1)?;
    // The root that supersedes the page's first (newest) one is the one just after it.
    let newer = match rows.first() {
        Some(((_, seq), _)) => store
            .scan_prefix_from::<RegistryRoots>(&prefix, &successor(&key(*seq)), 1)?
            .pop()
            .map(|(_, e)| e.timestamp_ms),
        None => None,
    };
    let items = rows
        .iter()
        .enumerate()
        .map(|(i, ((_, seq), e))| RootItem {
            sequence: *seq,
            entry: e.clone(),
            superseded_at_ms: match i {
                0 => newer,
                _ => Some(rows[i - 1].1.timestamp_ms),
            },
        })
        .collect();
    Ok(page_of(items, limit, |r: &RootItem| {
        RootSequence(r.sequence)
    }))
}

/// An anchored document version and the version that replaced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionItem {
    /// The document and its version.
    pub key: DocumentKey,
    /// Its digest, reference and location.
    pub entry: DocumentEntry,
    /// The next version of the same document, if one was anchored.
    pub superseded_by: Option<u32>,
}

/// Every anchored version of every document of a consignment, by document type and version,
/// from after `after`: at most `limit` (within `1..=MAX_PAGE`).
pub fn document_history_page(
    store: &Store,
    ucr: &Ucr,
    after: Option<&DocVersion>,
    limit: usize,
) -> Result<Page<VersionItem, DocVersion>, StoreError> {
    let limit = clamp(limit);
    let prefix = records_prefix(ucr);
    let from = match after {
        Some(p) => successor(&Documents::encode_key(&DocumentKey {
            ucr: ucr.clone(),
            doc_type: p.doc_type.clone(),
            version: p.version,
        })),
        None => prefix.clone(),
    };
    let rows = store.scan_prefix_from::<Documents>(&prefix, &from, limit + 1)?;
    let items = rows
        .iter()
        .enumerate()
        .map(|(i, (k, e))| VersionItem {
            key: k.clone(),
            entry: e.clone(),
            superseded_by: rows
                .get(i + 1)
                .filter(|(next, _)| next.doc_type == k.doc_type)
                .map(|(next, _)| next.version),
        })
        .collect();
    Ok(page_of(items, limit, |v: &VersionItem| DocVersion {
        doc_type: v.key.doc_type.clone(),
        version: v.key.version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, TempStore};
    use proptest::prelude::*;

    fn round_trip<P: Position + Clone + PartialEq + std::fmt::Debug>(p: P) {
        let text = Cursor(p.clone()).encode();
        assert!(text.starts_with(CURSOR_PREFIX) && text.len() <= MAX_CURSOR_LEN);
        assert_eq!(Cursor::<P>::decode(&text), Ok(Cursor(p)));
    }

    #[test]
    fn cursors_round_trip_and_refuse_everything_else() {
        round_trip(TxLocation {
            height: u64::MAX,
            index: 7,
        });
        round_trip(BlockHeight(1));
        round_trip(RootSequence(300));
        round_trip(DocVersion {
            doc_type: "x".repeat(32),
            version: u32::MAX,
        });
        let good = Cursor(TxLocation {
            height: 3,
            index: 0xab,
        })
        .encode();
        assert_eq!(good, "v1.010000000000000003000000ab");
        let digits = &good[CURSOR_PREFIX.len()..];
        let bad = |s: &str| Cursor::<TxLocation>::decode(s).unwrap_err();
        assert!(matches!(
            bad(&good[..good.len() - 2]),
            CursorError::Position(_)
        ));
        assert!(matches!(
            bad(&format!("{good}00")),
            CursorError::Position(_)
        ));
        assert_eq!(bad(&format!("v2.{digits}")), CursorError::Version);
        assert_eq!(bad(digits), CursorError::Version);
        assert_eq!(bad(""), CursorError::Version);
        assert_eq!(bad("v1.zz"), CursorError::NotHex);
        assert_eq!(bad("v1.0"), CursorError::NotHex);
        assert_eq!(
            bad(&good.to_uppercase().replacen("V1", "v1", 1)),
            CursorError::NotHex
        );
        assert_eq!(
            bad(&format!("v1.{}", "00".repeat(40))),
            CursorError::TooLong
        );
        assert!(matches!(bad("v1."), CursorError::Position(_)));
        assert_eq!(
            Cursor::<BlockHeight>::decode(&good).unwrap_err(),
            CursorError::WrongList {
                expected: "blocks",
                found: "records"
            }
        );
        // A document cursor checks its type's syntax.
        let mut w = Writer::new();
        w.u8(DocVersion::LIST).str16("Invoice").u32(1);
        let upper = format!("{CURSOR_PREFIX}{}", hex::encode(w.finish()));
        assert!(matches!(
            Cursor::<DocVersion>::decode(&upper),
            Err(CursorError::Position(_))
        ));
    }

    proptest! {
        #[test]
        fn random_text_never_panics(s in "\\PC{0,100}", bytes in proptest::collection::vec(any::<u8>(), 0..50)) {
            let _ = Cursor::<TxLocation>::decode(&s);
            let hexed = format!("{CURSOR_PREFIX}{}", hex::encode(&bytes));
            let _ = Cursor::<TxLocation>::decode(&hexed);
            let _ = Cursor::<BlockHeight>::decode(&hexed);
            let _ = Cursor::<RootSequence>::decode(&hexed);
            let _ = Cursor::<DocVersion>::decode(&hexed);
        }
    }

    fn root(n: u64) -> RootEntry {
        RootEntry {
            root: Fr::from(n),
            height: n,
            timestamp_ms: n * 1000,
        }
    }

    #[test]
    fn pages_walk_every_item_once_in_order() {
        let store = TempStore::new().unwrap();
        let ucr = Ucr::parse("26DE-A").unwrap();
        let mut b = Batch::new();
        for seq in 1..=7u64 {
            b.put::<RegistryRoots>(&("auth".into(), seq), &root(seq));
        }
        // Neighbours on both sides of the prefix, which no page may reach.
        b.put::<RegistryRoots>(&("auth-2".into(), 1), &root(99));
        b.put::<RegistryRoots>(&("aut".into(), 1), &root(98));
        store.write(b, true).unwrap();

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = root_history_page(&store, "auth", after, 3).unwrap();
            seen.extend(page.items.iter().map(|r| (r.sequence, r.superseded_at_ms)));
            match page.next {
                Some(Cursor(c)) => after = Some(c),
                None => break,
            }
        }
        let want: Vec<_> = (1..=7u64)
            .map(|s| (s, (s < 7).then_some((s + 1) * 1000)))
            .collect();
        assert_eq!(seen, want);

        let mut back = Vec::new();
        let mut before = None;
        loop {
            let page = root_history_page_newest_first(&store, "auth", before, 3).unwrap();
            back.extend(page.items.iter().map(|r| (r.sequence, r.superseded_at_ms)));
            match page.next {
                Some(Cursor(c)) => before = Some(c),
                None => break,
            }
        }
        assert_eq!(back, want.into_iter().rev().collect::<Vec<_>>());
        // Exactly one page: no cursor.
        assert!(root_history_page(&store, "auth", None, 7)
            .unwrap()
            .next
            .is_none());
        assert!(records_page(&store, &ucr, None, 10)
            .unwrap()
            .items
            .is_empty());
        assert!(block_headers_page(&store, None, 10)
            .unwrap()
            .items
            .is_empty());
        assert!(document_history_page(&store, &ucr, None, 10)
            .unwrap()
            .items
            .is_empty());
    }
}
