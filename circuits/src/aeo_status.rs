//! `aeo-status/v1`: "the holder of a certificate in registry root R, issued by authority A, is
//! valid on day D and has at least tier T; here is my nullifier for scope S".
//!
//! Leaf = Poseidon_leaf(operator id, tier bits, valid from, valid until, authority id, holder
//! commitment), holder commitment = Poseidon_holder(holder secret), nullifier =
//! Poseidon_nullifier(holder secret, scope). The operator, its certificate and its position in the
//! registry stay private.

use crate::date::{Day, DAY_BITS};
use crate::field::{hash_to_field, pack_ascii, FieldError};
use crate::gadgets::{enforce_bits, enforce_le};
use crate::merkle::{r1cs::MerklePathVar, MerklePath, DEPTH};
use crate::poseidon::{self, Domain};
use crate::{serde_fr, Fr};
use ark_ff::Zero;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use serde::{Deserialize, Serialize};

/// The statement id.
pub const ID: &str = "aeo-status/v1";
/// Number of public inputs (field elements).
pub const NUM_PUBLIC_INPUTS: usize = 6;
/// Bits of the tier set.
pub const TIER_BITS: usize = 8;
/// Label under which scopes are hashed to field elements.
pub const SCOPE_LABEL: &str = "zkcustoms/scope/v1";

/// AEO authorisation types as a set of bits: customs simplifications (C), security and safety (S).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tier(u8);

impl Tier {
    /// AEOC: customs simplifications.
    pub const AEOC: Tier = Tier(0b01);
    /// AEOS: security and safety.
    pub const AEOS: Tier = Tier(0b10);
    /// AEOF: both (full).
    pub const AEOF: Tier = Tier(0b11);

    /// The bit set.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The tier with this bit set, if it is one of AEOC, AEOS, AEOF.
    pub fn from_bits(bits: u8) -> Option<Tier> {
        [Tier::AEOC, Tier::AEOS, Tier::AEOF]
            .into_iter()
            .find(|t| t.0 == bits)
    }

    /// Whether this tier includes every authorisation of `required`.
    pub fn covers(self, required: Tier) -> bool {
        self.0 & required.0 == required.0
    }

    /// The name (AEOC, AEOS, AEOF).
    pub fn name(self) -> &'static str {
        match self.0 {
            0b01 => "AEOC",
            0b10 => "AEOS",
            _ => "AEOF",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "AEOC" => Ok(Tier::AEOC),
            "AEOS" => Ok(Tier::AEOS),
            "AEOF" => Ok(Tier::AEOF),
            // The text refused is not quoted: it may be a certificate's (private) tier.
            _ => Err("unknown AEO tier: expected AEOC, AEOS or AEOF".to_string()),
        }
    }
}

impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// An AEO certificate as held in an authority's registry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// The operator's identifier (EORI number), 1 to 31 ASCII characters.
    pub operator_id: String,
    /// Authorisation type.
    pub tier: Tier,
    /// First day of validity.
    pub valid_from: Day,
    /// Last day of validity.
    pub valid_until: Day,
    /// The issuing authority's identifier, 1 to 31 ASCII characters.
    pub authority: String,
    /// Commitment to the holder's secret, `Poseidon_holder(secret)`.
    #[serde(with = "serde_fr")]
    pub holder_commitment: Fr,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The operator must stay unknown to verifiers: print nothing identifying.
        f.debug_struct("Certificate").finish_non_exhaustive()
    }
}

impl Certificate {
    /// The registry leaf of this certificate.
    pub fn leaf(&self) -> Result<Fr, FieldError> {
        Ok(poseidon::hash(
            Domain::Leaf,
            &[
                pack_ascii(&self.operator_id)?,
                Fr::from(self.tier.bits()),
                Fr::from(self.valid_from.days()),
                Fr::from(self.valid_until.days()),
                pack_ascii(&self.authority)?,
                self.holder_commitment,
            ],
        ))
    }
}

/// The holder commitment of a secret.
pub fn holder_commitment(secret: &Fr) -> Fr {
    poseidon::hash(Domain::HolderCommitment, &[*secret])
}

/// The nullifier of a holder in a scope.
pub fn nullifier(secret: &Fr, scope: &str) -> Fr {
    poseidon::hash(Domain::Nullifier, &[*secret, scope_field(scope)])
}

/// The field element of a scope string.
pub fn scope_field(scope: &str) -> Fr {
    hash_to_field(SCOPE_LABEL, scope)
}

/// Public values of `aeo-status/v1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AeoStatusPublic {
    /// The registry root the certificate is in.
    #[serde(with = "serde_fr")]
    pub registry_root: Fr,
    /// The issuing authority.
    pub authority: String,
    /// The day on which the certificate is valid.
    pub as_of: Day,
    /// The minimum tier.
    pub required_tier: Tier,
    /// The verifier's scope (a session challenge, a declaration, a programme), 1 to 256 bytes.
    pub scope: String,
    /// The holder's nullifier for this scope.
    #[serde(with = "serde_fr")]
    pub nullifier: Fr,
}

/// Private values of `aeo-status/v1`.
#[derive(Clone)]
pub struct AeoStatusPrivate {
    /// The holder's certificate.
    pub certificate: Certificate,
    /// The holder's secret.
    pub holder_secret: Fr,
    /// The certificate's path in the registry tree.
    pub path: MerklePath,
}

impl std::fmt::Debug for AeoStatusPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeoStatusPrivate(<redacted>)")
    }
}

/// Which check of `aeo-status/v1` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AeoStatusError {
    /// A text value cannot be a field element.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// The scope is empty or longer than 256 bytes.
    #[error("scope must be 1 to 256 bytes")]
    BadScope,
    /// The Merkle path is malformed.
    #[error("Merkle path must have {DEPTH} siblings and an index below 2^{DEPTH}")]
    MalformedPath,
    /// The certificate (with this holder commitment) is not in the registry root.
    #[error("certificate is not in the registry with this root")]
    NotInRegistry,
    /// The holder secret does not open the certificate's holder commitment.
    #[error("holder secret does not match the certificate's holder commitment")]
    WrongHolderSecret,
    /// The certificate was issued by another authority.
    #[error("certificate was issued by another authority")]
    WrongAuthority,
    /// The certificate starts after the as-of day.
    #[error("certificate is not yet valid on the as-of day")]
    NotYetValid,
    /// The certificate ended before the as-of day.
    #[error("certificate has expired on the as-of day")]
    Expired,
    /// The certificate's tier does not cover the required tier.
    #[error("certificate tier does not cover the required tier")]
    TierTooLow,
    /// The nullifier is not the holder's nullifier for this scope.
    #[error("nullifier does not belong to this holder and scope")]
    WrongNullifier,
}

/// The native check: exactly the relation the circuit enforces.
pub fn check(public: &AeoStatusPublic, private: &AeoStatusPrivate) -> Result<(), AeoStatusError> {
    let cert = &private.certificate;
    if public.scope.is_empty() || public.scope.len() > 256 {
        return Err(AeoStatusError::BadScope);
    }
    pack_ascii(&public.authority)?;
    if holder_commitment(&private.holder_secret) != cert.holder_commitment {
        return Err(AeoStatusError::WrongHolderSecret);
    }
    let root = private
        .path
        .root(&cert.leaf()?)
        .ok_or(AeoStatusError::MalformedPath)?;
    if root != public.registry_root {
        return Err(AeoStatusError::NotInRegistry);
    }
    if cert.authority != public.authority {
        return Err(AeoStatusError::WrongAuthority);
    }
    if cert.valid_from > public.as_of {
        return Err(AeoStatusError::NotYetValid);
    }
    if cert.valid_until < public.as_of {
        return Err(AeoStatusError::Expired);
    }
    if !cert.tier.covers(public.required_tier) {
        return Err(AeoStatusError::TierTooLow);
    }
    if nullifier(&private.holder_secret, &public.scope) != public.nullifier {
        return Err(AeoStatusError::WrongNullifier);
    }
    Ok(())
}

/// The circuit of `aeo-status/v1`.
#[derive(Clone, Debug)]
pub struct AeoStatusCircuit {
    /// Public values.
    pub public: AeoStatusPublic,
    /// Private values.
    pub private: AeoStatusPrivate,
}

impl ConstraintSynthesizer<Fr> for AeoStatusCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = public_inputs(&self.public).map_err(|_| SynthesisError::AssignmentMissing)?;
        let [root, authority, as_of, required_tier, scope, nullifier] = inputs
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?
            .try_into()
            .map_err(|_| SynthesisError::Unsatisfiable)?;

        let cert = &self.private.certificate;
        let w = |x: Fr| FpVar::new_witness(cs.clone(), || Ok(x));
        let operator = w(pack_ascii(&cert.operator_id).unwrap_or(Fr::zero()))?;
        let tier = w(Fr::from(cert.tier.bits()))?;
        let valid_from = w(Fr::from(cert.valid_from.days()))?;
        let valid_until = w(Fr::from(cert.valid_until.days()))?;
        let secret = w(self.private.holder_secret)?;
        let path = MerklePathVar::new_witness(cs.clone(), Some(&self.private.path))?;

        // Holder commitment and leaf; the leaf's authority is the public one.
        let commitment =
            poseidon::r1cs::hash(Domain::HolderCommitment, std::slice::from_ref(&secret))?;
        let leaf = poseidon::r1cs::hash(
            Domain::Leaf,
            &[
                operator,
                tier.clone(),
                valid_from.clone(),
                valid_until.clone(),
                authority,
                commitment,
            ],
        )?;
        path.root(&leaf)?.enforce_equal(&root)?;

        // Validity window: valid_from <= as_of <= valid_until, all 32-bit day numbers.
        for day in [&as_of, &valid_from, &valid_until] {
            enforce_bits(day, DAY_BITS)?;
        }
        enforce_le(&valid_from, &as_of, DAY_BITS)?;
        enforce_le(&as_of, &valid_until, DAY_BITS)?;

        // Tier: every required bit is held.
        let held = enforce_bits(&tier, TIER_BITS)?;
        let required = enforce_bits(&required_tier, TIER_BITS)?;
        for (r, h) in required.iter().zip(&held) {
            (r & !h).enforce_equal(&ark_r1cs_std::boolean::Boolean::FALSE)?;
        }

        // Nullifier for the public scope.
        poseidon::r1cs::hash(Domain::Nullifier, &[secret, scope])?.enforce_equal(&nullifier)?;
        Ok(())
    }
}

/// The public inputs in circuit order: root, authority, as-of day, required tier, scope, nullifier.
/// This is the only place that fixes that order.
pub fn public_inputs(public: &AeoStatusPublic) -> Result<Vec<Fr>, AeoStatusError> {
    if public.scope.is_empty() || public.scope.len() > 256 {
        return Err(AeoStatusError::BadScope);
    }
    Ok(vec![
        public.registry_root,
        pack_ascii(&public.authority)?,
        Fr::from(public.as_of.days()),
        Fr::from(public.required_tier.bits()),
        scope_field(&public.scope),
        public.nullifier,
    ])
}
