//! A cluster of four validators in one process, on Commonware's deterministic runtime and
//! simulated network: each validator is the real one (`consensus::start_validator`: Simplex,
//! block and transaction relays, catch-up) over its own RocksDB database.
//!
//! Scenarios: all online; one offline, then back; a partition, then healing; a crash and a
//! restart from RocksDB; a Byzantine proposer forging blocks (an invalid proof, a reused
//! nullifier); an equivocating validator; a peer lying to a validator that catches up; a peer
//! sending a malformed block and invalid relayed transactions (blocked) beside honest validators
//! that disagree on a transaction for a while (not blocked); a peer asking for blocks over and
//! over (sent no more than its serving budget, not blocked); and the same seed giving the same
//! execution.

use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::mocks::{equivocator, relay::Relay};
use commonware_consensus::types::Epoch;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::{Sha256, Signer as _};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{deterministic, Clock, Handle, Quota, Runner as _, Spawner, Supervisor};
use commonware_utils::{ordered::Set, NZUsize, TryCollect};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, UNIX_EPOCH};
use zkcustoms_circuits::aeo_status::nullifier;
use zkcustoms_circuits::registry::example_registry;
use zkcustoms_circuits::CircuitId;
use zkcustoms_ledger_core::chain::{Chain, HeldBlock, MempoolLimits, MAX_PROPOSAL_AGE_MS};
use zkcustoms_ledger_core::finality::{consensus_namespace, verify_finalization};
use zkcustoms_ledger_core::store::{
    Batch, Finality, PendingBlocks, RawStoredBlock, Store, StoredBlock, Transactions,
};
use zkcustoms_ledger_core::testing::certify;
use zkcustoms_ledger_core::testing::parties::Trader;
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::genesis::{
    Genesis, GenesisFile, Params, PinnedKey, SignerEntry, ValidatorEntry, GENESIS_FORMAT,
};
use zkcustoms_ledger_types::tx::{ledger_scope, Eori, Hash, PublishRoot, Transaction, Ucr};
use zkcustoms_node::consensus::{
    channel, runtime_clock, start_validator, BlockBuilder, Channels, Scheme, ServingLimits,
    ValidatorConfig, MAX_MESSAGE,
};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_statement;
use zkcustoms_prover::{prove, ProvingKey, Statement};
use zkcustoms_verifier::{KeyDir, KeyId, ProofEnvelope};

const N: usize = 4;
const AUTHORITY: &str = "DE-GZD";
const OFFICE: &str = "DE-HAMBURG-HAFEN";
const TRADER: &str = "DE123456789012345";
/// Proofs made for the tests (each for its own consignment, so distinct scopes and nullifiers).
const PROOFS: usize = 16;
const QUOTA: Quota = Quota::per_second(NonZeroU32::MAX);

/// Dev keys for `aeo-status/v1`, the genesis, and proofs of the example certificate (proof `i`
/// for consignment [`ucr`]`(i)` on this ledger), made once per binary with a seeded RNG (the same
/// bytes every run).
struct Fixture {
    _dir: tempfile::TempDir,
    keydir: PathBuf,
    genesis: Genesis,
    proofs: Vec<ProofEnvelope>,
}

/// The consignment of proof `i`.
fn ucr(i: usize) -> String {
    format!("6DE123456789012345-2026-{i:05}")
}

fn trader() -> Trader {
    Trader::new(TRADER)
}

/// The trader's registration by the office.
fn registration(genesis: &Genesis) -> Transaction {
    trader().registration(&genesis.chain_id, OFFICE, &office_key())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(dir.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap();
        let kd = KeyDir::open(dir.path()).unwrap();
        let pk = ProvingKey::load(&kd, CircuitId::AeoStatusV1).unwrap();
        let genesis = make_genesis(kd.manifest().keys[0].vk_id);
        let Statement::AeoStatus { public, private } =
            example_statement(CircuitId::AeoStatusV1).unwrap()
        else {
            unreachable!("aeo-status example")
        };
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let proofs: Vec<ProofEnvelope> = (0..PROOFS)
            .map(|i| {
                let mut public = public.clone();
                public.scope = ledger_scope(&genesis.chain_id, &Ucr::parse(&ucr(i)).unwrap());
                public.nullifier = nullifier(&private.holder_secret, &public.scope);
                let s = Statement::AeoStatus {
                    public,
                    private: private.clone(),
                };
                prove(&pk, &s, &mut rng).unwrap()
            })
            .collect();
        Fixture {
            keydir: dir.path().to_owned(),
            genesis,
            proofs,
            _dir: dir,
        }
    })
}

fn validator_key(i: usize) -> PrivateKey {
    PrivateKey::from_seed(i as u64 + 1)
}

fn authority_key() -> PrivateKey {
    PrivateKey::from_seed(1000)
}

fn office_key() -> PrivateKey {
    PrivateKey::from_seed(2000)
}

/// The genesis of the tests.
fn genesis() -> Genesis {
    fixture().genesis.clone()
}

/// A genesis with four validators, an authority and an office, pinning `vk_id` (keys from fixed
/// seeds: the same genesis every run).
fn make_genesis(vk_id: KeyId) -> Genesis {
    let file = GenesisFile {
        format: GENESIS_FORMAT.into(),
        chain_name: "zkcustoms-cluster-test".into(),
        validators: (0..N)
            .map(|i| ValidatorEntry {
                name: format!("validator-{i}"),
                public_key: crypto::public_hex(&validator_key(i).public_key()),
                p2p_address: format!("127.0.0.1:{}", 19_100 + i).parse().unwrap(),
            })
            .collect(),
        authorities: vec![SignerEntry {
            id: AUTHORITY.into(),
            public_key: crypto::public_hex(&authority_key().public_key()),
            administration: None,
        }],
        customs_offices: vec![SignerEntry {
            id: OFFICE.into(),
            public_key: crypto::public_hex(&office_key().public_key()),
            administration: Some("DE".into()),
        }],
        auditors: vec![],
        verifying_keys: vec![PinnedKey {
            statement: "aeo-status/v1".into(),
            size_class: None,
            id: vk_id,
        }],
        params: Params {
            root_grace_seconds: 86_400,
            as_of_tolerance_days: None,
            max_block_txs: 512,
        },
        development: true,
    };
    Genesis::from_bytes(&serde_json::to_vec(&file).unwrap()).unwrap()
}

fn publish_root(genesis: &Genesis) -> Transaction {
    Transaction::PublishRoot(PublishRoot::sign(
        &genesis.chain_id,
        &authority_key(),
        AUTHORITY,
        example_registry().root,
        1,
    ))
}

fn proof_tx(i: usize) -> Transaction {
    trader().proof(&genesis().chain_id, &ucr(i), fixture().proofs[i].clone())
}

/// Proof `i`'s public values with proof `j`'s proof points: it does not verify.
fn invalid_proof_tx(i: usize, j: usize) -> Transaction {
    let mut env = fixture().proofs[i].clone();
    env.proof = fixture().proofs[j].proof.clone();
    trader().proof(&genesis().chain_id, &ucr(i), env)
}

/// Proof `i` with its point A at infinity: it encodes, and no node decodes it.
fn undecodable_proof_tx(i: usize) -> Transaction {
    use ark_ec::AffineRepr;
    let mut env = fixture().proofs[i].clone();
    env.proof.a = AffineRepr::zero();
    trader().proof(&genesis().chain_id, &ucr(i), env)
}

/// How a validator behaves.
#[derive(Clone)]
enum Behaviour {
    Honest,
    /// Once `armed` holds for its chain, proposes blocks of these transactions, unchecked
    /// (before, honestly); the hashes of the forged blocks are recorded.
    Forger {
        txs: Vec<Transaction>,
        armed: fn(&Chain) -> bool,
        forged: Arc<std::sync::Mutex<Vec<Hash>>>,
    },
    /// Commonware's equivocator: conflicting votes in the views it leads.
    Equivocator,
    /// Takes part in consensus honestly, but answers the catch-up requests of validator
    /// `victim` with forged blocks that link to its tip: uncertified ones, then one whose
    /// certificate is another block's (and nobody else's). Its own catch-up is off.
    SyncLiar {
        victim: usize,
    },
    /// Honest, with its catch-up cut off (its catch-up channel reaches nobody): it gets blocks
    /// only as consensus does.
    WithoutCatchUp,
    /// Builds its blocks honestly but names validator `of` as their proposer; the hashes of the
    /// blocks it proposed are recorded.
    Impostor {
        of: usize,
        proposed: Arc<std::sync::Mutex<Vec<Hash>>>,
    },
    /// Proposes honestly while its parent is recent; once the parent is older than `idle`,
    /// proposes blocks of `txs` (valid ones) dated at the parent's time, and records each
    /// block's hash with its age on this validator's clock.
    Backdater {
        idle: u64,
        txs: Vec<Transaction>,
        forged: Arc<std::sync::Mutex<Vec<(Hash, u64)>>>,
    },
}

struct Running {
    chain: Arc<Chain>,
    handle: Handle<()>,
}

struct Cluster {
    context: deterministic::Context,
    oracle: Oracle<PublicKey, deterministic::Context>,
    genesis: Genesis,
    keys: Vec<PublicKey>,
    dbs: Vec<tempfile::TempDir>,
    nodes: Vec<Option<Running>>,
    /// What each validator started from now on lets a peer ask it to send.
    serving: ServingLimits,
}

fn link() -> Link {
    Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        success_rate: 1.0,
    }
}

impl Cluster {
    async fn new(context: deterministic::Context) -> Self {
        let genesis = genesis();
        let keys: Vec<PublicKey> = (0..N).map(|i| validator_key(i).public_key()).collect();
        let (network, mut oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: MAX_MESSAGE,
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            keys.clone(),
        )
        .await;
        network.start();
        for a in &keys {
            for b in &keys {
                if a != b {
                    oracle.add_link(a.clone(), b.clone(), link()).await.unwrap();
                }
            }
        }
        let _ = &mut oracle;
        Self {
            context,
            oracle,
            genesis,
            keys,
            dbs: (0..N).map(|_| tempfile::tempdir().unwrap()).collect(),
            nodes: (0..N).map(|_| None).collect(),
            serving: ServingLimits::default(),
        }
    }

    /// Starts validator `i` on its database (creating or reopening it).
    async fn start(&mut self, i: usize, behaviour: Behaviour) {
        let control = self.oracle.control(self.keys[i].clone());
        let mut chans = Vec::new();
        for c in [
            channel::VOTES,
            channel::CERTIFICATES,
            channel::RESOLVER,
            channel::BLOCKS,
            channel::TRANSACTIONS,
            channel::SYNC,
        ] {
            chans.push(control.register(c, QUOTA).await.unwrap());
        }
        let mut chans = chans.into_iter();
        let mut next = || chans.next().unwrap();
        let mut channels = Channels {
            votes: next(),
            certificates: next(),
            resolver: next(),
            blocks: next(),
            transactions: next(),
            sync: next(),
        };
        let store = Store::open(self.dbs[i].path()).unwrap();
        let named = match &behaviour {
            Behaviour::Impostor { of, .. } => *of,
            _ => i,
        };
        let chain = Arc::new(
            Chain::open(
                self.genesis.clone(),
                store,
                Some(&fixture().keydir),
                crypto::public_bytes(&self.keys[named]),
                MempoolLimits::default(),
            )
            .unwrap()
            .with_clock(runtime_clock(self.context.child("clock"))),
        );
        // The trader's registration waits in every validator's mempool (a restarted one has it
        // finalized already), as if the office had submitted it to each: the proofs it signs are
        // admitted anywhere, and the first block carries it.
        let _ = chain.submit(registration(&self.genesis));
        let signer = validator_key(i);
        let mut cfg = ValidatorConfig::new(signer.clone(), format!("validator-{i}"));
        cfg.serving = self.serving;
        if let Behaviour::SyncLiar { victim } = behaviour {
            // The real catch-up channel goes to the liar; the validator's own catch-up gets a
            // channel nobody else uses.
            let unused = control.register(99, QUOTA).await.unwrap();
            let sync = std::mem::replace(&mut channels.sync, unused);
            let (liar_chain, victim) = (chain.clone(), self.keys[victim].clone());
            self.context
                .child("liar")
                .spawn(move |_| sync_liar(liar_chain, victim, sync));
        }
        if let Behaviour::WithoutCatchUp = behaviour {
            channels.sync = control.register(99, QUOTA).await.unwrap();
        }
        let handle = match behaviour {
            Behaviour::Honest
            | Behaviour::Forger { .. }
            | Behaviour::SyncLiar { .. }
            | Behaviour::WithoutCatchUp
            | Behaviour::Impostor { .. }
            | Behaviour::Backdater { .. } => {
                if let Behaviour::Backdater { idle, txs, forged } = &behaviour {
                    let (idle, txs, forged) = (*idle, txs.clone(), forged.clone());
                    let builder: BlockBuilder = Arc::new(move |chain: &Chain, parent: Hash| {
                        let Some(p) = chain.block_by_hash(&parent)? else {
                            return Ok(None);
                        };
                        let at = p.header.timestamp_ms;
                        let age = chain.now_ms().saturating_sub(at);
                        if age <= idle {
                            return chain.propose(parent);
                        }
                        let block = chain.forge_block_at(parent, txs.clone(), Some(at))?;
                        if let Some(b) = &block {
                            forged.lock().unwrap().push((b.hash(), age));
                        }
                        Ok(block)
                    });
                    cfg.builder = Some(builder);
                }
                if let Behaviour::Impostor { proposed, .. } = &behaviour {
                    let proposed = proposed.clone();
                    let builder: BlockBuilder = Arc::new(move |chain: &Chain, parent: Hash| {
                        let block = chain.propose(parent)?;
                        if let Some(b) = &block {
                            proposed.lock().unwrap().push(b.hash());
                        }
                        Ok(block)
                    });
                    cfg.builder = Some(builder);
                }
                if let Behaviour::Forger { txs, armed, forged } = behaviour {
                    let builder: BlockBuilder = Arc::new(move |chain: &Chain, parent: Hash| {
                        if !armed(chain) {
                            return chain.propose(parent);
                        }
                        let block = chain.forge_block(parent, txs.clone())?;
                        if let Some(b) = &block {
                            forged.lock().unwrap().push(b.hash());
                        }
                        Ok(block)
                    });
                    cfg.builder = Some(builder);
                }
                let chain = chain.clone();
                self.context
                    .child("validator")
                    .with_attribute("index", i)
                    .spawn(move |ctx| async move {
                        start_validator(ctx, chain, cfg, control, channels);
                        futures::future::pending::<()>().await;
                    })
            }
            Behaviour::Equivocator => {
                let validators: Set<PublicKey> = self.keys.iter().cloned().try_collect().unwrap();
                let scheme = Scheme::signer(
                    &consensus_namespace(&self.genesis.chain_id),
                    validators,
                    signer,
                )
                .unwrap();
                let cfg = equivocator::Config {
                    scheme,
                    elector: RoundRobin::<Sha256>::default(),
                    epoch: Epoch::zero(),
                    relay: Arc::new(Relay::new()),
                    hasher: Sha256::default(),
                };
                let engine = equivocator::Equivocator::new(self.context.child("equivocator"), cfg);
                engine.start(channels.votes, channels.certificates)
            }
        };
        self.nodes[i] = Some(Running { chain, handle });
    }

    async fn start_all(&mut self) {
        for i in 0..N {
            self.start(i, Behaviour::Honest).await;
        }
    }

    /// Kills validator `i` (every task it runs) and waits until its database is closed.
    async fn crash(&mut self, i: usize) {
        let Running { chain, handle } = self.nodes[i].take().expect("running");
        let weak: Weak<Chain> = Arc::downgrade(&chain);
        drop(chain);
        handle.abort();
        while weak.upgrade().is_some() {
            self.context.sleep(Duration::from_millis(10)).await;
        }
    }

    /// Cuts (or restores) every link between the two groups.
    async fn set_links(&mut self, a: &[usize], b: &[usize], up: bool) {
        for &x in a {
            for &y in b {
                for (s, r) in [(x, y), (y, x)] {
                    let (s, r) = (self.keys[s].clone(), self.keys[r].clone());
                    if up {
                        self.oracle.add_link(s, r, link()).await.unwrap();
                    } else {
                        self.oracle.remove_link(s, r).await.unwrap();
                    }
                }
            }
        }
    }

    fn chain(&self, i: usize) -> &Arc<Chain> {
        &self.nodes[i].as_ref().expect("running").chain
    }

    fn height(&self, i: usize) -> u64 {
        self.chain(i).tip().0
    }

    /// Submits a transaction to validator `i` (as its API would).
    fn submit(&self, i: usize, tx: &Transaction) -> Hash {
        self.chain(i).submit(tx.clone()).expect("admitted")
    }

    /// Waits (simulated time) until each validator of `by` has blocked validator `who`; at every
    /// look, nobody has blocked any validator but `who`.
    async fn wait_blocked_only(&self, by: &[usize], who: usize, within: Duration) {
        let deadline = self.context.current() + within;
        let faulty = &self.keys[who];
        loop {
            let blocked = self.oracle.blocked().await.unwrap();
            assert!(
                blocked.iter().all(|(_, b)| b == faulty),
                "an honest validator was blocked: {blocked:?}"
            );
            if by
                .iter()
                .all(|&i| blocked.contains(&(self.keys[i].clone(), faulty.clone())))
            {
                return;
            }
            assert!(
                self.context.current() < deadline,
                "validator {who} was not blocked by each of {by:?}: {blocked:?}"
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (simulated time) until every listed validator has finalized every transaction.
    async fn wait_included(&self, nodes: &[usize], txs: &[Hash], within: Duration) {
        let deadline = self.context.current() + within;
        loop {
            let done = nodes.iter().all(|&i| {
                txs.iter().all(|h| {
                    self.chain(i)
                        .store()
                        .get::<zkcustoms_ledger_core::store::Transactions>(h)
                        .unwrap()
                        .is_some()
                })
            });
            if done {
                return;
            }
            assert!(
                self.context.current() < deadline,
                "transactions not finalized in time (heights {:?})",
                nodes.iter().map(|&i| self.height(i)).collect::<Vec<_>>()
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the listed validators reach `height`.
    async fn wait_height(&self, nodes: &[usize], height: u64, within: Duration) {
        let deadline = self.context.current() + within;
        while !nodes.iter().all(|&i| self.height(i) >= height) {
            assert!(
                self.context.current() < deadline,
                "height {height} not reached in time (heights {:?})",
                nodes.iter().map(|&i| self.height(i)).collect::<Vec<_>>()
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Block hashes of validator `i`, by height.
    fn hashes(&self, i: usize) -> Vec<Hash> {
        let chain = self.chain(i);
        (1..=chain.tip().0)
            .map(|h| chain.store().block(h).unwrap().expect("block").block.hash())
            .collect()
    }

    /// Checks that the listed validators hold the same chain (up to the shortest), that every
    /// block links to its parent, and that each certificate verifies against genesis.
    fn assert_consistent(&self, nodes: &[usize]) -> Vec<Hash> {
        let chains: Vec<Vec<Hash>> = nodes.iter().map(|&i| self.hashes(i)).collect();
        let shortest = chains.iter().map(Vec::len).min().unwrap();
        for c in &chains {
            assert_eq!(c[..shortest], chains[0][..shortest], "validators disagree");
        }
        for &i in nodes {
            let chain = self.chain(i);
            let mut parent = self.genesis.chain_id;
            let mut certified_top = 0;
            for h in 1..=chain.tip().0 {
                let stored = chain.store().block(h).unwrap().unwrap();
                assert_eq!(stored.block.header.parent, parent, "link at {h}");
                parent = stored.block.hash();
                match &stored.finality {
                    Finality::Certificate { certificate, .. } => {
                        verify_finalization(&self.genesis, &parent, certificate)
                            .expect("certificate verifies");
                        certified_top = h;
                    }
                    Finality::Descendant(top) => assert!(*top > h),
                }
            }
            assert_eq!(
                certified_top,
                chain.tip().0,
                "the tip has its own certificate"
            );
        }
        chains[0][..shortest].to_vec()
    }
}

/// 2026-11-25, so blocks carry realistic timestamps.
fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(UNIX_EPOCH + Duration::from_secs(1_795_564_800))
            .with_timeout(Some(Duration::from_secs(3_600))),
    )
}

const WITHIN: Duration = Duration::from_secs(120);

/// Four validators finalize blocks of proof transactions submitted to different validators;
/// all hold the identical chain. Answers the chain and the runtime's event digest.
fn all_online(seed: u64) -> (Vec<Hash>, String) {
    runner(seed).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        cluster.start_all().await;
        let root = publish_root(&cluster.genesis);
        let mut hashes = vec![cluster.submit(0, &root)];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        for i in 0..8 {
            hashes.push(cluster.submit(i % N, &proof_tx(i)));
        }
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        let chain = cluster.assert_consistent(&[0, 1, 2, 3]);
        // Blocks come from more than one proposer.
        let proposers: std::collections::BTreeSet<[u8; 32]> = (1..=chain.len() as u64)
            .map(|h| {
                cluster
                    .chain(0)
                    .store()
                    .block(h)
                    .unwrap()
                    .unwrap()
                    .block
                    .header
                    .proposer
            })
            .collect();
        assert!(proposers.len() > 1, "one validator proposed every block");
        // Certificates are bound to this ledger: another genesis with the same validators (a
        // test network, say) does not accept them.
        let mut file = cluster.genesis.file.clone();
        file.chain_name = "another-ledger".into();
        let other = Genesis::from_bytes(&serde_json::to_vec(&file).unwrap()).unwrap();
        let tip = cluster.chain(0).tip().0;
        let stored = cluster.chain(0).store().block(tip).unwrap().unwrap();
        let Finality::Certificate { certificate, .. } = &stored.finality else {
            panic!("the tip has its own certificate")
        };
        let hash = stored.block.hash();
        assert!(verify_finalization(&cluster.genesis, &hash, certificate).is_ok());
        assert!(verify_finalization(&other, &hash, certificate).is_err());
        (chain, context.auditor().state())
    })
}

#[test]
fn four_validators_finalize_proof_blocks_and_agree() {
    all_online(1);
}

#[test]
fn same_seed_same_execution() {
    let (chain_a, state_a) = all_online(5);
    let (chain_b, state_b) = all_online(5);
    assert_eq!(chain_a, chain_b);
    assert_eq!(state_a, state_b);
}

#[test]
fn one_offline_others_finalize_and_it_catches_up() {
    runner(2).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        cluster.start_all().await;
        let mut hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        // Validator 3 drops off the network.
        cluster.set_links(&[3], &[0, 1, 2], false).await;
        let before = cluster.height(3);
        for i in 0..6 {
            hashes.push(cluster.submit(i % 3, &proof_tx(i)));
        }
        cluster.wait_included(&[0, 1, 2], &hashes, WITHIN).await;
        assert_eq!(
            cluster.height(3),
            before,
            "an isolated validator finalized nothing"
        );
        // Back online: it catches up (blocks fetched, every rule and proof checked).
        cluster.set_links(&[3], &[0, 1, 2], true).await;
        let target = cluster.height(0);
        cluster.wait_height(&[3], target, WITHIN).await;
        cluster.wait_included(&[3], &hashes, WITHIN).await;
        // And takes part again: new transactions submitted to it are finalized everywhere.
        let more = vec![
            cluster.submit(3, &proof_tx(6)),
            cluster.submit(3, &proof_tx(7)),
        ];
        cluster.wait_included(&[0, 1, 2, 3], &more, WITHIN).await;
        cluster.assert_consistent(&[0, 1, 2, 3]);
    });
}

/// A validator that fell more than a catch-up batch behind catches up while the others go on
/// finalizing (it asks nobody for the blocks it misses meanwhile: catch-up brings them), then
/// takes part again.
#[test]
fn a_validator_far_behind_catches_up_while_the_others_finalize() {
    runner(6).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        cluster.start_all().await;
        let mut hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        cluster.set_links(&[3], &[0, 1, 2], false).await;
        let before = cluster.height(3);
        // More blocks than one catch-up response holds, one root publication each.
        let mut sequence = 1;
        let mut publish = |cluster: &Cluster, i: usize| {
            sequence += 1;
            let tx = publish_root_as(&cluster.genesis, &authority_key(), sequence, sequence);
            cluster.submit(i, &tx)
        };
        while cluster.height(0) < before + u64::from(zkcustoms_node::sync::BATCH) + 16 {
            let h = publish(&cluster, 0);
            hashes.push(h);
            cluster.wait_included(&[0, 1, 2], &[h], WITHIN).await;
        }
        assert_eq!(cluster.height(3), before);
        // Back online while the others keep finalizing: it catches up.
        cluster.set_links(&[3], &[0, 1, 2], true).await;
        let mut during = Vec::new();
        for i in 0..8 {
            during.push(publish(&cluster, i % 3));
            context.sleep(Duration::from_millis(200)).await;
        }
        cluster.wait_included(&[0, 1, 2, 3], &during, WITHIN).await;
        cluster.wait_included(&[3], &hashes, WITHIN).await;
        // And takes part again.
        let more = vec![publish(&cluster, 3)];
        cluster.wait_included(&[0, 1, 2, 3], &more, WITHIN).await;
        cluster.assert_consistent(&[0, 1, 2, 3]);
    });
}

/// A validator that never hears from one leader still validates, votes on and finalizes that
/// leader's blocks, with its catch-up off: it asks the other validators for a block the leader
/// does not send it (to vote, to build on it, or to apply a finalization), and they hold it.
#[test]
fn blocks_a_leader_never_sent_come_from_the_other_validators() {
    runner(8).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 0..3 {
            cluster.start(i, Behaviour::Honest).await;
        }
        cluster.start(3, Behaviour::WithoutCatchUp).await;
        let mut hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        // Validator 0 and validator 3 no longer hear each other.
        cluster.set_links(&[0], &[3], false).await;
        let from_0 = crypto::public_bytes(&cluster.keys[0]);
        let proposed_by_0 = |cluster: &Cluster| {
            (1..=cluster.height(1)).any(|h| {
                let stored = cluster.chain(1).store().block(h).unwrap().unwrap();
                stored.block.header.proposer == from_0 && !stored.block.txs.is_empty()
            })
        };
        // One transaction at a time (submitted to validator 0, which relays it to 1 and 2 only),
        // until validator 0 has proposed a finalized block of transactions.
        let mut i = 0;
        while !proposed_by_0(&cluster) {
            assert!(i < PROOFS, "validator 0 proposed no block of transactions");
            hashes.push(cluster.submit(0, &proof_tx(i)));
            cluster.wait_included(&[0, 1, 2], &hashes, WITHIN).await;
            i += 1;
        }
        // Validator 3 holds it too, within a fraction of a second (simulated time): it asks
        // the others for the block its leader never sent as soon as the block is late, rather
        // than waiting for catch-up (off here) or for its own turn to propose on it.
        cluster
            .wait_included(&[3], &hashes, Duration::from_millis(500))
            .await;
        // And takes part in what follows.
        let more = vec![cluster.submit(3, &proof_tx(i))];
        cluster.wait_included(&[0, 1, 2, 3], &more, WITHIN).await;
        cluster.assert_consistent(&[0, 1, 2, 3]);
    });
}

#[test]
fn partition_then_healing_no_fork_progress_resumes() {
    runner(3).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        cluster.start_all().await;
        let mut hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        // Two against two: neither side has a quorum (3 of 4).
        cluster.set_links(&[0, 1], &[2, 3], false).await;
        let heights: Vec<u64> = (0..N).map(|i| cluster.height(i)).collect();
        let during = vec![
            cluster.submit(0, &proof_tx(0)),
            cluster.submit(2, &proof_tx(1)),
        ];
        context.sleep(Duration::from_secs(30)).await;
        let after: Vec<u64> = (0..N).map(|i| cluster.height(i)).collect();
        assert_eq!(heights, after, "a side without a quorum finalized a block");
        // Healed: the transactions submitted during the partition are finalized, one chain.
        cluster.set_links(&[0, 1], &[2, 3], true).await;
        hashes.extend(during);
        hashes.push(cluster.submit(3, &proof_tx(2)));
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        cluster.assert_consistent(&[0, 1, 2, 3]);
    });
}

#[test]
fn crash_and_restart_from_rocksdb_loses_nothing_and_catches_up() {
    runner(4).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        cluster.start_all().await;
        let mut hashes = vec![cluster.submit(1, &publish_root(&cluster.genesis))];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        for i in 0..4 {
            hashes.push(cluster.submit(i % N, &proof_tx(i)));
        }
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        let before = cluster.hashes(2);
        cluster.crash(2).await;
        // The others go on without it.
        let mut later = Vec::new();
        for i in 4..8 {
            later.push(cluster.submit(i % 2, &proof_tx(i)));
        }
        cluster.wait_included(&[0, 1, 3], &later, WITHIN).await;
        // Restarted on the same database: what it had finalized is still there, and it
        // catches up on what it missed.
        cluster.start(2, Behaviour::Honest).await;
        assert_eq!(cluster.hashes(2)[..before.len()], before[..]);
        let target = cluster.height(0);
        cluster.wait_height(&[2], target, WITHIN).await;
        hashes.extend(later);
        cluster.wait_included(&[2], &hashes, WITHIN).await;
        let more = vec![cluster.submit(2, &proof_tx(8))];
        cluster.wait_included(&[0, 1, 2, 3], &more, WITHIN).await;
        cluster.assert_consistent(&[0, 1, 2, 3]);
    });
}

/// Validator 0 proposes blocks holding `bad` (and nothing else) whenever it leads, once `armed`;
/// honest validators refuse them, no forged block is finalized, and honest transactions still
/// are.
fn byzantine_proposer(
    seed: u64,
    bad: Transaction,
    armed: fn(&Chain) -> bool,
    first: Vec<Transaction>,
) {
    byzantine_proposer_blamed(seed, bad, armed, first, false)
}

/// [`byzantine_proposer`], and, when `blamed`, every honest validator blocks the forger (and
/// nobody else).
fn byzantine_proposer_blamed(
    seed: u64,
    bad: Transaction,
    armed: fn(&Chain) -> bool,
    first: Vec<Transaction>,
    blamed: bool,
) {
    runner(seed).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 1..N {
            cluster.start(i, Behaviour::Honest).await;
        }
        let forged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let forger = Behaviour::Forger {
            txs: vec![bad.clone()],
            armed,
            forged: forged.clone(),
        };
        cluster.start(0, forger).await;
        let honest = [1, 2, 3];
        let mut hashes = vec![cluster.submit(1, &publish_root(&cluster.genesis))];
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        for tx in &first {
            hashes.push(cluster.submit(2, tx));
        }
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        // Several rounds of leadership pass while honest transactions keep coming.
        for i in 10..14 {
            hashes.push(cluster.submit(1 + i % 3, &proof_tx(i)));
            context.sleep(Duration::from_secs(3)).await;
        }
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        context.sleep(Duration::from_secs(10)).await;
        let forged = forged.lock().unwrap().clone();
        assert!(!forged.is_empty(), "the forger never led a view");
        let chain = cluster.assert_consistent(&honest);
        for h in &forged {
            assert!(!chain.contains(h), "a forged block was finalized");
        }
        // The forged transaction is finalized at most once (the reused nullifier case: its
        // honest first presentation), never from a forged block.
        let count = chain
            .iter()
            .enumerate()
            .flat_map(|(i, _)| {
                cluster
                    .chain(1)
                    .store()
                    .block(i as u64 + 1)
                    .unwrap()
                    .unwrap()
                    .block
                    .txs
            })
            .filter(|tx| tx.hash() == bad.hash())
            .count();
        assert_eq!(count, first.len());
        if blamed {
            cluster.wait_blocked_only(&honest, 0, WITHIN).await;
        }
    });
}

#[test]
fn byzantine_proposer_with_invalid_proof_is_refused() {
    byzantine_proposer(6, invalid_proof_tx(3, 4), |_| true, vec![]);
}

/// The forger's block commits to a transaction that does not decode (a proof point at
/// infinity): each honest validator keeps the block's bytes until the proposal needs them, then
/// decodes it, refuses it and blocks the forger.
#[test]
fn byzantine_proposer_with_an_undecodable_transaction_is_refused_and_blocked() {
    byzantine_proposer_blamed(15, undecodable_proof_tx(3), |_| true, vec![], true);
}

#[test]
fn byzantine_proposer_with_reused_nullifier_is_refused() {
    // Proof 5 is finalized honestly first; then the forger proposes it again (same nullifier in
    // the same scope).
    fn finalized(chain: &Chain) -> bool {
        chain
            .store()
            .get::<zkcustoms_ledger_core::store::Transactions>(&proof_tx(5).hash())
            .unwrap()
            .is_some()
    }
    byzantine_proposer(7, proof_tx(5), finalized, vec![proof_tx(5)]);
}

/// Validator 0 builds valid blocks but names validator 1 as their proposer: the honest
/// validators vote for no block that names another proposer than its view's leader, so none of
/// its blocks is finalized, while the transactions keep being finalized in the others' blocks.
#[test]
fn a_block_naming_another_proposer_than_the_leader_is_refused() {
    runner(12).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 1..N {
            cluster.start(i, Behaviour::Honest).await;
        }
        let proposed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let impostor = Behaviour::Impostor {
            of: 1,
            proposed: proposed.clone(),
        };
        cluster.start(0, impostor).await;
        let honest = [1, 2, 3];
        let mut hashes = vec![cluster.submit(1, &publish_root(&cluster.genesis))];
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        // Several rounds of leadership pass while transactions keep coming, to every validator.
        for i in 0..8 {
            hashes.push(cluster.submit(i % N, &proof_tx(i)));
            context.sleep(Duration::from_secs(2)).await;
        }
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        let proposed = proposed.lock().unwrap().clone();
        assert!(!proposed.is_empty(), "the impostor never proposed a block");
        let chain = cluster.assert_consistent(&honest);
        for h in &proposed {
            assert!(
                !chain.contains(h),
                "a block under a false name was finalized"
            );
        }
    });
}

/// Validator 0, once the ledger has been idle for longer than a proposal may be old, proposes a
/// block of a valid transaction dated back to its parent's time whenever it leads (which would
/// let a registry root superseded since count as current): the honest validators vote for none
/// of them, so the ledger stays where it was; the same transaction sent to an honest validator
/// is finalized in a block dated by the clock.
#[test]
fn a_proposal_dated_back_to_an_old_parent_gets_no_vote() {
    runner(13).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 1..N {
            cluster.start(i, Behaviour::Honest).await;
        }
        let forged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tx = proof_tx(0);
        let backdater = Behaviour::Backdater {
            idle: 2 * MAX_PROPOSAL_AGE_MS,
            txs: vec![tx.clone()],
            forged: forged.clone(),
        };
        cluster.start(0, backdater).await;
        let honest = [1, 2, 3];
        let root = vec![cluster.submit(1, &publish_root(&cluster.genesis))];
        cluster.wait_included(&honest, &root, WITHIN).await;
        let height = cluster.height(1);
        // The ledger idles (no transaction reaches an honest validator) long enough for the
        // backdater to lead several views with a parent older than `idle`.
        context
            .sleep(Duration::from_millis(4 * MAX_PROPOSAL_AGE_MS))
            .await;
        let dated_back = forged.lock().unwrap().clone();
        assert!(!dated_back.is_empty(), "the backdater never led a view");
        for i in honest {
            assert_eq!(
                cluster.height(i),
                height,
                "a block dated back was finalized"
            );
        }
        // Sent to an honest validator, the transaction is finalized in a block of its time.
        let sent_at = cluster.chain(1).now_ms();
        cluster
            .wait_included(&honest, &[cluster.submit(1, &tx)], WITHIN)
            .await;
        let chain = cluster.assert_consistent(&honest);
        for (h, age) in forged.lock().unwrap().iter() {
            assert!(*age > MAX_PROPOSAL_AGE_MS);
            assert!(!chain.contains(h), "a block dated back was finalized");
        }
        let store = cluster.chain(1).store();
        let at = store
            .get::<Transactions>(&tx.hash())
            .unwrap()
            .expect("finalized");
        let block = store.block(at.height).unwrap().unwrap().block;
        assert!(block.header.timestamp_ms >= sent_at);
    });
}

/// Validator 0 proposes an empty block whenever it leads, on whatever parent (an idle ledger
/// proposes nothing): the honest validators vote for none on a finalized parent, so the idle
/// ledger does not fill up with empty blocks, and a transaction sent afterwards is finalized.
#[test]
fn empty_proposals_on_a_finalized_parent_get_no_vote() {
    runner(14).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 1..N {
            cluster.start(i, Behaviour::Honest).await;
        }
        let forged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let empty = Behaviour::Forger {
            txs: Vec::new(),
            armed: |_| true,
            forged: forged.clone(),
        };
        cluster.start(0, empty).await;
        let honest = [1, 2, 3];
        let root = vec![cluster.submit(1, &publish_root(&cluster.genesis))];
        cluster.wait_included(&honest, &root, WITHIN).await;
        let height = cluster.height(1);
        let proposed = forged.lock().unwrap().len();
        context.sleep(Duration::from_secs(30)).await;
        let idle: Vec<Hash> = forged.lock().unwrap()[proposed..].to_vec();
        assert!(!idle.is_empty(), "validator 0 never led a view");
        for i in honest {
            assert_eq!(cluster.height(i), height, "an empty block was finalized");
        }
        // Its empty blocks on an unfinalized parent are another matter: only those made while
        // the ledger idled are checked.
        let tx = proof_tx(0);
        cluster
            .wait_included(&honest, &[cluster.submit(1, &tx)], WITHIN)
            .await;
        let chain = cluster.assert_consistent(&honest);
        for h in &idle {
            assert!(!chain.contains(h), "an empty block was finalized");
        }
    });
}

#[test]
fn equivocating_validator_causes_no_fork() {
    runner(8).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 1..N {
            cluster.start(i, Behaviour::Honest).await;
        }
        cluster.start(0, Behaviour::Equivocator).await;
        let honest = [1, 2, 3];
        let mut hashes = vec![cluster.submit(1, &publish_root(&cluster.genesis))];
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        for i in 0..6 {
            hashes.push(cluster.submit(1 + i % 3, &proof_tx(i)));
        }
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        cluster.assert_consistent(&honest);
        // Whoever was blocked for conflicting votes is the equivocator, never an honest
        // validator (a block is not guaranteed: a conflict is seen only when one validator
        // receives both of the equivocator's votes).
        for (by, blocked) in cluster.oracle.blocked().await.unwrap() {
            assert_eq!(blocked, cluster.keys[0], "an honest validator was blocked");
            assert_ne!(by, cluster.keys[0]);
        }
    });
}

/// Opens a chain on its own store for validator `i`, without consensus.
fn lone_chain(i: usize) -> (tempfile::TempDir, Chain) {
    let dir = tempfile::tempdir().unwrap();
    let chain = reopen(&dir, i);
    chain.submit(registration(&genesis())).unwrap();
    (dir, chain)
}

#[test]
fn each_proof_is_verified_once_per_node_and_unseen_proofs_in_full() {
    let genesis = genesis();
    let (_a_dir, a) = lone_chain(0);
    let (_b_dir, b) = lone_chain(1);

    // A verifies the proof on arrival, and not again when it builds its block.
    a.submit(publish_root(&genesis)).unwrap();
    a.submit(proof_tx(0)).unwrap();
    assert_eq!(a.metrics.proofs_verified(), 1);
    let block = a.propose(genesis.chain_id).unwrap().expect("a block");
    assert_eq!(
        block.txs.len(),
        3,
        "the registration, the root and the proof"
    );
    assert_eq!(a.metrics.proofs_verified(), 1, "verified once on A");
    assert_eq!(a.metrics.proofs_reused(), 1);

    // B never saw the proof: validating A's block verifies it in full.
    b.validate(genesis.chain_id, &block).unwrap();
    assert_eq!(b.metrics.proofs_verified(), 1);
    assert_eq!(b.metrics.proofs_reused(), 0);

    // A block carrying a proof B has not verified, and that does not verify, is refused.
    let forged = a
        .forge_block(
            genesis.chain_id,
            vec![
                registration(&genesis),
                publish_root(&genesis),
                invalid_proof_tx(3, 4),
            ],
        )
        .unwrap()
        .expect("a forged block");
    match b.validate(genesis.chain_id, &forged) {
        Err(zkcustoms_ledger_core::chain::BlockError::Proof(2, _)) => {}
        other => panic!("forged block: {other:?}"),
    }
    assert_eq!(b.metrics.proofs_verified(), 2);

    // C received the proof from a client (or a peer's relay) first: validating A's block then
    // reuses that verdict.
    let (_c_dir, c) = lone_chain(2);
    c.submit(publish_root(&genesis)).unwrap();
    c.submit(proof_tx(0)).unwrap();
    assert_eq!(c.metrics.proofs_verified(), 1);
    c.validate(genesis.chain_id, &block).unwrap();
    assert_eq!(c.metrics.proofs_verified(), 1, "verified once on C");
    assert_eq!(c.metrics.proofs_reused(), 1);
}

/// Opens (or reopens, as after a crash) the database of a [`lone_chain`] in `dir`.
fn reopen(dir: &tempfile::TempDir, i: usize) -> Chain {
    Chain::open(
        genesis(),
        Store::open(dir.path()).unwrap(),
        Some(&fixture().keydir),
        crypto::public_bytes(&validator_key(i).public_key()),
        MempoolLimits::default(),
    )
    .unwrap()
}

/// Checks what a restarted node reads: heights 1 to the tip link by hash from genesis, nothing
/// above the tip, each block named as a finalizing descendant held and certified (with a
/// certificate that verifies), and the tip certified itself.
fn assert_whole(chain: &Chain, genesis: &Genesis) {
    let (tip, tip_hash) = chain.tip();
    let mut parent = genesis.chain_id;
    for h in 1..=tip {
        let stored = chain
            .store()
            .block(h)
            .unwrap()
            .expect("every height up to the tip");
        assert_eq!(stored.block.header.parent, parent, "link at {h}");
        parent = stored.block.hash();
        match &stored.finality {
            Finality::Certificate { certificate, .. } => {
                verify_finalization(genesis, &parent, certificate).expect("certificate verifies");
            }
            Finality::Descendant(top) => {
                assert!(*top > h && *top <= tip, "height {h} names {top}, tip {tip}");
                let named = chain.store().block(*top).unwrap().expect("the named block");
                assert!(matches!(named.finality, Finality::Certificate { .. }));
            }
        }
    }
    assert_eq!(parent, tip_hash);
    assert!(chain.store().block(tip + 1).unwrap().is_none());
    if tip > 0 {
        let stored = chain.store().block(tip).unwrap().unwrap();
        assert!(matches!(stored.finality, Finality::Certificate { .. }));
    }
}

/// A certificate that finalizes three pending blocks (two ancestors implicitly) is applied in one
/// write: a crash at any write leaves the node, once restarted, at its old tip with the three
/// blocks still pending, or at the new tip with all three and their indices, never an ancestor
/// naming a certified block the store lacks; after the restart the same certificate applies.
#[test]
fn a_crash_during_a_finalization_leaves_it_whole_or_not_begun() {
    let genesis = genesis();
    let signers: Vec<PrivateKey> = (0..N).map(validator_key).collect();
    let mut faulted = 0;
    for writes in 0.. {
        let (dir, chain) = lone_chain(0);
        let b1 = chain
            .propose(genesis.chain_id)
            .unwrap()
            .expect("the registration");
        chain.submit(publish_root(&genesis)).unwrap();
        let b2 = chain.propose(b1.hash()).unwrap().expect("the root");
        chain.submit(proof_tx(0)).unwrap();
        let b3 = chain.propose(b2.hash()).unwrap().expect("the proof");
        let certificate = certify(&genesis, &signers, 7, &b3.hash()).unwrap();

        chain.store().fail_writes_after(writes);
        let result = chain.finalize(b3.hash(), 7, certificate.clone());
        drop(chain);
        let chain = reopen(&dir, 0);
        let tip = chain.tip().0;
        assert!(
            tip == 0 || tip == 3,
            "a crash after {writes} writes left the tip at {tip}"
        );
        assert_whole(&chain, &genesis);
        if tip == 0 {
            faulted += 1;
            assert!(result.is_err());
            for b in [&b1, &b2, &b3] {
                assert!(chain.pending_block(&b.hash()).is_some(), "still pending");
            }
            chain.finalize(b3.hash(), 7, certificate).unwrap();
            assert_eq!(chain.tip().0, 3);
            assert_whole(&chain, &genesis);
        }
        // The indices came with the blocks: the proof's transaction is located in block 3.
        let located = chain
            .store()
            .get::<Transactions>(&proof_tx(0).hash())
            .unwrap();
        assert_eq!(located.map(|l| l.height), Some(3));
        if result.is_ok() {
            // A pending block below the tip (a fork left by a database an older version wrote)
            // is removed when the node opens it.
            let fork = Block::new(2, b1.hash(), b2.header.timestamp_ms, [9; 32], Vec::new());
            let mut batch = Batch::new();
            batch.put::<PendingBlocks>(&fork.hash(), &fork);
            chain.store().write(batch, true).unwrap();
            drop(chain);
            let chain = reopen(&dir, 0);
            assert!(chain.pending_block(&fork.hash()).is_none());
            let stored = chain.store().get::<PendingBlocks>(&fork.hash()).unwrap();
            assert!(stored.is_none(), "removed from the store");
            break;
        }
    }
    assert!(faulted > 0, "some run crashed before the write");
}

/// A block ahead of a node's clock is refused by that node, as its own clock's verdict, not as the
/// block's fault: a node whose clock is behind blocks no peer for an honest block (catch-up
/// refuses it as a local failure), and accepts the block once its clock has caught up. A block
/// far behind the clock is valid, but gets no vote as a proposal.
#[test]
fn a_block_ahead_of_the_clock_is_refused_without_blame() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use zkcustoms_ledger_core::chain::BlockError;
    let genesis = genesis();
    let (_a_dir, a) = lone_chain(0);
    let block = a.propose(genesis.chain_id).unwrap().expect("a block");
    let ts = block.header.timestamp_ms;
    let now = Arc::new(AtomicU64::new(ts - 20_000));
    let (_b_dir, b) = lone_chain(1);
    let clock = now.clone();
    let b = b.with_clock(move || clock.load(Ordering::SeqCst));
    match b.validate(genesis.chain_id, &block) {
        Err(e @ BlockError::AheadOfClock(20_000)) => {
            assert!(!e.is_fault(), "{e}");
            assert!(e.to_string().contains("ahead of this node's clock"), "{e}");
        }
        other => panic!("a block 20 s ahead: {other:?}"),
    }
    now.store(ts - 5_000, Ordering::SeqCst);
    b.validate(genesis.chain_id, &block)
        .expect("within the allowed skew");
    // Long after its time, the block is still valid (catch-up and late finalizations judge it
    // so) but gets no vote as a proposal, again without blame; a recent one does.
    b.check_proposal_age(&block).expect("a recent proposal");
    now.store(ts + MAX_PROPOSAL_AGE_MS, Ordering::SeqCst);
    b.check_proposal_age(&block).expect("just old enough");
    now.store(ts + MAX_PROPOSAL_AGE_MS + 1, Ordering::SeqCst);
    match b.check_proposal_age(&block) {
        Err(e @ BlockError::BehindClock(age)) if age == MAX_PROPOSAL_AGE_MS + 1 => {
            assert!(!e.is_fault(), "{e}");
            assert!(e.to_string().contains("behind this node's clock"), "{e}");
        }
        other => panic!("a proposal 30 s old: {other:?}"),
    }
    now.store(ts + 86_400_000, Ordering::SeqCst);
    b.validate(genesis.chain_id, &block)
        .expect("a block a day old is valid");
}

/// What a peer relays at once is admitted together: its proofs verified in one batch, a proof
/// that does not verify refused alone, a transaction the rules refuse never verified, one
/// already pending not verified again. Clients submitting at the same moment each get the
/// verdict on their own proof, every proof verified exactly once.
#[test]
fn proofs_arriving_together_are_verified_together_each_with_its_own_verdict() {
    use zkcustoms_ledger_core::chain::{SubmitError, TxStatus};
    let genesis = genesis();
    let (_dir, chain) = lone_chain(0);
    chain.submit(publish_root(&genesis)).unwrap();
    chain.submit(proof_tx(0)).unwrap();
    assert_eq!(chain.metrics.proofs_verified(), 1);
    let batches = chain.metrics.proof_batches();

    let stranger = Trader::new("DE999999999999999").proof(
        &genesis.chain_id,
        &ucr(6),
        fixture().proofs[6].clone(),
    );
    let mut relayed = vec![proof_tx(0)];
    relayed.extend((1..=4).map(proof_tx));
    relayed.push(invalid_proof_tx(5, 1));
    relayed.push(stranger.clone());
    let bad = relayed[5].hash();
    let results = chain.submit_many_from_peer(relayed.clone());
    assert_eq!(results.len(), relayed.len());
    for (i, (tx, r)) in relayed.iter().zip(&results).enumerate() {
        match (i, r) {
            (0..=4, Ok(h)) => assert_eq!(*h, tx.hash()),
            (5, Err(SubmitError::Rejected(r))) => assert_eq!(r.code, "invalid-proof"),
            (6, Err(SubmitError::Rejected(r))) => assert_eq!(r.code, "unknown-party"),
            other => panic!("relayed transaction {other:?}"),
        }
    }
    assert_eq!(
        chain.metrics.proofs_verified(),
        1 + 5,
        "proofs 1 to 4 and the bad one; not the pending one, not the stranger's"
    );
    assert_eq!(chain.metrics.proof_batches(), batches + 1, "in one batch");
    assert!(
        matches!(chain.status(&bad).unwrap(), TxStatus::Rejected { why: r, .. } if r.code == "invalid-proof")
    );

    // Eight clients at the same moment: seven good proofs and one bad.
    let mut clients: Vec<Transaction> = (7..=13).map(proof_tx).collect();
    clients.push(invalid_proof_tx(14, 7));
    let start = std::sync::Barrier::new(clients.len());
    let verdicts: Vec<Result<Hash, SubmitError>> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|tx| {
                let (chain, start) = (&chain, &start);
                s.spawn(move || {
                    start.wait();
                    chain.submit(tx.clone())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (tx, v) in clients.iter().zip(&verdicts).take(7) {
        assert_eq!(v.as_ref().ok(), Some(&tx.hash()));
    }
    assert!(matches!(&verdicts[7], Err(SubmitError::Rejected(r)) if r.code == "invalid-proof"));
    assert_eq!(chain.metrics.proofs_verified(), 6 + 8, "each verified once");
    let used = chain.metrics.proof_batches() - batches - 1;
    assert!((1..=8).contains(&used), "{used} batches for eight proofs");
    assert_eq!(
        chain.mempool_size().0,
        2 + 5 + 7,
        "registration, root and the good proofs"
    );
}

#[test]
fn a_block_is_refused_at_the_transaction_whose_signature_fails_in_the_batch() {
    let genesis = genesis();
    let (_a_dir, a) = lone_chain(0);
    let (_b_dir, b) = lone_chain(1);
    let wrong_key = crypto::generate();
    let resigned = |tx: Transaction| tx.signed(&genesis.chain_id, &wrong_key);
    let good = || {
        vec![
            registration(&genesis),
            publish_root(&genesis),
            proof_tx(0),
            proof_tx(1),
            proof_tx(2),
        ]
    };
    // Every signature good: the batch verifies and the block is valid.
    let block = a
        .forge_block(genesis.chain_id, good())
        .unwrap()
        .expect("a block");
    b.validate(genesis.chain_id, &block).unwrap();
    // Where B refuses A's block of `txs`, and why.
    let refusal = |txs: Vec<Transaction>| {
        let forged = a
            .forge_block(genesis.chain_id, txs)
            .unwrap()
            .expect("a block");
        match b.validate(genesis.chain_id, &forged) {
            Err(zkcustoms_ledger_core::chain::BlockError::Rule(at, r)) => (at, r.code),
            other => panic!("expected a rule refusal: {other:?}"),
        }
    };
    // One signature among five by the wrong key: refused at that transaction with the code the
    // single check gives (the trader's key is state, the authority's is genesis).
    for (i, code) in [
        (3, "wrong-party-key"),
        (1, "bad-signature"),
        (0, "bad-signature"),
    ] {
        let mut txs = good();
        txs[i] = resigned(txs[i].clone());
        assert_eq!(refusal(txs), (i, code), "transaction {i} re-signed");
    }
    // A refusal later in the block (a duplicate) is not taken for the cause while an earlier
    // signature fails: the first transaction at fault is named.
    let mut txs = good();
    txs[1] = resigned(txs[1].clone());
    txs[4] = txs[2].clone();
    assert_eq!(
        refusal(txs),
        (1, "bad-signature"),
        "re-signed root and a duplicate"
    );
}

/// Answers the victim's catch-up requests with forged blocks on its tip: a chain of blocks of
/// anchors the honest validators never saw, the first uncertified, the last carrying the
/// certificate of the liar's own tip (a real certificate, of another block). Others get no answer.
async fn sync_liar<S, R>(chain: Arc<Chain>, victim: PublicKey, (mut sender, mut receiver): (S, R))
where
    S: commonware_p2p::Sender<PublicKey = PublicKey>,
    R: commonware_p2p::Receiver<PublicKey = PublicKey>,
{
    use zkcustoms_node::sync::SyncMessage;
    while let Ok((peer, bytes)) = receiver.recv().await {
        if peer != victim {
            continue;
        }
        let Ok(SyncMessage::Request { from, .. }) = SyncMessage::from_bytes(bytes.as_ref()) else {
            continue;
        };
        let (tip, _) = chain.tip();
        if from == 0 || from > tip + 1 {
            continue;
        }
        let parent_of = |h: u64| {
            if h == 1 {
                chain.genesis().chain_id
            } else {
                chain.store().block(h - 1).unwrap().unwrap().block.hash()
            }
        };
        let Finality::Certificate { view, certificate } =
            chain.store().block(tip).unwrap().unwrap().finality
        else {
            continue;
        };
        let mut parent = parent_of(from);
        let mut forged = Vec::new();
        for k in 0..3u64 {
            let tx = Transaction::AnchorDocument(zkcustoms_ledger_types::tx::AnchorDocument {
                ucr: Ucr::parse(&format!("FORGED-{from}-{k}")).unwrap(),
                doc_type: "invoice".into(),
                digest: zkcustoms_ledger_types::tx::sha256(&k.to_be_bytes()),
                reference: "vault://forged".into(),
                version: 1,
                supersedes: None,
                trader: Eori::parse(TRADER).unwrap(),
                signature: crypto::unsigned(),
            });
            let block = Block::new(from + k, parent, 1_795_564_800_000 + k, [9; 32], vec![tx]);
            parent = block.hash();
            let finality = if k < 2 {
                Finality::Descendant(from + 2)
            } else {
                Finality::Certificate {
                    view,
                    certificate: certificate.clone(),
                }
            };
            forged.push(RawStoredBlock::of(&StoredBlock { block, finality }));
        }
        let reply = SyncMessage::Response {
            blocks: forged,
            proof: None,
        }
        .to_bytes();
        let _ = sender.send(commonware_p2p::Recipients::One(peer), reply, false);
    }
}

/// A catch-up response is read as far as its headers and finality: its transactions and proofs
/// are decoded only once the certificate verifies and the blocks link to it, so a peer's
/// response costs the work of decoding it only when a quorum signed for it. A block that then
/// does not decode is still refused, and the peer blamed; the honest response is applied.
#[test]
fn a_catch_up_response_is_decoded_only_once_its_certificate_holds() {
    use zkcustoms_node::sync::{apply, Refusal, SyncMessage};
    let genesis = genesis();
    let signers: Vec<PrivateKey> = (0..3).map(validator_key).collect();
    let (a_dir, a) = lone_chain(0);
    let (_b_dir, b) = lone_chain(1);
    let block = a.propose(genesis.chain_id).unwrap().expect("a block");
    // A restarted validator holds its pending blocks again, with their bytes.
    drop(a);
    let a = reopen(&a_dir, 0);
    assert_eq!(a.pending_block(&block.hash()), Some(block.clone()));
    let certificate = certify(&genesis, &signers, 1, &block.hash()).unwrap();
    let response = |bytes: Vec<u8>, certificate: Vec<u8>| {
        SyncMessage::Response {
            blocks: vec![RawStoredBlock {
                header: block.header.clone(),
                block: bytes,
                finality: Finality::Certificate {
                    view: 1,
                    certificate,
                },
            }],
            proof: None,
        }
        .to_bytes()
    };
    // The block's one transaction, garbled: the response still reads (nothing past the
    // header is decoded yet).
    let mut garbled = block.to_bytes();
    let at = garbled.len() - 10;
    garbled[at] ^= 0xff;
    let read = |bytes: &[u8]| match SyncMessage::from_bytes(bytes) {
        Ok(SyncMessage::Response { blocks, .. }) => blocks,
        other => panic!("a response: {other:?}"),
    };
    // Under another block's certificate, the certificate is what is refused.
    let other = certify(&genesis, &signers, 1, &[5; 32]).unwrap();
    match apply(&b, read(&response(garbled.clone(), other)), None) {
        Err(Refusal::Faulty(why)) => assert!(why.starts_with("block 1:"), "{why}"),
        other => panic!("refused for its certificate: {other:?}"),
    }
    // Under its own certificate, it is decoded, and refused as the block the quorum did not
    // sign for.
    match apply(&b, read(&response(garbled, certificate.clone())), None) {
        Err(Refusal::Faulty(why)) => assert!(why.starts_with("certified block 1:"), "{why}"),
        other => panic!("refused for its transactions: {other:?}"),
    }
    assert_eq!(b.tip().0, 0);
    assert!(!matches!(b.knows_block(&block.hash()), Ok(true)));
    // The block as it is: applied.
    assert_eq!(
        apply(&b, read(&response(block.to_bytes(), certificate)), None).unwrap(),
        1
    );
    assert_eq!(b.tip(), (1, block.hash()));
    // What a peer asking for the block is sent, pending (A, its bytes held since it was
    // validated or reloaded) or finalized (B, as stored): its bytes, or only its length when it
    // is longer than the peer's budget covers.
    let bytes = block.to_bytes();
    let len = bytes.len();
    assert_eq!(
        a.pending_block_bytes(&block.hash()),
        Some((1, bytes.clone().into()))
    );
    for chain in [&a, &b] {
        assert_eq!(
            chain.block_bytes_by_hash(&block.hash(), len).unwrap(),
            Some(HeldBlock::Bytes {
                height: 1,
                bytes: bytes.clone()
            })
        );
        assert_eq!(
            chain.block_bytes_by_hash(&block.hash(), len - 1).unwrap(),
            Some(HeldBlock::Longer { height: 1, len })
        );
        assert_eq!(chain.block_bytes_by_hash(&[5; 32], len).unwrap(), None);
    }
}

/// A peer asking a validator for a block, and to catch up, over and over, is sent no more than
/// its serving budget (the burst, then the refill rate), whatever the channels' quotas allow; it
/// is not blocked for asking, and the validators finalize on.
#[test]
fn a_peer_asking_over_and_over_is_sent_no_more_than_its_budget() {
    use commonware_p2p::{Receiver as _, Recipients, Sender as _};
    use std::sync::Mutex;
    use zkcustoms_node::sync::SyncMessage;
    runner(10).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        let limits = ServingLimits {
            bytes_per_second: 4_096,
            burst: 16_384,
        };
        cluster.serving = limits;
        let honest = [0, 1, 2];
        for i in honest {
            cluster.start(i, Behaviour::Honest).await;
        }
        let mut hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
        hashes.push(cluster.submit(0, &proof_tx(0)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        let first = cluster
            .chain(0)
            .store()
            .raw_block(1)
            .unwrap()
            .expect("block 1");
        let asked = first.hash();
        let block_len = first.block.len();

        // Validator 3 takes no part in consensus: it asks validator 0 for block 1 two hundred
        // times at once, and to catch up from height 1 every 150 ms, and counts what it is sent.
        let control = cluster.oracle.control(cluster.keys[3].clone());
        let (mut blocks, mut blocks_in) = control.register(channel::BLOCKS, QUOTA).await.unwrap();
        let (mut sync, mut sync_in) = control.register(channel::SYNC, QUOTA).await.unwrap();
        let from_0 = cluster.keys[0].clone();
        let answers = Arc::new(Mutex::new((0usize, 0usize))); // (blocks, bytes)
        let sync_answers = Arc::new(Mutex::new((0usize, 0usize))); // (blocks, bytes)
        let (a, peer) = (answers.clone(), from_0.clone());
        context.child("blocks_in").spawn(move |_| async move {
            while let Ok((from, msg)) = blocks_in.recv().await {
                let msg: &[u8] = msg.as_ref();
                // Validator 0 also sends the blocks it proposes: only block 1 is counted.
                if from == peer && msg.len() == 1 + block_len && msg[1..] == first.block[..] {
                    let mut a = a.lock().unwrap();
                    a.0 += 1;
                    a.1 += msg.len();
                }
            }
        });
        let (a, peer) = (sync_answers.clone(), from_0.clone());
        context.child("sync_in").spawn(move |_| async move {
            while let Ok((from, msg)) = sync_in.recv().await {
                let msg: &[u8] = msg.as_ref();
                if from == peer {
                    // Validator 0 asks its peers in turn to catch up, validator 3 too.
                    let got = match SyncMessage::from_bytes(msg) {
                        Ok(SyncMessage::Response { blocks, .. }) => blocks,
                        Ok(SyncMessage::Request { .. }) => continue,
                        Err(e) => panic!("validator 0 sent a malformed sync message: {e}"),
                    };
                    let mut a = a.lock().unwrap();
                    a.0 += got.len();
                    a.1 += msg.len();
                }
            }
        });
        let start = context.current();
        let mut request = vec![zkcustoms_node::consensus::BLOCK_REQUEST_TAG];
        request.extend_from_slice(&asked);
        for _ in 0..200 {
            assert_eq!(
                blocks.send(Recipients::One(from_0.clone()), request.clone(), false),
                vec![from_0.clone()]
            );
        }
        let catch_up = SyncMessage::Request { from: 1, max: 64 }.to_bytes();
        for _ in 0..20 {
            assert_eq!(
                sync.send(Recipients::One(from_0.clone()), catch_up.clone(), false),
                vec![from_0.clone()]
            );
            context.sleep(Duration::from_millis(150)).await;
        }
        context.sleep(Duration::from_secs(1)).await;
        let elapsed = context.current().duration_since(start).unwrap();

        let (answered, block_bytes) = *answers.lock().unwrap();
        let (synced, sync_bytes) = *sync_answers.lock().unwrap();
        // Everything validator 0 sent it was charged to one budget: the burst, and the refill
        // over the time it was asked (every answer sent was charged after the first request
        // arrived, and arrived before now).
        let bound = limits.burst as f64 + limits.bytes_per_second as f64 * elapsed.as_secs_f64();
        let sent = (block_bytes + sync_bytes) as f64;
        assert!(
            sent <= bound,
            "sent {sent} bytes ({answered} block answers of {block_len} bytes, {synced} blocks \
             in catch-up responses) in {elapsed:?}, over the budget's {bound}"
        );
        // It was served while its budget lasted, and what it asked was far more.
        assert!(answered >= 1, "no block request was answered");
        assert!(
            200.0 * block_len as f64 > 2.0 * bound,
            "blocks too small to test the budget"
        );
        // Asking is no fault: nobody is blocked, and the validators finalize on.
        assert_eq!(cluster.oracle.blocked().await.unwrap(), vec![]);
        hashes.push(cluster.submit(1, &proof_tx(1)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        cluster.assert_consistent(&honest);
    });
}

/// Validators 0 to 2 running honestly, the registry root finalized (its hash answered);
/// validator 3 takes no part in consensus and only sends on `on` (its sender and receiver
/// answered).
async fn with_a_sender(
    context: &deterministic::Context,
    on: u64,
) -> (
    Cluster,
    [usize; 3],
    Vec<Hash>,
    simulated::Sender<PublicKey, deterministic::Context>,
    simulated::Receiver<PublicKey>,
) {
    let mut cluster = Cluster::new(context.child("cluster")).await;
    let honest = [0, 1, 2];
    for i in honest {
        cluster.start(i, Behaviour::Honest).await;
    }
    let control = cluster.oracle.control(cluster.keys[3].clone());
    let (sender, receiver) = control.register(on, QUOTA).await.unwrap();
    let hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
    cluster.wait_included(&honest, &hashes, WITHIN).await;
    (cluster, honest, hashes, sender, receiver)
}

/// A block whose header names no validator as its proposer gets its sender blocked by every
/// validator, on its header alone (it is well-formed: decoded, it would have been kept); the
/// others finalize on.
#[test]
fn a_peer_sending_a_block_no_validator_proposed_is_blocked() {
    use commonware_p2p::{Recipients, Sender as _};
    runner(6).start(|context| async move {
        let (cluster, honest, mut hashes, mut blocks, _blocks_in) =
            with_a_sender(&context, channel::BLOCKS).await;
        // A well-formed block on genesis whose proposer is no validator.
        let block = Block::new(
            1,
            cluster.genesis.chain_id,
            1_795_564_800_000,
            [9; 32],
            vec![],
        );
        let mut msg = vec![zkcustoms_node::consensus::BLOCK_TAG];
        msg.extend_from_slice(&block.to_bytes());
        assert_eq!(blocks.send(Recipients::All, msg, false).len(), 3);
        cluster.wait_blocked_only(&honest, 3, WITHIN).await;
        hashes.push(cluster.submit(1, &proof_tx(0)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        cluster.assert_consistent(&honest);
    });
}

/// A block a peer sends is kept as its bytes, its encoding and its header's commitment to its
/// transactions checked by hashing them, and decoded only when a proposal, a parent or a
/// finalization needs it: blocks nobody needs (here, whose committed transaction would not even
/// decode) cost a hash each and blame nobody, since nothing was decoded; a block with more
/// transactions than genesis allows, or whose header does not commit to its bytes, gets its
/// sender blocked at once.
#[test]
fn a_block_nobody_needs_is_never_decoded() {
    use commonware_p2p::{Recipients, Sender as _};
    use zkcustoms_ledger_types::block::{merkle_root, BlockHeader};
    use zkcustoms_ledger_types::codec::Writer;
    runner(14).start(|context| async move {
        let (cluster, honest, mut hashes, mut blocks, _blocks_in) =
            with_a_sender(&context, channel::BLOCKS).await;
        let (tip, parent) = cluster.chain(0).tip();
        let header = BlockHeader {
            height: tip + 1,
            parent,
            timestamp_ms: cluster.chain(0).now_ms(),
            tx_root: [0; 32],
            tx_count: 0,
            proposer: crypto::public_bytes(&cluster.keys[3]),
        };
        let message = |header: &BlockHeader, txs: &[&[u8]]| {
            let mut w = Writer::new();
            w.fixed(&[zkcustoms_node::consensus::BLOCK_TAG])
                .fixed(&header.to_bytes());
            for tx in txs {
                w.bytes(tx);
            }
            w.finish()
        };
        // Fifty blocks committing to bytes that are no transaction, each new (its own time).
        let garbage: &[u8] = b"not a transaction";
        for i in 0..50 {
            let h = BlockHeader {
                timestamp_ms: header.timestamp_ms + i,
                tx_root: merkle_root(&[garbage]),
                tx_count: 1,
                ..header.clone()
            };
            assert_eq!(
                blocks
                    .send(Recipients::All, message(&h, &[garbage]), false)
                    .len(),
                3
            );
        }
        // Consensus goes on past them; nobody needed them, so nobody decoded them or blamed
        // their sender.
        hashes.push(cluster.submit(1, &proof_tx(0)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        context.sleep(Duration::from_secs(5)).await;
        let blocked = cluster.oracle.blocked().await.unwrap();
        assert!(
            blocked.is_empty(),
            "blocked for blocks nobody needed: {blocked:?}"
        );
        // A header that does not commit to the bytes after it is caught by the hashing.
        let (tip, parent) = cluster.chain(0).tip();
        let header = BlockHeader {
            height: tip + 1,
            parent,
            ..header
        };
        let uncommitted = BlockHeader {
            tx_count: 1,
            ..header.clone()
        };
        blocks.send(
            Recipients::Some(vec![cluster.keys[0].clone()]),
            message(&uncommitted, &[garbage]),
            false,
        );
        cluster.wait_blocked_only(&[0], 3, WITHIN).await;
        // More transactions than genesis allows is refused from the header alone.
        let crowded = BlockHeader {
            tx_count: cluster.genesis.params().max_block_txs + 1,
            ..header.clone()
        };
        blocks.send(Recipients::All, message(&crowded, &[]), false);
        cluster.wait_blocked_only(&honest, 3, WITHIN).await;
        hashes.push(cluster.submit(2, &proof_tx(1)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        cluster.assert_consistent(&honest);
    });
}

#[test]
fn a_lagging_validator_catches_up_past_a_lying_peer_and_blocks_only_it() {
    runner(4).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        for i in 0..3 {
            cluster.start(i, Behaviour::Honest).await;
        }
        cluster.start(3, Behaviour::SyncLiar { victim: 2 }).await;
        let mut hashes = vec![cluster.submit(0, &publish_root(&cluster.genesis))];
        cluster.wait_included(&[0, 1, 2, 3], &hashes, WITHIN).await;
        // Validator 2 drops off the network; the others (the liar among them) finalize on.
        cluster.set_links(&[2], &[0, 1, 3], false).await;
        let before = cluster.height(2);
        for i in 0..6 {
            hashes.push(cluster.submit(i % 2, &proof_tx(i)));
        }
        cluster.wait_included(&[0, 1, 3], &hashes, WITHIN).await;
        assert_eq!(cluster.height(2), before);
        // Back online, it asks its peers in turn, the liar among them: it catches up with the
        // honest chain, and blocks the liar and nobody else.
        cluster.set_links(&[2], &[0, 1, 3], true).await;
        let target = cluster.height(0);
        cluster.wait_height(&[2], target, WITHIN).await;
        cluster.wait_included(&[2], &hashes, WITHIN).await;
        // It asks each peer in turn, so the liar's turn comes: wait until the liar is blocked.
        cluster.wait_blocked_only(&[2], 3, WITHIN).await;
        let chain = cluster.assert_consistent(&[0, 1, 2]);
        for h in 1..=chain.len() as u64 {
            let stored = cluster.chain(2).store().block(h).unwrap().unwrap();
            assert!(
                !stored.block.txs.iter().any(|tx| matches!(tx,
                    Transaction::AnchorDocument(a) if a.ucr.as_str().starts_with("FORGED"))),
                "a forged block was applied at {h}"
            );
        }
        let blocked = cluster.oracle.blocked().await.unwrap();
        let by_lagging: Vec<&PublicKey> = blocked
            .iter()
            .filter(|(by, _)| *by == cluster.keys[2])
            .map(|(_, who)| who)
            .collect();
        assert_eq!(
            by_lagging,
            vec![&cluster.keys[3]],
            "only the liar is blocked"
        );
        assert!(
            blocked.iter().all(|(_, who)| *who == cluster.keys[3]),
            "an honest validator was blocked: {blocked:?}"
        );
        // The cluster keeps finalizing, the caught-up validator with it.
        let more = vec![
            cluster.submit(2, &proof_tx(6)),
            cluster.submit(0, &proof_tx(7)),
        ];
        cluster.wait_included(&[0, 1, 2], &more, WITHIN).await;
        cluster.assert_consistent(&[0, 1, 2]);
    });
}

/// A publication of `root` as the authority's root number `sequence`, signed by `key`.
fn publish_root_as(genesis: &Genesis, key: &PrivateKey, root: u64, sequence: u64) -> Transaction {
    Transaction::PublishRoot(PublishRoot::sign(
        &genesis.chain_id,
        key,
        AUTHORITY,
        zkcustoms_circuits::Fr::from(root),
        sequence,
    ))
}

#[test]
fn peers_are_blocked_for_what_they_provably_sent_wrong_and_only_for_that() {
    use commonware_p2p::{Recipients, Sender as _};
    use zkcustoms_ledger_core::chain::TxStatus;
    runner(9).start(|context| async move {
        let mut cluster = Cluster::new(context.child("cluster")).await;
        let honest = [0, 1, 2];
        for i in honest {
            cluster.start(i, Behaviour::Honest).await;
        }
        // Validator 3 takes no part in consensus (three of four are a quorum): it only sends,
        // on the blocks and transactions channels, what no honest validator would.
        let control = cluster.oracle.control(cluster.keys[3].clone());
        let (mut blocks, _blocks_in) = control.register(channel::BLOCKS, QUOTA).await.unwrap();
        let (mut txs, _txs_in) = control
            .register(channel::TRANSACTIONS, QUOTA)
            .await
            .unwrap();
        let genesis = cluster.genesis.clone();
        let mut hashes = vec![cluster.submit(0, &publish_root(&genesis))];
        cluster.wait_included(&honest, &hashes, WITHIN).await;

        // Honest validators disagree for a while: two roots numbered 2 reach validators 0 and 1
        // at once, each relays its own, and each refuses the other's (a stateful rejection).
        let first = publish_root_as(&genesis, &authority_key(), 2, 2);
        let second = publish_root_as(&genesis, &authority_key(), 3, 2);
        let (a, b) = (cluster.submit(0, &first), cluster.submit(1, &second));

        // The faulty peer: to validator 0, a block that does not decode; to 1, a relayed
        // transaction whose proof does not verify; to 2, a root publication signed by a key that
        // is not the authority's.
        let key = |i: usize| cluster.keys[i].clone();
        let garbage_block = vec![1, 0xde, 0xad, 0xbe, 0xef]; // the block tag, then no block
        let to = blocks.send(Recipients::One(key(0)), garbage_block, false);
        assert_eq!(to, vec![key(0)]);
        let false_proof = invalid_proof_tx(3, 4).to_bytes();
        let to = txs.send(Recipients::One(key(1)), false_proof, false);
        assert_eq!(to, vec![key(1)]);
        let forged = publish_root_as(&genesis, &validator_key(3), 4, 3).to_bytes();
        let to = txs.send(Recipients::One(key(2)), forged, false);
        assert_eq!(to, vec![key(2)]);

        // Each honest validator blocks the faulty peer, and nobody blocks an honest validator
        // (the relays of the two roots arrive meanwhile).
        cluster.wait_blocked_only(&honest, 3, WITHIN).await;

        // One of the two roots numbered 2 is finalized; the other is refused everywhere, by the
        // validator that received it from its honest peer's relay among them.
        let deadline = context.current() + WITHIN;
        let status = |i: usize, h: &Hash| cluster.chain(i).status(h).unwrap();
        let included = |h: &Hash| {
            honest
                .iter()
                .all(|&i| matches!(status(i, h), TxStatus::Included { .. }))
        };
        let (winner, loser) = loop {
            if included(&a) {
                break (a, b);
            }
            if included(&b) {
                break (b, a);
            }
            assert!(
                context.current() < deadline,
                "neither root numbered 2 was finalized"
            );
            context.sleep(Duration::from_millis(50)).await;
        };
        hashes.push(winner);
        for i in honest {
            match status(i, &loser) {
                TxStatus::Rejected { why: r, .. } => assert!(
                    ["bad-sequence", "duplicate-root"].contains(&r.code),
                    "validator {i}: {r}"
                ),
                other => panic!("validator {i}: the conflicting root is {other:?}"),
            }
        }

        // Nobody blocked an honest validator, and the honest validators finalize on.
        let blocked = cluster.oracle.blocked().await.unwrap();
        assert!(
            blocked
                .iter()
                .all(|(by, who)| *who == key(3) && *by != key(3)),
            "an honest validator was blocked: {blocked:?}"
        );
        for i in 0..3 {
            hashes.push(cluster.submit(i, &proof_tx(i)));
        }
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        cluster.assert_consistent(&honest);
    });
}

/// A relayed transaction the mempool has no room for (its signer's share is full, or the whole
/// mempool), or signed by a trader not registered here, is refused from its bytes, before they
/// are decoded: a colluding trader and validator cannot make a node decode proof points it will
/// refuse anyway. Other parties' transactions are still decoded and admitted.
#[test]
fn a_relayed_transaction_with_no_room_is_refused_before_it_is_decoded() {
    use zkcustoms_ledger_core::chain::{Screened, SubmitError};
    use zkcustoms_ledger_types::codec::Writer;
    let genesis = genesis();
    let dir = tempfile::tempdir().unwrap();
    let limits = MempoolLimits {
        max_txs: 6,
        max_party_txs: 3,
        ..MempoolLimits::default()
    };
    let chain = Chain::open(
        genesis.clone(),
        Store::open(dir.path()).unwrap(),
        Some(&fixture().keydir),
        crypto::public_bytes(&validator_key(0).public_key()),
        limits,
    )
    .unwrap();
    chain.submit(registration(&genesis)).unwrap();
    chain.submit(publish_root(&genesis)).unwrap();
    for i in 0..3 {
        chain.submit(proof_tx(i)).unwrap();
    }
    assert_eq!(chain.mempool_size().0, 5);
    let decoded = chain.metrics.proofs_verified();

    // Bytes naming the trader as their signer whose envelope is no envelope at all: decoding
    // them would fail, so a refusal without blame shows they were not decoded.
    let mut w = Writer::new();
    w.u8(zkcustoms_ledger_types::tx::TX_VERSION)
        .u8(3)
        .str16(&ucr(9))
        .bytes(&[0xff; 600])
        .str16(TRADER)
        .fixed(&[0; 64]);
    let undecodable = w.finish();
    assert!(Transaction::from_bytes(&undecodable).is_err());
    for bytes in [proof_tx(3).to_bytes(), undecodable.clone()] {
        match chain.screen_relayed(&bytes) {
            Screened::Refused(SubmitError::PartyFull { party, waiting, .. }) => {
                assert_eq!((party.as_str(), waiting), (TRADER, 3));
            }
            other => panic!("the trader's fourth transaction: {other:?}"),
        }
    }
    assert_eq!(chain.metrics.rejected_count("party-share"), 2);
    assert_eq!(chain.metrics.proofs_verified(), decoded);

    // Bytes naming a trader not registered here are refused undecoded too, as the decoded
    // transaction would be: made-up traders, each with an empty share, cannot make a node decode.
    let mut w = Writer::new();
    w.u8(zkcustoms_ledger_types::tx::TX_VERSION)
        .u8(3)
        .str16(&ucr(9))
        .bytes(&[0xff; 600])
        .str16("DE999999999999999")
        .fixed(&[0; 64]);
    match chain.screen_relayed(&w.finish()) {
        Screened::Refused(SubmitError::Rejected(r)) => assert_eq!(r.code, "unknown-party"),
        other => panic!("an unregistered trader's transaction: {other:?}"),
    }
    assert_eq!(chain.metrics.rejected_count("unknown-party"), 1);

    // One held already costs its hash; another party's is decoded (and admitted).
    assert!(matches!(
        chain.screen_relayed(&proof_tx(0).to_bytes()),
        Screened::Held
    ));
    assert_eq!(chain.metrics.relayed_held_count(), 1);
    let root = publish_root_as(&genesis, &authority_key(), 2, 2);
    // A copy with other signature bytes (in R) is refused undecoded, by the signature alone:
    // under a key listed in genesis, the relaying peer's fault.
    let mut forged = root.to_bytes();
    let r = forged.len() - 40;
    forged[r] ^= 1;
    match chain.screen_relayed(&forged) {
        Screened::Refused(SubmitError::Rejected(r)) => assert_eq!(r.code, "bad-signature"),
        other => panic!("a copy with another signature: {other:?}"),
    }
    assert_eq!(chain.metrics.rejected_count("bad-signature"), 1);
    // The real one's signature is verified once: screening it, not again on admission.
    assert!(matches!(
        chain.screen_relayed(&root.to_bytes()),
        Screened::Decode
    ));
    let reused = chain.signature_verdicts_reused();
    let admitted = chain.submit_many_from_peer(vec![root]);
    assert!(admitted[0].is_ok(), "{admitted:?}");
    assert!(chain.signature_verdicts_reused() > reused);

    // The mempool is full: nobody's transaction is decoded, bytes that name no signer are
    // (for the decoding to name their fault).
    assert_eq!(chain.mempool_size().0, 6);
    let root = publish_root_as(&genesis, &authority_key(), 3, 3);
    assert!(matches!(
        chain.screen_relayed(&root.to_bytes()),
        Screened::Refused(SubmitError::Full(6))
    ));
    assert_eq!(chain.metrics.rejected_count("mempool-full"), 1);
    assert!(matches!(
        chain.screen_relayed(&[0xde, 0xad]),
        Screened::Decode
    ));
    // Bytes longer than any transaction are refused unhashed, as the peer's fault.
    let long = vec![1; zkcustoms_ledger_types::tx::MAX_TX_BYTES + 1];
    assert!(matches!(
        chain.screen_relayed(&long),
        Screened::Oversized(n) if n == long.len()
    ));
}

/// Relays a validator refuses for a reason that is no proof of fault (here, copies of a trader's
/// transaction with other signature bytes: the key may have changed) each cost it a signature
/// check: a peer is heard for at most its budget of such refusals, and while the budget is spent
/// its relays are dropped unread, without blocking it.
#[test]
fn a_peer_is_heard_for_its_budget_of_refused_relays() {
    use commonware_p2p::{Recipients, Sender as _};
    use zkcustoms_node::consensus::{RELAY_REFUSALS_PER_SECOND, RELAY_REFUSAL_BURST};
    runner(11).start(|context| async move {
        let (cluster, honest, mut hashes, mut txs, _txs_in) =
            with_a_sender(&context, channel::TRANSACTIONS).await;
        hashes.push(cluster.submit(0, &proof_tx(0)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;

        // Copies of the trader's next transaction, each with other bytes in its signature's R.
        let bytes = proof_tx(1).to_bytes();
        let sent = RELAY_REFUSAL_BURST + 500;
        let to_0 = cluster.keys[0].clone();
        let start = context.current();
        for i in 0..sent {
            let mut forged = bytes.clone();
            let at = forged.len() - 64 + (i % 32) as usize;
            forged[at] ^= 1 + (i / 32) as u8;
            let to = txs.send(Recipients::One(to_0.clone()), forged, false);
            assert_eq!(to, vec![to_0.clone()]);
        }
        let metrics = &cluster.chain(0).metrics;
        let heard = || metrics.rejected_count("wrong-party-key");
        let deadline = context.current() + WITHIN;
        while heard() + metrics.relayed_unheard_count() < sent {
            assert!(context.current() < deadline, "relays not all handled");
            context.sleep(Duration::from_millis(50)).await;
        }
        let elapsed = context.current().duration_since(start).unwrap();
        let budget =
            RELAY_REFUSAL_BURST as f64 + RELAY_REFUSALS_PER_SECOND as f64 * elapsed.as_secs_f64();
        assert!(
            (heard() as f64) <= budget + 1.0,
            "{} refused relays heard, budget {budget}",
            heard()
        );
        assert!(metrics.relayed_unheard_count() > 0);
        let blocked = cluster.oracle.blocked().await.unwrap();
        assert!(blocked.is_empty(), "nobody is blocked: {blocked:?}");
        // The validators finalize on, validator 0 included.
        hashes.push(cluster.submit(1, &proof_tx(1)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
    });
}

/// A transaction relayed again and again costs a validator that holds it a hash each time, not
/// a decoding of its proof points; relaying a transaction is no fault, so the peer stays
/// connected.
#[test]
fn a_transaction_relayed_again_is_not_decoded_again() {
    use commonware_p2p::{Recipients, Sender as _};
    runner(10).start(|context| async move {
        // Validator 3 only relays, on the transactions channel.
        let (cluster, honest, mut hashes, mut txs, _txs_in) =
            with_a_sender(&context, channel::TRANSACTIONS).await;
        let finalized = proof_tx(0);
        hashes.push(cluster.submit(0, &finalized));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
        assert_eq!(cluster.chain(0).metrics.relayed_held_count(), 0);

        // The same finalized transaction, relayed to validator 0 again and again.
        const COPIES: u64 = 50;
        let to_0 = cluster.keys[0].clone();
        for _ in 0..COPIES {
            let to = txs.send(Recipients::One(to_0.clone()), finalized.to_bytes(), false);
            assert_eq!(to, vec![to_0.clone()]);
        }
        let deadline = context.current() + WITHIN;
        while cluster.chain(0).metrics.relayed_held_count() < COPIES {
            assert!(
                context.current() < deadline,
                "relayed copies not recognised: {}",
                cluster.chain(0).metrics.relayed_held_count()
            );
            context.sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(cluster.chain(0).metrics.relayed_held_count(), COPIES);
        let blocked = cluster.oracle.blocked().await.unwrap();
        assert!(
            blocked.is_empty(),
            "nobody is blocked for relaying: {blocked:?}"
        );
        // The validators finalize on.
        hashes.push(cluster.submit(1, &proof_tx(1)));
        cluster.wait_included(&honest, &hashes, WITHIN).await;
    });
}
