//! The field encoding every S2S message uses:
//!
//! ```text
//! +--------+-----------------+----------------------+
//! | tag u8 | length u16 (BE) | value (length bytes) |
//! +--------+-----------------+----------------------+
//! ```
//!
//! Tags ascend through the message (a repeatable field repeats its tag in
//! consecutive fields). Tag 0 is invalid; an unknown tag below 0x80 is
//! "critical" and fails the message, an unknown tag from 0x80 up is skipped,
//! so later versions can add optional fields without a version bump.

use super::error::{Field, MsgError};

/// Field header size.
pub const FIELD_HEADER_LEN: usize = 3;
/// First tag an old receiver may skip.
pub const FIRST_OPTIONAL_TAG: u8 = 0x80;

/// Iterates the fields of a message, enforcing framing and tag order.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    last: u8,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            last: 0,
        }
    }

    /// Byte offset of the next field (for region bookkeeping).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next field with a tag the caller must know, skipping optional
    /// unknown ones is left to the caller (it knows which tags it knows).
    pub(crate) fn next_field(&mut self) -> Result<Option<(u8, &'a [u8])>, MsgError> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return Ok(None);
        }
        let Some(&[tag, l0, l1]) = rest.first_chunk::<3>() else {
            return Err(MsgError::Truncated { offset: self.pos });
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let Some(value) = rest.get(FIELD_HEADER_LEN..FIELD_HEADER_LEN + len) else {
            return Err(MsgError::Truncated { offset: self.pos });
        };
        if tag == 0 {
            return Err(MsgError::UnknownField { tag });
        }
        if tag < self.last {
            return Err(MsgError::FieldOrder {
                tag,
                after: self.last,
            });
        }
        self.last = tag;
        self.pos += FIELD_HEADER_LEN + len;
        Ok(Some((tag, value)))
    }
}

/// What to do with a tag the message decoder does not know.
pub(crate) fn unknown(tag: u8) -> Result<(), MsgError> {
    if tag >= FIRST_OPTIONAL_TAG {
        Ok(())
    } else {
        Err(MsgError::UnknownField { tag })
    }
}

/// Store a singular field, refusing a second occurrence.
pub(crate) fn set_once<'a>(
    slot: &mut Option<&'a [u8]>,
    field: Field,
    v: &'a [u8],
) -> Result<(), MsgError> {
    if slot.replace(v).is_some() {
        return Err(MsgError::DuplicateField { field });
    }
    Ok(())
}

pub(crate) fn required<T>(v: Option<T>, field: Field) -> Result<T, MsgError> {
    v.ok_or(MsgError::MissingField { field })
}

pub(crate) fn fixed<const N: usize>(field: Field, v: &[u8]) -> Result<[u8; N], MsgError> {
    v.try_into().map_err(|_| MsgError::FieldLength {
        field,
        len: v.len(),
        expected: N,
    })
}

pub(crate) fn u16_of(field: Field, v: &[u8]) -> Result<u16, MsgError> {
    fixed::<2>(field, v).map(u16::from_be_bytes)
}

pub(crate) fn u32_of(field: Field, v: &[u8]) -> Result<u32, MsgError> {
    fixed::<4>(field, v).map(u32::from_be_bytes)
}

/// A pair value: `u16 first-length | first | second`.
pub(crate) fn pair(field: Field, v: &[u8]) -> Result<(&[u8], &[u8]), MsgError> {
    let Some(&[l0, l1]) = v.first_chunk::<2>() else {
        return Err(MsgError::InvalidValue {
            field,
            reason: "pair shorter than its 2-byte length",
        });
    };
    let n = usize::from(u16::from_be_bytes([l0, l1]));
    let rest = &v[2..];
    if n > rest.len() {
        return Err(MsgError::InvalidValue {
            field,
            reason: "pair key runs past the field",
        });
    }
    Ok(rest.split_at(n))
}

/// Append one field. The caller has validated that `value` fits 16 bits.
pub(crate) fn put(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Append a pair field.
pub(crate) fn put_pair(out: &mut Vec<u8>, tag: u8, first: &[u8], second: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&((2 + first.len() + second.len()) as u16).to_be_bytes());
    out.extend_from_slice(&(first.len() as u16).to_be_bytes());
    out.extend_from_slice(first);
    out.extend_from_slice(second);
}
