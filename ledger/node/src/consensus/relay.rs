//! The blocks channel: blocks received from peers and not validated yet, sending and requesting
//! blocks, and validating a proposal once its block is here.

use super::*;

/// Blocks received from peers and not validated yet (bounded; oldest dropped first).
#[derive(Default)]
pub(super) struct Received {
    pub(super) blocks: HashMap<Hash, Block>,
    pub(super) order: VecDeque<Hash>,
}

pub(super) const RECEIVED_CAPACITY: usize = 256;

impl Received {
    pub(super) fn insert(&mut self, hash: Hash, block: Block) {
        if self.blocks.insert(hash, block).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > RECEIVED_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.blocks.remove(&old);
            }
        }
    }
}

/// What the validator's tasks share.
pub(super) struct Shared<S> {
    pub(super) chain: Arc<Chain>,
    pub(super) received: Mutex<Received>,
    pub(super) arrivals: watch::Sender<u64>,
    pub(super) blocks_out: Mutex<S>,
}

/// Tags of messages on the blocks channel.
pub(super) const BLOCK_TAG: u8 = 1;
pub(super) const BLOCK_REQUEST_TAG: u8 = 2;

impl<S: Sender<PublicKey = PublicKey>> Shared<S> {
    pub(super) fn send_block(&self, block: &Block, to: Recipients<PublicKey>) {
        let mut msg = Vec::with_capacity(1 + block.header.tx_count as usize * 512);
        msg.push(BLOCK_TAG);
        msg.extend_from_slice(&block.to_bytes());
        if msg.len() > MAX_MESSAGE as usize {
            error!(height = block.header.height, "block too large to send");
            return;
        }
        let _ = self
            .blocks_out
            .lock()
            .expect("sender lock")
            .send(to, msg, true);
    }

    pub(super) fn request_block(&self, hash: &Hash, from: PublicKey) {
        let mut msg = vec![BLOCK_REQUEST_TAG];
        msg.extend_from_slice(hash);
        let _ =
            self.blocks_out
                .lock()
                .expect("sender lock")
                .send(Recipients::One(from), msg, false);
    }

    pub(super) fn received(&self, hash: &Hash) -> Option<Block> {
        self.received
            .lock()
            .expect("received lock")
            .blocks
            .get(hash)
            .cloned()
    }
}

/// Where validating a proposal stands.
pub(super) enum Validation {
    /// Validated (`true`) or refused.
    Verdict(bool),
    /// A block is missing (the proposal itself, or an ancestor nobody sent yet).
    Missing(Hash),
}

/// Validates the block `hash` proposed on `parent`, first validating (from the blocks received)
/// any ancestors this validator does not hold yet.
pub(super) fn try_validate<S: Sender<PublicKey = PublicKey>>(
    shared: &Shared<S>,
    parent: Hash,
    hash: Hash,
    depth: usize,
) -> Validation {
    let chain = &shared.chain;
    let Some(block) = chain
        .pending_block(&hash)
        .or_else(|| shared.received(&hash))
    else {
        return Validation::Missing(hash);
    };
    if block.header.parent != parent {
        warn!("refused a proposed block: it does not extend the proposal's parent");
        return Validation::Verdict(false);
    }
    match chain.knows_block(&parent) {
        Ok(true) => {}
        Ok(false) => {
            let Some(p) = shared.received(&parent) else {
                return Validation::Missing(parent);
            };
            if depth >= 64 {
                return Validation::Verdict(false);
            }
            match try_validate(shared, p.header.parent, parent, depth + 1) {
                Validation::Verdict(true) => {}
                other => return other,
            }
        }
        Err(e) => {
            error!(error = %e, "cannot read the store");
            return Validation::Verdict(false);
        }
    }
    match chain.validate(parent, &block) {
        Ok(()) => Validation::Verdict(true),
        Err(why) if why.is_fault() => {
            warn!(%why, height = block.header.height, "refused a proposed block");
            Validation::Verdict(false)
        }
        Err(e) => {
            error!(error = %e, "cannot validate a block");
            Validation::Verdict(false)
        }
    }
}
