//! The plugin must push >= 20k messages/s to a listening client. This
//! measures the full sans-IO path both ways (encode, decode, typed parse,
//! respond, match) in batches, as a host would drive it.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{authenticated_pair, events};
use std::time::Instant;
use tocsin_imtp::*;

#[test]
fn pushes_sends_to_a_listening_client_fast_enough() {
    let t = Instant::now();
    let limits = Limits {
        max_outstanding: 4096,
        ..Limits::default()
    };
    let (mut client, mut server) = authenticated_pair(
        Config {
            limits,
            ..Config::imtp()
        },
        t,
    );
    let msg = Command::Send(SendMessage::new(
        Url::parse("im:alarm@appliance.example").unwrap(),
        Url::parse("im:bob@example.org").unwrap(),
        &b"Door 3 opened at 12:03:44 (sensor 0x2a, zone north)"[..],
    ));
    const TOTAL: usize = 40_000;
    const BATCH: usize = 1_000;
    let start = Instant::now();
    let mut delivered = 0;
    for _ in 0..TOTAL / BATCH {
        for _ in 0..BATCH {
            server.send_command(&msg, t).unwrap();
        }
        let out = server.output().to_vec();
        server.consume_output(out.len());
        client.feed(&out, t).unwrap();
        for e in events(&mut client) {
            if let Event::Command { id, .. } = e {
                client.respond(&id, &Outcome::ok(), t).unwrap();
            }
        }
        let back = client.output().to_vec();
        client.consume_output(back.len());
        server.feed(&back, t).unwrap();
        delivered += events(&mut server)
            .into_iter()
            .filter(|e| matches!(e, Event::Response { response, .. } if matches!(response.outcome, Outcome::Ok(_))))
            .count();
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = delivered as f64 / secs;
    println!("{delivered} sends round-tripped in {secs:.3} s: {rate:.0} msg/s");
    assert_eq!(delivered, TOTAL);
    // Unoptimised test builds get slack; release builds must meet the goal.
    let floor = if cfg!(debug_assertions) {
        5_000.0
    } else {
        20_000.0
    };
    assert!(rate >= floor, "{rate:.0} msg/s < {floor}");
}
