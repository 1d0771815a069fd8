//! Development keys, proving and verification end to end through the libraries, and the
//! verifier's answers to bad keys, bad envelopes and bad points.

use ark_bls12_381::{Bls12_381, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{One, UniformRand};
use ark_groth16::Proof;
use ark_serialize::CanonicalSerialize;
use rand::rngs::OsRng;
use std::path::PathBuf;
use std::sync::OnceLock;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::{aeo_status, invoice_value, CircuitId, Fr};
use zkcustoms_prover::setup::setup_dev;
use zkcustoms_prover::witness::example_statement;
use zkcustoms_prover::{prove, ProverError, ProvingKey, Witness};
use zkcustoms_verifier::envelope::{encode_proof, PROOF_LEN};
use zkcustoms_verifier::{KeyDir, KeyError, ProofEnvelope, PublicValues, VerifyError};

const CIRCUITS: [CircuitId; 2] = [
    CircuitId::AeoStatusV1,
    CircuitId::InvoiceValueV1(SizeClass::Lines4),
];

/// Keys made once per test binary.
fn keys() -> &'static (tempfile::TempDir, PathBuf) {
    static KEYS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup_dev(dir.path(), &CIRCUITS, |_| {}).unwrap();
        let path = dir.path().to_path_buf();
        (dir, path)
    })
}

fn envelopes() -> &'static [ProofEnvelope; 2] {
    static ENV: OnceLock<[ProofEnvelope; 2]> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = KeyDir::open(&keys().1).unwrap();
        let make = |circuit| {
            let s = example_statement(circuit).unwrap();
            let pk = ProvingKey::load(&dir, circuit).unwrap();
            prove(&pk, &s, &mut OsRng).unwrap()
        };
        [make(CIRCUITS[0]), make(CIRCUITS[1])]
    })
}

fn verifier() -> zkcustoms_verifier::VerifierKeys {
    KeyDir::open(&keys().1).unwrap().verifying_keys().unwrap()
}

#[test]
fn dev_keys_are_deterministic() {
    let other = tempfile::tempdir().unwrap();
    let m = setup_dev(other.path(), &CIRCUITS[..1], |_| {}).unwrap();
    let ours = KeyDir::open(&keys().1).unwrap();
    assert_eq!(m.keys[0].vk_id, ours.entry(CIRCUITS[0]).unwrap().vk_id);
    assert_eq!(m.keys[0].pk_id, ours.entry(CIRCUITS[0]).unwrap().pk_id);
    assert!(m.development);
}

#[test]
fn both_statements_prove_and_verify_through_json() {
    let v = verifier();
    for env in envelopes() {
        let json = env.to_json();
        let back = v.verify_json(&json).unwrap();
        assert_eq!(back.public, env.public);
    }
}

#[test]
fn a_wrong_public_input_fails() {
    let v = verifier();
    let mut aeo = envelopes()[0].clone();
    if let PublicValues::AeoStatus(p) = &mut aeo.public {
        p.as_of = zkcustoms_circuits::date::Day::parse("2026-11-26").unwrap();
    }
    assert_eq!(v.verify(&aeo), Err(VerifyError::InvalidProof));
    let mut aeo = envelopes()[0].clone();
    if let PublicValues::AeoStatus(p) = &mut aeo.public {
        p.nullifier += Fr::one();
    }
    assert_eq!(v.verify(&aeo), Err(VerifyError::InvalidProof));
    let mut inv = envelopes()[1].clone();
    if let PublicValues::InvoiceValue(p) = &mut inv.public {
        p.declared_value_minor += 1;
    }
    assert_eq!(v.verify(&inv), Err(VerifyError::InvalidProof));
    let mut inv = envelopes()[1].clone();
    if let PublicValues::InvoiceValue(p) = &mut inv.public {
        p.digest[31] ^= 1;
    }
    assert_eq!(v.verify(&inv), Err(VerifyError::InvalidProof));
}

#[test]
fn a_rerandomised_proof_still_verifies_with_other_bytes() {
    // Proof bytes are not unique: nothing may rely on them.
    let v = verifier();
    let env = &envelopes()[0];
    let key = v.get(env.circuit).unwrap();
    let again = ark_groth16::Groth16::<Bls12_381>::rerandomize_proof(
        key.arkworks(),
        &env.proof,
        &mut OsRng,
    );
    assert_ne!(encode_proof(&again), encode_proof(&env.proof));
    let mut copy = env.clone();
    copy.proof = again;
    v.verify(&copy).unwrap();
}

#[test]
fn a_proof_for_another_statement_or_key_is_refused() {
    let v = verifier();
    // The invoice proof presented as an aeo-status proof: the public values do not parse.
    let mut json: serde_json::Value = serde_json::from_str(&envelopes()[1].to_json()).unwrap();
    json["statement"] = aeo_status::ID.into();
    json.as_object_mut().unwrap().remove("size_class");
    assert!(matches!(
        v.verify_json(&json.to_string()),
        Err(VerifyError::Malformed(_))
    ));
    // The aeo proof naming the invoice key id.
    let mut env = envelopes()[0].clone();
    env.vk_id = envelopes()[1].vk_id;
    assert!(matches!(v.verify(&env), Err(VerifyError::WrongKey { .. })));
    // The aeo proof bytes under the invoice statement with valid-looking public values.
    let mut env = envelopes()[1].clone();
    env.proof = envelopes()[0].proof.clone();
    assert_eq!(v.verify(&env), Err(VerifyError::InvalidProof));
    // A statement this verifier holds no key for.
    let mut json: serde_json::Value = serde_json::from_str(&envelopes()[1].to_json()).unwrap();
    json["size_class"] = 16.into();
    assert_eq!(
        v.verify_json(&json.to_string()).unwrap_err(),
        VerifyError::NoKey(CircuitId::InvoiceValueV1(SizeClass::Lines16))
    );
}

fn with_proof_hex(env: &ProofEnvelope, proof_hex: String) -> String {
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["proof"] = proof_hex.into();
    json.to_string()
}

#[test]
fn malformed_envelopes_are_refused_as_malformed() {
    let v = verifier();
    let env = &envelopes()[0];
    let good = hex::encode(encode_proof(&env.proof));
    let malformed = |text: &str| match v.verify_json(text) {
        Err(VerifyError::Malformed(_)) => {}
        other => panic!("expected malformed, got {other:?}"),
    };
    malformed("not json");
    malformed("{}");
    malformed(&with_proof_hex(env, good[..good.len() - 2].to_string())); // truncated
    malformed(&with_proof_hex(env, format!("{good}00"))); // too long
    malformed(&with_proof_hex(env, "zz".repeat(PROOF_LEN)));
    malformed(&with_proof_hex(env, "ff".repeat(PROOF_LEN))); // garbage
                                                             // Extra, missing and mistyped fields.
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["public"]["extra"] = 1.into();
    malformed(&json.to_string());
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["public"].as_object_mut().unwrap().remove("nullifier");
    malformed(&json.to_string());
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["public"]["as_of"] = 20782.into();
    malformed(&json.to_string());
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["public"]["as_of"] = "2026-02-30".into();
    malformed(&json.to_string());
    // A non-canonical field element (above the modulus).
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["public"]["nullifier"] = "ff".repeat(32).into();
    malformed(&json.to_string());
    // Amount out of range for u64.
    let mut json: serde_json::Value = serde_json::from_str(&envelopes()[1].to_json()).unwrap();
    json["public"]["declared_value_minor"] = serde_json::json!(18446744073709551616u128 as f64);
    malformed(&json.to_string());
    let mut json: serde_json::Value = serde_json::from_str(&envelopes()[1].to_json()).unwrap();
    json["public"]["declared_value_minor"] = (-1).into();
    malformed(&json.to_string());
    // An unknown statement.
    let mut json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    json["statement"] = "origin/v9".into();
    assert!(matches!(
        v.verify_json(&json.to_string()),
        Err(VerifyError::UnknownStatement(_))
    ));
}

/// A point on the curve but outside the prime-order subgroup: a point of the full curve group
/// found by trying x coordinates, which (with overwhelming probability) has a cofactor part.
fn g1_not_in_subgroup() -> G1Affine {
    let mut x = ark_bls12_381::Fq::from(5u64);
    loop {
        if let Some(p) = G1Affine::get_point_from_x_unchecked(x, false) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
        x += ark_bls12_381::Fq::one();
    }
}

#[test]
fn points_off_the_subgroup_or_curve_are_refused() {
    let v = verifier();
    let env = &envelopes()[0];
    let bad = g1_not_in_subgroup();
    assert!(bad.is_on_curve());
    let proof = Proof::<Bls12_381> {
        a: bad,
        b: env.proof.b,
        c: env.proof.c,
    };
    let mut bytes = Vec::new();
    proof.a.serialize_compressed(&mut bytes).unwrap();
    proof.b.serialize_compressed(&mut bytes).unwrap();
    proof.c.serialize_compressed(&mut bytes).unwrap();
    assert!(matches!(
        v.verify_json(&with_proof_hex(env, hex::encode(&bytes))),
        Err(VerifyError::Malformed(_))
    ));
    // An x coordinate with no point on the curve.
    let mut bytes = encode_proof(&env.proof);
    let mut x = ark_bls12_381::Fq::from(1u64);
    loop {
        if G1Affine::get_point_from_x_unchecked(x, false).is_none() {
            break;
        }
        x += ark_bls12_381::Fq::one();
    }
    let mut xb = Vec::new();
    x.serialize_compressed(&mut xb).unwrap();
    xb.reverse(); // arkworks writes field elements little-endian; the point encoding is big-endian
    xb[0] |= 0x80; // compressed flag
    bytes[..48].copy_from_slice(&xb);
    assert!(matches!(
        v.verify_json(&with_proof_hex(env, hex::encode(&bytes))),
        Err(VerifyError::Malformed(_))
    ));
    // Random valid points: well-formed, does not verify.
    let proof = Proof::<Bls12_381> {
        a: (G1Affine::generator() * Fr::rand(&mut OsRng)).into(),
        b: (G2Affine::generator() * Fr::rand(&mut OsRng)).into(),
        c: env.proof.c,
    };
    let mut copy = env.clone();
    copy.proof = proof;
    assert_eq!(v.verify(&copy), Err(VerifyError::InvalidProof));
}

#[test]
fn public_input_count_is_checked() {
    let v = verifier();
    let env = &envelopes()[0];
    let key = v.get(env.circuit).unwrap();
    let inputs = env.public.to_field_elements(env.circuit).unwrap();
    key.verify_inputs(&inputs, &env.proof).unwrap();
    let mut more = inputs.clone();
    more.push(Fr::one());
    assert!(matches!(
        key.verify_inputs(&more, &env.proof),
        Err(VerifyError::PublicInputCount {
            expected: 6,
            found: 7
        })
    ));
    assert!(matches!(
        key.verify_inputs(&inputs[..5], &env.proof),
        Err(VerifyError::PublicInputCount {
            expected: 6,
            found: 5
        })
    ));
}

fn copy_keys() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&keys().1).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

#[test]
fn corrupted_truncated_or_swapped_key_files_are_refused() {
    let stem_aeo = CIRCUITS[0].file_stem();
    let stem_inv = CIRCUITS[1].file_stem();
    // Corrupted: one byte flipped.
    let dir = copy_keys();
    let f = dir.path().join(format!("{stem_aeo}.vk"));
    let mut b = std::fs::read(&f).unwrap();
    b[100] ^= 1;
    std::fs::write(&f, b).unwrap();
    let kd = KeyDir::open(dir.path()).unwrap();
    assert!(matches!(
        kd.verifying_key(CIRCUITS[0]),
        Err(KeyError::IdMismatch { .. })
    ));
    // Truncated proving key.
    let f = dir.path().join(format!("{stem_inv}.pk"));
    let b = std::fs::read(&f).unwrap();
    std::fs::write(&f, &b[..b.len() / 2]).unwrap();
    assert!(matches!(
        ProvingKey::load(&kd, CIRCUITS[1]),
        Err(ProverError::Key(KeyError::IdMismatch { .. }))
    ));
    // Swapped verifying keys.
    let dir = copy_keys();
    std::fs::copy(
        keys().1.join(format!("{stem_inv}.vk")),
        dir.path().join(format!("{stem_aeo}.vk")),
    )
    .unwrap();
    let kd = KeyDir::open(dir.path()).unwrap();
    assert!(matches!(
        kd.verifying_key(CIRCUITS[0]),
        Err(KeyError::IdMismatch { .. })
    ));
    // Swapped and the manifest rewritten to match: the key has the wrong input count.
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    manifest["keys"][0]["vk_id"] = manifest["keys"][1]["vk_id"].clone();
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    let kd = KeyDir::open(dir.path()).unwrap();
    assert!(matches!(
        kd.verifying_key(CIRCUITS[0]),
        Err(KeyError::WrongCircuit { .. })
    ));
    // A missing manifest and a garbage manifest.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        KeyDir::open(empty.path()),
        Err(KeyError::Io { .. })
    ));
    std::fs::write(empty.path().join("manifest.json"), "{").unwrap();
    assert!(matches!(
        KeyDir::open(empty.path()),
        Err(KeyError::BadManifest { .. })
    ));
}

#[test]
fn unsatisfied_witnesses_are_refused_before_proving() {
    let dir = KeyDir::open(&keys().1).unwrap();
    let pk = ProvingKey::load(&dir, CIRCUITS[1]).unwrap();
    let mut w = zkcustoms_prover::witness::example(invoice_value::ID).unwrap();
    w["declared"]["value_minor"] = 1.into();
    let s = Witness::from_json(invoice_value::ID, &w.to_string())
        .unwrap()
        .statement()
        .unwrap();
    match prove(&pk, &s, &mut OsRng) {
        Err(ProverError::Unsatisfied { check, .. }) => assert!(check.contains("declared value")),
        other => panic!("expected unsatisfied, got {other:?}"),
    }
    // A witness for one statement given to the other.
    let w = zkcustoms_prover::witness::example(aeo_status::ID).unwrap();
    assert!(matches!(
        Witness::from_json(invoice_value::ID, &w.to_string()),
        Err(ProverError::MalformedWitness(_))
    ));
}

#[test]
fn the_binary_envelope_round_trips_and_refuses_bad_bytes() {
    let keys = verifier();
    for env in envelopes() {
        let bytes = env.to_bytes();
        let back = ProofEnvelope::from_bytes(&bytes).unwrap();
        assert_eq!(&back, env);
        keys.verify(&back).unwrap();
        // Exact length: one byte more or less is refused.
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            ProofEnvelope::from_bytes(&longer),
            Err(VerifyError::Malformed(_))
        ));
        assert!(ProofEnvelope::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        // Unknown version and statement tags.
        let mut v = bytes.clone();
        v[0] = 2;
        assert!(ProofEnvelope::from_bytes(&v).is_err());
        let mut t = bytes.clone();
        t[1] = 9;
        assert!(matches!(
            ProofEnvelope::from_bytes(&t),
            Err(VerifyError::UnknownStatement(_))
        ));
        // A proof point off the subgroup is refused at decoding, not at verification.
        let mut bad = bytes.clone();
        let n = bad.len();
        let mut point = Vec::new();
        g1_not_in_subgroup()
            .serialize_compressed(&mut point)
            .unwrap();
        bad[n - PROOF_LEN..n - PROOF_LEN + 48].copy_from_slice(&point);
        assert!(matches!(
            ProofEnvelope::from_bytes(&bad),
            Err(VerifyError::Malformed(_))
        ));
        // Every single-byte change either fails to decode or decodes to another envelope.
        for i in (0..n).step_by(7) {
            let mut m = bytes.clone();
            m[i] ^= 0x5a;
            if let Ok(e) = ProofEnvelope::from_bytes(&m) {
                assert_ne!(&e, env);
            }
        }
    }
}
