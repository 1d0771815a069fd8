//! The explorer in a real headless Chromium, against a real `zkcustoms node` process holding the
//! demo's kind of data (a trader registered by a customs office, a registry root, an invoice and
//! two versions of a declaration anchored by the trader under a UCR, an aeo-status and an
//! invoice-value proof under it): the home page lists the blocks and names no trader, the skip
//! link comes first on the keyboard, searching the UCR finds its records only after signing in
//! with the customs token, the amendment history lists both versions, a transaction names its
//! signer to a signed-in viewer, the verify page accepts the proof (uploaded) and refuses a
//! tampered copy (pasted), and signing out ends the session.
//!
//! A PNG screenshot of each page is written to `explorer-screenshots/` in the target directory.
//! Chromium and chromedriver come from Debian (`make browser`); the test fails when they are
//! missing.

mod common;

use common::node::*;
use common::webdriver::Browser;
use common::*;
use serde_json::Value;
use std::path::PathBuf;

const UCR: &str = "26DE-HAM-000042";

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {} / {}", stdout(o), stderr(o)))
}

/// `explorer-screenshots/` in the target directory, emptied.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("explorer-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Development keys for aeo-status and the 4-line invoice class, the example aeo-status witness
/// (proved once the ledger exists: its proof is made for the ledger's scope), an invoice-value
/// proof, and the example registry, in a directory of this test's own (removed at the end, even
/// on failure).
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let files = Files {
            dir: tempfile::tempdir().unwrap(),
        };
        let ok = |args: &[&str]| {
            let o = run(args);
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
            o.stdout
        };
        ok(&[
            "setup",
            "--dev",
            "--out",
            &files.path("keys"),
            "--circuit",
            "aeo-status/v1",
            "--circuit",
            "invoice-value/v1:4",
        ]);
        for (statement, name) in [("aeo-status", "aeo"), ("invoice-value", "inv")] {
            let witness = files.path(&format!("{name}.witness.json"));
            std::fs::write(
                &witness,
                ok(&["example", statement, "--as-of", EXAMPLE_DAY]),
            )
            .unwrap();
            if statement == "aeo-status" {
                continue;
            }
            ok(&[
                "prove",
                statement,
                "--keys",
                &files.path("keys"),
                "--witness",
                &witness,
                "--out",
                &files.path(&format!("{name}.proof.json")),
            ]);
        }
        for (what, file) in [
            ("certificates", "certificates.json"),
            ("invoice", "invoice.json"),
        ] {
            std::fs::write(
                files.path(file),
                ok(&["example", what, "--as-of", EXAMPLE_DAY]),
            )
            .unwrap();
        }
        ok(&[
            "registry",
            "build",
            "--certificates",
            &files.path("certificates.json"),
            "--out",
            &files.path("registry"),
        ]);
        files
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// Submits through the CLI and answers the included transaction's hash.
fn submit(l: &Ledger, role: &str, args: &[&str]) -> String {
    let v = json(&l.cli(role, args));
    assert_eq!(v["status"], "included", "{v}");
    v["hash"].as_str().unwrap().to_owned()
}

#[test]
fn the_explorer_in_a_real_browser() {
    // First the browser, so a machine without Chromium fails at once.
    let b = Browser::start(1280, 1000);
    let shots = screenshot_dir();
    let shot = |name: &str| b.screenshot(&shots.join(format!("{name}.png")));

    // The demo's story on a real node.
    let f = Files::new();
    let mut l = Ledger::prepare_with_keys(&f.path("keys"), true);
    l.start();
    // Block 1: customs office DE-HAMBURG-HAFEN registers the trader, which signs its writes.
    l.register_trader(EORI);
    let root = f.path("registry/root.json");
    submit(
        &l,
        "authority",
        &[
            "submit",
            "root",
            "--registry",
            &root,
            "--key",
            &l.path("authority-DE-GZD.key"),
        ],
    );
    let invoice = f.path("invoice.json");
    let anchor = |doc_type: &str, version: &str, source: [&str; 2]| {
        submit(
            &l,
            "trader",
            &[
                "submit",
                "anchor",
                "--trader",
                EORI,
                "--key",
                &l.trader_key(EORI),
                "--ucr",
                UCR,
                "--doc-type",
                doc_type,
                "--version",
                version,
                "--reference",
                &format!("vault://trader/{doc_type}/{version}"),
                source[0],
                source[1],
            ],
        )
    };
    anchor("invoice", "1", ["--invoice", &invoice]);
    anchor("declaration", "1", ["--digest", &"11".repeat(32)]);
    anchor("declaration", "2", ["--digest", &"22".repeat(32)]);
    // The aeo-status proof is made for this consignment on this ledger.
    let aeo = f.path("aeo.proof.json");
    prove_aeo_for(
        &f.path("keys"),
        &f.path("aeo.witness.json"),
        UCR,
        &l.path("genesis.json"),
        &aeo,
    );
    let trader_key = l.trader_key(EORI);
    let signed_proof = |file: &str| {
        submit(
            &l,
            "trader",
            &[
                "submit",
                "proof",
                "--trader",
                EORI,
                "--key",
                &trader_key,
                "--ucr",
                UCR,
                "--proof",
                file,
            ],
        )
    };
    let aeo_tx = signed_proof(&aeo);
    let inv_tx = signed_proof(&f.path("inv.proof.json"));

    // Home: the seven blocks (the registration, the root, three anchors, two proofs), newest
    // first; the skip link is the first stop of the keyboard.
    b.goto(&format!("{}/", l.url));
    let text = b.wait_for_text("Latest blocks");
    assert!(text.contains("Trader registered"), "{text}");
    assert!(text.contains("Registry root published"), "{text}");
    assert!(text.contains("Proof submitted"), "{text}");
    let source = b.source();
    for h in 1..=7 {
        assert!(
            source.contains(&format!("href=\"/blocks/{h}\"")),
            "block {h}"
        );
    }
    assert!(!text.contains(UCR), "a record's UCR is shown signed out");
    assert!(
        !text.contains(EORI),
        "a trader's EORI number is shown signed out"
    );
    b.press("\u{E004}");
    assert_eq!(b.focused_text(), "Skip to content");
    shot("home-skip-link-focused");
    b.goto(&format!("{}/", l.url));
    shot("home");
    b.resize(390, 844);
    shot("home-narrow");
    b.resize(1280, 1000);

    // Searching the UCR signed out: the records are behind the sign-in.
    b.type_into("#q", UCR);
    b.click("form.search button");
    let text = b.wait_for_text("Sign in to see records");
    assert!(!text.contains("vault://"), "{text}");
    assert!(b.url().ends_with(&format!("/consignments/{UCR}")));
    shot("search-signed-out");
    let signed_out = ureq::get(&format!("{}/consignments/{UCR}", l.url)).call();
    assert!(
        matches!(signed_out, Err(ureq::Error::Status(401, _))),
        "{signed_out:?}"
    );

    // Sign in with the explorer account of the office's officer: back on the consignment, its
    // records shown, the officer and the office named.
    b.click("main a[href^=\"/signin\"]");
    b.wait_for_text("Account token");
    shot("sign-in");
    b.type_into("#token", l.token(&format!("explorer-{OFFICE}")).trim());
    b.click("main form button");
    let text = b.wait_for_text("Latest documents");
    assert!(b.url().ends_with(&format!("/consignments/{UCR}")));
    for want in [
        "vault://trader/invoice/1",
        "vault://trader/declaration/2",
        "AEO certificate of tier AEOS",
        "totals 18432.50 EUR",
        "Signed in: officer at DE-HAMBURG-HAFEN (customs DE-HAMBURG-HAFEN)",
    ] {
        assert!(text.contains(want), "{want:?} missing: {text}");
    }
    // The session cookie is not readable by scripts.
    let cookies = b.script("return document.cookie");
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains("zkcustoms_session"),
        "{cookies}"
    );
    shot("consignment");
    // Searching again, now signed in, lands on the records directly.
    b.goto(&format!("{}/", l.url));
    b.type_into("#q", UCR);
    b.click("form.search button");
    b.wait_for_text("Latest documents");
    shot("search-signed-in");

    b.click("main caption a");
    let text = b.wait_for_text("Amendment history of");
    assert!(text.contains("superseded"), "{text}");
    assert!(text.contains("vault://trader/declaration/1"), "{text}");
    shot("amendment-history");

    // A proof's transaction page, its block, the registry and the status.
    b.goto(&format!("{}/tx/{aeo_tx}", l.url));
    let text = b.wait_for_text("Verification");
    assert!(text.contains("Valid."), "{text}");
    // Signed in, the page names the trader that signed the proof.
    assert!(text.contains("Signed by"), "{text}");
    assert!(text.contains(EORI), "{text}");
    assert!(text.contains("download the inclusion proof"), "{text}");
    shot("transaction-aeo-status");
    b.goto(&format!("{}/tx/{inv_tx}", l.url));
    b.wait_for_text("totals 18432.50 EUR");
    shot("transaction-invoice-value");
    b.goto(&format!("{}/blocks/5", l.url));
    b.wait_for_text("Block 5");
    shot("block");
    b.goto(&format!("{}/registry/DE-GZD", l.url));
    b.wait_for_text("current");
    shot("registry");
    b.goto(&format!("{}/status", l.url));
    b.wait_for_text("Validators");
    shot("status");

    // Verify a proof: the envelope uploaded as a file is valid...
    b.goto(&format!("{}/verify", l.url));
    b.wait_for_text("Paste the envelope");
    shot("verify-form");
    b.type_into("#file", &aeo);
    b.click("main form button");
    let text = b.wait_for_text("Valid proof");
    assert!(
        text.contains(
            "an operator holding an AEO certificate of tier AEOS or higher, issued by DE-GZD"
        ),
        "{text}"
    );
    shot("verify-valid");
    // ... and a tampered copy, pasted, is refused.
    let mut tampered: Value =
        serde_json::from_str(&std::fs::read_to_string(&aeo).unwrap()).unwrap();
    tampered["public"]["scope"] = "another-scope".into();
    b.goto(&format!("{}/verify", l.url));
    b.type_into("#envelope", &tampered.to_string());
    b.click("main form button");
    let text = b.wait_for_text("Not valid");
    assert!(text.contains("does not verify"), "{text}");
    shot("verify-tampered");
    b.goto(&format!("{}/verify", l.url));
    b.type_into("#envelope", "this is not an envelope");
    b.click("main form button");
    b.wait_for_text("Not a proof envelope");
    shot("verify-garbage");

    // Sign out: the records are hidden again.
    b.click(".who button");
    b.wait_for_text("Sign in");
    b.goto(&format!("{}/consignments/{UCR}", l.url));
    b.wait_for_text("Sign in to see records");
    for name in ["home", "consignment", "verify-valid", "verify-tampered"] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(png.len() > 1000, "{name}.png is a picture");
    }
}
