//! A ledger node: RocksDB under `DATA_DIR/ledger`, consensus journals under
//! `DATA_DIR/consensus`, the encrypted off-ledger documents under `DATA_DIR/documents`, the validators' authenticated peer-to-peer network, Simplex consensus,
//! and the HTTP API, until SIGINT or SIGTERM.
//!
//! [`consensus`] is the Simplex application and validator (proposals, the block and transaction
//! relays); [`sync`] lets a validator that fell behind catch up from its peers; [`serving`]
//! bounds the bytes each peer may ask a validator to send it.

pub mod channels;
pub mod consensus;
pub mod descriptors;
pub mod serving;
pub mod sync;

use crate::consensus::{
    channel, runtime_clock, start_validator, Channels, ValidatorConfig, MAX_MESSAGE,
};
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::Signer as _;
use commonware_p2p::{authenticated::lookup, Address, AddressableManager as _};
use commonware_runtime::{tokio as cw_tokio, Runner as _, Supervisor as _};
use commonware_utils::{ordered::Map, TryCollect};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::info;
use zkcustoms_documents::{check_key_file_outside, DocumentService, LocalMasterKey, MasterKey};
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_http::{self as api, ApiState};
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::genesis::{Genesis, NodeConfig};

/// Signature namespace of the peer-to-peer handshake, before the chain id ([`p2p_namespace`]);
/// v1 had no chain id: validators of this release and of an older one do not connect.
pub const P2P_NAMESPACE: &[u8] = b"zkcustoms/p2p/v2";

/// The handshake's namespace on the chain `chain_id`: a validator started with another genesis
/// (another chain, or a copy of the file changed in any byte) fails the handshake and is never
/// connected, rather than being connected and failing at each vote.
pub fn p2p_namespace(chain_id: &[u8; 32]) -> Vec<u8> {
    let mut namespace = P2P_NAMESPACE.to_vec();
    namespace.push(b'/');
    namespace.extend_from_slice(hex::encode(chain_id).as_bytes());
    namespace
}

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The genesis file.
    pub genesis: PathBuf,
    /// The node configuration (validator key, API tokens, key directory).
    pub config: PathBuf,
    /// Where the node keeps its data.
    pub data_dir: PathBuf,
    /// Address of the HTTP API.
    pub listen: SocketAddr,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Mempool limits.
    pub mempool: MempoolLimits,
    /// Most requests served at once.
    pub max_concurrency: usize,
    /// The rates each role token and each anonymous address is charged at.
    pub rates: zkcustoms_http::Rates,
    /// Largest off-ledger document accepted, in bytes.
    pub max_document_bytes: usize,
    /// The authorities (`host[:port]`) under which parties reach the API, for requests signed
    /// for this node (document requests must be); empty: the node configuration's
    /// `public_authorities`, and when it names none, [`default_authorities`] of `listen`.
    pub authorities: Vec<String>,
}

/// The authorities under which parties reach an API listening on `listen` when none are
/// configured: its address, and `localhost` with its port for a loopback address (each also
/// without the port when it is 80, as clients of `http://host` send it). None for an
/// unspecified address (`0.0.0.0`): behind it the node's public name is not known, and it must
/// be configured.
pub fn default_authorities(listen: SocketAddr) -> Vec<String> {
    if listen.ip().is_unspecified() {
        return Vec::new();
    }
    let mut hosts = vec![match listen.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    }];
    if listen.ip().is_loopback() {
        hosts.push("localhost".to_owned());
    }
    let mut out = Vec::new();
    for host in hosts {
        out.push(format!("{host}:{}", listen.port()));
        // A client of `http://host` sends no port for HTTP's default one.
        if listen.port() == 80 {
            out.push(host);
        }
    }
    out
}

/// Why a node could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Genesis or configuration.
    #[error(transparent)]
    Genesis(#[from] zkcustoms_ledger_types::genesis::GenesisError),
    /// Storage or keys.
    #[error(transparent)]
    Chain(#[from] zkcustoms_ledger_core::chain::ChainError),
    /// Another problem at start.
    #[error("{0}")]
    Start(String),
}

/// The master key that wraps the node's document keys: from the environment variable
/// [`LocalMasterKey::ENV`], else from the configuration's key file, which must lie outside the
/// data directory (a copy of the data directory must not carry its own key).
fn master_key(config: &NodeConfig, data_dir: &Path) -> Result<Arc<dyn MasterKey>, NodeError> {
    let start = |e: zkcustoms_documents::DocumentError| NodeError::Start(e.to_string());
    if let Ok(hex) = std::env::var(LocalMasterKey::ENV) {
        let key = LocalMasterKey::from_hex(&hex)
            .map_err(|e| NodeError::Start(format!("{}: {e}", LocalMasterKey::ENV)))?;
        return Ok(Arc::new(key));
    }
    let path = config.document_master_key.as_ref().ok_or_else(|| {
        NodeError::Start(format!(
            "the node needs a master key for its documents, kept outside its data directory: \
             set document_master_key in its configuration (a file of 64 hex digits, mode 600) \
             or the environment variable {}",
            LocalMasterKey::ENV
        ))
    })?;
    check_key_file_outside(path, data_dir).map_err(start)?;
    Ok(Arc::new(LocalMasterKey::load(path).map_err(start)?))
}

/// The p2p configuration for validators at `addresses` (those of genesis): Commonware's
/// recommended one (handshake rates, connection cooldown), allowing private addresses when every
/// validator has one (a network inside one organisation); its local one only for a development
/// cluster whose validators all listen on loopback addresses (one machine: the recommended
/// handshake rate of one per address every five seconds would only slow it down). Either way a
/// blocked peer is blocked for [`BLOCK_DURATION`](crate::channels::BLOCK_DURATION), then may
/// connect again.
///
/// The cooldown between two connections with the same peer is shorter than Commonware's (one
/// minute recommended, one second local): two validators that dial each other at the same
/// moment each refuse the other's connection, and after that each accepts the other's next
/// dial only once its own cooldown has run out, which the other's jittered retries hit about
/// one time in five. Measured on a four-validator loopback cluster, a pair could stay
/// unconnected for seconds with the one-second cooldown (minutes, with the recommended one), its
/// two validators hearing each other only through the others. Between a handful of validators
/// known from genesis, connections are no resource to ration that tightly.
fn p2p_config(
    addresses: &[SocketAddr],
    signer: commonware_cryptography::ed25519::PrivateKey,
    listen: SocketAddr,
    chain_id: &[u8; 32],
) -> lookup::Config<commonware_cryptography::ed25519::PrivateKey> {
    let namespace = p2p_namespace(chain_id);
    let mut cfg = if addresses.iter().all(|a| a.ip().is_loopback()) {
        let mut cfg = lookup::Config::local(signer, &namespace, listen, MAX_MESSAGE);
        cfg.peer_connection_cooldown = crate::channels::LOCAL_PEER_COOLDOWN;
        cfg
    } else {
        let mut cfg = lookup::Config::recommended(signer, &namespace, listen, MAX_MESSAGE);
        cfg.allow_private_ips = addresses.iter().all(|a| match a.ip() {
            std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
            std::net::IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        });
        cfg.peer_connection_cooldown = crate::channels::PEER_COOLDOWN;
        cfg
    };
    cfg.block_duration = crate::channels::BLOCK_DURATION;
    cfg
}

/// Runs a node until SIGINT or SIGTERM (caught from before the API answers its first request).
pub fn run(opts: NodeOptions) -> Result<(), NodeError> {
    run_until(opts, shutdown_signal)
}

/// Runs a node until the future that `stop` makes resolves (then the API shuts down gracefully
/// and the node returns). `stop` is called inside the node's runtime once the ledger is open,
/// before consensus starts and before the API answers any request, so that signal handlers it
/// installs are in place by the time the node can be seen running.
pub fn run_until<S, F>(opts: NodeOptions, stop: S) -> Result<(), NodeError>
where
    S: FnOnce() -> std::io::Result<F> + Send + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    // Before any file or socket is opened.
    let open_files = descriptors::raise_open_files();
    let genesis = Genesis::load(&opts.genesis)?;
    let config = NodeConfig::load(&opts.config)?;
    let signer = crypto::read_private(&config.validator_key).map_err(NodeError::Start)?;
    let me = signer.public_key();
    let p2p_address = genesis.validator_address(&me).ok_or_else(|| {
        NodeError::Start(format!(
            "validator key {} is not listed in genesis",
            crypto::public_hex(&me)
        ))
    })?;
    std::fs::create_dir_all(&opts.data_dir)
        .map_err(|e| NodeError::Start(format!("{}: {e}", opts.data_dir.display())))?;
    let store = Store::open_for_chain(&opts.data_dir.join("ledger"), &genesis.chain_id)
        .map_err(|e| NodeError::Start(e.to_string()))?;
    // The ledger's database first: a data directory of another chain is named as such before its
    // document database is checked against this node's master key.
    let chain = Chain::open(
        genesis.clone(),
        store,
        Some(&config.keys),
        crypto::public_bytes(&me),
        opts.mempool,
    )?;
    let documents = DocumentService::open(
        &opts.data_dir.join(zkcustoms_documents::DOCUMENTS_DIR),
        opts.max_document_bytes,
        master_key(&config, &opts.data_dir)?,
    )
    .map_err(|e| NodeError::Start(e.to_string()))?;
    let documents = Arc::new(documents);
    let (height, tip) = chain.tip();
    info!(
        chain = %hex::encode(genesis.chain_id),
        height,
        tip = %hex::encode(tip),
        "ledger opened"
    );
    let tokens = api::role_tokens(&config.tokens);
    let accounts = api::Accounts::new(&config.explorer_accounts, &genesis)
        .map_err(|e| NodeError::Start(format!("{}: {e}", opts.config.display())))?;
    let authorities = if !opts.authorities.is_empty() {
        opts.authorities.clone()
    } else if !config.public_authorities.is_empty() {
        config.public_authorities.clone()
    } else {
        default_authorities(opts.listen)
    };
    if authorities.is_empty() {
        tracing::warn!(
            listen = %opts.listen,
            "no public authority: document requests are refused until one is given \
             (--public-authority, or public_authorities in the node configuration)"
        );
    }
    let parties = api::PartyAuth::default()
        .with_authorities(authorities.iter().cloned())
        .map_err(|e| NodeError::Start(format!("public authorities: {e}")))?;
    // Bind the API before consensus starts, so a port in use is reported at once.
    let std_listener = std::net::TcpListener::bind(opts.listen)
        .map_err(|e| NodeError::Start(format!("cannot listen on {}: {e}", opts.listen)))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| NodeError::Start(e.to_string()))?;

    // The peer-to-peer listener binds inside the runtime, where a failure aborts: check first,
    // so a port in use is a clear error.
    drop(std::net::TcpListener::bind(p2p_address).map_err(|e| {
        NodeError::Start(format!(
            "cannot listen for peers on {p2p_address} (from genesis): {e}"
        ))
    })?);

    let peers: Map<PublicKey, Address> = genesis
        .validators
        .iter()
        .zip(&genesis.file.validators)
        .map(|(k, v)| (k.clone(), Address::from(v.p2p_address)))
        .try_collect()
        .map_err(|_| NodeError::Start("validator keys are not unique".into()))?;
    // The fixed-peer network: only the validators in genesis, at their genesis addresses.
    let addresses: Vec<SocketAddr> = genesis
        .file
        .validators
        .iter()
        .map(|v| v.p2p_address)
        .collect();
    let p2p_cfg = p2p_config(&addresses, signer.clone(), p2p_address, &genesis.chain_id);
    // Consensus, peers and the API share the runtime's workers: one per core (the runtime's
    // default is two, whatever the machine).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let runtime_cfg = cw_tokio::Config::new()
        .with_worker_threads(workers)
        .with_storage_directory(opts.data_dir.join("consensus"));
    let executor = cw_tokio::Runner::new(runtime_cfg);
    executor.start(async move |context| {
        let stop =
            stop().map_err(|e| NodeError::Start(format!("cannot catch shutdown signals: {e}")))?;
        let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p_cfg);
        oracle.track(0, peers);
        let mut register = |c| network.register(c, crate::channels::quota(c), 4096);
        let channels = Channels {
            votes: register(channel::VOTES),
            certificates: register(channel::CERTIFICATES),
            resolver: register(channel::RESOLVER),
            blocks: register(channel::BLOCKS),
            transactions: register(channel::TRANSACTIONS),
            sync: register(channel::SYNC),
        };
        let chain = Arc::new(chain.with_clock(runtime_clock(context.child("clock"))));
        start_validator(
            context.child("validator"),
            chain.clone(),
            ValidatorConfig::new(signer.clone(), "zkcustoms"),
            oracle,
            channels,
        );
        network.start();

        let state = ApiState {
            chain,
            documents: Some(documents),
            tokens,
            max_body: opts.max_body,
            max_concurrency: opts.max_concurrency,
            rates: opts.rates,
            parties: Arc::new(parties),
            accounts: Arc::new(accounts),
        };
        let serving = zkcustoms_http::ServeLimits {
            max_connections: descriptors::api_connections(open_files),
            ..zkcustoms_http::ServeLimits::default()
        };
        info!(
            api = %opts.listen,
            p2p = %p2p_address,
            authorities = ?authorities,
            open_files = ?open_files,
            api_connections = serving.max_connections,
            "node running"
        );
        let router = api::router(state);
        if let Err(e) = zkcustoms_http::serve_with(std_listener, router, stop, serving).await {
            tracing::error!(error = %e, "API server failed");
        }
        info!("node stopped");
        Ok(())
    })
}

pub use zkcustoms_http::{shutdown_signal, Rate, Rates};

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::ed25519::PrivateKey;

    #[test]
    fn a_node_answers_to_its_listen_address_unless_told_its_public_name() {
        let at = |a: &str| -> SocketAddr { a.parse().unwrap() };
        assert_eq!(
            default_authorities(at("127.0.0.1:8080")),
            ["127.0.0.1:8080", "localhost:8080"]
        );
        assert_eq!(default_authorities(at("10.0.0.5:8443")), ["10.0.0.5:8443"]);
        assert_eq!(
            default_authorities(at("127.0.0.1:80")),
            ["127.0.0.1:80", "127.0.0.1", "localhost:80", "localhost"]
        );
        assert_eq!(
            default_authorities(at("[::1]:8080")),
            ["[::1]:8080", "localhost:8080"]
        );
        assert!(default_authorities(at("0.0.0.0:8080")).is_empty());
        assert!(default_authorities(at("[::]:8080")).is_empty());
        // Each default is an authority the signature scheme accepts.
        for a in default_authorities(at("[::1]:8080")) {
            zkcustoms_ledger_types::http_signature::check_authority(&a).unwrap();
        }
    }

    const CHAIN: [u8; 32] = [7; 32];

    /// Validators of two chains sign their handshakes in two namespaces, so they never connect.
    #[test]
    fn the_handshake_namespace_names_the_chain() {
        let at: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let other = [8; 32];
        let namespace = |chain| p2p_config(&[at], PrivateKey::from_seed(1), at, chain).namespace;
        assert_ne!(namespace(&CHAIN), namespace(&other));
        assert!(namespace(&CHAIN).starts_with(P2P_NAMESPACE));
        assert!(namespace(&CHAIN).ends_with(hex::encode(CHAIN).as_bytes()));
    }

    #[test]
    fn blocked_peers_are_blocked_for_a_bounded_time_and_peers_reconnect_soon() {
        let at = |a: &str| -> SocketAddr { a.parse().unwrap() };
        let local = [at("127.0.0.1:9000"), at("127.0.0.1:9001")];
        let private = [at("10.0.0.1:9000"), at("10.0.0.2:9000")];
        let public = [at("192.0.2.1:9000"), at("198.51.100.1:9000")];
        // Two validators that dialled each other at once reconnect within a few cooldowns.
        use crate::channels::{LOCAL_PEER_COOLDOWN, PEER_COOLDOWN};
        for (addresses, cooldown) in [
            (&local[..], LOCAL_PEER_COOLDOWN),
            (&private[..], PEER_COOLDOWN),
            (&public[..], PEER_COOLDOWN),
        ] {
            let cfg = p2p_config(addresses, PrivateKey::from_seed(1), addresses[0], &CHAIN);
            assert_eq!(cfg.block_duration, crate::channels::BLOCK_DURATION);
            assert_eq!(cfg.peer_connection_cooldown, cooldown);
        }
        let key = || PrivateKey::from_seed(1);
        assert!(p2p_config(&private, key(), private[0], &CHAIN).allow_private_ips);
        assert!(!p2p_config(&public, key(), public[0], &CHAIN).allow_private_ips);
        let duration = crate::channels::BLOCK_DURATION;
        assert!(duration > std::time::Duration::ZERO);
        assert!(duration <= std::time::Duration::from_secs(4 * 60 * 60));
    }
}
