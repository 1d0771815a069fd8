//! Phase 1: powers of tau, universal for every circuit whose evaluation domain has at most
//! 2^power elements.
//!
//! For n = 2^power the parameters are `tau^i·G1` for i < 2n-1, `tau^i·G2`, `alpha·tau^i·G1` and
//! `beta·tau^i·G1` for i < n, and `beta·G2`. A contribution multiplies tau, alpha and beta by
//! fresh secrets and proves knowledge of each ([`crate::pok`]). Contents of a phase-1 file after
//! the record: those points in that order, uncompressed.

use crate::codec::{Reader, Writer, G1_BYTES, G2_BYTES};
use crate::curve;
use crate::file::{self, refused, Ceremony, Kind, Loaded};
use crate::pok::{self, Pok};
use crate::record::Record;
use crate::secrets::{Entropy, Secret};
use crate::{timed, Beacon, CeremonyError, Event, Fault, Stage, Step, StepReport, MAX_POWER};
use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, Zero};
use rayon::prelude::*;
use std::path::PathBuf;
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
        let tau_g1 = timed(
            progress,
            &format!("tau powers in G1 ({} points)", 2 * n - 1),
            || curve::mul_each(&self.tau_g1, &powers),
        );
        let tau_g2 = timed(progress, &format!("tau powers in G2 ({n} points)"), || {
            curve::mul_each(&self.tau_g2, &powers[..n])
        });
        let alpha_g1 = timed(progress, &format!("alpha tau powers ({n} points)"), || {
            curve::mul_each(&self.alpha_g1, &scaled(&alpha))
        });
        let beta_g1 = timed(progress, &format!("beta tau powers ({n} points)"), || {
            curve::mul_each(&self.beta_g1, &scaled(&beta))
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

    /// Checks that these parameters are `previous` with tau, alpha and beta multiplied by the
    /// secrets the proofs prove knowledge of (the rest of the vectors follow from
    /// [`Phase1::check_consistent`]).
    pub fn check_update(
        &self,
        previous: &Phase1,
        proofs: &[Pok],
        previous_hash: &[u8; 32],
        participant: &str,
    ) -> Result<(), Fault> {
        let pairs = [
            (previous.tau_g1[1], self.tau_g1[1], "tau powers"),
            (previous.alpha_g1[0], self.alpha_g1[0], "alpha elements"),
            (previous.beta_g1[0], self.beta_g1[0], "beta elements"),
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

fn encode_body(record: &Record, params: &Phase1) -> Vec<u8> {
    let mut w = Writer::with_capacity(Phase1::encoded_len(params.power) + 2048);
    record.write(&mut w);
    params.write(&mut w);
    w.0
}

/// Decodes a phase-1 chain file's contents (an imported file's import record is skipped:
/// [`crate::ptau::transcript`] reads it).
fn decode_body(loaded: &Loaded, labels: &[&str]) -> Result<(Record, Phase1), String> {
    let mut r = Reader::new(loaded.body());
    let record = Record::read(&mut r, labels)?;
    if loaded.header.kind == Kind::Phase1Import {
        crate::ptau::transcript::ImportRecord::read(&mut r)?;
    }
    let params = Phase1::read(&mut r, loaded.header.power)?;
    r.finish()?;
    Ok((record, params))
}

fn labels_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Phase1New | Kind::Phase1Import => &[],
        _ => &LABELS,
    }
}

/// Starts phase 1 for circuits with evaluation domains up to 2^power.
pub fn new(ceremony: &Ceremony, power: u8) -> Result<PathBuf, CeremonyError> {
    if !(1..=MAX_POWER).contains(&power) {
        return Err(CeremonyError::Invalid(format!(
            "phase-1 power must be 1 to {MAX_POWER}, not {power}"
        )));
    }
    if let Some(first) = ceremony.chain(Stage::Phase1)?.first() {
        return Err(CeremonyError::Exists(first.clone()));
    }
    let record = Record {
        participant: String::new(),
        beacon: None,
        proofs: Vec::new(),
    };
    let body = encode_body(&record, &Phase1::initial(power));
    let bytes = file::encode(Kind::Phase1New, 0, power, None, [0; 32], [0; 32], &body);
    let path = ceremony.chain_path(Stage::Phase1, 0, Kind::Phase1New);
    file::write_new(&path, &bytes)?;
    Ok(path)
}

/// The last file of phase 1, decoded, with its step.
pub fn read_last(ceremony: &Ceremony) -> Result<(Step, Loaded, Record, Phase1), CeremonyError> {
    let files = ceremony.chain(Stage::Phase1)?;
    let Some(path) = files.last() else {
        return Err(CeremonyError::Missing(format!(
            "phase 1 has not started in {}: run `zkcustoms ceremony phase1 new` first",
            ceremony.dir().display()
        )));
    };
    let step = Step {
        stage: Stage::Phase1,
        index: files.len() as u32 - 1,
    };
    let loaded = Loaded::read(path, step)?;
    check_place(&loaded, step)?;
    let (record, params) = decode_body(&loaded, labels_of(loaded.header.kind))
        .map_err(|e| refused(step, path, Fault::Malformed(e)))?;
    Ok((step, loaded, record, params))
}

/// The header checks that need no other file: kind and index for the position.
pub(crate) fn check_place(loaded: &Loaded, step: Step) -> Result<(), CeremonyError> {
    let h = &loaded.header;
    let fault = |expected: String, found: String| {
        Err(refused(
            step,
            &loaded.path,
            Fault::OutOfPlace { expected, found },
        ))
    };
    let kind_ok = match step.index {
        0 => matches!(h.kind, Kind::Phase1New | Kind::Phase1Import),
        _ => matches!(h.kind, Kind::Phase1Contribution | Kind::Phase1Beacon),
    };
    if !kind_ok {
        let expected = if step.index == 0 {
            "a new or imported phase-1 file".to_owned()
        } else {
            "a phase-1 contribution or beacon".to_owned()
        };
        return fault(expected, format!("a {} file", h.kind));
    }
    if h.index != step.index {
        return fault(format!("step {}", step.index), format!("step {}", h.index));
    }
    if !(1..=MAX_POWER).contains(&h.power) || h.circuit.is_some() || h.phase1 != [0; 32] {
        return fault("a phase-1 header".into(), "other header fields".into());
    }
    Ok(())
}

/// What a contribution or beacon wrote.
#[derive(Clone, Debug)]
pub struct Contributed {
    /// The new transcript file.
    pub file: PathBuf,
    /// The attestation beside it.
    pub attestation: PathBuf,
    /// The attestation's text.
    pub text: String,
    /// SHA-256 of the new file.
    pub file_hash: [u8; 32],
}

/// Contributes to phase 1 with fresh secrets from `entropy`: reads the last file, checks it,
/// writes the next file and its attestation.
pub fn contribute(
    ceremony: &Ceremony,
    participant: &str,
    entropy: Entropy,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    Record::check_participant(participant)?;
    step(ceremony, participant, None, entropy, progress)
}

/// Applies the random beacon that closes phase 1.
pub fn beacon(
    ceremony: &Ceremony,
    beacon: &Beacon,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    let entropy = timed(
        progress,
        &format!("beacon: 2^{} SHA-256 iterations", beacon.iterations_log2),
        || beacon.entropy("phase1"),
    );
    step(
        ceremony,
        crate::beacon::BEACON_PARTICIPANT,
        Some(beacon.clone()),
        entropy,
        progress,
    )
}

fn step(
    ceremony: &Ceremony,
    participant: &str,
    beacon: Option<Beacon>,
    entropy: Entropy,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    let (last, loaded, _, params) = timed(progress, "reading the last phase-1 file", || {
        read_last(ceremony)
    })?;
    let next = Step {
        stage: Stage::Phase1,
        index: last.index + 1,
    };
    if loaded.header.kind.is_beacon() {
        return Err(refused(next, &loaded.path, Fault::AfterBeacon(last.index)));
    }
    let mut rng = pok::check_rng("phase1", &[&loaded.hash]);
    timed(progress, "checking it", || {
        params.check_consistent(&mut rng)
    })
    .map_err(|f| refused(last, &loaded.path, f))?;
    let (params, proofs) = params.contribute(&entropy, &loaded.hash, participant, progress);
    drop(entropy);
    let kind = if beacon.is_some() {
        Kind::Phase1Beacon
    } else {
        Kind::Phase1Contribution
    };
    let record = Record {
        participant: participant.to_owned(),
        beacon,
        proofs,
    };
    let body = encode_body(&record, &params);
    let bytes = file::encode(
        kind,
        next.index,
        params.power,
        None,
        loaded.hash,
        [0; 32],
        &body,
    );
    let path = ceremony.chain_path(Stage::Phase1, next.index, kind);
    timed(progress, "writing", || file::write_new(&path, &bytes))?;
    let written = Loaded::read(&path, next)?;
    let text = file::attestation(next, participant, &path, &written);
    let attestation = file::write_attestation(&path, &text)?;
    Ok(Contributed {
        file: path,
        attestation,
        text,
        file_hash: written.hash,
    })
}

/// Checks a beacon step's proofs against the ones its beacon gives.
fn check_beacon(
    record: &Record,
    previous: &[u8; 32],
    stage: &str,
    labels: &[&str],
) -> Result<(), Fault> {
    let beacon = record.beacon.as_ref().ok_or(Fault::BeaconMismatch)?;
    let entropy = beacon.entropy(stage);
    for (proof, label) in record.proofs.iter().zip(labels) {
        let expected = Pok::prove(
            &entropy.secret(label),
            entropy.pok_base(label),
            previous,
            label,
            &record.participant,
        );
        if *proof != expected {
            return Err(Fault::BeaconMismatch);
        }
    }
    Ok(())
}

/// Checks the record of a contribution or beacon step against its kind.
pub(crate) fn check_record(
    record: &Record,
    kind: Kind,
    previous: &[u8; 32],
    stage: &str,
    labels: &[&str],
) -> Result<(), Fault> {
    if kind.is_beacon() {
        if record.participant != crate::beacon::BEACON_PARTICIPANT {
            return Err(Fault::Malformed("a beacon step names a participant".into()));
        }
        check_beacon(record, previous, stage, labels)
    } else {
        if record.beacon.is_some() {
            return Err(Fault::Malformed("a contribution carries a beacon".into()));
        }
        Record::check_participant(&record.participant).map_err(|e| Fault::Malformed(e.to_string()))
    }
}

/// The outcome of verifying phase 1.
#[derive(Clone, Debug)]
pub struct Verified {
    /// One report per step.
    pub reports: Vec<StepReport>,
    /// log2 of the phase-1 size.
    pub power: u8,
    /// Whether a beacon closed the phase.
    pub closed: bool,
}

/// Verifies the whole phase-1 transcript: every header and link, every proof of knowledge,
/// that each file derives from the previous one, that each is internally consistent, and that
/// a beacon, if any, is last and derives from its stated value.
pub fn verify(
    ceremony: &Ceremony,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    let files = ceremony.chain(Stage::Phase1)?;
    if files.is_empty() {
        return Err(CeremonyError::Missing(format!(
            "phase 1 has not started in {}",
            ceremony.dir().display()
        )));
    }
    let mut reports = Vec::with_capacity(files.len());
    let mut prev: Option<(Loaded, Phase1)> = None;
    let mut beacon_at = None;
    for (i, path) in files.iter().enumerate() {
        let step = Step {
            stage: Stage::Phase1,
            index: i as u32,
        };
        let fail = |fault| refused(step, path, fault);
        let loaded = Loaded::read(path, step)?;
        if let Some(b) = beacon_at {
            return Err(fail(Fault::AfterBeacon(b)));
        }
        check_place(&loaded, step)?;
        let h = &loaded.header;
        let (expected_prev, power) = match &prev {
            // An imported phase 1 names the `.ptau` file's hash, checked against its record.
            None if h.kind == Kind::Phase1Import => (h.previous, h.power),
            None => ([0; 32], h.power),
            Some((l, p)) => (l.hash, p.power),
        };
        if h.power != power {
            return Err(fail(Fault::OutOfPlace {
                expected: format!("size 2^{power}"),
                found: format!("size 2^{}", h.power),
            }));
        }
        if h.previous != expected_prev {
            return Err(fail(Fault::NotChained {
                expected: hex::encode(expected_prev),
                found: hex::encode(h.previous),
            }));
        }
        let label = format!("verifying phase 1 step {i} ({})", h.kind.word());
        let params = timed(progress, &label, || -> Result<Phase1, Fault> {
            let (record, params) =
                decode_body(&loaded, labels_of(h.kind)).map_err(Fault::Malformed)?;
            let mut imported = None;
            match &prev {
                None if h.kind == Kind::Phase1Import => {
                    let mut rng = pok::check_rng("phase1", &[&loaded.hash]);
                    imported = Some(crate::ptau::transcript::check_imported(
                        &loaded, &params, &mut rng,
                    )?);
                }
                None => {
                    if params != Phase1::initial(power) || !record.participant.is_empty() {
                        return Err(Fault::Inconsistent(
                            "the initial parameters are not the generators",
                        ));
                    }
                }
                Some((prev_loaded, prev_params)) => {
                    check_record(&record, h.kind, &prev_loaded.hash, "phase1", &LABELS)?;
                    params.check_update(
                        prev_params,
                        &record.proofs,
                        &prev_loaded.hash,
                        &record.participant,
                    )?;
                    let mut rng = pok::check_rng("phase1", &[&loaded.hash]);
                    params.check_consistent(&mut rng)?;
                }
            }
            reports.push(StepReport {
                step,
                file: path.clone(),
                kind: h.kind,
                participant: record.participant,
                contribution_hash: h.contribution,
                file_hash: loaded.hash,
                imported,
            });
            Ok(params)
        })
        .map_err(fail)?;
        if loaded.header.kind.is_beacon() {
            beacon_at = Some(step.index);
        }
        prev = Some((loaded, params));
    }
    let power = prev.as_ref().map(|(_, p)| p.power).unwrap_or_default();
    Ok(Verified {
        reports,
        power,
        closed: beacon_at.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_serialize::CanonicalSerialize;

    fn files(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn secrets_are_never_written() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Ceremony::new(tmp.path());
        new(&c, 3).unwrap();
        contribute(&c, "DE customs", Entropy::from_seed([5; 32]), &mut |_| {}).unwrap();
        let e = Entropy::from_seed([5; 32]);
        let mut needles = vec![vec![5u8; 32]];
        for label in LABELS {
            let mut b = Vec::new();
            e.secret(label).0.serialize_compressed(&mut b).unwrap();
            needles.push(b.clone());
            b.reverse();
            needles.push(b);
        }
        let written = files(tmp.path());
        assert_eq!(written.len(), 3, "two transcript files and one attestation");
        for f in written {
            let bytes = std::fs::read(&f).unwrap();
            for n in &needles {
                assert!(
                    !bytes.windows(n.len()).any(|w| w == n.as_slice()),
                    "{} holds a secret",
                    f.display()
                );
            }
        }
    }

    #[test]
    fn a_contribution_changes_every_vector_and_stays_consistent() {
        let p = Phase1::initial(3);
        let (q, proofs) = p.contribute(&Entropy::from_seed([6; 32]), &[0; 32], "x", &mut |_| {});
        assert!(q.tau_g1[1] != p.tau_g1[1] && q.alpha_g1[0] != p.alpha_g1[0]);
        assert!(q.beta_g2 != p.beta_g2 && q.tau_g2[7] != p.tau_g2[7]);
        q.check_consistent(&mut pok::check_rng("t", &[])).unwrap();
        q.check_update(&p, &proofs, &[0; 32], "x").unwrap();
        assert_eq!(
            q.check_update(&p, &proofs, &[1; 32], "x"),
            Err(Fault::InvalidProof("tau"))
        );
    }
}
