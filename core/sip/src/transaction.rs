//! Server transaction identity, for recognising UDP retransmissions
//! (RFC 3261 §17.2.3).

use crate::{Method, Request};

/// Identifies the server transaction a request belongs to. Keep a map from
/// key to the response sent, and answer a retransmission with the same
/// bytes instead of processing it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionKey {
    /// Top Via carries a `z9hG4bK` branch: branch + sent-by + method.
    Branch {
        branch: String,
        /// Lower-cased host, `:port` when present.
        sent_by: String,
        method: String,
    },
    /// RFC 2543 peer without a magic-cookie branch: Call-ID, CSeq and
    /// From-tag (RFC 3261 §17.2.3 lists more fields; these are enough for a
    /// UAS that answers at once, and stable under proxies rewriting the
    /// Request-URI).
    Legacy {
        call_id: String,
        cseq: u32,
        method: String,
        from_tag: String,
    },
}

impl TransactionKey {
    pub fn of(req: &Request<'_>) -> TransactionKey {
        // ACK matches the INVITE transaction it acknowledges (§17.2.3).
        let method = match req.cseq().method {
            Method::Ack => Method::Invite.as_str(),
            m => m.as_str(),
        }
        .to_owned();
        let via = req.top_via();
        match via.branch().filter(|_| via.has_rfc3261_branch()) {
            Some(branch) => {
                let mut sent_by = via.host().to_ascii_lowercase();
                if let Some(p) = via.port() {
                    sent_by.push(':');
                    sent_by.push_str(&p.to_string());
                }
                TransactionKey::Branch {
                    branch: branch.to_owned(),
                    sent_by,
                    method,
                }
            }
            None => TransactionKey::Legacy {
                call_id: req.call_id().to_owned(),
                cseq: req.cseq().number,
                method,
                from_tag: req.from_tag().unwrap_or("").to_owned(),
            },
        }
    }
}
