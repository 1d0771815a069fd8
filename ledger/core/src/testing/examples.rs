//! The fixed example ledger: one of every transaction kind, signed with fixed keys, in two
//! certified blocks on a fresh store, and an inclusion proof. Everything is deterministic (fixed
//! keys, Ed25519 signatures are deterministic, fixed timestamps, the fixed example statement and
//! fixed proof points), so that conformance vectors and fuzzing seeds can be derived from it.

use super::{append_block, single_validator_genesis};
use crate::inclusion::{self, InclusionProof};
use crate::store::Store;
use ark_bls12_381::{G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_groth16::Proof;
use commonware_cryptography::Signer as _;
use zkcustoms_circuits::registry::{example_aeo_status, example_registry};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::{Genesis, Params};
use zkcustoms_ledger_types::tx::{
    sha256, AnchorDocument, Delegate, Eori, MarkExamination, PublishRoot, RegisterTrader,
    RevokeTrader, RotateTraderKey, SubmitProof, Transaction, Ucr,
};
use zkcustoms_verifier::{KeyId, ProofEnvelope, PublicValues};

/// The first block's timestamp (milliseconds); the second is one second later.
pub const T0: u64 = 1_764_000_000_000;

/// The example envelope: the example aeo-status statement (fixed day) with the group generators
/// as proof points (valid points, not a valid proof).
pub fn envelope() -> ProofEnvelope {
    let (public, _) = example_aeo_status();
    let g1 = G1Affine::generator();
    ProofEnvelope {
        circuit: CircuitId::AeoStatusV1,
        vk_id: KeyId([7; 32]),
        public: PublicValues::AeoStatus(public),
        proof: Proof {
            a: g1,
            b: G2Affine::generator(),
            c: (g1 * ark_bls12_381::Fr::from(2u64)).into_affine(),
        },
    }
}

/// The example ledger, its store in a temporary directory (closed: open it as needed).
pub struct ExampleLedger {
    /// The single-validator genesis.
    pub genesis: Genesis,
    /// One transaction of each kind, by kind name, in block order.
    pub txs: Vec<(&'static str, Transaction)>,
    /// The two certified blocks (the first three transactions, then the others).
    pub blocks: [Block; 2],
    /// The inclusion proof of the first transaction.
    pub inclusion: InclusionProof,
    /// The directory holding the store (`ledger/`); removed when this is dropped.
    pub dir: tempfile::TempDir,
}

impl ExampleLedger {
    /// The store's path.
    pub fn store_path(&self) -> std::path::PathBuf {
        self.dir.path().join("ledger")
    }
}

/// Builds the example ledger.
pub fn example_ledger() -> ExampleLedger {
    let validator = PrivateKey::from_seed(1);
    let authority = PrivateKey::from_seed(2);
    let office = PrivateKey::from_seed(3);
    let trader_key = PrivateKey::from_seed(4);
    // A production genesis (its proofs' day checked, no key directory): the bytes, and so the
    // chain id, of the committed conformance vectors.
    let mut file = single_validator_genesis(
        "zkcustoms-conformance",
        ("validator-0", &validator),
        &[("DE-GZD", &authority)],
        &[("DE-HAMBURG-HAFEN", &office)],
        Vec::new(),
        Params::default(),
    )
    .file;
    file.development = false;
    let genesis = Genesis::from_bytes(&serde_json::to_vec(&file).expect("genesis serializes"))
        .expect("a valid genesis");
    let ucr = Ucr::parse("26DE-HAM-000042").expect("a valid UCR");
    let trader = Eori::parse("DE123456789012345").expect("a valid EORI number");
    let broker = Eori::parse("DE987654321").expect("a valid EORI number");
    let chain = genesis.chain_id;
    let txs = vec![
        (
            "publish_root",
            Transaction::PublishRoot(PublishRoot::sign(
                &chain,
                &authority,
                "DE-GZD",
                example_registry().root,
                1,
            )),
        ),
        (
            "register_trader",
            Transaction::RegisterTrader(RegisterTrader {
                office: "DE-HAMBURG-HAFEN".into(),
                trader: trader.clone(),
                public_key: crypto::public_of(&trader_key),
                signature: crypto::unsigned(),
            })
            .signed(&chain, &office),
        ),
        (
            "anchor_document",
            Transaction::AnchorDocument(AnchorDocument {
                ucr: ucr.clone(),
                doc_type: "invoice".into(),
                digest: sha256(b"invoice"),
                reference: "vault://trader/documents/3f9a1c".into(),
                version: 1,
                supersedes: None,
                trader: trader.clone(),
                signature: crypto::unsigned(),
            })
            .signed(&chain, &trader_key),
        ),
        (
            "submit_proof",
            Transaction::SubmitProof(SubmitProof {
                ucr: ucr.clone(),
                envelope: envelope(),
                trader: trader.clone(),
                signature: crypto::unsigned(),
            })
            .signed(&chain, &trader_key),
        ),
        (
            "mark_examination",
            Transaction::MarkExamination(MarkExamination::sign(
                &chain,
                &office,
                ucr,
                "DE-HAMBURG-HAFEN",
            )),
        ),
        (
            "delegate",
            Transaction::Delegate(Delegate {
                owner: trader.clone(),
                delegate: broker,
                sequence: 1,
                active: true,
                signature: crypto::unsigned(),
            })
            .signed(&chain, &trader_key),
        ),
        (
            "rotate_trader_key",
            Transaction::RotateTraderKey(RotateTraderKey {
                office: "DE-HAMBURG-HAFEN".into(),
                trader: trader.clone(),
                sequence: 2,
                public_key: crypto::public_of(&PrivateKey::from_seed(6)),
                signature: crypto::unsigned(),
            })
            .signed(&chain, &office),
        ),
        (
            "revoke_trader",
            Transaction::RevokeTrader(RevokeTrader {
                office: "DE-HAMBURG-HAFEN".into(),
                trader,
                sequence: 3,
                signature: crypto::unsigned(),
            })
            .signed(&chain, &office),
        ),
    ];
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("ledger")).expect("a fresh store opens");
    let all: Vec<Transaction> = txs.iter().map(|(_, tx)| tx.clone()).collect();
    let first = append_block(
        &store,
        &genesis,
        std::slice::from_ref(&validator),
        T0,
        all[..3].to_vec(),
    )
    .expect("the first block is appended");
    let second = append_block(&store, &genesis, &[validator], T0 + 1000, all[3..].to_vec())
        .expect("the second block is appended");
    let inclusion = inclusion::build(&store, &genesis.chain_id, &all[0].hash())
        .expect("the store reads")
        .expect("the transaction is included");
    drop(store);
    ExampleLedger {
        genesis,
        txs,
        blocks: [first, second],
        inclusion,
        dir,
    }
}
