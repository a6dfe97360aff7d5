//! Replays tests/corpus/ against tests/corpus/INDEX: every file must get
//! exactly the recorded outcome, and every answer must be a well-formed
//! response addressed to the request.

mod common;

use std::path::PathBuf;

use tocsin_sip::*;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

struct Entry {
    file: String,
    outcome: String,
    label: String,
}

fn index() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus_dir().join("INDEX")).expect("INDEX readable");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "INDEX line {l:?}");
            Entry {
                file: f[0].into(),
                outcome: f[1].into(),
                label: f[2].into(),
            }
        })
        .collect()
}

#[test]
fn corpus_outcomes_match_index() {
    let entries = index();
    assert!(entries.len() >= 20, "corpus too small");
    // Every file is indexed and every index line has a file.
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "INDEX")
        .collect();
    on_disk.sort();
    let mut indexed: Vec<String> = entries.iter().map(|e| e.file.clone()).collect();
    indexed.sort();
    assert_eq!(on_disk, indexed);

    let limits = Limits::default();
    let mut failures = Vec::new();
    for e in &entries {
        let buf = std::fs::read(corpus_dir().join(&e.file)).expect("corpus file");
        let (outcome, label, answer) = common::handle(&buf, &limits);
        if (outcome.as_str(), label.as_str()) != (e.outcome.as_str(), e.label.as_str()) {
            failures.push(format!(
                "{}: expected {} {}, got {} {}",
                e.file, e.outcome, e.label, outcome, label
            ));
            continue;
        }
        if let Some(answer) = answer {
            check_answer(&e.file, &buf, &answer, &limits);
            // A retransmission gets byte-identical bytes (stable To-tag).
            assert_eq!(Some(answer), common::handle(&buf, &limits).2, "{}", e.file);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The answer parses, is a response, and echoes Call-ID/CSeq/From of the
/// (possibly recovered) request, with a To-tag and Content-Length 0.
fn check_answer(file: &str, request: &[u8], answer: &[u8], limits: &Limits) {
    let resp =
        parse_datagram(answer, limits).unwrap_or_else(|e| panic!("{file}: answer unparsable: {e}"));
    assert!(!resp.is_request(), "{file}");
    let req = recover_request(request, limits).expect("answered requests are recoverable");
    assert_eq!(
        resp.get(HeaderKind::CallId),
        req.get(HeaderKind::CallId),
        "{file}"
    );
    assert_eq!(
        resp.get(HeaderKind::CSeq),
        req.get(HeaderKind::CSeq),
        "{file}"
    );
    assert_eq!(
        resp.get(HeaderKind::From),
        req.get(HeaderKind::From),
        "{file}"
    );
    assert_eq!(resp.get(HeaderKind::ContentLength), Some("0"), "{file}");
    let to = resp.to_header().ok().flatten().expect("To in answer");
    assert!(to.tag().is_some(), "{file}: To-tag missing");
    let req_vias = req.get_all(HeaderKind::Via).count();
    assert!(
        resp.get_all(HeaderKind::Via).count() >= req_vias,
        "{file}: Via lost"
    );
    assert_eq!(resp.header("Server"), Some("tocsin-test"), "{file}");
}

#[test]
fn corpus_notify_contents() {
    let limits = Limits::default();
    let summary = |file: &str| {
        let buf = std::fs::read(corpus_dir().join(file)).expect("corpus file");
        let msg = parse_datagram(&buf, &limits).expect("parses");
        match classify(&msg, &limits.summary) {
            Classified::Notify(n) => n.summary,
            other => panic!("{file}: {other:?}"),
        }
    };
    let s = summary("asterisk-unsolicited.sip").expect("body");
    assert!(s.messages_waiting);
    assert_eq!(s.account.as_deref(), Some("sip:*97@pbx.example.org"));
    assert_eq!(
        s.voice(),
        Some(Counts {
            new: 2,
            old: 8,
            urgent: Some(UrgentCounts { new: 0, old: 2 })
        })
    );
    // The same state whatever the transport details.
    assert_eq!(
        summary("lf-only.sip").map(|s| s.state_digest()),
        Some(s.state_digest())
    );
    assert_eq!(
        summary("compact-forms.sip").map(|s| s.state_digest()),
        Some(s.state_digest())
    );
    let big = summary("counts-over-2-32.sip")
        .and_then(|s| s.voice())
        .expect("voice");
    assert_eq!((big.new, big.old), (u32::MAX, u32::MAX));
    assert_eq!(big.urgent.map(|u| u.new), Some(u32::MAX));
    let huge = summary("counts-40-digits.sip")
        .and_then(|s| s.voice())
        .expect("voice");
    assert_eq!((huge.new, huge.old), (u32::MAX, 3));
    let ext = summary("extension-class.sip").expect("body");
    assert_eq!(ext.classes.len(), 3);
    assert_eq!(ext.message_headers.len(), 2);
    assert_eq!(summary("terminated-empty-body.sip"), None);
    let short = summary("content-length-too-short.sip").expect("body");
    assert!(short.classes.is_empty() && short.account.is_none());
}

#[test]
fn corpus_through_stream_decoder() {
    // Every answered-200 corpus message frames identically over TCP, split
    // at every byte boundary of the first 64 bytes.
    let limits = Limits::default();
    for e in index().iter().filter(|e| e.outcome == "200") {
        let buf = std::fs::read(corpus_dir().join(&e.file)).expect("corpus file");
        let mut d = StreamDecoder::new(limits.clone());
        let out = d.feed(&buf);
        let first = out
            .frames
            .first()
            .unwrap_or_else(|| panic!("{}: no frame", e.file));
        let (outcome, label, _) = common::handle(first.bytes(), &limits);
        assert_eq!(
            (outcome.as_str(), label.as_str()),
            ("200", e.label.as_str()),
            "{}",
            e.file
        );
    }
}
