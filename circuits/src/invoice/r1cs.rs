//! The canonical invoice encoding inside a circuit, shared by the invoice statements
//! (`invoice-value/v1`, `declaration-match/v1`).
//!
//! [`InvoiceVar::new_anchored`] allocates the encoding as private bytes and binds it to the
//! anchored digest, the format and the currency; [`InvoiceVar::lines_in_use`] and
//! [`InvoiceVar::enforce_unused_slot`] fix which line slots are in use. Each statement then reads
//! the fields it needs. The order in which these are called fixes the constraint matrices, so a
//! statement calls them in one fixed order.

use super::{layout, SizeClass, HEADER_LEN, LINE_LEN, MAGIC, VERSION};
use crate::{sha256, Fr};
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
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// Big-endian integer from bytes, as a linear combination of their bits.
pub fn be_number(bytes: &[UInt8<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut bits = Vec::with_capacity(bytes.len() * 8);
    for b in bytes.iter().rev() {
        bits.extend(b.to_bits_le()?);
    }
    Boolean::le_bits_to_fp(&bits)
}

/// Constrains bytes to constants.
pub fn enforce_const(bytes: &[UInt8<Fr>], expected: &[u8]) -> Result<(), SynthesisError> {
    for (b, e) in bytes.iter().zip(expected) {
        b.enforce_equal(&UInt8::constant(*e))?;
    }
    Ok(())
}

/// A SHA-256 gadget: the digest of bytes whose length is fixed when the circuit is built.
pub type DigestGadget = fn(&[UInt8<Fr>]) -> Result<[UInt8<Fr>; 32], SynthesisError>;

/// A canonical invoice encoding allocated as private bytes.
pub struct InvoiceVar {
    class: SizeClass,
    bytes: Vec<UInt8<Fr>>,
}

impl InvoiceVar {
    /// Allocates `encoded` (the length of `class`'s encoding) as private bytes and constrains its
    /// SHA-256 to the digest given as two 128-bit halves, its magic, version and size class to
    /// the format's, and its currency to `currency` (the big-endian ASCII code).
    pub fn new_anchored(
        cs: ConstraintSystemRef<Fr>,
        class: SizeClass,
        encoded: &[u8],
        digest_hi: &FpVar<Fr>,
        digest_lo: &FpVar<Fr>,
        currency: &FpVar<Fr>,
    ) -> Result<Self, SynthesisError> {
        Self::new_anchored_with(
            cs,
            class,
            encoded,
            digest_hi,
            digest_lo,
            currency,
            sha256::digest,
        )
    }

    /// [`Self::new_anchored`] with another SHA-256 gadget, so that a benchmark can set a gadget
    /// against ours in the same circuit. Statements always use [`sha256::digest`].
    #[doc(hidden)]
    pub fn new_anchored_with(
        cs: ConstraintSystemRef<Fr>,
        class: SizeClass,
        encoded: &[u8],
        digest_hi: &FpVar<Fr>,
        digest_lo: &FpVar<Fr>,
        currency: &FpVar<Fr>,
        sha256: DigestGadget,
    ) -> Result<Self, SynthesisError> {
        if encoded.len() != class.encoded_len() {
            return Err(SynthesisError::AssignmentMissing);
        }
        let bytes = UInt8::new_witness_vec(cs, encoded)?;
        let this = Self { class, bytes };

        // The digest of the whole encoding, as two 128-bit halves.
        let digest = sha256(&this.bytes)?;
        be_number(&digest[..16])?.enforce_equal(digest_hi)?;
        be_number(&digest[16..])?.enforce_equal(digest_lo)?;

        // Header: format, size class, currency.
        enforce_const(this.header(layout::MAGIC), &MAGIC)?;
        enforce_const(this.header(layout::VERSION), &[VERSION])?;
        enforce_const(this.header(layout::SIZE_CLASS), &[class.lines() as u8])?;
        be_number(this.header(layout::CURRENCY))?.enforce_equal(currency)?;

        // Reserved bytes are zero, as the canonical decoder requires: 30 bytes below 256 add up
        // to zero only if each is zero (the sum cannot wrap), one constraint.
        let mut reserved_sum = FpVar::zero();
        for b in this.header(layout::RESERVED) {
            reserved_sum += be_number(std::slice::from_ref(b))?;
        }
        reserved_sum.enforce_equal(&FpVar::zero())?;
        Ok(this)
    }

    /// The bytes of a header field, by its `(offset, length)` in [`layout`].
    pub fn header(&self, (offset, len): (usize, usize)) -> &[UInt8<Fr>] {
        &self.bytes[offset..offset + len]
    }

    /// The bytes of a field of line slot `i`, by its `(offset, length)` in [`layout`].
    pub fn line(&self, i: usize, (offset, len): (usize, usize)) -> &[UInt8<Fr>] {
        let start = HEADER_LEN + i * LINE_LEN + offset;
        &self.bytes[start..start + len]
    }

    /// One boolean per line slot, true for the slots in use. The first slot is in use, the slots
    /// in use form a prefix (`active[i+1]` implies `active[i]`) and their number is the header's
    /// line count, so the count is at least one and cannot exceed the size class.
    pub fn lines_in_use(&self) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        let cs = self.bytes.cs();
        let count = be_number(self.header(layout::LINE_COUNT))?;
        let count_value = count.value().ok().map(|c| c.into_bigint().0[0]);
        let mut active = Vec::with_capacity(self.class.lines());
        for i in 0..self.class.lines() {
            active.push(Boolean::new_witness(cs.clone(), || {
                count_value
                    .map(|c| (i as u64) < c)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        // An invoice has at least one line, as the canonical decoder requires.
        active[0].enforce_equal(&Boolean::TRUE)?;
        for pair in active.windows(2) {
            (&pair[1] & !&pair[0]).enforce_equal(&Boolean::FALSE)?;
        }
        let active_sum = active
            .iter()
            .fold(FpVar::zero(), |acc, a| acc + FpVar::from(a.clone()));
        active_sum.enforce_equal(&count)?;
        Ok(active)
    }

    /// Constrains line slot `i` to be all zero unless `active` (0 or 1) is 1.
    pub fn enforce_unused_slot(&self, i: usize, active: &FpVar<Fr>) -> Result<(), SynthesisError> {
        // Bytes are below 256, so the sum of 64 of them is zero only if each is zero.
        let mut byte_sum = FpVar::zero();
        for b in self.line(i, (0, LINE_LEN)) {
            byte_sum += be_number(std::slice::from_ref(b))?;
        }
        ((FpVar::one() - active) * byte_sum).enforce_equal(&FpVar::zero())
    }
}
