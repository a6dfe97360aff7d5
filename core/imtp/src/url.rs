//! URLs in headers (section 11.1) and the `im:` / `presence:` identifiers
//! of section 9.

use crate::encoder::Sink;
use crate::error::SyntaxError;
use crate::method::Protocol;
use std::borrow::Cow;
use std::fmt;

/// `domain = domain-label *("." domain-label)`, labels of letters, digits
/// and inner hyphens. We add the DNS bounds the draft leaves implicit
/// (63-octet labels, 253-octet names). Compared case-insensitively; kept
/// as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain(String);

impl Domain {
    pub fn parse(s: &str) -> Result<Domain, SyntaxError> {
        const WHAT: &str = "domain";
        if s.is_empty() || s.len() > 253 {
            return Err(SyntaxError::new(WHAT, "must be 1 to 253 characters"));
        }
        for label in s.split('.') {
            let b = label.as_bytes();
            if b.is_empty() || b.len() > 63 {
                return Err(SyntaxError::new(WHAT, "labels must be 1 to 63 characters"));
            }
            if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
                return Err(SyntaxError::new(
                    WHAT,
                    "labels hold letters, digits and '-'",
                ));
            }
            if b[0] == b'-' || b[b.len() - 1] == b'-' {
                return Err(SyntaxError::new(
                    WHAT,
                    "labels cannot start or end with '-'",
                ));
            }
        }
        Ok(Domain(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// DNS names are case-insensitive.
    pub fn same_as(&self, other: &Domain) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// `a.b.example` is a strict subdomain of `example`; `example` is not.
    pub fn is_strict_subdomain_of(&self, parent: &Domain) -> bool {
        let (s, p) = (self.0.as_bytes(), parent.0.as_bytes());
        s.len() > p.len() + 1
            && s[s.len() - p.len() - 1] == b'.'
            && s[s.len() - p.len()..].eq_ignore_ascii_case(p)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// atext of section 9 without its control characters, which the
/// header-value rule (printable) makes impossible on the wire anyway.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// qtext without control characters: %x20-21 / %x23-5B / %x5D-7E.
fn is_qtext(b: u8) -> bool {
    matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Length of the local part at the start of `b` (dotted-string or
/// quoted-string).
fn local_part_len(b: &[u8]) -> Result<usize, SyntaxError> {
    const WHAT: &str = "local part";
    if b.first() == Some(&b'"') {
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'"' => return Ok(i + 1),
                b'\\' => match b.get(i + 1) {
                    Some(&c) if c == b'\t' || (0x20..=0x7E).contains(&c) => i += 2,
                    _ => return Err(SyntaxError::new(WHAT, "bad quoted-pair")),
                },
                c if is_qtext(c) => i += 1,
                _ => return Err(SyntaxError::new(WHAT, "invalid character in quoted string")),
            }
        }
        return Err(SyntaxError::new(WHAT, "unterminated quoted string"));
    }
    let n = b.iter().take_while(|&&c| is_atext(c) || c == b'.').count();
    let dotted = &b[..n];
    if dotted.is_empty() || dotted.split(|&c| c == b'.').any(<[u8]>::is_empty) {
        return Err(SyntaxError::new(
            WHAT,
            "expected dot-separated atoms or a quoted string",
        ));
    }
    Ok(n)
}

/// `local-part "@" domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// As on the wire: a quoted local part keeps its quotes and escapes.
    local: String,
    domain: Domain,
}

impl Address {
    pub fn parse(s: &str) -> Result<Address, SyntaxError> {
        let b = s.as_bytes();
        let n = local_part_len(b)?;
        if b.get(n) != Some(&b'@') {
            return Err(SyntaxError::new("identifier", "expected local-part@domain"));
        }
        Ok(Address {
            local: s[..n].to_owned(),
            domain: Domain::parse(&s[n + 1..])?,
        })
    }

    /// `local_part` in wire form (`joe`, `"Jane Smith"`).
    pub fn new(local_part: &str, domain: &str) -> Result<Address, SyntaxError> {
        if local_part_len(local_part.as_bytes())? != local_part.len() {
            return Err(SyntaxError::new("local part", "trailing characters"));
        }
        Ok(Address {
            local: local_part.to_owned(),
            domain: Domain::parse(domain)?,
        })
    }

    pub fn local_part(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The local part with quoting removed: `"joe"` and `joe` name the same
    /// principal.
    pub fn local_value(&self) -> Cow<'_, str> {
        let Some(inner) = self
            .local
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
        else {
            return Cow::Borrowed(&self.local);
        };
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
        Cow::Owned(out)
    }

    /// Same principal: local parts equal after unquoting (case-sensitive),
    /// domains equal ignoring case.
    pub fn same_identity(&self, other: &Address) -> bool {
        self.domain.same_as(&other.domain) && self.local_value() == other.local_value()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// The two schemes the draft defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Im,
    Presence,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Im => "im",
            Scheme::Presence => "presence",
        }
    }

    /// The identifiers a protocol deals in: `im:` for IMTP, `presence:`
    /// for PITP.
    pub fn of(protocol: Protocol) -> Scheme {
        match protocol {
            Protocol::Imtp => Scheme::Im,
            Protocol::Pitp => Scheme::Presence,
        }
    }

    fn from_name(name: &str) -> Option<Scheme> {
        // RFC 1738: schemes are case-insensitive.
        if name.eq_ignore_ascii_case("im") {
            Some(Scheme::Im)
        } else if name.eq_ignore_ascii_case("presence") {
            Some(Scheme::Presence)
        } else {
            None
        }
    }
}

/// Any other URL (local gateways, section 8): `scheme ":" 1*(%x21-7E)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherUrl(String);

impl OtherUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn scheme(&self) -> &str {
        self.0.split(':').next().unwrap_or("")
    }
}

/// RFC 1738 scheme name.
fn is_scheme_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// The scheme prefix of `s`, if it has one.
pub(crate) fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    is_scheme_name(scheme).then_some((scheme, rest))
}

/// A URL header value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Url {
    Im(Address),
    Presence(Address),
    Other(OtherUrl),
}

impl Url {
    /// Strict form: the scheme is required.
    pub fn parse(s: &str) -> Result<Url, SyntaxError> {
        let (scheme, rest) = split_scheme(s).ok_or(SyntaxError::new("URL", "missing scheme"))?;
        match Scheme::from_name(scheme) {
            Some(sch) => Ok(Url::from_address(sch, Address::parse(rest)?)),
            None => {
                if rest.is_empty() || !rest.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
                    return Err(SyntaxError::new(
                        "URL",
                        "empty or containing spaces/non-ASCII",
                    ));
                }
                Ok(Url::Other(OtherUrl(s.to_owned())))
            }
        }
    }

    /// Tolerant form for headers: a bare `local@domain` takes `default`.
    /// The draft's own examples (`Sender: joe@example.net`) omit the scheme.
    pub fn parse_or(s: &str, default: Scheme) -> Result<Url, SyntaxError> {
        if split_scheme(s).is_some() {
            return Url::parse(s);
        }
        Ok(Url::from_address(default, Address::parse(s)?))
    }

    pub fn im(address: Address) -> Url {
        Url::Im(address)
    }

    pub fn from_address(scheme: Scheme, address: Address) -> Url {
        match scheme {
            Scheme::Im => Url::Im(address),
            Scheme::Presence => Url::Presence(address),
        }
    }

    /// Lower-case scheme name.
    pub fn scheme(&self) -> &str {
        match self {
            Url::Im(_) => "im",
            Url::Presence(_) => "presence",
            Url::Other(o) => o.scheme(),
        }
    }

    pub fn address(&self) -> Option<&Address> {
        match self {
            Url::Im(a) | Url::Presence(a) => Some(a),
            Url::Other(_) => None,
        }
    }

    pub fn address_in(&self, scheme: Scheme) -> Option<&Address> {
        match (self, scheme) {
            (Url::Im(a), Scheme::Im) | (Url::Presence(a), Scheme::Presence) => Some(a),
            _ => None,
        }
    }

    /// Same principal (domain case and local-part quoting ignored).
    pub fn same_identity(&self, other: &Url) -> bool {
        match (self, other) {
            (Url::Im(a), Url::Im(b)) | (Url::Presence(a), Url::Presence(b)) => a.same_identity(b),
            (Url::Other(a), Url::Other(b)) => a == b,
            _ => false,
        }
    }

    pub(crate) fn write_to<S: Sink>(&self, s: &mut S) {
        match self {
            Url::Im(a) | Url::Presence(a) => {
                s.put(self.scheme().as_bytes());
                s.put(b":");
                s.put(a.local.as_bytes());
                s.put(b"@");
                s.put(a.domain.0.as_bytes());
            }
            Url::Other(o) => s.put(o.0.as_bytes()),
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Url::Im(a) => write!(f, "im:{a}"),
            Url::Presence(a) => write!(f, "presence:{a}"),
            Url::Other(o) => f.write_str(&o.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_examples() {
        let u = Url::parse("presence:joe@example.net").unwrap();
        assert_eq!(u.to_string(), "presence:joe@example.net");
        let u = Url::parse("im:\"Jane Smith\"@domain.com").unwrap();
        assert_eq!(u.address().unwrap().local_value(), "Jane Smith");
        let u = Url::parse("im:\"a\\\"\"@example.com").unwrap();
        assert_eq!(u.address().unwrap().local_value(), "a\"");
        assert_eq!(
            Url::parse_or("joe@example.net", Scheme::Im)
                .unwrap()
                .to_string(),
            "im:joe@example.net"
        );
        assert!(matches!(
            Url::parse("mailto:joe@example.net"),
            Ok(Url::Other(_))
        ));
    }

    #[test]
    fn rejects_bad_identifiers() {
        for bad in [
            "im:joe",
            "im:@x.com",
            "im:a..b@x.com",
            "im:a@-x.com",
            "im:a@x..com",
            "im:\"a@x.com",
            "im:a b@x",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        assert!(Url::parse("joe@example.net").is_err());
    }

    #[test]
    fn identity_comparison() {
        let a = Url::parse("im:\"joe\"@Example.NET").unwrap();
        let b = Url::parse("IM:joe@example.net").unwrap();
        assert!(a.same_identity(&b));
        assert!(!a.same_identity(&Url::parse("im:Joe@example.net").unwrap()));
    }

    #[test]
    fn subdomains() {
        let d = Domain::parse("example.org").unwrap();
        assert!(
            Domain::parse("a.Example.org")
                .unwrap()
                .is_strict_subdomain_of(&d)
        );
        assert!(!d.is_strict_subdomain_of(&d));
        assert!(
            !Domain::parse("badexample.org")
                .unwrap()
                .is_strict_subdomain_of(&d)
        );
    }
}
