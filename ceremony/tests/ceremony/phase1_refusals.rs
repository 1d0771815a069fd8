//! Phase 1 tampered at one step is refused at that step (on a phase 1 of 2^4: the checks do
//! not depend on the size).

use crate::fixture::{edit_phase1, phase1_done, quiet, replace, seed, step_path, test_beacon};
use ark_ec::CurveGroup;
use zkcustoms_ceremony::prepare::Phase1Source;
use zkcustoms_ceremony::{phase1, prepare, Ceremony, CeremonyError, Fault, Stage, Step};

fn refused_at(c: &Ceremony, index: u32) -> Fault {
    let err = phase1::verify(c, &mut quiet()).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        err.step(),
        Some(Step {
            stage: Stage::Phase1,
            index
        }),
        "{text}"
    );
    assert!(text.contains(&format!("phase 1 step {index}")), "{text}");
    assert!(text.contains(".ph1"), "the message names the file: {text}");
    err.fault().unwrap().clone()
}

fn small() -> (tempfile::TempDir, Ceremony) {
    let tmp = tempfile::tempdir().unwrap();
    let c = phase1_done(tmp.path(), 4);
    (tmp, c)
}

#[test]
fn an_untouched_phase1_verifies() {
    let (_tmp, c) = small();
    let v = phase1::verify(&c, &mut quiet()).unwrap();
    assert_eq!(v.reports.len(), 5);
    assert!(v.closed);
}

#[test]
fn a_corrupted_or_truncated_file_is_refused_at_its_step() {
    let (_tmp, c) = small();
    let path = step_path(&c, Stage::Phase1, 2);
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    let at = flipped.len() - 500;
    flipped[at] ^= 0x40;
    replace(&path, &flipped);
    assert_eq!(refused_at(&c, 2), Fault::Corrupted);
    replace(&path, &good[..good.len() - 96]);
    assert_eq!(refused_at(&c, 2), Fault::Corrupted);
    replace(&path, &good[..40]);
    assert!(matches!(refused_at(&c, 2), Fault::Malformed(_)));
    replace(&path, &good);
    phase1::verify(&c, &mut quiet()).unwrap();
}

#[test]
fn parameters_changed_with_a_fixed_up_hash_are_refused() {
    let (_tmp, c) = small();
    let path = step_path(&c, Stage::Phase1, 2);
    edit_phase1(&path, |_, p| p.tau_g1[5] = p.tau_g1[6]);
    assert!(matches!(refused_at(&c, 2), Fault::Inconsistent(_)));

    // Every element scaled by one more factor: consistent, but not derived with the proven tau.
    let (_tmp2, c) = small();
    let path = step_path(&c, Stage::Phase1, 1);
    edit_phase1(&path, |_, p| {
        let x = ark_bls12_381::Fr::from(3u64);
        let mut xi = ark_bls12_381::Fr::from(1u64);
        for (i, t) in p.tau_g1.iter_mut().enumerate() {
            *t = (*t * xi).into_affine();
            if i < p.tau_g2.len() {
                p.tau_g2[i] = (p.tau_g2[i] * xi).into_affine();
                p.alpha_g1[i] = (p.alpha_g1[i] * xi).into_affine();
                p.beta_g1[i] = (p.beta_g1[i] * xi).into_affine();
            }
            xi *= x;
        }
    });
    assert_eq!(refused_at(&c, 1), Fault::NotDerived("tau powers"));
}

/// The last file (the beacon) has no later file whose link would break: it is checked in full.
#[test]
fn a_last_file_that_is_not_consistent_is_refused() {
    let (_tmp, c) = small();
    let path = step_path(&c, Stage::Phase1, 4);
    edit_phase1(&path, |_, p| p.alpha_g1[3] = p.alpha_g1[2]);
    assert!(matches!(refused_at(&c, 4), Fault::Inconsistent(_)));
    let (_tmp, c) = small();
    let path = step_path(&c, Stage::Phase1, 4);
    edit_phase1(&path, |_, p| p.tau_g2.swap(1, 2));
    assert!(matches!(refused_at(&c, 4), Fault::Inconsistent(_)));
}

#[test]
fn a_proof_of_knowledge_from_another_step_is_refused() {
    let (_tmp, c) = small();
    let donor = step_path(&c, Stage::Phase1, 1);
    let mut stolen = None;
    edit_phase1(&donor, |r, _| stolen = Some(r.proofs.clone()));
    let path = step_path(&c, Stage::Phase1, 2);
    edit_phase1(&path, |r, _| r.proofs = stolen.unwrap());
    assert_eq!(refused_at(&c, 2), Fault::InvalidProof("tau"));
}

#[test]
fn files_in_the_wrong_order_are_refused() {
    let (_tmp, c) = small();
    let one = step_path(&c, Stage::Phase1, 1);
    let two = step_path(&c, Stage::Phase1, 2);
    let (a, b) = (std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    replace(&one, &b);
    replace(&two, &a);
    assert!(matches!(refused_at(&c, 1), Fault::OutOfPlace { .. }));
}

#[test]
fn a_contribution_that_does_not_build_on_the_previous_file_is_refused() {
    // A participant contributes to step 1 although step 2 exists: a fork.
    let (_tmp, c) = small();
    let fork_dir = tempfile::tempdir().unwrap();
    let fork = Ceremony::new(fork_dir.path());
    phase1::new(&fork, 4).unwrap();
    phase1::contribute(&fork, "DE customs", seed(1, 0), &mut quiet()).unwrap();
    phase1::contribute(&fork, "DE customs", seed(1, 0), &mut quiet()).unwrap();
    phase1::contribute(&fork, "Mallory", seed(9, 9), &mut quiet()).unwrap();
    // Step 3 of the fork builds on the fork's step 2, not on this transcript's step 2.
    let forked = std::fs::read(step_path(&fork, Stage::Phase1, 3)).unwrap();
    replace(&step_path(&c, Stage::Phase1, 3), &forked);
    assert!(matches!(refused_at(&c, 3), Fault::NotChained { .. }));
}

#[test]
fn a_missing_step_is_refused() {
    let (_tmp, c) = small();
    std::fs::remove_file(step_path(&c, Stage::Phase1, 2)).unwrap();
    let err = phase1::verify(&c, &mut quiet()).unwrap_err();
    assert!(
        matches!(err.fault(), Some(Fault::OutOfPlace { .. })),
        "{err}"
    );
    assert_eq!(err.step().unwrap().index, 2);
}

#[test]
fn a_beacon_is_applied_once_and_closes_the_phase() {
    let (_tmp, c) = small();
    let err = phase1::beacon(&c, &test_beacon(), &mut quiet()).unwrap_err();
    assert_eq!(err.fault(), Some(&Fault::AfterBeacon(4)), "{err}");
    let err = phase1::contribute(&c, "late", seed(1, 7), &mut quiet()).unwrap_err();
    assert_eq!(err.fault(), Some(&Fault::AfterBeacon(4)), "{err}");
    assert_eq!(
        c.chain(Stage::Phase1).unwrap().len(),
        5,
        "nothing was written"
    );
    // A file placed after the beacon is refused by verification.
    let copy = c.chain_path(
        Stage::Phase1,
        5,
        zkcustoms_ceremony::Kind::Phase1Contribution,
    );
    std::fs::copy(step_path(&c, Stage::Phase1, 3), &copy).unwrap();
    assert_eq!(refused_at(&c, 5), Fault::AfterBeacon(4));
}

#[test]
fn a_beacon_whose_secret_is_not_its_values_is_refused() {
    let (_tmp, c) = small();
    let path = step_path(&c, Stage::Phase1, 4);
    edit_phase1(&path, |r, _| {
        r.beacon.as_mut().unwrap().value = b"another block".to_vec();
    });
    assert_eq!(refused_at(&c, 4), Fault::BeaconMismatch);
}

#[test]
fn the_initial_file_must_be_the_generators() {
    let (_tmp, c) = small();
    let path = step_path(&c, Stage::Phase1, 0);
    edit_phase1(&path, |_, p| {
        p.alpha_g1[0] = (p.alpha_g1[0] * ark_bls12_381::Fr::from(2u64)).into_affine()
    });
    assert!(matches!(refused_at(&c, 0), Fault::Inconsistent(_)));
}

#[test]
fn prepare_needs_a_beacon_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Ceremony::new(tmp.path());
    phase1::new(&c, 4).unwrap();
    assert!(matches!(phase1::new(&c, 4), Err(CeremonyError::Exists(_))));
    phase1::contribute(&c, "DE customs", seed(1, 0), &mut quiet()).unwrap();
    let err = prepare::prepare(&c, None, &mut quiet()).unwrap_err();
    assert!(matches!(err, CeremonyError::Missing(_)), "{err}");
    phase1::beacon(&c, &test_beacon(), &mut quiet()).unwrap();
    prepare::prepare(&c, Some(3), &mut quiet()).unwrap();
    assert!(matches!(
        prepare::prepare(&c, Some(3), &mut quiet()),
        Err(CeremonyError::Exists(_))
    ));
    assert!(matches!(
        prepare::prepare(&c, Some(5), &mut quiet()),
        Err(CeremonyError::Invalid(_))
    ));
    // The prepared file is checked against phase 1 when read.
    let (_, p) = Phase1Source::new(&c).prepared(3, &mut quiet()).unwrap();
    assert_eq!(p.lagrange_g1.len(), 8);
    crate::fixture::edit_prepared(&c.prepared_path(3), |p| {
        p.lagrange_g1.swap(1, 2);
    });
    let err = Phase1Source::new(&c).prepared(3, &mut quiet()).unwrap_err();
    assert_eq!(err.step().unwrap().stage, Stage::Prepared(3), "{err}");
    assert!(matches!(err.fault(), Some(Fault::Inconsistent(_))), "{err}");
}
