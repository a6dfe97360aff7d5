//! The mail source plugin against the real daemon: a real Dovecot delivering over
//! LMTP, Cyrus-format datagrams, and a committed corpus of bad HTTP input.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};
use tocsin_tests::http_client::dovecot_put;
use tocsin_tests::{HttpClient, LineClient, PrivateDovecot, TcpRecorder, TestDaemon};

const AUTH: (&str, &str) = ("dovecot", "secret");

fn mail_plugin(extra: &str) -> String {
    format!(
        "plugin = \"mail\"\n[config]\nhttp_listen = \"127.0.0.1:0\"\nauth_user = \"dovecot\"\nauth_password = \"secret\"\n{extra}"
    )
}

fn start(extra: &str) -> TestDaemon {
    let mut d = TestDaemon::with_plugins(&[("mail", &mail_plugin(extra))]);
    d.start();
    let p = d.plugin("mail");
    assert_eq!(p["state"], "running", "{p}\n{}", d.log());
    d
}

/// Events of this daemon, oldest first.
fn events(d: &TestDaemon) -> Vec<serde_json::Value> {
    let mut v = d.events();
    v.reverse();
    v
}

fn wait_for_events(d: &TestDaemon, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = events(d);
        if v.len() >= n {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} events stored: {v:?}\n{}",
            v.len(),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ox_body(user: &str, uid: u32) -> String {
    format!(
        r#"{{"user":"{user}","event":"messageNew","folder":"INBOX","imap-uidvalidity":1795316409,"imap-uid":{uid},"from":"Bob <bob@example.net>","subject":"n{uid}","snippet":"s","unseen":1}}"#
    )
}

fn put(client: &mut HttpClient, body: &str) -> tocsin_tests::HttpResponse {
    client
        .send(&dovecot_put("/dovecot", AUTH.0, AUTH.1, body))
        .unwrap();
    client.read_response()
}

#[test]
fn dovecot_delivery_is_one_event_and_its_retry_is_a_duplicate() {
    let d = start("user_map = [\"strip-domain\"]\n");
    // Dovecot talks to tocsin through a recording relay, so the test can replay the
    // exact bytes Dovecot sent, as its retry would.
    let relay = TcpRecorder::start(&d.plugin_addr("mail"));
    let dovecot = PrivateDovecot::start(&format!("http://dovecot:secret@{}/dovecot", relay.addr));
    dovecot.set_http_notify("alice@example.org", "user=alice@example.org");

    let message = "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>\r\n\
                   To: alice@example.org\r\n\
                   Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n\
                   Message-ID: <e2e-1@example.de>\r\n\
                   \r\n\
                   Hallo Alice,\r\n\
                   wie geht es dir?";
    let mut lmtp = dovecot.lmtp();
    let reply = lmtp.deliver("jm@example.de", "alice@example.org", message);
    assert!(reply.starts_with("250"), "{reply}\n{}", dovecot.log());
    lmtp.quit();

    // Dovecot answers LMTP only after its PUT finished, so the event is committed.
    let evs = wait_for_events(&d, 1);
    assert_eq!(evs.len(), 1, "{evs:?}");
    let e = &evs[0];
    assert_eq!(e["source"], "mail");
    assert_eq!(e["kind"], "mail.MessageNew");
    assert_eq!(e["user"], "alice", "METADATA user, mapped by strip-domain");
    assert_eq!(e["summary"], "New mail from Jörg Müller: Grüße aus Köln");
    assert_eq!(e["body"], "Hallo Alice, wie geht es dir?");
    let a = &e["attributes"];
    assert_eq!(a["subject"], "Grüße aus Köln", "RFC 2047 decoded");
    assert_eq!(a["from_name"], "Jörg Müller");
    assert_eq!(a["from_address"], "jm@example.de");
    assert_eq!(a["uid"], "1");
    assert_eq!(a["folder"], "INBOX");
    assert_eq!(a["store_user"], "alice@example.org");
    let uidvalidity = a["uidvalidity"].as_str().unwrap().to_string();
    assert!(uidvalidity.parse::<u32>().unwrap() > 0);
    assert_eq!(
        e["source_event_id"],
        format!("mail:v1:dovecot-ox:MessageNew:alice@example.org:{uidvalidity}:1")
    );

    // Dovecot's retry: the identical request, byte for byte, on a fresh connection.
    let sent = relay.connections();
    assert_eq!(sent.len(), 1, "one connection from Dovecot");
    let text = String::from_utf8_lossy(&sent[0]).to_string();
    assert!(text.starts_with("PUT /dovecot HTTP/1.1\r\n"), "{text}");
    assert!(text.contains("\"imap-uid\":1"), "{text}");
    let mut retry = HttpClient::connect(&d.plugin_addr("mail"));
    retry.send(&sent[0]).unwrap();
    let r = retry.read_response();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["status"], "duplicate");
    assert_eq!(r.json()["event_id"], e["id"]);
    assert_eq!(events(&d).len(), 1, "the retry stored nothing new");

    // A second delivery is a second event (next UID).
    let mut lmtp = dovecot.lmtp();
    let second = message.replace("e2e-1", "e2e-2");
    assert!(
        lmtp.deliver("jm@example.de", "alice@example.org", &second)
            .starts_with("250")
    );
    lmtp.quit();
    let evs = wait_for_events(&d, 2);
    assert_eq!(evs[1]["attributes"]["uid"], "2");
    let p = d.plugin("mail");
    assert_eq!(p["events_stored"], 2, "{p}");
    assert_eq!(p["events_duplicate"], 1, "{p}");
}

fn notifyd(json: &str) -> Vec<u8> {
    // method NUL class NUL priority NUL user NUL mailbox NUL nopt NUL message NUL
    let mut d = b"external\0EVENT\0\0alice\0INBOX\x000\0".to_vec();
    d.extend_from_slice(json.as_bytes());
    d.push(0);
    d
}

fn send_dgram(path: &Path, data: &[u8]) {
    let s = UnixDatagram::unbound().unwrap();
    s.send_to(data, path).unwrap();
}

#[test]
fn cyrus_datagrams_are_stored_and_garbage_is_dropped_with_a_reason() {
    let mut d = TestDaemon::with_plugins(&[]);
    let sock = d.path().join("cyrus-notify.sock");
    d.write_plugin(
        "cyrus",
        &format!(
            "plugin = \"mail\"\n[config]\ncyrus_socket = \"{}\"\ncyrus_socket_mode = \"0666\"\nuser_map = [\"strip-domain\"]\n",
            sock.display()
        ),
    );
    d.start();
    assert_eq!(d.plugin("cyrus")["state"], "running", "{}", d.log());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o666
    );

    let new = r#"{"event":"MessageNew","timestamp":"2026-11-22T03:00:00.000+01:00","service":"lmtpunix","uri":"imap://alice@example.org@mail.example.org/INBOX;UIDVALIDITY=1735689600/;UID=4711","modseq":98765,"messages":12,"vnd.cmu.unseenMessages":4,"user":"alice@example.org","messageSize":120,"messageContent":"From: =?UTF-8?Q?Bob_B=C3=A4cker?= <bob@example.net>\r\nSubject: =?UTF-8?Q?Br=C3=B6tchen?=\r\n\r\nbody text that is never stored\r\n"}"#;
    send_dgram(&sock, &notifyd(new));
    // The same notification again (Cyrus does not retry, but a relay might): deduplicated.
    send_dgram(&sock, &notifyd(new));
    // Bare JSON, as a relay forwards it.
    send_dgram(
        &sock,
        br#"{"event":"MessageRead","uri":"imap://bob@mail.example.org/INBOX;UIDVALIDITY=1735689600","uidset":"1:3","modseq":98770,"user":"bob@example.org","vnd.cmu.unseenMessages":0}"#,
    );
    // Garbage: each is dropped with a logged reason, nothing else happens.
    send_dgram(&sock, b"hello");
    send_dgram(&sock, &notifyd("{\"event\":"));
    send_dgram(&sock, b"log\0MAIL\0\0u\0INBOX\x000\0From: x\0");
    send_dgram(
        &sock,
        &notifyd(r#"{"event":"MessageNew","user":"x","uri":"not a url"}"#),
    );
    send_dgram(&sock, &[0xff; 300]);
    // And a valid one after the garbage.
    send_dgram(
        &sock,
        &notifyd(
            r#"{"event":"QuotaExceed","user":"carol","uri":"imap://mail.example.org/user/carol","timestamp":"2026-11-22T03:01:00Z","diskQuota":100,"diskUsed":101}"#,
        ),
    );

    wait_for_events(&d, 3);
    // Give a wrongly accepted garbage datagram the time to show up.
    std::thread::sleep(Duration::from_millis(300));
    let evs2 = events(&d);
    assert_eq!(evs2.len(), 3, "{evs2:?}");
    let new_ev = &evs2[0];
    assert_eq!(new_ev["source"], "cyrus");
    assert_eq!(new_ev["kind"], "mail.MessageNew");
    assert_eq!(new_ev["user"], "alice");
    assert_eq!(new_ev["summary"], "New mail from Bob Bäcker: Brötchen");
    assert_eq!(new_ev["attributes"]["uid"], "4711");
    assert_eq!(new_ev["attributes"]["unseen"], "4");
    assert_eq!(new_ev["origin_host"], "mail.example.org");
    let all = serde_json::to_string(new_ev).unwrap();
    assert!(
        !all.contains("never stored"),
        "message content is not kept: {all}"
    );
    assert_eq!(evs2[1]["kind"], "mail.MessageRead");
    assert_eq!(evs2[1]["user"], "bob");
    assert_eq!(evs2[1]["attributes"]["uidset"], "1:3");
    assert_eq!(evs2[2]["kind"], "mail.QuotaExceed");
    assert_eq!(evs2[2]["user"], "carol");

    let log = d.log();
    for reason in [
        "dropped Cyrus datagram of 5 bytes: malformed notifyd datagram",
        "invalid JSON",
        "notifyd class \"MAIL\" carries no JSON event",
        "field \"uri\" must be an IMAP URL",
        "dropped Cyrus datagram of 300 bytes",
        "5 dropped so far",
    ] {
        assert!(log.contains(reason), "missing {reason:?} in log:\n{log}");
    }
    let p = d.plugin("cyrus");
    assert_eq!(p["state"], "running");
    assert_eq!(p["events_stored"], 3, "{p}");
    assert_eq!(p["events_duplicate"], 1, "{p}");
    assert_eq!(d.ctl(&["status"]).code, 0);
}

/// `file status [field=F]` lines of the corpus INDEX.
fn corpus_index(dir: &Path) -> Vec<(String, u16, Option<String>)> {
    let text = std::fs::read_to_string(dir.join("INDEX")).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let field = cols
                .iter()
                .find_map(|c| c.strip_prefix("field="))
                .map(str::to_string);
            (cols[0].to_string(), cols[1].parse().unwrap(), field)
        })
        .collect()
}

#[test]
fn bad_http_input_corpus_gets_precise_answers_and_loses_nothing() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/mail/tests/corpus/http");
    let index = corpus_index(&corpus);
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".raw"))
        .collect();
    files.sort();
    let mut indexed: Vec<String> = index.iter().map(|(f, _, _)| f.clone()).collect();
    indexed.sort();
    assert_eq!(
        files, indexed,
        "every corpus file is indexed, and only those"
    );

    // Another plugin instance runs alongside and must not notice anything.
    let mut d = TestDaemon::with_plugins(&[
        (
            "mail",
            &mail_plugin(
                "max_body_bytes = 16384\nmax_header_bytes = 4096\nevent_groups = [\"message\"]\n",
            ),
        ),
        (
            "other",
            "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\n",
        ),
    ]);
    d.start();
    let addr = d.plugin_addr("mail");
    // Accepted before the corpus: must survive it.
    let mut c = HttpClient::connect(&addr);
    let before = put(&mut c, &ox_body("before@example.org", 1));
    assert_eq!(before.status, 200, "{before:?}");
    let before_id = before.json()["event_id"].clone();

    for (file, status, field) in &index {
        let bytes = std::fs::read(corpus.join(file)).unwrap();
        let mut c = HttpClient::connect(&addr);
        // A refusal may close the connection before every byte is written.
        let _ = c.send(&bytes);
        let r = c
            .try_read_response()
            .unwrap_or_else(|e| panic!("{file}: no response ({e})\n{}", d.log()));
        assert_eq!(r.status, *status, "{file}: {r:?}");
        if r.status >= 400 {
            let j = r.json();
            assert_eq!(j["status"], *status, "{file}: {j}");
            assert!(j["error"].is_string(), "{file}: {j}");
            if let Some(f) = field {
                assert_eq!(j["field"], f.as_str(), "{file}: {j}");
            }
        }
        if r.status == 401 {
            assert!(
                r.header("WWW-Authenticate")
                    .is_some_and(|v| v.starts_with("Basic realm=")),
                "{file}: {r:?}"
            );
        }
        if r.status == 405 {
            assert_eq!(r.header("Allow"), Some("PUT, POST"), "{file}");
        }
    }

    // Everything accepted is stored exactly once; the daemon and the plugin are fine.
    let evs = events(&d);
    let ids: Vec<&str> = evs
        .iter()
        .map(|e| e["source_event_id"].as_str().unwrap())
        .collect();
    assert_eq!(evs[0]["id"], before_id);
    assert_eq!(
        ids,
        vec![
            "mail:v1:dovecot-ox:MessageNew:before@example.org:1795316409:1",
            "mail:v1:dovecot-ox:MessageNew:corpus@example.org:1795316409:1",
            "mail:v1:generic:MessageNew:corpus@example.org:INBOX:7:9:::imap%3A//mail.example.org/INBOX;UIDVALIDITY=7/;UID=9:",
            "mail:v1:dovecot-ox:MessageNew:corpus@example.org:1795316409:2",
        ],
        "{evs:?}"
    );
    assert_eq!(d.ctl(&["status"]).code, 0);
    assert_eq!(d.plugin("mail")["state"], "running");
    assert_eq!(d.plugin("other")["state"], "running");
    let mut c = HttpClient::connect(&addr);
    assert_eq!(put(&mut c, &ox_body("after@example.org", 1)).status, 200);
    let mut other = LineClient::connect(&d.plugin_addr("other"));
    let r = other.cmd("EMIT o-1 u test.Other the other plugin still works");
    assert!(r.starts_with("stored "), "{r}");
}

#[test]
fn an_event_over_the_instance_limit_is_413_from_ingest() {
    let mut d = TestDaemon::with_plugins(&[(
        "mail",
        &mail_plugin("").replace("[config]", "max_event_bytes = 300\n[config]"),
    )]);
    d.start();
    let mut c = HttpClient::connect(&d.plugin_addr("mail"));
    let big = format!(
        r#"{{"user":"big@example.org","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1,"snippet":"{}"}}"#,
        "x".repeat(250)
    );
    let r = put(&mut c, &big);
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json()["error"], "too-large");
    assert!(events(&d).is_empty());
    // The connection stays usable; a smaller event fits.
    let small =
        r#"{"user":"u","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":1}"#;
    let r = put(&mut c, small);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(events(&d).len(), 1);
}

#[test]
fn giant_content_length_is_refused_before_the_body() {
    let d = start("");
    let mut c = HttpClient::connect(&d.plugin_addr("mail"));
    c.send(
        b"PUT /dovecot HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZG92ZWNvdDpzZWNyZXQ=\r\nContent-Length: 50000000000\r\n\r\n",
    )
    .unwrap();
    // No body byte was sent: the answer comes from the head alone.
    let r = c.read_response();
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json()["error"], "body_too_large");
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.at_eof());
}

#[test]
fn slowloris_gets_408_and_others_are_still_served() {
    let d = start("request_timeout_ms = 300\n");
    let addr = d.plugin_addr("mail");
    // Many clients that never finish their request.
    let mut slow: Vec<HttpClient> = (0..50)
        .map(|_| {
            let mut c = HttpClient::connect(&addr);
            c.send(b"PUT /dovecot HTTP/1.1\r\nHost: x\r\n").unwrap();
            c
        })
        .collect();
    // One that trickles a byte every 100 ms: the timer runs from the first byte, so
    // steady progress does not keep a request alive forever.
    let mut trickle = HttpClient::connect(&addr);
    trickle.set_read_timeout(Duration::from_millis(1));
    let head = b"PUT /dovecot HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n";
    let mut answer = None;
    let mut sent = 0;
    for b in head {
        // Stop writing once answered: writing to a closed socket would reset it.
        match trickle.try_read_response() {
            Ok(r) => {
                answer = Some(r);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("trickler: {e}"),
        }
        trickle.send(&[*b]).unwrap();
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    trickle.set_read_timeout(Duration::from_secs(20));
    let r = answer.unwrap_or_else(|| trickle.read_response());
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        sent < head.len(),
        "cut off after {sent} bytes, not at the end"
    );
    // A well-behaved client is served meanwhile.
    let mut good = HttpClient::connect(&addr);
    let ok = put(&mut good, &ox_body("good@example.org", 1));
    assert_eq!(ok.status, 200, "{ok:?}");
    for c in &mut slow {
        let r = c.read_response();
        assert_eq!(r.status, 408);
        assert_eq!(r.json()["error"], "request_timeout");
        assert!(c.at_eof(), "closed after the 408");
    }
    assert_eq!(events(&d).len(), 1);
    assert!(d.log().contains("HTTP 408 to 127.0.0.1:"), "{}", d.log());
}

#[test]
fn keep_alive_pipelining_and_retries_on_one_connection() {
    let d = start("max_in_flight = 4\n");
    let addr = d.plugin_addr("mail");
    let mut c = HttpClient::connect(&addr);
    // 200 requests in one write, well past the in-flight limit: every one is answered,
    // in order, on the same connection; every 10th is a retry of the one before it.
    let mut wire = Vec::new();
    let mut expect = Vec::new();
    let mut uid = 0;
    for i in 0..200 {
        if i % 10 == 9 {
            expect.push("duplicate");
        } else {
            uid += 1;
            expect.push("stored");
        }
        wire.extend_from_slice(&dovecot_put(
            "/dovecot",
            AUTH.0,
            AUTH.1,
            &ox_body("pipe@example.org", uid),
        ));
    }
    c.send(&wire).unwrap();
    let mut ids = Vec::new();
    for (i, want) in expect.iter().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 200, "request {i}: {r:?}");
        assert_eq!(r.json()["status"], *want, "request {i}");
        ids.push(r.json()["event_id"].as_i64().unwrap());
        if *want == "duplicate" {
            assert_eq!(ids[i], ids[i - 1], "a retry answers with the original's id");
        }
    }
    assert_eq!(events(&d).len(), 180);
    // The connection is still usable, and 100-continue works.
    let body = ox_body("pipe@example.org", 1000);
    let head = format!(
        "PUT /dovecot HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZG92ZWNvdDpzZWNyZXQ=\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.send(head.as_bytes()).unwrap();
    // The body waits for the interim answer, as Dovecot's lua HTTP client does.
    assert_eq!(c.read_interim(), 100);
    c.send(body.as_bytes()).unwrap();
    let r = c.read_response();
    assert_eq!(r.status, 200, "{r:?}");
    // POST to the generic endpoint on the same connection.
    let g = r#"{"event":"MessageNew","user":"pipe@example.org","uri":"imap://h/INBOX;UIDVALIDITY=3/;UID=4","subject":"generic"}"#;
    c.send(
        format!(
            "POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZG92ZWNvdDpzZWNyZXQ=\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{g}",
            g.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let r = c.read_response();
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("stored"))
    );
    assert_eq!(events(&d).len(), 182);
}

#[test]
fn a_bad_config_is_refused_with_the_reason() {
    let mut d = TestDaemon::with_plugins(&[
        ("nolisten", "plugin = \"mail\"\n[config]\nuser_map = []\n"),
        (
            "noauth",
            "plugin = \"mail\"\n[config]\nhttp_listen = \"127.0.0.1:0\"\n",
        ),
        (
            "typo",
            "plugin = \"mail\"\n[config]\nhttp_listen = \"127.0.0.1:0\"\nallow_unauthenticated = true\nsumary = {}\n",
        ),
    ]);
    d.start();
    let reason = |n: &str| {
        let p = d.plugin(n);
        assert_eq!(p["state"], "refused", "{n}: {p}");
        p["reason"].as_str().unwrap().to_string()
    };
    assert!(reason("nolisten").contains("nothing to listen on"));
    assert!(reason("noauth").contains("needs credentials"));
    assert!(reason("typo").contains("sumary"));
}
