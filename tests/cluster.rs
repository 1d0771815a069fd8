//! Four `zkcustoms node` processes on loopback ports, made by `cluster init`: a transaction
//! submitted to one validator is finalized and read back from another; a validator killed with
//! SIGKILL misses blocks, restarts on its data directory and catches up.

mod common;

use common::*;
use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use zkcustoms_ledger_client::Client;

const N: usize = 4;
const UCR: &str = "26DE-HAM-000042";

/// The first of `n` consecutive free ports below the ephemeral range that do not overlap the
/// `n` ports from `avoid` (ports found free stay free until a node binds them, so without it a
/// second search finds the first range again).
fn free_ports(n: u16, avoid: Option<u16>) -> u16 {
    let offset = (std::process::id() % 400) * 29;
    for i in 0..400u32 {
        let base = 20_000 + (offset + i * 7) % 12_000;
        let base = u16::try_from(base).expect("below 32000");
        if avoid.is_some_and(|a| a.abs_diff(base) < n) {
            continue;
        }
        if (0..n).all(|k| TcpListener::bind(("127.0.0.1", base + k)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

struct Cluster {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    api_port: u16,
    children: Vec<Option<Child>>,
}

impl Cluster {
    fn init() -> Self {
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cluster");
        let p2p = free_ports(N as u16, None);
        let api = free_ports(N as u16, Some(p2p));
        let o = run(&[
            "cluster",
            "init",
            "--validators",
            &N.to_string(),
            "--out",
            out.to_str().unwrap(),
            "--keys",
            &f.keys(),
            "--p2p-port",
            &p2p.to_string(),
            "--api-port",
            &api.to_string(),
            "--any-as-of-day",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("DEVELOPMENT CLUSTER"));
        assert!(
            stdout(&o).contains("up to 1 of them faulty"),
            "{}",
            stdout(&o)
        );
        for i in 0..N {
            assert!(out.join(format!("node-{i}.json")).exists());
        }
        Cluster {
            _dir: dir,
            dir: out,
            api_port: api,
            children: (0..N).map(|_| None).collect(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.api_port as usize + i)
    }

    fn client(&self, i: usize, role: &str) -> Client {
        let token = std::fs::read_to_string(self.dir.join(format!("{role}.token"))).unwrap();
        Client::new(&self.url(i), &token)
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("node-{i}.log"))).unwrap_or_default()
    }

    /// Starts node `i` from its configuration alone (its API port and data directory are in it).
    fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{i}.log")))
            .unwrap();
        let child = bin()
            .args([
                "node",
                "--genesis",
                &self.path("genesis.json"),
                "--config",
                &self.path(&format!("node-{i}.json")),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
        let client = self.client(i, "auditor");
        let start = Instant::now();
        while client.status().is_err() {
            if let Some(status) = self.children[i].as_mut().unwrap().try_wait().unwrap() {
                panic!("node {i} exited with {status}: {}", self.log(i));
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "node {i} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self, i: usize) {
        let mut child = self.children[i].take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn height(&self, i: usize) -> u64 {
        self.client(i, "auditor").status().unwrap()["height"]
            .as_u64()
            .unwrap()
    }

    /// Runs a client subcommand against node `i` with a role's token.
    fn cli(&self, i: usize, role: &str, args: &[&str]) -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--node".into(),
            self.url(i),
            "--token-file".into(),
            self.path(&format!("{role}.token")),
        ]);
        bin()
            .args(&all)
            .env("ZKCUSTOMS_GENESIS", self.path("genesis.json"))
            .output()
            .unwrap()
    }

    /// Waits until node `i`'s records of the UCR hold `count` entries.
    fn wait_records(&self, i: usize, count: usize) -> Value {
        let start = Instant::now();
        loop {
            let v = self
                .client(i, "customs")
                .get(&format!("/v1/records?ucr={UCR}"))
                .unwrap();
            if v["records"].as_array().map_or(0, Vec::len) >= count {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "node {i} has {v} after 90 s: {}",
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_height(&self, i: usize, height: u64) {
        let start = Instant::now();
        while self.height(i) < height {
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "node {i} stuck at {} (want {height}): {}",
                self.height(i),
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The block hashes of node `i` up to `height`.
    fn hashes(&self, i: usize, height: u64) -> Vec<String> {
        let c = self.client(i, "auditor");
        (1..=height)
            .map(|h| {
                c.get(&format!("/v1/blocks/{h}")).unwrap()["hash"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.children.iter_mut() {
            if let Some(mut c) = c.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Anchors a version of a document under [`UCR`] through node `node`, signed by [`EORI`] with
/// its key file `key`.
fn anchor(c: &Cluster, node: usize, key: &str, doc_type: &str, version: u32) {
    let digest = format!("{:02x}", version).repeat(32);
    let o = c.cli(
        node,
        "trader",
        &[
            "submit",
            "anchor",
            "--trader",
            EORI,
            "--key",
            key,
            "--ucr",
            UCR,
            "--doc-type",
            doc_type,
            "--reference",
            "vault://docs/1",
            "--version",
            &version.to_string(),
            "--digest",
            &digest,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn four_node_processes_agree_and_a_killed_one_catches_up() {
    let f = fixture();
    let mut c = Cluster::init();
    for i in 0..N {
        c.start(i);
    }

    // Customs office DE-HAMBURG-HAFEN registers the trader through validator 0.
    let key = register_trader_at(&c.url(0), &c.dir, EORI);

    // Submitted to one validator, finalized by the cluster, read from another.
    let root = registry_root("cluster");
    let o = c.cli(
        0,
        "authority",
        &[
            "submit",
            "root",
            "--registry",
            &root,
            "--key",
            &c.path("authority-DE-GZD.key"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Every validator has the root (and the registration before it, in block 1) before a
    // proof that needs them is sent to another one.
    let root_height = serde_json::from_slice::<Value>(&o.stdout).unwrap()["height"]
        .as_u64()
        .unwrap();
    for i in 0..N {
        c.wait_height(i, root_height);
    }
    // The aeo-status proof is made for this consignment on this cluster's ledger.
    let aeo = c.path("aeo.proof.json");
    prove_aeo_for(
        &f.keys(),
        &f.path("aeo.witness.json"),
        UCR,
        &c.path("genesis.json"),
        &aeo,
    );
    let o = c.cli(
        1,
        "trader",
        &[
            "submit", "proof", "--trader", EORI, "--key", &key, "--ucr", UCR, "--proof", &aeo,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    anchor(&c, 2, &key, "declaration", 1);
    let records = c.wait_records(3, 2);
    let kinds: Vec<&str> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["transaction"]["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"submit_proof"), "{records}");
    assert!(kinds.contains(&"anchor_document"), "{records}");

    // Validator 3 is killed; the other three go on.
    c.kill(3);
    let before = c.height(0);
    anchor(&c, 0, &key, "declaration", 2);
    // Version 3 is admitted against node 1's own view: it must hold version 2 first.
    c.wait_records(1, 3);
    anchor(&c, 1, &key, "declaration", 3);
    c.wait_height(0, before + 1);
    let target = c.height(0);
    assert!(target > before);

    // Restarted on its data directory, it catches up and serves what it missed.
    c.start(3);
    c.wait_height(3, target);
    c.wait_records(3, 4);
    // And it takes part again: a transaction sent to it is finalized everywhere.
    anchor(&c, 3, &key, "declaration", 4);
    let top = c.height(3);
    for i in 0..N {
        c.wait_height(i, top);
        c.wait_records(i, 5);
    }
    let reference = c.hashes(0, top);
    for i in 1..N {
        assert_eq!(c.hashes(i, top), reference, "node {i} holds another chain");
    }
}

#[test]
fn a_key_outside_genesis_cannot_run_a_validator() {
    let f = fixture();
    let c = Cluster::init();
    // Node 0's configuration, with a validator key that genesis does not list.
    let stranger = c.dir.join("stranger.json");
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(c.dir.join("node-0.json")).unwrap()).unwrap();
    let o = run(&[
        "genesis",
        "--dev",
        "--out",
        c.dir.join("other").to_str().unwrap(),
        "--keys",
        &f.keys(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    cfg["validator_key"] = Value::String("other/validator-0.key".into());
    std::fs::write(&stranger, serde_json::to_string(&cfg).unwrap()).unwrap();
    std::fs::set_permissions(&stranger, PermissionsExt::from_mode(0o600)).unwrap();
    let o = run(&[
        "node",
        "--genesis",
        &c.path("genesis.json"),
        "--config",
        stranger.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not listed in genesis"),
        "{}",
        stderr(&o)
    );
}
