//! End-to-end over real UDP sockets on 127.0.0.1: a tiny DNS server
//! thread answers from a table, the test plays the host of a `Lookup`.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::builder::{Builder, Rd};
use common::{Received, Reply, TestServer, drive};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use tocsin_dns::{DnsError, Lookup, ResolvConf};

const SVC: &str = "_im-servers._tcp.example.org";

/// The zone every server here serves (case-insensitively, like DNS).
fn zone(q: &Received) -> Vec<u8> {
    let b = Builder::response(q.id, &q.name, q.qtype).aa();
    let b = match (q.name.to_ascii_lowercase().as_str(), q.qtype) {
        (SVC, 33) => b
            .answer(SVC, 3600, Rd::Srv(20, 0, 5300, "backup.example.org"))
            .answer(SVC, 3600, Rd::Srv(10, 5, 5269, "im.example.org")),
        ("im.example.org", 1) => b.answer("im.example.org", 300, Rd::A([127, 0, 0, 10])),
        ("im.example.org", 28) => b.answer(
            "im.example.org",
            300,
            Rd::Aaaa([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]),
        ),
        ("backup.example.org", 1) => b
            .answer("backup.example.org", 120, Rd::A([127, 0, 0, 11]))
            .answer("backup.example.org", 120, Rd::A([127, 0, 0, 12])),
        ("backup.example.org", 28) => b,
        ("example.org", 1) => b.answer("example.org", 60, Rd::A([127, 0, 0, 20])),
        ("example.org", 28) => b,
        _ => b.rcode(3),
    };
    b.build()
}

fn conf(servers: &[SocketAddr], timeout_ms: u64) -> ResolvConf {
    ResolvConf {
        nameservers: servers.to_vec(),
        timeout: Duration::from_millis(timeout_ms),
        attempts: 2,
    }
}

fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn seed() -> u64 {
    // Any varying value will do for a test; the daemon uses getrandom.
    u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15
}

fn pairs(endpoints: &[tocsin_dns::Endpoint]) -> Vec<(&str, String)> {
    endpoints
        .iter()
        .map(|e| (e.host.as_str(), e.addr.to_string()))
        .collect()
}

#[test]
fn srv_then_addresses_over_udp() {
    let server = TestServer::start(|q| Reply::Answer(zone(q)));
    let mut lookup = Lookup::srv_then_addrs(
        SVC,
        Some(("example.org", 5269)),
        &conf(&[server.addr], 2000),
        seed(),
        Instant::now(),
    );
    let resolution = drive(&mut lookup, &client()).unwrap();
    assert_eq!(
        pairs(&resolution.endpoints),
        vec![
            ("im.example.org", "[2001:db8::10]:5269".to_owned()),
            ("im.example.org", "127.0.0.10:5269".to_owned()),
            ("backup.example.org", "127.0.0.11:5300".to_owned()),
            ("backup.example.org", "127.0.0.12:5300".to_owned()),
        ]
    );
    assert_eq!(resolution.min_ttl, Some(120));
    let received = server.received();
    assert_eq!(received.len(), 5);
    assert_eq!((received[0].name.as_str(), received[0].qtype), (SVC, 33));
    // The ids of the five queries are distinct.
    let mut ids: Vec<u16> = received.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[test]
fn additional_section_over_udp() {
    let server = TestServer::start(|q| {
        Reply::Answer(
            Builder::response(q.id, &q.name, q.qtype)
                .answer(SVC, 600, Rd::Srv(0, 0, 5269, "im.example.org"))
                .additional("im.example.org", 600, Rd::A([127, 0, 0, 10]))
                .opt(1232)
                .build(),
        )
    });
    let mut lookup = Lookup::srv_then_addrs(
        SVC,
        None,
        &conf(&[server.addr], 2000),
        seed(),
        Instant::now(),
    );
    let resolution = drive(&mut lookup, &client()).unwrap();
    assert_eq!(
        pairs(&resolution.endpoints),
        vec![("im.example.org", "127.0.0.10:5269".to_owned())]
    );
    assert_eq!(server.received().len(), 1);
}

#[test]
fn fallback_to_the_domain_over_udp() {
    let server = TestServer::start(|q| Reply::Answer(zone(q)));
    let mut lookup = Lookup::srv_then_addrs(
        "_im-servers._tcp.elsewhere.example",
        Some(("example.org", 5269)),
        &conf(&[server.addr], 2000),
        seed(),
        Instant::now(),
    );
    let resolution = drive(&mut lookup, &client()).unwrap();
    assert_eq!(
        pairs(&resolution.endpoints),
        vec![("example.org", "127.0.0.20:5269".to_owned())]
    );
}

#[test]
fn dropped_first_query_is_retransmitted() {
    let server = TestServer::start(|q| {
        if q.qtype == 33 && q.repeat == 0 {
            Reply::Drop
        } else {
            Reply::Answer(zone(q))
        }
    });
    let started = Instant::now();
    let mut lookup = Lookup::srv_then_addrs(SVC, None, &conf(&[server.addr], 300), seed(), started);
    let resolution = drive(&mut lookup, &client()).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(resolution.endpoints.len(), 4);
    let srv: Vec<Received> = server
        .received()
        .into_iter()
        .filter(|r| r.qtype == 33)
        .collect();
    assert_eq!(srv.len(), 2);
    // A retransmission, not a new query: same id, same source.
    assert_eq!(srv[0].id, srv[1].id);
    assert_eq!(srv[0].from, srv[1].from);
}

#[test]
fn rotates_to_the_second_nameserver() {
    // The first "nameserver" is a socket nobody reads.
    let dead = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = TestServer::start(|q| Reply::Answer(zone(q)));
    let mut lookup = Lookup::addrs(
        "backup.example.org",
        5300,
        &conf(&[dead.local_addr().unwrap(), server.addr], 200),
        seed(),
        Instant::now(),
    );
    let resolution = drive(&mut lookup, &client()).unwrap();
    assert_eq!(resolution.endpoints.len(), 2);
    // AAAA and A both went to the dead server first.
    dead.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    let mut dead_got = 0;
    while dead.recv_from(&mut buf).is_ok() {
        dead_got += 1;
    }
    assert_eq!(dead_got, 2);
}

#[test]
fn forged_answer_from_another_port_is_ignored() {
    let server = TestServer::start(|q| {
        let forged = Builder::response(q.id, &q.name, q.qtype)
            .answer(&q.name, 600, Rd::A([127, 6, 6, 6]))
            .build();
        Reply::SpoofThenAnswer {
            forged,
            genuine: zone(q),
        }
    });
    let mut lookup = Lookup::addrs(
        "im.example.org",
        5269,
        &conf(&[server.addr], 2000),
        seed(),
        Instant::now(),
    );
    let resolution = drive(&mut lookup, &client()).unwrap();
    assert_eq!(
        pairs(&resolution.endpoints),
        vec![
            ("im.example.org", "[2001:db8::10]:5269".to_owned()),
            ("im.example.org", "127.0.0.10:5269".to_owned()),
        ]
    );
}

#[test]
fn silent_server_times_out() {
    let server = TestServer::start(|_| Reply::Drop);
    let started = Instant::now();
    let mut lookup = Lookup::srv_then_addrs(SVC, None, &conf(&[server.addr], 100), seed(), started);
    let error = drive(&mut lookup, &client()).unwrap_err();
    assert_eq!(
        error,
        DnsError::Timeout {
            name: SVC.into(),
            qtype: tocsin_dns::QType::Srv,
            attempts: 2
        }
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.received().len(), 2);
}

#[test]
fn servfail_everywhere_reports_the_server() {
    let server = TestServer::start(|q| {
        Reply::Answer(Builder::response(q.id, &q.name, q.qtype).rcode(2).build())
    });
    let mut lookup = Lookup::srv_then_addrs(
        SVC,
        None,
        &conf(&[server.addr], 2000),
        seed(),
        Instant::now(),
    );
    let error = drive(&mut lookup, &client()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("DNS server {} answered SERVFAIL (2) for {SVC}", server.addr)
    );
}
