//! The `imtp` delivery plugin (docs/plugins/imtp.md): notifications over IMTP
//! (draft-hudson-impp-transfer-proposal-01).
//!
//! - **server** for our own domains: IM clients authenticate and `listen` on their
//!   inbox; deliveries are pushed to them at once, and relaying servers we trust hand
//!   us `send`s for our users;
//! - **relay**: deliveries for other domains go to that domain's IMTP server (static
//!   route or DNS SRV `_im-servers._tcp`), over TLS, authenticated, pipelined;
//! - **PITP**: our users' presence (listening = available) for `fetch`/`subscribe`,
//!   and reported to the delivery engine for the subscriptions' presence policy.
//!
//! The protocol itself is the sans-IO `tocsin-imtp` crate; this crate is the glue to
//! the host's sockets and timers.

mod config;
mod deliver;
mod dns_tcp;
mod identity;
mod listeners;
mod payload;
mod pitp;
mod plugin;
mod push;
mod relay;
mod resolve;
mod secret;
mod server;
mod session;

pub use plugin::Imtp;

tocsin_sdk::export_delivery_plugin!(Imtp);
