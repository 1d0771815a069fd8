//! A consignment's records (`GET /v1/records`) and the amendment history of its documents
//! (`GET /v1/records/history`).
//!
//! Every read is bounded whatever a trader anchored under its consignment: a records page holds
//! at most `limit` records, the current version of at most [`MAX_DOCUMENT_TYPES`] document
//! types (one seek each) and the latest [`MAX_RECENT_VERSIONS`] versions of each; the whole
//! history is read a page at a time from `/v1/records/history`.

use crate::{
    auth, document_routes, next_cursor, page_cursor, page_limit, query, ApiState, Caller,
    QueryResult,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use zkcustoms_documents::{DocumentMeta, DocumentService};
use zkcustoms_http::{blocking, ApiError};
use zkcustoms_ledger_core::queries::{
    self, DocVersion, Position, MAX_DOCUMENT_TYPES, MAX_RECENT_VERSIONS,
};
use zkcustoms_ledger_core::rules::{Overlay, Rules};
use zkcustoms_ledger_core::store::{DocumentEntry, Store, TxLocation};
use zkcustoms_ledger_types::party::Party;
use zkcustoms_ledger_types::tx::{DocumentKey, Ucr};

/// Query of records or of the amendment history: the consignment, and the page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordsQuery {
    ucr: String,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// The consignment asked for, or `400 bad-ucr`.
fn parse_ucr(ucr: &str) -> Result<Ucr, ApiError> {
    Ucr::parse(ucr).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-ucr", e.to_string()))
}

/// Who reads a consignment's records, for what each document's entry shows of the node's copy.
/// An access list says with whom a trader shares a document (its brokers, partner
/// administrations, auditors): it is shown to the consignment's owner and its delegates only;
/// customs and auditors see whether they may read the document themselves.
struct Viewer {
    /// The calling party (`None`: a role token, which names no party and reads no document).
    party: Option<Party>,
    /// Whether the caller sees access lists: the consignment's owner or a delegate.
    sees_access_lists: bool,
}

impl Viewer {
    /// The node's copy of a document as this caller sees it: its metadata, `may_read` for the
    /// caller, and the access list (`readers`) only for the owner and delegates.
    fn document_json(&self, meta: &DocumentMeta) -> Value {
        let mut v = meta.to_json();
        if !self.sees_access_lists {
            if let Some(fields) = v.as_object_mut() {
                fields.remove("readers");
            }
        }
        v["may_read"] = self.party.as_ref().is_some_and(|p| meta.may_read(p)).into();
        v
    }
}

/// Whether the caller may read the consignment's records (`403` otherwise): customs and
/// auditors read every consignment, a trader those it owns or acts for.
async fn may_read(state: &ApiState, who: &auth::Who, ucr: &Ucr) -> Result<Viewer, ApiError> {
    if let Caller::Party(Party::Trader(trader)) = &who.0 {
        let (chain, key, trader) = (state.chain.clone(), ucr.clone(), trader.clone());
        let may = blocking(move || {
            let rules = Rules::new(chain.genesis(), chain.store());
            rules.may_write(&key, &trader, &Overlay::default())
        })
        .await??;
        if !may {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong-party",
                "a trader reads the records of its own consignments (or those it acts for) only",
            ));
        }
    } else {
        auth::require_oversight(&who.0, "reading records")?;
    }
    Ok(Viewer {
        party: match &who.0 {
            Caller::Party(p) => Some(p.clone()),
            Caller::Role(_) => None,
        },
        sees_access_lists: matches!(who.0, Caller::Party(Party::Trader(_))),
    })
}

/// The consignment, page size and position of a list of its records or versions, once the
/// caller may read them: `400` for a bad query, UCR, limit or cursor (in that order), then
/// [`may_read`].
async fn list_query<P: Position>(
    state: &ApiState,
    who: &auth::Who,
    q: QueryResult<RecordsQuery>,
) -> Result<(Ucr, usize, Option<P>, Viewer), ApiError> {
    let q = query(q)?;
    let ucr = parse_ucr(&q.ucr)?;
    let limit = page_limit(q.limit)?;
    let after = page_cursor::<P>(q.cursor.as_deref())?;
    let viewer = may_read(state, who, &ucr).await?;
    Ok((ucr, limit, after, viewer))
}

/// One anchored version: its digest, reference, location, the transaction that anchored it, the
/// version that superseded it and the node's off-ledger copy as `viewer` sees it.
fn version_json(
    store: &Store,
    documents: Option<&DocumentService>,
    viewer: &Viewer,
    key: &DocumentKey,
    entry: &DocumentEntry,
    superseded_by: Option<u32>,
) -> Result<Value, ApiError> {
    let tx = queries::record(store, &key.ucr, entry.location)?.map(|tx| hex::encode(tx.hash()));
    let off_ledger = match documents {
        Some(docs) => docs
            .meta(key)
            .map_err(document_routes::document_error)?
            .map(|m| viewer.document_json(&m)),
        None => None,
    };
    Ok(json!({
        "doc_type": key.doc_type,
        "version": key.version,
        "digest": hex::encode(entry.digest),
        "reference": entry.reference,
        "height": entry.location.height,
        "index": entry.location.index,
        "tx": tx,
        "superseded_by": superseded_by,
        "document": off_ledger,
    }))
}

/// `GET /v1/records?ucr=&limit=&cursor=`: a page of the consignment's records, its examination
/// mark, and per document type (at most [`MAX_DOCUMENT_TYPES`]) the current version with its
/// latest [`MAX_RECENT_VERSIONS`] versions.
pub(crate) async fn records(
    State(state): State<ApiState>,
    who: auth::Who,
    q: QueryResult<RecordsQuery>,
) -> Result<Json<Value>, ApiError> {
    let (ucr, limit, after, viewer) = list_query::<TxLocation>(&state, &who, q).await?;
    let (chain, documents) = (state.chain.clone(), state.documents.clone());
    let value = blocking(move || -> Result<Value, ApiError> {
        let store = chain.store();
        let page = queries::records_page(store, &ucr, after.as_ref(), limit)?;
        let examination = queries::examination(store, &ucr)?;
        let (current, more_types) = queries::current_documents(store, &ucr, MAX_DOCUMENT_TYPES)?;
        let mut latest = Vec::new();
        for (current, d) in &current {
            let recent =
                queries::recent_versions(store, &ucr, &current.doc_type, MAX_RECENT_VERSIONS)?;
            let mut history = Vec::new();
            for (i, (k, e)) in recent.iter().enumerate() {
                let next = recent.get(i + 1).map(|(next, _)| next.version);
                history.push(version_json(
                    store,
                    documents.as_deref(),
                    &viewer,
                    k,
                    e,
                    next,
                )?);
            }
            latest.push(json!({
                "doc_type": current.doc_type,
                "version": current.version,
                "digest": hex::encode(d.digest),
                "reference": d.reference,
                "height": d.location.height,
                "versions": current.version,
                "history": history,
                "history_complete": recent.len() as u32 == current.version,
            }));
        }
        Ok(json!({
            "ucr": ucr.as_str(),
            "under_examination": examination.map(|e| json!({
                "office": e.office,
                "height": e.location.height,
                "timestamp_ms": e.timestamp_ms,
            })),
            "documents": latest,
            "documents_complete": !more_types,
            "records": page.items.iter().map(|(loc, tx)| {
                let mut v = tx.to_json();
                v["hash"] = Value::from(hex::encode(tx.hash()));
                json!({"height": loc.height, "index": loc.index, "transaction": v})
            }).collect::<Vec<_>>(),
            "next_cursor": next_cursor(&page.next),
        }))
    })
    .await??;
    Ok(Json(value))
}

/// `GET /v1/records/history?ucr=&limit=&cursor=`: every anchored version of every document of
/// the consignment, grouped by document type, each oldest first, a page at a time.
pub(crate) async fn history(
    State(state): State<ApiState>,
    who: auth::Who,
    q: QueryResult<RecordsQuery>,
) -> Result<Json<Value>, ApiError> {
    let (ucr, limit, after, viewer) = list_query::<DocVersion>(&state, &who, q).await?;
    let (chain, documents) = (state.chain.clone(), state.documents.clone());
    let value = blocking(move || -> Result<Value, ApiError> {
        let store = chain.store();
        let page = queries::document_history_page(store, &ucr, after.as_ref(), limit)?;
        let versions = page
            .items
            .iter()
            .map(|v| {
                version_json(
                    store,
                    documents.as_deref(),
                    &viewer,
                    &v.key,
                    &v.entry,
                    v.superseded_by,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({
            "ucr": ucr.as_str(),
            "versions": versions,
            "next_cursor": next_cursor(&page.next),
        }))
    })
    .await??;
    Ok(Json(value))
}
