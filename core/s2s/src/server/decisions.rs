//! The server's per-TSN decision buffer. The host may decide events in any
//! order (e.g. as batches commit); ACKs must leave in TSN order, so decisions
//! wait here until every earlier TSN is decided too.
//!
//! Source event ids of undecided events are kept (for the REJECT message) in
//! one string arena, so buffering costs no allocation per event.

use std::collections::VecDeque;

use crate::code::Code;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Undecided,
    Accept,
    Reject { code: Code, text: String },
}

#[derive(Debug)]
struct Slot {
    verdict: Verdict,
    id_start: usize,
    id_len: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Decisions {
    slots: VecDeque<Slot>,
    /// TSN of `slots[0]`.
    front_tsn: u32,
    /// Source event ids, back to back; `ids[0]` is absolute offset `ids_base`.
    ids: String,
    ids_base: usize,
    undecided: usize,
}

/// Why a decision was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// No delivered event has this TSN (never delivered, or already acked).
    #[error("TSN {tsn} is not awaiting a decision")]
    UnknownTsn {
        /// The TSN given.
        tsn: u32,
    },
    /// The event was already accepted or rejected.
    #[error("TSN {tsn} was already decided")]
    AlreadyDecided {
        /// The TSN given.
        tsn: u32,
    },
    /// The session has failed or is finished.
    #[error("session is closed")]
    Closed,
}

/// A decided slot ready to be acked.
pub(crate) struct Ready<'a> {
    pub(crate) tsn: u32,
    pub(crate) verdict: &'a Verdict,
    pub(crate) source_event_id: &'a str,
}

impl Decisions {
    pub(crate) fn push(&mut self, tsn: u32, source_event_id: &str, verdict: Verdict) {
        if self.slots.is_empty() {
            self.front_tsn = tsn;
        }
        if verdict == Verdict::Undecided {
            self.undecided += 1;
        }
        let id_start = self.ids_base + self.ids.len();
        self.ids.push_str(source_event_id);
        self.slots.push_back(Slot {
            verdict,
            id_start,
            id_len: source_event_id.len(),
        });
    }

    pub(crate) fn decide(&mut self, tsn: u32, verdict: Verdict) -> Result<(), DecideError> {
        let idx = tsn.wrapping_sub(self.front_tsn) as usize;
        let slot = self
            .slots
            .get_mut(idx)
            .ok_or(DecideError::UnknownTsn { tsn })?;
        if slot.verdict != Verdict::Undecided {
            return Err(DecideError::AlreadyDecided { tsn });
        }
        slot.verdict = verdict;
        self.undecided -= 1;
        Ok(())
    }

    /// The front slot, if decided.
    pub(crate) fn front_ready(&self) -> Option<Ready<'_>> {
        let slot = self.slots.front()?;
        if slot.verdict == Verdict::Undecided {
            return None;
        }
        let from = slot.id_start - self.ids_base;
        Some(Ready {
            tsn: self.front_tsn,
            verdict: &slot.verdict,
            source_event_id: self.ids.get(from..from + slot.id_len).unwrap_or(""),
        })
    }

    pub(crate) fn pop_front(&mut self) {
        if self.slots.pop_front().is_none() {
            return;
        }
        self.front_tsn = self.front_tsn.wrapping_add(1);
        match self.slots.front() {
            None => {
                self.ids.clear();
                self.ids_base = 0;
            }
            Some(front) => {
                let dead = front.id_start - self.ids_base;
                // ids are whole strings pushed back to back, so `dead` is a
                // char boundary
                if dead >= 64 * 1024 && dead * 2 > self.ids.len() {
                    self.ids.drain(..dead);
                    self.ids_base += dead;
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn undecided(&self) -> usize {
        self.undecided
    }

    pub(crate) fn is_undecided(&self, tsn: u32) -> bool {
        let idx = tsn.wrapping_sub(self.front_tsn) as usize;
        self.slots
            .get(idx)
            .is_some_and(|s| s.verdict == Verdict::Undecided)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_decisions_release_in_order() {
        let mut d = Decisions::default();
        for (i, id) in ["a", "bb", "ccc"].iter().enumerate() {
            d.push(
                (u32::MAX - 1).wrapping_add(i as u32),
                id,
                Verdict::Undecided,
            );
        }
        assert_eq!(d.undecided(), 3);
        d.decide(0, Verdict::Accept).unwrap(); // third (wrapped)
        assert!(d.front_ready().is_none());
        d.decide(
            u32::MAX - 1,
            Verdict::Reject {
                code: Code::UnknownKind,
                text: "no".into(),
            },
        )
        .unwrap();
        let r = d.front_ready().unwrap();
        assert_eq!((r.tsn, r.source_event_id), (u32::MAX - 1, "a"));
        d.pop_front();
        assert!(d.front_ready().is_none());
        assert_eq!(
            d.decide(0, Verdict::Accept),
            Err(DecideError::AlreadyDecided { tsn: 0 })
        );
        assert_eq!(
            d.decide(7, Verdict::Accept),
            Err(DecideError::UnknownTsn { tsn: 7 })
        );
        d.decide(u32::MAX, Verdict::Accept).unwrap();
        let r = d.front_ready().unwrap();
        assert_eq!((r.tsn, r.source_event_id), (u32::MAX, "bb"));
        d.pop_front();
        assert_eq!(d.front_ready().unwrap().source_event_id, "ccc");
        d.pop_front();
        assert_eq!(d.len(), 0);
        assert_eq!(d.undecided(), 0);
    }
}
