//! End-to-end tests with the real binaries. Build the workspace first
//! (`tests/run` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_socket;
mod config_errors;
mod deliveries;
mod durability;
mod imtp;
mod lifecycle;
mod mail;
mod plugin_tls;
mod plugins;
mod s2s;
mod voicemail;
