//! Submitting a finished proof to a ledger node: the ledger's `submit_proof` transaction posted
//! with the typed ledger client and the trader token, then its status followed until it is
//! decided. This file is the only one that speaks to a ledger.

use super::jobs::Target;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use zkcustoms_ledger_client::wire::TxStatusKind;
use zkcustoms_ledger_client::{Client, ClientError};

/// How the service reaches the ledger nodes it submits to.
pub(super) struct LedgerClient {
    /// The trader token, trimmed.
    token: String,
    /// How long a submission waits for the ledger to include or reject the transaction.
    wait: Duration,
}

impl LedgerClient {
    /// A client with `token` that waits up to `wait` for each transaction to be decided.
    pub(super) fn new(token: Option<&str>, wait: Duration) -> Self {
        Self {
            token: token.unwrap_or("").trim().to_owned(),
            wait,
        }
    }

    /// Posts the `submit_proof` transaction of `envelope` (JSON text) to the target's ledger and
    /// waits (up to the configured time) for the ledger to include or reject it. Answers the
    /// `ledger` part of the job: `url`, `ucr`, and `status` (`included`, `pending`, `rejected`
    /// or `failed`) with `hash`, `height`, `index`, `block`, `http_status` or `reason` as known.
    pub(super) fn submit(&self, target: &Target, envelope: &str) -> Value {
        let base = target.ledger.trim_end_matches('/');
        let client = Client::with_timeouts(
            base,
            &self.token,
            Duration::from_secs(5),
            self.wait + Duration::from_secs(15),
        );
        let mut out = json!({"url": base, "ucr": target.ucr});
        let envelope: Value = serde_json::from_str(envelope).unwrap_or(Value::Null);
        let tx = json!({"type": "submit_proof", "ucr": target.ucr, "envelope": envelope});
        let failed = |out: &mut Value, code: &str, message: String| {
            out["status"] = "failed".into();
            out["reason"] = json!({"error": code, "message": message});
        };
        let hash = match client.submit_json(&tx) {
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
            Err(ClientError::BadAnswer(_)) => {
                failed(
                    &mut out,
                    "bad-answer",
                    "the ledger answered no transaction hash".into(),
                );
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
                // The transaction was accepted: whatever goes wrong while waiting, it stays
                // pending.
                Err(_) => return out,
            }
        }
    }
}
