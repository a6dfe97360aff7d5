//! Heartbeat and ACK-progress timers (the draft leaves both to the
//! implementation; the rules are in `docs/shim.md`, "Liveness").
//!
//! * Anything received proves the peer alive: it resets the idle clock and
//!   the missed-heartbeat count.
//! * After `interval` of silence we send a HEARTBEAT, and another every
//!   `interval` while the silence lasts. When `max_missed` of them are
//!   unanswered at the next due time, the peer is dead.
//! * Separately, while DATA of ours is outstanding, an ACK must arrive at least
//!   every `ack_timeout`; a peer that answers heartbeats but never acks (a
//!   stuck disk, a wedged upper layer) is as useless as a dead one.

use std::time::{Duration, Instant};

use crate::error::ShimError;

#[derive(Debug)]
pub(crate) struct Liveness {
    interval: Duration,
    max_missed: u32,
    ack_timeout: Option<Duration>,
    /// When the next HEARTBEAT (or the death verdict) is due.
    heartbeat_due: Instant,
    /// HEARTBEATs sent since we last heard anything.
    missed: u32,
    /// Counter carried in our Heartbeat Info; the last value sent.
    counter: u64,
    /// When the HEARTBEAT with `counter` left, for the RTT estimate.
    last_sent_at: Option<Instant>,
    /// Start of the current wait for ACK progress (None: nothing outstanding).
    ack_wait_since: Option<Instant>,
}

/// What `on_timeout` wants the connection to do.
pub(crate) enum Due {
    Nothing,
    SendHeartbeat(u64),
}

impl Liveness {
    pub(crate) fn new(
        now: Instant,
        interval: Duration,
        max_missed: u32,
        ack_timeout: Option<Duration>,
    ) -> Self {
        Self {
            interval,
            max_missed,
            ack_timeout,
            heartbeat_due: now + interval,
            missed: 0,
            counter: 0,
            last_sent_at: None,
            ack_wait_since: None,
        }
    }

    /// A chunk arrived.
    pub(crate) fn on_receive(&mut self, now: Instant) {
        self.heartbeat_due = now + self.interval;
        self.missed = 0;
    }

    /// DATA was queued; `was_idle` when nothing was outstanding before.
    pub(crate) fn on_data_sent(&mut self, now: Instant, was_idle: bool) {
        if was_idle {
            self.ack_wait_since = Some(now);
        }
    }

    /// An ACK released data; `outstanding` when some is still unacked.
    pub(crate) fn on_ack(&mut self, now: Instant, outstanding: bool) {
        self.ack_wait_since = outstanding.then_some(now);
    }

    /// Validate an echoed counter; returns the RTT when it is the latest one.
    pub(crate) fn on_heartbeat_ack(
        &mut self,
        now: Instant,
        echoed: u64,
    ) -> Result<Option<Duration>, ShimError> {
        if echoed == 0 || echoed > self.counter {
            return Err(ShimError::HeartbeatAckMismatch);
        }
        Ok((echoed == self.counter)
            .then(|| self.last_sent_at.map(|t| now.saturating_duration_since(t)))
            .flatten())
    }

    pub(crate) fn next_timeout(&self) -> Instant {
        match (self.ack_wait_since, self.ack_timeout) {
            (Some(since), Some(limit)) => self.heartbeat_due.min(since + limit),
            _ => self.heartbeat_due,
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) -> Result<Due, ShimError> {
        if let (Some(since), Some(limit)) = (self.ack_wait_since, self.ack_timeout) {
            let waited = now.saturating_duration_since(since);
            if waited >= limit {
                return Err(ShimError::AckTimeout { waited });
            }
        }
        if now < self.heartbeat_due {
            return Ok(Due::Nothing);
        }
        if self.missed >= self.max_missed {
            return Err(ShimError::HeartbeatsMissed {
                missed: self.missed,
            });
        }
        self.missed += 1;
        self.counter += 1;
        self.last_sent_at = Some(now);
        self.heartbeat_due = now + self.interval;
        Ok(Due::SendHeartbeat(self.counter))
    }
}
