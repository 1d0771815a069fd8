//! Paged lists, driven through the node's router without a socket (`tower::ServiceExt::oneshot`):
//! `GET /v1/records`, `GET /v1/blocks` and `GET /v1/registry/{authority}` walked page by page
//! with `next_cursor` while blocks keep being finalized (every item once, in ledger order, none
//! skipped), cursors and limits refused with their codes, and the explorer's next-page links.
//!
//! Consensus does not run here: [`Node::seal`] drives the ledger core directly (propose on the
//! tip, then finalize), as consensus would after agreeing on the block. No proof is needed, so
//! the genesis pins no verifying key.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use tower::ServiceExt;
use zkcustoms_circuits::Fr;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::{fixed_key, single_validator_genesis};
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::Params;
use zkcustoms_ledger_types::tx::{sha256, Hash, PublishRoot, Role, Transaction};

const AUTHORITY: &str = "DE-GZD";
const OFFICE: &str = "DE-HAMBURG-HAFEN";
const TRADER: &str = "DE123456789012345";
const UCR: &str = "26DE-HAM-000777";
const HOST: &str = "127.0.0.1:8080";
const GRACE_S: u64 = 3600;

/// A node over a fresh database, with [`TRADER`] registered in its first block.
struct Node {
    chain: Arc<Chain>,
    router: Router,
    chain_id: Hash,
    authority: PrivateKey,
    trader: Trader,
    /// Anchors made so far (each one a new document type of [`UCR`], version 1).
    anchors: usize,
    /// Roots published so far.
    roots: u64,
    _db: tempfile::TempDir,
}

impl Node {
    fn new() -> Self {
        let (validator, authority, office) = (fixed_key(11), fixed_key(12), fixed_key(13));
        let genesis = single_validator_genesis(
            "zkcustoms-pages-test",
            ("validator-0", &validator),
            &[(AUTHORITY, &authority)],
            &[(OFFICE, &office)],
            vec![],
            Params {
                root_grace_seconds: GRACE_S,
                as_of_tolerance_days: None,
                max_block_txs: 512,
            },
        );
        let db = tempfile::tempdir().unwrap();
        let chain = Arc::new(
            Chain::open(
                genesis.clone(),
                Store::open(db.path()).unwrap(),
                None,
                crypto::public_bytes(&crypto::public_of(&validator)),
                MempoolLimits::default(),
            )
            .unwrap(),
        );
        let trader = Trader::new(TRADER);
        chain
            .submit(trader.registration(&genesis.chain_id, OFFICE, &office))
            .expect("the registration is admitted");
        let node = Self {
            router: testing::router(chain.clone(), None, 16 * 1024),
            chain,
            chain_id: genesis.chain_id,
            authority,
            trader,
            anchors: 0,
            roots: 0,
            _db: db,
        };
        node.seal();
        node
    }

    /// Finalizes a block of everything in the mempool.
    fn seal(&self) {
        let (height, parent) = self.chain.tip();
        let block = self
            .chain
            .propose(parent)
            .expect("propose")
            .expect("a transaction to seal");
        self.chain
            .finalize(block.hash(), height + 1, Vec::new())
            .expect("finalize");
        assert_eq!(self.chain.tip().0, height + 1);
    }

    /// Seals one block of `n` anchors under [`UCR`]; answers their hashes (hex).
    fn anchor_block(&mut self, n: usize) -> Vec<String> {
        let mut hashes = Vec::new();
        for _ in 0..n {
            self.anchors += 1;
            let doc_type = format!("doc-{}", self.anchors);
            let tx = self.trader.anchor(
                &self.chain_id,
                UCR,
                &doc_type,
                sha256(doc_type.as_bytes()),
                &format!("vault://{doc_type}"),
                1,
            );
            hashes.push(hex::encode(self.chain.submit(tx).expect("admitted")));
        }
        self.seal();
        hashes
    }

    /// Seals one block with the next registry root.
    fn publish_root(&mut self) {
        self.roots += 1;
        let tx = Transaction::PublishRoot(PublishRoot::sign(
            &self.chain_id,
            &self.authority,
            AUTHORITY,
            Fr::from(1000 + self.roots),
            self.roots,
        ));
        self.chain.submit(tx).expect("admitted");
        self.seal();
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// A JSON GET with a role's token (`None`: no token).
    async fn get(&self, role: Option<Role>, uri: &str) -> (StatusCode, Value) {
        let mut req = Request::builder().uri(uri);
        if let Some(role) = role {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", token(role)));
        }
        let (status, body) = self.send(req.body(Body::empty()).unwrap()).await;
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{uri} answered {status}, not JSON ({e}): {body}"));
        (status, value)
    }

    async fn ok(&self, uri: &str) -> Value {
        let (status, body) = self.get(Some(Role::Auditor), uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        body
    }

    async fn refused(&self, uri: &str, code: &str) {
        let (status, body) = self.get(Some(Role::Customs), uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"], code, "{uri}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
    }

    /// An explorer page for a viewer signed in as customs.
    async fn page(&self, session: &str, uri: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(uri)
            .header(header::HOST, HOST)
            .header(header::COOKIE, format!("zkcustoms_session={session}"));
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn sign_in(&self) -> String {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/signin")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "token={}&next=%2F",
                testing::explorer_token(Role::Customs)
            )))
            .unwrap();
        let response = self.router.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        cookie
            .strip_prefix("zkcustoms_session=")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned()
    }
}

/// The cursor of a page (`None` on the last).
fn next(page: &Value) -> Option<String> {
    match &page["next_cursor"] {
        Value::Null => None,
        Value::String(c) => Some(c.clone()),
        other => panic!("next_cursor is {other}"),
    }
}

/// (height, index, hash) of each record of a page.
fn records(page: &Value) -> Vec<(u64, u64, String)> {
    page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["height"].as_u64().unwrap(),
                r["index"].as_u64().unwrap(),
                r["transaction"]["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The cursor of an explorer page's next-page link under `base`.
fn next_link(body: &str, base: &str) -> Option<String> {
    let start =
        body.find(&format!("href=\"{base}?cursor="))? + base.len() + "href=\"?cursor=".len();
    Some(body[start..].split('"').next().unwrap().to_owned())
}

#[tokio::test]
async fn records_are_walked_once_each_in_ledger_order_while_blocks_append() {
    let mut node = Node::new();
    let mut anchored: Vec<String> = Vec::new();
    for _ in 0..5 {
        anchored.extend(node.anchor_block(21));
    }
    let base = format!("/v1/records?ucr={UCR}");

    // The default page is 100 records; the rest comes with its cursor.
    let first = node.ok(&base).await;
    assert_eq!(records(&first).len(), 100);
    assert_eq!(first["ucr"], UCR);
    // Each anchor is a document type of its own: the current version of the first 64 only,
    // and the page says so.
    assert_eq!(
        first["documents"].as_array().unwrap().len(),
        zkcustoms_ledger_core::queries::MAX_DOCUMENT_TYPES
    );
    assert_eq!(first["documents_complete"], false);
    let cursor = next(&first).expect("a second page");
    let second = node.ok(&format!("{base}&cursor={cursor}")).await;
    assert_eq!(records(&second).len(), 5);
    assert_eq!(next(&second), None);
    let all = node.ok(&format!("{base}&limit=1000")).await;
    assert_eq!(records(&all).len(), 105);
    assert_eq!(next(&all), None);

    // Walk 7 at a time, finalizing a block of 2 more anchors between pages.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let uri = match &cursor {
            Some(c) => format!("{base}&limit=7&cursor={c}"),
            None => format!("{base}&limit=7"),
        };
        let page = node.ok(&uri).await;
        let rows = records(&page);
        assert!(rows.len() <= 7);
        walked.extend(rows);
        pages += 1;
        cursor = next(&page);
        if cursor.is_none() {
            break;
        }
        if pages <= 6 {
            anchored.extend(node.anchor_block(2));
        }
    }
    let positions: Vec<(u64, u64)> = walked.iter().map(|(h, i, _)| (*h, *i)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "not in ledger order, or repeated: {positions:?}"
    );
    let hashes: Vec<&str> = walked.iter().map(|(_, _, h)| h.as_str()).collect();
    let unique: HashSet<&str> = hashes.iter().copied().collect();
    assert_eq!(unique.len(), hashes.len(), "an item came twice");
    assert_eq!(hashes.len(), 105 + 12, "an item was skipped");
    assert_eq!(
        unique,
        anchored.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    // The walk is the whole list as one page now shows it.
    let all = node.ok(&format!("{base}&limit=1000")).await;
    assert_eq!(records(&all), walked);

    // Limits: 1 to 1000, refused (not clamped) outside.
    assert_eq!(records(&node.ok(&format!("{base}&limit=1")).await).len(), 1);
    for bad in ["0", "1001", "-1", "ten", "99999999999999999999999"] {
        node.refused(&format!("{base}&limit={bad}"), "bad-query")
            .await;
    }
}

#[tokio::test]
async fn blocks_are_listed_newest_first_and_new_blocks_never_shift_a_walk() {
    let mut node = Node::new();
    for _ in 0..11 {
        node.anchor_block(1);
    }
    let tip = node.chain.tip().0;
    assert_eq!(tip, 12);
    let first = node.ok("/v1/blocks").await;
    let heights = |page: &Value| -> Vec<u64> {
        page["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["height"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(heights(&first), (1..=tip).rev().collect::<Vec<_>>());
    assert_eq!(next(&first), None);
    let latest = node.ok("/v1/blocks/latest").await;
    let header = &first["blocks"][0];
    for field in [
        "hash",
        "parent",
        "timestamp_ms",
        "tx_root",
        "tx_count",
        "proposer",
    ] {
        assert_eq!(header[field], latest[field], "{field}");
    }

    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/v1/blocks?limit=5&cursor={c}"),
            None => "/v1/blocks?limit=5".to_owned(),
        };
        let page = node.ok(&uri).await;
        walked.extend(heights(&page));
        cursor = next(&page);
        if cursor.is_none() {
            break;
        }
        // Blocks finalized during the walk land above it.
        node.anchor_block(1);
        node.anchor_block(1);
    }
    assert_eq!(walked, (1..=tip).rev().collect::<Vec<_>>());
    assert_eq!(node.chain.tip().0, tip + 4);

    // Blocks are for customs and auditors.
    let (status, body) = node.get(Some(Role::Trader), "/v1/blocks").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "wrong-role", "{body}");
    let (status, _) = node.get(None, "/v1/blocks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in ["0", "1001"] {
        node.refused(&format!("/v1/blocks?limit={bad}"), "bad-query")
            .await;
    }
    node.refused("/v1/blocks?page=2", "bad-query").await;
}

#[tokio::test]
async fn registry_roots_are_walked_oldest_first_with_their_standing() {
    let mut node = Node::new();
    for _ in 0..7 {
        node.publish_root();
    }
    let base = format!("/v1/registry/{AUTHORITY}");
    let mut walked: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("{base}?limit=3&cursor={c}"),
            None => format!("{base}?limit=3"),
        };
        let page = node.ok(&uri).await;
        // The latest sequence is the ledger's, whatever the page.
        assert_eq!(page["latest_sequence"], node.roots, "{page}");
        walked.extend(page["roots"].as_array().unwrap().iter().cloned());
        cursor = next(&page);
        if cursor.is_none() {
            break;
        }
        node.publish_root();
    }
    let sequences: Vec<u64> = walked
        .iter()
        .map(|r| r["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=node.roots).collect::<Vec<_>>());
    // A root is acceptable until its successor's publication plus the grace period, even when
    // the successor is on the next page.
    for pair in walked.windows(2) {
        let until = pair[1]["timestamp_ms"].as_u64().unwrap() + GRACE_S * 1000;
        assert_eq!(pair[0]["acceptable_until_ms"], until, "{pair:?}");
    }
    let all = node.ok(&format!("{base}?limit=1000")).await;
    assert_eq!(all["roots"].as_array().unwrap(), &walked);
    let current: Vec<&Value> = walked.iter().filter(|r| r["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["sequence"], node.roots);
    assert_eq!(current[0]["acceptable_until_ms"], Value::Null);
    node.refused(&format!("{base}?limit=0"), "bad-query").await;
}

#[tokio::test]
async fn garbage_cursors_are_refused_with_bad_cursor() {
    let mut node = Node::new();
    node.anchor_block(3);
    node.publish_root();
    node.publish_root();
    let records = format!("/v1/records?ucr={UCR}");
    let registry = format!("/v1/registry/{AUTHORITY}");
    let records_cursor = next(&node.ok(&format!("{records}&limit=1")).await).unwrap();
    let blocks_cursor = next(&node.ok("/v1/blocks?limit=1").await).unwrap();
    let roots_cursor = next(&node.ok(&format!("{registry}?limit=1")).await).unwrap();
    for (base, good, other) in [
        (format!("{records}&"), &records_cursor, &blocks_cursor),
        ("/v1/blocks?".to_owned(), &blocks_cursor, &roots_cursor),
        (format!("{registry}?"), &roots_cursor, &records_cursor),
    ] {
        assert!(good.starts_with("v1."), "{good}");
        // A good cursor works; anything else is refused.
        node.ok(&format!("{base}cursor={good}")).await;
        let digits = &good[3..];
        let garbage = [
            good[..good.len() - 2].to_owned(),               // truncated
            good[..good.len() - 1].to_owned(),               // an odd number of digits
            format!("v2.{digits}"),                          // another version
            digits.to_owned(),                               // no version
            format!("v1.{}", "zz".repeat(digits.len() / 2)), // not hex
            good.to_uppercase(),                             // not the cursor's spelling
            format!("{good}00"),                             // trailing bytes
            format!("{good}{}", "00".repeat(100)),           // too long
            "v1.".to_owned(),                                // empty
            String::new(),
            other.clone(), // another list's
        ];
        for bad in garbage {
            node.refused(&format!("{base}cursor={bad}"), "bad-cursor")
                .await;
        }
    }
}

#[tokio::test]
async fn explorer_pages_link_to_their_next_page() {
    let mut node = Node::new();
    for _ in 0..5 {
        node.anchor_block(21);
    }
    for _ in 0..12 {
        node.publish_root();
    }
    assert_eq!(node.chain.tip().0, 18);
    let session = node.sign_in().await;

    // Home: the 10 latest blocks, and a link to older ones.
    let (status, home) = node.page(&session, "/").await;
    assert_eq!(status, StatusCode::OK, "{home}");
    assert!(home.contains("href=\"/blocks/18\"") && home.contains("href=\"/blocks/9\""));
    assert!(!home.contains("href=\"/blocks/8\""), "{home}");
    let cursor = next_link(&home, "/").expect("a link to older blocks");
    let (status, older) = node.page(&session, &format!("/?cursor={cursor}")).await;
    assert_eq!(status, StatusCode::OK, "{older}");
    assert!(older.contains("href=\"/blocks/8\"") && older.contains("href=\"/blocks/1\""));
    assert!(!older.contains("href=\"/blocks/9\""), "{older}");
    assert!(older.contains("First page"));
    assert_eq!(next_link(&older, "/"), None);

    // A consignment's records: 100 on the first page, the other 5 after the link.
    let base = format!("/consignments/{UCR}");
    let (status, first) = node.page(&session, &base).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first.contains("100 record(s) on this page"), "{first}");
    let cursor = next_link(&first, &base).expect("a link to the next records");
    let (status, rest) = node
        .page(&session, &format!("{base}?cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert!(rest.contains("5 record(s) on this page"), "{rest}");
    assert_eq!(next_link(&rest, &base), None);

    // The amendment history and an authority's roots page the same way.
    let history = format!("{base}/history");
    let (status, first) = node.page(&session, &history).await;
    assert_eq!(status, StatusCode::OK);
    let cursor = next_link(&first, &history).expect("a link to more versions");
    let (status, rest) = node
        .page(&session, &format!("{history}?cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    // Versions come in the store's order of document types (shorter names first, as the type
    // is stored with its length): doc-1, ..., doc-9, doc-10, ..., doc-99, doc-100, ..., doc-105.
    for n in 101..=105 {
        assert!(rest.contains(&format!("Document: doc-{n}<")), "{rest}");
    }
    assert!(!rest.contains("Document: doc-100<"), "{rest}");
    assert!(first.contains("Document: doc-100<"), "{first}");
    let registry = format!("/registry/{AUTHORITY}");
    let (status, roots) = node.page(&session, &registry).await;
    assert_eq!(status, StatusCode::OK);
    assert!(roots.contains("12 root(s), newest first"), "{roots}");
    // The index shows the latest 10 of each authority, and links to the rest.
    let (status, index) = node.page(&session, "/registry").await;
    assert_eq!(status, StatusCode::OK);
    assert!(index.contains("The latest roots of") && index.contains("Every root of"));

    // Garbage is a readable 400 page.
    for uri in [
        "/?cursor=v1.zz".to_owned(),
        format!("{base}?cursor=v9.00"),
        format!("{history}?cursor={cursor}00"),
        format!("{registry}?cursor=v1."),
    ] {
        let (status, body) = node.page(&session, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains("Not a page of this list"), "{uri}: {body}");
    }
}

/// A full block's page shows its transactions a page at a time (each shown is decoded), every
/// one once in block order across the pages; a cursor of another block is refused.
#[tokio::test]
async fn a_block_page_shows_its_transactions_a_page_at_a_time() {
    let mut node = Node::new();
    let hashes = node.anchor_block(120);
    assert_eq!(node.chain.tip().0, 2);
    let session = node.sign_in().await;
    let base = "/blocks/2";
    let mut uri = base.to_owned();
    let mut shown = Vec::new();
    let mut cursors = Vec::new();
    loop {
        let (status, body) = node.page(&session, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let on_page: Vec<&String> = hashes
            .iter()
            .filter(|h| body.contains(&format!("href=\"/tx/{h}\"")))
            .collect();
        assert!(on_page.len() <= 50, "{} on one page", on_page.len());
        let first = shown.len();
        assert!(
            body.contains(&format!("{first} to {} of 120", first + on_page.len() - 1)),
            "{body}"
        );
        shown.extend(on_page.into_iter().cloned());
        match next_link(&body, base) {
            Some(cursor) => {
                uri = format!("{base}?cursor={cursor}");
                cursors.push(cursor);
            }
            None => break,
        }
    }
    assert_eq!(shown, hashes, "every transaction once, in block order");
    assert_eq!(cursors.len(), 2, "120 transactions: pages of 50, 50 and 20");
    // The cursor of block 2's page is no page of block 1; a records cursor is no page of a block.
    let foreign = [
        format!("/blocks/1?cursor={}", cursors[0]),
        format!("{base}?cursor=v1.010000000000000002000000ab"),
    ];
    for uri in foreign {
        let (status, body) = node.page(&session, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains("Not a page of this list"), "{uri}: {body}");
    }
}
