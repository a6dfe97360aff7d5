//! Via header values (RFC 3261 §20.42, RFC 3581 rport).

use std::net::IpAddr;

use super::params::Params;
use crate::lex::{is_token, split_outside, trim_wsp};

/// The RFC 3261 branch prefix that marks a globally unique branch.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One via-parm. A Via header line may hold several, comma-separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    raw: &'a str,
    protocol: &'a str,
    version: &'a str,
    transport: &'a str,
    /// As written, IPv6 references keep their brackets.
    host: &'a str,
    port: Option<u16>,
    params: Params<'a>,
}

/// The RFC 3581 `rport` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    Absent,
    /// `;rport` without a value: the client asks us to fill it in.
    Requested,
    Value(u16),
}

impl<'a> Via<'a> {
    /// Parses one via-parm.
    pub fn parse(raw: &'a str) -> Result<Via<'a>, &'static str> {
        let raw = trim_wsp(raw);
        let (head, params) = match raw.split_once(';') {
            Some((h, p)) => (h, Params::parse(p)?),
            None => (raw, Params::default()),
        };
        // sent-protocol = name SLASH version SLASH transport, SLASH allowing
        // whitespace on both sides; then LWS and sent-by.
        let mut parts = head.splitn(3, '/');
        let protocol = trim_wsp(parts.next().ok_or("missing protocol")?);
        let version = trim_wsp(parts.next().ok_or("missing protocol version")?);
        let rest = trim_wsp(parts.next().ok_or("missing transport")?);
        let split = rest
            .find([' ', '\t'])
            .ok_or("missing whitespace before sent-by")?;
        let transport = &rest[..split];
        let sent_by = trim_wsp(&rest[split..]);
        if !is_token(protocol) || !is_token(version) || !is_token(transport) {
            return Err("malformed sent-protocol");
        }
        let (host, port) = split_host_port(sent_by)?;
        if let Some(Some(v)) = params.get("rport") {
            v.parse::<u16>().map_err(|_| "malformed rport")?;
        }
        Ok(Via {
            raw,
            protocol,
            version,
            transport,
            host,
            port,
            params,
        })
    }

    /// Parses a Via header value into its comma-separated via-parms.
    pub(crate) fn parse_list(value: &'a str) -> Result<Vec<Via<'a>>, &'static str> {
        split_outside(value, b',')
            .ok_or("unbalanced quotes")?
            .into_iter()
            .map(Via::parse)
            .collect()
    }

    /// The via-parm text as received (whitespace-trimmed).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// e.g. `SIP`.
    pub fn protocol(&self) -> &'a str {
        self.protocol
    }

    /// e.g. `2.0`.
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// e.g. `UDP`, `TCP`, `TLS` as written.
    pub fn transport(&self) -> &'a str {
        self.transport
    }

    /// Host as written (IPv6 references keep their brackets).
    pub fn host(&self) -> &'a str {
        self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The host as an IP address, when it is a literal address.
    pub fn host_ip(&self) -> Option<IpAddr> {
        let h = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host);
        h.parse().ok()
    }

    pub fn params(&self) -> Params<'a> {
        self.params
    }

    pub fn branch(&self) -> Option<&'a str> {
        self.params.value("branch")
    }

    /// Whether the branch carries the RFC 3261 magic cookie (else the peer
    /// follows RFC 2543 and the branch is not a transaction id).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    pub fn received(&self) -> Option<&'a str> {
        self.params.value("received")
    }

    pub fn rport(&self) -> Rport {
        match self.params.get("rport") {
            None => Rport::Absent,
            Some(None) => Rport::Requested,
            Some(Some(v)) => v.parse().map_or(Rport::Requested, Rport::Value),
        }
    }
}

/// `host [ COLON port ]`, COLON allowing surrounding whitespace.
fn split_host_port(s: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or("unterminated IPv6 reference")?;
        let (h, rest) = s.split_at(end + 1);
        let rest = trim_wsp(rest);
        match rest.strip_prefix(':') {
            Some(p) => (h, Some(trim_wsp(p))),
            None if rest.is_empty() => (h, None),
            None => return Err("garbage after IPv6 reference"),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (trim_wsp(h), Some(trim_wsp(p))),
            None => (s, None),
        }
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|i| i.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    if !host_ok {
        return Err("malformed host");
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| "port out of range")?)
        }
        Some(_) => return Err("malformed port"),
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let v = Via::parse("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport");
        let Ok(v) = v else { panic!("{v:?}") };
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), "192.0.2.1");
        assert_eq!(v.port(), Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK776"));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.rport(), Rport::Requested);

        let v = Via::parse("SIP / 2.0 / TCP [2001:db8::1] : 5061 ;rport=4000;received=2001:db8::9");
        let Ok(v) = v else { panic!("{v:?}") };
        assert_eq!(v.host(), "[2001:db8::1]");
        assert_eq!(v.port(), Some(5061));
        assert_eq!(v.rport(), Rport::Value(4000));
        assert_eq!(v.received(), Some("2001:db8::9"));
        assert_eq!(v.host_ip(), "2001:db8::1".parse().ok());

        let l = Via::parse_list("SIP/2.0/UDP a.example;branch=1, SIP/2.0/TCP b.example:5070");
        assert_eq!(l.map(|l| l.len()), Ok(2));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "SIP/2.0/UDP",
            "SIP/2.0 host",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP ho st",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP host;rport=x",
            "SIP/2.0/UDP host;",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }
}
