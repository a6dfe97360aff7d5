//! RFC 5423 event names, Cyrus extras, anything else kept verbatim.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest event name accepted (RFC 5423 names are short; `Other` names are bounded).
pub const MAX_EVENT_NAME_LEN: usize = 64;

/// A mail store event type in canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventName {
    /// Delivered by an MDA (RFC 5423 4.1).
    MessageNew,
    /// Appended by a client.
    MessageAppend,
    /// Removed by expiry policy.
    MessageExpire,
    /// Removed by a client.
    MessageExpunge,
    /// Marked \Seen.
    MessageRead,
    /// Marked \Deleted.
    MessageTrash,
    /// Flags or keywords set.
    FlagsSet,
    /// Flags or keywords cleared.
    FlagsClear,
    /// Operation failed on quota.
    QuotaExceed,
    /// Usage fell back under quota.
    QuotaWithin,
    /// Quota changed.
    QuotaChange,
    /// User logged in.
    Login,
    /// User logged out.
    Logout,
    /// Mailbox created.
    MailboxCreate,
    /// Mailbox deleted.
    MailboxDelete,
    /// Mailbox renamed.
    MailboxRename,
    /// Mailbox subscribed.
    MailboxSubscribe,
    /// Mailbox unsubscribed (RFC 5423 spelling).
    MailboxUnSubscribe,
    /// Cyrus `vnd.cmu.MessageCopy`.
    MessageCopy,
    /// Cyrus `vnd.cmu.MessageMove`.
    MessageMove,
    /// Cyrus ACL change.
    AclChange,
    /// Cyrus calalarmd reminder.
    CalendarAlarm,
    /// Cyrus mailbox modseq bump.
    MailboxModseq,
    /// Any other name, as sent (printable ASCII, at most 64 bytes).
    Other(String),
}

const KNOWN: [(&str, EventName); 23] = [
    ("MessageNew", EventName::MessageNew),
    ("MessageAppend", EventName::MessageAppend),
    ("MessageExpire", EventName::MessageExpire),
    ("MessageExpunge", EventName::MessageExpunge),
    ("MessageRead", EventName::MessageRead),
    ("MessageTrash", EventName::MessageTrash),
    ("FlagsSet", EventName::FlagsSet),
    ("FlagsClear", EventName::FlagsClear),
    ("QuotaExceed", EventName::QuotaExceed),
    ("QuotaWithin", EventName::QuotaWithin),
    ("QuotaChange", EventName::QuotaChange),
    ("Login", EventName::Login),
    ("Logout", EventName::Logout),
    ("MailboxCreate", EventName::MailboxCreate),
    ("MailboxDelete", EventName::MailboxDelete),
    ("MailboxRename", EventName::MailboxRename),
    ("MailboxSubscribe", EventName::MailboxSubscribe),
    ("MailboxUnSubscribe", EventName::MailboxUnSubscribe),
    ("MessageCopy", EventName::MessageCopy),
    ("MessageMove", EventName::MessageMove),
    ("AclChange", EventName::AclChange),
    ("CalendarAlarm", EventName::CalendarAlarm),
    ("MailboxModseq", EventName::MailboxModseq),
];

impl EventName {
    /// Map a wire name to an event, ignoring case (Dovecot's ox driver sends `messageNew`);
    /// Cyrus' `vnd.cmu.MessageCopy`/`vnd.cmu.MessageMove` map to the plain variants.
    /// `None` for an empty, over-long or non-printable name.
    pub fn parse(name: &str) -> Option<EventName> {
        if name.is_empty()
            || name.len() > MAX_EVENT_NAME_LEN
            || !name.bytes().all(|b| b.is_ascii_graphic())
        {
            return None;
        }
        let bare = match name.get(..8) {
            Some(p) if p.eq_ignore_ascii_case("vnd.cmu.") => &name[8..],
            _ => name,
        };
        for (canon, ev) in &KNOWN {
            if canon.eq_ignore_ascii_case(name)
                || (matches!(ev, EventName::MessageCopy | EventName::MessageMove)
                    && canon.eq_ignore_ascii_case(bare))
            {
                return Some(ev.clone());
            }
        }
        Some(EventName::Other(name.to_owned()))
    }

    /// Canonical name (`MessageNew`, ...; `Other` as sent).
    pub fn as_str(&self) -> &str {
        if let EventName::Other(s) = self {
            return s;
        }
        KNOWN
            .iter()
            .find(|(_, ev)| ev == self)
            .map_or("", |(name, _)| name)
    }

    /// Events about messages (they carry a UID or UID set).
    pub fn is_message_event(&self) -> bool {
        matches!(
            self,
            EventName::MessageNew
                | EventName::MessageAppend
                | EventName::MessageExpire
                | EventName::MessageExpunge
                | EventName::MessageRead
                | EventName::MessageTrash
                | EventName::FlagsSet
                | EventName::FlagsClear
                | EventName::MessageCopy
                | EventName::MessageMove
        )
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventName::parse(&s).ok_or_else(|| serde::de::Error::custom("invalid event name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_is_case_insensitive_and_canonical() {
        assert_eq!(EventName::parse("messageNew"), Some(EventName::MessageNew));
        assert_eq!(EventName::parse("MESSAGENEW"), Some(EventName::MessageNew));
        assert_eq!(
            EventName::parse("MailboxUnsubscribe"),
            Some(EventName::MailboxUnSubscribe)
        );
        assert_eq!(
            EventName::parse("vnd.cmu.MessageCopy"),
            Some(EventName::MessageCopy)
        );
        assert_eq!(
            EventName::parse("vnd.cmu.MessageMove"),
            Some(EventName::MessageMove)
        );
        assert_eq!(
            EventName::parse("vnd.cmu.Login"),
            Some(EventName::Other("vnd.cmu.Login".into()))
        );
        assert_eq!(
            EventName::parse("ApplePushService"),
            Some(EventName::Other("ApplePushService".into()))
        );
        assert_eq!(EventName::parse(""), None);
        assert_eq!(EventName::parse("Message New"), None);
        assert_eq!(EventName::parse(&"x".repeat(65)), None);
        assert_eq!(EventName::parse("Mëssage"), None);
    }

    #[test]
    fn round_trip_all_known() {
        for (name, ev) in &KNOWN {
            assert_eq!(ev.as_str(), *name);
            assert_eq!(EventName::parse(name).as_ref(), Some(ev));
        }
        assert_eq!(EventName::Other("X".into()).as_str(), "X");
    }
}
