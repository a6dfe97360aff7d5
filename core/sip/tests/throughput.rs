//! Rough throughput of the UDP receive path (parse, classify, body parse,
//! transaction key, state digest, 200 OK). Ignored by default; run with
//! `cargo test -p tocsin-sip --release --test throughput -- --ignored --nocapture`.

use std::time::Instant;

use tocsin_sip::*;

#[test]
#[ignore = "timing measurement, run explicitly in release mode"]
fn notify_receive_path_throughput() {
    let buf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/asterisk-unsolicited.sip"
    ))
    .expect("corpus file");
    let limits = Limits::default();
    let responder = Responder::new(TagSecret::new([5; 16]));
    let src = "192.0.2.10:5060".parse().expect("addr");
    let n = 200_000;
    let start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        let msg = parse_datagram(&buf, &limits).expect("parses");
        let Classified::Notify(notify) = classify(&msg, &limits.summary) else {
            panic!("not a notify")
        };
        let key = notify.transaction_key();
        let digest = notify.summary.as_ref().map(MessageSummary::state_digest);
        let answer = responder.respond(notify.request.echo(), StatusCode::OK, src);
        bytes += answer.len()
            + usize::from(digest.is_some())
            + usize::from(matches!(key, TransactionKey::Branch { .. }));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} NOTIFYs in {secs:.3} s: {:.0}/s, {:.2} µs each ({bytes} bytes answered)",
        f64::from(n) / secs,
        secs * 1e6 / f64::from(n)
    );
}
