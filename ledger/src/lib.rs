//! zkcustoms ledger: the permissioned, hash-chained log of proofs that customs administrations
//! run together.
//!
//! Transactions ([`tx`]) are checked against the ledger's rules ([`state`]) and every proof is
//! verified on arrival and again, batched, in each block ([`chain`]). Blocks ([`block`]) link to
//! their parent by hash and commit to their transactions by a SHA-256 Merkle root; Commonware's
//! `simplex` BFT consensus ([`consensus`]) finalizes them, and each finalized block is written with
//! its certificate to RocksDB ([`store`]) in one synced batch; a validator that falls behind
//! catches up from its peers ([`sync`]). A node ([`node`]) serves the HTTP API ([`api`]) and,
//! on the same listener, the explorer's web pages ([`explorer`]); [`client`] speaks to the API.
//!
//! The documents whose digests are anchored stay off the ledger: a node keeps them encrypted, each
//! under its own key, and forgets one by destroying its key ([`documents`]).
//!
//! An auditor replays and re-checks the whole ledger from genesis ([`audit`]) and checks single
//! transactions offline with inclusion proofs ([`inclusion`]); [`testing`] builds certified
//! ledgers without consensus for tests and benchmarks.

pub mod api;
pub mod audit;
pub mod block;
pub mod chain;
pub mod client;
pub mod consensus;
pub mod crypto;
pub mod documents;
pub mod explorer;
pub mod genesis;
pub mod inclusion;
pub mod metrics;
pub mod node;
pub mod state;
pub mod store;
pub mod sync;
pub mod testing;
pub mod tx;

/// The canonical binary codec shared with the circuits crate.
pub mod codec {
    pub use zkcustoms_circuits::codec::*;
}
