//! The node's HTTP API, driven through the router without a socket (`tower::ServiceExt::oneshot`):
//! authentication and roles, malformed input, every ledger rule the API answers with 422, the
//! mempool bound, blocks, records and status.
//!
//! Consensus does not run here: [`seal`] drives the ledger core directly (propose on the tip, then
//! finalize), as consensus would after agreeing on the block.

use ark_bls12_381::Bls12_381;
use ark_groth16::Groth16;
use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use rand::rngs::OsRng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tower::ServiceExt;
use zkcustoms_circuits::field::fr_to_hex;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::invoice_value::InvoiceValuePublic;
use zkcustoms_circuits::registry::example_registry;
use zkcustoms_circuits::{CircuitId, Fr};
use zkcustoms_ledger_core::chain::{now_ms, Chain, MempoolLimits};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::{Genesis, Params, PinnedKey};
use zkcustoms_ledger_types::tx::{
    ledger_scope, sha256, Hash, MarkExamination, PublishRoot, Role, Transaction, Ucr,
};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_aeo_status_in;
use zkcustoms_prover::{prove, ProvingKey};
use zkcustoms_verifier::{KeyDir, KeyId, ProofEnvelope, PublicValues, VerifyingKey};

const AUTHORITY: &str = "DE-GZD";
const OFFICE: &str = "DE-HAMBURG-HAFEN";
/// A second office, so that a second examination of a consignment is a different transaction
/// (Ed25519 signatures are deterministic: the same office signing the same mark again would be
/// the same transaction).
const OFFICE_2: &str = "DE-BREMERHAVEN";
const MAX_BODY: usize = 16 * 1024;
const PROOF_UCR: &str = "6DE123456789012345-2026-00042";
/// The trader every node registers (its registration waits in the mempool of a fresh node, so
/// that it lands in the first block a test seals).
const TRADER: &str = "DE123456789012345";

/// Dev keys for `aeo-status/v1` and the example proof for each ledger (its scope is the ledger's
/// for [`PROOF_UCR`]), made once per test binary and ledger.
struct Fixture {
    _dir: tempfile::TempDir,
    keydir: PathBuf,
    vk_id: KeyId,
    vk: VerifyingKey,
    pk: ProvingKey,
    proofs: Mutex<HashMap<Hash, ProofEnvelope>>,
}

impl Fixture {
    /// The example aeo-status proof filed under [`PROOF_UCR`] on the ledger `chain`.
    fn aeo(&self, chain: &Hash) -> ProofEnvelope {
        let mut proofs = self.proofs.lock().unwrap();
        proofs
            .entry(*chain)
            .or_insert_with(|| {
                let scope = ledger_scope(chain, &Ucr::parse(PROOF_UCR).unwrap());
                let statement = example_aeo_status_in(&scope).unwrap();
                let aeo = prove(&self.pk, &statement, &mut OsRng).unwrap();
                assert_eq!(aeo.vk_id, self.vk_id);
                aeo
            })
            .clone()
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(dir.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap();
        let kd = KeyDir::open(dir.path()).unwrap();
        let entry = kd
            .manifest()
            .keys
            .iter()
            .find(|e| e.statement == "aeo-status/v1")
            .expect("the key directory has aeo-status/v1");
        let vk_id = entry.vk_id;
        let pk = ProvingKey::load(&kd, CircuitId::AeoStatusV1).unwrap();
        Fixture {
            keydir: dir.path().to_owned(),
            vk_id,
            vk: kd.verifying_key(CircuitId::AeoStatusV1).unwrap(),
            pk,
            proofs: Mutex::default(),
            _dir: dir,
        }
    })
}

/// A re-randomised copy of a proof: different proof bytes, same public values, still valid.
fn rerandomized(env: &ProofEnvelope) -> ProofEnvelope {
    let mut copy = env.clone();
    copy.proof =
        Groth16::<Bls12_381>::rerandomize_proof(fixture().vk.arkworks(), &env.proof, &mut OsRng);
    assert_ne!(copy.to_bytes(), env.to_bytes());
    copy
}

fn aeo_public(env: &mut ProofEnvelope) -> &mut zkcustoms_circuits::aeo_status::AeoStatusPublic {
    match &mut env.public {
        PublicValues::AeoStatus(p) => p,
        _ => panic!("not an aeo-status envelope"),
    }
}

fn params(root_grace_seconds: u64) -> Params {
    Params {
        root_grace_seconds,
        as_of_tolerance_days: None,
        max_block_txs: 512,
    }
}

/// One node: a genesis of fixed party keys (its chain id depends only on the parameters), a fresh
/// database, the ledger core and its router, and [`TRADER`]'s registration in the mempool.
struct Node {
    genesis: Genesis,
    chain: Arc<Chain>,
    router: Router,
    authority: PrivateKey,
    office: PrivateKey,
    office_2: PrivateKey,
    trader: Trader,
    _db: tempfile::TempDir,
}

impl Node {
    fn new(params: Params, limits: MempoolLimits) -> Self {
        Self::with_clock(params, limits, None)
    }

    /// [`Node::new`] with the ledger's clock read from `clock` (milliseconds) when given.
    fn with_clock(params: Params, limits: MempoolLimits, clock: Option<Arc<AtomicU64>>) -> Self {
        let f = fixture();
        let key = zkcustoms_ledger_core::testing::fixed_key;
        let (validator, authority, office, office_2) = (key(1), key(2), key(3), key(4));
        let genesis = single_validator_genesis(
            "zkcustoms-api-test",
            ("validator-0", &validator),
            &[(AUTHORITY, &authority)],
            &[(OFFICE, &office), (OFFICE_2, &office_2)],
            vec![PinnedKey {
                statement: "aeo-status/v1".into(),
                size_class: None,
                id: f.vk_id,
            }],
            params,
        );
        let db = tempfile::tempdir().unwrap();
        let store = Store::open(db.path()).unwrap();
        let mut chain = Chain::open(
            genesis.clone(),
            store,
            Some(&f.keydir),
            crypto::public_bytes(&crypto::public_of(&validator)),
            limits,
        )
        .unwrap();
        if let Some(clock) = clock {
            chain = chain.with_clock(move || clock.load(Ordering::SeqCst));
        }
        let chain = Arc::new(chain);
        let router = testing::router(chain.clone(), None, MAX_BODY);
        let trader = Trader::new(TRADER);
        chain
            .submit(trader.registration(&genesis.chain_id, OFFICE, &office))
            .expect("the trader's registration is admitted");
        Self {
            genesis,
            chain,
            router,
            authority,
            office,
            office_2,
            trader,
            _db: db,
        }
    }

    /// An invoice anchored by [`TRADER`] (version n supersedes n - 1; the digest is `content`'s).
    fn anchor(&self, ucr: &str, version: u32, content: &str) -> Transaction {
        self.trader.anchor(
            &self.chain_id(),
            ucr,
            "invoice",
            sha256(content.as_bytes()),
            &format!("vault://invoices/{ucr}/{version}"),
            version,
        )
    }

    /// A proof filed under [`PROOF_UCR`] by [`TRADER`].
    fn proof(&self, envelope: ProofEnvelope) -> Transaction {
        self.trader.proof(&self.chain_id(), PROOF_UCR, envelope)
    }

    /// The example aeo-status proof for this ledger.
    fn aeo(&self) -> ProofEnvelope {
        fixture().aeo(&self.chain_id())
    }

    fn standard() -> Self {
        Self::new(params(86_400), MempoolLimits::default())
    }

    fn chain_id(&self) -> Hash {
        self.genesis.chain_id
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Bytes) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/json");
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

    async fn request(
        &self,
        method: Method,
        uri: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.raw(method, uri, auth, body).await;
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{uri} answered {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn get(&self, role: Role, uri: &str) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", token(role));
        self.request(Method::GET, uri, Some(&auth), Vec::new())
            .await
    }

    async fn post_raw(&self, role: Role, body: Vec<u8>) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", token(role));
        self.request(Method::POST, "/v1/transactions", Some(&auth), body)
            .await
    }

    async fn post_json(&self, role: Role, value: &Value) -> (StatusCode, Value) {
        self.post_raw(role, serde_json::to_vec(value).unwrap())
            .await
    }

    async fn submit(&self, role: Role, tx: &Transaction) -> (StatusCode, Value) {
        self.post_json(role, &tx.to_json()).await
    }

    /// Submits a transaction that must be accepted; returns its hash (hex).
    async fn accept(&self, role: Role, tx: &Transaction) -> String {
        let (status, body) = self.submit(role, tx).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{} refused: {body}",
            tx.kind()
        );
        assert_eq!(body["status"], "pending", "{body}");
        assert_eq!(body["hash"], hex::encode(tx.hash()), "{body}");
        hex::encode(tx.hash())
    }

    /// Submits a transaction that must be refused with 422 and this code.
    async fn refuse(&self, role: Role, tx: &Transaction, code: &str) {
        let (status, body) = self.submit(role, tx).await;
        assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, code);
        // A refused transaction leaves a verdict, never a pending entry.
        let (s, st) = self
            .get(
                Role::Auditor,
                &format!("/v1/transactions/{}", hex::encode(tx.hash())),
            )
            .await;
        if s == StatusCode::OK && st["status"] == "rejected" {
            assert_eq!(st["reason"]["error"], code, "{st}");
        } else {
            // Identical to a transaction already on the ledger: its status is its inclusion.
            assert_eq!(code, "duplicate-transaction", "{s} {st}");
            assert_eq!(st["status"], "included", "{st}");
        }
    }

    async fn tx_status(&self, hash: &str) -> Value {
        let (status, body) = self
            .get(Role::Trader, &format!("/v1/transactions/{hash}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["hash"], hash, "{body}");
        body
    }

    fn publish(&self, key: &PrivateKey, authority: &str, root: Fr, sequence: u64) -> Transaction {
        Transaction::PublishRoot(PublishRoot::sign(
            &self.chain_id(),
            key,
            authority,
            root,
            sequence,
        ))
    }

    fn examine(&self, key: &PrivateKey, ucr: &str, office: &str) -> Transaction {
        Transaction::MarkExamination(MarkExamination::sign(
            &self.chain_id(),
            key,
            Ucr::parse(ucr).unwrap(),
            office,
        ))
    }
}

/// Finalizes one block on the tip with every admissible mempool transaction, as consensus would.
fn seal(chain: &Chain) -> Block {
    let (height, parent) = chain.tip();
    let block = chain
        .propose(parent)
        .expect("propose")
        .expect("the mempool has a transaction to seal");
    assert_eq!(block.header.height, height + 1);
    assert_eq!(block.header.parent, parent);
    chain
        .finalize(block.hash(), height + 1, Vec::new())
        .expect("finalize");
    assert_eq!(chain.tip(), (height + 1, block.hash()));
    block
}

fn assert_error(status: StatusCode, body: &Value, want_status: StatusCode, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().expect("an error has a message");
    assert!(!message.is_empty(), "{body}");
}

fn example_root() -> Fr {
    example_registry().root
}

#[tokio::test]
async fn tokens_and_roles_are_enforced() {
    let node = Node::standard();
    let exam = node.examine(&node.office, "UCR-AUTH-1", OFFICE);
    let body = serde_json::to_vec(&exam.to_json()).unwrap();

    // No token, a token that is not the node's, another scheme: 401.
    let (s, b) = node
        .request(Method::POST, "/v1/transactions", None, body.clone())
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    let unknown = format!("Bearer {}", "f".repeat(64));
    let (s, b) = node
        .request(
            Method::POST,
            "/v1/transactions",
            Some(&unknown),
            body.clone(),
        )
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    let basic = format!("Basic {}", token(Role::Customs));
    let (s, b) = node
        .request(Method::POST, "/v1/transactions", Some(&basic), body.clone())
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, b) = node
        .request(Method::GET, "/v1/records?ucr=UCR-AUTH-1", None, Vec::new())
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, b) = node
        .request(Method::GET, "/v1/status", Some(&unknown), Vec::new())
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");

    // Submitting needs the role of the transaction's kind.
    for role in [Role::Trader, Role::Authority, Role::Auditor] {
        let (s, b) = node.post_raw(role, body.clone()).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    }
    let (s, b) = node
        .submit(Role::Customs, &node.anchor("UCR-AUTH-1", 1, "invoice"))
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    let (s, b) = node
        .submit(
            Role::Trader,
            &node.publish(&node.authority, AUTHORITY, Fr::from(5u64), 1),
        )
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    // Nothing refused for its role reached the mempool (the trader's registration waits there).
    assert_eq!(node.chain.mempool_size().0, 1);
    // The right role is accepted.
    node.accept(Role::Customs, &exam).await;

    // Reading records and blocks needs customs or auditor.
    for role in [Role::Trader, Role::Authority] {
        let (s, b) = node.get(role, "/v1/records?ucr=UCR-AUTH-1").await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    }
    for role in [Role::Customs, Role::Auditor] {
        let (s, b) = node.get(role, "/v1/records?ucr=UCR-AUTH-1").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["ucr"], "UCR-AUTH-1");
        assert_eq!(b["records"], json!([]), "nothing is finalized yet: {b}");
    }

    // Metrics and the API description need no token.
    let (s, text) = node.raw(Method::GET, "/metrics", None, Vec::new()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!text.is_empty());
    let (s, doc) = node
        .request(Method::GET, "/openapi.json", None, Vec::new())
        .await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"].get("/v1/transactions").is_some(), "{doc}");

    // An unknown route is a JSON 404.
    let (s, b) = node.get(Role::Auditor, "/v1/nothing").await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn malformed_input_is_refused_before_the_rules() {
    let node = Node::standard();
    let (s, b) = node.post_raw(Role::Trader, b"{not json".to_vec()).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed-json");
    let (s, b) = node.post_raw(Role::Trader, Vec::new()).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed-json");

    let good = node.anchor("UCR-MALFORMED-1", 1, "invoice").to_json();
    let mut unknown_type = good.clone();
    unknown_type["type"] = json!("mint");
    let mut extra = good.clone();
    extra["extra"] = json!(1);
    let mut bad_hex = good.clone();
    bad_hex["digest"] = json!("zz".repeat(32));
    let mut short_digest = good.clone();
    short_digest["digest"] = json!("00".repeat(31));
    let mut bad_ucr = good.clone();
    bad_ucr["ucr"] = json!("lower-case-ucr");
    let mut bad_version = good.clone();
    bad_version["supersedes"] = json!(1);
    let mut bad_signature = node
        .publish(&node.authority, AUTHORITY, Fr::from(9u64), 1)
        .to_json();
    bad_signature["signature"] = json!("00");
    for (what, value) in [
        ("unknown type", unknown_type),
        ("extra field", extra),
        ("bad hex", bad_hex),
        ("short digest", short_digest),
        ("bad UCR", bad_ucr),
        ("version 1 superseding", bad_version),
        ("array", json!([1, 2, 3])),
    ] {
        let (s, b) = node.post_json(Role::Trader, &value).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {b}");
        assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed-transaction");
    }
    let (s, b) = node.post_json(Role::Authority, &bad_signature).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed-transaction");
    // A key twice (the valid anchor's first key again, with another value): one body has one
    // reading, so it is refused rather than read by its last value.
    let text = serde_json::to_string(&good).unwrap();
    let twice = format!("{{\"ucr\":\"UCR-MALFORMED-2\",{}", &text[1..]);
    let (s, b) = node.post_raw(Role::Trader, twice.into_bytes()).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed-json");
    assert!(
        b["message"].as_str().unwrap().contains("appears twice"),
        "{b}"
    );

    // Over the body limit: 413, whatever the content.
    let (s, b) = node.post_raw(Role::Trader, vec![b' '; MAX_BODY + 1]).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    let mut padded = serde_json::to_vec(&good).unwrap();
    padded.resize(MAX_BODY * 4, b' ');
    let (s, b) = node.post_raw(Role::Trader, padded).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    // At the limit it is read (and this one is a valid anchor).
    let mut at_limit = serde_json::to_vec(&good).unwrap();
    at_limit.resize(MAX_BODY, b' ');
    let (s, b) = node.post_raw(Role::Trader, at_limit).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");

    // Transaction lookups.
    let (s, b) = node.get(Role::Auditor, "/v1/transactions/zz").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-hash");
    // A segment that is not UTF-8 once decoded answers in the API's form too.
    for uri in [
        "/v1/transactions/%FF",
        "/v1/blocks/%FF",
        "/v1/traders/%C3%28",
    ] {
        let (s, b) = node.get(Role::Auditor, uri).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-path");
    }
    let (s, b) = node
        .get(
            Role::Auditor,
            &format!("/v1/transactions/{}", "ab".repeat(31)),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-hash");
    let (s, b) = node
        .get(
            Role::Auditor,
            &format!("/v1/transactions/{}", "00".repeat(32)),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-transaction");
    let hash = hex::encode(Transaction::from_json(good).unwrap().hash());
    let (s, b) = node
        .get(Role::Auditor, &format!("/v1/transactions/{hash}?color=red"))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-query");

    // Record lookups.
    let (s, b) = node.get(Role::Customs, "/v1/records?ucr=lower").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-ucr");
    let (s, b) = node.get(Role::Customs, "/v1/records").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-query");
}

#[tokio::test]
async fn registry_roots_are_signed_and_sequenced() {
    let node = Node::standard();
    let root_1 = Fr::from(1001u64);
    let (s, b) = node.get(Role::Trader, "/v1/registry/DE-GZD").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["latest_sequence"], 0);
    assert_eq!(b["roots"], json!([]));

    let first = node.publish(&node.authority, AUTHORITY, root_1, 1);
    let hash = node.accept(Role::Authority, &first).await;
    assert_eq!(node.tx_status(&hash).await["status"], "pending");
    // Submitting a pending transaction again is idempotent (the trader's registration waits
    // beside it).
    node.accept(Role::Authority, &first).await;
    assert_eq!(node.chain.mempool_size().0, 2);

    let block = seal(&node.chain);
    let st = node.tx_status(&hash).await;
    assert_eq!(st["status"], "included", "{st}");
    assert_eq!(st["height"], 1, "{st}");
    assert_eq!(st["index"], 1, "after the registration: {st}");
    assert_eq!(st["block"], hex::encode(block.hash()), "{st}");

    let (s, b) = node.get(Role::Auditor, "/v1/registry/DE-GZD").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["authority"], AUTHORITY);
    assert_eq!(b["latest_sequence"], 1, "{b}");
    let roots = b["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{b}");
    assert_eq!(roots[0]["sequence"], 1);
    assert_eq!(roots[0]["root"], fr_to_hex(&root_1));
    assert_eq!(roots[0]["height"], 1);
    assert_eq!(roots[0]["current"], true);
    assert_eq!(roots[0]["acceptable_until_ms"], Value::Null);

    // Refused: another key's signature, an authority not in genesis, a gap in the sequence, a
    // repeated sequence, a root published before, the same transaction again.
    let impostor = crypto::generate();
    node.refuse(
        Role::Authority,
        &node.publish(&impostor, AUTHORITY, Fr::from(1002u64), 2),
        "bad-signature",
    )
    .await;
    node.refuse(
        Role::Authority,
        &node.publish(&impostor, "FR-DGDDI", Fr::from(1002u64), 1),
        "unknown-authority",
    )
    .await;
    node.refuse(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, Fr::from(1003u64), 3),
        "bad-sequence",
    )
    .await;
    node.refuse(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, Fr::from(1004u64), 1),
        "bad-sequence",
    )
    .await;
    node.refuse(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, root_1, 2),
        "duplicate-root",
    )
    .await;
    node.refuse(Role::Authority, &first, "duplicate-transaction")
        .await;
    // A signature over another chain's id does not carry over.
    let other_chain = Transaction::PublishRoot(PublishRoot::sign(
        &sha256(b"another ledger"),
        &node.authority,
        AUTHORITY,
        Fr::from(1005u64),
        2,
    ));
    node.refuse(Role::Authority, &other_chain, "bad-signature")
        .await;

    // Nothing refused is pending or stored.
    assert_eq!(node.chain.mempool_size(), (0, 0));
    assert!(node.chain.propose(node.chain.tip().1).unwrap().is_none());
    let (_, b) = node.get(Role::Auditor, "/v1/registry/DE-GZD").await;
    assert_eq!(b["latest_sequence"], 1, "{b}");
    assert_eq!(b["roots"].as_array().unwrap().len(), 1, "{b}");

    // The next root in sequence is accepted; the first is then superseded.
    let second = node.publish(&node.authority, AUTHORITY, Fr::from(1006u64), 2);
    let hash_2 = node.accept(Role::Authority, &second).await;
    // While it is pending, sequence 2 is taken.
    node.refuse(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, Fr::from(1007u64), 2),
        "bad-sequence",
    )
    .await;
    let block_2 = seal(&node.chain);
    assert_eq!(block_2.txs.len(), 1);
    assert_eq!(node.tx_status(&hash_2).await["height"], 2);
    let (_, b) = node.get(Role::Auditor, "/v1/registry/DE-GZD").await;
    assert_eq!(b["latest_sequence"], 2, "{b}");
    let roots = b["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 2, "{b}");
    assert_eq!(roots[0]["current"], false);
    assert_eq!(roots[1]["current"], true);
    assert_eq!(
        roots[0]["acceptable_until_ms"],
        block_2.header.timestamp_ms + 86_400_000
    );

    let (s, b) = node.get(Role::Auditor, "/v1/registry/FR-DGDDI").await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-authority");
}

/// A refusal tells a trader nothing of another trader's consignment: its anchors and proofs under
/// a UCR in use are refused as they would be under an unused one (a proof once it is verified),
/// and `not-owner` only where an unused UCR would have been claimed.
#[tokio::test]
async fn a_refusal_does_not_tell_another_trader_whether_a_ucr_is_in_use() {
    let node = Node::standard();
    let c = node.chain_id();
    node.accept(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, example_root(), 1),
    )
    .await;
    let outsider = Trader::new("NL000111222");
    node.chain
        .submit(outsider.registration(&c, OFFICE, &node.office))
        .expect("admitted");
    node.accept(Role::Trader, &node.anchor(PROOF_UCR, 1, "invoice"))
        .await;
    seal(&node.chain);
    let unused = "6DE123456789012345-2026-00043";
    for ucr in [PROOF_UCR, unused] {
        // An amendment of an invoice: under the owner's consignment as under the unused one.
        let amendment = outsider.anchor(&c, ucr, "invoice", sha256(b"x"), "vault://x", 2);
        node.refuse(Role::Trader, &amendment, "version-conflict")
            .await;
        // An aeo-status proof in the UCR's scope that does not verify: verified either way.
        let mut forged = rerandomized(&node.aeo());
        let p = aeo_public(&mut forged);
        p.scope = ledger_scope(&c, &Ucr::parse(ucr).unwrap());
        p.nullifier += Fr::from(1u64);
        node.refuse(
            Role::Trader,
            &outsider.proof(&c, ucr, forged),
            "invalid-proof",
        )
        .await;
    }
    // Where the unused UCR would be claimed, the one in use is refused: a first version, and a
    // proof that verifies (the owner's holder's proof, filed by the outsider).
    let first = outsider.anchor(&c, PROOF_UCR, "declaration", sha256(b"x"), "vault://x", 1);
    node.refuse(Role::Trader, &first, "not-owner").await;
    let valid = outsider.proof(&c, PROOF_UCR, rerandomized(&node.aeo()));
    node.refuse(Role::Trader, &valid, "not-owner").await;
    assert_eq!(node.chain.mempool_size().0, 0);

    // A validator relaying an outsider's proof sees the whole ledger anyway: the proof is
    // refused before it is verified, valid or not, so that a flood of them costs no pairing.
    let verified = node.chain.metrics.proofs_verified();
    let mut forged = rerandomized(&node.aeo());
    aeo_public(&mut forged).nullifier += Fr::from(1u64);
    let relayed = vec![
        outsider.proof(&c, PROOF_UCR, rerandomized(&node.aeo())),
        outsider.proof(&c, PROOF_UCR, forged),
    ];
    for refused in node.chain.submit_many_from_peer(relayed) {
        let refused = refused.unwrap_err();
        assert_eq!(refused.code(), Some("not-owner"), "{refused}");
    }
    assert_eq!(node.chain.metrics.proofs_verified(), verified);
    assert_eq!(node.chain.mempool_size().0, 0);
}

#[tokio::test]
async fn proofs_are_checked_verified_and_never_counted_twice() {
    let node = Node::standard();
    let root = example_root();

    // Before its registry root is published, the proof names an unknown root.
    node.refuse(Role::Trader, &node.proof(node.aeo()), "unknown-root")
        .await;

    node.accept(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, root, 1),
    )
    .await;
    seal(&node.chain);

    // A changed public value, every rule passing: the proof does not verify.
    let mut forged = rerandomized(&node.aeo());
    aeo_public(&mut forged).nullifier += Fr::from(1u64);
    node.refuse(Role::Trader, &node.proof(forged), "invalid-proof")
        .await;
    let mut forged_scope = node.aeo();
    {
        let p = aeo_public(&mut forged_scope);
        p.scope = format!("{}-other", p.scope);
    }
    // Another scope is refused by the rules before the proof is even verified.
    node.refuse(Role::Trader, &node.proof(forged_scope), "wrong-scope")
        .await;
    assert_eq!(node.chain.mempool_size().0, 0);

    // The genuine proof is accepted and included.
    let tx = node.proof(node.aeo());
    let hash = node.accept(Role::Trader, &tx).await;
    let block = seal(&node.chain);
    assert_eq!(block.txs, vec![tx.clone()]);
    let st = node.tx_status(&hash).await;
    assert_eq!(st["status"], "included", "{st}");
    assert_eq!(st["height"], 2, "{st}");

    // The same transaction again; the same claim under other proof bytes.
    node.refuse(Role::Trader, &tx, "duplicate-transaction")
        .await;
    node.refuse(
        Role::Trader,
        &node.proof(rerandomized(&node.aeo())),
        "duplicate-proof",
    )
    .await;
    // Filed under another consignment, it names the wrong scope.
    let other_ucr = node
        .trader
        .proof(&node.chain_id(), "UCR-OTHER-1", rerandomized(&node.aeo()));
    node.refuse(Role::Trader, &other_ucr, "wrong-scope").await;

    // An invoice-value proof: its key is not pinned by this genesis (the rules run before the
    // proof is verified, so any well-formed proof points do).
    let digest = sha256(b"invoice");
    node.accept(Role::Trader, &node.anchor(PROOF_UCR, 1, "invoice"))
        .await;
    seal(&node.chain);
    let invoice = ProofEnvelope {
        circuit: CircuitId::InvoiceValueV1(SizeClass::Lines4),
        vk_id: fixture().vk_id,
        public: PublicValues::InvoiceValue(InvoiceValuePublic {
            digest,
            declared_value_minor: 1_843_250,
            currency: "EUR".into(),
        }),
        proof: node.aeo().proof,
    };
    node.refuse(Role::Trader, &node.proof(invoice), "unpinned-key")
        .await;
    // An aeo-status envelope naming another key id is not pinned either.
    let mut other_key = rerandomized(&node.aeo());
    other_key.vk_id = KeyId([7; 32]);
    node.refuse(Role::Trader, &node.proof(other_key), "unpinned-key")
        .await;

    // The proof's claim and nullifier are recorded with the consignment.
    let (s, b) = node
        .get(Role::Customs, &format!("/v1/records?ucr={PROOF_UCR}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let records = b["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{b}");
    assert_eq!(records[0]["height"], 2);
    assert_eq!(records[0]["transaction"]["type"], "submit_proof");
    assert_eq!(records[0]["transaction"]["hash"], hash);
    assert_eq!(records[1]["height"], 3);
    assert_eq!(records[1]["transaction"]["type"], "anchor_document");
}

#[tokio::test]
async fn copies_of_one_proof_conflict_in_the_mempool() {
    let node = Node::standard();
    node.accept(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, example_root(), 1),
    )
    .await;
    seal(&node.chain);

    let first = node.proof(rerandomized(&node.aeo()));
    let second = node.proof(rerandomized(&node.aeo()));
    assert_ne!(first.hash(), second.hash());
    let hash = node.accept(Role::Trader, &first).await;
    node.refuse(Role::Trader, &second, "duplicate-proof").await;
    assert_eq!(node.chain.mempool_size().0, 1);
    let block = seal(&node.chain);
    assert_eq!(block.txs, vec![first]);
    assert_eq!(node.tx_status(&hash).await["status"], "included");
    let st = node.tx_status(&hex::encode(second.hash())).await;
    assert_eq!(st["status"], "rejected", "{st}");
    assert_eq!(st["reason"]["error"], "duplicate-proof", "{st}");
}

/// Publishes the example root (sequence 1) and another root (sequence 2), each in its own block,
/// and returns the second block.
async fn supersede_example_root(node: &Node) -> Block {
    node.accept(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, example_root(), 1),
    )
    .await;
    seal(&node.chain);
    node.accept(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, Fr::from(424_242u64), 2),
    )
    .await;
    seal(&node.chain)
}

#[tokio::test]
async fn a_superseded_root_is_stale_after_the_grace_period() {
    let node = Node::new(params(0), MempoolLimits::default());
    let block = supersede_example_root(&node).await;
    // The root is stale once any time has passed since it was superseded (with no grace, a
    // proof at the very millisecond of the superseding block is still accepted: wait it out
    // on the clock, at most a millisecond).
    while now_ms() <= block.header.timestamp_ms {
        std::hint::spin_loop();
    }
    node.refuse(Role::Trader, &node.proof(node.aeo()), "stale-root")
        .await;
    assert_eq!(node.chain.mempool_size().0, 0);
}

#[tokio::test]
async fn a_superseded_root_is_accepted_within_the_grace_period() {
    let node = Node::new(params(3600), MempoolLimits::default());
    supersede_example_root(&node).await;
    let hash = node.accept(Role::Trader, &node.proof(node.aeo())).await;
    seal(&node.chain);
    let st = node.tx_status(&hash).await;
    assert_eq!(st["status"], "included", "{st}");
    assert_eq!(st["height"], 3, "{st}");
}

/// A proof admitted within its root's grace period, on a ledger where nothing is finalized after
/// that period ends: the next block built on the finalized tip rejects it, so that it does not
/// stay pending (its nullifier held) for as long as the ledger is quiet.
#[tokio::test]
async fn a_proof_whose_root_goes_stale_in_the_mempool_is_rejected_when_the_next_block_is_built() {
    let clock = Arc::new(AtomicU64::new(now_ms()));
    let node = Node::with_clock(params(60), MempoolLimits::default(), Some(clock.clone()));
    let block = supersede_example_root(&node).await;
    clock.store(block.header.timestamp_ms + 1_000, Ordering::SeqCst);
    let hash = node.accept(Role::Trader, &node.proof(node.aeo())).await;
    assert_eq!(node.tx_status(&hash).await["status"], "pending");
    // The grace period ends; nothing else arrives.
    clock.store(block.header.timestamp_ms + 61_000, Ordering::SeqCst);
    let (_, tip) = node.chain.tip();
    assert!(
        node.chain.propose(tip).unwrap().is_none(),
        "nothing to build"
    );
    let st = node.tx_status(&hash).await;
    assert_eq!(st["status"], "rejected", "{st}");
    assert_eq!(st["reason"]["error"], "stale-root", "{st}");
    assert_eq!(node.chain.mempool_size().0, 0);
}

/// What the explorer tells a visitor verifying a proof: whether the ledger would refuse it now,
/// by its root and day, whatever the consignment.
#[tokio::test]
async fn the_ledger_says_whether_it_would_refuse_an_aeo_proof_now() {
    let clock = Arc::new(AtomicU64::new(now_ms()));
    let node = Node::with_clock(params(60), MempoolLimits::default(), Some(clock.clone()));
    let mut aeo = node.aeo();
    let refusal = |public: &zkcustoms_circuits::aeo_status::AeoStatusPublic| {
        node.chain.aeo_refusal_now(public).unwrap().map(|r| r.code)
    };
    assert_eq!(refusal(aeo_public(&mut aeo)), Some("unknown-root"));
    let block = supersede_example_root(&node).await;
    clock.store(block.header.timestamp_ms + 60_000, Ordering::SeqCst);
    assert_eq!(
        refusal(aeo_public(&mut aeo)),
        None,
        "within the grace period"
    );
    clock.store(block.header.timestamp_ms + 60_001, Ordering::SeqCst);
    assert_eq!(refusal(aeo_public(&mut aeo)), Some("stale-root"));
    aeo_public(&mut aeo).authority = "XX-NOBODY".into();
    assert_eq!(refusal(aeo_public(&mut aeo)), Some("unknown-authority"));
}

#[tokio::test]
async fn documents_are_versioned_and_frozen_under_examination() {
    let node = Node::standard();
    let ucr = "6DE123456789012345-2026-00077";

    let v1 = node.anchor(ucr, 1, "invoice v1");
    let v1_hash = node.accept(Role::Trader, &v1).await;
    // Another version 1 while the first is pending.
    node.refuse(
        Role::Trader,
        &node.anchor(ucr, 1, "invoice v1b"),
        "version-conflict",
    )
    .await;
    // Version 3 skips a version.
    node.refuse(
        Role::Trader,
        &node.anchor(ucr, 3, "invoice v3"),
        "version-conflict",
    )
    .await;
    seal(&node.chain);
    node.refuse(
        Role::Trader,
        &node.anchor(ucr, 1, "invoice v1c"),
        "version-conflict",
    )
    .await;

    let v2 = node.anchor(ucr, 2, "invoice v2");
    let v2_hash = node.accept(Role::Trader, &v2).await;
    seal(&node.chain);

    let exam = node.examine(&node.office, ucr, OFFICE);
    let exam_hash = node.accept(Role::Customs, &exam).await;
    // A new version while the examination is pending is already refused.
    node.refuse(
        Role::Trader,
        &node.anchor(ucr, 3, "invoice v3"),
        "under-examination",
    )
    .await;
    node.refuse(
        Role::Customs,
        &node.examine(&node.office_2, ucr, OFFICE_2),
        "already-under-examination",
    )
    .await;
    seal(&node.chain);

    node.refuse(
        Role::Trader,
        &node.anchor(ucr, 3, "invoice v3"),
        "under-examination",
    )
    .await;
    node.refuse(
        Role::Customs,
        &node.examine(&node.office_2, ucr, OFFICE_2),
        "already-under-examination",
    )
    .await;
    node.refuse(Role::Customs, &exam, "duplicate-transaction")
        .await;
    // Signed by a key that is not the office's; an office not in genesis.
    node.refuse(
        Role::Customs,
        &node.examine(&crypto::generate(), "UCR-EXAM-2", OFFICE),
        "bad-signature",
    )
    .await;
    node.refuse(
        Role::Customs,
        &node.examine(&node.office, "UCR-EXAM-2", OFFICE_2),
        "bad-signature",
    )
    .await;
    node.refuse(
        Role::Customs,
        &node.examine(&node.office, "UCR-EXAM-2", "FR-LE-HAVRE"),
        "unknown-office",
    )
    .await;
    // Other consignments are not affected.
    node.accept(Role::Trader, &node.anchor("UCR-EXAM-2", 1, "other invoice"))
        .await;

    for role in [Role::Customs, Role::Auditor] {
        let (s, b) = node.get(role, &format!("/v1/records?ucr={ucr}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["ucr"], ucr);
        let exam_json = &b["under_examination"];
        assert_eq!(exam_json["office"], OFFICE, "{b}");
        assert_eq!(exam_json["height"], 3, "{b}");
        let records = b["records"].as_array().unwrap();
        let got: Vec<(u64, String)> = records
            .iter()
            .map(|r| {
                (
                    r["height"].as_u64().unwrap(),
                    r["transaction"]["hash"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, v1_hash.clone()),
                (2, v2_hash.clone()),
                (3, exam_hash.clone())
            ],
            "{b}"
        );
        assert_eq!(records[0]["transaction"]["type"], "anchor_document");
        assert_eq!(records[0]["transaction"]["version"], 1);
        assert_eq!(records[1]["transaction"]["supersedes"], 1);
        assert_eq!(records[2]["transaction"]["type"], "mark_examination");
        // The current version, and its history (the full history is tested with documents).
        let mut current = b["documents"].clone();
        let history = current[0]
            .as_object_mut()
            .and_then(|o| o.remove("history"))
            .expect("a history");
        assert_eq!(
            current,
            json!([{
                "doc_type": "invoice",
                "version": 2,
                "digest": hex::encode(sha256(b"invoice v2")),
                "reference": format!("vault://invoices/{ucr}/2"),
                "height": 2,
                "versions": 2,
                "history_complete": true,
            }]),
            "{b}"
        );
        assert_eq!(history.as_array().map(Vec::len), Some(2), "{b}");
        assert_eq!(b["documents_complete"], true, "{b}");
    }

    // A consignment with nothing recorded.
    let (s, b) = node.get(Role::Customs, "/v1/records?ucr=UCR-NONE").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["records"], json!([]));
    assert_eq!(b["documents"], json!([]));
    assert_eq!(b["under_examination"], Value::Null);
}

#[tokio::test]
async fn a_full_mempool_answers_503_until_a_block_empties_it() {
    let node = Node::new(
        params(86_400),
        MempoolLimits {
            max_txs: 3,
            ..Default::default()
        },
    );
    // The trader's registration is the first of the three.
    node.accept(Role::Trader, &node.anchor("UCR-FULL-1", 1, "a"))
        .await;
    node.accept(Role::Trader, &node.anchor("UCR-FULL-2", 1, "b"))
        .await;
    let third = node.anchor("UCR-FULL-3", 1, "c");
    let (s, b) = node.submit(Role::Trader, &third).await;
    assert_error(s, &b, StatusCode::SERVICE_UNAVAILABLE, "mempool-full");
    // Being full is no verdict on the transaction.
    let (s, b) = node
        .get(
            Role::Trader,
            &format!("/v1/transactions/{}", hex::encode(third.hash())),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-transaction");
    // A pending transaction submitted again is still answered.
    node.accept(Role::Trader, &node.anchor("UCR-FULL-1", 1, "a"))
        .await;

    let block = seal(&node.chain);
    assert_eq!(block.txs.len(), 3);
    assert_eq!(node.chain.mempool_size().0, 0);
    node.accept(Role::Trader, &third).await;
}

/// One party (as its signature names it) holds at most its share of the mempool, by count and
/// by bytes: beyond, it is answered 429 while the other parties are still admitted, and it is
/// admitted again once its waiting transactions are finalized.
#[tokio::test]
async fn one_party_holds_at_most_its_share_of_the_mempool() {
    let node = Node::new(
        params(86_400),
        MempoolLimits {
            max_txs: 10,
            max_party_txs: 3,
            ..Default::default()
        },
    );
    for i in 1..=3 {
        node.accept(
            Role::Trader,
            &node.anchor(&format!("UCR-SHARE-{i}"), 1, "a"),
        )
        .await;
    }
    let fourth = node.anchor("UCR-SHARE-4", 1, "a");
    let (s, b) = node.submit(Role::Trader, &fourth).await;
    assert_error(s, &b, StatusCode::TOO_MANY_REQUESTS, "party-share");
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains(TRADER) && message.contains("3 transactions"),
        "{message}"
    );
    // Being over its share is no verdict on the transaction.
    let (s, b) = node
        .get(
            Role::Trader,
            &format!("/v1/transactions/{}", hex::encode(fourth.hash())),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-transaction");
    // The other parties are admitted: the authority, and the office (whose registration of
    // the trader waits already) up to its own share.
    node.accept(
        Role::Authority,
        &node.publish(&node.authority, AUTHORITY, example_registry().root, 1),
    )
    .await;
    node.accept(
        Role::Customs,
        &node.examine(&node.office, "UCR-SHARE-1", OFFICE),
    )
    .await;
    assert_eq!(node.chain.mempool_size().0, 6);

    // Finalized, the trader's transactions leave its share.
    seal(&node.chain);
    assert_eq!(node.chain.mempool_size().0, 0);
    node.accept(Role::Trader, &fourth).await;

    // By bytes: two anchors fit a share of twice their size, a third does not.
    let size = fourth.to_bytes().len();
    let node = Node::new(
        params(86_400),
        MempoolLimits {
            max_party_bytes: 2 * size + 1,
            ..Default::default()
        },
    );
    for i in 1..=2 {
        node.accept(
            Role::Trader,
            &node.anchor(&format!("UCR-SHARE-{i}"), 1, "a"),
        )
        .await;
    }
    let (s, b) = node
        .submit(Role::Trader, &node.anchor("UCR-SHARE-3", 1, "a"))
        .await;
    assert_error(s, &b, StatusCode::TOO_MANY_REQUESTS, "party-share");
}

#[tokio::test]
async fn blocks_link_to_their_parents() {
    let node = Node::standard();
    let (s, b) = node.get(Role::Auditor, "/v1/blocks/latest").await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "no-blocks");

    let mut hashes = Vec::new();
    let mut blocks = Vec::new();
    for i in 1..=3 {
        let tx = node.anchor(&format!("UCR-BLOCK-{i}"), 1, &format!("document {i}"));
        hashes.push(node.accept(Role::Trader, &tx).await);
        blocks.push(seal(&node.chain));
    }

    let (s, latest) = node.get(Role::Auditor, "/v1/blocks/latest").await;
    assert_eq!(s, StatusCode::OK, "{latest}");
    assert_eq!(latest["height"], 3, "{latest}");
    assert_eq!(latest["hash"], hex::encode(blocks[2].hash()));
    assert_eq!(latest["tx_count"], 1);
    assert_eq!(latest["transactions"][0]["hash"], hashes[2]);
    assert_eq!(latest["transactions"][0]["type"], "anchor_document");
    assert_eq!(latest["finality"]["kind"], "certificate", "{latest}");
    assert_eq!(latest["finality"]["view"], 3, "{latest}");
    assert_eq!(
        latest["proposer"],
        hex::encode(crypto::public_bytes(&node.genesis.validators[0]))
    );

    let (s, previous) = node.get(Role::Customs, "/v1/blocks/2").await;
    assert_eq!(s, StatusCode::OK, "{previous}");
    assert_eq!(previous["height"], 2);
    assert_eq!(latest["parent"], previous["hash"], "{latest} {previous}");
    assert_eq!(previous["hash"], hex::encode(blocks[1].hash()));
    assert_eq!(previous["transactions"][0]["hash"], hashes[1]);

    let (_, first) = node.get(Role::Customs, "/v1/blocks/1").await;
    assert_eq!(previous["parent"], first["hash"]);
    assert_eq!(first["parent"], hex::encode(node.chain_id()), "{first}");
    assert!(first["timestamp_ms"].as_u64().unwrap() <= latest["timestamp_ms"].as_u64().unwrap());

    let (s, b) = node.get(Role::Trader, "/v1/blocks/latest").await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    let (s, b) = node.get(Role::Authority, "/v1/blocks/1").await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-role");
    let (s, b) = node.get(Role::Auditor, "/v1/blocks/999").await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-block");
    let (s, b) = node.get(Role::Auditor, "/v1/blocks/0").await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown-block");
    let (s, b) = node.get(Role::Auditor, "/v1/blocks/one").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad-height");
}

#[tokio::test]
async fn status_names_the_chain_and_its_height() {
    let node = Node::standard();
    for role in Role::ALL {
        let (s, b) = node.get(role, "/v1/status").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["chain_id"], hex::encode(node.chain_id()), "{b}");
        assert_eq!(b["height"], 0, "{b}");
        assert_eq!(b["tip"], hex::encode(node.chain_id()), "{b}");
    }
    let hash = node
        .accept(Role::Trader, &node.anchor("UCR-STATUS-1", 1, "x"))
        .await;
    let (_, b) = node.get(Role::Auditor, "/v1/status").await;
    assert_eq!(
        b["mempool"]["transactions"], 2,
        "the anchor and the registration: {b}"
    );
    let block = seal(&node.chain);
    let (s, b) = node.get(Role::Trader, "/v1/status").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["height"], 1, "{b}");
    assert_eq!(b["tip"], hex::encode(block.hash()), "{b}");
    assert_eq!(b["mempool"]["transactions"], 0, "{b}");
    assert_eq!(b["chain_name"], "zkcustoms-api-test");
    assert_eq!(b["authorities"], json!([AUTHORITY]));
    assert_eq!(b["customs_offices"], json!([OFFICE_2, OFFICE]));
    assert_eq!(b["verifying_keys"][0]["circuit"], "aeo-status/v1", "{b}");
    assert_eq!(b["verifying_keys"][0]["id"], fixture().vk_id.to_string());
    assert_eq!(b["params"]["as_of_tolerance_days"], Value::Null);
    assert_eq!(node.tx_status(&hash).await["status"], "included");
}
