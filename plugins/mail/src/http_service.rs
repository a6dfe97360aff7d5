//! Driving the HTTP codec for each connection: requests in, emits out, answers back in
//! request order, output written with backpressure, the codec's timers on host timers.

use crate::http_route::{Route, route};
use crate::plugin::{MailSource, Origin, Pending};
use crate::responses;
use std::time::Instant;
use tocsin_httpcodec::{HttpError, Request, Response, TimeoutEvent};
use tocsin_sdk::{Handle, HostError, TimerId};

impl MailSource {
    /// Parse what the connection has buffered, act on each request, then write, pause or
    /// resume reading, close, and re-arm the timer as the codec says.
    pub(crate) fn service(&mut self, conn: Handle) {
        loop {
            let now = Instant::now();
            let next = match self.conns.get_mut(&conn) {
                Some(c) => c.codec.next_request(now),
                None => return,
            };
            match next {
                None => break,
                Some(Ok(req)) => self.request(conn, req),
                Some(Err(e)) => self.protocol_error(conn, &e),
            }
        }
        self.flush(conn);
    }

    fn request(&mut self, conn: Handle, req: Request) {
        self.stats.http_requests += 1;
        let (routed, retry) = match &self.settings.http {
            Some(http) => (route(&self.settings, http, &req), http.retry_after_secs),
            None => return,
        };
        match routed {
            Route::Answer(resp) => {
                if resp.status() >= 400 {
                    self.stats.http_refused += 1;
                    self.log_refusal(conn, &req, &resp);
                } else {
                    self.stats.ignored += 1;
                }
                self.respond(conn, req.seq, resp);
            }
            Route::Emit(ev) => {
                let token = self.token();
                match self.host.emit(&ev, token) {
                    Ok(()) => {
                        log::debug!(
                            "{} {} → emitted {}",
                            req.method,
                            req.target,
                            ev.source_event_id
                        );
                        self.pending.insert(
                            token,
                            Pending {
                                origin: Origin::Http { conn, seq: req.seq },
                                key: ev.source_event_id,
                            },
                        );
                    }
                    Err(HostError::Rejected) => {
                        self.stats.http_refused += 1;
                        let resp = responses::emit_refused();
                        self.log_refusal(conn, &req, &resp);
                        self.respond(conn, req.seq, resp);
                    }
                    Err(e) => {
                        log::error!("emit failed: {e}");
                        self.respond(
                            conn,
                            req.seq,
                            responses::unavailable(retry, &format!("emit failed: {e}")),
                        );
                    }
                }
            }
        }
    }

    pub(crate) fn respond(&mut self, conn: Handle, seq: u64, resp: Response) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if let Err(e) = c.codec.respond(seq, resp, Instant::now()) {
                // Only a bookkeeping bug can cause this; the request stays unanswered and
                // the connection's timers end it.
                log::error!("cannot answer request {seq} from {}: {e}", c.peer);
            }
        }
    }

    fn protocol_error(&mut self, conn: Handle, e: &HttpError) {
        self.stats.http_refused += 1;
        let peer = self
            .conns
            .get(&conn)
            .map(|c| c.peer.clone())
            .unwrap_or_default();
        if let Some(suppressed) = self.input_log.allow(Instant::now()) {
            log::info!(
                "HTTP {} to {peer}: {e}{}",
                e.status(),
                suppressed_note(suppressed)
            );
        }
    }

    fn log_refusal(&mut self, conn: Handle, req: &Request, resp: &Response) {
        let Some(suppressed) = self.input_log.allow(Instant::now()) else {
            return;
        };
        let peer = self.conns.get(&conn).map(|c| c.peer.as_str()).unwrap_or("");
        let why = serde_json::from_slice::<serde_json::Value>(resp.body())
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_default();
        log::info!(
            "HTTP {} to {peer} for {} {}: {why}{}",
            resp.status(),
            req.method,
            req.path(),
            suppressed_note(suppressed)
        );
    }

    /// Write pending output, then align reading, closing and the timer with the codec.
    fn flush(&mut self, conn: Handle) {
        let host = self.host;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        if !c.write_blocked {
            let out = c.codec.pending_output();
            let n = out.len();
            if n > 0 {
                match host.send(conn, out) {
                    Ok(()) => c.codec.consume_output(n),
                    Err(HostError::WouldBlock) => c.write_blocked = true,
                    Err(e) => {
                        // The host reports the close through on_closed.
                        log::debug!("send to {} failed: {e}", c.peer);
                        c.closing = true;
                        let _ = host.close(conn);
                        return;
                    }
                }
            }
        }
        // Stop reading while the codec holds max_in_flight unanswered requests or the
        // peer is not reading our answers: a client cannot make us buffer without bound.
        let want_read = c.codec.wants_read() && !c.write_blocked;
        if want_read == c.read_paused && host.set_read_paused(conn, !want_read).is_ok() {
            c.read_paused = !want_read;
        }
        if c.codec.should_close() {
            c.closing = true;
            // The host writes what it has queued before closing.
            let _ = host.close(conn);
            return;
        }
        self.arm(conn);
    }

    /// At most one host timer per connection: re-armed only when the codec's next
    /// deadline is earlier than the armed one. A later deadline is picked up when the
    /// armed timer fires, so a busy keep-alive connection does not create a timer per
    /// request.
    fn arm(&mut self, conn: Handle) {
        let now = Instant::now();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(deadline) = c.codec.next_timeout() else {
            return;
        };
        if let Some((_, at)) = c.timer {
            if at <= deadline {
                return;
            }
        }
        if let Some((old, _)) = c.timer.take() {
            let _ = self.host.cancel_timer(old);
            self.timers.remove(&old);
        }
        // +1 ms: firing a hair early would only re-arm.
        let ms = deadline.saturating_duration_since(now).as_millis() + 1;
        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
        match self.host.timer(ms) {
            Ok(t) => {
                c.timer = Some((t, now + std::time::Duration::from_millis(ms)));
                self.timers.insert(t, conn);
            }
            Err(e) => log::warn!("cannot arm a timer for {}: {e}", c.peer),
        }
    }

    pub(crate) fn timer_fired(&mut self, conn: Handle, timer: TimerId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.timer.is_some_and(|(t, _)| t == timer) {
            c.timer = None;
        }
        match c.codec.on_timeout(Instant::now()) {
            Some(TimeoutEvent::RequestTimeout(e)) => {
                let peer = c.peer.clone();
                self.stats.http_refused += 1;
                if let Some(s) = self.input_log.allow(Instant::now()) {
                    log::info!("HTTP 408 to {peer}: {e}{}", suppressed_note(s));
                }
            }
            Some(TimeoutEvent::IdleClose) => log::debug!("idle connection from {} closed", c.peer),
            None => {}
        }
        self.service(conn);
    }
}

pub(crate) fn suppressed_note(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} similar messages suppressed)")
    }
}
