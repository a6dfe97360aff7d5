//! WAL checkpoints on a helper thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL
//! over its threshold, on the loop thread: that commit (and every ACK
//! waiting on it) then also waits for the checkpoint's writes and its fsync
//! of the database file, which made the ACK latency's p99 a checkpoint's
//! duration. Here the loop's connection only counts WAL pages (its WAL hook
//! replaces the automatic checkpoint) and, past the threshold, nudges a
//! thread with its own connection to run a PASSIVE checkpoint, which never
//! blocks the writer. The idle and shutdown checkpoints (TRUNCATE) stay on
//! the loop, where nothing is waiting.

use crate::error::{Ctx, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// WAL pages after which a checkpoint is requested: SQLite's own default
/// for its automatic checkpoint (about 4 MiB with 4 KiB pages).
pub const CHECKPOINT_PAGES: i32 = 1000;

/// Owns the checkpoint thread; dropping it stops the thread after the
/// checkpoint in progress, if any.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    tx: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The loop side: cheap enough to call from the WAL hook of every commit.
#[derive(Debug, Clone)]
pub(crate) struct Nudge {
    tx: SyncSender<()>,
    /// Set while a request is queued or running, so a burst of commits over
    /// the threshold queues one checkpoint, not one per commit.
    busy: Arc<AtomicBool>,
}

impl Nudge {
    pub(crate) fn wal_pages(&self, pages: i32) {
        if pages < CHECKPOINT_PAGES || self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        match self.tx.try_send(()) {
            Ok(()) => {}
            // Already queued: that request covers this one.
            Err(TrySendError::Full(())) => {}
            // The thread is gone (it logged why); SQLite still works, the
            // WAL only grows until the next idle checkpoint.
            Err(TrySendError::Disconnected(())) => self.busy.store(false, Ordering::Release),
        }
    }
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Result<(Checkpointer, Nudge), StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ctx(|| format!("{}: opening the checkpoint connection", path.display()))?;
        // This connection never writes rows; it must not checkpoint on its
        // own schedule either.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .ctx(|| "disabling autocheckpoint on the checkpoint connection".to_string())?;
        let (tx, rx) = sync_channel(1);
        let busy = Arc::new(AtomicBool::new(false));
        let thread_busy = busy.clone();
        let db = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || run(conn, db, rx, thread_busy))
            .map_err(|source| StoreError::Io {
                context: "starting the checkpoint thread".to_string(),
                source,
            })?;
        Ok((
            Checkpointer {
                tx: Some(tx.clone()),
                thread: Some(thread),
            },
            Nudge { tx, busy },
        ))
    }
}

fn run(conn: Connection, db: PathBuf, rx: Receiver<()>, busy: Arc<AtomicBool>) {
    while rx.recv().is_ok() {
        // Cleared first: a commit that crosses the threshold while this
        // checkpoint runs queues the next one.
        busy.store(false, Ordering::Release);
        let r: rusqlite::Result<(i64, i64, i64)> =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            });
        match r {
            Ok((_, log, done)) => log::trace!("checkpoint: {done} of {log} WAL pages"),
            Err(e) => log::warn!("{}: background checkpoint failed: {e}", db.display()),
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The Nudge in the WAL hook holds a sender too, but the hook goes
        // with the loop's connection, which is dropped before this.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
