//! Source networks and the shared secret: everything not allowed gets 403
//! and stores nothing.

use super::{USER_MAP, start};
use tocsin_tests::sip::{Notify, TcpPeer, UdpPeer, mwi_body};

const ACCOUNT: &str = "sip:carol@127.0.0.1";

#[test]
fn sources_outside_allowed_networks_get_403_on_udp_and_tcp() {
    let vm = start(&format!(
        "{USER_MAP}allowed_networks = [\"127.0.0.2/32\"]\n"
    ));
    let n = Notify::new("net-1", &mwi_body(true, ACCOUNT, 1, 0, 0, 0));
    // 127.0.0.1 is not in 127.0.0.2/32.
    let outsider = UdpPeer::bind("127.0.0.1:0", &vm.udp);
    let a = outsider.request(&n.bytes());
    assert_eq!(a.status(), 403, "{}", a.text());
    assert_eq!(a.header("Call-ID").as_deref(), Some("net-1"));
    // Even a malformed request gets 403, not a hint about what is wrong.
    let mut broken = n.bytes();
    broken.truncate(broken.len() - 10);
    assert_eq!(outsider.request(&broken).status(), 403);
    let mut tcp = TcpPeer::connect(&vm.tcp);
    assert_eq!(tcp.request(&n.clone().tcp().bytes()).status(), 403);
    assert!(vm.events().is_empty());
    // The allowed address is served.
    let insider = UdpPeer::bind("127.0.0.2:0", &vm.udp);
    let a = insider.request(&Notify::new("net-2", &mwi_body(true, ACCOUNT, 1, 0, 0, 0)).bytes());
    assert_eq!(a.status(), 200, "{}", a.text());
    assert_eq!(vm.events().len(), 1);
}

#[test]
fn a_configured_shared_secret_is_required() {
    let vm = start(&format!(
        "{USER_MAP}shared_secret_header = \"X-Tocsin-Secret\"\nshared_secret = \"open sesame 42\"\n"
    ));
    let peer = UdpPeer::new(&vm.udp);
    let body = mwi_body(true, ACCOUNT, 2, 0, 0, 0);
    let without = Notify::new("sec-1", &body);
    assert_eq!(peer.request(&without.bytes()).status(), 403);
    let wrong = Notify::new("sec-2", &body).header("X-Tocsin-Secret: open sesame 43");
    assert_eq!(peer.request(&wrong.bytes()).status(), 403);
    let twice = Notify::new("sec-3", &body)
        .header("X-Tocsin-Secret: open sesame 42")
        .header("X-Tocsin-Secret: open sesame 42");
    assert_eq!(peer.request(&twice.bytes()).status(), 403);
    // OPTIONS without the secret is refused too.
    let options = b"OPTIONS sip:tocsin@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKopt\r\nFrom: <sip:pbx@127.0.0.1>;tag=o\r\nTo: <sip:tocsin@127.0.0.1>\r\nCall-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(peer.request(options).status(), 403);
    assert!(vm.events().is_empty());
    let right = Notify::new("sec-4", &body).header("x-tocsin-secret: open sesame 42");
    let a = peer.request(&right.bytes());
    assert_eq!(a.status(), 200, "{}", a.text());
    let events = vm.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["user"], "carol@example.org");
    assert!(
        vm.d.log()
            .contains("shared secret missing or wrong; answered 403")
    );
}
