//! Replays tests/corpus/*.imtp against the expectations in
//! tests/corpus/INDEX: through the decoder + typed parsing (first error
//! code and its Error-Type) and through a server connection (no panic,
//! fatal vs. answered as expected).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Instant;
use tocsin_imtp::*;

fn corpus_limits() -> Limits {
    Limits {
        max_line_len: 128,
        max_headers: 6,
        max_header_bytes: 512,
        max_payload: 256,
        max_id_len: 8,
        ..Limits::default()
    }
}

/// The first problem in a stream: (code, Error-Type), or ("ok", "-").
fn first_error(bytes: &[u8]) -> (String, String) {
    let (code, t, _) = first_error_kind(bytes);
    (code, t)
}

/// As [`first_error`], plus whether it is a (fatal) framing error.
fn first_error_kind(bytes: &[u8]) -> (String, String, bool) {
    let (decoded, err) = common::decode_chunks(&corpus_limits(), &[bytes]);
    for d in decoded {
        let problem = match d {
            Decoded::Frame(Frame::Command(c)) => Command::from_frame(c).err(),
            Decoded::Frame(Frame::Response(r)) => Response::from_frame(r).err(),
            Decoded::Frame(_) => None,
            Decoded::Rejected { error, .. } => Some(error),
        };
        if let Some(e) = problem {
            return (e.code().into(), e.error_type().to_string(), false);
        }
    }
    match err {
        Some(e) => (e.kind.code().into(), e.kind.error_type().to_string(), true),
        None => ("ok".into(), "-".into(), false),
    }
}

#[test]
fn corpus_replays_to_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let index = std::fs::read_to_string(dir.join("INDEX")).unwrap();
    let mut checked = 0;
    let mut answered = 0;
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, code, error_type] = cols[..] else {
            panic!("bad INDEX line {line:?}")
        };
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(
            first_error(&bytes),
            (code.to_owned(), error_type.to_owned()),
            "{file}"
        );

        // The same bytes against a live server connection.
        let t = Instant::now();
        let config = Config {
            limits: corpus_limits(),
            require_auth: false,
            ..Config::imtp()
        };
        // Mechanism lists are what a client reads; everything else goes to
        // a server.
        let role = if bytes.starts_with(b"=mec") {
            Role::Client
        } else {
            Role::Server
        };
        let mut s = Connection::new(role, config, common::tls(None), t);
        common::take_output(&mut s);
        let fed = s.feed(&bytes, t);
        let out = common::take_output(&mut s);
        let (_, _, is_framing) = first_error_kind(&bytes);
        // A command whose start line could be read is answered with the
        // mapped Error-Type, whether or not the connection survives.
        let answerable = match &fed {
            Err(ConnError::Decode(e)) => e.start.is_some(),
            Err(_) => false,
            Ok(()) => true,
        };
        if bytes.first() == Some(&b'>') && code != "ok" && answerable {
            answered += 1;
            assert!(
                out.contains(&format!("Error-Type: {error_type}\r\n")),
                "{file}: {out:?}"
            );
        }
        if is_framing {
            // Framing errors are fatal, with the same code.
            assert!(
                matches!(&fed, Err(ConnError::Decode(e)) if e.kind.code() == code),
                "{file}: {fed:?}"
            );
        } else if code == "ok" {
            assert!(fed.is_ok(), "{file}: {fed:?}");
        }
        checked += 1;
    }
    assert!(checked >= 15, "corpus too small: {checked}");
    assert!(answered >= 10, "only {answered} commands were answered");
    let files = std::fs::read_dir(&dir).unwrap().filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "imtp"))
    });
    assert_eq!(
        files.count(),
        checked,
        "every corpus file must be listed in INDEX"
    );
}
