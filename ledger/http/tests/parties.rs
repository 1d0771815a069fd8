//! Parties through the node's router (`tower::ServiceExt::oneshot`): requests signed with a
//! party's own key (HTTP message signatures, RFC 9421) instead of a node's role token, accepted
//! by every validator of the network and refused when expired, replayed, over a changed body, by
//! an unknown key or for another party's write; transactions signed for another ledger refused;
//! records of a consignment for its owner, not for another trader; documents for parties only;
//! a signature verified once per node, for its key only.
//!
//! Two validators' cores share one genesis (consensus does not run here: [`Net::seal`] has each
//! node propose and finalize a block of the same transactions).

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits, TxStatus};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::{Genesis, Params};
use zkcustoms_ledger_types::http_signature::{
    fresh_nonce, sign_request, sign_request_to, SignatureParams, SignedHeaders,
};
use zkcustoms_ledger_types::tx::{sha256, Role, SignerKind, Transaction};

const OFFICE: &str = "DE-HAMBURG-HAFEN";
const UCR: &str = "26DE-HAM-000042";

struct Node {
    chain: Arc<Chain>,
    router: Router,
    _db: tempfile::TempDir,
}

struct Net {
    genesis: Genesis,
    office: PrivateKey,
    nodes: [Node; 2],
    owner: Trader,
    other: Trader,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Two nodes of one ledger, two registered traders, the owner's invoice anchored under [`UCR`].
fn net() -> Net {
    let validator = crypto::generate();
    let office = crypto::generate();
    let genesis = single_validator_genesis(
        "zkcustoms-parties-test",
        ("validator-0", &validator),
        &[],
        &[(OFFICE, &office)],
        vec![],
        Params::default(),
    );
    let node = || {
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
        let router = testing::router(chain.clone(), None, 64 * 1024);
        Node {
            chain,
            router,
            _db: db,
        }
    };
    let net = Net {
        nodes: [node(), node()],
        owner: Trader::new("DE123456789012345"),
        other: Trader::new("NL000111222"),
        genesis,
        office,
    };
    let c = net.genesis.chain_id;
    net.seal(vec![
        net.owner.registration(&c, OFFICE, &net.office),
        net.other.registration(&c, OFFICE, &net.office),
        net.owner
            .anchor(&c, UCR, "invoice", sha256(b"invoice"), "vault://1", 1),
    ]);
    net
}

impl Net {
    /// Finalizes one block of `txs` on both nodes (as consensus would).
    fn seal(&self, txs: Vec<Transaction>) {
        for n in &self.nodes {
            for tx in &txs {
                n.chain.submit(tx.clone()).expect("admitted");
            }
            let (height, parent) = n.chain.tip();
            let block = n.chain.propose(parent).unwrap().expect("a block");
            n.chain
                .finalize(block.hash(), height + 1, Vec::new())
                .unwrap();
        }
        assert_eq!(self.nodes[0].chain.tip().0, self.nodes[1].chain.tip().0);
    }
}

/// A request signed as `party` with `key` (created at `created`); a read is bound to the node
/// it is sent to (`testing::AUTHORITY`, the `Host` it is sent with), as a node requires.
fn signed(
    method: Method,
    uri: &str,
    body: Option<&[u8]>,
    party: &str,
    key: &PrivateKey,
    created: u64,
) -> (Request<Body>, SignedHeaders) {
    signed_for(testing::AUTHORITY, method, uri, body, party, key, created)
}

/// A request signed as `party` with `key` for the node reached as `authority`, sent with that
/// `Host`.
fn signed_for(
    authority: &str,
    method: Method,
    uri: &str,
    body: Option<&[u8]>,
    party: &str,
    key: &PrivateKey,
    created: u64,
) -> (Request<Body>, SignedHeaders) {
    let params = SignatureParams {
        party_id: party.into(),
        created,
        expires: None,
        nonce: fresh_nonce(),
    };
    let headers =
        sign_request_to(key, &params, Some(authority), method.as_str(), uri, body).unwrap();
    let mut req = build(method, uri, body, &headers);
    req.headers_mut()
        .insert(header::HOST, authority.parse().unwrap());
    (req, headers)
}

/// `tx` submitted by `party` with `key` (`POST /v1/transactions`, bound to the test nodes).
fn submission(tx: &Transaction, party: &str, key: &PrivateKey) -> (Request<Body>, SignedHeaders) {
    let body = serde_json::to_vec(&tx.to_json()).unwrap();
    signed(
        Method::POST,
        "/v1/transactions",
        Some(&body),
        party,
        key,
        now(),
    )
}

/// A request signed as `party` with `key`, bound to no node.
fn signed_unbound(
    method: Method,
    uri: &str,
    body: Option<&[u8]>,
    party: &str,
    key: &PrivateKey,
    created: u64,
) -> (Request<Body>, SignedHeaders) {
    let headers = sign_request(
        key,
        party,
        method.as_str(),
        uri,
        body,
        created,
        fresh_nonce(),
    )
    .unwrap();
    (build(method, uri, body, &headers), headers)
}

/// A request with these signature headers, sent to the test nodes' authority.
fn build(method: Method, uri: &str, body: Option<&[u8]>, h: &SignedHeaders) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, testing::AUTHORITY)
        .header("signature-input", &h.signature_input)
        .header("signature", &h.signature);
    if let Some(d) = &h.content_digest {
        req = req.header("content-digest", d);
    }
    let body = body.map(<[u8]>::to_vec).unwrap_or_default();
    if !body.is_empty() {
        req = req
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len());
    }
    req.body(Body::from(body)).unwrap()
}

async fn send(node: &Node, req: Request<Body>) -> (StatusCode, Bytes) {
    let response = node.router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes)
}

async fn json(node: &Node, req: Request<Body>) -> (StatusCode, Value) {
    let (status, bytes) = send(node, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
}

#[tokio::test]
async fn a_party_signs_its_own_requests_and_every_validator_accepts_them() {
    let net = net();
    let c = net.genesis.chain_id;
    let owner = net.owner.eori.as_str();
    let records = format!("/v1/records?ucr={UCR}");

    // The same party, the same key, each validator: accepted without a token from either.
    for node in &net.nodes {
        let (req, _) = signed(Method::GET, &records, None, owner, &net.owner.key, now());
        let (s, b) = json(node, req).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["records"].as_array().unwrap().len(), 1, "{b}");
    }
    // A read bound to no node is refused at each: the node a party called could replay it at
    // another and read that node's answer for the party (the access lists it keeps).
    for node in &net.nodes {
        let (req, _) = signed_unbound(Method::GET, &records, None, owner, &net.owner.key, now());
        let (s, b) = json(node, req).await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "authority-required");
    }

    // A signed write: the owner's next anchor, sent by the owner to node 1.
    let tx = net
        .owner
        .anchor(&c, UCR, "invoice", sha256(b"invoice v2"), "vault://2", 2);
    let body = serde_json::to_vec(&tx.to_json()).unwrap();
    let (req, headers) = submission(&tx, owner, &net.owner.key);
    let (s, b) = json(&net.nodes[1], req).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");

    // A submission is bound to its node too: signed for another node (a node replaying what a
    // party sent it, to spend the party's rate and requests in progress elsewhere), or for none,
    // it is refused before its body is read.
    let (post, key) = (Method::POST, &net.owner.key);
    let elsewhere = signed_for(
        "other.test",
        post.clone(),
        "/v1/transactions",
        Some(&body),
        owner,
        key,
        now(),
    );
    let unbound = signed_unbound(post, "/v1/transactions", Some(&body), owner, key, now());
    for ((req, _), status, code) in [
        (elsewhere, StatusCode::MISDIRECTED_REQUEST, "wrong-node"),
        (unbound, StatusCode::UNAUTHORIZED, "authority-required"),
    ] {
        let (s, b) = json(&net.nodes[0], req).await;
        assert_error(s, &b, status, code);
    }
    // Sent under another node's name, it is refused before its signature is even checked: a
    // made-up signature gets the same answer, not `bad-signature`.
    let (req, _) = signed_for(
        "other.test",
        Method::POST,
        "/v1/transactions",
        Some(&body),
        owner,
        &crypto::generate(),
        now(),
    );
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::MISDIRECTED_REQUEST, "wrong-node");

    // The same signed request again, to the same node: replayed.
    let again = build(Method::POST, "/v1/transactions", Some(&body), &headers);
    let (s, b) = json(&net.nodes[1], again).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "replayed-signature");
    // Replayed with its body held back, it is refused from its head, at admission: its body is
    // never waited for, and the replay is charged to whoever sent it, not to the party.
    let mut held_back = build(Method::POST, "/v1/transactions", Some(&body), &headers);
    *held_back.body_mut() =
        Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
    let (s, b) = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        json(&net.nodes[1], held_back),
    )
    .await
    .expect("refused without waiting for the body");
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "replayed-signature");

    // The same headers over another body: the digest gives it away.
    let other_body = serde_json::to_vec(
        &net.owner
            .anchor(&c, UCR, "invoice", sha256(b"v3"), "vault://3", 3)
            .to_json(),
    )
    .unwrap();
    let changed = build(
        Method::POST,
        "/v1/transactions",
        Some(&other_body),
        &headers,
    );
    let (s, b) = json(&net.nodes[0], changed).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "content-digest-mismatch");

    // Made ten minutes ago: expired. By a party nobody knows, or under a registered trader's id
    // with another key: the same answer, so that nobody learns who is registered by asking.
    let (req, _) = signed(
        Method::GET,
        &records,
        None,
        owner,
        &net.owner.key,
        now() - 600,
    );
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "expired-signature");
    let stranger = crypto::generate();
    let (req, _) = signed(Method::GET, &records, None, "FR999", &stranger, now());
    let (s, unknown) = json(&net.nodes[0], req).await;
    assert_error(s, &unknown, StatusCode::UNAUTHORIZED, "bad-signature");
    let (req, _) = signed(Method::GET, &records, None, owner, &stranger, now());
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "bad-signature");
    assert_eq!(
        b["message"].as_str().unwrap().replace(owner, "ID"),
        unknown["message"].as_str().unwrap().replace("FR999", "ID"),
        "a registered trader's id is answered like an unknown one"
    );

    // Another registered trader: may not read the owner's records, may not send the owner's
    // write even though the write itself is validly signed.
    let other = net.other.eori.as_str();
    let (req, _) = signed(Method::GET, &records, None, other, &net.other.key, now());
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-party");
    let tx = net
        .owner
        .anchor(&c, UCR, "declaration", sha256(b"decl"), "vault://d", 1);
    let body = serde_json::to_vec(&tx.to_json()).unwrap();
    let (req, _) = signed(
        Method::POST,
        "/v1/transactions",
        Some(&body),
        other,
        &net.other.key,
        now(),
    );
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "wrong-party");
    // Its own anchor under the owner's consignment is refused by the ledger's rules (a first
    // version: any other is refused as it would be under an unused UCR).
    let squat = net
        .other
        .anchor(&c, UCR, "packing-list", sha256(b"junk"), "vault://junk", 1);
    let body = serde_json::to_vec(&squat.to_json()).unwrap();
    let (req, _) = signed(
        Method::POST,
        "/v1/transactions",
        Some(&body),
        other,
        &net.other.key,
        now(),
    );
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "not-owner");

    // Customs reads any consignment by its office's own key too.
    let (req, _) = signed(Method::GET, &records, None, OFFICE, &net.office, now());
    let (s, b) = json(&net.nodes[1], req).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// A refusal's message can name the consignment (its UCR, its versions): a node tells it to the
/// transaction's signer asking with its own signature, to customs and to auditors; another trader,
/// or any role token that names no party, is told the code only.
#[tokio::test]
async fn a_refusal_s_reason_is_told_to_its_signer_customs_and_auditors() {
    let net = net();
    let c = net.genesis.chain_id;
    let node = &net.nodes[0];
    let owner = net.owner.eori.as_str();
    // The owner's amendment that skips a version: refused, and remembered with its signer.
    let tx = net
        .owner
        .anchor(&c, UCR, "invoice", sha256(b"invoice v5"), "vault://5", 5);
    let (req, _) = submission(&tx, owner, &net.owner.key);
    let (s, b) = json(node, req).await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "version-conflict");
    assert!(b["message"].as_str().unwrap().contains(UCR), "{b}");
    let status_uri = format!("/v1/transactions/{}", hex::encode(tx.hash()));
    let by_token = |role| {
        Request::get(&status_uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", token(role)))
            .body(Body::empty())
            .unwrap()
    };
    let signed_by =
        |party: &str, key: &PrivateKey| signed(Method::GET, &status_uri, None, party, key, now()).0;
    let told = [
        ("the signer", signed_by(owner, &net.owner.key)),
        ("an office", signed_by(OFFICE, &net.office)),
        ("the customs token", by_token(Role::Customs)),
        ("the auditor token", by_token(Role::Auditor)),
    ];
    for (who, req) in told {
        let (s, b) = json(node, req).await;
        assert_eq!(s, StatusCode::OK, "{who}: {b}");
        assert_eq!(b["status"], "rejected", "{who}: {b}");
        assert_eq!(b["reason"]["error"], "version-conflict", "{who}: {b}");
        assert!(
            b["reason"]["message"].as_str().unwrap().contains(UCR),
            "{who} is told why: {b}"
        );
    }
    let not_told = [
        (
            "another trader",
            signed_by(net.other.eori.as_str(), &net.other.key),
        ),
        ("the trader token", by_token(Role::Trader)),
        ("the authority token", by_token(Role::Authority)),
    ];
    for (who, req) in not_told {
        let (s, b) = json(node, req).await;
        assert_eq!(s, StatusCode::OK, "{who}: {b}");
        assert_eq!(b["status"], "rejected", "{who}: {b}");
        assert_eq!(b["reason"]["error"], "version-conflict", "{who}: {b}");
        let message = b["reason"]["message"].as_str().unwrap();
        assert!(
            !message.contains(UCR) && message.contains("signer"),
            "{who} is told the code only: {b}"
        );
    }
}

#[tokio::test]
async fn a_write_signed_for_another_ledger_is_refused() {
    let a = net();
    let b = net();
    assert_ne!(a.genesis.chain_id, b.genesis.chain_id);
    // Ledger A's registration of a new trader, by A's office, replayed to ledger B: its
    // signature covers A's chain id (and B's office has another key).
    let newcomer = Trader::new("DE5550001");
    let tx = newcomer.registration(&a.genesis.chain_id, OFFICE, &a.office);
    let body = serde_json::to_vec(&tx.to_json()).unwrap();
    let post = |body: Vec<u8>| {
        Request::post("/v1/transactions")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", token(Role::Customs)),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let (s, v) = json(&b.nodes[0], post(body.clone())).await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "bad-signature");
    // On A it is accepted.
    let (s, v) = json(&a.nodes[0], post(body)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // A trader's anchor signed for ledger A, sent to B (where the same trader is registered
    // with the same key): its signature covers A's chain id.
    let anchor = a.owner.anchor(
        &a.genesis.chain_id,
        "26DE-HAM-000099",
        "invoice",
        sha256(b"x"),
        "vault://x",
        1,
    );
    let body = serde_json::to_vec(&anchor.to_json()).unwrap();
    let req = Request::post("/v1/transactions")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token(Role::Trader)),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let (s, v) = json(&b.nodes[0], req).await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "wrong-party-key");
}

#[tokio::test]
async fn documents_are_for_parties_not_role_tokens() {
    let net = net();
    let uri = format!("/v1/documents/{UCR}/invoice/1");
    let req = Request::get(&uri)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token(Role::Customs)),
        )
        .body(Body::empty())
        .unwrap();
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "party-required");
    // A signed request bound to no node is refused; one bound to this node reaches the document
    // service (this node keeps none: 503).
    let (req, _) = signed_unbound(Method::GET, &uri, None, OFFICE, &net.office, now());
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "authority-required");
    let (req, _) = signed(Method::GET, &uri, None, OFFICE, &net.office, now());
    let (s, b) = json(&net.nodes[0], req).await;
    assert_error(
        s,
        &b,
        StatusCode::SERVICE_UNAVAILABLE,
        "documents-unavailable",
    );
}

/// A node verifies a transaction's signature once: the check entering the mempool reuses the
/// admission's verdict. The verdict holds for the key it was verified against only: once the
/// office's rotation of the owner's key is final (in a block another validator could have built
/// without the pending transaction), the transaction signed with the old key is refused.
#[test]
fn a_remembered_signature_holds_for_its_key_only() {
    let net = net();
    let c = net.genesis.chain_id;
    let a = &net.nodes[0];
    let pending = net
        .owner
        .anchor(&c, UCR, "invoice", sha256(b"invoice v2"), "vault://2", 2);
    let before = a.chain.signature_verdicts_reused();
    let hash = a
        .chain
        .submit(pending)
        .expect("admitted under the owner's key");
    assert!(
        a.chain.signature_verdicts_reused() > before,
        "the check entering the mempool reuses the admission's verdict"
    );
    assert!(matches!(a.chain.status(&hash), Ok(TxStatus::Pending)));

    // The rotation, in a block another validator could have built without the pending anchor,
    // validated in full and finalized.
    let new_key = crypto::generate();
    let rotation = net
        .owner
        .rotation(&c, OFFICE, &net.office, 2, crypto::public_of(&new_key));
    let (height, parent) = a.chain.tip();
    let block = a
        .chain
        .forge_block(parent, vec![rotation])
        .unwrap()
        .expect("a block");
    a.chain.validate(parent, &block).expect("a valid block");
    let reused = a.chain.signature_verdicts_reused();
    a.chain
        .finalize(block.hash(), height + 1, Vec::new())
        .unwrap();
    match a.chain.status(&hash) {
        Ok(TxStatus::Rejected { why, signer }) => {
            assert_eq!(why.code, "wrong-party-key", "{why:?}");
            // Remembered with its signer, the one trader told why.
            assert_eq!(signer, (SignerKind::Trader, net.owner.eori.to_string()));
        }
        other => panic!("the anchor signed with the replaced key is still {other:?}"),
    }
    assert_eq!(
        a.chain.signature_verdicts_reused(),
        reused,
        "the old key's verdict is not the new key's"
    );
}

/// A consignment's owner is the one finalized, whatever is pending: a delegate's write waiting in
/// the mempool neither locks the owner out of its own consignment nor lets the delegate's own
/// delegate in (each validator, whatever height it has finalized, judges a block alike).
#[test]
fn a_pending_delegate_write_does_not_change_the_owner() {
    let net = net();
    let c = net.genesis.chain_id;
    let a = &net.nodes[0];
    let third = Trader::new("FR000333444");
    let broker = net.other.eori.clone();
    net.seal(vec![
        third.registration(&c, OFFICE, &net.office),
        net.owner.delegation(&c, &broker, 1, true),
        net.other.delegation(&c, &third.eori, 1, true),
    ]);
    // The owner's broker files the declaration: pending.
    let by_broker = net.other.anchor(
        &c,
        UCR,
        "declaration",
        sha256(b"declaration"),
        "vault://d",
        1,
    );
    a.chain.submit(by_broker).expect("a delegate writes");
    // The owner still writes under its consignment...
    let by_owner = net
        .owner
        .anchor(&c, UCR, "invoice", sha256(b"invoice v2"), "vault://2", 2);
    a.chain.submit(by_owner.clone()).expect("the owner writes");
    // ...and the broker's delegate, whom the owner never named, does not.
    let by_third = third.anchor(&c, UCR, "packing-list", sha256(b"packing"), "vault://p", 1);
    let refused = a.chain.submit(by_third.clone()).unwrap_err();
    assert_eq!(refused.code(), Some("not-owner"), "{refused}");
    // In a block, the same verdicts: the broker's write and then the owner's is valid; the
    // broker's and then its delegate's is not (validation replays the block's own transactions,
    // not the mempool).
    let (_, parent) = a.chain.tip();
    let block = a.chain.propose(parent).unwrap().expect("a block");
    assert_eq!(block.txs.len(), 2);
    a.chain.validate(parent, &block).expect("a valid block");
    let forged = a
        .chain
        .forge_block(parent, vec![block.txs[0].clone(), by_third])
        .unwrap()
        .expect("a block");
    match a.chain.validate(parent, &forged) {
        Err(e) => assert!(e.to_string().contains("not-owner"), "{e}"),
        Ok(()) => panic!("the broker's delegate wrote under the owner's consignment"),
    }
}
