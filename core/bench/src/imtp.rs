//! Issue 8: notifications/s from the delivery queue to listening IMTP
//! clients (plaintext and TLS), beside the same queue drained by the trivial
//! recorder plugin and the plain insert loop; then the time from
//! `tocsinctl send` to the line `tocsinctl watch` prints, at a steady rate.

use crate::daemon::{start, stop};
use crate::pipeline::{cmd, config, ctl, line_client, plugin_addr};
use crate::util::{rate, sibling_bin};
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tocsin_imtp::{
    ClientSasl, Command, Config, Connection, Event, Listen, Outcome, PlainCredentials, Role,
    Transport, Url,
};

trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

struct Pki {
    ca: std::path::PathBuf,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    client: Arc<rustls::ClientConfig>,
}

fn pki(dir: &Path) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let p = Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        client: {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(ca_cert.der().to_vec()))
                .unwrap();
            Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
            )
        },
    };
    std::fs::write(&p.ca, ca_cert.pem()).unwrap();
    std::fs::write(&p.cert, cert.pem()).unwrap();
    std::fs::write(&p.key, key.serialize_pem()).unwrap();
    p
}

/// One listening client: signs in as `user`, listens, answers every push
/// `ok` and counts it, until `total` pushes were counted by all clients.
fn listener(
    addr: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    user: String,
    got: Arc<AtomicUsize>,
    ready: Arc<AtomicUsize>,
    total: usize,
) {
    let sock = TcpStream::connect(&addr).unwrap();
    sock.set_nodelay(true).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut io: Box<dyn Io> = match tls {
        Some(cfg) => {
            let c = rustls::ClientConnection::new(cfg, ServerName::try_from("localhost").unwrap())
                .unwrap();
            Box::new(rustls::StreamOwned::new(c, sock))
        }
        None => Box::new(sock),
    };
    let mut conn = Connection::new(
        Role::Client,
        Config::imtp(),
        Transport {
            tls: true,
            peer_identity: None,
        },
        Instant::now(),
    );
    let inbox = Url::parse(&format!("im:{user}")).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut listening = false;
    while got.load(Ordering::Relaxed) < total {
        if !conn.output().is_empty() {
            let n = conn.output().len();
            io.write_all(conn.output()).unwrap();
            io.flush().unwrap();
            conn.consume_output(n);
        }
        let n = match io.read(&mut buf) {
            Ok(0) => panic!("{user}: server closed"),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => panic!("{user}: {e}"),
        };
        conn.feed(&buf[..n], Instant::now()).unwrap();
        while let Some(ev) = conn.poll_event() {
            let now = Instant::now();
            match ev {
                Event::Mechanisms(_) => {
                    let creds = PlainCredentials::new(user.clone(), "pw");
                    conn.authenticate(ClientSasl::Plain(creds), now).unwrap();
                }
                Event::Authenticated { .. } => {
                    conn.send_command(&Command::Listen(Listen::new(inbox.clone())), now)
                        .unwrap();
                }
                Event::Response { response, .. } if !listening => {
                    assert!(matches!(response.outcome, Outcome::Ok(_)), "{response:?}");
                    listening = true;
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                Event::Command { id, .. } => {
                    conn.respond(&id, &Outcome::ok(), now).unwrap();
                    got.fetch_add(1, Ordering::Relaxed);
                }
                other => panic!("{user}: unexpected {other:?}"),
            }
        }
    }
    if !conn.output().is_empty() {
        let _ = io.write_all(conn.output());
        let _ = io.flush();
    }
}

fn users_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let p = dir.join("users.toml");
    let text: String = (0..n)
        .map(|k| format!("\"u{k}@example.org\" = \"pw\"\n"))
        .collect();
    std::fs::write(&p, text).unwrap();
    p
}

/// Waiting deliveries deferred by more than half an hour: held until their
/// recipient is present.
fn held(db: &Path) -> usize {
    let c = rusqlite::Connection::open(db).unwrap();
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1_800_000;
    c.query_row(
        "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'retrying')
           AND next_attempt_at > ?1",
        [soon],
        |r| r.get::<_, i64>(0),
    )
    .unwrap_or(0) as usize
}

/// No progress for 20 s: say which recipients are stuck and why, then fail.
fn stalled(db: &Path, done: usize, total: usize) -> ! {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare(
            "SELECT d.user, count(*), min(d.id) FROM deliveries d
             WHERE d.state NOT IN ('delivered', 'sent') GROUP BY d.user ORDER BY d.user",
        )
        .unwrap();
    let rows: Vec<(String, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    eprintln!("stalled at {done} of {total}; unfinished per user:");
    for (user, n, oldest) in rows.iter().take(10) {
        eprintln!("  {user}: {n} unfinished, oldest delivery {oldest}:");
        let mut h = c
            .prepare(
                "SELECT at, from_state, to_state, detail FROM delivery_history
                 WHERE delivery_id = ?1 ORDER BY id",
            )
            .unwrap();
        let hist = h
            .query_map([oldest], |r| {
                Ok(format!(
                    "{} {:?} -> {} {}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?
                ))
            })
            .unwrap();
        for line in hist {
            eprintln!("      {}", line.unwrap());
        }
    }
    panic!("the queue stopped draining");
}

fn count_state(db: &Path, state: &str) -> usize {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT count(*) FROM deliveries WHERE state = ?1",
        [state],
        |r| r.get::<_, i64>(0),
    )
    .unwrap_or(0) as usize
}

/// Deliveries/s from FLOOD to `state` in the DB (and, for IMTP, to the
/// clients' acknowledgements).
fn queue_run(dir: &Path, deliveries: usize, users: usize, mode: &str, window: u32) -> (f64, f64) {
    let sub = dir.join(format!("{mode}-w{window}"));
    std::fs::create_dir_all(&sub).unwrap();
    let cfg = config(
        &sub,
        &format!("\n[delivery]\nmax_in_flight = 2000\nmax_in_flight_per_recipient = {window}\n"),
    );
    std::fs::write(
        sub.join("plugins.d/src.toml"),
        "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let tls = mode == "tls";
    // "drain": the queue fills while nobody listens, with subscriptions that
    // hold deliveries until the recipient is present; then everyone comes.
    let drain = mode == "drain";
    let p = pki(&sub);
    let plugin = match mode {
        "recorder" => format!(
            "plugin = \"test-recorder\"\n[config]\nfile = \"{}\"\ncontrol = \"127.0.0.1:0\"\n",
            sub.join("rec.jsonl").display()
        ),
        _ => {
            let tls_keys = if tls {
                format!(
                    "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
                    p.cert.display(),
                    p.key.display()
                )
            } else {
                "plaintext = true\n".into()
            };
            format!(
                "plugin = \"imtp\"\n[config]\ndomains = [\"example.org\"]\n[config.server]\nlisten = \"127.0.0.1:0\"\n{tls_keys}users_file = \"{}\"\n",
                users_file(&sub, users).display()
            )
        }
    };
    std::fs::write(sub.join("plugins.d/out.toml"), plugin).unwrap();
    let r = start(&sub, &cfg);
    for k in 0..users {
        let (name, user, target) = (
            format!("s{k}"),
            format!("u{k}@example.org"),
            format!("out:im:u{k}@example.org"),
        );
        let mut args = vec!["subs", "add", &name, "--user", &user, "--target", &target];
        if drain {
            args.extend(["--presence", "hold"]);
        }
        ctl(&sub, &args);
    }
    let got = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    let db = sub.join("tocsin.db");
    if drain {
        let (mut rd, mut wr) = line_client(&plugin_addr(&sub, "src"));
        assert_eq!(
            cmd(&mut rd, &mut wr, &format!("FLOOD {deliveries} {users}")),
            format!("flooded {deliveries}")
        );
        // Every recipient has been found absent once its first delivery
        // was tried; wait until the whole backlog is held.
        let t = Instant::now();
        while held(&db) < deliveries {
            assert!(t.elapsed() < Duration::from_secs(300), "backlog never held");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let start_clients = Instant::now();
    if mode != "recorder" {
        let addr = plugin_addr(&sub, "out");
        for k in 0..users {
            let (a, g, rd) = (addr.clone(), got.clone(), ready.clone());
            let cfg = tls.then(|| p.client.clone());
            threads.push(std::thread::spawn(move || {
                listener(a, cfg, format!("u{k}@example.org"), g, rd, deliveries)
            }));
        }
        while ready.load(Ordering::Relaxed) < users {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let want_state = if mode == "recorder" {
        "sent"
    } else {
        "delivered"
    };
    let t = if drain {
        start_clients
    } else {
        let (mut rd, mut wr) = line_client(&plugin_addr(&sub, "src"));
        let t = Instant::now();
        assert_eq!(
            cmd(&mut rd, &mut wr, &format!("FLOOD {deliveries} {users}")),
            format!("flooded {deliveries}")
        );
        t
    };
    let mut clients_secs = 0.0;
    let (mut last, mut last_change) = (0, Instant::now());
    loop {
        if mode != "recorder" && clients_secs == 0.0 && got.load(Ordering::Relaxed) >= deliveries {
            clients_secs = t.elapsed().as_secs_f64();
        }
        let done = count_state(&db, want_state);
        if done >= deliveries {
            break;
        }
        if done != last {
            (last, last_change) = (done, Instant::now());
        }
        if last_change.elapsed() > Duration::from_secs(20) {
            stalled(&db, done, deliveries);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let db_secs = t.elapsed().as_secs_f64();
    for th in threads {
        th.join().unwrap();
    }
    stop(r);
    (clients_secs, db_secs)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `tocsinctl send` (a process per event, as a script would) to the JSON
/// line `tocsinctl watch` prints.
fn latency(dir: &Path, per_sec: u32, seconds: u64) -> Vec<f64> {
    let sub = dir.join("latency");
    std::fs::create_dir_all(&sub).unwrap();
    let cfg = config(&sub, "");
    std::fs::write(
        sub.join("plugins.d/out.toml"),
        format!(
            "plugin = \"imtp\"\n[config]\ndomains = [\"example.org\"]\n[config.server]\nlisten = \"127.0.0.1:0\"\nplaintext = true\nusers_file = \"{}\"\n",
            users_file(&sub, 1).display()
        ),
    )
    .unwrap();
    let r = start(&sub, &cfg);
    ctl(
        &sub,
        &[
            "subs",
            "add",
            "s0",
            "--user",
            "u0@example.org",
            "--target",
            "out:im:u0@example.org",
        ],
    );
    let addr = plugin_addr(&sub, "out");
    let total = (u64::from(per_sec) * seconds) as usize;
    let mut watch = std::process::Command::new(sibling_bin("tocsinctl"))
        .args([
            "watch",
            "im:u0@example.org",
            "--server",
            &addr,
            "--plaintext",
            "--user",
            "u0@example.org",
            "--json",
            "--count",
            &total.to_string(),
        ])
        .env("TOCSIN_IMTP_PASSWORD", "pw")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let printed: Arc<std::sync::Mutex<Vec<(usize, Instant)>>> = Arc::default();
    let pr = printed.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let at = Instant::now();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let i: usize = v["text"]
                .as_str()
                .and_then(|t| t.strip_prefix("lat-"))
                .and_then(|t| t.parse().ok())
                .unwrap();
            pr.lock().unwrap().push((i, at));
        }
    });
    // Let the watcher sign in and listen.
    std::thread::sleep(Duration::from_millis(500));
    let sock = sub.join("admin.sock");
    let start_t = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / f64::from(per_sec));
    let mut sent_at = Vec::with_capacity(total);
    let mut children = Vec::new();
    for i in 0..total {
        let due = start_t + gap * i as u32;
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        sent_at.push(Instant::now());
        children.push(
            std::process::Command::new(sibling_bin("tocsinctl"))
                .arg("--socket")
                .arg(&sock)
                .args([
                    "send",
                    "--user",
                    "u0@example.org",
                    "--kind",
                    "bench.Latency",
                    "--summary",
                    &format!("lat-{i}"),
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        children.retain_mut(|c| c.try_wait().ok().flatten().is_none());
    }
    for mut c in children {
        let _ = c.wait();
    }
    let _ = watch.wait();
    reader.join().unwrap();
    stop(r);
    let printed = printed.lock().unwrap();
    assert_eq!(printed.len(), total, "watch printed every notification");
    let mut ms: Vec<f64> = printed
        .iter()
        .map(|(i, at)| at.duration_since(sent_at[*i]).as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}

/// The backlog case: deliveries held while nobody listens, then drained
/// when every recipient's client connects at once.
pub fn drain(dir: &Path, deliveries: usize, users: usize, window: u32) {
    println!(
        "held backlog -> IMTP clients: {deliveries} deliveries to {users} users held until present, then one client each connects"
    );
    for w in [1, window] {
        let (c, d) = queue_run(dir, deliveries, users, "drain", w);
        println!(
            "  plaintext, {w:>2} in flight per recipient: acked by clients {}   all `delivered` in the DB {}",
            rate(deliveries, c),
            rate(deliveries, d)
        );
    }
}

pub fn run(dir: &Path, deliveries: usize, users: usize, window: u32, per_sec: u32, seconds: u64) {
    println!(
        "queue -> listening IMTP clients: {deliveries} deliveries to {users} users, one client each"
    );
    let (_, rec) = queue_run(dir, deliveries, users, "recorder", 1);
    let mut phases = Vec::new();
    for mode in ["plain", "tls"] {
        for w in [1, window] {
            let (c, d) = queue_run(dir, deliveries, users, mode, w);
            phases.push((mode, w, c, d));
        }
    }
    let base = crate::commit::plain_rate(dir, 1000, deliveries);
    for (mode, w, c, d) in phases {
        println!(
            "  IMTP {:<9} {w:>2} in flight per recipient: acked by clients {}   all `delivered` in the DB {}",
            if mode == "tls" { "TLS:" } else { "plaintext:" },
            rate(deliveries, c),
            rate(deliveries, d)
        );
    }
    println!(
        "  baseline: same queue to the recorder plugin (`sent`) {}   plain insert, batch 1000 {}",
        rate(deliveries, rec),
        rate(deliveries, base)
    );
    let ms = latency(dir, per_sec, seconds);
    println!(
        "`tocsinctl send` -> line printed by `tocsinctl watch`, {per_sec}/s for {seconds} s ({} events): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        ms.len(),
        percentile(&ms, 0.50),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
}
