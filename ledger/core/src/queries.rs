//! Read queries over a ledger's store: what the HTTP API, the explorer and the CLI show.
//!
//! Everything above the core reads the ledger through these functions, so that only this crate
//! knows the column families, their key layouts and their prefixes.
//!
//! Lists are read a page at a time ([`records_page`], [`block_headers_page`],
//! [`root_history_page`], [`root_history_page_newest_first`], [`document_history_page`]). A page
//! answers the [`Cursor`] of the next one: a position in ledger order (a record's height and
//! index, a block height, a root's sequence, a document's type and version) after which the next
//! page continues, so blocks finalized between two requests never shift, repeat or skip an
//! item of a walk that has begun.

mod paging;

pub use paging::*;

use crate::store::{
    documents_prefix, records_prefix, roots_prefix, trader_keys_prefix, BlockHashes, Blocks,
    DelegationEntry, Delegations, DocumentEntry, Documents, ExaminationEntry, Examinations,
    NullifierIndex, Nullifiers, OwnerEntry, Owners, RawStoredBlock, Records, RegistryRoots,
    RootEntry, RootIndex, Schema, Store, StoreError, TraderKeyEntry, TraderKeys, Transactions,
    TxLocation,
};
use zkcustoms_circuits::field::fr_to_be_bytes;
use zkcustoms_circuits::Fr;
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::codec::{DecodeError, Writer};
use zkcustoms_ledger_types::tx::{sha256, DocumentKey, Eori, Hash, Transaction, Ucr};

/// Most key changes or delegations answered per trader.
pub const MAX_PARTY_ENTRIES: usize = 1000;

/// A trader's key history, by sequence (registration is 1).
pub fn trader_keys(store: &Store, trader: &Eori) -> Result<Vec<(u32, TraderKeyEntry)>, StoreError> {
    Ok(store
        .scan_prefix::<TraderKeys>(&trader_keys_prefix(trader), MAX_PARTY_ENTRIES)?
        .into_iter()
        .map(|((_, seq), e)| (seq, e))
        .collect())
}

/// A trader's current key entry (the last of its history, however long) with its sequence;
/// `None` when it was never registered. [`trader_keys`] answers at most [`MAX_PARTY_ENTRIES`]
/// from the registration on, so its last entry is the current one only for shorter histories.
pub fn current_trader_key(
    store: &Store,
    trader: &Eori,
) -> Result<Option<(u32, TraderKeyEntry)>, StoreError> {
    Ok(store
        .last_with_prefix::<TraderKeys>(&trader_keys_prefix(trader))?
        .map(|((_, seq), e)| (seq, e)))
}

/// The delegations an owner has made, by delegate.
pub fn delegations_of(
    store: &Store,
    owner: &Eori,
) -> Result<Vec<(Eori, DelegationEntry)>, StoreError> {
    let mut w = Writer::new();
    w.str16(owner.as_str());
    Ok(store
        .scan_prefix::<Delegations>(&w.finish(), MAX_PARTY_ENTRIES)?
        .into_iter()
        .map(|((_, delegate), e)| (delegate, e))
        .collect())
}

/// The owner of a consignment.
pub fn owner(store: &Store, ucr: &Ucr) -> Result<Option<OwnerEntry>, StoreError> {
    store.get::<Owners>(ucr)
}

/// Most records answered per query.
pub const MAX_RECORDS: usize = 1000;

/// The transactions about a consignment, in ledger order (at most `limit`).
pub fn records(
    store: &Store,
    ucr: &Ucr,
    limit: usize,
) -> Result<Vec<(TxLocation, Transaction)>, StoreError> {
    Ok(store
        .scan_prefix::<Records>(&records_prefix(ucr), limit)?
        .into_iter()
        .map(|((_, loc), tx)| (loc, tx))
        .collect())
}

/// The transaction about a consignment at a location.
pub fn record(
    store: &Store,
    ucr: &Ucr,
    location: TxLocation,
) -> Result<Option<Transaction>, StoreError> {
    store.get::<Records>(&(ucr.clone(), location))
}

/// The examination mark of a consignment, if customs began examining it.
pub fn examination(store: &Store, ucr: &Ucr) -> Result<Option<ExaminationEntry>, StoreError> {
    store.get::<Examinations>(ucr)
}

/// Most document types of a consignment whose current version one read answers (see
/// [`current_documents`]): each type is one seek, however many versions it has.
pub const MAX_DOCUMENT_TYPES: usize = 64;

/// Most versions of one document one read answers with its current version (see
/// [`recent_versions`]); the whole history is read a page at a time
/// ([`document_history_page`]).
pub const MAX_RECENT_VERSIONS: usize = 16;

/// The current (latest) version of each document of a consignment, types in alphabetical order:
/// at most `max_types` of them (the first in the store's order), and whether there are more.
/// Each type costs one seek, whatever its number of versions.
pub fn current_documents(
    store: &Store,
    ucr: &Ucr,
    max_types: usize,
) -> Result<(Vec<(DocumentKey, DocumentEntry)>, bool), StoreError> {
    let prefix = records_prefix(ucr);
    let mut from = prefix.clone();
    let mut out: Vec<(DocumentKey, DocumentEntry)> = Vec::new();
    let mut more = false;
    while let Some((first, _)) = store
        .scan_prefix_from::<Documents>(&prefix, &from, 1)?
        .pop()
    {
        if out.len() >= max_types {
            more = true;
            break;
        }
        let type_prefix = documents_prefix(ucr, &first.doc_type);
        if let Some(latest) = store.last_with_prefix::<Documents>(&type_prefix)? {
            out.push(latest);
        }
        // Past every version of this type (a version is 4 bytes after the type's prefix), and
        // before the next type's first key.
        from = type_prefix;
        from.extend_from_slice(&[0xff; 8]);
    }
    out.sort_by(|a, b| a.0.doc_type.cmp(&b.0.doc_type));
    Ok((out, more))
}

/// The latest `n` versions of one document of a consignment, oldest first.
pub fn recent_versions(
    store: &Store,
    ucr: &Ucr,
    doc_type: &str,
    n: usize,
) -> Result<Vec<(DocumentKey, DocumentEntry)>, StoreError> {
    let mut versions =
        store.scan_prefix_back::<Documents>(&documents_prefix(ucr, doc_type), None, n)?;
    versions.reverse();
    Ok(versions)
}

/// An authority's published registry roots with their sequence numbers, oldest first.
pub fn root_history(store: &Store, authority: &str) -> Result<Vec<(u64, RootEntry)>, StoreError> {
    Ok(store
        .scan_prefix::<RegistryRoots>(&roots_prefix(authority), usize::MAX)?
        .into_iter()
        .map(|((_, seq), e)| (seq, e))
        .collect())
}

/// An authority's current registry root and its sequence number.
pub fn latest_root(store: &Store, authority: &str) -> Result<Option<(u64, RootEntry)>, StoreError> {
    Ok(store
        .last_with_prefix::<RegistryRoots>(&roots_prefix(authority))?
        .map(|((_, seq), e)| (seq, e)))
}

/// The sequence number an authority's registry root was published under.
pub fn root_sequence(store: &Store, authority: &str, root: &Fr) -> Result<Option<u64>, StoreError> {
    store.get::<RootIndex>(&(authority.to_owned(), *root))
}

/// An authority's registry root by sequence number.
pub fn root_at(
    store: &Store,
    authority: &str,
    sequence: u64,
) -> Result<Option<RootEntry>, StoreError> {
    store.get::<RegistryRoots>(&(authority.to_owned(), sequence))
}

/// Where the transaction that presented an aeo-status nullifier sits, in any scope: one seek in
/// the [`NullifierIndex`]. A database of format 1 opened read-only has no index yet; its
/// nullifiers are scanned.
pub fn nullifier_location(store: &Store, nullifier: &Fr) -> Result<Option<TxLocation>, StoreError> {
    if store.format() < 2 {
        return scan_for_nullifier(store, nullifier);
    }
    Ok(store
        .scan_prefix::<NullifierIndex>(&fr_to_be_bytes(nullifier), 1)?
        .into_iter()
        .next()
        .map(|(_, loc)| loc))
}

/// [`nullifier_location`] without the index: every nullifier of every scope read until one
/// matches (how a database of format 1 is searched).
pub fn scan_for_nullifier(store: &Store, nullifier: &Fr) -> Result<Option<TxLocation>, StoreError> {
    Ok(store
        .scan_prefix::<Nullifiers>(&[], usize::MAX)?
        .into_iter()
        .find(|((_, x), _)| x == nullifier)
        .map(|(_, loc)| loc))
}

/// Where a finalized transaction sits.
pub fn tx_location(store: &Store, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
    store.get::<Transactions>(hash)
}

/// The transactions' bytes of a finalized block as stored: the block's encoding and its header's
/// commitment to them checked, none of them decoded.
pub fn block_tx_bytes(block: &RawStoredBlock) -> Result<Vec<&[u8]>, StoreError> {
    Block::split(&block.block)
        .map(|(_, txs)| txs)
        .map_err(|e| corrupted_block(e.to_string()))
}

fn corrupted_block(error: String) -> StoreError {
    StoreError::Corrupted {
        cf: Blocks::CF,
        error: DecodeError::invalid("block", error),
    }
}

/// A finalized transaction with the block that holds it, read without decoding the block's
/// other transactions (a page showing one transaction of a full block decodes one).
#[derive(Clone, Debug)]
pub struct FinalizedTx {
    /// Its block, as stored.
    pub block: RawStoredBlock,
    /// Its index in the block.
    pub index: u32,
    /// The transaction.
    pub tx: Transaction,
}

/// The finalized transaction `hash`, decoding it alone; `None` when it is not finalized here.
pub fn finalized_tx(store: &Store, hash: &Hash) -> Result<Option<FinalizedTx>, StoreError> {
    let Some(loc) = tx_location(store, hash)? else {
        return Ok(None);
    };
    let Some(block) = store.raw_block(loc.height)? else {
        return Ok(None);
    };
    let tx = {
        let txs = block_tx_bytes(&block)?;
        let bytes = txs
            .get(loc.index as usize)
            .filter(|b| sha256(b) == *hash)
            .ok_or_else(|| {
                StoreError::Mismatch(format!(
                    "transaction index points at height {} index {}, which holds another \
                     transaction",
                    loc.height, loc.index
                ))
            })?;
        Transaction::from_bytes(bytes).map_err(|e| corrupted_block(e.to_string()))?
    };
    Ok(Some(FinalizedTx {
        block,
        index: loc.index,
        tx,
    }))
}

/// The last `limit` transactions of the blocks at `heights` (newest block first), newest first,
/// each with its block's height: only those are decoded.
pub fn latest_txs(
    store: &Store,
    heights: impl IntoIterator<Item = u64>,
    limit: usize,
) -> Result<Vec<(u64, Transaction)>, StoreError> {
    let mut out = Vec::new();
    for height in heights {
        if out.len() >= limit {
            break;
        }
        let Some(block) = store.raw_block(height)? else {
            continue;
        };
        for bytes in block_tx_bytes(&block)?.into_iter().rev() {
            if out.len() >= limit {
                break;
            }
            let tx = Transaction::from_bytes(bytes).map_err(|e| corrupted_block(e.to_string()))?;
            out.push((height, tx));
        }
    }
    Ok(out)
}

/// The height of a finalized block, by hash.
pub fn block_height(store: &Store, hash: &Hash) -> Result<Option<u64>, StoreError> {
    store.get::<BlockHashes>(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, Finality, TempStore};
    use zkcustoms_ledger_types::block::{merkle_root, BlockHeader};
    use zkcustoms_ledger_types::crypto;
    use zkcustoms_ledger_types::tx::AnchorDocument;

    /// A stored block at `height` holding `leaves` as its transactions' bytes.
    fn raw_block(height: u64, leaves: &[Vec<u8>]) -> RawStoredBlock {
        let header = BlockHeader {
            height,
            parent: [0; 32],
            timestamp_ms: 0,
            tx_root: merkle_root(leaves),
            tx_count: leaves.len() as u32,
            proposer: [0; 32],
        };
        let mut w = Writer::new();
        w.fixed(&header.to_bytes());
        for leaf in leaves {
            w.bytes(leaf);
        }
        RawStoredBlock {
            header,
            block: w.finish(),
            finality: Finality::Certificate {
                view: 1,
                certificate: vec![1, 2, 3],
            },
        }
    }

    /// An anchor of version 1 whose reference is `vault://n`.
    fn anchor(n: u32) -> Transaction {
        Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse("26DE-A").unwrap(),
            doc_type: "invoice".into(),
            digest: sha256(b"invoice"),
            reference: format!("vault://{n}"),
            version: 1,
            supersedes: None,
            trader: Eori::parse("DE1").unwrap(),
            signature: zkcustoms_ledger_types::crypto::unsigned(),
        })
    }

    /// A block's transactions are read a page at a time, in block order, each page decoding its
    /// own transactions only: the cursor of a page's last one leads to the next page.
    #[test]
    fn a_block_is_read_a_page_of_transactions_at_a_time() {
        let txs: Vec<Transaction> = (1..=5).map(anchor).collect();
        let mut leaves: Vec<Vec<u8>> = txs.iter().map(Transaction::to_bytes).collect();
        let raw = raw_block(7, &leaves);
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let page = block_txs_page(&raw, after, 2).unwrap();
            assert!(page.items.len() <= 2);
            seen.extend(page.items);
            match page.next {
                Some(Cursor(BlockTx { height, index })) => {
                    assert_eq!(height, 7);
                    after = Some(index);
                }
                None => break,
            }
        }
        let expected: Vec<_> = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| (i as u32, tx.hash(), tx.clone()))
            .collect();
        assert_eq!(seen, expected);
        // A page after the last transaction is empty; a page ending on it has no next.
        assert!(block_txs_page(&raw, Some(4), 2).unwrap().items.is_empty());
        assert!(block_txs_page(&raw, Some(2), 2).unwrap().next.is_none());
        // Bytes that are no transaction, outside the page, are not decoded; inside it they are
        // named as damage.
        leaves[4] = b"not a transaction".to_vec();
        let raw = raw_block(7, &leaves);
        assert_eq!(block_txs_page(&raw, None, 4).unwrap().items.len(), 4);
        assert!(matches!(
            block_txs_page(&raw, Some(3), 4),
            Err(StoreError::Corrupted { .. })
        ));
    }

    /// A transaction read from a stored block decodes that transaction alone, and the latest
    /// transactions of blocks only those shown: a block committing to bytes that are no
    /// transaction (which the store never holds, but shows what is decoded) is read past them.
    #[test]
    fn a_finalized_transaction_is_read_without_decoding_its_neighbours() {
        let store = TempStore::new().unwrap();
        let good = anchor(1);
        let garbage: &[u8] = b"not a transaction";
        let raw = raw_block(1, &[garbage.to_vec(), good.to_bytes()]);
        let mut batch = Batch::new();
        batch.put_raw(Blocks::CF, Blocks::encode_key(&1), raw.encode_value());
        let at = |index| TxLocation { height: 1, index };
        batch.put::<Transactions>(&good.hash(), &at(1));
        batch.put::<Transactions>(&sha256(garbage), &at(0));
        batch.put::<Transactions>(&[9; 32], &at(1));
        store.write(batch, true).unwrap();

        // Decoding the whole block fails; reading the good transaction does not.
        assert!(store.block(1).is_err());
        let found = finalized_tx(&store, &good.hash()).unwrap().unwrap();
        assert_eq!((found.index, &found.tx, &found.block), (1, &good, &raw));
        assert_eq!(latest_txs(&store, [1], 1).unwrap(), vec![(1, good.clone())]);
        let proof = crate::inclusion::build(&store, &[0; 32], &good.hash()).unwrap();
        assert_eq!(proof.expect("an inclusion proof").index, 1);
        // Asked for more, or for the bytes themselves, the damage is named.
        assert!(matches!(
            latest_txs(&store, [1], 2),
            Err(StoreError::Corrupted { .. })
        ));
        assert!(finalized_tx(&store, &sha256(garbage)).is_err());
        // An index pointing at another transaction is damage too; an unknown hash is none.
        assert!(matches!(
            finalized_tx(&store, &[9; 32]),
            Err(StoreError::Mismatch(_))
        ));
        assert!(finalized_tx(&store, &[8; 32]).unwrap().is_none());
        assert!(latest_txs(&store, [2], 5).unwrap().is_empty());
    }

    /// A history longer than a query answers still names the current key: the last entry,
    /// here a revocation, not the last of the first [`MAX_PARTY_ENTRIES`].
    #[test]
    fn the_current_key_is_the_last_of_a_history_longer_than_a_page() {
        let store = TempStore::new().unwrap();
        let trader = Eori::parse("DE1").unwrap();
        let other = Eori::parse("DE12").unwrap();
        let entry = |seq: u32, key: bool| TraderKeyEntry {
            public_key: key.then(|| crypto::public_of(&crypto::generate())),
            office: "DEHAM".into(),
            location: TxLocation {
                height: u64::from(seq),
                index: 0,
            },
        };
        let last = MAX_PARTY_ENTRIES as u32 + 1;
        let mut batch = Batch::new();
        for seq in 1..last {
            batch.put::<TraderKeys>(&(trader.clone(), seq), &entry(seq, true));
        }
        batch.put::<TraderKeys>(&(trader.clone(), last), &entry(last, false));
        batch.put::<TraderKeys>(&(other.clone(), 1), &entry(1, true));
        store.write(batch, true).unwrap();

        let history = trader_keys(&store, &trader).unwrap();
        assert_eq!(history.len(), MAX_PARTY_ENTRIES);
        assert_eq!(history[0].0, 1, "the page starts at the registration");
        let (seq, current) = current_trader_key(&store, &trader).unwrap().unwrap();
        assert_eq!(seq, last);
        assert_eq!(current.public_key, None, "revoked");
        assert_eq!(current_trader_key(&store, &other).unwrap().unwrap().0, 1);
        let unknown = Eori::parse("DE2").unwrap();
        assert!(current_trader_key(&store, &unknown).unwrap().is_none());
    }

    #[test]
    fn reads_answer_what_was_written_and_nothing_of_other_keys() {
        let store = TempStore::new().unwrap();
        let a = Ucr::parse("26DE-A").unwrap();
        let ab = Ucr::parse("26DE-AB").unwrap();
        let mut batch = Batch::new();
        let root = |n: u64| RootEntry {
            root: Fr::from(n),
            height: n,
            timestamp_ms: n * 1000,
        };
        batch.put::<RegistryRoots>(&("auth".into(), 1), &root(1));
        batch.put::<RegistryRoots>(&("auth".into(), 2), &root(2));
        batch.put::<RegistryRoots>(&("auth-2".into(), 1), &root(9));
        batch.put::<RootIndex>(&("auth".into(), Fr::from(2u64)), &2);
        let loc = TxLocation {
            height: 3,
            index: 1,
        };
        batch.put::<Nullifiers>(&([7; 32], Fr::from(5u64)), &loc);
        batch.put::<NullifierIndex>(&(Fr::from(5u64), [7; 32]), &loc);
        // A nullifier is found through its index, never by scanning the nullifiers.
        batch.put::<Nullifiers>(&([8; 32], Fr::from(6u64)), &loc);
        batch.put::<Transactions>(&[1; 32], &loc);
        batch.put::<BlockHashes>(&[2; 32], &3);
        store.write(batch, true).unwrap();

        let history = root_history(&store, "auth").unwrap();
        assert_eq!(history.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(latest_root(&store, "auth").unwrap().unwrap().0, 2);
        assert_eq!(
            latest_root(&store, "auth-2").unwrap().unwrap().1.root,
            Fr::from(9u64)
        );
        assert_eq!(
            root_sequence(&store, "auth", &Fr::from(2u64)).unwrap(),
            Some(2)
        );
        assert_eq!(root_at(&store, "auth", 1).unwrap().unwrap().height, 1);
        assert_eq!(
            nullifier_location(&store, &Fr::from(5u64)).unwrap(),
            Some(loc)
        );
        assert_eq!(nullifier_location(&store, &Fr::from(6u64)).unwrap(), None);
        // A scan (a format-1 database's search) finds both.
        for n in [5u64, 6] {
            assert_eq!(scan_for_nullifier(&store, &Fr::from(n)).unwrap(), Some(loc));
        }
        assert_eq!(scan_for_nullifier(&store, &Fr::from(7u64)).unwrap(), None);
        assert_eq!(tx_location(&store, &[1; 32]).unwrap(), Some(loc));
        assert_eq!(block_height(&store, &[2; 32]).unwrap(), Some(3));
        assert!(records(&store, &a, MAX_RECORDS).unwrap().is_empty());
        assert!(current_documents(&store, &ab, MAX_DOCUMENT_TYPES)
            .unwrap()
            .0
            .is_empty());
        assert!(examination(&store, &a).unwrap().is_none());
    }

    #[test]
    fn current_documents_and_recent_versions_read_only_what_they_answer() {
        let store = TempStore::new().unwrap();
        let a = Ucr::parse("26DE-A").unwrap();
        let ab = Ucr::parse("26DE-AB").unwrap();
        let key = |ucr: &Ucr, doc_type: &str, version: u32| DocumentKey {
            ucr: ucr.clone(),
            doc_type: doc_type.into(),
            version,
        };
        let entry = |version: u32| DocumentEntry {
            digest: [version as u8; 32],
            reference: format!("vault://{version}"),
            location: TxLocation {
                height: u64::from(version),
                index: 0,
            },
        };
        let mut batch = Batch::new();
        for v in 1..=20 {
            batch.put::<Documents>(&key(&a, "invoice", v), &entry(v));
        }
        for v in 1..=3 {
            batch.put::<Documents>(&key(&a, "a-longer-document-type", v), &entry(v));
        }
        batch.put::<Documents>(&key(&a, "cert", 1), &entry(1));
        batch.put::<Documents>(&key(&ab, "invoice", 7), &entry(7));
        store.write(batch, true).unwrap();

        // The latest version of each type, alphabetically, and of this consignment only.
        let (current, more) = current_documents(&store, &a, MAX_DOCUMENT_TYPES).unwrap();
        let got: Vec<(&str, u32)> = current
            .iter()
            .map(|(k, _)| (k.doc_type.as_str(), k.version))
            .collect();
        assert_eq!(
            got,
            [("a-longer-document-type", 3), ("cert", 1), ("invoice", 20)]
        );
        assert!(!more);
        assert_eq!(current[2].1, entry(20));
        // At most so many types, and whether there are more.
        let (two, more) = current_documents(&store, &a, 2).unwrap();
        assert_eq!(two.len(), 2);
        assert!(more);
        let (other, _) = current_documents(&store, &ab, MAX_DOCUMENT_TYPES).unwrap();
        assert_eq!(other, vec![(key(&ab, "invoice", 7), entry(7))]);

        // The latest versions of one document, oldest first.
        let recent = recent_versions(&store, &a, "invoice", MAX_RECENT_VERSIONS).unwrap();
        let versions: Vec<u32> = recent.iter().map(|(k, _)| k.version).collect();
        assert_eq!(versions, (5..=20).collect::<Vec<_>>());
        assert_eq!(
            recent_versions(&store, &a, "cert", MAX_RECENT_VERSIONS).unwrap(),
            vec![(key(&a, "cert", 1), entry(1))]
        );
        assert!(recent_versions(&store, &a, "none", 4).unwrap().is_empty());
    }
}
