//! `zkcustoms serve prover`: the prover service over HTTP (see `zkcustoms_prover::service`).

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::service::{self, ProverService, ServiceConfig, ServiceKeys};
use zkcustoms_verifier::KeyDir;

/// `zkcustoms serve`.
#[derive(Subcommand)]
pub enum ServeCommand {
    /// Prove statements over HTTP for the trader's own systems: `POST /v1/proofs/{statement}`
    /// with a witness file, `GET /v1/jobs/{id}`, `/metrics`, `/openapi.json`; runs until SIGINT
    /// or SIGTERM.
    Prover(ProverArgs),
}

/// `zkcustoms serve prover`.
#[derive(Args)]
pub struct ProverArgs {
    /// Key directory (from `setup`): its proving keys are loaded once, checked against their ids.
    #[arg(long, env = "ZKCUSTOMS_KEYS", default_value = "keys")]
    keys: PathBuf,
    /// Serve only these circuits (`aeo-status/v1`, `invoice-value/v1:4`, `invoice-value/v1:16`,
    /// `declaration-match/v1:4`, `declaration-match/v1:16`); every circuit of the key directory
    /// when absent.
    #[arg(long = "circuit")]
    circuits: Vec<String>,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(
        long,
        env = "ZKCUSTOMS_PROVER_LISTEN",
        default_value = "127.0.0.1:8090"
    )]
    listen: SocketAddr,
    /// API token that clients send as `Authorization: Bearer TOKEN` (or `--token-file`).
    #[arg(long, env = "ZKCUSTOMS_PROVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the API token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Proofs made at once (each uses every core through rayon); half the cores, at least 2,
    /// when absent.
    #[arg(long)]
    workers: Option<usize>,
    /// Jobs that may wait for a worker; more are answered 429 with Retry-After.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// Jobs kept in memory (waiting, running and finished); the oldest finished go first.
    #[arg(long, default_value_t = 1024)]
    max_jobs: usize,
    /// How long a finished job's result is kept, in seconds.
    #[arg(long, default_value_t = 600)]
    result_ttl_secs: u64,
    /// Longest time a request may take, in seconds.
    #[arg(long, default_value_t = 60)]
    request_timeout_secs: u64,
    /// How long a synchronous request waits for its proof before answering 202 with the job, in
    /// milliseconds.
    #[arg(long, default_value_t = 30_000)]
    sync_wait_ms: u64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Requests served at once; more are answered 503.
    #[arg(long, default_value_t = 256)]
    max_concurrency: usize,
    /// Requests a second allowed to the API token (bursts of twice as many; more are answered
    /// 429).
    #[arg(long, default_value_t = 1000.0, value_parser = crate::rates::parse_rate)]
    client_rate: f64,
    /// Requests a second allowed to each address without the token, IPv6 by /64 (bursts of
    /// three times as many; more are answered 429).
    #[arg(long, default_value_t = 20.0, value_parser = crate::rates::parse_rate)]
    anonymous_rate: f64,
    /// Ledger node API address that requests may submit proofs to (repeat for several).
    #[arg(long = "ledger")]
    ledgers: Vec<String>,
    /// The genesis file of the ledger network those nodes run (its chain id is what proofs and
    /// signatures name; a node answering another is submitted nothing).
    #[arg(long)]
    ledger_genesis: Option<PathBuf>,
    /// File holding the trader token for the ledger nodes.
    #[arg(long)]
    ledger_token_file: Option<PathBuf>,
    /// The trader's EORI number: it signs the proof transactions it submits.
    #[arg(long, requires = "ledger_key")]
    ledger_trader: Option<String>,
    /// The trader's key file (from `party new`).
    #[arg(long, requires = "ledger_trader")]
    ledger_key: Option<PathBuf>,
    /// How long a submission waits for the ledger to include the transaction, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    ledger_wait_ms: u64,
    /// How long running jobs get to finish at shutdown, in seconds.
    #[arg(long, default_value_t = 60)]
    shutdown_grace_secs: u64,
}

fn read_token(path: &Path) -> Result<String> {
    let text = zkcustoms_ledger_client::crypto::read_secret(path).map_err(|e| anyhow!(e))?;
    Ok(text.trim().to_owned())
}

fn parse_circuit(s: &str) -> Result<CircuitId> {
    let (statement, class) = match s.split_once(':') {
        Some((st, c)) => (st, Some(c)),
        None => (s, None),
    };
    let statement = match statement {
        "aeo-status" => zkcustoms_circuits::aeo_status::ID,
        "invoice-value" => zkcustoms_circuits::invoice_value::ID,
        "declaration-match" => zkcustoms_circuits::declaration_match::ID,
        other => other,
    };
    let class = class
        .map(|c| {
            c.parse::<u32>()
                .map_err(|_| anyhow!("size class {c:?} is not a number"))
                .and_then(|n| SizeClass::try_from(n).map_err(|e| anyhow!(e)))
        })
        .transpose()?;
    CircuitId::from_parts(statement, class).map_err(|e| anyhow!(e))
}

/// Runs `serve`.
pub fn run(cmd: ServeCommand) -> Result<()> {
    let ServeCommand::Prover(a) = cmd;
    // The proof system's spans are always off: they carry witness values (see LOG_DIRECTIVES).
    let wanted = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter =
        tracing_subscriber::EnvFilter::try_new(format!("{wanted},{}", service::LOG_DIRECTIVES))
            .with_context(|| format!("RUST_LOG={wanted:?} is not a valid log filter"))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let token = match (&a.token, &a.token_file) {
        (Some(t), _) => t.trim().to_owned(),
        (None, Some(f)) => read_token(f)?,
        (None, None) => {
            return Err(anyhow!(
                "give --token-file or ZKCUSTOMS_PROVER_TOKEN: the service takes requests only \
                 with its API token"
            ))
        }
    };
    let mut config = ServiceConfig::new(token);
    if let Some(w) = a.workers {
        config.workers = w;
    }
    config.queue = a.queue;
    config.max_jobs = a.max_jobs;
    config.result_ttl = Duration::from_secs(a.result_ttl_secs);
    config.request_timeout = Duration::from_secs(a.request_timeout_secs);
    config.sync_wait = Duration::from_millis(a.sync_wait_ms);
    config.max_body = a.max_body;
    config.max_concurrency = a.max_concurrency;
    config.rates = crate::rates::rates(a.client_rate, a.anonymous_rate);
    config.ledgers = a.ledgers;
    if let Some(path) = &a.ledger_genesis {
        let genesis = zkcustoms_ledger_types::genesis::Genesis::load(path)
            .map_err(|e| anyhow!("genesis {}: {e}", path.display()))?;
        config.ledger_chain = Some(genesis.chain_id);
    }
    config.ledger_token = a.ledger_token_file.as_deref().map(read_token).transpose()?;
    if let (Some(trader), Some(key)) = (&a.ledger_trader, &a.ledger_key) {
        let trader = zkcustoms_ledger_client::tx::Eori::parse(trader)?;
        let key = zkcustoms_ledger_client::crypto::read_private(key).map_err(|e| anyhow!(e))?;
        config.ledger_signer = Some((trader, key));
    }
    config.ledger_wait = Duration::from_millis(a.ledger_wait_ms);

    let circuits = a
        .circuits
        .iter()
        .map(|c| parse_circuit(c))
        .collect::<Result<Vec<_>>>()?;
    let dir = KeyDir::open(&a.keys)?;
    let keys = ServiceKeys::load(&dir, &circuits)?;
    let service = ProverService::start(keys, config)?;
    let listener = std::net::TcpListener::bind(a.listen)
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    service.log_startup(addr);
    let report = service::run_until(
        listener,
        service,
        Duration::from_secs(a.shutdown_grace_secs),
        move || {
            // Signals are caught before the address is known: a client that stops the service
            // as soon as it is told where it listens gets a graceful shutdown.
            let stop = service::shutdown_signal()?;
            // The first line of standard output says where the service listens (port 0 picks
            // one).
            println!("listening on http://{addr}");
            let _ = std::io::stdout().flush();
            Ok(stop)
        },
    )?;
    if !report.drained {
        return Err(anyhow!(
            "running jobs did not finish within {} s",
            a.shutdown_grace_secs
        ));
    }
    Ok(())
}
