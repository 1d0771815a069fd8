//! The replay guard: a bounded memory of the nonces of recently accepted signatures.

use super::{HttpSignatureError, VerifiedRequest, NONCE_LEN};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

/// A remembered signature: its party and nonce.
type Entry = (String, [u8; NONCE_LEN]);

/// Remembers the `(party, nonce)` of every accepted signature for as long as that signature could
/// still be accepted ([`VerifiedRequest::valid_until`]), and refuses a second use of it.
///
/// Memory is bounded by `capacity` entries in all and `per_party` entries for one party. A party
/// at its own bound is refused ([`HttpSignatureError::ReplayCacheFull`]: the request was authentic
/// and can be sent again with a fresh nonce once its older signatures expire). When the guard as a
/// whole is full, the party holding the most entries makes room, not the newcomer: its entry that
/// expires first is forgotten, and from then on that party's signatures valid no later than the
/// forgotten one are refused as expired (its floor), so the forgotten request still cannot be
/// replayed. So no group of parties, however busy, locks the others out: a party is refused for
/// room only while it holds as many entries as the busiest party.
///
/// Record a request only after [`super::verify_request`] accepted it, so that nobody without a
/// party's key can fill the guard. Each entry holds the party id and the nonce (about 200 bytes
/// with the maps' overhead), so a capacity of 100 000 takes some 20 MB.
///
/// The guard is synchronous and does no I/O; the time is passed in, in unix seconds. A signature
/// valid no later than one the guard forgot is refused, so that a clock stepped forward and back
/// brings back no forgotten signature.
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
    /// Live entries per party, ordered by that second.
    per_party: HashMap<String, BTreeSet<(u64, [u8; NONCE_LEN])>>,
    /// The parties with live entries by how many they hold, the busiest last.
    by_load: BTreeSet<(usize, String)>,
    /// Per party that had to make room: its signatures valid no later than this second are
    /// refused (one of them was forgotten while it could still be replayed).
    floors: HashMap<String, u64>,
    /// The latest second any forgotten signature was valid until: signatures valid no later
    /// than this are refused. A clock stepped forward and then back (a correction, or a hostile
    /// time server) would otherwise bring back signatures whose nonces the forward step let the
    /// guard forget; after such a step, new signatures are held back for at most one signature
    /// window, and without one this refuses nothing (what is forgotten expired before `now`).
    forgotten: u64,
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
    /// the signature is no longer valid at `now` or no later than its party's floor
    /// ([`HttpSignatureError::Expired`]), or if its party holds its share
    /// ([`HttpSignatureError::ReplayCacheFull`]).
    pub fn check_and_remember(
        &self,
        request: &VerifiedRequest,
        now: u64,
    ) -> Result<(), HttpSignatureError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.forget_expired(now);
        inner.refuse_used(request, now)?;
        let party = &request.party_id;
        let entry = (party.clone(), request.nonce);
        let count = inner.count(party);
        if count >= self.per_party {
            return Err(HttpSignatureError::ReplayCacheFull(format!(
                "{party} holds {} live nonces",
                self.per_party
            )));
        }
        if inner.live.len() >= self.capacity {
            let busiest = inner.by_load.last().cloned();
            match busiest {
                Some((most, busiest)) if most > count + 1 => inner.make_room(&busiest),
                _ => {
                    return Err(HttpSignatureError::ReplayCacheFull(format!(
                        "{} live nonces are remembered, and {party} holds as many as any party",
                        self.capacity
                    )))
                }
            }
        }
        inner.insert(entry, request.valid_until);
        Ok(())
    }

    /// Refuses `request` at time `now` as [`Self::check_and_remember`] would for a replay or an
    /// expired signature, without recording it: a replay of a request already served can be
    /// refused before its body is read, and charged to whoever sent it rather than to the party.
    pub fn check(&self, request: &VerifiedRequest, now: u64) -> Result<(), HttpSignatureError> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refuse_used(request, now)
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
    /// Refuses a signature no longer valid at `now`, one no later than its party's floor, or a
    /// nonce its party already used in a signature that is still remembered.
    fn refuse_used(&self, request: &VerifiedRequest, now: u64) -> Result<(), HttpSignatureError> {
        if request.valid_until < now {
            return Err(HttpSignatureError::Expired(
                "the signature expired before its nonce was recorded".into(),
            ));
        }
        if request.valid_until <= self.forgotten {
            return Err(HttpSignatureError::Expired(format!(
                "signatures valid only until {} or earlier are no longer accepted (the node's \
                 clock went back): sign the request again",
                self.forgotten
            )));
        }
        let party = &request.party_id;
        if let Some(&floor) = self.floors.get(party) {
            if request.valid_until <= floor {
                return Err(HttpSignatureError::Expired(format!(
                    "signatures of {party:?} valid only until {floor} or earlier are no longer \
                     accepted (the replay guard made room): sign the request again"
                )));
            }
        }
        // An entry whose signature has expired is one `forget_expired` drops: not a replay.
        let entry = (party.clone(), request.nonce);
        if self.live.get(&entry).is_some_and(|&until| until >= now) {
            return Err(HttpSignatureError::Replayed(party.clone()));
        }
        Ok(())
    }

    fn count(&self, party: &str) -> usize {
        self.per_party.get(party).map_or(0, BTreeSet::len)
    }

    /// Moves `party` in the load order from `before` entries to its current count.
    fn reload(&mut self, party: &str, before: usize) {
        let after = self.count(party);
        if before > 0 {
            self.by_load.remove(&(before, party.to_owned()));
        }
        if after > 0 {
            self.by_load.insert((after, party.to_owned()));
        } else {
            self.per_party.remove(party);
        }
    }

    fn insert(&mut self, entry: Entry, valid_until: u64) {
        let before = self.count(&entry.0);
        self.per_party
            .entry(entry.0.clone())
            .or_default()
            .insert((valid_until, entry.1));
        self.reload(&entry.0, before);
        self.by_expiry.insert((valid_until, entry.clone()));
        self.live.insert(entry, valid_until);
    }

    fn remove(&mut self, entry: &Entry, valid_until: u64) {
        let before = self.count(&entry.0);
        if let Some(set) = self.per_party.get_mut(&entry.0) {
            set.remove(&(valid_until, entry.1));
        }
        self.reload(&entry.0, before);
        self.by_expiry.remove(&(valid_until, entry.clone()));
        self.live.remove(entry);
    }

    /// Forgets the live entry of `party` that expires first, and raises the party's floor to it.
    fn make_room(&mut self, party: &str) {
        let Some(&(valid_until, nonce)) = self.per_party.get(party).and_then(BTreeSet::first)
        else {
            return;
        };
        self.remove(&(party.to_owned(), nonce), valid_until);
        let floor = self.floors.entry(party.to_owned()).or_default();
        *floor = (*floor).max(valid_until);
    }

    /// Forgets the entries whose signatures were valid only before `now`, and the floors that no
    /// longer refuse anything (every signature under them has expired).
    fn forget_expired(&mut self, now: u64) {
        while let Some((valid_until, entry)) = self.by_expiry.first().cloned() {
            if valid_until >= now {
                break;
            }
            self.forgotten = self.forgotten.max(valid_until);
            self.remove(&entry, valid_until);
        }
        if !self.floors.is_empty() {
            self.floors.retain(|_, floor| *floor >= now);
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
    fn a_clock_stepped_forward_and_back_brings_back_no_forgotten_signature() {
        let cache = NonceCache::new(10, 10);
        let r = request("DE123456789012345", 1, 1_000);
        cache.check_and_remember(&r, 900).unwrap();
        // The clock steps an hour ahead: another request makes the guard forget the first.
        cache
            .check_and_remember(&request("DE123456789012346", 1, 5_000), 4_700)
            .unwrap();
        assert_eq!(cache.len(), 1);
        // Back to the right time: the first signature would be within its window again.
        for refused in [cache.check(&r, 950), cache.check_and_remember(&r, 950)] {
            assert!(
                matches!(refused, Err(HttpSignatureError::Expired(_))),
                "{refused:?}"
            );
        }
        // A signature made after the step back is accepted once it is valid beyond the
        // forgotten one: the clock's step holds new signatures back for one window at most.
        cache
            .check_and_remember(&request("DE123456789012345", 2, 1_001), 960)
            .unwrap();
    }

    #[test]
    fn a_full_guard_makes_room_at_the_busiest_party_and_no_replay_gets_through() {
        let cache = NonceCache::new(3, 2);
        cache.check_and_remember(&request("a", 1, 100), 50).unwrap();
        cache.check_and_remember(&request("a", 2, 200), 50).unwrap();
        // A party at its own bound is refused.
        let per_party = cache
            .check_and_remember(&request("a", 3, 200), 50)
            .unwrap_err();
        assert_eq!(per_party.code(), "replay-cache-full");
        cache.check_and_remember(&request("b", 1, 200), 50).unwrap();
        // Full: the newcomer gets the slot of the busiest party's entry that expires first.
        cache.check_and_remember(&request("c", 1, 200), 50).unwrap();
        assert_eq!(cache.len(), 3);
        // Neither of a's requests can be replayed: the forgotten one is under a's floor, the
        // other is still remembered.
        let replay = |nonce, valid_until| {
            cache
                .check_and_remember(&request("a", nonce, valid_until), 60)
                .unwrap_err()
                .code()
        };
        assert_eq!(replay(1, 100), "expired-signature");
        assert_eq!(replay(2, 200), "replayed-signature");
        // Now every party holds one entry: a newcomer finds no busier party, and is refused.
        let even = cache
            .check_and_remember(&request("d", 1, 200), 60)
            .unwrap_err();
        assert_eq!(even.code(), "replay-cache-full");
        // Once entries expire, their slots are free again, and a's floor lapses with them.
        cache
            .check_and_remember(&request("d", 1, 300), 201)
            .unwrap();
        cache
            .check_and_remember(&request("a", 1, 300), 201)
            .unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.inner.lock().unwrap().floors.is_empty());
    }

    #[test]
    fn colluding_parties_at_their_bound_do_not_lock_out_another() {
        // Ten parties each fill their share of a guard of 10 x 20; an eleventh still gets in,
        // every time, while no replay of theirs is accepted.
        let cache = NonceCache::new(200, 20);
        let party = |p: usize| format!("P{p}");
        for p in 0..10 {
            for n in 0..20u8 {
                let r = request(&party(p), n, 1_000 + u64::from(n));
                cache.check_and_remember(&r, 900).unwrap();
            }
        }
        assert_eq!(cache.len(), 200);
        for n in 0..5u8 {
            cache
                .check_and_remember(&request("HONEST", n, 1_200), 900)
                .unwrap();
        }
        assert_eq!(cache.len(), 200, "the bound holds");
        for p in 0..10 {
            for n in 0..20u8 {
                let r = request(&party(p), n, 1_000 + u64::from(n));
                assert!(
                    cache.check_and_remember(&r, 901).is_err(),
                    "replay of P{p}/{n}"
                );
            }
        }
        // The honest party's own nonces are remembered like any other.
        let again = cache.check_and_remember(&request("HONEST", 0, 1_200), 902);
        assert_eq!(again.unwrap_err().code(), "replayed-signature");
    }
}
