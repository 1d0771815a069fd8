//! `zkcustoms audit`, `verify-inclusion`, `query inclusion` and `export log` against a real node
//! (one validator, real finalization certificates): a clean ledger passes through the API and
//! from the stopped node's store; a RocksDB tampered with (one byte of a stored proof, of a block
//! header, of a signature; a block deleted; two blocks swapped) is caught and the first failure
//! located; inclusion proofs verify offline and are refused when changed; bad inputs are clear
//! errors.

mod common;

use common::node::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use zkcustoms_audit::{parse_stored_block, Fetched};
use zkcustoms_circuits::registry::{example_aeo_status, example_registry};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::store::{Finality, COLUMN_FAMILIES};
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{
    ledger_scope, AnchorDocument, Eori, Hash, MarkExamination, PublishRoot, RegisterTrader,
    SubmitProof, Transaction, Ucr,
};
use zkcustoms_ledger_types::wire::TxStatusKind;
use zkcustoms_prover::{prove, ProvingKey, Statement};
use zkcustoms_verifier::envelope::encode_proof;
use zkcustoms_verifier::KeyDir;

const UCR: &str = "26DE-HAM-000042";
/// The consignment of the second proof (an aeo-status proof is filed under the UCR its scope was
/// made for, and one certificate gives one proof per UCR).
const UCR_2: &str = "26DE-HAM-000043";

/// Where each transaction of [`built`] is in its list (and on the ledger: one block each).
const ROOT: usize = 0;
const REGISTRATION: usize = 1;
const ANCHOR: usize = 2;
const PROOF: usize = 3;
const PROOF_2: usize = 4;
const MARK: usize = 5;
/// How many transactions [`built`] submits.
const TXS: u64 = 7;

/// One included transaction: its hash, place and (for proofs) proof bytes.
#[derive(Clone, Debug)]
struct Included {
    hash: Hash,
    height: u64,
    index: u32,
    proof: Option<Vec<u8>>,
}

/// A stopped node's ledger (seven blocks), audited clean through the API while it ran.
struct Built {
    _keys: tempfile::TempDir,
    keys: String,
    ledger: Ledger,
    txs: Vec<Included>,
    /// An inclusion proof fetched with `query inclusion` (of the first proof transaction,
    /// [`PROOF`]).
    inclusion: PathBuf,
}

/// Development keys of aeo-status only (the invoice circuit's setup takes far longer).
fn aeo_keys() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys").display().to_string();
    let o = run(&[
        "setup",
        "--dev",
        "--out",
        &keys,
        "--circuit",
        "aeo-status/v1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, keys)
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn built() -> &'static Built {
    static B: OnceLock<Built> = OnceLock::new();
    B.get_or_init(|| {
        let (dir, keys) = aeo_keys();
        let mut l = Ledger::prepare_with_keys(&keys, true);
        l.start();
        let genesis = Genesis::load(&l.dir.join("genesis.json")).unwrap();
        let chain = genesis.chain_id;
        let authority = crypto::read_private(&l.dir.join("authority-DE-GZD.key")).unwrap();
        let office = crypto::read_private(&l.dir.join("customs-DE-HAMBURG-HAFEN.key")).unwrap();
        // The trader, registered by the office; it signs its anchors and proofs.
        let trader = Eori::parse(EORI).unwrap();
        let trader_key = crypto::generate();
        let kd = KeyDir::open(&keys).unwrap();
        let pk = ProvingKey::load(&kd, CircuitId::AeoStatusV1).unwrap();
        let (public, private) = example_aeo_status();
        let proof = |ucr: &str| {
            let mut p = public.clone();
            p.scope = ledger_scope(&chain, &Ucr::parse(ucr).unwrap());
            p.nullifier =
                zkcustoms_circuits::aeo_status::nullifier(&private.holder_secret, &p.scope);
            let s = Statement::AeoStatus {
                public: p,
                private: private.clone(),
            };
            prove(&pk, &s, &mut rand::rngs::OsRng).unwrap()
        };
        let anchor = |ucr: &str| {
            Transaction::AnchorDocument(AnchorDocument {
                ucr: Ucr::parse(ucr).unwrap(),
                doc_type: "invoice".into(),
                digest: zkcustoms_ledger_types::tx::sha256(ucr.as_bytes()),
                reference: format!("vault://{ucr}"),
                version: 1,
                supersedes: None,
                trader: trader.clone(),
                signature: crypto::unsigned(),
            })
            .signed(&chain, &trader_key)
        };
        let submit_proof = |ucr: &str| {
            Transaction::SubmitProof(SubmitProof {
                ucr: Ucr::parse(ucr).unwrap(),
                envelope: proof(ucr),
                trader: trader.clone(),
                signature: crypto::unsigned(),
            })
            .signed(&chain, &trader_key)
        };
        let registration = Transaction::RegisterTrader(RegisterTrader {
            office: OFFICE.into(),
            trader: trader.clone(),
            public_key: crypto::public_of(&trader_key),
            signature: crypto::unsigned(),
        })
        .signed(&chain, &office);
        let txs = vec![
            (
                "authority",
                Transaction::PublishRoot(PublishRoot::sign(
                    &chain,
                    &authority,
                    "DE-GZD",
                    example_registry().root,
                    1,
                )),
            ),
            ("customs", registration),
            ("trader", anchor(UCR)),
            ("trader", submit_proof(UCR)),
            ("trader", submit_proof(UCR_2)),
            (
                "customs",
                Transaction::MarkExamination(MarkExamination::sign(
                    &chain,
                    &office,
                    Ucr::parse(UCR).unwrap(),
                    "DE-HAMBURG-HAFEN",
                )),
            ),
            ("trader", anchor(UCR_2)),
        ];
        assert_eq!(txs.len() as u64, TXS);
        let mut included = Vec::new();
        for (role, tx) in txs {
            let client = l.client(role);
            let hash = client.submit(&tx).unwrap();
            let v = client.wait(&hash, Duration::from_secs(60)).unwrap();
            assert_eq!(v.status, TxStatusKind::Included, "{v:?}");
            included.push(Included {
                hash,
                height: v.height.unwrap(),
                index: v.index.unwrap(),
                proof: match &tx {
                    Transaction::SubmitProof(p) => Some(encode_proof(&p.envelope.proof)),
                    _ => None,
                },
            });
        }

        // Through the API, while the node runs.
        let genesis_path = l.path("genesis.json");
        let report_path = l.dir.join("node-report.json");
        let o = run(&[
            "audit",
            "--node",
            &l.url,
            "--token-file",
            &l.path("auditor.token"),
            "--genesis",
            &genesis_path,
            "--keys",
            &keys,
            "--report",
            report_path.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
        assert!(
            stdout(&o).contains("OK: every check holds"),
            "{}",
            stdout(&o)
        );
        assert!(stderr(&o).contains("audit: block"), "progress is shown");
        let r = report(&report_path);
        assert_eq!(r["ok"], true);
        assert_eq!(r["transactions"], TXS);
        assert_eq!(r["proofs_valid"], 2);

        // An inclusion proof, fetched with the auditor's token.
        let o = l.cli(
            "auditor",
            &["query", "inclusion", &hex::encode(included[PROOF].hash)],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let inclusion = l.dir.join("inclusion.json");
        std::fs::write(&inclusion, &o.stdout).unwrap();
        l.stop();
        Built {
            _keys: dir,
            keys,
            ledger: l,
            txs: included,
            inclusion,
        }
    })
}

#[test]
fn a_clean_ledger_passes_from_its_store_and_exports_its_log() {
    let b = built();
    let l = &b.ledger;
    let report_path = l.dir.join("store-report.json");
    let o = run(&[
        "audit",
        "--data-dir",
        l.data.to_str().unwrap(),
        "--genesis",
        &l.path("genesis.json"),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let r = report(&report_path);
    assert_eq!(r["ok"], true);
    assert!(r["first_failure"].is_null());
    let tip = b.txs.last().unwrap().height;
    assert_eq!(r["height"], tip);
    assert_eq!(r["transactions"], TXS);
    assert_eq!(
        (r["proofs_checked"].as_u64(), r["proofs_valid"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(r["certificates_verified"].as_u64().unwrap() >= 1);
    assert!(r["checks"]
        .as_array()
        .unwrap()
        .contains(&Value::from("index")));

    let out = l.dir.join("log.jsonl");
    let o = export_log(&l.data, &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    // A target that is not a plain file is written directly.
    #[cfg(target_os = "linux")]
    {
        let o = export_log(&l.data, Path::new("/dev/stdout"));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(String::from_utf8(o.stdout).unwrap(), text);
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, TXS);
    for (line, tx) in lines.iter().zip(&b.txs) {
        assert_eq!(line["hash"], hex::encode(tx.hash));
        assert_eq!(
            (line["height"].as_u64(), line["index"].as_u64()),
            (Some(tx.height), Some(u64::from(tx.index)))
        );
    }
    assert_eq!(
        lines[REGISTRATION]["transaction"]["type"],
        "register_trader"
    );
    assert_eq!(lines[PROOF]["transaction"]["type"], "submit_proof");
}

/// `export log --data-dir data --out out`.
fn export_log(data: &Path, out: &Path) -> std::process::Output {
    run(&[
        "export",
        "log",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// A copy of the stopped node's data directory, to damage.
fn copy_data() -> (tempfile::TempDir, PathBuf) {
    let b = built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = std::process::Command::new("cp")
        .args([
            "-r",
            b.ledger.data.to_str().unwrap(),
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    (dir, data)
}

/// Changes the stored `blocks` entries of a copy with `edit`, the database opened directly.
fn tamper(data: &Path, edit: impl FnOnce(&rocksdb::DB, &rocksdb::ColumnFamily)) {
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(false);
    let db = rocksdb::DB::open_cf(&opts, data.join("ledger"), COLUMN_FAMILIES).unwrap();
    let cf = db.cf_handle("blocks").unwrap();
    edit(&db, cf);
    db.flush_cf(cf).unwrap();
}

fn stored(db: &rocksdb::DB, cf: &rocksdb::ColumnFamily, height: u64) -> Vec<u8> {
    db.get_cf(cf, height.to_be_bytes()).unwrap().unwrap()
}

/// Audits a damaged copy: exit 1, and the report's first failure.
fn audit_damaged(data: &Path) -> Value {
    let b = built();
    let report_path = data.with_extension("report.json");
    let o = run(&[
        "audit",
        "--data-dir",
        data.to_str().unwrap(),
        "--genesis",
        &b.ledger.path("genesis.json"),
        "--report",
        report_path.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("FAILED"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let r = report(&report_path);
    assert_eq!(r["ok"], false);
    assert!(r["failure_count"].as_u64().unwrap() >= 1);
    r["first_failure"].clone()
}

fn assert_located(first: &Value, height: u64, index: Option<u32>, check: &str) {
    assert_eq!(
        (
            first["height"].as_u64(),
            first["index"].as_u64(),
            first["check"].as_str()
        ),
        (Some(height), index.map(u64::from), Some(check)),
        "{first}"
    );
}

#[test]
fn one_changed_byte_of_a_stored_proof_is_located() {
    let b = built();
    let target = b.txs[PROOF_2].clone();
    let (_dir, data) = copy_data();
    tamper(&data, |db, cf| {
        let mut raw = stored(db, cf, target.height);
        let proof = target.proof.as_ref().unwrap();
        let at = raw
            .windows(proof.len())
            .position(|w| w == proof.as_slice())
            .expect("the proof bytes are stored as sent");
        raw[at + 100] ^= 0x01;
        db.put_cf(cf, target.height.to_be_bytes(), raw).unwrap();
    });
    let first = audit_damaged(&data);
    // The stored bytes no longer hash to the certified header's root; the index names the
    // transaction that is not the one recorded there.
    assert_located(&first, target.height, Some(target.index), "tx-root");
}

#[test]
fn an_export_cut_short_leaves_the_last_one_whole() {
    let b = built();
    let (dir, data) = copy_data();
    let out = dir.path().join("log.jsonl");
    std::fs::write(&out, "the last export\n").unwrap();
    // A block in the middle is gone: the export fails part way, with lines already written.
    tamper(&data, |db, cf| {
        db.delete_cf(cf, b.txs[PROOF].height.to_be_bytes()).unwrap();
    });
    let o = export_log(&data, &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the log was not exported"),
        "{}",
        stderr(&o)
    );
    // The earlier export is whole, and nothing of the cut one is left.
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the last export\n");
    assert!(!dir.path().join("log.jsonl.partial").exists());
}

/// Byte offsets in a stored block: `version | block length u32 | header ...` (header: version,
/// height u64, parent [32], timestamp u64, ...).
const HEADER_AT: usize = 1 + 4;
const TIMESTAMP_LAST_BYTE: usize = HEADER_AT + 1 + 8 + 32 + 7;

#[test]
fn one_changed_byte_of_a_block_header_is_located() {
    let b = built();
    let height = b.txs[ANCHOR].height;
    let (_dir, data) = copy_data();
    let mut own_certificate = false;
    tamper(&data, |db, cf| {
        let mut raw = stored(db, cf, height);
        let Fetched::Block(block) = parse_stored_block(&raw) else {
            panic!("the stored block decodes")
        };
        own_certificate = matches!(block.finality, Finality::Certificate { .. });
        raw[TIMESTAMP_LAST_BYTE] ^= 0x01;
        db.put_cf(cf, height.to_be_bytes(), raw).unwrap();
    });
    let first = audit_damaged(&data);
    if own_certificate {
        // The certificate is for the original header's hash.
        assert_located(&first, height, None, "certificate");
    } else {
        // Finalized by a descendant: the next block's parent hash no longer matches.
        assert_located(&first, height + 1, None, "hash-link");
    }
}

#[test]
fn one_changed_byte_of_a_signature_is_located() {
    let b = built();
    // The tip's finalization certificate ends with the validator's signature.
    let tip = b.txs.last().unwrap().height;
    let (_dir, data) = copy_data();
    tamper(&data, |db, cf| {
        let mut raw = stored(db, cf, tip);
        let Fetched::Block(block) = parse_stored_block(&raw) else {
            panic!("the stored block decodes")
        };
        assert!(matches!(block.finality, Finality::Certificate { .. }));
        let last = raw.len() - 1;
        raw[last] ^= 0x01;
        db.put_cf(cf, tip.to_be_bytes(), raw).unwrap();
    });
    assert_located(&audit_damaged(&data), tip, None, "certificate");

    // The authority's signature of the registry root (the last bytes of the transaction).
    let root = b.txs[ROOT].clone();
    let (_dir, data) = copy_data();
    tamper(&data, |db, cf| {
        let mut raw = stored(db, cf, root.height);
        let Fetched::Block(block) = parse_stored_block(&raw) else {
            panic!("the stored block decodes")
        };
        let tx = &block.txs[root.index as usize];
        let at = raw
            .windows(tx.len())
            .position(|w| w == tx.as_slice())
            .unwrap();
        raw[at + tx.len() - 1] ^= 0x01;
        db.put_cf(cf, root.height.to_be_bytes(), raw).unwrap();
    });
    assert_located(
        &audit_damaged(&data),
        root.height,
        Some(root.index),
        "tx-root",
    );
}

#[test]
fn a_deleted_block_is_located() {
    let b = built();
    let height = b.txs[PROOF].height;
    let (_dir, data) = copy_data();
    tamper(&data, |db, cf| {
        db.delete_cf(cf, height.to_be_bytes()).unwrap();
    });
    assert_located(&audit_damaged(&data), height, None, "missing-block");
}

#[test]
fn two_swapped_blocks_are_located() {
    let b = built();
    let (h1, h2) = (b.txs[ANCHOR].height, b.txs[MARK].height);
    assert!(h1 < h2);
    let (_dir, data) = copy_data();
    tamper(&data, |db, cf| {
        let (a, c) = (stored(db, cf, h1), stored(db, cf, h2));
        db.put_cf(cf, h1.to_be_bytes(), c).unwrap();
        db.put_cf(cf, h2.to_be_bytes(), a).unwrap();
    });
    assert_located(&audit_damaged(&data), h1, None, "block-height");
}

#[test]
fn inclusion_proofs_verify_offline_and_changed_ones_are_refused() {
    let b = built();
    let l = &b.ledger;
    let genesis = l.path("genesis.json");
    let file = b.inclusion.to_str().unwrap();
    let o = run(&[
        "verify-inclusion",
        file,
        "--genesis",
        &genesis,
        "--keys",
        &b.keys,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("VALID"), "{}", stdout(&o));
    assert!(stdout(&o).contains(&hex::encode(b.txs[PROOF].hash)));

    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(&b.inclusion).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fn flip(v: &Value) -> Value {
        let mut bytes = hex::decode(v.as_str().unwrap()).unwrap();
        let n = bytes.len() - 1;
        bytes[n] ^= 1;
        Value::from(hex::encode(bytes))
    }
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "path",
            Box::new(|v: &mut Value| {
                if v["path"].as_array().unwrap().is_empty() {
                    v["path"] = serde_json::json!(["00".repeat(32)]);
                } else {
                    v["path"][0] = flip(&v["path"][0]);
                }
            }),
        ),
        (
            "header",
            Box::new(|v: &mut Value| {
                let t = v["header"]["timestamp_ms"].as_u64().unwrap();
                v["header"]["timestamp_ms"] = Value::from(t + 1);
            }),
        ),
        (
            "certificate",
            Box::new(|v: &mut Value| {
                v["certificate"]["certificate"] = flip(&v["certificate"]["certificate"]);
            }),
        ),
        (
            "tx_root",
            Box::new(|v: &mut Value| {
                v["header"]["tx_root"] = flip(&v["header"]["tx_root"]);
            }),
        ),
    ];
    for (name, edit) in cases {
        let mut v = good.clone();
        edit(&mut v);
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, v.to_string()).unwrap();
        let o = run(&[
            "verify-inclusion",
            path.to_str().unwrap(),
            "--genesis",
            &genesis,
        ]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{name}: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stdout(&o).contains("REFUSED"), "{name}: {}", stdout(&o));
    }
    // Another ledger's genesis refuses it.
    let other = Ledger::prepare_with_keys(&b.keys, true);
    let o = run(&[
        "verify-inclusion",
        file,
        "--genesis",
        &other.path("genesis.json"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("chain-id"), "{}", stdout(&o));
    // A malformed file is bad input.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": \"zkcustoms-inclusion/v1\"").unwrap();
    let o = run(&[
        "verify-inclusion",
        bad.to_str().unwrap(),
        "--genesis",
        &genesis,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("MALFORMED"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let b = built();
    let l = &b.ledger;
    let genesis = l.path("genesis.json");
    let dir = tempfile::tempdir().unwrap();
    let check = |args: &[&str], want: &str| {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    };
    let missing = dir.path().join("missing").display().to_string();
    check(
        &["audit", "--data-dir", &missing, "--genesis", &genesis],
        "not a directory",
    );
    let garbage = dir.path().join("garbage");
    std::fs::create_dir_all(garbage.join("ledger")).unwrap();
    std::fs::write(garbage.join("ledger/CURRENT"), "MANIFEST-000001\n").unwrap();
    std::fs::write(garbage.join("ledger/MANIFEST-000001"), [0xffu8; 100]).unwrap();
    let g = garbage.display().to_string();
    check(
        &["audit", "--data-dir", &g, "--genesis", &genesis],
        "cannot open the database",
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = empty.display().to_string();
    check(
        &["audit", "--data-dir", &e, "--genesis", &genesis],
        "not a node data directory",
    );
    check(
        &[
            "export",
            "log",
            "--data-dir",
            &e,
            "--out",
            &dir.path().join("x").display().to_string(),
        ],
        "not a node data directory",
    );
    let data = l.data.display().to_string();
    let other = Ledger::prepare_with_keys(&b.keys, true);
    check(
        &[
            "audit",
            "--data-dir",
            &data,
            "--genesis",
            &other.path("genesis.json"),
        ],
        "belongs to chain",
    );
    let not_genesis = dir.path().join("genesis.json");
    std::fs::write(&not_genesis, "{\"format\": 1}").unwrap();
    check(
        &[
            "audit",
            "--data-dir",
            &data,
            "--genesis",
            not_genesis.to_str().unwrap(),
        ],
        "genesis",
    );
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let token = l.path("auditor.token");
    check(
        &[
            "audit",
            "--node",
            &url,
            "--token-file",
            &token,
            "--genesis",
            &genesis,
            "--keys",
            &b.keys,
        ],
        "cannot reach the node",
    );
    check(
        &[
            "audit",
            "--node",
            &url,
            "--token-file",
            &token,
            "--genesis",
            &genesis,
        ],
        "--keys",
    );
    check(
        &["verify-inclusion", &missing, "--genesis", &genesis],
        "cannot read",
    );
}
