//! Time-driven behaviour: slowloris, handshake, idle and response timers,
//! NOP keepalives.

use super::{ConnError, Connection, Phase, Role};
use std::time::{Duration, Instant};

impl Connection {
    fn handshake_pending(&self) -> bool {
        match self.role {
            Role::Client => matches!(self.phase, Phase::AwaitMech | Phase::AwaitMechRepeat),
            Role::Server => self.config.require_auth && !self.is_authenticated(),
        }
    }

    fn deadlines(&self) -> [(Option<Instant>, Deadline); 5] {
        let t = &self.config.timeouts;
        let at = |base: Instant, d: Option<Duration>| d.and_then(|d| base.checked_add(d));
        [
            (
                self.partial_since.and_then(|p| p.checked_add(t.message)),
                Deadline::Message,
            ),
            (
                if self.handshake_pending() {
                    at(self.created, t.handshake)
                } else {
                    None
                },
                Deadline::Handshake,
            ),
            (at(self.last_rx, t.idle), Deadline::Idle),
            (
                self.outgoing
                    .oldest()
                    .and_then(|(_, sent)| at(sent, t.response)),
                Deadline::Response,
            ),
            (
                if self.phase == Phase::Open {
                    at(self.last_tx, t.nop_interval)
                } else {
                    None
                },
                Deadline::Nop,
            ),
        ]
    }

    /// When the host must call [`Connection::handle_timeout`] next.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed {
            return None;
        }
        self.deadlines().iter().filter_map(|(at, _)| *at).min()
    }

    /// Fires every expired timer. Fatal ones close the connection; the
    /// keepalive queues `=nop`.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnError> {
        if self.phase == Phase::Closed {
            return Err(ConnError::Closed);
        }
        let t = self.config.timeouts.clone();
        for (at, which) in self.deadlines() {
            if at.is_none_or(|at| now < at) {
                continue;
            }
            let e = match which {
                Deadline::Message => ConnError::ReadTimeout(t.message),
                Deadline::Handshake => ConnError::HandshakeTimeout(t.handshake.unwrap_or_default()),
                Deadline::Idle => ConnError::IdleTimeout(t.idle.unwrap_or_default()),
                Deadline::Response => {
                    let id = self
                        .outgoing
                        .oldest()
                        .map(|(id, _)| id)
                        .unwrap_or_else(|| crate::id::Id::from_seq(0));
                    ConnError::ResponseTimeout {
                        id,
                        after: t.response.unwrap_or_default(),
                    }
                }
                Deadline::Nop => {
                    self.out.vec().extend_from_slice(b"=nop\r\n");
                    self.last_tx = now;
                    continue;
                }
            };
            return Err(self.fail(e));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    Message,
    Handshake,
    Idle,
    Response,
    Nop,
}
