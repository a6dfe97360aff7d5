//! The three formats with the exact field names their producers use.

use tocsin_mailevents::{
    EventName, MailEventParser, ParseError, ParseLimits, SourceFormat, UserMap, parse_cyrus_notify,
    parse_dovecot_ox, parse_generic,
};

fn limits() -> ParseLimits {
    ParseLimits::default()
}

/// A body exactly as Dovecot 2.3's ox driver writes it (field order, no spaces).
const OX: &str = r#"{"user":"alice@example.org","event":"messageNew","folder":"INBOX","imap-uidvalidity":1732240080,"imap-uid":42,"from":"=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>","subject":"=?ISO-8859-1?Q?Gr=FC=DFe?= aus =?UTF-8?B?S8O2bG4=?=","snippet":"Hallo Alice, wie geht's?","unseen":3}"#;

#[test]
fn dovecot_ox_full_body() {
    let ev = parse_dovecot_ox(OX.as_bytes(), &limits()).unwrap();
    assert_eq!(ev.format, SourceFormat::DovecotOx);
    assert_eq!(ev.event, EventName::MessageNew);
    assert_eq!(ev.kind(), "mail.MessageNew");
    assert_eq!(ev.user, "alice@example.org");
    assert_eq!(ev.mailbox.as_deref(), Some("INBOX"));
    assert_eq!(ev.uidvalidity, Some(1_732_240_080));
    assert_eq!(ev.uid, Some(42));
    let from = ev.from.as_ref().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("Jörg Müller"));
    assert_eq!(from.address.as_deref(), Some("jm@example.de"));
    assert_eq!(ev.subject.as_deref(), Some("Grüße aus Köln"));
    assert_eq!(ev.snippet.as_deref(), Some("Hallo Alice, wie geht's?"));
    assert_eq!(ev.unseen, Some(3));
    assert!(ev.extra.is_empty());
    assert_eq!(
        ev.idempotency_key(),
        "mail:v1:dovecot-ox:MessageNew:alice@example.org:1732240080:42"
    );
}

#[test]
fn dovecot_minimal_body_and_numeric_strings() {
    let body = r#"{"user":"bob","event":"MessageNew","folder":"INBOX","imap-uidvalidity":"1700000000","imap-uid":"7"}"#;
    let ev = parse_dovecot_ox(body.as_bytes(), &limits()).unwrap();
    assert_eq!(ev.uid, Some(7));
    assert_eq!(ev.uidvalidity, Some(1_700_000_000));
    assert!(ev.from.is_none() && ev.subject.is_none() && ev.snippet.is_none());
    assert_eq!(ev.unseen, None);
}

#[test]
fn dovecot_retry_has_the_same_key() {
    let first = parse_dovecot_ox(OX.as_bytes(), &limits()).unwrap();
    let retry = parse_dovecot_ox(OX.as_bytes(), &limits()).unwrap();
    assert_eq!(first.idempotency_key(), retry.idempotency_key());
    // Same message, different unseen count and spacing: still the same occurrence.
    let reformatted = OX
        .replace("\"unseen\":3", "\"unseen\" : 4")
        .replace(',', ", ");
    let again = parse_dovecot_ox(reformatted.as_bytes(), &limits()).unwrap();
    assert_eq!(first.idempotency_key(), again.idempotency_key());
    // Another UID is another event.
    let other = parse_dovecot_ox(OX.replace(":42,", ":43,").as_bytes(), &limits()).unwrap();
    assert_ne!(first.idempotency_key(), other.idempotency_key());
}

#[test]
fn dovecot_errors_name_the_field() {
    let cases: [(&str, &str); 9] = [
        (
            r#"{"event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1}"#,
            r#"missing field "user""#,
        ),
        (
            r#"{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":1}"#,
            r#"missing field "imap-uid""#,
        ),
        (
            r#"{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":4294967296}"#,
            r#"field "imap-uid" must be a non-zero unsigned 32-bit integer"#,
        ),
        (
            r#"{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":-5}"#,
            r#"field "imap-uid" must be a non-zero unsigned 32-bit integer"#,
        ),
        (
            r#"{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":"x","imap-uid":1}"#,
            r#"field "imap-uidvalidity" must be a non-zero unsigned 32-bit integer"#,
        ),
        (
            r#"{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1,"unseen":-1}"#,
            r#"field "unseen" must be an unsigned 32-bit integer"#,
        ),
        (
            r#"{"user":42,"event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1}"#,
            r#"field "user" must be a string"#,
        ),
        (
            r#"{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1,"subject":["x"]}"#,
            r#"field "subject" must be a string"#,
        ),
        (
            r#"{"user":"a","event":"message new","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1}"#,
            r#"field "event" must be an event name of printable ASCII"#,
        ),
    ];
    for (body, msg) in cases {
        let err = parse_dovecot_ox(body.as_bytes(), &limits()).unwrap_err();
        assert_eq!(err.to_string(), msg, "{body}");
    }
    let err = parse_dovecot_ox(b"{\"user\":\"\xc3\"}", &limits()).unwrap_err();
    assert_eq!(err, ParseError::InvalidUtf8 { offset: 9 });
    assert_eq!(err.to_string(), "invalid UTF-8 at byte 9");
    assert!(matches!(
        parse_dovecot_ox(b"{\"user\":", &limits()),
        Err(ParseError::InvalidJson { .. })
    ));
    let small = ParseLimits {
        max_body_bytes: 10,
        ..limits()
    };
    assert_eq!(
        parse_dovecot_ox(OX.as_bytes(), &small)
            .unwrap_err()
            .to_string(),
        format!("body too large: {} bytes (limit 10)", OX.len())
    );
}

#[test]
fn dovecot_snippet_is_bounded() {
    let long = "ä".repeat(1000);
    let body = format!(
        r#"{{"user":"a","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1,"snippet":"{long}"}}"#
    );
    let lim = ParseLimits {
        snippet_bytes: 101,
        ..limits()
    };
    let ev = parse_dovecot_ox(body.as_bytes(), &lim).unwrap();
    assert_eq!(ev.snippet.unwrap(), "ä".repeat(50));
}

/// A Cyrus 3.x MessageNew datagram as notifyd receives it.
fn cyrus_datagram(json: &str) -> Vec<u8> {
    let mut d = b"external\0EVENT\0\0\0\0".to_vec();
    d.extend_from_slice(b"0\0");
    d.extend_from_slice(json.as_bytes());
    d.push(0);
    d
}

const CYRUS_NEW: &str = r#"{"event":"MessageNew","timestamp":"2014-10-20T13:34:14.966+02:00","service":"lmtpunix","uri":"imap://john.doe@example.org@kolab.example.org/INBOX;UIDVALIDITY=1411487714/;UID=6","pid":2340,"user":"john.doe@example.org","messages":6,"vnd.cmu.unseenMessages":3,"uidnext":7,"modseq":20,"messageSize":976,"vnd.cmu.midset":["<a8486f5db6ec207de9b9f069850546ee@example.org>"],"vnd.cmu.sessionId":"kolab.example.org-2340-1413804854-1","serverFQDN":"kolab.example.org","messageContent":"Return-Path: <t@example.org>\r\nFrom: =?ISO-8859-1?Q?Br=FCederli=2C_Thomas?= <t@example.org>\r\nSubject: Meeting\r\n moved\r\n\r\nbody"}"#;

#[test]
fn cyrus_message_new() {
    let ev = parse_cyrus_notify(&cyrus_datagram(CYRUS_NEW), &limits()).unwrap();
    assert_eq!(ev.format, SourceFormat::CyrusNotify);
    assert_eq!(ev.event, EventName::MessageNew);
    assert_eq!(ev.user, "john.doe@example.org");
    assert_eq!(ev.mailbox.as_deref(), Some("INBOX"));
    assert_eq!(ev.uidvalidity, Some(1_411_487_714));
    assert_eq!(ev.uid, Some(6));
    assert_eq!(ev.modseq, Some(20));
    assert_eq!(ev.messages, Some(6));
    assert_eq!(ev.unseen, Some(3));
    assert_eq!(ev.size, Some(976));
    assert_eq!(ev.server.as_deref(), Some("kolab.example.org"));
    assert_eq!(
        ev.timestamp.as_deref(),
        Some("2014-10-20T13:34:14.966+02:00")
    );
    let from = ev.from.as_ref().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("Brüederli, Thomas"));
    assert_eq!(from.address.as_deref(), Some("t@example.org"));
    assert_eq!(ev.subject.as_deref(), Some("Meeting moved"));
    assert_eq!(ev.extra["service"], "lmtpunix");
    assert_eq!(ev.extra["uidnext"], "7");
    assert_eq!(
        ev.extra["vnd.cmu.midset"],
        r#"["<a8486f5db6ec207de9b9f069850546ee@example.org>"]"#
    );
    assert!(!ev.extra.contains_key("messageContent"));
    assert_eq!(
        ev.idempotency_key(),
        "mail:v1:cyrus:MessageNew:imap%3A//john.doe@example.org@kolab.example.org/INBOX;UIDVALIDITY=1411487714/;UID=6:20:"
    );
    // The bare JSON (relayed without framing) gives the same event.
    let bare = parse_cyrus_notify(CYRUS_NEW.as_bytes(), &limits()).unwrap();
    assert_eq!(bare, ev);
}

#[test]
fn cyrus_message_read_with_uidset() {
    let json = r#"{"event":"MessageRead","timestamp":"2024-05-01T10:00:00.000+00:00","uri":"imap://mail.example.org/user/alice;UIDVALIDITY=1650000000","pid":99,"user":"alice","uidset":"3:5,9","vnd.cmu.unseenMessages":1}"#;
    let ev = parse_cyrus_notify(&cyrus_datagram(json), &limits()).unwrap();
    assert_eq!(ev.event, EventName::MessageRead);
    assert_eq!(ev.mailbox.as_deref(), Some("user/alice"));
    assert_eq!(ev.uid, None);
    assert_eq!(ev.uidset.as_deref(), Some("3:5,9"));
    assert_eq!(ev.unseen, Some(1));
    assert_eq!(ev.server.as_deref(), Some("mail.example.org"));
    // Reading the same messages again later is a new occurrence only through modseq;
    // without it, uri+uidset identify it (the brief's rule for Cyrus).
    assert!(ev.idempotency_key().ends_with(":3%3A5,9"));
}

#[test]
fn cyrus_quota_exceed_keys_distinct_occurrences() {
    let json = |ts: &str| {
        format!(
            r#"{{"event":"QuotaExceed","timestamp":"{ts}","uri":"imap://mail.example.org/user/alice","pid":7,"user":"alice","diskQuota":1024,"diskUsed":1030,"maxMessages":0,"messages":12}}"#
        )
    };
    let a = parse_cyrus_notify(&cyrus_datagram(&json("2024-05-01T10:00:00Z")), &limits()).unwrap();
    let b = parse_cyrus_notify(&cyrus_datagram(&json("2024-05-01T11:00:00Z")), &limits()).unwrap();
    assert_eq!(a.event, EventName::QuotaExceed);
    assert_eq!(a.kind(), "mail.QuotaExceed");
    assert_eq!(a.extra["diskQuota"], "1024");
    assert_ne!(a.idempotency_key(), b.idempotency_key());
    let a2 = parse_cyrus_notify(&cyrus_datagram(&json("2024-05-01T10:00:00Z")), &limits()).unwrap();
    assert_eq!(a.idempotency_key(), a2.idempotency_key());
}

#[test]
fn cyrus_calendar_alarm() {
    let json = r#"{"event":"CalendarAlarm","alarmTime":"20250310T084500Z","alarmRecipients":["alice@example.org"],"userId":"alice","calendarId":"Default","calendarName":"Personal","uid":"4f1c6a4e-0b8a-4c1e-9d6e-1f6a2f0e1b2c","recurrenceId":"","action":"display","summary":"Dentist =?UTF-8?Q?=F0=9F=A6=B7?=","description":"Bring card","location":"Main St 1","timezone":"Europe/Berlin","start":"20250310T100000","end":"20250310T103000","allDay":0,"attendeeNames":[],"attendeeEmails":[],"attendeeStatus":[],"organizer":"","serverFQDN":"cal.example.org"}"#;
    let ev = parse_cyrus_notify(&cyrus_datagram(json), &limits()).unwrap();
    assert_eq!(ev.event, EventName::CalendarAlarm);
    assert_eq!(ev.user, "alice");
    assert_eq!(ev.subject.as_deref(), Some("Dentist 🦷"));
    assert_eq!(ev.uid, None, "the iCalendar uid is not an IMAP UID");
    assert_eq!(ev.extra["uid"], "4f1c6a4e-0b8a-4c1e-9d6e-1f6a2f0e1b2c");
    assert_eq!(ev.extra["alarmTime"], "20250310T084500Z");
    assert_eq!(ev.extra["alarmRecipients"], r#"["alice@example.org"]"#);
    assert_eq!(ev.server.as_deref(), Some("cal.example.org"));
    assert_eq!(
        ev.idempotency_key(),
        "mail:v1:cyrus:CalendarAlarm:alice:Default:4f1c6a4e-0b8a-4c1e-9d6e-1f6a2f0e1b2c::20250310T084500Z:display"
    );
}

#[test]
fn cyrus_envelope_gives_from_and_subject() {
    let json = r#"{"event":"MessageAppend","uri":"imap://h/INBOX;UIDVALIDITY=5/;UID=9","user":"u","vnd.cmu.envelope":"(\"Mon, 20 Oct 2014 13:10:59 +0200\" \"=?UTF-8?B?SGVsbG8=?=\" ((\"Bob B.\" NIL \"bob\" \"example.net\")) NIL NIL NIL NIL NIL NIL NIL)"}"#;
    let ev = parse_cyrus_notify(&cyrus_datagram(json), &limits()).unwrap();
    assert_eq!(ev.event, EventName::MessageAppend);
    assert_eq!(ev.subject.as_deref(), Some("Hello"));
    let from = ev.from.unwrap();
    assert_eq!(from.display_name.as_deref(), Some("Bob B."));
    assert_eq!(from.address.as_deref(), Some("bob@example.net"));
    assert!(!ev.extra.contains_key("vnd.cmu.envelope"));
}

#[test]
fn cyrus_copy_move_names_and_user_fallbacks() {
    let json = r#"{"event":"vnd.cmu.MessageMove","uri":"imap://carol@h/Archive;UIDVALIDITY=5","oldMailboxID":"imap://carol@h/INBOX;UIDVALIDITY=4","uidset":"1:2","vnd.cmu.oldUidset":"10:11","user":""}"#;
    let ev = parse_cyrus_notify(&cyrus_datagram(json), &limits()).unwrap();
    assert_eq!(ev.event, EventName::MessageMove);
    assert_eq!(ev.user, "carol", "empty user falls back to the URL's user");
    assert_eq!(ev.extra["vnd.cmu.oldUidset"], "10:11");
    let json = r#"{"event":"Logout","uri":"imap://h/"}"#;
    assert_eq!(
        parse_cyrus_notify(&cyrus_datagram(json), &limits()).unwrap_err(),
        ParseError::MissingField("user".into())
    );
}

#[test]
fn cyrus_framing_errors() {
    assert!(matches!(
        parse_cyrus_notify(b"log\0MAIL\0\0u\0INBOX\x000\0From: x\0", &limits()),
        Err(ParseError::UnsupportedClass(_))
    ));
    assert!(matches!(
        parse_cyrus_notify(b"log\0EVENT\0", &limits()),
        Err(ParseError::BadDatagram(_))
    ));
    let bad_uri = r#"{"event":"MessageNew","uri":"http://x/","user":"u"}"#;
    assert_eq!(
        parse_cyrus_notify(&cyrus_datagram(bad_uri), &limits())
            .unwrap_err()
            .to_string(),
        r#"field "uri" must be an IMAP URL (RFC 5092)"#
    );
}

#[test]
fn generic_shape() {
    let body = r#"{"event":"messagenew","user":"alice@example.org","uri":"imap://alice@mail.example.org/INBOX;UIDVALIDITY=1700000000/;UID=42","from":"Bob <bob@example.net>","subject":"=?UTF-8?Q?Caf=C3=A9?=","snippet":"see you","unseen":"2","messageSize":2048,"timestamp":"2025-11-22T02:08:00Z","flagNames":"\\Seen"}"#;
    let ev = parse_generic(body.as_bytes(), &limits()).unwrap();
    assert_eq!(ev.format, SourceFormat::Generic);
    assert_eq!(ev.event, EventName::MessageNew);
    assert_eq!(ev.mailbox.as_deref(), Some("INBOX"));
    assert_eq!(ev.uidvalidity, Some(1_700_000_000));
    assert_eq!(ev.uid, Some(42));
    assert_eq!(ev.subject.as_deref(), Some("Café"));
    assert_eq!(ev.unseen, Some(2));
    assert_eq!(ev.size, Some(2048));
    assert_eq!(ev.server.as_deref(), Some("mail.example.org"));
    assert_eq!(ev.extra["flagNames"], "\\Seen");
    // Explicit fields win over the URI.
    let body2 = r#"{"event":"MessageNew","user":"u","uri":"imap://h/INBOX;UIDVALIDITY=1/;UID=2","mailbox":"Other","uid":3}"#;
    let ev2 = parse_generic(body2.as_bytes(), &limits()).unwrap();
    assert_eq!((ev2.mailbox.as_deref(), ev2.uid), (Some("Other"), Some(3)));
    // A source id is the whole key.
    let body3 = r#"{"event":"Login","user":"u","id":"mta1:4711"}"#;
    let ev3 = parse_generic(body3.as_bytes(), &limits()).unwrap();
    assert_eq!(ev3.idempotency_key(), "mail:v1:generic:id:mta1%3A4711");
    assert_eq!(ev3.kind(), "mail.Login");
}

#[test]
fn generic_requires_event_and_user() {
    assert_eq!(
        parse_generic(br#"{"user":"u"}"#, &limits()).unwrap_err(),
        ParseError::MissingField("event".into())
    );
    assert_eq!(
        parse_generic(br#"{"event":"Login"}"#, &limits()).unwrap_err(),
        ParseError::MissingField("user".into())
    );
    assert_eq!(
        parse_generic(br#"{"event":"Login","user":"u","user":"v"}"#, &limits()).unwrap_err(),
        ParseError::DuplicateField("user".into())
    );
}

#[test]
fn parser_applies_user_mapping() {
    let map = UserMap::parse(["lowercase", "map *@example.org {local}"]).unwrap();
    let p = MailEventParser::new(ParseLimits::default(), map);
    let body = OX.replace("alice@example.org", "Alice@Example.org");
    let ev = p.dovecot_ox(body.as_bytes()).unwrap();
    assert_eq!(ev.user, "alice");
    assert_eq!(
        ev.idempotency_key(),
        "mail:v1:dovecot-ox:MessageNew:alice:1732240080:42"
    );
    let strip = MailEventParser::new(
        ParseLimits::default(),
        UserMap::parse(["strip-domain"]).unwrap(),
    );
    let body = r#"{"event":"Login","user":"@example.org"}"#;
    let err = strip.generic(body.as_bytes()).unwrap_err();
    assert!(matches!(err, ParseError::UserMap(_)));
    assert_eq!(err.field(), Some("user"));
}

#[test]
fn events_serialize_to_json() {
    let ev = parse_dovecot_ox(OX.as_bytes(), &limits()).unwrap();
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["event"], "MessageNew");
    assert_eq!(json["format"], "dovecot-ox");
    let back: tocsin_mailevents::MailEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, ev);
}
