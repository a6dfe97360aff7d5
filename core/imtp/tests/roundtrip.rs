//! Encode → decode is the identity for every message kind.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::decode_all;
use common::strategies::*;
use proptest::prelude::*;
use tocsin_imtp::*;

fn one(bytes: &[u8]) -> Frame {
    let (out, err) = decode_all(bytes);
    assert_eq!(err, None, "{}", String::from_utf8_lossy(bytes));
    assert_eq!(out.len(), 1, "{}", String::from_utf8_lossy(bytes));
    match out.into_iter().next() {
        Some(Decoded::Frame(f)) => f,
        other => panic!("{other:?} from {}", String::from_utf8_lossy(bytes)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_round_trip(frame in frame()) {
        let mut out = Vec::new();
        frame.encode(&mut out).unwrap();
        prop_assert_eq!(one(&out), frame);
    }

    #[test]
    fn commands_round_trip(id in id(), cmd in command()) {
        let mut out = Vec::new();
        cmd.encode(&id, &mut out).unwrap();
        prop_assert_eq!(cmd.encoded_len(&id).unwrap(), out.len());
        let Frame::Command(f) = one(&out) else { panic!("not a command") };
        let (back_id, back) = Command::from_frame(f).unwrap();
        prop_assert_eq!(back_id, id);
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn responses_round_trip(id in id(), resp in response()) {
        let mut out = Vec::new();
        resp.encode(&id, &mut out).unwrap();
        prop_assert_eq!(resp.encoded_len(&id).unwrap(), out.len());
        let Frame::Response(f) = one(&out) else { panic!("not a response") };
        let (back_id, back) = Response::from_frame(f).unwrap();
        prop_assert_eq!(back_id, id);
        prop_assert_eq!(back, resp);
    }

    #[test]
    fn urls_and_patterns_round_trip(u in url(), p in pattern()) {
        prop_assert_eq!(Url::parse(&u.to_string()).unwrap(), u);
        prop_assert_eq!(Pattern::parse(&p.to_string(), Scheme::Im).unwrap(), p);
    }

    #[test]
    fn plain_round_trips(z in "[^\u{0}]{0,20}", c in "[^\u{0}]{1,20}", pw in "[^\u{0}]{1,20}") {
        let creds = PlainCredentials { authzid: z, authcid: c, password: pw };
        prop_assert_eq!(PlainCredentials::decode(&creds.encode().unwrap()).unwrap(), creds);
    }
}

#[test]
fn send_encodes_into_one_reserved_buffer() {
    let msg = SendMessage::new(
        Url::parse("im:alarm@appliance.example").unwrap(),
        Url::parse("im:bob@example.org").unwrap(),
        &b"door open!\r\n"[..],
    );
    let cmd = Command::Send(msg);
    let id = Id::from_seq(7);
    let len = cmd.encoded_len(&id).unwrap();
    let mut out = Vec::with_capacity(len);
    let (ptr, cap) = (out.as_ptr(), out.capacity());
    cmd.encode(&id, &mut out).unwrap();
    // No reallocation: the single reserve was enough.
    assert_eq!((out.as_ptr(), out.capacity(), out.len()), (ptr, cap, len));
    assert_eq!(
        out,
        b">7 send\r\nSender: im:alarm@appliance.example\r\nInbox: im:bob@example.org\r\nContent-Length: 12\r\n\r\ndoor open!\r\n"
    );
}

#[test]
fn draft_examples_decode() {
    // Section 16.2 response (payload counted with its CRLFs: 191 octets).
    let body = "Your message has been sent to my one-way pager.  Hopefully\r\n\
                I will get it.  However, I have shut off my pager's alert\r\n\
                noise because I am asleep, so I won't read it until\r\n\
                tomorrow morning.\r\n";
    assert_eq!(body.len(), 191);
    let wire =
        format!("<1 ok (send)\r\nUnreliable: domain.com\r\nContent-Length: 191\r\n\r\n{body}");
    let Frame::Response(f) = one(wire.as_bytes()) else {
        panic!()
    };
    let (_, r) = Response::from_frame(f).unwrap();
    let Delivery::Delivered {
        unreliable,
        auto_reply,
    } = r.outcome.delivery()
    else {
        panic!()
    };
    assert_eq!(
        unreliable,
        Some(Origin::Domain(Domain::parse("domain.com").unwrap()))
    );
    assert_eq!(auto_reply.as_deref(), Some(body.as_bytes()));

    // Section 15.2 change-notify: "AStrength" is not "Astrength" (names
    // are case-sensitive), so it is an unknown header kept for relays.
    let pi = "date = \"Thu, 30 Mar 2000 09:59:34 -0500\"\r\ncontact = mailto:joe@example.net\r\n\
              contact = imto:joe@example.net {\r\n  status = deferred\r\n}\r\n";
    let wire = format!(
        ">A3X change-notify\r\nPresentity: joe@example.net\r\nSubscription: 1/fred@domain.com\r\n\
         Content-Length: {}\r\n\r\n{pi}",
        pi.len()
    );
    let Frame::Command(f) = one(wire.as_bytes()) else {
        panic!()
    };
    let (_, Command::ChangeNotify(c)) = Command::from_frame(f).unwrap() else {
        panic!()
    };
    assert_eq!(c.subscription.connection_id, "1");
    assert_eq!(
        c.subscription.watcher.to_string(),
        "presence:fred@domain.com"
    );
    let Frame::Response(f) = one(b"<A3X ok (change-notify)\r\nAStrength: strong\r\n\r\n") else {
        panic!()
    };
    let (_, r) = Response::from_frame(f).unwrap();
    let Outcome::Ok(ok) = r.outcome else { panic!() };
    assert_eq!(ok.meta.astrength, None);
    assert_eq!(ok.meta.extra, vec![Header::new("AStrength", "strong")]);
}
