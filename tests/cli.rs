//! The `zkcustoms` binary end to end: setup, example, registry, holder, prove, verify, and the
//! exit codes and messages for bad input.

mod common;

use common::*;
use std::path::Path;

#[test]
fn valid_proofs_verify_with_exit_0() {
    let f = fixture();
    let o = verify(&[&f.path("aeo.proof.json"), &f.path("inv.proof.json")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("VALID"));
    assert!(out.contains("tier AEOS"));
    assert!(out.contains("EUR"));
    // What stayed private is nowhere in the output.
    assert!(!out.contains("DE123456789012345"), "operator id leaked");
    assert!(!out.contains("Static converters"), "invoice line leaked");
}

#[test]
fn envelopes_carry_no_witness_value() {
    let f = fixture();
    let aeo = std::fs::read_to_string(f.path("aeo.proof.json")).unwrap();
    let witness: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path("aeo.witness.json")).unwrap())
            .unwrap();
    for secret in [
        witness["holder_secret"].as_str().unwrap(),
        witness["membership"]["certificate"]["operator_id"]
            .as_str()
            .unwrap(),
        witness["membership"]["certificate"]["holder_commitment"]
            .as_str()
            .unwrap(),
    ] {
        assert!(!aeo.contains(secret));
    }
    let inv = std::fs::read_to_string(f.path("inv.proof.json")).unwrap();
    for secret in [
        "INV-2026-000451",
        "NL000099998888",
        "Static converters",
        "1080000",
    ] {
        assert!(!inv.contains(secret));
    }
}

#[test]
fn a_changed_public_value_exits_1() {
    let path = edit_json("inv.proof.json", "inv.changed.json", |v| {
        v["public"]["declared_value_minor"] = 1843251.into();
    });
    let o = verify(&[&path]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("INVALID: proof does not verify"));
    // A valid file next to it does not hide the failure.
    let f = fixture();
    let o = verify(&[&f.path("aeo.proof.json"), &path]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn malformed_envelopes_exit_2_with_a_clear_line() {
    let f = fixture();
    std::fs::write(f.path("garbage.json"), "{not json").unwrap();
    let cases = [
        f.path("garbage.json"),
        f.path("does-not-exist.json"),
        edit_json("aeo.proof.json", "trunc.json", |v| {
            let p = v["proof"].as_str().unwrap().to_string();
            v["proof"] = p[..100].into();
        }),
        edit_json("aeo.proof.json", "extra.json", |v| {
            v["public"]["x"] = 1.into()
        }),
        edit_json("aeo.proof.json", "missing.json", |v| {
            v["public"].as_object_mut().unwrap().remove("scope");
        }),
        edit_json("aeo.proof.json", "type.json", |v| {
            v["public"]["as_of"] = true.into()
        }),
        edit_json("aeo.proof.json", "unknown.json", |v| {
            v["statement"] = "origin/v1".into()
        }),
        edit_json("aeo.proof.json", "wrongkey.json", |v| {
            v["vk_id"] = "00".repeat(32).into()
        }),
        edit_json("inv.proof.json", "range.json", |v| {
            v["public"]["declared_value_minor"] = serde_json::json!(1e30)
        }),
    ];
    for case in &cases {
        let o = verify(&[case]);
        assert_eq!(o.status.code(), Some(2), "{case}: {}", stdout(&o));
        let line = stdout(&o);
        assert!(line.contains("MALFORMED"), "{line}");
        assert!(!stderr(&o).contains("panicked"));
    }
}

#[test]
fn bad_witnesses_exit_2_naming_the_problem() {
    let f = fixture();
    let keys = f.keys();
    let prove = |statement: &str, witness: &str| {
        run(&["prove", statement, "--keys", &keys, "--witness", witness])
    };
    // A witness that does not satisfy the statement: the failed check is named.
    let w = edit_json("inv.witness.json", "w1.json", |v| {
        v["declared"]["currency"] = "USD".into()
    });
    let o = prove("invoice-value", &w);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("declared currency differs"),
        "{}",
        stderr(&o)
    );
    let w = edit_json("aeo.witness.json", "w2.json", |v| {
        v["as_of"] = "2030-01-01".into()
    });
    let o = prove("aeo-status", &w);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
    // Malformed ones.
    let w = edit_json("aeo.witness.json", "w3.json", |v| {
        v["as_of"] = "2026-13-01".into()
    });
    assert_eq!(prove("aeo-status", &w).status.code(), Some(2));
    let w = edit_json("aeo.witness.json", "w4.json", |v| v["surprise"] = 1.into());
    assert_eq!(prove("aeo-status", &w).status.code(), Some(2));
    let w = edit_json("inv.witness.json", "w5.json", |v| {
        v["invoice"]["lines"][0]["amount_minor"] = (-5).into()
    });
    assert_eq!(prove("invoice-value", &w).status.code(), Some(2));
    // More lines than the size class.
    let w = edit_json("inv.witness.json", "w6.json", |v| {
        let line = v["invoice"]["lines"][0].clone();
        v["invoice"]["lines"] = serde_json::Value::Array(vec![line; 5]);
        v["size_class"] = 4.into();
    });
    let o = prove("invoice-value", &w);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("size class 4 holds at most 4"),
        "{}",
        stderr(&o)
    );
    // A witness for the other statement, an unknown statement.
    assert_eq!(
        prove("invoice-value", &f.path("aeo.witness.json"))
            .status
            .code(),
        Some(2)
    );
    let o = prove("origin", &f.path("aeo.witness.json"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown statement"));
}

#[test]
fn a_swapped_key_file_is_refused() {
    let f = fixture();
    let keys = Path::new(&f.root).join("keys-swapped");
    std::fs::create_dir_all(&keys).unwrap();
    for e in std::fs::read_dir(f.keys()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), keys.join(e.file_name())).unwrap();
    }
    std::fs::copy(
        keys.join("invoice-value-v1-lines4.vk"),
        keys.join("aeo-status-v1.vk"),
    )
    .unwrap();
    let o = run(&[
        "verify",
        "--keys",
        keys.to_str().unwrap(),
        &f.path("aeo.proof.json"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("does not match its id"),
        "{}",
        stderr(&o)
    );
}

/// `registry build --certificates certificates --out out`.
fn registry_build(certificates: &str, out: &str) -> std::process::Output {
    run(&[
        "registry",
        "build",
        "--certificates",
        certificates,
        "--out",
        out,
    ])
}

#[test]
fn registry_and_holder_make_real_witnesses() {
    let f = fixture();
    let secret_file = f.path("holder.secret.json");
    let o = run(&["holder", "new", "--out", &secret_file]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Refuses to overwrite a secret.
    assert_eq!(
        run(&["holder", "new", "--out", &secret_file]).status.code(),
        Some(2)
    );
    let secret: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&secret_file).unwrap()).unwrap();
    let certs = serde_json::json!({
        "authority": "NL-DOUANE",
        "certificates": [
            {"operator_id": "NL000099998888", "tier": "AEOF", "valid_from": "2025-01-01",
             "valid_until": "2028-12-31", "authority": "NL-DOUANE",
             "holder_commitment": secret["holder_commitment"]},
            {"operator_id": "NL000011112222", "tier": "AEOC", "valid_from": "2025-01-01",
             "valid_until": "2028-12-31", "authority": "NL-DOUANE",
             "holder_commitment": "00".repeat(31) + "07"}
        ]
    });
    std::fs::write(f.path("certs.json"), certs.to_string()).unwrap();
    let out = f.path("registry");
    let o = registry_build(&f.path("certs.json"), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    // Each member's witness is for the owner's eyes only; the root is published.
    let mode = |p: &str| {
        use std::os::unix::fs::PermissionsExt;
        let path = Path::new(&out).join(p);
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode("members") & 0o077, 0);
    assert_eq!(mode("members/NL000099998888.json") & 0o077, 0);
    assert_eq!(mode("root.json") & 0o044, 0o044);
    let membership: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&out).join("members/NL000099998888.json")).unwrap(),
    )
    .unwrap();
    let witness = serde_json::json!({
        "statement": "aeo-status/v1",
        "as_of": "2026-11-25",
        "required_tier": "AEOS",
        "scope": "partner-admin:session-42",
        "holder_secret": secret["holder_secret"],
        "authority": "NL-DOUANE",
        "membership": membership,
    });
    std::fs::write(f.path("nl.witness.json"), witness.to_string()).unwrap();
    let o = prove_and_verify(
        "aeo-status",
        &f.path("nl.witness.json"),
        &f.path("nl.proof.json"),
    );
    assert!(stdout(&o).contains("NL-DOUANE"));
    // Two operators whose ids map to one membership file name: refused, nothing written.
    let mut clash = certs.clone();
    clash["certificates"][0]["operator_id"] = "NL.0001".into();
    clash["certificates"][1]["operator_id"] = "nl_0001".into();
    std::fs::write(f.path("clash-certs.json"), clash.to_string()).unwrap();
    let clash_out = f.path("clash-registry");
    let o = registry_build(&f.path("clash-certs.json"), &clash_out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("share the membership file"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new(&clash_out).exists());
    // A bad certificate list: the registry built before is left as it was.
    std::fs::write(f.path("bad-certs.json"), "{\"authority\": \"X\"}").unwrap();
    let o = registry_build(&f.path("bad-certs.json"), &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(Path::new(&out).join("members/NL000011112222.json").exists());
    // Rebuilt without the second operator (what a crash left beside it in the way), the
    // registry is the new one whole: the dropped operator's witness is gone with the old root.
    let mut fewer = certs.clone();
    fewer["certificates"].as_array_mut().unwrap().truncate(1);
    std::fs::write(f.path("fewer-certs.json"), fewer.to_string()).unwrap();
    std::fs::create_dir_all(format!("{out}.partial/members")).unwrap();
    std::fs::write(format!("{out}.partial/members/STALE.json"), "{}").unwrap();
    let o = registry_build(&f.path("fewer-certs.json"), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut left: Vec<String> = std::fs::read_dir(Path::new(&out).join("members"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["NL000099998888.json"]);
    let root: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&out).join("root.json")).unwrap())
            .unwrap();
    assert_eq!(root["certificates"], 1);
    assert!(!Path::new(&format!("{out}.partial")).exists());
    assert!(!Path::new(&format!("{out}.old")).exists());
    // A directory holding anything else is not a registry's: refused, and kept as it is.
    std::fs::write(Path::new(&out).join("notes.txt"), "mine").unwrap();
    let o = registry_build(&f.path("fewer-certs.json"), &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert!(Path::new(&out).join("notes.txt").exists());
    assert!(Path::new(&out).join("root.json").exists());
}

#[test]
fn examples_hold_on_the_day_they_are_stated_on() {
    // Well after the fixed example certificates expire (2027-02-28): the example moves with the day.
    let f = fixture();
    let day = "2031-07-15";
    let o = run(&["example", "aeo-status", "--as-of", day]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(w["as_of"], day);
    std::fs::write(f.path("later.witness.json"), &o.stdout).unwrap();
    let o = run(&["example", "certificates", "--as-of", day]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(f.path("later-certificates.json"), &o.stdout).unwrap();
    let out = f.path("later-registry");
    let o = registry_build(&f.path("later-certificates.json"), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let root: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&out).join("root.json")).unwrap())
            .unwrap();
    assert_eq!(
        root["registry_root"], w["membership"]["registry_root"],
        "the witness proves membership in the registry of the same day"
    );
    prove_and_verify(
        "aeo-status",
        &f.path("later.witness.json"),
        &f.path("later.proof.json"),
    );
    // Without --as-of the example is stated on today (UTC: the day before or after the command,
    // should it run over midnight), and proves.
    let utc_today = || {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        zkcustoms_circuits::date::Day::from_days(u32::try_from(secs / 86_400).unwrap())
            .unwrap()
            .to_string()
    };
    let before = utc_today();
    let o = run(&["example", "aeo-status"]);
    let after = utc_today();
    assert!(o.status.success(), "{}", stderr(&o));
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let today = w["as_of"].as_str().unwrap().to_string();
    assert!(today == before || today == after, "{today}: not {before}");
    std::fs::write(f.path("today.witness.json"), &o.stdout).unwrap();
    prove_and_verify(
        "aeo-status",
        &f.path("today.witness.json"),
        &f.path("today.proof.json"),
    );
    // An impossible day, or one too close to the end of the calendar for the example's dates, is
    // refused, naming the option or the problem.
    let o = run(&["example", "certificates", "--as-of", "2031-02-30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--as-of"), "{}", stderr(&o));
    for what in ["certificates", "aeo-status"] {
        let o = run(&["example", what, "--as-of", "9999-12-31"]);
        assert_eq!(o.status.code(), Some(2), "{what}");
        assert!(
            stderr(&o).contains("outside the calendar"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn setup_without_dev_is_refused() {
    let f = fixture();
    let o = run(&["setup", "--out", &f.path("nope")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--dev"));
}

#[test]
fn many_files_are_verified_together_and_each_is_reported() {
    let f = fixture();
    let changed = edit_json("aeo.proof.json", "aeo.changed.json", |v| {
        v["public"]["as_of"] = "2026-11-26".into();
    });
    let (aeo, inv) = (f.path("aeo.proof.json"), f.path("inv.proof.json"));
    for backend in ["blst", "arkworks"] {
        let keys = f.keys();
        let o = run(&[
            "verify",
            "--backend",
            backend,
            "--keys",
            &keys,
            &aeo,
            &inv,
            &changed,
            &aeo,
            &inv,
        ]);
        assert_eq!(o.status.code(), Some(1), "{backend}: {}", stdout(&o));
        let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 5);
        for (i, line) in lines.iter().enumerate() {
            let expected = if i == 2 { "INVALID" } else { "VALID" };
            assert!(line.contains(&format!(": {expected}")), "{backend}: {line}");
        }
        assert!(stderr(&o).contains("1 of 5 envelopes did not verify"));
    }
    let o = run(&["verify", "--backend", "fast", "--keys", &f.keys(), &aeo]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn declaration_match_bad_declarations_exit_2_naming_the_problem() {
    // The native check runs before any key is loaded: no key directory is needed.
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let o = run(&["example", "declaration-match"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(w["statement"], "declaration-match/v1");
    assert_eq!(
        w["declared"]["items"],
        serde_json::json!([
            {"hs_code": "850440", "value_minor": 1_600_000},
            {"hs_code": "854442", "value_minor": 243_250}
        ]),
        "two invoice lines share heading 850440"
    );
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "dm1.json",
            |v| v["declared"]["items"][0]["value_minor"] = 1_080_000.into(),
            "item 850440: value differs",
        ),
        (
            "dm2.json",
            |v| v["declared"]["items"][1]["hs_code"] = "85444".into(),
            "heading must be six digits",
        ),
        (
            "dm3.json",
            |v| {
                let item = serde_json::json!({"hs_code": "010121", "value_minor": 1});
                let items = v["declared"]["items"].as_array_mut().unwrap();
                for h in ["940360", "847130", "010121"] {
                    let mut i = item.clone();
                    i["hs_code"] = h.into();
                    items.push(i);
                }
            },
            "size class 4 holds at most 4",
        ),
        (
            "dm4.json",
            |v| v["declared"]["items"][1]["hs_code"] = "850440".into(),
            "declared in more than one item",
        ),
        (
            "dm5.json",
            |v| v["declared"]["items"] = serde_json::json!([]),
            "no items",
        ),
    ];
    let keys = path("no-keys");
    for (name, edit, expected) in cases {
        let mut changed = w.clone();
        edit(&mut changed);
        let w = path(name);
        std::fs::write(&w, changed.to_string()).unwrap();
        let o = run(&[
            "prove",
            "declaration-match",
            "--keys",
            &keys,
            "--witness",
            &w,
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(stderr(&o).contains(expected), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("Static converters"), "{name}");
    }
}

#[test]
fn declaration_match_proves_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let keys = path("keys");
    let o = run(&[
        "setup",
        "--dev",
        "--out",
        &keys,
        "--circuit",
        "declaration-match/v1:4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let witness = path("dm.witness.json");
    std::fs::write(&witness, run(&["example", "declaration-match"]).stdout).unwrap();
    let proof = path("dm.proof.json");
    let o = run(&[
        "prove",
        "declaration-match",
        "--keys",
        &keys,
        "--witness",
        &witness,
        "--out",
        &proof,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&proof).unwrap();
    for secret in ["INV-2026-000451", "Static converters", "1080000"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let o = run(&["verify", "--keys", &keys, &proof]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("850440 16000.00"), "{}", stdout(&o));
    // snarkjs export: 4 fixed inputs and a (heading, value) pair per slot of the 4-line class.
    let export = path("snarkjs");
    let o = run(&[
        "export", "snarkjs", "--keys", &keys, &proof, "--out", &export,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let public: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&export).join("public.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(public.len(), 12);
    assert_eq!(public[3], "2", "item count");
    assert_eq!(public[8..], ["0", "0", "0", "0"], "padding");
    // A value moved between headings: the proof no longer verifies.
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["public"]["items"][0]["value_minor"] = 1_500_000.into();
    v["public"]["items"][1]["value_minor"] = 343_250.into();
    let changed = path("dm.changed.json");
    std::fs::write(&changed, v.to_string()).unwrap();
    let o = run(&["verify", "--keys", &keys, &changed]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn rates_that_are_not_positive_numbers_exit_2() {
    // Checked while the arguments are parsed: nothing is opened or bound.
    let cases: [&[&str]; 4] = [
        &["node", "--genesis", "genesis.json", "--client-rate", "0"],
        &["node", "--genesis", "genesis.json", "--anonymous-rate=-5"],
        &["serve", "prover", "--token", "t", "--client-rate", "NaN"],
        &[
            "serve",
            "prover",
            "--token",
            "t",
            "--anonymous-rate",
            "fast",
        ],
    ];
    for args in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("requests a second"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn party_keys_and_ledger_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    // `party new` writes a key readable by its owner only and prints its public key.
    let key = path("trader.key");
    let public = party_new(&key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is readable by others");
    }
    let o = run(&["party", "public-key", "--key", &key]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), public);
    assert_ne!(party_new(&path("other.key")), public, "each key is new");
    // An existing key file is never replaced.
    let before = std::fs::read(&key).unwrap();
    let o = run(&["party", "new", "--out", &key]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&key).unwrap(), before);
    let o = run(&["party", "public-key", "--key", &path("missing.key")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // `prove --for-ucr`: an aeo-status proof in the ledger's scope for the UCR.
    let f = fixture();
    let genesis_dir = path("genesis");
    let o = run(&[
        "genesis",
        "--dev",
        "--out",
        &genesis_dir,
        "--keys",
        &f.keys(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let genesis = format!("{genesis_dir}/genesis.json");
    let chain = zkcustoms_ledger_types::genesis::Genesis::load(Path::new(&genesis))
        .unwrap()
        .chain_id;
    let witness = f.path("aeo.witness.json");
    let mut scopes = Vec::new();
    for ucr in ["26DE-HAM-000042", "26DE-HAM-000043"] {
        let out = path(&format!("{ucr}.proof.json"));
        prove_aeo_for(&f.keys(), &witness, ucr, &genesis, &out);
        let o = verify(&[&out]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let scope = v["public"]["scope"].as_str().unwrap().to_owned();
        let ucr = zkcustoms_ledger_types::tx::Ucr::parse(ucr).unwrap();
        assert_eq!(
            scope,
            zkcustoms_ledger_types::tx::ledger_scope(&chain, &ucr)
        );
        scopes.push(scope);
    }
    assert_ne!(scopes[0], scopes[1], "one scope per consignment");
    // Bad input to `prove`: exit 2, the message names the problem (when given), no proof.
    let out = path("x.proof.json");
    let keys = f.keys();
    let refused = |statement: &str, witness: &str, extra: &[&str], names: Option<&str>| {
        let mut args = vec!["prove", statement, "--keys", &keys, "--witness", witness];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", &out]);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        if let Some(names) = names {
            assert!(stderr(&o).contains(names), "{}", stderr(&o));
        }
        assert!(
            !Path::new(&out).exists(),
            "no proof is written on bad input"
        );
    };
    // A ledger's scope handed over as an off-ledger challenge is refused: proving it would give
    // the consignment's owner a proof of someone else's certificate to file as its own.
    let mut lent: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&witness).unwrap()).unwrap();
    lent["scope"] = scopes[0].clone().into();
    let lent_witness = path("lent.witness.json");
    std::fs::write(&lent_witness, lent.to_string()).unwrap();
    refused("aeo-status", &lent_witness, &[], Some("ledger's scope"));
    // `--for-ucr` needs the genesis, and applies to aeo-status only.
    refused(
        "aeo-status",
        &witness,
        &["--for-ucr", "26DE-HAM-000042"],
        Some("--genesis"),
    );
    let invoice = f.path("inv.witness.json");
    refused(
        "invoice-value",
        &invoice,
        &["--for-ucr", "26DE-HAM-000042", "--genesis", &genesis],
        Some("aeo-status"),
    );
    refused(
        "aeo-status",
        &witness,
        &["--for-ucr", "lower-case", "--genesis", &genesis],
        None,
    );
}
