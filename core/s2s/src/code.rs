//! The machine-readable result codes shared by REJECT (per event) and
//! GOODBYE (per session). Numbers are on the wire; names are what logs,
//! the CLI and the docs print (D-15).
//!
//! The number range tells a receiver how to react even to a code it does not
//! know: 0 is a normal goodbye, 1..=99 are final (resending the same event
//! or HELLO cannot succeed), 100..=199 are retryable (try again later or on
//! another pool member), 200 and up are reserved and handled as final.

use std::fmt;

/// A REJECT or GOODBYE code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 0: orderly end of a session (GOODBYE only).
    Normal,
    /// 1: the message does not follow this specification.
    Malformed,
    /// 2: the source is not provisioned, or not for this kind of event.
    UnauthorizedSource,
    /// 3: the source may not emit events for this user.
    UnauthorizedUser,
    /// 4: the server does not know or accept this event kind.
    UnknownKind,
    /// 5: the event exceeds the server's size limit.
    TooLarge,
    /// 6: the HELLO asked for a protocol version the server does not speak.
    UnsupportedVersion,
    /// 7: a sequencing violation (e.g. EVENT before WELCOME) or broken framing.
    ProtocolError,
    /// 100: the server is too busy; retry later.
    Overloaded,
    /// 101: the server failed internally (e.g. a store error); retry later.
    Internal,
    /// 102: the server is shutting down; use the next address.
    ShuttingDown,
    /// 103: this server is a standby; use the active one (see WELCOME addresses).
    NotActive,
    /// Any other number, kept as received.
    Other(u16),
}

impl Code {
    /// Every named code, in wire order.
    pub const ALL: [Code; 12] = [
        Code::Normal,
        Code::Malformed,
        Code::UnauthorizedSource,
        Code::UnauthorizedUser,
        Code::UnknownKind,
        Code::TooLarge,
        Code::UnsupportedVersion,
        Code::ProtocolError,
        Code::Overloaded,
        Code::Internal,
        Code::ShuttingDown,
        Code::NotActive,
    ];

    /// The wire value.
    #[must_use]
    pub fn to_u16(self) -> u16 {
        match self {
            Code::Normal => 0,
            Code::Malformed => 1,
            Code::UnauthorizedSource => 2,
            Code::UnauthorizedUser => 3,
            Code::UnknownKind => 4,
            Code::TooLarge => 5,
            Code::UnsupportedVersion => 6,
            Code::ProtocolError => 7,
            Code::Overloaded => 100,
            Code::Internal => 101,
            Code::ShuttingDown => 102,
            Code::NotActive => 103,
            Code::Other(n) => n,
        }
    }

    /// From the wire value (never fails: unknown numbers become `Other`).
    #[must_use]
    pub fn from_u16(n: u16) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| c.to_u16() == n)
            .unwrap_or(Code::Other(n))
    }

    /// The stable kebab-case name (`unauthorized-user`); `code-N` for unknown numbers.
    #[must_use]
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        let s = match self {
            Code::Normal => "normal",
            Code::Malformed => "malformed",
            Code::UnauthorizedSource => "unauthorized-source",
            Code::UnauthorizedUser => "unauthorized-user",
            Code::UnknownKind => "unknown-kind",
            Code::TooLarge => "too-large",
            Code::UnsupportedVersion => "unsupported-version",
            Code::ProtocolError => "protocol-error",
            Code::Overloaded => "overloaded",
            Code::Internal => "internal",
            Code::ShuttingDown => "shutting-down",
            Code::NotActive => "not-active",
            Code::Other(n) => return format!("code-{n}").into(),
        };
        s.into()
    }

    /// Parse a name as printed by [`Code::name`].
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s).or_else(|| {
            s.strip_prefix("code-")
                .and_then(|n| n.parse().ok())
                .map(Self::from_u16)
        })
    }

    /// True when sending the same event (or HELLO) again later, or to another
    /// pool member, may succeed.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        (100..=199).contains(&self.to_u16())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for c in Code::ALL {
            assert_eq!(Code::from_u16(c.to_u16()), c);
            assert_eq!(Code::from_name(&c.name()), Some(c));
        }
        assert_eq!(Code::from_u16(4242), Code::Other(4242));
        assert_eq!(Code::from_name("code-4242"), Some(Code::Other(4242)));
        assert!(Code::Overloaded.is_retryable());
        assert!(Code::Other(150).is_retryable());
        assert!(!Code::UnauthorizedUser.is_retryable());
        assert!(!Code::Other(300).is_retryable());
    }
}
