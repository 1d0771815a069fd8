//! What a peer may ask this validator to send it: one byte budget per peer, shared by the block
//! requests it answers ([`crate::consensus`]'s blocks channel) and the catch-up responses it
//! serves ([`crate::sync`]).
//!
//! Serving a block costs this validator little CPU (blocks are sent as stored), but each answer
//! goes out on its uplink: with only the channels' message quotas, one validator asking for a
//! full block two hundred times a second could make another send it more than a gigabyte a
//! second. Each peer's budget is a token bucket of bytes: it holds at most
//! [`ServingLimits::burst`] and refills at [`ServingLimits::bytes_per_second`]; an answer is sent
//! only when the budget covers it, and is then charged to it. A request beyond the budget is
//! dropped unanswered, and the peer is not blocked: asking is no fault, and an honest validator
//! asks again (a missing block on its schedule, catch-up from the next peer in turn).
//!
//! The defaults cost an honest validator nothing: catching up is bound by verifying every proof
//! of every block (a few thousand proofs a second on two cores, a few megabytes of blocks), far
//! below one peer's 8 MiB a second, and the burst covers any single message twice over.
//!
//! The buckets ([`PeerBudget`]) count any unit: the relay uses them for the transactions a peer
//! relays that this validator refuses ([`crate::consensus`]).

use crate::channels::MAX_MESSAGE;
use commonware_cryptography::ed25519::PublicKey;
use std::collections::HashMap;
use std::time::SystemTime;

/// How much a peer may ask this validator to send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServingLimits {
    /// Bytes a second each peer's budget refills by.
    pub bytes_per_second: u64,
    /// Most bytes each peer's budget holds (at least one largest message, so that any single
    /// answer can be served once the budget is full).
    pub burst: u64,
}

impl Default for ServingLimits {
    fn default() -> Self {
        Self {
            bytes_per_second: 8 << 20,
            burst: 2 * u64::from(MAX_MESSAGE),
        }
    }
}

/// Most peers kept track of: beyond, the bucket that has spent least is forgotten. Only the
/// genesis validators reach the channels, so this is rarely reached.
const TRACKED: usize = 64;

/// One peer's budget.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Bytes left.
    bytes: u64,
    /// When `bytes` was last brought up to date.
    at: SystemTime,
}

/// The byte budgets of the peers this validator serves.
pub type ServingBudget = PeerBudget;

/// One token bucket per peer, of some unit (bytes served, refused relays).
#[derive(Debug)]
pub struct PeerBudget {
    limits: ServingLimits,
    peers: HashMap<PublicKey, Bucket>,
}

impl PeerBudget {
    /// Every peer starts with a full budget of `limits` (bytes, for serving).
    pub fn new(limits: ServingLimits) -> Self {
        Self {
            limits,
            peers: HashMap::new(),
        }
    }

    /// Budgets of `per_second` units a second, in bursts of at most `burst`.
    pub fn of_units(per_second: u64, burst: u64) -> Self {
        Self::new(ServingLimits {
            bytes_per_second: per_second,
            burst,
        })
    }

    /// The units `peer` may spend at `now` (its budget, refilled for the time since it was
    /// last charged; a clock that went back refills nothing).
    pub fn available(&self, peer: &PublicKey, now: SystemTime) -> u64 {
        self.refilled(peer, now).0
    }

    /// `peer`'s units at `now`, and the time they are counted from: a full budget from `now`;
    /// otherwise only the time the whole units earned took is used up, and the rest carries
    /// over (a budget of 100 units a second charged every 15 ms refills 100 a second, not 66).
    fn refilled(&self, peer: &PublicKey, now: SystemTime) -> (u64, SystemTime) {
        let Some(b) = self.peers.get(peer) else {
            return (self.limits.burst, now);
        };
        let rate = u128::from(self.limits.bytes_per_second);
        // A clock that went back refills nothing, and the bucket's time stays where it was.
        let elapsed = now.duration_since(b.at).unwrap_or_default().as_micros();
        let earned = u64::try_from(rate * elapsed / 1_000_000).unwrap_or(u64::MAX);
        let units = b.bytes.saturating_add(earned);
        if units >= self.limits.burst {
            return (self.limits.burst, now.max(b.at));
        }
        let used = u64::try_from(u128::from(earned) * 1_000_000 / rate.max(1)).unwrap_or(u64::MAX);
        (units, b.at + std::time::Duration::from_micros(used))
    }

    /// Charges `bytes` (units) spent by `peer` at `now` if its budget covers them: whether it
    /// did (and the answer may be sent).
    pub fn spend(&mut self, peer: &PublicKey, bytes: usize, now: SystemTime) -> bool {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        let (available, at) = self.refilled(peer, now);
        if bytes > available {
            return false;
        }
        if self.peers.len() >= TRACKED && !self.peers.contains_key(peer) {
            // The bucket that has spent least is forgotten (a full one is the same as none).
            let fullest = self
                .peers
                .keys()
                .max_by_key(|p| self.refilled(p, now).0)
                .cloned();
            if let Some(p) = fullest {
                self.peers.remove(&p);
            }
        }
        self.peers.insert(
            peer.clone(),
            Bucket {
                bytes: available - bytes,
                at,
            },
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{ed25519::PrivateKey, Signer as _};
    use std::time::Duration;

    fn peer(seed: u64) -> PublicKey {
        PrivateKey::from_seed(seed).public_key()
    }

    #[test]
    fn each_peer_is_served_up_to_its_budget_which_refills_over_time() {
        let limits = ServingLimits {
            bytes_per_second: 1_000,
            burst: 4_000,
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut budget = ServingBudget::new(limits);
        let (a, b) = (peer(1), peer(2));
        // A full budget at first, spent answer by answer; an answer it does not cover is not
        // charged.
        assert_eq!(budget.available(&a, t0), 4_000);
        assert!(budget.spend(&a, 3_000, t0));
        assert!(!budget.spend(&a, 1_001, t0));
        assert!(budget.spend(&a, 1_000, t0));
        assert!(!budget.spend(&a, 1, t0));
        // Another peer's budget is its own.
        assert!(budget.spend(&b, 4_000, t0));
        // Refilled at the rate: 500 bytes in half a second.
        assert_eq!(budget.available(&a, at(500)), 500);
        assert!(!budget.spend(&a, 501, at(500)));
        assert!(budget.spend(&a, 500, at(500)));
        assert_eq!(budget.available(&a, at(500)), 0);
        // Never above the burst, however long the peer waited.
        assert_eq!(budget.available(&a, at(3_600_000)), 4_000);
        assert!(!budget.spend(&a, 4_001, at(3_600_000)));
        // A clock that goes back refills nothing, and the refill resumes from the latest time.
        assert!(budget.spend(&a, 4_000, at(3_600_000)));
        assert_eq!(budget.available(&a, at(1_000)), 0);
        assert!(!budget.spend(&a, 1, at(1_000)));
        assert_eq!(budget.available(&a, at(3_601_000)), 1_000);
        // An empty answer costs nothing and is always allowed.
        assert!(budget.spend(&a, 0, at(3_600_000)));
    }

    /// Charged more often than a unit is earned, a budget still refills at its rate: the part
    /// of a unit earned before a charge is not lost with it.
    #[test]
    fn a_budget_charged_often_refills_at_its_rate() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut budget = PeerBudget::of_units(100, 1_000);
        let a = peer(1);
        assert!(budget.spend(&a, 1_000, t0));
        // Every 15 ms (a unit and a half), everything there is: 150 units in 1.5 s.
        let mut spent = 0;
        for k in 1..=100 {
            let now = t0 + Duration::from_millis(15 * k);
            while budget.spend(&a, 1, now) {
                spent += 1;
            }
        }
        assert_eq!(spent, 150);
    }

    #[test]
    fn the_peers_tracked_are_bounded_and_the_greediest_is_remembered() {
        let limits = ServingLimits {
            bytes_per_second: 1,
            burst: 100,
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut budget = ServingBudget::new(limits);
        // One peer spends its whole budget; many more, each a little, after it.
        assert!(budget.spend(&peer(0), 100, t0));
        let later = t0 + Duration::from_secs(2);
        for s in 1..=(TRACKED as u64 * 3) {
            assert!(budget.spend(&peer(s), 1, later));
            assert!(budget.peers.len() <= TRACKED);
        }
        // The first peer's spending is remembered: 2 bytes refilled in 2 s.
        assert_eq!(budget.available(&peer(0), later), 2);
        assert!(!budget.spend(&peer(0), 3, later));
    }
}
