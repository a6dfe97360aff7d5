//! Parser for RFC 3842 §5.2:
//!
//! ```text
//! message-summary  = msg-status-line CRLF [msg-account CRLF]
//!                    [*(msg-summary-line CRLF)] [ *opt-msg-headers ]
//! msg-summary-line = message-context-class HCOLON newmsgs SLASH oldmsgs
//!                    [ LPAREN new-urgentmsgs SLASH old-urgentmsgs RPAREN ]
//! ```
//!
//! Tolerated beyond the ABNF: bare-LF line ends, a missing final line end,
//! trailing empty lines, header-style folding, whitespace-only lines read as
//! empty lines.

use std::borrow::Cow;

use super::{ClassSummary, Counts, MessageClass, MessageSummary, SummaryError, UrgentCounts};
use crate::SummaryLimits;
use crate::lex::{has_forbidden_ctl, is_token, is_wsp, trim_wsp};

/// One logical line: physical line number and unfolded text; `None` text
/// marks an empty line.
struct Line<'a> {
    no: usize,
    text: Option<Cow<'a, str>>,
}

impl MessageSummary {
    pub fn parse(body: &[u8], limits: &SummaryLimits) -> Result<MessageSummary, SummaryError> {
        let text = std::str::from_utf8(body).map_err(|e| SummaryError::NonUtf8 {
            offset: e.valid_up_to(),
        })?;
        let lines = logical_lines(text, limits)?;
        let mut lines = lines.into_iter().peekable();

        // Status line first.
        let first = lines.next().ok_or(SummaryError::Empty)?;
        let first = first.text.ok_or(SummaryError::MissingStatusLine)?;
        let (name, value) = split_hcolon(&first).ok_or(SummaryError::MissingStatusLine)?;
        if !name.eq_ignore_ascii_case("Messages-Waiting") {
            return Err(SummaryError::MissingStatusLine);
        }
        let messages_waiting = if value.eq_ignore_ascii_case("yes") {
            true
        } else if value.eq_ignore_ascii_case("no") {
            false
        } else {
            return Err(SummaryError::BadStatus);
        };

        let mut summary = MessageSummary {
            messages_waiting,
            account: None,
            classes: Vec::new(),
            message_headers: Vec::new(),
        };

        // Summary section, up to the first empty line.
        let mut index = 0;
        for line in lines.by_ref() {
            let Some(text) = line.text else { break };
            index += 1;
            let bad = |reason| SummaryError::BadLine {
                line: line.no,
                reason,
            };
            let (name, value) = split_hcolon(&text).ok_or(bad("expected `name: value`"))?;
            if name.eq_ignore_ascii_case("Message-Account") {
                // The ABNF puts the account right after the status line.
                if index != 1 {
                    return Err(bad("Message-Account must follow Messages-Waiting"));
                }
                summary.account = Some(parse_account(value)?.to_owned());
            } else if name.eq_ignore_ascii_case("Messages-Waiting") {
                return Err(bad("Messages-Waiting repeated"));
            } else {
                let counts = parse_counts(value).ok_or(bad("malformed new/old (urgent) counts"))?;
                add_class(&mut summary, MessageClass::from_name(name), counts, limits)?;
            }
        }

        // Optional message headers: blocks separated by empty lines.
        for line in lines {
            let Some(text) = line.text else { continue };
            let (name, value) = split_hcolon(&text).ok_or(SummaryError::BadLine {
                line: line.no,
                reason: "expected a message header",
            })?;
            if summary.message_headers.len() == limits.max_message_headers {
                return Err(SummaryError::TooManyHeaders {
                    limit: limits.max_message_headers,
                });
            }
            summary
                .message_headers
                .push((name.to_owned(), value.to_owned()));
        }
        Ok(summary)
    }
}

fn add_class(
    summary: &mut MessageSummary,
    class: MessageClass,
    counts: Counts,
    limits: &SummaryLimits,
) -> Result<(), SummaryError> {
    if let Some(existing) = summary.classes.iter_mut().find(|c| c.class == class) {
        existing.counts.merge(counts);
        return Ok(());
    }
    if summary.classes.len() == limits.max_classes {
        return Err(SummaryError::TooManyClasses {
            limit: limits.max_classes,
        });
    }
    summary.classes.push(ClassSummary { class, counts });
    Ok(())
}

fn logical_lines<'a>(text: &'a str, limits: &SummaryLimits) -> Result<Vec<Line<'a>>, SummaryError> {
    let mut out: Vec<Line<'a>> = Vec::new();
    // A final line end does not start another (empty) line.
    let text = text.strip_suffix('\n').unwrap_or(text);
    for (i, raw) in text.split('\n').enumerate() {
        let no = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.len() > limits.max_line {
            return Err(SummaryError::LineTooLong {
                line: no,
                limit: limits.max_line,
            });
        }
        if has_forbidden_ctl(raw) {
            return Err(SummaryError::ControlCharacter { line: no });
        }
        let trimmed = trim_wsp(raw);
        if trimmed.is_empty() {
            out.push(Line { no, text: None });
            continue;
        }
        if raw.bytes().next().is_some_and(is_wsp) {
            // Folded continuation of the previous line (LWS).
            let Some(prev) = out.last_mut().and_then(|l| l.text.as_mut()) else {
                return Err(SummaryError::BadLine {
                    line: no,
                    reason: "continuation line without a line to continue",
                });
            };
            let prev = prev.to_mut();
            prev.push(' ');
            prev.push_str(trimmed);
            if prev.len() > limits.max_line {
                return Err(SummaryError::LineTooLong {
                    line: no,
                    limit: limits.max_line,
                });
            }
            continue;
        }
        out.push(Line {
            no,
            text: Some(Cow::Borrowed(raw)),
        });
    }
    // Trailing empty lines carry nothing.
    while out.last().is_some_and(|l| l.text.is_none()) {
        out.pop();
    }
    Ok(out)
}

/// `name HCOLON value` with HCOLON = *WSP ":" SWS; the name must be a token.
fn split_hcolon(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let name = name.trim_end_matches([' ', '\t']);
    is_token(name).then(|| (name, trim_wsp(value)))
}

/// Account-URI = SIP-URI / SIPS-URI / absoluteURI, never in angle brackets.
fn parse_account(value: &str) -> Result<&str, SummaryError> {
    if value.starts_with('<') {
        return Err(SummaryError::AngleBracketAccount);
    }
    let (scheme, rest) = value.split_once(':').ok_or(SummaryError::BadAccount)?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let rest_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'));
    if scheme_ok && rest_ok {
        Ok(value)
    } else {
        Err(SummaryError::BadAccount)
    }
}

/// `newmsgs SLASH oldmsgs [ LPAREN new-urgent SLASH old-urgent RPAREN ]`,
/// SLASH/LPAREN/RPAREN allowing whitespace around them.
fn parse_counts(value: &str) -> Option<Counts> {
    let mut c = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let new = c.number()?;
    c.punct(b'/')?;
    let old = c.number()?;
    c.ws();
    let urgent = if c.eat(b'(') {
        c.ws();
        let un = c.number()?;
        c.punct(b'/')?;
        let uo = c.number()?;
        c.punct(b')')?;
        Some(UrgentCounts { new: un, old: uo })
    } else {
        None
    };
    c.ws();
    c.at_end().then_some(Counts { new, old, urgent })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).copied().is_some_and(is_wsp) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Whitespace, `b`, whitespace.
    fn punct(&mut self, b: u8) -> Option<()> {
        self.ws();
        let ok = self.eat(b);
        self.ws();
        ok.then_some(())
    }

    /// `1*DIGIT`, saturating at 2^32-1 without ever overflowing: the
    /// accumulator stops growing once past u32::MAX.
    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&b) = self.s.get(self.i).filter(|b| b.is_ascii_digit()) {
            v = (v * 10 + u64::from(b - b'0')).min(u64::from(u32::MAX) + 1);
            self.i += 1;
        }
        (self.i > start).then(|| u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn at_end(&self) -> bool {
        self.i == self.s.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<MessageSummary, SummaryError> {
        MessageSummary::parse(s.as_bytes(), &SummaryLimits::default())
    }

    #[test]
    fn rfc_example() {
        let s = parse(
            "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n",
        );
        let Ok(s) = s else { panic!("{s:?}") };
        assert!(s.messages_waiting);
        assert_eq!(s.account.as_deref(), Some("sip:alice@vmail.example.com"));
        assert_eq!(
            s.voice(),
            Some(Counts {
                new: 2,
                old: 8,
                urgent: Some(UrgentCounts { new: 0, old: 2 })
            })
        );
    }

    #[test]
    fn whitespace_case_and_lf() {
        let s = parse("messages-waiting:NO\nVOICE-MESSAGE :  3 / 4(1 /0 ) \nx-custom: 1/2\n\n");
        let Ok(s) = s else { panic!("{s:?}") };
        assert!(!s.messages_waiting);
        assert_eq!(s.voice().map(|c| (c.new, c.old)), Some((3, 4)));
        assert_eq!(
            s.counts(&MessageClass::Extension("x-custom".into()))
                .map(|c| c.new),
            Some(1)
        );
    }

    #[test]
    fn saturation() {
        let s = parse(
            "Messages-Waiting: yes\r\nVoice-Message: 4294967296/1234567890123456789012345678901234567890 (4294967295/0000000000000000000000000000000000000007)\r\n",
        );
        let Ok(s) = s else { panic!("{s:?}") };
        let v = s.voice().unwrap_or_default();
        assert_eq!((v.new, v.old), (u32::MAX, u32::MAX));
        assert_eq!(
            v.urgent,
            Some(UrgentCounts {
                new: u32::MAX,
                old: 7
            })
        );
    }

    #[test]
    fn duplicates_merge_and_headers_kept() {
        let s = parse(
            "Messages-Waiting: yes\r\nVoice-Message: 1/1\r\nvoice-message: 2/2 (1/0)\r\n\r\nTo: a\r\nSubject: hi\r\n there\r\n\r\nFrom: b\r\n",
        );
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(
            s.voice(),
            Some(Counts {
                new: 3,
                old: 3,
                urgent: Some(UrgentCounts { new: 1, old: 0 })
            })
        );
        assert_eq!(s.message_headers.len(), 3);
        assert_eq!(s.message_headers[1], ("Subject".into(), "hi there".into()));
    }

    #[test]
    fn rejections() {
        type Check = fn(&SummaryError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| *e == SummaryError::Empty),
            ("Voice-Message: 1/2\r\n", |e| {
                *e == SummaryError::MissingStatusLine
            }),
            ("Messages-Waiting: maybe\r\n", |e| {
                *e == SummaryError::BadStatus
            }),
            (
                "Messages-Waiting: yes\r\nMessage-Account: <sip:a@b>\r\n",
                |e| *e == SummaryError::AngleBracketAccount,
            ),
            ("Messages-Waiting: yes\r\nMessage-Account: alice\r\n", |e| {
                *e == SummaryError::BadAccount
            }),
            ("Messages-Waiting: yes\r\nVoice-Message: 1/2/3\r\n", |e| {
                matches!(e, SummaryError::BadLine { line: 2, .. })
            }),
            ("Messages-Waiting: yes\r\nVoice-Message: 1 2\r\n", |e| {
                matches!(e, SummaryError::BadLine { .. })
            }),
            ("Messages-Waiting: yes\r\nVoice-Message: -1/2\r\n", |e| {
                matches!(e, SummaryError::BadLine { .. })
            }),
            (
                "Messages-Waiting: yes\r\nVoice-Message: 1/2 (3/4\r\n",
                |e| matches!(e, SummaryError::BadLine { .. }),
            ),
            (
                "Messages-Waiting: yes\r\nVoice-Message: 1/2\r\nMessage-Account: sip:a@b\r\n",
                |e| matches!(e, SummaryError::BadLine { line: 3, .. }),
            ),
            ("Messages-Waiting: yes\r\n\r\nnot a header\r\n", |e| {
                matches!(e, SummaryError::BadLine { line: 3, .. })
            }),
            ("Messages-Waiting: yes\r\nVoice\u{1}: 1/2\r\n", |e| {
                matches!(e, SummaryError::ControlCharacter { line: 2 })
            }),
        ];
        for (body, check) in cases {
            let r = parse(body);
            assert!(r.as_ref().err().is_some_and(check), "{body:?} gave {r:?}");
        }
        assert_eq!(
            MessageSummary::parse(
                b"Messages-Waiting: yes\r\nSubject: \xff",
                &SummaryLimits::default()
            ),
            Err(SummaryError::NonUtf8 { offset: 32 })
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = SummaryLimits {
            max_classes: 2,
            max_message_headers: 1,
            max_line: 40,
        };
        let p = |s: &str| MessageSummary::parse(s.as_bytes(), &limits);
        assert_eq!(
            p("Messages-Waiting: yes\na: 1/1\nb: 1/1\nc: 1/1\n"),
            Err(SummaryError::TooManyClasses { limit: 2 })
        );
        assert_eq!(
            p("Messages-Waiting: yes\n\nA: 1\nB: 2\n"),
            Err(SummaryError::TooManyHeaders { limit: 1 })
        );
        assert!(matches!(
            p(&format!(
                "Messages-Waiting: yes\nSubject: {}\n",
                "x".repeat(50)
            )),
            Err(SummaryError::LineTooLong { line: 2, .. })
        ));
    }
}
