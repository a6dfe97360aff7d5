//! Parsing must never be the bottleneck of the plugin's 1k PUT/s, p99 < 50 ms goal.
//! The bound is ~100x looser than a debug build needs: it only trips on a pathology.

use std::time::{Duration, Instant};

use tocsin_mailevents::{ParseLimits, parse_cyrus_notify, parse_dovecot_ox};

#[test]
fn five_thousand_bodies_parse_quickly() {
    let ox = br#"{"user":"alice@example.org","event":"messageNew","folder":"INBOX","imap-uidvalidity":1732240080,"imap-uid":42,"from":"=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>","subject":"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=","snippet":"Hallo Alice, wie geht es dir? Lorem ipsum dolor sit amet, consectetur adipiscing elit.","unseen":3}"#;
    let cyrus = br#"{"event":"MessageNew","timestamp":"2025-03-10T08:15:02.417+01:00","uri":"imap://alice@example.org@mail.example.org/INBOX;UIDVALIDITY=1735689600/;UID=4711","modseq":98765,"messages":12,"vnd.cmu.unseenMessages":4,"pid":3021,"user":"alice@example.org","messageSize":2877,"messageContent":"From: Bob <bob@example.net>\r\nSubject: =?UTF-8?Q?Br=C3=B6tchen?=\r\n\r\nHi\r\n"}"#;
    let limits = ParseLimits::default();
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    for _ in 0..5000 {
        let t = Instant::now();
        let a = parse_dovecot_ox(ox, &limits).unwrap();
        let b = parse_cyrus_notify(cyrus, &limits).unwrap();
        assert!(!a.idempotency_key().is_empty() && !b.idempotency_key().is_empty());
        worst = worst.max(t.elapsed());
    }
    let total = start.elapsed();
    eprintln!("5000 ox + 5000 cyrus events: {total:?} total, worst pair {worst:?}");
    assert!(total < Duration::from_secs(5), "{total:?}");
}
