//! Pure parsing of complete head lines and the framing decision (RFC 9112 2-6).
//!
//! The connection state machine finds line boundaries and enforces the length limits; this
//! module judges a line once it is complete. Nothing here allocates more than the line.

use crate::error::HttpError;
use crate::limits::Limits;
use crate::request::{Header, Headers, Method, Version};

/// Longest method token accepted; longer ones get 501 (RFC 9112 3: "longer than any that
/// it implements"). The longest registered method is 17 bytes.
pub(crate) const MAX_METHOD_LEN: usize = 32;

/// A parsed request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestLine {
    pub method: Method,
    pub target: String,
    pub version: Version,
}

/// How the body of a request is delimited, plus connection semantics from the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Framing {
    pub body_len: usize,
    pub keep_alive: bool,
    pub expect_continue: bool,
}

/// RFC 9110 5.6.2 tchar.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Classify a request line that is over the limit, looking only at its first `limit + 1`
/// bytes so the answer is the same however the bytes were split across reads.
pub(crate) fn classify_long_request_line(prefix: &[u8], limit: usize) -> HttpError {
    let Some(first_sp) = prefix.iter().position(|&b| b == b' ') else {
        return HttpError::BadRequestLine("request line too long");
    };
    if first_sp > MAX_METHOD_LEN {
        return HttpError::BadRequestLine("request line too long");
    }
    // Version is 8 bytes; if a second space appears the overflow is still in the target
    // unless what follows it is itself long (then the line is garbage, not a long URI).
    match prefix[first_sp + 1..].iter().position(|&b| b == b' ') {
        None => HttpError::TargetTooLong { limit },
        Some(rel) => {
            let after_second = prefix.len() - (first_sp + 1 + rel + 1);
            if after_second > 8 {
                HttpError::BadRequestLine("request line too long")
            } else {
                HttpError::TargetTooLong { limit }
            }
        }
    }
}

/// Parse `method SP request-target SP HTTP-version` (CRLF already removed). Single spaces
/// only: a lenient split on any whitespace is how parsers start to disagree.
pub(crate) fn parse_request_line(line: &[u8]) -> Result<RequestLine, HttpError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::BadRequestLine(
            "expected `method SP target SP version`",
        ));
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(HttpError::BadRequestLine("method is not a token"));
    }
    if method.len() > MAX_METHOD_LEN {
        return Err(HttpError::MethodTooLong(MAX_METHOD_LEN));
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HttpError::BadRequestLine(
            "request target must be non-empty visible ASCII",
        ));
    }
    let version = parse_version(version)?;
    // Both are ASCII by the checks above.
    let method = Method::from_token(&String::from_utf8_lossy(method));
    let target = String::from_utf8_lossy(target).into_owned();
    Ok(RequestLine {
        method,
        target,
        version,
    })
}

fn parse_version(v: &[u8]) -> Result<Version, HttpError> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::Http10),
                (b'1', _) => Ok(Version::Http11),
                _ => Err(HttpError::UnsupportedVersion(format!(
                    "HTTP/{}.{}",
                    char::from(*major),
                    char::from(*minor)
                ))),
            }
        }
        _ => Err(HttpError::BadVersion),
    }
}

/// Parse one `field-name ":" OWS field-value OWS` line (CRLF removed).
pub(crate) fn parse_header_line(line: &[u8]) -> Result<Header, HttpError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(HttpError::ObsFold);
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HttpError::BadHeader("no colon"))?;
    let name = &line[..colon];
    if name.is_empty() {
        return Err(HttpError::BadHeader("empty field name"));
    }
    if matches!(name.last(), Some(b' ' | b'\t')) {
        // RFC 9112 5.1: MUST reject whitespace between name and colon.
        return Err(HttpError::BadHeader("whitespace before colon"));
    }
    if !name.iter().all(|&b| is_tchar(b)) {
        return Err(HttpError::BadHeader("field name is not a token"));
    }
    let value = trim_ows(&line[colon + 1..]);
    // VCHAR, SP, HTAB and bytes >= 0x80; no NUL, CR, LF, DEL or other controls.
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HttpError::BadHeader("control character in field value"));
    }
    // obs-text is legal on the wire, but our peers send ASCII; accepting UTF-8 and refusing
    // other 8-bit bytes keeps every value a &str without guessing a charset.
    let value =
        std::str::from_utf8(value).map_err(|_| HttpError::BadHeader("field value is not UTF-8"))?;
    Ok(Header {
        name: String::from_utf8_lossy(name).into_owned(),
        value: value.to_owned(),
    })
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Decide body length and connection semantics from a complete head. Order matters and is
/// fixed: Host, Transfer-Encoding, Content-Length, Expect.
pub(crate) fn frame(
    line: &RequestLine,
    headers: &Headers,
    limits: &Limits,
) -> Result<Framing, HttpError> {
    let hosts = headers.count("host");
    let host_ok = match line.version {
        Version::Http11 => hosts == 1,
        Version::Http10 => hosts <= 1,
    };
    if !host_ok {
        return Err(HttpError::BadHost(hosts));
    }

    // We implement no transfer coding. Dovecot's HTTP client only chunks payloads of unknown
    // size, and push notifications are built in memory with a known size, so it always sends
    // Content-Length; refusing chunked closes the CL/TE smuggling door entirely.
    if let Some(te) = headers.get("transfer-encoding") {
        return Err(match line.version {
            Version::Http10 => HttpError::TransferEncodingInHttp10,
            Version::Http11 => HttpError::TransferCodingNotImplemented(te.to_owned()),
        });
    }

    let mut length: Option<u64> = None;
    for value in headers.get_all("content-length") {
        let parsed = parse_content_length(value)?;
        match length {
            Some(prev) if prev != parsed => return Err(HttpError::ConflictingContentLength),
            _ => length = Some(parsed),
        }
    }
    let body_len = match length {
        Some(n) if n > limits.max_body => {
            return Err(HttpError::BodyTooLarge {
                length: n,
                limit: limits.max_body,
            });
        }
        Some(n) => usize::try_from(n).map_err(|_| HttpError::BodyTooLarge {
            length: n,
            limit: limits.max_body,
        })?,
        None if line.method.requires_length() => {
            return Err(HttpError::LengthRequired(line.method.as_str().to_owned()));
        }
        None => 0,
    };

    let mut expect_continue = false;
    for value in headers.get_all("expect") {
        if value.eq_ignore_ascii_case("100-continue") {
            // RFC 9110 10.1.1: ignore 100-continue from an HTTP/1.0 client.
            expect_continue = line.version == Version::Http11;
        } else {
            return Err(HttpError::ExpectationFailed(value.to_owned()));
        }
    }

    let close = headers.has_token("connection", "close");
    let keep_alive = match line.version {
        Version::Http11 => !close,
        Version::Http10 => !close && headers.has_token("connection", "keep-alive"),
    };
    Ok(Framing {
        body_len,
        keep_alive,
        expect_continue: expect_continue && body_len > 0,
    })
}

/// `Content-Length = 1*DIGIT`. A digit string too large for u64 is a giant length (413),
/// anything else (sign, space inside, comma list, hex) is malformed (400).
fn parse_content_length(value: &str) -> Result<u64, HttpError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::InvalidContentLength);
    }
    Ok(value.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(list: &[(&str, &str)]) -> Headers {
        Headers::new(
            list.iter()
                .map(|(n, v)| Header {
                    name: (*n).to_owned(),
                    value: (*v).to_owned(),
                })
                .collect(),
        )
    }

    fn put11() -> RequestLine {
        parse_request_line(b"PUT /x HTTP/1.1").unwrap()
    }

    #[test]
    fn request_line_shapes() {
        let l = parse_request_line(b"PUT /notify?x=1 HTTP/1.1").unwrap();
        assert_eq!(l.method, Method::Put);
        assert_eq!(l.target, "/notify?x=1");
        assert_eq!(l.version, Version::Http11);
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.0").unwrap().version,
            Version::Http10
        );
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.7").unwrap().version,
            Version::Http11
        );
        assert_eq!(
            parse_request_line(b"get / HTTP/1.1").unwrap().method,
            Method::Other("get".into())
        );
        for bad in [
            &b"GET  / HTTP/1.1"[..],
            b"GET / HTTP/1.1 ",
            b"GET /",
            b"GET\t/ HTTP/1.1",
            b" GET / HTTP/1.1",
            b"G(T / HTTP/1.1",
            b"GET /a\x01 HTTP/1.1",
            b"GET /\xc3\xa9 HTTP/1.1",
        ] {
            assert!(
                matches!(parse_request_line(bad), Err(HttpError::BadRequestLine(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_request_line(b"GET / http/1.1"),
            Err(HttpError::BadVersion)
        );
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.10"),
            Err(HttpError::BadVersion)
        );
        assert!(matches!(
            parse_request_line(b"PRI * HTTP/2.0"),
            Err(HttpError::UnsupportedVersion(_))
        ));
        assert!(matches!(
            parse_request_line(b"GET / HTTP/0.9"),
            Err(HttpError::UnsupportedVersion(_))
        ));
        let long = format!("{} / HTTP/1.1", "X".repeat(40));
        assert_eq!(
            parse_request_line(long.as_bytes()),
            Err(HttpError::MethodTooLong(MAX_METHOD_LEN))
        );
    }

    #[test]
    fn header_lines() {
        let h = parse_header_line(b"Content-Type:  application/json; charset=utf-8 \t").unwrap();
        assert_eq!(h.name, "Content-Type");
        assert_eq!(h.value, "application/json; charset=utf-8");
        assert_eq!(parse_header_line(b"X-Empty:").unwrap().value, "");
        assert_eq!(
            parse_header_line("X-Name: Jörg".as_bytes()).unwrap().value,
            "Jörg"
        );
        assert_eq!(parse_header_line(b" folded"), Err(HttpError::ObsFold));
        assert_eq!(parse_header_line(b"\tfolded"), Err(HttpError::ObsFold));
        for bad in [
            &b"NoColon"[..],
            b": empty",
            b"Host : x",
            b"Ho st: x",
            b"X: a\x00b",
            b"X: a\rb",
            b"X: a\x7fb",
            b"X: \xff\xfe",
        ] {
            assert!(
                matches!(parse_header_line(bad), Err(HttpError::BadHeader(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn framing_rules() {
        let l = Limits::default();
        let ok = frame(
            &put11(),
            &hdrs(&[("Host", "h"), ("Content-Length", "12")]),
            &l,
        )
        .unwrap();
        assert_eq!(ok.body_len, 12);
        assert!(ok.keep_alive);
        assert!(!ok.expect_continue);

        assert_eq!(
            frame(&put11(), &hdrs(&[("Content-Length", "1")]), &l),
            Err(HttpError::BadHost(0))
        );
        assert_eq!(
            frame(
                &put11(),
                &hdrs(&[("Host", "a"), ("host", "b"), ("Content-Length", "1")]),
                &l
            ),
            Err(HttpError::BadHost(2))
        );
        assert!(matches!(
            frame(
                &put11(),
                &hdrs(&[
                    ("Host", "h"),
                    ("Transfer-Encoding", "chunked"),
                    ("Content-Length", "3")
                ]),
                &l
            ),
            Err(HttpError::TransferCodingNotImplemented(_))
        ));
        assert_eq!(
            frame(&put11(), &hdrs(&[("Host", "h")]), &l),
            Err(HttpError::LengthRequired("PUT".into()))
        );
        for bad in ["-1", "+5", "0x10", "1 2", "1,1", ""] {
            assert_eq!(
                frame(
                    &put11(),
                    &hdrs(&[("Host", "h"), ("Content-Length", bad)]),
                    &l
                ),
                Err(HttpError::InvalidContentLength),
                "{bad}"
            );
        }
        assert_eq!(
            frame(
                &put11(),
                &hdrs(&[
                    ("Host", "h"),
                    ("Content-Length", "5"),
                    ("Content-Length", "6")
                ]),
                &l
            ),
            Err(HttpError::ConflictingContentLength)
        );
        assert_eq!(
            frame(
                &put11(),
                &hdrs(&[
                    ("Host", "h"),
                    ("Content-Length", "5"),
                    ("content-length", "5")
                ]),
                &l
            )
            .unwrap()
            .body_len,
            5
        );
        assert!(matches!(
            frame(
                &put11(),
                &hdrs(&[("Host", "h"), ("Content-Length", "99999999999999999999999")]),
                &l
            ),
            Err(HttpError::BodyTooLarge {
                length: u64::MAX,
                ..
            })
        ));
        assert!(matches!(
            frame(
                &put11(),
                &hdrs(&[("Host", "h"), ("Content-Length", "3"), ("Expect", "magic")]),
                &l
            ),
            Err(HttpError::ExpectationFailed(_))
        ));
        let cont = frame(
            &put11(),
            &hdrs(&[
                ("Host", "h"),
                ("Content-Length", "3"),
                ("Expect", "100-Continue"),
            ]),
            &l,
        )
        .unwrap();
        assert!(cont.expect_continue);
    }

    #[test]
    fn keep_alive_rules() {
        let l = Limits::default();
        let get10 = parse_request_line(b"GET / HTTP/1.0").unwrap();
        let get11 = parse_request_line(b"GET / HTTP/1.1").unwrap();
        assert!(!frame(&get10, &hdrs(&[]), &l).unwrap().keep_alive);
        assert!(
            frame(&get10, &hdrs(&[("Connection", "Keep-Alive")]), &l)
                .unwrap()
                .keep_alive
        );
        assert!(
            frame(&get11, &hdrs(&[("Host", "h")]), &l)
                .unwrap()
                .keep_alive
        );
        assert!(
            !frame(
                &get11,
                &hdrs(&[("Host", "h"), ("Connection", "keep-alive, Close")]),
                &l
            )
            .unwrap()
            .keep_alive
        );
    }

    #[test]
    fn long_line_classification_is_prefix_based() {
        let limit = 16;
        assert!(matches!(
            classify_long_request_line(b"GET /aaaaaaaaaaaaaaaa", limit),
            HttpError::TargetTooLong { .. }
        ));
        assert!(matches!(
            classify_long_request_line(b"GETGETGETGETGETGE", limit),
            HttpError::BadRequestLine(_)
        ));
        assert!(matches!(
            classify_long_request_line(b"GET / HTTP/1.1xxxxxxxxx", limit),
            HttpError::BadRequestLine(_)
        ));
    }
}
