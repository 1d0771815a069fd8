//! zkcustoms ledger: the permissioned, hash-chained log of proofs that customs administrations
//! run together (transactions, blocks, RocksDB storage, Simplex consensus, the node's HTTP API).
//!
//! This crate holds the ledger's shared vocabulary so far; the node itself is built on top of
//! the verifier crate, which checks every proof before it is recorded.

/// Statement ids a ledger accepts proofs of, in the order they were introduced.
pub const ACCEPTED_STATEMENTS: [&str; 2] = [
    zkcustoms_circuits::aeo_status::ID,
    zkcustoms_circuits::invoice_value::ID,
];
