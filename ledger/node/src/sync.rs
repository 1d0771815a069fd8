//! Catching up: a validator that is behind (it was offline, restarted, or cut off by a
//! partition) fetches the finalized blocks it lacks from its peers.
//!
//! Every `interval`, and at once when consensus finalizes a block this validator does not hold,
//! it asks one peer (in turn) for the finalized blocks above its own tip. It trusts nothing it
//! receives, and keeps nothing from one response to the next:
//!
//! - a response is decoded only if it comes from the peer last asked (anything else is dropped
//!   unread);
//! - a response is read only as far as its blocks' headers and finality: no transaction or proof
//!   is decoded until what follows has been checked;
//! - only the blocks up to the last one that carries its own finalization certificate count; that
//!   certificate is verified first (signed by a quorum of the genesis validators, over that
//!   block's hash), then the blocks must link by hash from this validator's finalized tip to the
//!   certified block, and only then is each one decoded in full and validated (every ledger rule
//!   and proof, [`Chain::validate`], which stores it as pending) and the certified block
//!   finalized with its ancestors. Nothing a peer sends is stored or advances anything unless a certificate in the
//!   same response covers it, so one lying peer cannot mislead the requests that go to the others.
//! - a run of blocks finalized by one certificate can be longer than a response (consensus
//!   finalizes every unfinalized ancestor of a block with its certificate, and a validator
//!   withholding its finalize votes lets such runs grow). A response whose blocks reach no
//!   certificate then carries a [`RunProof`]: the headers from its last block up to the
//!   certified one, and that certificate. The certificate is verified over the last header, the
//!   headers must link by hash from the response's last block, and the blocks are finalized as
//!   the certified block's ancestors ([`Chain::finalize_under`]); the next response goes on from
//!   there. Without it a validator that fell behind such a run could never catch up.
//! - while responses come back full, this validator is catching up ([`Lag`]): consensus asks
//!   no peer for the blocks it misses meanwhile.
//! - a peer is blocked (for the p2p configuration's block duration) only for what it provably
//!   sent wrong: a malformed message, a certificate that does not verify, blocks that do not link
//!   to the certified one or to the finalized tip, or a certified block that breaks a rule.
//!   Blocks without a certificate are ignored, not punished.
//!
//! Serving is bounded: a peer is served at most once per [`SERVE_GAP`], each response holds
//! at most [`MAX_RESPONSE_BLOCKS`] blocks and [`crate::channels::MAX_MESSAGE`] bytes, read as
//! stored (nothing is decoded to serve it), and no more than the peer's serving budget
//! ([`crate::serving`]) covers: fewer blocks (or none) when it covers fewer.
//!
//! Wire format on [`crate::channels::channel::SYNC`]:
//! - request: `1 | from u64 | max u32`;
//! - response: `2 | count u32 | (stored block, as in the `blocks` column family: u32 len | bytes)*
//!   | proof` with the finalized blocks from height `from` on: at most `max` of them, then more
//!   until one carries its own certificate, and none after the last that does, unless a proof
//!   follows; `proof` is `0`, or `1 | count u32 | (block header: u32 len | bytes)* | view u64 |
//!   certificate (u32 len | bytes)`.

use crate::channels::MAX_MESSAGE;
use crate::serving::ServingBudget;
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner, Supervisor};
use futures::channel::mpsc;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tracing::{debug, info, warn};
use zkcustoms_ledger_core::chain::Chain;
use zkcustoms_ledger_core::finality::verify_finalization;
use zkcustoms_ledger_core::store::{Finality, RawStoredBlock};
use zkcustoms_ledger_types::block::{BlockHeader, HEADER_LEN};
use zkcustoms_ledger_types::codec::{DecodeError, Reader, Writer};
use zkcustoms_ledger_types::tx::Hash;

/// Most blocks asked for in one request.
pub const BATCH: u32 = 64;
/// Most blocks in one response: a batch, then up to as many more to reach a block with its own
/// certificate.
pub const MAX_RESPONSE_BLOCKS: u32 = 2 * BATCH;
/// Shortest time between two responses served to the same peer.
pub const SERVE_GAP: Duration = Duration::from_millis(100);
/// Most headers in a [`RunProof`] (about 2 MiB): a run of blocks finalized by one certificate
/// longer than this is served only once a later certificate finalizes past it.
pub const MAX_PROOF_HEADERS: u32 = 16_384;

const REQUEST_TAG: u8 = 1;
const RESPONSE_TAG: u8 = 2;

/// Where the blocks of a response lead when none of them carries its own certificate: the
/// headers after the response's last block up to the block whose certificate finalizes them
/// all, and that certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct RunProof {
    /// The headers, from the one after the response's last block to the certified one.
    pub headers: Vec<BlockHeader>,
    /// The consensus view of the certificate.
    pub view: u64,
    /// The finalization certificate of the last header's block.
    pub certificate: Vec<u8>,
}

/// A catch-up message.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncMessage {
    /// "Send me your finalized blocks from this height on."
    Request {
        /// First height wanted.
        from: u64,
        /// Most blocks wanted.
        max: u32,
    },
    /// Finalized blocks, consecutive, from the height asked for, as stored (their transactions
    /// not decoded yet), and the proof of their finality when none of them carries its own.
    Response {
        /// The blocks.
        blocks: Vec<RawStoredBlock>,
        /// Where they lead, when no block of the response is certified.
        proof: Option<RunProof>,
    },
}

impl SyncMessage {
    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            SyncMessage::Request { from, max } => {
                w.u8(REQUEST_TAG).u64(*from).u32(*max);
            }
            SyncMessage::Response { blocks, proof } => {
                w.u8(RESPONSE_TAG).u32(blocks.len() as u32);
                for b in blocks {
                    w.bytes(&b.encode_value());
                }
                match proof {
                    None => {
                        w.u8(0);
                    }
                    Some(p) => {
                        w.u8(1).u32(p.headers.len() as u32);
                        for h in &p.headers {
                            w.bytes(&h.to_bytes());
                        }
                        w.u64(p.view).bytes(&p.certificate);
                    }
                }
            }
        }
        w.finish()
    }

    /// Decodes a message with full validation of its structure: a response's blocks are read
    /// as far as their headers and finality ([`RawStoredBlock::decode_value`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8("tag")? {
            REQUEST_TAG => SyncMessage::Request {
                from: r.u64("from")?,
                max: r.u32("max")?,
            },
            RESPONSE_TAG => {
                let n = r.u32("count")?;
                if n > MAX_RESPONSE_BLOCKS {
                    return Err(DecodeError::invalid("count", format!("{n} blocks")));
                }
                let mut blocks = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let raw = r.bytes("block", MAX_MESSAGE as usize)?;
                    blocks.push(RawStoredBlock::decode_value(raw)?);
                }
                let proof = match r.u8("proof")? {
                    0 => None,
                    1 => {
                        let n = r.u32("header count")?;
                        if n == 0 || n > MAX_PROOF_HEADERS {
                            return Err(DecodeError::invalid("header count", format!("{n}")));
                        }
                        let mut headers = Vec::with_capacity(n as usize);
                        for _ in 0..n {
                            let bytes = r.bytes("header", 1 << 10)?;
                            headers.push(BlockHeader::from_bytes(bytes)?);
                        }
                        Some(RunProof {
                            headers,
                            view: r.u64("view")?,
                            certificate: r.bytes("certificate", 1 << 20)?.to_vec(),
                        })
                    }
                    t => return Err(DecodeError::invalid("proof", format!("tag {t}"))),
                };
                SyncMessage::Response { blocks, proof }
            }
            t => return Err(DecodeError::invalid("tag", format!("unknown tag {t}"))),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// Reads the finalized blocks from `from` on for one response: up to `max` (at most [`BATCH`]),
/// then more until one carries its own certificate (at most [`MAX_RESPONSE_BLOCKS`] and
/// [`MAX_MESSAGE`] bytes in all, and the response at most `allowance` bytes). When none of them
/// carries one, a [`RunProof`] follows them if it fits; otherwise none are served after the last
/// certified one. Blocks are read as stored, their transactions not decoded.
fn serve(
    chain: &Chain,
    from: u64,
    max: u32,
    allowance: usize,
) -> (Vec<RawStoredBlock>, Option<RunProof>) {
    serve_within(chain, from, max, allowance, MAX_MESSAGE as usize)
}

/// [`serve`] with the largest message given.
fn serve_within(
    chain: &Chain,
    from: u64,
    max: u32,
    allowance: usize,
    max_message: usize,
) -> (Vec<RawStoredBlock>, Option<RunProof>) {
    let (tip, _) = chain.tip();
    let mut out: Vec<RawStoredBlock> = Vec::new();
    let limit = allowance.min(max_message);
    // The tag, the count and the proof's absence.
    let mut size = 16usize;
    let mut height = from.max(1);
    let wanted = max.clamp(1, BATCH) as usize;
    let certified = |b: &RawStoredBlock| matches!(b.finality, Finality::Certificate { .. });
    while height <= tip && out.len() < MAX_RESPONSE_BLOCKS as usize {
        if out.len() >= wanted && out.last().is_some_and(certified) {
            break;
        }
        // A block longer than the room left (in the allowance and in one message) is not even
        // copied out of the store: a response never exceeds a message, which the channel could
        // not send.
        let room = limit.saturating_sub(size);
        let Ok(Some(Ok(stored))) = chain.store().raw_block_within(height, room) else {
            break;
        };
        // Counted only once it is served: the room left is the proof's.
        let next = size + stored.encoded_len() + 4;
        if next > limit {
            break;
        }
        size = next;
        out.push(stored);
        height += 1;
    }
    if !out.iter().any(certified) {
        if let Some(&Finality::Descendant(top)) = out.last().map(|b| &b.finality) {
            // Every block served is in the run `top` certifies: the proof of the run follows
            // them, with blocks dropped from the end until it fits (each one dropped frees more
            // than the header the proof gains).
            let certificate = match chain.store().raw_block(top) {
                Ok(Some(b)) => match b.finality {
                    Finality::Certificate { view, certificate } => Some((view, certificate)),
                    Finality::Descendant(_) => None,
                },
                _ => None,
            };
            if let Some((view, certificate)) = certificate {
                while let Some(last) = out.last() {
                    let after = last.header.height;
                    let Some(needed) = run_proof_len(after, top, certificate.len()) else {
                        break;
                    };
                    if size + needed <= limit {
                        if let Some(headers) = run_headers(chain, after, top) {
                            let proof = RunProof {
                                headers,
                                view,
                                certificate,
                            };
                            return (out, Some(proof));
                        }
                        break;
                    }
                    size -= last.encoded_len() + 4;
                    out.pop();
                }
            }
        }
    }
    while out.last().is_some_and(|b| !certified(b)) {
        out.pop();
    }
    (out, None)
}

/// The encoded length of a [`RunProof`] from height `after` to `top` with a certificate of
/// `certificate` bytes; `None` for a run no proof covers (more than [`MAX_PROOF_HEADERS`]).
fn run_proof_len(after: u64, top: u64, certificate: usize) -> Option<usize> {
    let n = top
        .checked_sub(after)
        .filter(|n| (1..=u64::from(MAX_PROOF_HEADERS)).contains(n))?;
    // The tag, the count, the view, and each header and the certificate with its length.
    Some(16 + n as usize * (HEADER_LEN + 4) + certificate + 4)
}

/// The headers after height `after` up to `top`, as stored.
fn run_headers(chain: &Chain, after: u64, top: u64) -> Option<Vec<BlockHeader>> {
    (after + 1..=top)
        .map(|h| chain.store().block_header(h).ok().flatten())
        .collect()
}

/// Why a peer's response was refused.
#[derive(Debug)]
pub enum Refusal {
    /// The peer provably sent something wrong: it is blocked.
    Faulty(String),
    /// This node failed.
    Local(String),
    /// Consensus finalized the same heights here meanwhile: nothing to apply, nobody at fault.
    Overtaken(String),
}

/// What finalizes the blocks of a response.
enum Covered {
    /// The certificate of its last block (in a view).
    Certificate(u64, Vec<u8>),
    /// The verified certificate of a descendant at this height, beyond the response.
    Descendant(u64),
}

/// Checks and applies the blocks of one response and its proof (see the module documentation);
/// answers how many blocks were finalized.
pub fn apply(
    chain: &Chain,
    blocks: Vec<RawStoredBlock>,
    proof: Option<RunProof>,
) -> Result<usize, Refusal> {
    let (tip_h, tip_hash) = chain.tip();
    let mut blocks: Vec<RawStoredBlock> = blocks
        .into_iter()
        .filter(|b| b.header.height > tip_h)
        .collect();
    // Only what the last certificate of the response, or its proof, covers counts.
    let covered = match blocks
        .iter()
        .rposition(|b| matches!(b.finality, Finality::Certificate { .. }))
    {
        Some(last) => {
            blocks.truncate(last + 1);
            let certified = &blocks[last];
            let h = certified.header.height;
            let Finality::Certificate { view, certificate } = &certified.finality else {
                unreachable!("the last block kept carries a certificate");
            };
            check_certificate(chain, h, &certified.hash(), *view, certificate)?;
            Covered::Certificate(*view, certificate.clone())
        }
        None => match (&proof, blocks.last()) {
            (Some(p), Some(last)) => Covered::Descendant(check_run(chain, last, p)?),
            _ => return Ok(0),
        },
    };
    let Some(last) = blocks.last() else {
        return Ok(0);
    };
    let (h, last_hash) = (last.header.height, last.hash());
    // The blocks link by hash from the finalized tip to the last one.
    let (mut at_h, mut at_hash) = (tip_h, tip_hash);
    for stored in &blocks {
        let header = &stored.header;
        if header.height != at_h + 1 || header.parent != at_hash {
            return Err(Refusal::Faulty(format!(
                "block {} does not extend the chain at height {at_h} towards certified block {h}",
                header.height
            )));
        }
        (at_h, at_hash) = (header.height, stored.hash());
    }
    // Covered by a verified certificate: now decode each in full (transactions this validator
    // holds in its mempool are not decoded again), validate it (stored as pending) and
    // finalize. A block that does not decode is one the quorum never signed for.
    for stored in &blocks {
        let block = &stored
            .decode_block(|hash| chain.pending_tx(hash))
            .map_err(|why| {
                Refusal::Faulty(format!("certified block {}: {why}", stored.header.height))
            })?;
        match chain.validate(block.header.parent, block) {
            Ok(()) => {}
            // Consensus finalized blocks here meanwhile (the finalizer runs beside this task):
            // the blocks no longer extend the tip, through no fault of the peer.
            Err(_) if chain.tip() != (tip_h, tip_hash) => {
                return Err(Refusal::Overtaken(format!(
                    "the chain moved past height {tip_h} while block {} was checked",
                    block.header.height
                )))
            }
            Err(why) if why.is_fault() => {
                return Err(Refusal::Faulty(format!(
                    "certified block {}: {why}",
                    block.header.height
                )))
            }
            Err(e) => return Err(Refusal::Local(e.to_string())),
        }
    }
    match covered {
        Covered::Certificate(view, certificate) => chain.finalize(last_hash, view, certificate),
        Covered::Descendant(top) => chain.finalize_under(last_hash, top),
    }
    .map_err(|e| Refusal::Local(e.to_string()))?;
    info!(height = h, "caught up");
    Ok(blocks.len())
}

/// Verifies a finalization certificate of block `hash` at height `h` in `view`.
fn check_certificate(
    chain: &Chain,
    h: u64,
    hash: &Hash,
    view: u64,
    certificate: &[u8],
) -> Result<(), Refusal> {
    match verify_finalization(chain.genesis(), hash, certificate) {
        Ok(v) if v == view => Ok(()),
        Ok(_) => Err(Refusal::Faulty(format!("block {h}: certificate view"))),
        Err(why) => Err(Refusal::Faulty(format!("block {h}: {why}"))),
    }
}

/// Checks a run proof after the response's `last` block: the certificate over its last header,
/// and the headers linking by hash from `last` to it. Answers the certified height.
fn check_run(chain: &Chain, last: &RawStoredBlock, proof: &RunProof) -> Result<u64, Refusal> {
    let top = proof
        .headers
        .last()
        .ok_or_else(|| Refusal::Faulty("a run proof without headers".into()))?;
    check_certificate(
        chain,
        top.height,
        &top.hash(),
        proof.view,
        &proof.certificate,
    )?;
    let (mut at_h, mut at_hash) = (last.header.height, last.hash());
    for header in &proof.headers {
        // The last block's height is the peer's: no arithmetic on it may overflow.
        if Some(header.height) != at_h.checked_add(1) || header.parent != at_hash {
            return Err(Refusal::Faulty(format!(
                "the run proof's header {} does not extend block {at_h} towards certified block {}",
                header.height, top.height
            )));
        }
        (at_h, at_hash) = (header.height, header.hash());
    }
    Ok(top.height)
}

/// Whether this validator is catching up: the last catch-up response it applied was full (a
/// batch, or part of a longer run), so more finalized blocks wait at its peers. Only blocks a
/// quorum certified set it; a lying peer can only clear it, by answering less, and this
/// validator then asks for the blocks it misses as it does when it is not behind. While it is
/// set, consensus asks no peer for a block it misses (a finalized block, a proposal or its
/// parent, most likely too far above the tip to be kept): the finalized ones come with
/// catch-up, and the requests would only spend the serving budget its responses need (and hold
/// each finalization up for the time a block is waited for).
#[derive(Clone, Debug, Default)]
pub struct Lag(Arc<AtomicBool>);

impl Lag {
    /// Whether this validator is catching up.
    pub fn catching_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, behind: bool) {
        self.0.store(behind, Ordering::Relaxed);
    }
}

/// Whom a validator catches up from and how often, and what its peers may ask it to send.
pub struct CatchUp {
    /// The other validators, asked in turn.
    pub peers: Vec<PublicKey>,
    /// How often one of them is asked.
    pub interval: Duration,
    /// What each peer may still ask this validator to send it (shared with the blocks channel).
    pub serving: Arc<Mutex<ServingBudget>>,
    /// Set while this validator is catching up (shared with consensus).
    pub lag: Lag,
}

/// Starts the catch-up actor.
pub fn start<E, S, R, B>(
    context: E,
    chain: Arc<Chain>,
    CatchUp {
        peers,
        interval,
        serving,
        lag,
    }: CatchUp,
    (mut sender, mut receiver): (S, R),
    mut blocker: B,
    mut wake: mpsc::UnboundedReceiver<()>,
) where
    E: Clock + Spawner + Supervisor,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    context.shared(true).spawn(move |ctx| async move {
        if peers.is_empty() {
            // A single validator has nobody to catch up from; still answer nothing.
            futures::future::pending::<()>().await;
        }
        let mut turn = 0usize;
        let mut outstanding: Option<(PublicKey, SystemTime)> = None;
        let mut served: HashMap<PublicKey, SystemTime> = HashMap::new();
        let mut next_tick = ctx.current() + interval / 2;
        loop {
            let mut ask = false;
            tokio::select! {
                biased;
                msg = receiver.recv() => {
                    let Ok((peer, bytes)) = msg else { break };
                    let now = ctx.current();
                    match bytes.as_ref().first() {
                        // A response nobody asked this peer for is dropped unread.
                        Some(&RESPONSE_TAG)
                            if outstanding.as_ref().map(|(p, _)| p) != Some(&peer) =>
                        {
                            debug!("ignored an unsolicited sync response");
                            continue;
                        }
                        // A peer asking again too soon is not served.
                        Some(&REQUEST_TAG)
                            if served
                                .get(&peer)
                                .is_some_and(|at| within(now, *at, SERVE_GAP)) =>
                        {
                            debug!("ignored a sync request that came too soon");
                            continue;
                        }
                        _ => {}
                    }
                    match SyncMessage::from_bytes(bytes.as_ref()) {
                        Ok(SyncMessage::Request { from, max }) => {
                            served.insert(peer.clone(), now);
                            let available =
                                serving.lock().expect("serving lock").available(&peer, now);
                            let allowance = usize::try_from(available).unwrap_or(usize::MAX);
                            let (blocks, proof) = serve(&chain, from, max, allowance);
                            let reply = SyncMessage::Response { blocks, proof }.to_bytes();
                            if serving.lock().expect("serving lock").spend(&peer, reply.len(), now) {
                                let _ = sender.send(Recipients::One(peer), reply, false);
                            } else {
                                debug!(
                                    %peer,
                                    available,
                                    "a sync request beyond the peer's serving budget: not answered"
                                );
                            }
                        }
                        Ok(SyncMessage::Response { blocks, proof }) => {
                            outstanding = None;
                            // More to ask for: a full batch, or part of a longer run.
                            let full = blocks.len() as u32 >= BATCH || proof.is_some();
                            match apply(&chain, blocks, proof) {
                                Ok(n) => {
                                    ask = full && n > 0;
                                    lag.set(ask);
                                }
                                Err(Refusal::Faulty(why)) => {
                                    warn!(%why, "a peer sent wrong blocks while catching up: blocked");
                                    let _ = blocker.block(peer);
                                }
                                Err(Refusal::Local(why)) => {
                                    tracing::error!(%why, "cannot apply blocks while catching up");
                                }
                                Err(Refusal::Overtaken(why)) => {
                                    lag.set(false);
                                    debug!(%why, "blocks caught up meanwhile");
                                }
                            }
                        }
                        Err(e) => {
                            warn!(error = %e, "a peer sent a malformed sync message: blocked");
                            let _ = blocker.block(peer);
                        }
                    }
                }
                w = wake.next() => {
                    if w.is_none() { break }
                    ask = true;
                }
                _ = ctx.sleep_until(next_tick) => {
                    next_tick = ctx.current() + interval;
                    ask = true;
                }
            }
            if !ask {
                continue;
            }
            let now = ctx.current();
            if let Some((_, at)) = &outstanding {
                if within(now, *at, interval) {
                    continue;
                }
            }
            let (tip, _) = chain.tip();
            let from = tip + 1;
            let peer = peers[turn % peers.len()].clone();
            turn += 1;
            let msg = SyncMessage::Request { from, max: BATCH }.to_bytes();
            let _ = sender.send(Recipients::One(peer.clone()), msg, false);
            outstanding = Some((peer, now));
        }
    });
}

/// Whether `now` is less than `gap` after `at`. A clock that went back to before `at` counts as
/// the gap elapsed: a step back does not hold catching up, or a peer's next answer, back for
/// as long as the step.
fn within(now: SystemTime, at: SystemTime, gap: Duration) -> bool {
    now.duration_since(at).is_ok_and(|d| d < gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkcustoms_ledger_core::chain::MempoolLimits;
    use zkcustoms_ledger_core::store::Store;
    use zkcustoms_ledger_core::testing::{certify, single_validator_genesis};
    use zkcustoms_ledger_types::crypto::{self, PrivateKey};
    use zkcustoms_ledger_types::genesis::{Genesis, Params};

    fn open(genesis: &Genesis, validator: &PrivateKey, dir: &std::path::Path) -> Chain {
        let store = Store::open(dir).unwrap();
        let me = crypto::public_bytes(&crypto::public_of(validator));
        Chain::open(genesis.clone(), store, None, me, MempoolLimits::default()).unwrap()
    }

    /// One response from `source` to `behind`, through the wire encoding.
    fn respond(source: &Chain, behind: &Chain) -> (Vec<RawStoredBlock>, Option<RunProof>) {
        let (blocks, proof) = serve(source, behind.tip().0 + 1, BATCH, usize::MAX);
        let bytes = SyncMessage::Response { blocks, proof }.to_bytes();
        match SyncMessage::from_bytes(&bytes).unwrap() {
            SyncMessage::Response { blocks, proof } => (blocks, proof),
            other => panic!("{other:?}"),
        }
    }

    /// A validator withheld its finalize votes while 300 views went by, so one certificate
    /// finalizes a run of 300 blocks, longer than a response. A validator behind it catches up
    /// a response at a time, each carrying the proof of where its blocks lead; a proof that
    /// does not lead to a verified certificate is refused as the peer's fault.
    /// A validator's chain of `n` empty blocks finalized by one certificate, of the last one
    /// (view `n + 1`), and a validator of the same genesis at height 0.
    struct Run {
        genesis: Genesis,
        validator: PrivateKey,
        source: Chain,
        behind: Chain,
        top: Hash,
        _dirs: [tempfile::TempDir; 2],
    }

    fn run(n: u64) -> Run {
        let validator = crypto::generate();
        let genesis = single_validator_genesis(
            "zkcustoms-sync-run",
            ("validator-0", &validator),
            &[],
            &[],
            vec![],
            Params::default(),
        );
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let source = open(&genesis, &validator, dirs[0].path());
        let mut top = genesis.chain_id;
        for _ in 0..n {
            top = source.forge_block(top, Vec::new()).unwrap().unwrap().hash();
        }
        let certificate = certify(&genesis, std::slice::from_ref(&validator), n + 1, &top).unwrap();
        source.finalize(top, n + 1, certificate).unwrap();
        assert_eq!(source.tip(), (n, top));
        let behind = open(&genesis, &validator, dirs[1].path());
        Run {
            genesis,
            validator,
            source,
            behind,
            top,
            _dirs: dirs,
        }
    }

    #[test]
    fn a_run_longer_than_a_response_is_caught_up_with_its_proof() {
        let Run {
            genesis,
            validator,
            source,
            behind,
            top,
            ..
        } = run(300);

        // A proof whose headers do not link, or whose certificate is another block's: the
        // peer's fault, and nothing is finalized.
        let (blocks, proof) = respond(&source, &behind);
        assert_eq!(blocks.len(), MAX_RESPONSE_BLOCKS as usize);
        let proof = proof.expect("a response reaching no certificate carries a proof");
        assert_eq!(proof.headers.len(), 300 - MAX_RESPONSE_BLOCKS as usize);
        let mut unlinked = proof.clone();
        unlinked.headers[5].parent = [7; 32];
        assert!(matches!(
            apply(&behind, blocks.clone(), Some(unlinked)),
            Err(Refusal::Faulty(_))
        ));
        let mut short = proof.clone();
        short.headers.pop();
        assert!(matches!(
            apply(&behind, blocks.clone(), Some(short)),
            Err(Refusal::Faulty(_))
        ));
        assert_eq!(apply(&behind, blocks.clone(), None).unwrap(), 0);
        assert_eq!(behind.tip().0, 0);

        // The real one: the response's blocks are finalized under the certified block.
        assert_eq!(apply(&behind, blocks, Some(proof)).unwrap(), 128);
        assert_eq!(behind.tip().0, 128);
        let first = behind.store().block(1).unwrap().unwrap();
        assert_eq!(first.finality, Finality::Descendant(300));
        let mut responses = 1;
        while behind.tip().0 < 300 {
            let (blocks, proof) = respond(&source, &behind);
            assert!(apply(&behind, blocks, proof).unwrap() > 0);
            responses += 1;
            assert!(responses <= 3, "three responses cover 300 blocks");
        }
        assert_eq!(behind.tip(), (300, top));
        let last = behind.store().block(300).unwrap().unwrap();
        assert!(matches!(
            last.finality,
            Finality::Certificate { view: 301, .. }
        ));
        // Caught up, it serves the run itself.
        let c = tempfile::tempdir().unwrap();
        let third = open(&genesis, &validator, c.path());
        let (blocks, proof) = respond(&behind, &third);
        assert_eq!(apply(&third, blocks, proof).unwrap(), 128);
    }

    /// Part of a run caught up under its certificate, another certificate finalizes first (a
    /// later block's: the node had the rest of the run and the later block pending, say; or a
    /// peer's run proof to another end). The run's blocks stored so far then name that
    /// certificate's block, also after a restart, so that every block names the next certified
    /// one, and the node serves the whole chain to a third one.
    #[test]
    fn a_run_caught_up_in_part_is_finalized_by_the_certificate_that_overtakes_it() {
        let Run {
            genesis,
            validator,
            source,
            behind,
            top,
            _dirs,
        } = run(300);
        let (blocks, proof) = respond(&source, &behind);
        assert_eq!(apply(&behind, blocks, proof).unwrap(), 128);
        let named = |chain: &Chain, height| chain.store().block(height).unwrap().unwrap().finality;
        assert_eq!(named(&behind, 128), Finality::Descendant(300));
        // The rest of the run, and block 301 with its own certificate, pending on `behind`.
        let mut parent = behind.tip().1;
        for height in 129..=300 {
            let block = source.store().block(height).unwrap().unwrap().block;
            behind.validate(parent, &block).unwrap();
            parent = block.hash();
        }
        assert_eq!(parent, top);
        let next = source.forge_block(top, Vec::new()).unwrap().unwrap();
        behind.validate(top, &next).unwrap();
        let certificate = certify(
            &genesis,
            std::slice::from_ref(&validator),
            302,
            &next.hash(),
        );
        // After a restart, as before it.
        drop(behind);
        let behind = open(&genesis, &validator, _dirs[1].path());
        behind
            .finalize(next.hash(), 302, certificate.unwrap())
            .unwrap();
        assert_eq!(behind.tip(), (301, next.hash()));
        for height in [1, 128, 129, 300] {
            assert_eq!(
                named(&behind, height),
                Finality::Descendant(301),
                "{height}"
            );
        }
        assert!(matches!(
            named(&behind, 301),
            Finality::Certificate { view: 302, .. }
        ));
        // A third validator catches up the whole chain from it.
        let c = tempfile::tempdir().unwrap();
        let third = open(&genesis, &validator, c.path());
        while third.tip().0 < 301 {
            let (blocks, proof) = respond(&behind, &third);
            assert!(apply(&third, blocks, proof).unwrap() > 0);
        }
        assert_eq!(third.tip(), (301, next.hash()));
    }

    /// A response whose blocks fill the room the peer's budget leaves, in a run whose certificate
    /// is beyond them, drops blocks from its end to make room for the proof of the run: it is
    /// never empty while the proof alone fits, and what it serves is finalized.
    #[test]
    fn a_full_response_makes_room_for_the_proof_of_its_run() {
        let Run { source, behind, .. } = run(130);
        // Room for 123 blocks as stored, and half of one more: the blocks alone fill it.
        let one = source.store().raw_block(1).unwrap().unwrap().encoded_len() + 4;
        let allowance = 16 + 123 * one + one / 2;
        let (blocks, proof) = serve(&source, 1, BATCH, allowance);
        let served = blocks.len();
        let proof = proof.expect("the proof of the run");
        assert!(served > 0, "a response makes room for its proof");
        assert_eq!(proof.headers.len(), 130 - served);
        let bytes = SyncMessage::Response {
            blocks: blocks.clone(),
            proof: Some(proof.clone()),
        }
        .to_bytes();
        assert!(bytes.len() <= allowance, "{} > {allowance}", bytes.len());
        assert_eq!(apply(&behind, blocks, Some(proof)).unwrap(), served);
        assert_eq!(behind.tip().0, served as u64);
        // A run proof whose first header claims the last height there is: refused, no overflow.
        let (blocks, proof) = serve(&source, 1, BATCH, allowance);
        let mut proof = proof.unwrap();
        let mut last = blocks.last().unwrap().clone();
        last.header.height = u64::MAX;
        proof.headers[0].height = 0;
        assert!(matches!(
            check_run(&behind, &last, &proof),
            Err(Refusal::Faulty(_))
        ));
    }

    /// A response never exceeds a message, whatever the peer's allowance: the channel could not
    /// send it (and refuses by stopping the node). A block that alone does not fit is not served;
    /// the blocks that fit are.
    #[test]
    fn a_response_never_exceeds_a_message() {
        let Run { source, .. } = run(3);
        let one = source.store().raw_block(1).unwrap().unwrap().encoded_len() + 4;
        let (blocks, proof) = serve_within(&source, 1, BATCH, usize::MAX, one);
        assert!(
            blocks.is_empty() && proof.is_none(),
            "one block does not fit"
        );
        for max_message in [one + 16, 2 * one, 3 * one, 5 * one, 10 * one + 4096] {
            let (blocks, proof) = serve_within(&source, 1, BATCH, usize::MAX, max_message);
            let served = blocks.len();
            let bytes = SyncMessage::Response { blocks, proof }.to_bytes();
            assert!(
                bytes.len() <= max_message,
                "{} > {max_message}",
                bytes.len()
            );
            if max_message > 10 * one {
                assert_eq!(served, 3, "room for every block");
            }
        }
    }

    #[test]
    fn a_clock_gone_back_counts_as_the_gap_elapsed() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let gap = Duration::from_secs(2);
        assert!(within(at + Duration::from_secs(1), at, gap));
        assert!(!within(at + gap, at, gap));
        assert!(!within(at - Duration::from_secs(3_600), at, gap));
    }

    #[test]
    fn messages_round_trip_and_refuse_garbage() {
        let req = SyncMessage::Request { from: 7, max: 64 };
        assert_eq!(SyncMessage::from_bytes(&req.to_bytes()).unwrap(), req);
        let empty = SyncMessage::Response {
            blocks: Vec::new(),
            proof: None,
        };
        assert_eq!(SyncMessage::from_bytes(&empty.to_bytes()).unwrap(), empty);
        assert!(SyncMessage::from_bytes(&[]).is_err());
        assert!(SyncMessage::from_bytes(&[9]).is_err());
        let mut long = req.to_bytes();
        long.push(0);
        assert!(SyncMessage::from_bytes(&long).is_err());
        // A response claiming more blocks than a response holds is refused before anything is
        // read.
        let mut w = Writer::new();
        w.u8(RESPONSE_TAG).u32(MAX_RESPONSE_BLOCKS + 1);
        assert!(SyncMessage::from_bytes(&w.finish()).is_err());
        // A block whose bytes do not decode is refused.
        let mut w = Writer::new();
        w.u8(RESPONSE_TAG).u32(1).bytes(&[1, 2, 3]);
        assert!(SyncMessage::from_bytes(&w.finish()).is_err());
    }
}
