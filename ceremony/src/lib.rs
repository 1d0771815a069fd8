//! zkcustoms trusted-setup ceremony: production Groth16 keys that no single party can forge
//! proofs under.
//!
//! Two phases, as in Zcash's Powers of Tau and Sapling MPC (Bowe–Gabizon–Miers 2017):
//!
//! - **Phase 1** ([`phase1`]) is universal: powers of a secret tau in G1 and G2, and the same
//!   powers times secrets alpha and beta. Each participant multiplies every element by fresh
//!   secrets and proves knowledge of them; a public random beacon closes the phase. [`prepare`]
//!   then turns the powers into the Lagrange basis of one evaluation domain.
//! - **Phase 2** ([`phase2`]) is per circuit: the Groth16 key of the circuit is computed from
//!   the prepared phase 1 with delta = 1; each participant multiplies delta by a fresh secret
//!   (and divides the key's H and L queries by it) with a proof of knowledge; a beacon closes it.
//!   [`finalize`] writes the ordinary key directory that `--dev` setup writes.
//!
//! The transcript ([`file`]) is a sequence of files, each naming the hash of the file it builds
//! on, written once and never overwritten. Verification replays every step: proofs of knowledge,
//! that each file derives from the previous one, and that the final key is exactly the circuit's.
//! One honest participant (whose secrets were destroyed) makes the final key sound.

#![deny(missing_docs)]

pub mod beacon;
pub mod codec;
pub mod curve;
pub mod file;
pub mod finalize;
pub mod phase1;
pub mod phase2;
pub mod pok;
pub mod powers;
pub mod prepare;
pub mod ptau;
pub mod r1cs;
pub mod record;
pub mod secrets;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zkcustoms_circuits::CircuitId;

pub use beacon::Beacon;
pub use file::{Ceremony, Kind};
pub use secrets::Entropy;

/// The largest phase-1 size: 2^28 powers (BLS12-381's scalar field has 2-adicity 32).
pub const MAX_POWER: u8 = 28;

/// A stage of the ceremony: phase 1, its preparation for one domain size, or one circuit's phase 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Phase 1 (powers of tau).
    Phase1,
    /// The Lagrange form of phase 1 for a domain of 2^power.
    Prepared(u8),
    /// Phase 2 of a circuit.
    Phase2(CircuitId),
}

/// One step of a transcript: its stage and its position in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The stage.
    pub stage: Stage,
    /// Position in the stage's chain (0 for the initial file).
    pub index: u32,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.stage {
            Stage::Phase1 => write!(f, "phase 1 step {}", self.index),
            Stage::Prepared(p) => write!(f, "phase 1 preparation for 2^{p}"),
            Stage::Phase2(c) => write!(f, "phase 2 of {c} step {}", self.index),
        }
    }
}

/// Why a transcript file is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// Not a ceremony file of this format, truncated, trailing bytes, or a point off the curve or
    /// outside the prime-order subgroup.
    #[error("malformed file: {0}")]
    Malformed(String),
    /// The contents do not hash to the contribution hash in the header.
    #[error("corrupted file: its contents do not match the contribution hash in its header")]
    Corrupted,
    /// The header's kind, position or size is not the file's place in the transcript.
    #[error("out of place: expected {expected}, found {found}")]
    OutOfPlace {
        /// What the transcript expects here.
        expected: String,
        /// What the file says.
        found: String,
    },
    /// The file does not build on the previous file of the transcript.
    #[error(
        "does not build on the previous file: it names {found}, the previous file is {expected}"
    )]
    NotChained {
        /// Hash of the previous file.
        expected: String,
        /// Hash the file names.
        found: String,
    },
    /// A phase-2 file of another circuit.
    #[error("a file of circuit {found}, not {expected}")]
    OtherCircuit {
        /// The circuit of this transcript.
        expected: String,
        /// The circuit the file names.
        found: String,
    },
    /// A phase-2 file built on another phase 1.
    #[error(
        "built on another phase 1: it names prepared file {found}, this ceremony's is {expected}"
    )]
    OtherPhase1 {
        /// Hash of this ceremony's prepared phase 1.
        expected: String,
        /// Hash the file names.
        found: String,
    },
    /// A proof of knowledge of a secret does not verify.
    #[error("the proof of knowledge of the {0} secret does not verify")]
    InvalidProof(&'static str),
    /// Elements do not follow from the previous file with the proven secret.
    #[error("the {0} do not follow from the previous file with the proven secret")]
    NotDerived(&'static str),
    /// The file's elements are not consistent among themselves.
    #[error("inconsistent parameters: {0}")]
    Inconsistent(&'static str),
    /// Something follows a beacon, which closes its stage.
    #[error("the beacon at step {0} closed this stage: nothing may follow it")]
    AfterBeacon(u32),
    /// A beacon step whose secret is not the one its stated beacon value gives.
    #[error("the beacon's secret is not the one derived from its stated value")]
    BeaconMismatch,
    /// A beacon closing a stage no participant contributed to: a beacon's secrets are public, so
    /// anyone could recompute the stage's secrets and forge proofs under its keys.
    #[error(
        "a beacon closes a stage no participant contributed to: its secrets are public, so \
         anyone could forge proofs under keys from it"
    )]
    NobodyContributed,
    /// A phase-2 key whose circuit-dependent part is not the circuit's.
    #[error("the key does not match the circuit's constraint system: {0}")]
    NotTheCircuit(&'static str),
}

/// Errors of the ceremony.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file exists already; ceremony files are written once and never replaced.
    #[error("{0} exists already: ceremony files are never overwritten")]
    Exists(PathBuf),
    /// A transcript file is refused.
    #[error("{step}: {file} refused: {fault}")]
    Refused {
        /// The step.
        step: Step,
        /// The file.
        file: PathBuf,
        /// What is wrong.
        fault: Fault,
    },
    /// A step that must come first has not been done; the message says which.
    #[error("{0}")]
    Missing(String),
    /// An argument is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Phase 1 is smaller than a circuit's evaluation domain.
    #[error(
        "phase 1 of 2^{have} is too small for a circuit whose domain is 2^{need}: a phase 1 of at \
         least 2^{need} is needed"
    )]
    TooSmall {
        /// log2 of phase 1's size.
        have: u8,
        /// log2 of the circuit's domain.
        need: u8,
    },
    /// The circuit could not be synthesized.
    #[error("cannot synthesize {circuit}: {why}")]
    Synthesis {
        /// The circuit.
        circuit: CircuitId,
        /// The cause.
        why: String,
    },
    /// A snarkjs `.ptau` file is refused: malformed, for another curve, a bad point, or powers
    /// that are not consistent. Nothing was written.
    #[error("{}: {}{why}", .file.display(), .section.as_ref().map(|s| format!("{s}: ")).unwrap_or_default())]
    PtauRefused {
        /// The file.
        file: PathBuf,
        /// The section at fault, when one is.
        section: Option<String>,
        /// What is wrong.
        why: String,
    },
    /// A key directory does not hold the transcript's keys.
    #[error("key directory {path}: {why}")]
    Keys {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

impl CeremonyError {
    /// The fault, when a transcript file was refused.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            CeremonyError::Refused { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The refused step, when a transcript file was refused.
    pub fn step(&self) -> Option<Step> {
        match self {
            CeremonyError::Refused { step, .. } => Some(*step),
            _ => None,
        }
    }
}

/// What a long operation reports, for a progress display.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A part starts; when it counts its work, the meter it counts on (read it from another
    /// thread while the part runs to draw a progress bar).
    Started(&'a str, Option<&'a Arc<Meter>>),
    /// A part finished after this time.
    Finished(&'a str, Duration),
}

/// How far a part has got: units done out of a total, counted by the threads doing the work.
#[derive(Debug, Default)]
pub struct Meter {
    done: AtomicU64,
    total: u64,
}

impl Meter {
    /// A meter for `total` units of work.
    pub fn new(total: u64) -> Meter {
        Meter {
            done: AtomicU64::new(0),
            total,
        }
    }

    /// Units of work done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Units of work in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts `n` more units done.
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// A receiver of progress events.
pub type Progress<'p> = &'p mut dyn FnMut(Event<'_>);

/// Runs `f` between a start and a finish event.
pub(crate) fn timed<T>(
    progress: &mut dyn FnMut(Event<'_>),
    what: &str,
    f: impl FnOnce() -> T,
) -> T {
    progress(Event::Started(what, None));
    let start = Instant::now();
    let out = f();
    progress(Event::Finished(what, start.elapsed()));
    out
}

/// Verifies a stage with [`Depth::Linked`]; when that refuses a file of the stage, walks again
/// with [`Depth::EveryFile`] so that the refusal names the first bad step (the full walk checks
/// everything the linked one does, so it fails too).
pub(crate) fn linked_or_blame<T>(
    progress: &mut dyn FnMut(Event<'_>),
    stage: Stage,
    name: &str,
    mut walk: impl FnMut(Depth, &mut dyn FnMut(Event<'_>)) -> Result<T, CeremonyError>,
) -> Result<T, CeremonyError> {
    match walk(Depth::Linked, &mut *progress) {
        Err(linked) if linked.step().is_some_and(|s| s.stage == stage) => {
            let what =
                format!("{name} does not verify: checking every file to find the first bad step");
            let full = around(progress, &what, |progress| walk(Depth::EveryFile, progress));
            Err(full.err().unwrap_or(linked))
        }
        other => other,
    }
}

/// Runs `f`, which reports progress of its own, between a start and a finish event.
pub(crate) fn around<T>(
    progress: &mut dyn FnMut(Event<'_>),
    what: &str,
    f: impl FnOnce(&mut dyn FnMut(Event<'_>)) -> T,
) -> T {
    progress(Event::Started(what, None));
    let start = Instant::now();
    let out = f(&mut *progress);
    progress(Event::Finished(what, start.elapsed()));
    out
}

/// Runs `f`, which counts `total` units of work on the meter it is given, between a start and a
/// finish event.
pub(crate) fn metered<T>(
    progress: &mut dyn FnMut(Event<'_>),
    what: &str,
    total: usize,
    f: impl FnOnce(&Meter) -> T,
) -> T {
    let meter = Arc::new(Meter::new(total as u64));
    progress(Event::Started(what, Some(&meter)));
    let start = Instant::now();
    let out = f(&meter);
    progress(Event::Finished(what, start.elapsed()));
    out
}

/// How much of each transcript file a verification decodes and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Every step's header, chain link, record and proofs of knowledge, and the elements the
    /// proofs speak of (tau, alpha and beta in G1; delta); the last file in full, and phase 1's
    /// first (the generators, or the imported powers). This suffices for the last file's soundness: it is checked to be consistent (phase 1:
    /// powers of one tau, alpha and beta; phase 2: the circuit's key for its delta), and its
    /// secrets are the product of the ones every step proved knowledge of, so one honest
    /// participant's secret is in them.
    Linked,
    /// Every file in full: every point validated and every file checked on its own, so that a
    /// bad file is named even where a later step covers it.
    EveryFile,
}

/// What a verification found at one step.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// The file.
    pub file: PathBuf,
    /// Its kind.
    pub kind: Kind,
    /// The participant's name (`beacon` for a beacon, empty for initial and prepared files).
    pub participant: String,
    /// SHA-256 of the file's contents after the header (the contribution hash).
    pub contribution_hash: [u8; 32],
    /// SHA-256 of the whole file: the hash the next file names and attestations quote.
    pub file_hash: [u8; 32],
    /// For a phase 1 imported from a `.ptau` file: where it came from and what the file lists.
    pub imported: Option<String>,
    /// Whether the file was decoded and checked in full (every point validated), or only its
    /// header, record, proofs and the elements they speak of.
    pub in_full: bool,
}
