//! Parse errors, each naming the field at fault.

use thiserror::Error;

use crate::user_map::UserMapError;

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The body or datagram exceeds the configured size.
    #[error("body too large: {size} bytes (limit {limit})")]
    BodyTooLarge {
        /// Received size.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// The JSON text is not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The body is not valid JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    InvalidJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// Valid JSON, but not an object.
    #[error("top-level JSON value must be an object")]
    NotAnObject,
    /// The same key twice at top level: which one counts would be a guess.
    #[error("duplicate field \"{0}\"")]
    DuplicateField(String),
    /// A required field is absent (or null).
    #[error("missing field \"{0}\"")]
    MissingField(String),
    /// A field has the wrong type or an out-of-range value.
    #[error("field \"{field}\" must be {expected}")]
    InvalidField {
        /// The JSON key.
        field: String,
        /// What was expected, e.g. "an unsigned 32-bit integer".
        expected: &'static str,
    },
    /// An identifying field (user, mailbox, uri, ...) is over its limit; identities are
    /// never truncated, since truncation could merge two different ones.
    #[error("field \"{field}\" is {len} bytes long (limit {limit})")]
    FieldTooLong {
        /// The JSON key.
        field: String,
        /// Actual length.
        len: usize,
        /// Configured limit.
        limit: usize,
    },
    /// A Cyrus notifyd datagram whose NUL-separated framing is broken.
    #[error("malformed notifyd datagram: {0}")]
    BadDatagram(&'static str),
    /// A notifyd datagram of another class (e.g. `MAIL` from the legacy mailnotifier).
    #[error("notifyd class \"{0}\" carries no JSON event")]
    UnsupportedClass(String),
    /// The user mapping rules rejected the user.
    #[error("user mapping: {0}")]
    UserMap(#[from] UserMapError),
}

impl ParseError {
    /// The JSON key the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::DuplicateField(f) | ParseError::MissingField(f) => Some(f),
            ParseError::InvalidField { field, .. } | ParseError::FieldTooLong { field, .. } => {
                Some(field)
            }
            ParseError::UserMap(_) => Some("user"),
            _ => None,
        }
    }
}
