//! SUBSCRIBE mode: tocsin subscribes to a voicemail server (played here by
//! a UDP socket in the test), takes its in-dialog NOTIFYs, refreshes before
//! expiry and unsubscribes when it stops.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::{USER_MAP, start};
use tocsin_sip::{Limits, SipMessage, parse_datagram};

/// The notifier: one UDP socket for requests and answers.
struct Server {
    sock: UdpSocket,
}

impl Server {
    fn new() -> Server {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        Server { sock }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// The next datagram that is a request (`true`) or a response.
    fn next(&self, want_request: bool, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.sock.set_read_timeout(Some(left)).unwrap();
            let (n, from) = self.sock.recv_from(&mut buf).ok()?;
            let bytes = buf[..n].to_vec();
            let m = parse_datagram(&bytes, &Limits::default())
                .unwrap_or_else(|e| panic!("tocsin sent garbage ({e}): {bytes:?}"));
            if m.is_request() == want_request {
                return Some((bytes, from));
            }
        }
    }

    /// The next SUBSCRIBE, skipping retransmissions of `previous` CSeq.
    fn subscribe(&self, min_cseq: u32, wait: Duration) -> (Vec<u8>, SocketAddr) {
        loop {
            let (bytes, from) = self
                .next(true, wait)
                .expect("a SUBSCRIBE from tocsin in time");
            let m = msg(&bytes);
            assert!(bytes.starts_with(b"SUBSCRIBE "), "{}", text(&bytes));
            if m.cseq().ok().flatten().map_or(0, |c| c.number) >= min_cseq {
                return (bytes, from);
            }
        }
    }

    fn send(&self, bytes: &[u8], to: SocketAddr) {
        self.sock.send_to(bytes, to).unwrap();
    }
}

fn msg(bytes: &[u8]) -> SipMessage<'_> {
    parse_datagram(bytes, &Limits::default()).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn h(bytes: &[u8], name: &str) -> String {
    msg(bytes).header(name).unwrap_or("").to_owned()
}

/// The server's 200 to a SUBSCRIBE, with its To-tag `srv`.
fn ok(sub: &[u8], expires: u32) -> Vec<u8> {
    let to = h(sub, "To");
    let to = if to.contains(";tag=") {
        to
    } else {
        format!("{to};tag=srv")
    };
    format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nExpires: {expires}\r\nContact: <sip:vm@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        h(sub, "Via"),
        h(sub, "From"),
        h(sub, "Call-ID"),
        h(sub, "CSeq"),
    )
    .into_bytes()
}

/// An in-dialog NOTIFY from the server. `to` is the SUBSCRIBE's From (our
/// tag); the body has no Message-Account, so the subscribed URI is the
/// account.
fn notify(sub: &[u8], to: &str, cseq: u32, new: u32) -> Vec<u8> {
    let body = format!("Messages-Waiting: yes\r\nVoice-Message: {new}/0 (0/0)\r\n");
    format!(
        "NOTIFY sip:tocsin@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKsrv{cseq}-{new}\r\nFrom: <sip:*97@127.0.0.1>;tag=srv\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {cseq} NOTIFY\r\nEvent: message-summary\r\nSubscription-State: active;expires=2\r\nContent-Type: application/simple-message-summary\r\nContent-Length: {}\r\n\r\n{body}",
        h(sub, "Call-ID"),
        body.len()
    )
    .into_bytes()
}

fn status(bytes: &[u8]) -> u16 {
    msg(bytes).status().map_or(0, |s| s.as_u16())
}

#[test]
fn subscribes_takes_in_dialog_notifies_refreshes_and_unsubscribes() {
    let server = Server::new();
    let mut vm = start(&format!(
        "{USER_MAP}[[config.subscribe]]\nserver = \"{}\"\nuri = \"sip:*97@127.0.0.1\"\nexpires = 2\nretry_interval_secs = 1\n",
        server.addr()
    ));
    let (sub, from) = server.subscribe(1, Duration::from_secs(10));
    assert_eq!(
        from.to_string(),
        vm.udp,
        "sent from the plugin's UDP socket"
    );
    assert!(sub.starts_with(b"SUBSCRIBE sip:*97@127.0.0.1 SIP/2.0\r\n"));
    assert_eq!(h(&sub, "Event"), "message-summary");
    assert_eq!(h(&sub, "Accept"), "application/simple-message-summary");
    assert_eq!(h(&sub, "Expires"), "2");
    assert_eq!(h(&sub, "Contact"), format!("<sip:tocsin@{}>", vm.udp));
    server.send(&ok(&sub, 2), from);

    // The state arrives in the dialog and is stored; 200 after the commit.
    let our_from = h(&sub, "From");
    server.send(&notify(&sub, &our_from, 1, 3), from);
    let (ans, _) = server.next(false, Duration::from_secs(10)).expect("answer");
    assert_eq!(status(&ans), 200, "{}", text(&ans));
    let events = vm.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["attributes"]["account"], "sip:*97@127.0.0.1");
    assert_eq!(events[0]["user"], "*97@example.org");
    assert_eq!(events[0]["attributes"]["voice_new"], "3");

    // A dialog we never set up: 481. An old CSeq: 500.
    let stranger = notify(&sub, "<sip:tocsin@127.0.0.1>;tag=not-ours", 5, 9);
    server.send(&stranger, from);
    let (ans, _) = server.next(false, Duration::from_secs(10)).expect("answer");
    assert_eq!(status(&ans), 481, "{}", text(&ans));
    server.send(&notify(&sub, &our_from, 2, 4), from);
    let (ans, _) = server.next(false, Duration::from_secs(10)).expect("answer");
    assert_eq!(status(&ans), 200);
    server.send(&notify(&sub, &our_from, 1, 5), from);
    let (ans, _) = server.next(false, Duration::from_secs(10)).expect("answer");
    assert_eq!(status(&ans), 500, "out of order: {}", text(&ans));
    assert_eq!(vm.events().len(), 2);

    // Refresh before the 2 s expire: same dialog, next CSeq, our To-tag.
    let t = Instant::now();
    let (refresh, _) = server.subscribe(2, Duration::from_secs(5));
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refreshed before expiry"
    );
    assert_eq!(h(&refresh, "Call-ID"), h(&sub, "Call-ID"));
    assert_eq!(h(&refresh, "CSeq"), "2 SUBSCRIBE");
    assert!(
        h(&refresh, "To").ends_with(";tag=srv"),
        "{}",
        text(&refresh)
    );
    // In-dialog requests target the Contact the server gave.
    assert!(refresh.starts_with(b"SUBSCRIBE sip:vm@127.0.0.1 SIP/2.0\r\n"));
    server.send(&ok(&refresh, 2), from);

    // Stopping tocsin ends the subscription.
    assert_eq!(vm.d.stop().code(), Some(0));
    let (bye, _) = server.subscribe(3, Duration::from_secs(10));
    assert_eq!(h(&bye, "Expires"), "0", "{}", text(&bye));
    assert_eq!(h(&bye, "Call-ID"), h(&sub, "Call-ID"));
}

#[test]
fn a_refused_subscription_is_retried() {
    let server = Server::new();
    let _vm = start(&format!(
        "{USER_MAP}[[config.subscribe]]\nserver = \"{}\"\nuri = \"sip:*97@127.0.0.1\"\nretry_interval_secs = 1\n",
        server.addr()
    ));
    let (sub, from) = server.subscribe(1, Duration::from_secs(10));
    assert_eq!(h(&sub, "Expires"), "3600", "the RFC 3842 default");
    let refusal = String::from_utf8(ok(&sub, 0))
        .unwrap()
        .replace("SIP/2.0 200 OK", "SIP/2.0 403 Forbidden");
    server.send(refusal.as_bytes(), from);
    let t = Instant::now();
    let (again, _) = server.subscribe(1, Duration::from_secs(10));
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "waited the retry interval"
    );
    assert_ne!(h(&again, "Call-ID"), h(&sub, "Call-ID"), "a new dialog");
}
