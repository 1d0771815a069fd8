//! A development ledger and a real `zkcustoms node` process over it (one validator, real
//! finalization certificates), for the end-to-end tests.

use super::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use zkcustoms_ledger_client::Client;

/// A port for a node to listen on, below the kernel's ephemeral range (32768 and up on Linux):
/// a port from the ephemeral range can be taken by any outgoing connection (this process opens
/// thousands) between the moment it is found free and the moment the node binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Processes start at different offsets in 20000..32000.
    let offset = (std::process::id() % 500) * 24;
    loop {
        let port = 20_000 + (offset + NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000;
        let port = u16::try_from(port).expect("below 32000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A development ledger (genesis, keys, tokens) and a node process over it.
pub struct Ledger {
    _dir: tempfile::TempDir,
    /// The genesis directory (genesis, node configuration, keys, tokens, node log).
    pub dir: PathBuf,
    /// The node's data directory.
    pub data: PathBuf,
    /// The node's API address.
    pub url: String,
    port: u16,
    child: Option<Child>,
}

// Starting a process is not a default value.
#[allow(clippy::new_without_default)]
impl Ledger {
    /// A development ledger whose node is running.
    pub fn new() -> Self {
        let mut l = Self::prepare(true);
        l.start();
        l
    }

    /// A development genesis, no node yet; `any_day` accepts aeo-status proofs for any day (the
    /// fixture's proofs are for a fixed day).
    pub fn prepare(any_day: bool) -> Self {
        Self::prepare_with_keys(&fixture().keys(), any_day)
    }

    /// [`Ledger::prepare`] with the verifying keys of another key directory pinned.
    pub fn prepare_with_keys(keys: &str, any_day: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let gen = dir.path().join("genesis");
        let p2p = free_port().to_string();
        let mut args = vec![
            "genesis",
            "--dev",
            "--out",
            gen.to_str().unwrap(),
            "--keys",
            keys,
            "--p2p-port",
            &p2p,
        ];
        if any_day {
            args.push("--any-as-of-day");
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("DEVELOPMENT GENESIS"));
        let port = free_port();
        Ledger {
            dir: gen,
            data: dir.path().join("data"),
            url: format!("http://127.0.0.1:{port}"),
            port,
            child: None,
            _dir: dir,
        }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub fn token(&self, role: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{role}.token"))).unwrap()
    }

    pub fn client(&self, role: &str) -> Client {
        Client::new(&self.url, &self.token(role))
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .unwrap();
        let child = bin()
            .args([
                "node",
                "--genesis",
                &self.path("genesis.json"),
                "--data-dir",
                self.data.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let client = self.client("auditor");
        let start = Instant::now();
        loop {
            if client.status().is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node exited with {status}: {}", self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "node did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs the node of this ledger's genesis on `data` (its own data directory or another)
    /// until it exits, on a free port: for a node that must refuse to start.
    pub fn run_node_on(&self, data: &Path) -> std::process::Output {
        bin()
            .args([
                "node",
                "--genesis",
                &self.path("genesis.json"),
                "--data-dir",
                data.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .output()
            .unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// The running node's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the node runs").id()
    }

    /// SIGKILL: no chance to flush or shut down.
    pub fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM: graceful shutdown; the node must exit 0.
    pub fn stop(&mut self) {
        let mut child = self.child.take().unwrap();
        let o = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .output()
            .unwrap();
        assert!(o.status.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "node exit {status}: {}", self.log());
    }

    /// The key file of trader `eori` (written by [`Ledger::register_trader`]).
    pub fn trader_key(&self, eori: &str) -> String {
        self.path(&format!("trader-{eori}.key"))
    }

    /// Makes a key for trader `eori` with `party new` and has [`OFFICE`] register it with
    /// `party register` (customs token, office key); answers the key file.
    pub fn register_trader(&self, eori: &str) -> String {
        register_trader_at(&self.url, &self.dir, eori)
    }

    /// The chain id (the genesis hash), from the genesis file.
    pub fn chain_id(&self) -> zkcustoms_ledger_types::tx::Hash {
        zkcustoms_ledger_types::genesis::Genesis::load(&self.dir.join("genesis.json"))
            .unwrap()
            .chain_id
    }

    /// Runs a trader-signed client subcommand (`submit anchor ...`, `submit proof ...`) with the
    /// trader token, signed as `eori` with the key file `key`.
    pub fn signed(&self, eori: &str, key: &str, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--trader", eori, "--key", key]);
        self.cli("trader", &all)
    }

    /// [`Ledger::signed`] by trader `eori` with its registered key file.
    pub fn as_trader(&self, eori: &str, args: &[&str]) -> std::process::Output {
        self.signed(eori, &self.trader_key(eori), args)
    }

    /// Runs an office command (`party register|rotate|revoke ...`) as [`OFFICE`] with its key
    /// and the customs token.
    pub fn as_office(&self, args: &[&str]) -> std::process::Output {
        let key = self.path(&format!("customs-{OFFICE}.key"));
        let mut all = args.to_vec();
        all.extend(["--office", OFFICE, "--key", &key]);
        self.cli("customs", &all)
    }

    /// Runs a client subcommand as a party of the ledger that signs each request with its own
    /// key (RFC 9421: `--party`, `--party-key`), with no token (transactions signed for this
    /// ledger's genesis).
    pub fn as_party(&self, party: &str, key: &str, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--node", &self.url, "--party", party, "--party-key", key]);
        self.signing().args(&all).output().unwrap()
    }

    /// The id and key file of this ledger's party of a kind: `trader` ([`EORI`], once
    /// registered with [`Ledger::register_trader`]), `customs` ([`OFFICE`]) or `auditor`
    /// ([`AUDITOR`]).
    pub fn party(&self, kind: &str) -> (&'static str, String) {
        match kind {
            "trader" => (EORI, self.trader_key(EORI)),
            "customs" => (OFFICE, self.path(&format!("customs-{OFFICE}.key"))),
            "auditor" => (AUDITOR, self.path(&format!("auditor-{AUDITOR}.key"))),
            other => panic!("no party of kind {other}"),
        }
    }

    /// The fixture's aeo-status witness proved for filing under `ucr` on this ledger (`prove
    /// --for-ucr`), written to the genesis directory; answers the proof file.
    pub fn aeo_proof(&self, ucr: &str) -> String {
        let out = self.path(&format!("aeo-{ucr}.proof.json"));
        let f = fixture();
        prove_aeo_for(
            &f.keys(),
            &f.path("aeo.witness.json"),
            ucr,
            &self.path("genesis.json"),
            &out,
        );
        out
    }

    /// Runs a client subcommand (`submit ...`, `query ...`) with a role's token, signing for this
    /// ledger's genesis (`ZKCUSTOMS_GENESIS`).
    pub fn cli(&self, role: &str, args: &[&str]) -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--node".into(),
            self.url.clone(),
            "--token-file".into(),
            self.path(&format!("{role}.token")),
        ]);
        self.signing().args(&all).output().unwrap()
    }

    /// The CLI, signing any transaction for this ledger's genesis (`ZKCUSTOMS_GENESIS`).
    fn signing(&self) -> std::process::Command {
        let mut cmd = bin();
        cmd.env("ZKCUSTOMS_GENESIS", self.dir.join("genesis.json"));
        cmd
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
