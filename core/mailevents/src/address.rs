//! Display name and address from a raw `From:` value (RFC 5322 3.4, leniently).
//!
//! Handles `Name <addr>`, `"Quoted, Name" <addr>`, `addr (Comment Name)`, bare `addr`,
//! encoded words in the name (also inside quotes, as mail clients accept), and takes the
//! first mailbox of a list. Never fails: what cannot be understood stays in `decoded`.

use serde::{Deserialize, Serialize};

use crate::rfc2047::decode_rfc2047;
use crate::text::sanitize_display;

/// A decoded From value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromAddress {
    /// The whole value with encoded words decoded, sanitised and bounded.
    pub decoded: String,
    /// Display name of the first mailbox, if any.
    pub display_name: Option<String>,
    /// `local@domain` of the first mailbox, if one was found.
    pub address: Option<String>,
}

impl FromAddress {
    /// What to show a person: the display name, else the address, else the decoded value.
    pub fn best_label(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.address.as_deref())
            .unwrap_or(&self.decoded)
    }
}

/// Parse a raw From header value; every output is at most `max_bytes` long.
pub fn parse_from(raw: &str, max_bytes: usize) -> FromAddress {
    let decoded = sanitize_display(&decode_rfc2047(raw, max_bytes), max_bytes);
    let first = first_mailbox(raw);
    let (name, addr) = split_mailbox(first);
    let display_name = name
        .map(|n| sanitize_display(&decode_rfc2047(&unquote(&n), max_bytes), max_bytes))
        .filter(|n| !n.is_empty());
    let address = addr
        .map(|a| sanitize_display(&a, max_bytes))
        .filter(|a| !a.is_empty() && !a.contains(char::is_whitespace));
    FromAddress {
        decoded,
        display_name,
        address,
    }
}

/// Lexical state while scanning a header value.
#[derive(Default)]
struct Scan {
    in_quote: bool,
    escaped: bool,
    comment_depth: usize,
}

impl Scan {
    /// Feed one char; true when it is structural (outside quotes and comments).
    fn step(&mut self, c: char) -> bool {
        if self.escaped {
            self.escaped = false;
            return false;
        }
        if (self.in_quote || self.comment_depth > 0) && c == '\\' {
            self.escaped = true;
            return false;
        }
        if self.in_quote {
            if c == '"' {
                self.in_quote = false;
            }
            return false;
        }
        match c {
            '"' if self.comment_depth == 0 => {
                self.in_quote = true;
                false
            }
            '(' => {
                self.comment_depth += 1;
                false
            }
            ')' if self.comment_depth > 0 => {
                self.comment_depth -= 1;
                false
            }
            _ => self.comment_depth == 0,
        }
    }
}

/// The first mailbox of an address list (split at a top-level comma or semicolon). Group
/// syntax is not interpreted: it does not occur in From in practice, while unquoted colons
/// in display names do.
fn first_mailbox(raw: &str) -> &str {
    let mut scan = Scan::default();
    let mut in_angle = false;
    for (i, c) in raw.char_indices() {
        if !scan.step(c) {
            continue;
        }
        match c {
            '<' => in_angle = true,
            '>' => in_angle = false,
            ',' | ';' if !in_angle => return raw[..i].trim(),
            _ => {}
        }
    }
    raw.trim()
}

/// (display name, address) of one mailbox.
fn split_mailbox(mailbox: &str) -> (Option<String>, Option<String>) {
    let mut scan = Scan::default();
    let mut angle: Option<usize> = None;
    for (i, c) in mailbox.char_indices() {
        if !scan.step(c) {
            continue;
        }
        if c == '<' {
            angle = Some(i);
        } else if c == '>' {
            if let Some(open) = angle {
                let name = mailbox[..open].trim();
                let addr = strip_comments(&mailbox[open + 1..i]).trim().to_owned();
                let name = (!name.is_empty()).then(|| name.to_owned());
                return (name, Some(addr));
            }
        }
    }
    if angle.is_some() {
        // "<" without ">": nothing reliable.
        return (None, None);
    }
    // addr-spec alone, possibly with a comment holding the name: "bob@x (Bob)".
    let addr = strip_comments(mailbox).trim().to_owned();
    let name = comment_text(mailbox);
    if addr.contains('@') {
        (name, Some(addr))
    } else {
        (None, None)
    }
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut scan = Scan::default();
    for c in s.chars() {
        let depth_before = scan.comment_depth;
        scan.step(c);
        // Opening and closing parentheses belong to the comment too.
        if depth_before == 0 && scan.comment_depth == 0 {
            out.push(c);
        }
    }
    out
}

/// Text of the first top-level comment, if any.
fn comment_text(s: &str) -> Option<String> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    (close > open + 1).then(|| s[open + 1..close].trim().to_owned())
}

/// Remove surrounding double quotes and backslash escapes from a phrase.
fn unquote(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        let inner = &t[1..t.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if escaped || c != '\\' {
                out.push(c);
                escaped = false;
            } else {
                escaped = true;
            }
        }
        out
    } else {
        t.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (Option<String>, Option<String>) {
        let f = parse_from(s, 256);
        (f.display_name, f.address)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn common_shapes() {
        assert_eq!(
            p("Bob <bob@example.net>"),
            (some("Bob"), some("bob@example.net"))
        );
        assert_eq!(p("<bob@example.net>"), (None, some("bob@example.net")));
        assert_eq!(p("bob@example.net"), (None, some("bob@example.net")));
        assert_eq!(
            p("bob@example.net (Bob Smith)"),
            (some("Bob Smith"), some("bob@example.net"))
        );
        assert_eq!(
            p("\"Smith, Bob\" <bob@example.net>"),
            (some("Smith, Bob"), some("bob@example.net"))
        );
        assert_eq!(
            p("\"Bob \\\"The Builder\\\"\" <bob@example.net>"),
            (some("Bob \"The Builder\""), some("bob@example.net"))
        );
        assert_eq!(
            p("Alice <alice@a.org>, Bob <bob@b.org>"),
            (some("Alice"), some("alice@a.org"))
        );
        assert_eq!(p("undisclosed-recipients:;"), (None, None));
        assert_eq!(p(""), (None, None));
        assert_eq!(p("Bob <bob@example.net"), (None, None));
    }

    #[test]
    fn encoded_names() {
        let f = parse_from("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>", 256);
        assert_eq!(f.display_name.as_deref(), Some("Jörg Müller"));
        assert_eq!(f.address.as_deref(), Some("jm@example.de"));
        assert_eq!(f.decoded, "Jörg Müller <jm@example.de>");
        assert_eq!(f.best_label(), "Jörg Müller");
        // Encoded word inside quotes (not RFC-conformant, common in practice).
        let f = parse_from("\"=?ISO-8859-1?Q?Andr=E9?=\" <andre@example.fr>", 256);
        assert_eq!(f.display_name.as_deref(), Some("André"));
        // Comma inside an encoded word is not a list separator.
        let f = parse_from("=?UTF-8?Q?Smith=2C_Bob?= <bob@example.net>", 256);
        assert_eq!(f.display_name.as_deref(), Some("Smith, Bob"));
    }

    #[test]
    fn bounded_and_sanitised() {
        let f = parse_from("Evil\r\nInjected: header <e@x.org>", 256);
        assert_eq!(f.display_name.as_deref(), Some("Evil Injected: header"));
        let long = format!("{} <a@b.c>", "N".repeat(1000));
        let f = parse_from(&long, 64);
        assert!(f.decoded.len() <= 64);
        assert!(f.display_name.as_ref().unwrap().len() <= 64);
        assert_eq!(f.best_label().len(), 64);
    }
}
