//! Origination points (section 11.2): `Error-Originator` and `Unreliable`.

use crate::encoder::Sink;
use crate::error::SyntaxError;
use crate::url::{Domain, Url};
use std::fmt;

/// A domain means "a server of that domain"; a URL means "a client acting
/// for that URL". A colon tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    Domain(Domain),
    Url(Url),
}

impl Origin {
    pub fn parse(s: &str) -> Result<Origin, SyntaxError> {
        if s.contains(':') {
            Url::parse(s).map(Origin::Url)
        } else {
            Domain::parse(s).map(Origin::Domain)
        }
    }

    pub(crate) fn write_to<S: Sink>(&self, s: &mut S) {
        match self {
            Origin::Domain(d) => s.put(d.as_str().as_bytes()),
            Origin::Url(u) => u.write_to(s),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Domain(d) => d.fmt(f),
            Origin::Url(u) => u.fmt(f),
        }
    }
}
