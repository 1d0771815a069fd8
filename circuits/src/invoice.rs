//! The commercial invoice and its canonical encoding v1 (specified in `docs/invoice-encoding.md`).
//!
//! The encoding is a fixed-layout byte string: a 128-byte header and one 64-byte slot per line of
//! the size class, big-endian integers, zero-padded text, unused slots all zero. Its SHA-256 is
//! the digest anchored on the ledger, and the invoice-value circuit recomputes it. Decoding
//! accepts exactly the byte strings that encoding produces, so an invoice has one encoding.

pub mod r1cs;

use crate::date::Day;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Magic bytes opening every encoded invoice.
pub const MAGIC: [u8; 4] = *b"ZKCI";
/// Encoding version.
pub const VERSION: u8 = 1;
/// Size of the header.
pub const HEADER_LEN: usize = 128;
/// Size of one line slot.
pub const LINE_LEN: usize = 64;

/// Header layout: `(offset, length)` of each field.
pub mod layout {
    /// Magic `ZKCI`.
    pub const MAGIC: (usize, usize) = (0, 4);
    /// Encoding version (1).
    pub const VERSION: (usize, usize) = (4, 1);
    /// Size class: the number of line slots.
    pub const SIZE_CLASS: (usize, usize) = (5, 1);
    /// Number of lines in use, u16.
    pub const LINE_COUNT: (usize, usize) = (6, 2);
    /// Invoice number, ASCII.
    pub const NUMBER: (usize, usize) = (8, 32);
    /// Issue date, u32 days since 1970-01-01.
    pub const ISSUE_DATE: (usize, usize) = (40, 4);
    /// Seller identifier (EORI or national id), ASCII.
    pub const SELLER: (usize, usize) = (44, 20);
    /// Buyer identifier, ASCII.
    pub const BUYER: (usize, usize) = (64, 20);
    /// Invoice currency, ISO 4217 alphabetic code.
    pub const CURRENCY: (usize, usize) = (84, 3);
    /// Delivery terms, Incoterms 2020 code.
    pub const INCOTERM: (usize, usize) = (87, 3);
    /// Invoice total in minor units of the currency, u64.
    pub const TOTAL: (usize, usize) = (90, 8);
    /// Reserved, zero.
    pub const RESERVED: (usize, usize) = (98, 30);
    /// Line: HS-6 subheading, six ASCII digits.
    pub const LINE_HS: (usize, usize) = (0, 6);
    /// Line: unit of measure, UN/ECE Recommendation 20 code, ASCII.
    pub const LINE_UNIT: (usize, usize) = (6, 3);
    /// Line: quantity in that unit, u64.
    pub const LINE_QUANTITY: (usize, usize) = (9, 8);
    /// Line: line amount in minor units, u64.
    pub const LINE_AMOUNT: (usize, usize) = (17, 8);
    /// Line: goods description, UTF-8.
    pub const LINE_DESCRIPTION: (usize, usize) = (25, 39);
}

/// A size class: how many line slots an encoding (and a proving key) has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum SizeClass {
    /// Up to 4 lines.
    Lines4,
    /// Up to 16 lines.
    Lines16,
}

impl SizeClass {
    /// Every size class, smallest first.
    pub const ALL: [SizeClass; 2] = [SizeClass::Lines4, SizeClass::Lines16];

    /// Number of line slots.
    pub fn lines(self) -> usize {
        match self {
            SizeClass::Lines4 => 4,
            SizeClass::Lines16 => 16,
        }
    }

    /// Length of an encoding of this class.
    pub fn encoded_len(self) -> usize {
        HEADER_LEN + LINE_LEN * self.lines()
    }

    /// The smallest class that holds `lines` lines.
    pub fn smallest_for(lines: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.lines() >= lines)
    }
}

impl TryFrom<u32> for SizeClass {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        match n {
            4 => Ok(SizeClass::Lines4),
            16 => Ok(SizeClass::Lines16),
            _ => Err("unknown size class: expected 4 or 16".to_string()),
        }
    }
}

impl From<SizeClass> for u32 {
    fn from(c: SizeClass) -> u32 {
        c.lines() as u32
    }
}

impl std::fmt::Display for SizeClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.lines())
    }
}

/// A commercial invoice (field names follow the WCO Data Model and UN/CEFACT terms).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// Invoice number as issued by the seller.
    pub invoice_number: String,
    /// Issue date.
    pub issue_date: Day,
    /// Seller identifier (EORI number or national trader id).
    pub seller: String,
    /// Buyer identifier.
    pub buyer: String,
    /// Invoice currency (ISO 4217, three capital letters).
    pub currency: String,
    /// Delivery terms (Incoterms 2020 code, three capital letters).
    pub incoterm: String,
    /// Invoice total in minor units of the currency (cents for EUR).
    pub total_minor: u64,
    /// Invoice lines, 1 to 16.
    pub lines: Vec<InvoiceLine>,
}

/// One invoice line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLine {
    /// HS-6 subheading (six digits).
    pub hs_code: String,
    /// Goods description (up to 39 bytes of UTF-8).
    pub description: String,
    /// Quantity in `unit`.
    pub quantity: u64,
    /// Unit of measure (UN/ECE Recommendation 20 code, such as KGM or C62).
    pub unit: String,
    /// Line amount in minor units of the invoice currency.
    pub amount_minor: u64,
}

// Invoices are private data: never print their contents.
impl std::fmt::Debug for Invoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoice")
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for InvoiceLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvoiceLine").finish_non_exhaustive()
    }
}

/// Why an invoice could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvoiceError {
    /// More lines than the size class holds.
    #[error("invoice has {lines} lines but size class {class} holds at most {}", class.lines())]
    TooManyLines {
        /// Lines in the invoice.
        lines: usize,
        /// The size class asked for.
        class: SizeClass,
    },
    /// More lines than the largest size class.
    #[error("invoice has {0} lines; the largest size class holds 16")]
    TooManyLinesForAnyClass(usize),
    /// No lines at all.
    #[error("invoice has no lines")]
    NoLines,
    /// A text field is empty, too long or has characters outside its alphabet.
    #[error("field {field}: {why}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The byte string has the wrong length for any size class.
    #[error("encoded invoice has {0} bytes; expected 384 (4 lines) or 1152 (16 lines)")]
    BadLength(usize),
    /// The byte string is not a canonical encoding.
    #[error("not a canonical invoice encoding: {0}")]
    NotCanonical(String),
}

fn bad(field: &'static str, why: impl Into<String>) -> InvoiceError {
    InvoiceError::BadField {
        field,
        why: why.into(),
    }
}

/// Writes an ASCII identifier (printable, no spaces at either end) zero-padded into `out`.
fn put_ascii(out: &mut [u8], field: &'static str, s: &str) -> Result<(), InvoiceError> {
    if s.is_empty() || s.len() > out.len() {
        return Err(bad(field, format!("must be 1 to {} characters", out.len())));
    }
    if !s.bytes().all(|b| (0x21..0x7f).contains(&b) || b == b' ') || s.trim() != s {
        return Err(bad(
            field,
            "must be printable ASCII without leading or trailing spaces",
        ));
    }
    out[..s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

fn put_code(out: &mut [u8], field: &'static str, s: &str, len: usize) -> Result<(), InvoiceError> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad(field, format!("must be {len} capital letters")));
    }
    out[..len].copy_from_slice(s.as_bytes());
    Ok(())
}

/// Checks that a string is an HS-6 subheading: exactly six ASCII digits.
pub fn check_hs(s: &str) -> Result<(), InvoiceError> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("hs_code", "must be six digits (an HS-6 subheading)"));
    }
    Ok(())
}

fn check_unit(s: &str) -> Result<(), InvoiceError> {
    if !(2..=3).contains(&s.len())
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(bad(
            "unit",
            "must be a UN/ECE Recommendation 20 code (2 or 3 capitals or digits)",
        ));
    }
    Ok(())
}

fn check_description(s: &str) -> Result<(), InvoiceError> {
    if s.is_empty() || s.len() > 39 || s.chars().any(char::is_control) || s.trim() != s {
        return Err(bad(
            "description",
            "must be 1 to 39 bytes of UTF-8 without control characters or outer spaces",
        ));
    }
    Ok(())
}

impl Invoice {
    /// Canonical encoding v1 in the smallest size class that holds the invoice.
    pub fn encode(&self) -> Result<Vec<u8>, InvoiceError> {
        let class = SizeClass::smallest_for(self.lines.len())
            .ok_or(InvoiceError::TooManyLinesForAnyClass(self.lines.len()))?;
        self.encode_in(class)
    }

    /// Canonical encoding v1 in the given size class.
    pub fn encode_in(&self, class: SizeClass) -> Result<Vec<u8>, InvoiceError> {
        if self.lines.is_empty() {
            return Err(InvoiceError::NoLines);
        }
        if self.lines.len() > class.lines() {
            return Err(InvoiceError::TooManyLines {
                lines: self.lines.len(),
                class,
            });
        }
        let mut out = vec![0u8; class.encoded_len()];
        let f = |(o, l): (usize, usize)| o..o + l;
        out[f(layout::MAGIC)].copy_from_slice(&MAGIC);
        out[layout::VERSION.0] = VERSION;
        out[layout::SIZE_CLASS.0] = class.lines() as u8;
        out[f(layout::LINE_COUNT)].copy_from_slice(&(self.lines.len() as u16).to_be_bytes());
        put_ascii(
            &mut out[f(layout::NUMBER)],
            "invoice_number",
            &self.invoice_number,
        )?;
        out[f(layout::ISSUE_DATE)].copy_from_slice(&self.issue_date.days().to_be_bytes());
        put_ascii(&mut out[f(layout::SELLER)], "seller", &self.seller)?;
        put_ascii(&mut out[f(layout::BUYER)], "buyer", &self.buyer)?;
        put_code(&mut out[f(layout::CURRENCY)], "currency", &self.currency, 3)?;
        put_code(&mut out[f(layout::INCOTERM)], "incoterm", &self.incoterm, 3)?;
        out[f(layout::TOTAL)].copy_from_slice(&self.total_minor.to_be_bytes());
        for (i, line) in self.lines.iter().enumerate() {
            let slot = &mut out[HEADER_LEN + i * LINE_LEN..HEADER_LEN + (i + 1) * LINE_LEN];
            check_hs(&line.hs_code)?;
            check_unit(&line.unit)?;
            check_description(&line.description)?;
            slot[f(layout::LINE_HS)].copy_from_slice(line.hs_code.as_bytes());
            slot[layout::LINE_UNIT.0..layout::LINE_UNIT.0 + line.unit.len()]
                .copy_from_slice(line.unit.as_bytes());
            slot[f(layout::LINE_QUANTITY)].copy_from_slice(&line.quantity.to_be_bytes());
            slot[f(layout::LINE_AMOUNT)].copy_from_slice(&line.amount_minor.to_be_bytes());
            let d = line.description.as_bytes();
            slot[layout::LINE_DESCRIPTION.0..layout::LINE_DESCRIPTION.0 + d.len()]
                .copy_from_slice(d);
        }
        Ok(out)
    }

    /// Decodes a canonical encoding, refusing anything `encode_in` would not have produced.
    pub fn decode(bytes: &[u8]) -> Result<(Invoice, SizeClass), InvoiceError> {
        let class = SizeClass::ALL
            .into_iter()
            .find(|c| c.encoded_len() == bytes.len())
            .ok_or(InvoiceError::BadLength(bytes.len()))?;
        let nc = |why: &str| InvoiceError::NotCanonical(why.to_string());
        let f = |(o, l): (usize, usize)| o..o + l;
        if bytes[f(layout::MAGIC)] != MAGIC || bytes[layout::VERSION.0] != VERSION {
            return Err(nc("bad magic or version"));
        }
        if usize::from(bytes[layout::SIZE_CLASS.0]) != class.lines() {
            return Err(nc("size class byte does not match the length"));
        }
        let count = usize::from(u16::from_be_bytes([bytes[6], bytes[7]]));
        if count > class.lines() {
            return Err(InvoiceError::TooManyLines {
                lines: count,
                class,
            });
        }
        if bytes[f(layout::RESERVED)].iter().any(|&b| b != 0) {
            return Err(nc("reserved bytes are not zero"));
        }
        let text = |r: std::ops::Range<usize>| -> Result<String, InvoiceError> {
            let field = &bytes[r];
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            if field[end..].iter().any(|&b| b != 0) {
                return Err(nc("text padding is not all zero"));
            }
            String::from_utf8(field[..end].to_vec()).map_err(|_| nc("text is not UTF-8"))
        };
        let u64_at = |s: &[u8], (o, _): (usize, usize)| {
            u64::from_be_bytes(s[o..o + 8].try_into().expect("8 bytes"))
        };
        let days = u32::from_be_bytes(bytes[f(layout::ISSUE_DATE)].try_into().expect("4 bytes"));
        let mut lines = Vec::with_capacity(count);
        for i in 0..class.lines() {
            let slot = &bytes[HEADER_LEN + i * LINE_LEN..HEADER_LEN + (i + 1) * LINE_LEN];
            if i >= count {
                if slot.iter().any(|&b| b != 0) {
                    return Err(nc("unused line slot is not all zero"));
                }
                continue;
            }
            let off = HEADER_LEN + i * LINE_LEN;
            lines.push(InvoiceLine {
                hs_code: text(off..off + 6)?,
                unit: text(off + layout::LINE_UNIT.0..off + layout::LINE_UNIT.0 + 3)?,
                quantity: u64_at(slot, layout::LINE_QUANTITY),
                amount_minor: u64_at(slot, layout::LINE_AMOUNT),
                description: text(off + layout::LINE_DESCRIPTION.0..off + LINE_LEN)?,
            });
        }
        let invoice = Invoice {
            invoice_number: text(f(layout::NUMBER))?,
            issue_date: Day::from_days(days).map_err(|_| nc("issue date out of range"))?,
            seller: text(f(layout::SELLER))?,
            buyer: text(f(layout::BUYER))?,
            currency: text(f(layout::CURRENCY))?,
            incoterm: text(f(layout::INCOTERM))?,
            total_minor: u64_at(bytes, layout::TOTAL),
            lines,
        };
        // Round trip: whatever re-encodes differently was not canonical.
        if invoice.encode_in(class)? != bytes {
            return Err(nc("fields do not re-encode to the same bytes"));
        }
        Ok((invoice, class))
    }
}

/// SHA-256 of a byte string (the digest anchored on the ledger for an encoded invoice).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Packs a three-letter currency code into the integer used as a public input (big-endian ASCII).
pub fn currency_code(currency: &str) -> Result<u32, InvoiceError> {
    let mut buf = [0u8; 3];
    put_code(&mut buf, "currency", currency, 3)?;
    Ok(u32::from_be_bytes([0, buf[0], buf[1], buf[2]]))
}

/// The example invoice used by `zkcustoms example invoice-value`, the docs and the tests.
pub fn example_invoice() -> Invoice {
    let line = |hs: &str, desc: &str, q: u64, unit: &str, amount: u64| InvoiceLine {
        hs_code: hs.into(),
        description: desc.into(),
        quantity: q,
        unit: unit.into(),
        amount_minor: amount,
    };
    Invoice {
        invoice_number: "INV-2026-000451".into(),
        issue_date: Day::parse("2026-11-20").expect("valid date"),
        seller: "DE123456789012345".into(),
        buyer: "NL000099998888".into(),
        currency: "EUR".into(),
        incoterm: "FCA".into(),
        total_minor: 1_843_250,
        lines: vec![
            line("850440", "Static converters, 24 V", 120, "C62", 1_080_000),
            line("850440", "Static converters, 48 V", 40, "C62", 520_000),
            line("854442", "Insulated cables, 2 m", 500, "C62", 243_250),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_class_selection() {
        let inv = example_invoice();
        let bytes = inv.encode().unwrap();
        assert_eq!(bytes.len(), 384);
        let (back, class) = Invoice::decode(&bytes).unwrap();
        assert_eq!(back, inv);
        assert_eq!(class, SizeClass::Lines4);
        let big = inv.encode_in(SizeClass::Lines16).unwrap();
        assert_eq!(big.len(), 1152);
        assert_eq!(Invoice::decode(&big).unwrap().0, inv);
    }

    #[test]
    fn refusals() {
        let mut inv = example_invoice();
        inv.lines = (0..5).map(|_| inv.lines[0].clone()).collect();
        assert!(matches!(
            inv.encode_in(SizeClass::Lines4),
            Err(InvoiceError::TooManyLines { .. })
        ));
        inv.lines = (0..17).map(|_| inv.lines[0].clone()).collect();
        assert_eq!(inv.encode(), Err(InvoiceError::TooManyLinesForAnyClass(17)));
        let mut inv = example_invoice();
        inv.lines[0].hs_code = "85044".into();
        assert!(inv.encode().is_err());
        let mut inv = example_invoice();
        inv.currency = "eur".into();
        assert!(inv.encode().is_err());
        let mut bytes = example_invoice().encode().unwrap();
        bytes[HEADER_LEN + 3 * LINE_LEN + 10] = 1;
        assert!(Invoice::decode(&bytes).is_err(), "unused slot must be zero");
        assert!(Invoice::decode(&bytes[..100]).is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 384..=384)) {
            let _ = Invoice::decode(&bytes);
        }

        #[test]
        fn decode_accepts_only_canonical_bytes(pos in 0usize..384, delta in 1u8..=255) {
            let bytes = example_invoice().encode().unwrap();
            let mut changed = bytes.clone();
            changed[pos] = changed[pos].wrapping_add(delta);
            if let Ok((inv, class)) = Invoice::decode(&changed) {
                prop_assert_eq!(inv.encode_in(class).unwrap(), changed);
            }
        }
    }
}
