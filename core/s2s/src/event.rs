//! The event as an event source builds it (owned), its priority scale, the
//! resolved kind a server sees, and the user-to-stream mapping.

use std::fmt;

use crate::msg::{Attributes, EventMsg};

/// Priority 1..=5 (on the wire as one byte): the event model's own scale.
pub use tocsin_abi::Priority;

/// An event as a source sends it. Validation happens when it is sent (the
/// rules are in `docs/s2s-protocol.md`, "EVENT").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Idempotency key, unique per source, 1..=256 bytes.
    pub source_event_id: String,
    /// `namespace.Name` (e.g. `mail.MessageNew`) or `prefix:Name`.
    pub kind: String,
    /// The user the event concerns.
    pub user: String,
    /// Host the event happened on; `None` uses the HELLO's default.
    pub origin_host: Option<String>,
    /// When it happened, unix milliseconds UTC.
    pub occurred_at_ms: i64,
    /// Priority.
    pub priority: Priority,
    /// One-line summary.
    pub summary: String,
    /// Optional longer text.
    pub body: Option<String>,
    /// Language of summary and body (BCP 47); `None` uses the HELLO's default.
    pub lang: Option<String>,
    /// Free-form attributes (keys unique).
    pub attributes: Vec<(String, String)>,
}

impl Event {
    /// An event with the required fields, priority normal, occurring now.
    #[must_use]
    pub fn new(
        source_event_id: impl Into<String>,
        kind: impl Into<String>,
        user: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            source_event_id: source_event_id.into(),
            kind: kind.into(),
            user: user.into(),
            origin_host: None,
            occurred_at_ms: now_unix_ms(),
            priority: Priority::Normal,
            summary: summary.into(),
            body: None,
            lang: None,
            attributes: Vec::new(),
        }
    }

    /// The borrowed wire view (kind as written).
    #[must_use]
    pub fn as_msg(&self) -> EventMsg<'_> {
        self.as_msg_with_kind(&self.kind)
    }

    /// The borrowed wire view with `kind` replacing the event's own (used to
    /// send the compact `prefix:Name` form).
    #[must_use]
    pub fn as_msg_with_kind<'a>(&'a self, kind: &'a str) -> EventMsg<'a> {
        EventMsg {
            source_event_id: &self.source_event_id,
            kind,
            user: &self.user,
            origin_host: self.origin_host.as_deref(),
            occurred_at_ms: self.occurred_at_ms,
            priority: self.priority,
            summary: &self.summary,
            body: self.body.as_deref(),
            lang: self.lang.as_deref(),
            attributes: Attributes::Pairs(&self.attributes),
        }
    }
}

impl From<&EventMsg<'_>> for Event {
    fn from(m: &EventMsg<'_>) -> Self {
        Self {
            source_event_id: m.source_event_id.to_owned(),
            kind: m.kind.to_owned(),
            user: m.user.to_owned(),
            origin_host: m.origin_host.map(str::to_owned),
            occurred_at_ms: m.occurred_at_ms,
            priority: m.priority,
            summary: m.summary.to_owned(),
            body: m.body.map(str::to_owned),
            lang: m.lang.map(str::to_owned),
            attributes: m
                .attributes
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}

/// A kind resolved against the HELLO's namespace bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind<'a> {
    /// `mail`, `voicemail`, `vnd.example.cal`...
    pub namespace: &'a str,
    /// `MessageNew`...
    pub name: &'a str,
}

impl fmt::Display for Kind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// Milliseconds since the unix epoch, now (0 if the clock is before 1970).
#[must_use]
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The stream a user's events travel on: FNV-1a (32-bit) of the user's
/// UTF-8 bytes, modulo `streams` (0 means 1). Same user, same stream, so the
/// shim's per-stream sequence keeps that user's events in order.
#[must_use]
pub fn stream_for_user(user: &str, streams: u16) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in user.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % u32::from(streams.max(1))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_by_digit_and_name() {
        assert_eq!("5".parse(), Ok(Priority::Urgent));
        assert_eq!("High".parse(), Ok(Priority::High));
        assert!("6".parse::<Priority>().is_err());
        assert!("loud".parse::<Priority>().is_err());
    }

    #[test]
    fn stream_mapping_is_stable_and_in_range() {
        // FNV-1a test vector: "a" -> 0xe40c292c
        assert_eq!(
            stream_for_user("a", u16::MAX),
            (0xe40c_292c_u32 % 65535) as u16
        );
        for u in ["alice", "bob", "ça", ""] {
            assert!(stream_for_user(u, 64) < 64);
            assert_eq!(stream_for_user(u, 64), stream_for_user(u, 64));
        }
        assert_eq!(stream_for_user("x", 0), 0);
    }
}
