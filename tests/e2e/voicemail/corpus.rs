//! Replays plugins/voicemail/tests/corpus/INDEX against the real daemon:
//! each message over UDP (and, where it is a complete stream message, over
//! a fresh TCP connection) must get exactly the recorded answer — or none,
//! for drops — and the UDP replay must add exactly the recorded events.
//! Afterwards the daemon still runs and every event is still there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Vm, start};
use tocsin_tests::sip::{Answer, TcpPeer, UdpPeer};

/// Maps *97 to alice and every other sip:USER@HOST to USER@example.org.
const CORPUS_USERS: &str = "user_map = [\n  { account = \"sip:*97@pbx.example.org\", user = \"alice@example.org\" },\n  { pattern = \"sip:{user}@{any}\", user = \"{user}@example.org\" },\n]\n";

struct Entry {
    file: String,
    udp: String,
    tcp: String,
    events: usize,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus_dir() -> PathBuf {
    root().join("plugins/voicemail/tests/corpus")
}

fn index() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus_dir().join("INDEX")).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "INDEX line {l:?}");
            Entry {
                file: f[0].into(),
                udp: f[1].into(),
                tcp: f[2].into(),
                events: f[3]
                    .strip_prefix('+')
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("events column of {l:?}")),
            }
        })
        .collect()
}

/// The message bytes, with every Via branch made unique to the line: the
/// codec corpus reuses one branch in many files, which would make them all
/// one transaction (and later files retransmissions of the first).
fn load(file: &str, line: usize) -> Vec<u8> {
    let path = match file.strip_prefix("@sip/") {
        Some(name) => root().join("core/sip/tests/corpus").join(name),
        None => corpus_dir().join(file),
    };
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let needle = b"branch=z9hG4bK";
    let unique = format!("branch=z9hG4bK{line}x");
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut i = 0;
    while i < raw.len() {
        if raw[i..].starts_with(needle) {
            out.extend_from_slice(unique.as_bytes());
            i += needle.len();
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

fn probe(n: usize, transport: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:tocsin@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:5099;branch=z9hG4bKprobe{n}\r\nFrom: <sip:probe@127.0.0.1>;tag=p{n}\r\nTo: <sip:tocsin@127.0.0.1>\r\nCall-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn is_probe_answer(a: &Answer, n: usize) -> bool {
    a.header("Call-ID").as_deref() == Some(format!("probe-{n}").as_str())
}

/// UDP: the expected single answer (or none), proven by a probe whose
/// answer must come next.
fn replay_udp(vm: &Vm, e: &Entry, line: usize, failures: &mut Vec<String>) {
    let peer = UdpPeer::new(&vm.udp);
    peer.send(&load(&e.file, line));
    if e.udp != "drop" {
        match peer.recv_within(Duration::from_secs(10)) {
            Some(a) if a.status().to_string() == e.udp => {}
            Some(a) => {
                failures.push(format!(
                    "{} (udp): expected {}, got {}",
                    e.file,
                    e.udp,
                    a.text()
                ));
                return;
            }
            None => {
                failures.push(format!("{} (udp): expected {}, got nothing", e.file, e.udp));
                return;
            }
        }
    }
    peer.send(&probe(line, "UDP"));
    let next = peer.recv();
    if !is_probe_answer(&next, line) {
        failures.push(format!(
            "{} (udp): an unexpected extra answer: {}",
            e.file,
            next.text()
        ));
    }
}

/// TCP: a fresh connection per message; `NNNc` and `close` also require
/// the connection to be closed, the others that it still serves a probe.
fn replay_tcp(vm: &Vm, e: &Entry, line: usize, failures: &mut Vec<String>) {
    let mut peer = TcpPeer::connect(&vm.tcp);
    peer.send(&load(&e.file, line));
    let (status, closes) = match e.tcp.strip_suffix('c') {
        Some(s) => (s, true),
        None if e.tcp == "close" => ("drop", true),
        None => (e.tcp.as_str(), false),
    };
    if status != "drop" {
        match peer.recv_within(Duration::from_secs(10)) {
            Some(a) if a.status().to_string() == status => {}
            other => {
                failures.push(format!(
                    "{} (tcp): expected {status}, got {:?}",
                    e.file,
                    other.map(|a| a.text())
                ));
                return;
            }
        }
    }
    if closes {
        if !peer.closed_within(Duration::from_secs(5)) {
            failures.push(format!("{} (tcp): connection not closed", e.file));
        }
        return;
    }
    peer.send(&probe(line, "TCP"));
    match peer.recv_within(Duration::from_secs(10)) {
        Some(a) if is_probe_answer(&a, line) => {}
        other => failures.push(format!(
            "{} (tcp): expected the probe's answer next, got {:?}",
            e.file,
            other.map(|a| a.text())
        )),
    }
}

#[test]
fn the_bad_input_corpus_gets_the_recorded_answers_and_the_daemon_stays_up() {
    let entries = index();
    assert!(entries.len() >= 50, "corpus too small");
    // Every local corpus file is indexed.
    let mut local: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "INDEX")
        .collect();
    local.sort();
    let mut indexed: Vec<String> = entries
        .iter()
        .filter(|e| !e.file.starts_with("@sip/"))
        .map(|e| e.file.clone())
        .collect();
    indexed.sort();
    assert_eq!(local, indexed, "files and INDEX disagree");

    let vm = start(CORPUS_USERS);
    let mut failures = Vec::new();
    let mut expected_events = 0;
    for (line, e) in entries.iter().enumerate() {
        if e.udp != "-" {
            replay_udp(&vm, e, line, &mut failures);
        }
        expected_events += e.events;
        let got = vm.events().len();
        if got != expected_events {
            failures.push(format!(
                "{} (udp): {got} events stored, expected {expected_events}",
                e.file
            ));
            expected_events = got;
        }
    }
    let after_udp = vm.events();
    for (line, e) in entries.iter().enumerate() {
        if e.tcp != "-" {
            replay_tcp(&vm, e, line + 1000, &mut failures);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // Saturated counts were stored as 2^32-1.
    let big = after_udp
        .iter()
        .find(|e| e["attributes"]["account"] == "sip:erin@pbx.example.org")
        .expect("the 2^32 event");
    assert_eq!(big["attributes"]["voice_new"], "4294967295");
    assert_eq!(big["attributes"]["voice_old"], "4294967295");
    assert_eq!(big["attributes"]["voice_urgent_new"], "4294967295");
    let headers = after_udp
        .iter()
        .find(|e| e["attributes"]["account"] == "sip:frank@pbx.example.org")
        .expect("the message-headers event");
    assert_eq!(headers["priority"], "high");
    assert_eq!(
        headers["body"],
        "From: Bob <bob@example.org>\nSubject: call me back"
    );

    // Still up, still serving, nothing lost.
    assert!(vm.d.ctl(&["status"]).code == 0);
    assert_eq!(vm.d.plugin("vm")["state"], "running");
    let now: Vec<_> = vm.events().iter().map(|e| e["id"].clone()).collect();
    for e in &after_udp {
        assert!(now.contains(&e["id"]), "event {} lost", e["id"]);
    }
    // Drops are logged, not silent; a burst of them is summarised (the
    // replay above sent more than the per-second budget of log lines).
    std::thread::sleep(Duration::from_millis(1100));
    let peer = UdpPeer::new(&vm.udp);
    peer.send(&load("@sip/ack.sip", 9999));
    peer.send(&probe(9999, "UDP"));
    assert!(is_probe_answer(&peer.recv(), 9999));
    let log = vm.d.log();
    assert!(log.contains("ACK is never answered; dropped"), "{log}");
    assert!(log.contains("similar messages were not logged"), "{log}");
}
