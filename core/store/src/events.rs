//! Reading events back (admin queries).

use crate::error::{Ctx, StoreError};
use crate::open::Store;
use rusqlite::{OptionalExtension, Row};
use std::collections::BTreeMap;
use tocsin_abi::{Event, Priority};

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub received_at_ms: i64,
    pub change_seq: i64,
    pub event: Event,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub before_id: Option<i64>,
    pub user: Option<String>,
    pub kind: Option<String>,
    pub limit: u32,
}

const COLUMNS: &str = "id, source, source_event_id, kind, user, origin_host, occurred_at,
    received_at, priority, summary, body, attributes, change_seq";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let prio: u8 = r.get(8)?;
    let attrs: String = r.get(11)?;
    let attributes: BTreeMap<String, String> = serde_json::from_str(&attrs).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(StoredEvent {
        id: r.get(0)?,
        received_at_ms: r.get(7)?,
        change_seq: r.get(12)?,
        event: Event {
            source: r.get(1)?,
            source_event_id: r.get(2)?,
            kind: r.get(3)?,
            user: r.get(4)?,
            origin_host: r.get(5)?,
            occurred_at_ms: r.get(6)?,
            priority: Priority::from_u8(prio).unwrap_or_default(),
            summary: r.get(9)?,
            body: r.get(10)?,
            attributes,
        },
    })
}

impl Store {
    pub fn event(&self, id: i64) -> Result<Option<StoredEvent>, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE id = ?1"))
            .and_then(|mut s| s.query_row([id], from_row).optional())
            .ctx(|| format!("reading event {id}"))
    }

    /// Newest first, paged by `before_id`.
    pub fn list_events(&self, f: &EventFilter) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events
             WHERE id < ?1 AND (?2 IS NULL OR user = ?2) AND (?3 IS NULL OR kind = ?3)
             ORDER BY id DESC LIMIT ?4"
        );
        let before = f.before_id.unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .ctx(|| "preparing event list".to_string())?;
        let rows = stmt
            .query_map(
                rusqlite::params![before, f.user, f.kind, f.limit.min(10_000)],
                from_row,
            )
            .ctx(|| "listing events".to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx(|| "listing events".to_string())
    }
}

impl Store {
    /// The source_event_id of the event `source` stored most recently (in
    /// commit order), if it stored any: the S2S resume point.
    pub fn source_resume(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT last_event_id FROM source_progress WHERE source = ?1")
            .and_then(|mut s| s.query_row([source], |r| r.get(0)).optional())
            .ctx(|| format!("reading the resume point of source {source}"))
    }
}

impl Store {
    /// A plugin instance's saved key/value state.
    pub fn plugin_state(
        &self,
        instance: &str,
    ) -> Result<std::collections::HashMap<Vec<u8>, Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM plugin_state WHERE instance = ?1")
            .ctx(|| "reading plugin state".to_string())?;
        let rows = stmt
            .query_map([instance], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .ctx(|| "reading plugin state".to_string())?;
        rows.collect::<Result<_, _>>()
            .ctx(|| "reading plugin state".to_string())
    }
}
