//! Status figures, checkpoints, integrity checks and online backups.

use crate::error::{Ctx, StoreError};
use crate::open::Store;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub size_bytes: u64,
    pub wal_bytes: u64,
    pub events: i64,
    /// Unfinished deliveries: pending, retrying, in-flight and dead.
    pub deliveries_by_state: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub pages: i64,
}

fn wal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

impl Store {
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let size_bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let wal_bytes = std::fs::metadata(wal_path(&self.path))
            .map(|m| m.len())
            .unwrap_or(0);
        let events: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM events")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .ctx(|| "counting events".to_string())?;
        // Each count walks an index that holds only rows of its states.
        let count = |sql: &str| -> Result<Vec<(String, i64)>, StoreError> {
            self.conn
                .prepare_cached(sql)
                .and_then(|mut st| {
                    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .ctx(|| "counting deliveries".to_string())
        };
        let mut deliveries_by_state = count(
            "SELECT state, count(*) FROM deliveries INDEXED BY deliveries_due
             WHERE state IN ('pending', 'retrying') GROUP BY state",
        )?;
        deliveries_by_state.extend(count(
            "SELECT 'in-flight', count(*) FROM deliveries INDEXED BY deliveries_queue
             WHERE (state IN ('retrying', 'in-flight') OR (state = 'pending' AND attempts > 0))
               AND state = 'in-flight'",
        )?);
        deliveries_by_state.extend(count(
            "SELECT 'dead', count(*) FROM deliveries INDEXED BY deliveries_dead
             WHERE state = 'dead'",
        )?);
        Ok(StoreStats {
            size_bytes,
            wal_bytes,
            events,
            deliveries_by_state,
        })
    }

    pub fn schema_version(&self) -> i64 {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap_or(-1)
    }

    /// Folds the WAL into the database; `truncate` also shrinks the WAL
    /// file to zero (done when idle and at shutdown).
    pub fn checkpoint(&self, truncate: bool) -> Result<(), StoreError> {
        self.end_reads();
        let mode = if truncate { "TRUNCATE" } else { "PASSIVE" };
        self.conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
            .ctx(|| format!("wal_checkpoint({mode})"))
    }
}

pub(crate) fn run_quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(20)")
        .map_err(|e| corrupt(path, e))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| corrupt(path, e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: rows.join("; "),
        })
    }
}

fn corrupt(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Runs `PRAGMA quick_check` on its own read-only connection, so it can
/// run on a helper thread while the daemon keeps writing.
pub fn quick_check(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| corrupt(path, e))?;
    run_quick_check(&conn, path)
}

/// Copies a live database with SQLite's online backup API into `dest`
/// (written beside it as a temporary file, then renamed, so `dest` is
/// either absent or complete).
pub fn backup(src: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    let from = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ctx(|| format!("opening {} for backup", src.display()))?;
    let mut tmp = dest.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut to =
        Connection::open(&tmp).ctx(|| format!("creating backup file {}", tmp.display()))?;
    let pages = {
        let b =
            rusqlite::backup::Backup::new(&from, &mut to).ctx(|| "starting backup".to_string())?;
        b.run_to_completion(1024, Duration::from_millis(1), None)
            .ctx(|| format!("copying {} to {}", src.display(), tmp.display()))?;
        b.progress().pagecount as i64
    };
    // The copy inherits WAL mode; a backup file is easier to move around
    // as a single self-contained file.
    to.pragma_update(None, "journal_mode", "DELETE")
        .ctx(|| "finishing backup".to_string())?;
    drop(to);
    std::fs::rename(&tmp, dest).map_err(|source| StoreError::Io {
        context: format!("renaming {} to {}", tmp.display(), dest.display()),
        source,
    })?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        path: dest.to_path_buf(),
        bytes,
        pages,
    })
}
