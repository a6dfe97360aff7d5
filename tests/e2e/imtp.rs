//! The IMTP delivery plugin end to end: real daemons, real TLS on loopback,
//! IM clients driven by the `tocsin-imtp` codec, `tocsinctl watch`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tocsin_imtp::{
    Astrength, Command, ErrorReply, ErrorType, Event, OkReply, Origin, Outcome, Url,
};
use tocsin_tests::TestDaemon;
use tocsin_tests::imtp::{ImtpPeer, header, text, tls_client, tls_server};
use tocsin_tests::pki::Pki;
use tocsin_tests::s2s::free_port;

const FAST_RETRY: &str = "\n[delivery]\nretry_base_ms = 100\nretry_cap_ms = 300\nmax_attempts = 200\nunavailable_retry_ms = 200\n";

fn daemon() -> TestDaemon {
    daemon_with(FAST_RETRY)
}

fn daemon_with(delivery: &str) -> TestDaemon {
    let d = TestDaemon::with_plugins(&[]);
    let mut text = std::fs::read_to_string(&d.config).unwrap();
    text.push_str(delivery);
    d.write_config(&text);
    d
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn sub(d: &TestDaemon, args: &[&str]) {
    let mut full = vec!["subs", "add"];
    full.extend_from_slice(args);
    let out = d.ctl(&full);
    assert_eq!(out.code, 0, "subs add {args:?}: {out:?}");
}

fn deliveries(d: &TestDaemon) -> Vec<serde_json::Value> {
    d.ctl_json(&["deliveries", "list", "--limit", "1000"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn delivery_of(d: &TestDaemon, event_id: i64) -> Option<serde_json::Value> {
    deliveries(d)
        .into_iter()
        .find(|x| x["event_id"].as_i64() == Some(event_id))
}

/// Every listening address of an instance, in the order it opened them.
fn listener_addrs(d: &TestDaemon, name: &str) -> Vec<String> {
    d.plugin(name)["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"].as_str().is_some_and(|k| k.ends_with("listener")))
        .map(|s| s["local"].as_str().unwrap().to_string())
        .collect()
}

fn users_file(dir: &Path, users: &[(&str, &str)]) -> PathBuf {
    let p = dir.join("imtp-users.toml");
    let text: String = users
        .iter()
        .map(|(u, pw)| format!("\"{u}\" = \"{pw}\"\n"))
        .collect();
    std::fs::write(&p, text).unwrap();
    p
}

/// A server instance for `domain` with TLS (client certificates optional).
fn server_instance(d: &TestDaemon, pki: &Pki, domain: &str, listen: &str, extra: &str) -> String {
    let users = users_file(
        d.path(),
        &[
            (&format!("alice@{domain}"), "alice-pw"),
            (&format!("bob@{domain}"), "bob-pw"),
        ],
    );
    format!(
        "plugin = \"imtp\"\n[config]\ndomains = [\"{domain}\"]\n[config.server]\nlisten = \"{listen}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\ntls_ca = \"{}\"\nusers_file = \"{}\"\n{extra}",
        pki.server_cert.display(),
        pki.server_key.display(),
        pki.ca.display(),
        users.display()
    )
}

fn client(addr: &str, pki: &Pki, user: &str, pw: &str) -> ImtpPeer {
    let mut c = ImtpPeer::client_tls(addr, tls_client(&pki.ca, None), "localhost");
    c.login(user, pw).unwrap();
    c
}

fn is_ok(o: &Outcome) -> bool {
    matches!(o, Outcome::Ok(_))
}

fn error_type(o: &Outcome) -> Option<ErrorType> {
    match o {
        Outcome::Error(e) => Some(e.error_type.clone()),
        Outcome::Ok(_) => None,
    }
}

#[test]
fn listening_clients_get_pushes_and_answer_for_the_delivery() {
    let mut d = daemon();
    let pki = Pki::new(d.path());
    d.write_plugin(
        "im",
        &server_instance(&d, &pki, "example.org", "127.0.0.1:0", ""),
    );
    d.start();
    sub(
        &d,
        &[
            "alice",
            "--user",
            "alice@example.org",
            "--target",
            "im:im:alice@example.org",
        ],
    );
    let addr = listener_addrs(&d, "im")[0].clone();

    // Nobody listens yet: the delivery waits and is retried.
    let (early, _) = d.send("alice@example.org", "mail.MessageNew", "early bird", &[]);
    let dl = wait_for(
        "a retry for lack of listeners",
        Duration::from_secs(10),
        || {
            delivery_of(&d, early).filter(|x| {
                x["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("no-listeners"))
            })
        },
    );
    assert_ne!(dl["state"], "delivered", "{dl}");

    // Wrong password, someone else's inbox, a foreign domain: refused.
    let mut bad = ImtpPeer::client_tls(&addr, tls_client(&pki.ca, None), "localhost");
    assert!(bad.login("alice@example.org", "wrong").is_err());
    let mut a1 = client(&addr, &pki, "alice@example.org", "alice-pw");
    assert_eq!(
        error_type(&a1.listen("im:bob@example.org")),
        Some(ErrorType::TargetAuthorization)
    );
    assert_eq!(
        error_type(&a1.listen("im:alice@other.example")),
        Some(ErrorType::TargetNotFound)
    );
    assert!(is_ok(&a1.listen("im:alice@example.org")));

    // The held delivery arrives once alice listens; her ok makes it delivered.
    let (id, m) = a1
        .next_send(Duration::from_secs(10))
        .expect("the early push");
    assert_eq!(text(&m), "early bird");
    assert_eq!(m.inbox.to_string(), "im:alice@example.org");
    assert_eq!(m.sender.to_string(), "im:tocsin@example.org");
    assert_eq!(header(&m, "Tocsin-Kind"), Some("mail.MessageNew"));
    assert_eq!(
        header(&m, "Tocsin-Event-Id"),
        Some(early.to_string().as_str())
    );
    assert_eq!(m.content_type, None, "text/plain by default");
    a1.respond(&id, Outcome::ok());
    wait_for("delivered", Duration::from_secs(10), || {
        delivery_of(&d, early).filter(|x| x["state"] == "delivered")
    });

    // Two listeners: both get it, any ok counts.
    let mut a2 = client(&addr, &pki, "alice@example.org", "alice-pw");
    assert!(is_ok(&a2.listen("im:alice@example.org")));
    let (second, _) = d.send("alice@example.org", "mail.MessageNew", "both of you", &[]);
    let (i1, m1) = a1.next_send(Duration::from_secs(10)).expect("push to a1");
    let (i2, m2) = a2.next_send(Duration::from_secs(10)).expect("push to a2");
    assert_eq!(text(&m1), "both of you");
    assert_eq!(text(&m2), "both of you");
    a1.respond(&i1, Outcome::error(ErrorType::NoListeners, "busy"));
    a2.respond(&i2, Outcome::ok());
    wait_for("delivered through a2", Duration::from_secs(10), || {
        delivery_of(&d, second).filter(|x| x["state"] == "delivered")
    });

    // A listener that refuses for good makes the delivery a dead letter.
    drop(a2);
    let (third, _) = d.send("alice@example.org", "mail.MessageNew", "not for me", &[]);
    let (i3, _) = a1.next_send(Duration::from_secs(10)).expect("push");
    a1.respond(
        &i3,
        Outcome::error(ErrorType::TargetAuthorization, "blocked"),
    );
    wait_for("dead", Duration::from_secs(10), || {
        delivery_of(&d, third).filter(|x| x["state"] == "dead")
    });

    // Receipts wanted: the payload becomes message/cpim asking for IMDN.
    sub(
        &d,
        &[
            "bob",
            "--user",
            "bob@example.org",
            "--target",
            "im:im:bob@example.org",
            "--receipts",
            "display",
            "--escalate-after",
            "1h",
            "--escalate-to",
            "im:im:alice@example.org",
        ],
    );
    let mut b = client(&addr, &pki, "bob@example.org", "bob-pw");
    assert!(is_ok(&b.listen("im:bob@example.org")));
    let (fourth, _) = d.send("bob@example.org", "cal.Alarm", "stand-up", &[]);
    let (i4, m4) = b.next_send(Duration::from_secs(10)).expect("cpim push");
    assert_eq!(m4.content_type.as_deref(), Some("message/cpim"));
    let cpim = text(&m4);
    let mid = header(&m4, "Tocsin-Message-Id").unwrap().to_string();
    assert!(
        cpim.contains(&format!("imdn.Message-ID: {mid}\r\n")),
        "{cpim}"
    );
    assert!(
        cpim.contains(
            "imdn.Disposition-Notification: positive-delivery, negative-delivery, display\r\n"
        ),
        "{cpim}"
    );
    assert!(cpim.ends_with("\r\n\r\nstand-up"), "{cpim}");
    b.respond(&i4, Outcome::ok());
    wait_for("delivered", Duration::from_secs(10), || {
        delivery_of(&d, fourth).filter(|x| x["state"] == "delivered")
    });
    assert!(d.try_wait().is_none(), "the daemon is still running");
}

/// `openssl passwd -6`: what an administrator would run to fill users_file.
fn sha512_crypt(password: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args(["passwd", "-6", "-salt", "tocsinsalt", password])
        .output()
        .expect("openssl (tests/run installs it)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn users_file_takes_sha_crypt_hashes_and_refuses_unusable_ones() {
    let mut d = daemon();
    let pki = Pki::new(d.path());
    let hashed = d.path().join("hashed-users.toml");
    std::fs::write(
        &hashed,
        format!(
            "\"carol@example.org\" = \"{}\"\n\"dave@example.org\" = \"dave-clear\"\n",
            sha512_crypt("carol-pw")
        ),
    )
    .unwrap();
    let bad = d.path().join("bad-users.toml");
    std::fs::write(
        &bad,
        "\"erin@example.org\" = \"$1$salt$md5cryptisnotaccepted\"\n",
    )
    .unwrap();
    let instance = |users: &Path| {
        format!(
            "plugin = \"imtp\"\n[config]\ndomains = [\"example.org\"]\n[config.server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\nusers_file = \"{}\"\n",
            pki.server_cert.display(),
            pki.server_key.display(),
            users.display()
        )
    };
    d.write_plugin("im", &instance(&hashed));
    d.write_plugin("imbad", &instance(&bad));
    d.start();
    let p = d.plugin("imbad");
    assert_eq!(p["state"], "refused", "{p}");
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.contains("erin@example.org") && reason.contains("unsupported password hash"),
        "{reason}"
    );
    let addr = listener_addrs(&d, "im")[0].clone();
    let login = |user: &str, pw: &str| {
        let mut c = ImtpPeer::client_tls(&addr, tls_client(&pki.ca, None), "localhost");
        c.login(user, pw)
    };
    login("carol@example.org", "carol-pw").unwrap();
    // Remembered after the first check; still exact.
    login("carol@example.org", "carol-pw").unwrap();
    assert!(login("carol@example.org", "carol-p").is_err());
    assert!(login("carol@example.org", "").is_err());
    // The hash itself is not a password.
    assert!(login("carol@example.org", &sha512_crypt("carol-pw")).is_err());
    login("dave@example.org", "dave-clear").unwrap();
    assert!(login("dave@example.org", "dave-clea").is_err());
}

#[test]
fn presence_over_pitp_and_the_hold_policy() {
    let mut d = daemon();
    let pki = Pki::new(d.path());
    d.write_plugin(
        "im",
        &server_instance(
            &d,
            &pki,
            "example.org",
            "127.0.0.1:0",
            "pitp_listen = \"127.0.0.1:0\"\n",
        ),
    );
    d.start();
    sub(
        &d,
        &[
            "alice",
            "--user",
            "alice@example.org",
            "--target",
            "im:im:alice@example.org",
            "--presence",
            "hold",
        ],
    );
    let addrs = listener_addrs(&d, "im");
    let (imtp, pitp) = (addrs[0].clone(), addrs[1].clone());

    // Bob watches alice's presence.
    let mut bob = ImtpPeer::client_tls(&pitp, tls_client(&pki.ca, None), "localhost");
    bob.conn = tocsin_imtp::Connection::new(
        tocsin_imtp::Role::Client,
        tocsin_imtp::Config::pitp(),
        tocsin_imtp::Transport {
            tls: true,
            peer_identity: None,
        },
        Instant::now(),
    );
    bob.login("bob@example.org", "bob-pw").unwrap();
    let watcher = tocsin_imtp::Url::parse("presence:bob@example.org").unwrap();
    let alice = tocsin_imtp::Url::parse("presence:alice@example.org").unwrap();
    let sub_cmd = Command::Subscribe(tocsin_imtp::Subscribe {
        subscription: tocsin_imtp::Subscription::new("", watcher.clone()).unwrap(),
        presentity: alice.clone(),
        meta: Default::default(),
    });
    let r = bob.command(&sub_cmd);
    let Outcome::Ok(OkReply { payload, .. }) = &r.outcome else {
        panic!("subscribe refused: {r:?}");
    };
    assert!(String::from_utf8_lossy(payload.as_deref().unwrap()).contains("<basic>closed</basic>"));
    // Watching for someone else is not allowed.
    let r = bob.command(&Command::Fetch(tocsin_imtp::Fetch {
        watcher: tocsin_imtp::Url::parse("presence:alice@example.org").unwrap(),
        presentity: alice.clone(),
        meta: Default::default(),
    }));
    assert_eq!(error_type(&r.outcome), Some(ErrorType::SourceAuthorization));

    // While alice is away the delivery is held, not attempted over and over.
    let (held, _) = d.send("alice@example.org", "cal.Alarm", "meeting", &[]);
    wait_for("held", Duration::from_secs(10), || {
        delivery_of(&d, held).filter(|x| {
            d.ctl(&["deliveries", "show", &x["id"].to_string()])
                .stdout
                .contains("held until the recipient is present")
        })
    });

    // Alice comes: bob is told, and the held delivery goes out at once.
    let mut a = client(&imtp, &pki, "alice@example.org", "alice-pw");
    assert!(is_ok(&a.listen("im:alice@example.org")));
    let notify = wait_for("change-notify", Duration::from_secs(10), || {
        match bob.next_event(Duration::from_millis(200)) {
            Some(Event::Command {
                id,
                command: Command::ChangeNotify(c),
            }) => Some((id, c)),
            _ => None,
        }
    });
    assert_eq!(notify.1.presentity, alice);
    assert!(String::from_utf8_lossy(&notify.1.payload).contains("<basic>open</basic>"));
    bob.respond(&notify.0, Outcome::ok());
    let (id, m) = a.next_send(Duration::from_secs(10)).expect("held push");
    assert_eq!(text(&m), "meeting");
    a.respond(&id, Outcome::ok());
    wait_for("delivered", Duration::from_secs(10), || {
        delivery_of(&d, held).filter(|x| x["state"] == "delivered")
    });
    let r = bob.command(&Command::Fetch(tocsin_imtp::Fetch {
        watcher,
        presentity: alice.clone(),
        meta: Default::default(),
    }));
    let Outcome::Ok(OkReply { payload, .. }) = &r.outcome else {
        panic!("fetch refused: {r:?}");
    };
    assert!(String::from_utf8_lossy(payload.as_deref().unwrap()).contains("<basic>open</basic>"));

    // Alice leaves: closed.
    drop(a);
    let gone = wait_for(
        "change-notify closed",
        Duration::from_secs(10),
        || match bob.next_event(Duration::from_millis(200)) {
            Some(Event::Command {
                command: Command::ChangeNotify(c),
                ..
            }) => Some(c),
            _ => None,
        },
    );
    assert!(String::from_utf8_lossy(&gone.payload).contains("<basic>closed</basic>"));
}

/// A relay peer signed in with a password (medium) hands B two sends: one
/// without `Astrength` (from its originator: strong) and one marked weak.
/// B forwards the weaker of what it received and its own link's strength.
#[test]
fn relayed_sends_carry_the_weaker_authentication_strength() {
    let mut b = daemon();
    let pki = Pki::new(b.path());
    let users = users_file(
        b.path(),
        &[("bob@b.example", "bob-pw"), ("a.example", "relay-pw")],
    );
    b.write_plugin(
        "im",
        &format!(
            "plugin = \"imtp\"\n[config]\ndomains = [\"b.example\"]\n[config.server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\nusers_file = \"{}\"\nrelay_peers = [\"a.example\"]\n",
            pki.server_cert.display(),
            pki.server_key.display(),
            users.display()
        ),
    );
    b.start();
    let addr = listener_addrs(&b, "im")[0].clone();
    let mut bob = client(&addr, &pki, "bob@b.example", "bob-pw");
    assert!(is_ok(&bob.listen("im:bob@b.example")));
    let mut relay = client(&addr, &pki, "a.example", "relay-pw");
    for (received, forwarded) in [
        (None, Astrength::Medium),
        (Some(Astrength::Weak), Astrength::Weak),
        (Some(Astrength::Strong), Astrength::Medium),
    ] {
        let mut m = tocsin_imtp::SendMessage::new(
            Url::parse("im:alerts@a.example").unwrap(),
            Url::parse("im:bob@b.example").unwrap(),
            "relayed",
        );
        m.meta.astrength = received;
        let id = relay
            .conn
            .send_command(&Command::Send(m), Instant::now())
            .unwrap();
        assert!(relay.response_to(&id, Duration::from_millis(50)).is_none());
        let (push, got) = bob.next_send(Duration::from_secs(10)).expect("push");
        assert_eq!(got.meta.astrength, Some(forwarded), "received {received:?}");
        bob.respond(&push, Outcome::ok());
        let answer = relay.response_to(&id, Duration::from_secs(10)).unwrap();
        assert!(is_ok(&answer.outcome), "{answer:?}");
    }
}

/// Node A relays to node B over TLS (A authenticates with its client
/// certificate, SASL EXTERNAL); B pushes to bob's client. B is killed and
/// restarted mid-stream; every notification still arrives.
#[test]
fn two_daemons_relay_over_tls_and_a_restart_loses_nothing() {
    let mut b = daemon();
    let pki = Pki::new(b.path());
    let port = free_port();
    b.write_plugin(
        "im",
        &server_instance(
            &b,
            &pki,
            "b.example",
            &format!("127.0.0.1:{port}"),
            "relay_peers = [\"a.example\"]\n",
        ),
    );
    b.start();

    let mut a = daemon();
    let (cert, key) = pki.issue("node-a", &["a.example"], None);
    a.write_plugin(
        "im",
        &format!(
            "plugin = \"imtp\"\n[config]\nname = \"a.example\"\nsender = \"im:alerts@a.example\"\n[config.relay]\ntls_ca = \"{}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n[config.relay.routes]\n\"b.example\" = {{ address = \"127.0.0.1:{port}\", server_name = \"localhost\" }}\n",
            pki.ca.display(),
            cert.display(),
            key.display()
        ),
    );
    a.start();
    sub(
        &a,
        &[
            "bob",
            "--user",
            "bob@b.example",
            "--target",
            "im:im:bob@b.example",
        ],
    );
    let addr = format!("127.0.0.1:{port}");
    let mut bob = client(&addr, &pki, "bob@b.example", "bob-pw");
    assert!(is_ok(&bob.listen("im:bob@b.example")));

    let (first, _) = a.send("bob@b.example", "mail.MessageNew", "over the wire", &[]);
    let (id, m) = bob
        .next_send(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("relayed push: A: {}\nB: {}", a.log(), b.log()));
    assert_eq!(text(&m), "over the wire");
    assert_eq!(m.sender.to_string(), "im:alerts@a.example");
    // A's link is certificate-authenticated; A originated the message.
    assert_eq!(m.meta.astrength, Some(Astrength::Strong));
    assert!(
        m.visited
            .contains(&tocsin_imtp::Domain::parse("b.example").unwrap()),
        "B added itself to Visited: {:?}",
        m.visited
    );
    assert_eq!(
        header(&m, "Tocsin-Event-Id"),
        Some(first.to_string().as_str())
    );
    bob.respond(&id, Outcome::ok());
    wait_for("sent on A", Duration::from_secs(10), || {
        delivery_of(&a, first).filter(|x| x["state"] == "sent")
    });

    // A stream of 40; B dies after bob saw some and comes back.
    let mut seen = std::collections::BTreeSet::new();
    let mut sent = Vec::new();
    for i in 0..40 {
        sent.push(
            a.send("bob@b.example", "mail.MessageNew", &format!("n{i}"), &[])
                .0,
        );
    }
    while seen.len() < 10 {
        let (id, m) = bob.next_send(Duration::from_secs(10)).expect("stream");
        seen.insert(header(&m, "Tocsin-Event-Id").unwrap().to_string());
        bob.respond(&id, Outcome::ok());
    }
    b.kill9();
    b.start();
    let mut bob = wait_for("B back", Duration::from_secs(10), || {
        let mut c = ImtpPeer::client_tls(&addr, tls_client(&pki.ca, None), "localhost");
        c.login("bob@b.example", "bob-pw").ok()?;
        is_ok(&c.listen("im:bob@b.example")).then_some(c)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 40 && Instant::now() < deadline {
        if let Some((id, m)) = bob.next_send(Duration::from_secs(1)) {
            seen.insert(header(&m, "Tocsin-Event-Id").unwrap().to_string());
            bob.respond(&id, Outcome::ok());
        }
    }
    let want: std::collections::BTreeSet<String> = sent.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        want.difference(&seen).count(),
        0,
        "missing after the restart: {:?}",
        want.difference(&seen).collect::<Vec<_>>()
    );
    wait_for("all sent on A", Duration::from_secs(20), || {
        let all = deliveries(&a);
        all.iter()
            .filter(|x| x["state"] == "sent")
            .count()
            .eq(&41)
            .then_some(())
    });
}

/// A stand-in remote server answers each relayed send with the error type
/// named in its text; A maps each as docs/imtp.md §7 says, over one reused,
/// pipelined connection authenticated with PLAIN.
#[test]
fn relay_maps_each_answer_to_a_delivery_outcome() {
    // Retries 2 s apart, so "retrying" lasts long enough to be seen.
    let mut a =
        daemon_with("\n[delivery]\nretry_base_ms = 2000\nretry_cap_ms = 2000\nmax_attempts = 10\n");
    let pki = Pki::new(a.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pw = a.path().join("relay-password");
    std::fs::write(&pw, "relay-secret\n").unwrap();
    a.write_plugin(
        "im",
        &format!(
            "plugin = \"imtp\"\n[config]\nname = \"a.example\"\n[config.relay]\ntls_ca = \"{}\"\nuser = \"a.example\"\npassword_file = \"{}\"\n[config.relay.routes]\n\"far.example\" = {{ address = \"127.0.0.1:{port}\", server_name = \"localhost\" }}\n",
            pki.ca.display(),
            pw.display()
        ),
    );
    a.start();
    let answers = [
        "ok",
        "unreliable",
        "no-listeners",
        "communications",
        "resources",
        "target-not-found",
        "target-authorization",
        "loop",
    ];
    // One recipient per answer: the engine keeps one delivery per (user,
    // target) in flight, so distinct targets are what can be pipelined.
    for ans in answers {
        let user = format!("{ans}@far.example");
        sub(
            &a,
            &[ans, "--user", &user, "--target", &format!("im:im:{user}")],
        );
    }
    let mut events = std::collections::HashMap::new();
    for ans in answers {
        let (id, _) = a.send(&format!("{ans}@far.example"), "test.Answer", ans, &[]);
        events.insert(id, ans);
    }
    let mut far = ImtpPeer::accept_tls(&listener, tls_server(&pki.server_cert, &pki.server_key));
    far.serve_auth("a.example", "relay-secret").unwrap();
    // Read every send before answering any: they were pipelined.
    let mut got = Vec::new();
    while got.len() < answers.len() {
        got.push(
            far.next_send(Duration::from_secs(10))
                .unwrap_or_else(|| panic!("pipelined sends: got {}", got.len())),
        );
    }
    assert!(far.conn.unanswered_incoming() >= answers.len());
    for (id, m) in got.iter().rev() {
        let t = text(m);
        let o = match t.as_str() {
            "ok" => Outcome::ok(),
            "unreliable" => Outcome::Ok(OkReply {
                unreliable: Some(Origin::parse("gw.far.example").unwrap()),
                ..OkReply::default()
            }),
            other => Outcome::Error(ErrorReply::new(ErrorType::parse(other))),
        };
        far.respond(id, o);
    }
    let want = |ans: &str| match ans {
        "ok" | "unreliable" => "sent",
        "no-listeners" | "communications" | "resources" => "retrying",
        _ => "dead",
    };
    for (ev, ans) in &events {
        let dl = wait_for(ans, Duration::from_secs(10), || {
            delivery_of(&a, *ev).filter(|x| x["state"] == want(ans))
        });
        if *ans == "unreliable" {
            let show = a.ctl(&["deliveries", "show", &dl["id"].to_string()]);
            assert!(
                show.stdout.contains("Unreliable: gw.far.example"),
                "{}",
                show.stdout
            );
        }
        if want(ans) != "sent" {
            assert!(
                dl["last_error"].as_str().unwrap_or("").contains(ans),
                "{ans}: {dl}"
            );
        }
    }
    // The retries come back on the same connection (it was reused, not
    // reopened): the listener accepted exactly one.
    let (_, again) = far.next_send(Duration::from_secs(10)).expect("a retry");
    assert!(["no-listeners", "communications", "resources"].contains(&text(&again).as_str()));
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "no second connection");
}

/// Hostile input on the IMTP port is answered or cut off; nothing else is
/// disturbed and an accepted notification is still delivered afterwards.
#[test]
fn hostile_clients_do_no_harm() {
    let mut d = daemon();
    let pki = Pki::new(d.path());
    d.write_plugin(
        "im",
        &server_instance(
            &d,
            &pki,
            "example.org",
            "127.0.0.1:0",
            "message_timeout_s = 1\nhandshake_timeout_s = 2\n",
        ),
    );
    d.start();
    sub(
        &d,
        &[
            "alice",
            "--user",
            "alice@example.org",
            "--target",
            "im:im:alice@example.org",
        ],
    );
    let addr = listener_addrs(&d, "im")[0].clone();
    let mut alice = client(&addr, &pki, "alice@example.org", "alice-pw");
    assert!(is_ok(&alice.listen("im:alice@example.org")));
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/imtp_corpus");
    let mut entries: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(entries.len() >= 8, "corpus at {}", corpus.display());
    for p in entries {
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let mut h = ImtpPeer::client_tls(&addr, tls_client(&pki.ca, None), "localhost");
        h.next_event(Duration::from_secs(5)); // the mechanism list
        let _ = h.write_raw(&bytes);
        // Each is either answered with an error or cut off, within the
        // handshake/message timeouts.
        let closed = h.wait_closed(Duration::from_secs(6));
        assert!(closed, "{name}: the connection stayed open");
    }
    // Unauthenticated commands are refused with source-authorization.
    let mut anon = ImtpPeer::client_tls(&addr, tls_client(&pki.ca, None), "localhost");
    anon.next_event(Duration::from_secs(5));
    let r = anon.command(&Command::Listen(tocsin_imtp::Listen::new(
        tocsin_imtp::Url::parse("im:alice@example.org").unwrap(),
    )));
    assert_eq!(error_type(&r.outcome), Some(ErrorType::SourceAuthorization));
    // A logged-in user may not relay.
    let mut bob = client(&addr, &pki, "bob@example.org", "bob-pw");
    let r = bob.command(&Command::Send(tocsin_imtp::SendMessage::new(
        tocsin_imtp::Url::parse("im:bob@example.org").unwrap(),
        tocsin_imtp::Url::parse("im:alice@example.org").unwrap(),
        b"spoofed".to_vec(),
    )));
    assert_eq!(error_type(&r.outcome), Some(ErrorType::SourceAuthorization));

    assert!(d.try_wait().is_none(), "the daemon is still running");
    let (ev, _) = d.send("alice@example.org", "mail.MessageNew", "still here", &[]);
    let (id, m) = alice.next_send(Duration::from_secs(10)).expect("push");
    assert_eq!(text(&m), "still here");
    alice.respond(&id, Outcome::ok());
    wait_for("delivered", Duration::from_secs(10), || {
        delivery_of(&d, ev).filter(|x| x["state"] == "delivered")
    });
}

/// Without a static route the relay finds the domain's server through DNS
/// SRV `_im-servers._tcp`; the first target refuses, the second takes it.
/// The certificate must name the domain. `tocsinctl watch` on node B prints
/// what arrives.
/// Node B serving b.example (bob, relays from a.example) on a fresh port,
/// for the tests where A finds it through DNS.
fn srv_server_b() -> (TestDaemon, Pki, u16) {
    let mut b = daemon();
    let pki = Pki::new(b.path());
    let (bcert, bkey) = pki.issue("b-server", &["b.example", "localhost"], None);
    let users = users_file(b.path(), &[("bob@b.example", "bob-pw")]);
    let port = free_port();
    b.write_plugin(
        "im",
        &format!(
            "plugin = \"imtp\"\n[config]\ndomains = [\"b.example\"]\n[config.server]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\ntls_ca = \"{}\"\nusers_file = \"{}\"\nrelay_peers = [\"a.example\"]\n",
            bcert.display(),
            bkey.display(),
            pki.ca.display(),
            users.display()
        ),
    );
    b.start();
    (b, pki, port)
}

/// Node A with no static route, resolving through `dns`, subscribed to
/// relay bob@b.example's notifications.
fn relaying_a(pki: &Pki, dns: &tocsin_tests::dns::DnsServer) -> TestDaemon {
    let mut a = daemon();
    let (cert, key) = pki.issue("node-a", &["a.example"], None);
    let resolv = dns.resolv_conf(a.path());
    a.write_plugin(
        "im",
        &format!(
            "plugin = \"imtp\"\n[config]\nname = \"a.example\"\n[config.relay]\ntls_ca = \"{}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\nresolver = \"{}\"\n",
            pki.ca.display(),
            cert.display(),
            key.display(),
            resolv.display()
        ),
    );
    a.start();
    sub(
        &a,
        &[
            "bob",
            "--user",
            "bob@b.example",
            "--target",
            "im:im:bob@b.example",
        ],
    );
    a
}

/// The nameserver truncates every UDP answer (as it would one too big for a
/// datagram): A asks again over TCP and relays all the same.
#[test]
fn relay_asks_dns_over_tcp_when_the_udp_answer_is_truncated() {
    tocsin_tests::require_root();
    let (_b, pki, port) = srv_server_b();
    let mut zone = tocsin_tests::dns::Zone {
        truncate_udp: true,
        ..Default::default()
    };
    zone.srv.insert(
        "_im-servers._tcp.b.example".into(),
        vec![(1, 0, port, "imtp.b.example".into())],
    );
    zone.a
        .insert("imtp.b.example".into(), "127.0.0.1".parse().unwrap());
    let dns = tocsin_tests::dns::DnsServer::start("127.77.0.54".parse().unwrap(), zone);

    let a = relaying_a(&pki, &dns);
    let addr = format!("127.0.0.1:{port}");
    let mut bob = ImtpPeer::client_tls(&addr, tls_client(&pki.ca, None), "localhost");
    bob.login("bob@b.example", "bob-pw").unwrap();
    assert!(is_ok(&bob.listen("im:bob@b.example")));
    let (e, _) = a.send("bob@b.example", "mail.MessageNew", "over TCP DNS", &[]);
    let (id, m) = bob
        .next_send(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("relayed push: A: {}", a.log()));
    assert_eq!(text(&m), "over TCP DNS");
    bob.respond(&id, Outcome::ok());
    wait_for("sent on A", Duration::from_secs(10), || {
        delivery_of(&a, e).filter(|x| x["state"] == "sent")
    });
    use std::sync::atomic::Ordering;
    assert!(
        dns.queries.load(Ordering::Relaxed) >= 1,
        "asked over UDP first"
    );
    assert!(
        dns.tcp_queries.load(Ordering::Relaxed) >= 2,
        "SRV and A asked again over TCP"
    );
}

#[test]
fn relay_finds_the_server_through_dns_srv_and_watch_prints_it() {
    tocsin_tests::require_root();
    let (b, pki, port) = srv_server_b();

    let dead = free_port();
    let mut zone = tocsin_tests::dns::Zone::default();
    zone.srv.insert(
        "_im-servers._tcp.b.example".into(),
        vec![
            (1, 0, dead, "down.b.example".into()),
            (2, 0, port, "imtp.b.example".into()),
        ],
    );
    zone.a
        .insert("down.b.example".into(), "127.0.0.1".parse().unwrap());
    zone.a
        .insert("imtp.b.example".into(), "127.0.0.1".parse().unwrap());
    let dns = tocsin_tests::dns::DnsServer::start("127.77.0.53".parse().unwrap(), zone);

    let a = relaying_a(&pki, &dns);

    let pw = b.path().join("bob-password");
    std::fs::write(&pw, "bob-pw\n").unwrap();
    let mut watch = std::process::Command::new(tocsin_tests::bin("tocsinctl"))
        .args([
            "watch",
            "im:bob@b.example",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--server-name",
            "localhost",
            "--ca",
            &pki.ca.display().to_string(),
            "--user",
            "bob@b.example",
            "--password-file",
            &pw.display().to_string(),
            "--json",
            "--count",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The watcher is listening once B reports bob present.
    wait_for("watch listening", Duration::from_secs(10), || {
        b.log()
            .contains("authenticated as Some(\"bob@b.example\")")
            .then_some(())
    });
    let (e1, _) = a.send(
        "bob@b.example",
        "mail.MessageNew",
        "via SRV",
        &["--body", "line two"],
    );
    let (e2, _) = a.send("bob@b.example", "voicemail.MessageWaiting", "second", &[]);
    wait_for("watch exits after two", Duration::from_secs(30), || {
        watch.try_wait().unwrap().map(|_| ())
    });
    let output = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["text"], "via SRV\n\nline two");
    assert_eq!(lines[0]["inbox"], "im:bob@b.example");
    assert_eq!(lines[0]["sender"], "im:tocsin@a.example");
    assert_eq!(lines[0]["headers"]["Tocsin-Event-Id"], e1.to_string());
    assert_eq!(
        lines[1]["headers"]["Tocsin-Kind"],
        "voicemail.MessageWaiting"
    );
    assert_eq!(lines[1]["headers"]["Tocsin-Event-Id"], e2.to_string());
    for e in [e1, e2] {
        wait_for("sent on A", Duration::from_secs(10), || {
            delivery_of(&a, e).filter(|x| x["state"] == "sent")
        });
    }
    assert!(dns.queries.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    let log = a.log();
    assert!(log.contains("trying the next address"), "{log}");
}
