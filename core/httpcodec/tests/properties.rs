//! Property tests: no input panics the codec; any split of a valid stream parses the same;
//! requests round-trip; responses come out in request order whatever the answer order.

mod common;

use std::time::{Duration, Instant};

use common::{drain, statuses};
use proptest::prelude::*;
use tocsin_httpcodec::{
    Limits, Method, Response, ServerConn, Version, base64_decode, constant_time_eq,
};

/// A request we know how to serialise, for round trips.
#[derive(Debug, Clone)]
struct Spec {
    method: &'static str,
    target: String,
    version: Version,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Spec {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} {}\r\n",
            self.method,
            self.target,
            self.version.as_str()
        );
        if self.version == Version::Http11 {
            out.push_str("Host: tocsin.test\r\n");
        } else {
            out.push_str("Connection: keep-alive\r\n");
        }
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    let method = prop::sample::select(vec!["GET", "PUT", "POST", "DELETE", "PATCH", "NOTIFY"]);
    let target = prop::collection::vec(prop::sample::select(b"abcXYZ019-._~/?=&%".to_vec()), 0..40)
        .prop_map(|v| format!("/{}", String::from_utf8_lossy(&v)));
    let version = prop::sample::select(vec![Version::Http10, Version::Http11]);
    let header_name = prop::collection::vec(prop::sample::select(b"abcdefXYZ-".to_vec()), 1..12)
        .prop_map(|v| format!("X-{}", String::from_utf8_lossy(&v)));
    let header_value =
        prop::collection::vec(prop::sample::select(b"abc 123;=,\"/\tZ".to_vec()), 0..30).prop_map(
            |v| {
                String::from_utf8_lossy(&v)
                    .trim_matches([' ', '\t'])
                    .to_owned()
            },
        );
    let headers = prop::collection::vec((header_name, header_value), 0..6);
    let body = prop::collection::vec(any::<u8>(), 0..300);
    (method, target, version, headers, body).prop_map(|(method, target, version, headers, body)| {
        Spec {
            method,
            target,
            version,
            headers,
            body,
        }
    })
}

/// Cut `data` at the given (unsorted, possibly duplicate) points.
fn split_at_points(data: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = points
        .iter()
        .map(|p| {
            if data.is_empty() {
                0
            } else {
                p % (data.len() + 1)
            }
        })
        .collect();
    cuts.push(0);
    cuts.push(data.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

fn small_limits() -> Limits {
    Limits {
        max_request_line: 64,
        max_header_bytes: 128,
        max_headers: 4,
        max_body: 64,
        max_in_flight: 2,
        request_timeout: Duration::from_millis(50),
        idle_timeout: Duration::from_millis(80),
    }
}

/// Drive every public operation with hostile input; only absence of panics and a few
/// invariants are checked.
fn exercise(data: &[u8], points: &[usize], ops: &[u8], limits: Limits) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut c = ServerConn::new(limits, t0);
    let mut outstanding: Vec<u64> = Vec::new();
    let mut written: Vec<u8> = Vec::new();
    let mut ops = ops.iter().copied().cycle();
    for piece in split_at_points(data, points) {
        c.feed(&piece, now);
        while let Some(r) = c.next_request(now) {
            if let Ok(req) = r {
                assert!(req.body.len() as u64 <= c.limits().max_body);
                outstanding.push(req.seq);
            }
        }
        match ops.next().unwrap_or(0) % 6 {
            0 => {
                if let Some(seq) = outstanding.pop() {
                    let _ = c.respond(seq, Response::json(200, "{}"), now);
                }
            }
            1 => {
                if !outstanding.is_empty() {
                    let seq = outstanding.remove(0);
                    let _ = c.respond(seq, Response::new(500).with_close(), now);
                }
            }
            2 => {
                let n = usize::from(ops.next().unwrap_or(0)).min(c.pending_output().len());
                written.extend_from_slice(&c.pending_output()[..n]);
                c.consume_output(n);
            }
            3 => now += Duration::from_millis(u64::from(ops.next().unwrap_or(0))),
            4 => {
                if let Some(t) = c.next_timeout() {
                    now = now.max(t);
                    let _ = c.on_timeout(now);
                }
            }
            _ => written.extend(c.take_output()),
        }
        let _ = c.wants_read();
        let _ = c.should_close();
    }
    c.feed_eof(now);
    while c.next_request(now).is_some() {}
    for seq in outstanding {
        let _ = c.respond(seq, Response::new(204), now);
    }
    let _ = c.on_timeout(now + Duration::from_secs(3600));
    written.extend(c.take_output());
    // Whatever the codec wrote starts with a status line: no stray bytes, ever.
    if !written.is_empty() {
        assert!(written.starts_with(b"HTTP/1.1 "));
    }
}

fn mutate(mut data: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(pos, kind, byte) in edits {
        if data.is_empty() {
            data.push(byte);
            continue;
        }
        let i = pos % data.len();
        match kind % 3 {
            0 => data[i] = byte,
            1 => data.insert(i, byte),
            _ => {
                data.remove(i);
            }
        }
    }
    data
}

/// 512 cases by default (cheap: the whole file runs in about a second); set
/// PROPTEST_CASES for a longer fuzzing run. Failures are not persisted into the tree.
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 512;
    }
    c.failure_persistence = None;
    c
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        points in prop::collection::vec(any::<usize>(), 0..16),
        ops in prop::collection::vec(any::<u8>(), 1..32),
        small in any::<bool>(),
    ) {
        let limits = if small { small_limits() } else { Limits::default() };
        exercise(&data, &points, &ops, limits);
    }

    #[test]
    fn mutated_valid_streams_never_panic(
        specs in prop::collection::vec(spec_strategy(), 1..4),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
        points in prop::collection::vec(any::<usize>(), 0..16),
        ops in prop::collection::vec(any::<u8>(), 1..32),
        small in any::<bool>(),
    ) {
        let stream: Vec<u8> = specs.iter().flat_map(Spec::to_bytes).collect();
        let data = mutate(stream, &edits);
        let limits = if small { small_limits() } else { Limits::default() };
        exercise(&data, &points, &ops, limits);
    }

    #[test]
    fn split_invariance_and_round_trip(
        specs in prop::collection::vec(spec_strategy(), 1..6),
        points in prop::collection::vec(any::<usize>(), 0..24),
    ) {
        let t0 = Instant::now();
        let stream: Vec<u8> = specs.iter().flat_map(Spec::to_bytes).collect();

        let mut whole = ServerConn::new(Limits::default(), t0);
        whole.feed(&stream, t0);
        let (expected, err) = drain(&mut whole, t0);
        prop_assert!(err.is_none());
        prop_assert_eq!(expected.len(), specs.len());

        for (req, spec) in expected.iter().zip(&specs) {
            prop_assert_eq!(req.method.as_str(), spec.method);
            prop_assert_eq!(&req.target, &spec.target);
            prop_assert_eq!(req.version, spec.version);
            prop_assert_eq!(&req.body, &spec.body);
            prop_assert!(req.keep_alive);
            for (n, v) in &spec.headers {
                prop_assert!(req.headers.get_all(n).any(|x| x == v));
            }
        }

        let mut split = ServerConn::new(Limits::default(), t0);
        let mut got = Vec::new();
        for piece in split_at_points(&stream, &points) {
            split.feed(&piece, t0);
            let (reqs, err) = drain(&mut split, t0);
            prop_assert!(err.is_none());
            got.extend(reqs);
        }
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn responses_leave_in_request_order(
        n in 1usize..12,
        order_seed in prop::collection::vec(any::<usize>(), 12),
    ) {
        let t0 = Instant::now();
        let mut c = ServerConn::new(Limits { max_in_flight: 16, ..Limits::default() }, t0);
        let one = b"PUT /n HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}";
        c.feed(&one.repeat(n), t0);
        let (reqs, _) = drain(&mut c, t0);
        prop_assert_eq!(reqs.len(), n);
        // Answer in a shuffled order; status 200 + seq identifies each response.
        let mut order: Vec<u64> = (0..n as u64).collect();
        for i in (1..n).rev() {
            order.swap(i, order_seed[i] % (i + 1));
        }
        for seq in order {
            c.respond(seq, Response::new(200 + seq as u16), t0).unwrap();
        }
        let expected: Vec<u16> = (0..n as u16).map(|s| 200 + s).collect();
        prop_assert_eq!(statuses(&c.take_output()), expected);
    }

    #[test]
    fn base64_decodes_what_an_encoder_produces(data in prop::collection::vec(any::<u8>(), 0..100)) {
        let enc = test_b64_encode(&data);
        prop_assert_eq!(base64_decode(enc.as_bytes()).unwrap(), data.clone());
        let unpadded = enc.trim_end_matches('=');
        prop_assert_eq!(base64_decode(unpadded.as_bytes()).unwrap(), data);
    }

    #[test]
    fn base64_arbitrary_input_never_panics(data in prop::collection::vec(any::<u8>(), 0..100)) {
        let _ = base64_decode(&data);
    }

    #[test]
    fn constant_time_eq_agrees_with_eq(
        a in prop::collection::vec(any::<u8>(), 0..20),
        b in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        prop_assert_eq!(constant_time_eq(&a, &b), a == b);
        prop_assert!(constant_time_eq(&a, &a.clone()));
    }
}

/// Reference encoder used only to test the decoder.
fn test_b64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn methods_parse_to_variants() {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    c.feed(b"NOTIFY / HTTP/1.1\r\nHost: h\r\n\r\n", t0);
    let (reqs, _) = drain(&mut c, t0);
    assert_eq!(reqs[0].method, Method::Other("NOTIFY".into()));
}
