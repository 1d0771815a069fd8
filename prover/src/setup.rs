//! Development key setup: deterministic Groth16 keys from a public seed, one pair per circuit.
//!
//! Anyone can recompute these keys and their toxic waste, so anyone can forge proofs under them:
//! they exist for development, tests and demonstrations only. Production keys come from a
//! multi-party ceremony in which no single party learns the toxic waste.

use crate::ProverError;
use ark_bls12_381::Bls12_381;
use ark_groth16::Groth16;
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};
use zkcustoms_circuits::{declaration_match, invoice_value, CircuitId};
use zkcustoms_verifier::keys::{Manifest, ManifestEntry, MANIFEST, MANIFEST_FORMAT};
use zkcustoms_verifier::{KeyId, VerifyingKey};

/// The public seed of development keys.
pub const DEV_SEED: &str = "zkcustoms development keys v1 - NOT FOR PRODUCTION";

/// Progress of a setup run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SetupEvent {
    /// Key generation for a circuit starts.
    Started {
        /// Position (1-based).
        index: usize,
        /// Number of circuits.
        total: usize,
        /// The circuit.
        circuit: CircuitId,
        /// Its number of constraints.
        constraints: usize,
    },
    /// Keys for a circuit were written.
    Finished {
        /// The circuit.
        circuit: CircuitId,
        /// Verifying key id.
        vk_id: KeyId,
        /// Proving key size in bytes.
        pk_bytes: usize,
        /// Time taken.
        elapsed: Duration,
    },
}

/// Writes `name` in `dir` whole (a temporary file, synced, renamed into place, the directory
/// synced). Unless `replace`, a file already there is kept if it holds `bytes` (development keys
/// are made from a public seed: a run cut short made the same) and refused otherwise: it may
/// be a key of a ceremony whose installation was cut short before its manifest.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8], replace: bool) -> Result<(), ProverError> {
    let path = dir.join(name);
    if !replace {
        match std::fs::read(&path) {
            Ok(held) if held == bytes => return Ok(()),
            Ok(_) => return Err(ProverError::NotDevelopment(dir.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ProverError::Io { path, source }),
        }
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |source| ProverError::Io {
        path: path.clone(),
        source,
    };
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    // The new name is made durable: the manifest, written last, is never left naming files a
    // crash then loses.
    zkcustoms_verifier::keys::sync_directory(dir).map_err(io)
}

/// The development manifest in `out`, if any, refusing a directory whose manifest is not that of
/// development keys (production keys, or a manifest that does not read): development keys are
/// never written over them.
fn development_manifest(out: &Path) -> Result<Option<Manifest>, ProverError> {
    let path = out.join(MANIFEST);
    let text = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        read => read.map_err(|source| ProverError::Io {
            path: path.clone(),
            source,
        })?,
    };
    match serde_json::from_slice::<Manifest>(&text) {
        Ok(m) if m.development => Ok(Some(m)),
        _ => Err(ProverError::NotDevelopment(out.to_path_buf())),
    }
}

/// The deterministic RNG for one circuit's development keys.
fn dev_rng(circuit: CircuitId) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(DEV_SEED.as_bytes());
    h.update(circuit.file_stem().as_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// Makes development keys for `circuits` in `out` and writes the manifest (last, so that a
/// directory with a manifest is complete). The keys of other circuits already in a development
/// manifest there are kept, so that circuits can be added one run at a time. Keys are never written over other keys
/// ([`ProverError::NotDevelopment`]): a directory whose manifest is not that of development
/// keys is refused, and in one without a manifest, a key file that holds another key.
pub fn setup_dev(
    out: &Path,
    circuits: &[CircuitId],
    mut progress: impl FnMut(SetupEvent),
) -> Result<Manifest, ProverError> {
    let existing = development_manifest(out)?;
    let replace = existing.is_some();
    std::fs::create_dir_all(out).map_err(|source| ProverError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let synth = |e: ark_relations::gr1cs::SynthesisError| ProverError::Synthesis(e.to_string());
    let mut keys: Vec<ManifestEntry> = existing
        .map(|m| m.keys)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.circuit().map_or(true, |c| !circuits.contains(&c)))
        .collect();
    for (i, &circuit) in circuits.iter().enumerate() {
        let start = Instant::now();
        let shape = circuit.shape().map_err(synth)?;
        progress(SetupEvent::Started {
            index: i + 1,
            total: circuits.len(),
            circuit,
            constraints: shape.constraints,
        });
        let mut rng = dev_rng(circuit);
        let (pk, vk) = match circuit {
            CircuitId::AeoStatusV1 => Groth16::<Bls12_381>::circuit_specific_setup(
                zkcustoms_circuits::registry::aeo_status_dummy(),
                &mut rng,
            ),
            CircuitId::InvoiceValueV1(class) => {
                Groth16::<Bls12_381>::circuit_specific_setup(invoice_value::dummy(class), &mut rng)
            }
            CircuitId::DeclarationMatchV1(class) => Groth16::<Bls12_381>::circuit_specific_setup(
                declaration_match::dummy(class),
                &mut rng,
            ),
        }
        .map_err(synth)?;
        let vk_bytes = VerifyingKey::canonical_bytes(&vk);
        // Proving keys are stored uncompressed: they load in a fraction of a second, where
        // decompressing and validating millions of points takes minutes (see `ProvingKey::load`).
        let mut pk_bytes = Vec::with_capacity(pk.uncompressed_size());
        pk.serialize_uncompressed(&mut pk_bytes)
            .expect("writing to a vector cannot fail");
        let entry = ManifestEntry::for_keys(circuit, &shape, &vk_bytes, &pk_bytes);
        write_atomic(out, &entry.vk_file, &vk_bytes, replace)?;
        write_atomic(out, &entry.pk_file, &pk_bytes, replace)?;
        progress(SetupEvent::Finished {
            circuit,
            vk_id: entry.vk_id,
            pk_bytes: pk_bytes.len(),
            elapsed: start.elapsed(),
        });
        keys.push(entry);
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        development: true,
        keys,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
    write_atomic(out, MANIFEST, text.as_bytes(), true)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(development: bool) -> Vec<u8> {
        serde_json::to_vec(&Manifest {
            format: MANIFEST_FORMAT.into(),
            development,
            keys: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn development_keys_are_never_written_over_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST);
        for other in [manifest(false), b"{ not a manifest".to_vec()] {
            std::fs::write(&path, &other).unwrap();
            let e = setup_dev(dir.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap_err();
            assert!(matches!(e, ProverError::NotDevelopment(_)), "{e}");
            assert_eq!(std::fs::read(&path).unwrap(), other);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Without a manifest (a ceremony's installation cut short before it), a key file that
        // holds another key is not replaced either.
        std::fs::remove_file(&path).unwrap();
        let vk = dir
            .path()
            .join(format!("{}.vk", CircuitId::AeoStatusV1.file_stem()));
        std::fs::write(&vk, b"a ceremony's key").unwrap();
        let e = setup_dev(dir.path(), &[CircuitId::AeoStatusV1], |_| {}).unwrap_err();
        assert!(matches!(e, ProverError::NotDevelopment(_)), "{e}");
        assert_eq!(std::fs::read(&vk).unwrap(), b"a ceremony's key");
        assert!(!path.exists());
        std::fs::remove_file(&vk).unwrap();
        // Development keys are made again over development keys.
        std::fs::write(&path, manifest(true)).unwrap();
        let made = setup_dev(dir.path(), &[], |_| {}).unwrap();
        assert!(made.development);
        assert!(!dir.path().join(format!(".{MANIFEST}.tmp")).exists());
    }

    #[test]
    fn a_later_run_adds_to_the_development_keys_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let aeo = CircuitId::AeoStatusV1;
        let first = setup_dev(dir.path(), &[aeo], |_| {}).unwrap();
        // A run for other circuits (none here) keeps the first run's key in the manifest.
        let second = setup_dev(dir.path(), &[], |_| {}).unwrap();
        assert_eq!(second.keys.len(), 1);
        assert_eq!(second.keys[0].vk_id, first.keys[0].vk_id);
        // The same circuit again replaces its entry rather than adding a second one.
        let third = setup_dev(dir.path(), &[aeo], |_| {}).unwrap();
        assert_eq!(third.keys.len(), 1);
        let keys = zkcustoms_verifier::KeyDir::open(dir.path()).unwrap();
        assert_eq!(keys.circuits().collect::<Vec<_>>(), vec![aeo]);
        assert!(keys.entry(aeo).is_ok());
    }
}
