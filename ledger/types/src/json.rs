//! JSON read strictly and within a budget: an object with the same key twice is refused, and so
//! is a document of more values than the caller allows. `serde_json` keeps the last of duplicate
//! keys when it reads into a [`Value`], so a body such as `{"active": true, "active": false}`
//! would mean one thing here and possibly another to a proxy, a log reader or a client library
//! that keeps the first: one body must have one reading. And a [`Value`] costs tens of bytes per
//! element however short its text: a node's 64 MiB answer of `[0,0,0,...]` would take gigabytes
//! to hold, so an answer is refused as soon as it holds more values than any real one does.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::fmt;

/// Reads JSON text into a [`Value`] of at most `max_values` values (every number, string,
/// boolean, null, array and object counts one), refusing an object with a repeated key at any
/// depth, as well as everything `serde_json` refuses (trailing characters included).
pub fn strict_json(bytes: &[u8], max_values: usize) -> Result<Value, serde_json::Error> {
    let budget = Cell::new(max_values);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict(&budget).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A [`Value`] whose objects have unique keys, counted against a budget.
#[derive(Clone, Copy)]
struct Strict<'b>(&'b Cell<usize>);

impl Strict<'_> {
    fn spend<E: de::Error>(self) -> Result<(), E> {
        match self.0.get().checked_sub(1) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => Err(E::custom("more values than an answer of this kind holds")),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice")));
            }
            let v = map.next_value_seed(self)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ANY: usize = usize::MAX;

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        let body = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {"c": 18446744073709551615}}]}"#;
        assert_eq!(
            strict_json(body, ANY).unwrap(),
            json!({"a": [1, -2, 3.5, "x", null, true, {"b": {"c": u64::MAX}}]})
        );
        // The same as serde_json's own reading where keys are unique.
        assert_eq!(
            strict_json(body, ANY).unwrap(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
        for repeated in [
            &br#"{"active": true, "active": false}"#[..],
            br#"{"a": {"b": 1, "b": 1}}"#,
            br#"[{"x": 1}, {"y": 2, "y": 3}]"#,
        ] {
            let e = strict_json(repeated, ANY).unwrap_err().to_string();
            assert!(e.contains("appears twice"), "{e}");
            assert!(serde_json::from_slice::<Value>(repeated).is_ok());
        }
        assert!(strict_json(b"{} x", ANY).is_err());
        assert!(strict_json(b"", ANY).is_err());
    }

    /// Every value counts, however short its text: a document of more is refused as it is read.
    #[test]
    fn values_beyond_the_budget_are_refused() {
        let body = br#"{"a": [1, 2, {"b": null}], "c": "d"}"#;
        // The object, the array, 1, 2, the inner object, null and "d": seven values.
        assert!(strict_json(body, 7).is_ok());
        let e = strict_json(body, 6).unwrap_err().to_string();
        assert!(e.contains("more values"), "{e}");
        let zeros = format!("[{}0]", "0,".repeat(100_000));
        assert!(strict_json(zeros.as_bytes(), 1_000).is_err());
        assert!(strict_json(zeros.as_bytes(), 100_002).is_ok());
    }
}
