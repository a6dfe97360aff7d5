//! PITP for our users' presence (section 15): `fetch`, `subscribe` / `unsubscribe`,
//! and `change-notify` to subscribers whenever a user starts or stops listening.
//! Listening on the IMTP inbox is what "available" means. Presence documents are
//! PIDF (RFC 3863).

use crate::identity;
use crate::plugin::Imtp;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use tocsin_imtp::{
    ChangeNotify, Command, ErrorType, Event, Id, Meta, OkReply, Outcome, Scheme, Subscription, Url,
};
use tocsin_sdk::Handle;

pub const PIDF: &str = "application/pidf+xml";

/// Target strings remembered per identity, so presence reaches the subscriptions
/// that spell the address differently from `im:<identity>`.
const MAX_SPELLINGS: usize = 8;

#[derive(Default)]
pub struct Watchers {
    by_presentity: HashMap<String, Vec<(Handle, Subscription)>>,
    /// Our unanswered change-notifies.
    notifies: HashMap<(Handle, Id), (String, Subscription)>,
    /// Delivery target strings seen per identity.
    pub spellings: HashMap<String, BTreeSet<String>>,
}

impl Watchers {
    pub fn drop_connection(&mut self, conn: Handle) {
        self.by_presentity.retain(|_, l| {
            l.retain(|(h, _)| *h != conn);
            !l.is_empty()
        });
        self.notifies.retain(|(h, _), _| *h != conn);
    }

    fn remove(&mut self, conn: Handle, presentity: &str, s: &Subscription) -> bool {
        let Some(l) = self.by_presentity.get_mut(presentity) else {
            return false;
        };
        let before = l.len();
        l.retain(|(h, x)| !(*h == conn && x == s));
        let removed = l.len() != before;
        if l.is_empty() {
            self.by_presentity.remove(presentity);
        }
        removed
    }

    pub fn remember_spelling(&mut self, identity: &str, target: &str) {
        let set = self.spellings.entry(identity.to_string()).or_default();
        if set.len() < MAX_SPELLINGS {
            set.insert(target.to_string());
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A PIDF document for `identity`.
pub fn pidf(identity: &str, available: bool) -> Vec<u8> {
    let id = xml_escape(identity);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:{id}\"><tuple id=\"imtp\"><status><basic>{}</basic></status><contact>im:{id}</contact></tuple></presence>\n",
        if available { "open" } else { "closed" }
    )
    .into_bytes()
}

/// Why a PITP request is refused (kept small; becomes an error response).
struct Refusal(ErrorType, &'static str);

impl Imtp {
    fn presence_ok(&self, identity: &str) -> Outcome {
        Outcome::Ok(OkReply {
            content_type: Some(PIDF.into()),
            payload: Some(pidf(identity, self.listeners.is_present(identity))),
            ..OkReply::default()
        })
    }

    /// Whether the connection's identity may watch `presentity` for `watcher`:
    /// our own users for themselves, relay peers for anyone.
    fn may_watch(&self, h: Handle, watcher: &Url) -> Result<(), Refusal> {
        let who = self
            .links
            .get(&h)
            .and_then(|l| l.session.conn.identity())
            .map(identity::normalise)
            .unwrap_or_default();
        let peer = self
            .settings
            .server
            .as_ref()
            .is_some_and(|s| s.relay_peers.contains(&who));
        let own_user = who
            .rsplit_once('@')
            .and_then(|(_, d)| tocsin_imtp::Domain::parse(d).ok())
            .is_some_and(|d| self.settings.serves(&d));
        if peer || (own_user && identity::of_url(watcher).as_deref() == Some(who.as_str())) {
            Ok(())
        } else {
            Err(Refusal(
                ErrorType::SourceAuthorization,
                "this identity may not watch for that watcher",
            ))
        }
    }

    fn presentity(&self, u: &Url) -> Result<String, Refusal> {
        let served = u
            .address_in(Scheme::Presence)
            .is_some_and(|a| self.settings.serves(a.domain()));
        match identity::of_url(u) {
            Some(i) if served => Ok(i),
            _ => Err(Refusal(
                ErrorType::TargetNotFound,
                "no such presentity here",
            )),
        }
    }

    pub(crate) fn pitp_event(&mut self, h: Handle, e: Event) {
        match e {
            Event::Command { id, command } => {
                let answer = self.pitp_command(h, command);
                self.respond(h, &id, answer);
            }
            Event::Response { id, response } => {
                if let Some((p, s)) = self.watchers.notifies.remove(&(h, id)) {
                    let gone = matches!(
                        &response.outcome,
                        Outcome::Error(e) if e.error_type == ErrorType::NotSubscribed
                    );
                    if gone {
                        self.watchers.remove(h, &p, &s);
                    }
                }
            }
            // Authentication is the same as on the IMTP port.
            other => self.server_event(h, other),
        }
    }

    fn pitp_command(&mut self, h: Handle, c: Command) -> Outcome {
        let r = match c {
            Command::Fetch(f) => self
                .may_watch(h, &f.watcher)
                .and_then(|()| self.presentity(&f.presentity))
                .map(|p| self.presence_ok(&p)),
            Command::Subscribe(s) => self
                .may_watch(h, &s.subscription.watcher)
                .and_then(|()| self.presentity(&s.presentity))
                .map(|p| {
                    let list = self.watchers.by_presentity.entry(p.clone()).or_default();
                    if !list.iter().any(|(c, x)| *c == h && *x == s.subscription) {
                        list.push((h, s.subscription));
                    }
                    self.presence_ok(&p)
                }),
            Command::Unsubscribe(s) => self.presentity(&s.presentity).map(|p| {
                if self.watchers.remove(h, &p, &s.subscription) {
                    Outcome::ok()
                } else {
                    Outcome::error(ErrorType::NotSubscribed, "no such subscription")
                }
            }),
            other => {
                return Outcome::error(
                    ErrorType::UnknownMethod,
                    format!("{} is not served here", other.method()),
                );
            }
        };
        r.unwrap_or_else(|Refusal(t, why)| Outcome::error(t, why))
    }

    /// A user started or stopped listening: tell the delivery engine (for the
    /// subscriptions' presence policy) and every PITP subscriber.
    pub(crate) fn presence_changed(&mut self, identity: &str, available: bool) {
        let mut targets = self
            .watchers
            .spellings
            .get(identity)
            .cloned()
            .unwrap_or_default();
        targets.insert(identity::im_address(identity));
        targets.insert(identity.to_string());
        for t in targets {
            let _ = self.host.report_presence(&t, available);
        }
        let Ok(presentity) = Url::parse(&format!("presence:{identity}")) else {
            return;
        };
        let subs = self
            .watchers
            .by_presentity
            .get(identity)
            .cloned()
            .unwrap_or_default();
        let now = Instant::now();
        for (h, s) in subs {
            let cmd = Command::ChangeNotify(ChangeNotify {
                presentity: presentity.clone(),
                subscription: s.clone(),
                content_type: Some(PIDF.into()),
                payload: pidf(identity, available),
                meta: Meta::default(),
            });
            let Some(link) = self.links.get_mut(&h) else {
                continue;
            };
            match link.session.conn.send_command(&cmd, now) {
                Ok(id) => {
                    self.watchers
                        .notifies
                        .insert((h, id), (identity.to_string(), s));
                    self.mark(h);
                }
                Err(e) => log::warn!("change-notify to {}: {e}", link.session.peer),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pidf_is_escaped() {
        let d = String::from_utf8(pidf("a<b@example.org", true)).expect("utf8");
        assert!(d.contains("entity=\"pres:a&lt;b@example.org\""));
        assert!(d.contains("<basic>open</basic>"));
        let c = String::from_utf8(pidf("a@example.org", false)).expect("utf8");
        assert!(c.contains("<basic>closed</basic>"));
    }
}
