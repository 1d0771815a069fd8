//! Inclusion proofs: that one transaction is in the ledger, checkable offline with nothing but the
//! genesis file.
//!
//! A proof carries the transaction (JSON form), its RFC 6962 audit path in the block's
//! transaction tree, the block header, and the finalization certificate: the block's own, or,
//! when the block was finalized implicitly by a descendant's certificate, the headers from the
//! block up to that descendant and the descendant's certificate. [`verify`] recomputes the
//! transaction root from the path, links the headers by hash, and checks the certificate against
//! a quorum of the genesis validators; a signed transaction's signature is checked against the
//! genesis party that signed it (signatures cover the chain id).
//!
//! ```json
//! {"format": "zkcustoms-inclusion/v1", "chain_id": "…", "tx_hash": "…", "height": 7, "index": 2,
//!  "transaction": {"type": "submit_proof", …}, "path": ["…", …],
//!  "header": {"height": 7, "parent": "…", "timestamp_ms": …, "tx_root": "…", "tx_count": 5,
//!             "proposer": "…"},
//!  "descendants": [],
//!  "certificate": {"height": 7, "view": 12, "certificate": "…"}}
//! ```

use crate::finality::verify_finalization;
use crate::store::{Finality, Store, StoreError, Transactions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zkcustoms_ledger_types::block::{merkle_path, merkle_root_from_path, BlockHeader};
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{sha256, Hash, Signer, Transaction};
use zkcustoms_verifier::VerifierKeys;

/// Format tag of an inclusion proof.
pub const INCLUSION_FORMAT: &str = "zkcustoms-inclusion/v1";
/// Most descendant headers an inclusion proof may carry.
pub const MAX_DESCENDANTS: usize = 10_000;

/// Why an inclusion proof could not be made or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InclusionError {
    /// The proof is not well-formed (JSON, hex, lengths, field values).
    #[error("malformed inclusion proof: {0}")]
    Malformed(String),
    /// The proof is well-formed but does not prove inclusion: the check that failed, and why.
    #[error("inclusion proof refused ({check}): {reason}")]
    Refused {
        /// The check: `chain-id`, `transaction`, `path`, `header-chain` or `certificate`.
        check: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The store failed or holds a damaged entry (when making a proof).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(check: &'static str, reason: impl Into<String>) -> InclusionError {
    InclusionError::Refused {
        check,
        reason: reason.into(),
    }
}

fn malformed(reason: impl Into<String>) -> InclusionError {
    InclusionError::Malformed(reason.into())
}

/// A block header in JSON (hashes and keys in hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderJson {
    /// Height.
    pub height: u64,
    /// Parent hash.
    pub parent: String,
    /// Proposer's timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Transaction Merkle root.
    pub tx_root: String,
    /// Number of transactions.
    pub tx_count: u32,
    /// Proposer's public key.
    pub proposer: String,
}

impl HeaderJson {
    /// The JSON form of a header.
    pub fn from_header(h: &BlockHeader) -> Self {
        Self {
            height: h.height,
            parent: hex::encode(h.parent),
            timestamp_ms: h.timestamp_ms,
            tx_root: hex::encode(h.tx_root),
            tx_count: h.tx_count,
            proposer: hex::encode(h.proposer),
        }
    }

    /// The header (hex fields decoded, exact lengths).
    pub fn to_header(&self) -> Result<BlockHeader, InclusionError> {
        Ok(BlockHeader {
            height: self.height,
            parent: hash_from_hex("parent", &self.parent)?,
            timestamp_ms: self.timestamp_ms,
            tx_root: hash_from_hex("tx_root", &self.tx_root)?,
            tx_count: self.tx_count,
            proposer: hash_from_hex("proposer", &self.proposer)?,
        })
    }
}

/// The certificate that finalizes the block (or its descendant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateJson {
    /// Height of the certified block.
    pub height: u64,
    /// Consensus view.
    pub view: u64,
    /// The encoded finalization certificate, hex.
    pub certificate: String,
}

/// An inclusion proof (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Always [`INCLUSION_FORMAT`].
    pub format: String,
    /// The ledger's chain id (SHA-256 of its genesis file), hex.
    pub chain_id: String,
    /// The transaction's hash, hex.
    pub tx_hash: String,
    /// Height of its block.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// The transaction, JSON form.
    pub transaction: Value,
    /// RFC 6962 audit path from the transaction's leaf to the block's transaction root, hex.
    pub path: Vec<String>,
    /// The block header.
    pub header: HeaderJson,
    /// Headers after the block up to the certified one (empty when the block has its own
    /// certificate).
    pub descendants: Vec<HeaderJson>,
    /// The finalization certificate.
    pub certificate: CertificateJson,
}

/// What a valid inclusion proof establishes.
#[derive(Clone, Debug)]
pub struct Included {
    /// The transaction.
    pub transaction: Transaction,
    /// Its hash.
    pub tx_hash: Hash,
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
    /// The block's hash.
    pub block_hash: Hash,
    /// Height of the certified block.
    pub certified_height: u64,
    /// The consensus view of the certificate.
    pub view: u64,
}

fn hash_from_hex(field: &str, s: &str) -> Result<Hash, InclusionError> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| malformed(format!("{field} must be 32 bytes in hex")))
}

/// Makes the inclusion proof of a finalized transaction from a store; `None` when the store has
/// no such transaction.
pub fn build(
    store: &Store,
    chain_id: &Hash,
    tx_hash: &Hash,
) -> Result<Option<InclusionProof>, InclusionError> {
    let Some(loc) = store.get::<Transactions>(tx_hash)? else {
        return Ok(None);
    };
    let damaged = |what: String| {
        InclusionError::Store(StoreError::Mismatch(format!(
            "the store is damaged: {what}; run `zkcustoms audit`"
        )))
    };
    // The block as stored: the path needs every transaction's bytes, the proof only this
    // transaction decoded (a full block's proof points are not decoded for one proof).
    let stored = store
        .raw_block(loc.height)?
        .ok_or_else(|| damaged(format!("block {} is missing", loc.height)))?;
    let leaves = crate::queries::block_tx_bytes(&stored)?;
    let tx = leaves
        .get(loc.index as usize)
        .filter(|bytes| sha256(bytes) == *tx_hash)
        .ok_or_else(|| {
            damaged(format!(
                "transaction {} is not at its indexed place",
                hex::encode(tx_hash)
            ))
        })?;
    let tx = Transaction::from_bytes(tx)
        .map_err(|e| damaged(format!("transaction {}: {e}", hex::encode(tx_hash))))?;
    let path = merkle_path(&leaves, loc.index as usize).expect("index is in range");
    let mut descendants = Vec::new();
    let certificate = match &stored.finality {
        Finality::Certificate { view, certificate } => CertificateJson {
            height: loc.height,
            view: *view,
            certificate: hex::encode(certificate),
        },
        Finality::Descendant(top) => {
            if *top <= loc.height || (*top - loc.height) as usize > MAX_DESCENDANTS {
                return Err(damaged(format!(
                    "block {} names descendant {top} as its finality",
                    loc.height
                )));
            }
            for h in loc.height + 1..*top {
                let header = store
                    .block_header(h)?
                    .ok_or_else(|| damaged(format!("block {h} is missing")))?;
                descendants.push(HeaderJson::from_header(&header));
            }
            let certified = store
                .raw_block(*top)?
                .ok_or_else(|| damaged(format!("block {top} is missing")))?;
            descendants.push(HeaderJson::from_header(&certified.header));
            match certified.finality {
                Finality::Certificate { view, certificate } => CertificateJson {
                    height: *top,
                    view,
                    certificate: hex::encode(certificate),
                },
                Finality::Descendant(_) => {
                    return Err(damaged(format!("block {top} has no certificate")))
                }
            }
        }
    };
    Ok(Some(InclusionProof {
        format: INCLUSION_FORMAT.into(),
        chain_id: hex::encode(chain_id),
        tx_hash: hex::encode(tx_hash),
        height: loc.height,
        index: loc.index,
        transaction: tx.to_json(),
        path: path.iter().map(hex::encode).collect(),
        header: HeaderJson::from_header(&stored.header),
        descendants,
        certificate,
    }))
}

/// Parses an inclusion proof from JSON (unknown fields refused).
pub fn parse(text: &str) -> Result<InclusionProof, InclusionError> {
    serde_json::from_str(text).map_err(|e| malformed(e.to_string()))
}

/// Checks an inclusion proof against a genesis: format and chain id, the transaction (decoded
/// with full validation, its hash, and for signed kinds the signature of the genesis party), the
/// path to the header's transaction root, the hash links from the header to the certified block,
/// and the certificate (a quorum of the genesis validators over the certified block's hash). With
/// `keys`, a proof transaction's proof is verified too.
pub fn verify(
    proof: &InclusionProof,
    genesis: &Genesis,
    keys: Option<&VerifierKeys>,
) -> Result<Included, InclusionError> {
    if proof.format != INCLUSION_FORMAT {
        return Err(malformed(format!(
            "unknown format {:?}, expected {INCLUSION_FORMAT:?}",
            proof.format
        )));
    }
    let chain_id = hash_from_hex("chain_id", &proof.chain_id)?;
    if chain_id != genesis.chain_id {
        return Err(refused(
            "chain-id",
            format!(
                "the proof is for chain {}, the genesis is chain {}",
                proof.chain_id,
                hex::encode(genesis.chain_id)
            ),
        ));
    }
    let tx = Transaction::from_json(proof.transaction.clone())
        .map_err(|e| malformed(format!("transaction: {e}")))?;
    let tx_hash = hash_from_hex("tx_hash", &proof.tx_hash)?;
    let bytes = tx.to_bytes();
    if zkcustoms_ledger_types::tx::sha256(&bytes) != tx_hash {
        return Err(refused(
            "transaction",
            "the transaction's hash is not tx_hash",
        ));
    }
    check_signature(&tx, genesis)?;
    if let (Some(keys), Transaction::SubmitProof(p)) = (keys, &tx) {
        keys.verify(&p.envelope)
            .map_err(|e| refused("transaction", format!("its proof: {e}")))?;
    }
    let path: Vec<Hash> = proof
        .path
        .iter()
        .map(|h| hash_from_hex("path", h))
        .collect::<Result<_, _>>()?;
    if proof.descendants.len() > MAX_DESCENDANTS {
        return Err(malformed(format!(
            "more than {MAX_DESCENDANTS} descendant headers"
        )));
    }
    let header = proof.header.to_header()?;
    if header.height != proof.height {
        return Err(refused(
            "header-chain",
            format!(
                "the header is of height {}, the proof says {}",
                header.height, proof.height
            ),
        ));
    }
    if header.height == 0 {
        return Err(refused("header-chain", "blocks start at height 1"));
    }
    if header.height == 1 && header.parent != genesis.chain_id {
        return Err(refused(
            "header-chain",
            "the first block's parent is not the genesis hash",
        ));
    }
    let root = merkle_root_from_path(
        &bytes,
        u64::from(proof.index),
        u64::from(header.tx_count),
        &path,
    );
    if root != Some(header.tx_root) {
        return Err(refused(
            "path",
            format!(
                "the path from transaction {} does not lead to the header's transaction root",
                proof.index
            ),
        ));
    }
    let block_hash = header.hash();
    let (mut last_height, mut last_hash) = (header.height, block_hash);
    for d in &proof.descendants {
        let d = d.to_header()?;
        // The heights are the proof's: no arithmetic on them may overflow.
        if Some(d.height) != last_height.checked_add(1) || d.parent != last_hash {
            return Err(refused(
                "header-chain",
                format!(
                    "header {} does not extend block {last_height} by hash",
                    d.height
                ),
            ));
        }
        (last_height, last_hash) = (d.height, d.hash());
    }
    if proof.certificate.height != last_height {
        return Err(refused(
            "certificate",
            format!(
                "the certificate is said to be for height {}, the headers end at {last_height}",
                proof.certificate.height
            ),
        ));
    }
    let certificate = hex::decode(&proof.certificate.certificate)
        .map_err(|_| malformed("certificate is not hex"))?;
    let view = verify_finalization(genesis, &last_hash, &certificate)
        .map_err(|e| refused("certificate", e.to_string()))?;
    if view != proof.certificate.view {
        return Err(refused(
            "certificate",
            format!(
                "the certificate is for view {view}, the proof says {}",
                proof.certificate.view
            ),
        ));
    }
    Ok(Included {
        transaction: tx,
        tx_hash,
        height: header.height,
        index: proof.index,
        block_hash,
        certified_height: last_height,
        view,
    })
}

/// A transaction signed by a genesis party must carry that party's signature. A trader's key is
/// ledger state, not genesis: the validators checked it against the state of the time, and the
/// certificate vouches for that.
fn check_signature(tx: &Transaction, genesis: &Genesis) -> Result<(), InclusionError> {
    let key = match tx.signer() {
        Signer::Authority(id) => genesis.authorities.get(id),
        Signer::Office(id) => genesis.offices.get(id).map(|o| &o.key),
        Signer::Trader(_) => return Ok(()),
    };
    let ok = key.is_some_and(|k| tx.verify_signature(&genesis.chain_id, k));
    if ok {
        Ok(())
    } else {
        Err(refused(
            "transaction",
            "the signature is not that of the genesis party it names",
        ))
    }
}
