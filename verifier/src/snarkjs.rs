//! Export of a verifying key and a proof envelope in the JSON format of snarkjs, so that
//! `snarkjs groth16 verify verification_key.json public.json proof.json` checks a zkcustoms proof
//! independently of this code base.
//!
//! snarkjs writes curve points as projective coordinates in decimal strings with `z = 1`: a G1
//! point as `[x, y, "1"]` and a G2 point as `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`, where an
//! element of Fq2 is `c0 + c1·u`, real part first (the same order as arkworks' `c0`, `c1`). The
//! point at infinity is `["0", "1", "0"]` (`z = 0`). The curve is named `bls12381`.
//!
//! `verification_key.json` carries `protocol`, `curve`, `nPublic`, `vk_alpha_1`, `vk_beta_2`,
//! `vk_gamma_2`, `vk_delta_2` and `IC` (arkworks' `gamma_abc_g1`, `nPublic + 1` points). snarkjs'
//! own export also writes `vk_alphabeta_12`, the pairing of alpha and beta, but its verifier never
//! reads it, so it is left out. `proof.json` carries `pi_a`, `pi_b`, `pi_c`, `protocol` and
//! `curve`; `public.json` is the list of public inputs in circuit order, as decimal strings.
//!
//! The public inputs are derived from the envelope's named values exactly as verification derives
//! them. Exporting does not verify the proof: callers that must not hand out a false proof verify
//! the envelope first.

use crate::{ProofEnvelope, VerifyError, VerifyingKey};
use ark_bls12_381::{Bls12_381, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use ark_groth16::Proof;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The protocol name snarkjs expects.
pub const PROTOCOL: &str = "groth16";
/// The curve name snarkjs expects for BLS12-381.
pub const CURVE: &str = "bls12381";
/// File name of the verifying key.
pub const VERIFICATION_KEY_FILE: &str = "verification_key.json";
/// File name of the proof.
pub const PROOF_FILE: &str = "proof.json";
/// File name of the public inputs.
pub const PUBLIC_FILE: &str = "public.json";

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The envelope does not belong to the key, or its public values are not valid.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A verifying key, a proof and its public inputs in the snarkjs Groth16 format.
#[derive(Clone, Debug, PartialEq)]
pub struct SnarkjsExport {
    /// The content of `verification_key.json`.
    pub verification_key: Value,
    /// The content of `proof.json`.
    pub proof: Value,
    /// The content of `public.json`.
    pub public: Value,
}

/// A base-field element as a decimal string.
fn fq(x: &Fq) -> Value {
    Value::String(x.into_bigint().to_string())
}

/// An element of Fq2 as `[c0, c1]`.
fn fq2(x: &Fq2) -> Value {
    json!([fq(&x.c0), fq(&x.c1)])
}

/// A G1 point as `[x, y, z]` with `z = 1`, or `["0", "1", "0"]` for the point at infinity.
fn g1(p: &G1Affine) -> Value {
    if p.is_zero() {
        return json!(["0", "1", "0"]);
    }
    json!([fq(&p.x), fq(&p.y), "1"])
}

/// A G2 point as `[x, y, z]` over Fq2 with `z = 1`, or `[0, 1, 0]` for the point at infinity.
fn g2(p: &G2Affine) -> Value {
    if p.is_zero() {
        return json!([["0", "0"], ["1", "0"], ["0", "0"]]);
    }
    json!([fq2(&p.x), fq2(&p.y), ["1", "0"]])
}

/// The content of `verification_key.json` for a verifying key.
pub fn verification_key_json(key: &VerifyingKey) -> Value {
    let vk = key.arkworks();
    json!({
        "protocol": PROTOCOL,
        "curve": CURVE,
        "nPublic": key.num_inputs(),
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// The content of `proof.json` for a proof.
pub fn proof_json(proof: &Proof<Bls12_381>) -> Value {
    json!({
        "pi_a": g1(&proof.a),
        "pi_b": g2(&proof.b),
        "pi_c": g1(&proof.c),
        "protocol": PROTOCOL,
        "curve": CURVE,
    })
}

/// The content of `public.json`: the public inputs as decimal strings, in circuit order.
pub fn public_json(inputs: &[Fr]) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|x| Value::String(x.into_bigint().to_string()))
            .collect(),
    )
}

/// Exports an envelope and the key it names, after checking that the envelope is for the key's
/// circuit and names this key, and deriving its public inputs from its named values.
///
/// The proof itself is not verified.
pub fn export(key: &VerifyingKey, envelope: &ProofEnvelope) -> Result<SnarkjsExport, VerifyError> {
    let inputs = key.envelope_inputs(envelope)?;
    Ok(SnarkjsExport {
        verification_key: verification_key_json(key),
        proof: proof_json(&envelope.proof),
        public: public_json(&inputs),
    })
}

impl SnarkjsExport {
    /// Writes `verification_key.json`, `proof.json` and `public.json` into a directory, creating
    /// it when missing and replacing files of those names, and returns the paths written.
    pub fn write_to_dir(&self, dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut written = Vec::with_capacity(3);
        for (name, value) in [
            (VERIFICATION_KEY_FILE, &self.verification_key),
            (PROOF_FILE, &self.proof),
            (PUBLIC_FILE, &self.public),
        ] {
            let path = dir.join(name);
            let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
            text.push('\n');
            std::fs::write(&path, text).map_err(|source| ExportError::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyId;
    use crate::PublicValues;
    use ark_bls12_381::{G1Projective, G2Projective};
    use ark_ec::CurveGroup;
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::str::FromStr;
    use zkcustoms_circuits::invoice::SizeClass;
    use zkcustoms_circuits::invoice_value::InvoiceValuePublic;
    use zkcustoms_circuits::CircuitId;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(381)
    }

    /// A key of the right shape for a circuit, with random points (the format does not care).
    fn key(circuit: CircuitId) -> VerifyingKey {
        let vk = crate::testing::random_key(circuit, &mut rng());
        VerifyingKey::from_bytes(circuit, &VerifyingKey::canonical_bytes(&vk)).unwrap()
    }

    fn invoice_envelope(key: &VerifyingKey) -> ProofEnvelope {
        let mut rng = rng();
        ProofEnvelope {
            circuit: key.circuit(),
            vk_id: key.id(),
            public: PublicValues::InvoiceValue(InvoiceValuePublic {
                digest: [7; 32],
                declared_value_minor: 1_843_250,
                currency: "EUR".into(),
            }),
            proof: Proof {
                a: G1Projective::rand(&mut rng).into_affine(),
                b: G2Projective::rand(&mut rng).into_affine(),
                c: G1Projective::rand(&mut rng).into_affine(),
            },
        }
    }

    fn is_decimal(v: &Value) -> bool {
        let s = v.as_str().expect("a string");
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    }

    fn decimals(v: &Value) -> Vec<&Value> {
        match v {
            Value::Array(items) => items.iter().flat_map(decimals).collect(),
            other => vec![other],
        }
    }

    fn parse_g1(v: &Value) -> G1Affine {
        let c = |i: usize| Fq::from_str(v[i].as_str().unwrap()).unwrap();
        assert_eq!(v[2], "1");
        G1Affine::new(c(0), c(1))
    }

    fn parse_g2(v: &Value) -> G2Affine {
        let c = |i: usize| {
            let part = |j: usize| Fq::from_str(v[i][j].as_str().unwrap()).unwrap();
            Fq2::new(part(0), part(1))
        };
        assert_eq!(v[2], json!(["1", "0"]));
        G2Affine::new(c(0), c(1))
    }

    #[test]
    fn the_export_has_the_snarkjs_shape() {
        let circuit = CircuitId::InvoiceValueV1(SizeClass::Lines4);
        let key = key(circuit);
        let out = export(&key, &invoice_envelope(&key)).unwrap();
        let n = circuit.num_public_inputs();
        let vk = &out.verification_key;
        assert_eq!(vk["protocol"], "groth16");
        assert_eq!(vk["curve"], "bls12381");
        assert_eq!(vk["nPublic"], n);
        assert_eq!(vk["IC"].as_array().unwrap().len(), n + 1);
        assert_eq!(out.public.as_array().unwrap().len(), n);
        for field in ["vk_alpha_1", "IC", "vk_beta_2", "vk_gamma_2", "vk_delta_2"] {
            assert!(decimals(&vk[field]).into_iter().all(is_decimal), "{field}");
        }
        assert_eq!(vk["vk_alpha_1"].as_array().unwrap().len(), 3);
        for field in ["vk_beta_2", "vk_gamma_2", "vk_delta_2"] {
            let point = vk[field].as_array().unwrap();
            assert_eq!(point.len(), 3);
            assert!(point.iter().all(|c| c.as_array().unwrap().len() == 2));
        }
        assert_eq!(out.proof["protocol"], "groth16");
        assert_eq!(out.proof["curve"], "bls12381");
        for field in ["pi_a", "pi_b", "pi_c"] {
            assert!(decimals(&out.proof[field]).into_iter().all(is_decimal));
        }
        assert!(out.public.as_array().unwrap().iter().all(is_decimal));
    }

    #[test]
    fn coordinates_decode_back_to_the_same_points() {
        let key = key(CircuitId::AeoStatusV1);
        let (public, _) = zkcustoms_circuits::registry::example_aeo_status();
        let mut rng = rng();
        let envelope = ProofEnvelope {
            circuit: key.circuit(),
            vk_id: key.id(),
            public: PublicValues::AeoStatus(public),
            proof: Proof {
                a: G1Projective::rand(&mut rng).into_affine(),
                b: G2Projective::rand(&mut rng).into_affine(),
                c: G1Projective::rand(&mut rng).into_affine(),
            },
        };
        let out = export(&key, &envelope).unwrap();
        let vk = key.arkworks();
        let json = &out.verification_key;
        assert_eq!(parse_g1(&json["vk_alpha_1"]), vk.alpha_g1);
        assert_eq!(parse_g2(&json["vk_beta_2"]), vk.beta_g2);
        assert_eq!(parse_g2(&json["vk_gamma_2"]), vk.gamma_g2);
        assert_eq!(parse_g2(&json["vk_delta_2"]), vk.delta_g2);
        for (i, p) in vk.gamma_abc_g1.iter().enumerate() {
            assert_eq!(&parse_g1(&json["IC"][i]), p);
        }
        assert_eq!(parse_g1(&out.proof["pi_a"]), envelope.proof.a);
        assert_eq!(parse_g2(&out.proof["pi_b"]), envelope.proof.b);
        assert_eq!(parse_g1(&out.proof["pi_c"]), envelope.proof.c);
        let inputs = envelope.public.to_field_elements(key.circuit()).unwrap();
        let parsed: Vec<Fr> = out
            .public
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Fr::from_str(v.as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(parsed, inputs);
    }

    #[test]
    fn fq2_is_written_real_part_first_as_snarkjs_does() {
        // The G2 generator as snarkjs (ffjavascript) defines it: x = [x.c0, x.c1].
        let point = g2(&G2Affine::generator());
        assert_eq!(
            point[0][0],
            "352701069587466618187139116011060144890029952792775240219908644239793785735715026873347600343865175952761926303160"
        );
        assert_eq!(
            point[0][1],
            "3059144344244213709971259814753781636986470325476647558659373206291635324768958432433509563104347017837885763365758"
        );
        assert_eq!(point[2], json!(["1", "0"]));
        assert_eq!(
            g1(&G1Affine::generator())[0],
            "3685416753713387016781088315183077757961620795782546409894578378688607592378376318836054947676345821548104185464507"
        );
    }

    #[test]
    fn the_point_at_infinity_has_z_zero() {
        assert_eq!(g1(&G1Affine::zero()), json!(["0", "1", "0"]));
        assert_eq!(
            g2(&G2Affine::zero()),
            json!([["0", "0"], ["1", "0"], ["0", "0"]])
        );
    }

    #[test]
    fn an_envelope_for_another_key_or_circuit_is_refused() {
        let key = key(CircuitId::InvoiceValueV1(SizeClass::Lines4));
        let mut envelope = invoice_envelope(&key);
        envelope.vk_id = KeyId([0; 32]);
        assert!(matches!(
            export(&key, &envelope),
            Err(VerifyError::WrongKey { .. })
        ));
        let mut envelope = invoice_envelope(&key);
        envelope.circuit = CircuitId::InvoiceValueV1(SizeClass::Lines16);
        assert!(matches!(
            export(&key, &envelope),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn the_files_are_written_with_their_snarkjs_names() {
        let key = key(CircuitId::InvoiceValueV1(SizeClass::Lines4));
        let out = export(&key, &invoice_envelope(&key)).unwrap();
        let dir = std::env::temp_dir().join(format!("zkcustoms-snarkjs-{}", std::process::id()));
        let written = out.write_to_dir(&dir.join("export")).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, [VERIFICATION_KEY_FILE, PROOF_FILE, PUBLIC_FILE]);
        for (path, value) in written
            .iter()
            .zip([&out.verification_key, &out.proof, &out.public])
        {
            let text = std::fs::read_to_string(path).unwrap();
            assert_eq!(&serde_json::from_str::<Value>(&text).unwrap(), value);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
