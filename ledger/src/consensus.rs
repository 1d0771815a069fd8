//! The ledger as a Commonware `simplex` application: consensus asks it to propose a block (built
//! from the mempool) and to verify others' blocks; finalizations it reports are applied to the
//! store in order.
//!
//! The consensus payload is the block hash. A proposal waits for transactions while the view
//! lasts and is dropped when none arrive (the view is then skipped), so an idle ledger does not
//! fill up with empty blocks.

use crate::chain::Chain;
use commonware_actor::mailbox::{self, Policy, Receiver, Sender};
use commonware_actor::Feedback;
use commonware_codec::Encode;
use commonware_consensus::simplex::types::{Activity, Context};
use commonware_consensus::simplex::Plan;
use commonware_consensus::{Automaton, CertifiableAutomaton, Relay, Reporter};
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::sha256::Digest;
use commonware_runtime::{Clock, Handle, Metrics, Spawner};
use commonware_utils::channel::oneshot;
use futures::channel::mpsc;
use futures::StreamExt;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, error, info, warn};

/// The signing scheme of the validators.
pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;

/// A request from consensus.
pub enum Message {
    /// Build a block.
    Propose {
        /// The round and parent.
        context: Context<Digest, PublicKey>,
        /// Where to send the block hash (dropped: no block this view).
        response: oneshot::Sender<Digest>,
    },
    /// Validate a proposed block.
    Verify {
        /// The round and parent.
        context: Context<Digest, PublicKey>,
        /// The block hash.
        payload: Digest,
        /// The verdict.
        response: oneshot::Sender<bool>,
    },
}

impl Policy for Message {
    type Overflow = VecDeque<Self>;

    fn handle(overflow: &mut VecDeque<Self>, message: Self) {
        overflow.push_back(message);
    }
}

/// What consensus holds to reach the application.
#[derive(Clone)]
pub struct Mailbox {
    sender: Sender<Message>,
}

impl Automaton for Mailbox {
    type Digest = Digest;
    type Context = Context<Digest, PublicKey>;

    async fn propose(&mut self, context: Self::Context) -> oneshot::Receiver<Digest> {
        let (response, receiver) = oneshot::channel();
        if !self
            .sender
            .enqueue(Message::Propose { context, response })
            .accepted()
        {
            warn!("application mailbox refused a proposal request");
        }
        receiver
    }

    async fn verify(&mut self, context: Self::Context, payload: Digest) -> oneshot::Receiver<bool> {
        let (response, receiver) = oneshot::channel();
        if !self
            .sender
            .enqueue(Message::Verify {
                context,
                payload,
                response,
            })
            .accepted()
        {
            warn!("application mailbox refused a verification request");
        }
        receiver
    }
}

impl CertifiableAutomaton for Mailbox {}

impl Relay for Mailbox {
    type Digest = Digest;
    type PublicKey = PublicKey;
    type Plan = Plan<PublicKey>;

    fn broadcast(&mut self, _: Digest, _: Self::Plan) -> Feedback {
        // Blocks stay with their proposer: with one validator nobody else needs them.
        Feedback::Ok
    }
}

/// A finalization to apply.
struct Finalized {
    payload: Digest,
    view: u64,
    certificate: Vec<u8>,
}

/// Receives consensus activity and forwards finalizations to the finalizer task.
#[derive(Clone)]
pub struct FinalizationReporter {
    sender: mpsc::UnboundedSender<Finalized>,
}

impl Reporter for FinalizationReporter {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Activity::Finalization(f) = activity {
            let msg = Finalized {
                payload: f.proposal.payload,
                view: f.proposal.round.view().get(),
                certificate: f.encode().to_vec(),
            };
            if self.sender.unbounded_send(msg).is_err() {
                return Feedback::Closed;
            }
        }
        Feedback::Ok
    }
}

/// The application actor.
pub struct Application<E> {
    context: E,
    chain: Arc<Chain>,
    mailbox: Receiver<Message>,
    finalized: mpsc::UnboundedReceiver<Finalized>,
    hold: Duration,
}

impl<E: Spawner + Clock + Metrics + commonware_runtime::Supervisor> Application<E> {
    /// Creates the actor, the mailbox consensus uses to reach it and the reporter consensus
    /// reports to. `hold` is how long a proposal waits for transactions (less than the leader
    /// timeout).
    pub fn new(
        context: E,
        chain: Arc<Chain>,
        mailbox_size: NonZeroUsize,
        hold: Duration,
    ) -> (Self, Mailbox, FinalizationReporter) {
        let (sender, receiver) = mailbox::new(context.child("mailbox"), mailbox_size);
        let (fin_tx, fin_rx) = mpsc::unbounded();
        (
            Self {
                context,
                chain,
                mailbox: receiver,
                finalized: fin_rx,
                hold,
            },
            Mailbox { sender },
            FinalizationReporter { sender: fin_tx },
        )
    }

    /// Starts the actor and its finalizer.
    pub fn start(self) -> Handle<()> {
        let Self {
            context,
            chain,
            mut mailbox,
            mut finalized,
            hold,
        } = self;
        let fin_chain = chain.clone();
        context
            .child("finalizer")
            .shared(true)
            .spawn(move |_| async move {
                while let Some(f) = finalized.next().await {
                    let hash = f.payload.0;
                    match fin_chain.finalize(hash, f.view, f.certificate) {
                        Ok(()) => {
                            let (height, _) = fin_chain.tip();
                            debug!(height, view = f.view, "finalized");
                        }
                        Err(e) => error!(error = %e, "cannot apply a finalized block"),
                    }
                }
            });
        context.spawn(move |context| async move {
            while let Some(message) = mailbox.recv().await {
                match message {
                    Message::Propose {
                        context: round,
                        response,
                    } => {
                        let chain = chain.clone();
                        let parent = round.parent.1 .0;
                        context
                            .child("propose")
                            .shared(true)
                            .spawn(move |ctx| propose(ctx, chain, parent, response, hold));
                    }
                    Message::Verify {
                        context: round,
                        payload,
                        response,
                    } => {
                        let verdict = match chain.pending_block(&payload.0) {
                            Some(block) => match chain.validate(round.parent.1 .0, &block) {
                                Ok(Ok(())) => true,
                                Ok(Err(why)) => {
                                    warn!(%why, "refused a proposed block");
                                    false
                                }
                                Err(e) => {
                                    error!(error = %e, "cannot validate a block");
                                    false
                                }
                            },
                            // Blocks are not relayed between validators yet: an unknown block
                            // cannot be checked, so it is not voted for.
                            None => false,
                        };
                        let _ = response.send(verdict);
                    }
                }
            }
        })
    }
}

/// Waits (up to `hold`) for transactions, then builds a block and answers its hash; answers
/// nothing when no block could be built, so consensus moves to the next view.
async fn propose<E: Clock>(
    ctx: E,
    chain: Arc<Chain>,
    parent: [u8; 32],
    response: oneshot::Sender<Digest>,
    hold: Duration,
) {
    let deadline = ctx.current() + hold;
    loop {
        if chain.has_candidates() {
            match chain.propose(parent) {
                Ok(Some(block)) => {
                    info!(
                        height = block.header.height,
                        txs = block.txs.len(),
                        "proposed"
                    );
                    let _ = response.send(Digest(block.hash()));
                    return;
                }
                Ok(None) => {}
                Err(e) => {
                    error!(error = %e, "cannot build a block");
                    return;
                }
            }
        }
        let now = ctx.current();
        if now >= deadline {
            return;
        }
        // Wake on a new transaction, or at the deadline.
        let arrived = chain.tx_arrived();
        let timeout = ctx.sleep_until(deadline);
        futures::pin_mut!(arrived, timeout);
        futures::future::select(arrived, timeout).await;
    }
}

/// Checks a stored finalization certificate offline: it decodes, it finalizes exactly this block
/// hash, and a quorum of the genesis validators signed it. Answers the consensus view.
pub fn verify_finalization(
    genesis: &crate::genesis::Genesis,
    block_hash: &crate::tx::Hash,
    certificate: &[u8],
) -> Result<u64, String> {
    use commonware_codec::Decode as _;
    use commonware_consensus::simplex::types::Finalization;
    use commonware_cryptography::certificate::Verifier as _;
    use commonware_utils::{ordered::Set, TryCollect};
    use rand_chacha_10::ChaCha20Rng;
    use rand_core_10::SeedableRng;

    let validators: Set<PublicKey> = genesis
        .validators
        .iter()
        .cloned()
        .try_collect()
        .map_err(|_| "validator keys are not unique".to_string())?;
    let scheme = Scheme::verifier(crate::node::CONSENSUS_NAMESPACE, validators);
    let finalization =
        Finalization::<Scheme, Digest>::decode_cfg(certificate, &scheme.certificate_codec_config())
            .map_err(|e| format!("certificate does not decode: {e}"))?;
    if finalization.proposal.payload.0 != *block_hash {
        return Err("certificate finalizes another block".into());
    }
    // Batch signature checks take random coefficients: seed them from the operating system.
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let mut rng = ChaCha20Rng::from_seed(seed);
    if !finalization.verify(&mut rng, &scheme, &commonware_parallel::Sequential) {
        return Err("certificate signatures do not verify against the genesis validators".into());
    }
    Ok(finalization.proposal.round.view().get())
}
