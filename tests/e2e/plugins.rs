//! The plugin host with real cdylibs built by the workspace.

use std::time::Duration;
use tocsin_tests::{LineClient, TestDaemon, target_dir};

const SOURCE: &str = "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\n";

#[test]
fn source_plugin_events_take_the_ingest_path() {
    let mut d = TestDaemon::with_plugins(&[("mailsrc", SOURCE)]);
    d.start();
    let p = d.plugin("mailsrc");
    assert_eq!(p["state"], "running", "{p}");
    assert_eq!(p["kind"], "source");
    assert_eq!(p["plugin"], "test-source");
    assert_eq!(p["abi"], "1.0");
    let mut c = LineClient::connect(&d.plugin_addr("mailsrc"));
    let stored = c.cmd("EMIT m-1 alice@example.org mail.MessageNew Hello from the plugin");
    assert!(stored.starts_with("stored "), "{stored}");
    let id: i64 = stored[7..].parse().unwrap();
    assert_eq!(
        c.cmd("EMIT m-1 alice@example.org mail.MessageNew again"),
        format!("duplicate {id}")
    );
    assert!(c.cmd("EMIT m-2 bob nonamespace x").starts_with("rejected"));
    let e = d.ctl_json(&["events", "show", &id.to_string()]);
    assert_eq!(e["source"], "mailsrc", "the source is the instance name");
    assert_eq!(e["source_event_id"], "m-1");
    assert_eq!(e["summary"], "Hello from the plugin");
    assert_eq!(e["priority"], "high");
    assert_eq!(e["attributes"]["via"], "test-source");
    // Same dedupe as tocsinctl send: (source, id).
    let out = d.ctl_json(&[
        "send",
        "--source",
        "mailsrc",
        "--id",
        "m-1",
        "--user",
        "x",
        "--kind",
        "a.b",
        "--summary",
        "s",
    ]);
    assert_eq!(out["duplicate"], true);
    assert_eq!(out["id"], id);
    let p = d.plugin("mailsrc");
    assert_eq!(p["events_stored"], 1);
    assert_eq!(p["events_duplicate"], 1);
    assert_eq!(p["events_rejected"], 1);
    // The plugin's log lines land in the daemon's log, tagged.
    assert!(
        d.log()
            .contains("[mailsrc] tocsin_plugin_test_source: test source mailsrc listening"),
        "{}",
        d.log()
    );
}

#[test]
fn committed_completion_means_durable() {
    let mut d = TestDaemon::with_plugins(&[("src", SOURCE)]);
    d.start();
    let mut c = LineClient::connect(&d.plugin_addr("src"));
    let mut ids = Vec::new();
    for i in 0..25 {
        let r = c.cmd(&format!("EMIT k-{i} carol test.Durable n{i}"));
        assert!(r.starts_with("stored "), "{r}");
        ids.push(r[7..].parse::<i64>().unwrap());
    }
    // The completion came after the commit: a kill -9 now loses nothing.
    d.kill9();
    d.start();
    let stored: Vec<i64> = d
        .events()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .rev()
        .collect();
    assert_eq!(stored, ids);
    let mut c = LineClient::connect(&d.plugin_addr("src"));
    assert_eq!(
        c.cmd("EMIT k-3 carol test.Durable again"),
        format!("duplicate {}", ids[3])
    );
}

#[test]
fn a_panicking_instance_fails_alone() {
    let mut d = TestDaemon::with_plugins(&[("a", SOURCE), ("b", SOURCE)]);
    d.start();
    let mut a = LineClient::connect(&d.plugin_addr("a"));
    let mut b = LineClient::connect(&d.plugin_addr("b"));
    let before = a.cmd("EMIT before-panic u test.Panic committed before the panic");
    assert!(before.starts_with("stored"), "{before}");
    a.send("PANIC");
    assert!(a.at_eof(), "the failed instance's sockets are closed");
    let pa = d.plugin("a");
    assert_eq!(pa["state"], "failed", "{pa}");
    assert_eq!(pa["reason"], "panicked in on_data");
    assert!(pa["sockets"].as_array().unwrap().is_empty());
    assert!(
        d.log().contains("plugin panicked at"),
        "panic message logged: {}",
        d.log()
    );
    // The other instance and the daemon are fine.
    assert!(
        b.cmd("EMIT after-panic u test.Panic b still works")
            .starts_with("stored")
    );
    assert_eq!(d.plugin("b")["state"], "running");
    assert_eq!(d.ctl(&["status"]).code, 0);
    // What a emitted before it failed stays committed.
    let kinds: Vec<String> = d
        .events()
        .iter()
        .map(|e| e["source_event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"before-panic".to_string()));
    // A reload retries the failed instance.
    let r = d.ctl_json(&["plugins", "reload"]);
    assert_eq!(r["restarted"], serde_json::json!(["a"]), "{r}");
    assert_eq!(d.plugin("a")["state"], "running");
}

#[test]
fn refusals_are_visible_with_reasons() {
    let mut d = TestDaemon::with_plugins(&[
        ("future", "plugin = \"test-abi-mismatch\"\n"),
        ("noentry", "plugin = \"test-no-entry\"\n"),
        ("missing", "plugin = \"does-not-exist\"\n"),
        (
            "badcfg",
            "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\nbogus = 1\n",
        ),
        (
            "boom",
            "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\npanic_on_create = true\n",
        ),
        ("typo", "plugin = \"test-source\"\nconfg = 1\n"),
        ("good", SOURCE),
    ]);
    d.start();
    let reason = |n: &str| {
        let p = d.plugin(n);
        assert_eq!(p["state"], "refused", "{n}: {p}");
        p["reason"].as_str().unwrap().to_string()
    };
    assert!(reason("future").contains("plugin ABI 2.0 is not supported"));
    assert!(reason("noentry").contains("is not a tocsin plugin (no tocsin_plugin_entry symbol)"));
    assert!(reason("missing").contains("libtocsin_plugin_does_not_exist.so does not exist"));
    let r = reason("badcfg");
    assert!(
        r.contains("configuration refused by the plugin") && r.contains("bogus"),
        "{r}"
    );
    assert!(reason("boom").contains("panicked while starting"));
    let r = reason("typo");
    assert!(r.contains("typo.toml:2:") && r.contains("confg"), "{r}");
    assert_eq!(d.plugin("good")["state"], "running");
    // and the human listing says the same
    let out = d.ctl(&["plugins", "list"]);
    assert!(
        out.stdout.contains("refused") && out.stdout.contains("ABI 2.0"),
        "{}",
        out.stdout
    );
    assert_eq!(d.ctl(&["status"]).code, 0);
}

#[test]
fn reload_adds_and_removes_instances_without_restart() {
    let mut d = TestDaemon::with_plugins(&[]);
    d.start();
    let pid = d.pid();
    assert!(d.plugins().is_empty());
    d.write_plugin("one", SOURCE);
    let r = d.ctl_json(&["plugins", "reload"]);
    assert_eq!(r["added"], serde_json::json!(["one"]), "{r}");
    let addr = d.plugin_addr("one");
    let mut c = LineClient::connect(&addr);
    assert!(c.cmd("EMIT r-1 u test.Reload x").starts_with("stored"));
    // SIGHUP does the same.
    d.write_plugin("two", SOURCE);
    d.signal(nix::sys::signal::Signal::SIGHUP);
    let mut seen = false;
    for _ in 0..200 {
        if d.plugins()
            .iter()
            .any(|p| p["name"] == "two" && p["state"] == "running")
        {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(seen, "SIGHUP added instance two");
    d.remove_plugin("one");
    let r = d.ctl_json(&["plugins", "reload"]);
    assert_eq!(r["removed"], serde_json::json!(["one"]), "{r}");
    assert!(c.at_eof(), "removed instance's connections are closed");
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "listener closed"
    );
    // A changed file restarts just that instance.
    d.write_plugin(
        "two",
        "plugin = \"test-source\"\nmax_event_bytes = 1000\n[config]\nlisten = \"127.0.0.1:0\"\n",
    );
    let r = d.ctl_json(&["plugins", "reload"]);
    assert_eq!(r["restarted"], serde_json::json!(["two"]), "{r}");
    let mut c2 = LineClient::connect(&d.plugin_addr("two"));
    let big = "x".repeat(2000);
    assert!(
        c2.cmd(&format!("EMIT big u test.Reload {big}"))
            .starts_with("rejected")
    );
    // Nothing lost or duplicated, same process throughout.
    assert_eq!(d.pid(), pid);
    let ids: Vec<String> = d
        .events()
        .iter()
        .map(|e| e["source_event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["r-1".to_string()]);
}

#[test]
fn a_replaced_library_is_never_half_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("libtocsin_plugin_test_source.so");
    std::fs::copy(target_dir().join("libtocsin_plugin_test_source.so"), &lib).unwrap();
    let mut d = TestDaemon::with_plugins(&[]);
    d.write_plugin(
        "s",
        &format!(
            "library = \"{}\"\n[config]\nlisten = \"127.0.0.1:0\"\n",
            lib.display()
        ),
    );
    d.start();
    assert_eq!(d.plugin("s")["state"], "running");
    // Replace the file (new inode, like a package upgrade does).
    let tmp = dir.path().join("new.so");
    std::fs::copy(target_dir().join("libtocsin_plugin_test_source.so"), &tmp).unwrap();
    std::fs::rename(&tmp, &lib).unwrap();
    // Unchanged config: keeps running the loaded code, flagged stale.
    d.ctl_json(&["plugins", "reload"]);
    let p = d.plugin("s");
    assert_eq!(p["state"], "running");
    assert_eq!(p["stale"], true, "{p}");
    // A config change needs the library again: refused, with the fix.
    d.write_plugin(
        "s",
        &format!(
            "library = \"{}\"\nmax_event_bytes = 5000\n[config]\nlisten = \"127.0.0.1:0\"\n",
            lib.display()
        ),
    );
    let out = d.ctl(&["--json", "plugins", "reload"]);
    assert_eq!(out.code, 1, "{out:?}");
    let p = d.plugin("s");
    assert_eq!(p["state"], "refused");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .contains("changed on disk since it was loaded; restart tocsind"),
        "{p}"
    );
    // After a restart the new file loads.
    assert_eq!(d.stop().code(), Some(0));
    d.start();
    assert_eq!(d.plugin("s")["state"], "running");
}

#[test]
fn plugin_state_survives_restarts() {
    let mut d = TestDaemon::with_plugins(&[("kv", SOURCE)]);
    d.start();
    let mut c = LineClient::connect(&d.plugin_addr("kv"));
    assert_eq!(c.cmd("PUT cursor 42"), "ok");
    assert_eq!(c.cmd("GET cursor"), "42");
    assert_eq!(c.cmd("GET nothing"), "none");
    assert_eq!(c.cmd("TIMER 20"), "timer");
    // Make sure the write committed (an event after it commits in order).
    assert!(c.cmd("EMIT sync u test.Kv x").starts_with("stored"));
    d.kill9();
    d.start();
    let mut c = LineClient::connect(&d.plugin_addr("kv"));
    assert_eq!(c.cmd("GET cursor"), "42");
}

#[test]
fn a_c_plugin_built_from_the_header_loads_and_emits() {
    let dir = tempfile::tempdir().unwrap();
    let so = dir.path().join("libtocsin_plugin_hello_c.so");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-shared",
            "-fPIC",
            "-I",
        ])
        .arg(root.join("core/abi/include"))
        .arg("-o")
        .arg(&so)
        .arg(root.join("tests/c-plugin/hello.c"))
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut d = TestDaemon::with_plugins(&[]);
    d.write_plugin("hello", &format!("library = \"{}\"\n", so.display()));
    d.start();
    let p = d.plugin("hello");
    assert_eq!(p["state"], "running", "{p}");
    assert_eq!(p["plugin"], "hello-c");
    let mut ev = None;
    for _ in 0..200 {
        if let Some(e) = d.events().into_iter().find(|e| e["source"] == "hello") {
            ev = Some(e);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ev = ev.expect("the C plugin's event was stored");
    assert_eq!(ev["kind"], "test.HelloFromC");
    assert_eq!(ev["attributes"]["lang"], "c");
    for _ in 0..100 {
        if d.log().contains("C plugin event committed") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("on_committed never reached the C plugin: {}", d.log());
}

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_peer_that_never_reads_cannot_grow_memory() {
    use std::io::Write;
    let mut d = TestDaemon::with_plugins(&[("bp", SOURCE)]);
    d.start();
    let addr = d.plugin_addr("bp");
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let line = format!("ECHO {}\n", "y".repeat(1000));
    // Write answers-producing requests and never read the answers.
    let mut sent = 0usize;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        match s.write(line.as_bytes()) {
            Ok(n) => sent += n,
            Err(_) => break, // the daemon stopped reading: backpressure
        }
    }
    assert!(
        sent < 64 * 1024 * 1024,
        "the daemon kept reading ({sent} bytes)"
    );
    let p = d.plugin("bp");
    let conn = p["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "tcp")
        .cloned()
        .expect("connection");
    let queued = conn["queued_out"].as_u64().unwrap();
    assert!(queued <= 4 * 1024 * 1024 + 64 * 1024, "queued {queued}");
    assert!(rss_kib(d.pid()) < 64 * 1024, "RSS {} KiB", rss_kib(d.pid()));
    // Other clients are still served.
    let mut c = LineClient::connect(&addr);
    assert_eq!(c.cmd("ECHO still here"), "still here");
}

#[test]
fn a_closing_connection_lingers_so_the_last_answer_is_not_reset() {
    use std::io::{Read, Write};
    let mut d = TestDaemon::with_plugins(&[("q", SOURCE)]);
    d.start();
    let mut s = std::net::TcpStream::connect(d.plugin_addr("q")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The answer, the close, then bytes the plugin never reads: without a
    // lingering close the kernel answers them with a reset that can
    // destroy the answer before the client reads it.
    let mut msg = b"ECHO last words\nQUIT\n".to_vec();
    msg.extend(std::iter::repeat_n(b'x', 200_000));
    let w = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = s.write_all(&msg);
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut got = Vec::new();
    let r = s.read_to_end(&mut got);
    assert!(r.is_ok(), "clean close, not a reset: {r:?}");
    assert_eq!(String::from_utf8_lossy(&got), "last words\n");
    let _ = w.join();
    // The connection is gone from the daemon afterwards.
    std::thread::sleep(Duration::from_millis(2500));
    let p = d.plugin("q");
    assert!(
        p["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"] != "tcp"),
        "{p}"
    );
}
