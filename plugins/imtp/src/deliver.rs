//! Where a delivery goes: an inbox in one of our domains is pushed to its listeners;
//! any other domain is relayed to that domain's IMTP server.

use crate::identity;
use crate::payload;
use crate::plugin::Imtp;
use crate::push::Origin;
use tocsin_imtp::{Scheme, Url};
use tocsin_sdk::{Delivery, Outcome};

impl Imtp {
    pub(crate) fn route(&mut self, d: &Delivery<'_>) {
        let inbox = match Url::parse_or(d.target.trim(), Scheme::Im) {
            Ok(u) if u.address_in(Scheme::Im).is_some() => u,
            _ => {
                let o = Outcome::Permanent {
                    reason: format!("target {:?} is not an im: address", d.target),
                };
                return self.answer(d.delivery_id, &o);
            }
        };
        let Some(address) = inbox.address().cloned() else {
            return;
        };
        let msg = payload::send_message(d, &self.settings.sender, &inbox, self.host.now_unix_ms());
        if self.settings.server.is_some() && self.settings.serves(address.domain()) {
            let Some(who) = identity::of_url(&inbox) else {
                return;
            };
            self.watchers.remember_spelling(&who, d.target);
            if !self.listeners.is_present(&who) {
                // Lets a "hold" or "escalate" subscription act before the next attempt.
                let _ = self.host.report_presence(d.target, false);
            }
            self.push(&who, msg, Origin::Delivery(d.delivery_id));
        } else {
            let domain = address.domain().as_str().to_ascii_lowercase();
            self.relay_send(&domain, d.delivery_id, msg);
        }
    }
}
