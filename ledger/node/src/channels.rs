//! The peer-to-peer channels of a validator, the largest message on any of them, and how long a
//! blocked peer stays blocked, shared by consensus and catch-up.

/// The peer-to-peer channels of a validator.
pub mod channel {
    /// Consensus votes.
    pub const VOTES: u64 = 0;
    /// Consensus certificates.
    pub const CERTIFICATES: u64 = 1;
    /// Consensus' own resolver (missing certificates).
    pub const RESOLVER: u64 = 2;
    /// Proposed blocks, and requests for them.
    pub const BLOCKS: u64 = 3;
    /// Transactions relayed between validators.
    pub const TRANSACTIONS: u64 = 4;
    /// Catching up on finalized blocks.
    pub const SYNC: u64 = 5;
}

/// Largest peer-to-peer message, in bytes (a full block, or a batch of finalized blocks).
pub const MAX_MESSAGE: u32 = 8 << 20;

// The largest block, its certificate (at most 1 MiB) and a catch-up response's framing fit in
// one message: every finalized block can be served.
const _: () = assert!(
    zkcustoms_ledger_types::block::MAX_BLOCK_BYTES + (1 << 20) + 1024 <= MAX_MESSAGE as usize
);

/// How long a peer stays blocked once this validator blocks it, after which it may connect
/// again. A peer is blocked only for what it provably sent wrong (consensus' own checks, a
/// malformed message, a relayed transaction it would have refused itself, wrong blocks while
/// catching up); the validators are few and known, so the block is bounded: a peer blocked by
/// mistake (validators on different versions of the rules, say) comes back, and a faulty one is
/// blocked again at its next fault. Shorter than Commonware's recommended four hours, for the
/// same reason: one validator of four cut off for long leaves consensus no margin.
pub const BLOCK_DURATION: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Shortest time between two connections with the same peer, for validators on a network
/// (see `p2p_config` in the crate root): as long as Commonware's recommended handshake rate per
/// address (one every five seconds) allows, instead of its recommended minute.
pub const PEER_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(5);

/// Shortest time between two connections with the same peer, for a development cluster on one
/// machine (loopback addresses).
pub const LOCAL_PEER_COOLDOWN: std::time::Duration = std::time::Duration::from_millis(100);

/// Messages a second each peer may send on a channel (more are dropped): generous for consensus,
/// whose rate follows the views, and tight for catch-up, which a peer asks for once an interval.
pub fn quota(channel: u64) -> commonware_runtime::Quota {
    use commonware_utils::NZU32;
    let per_second = match channel {
        channel::VOTES | channel::CERTIFICATES => NZU32!(1_000),
        channel::RESOLVER | channel::BLOCKS => NZU32!(200),
        channel::TRANSACTIONS => NZU32!(10_000),
        _ => NZU32!(20),
    };
    commonware_runtime::Quota::per_second(per_second)
}
