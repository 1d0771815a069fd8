//! Unit tests of the document service.

use super::*;
use crate::testing::{files_containing, office, readers, uploader, uploading_trader};
use proptest::prelude::*;
use std::sync::Arc;
use zkcustoms_ledger_core::store::TempStore;
use zkcustoms_ledger_types::tx::Ucr;

mod access;

fn id(doc_type: &str, version: u32) -> DocumentKey {
    DocumentKey {
        ucr: Ucr::parse("26DE-HAM-000042").unwrap(),
        doc_type: doc_type.into(),
        version,
    }
}

fn anchor(ledger: &Store, id: &DocumentKey, content: &[u8]) {
    crate::testing::anchor(ledger, &[(id, content)]);
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn master() -> Arc<dyn MasterKey> {
    Arc::new(LocalMasterKey::generate())
}

#[test]
fn schemas_round_trip() {
    let k = id("invoice", 3);
    let meta = DocumentMeta {
        digest: sha256(b"d"),
        size: 42,
        uploader: uploader(),
        readers: readers("customs:DE,AUDIT-EU-1"),
        uploaded_at_ms: 7,
        state: DocumentState::Stored,
    };
    for state in [
        DocumentState::Stored,
        DocumentState::Forgotten {
            by: "DE-OFFICE-1".into(),
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
    let plain = StoredKey::Plain(key.clone());
    let bytes = DocumentKeys::encode_value(&plain);
    assert_eq!(bytes.len(), 1 + 1 + KEY_LEN + NONCE_LEN);
    assert_eq!(DocumentKeys::decode_value(&bytes).unwrap(), plain);
    let m = LocalMasterKey::generate();
    let aad = keys::key_wrap_data(&k, key.nonce());
    let wrapped = StoredKey::Wrapped {
        master: m.id(),
        wrapped: m.wrap(key.key_bytes(), &aad).unwrap(),
        nonce: *key.nonce(),
    };
    let bytes = DocumentKeys::encode_value(&wrapped);
    assert_eq!(bytes.len(), 1 + 1 + 8 + keys::WRAPPED_LEN + NONCE_LEN);
    assert_eq!(DocumentKeys::decode_value(&bytes).unwrap(), wrapped);
    let mut wrong = bytes.clone();
    wrong[1] = 3;
    assert!(DocumentKeys::decode_value(&wrong).is_err());
    assert!(DocumentKeys::decode_value(&bytes[..bytes.len() - 1]).is_err());
    assert_eq!(format!("{plain:?}"), "StoredKey::Plain(<redacted>)");
    let blob = vec![1, 2, 3];
    assert_eq!(
        DocumentBlobs::decode_value(&DocumentBlobs::encode_value(&blob)).unwrap(),
        blob
    );
    assert_eq!(format!("{key:?}"), "SealKey(<redacted>)");
    let id = m.id();
    let bytes = DocumentMaster::encode_value(&id);
    assert_eq!(bytes.len(), 1 + 8);
    assert_eq!(DocumentMaster::decode_value(&bytes).unwrap(), id);
    assert!(DocumentMaster::decode_value(&bytes[..bytes.len() - 1]).is_err());
    assert!(DocumentMaster::decode_value(&[&bytes[..], &[0]].concat()).is_err());
    DocumentMaster::decode_key(&DocumentMaster::encode_key(&())).unwrap();
    assert!(DocumentMaster::decode_key(&[0]).is_err());
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
fn uploads_reads_and_forgets_follow_the_rules() {
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let docs = DocumentService::open(dir.path(), 64, master()).unwrap();
    let inv = id("invoice", 1);
    let content = b"invoice 1".to_vec();
    let (list, me) = (readers("customs:DE"), uploader());
    // Not anchored yet.
    assert!(matches!(
        docs.upload(&ledger, &inv, &content, &list, &me, 1),
        Err(DocumentError::UnknownAnchor(_))
    ));
    anchor(&ledger, &inv, &content);
    assert!(matches!(
        docs.upload(&ledger, &inv, b"invoice 2", &list, &me, 1),
        Err(DocumentError::DigestMismatch { .. })
    ));
    assert!(matches!(
        docs.upload(&ledger, &inv, &[], &[], &me, 1),
        Err(DocumentError::Empty)
    ));
    assert!(matches!(
        docs.upload(&ledger, &inv, &[7; 65], &[], &me, 1),
        Err(DocumentError::TooLarge { len: 65, max: 64 })
    ));
    assert!(docs.meta(&inv).unwrap().is_none());
    let meta = docs.upload(&ledger, &inv, &content, &list, &me, 5).unwrap();
    assert_eq!(meta.readers, list);
    assert_eq!(meta.uploader, me);
    assert_eq!(meta.state, DocumentState::Stored);
    assert_eq!(docs.meta(&inv).unwrap().as_ref(), Some(&meta));
    assert!(matches!(
        docs.upload(&ledger, &inv, &content, &list, &me, 6),
        Err(DocumentError::Duplicate(_))
    ));
    assert_eq!(docs.read(&inv, &uploading_trader()).unwrap(), content);
    assert_eq!(docs.read(&inv, &office("DE")).unwrap(), content);
    assert!(matches!(
        docs.read(&inv, &Party::Auditor("AUDIT-EU-1".into())),
        Err(DocumentError::NotAllowed { .. })
    ));
    assert!(matches!(
        docs.read(&id("invoice", 2), &uploading_trader()),
        Err(DocumentError::UnknownDocument(_))
    ));
    assert!(matches!(
        docs.forget(&id("invoice", 2), &uploading_trader(), 9),
        Err(DocumentError::UnknownDocument(_))
    ));

    let forgotten = docs.forget(&inv, &office("DE"), 10).unwrap();
    assert_eq!(
        forgotten.state,
        DocumentState::Forgotten {
            by: "DE-OFFICE-1".into(),
            at_ms: 10
        }
    );
    assert_eq!(forgotten.digest, meta.digest);
    assert_eq!(forgotten.to_json()["forgotten_by"], "DE-OFFICE-1");
    for party in [uploading_trader(), office("DE")] {
        assert!(matches!(
            docs.read(&inv, &party),
            Err(DocumentError::Forgotten { by, at_ms: 10, .. }) if by == "DE-OFFICE-1"
        ));
    }
    // Who may not read is refused as before: the refusal says nothing about the document.
    assert!(matches!(
        docs.read(&inv, &office("NL")),
        Err(DocumentError::NotAllowed { .. })
    ));
    // A second forget changes nothing; neither does a new upload.
    assert!(matches!(
        docs.forget(&inv, &uploading_trader(), 11),
        Err(DocumentError::Forgotten { by, .. }) if by == "DE-OFFICE-1"
    ));
    assert!(matches!(
        docs.upload(&ledger, &inv, &content, &[], &me, 12),
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
fn master_keys_wrap_and_refuse_what_is_not_theirs() {
    let (a, b) = (LocalMasterKey::generate(), LocalMasterKey::generate());
    assert_ne!(a.id(), b.id());
    let key = [7u8; KEY_LEN];
    let w = a.wrap(&key, b"aad").unwrap();
    assert_eq!(*a.unwrap(&w, b"aad").unwrap(), key);
    assert_ne!(
        a.wrap(&key, b"aad").unwrap(),
        w,
        "each wrap has its own nonce"
    );
    assert!(matches!(
        a.unwrap(&w, b"other"),
        Err(DocumentError::MasterKey(_))
    ));
    assert!(matches!(
        b.unwrap(&w, b"aad"),
        Err(DocumentError::MasterKey(_))
    ));
    assert!(!w.windows(KEY_LEN).any(|x| x == key));
    // Files and hex.
    let dir = temp_dir();
    let path = dir.path().join("master.key");
    let made = LocalMasterKey::create(&path).unwrap();
    assert_eq!(LocalMasterKey::load(&path).unwrap().id(), made.id());
    assert!(matches!(
        LocalMasterKey::create(&path),
        Err(DocumentError::MasterKey(_))
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = LocalMasterKey::load(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
    for bad in ["", "00", &"zz".repeat(32), &"00".repeat(33)] {
        assert!(LocalMasterKey::from_hex(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        LocalMasterKey::from_hex(&format!(" {}\n", "ab".repeat(32)))
            .unwrap()
            .id(),
        LocalMasterKey::from_hex(&"ab".repeat(32)).unwrap().id()
    );
    assert_eq!(
        format!("{made:?}"),
        format!("LocalMasterKey({})", hex::encode(made.id()))
    );
}

#[test]
fn a_database_is_refused_under_another_master_key() {
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let inv = id("invoice", 1);
    anchor(&ledger, &inv, b"doc");
    let m = master();
    DocumentService::open(dir.path(), 64, m.clone())
        .unwrap()
        .upload(&ledger, &inv, b"doc", &[], &uploader(), 1)
        .unwrap();
    let e = DocumentService::open(dir.path(), 64, master()).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(m) if m.contains("written under master key")),
        "{e}"
    );
    let docs = DocumentService::open(dir.path(), 64, m).unwrap();
    assert_eq!(docs.read(&inv, &uploading_trader()).unwrap(), b"doc");
}

#[test]
fn a_database_records_its_master_key_and_refuses_another_even_empty() {
    let dir = temp_dir();
    let m = master();
    let docs = DocumentService::open(dir.path(), 64, m.clone()).unwrap();
    assert_eq!(docs.get::<DocumentMaster>(&()).unwrap(), Some(m.id()));
    drop(docs);
    let e = DocumentService::open(dir.path(), 64, master()).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(why) if why.contains(&hex::encode(m.id()))),
        "{e}"
    );
    DocumentService::open(dir.path(), 64, m).unwrap();
}

#[test]
fn a_database_without_a_recorded_master_key_has_every_key_checked() {
    // A database of older versions (no recorded master key) whose keys are wrapped under another
    // master key is refused, and nothing is recorded.
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let inv = id("invoice", 1);
    anchor(&ledger, &inv, b"doc");
    let docs = DocumentService::open(dir.path(), 64, master()).unwrap();
    docs.upload(&ledger, &inv, b"doc", &[], &uploader(), 1)
        .unwrap();
    let mut batch = WriteBatch::default();
    docs.delete::<DocumentMaster>(&mut batch, &());
    docs.write_synced(batch).unwrap();
    drop(docs);
    let e = DocumentService::open(dir.path(), 64, master()).unwrap_err();
    assert!(
        matches!(&e, DocumentError::MasterKey(m) if m.contains("written under master key")),
        "{e}"
    );
    let db = DB::open_cf_for_read_only(
        &Options::default(),
        dir.path(),
        DOCUMENT_COLUMN_FAMILIES,
        false,
    )
    .unwrap();
    let recorded = db
        .get_cf(
            db.cf_handle(DocumentMaster::CF).unwrap(),
            DocumentMaster::encode_key(&()),
        )
        .unwrap();
    assert_eq!(recorded, None);
}

/// A database as older versions wrote it: one anchored document whose key is stored in the
/// clear, with no master key recorded, flushed into the database's files.
struct Legacy {
    _ledger: TempStore,
    dir: tempfile::TempDir,
    inv: DocumentKey,
    content: Vec<u8>,
    master: Arc<dyn MasterKey>,
    key: SealKey,
}

impl Legacy {
    fn new(content: &[u8]) -> Self {
        let ledger = TempStore::new().unwrap();
        let dir = temp_dir();
        let inv = id("invoice", 1);
        anchor(&ledger, &inv, content);
        let master = master();
        let key = SealKey::generate();
        let docs = DocumentService::open(dir.path(), 1 << 16, master.clone()).unwrap();
        let meta = DocumentMeta {
            digest: sha256(content),
            size: content.len() as u64,
            uploader: uploader(),
            readers: Vec::new(),
            uploaded_at_ms: 1,
            state: DocumentState::Stored,
        };
        let mut batch = WriteBatch::default();
        docs.put::<DocumentMetas>(&mut batch, &inv, &meta);
        docs.put::<DocumentKeys>(&mut batch, &inv, &StoredKey::Plain(key.clone()));
        docs.delete::<DocumentMaster>(&mut batch, &());
        docs.put::<DocumentBlobs>(
            &mut batch,
            &inv,
            &key.seal(content, &associated_data(&inv, &meta.digest)),
        );
        docs.write_synced(batch).unwrap();
        for name in DOCUMENT_COLUMN_FAMILIES {
            docs.db.flush_cf(docs.cf(name)).unwrap();
        }
        drop(docs);
        assert!(!files_containing(dir.path(), key.key_bytes()).is_empty());
        Self {
            _ledger: ledger,
            dir,
            inv,
            content: content.to_vec(),
            master,
            key,
        }
    }

    /// Opens the database and checks that the document reads, that its key is wrapped and in
    /// the clear in no file, and that the master key is recorded.
    fn assert_wrapped_and_erased(&self) {
        let docs = DocumentService::open(self.dir.path(), 1 << 16, self.master.clone()).unwrap();
        assert!(matches!(
            docs.get::<DocumentKeys>(&self.inv).unwrap(),
            Some(StoredKey::Wrapped { .. })
        ));
        assert_eq!(
            docs.get::<DocumentMaster>(&()).unwrap(),
            Some(self.master.id())
        );
        assert_eq!(
            docs.read(&self.inv, &uploading_trader()).unwrap(),
            self.content
        );
        drop(docs);
        assert_eq!(
            files_containing(self.dir.path(), self.key.key_bytes()),
            Vec::<PathBuf>::new(),
            "the key in the clear is still on disk"
        );
    }
}

#[test]
fn keys_stored_in_the_clear_are_wrapped_on_open_and_erased() {
    Legacy::new(b"LEGACY-MARKER-0c7e: an invoice stored before master keys")
        .assert_wrapped_and_erased();
}

#[test]
fn an_open_stopped_between_wrapping_and_erasing_is_completed_by_the_next() {
    let legacy = Legacy::new(b"LEGACY-MARKER-5b1d: wrapped, then the node stopped");
    let (m, key, inv) = (&legacy.master, &legacy.key, &legacy.inv);
    {
        // What an open that stopped after wrapping the key leaves: the wrapped key written over
        // the key in the clear, which is still in a table file, and no master key recorded.
        let db = DB::open_cf(
            &Options::default(),
            legacy.dir.path(),
            DOCUMENT_COLUMN_FAMILIES,
        )
        .unwrap();
        let wrapped = StoredKey::Wrapped {
            master: m.id(),
            wrapped: m
                .wrap(key.key_bytes(), &keys::key_wrap_data(inv, key.nonce()))
                .unwrap(),
            nonce: *key.nonce(),
        };
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        db.put_cf_opt(
            db.cf_handle(DocumentKeys::CF).unwrap(),
            DocumentKeys::encode_key(inv),
            DocumentKeys::encode_value(&wrapped),
            &opts,
        )
        .unwrap();
    }
    assert!(!files_containing(legacy.dir.path(), key.key_bytes()).is_empty());
    legacy.assert_wrapped_and_erased();
}

#[test]
fn forgotten_keys_and_plaintexts_are_in_no_file() {
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let m = master();
    let marker = b"PLAINTEXT-MARKER-7d41c0a9: Static converters, 4 x 1200 EUR".to_vec();
    let kept_marker = b"KEPT-MARKER-55b2e8f1: another consignment's invoice".to_vec();
    let (gone, kept) = (id("invoice", 1), id("declaration", 1));
    anchor(&ledger, &gone, &marker);
    anchor(&ledger, &kept, &kept_marker);
    let (gone_entries, kept_entries, gone_key) = {
        let docs = DocumentService::open(dir.path(), 1 << 16, m.clone()).unwrap();
        docs.upload(
            &ledger,
            &gone,
            &marker,
            &readers("customs:DE"),
            &uploader(),
            1,
        )
        .unwrap();
        docs.upload(&ledger, &kept, &kept_marker, &[], &uploader(), 1)
            .unwrap();
        let gone_entries = docs.stored_entries(&gone).unwrap();
        let kept_entries = docs.stored_entries(&kept).unwrap();
        let gone_key = docs
            .unwrap(&gone, docs.get::<DocumentKeys>(&gone).unwrap().unwrap())
            .unwrap();
        // Encrypted at rest, keys wrapped: neither plaintexts nor document keys are in any file,
        // in the log or after a flush.
        for name in [None, Some(())] {
            if name.is_some() {
                for name in DOCUMENT_COLUMN_FAMILIES {
                    docs.db.flush_cf(docs.cf(name)).unwrap();
                }
            }
            for m in [&marker, &kept_marker, &gone_key.key_bytes().to_vec()] {
                assert_eq!(files_containing(dir.path(), m), Vec::<PathBuf>::new());
            }
            // The scan finds what is there: the wrapped key and the ciphertext, until forgotten.
            assert!(!files_containing(dir.path(), &gone_entries.0).is_empty());
            assert!(!files_containing(dir.path(), &gone_entries.1).is_empty());
        }
        docs.forget(&gone, &uploading_trader(), 2).unwrap();
        assert!(!docs.erase_pending(&gone).unwrap());
        for needle in [&gone_entries.0, &gone_entries.1] {
            assert_eq!(
                files_containing(dir.path(), needle),
                Vec::<PathBuf>::new(),
                "the forgotten key or ciphertext is still on disk"
            );
        }
        assert_eq!(docs.read(&kept, &uploading_trader()).unwrap(), kept_marker);
        (gone_entries, kept_entries, gone_key)
    };
    // Reopened (the write-ahead log replayed), and compacted once more: still gone, the other
    // document still readable.
    let docs = DocumentService::open(dir.path(), 1 << 16, m).unwrap();
    assert!(matches!(
        docs.read(&gone, &uploading_trader()),
        Err(DocumentError::Forgotten { .. })
    ));
    docs.erase_all().unwrap();
    assert_eq!(docs.read(&kept, &uploading_trader()).unwrap(), kept_marker);
    drop(docs);
    for needle in [
        &gone_entries.0,
        &gone_entries.1,
        &gone_key.key_bytes().to_vec(),
    ] {
        assert_eq!(files_containing(dir.path(), needle), Vec::<PathBuf>::new());
    }
    assert!(!files_containing(dir.path(), &kept_entries.0).is_empty());
    for m in [&marker, &kept_marker] {
        assert_eq!(files_containing(dir.path(), m), Vec::<PathBuf>::new());
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = DocumentMetas::decode_key(&bytes);
        for b in [
            bytes.clone(),
            [&[zkcustoms_ledger_core::store::VALUE_VERSION][..], &bytes[..]].concat(),
            [&[DOCUMENT_META_VERSION][..], &bytes[..]].concat(),
        ] {
            let _ = DocumentMetas::decode_value(&b);
            let _ = DocumentKeys::decode_value(&b);
            let _ = DocumentBlobs::decode_value(&b);
            let _ = DocumentShreds::decode_value(&b);
            let _ = DocumentMaster::decode_value(&b);
        }
    }
}
