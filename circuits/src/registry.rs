//! AEO registries as an authority keeps them: certificates in, a Merkle root and each holder's
//! membership witness out. The authority publishes the root; each holder receives its witness and
//! combines it with its own holder secret to prove `aeo-status/v1`.

use crate::aeo_status::{
    holder_commitment, nullifier, AeoStatusCircuit, AeoStatusPrivate, AeoStatusPublic, Certificate,
    Tier,
};
use crate::date::{DateError, Day};
use crate::field::{hash_to_field, pack_ascii, FieldError};
use crate::merkle::{MerklePath, MerkleTree, TreeError};
use crate::{serde_fr, Fr};
use serde::{Deserialize, Serialize};

/// The input of `registry build`: an authority and its certificates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryInput {
    /// The authority's identifier (as in every certificate).
    pub authority: String,
    /// The certificates, in registry order.
    pub certificates: Vec<Certificate>,
}

/// What a holder receives from the authority: its certificate and where it sits in the tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The registry root this witness is for.
    #[serde(with = "serde_fr")]
    pub registry_root: Fr,
    /// The certificate.
    pub certificate: Certificate,
    /// The path from the certificate's leaf to the root.
    pub path: MerklePath,
}

/// A built registry.
#[derive(Clone, Debug)]
pub struct Registry {
    /// The authority.
    pub authority: String,
    /// The root to publish.
    pub root: Fr,
    /// One membership witness per certificate, in input order.
    pub members: Vec<Membership>,
}

/// Why a registry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A certificate names another authority.
    #[error(
        "certificate {index} is issued by {found:?}, not by the registry's authority {expected:?}"
    )]
    ForeignCertificate {
        /// Position in the input.
        index: usize,
        /// The registry's authority.
        expected: String,
        /// The certificate's authority.
        found: String,
    },
    /// A certificate ends before it starts.
    #[error("certificate {0} ends before it starts")]
    EmptyValidity(usize),
    /// Two certificates for the same operator.
    #[error("operator of certificate {0} appears twice")]
    DuplicateOperator(usize),
    /// An identifier is not 1 to 31 ASCII characters.
    #[error("certificate {index}: {source}")]
    BadIdentifier {
        /// Position in the input.
        index: usize,
        /// The problem.
        source: FieldError,
    },
    /// The tree is full.
    #[error("{0}")]
    Tree(#[from] TreeError),
}

/// Builds the registry tree and every holder's membership witness.
pub fn build(input: &RegistryInput) -> Result<Registry, RegistryError> {
    pack_ascii(&input.authority)
        .map_err(|source| RegistryError::BadIdentifier { index: 0, source })?;
    let mut seen = std::collections::HashSet::new();
    let mut leaves = Vec::with_capacity(input.certificates.len());
    for (index, cert) in input.certificates.iter().enumerate() {
        if cert.authority != input.authority {
            return Err(RegistryError::ForeignCertificate {
                index,
                expected: input.authority.clone(),
                found: cert.authority.clone(),
            });
        }
        if cert.valid_until < cert.valid_from {
            return Err(RegistryError::EmptyValidity(index));
        }
        if !seen.insert(cert.operator_id.clone()) {
            return Err(RegistryError::DuplicateOperator(index));
        }
        leaves.push(
            cert.leaf()
                .map_err(|source| RegistryError::BadIdentifier { index, source })?,
        );
    }
    let tree = MerkleTree::new(leaves)?;
    let root = tree.root();
    let members = input
        .certificates
        .iter()
        .enumerate()
        .map(|(i, cert)| Membership {
            registry_root: root,
            certificate: cert.clone(),
            path: tree.path(i as u32).expect("every certificate has a leaf"),
        })
        .collect();
    Ok(Registry {
        authority: input.authority.clone(),
        root,
        members,
    })
}

/// A deterministic holder secret for examples and tests (never for real holders).
pub fn example_holder_secret(label: &str) -> Fr {
    hash_to_field("zkcustoms/example-holder-secret", label)
}

/// The day the fixed examples and their test vectors are stated on: 2026-11-25.
pub fn example_day() -> Day {
    Day::parse("2026-11-25").expect("valid date")
}

/// The example registry on [`example_day`]: fixed, so that test vectors do not depend on the date
/// they run on.
pub fn example_registry() -> Registry {
    example_registry_on(example_day()).expect("the fixed example day is in range")
}

/// The example registry as the authority `DE-GZD` (German customs) would hold it on `day`: three
/// certificates, whose validity is stated relative to `day` so that the example holds whatever the
/// date. The first (AEOF) is valid from 999 days before `day` until 95 days after it, the second
/// (AEOC) from 693 days before until 401 days after, and the third (AEOS) expired 178 days before.
/// Refused when one of these dates falls outside 1970-01-01..9999-12-31.
pub fn example_registry_on(day: Day) -> Result<Registry, DateError> {
    let cert = |op: &str, tier: Tier, from: i64, until: i64| -> Result<Certificate, DateError> {
        Ok(Certificate {
            operator_id: op.into(),
            tier,
            valid_from: day.add_days(from)?,
            valid_until: day.add_days(until)?,
            authority: "DE-GZD".into(),
            holder_commitment: holder_commitment(&example_holder_secret(op)),
        })
    };
    let certificates = vec![
        cert("DE123456789012345", Tier::AEOF, -999, 95)?,
        cert("DE998877665544332", Tier::AEOC, -693, 401)?,
        cert("DE555444333222111", Tier::AEOS, -1273, -178)?,
    ];
    Ok(build(&RegistryInput {
        authority: "DE-GZD".into(),
        certificates,
    })
    .expect("example registry is valid"))
}

/// The `aeo-status/v1` circuit over a satisfying witness of the right shape (the example
/// statement below), used to generate keys. It lives beside the example registry rather than in
/// `aeo_status`, so that the statement's module does not import the registry that imports it.
pub fn aeo_status_dummy() -> AeoStatusCircuit {
    let (public, private) = example_aeo_status();
    AeoStatusCircuit { public, private }
}

/// The example `aeo-status/v1` statement on [`example_day`] (fixed, for test vectors).
pub fn example_aeo_status() -> (AeoStatusPublic, AeoStatusPrivate) {
    example_aeo_status_on(example_day()).expect("the fixed example day is in range")
}

/// The example `aeo-status/v1` statement on `day`: the first certificate of
/// [`example_registry_on`] `day`, valid that day for tier AEOS, in the scope of a partner
/// administration's check made that day. Refused like [`example_registry_on`].
pub fn example_aeo_status_on(day: Day) -> Result<(AeoStatusPublic, AeoStatusPrivate), DateError> {
    let registry = example_registry_on(day)?;
    let member = registry.members[0].clone();
    let secret = example_holder_secret(&member.certificate.operator_id);
    // A verifier challenge, not a UCR: a UCR carries the trader's identifier and would reveal it.
    let scope = format!("NL-DOUANE/entry-check/{day}/7f3a9c21");
    let public = AeoStatusPublic {
        registry_root: registry.root,
        authority: registry.authority,
        as_of: day,
        required_tier: Tier::AEOS,
        nullifier: nullifier(&secret, &scope),
        scope,
    };
    let private = AeoStatusPrivate {
        certificate: member.certificate,
        holder_secret: secret,
        path: member.path,
    };
    Ok((public, private))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aeo_status::check;

    #[test]
    fn example_statement_holds() {
        let (public, private) = example_aeo_status();
        check(&public, &private).unwrap();
    }

    #[test]
    fn example_statement_holds_on_any_day() {
        for date in [
            "1975-01-01",
            "2026-11-25",
            "2027-03-01",
            "2031-07-15",
            "9998-01-01",
        ] {
            let day = Day::parse(date).unwrap();
            let (public, private) = example_aeo_status_on(day).unwrap();
            check(&public, &private).unwrap_or_else(|e| panic!("{date}: {e}"));
            assert_eq!(public.as_of, day);
        }
        // Too close to either end of the calendar for the example's dates: refused, no panic.
        for date in ["1970-06-01", "9999-12-31"] {
            assert!(
                example_aeo_status_on(Day::parse(date).unwrap()).is_err(),
                "{date}"
            );
        }
    }

    #[test]
    fn fixed_example_keeps_its_dates() {
        let reg = example_registry();
        let dates: Vec<String> = reg
            .members
            .iter()
            .map(|m| {
                format!(
                    "{}..{}",
                    m.certificate.valid_from, m.certificate.valid_until
                )
            })
            .collect();
        assert_eq!(
            dates,
            [
                "2024-03-01..2027-02-28",
                "2025-01-01..2027-12-31",
                "2023-06-01..2026-05-31"
            ]
        );
    }

    #[test]
    fn build_refuses_bad_registries() {
        let reg = example_registry();
        let mut input = RegistryInput {
            authority: "DE-GZD".into(),
            certificates: reg.members.iter().map(|m| m.certificate.clone()).collect(),
        };
        input.certificates[1].authority = "FR-DGDDI".into();
        assert!(matches!(
            build(&input),
            Err(RegistryError::ForeignCertificate { index: 1, .. })
        ));
        input.certificates[1] = input.certificates[0].clone();
        assert_eq!(
            build(&input).unwrap_err(),
            RegistryError::DuplicateOperator(1)
        );
    }
}
