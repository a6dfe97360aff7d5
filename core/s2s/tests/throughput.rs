//! Throughput figures (ignored by default; run in release):
//! `cargo test --release -p tocsin-s2s --test throughput -- --ignored --nocapture`

#![allow(clippy::unwrap_used)] // fixtures

mod support;

use std::time::{Duration, Instant};

use support::net::{ServerOpts, TestServer};
use support::{Policy, Store, serve, shuttle};
use tocsin_s2s::{
    Client, ClientConfig, ClientEvent, ClientOptions, ClientSession, Endpoint, Event, ServerConfig,
    ServerSession,
};

const N: usize = 300_000;

fn events() -> Vec<Event> {
    (0..N)
        .map(|i| {
            let mut e = Event::new(
                format!("tp-{i}"),
                "mail.MessageNew",
                format!("user{}@example.org", i % 1000),
                "New message from someone",
            );
            e.attributes = vec![("uid".into(), i.to_string())];
            e
        })
        .collect()
}

fn cfg() -> ClientConfig {
    let mut c = ClientConfig::new("bench");
    c.namespaces = vec![("m".into(), "mail".into())];
    c.default_origin_host = Some("mx1.example".into());
    c
}

#[test]
#[ignore = "throughput figure; run in release"]
fn sessions_in_memory() {
    let evs = events();
    let now = Instant::now();
    let mut c = ClientSession::new(cfg(), now).unwrap();
    let mut s = ServerSession::new(ServerConfig::default(), now);
    let policy = Policy {
        discard: true,
        ..Policy::default()
    };
    let mut store = Store::default();
    let t0 = Instant::now();
    let mut next = 0;
    let mut done = 0;
    while done < N {
        while next < N && c.can_send() {
            c.send(now, &evs[next]).unwrap();
            next += 1;
        }
        shuttle(&mut c, &mut s);
        serve(&mut s, now, &mut store, &policy).unwrap();
        shuttle(&mut s, &mut c);
        while let Some(ev) = c.poll(now).unwrap() {
            if let ClientEvent::Result(_) = ev {
                done += 1;
            }
        }
    }
    let dt = t0.elapsed();
    println!(
        "in-memory sessions: {N} events in {dt:?} = {:.0} events/s",
        N as f64 / dt.as_secs_f64()
    );
}

#[test]
#[ignore = "throughput figure; run in release"]
fn loopback_tcp() {
    let evs = events();
    let server = TestServer::start(ServerOpts {
        policy: Policy {
            discard: true,
            ..Policy::default()
        },
        ..ServerOpts::default()
    });
    let mut o = ClientOptions::new(vec![server.addr.clone()], cfg());
    o.timeout = Some(Duration::from_secs(120));
    let mut client = Client::connect(o).unwrap();
    let t0 = Instant::now();
    client.send_all(&evs).unwrap();
    let results = client.flush().unwrap();
    let dt = t0.elapsed();
    assert_eq!(results.len(), N);
    println!(
        "loopback TCP (client + server, one connection): {N} events in {dt:?} = {:.0} events/s",
        N as f64 / dt.as_secs_f64()
    );
}

#[test]
#[ignore = "throughput figure; run in release"]
fn server_session_alone() {
    // Pre-record what a client sends, then time only the server side:
    // decode, validate, resolve, decide, ACK.
    let evs = events();
    let now = Instant::now();
    let policy = Policy {
        discard: true,
        ..Policy::default()
    };
    let mut store = Store::default();
    let mut cfg2 = cfg();
    cfg2.max_in_flight = usize::MAX;
    let mut wire = Vec::new();
    let mut c = ClientSession::new(cfg2, now).unwrap();
    let mut s = ServerSession::new(ServerConfig::default(), now);
    shuttle(&mut c, &mut s);
    serve(&mut s, now, &mut store, &policy).unwrap();
    shuttle(&mut s, &mut c);
    while c.poll(now).unwrap().is_some() {}
    for e in &evs {
        c.send(now, e).unwrap();
        let n = c.pending_output().len();
        if n > 512 * 1024 {
            wire.extend_from_slice(c.pending_output());
            c.consume_output(n);
        }
    }
    wire.extend_from_slice(c.pending_output());
    let t0 = Instant::now();
    let mut pos = 0;
    let mut acked = 0usize;
    while pos < wire.len() {
        let buf = s.recv_buf();
        let n = buf.len().min(wire.len() - pos);
        buf[..n].copy_from_slice(&wire[pos..pos + n]);
        s.recv_commit(n);
        pos += n;
        serve(&mut s, now, &mut store, &policy).unwrap();
        let out = s.pending_output().len();
        acked += out / 8;
        s.consume_output(out);
    }
    let dt = t0.elapsed();
    assert_eq!(acked, N);
    println!(
        "server session alone: {N} events in {dt:?} = {:.0} events/s",
        N as f64 / dt.as_secs_f64()
    );
}
