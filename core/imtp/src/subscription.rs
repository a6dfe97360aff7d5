//! The PITP `Subscription` header (section 11.7).

use crate::encoder::Sink;
use crate::error::SyntaxError;
use crate::url::{Scheme, Url};

/// `connection-id "/" url`. Clients leave the connection id empty; the
/// watcher's server fills it in towards other servers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// `*(ALPHA / DIGIT)`, possibly empty.
    pub connection_id: String,
    pub watcher: Url,
}

impl Subscription {
    pub fn new(connection_id: &str, watcher: Url) -> Result<Subscription, SyntaxError> {
        if !connection_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SyntaxError::new("connection id", "only letters and digits"));
        }
        Ok(Subscription {
            connection_id: connection_id.to_owned(),
            watcher,
        })
    }

    pub fn parse(s: &str) -> Result<Subscription, SyntaxError> {
        let (cid, url) = s
            .split_once('/')
            .ok_or(SyntaxError::new("Subscription", "expected id/url"))?;
        let url = Url::parse_or(crate::syntax::trim_wsp(url), Scheme::Presence)?;
        Subscription::new(crate::syntax::trim_wsp(cid), url)
    }

    pub(crate) fn write_to<S: Sink>(&self, s: &mut S) -> Result<(), SyntaxError> {
        // The field is public, so re-check what could break the syntax.
        if !self
            .connection_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(SyntaxError::new("connection id", "only letters and digits"));
        }
        s.put(self.connection_id.as_bytes());
        s.put(b"/");
        self.watcher.write_to(s);
        Ok(())
    }
}
