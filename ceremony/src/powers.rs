//! The phase-1 parameters: powers of tau in G1 and G2 and the same powers times alpha and beta,
//! with their encoding and the checks that one set derives from another.

use crate::codec::{Reader, Writer, G1_BYTES, G2_BYTES};
use crate::curve;
use crate::pok::{self, Pok};
use crate::secrets::{Entropy, Secret};
use crate::{metered, Event, Fault};
use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, Zero};
use rayon::prelude::*;
use zeroize::{Zeroize, Zeroizing};

/// The secrets of a phase-1 contribution, in proof order.
pub const LABELS: [&str; 3] = ["tau", "alpha", "beta"];

/// Phase-1 parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase1 {
    /// log2 of n.
    pub power: u8,
    /// `tau^i·G1`, i < 2n-1.
    pub tau_g1: Vec<G1Affine>,
    /// `tau^i·G2`, i < n.
    pub tau_g2: Vec<G2Affine>,
    /// `alpha·tau^i·G1`, i < n.
    pub alpha_g1: Vec<G1Affine>,
    /// `beta·tau^i·G1`, i < n.
    pub beta_g1: Vec<G1Affine>,
    /// `beta·G2`.
    pub beta_g2: G2Affine,
}

impl Phase1 {
    /// The parameters before any contribution: every secret 1, every point a generator.
    pub fn initial(power: u8) -> Phase1 {
        let n = 1usize << power;
        let (g1, g2) = pok::generators();
        Phase1 {
            power,
            tau_g1: vec![g1; 2 * n - 1],
            tau_g2: vec![g2; n],
            alpha_g1: vec![g1; n],
            beta_g1: vec![g1; n],
            beta_g2: g2,
        }
    }

    /// Bytes of the encoded parameters for a power.
    pub fn encoded_len(power: u8) -> usize {
        let n = 1usize << power;
        (4 * n - 1) * G1_BYTES + (n + 1) * G2_BYTES
    }

    /// Appends the parameters.
    pub fn write(&self, w: &mut Writer) {
        w.g1s(&self.tau_g1);
        w.g2s(&self.tau_g2);
        w.g1s(&self.alpha_g1);
        w.g1s(&self.beta_g1);
        w.g2(&self.beta_g2);
    }

    /// Reads parameters of a power (every point validated).
    pub fn read(r: &mut Reader<'_>, power: u8) -> Result<Phase1, String> {
        let n = 1usize << power;
        Ok(Phase1 {
            power,
            tau_g1: r.g1s(2 * n - 1, "tau powers in G1")?,
            tau_g2: r.g2s(n, "tau powers in G2")?,
            alpha_g1: r.g1s(n, "alpha tau powers in G1")?,
            beta_g1: r.g1s(n, "beta tau powers in G1")?,
            beta_g2: r.g2("beta in G2")?,
        })
    }

    /// Multiplies tau, alpha and beta by the entropy's secrets and proves knowledge of them,
    /// bound to the previous file's hash and the participant. The secrets and every power
    /// derived from them are zeroized before this returns.
    pub(crate) fn contribute(
        &self,
        entropy: &Entropy,
        previous: &[u8; 32],
        participant: &str,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> (Phase1, Vec<Pok>) {
        let n = 1usize << self.power;
        let [tau, alpha, beta] = LABELS.map(|l| entropy.secret(l));
        let mut powers = Zeroizing::new(Vec::with_capacity(2 * n - 1));
        let mut p = Fr::one();
        for _ in 0..2 * n - 1 {
            powers.push(p);
            p *= tau.0;
        }
        p.zeroize();
        let scaled = |x: &Secret| -> Zeroizing<Vec<Fr>> {
            Zeroizing::new(powers[..n].par_iter().map(|p| *p * x.0).collect())
        };
        let tau_g1 = metered(progress, "tau powers in G1", 2 * n - 1, |m| {
            curve::mul_each(&self.tau_g1, &powers, m)
        });
        let tau_g2 = metered(progress, "tau powers in G2", n, |m| {
            curve::mul_each(&self.tau_g2, &powers[..n], m)
        });
        let alpha_g1 = metered(progress, "alpha tau powers", n, |m| {
            curve::mul_each(&self.alpha_g1, &scaled(&alpha), m)
        });
        let beta_g1 = metered(progress, "beta tau powers", n, |m| {
            curve::mul_each(&self.beta_g1, &scaled(&beta), m)
        });
        let next = Phase1 {
            power: self.power,
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2: curve::mul(&self.beta_g2, &beta.0).into_affine(),
        };
        let proofs = [(&tau, LABELS[0]), (&alpha, LABELS[1]), (&beta, LABELS[2])]
            .into_iter()
            .map(|(x, l)| Pok::prove(x, entropy.pok_base(l), previous, l, participant))
            .collect();
        (next, proofs)
    }

    /// Checks that the parameters are powers of one tau, times one alpha and one beta: first
    /// elements the generators, no secret zero, and randomized same-ratio checks (random linear
    /// combinations, so a few multi-scalar multiplications instead of n pairings).
    pub fn check_consistent(&self, rng: &mut rand_chacha::ChaCha20Rng) -> Result<(), Fault> {
        let n = 1usize << self.power;
        let (g1, g2) = pok::generators();
        if self.tau_g1.len() != 2 * n - 1
            || self.tau_g2.len() != n
            || self.alpha_g1.len() != n
            || self.beta_g1.len() != n
        {
            return Err(Fault::Inconsistent("vectors of the wrong length"));
        }
        if self.tau_g1[0] != g1 || self.tau_g2[0] != g2 {
            return Err(Fault::Inconsistent("tau^0 is not the generator"));
        }
        if self.tau_g1[1].is_zero()
            || self.tau_g2[1].is_zero()
            || self.alpha_g1[0].is_zero()
            || self.beta_g1[0].is_zero()
            || self.beta_g2.is_zero()
        {
            return Err(Fault::Inconsistent("a secret is zero"));
        }
        // Every G1 vector steps by tau: sum c_i v_i and sum c_i v_{i+1} have ratio tau.
        let mut lo = G1Projective::zero();
        let mut hi = G1Projective::zero();
        for v in [&self.tau_g1, &self.alpha_g1, &self.beta_g1] {
            let c = pok::coefficients(rng, v.len() - 1);
            lo += pok::msm_g1(&v[..v.len() - 1], &c);
            hi += pok::msm_g1(&v[1..], &c);
        }
        if !pok::same_ratio((lo.into_affine(), hi.into_affine()), (g2, self.tau_g2[1])) {
            return Err(Fault::Inconsistent(
                "the G1 elements are not successive powers of tau",
            ));
        }
        let c = pok::coefficients(rng, n - 1);
        let lo = pok::msm_g2(&self.tau_g2[..n - 1], &c).into_affine();
        let hi = pok::msm_g2(&self.tau_g2[1..], &c).into_affine();
        if !pok::same_ratio((g1, self.tau_g1[1]), (lo, hi)) {
            return Err(Fault::Inconsistent(
                "the G2 elements are not the powers of the G1 tau",
            ));
        }
        if !pok::same_ratio((g1, self.beta_g1[0]), (g2, self.beta_g2)) {
            return Err(Fault::Inconsistent("beta in G1 and in G2 differ"));
        }
        Ok(())
    }

    /// The elements that link these parameters to the previous ones.
    pub fn links(&self) -> Links {
        Links {
            tau_g1: self.tau_g1[1],
            alpha_g1: self.alpha_g1[0],
            beta_g1: self.beta_g1[0],
        }
    }

    /// Reads only the linking elements of encoded parameters of a power (those points
    /// validated), checking the encoding's length exactly: what verification needs of a file
    /// between the first and the last.
    pub fn read_links(bytes: &[u8], power: u8) -> Result<Links, String> {
        let n = 1usize << power;
        if bytes.len() != Phase1::encoded_len(power) {
            return Err(format!(
                "{} bytes of parameters, 2^{power} takes {}",
                bytes.len(),
                Phase1::encoded_len(power)
            ));
        }
        let at = |offset: usize, what: &str| Reader::new(&bytes[offset..]).g1(what);
        let alpha = (2 * n - 1) * G1_BYTES + n * G2_BYTES;
        Ok(Links {
            tau_g1: at(G1_BYTES, "tau in G1")?,
            alpha_g1: at(alpha, "alpha in G1")?,
            beta_g1: at(alpha + n * G1_BYTES, "beta in G1")?,
        })
    }

    /// Whether `bytes` encode [`Phase1::initial`] of a power, without decoding them.
    pub fn is_initial_encoding(bytes: &[u8], power: u8) -> bool {
        let n = 1usize << power;
        let (g1, g2) = pok::generators();
        let (mut w1, mut w2) = (Writer::default(), Writer::default());
        w1.g1(&g1);
        w2.g2(&g2);
        let runs = [(&w1.0, 2 * n - 1), (&w2.0, n), (&w1.0, 2 * n), (&w2.0, 1)];
        let mut rest = bytes;
        for (unit, count) in runs {
            for _ in 0..count {
                match rest.strip_prefix(unit.as_slice()) {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
        }
        rest.is_empty()
    }
}

/// The elements of phase-1 parameters that a contribution's proofs speak of: `tau·G1`,
/// `alpha·G1` and `beta·G1`. The rest of a file follows from them when the file is
/// consistent ([`Phase1::check_consistent`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Links {
    /// `tau·G1`.
    pub tau_g1: G1Affine,
    /// `alpha·G1`.
    pub alpha_g1: G1Affine,
    /// `beta·G1`.
    pub beta_g1: G1Affine,
}

impl Links {
    /// The links of [`Phase1::initial`]: every secret 1.
    pub fn initial() -> Links {
        let (g1, _) = pok::generators();
        Links {
            tau_g1: g1,
            alpha_g1: g1,
            beta_g1: g1,
        }
    }

    /// Checks that these links are `previous` with tau, alpha and beta multiplied by the secrets
    /// the proofs prove knowledge of (the rest of the vectors follow from
    /// [`Phase1::check_consistent`]).
    pub fn check_update(
        &self,
        previous: &Links,
        proofs: &[Pok],
        previous_hash: &[u8; 32],
        participant: &str,
    ) -> Result<(), Fault> {
        let pairs = [
            (previous.tau_g1, self.tau_g1, "tau powers"),
            (previous.alpha_g1, self.alpha_g1, "alpha elements"),
            (previous.beta_g1, self.beta_g1, "beta elements"),
        ];
        for ((proof, label), (before, after, what)) in proofs.iter().zip(LABELS).zip(pairs) {
            let r = proof
                .verify(previous_hash, label, participant)
                .ok_or(Fault::InvalidProof(label))?;
            if !pok::same_ratio((before, after), (r, proof.r_x)) {
                return Err(Fault::NotDerived(what));
            }
        }
        Ok(())
    }
}
