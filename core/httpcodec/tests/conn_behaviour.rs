//! Connection-level behaviour: ordering, keep-alive, backpressure, 100-continue, timers.

mod common;

use std::time::{Duration, Instant};

use common::{dovecot_put, drain, statuses};
use tocsin_httpcodec::{
    HttpError, Limits, Method, RespondError, Response, ServerConn, TimeoutEvent, Version,
};

const BODY: &str = r#"{"user":"alice","event":"messageNew","folder":"INBOX","imap-uidvalidity":1700000000,"imap-uid":5}"#;

#[test]
fn dovecot_put_parses_and_is_answered() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&dovecot_put(BODY), t0);
    let (reqs, err) = drain(&mut c, t0);
    assert!(err.is_none());
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.seq, 0);
    assert_eq!(r.method, Method::Put);
    assert_eq!(r.path(), "/tocsin/dovecot");
    assert_eq!(r.version, Version::Http11);
    assert!(r.keep_alive);
    assert_eq!(r.body, BODY.as_bytes());
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let creds = r.basic_auth().unwrap().unwrap();
    assert!(creds.verify("dovecot", "secret"));
    c.respond(0, Response::new(204), t0).unwrap();
    assert_eq!(c.take_output(), b"HTTP/1.1 204 No Content\r\n\r\n");
    assert!(!c.should_close());
    assert!(c.wants_read());
}

#[test]
fn pipelined_responses_are_released_in_order() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    let mut stream = Vec::new();
    for _ in 0..3 {
        stream.extend(dovecot_put(BODY));
    }
    c.feed(&stream, t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);
    c.respond(2, Response::json(200, "{\"n\":2}"), t0).unwrap();
    c.respond(1, Response::json(201, "{\"n\":1}"), t0).unwrap();
    assert!(c.pending_output().is_empty(), "nothing before request 0");
    c.respond(0, Response::json(202, "{\"n\":0}"), t0).unwrap();
    assert_eq!(statuses(c.pending_output()), [202, 201, 200]);
    assert_eq!(
        c.respond(1, Response::new(200), t0),
        Err(RespondError::AlreadyAnswered(1))
    );
    assert_eq!(
        c.respond(7, Response::new(200), t0),
        Err(RespondError::UnknownSequence(7))
    );
    assert_eq!(
        c.respond(0, Response::new(101), t0),
        Err(RespondError::InvalidStatus(101))
    );
}

#[test]
fn connection_close_stops_parsing_and_marks_last_response() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(
        b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
        t0,
    );
    let (reqs, err) = drain(&mut c, t0);
    assert_eq!(
        reqs.len(),
        1,
        "nothing after Connection: close is processed"
    );
    assert!(err.is_none());
    assert!(!reqs[0].keep_alive);
    assert!(!c.wants_read());
    c.respond(0, Response::new(200), t0).unwrap();
    let out = String::from_utf8(c.pending_output().to_vec()).unwrap();
    assert!(out.contains("Connection: close\r\n"));
    assert!(!c.should_close(), "output not yet written");
    let n = c.pending_output().len();
    c.consume_output(n);
    assert!(c.should_close());
}

#[test]
fn http10_defaults_to_close_and_honours_keep_alive() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(b"GET / HTTP/1.0\r\n\r\n", t0);
    let (reqs, _) = drain(&mut c, t0);
    assert!(!reqs[0].keep_alive);
    c.respond(0, Response::new(200), t0).unwrap();
    assert!(
        String::from_utf8(c.take_output())
            .unwrap()
            .contains("Connection: close")
    );
    assert!(c.should_close());

    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
        t0,
    );
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].keep_alive);
    c.respond(0, Response::new(200), t0).unwrap();
    let first = String::from_utf8(c.take_output()).unwrap();
    assert!(first.contains("Connection: keep-alive\r\n"));
    assert!(!c.should_close());
    c.respond(1, Response::new(200), t0).unwrap();
    assert!(c.take_output().ends_with(b"Connection: close\r\n\r\n"));
    assert!(c.should_close());
}

#[test]
fn host_forced_close_drops_later_responses() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&[dovecot_put(BODY), dovecot_put(BODY)].concat(), t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 2);
    c.respond(0, Response::new(401).with_close(), t0).unwrap();
    assert_eq!(c.respond(1, Response::new(200), t0), Ok(()));
    assert_eq!(statuses(&c.take_output()), [401]);
    assert!(c.should_close());
}

#[test]
fn protocol_error_is_queued_after_earlier_responses() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    let mut stream = dovecot_put(BODY);
    stream.extend_from_slice(b"BROKEN\r\n\r\n");
    c.feed(&stream, t0);
    let (reqs, err) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 1);
    assert!(matches!(err, Some(HttpError::BadRequestLine(_))));
    assert!(
        c.pending_output().is_empty(),
        "the 400 waits for response 0"
    );
    c.respond(0, Response::new(204), t0).unwrap();
    let out = String::from_utf8(c.take_output()).unwrap();
    assert_eq!(statuses(out.as_bytes()), [204, 400]);
    assert!(out.ends_with(
        "\"error\":\"bad_request_line\",\"message\":\"malformed request line: expected `method SP target SP version`\"}"
    ));
    assert!(c.should_close());
    assert!(c.next_request(t0).is_none());
}

#[test]
fn backpressure_stops_yielding_until_responses_go_out() {
    let t0 = Instant::now();
    let limits = Limits {
        max_in_flight: 2,
        ..Limits::default()
    };
    let mut c = ServerConn::new(limits, t0);
    let stream: Vec<u8> = (0..5).flat_map(|_| dovecot_put(BODY)).collect();
    c.feed(&stream, t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 2);
    assert!(!c.wants_read());
    assert_eq!(c.in_flight(), 2);
    // Answering out of order does not release anything: request 0 is still outstanding.
    c.respond(1, Response::new(204), t0).unwrap();
    assert!(drain(&mut c, t0).0.is_empty());
    c.respond(0, Response::new(204), t0).unwrap();
    let (more, _) = drain(&mut c, t0);
    assert_eq!(more.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    // A backpressured request must not run into the slowloris timer.
    assert!(c.next_timeout().is_none());
}

#[test]
fn expect_continue_emits_interim_response_in_order() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    let head = b"POST /events HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
    c.feed(head, t0);
    assert!(drain(&mut c, t0).0.is_empty());
    assert_eq!(c.take_output(), b"HTTP/1.1 100 Continue\r\n\r\n");
    c.feed(b"{}", t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body, b"{}");
    c.respond(0, Response::new(204), t0).unwrap();
    assert_eq!(statuses(&c.take_output()), [204]);

    // Body already there: no 100.
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&[&head[..], b"{}"].concat(), t0);
    assert_eq!(drain(&mut c, t0).0.len(), 1);
    assert!(c.pending_output().is_empty());

    // Behind an unanswered request, the 100 waits for that response.
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&[&dovecot_put(BODY)[..], &head[..]].concat(), t0);
    assert_eq!(drain(&mut c, t0).0.len(), 1);
    assert!(c.pending_output().is_empty());
    c.respond(0, Response::new(204), t0).unwrap();
    assert_eq!(statuses(&c.take_output()), [204, 100]);
}

#[test]
fn expect_continue_is_ignored_for_http10() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(
        b"POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        t0,
    );
    assert!(drain(&mut c, t0).0.is_empty());
    assert!(c.pending_output().is_empty());
}

#[test]
fn head_request_gets_no_body() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(b"HEAD /health HTTP/1.1\r\nHost: h\r\n\r\n", t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs[0].method, Method::Head);
    c.respond(0, Response::json(200, "{\"ok\":true}"), t0)
        .unwrap();
    let out = c.take_output();
    assert!(out.ends_with(b"Content-Length: 11\r\n\r\n"));
}

#[test]
fn giant_content_length_is_refused_before_the_body() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(
        b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000\r\n\r\n",
        t0,
    );
    let (_, err) = drain(&mut c, t0);
    assert!(matches!(err, Some(HttpError::BodyTooLarge { .. })));
    assert_eq!(statuses(&c.take_output()), [413]);
    assert!(c.should_close());
    // Further bytes are discarded, not buffered.
    c.feed(&vec![b'x'; 1 << 20], t0);
    assert!(c.next_request(t0).is_none());
}

#[test]
fn slowloris_gets_408() {
    let t0 = Instant::now();
    let limits = Limits::default();
    let timeout = limits.request_timeout;
    let mut c = ServerConn::new(limits, t0);
    assert_eq!(c.next_timeout(), Some(t0 + Limits::default().idle_timeout));
    c.feed(b"PUT / HTTP/1.1\r\nHo", t0);
    assert!(drain(&mut c, t0).0.is_empty());
    let deadline = c.next_timeout().unwrap();
    assert_eq!(deadline, t0 + timeout);
    // Trickling bytes does not extend the deadline.
    let t1 = t0 + Duration::from_secs(5);
    c.feed(b"st: h\r\n", t1);
    assert!(drain(&mut c, t1).0.is_empty());
    assert_eq!(c.next_timeout(), Some(deadline));
    assert_eq!(c.on_timeout(t1), None);
    let ev = c.on_timeout(deadline);
    assert!(matches!(
        ev,
        Some(TimeoutEvent::RequestTimeout(HttpError::RequestTimeout(_)))
    ));
    assert_eq!(statuses(&c.take_output()), [408]);
    assert!(c.should_close());
}

#[test]
fn timeout_during_body_answers_408_in_that_slot() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\nabc",
        t0,
    );
    assert!(drain(&mut c, t0).0.is_empty());
    let d = c.next_timeout().unwrap();
    assert!(matches!(
        c.on_timeout(d),
        Some(TimeoutEvent::RequestTimeout(_))
    ));
    // The client was told to continue (body incomplete), then timed out.
    assert_eq!(statuses(&c.take_output()), [100, 408]);
    assert!(c.should_close());
}

#[test]
fn idle_keep_alive_connection_is_closed() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&dovecot_put(BODY), t0);
    drain(&mut c, t0);
    assert!(
        c.next_timeout().is_none(),
        "no idle timer while a request is in flight"
    );
    let t1 = t0 + Duration::from_millis(20);
    c.respond(0, Response::new(204), t1).unwrap();
    let idle = c.next_timeout().unwrap();
    assert_eq!(idle, t1 + Limits::default().idle_timeout);
    // A stray CRLF (RFC 9112 2.2) neither starts a request timer nor resets idleness.
    c.feed(b"\r\n", t1 + Duration::from_secs(30));
    assert!(drain(&mut c, t1 + Duration::from_secs(30)).0.is_empty());
    assert_eq!(c.next_timeout(), Some(idle));
    assert_eq!(c.on_timeout(idle), Some(TimeoutEvent::IdleClose));
    assert!(c.should_close());
}

#[test]
fn eof_between_requests_closes_after_responses() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&dovecot_put(BODY), t0);
    c.feed_eof(t0);
    let (reqs, err) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 1);
    assert!(err.is_none());
    assert!(!c.should_close());
    c.respond(0, Response::new(204), t0).unwrap();
    let out = c.take_output();
    assert!(out.ends_with(b"Connection: close\r\n\r\n"));
    assert!(c.should_close());
}

#[test]
fn eof_mid_request_is_400() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    let full = dovecot_put(BODY);
    c.feed(&full[..full.len() - 3], t0);
    c.feed_eof(t0);
    let (reqs, err) = drain(&mut c, t0);
    assert!(reqs.is_empty());
    assert_eq!(err, Some(HttpError::IncompleteRequest));
    assert_eq!(statuses(&c.take_output()), [400]);
    assert!(c.should_close());
}

#[test]
fn shutdown_drains_outstanding_then_closes() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&[dovecot_put(BODY), dovecot_put(BODY)].concat(), t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs.len(), 2);
    c.respond(1, Response::new(204), t0).unwrap();
    c.shutdown();
    assert!(!c.should_close());
    c.respond(0, Response::new(204), t0).unwrap();
    let out = String::from_utf8(c.take_output()).unwrap();
    assert_eq!(statuses(out.as_bytes()), [204, 204]);
    assert_eq!(out.matches("Connection: close").count(), 1);
    assert!(out.ends_with("Connection: close\r\n\r\n"));
    assert!(c.should_close());
}

#[test]
fn partial_output_consumption() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(&dovecot_put(BODY), t0);
    drain(&mut c, t0);
    c.respond(0, Response::json(200, "{}"), t0).unwrap();
    let total = c.pending_output().to_vec();
    c.consume_output(5);
    assert_eq!(c.pending_output(), &total[5..]);
    c.consume_output(usize::MAX);
    assert!(c.pending_output().is_empty());
}

#[test]
fn limits_are_configurable() {
    let t0 = Instant::now();
    let tiny = Limits {
        max_request_line: 32,
        max_header_bytes: 64,
        max_headers: 2,
        max_body: 4,
        ..Limits::default()
    };
    let cases: [(&[u8], u16); 5] = [
        (b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", 431),
        (
            b"GET / HTTP/1.1\r\nHost: hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\r\n\r\n",
            431,
        ),
        (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", 413),
        (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd", 0),
    ];
    for (input, status) in cases {
        let mut c = ServerConn::new(tiny.clone(), t0);
        c.feed(input, t0);
        let (reqs, err) = drain(&mut c, t0);
        match err {
            Some(e) => assert_eq!(e.status(), status, "{}", String::from_utf8_lossy(input)),
            None => {
                assert_eq!(status, 0);
                assert_eq!(reqs.len(), 1);
            }
        }
    }
}
