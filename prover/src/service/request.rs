//! What a proof request is and how it is checked before anything is queued: the statement named
//! by the path, the body (a witness file, or `{"witness", "submit_to"}`), the ledger target, and
//! the native check of the statement (422 names the check that failed).

use super::jobs::{Prepared, Target};
use super::Inner;
use crate::witness::Witness;
use crate::{ProverError, STATEMENTS};
use serde::Deserialize;
use serde_json::Value;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_http::ApiError;
use zkcustoms_ledger_client::json;
use zkcustoms_ledger_client::tx::{Ucr, LEDGER_SCOPE_DOMAIN};

/// The wrapped form of a proof request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveRequest {
    witness: Value,
    #[serde(default)]
    submit_to: Option<SubmitTo>,
}

/// Where to submit the finished proof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitTo {
    /// Ledger node API address; may be left out when the service knows exactly one.
    #[serde(default)]
    ledger: Option<String>,
    /// Unique consignment reference the proof is about.
    ucr: String,
}

/// The statement id of a path segment: the id itself or its short name (`aeo-status`).
pub(super) fn statement_id(s: &str) -> Option<&'static str> {
    let s = s.trim_matches('/');
    STATEMENTS
        .iter()
        .copied()
        .find(|id| *id == s || id.split('/').next() == Some(s))
}

/// The circuits served, for messages.
pub(super) fn served_list(inner: &Inner) -> String {
    inner
        .keys
        .keys()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses the body, builds the statement and runs the native check (CPU work: call it on a
/// blocking thread).
pub(super) fn prepare(
    inner: &Inner,
    statement: &'static str,
    body: &[u8],
) -> Result<Prepared, ApiError> {
    std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("malformed-json", "the body is not UTF-8"))?;
    let value: Value = json::strict_json(body, body.len()).map_err(|e| {
        ApiError::bad_request("malformed-json", format!("the body is not JSON: {e}"))
    })?;
    let (witness, submit) = if value.get("witness").is_some() {
        let r: ProveRequest = serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request("malformed-request", e.to_string()))?;
        (r.witness, r.submit_to)
    } else {
        (value, None)
    };
    let target = submit.map(|s| resolve_target(inner, s)).transpose()?;
    let mut witness = Witness::from_json(statement, &witness.to_string()).map_err(witness_error)?;
    // An invoice without a size class goes to the smallest class served that holds it.
    let smallest_served = |lines: usize, circuit: fn(SizeClass) -> CircuitId| {
        SizeClass::ALL
            .into_iter()
            .find(|c| c.lines() >= lines && inner.keys.contains_key(&circuit(*c)))
    };
    // An aeo-status proof filed on a ledger must carry that ledger's scope for the consignment,
    // which only the service sets. Brought in by the caller, that scope is someone else's
    // consignment: the proof would let its owner file this holder's certificate as its own.
    match (&target, &mut witness) {
        (Some(t), Witness::AeoStatus(w)) => {
            w.scope = inner.ledger.scope_for(t).map_err(|refusal| {
                let (code, message) = refusal.code();
                ApiError::bad_gateway(code, message.to_owned())
            })?;
        }
        (None, w) if w.brings_ledger_scope() => {
            return Err(ApiError::unprocessable(
                "ledger-scope",
                format!(
                    "the scope is a ledger's scope for a consignment ({LEDGER_SCOPE_DOMAIN}:…), \
                     which the service sets only for submit_to: a proof for a ledger filing \
                     names its consignment in submit_to, and an off-ledger proof its verifier's \
                     challenge"
                ),
            ));
        }
        _ => {}
    }
    match &mut witness {
        Witness::InvoiceValue(w) if w.size_class.is_none() => {
            w.size_class = smallest_served(w.invoice.lines.len(), CircuitId::InvoiceValueV1);
        }
        Witness::DeclarationMatch(w) if w.size_class.is_none() => {
            w.size_class = smallest_served(w.invoice.lines.len(), CircuitId::DeclarationMatchV1);
        }
        _ => {}
    }
    let statement = witness.statement().map_err(witness_error)?;
    statement.check().map_err(witness_error)?;
    let circuit = statement.circuit();
    let key = inner.keys.get(&circuit).cloned().ok_or_else(|| {
        ApiError::unprocessable(
            "circuit-not-served",
            format!(
                "this service has no proving key for {circuit}; it serves {}",
                served_list(inner)
            ),
        )
    })?;
    Ok(Prepared {
        statement,
        key,
        target,
    })
}

fn witness_error(e: ProverError) -> ApiError {
    match e {
        ProverError::MalformedWitness(m) => ApiError::bad_request("malformed-witness", m),
        e @ ProverError::Unsatisfied { .. } => {
            ApiError::unprocessable("unsatisfied-witness", e.to_string())
        }
        _ => ApiError::internal("witness preparation failed"),
    }
}

fn resolve_target(inner: &Inner, s: SubmitTo) -> Result<Target, ApiError> {
    let ledgers = &inner.config.ledgers;
    if ledgers.is_empty() {
        return Err(ApiError::bad_request(
            "submit-not-configured",
            "this service submits to no ledger (start it with --ledger and --ledger-token-file)",
        ));
    }
    let norm = |u: &str| u.trim_end_matches('/').to_owned();
    let ledger = match s.ledger {
        Some(l) => ledgers
            .iter()
            .find(|k| norm(k) == norm(&l))
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(
                    "ledger-not-allowed",
                    format!(
                        "this service submits only to {}",
                        ledgers
                            .iter()
                            .map(|l| norm(l))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
        None if ledgers.len() == 1 => ledgers[0].clone(),
        None => {
            return Err(ApiError::bad_request(
                "ledger-required",
                "this service knows several ledgers: name one in submit_to.ledger",
            ))
        }
    };
    // The ledger's own UCR rule, before any proving.
    let ucr = Ucr::parse(&s.ucr).map_err(|e| ApiError::bad_request("bad-ucr", e.to_string()))?;
    Ok(Target {
        ledger: norm(&ledger),
        ucr,
    })
}
