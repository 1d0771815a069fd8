//! Submitting a finished proof to a ledger node: the ledger's `submit_proof` transaction, signed
//! by the trader, posted with the typed ledger client and the trader token, then its status
//! followed (asked as the trader, by its signature) until it is decided; and the scope an
//! aeo-status proof filed under a consignment on that ledger must carry. This file is the only one
//! that speaks to a ledger.

use super::jobs::Target;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zkcustoms_ledger_client::crypto::{self, PrivateKey};
use zkcustoms_ledger_client::tx::{ledger_scope, Eori, Hash, SubmitProof, Transaction};
use zkcustoms_ledger_client::wire::TxStatusKind;
use zkcustoms_ledger_client::{Client, ClientError};
use zkcustoms_verifier::ProofEnvelope;

/// Longest wait for a connection to a ledger node.
const CONNECT: Duration = Duration::from_secs(5);
/// A submission's time beyond the configured wait for inclusion: learning the chain id once,
/// and posting the transaction.
const SUBMIT_GRACE: Duration = Duration::from_secs(10);
/// Shortest time between two status requests about one transaction.
const POLL_PAUSE: Duration = Duration::from_millis(250);
/// How long before a submission's deadline the node is asked to answer a status request.
const POLL_MARGIN: Duration = Duration::from_secs(2);

/// How the service reaches the ledger nodes it submits to.
pub(super) struct LedgerClient {
    /// The trader token, trimmed.
    token: String,
    /// The trader that signs, and its key.
    signer: Option<(Eori, PrivateKey)>,
    /// How long a submission waits for the ledger to include or reject the transaction.
    wait: Duration,
    /// The chain id of the network, from its genesis (configured, never taken from a node).
    chain: Option<Hash>,
    /// The ledgers that answered that chain id (at most the configured ones).
    confirmed: Mutex<HashSet<String>>,
}

/// Why a ledger is not submitted to.
#[derive(Debug)]
pub(super) enum ChainRefusal {
    /// It could not be asked (or no chain is configured).
    Unreachable(String),
    /// It runs another chain than the configured one.
    Wrong(String),
}

impl ChainRefusal {
    /// The error code and message a request or a job answers.
    pub(super) fn code(&self) -> (&'static str, &str) {
        match self {
            ChainRefusal::Unreachable(m) => ("ledger-unreachable", m),
            ChainRefusal::Wrong(m) => ("ledger-wrong-chain", m),
        }
    }
}

impl LedgerClient {
    /// A client with `token` and the trader's signing key that waits up to `wait` for each
    /// transaction to be decided.
    pub(super) fn new(
        token: Option<&str>,
        signer: Option<(Eori, PrivateKey)>,
        chain: Option<Hash>,
        wait: Duration,
    ) -> Self {
        Self {
            token: token.unwrap_or("").trim().to_owned(),
            signer,
            wait,
            chain,
            confirmed: Mutex::default(),
        }
    }

    /// A client of the ledger at `base` whose requests end by `deadline`.
    fn client(&self, base: &str, deadline: Instant) -> Client {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        Client::with_timeouts(base, &self.token, CONNECT.min(left), left)
    }

    /// The configured chain id, once the ledger at `base` has answered it (asked once, then
    /// remembered): a node of another network is submitted nothing.
    fn chain_id(&self, base: &str, deadline: Instant) -> Result<Hash, ChainRefusal> {
        let expected = self
            .chain
            .ok_or_else(|| ChainRefusal::Unreachable("no ledger genesis is configured".into()))?;
        if self.confirmed.lock().expect("chain lock").contains(base) {
            return Ok(expected);
        }
        let served = self.client(base, deadline).chain_id().map_err(|e| {
            ChainRefusal::Unreachable(format!("cannot learn the ledger's chain id: {e}"))
        })?;
        if served != expected {
            return Err(ChainRefusal::Wrong(format!(
                "the ledger at {base} runs chain {}, not the configured genesis's {}",
                hex::encode(served),
                hex::encode(expected)
            )));
        }
        self.confirmed
            .lock()
            .expect("chain lock")
            .insert(base.to_owned());
        Ok(expected)
    }

    /// The scope an aeo-status proof filed under the target's consignment must carry on the
    /// target's ledger (whose chain is checked first: nothing is proved for a ledger that will
    /// not take it).
    pub(super) fn scope_for(&self, target: &Target) -> Result<String, ChainRefusal> {
        let deadline = Instant::now() + CONNECT + SUBMIT_GRACE;
        let chain = self.chain_id(target.ledger.trim_end_matches('/'), deadline)?;
        Ok(ledger_scope(&chain, &target.ucr))
    }

    /// Posts the `submit_proof` transaction of `envelope` (JSON text) to the target's ledger and
    /// waits (up to the configured time) for the ledger to include or reject it. Answers the
    /// `ledger` part of the job: `url`, `ucr`, and `status` (`included`, `pending`, `rejected`
    /// or `failed`) with `hash`, `height`, `index`, `block`, `http_status` or `reason` as known.
    pub(super) fn submit(&self, target: &Target, envelope: &str) -> Value {
        let base = target.ledger.trim_end_matches('/');
        // One deadline for the whole submission, whatever the node does (a node answering each
        // request slowly must not hold a forwarder longer than one submission's time).
        let deadline = Instant::now() + self.wait + SUBMIT_GRACE;
        let mut out = json!({"url": base, "ucr": target.ucr.as_str()});
        let failed = |out: &mut Value, code: &str, message: String| {
            out["status"] = "failed".into();
            out["reason"] = json!({"error": code, "message": message});
        };
        let tx = match self.signed_tx(base, target, envelope, deadline) {
            Ok(tx) => tx,
            Err((code, message)) => {
                failed(&mut out, code, message);
                return out;
            }
        };
        let hash = match self.client(base, deadline).submit(&tx) {
            Ok(hash) => hash,
            Err(ClientError::Api {
                status,
                code,
                message,
            }) => {
                out["http_status"] = status.into();
                out["status"] = if status == 422 { "rejected" } else { "failed" }.into();
                out["reason"] = json!({"error": code, "message": message});
                return out;
            }
            Err(ClientError::BadAnswer(why)) => {
                failed(&mut out, "bad-answer", why);
                return out;
            }
            Err(e) => {
                failed(&mut out, "ledger-unreachable", e.to_string());
                return out;
            }
        };
        out["hash"] = hex::encode(hash).into();
        out["status"] = "pending".into();
        loop {
            // The node holds the request while the transaction is pending, up to `wait`: asked
            // to answer a little before the deadline, so that its answer is still read.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(POLL_MARGIN);
            if left.is_zero() {
                return out;
            }
            let asked = Instant::now();
            let client = self.client(base, deadline);
            // Asked as the trader, who is told why a refused transaction was refused.
            let status = match &self.signer {
                Some((trader, key)) => client.tx_status_as(&hash, left, (trader.as_str(), key)),
                None => client.tx_status(&hash, left),
            };
            match status {
                Ok(state) if state.status == TxStatusKind::Pending => {
                    // A node that answers at once instead of holding the request is not asked
                    // again at once.
                    let pause = POLL_PAUSE.saturating_sub(asked.elapsed());
                    std::thread::sleep(
                        pause.min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
                Ok(state) => {
                    let v = serde_json::to_value(&state).unwrap_or(Value::Null);
                    for k in ["status", "height", "index", "block", "reason"] {
                        if !v[k].is_null() {
                            out[k] = v[k].clone();
                        }
                    }
                    return out;
                }
                // The transaction was accepted: whatever goes wrong while waiting (the node
                // unreachable, or answering about another transaction), it stays pending.
                Err(_) => return out,
            }
        }
    }

    /// The `submit_proof` transaction of `envelope` (JSON text) under the target's consignment,
    /// signed by the trader on the target's ledger.
    fn signed_tx(
        &self,
        base: &str,
        target: &Target,
        envelope: &str,
        deadline: Instant,
    ) -> Result<Transaction, (&'static str, String)> {
        let (trader, key) = self
            .signer
            .as_ref()
            .ok_or(("not-configured", "no trader signing key".to_string()))?;
        let envelope =
            ProofEnvelope::from_json(envelope).map_err(|e| ("bad-envelope", e.to_string()))?;
        let chain = self.chain_id(base, deadline).map_err(|e| {
            let (code, message) = e.code();
            (code, message.to_owned())
        })?;
        Ok(Transaction::SubmitProof(SubmitProof {
            ucr: target.ucr.clone(),
            envelope,
            trader: trader.clone(),
            signature: crypto::unsigned(),
        })
        .signed(&chain, key))
    }
}
