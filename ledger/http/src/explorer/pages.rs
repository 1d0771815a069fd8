//! The explorer's read-only pages: home, blocks, transactions (with the inclusion proof download),
//! search, node status (the paged lists of records, amendment history and registry roots are in
//! `lists.rs`).

use super::*;

/// Everything the home page shows.
pub(crate) struct HomeData {
    /// Finalized height.
    pub height: u64,
    /// Hash of the tip.
    pub tip: Hash,
    /// Finalized transactions in all (`None` while another request counts them).
    pub total_txs: Option<u64>,
    /// Mempool transactions and bytes.
    pub mempool: (usize, usize),
    /// A page of block headers, newest first (the latest without a cursor).
    pub blocks: Vec<BlockHeader>,
    /// The last transactions of these blocks, newest first, with their blocks' heights: the
    /// only ones decoded.
    pub latest_txs: Vec<(u64, Transaction)>,
    /// The cursor of the next (older) page of blocks.
    pub next: Option<String>,
    /// True on a page after the first.
    pub later: bool,
    /// Published registry roots, per authority.
    pub roots: Vec<(String, usize)>,
}

pub(super) async fn home(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    q: PageParam,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let before = page_cursor::<BlockHeight>(&ctx, q)?;
    let chain = state.chain.clone();
    let data = read(&ctx, move || {
        let (height, tip) = chain.tip();
        let total_txs = ex.total_txs(&chain, height)?;
        let page = queries::block_headers_page(chain.store(), before, LATEST_BLOCKS)?;
        let heights = page.items.iter().map(|h| h.height);
        let latest_txs = queries::latest_txs(chain.store(), heights, LATEST_TXS)?;
        let mut roots = Vec::new();
        for a in chain.genesis().authorities.keys() {
            let n = queries::latest_root(chain.store(), a)?.map_or(0, |(seq, _)| seq as usize);
            roots.push((a.clone(), n));
        }
        Ok(HomeData {
            height,
            tip,
            total_txs,
            mempool: chain.mempool_size(),
            blocks: page.items,
            latest_txs,
            next: page.next.map(|c| c.encode()),
            later: before.is_some(),
            roots,
        })
    })
    .await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        "Ledger explorer",
        view::home(&ctx, state.chain.genesis(), &data),
    ))
}

/// Transactions shown per page of a block: each shown is decoded (its proof's points checked),
/// so a full block is shown a page at a time.
pub const BLOCK_TXS_PAGE: usize = 50;

/// A block and one page of its transactions.
pub(crate) struct BlockData {
    /// The block as stored (its transactions not decoded).
    pub block: RawStoredBlock,
    /// The page's transactions: index in the block, hash, transaction.
    pub txs: Vec<(u32, Hash, Transaction)>,
    /// The cursor of the next page of transactions.
    pub next: Option<String>,
    /// True on a page after the first.
    pub later: bool,
}

pub(super) async fn block_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    PageSegment(height): PageSegment,
    q: PageParam,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let Some(height) = parse_height(&height) else {
        return Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Not a block height",
            "A block height is a whole number from 1 up, such as 12.",
        ));
    };
    let after = match page_cursor::<BlockTx>(&ctx, q)? {
        None => None,
        Some(BlockTx { height: h, index }) if h == height => Some(index),
        Some(_) => {
            return Err(error(
                &ctx,
                StatusCode::BAD_REQUEST,
                "Not a page of this list",
                "The address names a page of another block's transactions. Follow the \
                 \"next\" links of the block's page, or open it from its first page.",
            ))
        }
    };
    let chain = state.chain.clone();
    let (block, tip) = read(&ctx, move || {
        let tip = chain.tip().0;
        let Some(block) = chain.store().raw_block(height)? else {
            return Ok((None, tip));
        };
        let page = queries::block_txs_page(&block, after, BLOCK_TXS_PAGE)?;
        let data = BlockData {
            block,
            txs: page.items,
            next: page.next.map(|c| c.encode()),
            later: after.is_some(),
        };
        Ok((Some(data), tip))
    })
    .await?;
    let Some(block) = block else {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No such block",
            format!("No block is finalized at height {height}: the ledger's height is {tip}."),
        ));
    };
    Ok(page(
        &ctx,
        StatusCode::OK,
        &format!("Block {height}"),
        view::block(&ctx, state.chain.genesis(), &block, tip),
    ))
}

/// A finalized transaction with its block.
pub(crate) struct IncludedTx {
    /// The transaction and its block (the block's other transactions not decoded).
    pub finalized: queries::FinalizedTx,
    /// The node's verdict on its proof, verified again now (for proof transactions).
    pub verdict: Option<Result<(), VerifyError>>,
}

impl IncludedTx {
    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.finalized.tx
    }
}

/// Loads a finalized transaction and its block, decoding that transaction alone; `None` when it
/// is not finalized here.
pub(super) fn load_included(chain: &Chain, hash: &Hash) -> Result<Option<IncludedTx>, StoreError> {
    Ok(
        queries::finalized_tx(chain.store(), hash)?.map(|finalized| IncludedTx {
            finalized,
            verdict: None,
        }),
    )
}

pub(super) fn bad_hash(ctx: &Ctx) -> Response {
    error(
        ctx,
        StatusCode::BAD_REQUEST,
        "Not a transaction hash",
        "A transaction hash is 64 hexadecimal digits (0-9, a-f).",
    )
}

pub(super) async fn tx_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    PageSegment(hash): PageSegment,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let Some(hash) = parse_hash(&hash) else {
        return Err(bad_hash(&ctx));
    };
    let chain = state.chain.clone();
    // Proofs of records are verified again only for a viewer who may see them, in one of the
    // verify page's slots: with none free, the page says how the proof was verified before.
    let signed_in = ctx.signed_in();
    let slots = ex.verifications.clone();
    let (status, included) = read(&ctx, move || {
        let status = chain.status(&hash)?;
        let mut included = load_included(&chain, &hash)?;
        if let Some(inc) = included.as_mut() {
            inc.verdict = match inc.tx() {
                Transaction::SubmitProof(p) if signed_in => match slots.try_acquire_owned() {
                    Ok(_slot) => Some(chain.keys().verify(&p.envelope)),
                    Err(_) => None,
                },
                _ => None,
            };
        }
        Ok((status, included))
    })
    .await?;
    if matches!(status, TxStatus::Unknown) {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "Unknown transaction",
            format!(
                "This node knows no transaction {}: it is not on the ledger, not waiting in the \
                 mempool, and not recently refused.",
                hex::encode(hash)
            ),
        ));
    }
    let title = format!("Transaction {}…", &hex::encode(hash)[..12]);
    Ok(page(
        &ctx,
        StatusCode::OK,
        &title,
        view::transaction(
            &ctx,
            state.chain.genesis(),
            &hash,
            &status,
            included.as_ref(),
        ),
    ))
}

pub(super) async fn inclusion_download(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    PageSegment(hash): PageSegment,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let Some(hash) = parse_hash(&hash) else {
        return Err(bad_hash(&ctx));
    };
    let chain = state.chain.clone();
    let included = read(&ctx, move || load_included(&chain, &hash)).await?;
    let Some(included) = included else {
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "Not on the ledger",
            "No finalized transaction has this hash, so there is no inclusion proof (it may still \
             be pending).",
        ));
    };
    let hex_hash = hex::encode(hash);
    if !ctx.signed_in() && !view::public_to_anyone(included.tx()) {
        return Err(sign_in_needed(
            &ctx,
            "the inclusion proof of this transaction",
            &format!("/tx/{hex_hash}"),
        ));
    }
    let chain = state.chain.clone();
    let proof = match tokio::task::spawn_blocking(move || {
        zkcustoms_ledger_core::inclusion::build(chain.store(), &chain.genesis().chain_id, &hash)
    })
    .await
    {
        Ok(Ok(Some(p))) => p,
        Ok(Ok(None)) => return Err(internal(&ctx, "a finalized transaction has no inclusion")),
        Ok(Err(e)) => return Err(internal(&ctx, e)),
        Err(e) => return Err(internal(&ctx, e)),
    };
    let body = serde_json::to_string_pretty(&proof).map_err(|e| internal(&ctx, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"inclusion-{hex_hash}.json\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The search box's query.
#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// What a 64-digit hex search names.
pub(super) enum HashHit {
    Tx,
    Block(u64),
    Nullifier(Hash),
    Nothing,
}

/// The transaction that presented a nullifier, in any scope (one seek in the nullifier index).
pub(super) fn find_nullifier(chain: &Chain, value: &Hash) -> Result<Option<Hash>, StoreError> {
    let Ok(n) = zkcustoms_circuits::field::fr_from_be_bytes(value) else {
        return Ok(None);
    };
    let Some(loc) = queries::nullifier_location(chain.store(), &n)? else {
        return Ok(None);
    };
    let Some(block) = chain.store().raw_block(loc.height)? else {
        return Ok(None);
    };
    Ok(queries::block_tx_bytes(&block)?
        .get(loc.index as usize)
        .map(|bytes| sha256(bytes)))
}

pub(super) async fn search(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let shapes = "Search for a UCR (such as 26DE-HAM-000042), a transaction or block hash or a \
                  nullifier (64 hexadecimal digits), or a block height (a number).";
    let q = match query {
        Ok(Query(q)) => q.q.trim().to_owned(),
        // A query that does not read as one search text (a repeated field, say) is named.
        Err(e) => {
            return Err(error(
                &ctx,
                StatusCode::BAD_REQUEST,
                "Search not understood",
                format!("{} {shapes}", e.body_text()),
            ))
        }
    };
    if q.is_empty() {
        return Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Nothing to search for",
            shapes,
        ));
    }
    if q.len() > 200 {
        return Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Search text too long",
            shapes,
        ));
    }
    if let Some(hash) = parse_hash(&q) {
        let chain = state.chain.clone();
        let signed_in = ctx.signed_in();
        let hit = read(&ctx, move || {
            if !matches!(chain.status(&hash)?, TxStatus::Unknown) {
                return Ok(HashHit::Tx);
            }
            if let Some(h) = queries::block_height(chain.store(), &hash)? {
                return Ok(HashHit::Block(h));
            }
            // Nullifiers belong to records: looked up for a signed-in viewer only.
            if signed_in {
                if let Some(tx) = find_nullifier(&chain, &hash)? {
                    return Ok(HashHit::Nullifier(tx));
                }
            }
            Ok(HashHit::Nothing)
        })
        .await?;
        let hex_hash = hex::encode(hash);
        return match hit {
            HashHit::Tx => Ok(redirect(&format!("/tx/{hex_hash}"))),
            HashHit::Block(h) => Ok(redirect(&format!("/blocks/{h}"))),
            HashHit::Nullifier(tx) => Ok(redirect(&format!("/tx/{}", hex::encode(tx)))),
            HashHit::Nothing if ctx.signed_in() => Err(error(
                &ctx,
                StatusCode::NOT_FOUND,
                "Nothing found",
                format!("No transaction, block or nullifier on this ledger is {hex_hash}."),
            )),
            HashHit::Nothing => Err(error(
                &ctx,
                StatusCode::NOT_FOUND,
                "Nothing found",
                format!(
                    "No transaction or block on this ledger is {hex_hash}. To look up a \
                     nullifier, sign in with a customs or auditor token."
                ),
            )),
        };
    }
    if let Some(height) = parse_height(&q) {
        let tip = state.chain.tip().0;
        if height <= tip {
            return Ok(redirect(&format!("/blocks/{height}")));
        }
        // A number is taken for a height: one past the tip is answered as such, not sent on to
        // a consignment of that reference.
        return Err(error(
            &ctx,
            StatusCode::NOT_FOUND,
            "No such block",
            format!("No block is finalized at height {height} yet: the ledger's height is {tip}."),
        ));
    }
    match Ucr::parse(&q.to_ascii_uppercase()) {
        Ok(ucr) => Ok(redirect(&format!("/consignments/{ucr}"))),
        Err(_) => Err(error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Not something the explorer can search for",
            format!("{q:?} is not a UCR, a hash, a nullifier or a block height. {shapes}"),
        )),
    }
}

pub(super) fn bad_ucr(ctx: &Ctx, e: impl std::fmt::Display) -> Response {
    error(
        ctx,
        StatusCode::BAD_REQUEST,
        "Not a UCR",
        format!(
            "A unique consignment reference has 1 to 35 characters: upper-case letters, digits \
             and '-' ({e})."
        ),
    )
}

/// The UCR of a consignment page (`/consignments/{ucr}{page}`) for a signed-in reader: a bad
/// UCR is the 400 page, and without a sign-in the page for `what` asks for one and comes back.
#[allow(clippy::result_large_err)] // the error is the page the handler answers with
pub(super) fn signed_in_ucr(ctx: &Ctx, ucr: &str, what: &str, page: &str) -> Result<Ucr, Response> {
    let ucr = Ucr::parse(ucr).map_err(|e| bad_ucr(ctx, e))?;
    if !ctx.signed_in() {
        return Err(sign_in_needed(
            ctx,
            what,
            &format!("/consignments/{ucr}{page}"),
        ));
    }
    Ok(ucr)
}

/// What the status page shows beyond genesis.
pub(crate) struct StatusData {
    /// Finalized height and tip.
    pub height: u64,
    /// Tip hash.
    pub tip: Hash,
    /// Timestamp of the tip block.
    pub tip_time_ms: Option<u64>,
    /// Mempool transactions and bytes.
    pub mempool: (usize, usize),
    /// Per validator public key (hex): blocks proposed among the recent ones, and the last height.
    pub proposals: HashMap<String, (u64, u64)>,
    /// How many recent blocks were read.
    pub recent: u64,
    /// The node's clock.
    pub now_ms: u64,
}

pub(super) async fn status_page(
    State(state): State<ApiState>,
    Extension(ex): Extension<Explorer>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let ctx = ex.ctx(&state, &headers);
    let chain = state.chain.clone();
    let data = read(&ctx, move || {
        let (height, tip) = chain.tip();
        let mut proposals: HashMap<String, (u64, u64)> = HashMap::new();
        let low = height.saturating_sub(RECENT_PROPOSALS - 1).max(1);
        let mut tip_time_ms = None;
        for h in low..=height {
            if let Some(header) = chain.store().block_header(h)? {
                let e = proposals.entry(hex::encode(header.proposer)).or_default();
                *e = (e.0 + 1, h);
                tip_time_ms = Some(header.timestamp_ms);
            }
        }
        Ok(StatusData {
            height,
            tip,
            tip_time_ms,
            mempool: chain.mempool_size(),
            proposals,
            recent: if height == 0 { 0 } else { height - low + 1 },
            now_ms: chain.now_ms(),
        })
    })
    .await?;
    Ok(page(
        &ctx,
        StatusCode::OK,
        "Node and validators",
        view::status(&ctx, state.chain.genesis(), &data),
    ))
}
