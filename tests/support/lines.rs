//! A line-protocol client for the test source plugin.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct LineClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl LineClient {
    pub fn connect(addr: &str) -> LineClient {
        let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        LineClient {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    pub fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    pub fn read_line(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_line(&mut s).unwrap();
        s.trim_end().to_string()
    }

    pub fn cmd(&mut self, line: &str) -> String {
        self.send(line);
        self.read_line()
    }

    /// True when the server closed the connection.
    pub fn at_eof(&mut self) -> bool {
        let mut s = String::new();
        matches!(self.reader.read_line(&mut s), Ok(0))
    }
}
