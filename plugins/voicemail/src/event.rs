//! Turning a mailbox state into a `voicemail.MessageWaiting` event.

use std::collections::BTreeMap;

use tocsin_sdk::{EventOut, Priority};
use tocsin_sip::{MessageClass, MessageSummary};

pub const KIND: &str = "voicemail.MessageWaiting";
/// The attribute the routing engine coalesces undelivered events by.
pub const COALESCE_KEY: &str = "coalesce_key";

/// `tocsin_abi` limits the plugin must stay within.
const MAX_SOURCE_EVENT_ID: usize = 256;
const MAX_SUMMARY: usize = 1024;
/// Attributes beyond the per-class ones: account, messages_waiting,
/// coalesce_key.
pub const FIXED_ATTRIBUTES: usize = 3;
/// Four attributes per class under the event model's 64: bodies with more
/// classes are refused (400) by the parser limits we set.
pub const MAX_CLASSES: usize = (64 - FIXED_ATTRIBUTES) / 4;

/// What an event is built from.
#[derive(Debug, Clone)]
pub struct StateChange<'a> {
    pub summary: &'a MessageSummary,
    pub account: &'a str,
    pub user: &'a str,
    pub digest: u64,
    pub seq: u64,
    /// IP address the NOTIFY came from.
    pub origin: &'a str,
}

/// FNV-1a, 64 bit: a stable, dependency-free hash for long accounts in
/// event ids (collisions only merge ids of accounts over 200 bytes that
/// also share digest and counter).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `<account>:<state digest>:<change counter>`, the idempotency key.
///
/// * A retransmitted or repeated NOTIFY of the same state never gets this
///   far (the state is unchanged), and if a record was lost (crash before
///   the commit, cache eviction) the recomputed id is the same, so ingest
///   answers "duplicate" instead of storing a second event.
/// * A return to an earlier state later is a new change: the counter
///   differs, so it is a new event.
/// * The digest guards against a reset counter (plugin state deleted): a
///   different state under a reused counter still gets a new id.
///
/// Accounts too long for the 256-byte id are replaced by `#<fnv1a hex>`.
pub fn source_event_id(account: &str, digest: u64, seq: u64) -> String {
    let tail = format!(":{digest:016x}:{seq}");
    if account.len() + tail.len() <= MAX_SOURCE_EVENT_ID && !account.starts_with('#') {
        format!("{account}{tail}")
    } else {
        format!("#{:016x}{tail}", fnv1a(account.as_bytes()))
    }
}

/// Attribute-name stem of a class: `voice`, `fax`, … for the RFC 3458
/// classes, the lower-cased name (with characters attribute names cannot
/// hold turned into `_`) for extension classes.
pub fn class_stem(class: &MessageClass) -> String {
    let stem = match class {
        MessageClass::Voice => "voice",
        MessageClass::Fax => "fax",
        MessageClass::Pager => "pager",
        MessageClass::Multimedia => "multimedia",
        MessageClass::Text => "text",
        MessageClass::None => "none",
        MessageClass::Extension(name) => {
            // Leave room for the longest suffix, `_urgent_new` (11), in 64.
            return name
                .chars()
                .take(53)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
        }
    };
    stem.to_owned()
}

fn noun(class: &MessageClass, n: u32) -> String {
    let (one, many) = match class {
        MessageClass::Voice => ("voicemail", "voicemails"),
        MessageClass::Fax => ("fax", "faxes"),
        MessageClass::Pager => ("pager message", "pager messages"),
        MessageClass::Multimedia => ("multimedia message", "multimedia messages"),
        MessageClass::Text => ("text message", "text messages"),
        MessageClass::None => ("message", "messages"),
        MessageClass::Extension(name) => {
            let name: String = name.chars().take(64).collect();
            return if n == 1 {
                format!("{name} message")
            } else {
                format!("{name} messages")
            };
        }
    };
    if n == 1 { one } else { many }.to_owned()
}

/// "2 new voicemails (1 urgent)", "1 new voicemail, 3 new faxes",
/// "Messages waiting" (waiting, but no new counts), "No new voicemail".
pub fn summary_text(s: &MessageSummary) -> String {
    let parts: Vec<String> = s
        .classes
        .iter()
        .filter(|c| c.counts.new > 0)
        .map(|c| {
            let urgent = c.counts.urgent_or_zero().new;
            let mut t = format!("{} new {}", c.counts.new, noun(&c.class, c.counts.new));
            if urgent > 0 {
                t.push_str(&format!(" ({urgent} urgent)"));
            }
            t
        })
        .collect();
    let text = if !parts.is_empty() {
        parts.join(", ")
    } else if s.messages_waiting {
        "Messages waiting".to_owned()
    } else {
        "No new voicemail".to_owned()
    };
    if text.len() <= MAX_SUMMARY {
        return text;
    }
    let mut cut = MAX_SUMMARY - 3;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

pub fn build(c: &StateChange<'_>) -> EventOut {
    let s = c.summary;
    let mut attributes = BTreeMap::new();
    attributes.insert("account".to_owned(), c.account.to_owned());
    attributes.insert(
        "messages_waiting".to_owned(),
        if s.messages_waiting { "yes" } else { "no" }.to_owned(),
    );
    attributes.insert(COALESCE_KEY.to_owned(), format!("vm:{}", c.account));
    // Standard classes first, so an extension class named like one (say
    // `voice`) can never overwrite the standard class's counts.
    let is_ext = |c: &&tocsin_sip::ClassSummary| matches!(c.class, MessageClass::Extension(_));
    let standard = s.classes.iter().filter(|c| !is_ext(c));
    let ordered = standard.chain(s.classes.iter().filter(is_ext));
    for class in ordered.take(MAX_CLASSES) {
        let stem = class_stem(&class.class);
        let u = class.counts.urgent_or_zero();
        for (suffix, v) in [
            ("new", class.counts.new),
            ("old", class.counts.old),
            ("urgent_new", u.new),
            ("urgent_old", u.old),
        ] {
            attributes
                .entry(format!("{stem}_{suffix}"))
                .or_insert_with(|| v.to_string());
        }
    }
    let urgent_new = s.classes.iter().any(|c| c.counts.urgent_or_zero().new > 0);
    let body = s
        .message_headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    EventOut {
        source_event_id: source_event_id(c.account, c.digest, c.seq),
        kind: KIND.to_owned(),
        user: c.user.to_owned(),
        origin_host: c.origin.to_owned(),
        occurred_at_ms: 0,
        priority: if urgent_new {
            Priority::High
        } else {
            Priority::Normal
        },
        summary: summary_text(s),
        body,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_sip::SummaryLimits;

    fn summary(body: &str) -> MessageSummary {
        MessageSummary::parse(body.as_bytes(), &SummaryLimits::default()).unwrap()
    }

    fn event(body: &str) -> EventOut {
        let s = summary(body);
        build(&StateChange {
            summary: &s,
            account: "sip:*97@pbx.example.org",
            user: "alice@example.org",
            digest: s.state_digest(),
            seq: 4,
            origin: "192.0.2.10",
        })
    }

    #[test]
    fn rfc_example_becomes_an_event() {
        let e = event(
            "Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.example.org\r\nVoice-Message: 2/8 (1/2)\r\n\r\nSubject: hi\r\nFrom: bob\r\n",
        );
        assert_eq!(e.kind, KIND);
        assert_eq!(e.user, "alice@example.org");
        assert_eq!(e.summary, "2 new voicemails (1 urgent)");
        assert_eq!(e.priority, Priority::High);
        assert_eq!(e.origin_host, "192.0.2.10");
        assert_eq!(e.body, "Subject: hi\nFrom: bob");
        let a = |k: &str| e.attributes.get(k).map(String::as_str);
        assert_eq!(a("account"), Some("sip:*97@pbx.example.org"));
        assert_eq!(a("messages_waiting"), Some("yes"));
        assert_eq!(a("coalesce_key"), Some("vm:sip:*97@pbx.example.org"));
        assert_eq!(a("voice_new"), Some("2"));
        assert_eq!(a("voice_old"), Some("8"));
        assert_eq!(a("voice_urgent_new"), Some("1"));
        assert_eq!(a("voice_urgent_old"), Some("2"));
        assert!(
            e.source_event_id.starts_with("sip:*97@pbx.example.org:")
                && e.source_event_id.ends_with(":4"),
            "{}",
            e.source_event_id
        );
    }

    #[test]
    fn summaries() {
        let t = |b: &str| summary_text(&summary(b));
        assert_eq!(
            t("Messages-Waiting: no\r\nVoice-Message: 0/3\r\n"),
            "No new voicemail"
        );
        assert_eq!(
            t("Messages-Waiting: yes\r\nVoice-Message: 0/3\r\n"),
            "Messages waiting"
        );
        assert_eq!(
            t("Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n"),
            "1 new voicemail"
        );
        assert_eq!(
            t(
                "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\nFax-Message: 3/1 (2/0)\r\nx-video: 1/0\r\n"
            ),
            "1 new voicemail, 3 new faxes (2 urgent), 1 new x-video message"
        );
    }

    #[test]
    fn counts_saturate_and_priority_follows_urgent_new() {
        let e = event("Messages-Waiting: yes\r\nVoice-Message: 99999999999/4294967296 (0/7)\r\n");
        assert_eq!(e.attributes["voice_new"], "4294967295");
        assert_eq!(e.attributes["voice_old"], "4294967295");
        assert_eq!(e.priority, Priority::Normal, "only urgent *new* raises it");
    }

    #[test]
    fn extension_classes_get_safe_names_and_never_shadow() {
        let e = event("Messages-Waiting: yes\r\nvoice: 9/9\r\nVoice-Message: 1/1\r\nx+y!: 2/0\r\n");
        assert_eq!(e.attributes["voice_new"], "1");
        assert_eq!(e.attributes["x_y__new"], "2");
    }

    #[test]
    fn the_most_classes_a_body_may_carry_fit_the_attribute_limit() {
        let mut body = "Messages-Waiting: yes\r\n".to_owned();
        for i in 0..MAX_CLASSES {
            body.push_str(&format!("x-class-{i}: 1/1 (1/1)\r\n"));
        }
        let e = event(&body);
        assert_eq!(e.attributes.len(), FIXED_ATTRIBUTES + 4 * MAX_CLASSES);
        assert!(e.attributes.len() <= 64);
    }

    #[test]
    fn event_ids() {
        assert_eq!(
            source_event_id("sip:a@b", 0xab, 3),
            "sip:a@b:00000000000000ab:3"
        );
        let long = format!("sip:{}@b", "x".repeat(300));
        let id = source_event_id(&long, 1, 1);
        assert!(id.starts_with('#') && id.len() <= 256, "{id}");
        assert_eq!(id, source_event_id(&long, 1, 1), "stable");
        assert_ne!(id, source_event_id(&format!("{long}x"), 1, 1));
        // An account that looks like a hashed one cannot collide with one.
        assert!(source_event_id("#0123", 1, 1).starts_with("#"));
        assert_ne!(source_event_id("#0123", 1, 1), "#0123:0000000000000001:1");
    }
}
