//! Writes the seed inputs of every fuzz target (`fuzz/corpus/<target>/seed-*`) and the fixture
//! genesis (`fuzz/fixtures/genesis.json`), from the fixed example ledger and the example
//! witnesses: valid inputs that take the fuzzer past the first checks of each decoder.
//!
//! `cargo run --release -p zkcustoms-fuzz --example seed_corpus` (from the repository root). The
//! output is deterministic; committed seeds only change when a format does.

use std::path::{Path, PathBuf};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::schema::COLUMN_FAMILIES;
use zkcustoms_ledger_core::store::{RawStoredBlock, Store};
use zkcustoms_ledger_core::testing::examples::{envelope, example_ledger};
use zkcustoms_node::sync::SyncMessage;

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = root.join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("the corpus directory is writable");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed is written");
}

fn with(selector: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![selector];
    out.extend_from_slice(bytes);
    out
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let example = example_ledger();
    let genesis_bytes = serde_json::to_vec(&example.genesis.file).expect("genesis serializes");
    std::fs::create_dir_all(root.join("fixtures")).expect("the fixtures directory is writable");
    std::fs::write(root.join("fixtures/genesis.json"), &genesis_bytes).expect("fixture written");
    write(&root, "genesis", "example", &genesis_bytes);

    for (name, tx) in &example.txs {
        write(&root, "transaction_binary", name, &tx.to_bytes());
        write(&root, "tx_peek", name, &tx.to_bytes());
        write(
            &root,
            "transaction_json",
            name,
            tx.to_json().to_string().as_bytes(),
        );
    }
    for (i, block) in example.blocks.iter().enumerate() {
        write(
            &root,
            "block",
            &format!("block-{}", i + 1),
            &block.to_bytes(),
        );
        write(
            &root,
            "block",
            &format!("header-{}", i + 1),
            &with(0, &block.header.to_bytes()),
        );
        let message = with(zkcustoms_node::consensus::BLOCK_TAG, &block.to_bytes());
        write(
            &root,
            "blocks_message",
            &format!("block-{}", i + 1),
            &message,
        );
        let request = with(zkcustoms_node::consensus::BLOCK_REQUEST_TAG, &block.hash());
        write(
            &root,
            "blocks_message",
            &format!("request-{}", i + 1),
            &request,
        );
    }
    // Requests signed by the fixture party for the node they are sent to (as nodes require):
    // with a body, and without.
    for (name, body) in [("post", &b"{\"type\":\"x\"}"[..]), ("empty", &b""[..])] {
        let host = "ledger.customs.example:8443";
        let params = zkcustoms_ledger_types::http_signature::SignatureParams {
            party_id: "DE123456789012345".into(),
            created: zkcustoms_fuzz::HTTP_SIGNATURE_NOW,
            expires: None,
            nonce: [7; 16],
        };
        let signed = zkcustoms_ledger_types::http_signature::sign_request_to(
            &zkcustoms_fuzz::http_signature_key(),
            &params,
            Some(host),
            "POST",
            "/v1/transactions",
            Some(body),
        )
        .expect("the seed request signs");
        let mut text = format!(
            "{host}\n{}\n{}\n{}\n",
            signed.signature_input,
            signed.signature,
            signed.content_digest.unwrap_or_default()
        )
        .into_bytes();
        text.extend_from_slice(body);
        write(&root, "http_signature", name, &text);
    }
    // One cursor of each list.
    {
        use zkcustoms_ledger_core::queries::{BlockHeight, Cursor, DocVersion, RootSequence};
        use zkcustoms_ledger_core::store::TxLocation;
        let location = TxLocation {
            height: 3,
            index: 1,
        };
        let version = DocVersion {
            doc_type: "invoice".into(),
            version: 2,
        };
        for (name, text) in [
            ("records", Cursor(location).encode()),
            ("blocks", Cursor(BlockHeight(7)).encode()),
            ("registry", Cursor(RootSequence(2)).encode()),
            ("documents", Cursor(version).encode()),
        ] {
            write(&root, "page_cursor", name, text.as_bytes());
        }
    }
    for (name, text) in [
        ("customs-and-auditor", "customs:DE,AUDIT-EU-1"),
        ("trader", "NL000111222"),
        ("empty", ""),
    ] {
        write(&root, "access_list", name, text.as_bytes());
    }
    let env = envelope();
    write(&root, "envelope_binary", "aeo-status", &env.to_bytes());
    write(
        &root,
        "envelope_binary",
        "proof",
        &with(0, &zkcustoms_verifier::envelope::encode_proof(&env.proof)),
    );
    write(
        &root,
        "envelope_json",
        "aeo-status",
        env.to_json().as_bytes(),
    );
    write(
        &root,
        "inclusion_proof",
        "first",
        &serde_json::to_vec(&example.inclusion).expect("an inclusion proof serializes"),
    );

    // Sync messages and stored values from the example store.
    let store = Store::open(&example.store_path()).expect("the example store opens");
    let stored: Vec<_> = (1..=2)
        .map(|h| {
            store
                .block(h)
                .expect("the store reads")
                .expect("a stored block")
        })
        .collect();
    write(
        &root,
        "sync_message",
        "request",
        &SyncMessage::Request { from: 1, max: 16 }.to_bytes(),
    );
    write(
        &root,
        "sync_message",
        "response",
        &SyncMessage::Response {
            blocks: stored.iter().map(RawStoredBlock::of).collect(),
            proof: None,
        }
        .to_bytes(),
    );
    // The first block, with the second's header and certificate as the proof of a run.
    let zkcustoms_ledger_core::store::Finality::Certificate { view, certificate } =
        stored[1].finality.clone()
    else {
        panic!("the example's second block carries its certificate");
    };
    write(
        &root,
        "sync_message",
        "response-run",
        &SyncMessage::Response {
            blocks: vec![RawStoredBlock::of(&stored[0])],
            proof: Some(zkcustoms_node::sync::RunProof {
                headers: vec![stored[1].block.header.clone()],
                view,
                certificate,
            }),
        }
        .to_bytes(),
    );
    drop(store);
    let db = rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        example.store_path(),
        COLUMN_FAMILIES,
        false,
    )
    .expect("the example store opens read-only");
    for (selector, cf) in COLUMN_FAMILIES.iter().enumerate() {
        let handle = db.cf_handle(cf).expect("every column family exists");
        let first = db
            .iterator_cf(handle, rocksdb::IteratorMode::Start)
            .next()
            .map(|item| item.expect("the store reads"));
        if let Some((key, value)) = first {
            let selector = u8::try_from(selector).expect("few column families");
            write(
                &root,
                "stored_value",
                &format!("{cf}-key"),
                &with(selector | 0x80, &key),
            );
            write(
                &root,
                "stored_value",
                &format!("{cf}-value"),
                &with(selector, &value),
            );
            if *cf == "blocks" {
                write(&root, "stored_value", "audit-block", &with(0x7f, &value));
            }
        }
    }
    drop(db);

    // Witnesses and invoices.
    for (selector, circuit) in CircuitId::ALL.iter().enumerate() {
        if matches!(circuit, CircuitId::InvoiceValueV1(c) | CircuitId::DeclarationMatchV1(c) if c.lines() > 4)
        {
            continue;
        }
        let witness = zkcustoms_prover::witness::example(circuit.statement())
            .expect("every statement has an example");
        let selector = u8::try_from(selector).expect("few circuits");
        let name = circuit.statement().replace('/', "-");
        write(
            &root,
            "witness_json",
            &name,
            &with(selector, witness.to_string().as_bytes()),
        );
        if let Some(invoice) = witness.get("invoice") {
            write(&root, "invoice_json", &name, invoice.to_string().as_bytes());
            let parsed: zkcustoms_circuits::invoice::Invoice =
                serde_json::from_value(invoice.clone()).expect("the example invoice parses");
            write(
                &root,
                "invoice_binary",
                &name,
                &parsed.encode().expect("it encodes"),
            );
        }
    }

    // A node configuration, with tokens that are not anyone's.
    let config = serde_json::json!({
        "format": "zkcustoms-node/v1",
        "validator_key": "validator-0.key",
        "keys": "keys",
        "tokens": {
            "authority": "a".repeat(64),
            "trader": "b".repeat(64),
            "customs": "c".repeat(64),
            "auditor": "d".repeat(64),
        },
        "data_dir": "data",
        "document_master_key": "../document-master.key",
    });
    write(
        &root,
        "node_config",
        "example",
        config.to_string().as_bytes(),
    );

    // A verifying key (development keys of the smallest circuit).
    let keys = tempfile::tempdir().expect("a temporary directory");
    let manifest =
        zkcustoms_prover::setup::setup_dev(keys.path(), &[CircuitId::AeoStatusV1], |_| {})
            .expect("development keys");
    let vk = std::fs::read(keys.path().join(&manifest.keys[0].vk_file)).expect("the vk is written");
    write(&root, "verifying_key", "aeo-status", &with(0, &vk));

    // Ceremony files: an initial phase-1 file of power 1 and its parameters.
    let ceremony_dir = tempfile::tempdir().expect("a temporary directory");
    let ceremony = zkcustoms_ceremony::Ceremony::new(ceremony_dir.path());
    let path = zkcustoms_ceremony::phase1::new(&ceremony, 1).expect("phase 1 starts");
    write(
        &root,
        "ceremony_file",
        "phase1-new",
        &with(0, &std::fs::read(path).expect("read")),
    );
    let mut w = zkcustoms_ceremony::codec::Writer::with_capacity(1024);
    zkcustoms_ceremony::phase1::Phase1::initial(1).write(&mut w);
    write(&root, "ceremony_file", "phase1-params", &with(1, &w.0));
    // A snarkjs .ptau file of 2^1 listing no contribution, as the export writes it.
    let ptau = zkcustoms_ceremony::ptau::encode(
        &zkcustoms_ceremony::phase1::Phase1::initial(1),
        1,
        &zkcustoms_ceremony::ptau::no_contributions(),
    );
    write(&root, "ptau_file", "power1-new", &ptau);

    // Answers of a node's API.
    let hash = hex::encode(example.txs[0].1.hash());
    for (selector, text) in [
        (
            0u8,
            r#"{"error":"malformed-json","message":"the body is not JSON"}"#.to_string(),
        ),
        (1, format!(r#"{{"hash":"{hash}","status":"pending"}}"#)),
        (
            2,
            format!(r#"{{"hash":"{hash}","status":"included","height":1,"index":0}}"#),
        ),
        (3, hash.clone()),
    ] {
        write(
            &root,
            "wire_json",
            &format!("type-{selector}"),
            &with(selector, text.as_bytes()),
        );
    }
    println!("seeds written under {}", root.join("corpus").display());
}
