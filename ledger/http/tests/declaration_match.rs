//! `declaration-match/v1` on the ledger, through the node's router (`tower::ServiceExt::oneshot`):
//! the invoice digest must be the current version of an invoice anchored under the same
//! consignment, exactly as for invoice-value (not another consignment's, not a document of
//! another type, not a superseded version); a proof of other items does not verify; the record
//! shows the declared items.
//!
//! Consensus does not run here: [`seal`] proposes on the tip and finalizes, as consensus would.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use rand::rngs::OsRng;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::genesis::{Params, PinnedKey};
use zkcustoms_ledger_types::tx::{sha256, Hash, Role, Transaction};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_statement;
use zkcustoms_prover::{prove, ProvingKey};
use zkcustoms_verifier::{KeyDir, ProofEnvelope, PublicValues};

const CIRCUIT: CircuitId = CircuitId::DeclarationMatchV1(SizeClass::Lines4);
const UCR: &str = "6DE123456789012345-2026-00077";

struct Node {
    chain: Arc<Chain>,
    trader: Trader,
    router: Router,
    _keys: tempfile::TempDir,
    _db: tempfile::TempDir,
}

/// A node whose genesis pins the declaration-match key, and the example proof under that key.
fn node() -> (Node, ProofEnvelope) {
    let keys = tempfile::tempdir().unwrap();
    let manifest = setup_dev(keys.path(), &[CIRCUIT], |_| {}).unwrap();
    let kd = KeyDir::open(keys.path()).unwrap();
    let pk = ProvingKey::load(&kd, CIRCUIT).unwrap();
    let envelope = prove(&pk, &example_statement(CIRCUIT).unwrap(), &mut OsRng).unwrap();
    let validator = crypto::generate();
    let office = crypto::generate();
    let genesis = single_validator_genesis(
        "zkcustoms-declaration-match-test",
        ("validator-0", &validator),
        &[],
        &[("DE-HAMBURG-HAFEN", &office)],
        vec![PinnedKey {
            statement: "declaration-match/v1".into(),
            size_class: Some(SizeClass::Lines4),
            id: manifest.keys[0].vk_id,
        }],
        Params {
            root_grace_seconds: 86_400,
            as_of_tolerance_days: None,
            max_block_txs: 512,
        },
    );
    let db = tempfile::tempdir().unwrap();
    let trader = Trader::new("DE123456789012345");
    let registration = trader.registration(&genesis.chain_id, "DE-HAMBURG-HAFEN", &office);
    let chain = Arc::new(
        Chain::open(
            genesis,
            Store::open(db.path()).unwrap(),
            Some(keys.path()),
            crypto::public_bytes(&crypto::public_of(&validator)),
            MempoolLimits::default(),
        )
        .unwrap(),
    );
    let router = testing::router(chain.clone(), None, 64 * 1024);
    chain.submit(registration).unwrap();
    let node = Node {
        chain,
        trader,
        router,
        _keys: keys,
        _db: db,
    };
    (node, envelope)
}

impl Node {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        role: Role,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", token(role)));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        let response = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn submit(&self, tx: &Transaction) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/transactions",
            Role::Trader,
            Some(tx.to_json()),
        )
        .await
    }

    /// Finalizes one block with every admissible mempool transaction, as consensus would.
    fn seal(&self) {
        let (height, parent) = self.chain.tip();
        let block = self
            .chain
            .propose(parent)
            .unwrap()
            .expect("a transaction to seal");
        self.chain
            .finalize(block.hash(), height + 1, Vec::new())
            .unwrap();
    }
}

impl Node {
    fn chain_id(&self) -> Hash {
        self.chain.genesis().chain_id
    }

    fn anchor(&self, ucr: &str, doc_type: &str, digest: Hash, version: u32) -> Transaction {
        let reference = format!("vault://{doc_type}s/{ucr}/{version}");
        self.trader
            .anchor(&self.chain_id(), ucr, doc_type, digest, &reference, version)
    }

    fn proof(&self, envelope: ProofEnvelope) -> Transaction {
        self.trader.proof(&self.chain_id(), UCR, envelope)
    }

    /// Submits a transaction that must be refused with 422 and `code`.
    async fn refuse(&self, tx: &Transaction, code: &str) {
        let (status, body) = self.submit(tx).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"], code, "{body}");
    }
}

#[tokio::test]
async fn a_declaration_match_needs_its_invoice_anchored_and_is_recorded() {
    let (node, envelope) = node();
    let PublicValues::DeclarationMatch(public) = &envelope.public else {
        panic!("a declaration-match envelope")
    };
    let digest = public.digest;

    // Not anchored at all, then anchored under another consignment only.
    for _ in 0..2 {
        let (status, body) = node.submit(&node.proof(envelope.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"], "unanchored-digest", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("declaration-match/v1"), "{message}");
        assert!(message.contains(&hex::encode(digest)), "{message}");
        let (status, _) = node
            .submit(&node.anchor("UCR-OTHER-7", "invoice", digest, 1))
            .await;
        if status == StatusCode::ACCEPTED {
            node.seal();
        }
    }

    // Under its consignment, but anchored as a declaration: not an invoice.
    let (status, body) = node
        .submit(&node.anchor(UCR, "declaration", digest, 1))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    node.seal();
    node.refuse(&node.proof(envelope.clone()), "not-an-invoice")
        .await;

    // The invoice's version 1, superseded by a version 2 of other bytes: superseded.
    let (status, body) = node.submit(&node.anchor(UCR, "invoice", digest, 1)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let amended = sha256(b"an amended invoice");
    let (status, body) = node.submit(&node.anchor(UCR, "invoice", amended, 2)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    node.seal();
    node.refuse(&node.proof(envelope.clone()), "superseded-digest")
        .await;

    // Version 3 restores the invoice the proof is about: the current version again. A proof of
    // other items does not verify, the proof does.
    let (status, body) = node.submit(&node.anchor(UCR, "invoice", digest, 3)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    node.seal();
    let mut other = envelope.clone();
    if let PublicValues::DeclarationMatch(p) = &mut other.public {
        p.items[0].value_minor -= 100;
        p.items[1].value_minor += 100;
    }
    let (status, body) = node.submit(&node.proof(other)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "invalid-proof", "{body}");
    let (status, body) = node.submit(&node.proof(envelope.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    node.seal();
    let (status, body) = node.submit(&node.proof(envelope.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The record shows the statement and its public items, nothing of the invoice.
    let (status, body) = node
        .call(
            Method::GET,
            &format!("/v1/records?ucr={UCR}"),
            Role::Customs,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let proof = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["transaction"]["type"] == "submit_proof")
        .expect("the proof is recorded");
    let env = &proof["transaction"]["envelope"];
    assert_eq!(env["statement"], "declaration-match/v1", "{proof}");
    assert_eq!(env["size_class"], 4, "{proof}");
    assert_eq!(env["public"]["items"][0]["hs_code"], "850440", "{proof}");
    assert_eq!(
        env["public"]["items"][0]["value_minor"], 1_600_000,
        "{proof}"
    );
    let text = body.to_string();
    for secret in ["INV-2026-000451", "Static converters", "1080000"] {
        assert!(!text.contains(secret), "{secret} on the ledger");
    }
}
