//! The durable store: one SQLite database in WAL mode with
//! `synchronous=FULL`, written only through group-committed batches.
//!
//! Every batch is one transaction and bumps the commit sequence; rows carry
//! the sequence of the commit that wrote them, so commits can later be
//! streamed in order to a standby node.

mod batch;
mod checkpointer;
mod deliveries;
mod error;
mod events;
mod maintenance;
mod migrations;
mod open;
mod staged;

pub use batch::{Batch, CommitReport, Op, OpError, OpOutcome};
pub use checkpointer::CHECKPOINT_PAGES;
pub use deliveries::{
    DeliveryFilter, DeliveryRecord, DueDelivery, DueKey, DueRow, HistoryEntry, NewDelivery,
    Transition, WAITING,
};
pub use error::StoreError;
pub use events::{EventFilter, StoredEvent};
pub use maintenance::{BackupReport, StoreStats, backup, quick_check};
pub use migrations::SCHEMA_VERSION;
pub use open::{OpenOptions, Store};

/// Milliseconds since the Unix epoch, the store's time unit.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
