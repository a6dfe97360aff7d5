//! The per-connection queue that releases responses strictly in request order.
//!
//! HTTP/1.1 has no request ids on the wire: the N-th response answers the N-th request.
//! The host may finish requests out of order (e.g. a fast rejection behind a slow commit),
//! so each request owns a slot; responses park in their slot until every earlier slot has
//! been written.

use std::collections::VecDeque;

use crate::request::Version;
use crate::response::Response;

#[derive(Debug)]
pub(crate) enum SlotState {
    /// Head parsed, body still arriving; the host has not seen the request yet.
    Receiving {
        expect_continue: bool,
        continue_sent: bool,
    },
    /// Handed to the host, no response yet.
    Waiting,
    /// Response submitted (or an error response made by the codec), not yet written.
    Ready(Response),
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub seq: u64,
    pub state: SlotState,
    /// HEAD request: write headers only.
    pub head_request: bool,
    pub version: Version,
    pub keep_alive: bool,
    /// Whether this slot counts towards the in-flight limit (yielded requests only).
    pub yielded: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ResponseQueue {
    slots: VecDeque<Slot>,
    in_flight: usize,
}

impl ResponseQueue {
    pub fn push(&mut self, slot: Slot) {
        debug_assert!(self.slots.back().is_none_or(|s| s.seq < slot.seq));
        if slot.yielded {
            self.in_flight += 1;
        }
        self.slots.push_back(slot);
    }

    /// Requests handed to the host and not yet written out.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn find_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        let front = self.slots.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(front)?).ok()?;
        self.slots.get_mut(idx).filter(|s| s.seq == seq)
    }

    /// Mark a receiving slot as handed to the host.
    pub fn mark_yielded(&mut self, seq: u64) {
        if let Some(slot) = self.find_mut(seq) {
            slot.state = SlotState::Waiting;
            if !slot.yielded {
                slot.yielded = true;
                self.in_flight += 1;
            }
        }
    }

    pub fn front_mut(&mut self) -> Option<&mut Slot> {
        self.slots.front_mut()
    }

    pub fn pop_front(&mut self) -> Option<Slot> {
        let slot = self.slots.pop_front()?;
        if slot.yielded {
            self.in_flight -= 1;
        }
        Some(slot)
    }

    /// Remove the slot with this sequence number if it is the newest one.
    pub fn remove_back(&mut self, seq: u64) {
        if self.slots.back().is_some_and(|s| s.seq == seq) {
            if let Some(slot) = self.slots.pop_back() {
                if slot.yielded {
                    self.in_flight -= 1;
                }
            }
        }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.in_flight = 0;
    }
}
