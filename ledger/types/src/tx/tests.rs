use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn chain() -> Hash {
    sha256(b"test chain")
}

fn trader() -> Eori {
    Eori::parse("DE123456789012345").unwrap()
}

pub(crate) fn samples() -> Vec<Transaction> {
    signed_samples().into_iter().map(|(tx, _)| tx).collect()
}

/// One transaction of each kind but submit-proof, with its signer's public key.
fn signed_samples() -> Vec<(Transaction, PublicKey)> {
    let authority = crypto::generate();
    let office = crypto::generate();
    let trader_key = crypto::generate();
    let c = chain();
    let (a, o, t) = (
        crypto::public_of(&authority),
        crypto::public_of(&office),
        crypto::public_of(&trader_key),
    );
    let txs = vec![
        Transaction::PublishRoot(PublishRoot::sign(
            &c,
            &authority,
            "DE-GZD",
            Fr::from(12345u64),
            1,
        )),
        Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse("6DE123456789012345-2026-00042").unwrap(),
            doc_type: "invoice".into(),
            digest: sha256(b"invoice"),
            reference: "vault://invoices/INV-1".into(),
            version: 2,
            supersedes: Some(1),
            trader: trader(),
            signature: crypto::unsigned(),
        })
        .signed(&c, &trader_key),
        Transaction::MarkExamination(MarkExamination::sign(
            &c,
            &office,
            Ucr::parse("UCR-1").unwrap(),
            "DE-HAMBURG-HAFEN",
        )),
        Transaction::RegisterTrader(RegisterTrader {
            office: "DE-HAMBURG-HAFEN".into(),
            trader: trader(),
            public_key: crypto::public_of(&trader_key),
            signature: crypto::unsigned(),
        })
        .signed(&c, &office),
        Transaction::RotateTraderKey(RotateTraderKey {
            office: "DE-HAMBURG-HAFEN".into(),
            trader: trader(),
            sequence: 2,
            public_key: crypto::public_of(&crypto::generate()),
            signature: crypto::unsigned(),
        })
        .signed(&c, &office),
        Transaction::RevokeTrader(RevokeTrader {
            office: "DE-HAMBURG-HAFEN".into(),
            trader: trader(),
            sequence: 3,
            signature: crypto::unsigned(),
        })
        .signed(&c, &office),
        Transaction::Delegate(Delegate {
            owner: trader(),
            delegate: Eori::parse("NL000111222").unwrap(),
            sequence: 1,
            active: true,
            signature: crypto::unsigned(),
        })
        .signed(&c, &trader_key),
    ];
    let keys = [a, t.clone(), o.clone(), o.clone(), o.clone(), o, t];
    txs.into_iter().zip(keys).collect()
}

#[test]
fn every_kind_round_trips_in_binary_and_json() {
    let samples = samples();
    let mut kinds: Vec<&str> = samples.iter().map(Transaction::kind).collect();
    kinds.dedup();
    // Submit-proof needs a proof: it round-trips in the ledger crates' tests.
    assert_eq!(kinds.len(), KINDS.len() - 1);
    for tx in samples {
        let bytes = tx.to_bytes();
        assert_eq!(Transaction::from_bytes(&bytes).unwrap(), tx);
        assert_eq!(Transaction::from_json(tx.to_json()).unwrap(), tx);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Transaction::from_bytes(&longer).is_err());
        assert!(Transaction::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }
}

#[test]
fn signatures_bind_chain_kind_and_every_field() {
    let key = crypto::generate();
    let public = crypto::public_of(&key);
    let t = Transaction::PublishRoot(PublishRoot::sign(&chain(), &key, "DE-GZD", Fr::from(7), 3));
    assert!(t.verify_signature(&chain(), &public));
    assert!(!t.verify_signature(&sha256(b"other chain"), &public));
    let mut moved = t.clone();
    if let Transaction::PublishRoot(p) = &mut moved {
        p.sequence = 4;
    }
    assert!(!moved.verify_signature(&chain(), &public));
    assert!(!t.verify_signature(&chain(), &crypto::public_of(&crypto::generate())));
    // Each sample's signature stops verifying when any byte before it changes.
    // The check of the bytes before decoding agrees with the decoded transaction's.
    for (tx, key) in signed_samples() {
        assert!(tx.verify_signature(&chain(), &key), "{}", tx.kind());
        let bytes = tx.to_bytes();
        let peeked = peek(&bytes).unwrap();
        assert_eq!(peeked.signature_holds(&bytes, &chain(), &key), Some(true));
        let other = sha256(b"other chain");
        assert_eq!(peeked.signature_holds(&bytes, &other, &key), Some(false));
        for i in 0..bytes.len() - crypto::SIGNATURE_LEN {
            let mut b = bytes.clone();
            b[i] ^= 1;
            if let Ok(changed) = Transaction::from_bytes(&b) {
                assert!(
                    !changed.verify_signature(&chain(), &key),
                    "{} byte {i}",
                    tx.kind()
                );
                let p = peek(&b).unwrap();
                assert_eq!(p.signature_holds(&b, &chain(), &key), Some(false));
            }
        }
    }
}

#[test]
fn a_signature_of_one_kind_is_not_valid_for_another() {
    // The same signer, the same bytes after the kind byte: the namespace tells them apart.
    let office = crypto::generate();
    let revoke = Transaction::RevokeTrader(RevokeTrader {
        office: "DE-HAMBURG-HAFEN".into(),
        trader: trader(),
        sequence: 2,
        signature: crypto::unsigned(),
    })
    .signed(&chain(), &office);
    let msg = revoke.signed_message(&chain());
    for (_, _, ns) in KINDS.iter().filter(|(_, _, ns)| *ns != revoke.namespace()) {
        assert!(!crypto::verify(
            &crypto::public_of(&office),
            ns,
            &msg,
            revoke.signature()
        ));
    }
}

#[test]
fn ledger_scopes_differ_by_chain_and_consignment() {
    let a = Ucr::parse("UCR-A").unwrap();
    let b = Ucr::parse("UCR-B").unwrap();
    let s = ledger_scope(&chain(), &a);
    assert!(s.starts_with("zkcustoms/ledger-scope/v1:"));
    assert_eq!(s.len(), LEDGER_SCOPE_DOMAIN.len() + 1 + 64);
    assert_eq!(s, ledger_scope(&chain(), &a));
    assert_ne!(s, ledger_scope(&chain(), &b));
    assert_ne!(s, ledger_scope(&sha256(b"other chain"), &a));
}

#[test]
fn bad_fields_are_refused() {
    assert!(Ucr::parse("").is_err());
    assert!(Ucr::parse("lower-case").is_err());
    assert!(Ucr::parse(&"A".repeat(36)).is_err());
    assert!(Ucr::parse("-LEADING").is_err());
    for bad in [
        "",
        "DE",
        "de123",
        "D1234",
        "DE-123",
        &format!("DE{}", "1".repeat(16)),
    ] {
        assert!(Eori::parse(bad).is_err(), "{bad}");
    }
    let mut json = samples()[1].to_json();
    json["supersedes"] = Value::from(5);
    assert!(matches!(
        Transaction::from_json(json.clone()),
        Err(TxError::Field {
            field: "supersedes",
            ..
        })
    ));
    json["supersedes"] = Value::from(1);
    json["extra"] = Value::from(1);
    assert!(matches!(
        Transaction::from_json(json),
        Err(TxError::Json(_))
    ));
    let mut json = samples()[1].to_json();
    json.as_object_mut().unwrap().remove("signature");
    assert!(matches!(
        Transaction::from_json(json),
        Err(TxError::Json(_))
    ));
    let mut json = samples()[0].to_json();
    json["signature"] = Value::from("00");
    assert!(matches!(
        Transaction::from_json(json),
        Err(TxError::Field {
            field: "signature",
            ..
        })
    ));
    let mut json = samples()[3].to_json();
    json["public_key"] = Value::from("11".repeat(31));
    assert!(matches!(
        Transaction::from_json(json),
        Err(TxError::Field {
            field: "public_key",
            ..
        })
    ));
    let mut json = samples()[4].to_json();
    json["sequence"] = Value::from(1);
    assert!(matches!(
        Transaction::from_json(json),
        Err(TxError::Field {
            field: "sequence",
            ..
        })
    ));
    let mut json = samples()[6].to_json();
    json["delegate"] = json["owner"].clone();
    assert!(matches!(
        Transaction::from_json(json),
        Err(TxError::Field {
            field: "delegate",
            ..
        })
    ));
    assert!(Transaction::from_json(json!({"type": "mint", "amount": 1})).is_err());
    // An encoding of the previous version is refused by its version byte.
    let mut bytes = samples()[0].to_bytes();
    bytes[0] = 1;
    assert!(matches!(
        Transaction::from_bytes(&bytes),
        Err(TxError::Field {
            field: "version",
            ..
        })
    ));
}

/// What [`peek`] answers of a transaction that decodes: its kind and its signer.
fn peeked(tx: &Transaction) -> Peeked<'_> {
    let signer = tx.signer();
    Peeked {
        kind: tx.kind(),
        namespace: tx.namespace(),
        signer: signer.kind(),
        id: signer.id(),
    }
}

#[test]
fn peeking_reads_the_kind_and_signer_without_decoding_the_rest() {
    for tx in samples() {
        let bytes = tx.to_bytes();
        assert_eq!(peek(&bytes).unwrap(), peeked(&tx), "{}", tx.kind());
    }

    // A proof submission whose envelope is not even a proof envelope: decoding refuses it,
    // peeking names its signer without reading the envelope.
    let submission = |trader: &str| {
        let mut w = Writer::new();
        w.u8(TX_VERSION)
            .u8(3)
            .str16("UCR-1")
            .bytes(&[0xff; 600])
            .str16(trader)
            .fixed(&[0; 64]);
        w.finish()
    };
    let bytes = submission("DE123456789012345");
    assert!(Transaction::from_bytes(&bytes).is_err());
    assert_eq!(
        peek(&bytes).unwrap(),
        Peeked {
            kind: "submit_proof",
            namespace: KINDS[2].2,
            signer: SignerKind::Trader,
            id: "DE123456789012345"
        }
    );

    // The signer's id is checked as that kind of id; the framing before it must hold.
    assert!(matches!(
        peek(&submission("de123")),
        Err(TxError::Field {
            field: "trader",
            ..
        })
    ));
    assert!(matches!(peek(&bytes[..40]), Err(TxError::Decode(_))));
    let mut unknown = bytes.clone();
    unknown[1] = 9;
    assert!(matches!(
        peek(&unknown),
        Err(TxError::Field { field: "kind", .. })
    ));
    let mut office = samples()[2].to_bytes();
    assert_eq!(peek(&office).unwrap().signer, SignerKind::Office);
    let at = office.len() - 64 - "DE-HAMBURG-HAFEN".len();
    office[at] = b' ';
    assert!(matches!(
        peek(&office),
        Err(TxError::Field {
            field: "office",
            ..
        })
    ));
    assert!(peek(&vec![TX_VERSION; MAX_TX_BYTES + 1]).is_err());
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = peek(&bytes);
        if let Ok(tx) = Transaction::from_bytes(&bytes) {
            prop_assert_eq!(peek(&bytes).unwrap(), peeked(&tx));
        }
    }

    #[test]
    fn mutated_encodings_never_panic(i in 0usize..200, b in any::<u8>()) {
        for tx in samples() {
            let mut bytes = tx.to_bytes();
            let n = bytes.len();
            bytes[i % n] = b;
            if let Ok(back) = Transaction::from_bytes(&bytes) {
                prop_assert_eq!(peek(&bytes).unwrap(), peeked(&back));
                prop_assert_eq!(back.to_bytes(), bytes);
            }
        }
    }
}
