//! Rotating the master key: every document key re-wrapped under the new key, the database
//! refused under the old one, no key wrapped under the old one left in any file; and a fault at
//! any step leaves a database that opens under exactly one of the two keys, with every document
//! readable, the rotation completed by the next open under the new key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use zkcustoms_documents::testing::{anchor, files_containing, office, uploader, uploading_trader};
use zkcustoms_documents::{
    check_key_file_outside, DocumentError, DocumentKeys, DocumentService, LocalMasterKey,
    MasterKey, StoredKey, DOCUMENT_COLUMN_FAMILIES,
};
use zkcustoms_ledger_core::store::{Schema, TempStore};
use zkcustoms_ledger_types::tx::{DocumentKey, Ucr};

/// Every step of a rotation where a fault is injected, in order.
const STEPS: [&str; 5] = [
    "rotate-before-batch",
    "rotate-after-batch",
    "erase-after-flush",
    "erase-after-compaction",
    "rotate-after-erase",
];

const DOCS: [(&str, &[u8]); 3] = [
    (
        "invoice",
        b"ROTATE-MARKER-1: Static converters, 4 x 1200 EUR",
    ),
    (
        "declaration",
        b"ROTATE-MARKER-2: HS 8504.40, customs value 4800 EUR",
    ),
    (
        "certificate",
        b"ROTATE-MARKER-3: forgotten before the rotation",
    ),
];

fn id(doc_type: &str) -> DocumentKey {
    DocumentKey {
        ucr: Ucr::parse("26DE-HAM-000042").unwrap(),
        doc_type: doc_type.into(),
        version: 1,
    }
}

fn key() -> Arc<dyn MasterKey> {
    Arc::new(LocalMasterKey::generate())
}

/// A document database under `master` holding the first two documents, the third forgotten;
/// answers the stored (wrapped) key values of the two.
fn prepare(dir: &Path, master: Arc<dyn MasterKey>) -> Vec<Vec<u8>> {
    let ledger = TempStore::new().unwrap();
    let ids = DOCS.map(|(doc_type, _)| id(doc_type));
    let anchored: Vec<(&DocumentKey, &[u8])> = ids.iter().zip(DOCS.map(|(_, c)| c)).collect();
    anchor(&ledger, &anchored);
    let docs = DocumentService::open(dir, 1 << 16, master).unwrap();
    for (doc_type, content) in DOCS {
        docs.upload(&ledger, &id(doc_type), content, &[], &uploader(), 1)
            .unwrap();
    }
    docs.forget(&id(DOCS[2].0), &office("DE"), 2).unwrap();
    let stored: Vec<Vec<u8>> = DOCS[..2]
        .iter()
        .map(|(doc_type, _)| docs.stored_entries(&id(doc_type)).unwrap().0)
        .collect();
    docs.erase_all().unwrap();
    for value in &stored {
        assert!(!files_containing(dir, value).is_empty());
    }
    stored
}

/// The database opens under `master` and not under `other` (refused by `master`'s id), reads
/// every kept document, still answers the forgotten one as forgotten, and no file holds a key
/// value in `gone`.
fn assert_under(
    dir: &Path,
    master: &Arc<dyn MasterKey>,
    other: &Arc<dyn MasterKey>,
    gone: &[Vec<u8>],
    at: &str,
) {
    let docs =
        DocumentService::open(dir, 1 << 16, master.clone()).unwrap_or_else(|e| panic!("{at}: {e}"));
    for (doc_type, content) in &DOCS[..2] {
        assert_eq!(
            docs.read(&id(doc_type), &uploading_trader()).unwrap(),
            *content,
            "{at}"
        );
    }
    assert!(
        matches!(
            docs.read(&id(DOCS[2].0), &uploading_trader()),
            Err(DocumentError::Forgotten { .. })
        ),
        "{at}"
    );
    drop(docs);
    let e = DocumentService::open(dir, 1 << 16, other.clone()).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(why) if why.contains(&hex::encode(master.id()))),
        "{at}: {e}"
    );
    for value in gone {
        assert_eq!(
            files_containing(dir, value),
            Vec::<PathBuf>::new(),
            "{at}: a key wrapped under the old master key is still on disk"
        );
    }
}

#[test]
fn rotating_rewraps_every_key_and_erases_the_old_wraps() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (key(), key());
    let stored = prepare(dir.path(), old.clone());
    let mut docs = DocumentService::open(dir.path(), 1 << 16, old.clone()).unwrap();
    let e = docs.rotate_master_key(old.clone()).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(why) if why.contains("is the current one")),
        "{e}"
    );
    assert_eq!(docs.rotate_master_key(new.clone()).unwrap(), 2);
    // The service goes on under the new key.
    assert_eq!(
        docs.read(&id(DOCS[0].0), &uploading_trader()).unwrap(),
        DOCS[0].1
    );
    let rewrapped = docs.stored_entries(&id(DOCS[0].0)).unwrap().0;
    assert_ne!(rewrapped, stored[0]);
    drop(docs);
    assert_under(dir.path(), &new, &old, &stored, "rotated");
    // And rotates again, back to a third key.
    let third = key();
    let mut docs = DocumentService::open(dir.path(), 1 << 16, new.clone()).unwrap();
    assert_eq!(docs.rotate_master_key(third.clone()).unwrap(), 2);
    drop(docs);
    assert_under(dir.path(), &third, &new, &[rewrapped], "rotated twice");
    scenario.teardown();
}

#[test]
fn an_empty_database_is_switched_in_one_batch() {
    // No fail point of another test may fire while this one opens databases.
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (key(), key());
    let mut docs = DocumentService::open(dir.path(), 1 << 16, old.clone()).unwrap();
    assert_eq!(docs.rotate_master_key(new.clone()).unwrap(), 0);
    drop(docs);
    DocumentService::open(dir.path(), 1 << 16, new.clone()).unwrap();
    let e = DocumentService::open(dir.path(), 1 << 16, old).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(why) if why.contains(&hex::encode(new.id()))),
        "{e}"
    );
    scenario.teardown();
}

#[test]
fn a_key_that_does_not_unwrap_stops_the_rotation_before_anything_is_written() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (key(), key());
    prepare(dir.path(), old.clone());
    {
        // One stored key damaged on disk: its wrapped bytes no longer authenticate.
        let db = rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            dir.path(),
            DOCUMENT_COLUMN_FAMILIES,
        )
        .unwrap();
        let cf = db.cf_handle(DocumentKeys::CF).unwrap();
        let k = DocumentKeys::encode_key(&id(DOCS[1].0));
        let mut stored = DocumentKeys::decode_value(&db.get_cf(cf, &k).unwrap().unwrap()).unwrap();
        match &mut stored {
            StoredKey::Wrapped { wrapped, .. } => wrapped[40] ^= 1,
            StoredKey::Plain(_) => panic!("keys are stored wrapped"),
        }
        db.put_cf(cf, &k, DocumentKeys::encode_value(&stored))
            .unwrap();
    }
    let mut docs = DocumentService::open(dir.path(), 1 << 16, old.clone()).unwrap();
    let e = docs.rotate_master_key(new.clone()).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(why)
            if why.contains("26DE-HAM-000042/declaration/v1") && why.contains("nothing was rotated")),
        "{e}"
    );
    assert_eq!(
        docs.read(&id(DOCS[0].0), &uploading_trader()).unwrap(),
        DOCS[0].1
    );
    drop(docs);
    let e = DocumentService::open(dir.path(), 1 << 16, new).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(why) if why.contains(&hex::encode(old.id()))),
        "{e}"
    );
    scenario.teardown();
}

#[test]
fn a_fault_at_any_step_leaves_one_key_and_the_next_open_completes_it() {
    let scenario = fail::FailScenario::setup();
    for step in STEPS {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (key(), key());
        let stored = prepare(dir.path(), old.clone());
        let mut docs = DocumentService::open(dir.path(), 1 << 16, old.clone()).unwrap();
        fail::cfg(step, "return").unwrap();
        let result = docs.rotate_master_key(new.clone());
        fail::remove(step);
        assert!(
            matches!(result, Err(DocumentError::Injected(s)) if s == step),
            "{step}: {result:?}"
        );
        drop(docs);
        if step == "rotate-before-batch" {
            // Nothing was written: the database is the old key's, and rotates once asked again.
            assert_under(dir.path(), &old, &new, &[], step);
            let mut docs = DocumentService::open(dir.path(), 1 << 16, old.clone()).unwrap();
            assert_eq!(docs.rotate_master_key(new.clone()).unwrap(), 2);
        }
        assert_under(dir.path(), &new, &old, &stored, step);
    }
    scenario.teardown();
}

#[test]
fn master_key_files_must_lie_outside_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let inside = data.join("master.key");
    LocalMasterKey::create(&inside).unwrap();
    let e = check_key_file_outside(&inside, &data).unwrap_err();
    assert!(e.to_string().contains("inside the data directory"), "{e}");
    // Not yet created, or reached through `..`: still inside.
    check_key_file_outside(&data.join("new.key"), &data).unwrap_err();
    check_key_file_outside(&data.join("../data/master.key"), &data).unwrap_err();
    check_key_file_outside(&dir.path().join("master.key"), &data).unwrap();
    check_key_file_outside(&dir.path().join("data-keys/master.key"), &data).unwrap();
}
