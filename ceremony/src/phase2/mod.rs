//! Phase 2: one circuit's Groth16 key (Bowe–Gabizon–Miers 2017).
//!
//! The initial key is computed from the prepared phase 1 and the circuit's R1CS with gamma =
//! delta = 1: for each variable j, `A_j = sum_i A_ij L_i(tau)` (plus `L_{n+j}` for instance
//! variables, as ark-groth16's reduction adds one row per input), `B_j` likewise in G1 and G2,
//! and `beta·A_j + alpha·B_j + C_j`, which is the verifying key's input element for an instance
//! variable and the L query element for a witness variable; the H query is
//! `(tau^m - 1)·tau^i`. A contribution multiplies delta by a secret `d` and divides the H and L
//! queries by `d`, with a proof of knowledge of `d`. The file's contents after the record are
//! the ark-groth16 proving key, uncompressed: exactly the proving-key file `finalize` writes.

mod chain;

pub use chain::{
    beacon, contribute, key_bytes, new, read_last, verify, verify_every_file, Verified,
};

use crate::curve::{self, FastMul};
use crate::pok::{self, Pok};
use crate::prepare::Prepared;
use crate::r1cs::CircuitMatrices;
use crate::secrets::{Entropy, Secret};
use crate::{metered, CeremonyError, Event, Fault, Meter};
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, PrimeField, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_relations::utils::matrix::Matrix;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rayon::prelude::*;

/// A circuit's Groth16 proving key (its verifying key inside).
pub type Key = ProvingKey<Bls12_381>;

/// The label of the phase-2 secret.
pub const DELTA: &str = "delta";

/// The coefficient as a small integer (or the negative of one), if it is.
fn small(c: &Fr) -> Option<(bool, u64)> {
    let b = c.into_bigint();
    if b.0[1..].iter().all(|&l| l == 0) {
        return Some((false, b.0[0]));
    }
    let n = (-*c).into_bigint();
    n.0[1..].iter().all(|&l| l == 0).then_some((true, n.0[0]))
}

/// Rows with fewer large coefficients than this multiply with GLV rather than build a table.
const TABLE_FROM: usize = 12;

/// `c·base` for each coefficient. Small coefficients (most constraints' ±1, powers of two)
/// use double-and-add on their few bits. For many large ones, one table of `d·16^t·base` (every
/// 4-bit window t, digit d) makes each product 64 additions and no doubling, about three times
/// cheaper than GLV.
fn products<G: FastMul>(base: G, coeffs: &[Fr]) -> Vec<G> {
    let large = coeffs.iter().filter(|c| small(c).is_none()).count();
    let table = (large >= TABLE_FROM).then(|| {
        let mut t = Vec::with_capacity(64 * 15);
        let mut g = base;
        for _ in 0..64 {
            let mut acc = g;
            for _ in 1..16 {
                t.push(acc);
                acc += g;
            }
            for _ in 0..4 {
                g.double_in_place();
            }
        }
        G::normalize_batch(&t)
    });
    coeffs
        .iter()
        .map(|c| match (small(c), &table) {
            (Some((neg, s)), _) => {
                let mut p = G::zero();
                for i in (0..64 - s.leading_zeros()).rev() {
                    p.double_in_place();
                    if (s >> i) & 1 == 1 {
                        p += base;
                    }
                }
                if neg {
                    -p
                } else {
                    p
                }
            }
            (None, Some(table)) => {
                let limbs = c.into_bigint().0;
                let mut acc = G::zero();
                for t in 0..64 {
                    let bit = 4 * t;
                    let d = ((limbs[bit / 64] >> (bit % 64)) & 0xf) as usize;
                    if d != 0 {
                        acc += table[15 * t + d - 1];
                    }
                }
                acc
            }
            (None, None) => base.fast_mul(c),
        })
        .collect()
}

/// `sum_i M_ij bases_i` for every variable j and each matrix M of `mats`, into `targets`:
/// row by row, with one table per base for all the row's coefficients in every matrix. Counts
/// each row on the meter.
fn accumulate<A>(
    bases: &[A],
    mats: &[&Matrix<Fr>],
    targets: &mut [&mut Vec<A::Group>],
    meter: &Meter,
) where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: FastMul,
{
    let per_row: Vec<Vec<A::Group>> = (0..mats[0].len())
        .into_par_iter()
        .map(|i| {
            let coeffs: Vec<Fr> = mats
                .iter()
                .flat_map(|m| m[i].iter().map(|(c, _)| *c))
                .collect();
            let out = products(bases[i].into_group(), &coeffs);
            meter.add(1);
            out
        })
        .collect();
    for (i, prods) in per_row.iter().enumerate() {
        let mut at = 0;
        for (m, target) in mats.iter().zip(targets.iter_mut()) {
            for (_, j) in &m[i] {
                target[*j] += prods[at];
                at += 1;
            }
        }
    }
}

/// The circuit's key with delta = 1, from the prepared phase 1.
pub fn initial_key(
    prepared: &Prepared,
    m: &CircuitMatrices,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Key, CeremonyError> {
    if prepared.power != m.power {
        return Err(CeremonyError::Invalid(format!(
            "{} needs phase 1 prepared for 2^{}, not 2^{}",
            m.circuit, m.power, prepared.power
        )));
    }
    let (nv, ni, nc) = (m.num_variables(), m.num_instance, m.num_constraints);
    let p = prepared;
    let zero1 = || vec![G1Projective::zero(); nv];
    let (mut a, mut b1, mut abc) = (zero1(), zero1(), zero1());
    let mut b2 = vec![G2Projective::zero(); nv];
    let rows = m.a.len();
    metered(progress, "A, B and C times the Lagrange basis", rows, |w| {
        accumulate(
            &p.lagrange_g1,
            &[&m.a, &m.b, &m.c],
            &mut [&mut a, &mut b1, &mut abc],
            w,
        );
    });
    metered(progress, "A times beta, B times alpha", 2 * rows, |w| {
        accumulate(&p.beta_lagrange_g1, &[&m.a], &mut [&mut abc], w);
        accumulate(&p.alpha_lagrange_g1, &[&m.b], &mut [&mut abc], w);
    });
    metered(progress, "B in G2", rows, |w| {
        accumulate(&p.lagrange_g2, &[&m.b], &mut [&mut b2], w);
    });
    // ark-groth16's reduction adds a row per instance variable j, at n + j, to A.
    for j in 0..ni {
        a[j] += p.lagrange_g1[nc + j];
        abc[j] += p.beta_lagrange_g1[nc + j];
    }
    let a_query = G1Projective::normalize_batch(&a);
    let b_g1_query = G1Projective::normalize_batch(&b1);
    let b_g2_query = G2Projective::normalize_batch(&b2);
    let abc = G1Projective::normalize_batch(&abc);
    let (g1, g2) = pok::generators();
    Ok(Key {
        vk: VerifyingKey {
            alpha_g1: p.alpha_g1,
            beta_g2: p.beta_g2,
            gamma_g2: g2,
            delta_g2: g2,
            gamma_abc_g1: abc[..ni].to_vec(),
        },
        beta_g1: p.beta_g1,
        delta_g1: g1,
        a_query,
        b_g1_query,
        b_g2_query,
        h_query: p.h_g1.clone(),
        l_query: abc[ni..].to_vec(),
    })
}

/// Multiplies delta by the entropy's secret and divides the H and L queries by it; proves
/// knowledge of the secret, bound to the previous file and the participant.
pub(crate) fn contribute_key(
    key: &Key,
    entropy: &Entropy,
    previous: &[u8; 32],
    participant: &str,
    progress: &mut dyn FnMut(Event<'_>),
) -> (Key, Pok) {
    let d = entropy.secret(DELTA);
    let d_inv = Secret(d.0.inverse().expect("secrets are nonzero"));
    let mut next = key.clone();
    next.delta_g1 = (key.delta_g1 * d.0).into_affine();
    next.vk.delta_g2 = (key.vk.delta_g2 * d.0).into_affine();
    let n = key.h_query.len() + key.l_query.len();
    metered(progress, "H and L queries", n, |w| {
        next.h_query = curve::mul_all(&key.h_query, &d_inv.0, w);
        next.l_query = curve::mul_all(&key.l_query, &d_inv.0, w);
    });
    let proof = Pok::prove(&d, entropy.pok_base(DELTA), previous, DELTA, participant);
    (next, proof)
}

/// Checks that delta `(new_g1, new_g2)` is `prev_g1` multiplied by the secret the proof proves
/// knowledge of (bound to the previous file and the participant), and the same in G1 and G2.
pub fn check_delta_step(
    new: (G1Affine, G2Affine),
    prev_g1: G1Affine,
    proof: &Pok,
    previous_hash: &[u8; 32],
    participant: &str,
) -> Result<(), Fault> {
    let r = proof
        .verify(previous_hash, DELTA, participant)
        .ok_or(Fault::InvalidProof(DELTA))?;
    let (new_g1, new_g2) = new;
    if new_g1.is_zero() || new_g2.is_zero() {
        return Err(Fault::Inconsistent("delta is zero"));
    }
    if !pok::same_ratio((prev_g1, new_g1), (r, proof.r_x)) {
        return Err(Fault::NotDerived("delta"));
    }
    let (g1, g2) = pok::generators();
    if !pok::same_ratio((g1, new_g1), (g2, new_g2)) {
        return Err(Fault::Inconsistent("delta in G1 and in G2 differ"));
    }
    Ok(())
}

/// Checks that `new` is `prev` with delta multiplied by the secret the proof proves knowledge
/// of, and the H and L queries divided by it (randomized: one linear combination).
pub fn check_update(
    new: &Key,
    prev: &Key,
    proof: &Pok,
    previous_hash: &[u8; 32],
    participant: &str,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<(), Fault> {
    check_delta_step(
        (new.delta_g1, new.vk.delta_g2),
        prev.delta_g1,
        proof,
        previous_hash,
        participant,
    )?;
    if new.h_query.len() != prev.h_query.len() || new.l_query.len() != prev.l_query.len() {
        return Err(Fault::NotTheCircuit("H or L query of another length"));
    }
    let ch = pok::coefficients(rng, new.h_query.len());
    let cl = pok::coefficients(rng, new.l_query.len());
    let x_new = pok::msm_g1(&new.h_query, &ch) + pok::msm_g1(&new.l_query, &cl);
    let x_prev = pok::msm_g1(&prev.h_query, &ch) + pok::msm_g1(&prev.l_query, &cl);
    // e(x_new, delta_new) = e(x_prev, delta_prev): the queries were divided by the same d.
    if !pok::same_ratio(
        (x_new.into_affine(), x_prev.into_affine()),
        (prev.vk.delta_g2, new.vk.delta_g2),
    ) {
        return Err(Fault::NotDerived("H and L queries"));
    }
    Ok(())
}

/// Reads delta in G1 and G2 from a key's bytes without decoding the rest (the two points
/// validated): what verification needs of a file between the first and the last.
pub fn read_delta(bytes: &[u8]) -> Result<(G1Affine, G2Affine), String> {
    let mut r = bytes;
    let mode = |r: &mut &[u8]| -> Result<_, ark_serialize::SerializationError> {
        let vk =
            VerifyingKey::<Bls12_381>::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
        let _beta_g1 = G1Affine::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
        let delta_g1 = G1Affine::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
        Ok((delta_g1, vk.delta_g2))
    };
    let (delta_g1, delta_g2) = mode(&mut r).map_err(|e| format!("the key: {e}"))?;
    curve::check_g1(&delta_g1).map_err(|e| format!("delta in G1: {e}"))?;
    curve::check_g2(&delta_g2).map_err(|e| format!("delta in G2: {e}"))?;
    Ok((delta_g1, delta_g2))
}

/// `M·r` for a matrix with one row per constraint, padded with zeros to the domain size.
fn mat_vec(m: &Matrix<Fr>, r: &[Fr], domain: usize) -> Vec<Fr> {
    let mut out: Vec<Fr> = m
        .par_iter()
        .map(|row| row.iter().map(|(c, j)| *c * r[*j]).sum())
        .collect();
    out.resize(domain, Fr::zero());
    out
}

/// Checks that `key` is the circuit's initial key (delta = 1) for the prepared phase 1.
/// Every point of `key` must have been validated.
pub fn check_initial(
    key: &Key,
    p: &Prepared,
    m: &CircuitMatrices,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<(), Fault> {
    let (g1, g2) = pok::generators();
    if key.delta_g1 != g1 || key.vk.delta_g2 != g2 {
        return Err(Fault::NotTheCircuit("the initial delta is not 1"));
    }
    check_key(key, p, m, rng)
}

/// Checks that `key` is the circuit's key for the prepared phase 1 and the key's own delta,
/// without recomputing it: for random `r` over the variables, `sum r_j A_j` must equal
/// `sum_i (A r)_i L_i(tau)` (and likewise for B in G1 and G2), the input and L queries times
/// their gamma (1) and delta must give `sum_i (beta (A r)_i + alpha (B r)_i + (C r)_i) L_i(tau)`,
/// and the H query times delta must be the prepared H bases: a few multi-scalar
/// multiplications and pairings instead of one scalar multiplication per matrix entry. With
/// delta = 1 this is the initial key; with the last delta of a transcript, its final key.
/// Every point of `key` must have been validated.
pub fn check_key(
    key: &Key,
    p: &Prepared,
    m: &CircuitMatrices,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<(), Fault> {
    let (g1, g2) = pok::generators();
    let (nv, ni, nc) = (m.num_variables(), m.num_instance, m.num_constraints);
    let size = 1usize << m.power;
    if p.power != m.power {
        return Err(Fault::NotTheCircuit("prepared for another domain size"));
    }
    let fixed = key.vk.alpha_g1 == p.alpha_g1
        && key.vk.beta_g2 == p.beta_g2
        && key.beta_g1 == p.beta_g1
        && key.vk.gamma_g2 == g2;
    if !fixed {
        return Err(Fault::NotTheCircuit(
            "alpha or beta is not the prepared phase 1's, or gamma is not 1",
        ));
    }
    if key.delta_g1.is_zero() || key.vk.delta_g2.is_zero() {
        return Err(Fault::Inconsistent("delta is zero"));
    }
    if !pok::same_ratio((g1, key.delta_g1), (g2, key.vk.delta_g2)) {
        return Err(Fault::Inconsistent("delta in G1 and in G2 differ"));
    }
    let lengths = key.a_query.len() == nv
        && key.b_g1_query.len() == nv
        && key.b_g2_query.len() == nv
        && key.vk.gamma_abc_g1.len() == ni
        && key.l_query.len() == nv - ni
        && key.h_query.len() == p.h_g1.len();
    if !lengths {
        return Err(Fault::NotTheCircuit(
            "a query has the wrong number of elements",
        ));
    }
    let delta_is_one = key.delta_g1 == g1;
    let h_ok = if delta_is_one {
        key.h_query == p.h_g1
    } else {
        // delta·H_i = (tau^m - 1)·tau^i·G1 for every i, combined at random.
        let c = pok::coefficients(rng, p.h_g1.len());
        let h = pok::msm_g1(&key.h_query, &c).into_affine();
        let bases = pok::msm_g1(&p.h_g1, &c).into_affine();
        pok::same_ratio((h, bases), (g2, key.vk.delta_g2))
    };
    if !h_ok {
        return Err(Fault::NotTheCircuit(
            "the H query is not the prepared phase 1's divided by delta",
        ));
    }
    let r = pok::coefficients(rng, nv);
    let mut sa = mat_vec(&m.a, &r, size);
    // ark-groth16's extra row per instance variable.
    for j in 0..ni {
        sa[nc + j] += r[j];
    }
    let sb = mat_vec(&m.b, &r, size);
    let sc = mat_vec(&m.c, &r, size);
    if pok::msm_g1(&key.a_query, &r) != pok::msm_g1(&p.lagrange_g1, &sa) {
        return Err(Fault::NotTheCircuit("the A query is not the circuit's"));
    }
    if pok::msm_g1(&key.b_g1_query, &r) != pok::msm_g1(&p.lagrange_g1, &sb) {
        return Err(Fault::NotTheCircuit(
            "the B query in G1 is not the circuit's",
        ));
    }
    if pok::msm_g2(&key.b_g2_query, &r) != pok::msm_g2(&p.lagrange_g2, &sb) {
        return Err(Fault::NotTheCircuit(
            "the B query in G2 is not the circuit's",
        ));
    }
    let inputs = pok::msm_g1(&key.vk.gamma_abc_g1, &r[..ni]);
    let l = pok::msm_g1(&key.l_query, &r[ni..]);
    let rhs = pok::msm_g1(&p.beta_lagrange_g1, &sa)
        + pok::msm_g1(&p.alpha_lagrange_g1, &sb)
        + pok::msm_g1(&p.lagrange_g1, &sc);
    // e(inputs - rhs, G2)·e(L, delta) = 1: the inputs over gamma = 1, the L query over delta.
    let ok = Bls12_381::multi_pairing(
        [(inputs - rhs).into_affine(), l.into_affine()],
        [g2, key.vk.delta_g2],
    )
    .is_zero();
    if !ok {
        return Err(Fault::NotTheCircuit(
            "the input or L query is not the circuit's",
        ));
    }
    Ok(())
}

/// Checks that the parts of `key` that no contribution changes are the initial key's.
pub fn check_same_circuit(key: &Key, initial: &Key) -> Result<(), Fault> {
    let same = key.vk.alpha_g1 == initial.vk.alpha_g1
        && key.vk.beta_g2 == initial.vk.beta_g2
        && key.vk.gamma_g2 == initial.vk.gamma_g2
        && key.vk.gamma_abc_g1 == initial.vk.gamma_abc_g1
        && key.beta_g1 == initial.beta_g1
        && key.a_query == initial.a_query
        && key.b_g1_query == initial.b_g1_query
        && key.b_g2_query == initial.b_g2_query;
    if !same {
        return Err(Fault::NotTheCircuit(
            "its alpha, beta, gamma, input, A or B elements are not the ones phase 1 gives",
        ));
    }
    Ok(())
}

/// The key's bytes: ark-groth16's canonical uncompressed encoding.
pub fn encode_key(key: &Key) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.uncompressed_size());
    key.serialize_uncompressed(&mut out)
        .expect("writing to a vector cannot fail");
    out
}

/// Checks that every point of a key is on its curve and in the prime-order subgroup (blst's
/// subgroup tests, in parallel).
pub fn validate_key(key: &Key) -> Result<(), String> {
    let (g1, g2) = (check_g1s, check_g2s);
    let vk = &key.vk;
    g1(
        "alpha, beta and delta in G1",
        &[vk.alpha_g1, key.beta_g1, key.delta_g1],
    )?;
    g2(
        "beta, gamma and delta in G2",
        &[vk.beta_g2, vk.gamma_g2, vk.delta_g2],
    )?;
    g1("input query", &vk.gamma_abc_g1)?;
    g1("A query", &key.a_query)?;
    g1("B query in G1", &key.b_g1_query)?;
    g2("B query in G2", &key.b_g2_query)?;
    g1("H query", &key.h_query)?;
    g1("L query", &key.l_query)
}

/// Decodes a key with every point validated ([`validate_key`]).
pub fn decode_validated_key(bytes: &[u8]) -> Result<Key, String> {
    let key: Key = zkcustoms_verifier::keys::decode_exact(bytes, Compress::No, Validate::No)?;
    validate_key(&key)?;
    Ok(key)
}

/// Decodes a key. The elements contributions change (delta, H, L) are validated here; the
/// others must be compared with the initial key ([`check_same_circuit`]), which validates them.
pub fn decode_key(bytes: &[u8]) -> Result<Key, String> {
    let key: Key = zkcustoms_verifier::keys::decode_exact(bytes, Compress::No, Validate::No)?;
    check_g1s("delta in G1", &[key.delta_g1])?;
    check_g2s("delta in G2", &[key.vk.delta_g2])?;
    check_g1s("H query", &key.h_query)?;
    check_g1s("L query", &key.l_query)?;
    Ok(key)
}

/// Checks points of G1 in parallel; an error names the first bad one found.
fn check_g1s(what: &str, points: &[G1Affine]) -> Result<(), String> {
    points
        .par_iter()
        .enumerate()
        .try_for_each(|(i, p)| curve::check_g1(p).map_err(|e| format!("{what}[{i}]: {e}")))
}

/// Checks points of G2 in parallel; an error names the first bad one found.
fn check_g2s(what: &str, points: &[G2Affine]) -> Result<(), String> {
    points
        .par_iter()
        .enumerate()
        .try_for_each(|(i, p)| curve::check_g2(p).map_err(|e| format!("{what}[{i}]: {e}")))
}
