//! Schema migrations keyed on `PRAGMA user_version`: migration N moves the
//! schema from N-1 to N inside one transaction.

use crate::error::StoreError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_source_progress.sql"),
    include_str!("../migrations/0003_drop_events_by_user.sql"),
    include_str!("../migrations/0004_narrow_queue_index.sql"),
    include_str!("../migrations/0005_covering_due_index.sql"),
    include_str!("../migrations/0006_state_indexes.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `PRAGMA application_id` of tocsin databases ("tocs").
pub const APPLICATION_ID: i64 = 0x746f_6373;

pub(crate) fn migrate(conn: &mut Connection, from: i64) -> Result<(), StoreError> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let version = i as i64 + 1;
        let wrap = |source| StoreError::Migration { version, source };
        let tx = conn.transaction().map_err(wrap)?;
        tx.execute_batch(sql).map_err(wrap)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(wrap)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        log::info!("database schema migrated to version {version}");
    }
    Ok(())
}
