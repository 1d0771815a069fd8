//! A proof prepared for batch verification, and the parts of the batch equation that every
//! backend shares: the input weights and the scaled `A` points.

use crate::VerifyingKey;
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::Zero;
use rayon::prelude::*;

/// One proof ready for batching: validated points and its public field elements.
#[derive(Clone, Debug)]
pub struct PreparedProof {
    /// The proof.
    pub proof: ark_groth16::Proof<Bls12_381>,
    /// Public inputs (a count other than the key's makes every check of the proof fail).
    pub inputs: Vec<Fr>,
}

/// Input weights of a batch: the constant input gets `sum r_i`, input `j` gets
/// `sum_i r_i x_ij`. Returns the weights and `sum r_i`.
pub(crate) fn input_weights(
    key: &VerifyingKey,
    proofs: &[&PreparedProof],
    r: &[Fr],
) -> (Vec<Fr>, Fr) {
    let mut weights = vec![Fr::zero(); key.pvk.vk.gamma_abc_g1.len()];
    for (ri, p) in r.iter().zip(proofs) {
        weights[0] += ri;
        for (w, x) in weights[1..].iter_mut().zip(&p.inputs) {
            *w += *ri * x;
        }
    }
    let sum_r = weights[0];
    (weights, sum_r)
}

/// `r_i A_i` for every proof, in affine form.
pub(crate) fn scaled_a(proofs: &[&PreparedProof], r: &[Fr]) -> Vec<G1Affine> {
    G1Projective::normalize_batch(
        &proofs
            .par_iter()
            .zip(r)
            .map(|(p, ri)| p.proof.a * ri)
            .collect::<Vec<_>>(),
    )
}
