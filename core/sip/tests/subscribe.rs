//! The SUBSCRIBE client state machine, driven with synthetic responses,
//! NOTIFYs and time.

use std::time::{Duration, Instant};

use tocsin_sip::*;

/// Predictable ids: call-1, z9hG4bK-b1, tag-1, ...
#[derive(Default)]
struct Ids(u32);

impl IdGenerator for Ids {
    fn call_id(&mut self) -> String {
        self.0 += 1;
        format!("call-{}", self.0)
    }
    fn branch(&mut self) -> String {
        self.0 += 1;
        format!("b{}", self.0)
    }
    fn tag(&mut self) -> String {
        self.0 += 1;
        format!("tag-{}", self.0)
    }
}

fn config(transport: Transport) -> SubscriptionConfig {
    let mut c = SubscriptionConfig::new(
        "sip:*97@pbx.example.org",
        "sip:tocsin@appliance.example",
        "sip:tocsin@192.0.2.1:5060",
        "192.0.2.1:5060",
        transport,
    );
    c.user_agent = Some("tocsin".into());
    c
}

/// What we sent: (branch, call-id, cseq, from-tag, to-tag, expires, uri).
struct Sent {
    branch: String,
    call_id: String,
    cseq: u32,
    from_tag: String,
    to_tag: Option<String>,
    expires: u32,
    uri: String,
}

fn sent(bytes: &[u8]) -> Sent {
    let msg = parse_datagram(bytes, &Limits::default()).expect("our request parses");
    let req = Request::new(&msg).expect("our request is valid");
    assert_eq!(req.method(), Method::Subscribe);
    assert!(
        req.event()
            .ok()
            .flatten()
            .is_some_and(|e| e.is_message_summary())
    );
    assert_eq!(msg.header("Accept"), Some(SIMPLE_MESSAGE_SUMMARY));
    assert_eq!(msg.header("Content-Length"), Some("0"));
    assert_eq!(req.top_via().rport(), headers::Rport::Requested);
    assert!(req.top_via().has_rfc3261_branch());
    assert_eq!(
        req.contact().ok().flatten().map(|c| c.uri()),
        Some("sip:tocsin@192.0.2.1:5060")
    );
    Sent {
        branch: req.top_via().branch().unwrap_or("").to_owned(),
        call_id: req.call_id().to_owned(),
        cseq: req.cseq().number,
        from_tag: req.from_tag().unwrap_or("").to_owned(),
        to_tag: req.to_tag().map(str::to_owned),
        expires: req.expires().ok().flatten().expect("Expires"),
        uri: req.request_uri().to_owned(),
    }
}

fn response(s: &Sent, code: u16, extra: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 {code} Whatever\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch={};rport=5060\r\n\
         From: <sip:tocsin@appliance.example>;tag={}\r\nTo: <sip:*97@pbx.example.org>;tag=pbx-tag\r\n\
         Call-ID: {}\r\nCSeq: {} SUBSCRIBE\r\n{extra}Content-Length: 0\r\n\r\n",
        s.branch, s.from_tag, s.call_id, s.cseq
    )
    .into_bytes()
}

fn notify(call_id: &str, our_tag: &str, their_tag: &str, cseq: u32, state: &str) -> Vec<u8> {
    let body = "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n";
    format!(
        "NOTIFY sip:tocsin@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKn{cseq}\r\n\
         From: <sip:*97@pbx.example.org>;tag={their_tag}\r\nTo: <sip:tocsin@appliance.example>;tag={our_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} NOTIFY\r\nContact: <sip:vm@203.0.113.5>\r\nEvent: message-summary\r\n\
         Subscription-State: {state}\r\nContent-Type: application/simple-message-summary\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn feed_response(sub: &mut Subscription, bytes: &[u8], now: Instant, ids: &mut Ids) -> bool {
    let msg = parse_datagram(bytes, &Limits::default()).expect("parses");
    sub.on_response(&msg, now, ids)
}

fn feed_notify(sub: &mut Subscription, bytes: &[u8], now: Instant) -> NotifyMatch {
    let limits = Limits::default();
    let msg = parse_datagram(bytes, &limits).expect("parses");
    match classify(&msg, &limits.summary) {
        Classified::Notify(n) => {
            assert!(n.is_in_dialog());
            sub.on_notify(&n.request, now)
        }
        other => panic!("not a NOTIFY: {other:?}"),
    }
}

fn events(sub: &mut Subscription) -> Vec<SubscriptionEvent> {
    std::iter::from_fn(|| sub.poll_event()).collect()
}

#[test]
fn udp_retransmits_then_times_out_and_retries_with_new_call_id() {
    let t0 = Instant::now();
    let mut ids = Ids::default();
    let mut sub = Subscription::new(config(Transport::Udp)).expect("config");
    assert_eq!(sub.next_timeout(), None);
    sub.start(t0, &mut ids);
    let first = sub.poll_transmit().expect("SUBSCRIBE");
    let s = sent(&first);
    assert_eq!((s.cseq, s.expires, s.to_tag.as_deref()), (1, 3600, None));
    assert_eq!(s.uri, "sip:*97@pbx.example.org");
    // Timer E: 0.5, 1.5, 3.5, 7.5, 11.5, ... until Timer F at 32 s.
    let mut at = Vec::new();
    while let Some(t) = sub.next_timeout() {
        if t >= t0 + Duration::from_secs(32) {
            break;
        }
        sub.on_timeout(t, &mut ids);
        assert_eq!(sub.poll_transmit().as_deref(), Some(first.as_slice()));
        at.push((t - t0).as_millis());
    }
    assert_eq!(&at[..5], &[500, 1500, 3500, 7500, 11500]);
    let f = sub.next_timeout().expect("timer F");
    assert_eq!(f, t0 + Duration::from_secs(32));
    sub.on_timeout(f, &mut ids);
    assert_eq!(sub.phase(), Phase::WaitingRetry);
    let retry = f + Duration::from_secs(60);
    assert_eq!(
        events(&mut sub),
        [SubscriptionEvent::Terminated {
            reason: TerminationReason::Timeout,
            retry_at: Some(retry)
        }]
    );
    assert_eq!(sub.next_timeout(), Some(retry));
    sub.on_timeout(retry, &mut ids);
    let again = sent(&sub.poll_transmit().expect("new SUBSCRIBE"));
    assert_ne!(again.call_id, s.call_id);
    assert_eq!(again.cseq, 1);
}

#[test]
fn accepted_refreshed_notified_and_unsubscribed_over_tcp() {
    let t0 = Instant::now();
    let mut ids = Ids::default();
    let mut sub = Subscription::new(config(Transport::Tcp)).expect("config");
    sub.start(t0, &mut ids);
    let s = sent(&sub.poll_transmit().expect("SUBSCRIBE"));
    // Reliable transport: only Timer F.
    assert_eq!(sub.next_timeout(), Some(t0 + Duration::from_secs(32)));

    // A provisional answer, a stray response, then the 200.
    assert!(feed_response(
        &mut sub,
        &response(&s, 100, ""),
        t0,
        &mut ids
    ));
    let mut stray = Sent {
        branch: "z9hG4bKother".into(),
        ..sent(&response_request(&s))
    };
    stray.cseq = s.cseq;
    assert!(!feed_response(
        &mut sub,
        &response(&stray, 200, ""),
        t0,
        &mut ids
    ));
    let t1 = t0 + Duration::from_millis(80);
    assert!(feed_response(
        &mut sub,
        &response(
            &s,
            202,
            "Expires: 600\r\nContact: <sip:mwi@203.0.113.5:5060>\r\n"
        ),
        t1,
        &mut ids
    ));
    assert_eq!(sub.phase(), Phase::Active);
    assert_eq!(
        events(&mut sub),
        [SubscriptionEvent::Accepted { expires: 600 }]
    );
    assert_eq!(sub.next_timeout(), Some(t1 + Duration::from_secs(540)));
    assert_eq!(sub.expires_at(), Some(t1 + Duration::from_secs(600)));

    // NOTIFYs: new, retransmitted, out of order, foreign.
    let n2 = notify(&s.call_id, &s.from_tag, "pbx-tag", 2, "active;expires=599");
    assert_eq!(feed_notify(&mut sub, &n2, t1), NotifyMatch::Accepted);
    assert_eq!(feed_notify(&mut sub, &n2, t1), NotifyMatch::Retransmission);
    let n1 = notify(&s.call_id, &s.from_tag, "pbx-tag", 1, "active");
    assert_eq!(feed_notify(&mut sub, &n1, t1), NotifyMatch::OutOfOrder);
    assert_eq!(
        NotifyMatch::OutOfOrder.status(),
        StatusCode::SERVER_INTERNAL_ERROR
    );
    let foreign = notify("other-call", &s.from_tag, "pbx-tag", 9, "active");
    assert_eq!(feed_notify(&mut sub, &foreign, t1), NotifyMatch::NoMatch);
    let wrong_tag = notify(&s.call_id, &s.from_tag, "forked-tag", 9, "active");
    assert_eq!(feed_notify(&mut sub, &wrong_tag, t1), NotifyMatch::NoMatch);
    assert_eq!(
        NotifyMatch::NoMatch.status(),
        StatusCode::CALL_DOES_NOT_EXIST
    );

    // Refresh: same dialog, next CSeq, To-tag, remote target as R-URI.
    let t2 = sub.next_timeout().expect("refresh");
    sub.on_timeout(t2, &mut ids);
    let r = sent(&sub.poll_transmit().expect("refresh SUBSCRIBE"));
    assert_eq!((r.call_id.as_str(), r.cseq), (s.call_id.as_str(), 2));
    assert_eq!(r.to_tag.as_deref(), Some("pbx-tag"));
    assert_eq!(r.uri, "sip:vm@203.0.113.5");
    assert_eq!(r.from_tag, s.from_tag);
    assert!(feed_response(
        &mut sub,
        &response(&r, 200, "Expires: 3600\r\n"),
        t2,
        &mut ids
    ));
    assert_eq!(
        events(&mut sub),
        [SubscriptionEvent::Accepted { expires: 3600 }]
    );
    assert_eq!(sub.next_timeout(), Some(t2 + Duration::from_secs(3240)));

    // Unsubscribe: Expires 0, then the final NOTIFY is still answered 200.
    sub.unsubscribe(t2, &mut ids);
    let u = sent(&sub.poll_transmit().expect("unSUBSCRIBE"));
    assert_eq!((u.expires, u.cseq), (0, 3));
    assert_eq!(sub.phase(), Phase::Unsubscribing);
    assert!(feed_response(
        &mut sub,
        &response(&u, 200, "Expires: 0\r\n"),
        t2,
        &mut ids
    ));
    assert_eq!(sub.phase(), Phase::Stopped);
    assert_eq!(
        events(&mut sub),
        [SubscriptionEvent::Terminated {
            reason: TerminationReason::Unsubscribed,
            retry_at: None
        }]
    );
    let last = notify(
        &s.call_id,
        &s.from_tag,
        "pbx-tag",
        3,
        "terminated;reason=timeout",
    );
    assert_eq!(feed_notify(&mut sub, &last, t2), NotifyMatch::Accepted);
    assert!(events(&mut sub).is_empty());
    assert_eq!(sub.next_timeout(), None);
}

/// Re-parses our own request bytes for a response template.
fn response_request(s: &Sent) -> Vec<u8> {
    format!(
        "SUBSCRIBE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch={};rport\r\nFrom: <sip:a@b>;tag={}\r\nTo: <sip:c@d>\r\n\
         Call-ID: {}\r\nCSeq: {} SUBSCRIBE\r\nContact: <sip:tocsin@192.0.2.1:5060>\r\nEvent: message-summary\r\n\
         Accept: application/simple-message-summary\r\nExpires: 1\r\nContent-Length: 0\r\n\r\n",
        s.branch, s.from_tag, s.call_id, s.cseq
    )
    .into_bytes()
}

#[test]
fn notify_before_200_and_terminated_reasons() {
    let t0 = Instant::now();
    let mut ids = Ids::default();
    let mut sub = Subscription::new(config(Transport::Udp)).expect("config");
    sub.start(t0, &mut ids);
    let s = sent(&sub.poll_transmit().expect("SUBSCRIBE"));
    // The NOTIFY overtakes the 2xx: accepted, its From-tag adopted.
    let n = notify(&s.call_id, &s.from_tag, "pbx-tag", 1, "active;expires=3600");
    assert_eq!(feed_notify(&mut sub, &n, t0), NotifyMatch::Accepted);
    assert!(feed_response(
        &mut sub,
        &response(&s, 200, "Expires: 3600\r\n"),
        t0,
        &mut ids
    ));
    events(&mut sub);
    // deactivated: subscribe again at once, with a new Call-ID.
    let n = notify(
        &s.call_id,
        &s.from_tag,
        "pbx-tag",
        2,
        "terminated;reason=deactivated",
    );
    assert_eq!(feed_notify(&mut sub, &n, t0), NotifyMatch::Accepted);
    assert_eq!(
        events(&mut sub),
        [SubscriptionEvent::Terminated {
            reason: TerminationReason::Notified(Some("deactivated".into())),
            retry_at: Some(t0)
        }]
    );
    // A retransmission of that NOTIFY still matches.
    assert_eq!(feed_notify(&mut sub, &n, t0), NotifyMatch::Retransmission);
    assert_eq!(sub.next_timeout(), Some(t0));
    sub.on_timeout(t0, &mut ids);
    let s2 = sent(&sub.poll_transmit().expect("new SUBSCRIBE"));
    assert_ne!(s2.call_id, s.call_id);
    // Old dialog's NOTIFYs are now foreign.
    let old = notify(&s.call_id, &s.from_tag, "pbx-tag", 3, "active");
    assert_eq!(feed_notify(&mut sub, &old, t0), NotifyMatch::NoMatch);
    // noresource: give up for good.
    assert!(feed_response(
        &mut sub,
        &response(&s2, 200, "Expires: 3600\r\n"),
        t0,
        &mut ids
    ));
    let n = notify(
        &s2.call_id,
        &s2.from_tag,
        "pbx-tag",
        1,
        "terminated;reason=noresource",
    );
    assert_eq!(feed_notify(&mut sub, &n, t0), NotifyMatch::Accepted);
    assert_eq!(sub.phase(), Phase::Stopped);
    assert_eq!(sub.next_timeout(), None);
    // probation with retry-after.
    sub.start(t0, &mut ids);
    let s3 = sent(&sub.poll_transmit().expect("SUBSCRIBE"));
    let n = notify(
        &s3.call_id,
        &s3.from_tag,
        "t3",
        1,
        "terminated;reason=probation;retry-after=120",
    );
    assert_eq!(feed_notify(&mut sub, &n, t0), NotifyMatch::Accepted);
    assert_eq!(sub.next_timeout(), Some(t0 + Duration::from_secs(120)));
}

#[test]
fn error_responses() {
    let t0 = Instant::now();
    let mut ids = Ids::default();
    let mut sub = Subscription::new(config(Transport::Tcp)).expect("config");
    sub.start(t0, &mut ids);
    let s = sent(&sub.poll_transmit().expect("SUBSCRIBE"));
    // 423: ask again with Min-Expires.
    assert!(feed_response(
        &mut sub,
        &response(&s, 423, "Min-Expires: 7200\r\n"),
        t0,
        &mut ids
    ));
    let s2 = sent(&sub.poll_transmit().expect("retried SUBSCRIBE"));
    assert_eq!(
        (s2.expires, s2.cseq, s2.call_id.as_str()),
        (7200, 2, s.call_id.as_str())
    );
    // 489: wait retry_interval, or Retry-After when longer.
    assert!(feed_response(
        &mut sub,
        &response(&s2, 489, "Retry-After: 300 (maintenance)\r\n"),
        t0,
        &mut ids
    ));
    assert_eq!(
        events(&mut sub),
        [SubscriptionEvent::Terminated {
            reason: TerminationReason::Rejected(StatusCode::BAD_EVENT),
            retry_at: Some(t0 + Duration::from_secs(300))
        }]
    );
    // 481 to a refresh: new subscription immediately.
    sub.on_timeout(t0 + Duration::from_secs(300), &mut ids);
    let s3 = sent(&sub.poll_transmit().expect("SUBSCRIBE"));
    let t1 = t0 + Duration::from_secs(300);
    assert!(feed_response(
        &mut sub,
        &response(&s3, 200, "Expires: 120\r\n"),
        t1,
        &mut ids
    ));
    let t2 = sub.next_timeout().expect("refresh");
    assert_eq!(t2, t1 + Duration::from_secs(88));
    sub.on_timeout(t2, &mut ids);
    let r = sent(&sub.poll_transmit().expect("refresh"));
    assert!(feed_response(
        &mut sub,
        &response(&r, 481, ""),
        t2,
        &mut ids
    ));
    let fresh = sent(&sub.poll_transmit().expect("fresh SUBSCRIBE"));
    assert_ne!(fresh.call_id, s3.call_id);
    assert_eq!(sub.phase(), Phase::Subscribing);
}

#[test]
fn config_is_validated() {
    let mut c = config(Transport::Udp);
    c.contact_uri = "sip:evil\r\nX: 1".into();
    assert!(Subscription::new(c).is_err());
    let mut c = config(Transport::Udp);
    c.expires = 0;
    assert!(Subscription::new(c).is_err());
}

#[test]
fn hash_ids_are_unique_and_reproducible() {
    let mut a = HashIds::new(TagSecret::new([3; 16]), "appliance.example");
    let mut b = HashIds::new(TagSecret::new([3; 16]), "appliance.example");
    let x: Vec<String> = (0..50)
        .flat_map(|_| [a.call_id(), a.branch(), a.tag()])
        .collect();
    let y: Vec<String> = (0..50)
        .flat_map(|_| [b.call_id(), b.branch(), b.tag()])
        .collect();
    assert_eq!(x, y);
    let mut sorted = x.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), x.len());
    assert!(x[0].ends_with("@appliance.example") && x[1].starts_with(MAGIC_COOKIE));
}
