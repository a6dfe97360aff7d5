//! Method names of sections 14-16.

use crate::error::SyntaxError;
use std::fmt;

/// Which protocol a method belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Pitp,
    Imtp,
}

/// A method. Every method the draft defines has a variant; anything else is
/// an [`Method::Extension`] that a receiver answers with `unknown-method`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    // Common (section 14).
    Auth,
    Shutdown,
    // PITP (section 15).
    Change,
    ChangeNotify,
    DeleteMapping,
    Fetch,
    FetchForUpdate,
    FetchNotify,
    GetClass,
    InsertMapping,
    SetClass,
    StartWi,
    Subscribe,
    SubscribeNotify,
    Terminate,
    TerminateNotify,
    Unsubscribe,
    UnsubscribeNotify,
    // IMTP (section 16).
    Listen,
    Send,
    /// Grammar-valid but not defined by the draft.
    Extension(String),
}

const NAMES: [(Method, &str, Option<Protocol>); 20] = [
    (Method::Auth, "auth", None),
    (Method::Shutdown, "shutdown", None),
    (Method::Change, "change", Some(Protocol::Pitp)),
    (Method::ChangeNotify, "change-notify", Some(Protocol::Pitp)),
    (
        Method::DeleteMapping,
        "delete-mapping",
        Some(Protocol::Pitp),
    ),
    (Method::Fetch, "fetch", Some(Protocol::Pitp)),
    (
        Method::FetchForUpdate,
        "fetch-for-update",
        Some(Protocol::Pitp),
    ),
    (Method::FetchNotify, "fetch-notify", Some(Protocol::Pitp)),
    (Method::GetClass, "get-class", Some(Protocol::Pitp)),
    (
        Method::InsertMapping,
        "insert-mapping",
        Some(Protocol::Pitp),
    ),
    (Method::SetClass, "set-class", Some(Protocol::Pitp)),
    (Method::StartWi, "start-wi", Some(Protocol::Pitp)),
    (Method::Subscribe, "subscribe", Some(Protocol::Pitp)),
    (
        Method::SubscribeNotify,
        "subscribe-notify",
        Some(Protocol::Pitp),
    ),
    (Method::Terminate, "terminate", Some(Protocol::Pitp)),
    (
        Method::TerminateNotify,
        "terminate-notify",
        Some(Protocol::Pitp),
    ),
    (Method::Unsubscribe, "unsubscribe", Some(Protocol::Pitp)),
    (
        Method::UnsubscribeNotify,
        "unsubscribe-notify",
        Some(Protocol::Pitp),
    ),
    (Method::Listen, "listen", Some(Protocol::Imtp)),
    (Method::Send, "send", Some(Protocol::Imtp)),
];

/// `method = 1*(ALPHA / DIGIT / "-")`. The draft's ABNF leaves out "-" but
/// half of its own methods (change-notify, start-wi, ...) contain one.
pub(crate) fn is_valid_method_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Method {
    /// Case-sensitive (section 10): `Send` is an extension, not `send`.
    pub fn parse(s: &str) -> Result<Method, SyntaxError> {
        if !is_valid_method_name(s) {
            return Err(SyntaxError::new(
                "method",
                "only letters, digits and '-' are allowed",
            ));
        }
        Ok(NAMES
            .iter()
            .find(|(_, n, _)| *n == s)
            .map(|(m, _, _)| m.clone())
            .unwrap_or_else(|| Method::Extension(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Extension(s) => s,
            known => NAMES
                .iter()
                .find(|(m, _, _)| m == known)
                .map(|(_, n, _)| *n)
                .unwrap_or("unknown"),
        }
    }

    /// Whether a connection speaking `protocol` understands this method:
    /// common methods always, the other protocol's never, extensions never.
    pub fn belongs_to(&self, protocol: Protocol) -> bool {
        match NAMES.iter().find(|(m, _, _)| m == self) {
            Some((_, _, None)) => true,
            Some((_, _, Some(p))) => *p == protocol,
            None => false,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (m, n, _) in NAMES.iter() {
            assert_eq!(Method::parse(n).as_ref(), Ok(m));
            assert_eq!(m.as_str(), *n);
        }
        assert_eq!(Method::parse("Send"), Ok(Method::Extension("Send".into())));
        assert!(Method::parse("se_nd").is_err());
        assert!(Method::Send.belongs_to(Protocol::Imtp));
        assert!(!Method::Send.belongs_to(Protocol::Pitp));
        assert!(Method::Auth.belongs_to(Protocol::Pitp));
        assert!(!Method::Extension("x".into()).belongs_to(Protocol::Imtp));
    }
}
