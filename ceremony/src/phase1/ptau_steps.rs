//! A snarkjs `.ptau` file as the start of phase 1, and phase 1 as a `.ptau` file.
//!
//! An imported phase 1 is step 0 of the chain, `phase1/0000-import.ph1`, in place of
//! `0000-new.ph1`; contributions, the beacon, preparation and phase 2 follow as after a new
//! phase 1. Its header's previous hash is the SHA-256 of the `.ptau` file, so the chain of
//! hashes starts at the public file. Its contents:
//!
//! ```text
//! record          the record of every file: no participant, no beacon, no proofs
//! source          2+n   the .ptau file's name (without directories)
//! source power    1     log2 of the .ptau file's size
//! ceremony power  1     log2 of the size of the ceremony it comes from
//! lagrange        1     1 when it held snarkjs's Lagrange sections (not read), else 0
//! contributions   4+n   its contributions section, verbatim (length, then the bytes)
//! parameters      as in every phase-1 file, cut down to the header's power
//! ```
//!
//! What import and `verify` check: the `.ptau` file's structure and sizes, that it is for
//! BLS12-381, every point kept (on the curve, in the subgroup, not infinity), the structure of
//! its contributions section and that the last contribution's elements are the file's (a file
//! may list none, as this program's exports do), that no secret is 1,
//! and that all powers are powers of one tau (times one alpha, one beta), as for every phase-1
//! file. What they do not check: the proofs of knowledge of the snarkjs contributions (snarkjs's
//! own scheme; `snarkjs powersoftau verify` checks them on the public file). Importing is
//! deterministic, so `verify --ptau FILE` re-imports the public file and compares.

use crate::codec::{Reader, Writer};
use crate::file::{self, Ceremony, Kind, Loaded};
use crate::phase1::{self, Phase1};
use crate::pok;
use crate::ptau::{self, PtauContribution, PtauFault};
use crate::record::Record;
use crate::{timed, CeremonyError, Event, Fault, Stage, Step};
use rand_chacha::ChaCha20Rng;
use std::path::{Path, PathBuf};

/// What an imported phase 1 records about its `.ptau` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRecord {
    /// The file's name.
    pub source: String,
    /// log2 of the file's size.
    pub source_power: u8,
    /// log2 of the size of the ceremony it comes from.
    pub ceremony_power: u8,
    /// Whether it held snarkjs's Lagrange sections.
    pub lagrange: bool,
    /// Its contributions section, verbatim.
    pub contributions_section: Vec<u8>,
}

impl ImportRecord {
    /// Appends the record.
    pub fn write(&self, w: &mut Writer) {
        w.short_bytes(self.source.as_bytes());
        w.u8(self.source_power);
        w.u8(self.ceremony_power);
        w.u8(u8::from(self.lagrange));
        w.u32(self.contributions_section.len() as u32);
        w.raw(&self.contributions_section);
    }

    /// Reads a record.
    pub fn read(r: &mut Reader<'_>) -> Result<ImportRecord, String> {
        let source = r.short_string("source file name")?;
        let source_power = r.u8("source power")?;
        let ceremony_power = r.u8("ceremony power")?;
        let lagrange = match r.u8("Lagrange flag")? {
            0 => false,
            1 => true,
            other => return Err(format!("Lagrange flag {other}")),
        };
        let n = r.u32("contributions length")? as usize;
        let contributions_section = r.take(n, "contributions")?.to_vec();
        Ok(ImportRecord {
            source,
            source_power,
            ceremony_power,
            lagrange,
            contributions_section,
        })
    }
}

/// Checks what the format alone cannot: the last contribution's elements (if it lists any) are
/// the file's, no secret is 1, and all powers are consistent. The error names the section.
fn check_powers(
    params: &Phase1,
    contributions: &[PtauContribution],
    rng: &mut ChaCha20Rng,
) -> Result<(), (Option<u32>, &'static str)> {
    // A file may list no contributions (this program's exports list none): the powers are
    // what matters, and the checks below refuse the initial ones.
    if let Some(last) = contributions.last() {
        if last.tau_g1 != params.tau_g1[1]
            || last.tau_g2 != params.tau_g2[1]
            || last.alpha_g1 != params.alpha_g1[0]
            || last.beta_g1 != params.beta_g1[0]
            || last.beta_g2 != params.beta_g2
        {
            return Err((
                Some(7),
                "the last contribution's elements are not the file's powers",
            ));
        }
    }
    let (g1, _) = pok::generators();
    for (p, section, why) in [
        (params.tau_g1[1], 2, "tau is 1 (no contribution changed it)"),
        (params.alpha_g1[0], 4, "alpha is 1"),
        (params.beta_g1[0], 5, "beta is 1"),
    ] {
        if p == g1 {
            return Err((Some(section), why));
        }
    }
    match params.check_consistent(rng) {
        Ok(()) => Ok(()),
        Err(Fault::Inconsistent(why)) => Err((None, why)),
        Err(_) => Err((None, "inconsistent powers")),
    }
}

/// The import step's description for reports: the source, and what it lists.
fn describe(record: &ImportRecord, sha256: &[u8; 32], power: u8) -> String {
    let list = match ptau::parse_contributions(&record.contributions_section) {
        Ok(cs) if cs.is_empty() => "none".to_owned(),
        Ok(cs) => cs
            .iter()
            .enumerate()
            .map(|(i, c)| match &c.beacon {
                Some((hash, n)) => format!(
                    "#{} {:?}: beacon {} (2^{n} iterations)",
                    i + 1,
                    c.name,
                    hex::encode(hash)
                ),
                None => format!("#{} {:?}", i + 1, c.name),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("unreadable: {e}"),
    };
    format!(
        "imported from {:?} (SHA-256 {}), powers 2^{power} of its 2^{} (a ceremony of 2^{}); \
         it lists snarkjs contributions {list}, whose proofs of knowledge are not verified here",
        record.source,
        hex::encode(sha256),
        record.source_power,
        record.ceremony_power,
    )
}

/// The body of an import step.
fn encode_body(record: &ImportRecord, params: &Phase1) -> Vec<u8> {
    let mut w = Writer::with_capacity(
        Phase1::encoded_len(params.power) + record.contributions_section.len() + 512,
    );
    Record {
        participant: String::new(),
        beacon: None,
        proofs: Vec::new(),
    }
    .write(&mut w);
    record.write(&mut w);
    params.write(&mut w);
    w.0
}

/// The import step a `.ptau` file gives, as bytes: reads and validates the file, keeping the
/// powers for domains up to 2^`power`. Deterministic.
fn import_bytes(
    path: &Path,
    power: Option<u8>,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<u8>, CeremonyError> {
    let p = timed(
        progress,
        "reading and checking every point of the .ptau file",
        || ptau::read(path, power),
    )?;
    let mut rng = pok::check_rng("phase1-import", &[&p.sha256]);
    timed(progress, "checking the powers' consistency", || {
        check_powers(&p.params, &p.contributions, &mut rng)
    })
    .map_err(|(section, why)| {
        PtauFault {
            section: section.map(ptau::section_name),
            why: why.to_owned(),
        }
        .into_error(path)
    })?;
    let record = ImportRecord {
        source: ptau::file_name(path),
        source_power: p.power,
        ceremony_power: p.ceremony_power,
        lagrange: p.lagrange,
        contributions_section: p.contributions_section,
    };
    let body = encode_body(&record, &p.params);
    Ok(file::encode(
        Kind::Phase1Import,
        0,
        p.params.power,
        None,
        p.sha256,
        [0; 32],
        &body,
    ))
}

/// What an import wrote.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The new transcript file.
    pub file: PathBuf,
    /// SHA-256 of the new file.
    pub file_hash: [u8; 32],
    /// What it records (as `verify` reports it).
    pub description: String,
}

/// Starts phase 1 from a snarkjs `.ptau` file for BLS12-381, keeping the powers for domains up
/// to 2^`power` (the file's own size when `None`): writes `phase1/0000-import.ph1`. The file is
/// validated completely before anything is written; a refused file writes nothing.
pub fn import(
    ceremony: &Ceremony,
    path: &Path,
    power: Option<u8>,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Imported, CeremonyError> {
    if let Some(first) = ceremony.chain(Stage::Phase1)?.first() {
        return Err(CeremonyError::Exists(first.clone()));
    }
    let bytes = import_bytes(path, power, progress)?;
    let out = ceremony.chain_path(Stage::Phase1, 0, Kind::Phase1Import);
    timed(progress, "writing", || file::write_new(&out, &bytes))?;
    let step = Step {
        stage: Stage::Phase1,
        index: 0,
    };
    let loaded = Loaded::read(&out, step)?;
    let mut r = Reader::new(loaded.body());
    let description = Record::read(&mut r, &[])
        .and_then(|_| ImportRecord::read(&mut r))
        .map(|rec| describe(&rec, &loaded.header.previous, loaded.header.power))
        .map_err(|e| file::refused(step, &out, Fault::Malformed(e)))?;
    Ok(Imported {
        file: out,
        file_hash: loaded.hash,
        description,
    })
}

/// Verification of an import step (called by [`phase1::verify`] with the decoded parameters):
/// the import record is well formed, and the powers pass the checks of an import. Returns the
/// step's description.
pub(crate) fn check_imported(
    loaded: &Loaded,
    params: &Phase1,
    rng: &mut ChaCha20Rng,
) -> Result<String, Fault> {
    let mut r = Reader::new(loaded.body());
    Record::read(&mut r, &[]).map_err(Fault::Malformed)?;
    let record = ImportRecord::read(&mut r).map_err(Fault::Malformed)?;
    if record.source_power < loaded.header.power || record.ceremony_power < record.source_power {
        return Err(Fault::Malformed(format!(
            "powers 2^{} of a file of 2^{} from a ceremony of 2^{}",
            loaded.header.power, record.source_power, record.ceremony_power
        )));
    }
    let contributions = ptau::parse_contributions(&record.contributions_section)
        .map_err(|e| Fault::Malformed(format!("the .ptau contributions: {e}")))?;
    check_powers(params, &contributions, rng).map_err(|(section, why)| match section {
        Some(_) => Fault::Malformed(format!("the imported file: {why}")),
        None => Fault::Inconsistent(why),
    })?;
    Ok(describe(
        &record,
        &loaded.header.previous,
        loaded.header.power,
    ))
}

/// Checks that the ceremony's import step is exactly what importing `path` gives (the same file
/// hash, powers and record): anyone holding the public `.ptau` file can confirm where phase 1
/// came from.
pub fn check_source(
    ceremony: &Ceremony,
    path: &Path,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<(), CeremonyError> {
    let files = ceremony.chain(Stage::Phase1)?;
    let step = Step {
        stage: Stage::Phase1,
        index: 0,
    };
    let Some(first) = files.first() else {
        return Err(CeremonyError::Missing(format!(
            "phase 1 has not started in {}",
            ceremony.dir().display()
        )));
    };
    let loaded = Loaded::read(first, step)?;
    phase1::check_place(&loaded, step)?;
    if loaded.header.kind != Kind::Phase1Import {
        return Err(CeremonyError::Invalid(format!(
            "{} is a new phase 1, not one imported from a .ptau file",
            first.display()
        )));
    }
    let expected = import_bytes(path, Some(loaded.header.power), progress)?;
    let (header, _) = file::decode(&expected).map_err(|f| file::refused(step, first, f))?;
    let why = if header.previous != loaded.header.previous {
        format!(
            "it was imported from a file with SHA-256 {}; {} has SHA-256 {}",
            hex::encode(loaded.header.previous),
            path.display(),
            hex::encode(header.previous)
        )
    } else if file::sha256(&expected) != loaded.hash {
        format!(
            "its contents are not what importing {} gives",
            path.display()
        )
    } else {
        return Ok(());
    };
    Err(file::refused(step, first, Fault::Malformed(why)))
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The `.ptau` file.
    pub file: PathBuf,
    /// log2 of its size.
    pub power: u8,
    /// Whether phase 1 is closed by a beacon.
    pub closed: bool,
    /// The phase-1 step exported.
    pub step: Step,
    /// The number of snarkjs contributions the file lists: an imported phase 1 exported
    /// unchanged keeps its file's; after any step of this transcript, none (snarkjs's format
    /// cannot express this transcript's proofs of knowledge).
    pub contributions: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Verifies phase 1 and writes its last step as a `.ptau` file snarkjs reads (never replacing
/// an existing file).
pub fn export(
    ceremony: &Ceremony,
    out: &Path,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Exported, CeremonyError> {
    if out.exists() {
        return Err(CeremonyError::Exists(out.to_path_buf()));
    }
    let verified = phase1::verify(ceremony, progress)?;
    // The parameters exported are the verified ones; the last file is read again for its
    // record only, and must be the file verified (one put in place since is refused).
    let Some(last) = verified.reports.last() else {
        return Err(CeremonyError::Missing(format!(
            "phase 1 has not started in {}: run `zkcustoms ceremony phase1 new` first",
            ceremony.dir().display()
        )));
    };
    let step = last.step;
    let loaded = timed(progress, "reading the last phase-1 file", || {
        Loaded::read(&last.file, step)
    })?;
    if loaded.hash != last.file_hash {
        let fault = Fault::OutOfPlace {
            expected: "the last step verified".into(),
            found: "another file: the transcript changed while it was being exported".into(),
        };
        return Err(file::refused(step, &loaded.path, fault));
    }
    let params = verified.last.clone();
    let (ceremony_power, section) = if loaded.header.kind == Kind::Phase1Import {
        let mut r = Reader::new(loaded.body());
        let record = Record::read(&mut r, &[])
            .and_then(|_| ImportRecord::read(&mut r))
            .map_err(|e| file::refused(step, &loaded.path, Fault::Malformed(e)))?;
        (record.ceremony_power, record.contributions_section)
    } else {
        (params.power, ptau::no_contributions())
    };
    let contributions = ptau::parse_contributions(&section)
        .map_err(|e| file::refused(step, &loaded.path, Fault::Malformed(e)))?
        .len();
    let bytes = timed(progress, "encoding", || {
        ptau::encode(&params, ceremony_power, &section)
    });
    timed(progress, "writing", || file::write_new(out, &bytes))?;
    Ok(Exported {
        file: out.to_path_buf(),
        power: params.power,
        closed: verified.closed,
        step,
        contributions,
        bytes: bytes.len() as u64,
    })
}
