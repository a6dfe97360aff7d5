//! packaging/examples/asterisk-externnotify, run the way Asterisk runs it
//! (both argument forms), against a real daemon through tocsinctl.

use std::path::{Path, PathBuf};
use std::process::Command;

use tocsin_tests::{CtlOutput, TestDaemon, bin, daemon::run};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/examples/asterisk-externnotify")
}

fn externnotify(d: &TestDaemon, args: &[&str], extra_env: &[(&str, &str)]) -> CtlOutput {
    let mut cmd = Command::new(script());
    cmd.args(args)
        .env("TOCSIN_SOCKET", &d.socket)
        .env("TOCSIN_CTL", bin("tocsinctl"))
        .env("TOCSIN_USER_DOMAIN", "example.org")
        .env("TOCSIN_RETRIES", "1");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run(cmd)
}

fn asterisk_events(d: &TestDaemon) -> Vec<serde_json::Value> {
    let mut v: Vec<_> = d
        .events()
        .into_iter()
        .filter(|e| e["source"] == "asterisk")
        .collect();
    v.reverse();
    v
}

#[test]
fn externnotify_hands_both_argument_forms_to_tocsin() {
    let mut d = TestDaemon::new();
    d.start();
    // Asterisk 1.6.2+: context mailbox new old urgent.
    let out = externnotify(&d, &["default", "1000", "2", "5", "1"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    // Older releases: context mailbox new.
    let out = externnotify(&d, &["sales", "2001", "1"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    // Everything listened to.
    let out = externnotify(&d, &["default", "1000", "0", "7", "0"], &[]);
    assert_eq!(out.code, 0, "{out:?}");

    let events = asterisk_events(&d);
    assert_eq!(events.len(), 3, "{events:#?}");
    let e = &events[0];
    assert_eq!(e["kind"], "voicemail.MessageWaiting");
    assert_eq!(e["user"], "1000@example.org");
    assert_eq!(e["summary"], "2 new voicemails (1 urgent)");
    assert_eq!(e["priority"], "high");
    let a = &e["attributes"];
    assert_eq!(a["account"], "asterisk:1000@default");
    assert_eq!(a["coalesce_key"], "vm:asterisk:1000@default");
    assert_eq!(a["messages_waiting"], "yes");
    assert_eq!(a["voice_new"], "2");
    assert_eq!(a["voice_old"], "5");
    assert_eq!(a["voice_urgent_new"], "1");

    let old_form = &events[1];
    assert_eq!(old_form["user"], "2001@example.org");
    assert_eq!(old_form["summary"], "1 new voicemail");
    assert_eq!(old_form["priority"], "normal");
    assert_eq!(old_form["attributes"]["voice_new"], "1");
    assert!(
        old_form["attributes"].get("voice_old").is_none(),
        "the old form knows no old count: {old_form}"
    );

    let cleared = &events[2];
    assert_eq!(cleared["summary"], "No new voicemail");
    assert_eq!(cleared["attributes"]["messages_waiting"], "no");
    assert_eq!(cleared["attributes"]["voice_old"], "7");
}

#[test]
fn externnotify_refuses_bad_arguments_and_reports_an_unreachable_daemon() {
    let mut d = TestDaemon::new();
    d.start();
    for args in [
        &["default", "1000"][..],
        &["default", "1000", "two"],
        &["default", "1000", "1", "2"],
        &["default", "10 00", "1"],
        &["de fault", "1000", "1"],
        &["default", "1000", "-1", "0", "0"],
    ] {
        let out = externnotify(&d, args, &[]);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
    }
    assert!(asterisk_events(&d).is_empty());
    // Counts saturate like the SIP path.
    let out = externnotify(&d, &["default", "1000", "99999999999", "0", "0"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        asterisk_events(&d)[0]["attributes"]["voice_new"],
        "4294967295"
    );
    // An empty context (Asterisk passes "") means `default`.
    let out = externnotify(&d, &["", "1000", "1"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        asterisk_events(&d)[1]["attributes"]["account"],
        "asterisk:1000@default"
    );
    d.stop();
    let out = externnotify(
        &d,
        &["default", "1000", "3", "0", "0"],
        &[("TOCSIN_RETRIES", "2")],
    );
    assert_eq!(out.code, 3, "daemon unreachable: {out:?}");
    assert!(
        out.stderr.contains("could not hand 1000@default to tocsin"),
        "{out:?}"
    );
}
