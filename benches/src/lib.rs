//! Shared set-up for the zkcustoms benchmarks: development keys made in a temporary directory,
//! loaded back the way the prover and verifier load them, with the example statement of each
//! circuit, and a fixed-seed RNG so that every run measures the same work.

pub mod table;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_statement;
use zkcustoms_prover::{ProverError, ProvingKey, Statement};
use zkcustoms_verifier::KeyDir;

/// The workspace's target directory: `CARGO_TARGET_DIR` (relative to the workspace, as cargo
/// reads it, not to the bench's working directory), else `target/`.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d,
        Some(d) => workspace.join(d),
        None => workspace.join("target"),
    }
}

/// A fixed-seed RNG, so every run measures the same work.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(2026)
}

/// Development keys for some circuits, in a temporary directory that lives as long as this
/// value.
#[derive(Debug)]
pub struct DevKeys {
    /// The key directory (removed on drop).
    pub dir: TempDir,
    /// One entry per circuit, in the order asked for.
    pub circuits: Vec<DevCircuit>,
}

/// One circuit's loaded keys and its example statement.
#[derive(Debug)]
pub struct DevCircuit {
    /// The circuit.
    pub circuit: CircuitId,
    /// Its proving key, loaded and checked against the manifest; it carries the verifying key,
    /// loaded with full validation.
    pub proving_key: ProvingKey,
    /// The example statement (`zkcustoms example`'s witness), in the circuit's size class.
    pub statement: Statement,
}

/// Makes development keys for `circuits` in a new temporary directory (deterministic: keys come
/// from the public development seed), loads them back, and builds each circuit's example
/// statement.
pub fn dev_keys(circuits: &[CircuitId]) -> Result<DevKeys, ProverError> {
    let dir = tempfile::tempdir().map_err(|source| ProverError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    setup_dev(dir.path(), circuits, |_| {})?;
    let key_dir = KeyDir::open(dir.path())?;
    let circuits = circuits
        .iter()
        .map(|&circuit| {
            Ok(DevCircuit {
                circuit,
                proving_key: ProvingKey::load(&key_dir, circuit)?,
                statement: example_statement(circuit)?,
            })
        })
        .collect::<Result<_, ProverError>>()?;
    Ok(DevKeys { dir, circuits })
}
