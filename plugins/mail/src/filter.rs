//! Which mail events an instance turns into tocsin events.
//!
//! Known events (RFC 5423 names and the Cyrus extras `tocsin-mailevents` knows) pass when
//! no selection is configured, or when `events` lists them or `event_groups` lists their
//! group. Unknown event names are governed by `unknown_events` alone (or by being listed
//! in `events` by name). Whatever does not pass is answered (2xx, "ignored") and counted,
//! never stored.

use serde::Deserialize;
use std::collections::BTreeSet;
use tocsin_mailevents::EventName;

/// The event groups, named as Cyrus' `event_groups` option names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// MessageNew, MessageAppend, MessageExpire, MessageExpunge, MessageCopy, MessageMove.
    Message,
    /// MessageRead, MessageTrash, FlagsSet, FlagsClear.
    Flags,
    /// QuotaExceed, QuotaWithin, QuotaChange.
    Quota,
    /// Login, Logout.
    Access,
    /// MailboxCreate, MailboxDelete, MailboxRename, AclChange, MailboxModseq.
    Mailbox,
    /// MailboxSubscribe, MailboxUnSubscribe.
    Subscription,
    /// CalendarAlarm.
    Calendar,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Message,
        Group::Flags,
        Group::Quota,
        Group::Access,
        Group::Mailbox,
        Group::Subscription,
        Group::Calendar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Message => "message",
            Group::Flags => "flags",
            Group::Quota => "quota",
            Group::Access => "access",
            Group::Mailbox => "mailbox",
            Group::Subscription => "subscription",
            Group::Calendar => "calendar",
        }
    }

    pub fn parse(s: &str) -> Option<Group> {
        Group::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(s))
    }

    /// The group of a known event; `None` for names this build does not know.
    pub fn of(ev: &EventName) -> Option<Group> {
        use EventName::*;
        Some(match ev {
            MessageNew | MessageAppend | MessageExpire | MessageExpunge | MessageCopy
            | MessageMove => Group::Message,
            MessageRead | MessageTrash | FlagsSet | FlagsClear => Group::Flags,
            QuotaExceed | QuotaWithin | QuotaChange => Group::Quota,
            Login | Logout => Group::Access,
            MailboxCreate | MailboxDelete | MailboxRename | AclChange | MailboxModseq => {
                Group::Mailbox
            }
            MailboxSubscribe | MailboxUnSubscribe => Group::Subscription,
            CalendarAlarm => Group::Calendar,
            Other(_) => return None,
        })
    }
}

/// What to do with event names this build does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownEvents {
    /// Store them as `mail.<Name>` (the name must be usable in a kind).
    #[default]
    Accept,
    /// Answer and count them, store nothing.
    Ignore,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub events: BTreeSet<EventName>,
    pub groups: BTreeSet<Group>,
    pub unknown: UnknownEvents,
}

/// Why an event was not selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// An unknown event name with `unknown_events = "ignore"`.
    Unknown,
    /// A known event outside `events`/`event_groups`.
    NotSelected,
}

impl Skip {
    pub fn reason(self) -> &'static str {
        match self {
            Skip::Unknown => "unknown event name (unknown_events = \"ignore\")",
            Skip::NotSelected => "event not selected by events/event_groups",
        }
    }
}

impl EventFilter {
    pub fn decide(&self, ev: &EventName) -> Result<(), Skip> {
        if self.events.contains(ev) {
            return Ok(());
        }
        match Group::of(ev) {
            None if self.unknown == UnknownEvents::Accept => Ok(()),
            None => Err(Skip::Unknown),
            Some(_) if self.events.is_empty() && self.groups.is_empty() => Ok(()),
            Some(g) if self.groups.contains(&g) => Ok(()),
            Some(_) => Err(Skip::NotSelected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> EventName {
        EventName::parse(s).unwrap()
    }

    #[test]
    fn no_selection_accepts_known_and_follows_unknown_setting() {
        let f = EventFilter::default();
        assert_eq!(f.decide(&ev("MessageNew")), Ok(()));
        assert_eq!(f.decide(&ev("ApplePushService")), Ok(()));
        let f = EventFilter {
            unknown: UnknownEvents::Ignore,
            ..EventFilter::default()
        };
        assert_eq!(f.decide(&ev("FlagsSet")), Ok(()));
        assert_eq!(f.decide(&ev("ApplePushService")), Err(Skip::Unknown));
    }

    #[test]
    fn selection_by_name_and_group() {
        let f = EventFilter {
            events: [ev("MessageRead"), ev("ApplePushService")].into(),
            groups: [Group::Message, Group::Quota].into(),
            unknown: UnknownEvents::Ignore,
        };
        assert_eq!(f.decide(&ev("MessageNew")), Ok(()));
        assert_eq!(f.decide(&ev("vnd.cmu.MessageCopy")), Ok(()));
        assert_eq!(f.decide(&ev("QuotaExceed")), Ok(()));
        assert_eq!(f.decide(&ev("MessageRead")), Ok(()));
        assert_eq!(f.decide(&ev("FlagsSet")), Err(Skip::NotSelected));
        assert_eq!(f.decide(&ev("Login")), Err(Skip::NotSelected));
        // Listed by name: accepted although unknown events are ignored.
        assert_eq!(f.decide(&ev("ApplePushService")), Ok(()));
        assert_eq!(f.decide(&ev("SomethingElse")), Err(Skip::Unknown));
    }

    #[test]
    fn every_known_event_has_a_group() {
        for name in [
            "MessageNew",
            "MessageAppend",
            "MessageExpire",
            "MessageExpunge",
            "MessageRead",
            "MessageTrash",
            "FlagsSet",
            "FlagsClear",
            "QuotaExceed",
            "QuotaWithin",
            "QuotaChange",
            "Login",
            "Logout",
            "MailboxCreate",
            "MailboxDelete",
            "MailboxRename",
            "MailboxSubscribe",
            "MailboxUnSubscribe",
            "MessageCopy",
            "MessageMove",
            "AclChange",
            "CalendarAlarm",
            "MailboxModseq",
        ] {
            assert!(Group::of(&ev(name)).is_some(), "{name}");
        }
        assert_eq!(Group::parse("FLAGS"), Some(Group::Flags));
        assert_eq!(Group::parse("nope"), None);
    }
}
