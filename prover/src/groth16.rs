//! Groth16 proving with blst's multi-scalar multiplications.
//!
//! The proof is ark-groth16's, step for step: the same constraint synthesis, the same R1CS-to-QAP
//! witness map (`LibsnarkReduction`), the same five multi-scalar multiplications over the same
//! proving key, the same assembly of `A`, `B` and `C` from the randomness `r` and `s`. Given the
//! same `r` and `s` it returns the very proof that `ark_groth16` returns (the tests below check
//! this), so keys, proof format and verification are untouched. What changes is how the
//! multi-scalar multiplications run:
//!
//! - The bases of every query are converted to blst's affine form once, when the key is loaded
//!   ([`Queries`]); the conversion copies limbs (both libraries keep BLS12-381 coordinates in
//!   Montgomery form with R = 2^384 over six 64-bit limbs).
//! - The scalars of each product are sorted into four kinds. Zero scalars are skipped; a scalar of
//!   one contributes its base to one batched sum of affine points; scalars below 2^64 (amounts,
//!   dates, packed bytes) go to a 64-bit Pippenger pass; the rest (the QAP's `h`, hash outputs,
//!   inverses) to a full 255-bit Pippenger pass. In the invoice statements most of the witness
//!   is bits, so most bases cost one addition instead of a 255-bit scalar multiplication.
//! - Pippenger and the batched sums are blst's, multi-threaded over all cores.

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_groth16::{Proof, ProvingKey};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode,
};
use blst::{blst_p1_affine, blst_p2_affine, MultiPoint};
use rand::{CryptoRng, RngCore};
use zkcustoms_verifier::blst_form::{from_p1, from_p2, g1, g2};

/// The queries of a proving key in blst's affine form, made once per loaded key.
pub(crate) struct Queries {
    /// `a_query[1..]`: one base per variable after the constant one.
    a: Vec<blst_p1_affine>,
    /// `b_g1_query[1..]`.
    b_g1: Vec<blst_p1_affine>,
    /// `b_g2_query[1..]`.
    b_g2: Vec<blst_p2_affine>,
    /// `h_query`.
    h: Vec<blst_p1_affine>,
    /// `l_query`: one base per witness variable.
    l: Vec<blst_p1_affine>,
}

impl Queries {
    /// Converts the queries of `pk`.
    pub(crate) fn new(pk: &ProvingKey<Bls12_381>) -> Self {
        use rayon::prelude::*;
        let conv1 = |q: &[G1Affine]| q.par_iter().map(g1).collect::<Vec<_>>();
        let tail = |q: &[G1Affine]| conv1(q.get(1..).unwrap_or_default());
        Self {
            a: tail(&pk.a_query),
            b_g1: tail(&pk.b_g1_query),
            b_g2: pk
                .b_g2_query
                .get(1..)
                .unwrap_or_default()
                .par_iter()
                .map(g2)
                .collect(),
            h: conv1(&pk.h_query),
            l: conv1(&pk.l_query),
        }
    }
}

/// The scalars of one product, sorted by kind, with their bases gathered.
struct Sorted<P> {
    ones: Vec<P>,
    small: (Vec<P>, Vec<u8>),
    large: (Vec<P>, Vec<u8>),
}

/// Sorts the pairs of `bases` and `scalars`; pairs with a zero scalar or a base at infinity
/// (blst's all-zero encoding: variables a query does not use) contribute nothing and are left out.
fn sort<P: Copy + Default + Eq>(bases: &[P], scalars: &[Fr]) -> Sorted<P> {
    let infinity = P::default();
    let mut out = Sorted {
        ones: Vec::new(),
        small: (Vec::new(), Vec::new()),
        large: (Vec::new(), Vec::new()),
    };
    for (base, scalar) in bases.iter().zip(scalars) {
        if *base == infinity {
            continue;
        }
        let limbs = scalar.into_bigint().0;
        if limbs[1..].iter().all(|&l| l == 0) {
            match limbs[0] {
                0 => {}
                1 => out.ones.push(*base),
                v => {
                    out.small.0.push(*base);
                    out.small.1.extend_from_slice(&v.to_le_bytes());
                }
            }
        } else {
            out.large.0.push(*base);
            for limb in limbs {
                out.large.1.extend_from_slice(&limb.to_le_bytes());
            }
        }
    }
    out
}

/// `Σ scalars[i] · bases[i]` over G1 (pairs up to the shorter of the two).
fn msm_g1(bases: &[blst_p1_affine], scalars: &[Fr]) -> G1Projective {
    let s = sort(bases, scalars);
    let mut acc = G1Projective::zero();
    if !s.ones.is_empty() {
        acc += from_p1(&s.ones.as_slice().add());
    }
    if !s.small.0.is_empty() {
        acc += from_p1(&s.small.0.as_slice().mult(&s.small.1, 64));
    }
    if !s.large.0.is_empty() {
        acc += from_p1(&s.large.0.as_slice().mult(&s.large.1, 255));
    }
    acc
}

/// `Σ scalars[i] · bases[i]` over G2.
fn msm_g2(bases: &[blst_p2_affine], scalars: &[Fr]) -> G2Projective {
    let s = sort(bases, scalars);
    let mut acc = G2Projective::zero();
    if !s.ones.is_empty() {
        acc += from_p2(&s.ones.as_slice().add());
    }
    if !s.small.0.is_empty() {
        acc += from_p2(&s.small.0.as_slice().mult(&s.small.1, 64));
    }
    if !s.large.0.is_empty() {
        acc += from_p2(&s.large.0.as_slice().mult(&s.large.1, 255));
    }
    acc
}

/// A zero-knowledge proof of `circuit` under `pk`, with fresh `r` and `s` drawn from `rng` in
/// the order ark-groth16 draws them.
pub(crate) fn prove<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bls12_381>,
    queries: &Queries,
    circuit: C,
    rng: &mut R,
) -> Result<Proof<Bls12_381>, SynthesisError> {
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    prove_with(pk, queries, circuit, r, s)
}

/// The proof of `circuit` under `pk` with randomness `r` and `s`: ark-groth16's
/// `create_proof_with_reduction`, with blst's multi-scalar multiplications.
pub(crate) fn prove_with<C: ConstraintSynthesizer<Fr>>(
    pk: &ProvingKey<Bls12_381>,
    queries: &Queries,
    circuit: C,
    r: Fr,
    s: Fr,
) -> Result<Proof<Bls12_381>, SynthesisError> {
    let cs = ConstraintSystem::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    let h = LibsnarkReduction::witness_map::<Fr, GeneralEvaluationDomain<Fr>>(cs.clone())?;
    let system = cs.borrow().ok_or(SynthesisError::MissingCS)?;
    let inputs = system.instance_assignment()?;
    let witness = system.witness_assignment()?;
    let assignment: Vec<Fr> = inputs[1..].iter().chain(witness).copied().collect();

    // C's parts: h(x)t(x)/δ and the witness part of the combination over L.
    let h_acc = msm_g1(&queries.h, &h);
    let l_acc = msm_g1(&queries.l, witness);

    // A = α + Σ a_i(x) + rδ.
    let mut g_a = pk.delta_g1 * r;
    g_a += pk.a_query[0];
    g_a += msm_g1(&queries.a, &assignment);
    g_a += pk.vk.alpha_g1;

    // B in G1 (needed for C when r ≠ 0) and in G2: β + Σ b_i(x) + sδ.
    let g1_b = if r.is_zero() {
        G1Projective::zero()
    } else {
        let mut b = pk.delta_g1 * s;
        b += pk.b_g1_query[0];
        b += msm_g1(&queries.b_g1, &assignment);
        b += pk.beta_g1;
        b
    };
    let mut g2_b = pk.vk.delta_g2 * s;
    g2_b += pk.b_g2_query[0];
    g2_b += msm_g2(&queries.b_g2, &assignment);
    g2_b += pk.vk.beta_g2;

    // C = sA + rB₁ − rsδ + L + H.
    let mut g_c = g_a * s;
    g_c += g1_b * r;
    g_c -= pk.delta_g1 * (r * s);
    g_c += l_acc;
    g_c += h_acc;

    Ok(Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::G2Affine;
    use ark_ec::AffineRepr;
    use ark_groth16::Groth16;
    use ark_snark::SNARK;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkcustoms_circuits::aeo_status::AeoStatusCircuit;
    use zkcustoms_circuits::registry::example_aeo_status;

    fn circuit() -> AeoStatusCircuit {
        let (public, private) = example_aeo_status();
        AeoStatusCircuit { public, private }
    }

    #[test]
    fn the_same_randomness_gives_ark_groth16s_proof() {
        let mut rng = ChaCha20Rng::seed_from_u64(18);
        let (pk, vk) = Groth16::<Bls12_381>::circuit_specific_setup(circuit(), &mut rng).unwrap();
        let queries = Queries::new(&pk);
        for (r, s) in [
            (Fr::rand(&mut rng), Fr::rand(&mut rng)),
            (Fr::zero(), Fr::rand(&mut rng)),
            (Fr::rand(&mut rng), Fr::zero()),
        ] {
            let ours = prove_with(&pk, &queries, circuit(), r, s).unwrap();
            let theirs =
                Groth16::<Bls12_381>::create_proof_with_reduction(circuit(), &pk, r, s).unwrap();
            assert_eq!(ours, theirs);
        }
        let proof = prove(&pk, &queries, circuit(), &mut rng).unwrap();
        let inputs = zkcustoms_circuits::aeo_status::public_inputs(&circuit().public).unwrap();
        assert!(Groth16::<Bls12_381>::verify(&vk, &inputs, &proof).unwrap());
    }

    #[test]
    fn sorting_covers_every_kind_of_scalar() {
        // Bases 1·G .. 6·G with scalars 0, 1, 2, 2^64 - 1, 2^64, -1: the sum is checked against
        // arkworks' own multi-scalar multiplication.
        use ark_ec::VariableBaseMSM;
        let g = G1Affine::generator();
        let bases: Vec<G1Affine> = (1..=6u64)
            .map(|i| (g * Fr::from(i)).into_affine())
            .collect();
        let scalars = [
            Fr::zero(),
            Fr::from(1u64),
            Fr::from(2u64),
            Fr::from(u64::MAX),
            Fr::from(u64::MAX) + Fr::from(1u64),
            -Fr::from(1u64),
        ];
        let blst_bases: Vec<_> = bases.iter().map(g1).collect();
        let ours = msm_g1(&blst_bases, &scalars);
        let theirs = G1Projective::msm(&bases, &scalars).unwrap();
        assert_eq!(ours, theirs);
        let g2_bases: Vec<G2Affine> = (1..=6u64)
            .map(|i| (G2Affine::generator() * Fr::from(i)).into_affine())
            .collect();
        let blst_g2: Vec<_> = g2_bases.iter().map(g2).collect();
        assert_eq!(
            msm_g2(&blst_g2, &scalars),
            G2Projective::msm(&g2_bases, &scalars).unwrap()
        );
        assert_eq!(msm_g1(&[], &[]), G1Projective::zero());
    }
}
