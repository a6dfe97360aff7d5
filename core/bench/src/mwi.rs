//! `mwi-udp`: unsolicited MWI NOTIFYs accepted per second over UDP on
//! loopback by a release tocsind with the voicemail plugin, every one a
//! new mailbox state (so every one is an event committed before its 200),
//! beside the store's plain insert rate measured in the same run.

use crate::commit::plain_rate;
use crate::daemon::{start, stop};
use crate::util::{rate, sibling_bin};
use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

/// Mailboxes the NOTIFYs rotate over.
const ACCOUNTS: usize = 1000;
/// Unanswered NOTIFYs resent after this long (loss is possible even on
/// loopback when a socket buffer overflows).
const RESEND_AFTER: Duration = Duration::from_millis(500);

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let plugins = sibling_bin("libtocsin_plugin_voicemail.so");
    let plugin_dir = plugins.parent().expect("target dir");
    std::fs::create_dir_all(dir.join("plugins.d")).unwrap();
    std::fs::write(
        dir.join("plugins.d/vm.toml"),
        format!(
            "plugin = \"voicemail\"\n[config]\nlisten_udp = \"127.0.0.1:{port}\"\n\
             user_map = [{{ pattern = \"sip:{{user}}@bench.example.org\", user = \"{{user}}@example.org\" }}]\n"
        ),
    )
    .unwrap();
    let cfg = dir.join("tocsin.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nlog_level = \"warn\"\n[admin]\nsocket = \"{d}/admin.sock\"\n\
             [store]\npath = \"{d}/tocsin.db\"\n[plugins]\ndir = \"{p}\"\nconfig_dir = \"{d}/plugins.d\"\n",
            d = dir.display(),
            p = plugin_dir.display()
        ),
    )
    .unwrap();
    cfg
}

/// NOTIFY number `i`: mailbox `i % ACCOUNTS`, `i` new messages, so every
/// NOTIFY carries a state its mailbox has not had before.
fn notify(i: usize) -> Vec<u8> {
    let body = format!(
        "Messages-Waiting: yes\r\nMessage-Account: sip:u{}@bench.example.org\r\nVoice-Message: {i}/0 (0/0)\r\n",
        i % ACCOUNTS
    );
    format!(
        "NOTIFY sip:tocsin@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbench{i}\r\n\
         From: <sip:pbx@bench.example.org>;tag=b{i}\r\nTo: <sip:tocsin@127.0.0.1>\r\nCall-ID: bench-{i}\r\n\
         CSeq: 1 NOTIFY\r\nEvent: message-summary\r\nContent-Type: application/simple-message-summary\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The NOTIFY number an answer is for (from `Call-ID: bench-<i>`) and
/// whether it is a 200.
fn answer_of(buf: &[u8]) -> Option<(usize, bool)> {
    let text = std::str::from_utf8(buf).ok()?;
    let ok = text.starts_with("SIP/2.0 200 ");
    let i = text
        .lines()
        .find_map(|l| l.strip_prefix("Call-ID: bench-"))?
        .trim()
        .parse()
        .ok()?;
    Some((i, ok))
}

/// Sends `n` NOTIFYs keeping `window` unanswered at most; returns the
/// seconds from the first send to the last 200 and the resend count.
fn drive(port: u16, n: usize, window: usize) -> (f64, usize) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let messages: Vec<Vec<u8>> = (0..n).map(notify).collect();
    let mut outstanding: HashMap<usize, Instant> = HashMap::new();
    let mut next = 0;
    let mut done = 0;
    let mut resent = 0;
    let mut buf = [0u8; 4096];
    let t = Instant::now();
    let deadline = t + Duration::from_secs(600);
    while done < n {
        while next < n && outstanding.len() < window {
            sock.send(&messages[next]).unwrap();
            outstanding.insert(next, Instant::now());
            next += 1;
        }
        match sock.recv(&mut buf) {
            Ok(len) => match answer_of(&buf[..len]) {
                Some((i, true)) => {
                    if outstanding.remove(&i).is_some() {
                        done += 1;
                    }
                }
                Some((i, false)) => panic!(
                    "NOTIFY {i} refused: {}",
                    String::from_utf8_lossy(&buf[..len])
                ),
                None => panic!("unexpected datagram: {:?}", &buf[..len]),
            },
            Err(_) => {
                assert!(Instant::now() < deadline, "no progress: {done}/{n}");
                let now = Instant::now();
                for (i, sent) in outstanding.iter_mut() {
                    if now.duration_since(*sent) >= RESEND_AFTER {
                        sock.send(&messages[*i]).unwrap();
                        *sent = now;
                        resent += 1;
                    }
                }
            }
        }
    }
    (t.elapsed().as_secs_f64(), resent)
}

/// CPU time (user + system) the process has used, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are
    // the 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

fn stored_events(db: &Path) -> (usize, usize) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let count = |sql: &str| -> usize {
        c.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|v| usize::try_from(v).unwrap_or(0))
            .unwrap()
    };
    (
        count(
            "SELECT COUNT(*) FROM events WHERE source = 'vm' AND kind = 'voicemail.MessageWaiting'",
        ),
        count("SELECT COUNT(DISTINCT source_event_id) FROM events WHERE source = 'vm'"),
    )
}

pub fn run(dir: &Path, n: usize, window: usize, rounds: usize) {
    println!(
        "MWI NOTIFYs over UDP on loopback, {n} per round (each a new state of one of {ACCOUNTS} mailboxes), \
         window {window}, best of {rounds}; 200 OK only after the event's commit"
    );
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    let mut plain64 = f64::MAX;
    let mut plain1000 = f64::MAX;
    for round in 0..rounds {
        let sub = dir.join(format!("mwi-{round}"));
        std::fs::create_dir_all(&sub).unwrap();
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .unwrap();
        let cfg = write_config(&sub, port);
        let daemon = start(&sub, &cfg);
        let cpu0 = cpu_secs(daemon.pid());
        let (secs, resent) = drive(port, n, window);
        let cpu = cpu_secs(daemon.pid()) - cpu0;
        stop(daemon);
        let (stored, distinct) = stored_events(&sub.join("tocsin.db"));
        assert_eq!(stored, n, "every accepted NOTIFY is a stored event");
        assert_eq!(distinct, n);
        println!(
            "  round {round}: {} accepted and stored ({resent} resends); tocsind CPU {:.0} µs per NOTIFY ({:.0}% of a core)",
            rate(n, secs),
            cpu * 1e6 / n as f64,
            cpu * 100.0 / secs
        );
        best = best.min(secs);
        best_cpu = best_cpu.min(cpu);
        let base = sub.join("plain");
        std::fs::create_dir_all(&base).unwrap();
        plain64 = plain64.min(plain_rate(&base, 64, n));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        plain1000 = plain1000.min(plain_rate(&base, 1000, n));
        let _ = std::fs::remove_dir_all(&sub);
    }
    println!("  tocsind + voicemail plugin, UDP     {}", rate(n, best));
    println!(
        "  the same at one full core (CPU-bound) {}",
        rate(n, best_cpu)
    );
    println!("  baseline: plain insert, batch 64    {}", rate(n, plain64));
    println!(
        "  baseline: plain insert, batch 1000  {}",
        rate(n, plain1000)
    );
}
