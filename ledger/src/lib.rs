//! zkcustoms ledger: the permissioned, hash-chained log of proofs that customs administrations
//! run together (transactions, blocks, RocksDB storage, Simplex consensus, the node's HTTP API).
//!
//! Not built yet: the crate exists so the workspace has its final shape. Every proof the ledger
//! records will be checked by the `zkcustoms-verifier` crate first.
