//! Header names this crate looks up, with their compact forms (RFC 3261
//! §7.3.3, RFC 6665 for `o`/`u`). Names compare case-insensitively.

/// A header the crate knows by name. Unknown headers are still kept and can
/// be looked up by name with [`crate::SipMessage::header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    Accept,
    AcceptContact,
    Allow,
    AllowEvents,
    CallId,
    Contact,
    ContentEncoding,
    ContentLength,
    ContentType,
    CSeq,
    Event,
    Expires,
    From,
    Identity,
    IdentityInfo,
    MaxForwards,
    MinExpires,
    RecordRoute,
    ReferTo,
    ReferredBy,
    RejectContact,
    RequestDisposition,
    Require,
    RetryAfter,
    Route,
    Server,
    SessionExpires,
    Subject,
    SubscriptionState,
    Supported,
    To,
    UserAgent,
    Via,
}

/// (kind, canonical long name, compact letter)
const TABLE: &[(HeaderKind, &str, Option<u8>)] = &[
    (HeaderKind::Via, "Via", Some(b'v')),
    (HeaderKind::From, "From", Some(b'f')),
    (HeaderKind::To, "To", Some(b't')),
    (HeaderKind::CallId, "Call-ID", Some(b'i')),
    (HeaderKind::CSeq, "CSeq", None),
    (HeaderKind::ContentLength, "Content-Length", Some(b'l')),
    (HeaderKind::ContentType, "Content-Type", Some(b'c')),
    (HeaderKind::Event, "Event", Some(b'o')),
    (HeaderKind::SubscriptionState, "Subscription-State", None),
    (HeaderKind::Contact, "Contact", Some(b'm')),
    (HeaderKind::MaxForwards, "Max-Forwards", None),
    (HeaderKind::Expires, "Expires", None),
    (HeaderKind::ContentEncoding, "Content-Encoding", Some(b'e')),
    (HeaderKind::Supported, "Supported", Some(b'k')),
    (HeaderKind::Require, "Require", None),
    (HeaderKind::AllowEvents, "Allow-Events", Some(b'u')),
    (HeaderKind::Accept, "Accept", None),
    (HeaderKind::Allow, "Allow", None),
    (HeaderKind::MinExpires, "Min-Expires", None),
    (HeaderKind::RetryAfter, "Retry-After", None),
    (HeaderKind::RecordRoute, "Record-Route", None),
    (HeaderKind::Route, "Route", None),
    (HeaderKind::Subject, "Subject", Some(b's')),
    (HeaderKind::Server, "Server", None),
    (HeaderKind::UserAgent, "User-Agent", None),
    (HeaderKind::ReferTo, "Refer-To", Some(b'r')),
    (HeaderKind::ReferredBy, "Referred-By", Some(b'b')),
    (HeaderKind::SessionExpires, "Session-Expires", Some(b'x')),
    (HeaderKind::AcceptContact, "Accept-Contact", Some(b'a')),
    (HeaderKind::RejectContact, "Reject-Contact", Some(b'j')),
    (
        HeaderKind::RequestDisposition,
        "Request-Disposition",
        Some(b'd'),
    ),
    (HeaderKind::Identity, "Identity", Some(b'y')),
    (HeaderKind::IdentityInfo, "Identity-Info", Some(b'n')),
];

impl HeaderKind {
    /// Recognises a header name, long or compact, in any letter case.
    pub fn from_name(name: &str) -> Option<HeaderKind> {
        if let [c] = name.as_bytes() {
            let c = c.to_ascii_lowercase();
            return TABLE
                .iter()
                .find(|(_, _, compact)| *compact == Some(c))
                .map(|(k, _, _)| *k);
        }
        TABLE
            .iter()
            .find(|(_, long, _)| long.len() == name.len() && long.eq_ignore_ascii_case(name))
            .map(|(k, _, _)| *k)
    }

    /// The long name as RFC 3261 spells it.
    pub fn canonical_name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("", |(_, long, _)| long)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_long_forms() {
        assert_eq!(HeaderKind::from_name("v"), Some(HeaderKind::Via));
        assert_eq!(HeaderKind::from_name("O"), Some(HeaderKind::Event));
        assert_eq!(HeaderKind::from_name("call-id"), Some(HeaderKind::CallId));
        assert_eq!(HeaderKind::from_name("CSEQ"), Some(HeaderKind::CSeq));
        assert_eq!(HeaderKind::from_name("X-Foo"), None);
        assert_eq!(HeaderKind::from_name("q"), None);
        for (k, long, _) in TABLE {
            assert_eq!(k.canonical_name(), *long);
        }
    }
}
