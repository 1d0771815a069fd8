//! Batch verification and the blst pairing path, against arkworks single verification as the
//! reference, on many valid and invalid proofs.

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, UniformRand};
use rand::rngs::OsRng;
use rand::SeedableRng;
use std::sync::OnceLock;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_statement;
use zkcustoms_prover::{prove, ProvingKey};
use zkcustoms_verifier::batch::{holds, verify_group, Backend, PreparedProof};
use zkcustoms_verifier::{KeyDir, ProofEnvelope, PublicValues, VerifierKeys, VerifyError};

const BACKENDS: [Backend; 2] = [Backend::Arkworks, Backend::Blst];

struct Fixture {
    _dir: tempfile::TempDir,
    keys: VerifierKeys,
    aeo: ProofEnvelope,
    inv: ProofEnvelope,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let circuits = [
            CircuitId::AeoStatusV1,
            CircuitId::InvoiceValueV1(SizeClass::Lines4),
        ];
        setup_dev(dir.path(), &circuits, |_| {}).unwrap();
        let kd = KeyDir::open(dir.path()).unwrap();
        let make = |circuit| {
            let s = example_statement(circuit).unwrap();
            prove(&ProvingKey::load(&kd, circuit).unwrap(), &s, &mut OsRng).unwrap()
        };
        Fixture {
            aeo: make(circuits[0]),
            inv: make(circuits[1]),
            keys: kd.verifying_keys().unwrap(),
            _dir: dir,
        }
    })
}

/// A re-randomised copy: a different, equally valid proof of the same statement.
fn fresh(env: &ProofEnvelope) -> ProofEnvelope {
    let key = fixture().keys.get(env.circuit).unwrap();
    let mut copy = env.clone();
    copy.proof = ark_groth16::Groth16::<Bls12_381>::rerandomize_proof(
        key.arkworks(),
        &env.proof,
        &mut OsRng,
    );
    copy
}

/// An invalid copy: a public value changed.
fn forged(env: &ProofEnvelope) -> ProofEnvelope {
    let mut copy = fresh(env);
    match &mut copy.public {
        PublicValues::AeoStatus(p) => p.nullifier += Fr::one(),
        PublicValues::InvoiceValue(p) => p.declared_value_minor += 1,
        _ => unreachable!(),
    }
    copy
}

fn verdicts(results: &[Result<(), VerifyError>]) -> Vec<bool> {
    results.iter().map(Result::is_ok).collect()
}

#[test]
fn an_empty_batch_is_an_empty_answer() {
    for backend in BACKENDS {
        assert!(fixture().keys.verify_batch(&[], backend).is_empty());
    }
}

#[test]
fn one_invalid_proof_among_255_valid_is_named() {
    let f = fixture();
    let mut batch: Vec<ProofEnvelope> = (0..256).map(|_| fresh(&f.aeo)).collect();
    batch[137] = forged(&f.aeo);
    for backend in BACKENDS {
        let results = f.keys.verify_batch(&batch, backend);
        for (i, r) in results.iter().enumerate() {
            if i == 137 {
                assert_eq!(r, &Err(VerifyError::InvalidProof), "{backend:?}");
            } else {
                assert_eq!(r, &Ok(()), "{backend:?} proof {i}");
            }
        }
    }
}

/// The verdict on a whole (a vote on a block): every proof valid, or the first envelope that
/// cannot be checked, or the first of a key's proofs when they fail together.
#[test]
fn all_or_nothing_names_the_first_failing_entry_or_group() {
    let f = fixture();
    let good: Vec<ProofEnvelope> = vec![fresh(&f.aeo), fresh(&f.inv), fresh(&f.aeo), fresh(&f.inv)];
    let mut no_key = fresh(&f.inv);
    no_key.circuit = CircuitId::InvoiceValueV1(SizeClass::Lines16);
    for backend in BACKENDS {
        assert_eq!(f.keys.verify_all(&good, backend), Ok(()));
        assert_eq!(f.keys.verify_all(&[], backend), Ok(()));
        // An invalid invoice-value proof fails the invoice group, from its first proof (1).
        let mut one_bad = good.clone();
        one_bad[3] = forged(&f.inv);
        assert_eq!(
            f.keys.verify_all(&one_bad, backend),
            Err((1, VerifyError::InvalidProof)),
            "{backend:?}"
        );
        // Both groups fail: the lower first index. An entry that cannot be checked comes first.
        one_bad[2] = forged(&f.aeo);
        assert_eq!(
            f.keys.verify_all(&one_bad, backend),
            Err((0, VerifyError::InvalidProof))
        );
        one_bad.push(no_key.clone());
        assert!(matches!(
            f.keys.verify_all(&one_bad, backend),
            Err((4, VerifyError::NoKey(_)))
        ));
    }
}

#[test]
fn mixed_statements_keys_duplicates_and_bad_entries() {
    let f = fixture();
    let mut wrong_key = fresh(&f.aeo);
    wrong_key.vk_id = f.inv.vk_id;
    let mut no_key = fresh(&f.inv);
    no_key.circuit = CircuitId::InvoiceValueV1(SizeClass::Lines16);
    let batch = vec![
        fresh(&f.aeo),
        fresh(&f.inv),
        f.aeo.clone(),
        f.aeo.clone(), // a duplicate: still a valid proof (the ledger's nullifiers refuse reuse)
        forged(&f.inv),
        wrong_key,
        fresh(&f.inv),
        no_key,
        forged(&f.aeo),
        forged(&f.aeo),
    ];
    for backend in BACKENDS {
        let results = f.keys.verify_batch(&batch, backend);
        assert_eq!(
            verdicts(&results),
            [true, true, true, true, false, false, true, false, false, false],
            "{backend:?}"
        );
        assert!(matches!(results[5], Err(VerifyError::WrongKey { .. })));
        assert!(matches!(results[7], Err(VerifyError::NoKey(_))));
        assert_eq!(results[4], Err(VerifyError::InvalidProof));
    }
}

#[test]
fn all_invalid_and_wrong_input_counts() {
    let f = fixture();
    let key = f.keys.get(CircuitId::AeoStatusV1).unwrap();
    let batch: Vec<ProofEnvelope> = (0..9).map(|_| forged(&f.aeo)).collect();
    for backend in BACKENDS {
        assert!(verdicts(&f.keys.verify_batch(&batch, backend))
            .iter()
            .all(|ok| !ok));
    }
    let good = prepared(&fresh(&f.aeo));
    let mut short = prepared(&fresh(&f.aeo));
    short.inputs.pop();
    let mut long = prepared(&fresh(&f.aeo));
    long.inputs.push(Fr::one());
    for backend in BACKENDS {
        assert_eq!(
            verify_group(
                key,
                &[good.clone(), short.clone(), long.clone(), good.clone()],
                backend
            ),
            [true, false, false, true]
        );
    }
}

#[test]
fn malformed_json_in_a_batch_does_not_disturb_the_others() {
    let f = fixture();
    let good = fresh(&f.inv).to_json();
    let texts = [good.as_str(), "{", "[]", good.as_str()];
    let results = f.keys.verify_batch_json(&texts, Backend::default());
    assert!(results[0].is_ok() && results[3].is_ok());
    assert!(matches!(results[1], Err(VerifyError::Malformed(_))));
    assert!(matches!(results[2], Err(VerifyError::Malformed(_))));
}

fn prepared(env: &ProofEnvelope) -> PreparedProof {
    PreparedProof {
        proof: env.proof.clone(),
        inputs: env.public.to_field_elements(env.circuit).unwrap(),
    }
}

/// Proofs that are well-formed but wrong in different ways.
fn invalid_variants(env: &ProofEnvelope, rng: &mut impl rand::RngCore) -> Vec<PreparedProof> {
    let good = prepared(&fresh(env));
    let mut out = Vec::new();
    let mut p = good.clone();
    p.inputs[0] += Fr::one();
    out.push(p);
    let mut p = good.clone();
    let last = p.inputs.len() - 1;
    p.inputs[last] = Fr::rand(rng);
    out.push(p);
    let mut p = good.clone();
    std::mem::swap(&mut p.proof.a, &mut p.proof.c);
    out.push(p);
    let mut p = good.clone();
    p.proof.a = (G1Affine::generator() * Fr::rand(rng)).into_affine();
    out.push(p);
    let mut p = good.clone();
    p.proof.b = (G2Affine::generator() * Fr::rand(rng)).into_affine();
    out.push(p);
    let mut p = good.clone();
    p.proof.a = G1Affine::zero();
    out.push(p);
    let mut p = good;
    p.proof.c = (p.proof.c + G1Affine::generator()).into_affine();
    out.push(p);
    out
}

#[test]
fn blst_and_arkworks_agree_on_many_valid_and_invalid_proofs() {
    let f = fixture();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    for env in [&f.aeo, &f.inv] {
        let key = f.keys.get(env.circuit).unwrap();
        let mut cases: Vec<(PreparedProof, bool)> =
            (0..24).map(|_| (prepared(&fresh(env)), true)).collect();
        for _ in 0..4 {
            cases.extend(
                invalid_variants(env, &mut rng)
                    .into_iter()
                    .map(|p| (p, false)),
            );
        }
        for (p, expected) in &cases {
            for backend in BACKENDS {
                assert_eq!(holds(key, &[p], backend), *expected, "{backend:?}");
            }
            // The reference: plain arkworks verification.
            let reference = ark_groth16::Groth16::<Bls12_381>::verify_proof(
                key.prepared(),
                &p.proof,
                &p.inputs,
            )
            .unwrap();
            assert_eq!(reference, *expected);
        }
        let all: Vec<PreparedProof> = cases.iter().map(|(p, _)| p.clone()).collect();
        let expected: Vec<bool> = cases.iter().map(|(_, e)| *e).collect();
        for backend in BACKENDS {
            assert_eq!(verify_group(key, &all, backend), expected, "{backend:?}");
            let valid: Vec<&PreparedProof> =
                cases.iter().filter(|(_, e)| *e).map(|(p, _)| p).collect();
            assert!(holds(key, &valid, backend));
            let mut one_bad = valid.clone();
            one_bad.push(&cases.last().unwrap().0);
            assert!(!holds(key, &one_bad, backend));
            // A valid proof with an input more, or one less, fails alone and in a batch alike.
            let changes: [fn(&mut Vec<Fr>); 2] = [
                |i| i.push(Fr::one()),
                |i| {
                    i.pop();
                },
            ];
            for change in changes {
                let mut odd = valid[0].clone();
                change(&mut odd.inputs);
                assert!(!holds(key, &[&odd], backend), "{backend:?}");
                assert!(!holds(key, &[&odd, valid[1]], backend), "{backend:?}");
            }
        }
    }
}
