//! JSON bodies read strictly: an object with the same key twice is refused. `serde_json`
//! keeps the last of duplicate keys when it reads into a [`Value`], so a body such as
//! `{"active": true, "active": false}` would mean one thing to this service and possibly
//! another to a proxy, a log reader or a client library that keeps the first: one body must
//! have one reading.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Reads a JSON body into a [`Value`], refusing an object (at any depth) with a repeated key, as
/// well as everything `serde_json` refuses (trailing characters included).
pub fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

/// A [`Value`] whose objects have unique keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        let body = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {"c": 18446744073709551615}}]}"#;
        assert_eq!(
            strict_json(body).unwrap(),
            json!({"a": [1, -2, 3.5, "x", null, true, {"b": {"c": u64::MAX}}]})
        );
        // The same as serde_json's own reading where keys are unique.
        assert_eq!(
            strict_json(body).unwrap(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
        for repeated in [
            &br#"{"active": true, "active": false}"#[..],
            br#"{"a": {"b": 1, "b": 1}}"#,
            br#"[{"x": 1}, {"y": 2, "y": 3}]"#,
        ] {
            let e = strict_json(repeated).unwrap_err().to_string();
            assert!(e.contains("appears twice"), "{e}");
            assert!(serde_json::from_slice::<Value>(repeated).is_ok());
        }
        assert!(strict_json(b"{} x").is_err());
        assert!(strict_json(b"").is_err());
    }
}
