//! Phase 1: powers of tau, universal for every circuit whose evaluation domain has at most
//! 2^power elements.
//!
//! For n = 2^power the parameters are `tau^i·G1` for i < 2n-1, `tau^i·G2`, `alpha·tau^i·G1` and
//! `beta·tau^i·G1` for i < n, and `beta·G2`. A contribution multiplies tau, alpha and beta by
//! fresh secrets and proves knowledge of each ([`crate::pok`]). Contents of a phase-1 file after
//! the record: those points in that order, uncompressed.

use crate::beacon::Secrets;
use crate::codec::{Reader, Writer};
use crate::file::{self, refused, Ceremony, Kind, Loaded};
use crate::pok::{self, Pok};
use crate::record::Record;
use crate::secrets::Entropy;
use crate::MAX_POWER;
use crate::{timed, Beacon, CeremonyError, Depth, Event, Fault, Stage, Step, StepReport};
use std::path::PathBuf;
use std::sync::Arc;

pub mod ptau_steps;

pub use crate::powers::{Links, Phase1, LABELS};

fn encode_body(record: &Record, params: &Phase1) -> Vec<u8> {
    let mut w = Writer::with_capacity(Phase1::encoded_len(params.power) + 2048);
    record.write(&mut w);
    params.write(&mut w);
    w.0
}

/// Decodes a phase-1 chain file's contents (an imported file's import record is skipped:
/// [`ptau_steps`] reads it).
fn decode_body(loaded: &Loaded, labels: &[&str]) -> Result<(Record, Phase1), String> {
    let mut r = Reader::new(loaded.body());
    let record = Record::read(&mut r, labels)?;
    if loaded.header.kind == Kind::Phase1Import {
        ptau_steps::ImportRecord::read(&mut r)?;
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
    step(ceremony, Secrets::Fresh(participant, entropy), progress)
}

/// Applies the random beacon that closes phase 1, once a participant has contributed (or a
/// public phase 1 with its own contributions was imported): a beacon's secrets are public.
pub fn beacon(
    ceremony: &Ceremony,
    beacon: &Beacon,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    step(ceremony, Secrets::Beacon(beacon.clone()), progress)
}

fn step(
    ceremony: &Ceremony,
    secrets: Secrets<'_>,
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
    // The file built on is checked before a beacon's secrets are derived (up to 2^32 hashes):
    // a bad file costs nothing more than its check.
    let mut rng = pok::check_rng("phase1", &[&loaded.hash]);
    timed(progress, "checking it", || {
        params.check_consistent(&mut rng)
    })
    .map_err(|f| refused(last, &loaded.path, f))?;
    // An imported phase 1 holds its own contributions.
    let contributed = loaded.header.kind != Kind::Phase1New;
    let (participant, beacon, entropy) = secrets
        .take("phase1", contributed, progress)
        .map_err(|f| refused(next, &loaded.path, f))?;
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
    let text = file::attestation(next, participant, record.beacon.as_ref(), &path, &written);
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
#[derive(Clone)]
pub struct Verified {
    /// One report per step.
    pub reports: Vec<StepReport>,
    /// log2 of the phase-1 size.
    pub power: u8,
    /// Whether a beacon closed the phase.
    pub closed: bool,
    /// The parameters of the last file, as verified.
    pub last: Arc<Phase1>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("reports", &self.reports)
            .field("power", &self.power)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// Verifies the whole phase-1 transcript: every header and link, every proof of knowledge,
/// that each step's tau, alpha and beta derive from the previous step's with the proven
/// secrets, that the first file is the generators (or a checked import), that the last is
/// consistent, and that a beacon, if any, is last and derives from its stated value.
///
/// Files between the first and the last are not decoded beyond what their proofs speak of
/// ([`Depth::Linked`]); when that finds a fault, every file is checked in full
/// ([`Depth::EveryFile`]) so that the refusal names the first bad step.
pub fn verify(
    ceremony: &Ceremony,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    crate::linked_or_blame(progress, Stage::Phase1, "phase 1", |depth, progress| {
        walk(ceremony, depth, progress)
    })
}

/// Verifies phase 1 with every file checked in full ([`Depth::EveryFile`]).
pub fn verify_every_file(
    ceremony: &Ceremony,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    walk(ceremony, Depth::EveryFile, progress)
}

fn walk(
    ceremony: &Ceremony,
    depth: Depth,
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
    // The previous file: its hash, power and links.
    let mut prev: Option<([u8; 32], u8, Links)> = None;
    let mut last = None;
    let mut beacon_at = None;
    // Whether a participant contributed (an imported phase 1 holds its own contributions).
    let mut contributed = false;
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
        if h.kind.is_beacon() && !contributed {
            return Err(fail(Fault::NobodyContributed));
        }
        contributed |= matches!(h.kind, Kind::Phase1Contribution | Kind::Phase1Import);
        let (expected_prev, power) = match &prev {
            // An imported phase 1 names the `.ptau` file's hash, checked against its record.
            None if h.kind == Kind::Phase1Import => (h.previous, h.power),
            None => ([0; 32], h.power),
            Some((hash, power, _)) => (*hash, *power),
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
        let is_last = i + 1 == files.len();
        let in_full = depth == Depth::EveryFile || is_last || h.kind == Kind::Phase1Import;
        // The initial file is compared with the generators byte for byte when not decoded.
        let checked_in_full = in_full || i == 0;
        let label = format!("verifying phase 1 step {i} ({})", h.kind.word());
        let (links, params) = timed(progress, &label, || -> Result<_, Fault> {
            let (record, params, bytes) = if in_full {
                let (record, params) =
                    decode_body(&loaded, labels_of(h.kind)).map_err(Fault::Malformed)?;
                (record, Some(params), &[][..])
            } else {
                let (record, bytes) = split_record(&loaded).map_err(Fault::Malformed)?;
                (record, None, bytes)
            };
            let mut imported = None;
            let links = match (&prev, &params) {
                (None, Some(params)) if h.kind == Kind::Phase1Import => {
                    // Its contributors are the imported file's, listed from it; the step itself
                    // names nobody.
                    if !record.participant.is_empty()
                        || record.beacon.is_some()
                        || !record.proofs.is_empty()
                    {
                        return Err(Fault::Malformed(
                            "an imported phase 1 names a participant, a beacon or proofs".into(),
                        ));
                    }
                    let mut rng = pok::check_rng("phase1", &[&loaded.hash]);
                    imported = Some(ptau_steps::check_imported(&loaded, params, &mut rng)?);
                    params.links()
                }
                (None, params) => {
                    let initial = match params {
                        Some(params) => *params == Phase1::initial(power),
                        None => Phase1::is_initial_encoding(bytes, power),
                    };
                    if !initial || !record.participant.is_empty() {
                        return Err(Fault::Inconsistent(
                            "the initial parameters are not the generators",
                        ));
                    }
                    Links::initial()
                }
                (Some((prev_hash, _, prev_links)), params) => {
                    let links = match params {
                        Some(params) => params.links(),
                        None => Phase1::read_links(bytes, power).map_err(Fault::Malformed)?,
                    };
                    links.check_update(
                        prev_links,
                        &record.proofs,
                        prev_hash,
                        &record.participant,
                    )?;
                    // Last: a beacon's derivation hashes for as long as the file says.
                    check_record(&record, h.kind, prev_hash, "phase1", &LABELS)?;
                    if let Some(params) = params {
                        let mut rng = pok::check_rng("phase1", &[&loaded.hash]);
                        params.check_consistent(&mut rng)?;
                    }
                    links
                }
            };
            reports.push(StepReport {
                step,
                file: path.clone(),
                kind: h.kind,
                participant: record.participant,
                contribution_hash: h.contribution,
                file_hash: loaded.hash,
                imported,
                in_full: checked_in_full,
            });
            Ok((links, params))
        })
        .map_err(fail)?;
        if loaded.header.kind.is_beacon() {
            beacon_at = Some(step.index);
        }
        prev = Some((loaded.hash, power, links));
        if is_last {
            last = params;
        }
    }
    let last = last.expect("the last file is decoded in full");
    Ok(Verified {
        reports,
        power: last.power,
        closed: beacon_at.is_some(),
        last: Arc::new(last),
    })
}

/// A contribution's or initial file's record and encoded parameters (the contents after it).
fn split_record(loaded: &Loaded) -> Result<(Record, &[u8]), String> {
    let mut r = Reader::new(loaded.body());
    let record = Record::read(&mut r, labels_of(loaded.header.kind))?;
    Ok((record, r.rest()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::G1_BYTES;
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

    /// A beacon straight after `new`, written as `beacon` would write it were it not refused.
    fn forge_beacon_after_new(c: &Ceremony, beacon: &Beacon) {
        let (_, loaded, _, params) = read_last(c).unwrap();
        let entropy = beacon.entropy("phase1");
        let participant = crate::beacon::BEACON_PARTICIPANT;
        let (params, proofs) = params.contribute(&entropy, &loaded.hash, participant, &mut |_| {});
        let record = Record {
            participant: participant.to_owned(),
            beacon: Some(beacon.clone()),
            proofs,
        };
        let body = encode_body(&record, &params);
        let kind = Kind::Phase1Beacon;
        let bytes = file::encode(kind, 1, params.power, None, loaded.hash, [0; 32], &body);
        file::write_new(&c.chain_path(Stage::Phase1, 1, kind), &bytes).unwrap();
    }

    /// A beacon's secrets are public: a phase 1 that only a beacon changed gives keys anyone
    /// can forge proofs under. Applying one is refused, and a transcript holding one does not
    /// verify; after a contribution the same beacon is fine.
    #[test]
    fn a_beacon_cannot_close_a_phase_nobody_contributed_to() {
        let beacon = Beacon::new(b"block 1".to_vec(), 4).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let c = Ceremony::new(tmp.path());
        new(&c, 3).unwrap();
        let err = super::beacon(&c, &beacon, &mut |_| {}).unwrap_err();
        assert!(
            matches!(
                err,
                CeremonyError::Refused {
                    fault: Fault::NobodyContributed,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(c.chain(Stage::Phase1).unwrap().len(), 1, "nothing written");

        forge_beacon_after_new(&c, &beacon);
        for depth in [Depth::Linked, Depth::EveryFile] {
            let err = walk(&c, depth, &mut |_| {}).unwrap_err();
            assert!(
                err.to_string().contains("no participant contributed"),
                "{err}"
            );
        }

        let tmp = tempfile::tempdir().unwrap();
        let c = Ceremony::new(tmp.path());
        new(&c, 3).unwrap();
        contribute(&c, "DE customs", Entropy::from_seed([7; 32]), &mut |_| {}).unwrap();
        super::beacon(&c, &beacon, &mut |_| {}).unwrap();
        let verified = verify(&c, &mut |_| {}).unwrap();
        assert!(verified.closed);
    }

    #[test]
    fn a_contribution_changes_every_vector_and_stays_consistent() {
        let p = Phase1::initial(3);
        let (q, proofs) = p.contribute(&Entropy::from_seed([6; 32]), &[0; 32], "x", &mut |_| {});
        assert!(q.tau_g1[1] != p.tau_g1[1] && q.alpha_g1[0] != p.alpha_g1[0]);
        assert!(q.beta_g2 != p.beta_g2 && q.tau_g2[7] != p.tau_g2[7]);
        q.check_consistent(&mut pok::check_rng("t", &[])).unwrap();
        q.links()
            .check_update(&p.links(), &proofs, &[0; 32], "x")
            .unwrap();
        assert_eq!(
            q.links().check_update(&p.links(), &proofs, &[1; 32], "x"),
            Err(Fault::InvalidProof("tau"))
        );
    }

    #[test]
    fn the_links_read_from_bytes_are_the_decoded_ones() {
        let p = Phase1::initial(3);
        let (q, _) = p.contribute(&Entropy::from_seed([7; 32]), &[0; 32], "x", &mut |_| {});
        let mut w = Writer::default();
        q.write(&mut w);
        assert_eq!(Phase1::read_links(&w.0, 3).unwrap(), q.links());
        assert!(Phase1::read_links(&w.0[1..], 3).is_err());
        assert!(Phase1::read_links(&w.0, 4).is_err());
        assert!(!Phase1::is_initial_encoding(&w.0, 3));
        let mut w0 = Writer::default();
        p.write(&mut w0);
        assert_eq!(Phase1::read_links(&w0.0, 3).unwrap(), Links::initial());
        assert!(Phase1::is_initial_encoding(&w0.0, 3));
        assert!(!Phase1::is_initial_encoding(&w0.0[..w0.0.len() - 1], 3));
        assert!(!Phase1::is_initial_encoding(&w0.0, 2));
        // A point off the curve among the links is refused.
        let mut bad = w.0.clone();
        bad[G1_BYTES + 10] ^= 1;
        assert!(Phase1::read_links(&bad, 3).is_err());
    }
}
