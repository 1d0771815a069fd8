//! The ledger node as a real process: `genesis --dev`, `node`, the `party`, `submit` and `query`
//! client commands over HTTP, refusals with their exit codes, the parties model (traders
//! registered by a customs office, consignment owners, delegation, key rotation and revocation)
//! against each attack it stops, signatures bound to one ledger (and signed only for the genesis
//! the CLI is given), and a node killed with SIGKILL
//! during a stream of submissions that restarts without losing any transaction it reported as
//! included.

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
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{AnchorDocument, Eori, Hash, Transaction, Ucr};
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

    // Customs office DE-HAMBURG-HAFEN registers the trader's key (block 2): every write the
    // trader makes from here is signed with it.
    let key = l.register_trader(EORI);

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
        l.signed(EORI, &key, &args)
    };
    let o = anchor("1", None, "invoice");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let decl = "11".repeat(32);
    let o = anchor("1", Some(&decl), "declaration");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The aeo-status proof is made for this consignment on this ledger (its scope).
    let aeo = l.aeo_proof(ucr);
    let inv = f.path("inv.proof.json");
    let o = l.signed(
        EORI,
        &key,
        &["submit", "proof", "--ucr", ucr, "--proof", &aeo],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = l.signed(
        EORI,
        &key,
        &["submit", "proof", "--ucr", ucr, "--proof", &aeo],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("duplicate-transaction"),
        "{}",
        stderr(&o)
    );
    // The invoice proof names a digest anchored under this UCR only.
    let o = l.signed(
        EORI,
        &key,
        &["submit", "proof", "--ucr", "OTHER-UCR-1", "--proof", &inv],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("422 unanchored-digest"),
        "{}",
        stderr(&o)
    );
    let o = l.signed(
        EORI,
        &key,
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
    // Each record names the trader that signed it: its EORI number is public on the ledger.
    for r in records["records"].as_array().unwrap() {
        assert_eq!(r["transaction"]["trader"], EORI, "{r}");
    }
    // What stays private: the certificate's registry (its other operators) and the invoice.
    let text = stdout(&o);
    for secret in [
        "DE998877665544332",
        "INV-2026-000451",
        "NL000099998888",
        "Static converters",
    ] {
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

    // Pages: walking two records at a time gives the same list; one page names where the next
    // starts, and that cursor reads it; a cursor the node never answered is refused.
    let records_of = |v: &Value| v["records"].as_array().unwrap().clone();
    let walked = json(&l.cli(
        "customs",
        &["query", "records", "--ucr", ucr, "--limit", "2"],
    ));
    assert_eq!(records_of(&walked), records_of(&records));
    assert!(walked["next_cursor"].is_null());
    let first = json(&l.cli(
        "customs",
        &[
            "query",
            "records",
            "--ucr",
            ucr,
            "--limit",
            "2",
            "--first-page",
        ],
    ));
    assert_eq!(records_of(&first), records_of(&records)[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json(&l.cli(
        "customs",
        &[
            "query", "records", "--ucr", ucr, "--limit", "2", "--cursor", cursor,
        ],
    ));
    assert_eq!(records_of(&second), records_of(&records)[2..4]);
    for (cursor, why) in [("v1.zz", "bad-cursor"), ("x&limit=5", "v1.<hex>")] {
        let o = l.cli(
            "customs",
            &["query", "records", "--ucr", ucr, "--cursor", cursor],
        );
        assert_eq!(o.status.code(), Some(2), "{cursor}");
        assert!(stderr(&o).contains(why), "{cursor}: {}", stderr(&o));
    }
    let blocks = json(&l.cli("auditor", &["query", "blocks", "--limit", "3"]));
    let heights: Vec<u64> = blocks["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert!(heights.len() >= 7, "{heights:?}");
    assert!(heights.windows(2).all(|w| w[0] == w[1] + 1), "{heights:?}");

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
    // One block per transaction: the root, the trader's registration, two anchors, two proofs
    // and the examination mark.
    assert_eq!(status["height"], 7);
    assert_eq!(status["mempool"]["transactions"], 0);
    l.stop();
}

/// A customs broker, registered by the same office as [`EORI`].
const BROKER: &str = "NL000111222";

/// A refusal by a ledger rule through the CLI: exit 1 and `422 code` on standard error.
fn refused(o: &std::process::Output, code: &str) {
    assert_eq!(o.status.code(), Some(1), "{code}: {}", stderr(o));
    assert!(
        stderr(o).contains(&format!("422 {code}")),
        "{code}: {}",
        stderr(o)
    );
}

fn ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
}

/// `party public-key --key key`.
fn public_key(key: &str) -> String {
    let o = run(&["party", "public-key", "--key", key]);
    ok(&o);
    stdout(&o).trim().to_owned()
}

#[test]
fn the_parties_model_refuses_each_attack_through_the_cli() {
    let l = Ledger::new();
    let ucr = "26DE-HAM-000051";
    let other_ucr = "26DE-HAM-000052";
    let root = registry_root("parties");
    ok(&l.cli(
        "authority",
        &[
            "submit",
            "root",
            "--registry",
            &root,
            "--key",
            &l.path("authority-DE-GZD.key"),
        ],
    ));
    let show = |eori: &str| json(&l.cli("auditor", &["party", "show", "--trader", eori]));
    let anchor = |eori: &str, key: &str, ucr: &str, doc_type: &str, version: u32, fill: u8| {
        l.signed(
            eori,
            key,
            &[
                "submit",
                "anchor",
                "--ucr",
                ucr,
                "--doc-type",
                doc_type,
                "--version",
                &version.to_string(),
                "--digest",
                &format!("{fill:02x}").repeat(32),
                "--reference",
                &format!("vault://parties/{doc_type}/{version}"),
            ],
        )
    };
    let proof = |eori: &str, key: &str, ucr: &str, file: &str| {
        l.signed(
            eori,
            key,
            &["submit", "proof", "--ucr", ucr, "--proof", file],
        )
    };

    // Only a customs office registers traders: a trader's token may not (403, exit 2).
    let stranger_key = l.path("stranger.key");
    let stranger_public = party_new(&stranger_key);
    let o = l.cli(
        "trader",
        &[
            "party",
            "register",
            "--office",
            OFFICE,
            "--key",
            &stranger_key,
            "--trader",
            "FR000999888777",
            "--public-key",
            &stranger_public,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("403 wrong-role"), "{}", stderr(&o));

    // The office registers the owner and a broker; the owner's record names its key and the
    // administration that vouches for it.
    let owner = l.register_trader(EORI);
    let broker = l.register_trader(BROKER);
    let record = show(EORI);
    assert_eq!(record["trader"], EORI, "{record}");
    assert_eq!(record["status"], "active", "{record}");
    assert_eq!(record["administration"], "DE", "{record}");
    assert_eq!(record["sequence"], 1, "{record}");
    assert_eq!(record["public_key"], public_key(&owner), "{record}");

    // The first anchor under the UCR makes its trader the owner.
    ok(&anchor(EORI, &owner, ucr, "invoice", 1, 0x11));
    // Another registered trader may neither anchor nor file a (valid) proof under it.
    refused(
        &anchor(BROKER, &broker, ucr, "declaration", 1, 0x21),
        "not-owner",
    );
    let aeo = l.aeo_proof(ucr);
    refused(&proof(BROKER, &broker, ucr, &aeo), "not-owner");
    // A trader the ledger does not know may not write at all.
    refused(
        &anchor(
            "FR000999888777",
            &stranger_key,
            other_ucr,
            "invoice",
            1,
            0x31,
        ),
        "unknown-party",
    );
    // Naming the owner does not help without the owner's key.
    refused(
        &anchor(EORI, &broker, ucr, "declaration", 1, 0x22),
        "wrong-party-key",
    );
    refused(
        &anchor(EORI, &stranger_key, ucr, "declaration", 1, 0x23),
        "wrong-party-key",
    );
    // An aeo-status proof is filed under the consignment it was made for, on the ledger it was
    // made for: one made for another UCR, or in the example's own scope, names the wrong scope.
    let aeo_other = l.aeo_proof(other_ucr);
    refused(&proof(EORI, &owner, ucr, &aeo_other), "wrong-scope");
    refused(
        &proof(EORI, &owner, ucr, &fixture().path("aeo.proof.json")),
        "wrong-scope",
    );
    ok(&proof(EORI, &owner, ucr, &aeo));

    // Delegation: the owner lets the broker act for it; the broker anchors for the owner.
    let delegate = |withdraw: bool| {
        let mut args = vec![
            "party",
            "delegate",
            "--owner",
            EORI,
            "--key",
            &owner,
            "--delegate",
            BROKER,
        ];
        if withdraw {
            args.push("--withdraw");
        }
        l.cli("trader", &args)
    };
    ok(&delegate(false));
    let record = show(EORI);
    let delegation = &record["delegations"][0];
    assert_eq!(delegation["delegate"], BROKER, "{record}");
    assert_eq!(delegation["active"], true, "{record}");
    assert_eq!(delegation["sequence"], 1, "{record}");
    ok(&anchor(BROKER, &broker, ucr, "declaration", 1, 0x24));
    // Withdrawn, it stops.
    ok(&delegate(true));
    let record = show(EORI);
    assert_eq!(record["delegations"][0]["active"], false, "{record}");
    assert_eq!(record["delegations"][0]["sequence"], 2, "{record}");
    refused(
        &anchor(BROKER, &broker, ucr, "packing-list", 1, 0x25),
        "not-owner",
    );
    // (Its amendment is refused as it would be under an unused UCR: no refusal tells a trader
    // that is no longer a delegate what the consignment holds.)
    refused(
        &anchor(BROKER, &broker, ucr, "declaration", 2, 0x26),
        "version-conflict",
    );

    // Rotation: the office gives the owner a new key; the old one is refused, the new one works.
    let owner_2 = l.path("owner-2.key");
    let public_2 = party_new(&owner_2);
    ok(&l.as_office(&[
        "party",
        "rotate",
        "--trader",
        EORI,
        "--public-key",
        &public_2,
    ]));
    let record = show(EORI);
    assert_eq!(record["sequence"], 2, "{record}");
    assert_eq!(record["public_key"], public_2, "{record}");
    assert_eq!(record["history"].as_array().unwrap().len(), 2, "{record}");
    refused(
        &anchor(EORI, &owner, ucr, "declaration", 2, 0x26),
        "wrong-party-key",
    );
    ok(&anchor(EORI, &owner_2, ucr, "declaration", 2, 0x26));

    // Revocation: nothing the trader signs is accepted, with its current key either.
    ok(&l.as_office(&["party", "revoke", "--trader", EORI]));
    let record = show(EORI);
    assert_eq!(record["status"], "revoked", "{record}");
    assert_eq!(record["sequence"], 3, "{record}");
    assert!(record["public_key"].is_null(), "{record}");
    refused(
        &anchor(EORI, &owner_2, ucr, "declaration", 3, 0x27),
        "revoked-key",
    );
    // A rotation reinstates the trader with a new key.
    let owner_3 = l.path("owner-3.key");
    let public_3 = party_new(&owner_3);
    ok(&l.as_office(&[
        "party",
        "rotate",
        "--trader",
        EORI,
        "--public-key",
        &public_3,
    ]));
    assert_eq!(show(EORI)["status"], "active");
    ok(&anchor(EORI, &owner_3, ucr, "declaration", 3, 0x27));

    // The consignment's records: only what its owner, or its delegate while delegated, signed.
    let records = json(&l.cli("customs", &["query", "records", "--ucr", ucr]));
    let signers: Vec<(&str, &str)> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let tx = &r["transaction"];
            (tx["type"].as_str().unwrap(), tx["trader"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        signers,
        [
            ("anchor_document", EORI),
            ("submit_proof", EORI),
            ("anchor_document", BROKER),
            ("anchor_document", EORI),
            ("anchor_document", EORI),
        ],
        "{records}"
    );
    // Nothing was written under the other UCR.
    let records = json(&l.cli("customs", &["query", "records", "--ucr", other_ucr]));
    assert_eq!(records["records"].as_array().unwrap().len(), 0, "{records}");
}

#[test]
fn a_transaction_signed_for_one_ledger_is_refused_by_another() {
    let a = Ledger::new();
    // Ledger B: another development genesis whose customs office holds A's office key, so that
    // the office's signatures on the two ledgers differ by the chain id they cover alone.
    let mut b = Ledger::prepare(true);
    let office_key = format!("customs-{OFFICE}.key");
    std::fs::copy(a.dir.join(&office_key), b.dir.join(&office_key)).unwrap();
    let office_public = public_key(&a.path(&office_key));
    let genesis_b = b.dir.join("genesis.json");
    let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&genesis_b).unwrap()).unwrap();
    for office in g["customs_offices"].as_array_mut().unwrap() {
        if office["id"] == OFFICE {
            office["public_key"] = office_public.clone().into();
        }
    }
    std::fs::write(&genesis_b, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    b.start();
    assert_ne!(a.chain_id(), b.chain_id());
    assert_eq!(b.client("auditor").chain_id().unwrap(), b.chain_id());

    // On A: the office registers the trader (block 1), which anchors a document.
    let key = a.register_trader(EORI);
    let args = [
        "submit",
        "anchor",
        "--ucr",
        "26DE-HAM-000061",
        "--doc-type",
        "invoice",
        "--digest",
        &"44".repeat(32),
        "--reference",
        "vault://replay/1",
    ];
    let included = json(&a.signed(EORI, &key, &args));
    assert_eq!(included["status"], "included", "{included}");
    // Both as A publishes them in its blocks, ready to be sent to B.
    let published = |height: &Value, index: &Value| {
        let block = a
            .client("auditor")
            .get(&format!("/v1/blocks/{height}"))
            .unwrap();
        let mut tx = block["transactions"][index.as_u64().unwrap() as usize].clone();
        tx.as_object_mut().unwrap().remove("hash");
        tx
    };
    let registration = published(&1.into(), &0.into());
    assert_eq!(registration["type"], "register_trader", "{registration}");
    assert_eq!(registration["trader"], EORI, "{registration}");
    let anchor = published(&included["height"], &included["index"]);
    assert_eq!(anchor["type"], "anchor_document", "{anchor}");
    let replay = |role: &str, tx: &Value| match b.client(role).post("/v1/transactions", tx) {
        Err(ClientError::Api {
            status: 422, code, ..
        }) => code,
        other => panic!("{role}'s replay of {tx} on B: {other:?}"),
    };

    // The trader is not registered on B.
    assert_eq!(replay("trader", &anchor), "unknown-party");
    // The office's registration: the same office key is listed in B's genesis, but the
    // signature covers A's chain id.
    assert_eq!(replay("customs", &registration), "bad-signature");
    // Signed for B, the same registration (the trader's same public key) is accepted...
    let o = party_register(&b.url, &b.dir, EORI, &public_key(&key));
    ok(&o);
    // ... and still A's anchor is refused: the trader's key on B is the one that signed it, for
    // A's chain id.
    assert_eq!(replay("trader", &anchor), "wrong-party-key");
    // The CLI signs for the genesis it is given, never for the chain a node names: sent to B
    // with A's genesis, it refuses before signing anything (exit 2).
    let genesis_a = a.path("genesis.json");
    let mut for_a = args.to_vec();
    for_a.extend(["--genesis", &genesis_a]);
    let o = b.signed(EORI, &key, &for_a);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was signed"), "{}", stderr(&o));
    // Without a genesis it signs nothing either.
    let token_b = b.path("trader.token");
    let mut unbound = args.to_vec();
    unbound.extend([
        "--trader",
        EORI,
        "--key",
        &key,
        "--node",
        &b.url,
        "--token-file",
        &token_b,
    ]);
    let o = bin()
        .args(&unbound)
        .env_remove("ZKCUSTOMS_GENESIS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--genesis"), "{}", stderr(&o));
    // Signed for B, the same anchor is accepted.
    ok(&b.signed(EORI, &key, &args));
    // B holds its own two transactions and nothing sent from A.
    let status = json(&b.cli("auditor", &["query", "status"]));
    assert_eq!(status["height"], 2, "{status}");
    assert_eq!(status["mempool"]["transactions"], 0, "{status}");
}

/// A trader registered on a ledger (through the CLI), signing its anchors here.
#[derive(Clone)]
struct Signing {
    chain: Hash,
    trader: Eori,
    key: PrivateKey,
}

impl Signing {
    /// Registers [`EORI`] on the ledger.
    fn register(l: &Ledger) -> Self {
        let key = l.register_trader(EORI);
        Self {
            chain: l.chain_id(),
            trader: Eori::parse(EORI).unwrap(),
            key: crypto::read_private(std::path::Path::new(&key)).unwrap(),
        }
    }

    /// Version 1 of an invoice anchored under `ucr`, signed.
    fn anchor(&self, ucr: &str, digest: Hash, reference: String) -> Transaction {
        Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse(ucr).unwrap(),
            doc_type: "invoice".into(),
            digest,
            reference,
            version: 1,
            supersedes: None,
            trader: self.trader.clone(),
            signature: crypto::unsigned(),
        })
        .signed(&self.chain, &self.key)
    }
}

/// Submits anchors of distinct consignments until told to stop; records which ones the node
/// reported as included, with their location.
fn submitter(
    client: Client,
    signing: Signing,
    stop: Arc<AtomicBool>,
    included: Arc<Mutex<Vec<(Hash, u64, u64)>>>,
    accepted: Arc<Mutex<Vec<Hash>>>,
    offset: usize,
) {
    let mut i = offset;
    let mut pending: Vec<Hash> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let tx = signing.anchor(
            &format!("KILL-{i}"),
            zkcustoms_ledger_types::tx::sha256(&(i as u64).to_be_bytes()),
            format!("vault://kill/{i}"),
        );
        i += 1;
        match client.submit(&tx) {
            Ok(h) => {
                accepted.lock().unwrap().push(h);
                pending.push(h);
            }
            Err(ClientError::Transport(_)) => break,
            // Over the token's rate (the status polls below add up on a slow machine): back off
            // as any client must, and go on.
            Err(ClientError::Api { status: 429, .. }) => {
                std::thread::sleep(Duration::from_millis(200));
            }
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
    let signing = Signing::register(&l);
    let included = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (c, g, s, i, a) = (
            l.client("trader"),
            signing.clone(),
            stop.clone(),
            included.clone(),
            accepted.clone(),
        );
        std::thread::spawn(move || submitter(c, g, s, i, a, 0))
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
        let new = Arc::new(Mutex::new(Vec::new()));
        std::thread::spawn(move || submitter(c, signing, s, i, new, 1_000_000))
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

/// A node catches SIGINT and SIGTERM before it answers its first request: a signal sent as soon
/// as it is seen running shuts it down gracefully (exit 0), never with the signal's default
/// action. Checked where the kernel records the handlers, the moment the status first answers.
#[test]
fn a_node_catches_shutdown_signals_before_it_answers() {
    let mut l = Ledger::new();
    assert_catches_shutdown_signals(l.pid());
    l.stop();
}

#[test]
fn a_node_refuses_a_database_of_another_chain() {
    let mut a = Ledger::new();
    a.stop();
    let b = Ledger::prepare(false);
    let o = b.run_node_on(&a.data);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("belongs to chain"), "{}", stderr(&o));
}

#[test]
fn explorer_accounts_are_named_people_of_offices_and_auditors() {
    let l = Ledger::prepare(false);
    let (config, genesis) = (l.path("node.json"), l.path("genesis.json"));
    let account = |extra: &[&str]| {
        let mut args = vec![
            "party",
            "explorer-account",
            "--config",
            &config,
            "--genesis",
            &genesis,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let config_text = || std::fs::read_to_string(l.dir.join("node.json")).unwrap();
    // The dev genesis gives each office and auditor an account.
    let dev: Value = serde_json::from_str(&config_text()).unwrap();
    let names: Vec<&str> = dev["explorer_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"officer at DE-HAMBURG-HAFEN"), "{names:?}");
    assert!(names.contains(&"auditor AUDIT-EU-1"), "{names:?}");

    let token = l.path("schmidt.token");
    let o = account(&[
        "--name",
        "J. Schmidt",
        "--party",
        OFFICE,
        "--token-out",
        &token,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&token).unwrap();
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&token, &config] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{f} is readable by others");
        }
    }
    // The configuration keeps only the token's hash, and every other field as it was.
    let after: Value = serde_json::from_str(&config_text()).unwrap();
    assert!(!config_text().contains(text.trim()));
    let schmidt = after["explorer_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "J. Schmidt")
        .unwrap();
    assert_eq!(schmidt["party"], OFFICE);
    assert_eq!(
        schmidt["token_sha256"].as_str().unwrap(),
        zkcustoms_ledger_types::genesis::explorer_token_hash(&text)
    );
    for field in ["validator_key", "keys", "tokens", "document_master_key"] {
        assert_eq!(after[field], dev[field], "{field}");
    }

    // Refused, the configuration untouched and no token written: the same name again, a party
    // that is a trader, an authority or unknown, a token file that exists.
    let before = config_text();
    let refusals: [(&[&str], &str); 5] = [
        (
            &[
                "--name",
                "J. Schmidt",
                "--party",
                OFFICE,
                "--token-out",
                &l.path("t1"),
            ],
            "already has",
        ),
        (
            &["--name", "T", "--party", EORI, "--token-out", &l.path("t2")],
            "neither a customs office",
        ),
        (
            &[
                "--name",
                "A",
                "--party",
                "DE-GZD",
                "--token-out",
                &l.path("t3"),
            ],
            "neither a customs office",
        ),
        (
            &[
                "--name",
                "N",
                "--party",
                "NOBODY",
                "--token-out",
                &l.path("t4"),
            ],
            "neither a customs office",
        ),
        (
            &["--name", "M", "--party", OFFICE, "--token-out", &token],
            "exists",
        ),
    ];
    for (args, why) in refusals {
        let o = account(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(why), "{args:?}: {}", stderr(&o));
        assert_eq!(config_text(), before, "{args:?}");
    }
    for t in ["t1", "t2", "t3", "t4"] {
        assert!(!l.dir.join(t).exists(), "{t}");
    }
    let o = account(&["--name", "J. Schmidt", "--remove"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(serde_json::from_str::<Value>(&config_text()).unwrap(), dev);
    let o = account(&["--name", "J. Schmidt", "--remove"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no explorer account"), "{}", stderr(&o));

    // A node whose configuration names an account of a party genesis does not have refuses to
    // start.
    let mut bad = dev.clone();
    bad["explorer_accounts"][0]["party"] = Value::from("NL-NOWHERE");
    std::fs::write(l.dir.join("node.json"), bad.to_string()).unwrap();
    let o = l.run_node_on(&l.data);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("NL-NOWHERE is neither a customs office nor an auditor"),
        "{}",
        stderr(&o)
    );
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
        "customs-DE-HAMBURG-HAFEN.key",
        "auditor-AUDIT-EU-1.key",
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

    // Its genesis is a development one; the same genesis without the mark is a production
    // genesis, which the development keys do not serve: the node refuses to start.
    let path = l.dir.join("genesis.json");
    let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(g["development"], true, "{g}");
    g.as_object_mut().unwrap().remove("development");
    std::fs::write(&path, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    let o = l.run_node_on(&l.data);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("development keys"), "{}", stderr(&o));
    // A validator key others may read is refused, naming the file.
    std::fs::write(&path, before).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = l.dir.join("validator-0.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = l.run_node_on(&l.data);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("validator-0.key") && stderr(&o).contains("chmod 600"),
            "{}",
            stderr(&o)
        );
    }
}

/// Opens a connection to `addr` and sends `head` (and nothing more).
/// A connection to `addr` from the loopback address `127.0.0.{from}` that sends `head` and
/// stalls (Linux: every 127.x.y.z address is the loopback there).
#[cfg(target_os = "linux")]
fn stall(from: u8, addr: &str, head: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local = std::net::SocketAddr::from(([127, 0, 0, from], 0));
    socket.bind(&local.into()).unwrap();
    let remote: std::net::SocketAddr = addr.parse().unwrap();
    socket.connect(&remote.into()).unwrap();
    let mut s: std::net::TcpStream = socket.into();
    s.write_all(head).unwrap();
    s
}

#[cfg(target_os = "linux")]
#[test]
fn stalled_unauthenticated_connections_do_not_hold_back_a_party() {
    use std::io::Read;
    let l = Ledger::new();
    let signing = Signing::register(&l);
    let addr = l.url.trim_start_matches("http://").to_owned();
    // 256 connections announce a 256 KiB body to the submit route without a token and send one
    // byte of it; 256 more send half a request line. The node serves 256 requests at once. They
    // come from eight addresses other than the trader's (127.0.0.2 to 127.0.0.9), 64 from each:
    // a network holding as many connections as it may would have the trader's closed, were the
    // trader in it.
    let body_head = b"POST /v1/transactions HTTP/1.1\r\nHost: node\r\n\
        Content-Type: application/json\r\nContent-Length: 262144\r\n\r\n{";
    let from = |i: usize| 2 + (i % 8) as u8;
    let mut stalled: Vec<_> = (0..256).map(|i| stall(from(i), &addr, body_head)).collect();
    let half: Vec<_> = (0..256)
        .map(|i| stall(from(i), &addr, b"POST /v1/transactions HT"))
        .collect();
    // Meanwhile a trader's submissions are accepted and finalized, one after the other.
    let trader = l.client("trader");
    for i in 0..10u64 {
        let tx = signing.anchor(
            &format!("STALL-{i}"),
            zkcustoms_ledger_types::tx::sha256(&i.to_be_bytes()),
            format!("vault://stall/{i}"),
        );
        let hash = trader
            .submit(&tx)
            .unwrap_or_else(|e| panic!("submission {i} refused while connections stall: {e}"));
        let state = trader.wait(&hash, Duration::from_secs(60)).unwrap();
        assert_eq!(state.status, TxStatusKind::Included, "{state:?}");
    }
    // Each stalled body was answered from its head alone, without waiting for the body: 401, or
    // 429 once the address had spent its anonymous budget (refused requests are charged too).
    let mut refused = 0;
    for s in stalled.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).unwrap();
        match &answer {
            b"HTTP/1.1 401" => refused += 1,
            b"HTTP/1.1 429" => {}
            other => panic!("{}", String::from_utf8_lossy(other)),
        }
    }
    assert!(refused > 0, "no stalled body was answered 401");
    drop(half);
}
