//! Replays tests/corpus/*.hex (hostile or broken responses) against the
//! expectations in tests/corpus/INDEX: `parse_response` must return the
//! listed error (and not panic), and a `Lookup` fed the same datagram from
//! its nameserver must neither panic nor produce endpoints.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tocsin_dns::{Lookup, QType, ResolvConf, parse_response};

const ID: u16 = 0xBEEF;
const SVC: &str = "_im-servers._tcp.example.org";

fn decode_hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

fn corpus() -> Vec<(String, String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let index = std::fs::read_to_string(dir.join("INDEX")).unwrap();
    let entries: Vec<(String, String, Vec<u8>)> = index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (file, code) = line.split_once('\t').unwrap();
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            (file.to_owned(), code.to_owned(), decode_hex(&text))
        })
        .collect();
    // Every file is listed, every listed file exists.
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "hex")
        })
        .count();
    assert_eq!(on_disk, entries.len(), "INDEX and tests/corpus disagree");
    entries
}

#[test]
fn corpus_gives_the_expected_errors() {
    let entries = corpus();
    assert!(entries.len() >= 25);
    let mut failures = Vec::new();
    for (file, expected, msg) in &entries {
        match parse_response(msg, ID, SVC, QType::Srv) {
            Ok(r) => failures.push(format!("{file}: parsed as {r:?}")),
            Err(e) if e.code() != expected => {
                failures.push(format!(
                    "{file}: expected {expected}, got {} ({e})",
                    e.code()
                ));
            }
            Err(_) => {}
        }
        // Every prefix is an error too, and never a panic.
        for len in 0..msg.len() {
            assert!(
                parse_response(&msg[..len], ID, SVC, QType::Srv).is_err(),
                "{file}[..{len}]"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_through_a_lookup() {
    let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let conf = ResolvConf {
        nameservers: vec![server],
        timeout: Duration::from_secs(1),
        attempts: 1,
    };
    for (file, expected, msg) in corpus() {
        let now = Instant::now();
        let mut lookup = Lookup::srv_then_addrs(SVC, None, &conf, 99, now);
        let (_, query) = lookup.poll_transmit().unwrap();
        let mut msg = msg.clone();
        // Give the datagram the id of the lookup's query, except where the
        // wrong id is the point.
        if msg.len() >= 2 && expected != "wrong-id" {
            msg[..2].copy_from_slice(&query[..2]);
        }
        lookup.handle_datagram(server, &msg, now);
        assert!(
            !matches!(lookup.result(), Some(Ok(_))),
            "{file}: a hostile datagram produced endpoints"
        );
        // A truncated answer is asked again over TCP; that server stays
        // silent too.
        while lookup.poll_tcp().is_some() {}
        // Whatever happened, the lookup still ends cleanly.
        lookup.handle_timeout(now + Duration::from_secs(2));
        let result = lookup.take_result();
        assert!(matches!(result, Some(Err(_))), "{file}: {result:?}");
    }
}
