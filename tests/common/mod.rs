//! Shared helpers for the tests that drive the `zkcustoms` binary: running it, reading its
//! output, and a fixture with development keys and one proof of each statement.
#![allow(dead_code)] // each test binary uses its own subset

pub mod node;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zkcustoms"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Panics unless process `pid` catches SIGINT and SIGTERM (a graceful shutdown instead of the
/// signals' default action, which ends the process at once), as the kernel reports it: `SigCgt`
/// in `/proc/PID/status`, bit `n - 1` for signal `n`.
pub fn assert_catches_shutdown_signals(pid: u32) {
    const SIGINT: u32 = 2;
    const SIGTERM: u32 = 15;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .expect("a SigCgt line");
    let mask = u64::from_str_radix(mask.trim(), 16).expect("a hexadecimal mask");
    assert!(
        [SIGINT, SIGTERM].iter().all(|n| mask & (1 << (n - 1)) != 0),
        "process {pid} does not catch SIGINT and SIGTERM: SigCgt {mask:x}"
    );
}

pub struct Fixture {
    _dir: tempfile::TempDir,
    /// The fixture's directory.
    pub root: PathBuf,
}

impl Fixture {
    pub fn keys(&self) -> String {
        self.root.join("keys").display().to_string()
    }
    pub fn path(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }
}

/// The day the examples of the suite are stated on, so that no test depends on the date it runs.
pub const EXAMPLE_DAY: &str = "2026-11-25";

/// Development keys for aeo-status and the 4-line invoice class, and one proof of each.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let f = Fixture { _dir: dir, root };
        let o = run(&[
            "setup",
            "--dev",
            "--out",
            &f.keys(),
            "--circuit",
            "aeo-status/v1",
            "--circuit",
            "invoice-value/v1:4",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("DEVELOPMENT KEYS"));
        assert!(stderr(&o).contains("[2/2]"), "progress is shown");
        for (statement, name) in [("aeo-status", "aeo"), ("invoice-value", "inv")] {
            let o = run(&["example", statement, "--as-of", EXAMPLE_DAY]);
            assert!(o.status.success());
            std::fs::write(f.path(&format!("{name}.witness.json")), &o.stdout).unwrap();
            prove_with(
                &f.keys(),
                statement,
                &f.path(&format!("{name}.witness.json")),
                &f.path(&format!("{name}.proof.json")),
            );
        }
        f
    })
}

/// Proves `statement` from a witness file into `out` with the keys in `keys`; panics on failure.
pub fn prove_with(keys: &str, statement: &str, witness: &str, out: &str) {
    let o = run(&[
        "prove",
        statement,
        "--keys",
        keys,
        "--witness",
        witness,
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Proves an aeo-status witness file for filing under `ucr` on the ledger of `genesis` (`prove
/// --for-ucr`: the witness's scope is replaced by that ledger's scope for the UCR, the only one
/// the ledger accepts there) into `out`; panics on failure.
pub fn prove_aeo_for(keys: &str, witness: &str, ucr: &str, genesis: &str, out: &str) {
    let o = run(&[
        "prove",
        "aeo-status",
        "--keys",
        keys,
        "--witness",
        witness,
        "--for-ucr",
        ucr,
        "--genesis",
        genesis,
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The trader of the suite's consignments: the example certificate's operator, registered on each
/// ledger by [`OFFICE`]; its EORI number names it in every write it signs.
pub const EORI: &str = "DE123456789012345";
/// The customs office of the development genesis (administration `DE`), which registers traders.
pub const OFFICE: &str = "DE-HAMBURG-HAFEN";
/// The auditor of the development genesis.
pub const AUDITOR: &str = "AUDIT-EU-1";

/// `party new --out out`: a fresh trader key file; answers its public key (hex).
pub fn party_new(out: &str) -> String {
    let o = run(&["party", "new", "--out", out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let public = stdout(&o).trim().to_owned();
    assert_eq!(public.len(), 64, "one line of hex: {public:?}");
    public
}

/// `party register`: [`OFFICE`] registers `eori` with `public_key` at the node `url`, signed
/// with the office's key and sent with the customs token, both from the genesis directory `dir`
/// (as `genesis --dev` and `cluster init` write them).
pub fn party_register(url: &str, dir: &Path, eori: &str, public_key: &str) -> Output {
    let file = |name: &str| dir.join(name).display().to_string();
    run(&[
        "party",
        "register",
        "--node",
        url,
        "--token-file",
        &file("customs.token"),
        "--office",
        OFFICE,
        "--key",
        &file(&format!("customs-{OFFICE}.key")),
        "--trader",
        eori,
        "--public-key",
        public_key,
        "--genesis",
        &file("genesis.json"),
    ])
}

/// A trader's key made with `party new` in the genesis directory `dir` (`trader-EORI.key`) and
/// registered by [`OFFICE`] at the node `url`; answers the key file.
pub fn register_trader_at(url: &str, dir: &Path, eori: &str) -> String {
    let key = dir.join(format!("trader-{eori}.key")).display().to_string();
    let public = party_new(&key);
    let o = party_register(url, dir, eori, &public);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "included", "{v}");
    key
}

/// [`prove_with`] the fixture's keys.
pub fn prove(statement: &str, witness: &str, out: &str) {
    prove_with(&fixture().keys(), statement, witness, out);
}

/// [`prove`], then [`verify`] the proof, which must verify (exit 0); answers the verification.
pub fn prove_and_verify(statement: &str, witness: &str, out: &str) -> Output {
    prove(statement, witness, out);
    let o = verify(&[out]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    o
}

pub fn verify(files: &[&str]) -> Output {
    let f = fixture();
    let keys = f.keys();
    let mut args = vec!["verify", "--keys", &keys];
    args.extend_from_slice(files);
    run(&args)
}

pub fn edit_json(from: &str, to: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let f = fixture();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path(from)).unwrap()).unwrap();
    edit(&mut v);
    let path = f.path(to);
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

/// Builds the example certificates' registry under `name` in the fixture directory and answers
/// the path of its `root.json` (what `submit root --registry` takes).
pub fn registry_root(name: &str) -> String {
    let f = fixture();
    let certs = f.path(&format!("{name}-certificates.json"));
    let o = run(&["example", "certificates", "--as-of", EXAMPLE_DAY]);
    std::fs::write(&certs, &o.stdout).unwrap();
    let out = f.path(&format!("{name}-registry"));
    let o = run(&["registry", "build", "--certificates", &certs, "--out", &out]);
    assert!(o.status.success(), "{}", stderr(&o));
    format!("{out}/root.json")
}
