//! Message codec: round trips, hostile input, forward compatibility, and the
//! worked example of `docs/s2s-protocol.md`.

#![allow(clippy::unwrap_used)] // fixtures

use proptest::prelude::*;
use tocsin_s2s::msg::{self, Binding, EventMsg, Goodbye, Hello, Message, Reject, Role, Welcome};
use tocsin_s2s::{Code, Event, Priority};

fn text(max: usize) -> impl Strategy<Value = String> {
    // printable Unicode, no control characters
    proptest::string::string_regex(&format!("\\PC{{1,{max}}}")).unwrap()
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,6}(\\.[a-z][a-z0-9]{0,5}){0,2}\\.[A-Za-z][A-Za-z0-9_-]{0,20}",
        "[a-z][a-z0-9]{0,5}:[A-Za-z][A-Za-z0-9_-]{0,20}",
    ]
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        (
            text(40),
            kind(),
            text(40),
            proptest::option::of("[a-z0-9.-]{1,30}"),
        ),
        (0i64..=msg::limits::MAX_TIME_MS, 1u8..=5),
        (
            text(100),
            proptest::option::of(proptest::string::string_regex("[\\PC\t\r\n]{0,200}").unwrap()),
            proptest::option::of("[a-z]{2}(-[A-Z]{2})?"),
        ),
        proptest::collection::btree_map("[A-Za-z0-9._:-]{1,20}", "\\PC{0,40}", 0..8),
    )
        .prop_map(
            |((id, kind, user, origin), (at, prio), (summary, body, lang), attrs)| Event {
                source_event_id: id,
                kind,
                user,
                origin_host: origin,
                occurred_at_ms: at,
                priority: Priority::from_u8(prio).unwrap(),
                summary,
                body,
                lang,
                attributes: attrs.into_iter().collect(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn event_round_trip(ev in arb_event()) {
        let mut buf = Vec::new();
        ev.as_msg().encode(&mut buf).unwrap();
        let decoded = EventMsg::decode(&buf).unwrap();
        prop_assert_eq!(Event::from(&decoded), ev.clone());
        prop_assert_eq!(decoded.attributes.len(), ev.attributes.len());
        // through the generic entry point too
        prop_assert!(matches!(Message::decode(msg::PPID_EVENT, &buf), Ok(Message::Event(_))));
    }

    #[test]
    fn hello_round_trip(
        source in "[A-Za-z0-9._-]{1,30}",
        software in text(40),
        ns in proptest::collection::btree_map("[a-z][a-z0-9]{0,7}", "[a-z][a-z0-9-]{0,9}(\\.[a-z]{1,5}){0,2}", 0..6),
        origin in proptest::option::of("[a-z0-9.-]{1,30}"),
        lang in proptest::option::of("[a-z]{2,3}"),
    ) {
        let h = Hello {
            version: msg::VERSION,
            source: &source,
            software: &software,
            namespaces: ns.iter().map(|(p, n)| Binding { prefix: p, namespace: n }).collect(),
            default_origin_host: origin.as_deref(),
            default_lang: lang.as_deref(),
        };
        let mut buf = Vec::new();
        h.encode(&mut buf).unwrap();
        prop_assert_eq!(Hello::decode(&buf).unwrap(), h);
    }

    #[test]
    fn welcome_reject_goodbye_round_trip(
        id in text(30),
        standby in any::<bool>(),
        addrs in proptest::collection::vec("[a-z0-9.-]{1,20}:[1-9][0-9]{0,3}", 0..5),
        resume in proptest::option::of(text(60)),
        max in proptest::option::of(any::<u32>()),
        tsn in any::<u32>(),
        code in any::<u16>(),
        why in proptest::string::string_regex("\\PC{0,100}").unwrap(),
    ) {
        let w = Welcome {
            version: 1,
            appliance_id: &id,
            role: if standby { Role::Standby } else { Role::Active },
            addresses: addrs.iter().map(String::as_str).collect(),
            resume: resume.as_deref(),
            max_event_bytes: max,
        };
        let mut buf = Vec::new();
        w.encode(&mut buf).unwrap();
        prop_assert_eq!(Welcome::decode(&buf).unwrap(), w);

        let r = Reject { tsn, source_event_id: &id, code: Code::from_u16(code), text: &why };
        buf.clear();
        r.encode(&mut buf).unwrap();
        prop_assert_eq!(Reject::decode(&buf).unwrap(), r);

        let g = Goodbye { code: Code::from_u16(code), text: &why };
        buf.clear();
        g.encode(&mut buf).unwrap();
        prop_assert_eq!(Goodbye::decode(&buf).unwrap(), g);
    }

    #[test]
    fn arbitrary_bytes_never_panic(ppid_off in 0u32..8, bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Message::decode(msg::PPID_BASE + ppid_off, &bytes);
    }

    #[test]
    fn mutated_events_never_panic(ev in arb_event(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut buf = Vec::new();
        ev.as_msg().encode(&mut buf).unwrap();
        let i = at.index(buf.len());
        buf[i] = byte;
        if let Ok(m) = EventMsg::decode(&buf) {
            // whatever decodes must re-encode and iterate cleanly
            let _: Vec<_> = m.attributes.iter().collect();
            let mut again = Vec::new();
            m.encode(&mut again).unwrap();
        }
    }
}

#[test]
fn unknown_optional_fields_are_skipped() {
    let ev = Event::new("e1", "mail.MessageNew", "alice", "hi");
    let mut buf = Vec::new();
    ev.as_msg().encode(&mut buf).unwrap();
    buf.extend_from_slice(&[0x90, 0, 3, b'n', b'e', b'w']);
    assert_eq!(
        Event::from(&EventMsg::decode(&buf).unwrap()),
        ev,
        "tag 0x90 ignored"
    );
}

#[test]
fn encoder_refuses_what_the_decoder_would_refuse() {
    let mut ev = Event::new("e1", "mail.MessageNew", "alice", "line\nbreak");
    assert!(ev.as_msg().encode(&mut Vec::new()).is_err());
    ev.summary = "ok".into();
    ev.attributes = vec![("k".into(), "1".into()), ("k".into(), "2".into())];
    assert!(ev.as_msg().encode(&mut Vec::new()).is_err());
    ev.attributes.clear();
    ev.kind = "NoNamespace".into();
    assert!(ev.as_msg().encode(&mut Vec::new()).is_err());
}

/// The worked example in docs/s2s-protocol.md, byte for byte.
#[test]
fn documented_example_event() {
    let ev = Event {
        source_event_id: "mx1-42".into(),
        kind: "m:MessageNew".into(),
        user: "alice".into(),
        origin_host: None,
        occurred_at_ms: 1_700_000_000_000,
        priority: Priority::High,
        summary: "Hi".into(),
        body: None,
        lang: None,
        attributes: vec![("uid".into(), "7".into())],
    };
    assert_eq!(
        tocsin_s2s::stream_for_user("alice", 64),
        39,
        "stream in the doc"
    );
    let mut buf = Vec::new();
    ev.as_msg().encode(&mut buf).unwrap();
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        concat!(
            "010006",
            "6d78312d3432", // source-event-id "mx1-42"
            "02000c",
            "6d3a4d6573736167654e6577", // kind "m:MessageNew"
            "030005",
            "616c696365", // user "alice"
            "050008",
            "0000018bcfe56800", // occurred-at 1700000000000
            "060001",
            "04", // priority high
            "070002",
            "4869", // summary "Hi"
            "090006",
            "0003",
            "756964",
            "37", // attribute uid=7
        )
    );
}

/// The session-start bytes shown in docs/s2s-protocol.md ("Worked example").
#[test]
fn documented_example_session_start() {
    use tocsin_s2s::{ClientConfig, ClientSession, Endpoint};
    let mut cfg = ClientConfig::new("mx1");
    cfg.software = "mta/1.0".into();
    cfg.namespaces = vec![("m".into(), "mail".into())];
    cfg.default_origin_host = Some("mx1.example".into());
    let c = ClientSession::new(cfg, std::time::Instant::now()).unwrap();
    let hex: String = c
        .pending_output()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        concat!(
            "01000004", // INIT, flags 0
            "0000003d",
            "00000000",
            "00000000",
            "74637301", // DATA len 61, TSN 0, SID 0 SSN 0, PPID HELLO
            "010002",
            "0001", // version 1
            "020003",
            "6d7831", // source "mx1"
            "030007",
            "6d74612f312e30", // software "mta/1.0"
            "040007",
            "0001",
            "6d",
            "6d61696c", // namespace m -> mail
            "05000b",
            "6d78312e6578616d706c65", // default-origin-host
            "000000",                 // pad to 64
        )
    );
}
