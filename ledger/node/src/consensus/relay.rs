//! The blocks channel: blocks received from peers and not validated yet, sending and requesting
//! blocks, and validating a proposal once its block is here.

use super::*;

/// Blocks received from peers and not validated yet, bounded by count and by encoded bytes, kept
/// as their bytes until something needs them decoded (see [`Shared::received`]). Beyond either
/// bound, the peer that sent the most (blocks, or bytes) loses its oldest block:
/// a peer flooding the channel evicts its own blocks, never those of a peer that sends fewer.
#[derive(Default)]
pub(super) struct Received {
    blocks: HashMap<Hash, Entry>,
    order: VecDeque<Hash>,
    bytes: usize,
    by_peer: HashMap<PublicKey, Share>,
}

struct Entry {
    body: Body,
    size: usize,
    peer: PublicKey,
}

/// A received block: its bytes (encoding and commitment checked, transactions not decoded) until
/// a proposal, a parent or a finalization needs it, then the block decoded.
#[derive(Clone)]
pub(super) enum Body {
    /// The block's canonical bytes.
    Encoded(Arc<[u8]>),
    /// The block, decoded with full validation.
    Decoded(Block),
}

/// What one peer's blocks take of the bounds.
#[derive(Default, Clone, Copy)]
struct Share {
    blocks: usize,
    bytes: usize,
}

/// Most blocks kept while they wait for validation.
pub(super) const RECEIVED_CAPACITY: usize = 256;
/// Most encoded bytes of blocks kept while they wait for validation.
pub(super) const RECEIVED_BYTES: usize = 64 << 20;

impl Received {
    /// Keeps a block of `size` encoded bytes sent by `peer`; beyond either bound, the peer
    /// holding the most of what is over loses its oldest block, until both bounds hold.
    pub(super) fn insert(&mut self, hash: Hash, body: Body, size: usize, peer: PublicKey) {
        if self.blocks.contains_key(&hash) {
            return;
        }
        let share = self.by_peer.entry(peer.clone()).or_default();
        share.blocks += 1;
        share.bytes += size;
        self.blocks.insert(hash, Entry { body, size, peer });
        self.order.push_back(hash);
        self.bytes += size;
        loop {
            let over_count = self.order.len() > RECEIVED_CAPACITY;
            if !over_count && self.bytes <= RECEIVED_BYTES {
                break;
            }
            let Some(greediest) = self
                .by_peer
                .iter()
                .max_by_key(|(_, s)| if over_count { s.blocks } else { s.bytes })
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            let Some(at) = self
                .order
                .iter()
                .position(|h| self.blocks.get(h).is_some_and(|e| e.peer == greediest))
            else {
                break;
            };
            if let Some(old) = self.order.remove(at) {
                self.remove_entry(&old);
            }
        }
    }

    fn remove_entry(&mut self, hash: &Hash) {
        let Some(entry) = self.blocks.remove(hash) else {
            return;
        };
        self.bytes -= entry.size;
        if let Some(share) = self.by_peer.get_mut(&entry.peer) {
            share.blocks -= 1;
            share.bytes -= entry.size;
            if share.blocks == 0 {
                self.by_peer.remove(&entry.peer);
            }
        }
    }

    /// The block `hash` as held, if a peer sent it.
    pub(super) fn body(&self, hash: &Hash) -> Option<Body> {
        self.blocks.get(hash).map(|e| e.body.clone())
    }

    /// Keeps the block `hash` decoded from now on (if it is still held).
    fn set_decoded(&mut self, hash: &Hash, block: Block) {
        if let Some(e) = self.blocks.get_mut(hash) {
            e.body = Body::Decoded(block);
        }
    }

    /// Drops the block `hash`, answering the peer that sent it.
    fn take(&mut self, hash: &Hash) -> Option<PublicKey> {
        let peer = self.blocks.get(hash)?.peer.clone();
        self.order.retain(|h| h != hash);
        self.remove_entry(hash);
        Some(peer)
    }

    /// Whether a peer sent the block `hash`.
    pub(super) fn contains(&self, hash: &Hash) -> bool {
        self.blocks.contains_key(hash)
    }
}

/// Heights above the finalized tip past which a block from a peer is dropped unread: this
/// validator could not validate it before catching up (see `try_validate`'s depth), and it is
/// asked for again when it is needed.
pub(super) const MAX_AHEAD: u64 = 256;

/// What becomes of a block a peer sent, decided from its header alone, before any of its
/// transactions is decoded.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Screen {
    /// Decode it and keep it until a proposal needs it.
    Keep,
    /// Drop it unread: useless here, through no fault of the sender (it was sent before this
    /// validator finalized that height, it came twice, or this validator lags).
    Ignore(&'static str),
    /// Drop it and block the sender: no honest validator sends it (an honest validator sends
    /// only blocks it built or validated, each proposed by a genesis validator at height 1 or
    /// more).
    Refuse(&'static str),
}

/// Screens a block's header: `validators` are the genesis validators' keys, `max_txs` the most
/// transactions genesis allows in a block, `tip` the finalized height, `seen` whether this
/// validator holds or was sent the block already.
pub(super) fn screen(
    header: &BlockHeader,
    tip: u64,
    validators: &HashSet<[u8; 32]>,
    max_txs: u32,
    seen: impl FnOnce() -> bool,
) -> Screen {
    if !validators.contains(&header.proposer) {
        return Screen::Refuse("its proposer is not a validator");
    }
    if header.tx_count > max_txs {
        return Screen::Refuse("more transactions than genesis allows in a block");
    }
    if header.height == 0 {
        return Screen::Refuse("height 0 is the genesis");
    }
    if header.height <= tip {
        return Screen::Ignore("its height is finalized already");
    }
    if header.height > tip + MAX_AHEAD {
        return Screen::Ignore("too far above the finalized tip");
    }
    if seen() {
        return Screen::Ignore("held or received already");
    }
    Screen::Keep
}

/// What the validator's tasks share.
pub(super) struct Shared<S> {
    pub(super) chain: Arc<Chain>,
    pub(super) received: Mutex<Received>,
    pub(super) arrivals: watch::Sender<u64>,
    pub(super) blocks_out: Mutex<S>,
    /// The genesis validators' keys, as a block's header names its proposer.
    pub(super) validators: HashSet<[u8; 32]>,
    /// What each peer may still ask this validator to send it (shared with catch-up).
    pub(super) serving: Arc<Mutex<ServingBudget>>,
    /// Set while catch-up fetches finalized blocks: no block is asked for meanwhile.
    pub(super) lag: crate::sync::Lag,
    /// Blocks a peer (one that sent a block that does not decode, found once it is needed).
    pub(super) block_peer: Mutex<Box<dyn FnMut(PublicKey) + Send>>,
}

/// Tag of a block on the blocks channel.
pub const BLOCK_TAG: u8 = 1;
/// Tag of a block request.
pub const BLOCK_REQUEST_TAG: u8 = 2;

/// A message on the blocks channel: `BLOCK_TAG | block` or `BLOCK_REQUEST_TAG | hash`.
#[derive(Debug)]
pub enum BlocksMessage {
    /// A block, with its encoded size in bytes.
    Block(Block, usize),
    /// A request for the block with this hash.
    Request(Hash),
}

/// Why a message on the blocks channel is malformed. No honest validator sends one (it sends
/// only [`Shared::send_block_bytes`]'s and [`Shared::request_block`]'s messages), so the sender is
/// blocked.
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    /// Larger than any block message ([`MAX_MESSAGE`]).
    #[error("{0} bytes, more than a message on the blocks channel holds")]
    TooLarge(usize),
    /// No tag.
    #[error("an empty message")]
    Empty,
    /// A tag that is neither a block's nor a request's.
    #[error("unknown tag {0}")]
    Tag(u8),
    /// A block request that is not exactly one hash.
    #[error("a block request of {0} bytes, not 32")]
    Request(usize),
    /// A block that does not decode (its encoding, a transaction, or its transaction root).
    #[error("a block that does not decode: {0}")]
    Block(#[from] zkcustoms_ledger_types::block::BlockError),
}

/// A message on the blocks channel read only as far as it must be to screen it: a block's
/// header (the rest of the block not decoded yet), or a request.
#[derive(Debug)]
pub enum Peeked<'a> {
    /// A block: its header and its whole encoding (header included).
    Block(BlockHeader, &'a [u8]),
    /// A request for the block with this hash.
    Request(Hash),
}

impl BlocksMessage {
    /// Decodes a message with full validation, its size checked before anything is read
    /// ([`BlocksMessage::peek`], then the whole block).
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        match Self::peek(bytes)? {
            Peeked::Block(_, block) => {
                Ok(BlocksMessage::Block(Block::from_bytes(block)?, block.len()))
            }
            Peeked::Request(hash) => Ok(BlocksMessage::Request(hash)),
        }
    }

    /// Reads a message's size, tag, and a request's hash or a block's header, leaving a
    /// block's transactions undecoded: what is checked before any costlier work.
    pub fn peek(bytes: &[u8]) -> Result<Peeked<'_>, Malformed> {
        if bytes.len() > MAX_MESSAGE as usize {
            return Err(Malformed::TooLarge(bytes.len()));
        }
        match bytes.split_first() {
            None => Err(Malformed::Empty),
            Some((&BLOCK_TAG, rest)) => Ok(Peeked::Block(
                BlockHeader::peek(rest).map_err(zkcustoms_ledger_types::block::BlockError::from)?,
                rest,
            )),
            Some((&BLOCK_REQUEST_TAG, rest)) => {
                let hash: Hash = rest
                    .try_into()
                    .map_err(|_| Malformed::Request(rest.len()))?;
                Ok(Peeked::Request(hash))
            }
            Some((&tag, _)) => Err(Malformed::Tag(tag)),
        }
    }
}

impl<S: Sender<PublicKey = PublicKey>> Shared<S> {
    /// Sends a block's canonical bytes (of height `height`).
    pub(super) fn send_block_bytes(&self, height: u64, block: &[u8], to: Recipients<PublicKey>) {
        let mut msg = Vec::with_capacity(1 + block.len());
        msg.push(BLOCK_TAG);
        msg.extend_from_slice(block);
        if msg.len() > MAX_MESSAGE as usize {
            error!(height, "block too large to send");
            return;
        }
        let sent = self
            .blocks_out
            .lock()
            .expect("sender lock")
            .send(to, msg, true);
        debug!(height, peers = sent.len(), "sent a block");
    }

    pub(super) fn request_block(&self, hash: &Hash, from: Recipients<PublicKey>) {
        let mut msg = vec![BLOCK_REQUEST_TAG];
        msg.extend_from_slice(hash);
        let sent = self
            .blocks_out
            .lock()
            .expect("sender lock")
            .send(from, msg, false);
        debug!(block = %hex::encode(&hash[..6]), peers = sent.len(), "asked for a block");
    }

    /// The block `hash`, held here (pending or finalized) or received from a peer.
    pub(super) fn any_block(&self, hash: &Hash) -> Option<Block> {
        match self.chain.block_by_hash(hash) {
            Ok(Some(block)) => Some(block),
            Ok(None) => self.received(hash),
            Err(e) => {
                error!(error = %e, "cannot read the store");
                None
            }
        }
    }

    /// The block `hash`, if a peer sent it. A block is kept as its bytes when it arrives, and
    /// decoded (its transactions, proof points above all, with full validation; those this
    /// validator holds in its mempool, decoded and checked, are not decoded again) the first
    /// time it is needed here: a peer sending blocks no proposal, parent or finalization names
    /// makes this validator hash them, never decode them. A block that does not decode is dropped
    /// and its sender blocked: its header commits to its transactions' bytes, so only a faulty
    /// validator proposed or sent it.
    pub(super) fn received(&self, hash: &Hash) -> Option<Block> {
        let bytes = match self.received.lock().expect("received lock").body(hash)? {
            Body::Decoded(block) => return Some(block),
            Body::Encoded(bytes) => bytes,
        };
        let known = |hash: &Hash| self.chain.pending_tx(hash);
        match Block::from_bytes_reusing(&bytes, known) {
            Ok(block) => {
                self.received
                    .lock()
                    .expect("received lock")
                    .set_decoded(hash, block.clone());
                Some(block)
            }
            Err(why) => {
                let peer = self.received.lock().expect("received lock").take(hash);
                if let Some(peer) = peer {
                    warn!(%peer, %why, "a block received does not decode: blocked");
                    (self.block_peer.lock().expect("blocker lock"))(peer);
                }
                None
            }
        }
    }

    /// Takes in a message a peer sent on the blocks channel: a block is screened by its header
    /// ([`screen`]), its encoding and commitment checked by hashing its transactions' bytes
    /// ([`Block::check_commitment`]), and kept as its bytes until something needs it decoded
    /// ([`Shared::received`]); a
    /// request is answered with the block's bytes as held (a finalized block is not decoded to
    /// be sent), if the peer's serving budget covers it at `now` (a request beyond it is
    /// dropped, the peer not blamed). Errors with why the peer must be blocked.
    pub(super) fn take_message(
        &self,
        peer: PublicKey,
        msg: &[u8],
        now: SystemTime,
    ) -> Result<(), String> {
        match BlocksMessage::peek(msg).map_err(|why| why.to_string())? {
            Peeked::Block(header, bytes) => {
                let hash = header.hash();
                let seen = || {
                    self.received.lock().expect("received lock").contains(&hash)
                        || matches!(self.chain.knows_block(&hash), Ok(true))
                };
                let max_txs = self.chain.genesis().params().max_block_txs;
                match screen(&header, self.chain.tip().0, &self.validators, max_txs, seen) {
                    Screen::Keep => {}
                    Screen::Ignore(why) => {
                        debug!(%peer, height = header.height, why, "ignored a block");
                        return Ok(());
                    }
                    Screen::Refuse(why) => return Err(format!("a block: {why}")),
                }
                Block::check_commitment(bytes).map_err(|why| Malformed::Block(why).to_string())?;
                debug!(%peer, height = header.height, "received a block");
                self.received.lock().expect("received lock").insert(
                    hash,
                    Body::Encoded(bytes.into()),
                    bytes.len(),
                    peer,
                );
                self.arrivals.send_modify(|n| *n += 1);
            }
            Peeked::Request(hash) => {
                debug!(%peer, block = %hex::encode(&hash[..6]), "asked for a block");
                let available = self
                    .serving
                    .lock()
                    .expect("serving lock")
                    .available(&peer, now);
                // The message is the tag, then the block.
                let max_len = usize::try_from(available.saturating_sub(1)).unwrap_or(usize::MAX);
                match self.chain.block_bytes_by_hash(&hash, max_len) {
                    Ok(Some(HeldBlock::Bytes { height, bytes })) => {
                        let charged = self.serving.lock().expect("serving lock").spend(
                            &peer,
                            1 + bytes.len(),
                            now,
                        );
                        if charged {
                            self.send_block_bytes(height, &bytes, Recipients::One(peer));
                        }
                    }
                    Ok(Some(HeldBlock::Longer { height, len })) => {
                        debug!(
                            %peer,
                            height,
                            len,
                            available,
                            "a block request beyond the peer's serving budget: not answered"
                        );
                    }
                    Ok(None) => {}
                    Err(e) => error!(error = %e, "cannot read a block"),
                }
            }
        }
        Ok(())
    }
}

/// Where validating a proposal stands.
pub(super) enum Validation {
    /// Validated (`true`) or refused.
    Verdict(bool),
    /// A block is missing (the proposal itself, or an ancestor nobody sent yet).
    Missing(Hash),
}

/// Where validating the block `hash` stands, whatever its parent: known here already (genesis,
/// finalized or validated), validated now from the blocks received, or missing (it, or an
/// ancestor).
pub(super) fn try_validate_block<S: Sender<PublicKey = PublicKey>>(
    shared: &Shared<S>,
    hash: Hash,
) -> Validation {
    match shared.chain.knows_block(&hash) {
        Ok(true) => return Validation::Verdict(true),
        Ok(false) => {}
        Err(e) => {
            error!(error = %e, "cannot read the store");
            return Validation::Verdict(false);
        }
    }
    match shared.received(&hash) {
        Some(block) => try_validate(shared, block.header.parent, hash, 0),
        None => Validation::Missing(hash),
    }
}

/// How often a missing block is asked for again.
pub(super) const ASK_AGAIN: Duration = Duration::from_millis(250);

/// When a missing block is asked for: first `first_after` after the wait began (a block is
/// normally on its way, the leader having sent it to everyone), then every [`ASK_AGAIN`]. The
/// schedule is anchored at the start of the wait and at the last request, never at the time it
/// is looked at, so that waking up for other reasons (other blocks arriving) never postpones a
/// request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Asking {
    start: SystemTime,
    first_after: Duration,
    last: Option<SystemTime>,
    requests: u32,
}

impl Asking {
    /// A wait that began at `start`, its first request due `first_after` later.
    pub(super) fn new(start: SystemTime, first_after: Duration) -> Self {
        Self {
            start,
            first_after,
            last: None,
            requests: 0,
        }
    }

    /// When the next request is due.
    pub(super) fn due(&self) -> SystemTime {
        match self.last {
            None => self.start + self.first_after,
            Some(t) => t + ASK_AGAIN,
        }
    }

    /// Whether a request is due at `now`; when it is, it counts as made at `now`. Answers the
    /// number of requests made before this one.
    pub(super) fn ask_now(&mut self, now: SystemTime) -> Option<u32> {
        if now < self.due() {
            return None;
        }
        let before = self.requests;
        self.last = Some(now);
        self.requests += 1;
        Some(before)
    }
}

/// Waits until `check` gives a verdict, asking for whatever block it finds missing (first from
/// `first`, then, from the second request on, from every validator) and re-checking as blocks
/// arrive. `None` when `deadline` passes, `abandon` says the answer is no longer wanted, or a
/// block is missing while this validator is catching up ([`crate::sync::Lag`]: catch-up brings
/// the finalized blocks, and the others could not be validated before it is done).
pub(super) async fn obtain<E: Clock, S: Sender<PublicKey = PublicKey>>(
    ctx: &E,
    shared: &Shared<S>,
    mut check: impl FnMut() -> Validation,
    first: Option<PublicKey>,
    deadline: SystemTime,
    abandon: impl Fn() -> bool,
) -> Option<bool> {
    let mut arrivals = shared.arrivals.subscribe();
    let mut asking = Asking::new(ctx.current(), ASK_AGAIN / 2);
    loop {
        arrivals.borrow_and_update();
        let missing = match check() {
            Validation::Verdict(v) => return Some(v),
            Validation::Missing(m) => m,
        };
        let now = ctx.current();
        if now >= deadline || abandon() || shared.lag.catching_up() {
            return None;
        }
        if let Some(before) = asking.ask_now(now) {
            let to = match (&first, before) {
                (Some(leader), 0) => Recipients::One(leader.clone()),
                _ => Recipients::All,
            };
            shared.request_block(&missing, to);
        }
        let changed = arrivals.changed();
        let sleep = ctx.sleep_until(asking.due().min(deadline));
        futures::pin_mut!(changed, sleep);
        futures::future::select(changed, sleep).await;
    }
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
    // A block held here (pending or finalized) was validated here already; its finalization may
    // be applied before the vote on its proposal is asked for, when this validator lags.
    let held = match chain.block_by_hash(&hash) {
        Ok(held) => held,
        Err(e) => {
            error!(error = %e, "cannot read the store");
            return Validation::Verdict(false);
        }
    };
    let held_here = held.is_some();
    let Some(block) = held.or_else(|| shared.received(&hash)) else {
        return Validation::Missing(hash);
    };
    if block.header.parent != parent {
        warn!("refused a proposed block: it does not extend the proposal's parent");
        return Validation::Verdict(false);
    }
    if held_here {
        return Validation::Verdict(true);
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
    let start = std::time::Instant::now();
    let validated = chain.validate(parent, &block);
    debug!(
        height = block.header.height,
        txs = block.txs.len(),
        took_us = start.elapsed().as_micros() as u64,
        "validated a block"
    );
    match validated {
        Ok(()) => Validation::Verdict(true),
        Err(BlockError::Store(e)) => {
            error!(error = %e, "cannot validate a block");
            Validation::Verdict(false)
        }
        Err(why) => {
            warn!(%why, height = block.header.height, "refused a proposed block");
            Validation::Verdict(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkcustoms_ledger_types::block::HEADER_LEN;

    #[test]
    fn blocks_messages_decode_only_when_well_formed() {
        let block = Block::new(1, [0; 32], 0, [0; 32], Vec::new());
        let mut msg = vec![BLOCK_TAG];
        msg.extend_from_slice(&block.to_bytes());
        match BlocksMessage::decode(&msg) {
            Ok(BlocksMessage::Block(b, size)) => {
                assert_eq!((b, size), (block.clone(), msg.len() - 1));
            }
            other => panic!("a block: {other:?}"),
        }
        let mut request = vec![BLOCK_REQUEST_TAG];
        request.extend_from_slice(&[7; 32]);
        assert!(matches!(
            BlocksMessage::decode(&request),
            Ok(BlocksMessage::Request(h)) if h == [7; 32]
        ));

        // Each of these is refused, so its sender is blocked.
        assert!(matches!(BlocksMessage::decode(&[]), Err(Malformed::Empty)));
        assert!(matches!(
            BlocksMessage::decode(&[9, 1, 2]),
            Err(Malformed::Tag(9))
        ));
        for n in [0, 31, 33] {
            let mut short = vec![BLOCK_REQUEST_TAG];
            short.resize(1 + n, 0);
            assert!(matches!(
                BlocksMessage::decode(&short),
                Err(Malformed::Request(m)) if m == n
            ));
        }
        assert!(matches!(
            BlocksMessage::decode(&[BLOCK_TAG, 1, 2, 3]),
            Err(Malformed::Block(_))
        ));
        // A block with a trailing byte, or whose transaction root is not its transactions', is
        // refused.
        let mut long = msg.clone();
        long.push(0);
        assert!(matches!(
            BlocksMessage::decode(&long),
            Err(Malformed::Block(_))
        ));
        let mut changed = msg.clone();
        // The tag, the header's version, height, parent and timestamp, then the root.
        changed[1 + 1 + 8 + 32 + 8] ^= 1;
        assert!(matches!(
            BlocksMessage::decode(&changed),
            Err(Malformed::Block(_))
        ));
        // The size is checked before anything is decoded.
        let mut huge = vec![BLOCK_TAG];
        huge.resize(MAX_MESSAGE as usize + 1, 0);
        assert!(matches!(
            BlocksMessage::decode(&huge),
            Err(Malformed::TooLarge(n)) if n == MAX_MESSAGE as usize + 1
        ));
    }

    fn peer(seed: u64) -> PublicKey {
        commonware_cryptography::Signer::public_key(
            &<PrivateKey as commonware_cryptography::Signer>::from_seed(seed),
        )
    }

    #[test]
    fn received_blocks_are_bounded_by_count_and_by_bytes() {
        let block = |h: u64| Block::new(h, [0; 32], 0, [0; 32], Vec::new());
        let mut r = Received::default();
        let mut last = [0; 32];
        for h in 1..=300 {
            let b = block(h);
            last = b.hash();
            r.insert(last, Body::Decoded(b), 10, peer(1));
        }
        assert_eq!(
            (r.order.len(), r.blocks.len()),
            (RECEIVED_CAPACITY, RECEIVED_CAPACITY)
        );
        assert!(r.contains(&last), "the newest are kept");
        assert!(!r.contains(&block(1).hash()), "the oldest are dropped");
        let mut r = Received::default();
        for h in 1..=10 {
            let b = block(h);
            last = b.hash();
            r.insert(last, Body::Decoded(b), 20 << 20, peer(1));
        }
        assert_eq!(r.blocks.len(), 3);
        assert!(r.bytes <= RECEIVED_BYTES);
        assert!(r.contains(&last));
        // A block seen again is not counted twice.
        let again = block(10);
        r.insert(again.hash(), Body::Decoded(again), 20 << 20, peer(2));
        assert_eq!((r.blocks.len(), r.bytes), (3, 60 << 20));
    }

    /// A peer that floods the channel (by count, then by bytes) evicts only its own blocks: the
    /// blocks of peers that send fewer stay until a proposal needs them.
    #[test]
    fn a_flooding_peer_evicts_only_its_own_blocks() {
        let block = |h: u64| Block::new(h, [1; 32], 0, [0; 32], Vec::new());
        let mut r = Received::default();
        let honest: Vec<Hash> = (1..=3)
            .map(|h| {
                let b = block(h);
                let hash = b.hash();
                r.insert(hash, Body::Decoded(b), 1_000, peer(h));
                hash
            })
            .collect();
        for h in 100..1_100 {
            r.insert(block(h).hash(), Body::Decoded(block(h)), 10, peer(9));
        }
        assert_eq!(r.blocks.len(), RECEIVED_CAPACITY);
        for hash in &honest {
            assert!(r.contains(hash), "a flood by count evicted an honest block");
        }
        assert!(
            r.contains(&block(1_099).hash()),
            "the flooder's newest is kept"
        );
        for h in 2_000..2_010 {
            r.insert(block(h).hash(), Body::Decoded(block(h)), 20 << 20, peer(9));
        }
        assert!(r.bytes <= RECEIVED_BYTES);
        for hash in &honest {
            assert!(r.contains(hash), "a flood by bytes evicted an honest block");
        }
        // Each peer's share is accounted exactly as its blocks come and go.
        let flooder = r.by_peer[&peer(9)];
        let held: usize = r
            .blocks
            .values()
            .filter(|e| e.peer == peer(9))
            .map(|e| e.size)
            .sum();
        assert_eq!((flooder.bytes, r.bytes), (held, held + 3_000));
        assert_eq!(r.by_peer[&peer(1)].blocks, 1);
        // A block dropped (it did not decode) gives its sender's share back.
        assert_eq!(r.take(&honest[0]), Some(peer(1)));
        assert_eq!(r.take(&honest[0]), None);
        assert!(!r.contains(&honest[0]) && !r.order.contains(&honest[0]));
        assert!(!r.by_peer.contains_key(&peer(1)));
        assert_eq!(r.bytes, held + 2_000);
    }

    /// A block is decoded only when its header names a validator, at a height above the
    /// finalized tip and not too far above it, and it is new here.
    #[test]
    fn blocks_are_screened_by_their_header_before_they_are_decoded() {
        let validator = [7; 32];
        let validators: HashSet<[u8; 32]> = [validator].into();
        let header = |height: u64, proposer: [u8; 32]| {
            Block::new(height, [0; 32], 0, proposer, Vec::new()).header
        };
        let new = || false;
        assert_eq!(
            screen(&header(11, validator), 10, &validators, 512, new),
            Screen::Keep
        );
        assert_eq!(
            screen(
                &header(10 + MAX_AHEAD, validator),
                10,
                &validators,
                512,
                new
            ),
            Screen::Keep
        );
        assert!(matches!(
            screen(&header(11, [8; 32]), 10, &validators, 512, new),
            Screen::Refuse(_)
        ));
        assert!(matches!(
            screen(&header(0, validator), 0, &validators, 512, new),
            Screen::Refuse(_)
        ));
        // More transactions than genesis allows: no honest validator proposes or sends it.
        let mut crowded = header(11, validator);
        crowded.tx_count = 513;
        assert!(matches!(
            screen(&crowded, 10, &validators, 512, new),
            Screen::Refuse(_)
        ));
        crowded.tx_count = 512;
        assert_eq!(screen(&crowded, 10, &validators, 512, new), Screen::Keep);
        for (height, seen) in [(10, false), (3, false), (11 + MAX_AHEAD, false), (11, true)] {
            assert!(
                matches!(
                    screen(&header(height, validator), 10, &validators, 512, || seen),
                    Screen::Ignore(_)
                ),
                "height {height}, seen {seen}"
            );
        }
    }

    /// Peeking reads a block's header and nothing after it; decoding reads it all.
    #[test]
    fn peeking_a_block_message_reads_only_its_header() {
        let block = Block::new(4, [2; 32], 0, [3; 32], Vec::new());
        let mut msg = vec![BLOCK_TAG];
        msg.extend_from_slice(&block.to_bytes());
        msg.extend_from_slice(&[0xff; 5]);
        match BlocksMessage::peek(&msg) {
            Ok(Peeked::Block(header, bytes)) => {
                assert_eq!((header, bytes), (block.header, &msg[1..]));
            }
            other => panic!("a block: {other:?}"),
        }
        assert!(matches!(
            BlocksMessage::decode(&msg),
            Err(Malformed::Block(_))
        ));
        assert!(matches!(
            BlocksMessage::peek(&msg[..HEADER_LEN]),
            Err(Malformed::Block(_))
        ));
    }

    /// Waits a second for the block `missing` (never received).
    async fn wait<E: Clock, S: Sender<PublicKey = PublicKey>>(
        ctx: &E,
        shared: &Shared<S>,
        missing: Hash,
    ) -> Option<bool> {
        let deadline = ctx.current() + Duration::from_secs(1);
        obtain(
            ctx,
            shared,
            || Validation::Missing(missing),
            None,
            deadline,
            || false,
        )
        .await
    }

    /// A validator that is catching up asks its peers for no block it misses (catch-up brings
    /// the finalized ones): the wait ends at once, and nothing is sent. Otherwise the block is
    /// asked for.
    #[test]
    fn a_validator_catching_up_asks_for_no_block() {
        use crate::serving::ServingLimits;
        use commonware_p2p::simulated::{self, Link, Network};
        use commonware_p2p::Receiver as _;
        use commonware_runtime::{deterministic, Quota, Runner as _};
        use zkcustoms_ledger_core::chain::MempoolLimits;
        use zkcustoms_ledger_core::store::Store;
        use zkcustoms_ledger_core::testing::single_validator_genesis;
        use zkcustoms_ledger_types::crypto;
        use zkcustoms_ledger_types::genesis::Params;

        deterministic::Runner::default().start(|context| async move {
            let (a, b) = (peer(1), peer(2));
            let (network, oracle) = Network::new_with_peers(
                context.child("network"),
                simulated::Config {
                    max_size: MAX_MESSAGE,
                    disconnect_on_block: true,
                    tracked_peer_sets: NZUsize!(1),
                },
                vec![a.clone(), b.clone()],
            )
            .await;
            network.start();
            let link = Link {
                latency: Duration::from_millis(10),
                jitter: Duration::ZERO,
                success_rate: 1.0,
            };
            oracle.add_link(a.clone(), b.clone(), link).await.unwrap();
            let quota = Quota::per_second(std::num::NonZeroU32::MAX);
            let (to_b, _) = oracle
                .control(a.clone())
                .register(crate::channels::channel::BLOCKS, quota)
                .await
                .unwrap();
            let (_, mut at_b) = oracle
                .control(b.clone())
                .register(crate::channels::channel::BLOCKS, quota)
                .await
                .unwrap();

            let validator = crypto::generate();
            let genesis = single_validator_genesis(
                "zkcustoms-lag",
                ("validator-0", &validator),
                &[],
                &[],
                vec![],
                Params::default(),
            );
            let dir = tempfile::tempdir().unwrap();
            let me = crypto::public_bytes(&crypto::public_of(&validator));
            let store = Store::open(dir.path()).unwrap();
            let chain = Chain::open(genesis, store, None, me, MempoolLimits::default()).unwrap();
            let shared = Shared {
                chain: Arc::new(chain),
                received: Mutex::new(Received::default()),
                arrivals: watch::channel(0).0,
                blocks_out: Mutex::new(to_b),
                validators: HashSet::new(),
                serving: Arc::new(Mutex::new(ServingBudget::new(ServingLimits::default()))),
                block_peer: Mutex::new(Box::new(|_| {})),
                lag: crate::sync::Lag::default(),
            };
            let missing = [9; 32];
            // Catching up: no request, and no wait.
            shared.lag.set(true);
            let start = context.current();
            assert_eq!(wait(&context, &shared, missing).await, None);
            assert_eq!(context.current(), start, "it waited");
            // Not catching up: the block is asked for (every 250 ms until the deadline).
            shared.lag.set(false);
            assert_eq!(wait(&context, &shared, missing).await, None);
            let mut asked = 0;
            loop {
                let next = at_b.recv();
                let quiet = context.sleep(Duration::from_millis(100));
                futures::pin_mut!(next, quiet);
                match futures::future::select(next, quiet).await {
                    futures::future::Either::Left((Ok((from, msg)), _)) => {
                        assert_eq!(from, a);
                        let mut request = vec![BLOCK_REQUEST_TAG];
                        request.extend_from_slice(&missing);
                        assert_eq!(msg.as_ref(), &request[..]);
                        asked += 1;
                    }
                    _ => break,
                }
            }
            assert_eq!(asked, 4, "asked at 125, 375, 625 and 875 ms");
        });
    }

    /// A missing block is asked for when its first request is due however often the wait wakes
    /// before (other blocks arriving), then every ASK_AGAIN; the first request is numbered 0
    /// (it goes to the leader alone), the later ones count up.
    #[test]
    fn missing_blocks_are_asked_for_on_schedule_whatever_wakes_the_wait() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ms = |n: u64| start + Duration::from_millis(n);
        let mut asking = Asking::new(start, ASK_AGAIN / 2);
        // Woken every 10 ms by arrivals: nothing is due before 125 ms...
        for t in (0..125).step_by(10) {
            assert_eq!(asking.ask_now(ms(t)), None, "at {t} ms");
        }
        // ...and the first request is made at 125 ms, even though the wait woke just before.
        assert_eq!(asking.due(), ms(125));
        assert_eq!(asking.ask_now(ms(125)), Some(0));
        assert_eq!(asking.ask_now(ms(130)), None);
        assert_eq!(asking.due(), ms(375));
        assert_eq!(asking.ask_now(ms(374)), None);
        // A late wake-up asks at once, and the next request is counted from it.
        assert_eq!(asking.ask_now(ms(500)), Some(1));
        assert_eq!(asking.due(), ms(750));
        assert_eq!(asking.ask_now(ms(750)), Some(2));
        // A wait that must ask at once (a proposal on a parent not received).
        let mut now = Asking::new(start, Duration::ZERO);
        assert_eq!(now.ask_now(start), Some(0));
        assert_eq!(now.ask_now(ms(100)), None);
        assert_eq!(now.ask_now(ms(250)), Some(1));
    }
}
