//! A blocking client for tocsinctl and tests.

use crate::frame::{HEADER, encode_frame};
use crate::messages::{Request, Response};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the daemon at {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("admin socket I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the daemon closed the connection")]
    Closed,
    #[error("cannot encode the request: {0}")]
    Encode(serde_json::Error),
    #[error("the daemon sent an undecodable response: {0}")]
    Decode(serde_json::Error),
    #[error("the daemon's response of {0} bytes is larger than allowed")]
    ResponseTooLarge(u32),
}

impl ClientError {
    /// True when the daemon could not be reached at all (exit code 3).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Connect { .. })
    }
}

const MAX_RESPONSE: u32 = 256 * 1024 * 1024;

#[derive(Debug)]
pub struct AdminClient {
    stream: UnixStream,
}

impl AdminClient {
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(AdminClient { stream })
    }

    pub fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        let body = serde_json::to_vec(req).map_err(ClientError::Encode)?;
        self.request_raw(&body)
    }

    /// Sends an arbitrary payload (tests use this for malformed requests).
    pub fn request_raw(&mut self, body: &[u8]) -> Result<Response, ClientError> {
        let mut frame = Vec::with_capacity(body.len() + HEADER);
        encode_frame(body, &mut frame);
        self.stream.write_all(&frame)?;
        self.read_response()
    }

    pub fn read_response(&mut self) -> Result<Response, ClientError> {
        let mut hdr = [0u8; HEADER];
        read_full(&mut self.stream, &mut hdr)?;
        let len = u32::from_be_bytes(hdr);
        if len > MAX_RESPONSE {
            return Err(ClientError::ResponseTooLarge(len));
        }
        let mut body = vec![0u8; len as usize];
        read_full(&mut self.stream, &mut body)?;
        serde_json::from_slice(&body).map_err(ClientError::Decode)
    }

    pub fn stream(&mut self) -> &mut UnixStream {
        &mut self.stream
    }
}

fn read_full(s: &mut UnixStream, buf: &mut [u8]) -> Result<(), ClientError> {
    let mut off = 0;
    while off < buf.len() {
        match s.read(&mut buf[off..]) {
            Ok(0) => return Err(ClientError::Closed),
            Ok(n) => off += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
