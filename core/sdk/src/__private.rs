//! What the export macros expand to: the descriptor, the vtable, and one
//! `extern "C"` trampoline per callback. Not a public API.

use crate::host::Host;
use crate::logger::with_host;
use crate::types::*;
use crate::{DeliveryPlugin, Plugin, SourcePlugin};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tocsin_abi::Priority;
use tocsin_abi::ffi::{self, Status, TocsinBuf, TocsinHost, TocsinPluginDescriptor, TocsinSlice};

/// A descriptor in a `static`. It holds raw pointers (to `'static` data),
/// which makes it `!Sync` by default.
#[repr(transparent)]
pub struct StaticDescriptor(TocsinPluginDescriptor);

// SAFETY: every pointer inside points to immutable `'static` data (string
// literals and a `static` vtable); nothing is ever written through them.
unsafe impl Sync for StaticDescriptor {}

impl StaticDescriptor {
    pub fn as_ptr(&'static self) -> *const TocsinPluginDescriptor {
        &self.0
    }
}

pub const fn descriptor<T: Plugin>(
    kind: u32,
    vtable: &'static ffi::TocsinPluginVtable,
) -> StaticDescriptor {
    StaticDescriptor(TocsinPluginDescriptor {
        struct_size: ffi::size_of_u32::<TocsinPluginDescriptor>(),
        abi_major: ffi::ABI_MAJOR,
        abi_minor: ffi::ABI_MINOR,
        kind,
        name: TocsinSlice::from_str(T::NAME),
        version: TocsinSlice::from_str(T::VERSION),
        vtable,
    })
}

type CommittedFn = extern "C" fn(*mut c_void, u64, *const ffi::TocsinCommitResult) -> Status;
type DeliverFn = extern "C" fn(*mut c_void, u64, *const ffi::TocsinDelivery) -> Status;

pub const fn vtable<T: Plugin>(
    committed: CommittedFn,
    deliver: DeliverFn,
) -> ffi::TocsinPluginVtable {
    ffi::TocsinPluginVtable {
        struct_size: ffi::size_of_u32::<ffi::TocsinPluginVtable>(),
        create: Some(create::<T>),
        validate_config: Some(validate_config::<T>),
        destroy: Some(destroy::<T>),
        on_accept: Some(on_accept::<T>),
        on_data: Some(on_data::<T>),
        on_datagram: Some(on_datagram::<T>),
        on_writable: Some(on_writable::<T>),
        on_closed: Some(on_closed::<T>),
        on_connected: Some(on_connected::<T>),
        on_timer: Some(on_timer::<T>),
        on_committed: Some(committed),
        deliver: Some(deliver),
    }
}

struct Instance<T> {
    host: Host,
    plugin: T,
}

/// Runs plugin code; a panic becomes `ERR_PANIC` instead of unwinding
/// into the host.
fn guard(f: impl FnOnce() -> Status) -> Status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(ffi::ERR_PANIC)
}

/// # Safety
/// `s` must describe `len` readable bytes that stay valid for `'a` (the
/// host guarantees this for the duration of a callback).
unsafe fn bytes<'a>(s: TocsinSlice) -> &'a [u8] {
    if s.ptr.is_null() || s.len == 0 {
        &[]
    } else {
        // SAFETY: non-null, `len` bytes readable for the call (contract above).
        unsafe { std::slice::from_raw_parts(s.ptr, s.len) }
    }
}

/// # Safety
/// As for `bytes`.
unsafe fn text<'a>(s: TocsinSlice) -> &'a str {
    // SAFETY: forwarded contract.
    std::str::from_utf8(unsafe { bytes(s) }).unwrap_or("")
}

fn write_err(err: *mut TocsinBuf, msg: &str) {
    if err.is_null() {
        return;
    }
    // SAFETY: the host passes a valid, writable TocsinBuf it allocated.
    let buf = unsafe { &mut *err };
    let n = msg.len().min(buf.cap);
    if !buf.ptr.is_null() && n > 0 {
        // SAFETY: `buf.ptr` has `cap` writable bytes; we copy `n <= cap`.
        unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.ptr, n) };
    }
    buf.len = n;
}

/// Runs `f` on the instance behind `inst` with logging routed to its host.
fn with_instance<T: Plugin>(inst: *mut c_void, f: impl FnOnce(&mut T)) -> Status {
    if inst.is_null() {
        return ffi::ERR_INVALID;
    }
    guard(|| {
        // SAFETY: `inst` is the pointer `create::<T>` returned (a leaked
        // `Box<Instance<T>>`), not yet destroyed; the host calls one
        // callback at a time on one thread, so this is the only reference.
        let i = unsafe { &mut *(inst as *mut Instance<T>) };
        let host = i.host;
        with_host(host, || f(&mut i.plugin));
        ffi::OK
    })
}

extern "C" fn create<T: Plugin>(
    host: *const TocsinHost,
    host_ctx: *mut c_void,
    name: TocsinSlice,
    config: TocsinSlice,
    out: *mut *mut c_void,
    err: *mut TocsinBuf,
) -> Status {
    if host.is_null() || out.is_null() {
        return ffi::ERR_INVALID;
    }
    guard(|| {
        // SAFETY: checked non-null; the host's vtable is static.
        let hv = unsafe { &*host };
        if hv.abi_major != ffi::ABI_MAJOR
            || (hv.struct_size as usize) < std::mem::size_of::<TocsinHost>()
        {
            write_err(err, "host ABI is incompatible with this plugin");
            return ffi::ERR_UNSUPPORTED;
        }
        let h = Host::new(host, host_ctx);
        // SAFETY: slices valid for this call.
        let (name, config) = unsafe { (text(name), text(config)) };
        match with_host(h, || T::create(h, name, config)) {
            Ok(plugin) => {
                let b = Box::new(Instance { host: h, plugin });
                // SAFETY: `out` checked non-null, points to host storage.
                unsafe { *out = Box::into_raw(b) as *mut c_void };
                ffi::OK
            }
            Err(e) => {
                write_err(err, &e);
                ffi::ERR_CONFIG
            }
        }
    })
}

extern "C" fn validate_config<T: Plugin>(config: TocsinSlice, err: *mut TocsinBuf) -> Status {
    guard(|| {
        // SAFETY: slice valid for this call.
        match T::validate_config(unsafe { text(config) }) {
            Ok(()) => ffi::OK,
            Err(e) => {
                write_err(err, &e);
                ffi::ERR_CONFIG
            }
        }
    })
}

extern "C" fn destroy<T: Plugin>(inst: *mut c_void) {
    if inst.is_null() {
        return;
    }
    let _ = guard(|| {
        // SAFETY: `inst` came from `Box::into_raw` in `create::<T>` and the
        // host calls destroy exactly once, after the last callback.
        let b = unsafe { Box::from_raw(inst as *mut Instance<T>) };
        let host = b.host;
        with_host(host, || drop(b));
        ffi::OK
    });
}

extern "C" fn on_accept<T: Plugin>(inst: *mut c_void, l: u64, c: u64, peer: TocsinSlice) -> Status {
    // SAFETY: slice valid for this call.
    let peer = unsafe { text(peer) };
    with_instance::<T>(inst, |p| p.on_accept(Handle(l), Handle(c), peer))
}

extern "C" fn on_data<T: Plugin>(inst: *mut c_void, c: u64, data: TocsinSlice) -> Status {
    // SAFETY: slice valid for this call.
    let data = unsafe { bytes(data) };
    with_instance::<T>(inst, |p| p.on_data(Handle(c), data))
}

extern "C" fn on_datagram<T: Plugin>(
    inst: *mut c_void,
    s: u64,
    data: TocsinSlice,
    peer: TocsinSlice,
) -> Status {
    // SAFETY: slices valid for this call.
    let (data, peer) = unsafe { (bytes(data), text(peer)) };
    with_instance::<T>(inst, |p| p.on_datagram(Handle(s), data, peer))
}

extern "C" fn on_writable<T: Plugin>(inst: *mut c_void, c: u64) -> Status {
    with_instance::<T>(inst, |p| p.on_writable(Handle(c)))
}

extern "C" fn on_closed<T: Plugin>(inst: *mut c_void, c: u64, reason: TocsinSlice) -> Status {
    // SAFETY: slice valid for this call.
    let reason = unsafe { text(reason) };
    with_instance::<T>(inst, |p| p.on_closed(Handle(c), reason))
}

extern "C" fn on_connected<T: Plugin>(
    inst: *mut c_void,
    c: u64,
    status: Status,
    detail: TocsinSlice,
) -> Status {
    // SAFETY: slice valid for this call.
    let detail = unsafe { text(detail) };
    let r = if status == ffi::OK {
        Ok(())
    } else {
        Err(detail.to_string())
    };
    with_instance::<T>(inst, |p| p.on_connected(Handle(c), r))
}

extern "C" fn on_timer<T: Plugin>(inst: *mut c_void, t: u64) -> Status {
    with_instance::<T>(inst, |p| p.on_timer(TimerId(t)))
}

// Called by the host through the vtable, never by Rust code: the pointer
// contract is the ABI's, so these cannot be `unsafe fn`.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub extern "C" fn source_committed<T: SourcePlugin>(
    inst: *mut c_void,
    token: u64,
    r: *const ffi::TocsinCommitResult,
) -> Status {
    if r.is_null() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: non-null, valid for this call; read only the fields that
    // `struct_size` says are present (all of v1's).
    let r = unsafe { &*r };
    if (r.struct_size as usize) < std::mem::size_of::<ffi::TocsinCommitResult>() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: slices valid for this call.
    let (code, message) = unsafe { (text(r.code), text(r.message)) };
    let result = match r.status {
        ffi::OK if r.duplicate != 0 => CommitResult::Duplicate {
            event_id: r.event_id,
        },
        ffi::OK => CommitResult::Stored {
            event_id: r.event_id,
        },
        ffi::ERR_REJECTED => CommitResult::Rejected {
            code: code.to_string(),
            message: message.to_string(),
        },
        _ => CommitResult::Failed {
            message: message.to_string(),
        },
    };
    with_instance::<T>(inst, |p| p.on_committed(token, result))
}

pub extern "C" fn no_committed(
    _: *mut c_void,
    _: u64,
    _: *const ffi::TocsinCommitResult,
) -> Status {
    ffi::ERR_UNSUPPORTED
}

#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub extern "C" fn delivery_deliver<T: DeliveryPlugin>(
    inst: *mut c_void,
    id: u64,
    d: *const ffi::TocsinDelivery,
) -> Status {
    if d.is_null() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: non-null and valid for this call.
    let d = unsafe { &*d };
    if (d.struct_size as usize) < std::mem::size_of::<ffi::TocsinDelivery>() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: every slice is valid for this call.
    let view = unsafe {
        Delivery {
            delivery_id: id,
            event_id: d.event_id,
            attempt: d.attempt,
            priority: u8::try_from(d.priority)
                .ok()
                .and_then(Priority::from_u8)
                .unwrap_or_default(),
            occurred_at_ms: d.occurred_at_ms,
            want_delivery_receipt: d.flags & ffi::WANT_DELIVERY_RECEIPT != 0,
            want_display_receipt: d.flags & ffi::WANT_DISPLAY_RECEIPT != 0,
            target: text(d.target),
            user: text(d.user),
            kind: text(d.kind),
            source: text(d.source),
            summary: text(d.summary),
            body: text(d.body),
            message_id: text(d.message_id),
        }
    };
    with_instance::<T>(inst, |p| p.deliver(view))
}

pub extern "C" fn no_deliver(_: *mut c_void, _: u64, _: *const ffi::TocsinDelivery) -> Status {
    ffi::ERR_UNSUPPORTED
}

/// Lets host-side tests build a `Host` without a daemon.
pub fn host_from_raw(vt: *const TocsinHost, ctx: *mut c_void) -> Host {
    Host::new(vt, ctx)
}

pub fn logging_ctx(h: &Host) -> *mut c_void {
    h.ctx()
}
