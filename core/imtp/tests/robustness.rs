//! Hostile input: arbitrary bytes never panic, any split of a valid stream
//! decodes identically, buffers stay bounded.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::strategies::frame;
use common::{client, decode_chunks, events, server, tls};
use proptest::collection::vec;
use proptest::prelude::*;
use std::time::{Duration, Instant};
use tocsin_imtp::*;

fn small_limits() -> Limits {
    Limits {
        max_line_len: 64,
        max_headers: 6,
        max_header_bytes: 256,
        max_payload: 128,
        max_id_len: 8,
        max_outstanding: 4,
        output_soft_limit: 512,
        output_hard_limit: 2048,
    }
}

/// Bytes that look like protocol fragments more often than noise does.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        vec(any::<u8>(), 0..16),
        proptest::sample::select(vec![
            &b"\r\n"[..],
            b"\n",
            b"\r",
            b"=mech PLAIN EXTERNAL\r\n",
            b"=mec8\r\n",
            b"=nop\r\n",
            b">1 send\r\n",
            b">1 auth\r\n",
            b"<1 ok (send)\r\n",
            b"<1 error (auth)\r\n",
            b"Content-Length: 5\r\n",
            b"Content-Length: 99999999999999999999\r\n",
            b"Mechanism: PLAIN\r\n",
            b"Abort:\r\n",
            b"Sender: im:a@b.c\r\n",
            b"Inbox: im:d@e.f\r\n",
            b"Error-Type: sasl-challenge\r\n",
            b" folded\r\n",
            b"\r\n\r\n",
            b"Content-Transfer-Encoding: x\r\n",
            b"\x00\xff",
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn decoder_never_panics(bytes in hostile_bytes(), cuts in vec(0usize..64, 0..8)) {
        for limits in [Limits::default(), small_limits()] {
            let chunks = split(&bytes, &cuts);
            let _ = decode_chunks(&limits, &chunks);
        }
    }

    #[test]
    fn decoder_never_panics_on_noise(bytes in vec(any::<u8>(), 0..2048)) {
        let _ = decode_chunks(&small_limits(), &[&bytes]);
    }

    #[test]
    fn connection_never_panics(bytes in hostile_bytes(), cuts in vec(0usize..64, 0..8), answer in any::<bool>()) {
        let t0 = Instant::now();
        for role in [Role::Client, Role::Server] {
            for limits in [Limits::default(), small_limits()] {
                let config = Config { limits, require_auth: answer, ..Config::imtp() };
                let mut c = Connection::new(role, config, tls(Some("peer@example.net")), t0);
                let mut now = t0;
                for chunk in split(&bytes, &cuts) {
                    now += Duration::from_secs(7);
                    let fed = c.feed(chunk, now);
                    let _ = c.handle_timeout(now);
                    for e in events(&mut c) {
                        match e {
                            Event::Command { id, .. } if answer => {
                                let _ = c.respond(&id, &Outcome::ok(), now);
                            }
                            Event::VerifyPlain(_) => {
                                let _ = c.complete_plain(PlainVerdict::Accept { identity: "x".into() }, now);
                            }
                            _ => {}
                        }
                    }
                    prop_assert!(c.input_buffered() <= c.config().limits.max_message_bytes());
                    let n = c.output_len();
                    c.consume_output(n / 2);
                    if fed.is_err() {
                        prop_assert!(c.is_closed());
                        break;
                    }
                }
                let _ = c.send_command(&Command::Shutdown(Meta::default()), now);
                let _ = c.next_timeout();
            }
        }
    }

    /// Any split of a valid stream decodes to the same messages.
    #[test]
    fn split_invariance(frames in vec(frame(), 1..8), cuts in vec(any::<prop::sample::Index>(), 0..12)) {
        let mut stream = Vec::new();
        for f in &frames {
            f.encode(&mut stream).unwrap();
        }
        let limits = Limits::default();
        let (whole, err) = decode_chunks(&limits, &[&stream]);
        prop_assert_eq!(err, None);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for p in points {
            chunks.push(&stream[prev..p]);
            prev = p;
        }
        chunks.push(&stream[prev..]);
        let (pieces, err) = decode_chunks(&limits, &chunks);
        prop_assert_eq!(err, None);
        prop_assert_eq!(&pieces, &whole);
        let byte_by_byte: Vec<&[u8]> = stream.chunks(1).collect();
        prop_assert_eq!(decode_chunks(&limits, &byte_by_byte).0, whole.clone());
        let expected: Vec<Decoded> = frames.into_iter().map(Decoded::Frame).collect();
        prop_assert_eq!(whole, expected);
    }
}

fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for &c in cuts {
        let c = c.min(rest.len());
        out.push(&rest[..c]);
        rest = &rest[c..];
    }
    out.push(rest);
    out
}

#[test]
fn input_buffer_is_bounded_under_a_flood() {
    // 64 KiB of header bytes with no end: refused once past the limit,
    // never buffered beyond it.
    let limits = small_limits();
    let mut d = Decoder::new(limits.clone());
    let mut flood = b">1 send\r\n".to_vec();
    flood.extend(std::iter::repeat_n(b"X-A: b\r\n".as_slice(), 8192).flatten());
    let mut data = &flood[..];
    let mut failed = false;
    while !data.is_empty() && !failed {
        let n = d.feed(data);
        data = &data[n..];
        assert!(d.buffered() <= limits.max_message_bytes());
        loop {
            match d.decode() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
    }
    assert!(failed);
}

#[test]
fn server_and_client_survive_each_others_garbage() {
    let t0 = Instant::now();
    let mut s = server(Config::imtp(), tls(None), t0);
    let mut c = client(Config::imtp(), tls(None), t0);
    assert!(
        s.feed(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", t0)
            .is_err()
    );
    assert!(c.feed(b"HTTP/1.1 200 OK\r\n\r\n", t0).is_err());
    assert!(s.is_closed() && c.is_closed());
}
