//! The normalized event every ingest path produces and the store keeps.

use crate::priority::Priority;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An event as accepted by ingest. `source` is the authenticated source,
/// never a value the producer chose freely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub source: String,
    /// The producer's idempotency key; (source, source_event_id) is unique.
    pub source_event_id: String,
    /// Namespaced kind such as `mail.MessageNew`.
    pub kind: String,
    pub user: String,
    #[serde(default)]
    pub origin_host: String,
    /// When it happened, unix milliseconds UTC.
    pub occurred_at_ms: i64,
    #[serde(default)]
    pub priority: Priority,
    pub summary: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Size limits applied at ingest. `max_event_bytes` is per source in the
/// daemon's config; the others are fixed by the data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 64 * 1024,
        }
    }
}

pub const MAX_SOURCE: usize = 64;
pub const MAX_SOURCE_EVENT_ID: usize = 256;
pub const MAX_KIND: usize = 128;
pub const MAX_USER: usize = 256;
pub const MAX_ORIGIN_HOST: usize = 255;
pub const MAX_SUMMARY: usize = 1024;
pub const MAX_ATTRIBUTES: usize = 64;
pub const MAX_ATTRIBUTE_KEY: usize = 64;
pub const MAX_ATTRIBUTE_VALUE: usize = 8 * 1024;

/// Why an event was refused. `code()` is the machine-parsable form shared
/// by the admin socket, the S2S protocol and the plugin ABI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("field {field} is empty")]
    Empty { field: &'static str },
    #[error("field {field} is {len} bytes, the limit is {max}")]
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("event is {len} bytes, the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("field {field} contains a control character")]
    ControlChar { field: &'static str },
    #[error("kind {kind:?} is not namespaced (expected ns.Name with letters, digits, '_' or '-')")]
    BadKind { kind: String },
    #[error("{count} attributes, the limit is {max}")]
    TooManyAttributes { count: usize, max: usize },
    #[error("attribute name {name:?} is invalid")]
    BadAttributeName { name: String },
}

impl EventError {
    /// The protocol-level error code (see docs/s2s-protocol.md).
    pub fn code(&self) -> &'static str {
        match self {
            EventError::TooLarge { .. } => "too-large",
            EventError::BadKind { .. } => "unknown-kind",
            _ => "malformed",
        }
    }
}

/// A kind is `segment(.segment)+`, each segment `[A-Za-z0-9_-]+`.
pub fn validate_kind(kind: &str) -> Result<(), EventError> {
    let bad = || EventError::BadKind {
        kind: kind.chars().take(MAX_KIND).collect(),
    };
    if kind.len() > MAX_KIND {
        return Err(EventError::FieldTooLong {
            field: "kind",
            len: kind.len(),
            max: MAX_KIND,
        });
    }
    let mut segments = 0;
    for seg in kind.split('.') {
        if seg.is_empty()
            || !seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(bad());
        }
        segments += 1;
    }
    if segments < 2 {
        return Err(bad());
    }
    Ok(())
}

fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
    allow_newlines: bool,
) -> Result<(), EventError> {
    if required && value.is_empty() {
        return Err(EventError::Empty { field });
    }
    if value.len() > max {
        return Err(EventError::FieldTooLong {
            field,
            len: value.len(),
            max,
        });
    }
    // A byte scan instead of decoding chars (this runs on every field of
    // every event): in UTF-8, C0 controls and DEL are single bytes below
    // 0x80, and the C1 controls U+0080..U+009F are exactly 0xC2 followed by
    // 0x80..=0x9F (0xC2 is never a continuation byte).
    let bytes = value.as_bytes();
    let bad = bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\t' | b'\n' | b'\r' => !allow_newlines,
        0..=0x1f | 0x7f => true,
        0xc2 => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        _ => false,
    });
    if bad {
        return Err(EventError::ControlChar { field });
    }
    Ok(())
}

impl Event {
    /// Bytes this event occupies in its text fields (the unit of
    /// `max_event_bytes`).
    pub fn payload_len(&self) -> usize {
        self.source_event_id.len()
            + self.kind.len()
            + self.user.len()
            + self.origin_host.len()
            + self.summary.len()
            + self.body.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }

    /// Checks everything ingest requires of an event. Text is UTF-8 by
    /// construction (`String`); this enforces sizes and shapes.
    pub fn validate(&self, limits: &Limits) -> Result<(), EventError> {
        let len = self.payload_len();
        if len > limits.max_event_bytes {
            return Err(EventError::TooLarge {
                len,
                max: limits.max_event_bytes,
            });
        }
        check_text("source", &self.source, MAX_SOURCE, true, false)?;
        check_text(
            "source_event_id",
            &self.source_event_id,
            MAX_SOURCE_EVENT_ID,
            true,
            false,
        )?;
        validate_kind(&self.kind)?;
        check_text("user", &self.user, MAX_USER, true, false)?;
        check_text(
            "origin_host",
            &self.origin_host,
            MAX_ORIGIN_HOST,
            false,
            false,
        )?;
        check_text("summary", &self.summary, MAX_SUMMARY, true, false)?;
        check_text("body", &self.body, limits.max_event_bytes, false, true)?;
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(EventError::TooManyAttributes {
                count: self.attributes.len(),
                max: MAX_ATTRIBUTES,
            });
        }
        for (k, v) in &self.attributes {
            let name_ok = !k.is_empty()
                && k.len() <= MAX_ATTRIBUTE_KEY
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !name_ok {
                return Err(EventError::BadAttributeName {
                    name: k.chars().take(MAX_ATTRIBUTE_KEY).collect(),
                });
            }
            check_text("attribute value", v, MAX_ATTRIBUTE_VALUE, false, true)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Event {
        Event {
            source: "dovecot".into(),
            source_event_id: "alice/1/2".into(),
            kind: "mail.MessageNew".into(),
            user: "alice@example.org".into(),
            origin_host: "mx1.example.org".into(),
            occurred_at_ms: 1_700_000_000_000,
            priority: Priority::Normal,
            summary: "New mail from Bob".into(),
            body: "Hello\nworld".into(),
            attributes: [("folder".to_string(), "INBOX".to_string())].into(),
        }
    }

    #[test]
    fn valid_event_passes() {
        assert_eq!(sample().validate(&Limits::default()), Ok(()));
    }

    #[test]
    fn kinds() {
        assert!(validate_kind("mail.MessageNew").is_ok());
        assert!(validate_kind("vnd.cmu.MessageCopy").is_ok());
        for bad in ["mail", ".x", "x.", "a..b", "mail.Message New", "", "ü.x"] {
            assert!(validate_kind(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rejections_carry_codes() {
        let mut e = sample();
        e.kind = "nonamespace".into();
        assert_eq!(
            e.validate(&Limits::default()).unwrap_err().code(),
            "unknown-kind"
        );
        let mut e = sample();
        e.body = "x".repeat(70_000);
        assert_eq!(
            e.validate(&Limits::default()).unwrap_err().code(),
            "too-large"
        );
        let mut e = sample();
        e.summary = "a\u{0}b".into();
        assert_eq!(
            e.validate(&Limits::default()).unwrap_err().code(),
            "malformed"
        );
        let mut e = sample();
        e.user = String::new();
        assert_eq!(
            e.validate(&Limits::default()),
            Err(EventError::Empty { field: "user" })
        );
    }

    proptest! {
        #[test]
        fn validate_never_panics(
            id in ".{0,300}", kind in ".{0,140}", user in ".{0,300}",
            summary in ".{0,1100}", body in ".{0,200}",
            attrs in proptest::collection::btree_map(".{0,70}", ".{0,50}", 0..70),
        ) {
            let e = Event { source: "s".into(), source_event_id: id, kind, user,
                origin_host: String::new(), occurred_at_ms: 0, priority: Priority::Low,
                summary, body, attributes: attrs };
            let _ = e.validate(&Limits::default());
        }

        /// The byte scan in `check_text` finds exactly what
        /// `char::is_control` calls a control character.
        #[test]
        fn control_scan_matches_is_control(
            s in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{a0}\u{100}-\u{120}])*",
            lines in any::<bool>(),
        ) {
            let expect = s.chars().any(|c| {
                c.is_control() && !(lines && (c == '\n' || c == '\r' || c == '\t'))
            });
            let got = matches!(
                check_text("f", &s, usize::MAX, false, lines),
                Err(EventError::ControlChar { .. })
            );
            prop_assert_eq!(got, expect);
        }

        #[test]
        fn json_round_trip(summary in "[^\u{0}-\u{1f}]{1,200}", p in 1u8..=5) {
            let mut e = sample();
            e.summary = summary;
            e.priority = Priority::from_u8(p).unwrap();
            let j = serde_json::to_string(&e).unwrap();
            let back: Event = serde_json::from_str(&j).unwrap();
            prop_assert_eq!(back, e);
        }
    }
}
