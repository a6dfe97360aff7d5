//! Size limits applied while parsing.

/// Bounds on input and on every field copied into a [`crate::MailEvent`].
///
/// Identity fields (user, mailbox, uri, uidset, timestamp, id) over their limit are an
/// error; display fields (from, subject, snippet, extra values) are truncated on a UTF-8
/// character boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest body or datagram. Cyrus never sends more than 8 KiB (NOTIFY_MAXSIZE);
    /// Dovecot ox bodies are a few hundred bytes.
    pub max_body_bytes: usize,
    /// Longest user name.
    pub max_user_bytes: usize,
    /// Longest mailbox name, URI, UID set, timestamp or source id.
    pub max_ident_bytes: usize,
    /// Longest decoded subject.
    pub max_subject_bytes: usize,
    /// Longest decoded From (each of decoded value, display name, address).
    pub max_from_bytes: usize,
    /// Longest snippet.
    pub snippet_bytes: usize,
    /// How many unrecognised parameters are kept in `extra`.
    pub max_extra_params: usize,
    /// Longest key kept in `extra` (longer keys are dropped).
    pub max_extra_key_bytes: usize,
    /// Longest value kept in `extra` (longer values are truncated).
    pub max_extra_value_bytes: usize,
    /// How much of a Cyrus `messageContent` is searched for From/Subject headers.
    pub max_header_scan_bytes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_body_bytes: 64 * 1024,
            max_user_bytes: 256,
            max_ident_bytes: 1024,
            max_subject_bytes: 512,
            max_from_bytes: 256,
            snippet_bytes: 256,
            max_extra_params: 32,
            max_extra_key_bytes: 64,
            max_extra_value_bytes: 512,
            max_header_scan_bytes: 16 * 1024,
        }
    }
}
