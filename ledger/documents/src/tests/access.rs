//! Access lists of parties: who reads, what a refusal tells, and the stored layout of
//! [`DocumentMetas`].

use super::*;
use crate::testing::UPLOADER;
use zkcustoms_ledger_types::codec::DecodeError;

fn trader(eori: &str) -> Party {
    Party::Trader(Eori::parse(eori).unwrap())
}

fn auditor(id: &str) -> Party {
    Party::Auditor(id.into())
}

/// A service holding `invoice/v1` uploaded by [`UPLOADER`] for `list`.
fn uploaded(list: &str) -> (TempStore, tempfile::TempDir, DocumentService, DocumentKey) {
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let docs = DocumentService::open(dir.path(), 1 << 10, master()).unwrap();
    let inv = id("invoice", 1);
    anchor(&ledger, &inv, b"invoice 1");
    docs.upload(&ledger, &inv, b"invoice 1", &readers(list), &uploader(), 1)
        .unwrap();
    (ledger, dir, docs, inv)
}

#[test]
fn readers_are_the_uploader_and_whom_the_list_admits() {
    let (_ledger, _dir, docs, inv) = uploaded("customs:DE,AUDIT-EU-1");
    let second_de_office = Party::Office {
        id: "DE-OFFICE-2".into(),
        administration: "DE".into(),
    };
    for party in [
        uploading_trader(),
        office("DE"),
        second_de_office,
        auditor("AUDIT-EU-1"),
    ] {
        assert_eq!(docs.read(&inv, &party).unwrap(), b"invoice 1", "{party}");
    }
    let listed = ["customs:DE", "AUDIT-EU-1", UPLOADER];
    for party in [
        // An office of another administration.
        office("NL"),
        // A trader the list does not name.
        trader("NL000111222"),
        // Another auditor.
        auditor("AUDIT-EU-2"),
        // The uploader's id, but not the trader: only the trader is the uploader.
        auditor(UPLOADER),
        // An office whose id is a listed party's: a party entry names no office.
        Party::Office {
            id: "AUDIT-EU-1".into(),
            administration: "NL".into(),
        },
    ] {
        let e = docs.read(&inv, &party).unwrap_err();
        assert!(
            matches!(&e, DocumentError::NotAllowed { party: p, .. } if *p == party.to_string()),
            "{party}: {e}"
        );
        // The refusal names who asked and the document, never who may read (but for the
        // asker's own id, when it happens to be a reader's).
        let message = e.to_string();
        assert!(message.contains(party.id()), "{message}");
        assert!(message.contains(&display_id(&inv)), "{message}");
        for reader in listed.into_iter().filter(|r| *r != party.id()) {
            assert!(!message.contains(reader), "{message} reveals {reader}");
        }
    }
    let json = docs.meta(&inv).unwrap().unwrap().to_json();
    assert_eq!(
        json["readers"],
        serde_json::json!(["customs:DE", "AUDIT-EU-1"])
    );
    assert_eq!(json["uploader"], UPLOADER);
    assert_eq!(json["state"], "stored");
}

#[test]
fn an_empty_list_leaves_the_uploader_alone_and_a_listed_trader_reads() {
    let (_ledger, _dir, docs, inv) = uploaded("");
    assert_eq!(docs.read(&inv, &uploading_trader()).unwrap(), b"invoice 1");
    for party in [office("DE"), trader("NL000111222"), auditor("AUDIT-EU-1")] {
        assert!(
            matches!(
                docs.read(&inv, &party),
                Err(DocumentError::NotAllowed { .. })
            ),
            "{party}"
        );
    }
    let (_ledger, _dir, docs, inv) = uploaded("NL000111222");
    assert_eq!(
        docs.read(&inv, &trader("NL000111222")).unwrap(),
        b"invoice 1"
    );
    assert!(docs.read(&inv, &trader("NL000111223")).is_err());
}

#[test]
fn access_lists_are_bounded_and_checked_on_upload() {
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let docs = DocumentService::open(dir.path(), 1 << 10, master()).unwrap();
    let inv = id("invoice", 1);
    anchor(&ledger, &inv, b"doc");
    let many = |n: usize| -> Vec<Reader> {
        (0..n)
            .map(|i| Reader::Party(format!("AUDIT-{i:03}")))
            .collect()
    };
    let e = docs
        .upload(
            &ledger,
            &inv,
            b"doc",
            &many(MAX_READERS + 1),
            &uploader(),
            1,
        )
        .unwrap_err();
    assert!(
        matches!(e, DocumentError::TooManyReaders { count: 65, max: 64 }),
        "{e}"
    );
    for bad in [
        Reader::Party("customs:DE".into()),
        Reader::Party("AUDIT EU".into()),
        Reader::Party("x".repeat(65)),
        Reader::Customs(String::new()),
    ] {
        let e = docs
            .upload(
                &ledger,
                &inv,
                b"doc",
                std::slice::from_ref(&bad),
                &uploader(),
                1,
            )
            .unwrap_err();
        assert!(
            matches!(&e, DocumentError::InvalidReader { reader, .. } if *reader == bad.to_string()),
            "{bad:?}: {e}"
        );
    }
    assert!(docs.meta(&inv).unwrap().is_none(), "nothing was stored");
    // The limit counts distinct readers; the list is stored sorted, without repeats.
    let mut list = many(MAX_READERS);
    list.reverse();
    list.extend(many(3));
    let meta = docs
        .upload(&ledger, &inv, b"doc", &list, &uploader(), 1)
        .unwrap();
    assert_eq!(meta.readers, many(MAX_READERS));
    assert_eq!(docs.meta(&inv).unwrap(), Some(meta));
    // A forget names its party by an id that a record can hold.
    assert!(matches!(
        docs.forget(&inv, &auditor("AUDIT EU"), 2),
        Err(DocumentError::InvalidParty(_))
    ));
    assert_eq!(
        docs.meta(&inv).unwrap().unwrap().state,
        DocumentState::Stored
    );
}

fn example_meta() -> DocumentMeta {
    DocumentMeta {
        digest: sha256(b"d"),
        size: 42,
        uploader: uploader(),
        readers: readers("customs:DE,AUDIT-EU-1"),
        uploaded_at_ms: 7,
        state: DocumentState::Stored,
    }
}

/// The layout of the doc comment of [`DocumentMetas`], written out by hand.
fn example_bytes(forgotten: bool) -> Vec<u8> {
    let mut b = vec![DOCUMENT_META_VERSION];
    b.extend(sha256(b"d"));
    b.extend(42u64.to_be_bytes());
    b.extend([0, 17]);
    b.extend(UPLOADER.as_bytes());
    b.extend([0, 2]);
    b.extend([1, 0, 2]);
    b.extend(b"DE");
    b.extend([2, 0, 10]);
    b.extend(b"AUDIT-EU-1");
    b.extend(7u64.to_be_bytes());
    if forgotten {
        b.extend([2, 0, 11]);
        b.extend(b"DE-OFFICE-1");
        b.extend(9u64.to_be_bytes());
    } else {
        b.push(1);
    }
    b
}

fn decode_error(bytes: &[u8]) -> String {
    DocumentMetas::decode_value(bytes)
        .expect_err("refused")
        .to_string()
}

#[test]
fn document_metas_have_the_drawn_layout_and_decode_strictly() {
    let stored = example_meta();
    let forgotten = DocumentMeta {
        state: DocumentState::Forgotten {
            by: "DE-OFFICE-1".into(),
            at_ms: 9,
        },
        ..example_meta()
    };
    for (meta, bytes) in [
        (&stored, example_bytes(false)),
        (&forgotten, example_bytes(true)),
    ] {
        assert_eq!(DocumentMetas::encode_value(meta), bytes);
        assert_eq!(&DocumentMetas::decode_value(&bytes).unwrap(), meta);
        for len in 0..bytes.len() {
            assert!(DocumentMetas::decode_value(&bytes[..len]).is_err(), "{len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            DocumentMetas::decode_value(&longer).unwrap_err(),
            DecodeError::Trailing(1)
        );
    }
    // Readers out of order, or repeated, are refused: they would not encode back.
    let reordered = |list: Vec<Reader>| {
        DocumentMetas::encode_value(&DocumentMeta {
            readers: list,
            ..example_meta()
        })
    };
    let (de, auditor) = (
        Reader::Customs("DE".into()),
        Reader::Party("AUDIT-EU-1".into()),
    );
    assert!(decode_error(&reordered(vec![auditor.clone(), de.clone()])).contains("sorted"));
    assert!(decode_error(&reordered(vec![de.clone(), de.clone()])).contains("repeats"));
    // At most 64 readers.
    let many =
        |n: usize| -> Vec<Reader> { (0..n).map(|i| Reader::Party(format!("P{i:03}"))).collect() };
    assert!(DocumentMetas::decode_value(&reordered(many(MAX_READERS))).is_ok());
    assert!(decode_error(&reordered(many(MAX_READERS + 1))).contains("at most 64"));
    // Fields checked as the API checks them.
    let patched = |at: usize, with: &[u8]| {
        let mut b = example_bytes(true);
        b[at..at + with.len()].copy_from_slice(with);
        b
    };
    let uploader_at = 1 + 32 + 8 + 2;
    let kind_at = uploader_at + 17 + 2;
    let by_at = example_bytes(true).len() - 8 - 11;
    for (bytes, field) in [
        (patched(uploader_at, b"de"), "uploader"),
        (patched(kind_at, &[3]), "reader kind"),
        (patched(kind_at + 3, b"D "), "reader"),
        (patched(kind_at + 5 + 1 + 2, b"customs:DE"), "reader"),
        (patched(by_at, b"DE OFFICE-1"), "forgotten by"),
        (patched(by_at - 3, &[3]), "state"),
    ] {
        let e = decode_error(&bytes);
        assert!(e.contains(field), "{field}: {e}");
    }
}

#[test]
fn role_based_records_are_refused_not_misread() {
    // A record as nodes with role-based access lists wrote it: `version 1 | digest | size |
    // role bits | uploaded | state`.
    let mut old = vec![1u8];
    old.extend(sha256(b"doc"));
    old.extend(3u64.to_be_bytes());
    old.push(0b0110);
    old.extend(1u64.to_be_bytes());
    old.push(1);
    assert!(decode_error(&old).contains("role-based"));
    assert!(decode_error(&[3]).contains("unknown version 3"));
    // Through the service: the document answers a corrupted entry, not a misread access list.
    let ledger = TempStore::new().unwrap();
    let dir = temp_dir();
    let docs = DocumentService::open(dir.path(), 1 << 10, master()).unwrap();
    let inv = id("invoice", 1);
    anchor(&ledger, &inv, b"doc");
    docs.db
        .put_cf(
            docs.cf(DocumentMetas::CF),
            DocumentMetas::encode_key(&inv),
            &old,
        )
        .unwrap();
    let e = docs.meta(&inv).unwrap_err();
    assert!(
        matches!(&e, DocumentError::Corrupted { cf: "document_meta", reason } if reason.contains("role-based")),
        "{e}"
    );
    assert!(matches!(
        docs.read(&inv, &uploading_trader()),
        Err(DocumentError::Corrupted { .. })
    ));
}

fn any_meta() -> impl Strategy<Value = DocumentMeta> {
    let reader = prop_oneof![
        "[A-Z]{2}".prop_map(Reader::Customs),
        "[A-Z0-9-]{1,20}".prop_map(Reader::Party),
    ];
    let state = prop_oneof![
        Just(DocumentState::Stored),
        ("[!-~]{1,64}", any::<u64>())
            .prop_map(|(by, at_ms)| DocumentState::Forgotten { by, at_ms }),
    ];
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        "[A-Z]{2}[A-Z0-9]{1,15}",
        proptest::collection::vec(reader, 0..8),
        any::<u64>(),
        state,
    )
        .prop_map(
            |(digest, size, uploader, mut readers, uploaded_at_ms, state)| {
                readers.sort();
                readers.dedup();
                DocumentMeta {
                    digest,
                    size,
                    uploader: Eori::parse(&uploader).unwrap(),
                    readers,
                    uploaded_at_ms,
                    state,
                }
            },
        )
}

proptest! {
    #[test]
    fn metas_round_trip_and_changed_bytes_decode_only_canonically(
        meta in any_meta(),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let bytes = DocumentMetas::encode_value(&meta);
        prop_assert_eq!(DocumentMetas::decode_value(&bytes).unwrap(), meta);
        // What the fuzz target checks: a changed value that decodes encodes back to itself.
        let mut changed = bytes.clone();
        let at = at % changed.len();
        changed[at] = byte;
        if let Ok(v) = DocumentMetas::decode_value(&changed) {
            prop_assert_eq!(DocumentMetas::encode_value(&v), changed);
        }
        prop_assert!(DocumentMetas::decode_value(&bytes[..at]).is_err());
    }
}
