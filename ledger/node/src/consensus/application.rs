//! How consensus reaches the application: the mailbox that asks for proposals and verdicts and
//! broadcasts blocks, and the reporter that hands finalizations to the finalizer.

use super::*;

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
    /// Send a block this validator proposed to the others.
    Broadcast {
        /// The block hash.
        payload: Digest,
        /// To whom (`None`: every validator).
        to: Option<Vec<PublicKey>>,
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
    pub(super) sender: MailboxSender<Message>,
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

    fn broadcast(&mut self, payload: Digest, plan: Self::Plan) -> Feedback {
        let to = match plan {
            Plan::Propose { .. } => None,
            Plan::Forward { recipients, .. } => match recipients {
                Recipients::All => None,
                Recipients::Some(v) => Some(v),
                Recipients::One(p) => Some(vec![p]),
            },
        };
        self.sender.enqueue(Message::Broadcast { payload, to })
    }
}

/// A finalization to apply.
pub(super) struct Finalized {
    pub(super) payload: Digest,
    pub(super) view: u64,
    pub(super) certificate: Vec<u8>,
}

/// Receives consensus activity and forwards finalizations to the finalizer task.
#[derive(Clone)]
pub struct FinalizationReporter {
    pub(super) sender: mpsc::UnboundedSender<Finalized>,
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
