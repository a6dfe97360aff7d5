//! A delivered `send` as output: the text of its payload, then a human
//! block or one JSON line.

use std::collections::BTreeMap;
use std::io::{self, Write};
use tocsin_admin::time::rfc3339_ms;
use tocsin_imtp::SendMessage;

/// What a `send` without `Content-Type` carries (the IMTP default).
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

/// One notification, ready to print.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    /// RFC 3339, UTC, milliseconds: when we received it.
    pub received_at: String,
    pub sender: String,
    pub inbox: String,
    pub content_type: String,
    pub text: String,
    /// The send's headers we do not interpret (the server's `Tocsin-*`
    /// and any other), the last value per name.
    pub headers: BTreeMap<String, String>,
}

impl Notification {
    pub fn new(m: &SendMessage, received_at_ms: i64) -> Notification {
        Notification {
            received_at: rfc3339_ms(received_at_ms),
            sender: m.sender.to_string(),
            inbox: m.inbox.to_string(),
            content_type: m
                .content_type
                .clone()
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned()),
            text: payload_text(m.content_type.as_deref(), &m.payload),
            headers: m
                .meta
                .extra
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }
    }

    /// `TIME SENDER → INBOX`, then the text indented by two spaces.
    pub fn human(&self) -> String {
        // Seconds are enough for a person; --json has the milliseconds.
        let time = match self.received_at.split_once('.') {
            Some((secs, _)) => format!("{secs}Z"),
            None => self.received_at.clone(),
        };
        let mut out = format!("{time} {} → {}\n", self.sender, self.inbox);
        for line in self.text.lines() {
            out.push_str("  ");
            out.push_str(&printable(line));
            out.push('\n');
        }
        out
    }

    /// One line of JSON (JSON escapes control characters itself).
    pub fn json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Writes and flushes: whoever reads stdout (a script, a latency
    /// benchmark) must see each notification when it arrives, not when a
    /// buffer fills.
    pub fn write_to(&self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        if json {
            let line = self.json().map_err(io::Error::other)?;
            writeln!(out, "{line}")?;
        } else {
            out.write_all(self.human().as_bytes())?;
        }
        out.flush()
    }
}

/// The media type alone, lower case: `Text/Plain; charset=x` → `text/plain`.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The text to show for a payload: plain text as is (invalid UTF-8
/// replaced), the inner text of a CPIM message, else a placeholder.
pub fn payload_text(content_type: Option<&str>, payload: &[u8]) -> String {
    let Some(ct) = content_type else {
        return String::from_utf8_lossy(payload).into_owned();
    };
    match media_type(ct).as_str() {
        "text/plain" => String::from_utf8_lossy(payload).into_owned(),
        "message/cpim" => cpim_text(&String::from_utf8_lossy(payload)).to_owned(),
        _ => format!("[{ct}, {} bytes]", payload.len()),
    }
}

/// RFC 3862: the message headers, a blank line, the MIME headers of the
/// content, a blank line, the content. Anything else is shown whole rather
/// than losing text to a guess.
pub fn cpim_text(payload: &str) -> &str {
    after_blank_line(payload)
        .and_then(after_blank_line)
        .unwrap_or(payload)
}

/// What follows the first empty line (CRLF or LF line ends).
fn after_blank_line(s: &str) -> Option<&str> {
    let mut rest = s;
    loop {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => return None,
        };
        if line.is_empty() || line == "\r" {
            return Some(next);
        }
        rest = next;
    }
}

/// Control characters (escape sequences!) from a stranger's message must
/// not reach the terminal; tabs are harmless.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tocsin_imtp::{Header, Url};

    const CPIM: &str = "From: <im:tocsin@example.org>\r\nTo: <im:alice@example.org>\r\n\
                        DateTime: 2024-05-01T12:00:00Z\r\n\r\n\
                        Content-Type: text/plain; charset=utf-8\r\n\r\n\
                        New mail from Bob\r\nSubject: hi\r\n";

    fn send(ct: Option<&str>, payload: &str) -> SendMessage {
        let mut m = SendMessage::new(
            Url::parse("im:tocsin@example.org").unwrap(),
            Url::parse("im:alice@example.org").unwrap(),
            payload,
        );
        m.content_type = ct.map(str::to_owned);
        m
    }

    #[test]
    fn cpim_extraction() {
        assert_eq!(cpim_text(CPIM), "New mail from Bob\r\nSubject: hi\r\n");
        assert_eq!(
            cpim_text("A: b\n\nContent-Type: text/plain\n\nhi\n"),
            "hi\n"
        );
        // An empty content is still the content.
        assert_eq!(cpim_text("A: b\n\nC: d\n\n"), "");
        // Blank lines inside the content stay.
        assert_eq!(cpim_text("A: b\n\nC: d\n\none\n\ntwo"), "one\n\ntwo");
        // Without both header blocks: the whole payload.
        assert_eq!(cpim_text("just text"), "just text");
        assert_eq!(
            cpim_text("A: b\n\nno inner headers"),
            "A: b\n\nno inner headers"
        );
    }

    #[test]
    fn payload_kinds() {
        assert_eq!(payload_text(None, b"hi \xff"), "hi \u{FFFD}");
        assert_eq!(payload_text(Some("Text/Plain; charset=UTF-8"), b"hi"), "hi");
        assert_eq!(
            payload_text(Some("message/CPIM"), CPIM.as_bytes()),
            "New mail from Bob\r\nSubject: hi\r\n"
        );
        assert_eq!(
            payload_text(Some("application/pidf+xml"), b"<x/>"),
            "[application/pidf+xml, 4 bytes]"
        );
    }

    #[test]
    fn human_block() {
        let m = send(Some("message/cpim"), CPIM);
        let n = Notification::new(&m, 1_700_000_000_123);
        assert_eq!(
            n.human(),
            "2023-11-14T22:13:20Z im:tocsin@example.org → im:alice@example.org\n\
             \x20 New mail from Bob\n\
             \x20 Subject: hi\n"
        );
        let n = Notification::new(&send(None, "bell\x07\x1b[31m\tred"), 0);
        assert_eq!(
            n.human(),
            "1970-01-01T00:00:00Z im:tocsin@example.org → im:alice@example.org\n\
             \x20 bell\u{FFFD}\u{FFFD}[31m\tred\n"
        );
    }

    #[test]
    fn json_line() {
        let mut m = send(None, "Hello \"you\"\nline 2");
        m.meta.extra = vec![
            Header::new("Tocsin-Kind", "mail.MessageNew"),
            Header::new("Tocsin-Priority", "normal"),
            Header::new("Tocsin-Priority", "high"),
        ];
        let n = Notification::new(&m, 1_700_000_000_123);
        let line = n.json().unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            r#"{"received_at":"2023-11-14T22:13:20.123Z","sender":"im:tocsin@example.org","inbox":"im:alice@example.org","content_type":"text/plain; charset=UTF-8","text":"Hello \"you\"\nline 2","headers":{"Tocsin-Kind":"mail.MessageNew","Tocsin-Priority":"high"}}"#
        );
        let mut out = Vec::new();
        n.write_to(&mut out, true).unwrap();
        assert_eq!(out, format!("{line}\n").into_bytes());
    }
}
