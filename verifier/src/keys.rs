//! Verifying keys and key directories.
//!
//! A verifying key's id is the SHA-256 of its canonical compressed bytes, which are exactly the
//! bytes of its key file. Proving keys are stored in their canonical uncompressed encoding (they
//! load in a fraction of a second instead of minutes) and their id is the SHA-256 of those bytes. A key directory holds one verifying and one proving key per circuit and a
//! `manifest.json` naming each file with its id; loading a key recomputes the id, so a corrupted,
//! truncated or swapped file is refused before any point is decoded.

use crate::VerifyError;
use ark_bls12_381::Bls12_381;
use ark_ec::AffineRepr;
use ark_groth16::PreparedVerifyingKey;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::{CircuitId, CircuitShape};

/// Name of the manifest in a key directory.
pub const MANIFEST: &str = "manifest.json";
/// Format tag of the manifest.
pub const MANIFEST_FORMAT: &str = "zkcustoms-keys/v1";

/// A key id: SHA-256 of the key file's canonical bytes (compressed for verifying keys,
/// uncompressed for proving keys).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// The id of a key's bytes.
    pub fn of(bytes: &[u8]) -> Self {
        KeyId(Sha256::digest(bytes).into())
    }

    /// Parses 64 hex digits.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s).map_err(|_| format!("key id {s:?} is not hex"))?;
        Ok(KeyId(bytes.try_into().map_err(|_| {
            format!("key id {s:?} must be 64 hex digits")
        })?))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        KeyId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest is not valid.
    #[error("key manifest {path} is not valid: {why}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The directory has no key for this circuit.
    #[error("key directory has no key for {0}")]
    Missing(CircuitId),
    /// The file's bytes do not hash to the id the manifest gives.
    #[error("key file {path} does not match its id (corrupted, truncated or replaced): expected {expected}, found {found}")]
    IdMismatch {
        /// The key file.
        path: PathBuf,
        /// The id in the manifest.
        expected: KeyId,
        /// The id of the file's bytes.
        found: KeyId,
    },
    /// The bytes are not a valid key (bad point, wrong length, trailing bytes).
    #[error("key file {path} is not a valid key: {why}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The key has the wrong number of public inputs for its circuit.
    #[error(
        "key {id} is not a key for {circuit}: it has {found} public inputs, the circuit {expected}"
    )]
    WrongCircuit {
        /// The key.
        id: KeyId,
        /// The circuit it was loaded for.
        circuit: CircuitId,
        /// Inputs the circuit has.
        expected: usize,
        /// Inputs the key has.
        found: usize,
    },
}

/// One circuit's entry in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Statement id.
    pub statement: String,
    /// Size class, for statements that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_class: Option<SizeClass>,
    /// Number of constraints of the circuit.
    pub constraints: usize,
    /// Hash of the circuit's constraint matrices.
    pub matrix_hash: String,
    /// Verifying-key file, relative to the directory.
    pub vk_file: String,
    /// Verifying-key id.
    pub vk_id: KeyId,
    /// Proving-key file, relative to the directory.
    pub pk_file: String,
    /// Proving-key id.
    pub pk_id: KeyId,
}

impl ManifestEntry {
    /// The entry of `circuit` (of shape `shape`) for its verifying key's canonical bytes and its
    /// proving key's uncompressed bytes, with the files named after the circuit.
    pub fn for_keys(
        circuit: CircuitId,
        shape: &CircuitShape,
        vk_bytes: &[u8],
        pk_bytes: &[u8],
    ) -> Self {
        let stem = circuit.file_stem();
        Self {
            statement: circuit.statement().into(),
            size_class: circuit.size_class(),
            constraints: shape.constraints,
            matrix_hash: shape.matrix_hash.clone(),
            vk_file: format!("{stem}.vk"),
            vk_id: KeyId::of(vk_bytes),
            pk_file: format!("{stem}.pk"),
            pk_id: KeyId::of(pk_bytes),
        }
    }

    /// The circuit of this entry.
    pub fn circuit(&self) -> Result<CircuitId, String> {
        CircuitId::from_parts(&self.statement, self.size_class)
    }
}

/// The manifest of a key directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// True for development keys made from a public seed: never for production.
    pub development: bool,
    /// One entry per circuit.
    pub keys: Vec<ManifestEntry>,
}

/// A key directory, with its manifest read and checked.
#[derive(Clone, Debug)]
pub struct KeyDir {
    dir: PathBuf,
    manifest: Manifest,
    entries: BTreeMap<CircuitId, ManifestEntry>,
}

/// The directory a file lies in: a bare file name's is the current one (its parent is "").
pub fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Syncs the directory `dir`, so that a name just made or renamed in it (a key file, a
/// manifest) survives a crash. On Unix; elsewhere a directory cannot be opened to sync it, and
/// this does nothing.
pub fn sync_directory(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    return std::fs::File::open(dir)?.sync_all();
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl KeyDir {
    /// Opens a key directory and reads its manifest.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, KeyError> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(MANIFEST);
        let bad = |why: String| KeyError::BadManifest {
            path: path.clone(),
            why,
        };
        let manifest: Manifest =
            serde_json::from_slice(&read(&path)?).map_err(|e| bad(e.to_string()))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(bad(format!("unknown format {:?}", manifest.format)));
        }
        let mut entries = BTreeMap::new();
        for e in &manifest.keys {
            let circuit = e.circuit().map_err(bad)?;
            for file in [&e.vk_file, &e.pk_file] {
                if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                    return Err(bad(format!("key file name {file:?} must be a plain name")));
                }
            }
            if entries.insert(circuit, e.clone()).is_some() {
                return Err(bad(format!("two entries for {circuit}")));
            }
        }
        Ok(Self {
            dir,
            manifest,
            entries,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The entry of a circuit.
    pub fn entry(&self, circuit: CircuitId) -> Result<&ManifestEntry, KeyError> {
        self.entries.get(&circuit).ok_or(KeyError::Missing(circuit))
    }

    /// The circuits this directory has keys for.
    pub fn circuits(&self) -> impl Iterator<Item = CircuitId> + '_ {
        self.entries.keys().copied()
    }

    /// Reads a key file and checks its bytes against the id in the manifest.
    pub fn read_checked(
        &self,
        file: &str,
        expected: KeyId,
    ) -> Result<(PathBuf, Vec<u8>), KeyError> {
        let path = self.dir.join(file);
        let bytes = read(&path)?;
        let found = KeyId::of(&bytes);
        if found != expected {
            return Err(KeyError::IdMismatch {
                path,
                expected,
                found,
            });
        }
        Ok((path, bytes))
    }

    /// Loads and checks the verifying key of a circuit.
    pub fn verifying_key(&self, circuit: CircuitId) -> Result<VerifyingKey, KeyError> {
        let e = self.entry(circuit)?;
        let (path, bytes) = self.read_checked(&e.vk_file, e.vk_id)?;
        VerifyingKey::from_bytes(circuit, &bytes).map_err(|err| match err {
            KeyError::Malformed { why, .. } => KeyError::Malformed { path, why },
            other => other,
        })
    }

    /// Loads every verifying key of the directory.
    pub fn verifying_keys(&self) -> Result<crate::VerifierKeys, KeyError> {
        let mut keys = crate::VerifierKeys::default();
        for circuit in self.circuits() {
            keys.insert(self.verifying_key(circuit)?);
        }
        Ok(keys)
    }
}

/// Decodes a value that must take up all of `bytes`; the error says what was wrong.
pub fn decode_exact<T: CanonicalDeserialize>(
    bytes: &[u8],
    compress: Compress,
    validate: Validate,
) -> Result<T, String> {
    let mut reader = bytes;
    let value =
        T::deserialize_with_mode(&mut reader, compress, validate).map_err(|e| e.to_string())?;
    if !reader.is_empty() {
        return Err(format!("{} trailing bytes", reader.len()));
    }
    Ok(value)
}

/// A verifying key of one circuit, prepared for verification.
#[derive(Clone)]
pub struct VerifyingKey {
    circuit: CircuitId,
    id: KeyId,
    pub(crate) pvk: PreparedVerifyingKey<Bls12_381>,
    blst: crate::blst_backend::BlstKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("circuit", &self.circuit)
            .field("id", &self.id)
            .finish()
    }
}

impl VerifyingKey {
    /// Decodes a key from its canonical compressed bytes, with full point validation, and checks
    /// that its number of public inputs is the circuit's.
    pub fn from_bytes(circuit: CircuitId, bytes: &[u8]) -> Result<Self, KeyError> {
        let malformed = |why: String| KeyError::Malformed {
            path: PathBuf::new(),
            why,
        };
        let vk: ark_groth16::VerifyingKey<Bls12_381> =
            decode_exact(bytes, Compress::Yes, Validate::Yes).map_err(malformed)?;
        let id = KeyId::of(bytes);
        let expected = circuit.num_public_inputs();
        let found = vk.gamma_abc_g1.len().saturating_sub(1);
        if found != expected {
            return Err(KeyError::WrongCircuit {
                id,
                circuit,
                expected,
                found,
            });
        }
        // Points the checks cannot do without: with gamma or delta at infinity, or delta equal
        // to gamma, `C` absorbs any change of the inputs' term (a proof for some inputs becomes
        // one for any other); an input base at infinity leaves its input unchecked.
        let at_infinity = vk.alpha_g1.is_zero()
            || vk.beta_g2.is_zero()
            || vk.gamma_g2.is_zero()
            || vk.delta_g2.is_zero()
            || vk.gamma_abc_g1.iter().any(|p| p.is_zero());
        if at_infinity {
            return Err(malformed(
                "a point of the key is the point at infinity".into(),
            ));
        }
        if vk.gamma_g2 == vk.delta_g2 {
            return Err(malformed(
                "delta is gamma: a key no setup made (proofs for any inputs would verify)".into(),
            ));
        }
        Ok(Self {
            circuit,
            id,
            blst: crate::blst_backend::BlstKey::new(&vk),
            pvk: ark_groth16::prepare_verifying_key(&vk),
        })
    }

    /// Canonical compressed bytes of an arkworks key (the bytes its id is computed over).
    pub fn canonical_bytes(vk: &ark_groth16::VerifyingKey<Bls12_381>) -> Vec<u8> {
        let mut out = Vec::with_capacity(vk.compressed_size());
        vk.serialize_compressed(&mut out)
            .expect("writing to a vector cannot fail");
        out
    }

    /// The circuit this key verifies.
    pub fn circuit(&self) -> CircuitId {
        self.circuit
    }

    /// The number of public inputs the key takes (its input bases less the constant's).
    pub fn num_inputs(&self) -> usize {
        self.pvk.vk.gamma_abc_g1.len() - 1
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The arkworks key.
    pub fn arkworks(&self) -> &ark_groth16::VerifyingKey<Bls12_381> {
        &self.pvk.vk
    }

    /// The key's constants for the blst path.
    pub(crate) fn blst(&self) -> &crate::blst_backend::BlstKey {
        &self.blst
    }

    /// The prepared arkworks key.
    pub fn prepared(&self) -> &PreparedVerifyingKey<Bls12_381> {
        &self.pvk
    }

    /// Checks that an envelope names this key.
    pub(crate) fn check_envelope_key(&self, vk_id: KeyId) -> Result<(), VerifyError> {
        if vk_id != self.id {
            return Err(VerifyError::WrongKey {
                expected: self.id,
                found: vk_id,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Affine, G2Affine};
    use rand::SeedableRng;

    type ArkKey = ark_groth16::VerifyingKey<Bls12_381>;
    type Change = fn(&mut ArkKey);

    #[test]
    fn a_bare_file_name_lies_in_the_current_directory() {
        assert_eq!(
            directory_of(std::path::Path::new("phase1.ptau")),
            std::path::Path::new(".")
        );
        assert_eq!(
            directory_of(std::path::Path::new("out/phase1.ptau")),
            std::path::Path::new("out")
        );
        assert_eq!(
            directory_of(std::path::Path::new("/phase1.ptau")),
            std::path::Path::new("/")
        );
        sync_directory(directory_of(std::path::Path::new("phase1.ptau"))).unwrap();
    }

    #[test]
    fn keys_no_setup_makes_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let circuit = CircuitId::AeoStatusV1;
        let good = crate::testing::random_key(circuit, &mut rng);
        let load =
            |vk: &ArkKey| VerifyingKey::from_bytes(circuit, &VerifyingKey::canonical_bytes(vk));
        assert!(load(&good).is_ok());
        let changes: [(&str, Change); 6] = [
            ("delta is gamma", |k| k.delta_g2 = k.gamma_g2),
            ("alpha at infinity", |k| k.alpha_g1 = G1Affine::zero()),
            ("beta at infinity", |k| k.beta_g2 = G2Affine::zero()),
            ("gamma at infinity", |k| k.gamma_g2 = G2Affine::zero()),
            ("delta at infinity", |k| k.delta_g2 = G2Affine::zero()),
            ("an input base at infinity", |k| {
                k.gamma_abc_g1[2] = G1Affine::zero()
            }),
        ];
        for (what, change) in changes {
            let mut vk = good.clone();
            change(&mut vk);
            let err = load(&vk).expect_err(what);
            assert!(matches!(err, KeyError::Malformed { .. }), "{what}: {err}");
        }
    }
}
