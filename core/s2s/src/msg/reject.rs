//! REJECT (PPID `PPID_REJECT`) and GOODBYE (PPID `PPID_GOODBYE`).
//!
//! REJECT: the server refuses one EVENT; the ACK of the EVENT's TSN follows.
//!
//! | tag | field | type | |
//! |---|---|---|---|
//! | 0x01 | tsn | u32 BE: the EVENT's DATA TSN | required |
//! | 0x02 | source-event-id | text 0..=256 (empty if unreadable) | required |
//! | 0x03 | code | u16 BE | required |
//! | 0x04 | text | one-line text <= 1024 | optional |
//!
//! GOODBYE: either side ends the session.
//!
//! | tag | field | type | |
//! |---|---|---|---|
//! | 0x01 | code | u16 BE | required |
//! | 0x02 | text | one-line text <= 1024 | optional |

use super::error::{Field, MsgError};
use super::text::{self, Controls, limits};
use super::tlv::{self, Reader};
use crate::code::Code;

/// A REJECT message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject<'a> {
    /// TSN of the rejected EVENT's DATA chunk.
    pub tsn: u32,
    /// Its source-event-id, when it could be read.
    pub source_event_id: &'a str,
    /// Why.
    pub code: Code,
    /// Human-readable detail (may be empty).
    pub text: &'a str,
}

impl<'a> Reject<'a> {
    /// Decode and validate.
    pub fn decode(buf: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf);
        let (mut tsn, mut id, mut code, mut txt) = (None, None, None, None);
        while let Some((tag, v)) = r.next_field()? {
            match tag {
                0x01 => tlv::set_once(&mut tsn, Field::Tsn, v)?,
                0x02 => tlv::set_once(&mut id, Field::SourceEventId, v)?,
                0x03 => tlv::set_once(&mut code, Field::Code, v)?,
                0x04 => tlv::set_once(&mut txt, Field::Text, v)?,
                other => tlv::unknown(other)?,
            }
        }
        Ok(Reject {
            tsn: tlv::u32_of(Field::Tsn, tlv::required(tsn, Field::Tsn)?)?,
            source_event_id: text::text(
                Field::SourceEventId,
                tlv::required(id, Field::SourceEventId)?,
                0,
                limits::SOURCE_EVENT_ID,
                Controls::None,
            )?,
            code: Code::from_u16(tlv::u16_of(Field::Code, tlv::required(code, Field::Code)?)?),
            text: match txt {
                Some(v) => text::text(Field::Text, v, 0, limits::TEXT, Controls::None)?,
                None => "",
            },
        })
    }

    /// Validate, then append the encoding. Over-long or multi-line text is
    /// an encoder error: callers should pass [`one_line`] output.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MsgError> {
        text::check(
            Field::SourceEventId,
            self.source_event_id,
            0,
            limits::SOURCE_EVENT_ID,
            Controls::None,
        )?;
        text::check(Field::Text, self.text, 0, limits::TEXT, Controls::None)?;
        tlv::put(out, 0x01, &self.tsn.to_be_bytes());
        tlv::put(out, 0x02, self.source_event_id.as_bytes());
        tlv::put(out, 0x03, &self.code.to_u16().to_be_bytes());
        if !self.text.is_empty() {
            tlv::put(out, 0x04, self.text.as_bytes());
        }
        Ok(())
    }
}

/// A GOODBYE message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goodbye<'a> {
    /// Why the session ends.
    pub code: Code,
    /// Human-readable detail (may be empty).
    pub text: &'a str,
}

impl<'a> Goodbye<'a> {
    /// Decode and validate.
    pub fn decode(buf: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf);
        let (mut code, mut txt) = (None, None);
        while let Some((tag, v)) = r.next_field()? {
            match tag {
                0x01 => tlv::set_once(&mut code, Field::Code, v)?,
                0x02 => tlv::set_once(&mut txt, Field::Text, v)?,
                other => tlv::unknown(other)?,
            }
        }
        Ok(Goodbye {
            code: Code::from_u16(tlv::u16_of(Field::Code, tlv::required(code, Field::Code)?)?),
            text: match txt {
                Some(v) => text::text(Field::Text, v, 0, limits::TEXT, Controls::None)?,
                None => "",
            },
        })
    }

    /// Validate, then append the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MsgError> {
        text::check(Field::Text, self.text, 0, limits::TEXT, Controls::None)?;
        tlv::put(out, 0x01, &self.code.to_u16().to_be_bytes());
        if !self.text.is_empty() {
            tlv::put(out, 0x02, self.text.as_bytes());
        }
        Ok(())
    }
}

/// Make arbitrary text fit a REJECT/GOODBYE text field: control characters
/// become spaces and the result is cut (on a char boundary) at 1024 bytes.
#[must_use]
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(limits::TEXT));
    for c in s.chars() {
        let c = if c.is_ascii_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > limits::TEXT {
            break;
        }
        out.push(c);
    }
    out
}
