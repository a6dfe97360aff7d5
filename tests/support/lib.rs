//! Helpers for end-to-end tests: locate the workspace's binaries, run a
//! real tocsind in a temporary directory, talk to it with tocsinctl, and run
//! the real peers (Dovecot) the plugins serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod daemon;
pub mod dns;
pub mod dovecot;
pub mod http_client;
pub mod imtp;
pub mod lines;
pub mod lmtp;
pub mod paths;
pub mod pki;
pub mod s2s;
pub mod sip;
pub mod tcp_recorder;

pub use daemon::{CtlOutput, TestDaemon};
pub use dovecot::PrivateDovecot;
pub use http_client::{HttpClient, HttpResponse};
pub use lines::LineClient;
pub use lmtp::LmtpClient;
pub use paths::{bin, require_root, target_dir};
pub use pki::{CertPair, TestPki};
pub use tcp_recorder::TcpRecorder;
