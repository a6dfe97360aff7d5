//! Events survive kill -9 and are stored exactly once.

use tocsin_tests::TestDaemon;

#[test]
fn send_list_show() {
    let mut d = TestDaemon::new();
    d.start();
    let (id, dup) = d.send(
        "alice@example.org",
        "mail.MessageNew",
        "New mail from Bob",
        &[
            "--body",
            "Hello",
            "--priority",
            "high",
            "--attr",
            "folder=INBOX",
        ],
    );
    assert!(!dup);
    let events = d.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["id"], id);
    assert_eq!(events[0]["user"], "alice@example.org");
    assert_eq!(events[0]["kind"], "mail.MessageNew");
    assert_eq!(events[0]["source"], "admin");
    let shown = d.ctl_json(&["events", "show", &id.to_string()]);
    assert_eq!(shown["summary"], "New mail from Bob");
    assert_eq!(shown["body"], "Hello");
    assert_eq!(shown["priority"], "high");
    assert_eq!(shown["attributes"]["folder"], "INBOX");
    // human output too
    let out = d.ctl(&["events", "list"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("New mail from Bob"), "{}", out.stdout);
    let missing = d.ctl(&["events", "show", "999999"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not-found"), "{missing:?}");
}

#[test]
fn kill9_right_after_send_loses_nothing_and_duplicates_nothing() {
    let mut d = TestDaemon::new();
    d.start();
    let (id, dup) = d.send(
        "bob",
        "voicemail.MessageWaiting",
        "2 new voice messages",
        &["--source", "pbx", "--id", "vm-1"],
    );
    assert!(!dup);
    // The answer came after the commit: kill without any chance to flush.
    d.kill9();
    d.start();
    let events = d.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["id"], id);
    assert_eq!(events[0]["source"], "pbx");
    assert_eq!(events[0]["source_event_id"], "vm-1");
    // The source retries after the crash: acknowledged, not stored again.
    let (id2, dup2) = d.send(
        "bob",
        "voicemail.MessageWaiting",
        "2 new voice messages",
        &["--source", "pbx", "--id", "vm-1"],
    );
    assert!(dup2);
    assert_eq!(id2, id);
    assert_eq!(d.events().len(), 1);
}

#[test]
fn many_sends_then_kill9() {
    let mut d = TestDaemon::new();
    d.start();
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = format!("e{i}");
        ids.push(
            d.send("carol", "calendar.Alarm", "meeting", &["--id", &id])
                .0,
        );
    }
    d.kill9();
    d.start();
    let mut stored: Vec<i64> = d
        .events()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    stored.sort();
    assert_eq!(stored, ids);
}

#[test]
fn bad_events_are_refused_with_codes() {
    let mut d = TestDaemon::new();
    d.start();
    let out = d.ctl(&[
        "send",
        "--user",
        "a",
        "--kind",
        "nonamespace",
        "--summary",
        "x",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unknown-kind"), "{out:?}");
    let big = "x".repeat(70_000);
    let out = d.ctl(&[
        "--json",
        "send",
        "--user",
        "a",
        "--kind",
        "a.b",
        "--summary",
        "x",
        "--body",
        &big,
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["error"]["code"], "too-large");
    let out = d.ctl(&["send", "--user", "", "--kind", "a.b", "--summary", "x"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("malformed"), "{out:?}");
    assert!(d.events().is_empty());
}

#[test]
fn online_backup() {
    let mut d = TestDaemon::new();
    d.start();
    for i in 0..10 {
        d.send("dave", "mail.MessageNew", "m", &["--id", &i.to_string()]);
    }
    let dest = d.path().join("backup.db");
    let v = d.ctl_json(&["db", "backup", dest.to_str().unwrap()]);
    assert!(v["bytes"].as_u64().unwrap() > 0);
    let c = rusqlite::Connection::open(&dest).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 10);
    // refuses to overwrite
    let again = d.ctl(&["db", "backup", dest.to_str().unwrap()]);
    assert_eq!(again.code, 1, "{again:?}");
}
