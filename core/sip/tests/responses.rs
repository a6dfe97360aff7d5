//! Response construction: Via echo with received/rport, To-tags, status
//! specific headers, answers to partially parsed requests.

mod common;

use std::net::SocketAddr;

use tocsin_sip::*;

fn request(via: &str, to: &str) -> Vec<u8> {
    format!(
        "NOTIFY sip:t@192.0.2.1 SIP/2.0\r\n{via}\r\nFrom: \"PBX\" <sip:pbx@h>;tag=f1\r\n{to}\r\n\
         Call-ID: abc@h\r\nCSeq: 7 NOTIFY\r\nEvent: message-summary\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn answer(buf: &[u8], src: SocketAddr) -> String {
    let limits = Limits::default();
    let msg = parse_datagram(buf, &limits).expect("parses");
    let req = Request::new(&msg).expect("valid");
    let bytes = common::responder().respond(req.echo(), StatusCode::OK, src);
    String::from_utf8(bytes).expect("utf8")
}

fn top_via(resp: &str) -> &str {
    resp.lines()
        .find_map(|l| l.strip_prefix("Via: "))
        .expect("Via")
}

#[test]
fn received_and_rport_rules() {
    let src: SocketAddr = "198.51.100.9:40000".parse().expect("addr");
    let to = "To: <sip:t@h>";
    // Same IP, no rport: echoed untouched.
    let r = answer(
        &request("Via: SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKa", to),
        src,
    );
    assert_eq!(top_via(&r), "SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKa");
    // Different IP (NAT): received added.
    let r = answer(
        &request("Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa", to),
        src,
    );
    assert_eq!(
        top_via(&r),
        "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;received=198.51.100.9"
    );
    // Domain name in sent-by: received added.
    let r = answer(
        &request("Via: SIP/2.0/UDP pbx.example.org;branch=z9hG4bKa", to),
        src,
    );
    assert_eq!(
        top_via(&r),
        "SIP/2.0/UDP pbx.example.org;branch=z9hG4bKa;received=198.51.100.9"
    );
    // rport requested: filled in place, received added even for same IP.
    let r = answer(
        &request(
            "Via: SIP/2.0/UDP 198.51.100.9:5060;rport;branch=z9hG4bKa",
            to,
        ),
        src,
    );
    assert_eq!(
        top_via(&r),
        "SIP/2.0/UDP 198.51.100.9:5060;rport=40000;branch=z9hG4bKa;received=198.51.100.9"
    );
    // A stale received is replaced, a set rport is kept, quoted params kept.
    let r = answer(
        &request(
            "Via: SIP/2.0/UDP 10.0.0.5;received=10.9.9.9;rport=7;x=\"a b\";branch=z9hG4bKa",
            to,
        ),
        src,
    );
    assert_eq!(
        top_via(&r),
        "SIP/2.0/UDP 10.0.0.5;rport=7;x=\"a b\";branch=z9hG4bKa;received=198.51.100.9"
    );
    // IPv4-mapped source (dual-stack socket) equals the IPv4 sent-by.
    let mapped: SocketAddr = "[::ffff:198.51.100.9]:5060".parse().expect("addr");
    let r = answer(
        &request("Via: SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKa", to),
        mapped,
    );
    assert_eq!(top_via(&r), "SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKa");
    // IPv6.
    let v6: SocketAddr = "[2001:db8::2]:5060".parse().expect("addr");
    let r = answer(
        &request("Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa", to),
        v6,
    );
    assert_eq!(
        top_via(&r),
        "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa;received=2001:db8::2"
    );
}

#[test]
fn all_vias_echoed_in_order_only_top_rewritten() {
    let src = common::source();
    let r = answer(
        &request(
            "Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1, SIP/2.0/UDP p2.example;branch=z9hG4bK2\r\nv: SIP/2.0/UDP p3.example;branch=z9hG4bK3",
            "To: <sip:t@h>",
        ),
        src,
    );
    let vias: Vec<&str> = r.lines().filter_map(|l| l.strip_prefix("Via: ")).collect();
    assert_eq!(
        vias,
        [
            "SIP/2.0/UDP p1.example;branch=z9hG4bK1;received=192.0.2.10",
            "SIP/2.0/UDP p2.example;branch=z9hG4bK2",
            "SIP/2.0/UDP p3.example;branch=z9hG4bK3",
        ]
    );
}

#[test]
fn to_tag_added_stable_and_kept() {
    let src = common::source();
    let via = "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx";
    let a = answer(&request(via, "To: <sip:t@h>"), src);
    let b = answer(&request(via, "To: <sip:t@h>"), src);
    assert_eq!(a, b, "retransmission must get the same answer");
    let to = a.lines().find(|l| l.starts_with("To: ")).expect("To");
    assert!(to.starts_with("To: <sip:t@h>;tag=") && to.len() == "To: <sip:t@h>;tag=".len() + 16);
    // A different request (other branch) gets another tag.
    let c = answer(
        &request(
            "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKy",
            "To: <sip:t@h>",
        ),
        src,
    );
    assert_ne!(to, c.lines().find(|l| l.starts_with("To: ")).expect("To"));
    // Another responder secret gives another tag.
    let other = Responder::new(TagSecret::new([9; 16]));
    let buf = request(via, "To: <sip:t@h>");
    let msg = parse_datagram(&buf, &Limits::default()).expect("parses");
    let req = Request::new(&msg).expect("valid");
    assert_ne!(
        other.to_tag(req.echo()),
        common::responder().to_tag(req.echo())
    );
    // An existing tag is echoed, never a second one.
    let d = answer(&request(via, "To: <sip:t@h>;tag=theirs"), src);
    assert!(d.contains("\r\nTo: <sip:t@h>;tag=theirs\r\n"));
    assert_eq!(d.matches("tag=").count(), 2, "From-tag and To-tag only");
}

#[test]
fn status_specific_headers_and_custom_reason() {
    let buf = request(
        "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx",
        "To: <sip:t@h>",
    );
    let msg = parse_datagram(&buf, &Limits::default()).expect("parses");
    let req = Request::new(&msg).expect("valid");
    let r = common::responder();
    let s = |code: u16| {
        String::from_utf8(r.respond(
            req.echo(),
            StatusCode::new(code).expect("code"),
            common::source(),
        ))
        .expect("utf8")
    };
    assert!(s(405).contains("\r\nAllow: NOTIFY, OPTIONS\r\n"));
    assert!(s(415).contains("\r\nAccept: application/simple-message-summary\r\n"));
    assert!(s(489).contains("\r\nAllow-Events: message-summary\r\n"));
    for code in [200, 400, 403, 481, 500, 513] {
        let text = s(code);
        assert!(text.starts_with(&format!("SIP/2.0 {code} ")), "{text}");
        assert!(text.ends_with("\r\nContent-Length: 0\r\n\r\n"));
        assert!(!text.contains("Allow"), "{text}");
    }
    assert!(s(403).starts_with("SIP/2.0 403 Forbidden\r\n"));
    assert!(s(513).starts_with("SIP/2.0 513 Message Too Large\r\n"));
    // Caller text cannot inject header lines.
    let custom = r
        .response(req.echo(), StatusCode::FORBIDDEN, common::source())
        .reason("Source\r\nX-Evil: 1")
        .header("Warning", "399 tocsin \"not\r\nallowed\"")
        .finish();
    let text = String::from_utf8(custom).expect("utf8");
    assert!(text.starts_with("SIP/2.0 403 Source  X-Evil: 1\r\n"));
    assert!(!text.contains("\r\nX-Evil"));
}

#[test]
fn partially_parsed_requests_are_answered_or_dropped_with_reason() {
    let limits = Limits::default();
    let r = common::responder();
    let src = common::source();
    // A broken header elsewhere: still answerable.
    let mut buf = request(
        "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx",
        "To: <sip:t@h>",
    );
    buf.splice(
        buf.len() - 4..buf.len() - 4,
        b"\r\nBroken line".iter().copied(),
    );
    let err = parse_datagram(&buf, &limits).expect_err("broken");
    assert!(matches!(err, ParseError::BadHeaderLine { .. }));
    let ans = r
        .answer_parse_error(&buf, &err, &limits, src)
        .expect("answerable");
    assert!(ans.starts_with(b"SIP/2.0 400 Bad Request\r\n"));
    // Oversized datagram: 513 from the first 64 KiB.
    let mut big = request(
        "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx",
        "To: <sip:t@h>",
    );
    big.extend(std::iter::repeat_n(b'x', 70_000));
    let err = parse_datagram(&big, &limits).expect_err("too big");
    assert_eq!(err.status(), Some(StatusCode::MESSAGE_TOO_LARGE));
    let ans = r
        .answer_parse_error(&big, &err, &limits, src)
        .expect("answerable");
    assert!(ans.starts_with(b"SIP/2.0 513 Message Too Large\r\n"));
    // No Call-ID: cannot be addressed.
    let no_call_id = b"NOTIFY sip:t@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:t@h>\r\nCSeq: 1 NOTIFY\r\nContent-Length: x\r\n\r\n";
    let err = parse_datagram(no_call_id, &limits).expect_err("bad CL");
    assert_eq!(
        r.answer_parse_error(no_call_id, &err, &limits, src),
        Err(DropReason::Missing("Call-ID"))
    );
    // Broken responses are never answered.
    let resp =
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nContent-Length: 99\r\n\r\n";
    let err = parse_datagram(resp, &limits).expect_err("short");
    assert_eq!(
        r.answer_parse_error(resp, &err, &limits, src),
        Err(DropReason::NotARequest)
    );
    // Keepalives are silent.
    let err = parse_datagram(b"\r\n\r\n", &limits).expect_err("keepalive");
    assert_eq!(err, ParseError::Keepalive);
    assert_eq!(
        r.answer_parse_error(b"\r\n\r\n", &err, &limits, src),
        Err(DropReason::Keepalive)
    );
}

#[test]
fn transaction_keys() {
    let limits = Limits::default();
    let key = |buf: &[u8]| {
        let msg = parse_datagram(buf, &limits).expect("parses");
        TransactionKey::of(&Request::new(&msg).expect("valid"))
    };
    let a = key(&request(
        "Via: SIP/2.0/UDP PBX.example:5060;branch=z9hG4bKq",
        "To: <sip:t@h>",
    ));
    assert_eq!(
        a,
        TransactionKey::Branch {
            branch: "z9hG4bKq".into(),
            sent_by: "pbx.example:5060".into(),
            method: "NOTIFY".into()
        }
    );
    // RFC 2543 peer: no magic cookie.
    let b = key(&request(
        "Via: SIP/2.0/UDP pbx.example;branch=1234",
        "To: <sip:t@h>",
    ));
    assert_eq!(
        b,
        TransactionKey::Legacy {
            call_id: "abc@h".into(),
            cseq: 7,
            method: "NOTIFY".into(),
            from_tag: "f1".into()
        }
    );
    let c = key(&request("Via: SIP/2.0/UDP pbx.example", "To: <sip:t@h>"));
    assert_eq!(b, c);
}
