//! The aeo-status phase 2 tampered at one step is refused at that step.

use crate::fixture::{aeo, copy, edit_phase2, edit_prepared, quiet, reencode, replace, seed};
use crate::fixture::{step_path, test_beacon, AEO};
use ark_bls12_381::Fr;
use ark_ec::CurveGroup;
use ark_ff::Field;
use zkcustoms_ceremony::prepare::Phase1Source;
use zkcustoms_ceremony::{phase1, phase2, Ceremony, CeremonyError, Fault, Stage, Step};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;

const STAGE: Stage = Stage::Phase2(AEO);

fn refused_at(c: &Ceremony, index: u32) -> Fault {
    let err = phase2::verify(&mut Phase1Source::new(c), AEO, &mut quiet()).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        err.step(),
        Some(Step {
            stage: STAGE,
            index
        }),
        "{text}"
    );
    assert!(
        text.contains(&format!("phase 2 of aeo-status/v1 step {index}")),
        "{text}"
    );
    assert!(text.contains(".ph2"), "the message names the file: {text}");
    err.fault().unwrap().clone()
}

#[test]
fn a_corrupted_file_is_refused_at_its_step() {
    let (_tmp, c) = copy(&aeo().ceremony);
    let path = step_path(&c, STAGE, 2);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    replace(&path, &bytes);
    assert_eq!(refused_at(&c, 2), Fault::Corrupted);
}

#[test]
fn queries_not_divided_by_the_proven_delta_are_refused() {
    let (_tmp, c) = copy(&aeo().ceremony);
    edit_phase2(&step_path(&c, STAGE, 2), |_, k| k.l_query.swap(0, 1));
    assert_eq!(refused_at(&c, 2), Fault::NotDerived("H and L queries"));
}

#[test]
fn a_delta_changed_by_an_unproven_factor_is_refused() {
    // Consistent in itself (delta times 2, H and L divided by 2), but not the proven secret.
    let (_tmp, c) = copy(&aeo().ceremony);
    edit_phase2(&step_path(&c, STAGE, 1), |_, k| {
        let two = Fr::from(2u64);
        let half = two.inverse().unwrap();
        k.delta_g1 = (k.delta_g1 * two).into_affine();
        k.vk.delta_g2 = (k.vk.delta_g2 * two).into_affine();
        for p in k.h_query.iter_mut().chain(k.l_query.iter_mut()) {
            *p = (*p * half).into_affine();
        }
    });
    assert_eq!(refused_at(&c, 1), Fault::NotDerived("delta"));
}

/// The last file (the beacon) has no later file whose link would break: the checks of the last
/// key against the circuit, the prepared phase 1 and the proven delta refuse it.
#[test]
fn a_last_key_that_is_not_the_circuits_for_its_delta_is_refused() {
    type Edit = fn(&mut phase2::Key);
    let edits: [(Edit, Fault); 4] = [
        (
            |k| k.l_query.swap(0, 1),
            Fault::NotDerived("H and L queries"),
        ),
        (
            |k| k.h_query.swap(2, 3),
            Fault::NotDerived("H and L queries"),
        ),
        (
            |k| k.a_query.swap(10, 11),
            Fault::NotTheCircuit(
                "its alpha, beta, gamma, input, A or B elements are not the ones phase 1 gives",
            ),
        ),
        (
            |k| {
                let two = Fr::from(2u64);
                let half = two.inverse().unwrap();
                k.delta_g1 = (k.delta_g1 * two).into_affine();
                k.vk.delta_g2 = (k.vk.delta_g2 * two).into_affine();
                for p in k.h_query.iter_mut().chain(k.l_query.iter_mut()) {
                    *p = (*p * half).into_affine();
                }
            },
            Fault::NotDerived("delta"),
        ),
    ];
    for (edit, fault) in edits {
        let (_tmp, c) = copy(&aeo().ceremony);
        edit_phase2(&step_path(&c, STAGE, 4), |_, k| edit(k));
        assert_eq!(refused_at(&c, 4), fault);
    }
}

#[test]
fn a_key_for_another_constraint_system_is_refused() {
    let (_tmp, c) = copy(&aeo().ceremony);
    edit_phase2(&step_path(&c, STAGE, 3), |_, k| k.a_query.swap(10, 11));
    assert!(matches!(refused_at(&c, 3), Fault::NotTheCircuit(_)));
}

#[test]
fn an_initial_key_for_another_constraint_system_is_refused() {
    let (_tmp, c) = copy(&aeo().ceremony);
    edit_phase2(&step_path(&c, STAGE, 0), |_, k| k.b_g2_query.swap(20, 21));
    assert_eq!(
        refused_at(&c, 0),
        Fault::NotTheCircuit("the B query in G2 is not the circuit's")
    );
}

#[test]
fn a_proof_of_knowledge_from_another_step_is_refused() {
    let (_tmp, c) = copy(&aeo().ceremony);
    let mut stolen = None;
    edit_phase2(&step_path(&c, STAGE, 2), |r, _| {
        stolen = Some(r.proofs.clone())
    });
    edit_phase2(&step_path(&c, STAGE, 3), |r, _| r.proofs = stolen.unwrap());
    assert_eq!(refused_at(&c, 3), Fault::InvalidProof("delta"));
}

#[test]
fn a_file_of_another_circuit_is_refused() {
    let (_tmp, c) = copy(&aeo().ceremony);
    reencode(&step_path(&c, STAGE, 1), |h, _| {
        h.circuit = Some(CircuitId::InvoiceValueV1(SizeClass::Lines4));
    });
    assert!(matches!(refused_at(&c, 1), Fault::OtherCircuit { .. }));
}

#[test]
fn a_file_built_on_another_phase1_is_refused() {
    let (_tmp, c) = copy(&aeo().ceremony);
    reencode(&step_path(&c, STAGE, 1), |h, _| h.phase1 = [7; 32]);
    assert!(matches!(refused_at(&c, 1), Fault::OtherPhase1 { .. }));
}

#[test]
fn a_tampered_prepared_phase1_is_refused_before_any_phase2_step() {
    let (_tmp, c) = copy(&aeo().ceremony);
    edit_prepared(&c.prepared_path(13), |p| p.h_g1.swap(0, 1));
    let err = phase2::verify(&mut Phase1Source::new(&c), AEO, &mut quiet()).unwrap_err();
    assert_eq!(err.step().unwrap().stage, Stage::Prepared(13), "{err}");
    assert!(matches!(err.fault(), Some(Fault::Inconsistent(_))), "{err}");
}

#[test]
fn a_beacon_is_applied_once_and_closes_phase2() {
    let (_tmp, c) = copy(&aeo().ceremony);
    let err = phase2::beacon(&c, AEO, &test_beacon(), &mut quiet()).unwrap_err();
    assert_eq!(err.fault(), Some(&Fault::AfterBeacon(4)), "{err}");
    let err = phase2::contribute(&c, AEO, "late", seed(2, 7), &mut quiet()).unwrap_err();
    assert_eq!(err.fault(), Some(&Fault::AfterBeacon(4)), "{err}");
    assert_eq!(c.chain(STAGE).unwrap().len(), 5, "nothing was written");
}

/// A beacon's secrets are public: a phase 2 that only a beacon changed has a delta anyone can
/// recompute. Applying it is refused, and a transcript with a beacon straight after `new` is
/// refused at the beacon.
#[test]
fn a_beacon_cannot_close_a_phase2_nobody_contributed_to() {
    let (_tmp, c) = copy(&aeo().ceremony);
    let first = step_path(&c, STAGE, 1);
    for i in (1..=4).rev() {
        std::fs::remove_file(step_path(&c, STAGE, i)).unwrap();
    }
    let err = phase2::beacon(&c, AEO, &test_beacon(), &mut quiet()).unwrap_err();
    assert_eq!(err.fault(), Some(&Fault::NobodyContributed), "{err}");
    assert_eq!(c.chain(STAGE).unwrap().len(), 1, "nothing was written");

    // The first contribution, restored and relabelled a beacon.
    let (_tmp2, original) = copy(&aeo().ceremony);
    let beacon = first.with_file_name("0001-beacon.ph2");
    std::fs::copy(step_path(&original, STAGE, 1), &beacon).unwrap();
    reencode(&beacon, |h, _| {
        h.kind = zkcustoms_ceremony::Kind::Phase2Beacon
    });
    assert_eq!(refused_at(&c, 1), Fault::NobodyContributed);
}

#[test]
fn a_phase1_too_small_for_the_circuit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Ceremony::new(tmp.path());
    phase1::new(&c, 4).unwrap();
    let err = phase2::new(&mut Phase1Source::new(&c), AEO, &mut quiet()).unwrap_err();
    assert!(
        matches!(err, CeremonyError::TooSmall { have: 4, need: 13 }),
        "{err}"
    );
    assert!(c.chain(STAGE).unwrap().is_empty());
}
