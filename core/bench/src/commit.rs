//! Group commit through tocsin-store vs the plain rusqlite loop.

use crate::util::{event, rate};
use rusqlite::params;
use std::path::Path;
use std::time::Instant;
use tocsin_store::{Batch, Op, OpenOptions, Store};

fn store_rate(dir: &Path, batch_size: usize, total: usize) -> f64 {
    let path = dir.join(format!("store-{batch_size}.db"));
    let mut s = Store::open(&path, OpenOptions { full_check: false }).unwrap();
    // Batches are built before the clock starts: building events is the
    // producer's cost, not the store's (the plain loop gets them prebuilt too).
    let mut batches: Vec<Batch<()>> = Vec::new();
    for i in 0..total {
        if i % batch_size == 0 {
            batches.push(Batch::new());
        }
        if let Some(b) = batches.last_mut() {
            b.push(
                Op::InsertEvent {
                    event: event(i),
                    received_at_ms: 0,
                },
                (),
            );
        }
    }
    let t = Instant::now();
    for b in &mut batches {
        let rep = s.commit(b);
        assert!(rep.error.is_none());
    }
    t.elapsed().as_secs_f64()
}

/// The same rows, same schema (a database created by the store, so the
/// same indexes), written by a bare prepared INSERT in transactions of the
/// same size.
pub(crate) fn plain_rate(dir: &Path, batch_size: usize, total: usize) -> f64 {
    let path = dir.join(format!("plain-{batch_size}.db"));
    drop(Store::open(&path, OpenOptions { full_check: false }).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .unwrap();
    let events: Vec<_> = (0..total).map(event).collect();
    let t = Instant::now();
    for chunk in events.chunks(batch_size) {
        c.execute_batch("BEGIN").unwrap();
        {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO events (source, source_event_id, kind, user, origin_host,
                     occurred_at, received_at, priority, summary, body, attributes, change_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)",
                )
                .unwrap();
            for e in chunk {
                let attrs = serde_json::to_string(&e.attributes).unwrap();
                st.execute(params![
                    e.source,
                    e.source_event_id,
                    e.kind,
                    e.user,
                    e.origin_host,
                    e.occurred_at_ms,
                    0,
                    e.priority.as_u8(),
                    e.summary,
                    e.body,
                    attrs
                ])
                .unwrap();
            }
        }
        c.execute_batch("COMMIT").unwrap();
    }
    t.elapsed().as_secs_f64()
}

/// Best of `rounds` alternating runs: on a shared machine the best run is
/// the one least disturbed by neighbours, for both contenders alike.
pub fn run(dir: &Path, events: usize, rounds: usize) {
    println!(
        "group commit, synchronous=FULL, WAL, ~300-byte events, {events} events per cell, best of {rounds}"
    );
    println!(
        "{:>6}  {:>12}  {:>12}  {:>13}",
        "batch", "tocsin-store", "plain loop", "store/plain"
    );
    for batch in [1usize, 10, 100, 1000] {
        // Batch 1 is fsync-bound; fewer events keep the run short.
        let n = if batch == 1 { events.min(3000) } else { events };
        let mut plain = f64::MAX;
        let mut ours = f64::MAX;
        for round in 0..rounds {
            let sub = dir.join(format!("r{batch}-{round}"));
            std::fs::create_dir_all(&sub).unwrap();
            plain = plain.min(plain_rate(&sub, batch, n));
            ours = ours.min(store_rate(&sub, batch, n));
            let _ = std::fs::remove_dir_all(&sub);
        }
        println!(
            "{batch:>6}  {}  {}  {:>13.2}",
            rate(n, ours),
            rate(n, plain),
            plain / ours
        );
    }
}
