//! The `mail` source plugin: mail store notifications → tocsin events.
//!
//! Three optional inputs per instance (see docs/plugins/mail.md):
//!
//! - an HTTP/1.1 listener (`http_listen`) with two kinds of path: **ox paths** take
//!   Dovecot's push_notification ox driver PUTs, **generic paths** take tocsin's generic
//!   RFC 5423 JSON (PUT or POST). Basic auth, strict limits (tocsin-httpcodec), keep-alive,
//!   and a 2xx only once the event is committed (or was already: Dovecot's retry is a
//!   duplicate, answered 200, stored once);
//! - a unix datagram socket (`cyrus_socket`) for Cyrus notifyd datagrams;
//!
//! Every notification goes through [`prepare`]: parse (tocsin-mailevents), idempotency
//! key, user mapping, event filter, event building ([`mapping`]). Protocol logic stays in
//! the sans-IO codec crates; this crate glues them to the host.

mod config;
mod cyrus_socket;
mod filter;
mod http_route;
mod http_service;
mod key;
mod log_limit;
mod mapping;
mod plugin;
mod prepare;
mod responses;
mod template;

pub use plugin::MailSource;

tocsin_sdk::export_source_plugin!(MailSource);
