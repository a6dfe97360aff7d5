//! The path every notification takes, whatever carried it: parse, key, map the user,
//! filter, build the event. Pure: no host calls, so it is tested without a daemon.

use crate::config::Settings;
use crate::filter::Skip;
use crate::key::bounded_key;
use crate::mapping::{MapError, to_event};
use thiserror::Error;
use tocsin_mailevents::{MailEventParser, ParseError, SourceFormat, UserMap};
use tocsin_sdk::EventOut;

/// What to do with one notification.
#[derive(Debug)]
pub enum Prepared {
    /// Emit this event.
    Emit(Box<EventOut>),
    /// Answer positively and store nothing (filtered out).
    Ignored { event: String, skip: Skip },
}

/// Why a notification was refused.
#[derive(Debug, Error)]
pub enum Refusal {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Map(#[from] MapError),
}

impl Refusal {
    /// A short stable code for logs and the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Parse(e) => match e {
                ParseError::BodyTooLarge { .. } => "body_too_large",
                ParseError::InvalidUtf8 { .. } => "invalid_utf8",
                ParseError::InvalidJson { .. } => "invalid_json",
                ParseError::NotAnObject => "not_an_object",
                ParseError::DuplicateField(_) => "duplicate_field",
                ParseError::MissingField(_) => "missing_field",
                ParseError::InvalidField { .. } => "invalid_field",
                ParseError::FieldTooLong { .. } => "field_too_long",
                ParseError::BadDatagram(_) => "bad_datagram",
                ParseError::UnsupportedClass(_) => "unsupported_class",
                ParseError::UserMap(_) => "user_mapping",
            },
            Refusal::Map(MapError::BadKind(_)) => "bad_event_name",
            Refusal::Map(MapError::ControlCharacter { .. }) => "control_character",
            Refusal::Map(MapError::Invalid(_)) => "invalid_event",
        }
    }

    /// The field at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Refusal::Parse(e) => e.field(),
            Refusal::Map(e) => e.field(),
        }
    }

    /// The HTTP status: 413 for size, 400 for everything the sender got wrong.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Parse(ParseError::BodyTooLarge { .. }) => 413,
            _ => 400,
        }
    }
}

/// Parse `bytes` as `format` and turn it into an event (or an ignore decision).
///
/// The idempotency key is computed from the user *as the store sent it*: two store users
/// that map to the same tocsin user (`strip-domain` on `alice@a` and `alice@b`) must not
/// make each other's notifications look like duplicates.
pub fn prepare(
    settings: &Settings,
    format: SourceFormat,
    bytes: &[u8],
) -> Result<Prepared, Refusal> {
    let parser = MailEventParser::new(settings.parse_limits.clone(), UserMap::default());
    let mut ev = parser.parse(format, bytes)?;
    let key = bounded_key(ev.idempotency_key());
    let store_user = std::mem::take(&mut ev.user);
    ev.user = settings
        .user_map
        .apply(&store_user, settings.parse_limits.max_user_bytes)
        .map_err(ParseError::from)?;
    if let Err(skip) = settings.filter.decide(&ev.event) {
        return Ok(Prepared::Ignored {
            event: ev.event.to_string(),
            skip,
        });
    }
    let out = to_event(settings, &ev, &store_user, key)?;
    Ok(Prepared::Emit(Box::new(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_abi::Priority;

    fn settings(extra: &str) -> Settings {
        Settings::parse(&format!(
            "http_listen = \"127.0.0.1:0\"\nallow_unauthenticated = true\n{extra}"
        ))
        .unwrap()
    }

    fn emit(s: &Settings, f: SourceFormat, body: &str) -> EventOut {
        match prepare(s, f, body.as_bytes()) {
            Ok(Prepared::Emit(e)) => *e,
            other => panic!("{other:?}"),
        }
    }

    const OX: &str = r#"{"user":"alice@example.org","event":"messageNew","folder":"INBOX","imap-uidvalidity":1732240080,"imap-uid":42,"from":"=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>","subject":"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=","snippet":"Hallo Alice, wie geht es dir?","unseen":3}"#;

    #[test]
    fn dovecot_new_mail() {
        let s = settings("user_map = [\"strip-domain\"]\npriority = { MessageNew = \"high\" }\n");
        let e = emit(&s, SourceFormat::DovecotOx, OX);
        assert_eq!(e.kind, "mail.MessageNew");
        assert_eq!(e.user, "alice");
        assert_eq!(
            e.source_event_id, "mail:v1:dovecot-ox:MessageNew:alice@example.org:1732240080:42",
            "keyed on the store user"
        );
        assert_eq!(e.summary, "New mail from Jörg Müller: Grüße aus Köln");
        assert_eq!(e.body, "Hallo Alice, wie geht es dir?");
        assert_eq!(e.priority, Priority::High);
        let a = &e.attributes;
        assert_eq!(a["folder"], "INBOX");
        assert_eq!(a["uid"], "42");
        assert_eq!(a["uidvalidity"], "1732240080");
        assert_eq!(a["from"], "Jörg Müller <jm@example.de>");
        assert_eq!(a["from_name"], "Jörg Müller");
        assert_eq!(a["from_address"], "jm@example.de");
        assert_eq!(a["subject"], "Grüße aus Köln");
        assert_eq!(a["unseen"], "3");
        assert_eq!(a["store_user"], "alice@example.org");
        assert_eq!(a["format"], "dovecot-ox");
        // A retry is the same key.
        assert_eq!(
            emit(&s, SourceFormat::DovecotOx, OX).source_event_id,
            e.source_event_id
        );
    }

    #[test]
    fn snippet_is_bounded_and_templates_apply() {
        let s = settings(
            "snippet_bytes = 5\nsummary = { MessageNew = \"{unseen} unread, latest: {subject}\" }\n",
        );
        let e = emit(&s, SourceFormat::DovecotOx, OX);
        assert_eq!(e.body, "Hallo");
        assert_eq!(e.summary, "3 unread, latest: Grüße aus Köln");
        let minimal = r#"{"user":"u","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":2}"#;
        let s = settings("");
        let e = emit(&s, SourceFormat::DovecotOx, minimal);
        assert_eq!(e.summary, "New mail from unknown sender: (no subject)");
        assert_eq!(e.body, "");
        assert!(!e.attributes.contains_key("from"));
    }

    #[test]
    fn cyrus_and_generic() {
        let s = settings("");
        let cyrus = b"\0EVENT\0\0\0\x000\0{\"event\":\"MessageRead\",\"uri\":\"imap://bob@h/INBOX;UIDVALIDITY=5\",\"uidset\":\"1:3\",\"modseq\":7,\"vnd.cmu.sessionId\":\"s1\",\"user\":\"bob\"}\0";
        let e = match prepare(&s, SourceFormat::CyrusNotify, cyrus) {
            Ok(Prepared::Emit(e)) => *e,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.kind, "mail.MessageRead");
        assert_eq!(e.summary, "Messages read in INBOX");
        assert_eq!(e.attributes["uidset"], "1:3");
        assert_eq!(e.attributes["extra.vnd.cmu.sessionId"], "s1");
        assert_eq!(e.origin_host, "h");
        let g = emit(
            &s,
            SourceFormat::Generic,
            r#"{"event":"QuotaExceed","user":"carol","id":"q-1","diskUsed":5}"#,
        );
        assert_eq!(g.kind, "mail.QuotaExceed");
        assert_eq!(g.source_event_id, "mail:v1:generic:id:q-1");
        assert_eq!(g.summary, "Mailbox quota exceeded for carol");
        assert_eq!(g.attributes["extra.diskUsed"], "5");
    }

    #[test]
    fn filters_and_unknown_events() {
        let body = r#"{"event":"ApplePushService","user":"u","id":"1"}"#;
        let s = settings("unknown_events = \"ignore\"\n");
        assert!(matches!(
            prepare(&s, SourceFormat::Generic, body.as_bytes()),
            Ok(Prepared::Ignored {
                skip: Skip::Unknown,
                ..
            })
        ));
        let s = settings("");
        assert_eq!(
            emit(&s, SourceFormat::Generic, body).kind,
            "mail.ApplePushService"
        );
        let s = settings("event_groups = [\"quota\"]\n");
        assert!(matches!(
            prepare(&s, SourceFormat::DovecotOx, OX.as_bytes()),
            Ok(Prepared::Ignored {
                skip: Skip::NotSelected,
                ..
            })
        ));
        // An accepted unknown name that cannot be a kind segment is refused, not a crash.
        let odd = r#"{"event":"Foo$Bar","user":"u","id":"1"}"#;
        let r = prepare(&settings(""), SourceFormat::Generic, odd.as_bytes()).unwrap_err();
        assert_eq!(r.code(), "bad_event_name");
        assert_eq!(r.field(), Some("event"));
    }

    #[test]
    fn refusals_name_the_field() {
        let s = settings("");
        let cases: [(&[u8], &str, Option<&str>, u16); 6] = [
            (b"{\"user\":\"u\",\"event\":\"messageNew\",\"folder\":\"INBOX\",\"imap-uidvalidity\":1}", "missing_field", Some("imap-uid"), 400),
            (b"{not json", "invalid_json", None, 400),
            (b"{\"user\":\"\xff\"}", "invalid_utf8", None, 400),
            (b"[1]", "not_an_object", None, 400),
            (b"{\"user\":\"a\\u0001b\",\"event\":\"messageNew\",\"folder\":\"INBOX\",\"imap-uidvalidity\":1,\"imap-uid\":1}", "user_mapping", Some("user"), 400),
            (b"{\"user\":\"u\",\"event\":\"messageNew\",\"folder\":\"IN\\u0007BOX\",\"imap-uidvalidity\":1,\"imap-uid\":1}", "control_character", Some("folder"), 400),
        ];
        for (body, code, field, status) in cases {
            let r = prepare(&s, SourceFormat::DovecotOx, body).unwrap_err();
            assert_eq!(r.code(), code, "{r}");
            assert_eq!(r.field(), field, "{r}");
            assert_eq!(r.status(), status);
        }
        let big = format!("{{\"user\":\"{}\"}}", "x".repeat(70_000));
        let r = prepare(&s, SourceFormat::DovecotOx, big.as_bytes()).unwrap_err();
        assert_eq!(r.status(), 413);
    }

    #[test]
    fn long_store_users_still_give_valid_keys() {
        let user = format!("{}@example.org", "u".repeat(240));
        let body = format!(
            r#"{{"user":"{user}","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":2}}"#
        );
        let s = settings("user_map = [\"strip-domain\"]\n");
        let e = emit(&s, SourceFormat::DovecotOx, &body);
        assert!(e.source_event_id.len() <= 256);
        assert_eq!(e.user, "u".repeat(240));
    }
}
