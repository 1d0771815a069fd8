//! Batch verification: many Groth16 proofs checked with one multi-Miller loop and one final
//! exponentiation per verifying key, by a random linear combination (as Zcash's bellman does).
//!
//! For proofs `(A_i, B_i, C_i)` with prepared inputs `P_i` under one key, and independent random
//! 128-bit scalars `r_i` from the operating system's cryptographic RNG, the batch holds when
//!
//! ```text
//! prod_i e(r_i A_i, B_i) * e(sum_i r_i P_i, -gamma) * e(sum_i r_i C_i, -delta) = e(alpha, beta)^(sum_i r_i)
//! ```
//!
//! and `sum_i r_i P_i` is one small multi-scalar multiplication over the key's input bases. A
//! false proof makes the batch fail except with probability about 2^-128. When a batch fails,
//! bisection (with fresh scalars at every step) finds exactly which proofs are invalid, so the
//! caller can reject those and accept the rest. Groups of different keys run in parallel (rayon).

pub use crate::prepared::PreparedProof;
use crate::prepared::{input_weights, scaled_a};
use crate::{ProofEnvelope, VerifierKeys, VerifyError, VerifyingKey};
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{Field, PrimeField};
use rand::{rngs::OsRng, RngCore};
use rayon::prelude::*;
use std::collections::BTreeMap;
use zkcustoms_circuits::CircuitId;

/// Which pairing implementation runs the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// arkworks: the reference implementation.
    Arkworks,
    /// blst's Miller loop and final exponentiation (points validated by arkworks first).
    #[default]
    Blst,
}

/// A fresh random 128-bit scalar.
fn random_scalar() -> Fr {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    Fr::from(u128::from_le_bytes(bytes))
}

/// `sum_i s_i * IC_i` over the key's input bases, with `s_0` the weight of the constant input.
fn combine_inputs(key: &VerifyingKey, weights: &[Fr]) -> G1Projective {
    G1Projective::msm_unchecked(&key.pvk.vk.gamma_abc_g1, weights)
}

/// Checks a batch of proofs under one key with arkworks, for the scalars `r`. True when every
/// proof is valid (except with probability about 2^-128 over random scalars).
pub fn batch_holds_arkworks(key: &VerifyingKey, proofs: &[&PreparedProof], r: &[Fr]) -> bool {
    if proofs.is_empty() {
        return true;
    }
    let (weights, sum_r) = input_weights(key, proofs, r);
    let inputs = combine_inputs(key, &weights);
    let cs: Vec<G1Affine> = proofs.iter().map(|p| p.proof.c).collect();
    let c = G1Projective::msm_unchecked(&cs, r);
    let ra = scaled_a(proofs, r);
    let mut g1: Vec<<Bls12_381 as Pairing>::G1Prepared> = ra.into_iter().map(Into::into).collect();
    let mut g2: Vec<<Bls12_381 as Pairing>::G2Prepared> =
        proofs.par_iter().map(|p| p.proof.b.into()).collect();
    g1.push(inputs.into_affine().into());
    g2.push(key.pvk.gamma_g2_neg_pc.clone());
    g1.push(c.into_affine().into());
    g2.push(key.pvk.delta_g2_neg_pc.clone());
    let ml = Bls12_381::multi_miller_loop(g1, g2);
    match Bls12_381::final_exponentiation(ml) {
        Some(out) => out.0 == key.pvk.alpha_g1_beta_g2.pow(sum_r.into_bigint()),
        None => false,
    }
}

/// Verifies proofs under one key: a batch check, and bisection when it fails. Returns one
/// verdict per proof, in order.
/// A proof with the wrong number of public inputs is invalid without entering the batch.
pub fn verify_group(key: &VerifyingKey, proofs: &[PreparedProof], backend: Backend) -> Vec<bool> {
    let expected = key.pvk.vk.gamma_abc_g1.len() - 1;
    let (indices, refs): (Vec<usize>, Vec<&PreparedProof>) = proofs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.inputs.len() == expected)
        .unzip();
    let mut checked = vec![false; refs.len()];
    bisect(key, &refs, 0, &mut checked, backend);
    let mut verdicts = vec![false; proofs.len()];
    for (i, ok) in indices.into_iter().zip(checked) {
        verdicts[i] = ok;
    }
    verdicts
}

/// Checks a batch under one key with fresh random scalars; a single proof gets the exact,
/// deterministic check instead.
pub fn holds(key: &VerifyingKey, proofs: &[&PreparedProof], backend: Backend) -> bool {
    match (backend, proofs.len()) {
        (_, 0) => true,
        (backend, 1) => key
            .verify_inputs_with(&proofs[0].inputs, &proofs[0].proof, backend)
            .is_ok(),
        (backend, _) => {
            let r: Vec<Fr> = proofs.iter().map(|_| random_scalar()).collect();
            match backend {
                Backend::Arkworks => batch_holds_arkworks(key, proofs, &r),
                Backend::Blst => crate::blst_backend::batch_holds(key, proofs, &r),
            }
        }
    }
}

fn bisect(
    key: &VerifyingKey,
    proofs: &[&PreparedProof],
    offset: usize,
    verdicts: &mut [bool],
    backend: Backend,
) {
    if proofs.is_empty() {
        return;
    }
    if holds(key, proofs, backend) {
        verdicts[offset..offset + proofs.len()].fill(true);
        return;
    }
    if proofs.len() == 1 {
        return;
    }
    let mid = proofs.len() / 2;
    bisect(key, &proofs[..mid], offset, verdicts, backend);
    bisect(key, &proofs[mid..], offset + mid, verdicts, backend);
}

impl VerifierKeys {
    /// Parses and verifies many JSON envelopes at once (see [`VerifierKeys::verify_batch`]);
    /// a malformed envelope gets its own error and does not disturb the others.
    pub fn verify_batch_json(
        &self,
        texts: &[&str],
        backend: Backend,
    ) -> Vec<Result<ProofEnvelope, VerifyError>> {
        let parsed: Vec<Result<ProofEnvelope, VerifyError>> =
            texts.iter().map(|t| ProofEnvelope::from_json(t)).collect();
        let (indices, envelopes): (Vec<usize>, Vec<ProofEnvelope>) = parsed
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().ok().map(|e| (i, e.clone())))
            .unzip();
        let verdicts = self.verify_batch(&envelopes, backend);
        let mut out = parsed;
        for ((i, env), verdict) in indices.into_iter().zip(envelopes).zip(verdicts) {
            out[i] = verdict.map(|()| env);
        }
        out
    }

    /// Verifies many envelopes at once: each is checked for its key and public values, grouped
    /// by key, and each group is batch-verified (groups in parallel). Returns one result per
    /// envelope, in order; an empty input gives an empty answer.
    pub fn verify_batch(
        &self,
        envelopes: &[ProofEnvelope],
        backend: Backend,
    ) -> Vec<Result<(), VerifyError>> {
        let mut results: Vec<Result<(), VerifyError>> = Vec::with_capacity(envelopes.len());
        let mut groups: BTreeMap<CircuitId, (Vec<usize>, Vec<PreparedProof>)> = BTreeMap::new();
        for (i, env) in envelopes.iter().enumerate() {
            let prepared = self
                .get(env.circuit)
                .ok_or(VerifyError::NoKey(env.circuit))
                .and_then(|key| {
                    Ok(PreparedProof {
                        inputs: key.envelope_inputs(env)?,
                        proof: env.proof.clone(),
                    })
                });
            match prepared {
                Ok(p) => {
                    let g = groups.entry(env.circuit).or_default();
                    g.0.push(i);
                    g.1.push(p);
                    // Placeholder until the group's verdict is known.
                    results.push(Err(VerifyError::InvalidProof));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let verdicts: Vec<(Vec<usize>, Vec<bool>)> = groups
            .into_par_iter()
            .map(|(circuit, (indices, proofs))| {
                let key = self.get(circuit).expect("grouped only with a key");
                (indices, verify_group(key, &proofs, backend))
            })
            .collect();
        for (indices, group) in verdicts {
            for (i, ok) in indices.into_iter().zip(group) {
                results[i] = if ok {
                    Ok(())
                } else {
                    Err(VerifyError::InvalidProof)
                };
            }
        }
        results
    }
}
