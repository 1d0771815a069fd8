//! `declaration-match/v1`: "the declaration items (HS-6 heading, value) are exactly the lines of
//! the invoice whose SHA-256 digest is H, grouped by heading, in currency C".
//!
//! Several invoice lines with the same heading add up to one declaration item; every line is in
//! exactly one item; no item is invented (each has at least one line, item headings are
//! distinct). Private: the invoice in its canonical encoding (one size class per key), bound to
//! the digest by the same gadget as `invoice-value/v1`. Public: the digest, the currency and the
//! items, at most as many as the class has line slots.
//!
//! Padding: the items fill the first slots of a table of `class.lines()` slots, in the
//! declaration's order, the item count is a public input, and every slot after it is
//! (heading 0, value 0). The circuit enforces that convention: the slots in use form a prefix of
//! at least one slot whose length is the count, and unused slots are zero.
//!
//! The circuit assigns each line in use to one item with its heading (a private one-hot
//! selector per line) and requires each item's value to be the sum of the amounts of its lines,
//! each item in use to have at least one line, no unused item to have a line, and the headings of
//! the items in use to be distinct. Distinct headings force all lines of a heading into one item.

use crate::field::digest_to_fields;
use crate::invoice::r1cs::{be_number, InvoiceVar};
use crate::invoice::{self, layout, Invoice, InvoiceError, SizeClass};
use crate::invoice_value::hex_digest;
use crate::Fr;
use ark_ff::{Field, PrimeField, Zero};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The statement id.
pub const ID: &str = "declaration-match/v1";
/// Public inputs before the item slots: digest high, digest low, currency, item count.
pub const FIXED_INPUTS: usize = 4;

/// Number of public inputs of the circuit for a size class: the fixed inputs, then a heading
/// and a value per item slot.
pub fn num_public_inputs(class: SizeClass) -> usize {
    FIXED_INPUTS + 2 * class.lines()
}

/// One declaration item: an HS-6 heading and the value declared under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationItem {
    /// HS-6 subheading (six digits).
    pub hs_code: String,
    /// Value of the item in minor units of the currency.
    pub value_minor: u64,
}

/// Public values of `declaration-match/v1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationMatchPublic {
    /// SHA-256 of the canonical invoice encoding (hex), as anchored on the ledger.
    #[serde(with = "hex_digest")]
    pub digest: [u8; 32],
    /// Currency of the item values (ISO 4217), the invoice currency.
    pub currency: String,
    /// The declaration items, in the declaration's order: 1 to the size class's line count,
    /// headings distinct.
    pub items: Vec<DeclarationItem>,
}

/// Private values of `declaration-match/v1`: the canonical encoding of the invoice.
#[derive(Clone)]
pub struct DeclarationMatchPrivate {
    /// The encoded invoice (length fixed by the size class).
    pub encoded: Vec<u8>,
}

impl std::fmt::Debug for DeclarationMatchPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeclarationMatchPrivate(<redacted>)")
    }
}

impl DeclarationMatchPrivate {
    /// Encodes an invoice in a size class.
    pub fn new(invoice: &Invoice, class: SizeClass) -> Result<Self, InvoiceError> {
        Ok(Self {
            encoded: invoice.encode_in(class)?,
        })
    }
}

/// Which check of `declaration-match/v1` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeclarationMatchError {
    /// The encoding is not a canonical invoice, or the currency is not an ISO 4217 code.
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
    /// The declaration has no items.
    #[error("the declaration has no items")]
    NoItems,
    /// More items than the size class has slots.
    #[error("the declaration has {items} items but size class {class} holds at most {}", class.lines())]
    TooManyItems {
        /// Items declared.
        items: usize,
        /// The size class.
        class: SizeClass,
    },
    /// An item heading is not an HS-6 subheading.
    #[error("item {item}: heading must be six digits (an HS-6 subheading)")]
    BadHeading {
        /// The item's position, from 1.
        item: usize,
    },
    /// Two items have the same heading.
    #[error("heading {hs_code} is declared in more than one item")]
    DuplicateHeading {
        /// The heading.
        hs_code: String,
    },
    /// The invoice's SHA-256 is not the public digest.
    #[error("invoice digest does not match the anchored digest")]
    DigestMismatch,
    /// The declared currency differs from the invoice currency.
    #[error("declared currency differs from the invoice currency")]
    CurrencyMismatch,
    /// An item's heading is on no invoice line.
    #[error("item {hs_code}: no invoice line has this heading")]
    ItemWithoutLines {
        /// The item's heading.
        hs_code: String,
    },
    /// An item's value differs from the sum of the invoice lines with its heading.
    #[error("item {hs_code}: value differs from the sum of the invoice lines with this heading")]
    ValueMismatch {
        /// The item's heading.
        hs_code: String,
    },
    /// An invoice line's heading is in no item.
    #[error("invoice line {line} is in no declaration item (its heading is not declared)")]
    LineNotDeclared {
        /// The line's position, from 1.
        line: usize,
    },
    /// The lines of one heading add up to more than a value can hold.
    #[error("the invoice lines with heading {hs_code} add up to more than 2^64 - 1")]
    GroupTooLarge {
        /// The heading.
        hs_code: String,
    },
}

/// The integer an HS-6 heading is packed into (big-endian ASCII of its six digits).
pub fn heading_code(hs_code: &str) -> Result<u64, InvoiceError> {
    invoice::check_hs(hs_code)?;
    Ok(hs_code
        .bytes()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(b)))
}

/// Checks the items alone: 1 to `class.lines()` of them, headings of six digits, distinct.
pub fn check_items(
    class: SizeClass,
    items: &[DeclarationItem],
) -> Result<(), DeclarationMatchError> {
    if items.is_empty() {
        return Err(DeclarationMatchError::NoItems);
    }
    if items.len() > class.lines() {
        return Err(DeclarationMatchError::TooManyItems {
            items: items.len(),
            class,
        });
    }
    for (i, item) in items.iter().enumerate() {
        heading_code(&item.hs_code)
            .map_err(|_| DeclarationMatchError::BadHeading { item: i + 1 })?;
        if items[..i].iter().any(|o| o.hs_code == item.hs_code) {
            return Err(DeclarationMatchError::DuplicateHeading {
                hs_code: item.hs_code.clone(),
            });
        }
    }
    Ok(())
}

/// The declaration items of an invoice: its lines grouped by heading, in the order in which
/// each heading first appears.
pub fn group_lines(invoice: &Invoice) -> Result<Vec<DeclarationItem>, DeclarationMatchError> {
    let mut items: Vec<DeclarationItem> = Vec::new();
    for line in &invoice.lines {
        match items.iter_mut().find(|i| i.hs_code == line.hs_code) {
            Some(item) => {
                item.value_minor =
                    item.value_minor
                        .checked_add(line.amount_minor)
                        .ok_or_else(|| DeclarationMatchError::GroupTooLarge {
                            hs_code: line.hs_code.clone(),
                        })?
            }
            None => items.push(DeclarationItem {
                hs_code: line.hs_code.clone(),
                value_minor: line.amount_minor,
            }),
        }
    }
    Ok(items)
}

/// The native check for a circuit of `class`: the relation the circuit enforces, on an encoding
/// that also decodes canonically. The circuit leaves the encoding's text rules (section 2 of
/// `docs/invoice-encoding.md`: digits of an HS code, a unit's characters, a description's UTF-8)
/// to the digest, which binds the proof to the bytes anchored; this check refuses to prove about
/// bytes that break them, so it is stricter than the circuit, never weaker.
pub fn check(
    class: SizeClass,
    public: &DeclarationMatchPublic,
    private: &DeclarationMatchPrivate,
) -> Result<(), DeclarationMatchError> {
    invoice::currency_code(&public.currency)?;
    check_items(class, &public.items)?;
    let (inv, found) = Invoice::decode(&private.encoded)?;
    if found != class {
        return Err(DeclarationMatchError::WrongSizeClass {
            expected: class,
            found,
        });
    }
    if invoice::sha256(&private.encoded) != public.digest {
        return Err(DeclarationMatchError::DigestMismatch);
    }
    if inv.currency != public.currency {
        return Err(DeclarationMatchError::CurrencyMismatch);
    }
    let mut groups: BTreeMap<&str, u128> = BTreeMap::new();
    for line in &inv.lines {
        *groups.entry(line.hs_code.as_str()).or_default() += u128::from(line.amount_minor);
    }
    for item in &public.items {
        match groups.get(item.hs_code.as_str()) {
            None => {
                return Err(DeclarationMatchError::ItemWithoutLines {
                    hs_code: item.hs_code.clone(),
                })
            }
            Some(&sum) if sum != u128::from(item.value_minor) => {
                return Err(DeclarationMatchError::ValueMismatch {
                    hs_code: item.hs_code.clone(),
                })
            }
            Some(_) => {}
        }
    }
    if let Some(i) = inv
        .lines
        .iter()
        .position(|l| !public.items.iter().any(|item| item.hs_code == l.hs_code))
    {
        return Err(DeclarationMatchError::LineNotDeclared { line: i + 1 });
    }
    Ok(())
}

/// The circuit of `declaration-match/v1` for one size class.
#[derive(Clone, Debug)]
pub struct DeclarationMatchCircuit {
    /// The size class (fixes the circuit's shape).
    pub class: SizeClass,
    /// Public values.
    pub public: DeclarationMatchPublic,
    /// Private values.
    pub private: DeclarationMatchPrivate,
}

impl ConstraintSynthesizer<Fr> for DeclarationMatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = public_inputs(self.class, &self.public)
            .map_err(|_| SynthesisError::AssignmentMissing)?;
        synthesize(cs, self.class, &inputs, &self.private.encoded, None)
    }
}

/// A field element as a small integer, saturating (for witness computations only).
fn small(x: Fr) -> u64 {
    let b = x.into_bigint().0;
    if b[1..].iter().any(|&l| l != 0) {
        u64::MAX
    } else {
        b[0]
    }
}

/// The inverse of a field element, or zero for zero (the witness of a non-zero check).
fn inverse_or_zero(x: Fr) -> Fr {
    x.inverse().unwrap_or_else(Fr::zero)
}

/// The circuit over raw public inputs (so tests can hand it inputs that break the padding).
///
/// `chosen_selector`, for tests only, replaces the honest prover's assignment of lines to items
/// (`chosen_selector[i][j]`: line slot i is in item slot j), so that a test can play a malicious
/// prover and show an assignment unsatisfiable at constraint level.
fn synthesize(
    cs: ConstraintSystemRef<Fr>,
    class: SizeClass,
    inputs: &[Fr],
    encoded: &[u8],
    chosen_selector: Option<&[Vec<bool>]>,
) -> Result<(), SynthesisError> {
    let n = class.lines();
    if inputs.len() != num_public_inputs(class) {
        return Err(SynthesisError::AssignmentMissing);
    }
    let vars = inputs
        .iter()
        .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
        .collect::<Result<Vec<_>, _>>()?;
    let (digest_hi, digest_lo, currency, item_count) = (&vars[0], &vars[1], &vars[2], &vars[3]);
    let headings: Vec<&FpVar<Fr>> = (0..n).map(|j| &vars[FIXED_INPUTS + 2 * j]).collect();
    let values: Vec<&FpVar<Fr>> = (0..n).map(|j| &vars[FIXED_INPUTS + 2 * j + 1]).collect();

    // The anchored encoding (digest, format, size class, currency) and its lines in use; unused
    // line slots are all zero.
    let inv = InvoiceVar::new_anchored(cs.clone(), class, encoded, digest_hi, digest_lo, currency)?;
    let lines = inv.lines_in_use()?;
    let mut line_hs = Vec::with_capacity(n);
    let mut amounts = Vec::with_capacity(n);
    let mut line_active = Vec::with_capacity(n);
    for (i, a) in lines.iter().enumerate() {
        line_hs.push(be_number(inv.line(i, layout::LINE_HS))?);
        amounts.push(be_number(inv.line(i, layout::LINE_AMOUNT))?);
        let a = FpVar::from(a.clone());
        inv.enforce_unused_slot(i, &a)?;
        line_active.push(a);
    }

    // Items in use form a prefix of the slots, of at least one slot, as long as the public item
    // count (so the count is 1 to n); slots after it are (0, 0).
    let mut item_active = Vec::with_capacity(n);
    for j in 0..n {
        item_active.push(Boolean::new_witness(cs.clone(), || {
            Ok((j as u64) < small(item_count.value()?))
        })?);
    }
    item_active[0].enforce_equal(&Boolean::TRUE)?;
    for pair in item_active.windows(2) {
        (&pair[1] & !&pair[0]).enforce_equal(&Boolean::FALSE)?;
    }
    let item_active: Vec<FpVar<Fr>> = item_active.into_iter().map(FpVar::from).collect();
    item_active
        .iter()
        .fold(FpVar::zero(), |acc, a| acc + a)
        .enforce_equal(item_count)?;
    for j in 0..n {
        let unused = FpVar::one() - &item_active[j];
        unused.mul_equals(headings[j], &FpVar::zero())?;
        unused.mul_equals(values[j], &FpVar::zero())?;
    }

    // The selector: line i is in item j. The honest prover puts each line in use into the first
    // item in use with its heading.
    let mut selector: Vec<Vec<FpVar<Fr>>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = Vec::with_capacity(n);
        for j in 0..n {
            let bit = Boolean::new_witness(cs.clone(), || {
                if let Some(chosen) = chosen_selector {
                    return Ok(chosen[i][j]);
                }
                if !lines[i].value()? {
                    return Ok(false);
                }
                let hs = line_hs[i].value()?;
                let count = small(item_count.value()?);
                for (k, h) in headings.iter().enumerate() {
                    if (k as u64) < count && h.value()? == hs {
                        return Ok(k == j);
                    }
                }
                Ok(false)
            })?;
            row.push(FpVar::from(bit));
        }
        selector.push(row);
    }

    // Each line in use is in exactly one item, unused lines in none, and a line is only in an
    // item with its heading.
    for i in 0..n {
        selector[i]
            .iter()
            .fold(FpVar::zero(), |acc, s| acc + s)
            .enforce_equal(&line_active[i])?;
        for j in 0..n {
            selector[i][j].mul_equals(&(&line_hs[i] - headings[j]), &FpVar::zero())?;
        }
    }

    // Per item: no line in an unused item, at least one line in an item in use, and the value is
    // the sum of its lines' amounts. A line count is at most n, far below the modulus, so it is
    // zero only when no line is selected; sixteen 64-bit amounts sum below 2^68, so the field sum
    // is the integer sum.
    for j in 0..n {
        let count = (0..n).fold(FpVar::zero(), |acc, i| acc + &selector[i][j]);
        (FpVar::one() - &item_active[j]).mul_equals(&count, &FpVar::zero())?;
        let inverse = FpVar::new_witness(cs.clone(), || Ok(inverse_or_zero(count.value()?)))?;
        count.mul_equals(&inverse, &item_active[j])?;
        let mut sum = FpVar::zero();
        for i in 0..n {
            sum += &selector[i][j] * &amounts[i];
        }
        sum.enforce_equal(values[j])?;
    }

    // Headings of items in use are distinct: for j < k, item k in use (so item j too) implies
    // heading j - heading k has an inverse.
    for k in 1..n {
        for j in 0..k {
            let diff = headings[j] - headings[k];
            let inverse = FpVar::new_witness(cs.clone(), || {
                Ok(inverse_or_zero(diff.value()?) * item_active[k].value()?)
            })?;
            diff.mul_equals(&inverse, &item_active[k])?;
        }
    }
    Ok(())
}

/// A satisfying witness of the right shape for a size class, used to generate keys: the example
/// invoice (two lines share a heading) and its lines grouped by heading.
pub fn dummy(class: SizeClass) -> DeclarationMatchCircuit {
    let invoice = invoice::example_invoice();
    let private = DeclarationMatchPrivate::new(&invoice, class).expect("example invoice encodes");
    DeclarationMatchCircuit {
        class,
        public: DeclarationMatchPublic {
            digest: invoice::sha256(&private.encoded),
            currency: invoice.currency.clone(),
            items: group_lines(&invoice).expect("example invoice groups"),
        },
        private,
    }
}

/// The public inputs in circuit order for a size class: digest high 128 bits, digest low 128
/// bits, currency code, item count, then for each of the class's item slots its heading (the
/// big-endian ASCII of its six digits) and its value, slots after the items being (0, 0). This
/// is the only place that fixes that order.
pub fn public_inputs(
    class: SizeClass,
    public: &DeclarationMatchPublic,
) -> Result<Vec<Fr>, DeclarationMatchError> {
    check_items(class, &public.items)?;
    let [hi, lo] = digest_to_fields(&public.digest);
    let mut inputs = Vec::with_capacity(num_public_inputs(class));
    inputs.extend([
        hi,
        lo,
        Fr::from(invoice::currency_code(&public.currency)?),
        Fr::from(public.items.len() as u64),
    ]);
    for j in 0..class.lines() {
        match public.items.get(j) {
            Some(item) => inputs.extend([
                Fr::from(heading_code(&item.hs_code)?),
                Fr::from(item.value_minor),
            ]),
            None => inputs.extend([Fr::zero(), Fr::zero()]),
        }
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    //! Padding misuse: public inputs that no `DeclarationMatchPublic` produces (a verifier never
    //! derives them), handed to the circuit directly.

    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    fn satisfied(class: SizeClass, inputs: &[Fr]) -> bool {
        let c = dummy(class);
        let cs = ConstraintSystem::<Fr>::new_ref();
        match synthesize(cs.clone(), class, inputs, &c.private.encoded, None) {
            Ok(()) => cs.is_satisfied().unwrap(),
            Err(_) => false,
        }
    }

    /// Whether the example invoice satisfies the circuit with `inputs` and the selector a
    /// malicious prover chose.
    fn satisfied_with(inputs: &[Fr], selector: &[Vec<bool>]) -> bool {
        let c = dummy(SizeClass::Lines4);
        let cs = ConstraintSystem::<Fr>::new_ref();
        match synthesize(
            cs.clone(),
            SizeClass::Lines4,
            inputs,
            &c.private.encoded,
            Some(selector),
        ) {
            Ok(()) => cs.is_satisfied().unwrap(),
            Err(_) => false,
        }
    }

    /// The example's lines in use, as (heading code, amount), and the honest selector: each line
    /// in the first item with its heading.
    fn example_lines() -> (Vec<(Fr, u64)>, Vec<Vec<bool>>) {
        let invoice = invoice::example_invoice();
        let items = group_lines(&invoice).unwrap();
        let lines: Vec<(Fr, u64)> = invoice
            .lines
            .iter()
            .map(|l| (Fr::from(heading_code(&l.hs_code).unwrap()), l.amount_minor))
            .collect();
        let mut selector = vec![vec![false; 4]; 4];
        for (i, line) in invoice.lines.iter().enumerate() {
            let j = items
                .iter()
                .position(|it| it.hs_code == line.hs_code)
                .unwrap();
            selector[i][j] = true;
        }
        (lines, selector)
    }

    /// Adds `delta` to the public value of item `j`.
    fn shift_value(inputs: &mut [Fr], j: usize, delta: i128) {
        let d = Fr::from(delta.unsigned_abs());
        let v = &mut inputs[heading(j) + 1];
        *v = if delta < 0 { *v - d } else { *v + d };
    }

    #[test]
    fn the_honest_selector_through_the_hook_satisfies() {
        let (_, selector) = example_lines();
        assert!(satisfied_with(&example_inputs(), &selector));
    }

    #[test]
    fn one_line_in_two_items_is_unsatisfiable() {
        // Line 0 also counted in the other item, whose public value is raised by its amount so
        // that the sums alone would match.
        let (lines, mut selector) = example_lines();
        let j0 = selector[0].iter().position(|&b| b).unwrap();
        let other = 1 - j0;
        selector[0][other] = true;
        let mut inputs = example_inputs();
        shift_value(&mut inputs, other, i128::from(lines[0].1));
        assert!(!satisfied_with(&inputs, &selector));
    }

    #[test]
    fn a_line_in_no_item_is_unsatisfiable() {
        // Line 1 shares item 0 with line 0, so item 0 keeps a line and only line 1 is orphaned.
        let (lines, mut selector) = example_lines();
        let j = selector[1].iter().position(|&b| b).unwrap();
        selector[1][j] = false;
        let mut inputs = example_inputs();
        shift_value(&mut inputs, j, -i128::from(lines[1].1));
        assert!(!satisfied_with(&inputs, &selector));
    }

    #[test]
    fn a_line_in_an_item_of_another_heading_is_unsatisfiable() {
        let (lines, mut selector) = example_lines();
        let j = selector[0].iter().position(|&b| b).unwrap();
        let other = 1 - j;
        selector[0] = vec![false; 4];
        selector[0][other] = true;
        let mut inputs = example_inputs();
        shift_value(&mut inputs, j, -i128::from(lines[0].1));
        shift_value(&mut inputs, other, i128::from(lines[0].1));
        assert!(!satisfied_with(&inputs, &selector));
    }

    #[test]
    fn an_item_with_no_line_is_unsatisfiable() {
        // A third item with a fresh heading and value 0, and no line in it.
        let (_, selector) = example_lines();
        let mut inputs = example_inputs();
        inputs[COUNT] = Fr::from(3u64);
        inputs[heading(2)] = Fr::from(heading_code("999999").unwrap());
        assert!(!satisfied_with(&inputs, &selector));
    }

    #[test]
    fn an_unused_slot_in_an_item_is_unsatisfiable() {
        // Slot 3 is not in use (all zero, amount 0): putting it in item 0 changes no sum.
        let (lines, mut selector) = example_lines();
        assert!(lines.len() < 4, "the example leaves a slot unused");
        selector[3][0] = true;
        assert!(!satisfied_with(&example_inputs(), &selector));
    }

    fn example_inputs() -> Vec<Fr> {
        let c = dummy(SizeClass::Lines4);
        public_inputs(SizeClass::Lines4, &c.public).unwrap()
    }

    const COUNT: usize = 3;
    fn heading(j: usize) -> usize {
        FIXED_INPUTS + 2 * j
    }

    #[test]
    fn honest_inputs_satisfy() {
        assert!(satisfied(SizeClass::Lines4, &example_inputs()));
    }

    #[test]
    fn a_padding_slot_must_be_zero() {
        // Two items in use; a third slot carries a value, or a heading.
        let mut inputs = example_inputs();
        inputs[heading(2) + 1] = Fr::from(1u64);
        assert!(!satisfied(SizeClass::Lines4, &inputs));
        let mut inputs = example_inputs();
        inputs[heading(3)] = Fr::from(heading_code("999999").unwrap());
        assert!(!satisfied(SizeClass::Lines4, &inputs));
    }

    #[test]
    fn the_count_must_cover_the_items_in_use() {
        // A count of 1 hides the second item (its lines are then in no item).
        let mut inputs = example_inputs();
        inputs[COUNT] = Fr::from(1u64);
        assert!(!satisfied(SizeClass::Lines4, &inputs));
        // A count of 3 makes the zero slot an item without lines.
        let mut inputs = example_inputs();
        inputs[COUNT] = Fr::from(3u64);
        assert!(!satisfied(SizeClass::Lines4, &inputs));
    }

    #[test]
    fn the_count_is_one_to_the_class() {
        let mut inputs = example_inputs();
        inputs[COUNT] = Fr::zero();
        for j in 0..4 {
            inputs[heading(j)] = Fr::zero();
            inputs[heading(j) + 1] = Fr::zero();
        }
        assert!(!satisfied(SizeClass::Lines4, &inputs), "zero items");
        let mut inputs = example_inputs();
        inputs[COUNT] = Fr::from(5u64);
        assert!(
            !satisfied(SizeClass::Lines4, &inputs),
            "more than the class"
        );
        let mut inputs = example_inputs();
        inputs[COUNT] = -Fr::from(1u64);
        assert!(
            !satisfied(SizeClass::Lines4, &inputs),
            "a count near the modulus"
        );
    }

    #[test]
    fn items_must_not_be_moved_past_a_gap() {
        // Items in slots 0 and 2 with slot 1 empty: not a prefix.
        let mut inputs = example_inputs();
        inputs.swap(heading(1), heading(2));
        inputs.swap(heading(1) + 1, heading(2) + 1);
        assert!(!satisfied(SizeClass::Lines4, &inputs));
    }

    #[test]
    fn heading_codes_are_ascii() {
        assert_eq!(heading_code("850440").unwrap(), 0x38_35_30_34_34_30);
        assert!(heading_code("85044").is_err());
        assert!(heading_code("85044a").is_err());
    }
}
