//! From a finished ceremony to the key directory that `prove`, `verify`, genesis and the ledger
//! read: the same files and manifest as development setup writes (`development: false`), each
//! proving key exactly the contents of its circuit's last phase-2 file.

use crate::file::{self, circuit_name, Ceremony, Loaded};
use crate::prepare::Phase1Source;
use crate::{phase1, phase2, CeremonyError, Event, Stage, Step};
use std::path::{Path, PathBuf};
use zkcustoms_circuits::CircuitId;
use zkcustoms_verifier::keys::{KeyError, Manifest, ManifestEntry, MANIFEST, MANIFEST_FORMAT};
use zkcustoms_verifier::{KeyDir, VerifyingKey};

fn keys_error(path: &Path) -> impl Fn(KeyError) -> CeremonyError + '_ {
    move |e| CeremonyError::Keys {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

/// Where the ceremony stands, one line per stage, with the command that comes next.
pub fn status(ceremony: &Ceremony, circuits: &[CircuitId]) -> Vec<String> {
    let dir = ceremony.dir().display();
    let last_word = |stage| -> Result<Option<(usize, bool)>, CeremonyError> {
        let files = ceremony.chain(stage)?;
        Ok(files.last().map(|p| {
            let beacon = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("-beacon."));
            (files.len(), beacon)
        }))
    };
    let mut lines = Vec::new();
    lines.push(match last_word(Stage::Phase1) {
        Err(e) => format!("phase 1: {e}"),
        Ok(None) => format!("phase 1: not started (`zkcustoms ceremony phase1 new --dir {dir}`)"),
        Ok(Some((n, false))) => format!(
            "phase 1: {n} files, not closed by a beacon (`zkcustoms ceremony phase1 beacon`)"
        ),
        Ok(Some((n, true))) => format!("phase 1: {n} files, closed by a beacon"),
    });
    let manifest = KeyDir::open(ceremony.keys_dir()).ok();
    for &c in circuits {
        let name = circuit_name(c);
        let finalized = manifest.as_ref().is_some_and(|m| m.entry(c).is_ok());
        lines.push(match last_word(Stage::Phase2(c)) {
            Err(e) => format!("{name}: {e}"),
            Ok(None) => format!(
                "{name}: phase 2 not started (`zkcustoms ceremony phase2 new --circuit {name}`)"
            ),
            Ok(Some((n, false))) => format!(
                "{name}: phase 2 has {n} files, not closed by a beacon \
                 (`zkcustoms ceremony phase2 beacon --circuit {name}`)"
            ),
            Ok(Some((_, true))) if finalized => format!("{name}: finalized"),
            Ok(Some((n, true))) => format!(
                "{name}: phase 2 closed by a beacon after {n} files, not finalized \
                 (`zkcustoms ceremony phase2 finalize --dir {dir}`)"
            ),
        });
    }
    lines
}

/// The refusal of a circuit whose verified phase 2 ends (at `last`) without a beacon.
fn not_closed(circuit: CircuitId, last: &Loaded) -> CeremonyError {
    CeremonyError::Missing(format!(
        "phase 2 of {circuit} ends at step {} without a beacon: run `zkcustoms ceremony phase2 \
         beacon --circuit {}`",
        last.header.index,
        circuit_name(circuit)
    ))
}

fn entry_for(
    circuit: CircuitId,
    last: &Loaded,
) -> Result<(ManifestEntry, Vec<u8>, Vec<u8>), CeremonyError> {
    let step = Step {
        stage: Stage::Phase2(circuit),
        index: last.header.index,
    };
    let malformed = |e: String| file::refused(step, &last.path, crate::Fault::Malformed(e));
    let pk_bytes = phase2::key_bytes(last).map_err(malformed)?.to_vec();
    let key = phase2::decode_key(&pk_bytes).map_err(malformed)?;
    let vk_bytes = VerifyingKey::canonical_bytes(&key.vk);
    let shape = circuit.shape().map_err(|e| CeremonyError::Synthesis {
        circuit,
        why: e.to_string(),
    })?;
    let entry = ManifestEntry::for_keys(circuit, &shape, &vk_bytes, &pk_bytes);
    Ok((entry, vk_bytes, pk_bytes))
}

/// Writes key files and the manifest into `out` (created if missing), refusing to replace any
/// file (a key file already holding the same key is kept: a run cut short before its manifest
/// can be run again), the manifest last, then opens the directory as the verifier does and
/// loads every verifying key.
fn write_key_dir(
    out: &Path,
    keys: Vec<(ManifestEntry, Vec<u8>, Vec<u8>)>,
) -> Result<Manifest, CeremonyError> {
    let manifest_path = out.join(MANIFEST);
    if manifest_path.exists() {
        return Err(CeremonyError::Exists(manifest_path));
    }
    let mut entries = Vec::with_capacity(keys.len());
    for (entry, vk_bytes, pk_bytes) in keys {
        // A key file a run cut short already wrote (no manifest yet) is kept if it is this key.
        file::write_new_or_same(&out.join(&entry.vk_file), &vk_bytes)?;
        file::write_new_or_same(&out.join(&entry.pk_file), &pk_bytes)?;
        entries.push(entry);
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        development: false,
        keys: entries,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
    file::write_new(&manifest_path, text.as_bytes())?;
    let dir = KeyDir::open(out).map_err(keys_error(out))?;
    for e in &manifest.keys {
        let circuit = e.circuit().map_err(|why| CeremonyError::Keys {
            path: out.to_path_buf(),
            why,
        })?;
        dir.verifying_key(circuit).map_err(keys_error(out))?;
    }
    Ok(manifest)
}

/// What `finalize` (or `install`) verified and wrote.
#[derive(Clone, Debug)]
pub struct Finalized {
    /// The key directory.
    pub out: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The verification of phase 1.
    pub phase1: phase1::Verified,
    /// The verification of each circuit's phase 2.
    pub phase2: Vec<(CircuitId, phase2::Verified)>,
}

/// Verifies phase 1 and the phase 2 of each circuit (every circuit with a phase 2 when
/// `circuits` is empty), each of which must end with a beacon, and writes the key directory
/// (`out`, or the ceremony's `keys/`).
pub fn finalize(
    ceremony: &Ceremony,
    circuits: &[CircuitId],
    out: Option<&Path>,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Finalized, CeremonyError> {
    let circuits = if circuits.is_empty() {
        ceremony.phase2_circuits()
    } else {
        circuits.to_vec()
    };
    if circuits.is_empty() {
        return Err(CeremonyError::Missing(format!(
            "no circuit has a phase 2 in {}: run `zkcustoms ceremony phase2 new`",
            ceremony.dir().display()
        )));
    }
    let out = out.map_or_else(|| ceremony.keys_dir(), Path::to_path_buf);
    if out.join(MANIFEST).exists() {
        return Err(CeremonyError::Exists(out.join(MANIFEST)));
    }
    let p1 = phase1::verify(ceremony, progress)?;
    if !p1.closed {
        return Err(CeremonyError::Missing(
            "phase 1 is not closed by a beacon: run `zkcustoms ceremony phase1 beacon`".into(),
        ));
    }
    let mut keys = Vec::with_capacity(circuits.len());
    let mut phase2 = Vec::with_capacity(circuits.len());
    let mut source = Phase1Source::verified(ceremony, &p1);
    for &c in &circuits {
        // What was verified decides, not the directory read again: a beacon file that appears
        // after the verification closes nothing.
        let verified = phase2::verify(&mut source, c, progress)?;
        if !verified.closed {
            return Err(not_closed(c, &verified.last));
        }
        keys.push(entry_for(c, &verified.last)?);
        phase2.push((c, verified));
    }
    let manifest = write_key_dir(&out, keys)?;
    Ok(Finalized {
        out,
        manifest,
        phase1: p1,
        phase2,
    })
}

/// Checks that a key directory's keys for `circuit` are exactly `expected`, the ones its phase 2
/// ends with (`last`, the verified last file of the circuit's phase 2).
fn check_keys_from_transcript(
    dir: &KeyDir,
    path: &Path,
    circuit: CircuitId,
    expected: &ManifestEntry,
    last: &Loaded,
) -> Result<(), CeremonyError> {
    let entry = dir.entry(circuit).map_err(keys_error(path))?;
    if expected.pk_id != entry.pk_id || expected.vk_id != entry.vk_id {
        return Err(CeremonyError::Keys {
            path: path.to_path_buf(),
            why: format!(
                "the keys of {circuit} (proving key {}, verifying key {}) do not come from the \
                 ceremony transcript, whose last file {} gives proving key {} and verifying key {}",
                entry.pk_id,
                entry.vk_id,
                last.path.display(),
                expected.pk_id,
                expected.vk_id
            ),
        });
    }
    Ok(())
}

/// Installs a finalized ceremony's keys for `circuits` into a new key directory `out`: the
/// ceremony's `keys/` must hold every circuit; then the whole transcript is verified, as
/// `finalize` verified it (phase 1, the prepared file, each circuit's chain and beacon: the
/// directory may come from a coordinator nobody trusts), and each circuit's keys must be the
/// ones its verified phase 2 ends with. Otherwise the error lists what is missing, stage by
/// stage, or names the first refused step.
pub fn install(
    ceremony: &Ceremony,
    circuits: &[CircuitId],
    out: &Path,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Finalized, CeremonyError> {
    let keys_path = ceremony.keys_dir();
    let missing = |what: String| {
        let mut text = format!(
            "{what}. Where the ceremony in {} stands:",
            ceremony.dir().display()
        );
        for line in status(ceremony, circuits) {
            text.push_str("\n  ");
            text.push_str(&line);
        }
        CeremonyError::Missing(text)
    };
    if !keys_path.join(MANIFEST).exists() {
        return Err(missing(format!(
            "no finalized keys in {}",
            keys_path.display()
        )));
    }
    let dir = KeyDir::open(&keys_path).map_err(keys_error(&keys_path))?;
    let absent: Vec<String> = circuits
        .iter()
        .filter(|&&c| dir.entry(c).is_err())
        .map(|&c| circuit_name(c))
        .collect();
    if !absent.is_empty() {
        return Err(missing(format!(
            "{} has no keys for {}",
            keys_path.display(),
            absent.join(", ")
        )));
    }
    if out.join(MANIFEST).exists() {
        return Err(CeremonyError::Exists(out.join(MANIFEST)));
    }
    let p1 = phase1::verify(ceremony, progress)?;
    if !p1.closed {
        return Err(missing(
            "phase 1 is not closed by a beacon: run `zkcustoms ceremony phase1 beacon`".into(),
        ));
    }
    let mut keys = Vec::with_capacity(circuits.len());
    let mut phase2 = Vec::with_capacity(circuits.len());
    let mut source = Phase1Source::verified(ceremony, &p1);
    for &c in circuits {
        let verified = phase2::verify(&mut source, c, progress)?;
        if !verified.closed {
            return Err(not_closed(c, &verified.last));
        }
        // What is installed is rebuilt from the verified transcript (the keys, their ids, the
        // circuit's shape and the file names): nothing of the coordinator's manifest is copied.
        let (entry, vk, pk) = entry_for(c, &verified.last)?;
        check_keys_from_transcript(&dir, &keys_path, c, &entry, &verified.last)?;
        keys.push((entry, vk, pk));
        phase2.push((c, verified));
    }
    let manifest = write_key_dir(out, keys)?;
    Ok(Finalized {
        out: out.to_path_buf(),
        manifest,
        phase1: p1,
        phase2,
    })
}
