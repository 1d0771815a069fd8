//! A circuit's phase-2 transcript: `phase2/CIRCUIT/NNNN-KIND.ph2`, starting from the prepared
//! phase 1, each file naming the previous one and the prepared phase 1 it is built on.

use super::encode_key;
use super::{check_initial, check_same_circuit, check_update, contribute_key, decode_key};
use super::{initial_key, Key, DELTA};
use crate::codec::{Reader, Writer};
use crate::file::{self, circuit_name, refused, Ceremony, Kind, Loaded};
use crate::phase1::{check_record, Contributed};
use crate::pok;
use crate::record::Record;
use crate::secrets::Entropy;
use crate::{prepare, r1cs, timed, Beacon, CeremonyError, Event, Fault, Stage, Step, StepReport};
use ark_serialize::Valid;
use std::path::PathBuf;
use zkcustoms_circuits::CircuitId;

fn labels_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Phase2New => &[],
        _ => &[DELTA],
    }
}

/// The contents after the record: the proving key's bytes.
pub fn key_bytes(loaded: &Loaded) -> Result<&[u8], String> {
    let mut r = Reader::new(loaded.body());
    Record::read(&mut r, labels_of(loaded.header.kind))?;
    Ok(r.rest())
}

fn decode_body(loaded: &Loaded) -> Result<(Record, Key), String> {
    let mut r = Reader::new(loaded.body());
    let record = Record::read(&mut r, labels_of(loaded.header.kind))?;
    let key = decode_key(r.rest())?;
    Ok((record, key))
}

fn encode_body(record: &Record, key: &Key) -> Vec<u8> {
    let mut w = Writer::default();
    record.write(&mut w);
    w.raw(&encode_key(key));
    w.0
}

fn beacon_stage(circuit: CircuitId) -> String {
    format!("phase2/{}", circuit_name(circuit))
}

/// Header checks that need no other file: kind for the position, index and circuit.
fn check_place(loaded: &Loaded, step: Step, circuit: CircuitId) -> Result<(), CeremonyError> {
    let h = &loaded.header;
    let fail = |fault| Err(refused(step, &loaded.path, fault));
    if h.circuit != Some(circuit) {
        return fail(Fault::OtherCircuit {
            expected: circuit_name(circuit),
            found: h.circuit.map(circuit_name).unwrap_or_else(|| "none".into()),
        });
    }
    let kind_ok = match step.index {
        0 => h.kind == Kind::Phase2New,
        _ => matches!(h.kind, Kind::Phase2Contribution | Kind::Phase2Beacon),
    };
    if !kind_ok || h.index != step.index {
        return fail(Fault::OutOfPlace {
            expected: format!(
                "step {} ({})",
                step.index,
                if step.index == 0 {
                    "new"
                } else {
                    "contribution or beacon"
                }
            ),
            found: format!("step {} ({})", h.index, h.kind),
        });
    }
    Ok(())
}

/// Starts a circuit's phase 2 from the prepared phase 1 (checked against phase 1's last file).
pub fn new(
    ceremony: &Ceremony,
    circuit: CircuitId,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<PathBuf, CeremonyError> {
    let stage = Stage::Phase2(circuit);
    if let Some(first) = ceremony.chain(stage)?.first() {
        return Err(CeremonyError::Exists(first.clone()));
    }
    let m = timed(progress, &format!("synthesizing {circuit}"), || {
        r1cs::synthesize(circuit)
    })?;
    let (prepared_file, prepared) = prepare::read_checked(ceremony, m.power, progress)?;
    let key = initial_key(&prepared, &m, progress)?;
    let record = Record {
        participant: String::new(),
        beacon: None,
        proofs: Vec::new(),
    };
    let body = encode_body(&record, &key);
    let bytes = file::encode(
        Kind::Phase2New,
        0,
        m.power,
        Some(circuit),
        prepared_file.hash,
        prepared_file.hash,
        &body,
    );
    let path = ceremony.chain_path(stage, 0, Kind::Phase2New);
    timed(progress, "writing", || file::write_new(&path, &bytes))?;
    Ok(path)
}

/// The last file of a circuit's phase 2, decoded.
pub fn read_last(
    ceremony: &Ceremony,
    circuit: CircuitId,
) -> Result<(Step, Loaded, Record, Key), CeremonyError> {
    let stage = Stage::Phase2(circuit);
    let files = ceremony.chain(stage)?;
    let Some(path) = files.last() else {
        return Err(CeremonyError::Missing(format!(
            "phase 2 of {circuit} has not started: run `zkcustoms ceremony phase2 new --circuit {}`",
            circuit_name(circuit)
        )));
    };
    let step = Step {
        stage,
        index: files.len() as u32 - 1,
    };
    let loaded = Loaded::read(path, step)?;
    check_place(&loaded, step, circuit)?;
    let (record, key) =
        decode_body(&loaded).map_err(|e| refused(step, path, Fault::Malformed(e)))?;
    Ok((step, loaded, record, key))
}

/// Contributes to a circuit's phase 2 with fresh secrets from `entropy`.
pub fn contribute(
    ceremony: &Ceremony,
    circuit: CircuitId,
    participant: &str,
    entropy: Entropy,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    Record::check_participant(participant)?;
    step(ceremony, circuit, participant, None, entropy, progress)
}

/// Applies the random beacon that closes a circuit's phase 2.
pub fn beacon(
    ceremony: &Ceremony,
    circuit: CircuitId,
    beacon: &Beacon,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    let entropy = timed(
        progress,
        &format!("beacon: 2^{} SHA-256 iterations", beacon.iterations_log2),
        || beacon.entropy(&beacon_stage(circuit)),
    );
    step(
        ceremony,
        circuit,
        crate::beacon::BEACON_PARTICIPANT,
        Some(beacon.clone()),
        entropy,
        progress,
    )
}

fn step(
    ceremony: &Ceremony,
    circuit: CircuitId,
    participant: &str,
    beacon: Option<Beacon>,
    entropy: Entropy,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    let (last, loaded, _, key) = timed(progress, "reading the last phase-2 file", || {
        read_last(ceremony, circuit)
    })?;
    let next = Step {
        stage: last.stage,
        index: last.index + 1,
    };
    if loaded.header.kind.is_beacon() {
        return Err(refused(next, &loaded.path, Fault::AfterBeacon(last.index)));
    }
    let (g1, g2) = pok::generators();
    if !pok::same_ratio((g1, key.delta_g1), (g2, key.vk.delta_g2)) {
        let fault = Fault::Inconsistent("delta in G1 and in G2 differ");
        return Err(refused(last, &loaded.path, fault));
    }
    let (key, proof) = contribute_key(&key, &entropy, &loaded.hash, participant, progress);
    drop(entropy);
    let kind = if beacon.is_some() {
        Kind::Phase2Beacon
    } else {
        Kind::Phase2Contribution
    };
    let record = Record {
        participant: participant.to_owned(),
        beacon,
        proofs: vec![proof],
    };
    let body = encode_body(&record, &key);
    let h = &loaded.header;
    let bytes = file::encode(
        kind,
        next.index,
        h.power,
        Some(circuit),
        loaded.hash,
        h.phase1,
        &body,
    );
    let path = ceremony.chain_path(next.stage, next.index, kind);
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

/// The outcome of verifying a circuit's phase 2.
#[derive(Clone, Debug)]
pub struct Verified {
    /// One report per step.
    pub reports: Vec<StepReport>,
    /// Whether a beacon closed the phase.
    pub closed: bool,
    /// The last file.
    pub last: Loaded,
    /// SHA-256 of the prepared phase-1 file it is built on.
    pub prepared_hash: [u8; 32],
}

/// Verifies a circuit's phase 2 from the prepared phase 1 (itself checked against phase 1's
/// last file): the initial key must be the one the circuit's constraint system gives
/// ([`super::check_initial`]), each later file must keep every circuit-dependent element, update
/// delta with a proven secret and divide the H and L queries by it; a beacon, if any, is last
/// and derives from its stated value.
pub fn verify(
    ceremony: &Ceremony,
    circuit: CircuitId,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    let stage = Stage::Phase2(circuit);
    let files = ceremony.chain(stage)?;
    if files.is_empty() {
        return Err(CeremonyError::Missing(format!(
            "phase 2 of {circuit} has not started in {}",
            ceremony.dir().display()
        )));
    }
    let m = timed(progress, &format!("synthesizing {circuit}"), || {
        r1cs::synthesize(circuit)
    })?;
    let (prepared_file, prepared) = prepare::read_checked(ceremony, m.power, progress)?;
    let mut initial: Option<Key> = None;
    let mut reports = Vec::with_capacity(files.len());
    let mut prev: Option<(Loaded, Key)> = None;
    let mut beacon_at = None;
    for (i, path) in files.iter().enumerate() {
        let step = Step {
            stage,
            index: i as u32,
        };
        let fail = |fault| refused(step, path, fault);
        let loaded = Loaded::read(path, step)?;
        if let Some(b) = beacon_at {
            return Err(fail(Fault::AfterBeacon(b)));
        }
        check_place(&loaded, step, circuit)?;
        let h = &loaded.header;
        if h.phase1 != prepared_file.hash {
            return Err(fail(Fault::OtherPhase1 {
                expected: hex::encode(prepared_file.hash),
                found: hex::encode(h.phase1),
            }));
        }
        if h.power != m.power {
            return Err(fail(Fault::OutOfPlace {
                expected: format!("domain 2^{}", m.power),
                found: format!("domain 2^{}", h.power),
            }));
        }
        let expected_prev = prev.as_ref().map_or(prepared_file.hash, |(l, _)| l.hash);
        if h.previous != expected_prev {
            return Err(fail(Fault::NotChained {
                expected: hex::encode(expected_prev),
                found: hex::encode(h.previous),
            }));
        }
        let label = format!(
            "verifying phase 2 of {circuit} step {i} ({})",
            h.kind.word()
        );
        let key = timed(progress, &label, || -> Result<Key, Fault> {
            let (record, key) = decode_body(&loaded).map_err(Fault::Malformed)?;
            let mut rng = pok::check_rng("phase2", &[&loaded.hash]);
            match (&prev, &initial) {
                (Some((prev_loaded, prev_key)), Some(initial)) => {
                    let stage_name = beacon_stage(circuit);
                    check_record(&record, h.kind, &prev_loaded.hash, &stage_name, &[DELTA])?;
                    check_same_circuit(&key, initial)?;
                    check_update(
                        &key,
                        prev_key,
                        &record.proofs[0],
                        &prev_loaded.hash,
                        &record.participant,
                        &mut rng,
                    )?;
                }
                _ => {
                    if !record.participant.is_empty() {
                        return Err(Fault::Malformed(
                            "the initial file names a participant".into(),
                        ));
                    }
                    // Nothing to compare with yet: every point is validated here.
                    key.check().map_err(|e| Fault::Malformed(e.to_string()))?;
                    check_initial(&key, &prepared, &m, &mut rng)?;
                }
            }
            reports.push(StepReport {
                step,
                file: path.clone(),
                kind: h.kind,
                participant: record.participant,
                contribution_hash: h.contribution,
                file_hash: loaded.hash,
                imported: None,
            });
            Ok(key)
        })
        .map_err(fail)?;
        if loaded.header.kind.is_beacon() {
            beacon_at = Some(step.index);
        }
        if initial.is_none() {
            initial = Some(key.clone());
        }
        prev = Some((loaded, key));
    }
    let (last, _) = prev.expect("the chain is not empty");
    Ok(Verified {
        reports,
        closed: beacon_at.is_some(),
        last,
        prepared_hash: prepared_file.hash,
    })
}
