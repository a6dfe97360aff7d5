//! A minimal LMTP client (RFC 2033) to deliver test mail into a real Dovecot.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct LmtpClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl LmtpClient {
    pub fn connect(addr: &str) -> std::io::Result<LmtpClient> {
        let s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = LmtpClient {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        };
        let greeting = c.reply();
        assert!(greeting.starts_with("220"), "LMTP greeting: {greeting}");
        Ok(c)
    }

    /// One (possibly multi-line) reply, lines joined by '\n'.
    pub fn reply(&mut self) -> String {
        let mut all = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("LMTP read");
            assert!(n > 0, "LMTP server closed the connection after {all:?}");
            let line = line.trim_end().to_string();
            let more = line.as_bytes().get(3) == Some(&b'-');
            all.push(line);
            if !more {
                return all.join("\n");
            }
        }
    }

    pub fn cmd(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("LMTP write");
        self.reply()
    }

    /// Delivers `message` (CRLF lines, no final dot) from `from` to one recipient and
    /// returns the per-recipient reply to DATA.
    pub fn deliver(&mut self, from: &str, to: &str, message: &str) -> String {
        let r = self.cmd("LHLO tocsin-test");
        assert!(r.starts_with("250"), "LHLO: {r}");
        let r = self.cmd(&format!("MAIL FROM:<{from}>"));
        assert!(r.starts_with("250"), "MAIL FROM: {r}");
        let r = self.cmd(&format!("RCPT TO:<{to}>"));
        assert!(r.starts_with("250"), "RCPT TO: {r}");
        let r = self.cmd("DATA");
        assert!(r.starts_with("354"), "DATA: {r}");
        let mut data = String::new();
        for line in message.split("\r\n") {
            // Dot-stuffing (RFC 5321 4.5.2).
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        self.writer.write_all(data.as_bytes()).expect("LMTP write");
        self.reply()
    }

    pub fn quit(mut self) {
        let _ = self.cmd("QUIT");
    }
}
