//! A circuit's phase-2 transcript: `phase2/CIRCUIT/NNNN-KIND.ph2`, starting from the prepared
//! phase 1, each file naming the previous one and the prepared phase 1 it is built on.

use super::{check_delta_step, check_initial, check_key, check_same_circuit, check_update};
use super::{contribute_key, decode_key, decode_validated_key, encode_key, read_delta};
use super::{initial_key, Key, DELTA};
use crate::beacon::Secrets;
use crate::codec::{Reader, Writer};
use crate::file::{self, circuit_name, refused, Ceremony, Kind, Loaded};
use crate::phase1::{check_record, Contributed};
use crate::pok;
use crate::prepare::Phase1Source;
use crate::record::Record;
use crate::secrets::Entropy;
use crate::{r1cs, timed, Beacon, CeremonyError, Depth, Event, Fault, Stage, Step, StepReport};
use ark_bls12_381::{G1Affine, G2Affine};
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

/// Starts a circuit's phase 2 from the prepared phase 1 (checked against phase 1's last file;
/// `source` reads each file once for all the circuits it serves).
pub fn new(
    source: &mut Phase1Source<'_>,
    circuit: CircuitId,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<PathBuf, CeremonyError> {
    let ceremony = source.ceremony();
    let stage = Stage::Phase2(circuit);
    if let Some(first) = ceremony.chain(stage)?.first() {
        return Err(CeremonyError::Exists(first.clone()));
    }
    let m = timed(progress, &format!("synthesizing {circuit}"), || {
        r1cs::synthesize(circuit)
    })?;
    let (prepared_hash, prepared) = source.prepared(m.power, progress)?;
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
        prepared_hash,
        prepared_hash,
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
    step(
        ceremony,
        circuit,
        Secrets::Fresh(participant, entropy),
        progress,
    )
}

/// Applies the random beacon that closes a circuit's phase 2, once a participant has
/// contributed to it: a beacon's secrets are public.
pub fn beacon(
    ceremony: &Ceremony,
    circuit: CircuitId,
    beacon: &Beacon,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Contributed, CeremonyError> {
    step(ceremony, circuit, Secrets::Beacon(beacon.clone()), progress)
}

fn step(
    ceremony: &Ceremony,
    circuit: CircuitId,
    secrets: Secrets<'_>,
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
    // The file built on is checked before a beacon's secrets are derived (up to 2^32 hashes).
    let (g1, g2) = pok::generators();
    if !pok::same_ratio((g1, key.delta_g1), (g2, key.vk.delta_g2)) {
        let fault = Fault::Inconsistent("delta in G1 and in G2 differ");
        return Err(refused(last, &loaded.path, fault));
    }
    let contributed = loaded.header.kind != Kind::Phase2New;
    let (participant, beacon, entropy) = secrets
        .take(&beacon_stage(circuit), contributed, progress)
        .map_err(|f| refused(next, &loaded.path, f))?;
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
    let text = file::attestation(next, participant, record.beacon.as_ref(), &path, &written);
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
/// last file; `source` reads each once for all the circuits it serves): every header and link,
/// every proof of knowledge, that each step's delta is the previous one times the proven secret
/// (starting from 1), that the last file is the circuit's key for the prepared phase 1 and its
/// delta ([`super::check_key`]), and that a beacon, if any, is last and derives from its stated
/// value.
///
/// Files between the first and the last are not decoded beyond delta ([`Depth::Linked`]); when
/// that finds a fault, every file is checked in full ([`Depth::EveryFile`]) so that the refusal
/// names the first bad step.
pub fn verify(
    source: &mut Phase1Source<'_>,
    circuit: CircuitId,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    let name = format!("phase 2 of {circuit}");
    crate::linked_or_blame(
        progress,
        Stage::Phase2(circuit),
        &name,
        |depth, progress| walk(source, circuit, depth, progress),
    )
}

/// Verifies a circuit's phase 2 with every file checked in full ([`Depth::EveryFile`]): the
/// initial key is the circuit's ([`super::check_initial`]), and each later file keeps every
/// circuit-dependent element, updates delta with a proven secret and divides the H and L
/// queries by it.
pub fn verify_every_file(
    source: &mut Phase1Source<'_>,
    circuit: CircuitId,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    walk(source, circuit, Depth::EveryFile, progress)
}

/// The previous step in a walk: its file's hash, its delta and, in a full walk, its key.
struct Previous {
    hash: [u8; 32],
    delta: (G1Affine, G2Affine),
    key: Option<Key>,
}

fn walk(
    source: &mut Phase1Source<'_>,
    circuit: CircuitId,
    depth: Depth,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Verified, CeremonyError> {
    let ceremony = source.ceremony();
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
    let (prepared_hash, prepared) = source.prepared(m.power, progress)?;
    let (g1, g2) = pok::generators();
    let mut initial: Option<Key> = None;
    let mut reports = Vec::with_capacity(files.len());
    let mut prev: Option<Previous> = None;
    let mut last = None;
    let mut beacon_at = None;
    let mut contributed = false;
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
        if h.kind.is_beacon() && !contributed {
            return Err(fail(Fault::NobodyContributed));
        }
        contributed |= h.kind == Kind::Phase2Contribution;
        if h.phase1 != prepared_hash {
            return Err(fail(Fault::OtherPhase1 {
                expected: hex::encode(prepared_hash),
                found: hex::encode(h.phase1),
            }));
        }
        if h.power != m.power {
            return Err(fail(Fault::OutOfPlace {
                expected: format!("domain 2^{}", m.power),
                found: format!("domain 2^{}", h.power),
            }));
        }
        let expected_prev = prev.as_ref().map_or(prepared_hash, |p| p.hash);
        if h.previous != expected_prev {
            return Err(fail(Fault::NotChained {
                expected: hex::encode(expected_prev),
                found: hex::encode(h.previous),
            }));
        }
        let is_last = i + 1 == files.len();
        let in_full = depth == Depth::EveryFile || is_last;
        let label = format!(
            "verifying phase 2 of {circuit} step {i} ({})",
            h.kind.word()
        );
        let (key, delta) = timed(progress, &label, || -> Result<_, Fault> {
            let mut r = Reader::new(loaded.body());
            let record = Record::read(&mut r, labels_of(h.kind)).map_err(Fault::Malformed)?;
            let bytes = r.rest();
            // Every point is validated where nothing validated is there to compare with.
            let whole = prev.is_none() || depth == Depth::Linked;
            let key = match (in_full, whole) {
                (false, _) => None,
                (true, true) => Some(decode_validated_key(bytes).map_err(Fault::Malformed)?),
                (true, false) => Some(decode_key(bytes).map_err(Fault::Malformed)?),
            };
            let delta = match &key {
                Some(k) => (k.delta_g1, k.vk.delta_g2),
                None => read_delta(bytes).map_err(Fault::Malformed)?,
            };
            let mut rng = pok::check_rng("phase2", &[&loaded.hash]);
            match &prev {
                None => {
                    if !record.participant.is_empty() {
                        return Err(Fault::Malformed(
                            "the initial file names a participant".into(),
                        ));
                    }
                    if delta != (g1, g2) {
                        return Err(Fault::NotTheCircuit("the initial delta is not 1"));
                    }
                    if let Some(key) = &key {
                        check_initial(key, &prepared, &m, &mut rng)?;
                    }
                }
                Some(p) => {
                    let proof = record.proofs.first().ok_or(Fault::InvalidProof(DELTA))?;
                    match (&key, &p.key, &initial) {
                        (Some(key), Some(prev_key), Some(initial)) => {
                            check_same_circuit(key, initial)?;
                            check_update(
                                key,
                                prev_key,
                                proof,
                                &p.hash,
                                &record.participant,
                                &mut rng,
                            )?;
                        }
                        _ => {
                            check_delta_step(
                                delta,
                                p.delta.0,
                                proof,
                                &p.hash,
                                &record.participant,
                            )?;
                            if let Some(key) = &key {
                                check_key(key, &prepared, &m, &mut rng)?;
                            }
                        }
                    }
                    // Last: a beacon's derivation hashes for as long as the file says.
                    let stage_name = beacon_stage(circuit);
                    check_record(&record, h.kind, &p.hash, &stage_name, &[DELTA])?;
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
                in_full,
            });
            Ok((key, delta))
        })
        .map_err(fail)?;
        if loaded.header.kind.is_beacon() {
            beacon_at = Some(step.index);
        }
        if depth == Depth::EveryFile && initial.is_none() {
            initial = key.clone();
        }
        prev = Some(Previous {
            hash: loaded.hash,
            delta,
            key: if depth == Depth::EveryFile { key } else { None },
        });
        if is_last {
            last = Some(loaded);
        }
    }
    Ok(Verified {
        reports,
        closed: beacon_at.is_some(),
        last: last.expect("the chain is not empty"),
        prepared_hash,
    })
}
