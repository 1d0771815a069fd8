//! Interoperability with snarkjs: proofs exported with `zkcustoms export snarkjs` verify with
//! snarkjs itself (the version pinned in `tools/snarkjs`, installed by `make snarkjs`), stop
//! verifying when a public input changes, and a proof that does not verify is never exported.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The pinned snarkjs; a missing install fails the test with what to run.
fn snarkjs() -> Command {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/snarkjs/node_modules/.bin/snarkjs");
    assert!(
        path.is_file(),
        "snarkjs is not installed ({} is missing): run `make snarkjs`",
        path.display()
    );
    Command::new(path)
}

/// Runs `snarkjs groth16 verify` on the three files of a directory.
fn snarkjs_verify(dir: &Path) -> Output {
    let o = snarkjs()
        .args([
            "groth16",
            "verify",
            "verification_key.json",
            "public.json",
            "proof.json",
        ])
        .current_dir(dir)
        .output()
        .expect("snarkjs runs");
    assert!(
        o.status.code() != Some(127),
        "snarkjs could not start (is Node.js installed? run `make snarkjs`): {}",
        stderr(&o)
    );
    o
}

/// Text without the ANSI colour sequences snarkjs writes even when not on a terminal.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // `ESC [ parameters letter`
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn export(envelope: &str, out: &str) -> Output {
    let f = fixture();
    run(&[
        "export",
        "snarkjs",
        "--keys",
        &f.keys(),
        envelope,
        "--out",
        out,
    ])
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Adds one to a decimal number written as a string.
fn increment(decimal: &str) -> String {
    let mut digits: Vec<u8> = decimal.bytes().rev().map(|b| b - b'0').collect();
    let mut i = 0;
    loop {
        if i == digits.len() {
            digits.push(1);
            break;
        }
        if digits[i] == 9 {
            digits[i] = 0;
            i += 1;
        } else {
            digits[i] += 1;
            break;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// Exports an envelope, checks the files snarkjs reads, and has snarkjs verify them: it accepts
/// them, and rejects them once one public input is changed.
fn snarkjs_accepts_the_export_and_rejects_a_changed_input(name: &str) {
    // Fail at once, before the slow fixture, when snarkjs is missing.
    snarkjs();
    let f = fixture();
    let out = f.path(&format!("{name}.snarkjs"));
    let o = export(&f.path(&format!("{name}.proof.json")), &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("VALID"), "{}", stdout(&o));
    let out = PathBuf::from(out);
    let vk = read_json(&out.join("verification_key.json"));
    let public = read_json(&out.join("public.json"));
    let inputs = public.as_array().unwrap();
    assert_eq!(vk["curve"], "bls12381");
    assert_eq!(vk["nPublic"], inputs.len());
    assert_eq!(vk["IC"].as_array().unwrap().len(), inputs.len() + 1);

    let o = snarkjs_verify(&out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "snarkjs rejected the export of {name}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(plain(&stdout(&o)).trim(), "[INFO]  snarkJS: OK!");

    // The same files with one public input changed: the smallest, so it stays in the field.
    let changed = out.with_extension("changed");
    std::fs::create_dir_all(&changed).unwrap();
    for file in ["verification_key.json", "proof.json"] {
        std::fs::copy(out.join(file), changed.join(file)).unwrap();
    }
    let (index, smallest) = inputs
        .iter()
        .map(|v| v.as_str().unwrap())
        .enumerate()
        .min_by_key(|(_, s)| s.len())
        .unwrap();
    let mut public = public.clone();
    public[index] = increment(smallest).into();
    std::fs::write(changed.join("public.json"), public.to_string()).unwrap();
    let o = snarkjs_verify(&changed);
    assert_eq!(
        o.status.code(),
        Some(1),
        "snarkjs accepted a changed public input of {name}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(plain(&stdout(&o)).trim(), "[ERROR] snarkJS: Invalid proof");
}

#[test]
fn snarkjs_verifies_an_exported_aeo_status_proof() {
    snarkjs_accepts_the_export_and_rejects_a_changed_input("aeo");
}

#[test]
fn snarkjs_verifies_an_exported_invoice_value_proof() {
    snarkjs_accepts_the_export_and_rejects_a_changed_input("inv");
}

#[test]
fn a_proof_that_does_not_verify_is_not_exported() {
    let f = fixture();
    let mut envelope = read_json(Path::new(&f.path("inv.proof.json")));
    envelope["public"]["declared_value_minor"] = 1_843_251.into();
    let tampered = f.path("inv.tampered.json");
    std::fs::write(&tampered, envelope.to_string()).unwrap();
    let out = f.path("tampered.snarkjs");
    let o = export(&tampered, &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("proof does not verify"),
        "{}",
        stderr(&o)
    );
    assert!(
        !Path::new(&out).exists(),
        "files were written for a false proof"
    );
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let f = fixture();
    std::fs::write(f.path("garbage.json"), "{not json").unwrap();
    let mut envelope = read_json(Path::new(&f.path("aeo.proof.json")));
    envelope["vk_id"] = "00".repeat(32).into();
    std::fs::write(f.path("wrongkey.json"), envelope.to_string()).unwrap();
    for (i, case) in ["garbage.json", "does-not-exist.json", "wrongkey.json"]
        .iter()
        .enumerate()
    {
        let out = f.path(&format!("bad{i}.snarkjs"));
        let o = export(&f.path(case), &out);
        assert_eq!(o.status.code(), Some(2), "{case}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!Path::new(&out).exists(), "{case}: files were written");
    }
}
