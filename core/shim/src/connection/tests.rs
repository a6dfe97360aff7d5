//! White-box tests: TSN wrap-around needs 2^32 chunks from a fresh
//! connection, so these start both ends just below the wrap.

use std::time::Instant;

use super::*;

fn pair_near_wrap(start: u32) -> (Connection, Connection, Instant) {
    let now = Instant::now();
    let mut a = Connection::new(Config::default(), now);
    let mut b = Connection::new(Config::default(), now);
    a.tx_next_tsn = start;
    b.rx_next_tsn = start;
    b.rx_ack_next = start;
    shuttle(&mut a, &mut b, now);
    shuttle(&mut b, &mut a, now);
    assert!(matches!(b.poll_event(now), Ok(Some(Event::PeerInit(_)))));
    assert!(matches!(a.poll_event(now), Ok(Some(Event::PeerInit(_)))));
    (a, b, now)
}

fn shuttle(from: &mut Connection, to: &mut Connection, _now: Instant) {
    let out = from.take_output();
    assert_eq!(to.recv(&out), out.len());
}

fn meta(stream: u16) -> SendMeta {
    SendMeta {
        stream,
        ppid: 7,
        unordered: false,
    }
}

#[test]
fn tsn_wraps_on_both_sides_and_cumulative_ack_crosses_the_wrap() {
    let start = u32::MAX - 2;
    let (mut a, mut b, now) = pair_near_wrap(start);
    let tsns: Vec<u32> = (0..5u8)
        .map(|i| a.send_data(now, meta(1), &[i]).unwrap())
        .collect();
    assert_eq!(tsns, [u32::MAX - 2, u32::MAX - 1, u32::MAX, 0, 1]);
    shuttle(&mut a, &mut b, now);
    let mut got = Vec::new();
    while let Some(Event::Data(d)) = b.poll_event(now).unwrap() {
        got.push((d.tsn, b.payload(&d)[0]));
    }
    assert_eq!(
        got,
        [
            (u32::MAX - 2, 0),
            (u32::MAX - 1, 1),
            (u32::MAX, 2),
            (0, 3),
            (1, 4)
        ]
    );
    // ack through TSN 0 (across the wrap): four ACK chunks, in order
    b.ack(0).unwrap();
    assert_eq!(b.next_to_ack(), Some(1));
    assert_eq!(b.pending_output().len(), 4 * 8);
    shuttle(&mut b, &mut a, now);
    let mut released = Vec::new();
    while let Some(ev) = a.poll_event(now).unwrap() {
        released.push(ev);
    }
    assert_eq!(
        released,
        [
            Event::Acked {
                first: u32::MAX - 2,
                last: u32::MAX - 2
            },
            Event::Acked {
                first: u32::MAX - 1,
                last: u32::MAX - 1
            },
            Event::Acked {
                first: u32::MAX,
                last: u32::MAX
            },
            Event::Acked { first: 0, last: 0 },
        ]
    );
    let left = a.into_unacked();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].tsn, left[0].payload.as_slice()), (1, &[4u8][..]));
}

#[test]
fn ack_rejects_tsns_outside_the_pending_window_across_the_wrap() {
    let (mut a, mut b, now) = pair_near_wrap(u32::MAX);
    a.send_data(now, meta(0), b"x").unwrap();
    a.send_data(now, meta(0), b"y").unwrap();
    shuttle(&mut a, &mut b, now);
    while b.poll_event(now).unwrap().is_some() {}
    assert_eq!(
        b.ack(1),
        Err(AckError::NotPending {
            tsn: 1,
            next: Some(u32::MAX)
        })
    );
    assert_eq!(
        b.ack(u32::MAX - 1),
        Err(AckError::NotPending {
            tsn: u32::MAX - 1,
            next: Some(u32::MAX)
        })
    );
    b.ack(0).unwrap();
    assert_eq!(b.ack(0), Err(AckError::NotPending { tsn: 0, next: None }));
}

#[test]
fn stale_ack_across_the_wrap_is_out_of_window() {
    let (mut a, mut b, now) = pair_near_wrap(u32::MAX);
    a.send_data(now, meta(0), b"x").unwrap();
    // the peer claims TSN MAX-1 (before the window) is delivered
    let mut forged = Vec::new();
    chunk::encode_ack(&mut forged, Some(u32::MAX - 1));
    a.recv(&forged);
    assert_eq!(
        a.poll_event(now),
        Err(ShimError::AckOutOfWindow {
            tsn: u32::MAX - 1,
            oldest: u32::MAX,
            newest: u32::MAX
        })
    );
    drop(b.take_output());
}
