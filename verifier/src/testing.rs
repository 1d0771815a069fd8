//! A verifying key made from known trapdoor scalars, so that tests make valid Groth16 proofs for
//! any public inputs without a circuit, including cases an honest prover never meets (`C` the
//! point at infinity, public inputs whose sum is the point at infinity).
//!
//! With `A = a G1`, `B = b G2`, `alpha = α G1`, `beta = β G2`, `gamma = γ G2`, `delta = δ G2`
//! and `IC_j = ic_j G1`, the proof holds when `a b = α β + γ (ic_0 + sum_j x_j ic_j) + δ c`.

use crate::prepared::PreparedProof;
use crate::VerifyingKey;
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, UniformRand, Zero};
use ark_groth16::Proof;
use rand::RngCore;
use zkcustoms_circuits::CircuitId;

/// A key with its trapdoor.
pub(crate) struct Trapdoor {
    alpha: Fr,
    beta: Fr,
    gamma: Fr,
    delta: Fr,
    ic: Vec<Fr>,
    /// The verifying key, loaded through [`VerifyingKey::from_bytes`] like any other.
    pub(crate) key: VerifyingKey,
}

fn g1(x: Fr) -> G1Affine {
    (G1Affine::generator() * x).into_affine()
}

fn g2(x: Fr) -> G2Affine {
    (G2Affine::generator() * x).into_affine()
}

/// A key of `circuit`'s shape with random points (no trapdoor known): what the key formats and
/// the key checks see.
pub(crate) fn random_key(
    circuit: CircuitId,
    rng: &mut impl RngCore,
) -> ark_groth16::VerifyingKey<Bls12_381> {
    ark_groth16::VerifyingKey::<Bls12_381> {
        alpha_g1: g1(nonzero(rng)),
        beta_g2: g2(nonzero(rng)),
        gamma_g2: g2(nonzero(rng)),
        delta_g2: g2(nonzero(rng)),
        gamma_abc_g1: (0..=circuit.num_public_inputs())
            .map(|_| g1(nonzero(rng)))
            .collect(),
    }
}

/// A random non-zero scalar.
fn nonzero(rng: &mut impl RngCore) -> Fr {
    loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            return x;
        }
    }
}

impl Trapdoor {
    /// A key for `aeo-status/v1`'s number of public inputs.
    pub(crate) fn new(rng: &mut impl RngCore) -> Self {
        let circuit = CircuitId::AeoStatusV1;
        let (alpha, beta, gamma, delta) = (nonzero(rng), nonzero(rng), nonzero(rng), nonzero(rng));
        let ic: Vec<Fr> = (0..=circuit.num_public_inputs())
            .map(|_| nonzero(rng))
            .collect();
        let vk = ark_groth16::VerifyingKey::<Bls12_381> {
            alpha_g1: g1(alpha),
            beta_g2: g2(beta),
            gamma_g2: g2(gamma),
            delta_g2: g2(delta),
            gamma_abc_g1: ic.iter().copied().map(g1).collect(),
        };
        let key = VerifyingKey::from_bytes(circuit, &VerifyingKey::canonical_bytes(&vk))
            .expect("a well-formed key");
        Self {
            alpha,
            beta,
            gamma,
            delta,
            ic,
            key,
        }
    }

    /// Random public inputs of the right number.
    pub(crate) fn inputs(&self, rng: &mut impl RngCore) -> Vec<Fr> {
        (1..self.ic.len()).map(|_| Fr::rand(rng)).collect()
    }

    /// Public inputs whose prepared sum `IC_0 + sum_j x_j IC_j` is the point at infinity.
    pub(crate) fn inputs_summing_to_infinity(&self, rng: &mut impl RngCore) -> Vec<Fr> {
        let mut x = self.inputs(rng);
        let last = x.len() - 1;
        x[last] = Fr::zero();
        let inv = self.ic[last + 1].inverse().expect("non-zero");
        x[last] = -self.input_sum(&x) * inv;
        debug_assert!(self.input_sum(&x).is_zero());
        x
    }

    fn input_sum(&self, x: &[Fr]) -> Fr {
        self.ic[0] + self.ic[1..].iter().zip(x).map(|(i, x)| *i * x).sum::<Fr>()
    }

    /// The valid proof for inputs `x` with `A = a G1` and `B = b G2`.
    fn proof_with(&self, x: &[Fr], a: Fr, b: Fr) -> Proof<Bls12_381> {
        let c = (a * b - self.alpha * self.beta - self.gamma * self.input_sum(x))
            * self.delta.inverse().expect("non-zero");
        Proof {
            a: g1(a),
            b: g2(b),
            c: g1(c),
        }
    }

    /// A random valid proof of inputs `x`.
    pub(crate) fn prove(&self, x: &[Fr], rng: &mut impl RngCore) -> PreparedProof {
        PreparedProof {
            proof: self.proof_with(x, nonzero(rng), nonzero(rng)),
            inputs: x.to_vec(),
        }
    }

    /// A valid proof of inputs `x` whose `C` is the point at infinity.
    pub(crate) fn prove_with_c_at_infinity(
        &self,
        x: &[Fr],
        rng: &mut impl RngCore,
    ) -> PreparedProof {
        let a = nonzero(rng);
        let b = (self.alpha * self.beta + self.gamma * self.input_sum(x))
            * a.inverse().expect("non-zero");
        let proof = self.proof_with(x, a, b);
        debug_assert!(proof.c.is_zero());
        PreparedProof {
            proof,
            inputs: x.to_vec(),
        }
    }
}
