//! The endpoint's decisions against a fake host: when answers go out,
//! which NOTIFYs emit, what retransmissions and failures do.

use std::time::{Duration, Instant};

use tocsin_sdk::{CommitResult, Handle};
use tocsin_sip::{Limits, TagSecret, parse_datagram};

use crate::config::Settings;
use crate::endpoint::Endpoint;
use crate::io::tests::FakeIo;
use crate::subscriptions::Subscriptions;

const PEER: &str = "127.0.0.1:5090";
const UDP: Handle = Handle(1);

fn settings(extra: &str) -> Settings {
    Settings::parse(&format!(
        "listen_udp = \"127.0.0.1:0\"\nuser_map = [{{ pattern = \"sip:{{user}}@pbx\", user = \"{{user}}@example.org\" }}]\n{extra}"
    ))
    .unwrap()
}

fn endpoint(extra: &str) -> Endpoint {
    let s = settings(extra);
    let subs = Subscriptions::new(&[], None, TagSecret::new([2; 16]));
    Endpoint::new(&s, TagSecret::new([1; 16]), subs)
}

fn notify(call_id: &str, cseq: u32, account: &str, counts: &str, extra: &str) -> Vec<u8> {
    let body = format!(
        "Messages-Waiting: yes\r\nMessage-Account: {account}\r\nVoice-Message: {counts}\r\n"
    );
    format!(
        "NOTIFY sip:tocsin@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-{call_id}-{cseq}\r\nFrom: <sip:pbx@127.0.0.1>;tag=f1\r\nTo: <sip:tocsin@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} NOTIFY\r\nEvent: message-summary\r\n{extra}Content-Type: application/simple-message-summary\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn stored(id: i64) -> CommitResult {
    CommitResult::Stored { event_id: id }
}

fn header(response: &[u8], name: &str) -> String {
    let m = parse_datagram(response, &Limits::default()).unwrap();
    m.header(name).unwrap_or("").to_owned()
}

#[test]
fn a_changed_state_is_answered_after_its_commit() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c1", 1, "sip:alice@pbx", "2/8 (1/0)", ""),
        PEER,
    );
    assert!(io.sent.is_empty(), "no 200 before the commit");
    assert_eq!(io.emitted.len(), 1);
    let (token, ev) = io.emitted[0].clone();
    assert_eq!(ev.user, "alice@example.org");
    assert_eq!(ev.kind, "voicemail.MessageWaiting");
    assert_eq!(ev.attributes["voice_new"], "2");
    assert_eq!(ev.attributes["coalesce_key"], "vm:sip:alice@pbx");
    assert!(ev.source_event_id.ends_with(":1"), "{}", ev.source_event_id);
    assert_eq!(ev.origin_host, "127.0.0.1");
    assert_eq!(
        io.kv
            .get(b"account:sip:alice@pbx".as_slice())
            .map(|v| v.starts_with(b"v1 ")),
        Some(true),
        "the record is written with the event"
    );
    ep.on_committed(&mut io, token, stored(1));
    assert_eq!(io.statuses(), vec![200]);
    let (to, bytes) = &io.sent[0];
    assert_eq!(to, PEER);
    assert_eq!(header(bytes, "Call-ID"), "c1");
    assert_eq!(header(bytes, "CSeq"), "1 NOTIFY");
    assert_eq!(header(bytes, "From"), "<sip:pbx@127.0.0.1>;tag=f1");
    assert!(header(bytes, "To").starts_with("<sip:tocsin@127.0.0.1>;tag="));
    assert!(header(bytes, "Via").contains("branch=z9hG4bK-c1-1"));
}

#[test]
fn retransmissions_are_absorbed_then_replayed_byte_for_byte() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    let n = notify("c1", 1, "sip:alice@pbx", "1/0", "");
    ep.on_datagram(&mut io, t, UDP, &n, PEER);
    ep.on_datagram(&mut io, t + Duration::from_millis(500), UDP, &n, PEER);
    assert_eq!(io.emitted.len(), 1, "a retransmission never emits");
    assert!(io.sent.is_empty(), "absorbed while pending");
    let token = io.emitted[0].0;
    ep.on_committed(&mut io, token, stored(1));
    assert_eq!(io.sent.len(), 1, "answered once when the commit lands");
    let first = io.sent[0].1.clone();
    ep.on_datagram(&mut io, t + Duration::from_secs(2), UDP, &n, PEER);
    assert_eq!(io.sent.len(), 2);
    assert_eq!(io.sent[1].1, first, "the cached answer, byte for byte");
    assert_eq!(io.emitted.len(), 1);
}

#[test]
fn unchanged_states_are_answered_at_once_changes_emit_again() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c1", 1, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    let token = io.emitted[0].0;
    ep.on_committed(&mut io, token, stored(1));
    // Same counts in a new transaction (the PBX re-sent them).
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c2", 1, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    assert_eq!(io.emitted.len(), 1);
    assert_eq!(io.statuses(), vec![200, 200]);
    // A count change is news.
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c3", 1, "sip:alice@pbx", "2/0", ""),
        PEER,
    );
    assert_eq!(io.emitted.len(), 2);
    assert!(io.emitted[1].1.source_event_id.ends_with(":2"));
    let token = io.emitted[1].0;
    ep.on_committed(&mut io, token, stored(2));
    // Back to the first state: news again, with a new id.
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c4", 1, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    assert_eq!(io.emitted.len(), 3);
    assert_ne!(
        io.emitted[2].1.source_event_id,
        io.emitted[0].1.source_event_id
    );
}

#[test]
fn the_same_state_in_a_new_transaction_waits_for_the_pending_commit() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c1", 1, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c1", 2, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    assert_eq!(io.emitted.len(), 1);
    assert!(io.sent.is_empty());
    let token = io.emitted[0].0;
    ep.on_committed(&mut io, token, stored(1));
    let cseqs: Vec<String> = io.sent.iter().map(|(_, b)| header(b, "CSeq")).collect();
    assert_eq!(cseqs, vec!["1 NOTIFY", "2 NOTIFY"]);
}

#[test]
fn a_failed_commit_is_answered_500_and_the_retry_is_stored() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    let n = notify("c1", 1, "sip:alice@pbx", "1/0", "");
    ep.on_datagram(&mut io, t, UDP, &n, PEER);
    let token = io.emitted[0].0;
    ep.on_committed(
        &mut io,
        token,
        CommitResult::Failed {
            message: "disk full".into(),
        },
    );
    assert_eq!(io.statuses(), vec![500]);
    assert_eq!(header(&io.sent[0].1, "Retry-After"), "5");
    // A retransmission of that transaction gets the same 500.
    ep.on_datagram(&mut io, t, UDP, &n, PEER);
    assert_eq!(io.statuses(), vec![500, 500]);
    // The sender's retry (a new transaction, same state) is stored.
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c2", 1, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    assert_eq!(io.emitted.len(), 2);
    assert!(io.emitted[1].1.source_event_id.ends_with(":2"));
}

#[test]
fn a_synchronous_refusal_is_answered_500() {
    let mut ep = endpoint("");
    let mut io = FakeIo {
        emit_fails: true,
        ..FakeIo::default()
    };
    ep.on_datagram(
        &mut io,
        Instant::now(),
        UDP,
        &notify("c1", 1, "sip:alice@pbx", "1/0", ""),
        PEER,
    );
    assert_eq!(io.statuses(), vec![500]);
    assert!(io.kv.is_empty(), "no record for a state never emitted");
}

#[test]
fn a_restart_remembers_the_committed_state() {
    let mut io = FakeIo::default();
    let t = Instant::now();
    let mut ep = endpoint("");
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c1", 1, "sip:alice@pbx", "3/1", ""),
        PEER,
    );
    let token = io.emitted[0].0;
    ep.on_committed(&mut io, token, stored(1));
    let mut again = endpoint("");
    again.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c9", 1, "sip:alice@pbx", "3/1", ""),
        PEER,
    );
    assert_eq!(io.emitted.len(), 1, "unchanged after the restart");
    assert_eq!(io.statuses(), vec![200, 200]);
    again.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c9", 2, "sip:alice@pbx", "4/1", ""),
        PEER,
    );
    assert!(
        io.emitted[1].1.source_event_id.ends_with(":2"),
        "the counter continues"
    );
}

#[test]
fn account_from_to_uses_the_destination_uri() {
    let mut ep = endpoint("account_from = \"to\"");
    let mut io = FakeIo::default();
    let n = String::from_utf8(notify("c1", 1, "sip:*97@pbx", "1/0", ""))
        .unwrap()
        .replace("To: <sip:tocsin@127.0.0.1>", "To: <sip:bob@pbx>");
    ep.on_datagram(&mut io, Instant::now(), UDP, n.as_bytes(), PEER);
    let ev = &io.emitted[0].1;
    assert_eq!(ev.user, "bob@example.org");
    assert_eq!(ev.attributes["account"], "sip:bob@pbx");
}

#[test]
fn unmapped_accounts_get_404() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    ep.on_datagram(
        &mut io,
        Instant::now(),
        UDP,
        &notify("c1", 1, "sip:alice@elsewhere", "1/0", ""),
        PEER,
    );
    assert_eq!(io.statuses(), vec![404]);
    assert!(io.emitted.is_empty());
}

#[test]
fn trust_networks_and_secret() {
    let mut ep = endpoint(
        "allowed_networks = [\"127.0.0.2/32\"]\nshared_secret_header = \"X-Tocsin-Secret\"\nshared_secret = \"abcdefgh\"",
    );
    let mut io = FakeIo::default();
    let t = Instant::now();
    let good = "X-Tocsin-Secret: abcdefgh\r\n";
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c1", 1, "sip:a@pbx", "1/0", good),
        PEER,
    );
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c2", 1, "sip:a@pbx", "1/0", ""),
        "127.0.0.2:5090",
    );
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c3", 1, "sip:a@pbx", "1/0", "X-Tocsin-Secret: nope\r\n"),
        "127.0.0.2:5090",
    );
    assert_eq!(io.statuses(), vec![403, 403, 403]);
    assert!(io.emitted.is_empty());
    // Even malformed input from the wrong network gets nothing but 403.
    let mut broken = notify("c4", 1, "sip:a@pbx", "1/0", good);
    broken.truncate(broken.len() - 5);
    ep.on_datagram(&mut io, t, UDP, &broken, PEER);
    assert_eq!(io.statuses().last(), Some(&403));
    ep.on_datagram(
        &mut io,
        t,
        UDP,
        &notify("c5", 1, "sip:a@pbx", "1/0", good),
        "127.0.0.2:5090",
    );
    assert_eq!(io.emitted.len(), 1);
}

#[test]
fn errors_get_the_codec_status() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    let wrong_type = String::from_utf8(notify("c1", 1, "sip:a@pbx", "1/0", ""))
        .unwrap()
        .replace("application/simple-message-summary", "text/plain");
    ep.on_datagram(&mut io, t, UDP, wrong_type.as_bytes(), PEER);
    let wrong_event = String::from_utf8(notify("c2", 1, "sip:a@pbx", "1/0", ""))
        .unwrap()
        .replace("Event: message-summary", "Event: presence");
    ep.on_datagram(&mut io, t, UDP, wrong_event.as_bytes(), PEER);
    let mut truncated = notify("c3", 1, "sip:a@pbx", "1/0", "");
    truncated.truncate(truncated.len() - 3);
    ep.on_datagram(&mut io, t, UDP, &truncated, PEER);
    ep.on_datagram(&mut io, t, UDP, b"\r\n\r\n", PEER);
    ep.on_datagram(&mut io, t, UDP, b"\x00\x01garbage", PEER);
    assert_eq!(io.statuses(), vec![415, 489, 400]);
    assert!(io.emitted.is_empty());
}

#[test]
fn tcp_frames_split_anywhere_and_a_framing_error_closes() {
    let mut ep = endpoint("");
    let mut io = FakeIo::default();
    let t = Instant::now();
    let conn = Handle(7);
    ep.on_accept(&mut io, conn, PEER);
    let n = notify("c1", 1, "sip:alice@pbx", "1/0", "");
    let (a, b) = n.split_at(40);
    ep.on_data(&mut io, t, conn, a);
    assert!(io.emitted.is_empty());
    ep.on_data(&mut io, t, conn, b);
    assert_eq!(io.emitted.len(), 1);
    let token = io.emitted[0].0;
    ep.on_committed(&mut io, token, stored(1));
    assert_eq!(io.sent[0].0, "conn7");
    assert_eq!(io.statuses(), vec![200]);
    // No Content-Length on a stream: answered 400, then closed.
    ep.on_data(
        &mut io,
        t,
        conn,
        b"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKo\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n",
    );
    assert_eq!(io.statuses(), vec![200, 400]);
    assert_eq!(io.closed, vec![conn]);
}
