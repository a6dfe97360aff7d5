//! The `tocsin-send` binary against a real test server: exit codes, output,
//! JSON lines, TLS files.

#![allow(clippy::unwrap_used)] // fixtures

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use support::Policy;
use support::net::{Pki, ServerOpts, TestServer, dead_addr};
use tocsin_s2s::Code;

fn send(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tocsin-send"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn one_event_accepted_exits_zero() {
    let server = TestServer::start(ServerOpts::default());
    let o = send(
        &[
            "--server",
            &server.addr,
            "--source",
            "mta1",
            "--plaintext",
            "--user",
            "alice",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "Grüße from Bob",
            "--priority",
            "high",
            "--id",
            "cli-1",
            "--attr",
            "uid=42",
            "--attr",
            "mailbox=INBOX",
            "--origin-host",
            "mx1.example",
            "-v",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "accepted: cli-1\n");
    let store = server.store.lock().unwrap();
    let e = &store.events[0];
    assert_eq!(
        (
            e.id.as_str(),
            e.kind.as_str(),
            e.user.as_str(),
            e.origin.as_str(),
            e.summary.as_str()
        ),
        (
            "cli-1",
            "mail.MessageNew",
            "alice",
            "mx1.example",
            "Grüße from Bob"
        )
    );
}

#[test]
fn rejected_event_exits_one_with_the_code() {
    let server = TestServer::start(ServerOpts {
        policy: Policy {
            reject_users: vec!["mallory".into()],
            ..Policy::default()
        },
        ..ServerOpts::default()
    });
    let o = send(
        &[
            "--server",
            &server.addr,
            "--source",
            "mta1",
            "--plaintext",
            "--user",
            "mallory",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "hi",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("rejected: unauthorized-user: user not provisioned for this source"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn refused_source_exits_one() {
    let server = TestServer::start(ServerOpts {
        policy: Policy {
            refuse: Some(Code::UnauthorizedSource),
            ..Policy::default()
        },
        ..ServerOpts::default()
    });
    let o = send(
        &[
            "--server",
            &server.addr,
            "--source",
            "rogue",
            "--plaintext",
            "--user",
            "a",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "hi",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("refused: unauthorized-source"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_server_exits_three() {
    let dead = dead_addr();
    let o = send(
        &[
            "--server",
            &dead,
            "--source",
            "mta1",
            "--plaintext",
            "--timeout",
            "0.5",
            "--user",
            "a",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "hi",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("no server reachable"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_two() {
    let base = [
        "--source",
        "mta1",
        "--plaintext",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "s",
    ];
    // missing --user
    assert_eq!(send(&base, None).status.code(), Some(2));
    // bad priority
    let mut a = base.to_vec();
    a.extend(["--user", "u", "--priority", "7"]);
    assert_eq!(send(&a, None).status.code(), Some(2));
    // neither TLS material nor --plaintext
    let o = send(
        &[
            "--source",
            "mta1",
            "--user",
            "u",
            "--kind",
            "mail.X",
            "--summary",
            "s",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--plaintext"), "{}", stderr(&o));
    // an invalid kind is caught before connecting
    let mut a = base.to_vec();
    a[4] = "NoNamespace";
    a.extend(["--user", "u"]);
    let o = send(&a, None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid event"), "{}", stderr(&o));
    // bad JSON line
    let o = send(
        &["--source", "mta1", "--plaintext", "--stdin"],
        Some("{\"user\": 1}\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stdin line 1"), "{}", stderr(&o));
}

#[test]
fn json_lines_on_stdin() {
    let server = TestServer::start(ServerOpts::default());
    let input = concat!(
        r#"{"user": "alice", "kind": "mail.MessageNew", "summary": "one"}"#,
        "\n\n",
        r#"{"user": "bob", "kind": "voicemail.MessageNew", "summary": "two", "priority": "urgent", "attrs": {"from": "+41 44 000"}}"#,
        "\n",
        r#"{"user": "alice", "kind": "calendar.AlarmDue", "summary": "three", "id": "cal-9", "priority": 2, "occurred_at_ms": 1700000000000, "lang": "de", "origin_host": "cal.example", "body": "Room 4\nbring slides"}"#,
        "\n",
    );
    let o = send(
        &[
            "--server",
            &server.addr,
            "--source",
            "mta1",
            "--plaintext",
            "--stdin",
        ],
        Some(input),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let store = server.store.lock().unwrap();
    assert_eq!(store.events.len(), 3);
    assert_ne!(
        store.events[0].id, store.events[1].id,
        "generated ids are unique"
    );
    assert_eq!(store.events[2].id, "cal-9");
    assert_eq!(store.events[2].origin, "cal.example");
}

#[test]
fn mutual_tls_from_pem_files() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    pki.write_client_files(dir.path());
    let server = TestServer::start(ServerOpts {
        tls: Some(pki.server_config()),
        ..ServerOpts::default()
    });
    let p = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    let o = send(
        &[
            "--server",
            &server.addr,
            "--source",
            "mta1",
            "--ca",
            &p("ca.pem"),
            "--cert",
            &p("client.pem"),
            "--key",
            &p("client.key"),
            "--user",
            "alice",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "over TLS",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(server.stored_ids().len(), 1);
}
