//! The replay guard: a bounded memory of the nonces of recently accepted signatures.

use super::{HttpSignatureError, VerifiedRequest, NONCE_LEN};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

/// A remembered signature: its party and nonce.
type Entry = (String, [u8; NONCE_LEN]);

/// Remembers the `(party, nonce)` of every accepted signature for as long as that signature could
/// still be accepted ([`VerifiedRequest::valid_until`]), and refuses a second use of it.
///
/// Memory is bounded by `capacity` entries in all and `per_party` entries for one party. An entry
/// is forgotten only once its signature has expired (it could no longer be replayed anyway); a
/// live nonce is never evicted to make room, because forgetting it would let its request be
/// replayed. When the guard is full it refuses the new request instead
/// ([`HttpSignatureError::ReplayCacheFull`]): the request was authentic and can be sent again
/// with a fresh nonce once older signatures expire. The per-party bound keeps one party, however
/// busy, from taking every slot and locking the others out.
///
/// Record a request only after [`super::verify_request`] accepted it, so that nobody without a
/// party's key can fill the guard. Each entry holds the party id and the nonce (about 150 bytes
/// with the maps' overhead), so a capacity of 100 000 takes some 15 MB.
///
/// The guard is synchronous and does no I/O; the time is passed in, in unix seconds.
pub struct NonceCache {
    capacity: usize,
    per_party: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each live entry and the last second its signature is valid.
    live: HashMap<Entry, u64>,
    /// The same entries ordered by that second, to forget expired ones in order.
    by_expiry: BTreeSet<(u64, Entry)>,
    /// Live entries per party.
    per_party: HashMap<String, usize>,
}

impl std::fmt::Debug for NonceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceCache")
            .field("capacity", &self.capacity)
            .field("per_party", &self.per_party)
            .field("len", &self.len())
            .finish()
    }
}

impl NonceCache {
    /// A guard that remembers at most `capacity` nonces, at most `per_party` of them for one
    /// party (each at least 1).
    pub fn new(capacity: usize, per_party: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            per_party: per_party.clamp(1, capacity.max(1)),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records the nonce of an accepted request at time `now`; refuses it if the same party used
    /// the same nonce in a signature that is still valid ([`HttpSignatureError::Replayed`]), if
    /// the signature is no longer valid at `now` ([`HttpSignatureError::Expired`]), or if the
    /// guard has no room ([`HttpSignatureError::ReplayCacheFull`]).
    pub fn check_and_remember(
        &self,
        request: &VerifiedRequest,
        now: u64,
    ) -> Result<(), HttpSignatureError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.forget_expired(now);
        if request.valid_until < now {
            return Err(HttpSignatureError::Expired(
                "the signature expired before its nonce was recorded".into(),
            ));
        }
        let entry = (request.party_id.clone(), request.nonce);
        if inner.live.contains_key(&entry) {
            return Err(HttpSignatureError::Replayed(request.party_id.clone()));
        }
        if inner.live.len() >= self.capacity {
            return Err(HttpSignatureError::ReplayCacheFull(format!(
                "{} live nonces are remembered",
                self.capacity
            )));
        }
        let count = inner.per_party.get(&request.party_id).copied().unwrap_or(0);
        if count >= self.per_party {
            return Err(HttpSignatureError::ReplayCacheFull(format!(
                "{} holds {} live nonces",
                request.party_id, self.per_party
            )));
        }
        inner.per_party.insert(request.party_id.clone(), count + 1);
        inner.by_expiry.insert((request.valid_until, entry.clone()));
        inner.live.insert(entry, request.valid_until);
        Ok(())
    }

    /// How many nonces are remembered (expired ones included until the next record).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Forgets the entries whose signatures were valid only before `now`.
    fn forget_expired(&mut self, now: u64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            let (_, entry) = self.by_expiry.pop_first().expect("a first entry exists");
            self.live.remove(&entry);
            if let Some(count) = self.per_party.get_mut(&entry.0) {
                *count -= 1;
                if *count == 0 {
                    self.per_party.remove(&entry.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(party: &str, nonce: u8, valid_until: u64) -> VerifiedRequest {
        VerifiedRequest {
            party_id: party.into(),
            nonce: [nonce; NONCE_LEN],
            created: valid_until.saturating_sub(300),
            expires: None,
            valid_until,
            authority: None,
        }
    }

    #[test]
    fn a_nonce_is_refused_while_its_signature_is_valid_and_forgotten_after() {
        let cache = NonceCache::new(10, 10);
        let r = request("DE123456789012345", 1, 1_000);
        cache.check_and_remember(&r, 900).unwrap();
        let again = cache.check_and_remember(&r, 1_000).unwrap_err();
        assert_eq!(again.code(), "replayed-signature");
        // Another party may use the same nonce.
        cache
            .check_and_remember(&request("DE-HAMBURG-HAFEN", 1, 1_000), 900)
            .unwrap();
        assert_eq!(cache.len(), 2);
        // Past its validity the signature is refused by time, and the entry is forgotten.
        let late = cache.check_and_remember(&r, 1_001).unwrap_err();
        assert_eq!(late.code(), "expired-signature");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_guard_refuses_new_nonces_and_keeps_live_ones() {
        let cache = NonceCache::new(3, 2);
        cache.check_and_remember(&request("a", 1, 100), 50).unwrap();
        cache.check_and_remember(&request("a", 2, 200), 50).unwrap();
        let per_party = cache
            .check_and_remember(&request("a", 3, 200), 50)
            .unwrap_err();
        assert_eq!(per_party.code(), "replay-cache-full");
        cache.check_and_remember(&request("b", 1, 200), 50).unwrap();
        let full = cache
            .check_and_remember(&request("c", 1, 200), 50)
            .unwrap_err();
        assert_eq!(full.code(), "replay-cache-full");
        // Nothing live was forgotten to make room.
        assert_eq!(
            cache
                .check_and_remember(&request("a", 1, 100), 60)
                .unwrap_err()
                .code(),
            "replayed-signature"
        );
        // Once the first entry expires its slot is free again, for its party too.
        cache
            .check_and_remember(&request("a", 3, 200), 101)
            .unwrap();
        assert_eq!(cache.len(), 3);
    }
}
