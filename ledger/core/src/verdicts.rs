//! The proofs and signatures this node has verified itself, so that each is verified once per
//! node.
//!
//! A transaction is checked when it arrives (from a client or relayed by a peer), checked again
//! when it enters the mempool and after every finalization while it waits there, and comes back
//! in the block this node builds or in another leader's block it validates. Two verdicts in
//! these checks depend on the transaction's bytes alone, and are remembered:
//!
//! - **Proofs**, by the transaction's hash, the SHA-256 of its whole canonical encoding (proof
//!   bytes, public values, key id): a transaction with the same hash is the same bytes, and
//!   verification is a deterministic function of those bytes and the keys pinned in genesis.
//! - **Signatures**, by the transaction's hash and the key it was checked against
//!   ([`signature_digest`]): the hash covers the signature bytes, and a trader's key can change
//!   (rotation, revocation), so a verdict holds for that key only.
//!
//! A re-randomised proof of the same statement has other bytes and another hash, so it is
//! verified on its own. Only successes are remembered (a failure is a rejection, and a rejected
//! transaction never enters a block this node accepts). The memory is bounded: the oldest
//! verdicts are forgotten first, and a forgotten one is simply verified again. The audit keeps
//! no verdicts: it verifies everything itself.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zkcustoms_ledger_types::crypto::PublicKey;
use zkcustoms_ledger_types::tx::Hash;

/// Verdicts remembered by default: a mempool's worth of transactions several times over, about
/// 4 MB of hashes.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// A bounded set of 32-byte keys (transaction hashes, [`signature_digest`]s) whose proofs or
/// signatures verified here.
#[derive(Debug)]
pub struct Verified {
    capacity: usize,
    inner: Mutex<Inner>,
    /// Lookups that found their verdict.
    hits: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
}

impl Verified {
    /// An empty set that remembers at most `capacity` verdicts (none with 0).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
        }
    }

    /// Whether the verdict `hash` names is remembered.
    pub fn contains(&self, hash: &Hash) -> bool {
        let found = self.inner.lock().expect("verdicts lock").set.contains(hash);
        if found {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// How many lookups found their verdict (verifications saved) since the set was made.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Remembers a success, forgetting the oldest verdict when full.
    pub fn insert(&self, hash: Hash) {
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

/// What a signature verdict is remembered by: the transaction's hash and the key its signature
/// verified against, hashed together under their own domain.
pub fn signature_digest(tx: &Hash, key: &PublicKey) -> Hash {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"zkcustoms/signature-verdict/v1");
    h.update(tx);
    h.update(zkcustoms_ledger_types::crypto::public_bytes(key));
    h.finalize().into()
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
        assert_eq!(v.hits(), 2);
        v.insert([3; 32]);
        assert!(!v.contains(&[1; 32]), "the oldest is forgotten");
        assert!(v.contains(&[2; 32]) && v.contains(&[3; 32]));
        let none = Verified::new(0);
        none.insert([1; 32]);
        assert!(!none.contains(&[1; 32]));
    }

    #[test]
    fn a_signature_verdict_holds_for_its_transaction_and_key_only() {
        use commonware_cryptography::Signer;
        use zkcustoms_ledger_types::crypto::PrivateKey;
        let a = <PrivateKey as Signer>::from_seed(1).public_key();
        let b = <PrivateKey as Signer>::from_seed(2).public_key();
        let d = signature_digest(&[7; 32], &a);
        assert_eq!(d, signature_digest(&[7; 32], &a));
        assert_ne!(d, signature_digest(&[7; 32], &b), "another key");
        assert_ne!(d, signature_digest(&[8; 32], &a), "another transaction");
        assert_ne!(d, [7; 32], "not the transaction's hash");
    }
}
