//! Client and server sessions against each other in memory: bytes are
//! shuttled by hand, time is simulated.

#![allow(clippy::unwrap_used)] // fixtures

mod support;

use std::time::{Duration, Instant};

use support::{Policy, Store, serve, shuttle};
use tocsin_s2s::msg::{self, Message};
use tocsin_s2s::{
    ClientConfig, ClientEvent, ClientSendError, ClientSession, Code, Endpoint, Event, EventResult,
    Outcome, PendingEvent, ServerConfig, ServerEvent, ServerSession, SessionError, split_resumed,
    stream_for_user,
};
use tocsin_shim::{Config as ShimConfig, Connection, Event as ShimEvent, InitFlags, SendMeta};

fn client_cfg() -> ClientConfig {
    let mut c = ClientConfig::new("mta1");
    c.namespaces = vec![
        ("m".into(), "mail".into()),
        ("v".into(), "voicemail".into()),
    ];
    c.default_origin_host = Some("mx1.example".into());
    c.default_lang = Some("de-CH".into());
    c
}

fn ev(i: usize, user: &str) -> Event {
    let mut e = Event::new(
        format!("mx1-{i}"),
        "mail.MessageNew",
        user,
        format!("mail {i}"),
    );
    e.occurred_at_ms = 1_700_000_000_000 + i as i64;
    e
}

struct Pair {
    client: ClientSession,
    server: ServerSession,
    store: Store,
    policy: Policy,
    now: Instant,
    results: Vec<EventResult>,
    client_events: Vec<ClientEvent>,
}

impl Pair {
    fn new(cfg: ClientConfig, scfg: ServerConfig, policy: Policy) -> Self {
        let now = Instant::now();
        let mut p = Pair {
            client: ClientSession::new(cfg, now).unwrap(),
            server: ServerSession::new(scfg, now),
            store: Store::default(),
            policy,
            now,
            results: Vec::new(),
            client_events: Vec::new(),
        };
        p.round();
        p
    }

    /// One full exchange: client -> server, host answers, server -> client.
    fn round(&mut self) -> Vec<u32> {
        let mut held = Vec::new();
        for _ in 0..4 {
            shuttle(&mut self.client, &mut self.server);
            held.extend(serve(&mut self.server, self.now, &mut self.store, &self.policy).unwrap());
            shuttle(&mut self.server, &mut self.client);
            self.drain_client();
        }
        held
    }

    fn drain_client(&mut self) {
        while let Some(ev) = self.client.poll(self.now).unwrap() {
            match ev {
                ClientEvent::Result(r) => self.results.push(r),
                other => self.client_events.push(other),
            }
        }
    }
}

#[test]
fn handshake_compact_kinds_defaults_and_acceptance() {
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    assert_eq!(p.client_events, [ClientEvent::Welcome]);
    assert_eq!(p.client.welcome().unwrap().appliance_id, "test-appliance");
    assert_eq!(p.store.hellos, ["mta1"]);
    for i in 0..10 {
        p.client
            .send(p.now, &ev(i, ["alice", "bob", "carol"][i % 3]))
            .unwrap();
    }
    let mut vm = Event::new("vm-1", "v:MessageNew", "alice", "voicemail");
    vm.origin_host = Some("pbx.example".into());
    vm.lang = Some("fr".into());
    p.client.send(p.now, &vm).unwrap();
    p.round();
    assert_eq!(p.store.events.len(), 11);
    let first = &p.store.events[0];
    assert_eq!(first.kind, "mail.MessageNew");
    assert_eq!(first.wire_kind, "m:MessageNew", "sent in compact form");
    assert_eq!(first.origin, "mx1.example", "HELLO default applied");
    assert_eq!(first.lang.as_deref(), Some("de-CH"));
    let last = &p.store.events[10];
    assert_eq!(
        (
            last.kind.as_str(),
            last.origin.as_str(),
            last.lang.as_deref()
        ),
        ("voicemail.MessageNew", "pbx.example", Some("fr"))
    );
    let ids: Vec<_> = p
        .results
        .iter()
        .map(|r| r.source_event_id.as_str())
        .collect();
    let mut want: Vec<String> = (0..10).map(|i| format!("mx1-{i}")).collect();
    want.push("vm-1".into());
    assert_eq!(ids, want);
    assert!(p.results.iter().all(|r| r.outcome == Outcome::Accepted));
    assert_eq!(p.client.in_flight(), 0);
    assert_eq!(p.server.undecided(), 0);
}

#[test]
fn per_user_order_rides_on_stream_sequence_numbers() {
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    for i in 0..30 {
        p.client
            .send(p.now, &ev(i, ["alice", "bob"][i % 2]))
            .unwrap();
    }
    p.round();
    for user in ["alice", "bob"] {
        let mine: Vec<_> = p.store.events.iter().filter(|e| e.user == user).collect();
        assert!(mine.iter().all(|e| e.stream == stream_for_user(user, 64)));
        let ssns: Vec<u16> = mine.iter().map(|e| e.ssn).collect();
        assert_eq!(ssns, (0..15).collect::<Vec<u16>>(), "{user}");
    }
}

#[test]
fn out_of_order_decisions_are_acked_in_tsn_order() {
    let policy = Policy {
        hold: true,
        ..Policy::default()
    };
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    for i in 0..5 {
        p.client.send(p.now, &ev(i, "alice")).unwrap();
    }
    let held = p.round();
    assert_eq!(held.len(), 5);
    assert_eq!(p.server.undecided(), 5);
    // decide the last three first: nothing may be acked yet
    for &tsn in held[2..].iter().rev() {
        p.server.accept(p.now, tsn).unwrap();
    }
    assert_eq!(p.server.undecided(), 2);
    assert_eq!(p.server.awaiting_ack(), 5);
    p.round();
    assert!(p.results.is_empty(), "no ACK may overtake TSN {}", held[0]);
    p.server
        .reject(p.now, held[1], Code::Internal, "disk full")
        .unwrap();
    p.server.accept(p.now, held[0]).unwrap();
    p.round();
    let got: Vec<_> = p
        .results
        .iter()
        .map(|r| (r.source_event_id.as_str(), &r.outcome))
        .collect();
    assert_eq!(got.len(), 5);
    assert_eq!(got[0], ("mx1-0", &Outcome::Accepted));
    assert_eq!(
        got[1],
        (
            "mx1-1",
            &Outcome::Rejected {
                code: Code::Internal,
                text: "disk full".into()
            }
        )
    );
    assert!(got[2..].iter().all(|(_, o)| **o == Outcome::Accepted));
    assert_eq!(
        p.server.accept(p.now, held[0]),
        Err(tocsin_s2s::DecideError::UnknownTsn { tsn: held[0] })
    );
}

#[test]
fn rejections_carry_machine_readable_codes() {
    let policy = Policy {
        reject_users: vec!["mallory".into()],
        overloaded_users: vec!["busy".into()],
        unknown_kinds: vec!["mail.Weird".into()],
        ..Policy::default()
    };
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    p.client.send(p.now, &ev(1, "mallory")).unwrap();
    p.client.send(p.now, &ev(2, "busy")).unwrap();
    let mut weird = ev(3, "alice");
    weird.kind = "mail.Weird".into();
    p.client.send(p.now, &weird).unwrap();
    p.client.send(p.now, &ev(4, "alice")).unwrap();
    p.round();
    let codes: Vec<Option<Code>> = p
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [
            Some(Code::UnauthorizedUser),
            Some(Code::Overloaded),
            Some(Code::UnknownKind),
            None
        ]
    );
    assert!(!Code::UnauthorizedUser.is_retryable());
    assert!(Code::Overloaded.is_retryable());
    assert_eq!(p.store.events.len(), 1);
}

#[test]
fn too_large_events_are_rejected_by_the_session() {
    let scfg = ServerConfig {
        max_event_bytes: 200,
        ..ServerConfig::default()
    };
    let mut p = Pair::new(client_cfg(), scfg, Policy::default());
    let mut big = ev(1, "alice");
    big.body = Some("x".repeat(500));
    p.client.send(p.now, &big).unwrap();
    p.client.send(p.now, &ev(2, "alice")).unwrap();
    p.round();
    assert_eq!(p.store.session_rejections.len(), 1);
    assert_eq!(p.store.session_rejections[0].1, Code::TooLarge);
    assert!(matches!(
        &p.results[0].outcome,
        Outcome::Rejected {
            code: Code::TooLarge,
            ..
        }
    ));
    assert_eq!(p.results[1].outcome, Outcome::Accepted);
}

#[test]
fn welcome_limit_is_enforced_before_sending() {
    let policy = Policy {
        max_event_bytes: Some(100),
        ..Policy::default()
    };
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    let mut big = ev(1, "alice");
    big.body = Some("x".repeat(200));
    let err = p.client.send(p.now, &big).unwrap_err();
    assert!(
        matches!(err, ClientSendError::TooLarge { max: 100, .. }),
        "{err:?}"
    );
    assert!(err.is_final());
    assert_eq!(p.client.in_flight(), 0);
}

#[test]
fn invalid_events_never_leave_the_client() {
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    let mut bad = ev(1, "alice");
    bad.kind = "x:Unbound".into();
    assert!(matches!(
        p.client.send(p.now, &bad),
        Err(ClientSendError::Invalid(_))
    ));
    bad.kind = "mail.MessageNew".into();
    bad.summary = "two\nlines".into();
    assert!(p.client.send(p.now, &bad).unwrap_err().is_final());
    // no default origin host and none in the event
    let mut cfg = client_cfg();
    cfg.default_origin_host = None;
    let mut p = Pair::new(cfg, ServerConfig::default(), Policy::default());
    assert!(matches!(
        p.client.send(p.now, &ev(1, "alice")),
        Err(ClientSendError::Invalid(_))
    ));
}

#[test]
fn refused_hello_ends_with_goodbye() {
    let policy = Policy {
        refuse: Some(Code::UnauthorizedSource),
        ..Policy::default()
    };
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    assert_eq!(
        p.client_events,
        [ClientEvent::Goodbye {
            code: Code::UnauthorizedSource,
            text: "source not provisioned".into()
        }]
    );
    assert_eq!(
        p.client.send(p.now, &ev(1, "a")),
        Err(ClientSendError::NotReady)
    );
    assert!(p.server.is_finished(), "GOODBYE acked by the client");
}

#[test]
fn standby_welcomes_then_says_not_active() {
    let policy = Policy {
        standby: true,
        addresses: vec!["a.example:7117".into(), "b.example:7117".into()],
        ..Policy::default()
    };
    let p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    assert_eq!(p.client_events[0], ClientEvent::Welcome);
    assert!(matches!(
        p.client_events[1],
        ClientEvent::Goodbye {
            code: Code::NotActive,
            ..
        }
    ));
    let w = p.client.welcome().unwrap();
    assert_eq!(w.role, msg::Role::Standby);
    assert_eq!(w.addresses, ["a.example:7117", "b.example:7117"]);
    assert!(!p.client.is_ready());
}

#[test]
fn connection_death_mid_stream_then_resend_without_loss_or_duplicates() {
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    for i in 0..50 {
        p.client
            .send(p.now, &ev(i, ["alice", "bob", "carol"][i % 3]))
            .unwrap();
    }
    // deliver only the first part of the client's output: the server
    // stores and acks those, the ACKs of some are lost with the connection
    let out = p.client.pending_output().len();
    let cut = out / 2;
    let bytes = p.client.pending_output()[..cut].to_vec();
    p.client.consume_output(out);
    let n = p.server.recv_buf().len().min(bytes.len());
    p.server.recv_buf()[..n].copy_from_slice(&bytes[..n]);
    p.server.recv_commit(n);
    serve(&mut p.server, p.now, &mut p.store, &p.policy).unwrap();
    let stored_before = p.store.events.len();
    assert!(stored_before > 0 && stored_before < 50);
    // half of the server's ACKs reach the client, then the connection dies
    let acks = p.server.pending_output().len();
    let half = p.server.pending_output()[..acks / 2].to_vec();
    let room = p.client.recv_buf();
    room[..half.len()].copy_from_slice(&half);
    p.client.recv_commit(half.len());
    p.drain_client();
    let accepted_before = p.results.len();
    assert!(accepted_before < stored_before, "some ACKs were lost");

    let pending: Vec<PendingEvent> = std::mem::replace(
        &mut p.client,
        ClientSession::new(client_cfg(), p.now).unwrap(),
    )
    .into_unacked();
    assert_eq!(pending.len(), 50 - accepted_before);
    assert_eq!(
        pending[0].source_event_id,
        format!("mx1-{accepted_before}"),
        "oldest un-acked first"
    );
    assert_eq!(
        pending[0].event().unwrap().user,
        ["alice", "bob", "carol"][accepted_before % 3]
    );

    // next connection (a fresh server session on the same store)
    p.server = ServerSession::new(ServerConfig::default(), p.now);
    p.client_events.clear();
    p.round();
    assert_eq!(p.client_events, [ClientEvent::Welcome]);
    for pe in &pending {
        p.client.resend(p.now, pe).unwrap();
    }
    p.round();
    assert_eq!(p.results.len(), 50);
    assert!(p.results.iter().all(|r| r.outcome == Outcome::Accepted));
    let mut ids: Vec<_> = p
        .results
        .iter()
        .map(|r| r.source_event_id.clone())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 50, "each event reported once");
    assert_eq!(p.store.events.len(), 50, "each event stored once");
    assert_eq!(p.store.duplicates, stored_before - accepted_before);
    // per-user order survives the resend
    for user in ["alice", "bob", "carol"] {
        let seq: Vec<i64> = p
            .store
            .events
            .iter()
            .filter(|e| e.user == user)
            .map(|e| e.id[4..].parse().unwrap())
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "{user}: {seq:?}");
    }
}

#[test]
fn resume_point_splits_the_resend_queue() {
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    for i in 0..6 {
        p.client.send(p.now, &ev(i, "alice")).unwrap();
    }
    let pending = p.client.into_unacked();
    assert_eq!(pending.len(), 6);
    let (skipped, rest) = split_resumed(pending.clone(), Some("mx1-3"));
    assert_eq!(skipped.len(), 4);
    assert_eq!(rest[0].source_event_id, "mx1-4");
    let (skipped, rest) = split_resumed(pending.clone(), Some("unknown"));
    assert!(skipped.is_empty());
    assert_eq!(rest.len(), 6);
    let (skipped, _) = split_resumed(pending, None);
    assert!(skipped.is_empty());

    let policy = Policy {
        resume: Some("mx1-3".into()),
        ..Policy::default()
    };
    let p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    assert_eq!(p.client.welcome().unwrap().resume.as_deref(), Some("mx1-3"));
}

#[test]
fn client_goodbye_is_acked_after_everything_before_it() {
    let policy = Policy {
        hold: true,
        ..Policy::default()
    };
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    p.client.send(p.now, &ev(1, "alice")).unwrap();
    p.client.close(p.now, Code::Normal, "done");
    assert_eq!(
        p.client.send(p.now, &ev(2, "alice")),
        Err(ClientSendError::NotReady)
    );
    let held = p.round();
    assert_eq!(p.store.goodbyes, [(Code::Normal, "done".to_owned())]);
    assert!(
        !p.client.is_finished(),
        "GOODBYE waits behind the undecided event"
    );
    p.server.accept(p.now, held[0]).unwrap();
    p.round();
    assert_eq!(p.results[0].outcome, Outcome::Accepted);
    assert!(p.client.is_finished());
    assert!(p.server.is_finished());
}

#[test]
fn server_goodbye_finishes_decisions_and_drops_later_events() {
    let policy = Policy {
        hold: true,
        ..Policy::default()
    };
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), policy);
    for i in 0..3 {
        p.client.send(p.now, &ev(i, "alice")).unwrap();
    }
    let held = p.round();
    p.server.goodbye(p.now, Code::ShuttingDown, "maintenance");
    // sent before the client hears the goodbye: never delivered, never acked
    p.client.send(p.now, &ev(10, "alice")).unwrap();
    p.round();
    assert!(
        p.client_events
            .iter()
            .all(|e| !matches!(e, ClientEvent::Goodbye { .. })),
        "GOODBYE waits for the decisions"
    );
    for t in held {
        p.server.accept(p.now, t).unwrap();
    }
    p.round();
    assert_eq!(p.results.len(), 3);
    assert!(p.client_events.contains(&ClientEvent::Goodbye {
        code: Code::ShuttingDown,
        text: "maintenance".into()
    }));
    assert!(p.server.is_finished(), "GOODBYE acked");
    assert_eq!(p.store.events.len(), 3);
    let left = p.client.into_unacked();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].source_event_id, "mx1-10");
}

#[test]
fn window_and_backpressure_counters() {
    let mut cfg = client_cfg();
    cfg.max_in_flight = 3;
    let policy = Policy {
        hold: true,
        ..Policy::default()
    };
    let mut p = Pair::new(cfg, ServerConfig::default(), policy);
    for i in 0..3 {
        p.client.send(p.now, &ev(i, "alice")).unwrap();
    }
    assert!(!p.client.can_send());
    assert_eq!(
        p.client.send(p.now, &ev(9, "alice")),
        Err(ClientSendError::WindowFull)
    );
    let held = p.round();
    assert_eq!(p.server.undecided(), 3);
    assert_eq!(p.server.stats().delivered, 3);
    p.server.accept(p.now, held[0]).unwrap();
    p.round();
    assert!(p.client.can_send());
    assert_eq!(p.client.in_flight(), 2);
}

/// A raw shim client: INIT + HELLO, then whatever the test sends.
fn raw_client(now: Instant, flags: InitFlags) -> Connection {
    let mut c = Connection::new(
        ShimConfig {
            init_flags: flags,
            ..ShimConfig::default()
        },
        now,
    );
    let mut hello = Vec::new();
    msg::Hello {
        version: 1,
        source: "raw",
        software: "test",
        namespaces: vec![],
        default_origin_host: Some("h"),
        default_lang: None,
    }
    .encode(&mut hello)
    .unwrap();
    c.send_data(
        now,
        SendMeta {
            stream: 0,
            ppid: msg::PPID_HELLO,
            unordered: false,
        },
        &hello,
    )
    .unwrap();
    c
}

fn messages(c: &mut Connection, now: Instant) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    while let Some(ev) = c.poll_event(now).unwrap() {
        if let ShimEvent::Data(d) = ev {
            let m = Message::decode(d.ppid, c.payload(&d)).unwrap();
            let name = match m {
                Message::Welcome(_) => "WELCOME".to_owned(),
                Message::Reject(r) => format!("REJECT {} {}", r.tsn, r.code),
                Message::Goodbye(g) => format!("GOODBYE {}", g.code),
                other => format!("{other:?}"),
            };
            out.push((d.tsn, name));
            c.ack(d.tsn).unwrap();
        }
    }
    out
}

#[test]
fn malformed_event_from_a_foreign_client_is_rejected_not_fatal() {
    let now = Instant::now();
    let mut c = raw_client(now, InitFlags::NONE);
    let mut s = ServerSession::new(ServerConfig::default(), now);
    let mut store = Store::default();
    let policy = Policy::default();
    shuttle(&mut c, &mut s);
    serve(&mut s, now, &mut store, &policy).unwrap();
    shuttle(&mut s, &mut c);
    assert_eq!(messages(&mut c, now), [(0, "WELCOME".to_owned())]);
    // an EVENT with a newline in the summary, then a good one
    let mut bad = Vec::new();
    bad.extend_from_slice(&[1, 0, 2, b'e', b'1', 2, 0, 6]);
    bad.extend_from_slice(b"mail.X");
    bad.extend_from_slice(&[3, 0, 1, b'u', 5, 0, 8, 0, 0, 1, 0x8b, 0, 0, 0, 0, 7, 0, 3]);
    bad.extend_from_slice(b"a\nb");
    let meta = SendMeta {
        stream: 1,
        ppid: msg::PPID_EVENT,
        unordered: false,
    };
    c.send_data(now, meta, &bad).unwrap();
    let mut good = Vec::new();
    Event::new("e2", "mail.X", "u", "ok")
        .as_msg()
        .encode(&mut good)
        .unwrap();
    c.send_data(now, meta, &good).unwrap();
    shuttle(&mut c, &mut s);
    serve(&mut s, now, &mut store, &policy).unwrap();
    shuttle(&mut s, &mut c);
    assert_eq!(
        messages(&mut c, now),
        [(1, "REJECT 1 malformed".to_owned())]
    );
    assert_eq!(store.session_rejections, [(1, Code::Malformed)]);
    assert_eq!(store.events.len(), 1);
    assert_eq!(c.unacked_sent(), 0, "both EVENTs and the HELLO acked");
}

#[test]
fn sequencing_violations_end_the_session_with_a_goodbye() {
    let now = Instant::now();
    // EVENT before HELLO
    let mut c = Connection::new(ShimConfig::default(), now);
    let mut good = Vec::new();
    Event::new("e1", "mail.X", "u", "ok")
        .as_msg()
        .encode(&mut good)
        .unwrap();
    c.send_data(
        now,
        SendMeta {
            stream: 0,
            ppid: msg::PPID_EVENT,
            unordered: false,
        },
        &good,
    )
    .unwrap();
    let mut s = ServerSession::new(ServerConfig::default(), now);
    shuttle(&mut c, &mut s);
    let err = serve(&mut s, now, &mut Store::default(), &Policy::default()).unwrap_err();
    assert_eq!(err, SessionError::Protocol("EVENT before WELCOME"));
    assert_eq!(err.code(), Code::ProtocolError);
    assert!(s.is_finished());
    shuttle(&mut s, &mut c);
    assert_eq!(
        messages(&mut c, now),
        [(0, "GOODBYE protocol-error".to_owned())]
    );

    // an INIT that drops the PPID makes S2S impossible
    let mut c = Connection::new(
        ShimConfig {
            init_flags: InitFlags::from_bits(InitFlags::OMIT_PPID),
            ..ShimConfig::default()
        },
        now,
    );
    let mut s = ServerSession::new(ServerConfig::default(), now);
    shuttle(&mut c, &mut s);
    assert!(matches!(s.poll(now), Err(SessionError::Protocol(_))));

    // a second HELLO
    let mut c = raw_client(now, InitFlags::NONE);
    let mut s = ServerSession::new(ServerConfig::default(), now);
    let mut store = Store::default();
    shuttle(&mut c, &mut s);
    serve(&mut s, now, &mut store, &Policy::default()).unwrap();
    let mut hello = Vec::new();
    msg::Hello {
        version: 1,
        source: "raw",
        software: "t",
        namespaces: vec![],
        default_origin_host: None,
        default_lang: None,
    }
    .encode(&mut hello)
    .unwrap();
    c.send_data(
        now,
        SendMeta {
            stream: 0,
            ppid: msg::PPID_HELLO,
            unordered: false,
        },
        &hello,
    )
    .unwrap();
    shuttle(&mut c, &mut s);
    assert_eq!(
        serve(&mut s, now, &mut store, &Policy::default()).unwrap_err(),
        SessionError::Protocol("second HELLO")
    );
}

#[test]
fn unsupported_version_is_refused() {
    let now = Instant::now();
    let mut c = Connection::new(ShimConfig::default(), now);
    let mut hello = Vec::new();
    msg::Hello {
        version: 9,
        source: "future",
        software: "t",
        namespaces: vec![],
        default_origin_host: None,
        default_lang: None,
    }
    .encode(&mut hello)
    .unwrap();
    c.send_data(
        now,
        SendMeta {
            stream: 0,
            ppid: msg::PPID_HELLO,
            unordered: false,
        },
        &hello,
    )
    .unwrap();
    let mut s = ServerSession::new(ServerConfig::default(), now);
    shuttle(&mut c, &mut s);
    assert_eq!(
        s.poll(now).unwrap_err(),
        SessionError::UnsupportedVersion { got: 9, want: 1 }
    );
    shuttle(&mut s, &mut c);
    assert_eq!(
        messages(&mut c, now),
        [(0, "GOODBYE unsupported-version".to_owned())]
    );
}

#[test]
fn handshake_and_liveness_timeouts() {
    let t0 = Instant::now();
    // a connection that never says HELLO
    let mut s = ServerSession::new(ServerConfig::default(), t0);
    let due = s.next_timeout().unwrap();
    assert_eq!(due, t0 + Duration::from_secs(5), "heartbeat first");
    s.on_timeout(due).unwrap();
    assert_eq!(
        s.on_timeout(t0 + Duration::from_secs(10)).unwrap_err(),
        SessionError::HandshakeTimeout("no HELLO in time")
    );

    // a server that goes silent after WELCOME: the client gives up after
    // 3 unanswered heartbeats (20 s of silence)
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    let mut t;
    let err = loop {
        t = p.client.next_timeout().unwrap();
        match p.client.on_timeout(t) {
            Ok(()) => {
                let n = p.client.pending_output().len();
                p.client.consume_output(n);
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(
        err,
        SessionError::Shim(tocsin_shim::ShimError::HeartbeatsMissed { missed: 3 })
    ));
    assert_eq!(t, p.now + Duration::from_secs(20));
}

#[test]
fn heartbeats_keep_an_idle_pair_alive() {
    let mut p = Pair::new(client_cfg(), ServerConfig::default(), Policy::default());
    let start = p.now;
    while p.now < start + Duration::from_secs(120) {
        p.now += Duration::from_secs(1);
        if p.client.next_timeout().is_some_and(|t| p.now >= t) {
            p.client.on_timeout(p.now).unwrap();
        }
        if p.server.next_timeout().is_some_and(|t| p.now >= t) {
            p.server.on_timeout(p.now).unwrap();
        }
        p.round();
    }
    assert!(p.client.is_ready());
    p.client.send(p.now, &ev(1, "alice")).unwrap();
    p.round();
    assert_eq!(p.results.len(), 1);
}

#[test]
fn server_events_borrow_without_blocking_decisions() {
    // the host can decide inside its poll loop
    let now = Instant::now();
    let mut c = ClientSession::new(client_cfg(), now).unwrap();
    let mut s = ServerSession::new(ServerConfig::default(), now);
    shuttle(&mut c, &mut s);
    let mut seen = 0;
    while let Some(ev) = s.poll(now).unwrap() {
        if let ServerEvent::Hello(h) = ev {
            assert_eq!(h.source, "mta1");
            assert_eq!(h.namespace_for("m"), Some("mail"));
            // a HELLO is not an event: accept() cannot answer it
            assert_eq!(
                s.accept(now, 0),
                Err(tocsin_s2s::DecideError::UnknownTsn { tsn: 0 })
            );
            s.refuse(now, Code::Overloaded, "busy");
            seen += 1;
        }
    }
    assert_eq!(seen, 1);
}
