//! The ceremony end to end on aeo-status: three participants and a beacon in each phase, keys
//! that prove and verify, the transcript that verification accepts, and every kind of bad input
//! refused at its step.

mod fixture;
mod phase1_refusals;
mod phase2_refusals;
mod ptau;

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_serialize::{Compress, Validate};
use ark_snark::SNARK;
use fixture::{aeo, copy, quiet, AEO, PARTICIPANTS};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use zkcustoms_ceremony::prepare::Phase1Source;
use zkcustoms_ceremony::{finalize, phase1, phase2, CeremonyError, Event, Kind, StepReport};
use zkcustoms_circuits::aeo_status::{self, AeoStatusCircuit};
use zkcustoms_circuits::registry;
use zkcustoms_verifier::keys::decode_exact;
use zkcustoms_verifier::KeyDir;

/// The seed of development keys (`prover/src/setup.rs`), so that this test can make the same
/// development key without depending on the prover.
const DEV_SEED: &str = "zkcustoms development keys v1 - NOT FOR PRODUCTION";

fn dev_keys() -> (ProvingKey<Bls12_381>, ark_groth16::VerifyingKey<Bls12_381>) {
    let mut h = Sha256::new();
    h.update(DEV_SEED.as_bytes());
    h.update(AEO.file_stem().as_bytes());
    let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
    Groth16::<Bls12_381>::circuit_specific_setup(registry::aeo_status_dummy(), &mut rng).unwrap()
}

fn ceremony_keys() -> (ProvingKey<Bls12_381>, zkcustoms_verifier::VerifyingKey) {
    let dir = KeyDir::open(aeo().ceremony.keys_dir()).unwrap();
    assert!(!dir.manifest().development);
    let vk = dir.verifying_key(AEO).unwrap();
    let e = dir.entry(AEO).unwrap();
    let (_, bytes) = dir.read_checked(&e.pk_file, e.pk_id).unwrap();
    let pk = decode_exact(&bytes, Compress::No, Validate::Yes).unwrap();
    (pk, vk)
}

fn example() -> (AeoStatusCircuit, Vec<Fr>) {
    let (public, private) = registry::example_aeo_status();
    let inputs = aeo_status::public_inputs(&public).unwrap();
    (AeoStatusCircuit { public, private }, inputs)
}

#[test]
fn three_contributors_and_a_beacon_give_keys_that_prove_and_verify() {
    let fx = aeo();
    for (what, t) in &fx.timings {
        eprintln!("{what}: {:.2} s", t.as_secs_f64());
    }
    let (pk, vk) = ceremony_keys();
    assert_eq!(
        pk.vk,
        *vk.arkworks(),
        "the proving key holds the verifying key"
    );
    let (circuit, inputs) = example();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let proof = Groth16::<Bls12_381>::prove(&pk, circuit, &mut rng).unwrap();
    assert!(
        Groth16::<Bls12_381>::verify_with_processed_vk(vk.prepared(), &inputs, &proof).unwrap()
    );
    let mut wrong = inputs.clone();
    wrong[5] += Fr::from(1u64);
    assert!(
        !Groth16::<Bls12_381>::verify_with_processed_vk(vk.prepared(), &wrong, &proof).unwrap()
    );
}

/// The long parts count their work for the progress bars, each unit exactly once: every meter
/// ends at its total.
#[test]
fn the_long_parts_count_their_work_to_its_total() {
    let counted = &aeo().counted;
    for (what, done, total) in counted {
        assert!(*total > 0, "{what}: no work to count");
        assert_eq!(done, total, "{what}: counted {done} of {total}");
    }
    let count = |name: &str| counted.iter().filter(|(w, _, _)| w == name).count();
    // Three contributions and a beacon in each phase; one preparation; one phase-2 start.
    for part in [
        "tau powers in G1",
        "tau powers in G2",
        "alpha tau powers",
        "beta tau powers",
    ] {
        assert_eq!(count(part), 4, "{part}");
    }
    for part in [
        "Lagrange basis in G1",
        "Lagrange basis in G2",
        "alpha Lagrange basis",
        "beta Lagrange basis",
        "A, B and C times the Lagrange basis",
        "A times beta, B times alpha",
        "B in G2",
    ] {
        assert_eq!(count(part), 1, "{part}");
    }
    assert_eq!(count("H and L queries"), 4);
    assert_eq!(counted.len(), 27, "{counted:?}");
}

/// `finalize` ran `phase1::verify` and `phase2::verify` on the whole transcript (the fixture
/// keeps what they returned rather than verifying twice).
#[test]
fn verify_accepts_the_transcript_and_lists_every_contribution() {
    let fx = aeo();
    let p1 = &fx.finalized.phase1;
    assert_eq!(fx.finalized.phase2.len(), 1);
    let (circuit, p2) = &fx.finalized.phase2[0];
    assert_eq!(*circuit, AEO);
    for (reports, new) in [
        (&p1.reports, Kind::Phase1New),
        (&p2.reports, Kind::Phase2New),
    ] {
        let kinds: Vec<Kind> = reports.iter().map(|r| r.kind).collect();
        assert_eq!(kinds[0], new);
        assert!(kinds[4].is_beacon());
        let names: Vec<&str> = reports.iter().map(|r| r.participant.as_str()).collect();
        assert_eq!(
            names,
            [
                "",
                PARTICIPANTS[0],
                PARTICIPANTS[1],
                PARTICIPANTS[2],
                "beacon"
            ]
        );
        // Each attestation quotes the hashes verification reports.
        for r in &reports[1..] {
            let text = std::fs::read_to_string(r.file.with_extension("attestation.txt")).unwrap();
            assert!(text.contains(&hex::encode(r.file_hash)));
            assert!(text.contains(&hex::encode(r.contribution_hash)));
            assert!(text.contains(&r.participant));
            // A beacon states where its secrets come from; only people claim secret randomness.
            let beacon = fixture::test_beacon();
            assert_eq!(
                text.contains(&format!(
                    "public beacon value {}",
                    hex::encode(&beacon.value)
                )),
                r.kind.is_beacon(),
                "{text}"
            );
            assert_eq!(
                text.contains("I contributed"),
                !r.kind.is_beacon(),
                "{text}"
            );
        }
    }
    assert!(p1.closed && p2.closed);
    assert_eq!(p1.power, 13);
    assert_eq!(p2.last.hash, p2.reports[4].file_hash);
}

/// The two depths of verification accept the same transcript with the same reports; the
/// linked one checks phase 1's first and last files and phase 2's last file in full.
#[test]
fn linked_and_every_file_verification_agree_and_say_what_they_checked() {
    let c = &aeo().ceremony;
    let linked = phase1::verify(c, &mut quiet()).unwrap();
    let full = phase1::verify_every_file(c, &mut quiet()).unwrap();
    let hashes = |r: &[StepReport]| r.iter().map(|r| r.file_hash).collect::<Vec<_>>();
    let in_full = |r: &[StepReport]| r.iter().map(|r| r.in_full).collect::<Vec<_>>();
    assert_eq!(hashes(&linked.reports), hashes(&full.reports));
    assert_eq!(in_full(&linked.reports), [true, false, false, false, true]);
    assert_eq!(in_full(&full.reports), [true; 5]);
    assert_eq!(linked.last, full.last);
    let mut source = Phase1Source::verified(c, &linked);
    let linked = phase2::verify(&mut source, AEO, &mut quiet()).unwrap();
    let full = phase2::verify_every_file(&mut source, AEO, &mut quiet()).unwrap();
    assert_eq!(hashes(&linked.reports), hashes(&full.reports));
    assert_eq!(in_full(&linked.reports), [false, false, false, false, true]);
    assert_eq!(in_full(&full.reports), [true; 5]);
    assert_eq!(linked.last.hash, full.last.hash);
    // What the linked walk reads of a key is the decoded key's delta.
    let key = decode_exact::<phase2::Key>(
        phase2::key_bytes(&linked.last).unwrap(),
        Compress::No,
        Validate::Yes,
    )
    .unwrap();
    let delta = phase2::read_delta(phase2::key_bytes(&linked.last).unwrap()).unwrap();
    assert_eq!(delta, (key.delta_g1, key.vk.delta_g2));
}

/// Phase 2 of several circuits reads phase 1's last file and each prepared file once.
#[test]
fn a_phase1_source_reads_each_file_once() {
    let c = &aeo().ceremony;
    let started = std::cell::RefCell::new(Vec::new());
    let mut log = |e: Event<'_>| {
        if let Event::Started(what, _) = e {
            started.borrow_mut().push(what.to_owned());
        }
    };
    let mut source = Phase1Source::new(c);
    for _ in 0..2 {
        phase2::verify(&mut source, AEO, &mut log).unwrap();
    }
    let started = started.into_inner();
    let count = |part: &str| started.iter().filter(|s| s.as_str() == part).count();
    assert_eq!(count("reading the last phase-1 file"), 1, "{started:?}");
    assert_eq!(count("reading phase 1 prepared for 2^13"), 1, "{started:?}");
    assert_eq!(count("checking the prepared phase 1"), 1, "{started:?}");
    assert_eq!(count("synthesizing aeo-status/v1"), 2, "{started:?}");
}

#[test]
fn ceremony_keys_are_not_the_dev_keys_and_dev_proofs_do_not_verify_under_them() {
    let (pk, vk) = ceremony_keys();
    let (dev_pk, dev_vk) = dev_keys();
    assert_ne!(dev_vk, *vk.arkworks());
    assert_ne!(dev_pk.a_query, pk.a_query);
    let (circuit, inputs) = example();
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let dev_proof = Groth16::<Bls12_381>::prove(&dev_pk, circuit, &mut rng).unwrap();
    assert!(Groth16::<Bls12_381>::verify(&dev_vk, &inputs, &dev_proof).unwrap());
    assert!(
        !Groth16::<Bls12_381>::verify_with_processed_vk(vk.prepared(), &inputs, &dev_proof)
            .unwrap()
    );
}

#[test]
fn setup_installs_the_transcripts_keys_and_says_what_is_missing() {
    let c = &aeo().ceremony;
    let out = tempfile::tempdir().unwrap();
    let keys = out.path().join("keys");
    let manifest = finalize::install(c, &[AEO], &keys, &mut quiet())
        .unwrap()
        .manifest;
    assert!(!manifest.development);
    let installed = KeyDir::open(&keys).unwrap();
    let original = KeyDir::open(c.keys_dir()).unwrap();
    assert_eq!(
        installed.entry(AEO).unwrap().pk_id,
        original.entry(AEO).unwrap().pk_id
    );
    // Installing again over it is refused; nothing is replaced.
    assert!(matches!(
        finalize::install(c, &[AEO], &keys, &mut quiet()),
        Err(CeremonyError::Exists(_))
    ));

    // Every circuit: the others have not even started.
    let err = finalize::install(
        c,
        &zkcustoms_circuits::CircuitId::ALL,
        &out.path().join("all"),
        &mut quiet(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CeremonyError::Missing(_)), "{text}");
    assert!(
        text.contains("has no keys for invoice-value/v1:4"),
        "{text}"
    );
    assert!(text.contains("phase 2 not started"), "{text}");
    assert!(text.contains("aeo-status/v1: finalized"), "{text}");

    // A ceremony whose key directory holds other keys (here: the development keys).
    let (_tmp, forged) = copy(c);
    let (_, dev_vk) = dev_keys();
    let vk_bytes = zkcustoms_verifier::VerifyingKey::canonical_bytes(&dev_vk);
    let dir = forged.keys_dir();
    let manifest_path = dir.join(zkcustoms_verifier::keys::MANIFEST);
    let mut m: zkcustoms_verifier::keys::Manifest =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    m.keys[0].vk_id = zkcustoms_verifier::KeyId::of(&vk_bytes);
    fixture::replace(&dir.join(&m.keys[0].vk_file), &vk_bytes);
    fixture::replace(
        &manifest_path,
        serde_json::to_string(&m).unwrap().as_bytes(),
    );
    let err =
        finalize::install(&forged, &[AEO], &out.path().join("forged"), &mut quiet()).unwrap_err();
    assert!(matches!(err, CeremonyError::Keys { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("do not come from the ceremony transcript"));
    assert!(!out.path().join("forged").join("manifest.json").exists());
}

/// `setup --ceremony` verifies the transcript it installs from, not only that the keys are its
/// last file's: a directory whose phase 1 holds a step that does not verify is refused, though
/// its keys and its last phase-2 file are intact.
#[test]
fn setup_verifies_the_whole_transcript() {
    let (_tmp, forged) = copy(&aeo().ceremony);
    let second = forged.chain(zkcustoms_ceremony::Stage::Phase1).unwrap()[2].clone();
    fixture::reencode(&second, |_, body| {
        let last = body.len() - 1;
        body[last] ^= 1;
    });
    let out = tempfile::tempdir().unwrap();
    let err =
        finalize::install(&forged, &[AEO], &out.path().join("keys"), &mut quiet()).unwrap_err();
    assert!(matches!(err, CeremonyError::Refused { .. }), "{err}");
    assert_eq!(
        err.step().map(|s| s.stage),
        Some(zkcustoms_ceremony::Stage::Phase1),
        "{err}"
    );
    assert!(!out.path().join("keys").join("manifest.json").exists());
}

#[test]
fn finalize_never_overwrites_a_key_directory() {
    let c = &aeo().ceremony;
    let before = std::fs::read(c.keys_dir().join("manifest.json")).unwrap();
    let err = finalize::finalize(c, &[AEO], None, &mut quiet()).unwrap_err();
    assert!(matches!(err, CeremonyError::Exists(_)), "{err}");
    assert_eq!(
        std::fs::read(c.keys_dir().join("manifest.json")).unwrap(),
        before
    );
}

#[test]
fn an_install_cut_short_before_its_manifest_can_be_run_again() {
    let c = &aeo().ceremony;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(c.keys_dir().join("manifest.json")).unwrap())
            .unwrap();
    let vk_file = manifest["keys"][0]["vk_file"].as_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    // What a crash after the first key file leaves: that file, and no manifest.
    let keys = out.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(c.keys_dir().join(vk_file), keys.join(vk_file)).unwrap();
    finalize::install(c, &[AEO], &keys, &mut quiet()).unwrap();
    assert_eq!(
        std::fs::read(keys.join(vk_file)).unwrap(),
        std::fs::read(c.keys_dir().join(vk_file)).unwrap()
    );
    assert!(keys.join("manifest.json").exists());
    // A file there that is not this key is never replaced.
    let other = out.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(vk_file), b"another key").unwrap();
    let err = finalize::install(c, &[AEO], &other, &mut quiet()).unwrap_err();
    assert!(matches!(err, CeremonyError::Exists(_)), "{err}");
    assert_eq!(std::fs::read(other.join(vk_file)).unwrap(), b"another key");
    assert!(!other.join("manifest.json").exists());
}
