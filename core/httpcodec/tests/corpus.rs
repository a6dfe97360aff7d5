//! Replays tests/corpus/*.http against tests/corpus/INDEX, in one piece and byte by byte.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{drain, statuses};
use tocsin_httpcodec::{HttpError, Limits, Request, Response, ServerConn};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    Pending,
    Status(u16),
}

struct Entry {
    file: String,
    requests: usize,
    outcome: Outcome,
    expect_continue: bool,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn load_index() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus_dir().join("INDEX")).expect("INDEX readable");
    let mut entries = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() >= 3, "INDEX line {}: {raw}", n + 1);
        let outcome = match cols[2] {
            "done" => Outcome::Done,
            "pending" => Outcome::Pending,
            s => Outcome::Status(s.parse().expect("status")),
        };
        entries.push(Entry {
            file: cols[0].to_owned(),
            requests: cols[1].parse().expect("request count"),
            outcome,
            expect_continue: cols[3..].contains(&"continue"),
        });
    }
    entries
}

struct Run {
    requests: Vec<Request>,
    outcome: Outcome,
    output_before_eof: Vec<u8>,
    final_output: Vec<u8>,
}

/// Feed `data` in chunks of `chunk` bytes, answer every request with 204, then EOF.
fn run(data: &[u8], chunk: usize) -> Run {
    let t0 = Instant::now();
    let mut c = ServerConn::new(Limits::default(), t0);
    let mut requests = Vec::new();
    let mut error: Option<HttpError> = None;
    for piece in data.chunks(chunk.max(1)) {
        c.feed(piece, t0);
        let (reqs, err) = drain(&mut c, t0);
        requests.extend(reqs);
        if err.is_some() {
            error = err;
            break;
        }
    }
    let output_before_eof = c.pending_output().to_vec();
    let outcome = match error {
        Some(e) => Outcome::Status(e.status()),
        None => {
            c.feed_eof(t0);
            let (reqs, err) = drain(&mut c, t0);
            requests.extend(reqs);
            match err {
                Some(HttpError::IncompleteRequest) => Outcome::Pending,
                Some(e) => Outcome::Status(e.status()),
                None => Outcome::Done,
            }
        }
    };
    for r in &requests {
        c.respond(r.seq, Response::new(204), t0).expect("respond");
    }
    let final_output = c.take_output();
    Run {
        requests,
        outcome,
        output_before_eof,
        final_output,
    }
}

#[test]
fn corpus_matches_index() {
    let entries = load_index();
    assert!(entries.len() >= 20, "corpus must hold at least 20 cases");

    let on_disk: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".http"))
        .collect();
    let indexed: BTreeSet<String> = entries.iter().map(|e| e.file.clone()).collect();
    assert_eq!(
        on_disk, indexed,
        "every .http file is indexed and vice versa"
    );

    for e in &entries {
        let data = std::fs::read(corpus_dir().join(&e.file)).expect("corpus file");
        let whole = run(&data, data.len());
        assert_eq!(
            whole.requests.len(),
            e.requests,
            "{}: request count",
            e.file
        );
        assert_eq!(whole.outcome, e.outcome, "{}: outcome", e.file);
        assert_eq!(
            whole
                .output_before_eof
                .windows(12)
                .any(|w| w == b"100 Continue"),
            e.expect_continue,
            "{}: 100 Continue",
            e.file
        );
        if let Outcome::Status(s) = e.outcome {
            let st = statuses(&whole.final_output);
            assert_eq!(st.last(), Some(&s), "{}: error answered last", e.file);
            assert_eq!(
                st.iter().filter(|&&x| x == 204).count(),
                e.requests,
                "{}: earlier requests answered first",
                e.file
            );
        }

        // Byte-split invariance on real inputs: one byte at a time and odd chunks.
        for chunk in [1, 3, 7] {
            let split = run(&data, chunk);
            assert_eq!(split.requests, whole.requests, "{} chunk {chunk}", e.file);
            assert_eq!(split.outcome, whole.outcome, "{} chunk {chunk}", e.file);
        }
    }
}
