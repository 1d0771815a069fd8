//! The proof envelope: what a prover emits and a verifier or ledger node consumes.
//!
//! ```json
//! {
//!   "format": "zkcustoms-proof/v1",
//!   "statement": "invoice-value/v1",
//!   "size_class": 4,
//!   "vk_id": "…64 hex digits…",
//!   "public": { "digest": "…", "declared_value_minor": 1843250, "currency": "EUR" },
//!   "proof": "…384 hex digits: A (48 bytes), B (96), C (48), compressed…"
//! }
//! ```
//!
//! Verifiers derive field elements from the named public values themselves. Groth16 proofs are
//! re-randomisable: the proof bytes identify nothing, the public values do.

use crate::blst_points::{decode_g1, decode_g2, PointError};
use crate::keys::KeyId;
use crate::VerifyError;
use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::Proof;
use ark_serialize::CanonicalSerialize;
use serde::{Deserialize, Serialize};
use zkcustoms_circuits::aeo_status::{self, AeoStatusPublic, Tier};
use zkcustoms_circuits::codec::{DecodeError, Reader, Writer};
use zkcustoms_circuits::date::Day;
use zkcustoms_circuits::declaration_match::{self, DeclarationItem, DeclarationMatchPublic};
use zkcustoms_circuits::field::{fr_from_be_bytes, fr_to_be_bytes};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::invoice_value::{self, InvoiceValuePublic};
use zkcustoms_circuits::CircuitId;

/// Format tag of an envelope.
pub const ENVELOPE_FORMAT: &str = "zkcustoms-proof/v1";
/// Length of a compressed BLS12-381 Groth16 proof.
pub const PROOF_LEN: usize = 192;

/// The public values of a statement, by statement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicValues {
    /// `aeo-status/v1`.
    AeoStatus(AeoStatusPublic),
    /// `invoice-value/v1`.
    InvoiceValue(InvoiceValuePublic),
    /// `declaration-match/v1`.
    DeclarationMatch(DeclarationMatchPublic),
}

impl PublicValues {
    /// The field elements, in circuit order, with their count checked against the circuit.
    pub fn to_field_elements(&self, circuit: CircuitId) -> Result<Vec<Fr>, VerifyError> {
        let inputs = match (self, circuit) {
            (PublicValues::AeoStatus(p), CircuitId::AeoStatusV1) => aeo_status::public_inputs(p)
                .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            (PublicValues::InvoiceValue(p), CircuitId::InvoiceValueV1(_)) => {
                invoice_value::public_inputs(p)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?
            }
            (PublicValues::DeclarationMatch(p), CircuitId::DeclarationMatchV1(c)) => {
                declaration_match::public_inputs(c, p)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?
            }
            _ => {
                return Err(VerifyError::Malformed(format!(
                    "public values do not belong to {circuit}"
                )))
            }
        };
        if inputs.len() != circuit.num_public_inputs() {
            return Err(VerifyError::PublicInputCount {
                expected: circuit.num_public_inputs(),
                found: inputs.len(),
            });
        }
        Ok(inputs)
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            PublicValues::AeoStatus(p) => serde_json::to_value(p),
            PublicValues::InvoiceValue(p) => serde_json::to_value(p),
            PublicValues::DeclarationMatch(p) => serde_json::to_value(p),
        }
        .expect("public values serialize")
    }
}

/// A decoded, validated proof envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ProofEnvelope {
    /// The circuit (statement and size class).
    pub circuit: CircuitId,
    /// The verifying key the proof is for.
    pub vk_id: KeyId,
    /// The named public values.
    pub public: PublicValues,
    /// The proof, decoded with full validation (on curve, in the prime-order subgroup).
    pub proof: Proof<Bls12_381>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    statement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size_class: Option<serde_json::Value>,
    vk_id: String,
    public: serde_json::Value,
    proof: String,
}

/// Decodes a compressed proof of exactly [`PROOF_LEN`] bytes with full validation: each point a
/// canonical compressed encoding, on its curve, in the prime-order subgroup, and not the point at
/// infinity (an honest proof never has one, and an identity point would only serve to probe the
/// verifier). The points are decoded and checked by blst, which accepts exactly the encodings
/// arkworks' validating decoder accepts (the tests hold the two to the same answers).
pub fn decode_proof(bytes: &[u8]) -> Result<Proof<Bls12_381>, VerifyError> {
    let bytes: &[u8; PROOF_LEN] = bytes.try_into().map_err(|_| {
        VerifyError::Malformed(format!(
            "proof must be {PROOF_LEN} bytes, got {}",
            bytes.len()
        ))
    })?;
    let (a, rest) = bytes.split_first_chunk::<48>().expect("192 = 48 + 144");
    let (b, c) = rest.split_first_chunk::<96>().expect("144 = 96 + 48");
    let c: &[u8; 48] = c.try_into().expect("48 bytes remain");
    let bad =
        |name: &str, e: PointError| VerifyError::Malformed(format!("proof point {name} is {e}"));
    Ok(Proof {
        a: decode_g1(a).map_err(|e| bad("A", e))?,
        b: decode_g2(b).map_err(|e| bad("B", e))?,
        c: decode_g1(c).map_err(|e| bad("C", e))?,
    })
}

/// Compressed bytes of a proof.
pub fn encode_proof(proof: &Proof<Bls12_381>) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_LEN);
    proof
        .serialize_compressed(&mut out)
        .expect("writing to a vector cannot fail");
    out
}

/// Version byte of the canonical binary form.
pub const BINARY_VERSION: u8 = 1;
/// Longest text field (authority, scope, currency) the binary form carries.
pub const MAX_TEXT: usize = 256;

fn write_fr(w: &mut Writer, x: &Fr) {
    w.fixed(&fr_to_be_bytes(x));
}

fn read_fr(r: &mut Reader<'_>, field: &'static str) -> Result<Fr, DecodeError> {
    fr_from_be_bytes(&r.array(field)?)
        .map_err(|_| DecodeError::invalid(field, "not a canonical field element"))
}

impl ProofEnvelope {
    /// The canonical binary form, as the ledger stores and hashes it:
    ///
    /// ```text
    /// version u8 (=1) | statement u8 (1 aeo-status/v1, 2 invoice-value/v1,
    ///   3 declaration-match/v1) | size class u8 (lines, 0 none)
    /// | vk id [32] | public values | proof [192, compressed]
    /// aeo-status/v1 public:    registry root [32, BE Fr] | authority str16 | as-of day u32
    ///                          | tier bits u8 | scope str16 | nullifier [32, BE Fr]
    /// invoice-value/v1 public: digest [32] | declared value u64 | currency str16
    /// declaration-match/v1 public: digest [32] | currency str16 | item count u8
    ///                          | per item: heading str16 | value u64
    /// ```
    ///
    /// Integers are big-endian, `str16` is a `u16` length then UTF-8 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        let (tag, lines) = match self.circuit {
            CircuitId::AeoStatusV1 => (1u8, 0u8),
            CircuitId::InvoiceValueV1(c) => (2, c.lines() as u8),
            CircuitId::DeclarationMatchV1(c) => (3, c.lines() as u8),
        };
        w.u8(BINARY_VERSION).u8(tag).u8(lines).fixed(&self.vk_id.0);
        match &self.public {
            PublicValues::AeoStatus(p) => {
                write_fr(&mut w, &p.registry_root);
                w.str16(&p.authority)
                    .u32(p.as_of.days())
                    .u8(p.required_tier.bits())
                    .str16(&p.scope);
                write_fr(&mut w, &p.nullifier);
            }
            PublicValues::InvoiceValue(p) => {
                w.fixed(&p.digest)
                    .u64(p.declared_value_minor)
                    .str16(&p.currency);
            }
            PublicValues::DeclarationMatch(p) => {
                // At most 16 items: `to_field_elements` refuses more for any size class, and
                // every envelope is checked by it before it can be written.
                w.fixed(&p.digest)
                    .str16(&p.currency)
                    .u8(p.items.len().min(usize::from(u8::MAX)) as u8);
                for item in &p.items {
                    w.str16(&item.hs_code).u64(item.value_minor);
                }
            }
        }
        w.fixed(&encode_proof(&self.proof));
        w.finish()
    }

    /// Decodes the canonical binary form with the same validation as [`ProofEnvelope::from_json`]
    /// (public values in range, proof points on the curve and in the subgroup, exact length).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        let malformed = |e: DecodeError| VerifyError::Malformed(format!("envelope: {e}"));
        let mut r = Reader::new(bytes);
        let version = r.u8("version").map_err(malformed)?;
        if version != BINARY_VERSION {
            return Err(VerifyError::Malformed(format!(
                "unknown binary envelope version {version}"
            )));
        }
        let tag = r.u8("statement").map_err(malformed)?;
        let lines = r.u8("size class").map_err(malformed)?;
        let circuit = match (tag, lines) {
            (1, 0) => CircuitId::AeoStatusV1,
            (2, n) => CircuitId::InvoiceValueV1(
                SizeClass::try_from(u32::from(n)).map_err(VerifyError::UnknownStatement)?,
            ),
            (3, n) => CircuitId::DeclarationMatchV1(
                SizeClass::try_from(u32::from(n)).map_err(VerifyError::UnknownStatement)?,
            ),
            _ => {
                return Err(VerifyError::UnknownStatement(format!(
                    "unknown statement tag {tag} with size class {lines}"
                )))
            }
        };
        let vk_id = KeyId(r.array("vk id").map_err(malformed)?);
        let public = match circuit {
            CircuitId::AeoStatusV1 => {
                let mut read = || -> Result<AeoStatusPublic, DecodeError> {
                    Ok(AeoStatusPublic {
                        registry_root: read_fr(&mut r, "registry root")?,
                        authority: r.str16("authority", MAX_TEXT)?.to_owned(),
                        as_of: Day::from_days(r.u32("as-of day")?)
                            .map_err(|e| DecodeError::invalid("as-of day", e.to_string()))?,
                        required_tier: Tier::from_bits(r.u8("tier")?)
                            .ok_or_else(|| DecodeError::invalid("tier", "not a tier"))?,
                        scope: r.str16("scope", MAX_TEXT)?.to_owned(),
                        nullifier: read_fr(&mut r, "nullifier")?,
                    })
                };
                PublicValues::AeoStatus(read().map_err(malformed)?)
            }
            CircuitId::InvoiceValueV1(_) => {
                let mut read = || -> Result<InvoiceValuePublic, DecodeError> {
                    Ok(InvoiceValuePublic {
                        digest: r.array("digest")?,
                        declared_value_minor: r.u64("declared value")?,
                        currency: r.str16("currency", MAX_TEXT)?.to_owned(),
                    })
                };
                PublicValues::InvoiceValue(read().map_err(malformed)?)
            }
            CircuitId::DeclarationMatchV1(_) => {
                let mut read = || -> Result<DeclarationMatchPublic, DecodeError> {
                    let digest = r.array("digest")?;
                    let currency = r.str16("currency", MAX_TEXT)?.to_owned();
                    let count = r.u8("item count")?;
                    let mut items = Vec::with_capacity(usize::from(count));
                    for _ in 0..count {
                        items.push(DeclarationItem {
                            hs_code: r.str16("heading", MAX_TEXT)?.to_owned(),
                            value_minor: r.u64("item value")?,
                        });
                    }
                    Ok(DeclarationMatchPublic {
                        digest,
                        currency,
                        items,
                    })
                };
                PublicValues::DeclarationMatch(read().map_err(malformed)?)
            }
        };
        public.to_field_elements(circuit)?;
        let proof = decode_proof(r.take(PROOF_LEN, "proof").map_err(malformed)?)?;
        r.finish().map_err(malformed)?;
        Ok(Self {
            circuit,
            vk_id,
            public,
            proof,
        })
    }

    /// Parses and validates an envelope from JSON.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        let wire: Wire = serde_json::from_str(text)
            .map_err(|e| VerifyError::Malformed(format!("envelope: {e}")))?;
        if wire.format != ENVELOPE_FORMAT {
            return Err(VerifyError::Malformed(format!(
                "unknown envelope format {:?}, expected {ENVELOPE_FORMAT:?}",
                wire.format
            )));
        }
        let size_class = match wire.size_class {
            None => None,
            Some(v) => Some(
                serde_json::from_value::<SizeClass>(v)
                    .map_err(|e| VerifyError::Malformed(format!("size_class: {e}")))?,
            ),
        };
        let circuit = CircuitId::from_parts(&wire.statement, size_class)
            .map_err(VerifyError::UnknownStatement)?;
        let vk_id = KeyId::parse(&wire.vk_id).map_err(VerifyError::Malformed)?;
        let public = match circuit {
            CircuitId::AeoStatusV1 => PublicValues::AeoStatus(
                serde_json::from_value(wire.public)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            ),
            CircuitId::InvoiceValueV1(_) => PublicValues::InvoiceValue(
                serde_json::from_value(wire.public)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            ),
            CircuitId::DeclarationMatchV1(_) => PublicValues::DeclarationMatch(
                serde_json::from_value(wire.public)
                    .map_err(|e| VerifyError::Malformed(format!("public values: {e}")))?,
            ),
        };
        // Derive the field elements once now, so a value out of range is malformed input.
        public.to_field_elements(circuit)?;
        let bytes = hex::decode(&wire.proof)
            .map_err(|_| VerifyError::Malformed("proof is not hex".into()))?;
        let proof = decode_proof(&bytes)?;
        Ok(Self {
            circuit,
            vk_id,
            public,
            proof,
        })
    }

    /// The envelope as pretty JSON.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            format: ENVELOPE_FORMAT.into(),
            statement: self.circuit.statement().into(),
            size_class: self
                .circuit
                .size_class()
                .map(|c| serde_json::Value::from(c.lines())),
            vk_id: self.vk_id.to_string(),
            public: self.public.to_json(),
            proof: hex::encode(encode_proof(&self.proof)),
        };
        serde_json::to_string_pretty(&wire).expect("envelope serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Projective, G2Projective};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::UniformRand;
    use ark_serialize::{CanonicalDeserialize, Compress, Validate};
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// A declaration-match envelope with random proof points (decoding does not verify).
    fn declaration(class: SizeClass, items: &[(&str, u64)]) -> ProofEnvelope {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        ProofEnvelope {
            circuit: CircuitId::DeclarationMatchV1(class),
            vk_id: KeyId([9; 32]),
            public: PublicValues::DeclarationMatch(DeclarationMatchPublic {
                digest: [7; 32],
                currency: "EUR".into(),
                items: items
                    .iter()
                    .map(|(h, v)| DeclarationItem {
                        hs_code: (*h).into(),
                        value_minor: *v,
                    })
                    .collect(),
            }),
            proof: Proof {
                a: G1Projective::rand(&mut rng).into_affine(),
                b: G2Projective::rand(&mut rng).into_affine(),
                c: G1Projective::rand(&mut rng).into_affine(),
            },
        }
    }

    const EXAMPLE: [(&str, u64); 2] = [("850440", 1_600_000), ("854442", 243_250)];

    #[test]
    fn identity_points_are_refused_on_decode() {
        let proof = declaration(SizeClass::Lines4, &EXAMPLE).proof;
        assert!(decode_proof(&encode_proof(&proof)).is_ok());
        let cases = [
            (
                "A",
                Proof {
                    a: ark_bls12_381::G1Affine::zero(),
                    ..proof.clone()
                },
            ),
            (
                "B",
                Proof {
                    b: ark_bls12_381::G2Affine::zero(),
                    ..proof.clone()
                },
            ),
            (
                "C",
                Proof {
                    c: ark_bls12_381::G1Affine::zero(),
                    ..proof.clone()
                },
            ),
        ];
        for (name, bad) in cases {
            let bytes = encode_proof(&bad);
            assert_eq!(bytes.len(), PROOF_LEN);
            match decode_proof(&bytes) {
                Err(VerifyError::Malformed(m)) => {
                    assert!(
                        m.contains(&format!("point {name} is the point at infinity")),
                        "{m}"
                    )
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    /// The former decoder, now the reference: arkworks' validating deserialisation, then the
    /// point at infinity refused.
    fn decode_proof_arkworks(bytes: &[u8]) -> Option<Proof<Bls12_381>> {
        if bytes.len() != PROOF_LEN {
            return None;
        }
        Proof::<Bls12_381>::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
            .ok()
            .filter(|p| !(p.a.is_zero() || p.b.is_zero() || p.c.is_zero()))
    }

    /// A compressed x coordinate (flag bits set) with no point on G1, and one of a point of G1
    /// outside the prime-order subgroup, found by counting up from a seed.
    fn off_curve_and_off_subgroup_g1() -> ([u8; 48], [u8; 48]) {
        let (mut off_curve, mut off_group) = (None, None);
        for x in 1u64.. {
            let mut bytes = [0u8; 48];
            bytes[40..].copy_from_slice(&x.to_be_bytes());
            bytes[0] = 0x80;
            if ark_bls12_381::G1Affine::get_point_from_x_unchecked(x.into(), false).is_some() {
                off_group.get_or_insert(bytes);
            } else {
                off_curve.get_or_insert(bytes);
            }
            if let (Some(a), Some(b)) = (off_curve, off_group) {
                return (a, b);
            }
        }
        unreachable!("half of all x have a point")
    }

    #[test]
    fn bad_proof_encodings_are_refused_like_arkworks_refuses_them() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let good = encode_proof(&declaration(SizeClass::Lines4, &EXAMPLE).proof);
        assert_eq!(decode_proof(&good).ok(), decode_proof_arkworks(&good));
        assert!(decode_proof(&good).is_ok());
        let (off_curve, off_group) = off_curve_and_off_subgroup_g1();
        let mut cases: Vec<(Vec<u8>, String)> = Vec::new();
        for (name, at) in [("A", 0), ("C", 144)] {
            let mut bad = good.clone();
            bad[at..at + 48].copy_from_slice(&off_curve);
            cases.push((bad, format!("point {name} is not on the curve")));
            let mut bad = good.clone();
            bad[at..at + 48].copy_from_slice(&off_group);
            cases.push((
                bad,
                format!("point {name} is not in the prime-order subgroup"),
            ));
            let mut bad = good.clone();
            bad[at] &= 0x7f;
            cases.push((
                bad,
                format!("point {name} is not a canonical compressed encoding"),
            ));
        }
        // A G2 point on the curve outside the subgroup: a random x of Fq2 that has a point.
        let off_group_g2 = loop {
            let x = ark_bls12_381::Fq2::rand(&mut rng);
            if let Some(p) = ark_bls12_381::G2Affine::get_point_from_x_unchecked(x, false) {
                if !p.is_in_correct_subgroup_assuming_on_curve() {
                    let mut bytes = Vec::new();
                    p.serialize_compressed(&mut bytes).unwrap();
                    break bytes;
                }
            }
        };
        let mut bad = good.clone();
        bad[48..144].copy_from_slice(&off_group_g2);
        cases.push((bad, "point B is not in the prime-order subgroup".into()));
        let mut bad = good.clone();
        bad[48..144].fill(0xff);
        bad[48] = 0x9f;
        cases.push((bad, "point B is not a canonical compressed encoding".into()));
        for len in [0, 191, 193, 384] {
            let mut bad = good.clone();
            bad.resize(len, 0);
            cases.push((bad, "proof must be 192 bytes".into()));
        }
        for (bytes, why) in &cases {
            assert_eq!(decode_proof_arkworks(bytes), None, "{why}");
            match decode_proof(bytes) {
                Err(VerifyError::Malformed(m)) => {
                    assert!(m.contains(why.as_str()), "{m} lacks {why:?}")
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        // Random changes to a valid proof: the two decoders agree on each.
        for _ in 0..200 {
            let mut bytes = good.clone();
            let at = (rng.next_u32() as usize) % PROOF_LEN;
            bytes[at] ^= 1 << (rng.next_u32() % 8);
            assert_eq!(decode_proof(&bytes).ok(), decode_proof_arkworks(&bytes));
        }
    }

    #[test]
    fn declaration_match_round_trips_in_json_and_binary() {
        for class in SizeClass::ALL {
            let env = declaration(class, &EXAMPLE);
            let inputs = env.public.to_field_elements(env.circuit).unwrap();
            assert_eq!(inputs.len(), 4 + 2 * class.lines());
            assert_eq!(ProofEnvelope::from_json(&env.to_json()).unwrap(), env);
            let bytes = env.to_bytes();
            assert_eq!(bytes[1], 3, "statement tag");
            assert_eq!(ProofEnvelope::from_bytes(&bytes).unwrap(), env);
            for cut in [bytes.len() - 1, 40, 80] {
                assert!(ProofEnvelope::from_bytes(&bytes[..cut]).is_err());
            }
        }
        let json = declaration(SizeClass::Lines4, &EXAMPLE).to_json();
        assert!(
            json.contains("\"statement\": \"declaration-match/v1\""),
            "{json}"
        );
        assert!(json.contains("\"hs_code\": \"850440\""), "{json}");
    }

    #[test]
    fn declaration_match_refuses_bad_items_as_malformed() {
        let too_many: Vec<(&str, u64)> = ["010121", "850440", "854442", "940360", "847130"]
            .iter()
            .map(|h| (*h, 1))
            .collect();
        let cases: [(&[(&str, u64)], &str); 5] = [
            (&[], "no items"),
            (&too_many, "5 items"),
            (&[("85044", 1)], "six digits"),
            (&[("85044X", 1)], "six digits"),
            (&[("850440", 1), ("850440", 2)], "more than one item"),
        ];
        for (items, why) in cases {
            let env = declaration(SizeClass::Lines4, items);
            for err in [
                env.public.to_field_elements(env.circuit).unwrap_err(),
                ProofEnvelope::from_json(&env.to_json()).unwrap_err(),
                ProofEnvelope::from_bytes(&env.to_bytes()).unwrap_err(),
            ] {
                match err {
                    VerifyError::Malformed(m) => assert!(m.contains(why), "{m} lacks {why:?}"),
                    other => panic!("{why}: {other:?}"),
                }
            }
        }
        // Five items fit the 16-line class.
        let env = declaration(SizeClass::Lines16, &too_many);
        assert_eq!(ProofEnvelope::from_bytes(&env.to_bytes()).unwrap(), env);
    }

    #[test]
    fn public_values_must_belong_to_the_circuit() {
        let env = declaration(SizeClass::Lines4, &EXAMPLE);
        assert!(matches!(
            env.public
                .to_field_elements(CircuitId::InvoiceValueV1(SizeClass::Lines4)),
            Err(VerifyError::Malformed(_))
        ));
        // An invoice-value envelope relabelled as declaration-match does not parse.
        let json = env
            .to_json()
            .replace("\"items\"", "\"declared_value_minor\"");
        assert!(matches!(
            ProofEnvelope::from_json(&json),
            Err(VerifyError::Malformed(_))
        ));
    }
}
