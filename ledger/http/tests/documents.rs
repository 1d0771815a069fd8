//! Off-ledger documents and amendments through the API router (`tower::ServiceExt::oneshot`):
//! uploads checked against the anchored digest, access lists, forgetting (410 afterwards, the
//! ledger untouched), every malformed or refused request with its clear error, and the records of
//! a consignment with each document's current version and full history.
//!
//! Consensus does not run here: [`Node::seal`] drives the ledger core as consensus would.

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;
use zkcustoms_documents::DocumentService;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::Params;
use zkcustoms_ledger_types::tx::{sha256, MarkExamination, Role, Transaction, Ucr};

const OFFICE: &str = "DE-HAMBURG-HAFEN";
const MAX_BODY: usize = 16 * 1024;
const MAX_DOCUMENT: usize = 1024;
const UCR: &str = "26DE-HAM-000042";
const TRADER: &str = "DE123456789012345";

fn auth(role: Role) -> String {
    format!("Bearer {}", token(role))
}

/// A node with a fresh genesis (one customs office, no verifying key), ledger and document store.
struct Node {
    chain: Arc<Chain>,
    router: Router,
    office: PrivateKey,
    trader: Trader,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new(with_documents: bool) -> Self {
        let validator = crypto::generate();
        let office = crypto::generate();
        let genesis = single_validator_genesis(
            "zkcustoms-documents-test",
            ("validator-0", &validator),
            &[],
            &[(OFFICE, &office)],
            vec![],
            Params::default(),
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ledger")).unwrap();
        let chain = Chain::open(
            genesis,
            store,
            None,
            crypto::public_bytes(&crypto::public_of(&validator)),
            MempoolLimits::default(),
        )
        .unwrap();
        let documents = with_documents.then(|| {
            let master = Arc::new(zkcustoms_documents::LocalMasterKey::generate());
            Arc::new(
                DocumentService::open(&dir.path().join("documents"), MAX_DOCUMENT, master).unwrap(),
            )
        });
        let trader = Trader::new(TRADER);
        chain
            .submit(trader.registration(&chain.genesis().chain_id, OFFICE, &office))
            .expect("the trader's registration is admitted");
        let chain = Arc::new(chain);
        let router = testing::router(chain.clone(), documents, MAX_BODY);
        Self {
            chain,
            router,
            office,
            trader,
            _dir: dir,
        }
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        auth: Option<String>,
        body: Vec<u8>,
    ) -> (StatusCode, Bytes) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let response = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, bytes)
    }

    async fn json(
        &self,
        method: Method,
        uri: &str,
        role: Option<Role>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.raw(method, uri, role.map(auth), body).await;
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{uri} answered {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn upload(&self, role: Role, uri: &str, body: &[u8]) -> (StatusCode, Value) {
        self.json(Method::POST, uri, Some(role), body.to_vec())
            .await
    }

    async fn read(&self, role: Role, uri: &str) -> (StatusCode, Bytes) {
        self.raw(Method::GET, uri, Some(auth(role)), Vec::new())
            .await
    }

    async fn forget(&self, role: Role, uri: &str) -> (StatusCode, Value) {
        self.json(Method::DELETE, uri, Some(role), Vec::new()).await
    }

    async fn records(&self) -> Value {
        let (s, b) = self
            .json(
                Method::GET,
                &format!("/v1/records?ucr={UCR}"),
                Some(Role::Customs),
                Vec::new(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    /// Submits a transaction that must be accepted.
    fn submit(&self, tx: Transaction) {
        self.chain.submit(tx).expect("accepted");
    }

    /// Finalizes one block with the mempool, as consensus would.
    fn seal(&self) {
        let (height, parent) = self.chain.tip();
        let block = self.chain.propose(parent).unwrap().expect("a block");
        self.chain
            .finalize(block.hash(), height + 1, Vec::new())
            .unwrap();
    }

    /// A document of `doc_type` anchored under [`UCR`] by the trader.
    fn anchor(&self, doc_type: &str, version: u32, content: &[u8]) -> Transaction {
        let reference = format!("vault://{doc_type}/{version}");
        let chain = self.chain.genesis().chain_id;
        self.trader
            .anchor(&chain, UCR, doc_type, sha256(content), &reference, version)
    }

    fn examine(&self) -> Transaction {
        Transaction::MarkExamination(MarkExamination::sign(
            &self.chain.genesis().chain_id,
            &self.office,
            Ucr::parse(UCR).unwrap(),
            OFFICE,
        ))
    }
}

fn doc_uri(doc_type: &str, version: u32) -> String {
    format!("/v1/documents/{UCR}/{doc_type}/{version}")
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
}

fn assert_json_error(status: StatusCode, bytes: &Bytes, want: StatusCode, code: &str) {
    let body: Value = serde_json::from_slice(bytes).expect("a JSON error");
    assert_error(status, &body, want, code);
}

const INVOICE: &[u8] = b"INVOICE-MARKER-4e1f: 4 static converters, 18432.50 EUR";

#[tokio::test]
async fn documents_are_uploaded_read_by_their_readers_and_forgotten() {
    let node = Node::new(true);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.seal();
    let uri = doc_uri("invoice", 1);

    let (s, b) = node
        .upload(Role::Trader, &format!("{uri}?readers=customs"), INVOICE)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["document"]["state"], "stored", "{b}");
    assert_eq!(
        b["document"]["readers"],
        json!(["trader", "customs"]),
        "{b}"
    );
    assert_eq!(b["document"]["digest"], hex::encode(sha256(INVOICE)), "{b}");
    assert_eq!(b["document"]["size"], INVOICE.len(), "{b}");
    // Uploaded once.
    let (s, b) = node.upload(Role::Trader, &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::CONFLICT, "duplicate-document");

    for role in [Role::Trader, Role::Customs] {
        let (s, bytes) = node.read(role, &uri).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(&bytes[..], INVOICE);
    }
    for role in [Role::Auditor, Role::Authority] {
        let (s, bytes) = node.read(role, &uri).await;
        assert_json_error(s, &bytes, StatusCode::FORBIDDEN, "not-a-reader");
    }
    let (s, bytes) = node.read(Role::Customs, &doc_uri("invoice", 2)).await;
    assert_json_error(s, &bytes, StatusCode::NOT_FOUND, "unknown-document");
    let (s, bytes) = node
        .raw(Method::GET, &uri, Some("Bearer nope".into()), Vec::new())
        .await;
    assert_json_error(s, &bytes, StatusCode::UNAUTHORIZED, "unauthenticated");

    // Forgetting: trader or customs only; unknown documents are 404.
    for role in [Role::Auditor, Role::Authority] {
        let (s, b) = node.forget(role, &uri).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    }
    let (s, b) = node.forget(Role::Trader, &doc_uri("invoice", 2)).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-document");
    let (s, bytes) = node.read(Role::Customs, &uri).await;
    assert_eq!((s, &bytes[..]), (StatusCode::OK, INVOICE), "still readable");

    let (s, b) = node.forget(Role::Trader, &uri).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["document"]["state"], "forgotten", "{b}");
    assert_eq!(b["document"]["forgotten_by"], "trader", "{b}");
    assert!(
        b["document"]["forgotten_at_ms"].as_u64().unwrap() > 0,
        "{b}"
    );
    let forgotten = b["document"].clone();

    for role in [Role::Trader, Role::Customs] {
        let (s, bytes) = node.read(role, &uri).await;
        assert_json_error(s, &bytes, StatusCode::GONE, "document-forgotten");
    }
    // Forgetting again, or uploading again, changes nothing.
    let (s, b) = node.forget(Role::Customs, &uri).await;
    assert_error(s, &b, StatusCode::GONE, "document-forgotten");
    let (s, b) = node.upload(Role::Trader, &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::GONE, "document-forgotten");

    // The ledger keeps the digest; the records show the node's copy as forgotten.
    let r = node.records().await;
    let v1 = &r["documents"][0]["history"][0];
    assert_eq!(v1["digest"], hex::encode(sha256(INVOICE)), "{r}");
    assert_eq!(v1["document"], forgotten, "{r}");
    assert_eq!(r["records"].as_array().unwrap().len(), 1, "{r}");
}

#[tokio::test]
async fn bad_uploads_are_refused_with_clear_errors_and_lose_nothing() {
    let node = Node::new(true);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.seal();
    let uri = doc_uri("invoice", 1);

    // Who may upload.
    let (s, b) = node.json(Method::POST, &uri, None, INVOICE.to_vec()).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    for role in [Role::Customs, Role::Auditor, Role::Authority] {
        let (s, b) = node.upload(role, &uri, INVOICE).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    }
    // Malformed requests.
    for (path, code) in [
        ("/v1/documents/lower-case/invoice/1".to_string(), "bad-ucr"),
        (format!("/v1/documents/{UCR}/Invoice!/1"), "bad-doc-type"),
        (format!("/v1/documents/{UCR}/invoice/0"), "bad-version"),
        (format!("/v1/documents/{UCR}/invoice/one"), "bad-version"),
        (format!("{uri}?readers=customs,king"), "bad-readers"),
        (format!("{uri}?owner=me"), "bad-query"),
    ] {
        let (s, b) = node.upload(Role::Trader, &path, INVOICE).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, code);
    }
    let (s, b) = node.upload(Role::Trader, &uri, b"").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "empty-document");
    // Too large for a document (though within the transaction body limit).
    let (s, b) = node
        .upload(Role::Trader, &uri, &vec![b'x'; MAX_DOCUMENT + 1])
        .await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    // Not the anchored document.
    let (s, b) = node
        .upload(Role::Trader, &uri, b"INVOICE-MARKER-4e1f: forged")
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "digest-mismatch");
    // Unanchored: another type, another version, a pending anchor.
    let (s, b) = node
        .upload(Role::Trader, &doc_uri("declaration", 1), INVOICE)
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-anchor");
    node.submit(node.anchor("invoice", 2, b"invoice v2"));
    let (s, b) = node
        .upload(Role::Trader, &doc_uri("invoice", 2), b"invoice v2")
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-anchor");

    // Nothing of that was stored; the right upload still succeeds.
    let (s, bytes) = node.read(Role::Trader, &uri).await;
    assert_json_error(s, &bytes, StatusCode::NOT_FOUND, "unknown-document");
    let (s, b) = node.upload(Role::Trader, &uri, INVOICE).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["document"]["readers"], json!(["trader"]), "{b}");
    let (s, bytes) = node.read(Role::Customs, &uri).await;
    assert_json_error(s, &bytes, StatusCode::FORBIDDEN, "not-a-reader");
    // The pending anchor finalizes: its document can be uploaded now.
    node.seal();
    let (s, b) = node
        .upload(Role::Trader, &doc_uri("invoice", 2), b"invoice v2")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn records_show_current_versions_with_their_history_and_the_examination() {
    let node = Node::new(true);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.submit(node.anchor("declaration", 1, b"declaration v1"));
    node.seal();
    node.submit(node.anchor("declaration", 2, b"declaration v2"));
    node.seal();
    let (s, b) = node
        .upload(
            Role::Trader,
            &format!("{}?readers=customs,auditor", doc_uri("declaration", 2)),
            b"declaration v2",
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let r = node.records().await;
    assert_eq!(r["under_examination"], Value::Null, "{r}");
    let docs = r["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2, "{r}");
    let decl = &docs[0];
    assert_eq!(decl["doc_type"], "declaration", "{r}");
    assert_eq!(decl["version"], 2, "{r}");
    assert_eq!(
        decl["digest"],
        hex::encode(sha256(b"declaration v2")),
        "{r}"
    );
    let hash =
        |content: &[u8], version| hex::encode(node.anchor("declaration", version, content).hash());
    let history = decl["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{r}");
    assert_eq!(history[0]["version"], 1);
    assert_eq!(history[0]["height"], 1);
    assert_eq!(history[0]["tx"], hash(b"declaration v1", 1), "{r}");
    assert_eq!(history[0]["superseded_by"], 2, "{r}");
    assert_eq!(history[0]["document"], Value::Null, "never uploaded: {r}");
    assert_eq!(history[1]["version"], 2);
    assert_eq!(history[1]["height"], 2);
    assert_eq!(history[1]["tx"], hash(b"declaration v2", 2), "{r}");
    assert_eq!(history[1]["superseded_by"], Value::Null, "{r}");
    assert_eq!(history[1]["document"]["state"], "stored", "{r}");
    assert_eq!(
        history[1]["document"]["readers"],
        json!(["trader", "customs", "auditor"])
    );
    assert_eq!(docs[1]["doc_type"], "invoice", "{r}");
    assert_eq!(docs[1]["history"].as_array().unwrap().len(), 1, "{r}");

    // Under examination: no new version, with a clear error; both versions stay in the log.
    node.submit(node.examine());
    node.seal();
    let (s, b) = node
        .json(
            Method::POST,
            "/v1/transactions",
            Some(Role::Trader),
            serde_json::to_vec(&node.anchor("declaration", 3, b"declaration v3").to_json())
                .unwrap(),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "under-examination");
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains(UCR) && message.contains(OFFICE) && message.contains("no new version"),
        "{message}"
    );
    let r = node.records().await;
    assert_eq!(r["under_examination"]["office"], OFFICE, "{r}");
    assert_eq!(r["under_examination"]["height"], 3, "{r}");
    assert_eq!(r["documents"][0]["version"], 2, "{r}");
    assert_eq!(r["documents"][0]["history"].as_array().unwrap().len(), 2);
    assert_eq!(r["records"].as_array().unwrap().len(), 4, "{r}");
    // The document of a version anchored before the examination can still be uploaded and read.
    let (s, b) = node
        .upload(Role::Trader, &doc_uri("declaration", 1), b"declaration v1")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn a_node_without_documents_says_so_and_the_routes_are_documented() {
    let node = Node::new(false);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.seal();
    let (s, b) = node
        .upload(Role::Trader, &doc_uri("invoice", 1), INVOICE)
        .await;
    assert_error(
        s,
        &b,
        StatusCode::SERVICE_UNAVAILABLE,
        "documents-unavailable",
    );
    let (s, bytes) = node.read(Role::Trader, &doc_uri("invoice", 1)).await;
    assert_json_error(
        s,
        &bytes,
        StatusCode::SERVICE_UNAVAILABLE,
        "documents-unavailable",
    );
    let r = node.records().await;
    assert_eq!(r["documents"][0]["history"][0]["document"], Value::Null);

    let (s, doc) = node
        .json(Method::GET, "/openapi.json", None, Vec::new())
        .await;
    assert_eq!(s, StatusCode::OK);
    let path = &doc["paths"]["/v1/documents/{ucr}/{doc_type}/{version}"];
    for method in ["post", "get", "delete"] {
        assert!(path[method]["summary"].is_string(), "{method}: {path}");
    }
    assert!(path["get"]["responses"]["410"].is_object(), "{path}");
}
