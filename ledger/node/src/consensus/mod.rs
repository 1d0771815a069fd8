//! The ledger as a Commonware `simplex` application, and the validator that runs it.
//!
//! Consensus asks the application to propose a block (built from the mempool) and to verify
//! others' blocks; the consensus payload is the block hash. A proposal waits for transactions
//! while the view lasts and is dropped when none arrive (the view is then skipped), so an idle
//! ledger does not fill up with empty blocks.
//!
//! Besides consensus' own three channels a validator speaks on three more:
//! - **blocks**: the leader sends its proposed block to every validator; a validator that lacks
//!   a block asks for it: the leader first when it is to vote on the block, then every
//!   validator, and every validator at once when it is to build on the block or to apply its
//!   finalization (it may have skipped the view, or the leader may not reach it), so that a block
//!   finalized without it is fetched in a round trip rather than by catching up;
//! - **transactions**: a transaction a client submits to one validator is relayed to the
//!   others, so whichever validator leads next can include it;
//! - **sync** ([`crate::sync`]): a validator that is behind (offline, restarted, partitioned)
//!   fetches the finalized blocks it lacks, with their certificates, and checks every rule and
//!   proof of each before it applies it.
//!
//! Every block is validated in full (links, timestamp, proposer, every rule in order, every
//! proof batched) before this validator votes for it, whoever proposed it; it votes only for a
//! block that names the view's leader as its proposer.
//!
//! A peer is blocked (for the p2p configuration's block duration,
//! [`crate::channels::BLOCK_DURATION`] on a node) only for what it provably sent wrong: on the
//! blocks channel, a message that is not a block or a block request of the right size and form;
//! on the transactions channel, a transaction that does not decode or that it would have refused
//! itself ([`blame`]). A relayed transaction is screened before it is decoded
//! ([`Chain::screen_relayed`]): one held already, or one the mempool has no room for, is not
//! decoded, and not blamed on the peer.

use commonware_actor::mailbox::{self, Policy, Sender as MailboxSender};
use commonware_actor::Feedback;
use commonware_codec::Encode;
use commonware_consensus::simplex::types::{Activity, Context};
use commonware_consensus::simplex::{self, elector::RoundRobin, Plan};
use commonware_consensus::types::{Epoch, ViewDelta};
use commonware_consensus::{Automaton, CertifiableAutomaton, Relay, Reporter};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::Sha256;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{BufferPooler, Clock, Metrics, Spawner, Storage, Supervisor};
use commonware_utils::channel::oneshot;
use commonware_utils::{ordered::Set, NZUsize, NZU16};
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use std::collections::{HashMap, HashSet, VecDeque};
use std::num::{NonZeroU16, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};
use zkcustoms_ledger_core::chain::{
    BlockError, Chain, ChainError, HeldBlock, Screened, SubmitError, ARRIVAL_BATCH,
};
use zkcustoms_ledger_core::store::StoreError;
use zkcustoms_ledger_types::block::{Block, BlockHeader};
use zkcustoms_ledger_types::tx::{Hash, Transaction};

pub use zkcustoms_ledger_core::finality::Scheme;

mod application;
pub mod blame;
mod relay;

pub use relay::{BlocksMessage, Malformed, Peeked, BLOCK_REQUEST_TAG, BLOCK_TAG};

use application::*;
pub use application::{FinalizationReporter, Mailbox, Message};
use relay::*;

pub use crate::channels::{channel, MAX_MESSAGE};
pub use crate::serving::ServingLimits;
use crate::serving::{PeerBudget, ServingBudget};

/// Builds this validator's block on a parent. The honest builder is [`Chain::propose`]; the
/// fault-injection tests substitute one that forges invalid blocks.
pub type BlockBuilder =
    Arc<dyn Fn(&Chain, Hash) -> Result<Option<Block>, StoreError> + Send + Sync>;

/// Relayed transactions refused a second for a trader's signature that does not verify, that
/// each peer's budget refills by (see the relay in [`start_validator`]): far above what an honest
/// peer's relays are ever refused at for that.
pub const RELAY_REFUSALS_PER_SECOND: u64 = 100;
/// Most such refusals each peer's budget holds.
pub const RELAY_REFUSAL_BURST: u64 = 1_000;
/// The refusal of a trader's signature that does not verify under its current key.
const FORGED: &str = "wrong-party-key";

/// The page size of the consensus journal. It is part of the journal's format on disk (every
/// page carries its checksum): a data directory written with one page size cannot be read with
/// another.
const JOURNAL_PAGE_SIZE: NonZeroU16 = NZU16!(16_384);
/// Journal pages kept in memory: 4 MiB. The journal is appended to while the validator runs and
/// read back only when it restarts, and the cache is filled with zeroed pages before the first
/// view: 10,000 pages had every validator zero 164 MB as it started.
const JOURNAL_CACHED_PAGES: NonZeroUsize = NZUsize!(256);

/// How a validator runs.
#[derive(Clone)]
pub struct ValidatorConfig {
    /// The validator's signing key (listed in genesis).
    pub signer: PrivateKey,
    /// Name of the consensus journal in the runtime's storage.
    pub partition: String,
    /// How long a view waits for its leader's proposal (a vote waits twice this for a proposed
    /// block to arrive; keep it well under [`MAX_PROPOSAL_AGE_MS`](zkcustoms_ledger_core::chain::MAX_PROPOSAL_AGE_MS), the age beyond which a
    /// proposal gets no vote).
    pub leader_timeout: Duration,
    /// How long a proposal waits for transactions (less than `leader_timeout`).
    pub hold: Duration,
    /// How often a validator asks a peer whether it is behind.
    pub sync_interval: Duration,
    /// How the validator builds its blocks (`None`: honestly, from the mempool).
    pub builder: Option<BlockBuilder>,
    /// How many bytes each peer may ask this validator to send it (blocks and catch-up).
    pub serving: ServingLimits,
}

impl ValidatorConfig {
    /// The settings a node runs with.
    pub fn new(signer: PrivateKey, partition: impl Into<String>) -> Self {
        Self {
            signer,
            partition: partition.into(),
            leader_timeout: Duration::from_secs(2),
            hold: Duration::from_millis(1500),
            sync_interval: Duration::from_secs(2),
            builder: None,
            serving: ServingLimits::default(),
        }
    }
}

/// The six channels of a validator, as (sender, receiver) pairs.
pub struct Channels<S, R> {
    /// [`channel::VOTES`].
    pub votes: (S, R),
    /// [`channel::CERTIFICATES`].
    pub certificates: (S, R),
    /// [`channel::RESOLVER`].
    pub resolver: (S, R),
    /// [`channel::BLOCKS`].
    pub blocks: (S, R),
    /// [`channel::TRANSACTIONS`].
    pub transactions: (S, R),
    /// [`channel::SYNC`].
    pub sync: (S, R),
}

fn ms_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A clock for [`Chain::with_clock`] that reads a runtime's clock.
pub fn runtime_clock<E: Clock + Send + Sync + 'static>(
    context: E,
) -> impl Fn() -> u64 + Send + Sync + 'static {
    move || ms_since_epoch(context.current())
}

/// Starts a validator: the application, the block and transaction relays, the finalizer, the
/// catch-up actor and the `simplex` engine, all as children of `context` (aborting the task that
/// owns `context` stops them all).
pub fn start_validator<E, S, R, B>(
    context: E,
    chain: Arc<Chain>,
    cfg: ValidatorConfig,
    blocker: B,
    channels: Channels<S, R>,
) where
    E: BufferPooler
        + Clock
        + rand_core_10::CryptoRng
        + Spawner
        + Storage
        + Metrics
        + Supervisor
        + Send
        + Sync
        + 'static,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let genesis = chain.genesis().clone();
    let validators: Set<PublicKey> =
        commonware_utils::TryCollect::try_collect(genesis.validators.iter().cloned())
            .expect("genesis validator keys are unique");
    let scheme = Scheme::signer(
        &zkcustoms_ledger_core::finality::consensus_namespace(&genesis.chain_id),
        validators.clone(),
        cfg.signer.clone(),
    )
    .expect("the validator key is in genesis");
    let me = commonware_cryptography::Signer::public_key(&cfg.signer);
    let peers: Vec<PublicKey> = genesis
        .validators
        .iter()
        .filter(|k| **k != me)
        .cloned()
        .collect();

    let (sender, mut mailbox) = mailbox::new::<Message>(context.child("mailbox"), NZUsize!(1024));
    let mailbox_handle = Mailbox { sender };
    let (fin_tx, mut fin_rx) = mpsc::unbounded::<Finalized>();
    let reporter = FinalizationReporter { sender: fin_tx };

    let Channels {
        votes,
        certificates,
        resolver,
        blocks: (blocks_tx, mut blocks_rx),
        transactions: (mut txs_tx, mut txs_rx),
        sync,
    } = channels;
    // One byte budget per peer for what it asks this validator to send it, blocks and
    // catch-up alike.
    let serving = Arc::new(Mutex::new(ServingBudget::new(cfg.serving)));
    let lag = crate::sync::Lag::default();
    let mut received_blocker = blocker.clone();
    let shared = Arc::new(Shared {
        chain: chain.clone(),
        lag: lag.clone(),
        received: Mutex::new(Received::default()),
        arrivals: watch::channel(0).0,
        blocks_out: Mutex::new(blocks_tx),
        serving: serving.clone(),
        validators: genesis
            .validators
            .iter()
            .map(zkcustoms_ledger_types::crypto::public_bytes)
            .collect(),
        block_peer: Mutex::new(Box::new(move |peer| {
            let _ = received_blocker.block(peer);
        })),
    });

    // Catching up.
    let (sync_trigger, sync_wake) = mpsc::unbounded::<()>();
    crate::sync::start(
        context.child("sync"),
        chain.clone(),
        crate::sync::CatchUp {
            peers: peers.clone(),
            interval: cfg.sync_interval,
            serving,
            lag,
        },
        sync,
        blocker.clone(),
        sync_wake,
    );

    // Finalizations, in order.
    let fin_shared = shared.clone();
    let trigger = sync_trigger.clone();
    let fetch_wait = cfg.leader_timeout / 2;
    context
        .child("finalizer")
        .shared(true)
        .spawn(move |ctx| async move {
            while let Some(f) = fin_rx.next().await {
                let view = f.view;
                match apply_finalization(&ctx, &fin_shared, f, fetch_wait).await {
                    Ok(()) => {
                        let (height, _) = fin_shared.chain.tip();
                        debug!(height, view, "finalized");
                    }
                    Err(ChainError::UnknownBlock(b)) => {
                        info!(block = %b, "finalized block not held here: catching up");
                        let _ = trigger.unbounded_send(());
                    }
                    Err(e) => error!(error = %e, "cannot apply a finalized block"),
                }
            }
        });

    // Blocks from peers, and requests for blocks. A peer that sends a malformed message, or a
    // block no honest validator sends, is blocked; a block is screened by its header and its
    // commitment, and decoded and validated only when a proposal, a parent or a finalization
    // needs it.
    let blocks_shared = shared.clone();
    let mut blocks_blocker = blocker.clone();
    context
        .child("blocks")
        .shared(true)
        .spawn(move |ctx| async move {
            while let Ok((peer, msg)) = blocks_rx.recv().await {
                let now = ctx.current();
                if let Err(why) = blocks_shared.take_message(peer.clone(), msg.as_ref(), now) {
                    warn!(%peer, %why, "wrong message on the blocks channel: blocked");
                    let _ = blocks_blocker.block(peer);
                }
            }
        });

    // Transactions: relay what clients submit here, admit what peers relay.
    let (gossip_tx, mut gossip_rx) = mpsc::unbounded::<Transaction>();
    chain.set_gossip(gossip_tx);
    context.child("relay_out").spawn(move |_| async move {
        while let Some(tx) = gossip_rx.next().await {
            let bytes = tx.to_bytes();
            let hash = zkcustoms_ledger_types::tx::sha256(&bytes);
            let sent = txs_tx.send(Recipients::All, bytes, false);
            debug!(tx = %hex::encode(&hash[..6]), peers = sent.len(), "relayed a transaction");
        }
    });
    // A peer is blocked for a relayed transaction that does not decode, or that it would have
    // refused itself had it checked it ([`blame`]); not for a refusal that depends on the state
    // or the clock, on which honest validators disagree for a while. A trader's signature that
    // does not verify is one of those (the trader's key may have changed meanwhile), but an
    // honest peer relays only what it verified itself, so it is almost never refused for that:
    // such refusals (a signature check each) are charged to the peer's budget, and while it is
    // spent the peer's relays are dropped unread (its transactions still reach the blocks: it
    // proposes them when it leads). The refusals that follow from the state (a version, a
    // sequence, a root taken meanwhile) are not charged: a client can make honest peers meet
    // them at will.
    let relay_chain = chain.clone();
    let mut relay_blocker = blocker.clone();
    let mut refusals = PeerBudget::of_units(RELAY_REFUSALS_PER_SECOND, RELAY_REFUSAL_BURST);
    context
        .child("relay_in")
        .shared(true)
        .spawn(move |ctx| async move {
            // The transactions already received are admitted together (their proofs verified
            // in one batch), up to a batch's worth.
            while let Ok(first) = txs_rx.recv().await {
                let now = ctx.current();
                let mut received = vec![first];
                while received.len() < ARRIVAL_BATCH {
                    match txs_rx.recv().now_or_never() {
                        Some(Ok(next)) => received.push(next),
                        _ => break,
                    }
                }
                let mut peers = Vec::with_capacity(received.len());
                let mut txs = Vec::with_capacity(received.len());
                for (peer, msg) in received {
                    if refusals.available(&peer, now) == 0 {
                        relay_chain.metrics.relayed_unheard();
                        continue;
                    }
                    // Screened before it is decoded: a transaction held here already, one the
                    // mempool has no room for, one of a trader that cannot sign here, or one
                    // whose signature is not its signer's, is not decoded (its proof points
                    // above all); a bad signature under a key listed in genesis is the peer's
                    // fault, as it would be decoded.
                    match relay_chain.screen_relayed(msg.as_ref()) {
                        Screened::Held => continue,
                        Screened::Refused(e) if blame::is_provable_fault(&e) => {
                            warn!(%peer, error = %e, "relayed an invalid transaction: blocked");
                            let _ = relay_blocker.block(peer);
                            continue;
                        }
                        Screened::Refused(e) => {
                            debug!(%peer, error = %e, "relayed transaction not admitted");
                            if matches!(&e, SubmitError::Rejected(r) if r.code == FORGED) {
                                refusals.spend(&peer, 1, now);
                            }
                            continue;
                        }
                        Screened::Oversized(len) => {
                            warn!(%peer, len, "relayed more bytes than a transaction holds: blocked");
                            let _ = relay_blocker.block(peer);
                            continue;
                        }
                        Screened::Decode => {}
                    }
                    match Transaction::from_bytes(msg.as_ref()) {
                        Ok(tx) => {
                            peers.push(peer);
                            txs.push(tx);
                        }
                        Err(e) => {
                            warn!(%peer, error = %e, "relayed a malformed transaction: blocked");
                            let _ = relay_blocker.block(peer);
                        }
                    }
                }
                for (peer, result) in peers
                    .into_iter()
                    .zip(relay_chain.submit_many_from_peer(txs))
                {
                    match result {
                        Ok(h) => debug!(%peer, tx = %hex::encode(&h[..6]), "admitted a relayed transaction"),
                        Err(e) if blame::is_provable_fault(&e) => {
                            warn!(%peer, error = %e, "relayed an invalid transaction: blocked");
                            let _ = relay_blocker.block(peer);
                        }
                        Err(e) => debug!(%peer, error = %e, "relayed transaction not admitted"),
                    }
                }
            }
        });

    // The application: proposals, verifications, broadcasts.
    let hold = cfg.hold;
    let verify_timeout = cfg.leader_timeout * 2;
    let builder = cfg.builder.clone();
    let app_shared = shared.clone();
    context
        .child("application")
        .spawn(move |context| async move {
            while let Some(message) = mailbox.recv().await {
                match message {
                    Message::Propose {
                        context: round,
                        response,
                    } => {
                        let shared = app_shared.clone();
                        let parent = round.parent.1 .0;
                        let builder = builder.clone();
                        context.child("propose").shared(true).spawn(move |ctx| {
                            propose(ctx, shared, builder, parent, response, hold)
                        });
                    }
                    Message::Verify {
                        context: round,
                        payload,
                        response,
                    } => {
                        let shared = app_shared.clone();
                        context.child("verify").shared(true).spawn(move |ctx| {
                            verify(ctx, shared, round, payload.0, response, verify_timeout)
                        });
                    }
                    Message::Broadcast { payload, to } => {
                        // Reading the block waits for the mempool's lock, which a finalization
                        // may hold through a synced write: off the executor, as proposals are.
                        let shared = app_shared.clone();
                        context
                            .child("broadcast")
                            .shared(true)
                            .spawn(move |_| async move { broadcast(&shared, &payload.0, to) });
                    }
                }
            }
        });

    // Consensus.
    let leader_timeout = cfg.leader_timeout;
    let engine_cfg = simplex::Config {
        scheme,
        elector: RoundRobin::<Sha256>::default(),
        blocker,
        automaton: mailbox_handle.clone(),
        relay: mailbox_handle,
        reporter,
        partition: cfg.partition.clone(),
        mailbox_size: NZUsize!(1024),
        epoch: Epoch::zero(),
        floor: simplex::Floor::Genesis(Digest(genesis.chain_id)),
        replay_buffer: NZUsize!(1024 * 1024),
        write_buffer: NZUsize!(1024 * 1024),
        leader_timeout,
        certification_timeout: leader_timeout * 2,
        timeout_retry: Duration::from_secs(10),
        fetch_timeout: Duration::from_secs(1),
        activity_timeout: ViewDelta::new(10),
        skip_timeout: ViewDelta::new(5),
        fetch_concurrent: NZUsize!(32),
        page_cache: CacheRef::from_pooler(&context, JOURNAL_PAGE_SIZE, JOURNAL_CACHED_PAGES),
        strategy: Sequential,
        forwarding: simplex::ForwardingPolicy::Disabled,
    };
    let engine = simplex::Engine::new(context.child("engine"), engine_cfg);
    engine.start(votes, certificates, resolver);
}

/// Sends a block this validator proposed: from the pending blocks, or as stored when it was
/// finalized in the meantime. It runs on the blocking pool: reading a pending block waits for the
/// mempool's lock, which a finalization may hold through a synced write.
fn broadcast<S: Sender<PublicKey = PublicKey>>(
    shared: &Shared<S>,
    hash: &Hash,
    to: Option<Vec<PublicKey>>,
) {
    let to = match to {
        None => Recipients::All,
        Some(v) => Recipients::Some(v),
    };
    if let Some((height, bytes)) = shared.chain.pending_block_bytes(hash) {
        shared.send_block_bytes(height, &bytes, to);
        return;
    }
    match shared
        .chain
        .block_bytes_by_hash(hash, crate::channels::MAX_MESSAGE as usize - 1)
    {
        Ok(Some(HeldBlock::Bytes { height, bytes })) => shared.send_block_bytes(height, &bytes, to),
        Ok(_) => warn!("asked to send a block this validator does not hold"),
        Err(e) => warn!(error = %e, "cannot read a block to send"),
    }
}

/// Waits (up to `hold`) for transactions, then builds a block and answers its hash; answers
/// nothing when no block could be built, so consensus moves to the next view. A parent that is
/// still not finalized a third of `hold` in is extended with an empty block when there are no
/// transactions: a block notarized and nullified in the same view is finalized only through a
/// descendant, and without one its transactions would wait for new ones. A parent this
/// validator received but has not validated yet is validated first; a parent not received yet is
/// waited for.
async fn propose<E: Clock, S: Sender<PublicKey = PublicKey>>(
    ctx: E,
    shared: Arc<Shared<S>>,
    builder: Option<BlockBuilder>,
    parent: Hash,
    response: oneshot::Sender<Digest>,
    hold: Duration,
) {
    let chain = shared.chain.clone();
    if let Some(build) = builder {
        if let Ok(Some(block)) = build(&chain, parent) {
            let _ = response.send(Digest(block.hash()));
        }
        return;
    }
    let start = ctx.current();
    let deadline = start + hold;
    // A parent still unfinalized by then gets a child even without transactions (before that,
    // its finalization is most likely only being applied).
    let empty_at = start + hold / 3;
    let retry = Duration::from_millis(20);
    // A parent not received is asked for at once: the view began without it.
    let mut asking = Asking::new(start, Duration::ZERO);
    loop {
        let mut parent_missing = false;
        let unfinalized = parent != chain.tip().1;
        let candidates = matches!(chain.has_candidates_for(&parent), Ok(true));
        if candidates || (unfinalized && ctx.current() >= empty_at) {
            let known = |chain: &Chain| matches!(chain.knows_block(&parent), Ok(true));
            if !known(&chain) {
                // Validate the parent from the blocks received; ask every validator for a block
                // of its branch that never arrived (this validator may have skipped its view),
                // unless it is catching up (the parent is then most likely far above its tip).
                if let Validation::Missing(m) = try_validate_block(&shared, parent) {
                    if !shared.lag.catching_up() && asking.ask_now(ctx.current()).is_some() {
                        shared.request_block(&m, Recipients::All);
                    }
                }
            }
            match chain.propose(parent) {
                Ok(Some(block)) => {
                    info!(
                        height = block.header.height,
                        txs = block.txs.len(),
                        parent = %hex::encode(&parent[..6]),
                        waited_ms = ctx
                            .current()
                            .duration_since(start)
                            .unwrap_or_default()
                            .as_millis() as u64,
                        "proposed"
                    );
                    let _ = response.send(Digest(block.hash()));
                    return;
                }
                Ok(None) => parent_missing = !known(&chain),
                Err(e) => {
                    error!(error = %e, "cannot build a block");
                    return;
                }
            }
        }
        let now = ctx.current();
        if now >= deadline || response.is_closed() {
            debug!(
                parent = %hex::encode(&parent[..6]),
                unfinalized,
                candidates,
                parent_missing,
                mempool = chain.mempool_size().0,
                closed = response.is_closed(),
                "proposed nothing"
            );
            return;
        }
        // Wake on a new transaction, soon when the parent is still on its way, when an empty
        // block may be built on an unfinalized parent, or at the deadline.
        let wake = if parent_missing {
            (now + retry).min(deadline)
        } else if unfinalized && now < empty_at {
            empty_at
        } else {
            deadline
        };
        let arrived = chain.tx_arrived();
        let timeout = ctx.sleep_until(wake);
        futures::pin_mut!(arrived, timeout);
        futures::future::select(arrived, timeout).await;
    }
}

/// Validates a proposal, waiting (up to `timeout`) for the block, or for ancestors this
/// validator missed, to arrive; asks the leader for what is missing, then every validator.
async fn verify<E: Clock, S: Sender<PublicKey = PublicKey>>(
    ctx: E,
    shared: Arc<Shared<S>>,
    round: Context<Digest, PublicKey>,
    hash: Hash,
    response: oneshot::Sender<bool>,
    timeout: Duration,
) {
    let parent = round.parent.1 .0;
    let leader = zkcustoms_ledger_types::crypto::public_bytes(&round.leader);
    let start = ctx.current();
    let deadline = start + timeout;
    let verdict = obtain(
        &ctx,
        &shared,
        || {
            // The block must name the view's leader as its proposer: a leader cannot pass its
            // block off as another validator's (the explorer, the metrics and any blame go by
            // that name). Checked before the block's rules and proofs, which cost far more.
            if let Some(block) = shared.any_block(&hash) {
                if block.header.proposer != leader {
                    warn!(
                        height = block.header.height,
                        "refused a proposed block: it names another proposer than the view's leader"
                    );
                    return Validation::Verdict(false);
                }
                // Nor may it be dated back: validation bounds a block's time by its parent's
                // only, and after an idle spell a leader could otherwise give its block the
                // parent's old time (a registry root superseded since would still count as
                // current). Not a fault: clocks differ, so nobody is blamed.
                if let Err(e) = shared.chain.check_proposal_age(&block) {
                    warn!(height = block.header.height, error = %e, "refused to vote for a proposed block");
                    return Validation::Verdict(false);
                }
                // Nor may it be empty on a finalized parent: an idle ledger proposes nothing,
                // and an empty block only finalizes a parent consensus has not finalized
                // (`propose`). A leader proposing them anyway would fill every validator's
                // pending blocks, or the ledger, with nothing. Not a fault either: the parent
                // may have been finalized here a moment before the leader saw it.
                if block.txs.is_empty() && block.header.parent == shared.chain.tip().1 {
                    warn!(
                        height = block.header.height,
                        "refused to vote for an empty block on a finalized parent"
                    );
                    return Validation::Verdict(false);
                }
            }
            try_validate(&shared, parent, hash, 0)
        },
        Some(round.leader.clone()),
        deadline,
        || response.is_closed(),
    )
    .await;
    match verdict {
        None => {
            debug!("no verdict: the block did not arrive in time, or the vote was no longer wanted")
        }
        Some(v) => debug!(
            verdict = v,
            took_us = ctx
                .current()
                .duration_since(start)
                .unwrap_or_default()
                .as_micros() as u64,
            "verified a proposal"
        ),
    }
    let _ = response.send(verdict.unwrap_or(false));
}

/// Finalizes a block consensus finalized. A block this validator has not validated (it voted to
/// skip the view, or the certificate came before the block) is validated from the blocks
/// received, or asked for from the other validators, for up to `wait`; only then does catching
/// up take over.
async fn apply_finalization<E: Clock, S: Sender<PublicKey = PublicKey>>(
    ctx: &E,
    shared: &Shared<S>,
    f: Finalized,
    wait: Duration,
) -> Result<(), ChainError> {
    let chain = &shared.chain;
    let hash = f.payload.0;
    match chain.finalize(hash, f.view, f.certificate.clone()) {
        Err(ChainError::UnknownBlock(_)) => {}
        other => return other,
    }
    let deadline = ctx.current() + wait;
    match obtain(
        ctx,
        shared,
        || try_validate_block(shared, hash),
        None,
        deadline,
        || false,
    )
    .await
    {
        Some(true) => chain.finalize(hash, f.view, f.certificate),
        _ => Err(ChainError::UnknownBlock(hex::encode(hash))),
    }
}
