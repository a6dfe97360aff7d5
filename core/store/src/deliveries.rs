//! Deliveries: one row per (event, target), every state change persisted
//! with a history row in the same transaction.

use crate::error::{Ctx, StoreError};
use crate::open::Store;
use rusqlite::{OptionalExtension, Row, params};

/// Waiting states the scheduler may dispatch.
pub const WAITING: [&str; 2] = ["pending", "retrying"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub subscription_id: Option<i64>,
    pub target_instance: String,
    pub target_address: String,
    pub user: String,
    /// "pending" normally; "dropped" (quiet hours) is recorded too.
    pub state: &'static str,
    pub next_attempt_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub message_id: String,
    pub coalesce_key: Option<String>,
    pub priority: u8,
    pub flags: u32,
    pub summary: String,
    pub body: String,
    /// History note for the creation ("held for quiet hours until …").
    pub detail: String,
    pub escalated_from: Option<i64>,
}

/// A state change, applied only if the row is still in one of `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub id: i64,
    pub from: &'static [&'static str],
    pub to: &'static str,
    pub attempts: Option<u32>,
    /// `Some(None)` clears it.
    pub next_attempt_at: Option<Option<i64>>,
    pub escalate_at: Option<Option<i64>>,
    pub last_error: Option<String>,
    pub detail: String,
}

/// The columns of a due row the dispatcher filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueKey<'a> {
    pub id: i64,
    pub expires_at: Option<i64>,
    pub user: &'a str,
    pub target_instance: &'a str,
    pub target_address: &'a str,
}

/// A due row as the dispatcher first sees it: the columns of
/// `deliveries_due`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRow {
    pub id: i64,
    pub expires_at: Option<i64>,
    pub user: String,
    pub target_instance: String,
    pub target_address: String,
    pub state: String,
    pub next_attempt_at: Option<i64>,
}

/// A delivery ready to hand to a plugin, joined with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: i64,
    pub event_id: i64,
    pub subscription_id: Option<i64>,
    pub target_instance: String,
    pub target_address: String,
    pub user: String,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub message_id: String,
    pub priority: u8,
    pub flags: u32,
    pub summary: String,
    pub body: String,
    pub kind: String,
    pub source: String,
    pub occurred_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub event_id: i64,
    pub subscription_id: Option<i64>,
    pub target_instance: String,
    pub target_address: String,
    pub user: String,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub escalate_at: Option<i64>,
    pub last_error: Option<String>,
    pub message_id: String,
    pub coalesce_key: Option<String>,
    pub priority: u8,
    pub flags: u32,
    pub summary: String,
    pub body: String,
    pub escalated_from: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    pub at: i64,
    pub from_state: Option<String>,
    pub to_state: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<String>,
    pub user: Option<String>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

const RECORD_COLS: &str = "id, event_id, subscription_id, target_instance, target_address, user,
    state, attempts, next_attempt_at, expires_at, escalate_at, last_error, message_id,
    coalesce_key, priority, flags, summary, body, escalated_from, created_at, updated_at";

fn record(r: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.get(0)?,
        event_id: r.get(1)?,
        subscription_id: r.get(2)?,
        target_instance: r.get(3)?,
        target_address: r.get(4)?,
        user: r.get(5)?,
        state: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        expires_at: r.get(9)?,
        escalate_at: r.get(10)?,
        last_error: r.get(11)?,
        message_id: r.get(12)?,
        coalesce_key: r.get(13)?,
        priority: r.get(14)?,
        flags: r.get(15)?,
        summary: r.get(16)?,
        body: r.get(17)?,
        escalated_from: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}

impl Store {
    pub(crate) fn history(
        &self,
        id: i64,
        from: Option<&str>,
        to: &str,
        detail: &str,
        now: i64,
        seq: i64,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO delivery_history (delivery_id, at, from_state, to_state, detail, change_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![id, now, from, to, detail, seq])?;
        Ok(())
    }

    pub(crate) fn insert_delivery(
        &self,
        event_id: i64,
        d: &NewDelivery,
        now: i64,
        seq: i64,
    ) -> rusqlite::Result<i64> {
        // A newer notification with the same key replaces older ones that
        // have not been handed to a plugin yet.
        let mut replaced = Vec::new();
        if let Some(key) = &d.coalesce_key {
            let mut st = self.conn.prepare_cached(
                "SELECT id, state FROM deliveries INDEXED BY deliveries_coalesce
                 WHERE subscription_id IS ?1 AND coalesce_key = ?2
                   AND coalesce_key IS NOT NULL AND state IN ('pending', 'retrying')",
            )?;
            let rows = st.query_map(params![d.subscription_id, key], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                replaced.push(row?);
            }
        }
        self.conn
            .prepare_cached(
                "INSERT INTO deliveries (event_id, subscription_id, target_instance, target_address,
                    user, state, next_attempt_at, expires_at, message_id, coalesce_key, priority,
                    flags, summary, body, escalated_from, created_at, updated_at, change_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17)",
            )?
            .execute(params![
                event_id,
                d.subscription_id,
                d.target_instance,
                d.target_address,
                d.user,
                d.state,
                d.next_attempt_at,
                d.expires_at,
                d.message_id,
                d.coalesce_key,
                d.priority,
                d.flags,
                d.summary,
                d.body,
                d.escalated_from,
                now,
                seq
            ])?;
        let id = self.conn.last_insert_rowid();
        self.history(id, None, d.state, &d.detail, now, seq)?;
        for (old, state) in replaced {
            self.conn
                .prepare_cached(
                    "UPDATE deliveries SET state = 'coalesced', next_attempt_at = NULL,
                        updated_at = ?2, change_seq = ?3 WHERE id = ?1",
                )?
                .execute(params![old, now, seq])?;
            self.history(
                old,
                Some(&state),
                "coalesced",
                &format!("replaced by delivery {id}"),
                now,
                seq,
            )?;
        }
        Ok(id)
    }

    /// Applies a transition; `Ok(false)` when the row was not in an
    /// expected state any more (someone else moved it). The history row is
    /// written now; the row change is staged (see `staged.rs`).
    pub(crate) fn transition(
        &mut self,
        t: &Transition,
        now: i64,
        seq: i64,
    ) -> rusqlite::Result<bool> {
        let Some(current) = self.current_state(t.id)? else {
            return Ok(false);
        };
        if !t.from.contains(&current.as_str()) {
            return Ok(false);
        }
        self.history(t.id, Some(&current), t.to, &t.detail, now, seq)?;
        self.stage(t, now);
        Ok(true)
    }

    /// Due deliveries in due order (index `deliveries_due`).
    pub fn due_deliveries(&self, now: i64, limit: u32) -> Result<Vec<DueDelivery>, StoreError> {
        let outer = !self.conn.is_autocommit();
        if !outer {
            self.begin_reads()?;
        }
        let read = || {
            let rows = self.due_rows_where(now, limit, limit, |_| true)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.extend(self.due_delivery(r.id)?);
            }
            Ok(out)
        };
        let out = read();
        if !outer {
            self.end_reads();
        }
        out
    }

    /// Due rows in due order, read from `deliveries_due` alone (the index
    /// covers the columns of [`DueRow`]): up to `limit` rows that `keep`
    /// accepts, among at most the first `scan` due rows. `keep` sees the
    /// columns borrowed, so a refused row costs no allocation. Most due rows
    /// of a large backlog belong to recipients that are busy; the dispatcher
    /// reads a row whole ([`Store::due_delivery`]) only once it is about to
    /// hand it out.
    pub fn due_rows_where(
        &self,
        now: i64,
        limit: u32,
        scan: u32,
        mut keep: impl FnMut(&DueKey<'_>) -> bool,
    ) -> Result<Vec<DueRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, expires_at, target_instance, target_address, user, state, next_attempt_at
                 FROM deliveries INDEXED BY deliveries_due
                 WHERE state IN ('pending', 'retrying') AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at LIMIT ?2",
            )
            .ctx(|| "preparing due query".into())?;
        let mut rows = st
            .query(params![now, scan.max(limit)])
            .ctx(|| "querying due deliveries".into())?;
        let mut out = Vec::new();
        while out.len() < limit as usize
            && let Some(r) = rows.next().ctx(|| "querying due deliveries".into())?
        {
            let row = (|| -> rusqlite::Result<Option<DueRow>> {
                let key = DueKey {
                    id: r.get(0)?,
                    expires_at: r.get(1)?,
                    target_instance: r.get_ref(2)?.as_str()?,
                    target_address: r.get_ref(3)?.as_str()?,
                    user: r.get_ref(4)?.as_str()?,
                };
                if !keep(&key) {
                    return Ok(None);
                }
                Ok(Some(DueRow {
                    id: key.id,
                    expires_at: key.expires_at,
                    target_instance: key.target_instance.to_owned(),
                    target_address: key.target_address.to_owned(),
                    user: key.user.to_owned(),
                    state: r.get(5)?,
                    next_attempt_at: r.get(6)?,
                }))
            })()
            .ctx(|| "reading a due delivery".into())?;
            out.extend(row);
        }
        Ok(out)
    }

    /// One delivery read whole with its event, for handing it out.
    pub fn due_delivery(&self, id: i64) -> Result<Option<DueDelivery>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT d.event_id, d.subscription_id, d.target_instance, d.target_address,
                        d.user, d.state, d.attempts, d.next_attempt_at, d.expires_at, d.message_id,
                        d.priority, d.flags, d.summary, d.body, e.kind, e.source, e.occurred_at
                 FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?1",
            )
            .and_then(|mut st| {
                st.query_row([id], |r| {
                    Ok(DueDelivery {
                        id,
                        event_id: r.get(0)?,
                        subscription_id: r.get(1)?,
                        target_instance: r.get(2)?,
                        target_address: r.get(3)?,
                        user: r.get(4)?,
                        state: r.get(5)?,
                        attempts: r.get(6)?,
                        next_attempt_at: r.get(7)?,
                        expires_at: r.get(8)?,
                        message_id: r.get(9)?,
                        priority: r.get(10)?,
                        flags: r.get(11)?,
                        summary: r.get(12)?,
                        body: r.get(13)?,
                        kind: r.get(14)?,
                        source: r.get(15)?,
                        occurred_at_ms: r.get(16)?,
                    })
                })
                .optional()
            })
            .ctx(|| format!("reading due delivery {id}"))
    }

    /// Waiting deliveries to one target that are deferred past `now` (held
    /// until the recipient is present, or waiting to retry), oldest first,
    /// at most `limit`. Walks the future part of `deliveries_due`, so the
    /// cost follows the number of deferred rows, not the table.
    pub fn deferred_for_target(
        &self,
        instance: &str,
        address: &str,
        now: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, state FROM deliveries INDEXED BY deliveries_due
                 WHERE state IN ('pending', 'retrying') AND next_attempt_at > ?3
                   AND target_instance = ?1 AND target_address = ?2
                 ORDER BY next_attempt_at LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(params![instance, address, now, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .ctx(|| format!("querying deferred deliveries to {instance}:{address}"))
    }

    /// When the next waiting delivery is due.
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_due
                 WHERE state IN ('pending', 'retrying') AND next_attempt_at IS NOT NULL
                 ORDER BY next_attempt_at LIMIT 1",
            )
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .ctx(|| "querying next due".into())
    }

    /// The oldest deliveries (up to 64, twice the largest recipient window) queued before `id` for the same
    /// (user, target) that were handed out before and are not finished: in
    /// flight, retrying, or pending again after a failed hand-over or a
    /// restart. They keep their place in the recipient's queue. Fresh
    /// pending rows are not returned: the dispatcher walks due rows in due
    /// order, so an older fresh row that is due is reached first, and one
    /// deliberately held for later (quiet hours, presence) must not block an
    /// urgent notification that bypasses the hold.
    pub fn older_unfinished(
        &self,
        user: &str,
        instance: &str,
        address: &str,
        id: i64,
    ) -> Result<Vec<(i64, String, Option<i64>)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, state, next_attempt_at FROM deliveries INDEXED BY deliveries_queue
                 WHERE user = ?1 AND target_instance = ?2 AND target_address = ?3 AND id < ?4
                   AND (state IN ('retrying', 'in-flight') OR (state = 'pending' AND attempts > 0))
                 ORDER BY user, target_instance, target_address, id LIMIT 64",
            )
            .and_then(|mut s| {
                s.query_map(params![user, instance, address, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .ctx(|| "querying queue order".into())
    }

    /// Deliveries whose display receipt is overdue (escalation).
    pub fn escalations_due(&self, now: i64, limit: u32) -> Result<Vec<DeliveryRecord>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLS} FROM deliveries INDEXED BY deliveries_escalate
                 WHERE escalate_at IS NOT NULL AND escalate_at <= ?1
                 ORDER BY escalate_at LIMIT ?2"
            ))
            .ctx(|| "preparing escalation query".into())?;
        let rows = st
            .query_map(params![now, limit], record)
            .ctx(|| "querying escalations".into())?;
        rows.collect::<Result<_, _>>()
            .ctx(|| "querying escalations".into())
    }

    pub fn next_escalation(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT escalate_at FROM deliveries INDEXED BY deliveries_escalate
                 WHERE escalate_at IS NOT NULL
                 ORDER BY escalate_at LIMIT 1",
            )
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .ctx(|| "querying next escalation".into())
    }

    pub fn delivery(&self, id: i64) -> Result<Option<DeliveryRecord>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLS} FROM deliveries WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([id], record).optional())
            .ctx(|| format!("reading delivery {id}"))
    }

    pub fn delivery_by_message_id(&self, mid: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLS} FROM deliveries WHERE message_id = ?1"
            ))
            .and_then(|mut s| s.query_row([mid], record).optional())
            .ctx(|| "reading delivery by message id".into())
    }

    pub fn delivery_history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT at, from_state, to_state, detail FROM delivery_history
                 WHERE delivery_id = ?1 ORDER BY id",
            )
            .ctx(|| "preparing history".into())?;
        let rows = st
            .query_map([id], |r| {
                Ok(HistoryEntry {
                    at: r.get(0)?,
                    from_state: r.get(1)?,
                    to_state: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
            .ctx(|| "reading history".into())?;
        rows.collect::<Result<_, _>>()
            .ctx(|| "reading history".into())
    }

    /// Deliveries created by escalating `id`.
    pub fn escalations_of(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM deliveries WHERE escalated_from = ?1 ORDER BY id")
            .ctx(|| "preparing escalation chain".into())?;
        let rows = st
            .query_map([id], |r| r.get(0))
            .ctx(|| "reading escalation chain".into())?;
        rows.collect::<Result<_, _>>()
            .ctx(|| "reading escalation chain".into())
    }

    pub fn list_deliveries(&self, f: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLS} FROM deliveries
                 WHERE id < ?1 AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR user = ?3)
                 ORDER BY id DESC LIMIT ?4"
            ))
            .ctx(|| "preparing delivery list".into())?;
        let rows = st
            .query_map(
                params![
                    f.before_id.unwrap_or(i64::MAX),
                    f.state,
                    f.user,
                    f.limit.min(10_000)
                ],
                record,
            )
            .ctx(|| "listing deliveries".into())?;
        rows.collect::<Result<_, _>>()
            .ctx(|| "listing deliveries".into())
    }

    /// All subscriptions: (id, spec JSON, created_at).
    pub fn subscriptions(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, spec, created_at FROM subscriptions ORDER BY id")
            .ctx(|| "preparing subscription list".into())?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ctx(|| "listing subscriptions".into())?;
        rows.collect::<Result<_, _>>()
            .ctx(|| "listing subscriptions".into())
    }

    /// The query plan of the scheduler's due scan (shown in docs and
    /// asserted by a test: it must read the partial index alone).
    pub fn explain_due_query(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN
                 SELECT id, expires_at, target_instance, target_address, user
                 FROM deliveries INDEXED BY deliveries_due
                 WHERE state IN ('pending', 'retrying') AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at LIMIT ?2",
            )
            .ctx(|| "explain".into())?;
        let rows = st
            .query_map(params![0, 100], |r| r.get::<_, String>(3))
            .ctx(|| "explain".into())?;
        rows.collect::<Result<_, _>>().ctx(|| "explain".into())
    }
}
