//! snarkjs `.ptau` files: made by the pinned snarkjs (`tools/snarkjs`, installed by `make
//! snarkjs`), imported as the start of phase 1, exported back for snarkjs, and bad files refused
//! with nothing written.

use crate::fixture::{phase1_done, quiet, seed, test_beacon, AEO};
use ark_bls12_381::{Bls12_381, Fq, Fr, G1Affine};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;
use zkcustoms_ceremony::phase1::ptau_steps as transcript;
use zkcustoms_ceremony::prepare::Phase1Source;
use zkcustoms_ceremony::ptau;
use zkcustoms_ceremony::{
    finalize, phase1, phase2, prepare, Ceremony, CeremonyError, Kind, Stage, StepReport,
};
use zkcustoms_circuits::{aeo_status, registry};
use zkcustoms_verifier::KeyDir;

/// The pinned snarkjs; a missing install fails the test with what to run.
fn snarkjs(dir: &Path, args: &[&str]) -> std::process::Output {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/snarkjs/node_modules/.bin/snarkjs");
    assert!(
        path.is_file(),
        "snarkjs is not installed ({} is missing): run `make snarkjs`",
        path.display()
    );
    let o = Command::new(&path)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("snarkjs runs");
    assert!(
        o.status.code() != Some(127),
        "snarkjs could not start (is Node.js installed? run `make snarkjs`)"
    );
    o
}

/// Runs snarkjs and requires success.
fn snarkjs_ok(dir: &Path, args: &[&str]) {
    let o = snarkjs(dir, args);
    assert!(
        o.status.success(),
        "snarkjs {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A snarkjs phase 1 of 2^power in `dir`: `new`, one contribution with fixed entropy, and a
/// beacon when asked. Returns the last file.
fn snarkjs_phase1(dir: &Path, power: u8, beacon: bool) -> PathBuf {
    let p = power.to_string();
    snarkjs_ok(dir, &["powersoftau", "new", "bls12381", &p, "pot0.ptau"]);
    snarkjs_ok(
        dir,
        &[
            "powersoftau",
            "contribute",
            "pot0.ptau",
            "pot1.ptau",
            "--name=first participant",
            "-e=fixed test entropy",
        ],
    );
    if !beacon {
        return dir.join("pot1.ptau");
    }
    snarkjs_ok(
        dir,
        &[
            "powersoftau",
            "beacon",
            "pot1.ptau",
            "pot2.ptau",
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
            "10",
            "-n=final beacon",
        ],
    );
    dir.join("pot2.ptau")
}

/// A snarkjs phase 1 of 2^4 with a contribution and a beacon, made once.
fn small() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        snarkjs_phase1(dir.path(), 4, true);
        dir
    });
    dir.path()
}

fn small_ptau() -> PathBuf {
    small().join("pot2.ptau")
}

fn phase1_files(c: &Ceremony) -> usize {
    c.chain(Stage::Phase1).unwrap().len()
}

#[test]
fn a_snarkjs_ptau_is_imported_and_verify_names_its_source() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Ceremony::new(tmp.path());
    let file = small_ptau();
    let imported = transcript::import(&c, &file, None, &mut quiet()).unwrap();
    assert!(imported.file.ends_with("phase1/0000-import.ph1"));
    let sha = hex::encode(zkcustoms_ceremony::file::sha256(
        &std::fs::read(&file).unwrap(),
    ));
    assert!(
        imported.description.contains(&sha),
        "{}",
        imported.description
    );
    for name in ["first participant", "final beacon", "pot2.ptau"] {
        assert!(
            imported.description.contains(name),
            "{}",
            imported.description
        );
    }
    // Importing twice, or over a new phase 1, is refused.
    assert!(matches!(
        transcript::import(&c, &file, None, &mut quiet()),
        Err(CeremonyError::Exists(_))
    ));
    // Contributions and the beacon follow as after `new`; verify reports the import first.
    phase1::contribute(&c, "DE customs", seed(1, 0), &mut quiet()).unwrap();
    phase1::beacon(&c, &test_beacon(), &mut quiet()).unwrap();
    let v = phase1::verify(&c, &mut quiet()).unwrap();
    let kinds: Vec<Kind> = v.reports.iter().map(|r: &StepReport| r.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Phase1Import,
            Kind::Phase1Contribution,
            Kind::Phase1Beacon
        ]
    );
    assert_eq!(
        v.reports[0].imported.as_deref(),
        Some(&*imported.description)
    );
    assert!(v.reports[1].imported.is_none());
    transcript::check_source(&c, &file, &mut quiet()).unwrap();
    // Another .ptau file is not the source.
    let err = transcript::check_source(&c, &small().join("pot1.ptau"), &mut quiet()).unwrap_err();
    assert!(
        err.to_string()
            .contains("imported from a file with SHA-256"),
        "{err}"
    );

    // A cut-down import keeps the first powers.
    let tmp2 = tempfile::tempdir().unwrap();
    let cut = Ceremony::new(tmp2.path());
    transcript::import(&cut, &file, Some(2), &mut quiet()).unwrap();
    let (_, _, _, p) = phase1::read_last(&cut).unwrap();
    let full = ptau::read(&file, None).unwrap().params;
    assert_eq!(p.power, 2);
    assert_eq!(p.tau_g1[..], full.tau_g1[..7]);
    assert_eq!(p.tau_g2[..], full.tau_g2[..4]);
    phase1::verify(&cut, &mut quiet()).unwrap();
    transcript::check_source(&cut, &file, &mut quiet()).unwrap();

    // The import step names nobody (its contributors are the imported file's, listed from it):
    // one naming a participant would read as an attribution, and is refused.
    let tmp3 = tempfile::tempdir().unwrap();
    let named = Ceremony::new(tmp3.path());
    transcript::import(&named, &file, None, &mut quiet()).unwrap();
    let first = named.chain(Stage::Phase1).unwrap()[0].clone();
    crate::fixture::reencode(&first, |_, body| {
        use zkcustoms_ceremony::codec::{Reader, Writer};
        let mut r = Reader::new(body);
        let mut record = zkcustoms_ceremony::record::Record::read(&mut r, &[]).unwrap();
        let rest = r.rest().to_vec();
        record.participant = "Douane NL".into();
        let mut w = Writer::default();
        record.write(&mut w);
        w.raw(&rest);
        *body = w.0;
    });
    let err = phase1::verify(&named, &mut quiet()).unwrap_err();
    assert!(
        matches!(err.fault(), Some(zkcustoms_ceremony::Fault::Malformed(_))),
        "{err}"
    );
    assert!(err.to_string().contains("names a participant"), "{err}");
}

#[test]
fn an_unchanged_import_exports_as_the_snarkjs_file_and_snarkjs_verifies_it() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Ceremony::new(tmp.path().join("c"));
    let file = small_ptau();
    transcript::import(&c, &file, None, &mut quiet()).unwrap();
    let out = tmp.path().join("back.ptau");
    let e = transcript::export(&c, &out, &mut quiet()).unwrap();
    assert_eq!((e.contributions, e.power, e.closed), (2, 4, false));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&file).unwrap());
    snarkjs_ok(tmp.path(), &["powersoftau", "verify", "back.ptau"]);
    // Never replaced.
    assert!(matches!(
        transcript::export(&c, &out, &mut quiet()),
        Err(CeremonyError::Exists(_))
    ));
}

#[test]
fn our_phase1_exported_is_read_by_snarkjs_and_imports_back_to_the_same_powers() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = phase1_done(&tmp.path().join("ours"), 4);
    let (_, _, _, params) = phase1::read_last(&ours).unwrap();
    let out = tmp.path().join("ours.ptau");
    let e = transcript::export(&ours, &out, &mut quiet()).unwrap();
    assert_eq!((e.contributions, e.closed), (0, true));
    assert_eq!(e.bytes, std::fs::metadata(&out).unwrap().len());

    // Round trip: the same powers.
    let back = Ceremony::new(tmp.path().join("back"));
    transcript::import(&back, &out, None, &mut quiet()).unwrap();
    assert_eq!(phase1::read_last(&back).unwrap().3, params);

    // snarkjs reads every point: it prepares the file for phase 2 (its FFTs over all powers),
    // and a snarkjs contribution on top of it gives powers that are consistent again, which our
    // import checks pairing by pairing; a misread point would break both.
    snarkjs_ok(
        tmp.path(),
        &[
            "powersoftau",
            "prepare",
            "phase2",
            "ours.ptau",
            "prepared.ptau",
        ],
    );
    let prepared = Ceremony::new(tmp.path().join("prepared"));
    transcript::import(
        &prepared,
        &tmp.path().join("prepared.ptau"),
        None,
        &mut quiet(),
    )
    .unwrap();
    assert_eq!(phase1::read_last(&prepared).unwrap().3, params);
    snarkjs_ok(
        tmp.path(),
        &[
            "powersoftau",
            "contribute",
            "ours.ptau",
            "more.ptau",
            "--name=after",
            "-e=x",
        ],
    );
    let more = Ceremony::new(tmp.path().join("more"));
    transcript::import(&more, &tmp.path().join("more.ptau"), None, &mut quiet()).unwrap();
    let moved = phase1::read_last(&more).unwrap().3;
    assert_ne!(moved.tau_g1[1], params.tau_g1[1]);

    // What snarkjs cannot do: verify this transcript's contributions (its format cannot express
    // their proofs of knowledge), so `powersoftau verify` refuses the exported file.
    let o = snarkjs(tmp.path(), &["powersoftau", "verify", "ours.ptau"]);
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("no contribution"), "{text}");
}

/// A refusal names the file and the section; nothing was written.
fn refused(c: &Ceremony, file: &Path, power: Option<u8>, section: &str, why: &str) {
    let err = transcript::import(c, file, power, &mut quiet()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CeremonyError::PtauRefused { .. }), "{text}");
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains(section), "{text}");
    assert!(text.contains(why), "{text}");
    assert_eq!(phase1_files(c), 0, "nothing written: {text}");
    assert!(!c.phase1_dir().exists() || std::fs::read_dir(c.phase1_dir()).unwrap().count() == 0);
}

#[test]
fn bad_ptau_files_are_refused_naming_the_file_and_section_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Ceremony::new(tmp.path().join("c"));
    let good = std::fs::read(small_ptau()).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // The tauG1 section starts after the table entry of the header (12 + 12 + 60 + 12).
    let tau_g1 = 12 + 12 + 4 + 48 + 8 + 12;
    refused(
        &c,
        &write("t1.ptau", &good[..good.len() - 1]),
        None,
        "contributions (section 7)",
        "truncated",
    );
    refused(
        &c,
        &write("t2.ptau", &good[..tau_g1 + 100]),
        None,
        "tauG1 (section 2)",
        "truncated",
    );
    refused(&c, &write("t3.ptau", &good[..20]), None, "", "truncated");
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0; 7]);
    refused(
        &c,
        &write("trail.ptau", &trailing),
        None,
        "",
        "7 trailing bytes",
    );
    let mut magic = good.clone();
    magic[0] = b'x';
    refused(
        &c,
        &write("magic.ptau", &magic),
        None,
        "",
        "not a snarkjs .ptau file",
    );

    // A point off the curve: one bit of tauG1[2]'s y coordinate.
    let mut off = good.clone();
    off[tau_g1 + 2 * 96 + 60] ^= 1;
    refused(
        &c,
        &write("off.ptau", &off),
        None,
        "tauG1 (section 2)",
        "point 2: not on the curve",
    );
    // A point of the curve outside the prime-order subgroup: (0, 2).
    let mut p = ptau::read(&small_ptau(), None).unwrap();
    p.params.tau_g1[3] = G1Affine::new_unchecked(Fq::from(0u64), Fq::from(2u64));
    let bytes = ptau::encode(&p.params, p.ceremony_power, &p.contributions_section);
    refused(
        &c,
        &write("sub.ptau", &bytes),
        None,
        "tauG1 (section 2)",
        "point 3: not in the prime-order subgroup",
    );
    // Valid points in the wrong place: not successive powers.
    let mut p = ptau::read(&small_ptau(), None).unwrap();
    p.params.tau_g1.swap(4, 5);
    let bytes = ptau::encode(&p.params, p.ceremony_power, &p.contributions_section);
    refused(
        &c,
        &write("swap.ptau", &bytes),
        None,
        "",
        "not successive powers of tau",
    );
    // The last contribution's elements are not the file's.
    let mut p = ptau::read(&small_ptau(), None).unwrap();
    let q = ptau::read(&small().join("pot1.ptau"), None).unwrap();
    p.params = q.params;
    let bytes = ptau::encode(&p.params, p.ceremony_power, &p.contributions_section);
    refused(
        &c,
        &write("mixed.ptau", &bytes),
        None,
        "contributions (section 7)",
        "not the file's powers",
    );
    // No contribution: every secret is 1.
    refused(
        &c,
        &small().join("pot0.ptau"),
        None,
        "tauG1 (section 2)",
        "tau is 1",
    );
    // A size the file does not have.
    refused(
        &c,
        &small_ptau(),
        Some(5),
        "header (section 1)",
        "up to 2^4, not the 2^5 asked for",
    );

    // Another curve.
    snarkjs_ok(tmp.path(), &["powersoftau", "new", "bn128", "2", "bn.ptau"]);
    refused(
        &c,
        &tmp.path().join("bn.ptau"),
        None,
        "header (section 1)",
        "curve bn128",
    );

    // Imported but too small for aeo-status: phase 2 says what it needs.
    transcript::import(&c, &small_ptau(), None, &mut quiet()).unwrap();
    phase1::beacon(&c, &test_beacon(), &mut quiet()).unwrap();
    let err = phase2::new(&mut Phase1Source::new(&c), AEO, &mut quiet()).unwrap_err();
    assert!(
        matches!(err, CeremonyError::TooSmall { have: 4, need: 13 }),
        "{err}"
    );
    assert!(c.chain(Stage::Phase2(AEO)).unwrap().is_empty());
}

/// A public snarkjs phase 1 of 2^13 (aeo-status's domain, the smallest that fits) with one
/// snarkjs contribution, imported; then the beacon, preparation, phase 2 and finalize as after
/// a new phase 1; the keys prove and verify.
#[test]
fn a_snarkjs_ptau_gives_aeo_status_keys_that_prove_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let mut times = Vec::new();
    let mut time = |what: &str, start: Instant| {
        times.push(format!("{what}: {:.1} s", start.elapsed().as_secs_f64()));
    };
    let t = Instant::now();
    let file = snarkjs_phase1(tmp.path(), 13, false);
    time("snarkjs new + contribute (2^13)", t);
    let c = Ceremony::new(tmp.path().join("ceremony"));
    let t = Instant::now();
    transcript::import(&c, &file, None, &mut quiet()).unwrap();
    time("import (2^13)", t);
    let t = Instant::now();
    phase1::beacon(&c, &test_beacon(), &mut quiet()).unwrap();
    time("phase 1 beacon", t);
    let t = Instant::now();
    prepare::prepare(&c, None, &mut quiet()).unwrap();
    time("prepare", t);
    let t = Instant::now();
    phase2::new(&mut Phase1Source::new(&c), AEO, &mut quiet()).unwrap();
    phase2::contribute(&c, AEO, "DE customs", seed(2, 0), &mut quiet()).unwrap();
    phase2::beacon(&c, AEO, &test_beacon(), &mut quiet()).unwrap();
    time("phase 2 new, contribution, beacon", t);
    let t = Instant::now();
    let done = finalize::finalize(&c, &[AEO], None, &mut quiet()).unwrap();
    time("finalize", t);
    for line in &times {
        eprintln!("{line}");
    }
    eprintln!(
        ".ptau of 2^13: {} bytes; import step: {} bytes",
        std::fs::metadata(&file).unwrap().len(),
        std::fs::metadata(&done.phase1.reports[0].file)
            .unwrap()
            .len()
    );
    assert_eq!(done.phase1.reports[0].kind, Kind::Phase1Import);
    assert!(done.phase1.reports[0].imported.is_some());

    let dir = KeyDir::open(c.keys_dir()).unwrap();
    assert!(!dir.manifest().development);
    let vk = dir.verifying_key(AEO).unwrap();
    let e = dir.entry(AEO).unwrap();
    let (_, bytes) = dir.read_checked(&e.pk_file, e.pk_id).unwrap();
    let pk: ark_groth16::ProvingKey<Bls12_381> = zkcustoms_verifier::keys::decode_exact(
        &bytes,
        ark_serialize::Compress::No,
        ark_serialize::Validate::Yes,
    )
    .unwrap();
    let (public, private) = registry::example_aeo_status();
    let inputs = aeo_status::public_inputs(&public).unwrap();
    let circuit = aeo_status::AeoStatusCircuit { public, private };
    let proof =
        Groth16::<Bls12_381>::prove(&pk, circuit, &mut ChaCha20Rng::seed_from_u64(3)).unwrap();
    assert!(
        Groth16::<Bls12_381>::verify_with_processed_vk(vk.prepared(), &inputs, &proof).unwrap()
    );
    let mut wrong = inputs.clone();
    wrong[0] += Fr::from(1u64);
    assert!(
        !Groth16::<Bls12_381>::verify_with_processed_vk(vk.prepared(), &wrong, &proof).unwrap()
    );
}
