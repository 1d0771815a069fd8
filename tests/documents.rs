//! Off-ledger documents and amendments end to end, with a real node process and the `zkcustoms`
//! client commands, each document request signed by its party (the trader, a customs office, an
//! auditor) with its own key: upload (encrypted at rest), reads by access list, refusals with
//! their exit codes, an amendment with its history, the examination freeze, and forgetting: afterwards
//! neither the plaintext nor the key is in any file of the node's data directory, reads answer
//! 410, and `zkcustoms audit` still passes.

mod common;

use common::node::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use zkcustoms_documents::testing::files_containing;
use zkcustoms_documents::{DocumentKeys, StoredKey, DOCUMENTS_DIR, DOCUMENT_COLUMN_FAMILIES};
use zkcustoms_ledger_core::store::Schema;
use zkcustoms_ledger_types::tx::DocumentKey;
use zkcustoms_ledger_types::tx::Ucr;

const UCR: &str = "26DE-HAM-000077";
const MARKER: &str = "DECLARATION-MARKER-93c1e7: 4 static converters, customs value 18432.50 EUR";

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {} / {}", stdout(o), stderr(o)))
}

fn ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
}

/// A refusal by the node: exit 1 and this HTTP status and code on standard error.
fn refused(o: &std::process::Output, what: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(stderr(o).contains(what), "{what}: {}", stderr(o));
}

/// A command that could not run: exit 2 and this on standard error.
fn failed(o: &std::process::Output, what: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert!(stderr(o).contains(what), "{what}: {}", stderr(o));
}

/// The stored key entry of a document (the key wrapped under the node's master key, and its
/// nonce), read from a stopped node's document database.
fn stored_key(data: &Path, doc_type: &str, version: u32) -> Vec<u8> {
    let db = rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        data.join(DOCUMENTS_DIR),
        DOCUMENT_COLUMN_FAMILIES,
        false,
    )
    .unwrap();
    let id = DocumentKey {
        ucr: Ucr::parse(UCR).unwrap(),
        doc_type: doc_type.into(),
        version,
    };
    let bytes = db
        .get_cf(
            db.cf_handle(DocumentKeys::CF).unwrap(),
            DocumentKeys::encode_key(&id),
        )
        .unwrap()
        .expect("the document has a key");
    assert!(
        matches!(
            DocumentKeys::decode_value(&bytes).unwrap(),
            StoredKey::Wrapped { .. }
        ),
        "document keys are stored wrapped"
    );
    bytes
}

#[test]
fn documents_amendments_and_forgetting_through_the_cli() {
    let work = tempfile::tempdir().unwrap();
    let path = |name: &str| work.path().join(name).display().to_string();
    let o = run(&[
        "setup",
        "--dev",
        "--out",
        &path("keys"),
        "--circuit",
        "aeo-status/v1",
    ]);
    ok(&o);
    let mut l = Ledger::prepare_with_keys(&path("keys"), false);
    l.start();
    // Customs office DE-HAMBURG-HAFEN registers the trader, which signs its anchors.
    l.register_trader(EORI);

    // The trader anchors its invoice (canonical encoding) and its declaration.
    std::fs::write(path("invoice.json"), run(&["example", "invoice"]).stdout).unwrap();
    let o = run(&[
        "invoice",
        "digest",
        "--invoice",
        &path("invoice.json"),
        "--out",
        &path("invoice.bin"),
    ]);
    ok(&o);
    let mode = std::fs::metadata(path("invoice.bin"))
        .unwrap()
        .permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0);
    let canonical = std::fs::read(path("invoice.bin")).unwrap();
    std::fs::write(path("declaration-v1.txt"), MARKER).unwrap();
    std::fs::write(path("declaration-v2.txt"), format!("{MARKER}, amended")).unwrap();
    let sha = |p: &str| {
        hex::encode(zkcustoms_ledger_types::tx::sha256(
            &std::fs::read(p).unwrap(),
        ))
    };
    let anchor = |l: &Ledger, doc_type: &str, version: &str, source: &[&str]| {
        let mut args = vec![
            "submit",
            "anchor",
            "--ucr",
            UCR,
            "--doc-type",
            doc_type,
            "--version",
            version,
            "--reference",
            "vault://trader/documents",
        ];
        args.extend_from_slice(source);
        l.as_trader(EORI, &args)
    };
    ok(&anchor(
        &l,
        "invoice",
        "1",
        &["--invoice", &path("invoice.json")],
    ));
    let decl1 = sha(&path("declaration-v1.txt"));
    ok(&anchor(&l, "declaration", "1", &["--digest", &decl1]));

    // Upload: the invoice for customs (every office of administration DE), the declaration for
    // customs and the auditor. Each request is signed by a party of the kind named (`trader`,
    // `customs`, `auditor`) with its own key.
    let doc =
        |l: &Ledger, kind: &str, verb: &str, doc_type: &str, version: &str, extra: &[&str]| {
            let mut args = vec![
                "document",
                verb,
                "--ucr",
                UCR,
                "--doc-type",
                doc_type,
                "--version",
                version,
            ];
            args.extend_from_slice(extra);
            let (party, key) = l.party(kind);
            l.as_party(party, &key, &args)
        };
    // Customs reads the invoice (every office of DE is on its access list): the canonical bytes.
    let customs_reads_invoice = |l: &Ledger| {
        let out = path("read.bin");
        let _ = std::fs::remove_file(&out);
        ok(&doc(l, "customs", "get", "invoice", "1", &["--out", &out]));
        assert_eq!(std::fs::read(&out).unwrap(), canonical);
        // The copy is the reader's alone, and an existing file is not replaced.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        failed(
            &doc(l, "customs", "get", "invoice", "1", &["--out", &out]),
            "exists",
        );
    };
    let invoice = path("invoice.json");
    let inv_put = ["--invoice", invoice.as_str(), "--readers", "customs:DE"];
    let o = doc(&l, "trader", "put", "invoice", "1", &inv_put);
    ok(&o);
    assert_eq!(json(&o)["document"]["state"], "stored");
    assert_eq!(json(&o)["document"]["size"], canonical.len());
    refused(
        &doc(&l, "trader", "put", "invoice", "1", &inv_put),
        "409 duplicate-document",
    );
    let decl_v2 = path("declaration-v2.txt");
    refused(
        &doc(
            &l,
            "trader",
            "put",
            "declaration",
            "1",
            &["--file", &decl_v2],
        ),
        "422 digest-mismatch",
    );
    refused(
        &doc(
            &l,
            "trader",
            "put",
            "declaration",
            "2",
            &["--file", &decl_v2],
        ),
        "404 unknown-anchor",
    );
    // Only the consignment's trader uploads: a customs office may not, and a role token, which
    // names no party, not even the trader's.
    let decl_v1_put = ["--file", &path("declaration-v1.txt")];
    refused(
        &doc(&l, "customs", "put", "declaration", "1", &decl_v1_put),
        "403 wrong-party",
    );
    let o = l.cli(
        "trader",
        &[
            "document",
            "put",
            "--ucr",
            UCR,
            "--doc-type",
            "declaration",
            "--version",
            "1",
            decl_v1_put[0],
            decl_v1_put[1],
        ],
    );
    refused(&o, "403 party-required");
    let o = doc(
        &l,
        "trader",
        "put",
        "declaration",
        "1",
        &["--file", &path("nope")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Malformed input is refused before anything is sent.
    let (office, office_key) = l.party("customs");
    let o = l.as_party(
        office,
        &office_key,
        &[
            "document",
            "get",
            "--ucr",
            "lower-case",
            "--doc-type",
            "invoice",
        ],
    );
    failed(&o, "ucr");
    let o = doc(
        &l,
        "trader",
        "put",
        "invoice",
        "1",
        &["--invoice", &decl_v2],
    );
    failed(&o, "not a valid invoice");
    ok(&doc(
        &l,
        "trader",
        "put",
        "declaration",
        "1",
        &[
            "--file",
            &path("declaration-v1.txt"),
            "--readers",
            "customs:DE,AUDIT-EU-1",
        ],
    ));

    // Reads by the access list.
    customs_reads_invoice(&l);
    refused(
        &doc(&l, "auditor", "get", "invoice", "1", &[]),
        "403 not-a-reader",
    );
    let o = doc(&l, "auditor", "get", "declaration", "1", &[]);
    ok(&o);
    assert_eq!(stdout(&o), MARKER);

    // An amendment: version 2, with its history.
    ok(&anchor(
        &l,
        "declaration",
        "2",
        &["--digest", &sha(&decl_v2)],
    ));
    let o = l.cli("customs", &["query", "records", "--ucr", UCR]);
    ok(&o);
    let records = json(&o);
    let decl = &records["documents"][0];
    assert_eq!(decl["doc_type"], "declaration", "{records}");
    assert_eq!(decl["version"], 2, "{records}");
    assert_eq!(decl["history"][0]["superseded_by"], 2, "{records}");
    assert_eq!(
        decl["history"][0]["document"]["state"], "stored",
        "{records}"
    );
    assert_eq!(decl["history"][1]["digest"], sha(&decl_v2), "{records}");
    assert!(decl["history"][1]["tx"].is_string(), "{records}");
    // The whole history, walked a page (of one version) at a time.
    let o = l.cli(
        "customs",
        &["query", "history", "--ucr", UCR, "--limit", "1"],
    );
    ok(&o);
    let history = json(&o);
    let versions: Vec<(&str, u64)> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["doc_type"].as_str().unwrap(),
                v["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [("invoice", 1), ("declaration", 1), ("declaration", 2)],
        "grouped by document type, each oldest first: {history}"
    );
    assert_eq!(history["versions"][2]["digest"], sha(&decl_v2), "{history}");
    assert_eq!(history["versions"][1]["superseded_by"], 2, "{history}");
    assert_eq!(history["next_cursor"], serde_json::Value::Null, "{history}");

    // Under examination: version 3 is refused, clearly.
    let key = l.path("customs-DE-HAMBURG-HAFEN.key");
    ok(&l.cli(
        "customs",
        &[
            "submit",
            "examine",
            "--ucr",
            UCR,
            "--office",
            "DE-HAMBURG-HAFEN",
            "--key",
            &key,
        ],
    ));
    let o = anchor(&l, "declaration", "3", &["--digest", &"33".repeat(32)]);
    refused(&o, "422 under-examination");
    assert!(stderr(&o).contains("no new version"), "{}", stderr(&o));

    // The master key is rotated offline: never under a running node.
    let data = l.data.to_str().unwrap().to_owned();
    let master = l.path("document-master.key");
    let rotate = |from: &str, to: &str, extra: &[&str]| {
        let mut args = vec![
            "document",
            "rotate-master-key",
            "--data-dir",
            &data,
            "--master-key",
            from,
            "--new-master-key",
            to,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let rotated = path("document-master-2.key");
    let o = rotate(&master, &rotated, &["--generate"]);
    failed(&o, "stop the node first");
    assert!(!Path::new(&rotated).exists());

    // Encrypted at rest: no plaintext in any file; the wrapped keys are there (the scan finds them).
    l.stop();
    let inv_key = stored_key(&l.data, "invoice", 1);
    let decl_key = stored_key(&l.data, "declaration", 1);
    for plain in [MARKER.as_bytes(), &canonical, b"INV-2026-000451"] {
        assert_eq!(files_containing(&l.data, plain), Vec::<PathBuf>::new());
    }
    assert!(!files_containing(&l.data, &inv_key).is_empty());
    assert!(!files_containing(&l.data, &decl_key).is_empty());

    // Rotation refuses a key that is not the database's, a new key file inside the data
    // directory, and a directory without a document database, changing nothing.
    let wrong = path("wrong-master.key");
    std::fs::write(&wrong, "11".repeat(32)).unwrap();
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = rotate(&wrong, &rotated, &["--generate"]);
    failed(&o, "written under master key");
    let inside = l.data.join("new-master.key").display().to_string();
    let o = rotate(&master, &inside, &["--generate"]);
    failed(&o, "inside the data directory");
    let o = run(&[
        "document",
        "rotate-master-key",
        "--data-dir",
        &path("nowhere"),
        "--master-key",
        &master,
        "--new-master-key",
        &rotated,
        "--generate",
    ]);
    failed(&o, "holds no document database");
    assert!(!Path::new(&rotated).exists() && !Path::new(&inside).exists());
    assert_eq!(stored_key(&l.data, "invoice", 1), inv_key);

    // Rotated: every key re-wrapped, none wrapped under the old key left in any file, and the
    // node, given the new key file in place of the old one, reads the documents.
    let o = rotate(&master, &rotated, &["--generate"]);
    ok(&o);
    assert_eq!(json(&o)["rotated_keys"], 2, "{}", stdout(&o));
    for old in [&inv_key, &decl_key] {
        assert_eq!(files_containing(&l.data, old), Vec::<PathBuf>::new());
    }
    let (inv_key_2, decl_key_2) = (
        stored_key(&l.data, "invoice", 1),
        stored_key(&l.data, "declaration", 1),
    );
    let o = rotate(&master, &rotated, &[]);
    failed(&o, "written under master key");
    std::fs::rename(&rotated, &master).unwrap();
    l.start();
    customs_reads_invoice(&l);

    // Forget both documents; refusals for unknown and already forgotten ones.
    let o = doc(&l, "trader", "forget", "invoice", "1", &[]);
    ok(&o);
    assert_eq!(json(&o)["document"]["state"], "forgotten");
    assert_eq!(json(&o)["document"]["forgotten_by"], EORI);
    refused(
        &doc(&l, "trader", "forget", "invoice", "1", &[]),
        "410 document-forgotten",
    );
    refused(
        &doc(&l, "trader", "forget", "invoice", "2", &[]),
        "404 unknown-document",
    );
    // Only the consignment's trader forgets: neither an auditor nor a customs office may.
    refused(
        &doc(&l, "auditor", "forget", "declaration", "1", &[]),
        "403 wrong-party",
    );
    refused(
        &doc(&l, "customs", "forget", "declaration", "1", &[]),
        "403 wrong-party",
    );
    let o = doc(&l, "trader", "forget", "declaration", "1", &[]);
    ok(&o);
    assert_eq!(json(&o)["document"]["forgotten_by"], EORI);
    refused(
        &doc(&l, "customs", "get", "invoice", "1", &[]),
        "410 document-forgotten",
    );
    l.stop();

    // Neither the plaintexts nor the keys are in any file.
    for needle in [
        MARKER.as_bytes(),
        &canonical,
        b"INV-2026-000451",
        &inv_key,
        &decl_key,
        &inv_key_2,
        &decl_key_2,
    ] {
        assert_eq!(files_containing(&l.data, needle), Vec::<PathBuf>::new());
    }
    // The ledger is intact: the audit re-checks it from genesis.
    let o = run(&[
        "audit",
        "--data-dir",
        l.data.to_str().unwrap(),
        "--genesis",
        &l.path("genesis.json"),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{} {}", stdout(&o), stderr(&o));

    // After a restart: still forgotten, the digests still on the ledger.
    l.start();
    refused(
        &doc(&l, "trader", "get", "invoice", "1", &[]),
        "410 document-forgotten",
    );
    let o = l.cli("auditor", &["query", "records", "--ucr", UCR]);
    ok(&o);
    let records = json(&o);
    let inv = &records["documents"][1];
    assert_eq!(inv["doc_type"], "invoice", "{records}");
    assert_eq!(
        inv["digest"],
        hex::encode(zkcustoms_ledger_types::tx::sha256(&canonical))
    );
    assert_eq!(inv["history"][0]["document"]["state"], "forgotten");
    assert_eq!(inv["history"][0]["document"]["forgotten_by"], EORI);
}

/// A node whose configuration names the authority it is reached under answers document requests
/// signed for that authority only (its listen address is then not one of them), and a
/// configuration naming an authority that is not a lower-case `host[:port]` keeps the node
/// from starting.
#[test]
fn a_node_answers_document_requests_for_the_authorities_its_configuration_names() {
    let mut l = Ledger::prepare(true);
    let port = l.url.rsplit(':').next().unwrap().to_string();
    let config = l.dir.join("node.json");
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    cfg["public_authorities"] = serde_json::json!(["Node.Example"]);
    std::fs::write(&config, cfg.to_string()).unwrap();
    failed(&l.run_node_on(&l.data), "public authority \"Node.Example\"");

    let named = format!("localhost:{port}");
    cfg["public_authorities"] = serde_json::json!([named]);
    std::fs::write(&config, cfg.to_string()).unwrap();
    l.start();
    let (office, key) = l.party("customs");
    let get = ["document", "get", "--ucr", UCR, "--doc-type", "invoice"];
    // Signed for the listen address, which the configuration replaced: another node's request.
    // (The client exits 2: it called the node under a name the node does not answer to.)
    failed(&l.as_party(office, &key, &get), "421 wrong-node");
    // Signed for the name the configuration gives: answered (there is no such document).
    let node = format!("http://{named}");
    let mut args = get.to_vec();
    args.extend(["--node", &node, "--party", office, "--party-key", &key]);
    refused(&bin().args(&args).output().unwrap(), "404");
}
