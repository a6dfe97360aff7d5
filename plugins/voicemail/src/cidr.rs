//! CIDR network blocks (`10.0.0.0/8`, `fd00::/8`, or a bare address) for
//! `allowed_networks`. Small enough to own rather than add a dependency.

use std::fmt;
use std::net::IpAddr;

/// One network block. Host bits of the address are ignored (masked), so
/// `10.1.2.3/8` means `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cidr {
    V4 { net: u32, prefix: u8 },
    V6 { net: u128, prefix: u8 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("{0:?} is not an IP address")]
    Address(String),
    #[error("{0:?} has a prefix length that is not a number")]
    Prefix(String),
    #[error("{text:?}: prefix length {prefix} is longer than {max}")]
    PrefixTooLong { text: String, prefix: u32, max: u8 },
}

fn mask4(prefix: u8) -> u32 {
    // A shift by 32 would overflow; /0 is "everything".
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => {
                // Digits only: `u32::from_str` would also take a `+`.
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CidrError::Prefix(text.to_owned()));
                }
                let p: u32 = p.parse().map_err(|_| CidrError::Prefix(text.to_owned()))?;
                (a, Some(p))
            }
            None => (text, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(text.to_owned()))?;
        let check = |max: u8| -> Result<u8, CidrError> {
            match prefix {
                None => Ok(max),
                Some(p) if p <= u32::from(max) => Ok(p as u8),
                Some(p) => Err(CidrError::PrefixTooLong {
                    text: text.to_owned(),
                    prefix: p,
                    max,
                }),
            }
        };
        Ok(match ip {
            IpAddr::V4(v4) => {
                let prefix = check(32)?;
                Cidr::V4 {
                    net: u32::from(v4) & mask4(prefix),
                    prefix,
                }
            }
            IpAddr::V6(v6) => {
                let prefix = check(128)?;
                Cidr::V6 {
                    net: u128::from(v6) & mask6(prefix),
                    prefix,
                }
            }
        })
    }

    /// IPv4-mapped IPv6 addresses (from dual-stack sockets) are matched as
    /// the IPv4 address they carry.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip.to_canonical()) {
            (Cidr::V4 { net, prefix }, IpAddr::V4(a)) => u32::from(a) & mask4(*prefix) == *net,
            (Cidr::V6 { net, prefix }, IpAddr::V6(a)) => u128::from(a) & mask6(*prefix) == *net,
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cidr::V4 { net, prefix } => {
                write!(f, "{}/{prefix}", std::net::Ipv4Addr::from(*net))
            }
            Cidr::V6 { net, prefix } => {
                write!(f, "{}/{prefix}", std::net::Ipv6Addr::from(*net))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_blocks() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains(ip("10.255.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        let host = Cidr::parse("192.0.2.7").unwrap();
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.8")));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(!all.contains(ip("::1")), "an IPv4 block never holds IPv6");
        assert!(
            Cidr::parse("127.0.0.0/8")
                .unwrap()
                .contains(ip("::ffff:127.0.0.1")),
            "IPv4-mapped addresses match as IPv4"
        );
    }

    #[test]
    fn v6_blocks() {
        let c = Cidr::parse("fd00::/8").unwrap();
        assert!(c.contains(ip("fd12::1")));
        assert!(!c.contains(ip("fe80::1")));
        assert!(Cidr::parse("::1/128").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        assert!(!Cidr::parse("::/0").unwrap().contains(ip("10.0.0.1")));
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0/8",
            "::1/129",
            "example.org/8",
            "10.0.0.0/8/8",
            "10.0.0.0/0008",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
