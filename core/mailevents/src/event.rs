//! The neutral mail event and its idempotency key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::FromAddress;
use crate::event_name::EventName;

/// Which wire format an event came from (part of the idempotency key namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// Dovecot push_notification ox driver (HTTP PUT JSON).
    DovecotOx,
    /// Cyrus IMAP event notification (notifyd datagram).
    CyrusNotify,
    /// tocsin's generic RFC 5423 JSON.
    Generic,
}

impl SourceFormat {
    /// Short stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::DovecotOx => "dovecot-ox",
            SourceFormat::CyrusNotify => "cyrus",
            SourceFormat::Generic => "generic",
        }
    }
}

/// A mail store event in a format-neutral shape. Text fields are UTF-8, decoded,
/// sanitised (no control characters) and bounded by [`crate::ParseLimits`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailEvent {
    /// Wire format of origin.
    pub format: SourceFormat,
    /// RFC 5423 event type.
    pub event: EventName,
    /// The user the event is for (after user mapping, when applied).
    pub user: String,
    /// Mailbox name (Dovecot `folder`, IMAP URL mailbox, generic `mailbox`).
    pub mailbox: Option<String>,
    /// UIDVALIDITY of the mailbox.
    pub uidvalidity: Option<u32>,
    /// UID of the message, for single-message events.
    pub uid: Option<u32>,
    /// IMAP UID set (`1:3,7`) for multi-message events.
    pub uidset: Option<String>,
    /// RFC 4551 modification sequence.
    pub modseq: Option<u64>,
    /// Sender.
    pub from: Option<FromAddress>,
    /// Decoded subject (for Cyrus CalendarAlarm: the event summary).
    pub subject: Option<String>,
    /// Body excerpt, bounded on a character boundary.
    pub snippet: Option<String>,
    /// Unseen messages in the mailbox.
    pub unseen: Option<u32>,
    /// Messages in the mailbox.
    pub messages: Option<u32>,
    /// Message size in octets.
    pub size: Option<u64>,
    /// Server that produced the event (Cyrus `serverFQDN`, URL host, generic
    /// `serverFQDN`/`serverDomain`).
    pub server: Option<String>,
    /// RFC 5423 `uri` as sent.
    pub uri: Option<String>,
    /// When it happened, as sent (normally RFC 3339).
    pub timestamp: Option<String>,
    /// Source-assigned event id (generic `id`).
    pub source_id: Option<String>,
    /// Other parameters as strings (arrays and objects as compact JSON), bounded.
    pub extra: BTreeMap<String, String>,
    /// Whether parameters were dropped or cut to fit the bounds.
    pub extra_truncated: bool,
    /// FNV-1a 64 of the JSON text; last-resort key component for events that carry
    /// nothing else distinctive.
    pub payload_digest: u64,
}

impl MailEvent {
    /// The tocsin event kind: `mail.<EventName>`, e.g. `mail.MessageNew`.
    pub fn kind(&self) -> String {
        format!("mail.{}", self.event)
    }

    /// A stable key that is identical for a retried or repeated notification of the same
    /// occurrence, and different for different occurrences. Rules:
    ///
    /// - **Dovecot ox**: `dovecot-ox`, event, user, uidvalidity, uid. Dovecot's retry
    ///   re-sends the same message identity, so it maps to the same key.
    /// - **Cyrus**, message, flag, quota and mailbox events: `cyrus`, event, `uri` (which
    ///   holds mailbox, UIDVALIDITY and, for MessageNew/Append, the UID), modseq, uidset.
    ///   When none of UID, uidset and modseq is present (Login, Logout, Quota*, Mailbox*),
    ///   `timestamp`, `pid` and `vnd.cmu.sessionId` are added, and the payload digest when
    ///   none of those is there either, so distinct occurrences never merge.
    /// - **Cyrus CalendarAlarm**: `cyrus`, event, user, calendar (`calendarId`, else
    ///   `calendarName`), iCalendar `uid`, `recurrenceId`, `alarmTime`, `action`.
    /// - **Generic**: with an `id`: `generic`, `id`. Otherwise `generic`, event, user,
    ///   mailbox, uidvalidity, uid, uidset, modseq, uri, timestamp; plus the payload digest
    ///   when no UID, uidset, modseq or timestamp identifies the occurrence.
    ///
    /// Components are separated by `:` with `%` and `:` percent-escaped, so no two
    /// different component lists give the same key. The user is the mapped user.
    pub fn idempotency_key(&self) -> String {
        let mut k = KeyBuilder::new(self.format.as_str());
        let n = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_default();
        let extra = |key: &str| self.extra.get(key).map(String::as_str);
        match self.format {
            SourceFormat::DovecotOx => {
                k.push(self.event.as_str());
                k.push(&self.user);
                k.push(&n(self.uidvalidity));
                k.push(&n(self.uid));
            }
            SourceFormat::CyrusNotify if self.event == EventName::CalendarAlarm => {
                k.push(self.event.as_str());
                k.push(&self.user);
                k.push(extra("calendarId").or(extra("calendarName")).unwrap_or(""));
                k.push(extra("uid").unwrap_or(""));
                k.push(extra("recurrenceId").unwrap_or(""));
                k.push(extra("alarmTime").unwrap_or(""));
                k.push(extra("action").unwrap_or(""));
            }
            SourceFormat::CyrusNotify => {
                k.push(self.event.as_str());
                k.push(self.uri.as_deref().unwrap_or(""));
                k.push(&self.modseq.map(|m| m.to_string()).unwrap_or_default());
                k.push(self.uidset.as_deref().unwrap_or(""));
                if !self.identifies_message_state() {
                    let ts = self.timestamp.as_deref();
                    let pid = extra("pid");
                    let session = extra("vnd.cmu.sessionId");
                    k.push(ts.unwrap_or(""));
                    k.push(pid.unwrap_or(""));
                    k.push(session.unwrap_or(""));
                    if ts.is_none() && session.is_none() {
                        k.push(&format!("{:016x}", self.payload_digest));
                    }
                }
            }
            SourceFormat::Generic => {
                if let Some(id) = &self.source_id {
                    k.push("id");
                    k.push(id);
                } else {
                    k.push(self.event.as_str());
                    k.push(&self.user);
                    k.push(self.mailbox.as_deref().unwrap_or(""));
                    k.push(&n(self.uidvalidity));
                    k.push(&n(self.uid));
                    k.push(self.uidset.as_deref().unwrap_or(""));
                    k.push(&self.modseq.map(|m| m.to_string()).unwrap_or_default());
                    k.push(self.uri.as_deref().unwrap_or(""));
                    k.push(self.timestamp.as_deref().unwrap_or(""));
                    if !self.identifies_message_state() && self.timestamp.is_none() {
                        k.push(&format!("{:016x}", self.payload_digest));
                    }
                }
            }
        }
        k.finish()
    }

    /// A UID, UID set or modseq pins down which message state the event is about.
    fn identifies_message_state(&self) -> bool {
        self.uid.is_some() || self.uidset.is_some() || self.modseq.is_some()
    }
}

/// Builds `mail:v1:<format>:<component>:...` with unambiguous escaping.
struct KeyBuilder(String);

impl KeyBuilder {
    fn new(format: &str) -> Self {
        KeyBuilder(format!("mail:v1:{format}"))
    }

    fn push(&mut self, component: &str) {
        self.0.push(':');
        for c in component.chars() {
            match c {
                '%' => self.0.push_str("%25"),
                ':' => self.0.push_str("%3A"),
                c => self.0.push(c),
            }
        }
    }

    fn finish(self) -> String {
        self.0
    }
}

/// FNV-1a, 64 bit: tiny, dependency-free, stable across releases and platforms.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn key_escaping_is_unambiguous() {
        let mut a = KeyBuilder::new("x");
        a.push("a:b");
        a.push("c");
        let mut b = KeyBuilder::new("x");
        b.push("a");
        b.push("b:c");
        assert_ne!(a.finish(), b.finish());
        let mut c = KeyBuilder::new("x");
        c.push("100%:");
        assert_eq!(c.finish(), "mail:v1:x:100%25%3A");
    }
}
