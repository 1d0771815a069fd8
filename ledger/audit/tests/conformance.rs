//! Conformance vectors: the SHA-256 of the canonical encoding of fixed examples of every format
//! that another party depends on (transactions in binary and JSON, proof envelopes in binary and
//! JSON, blocks, the values a node stores, inclusion proofs, the exported log and the audit
//! report), compared with the committed `vectors/conformance.json`.
//!
//! Everything here is deterministic: fixed keys (Ed25519 signatures are deterministic), fixed
//! timestamps, the fixed example statement and fixed proof points. A change of any encoding
//! fails this test, so that it cannot slip in unnoticed: if the change is intended, give the
//! format a new version, replace the vector with the value the failure prints, and say so in the
//! change's description.

use ark_bls12_381::{G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_groth16::Proof;
use commonware_cryptography::Signer as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use zkcustoms_audit::{self as audit, StoreSource};
use zkcustoms_circuits::registry::{example_aeo_status, example_registry};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::inclusion;
use zkcustoms_ledger_core::schema::COLUMN_FAMILIES;
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::{append_block, single_validator_genesis};
use zkcustoms_ledger_types::crypto::PrivateKey;
use zkcustoms_ledger_types::genesis::Params;
use zkcustoms_ledger_types::tx::{
    sha256, AnchorDocument, MarkExamination, PublishRoot, SubmitProof, Transaction, Ucr,
};
use zkcustoms_verifier::{KeyId, ProofEnvelope, PublicValues};

const VECTORS: &str = include_str!("vectors/conformance.json");
const T0: u64 = 1_764_000_000_000;

fn hex_sha(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// The fixed example envelope: the example aeo-status statement (fixed day) with the group
/// generators as proof points (valid points, not a valid proof).
fn envelope() -> ProofEnvelope {
    let (public, _) = example_aeo_status();
    let g1 = G1Affine::generator();
    ProofEnvelope {
        circuit: CircuitId::AeoStatusV1,
        vk_id: KeyId([7; 32]),
        public: PublicValues::AeoStatus(public),
        proof: Proof {
            a: g1,
            b: G2Affine::generator(),
            c: (g1 * ark_bls12_381::Fr::from(2u64)).into_affine(),
        },
    }
}

fn vectors() -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let validator = PrivateKey::from_seed(1);
    let authority = PrivateKey::from_seed(2);
    let office = PrivateKey::from_seed(3);
    let genesis = single_validator_genesis(
        "zkcustoms-conformance",
        ("validator-0", &validator),
        &[("DE-GZD", &authority)],
        &[("DE-HAMBURG-HAFEN", &office)],
        Vec::new(),
        Params::default(),
    );
    v.insert("genesis/chain_id".into(), hex::encode(genesis.chain_id));
    let ucr = Ucr::parse("26DE-HAM-000042").unwrap();
    let env = envelope();
    v.insert("envelope/binary".into(), hex_sha(&env.to_bytes()));
    v.insert("envelope/json".into(), hex_sha(env.to_json().as_bytes()));
    let txs = [
        (
            "publish_root",
            Transaction::PublishRoot(PublishRoot::sign(
                &genesis.chain_id,
                &authority,
                "DE-GZD",
                example_registry().root,
                1,
            )),
        ),
        (
            "anchor_document",
            Transaction::AnchorDocument(AnchorDocument {
                ucr: ucr.clone(),
                doc_type: "invoice".into(),
                digest: sha256(b"invoice"),
                reference: "vault://trader/documents/3f9a1c".into(),
                version: 1,
                supersedes: None,
            }),
        ),
        (
            "submit_proof",
            Transaction::SubmitProof(SubmitProof {
                ucr: ucr.clone(),
                envelope: env,
            }),
        ),
        (
            "mark_examination",
            Transaction::MarkExamination(MarkExamination::sign(
                &genesis.chain_id,
                &office,
                ucr.clone(),
                "DE-HAMBURG-HAFEN",
            )),
        ),
    ];
    for (name, tx) in &txs {
        v.insert(
            format!("transaction/{name}/binary"),
            hex_sha(&tx.to_bytes()),
        );
        v.insert(
            format!("transaction/{name}/json"),
            hex_sha(tx.to_json().to_string().as_bytes()),
        );
    }

    // Two certified blocks on a fresh store.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger")).unwrap();
    let all: Vec<Transaction> = txs.iter().map(|(_, tx)| tx.clone()).collect();
    let first = append_block(
        &store,
        &genesis,
        std::slice::from_ref(&validator),
        T0,
        all[..2].to_vec(),
    )
    .unwrap();
    let second =
        append_block(&store, &genesis, &[validator], T0 + 1000, all[2..].to_vec()).unwrap();
    for (name, block) in [("block/1", &first), ("block/2", &second)] {
        v.insert(format!("{name}/binary"), hex_sha(&block.to_bytes()));
        v.insert(format!("{name}/hash"), hex::encode(block.hash()));
    }
    let proof = inclusion::build(&store, &genesis.chain_id, &all[0].hash())
        .unwrap()
        .expect("the transaction is included");
    v.insert(
        "inclusion_proof/json".into(),
        hex_sha(&serde_json::to_vec(&proof).unwrap()),
    );
    drop(store);

    // Every stored value, column family by column family, in key order.
    let db = rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        dir.path().join("ledger"),
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
    let source = StoreSource::open(dir.path()).unwrap();
    let mut log = Vec::new();
    audit::export_log(&source, &mut log).unwrap();
    v.insert("audit/log_export".into(), hex_sha(&log));
    let keys = source.verifying_keys(&genesis).unwrap();
    let report = audit::run(&genesis, &source, &keys, |_| {}).unwrap();
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
