//! Hostile input: arbitrary and mutated bytes must never panic any entry
//! point, and every error path must stay within its bounds.

mod common;

use proptest::prelude::*;
use tocsin_sip::*;

const SEED_MSG: &[u8] = b"NOTIFY sip:1000@192.0.2.50:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKPj6c3f0a52\r\n\
From: <sip:1000@pbx.example.org>;tag=5a1e64c4\r\n\
To: <sip:1000@192.0.2.50>\r\n\
Call-ID: 4bb0a8f3@pbx\r\n\
CSeq: 27361 NOTIFY\r\n\
Event: message-summary\r\n\
Subscription-State: active;expires=3600\r\n\
Content-Type: application/simple-message-summary\r\n\
Content-Length: 93\r\n\
\r\n\
Messages-Waiting: yes\r\n\
Message-Account: sip:*97@pbx.example.org\r\n\
Voice-Message: 2/8 (0/2)\r\n";

/// The seed message with a few random edits: byte replacements biased
/// towards SIP syntax characters, insertions and truncation.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let syntax = prop_oneof![
        Just(b'\r'),
        Just(b'\n'),
        Just(b':'),
        Just(b';'),
        Just(b','),
        Just(b'<'),
        Just(b'>'),
        Just(b'"'),
        Just(b' '),
        Just(b'\t'),
        Just(b'/'),
        Just(b'('),
        Just(b'9'),
        Just(0xff),
        // Lead bytes of multi-byte UTF-8 sequences: string slicing bugs.
        Just(0xc3),
        Just(0xe2),
        any::<u8>(),
    ];
    (
        prop::collection::vec(
            (any::<prop::sample::Index>(), syntax, 0u8..3, any::<bool>()),
            1..8,
        ),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(edits, cut, truncate)| {
            let mut m = SEED_MSG.to_vec();
            for (at, b, kind, near_start) in edits {
                // Half the edits hit the start line, where the syntax is
                // densest.
                let span = if near_start { m.len().min(48) } else { m.len() };
                let i = at.index(span.max(1));
                match kind {
                    0 => m[i] = b,
                    // A whole non-ASCII character, so the text stays UTF-8.
                    1 if b >= 0x80 => {
                        m.splice(i..i, "é".bytes());
                    }
                    1 => m.insert(i, b),
                    _ => {
                        m.remove(i);
                    }
                }
            }
            if truncate {
                m.truncate(cut.index(m.len() + 1));
            }
            m
        })
}

/// Runs everything the plugin would run on one datagram.
fn exercise(buf: &[u8]) {
    let limits = Limits::default();
    let (outcome, _, answer) = common::handle(buf, &limits);
    if let Some(a) = answer {
        // Every answer we produce parses back as a response.
        let resp = parse_datagram(&a, &limits);
        assert!(
            resp.is_ok_and(|r| !r.is_request()),
            "bad answer for outcome {outcome}"
        );
    }
    if let Ok(msg) = parse_datagram(buf, &limits) {
        // Every accessor copes with whatever the parser accepted.
        let _ = (
            msg.vias(),
            msg.cseq(),
            msg.from_header(),
            msg.to_header(),
            msg.call_id(),
        );
        let _ = (
            msg.event(),
            msg.subscription_state(),
            msg.content_type(),
            msg.expires(),
        );
        let _ = (
            msg.contact(),
            msg.max_forwards(),
            msg.require(),
            msg.retry_after(),
        );
        if let Ok(req) = Request::new(&msg) {
            let _ = TransactionKey::of(&req);
        }
    }
    let _ = recover_request(buf, &limits);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn datagram_arbitrary_bytes(buf in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&buf);
    }

    #[test]
    fn datagram_mutated_notify(buf in mutated()) {
        exercise(&buf);
    }

    #[test]
    fn stream_arbitrary_chunks(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..12),
        mutated in mutated(),
    ) {
        let limits = Limits { max_message_size: 1024, ..Limits::default() };
        let mut d = StreamDecoder::new(limits.clone());
        for c in chunks.iter().chain(std::iter::once(&mutated)) {
            let out = d.feed(c);
            for f in &out.frames {
                prop_assert!(f.bytes().len() <= limits.max_message_size);
                let _ = f.parse(&limits).map(|m| common::handle(f.bytes(), &Limits::default()).0 + &m.body().len().to_string());
            }
            // Bounded: at most one incomplete message stays buffered.
            prop_assert!(d.buffered() <= limits.max_message_size);
        }
    }

    #[test]
    fn summary_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = MessageSummary::parse(&body, &SummaryLimits::default());
    }

    #[test]
    fn summary_syntax_soup(body in "[A-Za-z:/() \t\r\n0-9<>;-]{0,400}") {
        let prefixed = format!("Messages-Waiting: yes\r\n{body}");
        for b in [body.as_bytes(), prefixed.as_bytes()] {
            if let Ok(s) = MessageSummary::parse(b, &SummaryLimits::default()) {
                // Whatever parses re-encodes to itself.
                let again = MessageSummary::parse(s.encode().as_bytes(), &SummaryLimits::default());
                prop_assert_eq!(again.as_ref(), Ok(&s));
            }
        }
    }
}
