//! Conformance vectors: the SHA-256 of the canonical encoding of fixed examples of every format
//! that another party depends on (transactions in binary and JSON, proof envelopes in binary and
//! JSON, blocks, the values a node stores, inclusion proofs, the exported log and the audit
//! report), compared with the committed `vectors/conformance.json`.
//!
//! The examples are the fixed example ledger of `zkcustoms_ledger_core::testing::examples`,
//! deterministic from end to end (fixed keys, timestamps, statement and proof points). A change of any encoding
//! fails this test, so that it cannot slip in unnoticed: if the change is intended, give the
//! format a new version, replace the vector with the value the failure prints, and say so in the
//! change's description.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use zkcustoms_audit::{self as audit, StoreSource};
use zkcustoms_ledger_core::schema::COLUMN_FAMILIES;
use zkcustoms_ledger_core::testing::examples::{envelope, example_ledger};
use zkcustoms_ledger_types::tx::sha256;

const VECTORS: &str = include_str!("vectors/conformance.json");

fn hex_sha(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

fn vectors() -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let example = example_ledger();
    let genesis = &example.genesis;
    v.insert("genesis/chain_id".into(), hex::encode(genesis.chain_id));
    let env = envelope();
    v.insert("envelope/binary".into(), hex_sha(&env.to_bytes()));
    v.insert("envelope/json".into(), hex_sha(env.to_json().as_bytes()));
    for (name, tx) in &example.txs {
        v.insert(
            format!("transaction/{name}/binary"),
            hex_sha(&tx.to_bytes()),
        );
        v.insert(
            format!("transaction/{name}/json"),
            hex_sha(tx.to_json().to_string().as_bytes()),
        );
    }
    for (name, block) in [
        ("block/1", &example.blocks[0]),
        ("block/2", &example.blocks[1]),
    ] {
        v.insert(format!("{name}/binary"), hex_sha(&block.to_bytes()));
        v.insert(format!("{name}/hash"), hex::encode(block.hash()));
    }
    v.insert(
        "inclusion_proof/json".into(),
        hex_sha(&serde_json::to_vec(&example.inclusion).unwrap()),
    );

    // Every stored value, column family by column family, in key order.
    let db = rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        example.store_path(),
        COLUMN_FAMILIES,
        false,
    )
    .unwrap();
    for cf in COLUMN_FAMILIES {
        let mut bytes = Vec::new();
        for item in db.iterator_cf(db.cf_handle(cf).unwrap(), rocksdb::IteratorMode::Start) {
            let (key, value) = item.unwrap();
            for part in [&key[..], &value[..]] {
                bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
                bytes.extend_from_slice(part);
            }
        }
        v.insert(format!("store/{cf}"), hex_sha(&bytes));
    }
    drop(db);

    // The exported log and the audit report (its timings and source path set aside).
    let source = StoreSource::open(example.dir.path()).unwrap();
    let mut log = Vec::new();
    audit::export_log(&source, &mut log).unwrap();
    v.insert("audit/log_export".into(), hex_sha(&log));
    let keys = source.verifying_keys(genesis).unwrap();
    let report = audit::run(genesis, &source, &keys, |_| {}).unwrap();
    let mut report = serde_json::to_value(&report).unwrap();
    for field in ["elapsed_seconds", "proofs_per_second", "source"] {
        report[field] = Value::Null;
    }
    v.insert(
        "audit/report_json".into(),
        hex_sha(report.to_string().as_bytes()),
    );
    v
}

#[test]
fn encodings_match_the_committed_vectors() {
    let computed = vectors();
    let committed: BTreeMap<String, String> = serde_json::from_str(VECTORS).unwrap();
    let differing: Vec<String> = computed
        .iter()
        .filter(|(k, v)| committed.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(
            committed
                .keys()
                .filter(|k| !computed.contains_key(*k))
                .cloned(),
        )
        .collect();
    assert!(
        differing.is_empty(),
        "these encodings changed: {differing:?}\nIf the change is intended, give the format a new \
         version and commit these vectors as ledger/audit/tests/vectors/conformance.json:\n{}",
        serde_json::to_string_pretty(&json!(computed)).unwrap()
    );
}

#[test]
fn the_vectors_are_deterministic() {
    assert_eq!(vectors(), vectors());
}
