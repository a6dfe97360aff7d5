use crate::checkpointer::Checkpointer;
use crate::error::{Ctx, StoreError};
use crate::migrations::{APPLICATION_ID, SCHEMA_VERSION, migrate};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Run `PRAGMA quick_check` before returning (O(database size)).
    pub full_check: bool,
}

/// The read-write store. Owned by the daemon's loop thread.
#[derive(Debug)]
pub struct Store {
    // Declared before `checkpointer`: fields drop in order, and the WAL
    // hook inside the connection holds the checkpointer's channel open.
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) commit_seq: i64,
    /// Delivery row changes of the open transaction (see `staged.rs`).
    pub(crate) staged: crate::staged::Staged,
    // Held for its Drop, which stops the checkpoint thread.
    _checkpointer: Checkpointer,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Store {
    pub fn open(path: &Path, opts: OpenOptions) -> Result<Store, StoreError> {
        check_directory(path)?;
        check_header(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| map_open(path, e))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Query planner stability: plans never depend on bound values, so
        // cached statements are not re-prepared when a LIMIT or a compared
        // parameter changes (that cost 12% of the delivery path). The hot
        // queries name their index explicitly anyway.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(|e| map_open(path, e))?;
        // Reading the schema touches page 1 and the schema table: a file that
        // is not a database, or whose first page is damaged, fails here.
        let app_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| map_open(path, e))?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| map_open(path, e))?;
        let table_count: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| map_open(path, e))?;
        if app_id != APPLICATION_ID && (app_id != 0 || table_count > 0) {
            return Err(StoreError::ForeignDatabase {
                path: path.to_path_buf(),
                found: app_id,
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .ctx(|| format!("{}: setting journal_mode", path.display()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal {
                path: path.to_path_buf(),
                mode,
            });
        }
        // FULL: every commit is fsynced, because commits are acknowledged.
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA journal_size_limit = 67108864;",
        )
        .ctx(|| format!("{}: setting pragmas", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .ctx(|| "setting busy_timeout".to_string())?;
        if opts.full_check {
            crate::maintenance::run_quick_check(&conn, path)?;
        }
        migrate(&mut conn, version)?;
        let commit_seq: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'commit_seq'", [], |r| {
                r.get(0)
            })
            .ctx(|| format!("{}: reading commit_seq", path.display()))?;
        let (checkpointer, nudge) = Checkpointer::start(path)?;
        // Replaces SQLite's automatic checkpoint (see checkpointer.rs).
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
            nudge.wal_pages(pages);
            Ok(())
        }))
        .ctx(|| format!("{}: installing the WAL hook", path.display()))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            commit_seq,
            staged: Default::default(),
            _checkpointer: checkpointer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence number of the last committed batch.
    pub fn commit_seq(&self) -> i64 {
        self.commit_seq
    }

    /// Escape hatch for tests and benchmarks that measure raw SQLite.
    /// Opens a read transaction for a run of queries (the dispatcher's
    /// pass). A query outside any transaction takes and drops the WAL read
    /// lock around itself, two `fcntl` calls on the shared-memory file that
    /// cost more than a short indexed query; inside one they are paid once.
    /// Every query until [`Store::end_reads`] sees the same snapshot. A
    /// commit or checkpoint ends it first.
    pub fn begin_reads(&self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            self.conn
                .execute_batch("BEGIN DEFERRED")
                .ctx(|| "BEGIN DEFERRED".to_string())?;
        }
        Ok(())
    }

    /// Ends what [`Store::begin_reads`] opened (nothing was written in it).
    pub fn end_reads(&self) {
        if !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("COMMIT")
        {
            log::warn!("ending a read transaction: {e}");
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn map_open(path: &Path, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::NotADatabase
    {
        return StoreError::NotADatabase {
            path: path.to_path_buf(),
        };
    }
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::DatabaseCorrupt
    {
        return StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
    }
    StoreError::Sqlite {
        context: format!("cannot open database {}", path.display()),
        source: e,
    }
}

/// SQLite needs to create `-wal` and `-shm` files beside the database, so
/// the directory must be writable even when the file exists.
fn check_directory(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::NoDirectory { dir });
    }
    if nix::unistd::access(
        &dir,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .is_err()
    {
        return Err(StoreError::DirectoryNotWritable {
            dir,
            uid: nix::unistd::geteuid().as_raw(),
        });
    }
    Ok(())
}

/// Refuses a non-empty file that does not start with SQLite's magic, before
/// SQLite gets a chance to do anything to it.
fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                context: format!("cannot read {}", path.display()),
                source,
            });
        }
    };
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(source) => {
                return Err(StoreError::Io {
                    context: format!("cannot read {}", path.display()),
                    source,
                });
            }
        }
    }
    if got == 0 {
        return Ok(());
    }
    if got < head.len() || &head != SQLITE_MAGIC {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}
