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

#[test]
fn phase1_is_exported_to_a_ptau_file_and_imported_from_one() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let a = a.to_str().unwrap();
    run(&["phase1", "new", "--dir", a, "--power", "3"]).unwrap();
    run(&["phase1", "contribute", "--dir", a, "--name", "DE customs"]).unwrap();
    run(&[
        "phase1",
        "beacon",
        "--dir",
        a,
        "--value",
        "0a0b",
        "--iterations-log2",
        "4",
    ])
    .unwrap();
    let out = tmp.path().join("a.ptau");
    let out = out.to_str().unwrap();
    run(&["phase1", "export-ptau", "--dir", a, out]).unwrap();
    let (code, err) = run(&["phase1", "export-ptau", "--dir", a, out]).unwrap_err();
    assert_eq!(code, 2, "never replaced: {err}");

    let b = tmp.path().join("b");
    let b = b.to_str().unwrap();
    run(&["phase1", "import-ptau", "--dir", b, out]).unwrap();
    run(&["phase1", "verify", "--dir", b, "--ptau", out]).unwrap();
    run(&["phase1", "contribute", "--dir", b, "--name", "NL customs"]).unwrap();
    run(&["phase1", "verify", "--dir", b]).unwrap();

    // A truncated file: refused (exit 1) naming the file, nothing written.
    let bytes = std::fs::read(out).unwrap();
    let cut = tmp.path().join("cut.ptau");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let c = tmp.path().join("c");
    let c = c.to_str().unwrap();
    let (code, err) =
        run(&["phase1", "import-ptau", "--dir", c, cut.to_str().unwrap()]).unwrap_err();
    assert_eq!(code, 1, "{err}");
    assert!(format!("{err}").contains("cut.ptau"), "{err}");
    assert!(Ceremony::new(c).chain(Stage::Phase1).unwrap().is_empty());
    // A new phase 1 has no source file to compare.
    let (code, err) = run(&["phase1", "verify", "--dir", a, "--ptau", out]).unwrap_err();
    assert_eq!(code, 2, "a new phase 1 has no source file: {err}");
}

#[test]
fn the_progress_bar_shows_the_share_done_and_the_time_left() {
    use std::time::Duration;
    let frame = ceremony_cli::bar_line("tau powers in G1", 0, 1000, Duration::from_secs(0));
    assert_eq!(
        frame,
        format!("  tau powers in G1 [{}]   0% (0/1000) 0:00", "-".repeat(30))
    );
    let frame = ceremony_cli::bar_line("B in G2", 250, 1000, Duration::from_secs(30));
    assert_eq!(
        frame,
        format!(
            "  B in G2 [{}{}]  25% (250/1000) 0:30, 1:30 left",
            "#".repeat(7),
            "-".repeat(23)
        )
    );
    let frame = ceremony_cli::bar_line("H and L queries", 1000, 1000, Duration::from_secs(3725));
    assert_eq!(
        frame,
        format!(
            "  H and L queries [{}] 100% (1000/1000) 1:02:05",
            "#".repeat(30)
        )
    );
    // A count past the total (never expected) shows as done; no work at all shows as done.
    assert!(ceremony_cli::bar_line("x", 7, 5, Duration::ZERO).contains("100% (5/5)"));
    assert!(ceremony_cli::bar_line("x", 0, 0, Duration::ZERO).contains("100% (0/0)"));
}
