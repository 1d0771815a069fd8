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
//! caller can reject those and accept the rest. Groups of different keys run in parallel (rayon),
//! and on the blst backend so do the proofs of one batch (their scalings and Miller loops, in
//! tasks of 16 proofs).

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
    /// blst: the batch's scalings, sums and Miller loops and the final exponentiation.
    #[default]
    Blst,
}

/// A fresh random non-zero 128-bit scalar from the operating system's RNG (a zero scalar would
/// leave its proof unchecked).
fn random_scalar() -> u128 {
    loop {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        let r = u128::from_le_bytes(bytes);
        if r != 0 {
            return r;
        }
    }
}

/// `sum_i s_i * IC_i` over the key's input bases, with `s_0` the weight of the constant input.
fn combine_inputs(key: &VerifyingKey, weights: &[Fr]) -> G1Projective {
    G1Projective::msm_unchecked(&key.pvk.vk.gamma_abc_g1, weights)
}

/// Checks a batch of proofs under one key with arkworks, for the scalars `r` (one non-zero
/// scalar per proof, chosen at random by [`holds`]). True when every proof is valid (except
/// with probability about 2^-128 over random scalars).
fn batch_holds_arkworks(key: &VerifyingKey, proofs: &[&PreparedProof], r: &[Fr]) -> bool {
    assert_eq!(r.len(), proofs.len(), "one scalar per proof");
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

/// The batch check for given non-zero 128-bit scalars on the given backend.
fn batch_holds_with(
    key: &VerifyingKey,
    proofs: &[&PreparedProof],
    r: &[u128],
    backend: Backend,
) -> bool {
    match backend {
        Backend::Arkworks => {
            let r: Vec<Fr> = r.iter().map(|&ri| Fr::from(ri)).collect();
            batch_holds_arkworks(key, proofs, &r)
        }
        Backend::Blst => crate::blst_backend::batch_holds(key, proofs, r),
    }
}

/// Verifies proofs under one key: a batch check, and bisection when it fails. Returns one
/// verdict per proof, in order.
/// A proof with the wrong number of public inputs is invalid without entering the batch.
pub fn verify_group(key: &VerifyingKey, proofs: &[PreparedProof], backend: Backend) -> Vec<bool> {
    let expected = key.num_inputs();
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
/// deterministic check instead. A proof with another number of public inputs than the key's
/// makes the batch fail, whatever the batch's size (the batch equation would drop the extra
/// inputs, or take the missing ones as zero).
pub fn holds(key: &VerifyingKey, proofs: &[&PreparedProof], backend: Backend) -> bool {
    let expected = key.num_inputs();
    if proofs.iter().any(|p| p.inputs.len() != expected) {
        return false;
    }
    match (backend, proofs.len()) {
        (_, 0) => true,
        (backend, 1) => key
            .verify_inputs_with(&proofs[0].inputs, &proofs[0].proof, backend)
            .is_ok(),
        (backend, _) => {
            let r: Vec<u128> = proofs.iter().map(|_| random_scalar()).collect();
            batch_holds_with(key, proofs, &r, backend)
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

    /// Whether every envelope verifies, as a vote on a block needs: each is checked for its key
    /// and public values, then one batch check per key (keys in parallel) and no bisection, so
    /// that envelopes with invalid proofs among them cost what valid ones do. Answers the index
    /// of the first envelope that cannot be checked, else of the first of a key's envelopes
    /// when those fail together (which of them is invalid is not sought), with why.
    pub fn verify_all(
        &self,
        envelopes: &[ProofEnvelope],
        backend: Backend,
    ) -> Result<(), (usize, VerifyError)> {
        let mut groups: BTreeMap<CircuitId, (usize, Vec<PreparedProof>)> = BTreeMap::new();
        for (i, env) in envelopes.iter().enumerate() {
            let key = self
                .get(env.circuit)
                .ok_or((i, VerifyError::NoKey(env.circuit)))?;
            let inputs = key.envelope_inputs(env).map_err(|e| (i, e))?;
            let g = groups.entry(env.circuit).or_insert_with(|| (i, Vec::new()));
            g.1.push(PreparedProof {
                inputs,
                proof: env.proof.clone(),
            });
        }
        let failed = groups
            .into_par_iter()
            .filter_map(|(circuit, (first, proofs))| {
                let key = self.get(circuit).expect("grouped only with a key");
                let refs: Vec<&PreparedProof> = proofs.iter().collect();
                (!holds(key, &refs, backend)).then_some(first)
            })
            .min();
        match failed {
            Some(first) => Err((first, VerifyError::InvalidProof)),
            None => Ok(()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Trapdoor;
    use ark_bls12_381::{G1Affine, G2Affine};
    use ark_ec::AffineRepr;
    use ark_ff::{One, UniformRand, Zero};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const BACKENDS: [Backend; 2] = [Backend::Arkworks, Backend::Blst];

    /// Ways to spoil a valid proof, each giving a well-formed proof that does not verify.
    fn tampered(t: &Trapdoor, rng: &mut ChaCha20Rng) -> Vec<(&'static str, PreparedProof)> {
        let good = t.prove(&t.inputs(rng), rng);
        let other = t.prove(&t.inputs(rng), rng);
        let mut out = Vec::new();
        let mut p = good.clone();
        p.inputs[0] += Fr::one();
        out.push(("input changed", p));
        let mut p = good.clone();
        let last = p.inputs.len() - 1;
        p.inputs[last] = Fr::rand(rng);
        out.push(("last input replaced", p));
        let mut p = good.clone();
        std::mem::swap(&mut p.proof.a, &mut p.proof.c);
        out.push(("A and C swapped", p));
        let mut p = good.clone();
        p.proof.a = other.proof.a;
        out.push(("A of another proof", p));
        let mut p = good.clone();
        p.proof.b = other.proof.b;
        out.push(("B of another proof", p));
        let mut p = good.clone();
        p.proof.c = (p.proof.c + G1Affine::generator()).into_affine();
        out.push(("C shifted", p));
        let mut p = good.clone();
        p.proof.a = G1Affine::zero();
        out.push(("A at infinity", p));
        let mut p = good.clone();
        p.proof.b = G2Affine::zero();
        out.push(("B at infinity", p));
        let mut p = good;
        p.proof.c = G1Affine::zero();
        out.push(("C at infinity", p));
        out
    }

    /// Valid proofs, among them the edge cases: `C` at infinity, inputs summing to infinity,
    /// all-zero inputs and a duplicate.
    fn valid(t: &Trapdoor, n: usize, rng: &mut ChaCha20Rng) -> Vec<PreparedProof> {
        let mut out: Vec<PreparedProof> = (0..n).map(|_| t.prove(&t.inputs(rng), rng)).collect();
        out.push(t.prove_with_c_at_infinity(&t.inputs(rng), rng));
        out.push(t.prove(&t.inputs_summing_to_infinity(rng), rng));
        out.push(t.prove(&vec![Fr::zero(); t.inputs(rng).len()], rng));
        out.push(out[0].clone());
        out
    }

    fn scalar_sets(n: usize, rng: &mut ChaCha20Rng) -> Vec<Vec<u128>> {
        vec![
            (0..n)
                .map(|_| ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())).max(1))
                .collect(),
            vec![1; n],
            vec![u128::MAX; n],
            (0..n).map(|i| 1u128 << (i % 128)).collect(),
        ]
    }

    #[test]
    fn single_checks_agree_with_ark_groth16() {
        let mut rng = ChaCha20Rng::seed_from_u64(31);
        let t = Trapdoor::new(&mut rng);
        let cases = valid(&t, 4, &mut rng)
            .into_iter()
            .map(|p| (p, true))
            .chain(tampered(&t, &mut rng).into_iter().map(|(_, p)| (p, false)));
        for (p, expected) in cases {
            let reference = ark_groth16::Groth16::<Bls12_381>::verify_proof(
                t.key.prepared(),
                &p.proof,
                &p.inputs,
            )
            .unwrap();
            assert_eq!(reference, expected);
            for backend in BACKENDS {
                let verdict = t.key.verify_inputs_with(&p.inputs, &p.proof, backend);
                assert_eq!(verdict.is_ok(), expected, "{backend:?}");
                if !expected {
                    assert_eq!(verdict, Err(VerifyError::InvalidProof));
                }
                let mut short = p.inputs.clone();
                short.pop();
                assert!(matches!(
                    t.key.verify_inputs_with(&short, &p.proof, backend),
                    Err(VerifyError::PublicInputCount { .. })
                ));
            }
        }
    }

    #[test]
    fn backends_agree_on_batches_with_the_same_scalars() {
        let mut rng = ChaCha20Rng::seed_from_u64(37);
        let t = Trapdoor::new(&mut rng);
        let good = valid(&t, 36, &mut rng);
        let refs: Vec<&PreparedProof> = good.iter().collect();
        let bad = tampered(&t, &mut rng);
        for r in scalar_sets(refs.len() + 1, &mut rng) {
            for n in [2, 3, 17, refs.len()] {
                for backend in BACKENDS {
                    assert!(
                        batch_holds_with(&t.key, &refs[..n], &r[..n], backend),
                        "{backend:?} {n}"
                    );
                }
            }
            for (why, p) in &bad {
                for at in [0, 13, refs.len()] {
                    let mut batch = refs.clone();
                    batch.insert(at, p);
                    for backend in BACKENDS {
                        assert!(
                            !batch_holds_with(&t.key, &batch, &r, backend),
                            "{backend:?}: {why} at {at}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bisection_names_exactly_the_bad_proofs() {
        let mut rng = ChaCha20Rng::seed_from_u64(41);
        let t = Trapdoor::new(&mut rng);
        let mut cases: Vec<(PreparedProof, bool)> = valid(&t, 40, &mut rng)
            .into_iter()
            .map(|p| (p, true))
            .collect();
        for (at, (_, p)) in [3, 4, 20, 31, 44, 2, 9, 0, 37]
            .into_iter()
            .zip(tampered(&t, &mut rng))
        {
            cases.insert(at, (p, false));
        }
        let mut short = t.prove(&t.inputs(&mut rng), &mut rng);
        short.inputs.pop();
        cases.insert(11, (short, false));
        let mut long = t.prove(&t.inputs(&mut rng), &mut rng);
        long.inputs.push(Fr::one());
        cases.insert(27, (long, false));
        let proofs: Vec<PreparedProof> = cases.iter().map(|(p, _)| p.clone()).collect();
        let expected: Vec<bool> = cases.iter().map(|(_, ok)| *ok).collect();
        for backend in BACKENDS {
            assert_eq!(
                verify_group(&t.key, &proofs, backend),
                expected,
                "{backend:?}"
            );
            let all_valid: Vec<PreparedProof> = valid(&t, 8, &mut rng);
            assert!(verify_group(&t.key, &all_valid, backend)
                .iter()
                .all(|ok| *ok));
            let all_bad: Vec<PreparedProof> =
                tampered(&t, &mut rng).into_iter().map(|(_, p)| p).collect();
            assert!(verify_group(&t.key, &all_bad, backend).iter().all(|ok| !ok));
        }
    }
}
