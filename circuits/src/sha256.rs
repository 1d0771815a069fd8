//! SHA-256 (FIPS 180-4) as an R1CS gadget, at about 26.4k constraints per 64-byte block.
//!
//! The construction follows bellman's (Zcash) and gnark's: a 32-bit word is 32 booleans, rotations
//! and shifts only rename wires, and the costly parts are written so that each output bit is
//! implied by its constraint instead of being allocated and range-checked:
//!
//! | operation | constraints per bit |
//! | --- | --- |
//! | `x ^ y` | 1 (`2x * y = x + y - r`) |
//! | `Σ0`, `Σ1`, `σ0`, `σ1` (three-way xor) | 2 (a shifted-out bit is a constant: 1) |
//! | `Ch(e, f, g)` | 1 (`e * (f - g) = ch - g`) |
//! | `Maj(a, b, c)` | 2 (`b * c = bc`, `a * (b + c - 2bc) = maj - bc`) |
//!
//! Additions modulo 2^32 never build a word and then add it: all the terms of a sum (up to seven
//! words and a round constant) go into one linear combination, and the sum is decomposed once into
//! `32 + ⌈log2 terms⌉` booleans with one equality constraint. The new `e` and `a` of a round are two
//! such sums (six and seven terms), a message-schedule word one sum of four.
//!
//! Per block: 64 rounds × 296, 48 schedule words × at most 150, and 8 × 34 for the chaining
//! addition, 26,416 constraints when every input bit is a witness; constant bits (the padding,
//! the initial state) cost nothing. `tests/sha256.rs` checks the gadget against `sha2` on every
//! length the circuits hash and on the NIST examples, and pins the count.

use crate::Fr;
use ark_ff::Field;
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::{AllocatedBool, Boolean},
    convert::ToBitsGadget,
    uint8::UInt8,
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

/// The initial hash value (FIPS 180-4 §5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The round constants (FIPS 180-4 §4.2.2).
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

type Bit = Boolean<Fr>;

/// A 32-bit word as booleans, least significant bit first.
#[derive(Clone)]
struct Word([Bit; 32]);

impl Word {
    fn constant(value: u32) -> Self {
        Self(std::array::from_fn(|i| {
            Bit::constant((value >> i) & 1 == 1)
        }))
    }

    /// The word whose big-endian bytes are `bytes` (four of them).
    fn from_be_bytes(bytes: &[UInt8<Fr>]) -> Result<Self, SynthesisError> {
        let mut bits = Vec::with_capacity(32);
        for byte in bytes.iter().rev() {
            bits.extend(byte.to_bits_le()?);
        }
        Ok(Self(bits.try_into().expect("four bytes are 32 bits")))
    }

    fn to_be_bytes(&self) -> [UInt8<Fr>; 4] {
        std::array::from_fn(|i| UInt8::from_bits_le(&self.0[(3 - i) * 8..(4 - i) * 8]))
    }

    fn rotr(&self, n: usize) -> [Bit; 32] {
        std::array::from_fn(|i| self.0[(i + n) % 32].clone())
    }

    fn shr(&self, n: usize) -> [Bit; 32] {
        std::array::from_fn(|i| self.0.get(i + n).cloned().unwrap_or(Bit::FALSE))
    }

    fn value(&self) -> Option<u64> {
        self.0.iter().enumerate().try_fold(0u64, |acc, (i, bit)| {
            bit.value().ok().map(|b| acc | (u64::from(b) << i))
        })
    }
}

/// The constraint system of the first non-constant bit, if any.
fn cs_of<'a>(bits: impl IntoIterator<Item = &'a Bit>) -> Option<ConstraintSystemRef<Fr>> {
    bits.into_iter().find_map(|b| match b {
        Boolean::Var(_) => Some(b.cs()),
        Boolean::Constant(_) => None,
    })
}

/// A bit whose value is computed from others and whose constraint (added by the caller) implies
/// that it is 0 or 1, so it needs no booleanity constraint of its own.
fn implied_bit(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<bool>,
) -> Result<AllocatedBool<Fr>, SynthesisError> {
    AllocatedBool::new_witness_without_booleanity_check(cs.clone(), || {
        value.ok_or(SynthesisError::AssignmentMissing)
    })
}

/// `x ^ y`. One constraint when both are witnesses; free when either is a constant.
fn xor(x: &Bit, y: &Bit) -> Result<Bit, SynthesisError> {
    let (Boolean::Var(_), Boolean::Var(_)) = (x, y) else {
        return Ok(x ^ y);
    };
    let cs = x.cs();
    let value = x.value().ok().zip(y.value().ok()).map(|(x, y)| x ^ y);
    let out = implied_bit(&cs, value)?;
    // 2x * y = x + y - out: out is 1 exactly when x and y differ, hence boolean.
    cs.enforce_r1cs_constraint(
        || x.lc() * Fr::from(2u64),
        || y.lc(),
        || x.lc() + &y.lc() - &LinearCombination::from(out.variable()),
    )?;
    Ok(Boolean::Var(out))
}

fn xor3(x: &Bit, y: &Bit, z: &Bit) -> Result<Bit, SynthesisError> {
    xor(&xor(x, y)?, z)
}

/// `Ch(e, f, g)`: `f` where `e` is set, `g` elsewhere. One constraint when all three are
/// witnesses.
fn ch(e: &Bit, f: &Bit, g: &Bit) -> Result<Bit, SynthesisError> {
    let (Boolean::Var(_), Boolean::Var(_), Boolean::Var(_)) = (e, f, g) else {
        return xor(&(e & f), &(!e & g));
    };
    let cs = e.cs();
    let value = (|| {
        Some(if e.value().ok()? {
            f.value().ok()?
        } else {
            g.value().ok()?
        })
    })();
    let out = implied_bit(&cs, value)?;
    // e * (f - g) = out - g: out is f when e = 1 and g when e = 0, hence boolean.
    cs.enforce_r1cs_constraint(
        || e.lc(),
        || f.lc() - &g.lc(),
        || LinearCombination::from(out.variable()) - &g.lc(),
    )?;
    Ok(Boolean::Var(out))
}

/// `Maj(a, b, c)`: the value held by at least two of the three. Two constraints when all three
/// are witnesses.
fn maj(a: &Bit, b: &Bit, c: &Bit) -> Result<Bit, SynthesisError> {
    let (Boolean::Var(_), Boolean::Var(_), Boolean::Var(_)) = (a, b, c) else {
        return xor3(&(a & b), &(a & c), &(b & c));
    };
    let cs = a.cs();
    let bc = b & c;
    let value = (|| {
        let (a, b, c) = (a.value().ok()?, b.value().ok()?, c.value().ok()?);
        Some((a & b) | (a & c) | (b & c))
    })();
    let out = implied_bit(&cs, value)?;
    // a * (b + c - 2bc) = out - bc, where b + c - 2bc = b xor c: out is a when b and c differ,
    // and bc (= b = c) when they agree, hence boolean.
    let two = Fr::from(2u64);
    cs.enforce_r1cs_constraint(
        || a.lc(),
        || b.lc() + &c.lc() - (two, &bc.lc()),
        || LinearCombination::from(out.variable()) - &bc.lc(),
    )?;
    Ok(Boolean::Var(out))
}

/// `x ^ y ^ z` per bit, for the Σ and σ functions.
fn xor3_words(x: &[Bit; 32], y: &[Bit; 32], z: &[Bit; 32]) -> Result<Word, SynthesisError> {
    let mut out = Vec::with_capacity(32);
    for i in 0..32 {
        out.push(xor3(&x[i], &y[i], &z[i])?);
    }
    Ok(Word(out.try_into().expect("32 bits")))
}

/// `(terms + constant) mod 2^32`, with one decomposition of the whole sum.
fn add_many(terms: &[&Word], constant: u32) -> Result<Word, SynthesisError> {
    let Some(cs) = cs_of(terms.iter().flat_map(|w| w.0.iter())) else {
        let sum = terms
            .iter()
            .map(|w| w.value().expect("constant words have values"))
            .sum::<u64>()
            + u64::from(constant);
        return Ok(Word::constant(sum as u32));
    };
    let max = terms.len() as u64 * u64::from(u32::MAX) + u64::from(constant);
    let width = 64 - max.leading_zeros() as usize;

    let mut sum = LinearCombination::from((Fr::from(constant), Variable::One));
    for word in terms {
        for (i, bit) in word.0.iter().enumerate() {
            sum = sum + (Fr::from(1u64 << i), &bit.lc());
        }
    }
    let value = terms
        .iter()
        .map(|w| w.value())
        .sum::<Option<u64>>()
        .map(|s| s + u64::from(constant));
    let bits = (0..width)
        .map(|i| {
            Bit::new_witness(cs.clone(), || {
                value
                    .map(|v| (v >> i) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut decomposed = LinearCombination::zero();
    for (i, bit) in bits.iter().enumerate() {
        decomposed = decomposed + (Fr::from(2u64).pow([i as u64]), &bit.lc());
    }
    // The width is chosen so that no sum of the terms reaches 2^width, far below the modulus:
    // the decomposition is unique, and its low 32 bits are the sum modulo 2^32.
    cs.enforce_r1cs_constraint(|| sum, || Variable::One.into(), || decomposed)?;
    Ok(Word(bits[..32].to_vec().try_into().expect("32 bits")))
}

/// One application of the compression function to `state` and a 16-word block.
fn compress(state: &[Word; 8], block: &[Word]) -> Result<[Word; 8], SynthesisError> {
    let mut w: Vec<Word> = block.to_vec();
    for t in 16..64 {
        let s0 = xor3_words(&w[t - 15].rotr(7), &w[t - 15].rotr(18), &w[t - 15].shr(3))?;
        let s1 = xor3_words(&w[t - 2].rotr(17), &w[t - 2].rotr(19), &w[t - 2].shr(10))?;
        let next = add_many(&[&s1, &w[t - 7], &s0, &w[t - 16]], 0)?;
        w.push(next);
    }

    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state.clone();
    for t in 0..64 {
        let sigma1 = xor3_words(&e.rotr(6), &e.rotr(11), &e.rotr(25))?;
        let choice = Word(
            (0..32)
                .map(|i| ch(&e.0[i], &f.0[i], &g.0[i]))
                .collect::<Result<Vec<_>, _>>()?
                .try_into()
                .expect("32 bits"),
        );
        let sigma0 = xor3_words(&a.rotr(2), &a.rotr(13), &a.rotr(22))?;
        let majority = Word(
            (0..32)
                .map(|i| maj(&a.0[i], &b.0[i], &c.0[i]))
                .collect::<Result<Vec<_>, _>>()?
                .try_into()
                .expect("32 bits"),
        );
        // e' = d + T1 and a' = T1 + T2, each as one sum of its terms.
        let new_e = add_many(&[&d, &h, &sigma1, &choice, &w[t]], K[t])?;
        let new_a = add_many(&[&h, &sigma1, &choice, &w[t], &sigma0, &majority], K[t])?;
        h = g;
        g = f;
        f = e;
        e = new_e;
        d = c;
        c = b;
        b = a;
        a = new_a;
    }

    let working = [a, b, c, d, e, f, g, h];
    let mut out = Vec::with_capacity(8);
    for (s, x) in state.iter().zip(&working) {
        out.push(add_many(&[s, x], 0)?);
    }
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("eight words")))
}

/// The SHA-256 digest of `bytes`, whose length is fixed when the circuit is built.
pub fn digest(bytes: &[UInt8<Fr>]) -> Result<[UInt8<Fr>; 32], SynthesisError> {
    // Padding (FIPS 180-4 §5.1.1): 0x80, zeros to 56 mod 64, the bit length as a big-endian u64.
    let mut padded = bytes.to_vec();
    padded.push(UInt8::constant(0x80));
    while padded.len() % 64 != 56 {
        padded.push(UInt8::constant(0));
    }
    let bit_len = (bytes.len() as u64) * 8;
    padded.extend(bit_len.to_be_bytes().into_iter().map(UInt8::constant));

    let mut state = IV.map(Word::constant);
    for block in padded.chunks(64) {
        let words = block
            .chunks(4)
            .map(Word::from_be_bytes)
            .collect::<Result<Vec<_>, _>>()?;
        state = compress(&state, &words)?;
    }
    let mut out = Vec::with_capacity(32);
    for word in &state {
        out.extend(word.to_be_bytes());
    }
    Ok(out.try_into().unwrap_or_else(|_| unreachable!("32 bytes")))
}
