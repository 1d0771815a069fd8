//! `invoice-value/v1`: "the invoice whose SHA-256 digest is H totals V in currency C, and its
//! lines add up to that total".
//!
//! Private: the invoice in its canonical encoding (one size class per key). The circuit recomputes
//! SHA-256 over the encoding, compares it with the digest (two public field elements of 128 bits),
//! reads the currency and total from the header, and sums the amounts of the lines in use; unused
//! line slots must be all zero, and the line count cannot exceed the size class.

use crate::field::digest_to_fields;
use crate::invoice::{self, layout, Invoice, InvoiceError, SizeClass, HEADER_LEN, LINE_LEN};
use crate::Fr;
use ark_crypto_primitives::crh::sha256::constraints::Sha256Gadget;
use ark_ff::PrimeField;
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    convert::ToBitsGadget,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    uint8::UInt8,
    GR1CSVar,
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
    /// The lines do not add up to the invoice total.
    #[error("invoice lines add up to {lines} but the invoice total is {total}")]
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

/// The native check: exactly the relation the circuit enforces, for a circuit of `class`.
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

/// Big-endian integer from bytes, as a linear combination of their bits.
fn be_number(bytes: &[UInt8<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut bits = Vec::with_capacity(bytes.len() * 8);
    for b in bytes.iter().rev() {
        bits.extend(b.to_bits_le()?);
    }
    Boolean::le_bits_to_fp(&bits)
}

fn enforce_const(bytes: &[UInt8<Fr>], expected: &[u8]) -> Result<(), SynthesisError> {
    for (b, e) in bytes.iter().zip(expected) {
        b.enforce_equal(&UInt8::constant(*e))?;
    }
    Ok(())
}

impl ConstraintSynthesizer<Fr> for InvoiceValueCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = public_inputs(&self.public).map_err(|_| SynthesisError::AssignmentMissing)?;
        let [digest_hi, digest_lo, declared, currency] = inputs
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?
            .try_into()
            .map_err(|_| SynthesisError::Unsatisfiable)?;

        let len = self.class.encoded_len();
        if self.private.encoded.len() != len {
            return Err(SynthesisError::AssignmentMissing);
        }
        let bytes = UInt8::new_witness_vec(cs.clone(), &self.private.encoded)?;
        let field = |(o, l): (usize, usize)| &bytes[o..o + l];

        // The digest of the whole encoding, as two 128-bit halves.
        let digest = Sha256Gadget::digest(&bytes)?;
        be_number(&digest.0[..16])?.enforce_equal(&digest_hi)?;
        be_number(&digest.0[16..])?.enforce_equal(&digest_lo)?;

        // Header: format, size class, currency, total.
        enforce_const(field(layout::MAGIC), &invoice::MAGIC)?;
        enforce_const(field(layout::VERSION), &[invoice::VERSION])?;
        enforce_const(field(layout::SIZE_CLASS), &[self.class.lines() as u8])?;
        be_number(field(layout::CURRENCY))?.enforce_equal(&currency)?;
        let total = be_number(field(layout::TOTAL))?;
        total.enforce_equal(&declared)?;

        // Lines in use form a prefix of the slots: active[i+1] implies active[i], and their
        // number is the header's line count (so it cannot exceed the class).
        let count = be_number(field(layout::LINE_COUNT))?;
        let count_value = count.value().ok().map(|c| c.into_bigint().0[0]);
        let mut active = Vec::with_capacity(self.class.lines());
        for i in 0..self.class.lines() {
            active.push(Boolean::new_witness(cs.clone(), || {
                count_value
                    .map(|c| (i as u64) < c)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        for pair in active.windows(2) {
            (&pair[1] & !&pair[0]).enforce_equal(&Boolean::FALSE)?;
        }
        let active_sum = active
            .iter()
            .fold(FpVar::zero(), |acc, a| acc + FpVar::from(a.clone()));
        active_sum.enforce_equal(&count)?;

        // Amounts of lines in use add up to the total; unused slots are all zero. Sixteen 64-bit
        // amounts sum below 2^68, far from the modulus, so the field sum is the integer sum.
        let mut sum = FpVar::zero();
        for (i, a) in active.iter().enumerate() {
            let slot = &bytes[HEADER_LEN + i * LINE_LEN..HEADER_LEN + (i + 1) * LINE_LEN];
            let amount = be_number(&slot[layout::LINE_AMOUNT.0..layout::LINE_AMOUNT.0 + 8])?;
            let a = FpVar::from(a.clone());
            sum += &a * &amount;
            // Bytes are below 256, so the sum of 64 of them is zero only if each is zero.
            let mut byte_sum = FpVar::zero();
            for b in slot {
                byte_sum += be_number(std::slice::from_ref(b))?;
            }
            ((FpVar::one() - &a) * byte_sum).enforce_equal(&FpVar::zero())?;
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
