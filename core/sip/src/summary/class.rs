//! message-context-class values (RFC 3458 §3.2, used by RFC 3842).

use std::fmt;

/// A message-context-class. Names compare case-insensitively; extension
/// classes are kept, stored in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageClass {
    Voice,
    Fax,
    Pager,
    Multimedia,
    Text,
    None,
    Extension(String),
}

const KNOWN: &[(MessageClass, &str, &str)] = &[
    (MessageClass::Voice, "voice-message", "Voice-Message"),
    (MessageClass::Fax, "fax-message", "Fax-Message"),
    (MessageClass::Pager, "pager-message", "Pager-Message"),
    (
        MessageClass::Multimedia,
        "multimedia-message",
        "Multimedia-Message",
    ),
    (MessageClass::Text, "text-message", "Text-Message"),
    (MessageClass::None, "none", "None"),
];

impl MessageClass {
    pub fn from_name(name: &str) -> MessageClass {
        KNOWN
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
            .map_or_else(
                || MessageClass::Extension(name.to_ascii_lowercase()),
                |(c, _, _)| c.clone(),
            )
    }

    /// Lower-case name, the comparison key.
    pub fn key(&self) -> &str {
        match self {
            MessageClass::Extension(s) => s,
            known => KNOWN
                .iter()
                .find(|(c, _, _)| c == known)
                .map_or("", |(_, n, _)| n),
        }
    }

    /// The name as written on the wire (capitalised as in RFC 3842's
    /// examples; extension classes in lower case).
    pub fn wire_name(&self) -> &str {
        match self {
            MessageClass::Extension(s) => s,
            known => KNOWN
                .iter()
                .find(|(c, _, _)| c == known)
                .map_or("", |(_, _, w)| w),
        }
    }
}

impl fmt::Display for MessageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}
