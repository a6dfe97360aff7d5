//! Property tests: `parse_response` never panics (arbitrary bytes, and bit
//! flips / truncations / overwrites of valid responses), built responses
//! round-trip, queries round-trip, and a `Lookup` survives any datagram.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::builder::{Builder, Rd, parse_query};
use proptest::collection::vec;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use tocsin_dns::{Lookup, QType, RData, Record, ResolvConf, Srv, encode_query, parse_response};

const SVC: &str = "_im-servers._tcp.example.org";

/// Lower-case names (the builder compresses case-insensitively, so mixed
/// case could legitimately come back in another case).
fn name() -> impl Strategy<Value = String> {
    vec("[a-z0-9_-]{1,12}", 1..5).prop_map(|labels| labels.join("."))
}

fn rdata() -> impl Strategy<Value = RData> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| RData::A(Ipv4Addr::from(a))),
        any::<[u8; 16]>().prop_map(|a| RData::Aaaa(Ipv6Addr::from(a))),
        name().prop_map(RData::Cname),
        (any::<u16>(), any::<u16>(), any::<u16>(), name())
            .prop_map(|(p, w, port, t)| RData::Srv(Srv::new(p, w, port, t))),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        prop_oneof![Just(SVC.to_owned()), name()],
        0..=i32::MAX as u32,
        rdata(),
    )
        .prop_map(|(name, ttl, data)| Record { name, ttl, data })
}

fn rd(data: &RData) -> Rd<'_> {
    match data {
        RData::A(a) => Rd::A(a.octets()),
        RData::Aaaa(a) => Rd::Aaaa(a.octets()),
        RData::Cname(n) => Rd::Cname(n),
        RData::Srv(s) => Rd::Srv(s.priority, s.weight, s.port, &s.target),
    }
}

fn build(id: u16, answers: &[Record], additional: &[Record], compress: bool, opt: bool) -> Vec<u8> {
    let mut b = Builder::response(id, SVC, 33).compress(compress);
    for r in answers {
        b = b.answer(&r.name, r.ttl, rd(&r.data));
    }
    for r in additional {
        b = b.additional(&r.name, r.ttl, rd(&r.data));
    }
    if opt {
        b = b.opt(1232);
    }
    b.build()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Set(usize, u8),
    Insert(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn mutate(msg: &mut Vec<u8>, m: &Mutation) {
    if msg.is_empty() {
        return;
    }
    let len = msg.len();
    match *m {
        Mutation::Flip(i, bit) => msg[i % len] ^= 1 << bit,
        Mutation::Truncate(i) => msg.truncate(i % len),
        Mutation::Set(i, b) => msg[i % len] = b,
        Mutation::Insert(i, b) => msg.insert(i % (len + 1), b),
    }
}

/// A valid header + question for id 0xBEEF, so random tails reach the
/// record parser instead of failing at the id check.
fn prefix() -> Vec<u8> {
    Builder::response(0xBEEF, SVC, 33).build()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..700), id: u16, t in 0..4usize) {
        let qtype = [QType::A, QType::Aaaa, QType::Srv, QType::Cname][t];
        let _ = parse_response(&bytes, id, SVC, qtype);
    }

    #[test]
    fn random_sections_never_panic(
        counts in any::<[u8; 6]>(),
        tail in vec(any::<u8>(), 0..600),
    ) {
        let mut msg = prefix();
        msg[6..12].copy_from_slice(&counts);
        msg.extend_from_slice(&tail);
        let _ = parse_response(&msg, 0xBEEF, SVC, QType::Srv);
    }

    #[test]
    fn mutated_responses_never_panic(
        answers in vec(record(), 0..6),
        additional in vec(record(), 0..4),
        compress: bool,
        opt: bool,
        mutations in vec(mutation(), 1..6),
    ) {
        let mut msg = build(0xBEEF, &answers, &additional, compress, opt);
        for m in &mutations {
            mutate(&mut msg, m);
            let _ = parse_response(&msg, 0xBEEF, SVC, QType::Srv);
        }
    }

    #[test]
    fn built_responses_round_trip(
        answers in vec(record(), 0..8),
        additional in vec(record(), 0..6),
        compress: bool,
        opt: bool,
        id: u16,
    ) {
        let msg = build(id, &answers, &additional, compress, opt);
        let parsed = parse_response(&msg, id, SVC, QType::Srv).unwrap();
        prop_assert_eq!(parsed.answers, answers);
        prop_assert_eq!(parsed.additional, additional);
        prop_assert!(!parsed.nxdomain);
        // The question is compared case-insensitively.
        let upper = parse_response(&msg, id, &SVC.to_ascii_uppercase(), QType::Srv);
        prop_assert!(upper.is_ok());
    }

    #[test]
    fn queries_round_trip(qname in name(), id: u16, t in 0..3usize) {
        let qtype = [QType::A, QType::Aaaa, QType::Srv][t];
        let mut q = encode_query(id, &qname, qtype).unwrap();
        prop_assert_eq!(parse_query(&q), Some((id, qname.clone(), qtype.code())));
        // Echoed back with QR set: a valid, empty response.
        q[2] |= 0x80;
        let r = parse_response(&q, id, &qname, qtype).unwrap();
        prop_assert!(r.answers.is_empty() && r.additional.is_empty());
    }

    #[test]
    fn lookup_survives_any_datagram(
        tails in vec(vec(any::<u8>(), 0..300), 1..8),
        matching_prefix: bool,
        seed: u64,
    ) {
        let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
        let conf = ResolvConf {
            nameservers: vec![server],
            timeout: Duration::from_secs(1),
            attempts: 2,
        };
        let now = Instant::now();
        let mut lookup = Lookup::srv_then_addrs(SVC, Some(("example.org", 5269)), &conf, seed, now);
        let (_, query) = lookup.poll_transmit().unwrap();
        for tail in &tails {
            let mut msg = if matching_prefix { prefix() } else { Vec::new() };
            msg.extend_from_slice(tail);
            if msg.len() >= 2 {
                msg[..2].copy_from_slice(&query[..2]);
            }
            lookup.handle_datagram(server, &msg, now);
            while lookup.poll_transmit().is_some() {}
        }
        let mut t = now;
        for _ in 0..20 {
            match lookup.next_timeout() {
                Some(deadline) => {
                    t = t.max(deadline);
                    lookup.handle_timeout(t);
                    while lookup.poll_transmit().is_some() {}
                }
                None => break,
            }
        }
        prop_assert!(lookup.is_finished());
    }
}
