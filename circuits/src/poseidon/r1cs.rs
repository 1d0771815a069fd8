//! The Poseidon permutation and sponge hash as R1CS gadgets, linked to the native
//! [`super::permute`] and [`super::hash`] by the differential tests below.
//!
//! The linear layers are free (linear combinations); each S-box costs three constraints, so one
//! permutation costs 3 × (8 × 3 + 57) = 243 constraints.

use super::{params, Domain, ALPHA, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};
use crate::Fr;
use ark_r1cs_std::fields::{fp::FpVar, FieldVar};
use ark_relations::gr1cs::SynthesisError;

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    debug_assert_eq!(ALPHA, 5);
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// The Poseidon permutation over circuit variables.
pub fn permute(state: &mut [FpVar<Fr>; WIDTH]) -> Result<(), SynthesisError> {
    let p = params();
    let half = FULL_ROUNDS / 2;
    for (round, ark) in p.ark.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(ark) {
            *s += *c;
        }
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        if full {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        let old = state.clone();
        for (i, s) in state.iter_mut().enumerate() {
            let mut acc = FpVar::zero();
            for (m, x) in p.mds[i].iter().zip(old.iter()) {
                acc += x * *m;
            }
            *s = acc;
        }
    }
    Ok(())
}

/// Fixed-length sponge hash of `inputs` under `domain`; the gadget of [`super::hash`].
pub fn hash(domain: Domain, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut state = [FpVar::constant(domain.tag()), FpVar::zero(), FpVar::zero()];
    for chunk in inputs.chunks(WIDTH - 1) {
        for (i, x) in chunk.iter().enumerate() {
            state[1 + i] += x;
        }
        permute(&mut state)?;
    }
    if inputs.is_empty() {
        permute(&mut state)?;
    }
    Ok(state[1].clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadget_matches_native_and_costs_243_per_permutation() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let inputs: Vec<Fr> = (0..6u64).map(|i| Fr::from(i * 1000 + 3)).collect();
        let vars: Vec<FpVar<Fr>> = inputs
            .iter()
            .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
            .collect();
        let before = cs.num_constraints();
        let out = hash(Domain::Leaf, &vars).unwrap();
        // Three permutations; in the first one the capacity element is still a constant when it
        // meets its first S-box, which therefore costs nothing.
        assert_eq!(cs.num_constraints() - before, 3 * 243 - 3);
        assert_eq!(
            out.value().unwrap(),
            super::super::hash(Domain::Leaf, &inputs)
        );
        assert!(cs.is_satisfied().unwrap());
    }
}
