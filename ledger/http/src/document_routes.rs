//! The document routes: `/v1/documents/{ucr}/{doc_type}/{version}`. `POST` uploads the bytes of
//! an anchored document (the consignment's trader: its owner or a delegate;
//! `?readers=customs:DE,AUDIT-EU-1` is its access list), `GET` reads them back (the uploader and
//! the parties on the access list), `DELETE` forgets the document (the consignment's trader).
//! Every document request is a party's, signed with its own key (RFC 9421): role tokens name no
//! party, so they are refused here (`403 party-required`).
//!
//! Document contents and keys are never logged: errors name documents by UCR, type and version.

use super::auth::{self, Caller, Who};
use super::ApiState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use zkcustoms_documents::{self as documents, DocumentError, DocumentService};
use zkcustoms_http::{blocking, ApiError};
use zkcustoms_ledger_core::rules::{Overlay, Rules};
use zkcustoms_ledger_types::party::{parse_readers, Party};
use zkcustoms_ledger_types::tx::DocumentKey;
use zkcustoms_ledger_types::tx::{check_doc_type, Eori, Ucr};

/// The route's methods, with the body limit of documents.
pub(super) fn routes(max_bytes: usize) -> MethodRouter<ApiState> {
    post(upload)
        .get(read)
        .delete(forget)
        .layer(DefaultBodyLimit::max(max_bytes))
}

/// A document service's refusal as an API error (`?` would make every one a `500`).
pub(crate) fn document_error(e: DocumentError) -> ApiError {
    {
        let (status, code) = match &e {
            DocumentError::UnknownAnchor(_) => (StatusCode::NOT_FOUND, "unknown-anchor"),
            DocumentError::UnknownDocument(_) => (StatusCode::NOT_FOUND, "unknown-document"),
            DocumentError::DigestMismatch { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "digest-mismatch")
            }
            DocumentError::Duplicate(_) => (StatusCode::CONFLICT, "duplicate-document"),
            DocumentError::Forgotten { .. } => (StatusCode::GONE, "document-forgotten"),
            DocumentError::NotAllowed { .. } => (StatusCode::FORBIDDEN, "not-a-reader"),
            DocumentError::Empty => (StatusCode::BAD_REQUEST, "empty-document"),
            DocumentError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large"),
            DocumentError::TooManyReaders { .. } | DocumentError::InvalidReader { .. } => {
                (StatusCode::BAD_REQUEST, "bad-readers")
            }
            DocumentError::Erase(_) => {
                // Recorded as forgotten, but not yet erased from every file: the client retries.
                tracing::error!(error = %e, "erasing a forgotten document failed");
                // The cause (a RocksDB error, which names files of the data directory) stays
                // in the node's log.
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "erase-incomplete",
                    ERASE_INCOMPLETE,
                );
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return ApiError::internal(e);
        }
        ApiError::new(status, code, e.to_string())
    }
}

/// The message of `erase-incomplete`: the same whatever the storage error was.
const ERASE_INCOMPLETE: &str = "the document is recorded as forgotten but its bytes are not yet \
     erased from every file of the node's storage: retry the forget (the node's log has the cause)";

type IdPath = Result<Path<(String, String, String)>, PathRejection>;

/// The document a path names, checked like the anchor's fields.
fn document_id(path: IdPath) -> Result<DocumentKey, ApiError> {
    let Path((ucr, doc_type, version)) =
        path.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-path", e.body_text()))?;
    let ucr = Ucr::parse(&ucr)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-ucr", e.to_string()))?;
    check_doc_type(&doc_type)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-doc-type", e.to_string()))?;
    let version = version
        .parse::<u32>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-version",
                "a version is a whole number from 1",
            )
        })?;
    Ok(DocumentKey {
        ucr,
        doc_type,
        version,
    })
}

fn service(state: &ApiState) -> Result<Arc<DocumentService>, ApiError> {
    state.documents.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "documents-unavailable",
            "this node keeps no off-ledger documents",
        )
    })
}

fn document_json(id: &DocumentKey, meta: &documents::DocumentMeta) -> Value {
    json!({
        "ucr": id.ucr.as_str(),
        "doc_type": id.doc_type,
        "version": id.version,
        "document": meta.to_json(),
    })
}

/// Query of an upload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// Who may read the document besides the uploader, comma-separated: `customs:ADMIN`
    /// (every office of an administration) or party ids (an EORI number, an auditor's id).
    #[serde(default)]
    readers: String,
}

/// The party of a document request: role tokens name none.
fn party(caller: Caller) -> Result<Party, ApiError> {
    match caller {
        Caller::Party(p) => Ok(p),
        Caller::Role(r) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "party-required",
            format!(
                "documents are read and written by parties with their own keys: sign the \
                 request (RFC 9421) instead of using the {} role token",
                r.name()
            ),
        )),
    }
}

/// The trader of a write under the document's consignment: its owner or a delegate.
async fn writer(state: &ApiState, party: Party, ucr: &Ucr, what: &str) -> Result<Eori, ApiError> {
    let Party::Trader(trader) = party else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong-party",
            format!("{what} is for the consignment's trader, not {party}"),
        ));
    };
    let (chain, ucr, who) = (state.chain.clone(), ucr.clone(), trader.clone());
    let may = blocking(move || {
        let rules = Rules::new(chain.genesis(), chain.store());
        rules.may_write(&ucr, &who, &Overlay::default())
    })
    .await?
    .map_err(ApiError::internal)?;
    if !may {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not-owner",
            format!("{what} is for the consignment's owner and its delegates, not {trader}"),
        ));
    }
    Ok(trader)
}

/// Whether `party` sees the consignment's records (and so which documents it has): customs
/// offices and auditors, and the consignment's owner and its delegates.
async fn sees_records(state: &ApiState, party: &Party, ucr: &Ucr) -> Result<bool, ApiError> {
    match party {
        Party::Office { .. } | Party::Auditor(_) => Ok(true),
        Party::Authority(_) => Ok(false),
        Party::Trader(trader) => {
            let (chain, ucr, who) = (state.chain.clone(), ucr.clone(), trader.clone());
            blocking(move || {
                let rules = Rules::new(chain.genesis(), chain.store());
                rules.may_write(&ucr, &who, &Overlay::default())
            })
            .await?
            .map_err(ApiError::internal)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn upload(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: IdPath,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !auth::is_signed(&headers) {
        // Without a signature the token decides before the body is looked at.
        party(Caller::Role(state.tokens.authenticate(&headers)?))?;
    }
    let id = document_id(path)?;
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-query", e.body_text()))?;
    let readers = parse_readers(&q.readers)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-readers", e.to_string()))?;
    let docs = service(&state)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                format!("documents are limited to {} bytes", docs.max_bytes()),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad-body", e.body_text())
        }
    })?;
    // Checking the signature and hashing up to a document's size of body are CPU work: on the
    // blocking pool, as a submission's, never on the executor that runs consensus.
    let (auth_state, signed_body) = (state.clone(), body.clone());
    let caller = blocking(move || auth::caller(&auth_state, &method, &uri, &headers, &signed_body))
        .await??;
    let uploader = writer(&state, party(caller)?, &id.ucr, "uploading a document").await?;
    let chain = state.chain.clone();
    let now = chain.now_ms();
    let answer_id = id.clone();
    let meta = blocking(move || docs.upload(chain.store(), &id, &body, &readers, &uploader, now))
        .await?
        .map_err(document_error)?;
    Ok((StatusCode::CREATED, Json(document_json(&answer_id, &meta))).into_response())
}

async fn read(
    Who(caller): Who,
    State(state): State<ApiState>,
    path: IdPath,
) -> Result<Response, ApiError> {
    let party = party(caller)?;
    let id = document_id(path)?;
    let docs = service(&state)?;
    let (key, by) = (id.clone(), party.clone());
    let plaintext = match blocking(move || docs.read(&key, &by)).await? {
        // Whether this node keeps a copy is for those who see the consignment's records; anyone
        // else hears the same refusal whether there is one or not.
        Err(DocumentError::UnknownDocument(_))
            if !sees_records(&state, &party, &id.ucr).await? =>
        {
            return Err(document_error(DocumentError::NotAllowed {
                id: documents::display_id(&id),
                party: party.to_string(),
            }));
        }
        answer => answer.map_err(document_error)?,
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        plaintext,
    )
        .into_response())
}

async fn forget(
    Who(caller): Who,
    State(state): State<ApiState>,
    path: IdPath,
) -> Result<Json<Value>, ApiError> {
    let id = document_id(path)?;
    let trader = writer(&state, party(caller)?, &id.ucr, "forgetting a document").await?;
    let docs = service(&state)?;
    let now = state.chain.now_ms();
    let answer_id = id.clone();
    let by = Party::Trader(trader.clone());
    let meta = blocking(move || docs.forget(&id, &by, now))
        .await?
        .map_err(document_error)?;
    tracing::info!(
        document = %documents::display_id(&answer_id),
        by = %trader,
        "document forgotten: its key is destroyed"
    );
    Ok(Json(document_json(&answer_id, &meta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An erase that failed answers its code and a fixed message: the storage error's text,
    /// which names files of the node's data directory, stays in the node's log.
    #[test]
    fn an_incomplete_erase_names_no_storage_detail() {
        let cause = "flushing documents: IO error: node-data/documents/000123.sst: No space";
        let e = document_error(DocumentError::Erase(cause.into()));
        assert_eq!(e.code(), "erase-incomplete");
        assert_eq!(e.message(), ERASE_INCOMPLETE);
        assert!(!e.message().contains('/') && !e.message().contains("IO error"));
    }
}
