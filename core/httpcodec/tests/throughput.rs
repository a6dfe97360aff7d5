//! Parsing must never be the bottleneck of the plugin's 1k PUT/s, p99 < 50 ms goal.
//! The bound below is ~100x looser than what a debug build achieves, so it only trips on
//! an accidental quadratic, not on a slow CI machine.

mod common;

use std::time::{Duration, Instant};

use common::{dovecot_put, drain};
use tocsin_httpcodec::{Limits, Response, ServerConn};

#[test]
fn five_thousand_keep_alive_puts_are_cheap() {
    let body = r#"{"user":"alice@example.org","event":"messageNew","folder":"INBOX","imap-uidvalidity":1732240080,"imap-uid":42,"from":"Bob <bob@example.net>","subject":"Lunch?","snippet":"Are we still on for noon tomorrow?","unseen":3}"#;
    let one = dovecot_put(body);
    let start = Instant::now();
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    let mut worst = Duration::ZERO;
    for _ in 0..5000 {
        let t = Instant::now();
        // Delivered in two reads, as a socket might.
        let (a, b) = one.split_at(one.len() / 2);
        c.feed(a, t0);
        assert!(drain(&mut c, t0).0.is_empty());
        c.feed(b, t0);
        let (reqs, err) = drain(&mut c, t0);
        assert!(err.is_none());
        assert_eq!(reqs.len(), 1);
        c.respond(reqs[0].seq, Response::new(204), t0).unwrap();
        assert!(!c.take_output().is_empty());
        worst = worst.max(t.elapsed());
    }
    let total = start.elapsed();
    eprintln!("5000 PUTs: {total:?} total, worst single request {worst:?}");
    assert!(total < Duration::from_secs(5), "{total:?}");
}
