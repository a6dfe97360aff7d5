//! Random drives of the subscription state machine: it never panics, never
//! asks to be woken in the past (no busy loop) and never stalls while a
//! subscription is supposed to be alive.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use tocsin_sip::*;

#[derive(Debug, Clone)]
enum Action {
    /// Let time pass, firing due timers.
    Wait(u32),
    /// Answer the last request sent.
    Answer {
        code: u16,
        expires: Option<u32>,
        min_expires: Option<u32>,
    },
    /// An in-dialog NOTIFY; cseq_step may go backwards.
    Notify {
        state: &'static str,
        cseq_step: i8,
        foreign: bool,
    },
    Unsubscribe,
    Restart,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => (0u32..5_000_000).prop_map(Action::Wait),
        2 => (0u32..60_000).prop_map(Action::Wait),
        3 => (
            prop::sample::select(vec![100u16, 180, 200, 202, 401, 423, 481, 489, 500, 503]),
            prop::option::of(prop_oneof![Just(0u32), 1u32..120, 1u32..100_000, Just(u32::MAX)]),
            prop::option::of(0u32..10_000),
        )
            .prop_map(|(code, expires, min_expires)| Action::Answer { code, expires, min_expires }),
        2 => (
            prop::sample::select(vec![
                "active",
                "active;expires=30",
                "pending;expires=4294967295",
                "terminated",
                "terminated;reason=deactivated",
                "terminated;reason=timeout",
                "terminated;reason=noresource",
                "terminated;reason=probation;retry-after=5",
                "terminated;reason=giveup;retry-after=4294967295",
            ]),
            -2i8..3,
            any::<bool>(),
        )
            .prop_map(|(state, cseq_step, foreign)| Action::Notify { state, cseq_step, foreign }),
        1 => Just(Action::Unsubscribe),
        1 => Just(Action::Restart),
    ]
}

#[derive(Default)]
struct Ids(u64);

impl IdGenerator for Ids {
    fn call_id(&mut self) -> String {
        self.0 += 1;
        format!("c{}", self.0)
    }
    fn branch(&mut self) -> String {
        self.0 += 1;
        format!("z9hG4bK{}", self.0)
    }
    fn tag(&mut self) -> String {
        self.0 += 1;
        format!("t{}", self.0)
    }
}

fn answer(request: &[u8], code: u16, expires: Option<u32>, min_expires: Option<u32>) -> Vec<u8> {
    let limits = Limits::default();
    let msg = parse_datagram(request, &limits).expect("our request parses");
    let get = |k| msg.get(k).unwrap_or("").to_owned();
    let mut extra = String::new();
    if let Some(e) = expires {
        extra.push_str(&format!("Expires: {e}\r\n"));
    }
    if let Some(m) = min_expires {
        extra.push_str(&format!("Min-Expires: {m}\r\n"));
    }
    let to = get(HeaderKind::To);
    let to = if to.contains("tag=") {
        to
    } else {
        format!("{to};tag=remote")
    };
    format!(
        "SIP/2.0 {code} X\r\nVia: {}\r\nFrom: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n\
         Contact: <sip:vm@203.0.113.5>\r\n{extra}Content-Length: 0\r\n\r\n",
        get(HeaderKind::Via),
        get(HeaderKind::From),
        get(HeaderKind::CallId),
        get(HeaderKind::CSeq),
    )
    .into_bytes()
}

fn notify(call_id: &str, our_tag: &str, cseq: u32, state: &str) -> Vec<u8> {
    format!(
        "NOTIFY sip:tocsin@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKn\r\n\
         From: <sip:vm@pbx>;tag=remote\r\nTo: <sip:tocsin@h>;tag={our_tag}\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} NOTIFY\r\nEvent: message-summary\r\nSubscription-State: {state}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn subscription_never_stalls(actions in prop::collection::vec(action(), 1..40), udp in any::<bool>()) {
        let limits = Limits::default();
        let transport = if udp { Transport::Udp } else { Transport::Tcp };
        let cfg = SubscriptionConfig::new("sip:*97@pbx", "sip:tocsin@h", "sip:tocsin@192.0.2.1", "192.0.2.1", transport);
        let mut sub = Subscription::new(cfg).expect("config");
        let mut ids = Ids::default();
        let mut now = Instant::now();
        sub.start(now, &mut ids);
        let mut last_sent: Vec<u8> = Vec::new();
        let mut notify_cseq: u32 = 10;
        for a in actions {
            match a {
                Action::Wait(ms) => {
                    let until = now + Duration::from_millis(u64::from(ms));
                    let mut fired = 0;
                    while let Some(t) = sub.next_timeout().filter(|&t| t <= until) {
                        let t = t.max(now);
                        sub.on_timeout(t, &mut ids);
                        now = t;
                        // Progress: never woken again for the same instant.
                        prop_assert!(sub.next_timeout().is_none_or(|n| n > now), "busy loop in {:?}", sub.phase());
                        fired += 1;
                        prop_assert!(fired < 10_000);
                        while let Some(b) = sub.poll_transmit() {
                            last_sent = b;
                        }
                    }
                    now = until;
                }
                Action::Answer { code, expires, min_expires } => {
                    if !last_sent.is_empty() {
                        let bytes = answer(&last_sent, code, expires, min_expires);
                        let msg = parse_datagram(&bytes, &limits).expect("answer parses");
                        sub.on_response(&msg, now, &mut ids);
                    }
                }
                Action::Notify { state, cseq_step, foreign } => {
                    let Some(call_id) = sub.call_id().map(str::to_owned) else { continue };
                    notify_cseq = notify_cseq.saturating_add_signed(i32::from(cseq_step));
                    let our_tag = if foreign { "nope".to_owned() } else {
                        let m = parse_datagram(&last_sent, &limits);
                        m.ok().and_then(|m| m.from_header().ok().flatten().and_then(|f| f.tag().map(str::to_owned))).unwrap_or_default()
                    };
                    let bytes = notify(&call_id, &our_tag, notify_cseq, state);
                    let msg = parse_datagram(&bytes, &limits).expect("notify parses");
                    if let Classified::Notify(n) = classify(&msg, &limits.summary) {
                        let m = sub.on_notify(&n.request, now);
                        if foreign {
                            prop_assert_eq!(m, NotifyMatch::NoMatch);
                        }
                    }
                }
                Action::Unsubscribe => sub.unsubscribe(now, &mut ids),
                Action::Restart => sub.start(now, &mut ids),
            }
            while let Some(b) = sub.poll_transmit() {
                let parsed = parse_datagram(&b, &limits).expect("we send valid SIP");
                prop_assert!(Request::new(&parsed).is_ok());
                last_sent = b;
            }
            while sub.poll_event().is_some() {}
            let alive = matches!(sub.phase(), Phase::Subscribing | Phase::Active | Phase::WaitingRetry | Phase::Unsubscribing);
            prop_assert!(!alive || sub.next_timeout().is_some(), "stalled in {:?}", sub.phase());
        }
    }
}
