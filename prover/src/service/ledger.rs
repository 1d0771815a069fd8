//! Submitting a finished proof to a ledger node: the ledger's `submit_proof` transaction posted
//! over its HTTP API with the trader token, then its status followed until it is decided. This
//! file is the only one that speaks to a ledger.

use super::jobs::Target;
use super::MAX_WAIT_MS;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A client of the ledger nodes the service submits to.
pub(super) struct LedgerClient {
    agent: ureq::Agent,
    /// The trader token, trimmed.
    token: String,
    /// How long a submission waits for the ledger to include or reject the transaction.
    wait: Duration,
}

impl LedgerClient {
    /// A client with `token` that waits up to `wait` for each transaction to be decided.
    pub(super) fn new(token: Option<&str>, wait: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout(wait + Duration::from_secs(15))
            .redirects(0)
            .build();
        Self {
            agent,
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
        let auth = format!("Bearer {}", self.token);
        let mut out = json!({"url": base, "ucr": target.ucr});
        let envelope: Value = serde_json::from_str(envelope).unwrap_or(Value::Null);
        let tx = json!({"type": "submit_proof", "ucr": target.ucr, "envelope": envelope});
        let failed = |out: &mut Value, code: &str, message: String| {
            out["status"] = "failed".into();
            out["reason"] = json!({"error": code, "message": message});
        };
        let answer = self
            .agent
            .post(&format!("{base}/v1/transactions"))
            .set("Authorization", &auth)
            .send_json(&tx);
        let hash = match answer {
            Ok(r) => match r.into_json::<Value>() {
                Ok(v) if v["hash"].is_string() => v["hash"].as_str().unwrap_or("").to_owned(),
                _ => {
                    failed(
                        &mut out,
                        "bad-answer",
                        "the ledger answered no transaction hash".into(),
                    );
                    return out;
                }
            },
            Err(ureq::Error::Status(code, r)) => {
                let body: Value = r.into_json().unwrap_or(Value::Null);
                let reason = json!({
                    "error": body["error"].as_str().unwrap_or("unknown"),
                    "message": body["message"].as_str().unwrap_or(""),
                });
                out["http_status"] = code.into();
                out["status"] = if code == 422 { "rejected" } else { "failed" }.into();
                out["reason"] = reason;
                return out;
            }
            Err(e) => {
                failed(&mut out, "unreachable", e.to_string());
                return out;
            }
        };
        out["hash"] = hash.clone().into();
        out["status"] = "pending".into();
        let deadline = Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            let wait_ms = (left.as_millis() as u64).min(MAX_WAIT_MS);
            let r = self
                .agent
                .get(&format!("{base}/v1/transactions/{hash}?wait_ms={wait_ms}"))
                .set("Authorization", &auth)
                .call();
            match r.map(|r| r.into_json::<Value>()) {
                Ok(Ok(v)) => match v["status"].as_str() {
                    Some("pending") => continue,
                    Some(status) => {
                        out["status"] = status.into();
                        for k in ["height", "index", "block", "reason"] {
                            if !v[k].is_null() {
                                out[k] = v[k].clone();
                            }
                        }
                        return out;
                    }
                    None => return out,
                },
                // The transaction was accepted: whatever goes wrong while waiting, it stays
                // pending.
                _ => return out,
            }
        }
    }
}
