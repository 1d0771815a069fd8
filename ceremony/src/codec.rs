//! The byte encoding of transcript files: big-endian integers, length-prefixed strings, and
//! points in arkworks' canonical uncompressed encoding (G1 96 bytes, G2 192 bytes).
//!
//! Decoding validates every point (on the curve, in the prime-order subgroup), in parallel,
//! and refuses truncated input and trailing bytes.

use crate::curve;
use ark_bls12_381::{G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rayon::prelude::*;

/// Bytes of an uncompressed G1 point.
pub const G1_BYTES: usize = 96;
/// Bytes of an uncompressed G2 point.
pub const G2_BYTES: usize = 192;

/// Appends values to a byte vector.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// A writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer(Vec::with_capacity(n))
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    /// A big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    /// A big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    /// Raw bytes.
    pub fn raw(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }

    /// Bytes preceded by their length as a u16 (at most 65535 bytes).
    pub fn short_bytes(&mut self, v: &[u8]) {
        let len = u16::try_from(v.len()).expect("short fields are checked to fit a u16");
        self.u16(len);
        self.raw(v);
    }

    /// A G1 point, uncompressed.
    pub fn g1(&mut self, p: &G1Affine) {
        p.serialize_uncompressed(&mut self.0)
            .expect("writing to a vector cannot fail");
    }

    /// A G2 point, uncompressed.
    pub fn g2(&mut self, p: &G2Affine) {
        p.serialize_uncompressed(&mut self.0)
            .expect("writing to a vector cannot fail");
    }

    /// G1 points, uncompressed, without a length (the reader knows the count).
    pub fn g1s(&mut self, ps: &[G1Affine]) {
        self.0.reserve(ps.len() * G1_BYTES);
        for p in ps {
            self.g1(p);
        }
    }

    /// G2 points, uncompressed, without a length.
    pub fn g2s(&mut self, ps: &[G2Affine]) {
        self.0.reserve(ps.len() * G2_BYTES);
        for p in ps {
            self.g2(p);
        }
    }
}

/// Reads values from a byte slice; every error says what was being read.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(format!(
                "truncated: {what} needs {n} bytes at offset {}, the file has {} left",
                self.pos,
                self.bytes.len() - self.pos
            )),
        }
    }

    /// One byte.
    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self, what: &str) -> Result<u16, String> {
        Ok(u16::from_be_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }

    /// A big-endian u32.
    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    /// 32 raw bytes.
    pub fn hash(&mut self, what: &str) -> Result<[u8; 32], String> {
        Ok(self.take(32, what)?.try_into().expect("32 bytes"))
    }

    /// Bytes preceded by a u16 length.
    pub fn short_bytes(&mut self, what: &str) -> Result<&'a [u8], String> {
        let n = self.u16(what)? as usize;
        self.take(n, what)
    }

    /// A UTF-8 string preceded by a u16 length.
    pub fn short_string(&mut self, what: &str) -> Result<String, String> {
        let bytes = self.short_bytes(what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }

    /// A validated G1 point.
    pub fn g1(&mut self, what: &str) -> Result<G1Affine, String> {
        let bytes = self.take(G1_BYTES, what)?;
        decode_g1(bytes).map_err(|e| format!("{what}: {e}"))
    }

    /// A validated G2 point.
    pub fn g2(&mut self, what: &str) -> Result<G2Affine, String> {
        let bytes = self.take(G2_BYTES, what)?;
        decode_g2(bytes).map_err(|e| format!("{what}: {e}"))
    }

    /// `n` validated G1 points, decoded in parallel.
    pub fn g1s(&mut self, n: usize, what: &str) -> Result<Vec<G1Affine>, String> {
        let bytes = self.take(n * G1_BYTES, what)?;
        bytes
            .par_chunks(G1_BYTES)
            .enumerate()
            .map(|(i, c)| decode_g1(c).map_err(|e| format!("{what}[{i}]: {e}")))
            .collect()
    }

    /// `n` validated G2 points, decoded in parallel.
    pub fn g2s(&mut self, n: usize, what: &str) -> Result<Vec<G2Affine>, String> {
        let bytes = self.take(n * G2_BYTES, what)?;
        bytes
            .par_chunks(G2_BYTES)
            .enumerate()
            .map(|(i, c)| decode_g2(c).map_err(|e| format!("{what}[{i}]: {e}")))
            .collect()
    }

    /// The bytes not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        out
    }

    /// Refuses trailing bytes.
    pub fn finish(&self) -> Result<(), String> {
        let left = self.bytes.len() - self.pos;
        if left != 0 {
            return Err(format!("{left} trailing bytes"));
        }
        Ok(())
    }
}

/// One uncompressed G1 point (arkworks' encoding: canonical coordinates, flags), on the curve
/// and in the prime-order subgroup.
fn decode_g1(bytes: &[u8]) -> Result<G1Affine, String> {
    let p = G1Affine::deserialize_with_mode(bytes, Compress::No, Validate::No)
        .map_err(|e| e.to_string())?;
    curve::check_g1(&p)?;
    Ok(p)
}

/// One uncompressed G2 point, as [`decode_g1`].
fn decode_g2(bytes: &[u8]) -> Result<G2Affine, String> {
    let p = G2Affine::deserialize_with_mode(bytes, Compress::No, Validate::No)
        .map_err(|e| e.to_string())?;
    curve::check_g2(&p)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;

    #[test]
    fn points_round_trip_and_truncation_is_refused() {
        let mut w = Writer::default();
        w.u16(7);
        w.short_bytes(b"abc");
        w.g1s(&[G1Affine::generator(), G1Affine::zero()]);
        w.g2(&G2Affine::generator());
        let bytes = w.0;
        assert_eq!(bytes.len(), 2 + 2 + 3 + 2 * G1_BYTES + G2_BYTES);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u16("n").unwrap(), 7);
        assert_eq!(r.short_bytes("s").unwrap(), b"abc");
        assert_eq!(
            r.g1s(2, "points").unwrap(),
            vec![G1Affine::generator(), G1Affine::zero()]
        );
        assert_eq!(r.g2("g2").unwrap(), G2Affine::generator());
        r.finish().unwrap();
        let mut short = Reader::new(&bytes[..bytes.len() - 1]);
        short.take(2 + 2 + 3 + 2 * G1_BYTES, "start").unwrap();
        assert!(short.g2("g2").unwrap_err().contains("truncated"));
    }

    #[test]
    fn a_point_off_the_curve_is_refused() {
        let mut w = Writer::default();
        w.g1(&G1Affine::generator());
        let mut bytes = w.0;
        bytes[50] ^= 1;
        assert_eq!(
            Reader::new(&bytes).g1("p").unwrap_err(),
            "p: not on the curve"
        );
    }

    #[test]
    fn points_outside_the_subgroup_and_non_canonical_coordinates_are_refused() {
        use ark_bls12_381::{Fq, Fq2};
        use ark_ff::{One, PrimeField};
        // x = 0 gives y^2 = 4 on E(Fq): a point of the curve outside the prime-order subgroup.
        let outside = G1Affine::new_unchecked(Fq::from(0u64), Fq::from(2u64));
        assert!(outside.is_on_curve());
        let mut w = Writer::default();
        w.g1(&outside);
        assert_eq!(
            Reader::new(&w.0).g1s(1, "points").unwrap_err(),
            "points[0]: not in the prime-order subgroup"
        );
        // The first x with a point on the twist: almost surely outside G2 (cofactor not cleared).
        let mut x = Fq2::one();
        let outside2 = loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
                break p;
            }
            x += Fq2::one();
        };
        assert!(outside2.is_on_curve() && !outside2.is_in_correct_subgroup_assuming_on_curve());
        let mut w = Writer::default();
        w.g2(&outside2);
        assert_eq!(
            Reader::new(&w.0).g2("q").unwrap_err(),
            "q: not in the prime-order subgroup"
        );
        // A coordinate of q itself (not below q) in place of the generator's x.
        let mut w = Writer::default();
        w.g1(&G1Affine::generator());
        let modulus = Fq::MODULUS.0;
        for (k, limb) in modulus.iter().enumerate() {
            w.0[8 * k..8 * k + 8].copy_from_slice(&limb.to_le_bytes());
        }
        assert!(Reader::new(&w.0).g1("p").is_err());
    }
}
