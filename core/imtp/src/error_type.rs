//! The `Error-Type` values of the draft (sections 12, 14-16).

use std::fmt;

/// An `Error-Type` header value. Values are case-sensitive; a type we do not
/// know is kept verbatim in [`ErrorType::Other`] because a relay must pass it
/// on unmodified (section 12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorType {
    // Any command (section 12).
    Malformed,
    UnknownMethod,
    Resources,
    Communications,
    // Commands with a source URL.
    SourceAuthorization,
    Quota,
    // Commands with a target URL.
    TargetAuthorization,
    TargetNotFound,
    // Method-specific (sections 14-16).
    MappingRange,
    UpdateRace,
    NotSubscribed,
    NoListeners,
    Loop,
    SaslChallenge,
    SaslFailure,
    /// Anything else, e.g. the undefined `auth` used in the draft's own
    /// `change` example.
    Other(String),
}

const KNOWN: [(ErrorType, &str); 15] = [
    (ErrorType::Malformed, "malformed"),
    (ErrorType::UnknownMethod, "unknown-method"),
    (ErrorType::Resources, "resources"),
    (ErrorType::Communications, "communications"),
    (ErrorType::SourceAuthorization, "source-authorization"),
    (ErrorType::Quota, "quota"),
    (ErrorType::TargetAuthorization, "target-authorization"),
    (ErrorType::TargetNotFound, "target-not-found"),
    (ErrorType::MappingRange, "mapping-range"),
    (ErrorType::UpdateRace, "update-race"),
    (ErrorType::NotSubscribed, "not-subscribed"),
    (ErrorType::NoListeners, "no-listeners"),
    (ErrorType::Loop, "loop"),
    (ErrorType::SaslChallenge, "sasl-challenge"),
    (ErrorType::SaslFailure, "sasl-failure"),
];

impl ErrorType {
    /// Parses a (trimmed) header value. Never fails: unknown values become
    /// [`ErrorType::Other`]; the caller validated the header value already.
    pub fn parse(value: &str) -> ErrorType {
        KNOWN
            .iter()
            .find(|(_, s)| *s == value)
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| ErrorType::Other(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            ErrorType::Other(s) => s,
            known => KNOWN
                .iter()
                .find(|(t, _)| t == known)
                .map(|(_, s)| *s)
                .unwrap_or("malformed"),
        }
    }

    /// Whether a sender should try the same command again later: the
    /// delivery policy of docs/imtp.md. Temporary conditions (`resources`,
    /// `communications`, `no-listeners`, `quota`) are retried; everything
    /// else, including types we do not know, is permanent so that an
    /// unknown condition never turns into a retry storm.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorType::Resources
                | ErrorType::Communications
                | ErrorType::NoListeners
                | ErrorType::Quota
        )
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_and_unknown() {
        for (t, s) in KNOWN.iter() {
            assert_eq!(ErrorType::parse(s), *t);
            assert_eq!(t.as_str(), *s);
        }
        assert_eq!(ErrorType::parse("auth"), ErrorType::Other("auth".into()));
        // Case-sensitive (section 12).
        assert_eq!(
            ErrorType::parse("Malformed"),
            ErrorType::Other("Malformed".into())
        );
    }
}
