//! `tocsin-bench mail-http`: the mail plugin's HTTP endpoint on a release tocsind.
//!
//! Throughput of Dovecot-shaped PUTs over keep-alive connections on loopback (one
//! connection one request at a time, then several connections with pipelining), and
//! the response time at a steady offered rate, measured from each request's *scheduled*
//! send time so a stall is not hidden by the client waiting (no coordinated omission).
//! Every answer must be `200 stored`, and the database must hold every event at the end.
//! Baseline, same run: a plain rusqlite INSERT loop into the same schema.

use crate::commit::plain_rate;
use crate::daemon::{start, stop};
use crate::util::{rate, sibling_bin};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const AUTH: &str = "ZG92ZWNvdDpzZWNyZXQ="; // dovecot:secret

fn request(uid: u32) -> Vec<u8> {
    let body = format!(
        r#"{{"user":"bench@example.org","event":"messageNew","folder":"INBOX","imap-uidvalidity":1795316409,"imap-uid":{uid},"from":"=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>","subject":"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=","snippet":"Hallo Alice, wie geht es dir? Die Zahlen sind da.","unseen":3}}"#
    );
    format!(
        "PUT /dovecot HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {AUTH}\r\nContent-Length: {}\r\nConnection: Keep-Alive\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one response; panics unless it is `200` with `"status":"stored"`.
fn expect_stored(r: &mut BufReader<TcpStream>) {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    assert!(
        line.starts_with("HTTP/1.1 200 "),
        "unexpected answer: {line:?}"
    );
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.strip_prefix("Content-Length: ") {
            len = v.parse().expect("content-length");
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).expect("body");
    assert!(
        body.windows(17).any(|w| w == b"\"status\":\"stored\""),
        "not stored: {}",
        String::from_utf8_lossy(&body)
    );
}

fn connect(addr: &str) -> (TcpStream, BufReader<TcpStream>) {
    let s = TcpStream::connect(addr).expect("connect to the mail plugin");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

/// `n` requests with uids `first..first+n` on one connection, `depth` in flight.
fn pipelined(addr: &str, first: u32, n: u32, depth: u32) {
    let (mut w, mut r) = connect(addr);
    let mut sent = 0;
    let mut answered = 0;
    while answered < n {
        while sent < n && sent - answered < depth {
            w.write_all(&request(first + sent)).unwrap();
            sent += 1;
        }
        expect_stored(&mut r);
        answered += 1;
    }
}

/// Events/s for `conns` connections × `depth` pipelined requests, `per_conn` each.
fn throughput(addr: &str, base: u32, conns: u32, depth: u32, per_conn: u32) -> f64 {
    let t = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addr.to_string();
            std::thread::spawn(move || pipelined(&addr, base + c * per_conn, per_conn, depth))
        })
        .collect();
    for th in threads {
        th.join().expect("client thread");
    }
    t.elapsed().as_secs_f64()
}

/// Offered load of `rate` requests/s for `secs` over `conns` connections; returns every
/// response time, measured from the request's scheduled send time.
fn steady(addr: &str, base: u32, rate: u64, secs: u64, conns: u64) -> Vec<Duration> {
    let total = rate * secs;
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let t0 = Instant::now() + Duration::from_millis(100);
    let threads: Vec<_> = (0..conns)
        .map(|k| {
            let addr = addr.to_string();
            std::thread::spawn(move || {
                let (mut w, mut r) = connect(&addr);
                let mut lat = Vec::new();
                let mut i = k;
                while i < total {
                    let due = t0 + interval * u32::try_from(i).unwrap();
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    w.write_all(&request(base + u32::try_from(i).unwrap()))
                        .unwrap();
                    expect_stored(&mut r);
                    lat.push(Instant::now() - due);
                    i += conns;
                }
                lat
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect()
}

fn pct(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let plugins = sibling_bin("tocsind")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    assert!(
        plugins.join("libtocsin_plugin_mail.so").exists(),
        "libtocsin_plugin_mail.so missing: cargo build --release --workspace"
    );
    std::fs::create_dir_all(dir.join("plugins.d")).unwrap();
    std::fs::write(
        dir.join("plugins.d/mail.toml"),
        format!(
            "plugin = \"mail\"\n[config]\nhttp_listen = \"127.0.0.1:{port}\"\nauth_user = \"dovecot\"\nauth_password = \"secret\"\nmax_in_flight = 64\n"
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
            p = plugins.display()
        ),
    )
    .unwrap();
    cfg
}

fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "mail plugin not listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stored(db: &Path) -> u64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let n: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM events WHERE source = 'mail'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    u64::try_from(n).unwrap()
}

pub struct Params {
    pub events: u32,
    pub conns: u32,
    pub depth: u32,
    pub rate: u64,
    pub secs: u64,
    pub steady_conns: u64,
}

pub fn run(dir: &Path, p: &Params) {
    let base_dir = dir.join("baseline");
    std::fs::create_dir_all(&base_dir).unwrap();
    let n1 = 2000usize;
    let plain1 = plain_rate(&base_dir, 1, n1);
    let plain100 = plain_rate(&base_dir, 100, p.events as usize);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ddir = dir.join("daemon");
    std::fs::create_dir_all(&ddir).unwrap();
    let cfg = write_config(&ddir, port);
    let daemon = start(&ddir, &cfg);
    let addr = format!("127.0.0.1:{port}");
    wait_listening(&addr);

    let seq_n = p.events.min(5000);
    let seq = throughput(&addr, 1, 1, 1, seq_n);
    let per_conn = p.events / p.conns;
    let par = throughput(&addr, 1_000_000, p.conns, p.depth, per_conn);
    let steady_conns = p.steady_conns;
    let mut lat = steady(&addr, 2_000_000, p.rate, p.secs, steady_conns);
    lat.sort();
    let sent = u64::from(seq_n) + u64::from(per_conn * p.conns) + p.rate * p.secs;
    let in_db = stored(&ddir.join("tocsin.db"));
    stop(daemon);

    println!(
        "mail plugin, HTTP PUT (Dovecot ox body, {} bytes per request) on loopback, keep-alive, {}",
        request(1).len(),
        sibling_bin("tocsind").display()
    );
    println!(
        "  baseline: plain rusqlite INSERT, 1 per transaction   {}",
        rate(n1, plain1)
    );
    println!(
        "  baseline: plain rusqlite INSERT, 100 per transaction {}",
        rate(p.events as usize, plain100)
    );
    println!(
        "  1 connection, 1 request at a time                    {}",
        rate(seq_n as usize, seq)
    );
    println!(
        "  {} connections x {} pipelined                          {}",
        p.conns,
        p.depth,
        rate((per_conn * p.conns) as usize, par)
    );
    println!(
        "steady {}/s for {} s over {steady_conns} connections ({} requests), response time from scheduled send:",
        p.rate,
        p.secs,
        lat.len()
    );
    println!(
        "  p50 {:.2?}  p90 {:.2?}  p99 {:.2?}  p99.9 {:.2?}  max {:.2?}",
        pct(&lat, 50),
        pct(&lat, 90),
        pct(&lat, 99),
        lat[(lat.len() * 999 / 1000).min(lat.len() - 1)],
        lat[lat.len() - 1]
    );
    println!("events sent {sent}, answered 200 stored {sent}, in the database {in_db}");
    assert_eq!(in_db, sent, "events lost");
}
