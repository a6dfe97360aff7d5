//! Property tests: no input panics any parser or decoder, and outputs respect bounds.

use proptest::prelude::*;
use serde_json::{Map, Value};
use tocsin_mailevents::{
    MailEvent, ParseLimits, UserMap, decode_rfc2047, parse_cyrus_notify, parse_dovecot_ox,
    parse_envelope, parse_from, parse_generic, parse_imap_url, sanitize_display, truncate_utf8,
};

/// 512 cases by default; PROPTEST_CASES overrides for longer runs. Nothing is persisted.
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 512;
    }
    c.failure_persistence = None;
    c
}

fn small_limits() -> ParseLimits {
    ParseLimits {
        max_body_bytes: 4096,
        max_user_bytes: 16,
        max_ident_bytes: 64,
        max_subject_bytes: 24,
        max_from_bytes: 24,
        snippet_bytes: 10,
        max_extra_params: 3,
        max_extra_key_bytes: 12,
        max_extra_value_bytes: 8,
        max_header_scan_bytes: 64,
    }
}

fn assert_bounded(ev: &MailEvent, l: &ParseLimits) {
    assert!(!ev.user.is_empty() && ev.user.len() <= l.max_user_bytes);
    if let Some(s) = &ev.subject {
        assert!(s.len() <= l.max_subject_bytes);
        assert!(!s.chars().any(char::is_control));
    }
    if let Some(s) = &ev.snippet {
        assert!(s.len() <= l.snippet_bytes);
        assert!(!s.chars().any(char::is_control));
    }
    if let Some(f) = &ev.from {
        assert!(f.decoded.len() <= l.max_from_bytes);
        assert!(
            f.display_name
                .as_ref()
                .is_none_or(|n| n.len() <= l.max_from_bytes)
        );
        assert!(
            f.address
                .as_ref()
                .is_none_or(|a| a.len() <= l.max_from_bytes)
        );
    }
    assert!(ev.extra.len() <= l.max_extra_params);
    for (k, v) in &ev.extra {
        assert!(k.len() <= l.max_extra_key_bytes);
        assert!(v.len() <= l.max_extra_value_bytes);
    }
    assert!(
        ev.mailbox
            .as_ref()
            .is_none_or(|m| m.len() <= l.max_ident_bytes * 3)
    );
    // The key is a pure function of the event.
    assert_eq!(ev.idempotency_key(), ev.clone().idempotency_key());
    assert!(ev.kind().starts_with("mail."));
}

/// Text that often forms (broken) encoded words.
fn wordish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "=?",
        "?=",
        "UTF-8",
        "utf-8",
        "ISO-8859-1",
        "iso-8859-15",
        "windows-1252",
        "koi8-r",
        "?Q?",
        "?q?",
        "?B?",
        "?b?",
        "=C3",
        "=B6",
        "=FC",
        "=",
        "_",
        " ",
        "\t",
        "\r\n ",
        "a",
        "Z",
        "ä",
        "€",
        "SGVsbG8=",
        "w7Y",
        "==",
        "?",
        "\u{0}",
        "<",
        ">",
        "\"",
        "(",
        ")",
        ",",
        "@",
        "\\",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        wordish().prop_map(Value::from),
        "[0-9]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "imap://u@h/INBOX;UIDVALIDITY=5/;UID=7",
            "imap://a@b@c:143/x%20y;UIDVALIDITY=1",
            "imap://h/",
            "imap://[::1/INBOX",
            "MessageNew",
            "messageNew",
            "CalendarAlarm",
            "vnd.cmu.MessageMove",
            "(NIL \"s\" ((\"n\" NIL \"m\" \"h\")) NIL NIL NIL NIL NIL NIL NIL)",
            "From: a <b@c>\r\nSubject: s\r\n\r\nbody",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Objects whose keys are mostly the ones the parsers look at.
fn event_object() -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(vec![
        "user",
        "event",
        "folder",
        "imap-uidvalidity",
        "imap-uid",
        "from",
        "subject",
        "snippet",
        "unseen",
        "uri",
        "userId",
        "modseq",
        "uidset",
        "messages",
        "vnd.cmu.unseenMessages",
        "messageSize",
        "timestamp",
        "serverFQDN",
        "serverDomain",
        "messageContent",
        "vnd.cmu.envelope",
        "summary",
        "uid",
        "uidvalidity",
        "mailbox",
        "mailboxID",
        "id",
        "pid",
        "vnd.cmu.sessionId",
        "calendarId",
        "alarmTime",
        "x-other",
    ]);
    prop::collection::vec((key, json_value()), 0..14).prop_map(|kv| {
        let map: Map<String, Value> = kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Value::Object(map).to_string().into_bytes()
    })
}

fn framed(json: &[u8], class: &[u8]) -> Vec<u8> {
    let mut d = b"external\0".to_vec();
    d.extend_from_slice(class);
    // priority, user, mailbox empty; no options.
    d.extend_from_slice(b"\0\0\0\0");
    d.extend_from_slice(b"0\0");
    d.extend_from_slice(json);
    d.push(0);
    d
}

fn run_all(bytes: &[u8], limits: &ParseLimits) {
    let results = [
        parse_dovecot_ox(bytes, limits),
        parse_cyrus_notify(bytes, limits),
        parse_generic(bytes, limits),
    ];
    for ev in results.iter().flatten() {
        assert_bounded(ev, limits);
    }
}

/// Reference encoders for round trips.
fn q_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "_".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(b).to_string(),
            _ => format!("={b:02X}"),
        })
        .collect()
}

fn b_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        run_all(&data, &ParseLimits::default());
        run_all(&data, &small_limits());
        run_all(&framed(&data, b"EVENT"), &ParseLimits::default());
    }

    #[test]
    fn parsers_never_panic_on_plausible_objects(obj in event_object(), small in any::<bool>()) {
        let limits = if small { small_limits() } else { ParseLimits::default() };
        run_all(&obj, &limits);
        run_all(&framed(&obj, b"EVENT"), &limits);
    }

    #[test]
    fn rfc2047_never_panics_and_is_bounded(s in wordish(), max in 0usize..64) {
        let out = decode_rfc2047(&s, max);
        prop_assert!(out.len() <= max);
    }

    #[test]
    fn rfc2047_arbitrary_unicode(s in any::<String>(), max in 0usize..200) {
        prop_assert!(decode_rfc2047(&s, max).len() <= max);
        prop_assert!(sanitize_display(&s, max).len() <= max);
        let f = parse_from(&s, max);
        prop_assert!(f.decoded.len() <= max);
    }

    #[test]
    fn rfc2047_round_trip(s in "[a-zA-Z0-9 äöüßéèñ€😀]{0,40}", split in 1usize..8) {
        // Q: the whole string in one word.
        let q = format!("=?UTF-8?Q?{}?=", q_encode(&s));
        prop_assert_eq!(decode_rfc2047(&q, 1024), s.clone());
        // B: bytes cut into several words (possibly mid-character), joined by folding.
        let words: Vec<String> = s
            .as_bytes()
            .chunks(split.max(1) * 3)
            .map(|c| format!("=?utf-8?B?{}?=", b_encode(c)))
            .collect();
        prop_assert_eq!(decode_rfc2047(&words.join("\r\n "), 1024), s);
    }

    #[test]
    fn from_parsing_finds_the_address(
        name in "[A-Za-z ]{0,20}",
        local in "[a-z0-9.]{1,12}",
        domain in "[a-z]{1,10}\\.[a-z]{2,4}",
    ) {
        let addr = format!("{local}@{domain}");
        let f = parse_from(&format!("\"{name}\" <{addr}>"), 256);
        prop_assert_eq!(f.address.as_deref(), Some(addr.as_str()));
        let trimmed = name.trim();
        prop_assert_eq!(f.display_name.as_deref(), (!trimmed.is_empty()).then_some(trimmed));
    }

    #[test]
    fn truncation_is_a_char_boundary_prefix(s in any::<String>(), max in 0usize..64) {
        let t = truncate_utf8(&s, max);
        prop_assert!(t.len() <= max);
        prop_assert!(s.starts_with(t));
        if s.len() > max {
            prop_assert!(t.len() + 4 > max);
        }
    }

    #[test]
    fn helpers_never_panic(s in any::<String>(), w in wordish()) {
        let _ = parse_imap_url(&s);
        let _ = parse_imap_url(&format!("imap://{w}"));
        let _ = parse_envelope(&s);
        let _ = parse_envelope(&w);
        let map = UserMap::parse(["lowercase", "map *@*.example {2}-{1}", "rewrite-domain a b", "strip-domain"])
            .expect("rules");
        let _ = map.apply(&s, 64);
    }

    #[test]
    fn dovecot_key_depends_only_on_identity(
        user in "[a-z]{1,10}",
        uidvalidity in 1u32..,
        uid in 1u32..,
        unseen in any::<u32>(),
        subject in "[ -~]{0,30}",
    ) {
        let body = |unseen: u32, subject: &str| {
            serde_json::json!({
                "user": user, "event": "messageNew", "folder": "INBOX",
                "imap-uidvalidity": uidvalidity, "imap-uid": uid,
                "subject": subject, "unseen": unseen
            })
            .to_string()
        };
        let l = ParseLimits::default();
        let a = parse_dovecot_ox(body(unseen, &subject).as_bytes(), &l).unwrap();
        let b = parse_dovecot_ox(body(unseen.wrapping_add(1), "other").as_bytes(), &l).unwrap();
        prop_assert_eq!(a.idempotency_key(), b.idempotency_key());
        prop_assert_eq!(
            a.idempotency_key(),
            format!("mail:v1:dovecot-ox:MessageNew:{user}:{uidvalidity}:{uid}")
        );
    }
}
