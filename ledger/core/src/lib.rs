//! zkcustoms ledger core: the state machine of the proof log, without networking or HTTP.
//!
//! Transactions are checked against the ledger's rules ([`rules`]) and every proof is verified on
//! arrival and again, batched, in each block ([`chain`]: mempool, block building and validation,
//! applying finalized blocks). Each finalized block is written with its certificate to RocksDB
//! ([`store`], one typed schema per column family) in one synced batch. Certificates are checked
//! offline against the genesis validators ([`finality`]); single transactions are proven to be
//! in the ledger with inclusion proofs ([`inclusion`]); what the API and explorer read goes
//! through [`queries`], so nothing above this crate knows the database's layout. A node
//! verifies each proof and each signature once ([`verdicts`]).
//!
//! With the `test-utils` feature, [`testing`] builds certified ledgers without consensus for tests
//! and benchmarks; it is not part of a production build.

pub mod chain;
pub mod finality;
pub mod inclusion;
pub mod metrics;
pub mod queries;
pub mod rules;
pub mod schema;
pub mod store;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod verdicts;
