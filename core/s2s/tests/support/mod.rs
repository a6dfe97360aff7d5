//! Shared test fixtures: an in-memory "host" that answers a ServerSession
//! the way the daemon will (authorize, dedupe, store, accept), byte
//! shuttling between endpoints, and a real-socket test server.

#![allow(dead_code, clippy::unwrap_used)] // each test crate uses a subset

pub mod net;

use std::collections::HashSet;
use std::time::Instant;

use tocsin_s2s::msg::{Role, Welcome};
use tocsin_s2s::{Code, Endpoint, ServerEvent, ServerSession, SessionError};

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: String,
    pub kind: String,
    pub wire_kind: String,
    pub user: String,
    pub origin: String,
    pub lang: Option<String>,
    pub stream: u16,
    pub ssn: u16,
    pub summary: String,
}

/// What the host has committed.
#[derive(Debug, Default)]
pub struct Store {
    pub events: Vec<Stored>,
    pub ids: HashSet<String>,
    pub duplicates: usize,
    pub hellos: Vec<String>,
    pub session_rejections: Vec<(u32, Code)>,
    pub goodbyes: Vec<(Code, String)>,
}

/// How the host answers.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub refuse: Option<Code>,
    pub reject_users: Vec<String>,
    pub overloaded_users: Vec<String>,
    pub unknown_kinds: Vec<String>,
    pub standby: bool,
    pub addresses: Vec<String>,
    pub resume: Option<String>,
    pub max_event_bytes: Option<u32>,
    /// Leave events undecided instead of accepting them at once.
    pub hold: bool,
    /// Accept without storing (throughput runs).
    pub discard: bool,
}

/// Poll the session dry and answer everything. Returns the TSNs of events
/// left undecided (with `hold`).
pub fn serve(
    s: &mut ServerSession,
    now: Instant,
    store: &mut Store,
    policy: &Policy,
) -> Result<Vec<u32>, SessionError> {
    let mut held = Vec::new();
    while let Some(ev) = s.poll(now)? {
        match ev {
            ServerEvent::Hello(h) => {
                store.hellos.push(h.source.to_owned());
                if let Some(code) = policy.refuse {
                    s.refuse(now, code, "source not provisioned");
                    continue;
                }
                let addresses: Vec<&str> = policy.addresses.iter().map(String::as_str).collect();
                s.welcome(
                    now,
                    &Welcome {
                        version: 1,
                        appliance_id: "test-appliance",
                        role: if policy.standby {
                            Role::Standby
                        } else {
                            Role::Active
                        },
                        addresses,
                        resume: policy.resume.as_deref(),
                        max_event_bytes: policy.max_event_bytes,
                    },
                )?;
                if policy.standby {
                    s.goodbye(now, Code::NotActive, "standby");
                }
            }
            ServerEvent::Event(e) if policy.discard => {
                let tsn = e.tsn;
                s.accept(now, tsn).unwrap();
            }
            ServerEvent::Event(e) => {
                let tsn = e.tsn;
                let stored = Stored {
                    id: e.event.source_event_id.to_owned(),
                    kind: e.kind.to_string(),
                    wire_kind: e.event.kind.to_owned(),
                    user: e.event.user.to_owned(),
                    origin: e.origin_host.to_owned(),
                    lang: e.lang.map(str::to_owned),
                    stream: e.stream,
                    ssn: e.ssn,
                    summary: e.event.summary.to_owned(),
                };
                if policy.reject_users.contains(&stored.user) {
                    s.reject(
                        now,
                        tsn,
                        Code::UnauthorizedUser,
                        "user not provisioned for this source",
                    )
                    .unwrap();
                } else if policy.overloaded_users.contains(&stored.user) {
                    s.reject(now, tsn, Code::Overloaded, "try later").unwrap();
                } else if policy.unknown_kinds.contains(&stored.kind) {
                    s.reject(now, tsn, Code::UnknownKind, "kind not configured")
                        .unwrap();
                } else {
                    if store.ids.insert(stored.id.clone()) {
                        store.events.push(stored);
                    } else {
                        store.duplicates += 1;
                    }
                    if policy.hold {
                        held.push(tsn);
                    } else {
                        s.accept(now, tsn).unwrap();
                    }
                }
            }
            ServerEvent::Rejected { tsn, code, .. } => store.session_rejections.push((tsn, code)),
            ServerEvent::Goodbye { code, text } => store.goodbyes.push((code, text)),
            ServerEvent::Closed => {}
        }
    }
    Ok(held)
}

/// Move all pending output of `from` into `to` (as far as `to` has room).
pub fn shuttle(from: &mut impl Endpoint, to: &mut impl Endpoint) -> usize {
    let mut moved = 0;
    loop {
        let out = from.pending_output();
        if out.is_empty() {
            return moved;
        }
        let buf = to.recv_buf();
        if buf.is_empty() {
            return moved;
        }
        let n = out.len().min(buf.len());
        buf[..n].copy_from_slice(&out[..n]);
        to.recv_commit(n);
        from.consume_output(n);
        moved += n;
    }
}
