//! Work that must not block the loop (integrity checks, backups) runs on a
//! helper thread and reports back through a channel and the loop's waker.

use crate::admin::ConnRef;
use mio::Waker;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use tocsin_store::BackupReport;

pub enum JobResult {
    Integrity(Result<(), String>),
    Backup {
        conn: ConnRef,
        result: Result<BackupReport, String>,
    },
}

pub struct Jobs {
    tx: Sender<JobResult>,
    rx: Receiver<JobResult>,
    waker: Arc<Waker>,
}

impl Jobs {
    pub fn new(waker: Arc<Waker>) -> Self {
        let (tx, rx) = channel();
        Jobs { tx, rx, waker }
    }

    fn spawn(&self, name: &str, f: impl FnOnce() -> JobResult + Send + 'static) {
        let tx = self.tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _ = tx.send(f());
                let _ = waker.wake();
            });
        if let Err(e) = spawned {
            log::error!("cannot start {name} thread: {e}");
        }
    }

    pub fn integrity_check(&self, db: PathBuf) {
        self.spawn("integrity-check", move || {
            JobResult::Integrity(tocsin_store::quick_check(&db).map_err(|e| e.to_string()))
        });
    }

    pub fn backup(&self, conn: ConnRef, db: PathBuf, dest: PathBuf) {
        self.spawn("db-backup", move || JobResult::Backup {
            conn,
            result: tocsin_store::backup(&db, &dest).map_err(|e| e.to_string()),
        });
    }

    pub fn drain(&self) -> Vec<JobResult> {
        self.rx.try_iter().collect()
    }
}
