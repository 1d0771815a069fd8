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
    documents_prefix, records_prefix, roots_prefix, trader_keys_prefix, BlockHashes,
    DelegationEntry, Delegations, DocumentEntry, Documents, ExaminationEntry, Examinations,
    Nullifiers, OwnerEntry, Owners, Records, RegistryRoots, RootEntry, RootIndex, Store,
    StoreError, TraderKeyEntry, TraderKeys, Transactions, TxLocation,
};
use zkcustoms_circuits::Fr;
use zkcustoms_ledger_types::codec::Writer;
use zkcustoms_ledger_types::tx::{DocumentKey, Eori, Hash, Transaction, Ucr};

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

/// Every anchored version of every document of a consignment, by document type and version.
pub fn documents(
    store: &Store,
    ucr: &Ucr,
) -> Result<Vec<(DocumentKey, DocumentEntry)>, StoreError> {
    store.scan_prefix::<Documents>(&records_prefix(ucr), usize::MAX)
}

/// Every anchored version of every document of a consignment, one list per document type
/// (types in alphabetical order, each list oldest version first; the store orders types by their
/// encoded key, which is not alphabetical).
pub fn documents_by_type(
    store: &Store,
    ucr: &Ucr,
) -> Result<Vec<Vec<(DocumentKey, DocumentEntry)>>, StoreError> {
    let mut by_type: Vec<Vec<(DocumentKey, DocumentEntry)>> = Vec::new();
    for (k, e) in documents(store, ucr)? {
        match by_type.last_mut() {
            Some(v) if v[0].0.doc_type == k.doc_type => v.push((k, e)),
            _ => by_type.push(vec![(k, e)]),
        }
    }
    by_type.sort_by(|a, b| a[0].0.doc_type.cmp(&b[0].0.doc_type));
    Ok(by_type)
}

/// Every anchored version of one document of a consignment, oldest first.
pub fn document_versions(
    store: &Store,
    ucr: &Ucr,
    doc_type: &str,
) -> Result<Vec<(DocumentKey, DocumentEntry)>, StoreError> {
    store.scan_prefix::<Documents>(&documents_prefix(ucr, doc_type), usize::MAX)
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

/// Where the transaction that presented an aeo-status nullifier sits, in any scope (a scan of the
/// nullifier index: for occasional look-ups, not for a hot path).
pub fn nullifier_location(store: &Store, nullifier: &Fr) -> Result<Option<TxLocation>, StoreError> {
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

/// The height of a finalized block, by hash.
pub fn block_height(store: &Store, hash: &Hash) -> Result<Option<u64>, StoreError> {
    store.get::<BlockHashes>(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, TempStore};

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
        assert_eq!(tx_location(&store, &[1; 32]).unwrap(), Some(loc));
        assert_eq!(block_height(&store, &[2; 32]).unwrap(), Some(3));
        assert!(records(&store, &a, MAX_RECORDS).unwrap().is_empty());
        assert!(documents(&store, &ab).unwrap().is_empty());
        assert!(examination(&store, &a).unwrap().is_none());
    }
}
