//! S2S ingest into the real tocsind: plaintext on loopback and a unix
//! socket, mutual TLS with certificates made here by rcgen, provisioning
//! (sources, users, kinds), per-event rejections, duplicates, backpressure,
//! shutdown, and kill -9 in the middle of a 100k-event stream. Clients are
//! the real `tocsin-send` binary, the `tocsin_s2s::Client` library, and a
//! raw source for what the reference client never does.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tocsin_s2s::{Client, ClientConfig, Code, Event, Outcome};
use tocsin_tests::daemon::run;
use tocsin_tests::s2s::{RawSource, Received, client_options, free_port};
use tocsin_tests::{CertPair, CtlOutput, TestDaemon, TestPki, bin};

/// The test sources: `mx1` proves itself with a certificate for
/// `mx1.example`; `local` has no certificate identity (plaintext only).
const SOURCES: &str = r#"
[[sources]]
name = "mx1"
certificate = "dns:mx1.example"
users = ["*@example.org", "alice"]
kinds = ["mail.*", "calendar.*"]
max_event_bytes = 4096

[[sources]]
name = "local"
users = ["*"]
kinds = ["*"]
"#;

struct Setup {
    d: TestDaemon,
    /// Plaintext listener on 127.0.0.1.
    plain: String,
    /// TLS listener on 127.0.0.1, if any.
    tls: Option<String>,
    pki: TestPki,
}

impl Setup {
    fn new(tls: bool, extra: &str) -> Setup {
        let pki = TestPki::new("tocsin test sources CA");
        let plain = format!("127.0.0.1:{}", free_port());
        let tls_addr = tls.then(|| format!("127.0.0.1:{}", free_port()));
        let mut d = TestDaemon::with_config(|_| {});
        let mut text = std::fs::read_to_string(&d.config).unwrap();
        text.push_str(&format!(
            "\n[[ingest.listen]]\naddress = \"{plain}\"\nplaintext = true\n"
        ));
        if let Some(a) = &tls_addr {
            let server = pki.issue(&["localhost", "127.0.0.1"], "tocsin test appliance");
            let (cert, key) = server.write(d.path(), "server");
            let ca = pki.write_ca(d.path());
            text.push_str(&format!(
                "\n[[ingest.listen]]\naddress = \"{a}\"\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n",
                cert.display(),
                key.display(),
                ca.display()
            ));
        }
        text.push_str(extra);
        text.push_str(SOURCES);
        d.write_config(&text);
        d.start();
        Setup {
            d,
            plain,
            tls: tls_addr,
            pki,
        }
    }

    fn tls_addr(&self) -> &str {
        self.tls.as_deref().expect("TLS listener")
    }

    /// Client files for `tocsin-send`: (ca, cert, key).
    fn client_files(&self, pair: &CertPair, name: &str) -> [String; 3] {
        let ca = self.pki.write_ca(self.d.path());
        let (cert, key) = pair.write(self.d.path(), name);
        [ca, cert, key].map(|p| p.display().to_string())
    }

    fn client_tls(&self, pair: Option<&CertPair>) -> Arc<rustls::ClientConfig> {
        tocsin_s2s::tls::client_config_from_pem(
            self.pki.ca_pem.as_bytes(),
            pair.map(|p| (p.cert_pem.as_bytes(), p.key_pem.as_bytes())),
        )
        .unwrap()
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.d.db).unwrap()
    }

    /// (source, source_event_id) of every stored event, in id order.
    fn stored(&self) -> Vec<(String, String)> {
        let c = self.db();
        let mut st = c
            .prepare("SELECT source, source_event_id FROM events ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

fn send_cli(args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(bin("tocsin-send"));
    cmd.args(["--timeout", "10"]).args(args);
    run(cmd)
}

fn event(id: &str, kind: &str, user: &str) -> Event {
    let mut e = Event::new(id, kind, user, format!("summary of {id}"));
    e.origin_host = Some("mx1.example".into());
    e
}

#[test]
fn s2s_plaintext_loopback_stores_the_event_infoset() {
    let s = Setup::new(false, "");
    let out = send_cli(&[
        "--plaintext",
        "--server",
        &s.plain,
        "--source",
        "local",
        "--id",
        "ev-1",
        "--user",
        "zoë@example.org",
        "--kind",
        "vnd.example.cal.Alarm",
        "--summary",
        "Réunion à 10 h ☕",
        "--body",
        "ligne 1\nligne 2",
        "--priority",
        "urgent",
        "--origin-host",
        "cal1.example",
        "--lang",
        "fr-CA",
        "--attr",
        "room=Salle 3",
        "--occurred-at-ms",
        "1700000000000",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = s.d.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    // the authenticated source name, never a value of the message
    assert_eq!(e["source"], "local");
    assert_eq!(e["source_event_id"], "ev-1");
    assert_eq!(e["kind"], "vnd.example.cal.Alarm");
    assert_eq!(e["user"], "zoë@example.org");
    assert_eq!(e["summary"], "Réunion à 10 h ☕");
    assert_eq!(e["body"], "ligne 1\nligne 2");
    assert_eq!(e["priority"], "urgent");
    assert_eq!(e["origin_host"], "cal1.example");
    assert_eq!(e["occurred_at_ms"], 1_700_000_000_000_i64);
    assert_eq!(e["attributes"]["room"], "Salle 3");
    assert_eq!(e["attributes"]["lang"], "fr-CA");
    let log = s.d.log();
    assert!(
        log.contains("ingest: source local (tocsin-send/"),
        "connect not logged:\n{log}"
    );
}

#[test]
fn s2s_status_lists_listeners_and_connected_sources() {
    let s = Setup::new(true, "");
    let idle = s.d.ctl_json(&["status"]);
    let listeners = idle["ingest"]["listeners"].as_array().unwrap().clone();
    assert_eq!(listeners.len(), 2, "{idle}");
    assert!(listeners.contains(&serde_json::json!({"address": s.plain, "tls": false})));
    assert!(listeners.contains(&serde_json::json!({"address": s.tls_addr(), "tls": true})));
    assert_eq!(idle["ingest"]["connections"], serde_json::json!([]));

    let mut c =
        Client::connect(client_options(&s.plain, ClientConfig::new("local"), None)).unwrap();
    c.send_all([
        &event("st-1", "mail.MessageNew", "alice"),
        &event("st-2", "mail.MessageNew", "bob@example.org"),
    ])
    .unwrap();
    let results = c.flush().unwrap();
    assert!(
        results.iter().all(|r| r.outcome == Outcome::Accepted),
        "{results:?}"
    );
    let busy = s.d.ctl_json(&["status"]);
    let conns = busy["ingest"]["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "{busy}");
    let conn = &conns[0];
    assert_eq!(conn["source"], "local");
    assert_eq!(conn["listener"], s.plain.as_str());
    assert_eq!(conn["tls"], false);
    assert_eq!(conn["events_received"], 2);
    assert_eq!(conn["events_accepted"], 2);
    assert_eq!(conn["events_rejected"], 0);
    assert_eq!(conn["awaiting_ack"], 0);
    assert!(
        conn["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{conn}"
    );
    let text = s.d.ctl(&["status"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .contains(&format!("listening on {} (plaintext)", s.plain))
            && text.stdout.contains("2 accepted, 0 rejected"),
        "{}",
        text.stdout
    );
    c.close().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.d.ctl_json(&["status"])["ingest"]["connections"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "connection still listed after close"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn s2s_mtls_source_is_welcomed_with_hello_defaults_and_resume_point() {
    let s = Setup::new(true, "");
    let mx1 = s.pki.issue(&["mx1.example"], "mx1");
    let mut cfg = ClientConfig::new("mx1");
    cfg.namespaces = vec![("m".into(), "mail".into())];
    cfg.default_origin_host = Some("mx1.example".into());
    cfg.default_lang = Some("en".into());
    let addr = format!("localhost:{}", s.tls_addr().rsplit_once(':').unwrap().1);
    let mut c = Client::connect(client_options(
        &addr,
        cfg.clone(),
        Some(s.client_tls(Some(&mx1))),
    ))
    .unwrap();
    let w = c.welcome().unwrap().clone();
    assert_eq!(w.appliance_id, "test-node");
    assert_eq!(w.role, tocsin_s2s::msg::Role::Active);
    // the TLS listener's own address: plaintext ones are another kind
    assert_eq!(w.addresses, vec![s.tls_addr().to_string()]);
    assert_eq!(w.max_event_bytes, Some(4096));
    assert_eq!(w.resume, None);
    let mut a = Event::new("m-1", "mail.MessageNew", "alice", "Hi");
    a.attributes = vec![("uid".into(), "7".into())];
    let b = Event::new("m-2", "calendar.Alarm", "bob@example.org", "Meeting");
    c.send_all([&a, &b]).unwrap();
    let results = c.flush().unwrap();
    assert!(
        results.iter().all(|r| r.outcome == Outcome::Accepted),
        "{results:?}"
    );
    c.close().unwrap();
    let events = s.d.events();
    assert_eq!(events.len(), 2);
    let a = events
        .iter()
        .find(|e| e["source_event_id"] == "m-1")
        .unwrap();
    // sent as m:MessageNew through the HELLO binding
    assert_eq!(a["kind"], "mail.MessageNew");
    assert_eq!(a["source"], "mx1");
    assert_eq!(a["origin_host"], "mx1.example");
    assert_eq!(a["attributes"]["lang"], "en");
    assert_eq!(a["attributes"]["uid"], "7");
    // The next session learns the resume point: the last event stored.
    let c = Client::connect(client_options(&addr, cfg, Some(s.client_tls(Some(&mx1))))).unwrap();
    assert_eq!(c.welcome().unwrap().resume.as_deref(), Some("m-2"));
    drop(c);
    // and tocsin-send with PEM files
    let [ca, cert, key] = s.client_files(&mx1, "mx1");
    let out = send_cli(&[
        "--server",
        &addr,
        "--source",
        "mx1",
        "--ca",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "--user",
        "carol@example.org",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "x",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(s.d.events().len(), 3);
    assert!(s.d.log().contains("ingest: source mx1 (tocsin-send/"));
}

#[test]
fn s2s_tls_client_without_a_valid_certificate_is_refused_in_the_handshake() {
    let s = Setup::new(true, "");
    let ca = s.pki.write_ca(s.d.path()).display().to_string();
    let base = [
        "--timeout",
        "3",
        "--server",
        s.tls_addr(),
        "--source",
        "mx1",
        "--user",
        "alice",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "x",
    ];
    // no client certificate at all
    let mut args = vec!["--ca", ca.as_str()];
    args.extend_from_slice(&base);
    let out = run({
        let mut c = Command::new(bin("tocsin-send"));
        c.args(&args);
        c
    });
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("no server reachable"), "{out:?}");
    // a certificate for mx1.example from a CA the appliance does not trust
    let rogue = TestPki::new("rogue CA").issue(&["mx1.example"], "mx1");
    let (cert, key) = rogue.write(s.d.path(), "rogue");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mut args = vec!["--ca", ca.as_str(), "--cert", &cert, "--key", &key];
    args.extend_from_slice(&base);
    let out = run({
        let mut c = Command::new(bin("tocsin-send"));
        c.args(&args);
        c
    });
    assert_eq!(out.code, 3, "{out:?}");
    // the library client says the same
    let mut o = client_options(
        s.tls_addr(),
        ClientConfig::new("mx1"),
        Some(s.client_tls(None)),
    );
    o.timeout = Some(Duration::from_secs(2));
    assert!(Client::connect(o).is_err());
    assert!(s.stored().is_empty());
    let log = s.d.log();
    assert!(log.contains("TLS handshake"), "refusal not logged:\n{log}");
}

#[test]
fn s2s_unprovisioned_or_impersonating_source_gets_unauthorized_source() {
    let s = Setup::new(true, "");
    let stranger = s.pki.issue(&["stranger.example"], "stranger");
    let [ca, cert, key] = s.client_files(&stranger, "stranger");
    let tls = |source: &str| {
        send_cli(&[
            "--server",
            s.tls_addr(),
            "--source",
            source,
            "--ca",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "--user",
            "alice",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "x",
        ])
    };
    // not provisioned at all
    let out = tls("stranger");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("refused: unauthorized-source"),
        "{out:?}"
    );
    // a valid certificate of another party claiming to be mx1 (D-8)
    let out = tls("mx1");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("refused: unauthorized-source"),
        "{out:?}"
    );
    assert!(out.stderr.contains("dns:mx1.example"), "{out:?}");
    // a source without a certificate identity cannot use TLS listeners
    let out = tls("local");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("unauthorized-source"), "{out:?}");
    // plaintext: the name alone decides, and it is unknown
    let out = send_cli(&[
        "--plaintext",
        "--server",
        &s.plain,
        "--source",
        "nobody",
        "--user",
        "alice",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "x",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("refused: unauthorized-source"),
        "{out:?}"
    );
    assert!(s.stored().is_empty());
    assert!(s.d.log().contains("HELLO as \"mx1\" refused"));
}

#[test]
fn s2s_unauthorized_user_kind_and_size_are_rejected_per_event() {
    let s = Setup::new(true, "");
    let mx1 = s.pki.issue(&["mx1.example"], "mx1");
    let [ca, cert, key] = s.client_files(&mx1, "mx1");
    // tocsin-send exits 1 and prints the code
    let out = send_cli(&[
        "--server",
        s.tls_addr(),
        "--source",
        "mx1",
        "--ca",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "--user",
        "mallory@evil.example",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "x",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("rejected: unauthorized-user"),
        "{out:?}"
    );
    // one session, mixed events: the bad ones are rejected, the session goes on
    let mut c = Client::connect(client_options(
        s.tls_addr(),
        ClientConfig::new("mx1"),
        Some(s.client_tls(Some(&mx1))),
    ))
    .unwrap();
    let evs = [
        event("ok-1", "mail.MessageNew", "alice"),
        event("bad-user", "mail.MessageNew", "eve@example.net"),
        event("bad-kind", "voicemail.MessageWaiting", "alice"),
        event("ok-2", "calendar.Alarm", "bob@EXAMPLE.org"),
    ];
    c.send_all(&evs).unwrap();
    let r = c.flush().unwrap();
    let outcome = |id: &str| {
        r.iter()
            .find(|x| x.source_event_id == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome("ok-1"), Outcome::Accepted);
    assert!(matches!(
        outcome("bad-user"),
        Outcome::Rejected {
            code: Code::UnauthorizedUser,
            ..
        }
    ));
    assert!(matches!(
        outcome("bad-kind"),
        Outcome::Rejected {
            code: Code::UnauthorizedSource,
            ..
        }
    ));
    assert_eq!(outcome("ok-2"), Outcome::Accepted);
    c.close().unwrap();
    let stored: HashSet<String> = s.stored().into_iter().map(|(_, id)| id).collect();
    let want: HashSet<String> = ["ok-1", "ok-2"].map(String::from).into();
    assert_eq!(stored, want);
}

#[test]
fn s2s_source_max_event_bytes_is_enforced_by_the_daemon() {
    // A source with a small limit, reached by a raw source that ignores
    // WELCOME's max-event-bytes (the reference client never sends such an
    // event). The session goes on after the REJECT.
    let s = Setup::new(
        false,
        "\n[[sources]]\nname = \"tiny\"\nusers = [\"*\"]\nkinds = [\"*\"]\nmax_event_bytes = 200\n",
    );
    let sock = std::net::TcpStream::connect(&s.plain).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut raw = RawSource::new(sock);
    raw.hello("tiny");
    let w = raw.receive();
    assert!(
        matches!(
            w,
            Received::Welcome {
                max_event_bytes: Some(200),
                ..
            }
        ),
        "{w:?}"
    );
    let big = raw.event("big", "mail.MessageNew", "alice", &"x".repeat(300));
    let fine = raw.event("fine", "mail.MessageNew", "alice", "small");
    let seen = raw.until(|r| matches!(r, Received::Acked(_, last) if *last == fine));
    assert!(
        seen.iter().any(
            |r| matches!(r, Received::Reject { tsn, code: Code::TooLarge, .. } if *tsn == big)
        ),
        "{seen:?}"
    );
    let ids: Vec<String> = s.stored().into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids, vec!["fine".to_string()]);
}

#[test]
fn s2s_duplicates_are_acknowledged_and_stored_once() {
    let s = Setup::new(false, "");
    let send = || {
        send_cli(&[
            "--plaintext",
            "--server",
            &s.plain,
            "--source",
            "local",
            "--id",
            "dup-1",
            "--user",
            "alice",
            "--kind",
            "mail.MessageNew",
            "--summary",
            "x",
        ])
    };
    assert_eq!(send().code, 0);
    assert_eq!(send().code, 0);
    // in one session too
    let mut c =
        Client::connect(client_options(&s.plain, ClientConfig::new("local"), None)).unwrap();
    let e = event("dup-2", "mail.MessageNew", "alice");
    c.send_all([&e, &e, &e]).unwrap();
    let r = c.flush().unwrap();
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|x| x.outcome == Outcome::Accepted), "{r:?}");
    c.close().unwrap();
    let stored = s.stored();
    assert_eq!(
        stored,
        vec![
            ("local".to_string(), "dup-1".to_string()),
            ("local".to_string(), "dup-2".to_string())
        ]
    );
    // Another source may use the same id: (source, id) is the key.
    let mx = Client::connect(client_options(&s.plain, ClientConfig::new("mx1"), None));
    let mut mx = mx.unwrap();
    mx.send(&event("dup-1", "mail.MessageNew", "alice"))
        .unwrap();
    assert_eq!(mx.flush().unwrap()[0].outcome, Outcome::Accepted);
    assert_eq!(s.stored().len(), 3);
}

#[test]
fn s2s_unix_socket_listener() {
    let mut d = TestDaemon::with_config(|c| {
        c.push_str("\n[[ingest.listen]]\nunix = \"ingest.sock\"\nplaintext = true\n");
        c.push_str(SOURCES);
    });
    d.start();
    let path = d.path().join("ingest.sock");
    let sock = std::os::unix::net::UnixStream::connect(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut raw = RawSource::new(sock);
    raw.hello("local");
    let w = raw.receive();
    // a unix socket has no address to advertise
    assert!(
        matches!(&w, Received::Welcome { addresses, .. } if addresses.is_empty()),
        "{w:?}"
    );
    let tsn = raw.event("u-1", "mail.MessageNew", "alice", "via unix");
    raw.until(|r| matches!(r, Received::Acked(_, last) if *last == tsn));
    assert_eq!(d.events()[0]["source_event_id"], "u-1");
    assert_eq!(d.stop().code(), Some(0));
    assert!(!path.exists(), "socket file left behind");
}

#[test]
fn s2s_shutdown_says_goodbye_shutting_down_after_the_last_acks() {
    let mut s = Setup::new(false, "");
    let sock = std::net::TcpStream::connect(&s.plain).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut raw = RawSource::new(sock);
    raw.hello("local");
    assert!(matches!(raw.receive(), Received::Welcome { .. }));
    let tsn = raw.event("last", "mail.MessageNew", "alice", "before shutdown");
    raw.until(|r| matches!(r, Received::Acked(_, last) if *last == tsn));
    s.d.signal(nix::sys::signal::Signal::SIGTERM);
    let seen = raw.until(|r| matches!(r, Received::Goodbye { .. }));
    assert_eq!(
        seen.last(),
        Some(&Received::Goodbye {
            code: Code::ShuttingDown,
            text: "tocsind is shutting down".into()
        })
    );
    assert_eq!(s.d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert_eq!(s.stored().len(), 1);
}

#[test]
fn s2s_sighup_ends_the_session_of_a_deprovisioned_source() {
    let s = Setup::new(false, "");
    let sock = std::net::TcpStream::connect(&s.plain).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut raw = RawSource::new(sock);
    raw.hello("mx1");
    assert!(matches!(raw.receive(), Received::Welcome { .. }));
    // mx1 is gone from the file; `local` stays
    let text = std::fs::read_to_string(&s.d.config).unwrap();
    let cut = text.find("[[sources]]\nname = \"mx1\"").unwrap();
    let rest = &text[cut..];
    let end = rest[1..].find("[[sources]]").map_or(rest.len(), |i| i + 1);
    s.d.write_config(&format!("{}{}", &text[..cut], &rest[end..]));
    s.d.signal(nix::sys::signal::Signal::SIGHUP);
    let seen = raw.until(|r| matches!(r, Received::Goodbye { .. }));
    assert!(
        matches!(
            seen.last(),
            Some(Received::Goodbye {
                code: Code::UnauthorizedSource,
                ..
            })
        ),
        "{seen:?}"
    );
    // the daemon runs on, and the remaining source still works
    let out = send_cli(&[
        "--plaintext",
        "--server",
        &s.plain,
        "--source",
        "local",
        "--user",
        "alice",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "x",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = send_cli(&[
        "--plaintext",
        "--server",
        &s.plain,
        "--source",
        "mx1",
        "--user",
        "alice",
        "--kind",
        "mail.MessageNew",
        "--summary",
        "x",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn s2s_backpressure_small_bounds_still_deliver_everything_in_order() {
    let s = Setup::new(false, "\n[ingest]\nmax_undecided = 8\nmax_pending = 8\n");
    let mut c =
        Client::connect(client_options(&s.plain, ClientConfig::new("local"), None)).unwrap();
    let evs: Vec<Event> = (0..3000)
        .map(|i| {
            event(
                &format!("bp-{i:05}"),
                "mail.MessageNew",
                &format!("u{}", i % 7),
            )
        })
        .collect();
    c.send_all(&evs).unwrap();
    let r = c.flush().unwrap();
    assert_eq!(r.len(), 3000);
    assert!(r.iter().all(|x| x.outcome == Outcome::Accepted));
    c.close().unwrap();
    // one connection: stored in the order sent
    let ids: Vec<String> = s.stored().into_iter().map(|(_, id)| id).collect();
    let want: Vec<String> = evs.iter().map(|e| e.source_event_id.clone()).collect();
    assert_eq!(ids, want);
}

#[test]
fn s2s_a_flood_of_rejected_events_is_answered_in_bounded_steps() {
    // Rejections are decided at once and never wait for a commit; a small
    // budget per step makes the daemon come back for the rest by itself
    // (no new input, an empty batch) instead of reading one source for ever.
    let s = Setup::new(false, "\n[ingest]\nmax_undecided = 8\nmax_pending = 8\n");
    let mut c = Client::connect(client_options(&s.plain, ClientConfig::new("mx1"), None)).unwrap();
    let mut evs: Vec<Event> = (0..3000)
        .map(|i| event(&format!("x-{i}"), "mail.MessageNew", "eve@example.net"))
        .collect();
    evs.push(event("ok", "mail.MessageNew", "alice"));
    c.send_all(&evs).unwrap();
    let r = c.flush().unwrap();
    assert_eq!(r.len(), 3001);
    let rejected = r
        .iter()
        .filter(|x| {
            matches!(
                x.outcome,
                Outcome::Rejected {
                    code: Code::UnauthorizedUser,
                    ..
                }
            )
        })
        .count();
    assert_eq!(rejected, 3000);
    c.close().unwrap();
    assert_eq!(s.stored(), vec![("mx1".to_string(), "ok".to_string())]);
}

#[test]
fn s2s_rate_limit_slows_the_source_down() {
    let s = Setup::new(
        false,
        "\n[[sources]]\nname = \"slow\"\nusers = [\"*\"]\nkinds = [\"*\"]\nrate_limit = { events = 5, per_s = 1 }\n",
    );
    let mut c = Client::connect(client_options(&s.plain, ClientConfig::new("slow"), None)).unwrap();
    let evs: Vec<Event> = (0..10)
        .map(|i| event(&format!("r-{i}"), "mail.MessageNew", "alice"))
        .collect();
    let t = Instant::now();
    c.send_all(&evs).unwrap();
    let r = c.flush().unwrap();
    let took = t.elapsed();
    assert!(r.iter().all(|x| x.outcome == Outcome::Accepted), "{r:?}");
    // 5 at once, then one every 200 ms
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(s.stored().len(), 10);
}

#[test]
fn s2s_plaintext_off_loopback_is_a_config_error() {
    let mut d = TestDaemon::with_config(|c| {
        c.push_str("\n[[ingest.listen]]\naddress = \"0.0.0.0:7117\"\nplaintext = true\n");
    });
    d.spawn();
    let status = d.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    let log = d.log();
    let line = format!("{}:", d.config.display());
    assert!(log.contains(&line), "{log}");
    assert!(
        log.contains("plaintext is allowed only on loopback"),
        "{log}"
    );
}

/// kill -9 of tocsind in the middle of a 100k-event stream; the client
/// reconnects after the restart and resends what was not acknowledged.
/// Every acknowledged event must be stored exactly once, and all 100k must
/// be there at the end.
#[test]
fn s2s_kill9_mid_stream_loses_and_duplicates_nothing() {
    const N: usize = 100_000;
    let mut s = Setup::new(false, "");
    let addr = s.plain.clone();
    let acked = Arc::new(AtomicUsize::new(0));
    let acked2 = acked.clone();
    let client = std::thread::spawn(move || {
        let mut o = client_options(&addr, ClientConfig::new("local"), None);
        o.timeout = Some(Duration::from_secs(60));
        let mut c = Client::connect(o).unwrap();
        let mut results = Vec::with_capacity(N);
        let evs: Vec<Event> = (0..N)
            .map(|i| {
                let mut e = event(
                    &format!("k-{i:06}"),
                    "mail.MessageNew",
                    &format!("user{}@example.org", i % 1000),
                );
                e.attributes = vec![("uid".into(), i.to_string())];
                e
            })
            .collect();
        for chunk in evs.chunks(1000) {
            c.send_all(chunk).unwrap();
            let got = c.take_results();
            acked2.fetch_add(got.len(), Ordering::Relaxed);
            results.extend(got);
        }
        results.extend(c.flush().unwrap());
        let _ = c.close();
        results
    });
    // Kill once a good part is acknowledged, with much still in flight.
    let t = Instant::now();
    while acked.load(Ordering::Relaxed) < N / 3 {
        assert!(t.elapsed() < Duration::from_secs(60), "stream too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    let acked_before_kill = acked.load(Ordering::Relaxed);
    s.d.kill9();
    std::thread::sleep(Duration::from_millis(300));
    s.d.start();
    let results = client.join().unwrap();
    assert!(acked_before_kill < N, "killed too late to test anything");
    assert_eq!(results.len(), N, "one outcome per event");
    let mut accepted = HashSet::new();
    for r in &results {
        assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
        accepted.insert(r.source_event_id.clone());
    }
    assert_eq!(accepted.len(), N);
    let c = s.db();
    let (rows, distinct): (i64, i64) = c
        .query_row(
            "SELECT count(*), count(DISTINCT source_event_id) FROM events WHERE source = 'local'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, distinct), (N as i64, N as i64));
    let stored: HashSet<String> = s.stored().into_iter().map(|(_, id)| id).collect();
    assert!(accepted.is_subset(&stored));
    // the restart was real: the client had to resend
    assert!(s.d.log().matches("ready: store").count() >= 2);
}
