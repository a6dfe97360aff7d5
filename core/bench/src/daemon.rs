//! Figures that need the real tocsind: start-to-READY time and idle RSS.

use crate::util::{event, sibling_bin};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tocsin_store::{Batch, Op, OpenOptions, Store};

fn write_config(dir: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("plugins.d")).unwrap();
    let cfg = dir.join("tocsin.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nlog_level = \"warn\"\n[admin]\nsocket = \"{d}/admin.sock\"\n\
             [store]\npath = \"{d}/tocsin.db\"\n[plugins]\ndir = \"{d}\"\nconfig_dir = \"{d}/plugins.d\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
    cfg
}

pub struct Running {
    pub(crate) child: std::process::Child,
    ready_after: Duration,
    /// Kept open until the daemon has sent STOPPING=1.
    _notify: UnixDatagram,
}

impl Running {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

pub fn start(dir: &Path, cfg: &Path) -> Running {
    let notify_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&notify_path);
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let t = Instant::now();
    let child = Command::new(sibling_bin("tocsind"))
        .arg("--config")
        .arg(cfg)
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).expect("READY within 60 s");
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            break;
        }
    }
    Running {
        child,
        ready_after: t.elapsed(),
        _notify: sock,
    }
}

pub fn stop(mut r: Running) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(r.child.id().to_string())
        .status();
    let _ = r.child.wait();
}

fn fill(db: &Path, n: usize) {
    let mut s = Store::open(db, OpenOptions { full_check: false }).unwrap();
    let mut b = Batch::new();
    for i in 0..n {
        b.push(
            Op::InsertEvent {
                event: event(i),
                received_at_ms: 0,
                deliveries: vec![],
            },
            (),
        );
        if b.len() == 10_000 {
            s.commit(&mut b);
        }
    }
    s.commit(&mut b);
    s.checkpoint(true).unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ready(dir: &Path, events: usize, runs: usize) {
    let exec_baseline = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                Command::new(sibling_bin("tocsind"))
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                t.elapsed()
            })
            .collect(),
    );
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let cfg = write_config(&empty);
    // The first start creates the schema; measure warm restarts.
    stop(start(&empty, &cfg));
    let empty_ready = median(
        (0..runs)
            .map(|_| {
                let r = start(&empty, &cfg);
                let d = r.ready_after;
                stop(r);
                d
            })
            .collect(),
    );
    let full = dir.join("full");
    std::fs::create_dir_all(&full).unwrap();
    let cfg = write_config(&full);
    let t = Instant::now();
    fill(&full.join("tocsin.db"), events);
    let fill_time = t.elapsed();
    let size = std::fs::metadata(full.join("tocsin.db")).unwrap().len();
    let full_ready = median(
        (0..runs)
            .map(|_| {
                let r = start(&full, &cfg);
                let d = r.ready_after;
                stop(r);
                d
            })
            .collect(),
    );
    println!("start to READY=1 (median of {runs})");
    println!("  baseline: exec of `tocsind --version`  {exec_baseline:>10.1?}");
    println!("  empty database                       {empty_ready:>10.1?}");
    println!(
        "  {events} events ({} MiB, filled in {fill_time:.1?})  {full_ready:>10.1?}",
        size / (1024 * 1024)
    );
}

pub(crate) fn rss_kib(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn rss(dir: &Path) {
    let cfg = write_config(dir);
    let r = start(dir, &cfg);
    std::thread::sleep(Duration::from_secs(3));
    let ours = rss_kib(r.child.id());
    let mut sleeper = Command::new("sleep").arg("5").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let base = rss_kib(sleeper.id());
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    println!("idle RSS after READY + 3 s");
    println!("  baseline: /bin/sleep   {base:>8} KiB");
    println!("  tocsind                {ours:>8} KiB");
    stop(r);
}
