//! The plugin SDK: implement [`Plugin`] plus [`SourcePlugin`] or
//! [`DeliveryPlugin`] in ordinary safe Rust and export it with
//! [`export_source_plugin!`] / [`export_delivery_plugin!`]. The SDK owns the
//! C ABI: every exported function runs under `catch_unwind`, so a panic in
//! plugin code becomes `ERR_PANIC` for the host (which marks the instance
//! failed) instead of unwinding across `extern "C"` (an abort).
//!
//! `log::info!` and friends in a plugin are forwarded to the daemon's log,
//! tagged with the instance name.
#![allow(unsafe_code)] // the ABI boundary; every block says why it is sound

mod host;
mod logger;
mod types;

#[doc(hidden)]
pub mod __private;

pub use host::{Host, HostError};
pub use tocsin_abi::Priority;
pub use tocsin_abi::ffi;
pub use types::*;

/// Callbacks common to both plugin kinds. Everything runs on the daemon's
/// event-loop thread; never block in a callback.
pub trait Plugin: Sized + 'static {
    /// The plugin's name (what `plugin = "…"` in plugins.d refers to).
    const NAME: &'static str;
    const VERSION: &'static str;

    /// Builds an instance from its `[config]` table (TOML text). Keep the
    /// `Host`: it is valid for the instance's whole life.
    fn create(host: Host, instance: &str, config: &str) -> Result<Self, String>;

    /// Checks a config without creating anything (`config check`).
    fn validate_config(_config: &str) -> Result<(), String> {
        Ok(())
    }

    /// A listener accepted `conn` from `peer`.
    fn on_accept(&mut self, _listener: Handle, _conn: Handle, _peer: &str) {}
    /// Bytes arrived on a stream connection.
    fn on_data(&mut self, _conn: Handle, _data: &[u8]) {}
    /// A datagram arrived on a bound socket.
    fn on_datagram(&mut self, _sock: Handle, _data: &[u8], _peer: &str) {}
    /// The connection's output buffer drained after `send` said
    /// `WouldBlock`.
    fn on_writable(&mut self, _conn: Handle) {}
    /// The connection is gone (peer closed, error, or our `close` done).
    fn on_closed(&mut self, _conn: Handle, _reason: &str) {}
    /// An outgoing `connect` finished.
    fn on_connected(&mut self, _conn: Handle, _result: Result<(), String>) {}
    fn on_timer(&mut self, _timer: TimerId) {}
}

/// A plugin that turns foreign input into events.
pub trait SourcePlugin: Plugin {
    /// The event emitted with `token` was committed (or refused).
    fn on_committed(&mut self, token: u64, result: CommitResult);
}

/// A plugin that delivers notifications.
pub trait DeliveryPlugin: Plugin {
    /// Deliver `d`; answer with `Host::delivery_result(d.delivery_id, …)`
    /// now or later.
    fn deliver(&mut self, d: Delivery<'_>);
}

/// Exports a [`SourcePlugin`] as a tocsin plugin library.
#[macro_export]
macro_rules! export_source_plugin {
    ($t:ty) => {
        static __TOCSIN_VTABLE: $crate::ffi::TocsinPluginVtable = $crate::__private::vtable::<$t>(
            $crate::__private::source_committed::<$t>,
            $crate::__private::no_deliver,
        );
        static __TOCSIN_DESCRIPTOR: $crate::__private::StaticDescriptor =
            $crate::__private::descriptor::<$t>($crate::ffi::KIND_SOURCE, &__TOCSIN_VTABLE);
        /// The plugin entry point the host looks up.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn tocsin_plugin_entry() -> *const $crate::ffi::TocsinPluginDescriptor {
            __TOCSIN_DESCRIPTOR.as_ptr()
        }
    };
}

/// Exports a [`DeliveryPlugin`] as a tocsin plugin library.
#[macro_export]
macro_rules! export_delivery_plugin {
    ($t:ty) => {
        static __TOCSIN_VTABLE: $crate::ffi::TocsinPluginVtable = $crate::__private::vtable::<$t>(
            $crate::__private::no_committed,
            $crate::__private::delivery_deliver::<$t>,
        );
        static __TOCSIN_DESCRIPTOR: $crate::__private::StaticDescriptor =
            $crate::__private::descriptor::<$t>($crate::ffi::KIND_DELIVERY, &__TOCSIN_VTABLE);
        /// The plugin entry point the host looks up.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn tocsin_plugin_entry() -> *const $crate::ffi::TocsinPluginDescriptor {
            __TOCSIN_DESCRIPTOR.as_ptr()
        }
    };
}
