//! Who is listening on which inbox (IMTP `listen`, section 16.1). Listening is what
//! "present" means for PITP and for the subscriptions' presence policy.

use std::collections::HashMap;
use tocsin_imtp::{Listen, Url};
use tocsin_sdk::Handle;

#[derive(Default)]
pub struct Listeners {
    /// Inbox identity (normalised) → the connections listening on it.
    by_inbox: HashMap<String, Vec<(Handle, Listen)>>,
    by_conn: HashMap<Handle, Vec<String>>,
}

impl Listeners {
    /// Registers (or replaces, when the connection already listens on this inbox)
    /// a listen. True when the inbox had no listener before.
    pub fn listen(&mut self, conn: Handle, identity: &str, listen: Listen) -> bool {
        let list = self.by_inbox.entry(identity.to_string()).or_default();
        let was_empty = list.is_empty();
        match list.iter_mut().find(|(h, _)| *h == conn) {
            Some(slot) => slot.1 = listen,
            None => {
                list.push((conn, listen));
                self.by_conn
                    .entry(conn)
                    .or_default()
                    .push(identity.to_string());
            }
        }
        was_empty
    }

    /// Forgets a closed connection; returns the inboxes nobody listens on any more.
    pub fn drop_connection(&mut self, conn: Handle) -> Vec<String> {
        let mut gone = Vec::new();
        for identity in self.by_conn.remove(&conn).unwrap_or_default() {
            if let Some(list) = self.by_inbox.get_mut(&identity) {
                list.retain(|(h, _)| *h != conn);
                if list.is_empty() {
                    self.by_inbox.remove(&identity);
                    gone.push(identity);
                }
            }
        }
        gone
    }

    /// The connections whose filters accept a message from `sender`.
    pub fn accepting(&self, identity: &str, sender: &Url) -> Vec<Handle> {
        self.by_inbox
            .get(identity)
            .map(|l| {
                l.iter()
                    .filter(|(_, listen)| listen.accepts(sender))
                    .map(|(h, _)| *h)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_present(&self, identity: &str) -> bool {
        self.by_inbox.contains_key(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_imtp::Pattern;

    #[test]
    fn presence_follows_connections_and_filters_apply() {
        let mut l = Listeners::default();
        let inbox = Url::parse("im:alice@example.org").expect("url");
        let a = Handle(1);
        let b = Handle(2);
        assert!(l.listen(a, "alice@example.org", Listen::new(inbox.clone())));
        let mut only = Listen::new(inbox);
        only.only = vec![Pattern::parse("im:*@work.example", tocsin_imtp::Scheme::Im).expect("p")];
        assert!(!l.listen(b, "alice@example.org", only));
        let boss = Url::parse("im:boss@work.example").expect("url");
        let spam = Url::parse("im:x@spam.example").expect("url");
        assert_eq!(l.accepting("alice@example.org", &boss), vec![a, b]);
        assert_eq!(l.accepting("alice@example.org", &spam), vec![a]);
        assert!(l.drop_connection(a).is_empty());
        assert_eq!(l.drop_connection(b), vec!["alice@example.org".to_string()]);
        assert!(!l.is_present("alice@example.org"));
    }
}
