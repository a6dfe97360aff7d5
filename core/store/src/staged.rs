//! Delivery state changes staged in memory for the rest of a transaction.
//!
//! A delivery typically moves twice within one group commit (handed to a
//! plugin, then answered before the next commit), and every UPDATE of a
//! `deliveries` row rewrites the row and each index over a column it sets.
//! Transitions therefore only record their history row at once and fold
//! the row change into one staged entry per delivery; the staged rows are
//! written — one UPDATE each, setting only the columns that changed — before
//! any op that reads or writes other deliveries rows, and before COMMIT. A
//! later transition of the same row in the batch checks its expected state
//! against the staged one, so the outcome is exactly that of applying them
//! one by one.

use crate::deliveries::Transition;
use crate::open::Store;
use rusqlite::ToSql;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub(crate) struct StagedRow {
    pub state: &'static str,
    pub attempts: Option<u32>,
    pub next_attempt_at: Option<Option<i64>>,
    pub escalate_at: Option<Option<i64>>,
    pub last_error: Option<String>,
    pub now: i64,
}

impl StagedRow {
    fn absorb(&mut self, t: &Transition, now: i64) {
        self.state = t.to;
        self.now = now;
        if t.attempts.is_some() {
            self.attempts = t.attempts;
        }
        if t.next_attempt_at.is_some() {
            self.next_attempt_at = t.next_attempt_at;
        }
        if t.escalate_at.is_some() {
            self.escalate_at = t.escalate_at;
        }
        if t.last_error.is_some() {
            self.last_error.clone_from(&t.last_error);
        }
    }
}

pub(crate) type Staged = HashMap<i64, StagedRow>;

impl Store {
    /// The state of delivery `id` as this transaction sees it.
    pub(crate) fn current_state(&self, id: i64) -> rusqlite::Result<Option<String>> {
        if let Some(s) = self.staged.get(&id) {
            return Ok(Some(s.state.to_string()));
        }
        use rusqlite::OptionalExtension;
        self.conn
            .prepare_cached("SELECT state FROM deliveries WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()
    }

    pub(crate) fn stage(&mut self, t: &Transition, now: i64) {
        self.staged.entry(t.id).or_default().absorb(t, now);
    }

    /// Writes every staged row. Ids in ascending order, so the B-tree is
    /// walked forwards.
    pub(crate) fn flush_staged(&mut self, seq: i64) -> rusqlite::Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let mut rows: Vec<(i64, StagedRow)> = self.staged.drain().collect();
        rows.sort_unstable_by_key(|(id, _)| *id);
        for (id, r) in rows {
            let mut sql = String::from(
                "UPDATE deliveries SET state = :state, updated_at = :now, change_seq = :seq",
            );
            let mut params: Vec<(&str, &dyn ToSql)> = vec![
                (":id", &id),
                (":state", &r.state),
                (":now", &r.now),
                (":seq", &seq),
            ];
            if let Some(a) = &r.attempts {
                sql.push_str(", attempts = :attempts");
                params.push((":attempts", a));
            }
            if let Some(n) = &r.next_attempt_at {
                sql.push_str(", next_attempt_at = :next");
                params.push((":next", n));
            }
            if let Some(e) = &r.escalate_at {
                sql.push_str(", escalate_at = :esc");
                params.push((":esc", e));
            }
            if let Some(e) = &r.last_error {
                sql.push_str(", last_error = :err");
                params.push((":err", e));
            }
            sql.push_str(" WHERE id = :id");
            // At most 16 shapes, all kept in the statement cache.
            self.conn.prepare_cached(&sql)?.execute(params.as_slice())?;
        }
        Ok(())
    }
}
