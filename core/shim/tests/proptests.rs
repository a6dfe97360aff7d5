//! Property tests: codec round trips, hostile input, byte-split invariance.

#![allow(clippy::unwrap_used)] // test helpers may panic on bad fixtures

use std::time::Instant;

use proptest::prelude::*;
use tocsin_shim::chunk::{self, Chunk, DataChunk, InitFlags, MAX_CHUNK_LEN, decode_chunk};
use tocsin_shim::{Config, Connection, Event, ShimError};

fn arb_layout() -> impl Strategy<Value = InitFlags> {
    (0u8..8).prop_map(InitFlags::from_bits)
}

/// A chunk plus the layout its DATA uses; omitted fields are `None` so the
/// decoded form must equal the original exactly.
fn arb_chunk() -> impl Strategy<Value = (InitFlags, OwnedChunk)> {
    let data = (
        arb_layout(),
        any::<bool>(),
        any::<u32>(),
        any::<(u16, u16)>(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 1..300),
    )
        .prop_map(|(l, u, tsn, st, ppid, payload)| {
            (
                l,
                OwnedChunk::Data {
                    unordered: u,
                    tsn: (!l.omit_tsn()).then_some(tsn),
                    stream: (!l.omit_stream()).then_some(st),
                    ppid: (!l.omit_ppid()).then_some(ppid),
                    payload,
                },
            )
        });
    prop_oneof![
        data,
        (0u8..8).prop_map(|f| (InitFlags::NONE, OwnedChunk::Init(InitFlags::from_bits(f)))),
        proptest::option::of(any::<u32>()).prop_map(|t| (InitFlags::NONE, OwnedChunk::Ack(t))),
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(ack, info)| (InitFlags::NONE, OwnedChunk::Heartbeat { ack, info })),
    ]
}

#[derive(Debug, Clone)]
enum OwnedChunk {
    Data {
        unordered: bool,
        tsn: Option<u32>,
        stream: Option<(u16, u16)>,
        ppid: Option<u32>,
        payload: Vec<u8>,
    },
    Init(InitFlags),
    Ack(Option<u32>),
    Heartbeat {
        ack: bool,
        info: Vec<u8>,
    },
}

impl OwnedChunk {
    fn borrow(&self) -> Chunk<'_> {
        match self {
            Self::Data {
                unordered,
                tsn,
                stream,
                ppid,
                payload,
            } => Chunk::Data(DataChunk {
                unordered: *unordered,
                tsn: *tsn,
                stream: *stream,
                ppid: *ppid,
                payload,
            }),
            Self::Init(f) => Chunk::Init(*f),
            Self::Ack(t) => Chunk::Ack(*t),
            Self::Heartbeat { ack: false, info } => Chunk::Heartbeat(info),
            Self::Heartbeat { ack: true, info } => Chunk::HeartbeatAck(info),
        }
    }
}

/// Feed `wire` in pieces of the given sizes (cycled), then EOF; record every
/// event (with DATA payloads) and the terminating error, if any.
fn run(wire: &[u8], splits: &[usize]) -> (Vec<(Event, Vec<u8>)>, Option<ShimError>) {
    let now = Instant::now();
    let mut c = Connection::new(
        Config {
            max_chunk_len: 4096,
            ..Config::default()
        },
        now,
    );
    let mut events = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    loop {
        if pos < wire.len() {
            let step = splits
                .get(i % splits.len().max(1))
                .copied()
                .unwrap_or(1)
                .max(1);
            i += 1;
            let end = (pos + step).min(wire.len());
            pos += c.recv(&wire[pos..end]);
        } else {
            c.recv_eof();
        }
        loop {
            match c.poll_event(now) {
                Ok(Some(ev)) => {
                    let payload = match ev {
                        Event::Data(d) => {
                            let p = c.payload(&d).to_vec();
                            // deliver-and-ack like a real receiver
                            c.ack(d.tsn).unwrap();
                            p
                        }
                        _ => Vec::new(),
                    };
                    let done = ev == Event::PeerClosed;
                    events.push((ev, payload));
                    if done {
                        return (events, None);
                    }
                }
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
    }
}

/// A valid peer byte stream: INIT in `layout`, then DATA and HEARTBEATs.
fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        arb_layout(),
        proptest::collection::vec(
            prop_oneof![
                3 => (0u16..4, any::<bool>(), proptest::collection::vec(any::<u8>(), 1..200))
                    .prop_map(|(s, u, p)| (Some((s, u)), p)),
                1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(|i| (None, i)),
            ],
            0..30,
        ),
        proptest::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(layout, items, garbage)| {
            let mut out = Vec::new();
            chunk::encode_init(&mut out, layout);
            let mut tsn = 0u32;
            let mut ssn = std::collections::HashMap::<u16, u16>::new();
            for (data, bytes) in items {
                match data {
                    Some((stream, unordered)) => {
                        let stream = if layout.omit_stream() { 0 } else { stream };
                        let s = if unordered {
                            0
                        } else {
                            let e = ssn.entry(stream).or_insert(0);
                            *e = e.wrapping_add(1);
                            e.wrapping_sub(1)
                        };
                        chunk::encode_data(
                            &mut out,
                            layout,
                            &DataChunk {
                                unordered,
                                tsn: Some(tsn),
                                stream: Some((stream, s)),
                                ppid: Some(7),
                                payload: &bytes,
                            },
                        );
                        tsn += 1;
                    }
                    None => chunk::encode_heartbeat(&mut out, false, &bytes),
                }
            }
            // sometimes a hostile or truncated tail
            out.extend_from_slice(&garbage);
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunk_round_trip((layout, c) in arb_chunk()) {
        let mut wire = Vec::new();
        chunk::encode_chunk(&mut wire, layout, &c.borrow());
        prop_assert_eq!(wire.len() % 4, 0);
        let (decoded, used) = decode_chunk(&wire, layout, MAX_CHUNK_LEN).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(decoded, c.borrow());
        // every strict prefix is "need more", never an error or a chunk
        for cut in 0..wire.len() {
            prop_assert_eq!(decode_chunk(&wire[..cut], layout, MAX_CHUNK_LEN), Ok(None));
        }
    }

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), l in 0u8..8, max in 0u16..=u16::MAX) {
        if let Ok(Some((_, used))) = decode_chunk(&bytes, InitFlags::from_bits(l), max) {
            prop_assert!(used <= bytes.len());
            prop_assert_eq!(used % 4, 0);
        }
    }

    #[test]
    fn state_machine_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096), split in 1usize..64) {
        let _ = run(&bytes, &[split]);
    }

    #[test]
    fn state_machine_never_panics_after_a_valid_init(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = vec![1, 0, 0, 4];
        bytes.extend_from_slice(&tail);
        let _ = run(&bytes, &[7, 1, 300]);
    }

    #[test]
    fn byte_split_invariance(wire in arb_stream(), splits in proptest::collection::vec(1usize..300, 1..20)) {
        let whole = run(&wire, &[wire.len().max(1)]);
        let split = run(&wire, &splits);
        prop_assert_eq!(&whole, &split);
        let bytewise = run(&wire, &[1]);
        prop_assert_eq!(&whole, &bytewise);
    }
}
