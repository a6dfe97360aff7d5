//! Canonical encoding and the state digest.

use std::fmt::Write as _;

use super::MessageSummary;
use crate::siphash::SipHasher24;

/// Fixed key: the digest must be identical across processes, restarts and
/// pool nodes, so it is not secret (it detects change, it does not
/// authenticate).
const DIGEST_KEY: &[u8; 16] = b"tocsin-mwi-state";

impl MessageSummary {
    /// The body in canonical form: CRLF line ends, `Name: value` with one
    /// space, classes in stored order, message headers in one block.
    /// `MessageSummary::parse(x.encode())` gives back `x`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(96);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "Messages-Waiting: {}\r\n",
            if self.messages_waiting { "yes" } else { "no" }
        );
        if let Some(a) = &self.account {
            let _ = write!(out, "Message-Account: {a}\r\n");
        }
        for c in &self.classes {
            let _ = write!(
                out,
                "{}: {}/{}",
                c.class.wire_name(),
                c.counts.new,
                c.counts.old
            );
            if let Some(u) = c.counts.urgent {
                let _ = write!(out, " ({}/{})", u.new, u.old);
            }
            out.push_str("\r\n");
        }
        if !self.message_headers.is_empty() {
            out.push_str("\r\n");
            for (n, v) in &self.message_headers {
                let _ = write!(out, "{n}: {v}\r\n");
            }
        }
        out
    }

    /// A normalised text of the mailbox state: waiting flag, account, and
    /// each class's counts sorted by class name, absent urgent counts read
    /// as 0/0. Message headers are not state (they describe what arrived)
    /// and are left out. A class absent from the body is not the same
    /// state as a class listed with 0/0.
    pub fn state_key(&self) -> String {
        let mut classes: Vec<_> = self.classes.iter().collect();
        classes.sort_by(|a, b| a.class.key().cmp(b.class.key()));
        let mut out = String::with_capacity(64);
        let _ = write!(
            out,
            "waiting={}\naccount={}\n",
            if self.messages_waiting { "yes" } else { "no" },
            self.account.as_deref().unwrap_or("")
        );
        for c in classes {
            let u = c.counts.urgent_or_zero();
            let _ = writeln!(
                out,
                "{}={}/{}/{}/{}",
                c.class.key(),
                c.counts.new,
                c.counts.old,
                u.new,
                u.old
            );
        }
        out
    }

    /// 64-bit SipHash-2-4 of [`MessageSummary::state_key`] under a fixed
    /// key: stable across runs and versions, so the plugin can store it and
    /// recognise a repeated, unchanged state.
    pub fn state_digest(&self) -> u64 {
        let mut h = SipHasher24::new(DIGEST_KEY);
        h.write(self.state_key().as_bytes());
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ClassSummary, Counts, MessageClass, UrgentCounts};
    use super::*;
    use crate::SummaryLimits;

    #[test]
    fn encode_round_trip_and_digest() {
        let s = MessageSummary {
            messages_waiting: true,
            account: Some("sip:*97@pbx.example.org".into()),
            classes: vec![
                ClassSummary {
                    class: MessageClass::Voice,
                    counts: Counts {
                        new: 2,
                        old: 8,
                        urgent: Some(UrgentCounts { new: 0, old: 2 }),
                    },
                },
                ClassSummary {
                    class: MessageClass::Extension("x-video".into()),
                    counts: Counts::default(),
                },
            ],
            message_headers: vec![("Subject".into(), "hello".into())],
        };
        let text = s.encode();
        assert_eq!(
            text,
            "Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.example.org\r\nVoice-Message: 2/8 (0/2)\r\nx-video: 0/0\r\n\r\nSubject: hello\r\n"
        );
        let back = MessageSummary::parse(text.as_bytes(), &SummaryLimits::default());
        assert_eq!(back.as_ref(), Ok(&s));

        // Order of classes, header block and urgent-absent-vs-zero do not
        // change the state.
        let mut t = s.clone();
        t.classes.reverse();
        t.message_headers.clear();
        assert_eq!(t.state_digest(), s.state_digest());
        let mut u = s.clone();
        u.classes[1].counts.urgent = Some(UrgentCounts::default());
        assert_eq!(u.state_digest(), s.state_digest());
        let mut w = s.clone();
        w.classes[0].counts.new = 3;
        assert_ne!(w.state_digest(), s.state_digest());
        // Pinned: stored digests must stay valid across versions.
        assert_eq!(s.state_digest(), 0x3a6f_2a43_3914_3eaf);
    }
}
