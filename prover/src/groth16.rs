//! Groth16 proving with blst's multi-scalar multiplications.
//!
//! The proof is ark-groth16's, step for step: the same constraint synthesis, the same R1CS-to-QAP
//! witness map (`LibsnarkReduction`), the same five multi-scalar multiplications over the same
//! proving key, the same assembly of `A`, `B` and `C` from the randomness `r` and `s`. Given the
//! same `r` and `s` it returns the very proof that `ark_groth16` returns (the tests below check
//! this), so keys, proof format and verification are untouched. What changes is how the
//! witness is mapped and how the multi-scalar multiplications run:
//!
//! - The constraint matrices are built once per key, with its first proof, and kept ([`qap`]);
//!   later proofs synthesize the witness only and map it over the kept matrices.
//!
//! - The bases of every query are converted to blst's affine form once, when the key is loaded
//!   ([`Queries`]); the conversion copies limbs (both libraries keep BLS12-381 coordinates in
//!   Montgomery form with R = 2^384 over six 64-bit limbs).
//! - The scalars of each product are sorted into four kinds. Zero scalars are skipped; a scalar of
//!   one contributes its base to one batched sum of affine points; scalars below 2^64 (amounts,
//!   dates, packed bytes) go to a 64-bit Pippenger pass; the rest (the QAP's `h`, hash outputs,
//!   inverses) to a full 255-bit Pippenger pass. In the invoice statements most of the witness
//!   is bits, so most bases cost one addition instead of a 255-bit scalar multiplication.
//! - Products of more than a hundred or so bases, in G1 and in G2, run Pippenger's method with
//!   batch-affine bucket additions ([`affine`]): about 6 field multiplications per addition
//!   instead of 10, on blst's field arithmetic, windows in parallel. Smaller products and the
//!   batched sums of the bits are blst's, multi-threaded over all cores.
//! - A prover that makes many proofs with one key (the prover service) can make fixed-base
//!   tables of the key's small queries once ([`tables`], `ProvingKey::precompute_tables`): each
//!   product is then one bucket pass over precomputed multiples of the bases.

use affine::Affine;
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_groth16::{Proof, ProvingKey};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode,
};
use blst::{blst_p1_affine, blst_p2_affine, MultiPoint};
use rand::{CryptoRng, RngCore};
use std::sync::OnceLock;
use tables::Table;
use zkcustoms_verifier::blst_form::{from_p1, from_p2, g1, g2};

mod affine;
mod qap;
mod tables;

pub(crate) use qap::Shape;

/// The queries of a proving key in blst's affine form, made once per loaded key, and the
/// fixed-base tables of the small ones once [`Queries::precompute`] has made them.
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
    /// Tables of the queries above, in the same order, where made.
    tables: Option<Tables>,
}

/// The fixed-base tables of a key's queries; `None` for a query too large for one.
struct Tables {
    a: Option<Table<blst_p1_affine>>,
    b_g1: Option<Table<blst_p1_affine>>,
    b_g2: Option<Table<blst_p2_affine>>,
    h: Option<Table<blst_p1_affine>>,
    l: Option<Table<blst_p1_affine>>,
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
            tables: None,
        }
    }

    /// Makes the fixed-base tables of every query of at most [`tables::MAX_BASES`] bases (see
    /// [`tables`]); the proofs are the same, made faster. Answers whether any table was made.
    pub(crate) fn precompute(&mut self) -> bool {
        let tables = Tables {
            a: Table::new(&self.a),
            b_g1: Table::new(&self.b_g1),
            b_g2: Table::new(&self.b_g2),
            h: Table::new(&self.h),
            l: Table::new(&self.l),
        };
        let any = tables.a.is_some()
            || tables.b_g1.is_some()
            || tables.b_g2.is_some()
            || tables.h.is_some()
            || tables.l.is_some();
        self.tables = any.then_some(tables);
        any
    }

    /// `Σ scalars[i] · query[i]` over G1, with the query's table where there is one.
    fn g1(
        &self,
        query: &[blst_p1_affine],
        table: impl Fn(&Tables) -> &Option<Table<blst_p1_affine>>,
        scalars: &[Fr],
    ) -> G1Projective {
        match self.tables.as_ref().and_then(|t| table(t).as_ref()) {
            Some(table) => from_p1(&table.msm(scalars)),
            None => msm_g1(query, scalars),
        }
    }

    /// `Σ scalars[i] · b_g2[i]`, with its table where there is one.
    fn b_g2(&self, scalars: &[Fr]) -> G2Projective {
        match self.tables.as_ref().and_then(|t| t.b_g2.as_ref()) {
            Some(table) => from_p2(&table.msm(scalars)),
            None => msm_g2(&self.b_g2, scalars),
        }
    }
}

/// The scalars of one product, sorted by kind, with their bases gathered; scalars as canonical
/// little-endian limbs.
struct Sorted<P> {
    ones: Vec<P>,
    small: (Vec<P>, Vec<[u64; 4]>),
    large: (Vec<P>, Vec<[u64; 4]>),
}

/// Little-endian bytes of scalars below `2^nbits`, whole 64-bit limbs of each, as blst's
/// Pippenger reads them.
fn scalar_bytes(limbs: &[[u64; 4]], nbits: usize) -> Vec<u8> {
    let per_scalar = nbits.div_ceil(64);
    let mut out = Vec::with_capacity(limbs.len() * per_scalar * 8);
    for scalar in limbs {
        for limb in scalar.iter().take(per_scalar) {
            out.extend_from_slice(&limb.to_le_bytes());
        }
    }
    out
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
                _ => {
                    out.small.0.push(*base);
                    out.small.1.push(limbs);
                }
            }
        } else {
            out.large.0.push(*base);
            out.large.1.push(limbs);
        }
    }
    out
}

/// `Σ scalars[i] · bases[i]` for scalars below `2^nbits`: batch-affine Pippenger ([`affine`])
/// for many bases, blst's for a few.
fn product<A: Affine>(bases: &[A], scalars: &[[u64; 4]], nbits: usize) -> A::Point
where
    [A]: MultiPoint<Output = A::Point>,
{
    if bases.len() >= affine::MIN_BASES {
        affine::msm(bases, scalars, nbits)
    } else {
        bases.mult(&scalar_bytes(scalars, nbits), nbits)
    }
}

/// `Σ scalars[i] · bases[i]` in G1 or G2 (pairs up to the shorter of the two), in blst's form.
fn msm<A: Affine>(bases: &[A], scalars: &[Fr]) -> A::Point
where
    [A]: MultiPoint<Output = A::Point>,
{
    let s = sort(bases, scalars);
    let mut acc = A::Point::default();
    if !s.ones.is_empty() {
        A::add(&mut acc, &s.ones.as_slice().add());
    }
    if !s.small.0.is_empty() {
        A::add(&mut acc, &product(&s.small.0, &s.small.1, 64));
    }
    if !s.large.0.is_empty() {
        A::add(&mut acc, &product(&s.large.0, &s.large.1, 255));
    }
    acc
}

/// `Σ scalars[i] · bases[i]` over G1.
fn msm_g1(bases: &[blst_p1_affine], scalars: &[Fr]) -> G1Projective {
    from_p1(&msm(bases, scalars))
}

/// `Σ scalars[i] · bases[i]` over G2.
fn msm_g2(bases: &[blst_p2_affine], scalars: &[Fr]) -> G2Projective {
    from_p2(&msm(bases, scalars))
}

/// A zero-knowledge proof of `circuit` under `pk`, with fresh `r` and `s` drawn from `rng` in
/// the order ark-groth16 draws them.
pub(crate) fn prove<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bls12_381>,
    queries: &Queries,
    shape: &OnceLock<Shape>,
    circuit: C,
    rng: &mut R,
) -> Result<Proof<Bls12_381>, SynthesisError> {
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    prove_with(pk, queries, shape, circuit, r, s)
}

/// The assignment of a synthesized circuit and its QAP witness `h`.
struct Synthesized {
    /// The full assignment: the instance (the constant one first), then the witness.
    z: Vec<Fr>,
    /// Instance variables in `z`, the constant one included.
    num_instance: usize,
    h: Vec<Fr>,
}

/// Synthesizes `circuit` and maps its assignment to the QAP. With the circuit's shape known, only
/// the witness is synthesized and [`Shape::witness_map`] maps it; otherwise the matrices are
/// built as ark-groth16 builds them, mapped by `LibsnarkReduction`, and kept in `shape`.
fn synthesize<C: ConstraintSynthesizer<Fr>>(
    shape: &OnceLock<Shape>,
    circuit: C,
) -> Result<Synthesized, SynthesisError> {
    let known = shape.get();
    let cs = ConstraintSystem::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: known.is_none(),
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    let system = cs.into_inner().ok_or(SynthesisError::MissingCS)?;
    let (inputs, witness) = (system.instance_assignment()?, system.witness_assignment()?);
    let num_instance = inputs.len();
    let z = [inputs, witness].concat();
    let h = match known {
        Some(shape) => {
            if (num_instance, z.len() - num_instance) != (shape.num_instance, shape.num_witness) {
                return Err(SynthesisError::Unsatisfiable);
            }
            shape.witness_map(&z)?
        }
        None => {
            let made = Shape::of(&system)?;
            let h = LibsnarkReduction::witness_map::<Fr, GeneralEvaluationDomain<Fr>>(
                ConstraintSystemRef::new(system),
            )?;
            // Another thread may have kept the same shape first.
            let _ = shape.set(made);
            h
        }
    };
    Ok(Synthesized { z, num_instance, h })
}

/// The proof of `circuit` under `pk` with randomness `r` and `s`: ark-groth16's
/// `create_proof_with_reduction`, with blst's multi-scalar multiplications and, once the
/// circuit's shape is known, its witness map over the remembered matrices.
pub(crate) fn prove_with<C: ConstraintSynthesizer<Fr>>(
    pk: &ProvingKey<Bls12_381>,
    queries: &Queries,
    shape: &OnceLock<Shape>,
    circuit: C,
    r: Fr,
    s: Fr,
) -> Result<Proof<Bls12_381>, SynthesisError> {
    let Synthesized { z, num_instance, h } = synthesize(shape, circuit)?;
    let witness = &z[num_instance..];
    // Every variable after the constant one: the instance, then the witness.
    let assignment = &z[1..];

    // C's parts: h(x)t(x)/δ and the witness part of the combination over L.
    let h_acc = queries.g1(&queries.h, |t| &t.h, &h);
    let l_acc = queries.g1(&queries.l, |t| &t.l, witness);

    // A = α + Σ a_i(x) + rδ.
    let mut g_a = pk.delta_g1 * r;
    g_a += pk.a_query[0];
    g_a += queries.g1(&queries.a, |t| &t.a, assignment);
    g_a += pk.vk.alpha_g1;

    // B in G1 (needed for C when r ≠ 0) and in G2: β + Σ b_i(x) + sδ.
    let g1_b = if r.is_zero() {
        G1Projective::zero()
    } else {
        let mut b = pk.delta_g1 * s;
        b += pk.b_g1_query[0];
        b += queries.g1(&queries.b_g1, |t| &t.b_g1, assignment);
        b += pk.beta_g1;
        b
    };
    let mut g2_b = pk.vk.delta_g2 * s;
    g2_b += pk.b_g2_query[0];
    g2_b += queries.b_g2(assignment);
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
        let shape = OnceLock::new();
        // Another witness of the same circuit: the example stated on another day.
        let other_day = || {
            let day = zkcustoms_circuits::registry::example_day()
                .add_days(400)
                .unwrap();
            let (public, private) =
                zkcustoms_circuits::registry::example_aeo_status_on(day).unwrap();
            AeoStatusCircuit { public, private }
        };
        // The first proof builds the matrices and keeps them; the others use the kept ones.
        for (i, (r, s)) in [
            (Fr::rand(&mut rng), Fr::rand(&mut rng)),
            (Fr::rand(&mut rng), Fr::rand(&mut rng)),
            (Fr::zero(), Fr::rand(&mut rng)),
            (Fr::rand(&mut rng), Fr::zero()),
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(shape.get().is_some(), i > 0, "proof {i}");
            let ours = prove_with(&pk, &queries, &shape, circuit(), r, s).unwrap();
            let theirs =
                Groth16::<Bls12_381>::create_proof_with_reduction(circuit(), &pk, r, s).unwrap();
            assert_eq!(ours, theirs, "proof {i}");
            let ours = prove_with(&pk, &queries, &shape, other_day(), r, s).unwrap();
            let theirs =
                Groth16::<Bls12_381>::create_proof_with_reduction(other_day(), &pk, r, s).unwrap();
            assert_eq!(ours, theirs, "proof {i}, another witness");
        }
        // With the fixed-base tables: the same proofs again.
        let mut tabled = Queries::new(&pk);
        assert!(
            tabled.precompute(),
            "the aeo-status queries are small enough for tables"
        );
        for (r, s) in [
            (Fr::rand(&mut rng), Fr::rand(&mut rng)),
            (Fr::zero(), Fr::rand(&mut rng)),
        ] {
            let ours = prove_with(&pk, &tabled, &shape, other_day(), r, s).unwrap();
            let theirs =
                Groth16::<Bls12_381>::create_proof_with_reduction(other_day(), &pk, r, s).unwrap();
            assert_eq!(ours, theirs, "with tables");
        }
        let proof = prove(&pk, &queries, &shape, other_day(), &mut rng).unwrap();
        let inputs = zkcustoms_circuits::aeo_status::public_inputs(&other_day().public).unwrap();
        assert!(Groth16::<Bls12_381>::verify(&vk, &inputs, &proof).unwrap());
        let wrong = zkcustoms_circuits::aeo_status::public_inputs(&circuit().public).unwrap();
        assert!(!Groth16::<Bls12_381>::verify(&vk, &wrong, &proof).unwrap());
    }

    /// The witness map over kept matrices equals `LibsnarkReduction`'s on the invoice statements
    /// (no keys needed: only synthesis and the map).
    #[test]
    fn the_kept_matrices_map_every_statement_as_libsnark_reduction_does() {
        use zkcustoms_circuits::invoice::SizeClass;
        use zkcustoms_circuits::{declaration_match, invoice_value};
        fn check<C: ConstraintSynthesizer<Fr>>(name: &str, make: impl Fn() -> C) {
            let shape = OnceLock::new();
            let first = synthesize(&shape, make()).unwrap();
            let kept = shape.get().expect("the first synthesis keeps the shape");
            let again = synthesize(&shape, make()).unwrap();
            assert_eq!(first.z, again.z, "{name}");
            assert_eq!(first.num_instance, again.num_instance, "{name}");
            assert_eq!(first.h, again.h, "{name}");
            // A full assignment of the wrong length is refused, not mapped.
            assert!(
                kept.witness_map(&again.z[again.num_instance..]).is_err(),
                "{name}"
            );
        }
        check("aeo-status", circuit);
        check("invoice-value:4", || {
            invoice_value::dummy(SizeClass::Lines4)
        });
        check("declaration-match:4", || {
            declaration_match::dummy(SizeClass::Lines4)
        });
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
