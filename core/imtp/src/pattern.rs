//! Identifier patterns (section 11.3): `Only`/`Except` (IMTP listen) and
//! `Wpattern` (PITP).

use crate::encoder::Sink;
use crate::error::SyntaxError;
use crate::url::{Address, Domain, Scheme, Url, split_scheme};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `*`: any URL.
    Any,
    /// `scheme:*` (scheme stored lower-case).
    Scheme(String),
    /// `im:*@domain`: identifiers in exactly that domain.
    Domain { scheme: Scheme, domain: Domain },
    /// `im:*@*.domain`: identifiers in a strict subdomain of the domain
    /// (the domain itself does not match; "in a subdomain of" in the draft).
    Subdomain { scheme: Scheme, domain: Domain },
    /// A specific URL.
    Exact(Url),
}

impl Pattern {
    /// Parses a trimmed header value. A pattern without a scheme takes
    /// `default` (as bare identifiers do, see [`Url::parse_or`]).
    pub fn parse(s: &str, default: Scheme) -> Result<Pattern, SyntaxError> {
        if s == "*" {
            return Ok(Pattern::Any);
        }
        let (scheme, rest) = match split_scheme(s) {
            Some((name, rest)) => (name, rest),
            None => (default.as_str(), s),
        };
        if rest == "*" {
            return Ok(Pattern::Scheme(scheme.to_ascii_lowercase()));
        }
        let ours = match scheme.to_ascii_lowercase().as_str() {
            "im" => Some(Scheme::Im),
            "presence" => Some(Scheme::Presence),
            _ => None,
        };
        let Some(ours) = ours else {
            return Ok(Pattern::Exact(Url::parse(s)?));
        };
        if let Some(domain) = rest.strip_prefix("*@") {
            return Ok(match domain.strip_prefix("*.") {
                Some(parent) => Pattern::Subdomain {
                    scheme: ours,
                    domain: Domain::parse(parent)?,
                },
                None => Pattern::Domain {
                    scheme: ours,
                    domain: Domain::parse(domain)?,
                },
            });
        }
        Ok(Pattern::Exact(Url::from_address(
            ours,
            Address::parse(rest)?,
        )))
    }

    pub fn matches(&self, url: &Url) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Scheme(s) => url.scheme().eq_ignore_ascii_case(s),
            Pattern::Domain { scheme, domain } => url
                .address_in(*scheme)
                .is_some_and(|a| a.domain().same_as(domain)),
            Pattern::Subdomain { scheme, domain } => url
                .address_in(*scheme)
                .is_some_and(|a| a.domain().is_strict_subdomain_of(domain)),
            Pattern::Exact(u) => u.same_identity(url),
        }
    }

    pub(crate) fn write_to<S: Sink>(&self, s: &mut S) {
        match self {
            Pattern::Any => s.put(b"*"),
            Pattern::Scheme(sch) => {
                s.put(sch.as_bytes());
                s.put(b":*");
            }
            Pattern::Domain { scheme, domain } => {
                s.put(scheme.as_str().as_bytes());
                s.put(b":*@");
                s.put(domain.as_str().as_bytes());
            }
            Pattern::Subdomain { scheme, domain } => {
                s.put(scheme.as_str().as_bytes());
                s.put(b":*@*.");
                s.put(domain.as_str().as_bytes());
            }
            Pattern::Exact(u) => u.write_to(s),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = Vec::new();
        self.write_to(&mut v);
        f.write_str(&String::from_utf8_lossy(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn matching() {
        let p = |s: &str| Pattern::parse(s, Scheme::Im).unwrap();
        assert!(p("*").matches(&url("mailto:x@y")));
        assert!(p("im:*").matches(&url("im:a@b.c")));
        assert!(!p("im:*").matches(&url("presence:a@b.c")));
        assert!(p("im:*@example.net").matches(&url("im:joe@EXAMPLE.net")));
        assert!(!p("im:*@example.net").matches(&url("im:joe@a.example.net")));
        assert!(p("im:*@*.example.net").matches(&url("im:joe@a.example.net")));
        assert!(!p("im:*@*.example.net").matches(&url("im:joe@example.net")));
        assert!(p("im:joe@example.net").matches(&url("im:\"joe\"@example.net")));
        assert!(!p("im:joe@example.net").matches(&url("im:jim@example.net")));
        assert!(p("mailto:*").matches(&url("MAILTO:x@y")));
        assert!(p("*@example.net").matches(&url("im:x@example.net")));
        assert!(Pattern::parse("im:*@", Scheme::Im).is_err());
        assert!(Pattern::parse("im:*@*.", Scheme::Im).is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "*",
            "im:*",
            "presence:*@example.net",
            "im:*@*.example.net",
            "im:joe@example.net",
            "sip:*",
        ] {
            assert_eq!(Pattern::parse(s, Scheme::Im).unwrap().to_string(), s);
        }
    }
}
