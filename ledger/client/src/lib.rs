//! zkcustoms ledger client: the typed blocking client of a ledger node's `/v1` API, used by the
//! CLI (`zkcustoms submit`, `query`, `document`), the prover service (submitting a finished proof)
//! and the audit (reading a node's blocks). Bodies are the shared [`zkcustoms_ledger_types::wire`]
//! structs, so the client and the server cannot drift apart.

use serde_json::Value;
use std::time::{Duration, Instant};
use zkcustoms_ledger_types::tx::DocumentKey;
use zkcustoms_ledger_types::tx::{Hash, Role, Transaction};
pub use zkcustoms_ledger_types::wire;
use zkcustoms_ledger_types::wire::{parse_hash, Submitted, TxState, TxStatusKind, MAX_WAIT_MS};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node answered with an error.
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code (for 422: the rule that failed).
        code: String,
        /// The node's explanation.
        message: String,
    },
    /// The node could not be reached or answered something else than JSON.
    #[error("cannot reach the node: {0}")]
    Transport(String),
    /// The node answered JSON that is not the API's answer.
    #[error("unexpected answer from the node: {0}")]
    BadAnswer(String),
    /// A transaction was not decided in time.
    #[error("transaction {0} is still pending after the wait")]
    StillPending(String),
}

/// A client of one node, with one role token.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

impl Client {
    /// A client of the node at `base` (`http://127.0.0.1:8080`): 60 s per request.
    pub fn new(base: &str, token: &str) -> Self {
        Self::with_timeouts(
            base,
            token,
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
    }

    /// A client of the node at `base` that gives up connecting after `connect` and on a request
    /// after `request`. It never follows a redirect: a node answers itself.
    pub fn with_timeouts(base: &str, token: &str, connect: Duration, request: Duration) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(connect)
                .timeout(request)
                .redirects(0)
                .build(),
        }
    }

    fn answer(r: Result<ureq::Response, ureq::Error>) -> Result<Value, ClientError> {
        match r {
            Ok(resp) => resp
                .into_json::<Value>()
                .map_err(|e| ClientError::BadAnswer(e.to_string())),
            Err(ureq::Error::Status(status, resp)) => {
                let body: Value = resp.into_json().unwrap_or(Value::Null);
                Err(ClientError::Api {
                    status,
                    code: body["error"].as_str().unwrap_or("unknown").to_owned(),
                    message: body["message"].as_str().unwrap_or("").to_owned(),
                })
            }
            Err(e) => Err(ClientError::Transport(e.to_string())),
        }
    }

    /// GET a path (with query) and parse the JSON answer.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        Self::answer(
            self.agent
                .get(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    /// POST JSON to a path and parse the JSON answer.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        Self::answer(
            self.agent
                .post(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {}", self.token))
                .send_json(body),
        )
    }

    /// Submits a transaction; answers its hash.
    pub fn submit(&self, tx: &Transaction) -> Result<Hash, ClientError> {
        self.submit_json(&tx.to_json())
    }

    /// Submits a transaction given as its JSON form (the node decodes and checks it in full);
    /// answers its hash.
    pub fn submit_json(&self, tx: &Value) -> Result<Hash, ClientError> {
        let v = self.post("/v1/transactions", tx)?;
        let submitted: Submitted = serde_json::from_value(v)
            .map_err(|e| ClientError::BadAnswer(format!("to a submission: {e}")))?;
        Ok(submitted.hash)
    }

    /// Where a transaction stands, waiting up to `wait` (at most [`MAX_WAIT_MS`]) while it is
    /// pending.
    pub fn tx_status(&self, hash: &Hash, wait: Duration) -> Result<TxState, ClientError> {
        let wait_ms = wait.as_millis().min(u128::from(MAX_WAIT_MS)) as u64;
        let v = self.get(&format!(
            "/v1/transactions/{}?wait_ms={wait_ms}",
            hex::encode(hash)
        ))?;
        serde_json::from_value(v)
            .map_err(|e| ClientError::BadAnswer(format!("transaction status: {e}")))
    }

    /// Waits until a transaction is included or rejected, up to `timeout`.
    pub fn wait(&self, hash: &Hash, timeout: Duration) -> Result<TxState, ClientError> {
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            let state = self.tx_status(hash, left)?;
            if state.status != TxStatusKind::Pending {
                return Ok(state);
            }
            if start.elapsed() >= timeout {
                return Err(ClientError::StillPending(hex::encode(hash)));
            }
        }
    }

    fn document_path(id: &DocumentKey) -> String {
        format!("/v1/documents/{}/{}/{}", id.ucr, id.doc_type, id.version)
    }

    /// Uploads the bytes of an anchored document with its access list (roles that may read it
    /// besides the trader); answers the node's record of it.
    pub fn put_document(
        &self,
        id: &DocumentKey,
        bytes: &[u8],
        readers: &[Role],
    ) -> Result<Value, ClientError> {
        let readers: Vec<&str> = readers.iter().map(|r| r.name()).collect();
        Self::answer(
            self.agent
                .post(&format!("{}{}", self.base, Self::document_path(id)))
                .query("readers", &readers.join(","))
                .set("Authorization", &format!("Bearer {}", self.token))
                .set("Content-Type", "application/octet-stream")
                .send_bytes(bytes),
        )
    }

    /// Reads a document's bytes (at most `max_bytes`).
    pub fn get_document(&self, id: &DocumentKey, max_bytes: usize) -> Result<Vec<u8>, ClientError> {
        let r = self
            .agent
            .get(&format!("{}{}", self.base, Self::document_path(id)))
            .set("Authorization", &format!("Bearer {}", self.token))
            .call();
        match r {
            Ok(resp) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(resp.into_reader(), max_bytes as u64 + 1),
                    &mut bytes,
                )
                .map_err(|e| ClientError::Transport(e.to_string()))?;
                if bytes.len() > max_bytes {
                    return Err(ClientError::Transport(format!(
                        "the document is larger than {max_bytes} bytes"
                    )));
                }
                Ok(bytes)
            }
            Err(e) => Self::answer(Err(e)).map(|_| Vec::new()),
        }
    }

    /// Forgets a document (its key is destroyed on the node); answers the node's record of it.
    pub fn forget_document(&self, id: &DocumentKey) -> Result<Value, ClientError> {
        Self::answer(
            self.agent
                .delete(&format!("{}{}", self.base, Self::document_path(id)))
                .set("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    /// The node's status.
    pub fn status(&self) -> Result<Value, ClientError> {
        self.get("/v1/status")
    }

    /// The chain id (genesis hash) the node runs.
    pub fn chain_id(&self) -> Result<Hash, ClientError> {
        let v = self.status()?;
        v["chain_id"]
            .as_str()
            .and_then(parse_hash)
            .ok_or_else(|| ClientError::BadAnswer("the node answered no chain id".into()))
    }
}
