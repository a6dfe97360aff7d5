//! Strict top-level JSON object reading and typed field access.
//!
//! Fields are taken out of the object as they are read; what is left at the end becomes
//! the event's bounded `extra` map.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::error::ParseError;
use crate::limits::ParseLimits;
use crate::text::truncate_string;

const U32: &str = "an unsigned 32-bit integer";
const NZ_U32: &str = "a non-zero unsigned 32-bit integer";
const U64: &str = "an unsigned 64-bit integer";
const STRING: &str = "a string";
const NONEMPTY: &str = "a non-empty string";

/// A top-level object, remembering the first duplicated key instead of silently keeping
/// the last value (serde_json's behaviour).
struct StrictObject {
    map: BTreeMap<String, Value>,
    duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = BTreeMap::new();
                let mut duplicate = None;
                while let Some(key) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    match map.entry(key) {
                        std::collections::btree_map::Entry::Occupied(e) => {
                            duplicate.get_or_insert_with(|| e.key().clone());
                        }
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(value);
                        }
                    }
                }
                Ok(StrictObject { map, duplicate })
            }
        }
        d.deserialize_map(V)
    }
}

/// The remaining fields of a parsed object.
#[derive(Debug)]
pub(crate) struct Fields {
    map: BTreeMap<String, Value>,
}

/// Check size, UTF-8 and JSON syntax, and return the object's fields.
pub(crate) fn parse_object(bytes: &[u8], limits: &ParseLimits) -> Result<Fields, ParseError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(ParseError::BodyTooLarge {
            size: bytes.len(),
            limit: limits.max_body_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    if !text.trim_start().starts_with('{') {
        // Distinguish "valid JSON but not an object" from garbage.
        return match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Err(ParseError::NotAnObject),
            Err(e) => Err(json_error(&e)),
        };
    }
    let obj: StrictObject = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    if let Some(dup) = obj.duplicate {
        return Err(ParseError::DuplicateField(dup));
    }
    Ok(Fields { map: obj.map })
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::InvalidJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

fn invalid(field: &str, expected: &'static str) -> ParseError {
    ParseError::InvalidField {
        field: field.to_owned(),
        expected,
    }
}

/// Number, or string of 1..=20 ASCII digits (Dovecot and scripts disagree on quoting).
fn unsigned(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s)
            if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

impl Fields {
    /// Remove a field; JSON `null` counts as absent.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// Whether a (non-null) field is present.
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn str_opt(&mut self, key: &str) -> Result<Option<String>, ParseError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(key, STRING)),
        }
    }

    /// A non-empty string of at most `limit` bytes; never truncated (identity).
    pub fn ident_opt(&mut self, key: &str, limit: usize) -> Result<Option<String>, ParseError> {
        let Some(s) = self.str_opt(key)? else {
            return Ok(None);
        };
        if s.is_empty() {
            return Err(invalid(key, NONEMPTY));
        }
        if s.len() > limit {
            return Err(ParseError::FieldTooLong {
                field: key.to_owned(),
                len: s.len(),
                limit,
            });
        }
        Ok(Some(s))
    }

    pub fn ident_req(&mut self, key: &str, limit: usize) -> Result<String, ParseError> {
        self.ident_opt(key, limit)?
            .ok_or_else(|| ParseError::MissingField(key.to_owned()))
    }

    pub fn u32_opt(&mut self, key: &str) -> Result<Option<u32>, ParseError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => unsigned(&v)
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| invalid(key, U32)),
        }
    }

    /// IMAP UIDs and UIDVALIDITY are nz-numbers (RFC 3501).
    pub fn nz_u32_opt(&mut self, key: &str) -> Result<Option<u32>, ParseError> {
        let present = self.has(key);
        match self.u32_opt(key) {
            Ok(Some(0)) | Err(_) if present => Err(invalid(key, NZ_U32)),
            other => other,
        }
    }

    pub fn nz_u32_req(&mut self, key: &str) -> Result<u32, ParseError> {
        self.nz_u32_opt(key)?
            .ok_or_else(|| ParseError::MissingField(key.to_owned()))
    }

    pub fn u64_opt(&mut self, key: &str) -> Result<Option<u64>, ParseError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => unsigned(&v).map(Some).ok_or_else(|| invalid(key, U64)),
        }
    }

    /// A string field left in place (it will also appear in `extra`).
    pub fn peek_str(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Value::as_str)
    }

    /// Whatever is left, as bounded strings. Keys in `priority` are kept first, so the
    /// count limit never drops a parameter the idempotency key relies on. Returns the map
    /// and whether anything was dropped or cut.
    pub fn into_extra(
        mut self,
        limits: &ParseLimits,
        priority: &[&str],
    ) -> (BTreeMap<String, String>, bool) {
        let mut ordered: Vec<(String, Value)> = priority
            .iter()
            .filter_map(|k| self.map.remove_entry(*k))
            .collect();
        ordered.extend(self.map);
        let mut extra = BTreeMap::new();
        let mut truncated = false;
        for (key, value) in ordered {
            if value.is_null() {
                continue;
            }
            if extra.len() >= limits.max_extra_params
                || key.len() > limits.max_extra_key_bytes
                || key.chars().any(char::is_control)
            {
                truncated = true;
                continue;
            }
            let mut text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if text.len() > limits.max_extra_value_bytes {
                truncate_string(&mut text, limits.max_extra_value_bytes);
                truncated = true;
            }
            extra.insert(key, text);
        }
        (extra, truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        parse_object(json.as_bytes(), &ParseLimits::default()).unwrap()
    }

    #[test]
    fn top_level_checks() {
        let l = ParseLimits::default();
        assert_eq!(
            parse_object(b"[1,2]", &l).unwrap_err(),
            ParseError::NotAnObject
        );
        assert_eq!(
            parse_object(b" 42 ", &l).unwrap_err(),
            ParseError::NotAnObject
        );
        assert!(matches!(
            parse_object(b"", &l).unwrap_err(),
            ParseError::InvalidJson { .. }
        ));
        assert!(matches!(
            parse_object(b"{\"a\":", &l).unwrap_err(),
            ParseError::InvalidJson { .. }
        ));
        assert!(matches!(
            parse_object(b"{\"a\":1} x", &l).unwrap_err(),
            ParseError::InvalidJson { .. }
        ));
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}", &l).unwrap_err(),
            ParseError::InvalidUtf8 { offset: 6 }
        );
        assert_eq!(
            parse_object(b"{\"a\":1,\"a\":2}", &l).unwrap_err(),
            ParseError::DuplicateField("a".into())
        );
        let small = ParseLimits {
            max_body_bytes: 4,
            ..ParseLimits::default()
        };
        assert!(matches!(
            parse_object(b"{\"a\":1}", &small).unwrap_err(),
            ParseError::BodyTooLarge { size: 7, limit: 4 }
        ));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert!(matches!(
            parse_object(deep.as_bytes(), &l).unwrap_err(),
            ParseError::InvalidJson { .. }
        ));
    }

    #[test]
    fn numbers_as_numbers_or_strings() {
        let mut f = fields(
            r#"{"a":5,"b":"6","c":4294967295,"d":4294967296,"e":-1,"f":1.5,"g":" 7","h":"","i":"+7","j":true,"k":0,"l":"0","m":18446744073709551615,"n":"18446744073709551616","o":99999999999999999999999}"#,
        );
        assert_eq!(f.u32_opt("a"), Ok(Some(5)));
        assert_eq!(f.u32_opt("b"), Ok(Some(6)));
        assert_eq!(f.u32_opt("c"), Ok(Some(u32::MAX)));
        for k in ["d", "e", "f", "g", "h", "i", "j"] {
            assert_eq!(
                f.u32_opt(k),
                Err(ParseError::InvalidField {
                    field: k.into(),
                    expected: U32
                }),
                "{k}"
            );
        }
        assert_eq!(
            f.nz_u32_opt("k"),
            Err(ParseError::InvalidField {
                field: "k".into(),
                expected: NZ_U32
            })
        );
        assert!(f.nz_u32_opt("l").is_err());
        assert_eq!(f.u64_opt("m"), Ok(Some(u64::MAX)));
        assert!(f.u64_opt("n").is_err());
        assert!(f.u64_opt("o").is_err());
        assert_eq!(f.u32_opt("missing"), Ok(None));
        assert_eq!(
            f.nz_u32_req("missing"),
            Err(ParseError::MissingField("missing".into()))
        );
    }

    #[test]
    fn strings_and_identities() {
        let mut f = fields(r#"{"s":"x","n":null,"num":3,"e":"","long":"abcdef"}"#);
        assert_eq!(f.str_opt("s"), Ok(Some("x".into())));
        assert_eq!(f.str_opt("n"), Ok(None));
        assert!(matches!(
            f.str_opt("num"),
            Err(ParseError::InvalidField { .. })
        ));
        assert!(matches!(
            f.ident_opt("e", 10),
            Err(ParseError::InvalidField { .. })
        ));
        assert!(matches!(
            f.ident_opt("long", 3),
            Err(ParseError::FieldTooLong {
                len: 6,
                limit: 3,
                ..
            })
        ));
        assert_eq!(
            f.ident_req("gone", 3),
            Err(ParseError::MissingField("gone".into()))
        );
    }

    #[test]
    fn extras_are_bounded() {
        let limits = ParseLimits {
            max_extra_params: 2,
            max_extra_value_bytes: 4,
            ..ParseLimits::default()
        };
        let f = fields(r#"{"a":"héllo","b":[1,2],"c":true,"z":null}"#);
        let (extra, truncated) = f.into_extra(&limits, &[]);
        assert_eq!(extra.len(), 2);
        assert_eq!(extra["a"], "hél");
        assert_eq!(extra["b"], "[1,2");
        assert!(truncated);
        let f = fields(r#"{"a":"1","b":"2","c":"3"}"#);
        let (extra, _) = f.into_extra(&limits, &["c"]);
        assert_eq!(extra.keys().collect::<Vec<_>>(), ["a", "c"]);
    }
}
