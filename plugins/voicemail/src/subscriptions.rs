//! Our SUBSCRIBE dialogs with voicemail servers: the glue between the
//! sans-IO `tocsin_sip::Subscription` and the host's UDP socket and timers.

use std::time::Instant;

use tocsin_sdk::{Handle, TimerId};
use tocsin_sip::{
    HashIds, NotifyMatch, Request, SipMessage, Subscription, SubscriptionEvent, TagSecret,
};

use crate::config::SubscribeSettings;
use crate::io::Io;

struct Sub {
    /// `ip:port` the SUBSCRIBEs go to.
    server: String,
    /// The subscribed resource: the account of NOTIFYs without
    /// Message-Account.
    uri: String,
    client: Subscription,
    timer: Option<TimerId>,
}

pub struct Subscriptions {
    subs: Vec<Sub>,
    ids: HashIds,
    udp: Option<Handle>,
}

/// How an in-dialog NOTIFY fared against our subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogMatch {
    /// New NOTIFY of subscription to `uri`: process it.
    Accepted { uri: String },
    /// Answer with this status and do nothing else.
    Answer(NotifyMatch),
}

impl Subscriptions {
    /// `udp`: the socket requests are sent from (and answers arrive on).
    pub fn new(
        settings: &[SubscribeSettings],
        udp: Option<(Handle, &str, u16)>,
        secret: TagSecret,
    ) -> Subscriptions {
        let host = udp.map(|(_, h, _)| h.to_owned()).unwrap_or_default();
        let mut subs = Vec::new();
        if let Some((_, contact_host, port)) = udp {
            for s in settings {
                match Subscription::new(s.client_config(contact_host, port)) {
                    Ok(client) => subs.push(Sub {
                        server: s.server.to_string(),
                        uri: s.uri.clone(),
                        client,
                        timer: None,
                    }),
                    // Validated with the config; only a changed port could
                    // make it fail here.
                    Err(e) => log::error!("subscription to {} not started: {e}", s.uri),
                }
            }
        }
        Subscriptions {
            subs,
            ids: HashIds::new(secret, &host),
            udp: udp.map(|(h, _, _)| h),
        }
    }

    pub fn start_all(&mut self, io: &mut dyn Io, now: Instant) {
        for i in 0..self.subs.len() {
            log::info!(
                "subscribing to message-summary of {} at {}",
                self.subs[i].uri,
                self.subs[i].server
            );
            self.subs[i].client.start(now, &mut self.ids);
            self.drive(io, now, i);
        }
    }

    /// Unsubscribes (Expires: 0), best effort: sent once, not retried, as
    /// the instance is going away.
    pub fn stop_all(&mut self, io: &mut dyn Io, now: Instant) {
        for i in 0..self.subs.len() {
            self.subs[i].client.unsubscribe(now, &mut self.ids);
            self.drive(io, now, i);
        }
    }

    /// A response arrived; `false` if it answers none of our requests.
    pub fn on_response(&mut self, io: &mut dyn Io, now: Instant, msg: &SipMessage<'_>) -> bool {
        for i in 0..self.subs.len() {
            if self.subs[i].client.on_response(msg, now, &mut self.ids) {
                self.drive(io, now, i);
                return true;
            }
        }
        false
    }

    /// Matches an in-dialog NOTIFY against every subscription.
    pub fn on_notify(&mut self, io: &mut dyn Io, now: Instant, req: &Request<'_>) -> DialogMatch {
        for i in 0..self.subs.len() {
            let m = self.subs[i].client.on_notify(req, now);
            if m == NotifyMatch::NoMatch {
                continue;
            }
            // A terminated NOTIFY may have scheduled a new SUBSCRIBE.
            self.drive(io, now, i);
            return match m {
                NotifyMatch::Accepted => DialogMatch::Accepted {
                    uri: self.subs[i].uri.clone(),
                },
                other => DialogMatch::Answer(other),
            };
        }
        DialogMatch::Answer(NotifyMatch::NoMatch)
    }

    /// `true` if the timer was one of ours.
    pub fn on_timer(&mut self, io: &mut dyn Io, now: Instant, t: TimerId) -> bool {
        let Some(i) = self.subs.iter().position(|s| s.timer == Some(t)) else {
            return false;
        };
        self.subs[i].timer = None;
        self.subs[i].client.on_timeout(now, &mut self.ids);
        self.drive(io, now, i);
        true
    }

    /// Sends what the client queued, reports its events, re-arms its timer.
    fn drive(&mut self, io: &mut dyn Io, now: Instant, i: usize) {
        let Some(udp) = self.udp else { return };
        let sub = &mut self.subs[i];
        while let Some(bytes) = sub.client.poll_transmit() {
            io.send_datagram(udp, &bytes, &sub.server);
        }
        while let Some(ev) = sub.client.poll_event() {
            match ev {
                SubscriptionEvent::Accepted { expires } => {
                    log::info!("subscription to {} active for {expires} s", sub.uri)
                }
                SubscriptionEvent::Terminated { reason, retry_at } => {
                    let when = retry_at.map_or_else(
                        || "not retrying".to_owned(),
                        |at| {
                            format!(
                                "retrying in {} s",
                                at.saturating_duration_since(now).as_secs()
                            )
                        },
                    );
                    log::warn!("subscription to {} ended ({reason:?}); {when}", sub.uri);
                }
            }
        }
        if let Some(t) = sub.timer.take() {
            io.cancel_timer(t);
        }
        if let Some(at) = sub.client.next_timeout() {
            // Round up: a timer that fires a hair early finds nothing due
            // and would have to be re-armed at 0 ms.
            let d = at.saturating_duration_since(now);
            let ms = d
                .as_millis()
                .saturating_add(u128::from(d.subsec_nanos() % 1_000_000 != 0));
            sub.timer = io.set_timer(u64::try_from(ms).unwrap_or(u64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tests::FakeIo;
    use std::time::Duration;
    use tocsin_sip::{Limits, parse_datagram};

    fn settings(expires: u32) -> Vec<SubscribeSettings> {
        vec![SubscribeSettings {
            server: "192.0.2.10:5060".parse().unwrap(),
            uri: "sip:*97@pbx.example.org".into(),
            from: None,
            expires,
            retry_interval: Duration::from_secs(5),
        }]
    }

    fn header<'a>(msg: &'a SipMessage<'a>, name: &str) -> &'a str {
        msg.header(name).unwrap_or("")
    }

    /// The server's 200 to the SUBSCRIBE in `req`.
    fn ok_for(req: &[u8], expires: u32) -> Vec<u8> {
        let m = parse_datagram(req, &Limits::default()).unwrap();
        format!(
            "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=srv\r\nCall-ID: {}\r\nCSeq: {}\r\nExpires: {expires}\r\nContact: <sip:pbx@192.0.2.10>\r\nContent-Length: 0\r\n\r\n",
            header(&m, "Via"),
            header(&m, "From"),
            header(&m, "To"),
            header(&m, "Call-ID"),
            header(&m, "CSeq"),
        )
        .into_bytes()
    }

    #[test]
    fn subscribe_accept_refresh_and_notify_matching() {
        let mut io = FakeIo::default();
        let mut s = Subscriptions::new(
            &settings(120),
            Some((Handle(1), "192.0.2.1", 5060)),
            TagSecret::new([3; 16]),
        );
        let t0 = Instant::now();
        s.start_all(&mut io, t0);
        let sent = io.take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "192.0.2.10:5060");
        let req = sent[0].1.clone();
        assert!(req.starts_with(b"SUBSCRIBE sip:*97@pbx.example.org SIP/2.0\r\n"));
        let text = String::from_utf8_lossy(&req).to_string();
        assert!(
            text.contains("Contact: <sip:tocsin@192.0.2.1:5060>"),
            "{text}"
        );
        assert!(text.contains("Expires: 120"), "{text}");
        // A retransmission timer is armed (UDP).
        assert!(!io.timers.is_empty());

        let ok = ok_for(&req, 120);
        let resp = parse_datagram(&ok, &Limits::default()).unwrap();
        assert!(s.on_response(&mut io, t0, &resp));
        // Refresh timer at refresh_delay(120) = 88 s.
        let (timer, ms) = *io.timers.last().unwrap();
        assert_eq!(ms, 88_000);

        // An in-dialog NOTIFY from the server matches.
        let m = parse_datagram(&req, &Limits::default()).unwrap();
        let from = header(&m, "From").to_owned();
        let call_id = header(&m, "Call-ID").to_owned();
        let notify = format!(
            "NOTIFY sip:tocsin@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKn1\r\nFrom: <sip:*97@pbx.example.org>;tag=srv\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\nSubscription-State: active;expires=100\r\nContent-Length: 0\r\n\r\n"
        );
        let nm = parse_datagram(notify.as_bytes(), &Limits::default()).unwrap();
        let req_view = Request::new(&nm).unwrap();
        assert_eq!(
            s.on_notify(&mut io, t0, &req_view),
            DialogMatch::Accepted {
                uri: "sip:*97@pbx.example.org".into()
            }
        );
        assert_eq!(
            s.on_notify(&mut io, t0, &req_view),
            DialogMatch::Answer(NotifyMatch::Retransmission)
        );
        // Refresh fires: a SUBSCRIBE in the same dialog.
        let t1 = t0 + Duration::from_millis(ms);
        let timer_now = io.timers.last().unwrap().0;
        assert!(!s.on_timer(&mut io, t1, TimerId(9999)));
        assert!(s.on_timer(&mut io, t1, timer_now));
        let _ = timer;
        let refresh = io.take_sent();
        assert_eq!(refresh.len(), 1);
        let r = String::from_utf8_lossy(&refresh[0].1).to_string();
        assert!(r.contains(&format!("Call-ID: {call_id}")), "{r}");
        assert!(r.contains(";tag=srv"), "refresh is in-dialog: {r}");
        assert!(r.contains("CSeq: 2 SUBSCRIBE"), "{r}");
    }

    #[test]
    fn foreign_dialogs_do_not_match() {
        let mut io = FakeIo::default();
        let mut s = Subscriptions::new(
            &settings(3600),
            Some((Handle(1), "192.0.2.1", 5060)),
            TagSecret::new([3; 16]),
        );
        s.start_all(&mut io, Instant::now());
        let notify = "NOTIFY sip:tocsin@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=x\r\nTo: <sip:c@d>;tag=y\r\nCall-ID: other\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\nContent-Length: 0\r\n\r\n";
        let nm = parse_datagram(notify.as_bytes(), &Limits::default()).unwrap();
        let req = Request::new(&nm).unwrap();
        assert_eq!(
            s.on_notify(&mut io, Instant::now(), &req),
            DialogMatch::Answer(NotifyMatch::NoMatch)
        );
    }
}
