//! Chunk wire format (draft-ietf-rserpool-tcpmapping-03, section 3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Chunk Type  | Chunk  Flags  |        Chunk Length           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                          Chunk Value                          /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! All integers are big-endian (the draft does not say; SCTP and ASAP, which it
//! copies, use network byte order). Length counts header and value but not the
//! 0..=3 zero pad bytes that round every chunk up to a multiple of 4; the
//! receiver ignores pad content.
//!
//! This module is the pure codec: [`decode_chunk`] parses one chunk from the
//! front of a buffer (or reports that more bytes are needed) and the `encode_*`
//! functions append one chunk to a `Vec<u8>`. Sequencing rules (INIT first,
//! TSN order, ...) live in [`crate::Connection`].

use crate::error::ShimError;

/// Size of the common chunk header.
pub const HEADER_LEN: usize = 4;
/// Largest Length the 16-bit field can express. The draft has no
/// fragmentation, so this is also the largest message.
pub const MAX_CHUNK_LEN: u16 = u16::MAX;
/// Heartbeat Info TLV type (the only parameter defined for HEARTBEAT).
pub const HEARTBEAT_INFO_TYPE: u16 = 1;
/// DATA flag: unordered (SCTP's U bit position).
pub const DATA_FLAG_UNORDERED: u8 = 0x04;

/// The chunk types the draft defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChunkType {
    /// Payload data.
    Data = 0,
    /// Initiation: once per direction, first chunk.
    Init = 1,
    /// Acknowledgement of one delivered DATA chunk.
    Ack = 3,
    /// Heartbeat request.
    Heartbeat = 4,
    /// Heartbeat acknowledgement (echoes the request's info).
    HeartbeatAck = 5,
}

impl ChunkType {
    /// Map a wire type byte; `None` for the reserved values 2 and 6..=255.
    #[must_use]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Data),
            1 => Some(Self::Init),
            3 => Some(Self::Ack),
            4 => Some(Self::Heartbeat),
            5 => Some(Self::HeartbeatAck),
            _ => None,
        }
    }
}

/// The INIT chunk flags: which DATA header words the INIT's sender omits for
/// the rest of the connection. The five high bits are reserved (sent as zero,
/// ignored on receipt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InitFlags(u8);

impl InitFlags {
    /// T: TSN omitted from DATA (and the INIT's receiver should omit it from ACKs).
    pub const OMIT_TSN: u8 = 0x01;
    /// S: Stream Identifier / Stream Sequence Number word omitted (everything is stream 0).
    pub const OMIT_STREAM: u8 = 0x02;
    /// P: PPID omitted (everything is PPID 0).
    pub const OMIT_PPID: u8 = 0x04;
    const DEFINED: u8 = Self::OMIT_TSN | Self::OMIT_STREAM | Self::OMIT_PPID;

    /// No word omitted: the full 16-byte DATA header.
    pub const NONE: Self = Self(0);

    /// Build from a wire byte; reserved bits are dropped.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & Self::DEFINED)
    }
    /// The defined bits.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// TSN omitted.
    #[must_use]
    pub const fn omit_tsn(self) -> bool {
        self.0 & Self::OMIT_TSN != 0
    }
    /// Stream id / sequence omitted.
    #[must_use]
    pub const fn omit_stream(self) -> bool {
        self.0 & Self::OMIT_STREAM != 0
    }
    /// PPID omitted.
    #[must_use]
    pub const fn omit_ppid(self) -> bool {
        self.0 & Self::OMIT_PPID != 0
    }
    /// Length of a DATA header (before user data) in this layout: 4..=16.
    #[must_use]
    pub const fn data_header_len(self) -> usize {
        HEADER_LEN
            + if self.omit_tsn() { 0 } else { 4 }
            + if self.omit_stream() { 0 } else { 4 }
            + if self.omit_ppid() { 0 } else { 4 }
    }
}

/// A DATA chunk as it is on the wire. Fields the sender's INIT omitted are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChunk<'a> {
    /// U flag.
    pub unordered: bool,
    /// TSN, unless omitted.
    pub tsn: Option<u32>,
    /// (Stream Identifier, Stream Sequence Number), unless omitted.
    pub stream: Option<(u16, u16)>,
    /// PPID, unless omitted.
    pub ppid: Option<u32>,
    /// User data (never empty on a valid chunk).
    pub payload: &'a [u8],
}

/// One decoded chunk, borrowing from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// DATA.
    Data(DataChunk<'a>),
    /// INIT with its flags.
    Init(InitFlags),
    /// ACK; `None` for the short (length 4) form without a TSN.
    Ack(Option<u32>),
    /// HEARTBEAT carrying the Heartbeat Info value (without the TLV header).
    Heartbeat(&'a [u8]),
    /// HEARTBEAT-ACK carrying the echoed Heartbeat Info value.
    HeartbeatAck(&'a [u8]),
}

/// Round a chunk length up to the 4-byte boundary where the next chunk starts.
#[must_use]
pub const fn padded_len(len: usize) -> usize {
    (len + 3) & !3
}

/// The header fields of a chunk, checked against everything that can be
/// checked before its value has arrived. Lets a receiver refuse a bad
/// chunk after 4 bytes instead of buffering up to 64 KiB of it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Chunk type.
    pub chunk_type: ChunkType,
    /// Flags byte as received.
    pub flags: u8,
    /// Length field (header + value, no padding).
    pub length: u16,
}

/// Parse and validate a chunk header. `data_layout` is the DATA layout the
/// chunk's sender announced in its INIT.
pub fn decode_header(
    bytes: [u8; 4],
    data_layout: InitFlags,
    max_len: u16,
) -> Result<Header, ShimError> {
    let [ty, flags, l0, l1] = bytes;
    let length = u16::from_be_bytes([l0, l1]);
    let chunk_type =
        ChunkType::from_u8(ty).ok_or(ShimError::ReservedChunkType { chunk_type: ty })?;
    if usize::from(length) < HEADER_LEN {
        return Err(ShimError::LengthTooSmall {
            chunk_type: ty,
            length,
        });
    }
    if length > max_len {
        return Err(ShimError::ChunkTooLarge {
            chunk_type: ty,
            length,
            max: max_len,
        });
    }
    match chunk_type {
        ChunkType::Init if length != 4 => return Err(ShimError::BadInitLength { length }),
        ChunkType::Ack if length != 4 && length != 8 => {
            return Err(ShimError::BadAckLength { length });
        }
        ChunkType::Heartbeat | ChunkType::HeartbeatAck if length < 8 => {
            return Err(ShimError::HeartbeatTooShort {
                chunk_type: ty,
                length,
            });
        }
        ChunkType::Data => {
            let header_len = data_layout.data_header_len();
            if usize::from(length) < header_len {
                return Err(ShimError::DataTooShort {
                    length,
                    header_len: header_len as u16,
                });
            }
            if usize::from(length) == header_len {
                return Err(ShimError::EmptyData);
            }
        }
        _ => {}
    }
    Ok(Header {
        chunk_type,
        flags,
        length,
    })
}

/// Decode the chunk at the front of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold the whole chunk including
/// its padding, otherwise the chunk and the number of bytes it occupies
/// (always a multiple of 4). `data_layout` is the sender's INIT flags (it
/// decides which DATA header words are present). Errors never depend on bytes
/// that have not arrived: a header is judged as soon as its 4 bytes are here.
pub fn decode_chunk(
    buf: &[u8],
    data_layout: InitFlags,
    max_len: u16,
) -> Result<Option<(Chunk<'_>, usize)>, ShimError> {
    let Some(head) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let header = decode_header(*head, data_layout, max_len)?;
    let len = usize::from(header.length);
    let total = padded_len(len);
    let Some(chunk) = buf.get(..len) else {
        return Ok(None);
    };
    if buf.len() < total {
        return Ok(None);
    }
    let value = &chunk[HEADER_LEN..];
    let decoded = match header.chunk_type {
        ChunkType::Init => Chunk::Init(InitFlags::from_bits(header.flags)),
        ChunkType::Ack => Chunk::Ack(value.first_chunk::<4>().map(|b| u32::from_be_bytes(*b))),
        ChunkType::Heartbeat => Chunk::Heartbeat(heartbeat_info(ChunkType::Heartbeat, value)?),
        ChunkType::HeartbeatAck => {
            Chunk::HeartbeatAck(heartbeat_info(ChunkType::HeartbeatAck, value)?)
        }
        ChunkType::Data => Chunk::Data(data_chunk(header.flags, value, data_layout)),
    };
    Ok(Some((decoded, total)))
}

/// Split the Heartbeat Info TLV (type 1, 16-bit length incl. its header).
fn heartbeat_info(ty: ChunkType, value: &[u8]) -> Result<&[u8], ShimError> {
    let Some(&[t0, t1, l0, l1]) = value.first_chunk::<4>() else {
        return Err(ShimError::HeartbeatTooShort {
            chunk_type: ty as u8,
            length: (value.len() + HEADER_LEN) as u16,
        });
    };
    let tlv_type = u16::from_be_bytes([t0, t1]);
    let tlv_length = u16::from_be_bytes([l0, l1]);
    if tlv_type != HEARTBEAT_INFO_TYPE {
        return Err(ShimError::HeartbeatInfoType { tlv_type });
    }
    // The TLV is the chunk's only content, so its length must fill the chunk
    // exactly (its own padding, if any, is the chunk's padding).
    if usize::from(tlv_length) != value.len() {
        return Err(ShimError::HeartbeatInfoLength {
            tlv_length,
            expected: value.len() as u16,
        });
    }
    Ok(&value[4..])
}

/// Split a DATA value (length already checked against the layout).
fn data_chunk(flags: u8, value: &[u8], layout: InitFlags) -> DataChunk<'_> {
    let mut rest = value;
    let mut word = || -> [u8; 4] {
        let (w, r) = rest.split_at(4);
        rest = r;
        [w[0], w[1], w[2], w[3]]
    };
    let tsn = (!layout.omit_tsn()).then(|| u32::from_be_bytes(word()));
    let stream = (!layout.omit_stream()).then(|| {
        let [a, b, c, d] = word();
        (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))
    });
    let ppid = (!layout.omit_ppid()).then(|| u32::from_be_bytes(word()));
    DataChunk {
        unordered: flags & DATA_FLAG_UNORDERED != 0,
        tsn,
        stream,
        ppid,
        payload: rest,
    }
}

fn put_header(out: &mut Vec<u8>, ty: ChunkType, flags: u8, len: usize) {
    out.push(ty as u8);
    out.push(flags);
    out.extend_from_slice(&(len as u16).to_be_bytes());
}

fn pad(out: &mut Vec<u8>, len: usize) {
    out.resize(out.len() + (padded_len(len) - len), 0);
}

/// Append an INIT chunk.
pub fn encode_init(out: &mut Vec<u8>, flags: InitFlags) {
    put_header(out, ChunkType::Init, flags.bits(), HEADER_LEN);
}

/// Append an ACK chunk; `None` writes the short form (length 4).
pub fn encode_ack(out: &mut Vec<u8>, tsn: Option<u32>) {
    match tsn {
        Some(tsn) => {
            put_header(out, ChunkType::Ack, 0, 8);
            out.extend_from_slice(&tsn.to_be_bytes());
        }
        None => put_header(out, ChunkType::Ack, 0, HEADER_LEN),
    }
}

/// Append a HEARTBEAT (or, with `ack`, a HEARTBEAT-ACK) carrying `info`.
/// The caller keeps `info` short enough for one chunk (at most 65527 bytes).
pub fn encode_heartbeat(out: &mut Vec<u8>, ack: bool, info: &[u8]) {
    let ty = if ack {
        ChunkType::HeartbeatAck
    } else {
        ChunkType::Heartbeat
    };
    let len = HEADER_LEN + 4 + info.len();
    put_header(out, ty, 0, len);
    out.extend_from_slice(&HEARTBEAT_INFO_TYPE.to_be_bytes());
    out.extend_from_slice(&((4 + info.len()) as u16).to_be_bytes());
    out.extend_from_slice(info);
    pad(out, len);
}

/// Append a DATA chunk in `layout`. Fields the layout omits are not written
/// (whatever `chunk` holds for them); fields it keeps but `chunk` lacks are
/// written as 0. The caller keeps the total within 65535 bytes.
pub fn encode_data(out: &mut Vec<u8>, layout: InitFlags, chunk: &DataChunk<'_>) {
    let len = layout.data_header_len() + chunk.payload.len();
    let flags = if chunk.unordered {
        DATA_FLAG_UNORDERED
    } else {
        0
    };
    out.reserve(padded_len(len));
    put_header(out, ChunkType::Data, flags, len);
    if !layout.omit_tsn() {
        out.extend_from_slice(&chunk.tsn.unwrap_or(0).to_be_bytes());
    }
    if !layout.omit_stream() {
        let (sid, ssn) = chunk.stream.unwrap_or((0, 0));
        out.extend_from_slice(&sid.to_be_bytes());
        out.extend_from_slice(&ssn.to_be_bytes());
    }
    if !layout.omit_ppid() {
        out.extend_from_slice(&chunk.ppid.unwrap_or(0).to_be_bytes());
    }
    out.extend_from_slice(chunk.payload);
    pad(out, len);
}

/// Append any chunk (DATA in `layout`).
pub fn encode_chunk(out: &mut Vec<u8>, layout: InitFlags, chunk: &Chunk<'_>) {
    match chunk {
        Chunk::Data(d) => encode_data(out, layout, d),
        Chunk::Init(f) => encode_init(out, *f),
        Chunk::Ack(t) => encode_ack(out, *t),
        Chunk::Heartbeat(i) => encode_heartbeat(out, false, i),
        Chunk::HeartbeatAck(i) => encode_heartbeat(out, true, i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_data_header_layout() {
        let mut out = Vec::new();
        encode_data(
            &mut out,
            InitFlags::NONE,
            &DataChunk {
                unordered: true,
                tsn: Some(0x0102_0304),
                stream: Some((5, 6)),
                ppid: Some(7),
                payload: b"abcde",
            },
        );
        assert_eq!(
            out,
            [
                0, 4, 0, 21, 1, 2, 3, 4, 0, 5, 0, 6, 0, 0, 0, 7, b'a', b'b', b'c', b'd', b'e', 0,
                0, 0
            ]
        );
    }

    #[test]
    fn minimal_data_header_layout() {
        let mut out = Vec::new();
        let layout = InitFlags::from_bits(0x07);
        assert_eq!(layout.data_header_len(), 4);
        encode_data(
            &mut out,
            layout,
            &DataChunk {
                unordered: false,
                tsn: Some(9),
                stream: Some((1, 1)),
                ppid: Some(1),
                payload: b"x",
            },
        );
        assert_eq!(out, [0, 0, 0, 5, b'x', 0, 0, 0]);
        let (c, used) = decode_chunk(&out, layout, MAX_CHUNK_LEN).unwrap().unwrap();
        assert_eq!(used, 8);
        assert_eq!(
            c,
            Chunk::Data(DataChunk {
                unordered: false,
                tsn: None,
                stream: None,
                ppid: None,
                payload: b"x"
            })
        );
    }

    #[test]
    fn init_reserved_flag_bits_are_ignored() {
        let (c, _) = decode_chunk(&[1, 0xff, 0, 4], InitFlags::NONE, MAX_CHUNK_LEN)
            .unwrap()
            .unwrap();
        assert_eq!(c, Chunk::Init(InitFlags::from_bits(0x07)));
    }

    #[test]
    fn waits_for_padding() {
        let mut out = Vec::new();
        encode_heartbeat(&mut out, false, b"abc");
        assert_eq!(out.len(), 12);
        assert_eq!(
            decode_chunk(&out[..11], InitFlags::NONE, MAX_CHUNK_LEN),
            Ok(None)
        );
        assert!(
            decode_chunk(&out, InitFlags::NONE, MAX_CHUNK_LEN)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn header_errors_need_only_four_bytes() {
        assert_eq!(
            decode_chunk(&[0, 0, 0xff, 0xff], InitFlags::NONE, 1024),
            Err(ShimError::ChunkTooLarge {
                chunk_type: 0,
                length: 0xffff,
                max: 1024
            })
        );
        assert_eq!(
            decode_chunk(&[9, 0, 0, 4], InitFlags::NONE, 1024),
            Err(ShimError::ReservedChunkType { chunk_type: 9 })
        );
    }
}
