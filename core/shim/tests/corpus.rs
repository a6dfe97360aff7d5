//! Replays every malformed-chunk file under `tests/corpus/` and checks that it
//! fails with the error code its `INDEX` line documents — fed whole and fed
//! one byte at a time.

#![allow(clippy::unwrap_used)] // test helpers may panic on bad fixtures

use std::path::Path;
use std::time::Instant;

use tocsin_shim::{Config, Connection, SendMeta, ShimError};

fn replay(bytes: &[u8], step: usize) -> Option<ShimError> {
    let now = Instant::now();
    let mut c = Connection::new(
        Config {
            max_chunk_len: 4096,
            max_heartbeat_info: 512,
            ..Config::default()
        },
        now,
    );
    // two DATA chunks of ours outstanding (TSN 0 and 1) for the ACK cases
    for _ in 0..2 {
        c.send_data(now, SendMeta::default(), b"ours").unwrap();
    }
    let mut pos = 0;
    loop {
        if pos < bytes.len() {
            let end = (pos + step).min(bytes.len());
            pos += c.recv(&bytes[pos..end]);
        } else {
            c.recv_eof();
        }
        loop {
            match c.poll_event(now) {
                Ok(Some(tocsin_shim::Event::PeerClosed)) => return None,
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Some(e),
            }
        }
    }
}

#[test]
fn every_corpus_file_yields_its_documented_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let index = std::fs::read_to_string(dir.join("INDEX")).unwrap();
    let mut seen = Vec::new();
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let (file, expected) = (parts.next().unwrap(), parts.next().unwrap());
        let bytes = std::fs::read(dir.join(file)).unwrap();
        for step in [bytes.len().max(1), 1] {
            let got = replay(&bytes, step);
            assert_eq!(
                got.as_ref().map(ShimError::code),
                Some(expected),
                "{file} (fed {step} bytes at a time): {got:?}"
            );
        }
        seen.push(file.to_owned());
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    on_disk.sort();
    seen.sort();
    assert_eq!(on_disk, seen, "every .bin file is indexed, and only those");
    assert!(seen.len() >= 15);
}
