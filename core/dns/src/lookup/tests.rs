//! State machine tests with a scripted in-memory network and a synthetic
//! clock (the real-socket tests are in tests/udp.rs).

use super::*;
use crate::test_builder::{Builder, Rd, parse_query};

const SVC: &str = "_im-servers._tcp.example.org";
const V6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn ns(i: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 50 + i], 53))
}

fn conf(servers: u8) -> ResolvConf {
    ResolvConf {
        nameservers: (0..servers).map(ns).collect(),
        timeout: Duration::from_secs(1),
        attempts: 2,
    }
}

/// A query as the server saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    to: SocketAddr,
    id: u16,
    name: String,
    qtype: u16,
}

/// Runs the lookup against `server`, which answers a query (or drops it
/// with `None`). Advances the clock to the next timeout whenever nothing
/// is in flight. Returns the queries the network saw.
fn run(
    lookup: &mut Lookup,
    mut now: Instant,
    mut server: impl FnMut(&Seen) -> Option<Vec<u8>>,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    for _ in 0..200 {
        if lookup.is_finished() {
            return seen;
        }
        let mut replies = Vec::new();
        while let Some((to, data)) = lookup.poll_transmit() {
            let (id, name, qtype) = parse_query(&data).unwrap();
            let q = Seen {
                to,
                id,
                name,
                qtype,
            };
            if let Some(reply) = server(&q) {
                replies.push((to, reply));
            }
            seen.push(q);
        }
        if replies.is_empty() {
            match lookup.next_timeout() {
                Some(t) => {
                    now = now.max(t);
                    lookup.handle_timeout(now);
                }
                None => break,
            }
        }
        for (from, reply) in replies {
            lookup.handle_datagram(from, &reply, now);
        }
    }
    assert!(lookup.is_finished(), "lookup did not finish");
    seen
}

fn endpoints(lookup: &Lookup) -> Vec<(String, String)> {
    match lookup.result() {
        Some(Ok(r)) => r
            .endpoints
            .iter()
            .map(|e| (e.host.clone(), e.addr.to_string()))
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn error(lookup: &Lookup) -> DnsError {
    match lookup.result() {
        Some(Err(e)) => e.clone(),
        other => panic!("{other:?}"),
    }
}

/// A zone: SRV for SVC (two targets), addresses for them and the domain.
fn zone(q: &Seen) -> Option<Vec<u8>> {
    let b = Builder::response(q.id, &q.name, q.qtype);
    Some(
        match (q.name.as_str(), q.qtype) {
            (SVC, 33) => b
                .answer(SVC, 600, Rd::Srv(20, 0, 5270, "backup.example.org"))
                .answer(SVC, 300, Rd::Srv(10, 0, 5269, "im.example.org")),
            ("im.example.org", 1) => b.answer("im.example.org", 120, Rd::A([192, 0, 2, 1])),
            ("im.example.org", 28) => b.answer("im.example.org", 90, Rd::Aaaa(V6)),
            ("backup.example.org", 1) => b
                .answer("backup.example.org", 60, Rd::Cname("host.example.net"))
                .answer("host.example.net", 200, Rd::A([198, 51, 100, 9])),
            ("backup.example.org", 28) => b,
            ("example.org", 1) => b.answer("example.org", 50, Rd::A([203, 0, 113, 5])),
            ("example.org", 28) => b,
            _ => b.rcode(3),
        }
        .build(),
    )
}

#[test]
fn ip_literals_resolve_without_queries() {
    let now = Instant::now();
    for (host, addr) in [
        ("192.0.2.7", "192.0.2.7:5269"),
        ("2001:db8::7", "[2001:db8::7]:5269"),
        ("[2001:db8::7]", "[2001:db8::7]:5269"),
    ] {
        let mut l = Lookup::addrs(host, 5269, &conf(1), 1, now);
        assert!(l.is_finished());
        assert_eq!(l.poll_transmit(), None);
        assert_eq!(l.next_timeout(), None);
        assert_eq!(endpoints(&l), vec![(host.to_owned(), addr.to_owned())]);
        let Some(Ok(r)) = l.take_result() else {
            panic!()
        };
        assert_eq!(r.min_ttl, None);
        assert!(l.is_finished());
        assert!(l.result().is_none());
    }
    // Even with no nameserver configured.
    let empty = ResolvConf {
        nameservers: Vec::new(),
        ..ResolvConf::default()
    };
    let l = Lookup::addrs("192.0.2.7", 1, &empty, 1, now);
    assert!(matches!(l.result(), Some(Ok(_))));
    let l = Lookup::addrs("im.example.org", 1, &empty, 1, now);
    assert_eq!(error(&l), DnsError::NoNameservers);
}

#[test]
fn srv_then_address_queries_in_srv_order() {
    let now = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 5269)), &conf(1), 42, now);
    let seen = run(&mut l, now, zone);
    assert_eq!(
        endpoints(&l),
        vec![
            ("im.example.org".into(), "[2001:db8::1]:5269".into()),
            ("im.example.org".into(), "192.0.2.1:5269".into()),
            ("backup.example.org".into(), "198.51.100.9:5270".into()),
        ]
    );
    let Some(Ok(r)) = l.result() else { panic!() };
    assert_eq!(r.min_ttl, Some(60));
    // One SRV query, then AAAA and A for both targets.
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0].qtype, 33);
    let mut rest: Vec<(String, u16)> = seen[1..]
        .iter()
        .map(|s| (s.name.clone(), s.qtype))
        .collect();
    rest.sort();
    assert_eq!(
        rest,
        vec![
            ("backup.example.org".into(), 1),
            ("backup.example.org".into(), 28),
            ("im.example.org".into(), 1),
            ("im.example.org".into(), 28),
        ]
    );
}

#[test]
fn additional_section_saves_queries() {
    let now = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(1), 7, now);
    let seen = run(&mut l, now, |q| {
        Some(
            Builder::response(q.id, &q.name, q.qtype)
                .answer(SVC, 300, Rd::Srv(0, 0, 5269, "im.example.org"))
                .additional("im.example.org", 30, Rd::A([192, 0, 2, 1]))
                .additional("im.example.org", 40, Rd::Aaaa(V6))
                .additional("other.example.org", 40, Rd::A([6, 6, 6, 6]))
                .build(),
        )
    });
    assert_eq!(seen.len(), 1);
    assert_eq!(
        endpoints(&l),
        vec![
            ("im.example.org".into(), "[2001:db8::1]:5269".into()),
            ("im.example.org".into(), "192.0.2.1:5269".into()),
        ]
    );
    let Some(Ok(r)) = l.result() else { panic!() };
    assert_eq!(r.min_ttl, Some(30));
}

#[test]
fn nxdomain_falls_back_to_the_domain() {
    let now = Instant::now();
    let missing = "_im-servers._tcp.nosrv.example";
    let mut l = Lookup::srv_then_addrs(missing, Some(("example.org", 5269)), &conf(1), 3, now);
    let seen = run(&mut l, now, zone);
    assert_eq!(
        endpoints(&l),
        vec![("example.org".into(), "203.0.113.5:5269".into())]
    );
    assert_eq!(seen.len(), 3);
    // And an IP-literal fallback needs no further query.
    let mut l = Lookup::srv_then_addrs(missing, Some(("192.0.2.9", 1)), &conf(1), 3, now);
    assert_eq!(run(&mut l, now, zone).len(), 1);
    assert_eq!(
        endpoints(&l),
        vec![("192.0.2.9".into(), "192.0.2.9:1".into())]
    );
}

#[test]
fn no_srv_records_fall_back_too() {
    let now = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 5269)), &conf(1), 3, now);
    run(&mut l, now, |q| match q.qtype {
        33 => Some(Builder::response(q.id, &q.name, 33).build()),
        _ => zone(q),
    });
    assert_eq!(
        endpoints(&l),
        vec![("example.org".into(), "203.0.113.5:5269".into())]
    );
}

#[test]
fn without_fallback_missing_srv_is_an_error() {
    let now = Instant::now();
    let mut l = Lookup::srv_then_addrs("_im-servers._tcp.nosrv.example", None, &conf(1), 3, now);
    run(&mut l, now, zone);
    assert_eq!(
        error(&l),
        DnsError::NoSuchName {
            name: "_im-servers._tcp.nosrv.example".into()
        }
    );
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(1), 3, now);
    run(&mut l, now, |q| {
        Some(Builder::response(q.id, &q.name, 33).build())
    });
    assert_eq!(
        error(&l),
        DnsError::NoData {
            name: SVC.into(),
            qtype: QType::Srv
        }
    );
}

#[test]
fn root_target_means_no_service() {
    let now = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 5269)), &conf(1), 3, now);
    let seen = run(&mut l, now, |q| {
        Some(
            Builder::response(q.id, &q.name, 33)
                .answer(SVC, 300, Rd::Srv(0, 0, 0, "."))
                .build(),
        )
    });
    assert_eq!(seen.len(), 1);
    assert_eq!(
        error(&l),
        DnsError::ServiceNotAvailable { name: SVC.into() }
    );
}

#[test]
fn unknown_hosts() {
    let now = Instant::now();
    let mut l = Lookup::addrs("gone.example", 1, &conf(1), 3, now);
    run(&mut l, now, zone);
    assert_eq!(
        error(&l),
        DnsError::NoSuchName {
            name: "gone.example".into()
        }
    );
    // Exists, but no addresses: NODATA for both types.
    let mut l = Lookup::addrs("empty.example", 1, &conf(1), 3, now);
    run(&mut l, now, |q| {
        Some(Builder::response(q.id, &q.name, q.qtype).build())
    });
    assert_eq!(
        error(&l),
        DnsError::NoAddresses {
            name: "empty.example".into()
        }
    );
}

#[test]
fn retransmits_over_servers_then_times_out() {
    let t0 = Instant::now();
    let mut l = Lookup::addrs("im.example.org", 1, &conf(2), 9, t0);
    assert_eq!(l.next_timeout(), Some(t0), "unsent queries are due now");
    let seen = run(&mut l, t0, |_| None);
    // 2 attempts × 2 servers, for AAAA and A, alternating servers.
    let to = |qtype| -> Vec<SocketAddr> {
        seen.iter()
            .filter(|s| s.qtype == qtype)
            .map(|s| s.to)
            .collect()
    };
    assert_eq!(to(28), vec![ns(0), ns(1), ns(0), ns(1)]);
    assert_eq!(to(1), vec![ns(0), ns(1), ns(0), ns(1)]);
    // The same id for every transmission of one query.
    assert!(
        seen.iter()
            .filter(|s| s.qtype == 1)
            .all(|s| s.id == seen[1].id)
    );
    let e = error(&l);
    assert!(matches!(e, DnsError::Timeout { attempts: 4, .. }), "{e:?}");
    assert_eq!(l.poll_transmit(), None);
    assert_eq!(l.next_timeout(), None);
}

#[test]
fn timer_follows_the_clock() {
    let t0 = Instant::now();
    let mut l = Lookup::addrs("im.example.org", 1, &conf(1), 9, t0);
    assert!(l.poll_transmit().is_some());
    assert!(l.poll_transmit().is_some());
    assert_eq!(l.poll_transmit(), None);
    assert_eq!(l.next_timeout(), Some(t0 + Duration::from_secs(1)));
    // Too early: nothing happens.
    l.handle_timeout(t0 + Duration::from_millis(999));
    assert_eq!(l.poll_transmit(), None);
    l.handle_timeout(t0 + Duration::from_secs(1));
    assert!(l.poll_transmit().is_some());
    assert!(l.poll_transmit().is_some());
    assert_eq!(l.next_timeout(), Some(t0 + Duration::from_secs(2)));
    l.handle_timeout(t0 + Duration::from_secs(5));
    assert!(matches!(error(&l), DnsError::Timeout { attempts: 2, .. }));
}

#[test]
fn dropped_first_query_is_retransmitted() {
    let t0 = Instant::now();
    let mut dropped = false;
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(1), 11, t0);
    let seen = run(&mut l, t0, |q| {
        if q.qtype == 33 && !dropped {
            dropped = true;
            return None;
        }
        zone(q)
    });
    assert_eq!(seen.iter().filter(|s| s.qtype == 33).count(), 2);
    assert_eq!(endpoints(&l).len(), 3);
}

#[test]
fn server_failure_moves_to_the_next_server() {
    let t0 = Instant::now();
    let mut l = Lookup::addrs("im.example.org", 1, &conf(2), 5, t0);
    let seen = run(&mut l, t0, |q| {
        if q.to == ns(0) {
            Some(Builder::response(q.id, &q.name, q.qtype).rcode(2).build())
        } else {
            zone(q)
        }
    });
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(endpoints(&l).len(), 2);

    // Everyone refuses: the last failure is reported, with the server.
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(2), 5, t0);
    let seen = run(&mut l, t0, |q| {
        Some(Builder::response(q.id, &q.name, q.qtype).rcode(5).build())
    });
    assert_eq!(seen.len(), 4);
    assert_eq!(
        error(&l),
        DnsError::ServerFailure {
            name: SVC.into(),
            rcode: 5,
            server: Some(ns(1))
        }
    );
}

/// Drives a lookup whose every UDP answer is truncated; `tcp` answers the
/// query as it came over TCP (`Err` for a failed connection).
fn run_truncated(
    l: &mut Lookup,
    t0: Instant,
    mut tcp: impl FnMut(&TcpQuery, &Seen) -> Result<Vec<u8>, &'static str>,
) -> Vec<TcpQuery> {
    let mut asked = Vec::new();
    for _ in 0..50 {
        if l.is_finished() {
            break;
        }
        while let Some((to, data)) = l.poll_transmit() {
            let (id, name, qtype) = parse_query(&data).unwrap();
            l.handle_datagram(to, &Builder::response(id, &name, qtype).tc().build(), t0);
        }
        while let Some(q) = l.poll_tcp() {
            let len = usize::from(u16::from_be_bytes([q.message[0], q.message[1]]));
            assert_eq!(len, q.message.len() - 2, "length prefix");
            let (id, name, qtype) = parse_query(&q.message[2..]).unwrap();
            let seen = Seen {
                to: q.server,
                id,
                name,
                qtype,
            };
            match tcp(&q, &seen) {
                Ok(reply) => l.handle_tcp_response(q.token, &reply, t0),
                Err(why) => l.handle_tcp_failure(q.token, why, t0),
            }
            asked.push(q);
        }
    }
    asked
}

#[test]
fn srv_truncated_over_udp_is_asked_again_over_tcp() {
    let t0 = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 1)), &conf(2), 5, t0);
    let asked = run_truncated(&mut l, t0, |_, q| {
        Ok(match q.qtype {
            33 => Builder::response(q.id, &q.name, q.qtype)
                .answer(SVC, 300, Rd::Srv(10, 5, 5269, "im.example.org"))
                .additional("im.example.org", 300, Rd::A([192, 0, 2, 9]))
                .build(),
            _ => Builder::response(q.id, &q.name, q.qtype).build(),
        })
    });
    assert!(l.is_finished());
    assert_eq!(
        endpoints(&l),
        [("im.example.org".to_string(), "192.0.2.9:5269".to_string())]
    );
    // The same server the truncated answer came from.
    assert_eq!(asked[0].server, ns(0));
}

#[test]
fn a_failed_tcp_retry_fails_the_lookup_with_the_reason() {
    let t0 = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 1)), &conf(2), 5, t0);
    run_truncated(&mut l, t0, |_, _| Err("connection refused"));
    assert_eq!(
        error(&l),
        DnsError::TcpFailed {
            name: SVC.into(),
            server: ns(0),
            reason: "connection refused".into(),
        }
    );
}

#[test]
fn truncated_over_tcp_or_a_silent_server_is_final() {
    let t0 = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 1)), &conf(1), 5, t0);
    run_truncated(&mut l, t0, |_, q| {
        Ok(Builder::response(q.id, &q.name, q.qtype).tc().build())
    });
    assert_eq!(error(&l), DnsError::Truncated { name: SVC.into() });

    // Handed out over TCP and never answered: the deadline fails it.
    let mut l = Lookup::srv_then_addrs(SVC, Some(("example.org", 1)), &conf(1), 5, t0);
    let (to, data) = l.poll_transmit().unwrap();
    let (id, name, qtype) = parse_query(&data).unwrap();
    l.handle_datagram(to, &Builder::response(id, &name, qtype).tc().build(), t0);
    let q = l.poll_tcp().expect("asked over TCP");
    assert!(l.poll_tcp().is_none());
    let deadline = l.next_timeout().unwrap();
    l.handle_timeout(deadline);
    assert!(l.is_finished());
    assert!(matches!(error(&l), DnsError::TcpFailed { .. }));
    // A late answer for the token changes nothing.
    l.handle_tcp_response(q.token, &[], deadline);
    assert!(matches!(error(&l), DnsError::TcpFailed { .. }));
}

#[test]
fn spoofed_and_stray_datagrams_are_ignored() {
    let t0 = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(2), 13, t0);
    let (to, query) = l.poll_transmit().unwrap();
    assert_eq!(to, ns(0));
    let (id, _, _) = parse_query(&query).unwrap();
    let genuine = Builder::response(id, SVC, 33)
        .answer(SVC, 300, Rd::Srv(0, 0, 5269, "im.example.org"))
        .additional("im.example.org", 30, Rd::A([192, 0, 2, 1]))
        .build();
    let forged = Builder::response(id, SVC, 33)
        .answer(SVC, 300, Rd::Srv(0, 0, 5269, "evil.example"))
        .additional("evil.example", 30, Rd::A([6, 6, 6, 6]))
        .build();
    // From a server the query was not sent to (yet), from another port,
    // from a stranger.
    for from in [
        ns(1),
        SocketAddr::from(([192, 0, 2, 50], 5353)),
        "203.0.113.66:53".parse().unwrap(),
    ] {
        l.handle_datagram(from, &forged, t0);
    }
    // Wrong id, wrong question, not a response, garbage, empty.
    let wrong_id = Builder::response(id ^ 1, SVC, 33).build();
    let wrong_name = Builder::response(id, "_im-servers._tcp.evil.example", 33).build();
    let wrong_type = Builder::response(id, SVC, 1).build();
    let mut not_response = forged.clone();
    not_response[2] &= 0x7f;
    for data in [
        &wrong_id[..],
        &wrong_name,
        &wrong_type,
        &not_response,
        &[0xde],
        &[],
    ] {
        l.handle_datagram(ns(0), data, t0);
    }
    // A malformed one with the right id and question is remembered but
    // does not end the lookup.
    let mut malformed = forged.clone();
    malformed.truncate(malformed.len() - 3);
    l.handle_datagram(ns(0), &malformed, t0);
    assert!(!l.is_finished());
    assert_eq!(l.poll_transmit(), None);
    // The genuine answer, from the IPv4-mapped form of the server address.
    let mapped = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(0xffff_c000_0232u128)), 53);
    l.handle_datagram(mapped, &genuine, t0);
    assert_eq!(
        endpoints(&l),
        vec![("im.example.org".into(), "192.0.2.1:5269".into())]
    );
    // A duplicate after the end changes nothing.
    l.handle_datagram(ns(0), &forged, t0);
    assert_eq!(endpoints(&l)[0].0, "im.example.org");
}

#[test]
fn malformed_answers_are_reported_when_retries_run_out() {
    let t0 = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(1), 17, t0);
    run(&mut l, t0, |q| {
        let mut m = Builder::response(q.id, &q.name, q.qtype)
            .answer(SVC, 300, Rd::Srv(0, 0, 5269, "im.example.org"))
            .build();
        m.truncate(m.len() - 1);
        Some(m)
    });
    assert!(matches!(error(&l), DnsError::Malformed { .. }));
}

#[test]
fn partial_answers_still_resolve() {
    // AAAA never answered, A fine: the IPv4 address is used.
    let t0 = Instant::now();
    let mut l = Lookup::addrs("im.example.org", 5269, &conf(1), 19, t0);
    run(&mut l, t0, |q| if q.qtype == 28 { None } else { zone(q) });
    assert_eq!(
        endpoints(&l),
        vec![("im.example.org".into(), "192.0.2.1:5269".into())]
    );
    // Both fail: the first error.
    let mut l = Lookup::addrs("im.example.org", 5269, &conf(1), 19, t0);
    run(&mut l, t0, |q| {
        if q.qtype == 28 {
            None
        } else {
            Some(Builder::response(q.id, &q.name, q.qtype).rcode(2).build())
        }
    });
    let e = error(&l);
    assert!(
        matches!(e, DnsError::ServerFailure { .. } | DnsError::Timeout { .. }),
        "{e:?}"
    );
}

#[test]
fn hostile_srv_targets_are_bounded_and_checked() {
    let t0 = Instant::now();
    let mut l = Lookup::srv_then_addrs(SVC, None, &conf(1), 23, t0);
    let seen = run(&mut l, t0, |q| {
        let mut b = Builder::response(q.id, &q.name, q.qtype);
        if q.qtype == 33 {
            for i in 0..40 {
                b = b.answer(SVC, 300, Rd::Srv(0, 1, 1, &format!("t{i}.example")));
            }
            // A target that is not a valid query name.
            b = b.answer(SVC, 300, Rd::Raw(33, b"\0\0\0\0\0\x01\x03a b\0".to_vec()));
        } else {
            b = b.answer(&q.name, 5, Rd::A([192, 0, 2, 1]));
        }
        Some(b.build())
    });
    // At most MAX_TARGETS targets, two queries each, plus the SRV query.
    assert!(seen.len() <= 1 + 2 * MAX_TARGETS, "{}", seen.len());
    // Every address is the same: deduplicated to one endpoint.
    assert_eq!(endpoints(&l).len(), 1);
}

#[test]
fn invalid_names_fail_at_once() {
    let t0 = Instant::now();
    let l = Lookup::srv_then_addrs("_im-servers._tcp..org", None, &conf(1), 1, t0);
    assert!(matches!(error(&l), DnsError::InvalidName { .. }));
    let l = Lookup::addrs(&"a".repeat(64), 1, &conf(1), 1, t0);
    assert!(matches!(error(&l), DnsError::InvalidName { .. }));
}

#[test]
fn ids_are_random_and_distinct() {
    let t0 = Instant::now();
    let mut ids = Vec::new();
    for seed in 0..50 {
        let mut l = Lookup::addrs("im.example.org", 1, &conf(1), seed, t0);
        while let Some((_, q)) = l.poll_transmit() {
            ids.push(parse_query(&q).unwrap().0);
        }
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert!(sorted.len() > 95, "ids repeat too often: {ids:?}");
    let sequential = ids
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    assert!(sequential < 3, "{ids:?}");
}
