#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use std::collections::HashMap;
use tocsin_abi::{Event, Priority};
use tocsin_store::{Batch, Op, OpOutcome, OpenOptions, Store, StoreError};

fn ev(source: &str, id: &str) -> Event {
    Event {
        source: source.into(),
        source_event_id: id.into(),
        kind: "mail.MessageNew".into(),
        user: "alice@example.org".into(),
        origin_host: "mx".into(),
        occurred_at_ms: 1_700_000_000_000,
        priority: Priority::High,
        summary: format!("summary {id}"),
        body: "body".into(),
        attributes: [("uid".to_string(), id.to_string())].into(),
    }
}

fn open(path: &std::path::Path) -> Store {
    Store::open(path, OpenOptions { full_check: true }).unwrap()
}

#[test]
fn insert_dedupe_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = open(&db);
    let mut b = Batch::new();
    b.push(
        Op::InsertEvent {
            event: ev("a", "1"),
            received_at_ms: 5,
            deliveries: vec![],
        },
        1,
    );
    b.push(
        Op::InsertEvent {
            event: ev("a", "2"),
            received_at_ms: 5,
            deliveries: vec![],
        },
        2,
    );
    b.push(
        Op::InsertEvent {
            event: ev("a", "1"),
            received_at_ms: 6,
            deliveries: vec![],
        },
        3,
    );
    b.push(
        Op::InsertEvent {
            event: ev("b", "1"),
            received_at_ms: 6,
            deliveries: vec![],
        },
        4,
    );
    let r = s.commit(&mut b);
    assert!(r.error.is_none());
    assert_eq!(r.commit_seq, Some(1));
    let outs: Vec<_> = r
        .results
        .into_iter()
        .map(|(t, o)| (t, o.unwrap()))
        .collect();
    assert_eq!(outs[0], (1, OpOutcome::EventInserted { id: 1 }));
    assert_eq!(outs[1], (2, OpOutcome::EventInserted { id: 2 }));
    assert_eq!(outs[2], (3, OpOutcome::EventDuplicate { id: 1 }));
    assert_eq!(outs[3], (4, OpOutcome::EventInserted { id: 3 }));
    drop(s);
    let s = open(&db);
    assert_eq!(s.commit_seq(), 1);
    let e = s.event(1).unwrap().unwrap();
    assert_eq!(e.event, ev("a", "1"));
    assert_eq!(e.received_at_ms, 5);
    assert_eq!(e.change_seq, 1);
    assert_eq!(s.stats().unwrap().events, 3);
}

#[test]
fn resume_point_is_the_last_event_each_source_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = open(&db);
    assert_eq!(s.source_resume("a").unwrap(), None);
    let mut b = Batch::new();
    for (src, id) in [("a", "1"), ("b", "x"), ("a", "2"), ("a", "1")] {
        b.push(
            Op::InsertEvent {
                event: ev(src, id),
                received_at_ms: 0,
                deliveries: vec![],
            },
            (),
        );
    }
    assert!(s.commit(&mut b).error.is_none());
    // "a"/"1" again was a duplicate: it does not move the point back.
    assert_eq!(s.source_resume("a").unwrap().as_deref(), Some("2"));
    assert_eq!(s.source_resume("b").unwrap().as_deref(), Some("x"));
    // Only duplicates in a later batch: unchanged.
    b.push(
        Op::InsertEvent {
            event: ev("a", "1"),
            received_at_ms: 0,
            deliveries: vec![],
        },
        (),
    );
    assert!(s.commit(&mut b).error.is_none());
    assert_eq!(s.source_resume("a").unwrap().as_deref(), Some("2"));
    b.push(
        Op::InsertEvent {
            event: ev("a", "3"),
            received_at_ms: 0,
            deliveries: vec![],
        },
        (),
    );
    assert!(s.commit(&mut b).error.is_none());
    drop(s);
    let s = open(&db);
    assert_eq!(s.source_resume("a").unwrap().as_deref(), Some("3"));
    assert_eq!(s.source_resume("c").unwrap(), None);
}

#[test]
fn migration_seeds_the_resume_point_from_stored_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = open(&db);
    let mut b = Batch::new();
    for (src, id) in [("a", "1"), ("a", "2"), ("b", "x")] {
        b.push(
            Op::InsertEvent {
                event: ev(src, id),
                received_at_ms: 0,
                deliveries: vec![],
            },
            (),
        );
    }
    assert!(s.commit(&mut b).error.is_none());
    drop(s);
    // Make it a version-1 database that stored events before the table
    // existed, then let the migration run again.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("DROP TABLE source_progress; PRAGMA user_version = 1;")
        .unwrap();
    drop(c);
    let s = open(&db);
    assert_eq!(s.schema_version(), tocsin_store::SCHEMA_VERSION);
    assert_eq!(s.source_resume("a").unwrap().as_deref(), Some("2"));
    assert_eq!(s.source_resume("b").unwrap().as_deref(), Some("x"));
}

#[test]
fn refuses_a_file_that_is_not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    std::fs::write(
        &db,
        b"this is not a database, just some text that is long enough",
    )
    .unwrap();
    let err = Store::open(&db, OpenOptions { full_check: false }).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    // untouched
    assert!(std::fs::read(&db).unwrap().starts_with(b"this is not"));
}

#[test]
fn refuses_a_newer_schema_and_foreign_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    drop(open(&db));
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", 999).unwrap();
    }
    let err = Store::open(&db, OpenOptions { full_check: false }).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 999, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer"));

    let other = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE x (a); INSERT INTO x VALUES (1);")
            .unwrap();
    }
    let err = Store::open(&other, OpenOptions { full_check: false }).unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
}

#[test]
fn missing_directory_is_named() {
    let err = Store::open(
        std::path::Path::new("/nonexistent-dir-for-tocsin/t.db"),
        OpenOptions { full_check: false },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent-dir-for-tocsin"),
        "{err}"
    );
}

#[test]
fn corruption_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    {
        let mut s = open(&db);
        let mut b = Batch::new();
        for i in 0..2000 {
            b.push(
                Op::InsertEvent {
                    event: ev("a", &i.to_string()),
                    received_at_ms: 1,
                    deliveries: vec![],
                },
                (),
            );
        }
        s.commit(&mut b);
        s.checkpoint(true).unwrap();
    }
    // Scribble over an interior page (not page 1, so the file still opens).
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 8 * 4096);
    for b in &mut bytes[3 * 4096..7 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = tocsin_store::quick_check(&db).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let err = Store::open(&db, OpenOptions { full_check: true }).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn online_backup_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = open(&db);
    let mut b = Batch::new();
    for i in 0..500 {
        b.push(
            Op::InsertEvent {
                event: ev("a", &i.to_string()),
                received_at_ms: 1,
                deliveries: vec![],
            },
            (),
        );
    }
    s.commit(&mut b);
    let dest = dir.path().join("copy.db");
    let rep = tocsin_store::backup(&db, &dest).unwrap();
    assert!(rep.bytes > 0);
    let copy = open(&dest);
    assert_eq!(copy.stats().unwrap().events, 500);
    assert_eq!(copy.commit_seq(), 1);
}

#[test]
fn plugin_state_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = open(&db);
    let mut b = Batch::new();
    b.push(
        Op::PluginStatePut {
            instance: "m".into(),
            key: "k".into(),
            value: b"v1".to_vec(),
        },
        (),
    );
    b.push(
        Op::PluginStatePut {
            instance: "m".into(),
            key: "k".into(),
            value: b"v2".to_vec(),
        },
        (),
    );
    let rep = s.commit(&mut b);
    assert!(rep.error.is_none());
    for (_, r) in rep.results {
        assert_eq!(r, Ok(OpOutcome::Done));
    }
    let kv = s.plugin_state("m").unwrap();
    assert_eq!(kv.get(b"k".as_slice()), Some(&b"v2".to_vec()));
    assert!(s.plugin_state("other").unwrap().is_empty());
}

#[derive(Debug, Clone)]
enum Action {
    Insert(u8, u8),
    Commit,
    Crash,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0u8..3, 0u8..20).prop_map(|(s, i)| Action::Insert(s, i)),
        2 => Just(Action::Commit),
        1 => Just(Action::Crash),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Against a model: what a commit reported is exactly what is stored
    /// after any number of "crashes" (dropping uncommitted batches).
    #[test]
    fn committed_means_stored_exactly_once(actions in proptest::collection::vec(action(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut store = open(&db);
        let mut batch: Batch<(String, String)> = Batch::new();
        let mut model: HashMap<(String, String), i64> = HashMap::new();
        for a in actions {
            match a {
                Action::Insert(s, i) => {
                    let (s, i) = (format!("s{s}"), format!("{i}"));
                    batch.push(Op::InsertEvent { event: ev(&s, &i), received_at_ms: 0, deliveries: vec![] }, (s, i));
                }
                Action::Commit => {
                    let rep = store.commit(&mut batch);
                    prop_assert!(rep.error.is_none());
                    for (key, out) in rep.results {
                        match out.unwrap() {
                            OpOutcome::EventInserted { id } => {
                                prop_assert!(!model.contains_key(&key));
                                model.insert(key, id);
                            }
                            OpOutcome::EventDuplicate { id } => {
                                prop_assert_eq!(model.get(&key), Some(&id));
                            }
                            other => prop_assert!(false, "{other:?}"),
                        }
                    }
                }
                Action::Crash => {
                    batch = Batch::new();
                    drop(store);
                    store = open(&db);
                }
            }
        }
        prop_assert_eq!(store.stats().unwrap().events as usize, model.len());
        for ((s, i), id) in &model {
            let got = store.event(*id).unwrap().unwrap();
            prop_assert_eq!(&got.event.source, s);
            prop_assert_eq!(&got.event.source_event_id, i);
        }
    }
}

/// The loop's connection does not checkpoint by itself (its WAL hook only
/// nudges the checkpoint thread), yet the WAL stays bounded while commits
/// keep coming: the background checkpoints let the writer restart it.
#[test]
fn background_checkpoints_bound_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = open(&db);
    let wal = dir.path().join("t.db-wal");
    let body = "x".repeat(2000);
    let mut peak = 0;
    // ~60 MiB of events in 2000-event commits; without checkpoints the WAL
    // would hold all of it.
    for round in 0..15 {
        let mut b = Batch::new();
        for i in 0..2000 {
            let mut e = ev("a", &format!("{round}-{i}"));
            e.body = body.clone();
            b.push(
                Op::InsertEvent {
                    event: e,
                    received_at_ms: 1,
                    deliveries: vec![],
                },
                (),
            );
        }
        let r = s.commit(&mut b);
        assert!(r.error.is_none(), "{:?}", r.error);
        // Give the checkpoint thread a moment, as the loop's idle time would.
        std::thread::sleep(std::time::Duration::from_millis(50));
        peak = peak.max(std::fs::metadata(&wal).unwrap().len());
    }
    assert_eq!(s.stats().unwrap().events, 30_000);
    assert!(
        peak < 24 << 20,
        "the WAL grew to {peak} bytes: background checkpoints are not running"
    );
}
