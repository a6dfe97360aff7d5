//! The blocking `Client` against a real 127.0.0.1 server built from
//! `ServerSession`: plaintext, mutual TLS, failover with resend, refusal,
//! and no server at all.

#![allow(clippy::unwrap_used)] // fixtures

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::net::{Pki, ServerOpts, TestServer, dead_addr};
use support::{Policy, Store};
use tocsin_s2s::{Client, ClientConfig, ClientError, ClientOptions, Code, Event, Outcome};

fn opts(servers: Vec<String>) -> ClientOptions {
    let mut session = ClientConfig::new("mta1");
    session.namespaces = vec![("m".into(), "mail".into())];
    session.default_origin_host = Some("mx1.example".into());
    let mut o = ClientOptions::new(servers, session);
    o.timeout = Some(Duration::from_secs(20));
    o.backoff_initial = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(200);
    o.connect_timeout = Duration::from_secs(2);
    o
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::new(
                format!("lb-{i}"),
                "mail.MessageNew",
                format!("user{}", i % 7),
                format!("message {i}"),
            )
        })
        .collect()
}

#[test]
fn plaintext_send_and_flush() {
    let server = TestServer::start(ServerOpts::default());
    let mut c = Client::connect(opts(vec![server.addr.clone()])).unwrap();
    assert_eq!(c.server(), Some(server.addr.as_str()));
    let evs = events(2000);
    c.send_all(&evs).unwrap();
    let results = c.flush().unwrap();
    assert_eq!(results.len(), 2000);
    assert!(results.iter().all(|r| r.outcome == Outcome::Accepted));
    assert_eq!(results[0].source_event_id, "lb-0");
    assert_eq!(results[1999].source_event_id, "lb-1999");
    assert_eq!(server.stored_ids().len(), 2000);
    let closing = c.close().unwrap();
    assert!(closing.is_empty());
}

#[test]
fn mutual_tls_send_and_flush() {
    let pki = Pki::new();
    let server = TestServer::start(ServerOpts {
        tls: Some(pki.server_config()),
        ..ServerOpts::default()
    });
    let mut o = opts(vec![server.addr.clone()]);
    o.tls = Some(pki.client_config());
    let mut c = Client::connect(o).unwrap();
    for e in &events(300) {
        c.send(e).unwrap();
    }
    let results = c.flush().unwrap();
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(|r| r.outcome == Outcome::Accepted));
    assert_eq!(
        *server.peer_certs_seen.lock().unwrap(),
        1,
        "client presented its certificate"
    );
    c.close().unwrap();
}

#[test]
fn tls_without_a_client_certificate_is_refused() {
    let pki = Pki::new();
    let server = TestServer::start(ServerOpts {
        tls: Some(pki.server_config()),
        ..ServerOpts::default()
    });
    let mut o = opts(vec![server.addr.clone()]);
    o.tls = Some(tocsin_s2s::tls::client_config_from_pem(pki.ca_pem.as_bytes(), None).unwrap());
    o.timeout = Some(Duration::from_millis(800));
    let err = Client::connect(o).unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    assert!(server.stored_ids().is_empty());
}

#[test]
fn rejections_come_back_per_event() {
    let server = TestServer::start(ServerOpts {
        policy: Policy {
            reject_users: vec!["user3".into()],
            ..Policy::default()
        },
        ..ServerOpts::default()
    });
    let mut c = Client::connect(opts(vec![server.addr.clone()])).unwrap();
    c.send_all(&events(14)).unwrap();
    let results = c.flush().unwrap();
    let rejected: Vec<_> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => Some((r.source_event_id.as_str(), *code)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejected,
        [
            ("lb-3", Code::UnauthorizedUser),
            ("lb-10", Code::UnauthorizedUser)
        ]
    );
}

#[test]
fn refused_source_is_a_final_error() {
    let server = TestServer::start(ServerOpts {
        policy: Policy {
            refuse: Some(Code::UnauthorizedSource),
            ..Policy::default()
        },
        ..ServerOpts::default()
    });
    let err = Client::connect(opts(vec![server.addr.clone()])).unwrap_err();
    match err {
        ClientError::Refused { code, text, .. } => {
            assert_eq!(code, Code::UnauthorizedSource);
            assert_eq!(text, "source not provisioned");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn no_server_reachable() {
    let mut o = opts(vec![dead_addr(), dead_addr()]);
    o.timeout = Some(Duration::from_millis(600));
    let t0 = Instant::now();
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(err, ClientError::Unreachable { attempts, .. } if attempts >= 2),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[test]
fn walks_the_list_past_dead_and_standby_servers() {
    let standby = TestServer::start(ServerOpts {
        policy: Policy {
            standby: true,
            ..Policy::default()
        },
        ..ServerOpts::default()
    });
    let active = TestServer::start(ServerOpts::default());
    let mut c = Client::connect(opts(vec![
        dead_addr(),
        standby.addr.clone(),
        active.addr.clone(),
    ]))
    .unwrap();
    assert_eq!(c.server(), Some(active.addr.as_str()));
    c.send_all(&events(10)).unwrap();
    assert_eq!(c.flush().unwrap().len(), 10);
    assert_eq!(active.stored_ids().len(), 10);
    assert!(standby.stored_ids().is_empty());
}

#[test]
fn failover_mid_stream_resends_unacked_events() {
    // two pool members replicating one store; the first crashes after
    // storing 500 events, losing the ACKs of its last batch
    let store = Arc::new(Mutex::new(Store::default()));
    let first = TestServer::start_with_store(
        ServerOpts {
            crash_after: Some(500),
            ..ServerOpts::default()
        },
        store.clone(),
    );
    let second = TestServer::start_with_store(ServerOpts::default(), store.clone());
    let mut c = Client::connect(opts(vec![first.addr.clone(), second.addr.clone()])).unwrap();
    assert_eq!(c.server(), Some(first.addr.as_str()));
    let evs = events(3000);
    c.send_all(&evs).unwrap();
    let results = c.flush().unwrap();
    assert_eq!(c.server(), Some(second.addr.as_str()), "failed over");
    assert_eq!(results.len(), 3000, "one outcome per event");
    assert!(results.iter().all(|r| r.outcome == Outcome::Accepted));
    let mut ids: Vec<_> = results.iter().map(|r| r.source_event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3000);
    let s = store.lock().unwrap();
    assert_eq!(s.events.len(), 3000, "nothing lost, nothing stored twice");
    assert!(
        s.duplicates > 0,
        "unacked-but-stored events were resent and deduped"
    );
    // per-user order held across the failover
    for u in 0..7 {
        let user = format!("user{u}");
        let seq: Vec<usize> = s
            .events
            .iter()
            .filter(|e| e.user == user)
            .map(|e| e.id[3..].parse().unwrap())
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "{user}");
    }
    drop(s);
    first.join();
}

#[test]
fn graceful_goodbye_moves_the_source_to_the_next_server() {
    let store = Arc::new(Mutex::new(Store::default()));
    let first = TestServer::start_with_store(
        ServerOpts {
            goodbye_after: Some(300),
            ..ServerOpts::default()
        },
        store.clone(),
    );
    let second = TestServer::start_with_store(ServerOpts::default(), store.clone());
    let mut c = Client::connect(opts(vec![first.addr.clone(), second.addr.clone()])).unwrap();
    // more than one in-flight window, so the goodbye lands mid-stream
    c.send_all(&events(10_000)).unwrap();
    let results = c.flush().unwrap();
    assert_eq!(results.len(), 10_000);
    assert!(results.iter().all(|r| r.outcome == Outcome::Accepted));
    assert_eq!(c.server(), Some(second.addr.as_str()), "moved on");
    let s = store.lock().unwrap();
    assert_eq!(s.events.len(), 10_000);
}

#[test]
fn exchanges_never_sit_out_the_idle_poll_cap() {
    // The client wakes at least once a second even when idle; a round trip
    // that waits for that cap instead of the socket shows up as >= 1 s.
    let server = TestServer::start(ServerOpts::default());
    let t0 = Instant::now();
    let mut c = Client::connect(opts(vec![server.addr.clone()])).unwrap();
    c.send_all(&events(10)).unwrap();
    assert_eq!(c.flush().unwrap().len(), 10);
    c.send(&events(11)[10]).unwrap();
    assert_eq!(c.flush().unwrap().len(), 1);
    c.close().unwrap();
    // ~5 ms normally; each wait on the cap would add >= 1 s, and there are
    // four round trips, so 2.5 s leaves room for a loaded CI machine
    assert!(
        t0.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        t0.elapsed()
    );
}
