//! Replays every committed corpus through its target (a regression test of every input the
//! fuzzer ever kept, crashes it found included), and checks that the targets, the libFuzzer
//! drivers and the corpora name the same set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use zkcustoms_fuzz::TARGETS;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn names_in(dir: &Path, strip: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(strip).map(str::to_owned))
        .collect()
}

#[test]
fn every_target_has_a_driver_and_a_corpus() {
    let targets: BTreeSet<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(targets.len(), TARGETS.len(), "target names are unique");
    let drivers = names_in(&root().join("libfuzzer/fuzz_targets"), ".rs");
    assert_eq!(
        drivers, targets,
        "fuzz/libfuzzer/fuzz_targets has one driver per target"
    );
    let corpora = names_in(&root().join("corpus"), "");
    assert_eq!(corpora, targets, "fuzz/corpus has one directory per target");
    let manifest = std::fs::read_to_string(root().join("libfuzzer/Cargo.toml")).unwrap();
    for t in &targets {
        assert!(
            manifest.contains(&format!("name = \"{t}\"")),
            "fuzz/libfuzzer/Cargo.toml declares the binary {t}"
        );
    }
}

#[test]
fn corpora_replay_without_a_finding() {
    let mut total = 0;
    for (name, target) in TARGETS {
        let dir = root().join("corpus").join(name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(
            inputs.iter().any(|p| p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))),
            "{name} has seed inputs"
        );
        for input in &inputs {
            let bytes = std::fs::read(input).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(outcome.is_ok(), "{name} fails on {}", input.display());
        }
        total += inputs.len();
    }
    assert!(total >= TARGETS.len());
}

#[test]
fn seeds_are_accepted_by_their_decoders() {
    // The seeds are valid inputs: were a decoder to refuse them, the fuzzer would start from
    // nothing. Spot-check the ones whose decoders answer a value.
    let read = |target: &str, name: &str| {
        std::fs::read(root().join("corpus").join(target).join(name)).unwrap()
    };
    let tx = read("transaction_binary", "seed-submit_proof");
    zkcustoms_ledger_types::tx::Transaction::from_bytes(&tx).expect("the seed transaction decodes");
    let block = read("block", "seed-block-1");
    zkcustoms_ledger_types::block::Block::from_bytes(&block).expect("the seed block decodes");
    let sync = read("sync_message", "seed-response");
    zkcustoms_node::sync::SyncMessage::from_bytes(&sync).expect("the seed response decodes");
    for name in ["seed-post", "seed-empty"] {
        let request = read("http_signature", name);
        let verified = zkcustoms_fuzz::verify_http_signature(&request)
            .unwrap_or_else(|| panic!("the {name} request's signature verifies"));
        assert!(
            verified.authority.is_some(),
            "the {name} request is bound to its node, as nodes require"
        );
    }
    let message = read("blocks_message", "seed-block-1");
    match zkcustoms_node::consensus::BlocksMessage::peek(&message) {
        Ok(zkcustoms_node::consensus::Peeked::Block(_, bytes)) => {
            zkcustoms_ledger_types::block::Block::check_commitment(bytes)
                .expect("the seed block passes the node's commitment check");
        }
        _ => panic!("the seed block message is peeked as a block"),
    }
    let tx = read("transaction_json", "seed-register_trader");
    let value = zkcustoms_ledger_types::json::strict_json(&tx, tx.len())
        .expect("the seed transaction is strict JSON");
    zkcustoms_ledger_types::tx::Transaction::from_json(value).expect("the seed transaction reads");
    let vk = read("verifying_key", "seed-aeo-status");
    let key = zkcustoms_verifier::VerifyingKey::from_bytes(
        zkcustoms_circuits::CircuitId::ALL
            [usize::from(vk[0]) % zkcustoms_circuits::CircuitId::ALL.len()],
        &vk[1..],
    )
    .expect("the seed verifying key decodes");
    assert_eq!(
        zkcustoms_verifier::VerifyingKey::canonical_bytes(key.arkworks()),
        &vk[1..]
    );
    let tx = read("tx_peek", "seed-submit_proof");
    zkcustoms_ledger_types::tx::peek(&tx).expect("the seed transaction is peeked");
    let proof = read("inclusion_proof", "seed-first");
    let parsed =
        zkcustoms_ledger_core::inclusion::parse(std::str::from_utf8(&proof).unwrap()).unwrap();
    let genesis =
        zkcustoms_ledger_types::genesis::Genesis::from_bytes(zkcustoms_fuzz::FIXTURE_GENESIS)
            .unwrap();
    zkcustoms_ledger_core::inclusion::verify(&parsed, &genesis, None)
        .expect("the seed inclusion proof verifies on the fixture genesis");
}

#[test]
fn stored_value_selectors_follow_the_column_families() {
    let names: Vec<&str> = zkcustoms_fuzz::STORED.iter().map(|(cf, _)| *cf).collect();
    let n = zkcustoms_ledger_core::schema::COLUMN_FAMILIES.len();
    let ledger = &names[..n];
    assert_eq!(ledger, zkcustoms_ledger_core::schema::COLUMN_FAMILIES);
    let documents = &names[n..];
    assert_eq!(documents, zkcustoms_documents::DOCUMENT_COLUMN_FAMILIES);
}
