//! The plugin C ABI, version 1. Mirrored for C authors in
//! `core/abi/include/tocsin_plugin.h`; the contract (ownership, threading,
//! versioning) is in `docs/plugin-abi.md`.
//!
//! Rules that keep this boundary sound:
//! - only `#[repr(C)]` structs, fixed-width integers, `ptr + len` slices,
//!   opaque `void *` handles and `extern "C"` function pointers cross it;
//! - every struct that may grow starts with `struct_size`, and a reader
//!   reads a field only when `struct_size` covers it (minor versions append);
//! - enumerations travel as integers and are validated on arrival;
//! - whoever allocates frees: slices are borrowed for the duration of the
//!   call; data going back to a caller is copied into the caller's buffer.

use std::ffi::c_void;

pub const ABI_MAJOR: u16 = 1;
pub const ABI_MINOR: u16 = 0;

/// The one symbol every plugin exports:
/// `const TocsinPluginDescriptor *tocsin_plugin_entry(void);`
pub const ENTRY_SYMBOL: &str = "tocsin_plugin_entry";

pub type EntryFn = unsafe extern "C" fn() -> *const TocsinPluginDescriptor;

/// Status codes returned across the boundary in both directions.
pub type Status = i32;
pub const OK: Status = 0;
pub const ERR_INVALID: Status = -1;
pub const ERR_NOT_FOUND: Status = -2;
pub const ERR_WOULD_BLOCK: Status = -3;
pub const ERR_IO: Status = -4;
pub const ERR_UNSUPPORTED: Status = -5;
pub const ERR_REJECTED: Status = -6;
pub const ERR_PANIC: Status = -7;
pub const ERR_CLOSED: Status = -8;
pub const ERR_FAILED: Status = -9;
pub const ERR_CONFIG: Status = -10;
pub const ERR_TOO_SMALL: Status = -11;
pub const ERR_LIMIT: Status = -12;

pub const KIND_SOURCE: u32 = 1;
pub const KIND_DELIVERY: u32 = 2;

pub const SOCK_TCP: u32 = 1;
pub const SOCK_UNIX_STREAM: u32 = 2;
pub const SOCK_UDP: u32 = 3;
pub const SOCK_UNIX_DGRAM: u32 = 4;

pub const TLS_REQUIRE_CLIENT_CERT: u32 = 1;

pub const LOG_ERROR: u32 = 1;
pub const LOG_WARN: u32 = 2;
pub const LOG_INFO: u32 = 3;
pub const LOG_DEBUG: u32 = 4;
pub const LOG_TRACE: u32 = 5;

pub const OUTCOME_SENT: u32 = 1;
pub const OUTCOME_DELIVERED: u32 = 2;
pub const OUTCOME_RETRY: u32 = 3;
pub const OUTCOME_PERMANENT: u32 = 4;

pub const RECEIPT_DELIVERED: u32 = 1;
pub const RECEIPT_DISPLAYED: u32 = 2;
pub const RECEIPT_FAILED: u32 = 3;

pub const WANT_DELIVERY_RECEIPT: u32 = 1;
pub const WANT_DISPLAY_RECEIPT: u32 = 2;

/// Borrowed bytes (`ptr` may be null when `len` is 0). Fields documented
/// as text must be UTF-8; the receiver validates.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinSlice {
    pub ptr: *const u8,
    pub len: usize,
}

impl TocsinSlice {
    pub const EMPTY: TocsinSlice = TocsinSlice {
        ptr: std::ptr::null(),
        len: 0,
    };

    pub const fn from_bytes(b: &[u8]) -> TocsinSlice {
        TocsinSlice {
            ptr: b.as_ptr(),
            len: b.len(),
        }
    }

    pub const fn from_str(s: &str) -> TocsinSlice {
        Self::from_bytes(s.as_bytes())
    }
}

/// A buffer the *caller* allocated; the callee copies into it. When `cap`
/// is too small the callee returns `ERR_TOO_SMALL` and sets `len` to the
/// size needed.
#[repr(C)]
#[derive(Debug)]
pub struct TocsinBuf {
    pub ptr: *mut u8,
    pub cap: usize,
    pub len: usize,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinAttr {
    pub key: TocsinSlice,
    pub value: TocsinSlice,
}

/// An event a source plugin hands to ingest. `source` is not a field: the
/// host uses the instance name.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinEvent {
    pub struct_size: u32,
    /// 1..=5 (min, low, normal, high, urgent); 0 means normal.
    pub priority: u32,
    /// Unix milliseconds; 0 means "now".
    pub occurred_at_ms: i64,
    pub source_event_id: TocsinSlice,
    pub kind: TocsinSlice,
    pub user: TocsinSlice,
    pub origin_host: TocsinSlice,
    pub summary: TocsinSlice,
    pub body: TocsinSlice,
    pub attributes: *const TocsinAttr,
    pub attributes_len: usize,
}

/// The outcome of an `emit`, delivered to `on_committed` after the
/// transaction holding it committed (or it was refused).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinCommitResult {
    pub struct_size: u32,
    /// `OK` (stored or duplicate), `ERR_REJECTED` (validation; see code) or
    /// `ERR_IO` (the transaction failed; retry later).
    pub status: Status,
    pub event_id: i64,
    pub duplicate: u32,
    /// Machine-parsable code (`malformed`, `too-large`, …) when refused.
    pub code: TocsinSlice,
    pub message: TocsinSlice,
}

/// One notification to deliver. Valid for the duration of `deliver`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinDelivery {
    pub struct_size: u32,
    pub priority: u32,
    pub delivery_id: u64,
    pub event_id: i64,
    pub occurred_at_ms: i64,
    pub attempt: u32,
    /// `WANT_DELIVERY_RECEIPT | WANT_DISPLAY_RECEIPT`.
    pub flags: u32,
    pub target: TocsinSlice,
    pub user: TocsinSlice,
    pub kind: TocsinSlice,
    pub source: TocsinSlice,
    pub summary: TocsinSlice,
    pub body: TocsinSlice,
    /// Unique id for receipts (IMDN Message-ID).
    pub message_id: TocsinSlice,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinDeliveryResult {
    pub struct_size: u32,
    /// `OUTCOME_*`.
    pub outcome: u32,
    /// For `OUTCOME_RETRY`: the earliest retry the plugin wants (0 = policy).
    pub retry_after_ms: u64,
    pub reason: TocsinSlice,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinTlsOptions {
    pub struct_size: u32,
    /// `TLS_REQUIRE_CLIENT_CERT` for servers.
    pub flags: u32,
    /// PEM files. Servers: cert+key required, CA for client certs.
    /// Clients: CA to verify the server, cert+key for a client cert.
    pub cert_file: TocsinSlice,
    pub key_file: TocsinSlice,
    pub ca_file: TocsinSlice,
    /// Clients: the name to verify; empty = the host part of the address.
    pub server_name: TocsinSlice,
}

/// Services the host offers. Every function takes the `ctx` given to
/// `create` and must be called on the thread that called into the plugin,
/// during a callback.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinHost {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub log: extern "C" fn(ctx: *mut c_void, level: u32, target: TocsinSlice, msg: TocsinSlice),
    pub max_log_level: extern "C" fn(ctx: *mut c_void) -> u32,
    pub now_unix_ms: extern "C" fn(ctx: *mut c_void) -> i64,
    pub monotonic_ms: extern "C" fn(ctx: *mut c_void) -> u64,
    /// `SOCK_TCP` ("ip:port") or `SOCK_UNIX_STREAM` (path). `tls` may be
    /// null. Writes the listener handle to `out`.
    pub listen: extern "C" fn(
        ctx: *mut c_void,
        kind: u32,
        addr: TocsinSlice,
        tls: *const TocsinTlsOptions,
        out: *mut u64,
    ) -> Status,
    /// `SOCK_UDP` ("ip:port") or `SOCK_UNIX_DGRAM` (path).
    pub bind_datagram:
        extern "C" fn(ctx: *mut c_void, kind: u32, addr: TocsinSlice, out: *mut u64) -> Status,
    /// Starts a connection; `on_connected` reports the result.
    pub connect: extern "C" fn(
        ctx: *mut c_void,
        kind: u32,
        addr: TocsinSlice,
        tls: *const TocsinTlsOptions,
        out: *mut u64,
    ) -> Status,
    /// Queues bytes on a stream. `ERR_WOULD_BLOCK`: the output buffer is
    /// full, nothing was queued; wait for `on_writable`.
    pub send: extern "C" fn(ctx: *mut c_void, handle: u64, data: TocsinSlice) -> Status,
    pub send_to: extern "C" fn(
        ctx: *mut c_void,
        handle: u64,
        data: TocsinSlice,
        peer: TocsinSlice,
    ) -> Status,
    /// Closes after queued output is written.
    pub close: extern "C" fn(ctx: *mut c_void, handle: u64) -> Status,
    pub set_read_paused: extern "C" fn(ctx: *mut c_void, handle: u64, paused: u32) -> Status,
    /// The bound address of a listener/socket ("ip:port" or path).
    pub local_addr: extern "C" fn(ctx: *mut c_void, handle: u64, out: *mut TocsinBuf) -> Status,
    /// The verified TLS client certificate identity of a connection
    /// (empty when none).
    pub peer_identity: extern "C" fn(ctx: *mut c_void, handle: u64, out: *mut TocsinBuf) -> Status,
    pub timer_set: extern "C" fn(ctx: *mut c_void, delay_ms: u64, out: *mut u64) -> Status,
    pub timer_cancel: extern "C" fn(ctx: *mut c_void, timer: u64) -> Status,
    /// Hands an event to ingest; `on_committed(token, …)` follows.
    pub emit: extern "C" fn(ctx: *mut c_void, event: *const TocsinEvent, token: u64) -> Status,
    pub delivery_result: extern "C" fn(
        ctx: *mut c_void,
        delivery_id: u64,
        result: *const TocsinDeliveryResult,
    ) -> Status,
    pub receipt: extern "C" fn(
        ctx: *mut c_void,
        message_id: TocsinSlice,
        disposition: u32,
        detail: TocsinSlice,
    ) -> Status,
    pub kv_get: extern "C" fn(ctx: *mut c_void, key: TocsinSlice, out: *mut TocsinBuf) -> Status,
    pub kv_put: extern "C" fn(ctx: *mut c_void, key: TocsinSlice, value: TocsinSlice) -> Status,
    pub kv_delete: extern "C" fn(ctx: *mut c_void, key: TocsinSlice) -> Status,
    /// A delivery plugin reports whether an address can receive now
    /// (e.g. an IM user is listening).
    pub report_presence:
        extern "C" fn(ctx: *mut c_void, address: TocsinSlice, available: u32) -> Status,
}

/// Functions the plugin implements. `instance` is what `create` returned.
/// Entries are nullable so a C plugin that leaves one out is refused at
/// load time instead of crashing later.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TocsinPluginVtable {
    pub struct_size: u32,
    pub create: Option<
        extern "C" fn(
            host: *const TocsinHost,
            host_ctx: *mut c_void,
            instance_name: TocsinSlice,
            config_toml: TocsinSlice,
            out_instance: *mut *mut c_void,
            err: *mut TocsinBuf,
        ) -> Status,
    >,
    pub validate_config:
        Option<extern "C" fn(config_toml: TocsinSlice, err: *mut TocsinBuf) -> Status>,
    pub destroy: Option<extern "C" fn(instance: *mut c_void)>,
    pub on_accept: Option<
        extern "C" fn(instance: *mut c_void, listener: u64, conn: u64, peer: TocsinSlice) -> Status,
    >,
    pub on_data:
        Option<extern "C" fn(instance: *mut c_void, conn: u64, data: TocsinSlice) -> Status>,
    pub on_datagram: Option<
        extern "C" fn(
            instance: *mut c_void,
            sock: u64,
            data: TocsinSlice,
            peer: TocsinSlice,
        ) -> Status,
    >,
    pub on_writable: Option<extern "C" fn(instance: *mut c_void, conn: u64) -> Status>,
    pub on_closed:
        Option<extern "C" fn(instance: *mut c_void, conn: u64, reason: TocsinSlice) -> Status>,
    pub on_connected: Option<
        extern "C" fn(
            instance: *mut c_void,
            conn: u64,
            status: Status,
            detail: TocsinSlice,
        ) -> Status,
    >,
    pub on_timer: Option<extern "C" fn(instance: *mut c_void, timer: u64) -> Status>,
    pub on_committed: Option<
        extern "C" fn(
            instance: *mut c_void,
            token: u64,
            result: *const TocsinCommitResult,
        ) -> Status,
    >,
    pub deliver: Option<
        extern "C" fn(
            instance: *mut c_void,
            delivery_id: u64,
            delivery: *const TocsinDelivery,
        ) -> Status,
    >,
}

/// What `tocsin_plugin_entry` returns: a pointer to static data.
#[repr(C)]
#[derive(Debug)]
pub struct TocsinPluginDescriptor {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    /// `KIND_SOURCE` or `KIND_DELIVERY`.
    pub kind: u32,
    pub name: TocsinSlice,
    pub version: TocsinSlice,
    pub vtable: *const TocsinPluginVtable,
}

/// Size of a struct as a `struct_size` value.
pub const fn size_of_u32<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// Layout is the ABI: these numbers are what `tocsin_plugin.h`
    /// promises on 64-bit Linux. Changing one is a major version bump.
    #[test]
    fn layouts_are_pinned() {
        assert_eq!(size_of::<TocsinSlice>(), 16);
        assert_eq!(size_of::<TocsinBuf>(), 24);
        assert_eq!(size_of::<TocsinAttr>(), 32);
        assert_eq!(size_of::<TocsinEvent>(), 128);
        assert_eq!(offset_of!(TocsinEvent, occurred_at_ms), 8);
        assert_eq!(offset_of!(TocsinEvent, source_event_id), 16);
        assert_eq!(offset_of!(TocsinEvent, attributes), 112);
        assert_eq!(size_of::<TocsinCommitResult>(), 56);
        assert_eq!(offset_of!(TocsinCommitResult, event_id), 8);
        assert_eq!(size_of::<TocsinDelivery>(), 152);
        assert_eq!(offset_of!(TocsinDelivery, delivery_id), 8);
        assert_eq!(offset_of!(TocsinDelivery, target), 40);
        assert_eq!(size_of::<TocsinDeliveryResult>(), 32);
        assert_eq!(size_of::<TocsinTlsOptions>(), 72);
        assert_eq!(size_of::<TocsinHost>(), 8 + 22 * 8);
        assert_eq!(offset_of!(TocsinHost, log), 8);
        assert_eq!(size_of::<TocsinPluginVtable>(), 8 + 12 * 8);
        assert_eq!(size_of::<TocsinPluginDescriptor>(), 56);
        assert_eq!(offset_of!(TocsinPluginDescriptor, vtable), 48);
        assert_eq!(align_of::<TocsinHost>(), 8);
    }
}
