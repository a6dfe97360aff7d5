//! Cyrus IMAP event notifications (mboxevent.c), as received on the notifyd socket.
//!
//! On the wire Cyrus' `notify()` (imap/notify.c) sends one unix datagram of at most 8 KiB:
//!
//! ```text
//! method NUL class NUL priority NUL user NUL mailbox NUL nopt NUL {option NUL} message NUL [fname NUL]
//! ```
//!
//! For store events the class is `EVENT` and the message is one compact JSON object
//! (RFC 5423 names plus `vnd.cmu.*`). A bare JSON object (from a relay or a test) is
//! accepted too. Datagrams larger than 8 KiB are dropped by Cyrus itself.
//!
//! Mapping: `user` (or `userId` for calalarmd events, or the IMAP URL's user) → user;
//! `uri` → mailbox, UIDVALIDITY, UID, server; `vnd.cmu.unseenMessages` → unseen;
//! `messageSize` → size; `serverFQDN` → server; From/Subject from `messageContent`
//! headers or `vnd.cmu.envelope` (both then dropped: they are large); CalendarAlarm
//! `summary` → subject. Everything else goes to `extra` (`uid` of a CalendarAlarm is the
//! iCalendar UID, a string, and stays there).

use crate::error::ParseError;
use crate::event::{MailEvent, SourceFormat, fnv1a64};
use crate::event_name::EventName;
use crate::json_fields::{Fields, parse_object};
use crate::limits::ParseLimits;
use crate::parse_common::{display_fields, event_field, subject, url_field};

/// Parameters the idempotency key may use: never dropped by the `extra` count limit.
const KEY_PARAMS: [&str; 8] = [
    "pid",
    "vnd.cmu.sessionId",
    "calendarId",
    "calendarName",
    "uid",
    "recurrenceId",
    "alarmTime",
    "action",
];

/// Longest option count accepted in the datagram framing.
const MAX_OPTIONS: usize = 64;

/// Parse one notifyd datagram (or a bare Cyrus JSON event).
pub fn parse_cyrus_notify(datagram: &[u8], limits: &ParseLimits) -> Result<MailEvent, ParseError> {
    if datagram.len() > limits.max_body_bytes {
        return Err(ParseError::BodyTooLarge {
            size: datagram.len(),
            limit: limits.max_body_bytes,
        });
    }
    let json = notifyd_message(datagram)?;
    let mut f = parse_object(json, limits)?;
    let event = event_field(&mut f)?;
    let (uri, url) = url_field(&mut f, "uri", limits)?;
    let url = url.unwrap_or_default();
    let user = match non_empty(&mut f, "user", limits)? {
        Some(u) => Some(u),
        None => non_empty(&mut f, "userId", limits)?,
    }
    .or(url.user.clone())
    .ok_or_else(|| ParseError::MissingField("user".to_owned()))?;
    if user.len() > limits.max_user_bytes {
        return Err(ParseError::FieldTooLong {
            field: "user".to_owned(),
            len: user.len(),
            limit: limits.max_user_bytes,
        });
    }
    let modseq = f.u64_opt("modseq")?;
    let uidset = f.ident_opt("uidset", limits.max_ident_bytes)?;
    let messages = f.u32_opt("messages")?;
    let unseen = f.u32_opt("vnd.cmu.unseenMessages")?;
    let size = f.u64_opt("messageSize")?;
    let timestamp = f.ident_opt("timestamp", limits.max_ident_bytes)?;
    let server = f.ident_opt("serverFQDN", limits.max_ident_bytes)?;
    let mut display = display_fields(&mut f, limits, false)?;
    if event == EventName::CalendarAlarm {
        if let Some(summary) = f.str_opt("summary")? {
            display.subject = Some(subject(&summary, limits));
        }
    }
    let (extra, extra_truncated) = f.into_extra(limits, &KEY_PARAMS);
    Ok(MailEvent {
        format: SourceFormat::CyrusNotify,
        event,
        user,
        mailbox: url.mailbox,
        uidvalidity: url.uidvalidity,
        uid: url.uid,
        uidset,
        modseq,
        from: display.from,
        subject: display.subject,
        snippet: None,
        unseen,
        messages,
        size,
        server: server.or((!url.host.is_empty()).then_some(url.host)),
        uri,
        timestamp,
        source_id: None,
        extra,
        extra_truncated,
        payload_digest: fnv1a64(json),
    })
}

/// A user field where Cyrus' empty string (`xstrdupsafe(NULL)`) means "absent".
fn non_empty(
    f: &mut Fields,
    key: &str,
    limits: &ParseLimits,
) -> Result<Option<String>, ParseError> {
    let v = f.str_opt(key)?.filter(|s| !s.is_empty());
    if let Some(s) = &v {
        if s.len() > limits.max_user_bytes {
            return Err(ParseError::FieldTooLong {
                field: key.to_owned(),
                len: s.len(),
                limit: limits.max_user_bytes,
            });
        }
    }
    Ok(v)
}

/// The JSON message inside a notifyd datagram (see the module docs for the framing).
fn notifyd_message(d: &[u8]) -> Result<&[u8], ParseError> {
    if d.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(d);
    }
    let mut parts = d.split(|&b| b == 0);
    let _method = parts.next();
    let class = parts.next().ok_or(ParseError::BadDatagram("no class"))?;
    let _priority = parts.next().ok_or(ParseError::BadDatagram("no priority"))?;
    let _user = parts.next().ok_or(ParseError::BadDatagram("no user"))?;
    let _mailbox = parts.next().ok_or(ParseError::BadDatagram("no mailbox"))?;
    let nopt = parts
        .next()
        .ok_or(ParseError::BadDatagram("no option count"))?;
    if !class.eq_ignore_ascii_case(b"EVENT") {
        let shown = String::from_utf8_lossy(&class[..class.len().min(32)]).into_owned();
        return Err(ParseError::UnsupportedClass(shown));
    }
    let nopt = std::str::from_utf8(nopt)
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n <= MAX_OPTIONS)
        .ok_or(ParseError::BadDatagram("bad option count"))?;
    for _ in 0..nopt {
        parts
            .next()
            .ok_or(ParseError::BadDatagram("missing option"))?;
    }
    parts.next().ok_or(ParseError::BadDatagram("no message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        let json = br#"{"event":"Login","user":"u","uri":"imap://h/"}"#;
        let mut d = b"external\0EVENT\0\0\0\x002\0opt1\0opt2\0".to_vec();
        d.extend_from_slice(json);
        d.extend_from_slice(b"\0/path/file\0");
        assert_eq!(notifyd_message(&d).unwrap(), json);
        let mut d = b"\0event\0\0\0\x000\0".to_vec();
        d.extend_from_slice(json);
        assert_eq!(notifyd_message(&d).unwrap(), json);
        assert_eq!(notifyd_message(b"  {}").unwrap(), b"  {}");
        assert_eq!(
            notifyd_message(b"log\0MAIL\0\0u\0INBOX\x000\0From: x\0"),
            Err(ParseError::UnsupportedClass("MAIL".into()))
        );
        for bad in [
            &b""[..],
            b"only",
            b"m\0EVENT\0p\0u",
            b"m\0EVENT\0p\0u\0mb\0x\0{}\0",
            b"m\0EVENT\0p\0u\0mb\0-1\0{}\0",
            b"m\0EVENT\0p\0u\0mb\x00999\0{}\0",
            b"m\0EVENT\0p\0u\0mb\x002\0a\0",
            b"m\0EVENT\0p\0u\0mb\x000",
        ] {
            assert!(
                matches!(notifyd_message(bad), Err(ParseError::BadDatagram(_))),
                "{bad:?}"
            );
        }
    }
}
