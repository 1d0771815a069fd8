//! How the service runs ([`ServiceConfig`]), what it serves ([`ServiceKeys`]) and why it could not
//! start ([`ServiceError`]).

use crate::{ProverError, ProvingKey};
use std::time::Duration;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_client::crypto::PrivateKey;
use zkcustoms_ledger_client::tx::Eori;
use zkcustoms_verifier::KeyDir;

/// The longest duration the configuration takes (result lifetime, timeouts, waits; longer is
/// refused), and the longest shutdown grace waited for (a longer one is cut to it): 30 days.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// How the service runs.
#[derive(Clone)]
pub struct ServiceConfig {
    /// The API token clients send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Proofs made at once (each uses rayon inside).
    pub workers: usize,
    /// Jobs waiting for a worker; more are answered `429`.
    pub queue: usize,
    /// Jobs kept in memory (waiting, running and finished); finished jobs are dropped oldest
    /// first beyond it, and when every kept job is still running new ones are answered `429`.
    pub max_jobs: usize,
    /// How long a finished job's result is kept.
    pub result_ttl: Duration,
    /// Longest time a request may take; a synchronous request answers `202` with its job id
    /// before this.
    pub request_timeout: Duration,
    /// How long a synchronous request waits for its proof before answering `202`.
    pub sync_wait: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Requests served at once; more are shed with `503`.
    pub max_concurrency: usize,
    /// The rates the API token and each anonymous address are charged at (`429` above them);
    /// a request with a body and no valid token is refused before its body is read.
    pub rates: zkcustoms_http::Rates,
    /// Ledger node API addresses (`http://127.0.0.1:8080`) that `submit_to` may name.
    pub ledgers: Vec<String>,
    /// The chain id (genesis hash) of the ledger network those nodes run, from the genesis file
    /// the trader holds (required with ledgers): an aeo-status proof's scope and every
    /// transaction signature name it, and a node that answers another chain id is submitted
    /// nothing (`ledger-wrong-chain`). A node is not trusted to say which network it is.
    pub ledger_chain: Option<zkcustoms_ledger_client::tx::Hash>,
    /// Trader token for the ledger nodes.
    pub ledger_token: Option<String>,
    /// The trader that signs the `submit_proof` transactions: its EORI number and key (required
    /// with ledgers).
    pub ledger_signer: Option<(Eori, PrivateKey)>,
    /// How long a submission waits for the ledger to include or reject the transaction.
    pub ledger_wait: Duration,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("workers", &self.workers)
            .field("queue", &self.queue)
            .field("max_jobs", &self.max_jobs)
            .field("result_ttl", &self.result_ttl)
            .field("request_timeout", &self.request_timeout)
            .field("sync_wait", &self.sync_wait)
            .field("max_body", &self.max_body)
            .field("max_concurrency", &self.max_concurrency)
            .field("rates", &self.rates)
            .field("ledgers", &self.ledgers)
            .field("ledger_chain", &self.ledger_chain.map(hex::encode))
            // Whether a trader signs, not which: its EORI may be a certificate's operator id, a
            // witness value of aeo-status, which no log may hold.
            .field("ledger_signer", &self.ledger_signer.is_some())
            .field("ledger_wait", &self.ledger_wait)
            .finish_non_exhaustive()
    }
}

impl ServiceConfig {
    /// A configuration with this API token and the defaults: half the cores as workers (at least
    /// two: on two cores, two workers prove about 7% more than one), a queue of 64, 1024 jobs
    /// kept for 10 minutes, 60 s per request, 30 s of synchronous wait, 1 MiB bodies, 256
    /// requests at once, the toolkit's default rates, no ledger.
    pub fn new(token: impl Into<String>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            token: token.into(),
            workers: (cores / 2).max(2),
            queue: 64,
            max_jobs: 1024,
            result_ttl: Duration::from_secs(600),
            request_timeout: Duration::from_secs(60),
            sync_wait: Duration::from_secs(30),
            max_body: 1024 * 1024,
            max_concurrency: 256,
            rates: zkcustoms_http::Rates::default(),
            ledgers: Vec::new(),
            ledger_chain: None,
            ledger_token: None,
            ledger_signer: None,
            ledger_wait: Duration::from_secs(30),
        }
    }

    /// Checks the configuration: credentials present, sizes at least 1, and every duration at
    /// most [`MAX_DURATION`] (a deadline computed from it must stay representable).
    pub fn check(&self) -> Result<(), ServiceError> {
        let bad = |m: &str| Err(ServiceError::Config(m.into()));
        if self.token.trim().len() < 16 {
            return bad("the API token must be at least 16 characters");
        }
        if self.workers == 0 || self.queue == 0 || self.max_concurrency == 0 {
            return bad("workers, queue and concurrency must be at least 1");
        }
        if self.max_jobs < self.queue + self.workers {
            return bad("max jobs must be at least queue + workers");
        }
        for (name, d) in [
            ("result lifetime", self.result_ttl),
            ("request timeout", self.request_timeout),
            ("synchronous wait", self.sync_wait),
            ("ledger wait", self.ledger_wait),
        ] {
            if d > MAX_DURATION {
                return Err(ServiceError::Config(format!(
                    "the {name} must be at most {} days",
                    MAX_DURATION.as_secs() / 86_400
                )));
            }
        }
        if !self.ledgers.is_empty() && self.ledger_token.is_none() {
            return bad("a ledger needs a trader token");
        }
        if !self.ledgers.is_empty() && self.ledger_signer.is_none() {
            return bad("a ledger needs the trader's EORI number and signing key");
        }
        if !self.ledgers.is_empty() && self.ledger_chain.is_none() {
            return bad("a ledger needs the genesis of its network (its chain id)");
        }
        for l in &self.ledgers {
            if !(l.starts_with("http://") || l.starts_with("https://")) {
                return Err(ServiceError::Config(format!(
                    "ledger {l:?} must be an http:// or https:// address"
                )));
            }
        }
        Ok(())
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The configuration is not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No proving key to serve.
    #[error("no proving key to serve: the key directory has none of the circuits asked for")]
    NoKeys,
    /// A key could not be loaded.
    #[error(transparent)]
    Prover(#[from] ProverError),
    /// A thread or socket could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The proving keys a service serves, loaded once and checked against their ids.
pub struct ServiceKeys {
    pub(super) keys: Vec<ProvingKey>,
    pub(super) development: bool,
}

impl std::fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceKeys")
            .field("keys", &self.keys)
            .field("development", &self.development)
            .finish()
    }
}

impl ServiceKeys {
    /// Loads the proving keys of `only` (every circuit of the directory when empty) with
    /// [`ProvingKey::load`], and makes the fixed-base tables of their small queries
    /// ([`ProvingKey::precompute_tables`]): a service proves many times with each key.
    pub fn load(dir: &KeyDir, only: &[CircuitId]) -> Result<Self, ServiceError> {
        let circuits: Vec<CircuitId> = if only.is_empty() {
            dir.circuits().collect()
        } else {
            only.to_vec()
        };
        let keys = circuits
            .into_iter()
            .map(|c| {
                let mut key = ProvingKey::load(dir, c)?;
                key.precompute_tables();
                Ok(key)
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        Ok(Self {
            keys,
            development: dir.manifest().development,
        })
    }

    /// Keys loaded elsewhere; `development` says whether they are development keys.
    pub fn new(keys: Vec<ProvingKey>, development: bool) -> Self {
        Self { keys, development }
    }
}
