//! `invoice-value/v1`: "the invoice whose SHA-256 digest is H totals V in currency C, and its
//! lines add up to that total".
//!
//! Private: the invoice in its canonical encoding (one size class per key). The circuit recomputes
//! SHA-256 over the encoding, compares it with the digest (two public field elements of 128 bits),
//! reads the currency and total from the header, and sums the amounts of the lines in use; unused
//! line slots must be all zero, and the line count cannot exceed the size class.

use crate::field::digest_to_fields;
use crate::invoice::r1cs::{be_number, DigestGadget, InvoiceVar};
use crate::invoice::{self, layout, Invoice, InvoiceError, SizeClass};
use crate::sha256;
use crate::Fr;
use ark_r1cs_std::{
    alloc::AllocVar,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use serde::{Deserialize, Serialize};

/// The statement id.
pub const ID: &str = "invoice-value/v1";
/// Number of public inputs: digest high, digest low, declared value, currency.
pub const NUM_PUBLIC_INPUTS: usize = 4;

/// Public values of `invoice-value/v1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceValuePublic {
    /// SHA-256 of the canonical invoice encoding (hex), as anchored on the ledger.
    #[serde(with = "hex_digest")]
    pub digest: [u8; 32],
    /// Declared customs value in minor units of `currency`.
    pub declared_value_minor: u64,
    /// Currency of the declared value (ISO 4217).
    pub currency: String,
}

/// Private values of `invoice-value/v1`: the canonical encoding of the invoice.
#[derive(Clone)]
pub struct InvoiceValuePrivate {
    /// The encoded invoice (length fixed by the size class).
    pub encoded: Vec<u8>,
}

impl std::fmt::Debug for InvoiceValuePrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvoiceValuePrivate(<redacted>)")
    }
}

impl InvoiceValuePrivate {
    /// Encodes an invoice in a size class.
    pub fn new(invoice: &Invoice, class: SizeClass) -> Result<Self, InvoiceError> {
        Ok(Self {
            encoded: invoice.encode_in(class)?,
        })
    }
}

/// Which check of `invoice-value/v1` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvoiceValueError {
    /// The encoding is not a canonical invoice of this size class.
    #[error("{0}")]
    Encoding(#[from] InvoiceError),
    /// The encoding is of another size class.
    #[error("invoice is encoded for size class {found}, the circuit is for {expected}")]
    WrongSizeClass {
        /// The circuit's class.
        expected: SizeClass,
        /// The encoding's class.
        found: SizeClass,
    },
    /// The invoice's SHA-256 is not the public digest.
    #[error("invoice digest does not match the anchored digest")]
    DigestMismatch,
    /// The lines do not add up to the invoice total (the message quotes neither: both are the
    /// trader's private values).
    #[error("invoice lines do not add up to the invoice total")]
    LinesDoNotSum {
        /// Sum of the line amounts.
        lines: u128,
        /// The header total.
        total: u64,
    },
    /// The declared value differs from the invoice total.
    #[error("declared value differs from the invoice total")]
    ValueMismatch,
    /// The declared currency differs from the invoice currency.
    #[error("declared currency differs from the invoice currency")]
    CurrencyMismatch,
}

/// The native check for a circuit of `class`: the relation the circuit enforces, on an encoding
/// that also decodes canonically. The circuit leaves the encoding's text rules (section 2 of
/// `docs/invoice-encoding.md`: digits of an HS code, a unit's characters, a description's UTF-8)
/// to the digest, which binds the proof to the bytes anchored; this check refuses to prove about
/// bytes that break them, so it is stricter than the circuit, never weaker.
pub fn check(
    class: SizeClass,
    public: &InvoiceValuePublic,
    private: &InvoiceValuePrivate,
) -> Result<(), InvoiceValueError> {
    invoice::currency_code(&public.currency)?;
    let (inv, found) = Invoice::decode(&private.encoded)?;
    if found != class {
        return Err(InvoiceValueError::WrongSizeClass {
            expected: class,
            found,
        });
    }
    if invoice::sha256(&private.encoded) != public.digest {
        return Err(InvoiceValueError::DigestMismatch);
    }
    let lines: u128 = inv.lines.iter().map(|l| u128::from(l.amount_minor)).sum();
    if lines != u128::from(inv.total_minor) {
        return Err(InvoiceValueError::LinesDoNotSum {
            lines,
            total: inv.total_minor,
        });
    }
    if inv.total_minor != public.declared_value_minor {
        return Err(InvoiceValueError::ValueMismatch);
    }
    if inv.currency != public.currency {
        return Err(InvoiceValueError::CurrencyMismatch);
    }
    Ok(())
}

/// The circuit of `invoice-value/v1` for one size class.
#[derive(Clone, Debug)]
pub struct InvoiceValueCircuit {
    /// The size class (fixes the circuit's shape).
    pub class: SizeClass,
    /// Public values.
    pub public: InvoiceValuePublic,
    /// Private values.
    pub private: InvoiceValuePrivate,
}

impl ConstraintSynthesizer<Fr> for InvoiceValueCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.generate_constraints_with(cs, sha256::digest)
    }
}

impl InvoiceValueCircuit {
    /// The circuit with another SHA-256 gadget, so that a benchmark can set a gadget against ours
    /// in the same statement. The statement's keys always come from [`sha256::digest`].
    #[doc(hidden)]
    pub fn generate_constraints_with(
        self,
        cs: ConstraintSystemRef<Fr>,
        sha256: DigestGadget,
    ) -> Result<(), SynthesisError> {
        let inputs = public_inputs(&self.public).map_err(|_| SynthesisError::AssignmentMissing)?;
        let [digest_hi, digest_lo, declared, currency] = inputs
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?
            .try_into()
            .map_err(|_| SynthesisError::Unsatisfiable)?;

        // The anchored encoding: digest, format, size class, currency.
        let inv = InvoiceVar::new_anchored_with(
            cs.clone(),
            self.class,
            &self.private.encoded,
            &digest_hi,
            &digest_lo,
            &currency,
            sha256,
        )?;
        let total = be_number(inv.header(layout::TOTAL))?;
        total.enforce_equal(&declared)?;

        // Amounts of lines in use add up to the total; unused slots are all zero. Sixteen 64-bit
        // amounts sum below 2^68, far from the modulus, so the field sum is the integer sum.
        let active = inv.lines_in_use()?;
        let mut sum = FpVar::zero();
        for (i, a) in active.iter().enumerate() {
            let amount = be_number(inv.line(i, layout::LINE_AMOUNT))?;
            let a = FpVar::from(a.clone());
            sum += &a * &amount;
            inv.enforce_unused_slot(i, &a)?;
        }
        sum.enforce_equal(&total)?;
        Ok(())
    }
}

/// A satisfying witness of the right shape for a size class, used to generate keys.
pub fn dummy(class: SizeClass) -> InvoiceValueCircuit {
    let invoice = invoice::example_invoice();
    let private = InvoiceValuePrivate::new(&invoice, class).expect("example invoice encodes");
    InvoiceValueCircuit {
        class,
        public: InvoiceValuePublic {
            digest: invoice::sha256(&private.encoded),
            declared_value_minor: invoice.total_minor,
            currency: invoice.currency.clone(),
        },
        private,
    }
}

/// The public inputs in circuit order: digest high 128 bits, digest low 128 bits, declared value,
/// currency code. This is the only place that fixes that order.
pub fn public_inputs(public: &InvoiceValuePublic) -> Result<Vec<Fr>, InvoiceValueError> {
    let [hi, lo] = digest_to_fields(&public.digest);
    Ok(vec![
        hi,
        lo,
        Fr::from(public.declared_value_minor),
        Fr::from(invoice::currency_code(&public.currency)?),
    ])
}

/// Serde for 32-byte digests as 64 hex digits.
pub mod hex_digest {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Serializes as 64 lowercase hex digits.
    pub fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(d))
    }

    /// Deserializes from 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let bytes =
            hex::decode(&s).map_err(|_| D::Error::custom("digest must be 64 hex digits"))?;
        bytes
            .try_into()
            .map_err(|_| D::Error::custom("digest must be 64 hex digits (32 bytes)"))
    }
}
