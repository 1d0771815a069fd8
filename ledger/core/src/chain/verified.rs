//! The proofs this node has verified itself, so that each is verified once per node.
//!
//! A proof transaction is verified when it arrives (from a client or relayed by a peer); the
//! same transaction then comes back in the block this node builds or in another leader's block
//! it validates. The verdict is remembered by the transaction's hash, the SHA-256 of its whole
//! canonical encoding (proof bytes, public values, key id): a transaction with the same hash is
//! the same bytes, and verification is a deterministic function of those bytes and the keys
//! pinned in genesis. A re-randomised proof of the same statement has other bytes and another
//! hash, so it is verified on its own. Only successes are remembered (a failure is a rejection,
//! and a rejected transaction never enters a block this node accepts). The memory is bounded:
//! the oldest verdicts are forgotten first, and a forgotten proof is simply verified again.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use zkcustoms_ledger_types::tx::Hash;

/// Verdicts remembered by default: a mempool's worth of transactions several times over, about
/// 4 MB of hashes.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// A bounded set of transaction hashes whose proofs verified here.
#[derive(Debug)]
pub(crate) struct Verified {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
}

impl Verified {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether the proof of transaction `hash` verified here.
    pub(crate) fn contains(&self, hash: &Hash) -> bool {
        self.inner.lock().expect("verdicts lock").set.contains(hash)
    }

    /// Remembers that the proof of transaction `hash` verified, forgetting the oldest verdict
    /// when full.
    pub(crate) fn insert(&self, hash: Hash) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().expect("verdicts lock");
        if !inner.set.insert(hash) {
            return;
        }
        inner.order.push_back(hash);
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.set.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_capacity_oldest_forgotten_first() {
        let v = Verified::new(2);
        v.insert([1; 32]);
        v.insert([2; 32]);
        v.insert([2; 32]);
        assert!(v.contains(&[1; 32]) && v.contains(&[2; 32]));
        v.insert([3; 32]);
        assert!(!v.contains(&[1; 32]), "the oldest is forgotten");
        assert!(v.contains(&[2; 32]) && v.contains(&[3; 32]));
        let none = Verified::new(0);
        none.insert([1; 32]);
        assert!(!none.contains(&[1; 32]));
    }
}
