//! The AEO registry tree: a Poseidon Merkle tree of fixed depth [`DEPTH`] (about a million
//! certificates), native side. Empty positions hold the zero leaf; the gadget is in [`r1cs`].

pub mod r1cs;

use crate::poseidon::{hash, Domain};
use crate::Fr;
use ark_ff::Zero;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Depth of the registry tree.
pub const DEPTH: usize = 20;

/// Hash of two children.
pub fn node(left: &Fr, right: &Fr) -> Fr {
    hash(Domain::Node, &[*left, *right])
}

/// Roots of empty subtrees: `empty_roots()[h]` is the root of an empty subtree of height `h`.
pub fn empty_roots() -> &'static [Fr; DEPTH + 1] {
    static EMPTY: OnceLock<[Fr; DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut out = [Fr::zero(); DEPTH + 1];
        for h in 1..=DEPTH {
            out[h] = node(&out[h - 1], &out[h - 1]);
        }
        out
    })
}

/// A membership witness: the leaf's position and its siblings from the leaf upwards.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerklePath {
    /// Position of the leaf; bit `i` says whether the node at height `i` is a right child.
    pub index: u32,
    /// Sibling hashes from the leaf level up to just below the root.
    #[serde(with = "crate::serde_fr_vec")]
    pub siblings: Vec<Fr>,
}

impl std::fmt::Debug for MerklePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The position identifies the certificate holder: never print it.
        f.debug_struct("MerklePath").finish_non_exhaustive()
    }
}

impl MerklePath {
    /// The root obtained by hashing `leaf` up this path, or `None` when the path is malformed
    /// (wrong length or an index outside the tree).
    pub fn root(&self, leaf: &Fr) -> Option<Fr> {
        if self.siblings.len() != DEPTH || u64::from(self.index) >= 1u64 << DEPTH {
            return None;
        }
        let mut cur = *leaf;
        for (i, sib) in self.siblings.iter().enumerate() {
            cur = if (self.index >> i) & 1 == 1 {
                node(sib, &cur)
            } else {
                node(&cur, sib)
            };
        }
        Some(cur)
    }
}

/// A complete tree built from its leaves (positions `0..leaves.len()`), the rest empty.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    /// `levels[h]` holds the non-empty prefix of level `h` (0 = leaves).
    levels: Vec<Vec<Fr>>,
}

/// Why a tree could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// More leaves than the tree has positions.
    #[error("a registry holds at most {max} certificates, got {got}")]
    TooManyLeaves {
        /// Positions in the tree.
        max: u64,
        /// Leaves given.
        got: u64,
    },
}

impl MerkleTree {
    /// Builds the tree over `leaves`.
    pub fn new(leaves: Vec<Fr>) -> Result<Self, TreeError> {
        let max = 1u64 << DEPTH;
        if leaves.len() as u64 > max {
            return Err(TreeError::TooManyLeaves {
                max,
                got: leaves.len() as u64,
            });
        }
        let empty = empty_roots();
        let mut levels = vec![leaves];
        for h in 0..DEPTH {
            let below = &levels[h];
            let above: Vec<Fr> = below
                .chunks(2)
                .map(|pair| node(&pair[0], pair.get(1).unwrap_or(&empty[h])))
                .collect();
            levels.push(above);
        }
        Ok(Self { levels })
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.levels[DEPTH]
            .first()
            .copied()
            .unwrap_or(empty_roots()[DEPTH])
    }

    /// The membership path of the leaf at `index`, if there is such a leaf.
    pub fn path(&self, index: u32) -> Option<MerklePath> {
        if index as usize >= self.levels[0].len() {
            return None;
        }
        let empty = empty_roots();
        let siblings = (0..DEPTH)
            .map(|h| {
                let pos = (index as usize >> h) ^ 1;
                self.levels[h].get(pos).copied().unwrap_or(empty[h])
            })
            .collect();
        Some(MerklePath { index, siblings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lead_to_the_root() {
        let leaves: Vec<Fr> = (1..=5u64).map(Fr::from).collect();
        let tree = MerkleTree::new(leaves.clone()).unwrap();
        for (i, leaf) in leaves.iter().enumerate() {
            let path = tree.path(i as u32).unwrap();
            assert_eq!(path.root(leaf), Some(tree.root()));
            assert_ne!(path.root(&(*leaf + Fr::from(1u64))), Some(tree.root()));
        }
        assert!(tree.path(5).is_none());
    }

    #[test]
    fn empty_tree_root_is_the_empty_root() {
        assert_eq!(
            MerkleTree::new(vec![]).unwrap().root(),
            empty_roots()[DEPTH]
        );
    }
}
