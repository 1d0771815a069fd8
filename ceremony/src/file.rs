//! Transcript files: their header, their place in a ceremony directory, and writing them once.
//!
//! Every file starts with this header (integers big-endian):
//!
//! ```text
//! magic          8   "ZKCCRMNY"
//! version        2   1
//! kind           1   1 phase-1 new, 2 phase-1 contribution, 3 phase-1 beacon, 4 prepared,
//!                    5 phase-2 new, 6 phase-2 contribution, 7 phase-2 beacon,
//!                    8 phase 1 imported from a snarkjs `.ptau` file
//! index          4   position in its chain (0: the initial file; prepared files: 0)
//! power          1   log2 of the phase-1 size, or of the evaluation domain
//! previous      32   SHA-256 of the whole previous file (zero for a new phase 1; for an
//!                    imported phase 1, SHA-256 of the `.ptau` file)
//! phase1        32   phase 2: SHA-256 of the prepared phase-1 file it is built on; else zero
//! contribution  32   SHA-256 of everything after the header
//! circuit      2+n   phase 2: the circuit (`aeo-status/v1`, `invoice-value/v1:4`); else empty
//! ```
//!
//! A ceremony directory holds `phase1/NNNN-KIND.ph1` (the phase-1 chain), `phase1/prepared-K.ph1`
//! (its Lagrange form for a domain of 2^K), `phase2/CIRCUIT/NNNN-KIND.ph2` (one chain per
//! circuit), an `.attestation.txt` beside each contribution, and `keys/` once finalized.

use crate::{CeremonyError, Fault, Stage, Step};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_verifier::keys::{directory_of, sync_directory};

/// First bytes of every transcript file.
pub const MAGIC: [u8; 8] = *b"ZKCCRMNY";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// The kind of a transcript file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The initial phase-1 parameters (every secret 1).
    Phase1New,
    /// A participant's phase-1 contribution.
    Phase1Contribution,
    /// The random beacon that closes phase 1.
    Phase1Beacon,
    /// Phase 1 in Lagrange form for one domain size.
    Prepared,
    /// A circuit's initial phase-2 key (delta 1).
    Phase2New,
    /// A participant's phase-2 contribution.
    Phase2Contribution,
    /// The random beacon that closes a circuit's phase 2.
    Phase2Beacon,
    /// Phase 1 imported from a snarkjs `.ptau` file, in place of the initial parameters.
    Phase1Import,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Phase1New => 1,
            Kind::Phase1Contribution => 2,
            Kind::Phase1Beacon => 3,
            Kind::Prepared => 4,
            Kind::Phase2New => 5,
            Kind::Phase2Contribution => 6,
            Kind::Phase2Beacon => 7,
            Kind::Phase1Import => 8,
        }
    }

    fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            1 => Kind::Phase1New,
            2 => Kind::Phase1Contribution,
            3 => Kind::Phase1Beacon,
            4 => Kind::Prepared,
            5 => Kind::Phase2New,
            6 => Kind::Phase2Contribution,
            7 => Kind::Phase2Beacon,
            8 => Kind::Phase1Import,
            _ => return None,
        })
    }

    /// The word in file names: `new`, `import`, `contribution`, `beacon` or `prepared`.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Phase1New | Kind::Phase2New => "new",
            Kind::Phase1Contribution | Kind::Phase2Contribution => "contribution",
            Kind::Phase1Beacon | Kind::Phase2Beacon => "beacon",
            Kind::Prepared => "prepared",
            Kind::Phase1Import => "import",
        }
    }

    /// Whether this is a beacon.
    pub fn is_beacon(self) -> bool {
        matches!(self, Kind::Phase1Beacon | Kind::Phase2Beacon)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match self {
            Kind::Phase1New
            | Kind::Phase1Import
            | Kind::Phase1Contribution
            | Kind::Phase1Beacon
            | Kind::Prepared => 1,
            _ => 2,
        };
        write!(f, "phase-{phase} {}", self.word())
    }
}

/// The header of a transcript file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The kind.
    pub kind: Kind,
    /// Position in its chain.
    pub index: u32,
    /// log2 of the phase-1 size or of the evaluation domain.
    pub power: u8,
    /// Phase 2: the circuit.
    pub circuit: Option<CircuitId>,
    /// SHA-256 of the previous file.
    pub previous: [u8; 32],
    /// Phase 2: SHA-256 of the prepared phase-1 file.
    pub phase1: [u8; 32],
    /// SHA-256 of the contents after the header.
    pub contribution: [u8; 32],
}

/// The name of a circuit in headers and on the command line: `aeo-status/v1`,
/// `invoice-value/v1:4`.
pub fn circuit_name(circuit: CircuitId) -> String {
    match circuit.size_class() {
        Some(c) => format!("{}:{}", circuit.statement(), c.lines()),
        None => circuit.statement().to_owned(),
    }
}

/// Parses [`circuit_name`]'s output.
pub fn parse_circuit_name(s: &str) -> Result<CircuitId, String> {
    let (statement, class) = match s.split_once(':') {
        Some((st, c)) => {
            let n: u32 = c
                .parse()
                .map_err(|_| format!("size class {c:?} is not a number"))?;
            (st, Some(SizeClass::try_from(n)?))
        }
        None => (s, None),
    };
    CircuitId::from_parts(statement, class)
}

/// SHA-256.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A transcript file: header fields and contents, ready to be written.
pub fn encode(
    kind: Kind,
    index: u32,
    power: u8,
    circuit: Option<CircuitId>,
    previous: [u8; 32],
    phase1: [u8; 32],
    body: &[u8],
) -> Vec<u8> {
    let name = circuit.map(circuit_name).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + 120 + name.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.push(kind.code());
    out.extend_from_slice(&index.to_be_bytes());
    out.push(power);
    out.extend_from_slice(&previous);
    out.extend_from_slice(&phase1);
    out.extend_from_slice(&sha256(body));
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a file into its header and contents, checking the magic, the version and that the
/// contents hash to the header's contribution hash.
pub fn decode(bytes: &[u8]) -> Result<(Header, &[u8]), Fault> {
    let mut r = crate::codec::Reader::new(bytes);
    let malformed = Fault::Malformed;
    if r.take(8, "magic").map_err(malformed)? != MAGIC {
        return Err(Fault::Malformed("not a zkcustoms ceremony file".into()));
    }
    let version = r.u16("version").map_err(malformed)?;
    if version != FORMAT_VERSION {
        return Err(Fault::Malformed(format!(
            "format version {version}, this program reads {FORMAT_VERSION}"
        )));
    }
    let code = r.u8("kind").map_err(malformed)?;
    let kind =
        Kind::from_code(code).ok_or_else(|| Fault::Malformed(format!("unknown kind {code}")))?;
    let index = r.u32("index").map_err(malformed)?;
    let power = r.u8("power").map_err(malformed)?;
    let previous = r.hash("previous hash").map_err(malformed)?;
    let phase1 = r.hash("phase-1 hash").map_err(malformed)?;
    let contribution = r.hash("contribution hash").map_err(malformed)?;
    let name = r.short_string("circuit").map_err(malformed)?;
    let circuit = if name.is_empty() {
        None
    } else {
        Some(parse_circuit_name(&name).map_err(Fault::Malformed)?)
    };
    let body = r.rest();
    if sha256(body) != contribution {
        return Err(Fault::Corrupted);
    }
    Ok((
        Header {
            kind,
            index,
            power,
            circuit,
            previous,
            phase1,
            contribution,
        },
        body,
    ))
}

/// A transcript file read from disk, its header checked against its contents.
#[derive(Clone)]
pub struct Loaded {
    /// Where it was read from.
    pub path: PathBuf,
    /// The header.
    pub header: Header,
    /// SHA-256 of the whole file.
    pub hash: [u8; 32],
    bytes: Vec<u8>,
    body_start: usize,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("hash", &hex::encode(self.hash))
            .finish_non_exhaustive()
    }
}

impl Loaded {
    /// Reads a file; `step` is the step it stands for, named in errors. Only a plain file is
    /// read (not a link, a device or a pipe), and no longer than its header's power allows
    /// ([`max_file_len`]): a transcript from someone else is read within bounds before any check.
    pub fn read(path: &Path, step: Step) -> Result<Loaded, CeremonyError> {
        let bytes = read_bounded(path, step)?;
        let (header, body) = decode(&bytes).map_err(|fault| refused(step, path, fault))?;
        let body_start = bytes.len() - body.len();
        Ok(Loaded {
            path: path.to_path_buf(),
            header,
            hash: sha256(&bytes),
            bytes,
            body_start,
        })
    }

    /// The contents after the header.
    pub fn body(&self) -> &[u8] {
        &self.bytes[self.body_start..]
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Longest header: the fixed fields and a circuit name of at most `u16::MAX` bytes.
const MAX_HEADER_LEN: u64 = 8 + 2 + 1 + 4 + 1 + 3 * 32 + 2 + u16::MAX as u64;
/// Offset of the power byte in a header.
const POWER_OFFSET: usize = 8 + 2 + 1 + 4;
/// Bytes allowed beside a file's points: records, proofs of knowledge, names, a beacon, and an
/// imported phase 1's contributions section ([`crate::ptau`] refuses a larger one).
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// The longest file of a power (log2 of its phase-1 size or evaluation domain): 64 uncompressed
/// G2 points per element of the domain, more than any file kind holds (a phase-1 file holds
/// about 3 G1 and 1 G2 point per element, a prepared file 4 G1 and 1 G2, a phase-2 key 4 G1
/// and 1 G2 per variable or element), and [`MAX_RECORD_BYTES`]. `None` above [`crate::MAX_POWER`].
pub fn max_file_len(power: u8) -> Option<u64> {
    (power <= crate::MAX_POWER).then(|| {
        MAX_HEADER_LEN + 64 * (1u64 << power) * crate::codec::G2_BYTES as u64 + MAX_RECORD_BYTES
    })
}

/// Reads a transcript file: a plain file (its directory entry, not where a link points),
/// the file opened the one checked, its length within [`max_file_len`] of its header's power.
fn read_bounded(path: &Path, step: Step) -> Result<Vec<u8>, CeremonyError> {
    use std::io::Read;
    let entry = std::fs::symlink_metadata(path).map_err(io(path))?;
    if !entry.file_type().is_file() {
        let fault = Fault::Malformed(
            "not a plain file (a link, a directory, a device or a pipe): a transcript holds \
             plain files only"
                .into(),
        );
        return Err(refused(step, path, fault));
    }
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let opened = f.metadata().map_err(io(path))?;
    #[cfg(unix)]
    let same = {
        use std::os::unix::fs::MetadataExt;
        (opened.dev(), opened.ino()) == (entry.dev(), entry.ino())
    };
    #[cfg(not(unix))]
    let same = opened.is_file();
    if !same {
        let fault = Fault::Malformed("the file was replaced while it was being opened".into());
        return Err(refused(step, path, fault));
    }
    let len = opened.len();
    let mut head = Vec::with_capacity(POWER_OFFSET + 1);
    (&mut f)
        .take(POWER_OFFSET as u64 + 1)
        .read_to_end(&mut head)
        .map_err(io(path))?;
    // A file too short for a power is refused by `decode`, which names what is missing.
    let max = match head.get(POWER_OFFSET) {
        Some(&power) => max_file_len(power).ok_or_else(|| {
            let fault = Fault::Malformed(format!(
                "power {power}: this program reads powers up to {}",
                crate::MAX_POWER
            ));
            refused(step, path, fault)
        })?,
        None => MAX_HEADER_LEN,
    };
    if len > max {
        let fault = Fault::Malformed(format!(
            "{len} bytes, more than a file of its power holds (at most {max})"
        ));
        return Err(refused(step, path, fault));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    bytes.extend_from_slice(&head);
    // Read no further than the bound, even if the file grows meanwhile.
    (&mut f)
        .take(max + 1 - head.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > max {
        let fault = Fault::Malformed(format!("the file grew past {max} bytes while being read"));
        return Err(refused(step, path, fault));
    }
    Ok(bytes)
}

/// The error for a refused file.
pub fn refused(step: Step, path: &Path, fault: Fault) -> CeremonyError {
    CeremonyError::Refused {
        step,
        file: path.to_path_buf(),
        fault,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CeremonyError + '_ {
    move |source| CeremonyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a new file atomically (a temporary file, synced, then linked into place), refusing to
/// replace an existing one.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CeremonyError> {
    let dir = directory_of(path);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if path.exists() {
        return Err(CeremonyError::Exists(path.to_path_buf()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The temporary name is unpredictable and created anew (`O_CREAT | O_EXCL`, which follows
    // no link): a link planted in a shared ceremony directory is never written through.
    let tmp = dir.join(format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }
    if let Err(e) = write_synced(&tmp, bytes) {
        // Only a file this call created is removed.
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&tmp);
        }
        return Err(io(&tmp)(e));
    }
    // A hard link never replaces an existing file, unlike a rename.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        // The new name is synced into its directory: a file once published (an attestation,
        // a contribution) survives a crash.
        Ok(()) => sync_directory(dir).map_err(io(dir)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(CeremonyError::Exists(path.to_path_buf()))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// [`write_new`], except that a file already holding exactly `bytes` is kept as it is: a run
/// cut short can be run again over what it wrote. Any other file there is refused.
pub fn write_new_or_same(path: &Path, bytes: &[u8]) -> Result<(), CeremonyError> {
    match std::fs::read(path) {
        Ok(held) if held == bytes => Ok(()),
        Ok(_) => Err(CeremonyError::Exists(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new(path, bytes),
        Err(e) => Err(io(path)(e)),
    }
}

/// A ceremony directory.
#[derive(Clone, Debug)]
pub struct Ceremony {
    dir: PathBuf,
}

impl Ceremony {
    /// The ceremony in `dir` (nothing is read yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Ceremony { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The phase-1 directory.
    pub fn phase1_dir(&self) -> PathBuf {
        self.dir.join("phase1")
    }

    /// The prepared phase 1 for a domain of 2^power.
    pub fn prepared_path(&self, power: u8) -> PathBuf {
        self.phase1_dir().join(format!("prepared-{power}.ph1"))
    }

    /// A circuit's phase-2 directory.
    pub fn phase2_dir(&self, circuit: CircuitId) -> PathBuf {
        self.dir.join("phase2").join(circuit.file_stem())
    }

    /// The directory `finalize` writes keys to by default.
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    /// The path of a chain file.
    pub fn chain_path(&self, stage: Stage, index: u32, kind: Kind) -> PathBuf {
        let (dir, ext) = match stage {
            Stage::Phase2(c) => (self.phase2_dir(c), "ph2"),
            _ => (self.phase1_dir(), "ph1"),
        };
        dir.join(format!("{index:04}-{}.{ext}", kind.word()))
    }

    /// The circuits that have a phase-2 directory, in key-generation order.
    pub fn phase2_circuits(&self) -> Vec<CircuitId> {
        CircuitId::ALL
            .into_iter()
            .filter(|&c| self.phase2_dir(c).is_dir())
            .collect()
    }

    /// The files of a chain in order (empty when it has not started); a missing or doubled step
    /// is refused.
    pub fn chain(&self, stage: Stage) -> Result<Vec<PathBuf>, CeremonyError> {
        let (dir, ext) = match stage {
            Stage::Phase2(c) => (self.phase2_dir(c), ".ph2"),
            _ => (self.phase1_dir(), ".ph1"),
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut files: Vec<(u32, PathBuf)> = Vec::new();
        for entry in entries {
            let path = entry.map_err(io(&dir))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(stem) = name.strip_suffix(ext) else {
                continue;
            };
            let Some((num, word)) = stem.split_once('-') else {
                continue;
            };
            if num.len() < 4 || !num.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if !["new", "import", "contribution", "beacon"].contains(&word) {
                continue;
            }
            let Ok(index) = num.parse::<u32>() else {
                continue;
            };
            files.push((index, path));
        }
        files.sort();
        for (i, (index, path)) in files.iter().enumerate() {
            let step = Step {
                stage,
                index: i as u32,
            };
            if *index != i as u32 {
                let fault = Fault::OutOfPlace {
                    expected: format!("step {i}"),
                    found: format!("step {index} (a step is missing or doubled)"),
                };
                return Err(refused(step, path, fault));
            }
        }
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }
}

/// The attestation a participant publishes (and signs with their party key) for a step; for a
/// beacon step, the statement of where its secrets come from, which anyone can check.
pub fn attestation(
    step: Step,
    participant: &str,
    beacon: Option<&crate::Beacon>,
    file: &Path,
    loaded: &Loaded,
) -> String {
    let statement = match beacon {
        None => "I contributed to this step with secret randomness from my operating system, \
                 which was\ndestroyed after use and never written to disk or shared.\n"
            .to_owned(),
        Some(b) => format!(
            "This step's secrets derive from the public beacon value {}\n\
             (2^{} iterations of SHA-256): anyone can recompute them, and `ceremony verify`\n\
             does.\n",
            hex::encode(&b.value),
            b.iterations_log2
        ),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "zkcustoms trusted-setup ceremony: attestation\n\
         step:              {step}\n\
         participant:       {participant}\n\
         file:              {name}\n\
         previous file:     {}\n\
         contribution hash: {}\n\
         file hash:         {}\n\n\
         {statement}",
        hex::encode(loaded.header.previous),
        hex::encode(loaded.header.contribution),
        hex::encode(loaded.hash),
    )
}

/// Writes the attestation beside a contribution file (`NNNN-KIND.attestation.txt`).
pub fn write_attestation(file: &Path, text: &str) -> Result<PathBuf, CeremonyError> {
    let path = file.with_extension("attestation.txt");
    write_new(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_checks_its_contents() {
        let circuit = CircuitId::InvoiceValueV1(SizeClass::Lines4);
        let bytes = encode(
            Kind::Phase2Contribution,
            3,
            13,
            Some(circuit),
            [1; 32],
            [2; 32],
            b"body",
        );
        let (h, body) = decode(&bytes).unwrap();
        assert_eq!(body, b"body");
        assert_eq!(h.kind, Kind::Phase2Contribution);
        assert_eq!((h.index, h.power), (3, 13));
        assert_eq!(h.circuit, Some(circuit));
        assert_eq!((h.previous, h.phase1), ([1; 32], [2; 32]));
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&bad).unwrap_err(), Fault::Corrupted);
        assert!(matches!(
            decode(&bytes[..20]).unwrap_err(),
            Fault::Malformed(_)
        ));
        let mut magic = bytes;
        magic[0] = b'X';
        assert!(matches!(decode(&magic).unwrap_err(), Fault::Malformed(_)));
    }

    #[test]
    fn circuit_names_round_trip() {
        for c in CircuitId::ALL {
            assert_eq!(parse_circuit_name(&circuit_name(c)).unwrap(), c);
        }
        assert!(parse_circuit_name("invoice-value/v1").is_err());
    }

    /// A link planted at the name a temporary file once had (the process id) is not written
    /// through: the file it points to keeps its bytes.
    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"mine").unwrap();
        let path = dir.path().join("0000-new.ph1");
        let planted = dir
            .path()
            .join(format!(".0000-new.ph1.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_new(&path, b"transcript").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
        assert_eq!(std::fs::read(&path).unwrap(), b"transcript");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    }

    /// Only plain files are read, and none longer than its header's power allows.
    #[test]
    fn only_plain_files_within_their_power_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let step = Step {
            stage: Stage::Phase1,
            index: 0,
        };
        let bytes = encode(Kind::Phase1New, 0, 1, None, [0; 32], [0; 32], b"body");
        let good = dir.path().join("0000-new.ph1");
        std::fs::write(&good, &bytes).unwrap();
        assert_eq!(Loaded::read(&good, step).unwrap().body(), b"body");
        let malformed = |path: &Path| match Loaded::read(path, step) {
            Err(CeremonyError::Refused {
                fault: Fault::Malformed(why),
                ..
            }) => why,
            other => panic!("{}: {other:?}", path.display()),
        };
        // A directory, and (on unix) a link to a good file.
        assert!(malformed(dir.path()).contains("not a plain file"));
        #[cfg(unix)]
        {
            let link = dir.path().join("0001-contribution.ph1");
            std::os::unix::fs::symlink(&good, &link).unwrap();
            assert!(malformed(&link).contains("not a plain file"));
        }
        // A file longer than any of its power (sparse: nothing is written past the header).
        let long = dir.path().join("long.ph1");
        std::fs::write(&long, &bytes).unwrap();
        let max = max_file_len(1).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&long)
            .unwrap()
            .set_len(max + 1)
            .unwrap();
        assert!(malformed(&long).contains("more than a file of its power holds"));
        // A power this program does not read.
        let high = dir.path().join("high.ph1");
        let over = crate::MAX_POWER + 1;
        std::fs::write(
            &high,
            encode(Kind::Phase1New, 0, over, None, [0; 32], [0; 32], b""),
        )
        .unwrap();
        assert!(malformed(&high).contains("powers up to"));
    }

    #[test]
    fn files_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/0000-new.ph1");
        write_new(&path, b"one").unwrap();
        assert!(matches!(
            write_new(&path, b"two"),
            Err(CeremonyError::Exists(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
