//! Which refusals of a relayed transaction prove the relaying peer faulty.
//!
//! A validator relays only what a client submitted to it and it admitted itself, after the same
//! checks this node runs on a relayed transaction ([`Chain::submit_from_peer`]). A refusal proves
//! the peer faulty when it follows from the transaction's bytes, the genesis (one file, the same
//! for every validator, never changed) and the rules alone: the peer would have refused the
//! transaction too, so it did not check, or it lies. A refusal that depends on the state (the
//! finalized blocks, the pending ones, the mempool) or on the clock does not: validators see
//! blocks and relayed transactions in different orders and at different times, so two honest
//! ones disagree on those for a while (two roots of the same sequence submitted to two
//! validators at once, say: each refuses the other's).
//!
//! A rejection code is blamed only when it is listed in [`PROVABLE`]; one added to the rules
//! later is forgiven until it is classified (a test fails until then).

use zkcustoms_ledger_core::chain::SubmitError;

/// Rejection codes that prove the relaying peer faulty, each decided by the bytes, the genesis
/// and the rules alone:
/// - `bad-signature`: the signature does not verify under the signer's key in genesis;
/// - `unknown-authority`, `unknown-office`: the signer is not listed in genesis;
/// - `unpinned-key`: the envelope names a verifying key genesis does not pin;
/// - `wrong-scope`: an aeo-status proof's scope is not the one the chain id and the UCR the
///   transaction names determine;
/// - `invalid-proof`: a well-formed proof that does not verify under its pinned key (every
///   validator holds every pinned key, checked against genesis when it opens its ledger);
/// - `malformed-proof`: an envelope whose proof or public inputs are malformed, or of a
///   statement the ledger does not accept.
///
/// Oversize and undecodable transactions never reach the rules: the transaction's decoder
/// refuses them, and the relaying peer is blocked for that.
pub const PROVABLE: &[&str] = &[
    "bad-signature",
    "unknown-authority",
    "unknown-office",
    "unpinned-key",
    "wrong-scope",
    "invalid-proof",
    "malformed-proof",
];

/// Rejection codes that do not prove the relaying peer faulty, each depending on the state or
/// the clock, on which honest validators disagree for a while:
/// - `duplicate-transaction`, `duplicate-proof`, `nullifier-used`, `duplicate-root`: already
///   finalized, pending or in the mempool here (a peer may have relayed it before the block
///   holding it reached it, or two clients submitted the same to two validators);
/// - `bad-sequence`, `version-conflict`: another root or document version of the same sequence
///   came here first;
/// - `unknown-root`, `unanchored-digest`: the root or digest is in a block this node has not
///   received yet;
/// - `stale-root`, `as-of-day`: decided against the clock, which differs between validators and
///   moves on while the transaction travels;
/// - `under-examination`, `already-under-examination`: an examination mark this node holds and
///   the peer may not have had yet;
/// - `unknown-party`, `revoked-key`, `wrong-party-key`, `already-registered`,
///   `wrong-administration`: a trader's key is ledger state (registered, rotated, revoked in
///   blocks the peer or this node may not have yet), and so is who registered it;
/// - `not-owner`: ownership and delegations are ledger state too;
/// - `not-an-invoice`, `superseded-digest`: what a digest was anchored as, and whether a newer
///   version is anchored, depend on blocks the two nodes may not share yet.
///
/// A full mempool (or a party's full share of it) and this node's own storage failures are not
/// the peer's fault either.
pub const STATEFUL: &[&str] = &[
    "duplicate-transaction",
    "duplicate-proof",
    "nullifier-used",
    "duplicate-root",
    "bad-sequence",
    "version-conflict",
    "unknown-root",
    "unanchored-digest",
    "stale-root",
    "as-of-day",
    "under-examination",
    "already-under-examination",
    "unknown-party",
    "revoked-key",
    "wrong-party-key",
    "already-registered",
    "wrong-administration",
    "not-owner",
    "not-an-invoice",
    "superseded-digest",
];

/// True when refusing a relayed transaction for `error` proves the peer that relayed it faulty
/// (see [`PROVABLE`] and [`STATEFUL`]).
pub fn is_provable_fault(error: &SubmitError) -> bool {
    match error {
        SubmitError::Rejected(r) => PROVABLE.contains(&r.code),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkcustoms_ledger_core::rules::{Rejection, REJECTION_CODES};
    use zkcustoms_ledger_core::store::StoreError;

    #[test]
    fn every_rejection_code_is_classified_once() {
        for code in REJECTION_CODES {
            let (provable, stateful) = (PROVABLE.contains(code), STATEFUL.contains(code));
            assert!(
                provable != stateful,
                "rejection code {code:?} must be in exactly one of PROVABLE and STATEFUL"
            );
        }
        for code in PROVABLE.iter().chain(STATEFUL) {
            assert!(
                REJECTION_CODES.contains(code),
                "{code:?} is not a rejection code"
            );
        }
    }

    #[test]
    fn only_provable_rejections_blame_the_relaying_peer() {
        let rejected = |code| SubmitError::Rejected(Rejection::new(code, "why"));
        for code in PROVABLE {
            assert!(is_provable_fault(&rejected(code)), "{code}");
        }
        for code in STATEFUL {
            assert!(!is_provable_fault(&rejected(code)), "{code}");
        }
        // A code the classification does not know is forgiven.
        assert!(!is_provable_fault(&rejected("some-new-rule")));
        // A full mempool, or this node failing, is never the peer's fault.
        assert!(!is_provable_fault(&SubmitError::Full(10)));
        let share = SubmitError::PartyFull {
            party: "DE123456789012345".into(),
            waiting: 2_500,
            bytes: 1 << 20,
        };
        assert!(!is_provable_fault(&share));
        let local = SubmitError::Internal(StoreError::Mismatch("another ledger".into()));
        assert!(!is_provable_fault(&local));
    }
}
