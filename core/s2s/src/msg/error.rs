//! Decoding and validation errors for S2S messages.

use std::fmt;

/// A message field, named as in `docs/s2s-protocol.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Version,
    Source,
    Software,
    Namespace,
    DefaultOriginHost,
    DefaultLang,
    ApplianceId,
    Role,
    Address,
    Resume,
    MaxEventBytes,
    SourceEventId,
    Kind,
    User,
    OriginHost,
    OccurredAt,
    Priority,
    Summary,
    Body,
    Attribute,
    Lang,
    Tsn,
    Code,
    Text,
}

impl Field {
    /// The field's name in the protocol document.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Field::Version => "version",
            Field::Source => "source",
            Field::Software => "software",
            Field::Namespace => "namespace",
            Field::DefaultOriginHost => "default-origin-host",
            Field::DefaultLang => "default-lang",
            Field::ApplianceId => "appliance-id",
            Field::Role => "role",
            Field::Address => "address",
            Field::Resume => "resume",
            Field::MaxEventBytes => "max-event-bytes",
            Field::SourceEventId => "source-event-id",
            Field::Kind => "kind",
            Field::User => "user",
            Field::OriginHost => "origin-host",
            Field::OccurredAt => "occurred-at",
            Field::Priority => "priority",
            Field::Summary => "summary",
            Field::Body => "body",
            Field::Attribute => "attribute",
            Field::Lang => "lang",
            Field::Tsn => "tsn",
            Field::Code => "code",
            Field::Text => "text",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a message was refused. Every variant has a stable [`MsgError::code`]
/// (used by the malformed-message corpus index) and maps to the protocol
/// code `malformed` when reported to the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgError {
    /// The PPID names no S2S message.
    #[error("unknown message type (PPID {ppid:#010x})")]
    UnknownMessage { ppid: u32 },
    /// A field header or value runs past the end of the message.
    #[error("field header or value truncated at byte {offset}")]
    Truncated { offset: usize },
    /// Tag 0, or an unknown tag below 0x80 (unknown tags >= 0x80 are skipped).
    #[error("unknown critical field tag {tag:#04x}")]
    UnknownField { tag: u8 },
    /// Fields out of ascending tag order.
    #[error("field tag {tag:#04x} after tag {after:#04x}: tags must ascend")]
    FieldOrder { tag: u8, after: u8 },
    /// A non-repeatable field appears twice.
    #[error("field {field} appears twice")]
    DuplicateField { field: Field },
    /// A required field is absent.
    #[error("required field {field} is missing")]
    MissingField { field: Field },
    /// A fixed-size field has the wrong length.
    #[error("field {field} is {len} bytes, must be {expected}")]
    FieldLength {
        field: Field,
        len: usize,
        expected: usize,
    },
    /// A text field is not UTF-8.
    #[error("field {field} is not valid UTF-8")]
    InvalidUtf8 { field: Field },
    /// A text field is shorter than allowed (usually: empty).
    #[error("field {field} is empty")]
    Empty { field: Field },
    /// A field is longer than allowed.
    #[error("field {field} is {len} bytes, limit {max}")]
    TooLong {
        field: Field,
        len: usize,
        max: usize,
    },
    /// A repeatable field occurs too often.
    #[error("more than {max} {field} fields")]
    TooMany { field: Field, max: usize },
    /// A value breaks its field's grammar or range.
    #[error("field {field}: {reason}")]
    InvalidValue { field: Field, reason: &'static str },
    /// The whole message exceeds the receiver's limit.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge { len: usize, max: usize },
    /// Two attributes (or namespace bindings) share a key (prefix).
    #[error("duplicate {field} key {key:?}")]
    DuplicateKey { field: Field, key: String },
}

impl MsgError {
    /// Stable machine-readable name of the error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            MsgError::UnknownMessage { .. } => "unknown-message",
            MsgError::Truncated { .. } => "truncated",
            MsgError::UnknownField { .. } => "unknown-field",
            MsgError::FieldOrder { .. } => "field-order",
            MsgError::DuplicateField { .. } => "duplicate-field",
            MsgError::MissingField { .. } => "missing-field",
            MsgError::FieldLength { .. } => "field-length",
            MsgError::InvalidUtf8 { .. } => "invalid-utf8",
            MsgError::Empty { .. } => "empty",
            MsgError::TooLong { .. } => "too-long",
            MsgError::TooMany { .. } => "too-many",
            MsgError::InvalidValue { .. } => "invalid-value",
            MsgError::DuplicateKey { .. } => "duplicate-key",
            MsgError::MessageTooLarge { .. } => "message-too-large",
        }
    }
}
