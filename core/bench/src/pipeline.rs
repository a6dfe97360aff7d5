//! End-to-end figures through a release tocsind: plugin ingest (and the
//! ABI's share of it), routed deliveries, and the due-delivery lookup.

use crate::daemon::{Running, start, stop};
use crate::util::{event, rate, sibling_bin};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use tocsin_store::{Batch, NewDelivery, Op, OpenOptions, Store};

pub(crate) fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let plugins = dir.join("plugins.d");
    std::fs::create_dir_all(&plugins).unwrap();
    let plugin_dir = sibling_bin("tocsind").parent().unwrap().to_path_buf();
    let cfg = dir.join("tocsin.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nlog_level = \"warn\"\n[admin]\nsocket = \"{d}/admin.sock\"\n\
             [store]\npath = \"{d}/tocsin.db\"\n[plugins]\ndir = \"{p}\"\nconfig_dir = \"{d}/plugins.d\"\n{extra}",
            d = dir.display(),
            p = plugin_dir.display()
        ),
    )
    .unwrap();
    cfg
}

pub(crate) fn line_client(addr: &str) -> (BufReader<TcpStream>, TcpStream) {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    (BufReader::new(s.try_clone().unwrap()), s)
}

pub(crate) fn cmd(r: &mut BufReader<TcpStream>, w: &mut TcpStream, line: &str) -> String {
    w.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s.trim().to_string()
}

pub(crate) fn ctl(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(sibling_bin("tocsinctl"))
        .arg("--socket")
        .arg(dir.join("admin.sock"))
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn plugin_addr(dir: &Path, name: &str) -> String {
    let v = ctl(dir, &["plugins", "show", name]);
    v["sockets"][0]["local"].as_str().unwrap().to_string()
}

/// Issue 3: events/s through a source plugin (emit + on_committed per
/// event) beside the same events sent through the admin socket, and the
/// cost of one ABI crossing measured by the plugin itself.
pub fn plugin_ingest(dir: &Path, events: usize) {
    let cfg = config(dir, "");
    std::fs::write(
        dir.join("plugins.d/src.toml"),
        "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let r: Running = start(dir, &cfg);
    let addr = plugin_addr(dir, "src");
    let (mut rd, mut wr) = line_client(&addr);
    // Warm up, then measure.
    cmd(&mut rd, &mut wr, "FLOOD 1000");
    let t = Instant::now();
    let reply = cmd(&mut rd, &mut wr, &format!("FLOOD {events}"));
    let plugin_secs = t.elapsed().as_secs_f64();
    assert_eq!(reply, format!("flooded {events}"));
    let spin_ns: f64 = cmd(&mut rd, &mut wr, "SPIN 1000000").parse().unwrap();
    // The admin path: `send` requests from parallel connections (each
    // answered after its commit, like the plugin's completions).
    let conns = 64;
    let per = events / conns;
    let sock = dir.join("admin.sock");
    let t = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let mut client =
                    tocsin_admin::AdminClient::connect(&sock, Duration::from_secs(60)).unwrap();
                for i in 0..per {
                    let e = event(c * per + i);
                    let req = tocsin_admin::Request::Send(tocsin_admin::SendArgs {
                        user: e.user,
                        kind: e.kind,
                        summary: e.summary,
                        body: Some(e.body),
                        priority: None,
                        source: Some("bench".into()),
                        id: Some(e.source_event_id),
                        origin_host: Some(e.origin_host),
                        occurred_at_ms: None,
                        attributes: e.attributes,
                    });
                    let resp = client.request(&req).unwrap();
                    assert!(resp.ok);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let admin_secs = t.elapsed().as_secs_f64();
    stop(r);
    let per_event_ns = plugin_secs * 1e9 / events as f64;
    println!("ingest through a source plugin vs the admin socket, {events} events");
    println!(
        "  plugin (FLOOD: emit + on_committed)   {}",
        rate(events, plugin_secs)
    );
    println!(
        "  baseline: admin `send`, {conns} conns       {}",
        rate(per * conns, admin_secs)
    );
    println!("  one ABI crossing (plugin → host call)  {spin_ns:>9.1} ns");
    println!(
        "  ABI share of end-to-end per event       {:>8.2} % (2 crossings of {:.0} ns in {:.0} ns)",
        200.0 * spin_ns / per_event_ns,
        spin_ns,
        per_event_ns
    );
}

/// Issue 5: routed deliveries/s, 1 event → 1 target and 1 event → 100
/// targets, delivered by the recorder plugin; baseline: the plain insert
/// rate of the same number of delivery rows.
pub fn deliveries(dir: &Path, events: usize) {
    for targets in [1usize, 100] {
        let sub = dir.join(format!("t{targets}"));
        std::fs::create_dir_all(&sub).unwrap();
        let cfg = config(&sub, "\n[delivery]\nmax_in_flight = 1000\n");
        std::fs::write(
            sub.join("plugins.d/src.toml"),
            "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\n",
        )
        .unwrap();
        std::fs::write(
            sub.join("plugins.d/rec.toml"),
            format!(
                "plugin = \"test-recorder\"\n[config]\nfile = \"{}\"\ncontrol = \"127.0.0.1:0\"\n",
                sub.join("rec.jsonl").display()
            ),
        )
        .unwrap();
        let r = start(&sub, &cfg);
        for t in 0..targets {
            ctl(
                &sub,
                &[
                    "subs",
                    "add",
                    &format!("s{t}"),
                    "--user",
                    "*",
                    "--target",
                    &format!("rec:addr-{t}"),
                ],
            );
        }
        let n_events = (events / targets).max(10);
        let total = n_events * targets;
        let addr = plugin_addr(&sub, "src");
        let (mut rd, mut wr) = line_client(&addr);
        let db = sub.join("tocsin.db");
        let t = Instant::now();
        assert_eq!(
            cmd(&mut rd, &mut wr, &format!("FLOOD {n_events}")),
            format!("flooded {n_events}")
        );
        let c = rusqlite::Connection::open(&db).unwrap();
        loop {
            let sent: i64 = c
                .query_row(
                    "SELECT count(*) FROM deliveries WHERE state = 'sent'",
                    [],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            if sent as usize >= total {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(600),
                "deliveries stalled at {sent}/{total}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let secs = t.elapsed().as_secs_f64();
        stop(r);
        let base = crate::commit::plain_rate(&sub, 1000, total);
        println!(
            "routed deliveries, 1 event -> {targets} target(s): {total} deliveries {}   (baseline plain insert of {total} event rows, batch 1000: {})",
            rate(total, secs),
            rate(total, base)
        );
    }
}

/// Issue 5: time of the scheduler's due lookup (100 due rows) with 1k to
/// 1M waiting rows that are not yet due.
pub fn due_lookup(dir: &Path) {
    let path = dir.join("due.db");
    let mut s = Store::open(&path, OpenOptions { full_check: false }).unwrap();
    let plan = s.explain_due_query().unwrap().join(" | ");
    println!("due lookup query plan: {plan}");
    let mut have = 0usize;
    let mut seq = 0usize;
    let far = i64::MAX / 2;
    for target in [1_000usize, 10_000, 100_000, 1_000_000] {
        let mut b = Batch::new();
        while have < target {
            // One event with up to 100 deliveries keeps the fill fast.
            let n = (target - have).min(100);
            let ds = (0..n)
                .map(|i| NewDelivery {
                    subscription_id: Some(1),
                    target_instance: "rec".into(),
                    target_address: format!("a{}", (have + i) % 997),
                    user: format!("u{}", (have + i) % 1013),
                    state: "pending",
                    // 100 due at time 10, the rest far in the future.
                    next_attempt_at: Some(if have + i < 100 { 10 } else { far }),
                    expires_at: None,
                    message_id: format!("m{}", have + i),
                    coalesce_key: None,
                    priority: 3,
                    flags: 0,
                    summary: "s".into(),
                    body: String::new(),
                    detail: String::new(),
                    escalated_from: None,
                })
                .collect();
            b.push(
                Op::InsertEvent {
                    event: event(seq),
                    received_at_ms: 0,
                    deliveries: ds,
                },
                (),
            );
            seq += 1;
            have += n;
            if b.len() >= 100 {
                s.commit(&mut b);
            }
        }
        s.commit(&mut b);
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let due = s.due_deliveries(1000, 100).unwrap();
            times.push(t.elapsed());
            assert_eq!(due.len(), 100);
        }
        times.sort();
        println!(
            "  {target:>9} waiting rows: due lookup (100 rows) median {:>8.1?}  p99 {:>8.1?}",
            times[times.len() / 2],
            times[times.len() * 99 / 100]
        );
    }
}
