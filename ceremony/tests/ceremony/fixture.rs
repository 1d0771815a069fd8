//! Ceremonies for the tests: a small phase 1 (2^4) for the phase-1 checks, and one whole
//! ceremony on aeo-status (phase 1 of 2^13, its domain), built once per test run. Every secret
//! comes from a fixed seed, so the transcripts are the same on every run.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use zkcustoms_ceremony::codec::{Reader, Writer};
use zkcustoms_ceremony::file::{self, Header};
use zkcustoms_ceremony::phase1::{self, Phase1};
use zkcustoms_ceremony::phase2::{self, Key};
use zkcustoms_ceremony::prepare::{Phase1Source, Prepared};
use zkcustoms_ceremony::record::Record;
use zkcustoms_ceremony::{finalize, prepare, Beacon, Ceremony, Entropy, Event, Meter, Stage};
use zkcustoms_circuits::CircuitId;

/// The participants, in order.
pub const PARTICIPANTS: [&str; 3] = ["DE customs", "NL customs", "FR customs"];
/// The aeo-status circuit.
pub const AEO: CircuitId = CircuitId::AeoStatusV1;

pub fn quiet() -> impl FnMut(Event<'_>) {
    |_| {}
}

/// A part that counted its work: its name, the units counted when it finished, its total.
pub type Counted = (String, u64, u64);

/// Progress that records, for every part that counts its work, how far its meter got.
fn counting(log: &Rc<RefCell<Vec<Counted>>>) -> impl FnMut(Event<'_>) {
    let log = Rc::clone(log);
    let mut running: Option<(String, Arc<Meter>)> = None;
    move |event| match event {
        Event::Started(what, meter) => running = meter.map(|m| (what.to_owned(), Arc::clone(m))),
        Event::Finished(what, _) => {
            if let Some((name, meter)) = running.take() {
                assert_eq!(name, what, "a part finishes before the next starts");
                log.borrow_mut().push((name, meter.done(), meter.total()));
            }
        }
    }
}

pub fn seed(stage: u8, i: usize) -> Entropy {
    Entropy::from_seed([stage * 16 + i as u8 + 1; 32])
}

pub fn test_beacon() -> Beacon {
    Beacon::new(b"block 0000000000000000000123".to_vec(), 10).unwrap()
}

/// Phase 1 of 2^power with the three participants and the beacon, in `dir`.
pub fn phase1_done(dir: &Path, power: u8) -> Ceremony {
    let c = Ceremony::new(dir);
    phase1::new(&c, power).unwrap();
    for (i, name) in PARTICIPANTS.iter().enumerate() {
        phase1::contribute(&c, name, seed(1, i), &mut quiet()).unwrap();
    }
    phase1::beacon(&c, &test_beacon(), &mut quiet()).unwrap();
    c
}

/// The whole aeo-status ceremony, finalized into its `keys/`.
pub struct Aeo {
    pub ceremony: Ceremony,
    /// What finalize verified (the whole transcript) and wrote.
    pub finalized: finalize::Finalized,
    /// Time of each step, for the report.
    pub timings: Vec<(String, Duration)>,
    /// The parts of every step up to the beacon of phase 2 that counted their work.
    pub counted: Vec<Counted>,
}

fn build_aeo() -> Aeo {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ceremony-aeo-status");
    let _ = std::fs::remove_dir_all(&dir);
    let c = Ceremony::new(&dir);
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut timings = Vec::new();
    let mut time = |what: &str, f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        timings.push((what.to_owned(), start.elapsed()));
    };
    time("phase 1 new (2^13)", &mut || {
        phase1::new(&c, 13).unwrap();
    });
    for (i, name) in PARTICIPANTS.iter().enumerate() {
        time(&format!("phase 1 contribution {}", i + 1), &mut || {
            phase1::contribute(&c, name, seed(1, i), &mut counting(&log)).unwrap();
        });
    }
    time("phase 1 beacon (2^10 iterations)", &mut || {
        phase1::beacon(&c, &test_beacon(), &mut counting(&log)).unwrap();
    });
    time("phase 1 prepare (2^13)", &mut || {
        prepare::prepare(&c, None, &mut counting(&log)).unwrap();
    });
    time("phase 2 new (aeo-status)", &mut || {
        phase2::new(&mut Phase1Source::new(&c), AEO, &mut counting(&log)).unwrap();
    });
    for (i, name) in PARTICIPANTS.iter().enumerate() {
        time(&format!("phase 2 contribution {}", i + 1), &mut || {
            phase2::contribute(&c, AEO, name, seed(2, i), &mut counting(&log)).unwrap();
        });
    }
    time("phase 2 beacon", &mut || {
        phase2::beacon(&c, AEO, &test_beacon(), &mut counting(&log)).unwrap();
    });
    let mut finalized = None;
    time("finalize (verifies everything)", &mut || {
        finalized = Some(finalize::finalize(&c, &[AEO], None, &mut quiet()).unwrap());
    });
    Aeo {
        ceremony: c,
        finalized: finalized.unwrap(),
        timings,
        counted: log.take(),
    }
}

/// The aeo-status ceremony, built on first use.
pub fn aeo() -> &'static Aeo {
    static AEO_CEREMONY: OnceLock<Aeo> = OnceLock::new();
    AEO_CEREMONY.get_or_init(build_aeo)
}

/// A copy of a ceremony directory (hard links: no file is ever changed in place, and the tests
/// replace a file by removing its link first).
pub fn copy(from: &Ceremony) -> (tempfile::TempDir, Ceremony) {
    fn link_all(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let target = to.join(p.file_name().unwrap());
            if p.is_dir() {
                link_all(&p, &target);
            } else {
                std::fs::hard_link(&p, &target).unwrap();
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    link_all(from.dir(), tmp.path());
    let c = Ceremony::new(tmp.path());
    (tmp, c)
}

/// Replaces a file's bytes (the link is removed first, so the original stays intact).
pub fn replace(path: &Path, bytes: &[u8]) {
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Rewrites a file's header and contents; the contribution hash is recomputed, so only the
/// cryptographic checks can find the change.
pub fn reencode(path: &Path, f: impl FnOnce(&mut Header, &mut Vec<u8>)) {
    let bytes = std::fs::read(path).unwrap();
    let (mut h, body) = file::decode(&bytes).unwrap();
    let mut body = body.to_vec();
    f(&mut h, &mut body);
    let out = file::encode(
        h.kind, h.index, h.power, h.circuit, h.previous, h.phase1, &body,
    );
    replace(path, &out);
}

/// Rewrites a phase-1 file's record and parameters.
pub fn edit_phase1(path: &Path, f: impl FnOnce(&mut Record, &mut Phase1)) {
    reencode(path, |h, body| {
        let labels: &[&str] = if h.index == 0 { &[] } else { &phase1::LABELS };
        let mut r = Reader::new(body);
        let mut record = Record::read(&mut r, labels).unwrap();
        let mut params = Phase1::read(&mut r, h.power).unwrap();
        f(&mut record, &mut params);
        let mut w = Writer::default();
        record.write(&mut w);
        params.write(&mut w);
        *body = w.0;
    });
}

/// Rewrites a phase-2 file's record and key.
pub fn edit_phase2(path: &Path, f: impl FnOnce(&mut Record, &mut Key)) {
    reencode(path, |h, body| {
        let labels: &[&str] = if h.index == 0 { &[] } else { &[phase2::DELTA] };
        let mut r = Reader::new(body);
        let mut record = Record::read(&mut r, labels).unwrap();
        let mut key = phase2::decode_key(r.rest()).unwrap();
        f(&mut record, &mut key);
        let mut w = Writer::default();
        record.write(&mut w);
        w.raw(&phase2::encode_key(&key));
        *body = w.0;
    });
}

/// The path of a chain step.
pub fn step_path(c: &Ceremony, stage: Stage, index: usize) -> PathBuf {
    c.chain(stage).unwrap()[index].clone()
}

/// Rewrites a prepared phase-1 file.
pub fn edit_prepared(path: &Path, f: impl FnOnce(&mut Prepared)) {
    reencode(path, |h, body| {
        let mut r = Reader::new(body);
        let record = Record::read(&mut r, &[]).unwrap();
        let mut p = Prepared::read(&mut r, h.power).unwrap();
        f(&mut p);
        let mut w = Writer::default();
        record.write(&mut w);
        p.write(&mut w);
        *body = w.0;
    });
}
