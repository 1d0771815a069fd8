//! zkcustoms ledger types: what every party of the ledger agrees on, byte for byte.
//!
//! Transactions ([`tx`]) and blocks ([`block`]) with their canonical binary encodings, the
//! genesis file and node configuration ([`genesis`]), Ed25519 keys and signatures ([`crypto`]),
//! and the typed JSON bodies of a node's `/v1` API ([`wire`]) that the server and every client
//! share. Nothing here does I/O beyond reading and writing key and genesis files.

pub mod block;
pub mod crypto;
pub mod genesis;
pub mod tx;
pub mod wire;

/// The canonical binary codec shared with the circuits crate.
pub mod codec {
    pub use zkcustoms_circuits::codec::*;
}
