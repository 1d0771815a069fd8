//! Catching up: a validator that is behind (it was offline, restarted, or cut off by a
//! partition) fetches the finalized blocks it lacks from its peers.
//!
//! Every `interval`, and at once when consensus finalizes a block this validator does not hold,
//! it asks one peer (in turn) for the finalized blocks above its own tip. It trusts nothing it
//! receives: each block must extend the chain it holds, pass every ledger rule and proof check
//! ([`Chain::validate`]), and a block is applied only once a finalization certificate signed by
//! a quorum of the genesis validators covers it (its own, or a descendant's). A peer that sends
//! a block or certificate that fails is blocked.
//!
//! Wire format on [`crate::channels::channel::SYNC`]:
//! - request: `1 | from u64 | max u32`;
//! - response: `2 | count u32 | (stored block, as in the `blocks` column family: u32 len | bytes)*`
//!   with the finalized blocks from height `from` on, at most `max` of them and at most
//!   [`crate::channels::MAX_MESSAGE`] bytes in all.

use crate::channels::MAX_MESSAGE;
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner, Supervisor};
use futures::channel::mpsc;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tracing::{debug, info, warn};
use zkcustoms_ledger_core::chain::Chain;
use zkcustoms_ledger_core::finality::verify_finalization;
use zkcustoms_ledger_core::store::{Blocks, Finality, Schema, StoredBlock};
use zkcustoms_ledger_types::codec::{DecodeError, Reader, Writer};
use zkcustoms_ledger_types::tx::Hash;

/// Most blocks asked for in one request.
pub const BATCH: u32 = 64;

const REQUEST_TAG: u8 = 1;
const RESPONSE_TAG: u8 = 2;

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
    /// Finalized blocks, consecutive, from the height asked for.
    Response(Vec<StoredBlock>),
}

impl SyncMessage {
    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            SyncMessage::Request { from, max } => {
                w.u8(REQUEST_TAG).u64(*from).u32(*max);
            }
            SyncMessage::Response(blocks) => {
                w.u8(RESPONSE_TAG).u32(blocks.len() as u32);
                for b in blocks {
                    w.bytes(&Blocks::encode_value(b));
                }
            }
        }
        w.finish()
    }

    /// Decodes a message with full validation (every block's transaction root is checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8("tag")? {
            REQUEST_TAG => SyncMessage::Request {
                from: r.u64("from")?,
                max: r.u32("max")?,
            },
            RESPONSE_TAG => {
                let n = r.u32("count")?;
                if n > BATCH {
                    return Err(DecodeError::invalid("count", format!("{n} blocks")));
                }
                let mut blocks = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let raw = r.bytes("block", MAX_MESSAGE as usize)?;
                    blocks.push(Blocks::decode_value(raw)?);
                }
                SyncMessage::Response(blocks)
            }
            t => return Err(DecodeError::invalid("tag", format!("unknown tag {t}"))),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// Reads the finalized blocks from `from` on that fit in one response.
fn serve(chain: &Chain, from: u64, max: u32) -> Vec<StoredBlock> {
    let (tip, _) = chain.tip();
    let mut out = Vec::new();
    let mut size = 64usize;
    let mut height = from.max(1);
    while height <= tip && out.len() < max.min(BATCH) as usize {
        let Ok(Some(stored)) = chain.store().block(height) else {
            break;
        };
        size += Blocks::encode_value(&stored).len() + 4;
        if size > MAX_MESSAGE as usize && !out.is_empty() {
            break;
        }
        out.push(stored);
        height += 1;
    }
    out
}

/// Why a peer's response was refused.
#[derive(Debug)]
enum Refusal {
    /// The peer sent something wrong: it is blocked.
    Faulty(String),
    /// This node failed.
    Local(String),
}

/// Checks and applies blocks a peer sent; answers how many were applied or validated. `synced`
/// is the last block validated but not yet covered by a certificate.
fn apply(
    chain: &Chain,
    blocks: Vec<StoredBlock>,
    synced: &mut Option<(u64, Hash)>,
) -> Result<usize, Refusal> {
    let mut progressed = 0;
    for stored in blocks {
        let (tip_h, tip_hash) = chain.tip();
        let (at_h, at_hash) = match *synced {
            Some((h, hash)) if h > tip_h => (h, hash),
            _ => (tip_h, tip_hash),
        };
        let block = &stored.block;
        let h = block.header.height;
        if h <= at_h {
            continue;
        }
        if h != at_h + 1 || block.header.parent != at_hash {
            return Err(Refusal::Faulty(format!(
                "block {h} does not extend the chain at height {at_h}"
            )));
        }
        let hash = block.hash();
        match chain.validate(block.header.parent, block) {
            Ok(()) => {}
            Err(why) if why.is_fault() => return Err(Refusal::Faulty(format!("block {h}: {why}"))),
            Err(e) => return Err(Refusal::Local(e.to_string())),
        }
        *synced = Some((h, hash));
        progressed += 1;
        if let Finality::Certificate { view, certificate } = &stored.finality {
            match verify_finalization(chain.genesis(), &hash, certificate) {
                Ok(v) if v == *view => {}
                Ok(_) => return Err(Refusal::Faulty(format!("block {h}: certificate view"))),
                Err(why) => return Err(Refusal::Faulty(format!("block {h}: {why}"))),
            }
            chain
                .finalize(hash, *view, certificate.clone())
                .map_err(|e| Refusal::Local(e.to_string()))?;
            info!(height = h, "caught up");
        }
    }
    Ok(progressed)
}

/// Starts the catch-up actor.
pub fn start<E, S, R, B>(
    context: E,
    chain: Arc<Chain>,
    peers: Vec<PublicKey>,
    (mut sender, mut receiver): (S, R),
    mut blocker: B,
    mut wake: mpsc::UnboundedReceiver<()>,
    interval: Duration,
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
        let mut synced: Option<(u64, Hash)> = None;
        let mut next_tick = ctx.current() + interval / 2;
        loop {
            let mut ask = false;
            tokio::select! {
                biased;
                msg = receiver.recv() => {
                    let Ok((peer, bytes)) = msg else { break };
                    match SyncMessage::from_bytes(bytes.as_ref()) {
                        Ok(SyncMessage::Request { from, max }) => {
                            let blocks = serve(&chain, from, max);
                            let reply = SyncMessage::Response(blocks).to_bytes();
                            let _ = sender.send(Recipients::One(peer), reply, false);
                        }
                        Ok(SyncMessage::Response(blocks)) => {
                            if outstanding.as_ref().map(|(p, _)| p) != Some(&peer) {
                                debug!("ignored an unsolicited sync response");
                                continue;
                            }
                            outstanding = None;
                            let full = blocks.len() as u32 == BATCH;
                            match apply(&chain, blocks, &mut synced) {
                                Ok(n) => ask = full && n > 0,
                                Err(Refusal::Faulty(why)) => {
                                    warn!(%why, "a peer sent an invalid block while catching up: blocked");
                                    synced = None;
                                    let _ = blocker.block(peer);
                                }
                                Err(Refusal::Local(why)) => {
                                    tracing::error!(%why, "cannot apply blocks while catching up");
                                    synced = None;
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
                if now.duration_since(*at).unwrap_or_default() < interval {
                    continue;
                }
            }
            let (tip, _) = chain.tip();
            let from = match synced {
                Some((h, _)) if h > tip => h + 1,
                _ => tip + 1,
            };
            let peer = peers[turn % peers.len()].clone();
            turn += 1;
            let msg = SyncMessage::Request { from, max: BATCH }.to_bytes();
            let _ = sender.send(Recipients::One(peer.clone()), msg, false);
            outstanding = Some((peer, now));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_refuse_garbage() {
        let req = SyncMessage::Request { from: 7, max: 64 };
        assert_eq!(SyncMessage::from_bytes(&req.to_bytes()).unwrap(), req);
        let empty = SyncMessage::Response(Vec::new());
        assert_eq!(SyncMessage::from_bytes(&empty.to_bytes()).unwrap(), empty);
        assert!(SyncMessage::from_bytes(&[]).is_err());
        assert!(SyncMessage::from_bytes(&[9]).is_err());
        let mut long = req.to_bytes();
        long.push(0);
        assert!(SyncMessage::from_bytes(&long).is_err());
        // A response claiming more blocks than a batch is refused before anything is read.
        let mut w = Writer::new();
        w.u8(RESPONSE_TAG).u32(BATCH + 1);
        assert!(SyncMessage::from_bytes(&w.finish()).is_err());
        // A block whose bytes do not decode is refused.
        let mut w = Writer::new();
        w.u8(RESPONSE_TAG).u32(1).bytes(&[1, 2, 3]);
        assert!(SyncMessage::from_bytes(&w.finish()).is_err());
    }
}
