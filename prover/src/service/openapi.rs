//! The OpenAPI 3.1 description of the service, served at `/openapi.json`.

use super::jobs::JobState;
use super::MAX_WAIT_MS;
use serde_json::{json, Value};
use zkcustoms_http::openapi::error_schema;
use zkcustoms_http::{OpenApi, Operation, Param};

/// The OpenAPI 3.1 description of the service.
pub fn openapi_document() -> Value {
    openapi().into_document()
}

/// The document, to serve.
pub(super) fn openapi() -> OpenApi {
    let job = json!({"$ref": "#/components/schemas/Job"});
    OpenApi::new(
        "zkcustoms prover service",
        env!("CARGO_PKG_VERSION"),
        "Groth16 proofs of zkcustoms statements from witness files, run next to the trader's \
         data. Witnesses are checked natively before proving (422 names the failed check). Fast \
         statements answer the envelope (200) unless mode=job; others answer 202 with a job. A \
         full queue answers 429 with Retry-After.",
    )
    .schema(
        "ProveRequest",
        json!({
            "description": "A witness file (what `zkcustoms example` prints), or an object with the witness and where to submit the proof.",
            "oneOf": [
                {"type": "object", "required": ["statement"]},
                {"type": "object", "required": ["witness"], "properties": {
                    "witness": {"type": "object"},
                    "submit_to": {"type": "object", "required": ["ucr"], "properties": {
                        "ledger": {"type": "string"}, "ucr": {"type": "string"}}},
                }},
            ],
        }),
    )
    .schema(
        "Job",
        json!({
            "type": "object",
            "required": ["id", "statement", "state", "created_ms"],
            "properties": {
                "id": {"type": "string"},
                "statement": {"type": "string"},
                "size_class": {"type": "integer"},
                "state": {"enum": JobState::ALL.iter().map(|s| s.name()).collect::<Vec<_>>()},
                "envelope": {"type": "object"},
                "error": error_schema(),
                "ledger": {"type": "object", "description": "url, ucr, hash, status (pending, included, rejected, failed), height, index, block, reason"},
            },
        }),
    )
    .operation(
        "/v1/proofs/{statement}",
        "post",
        Operation::new("Prove a statement from a witness")
            .param(Param::path(
                "statement",
                json!({"enum": [
                    "aeo-status/v1", "invoice-value/v1", "declaration-match/v1",
                    "aeo-status", "invoice-value", "declaration-match",
                ]}),
            ))
            .param(Param::query("mode", json!({"enum": ["sync", "job"]})))
            .json_body(json!({"$ref": "#/components/schemas/ProveRequest"}))
            .ok(
                "200",
                "the proof envelope (mode sync); Location names the job",
            )
            .ok_schema(
                "202",
                "the job (mode job, or a synchronous proof not finished in time)",
                job.clone(),
            )
            .errors(&["400", "401", "404", "413", "422", "429", "500", "503"]),
    )
    .operation(
        "/v1/jobs/{id}",
        "get",
        Operation::new("A job's state and result")
            .param(Param::path("id", json!({"type": "string"})))
            .param(Param::query(
                "wait_ms",
                json!({"type": "integer", "maximum": MAX_WAIT_MS}),
            ))
            .ok_schema("200", "the job", job)
            .errors(&["400", "401", "404"]),
    )
    .operation(
        "/v1/status",
        "get",
        Operation::new("Circuits served (key ids), workers, queue, jobs, ledgers")
            .ok("200", "status")
            .errors(&["401"]),
    )
}
