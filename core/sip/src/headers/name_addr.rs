//! `name-addr / addr-spec` values of From, To and Contact (RFC 3261 §20.10).

use super::params::Params;
use crate::lex::trim_wsp;

/// A From/To/Contact value. Parameters after the address (e.g. `tag`) are
/// header parameters; without angle brackets the URI itself cannot carry
/// parameters, so everything after the first `;` is a header parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    raw: &'a str,
    display: Option<&'a str>,
    uri: &'a str,
    params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    pub fn parse(raw: &'a str) -> Result<NameAddr<'a>, &'static str> {
        let raw = trim_wsp(raw);
        let (display, uri, after) = match find_unquoted(raw, b'<') {
            Some(lt) => {
                let inner = &raw[lt + 1..];
                let gt = inner.find('>').ok_or("missing '>'")?;
                let display = trim_wsp(&raw[..lt]);
                let display = (!display.is_empty()).then(|| {
                    display
                        .strip_prefix('"')
                        .and_then(|d| d.strip_suffix('"'))
                        .unwrap_or(display)
                });
                (display, &inner[..gt], trim_wsp(&inner[gt + 1..]))
            }
            None => match raw.split_once(';') {
                Some((u, _)) => (None, trim_wsp(u), &raw[u.len()..]),
                None => (None, raw, ""),
            },
        };
        if uri.is_empty() || !uri.contains(':') || uri.contains([' ', '\t', '<', '>']) {
            return Err("malformed URI");
        }
        let params = match after {
            "" => Params::default(),
            a => Params::parse(a.strip_prefix(';').ok_or("garbage after address")?)?,
        };
        Ok(NameAddr {
            raw,
            display,
            uri,
            params,
        })
    }

    /// The value as received (whitespace-trimmed); echoed verbatim in
    /// responses.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Display name, quotes removed.
    pub fn display_name(&self) -> Option<&'a str> {
        self.display
    }

    pub fn uri(&self) -> &'a str {
        self.uri
    }

    pub fn params(&self) -> Params<'a> {
        self.params
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.params.value("tag")
    }
}

/// First `b` outside a quoted-string.
fn find_unquoted(s: &str, b: u8) -> Option<usize> {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in s.bytes().enumerate() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_quote = false,
                _ => {}
            }
        } else if c == b'"' {
            in_quote = true;
        } else if c == b {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse("\"Voice <Mail>\" <sip:*97@pbx;user=phone>;tag=abc");
        let Ok(n) = n else { panic!("{n:?}") };
        assert_eq!(n.display_name(), Some("Voice <Mail>"));
        assert_eq!(n.uri(), "sip:*97@pbx;user=phone");
        assert_eq!(n.tag(), Some("abc"));

        let n = NameAddr::parse("sip:alice@example.com;tag=4442");
        let Ok(n) = n else { panic!("{n:?}") };
        assert_eq!(n.uri(), "sip:alice@example.com");
        assert_eq!(n.tag(), Some("4442"));

        let n = NameAddr::parse("Bob <sips:bob@x>");
        let Ok(n) = n else { panic!("{n:?}") };
        assert_eq!(n.display_name(), Some("Bob"));
        assert_eq!(n.tag(), None);
    }

    #[test]
    fn name_addr_rejects() {
        for bad in [
            "",
            "<sip:a@b",
            "<>",
            "alice",
            "<sip:a@b> junk",
            "<sip:a@b>;",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }
}
