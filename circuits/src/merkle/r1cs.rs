//! Merkle membership as a gadget. The position is decomposed into [`DEPTH`] bits, each
//! constrained boolean and recomposed to the index, so no selector can take a value other than 0
//! or 1 (an unconstrained selector lets a prover mix a sibling into the hash and "prove"
//! membership of anything).

use super::DEPTH;
use crate::poseidon::{r1cs::hash, Domain};
use crate::Fr;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, fields::fp::FpVar, select::CondSelectGadget,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// A membership path allocated as witnesses.
pub struct MerklePathVar {
    /// Position bits, least significant first (each constrained boolean).
    pub index_bits: Vec<Boolean<Fr>>,
    /// Siblings from the leaf level upwards.
    pub siblings: Vec<FpVar<Fr>>,
}

impl MerklePathVar {
    /// Allocates a path as private witnesses. `path` is `None` during key generation.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        path: Option<&super::MerklePath>,
    ) -> Result<Self, SynthesisError> {
        let mut index_bits = Vec::with_capacity(DEPTH);
        let mut siblings = Vec::with_capacity(DEPTH);
        for i in 0..DEPTH {
            index_bits.push(Boolean::new_witness(cs.clone(), || {
                path.map(|p| (p.index >> i) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
            siblings.push(FpVar::new_witness(cs.clone(), || {
                path.and_then(|p| p.siblings.get(i).copied())
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        Ok(Self {
            index_bits,
            siblings,
        })
    }

    /// The root reached from `leaf` along this path.
    pub fn root(&self, leaf: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        let mut cur = leaf.clone();
        for (bit, sib) in self.index_bits.iter().zip(&self.siblings) {
            let left = FpVar::conditionally_select(bit, sib, &cur)?;
            let right = FpVar::conditionally_select(bit, &cur, sib)?;
            cur = hash(Domain::Node, &[left, right])?;
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleTree;
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadget_root_matches_native() {
        let leaves: Vec<Fr> = (10..17u64).map(Fr::from).collect();
        let tree = MerkleTree::new(leaves.clone()).unwrap();
        let path = tree.path(6).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaf = FpVar::new_witness(cs.clone(), || Ok(leaves[6])).unwrap();
        let var = MerklePathVar::new_witness(cs.clone(), Some(&path)).unwrap();
        assert_eq!(var.root(&leaf).unwrap().value().unwrap(), tree.root());
        assert!(cs.is_satisfied().unwrap());
    }
}
