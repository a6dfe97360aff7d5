//! The server role for our own domains: IM clients authenticate and `listen` on
//! their inbox; servers listed in `relay_peers` relay `send`s into our domains,
//! which we push to the listeners and answer when they have.

use crate::identity;
use crate::plugin::Imtp;
use crate::push::Origin;
use std::time::Instant;
use tocsin_imtp::{
    Astrength, Command, ErrorType, Event, Id, Listen, MechName, Outcome, PlainCredentials,
    PlainVerdict, SendMessage,
};
use tocsin_sdk::Handle;

/// Relays beyond this many hops are loops (docs/imtp.md §8).
const MAX_HOPS: usize = 16;

impl Imtp {
    fn verify_plain(&mut self, c: &PlainCredentials) -> PlainVerdict {
        let who = identity::normalise(&c.authcid);
        let checker = &mut self.secrets;
        let known = self
            .settings
            .server
            .as_ref()
            .and_then(|s| s.users.get(&who))
            .is_some_and(|secret| checker.matches(secret, &c.password));
        let authz = identity::normalise(c.requested_identity());
        if known && (c.authzid.is_empty() || authz == who) {
            PlainVerdict::Accept { identity: who }
        } else {
            PlainVerdict::Reject {
                description: "authentication failed".into(),
            }
        }
    }

    /// How strongly the peer on `h` is authenticated (docs/imtp.md §8): a
    /// verified client certificate (EXTERNAL) is strong, a password over
    /// TLS medium, anything on a plaintext listener (loopback only) weak.
    fn link_strength(&self, h: Handle) -> Astrength {
        let tls = self
            .settings
            .server
            .as_ref()
            .is_some_and(|s| s.tls.is_some());
        let mechanism = self
            .links
            .get(&h)
            .and_then(|l| l.session.conn.auth_mechanism())
            .map(|m| m.as_str().to_string());
        match (tls, mechanism.as_deref()) {
            (false, _) => Astrength::Weak,
            (true, Some(MechName::EXTERNAL)) => Astrength::Strong,
            (true, Some(_)) => Astrength::Medium,
            (true, None) => Astrength::None,
        }
    }

    fn identity_of(&self, h: Handle) -> Option<String> {
        self.links
            .get(&h)
            .and_then(|l| l.session.conn.identity())
            .map(identity::normalise)
    }

    pub(crate) fn respond(&mut self, h: Handle, id: &Id, outcome: Outcome) {
        if let Some(link) = self.links.get_mut(&h) {
            if let Err(e) = link.session.conn.respond(id, &outcome, Instant::now()) {
                log::warn!("cannot answer {id} on {}: {e}", link.session.peer);
            }
            self.mark(h);
        }
    }

    pub(crate) fn server_event(&mut self, h: Handle, e: Event) {
        match e {
            Event::VerifyPlain(c) => {
                let verdict = self.verify_plain(&c);
                if let PlainVerdict::Reject { .. } = &verdict {
                    log::info!("PLAIN authentication of {:?} refused", c.authcid);
                }
                if let Some(link) = self.links.get_mut(&h) {
                    let _ = link.session.conn.complete_plain(verdict, Instant::now());
                }
            }
            Event::Authenticated {
                identity,
                mechanism,
            } => {
                log::debug!("{h:?} authenticated as {identity:?} ({mechanism})");
            }
            Event::AuthFailed(e) => log::info!("authentication failed: {e:?}"),
            Event::Command { id, command } => match command {
                Command::Listen(l) => self.on_listen(h, &id, l),
                Command::Send(m) => self.on_inbound_send(h, id, m),
                other => {
                    let o = Outcome::error(
                        ErrorType::UnknownMethod,
                        format!("{} is not served here", other.method()),
                    );
                    self.respond(h, &id, o);
                }
            },
            Event::Response { id, response } => {
                if !self.push_answered(h, &id, response.outcome) {
                    log::debug!("response {id} on {h:?} matches no push");
                }
            }
            Event::Mechanisms(_) => {}
        }
    }

    fn on_listen(&mut self, h: Handle, id: &Id, l: Listen) {
        let Some(inbox) = identity::of_url(&l.inbox) else {
            let o = Outcome::error(ErrorType::TargetNotFound, "not an im: inbox");
            return self.respond(h, id, o);
        };
        let served = l
            .inbox
            .address()
            .is_some_and(|a| self.settings.serves(a.domain()));
        if !served {
            let o = Outcome::error(ErrorType::TargetNotFound, "no such inbox here");
            return self.respond(h, id, o);
        }
        if self.identity_of(h).as_deref() != Some(inbox.as_str()) {
            let o = Outcome::error(
                ErrorType::TargetAuthorization,
                "you may only listen on your own inbox",
            );
            return self.respond(h, id, o);
        }
        let became_present = self.listeners.listen(h, &inbox, l);
        self.respond(h, id, Outcome::ok());
        if became_present {
            self.presence_changed(&inbox, true);
        }
    }

    fn on_inbound_send(&mut self, h: Handle, id: Id, m: SendMessage) {
        let peer = self.identity_of(h).unwrap_or_default();
        let allowed = self
            .settings
            .server
            .as_ref()
            .is_some_and(|s| s.relay_peers.contains(&peer));
        if !allowed {
            let o = Outcome::error(
                ErrorType::SourceAuthorization,
                "this identity may not relay messages here",
            );
            return self.respond(h, &id, o);
        }
        if m.visited.is_loop(&self.settings.own_names(), MAX_HOPS) {
            let o = Outcome::error(ErrorType::Loop, "the message has already passed here");
            return self.respond(h, &id, o);
        }
        let inbox = identity::of_url(&m.inbox);
        let served = m
            .inbox
            .address()
            .is_some_and(|a| self.settings.serves(a.domain()));
        let Some(inbox) = inbox.filter(|_| served) else {
            // We serve our own domains only; we are not an open relay.
            let o = Outcome::error(ErrorType::TargetNotFound, "no such inbox here");
            return self.respond(h, &id, o);
        };
        let mut m = m;
        m.visited = m.visited.appended(self.settings.name.clone());
        m.meta.astrength = Some(Astrength::relayed(m.meta.astrength, self.link_strength(h)));
        self.push(&inbox, m, Origin::Inbound { conn: h, id });
    }

    pub(crate) fn server_closed(&mut self, h: Handle, reason: &str) {
        log::debug!("IMTP connection {h:?} closed: {reason}");
        for inbox in self.listeners.drop_connection(h) {
            self.presence_changed(&inbox, false);
        }
        self.push_conn_lost(h);
    }
}
