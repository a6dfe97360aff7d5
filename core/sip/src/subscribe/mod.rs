//! The subscriber side of RFC 6665 for `message-summary` (RFC 3842),
//! sans-IO: the caller moves bytes and time, this module decides what to
//! send and when.
//!
//! Drive it like this:
//! 1. [`Subscription::start`], then send every [`Subscription::poll_transmit`]
//!    datagram/segment to the PBX.
//! 2. Hand every received response ([`crate::Classified::Response`]) to
//!    [`Subscription::on_response`], every in-dialog NOTIFY to
//!    [`Subscription::on_notify`] (answer as its [`NotifyMatch`] says).
//! 3. Arm a timer for [`Subscription::next_timeout`] and call
//!    [`Subscription::on_timeout`] when it fires.
//! 4. After each call, drain `poll_transmit` and [`Subscription::poll_event`].

mod build;
mod client;
mod config;
mod ids;
mod timing;

pub use client::{NotifyMatch, Phase, Subscription, SubscriptionEvent, TerminationReason};
pub use config::{ConfigError, SubscriptionConfig, Transport};
pub use ids::{HashIds, IdGenerator};
pub use timing::refresh_delay;
