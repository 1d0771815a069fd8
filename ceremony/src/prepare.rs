//! Phase 1 in the form phase 2 needs, for an evaluation domain of 2^power (at most phase 1's
//! size): the Lagrange basis `L_i(tau)` of the domain in G1 and G2 and times alpha and beta in
//! G1 (an inverse FFT over group elements), and `(tau^m - 1)·tau^i·G1` for the H query.
//!
//! Verification does not redo the FFT: for random `r`, `sum r_i L_i(tau)` must equal
//! `sum c_j tau^j` where `c` is the inverse FFT of `r` (over scalars), two multi-scalar
//! multiplications per vector.
//!
//! Contents after the record: alpha (G1), beta (G1), beta (G2), then the vectors in the order
//! of the struct's fields, uncompressed.

use crate::codec::{Reader, Writer};
use crate::curve;
use crate::file::{self, refused, Ceremony, Kind, Loaded};
use crate::phase1::{self, Phase1};
use crate::pok;
use crate::record::Record;
use crate::{metered, timed, CeremonyError, Event, Fault, Stage, Step};
use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Phase 1 prepared for one domain size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// log2 of the domain size m.
    pub power: u8,
    /// `alpha·G1`.
    pub alpha_g1: G1Affine,
    /// `beta·G1`.
    pub beta_g1: G1Affine,
    /// `beta·G2`.
    pub beta_g2: G2Affine,
    /// `L_i(tau)·G1`, i < m.
    pub lagrange_g1: Vec<G1Affine>,
    /// `L_i(tau)·G2`, i < m.
    pub lagrange_g2: Vec<G2Affine>,
    /// `alpha·L_i(tau)·G1`, i < m.
    pub alpha_lagrange_g1: Vec<G1Affine>,
    /// `beta·L_i(tau)·G1`, i < m.
    pub beta_lagrange_g1: Vec<G1Affine>,
    /// `(tau^m - 1)·tau^i·G1`, i < m-1.
    pub h_g1: Vec<G1Affine>,
}

fn domain(power: u8) -> Radix2EvaluationDomain<Fr> {
    Radix2EvaluationDomain::new(1usize << power).expect("2^power fits BLS12-381's 2-adicity")
}

impl Prepared {
    /// Computes the Lagrange form of `p1` for a domain of 2^power (`power <= p1.power`).
    pub fn compute(p1: &Phase1, power: u8, progress: &mut dyn FnMut(Event<'_>)) -> Prepared {
        assert!(power <= p1.power, "the domain fits phase 1");
        let m = 1usize << power;
        let work = curve::ifft_work(m);
        let lagrange_g1 = metered(progress, "Lagrange basis in G1", work, |w| {
            curve::ifft(&p1.tau_g1[..m], w)
        });
        let lagrange_g2 = metered(progress, "Lagrange basis in G2", work, |w| {
            curve::ifft(&p1.tau_g2[..m], w)
        });
        let alpha_lagrange_g1 = metered(progress, "alpha Lagrange basis", work, |w| {
            curve::ifft(&p1.alpha_g1[..m], w)
        });
        let beta_lagrange_g1 = metered(progress, "beta Lagrange basis", work, |w| {
            curve::ifft(&p1.beta_g1[..m], w)
        });
        let h_g1 = timed(progress, "H query bases", || {
            let h: Vec<G1Projective> = (0..m - 1)
                .into_par_iter()
                .map(|i| p1.tau_g1[m + i].into_group() - p1.tau_g1[i])
                .collect();
            G1Projective::normalize_batch(&h)
        });
        Prepared {
            power,
            alpha_g1: p1.alpha_g1[0],
            beta_g1: p1.beta_g1[0],
            beta_g2: p1.beta_g2,
            lagrange_g1,
            lagrange_g2,
            alpha_lagrange_g1,
            beta_lagrange_g1,
            h_g1,
        }
    }

    /// Checks that these are the Lagrange form of `p1`, with randomized checks.
    pub fn check_against(
        &self,
        p1: &Phase1,
        rng: &mut rand_chacha::ChaCha20Rng,
    ) -> Result<(), Fault> {
        let m = 1usize << self.power;
        if self.power > p1.power {
            return Err(Fault::Inconsistent(
                "prepared for a domain larger than phase 1",
            ));
        }
        if self.alpha_g1 != p1.alpha_g1[0]
            || self.beta_g1 != p1.beta_g1[0]
            || self.beta_g2 != p1.beta_g2
        {
            return Err(Fault::Inconsistent("alpha and beta are not phase 1's"));
        }
        let r = pok::coefficients(rng, m);
        let c = domain(self.power).ifft(&r);
        let g1_pairs = [
            (
                &self.lagrange_g1,
                &p1.tau_g1,
                "the Lagrange basis in G1 is not phase 1's",
            ),
            (
                &self.alpha_lagrange_g1,
                &p1.alpha_g1,
                "the alpha Lagrange basis is not phase 1's",
            ),
            (
                &self.beta_lagrange_g1,
                &p1.beta_g1,
                "the beta Lagrange basis is not phase 1's",
            ),
        ];
        for (lagrange, powers, why) in g1_pairs {
            if pok::msm_g1(lagrange, &r) != pok::msm_g1(&powers[..m], &c) {
                return Err(Fault::Inconsistent(why));
            }
        }
        if pok::msm_g2(&self.lagrange_g2, &r) != pok::msm_g2(&p1.tau_g2[..m], &c) {
            return Err(Fault::Inconsistent(
                "the Lagrange basis in G2 is not phase 1's",
            ));
        }
        let r = pok::coefficients(rng, m - 1);
        let high = pok::msm_g1(&p1.tau_g1[m..2 * m - 1], &r);
        let low = pok::msm_g1(&p1.tau_g1[..m - 1], &r);
        if pok::msm_g1(&self.h_g1, &r) != high - low {
            return Err(Fault::Inconsistent("the H query bases are not phase 1's"));
        }
        Ok(())
    }

    /// Appends the prepared parameters.
    pub fn write(&self, w: &mut Writer) {
        w.g1(&self.alpha_g1);
        w.g1(&self.beta_g1);
        w.g2(&self.beta_g2);
        w.g1s(&self.lagrange_g1);
        w.g2s(&self.lagrange_g2);
        w.g1s(&self.alpha_lagrange_g1);
        w.g1s(&self.beta_lagrange_g1);
        w.g1s(&self.h_g1);
    }

    /// Reads prepared parameters for a domain of 2^power (every point validated).
    pub fn read(r: &mut Reader<'_>, power: u8) -> Result<Prepared, String> {
        let m = 1usize << power;
        Ok(Prepared {
            power,
            alpha_g1: r.g1("alpha")?,
            beta_g1: r.g1("beta in G1")?,
            beta_g2: r.g2("beta in G2")?,
            lagrange_g1: r.g1s(m, "Lagrange basis in G1")?,
            lagrange_g2: r.g2s(m, "Lagrange basis in G2")?,
            alpha_lagrange_g1: r.g1s(m, "alpha Lagrange basis")?,
            beta_lagrange_g1: r.g1s(m, "beta Lagrange basis")?,
            h_g1: r.g1s(m - 1, "H query bases")?,
        })
    }
}

/// Prepares the closed phase 1 for a domain of 2^power (phase 1's own size when `None`) and
/// writes `phase1/prepared-POWER.ph1`.
pub fn prepare(
    ceremony: &Ceremony,
    power: Option<u8>,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<PathBuf, CeremonyError> {
    let (last, loaded, _, p1) = timed(progress, "reading the last phase-1 file", || {
        phase1::read_last(ceremony)
    })?;
    if !loaded.header.kind.is_beacon() {
        return Err(CeremonyError::Missing(format!(
            "phase 1 ends at step {} without a beacon: run `zkcustoms ceremony phase1 beacon` \
             before preparing",
            last.index
        )));
    }
    let power = power.unwrap_or(p1.power);
    if power == 0 || power > p1.power {
        return Err(CeremonyError::Invalid(format!(
            "phase 1 of 2^{} can be prepared for domains of 2^1 to 2^{}, not 2^{power}",
            p1.power, p1.power
        )));
    }
    let path = ceremony.prepared_path(power);
    if path.exists() {
        return Err(CeremonyError::Exists(path));
    }
    let prepared = Prepared::compute(&p1, power, progress);
    let mut w = Writer::default();
    Record {
        participant: String::new(),
        beacon: None,
        proofs: Vec::new(),
    }
    .write(&mut w);
    prepared.write(&mut w);
    let bytes = file::encode(Kind::Prepared, 0, power, None, loaded.hash, [0; 32], &w.0);
    timed(progress, "writing", || file::write_new(&path, &bytes))?;
    Ok(path)
}

/// The closed phase 1 as phase 2 reads it: the last phase-1 file and the prepared files, each
/// read and checked once however many circuits a command builds or verifies.
pub struct Phase1Source<'c> {
    ceremony: &'c Ceremony,
    /// The last phase-1 file: its step, hash, whether a beacon closed it, and its parameters.
    last: Option<(Step, [u8; 32], bool, Arc<Phase1>)>,
    /// The prepared files read so far, by power: their hash and contents.
    prepared: BTreeMap<u8, ([u8; 32], Arc<Prepared>)>,
}

impl<'c> Phase1Source<'c> {
    /// Reads phase 1's last file when first needed.
    pub fn new(ceremony: &'c Ceremony) -> Phase1Source<'c> {
        Phase1Source {
            ceremony,
            last: None,
            prepared: BTreeMap::new(),
        }
    }

    /// Uses the last file of a phase 1 just verified instead of reading it again.
    pub fn verified(ceremony: &'c Ceremony, verified: &phase1::Verified) -> Phase1Source<'c> {
        let last = verified.reports.last().map(|r| {
            (
                r.step,
                r.file_hash,
                verified.closed,
                Arc::clone(&verified.last),
            )
        });
        Phase1Source {
            ceremony,
            last,
            prepared: BTreeMap::new(),
        }
    }

    /// The ceremony.
    pub fn ceremony(&self) -> &'c Ceremony {
        self.ceremony
    }

    fn last(
        &mut self,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<(Step, [u8; 32], bool, Arc<Phase1>), CeremonyError> {
        if self.last.is_none() {
            let (step, loaded, _, p1) = timed(progress, "reading the last phase-1 file", || {
                phase1::read_last(self.ceremony)
            })?;
            let closed = loaded.header.kind.is_beacon();
            self.last = Some((step, loaded.hash, closed, Arc::new(p1)));
        }
        Ok(self.last.clone().expect("just read"))
    }

    /// The prepared phase 1 for a domain of 2^power and its file's hash, checked against the
    /// last file of phase 1, which must be a beacon.
    pub fn prepared(
        &mut self,
        power: u8,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<([u8; 32], Arc<Prepared>), CeremonyError> {
        if let Some((hash, prepared)) = self.prepared.get(&power) {
            return Ok((*hash, Arc::clone(prepared)));
        }
        let (last, p1_hash, closed, p1) = self.last(progress)?;
        if power > p1.power {
            return Err(CeremonyError::TooSmall {
                have: p1.power,
                need: power,
            });
        }
        if !closed {
            return Err(CeremonyError::Missing(format!(
                "phase 1 ends at step {} without a beacon: run `zkcustoms ceremony phase1 beacon`",
                last.index
            )));
        }
        let path = self.ceremony.prepared_path(power);
        if !path.exists() {
            return Err(CeremonyError::Missing(format!(
                "phase 1 is not prepared for 2^{power} ({} is missing): run `zkcustoms \
                 ceremony phase1 prepare --power {power}`",
                path.display()
            )));
        }
        let step = Step {
            stage: Stage::Prepared(power),
            index: 0,
        };
        let loaded = timed(
            progress,
            &format!("reading phase 1 prepared for 2^{power}"),
            || Loaded::read(&path, step),
        )?;
        let fail = |fault| refused(step, &path, fault);
        let h = &loaded.header;
        if h.kind != Kind::Prepared || h.power != power || h.index != 0 || h.circuit.is_some() {
            return Err(fail(Fault::OutOfPlace {
                expected: format!("phase 1 prepared for 2^{power}"),
                found: format!("a {} file for 2^{}", h.kind, h.power),
            }));
        }
        if h.previous != p1_hash {
            return Err(fail(Fault::NotChained {
                expected: hex::encode(p1_hash),
                found: hex::encode(h.previous),
            }));
        }
        let prepared = timed(progress, "checking the prepared phase 1", || {
            let mut r = Reader::new(loaded.body());
            Record::read(&mut r, &[]).map_err(Fault::Malformed)?;
            let prepared = Prepared::read(&mut r, power).map_err(Fault::Malformed)?;
            r.finish().map_err(Fault::Malformed)?;
            let mut rng = pok::check_rng("prepare", &[&loaded.hash]);
            prepared.check_against(&p1, &mut rng)?;
            Ok(prepared)
        })
        .map_err(fail)?;
        let prepared = Arc::new(prepared);
        self.prepared
            .insert(power, (loaded.hash, Arc::clone(&prepared)));
        Ok((loaded.hash, prepared))
    }
}
