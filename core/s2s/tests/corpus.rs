//! Replays every malformed message under `tests/corpus/` (PPID + payload)
//! and checks the error code its `INDEX` line documents.

#![allow(clippy::unwrap_used)] // fixtures

use std::path::Path;

use tocsin_s2s::msg::Message;

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
        let (ppid, payload) = bytes.split_at(4);
        let ppid = u32::from_be_bytes(ppid.try_into().unwrap());
        let got = Message::decode(ppid, payload);
        assert_eq!(
            got.as_ref().err().map(|e| e.code()),
            Some(expected),
            "{file}: {got:?}"
        );
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
