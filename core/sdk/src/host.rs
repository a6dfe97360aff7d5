//! The host's services as safe methods.

use crate::types::*;
use std::ffi::c_void;
use tocsin_abi::ffi::{self, Status, TocsinBuf, TocsinHost, TocsinSlice};

/// A copyable handle to the host, valid for the instance's life. Not
/// `Send`: the host may only be called from the event-loop thread.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    vt: *const TocsinHost,
    ctx: *mut c_void,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The output buffer is full; wait for `on_writable`.
    WouldBlock,
    NotFound,
    Closed,
    Invalid,
    Io,
    Unsupported,
    Limit,
    Rejected,
    Other(Status),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for HostError {}

fn check(s: Status) -> Result<(), HostError> {
    match s {
        ffi::OK => Ok(()),
        ffi::ERR_WOULD_BLOCK => Err(HostError::WouldBlock),
        ffi::ERR_NOT_FOUND => Err(HostError::NotFound),
        ffi::ERR_CLOSED => Err(HostError::Closed),
        ffi::ERR_INVALID => Err(HostError::Invalid),
        ffi::ERR_IO => Err(HostError::Io),
        ffi::ERR_UNSUPPORTED => Err(HostError::Unsupported),
        ffi::ERR_LIMIT => Err(HostError::Limit),
        ffi::ERR_REJECTED => Err(HostError::Rejected),
        other => Err(HostError::Other(other)),
    }
}

fn s(x: &str) -> TocsinSlice {
    TocsinSlice::from_str(x)
}

struct TlsRaw {
    opts: ffi::TocsinTlsOptions,
}

fn tls_raw(t: &Tls) -> TlsRaw {
    TlsRaw {
        opts: ffi::TocsinTlsOptions {
            struct_size: ffi::size_of_u32::<ffi::TocsinTlsOptions>(),
            flags: if t.require_client_cert {
                ffi::TLS_REQUIRE_CLIENT_CERT
            } else {
                0
            },
            cert_file: s(&t.cert_file),
            key_file: s(&t.key_file),
            ca_file: s(&t.ca_file),
            server_name: s(&t.server_name),
        },
    }
}

impl Host {
    pub(crate) fn new(vt: *const TocsinHost, ctx: *mut c_void) -> Host {
        Host { vt, ctx }
    }

    fn vt(&self) -> &TocsinHost {
        // SAFETY: the host guarantees the vtable outlives every instance it
        // created (it is a static in the daemon), and `vt` was checked
        // non-null in `create`.
        unsafe { &*self.vt }
    }

    pub(crate) fn raw_log(&self, level: u32, target: &str, msg: &str) {
        (self.vt().log)(self.ctx, level, s(target), s(msg));
    }

    pub(crate) fn max_log_level(&self) -> u32 {
        (self.vt().max_log_level)(self.ctx)
    }

    pub(crate) fn ctx(&self) -> *mut c_void {
        self.ctx
    }

    pub fn now_unix_ms(&self) -> i64 {
        (self.vt().now_unix_ms)(self.ctx)
    }

    pub fn monotonic_ms(&self) -> u64 {
        (self.vt().monotonic_ms)(self.ctx)
    }

    pub fn listen(
        &self,
        kind: SocketKind,
        addr: &str,
        tls: Option<&Tls>,
    ) -> Result<Handle, HostError> {
        let raw = tls.map(tls_raw);
        let p = raw
            .as_ref()
            .map_or(std::ptr::null(), |r| &r.opts as *const _);
        let mut out = 0u64;
        check((self.vt().listen)(
            self.ctx,
            kind.raw(),
            s(addr),
            p,
            &mut out,
        ))?;
        Ok(Handle(out))
    }

    pub fn bind_datagram(&self, kind: SocketKind, addr: &str) -> Result<Handle, HostError> {
        let mut out = 0u64;
        check((self.vt().bind_datagram)(
            self.ctx,
            kind.raw(),
            s(addr),
            &mut out,
        ))?;
        Ok(Handle(out))
    }

    pub fn connect(
        &self,
        kind: SocketKind,
        addr: &str,
        tls: Option<&Tls>,
    ) -> Result<Handle, HostError> {
        let raw = tls.map(tls_raw);
        let p = raw
            .as_ref()
            .map_or(std::ptr::null(), |r| &r.opts as *const _);
        let mut out = 0u64;
        check((self.vt().connect)(
            self.ctx,
            kind.raw(),
            s(addr),
            p,
            &mut out,
        ))?;
        Ok(Handle(out))
    }

    pub fn send(&self, conn: Handle, data: &[u8]) -> Result<(), HostError> {
        check((self.vt().send)(
            self.ctx,
            conn.0,
            TocsinSlice::from_bytes(data),
        ))
    }

    pub fn send_to(&self, sock: Handle, data: &[u8], peer: &str) -> Result<(), HostError> {
        check((self.vt().send_to)(
            self.ctx,
            sock.0,
            TocsinSlice::from_bytes(data),
            s(peer),
        ))
    }

    pub fn close(&self, h: Handle) -> Result<(), HostError> {
        check((self.vt().close)(self.ctx, h.0))
    }

    pub fn set_read_paused(&self, h: Handle, paused: bool) -> Result<(), HostError> {
        check((self.vt().set_read_paused)(
            self.ctx,
            h.0,
            u32::from(paused),
        ))
    }

    fn read_into(&self, f: impl Fn(*mut TocsinBuf) -> Status) -> Result<Vec<u8>, HostError> {
        let mut v = vec![0u8; 256];
        loop {
            let mut buf = TocsinBuf {
                ptr: v.as_mut_ptr(),
                cap: v.len(),
                len: 0,
            };
            match f(&mut buf) {
                ffi::ERR_TOO_SMALL if buf.len > v.len() => v.resize(buf.len, 0),
                st => {
                    check(st)?;
                    v.truncate(buf.len.min(v.len()));
                    return Ok(v);
                }
            }
        }
    }

    pub fn local_addr(&self, h: Handle) -> Result<String, HostError> {
        let v = self.read_into(|b| (self.vt().local_addr)(self.ctx, h.0, b))?;
        String::from_utf8(v).map_err(|_| HostError::Invalid)
    }

    /// The verified client-certificate identity of a TLS connection.
    pub fn peer_identity(&self, h: Handle) -> Result<Option<String>, HostError> {
        let v = self.read_into(|b| (self.vt().peer_identity)(self.ctx, h.0, b))?;
        if v.is_empty() {
            return Ok(None);
        }
        String::from_utf8(v)
            .map(Some)
            .map_err(|_| HostError::Invalid)
    }

    pub fn timer(&self, delay_ms: u64) -> Result<TimerId, HostError> {
        let mut out = 0u64;
        check((self.vt().timer_set)(self.ctx, delay_ms, &mut out))?;
        Ok(TimerId(out))
    }

    pub fn cancel_timer(&self, t: TimerId) -> Result<(), HostError> {
        check((self.vt().timer_cancel)(self.ctx, t.0))
    }

    /// Hands an event to ingest; `on_committed(token, …)` follows once it
    /// is durable (or refused). `Err(Rejected)` means ingest refused it
    /// synchronously (then no `on_committed` follows).
    pub fn emit(&self, e: &EventOut, token: u64) -> Result<(), HostError> {
        let attrs: Vec<ffi::TocsinAttr> = e
            .attributes
            .iter()
            .map(|(k, v)| ffi::TocsinAttr {
                key: s(k),
                value: s(v),
            })
            .collect();
        let raw = ffi::TocsinEvent {
            struct_size: ffi::size_of_u32::<ffi::TocsinEvent>(),
            priority: u32::from(e.priority.as_u8()),
            occurred_at_ms: e.occurred_at_ms,
            source_event_id: s(&e.source_event_id),
            kind: s(&e.kind),
            user: s(&e.user),
            origin_host: s(&e.origin_host),
            summary: s(&e.summary),
            body: s(&e.body),
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
        };
        check((self.vt().emit)(self.ctx, &raw, token))
    }

    pub fn delivery_result(&self, delivery_id: u64, outcome: &Outcome) -> Result<(), HostError> {
        let (code, after, reason) = match outcome {
            Outcome::Sent => (ffi::OUTCOME_SENT, 0, ""),
            Outcome::SentWithNote { note } => (ffi::OUTCOME_SENT, 0, note.as_str()),
            Outcome::Delivered => (ffi::OUTCOME_DELIVERED, 0, ""),
            Outcome::Retry { reason, after_ms } => (ffi::OUTCOME_RETRY, *after_ms, reason.as_str()),
            Outcome::Permanent { reason } => (ffi::OUTCOME_PERMANENT, 0, reason.as_str()),
        };
        let raw = ffi::TocsinDeliveryResult {
            struct_size: ffi::size_of_u32::<ffi::TocsinDeliveryResult>(),
            outcome: code,
            retry_after_ms: after,
            reason: s(reason),
        };
        check((self.vt().delivery_result)(self.ctx, delivery_id, &raw))
    }

    pub fn receipt(&self, message_id: &str, r: Receipt, detail: &str) -> Result<(), HostError> {
        let d = match r {
            Receipt::Delivered => ffi::RECEIPT_DELIVERED,
            Receipt::Displayed => ffi::RECEIPT_DISPLAYED,
            Receipt::Failed => ffi::RECEIPT_FAILED,
        };
        check((self.vt().receipt)(self.ctx, s(message_id), d, s(detail)))
    }

    pub fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        match self.read_into(|b| (self.vt().kv_get)(self.ctx, TocsinSlice::from_bytes(key), b)) {
            Ok(v) => Ok(Some(v)),
            Err(HostError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Durable with the next group commit.
    pub fn kv_put(&self, key: &[u8], value: &[u8]) -> Result<(), HostError> {
        check((self.vt().kv_put)(
            self.ctx,
            TocsinSlice::from_bytes(key),
            TocsinSlice::from_bytes(value),
        ))
    }

    pub fn kv_delete(&self, key: &[u8]) -> Result<(), HostError> {
        check((self.vt().kv_delete)(
            self.ctx,
            TocsinSlice::from_bytes(key),
        ))
    }

    pub fn report_presence(&self, address: &str, available: bool) -> Result<(), HostError> {
        check((self.vt().report_presence)(
            self.ctx,
            s(address),
            u32::from(available),
        ))
    }
}
