//! The ledger node as a real process: `genesis --dev`, `node`, the `submit` and `query` client
//! commands over HTTP, refusals with their exit codes, and a node killed with SIGKILL during a
//! stream of submissions that restarts without losing any transaction it reported as included.

mod common;

use common::node::*;
use common::*;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkcustoms_ledger_client::{Client, ClientError};
use zkcustoms_ledger_core::finality::verify_finalization;
use zkcustoms_ledger_core::store::{Finality, Store, Transactions};
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{AnchorDocument, Hash, Transaction, Ucr};
use zkcustoms_ledger_types::wire::TxStatusKind;

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {} / {}", stdout(o), stderr(o)))
}

#[test]
fn the_ledger_story_and_its_refusals_through_the_cli() {
    let f = fixture();
    let mut l = Ledger::new();
    let ucr = "26DE-HAM-000042";

    // The authority publishes its registry root.
    let root = registry_root("ledger");
    let submit_root = |role: &str, key: &str| {
        l.cli(
            role,
            &["submit", "root", "--registry", &root, "--key", &l.path(key)],
        )
    };
    let o = submit_root("authority", "authority-DE-GZD.key");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["status"], "included");
    assert_eq!(json(&o)["height"], 1);
    // A trader may not publish roots: 403, exit 2.
    let o = submit_root("trader", "authority-DE-GZD.key");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("403 wrong-role"), "{}", stderr(&o));
    // A root signed with another key is refused by the signature rule: exit 1.
    let o = submit_root("authority", "customs-DE-HAMBURG-HAFEN.key");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("422 bad-signature"), "{}", stderr(&o));

    // The trader anchors the invoice and proves AEO status and the invoice's value.
    let invoice = f.path("ledger-invoice.json");
    std::fs::write(&invoice, run(&["example", "invoice"]).stdout).unwrap();
    let anchor = |version: &str, digest: Option<&str>, doc_type: &str| {
        let mut args = vec![
            "submit",
            "anchor",
            "--ucr",
            ucr,
            "--doc-type",
            doc_type,
            "--reference",
            "vault://docs/1",
            "--version",
            version,
        ];
        match digest {
            Some(d) => args.extend(["--digest", d]),
            None => args.extend(["--invoice", &invoice]),
        }
        l.cli("trader", &args)
    };
    let o = anchor("1", None, "invoice");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let decl = "11".repeat(32);
    let o = anchor("1", Some(&decl), "declaration");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let aeo = f.path("aeo.proof.json");
    let inv = f.path("inv.proof.json");
    let o = l.cli(
        "trader",
        &["submit", "proof", "--ucr", ucr, "--proof", &aeo],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = l.cli(
        "trader",
        &["submit", "proof", "--ucr", ucr, "--proof", &aeo],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("duplicate-transaction"),
        "{}",
        stderr(&o)
    );
    // The invoice proof names a digest anchored under this UCR only.
    let o = l.cli(
        "trader",
        &["submit", "proof", "--ucr", "OTHER-UCR-1", "--proof", &inv],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("422 unanchored-digest"),
        "{}",
        stderr(&o)
    );
    let o = l.cli(
        "trader",
        &["submit", "proof", "--ucr", ucr, "--proof", &inv],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Customs reads the records; the trader may not.
    let o = l.cli("trader", &["query", "records", "--ucr", ucr]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("403 wrong-role"));
    let o = l.cli("customs", &["query", "records", "--ucr", ucr]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let records = json(&o);
    let kinds: Vec<&str> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["transaction"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "anchor_document",
            "anchor_document",
            "submit_proof",
            "submit_proof"
        ]
    );
    assert!(records["under_examination"].is_null());
    let text = stdout(&o);
    for secret in ["DE123456789012345", "INV-2026-000451", "Static converters"] {
        assert!(!text.contains(secret), "{secret} is on the ledger");
    }

    // Examination, then a late amendment is refused.
    let key = l.path("customs-DE-HAMBURG-HAFEN.key");
    let examine = [
        "submit",
        "examine",
        "--ucr",
        ucr,
        "--office",
        "DE-HAMBURG-HAFEN",
        "--key",
        &key,
    ];
    let o = l.cli("trader", &examine);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("403 wrong-role"));
    let o = l.cli("customs", &examine);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = anchor("2", Some(&"22".repeat(32)), "declaration");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("422 under-examination"),
        "{}",
        stderr(&o)
    );
    let o = l.cli("customs", &["query", "records", "--ucr", ucr]);
    let records = json(&o);
    assert_eq!(records["under_examination"]["office"], "DE-HAMBURG-HAFEN");
    assert_eq!(records["records"].as_array().unwrap().len(), 5);

    // Malformed JSON against the real server. (Oversized bodies are refused with 413 before
    // they are read, so over TCP the client may see the connection close while still sending:
    // the 413 answer is tested through the router in `ledger/tests/api.rs`.)
    let token = l.token("trader");
    let answer = ureq::post(&format!("{}/v1/transactions", l.url))
        .set("Authorization", &format!("Bearer {}", token.trim()))
        .set("Content-Type", "application/json")
        .send_bytes(b"{not json");
    match answer {
        Err(ureq::Error::Status(code, r)) => {
            let body: Value = r.into_json().unwrap();
            assert_eq!(
                (code, body["error"].as_str()),
                (400, Some("malformed-json"))
            );
        }
        other => panic!("expected 400, got {other:?}"),
    }

    let o = l.cli("auditor", &["query", "status"]);
    let status = json(&o);
    assert_eq!(status["height"], 6);
    assert_eq!(status["mempool"]["transactions"], 0);
    l.stop();
}

/// Submits anchors of distinct consignments until told to stop; records which ones the node
/// reported as included, with their location.
fn submitter(
    client: Client,
    stop: Arc<AtomicBool>,
    included: Arc<Mutex<Vec<(Hash, u64, u64)>>>,
    accepted: Arc<Mutex<Vec<Hash>>>,
    offset: usize,
) {
    let mut i = offset;
    let mut pending: Vec<Hash> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let tx = Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse(&format!("KILL-{i}")).unwrap(),
            doc_type: "invoice".into(),
            digest: zkcustoms_ledger_types::tx::sha256(&(i as u64).to_be_bytes()),
            reference: format!("vault://kill/{i}"),
            version: 1,
            supersedes: None,
        });
        i += 1;
        match client.submit(&tx) {
            Ok(h) => {
                accepted.lock().unwrap().push(h);
                pending.push(h);
            }
            Err(ClientError::Transport(_)) => break,
            Err(e) => panic!("unexpected refusal: {e}"),
        }
        let mut still = Vec::new();
        for h in pending.drain(..) {
            match client.get(&format!("/v1/transactions/{}", hex::encode(h))) {
                Ok(v) if v["status"] == "included" => included.lock().unwrap().push((
                    h,
                    v["height"].as_u64().unwrap(),
                    v["index"].as_u64().unwrap(),
                )),
                Ok(_) => still.push(h),
                Err(_) => {
                    still.push(h);
                    break;
                }
            }
        }
        pending = still;
    }
}

#[test]
fn sigkill_during_submissions_loses_nothing_reported_included() {
    let mut l = Ledger::new();
    let included = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (c, s, i, a) = (
            l.client("trader"),
            stop.clone(),
            included.clone(),
            accepted.clone(),
        );
        std::thread::spawn(move || submitter(c, s, i, a, 0))
    };
    // Kill the node in the middle of the stream, once some transactions are finalized.
    let start = Instant::now();
    while included.lock().unwrap().len() < 20 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no progress: {}",
            l.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    l.kill();
    stop.store(true, Ordering::SeqCst);
    worker.join().unwrap();
    let included = included.lock().unwrap().clone();
    let accepted = accepted.lock().unwrap().len();
    assert!(included.len() >= 20 && accepted >= included.len());

    // Restart on the same data directory: everything reported included is still there.
    l.start();
    let auditor = l.client("auditor");
    for (h, height, index) in &included {
        let v = auditor
            .get(&format!("/v1/transactions/{}", hex::encode(h)))
            .unwrap();
        assert_eq!(
            v["status"],
            "included",
            "{} lost after SIGKILL",
            hex::encode(h)
        );
        assert_eq!(
            (v["height"].as_u64(), v["index"].as_u64()),
            (Some(*height), Some(*index))
        );
    }
    // The node goes on: a new stream is finalized after the restart.
    let tip_before = auditor.status().unwrap()["height"].as_u64().unwrap();
    let included_after = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (c, s, i) = (l.client("trader"), stop.clone(), included_after.clone());
        std::thread::spawn(move || submitter(c, s, i, Arc::new(Mutex::new(Vec::new())), 1_000_000))
    };
    let start = Instant::now();
    while included_after.lock().unwrap().len() < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no progress: {}",
            l.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    worker.join().unwrap();
    assert!(auditor.status().unwrap()["height"].as_u64().unwrap() > tip_before);
    l.stop();

    // Offline, the stored chain links from genesis to the tip, every block commits to its
    // transactions, every transaction is indexed where it is, and every stored finalization
    // certificate verifies against the genesis validators (the tip has its own).
    let genesis = Genesis::load(&l.dir.join("genesis.json")).unwrap();
    let store = Store::open(&l.data.join("ledger")).unwrap();
    let (tip, tip_hash) = store.tip().unwrap().unwrap();
    assert!(tip > 0);
    let mut parent = genesis.chain_id;
    for height in 1..=tip {
        let stored = store.block(height).unwrap().expect("no gap in the chain");
        let block: &Block = &stored.block;
        assert_eq!(block.header.height, height);
        assert_eq!(block.header.parent, parent, "block {height} does not link");
        // Decoding re-derives the transaction root.
        assert_eq!(Block::from_bytes(&block.to_bytes()).unwrap(), *block);
        for (i, tx) in block.txs.iter().enumerate() {
            let loc = store.get::<Transactions>(&tx.hash()).unwrap().unwrap();
            assert_eq!((loc.height, loc.index), (height, i as u32));
        }
        match &stored.finality {
            Finality::Certificate { view, certificate } => {
                let checked = verify_finalization(&genesis, &block.hash(), certificate).unwrap();
                assert_eq!(checked, *view);
                // The certificate is bound to its block.
                assert!(verify_finalization(&genesis, &parent, certificate).is_err());
            }
            Finality::Descendant(by) => assert!(*by > height && *by <= tip),
        }
        if height == tip {
            assert!(matches!(stored.finality, Finality::Certificate { .. }));
        }
        parent = block.hash();
    }
    assert_eq!(parent, tip_hash);
}

#[test]
fn a_node_refuses_a_database_of_another_chain() {
    let mut a = Ledger::new();
    a.stop();
    let b = Ledger::prepare(false);
    let o = bin()
        .args([
            "node",
            "--genesis",
            &b.path("genesis.json"),
            "--data-dir",
            a.data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("belongs to chain"), "{}", stderr(&o));
}

#[test]
fn genesis_is_development_only_and_never_overwritten() {
    let f = fixture();
    let l = Ledger::prepare(false);
    let out = l.dir.display().to_string();
    let keys = f.keys();
    let o = run(&["genesis", "--out", &out, "--keys", &keys]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--dev"), "{}", stderr(&o));
    let before = std::fs::read(l.dir.join("genesis.json")).unwrap();
    let o = run(&["genesis", "--dev", "--out", &out, "--keys", &keys]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(l.dir.join("genesis.json")).unwrap(), before);
    let missing = l.dir.join("no-keys").display().to_string();
    let o = run(&[
        "genesis",
        "--dev",
        "--out",
        &l.dir.join("g2").display().to_string(),
        "--keys",
        &missing,
    ]);
    assert_eq!(o.status.code(), Some(2));
    // Secret files are readable by their owner only.
    #[cfg(unix)]
    for name in [
        "validator-0.key",
        "authority-DE-GZD.key",
        "trader.token",
        "node.json",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(l.dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is readable by others");
    }
}

/// Opens a connection to `addr` and sends `head` (and nothing more).
fn stall(addr: &str, head: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(head).unwrap();
    s
}

#[test]
fn stalled_unauthenticated_connections_do_not_hold_back_a_party() {
    use std::io::Read;
    let l = Ledger::new();
    let addr = l.url.trim_start_matches("http://").to_owned();
    // 256 connections announce a 256 KiB body to the submit route without a token and send one
    // byte of it; 256 more send half a request line. The node serves 256 requests at once.
    let body_head = b"POST /v1/transactions HTTP/1.1\r\nHost: node\r\n\
        Content-Type: application/json\r\nContent-Length: 262144\r\n\r\n{";
    let mut stalled: Vec<_> = (0..256).map(|_| stall(&addr, body_head)).collect();
    let half: Vec<_> = (0..256)
        .map(|_| stall(&addr, b"POST /v1/transactions HT"))
        .collect();
    // Meanwhile a trader's submissions are accepted and finalized, one after the other.
    let trader = l.client("trader");
    for i in 0..10u64 {
        let tx = Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse(&format!("STALL-{i}")).unwrap(),
            doc_type: "invoice".into(),
            digest: zkcustoms_ledger_types::tx::sha256(&i.to_be_bytes()),
            reference: format!("vault://stall/{i}"),
            version: 1,
            supersedes: None,
        });
        let hash = trader
            .submit(&tx)
            .unwrap_or_else(|e| panic!("submission {i} refused while connections stall: {e}"));
        let state = trader.wait(&hash, Duration::from_secs(60)).unwrap();
        assert_eq!(state.status, TxStatusKind::Included, "{state:?}");
    }
    // Each stalled body was answered 401 from its head alone, without waiting for the body.
    for s in stalled.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).unwrap();
        assert_eq!(
            &answer,
            b"HTTP/1.1 401",
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    drop(half);
}
