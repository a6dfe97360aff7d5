//! Start line and header section parsing, shared by the datagram parser, the
//! stream decoder and the lenient recovery scanner.

use std::borrow::Cow;

use crate::lex::{has_forbidden_ctl, is_token, is_wsp, trim_wsp};
use crate::{Header, HeaderKind, Limits, Method, ParseError, StartLine, StatusCode};

/// Number of leading CR/LF bytes (blank lines before the start line are
/// ignored, RFC 3261 §7.5).
pub(crate) fn skip_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len())
}

/// Finds the empty line ending the header section, scanning from `from`.
/// Returns `(head_end, body_start)`: `head_end` is just past the LF of the
/// last header line, `body_start` just past the empty line. Bare-LF line
/// ends are accepted (tolerated, not produced).
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        let nl = i + buf.get(i..)?.iter().position(|&b| b == b'\n')?;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some((nl + 1, nl + 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((nl + 1, nl + 3)),
            _ => i = nl + 1,
        }
    }
    None
}

/// Strict: any defect is an error. Lenient: lines that do not parse are
/// skipped (used to salvage Via/From/To/Call-ID/CSeq for an error answer).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Strict,
    Lenient,
}

pub(crate) struct Head<'a> {
    pub start: StartLine<'a>,
    pub headers: Vec<Header<'a>>,
}

/// Parses `head` (start line and header lines, without the empty line).
pub(crate) fn parse_head<'a>(
    head: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<Head<'a>, ParseError> {
    let head = strip_line_end(head);
    let mut lines = head.split(|&b| b == b'\n').map(strip_cr).enumerate();
    let (_, first) = lines.next().ok_or(ParseError::BadStartLine("empty"))?;
    if first.len() > limits.max_header_line {
        return Err(ParseError::HeaderLineTooLong {
            line: 1,
            limit: limits.max_header_line,
        });
    }
    let first = std::str::from_utf8(first).map_err(|e| ParseError::NonUtf8Header {
        line: 1,
        column: e.valid_up_to() + 1,
    })?;
    let start = parse_start_line(first, mode)?;

    let mut headers: Vec<Header<'a>> = Vec::with_capacity(16);
    // Whether the previous logical header was kept: continuation lines of a
    // skipped header (lenient mode) must be skipped too.
    let mut last_kept = false;
    for (idx, raw) in lines {
        let line_no = idx + 1;
        match parse_line(raw, line_no, limits, &mut headers, last_kept) {
            Ok(kept) => last_kept = kept,
            // Lenient mode salvages what it can: a bad line is skipped.
            Err(_) if mode == Mode::Lenient => last_kept = false,
            Err(e) => return Err(e),
        }
        if headers.len() > limits.max_headers {
            if mode == Mode::Lenient {
                headers.truncate(limits.max_headers);
                break;
            }
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
    }
    Ok(Head { start, headers })
}

/// Parses one physical header line into `headers`. Returns whether a header
/// was added or extended.
fn parse_line<'a>(
    raw: &'a [u8],
    line: usize,
    limits: &Limits,
    headers: &mut Vec<Header<'a>>,
    last_kept: bool,
) -> Result<bool, ParseError> {
    if raw.len() > limits.max_header_line {
        return Err(ParseError::HeaderLineTooLong {
            line,
            limit: limits.max_header_line,
        });
    }
    let text = std::str::from_utf8(raw).map_err(|e| ParseError::NonUtf8Header {
        line,
        column: e.valid_up_to() + 1,
    })?;
    if has_forbidden_ctl(text) {
        return Err(ParseError::ControlCharacter { line });
    }
    if raw.first().is_some_and(|&b| is_wsp(b)) {
        // Folded continuation (RFC 3261 §7.3.1): replace the line break and
        // leading whitespace by a single SP.
        let Some(prev) = headers.last_mut().filter(|_| last_kept) else {
            return Err(ParseError::BadHeaderLine {
                line,
                reason: "continuation line without a header to continue",
            });
        };
        let extra = trim_wsp(text);
        if !extra.is_empty() {
            let value = prev.value.to_mut();
            if value.is_empty() {
                value.push_str(extra);
            } else {
                value.push(' ');
                value.push_str(extra);
            }
        }
        if prev.name.len() + 2 + prev.value.len() > limits.max_header_line {
            return Err(ParseError::HeaderLineTooLong {
                line,
                limit: limits.max_header_line,
            });
        }
        return Ok(true);
    }
    let colon = text.find(':').ok_or(ParseError::BadHeaderLine {
        line,
        reason: "no colon",
    })?;
    // HCOLON = *( SP / HTAB ) ":" SWS: whitespace before the colon is legal.
    let name = text[..colon].trim_end_matches([' ', '\t']);
    if !is_token(name) {
        return Err(ParseError::BadHeaderLine {
            line,
            reason: "header name is not a token",
        });
    }
    let value = trim_wsp(&text[colon + 1..]);
    headers.push(Header {
        name,
        kind: HeaderKind::from_name(name),
        value: Cow::Borrowed(value),
    });
    Ok(true)
}

fn parse_start_line(line: &str, mode: Mode) -> Result<StartLine<'_>, ParseError> {
    if has_forbidden_ctl(line) {
        return Err(ParseError::BadStartLine("control character"));
    }
    if has_sip_prefix(line) {
        return parse_status_line(line, mode);
    }
    // Request-Line = Method SP Request-URI SP SIP-Version (single SPs).
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine("request line needs three fields"));
    };
    if !is_token(method) {
        return Err(ParseError::BadStartLine("method is not a token"));
    }
    if uri.is_empty() || !uri.contains(':') || uri.contains('\t') {
        return Err(ParseError::BadStartLine(
            "Request-URI is not an absolute URI",
        ));
    }
    check_version(version, mode)?;
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri,
    })
}

fn parse_status_line(line: &str, mode: Mode) -> Result<StartLine<'_>, ParseError> {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    let (version, rest) = line
        .split_once(' ')
        .ok_or(ParseError::BadStartLine("status line needs a code"))?;
    check_version(version, mode)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadStartLine("status code is not three digits"));
    }
    let status = code
        .parse()
        .ok()
        .and_then(StatusCode::new)
        .ok_or(ParseError::BadStartLine("status code out of range"))?;
    Ok(StartLine::Response { status, reason })
}

fn check_version(version: &str, mode: Mode) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT. Another well-formed version
    // earns 505; in lenient mode it is accepted so a 505 can be built.
    let well_formed = has_sip_prefix(version)
        && version
            .get(4..)
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(a, b)| is_digits(a) && is_digits(b));
    match (well_formed, mode) {
        (true, Mode::Lenient) => Ok(()),
        (true, Mode::Strict) => Err(ParseError::VersionNotSupported),
        (false, _) => Err(ParseError::BadStartLine("malformed SIP version")),
    }
}

/// Case-insensitive "SIP/" prefix, compared on bytes: slicing the str at 4
/// could split a multi-byte character.
fn has_sip_prefix(s: &str) -> bool {
    s.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn strip_line_end(head: &[u8]) -> &[u8] {
    let head = head.strip_suffix(b"\n").unwrap_or(head);
    strip_cr(head)
}

/// Reads the Content-Length headers: `Ok(None)` when absent; repeated
/// headers must agree.
pub(crate) fn content_length(headers: &[Header<'_>]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for h in headers
        .iter()
        .filter(|h| h.kind == Some(HeaderKind::ContentLength))
    {
        let v: &str = &h.value;
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadContentLength);
        }
        let n: usize = v.parse().map_err(|_| ParseError::BadContentLength)?;
        match found {
            Some(prev) if prev != n => return Err(ParseError::ConflictingContentLength),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_crlf_and_lf() {
        assert_eq!(find_head_end(b"A\r\nB: c\r\n\r\nbody", 0), Some((9, 11)));
        assert_eq!(find_head_end(b"A\nB: c\n\nbody", 0), Some((7, 8)));
        assert_eq!(find_head_end(b"A\r\nB: c\r\n", 0), None);
        assert_eq!(find_head_end(b"A\r\n\r\n", 0), Some((3, 5)));
    }

    #[test]
    fn folding_and_whitespace_before_colon() {
        let l = Limits::default();
        let h = parse_head(
            b"NOTIFY sip:a@b SIP/2.0\r\nSubject : one\r\n  two\r\n\tthree\r\nl:   86\r\n",
            &l,
            Mode::Strict,
        )
        .map_err(|e| e.to_string());
        let h = h.as_ref().map(|h| &h.headers[..]);
        let Ok([subj, len]) = h else {
            panic!("unexpected {h:?}")
        };
        assert_eq!(subj.value, "one two three");
        assert!(matches!(subj.value, Cow::Owned(_)));
        assert_eq!(len.kind, Some(HeaderKind::ContentLength));
        assert_eq!(len.value, "86");
    }

    #[test]
    fn start_line_errors() {
        let l = Limits::default();
        let e = |s: &[u8]| parse_head(s, &l, Mode::Strict).err();
        assert_eq!(
            e(b"NOTIFY sip:a@b SIP/3.0\r\n"),
            Some(ParseError::VersionNotSupported)
        );
        assert!(matches!(
            e(b"NOTIFY  sip:a@b SIP/2.0\r\n"),
            Some(ParseError::BadStartLine(_))
        ));
        assert!(matches!(
            e(b"NOTIFY sip:a@b HTTP/1.1\r\n"),
            Some(ParseError::BadStartLine(_))
        ));
        assert!(matches!(
            e(b"SIP/2.0 20 OK\r\n"),
            Some(ParseError::BadStartLine(_))
        ));
        // Multi-byte characters where "SIP/" is looked for must not panic.
        for line in [
            "abc\u{e9} x y\r\n",
            "N sip:a@b abc\u{e9}\r\n",
            "SIP\u{e9}\r\n",
        ] {
            assert!(
                matches!(e(line.as_bytes()), Some(ParseError::BadStartLine(_))),
                "{line}"
            );
        }
        assert_eq!(
            e(b"NOTIFY sip:a@b SIP/2.0\r\nX: \xff\r\n"),
            Some(ParseError::NonUtf8Header { line: 2, column: 4 })
        );
        assert!(matches!(
            e(b"NOTIFY sip:a@b SIP/2.0\r\n folded\r\n"),
            Some(ParseError::BadHeaderLine { line: 2, .. })
        ));
    }
}
