//! S2S ingest through a release tocsind on loopback, plaintext and TLS:
//! sustained acknowledged events/s, ACK latency at a steady rate, and the
//! daemon's RSS meanwhile; baseline: the plain batched SQLite insert loop
//! (`commit::plain_rate`, batch 1000) measured in the same run.

use crate::commit::plain_rate;
use crate::daemon::{rss_kib, start, stop};
use crate::s2s_client::{Run, Source};
use crate::util::event;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tocsin_s2s::Event;

/// The ~300-byte benchmark event as a source sends it.
fn s2s_event(i: usize, prefix: &str) -> Event {
    let e = event(i);
    let mut out = Event::new(
        format!("{prefix}-{}", e.source_event_id),
        e.kind,
        e.user,
        e.summary,
    );
    out.origin_host = Some(e.origin_host);
    out.occurred_at_ms = e.occurred_at_ms;
    out.body = Some(e.body);
    out.attributes = e.attributes.into_iter().collect();
    out
}

struct Tls {
    client: Arc<rustls::ClientConfig>,
    files: [PathBuf; 3],
}

/// A CA, a server certificate for 127.0.0.1 and the source's client
/// certificate (`dns:bench.example`).
fn pki(dir: &Path) -> Tls {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let issue = |san: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![san.to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_pem, server_key) = issue("127.0.0.1");
    let (client_pem, client_key) = issue("bench.example");
    let files = [
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    ];
    for (f, text) in files.iter().zip([&ca_pem, &server_pem, &server_key]) {
        std::fs::write(f, text).unwrap();
    }
    let client = tocsin_s2s::tls::client_config_from_pem(
        ca_pem.as_bytes(),
        Some((client_pem.as_bytes(), client_key.as_bytes())),
    )
    .unwrap();
    Tls { client, files }
}

fn write_config(dir: &Path, port: u16, tls: Option<&Tls>, max_undecided: usize) -> PathBuf {
    std::fs::create_dir_all(dir.join("plugins.d")).unwrap();
    let listener = match tls {
        None => format!("address = \"127.0.0.1:{port}\"\nplaintext = true\n"),
        Some(t) => format!(
            "address = \"127.0.0.1:{port}\"\nclient_ca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            t.files[0].display(),
            t.files[1].display(),
            t.files[2].display()
        ),
    };
    let cfg = dir.join("tocsin.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nlog_level = \"warn\"\n[admin]\nsocket = \"{d}/admin.sock\"\n\
             [store]\npath = \"{d}/tocsin.db\"\n[plugins]\ndir = \"{d}\"\nconfig_dir = \"{d}/plugins.d\"\n\
             [ingest]\nmax_undecided = {max_undecided}\n[[ingest.listen]]\n{listener}\n\
             [[sources]]\nname = \"bench\"\ncertificate = \"dns:bench.example\"\nusers = [\"*\"]\nkinds = [\"*\"]\n",
            d = dir.display()
        ),
    )
    .unwrap();
    cfg
}

/// Samples the daemon's VmRSS every 20 ms while a phase runs.
struct RssProbe {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssProbe {
    fn start(pid: u32) -> RssProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssProbe {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn peak_kib(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Figures {
    rate: f64,
    peak_rss_flood: u64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    paced_rate: f64,
    peak_rss_paced: u64,
    idle_rss: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The latency floor of an ACK-after-commit: one 4 KiB write + fdatasync
/// on the same file system, `n` times; (median, p99).
fn fsync_latency(dir: &Path, n: usize) -> (Duration, Duration) {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let page = [0u8; 4096];
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = std::time::Instant::now();
            f.write_all(&page).unwrap();
            f.sync_data().unwrap();
            t.elapsed()
        })
        .collect();
    let _ = std::fs::remove_file(&path);
    v.sort();
    (percentile(&v, 0.5), percentile(&v, 0.99))
}

fn one_mode(
    dir: &Path,
    tls: bool,
    events: usize,
    rate: u32,
    seconds: u64,
    max_undecided: usize,
) -> Figures {
    std::fs::create_dir_all(dir).unwrap();
    let t = tls.then(|| pki(dir));
    let port = free_port();
    let cfg = write_config(dir, port, t.as_ref(), max_undecided);
    let daemon = start(dir, &cfg);
    let pid = daemon.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let idle_rss = rss_kib(pid);
    let addr = format!("127.0.0.1:{port}");
    let client = t.as_ref().map(|t| t.client.clone());
    let prefix = if tls { "tls" } else { "plain" };

    let evs: Vec<Event> = (0..events).map(|i| s2s_event(i, prefix)).collect();
    let probe = RssProbe::start(pid);
    let mut src = Source::connect(&addr, client.clone());
    let flood: Run = src.flood(&evs);
    let peak_rss_flood = probe.peak_kib();
    drop(src);

    let n = rate as usize * seconds as usize;
    let evs: Vec<Event> = (0..n).map(|i| s2s_event(events + i, prefix)).collect();
    let probe = RssProbe::start(pid);
    let mut src = Source::connect(&addr, client);
    let paced: Run = src.paced(&evs, rate);
    let peak_rss_paced = probe.peak_kib();
    drop(src);
    stop(daemon);

    let mut l = paced.latencies;
    l.sort();
    Figures {
        rate: flood.acked as f64 / flood.elapsed.as_secs_f64(),
        peak_rss_flood,
        p50: percentile(&l, 0.50),
        p99: percentile(&l, 0.99),
        max: l.last().copied().unwrap_or_default(),
        paced_rate: paced.acked as f64 / paced.elapsed.as_secs_f64(),
        peak_rss_paced,
        idle_rss,
    }
}

pub fn run(dir: &Path, events: usize, rate: u32, seconds: u64, max_undecided: usize) {
    println!(
        "S2S ingest, release tocsind on loopback, ~300-byte events, WAL + synchronous=FULL, \
         ingest.max_undecided = {max_undecided}"
    );
    let base = dir.join("plain-insert");
    std::fs::create_dir_all(&base).unwrap();
    let plain = events as f64 / plain_rate(&base, 1000, events);
    println!("baseline: plain batched SQLite insert (batch 1000): {plain:>9.0} events/s");
    let (f50, f99) = fsync_latency(dir, 200);
    println!("baseline: 4 KiB write + fdatasync: p50 {f50:.2?}, p99 {f99:.2?}");
    for tls in [false, true] {
        let f = one_mode(
            &dir.join(if tls { "tls" } else { "plaintext" }),
            tls,
            events,
            rate,
            seconds,
            max_undecided,
        );
        println!("{}:", if tls { "TLS (mutual)" } else { "plaintext" });
        println!(
            "  sustained: {events} events acked at {:>9.0} events/s ({:.2} x plain insert), peak RSS {} KiB (idle {} KiB)",
            f.rate,
            f.rate / plain,
            f.peak_rss_flood,
            f.idle_rss
        );
        println!(
            "  steady {rate}/s for {seconds} s (achieved {:.0}/s): ACK latency p50 {:.2?}, p99 {:.2?}, max {:.2?}, peak RSS {} KiB",
            f.paced_rate, f.p50, f.p99, f.max, f.peak_rss_paced
        );
    }
}
