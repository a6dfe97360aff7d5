//! Test-only DNS response builder, independent of the crate's own encoder
//! (so a bug there cannot hide in both). Shared by the unit tests (through
//! `#[path]` from src/lib.rs) and the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

/// RDATA to put in a record.
#[derive(Debug, Clone)]
pub enum Rd<'a> {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Cname(&'a str),
    /// priority, weight, port, target
    Srv(u16, u16, u16, &'a str),
    /// Any type with raw RDATA.
    Raw(u16, Vec<u8>),
}

#[derive(Debug, Clone)]
enum OwnedRd {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Cname(String),
    Srv(u16, u16, u16, String),
    Raw(u16, Vec<u8>),
}

impl From<Rd<'_>> for OwnedRd {
    fn from(rd: Rd<'_>) -> Self {
        match rd {
            Rd::A(a) => OwnedRd::A(a),
            Rd::Aaaa(a) => OwnedRd::Aaaa(a),
            Rd::Cname(n) => OwnedRd::Cname(n.to_owned()),
            Rd::Srv(p, w, port, t) => OwnedRd::Srv(p, w, port, t.to_owned()),
            Rd::Raw(t, d) => OwnedRd::Raw(t, d),
        }
    }
}

#[derive(Debug, Clone)]
struct Rr {
    owner: String,
    class: u16,
    ttl: u32,
    rd: OwnedRd,
}

/// Builds a response message.
#[derive(Debug, Clone)]
pub struct Builder {
    id: u16,
    flags: u16,
    question: Option<(String, u16, u16)>,
    sections: [Vec<Rr>; 3],
    opt: Option<(u16, u8)>,
    compress: bool,
}

impl Builder {
    /// A NOERROR response (QR, RD, RA) echoing the question `qname`/`qtype`
    /// class IN, with name compression on.
    pub fn response(id: u16, qname: &str, qtype: u16) -> Self {
        Builder {
            id,
            flags: 0x8180,
            question: Some((qname.to_owned(), qtype, 1)),
            sections: [Vec::new(), Vec::new(), Vec::new()],
            opt: None,
            compress: true,
        }
    }

    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    pub fn rcode(mut self, rcode: u8) -> Self {
        self.flags = (self.flags & !0xF) | u16::from(rcode & 0xF);
        self
    }

    pub fn tc(mut self) -> Self {
        self.flags |= 0x0200;
        self
    }

    pub fn aa(mut self) -> Self {
        self.flags |= 0x0400;
        self
    }

    pub fn opcode(mut self, opcode: u8) -> Self {
        self.flags = (self.flags & !0x7800) | (u16::from(opcode & 0xF) << 11);
        self
    }

    /// Class of the echoed question.
    pub fn class(mut self, class: u16) -> Self {
        if let Some(q) = &mut self.question {
            q.2 = class;
        }
        self
    }

    pub fn no_question(mut self) -> Self {
        self.question = None;
        self
    }

    /// Adds an OPT record advertising `size`.
    pub fn opt(mut self, size: u16) -> Self {
        self.opt = Some((size, 0));
        self
    }

    /// Adds an OPT record with an extended RCODE.
    pub fn opt_ext_rcode(mut self, ext: u8) -> Self {
        self.opt = Some((1232, ext));
        self
    }

    fn push(mut self, section: usize, owner: &str, class: u16, ttl: u32, rd: Rd<'_>) -> Self {
        self.sections[section].push(Rr {
            owner: owner.to_owned(),
            class,
            ttl,
            rd: rd.into(),
        });
        self
    }

    pub fn answer(self, owner: &str, ttl: u32, rd: Rd<'_>) -> Self {
        self.push(0, owner, 1, ttl, rd)
    }

    pub fn answer_class(self, owner: &str, class: u16, ttl: u32, rd: Rd<'_>) -> Self {
        self.push(0, owner, class, ttl, rd)
    }

    pub fn authority(self, owner: &str, ttl: u32, rd: Rd<'_>) -> Self {
        self.push(1, owner, 1, ttl, rd)
    }

    pub fn additional(self, owner: &str, ttl: u32, rd: Rd<'_>) -> Self {
        self.push(2, owner, 1, ttl, rd)
    }

    pub fn build(&self) -> Vec<u8> {
        let mut w = Writer {
            buf: Vec::new(),
            seen: HashMap::new(),
            compress: self.compress,
        };
        w.buf.extend_from_slice(&self.id.to_be_bytes());
        w.buf.extend_from_slice(&self.flags.to_be_bytes());
        let extra = usize::from(self.opt.is_some());
        for count in [
            usize::from(self.question.is_some()),
            self.sections[0].len(),
            self.sections[1].len(),
            self.sections[2].len() + extra,
        ] {
            w.buf.extend_from_slice(&(count as u16).to_be_bytes());
        }
        if let Some((name, qtype, class)) = &self.question {
            w.name(name);
            w.buf.extend_from_slice(&qtype.to_be_bytes());
            w.buf.extend_from_slice(&class.to_be_bytes());
        }
        for section in &self.sections {
            for rr in section {
                w.name(&rr.owner);
                let rtype = match &rr.rd {
                    OwnedRd::A(_) => 1,
                    OwnedRd::Aaaa(_) => 28,
                    OwnedRd::Cname(_) => 5,
                    OwnedRd::Srv(..) => 33,
                    OwnedRd::Raw(t, _) => *t,
                };
                w.buf.extend_from_slice(&rtype.to_be_bytes());
                w.buf.extend_from_slice(&rr.class.to_be_bytes());
                w.buf.extend_from_slice(&rr.ttl.to_be_bytes());
                let len_at = w.buf.len();
                w.buf.extend_from_slice(&[0, 0]);
                match &rr.rd {
                    OwnedRd::A(a) => w.buf.extend_from_slice(a),
                    OwnedRd::Aaaa(a) => w.buf.extend_from_slice(a),
                    OwnedRd::Cname(n) => w.name(n),
                    OwnedRd::Srv(p, wt, port, t) => {
                        for v in [p, wt, port] {
                            w.buf.extend_from_slice(&v.to_be_bytes());
                        }
                        w.name(t);
                    }
                    OwnedRd::Raw(_, d) => w.buf.extend_from_slice(d),
                }
                let len = (w.buf.len() - len_at - 2) as u16;
                w.buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
            }
        }
        if let Some((size, ext)) = self.opt {
            w.buf.push(0);
            w.buf.extend_from_slice(&41u16.to_be_bytes());
            w.buf.extend_from_slice(&size.to_be_bytes());
            w.buf.extend_from_slice(&[ext, 0, 0, 0, 0, 0]);
        }
        w.buf
    }
}

struct Writer {
    buf: Vec<u8>,
    /// Lower-cased suffix -> offset, for compression.
    seen: HashMap<String, usize>,
    compress: bool,
}

impl Writer {
    fn name(&mut self, name: &str) {
        let bare = name.strip_suffix('.').unwrap_or(name);
        let labels: Vec<&str> = if bare.is_empty() {
            Vec::new()
        } else {
            bare.split('.').collect()
        };
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if self.compress {
                if let Some(&at) = self.seen.get(&suffix) {
                    self.buf
                        .extend_from_slice(&(0xC000 | at as u16).to_be_bytes());
                    return;
                }
                if self.buf.len() < 0x3FFF {
                    self.seen.insert(suffix, self.buf.len());
                }
            }
            self.buf.push(labels[i].len() as u8);
            self.buf.extend_from_slice(labels[i].as_bytes());
        }
        self.buf.push(0);
    }
}

/// The (id, qname, qtype) of a query without compression, as our encoder
/// writes them (for the test servers).
pub fn parse_query(msg: &[u8]) -> Option<(u16, String, u16)> {
    let id = u16::from_be_bytes([*msg.first()?, *msg.get(1)?]);
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8(msg.get(pos + 1..pos + 1 + len)?.to_vec()).ok()?);
        pos += 1 + len;
    }
    let qtype = u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]);
    Some((id, labels.join("."), qtype))
}
