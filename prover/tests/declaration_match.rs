//! `declaration-match/v1` through the libraries: a development key, the example witness (two
//! invoice lines sharing a heading) proved and verified, every changed public value refused, and
//! bad declarations answered with the check that failed before any proving.

use rand::rngs::OsRng;
use std::sync::OnceLock;
use zkcustoms_circuits::declaration_match::{self, DeclarationItem};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::{example, example_statement};
use zkcustoms_prover::{prove, ProverError, ProvingKey, Statement, Witness};
use zkcustoms_verifier::{KeyDir, ProofEnvelope, PublicValues, VerifierKeys, VerifyError};

const CIRCUIT: CircuitId = CircuitId::DeclarationMatchV1(SizeClass::Lines4);

/// The key directory and the example proof, made once per test binary.
fn fixture() -> &'static (tempfile::TempDir, ProofEnvelope) {
    static F: OnceLock<(tempfile::TempDir, ProofEnvelope)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let manifest = setup_dev(dir.path(), &[CIRCUIT], |_| {}).unwrap();
        assert_eq!(manifest.keys[0].statement, declaration_match::ID);
        assert_eq!(manifest.keys[0].size_class, Some(SizeClass::Lines4));
        let kd = KeyDir::open(dir.path()).unwrap();
        let pk = ProvingKey::load(&kd, CIRCUIT).unwrap();
        let env = prove(&pk, &example_statement(CIRCUIT).unwrap(), &mut OsRng).unwrap();
        (dir, env)
    })
}

fn verifier() -> VerifierKeys {
    KeyDir::open(fixture().0.path())
        .unwrap()
        .verifying_keys()
        .unwrap()
}

fn items(env: &mut ProofEnvelope) -> &mut Vec<DeclarationItem> {
    match &mut env.public {
        PublicValues::DeclarationMatch(p) => &mut p.items,
        _ => panic!("not a declaration-match envelope"),
    }
}

#[test]
fn the_example_proves_and_verifies_through_json_and_binary() {
    let v = verifier();
    let env = &fixture().1;
    assert_eq!(env.circuit, CIRCUIT);
    let back = v.verify_json(&env.to_json()).unwrap();
    assert_eq!(back.public, env.public);
    v.verify(&ProofEnvelope::from_bytes(&env.to_bytes()).unwrap())
        .unwrap();
    let mut env = env.clone();
    assert_eq!(items(&mut env).len(), 2);
    let said = zkcustoms_verifier::describe(&env);
    assert!(said.contains("850440 16000.00, 854442 2432.50"), "{said}");
}

#[test]
fn a_wrong_public_input_fails() {
    let v = verifier();
    type Edit = fn(&mut ProofEnvelope);
    let edits: [(&str, Edit); 6] = [
        ("a value", |e| items(e)[0].value_minor += 1),
        ("a value moved between headings", |e| {
            items(e)[0].value_minor -= 100;
            items(e)[1].value_minor += 100;
        }),
        ("a heading", |e| items(e)[1].hs_code = "854449".into()),
        ("the item order", |e| items(e).reverse()),
        ("an extra item", |e| {
            items(e).push(DeclarationItem {
                hs_code: "940360".into(),
                value_minor: 0,
            })
        }),
        ("the digest", |e| {
            if let PublicValues::DeclarationMatch(p) = &mut e.public {
                p.digest[0] ^= 1;
            }
        }),
    ];
    for (what, edit) in edits {
        let mut env = fixture().1.clone();
        edit(&mut env);
        assert_eq!(v.verify(&env), Err(VerifyError::InvalidProof), "{what}");
    }
    // An item left out, as an envelope: the proof does not verify either.
    let mut env = fixture().1.clone();
    items(&mut env).pop();
    assert_eq!(v.verify(&env), Err(VerifyError::InvalidProof));
}

/// The example witness with an edit, turned into a statement and checked.
fn checked(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Statement, ProverError> {
    let mut w = example(declaration_match::ID).unwrap();
    edit(&mut w);
    let s = Witness::from_json(declaration_match::ID, &w.to_string())?.statement()?;
    s.check()?;
    Ok(s)
}

fn refused(edit: impl FnOnce(&mut serde_json::Value), expected: &str) {
    match checked(edit) {
        Err(ProverError::Unsatisfied { statement, check }) => {
            assert_eq!(statement, declaration_match::ID);
            assert!(check.contains(expected), "{check:?} lacks {expected:?}");
        }
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[test]
fn bad_declarations_name_the_failed_check() {
    let s = checked(|_| {}).unwrap();
    assert_eq!(
        s.circuit(),
        CIRCUIT,
        "the smallest class that holds the invoice"
    );
    refused(
        |w| w["declared"]["items"][0]["value_minor"] = 1_080_000.into(),
        "item 850440: value differs from the sum of the invoice lines",
    );
    refused(
        |w| {
            w["declared"]["items"].as_array_mut().unwrap().pop();
        },
        "invoice line 3 is in no declaration item",
    );
    refused(
        |w| w["declared"]["items"][1]["hs_code"] = "940360".into(),
        "item 940360: no invoice line has this heading",
    );
    refused(
        |w| w["declared"]["items"][1]["hs_code"] = "8544".into(),
        "item 2: heading must be six digits",
    );
    refused(
        |w| w["declared"]["items"][1]["hs_code"] = "850440".into(),
        "heading 850440 is declared in more than one item",
    );
    refused(
        |w| w["declared"]["items"] = serde_json::json!([]),
        "the declaration has no items",
    );
    refused(
        |w| {
            let items: Vec<_> = ["010121", "850440", "854442", "940360", "847130"]
                .iter()
                .map(|h| serde_json::json!({"hs_code": h, "value_minor": 1}))
                .collect();
            w["declared"]["items"] = items.into();
        },
        "the declaration has 5 items but size class 4 holds at most 4",
    );
    refused(
        |w| w["declared"]["currency"] = "USD".into(),
        "declared currency differs",
    );
    // Malformed: an unknown field, a negative value.
    for edit in [
        (|w: &mut serde_json::Value| w["declared"]["items"][0]["hs"] = "850440".into())
            as fn(&mut serde_json::Value),
        |w| w["declared"]["items"][0]["value_minor"] = (-1).into(),
    ] {
        assert!(matches!(
            checked(edit),
            Err(ProverError::MalformedWitness(_))
        ));
    }
}

#[test]
fn witnesses_do_not_print() {
    let w = Witness::from_json(
        declaration_match::ID,
        &example(declaration_match::ID).unwrap().to_string(),
    )
    .unwrap();
    let printed = format!("{w:?} {:?}", w.statement().unwrap());
    assert!(!printed.contains("Static converters"), "{printed}");
    assert!(!printed.contains("INV-2026"), "{printed}");
}
