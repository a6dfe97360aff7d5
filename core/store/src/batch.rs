//! Group commit: every write of one loop iteration is an `Op` in a
//! `Batch`; `Store::commit` applies them all in one transaction (one
//! fsync) and hands each op's outcome back with the caller's token, so
//! acknowledgements are sent only after the data is durable.

use crate::error::{Ctx, StoreError};
use crate::open::Store;
use rusqlite::params;
use tocsin_abi::Event;

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Store an event unless (source, source_event_id) is already there.
    InsertEvent {
        event: Event,
        received_at_ms: i64,
    },
    /// Set a plugin instance's key.
    PluginStatePut {
        instance: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    PluginStateDelete {
        instance: String,
        key: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpOutcome {
    EventInserted {
        id: i64,
    },
    /// Already stored earlier; `id` is the existing row.
    EventDuplicate {
        id: i64,
    },
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("the transaction failed and was rolled back: {0}")]
    TransactionFailed(String),
    #[error("{0}")]
    Rejected(String),
}

/// Operations waiting for the end of the loop iteration, each with the
/// caller's continuation token `T`.
#[derive(Debug)]
pub struct Batch<T> {
    ops: Vec<(Op, T)>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch { ops: Vec::new() }
    }
}

impl<T> Batch<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, op: Op, token: T) {
        self.ops.push((op, token));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

#[derive(Debug)]
pub struct CommitReport<T> {
    /// One entry per op, in submission order.
    pub results: Vec<(T, Result<OpOutcome, OpError>)>,
    /// The commit sequence of this transaction, if it committed.
    pub commit_seq: Option<i64>,
    /// Set when the whole transaction failed.
    pub error: Option<StoreError>,
}

impl Store {
    /// Applies the batch in one transaction. On a transaction-level
    /// failure nothing is committed and every op reports
    /// `TransactionFailed`.
    pub fn commit<T>(&mut self, batch: &mut Batch<T>) -> CommitReport<T> {
        let ops = std::mem::take(&mut batch.ops);
        if ops.is_empty() {
            return CommitReport {
                results: Vec::new(),
                commit_seq: None,
                error: None,
            };
        }
        let seq = self.commit_seq + 1;
        match self.apply(&ops, seq) {
            Ok(outcomes) => {
                self.commit_seq = seq;
                CommitReport {
                    results: ops.into_iter().map(|(_, t)| t).zip(outcomes).collect(),
                    commit_seq: Some(seq),
                    error: None,
                }
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                let msg = e.to_string();
                CommitReport {
                    results: ops
                        .into_iter()
                        .map(|(_, t)| (t, Err(OpError::TransactionFailed(msg.clone()))))
                        .collect(),
                    commit_seq: None,
                    error: Some(e),
                }
            }
        }
    }

    fn apply<T>(
        &mut self,
        ops: &[(Op, T)],
        seq: i64,
    ) -> Result<Vec<Result<OpOutcome, OpError>>, StoreError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .ctx(|| "BEGIN IMMEDIATE".to_string())?;
        let mut outcomes = Vec::with_capacity(ops.len());
        // (source, source_event_id) of the last event each source stored in
        // this batch: the resume point. Batches usually hold one or a few
        // sources, so a short list beats a map.
        let mut progress: Vec<(&str, &str)> = Vec::new();
        for (op, _) in ops {
            let r = self.apply_one(op, seq);
            if let (Op::InsertEvent { event, .. }, Ok(OpOutcome::EventInserted { .. })) = (op, &r) {
                match progress.iter_mut().find(|(s, _)| *s == event.source) {
                    Some(p) => p.1 = &event.source_event_id,
                    None => progress.push((&event.source, &event.source_event_id)),
                }
            }
            // An I/O or "full" error can roll the whole transaction back
            // behind our back; then nothing after it may claim success.
            if self.conn.is_autocommit() {
                return Err(StoreError::Sqlite {
                    context: "transaction rolled back by SQLite".into(),
                    source: r.err().unwrap_or(rusqlite::Error::InvalidQuery),
                });
            }
            outcomes.push(r.map_err(|e| OpError::Rejected(e.to_string())));
        }
        for (source, id) in progress {
            self.conn
                .prepare_cached(
                    "INSERT INTO source_progress (source, last_event_id, change_seq)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (source) DO UPDATE
                     SET last_event_id = excluded.last_event_id, change_seq = excluded.change_seq",
                )
                .and_then(|mut s| s.execute(params![source, id, seq]))
                .ctx(|| format!("recording the resume point of source {source}"))?;
        }
        self.conn
            .prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'commit_seq'")
            .and_then(|mut s| s.execute([seq]))
            .ctx(|| "updating commit_seq".to_string())?;
        self.conn
            .execute_batch("COMMIT")
            .ctx(|| "COMMIT".to_string())?;
        Ok(outcomes)
    }

    fn apply_one(&mut self, op: &Op, seq: i64) -> Result<OpOutcome, rusqlite::Error> {
        match op {
            Op::InsertEvent {
                event,
                received_at_ms,
            } => self.insert_event(event, *received_at_ms, seq),
            Op::PluginStatePut {
                instance,
                key,
                value,
            } => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO plugin_state (instance, key, value, change_seq)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (instance, key)
                         DO UPDATE SET value = excluded.value, change_seq = excluded.change_seq",
                    )?
                    .execute(params![instance, key, value, seq])?;
                Ok(OpOutcome::Done)
            }
            Op::PluginStateDelete { instance, key } => {
                self.conn
                    .prepare_cached("DELETE FROM plugin_state WHERE instance = ?1 AND key = ?2")?
                    .execute(params![instance, key])?;
                Ok(OpOutcome::Done)
            }
        }
    }

    fn insert_event(
        &mut self,
        e: &tocsin_abi::Event,
        received_at_ms: i64,
        seq: i64,
    ) -> Result<OpOutcome, rusqlite::Error> {
        let attributes = if e.attributes.is_empty() {
            "{}".to_string()
        } else {
            serde_json::to_string(&e.attributes)
                .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?
        };
        // Plain INSERT + changes() is measurably cheaper than RETURNING.
        let changed = self
            .conn
            .prepare_cached(
                "INSERT INTO events (source, source_event_id, kind, user, origin_host,
                    occurred_at, received_at, priority, summary, body, attributes, change_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (source, source_event_id) DO NOTHING",
            )?
            .execute(params![
                e.source,
                e.source_event_id,
                e.kind,
                e.user,
                e.origin_host,
                e.occurred_at_ms,
                received_at_ms,
                e.priority.as_u8(),
                e.summary,
                e.body,
                attributes,
                seq
            ])?;
        if changed == 1 {
            return Ok(OpOutcome::EventInserted {
                id: self.conn.last_insert_rowid(),
            });
        }
        let id: i64 = self
            .conn
            .prepare_cached("SELECT id FROM events WHERE source = ?1 AND source_event_id = ?2")?
            .query_row(params![e.source, e.source_event_id], |r| r.get(0))?;
        Ok(OpOutcome::EventDuplicate { id })
    }
}
