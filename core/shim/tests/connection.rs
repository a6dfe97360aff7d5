//! Behaviour of the connection state machine, driven as a real caller would.

#![allow(clippy::unwrap_used)] // test helpers may panic on bad fixtures

use std::time::{Duration, Instant};

use tocsin_shim::chunk::{self, DataChunk};
use tocsin_shim::{AckError, Config, Connection, Event, InitFlags, SendError, SendMeta, ShimError};

fn meta(stream: u16, ppid: u32) -> SendMeta {
    SendMeta {
        stream,
        ppid,
        unordered: false,
    }
}

fn shuttle(from: &mut Connection, to: &mut Connection) {
    let out = from.take_output();
    assert_eq!(
        to.recv(&out),
        out.len(),
        "receive buffer too small for test"
    );
}

fn drain(c: &mut Connection, now: Instant) -> Vec<Event> {
    let mut v = Vec::new();
    while let Some(ev) = c.poll_event(now).unwrap() {
        v.push(ev);
    }
    v
}

/// Two connected ends with both INITs exchanged.
fn pair(ca: Config, cb: Config, now: Instant) -> (Connection, Connection) {
    let mut a = Connection::new(ca, now);
    let mut b = Connection::new(cb, now);
    shuttle(&mut a, &mut b);
    shuttle(&mut b, &mut a);
    assert!(matches!(drain(&mut a, now)[..], [Event::PeerInit(_)]));
    assert!(matches!(drain(&mut b, now)[..], [Event::PeerInit(_)]));
    (a, b)
}

#[test]
fn init_is_queued_first_and_data_flows_both_ways() {
    let now = Instant::now();
    let mut a = Connection::new(Config::default(), now);
    assert_eq!(a.pending_output(), [1, 0, 0, 4]);
    let mut b = Connection::new(Config::default(), now);
    let t = a.send_data(now, meta(3, 99), b"hello").unwrap();
    assert_eq!(t, 0);
    shuttle(&mut a, &mut b);
    let evs = drain(&mut b, now);
    assert_eq!(evs[0], Event::PeerInit(InitFlags::NONE));
    let Event::Data(d) = evs[1] else {
        panic!("{evs:?}")
    };
    assert_eq!(
        (d.tsn, d.stream, d.ssn, d.ppid, d.unordered),
        (0, 3, 0, 99, false)
    );
    assert_eq!(b.payload(&d), b"hello");
    assert_eq!(b.unacked_received(), 1);
    b.ack(0).unwrap();
    assert_eq!(b.unacked_received(), 0);
    shuttle(&mut b, &mut a);
    assert_eq!(
        drain(&mut a, now),
        [
            Event::PeerInit(InitFlags::NONE),
            Event::Acked { first: 0, last: 0 }
        ]
    );
    assert_eq!(a.unacked_sent(), 0);
}

#[test]
fn sender_retains_unacked_data_in_tsn_order() {
    let now = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), now);
    for i in 0..10u32 {
        let payload = format!("event-{i}");
        a.send_data(now, meta((i % 3) as u16, 7), payload.as_bytes())
            .unwrap();
    }
    assert_eq!(a.unacked_sent(), 10);
    shuttle(&mut a, &mut b);
    let n = drain(&mut b, now).len();
    assert_eq!(n, 10);
    b.ack(3).unwrap(); // TSNs 0..=3 delivered
    shuttle(&mut b, &mut a);
    assert_eq!(drain(&mut a, now).len(), 4);
    assert_eq!(a.unacked_sent(), 6);
    // the connection dies here: retrieve what was never acked
    let left = a.into_unacked();
    let got: Vec<(u32, u16, u16, String)> = left
        .iter()
        .map(|u| {
            (
                u.tsn,
                u.stream,
                u.ssn,
                String::from_utf8(u.payload.clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (4, 1, 1, "event-4".into()),
            (5, 2, 1, "event-5".into()),
            (6, 0, 2, "event-6".into()),
            (7, 1, 2, "event-7".into()),
            (8, 2, 2, "event-8".into()),
            (9, 0, 3, "event-9".into()),
        ]
    );
    assert!(left.iter().all(|u| u.ppid == 7 && !u.unordered));
}

#[test]
fn cumulative_ack_from_peer_releases_a_range() {
    let now = Instant::now();
    let (mut a, _b) = pair(Config::default(), Config::default(), now);
    for _ in 0..5 {
        a.send_data(now, meta(0, 1), b"x").unwrap();
    }
    drop(a.take_output());
    let mut ack = Vec::new();
    chunk::encode_ack(&mut ack, Some(2));
    a.recv(&ack);
    assert_eq!(drain(&mut a, now), [Event::Acked { first: 0, last: 2 }]);
    assert_eq!(a.unacked_sent(), 2);
    assert_eq!(
        a.unacked_iter().map(|(m, _)| m.tsn).collect::<Vec<_>>(),
        [3, 4]
    );
}

#[test]
fn short_acks_when_the_data_sender_omits_tsns() {
    let now = Instant::now();
    let minimal = Config {
        init_flags: InitFlags::from_bits(0x07),
        ..Config::default()
    };
    let (mut a, mut b) = pair(minimal, Config::default(), now);
    a.send_data(now, SendMeta::default(), b"one").unwrap();
    a.send_data(now, SendMeta::default(), b"two").unwrap();
    let out = a.take_output();
    // minimal layout: 4-byte DATA header, "one" padded to 8 bytes
    assert_eq!(&out[..8], &[0, 0, 0, 7, b'o', b'n', b'e', 0]);
    b.recv(&out);
    let evs = drain(&mut b, now);
    let Event::Data(d) = evs[1] else { panic!() };
    assert_eq!((d.tsn, d.stream, d.ssn, d.ppid), (1, 0, 1, 0));
    b.ack(1).unwrap();
    assert_eq!(b.pending_output(), [3, 0, 0, 4, 3, 0, 0, 4]);
    shuttle(&mut b, &mut a);
    assert_eq!(
        drain(&mut a, now),
        [
            Event::Acked { first: 0, last: 0 },
            Event::Acked { first: 1, last: 1 }
        ]
    );
}

#[test]
fn suppressed_fields_must_be_zero_on_send() {
    let now = Instant::now();
    let mut a = Connection::new(
        Config {
            init_flags: InitFlags::from_bits(0x06),
            ..Config::default()
        },
        now,
    );
    assert_eq!(
        a.send_data(now, meta(1, 0), b"x"),
        Err(SendError::FieldSuppressed { field: "stream" })
    );
    assert_eq!(
        a.send_data(now, meta(0, 5), b"x"),
        Err(SendError::FieldSuppressed { field: "ppid" })
    );
    assert_eq!(a.send_data(now, meta(0, 0), b""), Err(SendError::Empty));
    assert!(a.send_data(now, meta(0, 0), b"x").is_ok());
}

#[test]
fn ack_refuses_undelivered_and_already_acked_tsns() {
    let now = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), now);
    assert_eq!(b.ack(0), Err(AckError::NotPending { tsn: 0, next: None }));
    a.send_data(now, meta(0, 1), b"x").unwrap();
    shuttle(&mut a, &mut b);
    drain(&mut b, now);
    assert_eq!(
        b.ack(1),
        Err(AckError::NotPending {
            tsn: 1,
            next: Some(0)
        })
    );
    b.ack(0).unwrap();
    assert_eq!(b.ack(0), Err(AckError::NotPending { tsn: 0, next: None }));
}

#[test]
fn stream_sequence_wraps_per_stream_and_unordered_consumes_none() {
    let now = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), now);
    let total = 65_536 + 10;
    let mut last_ssn = 0;
    for i in 0..total {
        a.send_data(now, meta(9, 1), b"p").unwrap();
        if i % 5 == 0 {
            a.send_data(
                now,
                SendMeta {
                    stream: 9,
                    ppid: 1,
                    unordered: true,
                },
                b"u",
            )
            .unwrap();
        }
        if a.pending_output().len() > 64 * 1024 {
            shuttle(&mut a, &mut b);
            while let Some(ev) = b.poll_event(now).unwrap() {
                if let Event::Data(d) = ev {
                    if !d.unordered {
                        last_ssn = d.ssn;
                    }
                    b.ack(d.tsn).unwrap();
                }
            }
            shuttle(&mut b, &mut a);
            drain(&mut a, now);
        }
    }
    shuttle(&mut a, &mut b);
    while let Some(ev) = b.poll_event(now).unwrap() {
        match ev {
            Event::Data(d) if !d.unordered => last_ssn = d.ssn,
            _ => {}
        }
    }
    // 65546 ordered chunks: SSNs 0..=65535, then 0..=9
    assert_eq!(last_ssn, 9);
}

#[test]
fn heartbeats_when_idle_answered_by_the_peer() {
    let t0 = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), t0);
    let next = a.next_timeout().unwrap();
    assert_eq!(next, t0 + Duration::from_secs(5));
    a.on_timeout(t0 + Duration::from_secs(1)).unwrap();
    assert!(a.pending_output().is_empty(), "not due yet");
    a.on_timeout(next).unwrap();
    let hb = a.take_output();
    assert_eq!(hb[0], 4, "HEARTBEAT");
    b.recv(&hb);
    assert_eq!(drain(&mut b, next), [Event::Heartbeat]);
    let echo = b.take_output();
    assert_eq!(echo[0], 5);
    assert_eq!(&echo[4..], &hb[4..], "info echoed unchanged");
    a.recv(&echo);
    let later = next + Duration::from_millis(20);
    assert_eq!(
        drain(&mut a, later),
        [Event::HeartbeatAck {
            rtt: Some(Duration::from_millis(20))
        }]
    );
    assert_eq!(a.next_timeout(), Some(later + Duration::from_secs(5)));
}

#[test]
fn peer_declared_dead_after_three_unanswered_heartbeats() {
    let t0 = Instant::now();
    let (mut a, _b) = pair(Config::default(), Config::default(), t0);
    let mut sent = 0;
    let mut t;
    let err = loop {
        t = a.next_timeout().unwrap();
        match a.on_timeout(t) {
            Ok(()) => {
                sent += 1;
                drop(a.take_output());
            }
            Err(e) => break e,
        }
    };
    assert_eq!(sent, 3);
    assert_eq!(err, ShimError::HeartbeatsMissed { missed: 3 });
    assert_eq!(t, t0 + Duration::from_secs(20));
    assert_eq!(a.next_timeout(), None);
    assert_eq!(a.poll_event(t), Err(err.clone()));
    assert_eq!(
        a.send_data(t, SendMeta::default(), b"x"),
        Err(SendError::Failed)
    );
}

#[test]
fn any_traffic_resets_the_missed_count() {
    let t0 = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), t0);
    let mut t = t0;
    for _ in 0..10 {
        t = a.next_timeout().unwrap();
        a.on_timeout(t).unwrap();
        drop(a.take_output());
        // the peer sends DATA instead of answering: still alive
        b.send_data(t, SendMeta::default(), b"alive").unwrap();
        shuttle(&mut b, &mut a);
        for ev in drain(&mut a, t) {
            if let Event::Data(d) = ev {
                a.ack(d.tsn).unwrap();
            }
        }
        shuttle(&mut a, &mut b);
        drain(&mut b, t);
    }
    assert!(a.error().is_none(), "{t:?}");
}

#[test]
fn ack_timeout_when_data_is_never_acked() {
    let t0 = Instant::now();
    let cfg = Config {
        heartbeat_interval: Duration::from_secs(60),
        ack_timeout: Some(Duration::from_secs(30)),
        ..Config::default()
    };
    let (mut a, _b) = pair(cfg, Config::default(), t0);
    let t1 = t0 + Duration::from_secs(2);
    a.send_data(t1, SendMeta::default(), b"x").unwrap();
    assert_eq!(a.next_timeout(), Some(t1 + Duration::from_secs(30)));
    assert_eq!(
        a.on_timeout(t1 + Duration::from_secs(30)),
        Err(ShimError::AckTimeout {
            waited: Duration::from_secs(30)
        })
    );
}

#[test]
fn clean_eof_reports_peer_closed_once() {
    let now = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), now);
    a.send_data(now, SendMeta::default(), b"last").unwrap();
    shuttle(&mut a, &mut b);
    b.recv_eof();
    let evs = drain(&mut b, now);
    assert!(matches!(evs[..], [Event::Data(_), Event::PeerClosed]));
    assert_eq!(b.poll_event(now), Ok(None));
}

#[test]
fn eof_inside_a_chunk_is_truncation() {
    let now = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), now);
    a.send_data(now, SendMeta::default(), b"cut short").unwrap();
    let out = a.take_output();
    b.recv(&out[..out.len() - 3]);
    assert_eq!(b.poll_event(now), Ok(None));
    b.recv_eof();
    assert_eq!(
        b.poll_event(now),
        Err(ShimError::TruncatedAtEof {
            buffered: out.len() - 3
        })
    );
}

#[test]
fn send_buffer_backpressure() {
    let now = Instant::now();
    let cfg = Config {
        send_buffer: 128 * 1024,
        ..Config::default()
    };
    let mut a = Connection::new(cfg, now);
    let big = vec![1u8; 60_000];
    assert!(a.wants_data());
    a.send_data(now, SendMeta::default(), &big).unwrap();
    a.send_data(now, SendMeta::default(), &big).unwrap();
    assert!(!a.wants_data());
    assert!(matches!(
        a.send_data(now, SendMeta::default(), &big),
        Err(SendError::Full { .. })
    ));
    // control-sized messages still get through
    a.send_data_unbounded(now, SendMeta::default(), b"goodbye")
        .unwrap();
    let n = a.pending_output().len();
    a.consume_output(n - 100);
    assert!(a.wants_data());
    assert_eq!(a.unacked_sent(), 3);
    assert_eq!(
        a.send_data(now, SendMeta::default(), &vec![0; 70_000]),
        Err(SendError::TooLarge {
            len: 70_000,
            max: 65_519
        })
    );
}

#[test]
fn peer_that_does_not_read_is_cut_off() {
    let now = Instant::now();
    let cfg = Config {
        send_buffer: 0,
        max_output: 0, // normalized to 2 x one chunk
        ..Config::default()
    };
    let limit = cfg.clone().normalized().max_output;
    let (mut a, mut b) = pair(cfg, Config::default(), now);
    // the peer floods HEARTBEATs and never reads our HEARTBEAT-ACKs
    let mut hb = Vec::new();
    chunk::encode_heartbeat(&mut hb, false, &[0u8; 500]);
    let err = loop {
        a.recv(&hb);
        match a.poll_event(now) {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, ShimError::PeerNotReading { limit: l, .. } if l == limit),
        "{err:?}"
    );
    drop(b.take_output());
}

#[test]
fn full_receive_buffer_stops_reading_until_polled() {
    let now = Instant::now();
    let (mut a, mut b) = pair(Config::default(), Config::default(), now);
    let big = vec![2u8; 65_000];
    for _ in 0..8 {
        a.send_data_unbounded(now, SendMeta::default(), &big)
            .unwrap();
    }
    let out = a.take_output();
    let mut fed = b.recv(&out);
    assert!(fed < out.len());
    assert!(b.recv_buf().is_empty(), "full buffer offers no space");
    let mut got = 0;
    while fed < out.len() || b.recv_buffered() > 0 {
        while let Some(ev) = b.poll_event(now).unwrap() {
            if let Event::Data(d) = ev {
                assert_eq!(b.payload(&d), &big[..]);
                got += 1;
            }
        }
        fed += b.recv(&out[fed..]);
    }
    assert_eq!(got, 8);
}

#[test]
fn manual_data_with_wrong_ssn_is_rejected() {
    let now = Instant::now();
    let mut b = Connection::new(Config::default(), now);
    let mut wire = Vec::new();
    chunk::encode_init(&mut wire, InitFlags::NONE);
    for (tsn, ssn) in [(0, 0), (1, 2)] {
        chunk::encode_data(
            &mut wire,
            InitFlags::NONE,
            &DataChunk {
                unordered: false,
                tsn: Some(tsn),
                stream: Some((4, ssn)),
                ppid: Some(0),
                payload: b"z",
            },
        );
    }
    b.recv(&wire);
    assert!(b.poll_event(now).unwrap().is_some());
    assert!(b.poll_event(now).unwrap().is_some());
    assert_eq!(
        b.poll_event(now),
        Err(ShimError::SsnMismatch {
            stream: 4,
            expected: 1,
            got: 2
        })
    );
}
