//! One connection: drives the sans-IO [`Connection`] over a [`Link`]
//! (sign in, listen, print and acknowledge every `send`) until the count
//! is reached or something stops it.

use super::error::WatchError;
use super::link::{Input, Link};
use super::options::Options;
use super::render::Notification;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tocsin_imtp::{
    Command, Config, Connection, ErrorType, Event, Id, Listen, Outcome, Response, Role, SendError,
    Transport,
};

/// Upper bound on one wait when the connection has no timer (it always
/// has the idle timer, so this is only a safety net).
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How a session that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `--count` notifications printed and acknowledged.
    CountReached,
}

/// Progress that outlives one connection.
#[derive(Debug, Default)]
pub struct Progress {
    /// Notifications printed and acknowledged so far.
    pub printed: u64,
    /// Set when a listen succeeds (the caller resets its backoff).
    pub listening: bool,
}

pub struct Session<'a> {
    opts: &'a Options,
    out: &'a mut dyn Write,
    progress: &'a mut Progress,
    conn: Connection,
    link: Link,
    listen_id: Option<Id>,
    /// Set by an event handler: stop after flushing the output.
    stop: Option<Result<End, WatchError>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl<'a> Session<'a> {
    pub fn new(
        opts: &'a Options,
        link: Link,
        out: &'a mut dyn Write,
        progress: &'a mut Progress,
    ) -> Session<'a> {
        let transport = Transport {
            // Plaintext to loopback counts as confidential (see is_loopback).
            tls: opts.tls.is_some() || super::options::is_loopback(&opts.server),
            peer_identity: None,
        };
        Session {
            opts,
            out,
            progress,
            conn: Connection::new(Role::Client, Config::imtp(), transport, Instant::now()),
            link,
            listen_id: None,
            stop: None,
        }
    }

    /// Runs until the count is reached (`Ok`) or the connection ends
    /// (`Err`, with [`WatchError::is_transient`] telling whether to retry).
    pub fn run(mut self) -> Result<End, WatchError> {
        let r = self.pump();
        self.conn.close();
        self.link.close();
        r
    }

    fn pump(&mut self) -> Result<End, WatchError> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(ev) = self.conn.poll_event() {
                self.on_event(ev)?;
                if self.stop.is_some() {
                    break;
                }
            }
            // Acknowledgements (and a final error answer) reach the server
            // before we go.
            self.flush()?;
            if let Some(end) = self.stop.take() {
                return end;
            }
            let now = Instant::now();
            let wait = self
                .conn
                .next_timeout()
                .map_or(MAX_WAIT, |t| t.saturating_duration_since(now))
                .min(MAX_WAIT);
            match self.link.read(&mut buf, wait)? {
                Input::Data(n) => {
                    if let Err(e) = self.conn.feed(&buf[..n], Instant::now()) {
                        return Err(self.fail(e));
                    }
                }
                Input::Eof => return Err(WatchError::Eof),
                Input::Idle => {}
            }
            let now = Instant::now();
            if self.conn.next_timeout().is_some_and(|t| t <= now) {
                // Keepalive NOPs are queued here; dead peers are detected.
                if let Err(e) = self.conn.handle_timeout(now) {
                    return Err(self.fail(e));
                }
            }
        }
    }

    /// A fatal protocol error: the output may end with our error answer.
    fn fail(&mut self, e: tocsin_imtp::ConnError) -> WatchError {
        let _ = self.flush();
        WatchError::Conn(e)
    }

    fn flush(&mut self) -> Result<(), WatchError> {
        let n = self.conn.output_len();
        if n > 0 {
            self.link.write_all(self.conn.output())?;
            self.conn.consume_output(n);
        }
        Ok(())
    }

    fn on_event(&mut self, ev: Event) -> Result<(), WatchError> {
        let now = Instant::now();
        match ev {
            Event::Mechanisms(offered) => {
                match self.conn.authenticate(self.opts.sasl.clone(), now) {
                    Ok(_) => {}
                    // Say what would work: usually --user vs --cert.
                    Err(SendError::MechanismNotOffered(wanted)) => {
                        let offered: Vec<&str> = offered.iter().map(|m| m.as_str()).collect();
                        return Err(WatchError::NotOffered {
                            wanted: wanted.to_string(),
                            offered: if offered.is_empty() {
                                "nothing".to_owned()
                            } else {
                                offered.join(", ")
                            },
                        });
                    }
                    Err(e) => return Err(WatchError::Sasl(e)),
                }
            }
            Event::AuthFailed(e) => return Err(WatchError::AuthFailed(e.into())),
            Event::Authenticated { .. } => {
                let listen = Listen {
                    only: self.opts.only.clone(),
                    except: self.opts.except.clone(),
                    ..Listen::new(self.opts.inbox.clone())
                };
                let id = self
                    .conn
                    .send_command(&Command::Listen(listen), now)
                    .map_err(WatchError::Send)?;
                self.listen_id = Some(id);
            }
            Event::Response { id, response } => self.on_response(&id, response)?,
            Event::Command { id, command } => self.on_command(&id, command, now)?,
            // Server-side events; a client never sees them.
            Event::VerifyPlain(_) => {}
        }
        Ok(())
    }

    fn on_response(&mut self, id: &Id, response: Response) -> Result<(), WatchError> {
        if self.listen_id.as_ref() != Some(id) {
            return Ok(());
        }
        match response.outcome {
            Outcome::Ok(_) => {
                self.progress.listening = true;
                eprintln!(
                    "note: listening for {} at {}",
                    self.opts.inbox, self.opts.server
                );
                Ok(())
            }
            // A busy server may take us later; a refusal is final.
            Outcome::Error(e) if e.error_type.is_transient() => {
                Err(WatchError::ListenDeferred(e.into()))
            }
            Outcome::Error(e) => Err(WatchError::ListenRefused(e.into())),
        }
    }

    fn on_command(&mut self, id: &Id, command: Command, now: Instant) -> Result<(), WatchError> {
        let outcome = match command {
            Command::Send(m) => {
                // Printed before acknowledged: an ok means the text was
                // handed on. If stdout is gone we leave without an ok and
                // the server keeps the message.
                Notification::new(&m, now_ms())
                    .write_to(self.out, self.opts.json)
                    .map_err(WatchError::Output)?;
                self.progress.printed += 1;
                if self.opts.count.is_some_and(|c| self.progress.printed >= c) {
                    self.stop = Some(Ok(End::CountReached));
                }
                Outcome::ok()
            }
            // Section 14.2: go and reconnect (ours is the same server).
            Command::Shutdown(_) => {
                self.stop = Some(Err(WatchError::Shutdown));
                Outcome::ok()
            }
            other => Outcome::error(
                ErrorType::UnknownMethod,
                format!("{} is not accepted by a watching client", other.method()),
            ),
        };
        self.conn
            .respond(id, &outcome, now)
            .map_err(WatchError::Send)
    }
}
