//! Who may talk to the endpoint: source networks, and optionally a shared
//! secret carried in a header of every out-of-dialog request.

use std::net::IpAddr;

use tocsin_sip::SipMessage;

use crate::cidr::Cidr;

#[derive(Debug, Clone)]
pub struct SharedSecret {
    pub header: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Trust {
    networks: Vec<Cidr>,
    secret: Option<SharedSecret>,
}

impl Trust {
    pub fn new(networks: Vec<Cidr>, secret: Option<SharedSecret>) -> Trust {
        Trust { networks, secret }
    }

    /// Adds a network (subscription servers are trusted implicitly).
    pub fn allow(&mut self, c: Cidr) {
        if !self.networks.contains(&c) {
            self.networks.push(c);
        }
    }

    pub fn network_allows(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|c| c.contains(ip))
    }

    pub fn networks(&self) -> &[Cidr] {
        &self.networks
    }

    pub fn requires_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// True when no secret is configured, or the message carries the
    /// secret header exactly once with exactly the configured value.
    pub fn secret_ok(&self, msg: &SipMessage<'_>) -> bool {
        let Some(s) = &self.secret else {
            return true;
        };
        let mut values = msg.headers_named(&s.header);
        match (values.next(), values.next()) {
            (Some(v), None) => constant_time_eq(v.as_bytes(), s.value.as_bytes()),
            // Absent, or repeated (which copy would count?): refused.
            _ => false,
        }
    }
}

/// Compares without an early exit on the first differing byte, so the
/// answer time does not tell an attacker how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_sip::{Limits, parse_datagram};

    fn trust(secret: Option<&str>) -> Trust {
        Trust::new(
            vec![Cidr::parse("10.0.0.0/8").unwrap()],
            secret.map(|v| SharedSecret {
                header: "X-Tocsin-Secret".into(),
                value: v.into(),
            }),
        )
    }

    fn msg_with(extra: &str) -> Vec<u8> {
        format!(
            "NOTIFY sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n{extra}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn networks() {
        let t = trust(None);
        assert!(t.network_allows("10.9.8.7".parse().unwrap()));
        assert!(!t.network_allows("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn secret_header() {
        let t = trust(Some("s3cret"));
        let check = |extra: &str| {
            let buf = msg_with(extra);
            let m = parse_datagram(&buf, &Limits::default()).unwrap();
            t.secret_ok(&m)
        };
        assert!(check("X-Tocsin-Secret: s3cret\r\n"));
        assert!(
            check("x-tocsin-secret:s3cret\r\n"),
            "header names ignore case"
        );
        assert!(!check(""));
        assert!(!check("X-Tocsin-Secret: s3cre\r\n"));
        assert!(!check("X-Tocsin-Secret: S3CRET\r\n"), "values do not");
        assert!(!check(
            "X-Tocsin-Secret: s3cret\r\nX-Tocsin-Secret: s3cret\r\n"
        ));
        let open = trust(None);
        let buf = msg_with("");
        assert!(open.secret_ok(&parse_datagram(&buf, &Limits::default()).unwrap()));
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
