//! Sans-IO framing: bytes in, whole frames out, bounded.

/// Length prefix size.
pub const HEADER: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: u32, max: u32 },
}

pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Accumulates bytes and yields complete frames. After `TooLarge` the
/// stream cannot be resynchronised; the caller answers and closes.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: u32,
}

impl FrameDecoder {
    pub fn new(max: u32) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// How many more bytes the decoder is willing to buffer right now,
    /// so a reader never pulls more than one frame's worth ahead.
    pub fn wants(&self) -> usize {
        match self.pending_len() {
            Some(len) => (HEADER + len as usize)
                .saturating_sub(self.buf.len())
                .max(1),
            None => HEADER - self.buf.len().min(HEADER),
        }
    }

    fn pending_len(&self) -> Option<u32> {
        let h: [u8; 4] = self.buf.get(..HEADER)?.try_into().ok()?;
        Some(u32::from_be_bytes(h))
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Returns the next complete frame, `Ok(None)` when more bytes are
    /// needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(len) = self.pending_len() else {
            return Ok(None);
        };
        if len > self.max {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        let end = HEADER + len as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let frame = self.buf[HEADER..end].to_vec();
        self.buf.drain(..end);
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split_frames() {
        let mut wire = Vec::new();
        encode_frame(b"hello", &mut wire);
        encode_frame(b"", &mut wire);
        encode_frame(b"world!", &mut wire);
        let mut d = FrameDecoder::new(100);
        let mut got = Vec::new();
        for b in wire {
            d.push(&[b]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, vec![b"hello".to_vec(), vec![], b"world!".to_vec()]);
    }

    #[test]
    fn oversized_is_refused_before_buffering() {
        let mut d = FrameDecoder::new(10);
        d.push(&100u32.to_be_bytes());
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge { len: 100, max: 10 })
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut d = FrameDecoder::new(64);
            d.push(&bytes);
            while let Ok(Some(_)) = d.next_frame() {}
        }
    }
}
