//! The audit and inclusion proofs on ledgers built in-process with real finalization certificates
//! ([`zkcustoms_ledger_core::testing`]): a clean ledger passes every check; blocks that break a ledger
//! rule, certified by a validator that signs whatever it is given, are each found and located
//! (height, transaction, check, rule code); inclusion proofs verify offline against the genesis and
//! are refused when their path, header, certificate or chain is changed; the API serves them; and
//! the audit reads a node through its API.
//!
//! The real node and the `zkcustoms audit` command on a tampered RocksDB are tested end to end in
//! the binary's `tests/audit.rs`.

use ark_bls12_381::Bls12_381;
use ark_groth16::Groth16;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use rand::rngs::OsRng;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;
use zkcustoms_audit::{self as audit, Check, NodeSource, Report, StoreSource};
use zkcustoms_circuits::date::Day;
use zkcustoms_circuits::registry::{example_aeo_status, example_registry};
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::chain::{Chain, MempoolLimits};
use zkcustoms_ledger_core::inclusion::{self, InclusionError, InclusionProof};
use zkcustoms_ledger_core::rules::block_batch;
use zkcustoms_ledger_core::store::{Batch, Finality, Store, VerifyingKeys};
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_core::testing::single_validator_genesis;
use zkcustoms_ledger_core::testing::{append_block, certify};
use zkcustoms_ledger_http::testing::{self, token};
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::{Genesis, Params, PinnedKey};
use zkcustoms_ledger_types::tx::{
    ledger_scope, sha256, Hash, MarkExamination, PublishRoot, Role, Transaction, Ucr,
};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::{prove, ProvingKey, Statement};
use zkcustoms_verifier::{KeyDir, KeyId, ProofEnvelope, PublicValues, VerifyingKey};

const AUTHORITY: &str = "DE-GZD";
const OFFICE: &str = "DE-HAMBURG-HAFEN";
const UCR: &str = "26DE-HAM-000042";
/// The consignment each proof of the fixture is filed under.
const UCRS: [&str; 3] = [UCR, "26DE-HAM-000044", "26DE-HAM-000045"];
const TRADER: &str = "DE123456789012345";
/// Block timestamps: a fixed day in the past, one second apart.
const T0: u64 = 1_764_000_000_000;

/// Dev keys for aeo-status, the genesis of [`Ledger::new`] (fixed keys) and a few proofs of the
/// example certificate, made once.
struct Fixture {
    _dir: tempfile::TempDir,
    keydir: PathBuf,
    vk_id: KeyId,
    vk: VerifyingKey,
    genesis: Genesis,
    /// Proof `i` is filed under `UCRS[i]` (its scope is this ledger's for it: distinct nullifiers).
    proofs: Vec<ProofEnvelope>,
    /// A proof with the same scope and nullifier as `proofs[0]`, for another day (another claim).
    same_nullifier: ProofEnvelope,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(dir.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap();
        let kd = KeyDir::open(dir.path()).unwrap();
        let pk = ProvingKey::load(&kd, CircuitId::AeoStatusV1).unwrap();
        let vk_id = kd.manifest().keys[0].vk_id;
        let genesis = make_genesis("zkcustoms-audit-test", &fixed_keys(), vk_id);
        let (public, private) = example_aeo_status();
        let proof_of = |public: zkcustoms_circuits::aeo_status::AeoStatusPublic| {
            let s = Statement::AeoStatus {
                public,
                private: private.clone(),
            };
            prove(&pk, &s, &mut OsRng).unwrap()
        };
        let proofs: Vec<ProofEnvelope> = (0..3)
            .map(|i| {
                let mut p = public.clone();
                p.scope = ledger_scope(&genesis.chain_id, &Ucr::parse(UCRS[i]).unwrap());
                p.nullifier =
                    zkcustoms_circuits::aeo_status::nullifier(&private.holder_secret, &p.scope);
                proof_of(p)
            })
            .collect();
        let mut other_day = match &proofs[0].public {
            PublicValues::AeoStatus(p) => p.clone(),
            _ => unreachable!("aeo-status"),
        };
        other_day.as_of = Day::parse("2026-11-26").unwrap();
        let same_nullifier = proof_of(other_day);
        Fixture {
            keydir: dir.path().to_owned(),
            vk_id,
            vk: kd.verifying_key(CircuitId::AeoStatusV1).unwrap(),
            genesis,
            proofs,
            same_nullifier,
            _dir: dir,
        }
    })
}

/// The parties' keys: validator, authority, office.
struct Keys {
    validator: PrivateKey,
    authority: PrivateKey,
    office: PrivateKey,
}

/// Keys from fixed seeds: the same genesis every time.
fn fixed_keys() -> Keys {
    let key = zkcustoms_ledger_core::testing::fixed_key;
    Keys {
        validator: key(1),
        authority: key(2),
        office: key(3),
    }
}

fn make_genesis(name: &str, keys: &Keys, vk_id: KeyId) -> Genesis {
    single_validator_genesis(
        name,
        ("validator-0", &keys.validator),
        &[(AUTHORITY, &keys.authority)],
        &[(OFFICE, &keys.office)],
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
    )
}

fn chain_id() -> Hash {
    fixture().genesis.chain_id
}

/// A ledger built offline: a genesis with one validator, its store, and the parties' keys. The
/// trader's registration is put first in the first block appended.
struct Ledger {
    genesis: Genesis,
    validator: PrivateKey,
    authority: PrivateKey,
    office: PrivateKey,
    store: Option<Store>,
    dir: tempfile::TempDir,
}

impl Ledger {
    /// The ledger of the fixture's genesis (its proofs are for it).
    fn new() -> Self {
        Self::with(fixture().genesis.clone(), fixed_keys())
    }

    /// Another ledger: fresh keys, another chain.
    fn other() -> Self {
        let keys = Keys {
            validator: crypto::generate(),
            authority: crypto::generate(),
            office: crypto::generate(),
        };
        let genesis = make_genesis("zkcustoms-audit-other", &keys, fixture().vk_id);
        Self::with(genesis, keys)
    }

    fn with(genesis: Genesis, keys: Keys) -> Self {
        let f = fixture();
        let Keys {
            validator,
            authority,
            office,
        } = keys;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ledger")).unwrap();
        store.bind_chain(&genesis.chain_id).unwrap();
        // The node stores the pinned keys at first start; so does this ledger.
        let mut b = Batch::new();
        b.put::<VerifyingKeys>(
            &f.vk_id.0,
            &(
                CircuitId::AeoStatusV1,
                VerifyingKey::canonical_bytes(f.vk.arkworks()),
            ),
        );
        store.write(b, true).unwrap();
        Self {
            genesis,
            validator,
            authority,
            office,
            store: Some(store),
            dir,
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("the store is open")
    }

    fn next_timestamp(&self) -> u64 {
        T0 + 1000 * self.store().tip().unwrap().map_or(0, |(h, _)| h)
    }

    /// The trader's registration first when the ledger is empty.
    fn with_registration(&self, mut txs: Vec<Transaction>) -> Vec<Transaction> {
        if self.store().tip().unwrap().map_or(0, |(h, _)| h) == 0 {
            let trader = Trader::new(TRADER);
            txs.insert(
                0,
                trader.registration(&self.genesis.chain_id, OFFICE, &self.office),
            );
        }
        txs
    }

    /// A certified block on the tip (no rule checked).
    fn append(&self, txs: Vec<Transaction>) -> Block {
        let txs = self.with_registration(txs);
        append_block(
            self.store(),
            &self.genesis,
            std::slice::from_ref(&self.validator),
            self.next_timestamp(),
            txs,
        )
        .unwrap()
    }

    /// A block on the tip that names the next block as the one whose certificate finalizes it.
    fn append_uncertified(&self, txs: Vec<Transaction>) -> Block {
        let txs = self.with_registration(txs);
        let (height, parent) = self.store().tip().unwrap().unwrap();
        let proposer = crypto::public_bytes(&crypto::public_of(&self.validator));
        let block = Block::new(height + 1, parent, self.next_timestamp(), proposer, txs);
        self.store()
            .write(
                block_batch(self.store(), &block, Finality::Descendant(height + 2)).unwrap(),
                false,
            )
            .unwrap();
        block
    }

    fn root(&self, sequence: u64) -> Transaction {
        Transaction::PublishRoot(PublishRoot::sign(
            &self.genesis.chain_id,
            &self.authority,
            AUTHORITY,
            example_registry().root,
            sequence,
        ))
    }

    fn mark(&self, ucr: &str) -> Transaction {
        Transaction::MarkExamination(MarkExamination::sign(
            &self.genesis.chain_id,
            &self.office,
            Ucr::parse(ucr).unwrap(),
            OFFICE,
        ))
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    /// Closes the store and audits the data directory read-only, with the keys it stores.
    fn audit(&mut self) -> Report {
        self.store = None;
        let source = StoreSource::open(self.dir.path()).unwrap();
        let keys = source.verifying_keys(&self.genesis).unwrap();
        audit::run(&self.genesis, &source, &keys, |_| {}).unwrap()
    }
}

/// Proof `i` of the fixture, filed under its consignment by the trader.
fn proof_tx(i: usize) -> Transaction {
    proof_under(UCRS[i], &fixture().proofs[i])
}

fn proof_under(ucr: &str, envelope: &ProofEnvelope) -> Transaction {
    Trader::new(TRADER).proof(&chain_id(), ucr, envelope.clone())
}

fn anchor(ucr: &str, version: u32) -> Transaction {
    let digest = sha256(format!("{ucr}/{version}").as_bytes());
    let reference = format!("vault://{ucr}/{version}");
    Trader::new(TRADER).anchor(&chain_id(), ucr, "invoice", digest, &reference, version)
}

/// The story every clean ledger here tells: a root, documents, three proofs, an examination;
/// block 4 is finalized by block 5's certificate.
fn story(l: &Ledger) -> Vec<Block> {
    vec![
        l.append(vec![l.root(1)]),
        l.append(vec![anchor(UCR, 1), proof_tx(0)]),
        l.append(vec![proof_tx(1), l.mark(UCR)]),
        l.append_uncertified(vec![proof_tx(2)]),
        l.append(vec![anchor("26DE-HAM-000043", 1)]),
    ]
}

#[test]
fn a_clean_ledger_passes_every_check() {
    let mut l = Ledger::new();
    let blocks = story(&l);
    let mut seen = Vec::new();
    let report = {
        l.store = None;
        let source = StoreSource::open(l.dir.path()).unwrap();
        let keys = source.verifying_keys(&l.genesis).unwrap();
        audit::run(&l.genesis, &source, &keys, |p| seen.push(p.height)).unwrap()
    };
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(report.first_failure, None);
    assert_eq!(report.failure_count, 0);
    assert_eq!(
        (report.height, report.blocks, report.transactions),
        (5, 5, 8)
    );
    assert_eq!(report.tip, hex::encode(blocks[4].hash()));
    assert_eq!((report.proofs_checked, report.proofs_valid), (3, 3));
    // Four blocks have their own certificate; block 4 is finalized by block 5's.
    assert_eq!(report.certificates_verified, 4);
    assert_eq!(report.transactions_by_kind["submit_proof"], 3);
    assert_eq!(report.transactions_by_kind["mark_examination"], 1);
    assert_eq!(seen.last(), Some(&5), "progress reaches the tip");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["format"], "zkcustoms-audit/v1");
    assert!(json["first_failure"].is_null());

    // The same with keys from a key directory, and the database directory given directly.
    let source = StoreSource::open(&l.db()).unwrap();
    let keys = audit::keys_from_dir(&fixture().keydir, &l.genesis).unwrap();
    assert!(audit::run(&l.genesis, &source, &keys, |_| {}).unwrap().ok);

    // The log as JSON lines: every transaction, in ledger order.
    let mut out = Vec::new();
    assert_eq!(audit::export_log(&source, &mut out).unwrap(), 8);
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0]["transaction"]["type"], "register_trader");
    assert_eq!(lines[3]["height"], 2);
    assert_eq!(lines[3]["index"], 1);
    assert_eq!(lines[3]["transaction"]["type"], "submit_proof");
    assert_eq!(lines[3]["hash"], hex::encode(blocks[1].txs[1].hash()));
    assert_eq!(lines[3]["block"], hex::encode(blocks[1].hash()));
}

/// The state a node enforces and serves must be the blocks' state: a consignment's owner
/// rebound, an examination lifted or an index entry added behind the blocks' back is found, in
/// its column family, though every block still holds.
#[test]
fn derived_state_that_is_not_the_blocks_is_located() {
    let ucr = || Ucr::parse(UCR).unwrap();
    type Edit = fn(&mut Batch, Ucr);
    let cases: [(&str, Edit); 3] = [
        ("owners", |b, ucr| {
            let owner = zkcustoms_ledger_types::tx::Eori::parse("NL000111222").unwrap();
            let location = zkcustoms_ledger_core::store::TxLocation {
                height: 2,
                index: 0,
            };
            b.put::<zkcustoms_ledger_core::store::Owners>(
                &ucr,
                &zkcustoms_ledger_core::store::OwnerEntry { owner, location },
            );
        }),
        ("examinations", |b, ucr| {
            b.delete::<zkcustoms_ledger_core::store::Examinations>(&ucr);
        }),
        ("transactions", |b, _| {
            let nowhere = zkcustoms_ledger_core::store::TxLocation {
                height: 1,
                index: 0,
            };
            b.put::<zkcustoms_ledger_core::store::Transactions>(&[7; 32], &nowhere);
        }),
    ];
    for (cf, edit) in cases {
        let mut l = Ledger::new();
        story(&l);
        let mut b = Batch::new();
        edit(&mut b, ucr());
        l.store().write(b, true).unwrap();
        let report = l.audit();
        assert!(!report.ok, "{cf}");
        assert_eq!(report.failure_count, 1, "{cf}: {:?}", report.failures);
        let f = report.first_failure.unwrap();
        assert_eq!((f.height, f.check), (5, Check::Index), "{cf}");
        assert!(
            f.message.contains(&format!("the {cf} column family")),
            "{}",
            f.message
        );
    }
}

/// A store whose recorded tip is far above the blocks it holds is read only until a long run
/// of missing blocks says so, and however many failures there are, a bounded number is kept.
#[test]
fn a_tip_far_above_the_blocks_is_not_read_to_the_end() {
    use zkcustoms_ledger_core::store::{Meta, META_TIP};
    let mut l = Ledger::new();
    story(&l);
    let mut b = Batch::new();
    b.put::<Meta>(&META_TIP, &Store::tip_value(1 << 40, &[7; 32]));
    l.store().write(b, true).unwrap();
    let report = l.audit();
    assert!(!report.ok);
    let first = report.first_failure.clone().unwrap();
    assert_eq!((first.height, first.check), (6, Check::MissingBlock));
    // Each missing block read is counted (blocks 6 to 1,365, in windows growing to 1,024
    // blocks), then one failure says the rest is not read.
    assert_eq!(report.failure_count, 16 + 64 + 256 + 1024 + 1);
    assert_eq!(report.failures.len(), audit::MAX_LISTED_FAILURES);
}

/// A node's stated tip bounds the audit's walk: one that states a tip far above its chain and
/// serves made-up blocks (each naming a block beyond the tip as its finality) is refused after
/// reading the tip block alone, and so is a tip block whose certificate is not the genesis
/// validators', or that is not the stated hash.
#[test]
fn a_node_stating_an_uncertified_tip_is_not_read() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use zkcustoms_audit::{Fetched, RawBlock, Source};
    use zkcustoms_ledger_core::store::TxLocation;
    use zkcustoms_ledger_types::block::BlockHeader;

    struct Lying {
        chain: Hash,
        tip: u64,
        finality: Finality,
        reads: AtomicU64,
    }
    impl Lying {
        fn header(&self, height: u64) -> BlockHeader {
            BlockHeader {
                height,
                parent: [1; 32],
                timestamp_ms: height,
                tx_root: sha256(b""),
                tx_count: 0,
                proposer: [2; 32],
            }
        }
    }
    impl Source for Lying {
        fn describe(&self) -> String {
            "a lying node".into()
        }
        fn chain_id(&self) -> Result<Hash, audit::AuditError> {
            Ok(self.chain)
        }
        fn tip(&self) -> Result<(u64, Hash), audit::AuditError> {
            Ok((self.tip, self.header(self.tip).hash()))
        }
        fn block(&self, height: u64) -> Result<Fetched, audit::AuditError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            Ok(Fetched::Block(RawBlock {
                header: self.header(height),
                txs: Vec::new(),
                finality: self.finality.clone(),
            }))
        }
        fn tx_location(&self, _: &Hash) -> Result<Option<Option<TxLocation>>, audit::AuditError> {
            Ok(None)
        }
        fn frozen(&self) -> bool {
            false
        }
    }
    let l = Ledger::new();
    let keys = audit::keys_from_dir(&fixture().keydir, &l.genesis).unwrap();
    let tip = 1_000_000;
    let forged = certify(&l.genesis, std::slice::from_ref(&l.validator), 9, &[3; 32]).unwrap();
    for (finality, why) in [
        (Finality::Descendant(tip + 1), "no certificate of its own"),
        (
            Finality::Certificate {
                view: 9,
                certificate: forged,
            },
            "certificate does not verify",
        ),
    ] {
        let source = Lying {
            chain: l.genesis.chain_id,
            tip,
            finality,
            reads: AtomicU64::new(0),
        };
        match audit::run(&l.genesis, &source, &keys, |_| {}) {
            Err(audit::AuditError::Source(e)) => assert!(e.contains(why), "{e}"),
            other => panic!("a lying node's tip: {other:?}"),
        }
        assert_eq!(
            source.reads.load(Ordering::Relaxed),
            1,
            "the tip block only"
        );
    }
}

#[test]
fn an_empty_block_that_finalizes_its_parent_passes() {
    // A leader extends an unfinalized parent with an empty block when no transaction waits.
    let mut l = Ledger::new();
    l.append(vec![l.root(1)]);
    l.append_uncertified(vec![anchor(UCR, 1)]);
    l.append(vec![]);
    let report = l.audit();
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(
        (report.height, report.blocks, report.transactions),
        (3, 3, 3)
    );
}

/// A certified block dated an hour ahead of the auditor's clock passes: its time was judged by
/// the validators that voted for it, and an audit's verdict does not depend on when, or on whose
/// machine, it runs.
#[test]
fn an_audit_does_not_judge_block_times_by_the_auditor_s_clock() {
    let mut l = Ledger::new();
    l.append(vec![l.root(1)]);
    let ahead = zkcustoms_ledger_core::chain::now_ms() + 3_600_000;
    append_block(
        l.store(),
        &l.genesis,
        std::slice::from_ref(&l.validator),
        ahead,
        l.with_registration(vec![anchor(UCR, 1)]),
    )
    .unwrap();
    let report = l.audit();
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!((report.height, report.transactions), (2, 3));
}

#[test]
fn the_audit_refuses_another_chain_and_missing_keys() {
    let mut l = Ledger::new();
    story(&l);
    l.store = None;
    let other = Ledger::other();
    let source = StoreSource::open(l.dir.path()).unwrap();
    let keys = source.verifying_keys(&l.genesis).unwrap();
    let err = audit::run(&other.genesis, &source, &keys, |_| {}).unwrap_err();
    assert!(matches!(err, audit::AuditError::WrongChain(_)), "{err}");
    let err = audit::run(&l.genesis, &source, &Default::default(), |_| {}).unwrap_err();
    assert!(matches!(err, audit::AuditError::Keys(_)), "{err}");
    let missing = l.dir.path().join("nothing-here");
    assert!(StoreSource::open(&missing).is_err());
    let garbage = tempfile::tempdir().unwrap();
    std::fs::write(garbage.path().join("CURRENT"), b"not a database").unwrap();
    assert!(StoreSource::open(garbage.path()).is_err());
}

/// Audits a ledger built by `build` and asserts its first failure.
fn assert_first_failure(
    name: &str,
    build: impl FnOnce(&Ledger),
    height: u64,
    index: Option<u32>,
    check: Check,
    code: Option<&str>,
) -> Report {
    let mut l = Ledger::new();
    build(&l);
    let report = l.audit();
    assert!(!report.ok, "{name}: the audit passed");
    let first = report.first_failure.clone().unwrap();
    assert_eq!(
        (
            first.height,
            first.index,
            first.check,
            first.code.as_deref()
        ),
        (height, index, check, code),
        "{name}: {first}"
    );
    if index.is_some() {
        assert!(first.tx_hash.is_some(), "{name}: the transaction is named");
    }
    assert!(report.failure_count >= 1);
    assert_eq!(report.failures[0], first);
    report
}

#[test]
fn rule_breaking_blocks_certified_by_a_validator_are_located() {
    let f = fixture();
    assert_first_failure(
        "root signed by another key",
        |l| {
            l.append(vec![Transaction::PublishRoot(PublishRoot::sign(
                &l.genesis.chain_id,
                &l.office,
                AUTHORITY,
                example_registry().root,
                1,
            ))]);
        },
        1,
        Some(1),
        Check::Rule,
        Some("bad-signature"),
    );
    assert_first_failure(
        "examination signed by another key",
        |l| {
            l.append(vec![l.root(1)]);
            l.append(vec![
                anchor(UCR, 1),
                Transaction::MarkExamination(MarkExamination::sign(
                    &l.genesis.chain_id,
                    &l.authority,
                    Ucr::parse(UCR).unwrap(),
                    OFFICE,
                )),
            ]);
        },
        2,
        Some(1),
        Check::Rule,
        Some("bad-signature"),
    );
    assert_first_failure(
        "proof against a root never published",
        |l| {
            l.append(vec![anchor(UCR, 1)]);
            l.append(vec![proof_tx(0)]);
        },
        2,
        Some(0),
        Check::Rule,
        Some("unknown-root"),
    );
    assert_first_failure(
        "a nullifier used twice in its scope",
        |l| {
            l.append(vec![l.root(1)]);
            l.append(vec![proof_tx(0)]);
            l.append(vec![anchor(UCR, 1), proof_under(UCR, &f.same_nullifier)]);
        },
        3,
        Some(1),
        Check::Rule,
        Some("nullifier-used"),
    );
    assert_first_failure(
        "a re-randomised copy of an accepted proof",
        |l| {
            let mut copy = f.proofs[1].clone();
            copy.proof =
                Groth16::<Bls12_381>::rerandomize_proof(f.vk.arkworks(), &copy.proof, &mut OsRng);
            l.append(vec![l.root(1), proof_tx(1)]);
            l.append(vec![proof_under(UCRS[1], &copy)]);
        },
        2,
        Some(0),
        Check::Rule,
        Some("duplicate-proof"),
    );
    assert_first_failure(
        "a proof whose public values were changed",
        |l| {
            let mut forged = f.proofs[2].clone();
            if let PublicValues::AeoStatus(p) = &mut forged.public {
                p.nullifier += zkcustoms_circuits::Fr::from(1u64);
            }
            l.append(vec![l.root(1)]);
            l.append(vec![anchor(UCR, 1), proof_tx(0)]);
            l.append(vec![anchor(UCR, 2), proof_under(UCRS[2], &forged)]);
        },
        3,
        Some(1),
        Check::Proof,
        Some("invalid-proof"),
    );
    assert_first_failure(
        "an amendment after the examination began",
        |l| {
            l.append(vec![anchor(UCR, 1), l.mark(UCR)]);
            l.append(vec![anchor(UCR, 2)]);
        },
        2,
        Some(0),
        Check::Rule,
        Some("under-examination"),
    );
    assert_first_failure(
        "a root published out of sequence",
        |l| {
            l.append(vec![l.root(2)]);
        },
        1,
        Some(1),
        Check::Rule,
        Some("bad-sequence"),
    );
    // A hostile store holds the last sequence there is, and another root after it: the replay
    // reports both refused and goes on (no overflow computing the next sequence).
    let report = assert_first_failure(
        "a root at the last sequence there is, then another",
        |l| {
            l.append(vec![l.root(u64::MAX)]);
            l.append(vec![l.root(u64::MAX - 1)]);
        },
        1,
        Some(1),
        Check::Rule,
        Some("bad-sequence"),
    );
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.height == 2 && f.code.as_deref() == Some("bad-sequence")),
        "{:?}",
        report.failures
    );
    assert_first_failure(
        "a block timestamped before its parent",
        |l| {
            l.append(vec![l.root(1)]);
            let validators = std::slice::from_ref(&l.validator);
            append_block(
                l.store(),
                &l.genesis,
                validators,
                T0 - 1,
                vec![anchor(UCR, 1)],
            )
            .unwrap();
        },
        2,
        None,
        Check::BlockRules,
        None,
    );
    assert_first_failure(
        "a block finalized by a descendant that has no certificate",
        |l| {
            l.append(vec![l.root(1)]);
            l.append_uncertified(vec![anchor(UCR, 1)]);
        },
        2,
        None,
        Check::Certificate,
        None,
    );
    assert_first_failure(
        "a certificate of a validator not in genesis",
        |l| {
            let stranger = Ledger::other();
            append_block(
                l.store(),
                &l.genesis,
                std::slice::from_ref(&l.validator),
                T0,
                vec![l.root(1)],
            )
            .unwrap();
            let (height, parent) = l.store().tip().unwrap().unwrap();
            let block = Block::new(
                height + 1,
                parent,
                T0 + 1000,
                crypto::public_bytes(&crypto::public_of(&l.validator)),
                vec![anchor(UCR, 1)],
            );
            let certificate = certify(
                &stranger.genesis,
                std::slice::from_ref(&stranger.validator),
                2,
                &block.hash(),
            )
            .unwrap();
            l.store()
                .write(
                    block_batch(
                        l.store(),
                        &block,
                        Finality::Certificate {
                            view: 2,
                            certificate,
                        },
                    )
                    .unwrap(),
                    false,
                )
                .unwrap();
        },
        2,
        None,
        Check::Certificate,
        None,
    );
}

fn inclusion_of(l: &Ledger, tx: &Transaction) -> InclusionProof {
    inclusion::build(l.store(), &l.genesis.chain_id, &tx.hash())
        .unwrap()
        .expect("the transaction is included")
}

fn refused_check(r: Result<inclusion::Included, InclusionError>) -> &'static str {
    match r {
        Err(InclusionError::Refused { check, .. }) => check,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn inclusion_proofs_verify_offline_and_refuse_tampering() {
    let l = Ledger::new();
    let blocks = story(&l);
    let keys = audit::keys_from_dir(&fixture().keydir, &l.genesis).unwrap();
    // Every transaction of every block, including block 4 (finalized by block 5's certificate).
    for b in &blocks {
        for (i, tx) in b.txs.iter().enumerate() {
            let p = inclusion_of(&l, tx);
            let text = serde_json::to_string(&p).unwrap();
            let back = inclusion::parse(&text).unwrap();
            let ok = inclusion::verify(&back, &l.genesis, Some(&keys)).unwrap();
            assert_eq!((ok.height, ok.index), (b.header.height, i as u32));
            assert_eq!(ok.block_hash, b.hash());
            assert_eq!(ok.transaction, *tx);
        }
    }
    let proof_tx = &blocks[2].txs[0];
    let good = inclusion_of(&l, proof_tx);
    assert!(good.descendants.is_empty());
    let late = inclusion_of(&l, &blocks[3].txs[0]);
    assert_eq!(late.descendants.len(), 1);
    assert_eq!(late.certificate.height, 5);
    assert!(inclusion::verify(&late, &l.genesis, None).is_ok());

    let flip = |s: &str| {
        let mut b = hex::decode(s).unwrap();
        let n = b.len() / 2;
        b[n] ^= 1;
        hex::encode(b)
    };
    let mut p = good.clone();
    p.path[0] = flip(&p.path[0]);
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "path"
    );
    let mut p = good.clone();
    p.path.pop();
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "path"
    );
    let mut p = good.clone();
    p.index = 1;
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "path"
    );
    let mut p = good.clone();
    p.header.tx_root = flip(&p.header.tx_root);
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "path"
    );
    let mut p = good.clone();
    p.header.timestamp_ms += 1;
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "certificate"
    );
    let mut p = good.clone();
    p.certificate.certificate = flip(&p.certificate.certificate);
    assert!(inclusion::verify(&p, &l.genesis, None).is_err());
    // Another block's certificate.
    let mut p = good.clone();
    p.certificate = inclusion_of(&l, &blocks[1].txs[0]).certificate;
    p.certificate.height = good.certificate.height;
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "certificate"
    );
    let mut p = late.clone();
    p.descendants[0].timestamp_ms += 1;
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "certificate"
    );
    let mut p = late.clone();
    p.descendants[0].parent = flip(&p.descendants[0].parent);
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "header-chain"
    );
    // A block said to be at the last height there is, with a descendant: refused, not an
    // arithmetic overflow.
    let mut p = late.clone();
    (p.header.height, p.height) = (u64::MAX, u64::MAX);
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "header-chain"
    );
    // Another transaction in place of the included one.
    let mut p = good.clone();
    p.transaction = blocks[2].txs[1].to_json();
    assert_eq!(
        refused_check(inclusion::verify(&p, &l.genesis, None)),
        "transaction"
    );
    // Another genesis (same file, other validators): another chain.
    let other = Ledger::other();
    assert_eq!(
        refused_check(inclusion::verify(&good, &other.genesis, None)),
        "chain-id"
    );
    let mut p = good.clone();
    p.chain_id = hex::encode(other.genesis.chain_id);
    assert_eq!(
        refused_check(inclusion::verify(&p, &other.genesis, None)),
        "certificate"
    );
    // Malformed input is told apart from a refusal.
    for text in ["", "{}", "[1]", "{\"format\": 3}"] {
        assert!(matches!(
            inclusion::parse(text),
            Err(InclusionError::Malformed(_))
        ));
    }
    let mut v = serde_json::to_value(&good).unwrap();
    v["extra"] = serde_json::Value::from(1);
    assert!(inclusion::parse(&v.to_string()).is_err());
    let mut p = good.clone();
    p.path[0] = "zz".into();
    assert!(matches!(
        inclusion::verify(&p, &l.genesis, None),
        Err(InclusionError::Malformed(_))
    ));
    let mut p = good.clone();
    p.transaction = serde_json::json!({"type": "mint"});
    assert!(matches!(
        inclusion::verify(&p, &l.genesis, None),
        Err(InclusionError::Malformed(_))
    ));
    assert!(
        inclusion::build(l.store(), &l.genesis.chain_id, &sha256(b"unknown"))
            .unwrap()
            .is_none()
    );
}

/// A node's ledger core (no consensus): submissions go through the rules, blocks are proposed and
/// finalized with real certificates of the genesis validator.
fn node(l: &Ledger, db: &Path) -> Arc<Chain> {
    let store = Store::open(db).unwrap();
    Arc::new(
        Chain::open(
            l.genesis.clone(),
            store,
            Some(&fixture().keydir),
            crypto::public_bytes(&crypto::public_of(&l.validator)),
            MempoolLimits::default(),
        )
        .unwrap(),
    )
}

fn seal(chain: &Chain, l: &Ledger) -> Block {
    let (height, parent) = chain.tip();
    let block = chain.propose(parent).unwrap().expect("something to seal");
    let view = height + 1;
    let certificate = certify(
        &l.genesis,
        std::slice::from_ref(&l.validator),
        view,
        &block.hash(),
    )
    .unwrap();
    chain.finalize(block.hash(), view, certificate).unwrap();
    block
}

#[test]
fn the_api_serves_inclusion_proofs_and_the_audit_reads_a_node() {
    let f = fixture();
    let l = Ledger::new();
    let db = tempfile::tempdir().unwrap();
    let chain = node(&l, db.path());
    let registration = Trader::new(TRADER).registration(&l.genesis.chain_id, OFFICE, &l.office);
    for tx in [registration, l.root(1), anchor(UCR, 1)] {
        chain.submit(tx).unwrap();
    }
    seal(&chain, &l);
    let proof = proof_tx(0);
    chain.submit(proof.clone()).unwrap();
    seal(&chain, &l);
    let router = testing::router(chain.clone(), None, 64 * 1024);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let get = |uri: String, role: Role| {
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", token(role)))
            .body(Body::empty())
            .unwrap();
        rt.block_on(async {
            let resp = router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        })
    };
    let uri = format!("/v1/transactions/{}/inclusion", hex::encode(proof.hash()));
    let (status, body) = get(uri.clone(), Role::Auditor);
    assert_eq!(status, StatusCode::OK, "{body}");
    let p = inclusion::parse(&body.to_string()).unwrap();
    let ok = inclusion::verify(&p, &l.genesis, None).unwrap();
    assert_eq!((ok.height, ok.index), (2, 0));
    let (status, body) = get(uri, Role::Trader);
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong-role"))
    );
    let unknown = format!("/v1/transactions/{}/inclusion", "ab".repeat(32));
    let (status, body) = get(unknown, Role::Customs);
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-included"))
    );
    let (status, _) = get("/v1/transactions/zz/inclusion".into(), Role::Auditor);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, doc) = get("/openapi.json".into(), Role::Auditor);
    assert!(doc["paths"]["/v1/transactions/{hash}/inclusion"]["get"].is_object());

    // The audit through the API, over a real socket.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, router).await.unwrap();
    });
    let keys = audit::keys_from_dir(&f.keydir, &l.genesis).unwrap();
    let source = NodeSource::new(&url, &token(Role::Auditor));
    let report = audit::run(&l.genesis, &source, &keys, |_| {}).unwrap();
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(
        (report.blocks, report.transactions, report.proofs_checked),
        (2, 4, 1)
    );
    assert!(
        !report.checks.contains(&"index"),
        "a node has no index to check"
    );
    // A token without the right role, and a node that is not there, stop the audit.
    let source = NodeSource::new(&url, &token(Role::Trader));
    assert!(matches!(
        audit::run(&l.genesis, &source, &keys, |_| {}),
        Err(audit::AuditError::Source(_))
    ));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let source = NodeSource::new(&dead, &token(Role::Auditor));
    assert!(matches!(
        audit::run(&l.genesis, &source, &keys, |_| {}),
        Err(audit::AuditError::Source(_))
    ));
}

/// Signatures are verified in batches after the block's other rules: a transaction whose
/// signature fails is still reported at its signature only, as the ledger's rules refuse it
/// there before any other rule, and the good transactions of the same batch are not named.
#[test]
fn a_bad_signature_is_the_only_refusal_of_its_transaction() {
    let mut l = Ledger::new();
    l.append(vec![
        l.root(1),
        // Signed with the office's key, and out of sequence (3 after 1).
        Transaction::PublishRoot(PublishRoot::sign(
            &l.genesis.chain_id,
            &l.office,
            AUTHORITY,
            example_registry().root,
            3,
        )),
        anchor(UCR, 1),
    ]);
    let report = l.audit();
    assert_eq!(report.failure_count, 1, "{:?}", report.failures);
    let f = &report.failures[0];
    assert_eq!(
        (f.height, f.index, f.check, f.code.as_deref()),
        (1, Some(2), Check::Rule, Some("bad-signature")),
        "{f}"
    );
}
