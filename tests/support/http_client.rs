//! A raw HTTP/1.1 client for tests: it writes exactly the bytes it is given (malformed
//! requests included) and parses the answers strictly enough to assert on them.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Interim 1xx statuses seen before this response.
    pub interim: Vec<u16>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

pub struct HttpClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl HttpClient {
    pub fn connect(addr: &str) -> HttpClient {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        HttpClient {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn set_read_timeout(&self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).unwrap();
    }

    /// Writes the bytes; a server that already closed may make this fail, which the
    /// caller sees as `Err`.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The next final response (interim 1xx responses are collected into it).
    pub fn read_response(&mut self) -> HttpResponse {
        self.try_read_response()
            .unwrap_or_else(|e| panic!("no HTTP response: {e}"))
    }

    /// One response head: status and header fields.
    fn read_head(&mut self) -> std::io::Result<(u16, Vec<(String, String)>)> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if self.fill()? == 0 {
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed; partial response {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ),
                ));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        assert!(
            status_line.starts_with("HTTP/1.1 ") && status_line.len() >= 12,
            "bad status line {status_line:?}"
        );
        let status: u16 = status_line[9..12].parse().expect("status code");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok((status, headers))
    }

    /// Reads one interim (1xx) response and returns its status.
    pub fn read_interim(&mut self) -> u16 {
        let (status, _) = self.read_head().expect("interim response");
        assert!((100..200).contains(&status), "expected 1xx, got {status}");
        status
    }

    pub fn try_read_response(&mut self) -> std::io::Result<HttpResponse> {
        let mut interim = Vec::new();
        loop {
            let (status, headers) = self.read_head()?;
            if (100..200).contains(&status) {
                interim.push(status);
                continue;
            }
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().expect("content-length"))
                .unwrap_or(0);
            while self.buf.len() < len {
                if self.fill()? == 0 {
                    return Err(std::io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "connection closed inside a response body",
                    ));
                }
            }
            let body = self.buf.drain(..len).collect();
            return Ok(HttpResponse {
                status,
                headers,
                body,
                interim,
            });
        }
    }

    /// True when the server closed the connection (nothing more to read).
    pub fn at_eof(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        match self.fill() {
            Ok(0) => true,
            Err(e) => e.kind() == ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    }
}

/// Standard base64 (RFC 4648 with padding), for Authorization headers.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A request shaped like Dovecot 2.3's ox driver PUT (its header order).
pub fn dovecot_put(path: &str, user: &str, password: &str, body: &str) -> Vec<u8> {
    format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nDate: Sun, 22 Nov 2026 03:00:12 GMT\r\n\
         Authorization: Basic {}\r\nContent-Length: {}\r\nConnection: Keep-Alive\r\n\
         Content-Type: application/json; charset=utf-8\r\n\r\n{body}",
        base64(format!("{user}:{password}").as_bytes()),
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"dovecot:secret"), "ZG92ZWNvdDpzZWNyZXQ=");
    }
}
