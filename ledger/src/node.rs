//! A ledger node: RocksDB under `DATA_DIR/ledger`, consensus journals under
//! `DATA_DIR/consensus`, the validators' authenticated peer-to-peer network, Simplex consensus,
//! and the HTTP API, until SIGINT or SIGTERM.

use crate::api::{self, ApiState, Tokens};
use crate::chain::{Chain, MempoolLimits};
use crate::consensus::{Application, Scheme};
use crate::crypto;
use crate::genesis::{Genesis, NodeConfig};
use crate::store::Store;
use commonware_consensus::simplex::{self, elector::RoundRobin};
use commonware_consensus::types::{Epoch, ViewDelta};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{Sha256, Signer as _};
use commonware_p2p::{authenticated::discovery, Manager as _};
use commonware_parallel::Sequential;
use commonware_runtime::{
    buffer::paged::CacheRef, tokio as cw_tokio, Quota, Runner as _, Supervisor as _,
};
use commonware_utils::{ordered::Set, NZUsize, TryCollect, NZU16, NZU32};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// Signature namespace of consensus messages.
pub const CONSENSUS_NAMESPACE: &[u8] = b"zkcustoms/consensus/v1";
/// Signature namespace of the peer-to-peer handshake.
pub const P2P_NAMESPACE: &[u8] = b"zkcustoms/p2p/v1";

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
}

/// Why a node could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Genesis or configuration.
    #[error(transparent)]
    Genesis(#[from] crate::genesis::GenesisError),
    /// Storage or keys.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// Another problem at start.
    #[error("{0}")]
    Start(String),
}

/// Runs a node until SIGINT or SIGTERM.
pub fn run(opts: NodeOptions) -> Result<(), NodeError> {
    run_until(opts, shutdown_signal())
}

/// Runs a node until `stop` resolves (then the API shuts down gracefully and the node returns).
pub fn run_until(
    opts: NodeOptions,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
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
    let store =
        Store::open(&opts.data_dir.join("ledger")).map_err(|e| NodeError::Start(e.to_string()))?;
    let chain = Arc::new(Chain::open(
        genesis.clone(),
        store,
        Some(&config.keys),
        crypto::public_bytes(&me),
        opts.mempool,
    )?);
    let (height, tip) = chain.tip();
    info!(
        chain = %hex::encode(genesis.chain_id),
        height,
        tip = %hex::encode(tip),
        "ledger opened"
    );
    let tokens = Tokens::new(&config.tokens);
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

    let validators: Set<_> = genesis
        .validators
        .iter()
        .cloned()
        .try_collect()
        .map_err(|_| NodeError::Start("validator keys are not unique".into()))?;
    let bootstrappers = genesis
        .validators
        .iter()
        .zip(&genesis.file.validators)
        .filter(|(k, _)| **k != me)
        .map(|(k, v)| (k.clone(), v.p2p_address.into()))
        .collect::<Vec<_>>();
    let p2p_cfg = discovery::Config::local(
        signer.clone(),
        P2P_NAMESPACE,
        p2p_address,
        p2p_address,
        bootstrappers,
        1024 * 1024,
    );
    let runtime_cfg =
        cw_tokio::Config::new().with_storage_directory(opts.data_dir.join("consensus"));
    let executor = cw_tokio::Runner::new(runtime_cfg);
    let genesis_digest = Digest(genesis.chain_id);
    executor.start(async move |context| {
        let (mut network, mut oracle) = discovery::Network::new(context.child("network"), p2p_cfg);
        oracle.track(0, validators.clone());
        let quota = Quota::per_second(NZU32!(1000));
        let (vote_tx, vote_rx) = network.register(0, quota, 1024);
        let (cert_tx, cert_rx) = network.register(1, quota, 1024);
        let (res_tx, res_rx) = network.register(2, quota, 1024);

        let scheme = Scheme::signer(CONSENSUS_NAMESPACE, validators.clone(), signer.clone())
            .expect("the validator key is in genesis");
        let leader_timeout = Duration::from_secs(2);
        let (application, mailbox, reporter) = Application::new(
            context.child("application"),
            chain.clone(),
            NZUsize!(1024),
            Duration::from_millis(1500),
        );
        let cfg = simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: oracle,
            automaton: mailbox.clone(),
            relay: mailbox,
            reporter,
            partition: "zkcustoms".to_string(),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            leader_timeout,
            certification_timeout: leader_timeout * 2,
            timeout_retry: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(1),
            activity_timeout: ViewDelta::new(10),
            skip_timeout: ViewDelta::new(5),
            fetch_concurrent: NZUsize!(32),
            page_cache: CacheRef::from_pooler(&context, NZU16!(16_384), NZUsize!(10_000)),
            strategy: Sequential,
            forwarding: simplex::ForwardingPolicy::Disabled,
        };
        let engine = simplex::Engine::new(context.child("engine"), cfg);
        application.start();
        network.start();
        engine.start((vote_tx, vote_rx), (cert_tx, cert_rx), (res_tx, res_rx));

        let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
        let state = ApiState {
            chain,
            tokens,
            max_body: opts.max_body,
            max_concurrency: opts.max_concurrency,
        };
        info!(api = %opts.listen, p2p = %p2p_address, "node running");
        if let Err(e) = axum::serve(listener, api::router(state))
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "API server failed");
        }
        info!("node stopped");
    });
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
