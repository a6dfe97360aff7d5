//! Replays tests/corpus/* against tests/corpus/INDEX.json (format in corpus/README.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tocsin_mailevents::{
    MailEvent, ParseError, ParseLimits, parse_cyrus_notify, parse_dovecot_ox, parse_generic,
};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn error_tag(e: &ParseError) -> String {
    match e {
        ParseError::MissingField(f) => format!("missing_field:{f}"),
        ParseError::InvalidField { field, .. } => format!("invalid_field:{field}"),
        ParseError::FieldTooLong { field, .. } => format!("too_long:{field}"),
        ParseError::DuplicateField(f) => format!("duplicate:{f}"),
        ParseError::InvalidJson { .. } => "invalid_json".into(),
        ParseError::InvalidUtf8 { .. } => "invalid_utf8".into(),
        ParseError::NotAnObject => "not_object".into(),
        ParseError::BodyTooLarge { .. } => "body_too_large".into(),
        ParseError::BadDatagram(_) => "bad_datagram".into(),
        ParseError::UnsupportedClass(_) => "unsupported_class".into(),
        ParseError::UserMap(_) => "user_map".into(),
    }
}

fn lookup<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    // "extra/vnd.cmu.sessionId": only the first "/" of an extra path separates.
    if let Some(key) = path.strip_prefix("extra/") {
        return event.get("extra")?.get(key);
    }
    path.split('/').try_fold(event, |v, part| v.get(part))
}

fn check(file: &str, ev: &MailEvent, expect: &serde_json::Map<String, Value>) {
    let json = serde_json::to_value(ev).expect("event serialises");
    for (path, want) in expect {
        let got = match path.as_str() {
            "key" => Value::String(ev.idempotency_key()),
            "kind" => Value::String(ev.kind()),
            "snippet_bytes" => Value::from(ev.snippet.as_ref().map_or(0, String::len)),
            p => lookup(&json, p).cloned().unwrap_or(Value::Null),
        };
        assert_eq!(&got, want, "{file}: {path}");
    }
    // Invariants for every accepted event.
    assert!(!ev.user.is_empty(), "{file}: user");
    let limits = ParseLimits::default();
    for text in [&ev.subject, &ev.snippet].into_iter().flatten() {
        assert!(!text.chars().any(char::is_control), "{file}: control char");
    }
    assert!(
        ev.snippet
            .as_ref()
            .is_none_or(|s| s.len() <= limits.snippet_bytes)
    );
    assert!(ev.extra.len() <= limits.max_extra_params);
}

#[test]
fn corpus_matches_index() {
    let index: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(corpus_dir().join("INDEX.json")).expect("INDEX.json"),
    )
    .expect("INDEX.json is JSON");
    assert!(index.len() >= 20);

    let indexed: BTreeSet<String> = index
        .iter()
        .map(|e| e["file"].as_str().expect("file").to_owned())
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "INDEX.json" || n.ends_with(".dgram"))
        .collect();
    assert_eq!(
        on_disk, indexed,
        "every corpus file is indexed and vice versa"
    );

    let limits = ParseLimits::default();
    for entry in &index {
        let file = entry["file"].as_str().expect("file");
        let bytes = std::fs::read(corpus_dir().join(file)).expect("corpus file");
        let result = match entry["parser"].as_str() {
            Some("dovecot") => parse_dovecot_ox(&bytes, &limits),
            Some("cyrus") => parse_cyrus_notify(&bytes, &limits),
            Some("generic") => parse_generic(&bytes, &limits),
            other => panic!("{file}: unknown parser {other:?}"),
        };
        match (entry.get("error").and_then(Value::as_str), result) {
            (Some(want), Err(e)) => assert_eq!(error_tag(&e), want, "{file}: {e}"),
            (Some(want), Ok(ev)) => panic!("{file}: expected {want}, parsed {ev:?}"),
            (None, Err(e)) => panic!("{file}: unexpected error: {e}"),
            (None, Ok(ev)) => {
                let expect = entry["expect"].as_object().expect("expect object");
                check(file, &ev, expect);
                // Parsing is deterministic: same bytes, same event and key.
                let again = match entry["parser"].as_str() {
                    Some("dovecot") => parse_dovecot_ox(&bytes, &limits),
                    Some("cyrus") => parse_cyrus_notify(&bytes, &limits),
                    _ => parse_generic(&bytes, &limits),
                }
                .expect("reparse");
                assert_eq!(again.idempotency_key(), ev.idempotency_key());
            }
        }
    }
}
