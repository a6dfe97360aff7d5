//! Helpers for end-to-end tests: locate the workspace's binaries, run a
//! real tocsind in a temporary directory, talk to it with tocsinctl.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod daemon;
pub mod lines;
pub mod paths;
pub mod pki;
pub mod s2s;

pub use daemon::{CtlOutput, TestDaemon};
pub use lines::LineClient;
pub use paths::{bin, require_root, target_dir};
pub use pki::{CertPair, TestPki};
