//! Where an audit reads the ledger: a stopped node's store opened read-only, or a node's HTTP API
//! with an auditor token; the verifying keys from a key directory checked against genesis.

use crate::report::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use zkcustoms_ledger_client::{Client, ClientError};
use zkcustoms_ledger_core::store::{
    Blocks, Finality, Meta, Store, Transactions, TxLocation, VerifyingKeys, META_CHAIN_ID,
    VALUE_VERSION,
};
use zkcustoms_ledger_types::block::{BlockHeader, HEADER_LEN, MAX_BLOCK_TXS};
use zkcustoms_ledger_types::codec::Reader;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{Hash, Transaction, MAX_TX_BYTES};
use zkcustoms_verifier::{KeyDir, VerifierKeys, VerifyingKey};

/// A block as a source holds it: the header, the transactions' bytes (not decoded yet) and how
/// it was finalized.
#[derive(Clone, Debug)]
pub struct RawBlock {
    /// The header.
    pub header: BlockHeader,
    /// Each transaction's canonical bytes, as stored.
    pub txs: Vec<Vec<u8>>,
    /// What finalized it.
    pub finality: Finality,
}

/// A block read from a source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Fetched {
    /// Nothing at this height.
    Missing,
    /// Something that does not decode; the index of the transaction at fault when known.
    Broken {
        /// The transaction at fault, when the damage is in one.
        index: Option<u32>,
        /// What is wrong.
        message: String,
    },
    /// A block.
    Block(RawBlock),
}

/// Where the audited blocks come from.
pub trait Source: Sync {
    /// What is audited, for the report.
    fn describe(&self) -> String;
    /// The chain id the source says it belongs to.
    fn chain_id(&self) -> Result<Hash, AuditError>;
    /// The finalized tip the source states: height and hash.
    fn tip(&self) -> Result<(u64, Hash), AuditError>;
    /// The block at a height.
    fn block(&self, height: u64) -> Result<Fetched, AuditError>;
    /// Where the source's index places a transaction; `None` when the source keeps no index
    /// (then the `index` checks are skipped).
    fn tx_location(&self, hash: &Hash) -> Result<Option<Option<TxLocation>>, AuditError>;
    /// True when the source is a complete, frozen store: then nothing may follow the tip.
    fn frozen(&self) -> bool;
    /// The source's database, when it is one: its column families derived from the blocks are
    /// compared with those the replay writes.
    fn database(&self) -> Option<&Store> {
        None
    }
}

/// A stopped node's store, opened read-only.
#[derive(Debug)]
pub struct StoreSource {
    store: Store,
    path: PathBuf,
}

impl StoreSource {
    /// Opens a node's data directory (`DIR/ledger`) or the database directory itself, read-only.
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        if !dir.is_dir() {
            return Err(AuditError::Source(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let path = if dir.join("ledger").is_dir() {
            dir.join("ledger")
        } else {
            dir.to_owned()
        };
        if !path.join("CURRENT").is_file() {
            return Err(AuditError::Source(format!(
                "{} is not a node data directory (no ledger database in it)",
                dir.display()
            )));
        }
        let store = Store::open_read_only(&path).map_err(|e| {
            AuditError::Source(format!("cannot open the database {}: {e}", path.display()))
        })?;
        Ok(Self { store, path })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The verifying keys pinned in genesis, as the node stored them (each checked against its
    /// pinned id).
    pub fn verifying_keys(&self, genesis: &Genesis) -> Result<VerifierKeys, AuditError> {
        let mut keys = VerifierKeys::default();
        for (circuit, id) in &genesis.pinned {
            let stored = self
                .store
                .get::<VerifyingKeys>(&id.0)
                .map_err(|e| AuditError::Keys(e.to_string()))?;
            let key = match stored {
                Some((c, bytes)) if c == *circuit => VerifyingKey::from_bytes(c, &bytes)
                    .map_err(|e| AuditError::Keys(format!("stored key of {c}: {e}")))?,
                _ => {
                    return Err(AuditError::Keys(format!(
                        "the store holds no verifying key {id} for {circuit}: give --keys"
                    )))
                }
            };
            if key.id() != *id {
                return Err(AuditError::Keys(format!(
                    "the stored key of {circuit} is not the pinned key {id}: give --keys"
                )));
            }
            keys.insert(key);
        }
        Ok(keys)
    }
}

/// Decodes a stored `blocks` value without decoding its transactions (see
/// [`zkcustoms_ledger_core::store::Blocks`] for the layout).
pub fn parse_stored_block(raw: &[u8]) -> Fetched {
    let broken = |message: String| Fetched::Broken {
        index: None,
        message,
    };
    let mut r = Reader::new(raw);
    let outer = (|| {
        let version = r.u8("value version")?;
        if version != VALUE_VERSION {
            return Err(zkcustoms_ledger_types::codec::DecodeError::invalid(
                "value version",
                format!("unknown version {version}"),
            ));
        }
        let block = r.bytes("block", 64 << 20)?;
        let finality = match r.u8("finality")? {
            1 => Finality::Certificate {
                view: r.u64("view")?,
                certificate: r.bytes("certificate", 1 << 20)?.to_vec(),
            },
            2 => Finality::Descendant(r.u64("descendant")?),
            t => {
                return Err(zkcustoms_ledger_types::codec::DecodeError::invalid(
                    "finality",
                    format!("tag {t}"),
                ))
            }
        };
        Ok((block, finality))
    })();
    let (block, finality) = match outer.and_then(|v| r.finish().map(|()| v)) {
        Ok(v) => v,
        Err(e) => return broken(format!("stored block: {e}")),
    };
    if block.len() < HEADER_LEN {
        return broken("stored block is shorter than a header".into());
    }
    let header = match BlockHeader::from_bytes(&block[..HEADER_LEN]) {
        Ok(h) => h,
        Err(e) => return broken(format!("header: {e}")),
    };
    let mut r = Reader::new(&block[HEADER_LEN..]);
    let mut txs = Vec::new();
    while r.remaining() > 0 {
        if txs.len() > MAX_BLOCK_TXS as usize {
            return broken(format!("more than {MAX_BLOCK_TXS} transactions"));
        }
        match r.bytes("transaction", MAX_TX_BYTES) {
            Ok(t) => txs.push(t.to_vec()),
            Err(e) => {
                return Fetched::Broken {
                    index: Some(txs.len() as u32),
                    message: format!("transaction framing: {e}"),
                }
            }
        }
    }
    Fetched::Block(RawBlock {
        header,
        txs,
        finality,
    })
}

impl Source for StoreSource {
    fn describe(&self) -> String {
        format!("store {}", self.path.display())
    }

    fn chain_id(&self) -> Result<Hash, AuditError> {
        let id = self
            .store
            .get::<Meta>(&META_CHAIN_ID)
            .map_err(|e| AuditError::Source(e.to_string()))?
            .ok_or_else(|| {
                AuditError::Source(format!(
                    "{} holds no chain id: not a zkcustoms ledger database",
                    self.path.display()
                ))
            })?;
        id.try_into()
            .map_err(|_| AuditError::Source("the stored chain id is not 32 bytes".into()))
    }

    fn tip(&self) -> Result<(u64, Hash), AuditError> {
        self.store
            .tip()
            .map_err(|e| AuditError::Source(e.to_string()))?
            .ok_or_else(|| AuditError::Source("the database records no tip".into()))
    }

    fn block(&self, height: u64) -> Result<Fetched, AuditError> {
        match self.store.get_raw::<Blocks>(&height) {
            Ok(None) => Ok(Fetched::Missing),
            Ok(Some(raw)) => Ok(parse_stored_block(&raw)),
            Err(e) => Err(AuditError::Source(e.to_string())),
        }
    }

    fn tx_location(&self, hash: &Hash) -> Result<Option<Option<TxLocation>>, AuditError> {
        match self.store.get::<Transactions>(hash) {
            Ok(l) => Ok(Some(l)),
            // A damaged index entry is a failed check, not a reason to stop.
            Err(zkcustoms_ledger_core::store::StoreError::Corrupted { .. }) => Ok(Some(None)),
            Err(e) => Err(AuditError::Source(e.to_string())),
        }
    }

    fn frozen(&self) -> bool {
        true
    }

    fn database(&self) -> Option<&Store> {
        Some(&self.store)
    }
}

/// A node's HTTP API, read with an auditor (or customs) token.
#[derive(Debug)]
pub struct NodeSource {
    client: Client,
    url: String,
}

impl NodeSource {
    /// A source reading the node at `url` with `token`.
    pub fn new(url: &str, token: &str) -> Self {
        Self {
            client: Client::new(url, token),
            url: url.to_owned(),
        }
    }

    fn status(&self) -> Result<Value, AuditError> {
        self.client.status().map_err(|e| source_error(&self.url, e))
    }
}

fn source_error(url: &str, e: ClientError) -> AuditError {
    AuditError::Source(format!("node {url}: {e}"))
}

fn hex32(v: &Value, field: &str) -> Result<[u8; 32], String> {
    v[field]
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{field} is not 32 bytes of hex"))
}

/// Reads a block as the API answers it (`GET /v1/blocks/{height}`).
fn parse_api_block(v: &Value) -> Fetched {
    let broken = |message: String| Fetched::Broken {
        index: None,
        message,
    };
    let int = |field: &str| v[field].as_u64().ok_or(format!("{field} is not a number"));
    let header = (|| -> Result<BlockHeader, String> {
        Ok(BlockHeader {
            height: int("height")?,
            parent: hex32(v, "parent")?,
            timestamp_ms: int("timestamp_ms")?,
            tx_root: hex32(v, "tx_root")?,
            tx_count: u32::try_from(int("tx_count")?).map_err(|_| "tx_count is too large")?,
            proposer: hex32(v, "proposer")?,
        })
    })();
    let header = match header {
        Ok(h) => h,
        Err(e) => return broken(format!("header: {e}")),
    };
    let f = &v["finality"];
    let finality = match f["kind"].as_str() {
        Some("certificate") => match (
            f["view"].as_u64(),
            f["certificate"].as_str().and_then(|c| hex::decode(c).ok()),
        ) {
            (Some(view), Some(certificate)) => Finality::Certificate { view, certificate },
            _ => return broken("finality: malformed certificate".into()),
        },
        Some("descendant") => match f["height"].as_u64() {
            Some(h) => Finality::Descendant(h),
            None => return broken("finality: malformed descendant".into()),
        },
        _ => return broken("finality: unknown kind".into()),
    };
    let Some(list) = v["transactions"].as_array() else {
        return broken("transactions are not a list".into());
    };
    if list.len() > MAX_BLOCK_TXS as usize {
        return broken(format!("more than {MAX_BLOCK_TXS} transactions"));
    }
    let mut txs = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let mut t = t.clone();
        if let Some(o) = t.as_object_mut() {
            // The hash the node adds is recomputed, not trusted.
            o.remove("hash");
        }
        match Transaction::from_json(t) {
            Ok(tx) => txs.push(tx.to_bytes()),
            Err(e) => {
                return Fetched::Broken {
                    index: Some(i as u32),
                    message: format!("transaction: {e}"),
                }
            }
        }
    }
    Fetched::Block(RawBlock {
        header,
        txs,
        finality,
    })
}

impl Source for NodeSource {
    fn describe(&self) -> String {
        format!("node {}", self.url)
    }

    fn chain_id(&self) -> Result<Hash, AuditError> {
        hex32(&self.status()?, "chain_id")
            .map_err(|e| AuditError::Source(format!("node {}: status: {e}", self.url)))
    }

    fn tip(&self) -> Result<(u64, Hash), AuditError> {
        let v = self.status()?;
        let height = v["height"].as_u64().ok_or_else(|| {
            AuditError::Source(format!("node {}: status has no height", self.url))
        })?;
        let tip = hex32(&v, "tip")
            .map_err(|e| AuditError::Source(format!("node {}: status: {e}", self.url)))?;
        Ok((height, tip))
    }

    fn block(&self, height: u64) -> Result<Fetched, AuditError> {
        match self.client.get(&format!("/v1/blocks/{height}")) {
            Ok(v) => Ok(parse_api_block(&v)),
            Err(ClientError::Api { status: 404, .. }) => Ok(Fetched::Missing),
            Err(e) => Err(source_error(&self.url, e)),
        }
    }

    fn tx_location(&self, _: &Hash) -> Result<Option<Option<TxLocation>>, AuditError> {
        Ok(None)
    }

    fn frozen(&self) -> bool {
        false
    }
}

/// The verifying keys pinned in genesis, from a key directory (each checked against its id).
pub fn keys_from_dir(dir: &Path, genesis: &Genesis) -> Result<VerifierKeys, AuditError> {
    let kd = KeyDir::open(dir).map_err(|e| AuditError::Keys(e.to_string()))?;
    genesis
        .check_key_dir(&kd)
        .map_err(|e| AuditError::Keys(e.to_string()))?;
    let mut keys = VerifierKeys::default();
    for (circuit, id) in &genesis.pinned {
        let key = kd
            .verifying_key(*circuit)
            .map_err(|e| AuditError::Keys(format!("{circuit}: {e}")))?;
        if key.id() != *id {
            return Err(AuditError::Keys(format!(
                "the key directory's key for {circuit} is {}, genesis pins {id}",
                key.id()
            )));
        }
        keys.insert(key);
    }
    Ok(keys)
}
