//! Signals, systemd notifications, reload, integrity.

use nix::sys::signal::Signal;
use std::time::Duration;
use tocsin_tests::TestDaemon;

#[test]
fn sigterm_is_graceful() {
    let mut d = TestDaemon::new();
    d.start();
    d.send("a", "a.b", "x", &[]);
    d.signal(Signal::SIGTERM);
    d.wait_notify("STOPPING=1", Duration::from_secs(10));
    let status = d.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(!d.socket.exists(), "admin socket removed on shutdown");
    // checkpointed: the WAL was truncated
    let wal = d.db.with_extension("db-wal");
    assert!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0);
    assert!(d.log().contains("stopped"));
}

#[test]
fn sigint_is_graceful() {
    let mut d = TestDaemon::new();
    d.start();
    d.signal(Signal::SIGINT);
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn watchdog_pings_come_from_the_loop() {
    let mut d = TestDaemon::new();
    d.env("WATCHDOG_USEC", "200000");
    d.start();
    d.wait_notify("WATCHDOG=1", Duration::from_secs(5));
    d.wait_notify("WATCHDOG=1", Duration::from_secs(5));
    // A stopped (wedged) loop stops pinging, so systemd would kill it.
    d.signal(Signal::SIGSTOP);
    std::thread::sleep(Duration::from_millis(50));
    d.drain_notify();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(d.drain_notify(), 0, "no pings while the loop is stopped");
    d.signal(Signal::SIGCONT);
    d.wait_notify("WATCHDOG=1", Duration::from_secs(5));
}

#[test]
fn sighup_reloads_and_keeps_running_on_bad_config() {
    let mut d = TestDaemon::new();
    d.start();
    let good = std::fs::read_to_string(&d.config).unwrap();
    d.write_config(&good.replace("log_level = \"debug\"", "log_level = \"warn\""));
    assert_eq!(d.ctl(&["status"]).code, 0);
    assert!(
        d.log().contains("admin request"),
        "debug lines before the reload"
    );
    d.signal(Signal::SIGHUP);
    d.wait_notify("RELOADING=1", Duration::from_secs(5));
    d.wait_notify("READY=1", Duration::from_secs(5));
    let before = d.log().len();
    assert_eq!(d.ctl(&["status"]).code, 0);
    assert!(
        !d.log()[before..].contains("admin request"),
        "log level lowered to warn by the reload"
    );
    d.write_config("this is [ not toml");
    d.signal(Signal::SIGHUP);
    d.wait_notify("READY=1", Duration::from_secs(5));
    assert_eq!(d.ctl(&["status"]).code, 0);
    assert!(d.log().contains("reload refused"), "{}", d.log());
}

#[test]
fn status_reports_the_store() {
    let mut d = TestDaemon::new();
    d.start();
    d.send("a", "a.b", "x", &[]);
    let s = d.ctl_json(&["status"]);
    assert_eq!(s["appliance_id"], "test-node");
    assert_eq!(s["db"]["events"], 1);
    assert_eq!(s["db"]["schema_version"], 6);
    assert!(s["db"]["commit_seq"].as_i64().unwrap() >= 1);
    assert_eq!(s["db"]["path"], d.db.display().to_string());
    // the background integrity check finishes quickly on a small DB
    let mut ok = false;
    for _ in 0..100 {
        if d.ctl_json(&["status"])["db"]["integrity"] == "ok" {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ok);
}

#[test]
fn second_instance_refuses_the_socket() {
    let mut a = TestDaemon::new();
    a.start();
    let mut b = TestDaemon::new();
    // Point b at a's socket with its own database.
    let text = std::fs::read_to_string(&b.config).unwrap().replace(
        &format!("{}/admin.sock", b.path().display()),
        &a.socket.display().to_string(),
    );
    b.write_config(&text);
    b.spawn();
    let status = b.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    assert!(
        b.log().contains("in use by another running process"),
        "{}",
        b.log()
    );
    assert_eq!(a.ctl(&["status"]).code, 0);
}

#[test]
fn corrupt_database_stops_the_daemon() {
    let mut d = TestDaemon::new();
    d.start();
    for i in 0..300 {
        d.send("u", "a.b", &"x".repeat(200), &["--id", &i.to_string()]);
    }
    assert_eq!(d.stop().code(), Some(0));
    let mut bytes = std::fs::read(&d.db).unwrap();
    assert!(bytes.len() > 10 * 4096, "{}", bytes.len());
    for b in &mut bytes[3 * 4096..8 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&d.db, &bytes).unwrap();
    d.spawn();
    let status = d.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{}", d.log());
    assert!(d.log().contains("integrity"), "{}", d.log());
}
