//! A small canonical binary codec: big-endian integers, length-prefixed byte strings, exact
//! lengths. Readers reject truncated input and trailing bytes, so every value has exactly one
//! encoding.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("truncated: {0} needs more bytes")]
    Truncated(&'static str),
    /// Bytes were left over after the value.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A field holds a value that is not allowed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl DecodeError {
    /// An invalid-field error.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Appends canonical encodings to a byte vector.
#[derive(Default, Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Fixed-length bytes, written as they are.
    pub fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Bytes with a big-endian `u32` length prefix.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).expect("values are far below 4 GiB");
        self.u32(len).fixed(bytes)
    }

    /// A UTF-8 string with a big-endian `u16` length prefix.
    pub fn str16(&mut self, s: &str) -> &mut Self {
        let len = u16::try_from(s.len()).expect("strings are checked to be short before encoding");
        self.u16(len).fixed(s.as_bytes())
    }

    /// An optional value: 0, or 1 followed by the value.
    pub fn option<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
                self
            }
        }
    }
}

/// Reads canonical encodings from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.rest.len()))
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Exactly `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N, field)?.try_into().expect("length checked"))
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Bytes with a `u32` length prefix, at most `max` long.
    pub fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(DecodeError::invalid(
                field,
                format!("{len} bytes, at most {max} allowed"),
            ));
        }
        self.take(len, field)
    }

    /// A UTF-8 string with a `u16` length prefix, at most `max` bytes.
    pub fn str16(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let len = self.u16(field)? as usize;
        if len > max {
            return Err(DecodeError::invalid(
                field,
                format!("{len} bytes, at most {max} allowed"),
            ));
        }
        std::str::from_utf8(self.take(len, field)?)
            .map_err(|_| DecodeError::invalid(field, "not UTF-8"))
    }

    /// An optional value (0, or 1 followed by the value); any other tag is invalid.
    pub fn option<T>(
        &mut self,
        field: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => f(self).map(Some),
            t => Err(DecodeError::invalid(field, format!("option tag {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_exact_length() {
        let mut w = Writer::new();
        w.u8(7)
            .u16(300)
            .u32(70_000)
            .u64(1 << 40)
            .str16("NL")
            .bytes(b"abc");
        w.option(Some(5u32), |w, v| {
            w.u32(v);
        });
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 300);
        assert_eq!(r.u32("c").unwrap(), 70_000);
        assert_eq!(r.u64("d").unwrap(), 1 << 40);
        assert_eq!(r.str16("e", 8).unwrap(), "NL");
        assert_eq!(r.bytes("f", 8).unwrap(), b"abc");
        assert_eq!(r.option("g", |r| r.u32("g")).unwrap(), Some(5));
        r.clone().finish().unwrap();

        let mut short = Reader::new(&bytes[..bytes.len() - 1]);
        short.take(bytes.len() - 2, "x").unwrap();
        assert_eq!(short.u32("g"), Err(DecodeError::Truncated("g")));
        let mut long = bytes.clone();
        long.push(0);
        let mut r = Reader::new(&long);
        r.take(bytes.len(), "all").unwrap();
        assert_eq!(r.finish(), Err(DecodeError::Trailing(1)));
    }

    #[test]
    fn limits_and_tags_are_checked() {
        let mut w = Writer::new();
        w.str16("too long for the limit");
        let bytes = w.finish();
        assert!(matches!(
            Reader::new(&bytes).str16("s", 4),
            Err(DecodeError::Invalid { field: "s", .. })
        ));
        assert!(matches!(
            Reader::new(&[2]).option("o", |r| r.u8("o")),
            Err(DecodeError::Invalid { field: "o", .. })
        ));
        assert!(matches!(
            Reader::new(&[0, 2, 0xff, 0xfe]).str16("s", 8),
            Err(DecodeError::Invalid { field: "s", .. })
        ));
    }
}
