//! Unsolicited MWI NOTIFYs from a hand-rolled peer: answers, events,
//! retransmissions, unchanged states, persistence across restarts.

use std::time::Duration;

use super::{USER_MAP, counts, start, voice};
use tocsin_tests::sip::{Notify, TcpPeer, UdpPeer, mwi_body};

const STAR97: &str = "sip:*97@pbx.example.org";

#[test]
fn a_udp_notify_is_stored_then_answered_200_with_the_request_echoed() {
    let vm = start(USER_MAP);
    let peer = UdpPeer::new(&vm.udp);
    let n = Notify::new("call-1", &mwi_body(true, STAR97, 2, 8, 1, 2));
    let a = peer.request(&n.bytes());
    assert_eq!(a.status(), 200, "{}", a.text());
    assert_eq!(a.header("Call-ID").as_deref(), Some("call-1"));
    assert_eq!(a.header("CSeq").as_deref(), Some("1 NOTIFY"));
    assert_eq!(
        a.header("From").as_deref(),
        Some("<sip:pbx@127.0.0.1>;tag=pbx-call-1")
    );
    let to = a.header("To").unwrap();
    assert!(to.starts_with("<sip:tocsin@127.0.0.1>;tag="), "{to}");
    assert_eq!(
        a.header("Via").as_deref(),
        Some("SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-call-1")
    );
    assert_eq!(a.header("Content-Length").as_deref(), Some("0"));
    // The 200 came after the commit: the event is there already.
    let events = vm.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["kind"], "voicemail.MessageWaiting");
    assert_eq!(e["user"], "alice@example.org");
    assert_eq!(e["summary"], "2 new voicemails (1 urgent)");
    assert_eq!(e["priority"], "high");
    assert_eq!(e["origin_host"], "127.0.0.1");
    assert_eq!(voice(e), counts("2", "8", "1", "2"));
    assert_eq!(e["attributes"]["account"], STAR97);
    assert_eq!(e["attributes"]["messages_waiting"], "yes");
    assert_eq!(
        e["attributes"]["coalesce_key"],
        "vm:sip:*97@pbx.example.org"
    );
    let id = e["source_event_id"].as_str().unwrap();
    assert!(
        id.starts_with("sip:*97@pbx.example.org:") && id.ends_with(":1"),
        "{id}"
    );
}

#[test]
fn unchanged_states_are_answered_without_an_event_and_changes_are_stored() {
    let vm = start(USER_MAP);
    let peer = UdpPeer::new(&vm.udp);
    let send = |call: &str, new, old| {
        let a = peer.request(&Notify::new(call, &mwi_body(true, STAR97, new, old, 0, 0)).bytes());
        assert_eq!(a.status(), 200, "{}", a.text());
    };
    send("c-1", 1, 0);
    send("c-2", 1, 0); // the PBX repeats itself: same counts
    send("c-3", 1, 0);
    send("c-4", 2, 0); // a new message
    send("c-5", 0, 2); // both listened to
    send("c-6", 0, 2);
    let events = vm.events();
    let seen: Vec<_> = events.iter().map(voice).collect();
    assert_eq!(
        seen,
        vec![
            counts("1", "0", "0", "0"),
            counts("2", "0", "0", "0"),
            counts("0", "2", "0", "0"),
        ]
    );
    assert_eq!(events[2]["summary"], "Messages waiting");
    // Every event names the same coalescing key: a newer state replaces
    // older undelivered ones for this account.
    assert!(
        events
            .iter()
            .all(|e| e["attributes"]["coalesce_key"] == "vm:sip:*97@pbx.example.org")
    );
}

#[test]
fn udp_retransmissions_get_the_same_answer_and_never_a_second_event() {
    let vm = start(USER_MAP);
    let peer = UdpPeer::new(&vm.udp);
    let n = Notify::new("retrans-1", &mwi_body(true, STAR97, 3, 0, 0, 0)).bytes();
    // Back to back: the second usually arrives while the first waits for
    // its commit (absorbed), or just after (answered from the cache).
    peer.send(&n);
    peer.send(&n);
    let first = peer.recv();
    assert_eq!(first.status(), 200);
    let mut answers = vec![first.clone()];
    while let Some(a) = peer.recv_within(Duration::from_millis(500)) {
        answers.push(a);
    }
    assert!(answers.len() <= 2, "{answers:?}");
    assert!(answers.iter().all(|a| *a == first), "identical answers");
    // A late retransmission (the 200 was lost, say) gets the same bytes.
    assert_eq!(peer.request(&n), first);
    assert_eq!(vm.events().len(), 1);
    let p = vm.d.plugin("vm");
    assert_eq!(p["events_emitted"], 1, "{p}");
}

#[test]
fn tcp_notifies_split_across_writes_and_pipelined() {
    let vm = start(USER_MAP);
    let mut peer = TcpPeer::connect(&vm.tcp);
    let n = Notify::new("tcp-1", &mwi_body(true, STAR97, 1, 1, 0, 0))
        .tcp()
        .bytes();
    let (a, b) = n.split_at(n.len() / 2);
    peer.send(a);
    std::thread::sleep(Duration::from_millis(200));
    peer.send(b);
    let ans = peer.recv();
    assert_eq!(ans.status(), 200, "{}", ans.text());
    assert_eq!(ans.header("Call-ID").as_deref(), Some("tcp-1"));
    // Two requests in one write, two answers in order.
    let mut both = Notify::new("tcp-2", &mwi_body(true, STAR97, 2, 1, 0, 0))
        .tcp()
        .bytes();
    both.extend(
        Notify::new("tcp-3", &mwi_body(true, "sip:bob@127.0.0.1", 5, 0, 0, 0))
            .tcp()
            .bytes(),
    );
    peer.send(&both);
    assert_eq!(peer.recv().header("Call-ID").as_deref(), Some("tcp-2"));
    assert_eq!(peer.recv().header("Call-ID").as_deref(), Some("tcp-3"));
    let users: Vec<_> = vm.events().iter().map(|e| e["user"].clone()).collect();
    assert_eq!(
        users,
        vec!["alice@example.org", "alice@example.org", "bob@example.org"]
    );
}

#[test]
fn a_restart_remembers_states_and_to_tags() {
    let mut vm = start(USER_MAP);
    let peer = UdpPeer::new(&vm.udp);
    let n = Notify::new("persist-1", &mwi_body(true, STAR97, 4, 0, 0, 0)).bytes();
    let before = peer.request(&n);
    assert_eq!(before.status(), 200);
    vm.d.kill9();
    vm.d.start();
    let udp = super::start_addr(&vm.d, "udp");
    let peer = UdpPeer::new(&udp);
    // The same transaction after the restart: same state (no event) and
    // the same To-tag (its secret is kept in the plugin's state).
    let after = peer.request(&n);
    assert_eq!(after.status(), 200);
    assert_eq!(after.header("To"), before.header("To"));
    // The same counts in a new transaction: still not news.
    let again = Notify::new("persist-2", &mwi_body(true, STAR97, 4, 0, 0, 0)).bytes();
    assert_eq!(peer.request(&again).status(), 200);
    assert_eq!(vm.events().len(), 1);
    // A change after the restart continues the change counter.
    let change = Notify::new("persist-3", &mwi_body(true, STAR97, 5, 0, 0, 0)).bytes();
    assert_eq!(peer.request(&change).status(), 200);
    let events = vm.events();
    assert_eq!(events.len(), 2);
    assert!(
        events[1]["source_event_id"]
            .as_str()
            .unwrap()
            .ends_with(":2")
    );
}

#[test]
fn accounts_without_a_user_are_answered_404_and_not_stored() {
    let vm = start(USER_MAP);
    let peer = UdpPeer::new(&vm.udp);
    let a = peer.request(
        &Notify::new(
            "nouser-1",
            &mwi_body(true, "sip:x@elsewhere.example", 1, 0, 0, 0),
        )
        .bytes(),
    );
    assert_eq!(a.status(), 404, "{}", a.text());
    assert!(vm.events().is_empty());
    assert!(
        vm.d.log()
            .contains("no user_map rule matches account sip:x@elsewhere.example"),
        "{}",
        vm.d.log()
    );
}
