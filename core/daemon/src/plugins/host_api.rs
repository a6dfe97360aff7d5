//! The `TocsinHost` vtable: the services plugins call. Each function turns
//! its `ctx` back into the instance's `InstanceCtx`, validates arguments
//! (slices, UTF-8, enums, handles) and either acts on the instance's own
//! sockets or queues a `Command` for the manager.
#![allow(unsafe_code)] // raw ctx and slice pointers from plugins; see SAFETY notes

use super::ctx::{Command, Deferred, DeliveryReport, InstanceCtx, handle_of, key_of, token_for};
use super::io::{self, Conn, FlushResult, OUT_MAX, PluginSocket, SocketKind, Stream};
use mio::Interest;
use std::ffi::c_void;
use std::path::PathBuf;
use tocsin_abi::ffi::{self, Status, TocsinBuf, TocsinSlice};
use tocsin_abi::{Event, Limits, Priority};

pub static HOST: ffi::TocsinHost = ffi::TocsinHost {
    struct_size: ffi::size_of_u32::<ffi::TocsinHost>(),
    abi_major: ffi::ABI_MAJOR,
    abi_minor: ffi::ABI_MINOR,
    log: host_log,
    max_log_level: host_max_log_level,
    now_unix_ms: host_now_unix_ms,
    monotonic_ms: host_monotonic_ms,
    listen: host_listen,
    bind_datagram: host_bind_datagram,
    connect: host_connect,
    send: host_send,
    send_to: host_send_to,
    close: host_close,
    set_read_paused: host_set_read_paused,
    local_addr: host_local_addr,
    peer_identity: host_peer_identity,
    timer_set: host_timer_set,
    timer_cancel: host_timer_cancel,
    emit: host_emit,
    delivery_result: host_delivery_result,
    receipt: host_receipt,
    kv_get: host_kv_get,
    kv_put: host_kv_put,
    kv_delete: host_kv_delete,
    report_presence: host_report_presence,
};

fn ctx<'a>(p: *mut c_void) -> Option<&'a mut InstanceCtx> {
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is the pointer the manager created with Box::into_raw for
    // this instance and frees only after `destroy` returned; host calls
    // happen on the loop thread during a callback, while the manager holds
    // no reference to the ctx, so this is the only live reference.
    Some(unsafe { &mut *(p as *mut InstanceCtx) })
}

fn bytes<'a>(s: TocsinSlice) -> Option<&'a [u8]> {
    if s.len == 0 {
        return Some(&[]);
    }
    if s.ptr.is_null() || s.len > isize::MAX as usize {
        return None;
    }
    // SAFETY: the ABI requires `len` readable bytes at `ptr` for the call.
    Some(unsafe { std::slice::from_raw_parts(s.ptr, s.len) })
}

fn text<'a>(s: TocsinSlice) -> Option<&'a str> {
    std::str::from_utf8(bytes(s)?).ok()
}

fn write_out(out: *mut u64, v: u64) -> Status {
    if out.is_null() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: non-null pointer to a u64 the plugin owns, valid for the call.
    unsafe { *out = v };
    ffi::OK
}

fn copy_out(out: *mut TocsinBuf, data: &[u8]) -> Status {
    if out.is_null() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: non-null pointer to the plugin's TocsinBuf, valid for the call.
    let b = unsafe { &mut *out };
    b.len = data.len();
    if data.len() > b.cap {
        return ffi::ERR_TOO_SMALL;
    }
    if !data.is_empty() {
        if b.ptr.is_null() {
            return ffi::ERR_INVALID;
        }
        // SAFETY: `ptr` has `cap >= data.len()` writable bytes (contract).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), b.ptr, data.len()) };
    }
    ffi::OK
}

extern "C" fn host_log(c: *mut c_void, level: u32, target: TocsinSlice, msg: TocsinSlice) {
    let Some(c) = ctx(c) else { return };
    let level = match level {
        ffi::LOG_ERROR => log::Level::Error,
        ffi::LOG_WARN => log::Level::Warn,
        ffi::LOG_INFO => log::Level::Info,
        ffi::LOG_DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    };
    let msg = bytes(msg).map(String::from_utf8_lossy).unwrap_or_default();
    let target = text(target).unwrap_or("");
    log::log!(target: "plugin", level, "[{}] {target}: {msg}", c.name);
}

extern "C" fn host_max_log_level(c: *mut c_void) -> u32 {
    ctx(c).map_or(0, |c| c.log_level)
}

extern "C" fn host_now_unix_ms(_c: *mut c_void) -> i64 {
    tocsin_store::now_ms()
}

extern "C" fn host_monotonic_ms(c: *mut c_void) -> u64 {
    ctx(c).map_or(0, |c| c.started.elapsed().as_millis() as u64)
}

fn register(c: &mut InstanceCtx, sock: PluginSocket, interest: Interest) -> Result<u64, Status> {
    if c.sockets.len() >= super::ctx::MAX_SOCKETS {
        return Err(ffi::ERR_LIMIT);
    }
    let entry = c.sockets.vacant_entry();
    let key = entry.key();
    let mut sock = sock;
    if let Err(e) = c
        .registry
        .register(sock.source(), token_for(c.slot, key), interest)
    {
        log::warn!("[{}] cannot register socket: {e}", c.name);
        return Err(ffi::ERR_IO);
    }
    entry.insert(sock);
    Ok(handle_of(key))
}

extern "C" fn host_listen(
    c: *mut c_void,
    kind: u32,
    addr: TocsinSlice,
    tls: *const ffi::TocsinTlsOptions,
    out: *mut u64,
) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(addr) = text(addr) else {
        return ffi::ERR_INVALID;
    };
    let tls_config = match tls_options(tls) {
        Ok(None) => None,
        Ok(Some(o)) if kind == ffi::SOCK_TCP => {
            let (Some(cert), Some(key)) = (o.cert.as_deref(), o.key.as_deref()) else {
                log::warn!("[{}] a TLS listener needs cert_file and key_file", c.name);
                return ffi::ERR_INVALID;
            };
            match crate::tls::server_config(cert, key, o.ca.as_deref(), o.require_client_cert) {
                Ok(cfg) => Some(cfg),
                Err(e) => {
                    log::warn!("[{}] TLS listener on {addr}: {e}", c.name);
                    return ffi::ERR_CONFIG;
                }
            }
        }
        Ok(Some(_)) => return ffi::ERR_UNSUPPORTED,
        Err(s) => return s,
    };
    if !matches!(kind, ffi::SOCK_TCP | ffi::SOCK_UNIX_STREAM) {
        return ffi::ERR_INVALID;
    }
    let sock = match bind(c, kind, addr, tls_config) {
        Ok(s) => s,
        Err(st) => return st,
    };
    log::info!("[{}] listening on {}", c.name, sock.local);
    match register(c, sock, Interest::READABLE) {
        Ok(h) => write_out(out, h),
        Err(s) => s,
    }
}

/// Binds a listener (`SOCK_TCP`, `SOCK_UNIX_STREAM`) or a datagram socket
/// (`SOCK_UDP`, `SOCK_UNIX_DGRAM`); failures are logged with the address.
fn bind(
    c: &InstanceCtx,
    kind: u32,
    addr: &str,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> Result<PluginSocket, Status> {
    let failed = |e: std::io::Error| {
        log::warn!("[{}] cannot bind {addr}: {e}", c.name);
        ffi::ERR_IO
    };
    let inet = || {
        io::socket_addr(addr).map_err(|e| {
            log::warn!("[{}] bind: {e}", c.name);
            ffi::ERR_INVALID
        })
    };
    let unix = || {
        let path = PathBuf::from(addr);
        let _ = remove_stale_socket(&path);
        path
    };
    let (kind, local) = match kind {
        ffi::SOCK_TCP => {
            let l = mio::net::TcpListener::bind(inet()?).map_err(failed)?;
            let local = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
            (SocketKind::TcpListener(l, tls), local)
        }
        ffi::SOCK_UDP => {
            let u = mio::net::UdpSocket::bind(inet()?).map_err(failed)?;
            let local = u.local_addr().map(|a| a.to_string()).unwrap_or_default();
            (SocketKind::Udp(u), local)
        }
        ffi::SOCK_UNIX_STREAM => {
            let path = unix();
            let l = mio::net::UnixListener::bind(&path).map_err(failed)?;
            (SocketKind::UnixListener(l, path), addr.to_string())
        }
        ffi::SOCK_UNIX_DGRAM => {
            let path = unix();
            let u = mio::net::UnixDatagram::bind(&path).map_err(failed)?;
            (SocketKind::UnixDgram(u, path), addr.to_string())
        }
        _ => return Err(ffi::ERR_INVALID),
    };
    Ok(PluginSocket { kind, local })
}

/// Removes a leftover socket file (never a regular file).
fn remove_stale_socket(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path)?.file_type().is_socket() {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

extern "C" fn host_bind_datagram(
    c: *mut c_void,
    kind: u32,
    addr: TocsinSlice,
    out: *mut u64,
) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(addr) = text(addr) else {
        return ffi::ERR_INVALID;
    };
    if !matches!(kind, ffi::SOCK_UDP | ffi::SOCK_UNIX_DGRAM) {
        return ffi::ERR_INVALID;
    }
    let sock = match bind(c, kind, addr, None) {
        Ok(s) => s,
        Err(st) => return st,
    };
    log::info!("[{}] bound {}", c.name, sock.local);
    match register(c, sock, Interest::READABLE) {
        Ok(h) => write_out(out, h),
        Err(s) => s,
    }
}

extern "C" fn host_connect(
    c: *mut c_void,
    kind: u32,
    addr: TocsinSlice,
    tls: *const ffi::TocsinTlsOptions,
    out: *mut u64,
) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(addr) = text(addr) else {
        return ffi::ERR_INVALID;
    };
    let tls = match tls_options(tls) {
        Ok(t) => t,
        Err(s) => return s,
    };
    if c.connections >= io::MAX_CONNECTIONS {
        return ffi::ERR_LIMIT;
    }
    let stream = match kind {
        ffi::SOCK_TCP => match io::socket_addr(addr) {
            Ok(sa) => match mio::net::TcpStream::connect(sa) {
                Ok(s) => match &tls {
                    None => Stream::Tcp(s),
                    Some(o) => match tls_client(o, addr) {
                        Ok(conn) => Stream::Tls(Box::new(crate::tls::TlsStream::new(s, conn))),
                        Err(e) => {
                            log::warn!("[{}] TLS connection to {addr}: {e}", c.name);
                            return ffi::ERR_CONFIG;
                        }
                    },
                },
                Err(e) => {
                    log::debug!("[{}] connect {addr}: {e}", c.name);
                    return ffi::ERR_IO;
                }
            },
            Err(e) => {
                log::warn!("[{}] connect: {e}", c.name);
                return ffi::ERR_INVALID;
            }
        },
        ffi::SOCK_UNIX_STREAM if tls.is_some() => return ffi::ERR_UNSUPPORTED,
        ffi::SOCK_UNIX_STREAM => match mio::net::UnixStream::connect(addr) {
            Ok(s) => Stream::Unix(s),
            Err(e) => {
                log::debug!("[{}] connect {addr}: {e}", c.name);
                return ffi::ERR_IO;
            }
        },
        _ => return ffi::ERR_INVALID,
    };
    let conn = Conn {
        stream,
        out: Vec::new(),
        peer: addr.to_string(),
        connecting: true,
        closing: false,
        read_paused: false,
        maybe_readable: false,
        notify_writable: false,
        eof: false,
        linger_until: None,
    };
    let sock = PluginSocket {
        kind: SocketKind::Conn(Box::new(conn)),
        local: String::new(),
    };
    match register(c, sock, Interest::READABLE | Interest::WRITABLE) {
        Ok(h) => {
            c.connections += 1;
            write_out(out, h)
        }
        Err(s) => s,
    }
}

fn conn_mut(c: &mut InstanceCtx, handle: u64) -> Result<&mut Conn, Status> {
    let key = key_of(handle).ok_or(ffi::ERR_NOT_FOUND)?;
    match c.sockets.get_mut(key).map(|s| &mut s.kind) {
        Some(SocketKind::Conn(conn)) => Ok(conn),
        Some(_) => Err(ffi::ERR_INVALID),
        None => Err(ffi::ERR_NOT_FOUND),
    }
}

extern "C" fn host_send(c: *mut c_void, handle: u64, data: TocsinSlice) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(data) = bytes(data) else {
        return ffi::ERR_INVALID;
    };
    let key = key_of(handle).unwrap_or(usize::MAX);
    let conn = match conn_mut(c, handle) {
        Ok(conn) => conn,
        Err(s) => return s,
    };
    if conn.closing {
        return ffi::ERR_CLOSED;
    }
    if conn.out.len() + data.len() > OUT_MAX {
        conn.notify_writable = true;
        return ffi::ERR_WOULD_BLOCK;
    }
    let queued = !conn.out.is_empty();
    conn.out.extend_from_slice(data);
    if conn.out.len() < io::CORK_MAX {
        // Already queued output is either on the iteration's write list or
        // waiting for the socket to become writable again.
        if !queued {
            c.to_write.push(key);
        }
        return ffi::OK;
    }
    if let FlushResult::Broken(why) = conn.flush() {
        // Reported to the plugin through on_closed after this callback.
        conn.closing = true;
        conn.out.clear();
        c.deferred.push(Deferred::Closed {
            handle,
            reason: why,
        });
        return ffi::ERR_CLOSED;
    }
    ffi::OK
}

extern "C" fn host_send_to(
    c: *mut c_void,
    handle: u64,
    data: TocsinSlice,
    peer: TocsinSlice,
) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let (Some(data), Some(peer)) = (bytes(data), text(peer)) else {
        return ffi::ERR_INVALID;
    };
    let Some(key) = key_of(handle) else {
        return ffi::ERR_NOT_FOUND;
    };
    let r = match c.sockets.get_mut(key).map(|s| &mut s.kind) {
        Some(SocketKind::Udp(u)) => match io::socket_addr(peer) {
            Ok(sa) => u.send_to(data, sa),
            Err(_) => return ffi::ERR_INVALID,
        },
        Some(SocketKind::UnixDgram(u, _)) => u.send_to(data, peer),
        Some(_) => return ffi::ERR_INVALID,
        None => return ffi::ERR_NOT_FOUND,
    };
    match r {
        Ok(_) => ffi::OK,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ffi::ERR_WOULD_BLOCK,
        Err(e) => {
            log::debug!("[{}] send_to {peer}: {e}", c.name);
            ffi::ERR_IO
        }
    }
}

extern "C" fn host_close(c: *mut c_void, handle: u64) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(key) = key_of(handle) else {
        return ffi::ERR_NOT_FOUND;
    };
    let Some(sock) = c.sockets.get_mut(key) else {
        return ffi::ERR_NOT_FOUND;
    };
    match &mut sock.kind {
        SocketKind::Conn(conn) if !conn.connecting => {
            // Closed once the queued output is written and the peer has
            // had a moment to stop sending (the manager's flush and linger).
            conn.closing = true;
            c.to_flush.push(key);
            ffi::OK
        }
        _ => {
            close_now(c, key, "closed by plugin".to_string());
            ffi::OK
        }
    }
}

/// Drops a socket and owes the plugin `on_closed` for connections.
pub fn close_now(c: &mut InstanceCtx, key: usize, reason: String) {
    if let Some(mut sock) = c.sockets.try_remove(key) {
        let _ = c.registry.deregister(sock.source());
        if matches!(sock.kind, SocketKind::Conn(_)) {
            c.connections = c.connections.saturating_sub(1);
            c.deferred.push(Deferred::Closed {
                handle: handle_of(key),
                reason,
            });
        }
    }
}

extern "C" fn host_set_read_paused(c: *mut c_void, handle: u64, paused: u32) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    match conn_mut(c, handle) {
        Ok(conn) => {
            conn.read_paused = paused != 0;
            if !conn.read_paused {
                // Data may have arrived while paused (edge-triggered):
                // the manager reads it after this callback.
                conn.maybe_readable = true;
                if let Some(k) = key_of(handle) {
                    c.redrive.push(k);
                }
            }
            ffi::OK
        }
        Err(s) => s,
    }
}

extern "C" fn host_local_addr(c: *mut c_void, handle: u64, out: *mut TocsinBuf) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    match key_of(handle).and_then(|k| c.sockets.get(k)) {
        Some(s) => copy_out(out, s.local.as_bytes()),
        None => ffi::ERR_NOT_FOUND,
    }
}

extern "C" fn host_peer_identity(c: *mut c_void, handle: u64, out: *mut TocsinBuf) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    match conn_mut(c, handle) {
        Ok(conn) => {
            let id = conn.stream.identity().unwrap_or("").to_string();
            copy_out(out, id.as_bytes())
        }
        Err(s) => s,
    }
}

extern "C" fn host_timer_set(c: *mut c_void, delay_ms: u64, out: *mut u64) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    if c.live_timers.len() >= 65_536 {
        return ffi::ERR_LIMIT;
    }
    c.next_timer += 1;
    let id = c.next_timer;
    c.live_timers.insert(id);
    c.commands.push(Command::Timer { id, delay_ms });
    write_out(out, id)
}

extern "C" fn host_timer_cancel(c: *mut c_void, id: u64) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    if c.live_timers.remove(&id) {
        ffi::OK
    } else {
        ffi::ERR_NOT_FOUND
    }
}

fn event_from_raw(c: &InstanceCtx, e: &ffi::TocsinEvent) -> Result<Event, String> {
    let t = |s: TocsinSlice, f: &str| {
        text(s)
            .map(str::to_string)
            .ok_or_else(|| format!("field {f} is not valid UTF-8"))
    };
    let priority = match e.priority {
        0 => Priority::Normal,
        p => u8::try_from(p)
            .ok()
            .and_then(Priority::from_u8)
            .ok_or_else(|| format!("priority {p} is not 1..5"))?,
    };
    if e.attributes_len > tocsin_abi::event::MAX_ATTRIBUTES {
        return Err(format!("{} attributes is too many", e.attributes_len));
    }
    let mut attributes = std::collections::BTreeMap::new();
    if e.attributes_len > 0 {
        if e.attributes.is_null() {
            return Err("attributes pointer is null".into());
        }
        // SAFETY: the ABI requires `attributes_len` readable TocsinAttr at
        // `attributes` for the call; the count was bounded above.
        let attrs = unsafe { std::slice::from_raw_parts(e.attributes, e.attributes_len) };
        for a in attrs {
            attributes.insert(t(a.key, "attribute key")?, t(a.value, "attribute value")?);
        }
    }
    Ok(Event {
        source: c.name.clone(),
        source_event_id: t(e.source_event_id, "source_event_id")?,
        kind: t(e.kind, "kind")?,
        user: t(e.user, "user")?,
        origin_host: t(e.origin_host, "origin_host")?,
        occurred_at_ms: if e.occurred_at_ms == 0 {
            tocsin_store::now_ms()
        } else {
            e.occurred_at_ms
        },
        priority,
        summary: t(e.summary, "summary")?,
        body: t(e.body, "body")?,
        attributes,
    })
}

extern "C" fn host_emit(c: *mut c_void, event: *const ffi::TocsinEvent, token: u64) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    if event.is_null() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: non-null and valid for the call; `struct_size` is the first
    // field of every version, so it can be read before knowing the size.
    let size = unsafe { *(event as *const u32) };
    c.counters.events_emitted += 1;
    if (size as usize) < std::mem::size_of::<ffi::TocsinEvent>() {
        c.counters.events_rejected += 1;
        return ffi::ERR_INVALID;
    }
    // SAFETY: the plugin says (struct_size) the whole v1 struct is there.
    let raw = unsafe { &*event };
    let ev = match event_from_raw(c, raw) {
        Ok(ev) => ev,
        Err(why) => {
            c.counters.events_rejected += 1;
            log::warn!("[{}] event refused: {why}", c.name);
            return ffi::ERR_REJECTED;
        }
    };
    if let Err(e) = ev.validate(&Limits {
        max_event_bytes: c.max_event_bytes,
    }) {
        c.counters.events_rejected += 1;
        log::warn!("[{}] event {:?} refused: {e}", c.name, ev.source_event_id);
        return ffi::ERR_REJECTED;
    }
    c.commands.push(Command::Emit { event: ev, token });
    ffi::OK
}

extern "C" fn host_delivery_result(
    c: *mut c_void,
    delivery_id: u64,
    r: *const ffi::TocsinDeliveryResult,
) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    if r.is_null() {
        return ffi::ERR_INVALID;
    }
    // SAFETY: non-null and valid for the call; size checked next.
    let r = unsafe { &*r };
    if (r.struct_size as usize) < std::mem::size_of::<ffi::TocsinDeliveryResult>()
        || !(ffi::OUTCOME_SENT..=ffi::OUTCOME_PERMANENT).contains(&r.outcome)
    {
        return ffi::ERR_INVALID;
    }
    let reason = bytes(r.reason)
        .map(|b| String::from_utf8_lossy(b).chars().take(1024).collect())
        .unwrap_or_default();
    c.commands.push(Command::DeliveryResult(DeliveryReport {
        delivery_id,
        outcome: r.outcome,
        retry_after_ms: r.retry_after_ms,
        reason,
    }));
    ffi::OK
}

extern "C" fn host_receipt(
    c: *mut c_void,
    message_id: TocsinSlice,
    disposition: u32,
    detail: TocsinSlice,
) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(mid) = text(message_id) else {
        return ffi::ERR_INVALID;
    };
    if !(ffi::RECEIPT_DELIVERED..=ffi::RECEIPT_FAILED).contains(&disposition) || mid.len() > 256 {
        return ffi::ERR_INVALID;
    }
    let detail = bytes(detail)
        .map(|b| String::from_utf8_lossy(b).chars().take(1024).collect())
        .unwrap_or_default();
    c.commands.push(Command::Receipt {
        message_id: mid.to_string(),
        disposition,
        detail,
    });
    ffi::OK
}

const MAX_KV_KEY: usize = 1024;
const MAX_KV_VALUE: usize = 1024 * 1024;
const MAX_KV_ENTRIES: usize = 100_000;

extern "C" fn host_kv_get(c: *mut c_void, key: TocsinSlice, out: *mut TocsinBuf) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(key) = bytes(key) else {
        return ffi::ERR_INVALID;
    };
    match c.kv.get(key) {
        Some(v) => copy_out(out, v),
        None => ffi::ERR_NOT_FOUND,
    }
}

extern "C" fn host_kv_put(c: *mut c_void, key: TocsinSlice, value: TocsinSlice) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let (Some(key), Some(value)) = (bytes(key), bytes(value)) else {
        return ffi::ERR_INVALID;
    };
    if key.is_empty() || key.len() > MAX_KV_KEY || value.len() > MAX_KV_VALUE {
        return ffi::ERR_LIMIT;
    }
    if !c.kv.contains_key(key) && c.kv.len() >= MAX_KV_ENTRIES {
        return ffi::ERR_LIMIT;
    }
    c.kv.insert(key.to_vec(), value.to_vec());
    c.commands.push(Command::KvPut {
        key: key.to_vec(),
        value: value.to_vec(),
    });
    ffi::OK
}

extern "C" fn host_kv_delete(c: *mut c_void, key: TocsinSlice) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(key) = bytes(key) else {
        return ffi::ERR_INVALID;
    };
    if c.kv.remove(key).is_none() {
        return ffi::ERR_NOT_FOUND;
    }
    c.commands.push(Command::KvDelete { key: key.to_vec() });
    ffi::OK
}

extern "C" fn host_report_presence(c: *mut c_void, address: TocsinSlice, available: u32) -> Status {
    let Some(c) = ctx(c) else {
        return ffi::ERR_INVALID;
    };
    let Some(a) = text(address) else {
        return ffi::ERR_INVALID;
    };
    if a.is_empty() || a.len() > 512 {
        return ffi::ERR_INVALID;
    }
    c.commands.push(Command::Presence {
        address: a.to_string(),
        available: available != 0,
    });
    ffi::OK
}

/// TLS options read from the plugin's struct, paths validated as UTF-8.
pub struct TlsOpts {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub server_name: Option<String>,
    pub require_client_cert: bool,
}

fn tls_options(p: *const ffi::TocsinTlsOptions) -> Result<Option<TlsOpts>, Status> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and valid for the call; struct_size is the first
    // field, read before trusting the rest.
    let size = unsafe { *(p as *const u32) };
    if (size as usize) < std::mem::size_of::<ffi::TocsinTlsOptions>() {
        return Err(ffi::ERR_INVALID);
    }
    // SAFETY: the plugin says the whole v1 struct is there.
    let o = unsafe { &*p };
    let path = |s: TocsinSlice| -> Result<Option<PathBuf>, Status> {
        match text(s) {
            Some("") => Ok(None),
            Some(t) => Ok(Some(PathBuf::from(t))),
            None => Err(ffi::ERR_INVALID),
        }
    };
    Ok(Some(TlsOpts {
        cert: path(o.cert_file)?,
        key: path(o.key_file)?,
        ca: path(o.ca_file)?,
        server_name: match text(o.server_name) {
            Some("") => None,
            Some(t) => Some(t.to_string()),
            None => return Err(ffi::ERR_INVALID),
        },
        require_client_cert: o.flags & ffi::TLS_REQUIRE_CLIENT_CERT != 0,
    }))
}

fn tls_client(o: &TlsOpts, addr: &str) -> Result<rustls::ClientConnection, String> {
    let ca =
        o.ca.as_deref()
            .ok_or("a TLS connection needs ca_file (the CA that signed the server)")?;
    let identity = match (o.cert.as_deref(), o.key.as_deref()) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("a client certificate needs both cert_file and key_file".into()),
    };
    let cfg = crate::tls::client_config(ca, identity)?;
    let name = match &o.server_name {
        Some(n) => rustls::pki_types::ServerName::try_from(n.clone()).map_err(|e| e.to_string())?,
        None => tocsin_s2s::tls::server_name(addr).map_err(|e| e.to_string())?,
    };
    rustls::ClientConnection::new(cfg, name).map_err(|e| e.to_string())
}
