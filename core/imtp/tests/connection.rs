//! The connection state machine: handshake, SASL, pipelining, limits and
//! timers.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::time::{Duration, Instant};
use tocsin_imtp::*;

fn im(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn only(v: Vec<Event>) -> Event {
    assert_eq!(v.len(), 1, "{v:?}");
    v.into_iter().next().unwrap()
}

fn no_auth() -> Config {
    Config {
        require_auth: false,
        ..Config::imtp()
    }
}

// ---- handshake and SASL ---------------------------------------------------

#[test]
fn server_speaks_first_and_filters_mechanisms() {
    let t = Instant::now();
    assert_eq!(
        take_output(&mut server(Config::imtp(), tls(Some("a@b.c")), t)),
        "=mech EXTERNAL PLAIN\r\n"
    );
    assert_eq!(
        take_output(&mut server(Config::imtp(), tls(None), t)),
        "=mech PLAIN\r\n"
    );
    // No TLS: PLAIN is not even offered.
    assert_eq!(
        take_output(&mut server(Config::imtp(), plaintext(), t)),
        "=mech\r\n"
    );
    // The client says nothing until it has the list.
    let mut c = client(Config::imtp(), tls(None), t);
    assert_eq!(c.output_len(), 0);
    assert_eq!(
        c.send_command(&Command::Shutdown(Meta::default()), t),
        Err(SendError::NotReady)
    );
    c.feed(b"=mec8 PLAIN\r\n", t).unwrap();
    assert_eq!(
        events(&mut c),
        vec![Event::Mechanisms(vec![MechName::plain()])]
    );
}

#[test]
fn external_uses_the_certificate_identity() {
    let t = Instant::now();
    let mut s = server(Config::imtp(), tls(Some("alice@example.net")), t);
    let mut c = client(Config::imtp(), tls(None), t);
    pump(&mut s, &mut c, t);
    assert!(matches!(&events(&mut c)[..], [Event::Mechanisms(_)]));
    c.authenticate(
        ClientSasl::External {
            authzid: String::new(),
        },
        t,
    )
    .unwrap();
    assert_eq!(
        c.send_command(&Command::Shutdown(Meta::default()), t),
        Err(SendError::AuthInProgress)
    );
    pump(&mut c, &mut s, t);
    let ext = MechName::external();
    assert_eq!(
        events(&mut s),
        vec![Event::Authenticated {
            identity: Some("alice@example.net".into()),
            mechanism: ext.clone()
        }]
    );
    assert_eq!(
        events(&mut c),
        vec![Event::Authenticated {
            identity: None,
            mechanism: ext
        }]
    );
    assert_eq!(s.identity(), Some("alice@example.net"));
    assert!(c.is_authenticated());
    assert_eq!(
        c.authenticate(
            ClientSasl::External {
                authzid: String::new()
            },
            t
        ),
        Err(SendError::AlreadyAuthenticated)
    );
}

#[test]
fn external_identity_supplied_after_the_handshake() {
    let t = Instant::now();
    let cfg = Config {
        external_identity_later: true,
        ..Config::imtp()
    };
    // Offered before the identity is known; used once the host supplies it.
    let mut s = server(cfg.clone(), tls(None), t);
    assert!(s.mechanisms().contains(&MechName::external()));
    let mut c = client(Config::imtp(), tls(None), t);
    pump(&mut s, &mut c, t);
    events(&mut c);
    s.set_peer_identity(Some("a.example".into()));
    let ext = ClientSasl::External {
        authzid: String::new(),
    };
    c.authenticate(ext.clone(), t).unwrap();
    pump(&mut c, &mut s, t);
    assert_eq!(s.identity(), Some("a.example"));

    // No certificate after all: EXTERNAL fails, nobody is authenticated.
    let mut s = server(cfg, tls(None), t);
    let mut c = client(Config::imtp(), tls(None), t);
    pump(&mut s, &mut c, t);
    events(&mut c);
    c.authenticate(ext, t).unwrap();
    pump(&mut c, &mut s, t);
    assert!(!s.is_authenticated());
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, Event::AuthFailed(_)))
    );
}

#[test]
fn external_rejects_a_foreign_authzid() {
    let t = Instant::now();
    let mut s = server(Config::imtp(), tls(Some("alice@example.net")), t);
    let mut c = client(Config::imtp(), tls(None), t);
    pump(&mut s, &mut c, t);
    assert!(matches!(&events(&mut c)[..], [Event::Mechanisms(_)]));
    c.authenticate(
        ClientSasl::External {
            authzid: "mallory@example.net".into(),
        },
        t,
    )
    .unwrap();
    pump(&mut c, &mut s, t);
    assert!(!s.is_authenticated() && !c.is_authenticated());
    let Event::AuthFailed(e) = only(events(&mut c)) else {
        panic!()
    };
    assert_eq!(e.error_type, ErrorType::SaslFailure);
    // The exchange is over: the client may try again.
    c.authenticate(
        ClientSasl::External {
            authzid: String::new(),
        },
        t,
    )
    .unwrap();
    pump(&mut c, &mut s, t);
    assert!(c.is_authenticated());
}

#[test]
fn plain_is_refused_without_tls() {
    let t = Instant::now();
    // Client side: refuses to send the password in clear.
    let mut c = client(Config::imtp(), plaintext(), t);
    c.feed(b"=mech PLAIN\r\n", t).unwrap();
    let creds = PlainCredentials::new("tim", "tanstaaf");
    assert_eq!(
        c.authenticate(ClientSasl::Plain(creds), t),
        Err(SendError::PlainRequiresTls)
    );
    assert_eq!(c.output_len(), 0);
    // Server side: not offered and not accepted.
    let mut s = server(Config::imtp(), plaintext(), t);
    take_output(&mut s);
    s.feed(
        b">1 auth\r\nMechanism: PLAIN\r\nContent-Length: 13\r\n\r\n\0tim\0tanstaaf",
        t,
    )
    .unwrap();
    assert_eq!(
        take_output(&mut s),
        "<1 error (auth)\r\nError-Type: sasl-failure\r\nError-Description: PLAIN is only accepted over TLS\r\n\r\n"
    );
    assert!(matches!(events(&mut s)[..], [Event::AuthFailed(_)]));
}

#[test]
fn plain_over_tls_is_verified_by_the_host() {
    let t = Instant::now();
    let mut s = server(Config::imtp(), tls(None), t);
    let mut c = client(Config::imtp(), tls(None), t);
    pump(&mut s, &mut c, t);
    c.authenticate(
        ClientSasl::Plain(PlainCredentials::new("tim", "tanstaaf")),
        t,
    )
    .unwrap();
    pump(&mut c, &mut s, t);
    let Event::VerifyPlain(creds) = only(events(&mut s)) else {
        panic!()
    };
    assert_eq!(
        s.respond(&Id::parse("1").unwrap(), &Outcome::ok(), t),
        Err(SendError::UseCompletePlain)
    );
    assert_eq!(
        s.respond(&Id::parse("1").unwrap(), &Outcome::ok(), t),
        Err(SendError::UseCompletePlain)
    );
    assert_eq!(
        (creds.authcid.as_str(), creds.password.as_str()),
        ("tim", "tanstaaf")
    );
    // Commands during verification are protocol violations.
    s.feed(b">9 listen\r\nInbox: im:tim@example.net\r\n\r\n", t)
        .unwrap();
    assert!(take_output(&mut s).contains("<9 error (listen)\r\nError-Type: malformed\r\n"));
    s.complete_plain(
        PlainVerdict::Accept {
            identity: "tim@example.net".into(),
        },
        t,
    )
    .unwrap();
    assert_eq!(take_output(&mut s), "<1 ok (auth)\r\n\r\n=mech PLAIN\r\n");
    c.feed(b"<1 ok (auth)\r\n\r\n=mech PLAIN\r\n", t).unwrap();
    assert!(c.is_authenticated() && s.is_authenticated());
    assert_eq!(s.identity(), Some("tim@example.net"));
}

#[test]
fn plain_rejection_and_challenge_flow() {
    let t = Instant::now();
    let mut s = server(Config::imtp(), tls(None), t);
    take_output(&mut s);
    // No initial response: the server asks with an empty challenge.
    s.feed(b">1 auth\r\nMechanism: PLAIN\r\n\r\n", t).unwrap();
    assert_eq!(
        take_output(&mut s),
        "<1 error (auth)\r\nError-Type: sasl-challenge\r\nContent-Length: 0\r\n\r\n"
    );
    s.feed(b">2 auth\r\nContent-Length: 8\r\n\r\n\0tim\0bad", t)
        .unwrap();
    assert!(matches!(events(&mut s)[..], [Event::VerifyPlain(_)]));
    s.complete_plain(
        PlainVerdict::Reject {
            description: "bad credentials".into(),
        },
        t,
    )
    .unwrap();
    assert_eq!(
        take_output(&mut s),
        "<2 error (auth)\r\nError-Type: sasl-failure\r\nError-Description: bad credentials\r\n\r\n"
    );
    // Abort after a challenge is answered with ok and authenticates nobody.
    s.feed(
        b">3 auth\r\nMechanism: PLAIN\r\n\r\n>4 auth\r\nAbort:\r\n\r\n",
        t,
    )
    .unwrap();
    assert!(take_output(&mut s).ends_with("<4 ok (auth)\r\n\r\n"));
    assert!(!s.is_authenticated());
    // A client answers an empty challenge by resending its message once.
    let mut c = client(Config::imtp(), tls(None), t);
    c.feed(b"=mech PLAIN\r\n", t).unwrap();
    c.authenticate(ClientSasl::Plain(PlainCredentials::new("tim", "pw")), t)
        .unwrap();
    take_output(&mut c);
    c.feed(
        b"<1 error (auth)\r\nError-Type: sasl-challenge\r\nContent-Length: 0\r\n\r\n",
        t,
    )
    .unwrap();
    assert_eq!(
        take_output(&mut c),
        ">2 auth\r\nContent-Length: 7\r\n\r\n\0tim\0pw"
    );
}

#[test]
fn mech_downgrade_is_fatal() {
    let t = Instant::now();
    let mut c = client(Config::imtp(), tls(None), t);
    c.feed(b"=mech EXTERNAL PLAIN\r\n", t).unwrap();
    c.authenticate(ClientSasl::Plain(PlainCredentials::new("tim", "pw")), t)
        .unwrap();
    let err = c
        .feed(b"<1 ok (auth)\r\n\r\n=mech PLAIN\r\n", t)
        .unwrap_err();
    assert!(matches!(err, ConnError::MechDowngrade { .. }), "{err}");
    assert!(c.is_closed() && !c.is_authenticated());

    // Anything but the mechanism list right after the ok is fatal too.
    let mut c = client(Config::imtp(), tls(None), t);
    c.feed(b"=mech PLAIN\r\n", t).unwrap();
    c.authenticate(ClientSasl::Plain(PlainCredentials::new("tim", "pw")), t)
        .unwrap();
    let err = c
        .feed(b"<1 ok (auth)\r\n\r\n>1 shutdown\r\n\r\n", t)
        .unwrap_err();
    assert_eq!(err, ConnError::MechMissing("a command"));
}

#[test]
fn unauthenticated_commands_are_refused() {
    let t = Instant::now();
    let mut s = server(Config::imtp(), tls(None), t);
    take_output(&mut s);
    s.feed(
        b">1 listen\r\nInbox: im:bob@example.org\r\n\r\n>2 shutdown\r\n\r\n",
        t,
    )
    .unwrap();
    assert_eq!(
        take_output(&mut s),
        "<1 error (listen)\r\nError-Type: source-authorization\r\nError-Description: authenticate first\r\n\r\n\
         <2 error (shutdown)\r\nError-Type: unknown-method\r\nError-Description: shutdown is sent by servers\r\n\r\n"
    );
    assert!(events(&mut s).is_empty());
}

// ---- commands, pipelining, ids -------------------------------------------

#[test]
fn pipelined_responses_match_out_of_order() {
    let t = Instant::now();
    let (mut c, mut s) = authenticated_pair(Config::imtp(), t);
    // The server pushes three messages to a listening client.
    let inboxes = ["im:a@example.org", "im:b@example.org", "im:c@example.org"];
    let ids: Vec<Id> = inboxes
        .iter()
        .map(|i| {
            let m = SendMessage::new(im("im:alarm@appliance.example"), im(i), &b"door open"[..]);
            s.send_command(&Command::Send(m), t).unwrap()
        })
        .collect();
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        3
    );
    pump(&mut s, &mut c, t);
    let got: Vec<(Id, Url)> = events(&mut c)
        .into_iter()
        .map(|e| match e {
            Event::Command {
                id,
                command: Command::Send(m),
            } => (id, m.inbox),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got.len(), 3);
    // Answer in reverse order, the middle one with an error.
    for (id, inbox) in got.iter().rev() {
        let outcome = if inbox == &im(inboxes[1]) {
            Outcome::error(ErrorType::NoListeners, "nobody home")
        } else {
            Outcome::ok()
        };
        c.respond(id, &outcome, t).unwrap();
    }
    assert_eq!(
        c.respond(&got[0].0, &Outcome::ok(), t),
        Err(SendError::UnknownCommand(got[0].0.clone()))
    );
    pump(&mut c, &mut s, t);
    let answers: Vec<(Id, Delivery)> = events(&mut s)
        .into_iter()
        .map(|e| match e {
            Event::Response { id, response } => (id, response.outcome.delivery()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        answers.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(),
        vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    assert_eq!(answers[1].1, Delivery::RetryLater(ErrorType::NoListeners));
    assert_eq!(s.unanswered_outgoing(), 0);
}

#[test]
fn id_allocator_never_reuses_an_unanswered_id() {
    let t = Instant::now();
    let (mut c, mut s) = authenticated_pair(no_auth(), t);
    let cmd = Command::Shutdown(Meta::default());
    let mut live = std::collections::HashSet::new();
    let mut received = std::collections::HashSet::new();
    for round in 0..50 {
        let id = s.send_command(&cmd, t).unwrap();
        assert!(live.insert(id.clone()), "id {id} reused while unanswered");
        if round % 3 == 0 {
            // Deliver everything, then answer only the oldest live command.
            c.feed(s.output(), t).unwrap();
            let n = s.output_len();
            s.consume_output(n);
            for e in events(&mut c) {
                if let Event::Command { id, .. } = e {
                    received.insert(id);
                }
            }
            let victim = live
                .iter()
                .min_by_key(|i| i.as_str().parse::<u64>().unwrap())
                .unwrap()
                .clone();
            assert!(received.contains(&victim));
            c.respond(&victim, &Outcome::ok(), t).unwrap();
            s.feed(c.output(), t).unwrap();
            let n = c.output_len();
            c.consume_output(n);
            live.remove(&victim);
        }
    }
    assert_eq!(s.unanswered_outgoing(), live.len());
}

#[test]
fn reusing_an_outstanding_id_is_malformed() {
    let t = Instant::now();
    let mut s = server(no_auth(), tls(None), t);
    take_output(&mut s);
    let listen = b">5 listen\r\nInbox: im:bob@example.org\r\n\r\n";
    s.feed(listen, t).unwrap();
    s.feed(listen, t).unwrap();
    assert_eq!(events(&mut s).len(), 1);
    assert_eq!(
        take_output(&mut s),
        "<5 error (listen)\r\nError-Type: malformed\r\nError-Description: id is still in use by an unanswered command\r\n\r\n"
    );
    // Once answered, the id is free again.
    s.respond(&Id::parse("5").unwrap(), &Outcome::ok(), t)
        .unwrap();
    s.feed(listen, t).unwrap();
    assert_eq!(events(&mut s).len(), 1);
}

#[test]
fn protocol_checks_answer_for_the_host() {
    let t = Instant::now();
    let mut s = server(no_auth(), tls(None), t);
    take_output(&mut s);
    s.feed(b">1 frobnicate\r\n\r\n>2 subscribe\r\nSubscription: /im:x@y\r\nPresentity: presence:a@b\r\n\r\n", t)
        .unwrap();
    s.feed(
        b">3 send\r\nInbox: im:bob@example.org\r\nContent-Length: 2\r\n\r\nhi",
        t,
    )
    .unwrap();
    s.feed(b">4 send\r\nSender: im:a@b\r\nInbox: im:c@d\r\nContent-Transfer-Encoding: base64\r\nContent-Length: 4\r\n\r\naGkK", t)
        .unwrap();
    let out = take_output(&mut s);
    assert!(
        out.contains("<1 error (frobnicate)\r\nError-Type: unknown-method\r\n"),
        "{out}"
    );
    assert!(
        out.contains("<2 error (subscribe)\r\nError-Type: unknown-method\r\n"),
        "{out}"
    );
    assert!(out.contains(
        "<3 error (send)\r\nError-Type: malformed\r\nError-Description: missing Sender header\r\n"
    ));
    assert!(
        out.contains("<4 error (send)\r\nError-Type: malformed\r\n"),
        "{out}"
    );
    assert!(events(&mut s).is_empty());
    assert!(!s.is_closed());
}

#[test]
fn unparsable_response_still_answers_the_command() {
    let t = Instant::now();
    let (mut c, mut s) = authenticated_pair(Config::imtp(), t);
    let id = c
        .send_command(&Command::Listen(Listen::new(im("im:bob@example.org"))), t)
        .unwrap();
    take_output(&mut c);
    c.feed(
        format!("<{id} error (listen)\r\nError-Description: no type\r\n\r\n").as_bytes(),
        t,
    )
    .unwrap();
    let Event::Response { id: got, response } = only(events(&mut c)) else {
        panic!()
    };
    assert_eq!(got, id);
    assert_eq!(
        response.outcome.delivery(),
        Delivery::Failed(ErrorType::Malformed)
    );
    // Unsolicited responses are dropped, not fatal.
    c.feed(b"<99 ok (send)\r\n\r\n", t).unwrap();
    assert!(events(&mut c).is_empty() && !c.is_closed());
    let _ = &mut s;
}

#[test]
fn giant_content_length_is_refused_before_buffering() {
    let t = Instant::now();
    let mut s = server(no_auth(), tls(None), t);
    take_output(&mut s);
    let err = s
        .feed(b">7 send\r\nSender: im:a@b\r\nInbox: im:c@d\r\nContent-Length: 1000000000000\r\n\r\nxxxx", t)
        .unwrap_err();
    assert!(matches!(
        err,
        ConnError::Decode(DecodeError {
            kind: FramingError::PayloadTooLarge { .. },
            ..
        })
    ));
    assert!(s.input_buffered() < 100);
    let out = take_output(&mut s);
    assert!(
        out.starts_with("<7 error (send)\r\nError-Type: resources\r\n"),
        "{out}"
    );
    assert!(s.is_closed());
    assert_eq!(s.feed(b"=nop\r\n", t), Err(ConnError::Closed));
}

#[test]
fn backpressure_and_outstanding_limits() {
    let t = Instant::now();
    let limits = Limits {
        output_soft_limit: 300,
        max_outstanding: 1000,
        ..Limits::default()
    };
    let (_c, mut s) = authenticated_pair(
        Config {
            limits,
            ..Config::imtp()
        },
        t,
    );
    let m = Command::Send(SendMessage::new(
        im("im:a@b.example"),
        im("im:c@d.example"),
        vec![b'x'; 100],
    ));
    let mut sent = 0;
    let err = loop {
        match s.send_command(&m, t) {
            Ok(_) => sent += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, SendError::OutputFull { .. }), "{err}");
    assert!(s.is_congested() && sent >= 2);
    let n = s.output_len();
    s.consume_output(n);
    assert!(!s.is_congested());
    s.send_command(&m, t).unwrap();

    let limits = Limits {
        max_outstanding: 2,
        ..Limits::default()
    };
    let (_c, mut s) = authenticated_pair(
        Config {
            limits,
            ..Config::imtp()
        },
        t,
    );
    s.send_command(&m, t).unwrap();
    s.send_command(&m, t).unwrap();
    assert_eq!(
        s.send_command(&m, t),
        Err(SendError::TooManyOutstanding { limit: 2 })
    );
    assert_eq!(s.take_unanswered().len(), 2);
}

// ---- timers ----------------------------------------------------------------

#[test]
fn slowloris_partial_message_times_out() {
    let t0 = Instant::now();
    let mut s = server(no_auth(), tls(None), t0);
    take_output(&mut s);
    let msg = b">1 send\r\nSender: im:a@example.org\r\nInbox: im:b@example.org\r\n";
    // One octet per second: data keeps arriving, the message never ends.
    let mut now = t0;
    let mut result = Ok(());
    for &b in msg.iter() {
        now += Duration::from_secs(1);
        s.feed(&[b], now).unwrap();
        if s.next_timeout().is_some_and(|at| at <= now) {
            result = s.handle_timeout(now);
            if result.is_err() {
                break;
            }
        }
    }
    assert_eq!(result, Err(ConnError::ReadTimeout(Duration::from_secs(30))));
    assert!(now <= t0 + Duration::from_secs(32));
}

#[test]
fn complete_messages_reset_the_slowloris_clock() {
    let t0 = Instant::now();
    let mut s = server(no_auth(), tls(None), t0);
    let mut now = t0;
    for _ in 0..10 {
        // Half a NOP, then the rest 20 s later: each message takes 20 s.
        s.feed(b"=n", now).unwrap();
        now += Duration::from_secs(20);
        s.handle_timeout(now).unwrap();
        s.feed(b"op\r\n", now).unwrap();
    }
    assert!(!s.is_closed());
}

#[test]
fn keepalive_idle_handshake_and_response_timers() {
    let t0 = Instant::now();
    // NOP after 60 s of silence on our side.
    let (mut c, mut s) = authenticated_pair(Config::imtp(), t0);
    take_output(&mut s);
    assert_eq!(s.next_timeout(), Some(t0 + Duration::from_secs(60)));
    s.handle_timeout(t0 + Duration::from_secs(60)).unwrap();
    assert_eq!(take_output(&mut s), "=nop\r\n");
    // Idle: nothing received for 300 s.
    assert_eq!(
        s.handle_timeout(t0 + Duration::from_secs(300)),
        Err(ConnError::IdleTimeout(Duration::from_secs(300)))
    );
    // Response: a command unanswered for 120 s.
    let id = c
        .send_command(&Command::Shutdown(Meta::default()), t0)
        .unwrap();
    c.feed(b"=nop\r\n", t0 + Duration::from_secs(100)).unwrap();
    assert_eq!(
        c.handle_timeout(t0 + Duration::from_secs(120)),
        Err(ConnError::ResponseTimeout {
            id,
            after: Duration::from_secs(120)
        })
    );
    // Handshake: a server connection that never authenticates.
    let mut s = server(Config::imtp(), tls(None), t0);
    s.feed(b"=nop\r\n", t0 + Duration::from_secs(29)).unwrap();
    assert_eq!(
        s.handle_timeout(t0 + Duration::from_secs(30)),
        Err(ConnError::HandshakeTimeout(Duration::from_secs(30)))
    );
    // A client that never gets a mechanism list.
    let mut c = client(Config::imtp(), tls(None), t0);
    assert_eq!(c.next_timeout(), Some(t0 + Duration::from_secs(30)));
    assert!(c.handle_timeout(t0 + Duration::from_secs(31)).is_err());
    assert_eq!(c.next_timeout(), None);
}
