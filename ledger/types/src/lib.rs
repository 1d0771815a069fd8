//! zkcustoms ledger types: what every party of the ledger agrees on, byte for byte.
//!
//! Transactions ([`tx`]) and blocks ([`block`]) with their canonical binary encodings, the
//! genesis file and node configuration ([`genesis`]), Ed25519 keys and signatures ([`crypto`]),
//! the parties an authenticated request speaks for and the readers of a document ([`party`]),
//! the typed JSON bodies of a node's `/v1` API ([`wire`]) that the server and every client
//! share, the HTTP message signatures with which a party authenticates its requests
//! ([`http_signature`]), and JSON read strictly, within a budget of values ([`json`]). Nothing
//! here does I/O beyond reading and writing key and genesis files.

pub mod block;
pub mod crypto;
pub mod genesis;
/// HTTP message signatures (RFC 9421) with Ed25519: per-party request authentication.
pub mod http_signature;
pub mod json;
pub mod party;
pub mod tx;
pub mod wire;

/// The canonical binary codec shared with the circuits crate.
pub mod codec {
    pub use zkcustoms_circuits::codec::*;
}
