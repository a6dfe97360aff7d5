//! DNS messages on the wire (RFC 1035 section 4): encoding one query,
//! decoding a response to it.
//!
//! [`parse_response`] checks that the datagram answers *our* question
//! before it believes anything in it, then collects the record types a
//! stub resolver for SRV needs (SRV, A, AAAA, CNAME) from the answer and
//! additional sections. Other types, other classes and the authority
//! section are skipped (but still length-checked). Nothing is allocated in
//! proportion to a count in the header: records are pushed as their bytes
//! are actually read.

use crate::error::DnsError;
use crate::name;
use crate::srv::Srv;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The UDP payload size we advertise with EDNS0 (RFC 6891): the DNS Flag
/// Day 2020 value, which avoids IP fragmentation on any sane path. A host
/// should receive into a buffer at least this large.
pub const EDNS_UDP_PAYLOAD: u16 = 1232;

const HEADER_LEN: usize = 12;
const CLASS_IN: u16 = 1;
const TYPE_OPT: u16 = 41;
/// Flags of our queries: QR=0, opcode QUERY, RD=1.
const FLAG_RD: u16 = 0x0100;
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_AA: u16 = 0x0400;
const RCODE_NXDOMAIN: u16 = 3;
/// CNAME chains longer than this are not followed (resolvers cap theirs
/// around 8 to 16 as well).
const MAX_CNAME_CHAIN: usize = 8;

/// The record types this resolver asks for or understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QType {
    A,
    Aaaa,
    Cname,
    Srv,
}

impl QType {
    /// The TYPE value on the wire.
    pub fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Cname => 5,
            QType::Aaaa => 28,
            QType::Srv => 33,
        }
    }

    /// The type for a TYPE value, if it is one we understand.
    pub fn from_code(code: u16) -> Option<QType> {
        match code {
            1 => Some(QType::A),
            5 => Some(QType::Cname),
            28 => Some(QType::Aaaa),
            33 => Some(QType::Srv),
            _ => None,
        }
    }
}

impl fmt::Display for QType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QType::A => "A",
            QType::Aaaa => "AAAA",
            QType::Cname => "CNAME",
            QType::Srv => "SRV",
        })
    }
}

/// Encodes a recursive query (RD=1) for `name`/`qtype`, class IN, with an
/// EDNS0 OPT record advertising [`EDNS_UDP_PAYLOAD`] octets.
pub fn encode_query(id: u16, name: &str, qtype: QType) -> Result<Vec<u8>, DnsError> {
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 2 + 4 + 11);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&FLAG_RD.to_be_bytes());
    // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1 (the OPT record).
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    name::encode(name, &mut out)?;
    out.extend_from_slice(&qtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    // OPT: root owner, TYPE 41, CLASS = payload size, TTL = extended RCODE
    // 0 / version 0 / DO=0, no options.
    out.push(0);
    out.extend_from_slice(&TYPE_OPT.to_be_bytes());
    out.extend_from_slice(&EDNS_UDP_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    Ok(out)
}

/// The data of a record we understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Srv(Srv),
}

/// One resource record of class IN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name in text form, without a trailing dot.
    pub name: String,
    /// Seconds (values with the top bit set are read as 0, RFC 2181 §8).
    pub ttl: u32,
    pub data: RData,
}

/// The useful content of a response that answers our question.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// RCODE was NXDOMAIN: the (last name of the CNAME chain of the)
    /// queried name does not exist.
    pub nxdomain: bool,
    /// The AA bit.
    pub authoritative: bool,
    /// Understood records of the answer section, in message order.
    pub answers: Vec<Record>,
    /// Understood records of the additional section, in message order.
    pub additional: Vec<Record>,
}

impl Response {
    /// Follows the CNAME chain for `qname` through the answer section.
    /// Returns the canonical name (`qname` itself when there is no CNAME)
    /// and the smallest TTL of the CNAME records followed.
    pub fn canonical_name(&self, qname: &str) -> (String, Option<u32>) {
        let mut current = qname.to_owned();
        let mut ttl: Option<u32> = None;
        for _ in 0..MAX_CNAME_CHAIN {
            let next = self.answers.iter().find_map(|r| match &r.data {
                RData::Cname(target) if name::eq(&r.name, &current) => Some((target, r.ttl)),
                _ => None,
            });
            match next {
                Some((target, t)) => {
                    current = target.clone();
                    ttl = Some(ttl.map_or(t, |m| m.min(t)));
                }
                None => break,
            }
        }
        (current, ttl)
    }

    /// SRV records owned by `owner` in the answer section, with TTLs.
    pub fn srv_records(&self, owner: &str) -> Vec<(Srv, u32)> {
        self.answers
            .iter()
            .filter(|r| name::eq(&r.name, owner))
            .filter_map(|r| match &r.data {
                RData::Srv(srv) => Some((srv.clone(), r.ttl)),
                _ => None,
            })
            .collect()
    }

    /// A and AAAA records owned by `owner`, with TTLs, from the answer
    /// section or (`additional`) the additional section.
    pub fn addresses(&self, owner: &str, additional: bool) -> Vec<(IpAddr, u32)> {
        let section = if additional {
            &self.additional
        } else {
            &self.answers
        };
        section
            .iter()
            .filter(|r| name::eq(&r.name, owner))
            .filter_map(|r| match r.data {
                RData::A(a) => Some((IpAddr::V4(a), r.ttl)),
                RData::Aaaa(a) => Some((IpAddr::V6(a), r.ttl)),
                _ => None,
            })
            .collect()
    }
}

/// Bounds-checked big-endian reads.
fn be16(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]))
}

fn be32(msg: &[u8], at: usize) -> Option<u32> {
    let b = msg.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

/// Decodes `msg` as the response to query `expected_id` for
/// `qname`/`qtype`.
///
/// Errors, in the order they are checked: [`DnsError::Malformed`] (short
/// header), [`DnsError::WrongId`], [`DnsError::Mismatch`] (QR=0, opcode,
/// question count/name/type/class — compared case-insensitively),
/// [`DnsError::Truncated`] (TC), [`DnsError::ServerFailure`] (any RCODE
/// but NOERROR and NXDOMAIN, including an EDNS extended RCODE), then
/// [`DnsError::Malformed`] for anything wrong in the record sections.
/// NXDOMAIN is not an error here: it gives `nxdomain: true`.
pub fn parse_response(
    msg: &[u8],
    expected_id: u16,
    qname: &str,
    qtype: QType,
) -> Result<Response, DnsError> {
    let (Some(id), Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) = (
        be16(msg, 0),
        be16(msg, 2),
        be16(msg, 4),
        be16(msg, 6),
        be16(msg, 8),
        be16(msg, 10),
    ) else {
        return Err(DnsError::malformed(
            "shorter than the 12-octet header",
            msg.len(),
        ));
    };
    if id != expected_id {
        return Err(DnsError::WrongId {
            expected: expected_id,
            got: id,
        });
    }
    let mismatch = |reason| DnsError::Mismatch {
        name: qname.to_owned(),
        reason,
    };
    if flags & FLAG_QR == 0 {
        return Err(mismatch("not a response (QR=0)"));
    }
    if (flags >> 11) & 0xF != 0 {
        return Err(mismatch("opcode is not QUERY"));
    }
    if qd != 1 {
        return Err(mismatch("does not echo exactly one question"));
    }
    let (echoed, mut pos) = name::read(msg, HEADER_LEN)?;
    let (Some(echoed_type), Some(echoed_class)) = (be16(msg, pos), be16(msg, pos + 2)) else {
        return Err(DnsError::malformed("question cut short", pos));
    };
    pos += 4;
    if !name::eq(&echoed, qname) {
        return Err(mismatch("question is for another name"));
    }
    if echoed_type != qtype.code() {
        return Err(mismatch("question is for another type"));
    }
    if echoed_class != CLASS_IN {
        return Err(mismatch("question class is not IN"));
    }
    if flags & FLAG_TC != 0 {
        return Err(DnsError::Truncated {
            name: qname.to_owned(),
        });
    }
    let rcode = flags & 0xF;
    let server_failure = |rcode| DnsError::ServerFailure {
        name: qname.to_owned(),
        rcode,
        server: None,
    };
    if rcode != 0 && rcode != RCODE_NXDOMAIN {
        return Err(server_failure(rcode));
    }
    let mut response = Response {
        nxdomain: rcode == RCODE_NXDOMAIN,
        authoritative: flags & FLAG_AA != 0,
        ..Response::default()
    };
    for (section, count) in [
        (Section::Answer, an),
        (Section::Authority, ns),
        (Section::Additional, ar),
    ] {
        for _ in 0..count {
            let (record, next, ext_rcode) = read_record(msg, pos)?;
            pos = next;
            if ext_rcode != 0 {
                // BADVERS and friends: the upper 8 bits of a 12-bit RCODE.
                return Err(server_failure((u16::from(ext_rcode) << 4) | rcode));
            }
            match (section, record) {
                (Section::Answer, Some(r)) => response.answers.push(r),
                (Section::Additional, Some(r)) => response.additional.push(r),
                _ => {}
            }
        }
    }
    Ok(response)
}

/// Reads one resource record at `pos`. Returns the record when it is one
/// we understand, the offset after it, and the extended RCODE when it is
/// an OPT record (0 otherwise).
fn read_record(msg: &[u8], pos: usize) -> Result<(Option<Record>, usize, u8), DnsError> {
    let (owner, pos) = name::read(msg, pos)?;
    let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) = (
        be16(msg, pos),
        be16(msg, pos + 2),
        be32(msg, pos + 4),
        be16(msg, pos + 8),
    ) else {
        return Err(DnsError::malformed("resource record cut short", pos));
    };
    let start = pos + 10;
    let end = start + usize::from(rdlen);
    let Some(rdata) = msg.get(start..end) else {
        return Err(DnsError::malformed(
            "RDATA runs past the end of the message",
            pos + 8,
        ));
    };
    if rtype == TYPE_OPT {
        return Ok((None, end, ttl.to_be_bytes()[0]));
    }
    if class != CLASS_IN {
        return Ok((None, end, 0));
    }
    let name_in_rdata = |at: usize, what| -> Result<String, DnsError> {
        let (target, after) = name::read(msg, at)?;
        if after != end {
            return Err(DnsError::malformed(what, at));
        }
        Ok(target)
    };
    let data = match QType::from_code(rtype) {
        Some(QType::A) => match <[u8; 4]>::try_from(rdata) {
            Ok(octets) => RData::A(Ipv4Addr::from(octets)),
            Err(_) => return Err(DnsError::malformed("A RDATA is not 4 octets", start)),
        },
        Some(QType::Aaaa) => match <[u8; 16]>::try_from(rdata) {
            Ok(octets) => RData::Aaaa(Ipv6Addr::from(octets)),
            Err(_) => return Err(DnsError::malformed("AAAA RDATA is not 16 octets", start)),
        },
        Some(QType::Cname) => RData::Cname(name_in_rdata(
            start,
            "CNAME target does not fill the RDATA",
        )?),
        Some(QType::Srv) => {
            // Priority, weight, port, and at least the root label.
            if rdata.len() < 7 {
                return Err(DnsError::malformed("SRV RDATA too short", start));
            }
            let field = |i: usize| u16::from_be_bytes([rdata[i], rdata[i + 1]]);
            RData::Srv(Srv {
                priority: field(0),
                weight: field(2),
                port: field(4),
                target: name_in_rdata(start + 6, "SRV target does not fill the RDATA")?,
            })
        }
        None => return Ok((None, end, 0)),
    };
    let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
    Ok((
        Some(Record {
            name: owner,
            ttl,
            data,
        }),
        end,
        0,
    ))
}

#[cfg(test)]
mod tests;
