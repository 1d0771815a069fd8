//! Off-ledger documents and amendments through the API router (`tower::ServiceExt::oneshot`),
//! requested by parties that sign with their own keys (RFC 9421): uploads checked against the
//! anchored digest; who may write (the consignment's owner, or a trader it delegated to until it
//! withdraws; not offices, auditors or other traders); who may read (the uploader and the access
//! list: an administration's offices, parties by id; a refusal names no reader); role tokens,
//! missing credentials and unknown keys refused; forgetting (410 afterwards, the forgetting party
//! recorded, the ledger untouched); every malformed or refused request with its clear error; and
//! the records of a consignment with each document's current version and latest versions, its
//! whole history a page at a time.
//!
//! Consensus does not run here: [`Node::seal`] drives the ledger core as consensus would.

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tower::ServiceExt;
use zkcustoms_documents::DocumentService;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::queries::{MAX_DOCUMENT_TYPES, MAX_RECENT_VERSIONS};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::{Genesis, Params, SignerEntry};
use zkcustoms_ledger_types::http_signature::{fresh_nonce, sign_request_to, SignatureParams};
use zkcustoms_ledger_types::tx::{sha256, Hash, MarkExamination, Role, Transaction, Ucr};

const MAX_BODY: usize = 16 * 1024;
const MAX_DOCUMENT: usize = 1024;
const UCR: &str = "26DE-HAM-000042";
/// A customs office of the administration `DE`.
const OFFICE: &str = "DE-HAMBURG-HAFEN";
/// A customs office of another administration, `NL`.
const NL_OFFICE: &str = "NL-ROTTERDAM";
/// An auditor listed in genesis.
const AUDITOR: &str = "AUDIT-EU-1";
/// The trader that owns [`UCR`] (it anchors first).
const OWNER: &str = "DE123456789012345";
/// Another registered trader.
const OTHER: &str = "NL000111222";
/// A registered trader the owner may delegate to.
const BROKER: &str = "DE555666777";

/// Who makes a request.
#[derive(Clone, Copy, Debug)]
enum By<'a> {
    /// Nobody: no credentials at all.
    Nobody,
    /// This node's operator, with the role's token.
    Token(Role),
    /// A bearer token this node does not know.
    BadToken,
    /// A party of the ledger, signing with its own key (document requests bound to this node).
    Party(&'a str),
    /// A party of the ledger, signing a request bound to the node at the given authority (`None`:
    /// to no node), sent to this node.
    PartyFor(&'a str, Option<&'a str>),
    /// An id nobody knows, signing with a fresh key.
    Stranger(&'a str),
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A node with a fresh genesis (offices of `DE` and `NL`, one auditor, no verifying key), ledger
/// and document store, and three traders whose registrations wait in the mempool (they land in
/// the first sealed block).
struct Node {
    chain: Arc<Chain>,
    router: Router,
    /// Every party's key by its id: the offices, the auditor and the traders.
    keys: BTreeMap<&'static str, PrivateKey>,
    owner: Trader,
    broker: Trader,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new(with_documents: bool) -> Self {
        let validator = crypto::generate();
        let (office, nl_office, auditor) =
            (crypto::generate(), crypto::generate(), crypto::generate());
        let genesis = single_validator_genesis(
            "zkcustoms-documents-test",
            ("validator-0", &validator),
            &[],
            &[(OFFICE, &office), (NL_OFFICE, &nl_office)],
            vec![],
            Params::default(),
        );
        let mut file = genesis.file.clone();
        file.auditors.push(SignerEntry {
            id: AUDITOR.into(),
            public_key: crypto::public_hex(&crypto::public_of(&auditor)),
            administration: None,
        });
        let genesis = Genesis::from_bytes(&serde_json::to_vec(&file).unwrap()).unwrap();
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
        let (owner, other, broker) = (Trader::new(OWNER), Trader::new(OTHER), Trader::new(BROKER));
        for trader in [&owner, &other, &broker] {
            chain
                .submit(trader.registration(&chain.genesis().chain_id, OFFICE, &office))
                .expect("the trader's registration is admitted");
        }
        let keys = BTreeMap::from([
            (OFFICE, office),
            (NL_OFFICE, nl_office),
            (AUDITOR, auditor),
            (OWNER, owner.key.clone()),
            (OTHER, other.key.clone()),
            (BROKER, broker.key.clone()),
        ]);
        let chain = Arc::new(chain);
        let router = testing::router(chain.clone(), documents, MAX_BODY);
        Self {
            chain,
            router,
            keys,
            owner,
            broker,
            _dir: dir,
        }
    }

    async fn raw(&self, method: Method, uri: &str, by: By<'_>, body: &[u8]) -> (StatusCode, Bytes) {
        let mut req = Request::builder().method(method.clone()).uri(uri);
        let signer = match by {
            By::Nobody => None,
            By::Token(role) => {
                req = req.header(header::AUTHORIZATION, format!("Bearer {}", token(role)));
                None
            }
            By::BadToken => {
                req = req.header(header::AUTHORIZATION, "Bearer nope");
                None
            }
            By::Party(id) => {
                let bound = uri.starts_with("/v1/documents/") || method == Method::GET;
                Some((
                    id,
                    self.keys[id].clone(),
                    bound.then_some(testing::AUTHORITY),
                ))
            }
            By::PartyFor(id, authority) => Some((id, self.keys[id].clone(), authority)),
            By::Stranger(id) => Some((id, crypto::generate(), Some(testing::AUTHORITY))),
        };
        // Sent with the authority it is signed for, as a node replaying it at another would.
        let host = signer.as_ref().and_then(|(_, _, bound)| *bound);
        req = req.header(header::HOST, host.unwrap_or(testing::AUTHORITY));
        if let Some((id, key, bound)) = signer {
            let body = (!body.is_empty()).then_some(body);
            let params = SignatureParams {
                party_id: id.to_owned(),
                created: now_secs(),
                expires: None,
                nonce: fresh_nonce(),
            };
            let signed = sign_request_to(&key, &params, bound, method.as_str(), uri, body).unwrap();
            req = req
                .header("signature-input", signed.signature_input)
                .header("signature", signed.signature);
            if let Some(digest) = signed.content_digest {
                req = req.header("content-digest", digest);
            }
        }
        if !body.is_empty() {
            req = req.header(header::CONTENT_LENGTH, body.len());
        }
        let response = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_vec())).unwrap())
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
        by: By<'_>,
        body: &[u8],
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.raw(method, uri, by, body).await;
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{uri} answered {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn upload(&self, by: By<'_>, uri: &str, body: &[u8]) -> (StatusCode, Value) {
        self.json(Method::POST, uri, by, body).await
    }

    async fn read(&self, by: By<'_>, uri: &str) -> (StatusCode, Bytes) {
        self.raw(Method::GET, uri, by, &[]).await
    }

    async fn forget(&self, by: By<'_>, uri: &str) -> (StatusCode, Value) {
        self.json(Method::DELETE, uri, by, &[]).await
    }

    async fn records(&self) -> Value {
        self.records_as(By::Token(Role::Customs)).await
    }

    async fn records_as(&self, by: By<'_>) -> Value {
        let uri = format!("/v1/records?ucr={UCR}");
        let (s, b) = self.json(Method::GET, &uri, by, &[]).await;
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

    fn chain_id(&self) -> Hash {
        self.chain.genesis().chain_id
    }

    /// A document of `doc_type` anchored under [`UCR`] by the owner.
    fn anchor(&self, doc_type: &str, version: u32, content: &[u8]) -> Transaction {
        let reference = format!("vault://{doc_type}/{version}");
        self.owner.anchor(
            &self.chain_id(),
            UCR,
            doc_type,
            sha256(content),
            &reference,
            version,
        )
    }

    /// The owner's change `sequence` of its delegation to the broker.
    fn delegation(&self, sequence: u32, active: bool) -> Transaction {
        self.owner
            .delegation(&self.chain_id(), &self.broker.eori, sequence, active)
    }

    fn examine(&self) -> Transaction {
        Transaction::MarkExamination(MarkExamination::sign(
            &self.chain_id(),
            &self.keys[OFFICE],
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

fn assert_json_error(status: StatusCode, bytes: &Bytes, want: StatusCode, code: &str) -> Value {
    let body: Value = serde_json::from_slice(bytes).expect("a JSON error");
    assert_error(status, &body, want, code);
    body
}

/// The entry of `doc_type` among the `documents` of a consignment's records.
fn document<'a>(records: &'a Value, doc_type: &str) -> &'a Value {
    records["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["doc_type"] == doc_type)
        .unwrap_or_else(|| panic!("no {doc_type}: {records}"))
}

/// `403 not-a-reader`, with a message that names none of `hidden` (the uploader and readers).
fn assert_not_a_reader(status: StatusCode, bytes: &Bytes, hidden: &[&str]) {
    let body = assert_json_error(status, bytes, StatusCode::FORBIDDEN, "not-a-reader");
    let message = body["message"].as_str().unwrap();
    for id in hidden {
        assert!(!message.contains(id), "names {id}: {message}");
    }
}

const INVOICE: &[u8] = b"INVOICE-MARKER-4e1f: 4 static converters, 18432.50 EUR";
const PACKING_LIST: &[u8] = b"PACKING-LIST: 4 crates";

#[tokio::test]
async fn documents_are_uploaded_read_by_their_readers_and_forgotten() {
    let node = Node::new(true);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.submit(node.anchor("packing-list", 1, PACKING_LIST));
    node.seal();
    let uri = doc_uri("invoice", 1);

    // Readers given unsorted: answered with administrations first, then parties.
    let (s, b) = node
        .upload(
            By::Party(OWNER),
            &format!("{uri}?readers={AUDITOR},customs:DE"),
            INVOICE,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["document"]["state"], "stored", "{b}");
    assert_eq!(b["document"]["uploader"], OWNER, "{b}");
    assert_eq!(
        b["document"]["readers"],
        json!(["customs:DE", AUDITOR]),
        "{b}"
    );
    assert_eq!(b["document"]["digest"], hex::encode(sha256(INVOICE)), "{b}");
    assert_eq!(b["document"]["size"], INVOICE.len(), "{b}");
    // Uploaded once.
    let (s, b) = node.upload(By::Party(OWNER), &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::CONFLICT, "duplicate-document");

    // The uploader, every office of `DE`, the listed auditor.
    for who in [OWNER, OFFICE, AUDITOR] {
        let (s, bytes) = node.read(By::Party(who), &uri).await;
        assert_eq!(s, StatusCode::OK, "{who}");
        assert_eq!(&bytes[..], INVOICE, "{who}");
    }
    // An office of another administration, another trader: refused without learning who reads.
    for who in [NL_OFFICE, OTHER] {
        let (s, bytes) = node.read(By::Party(who), &uri).await;
        assert_not_a_reader(s, &bytes, &["customs:DE", AUDITOR, OWNER]);
    }
    // A document whose list does not name the auditor.
    let packing = doc_uri("packing-list", 1);
    let (s, b) = node
        .upload(
            By::Party(OWNER),
            &format!("{packing}?readers=customs:DE"),
            PACKING_LIST,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["document"]["readers"], json!(["customs:DE"]), "{b}");
    let (s, bytes) = node.read(By::Party(AUDITOR), &packing).await;
    assert_not_a_reader(s, &bytes, &["customs:DE", OWNER]);
    let (s, bytes) = node.read(By::Party(OFFICE), &packing).await;
    assert_eq!((s, &bytes[..]), (StatusCode::OK, PACKING_LIST));

    let (s, bytes) = node.read(By::Party(OFFICE), &doc_uri("invoice", 2)).await;
    assert_json_error(s, &bytes, StatusCode::NOT_FOUND, "unknown-document");
    // A trader that does not see the consignment's records hears the same refusal whether this
    // node keeps a copy or not: it learns nothing of which documents the consignment has.
    for missing_or_kept in [doc_uri("invoice", 2), packing.clone()] {
        let (s, bytes) = node.read(By::Party(OTHER), &missing_or_kept).await;
        assert_not_a_reader(s, &bytes, &["customs:DE", OWNER]);
    }
    // Credentials that do not hold, a key nobody knows, role tokens (which name no party).
    let (s, bytes) = node.read(By::BadToken, &uri).await;
    assert_json_error(s, &bytes, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, bytes) = node.read(By::Stranger("FR999"), &uri).await;
    assert_json_error(s, &bytes, StatusCode::UNAUTHORIZED, "bad-signature");
    for role in [Role::Trader, Role::Customs, Role::Auditor] {
        let (s, bytes) = node.read(By::Token(role), &uri).await;
        assert_json_error(s, &bytes, StatusCode::FORBIDDEN, "party-required");
        let (s, b) = node.forget(By::Token(role), &uri).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "party-required");
    }

    // Forgetting: the owner (or a delegate) only; unknown documents are 404.
    for who in [OFFICE, NL_OFFICE, AUDITOR] {
        let (s, b) = node.forget(By::Party(who), &uri).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-party");
    }
    let (s, b) = node.forget(By::Party(OTHER), &uri).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "not-owner");
    let (s, b) = node.forget(By::Party(OWNER), &doc_uri("invoice", 2)).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-document");
    let (s, bytes) = node.read(By::Party(OFFICE), &uri).await;
    assert_eq!((s, &bytes[..]), (StatusCode::OK, INVOICE), "still readable");

    let (s, b) = node.forget(By::Party(OWNER), &uri).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["document"]["state"], "forgotten", "{b}");
    assert_eq!(b["document"]["forgotten_by"], OWNER, "{b}");
    assert!(
        b["document"]["forgotten_at_ms"].as_u64().unwrap() > 0,
        "{b}"
    );
    let forgotten = b["document"].clone();

    for who in [OWNER, OFFICE, AUDITOR] {
        let (s, bytes) = node.read(By::Party(who), &uri).await;
        assert_json_error(s, &bytes, StatusCode::GONE, "document-forgotten");
    }
    // A party that never could read it learns nothing more now.
    let (s, bytes) = node.read(By::Party(NL_OFFICE), &uri).await;
    assert_not_a_reader(s, &bytes, &["customs:DE", AUDITOR, OWNER]);
    // Forgetting again, or uploading again, changes nothing.
    let (s, b) = node.forget(By::Party(OWNER), &uri).await;
    assert_error(s, &b, StatusCode::GONE, "document-forgotten");
    let (s, b) = node.upload(By::Party(OWNER), &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::GONE, "document-forgotten");
    // The other document is untouched.
    let (s, bytes) = node.read(By::Party(OWNER), &packing).await;
    assert_eq!((s, &bytes[..]), (StatusCode::OK, PACKING_LIST));

    // The ledger keeps the digest; the records show the node's copy as forgotten.
    let r = node.records_as(By::Party(OWNER)).await;
    let v1 = &document(&r, "invoice")["history"][0];
    assert_eq!(v1["digest"], hex::encode(sha256(INVOICE)), "{r}");
    let mut seen = forgotten;
    seen["may_read"] = true.into();
    assert_eq!(v1["document"], seen, "{r}");
    assert_eq!(r["records"].as_array().unwrap().len(), 2, "{r}");
}

#[tokio::test]
async fn a_delegate_uploads_and_forgets_for_the_owner_until_it_withdraws() {
    let node = Node::new(true);
    node.seal(); // the registrations
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.submit(node.anchor("packing-list", 1, PACKING_LIST));
    node.submit(node.anchor("declaration", 1, b"declaration v1"));
    node.seal();
    let (invoice, packing, declaration) = (
        doc_uri("invoice", 1),
        doc_uri("packing-list", 1),
        doc_uri("declaration", 1),
    );

    // Not yet a delegate: another trader.
    let (s, b) = node.upload(By::Party(BROKER), &invoice, INVOICE).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "not-owner");

    node.submit(node.delegation(1, true));
    node.seal();
    let (s, b) = node
        .upload(
            By::Party(BROKER),
            &format!("{invoice}?readers=customs:DE"),
            INVOICE,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["document"]["uploader"], BROKER, "{b}");
    let (s, b) = node.upload(By::Party(BROKER), &packing, PACKING_LIST).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for who in [BROKER, OFFICE] {
        let (s, bytes) = node.read(By::Party(who), &invoice).await;
        assert_eq!((s, &bytes[..]), (StatusCode::OK, INVOICE), "{who}");
    }
    let (s, b) = node.forget(By::Party(BROKER), &invoice).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["document"]["forgotten_by"], BROKER, "{b}");

    // Withdrawn: the broker is another trader again, for uploads and for forgetting.
    node.submit(node.delegation(2, false));
    node.seal();
    let (s, b) = node
        .upload(By::Party(BROKER), &declaration, b"declaration v1")
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "not-owner");
    let (s, b) = node.forget(By::Party(BROKER), &packing).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "not-owner");
    // The owner still forgets what its delegate uploaded, and uploads itself.
    let (s, b) = node.forget(By::Party(OWNER), &packing).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["document"]["forgotten_by"], OWNER, "{b}");
    assert_eq!(b["document"]["uploader"], BROKER, "{b}");
    let (s, b) = node
        .upload(By::Party(OWNER), &declaration, b"declaration v1")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn bad_uploads_are_refused_with_clear_errors_and_lose_nothing() {
    let node = Node::new(true);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.seal();
    let uri = doc_uri("invoice", 1);

    // Who may upload.
    let (s, b) = node.upload(By::Nobody, &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, b) = node.upload(By::Stranger("FR999"), &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "bad-signature");
    for role in [Role::Trader, Role::Customs] {
        let (s, b) = node.upload(By::Token(role), &uri, INVOICE).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "party-required");
    }
    for who in [OFFICE, NL_OFFICE, AUDITOR] {
        let (s, b) = node.upload(By::Party(who), &uri, INVOICE).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-party");
    }
    let (s, b) = node.upload(By::Party(OTHER), &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "not-owner");
    // The owner's upload signed for another node (one that received it and replays it here),
    // or for no node in particular: refused, whatever the method.
    let elsewhere = By::PartyFor(OWNER, Some("ledger.douane.example:8443"));
    let (s, b) = node.upload(elsewhere, &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::MISDIRECTED_REQUEST, "wrong-node");
    let (s, b) = node.upload(By::PartyFor(OWNER, None), &uri, INVOICE).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "authority-required");
    let (s, b) = node.forget(elsewhere, &uri).await;
    assert_error(s, &b, StatusCode::MISDIRECTED_REQUEST, "wrong-node");
    let (s, bytes) = node.read(By::PartyFor(OWNER, None), &uri).await;
    assert_json_error(s, &bytes, StatusCode::UNAUTHORIZED, "authority-required");
    // Malformed requests.
    let too_many = (1..=65)
        .map(|i| format!("AUDIT-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (path, code) in [
        ("/v1/documents/lower-case/invoice/1".to_string(), "bad-ucr"),
        (format!("/v1/documents/{UCR}/Invoice!/1"), "bad-doc-type"),
        (format!("/v1/documents/{UCR}/invoice/0"), "bad-version"),
        (format!("/v1/documents/{UCR}/invoice/one"), "bad-version"),
        (format!("{uri}?readers=customs:DE,customs:"), "bad-readers"),
        (
            format!("{uri}?readers=customs:DE,AUDIT%20EU"),
            "bad-readers",
        ),
        (format!("{uri}?readers={too_many}"), "bad-readers"),
        (format!("{uri}?owner=me"), "bad-query"),
    ] {
        let (s, b) = node.upload(By::Party(OWNER), &path, INVOICE).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, code);
    }
    let (s, b) = node.upload(By::Party(OWNER), &uri, b"").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "empty-document");
    // Too large for a document (though within the transaction body limit).
    let (s, b) = node
        .upload(By::Party(OWNER), &uri, &vec![b'x'; MAX_DOCUMENT + 1])
        .await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    // Not the anchored document.
    let (s, b) = node
        .upload(By::Party(OWNER), &uri, b"INVOICE-MARKER-4e1f: forged")
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "digest-mismatch");
    // Unanchored: another type, another version, a pending anchor.
    let (s, b) = node
        .upload(By::Party(OWNER), &doc_uri("declaration", 1), INVOICE)
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-anchor");
    node.submit(node.anchor("invoice", 2, b"invoice v2"));
    let (s, b) = node
        .upload(By::Party(OWNER), &doc_uri("invoice", 2), b"invoice v2")
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-anchor");

    // Nothing of that was stored; the right upload still succeeds.
    let (s, bytes) = node.read(By::Party(OWNER), &uri).await;
    assert_json_error(s, &bytes, StatusCode::NOT_FOUND, "unknown-document");
    let (s, b) = node.upload(By::Party(OWNER), &uri, INVOICE).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["document"]["readers"], json!([]), "{b}");
    let (s, bytes) = node.read(By::Party(OWNER), &uri).await;
    assert_eq!((s, &bytes[..]), (StatusCode::OK, INVOICE));
    let (s, bytes) = node.read(By::Party(OFFICE), &uri).await;
    assert_not_a_reader(s, &bytes, &[OWNER]);
    // The pending anchor finalizes: its document can be uploaded now.
    node.seal();
    let (s, b) = node
        .upload(By::Party(OWNER), &doc_uri("invoice", 2), b"invoice v2")
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
            By::Party(OWNER),
            &format!("{}?readers=customs:DE,{AUDITOR}", doc_uri("declaration", 2)),
            b"declaration v2",
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let r = node.records().await;
    assert_eq!(r["under_examination"], Value::Null, "{r}");
    let types: Vec<&Value> = r["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["doc_type"])
        .collect();
    assert_eq!(types, ["declaration", "invoice"], "by document type: {r}");
    let decl = document(&r, "declaration");
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
    assert_eq!(history[1]["document"]["uploader"], OWNER, "{r}");
    assert_eq!(
        history[1]["document"]["may_read"], false,
        "a role token: {r}"
    );
    let r = node.records_as(By::Party(OWNER)).await;
    assert_eq!(
        document(&r, "declaration")["history"][1]["document"]["readers"],
        json!(["customs:DE", AUDITOR])
    );
    let invoice = document(&r, "invoice");
    assert_eq!(invoice["history"].as_array().unwrap().len(), 1, "{r}");

    // Under examination: no new version, with a clear error; both versions stay in the log.
    node.submit(node.examine());
    node.seal();
    let (s, b) = node
        .json(
            Method::POST,
            "/v1/transactions",
            By::Token(Role::Trader),
            &serde_json::to_vec(&node.anchor("declaration", 3, b"declaration v3").to_json())
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
    let decl = document(&r, "declaration");
    assert_eq!(decl["version"], 2, "{r}");
    assert_eq!(decl["history"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["records"].as_array().unwrap().len(), 4, "{r}");
    // The document of a version anchored before the examination can still be uploaded and read.
    let (s, b) = node
        .upload(
            By::Party(OWNER),
            &doc_uri("declaration", 1),
            b"declaration v1",
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, bytes) = node
        .read(By::Party(OWNER), &doc_uri("declaration", 1))
        .await;
    assert_eq!((s, &bytes[..]), (StatusCode::OK, &b"declaration v1"[..]));
}

/// An access list says with whom a trader shares a document: a consignment's records show it to
/// the owner and its delegates only; customs and auditors see whether they may read the document
/// themselves, never who else may.
#[tokio::test]
async fn access_lists_are_shown_to_the_owner_and_its_delegates_only() {
    let node = Node::new(true);
    node.seal(); // the registrations
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.submit(node.delegation(1, true));
    node.seal();
    let uri = format!("{}?readers=customs:DE,{OTHER}", doc_uri("invoice", 1));
    let (s, b) = node.upload(By::Party(OWNER), &uri, INVOICE).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let callers = [
        (By::Party(OWNER), true, true),
        (By::Party(BROKER), true, false),
        (By::Party(OFFICE), false, true),
        (By::Party(NL_OFFICE), false, false),
        (By::Party(AUDITOR), false, false),
        (By::Token(Role::Customs), false, false),
        (By::Token(Role::Auditor), false, false),
    ];
    for (by, sees_readers, may_read) in callers {
        let records = format!("/v1/records?ucr={UCR}");
        let (s, r) = node.json(Method::GET, &records, by, &[]).await;
        assert_eq!(s, StatusCode::OK, "{by:?}: {r}");
        let history = format!("/v1/records/history?ucr={UCR}");
        let (s, h) = node.json(Method::GET, &history, by, &[]).await;
        assert_eq!(s, StatusCode::OK, "{by:?}: {h}");
        for (answer, doc) in [
            (&r, &document(&r, "invoice")["history"][0]["document"]),
            (&h, &h["versions"][0]["document"]),
        ] {
            assert_eq!(doc["state"], "stored", "{by:?}: {answer}");
            assert_eq!(doc["may_read"], may_read, "{by:?}: {answer}");
            if sees_readers {
                assert_eq!(doc["readers"], json!(["customs:DE", OTHER]), "{by:?}");
            } else {
                let text = answer.to_string();
                assert!(
                    doc.get("readers").is_none()
                        && !text.contains("customs:DE")
                        && !text.contains(OTHER),
                    "{by:?} sees the access list: {answer}"
                );
            }
        }
    }
}

/// However many versions and document types a trader anchors under its consignment, one read of
/// its records answers a bounded part (the latest versions of each document, the current version
/// of so many types) and says what it left out; the whole history comes a page at a time, read
/// by whoever may read the records.
#[tokio::test]
async fn records_are_bounded_and_the_whole_history_comes_a_page_at_a_time() {
    let node = Node::new(true);
    for v in 1..=20u32 {
        node.submit(node.anchor("declaration", v, format!("declaration v{v}").as_bytes()));
    }
    node.seal();
    let r = node.records().await;
    let decl = document(&r, "declaration");
    assert_eq!(
        (&decl["version"], &decl["versions"]),
        (&json!(20), &json!(20))
    );
    let history = decl["history"].as_array().unwrap();
    assert_eq!(history.len(), MAX_RECENT_VERSIONS, "{r}");
    assert_eq!(history[0]["version"], 20 - MAX_RECENT_VERSIONS + 1, "{r}");
    assert_eq!(
        history[0]["superseded_by"],
        20 - MAX_RECENT_VERSIONS + 2,
        "{r}"
    );
    assert_eq!(history[MAX_RECENT_VERSIONS - 1]["version"], 20, "{r}");
    assert_eq!(
        history[MAX_RECENT_VERSIONS - 1]["superseded_by"],
        Value::Null
    );
    assert_eq!(decl["history_complete"], false, "{r}");
    assert_eq!(r["documents_complete"], true, "{r}");

    // The whole history, eight versions a page, each naming the version that superseded it.
    let mut versions = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut uri = format!("/v1/records/history?ucr={UCR}&limit=8");
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let (s, b) = node
            .json(Method::GET, &uri, By::Token(Role::Auditor), &[])
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        pages += 1;
        versions.extend(b["versions"].as_array().unwrap().iter().cloned());
        match b["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(versions.len(), 20);
    for (i, v) in versions.iter().enumerate() {
        let version = i as u32 + 1;
        assert_eq!(v["doc_type"], "declaration");
        assert_eq!(v["version"], version);
        assert_eq!(
            v["digest"],
            hex::encode(sha256(format!("declaration v{version}").as_bytes()))
        );
        let next = (version < 20).then_some(version + 1);
        assert_eq!(v["superseded_by"], json!(next), "{v}");
    }
    // The owner reads it as it reads the records; another trader may not; bad input is refused.
    let first = format!("/v1/records/history?ucr={UCR}");
    let (s, b) = node.json(Method::GET, &first, By::Party(OWNER), &[]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = node.json(Method::GET, &first, By::Party(OTHER), &[]).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-party");
    for (uri, code) in [
        (format!("{first}&cursor=v1.zz"), "bad-cursor"),
        (format!("{first}&limit=0"), "bad-query"),
        ("/v1/records/history?ucr=lower".to_owned(), "bad-ucr"),
    ] {
        let (s, b) = node
            .json(Method::GET, &uri, By::Token(Role::Customs), &[])
            .await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, code);
    }

    // More document types than one read answers: the first so many, and it says so.
    for i in 0..MAX_DOCUMENT_TYPES {
        node.submit(node.anchor(&format!("type-{i:03}"), 1, b"x"));
    }
    node.seal();
    let r = node.records().await;
    assert_eq!(
        r["documents"].as_array().unwrap().len(),
        MAX_DOCUMENT_TYPES,
        "{r}"
    );
    assert_eq!(r["documents_complete"], false, "{r}");
}

#[tokio::test]
async fn a_node_without_documents_says_so_and_the_routes_are_documented() {
    let node = Node::new(false);
    node.submit(node.anchor("invoice", 1, INVOICE));
    node.seal();
    let (s, b) = node
        .upload(By::Party(OWNER), &doc_uri("invoice", 1), INVOICE)
        .await;
    assert_error(
        s,
        &b,
        StatusCode::SERVICE_UNAVAILABLE,
        "documents-unavailable",
    );
    for who in [OWNER, OFFICE] {
        let (s, bytes) = node.read(By::Party(who), &doc_uri("invoice", 1)).await;
        assert_json_error(
            s,
            &bytes,
            StatusCode::SERVICE_UNAVAILABLE,
            "documents-unavailable",
        );
    }
    let r = node.records().await;
    assert_eq!(r["documents"][0]["history"][0]["document"], Value::Null);

    let (s, doc) = node
        .json(Method::GET, "/openapi.json", By::Nobody, &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    let path = &doc["paths"]["/v1/documents/{ucr}/{doc_type}/{version}"];
    for method in ["post", "get", "delete"] {
        assert!(path[method]["summary"].is_string(), "{method}: {path}");
    }
    assert!(path["get"]["responses"]["410"].is_object(), "{path}");
}
