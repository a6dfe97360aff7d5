//! The tocsin event model (shared by every ingest path) and, in later
//! modules, the C ABI spoken between `tocsind` and its plugins.

pub mod event;
pub mod ffi;
pub mod priority;

pub use event::{Event, EventError, Limits, validate_kind};
pub use priority::Priority;
