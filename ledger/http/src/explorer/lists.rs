//! The explorer's paged lists: a consignment's records and the amendment history of its
//! documents, and the registry roots of each authority. Each page shows a link to the next one
//! carrying the core's cursor (`?cursor=`); without a cursor a page starts at the beginning
//! (records, versions) or at the newest (registry roots).

use super::*;
use zkcustoms_ledger_core::queries::{Cursor, DocVersion, Position, RootItem, RootSequence};
use zkcustoms_ledger_core::store::{DocumentEntry, ExaminationEntry, TxLocation};
use zkcustoms_ledger_types::tx::{check_party_id, DocumentKey};

/// Records (and document versions, and registry roots) per explorer page.
pub const PAGE_SIZE: usize = queries::DEFAULT_PAGE;
/// Registry roots shown per authority on the registry index.
pub const INDEX_ROOTS: usize = 10;

/// `?cursor=` of a paged explorer page.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    cursor: Option<String>,
}

/// The query of a paged page, as its handler takes it.
pub(super) type PageParam = Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>;

/// Where a paged page continues: `None` for the first page; a cursor that does not decode (or a
/// query that does not parse) is the 400 page.
#[allow(clippy::result_large_err)] // the error is the page the handler answers with
pub(super) fn page_cursor<P: Position>(ctx: &Ctx, q: PageParam) -> Result<Option<P>, Response> {
    let refuse = |why: String| {
        error(
            ctx,
            StatusCode::BAD_REQUEST,
            "Not a page of this list",
            format!(
                "The address names a page that does not exist ({why}). Follow the \"next page\" \
                 links of the explorer, or open the list from its first page."
            ),
        )
    };
    let Query(q) = q.map_err(|e| refuse(e.body_text()))?;
    match q.cursor.as_deref() {
        None => Ok(None),
        Some(text) => Cursor::<P>::decode(text)
            .map(|Cursor(p)| Some(p))
            .map_err(|e| refuse(e.to_string())),
    }
}

/// A consignment's records, a page at a time.
pub(crate) struct ConsignmentData {
    /// The page's records, in ledger order: location and transaction.
    pub records: Vec<(TxLocation, Transaction)>,
    /// The cursor of the next page of records.
    pub next: Option<String>,
    /// True on a page after the first.
    pub later: bool,
    /// The examination mark, if any.
    pub examination: Option<ExaminationEntry>,
    /// The latest version of each document type (at most `MAX_DOCUMENT_TYPES` of them).
    pub documents: Vec<(DocumentKey, DocumentEntry)>,
    /// More document types are anchored than `documents` shows.
    pub more_documents: bool,
}

pub(super) async fn consignment_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    PageSegment(ucr): PageSegment,
    q: PageParam,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let ucr = signed_in_ucr(&ctx, &ucr, "the records of a consignment", "")?;
    let after = page_cursor::<TxLocation>(&ctx, q)?;
    let chain = state.chain.clone();
    let key = ucr.clone();
    let data = read(&ctx, move || {
        let store = chain.store();
        let page = queries::records_page(store, &key, after.as_ref(), PAGE_SIZE)?;
        let examination = queries::examination(store, &key)?;
        let (documents, more_documents) =
            queries::current_documents(store, &key, queries::MAX_DOCUMENT_TYPES)?;
        Ok(ConsignmentData {
            records: page.items,
            next: page.next.map(|c| c.encode()),
            later: after.is_some(),
            examination,
            documents,
            more_documents,
        })
    })
    .await?;
    if data.records.is_empty() && !data.later {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No records",
            format!("The ledger holds no record of consignment {ucr}."),
        ));
    }
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Consignment {ucr}"),
        view::consignment(&ctx, &ucr, &data),
    ))
}

/// One anchored version of a document.
pub(crate) struct VersionRow {
    /// Document type and version.
    pub key: DocumentKey,
    /// Digest, reference, location.
    pub entry: DocumentEntry,
    /// The version it replaced.
    pub supersedes: Option<u32>,
    /// The version that replaced it (`None`: it is the current version).
    pub superseded_by: Option<u32>,
    /// Its block's timestamp.
    pub timestamp_ms: Option<u64>,
    /// Its transaction's hash.
    pub tx_hash: Option<Hash>,
}

/// A page of a consignment's amendment history.
pub(crate) struct HistoryData {
    /// The page's versions, by document type and version.
    pub rows: Vec<VersionRow>,
    /// The cursor of the next page.
    pub next: Option<String>,
    /// True on a page after the first.
    pub later: bool,
    /// The examination mark, if any.
    pub examination: Option<ExaminationEntry>,
}

pub(super) async fn history_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    PageSegment(ucr): PageSegment,
    q: PageParam,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let ucr = signed_in_ucr(
        &ctx,
        &ucr,
        "the amendment history of a consignment",
        "/history",
    )?;
    let after = page_cursor::<DocVersion>(&ctx, q)?;
    let chain = state.chain.clone();
    let key = ucr.clone();
    let data = read(&ctx, move || {
        let store = chain.store();
        let page = queries::document_history_page(store, &key, after.as_ref(), PAGE_SIZE)?;
        let mut rows = Vec::new();
        for v in page.items {
            let tx = queries::record(store, &key, v.entry.location)?;
            let supersedes = match &tx {
                Some(Transaction::AnchorDocument(a)) => a.supersedes,
                _ => None,
            };
            rows.push(VersionRow {
                timestamp_ms: store
                    .block_header(v.entry.location.height)?
                    .map(|h| h.timestamp_ms),
                tx_hash: tx.map(|t| t.hash()),
                supersedes,
                superseded_by: v.superseded_by,
                key: v.key,
                entry: v.entry,
            });
        }
        Ok(HistoryData {
            rows,
            next: page.next.map(|c| c.encode()),
            later: after.is_some(),
            examination: queries::examination(store, &key)?,
        })
    })
    .await?;
    if data.rows.is_empty() && !data.later {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No documents",
            format!("No document is anchored under consignment {ucr}."),
        ));
    }
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Amendment history of {ucr}"),
        view::history(&ucr, &data),
    ))
}

/// One published registry root and its standing.
pub(crate) struct RootRow {
    /// Its sequence number.
    pub sequence: u64,
    /// The root and where it was published.
    pub entry: zkcustoms_ledger_core::store::RootEntry,
    /// Until when it stays acceptable, once superseded (milliseconds since the epoch).
    pub acceptable_until_ms: Option<u64>,
}

/// A page of an authority's registry roots, newest first.
pub(crate) struct RootsPage {
    /// The roots.
    pub rows: Vec<RootRow>,
    /// The cursor of the next (older) page.
    pub next: Option<String>,
    /// True on a page after the first.
    pub later: bool,
}

/// A page of an authority's roots, newest first, from below `before`.
pub(super) fn roots_page(
    chain: &Chain,
    authority: &str,
    before: Option<RootSequence>,
    limit: usize,
) -> Result<RootsPage, StoreError> {
    let page = queries::root_history_page_newest_first(chain.store(), authority, before, limit)?;
    let grace_ms = chain
        .genesis()
        .params()
        .root_grace_seconds
        .saturating_mul(1000);
    let row = |r: RootItem| RootRow {
        sequence: r.sequence,
        acceptable_until_ms: r.superseded_at_ms.map(|t| t.saturating_add(grace_ms)),
        entry: r.entry,
    };
    Ok(RootsPage {
        rows: page.items.into_iter().map(row).collect(),
        next: page.next.map(|c| c.encode()),
        later: before.is_some(),
    })
}

pub(super) async fn registry_index(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let chain = state.chain.clone();
    let all = read(&ctx, move || {
        let mut all = Vec::new();
        for a in chain.genesis().authorities.keys() {
            all.push((a.clone(), roots_page(&chain, a, None, INDEX_ROOTS)?));
        }
        Ok(all)
    })
    .await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        "Registry roots",
        view::registry_index(&all, state.chain.now_ms()),
    ))
}

pub(super) async fn registry_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    PageSegment(authority): PageSegment,
    q: PageParam,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    if !state.chain.genesis().authorities.contains_key(&authority) {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "Unknown authority",
            // A visitor's text is shown back only when it has the shape of a name.
            match check_party_id("authority", &authority) {
                Ok(()) => format!("{authority:?} is not an AEO authority of this ledger."),
                Err(_) => "That is not an AEO authority of this ledger: an authority's name is 1 \
                           to 64 printable characters without spaces."
                    .to_owned(),
            },
        ));
    }
    let before = page_cursor::<RootSequence>(&ctx, q)?;
    let chain = state.chain.clone();
    let a = authority.clone();
    let roots = read(&ctx, move || roots_page(&chain, &a, before, PAGE_SIZE)).await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Registry roots of {authority}"),
        view::registry(&authority, &roots, state.chain.now_ms()),
    ))
}
