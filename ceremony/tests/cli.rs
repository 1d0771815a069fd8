//! The `zkcustoms ceremony` commands (`src/ceremony_cli.rs` of the binary), driven through their
//! argument parser on a small phase 1. The module is compiled into this test directly: the
//! binary itself needs the whole workspace (RocksDB included), the commands only this crate.

#[path = "../../src/ceremony_cli.rs"]
mod ceremony_cli;

use clap::Parser;
use zkcustoms_ceremony::{Ceremony, Stage};
use zkcustoms_circuits::CircuitId;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: ceremony_cli::CeremonyCommand,
}

fn run(args: &[&str]) -> Result<(), (u8, anyhow::Error)> {
    let cli = Cli::try_parse_from(std::iter::once("ceremony").chain(args.iter().copied()))
        .expect("arguments parse");
    ceremony_cli::run(cli.command)
}

#[test]
fn the_phase1_commands_run_verify_and_refuse_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    run(&["phase1", "new", "--dir", dir, "--power", "3"]).unwrap();
    let (code, err) = run(&["phase1", "new", "--dir", dir, "--power", "3"]).unwrap_err();
    assert_eq!(code, 2, "{err}");
    for name in ["DE customs", "NL customs"] {
        run(&[
            "phase1",
            "contribute",
            "--dir",
            dir,
            "--name",
            name,
            "--entropy",
            "dice: 3 5 1",
        ])
        .unwrap();
    }
    run(&["phase1", "verify", "--dir", dir]).unwrap();
    let (code, err) = run(&["phase1", "prepare", "--dir", dir]).unwrap_err();
    assert_eq!(code, 2, "no beacon yet: {err}");
    run(&[
        "phase1",
        "beacon",
        "--dir",
        dir,
        "--value",
        "00ff10",
        "--iterations-log2",
        "4",
    ])
    .unwrap();
    run(&["phase1", "prepare", "--dir", dir]).unwrap();
    let c = Ceremony::new(dir);
    assert_eq!(c.chain(Stage::Phase1).unwrap().len(), 4);
    assert!(c.prepared_path(3).exists());

    // A corrupted file: verification refuses it with exit code 1.
    let path = c.chain(Stage::Phase1).unwrap()[1].clone();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let (code, err) = run(&["phase1", "verify", "--dir", dir]).unwrap_err();
    assert_eq!(code, 1, "{err}");
    assert!(format!("{err}").contains("phase 1 step 1"), "{err}");

    // Installing keys from a ceremony without phase 2 says what is missing.
    let out = tmp.path().join("keys");
    let (code, err) =
        ceremony_cli::setup_from_ceremony(tmp.path(), &out, &[CircuitId::AeoStatusV1]).unwrap_err();
    assert_eq!(code, 2);
    let text = format!("{err}");
    assert!(text.contains("no finalized keys"), "{text}");
    assert!(
        text.contains("aeo-status/v1: phase 2 not started"),
        "{text}"
    );
}
