//! The OpenAPI 3.1 description of a node's JSON API, served at `/openapi.json`.

use serde_json::json;
use zkcustoms_http::{OpenApi, Operation, Param};
use zkcustoms_ledger_core::queries::{DEFAULT_PAGE, MAX_CURSOR_LEN, MAX_PAGE};
use zkcustoms_ledger_core::rules::REJECTION_CODES;
use zkcustoms_ledger_types::wire::MAX_WAIT_MS;

/// The document.
pub fn document() -> OpenApi {
    let string = json!({"type": "string"});
    let hash = || Param::path("hash", json!({"type": "string"})).required();
    let doc_errors = ["400", "401", "403", "404", "410", "421", "503"];
    // Every list is read a page at a time: `cursor` is a `next_cursor` a page answered (400
    // bad-cursor otherwise), `limit` the page size (400 bad-query out of range).
    let cursor = || {
        Param::query(
            "cursor",
            json!({"type": "string", "pattern": "^v1\\.[0-9a-f]+$", "maxLength": MAX_CURSOR_LEN}),
        )
        .description("where the page starts: the next_cursor of the previous page (absent: the first page); anything else is 400 bad-cursor")
    };
    let limit = || {
        Param::query(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE}),
        )
        .description("items per page; out of range is 400 bad-query")
    };
    OpenApi::new(
        "zkcustoms ledger node",
        env!("CARGO_PKG_VERSION"),
        "Permissioned ledger of zero-knowledge proofs for Customs. Rejection codes (422): "
            .to_string()
            + &REJECTION_CODES.join(", "),
    )
    .schema(
        "Transaction",
        json!({
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["publish_root", "anchor_document", "submit_proof", "mark_examination"]}},
        }),
    )
    .operation(
        "/v1/transactions",
        "post",
        Operation::new("Submit a transaction (role by kind: authority, trader, customs)")
            .json_body(json!({"$ref": "#/components/schemas/Transaction"}))
            .ok("202", "accepted into the mempool: {hash, status}")
            .errors(&["400", "401", "403", "413", "422", "429", "503"]),
    )
    .operation(
        "/v1/transactions/{hash}",
        "get",
        Operation::new(
            "Status of a transaction: pending, included (height, index, block) or rejected (reason: its code, and its message for the signer by its own signature, customs and auditors)",
        )
        .param(hash())
        .param(Param::query(
            "wait_ms",
            json!({"type": "integer", "maximum": MAX_WAIT_MS}),
        ))
        .ok("200", "status")
        .errors(&["400", "401", "404"]),
    )
    .operation(
        "/v1/transactions/{hash}/inclusion",
        "get",
        Operation::new("Inclusion proof of a finalized transaction (customs, auditor): the transaction, its RFC 6962 Merkle path, the block header (and the headers up to the certified descendant, if any) and the finalization certificate; `zkcustoms verify-inclusion` checks it offline against the genesis file")
            .param(hash())
            .ok("200", "inclusion proof (format zkcustoms-inclusion/v1)")
            .errors(&["400", "401", "403", "404"]),
    )
    .operation(
        "/v1/blocks",
        "get",
        Operation::new("Finalized block headers, newest first, a page at a time (customs, auditor): {blocks: [{height, hash, parent, timestamp_ms, tx_root, tx_count, proposer}], next_cursor} (next_cursor null on the last page; blocks finalized meanwhile never shift a walk)")
            .param(cursor())
            .param(limit())
            .ok("200", "block headers")
            .errors(&["400", "401", "403"]),
    )
    .operation(
        "/v1/blocks/latest",
        "get",
        Operation::new("The latest finalized block (customs, auditor)")
            .ok("200", "block")
            .errors(&["401", "403", "404"]),
    )
    .operation(
        "/v1/blocks/{height}",
        "get",
        Operation::new("A finalized block (customs, auditor)")
            .param(Param::path("height", json!({"type": "integer"})).required())
            .ok("200", "block")
            .errors(&["400", "401", "403", "404"]),
    )
    .operation(
        "/v1/records",
        "get",
        Operation::new("The records of a consignment, a page at a time (customs, auditor; a trader for its own consignments): the page's records in ledger order and next_cursor (null on the last page), the examination mark, and per document type (at most 64; documents_complete) the current version, the number of versions and the latest 16 (history_complete; each version's digest, height, transaction hash, superseded-by, and the node's off-ledger copy: stored or forgotten, may_read for the caller, and its readers for the consignment's owner and delegates only)")
            .param(Param::query("ucr", string.clone()).required())
            .param(cursor())
            .param(limit())
            .ok("200", "records")
            .errors(&["400", "401", "403"]),
    )
    .operation(
        "/v1/records/history",
        "get",
        Operation::new("Every anchored version of every document of a consignment, grouped by document type, each oldest first, a page at a time (who may read its records): each version's digest, height, transaction hash, superseded-by and the node's off-ledger copy (as in the records), and next_cursor")
            .param(Param::query("ucr", string.clone()).required())
            .param(cursor())
            .param(limit())
            .ok("200", "versions")
            .errors(&["400", "401", "403"]),
    )
    .path_parameters(
        "/v1/documents/{ucr}/{doc_type}/{version}",
        [
            Param::path("ucr", string.clone()).required(),
            Param::path("doc_type", string.clone()).required(),
            Param::path("version", json!({"type": "integer", "minimum": 1})).required(),
        ],
    )
    .operation(
        "/v1/documents/{ucr}/{doc_type}/{version}",
        "post",
        Operation::new("Upload the bytes of an anchored document (trader): their SHA-256 must be the anchored digest (for invoices: the canonical encoding); stored encrypted under a key of its own; once per document")
            .param(Param::query("readers", string.clone()).description("roles that may read it besides the trader, comma-separated (customs, auditor, authority)"))
            .body("application/octet-stream", json!({}))
            .ok("201", "stored: {ucr, doc_type, version, document: {digest, size, readers, uploaded_at_ms, state}}")
            .errors(&["400", "401", "403", "404", "409", "410", "413", "421", "422", "503"]),
    )
    .operation(
        "/v1/documents/{ucr}/{doc_type}/{version}",
        "get",
        Operation::new("Read a document (roles on its access list): the plaintext bytes; 410 once forgotten")
            .response("200", json!({"description": "the document", "content": {"application/octet-stream": {}}}))
            .errors(&doc_errors),
    )
    .operation(
        "/v1/documents/{ucr}/{doc_type}/{version}",
        "delete",
        Operation::new("Forget a document (trader, customs): its key and ciphertext are destroyed and erased from the node's files; the digest and every proof stay on the ledger")
            .ok("200", "forgotten: the document's record with forgotten_by and forgotten_at_ms")
            .errors(&doc_errors),
    )
    .operation(
        "/v1/registry/{authority}",
        "get",
        Operation::new("An authority's published registry roots, oldest first, a page at a time: {authority, latest_sequence, roots: [{sequence, root, height, timestamp_ms, current, acceptable_until_ms}], next_cursor}")
            .param(Param::path("authority", string.clone()).required())
            .param(cursor())
            .param(limit())
            .ok("200", "roots")
            .errors(&["400", "401", "404"]),
    )
    .operation(
        "/v1/traders/{eori}",
        "get",
        Operation::new("A registered trader: its vouching administration, status (active or revoked), current key, key history from the registration on (sequence, key, office, location; at most 1000, history_complete) and the delegations it made (at most 1000, delegations_complete)")
            .param(Param::path("eori", string).required())
            .ok("200", "trader")
            .errors(&["400", "401", "404"]),
    )
    .operation(
        "/v1/status",
        "get",
        Operation::new("Chain id, height, mempool, parties")
            .ok("200", "status")
            .errors(&["401"]),
    )
}
