//! The explorer's pages, driven through the node's router without a socket
//! (`tower::ServiceExt::oneshot`): public pages, records behind the sign-in, search by shape, the
//! verify form, and bad input of every kind answered with a readable page and a proper status.
//!
//! Consensus does not run here: blocks are sealed by driving the ledger core directly (propose on
//! the tip, then finalize), as consensus would after agreeing on them.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use rand::rngs::OsRng;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;
use zkcustoms_circuits::field::fr_to_hex;
use zkcustoms_circuits::registry::example_registry;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::store::Store;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_http::testing::{self, explorer_token, token};
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::genesis::{Genesis, Params, PinnedKey, SignerEntry};
use zkcustoms_ledger_types::tx::{
    ledger_scope, sha256, MarkExamination, PublishRoot, Role, Transaction, Ucr,
};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_aeo_status_in;
use zkcustoms_prover::{prove, ProvingKey};
use zkcustoms_verifier::{KeyDir, ProofEnvelope, PublicValues};

const AUTHORITY: &str = "DE-GZD";
const OFFICE: &str = "DE-HAMBURG-HAFEN";
const AUDITOR: &str = "AUDIT-EU-1";
const UCR: &str = "26DE-HAM-000042";
const TRADER: &str = "DE123456789012345";
const HOST: &str = "127.0.0.1:8080";

/// A node whose ledger holds a registry root, two versions of an invoice under [`UCR`], an
/// aeo-status proof under it and an examination mark, each sealed in its own block.
struct Node {
    router: Router,
    chain: Arc<Chain>,
    /// The proof submitted (its envelope).
    proof: ProofEnvelope,
    /// Hashes of the transactions, in ledger order (the trader's registration aside).
    txs: Vec<String>,
    /// The trader's registration (in the first block).
    registration: String,
    /// An amendment refused after the examination began.
    refused: String,
    _keys: tempfile::TempDir,
    _db: tempfile::TempDir,
}

fn seal(chain: &Chain) {
    let (height, parent) = chain.tip();
    let block = chain
        .propose(parent)
        .expect("propose")
        .expect("a transaction to seal");
    chain
        .finalize(block.hash(), height + 1, Vec::new())
        .expect("finalize");
}

fn node() -> &'static Node {
    static N: OnceLock<Node> = OnceLock::new();
    N.get_or_init(|| {
        let keys = tempfile::tempdir().unwrap();
        setup_dev(keys.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap();
        let kd = KeyDir::open(keys.path()).unwrap();
        let pk = ProvingKey::load(&kd, CircuitId::AeoStatusV1).unwrap();
        let vk_id = kd.manifest().keys[0].vk_id;
        let validator = crypto::generate();
        let authority = crypto::generate();
        let office = crypto::generate();
        let genesis = single_validator_genesis(
            "zkcustoms-explorer-test",
            ("validator-de", &validator),
            &[(AUTHORITY, &authority)],
            &[(OFFICE, &office)],
            vec![PinnedKey {
                statement: "aeo-status/v1".into(),
                size_class: None,
                id: vk_id,
            }],
            Params {
                root_grace_seconds: 86_400,
                as_of_tolerance_days: None,
                max_block_txs: 512,
            },
        );
        // An auditor, whose explorer account signs in as such.
        let mut file = genesis.file.clone();
        file.auditors.push(SignerEntry {
            id: AUDITOR.into(),
            public_key: crypto::public_hex(&crypto::public_of(&crypto::generate())),
            administration: None,
        });
        let genesis = Genesis::from_bytes(&serde_json::to_vec(&file).unwrap()).unwrap();
        let db = tempfile::tempdir().unwrap();
        let chain = Arc::new(
            Chain::open(
                genesis.clone(),
                Store::open(db.path()).unwrap(),
                Some(keys.path()),
                crypto::public_bytes(&crypto::public_of(&validator)),
                MempoolLimits::default(),
            )
            .unwrap(),
        );
        let ucr = Ucr::parse(UCR).unwrap();
        let chain_id = genesis.chain_id;
        let statement = example_aeo_status_in(&ledger_scope(&chain_id, &ucr)).unwrap();
        let proof = prove(&pk, &statement, &mut OsRng).unwrap();
        let trader = Trader::new(TRADER);
        // The trader's registration lands in the first block, with the registry root.
        let registration = hex::encode(
            chain
                .submit(trader.registration(&chain_id, OFFICE, &office))
                .expect("admitted"),
        );
        let anchor = |version: u32| {
            let digest = sha256(format!("invoice version {version}").as_bytes());
            let reference = format!("vault://invoices/{version}");
            trader.anchor(&chain_id, UCR, "invoice", digest, &reference, version)
        };
        let txs = vec![
            Transaction::PublishRoot(PublishRoot::sign(
                &genesis.chain_id,
                &authority,
                AUTHORITY,
                example_registry().root,
                1,
            )),
            anchor(1),
            anchor(2),
            trader.proof(&chain_id, UCR, proof.clone()),
            Transaction::MarkExamination(MarkExamination::sign(
                &genesis.chain_id,
                &office,
                ucr.clone(),
                OFFICE,
            )),
        ];
        let mut hashes = Vec::new();
        for tx in txs {
            hashes.push(hex::encode(chain.submit(tx).expect("admitted")));
            seal(&chain);
        }
        let router = testing::router(chain.clone(), None, 16 * 1024);
        // An amendment after the examination began: refused, with a reason naming the UCR.
        let late = anchor(3);
        let refused = hex::encode(late.hash());
        assert!(chain.submit(late).is_err());
        Node {
            router,
            chain,
            proof,
            txs: hashes,
            registration,
            refused,
            _keys: keys,
            _db: db,
        }
    })
}

/// An answer: status, headers, body text.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a readable HTML page with this status that says `text`.
    fn says(&self, status: StatusCode, text: &str) -> &Self {
        assert_eq!(self.status, status, "{}", self.body);
        let ct = self.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(ct.starts_with("text/html"), "{ct}");
        assert!(self.body.starts_with("<!DOCTYPE html>"), "{}", self.body);
        assert!(self.body.contains(text), "{text:?} missing: {}", self.body);
        for leak in ["panicked", "RUST_BACKTRACE", "src/"] {
            assert!(!self.body.contains(leak), "{leak} on the page");
        }
        self
    }

    fn lacks(&self, text: &str) -> &Self {
        assert!(!self.body.contains(text), "{text:?} shown: {}", self.body);
        self
    }
}

async fn send(req: Request<Body>) -> Page {
    send_to(&node().router, req).await
}

async fn send_to(router: &Router, req: Request<Body>) -> Page {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(uri: &str, session: Option<&str>) -> Page {
    let mut req = Request::builder().uri(uri).header(header::HOST, HOST);
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("zkcustoms_session={s}"));
    }
    send(req.body(Body::empty()).unwrap()).await
}

async fn post(
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
    origin: &str,
    session: Option<&str>,
) -> Page {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("zkcustoms_session={s}"));
    }
    send(req.body(Body::from(body)).unwrap()).await
}

const FORM: &str = "application/x-www-form-urlencoded";
const HERE: &str = "http://127.0.0.1:8080";

/// Signs in with the test explorer account of a role and answers the session id.
async fn sign_in(role: Role) -> String {
    let body = format!(
        "token={}&next=%2Fconsignments%2F{UCR}",
        explorer_token(role)
    );
    let p = post("/signin", FORM, body.into_bytes(), HERE, None).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), format!("/consignments/{UCR}"));
    let cookie = p.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    cookie
        .strip_prefix("zkcustoms_session=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}

fn multipart(envelope: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----zkcustoms-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n{envelope}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"proof.json\"\r\nContent-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn verify(envelope: &str, file: &[u8]) -> Page {
    let (ct, body) = multipart(envelope, file);
    post("/verify", &ct, body, HERE, None).await
}

#[tokio::test]
async fn public_pages_show_blocks_counts_roots_and_status() {
    let n = node();
    let home = get("/", None).await;
    home.says(StatusCode::OK, "Latest blocks")
        .says(StatusCode::OK, "href=\"/blocks/5\"")
        .says(StatusCode::OK, "Skip to content")
        .says(StatusCode::OK, "Registry root published")
        // Records are listed as such, without their consignment.
        .says(StatusCode::OK, "sign in to see it")
        .lacks(UCR);
    let csp = home.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(home.headers[header::CACHE_CONTROL], "no-store");

    let css = get("/assets/explorer.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains(":focus-visible"));

    get("/blocks/1", None)
        .await
        .says(StatusCode::OK, "Block 1")
        .says(StatusCode::OK, "validator-de")
        .says(StatusCode::OK, &n.txs[0][..16]);
    let root = fr_to_hex(&example_registry().root);
    get("/registry", None)
        .await
        .says(StatusCode::OK, &root)
        .says(StatusCode::OK, "current");
    get("/registry/DE-GZD", None)
        .await
        .says(StatusCode::OK, &root);
    get("/status", None)
        .await
        .says(StatusCode::OK, "validator-de")
        .says(StatusCode::OK, "aeo-status/v1")
        .says(StatusCode::OK, &hex::encode(n.chain.genesis().chain_id));
    // A public transaction shows its details and its inclusion proof to anyone.
    get(&format!("/tx/{}", n.txs[0]), None)
        .await
        .says(StatusCode::OK, &root)
        .says(StatusCode::OK, "download the inclusion proof");
    let inclusion = get(&format!("/tx/{}/inclusion", n.txs[0]), None).await;
    assert_eq!(inclusion.status, StatusCode::OK, "{}", inclusion.body);
    assert!(inclusion.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let proof: serde_json::Value = serde_json::from_str(&inclusion.body).unwrap();
    assert_eq!(proof["tx_hash"], n.txs[0]);
    assert_eq!(proof["height"], 1);
}

#[tokio::test]
async fn records_need_a_customs_or_auditor_sign_in() {
    let n = node();
    let proof_tx = &n.txs[3];
    // Without a session: the transaction's place is public, its content is not.
    get(&format!("/tx/{proof_tx}"), None)
        .await
        .says(StatusCode::OK, "block 4")
        .says(StatusCode::OK, "record of a consignment")
        .lacks(UCR)
        .lacks("nullifier");
    get(&format!("/tx/{proof_tx}/inclusion"), None)
        .await
        .says(StatusCode::UNAUTHORIZED, "Sign in");
    get(&format!("/consignments/{UCR}"), None)
        .await
        .says(
            StatusCode::UNAUTHORIZED,
            "customs officer's or auditor's explorer account",
        )
        .lacks("vault://");
    get(&format!("/consignments/{UCR}/history"), None)
        .await
        .says(StatusCode::UNAUTHORIZED, "amendment history")
        .lacks("vault://");

    for role in [Role::Customs, Role::Auditor] {
        let s = sign_in(role).await;
        get(&format!("/consignments/{UCR}"), Some(&s))
            .await
            .says(StatusCode::OK, "Under examination")
            .says(StatusCode::OK, OFFICE)
            .says(StatusCode::OK, "vault://invoices/2")
            .says(StatusCode::OK, "AEO certificate of tier")
            .says(StatusCode::OK, role.name());
        get(&format!("/consignments/{UCR}/history"), Some(&s))
            .await
            .says(StatusCode::OK, "superseded")
            .says(StatusCode::OK, "current")
            .says(StatusCode::OK, "vault://invoices/1")
            .says(StatusCode::OK, "(replaces 1)")
            .says(StatusCode::OK, "Amendments closed");
        get(&format!("/tx/{proof_tx}"), Some(&s))
            .await
            .says(StatusCode::OK, UCR)
            .says(StatusCode::OK, "Valid.")
            .says(StatusCode::OK, "nullifier")
            .says(StatusCode::OK, "AEO certificate of tier AEOS");
        let inclusion = get(&format!("/tx/{proof_tx}/inclusion"), Some(&s)).await;
        assert_eq!(inclusion.status, StatusCode::OK, "{}", inclusion.body);
        // An unknown consignment.
        get("/consignments/NO-SUCH-UCR-1", Some(&s))
            .await
            .says(StatusCode::NOT_FOUND, "no record");
    }

    // A session id that the node never issued is no sign-in.
    get(&format!("/consignments/{UCR}"), Some(&"ab".repeat(32)))
        .await
        .says(StatusCode::UNAUTHORIZED, "Sign in");
}

#[tokio::test]
async fn anonymous_visitors_see_no_ucr_trader_refusal_reason_or_peer_address() {
    let n = node();
    // A refusal's reason names the consignment: its code only, until one signs in.
    get(&format!("/tx/{}", n.refused), None)
        .await
        .says(StatusCode::OK, "under-examination")
        .lacks(UCR);
    // Who registered which trader, with which key: for the ledger's parties.
    get(&format!("/tx/{}", n.registration), None)
        .await
        .says(StatusCode::OK, "Trader registered")
        .says(StatusCode::OK, "It names a trader")
        .lacks(TRADER)
        .lacks("public_key")
        .lacks("download the inclusion proof");
    // Nor through its inclusion proof, which carries the whole transaction.
    get(&format!("/tx/{}/inclusion", n.registration), None)
        .await
        .says(StatusCode::UNAUTHORIZED, "Sign in")
        .lacks(TRADER);
    // Where the validators listen.
    get("/status", None)
        .await
        .says(StatusCode::OK, "validator-de")
        .lacks("127.0.0.1:19000")
        .lacks("Peer address");
    let s = sign_in(Role::Customs).await;
    get(&format!("/tx/{}", n.refused), Some(&s))
        .await
        .says(StatusCode::OK, UCR)
        .says(StatusCode::OK, "under examination");
    get(&format!("/tx/{}", n.registration), Some(&s))
        .await
        .says(StatusCode::OK, TRADER)
        .says(StatusCode::OK, OFFICE);
    let inclusion = get(&format!("/tx/{}/inclusion", n.registration), Some(&s)).await;
    assert_eq!(inclusion.status, StatusCode::OK, "{}", inclusion.body);
    assert!(inclusion.body.contains(TRADER), "{}", inclusion.body);
    get("/status", Some(&s))
        .await
        .says(StatusCode::OK, "127.0.0.1:19000");
}

/// A signed-in officer is charged as an authenticated client: anonymous visitors behind the same
/// address (in process, every request comes from one unknown address, as from one proxy or one
/// office's network) that spend the anonymous rate do not lock the officer out.
#[tokio::test]
async fn a_signed_in_viewer_is_not_rated_with_anonymous_visitors() {
    use std::collections::BTreeMap;
    use zkcustoms_http::{Rate, Rates};
    use zkcustoms_ledger_http::{role_tokens, router, ApiState, PartyAuth};
    let chain = node().chain.clone();
    let tokens: BTreeMap<Role, String> = Role::ALL.iter().map(|r| (*r, token(*r))).collect();
    let app = router(ApiState {
        documents: None,
        tokens: role_tokens(&tokens),
        max_body: 16 * 1024,
        max_concurrency: 16,
        rates: Rates {
            authenticated: Rate::new(1000.0, 1000.0),
            anonymous: Rate::new(0.001, 4.0),
        },
        parties: Arc::new(PartyAuth::default()),
        accounts: Arc::new(testing::explorer_accounts(chain.genesis())),
        chain,
    });
    let send = |req: Request<Body>| {
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap() }
    };
    let body = format!("token={}", explorer_token(Role::Customs));
    let signed_in = send(
        Request::post("/signin")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, HERE)
            .header(header::CONTENT_TYPE, FORM)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()[header::SET_COOKIE].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let status = |session: Option<&str>| {
        let mut req = Request::get("/status").header(header::HOST, HOST);
        if let Some(s) = session {
            req = req.header(header::COOKIE, s);
        }
        send(req.body(Body::empty()).unwrap())
    };
    // The sign-in and three anonymous pages spend the anonymous burst of four.
    for _ in 0..3 {
        assert_eq!(status(None).await.status(), StatusCode::OK);
    }
    assert_eq!(status(None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The officer's pages are charged to its account, not to the address.
    for _ in 0..10 {
        assert_eq!(status(Some(&session)).await.status(), StatusCode::OK);
    }
    // A session that is not one (made up, or signed out) is anonymous again.
    let made_up = "zkcustoms_session=00";
    assert_eq!(
        status(Some(made_up)).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A session names its account for the explorer only: a body sent to the API with it alone
    // is the address's, as without it (whose rate is spent), never read by the handler.
    let submitted = send(
        Request::post("/v1/transactions")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &session)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, "2")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(submitted.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_in_refuses_other_tokens_and_other_sites_and_signs_out() {
    let wrong = post("/signin", FORM, b"token=nope".to_vec(), HERE, None).await;
    wrong.says(StatusCode::UNAUTHORIZED, "not one of the node");
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    // API tokens, even customs', do not sign a person in: accounts are named.
    for role in [Role::Trader, Role::Customs, Role::Auditor] {
        let api = format!("token={}", token(role));
        let p = post("/signin", FORM, api.into_bytes(), HERE, None).await;
        p.says(StatusCode::FORBIDDEN, "explorer account of their own");
        assert!(p.headers.get(header::SET_COOKIE).is_none());
    }
    let customs = format!("token={}", explorer_token(Role::Customs));
    post(
        "/signin",
        FORM,
        customs.into_bytes(),
        "http://evil.example",
        None,
    )
    .await
    .says(StatusCode::FORBIDDEN, "another site");
    post("/signin", FORM, b"name=\xff\xfe".to_vec(), HERE, None)
        .await
        .says(StatusCode::BAD_REQUEST, "could not be read");
    post("/signin", "text/plain", b"token=x".to_vec(), HERE, None)
        .await
        .says(StatusCode::BAD_REQUEST, "could not be read");

    let s = sign_in(Role::Customs).await;
    let page = get("/", Some(&s)).await;
    page.says(StatusCode::OK, "Sign out")
        .says(StatusCode::OK, UCR)
        .says(StatusCode::OK, "officer at DE-HAMBURG-HAFEN")
        .says(StatusCode::OK, "customs DE-HAMBURG-HAFEN");
    get("/", Some(&sign_in(Role::Auditor).await))
        .await
        .says(StatusCode::OK, "auditor AUDIT-EU-1");
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    // Signing out needs the session's form token.
    post("/signout", FORM, b"csrf=forged".to_vec(), HERE, Some(&s))
        .await
        .says(StatusCode::FORBIDDEN, "another site");
    get(&format!("/consignments/{UCR}"), Some(&s))
        .await
        .says(StatusCode::OK, UCR);
    let out = post(
        "/signout",
        FORM,
        format!("csrf={csrf}").into_bytes(),
        HERE,
        Some(&s),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    get(&format!("/consignments/{UCR}"), Some(&s))
        .await
        .says(StatusCode::UNAUTHORIZED, "Sign in");
}

#[tokio::test]
async fn search_decides_by_shape() {
    let n = node();
    let s = sign_in(Role::Auditor).await;
    // A UCR (in any case) leads to its records, which need a sign-in.
    for q in [UCR, "26de-ham-000042"] {
        let p = get(&format!("/search?q={q}"), None).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(p.location(), format!("/consignments/{UCR}"));
    }
    // A transaction hash, a block hash, a height.
    let p = get(&format!("/search?q={}", n.txs[1]), None).await;
    assert_eq!(
        (p.status, p.location()),
        (StatusCode::SEE_OTHER, format!("/tx/{}", n.txs[1]).as_str())
    );
    let block2 = n.chain.store().block(2).unwrap().unwrap().block.hash();
    let p = get(&format!("/search?q={}", hex::encode(block2)), None).await;
    assert_eq!(
        (p.status, p.location()),
        (StatusCode::SEE_OTHER, "/blocks/2")
    );
    let p = get("/search?q=%20%203%20", None).await;
    assert_eq!(
        (p.status, p.location()),
        (StatusCode::SEE_OTHER, "/blocks/3")
    );
    // A nullifier leads to the proof that presented it, for a signed-in viewer only.
    let PublicValues::AeoStatus(public) = &n.proof.public else {
        panic!("an aeo-status proof")
    };
    let nullifier = fr_to_hex(&public.nullifier);
    let p = get(&format!("/search?q={nullifier}"), Some(&s)).await;
    assert_eq!(
        (p.status, p.location()),
        (StatusCode::SEE_OTHER, format!("/tx/{}", n.txs[3]).as_str())
    );
    get(&format!("/search?q={nullifier}"), None)
        .await
        .says(StatusCode::NOT_FOUND, "sign in");
    // Unknown and malformed searches.
    get(&format!("/search?q={}", "0".repeat(64)), Some(&s))
        .await
        .says(StatusCode::NOT_FOUND, "Nothing found");
    get("/search?q=", None)
        .await
        .says(StatusCode::BAD_REQUEST, "Nothing to search for");
    get("/search", None)
        .await
        .says(StatusCode::BAD_REQUEST, "Nothing to search for");
    get("/search?q=hello%20world!", None)
        .await
        .says(StatusCode::BAD_REQUEST, "is not a UCR");
    // A number past the tip is a height not yet reached, not a consignment's reference.
    get("/search?q=999999", None).await.says(
        StatusCode::NOT_FOUND,
        "No block is finalized at height 999999 yet",
    );
    // A query that is not one search text is named as such, not taken for an empty one.
    get("/search?q=26DE-A&q=26DE-B", None)
        .await
        .says(StatusCode::BAD_REQUEST, "Search not understood");
    get(&format!("/search?q={}", "A".repeat(300)), None)
        .await
        .says(StatusCode::BAD_REQUEST, "too long");
    // Everything shown is escaped.
    get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", None)
        .await
        .says(StatusCode::BAD_REQUEST, "&lt;script&gt;")
        .lacks("<script>");
}

#[tokio::test]
async fn unknown_and_malformed_addresses_are_readable_pages() {
    get("/blocks/999", None)
        .await
        .says(StatusCode::NOT_FOUND, "No block is finalized at height 999");
    get("/blocks/0", None)
        .await
        .says(StatusCode::BAD_REQUEST, "whole number");
    get("/blocks/twelve", None)
        .await
        .says(StatusCode::BAD_REQUEST, "whole number");
    // A segment that is not UTF-8 once decoded: the explorer's page, with its headers.
    for uri in ["/blocks/%FF", "/tx/%FF", "/registry/%C3%28"] {
        let page = get(uri, None).await;
        page.says(StatusCode::BAD_REQUEST, "Not an address of this explorer");
        assert!(
            page.headers.contains_key(header::CONTENT_SECURITY_POLICY),
            "{uri}"
        );
    }
    get(&format!("/tx/{}", "0".repeat(64)), None)
        .await
        .says(StatusCode::NOT_FOUND, "knows no transaction");
    get("/tx/xyz", None)
        .await
        .says(StatusCode::BAD_REQUEST, "64 hexadecimal digits");
    get(&format!("/tx/{}/inclusion", "0".repeat(64)), None)
        .await
        .says(StatusCode::NOT_FOUND, "no inclusion proof");
    get("/registry/NOBODY", None)
        .await
        .says(StatusCode::NOT_FOUND, "not an AEO authority");
    // A long text in the address is not shown back on the node's page.
    let long = "A".repeat(5000);
    let page = get(&format!("/registry/{long}"), None).await;
    assert!(
        !page.body.contains(&long[..100]),
        "the visitor's text is not echoed"
    );
    page.says(StatusCode::NOT_FOUND, "not an AEO authority");
    let s = sign_in(Role::Customs).await;
    get("/consignments/not%20a%20ucr", Some(&s))
        .await
        .says(StatusCode::BAD_REQUEST, "unique consignment reference");
}

/// A valid proof whose registry root was superseded more than the grace period ago: the verify
/// page says that the ledger would refuse it now, not only that a newer root exists.
#[tokio::test]
async fn verify_page_says_when_the_ledger_would_refuse_a_valid_proof_now() {
    let n = node();
    let authority = crypto::generate();
    let genesis = single_validator_genesis(
        "zkcustoms-explorer-stale-root",
        ("validator-de", &crypto::generate()),
        &[(AUTHORITY, &authority)],
        &[(OFFICE, &crypto::generate())],
        vec![PinnedKey {
            statement: "aeo-status/v1".into(),
            size_class: None,
            id: n.proof.vk_id,
        }],
        Params {
            root_grace_seconds: 0,
            as_of_tolerance_days: None,
            max_block_txs: 512,
        },
    );
    let db = tempfile::tempdir().unwrap();
    let chain = Arc::new(
        Chain::open(
            genesis.clone(),
            Store::open(db.path()).unwrap(),
            Some(n._keys.path()),
            [0; 32],
            MempoolLimits::default(),
        )
        .unwrap(),
    );
    let publish = |root, sequence| {
        let tx = PublishRoot::sign(&genesis.chain_id, &authority, AUTHORITY, root, sequence);
        chain
            .submit(Transaction::PublishRoot(tx))
            .expect("admitted");
        seal(&chain);
    };
    publish(example_registry().root, 1);
    publish(
        example_registry().root + zkcustoms_circuits::Fr::from(1u64),
        2,
    );
    // With no grace, the root is stale once any time has passed since it was superseded.
    let superseded = chain
        .store()
        .block(2)
        .unwrap()
        .unwrap()
        .block
        .header
        .timestamp_ms;
    while zkcustoms_ledger_core::chain::now_ms() <= superseded {
        std::hint::spin_loop();
    }
    let router = testing::router(chain.clone(), None, 16 * 1024);
    let (ct, body) = multipart(&n.proof.to_json(), b"");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/verify")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, HERE)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    send_to(&router, req)
        .await
        .says(StatusCode::OK, "Valid proof")
        .says(StatusCode::OK, "a newer root has been published since")
        .says(StatusCode::OK, "The ledger would refuse this proof now")
        .says(StatusCode::OK, "was superseded by sequence 2");
    // On the ledger whose root is current, the page says nothing of the kind.
    verify(&n.proof.to_json(), b"")
        .await
        .says(StatusCode::OK, "the current one")
        .lacks("would refuse this proof now");
}

#[tokio::test]
async fn verify_page_gives_a_verdict_in_plain_words() {
    let n = node();
    get("/verify", None)
        .await
        .says(StatusCode::OK, "label for=\"envelope\"")
        .says(StatusCode::OK, "label for=\"file\"");
    let good = n.proof.to_json();
    // Pasted, and uploaded as a file.
    for (pasted, file) in [(good.as_str(), &b""[..]), ("", good.as_bytes())] {
        verify(pasted, file)
            .await
            .says(StatusCode::OK, "Valid proof")
            .says(
                StatusCode::OK,
                "an operator holding an AEO certificate of tier AEOS or higher, issued by DE-GZD",
            )
            .says(StatusCode::OK, "root #1")
            .says(StatusCode::OK, "the current one")
            .says(StatusCode::OK, "required tier");
    }
    // A tampered envelope: another scope than the one proved.
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["public"]["scope"] = "another-scope".into();
    verify(&v.to_string(), b"")
        .await
        .says(StatusCode::UNPROCESSABLE_ENTITY, "Not valid")
        .says(StatusCode::UNPROCESSABLE_ENTITY, "does not verify");
    // Garbage, empty, binary, oversized, not a form, from another site.
    verify("{\"format\": \"nope\"}", b"")
        .await
        .says(StatusCode::BAD_REQUEST, "not a valid proof envelope");
    verify("not json at all <b>", b"")
        .await
        .says(StatusCode::BAD_REQUEST, "not a valid proof envelope")
        .lacks("<b>");
    verify("   ", b"")
        .await
        .says(StatusCode::BAD_REQUEST, "Paste a proof envelope");
    verify("", &[0xff, 0x00, 0x81])
        .await
        .says(StatusCode::BAD_REQUEST, "not text");
    verify("", &vec![b'{'; 70 * 1024])
        .await
        .says(StatusCode::PAYLOAD_TOO_LARGE, "at most 64 KiB");
    post("/verify", FORM, b"envelope=x".to_vec(), HERE, None)
        .await
        .says(StatusCode::BAD_REQUEST, "could not be read");
    let (ct, body) = multipart(&good, b"");
    post("/verify", &ct, body, "http://evil.example", None)
        .await
        .says(StatusCode::FORBIDDEN, "another site");
}
