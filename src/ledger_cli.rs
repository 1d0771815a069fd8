//! Ledger subcommands: `genesis`, `node`, `submit` and `query`.

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zkcustoms_circuits::field::fr_from_hex;
use zkcustoms_ledger_client::{Client, ClientError};
use zkcustoms_ledger_core::chain::MempoolLimits;
use zkcustoms_ledger_types::genesis::{self, DevGenesisOptions, Params};
use zkcustoms_ledger_types::tx::{
    ledger_scope, parse_digest, sha256, AnchorDocument, Eori, MarkExamination, PublishRoot,
    SubmitProof, Transaction, Ucr, LEDGER_SCOPE_DOMAIN,
};
use zkcustoms_ledger_types::wire::TxStatusKind;
use zkcustoms_ledger_types::{crypto, tx};
use zkcustoms_node::{self as node, NodeOptions};
use zkcustoms_prover::Witness;
use zkcustoms_verifier::ProofEnvelope;

/// `zkcustoms genesis`.
#[derive(Args)]
pub struct GenesisArgs {
    /// Make a development genesis with fresh keys (the only kind this command makes).
    #[arg(long)]
    dev: bool,
    /// Directory to write the genesis, node configuration(s), key and token files to.
    #[arg(long)]
    out: PathBuf,
    /// Key directory (from `setup`) whose verifying keys the ledger accepts.
    #[arg(long, default_value = "keys")]
    keys: PathBuf,
    /// Number of validators.
    #[arg(long, default_value_t = 1)]
    validators: usize,
    /// Peer-to-peer port of the first validator (the others use the next ports), on 127.0.0.1.
    #[arg(long, default_value_t = 7400)]
    p2p_port: u16,
    /// AEO authorities allowed to publish registry roots.
    #[arg(long = "authority", default_values_t = ["DE-GZD".to_string()])]
    authorities: Vec<String>,
    /// Customs offices: they mark declarations under examination and register traders (an
    /// office's administration is its id up to the first `-`).
    #[arg(long = "office", default_values_t = ["DE-HAMBURG-HAFEN".to_string()])]
    offices: Vec<String>,
    /// Auditors (read-only parties).
    #[arg(long = "auditor", default_values_t = ["AUDIT-EU-1".to_string()])]
    auditors: Vec<String>,
    /// How long a superseded registry root stays acceptable, in seconds.
    #[arg(long, default_value_t = 86_400)]
    root_grace_seconds: u64,
    /// How many days an aeo-status proof's day may differ from the ledger's day.
    #[arg(long, default_value_t = 1)]
    as_of_tolerance_days: u32,
    /// Accept aeo-status proofs for any day (for replaying historical proofs in tests).
    #[arg(long)]
    any_as_of_day: bool,
    /// Most transactions per block.
    #[arg(long, default_value_t = 512)]
    max_block_txs: u32,
}

/// `zkcustoms node`.
#[derive(Args)]
pub struct NodeArgs {
    /// Genesis file.
    #[arg(long, env = "ZKCUSTOMS_GENESIS")]
    genesis: PathBuf,
    /// Node configuration (validator key, API tokens, key directory); `node.json` next to the
    /// genesis when absent.
    #[arg(long, env = "ZKCUSTOMS_NODE_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the node's RocksDB database and consensus journals (default: the node
    /// configuration's `data_dir`).
    #[arg(long, env = "ZKCUSTOMS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address of the HTTP API (default: the node configuration's `listen`, else
    /// 127.0.0.1:8080).
    #[arg(long, env = "ZKCUSTOMS_LISTEN")]
    listen: Option<SocketAddr>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 256 * 1024)]
    max_body: usize,
    /// Most transactions waiting in the mempool (a quarter of them, and of its 16 MiB, for any
    /// one signing party; more are answered 429).
    #[arg(long, default_value_t = 10_000)]
    mempool_txs: usize,
    /// Most requests served at once (more are answered 503).
    #[arg(long, default_value_t = 256)]
    max_concurrency: usize,
    /// Requests a second allowed to each role token (bursts of twice as many; more are answered
    /// 429).
    #[arg(long, default_value_t = 1000.0, value_parser = crate::rates::parse_rate)]
    client_rate: f64,
    /// Requests a second allowed to each anonymous address, IPv6 by /64 (bursts of three times as
    /// many; more are answered 429).
    #[arg(long, default_value_t = 20.0, value_parser = crate::rates::parse_rate)]
    anonymous_rate: f64,
    /// Largest off-ledger document accepted, in bytes.
    #[arg(long, default_value_t = zkcustoms_documents::DEFAULT_MAX_DOCUMENT_BYTES)]
    max_document_bytes: usize,
    /// A `host[:port]` under which parties reach this node's API (its public name behind a
    /// proxy; repeat for several): document requests must be signed for one of them. Default:
    /// the listen address (and `localhost:PORT` for a loopback one).
    #[arg(long = "public-authority", value_name = "HOST[:PORT]")]
    public_authorities: Vec<String>,
}

/// Where and as whom a client command talks: with a role token of the node's operator, or as a
/// party of the ledger that signs each request with its own key (RFC 9421), which any validator
/// accepts.
#[derive(Args)]
pub struct ClientArgs {
    /// The node's API address.
    #[arg(long, env = "ZKCUSTOMS_NODE", default_value = "http://127.0.0.1:8080")]
    node: String,
    /// API token (or `--token-file`).
    #[arg(long, env = "ZKCUSTOMS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the API token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Sign every request as this party (an EORI number, an office, auditor or authority id).
    #[arg(long, requires = "party_key")]
    party: Option<String>,
    /// The party's key file (from `party new`, or its genesis signing key).
    #[arg(long, requires = "party")]
    party_key: Option<PathBuf>,
}

impl ClientArgs {
    /// A client of the node with the token and party given.
    pub(crate) fn client(&self) -> Result<Client> {
        let token = match (&self.token, &self.token_file) {
            (Some(t), _) => t.clone(),
            (None, Some(f)) => crypto::read_secret(f).map_err(|e| anyhow!(e))?.to_string(),
            (None, None) if self.party.is_some() => String::new(),
            (None, None) => {
                return Err(anyhow!(
                    "give --party and --party-key, or --token, --token-file or ZKCUSTOMS_TOKEN"
                ))
            }
        };
        let client = Client::new(&self.node, &token);
        match (&self.party, &self.party_key) {
            (Some(party), Some(key)) => {
                let key = crypto::read_private(key).map_err(|e| anyhow!(e))?;
                Ok(client.with_party(party, key)?)
            }
            _ => Ok(client),
        }
    }
}

/// The trader who signs a write, and its key.
#[derive(Args)]
pub struct TraderArgs {
    /// The signing trader's EORI number: the consignment's owner or one of its delegates.
    #[arg(long)]
    trader: String,
    /// The trader's key file (from `party new`).
    #[arg(long)]
    key: PathBuf,
}

impl TraderArgs {
    /// The trader's id and private key.
    pub(crate) fn load(&self) -> Result<(Eori, crypto::PrivateKey)> {
        let eori = Eori::parse(&self.trader)?;
        let key = crypto::read_private(&self.key).map_err(|e| anyhow!(e))?;
        Ok((eori, key))
    }
}

/// The network a transaction is signed for: taken from its genesis, never from the node the
/// transaction is sent to (a node of another network, or one in between, could otherwise have
/// the party sign a transaction that is valid there).
#[derive(Args)]
pub struct ChainArgs {
    /// The network's genesis file: transactions are signed for its chain id, and a node that
    /// serves another chain is refused before anything is signed.
    #[arg(long, env = "ZKCUSTOMS_GENESIS")]
    genesis: PathBuf,
}

impl ChainArgs {
    /// The genesis's chain id, once the node has answered the same one.
    pub(crate) fn confirmed_by(&self, client: &Client) -> Result<tx::Hash, Refusal> {
        let expected = genesis::Genesis::load(&self.genesis)
            .map_err(|e| anyhow!("genesis {}: {e}", self.genesis.display()))?
            .chain_id;
        let served = client.chain_id().map_err(api_refusal)?;
        if served != expected {
            return Err(Refusal(
                2,
                anyhow!(
                    "the node runs chain {}, not the one of genesis {} ({}): nothing was signed",
                    hex::encode(served),
                    self.genesis.display(),
                    hex::encode(expected)
                ),
            ));
        }
        Ok(expected)
    }
}

/// `zkcustoms submit`.
#[derive(Subcommand)]
pub enum SubmitCommand {
    /// Publish an AEO registry root, signed by the authority (role: authority).
    Root {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        /// The registry's `root.json` (from `registry build`).
        #[arg(long)]
        registry: PathBuf,
        /// The authority's signing key file.
        #[arg(long)]
        key: PathBuf,
        /// Return once accepted into the mempool, without waiting for finalization.
        #[arg(long)]
        no_wait: bool,
    },
    /// Anchor a document digest under a consignment, signed by the trader (role: trader). The
    /// first anchor under a UCR makes the trader its owner.
    Anchor {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        #[command(flatten)]
        signer: TraderArgs,
        /// Unique consignment reference.
        #[arg(long)]
        ucr: String,
        /// Document type (`invoice`, `declaration`, ...).
        #[arg(long)]
        doc_type: String,
        /// SHA-256 digest of the document (hex), or give `--invoice`.
        #[arg(long, conflicts_with = "invoice")]
        digest: Option<String>,
        /// Invoice JSON: its canonical encoding's digest is anchored.
        #[arg(long)]
        invoice: Option<PathBuf>,
        /// Where the (encrypted) document is kept off-ledger.
        #[arg(long)]
        reference: String,
        /// Version (1, then one more per amendment; a version n supersedes n - 1).
        #[arg(long, default_value_t = 1)]
        version: u32,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
    /// Submit a proof envelope about a consignment, signed by the trader (role: trader).
    Proof {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        #[command(flatten)]
        signer: TraderArgs,
        /// Unique consignment reference.
        #[arg(long)]
        ucr: String,
        /// The proof envelope file (from `prove`).
        #[arg(long)]
        proof: PathBuf,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
    /// Mark a declaration under examination, signed by the customs office (role: customs).
    Examine {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        /// Unique consignment reference.
        #[arg(long)]
        ucr: String,
        /// Customs office id, as listed in genesis.
        #[arg(long)]
        office: String,
        /// The office's signing key file.
        #[arg(long)]
        key: PathBuf,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
}

/// A ledger command's failure: exit 1 when a ledger rule refused a transaction, 2 otherwise.
pub struct Refusal(pub u8, pub anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal(2, e.into())
    }
}

/// Runs `genesis`.
pub fn genesis(a: GenesisArgs) -> Result<()> {
    if !a.dev {
        return Err(anyhow!(
            "only development genesis files are made here (--dev); a production genesis is \
             assembled from each administration's public keys"
        ));
    }
    let out = genesis::write_dev(&DevGenesisOptions {
        out: a.out.clone(),
        keys: a.keys,
        validators: a.validators,
        p2p_port: a.p2p_port,
        api_port: None,
        authorities: a.authorities,
        offices: a.offices,
        auditors: a.auditors,
        params: Params {
            root_grace_seconds: a.root_grace_seconds,
            as_of_tolerance_days: (!a.any_as_of_day).then_some(a.as_of_tolerance_days),
            max_block_txs: a.max_block_txs,
        },
    })?;
    eprintln!("!! DEVELOPMENT GENESIS: fresh keys on this machine, for development only. !!");
    println!("genesis:      {}", out.genesis.display());
    for c in &out.node_configs {
        println!("node config:  {}", c.display());
    }
    for (id, path) in &out.signer_keys {
        println!("signing key:  {id} -> {}", path.display());
    }
    for (role, path) in &out.token_files {
        println!("API token:    {} -> {}", role.name(), path.display());
    }
    Ok(())
}

/// `zkcustoms cluster`.
#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Write a local development cluster on 127.0.0.1: a genesis listing N validators, their keys,
    /// one node configuration per validator (API port, data directory), the signing keys of the
    /// authorities and offices and the API tokens.
    Init(ClusterInitArgs),
}

/// `zkcustoms cluster init`.
#[derive(Args)]
pub struct ClusterInitArgs {
    /// Number of validators (3f+1 tolerate f faulty ones: 4 tolerate 1, 7 tolerate 2).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Directory to write the cluster's files to.
    #[arg(long)]
    out: PathBuf,
    /// Key directory (from `setup`) whose verifying keys the ledger accepts.
    #[arg(long, default_value = "keys")]
    keys: PathBuf,
    /// Peer-to-peer port of the first validator (the others use the next ports).
    #[arg(long, default_value_t = 7400)]
    p2p_port: u16,
    /// API port of the first node (the others use the next ports).
    #[arg(long, default_value_t = 8080)]
    api_port: u16,
    /// AEO authorities allowed to publish registry roots.
    #[arg(long = "authority", default_values_t = ["DE-GZD".to_string()])]
    authorities: Vec<String>,
    /// Customs offices: they mark declarations under examination and register traders (an
    /// office's administration is its id up to the first `-`).
    #[arg(long = "office", default_values_t = ["DE-HAMBURG-HAFEN".to_string()])]
    offices: Vec<String>,
    /// Auditors (read-only parties).
    #[arg(long = "auditor", default_values_t = ["AUDIT-EU-1".to_string()])]
    auditors: Vec<String>,
    /// How many days an aeo-status proof's day may differ from the ledger's day.
    #[arg(long, default_value_t = 1)]
    as_of_tolerance_days: u32,
    /// Accept aeo-status proofs for any day (for replaying historical proofs in tests).
    #[arg(long)]
    any_as_of_day: bool,
    /// Most transactions per block.
    #[arg(long, default_value_t = 512)]
    max_block_txs: u32,
}

/// Runs `cluster`.
pub fn cluster(command: ClusterCommand) -> Result<()> {
    let ClusterCommand::Init(a) = command;
    if a.validators == 0 || a.validators > 64 {
        return Err(anyhow!("--validators must be between 1 and 64"));
    }
    let out = genesis::write_dev(&DevGenesisOptions {
        out: a.out.clone(),
        keys: a.keys,
        validators: a.validators,
        p2p_port: a.p2p_port,
        api_port: Some(a.api_port),
        authorities: a.authorities,
        offices: a.offices,
        auditors: a.auditors,
        params: Params {
            as_of_tolerance_days: (!a.any_as_of_day).then_some(a.as_of_tolerance_days),
            max_block_txs: a.max_block_txs,
            ..Params::default()
        },
    })?;
    eprintln!("!! DEVELOPMENT CLUSTER: fresh keys on this machine, for development only. !!");
    let f = (a.validators - 1) / 3;
    println!(
        "{} validators: consensus goes on with up to {f} of them faulty or offline",
        a.validators
    );
    println!("genesis:      {}", out.genesis.display());
    for (id, path) in &out.signer_keys {
        println!("signing key:  {id} -> {}", path.display());
    }
    for (role, path) in &out.token_files {
        println!("API token:    {} -> {}", role.name(), path.display());
    }
    println!("start each node (one terminal each):");
    for (i, c) in out.node_configs.iter().enumerate() {
        println!(
            "  zkcustoms node --genesis {} --config {}    # API http://127.0.0.1:{}",
            out.genesis.display(),
            c.display(),
            u32::from(a.api_port) + i as u32
        );
    }
    Ok(())
}

/// Runs `node` until SIGINT or SIGTERM.
pub fn run_node(a: NodeArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let config = a.config.unwrap_or_else(|| {
        a.genesis
            .parent()
            .unwrap_or(Path::new("."))
            .join("node.json")
    });
    let cfg = zkcustoms_ledger_types::genesis::NodeConfig::load(&config)?;
    let data_dir = a.data_dir.or(cfg.data_dir).ok_or_else(|| {
        anyhow!(
            "no data directory: give --data-dir (or data_dir in {})",
            config.display()
        )
    })?;
    let listen = a
        .listen
        .or(cfg.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    node::run(NodeOptions {
        genesis: a.genesis,
        config,
        data_dir,
        listen,
        max_body: a.max_body,
        mempool: MempoolLimits::with_max_txs(a.mempool_txs),
        max_concurrency: a.max_concurrency,
        rates: crate::rates::rates(a.client_rate, a.anonymous_rate),
        max_document_bytes: a.max_document_bytes,
        authorities: a.public_authorities,
    })?;
    Ok(())
}

/// A witness (JSON text) with its scope replaced by the ledger's scope for `ucr` on the ledger
/// of `genesis`: the only scope that ledger accepts for an aeo-status proof filed under `ucr`.
pub(crate) fn with_ledger_scope(
    statement: &str,
    witness: &str,
    ucr: &str,
    genesis: &Path,
) -> Result<String> {
    if statement != zkcustoms_circuits::aeo_status::ID {
        return Err(anyhow!(
            "--for-ucr applies to aeo-status proofs only: other proofs name their consignment's \
             invoice digest"
        ));
    }
    let ucr = Ucr::parse(ucr)?;
    let bytes =
        std::fs::read(genesis).with_context(|| format!("cannot read {}", genesis.display()))?;
    let chain_id = zkcustoms_ledger_types::genesis::Genesis::from_bytes(&bytes)?.chain_id;
    debug_assert_eq!(chain_id, sha256(&bytes));
    let mut value: Value = serde_json::from_str(witness).context("the witness is not JSON")?;
    let Some(obj) = value.as_object_mut() else {
        return Err(anyhow!("the witness is not a JSON object"));
    };
    obj.insert("scope".into(), ledger_scope(&chain_id, &ucr).into());
    Ok(value.to_string())
}

/// Refuses a witness that brings a ledger's scope of its own ([`Witness::brings_ledger_scope`]):
/// a proof for a ledger filing is made with `--for-ucr`.
pub(crate) fn refuse_ledger_scope(witness: &Witness) -> Result<()> {
    if witness.brings_ledger_scope() {
        return Err(anyhow!(
            "the witness's scope is a ledger's scope for a consignment ({LEDGER_SCOPE_DOMAIN}:…), \
             which only --for-ucr UCR --genesis FILE sets: a proof in it can be filed on that \
             ledger by whoever owns that consignment. Prove for your own consignment with \
             --for-ucr, and for an off-ledger verifier with its challenge"
        ));
    }
    Ok(())
}

pub(crate) fn api_refusal(e: ClientError) -> Refusal {
    match &e {
        ClientError::Api { status: 422, .. } => Refusal(1, e.into()),
        _ => Refusal(2, e.into()),
    }
}

/// Signs `tx` with `key` for the genesis's chain (once the node has confirmed it serves that
/// chain), then [`send`]s it.
pub(crate) fn sign_and_send(
    client: &Client,
    chain: &ChainArgs,
    tx: Transaction,
    key: &crypto::PrivateKey,
    no_wait: bool,
) -> Result<(), Refusal> {
    let chain = chain.confirmed_by(client)?;
    send(client, tx.signed(&chain, key), key, no_wait)
}

/// Submits, waits (unless told not to, asking as the signer of `key`, who is told why a
/// refused transaction was refused) and prints the outcome as JSON.
pub(crate) fn send(
    client: &Client,
    tx: Transaction,
    key: &crypto::PrivateKey,
    no_wait: bool,
) -> Result<(), Refusal> {
    let hash = client.submit(&tx).map_err(api_refusal)?;
    eprintln!("{} accepted: {}", tx.kind(), hex::encode(hash));
    if no_wait {
        println!(
            "{}",
            serde_json::json!({"hash": hex::encode(hash), "status": "pending"})
        );
        return Ok(());
    }
    let status = client
        .wait_as(&hash, Duration::from_secs(60), (tx.signer().id(), key))
        .map_err(api_refusal)?;
    println!("{}", serde_json::to_string_pretty(&status)?);
    if status.status == TxStatusKind::Rejected {
        let (code, message) = status
            .reason
            .as_ref()
            .map_or(("?", ""), |r| (r.error.as_str(), r.message.as_str()));
        let (code, message) = (
            zkcustoms_ledger_client::printable(code),
            zkcustoms_ledger_client::printable(message),
        );
        return Err(Refusal(1, anyhow!("rejected: {code}: {message}")));
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Runs `submit`.
pub fn submit(cmd: SubmitCommand) -> Result<(), Refusal> {
    match cmd {
        SubmitCommand::Root {
            client,
            chain,
            registry,
            key,
            no_wait,
        } => {
            let client = client.client()?;
            let root_file = read_json(&registry)?;
            let authority = root_file["authority"]
                .as_str()
                .ok_or_else(|| anyhow!("{} names no authority", registry.display()))?;
            let root = fr_from_hex(root_file["registry_root"].as_str().unwrap_or(""))
                .map_err(|e| anyhow!("{}: registry_root: {e}", registry.display()))?;
            let key = crypto::read_private(&key).map_err(|e| anyhow!(e))?;
            let chain = chain.confirmed_by(&client)?;
            let current = client
                .get(&format!("/v1/registry/{authority}"))
                .map_err(api_refusal)?;
            let sequence = current["latest_sequence"].as_u64().unwrap_or(0) + 1;
            let tx = Transaction::PublishRoot(PublishRoot::sign(
                &chain, &key, authority, root, sequence,
            ));
            send(&client, tx, &key, no_wait)
        }
        SubmitCommand::Anchor {
            client,
            chain,
            signer,
            ucr,
            doc_type,
            digest,
            invoice,
            reference,
            version,
            no_wait,
        } => {
            let client = client.client()?;
            let (trader, key) = signer.load()?;
            let digest = match (digest, invoice) {
                (Some(d), _) => parse_digest(&d)?,
                (None, Some(path)) => {
                    let inv: zkcustoms_circuits::invoice::Invoice =
                        serde_json::from_value(read_json(&path)?).with_context(|| {
                            format!("{} is not a valid invoice", path.display())
                        })?;
                    zkcustoms_circuits::invoice::sha256(&inv.encode()?)
                }
                (None, None) => return Err(anyhow!("give --digest or --invoice").into()),
            };
            let anchor = AnchorDocument {
                ucr: Ucr::parse(&ucr)?,
                doc_type,
                digest,
                reference,
                version,
                supersedes: (version > 1).then(|| version - 1),
                trader,
                signature: crypto::unsigned(),
            };
            tx::check_doc_type(&anchor.doc_type)?;
            tx::check_reference(&anchor.reference)?;
            sign_and_send(
                &client,
                &chain,
                Transaction::AnchorDocument(anchor),
                &key,
                no_wait,
            )
        }
        SubmitCommand::Proof {
            client,
            chain,
            signer,
            ucr,
            proof,
            no_wait,
        } => {
            let client = client.client()?;
            let (trader, key) = signer.load()?;
            let text = std::fs::read_to_string(&proof)
                .with_context(|| format!("cannot read {}", proof.display()))?;
            let envelope = ProofEnvelope::from_json(&text)
                .with_context(|| format!("{} is not a valid proof envelope", proof.display()))?;
            let tx = Transaction::SubmitProof(SubmitProof {
                ucr: Ucr::parse(&ucr)?,
                envelope,
                trader,
                signature: crypto::unsigned(),
            });
            sign_and_send(&client, &chain, tx, &key, no_wait)
        }
        SubmitCommand::Examine {
            client,
            chain,
            ucr,
            office,
            key,
            no_wait,
        } => {
            let client = client.client()?;
            let key = crypto::read_private(&key).map_err(|e| anyhow!(e))?;
            let chain = chain.confirmed_by(&client)?;
            let tx = Transaction::MarkExamination(MarkExamination::sign(
                &chain,
                &key,
                Ucr::parse(&ucr)?,
                &office,
            ));
            send(&client, tx, &key, no_wait)
        }
    }
}
