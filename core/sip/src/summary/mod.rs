//! RFC 3842 `application/simple-message-summary` bodies.

mod class;
mod encode;
mod error;
mod parse;

pub use class::MessageClass;
pub use error::SummaryError;

/// new/old counts of one message-context-class, with the optional urgent
/// pair. Counts saturate at 2^32-1 as RFC 3842 §5.2 asks of receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Counts {
    pub new: u32,
    pub old: u32,
    /// `(new-urgent/old-urgent)`; `None` when the line had no parentheses.
    pub urgent: Option<UrgentCounts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UrgentCounts {
    pub new: u32,
    pub old: u32,
}

impl Counts {
    /// Urgent counts, absent ones read as zero.
    pub fn urgent_or_zero(&self) -> UrgentCounts {
        self.urgent.unwrap_or_default()
    }

    /// Adds another line's counts (a class listed twice), saturating.
    pub(crate) fn merge(&mut self, other: Counts) {
        self.new = self.new.saturating_add(other.new);
        self.old = self.old.saturating_add(other.old);
        self.urgent = match (self.urgent, other.urgent) {
            (None, None) => None,
            (a, b) => {
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                Some(UrgentCounts {
                    new: a.new.saturating_add(b.new),
                    old: a.old.saturating_add(b.old),
                })
            }
        };
    }
}

/// One `Class: new/old (urgent-new/urgent-old)` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassSummary {
    pub class: MessageClass,
    pub counts: Counts,
}

/// A parsed message-summary body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageSummary {
    /// `Messages-Waiting: yes|no`.
    pub messages_waiting: bool,
    /// `Message-Account`, an absolute URI.
    pub account: Option<String>,
    /// One entry per distinct class, in order of first appearance. A class
    /// listed twice is merged by adding its counts: the ABNF allows the
    /// repetition and summing matches how RFC 3842 §4 merges forked state.
    pub classes: Vec<ClassSummary>,
    /// Optional RFC 2822-style headers of newly arrived messages, in order,
    /// all blocks flattened into one list.
    pub message_headers: Vec<(String, String)>,
}

impl MessageSummary {
    /// Counts of `class`, if the body listed it.
    pub fn counts(&self, class: &MessageClass) -> Option<Counts> {
        self.classes
            .iter()
            .find(|c| &c.class == class)
            .map(|c| c.counts)
    }

    /// Counts of `voice-message`, the class voicemail servers send.
    pub fn voice(&self) -> Option<Counts> {
        self.counts(&MessageClass::Voice)
    }
}
