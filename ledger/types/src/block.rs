//! Blocks: a header that links to its parent by hash and commits to its transactions by a SHA-256
//! Merkle root, and the transactions themselves.
//!
//! ```text
//! header = version u8 (=1) | height u64 | parent [32] | timestamp ms u64 | tx root [32]
//!          | tx count u32 | proposer [32, Ed25519 public key]
//! block  = header | tx count × (u32 length | canonical transaction)
//! ```
//!
//! The block hash is the SHA-256 of the header; it is the payload consensus agrees on. The parent
//! of the first block (height 1) is the genesis hash. The transaction root follows RFC 6962:
//! leaves `SHA-256(0x00 | tx)`, nodes `SHA-256(0x01 | left | right)`, the empty tree
//! `SHA-256("")`, an odd node carried up unchanged.

use crate::codec::{DecodeError, Reader, Writer};
use crate::tx::{sha256, Hash, Transaction, TxError, MAX_TX_BYTES};
use sha2::{Digest as _, Sha256};

/// Version byte of the block encoding.
pub const BLOCK_VERSION: u8 = 1;
/// Encoded length of a header.
pub const HEADER_LEN: usize = 1 + 8 + 32 + 8 + 32 + 4 + 32;
/// Most transactions a block may carry.
pub const MAX_BLOCK_TXS: u32 = 4096;
/// Most bytes a block's encoding may take: a finalized block, its certificate (at most 1 MiB)
/// and a response's framing fit in one peer-to-peer message (8 MiB), so every block a validator
/// finalizes can be served to a validator catching up.
pub const MAX_BLOCK_BYTES: usize = 6 << 20;

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// 1 for the first block after genesis.
    pub height: u64,
    /// Hash of the parent header (the genesis hash for height 1).
    pub parent: Hash,
    /// Proposer's clock when the block was built, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Merkle root of the transactions.
    pub tx_root: Hash,
    /// Number of transactions.
    pub tx_count: u32,
    /// The proposing validator's public key.
    pub proposer: [u8; 32],
}

impl BlockHeader {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut Writer) {
        w.u8(BLOCK_VERSION)
            .u64(self.height)
            .fixed(&self.parent)
            .u64(self.timestamp_ms)
            .fixed(&self.tx_root)
            .u32(self.tx_count)
            .fixed(&self.proposer);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("block version")?;
        if version != BLOCK_VERSION {
            return Err(DecodeError::invalid(
                "block version",
                format!("unknown version {version}"),
            ));
        }
        Ok(Self {
            height: r.u64("height")?,
            parent: r.array("parent")?,
            timestamp_ms: r.u64("timestamp")?,
            tx_root: r.array("tx root")?,
            tx_count: r.u32("tx count")?,
            proposer: r.array("proposer")?,
        })
    }

    /// Decodes a header (exact length).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let h = Self::read(&mut r)?;
        r.finish()?;
        Ok(h)
    }

    /// Decodes the header at the start of a block's bytes without reading its transactions:
    /// what a node checks (height, parent, proposer, hash) before it spends work on the rest.
    /// The rest is not looked at; [`Block::from_bytes`] checks it.
    pub fn peek(block_bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(block_bytes))
    }

    /// The block hash.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_bytes())
    }
}

/// A block: header and transactions.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, in order.
    pub txs: Vec<Transaction>,
}

/// Why a block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The bytes are not a canonical block.
    #[error("malformed block: {0}")]
    Decode(#[from] DecodeError),
    /// A transaction in it is malformed.
    #[error("transaction {index}: {error}")]
    Transaction {
        /// Its position.
        index: usize,
        /// What is wrong.
        error: TxError,
    },
    /// The header's root or count does not match the transactions.
    #[error("header does not commit to the transactions: {0}")]
    Commitment(&'static str),
}

impl Block {
    /// Builds a block over transactions, computing its root and count.
    pub fn new(
        height: u64,
        parent: Hash,
        timestamp_ms: u64,
        proposer: [u8; 32],
        txs: Vec<Transaction>,
    ) -> Self {
        let leaves: Vec<Vec<u8>> = txs.iter().map(Transaction::to_bytes).collect();
        let header = BlockHeader {
            height,
            parent,
            timestamp_ms,
            tx_root: merkle_root(&leaves),
            tx_count: txs.len() as u32,
            proposer,
        };
        Self { header, txs }
    }

    /// The block hash (of its header).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Length of [`Block::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .txs
                .iter()
                .map(|tx| 4 + tx.to_bytes().len())
                .sum::<usize>()
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.header.write(&mut w);
        for tx in &self.txs {
            w.bytes(&tx.to_bytes());
        }
        w.finish()
    }

    /// Decodes a block, validating every transaction and the header's commitment to them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlockError> {
        Self::from_bytes_reusing(bytes, |_| None)
    }

    /// [`Block::from_bytes`], taking each transaction that `known` returns for the SHA-256 of
    /// its bytes (its [`Transaction::hash`]) instead of decoding it again: a node that already
    /// holds a block's transactions, decoded and checked, skips decoding their proof points
    /// (square roots and subgroup checks). `known` must answer only a transaction whose
    /// canonical bytes hash to the hash asked for; then the bytes in the block are its bytes,
    /// and the block is the one `from_bytes` returns. The encoding and the commitment are
    /// checked in full either way.
    pub fn from_bytes_reusing(
        bytes: &[u8],
        known: impl Fn(&Hash) -> Option<Transaction>,
    ) -> Result<Self, BlockError> {
        let (header, raws) = Self::split(bytes)?;
        let txs = raws
            .into_iter()
            .enumerate()
            .map(|(index, raw)| match known(&sha256(raw)) {
                Some(tx) => Ok(tx),
                None => Transaction::from_bytes(raw)
                    .map_err(|error| BlockError::Transaction { index, error }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { header, txs })
    }

    /// Checks a block's encoding and the header's commitment to its transactions' bytes (their
    /// count and root) without decoding any transaction, and answers the header. Hashing the
    /// bytes costs a small fraction of decoding the transactions' proof points, so a node checks
    /// this when a block arrives and decodes the block ([`Block::from_bytes_reusing`]) only when
    /// it needs it. Every block [`Block::from_bytes`] accepts passes; one that passes may still
    /// hold a malformed transaction.
    pub fn check_commitment(bytes: &[u8]) -> Result<BlockHeader, BlockError> {
        Self::split(bytes).map(|(header, _)| header)
    }

    /// The header and each transaction's bytes, the encoding and the commitment checked, no
    /// transaction decoded: what a reader that shows or proves a few of a block's transactions
    /// needs (it decodes only those).
    pub fn split(bytes: &[u8]) -> Result<(BlockHeader, Vec<&[u8]>), BlockError> {
        let mut r = Reader::new(bytes);
        let header = BlockHeader::read(&mut r)?;
        if header.tx_count > MAX_BLOCK_TXS {
            return Err(BlockError::Commitment("too many transactions"));
        }
        let raws = (0..header.tx_count)
            .map(|_| r.bytes("transaction", MAX_TX_BYTES))
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        if merkle_root(&raws) != header.tx_root {
            return Err(BlockError::Commitment("transaction root"));
        }
        Ok((header, raws))
    }
}

/// RFC 6962 leaf hash.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle root of the leaves (see the module documentation).
pub fn merkle_root<L: AsRef<[u8]>>(leaves: &[L]) -> Hash {
    if leaves.is_empty() {
        return sha256(b"");
    }
    let mut level: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l.as_ref())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node_hash(l, r),
                [one] => *one,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    level[0]
}

/// The audit path of leaf `index` (RFC 6962 section 2.1.1): the sibling hashes from the leaf up to
/// the root, leaving out the levels where the node has no sibling and is carried up unchanged.
/// `None` when `index` is out of range.
pub fn merkle_path<L: AsRef<[u8]>>(leaves: &[L], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut level: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l.as_ref())).collect();
    let mut i = index;
    let mut path = Vec::new();
    while level.len() > 1 {
        if let Some(sibling) = level.get(i ^ 1) {
            path.push(*sibling);
        }
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node_hash(l, r),
                [one] => *one,
                _ => unreachable!("chunks of two"),
            })
            .collect();
        i /= 2;
    }
    Some(path)
}

/// The root that an audit path leads to from a leaf at `index` of a tree of `count` leaves, or
/// `None` when the path does not fit that position (wrong length, index out of range).
pub fn merkle_root_from_path(leaf: &[u8], index: u64, count: u64, path: &[Hash]) -> Option<Hash> {
    if index >= count {
        return None;
    }
    let (mut i, mut n) = (index, count);
    let mut hash = leaf_hash(leaf);
    let mut siblings = path.iter();
    while n > 1 {
        if i ^ 1 < n {
            let sibling = siblings.next()?;
            hash = if i % 2 == 0 {
                node_hash(&hash, sibling)
            } else {
                node_hash(sibling, &hash)
            };
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    match siblings.next() {
        Some(_) => None,
        None => Some(hash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto;
    use crate::tx::{AnchorDocument, Eori, Ucr};
    use proptest::prelude::*;

    fn anchor(n: u32) -> Transaction {
        Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse("UCR-1").unwrap(),
            doc_type: "invoice".into(),
            digest: sha256(&n.to_be_bytes()),
            reference: format!("vault://{n}"),
            version: 1,
            supersedes: None,
            trader: Eori::parse("DE1").unwrap(),
            signature: crypto::unsigned(),
        })
    }

    fn sample() -> Block {
        Block::new(
            7,
            sha256(b"parent"),
            1_764_000_000_000,
            [9; 32],
            (0..3).map(anchor).collect(),
        )
    }

    #[test]
    fn round_trip_and_commitment() {
        let b = sample();
        let bytes = b.to_bytes();
        assert_eq!(Block::from_bytes(&bytes).unwrap(), b);
        assert_eq!(
            BlockHeader::from_bytes(&b.header.to_bytes()).unwrap(),
            b.header
        );
        assert_eq!(b.header.to_bytes().len(), HEADER_LEN);
        let mut forged = b.clone();
        forged.txs.swap(0, 1);
        assert_eq!(
            Block::from_bytes(&forged.to_bytes()),
            Err(BlockError::Commitment("transaction root"))
        );
        let empty = Block::new(1, [0; 32], 0, [0; 32], vec![]);
        assert_eq!(Block::from_bytes(&empty.to_bytes()).unwrap(), empty);
        // The length the proposer and the validators hold a block to is its encoding's.
        assert_eq!(b.encoded_len(), bytes.len());
        assert_eq!(empty.encoded_len(), empty.to_bytes().len());
    }

    /// The header at the start of a block's bytes is read without its transactions, and only
    /// a whole, known-version header is.
    #[test]
    fn a_header_is_peeked_from_a_block_without_its_transactions() {
        let b = sample();
        let mut bytes = b.to_bytes();
        assert_eq!(BlockHeader::peek(&bytes).unwrap(), b.header);
        // The transactions are not read: garbage after the header does not matter here...
        bytes.truncate(HEADER_LEN + 3);
        assert_eq!(BlockHeader::peek(&bytes).unwrap(), b.header);
        assert!(Block::from_bytes(&bytes).is_err());
        // ...but the header itself must be whole and of a known version.
        assert!(BlockHeader::peek(&bytes[..HEADER_LEN - 1]).is_err());
        bytes[0] = BLOCK_VERSION + 1;
        assert!(BlockHeader::peek(&bytes).is_err());
    }

    /// A block decoded with some of its transactions known is the block decoded in full; each
    /// transaction is looked up by its hash, and the commitment is checked all the same.
    #[test]
    fn known_transactions_are_reused_by_their_hash() {
        let b = sample();
        let known: std::collections::HashMap<Hash, Transaction> =
            [(b.txs[1].hash(), b.txs[1].clone())].into();
        let asked = std::cell::RefCell::new(Vec::new());
        let lookup = |h: &Hash| {
            asked.borrow_mut().push(*h);
            known.get(h).cloned()
        };
        assert_eq!(Block::from_bytes_reusing(&b.to_bytes(), lookup).unwrap(), b);
        let hashes: Vec<Hash> = b.txs.iter().map(Transaction::hash).collect();
        assert_eq!(*asked.borrow(), hashes);
        let mut forged = b.clone();
        forged.txs.swap(1, 2);
        assert_eq!(
            Block::from_bytes_reusing(&forged.to_bytes(), |h| known.get(h).cloned()),
            Err(BlockError::Commitment("transaction root"))
        );
    }

    /// A block's encoding and commitment are checked by hashing its transactions' bytes, none of
    /// them decoded: a block whose transactions were changed fails before any is looked at, and
    /// one committing to a malformed transaction passes, to fail when it is decoded.
    #[test]
    fn a_blocks_commitment_is_checked_without_decoding_its_transactions() {
        let b = sample();
        assert_eq!(Block::check_commitment(&b.to_bytes()).unwrap(), b.header);
        let mut forged = b.clone();
        forged.txs.swap(0, 1);
        let forged = forged.to_bytes();
        assert_eq!(
            Block::check_commitment(&forged),
            Err(BlockError::Commitment("transaction root"))
        );
        let asked = std::cell::Cell::new(0);
        let lookup = |_: &Hash| {
            asked.set(asked.get() + 1);
            None
        };
        assert_eq!(
            Block::from_bytes_reusing(&forged, lookup),
            Err(BlockError::Commitment("transaction root"))
        );
        assert_eq!(
            asked.get(),
            0,
            "a transaction was looked at before the root"
        );
        let bytes = b.to_bytes();
        assert!(matches!(
            Block::check_commitment(&bytes[..bytes.len() - 1]),
            Err(BlockError::Decode(_))
        ));
        // Garbage committed to by the header passes the check, and fails to decode.
        let garbage: &[u8] = b"not a transaction";
        let header = BlockHeader {
            tx_root: merkle_root(&[garbage]),
            tx_count: 1,
            ..b.header.clone()
        };
        let mut w = Writer::new();
        header.write(&mut w);
        w.bytes(garbage);
        let committed = w.finish();
        assert_eq!(Block::check_commitment(&committed).unwrap(), header);
        assert!(matches!(
            Block::from_bytes(&committed),
            Err(BlockError::Transaction { index: 0, .. })
        ));
    }

    #[test]
    fn merkle_root_matches_rfc6962_shape() {
        let l: Vec<&[u8]> = vec![b"a", b"b", b"c"];
        let ab = node_hash(&leaf_hash(b"a"), &leaf_hash(b"b"));
        assert_eq!(merkle_root(&l), node_hash(&ab, &leaf_hash(b"c")));
        assert_eq!(merkle_root::<&[u8]>(&[]), sha256(b""));
        assert_eq!(merkle_root(&l[..1]), leaf_hash(b"a"));
    }

    #[test]
    fn audit_paths_lead_to_the_root_and_nowhere_else() {
        for n in 1usize..=17 {
            let leaves: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i + 1]).collect();
            let root = merkle_root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let path = merkle_path(&leaves, i).unwrap();
                assert_eq!(
                    merkle_root_from_path(leaf, i as u64, n as u64, &path),
                    Some(root),
                    "leaf {i} of {n}"
                );
                // Another leaf or position does not reach the root. (The path alone does not fix
                // the tree size: the count comes from the certified header.)
                assert_ne!(
                    merkle_root_from_path(b"other", i as u64, n as u64, &path),
                    Some(root)
                );
                if n > 1 {
                    let j = (i + 1) % n;
                    assert_ne!(
                        merkle_root_from_path(leaf, j as u64, n as u64, &path),
                        Some(root)
                    );
                }
                let mut longer = path.clone();
                longer.push([0; 32]);
                assert_eq!(
                    merkle_root_from_path(leaf, i as u64, n as u64, &longer),
                    None
                );
            }
            assert_eq!(merkle_path(&leaves, n), None);
            assert_eq!(merkle_root_from_path(b"x", n as u64, n as u64, &[]), None);
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Block::from_bytes(&bytes);
            let _ = BlockHeader::from_bytes(&bytes);
        }

        #[test]
        fn mutated_blocks_never_panic(i in 0usize..2000, b in any::<u8>()) {
            let mut bytes = sample().to_bytes();
            let n = bytes.len();
            bytes[i % n] ^= b | 1;
            prop_assert!(Block::from_bytes(&bytes).map(|x| x != sample()).unwrap_or(true));
        }
    }
}
