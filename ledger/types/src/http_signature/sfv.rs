//! The subset of RFC 8941 structured field values that the signature headers need: a dictionary
//! whose members are items or inner lists, bare items that are non-negative integers, strings or
//! byte sequences, and parameters with a value. Everything else (tokens, booleans, decimals,
//! negative integers, duplicate keys, integers with leading zeros) is refused, so that each value
//! has one serialisation and [`serialize_inner_list`] gives back the bytes that were signed.
//!
//! The parser is iterative and reads each byte once; callers bound the input's length first.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// The largest integer RFC 8941 allows (15 digits).
pub(super) const MAX_INTEGER: u64 = 999_999_999_999_999;

/// A bare item of the subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Bare {
    /// A non-negative integer, at most [`MAX_INTEGER`].
    Integer(u64),
    /// A string of printable ASCII characters.
    String(String),
    /// A byte sequence (`:base64:`).
    Bytes(Vec<u8>),
}

/// Parameters in the order they appear, keys unique.
pub(super) type Params = Vec<(String, Bare)>;

/// A dictionary member's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Member {
    /// A bare item with its parameters.
    Item(Bare, Params),
    /// An inner list of items with their parameters, and the list's parameters.
    InnerList(Vec<(Bare, Params)>, Params),
}

/// A dictionary: members in the order they appear, keys unique.
pub(super) type Dictionary = Vec<(String, Member)>;

/// Parses a dictionary field value.
pub(super) fn parse_dictionary(input: &str) -> Result<Dictionary, &'static str> {
    let mut p = Parser {
        s: input.trim_matches([' ', '\t']).as_bytes(),
        i: 0,
    };
    if p.s.is_empty() {
        return Err("empty field value");
    }
    let mut out: Dictionary = Vec::new();
    loop {
        let key = p.key()?;
        if !p.eat(b'=') {
            return Err("a dictionary member without a value");
        }
        let member = if p.peek() == Some(b'(') {
            p.inner_list()?
        } else {
            let item = p.bare()?;
            Member::Item(item, p.params()?)
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err("a dictionary key appears twice");
        }
        out.push((key, member));
        p.skip_ows();
        if p.at_end() {
            return Ok(out);
        }
        if !p.eat(b',') {
            return Err("unexpected character after a dictionary member");
        }
        p.skip_ows();
        if p.at_end() {
            return Err("a trailing comma");
        }
    }
}

/// Serialises an inner list with its parameters (RFC 8941 §4.1.1.1).
pub(super) fn serialize_inner_list(items: &[(Bare, Params)], params: &Params) -> String {
    let mut out = String::from("(");
    for (n, (item, item_params)) in items.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        serialize_bare(item, &mut out);
        serialize_params(item_params, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}

/// Serialises a byte sequence item (`:base64:`).
pub(super) fn serialize_bytes(bytes: &[u8]) -> String {
    format!(":{}:", STANDARD.encode(bytes))
}

fn serialize_params(params: &Params, out: &mut String) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        out.push('=');
        serialize_bare(value, out);
    }
}

fn serialize_bare(item: &Bare, out: &mut String) {
    match item {
        Bare::Integer(n) => out.push_str(&n.to_string()),
        Bare::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Bare::Bytes(b) => out.push_str(&serialize_bytes(b)),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while self.eat(b' ') || self.eat(b'\t') {}
    }

    /// `key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`
    fn key(&mut self) -> Result<String, &'static str> {
        let start = self.i;
        match self.peek() {
            Some(b) if b.is_ascii_lowercase() || b == b'*' => self.i += 1,
            _ => return Err("a key must start with a lower-case letter or '*'"),
        }
        while let Some(b) = self.peek() {
            if b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b) {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare(&mut self) -> Result<Bare, &'static str> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b) if b.is_ascii_digit() => self.integer(),
            Some(b'-') => Err("negative integers are not accepted"),
            None => Err("a value is missing"),
            Some(_) => Err("only integers, strings and byte sequences are accepted"),
        }
    }

    fn integer(&mut self) -> Result<Bare, &'static str> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
            if self.i - start > 15 {
                return Err("an integer has more than 15 digits");
            }
        }
        if self.peek() == Some(b'.') {
            return Err("decimals are not accepted");
        }
        let digits = &self.s[start..self.i];
        if digits.len() > 1 && digits[0] == b'0' {
            return Err("an integer has a leading zero");
        }
        let n = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        Ok(Bare::Integer(n))
    }

    fn string(&mut self) -> Result<Bare, &'static str> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("an unterminated string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Bare::String(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(char::from(c));
                            self.i += 1;
                        }
                        _ => return Err("a string escapes something else than '\"' or '\\'"),
                    }
                }
                Some(c) if (0x20..=0x7e).contains(&c) => {
                    out.push(char::from(c));
                    self.i += 1;
                }
                Some(_) => return Err("a string holds a character outside printable ASCII"),
            }
        }
    }

    fn bytes(&mut self) -> Result<Bare, &'static str> {
        self.i += 1; // the opening colon
        let start = self.i;
        loop {
            match self.peek() {
                None => return Err("an unterminated byte sequence"),
                Some(b':') => break,
                Some(b) if b.is_ascii_alphanumeric() || b"+/=".contains(&b) => self.i += 1,
                Some(_) => return Err("a byte sequence holds a character outside base64"),
            }
        }
        let text = &self.s[start..self.i];
        self.i += 1; // the closing colon
        STANDARD
            .decode(text)
            .map(Bare::Bytes)
            .map_err(|_| "a byte sequence is not canonical padded base64")
    }

    fn params(&mut self) -> Result<Params, &'static str> {
        let mut out: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            if !self.eat(b'=') {
                return Err("a parameter without a value");
            }
            let value = self.bare()?;
            if out.iter().any(|(k, _)| *k == key) {
                return Err("a parameter appears twice");
            }
            out.push((key, value));
        }
        Ok(out)
    }

    fn inner_list(&mut self) -> Result<Member, &'static str> {
        self.i += 1; // the opening bracket
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            let item = self.bare()?;
            let params = self.params()?;
            items.push((item, params));
            match self.peek() {
                Some(b' ' | b')') => {}
                None => return Err("an unterminated inner list"),
                Some(_) => return Err("unexpected character in an inner list"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reserializes_an_inner_list() {
        let text = r#"sig1=("@method" "@path");created=12;keyid="a\"b\\c""#;
        let dict = parse_dictionary(text).unwrap();
        assert_eq!(dict.len(), 1);
        let (key, Member::InnerList(items, params)) = &dict[0] else {
            panic!("not an inner list")
        };
        assert_eq!(key, "sig1");
        assert_eq!(items.len(), 2);
        assert_eq!(params[0], ("created".into(), Bare::Integer(12)));
        assert_eq!(params[1], ("keyid".into(), Bare::String(r#"a"b\c"#.into())));
        assert_eq!(
            format!("sig1={}", serialize_inner_list(items, params)),
            text
        );
    }

    #[test]
    fn spaces_that_rfc_8941_allows_are_accepted_and_normalised() {
        let dict = parse_dictionary(r#"  sig1=(  "a"   "b" ); created=1  "#).unwrap();
        let (_, Member::InnerList(items, params)) = &dict[0] else {
            panic!("not an inner list")
        };
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("a" "b");created=1"#
        );
    }

    #[test]
    fn refuses_what_the_subset_leaves_out() {
        for bad in [
            "",
            "sig1",
            "sig1=?1",
            "sig1=tok",
            "sig1=1.5",
            "sig1=-1",
            "sig1=007",
            "sig1=1234567890123456",
            "Sig1=1",
            "sig1=1,",
            "sig1=1, sig1=2",
            "sig1=(\"a\";x)",
            "sig1=(\"a\"\"b\")",
            "sig1=(\"a\"",
            "sig1=\"a\\n\"",
            "sig1=\"unterminated",
            "sig1=:AAA:",
            "sig1=:AA==",
            "sig1=:AB==:",
            "sig1=();a=1;a=2",
            "sig1=1 junk",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn byte_sequences_round_trip() {
        let dict = parse_dictionary("sha-256=:AAECAw==:, other=:/w==:").unwrap();
        assert_eq!(
            dict[0],
            (
                "sha-256".into(),
                Member::Item(Bare::Bytes(vec![0, 1, 2, 3]), vec![])
            )
        );
        assert_eq!(serialize_bytes(&[0, 1, 2, 3]), ":AAECAw==:");
    }
}
