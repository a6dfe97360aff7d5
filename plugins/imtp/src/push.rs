//! Fan-out of one message to every connection listening on an inbox (section 16.1:
//! a message goes to all listeners; we count it delivered at the first `ok`).
//! The origin is either a delivery from the queue or a `send` a relaying server
//! gave us, which we answer once the listeners have.

use crate::plugin::Imtp;
use std::collections::HashMap;
use std::time::Instant;
use tocsin_imtp::{
    Command, Delivery as ImtpDelivery, ErrorReply, ErrorType, Id, Origin as ErrOrigin, Outcome,
    SendMessage,
};
use tocsin_sdk::{Handle, Outcome as DeliveryOutcome};

#[derive(Debug, Clone)]
pub enum Origin {
    /// A queued delivery: answer the host.
    Delivery(u64),
    /// A relayed `send`: answer command `id` on `conn`.
    Inbound { conn: Handle, id: Id },
}

struct Group {
    origin: Origin,
    waiting: usize,
    errors: Vec<ErrorReply>,
}

#[derive(Default)]
pub struct Pushes {
    groups: HashMap<u64, Group>,
    by_cmd: HashMap<(Handle, Id), u64>,
    next: u64,
    pub delivered: u64,
}

/// The error to report when no listener took the message: a transient one if any
/// (so it is retried), else the first.
fn pick(mut errors: Vec<ErrorReply>) -> ErrorReply {
    match errors.iter().position(|e| e.error_type.is_transient()) {
        Some(i) => errors.swap_remove(i),
        None if !errors.is_empty() => errors.swap_remove(0),
        None => ErrorReply::new(ErrorType::NoListeners).with_description("nobody is listening"),
    }
}

impl Imtp {
    /// Pushes `msg` to the listeners of `identity`.
    pub(crate) fn push(&mut self, identity: &str, msg: SendMessage, origin: Origin) {
        let targets = self.listeners.accepting(identity, &msg.sender);
        if targets.is_empty() {
            let e = ErrorReply::new(ErrorType::NoListeners)
                .with_description(format!("nobody is listening on im:{identity}"));
            self.finish(origin, Err(e));
            return;
        }
        let now = Instant::now();
        let cmd = Command::Send(msg);
        let gid = self.pushes.next;
        self.pushes.next += 1;
        let mut group = Group {
            origin,
            waiting: 0,
            errors: Vec::new(),
        };
        for h in targets {
            let Some(link) = self.links.get_mut(&h) else {
                continue;
            };
            match link.session.conn.send_command(&cmd, now) {
                Ok(id) => {
                    self.pushes.by_cmd.insert((h, id), gid);
                    group.waiting += 1;
                    self.mark(h);
                }
                Err(e) => group.errors.push(
                    ErrorReply::new(ErrorType::Resources)
                        .with_description(format!("listener congested: {e}")),
                ),
            }
        }
        if group.waiting == 0 {
            self.finish(group.origin, Err(pick(group.errors)));
        } else {
            self.pushes.groups.insert(gid, group);
        }
    }

    /// A listener answered one of our pushes. False: not a push of ours.
    pub(crate) fn push_answered(&mut self, conn: Handle, id: &Id, outcome: Outcome) -> bool {
        let Some(gid) = self.pushes.by_cmd.remove(&(conn, id.clone())) else {
            return false;
        };
        self.push_result(gid, outcome);
        true
    }

    fn push_result(&mut self, gid: u64, outcome: Outcome) {
        let Some(g) = self.pushes.groups.get_mut(&gid) else {
            // Already settled by an earlier ok.
            return;
        };
        g.waiting = g.waiting.saturating_sub(1);
        match outcome {
            Outcome::Ok(_) => {
                if let Some(g) = self.pushes.groups.remove(&gid) {
                    self.pushes.delivered += 1;
                    self.finish(g.origin, Ok(()));
                }
            }
            Outcome::Error(e) => {
                g.errors.push(e);
                if g.waiting == 0
                    && let Some(g) = self.pushes.groups.remove(&gid)
                {
                    self.finish(g.origin, Err(pick(g.errors)));
                }
            }
        }
    }

    /// A listening connection is gone: its unanswered pushes failed.
    pub(crate) fn push_conn_lost(&mut self, conn: Handle) {
        let lost: Vec<(Handle, Id)> = self
            .pushes
            .by_cmd
            .keys()
            .filter(|(h, _)| *h == conn)
            .cloned()
            .collect();
        for key in lost {
            if let Some(gid) = self.pushes.by_cmd.remove(&key) {
                let e = ErrorReply::new(ErrorType::Communications)
                    .with_description("the listener's connection closed before it answered");
                self.push_result(gid, Outcome::Error(e));
            }
        }
    }

    /// Reports the end of a push to whoever asked for it.
    fn finish(&mut self, origin: Origin, result: Result<(), ErrorReply>) {
        match origin {
            Origin::Delivery(id) => {
                let o = match result {
                    Ok(()) => DeliveryOutcome::Delivered,
                    Err(e) => delivery_failure(&e),
                };
                if let Err(e) = self.host.delivery_result(id, &o) {
                    log::error!("delivery {id}: cannot report the result: {e}");
                }
            }
            Origin::Inbound { conn, id } => {
                let outcome = match result {
                    Ok(()) => Outcome::ok(),
                    Err(mut e) => {
                        // Section 12: the first relay names itself as the originator.
                        if e.originator.is_none() {
                            e.originator = ErrOrigin::parse(self.settings.name.as_str()).ok();
                        }
                        Outcome::Error(e)
                    }
                };
                if let Some(link) = self.links.get_mut(&conn) {
                    if let Err(e) = link.session.conn.respond(&id, &outcome, Instant::now()) {
                        log::warn!("cannot answer relayed send {id}: {e}");
                    }
                    self.mark(conn);
                }
            }
        }
    }
}

/// The delivery outcome of an IMTP error (docs/imtp.md §7).
pub fn delivery_failure(e: &ErrorReply) -> DeliveryOutcome {
    let reason = match &e.description {
        Some(d) => format!("{}: {d}", e.error_type),
        None => e.error_type.to_string(),
    };
    match tocsin_imtp::Outcome::Error(e.clone()).delivery() {
        ImtpDelivery::RetryLater(_) => DeliveryOutcome::Retry {
            reason,
            after_ms: 0,
        },
        _ => DeliveryOutcome::Permanent { reason },
    }
}
