//! snarkjs's powers-of-tau file (`.ptau`) for BLS12-381: reading one with every byte checked,
//! and writing one that snarkjs reads. [`crate::phase1::ptau_steps`] imports one as the start of
//! phase 1 and exports phase 1 as one.
//!
//! The layout, as snarkjs 0.7 writes it (`src/powersoftau_new.js`, `src/powersoftau_utils.js`,
//! `@iden3/binfileutils`); integers are little-endian:
//!
//! ```text
//! magic     4   "ptau"
//! version   4   1
//! sections  4   their number, then each: type (4), size (8), contents
//!  1 header          n8 (4) = 48, the base field's prime q (n8 bytes), power (4),
//!                    power of the ceremony the file comes from (4)
//!  2 tauG1           2·2^power - 1 G1 points: tau^i·G1
//!  3 tauG2           2^power G2 points: tau^i·G2
//!  4 alphaTauG1      2^power G1 points: alpha·tau^i·G1
//!  5 betaTauG1       2^power G1 points: beta·tau^i·G1
//!  6 betaG2          1 G2 point: beta·G2
//!  7 contributions   their number (4), then each contribution (below)
//! 12-15              only after `snarkjs powersoftau prepare phase2`: sections 2 to 5 in
//!                    Lagrange form for every domain up to 2^power (section 12 up to 2^(power+1))
//! ```
//!
//! A point is its affine x then y, each a base-field element in Montgomery form (times 2^384
//! modulo q) as 48 little-endian bytes, so 96 bytes in G1; a G2 coordinate is c0 then c1, so 192
//! bytes in G2 (ffjavascript's `toRprLEM`). snarkjs writes the point at infinity as zeros; no
//! powers-of-tau file holds one, and this reader refuses it.
//!
//! A contribution: tauG1, tauG2, alphaG1, betaG1 and betaG2 as the contribution left them; its
//! public key (s and s·x in G1 for tau, alpha and beta, then r·x in G2 for each); a BLAKE2b state
//! (216 bytes); the next challenge hash (64); its type (4: 0 a contribution, 1 a beacon); its
//! parameters: their length (4), then entries in increasing type order: 1 the name (1 + n
//! bytes), 2 log2 of the beacon's iterations (1), 3 the beacon's hash (1 + n bytes).

mod contributions;
mod points;

pub use contributions::parse_contributions;
use points::{g1_from_lem, g1_to_lem, g2_from_lem, g2_to_lem, montgomery_r};

use crate::codec::{G1_BYTES, G2_BYTES};
use crate::powers::Phase1;
use crate::{CeremonyError, MAX_POWER};
use ark_bls12_381::{Fq, G1Affine, G2Affine};
use ark_ff::{BigInteger, Field, PrimeField};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The first bytes of a `.ptau` file.
pub const MAGIC: [u8; 4] = *b"ptau";
/// The version snarkjs writes and this code reads.
pub const VERSION: u32 = 1;
/// Bytes of a base-field element.
pub const N8: usize = 48;

/// The section types.
const HEADER: u32 = 1;
const TAU_G1: u32 = 2;
const TAU_G2: u32 = 3;
const ALPHA_TAU_G1: u32 = 4;
const BETA_TAU_G1: u32 = 5;
const BETA_G2: u32 = 6;
const CONTRIBUTIONS: u32 = 7;
const LAGRANGE: [u32; 4] = [12, 13, 14, 15];

/// BN254's base-field prime (snarkjs's `bn128`), recognised to name it in the refusal.
const BN128_Q: &str =
    "21888242871839275222246405745257275088696311157297823662689037894645226208583";

/// Bytes of one contribution before its parameters.
const CONTRIBUTION_FIXED: usize =
    3 * G1_BYTES + 2 * G2_BYTES + 6 * G1_BYTES + 3 * G2_BYTES + 216 + 64 + 4 + 4;

/// The name snarkjs gives a section, with its type, for messages.
pub fn section_name(id: u32) -> String {
    let name = match id {
        HEADER => "header",
        TAU_G1 => "tauG1",
        TAU_G2 => "tauG2",
        ALPHA_TAU_G1 => "alphaTauG1",
        BETA_TAU_G1 => "betaTauG1",
        BETA_G2 => "betaG2",
        CONTRIBUTIONS => "contributions",
        12 => "Lagrange tauG1",
        13 => "Lagrange tauG2",
        14 => "Lagrange alphaTauG1",
        15 => "Lagrange betaTauG1",
        _ => return format!("type {id}"),
    };
    format!("{name} (section {id})")
}

/// One contribution listed in a `.ptau` file. Its proofs of knowledge are snarkjs's (BLAKE2b
/// challenges hashed onto G2) and are not checked here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauContribution {
    /// The name the contributor gave (empty when none).
    pub name: String,
    /// For a beacon: its hash and log2 of its iterations.
    pub beacon: Option<(Vec<u8>, u8)>,
    /// The challenge hash snarkjs computed after it.
    pub next_challenge: [u8; 64],
    /// tau·G1 after it.
    pub tau_g1: G1Affine,
    /// tau·G2 after it.
    pub tau_g2: G2Affine,
    /// alpha·G1 after it.
    pub alpha_g1: G1Affine,
    /// beta·G1 after it.
    pub beta_g1: G1Affine,
    /// beta·G2 after it.
    pub beta_g2: G2Affine,
}

/// A `.ptau` file read and validated: the powers up to the size asked for, and what it lists.
#[derive(Clone, Debug)]
pub struct Ptau {
    /// log2 of the file's size.
    pub power: u8,
    /// log2 of the size of the ceremony the file comes from (larger when it was cut down).
    pub ceremony_power: u8,
    /// The powers, cut down to the size asked for (every point checked).
    pub params: Phase1,
    /// The contributions it lists.
    pub contributions: Vec<PtauContribution>,
    /// The contributions section, verbatim.
    pub contributions_section: Vec<u8>,
    /// Whether it holds snarkjs's Lagrange sections (12 to 15), which are not read.
    pub lagrange: bool,
    /// SHA-256 of the whole file.
    pub sha256: [u8; 32],
    /// The file's size in bytes.
    pub len: u64,
}

/// Why a `.ptau` file is refused: the section at fault (if any) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauFault {
    /// The section, as [`section_name`] names it.
    pub section: Option<String>,
    /// What is wrong.
    pub why: String,
}

impl PtauFault {
    fn file(why: impl Into<String>) -> Self {
        PtauFault {
            section: None,
            why: why.into(),
        }
    }

    fn in_section(id: u32, why: impl Into<String>) -> Self {
        PtauFault {
            section: Some(section_name(id)),
            why: why.into(),
        }
    }

    /// The error naming the file.
    pub fn into_error(self, file: &Path) -> CeremonyError {
        CeremonyError::PtauRefused {
            file: file.to_path_buf(),
            section: self.section,
            why: self.why,
        }
    }
}

/// A section found in the file's table.
#[derive(Clone, Copy, Debug)]
struct Section {
    offset: u64,
    size: u64,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> CeremonyError + '_ {
    move |source| CeremonyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_at<R: Read + Seek>(file: &mut R, s: Section, n: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(s.offset))?;
    let mut buf = vec![0u8; n as usize];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

pub(crate) fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

/// The expected size of each section of a file of 2^power (Lagrange sections separately).
fn expected_size(id: u32, power: u8) -> u64 {
    let n = 1u64 << power;
    let (g1, g2) = (G1_BYTES as u64, G2_BYTES as u64);
    match id {
        TAU_G1 => (2 * n - 1) * g1,
        TAU_G2 => n * g2,
        ALPHA_TAU_G1 | BETA_TAU_G1 => n * g1,
        BETA_G2 => g2,
        12 => (4 * n - 1) * g1,
        13 => (2 * n - 1) * g2,
        14 | 15 => (2 * n - 1) * g1,
        _ => unreachable!("sizes of fixed sections only"),
    }
}

/// Reads the section table: magic, version, every section inside the file, no trailing bytes,
/// each known section exactly once.
fn read_table<R: Read + Seek>(
    file: &mut R,
    len: u64,
) -> Result<std::collections::BTreeMap<u32, Section>, PtauFault> {
    let mut head = [0u8; 12];
    if len < 12 {
        return Err(PtauFault::file(format!(
            "truncated: {len} bytes, a .ptau file starts with 12"
        )));
    }
    file.read_exact(&mut head)
        .map_err(|e| PtauFault::file(e.to_string()))?;
    if head[..4] != MAGIC {
        return Err(PtauFault::file(
            "not a snarkjs .ptau file: it does not start with \"ptau\"",
        ));
    }
    let version = u32_le(&head[4..]);
    if version != VERSION {
        return Err(PtauFault::file(format!(
            "format version {version}, this program reads version {VERSION}"
        )));
    }
    let count = u32_le(&head[8..]);
    let mut pos = 12u64;
    let mut sections = std::collections::BTreeMap::new();
    for i in 0..count {
        if len - pos < 12 {
            return Err(PtauFault::file(format!(
                "truncated: the file announces {count} sections and ends after {i}"
            )));
        }
        let mut entry = [0u8; 12];
        file.read_exact(&mut entry)
            .map_err(|e| PtauFault::file(e.to_string()))?;
        let id = u32_le(&entry);
        let size = u64::from_le_bytes(entry[4..].try_into().expect("8 bytes"));
        pos += 12;
        if !(HEADER..=CONTRIBUTIONS).contains(&id) && !LAGRANGE.contains(&id) {
            return Err(PtauFault::file(format!(
                "section type {id} at offset {} is not a powers-of-tau section",
                pos - 12
            )));
        }
        if size > len - pos {
            return Err(PtauFault::in_section(
                id,
                format!(
                    "truncated: {size} bytes announced at offset {pos}, the file has {} left",
                    len - pos
                ),
            ));
        }
        if sections.insert(id, Section { offset: pos, size }).is_some() {
            return Err(PtauFault::in_section(id, "appears twice"));
        }
        pos += size;
        file.seek(SeekFrom::Start(pos))
            .map_err(|e| PtauFault::file(e.to_string()))?;
    }
    if pos != len {
        return Err(PtauFault::file(format!(
            "{} trailing bytes after the last section",
            len - pos
        )));
    }
    for id in HEADER..=CONTRIBUTIONS {
        if !sections.contains_key(&id) {
            return Err(PtauFault::in_section(id, "missing"));
        }
    }
    let lagrange = LAGRANGE
        .iter()
        .filter(|id| sections.contains_key(id))
        .count();
    if lagrange != 0 && lagrange != LAGRANGE.len() {
        return Err(PtauFault::file(
            "some but not all of snarkjs's Lagrange sections (12 to 15)",
        ));
    }
    Ok(sections)
}

/// Reads the header section: the curve must be BLS12-381; returns (power, ceremony power).
fn read_header(bytes: &[u8]) -> Result<(u8, u8), PtauFault> {
    let fault = |why: String| PtauFault::in_section(HEADER, why);
    if bytes.len() < 4 {
        return Err(fault(format!("{} bytes, too short", bytes.len())));
    }
    let n8 = u32_le(bytes) as usize;
    if bytes.len() != 4 + n8 + 8 {
        return Err(fault(format!(
            "{} bytes, a header with {n8}-byte field elements has {}",
            bytes.len(),
            4 + n8 + 8
        )));
    }
    let q = num_le(&bytes[4..4 + n8]);
    let bls_q = Fq::MODULUS.to_string();
    if n8 != N8 || q != bls_q {
        let curve = if q == BN128_Q {
            "bn128 (BN254)".to_owned()
        } else {
            format!("with q = {q}")
        };
        return Err(fault(format!(
            "the file is for curve {curve}; zkcustoms needs bls12381 (BLS12-381)"
        )));
    }
    let power = u32_le(&bytes[4 + n8..]);
    let ceremony_power = u32_le(&bytes[8 + n8..]);
    if power == 0 || power > u32::from(MAX_POWER) {
        return Err(fault(format!(
            "power {power}: this program reads powers 1 to {MAX_POWER}"
        )));
    }
    if ceremony_power < power || ceremony_power > 255 {
        return Err(fault(format!(
            "ceremony power {ceremony_power} is below the file's power {power} or not a power"
        )));
    }
    Ok((power as u8, ceremony_power as u8))
}

/// A little-endian unsigned number in decimal (for the field prime in messages).
fn num_le(bytes: &[u8]) -> String {
    let mut digits = vec![0u32]; // base 10^9, least significant first
    for &b in bytes.iter().rev() {
        let mut carry = u64::from(b);
        for d in digits.iter_mut() {
            let v = u64::from(*d) * 256 + carry;
            *d = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            digits.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    let mut s = digits.last().expect("one digit").to_string();
    for d in digits.iter().rev().skip(1) {
        s.push_str(&format!("{d:09}"));
    }
    s
}

/// SHA-256 of a whole file, streamed.
fn file_sha256<R: Read + Seek>(file: &mut R) -> std::io::Result<[u8; 32]> {
    file.seek(SeekFrom::Start(0))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Reads and validates a `.ptau` file, keeping the powers for domains up to 2^`power` (the
/// file's own size when `None`): the section table, exact section sizes, the curve, every kept
/// point (on the curve, in the subgroup, not infinity) and the contributions section. The
/// points beyond the kept size and the Lagrange sections are not decoded.
pub fn read(path: &Path, power: Option<u8>) -> Result<Ptau, CeremonyError> {
    let io = io_error(path);
    let mut file = std::fs::File::open(path).map_err(&io)?;
    let len = file.metadata().map_err(&io)?.len();
    read_from(&mut file, len, path, power)
}

/// [`read`] on the `len` bytes of `file` (a file, or bytes in memory); `path` names it in errors.
pub fn read_from<R: Read + Seek>(
    file: &mut R,
    len: u64,
    path: &Path,
    power: Option<u8>,
) -> Result<Ptau, CeremonyError> {
    let io = io_error(path);
    let refuse = |f: PtauFault| f.into_error(path);
    let sections = read_table(file, len).map_err(refuse)?;
    let section = |id: u32| sections[&id];
    let header = read_at(file, section(HEADER), section(HEADER).size.min(4096)).map_err(&io)?;
    let (file_power, ceremony_power) = if section(HEADER).size > 4096 {
        return Err(refuse(PtauFault::in_section(
            HEADER,
            "longer than any header",
        )));
    } else {
        read_header(&header).map_err(refuse)?
    };
    let keep = power.unwrap_or(file_power);
    if keep == 0 || keep > file_power {
        return Err(refuse(PtauFault::in_section(
            HEADER,
            format!(
                "the file holds powers for domains up to 2^{file_power}, not the 2^{keep} asked for"
            ),
        )));
    }
    let mut ids: Vec<u32> = (TAU_G1..=BETA_G2).collect();
    let lagrange = sections.contains_key(&LAGRANGE[0]);
    if lagrange {
        ids.extend(LAGRANGE);
    }
    for id in ids {
        let (have, want) = (section(id).size, expected_size(id, file_power));
        if have != want {
            return Err(refuse(PtauFault::in_section(
                id,
                format!("{have} bytes, a file of 2^{file_power} has {want}"),
            )));
        }
    }
    let contributions_section = {
        let s = section(CONTRIBUTIONS);
        // Kept verbatim in the imported file, whose records are bounded.
        if s.size > crate::file::MAX_RECORD_BYTES / 2 {
            return Err(refuse(PtauFault::in_section(
                CONTRIBUTIONS,
                format!(
                    "{} bytes, more than this program keeps ({} bytes)",
                    s.size,
                    crate::file::MAX_RECORD_BYTES / 2
                ),
            )));
        }
        read_at(file, s, s.size).map_err(&io)?
    };
    let contributions = parse_contributions(&contributions_section)
        .map_err(|e| refuse(PtauFault::in_section(CONTRIBUTIONS, e)))?;
    let r_inv = montgomery_r().inverse().expect("nonzero");
    let n = 1u64 << keep;
    let mut g1s = |id: u32, count: u64| -> Result<Vec<G1Affine>, CeremonyError> {
        let bytes = read_at(file, section(id), count * G1_BYTES as u64).map_err(&io)?;
        points::points(&bytes, G1_BYTES, |b| g1_from_lem(b, &r_inv))
            .map_err(|e| refuse(PtauFault::in_section(id, e)))
    };
    let tau_g1 = g1s(TAU_G1, 2 * n - 1)?;
    let alpha_g1 = g1s(ALPHA_TAU_G1, n)?;
    let beta_g1 = g1s(BETA_TAU_G1, n)?;
    let mut g2s = |id: u32, count: u64| -> Result<Vec<G2Affine>, CeremonyError> {
        let bytes = read_at(file, section(id), count * G2_BYTES as u64).map_err(&io)?;
        points::points(&bytes, G2_BYTES, |b| g2_from_lem(b, &r_inv))
            .map_err(|e| refuse(PtauFault::in_section(id, e)))
    };
    let tau_g2 = g2s(TAU_G2, n)?;
    let beta_g2 = g2s(BETA_G2, 1)?[0];
    let sha256 = file_sha256(file).map_err(&io)?;
    Ok(Ptau {
        power: file_power,
        ceremony_power,
        params: Phase1 {
            power: keep,
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2,
        },
        contributions,
        contributions_section,
        lagrange,
        sha256,
        len,
    })
}

/// The contributions section of a file that lists none.
pub fn no_contributions() -> Vec<u8> {
    0u32.to_le_bytes().to_vec()
}

/// Encodes phase-1 parameters as a `.ptau` file (sections 1 to 7) with the given ceremony power
/// and contributions section (verbatim).
pub fn encode(params: &Phase1, ceremony_power: u8, contributions_section: &[u8]) -> Vec<u8> {
    let r = montgomery_r();
    let mut out =
        Vec::with_capacity(64 + Phase1::encoded_len(params.power) + contributions_section.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&7u32.to_le_bytes());
    let start = |out: &mut Vec<u8>, id: u32, size: usize| {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(size as u64).to_le_bytes());
    };
    start(&mut out, HEADER, 4 + N8 + 8);
    out.extend_from_slice(&(N8 as u32).to_le_bytes());
    out.extend_from_slice(&Fq::MODULUS.to_bytes_le());
    out.extend_from_slice(&u32::from(params.power).to_le_bytes());
    out.extend_from_slice(&u32::from(ceremony_power).to_le_bytes());
    let g1s = |out: &mut Vec<u8>, id: u32, ps: &[G1Affine]| {
        start(out, id, ps.len() * G1_BYTES);
        let at = out.len();
        out.resize(at + ps.len() * G1_BYTES, 0);
        out[at..]
            .par_chunks_mut(G1_BYTES)
            .zip(ps.par_iter())
            .for_each(|(o, p)| g1_to_lem(p, &r, o));
    };
    g1s(&mut out, TAU_G1, &params.tau_g1);
    let g2s = |out: &mut Vec<u8>, id: u32, ps: &[G2Affine]| {
        start(out, id, ps.len() * G2_BYTES);
        let at = out.len();
        out.resize(at + ps.len() * G2_BYTES, 0);
        out[at..]
            .par_chunks_mut(G2_BYTES)
            .zip(ps.par_iter())
            .for_each(|(o, p)| g2_to_lem(p, &r, o));
    };
    g2s(&mut out, TAU_G2, &params.tau_g2);
    g1s(&mut out, ALPHA_TAU_G1, &params.alpha_g1);
    g1s(&mut out, BETA_TAU_G1, &params.beta_g1);
    g2s(&mut out, BETA_G2, std::slice::from_ref(&params.beta_g2));
    start(&mut out, CONTRIBUTIONS, contributions_section.len());
    out.extend_from_slice(contributions_section);
    out
}

/// The file name of a path, for records and messages (never its directories).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| PathBuf::from(path).display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_prime_prints_in_decimal() {
        assert_eq!(num_le(&Fq::MODULUS.to_bytes_le()), Fq::MODULUS.to_string());
        assert_eq!(num_le(&[0, 1]), "256");
    }
}
