//! A real SIP peer: sipp (Debian `sip-tester`, installed by tests/run)
//! sends unsolicited MWI NOTIFYs over UDP and TCP with the scenarios in
//! tests/sipp/. A run passes when sipp exits 0, i.e. every NOTIFY got its
//! 200 OK; then the stored events must be exactly the expected ones.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{USER_MAP, Vm, counts, start, voice};
use tocsin_tests::sip::free_udp_port;

fn sipp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sipp")
}

/// Runs sipp to completion; panics (with its output and error log) unless
/// it exits 0. Never skips: a missing sipp is a failure with the fix.
fn run_sipp(vm: &Vm, scenario: &str, inject: &str, calls: usize, tcp: bool) {
    let found = Command::new("sipp").arg("-v").output();
    assert!(
        found.is_ok(),
        "sipp is not installed: `apt-get install sip-tester` (tests/run does it)"
    );
    let work = tempfile::tempdir().unwrap();
    let target = if tcp { &vm.tcp } else { &vm.udp };
    let port = free_udp_port().to_string();
    let calls = calls.to_string();
    let scenario = sipp_dir().join(scenario);
    let inject = sipp_dir().join(inject);
    let mut cmd = Command::new("sipp");
    cmd.current_dir(work.path())
        .arg("-sf")
        .arg(&scenario)
        .arg("-inf")
        .arg(&inject)
        .args(["-i", "127.0.0.1", "-p", &port, "-m", &calls])
        .args(["-t", if tcp { "t1" } else { "u1" }])
        // One call at a time, so the counts arrive in file order.
        .args(["-l", "1", "-nostdin", "-timeout", "10s", "-trace_err"])
        .arg(target);
    // sipp's own -timeout does not end every kind of loop (it resends
    // forever when it takes an answer for a retransmission): bound it here.
    let log = |name: &str| std::fs::File::create(work.path().join(name)).unwrap();
    let mut child = cmd
        .stdout(log("sipp.stdout"))
        .stderr(log("sipp.stderr"))
        .spawn()
        .expect("run sipp");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |name: &str| std::fs::read_to_string(work.path().join(name)).unwrap_or_default();
    let errors: String = std::fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "sipp failed ({status:?}; None = killed after 60 s)\nstdout:\n{}\nstderr:\n{}\nerrors log:\n{errors}\ntocsind log:\n{}",
        read("sipp.stdout"),
        read("sipp.stderr"),
        vm.d.log()
    );
}

/// counts-change.csv: 1/0, then 2/0 (1/0 urgent), the same again, then
/// "no" with 0/2: three states, four NOTIFYs.
fn assert_count_change_events(vm: &Vm) {
    let events = vm.events();
    let seen: Vec<_> = events.iter().map(voice).collect();
    assert_eq!(
        seen,
        vec![
            counts("1", "0", "0", "0"),
            counts("2", "0", "1", "0"),
            counts("0", "2", "0", "0"),
        ],
        "{events:#?}"
    );
    for e in &events {
        assert_eq!(e["user"], "alice@example.org");
        assert_eq!(e["kind"], "voicemail.MessageWaiting");
        assert_eq!(e["attributes"]["account"], "sip:alice@127.0.0.1");
        assert_eq!(e["attributes"]["coalesce_key"], "vm:sip:alice@127.0.0.1");
    }
    assert_eq!(events[0]["summary"], "1 new voicemail");
    assert_eq!(events[1]["summary"], "2 new voicemails (1 urgent)");
    assert_eq!(events[1]["priority"], "high");
    assert_eq!(events[2]["summary"], "No new voicemail");
    assert_eq!(events[2]["attributes"]["messages_waiting"], "no");
}

#[test]
fn sipp_unsolicited_notifies_over_udp_with_a_count_change() {
    let vm = start(USER_MAP);
    run_sipp(&vm, "mwi-unsolicited.xml", "counts-change.csv", 4, false);
    assert_count_change_events(&vm);
}

#[test]
fn sipp_unsolicited_notifies_over_tcp_with_a_count_change() {
    let vm = start(USER_MAP);
    run_sipp(&vm, "mwi-unsolicited.xml", "counts-change.csv", 4, true);
    assert_count_change_events(&vm);
}

#[test]
fn sipp_udp_retransmission_is_answered_twice_and_stored_once() {
    let vm = start(USER_MAP);
    run_sipp(&vm, "mwi-retransmit.xml", "retransmit.csv", 1, false);
    let events = vm.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["user"], "bob@example.org");
    assert_eq!(voice(&events[0]), counts("3", "5", "0", "1"));
    // Both copies were answered (sipp saw two 200s); one became an event.
    assert_eq!(vm.d.plugin("vm")["events_emitted"], 1);
}
