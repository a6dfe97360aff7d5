//! The stream decoder's output must not depend on how the bytes were cut
//! into reads: same frames, same error, same keepalive count.

use proptest::prelude::*;
use tocsin_sip::*;

fn notify(n: u32, body: &str, padded: bool, lf_only: bool) -> Vec<u8> {
    let cl = if padded {
        format!("Content-Length:    {}", body.len())
    } else {
        format!("l: {}", body.len())
    };
    let text = format!(
        "NOTIFY sip:t@h SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK{n}\r\nFrom: <sip:p@h>;tag=a\r\n\
         To: <sip:t@h>\r\nCall-ID: c{n}\r\nCSeq: {n} NOTIFY\r\nEvent: message-summary\r\n\
         Content-Type: application/simple-message-summary\r\n{cl}\r\n\r\n{body}"
    );
    if lf_only {
        // Only the head: the body length must stay what Content-Length says.
        let (head, rest) = text.split_at(text.len() - body.len());
        let mut v = head.replace("\r\n", "\n").into_bytes();
        v.extend_from_slice(rest.as_bytes());
        v
    } else {
        text.into_bytes()
    }
}

#[derive(Debug, Clone)]
enum Item {
    Msg {
        body: String,
        padded: bool,
        lf: bool,
    },
    Ping,
    Crlf,
    Garbage(Vec<u8>),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        6 => ("Messages-Waiting: (yes|no)\r\nVoice-Message: [0-9]{1,3}/[0-9]{1,3}\r\n", any::<bool>(), any::<bool>())
            .prop_map(|(body, padded, lf)| Item::Msg { body, padded, lf }),
        1 => Just(Item::Ping),
        1 => Just(Item::Crlf),
        1 => prop::collection::vec(any::<u8>(), 1..80).prop_map(Item::Garbage),
    ]
}

fn render(items: &[Item]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, it) in items.iter().enumerate() {
        match it {
            Item::Msg { body, padded, lf } => out.extend(notify(n as u32 + 1, body, *padded, *lf)),
            Item::Ping => out.extend_from_slice(b"\r\n\r\n"),
            Item::Crlf => out.extend_from_slice(b"\r\n"),
            Item::Garbage(g) => out.extend_from_slice(g),
        }
    }
    out
}

/// Feeds `data` cut at `cuts`; returns all frames, the first error and the
/// keepalive count.
fn run(data: &[u8], cuts: &[usize], limits: &Limits) -> (Vec<Frame>, Option<StreamError>, u64) {
    let mut d = StreamDecoder::new(limits.clone());
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    let mut frames = Vec::new();
    let mut error = None;
    for w in points.windows(2) {
        let out = d.feed(&data[w[0]..w[1]]);
        frames.extend(out.frames);
        if error.is_none() {
            error = out.error;
        }
    }
    (frames, error, d.keepalives())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn split_invariance_on_sip_streams(
        items in prop::collection::vec(item(), 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
        small_limit in any::<bool>(),
    ) {
        let limits = if small_limit {
            Limits { max_message_size: 300, ..Limits::default() }
        } else {
            Limits::default()
        };
        let data = render(&items);
        let whole = run(&data, &[], &limits);
        let split = run(&data, &cuts, &limits);
        prop_assert_eq!(&whole, &split);
        // Byte-at-a-time is the harshest split.
        let every: Vec<usize> = (0..data.len()).collect();
        prop_assert_eq!(&whole, &run(&data, &every, &limits));
        // Without garbage and with the default limit, every message
        // arrives and parses.
        let clean = items.iter().all(|i| !matches!(i, Item::Garbage(_)));
        if clean && !small_limit {
            let expected = items.iter().filter(|i| matches!(i, Item::Msg { .. })).count();
            prop_assert_eq!(whole.0.len(), expected);
            prop_assert!(whole.1.is_none());
            for f in &whole.0 {
                prop_assert!(f.parse(&limits).is_ok());
            }
        }
    }

    #[test]
    fn split_invariance_on_arbitrary_bytes(
        data in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b':')], 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let limits = Limits { max_message_size: 200, ..Limits::default() };
        prop_assert_eq!(run(&data, &[], &limits), run(&data, &cuts, &limits));
    }
}

#[test]
fn pings_are_counted_across_reads() {
    let limits = Limits::default();
    let mut data = b"\r\n\r\n\r\n".to_vec();
    data.extend(notify(1, "Messages-Waiting: no\r\n", true, false));
    data.extend_from_slice(b"\r\n\r\n");
    for cut in 0..data.len() {
        let (frames, error, pings) = run(&data, &[cut], &limits);
        assert_eq!((frames.len(), error, pings), (1, None, 2), "cut {cut}");
    }
}
