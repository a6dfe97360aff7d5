//! One connection's input: reading as far as backpressure allows, and
//! handling each message (HELLO: authorize and WELCOME; EVENT: decide or
//! hand to the batch).

use super::conn::{S2sConn, S2sRef};
use super::policy::Bucket;
use super::{Ctx, Shared, event};
use crate::daemon::Continuation;
use std::time::Instant;
use tocsin_s2s::msg::{Role, VERSION, Welcome};
use tocsin_s2s::{Code, ServerEvent};

/// Reads and handles a connection's input until it would block, runs dry
/// or backpressure stops it; then writes.
pub(super) fn drive_conn(
    key: usize,
    conn: &mut S2sConn,
    advertise: &[String],
    sh: &mut Shared,
    cx: &mut Ctx<'_>,
) {
    if conn.is_done() {
        return;
    }
    let r = S2sRef {
        key,
        generation: conn.generation,
    };
    let now = Instant::now();
    // Messages decided at once (rejections) are not undecided, so they need
    // their own bound: one connection must not keep the loop to itself.
    let mut budget = sh.max_undecided;
    loop {
        let blocked = deliver(r, conn, advertise, sh, cx, now, &mut budget);
        if blocked || conn.failure.is_some() || !conn.maybe_readable {
            break;
        }
        match conn.transport.read(&mut conn.session) {
            // Stopped short of WouldBlock only when the session's buffer
            // filled up: then there may be more to read.
            Ok(st) => conn.maybe_readable = st.buffer_full && !st.eof,
            Err(e) => {
                conn.failure = Some(if conn.transport.is_handshaking() {
                    format!("TLS handshake: {e}")
                } else {
                    format!("read: {e}")
                });
            }
        }
    }
    if let Err(e) = conn.flush() {
        conn.failure.get_or_insert(e);
    }
}

/// Handles decoded messages. True when stopped by backpressure, the rate
/// limit or the budget (input may be left in the session's buffer).
fn deliver(
    r: S2sRef,
    conn: &mut S2sConn,
    advertise: &[String],
    sh: &mut Shared,
    cx: &mut Ctx<'_>,
    now: Instant,
    budget: &mut usize,
) -> bool {
    loop {
        if conn.session.undecided() >= sh.max_undecided
            || sh.pending >= sh.max_pending
            || *budget == 0
        {
            conn.stalled = true;
            return true;
        }
        let mut bucket = None;
        if let Some(src) = &conn.source
            && let Some(limit) = src.cfg.rate_limit
        {
            let b = match sh.buckets.get_mut(&src.cfg.name) {
                Some(b) if b.limit() == limit => b,
                _ => {
                    sh.buckets
                        .insert(src.cfg.name.clone(), Bucket::new(limit, now));
                    match sh.buckets.get_mut(&src.cfg.name) {
                        Some(b) => b,
                        None => return false,
                    }
                }
            };
            if let Err(at) = b.check(now) {
                conn.rate_wait = Some(at);
                conn.stalled = true;
                return true;
            }
            bucket = Some(b);
        }
        let ev = match conn.session.poll(now) {
            Ok(Some(ev)) => {
                *budget -= 1;
                ev
            }
            Ok(None) => {
                conn.stalled = false;
                return false;
            }
            Err(e) => {
                conn.failure = Some(e.to_string());
                return false;
            }
        };
        match ev {
            ServerEvent::Event(ev) => {
                let tsn = ev.tsn;
                let decision = match conn.source.as_deref() {
                    Some(src) => event::admit(&ev, src),
                    // the session delivers events only after WELCOME
                    None => Err((Code::ProtocolError, "EVENT before WELCOME".to_string())),
                };
                if let Some(b) = bucket {
                    b.take();
                }
                match decision {
                    Ok(op) => {
                        cx.batch.push(op, Continuation::S2sAck { conn: r, tsn });
                        sh.pending += 1;
                        conn.in_batch += 1;
                    }
                    Err((code, text)) => {
                        log::debug!(
                            "ingest: {} ({}): event TSN {tsn} rejected: {code}: {text}",
                            conn.peer,
                            conn.who()
                        );
                        let _ = conn.session.reject(now, tsn, code, &text);
                    }
                }
            }
            ServerEvent::Hello(h) => {
                let name = h.source.to_owned();
                let software = h.software.to_owned();
                hello(conn, &name, &software, advertise, sh, cx, now);
            }
            ServerEvent::Rejected { tsn, code, error } => {
                log::debug!(
                    "ingest: {} ({}): event TSN {tsn} rejected: {code}: {error}",
                    conn.peer,
                    conn.who()
                );
            }
            ServerEvent::Goodbye { code, text } => {
                log::info!(
                    "ingest: {} ({}) says goodbye: {code}: {text}",
                    conn.peer,
                    conn.who()
                );
            }
            ServerEvent::Closed => {}
        }
    }
}

/// A HELLO: authorize the source for this connection, then WELCOME
/// (with the resume point) or refuse with `unauthorized-source`.
fn hello(
    conn: &mut S2sConn,
    name: &str,
    software: &str,
    advertise: &[String],
    sh: &mut Shared,
    cx: &mut Ctx<'_>,
    now: Instant,
) {
    if sh.stopping {
        conn.session
            .refuse(now, Code::ShuttingDown, "tocsind is shutting down");
        return;
    }
    let src = match sh.sources.authorize(name, conn.tls, conn.peer_leaf()) {
        Ok(s) => s,
        Err(why) => {
            log::warn!("ingest: {}: HELLO as {name:?} refused: {why}", conn.peer);
            conn.session
                .refuse(now, Code::UnauthorizedSource, &why.to_string());
            return;
        }
    };
    let resume = cx.store.source_resume(name).unwrap_or_else(|e| {
        // advisory: without it the source resends everything
        log::warn!("ingest: {e}");
        None
    });
    let max = src.cfg.max_event_bytes.min(conn.session.max_event_bytes());
    let welcome = Welcome {
        version: VERSION,
        appliance_id: cx.appliance_id,
        role: Role::Active,
        addresses: advertise.iter().map(String::as_str).collect(),
        resume: resume.as_deref(),
        max_event_bytes: u32::try_from(max).ok(),
    };
    match conn.session.welcome(now, &welcome) {
        Ok(()) => {
            log::info!(
                "ingest: source {name} ({software}) connected from {}{}",
                conn.peer,
                if conn.tls {
                    " over TLS"
                } else {
                    " (plaintext)"
                }
            );
            conn.source = Some(src);
        }
        Err(e) => {
            log::error!("ingest: cannot welcome {name} from {}: {e}", conn.peer);
            conn.session
                .refuse(now, Code::Internal, "cannot build WELCOME");
        }
    }
}
