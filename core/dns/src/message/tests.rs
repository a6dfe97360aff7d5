//! Wire format tests, with responses from the shared test builder.

use super::*;
use crate::test_builder::{Builder, Rd};

const SVC: &str = "_im-servers._tcp.example.org";

#[test]
fn encodes_query_bytes() {
    let q = encode_query(0x1234, "example.org", QType::A).unwrap();
    let expected: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\
        \x07example\x03org\x00\x00\x01\x00\x01\
        \x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";
    assert_eq!(q, expected);
    let q = encode_query(0xBEEF, "_im-servers._tcp.example.org.", QType::Srv).unwrap();
    assert_eq!(&q[..2], b"\xbe\xef");
    assert_eq!(
        &q[12..44],
        b"\x0b_im-servers\x04_tcp\x07example\x03org\x00\x00\x21"
    );
    assert!(matches!(
        encode_query(1, "a..b", QType::A),
        Err(DnsError::InvalidName { .. })
    ));
}

#[test]
fn parses_srv_with_additional_addresses() {
    let msg = Builder::response(7, SVC, 33)
        .answer(SVC, 300, Rd::Srv(10, 60, 5269, "im1.example.org"))
        .answer(SVC, 200, Rd::Srv(20, 0, 5270, "im2.example.org"))
        .authority("example.org", 3600, Rd::Raw(2, b"\x02ns\xc0\x0c".to_vec()))
        .additional("im1.example.org", 100, Rd::A([192, 0, 2, 1]))
        .additional(
            "IM1.example.org",
            90,
            Rd::Aaaa([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        )
        .opt(1232)
        .build();
    let r = parse_response(&msg, 7, "_IM-servers._tcp.EXAMPLE.org.", QType::Srv).unwrap();
    assert!(!r.nxdomain);
    assert_eq!(r.answers.len(), 2);
    assert_eq!(
        r.srv_records(SVC),
        vec![
            (Srv::new(10, 60, 5269, "im1.example.org"), 300),
            (Srv::new(20, 0, 5270, "im2.example.org"), 200),
        ]
    );
    assert_eq!(
        r.addresses("im1.example.org", true),
        vec![
            ("192.0.2.1".parse().unwrap(), 100),
            ("2001:db8::1".parse().unwrap(), 90)
        ]
    );
    assert!(r.addresses("im1.example.org", false).is_empty());
    assert!(r.addresses("im2.example.org", true).is_empty());
}

#[test]
fn parses_compressed_and_uncompressed_alike() {
    let build = |compress| {
        Builder::response(9, "www.example.org", 1)
            .compress(compress)
            .answer("www.example.org", 60, Rd::Cname("web.example.org"))
            .answer("web.example.org", 30, Rd::Cname("host.example.net"))
            .answer("host.example.net", 120, Rd::A([198, 51, 100, 7]))
            .build()
    };
    let (small, big) = (build(true), build(false));
    assert!(small.len() < big.len());
    let a = parse_response(&small, 9, "www.example.org", QType::A).unwrap();
    let b = parse_response(&big, 9, "www.example.org", QType::A).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.canonical_name("www.example.org"),
        ("host.example.net".to_owned(), Some(30))
    );
    assert_eq!(
        a.addresses("host.example.net", false),
        vec![("198.51.100.7".parse().unwrap(), 120)]
    );
    assert_eq!(
        a.canonical_name("other.org"),
        ("other.org".to_owned(), None)
    );
}

#[test]
fn cname_loops_are_cut() {
    let msg = Builder::response(9, "a.example", 1)
        .answer("a.example", 60, Rd::Cname("b.example"))
        .answer("b.example", 60, Rd::Cname("a.example"))
        .build();
    let r = parse_response(&msg, 9, "a.example", QType::A).unwrap();
    // Terminates; lands on one of the two.
    let (canon, ttl) = r.canonical_name("a.example");
    assert!(canon == "a.example" || canon == "b.example");
    assert_eq!(ttl, Some(60));
}

#[test]
fn nxdomain_is_a_response() {
    let msg = Builder::response(1, SVC, 33).rcode(3).build();
    let r = parse_response(&msg, 1, SVC, QType::Srv).unwrap();
    assert!(r.nxdomain);
    assert!(r.answers.is_empty());
}

#[test]
fn error_rcodes_fail() {
    for (rcode, name) in [
        (2, "SERVFAIL"),
        (5, "REFUSED"),
        (1, "FORMERR"),
        (4, "NOTIMP"),
    ] {
        let msg = Builder::response(1, SVC, 33).rcode(rcode).build();
        let err = parse_response(&msg, 1, SVC, QType::Srv).unwrap_err();
        assert_eq!(
            err,
            DnsError::ServerFailure {
                name: SVC.into(),
                rcode: u16::from(rcode),
                server: None
            }
        );
        assert!(err.to_string().contains(name), "{err}");
    }
    // BADVERS: extended RCODE 1 in the OPT TTL, low bits 0 -> 16.
    let msg = Builder::response(1, SVC, 33).opt_ext_rcode(1).build();
    assert!(matches!(
        parse_response(&msg, 1, SVC, QType::Srv),
        Err(DnsError::ServerFailure { rcode: 16, .. })
    ));
}

#[test]
fn truncated_responses_fail() {
    let msg = Builder::response(1, SVC, 33)
        .tc()
        .answer(SVC, 1, Rd::Srv(1, 1, 1, "a.example"))
        .build();
    assert_eq!(
        parse_response(&msg, 1, SVC, QType::Srv),
        Err(DnsError::Truncated { name: SVC.into() })
    );
    // TC on a datagram that does not answer our question is ignored
    // as unrelated instead.
    assert!(
        parse_response(&msg, 1, "other.example", QType::Srv)
            .unwrap_err()
            .is_unrelated()
    );
}

#[test]
fn unrelated_datagrams_are_flagged() {
    let msg = Builder::response(0x4242, SVC, 33).build();
    assert_eq!(
        parse_response(&msg, 0x4243, SVC, QType::Srv),
        Err(DnsError::WrongId {
            expected: 0x4243,
            got: 0x4242
        })
    );
    let reason = |r: Result<Response, DnsError>| match r {
        Err(DnsError::Mismatch { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason(parse_response(
            &msg,
            0x4242,
            "_im-servers._tcp.example.com",
            QType::Srv
        )),
        "question is for another name"
    );
    assert_eq!(
        reason(parse_response(&msg, 0x4242, SVC, QType::A)),
        "question is for another type"
    );
    // Our own query coming back (QR=0).
    let q = encode_query(5, SVC, QType::Srv).unwrap();
    assert_eq!(
        reason(parse_response(&q, 5, SVC, QType::Srv)),
        "not a response (QR=0)"
    );
    let msg = Builder::response(1, SVC, 33).opcode(4).build();
    assert_eq!(
        reason(parse_response(&msg, 1, SVC, QType::Srv)),
        "opcode is not QUERY"
    );
    let msg = Builder::response(1, SVC, 33).class(3).build();
    assert_eq!(
        reason(parse_response(&msg, 1, SVC, QType::Srv)),
        "question class is not IN"
    );
    let msg = Builder::response(1, SVC, 33).no_question().build();
    assert_eq!(
        reason(parse_response(&msg, 1, SVC, QType::Srv)),
        "does not echo exactly one question"
    );
}

#[test]
fn echoed_query_with_qr_set_parses_empty() {
    let mut q = encode_query(5, SVC, QType::Srv).unwrap();
    q[2] |= 0x80;
    let r = parse_response(&q, 5, SVC, QType::Srv).unwrap();
    assert_eq!(r, Response::default());
}

#[test]
fn skips_unknown_types_and_classes() {
    let msg = Builder::response(1, "h.example", 1)
        .answer("h.example", 5, Rd::Raw(16, b"\x04text".to_vec()))
        .answer_class("h.example", 3, 5, Rd::A([1, 2, 3, 4]))
        .answer("h.example", 5, Rd::A([5, 6, 7, 8]))
        .build();
    let r = parse_response(&msg, 1, "h.example", QType::A).unwrap();
    assert_eq!(
        r.answers,
        vec![Record {
            name: "h.example".into(),
            ttl: 5,
            data: RData::A(Ipv4Addr::new(5, 6, 7, 8))
        }]
    );
}

#[test]
fn ttl_with_top_bit_is_zero() {
    let msg = Builder::response(1, "h.example", 1)
        .answer("h.example", 0x8000_0000, Rd::A([1, 2, 3, 4]))
        .build();
    let r = parse_response(&msg, 1, "h.example", QType::A).unwrap();
    assert_eq!(r.answers[0].ttl, 0);
}

#[test]
fn rejects_bad_rdata() {
    let code = |rd: Rd| {
        let msg = Builder::response(1, "h.example", 33)
            .answer("h.example", 5, rd)
            .build();
        match parse_response(&msg, 1, "h.example", QType::Srv) {
            Err(DnsError::Malformed { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(code(Rd::Raw(1, vec![1, 2, 3])), "A RDATA is not 4 octets");
    assert_eq!(code(Rd::Raw(28, vec![0; 4])), "AAAA RDATA is not 16 octets");
    assert_eq!(code(Rd::Raw(33, vec![0; 6])), "SRV RDATA too short");
    assert_eq!(
        code(Rd::Raw(33, b"\0\0\0\0\0\0\x01a\0\0".to_vec())),
        "SRV target does not fill the RDATA"
    );
    assert_eq!(
        code(Rd::Raw(5, b"\x01a\0\x01".to_vec())),
        "CNAME target does not fill the RDATA"
    );
    // A name running from the RDATA into the following bytes.
    let mut msg = Builder::response(1, "h.example", 33)
        .answer("h.example", 5, Rd::Raw(5, b"\x03abc".to_vec()))
        .build();
    msg.push(0);
    assert!(matches!(
        parse_response(&msg, 1, "h.example", QType::Srv),
        Err(DnsError::Malformed { .. })
    ));
}

#[test]
fn rejects_lying_counts() {
    let mut msg = Builder::response(1, SVC, 33)
        .answer(SVC, 300, Rd::Srv(10, 60, 5269, "im1.example.org"))
        .build();
    // ANCOUNT 65535 with one record present.
    msg[6] = 0xff;
    msg[7] = 0xff;
    assert!(matches!(
        parse_response(&msg, 1, SVC, QType::Srv),
        Err(DnsError::Malformed { .. })
    ));
    assert!(matches!(
        parse_response(&[], 1, SVC, QType::Srv),
        Err(DnsError::Malformed { offset: 0, .. })
    ));
    assert!(matches!(
        parse_response(&msg[..11], 1, SVC, QType::Srv),
        Err(DnsError::Malformed { .. })
    ));
}
