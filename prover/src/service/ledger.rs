//! Submitting a finished proof to a ledger node: the ledger's `submit_proof` transaction, signed
//! by the trader, posted with the typed ledger client and the trader token, then its status
//! followed until it is decided; and the scope an aeo-status proof filed under a consignment on
//! that ledger must carry. This file is the only one that speaks to a ledger.

use super::jobs::Target;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zkcustoms_ledger_client::crypto::{self, PrivateKey};
use zkcustoms_ledger_client::tx::{ledger_scope, Eori, Hash, SubmitProof, Transaction, Ucr};
use zkcustoms_ledger_client::wire::TxStatusKind;
use zkcustoms_ledger_client::{Client, ClientError};
use zkcustoms_verifier::ProofEnvelope;

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

    fn client(&self, base: &str) -> Client {
        Client::with_timeouts(
            base,
            &self.token,
            Duration::from_secs(5),
            self.wait + Duration::from_secs(15),
        )
    }

    /// The configured chain id, once the ledger at `base` has answered it (asked once, then
    /// remembered): a node of another network is submitted nothing.
    fn chain_id(&self, base: &str) -> Result<Hash, ChainRefusal> {
        let expected = self
            .chain
            .ok_or_else(|| ChainRefusal::Unreachable("no ledger genesis is configured".into()))?;
        if self.confirmed.lock().expect("chain lock").contains(base) {
            return Ok(expected);
        }
        let served = self.client(base).chain_id().map_err(|e| {
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
        let ucr = Ucr::parse(&target.ucr).map_err(|e| ChainRefusal::Unreachable(e.to_string()))?;
        let chain = self.chain_id(target.ledger.trim_end_matches('/'))?;
        Ok(ledger_scope(&chain, &ucr))
    }

    /// Posts the `submit_proof` transaction of `envelope` (JSON text) to the target's ledger and
    /// waits (up to the configured time) for the ledger to include or reject it. Answers the
    /// `ledger` part of the job: `url`, `ucr`, and `status` (`included`, `pending`, `rejected`
    /// or `failed`) with `hash`, `height`, `index`, `block`, `http_status` or `reason` as known.
    pub(super) fn submit(&self, target: &Target, envelope: &str) -> Value {
        let base = target.ledger.trim_end_matches('/');
        let client = self.client(base);
        let mut out = json!({"url": base, "ucr": target.ucr});
        let failed = |out: &mut Value, code: &str, message: String| {
            out["status"] = "failed".into();
            out["reason"] = json!({"error": code, "message": message});
        };
        let tx = match self.signed_tx(base, target, envelope) {
            Ok(tx) => tx,
            Err((code, message)) => {
                failed(&mut out, code, message);
                return out;
            }
        };
        let hash = match client.submit(&tx) {
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
                failed(&mut out, "unreachable", e.to_string());
                return out;
            }
        };
        out["hash"] = hex::encode(hash).into();
        out["status"] = "pending".into();
        let deadline = Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            match client.tx_status(&hash, left) {
                Ok(state) if state.status == TxStatusKind::Pending => continue,
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
    ) -> Result<Transaction, (&'static str, String)> {
        let (trader, key) = self
            .signer
            .as_ref()
            .ok_or(("not-configured", "no trader signing key".to_string()))?;
        let envelope =
            ProofEnvelope::from_json(envelope).map_err(|e| ("bad-envelope", e.to_string()))?;
        let ucr = Ucr::parse(&target.ucr).map_err(|e| ("bad-ucr", e.to_string()))?;
        let chain = self.chain_id(base).map_err(|e| match e {
            ChainRefusal::Unreachable(m) => ("unreachable", m),
            ChainRefusal::Wrong(m) => ("ledger-wrong-chain", m),
        })?;
        Ok(Transaction::SubmitProof(SubmitProof {
            ucr,
            envelope,
            trader: trader.clone(),
            signature: crypto::unsigned(),
        })
        .signed(&chain, key))
    }
}
