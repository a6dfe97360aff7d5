//! Routing rules as pure functions of their inputs (the clock and the
//! random source are parameters), so every rule is unit-tested without
//! sleeps: subscription specs and their validation, glob matching,
//! `{field}` templates, quiet hours in a time zone, jittered backoff.

pub mod backoff;
pub mod glob;
pub mod quiet;
pub mod spec;
pub mod template;

pub use backoff::RetryPolicy;
pub use quiet::{QuietAction, QuietHours, QuietVerdict};
pub use spec::{Options, PresencePolicy, RateLimit, Receipts, SpecError, SubscriptionSpec, Target};
pub use template::{Template, TemplateError};
