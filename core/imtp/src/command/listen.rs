//! IMTP `listen` (section 16.1). The draft has no `unlisten`: re-issuing
//! `listen` replaces the filters, and closing the connection ends it.

use super::fields::{Fields, Meta, url_header, write_meta};
use crate::encoder::{Sink, finish};
use crate::error::{EncodeError, MessageError};
use crate::header::names;
use crate::pattern::Pattern;
use crate::url::{Scheme, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub inbox: Url,
    /// If any: deliver only senders matching one of these.
    pub only: Vec<Pattern>,
    /// Never deliver senders matching one of these.
    pub except: Vec<Pattern>,
    pub meta: Meta,
}

impl Listen {
    pub fn new(inbox: Url) -> Listen {
        Listen {
            inbox,
            only: Vec::new(),
            except: Vec::new(),
            meta: Meta::default(),
        }
    }

    /// Whether this listener receives messages from `sender`.
    pub fn accepts(&self, sender: &Url) -> bool {
        (self.only.is_empty() || self.only.iter().any(|p| p.matches(sender)))
            && !self.except.iter().any(|p| p.matches(sender))
    }

    pub(crate) fn parse(mut f: Fields) -> Result<Listen, MessageError> {
        let patterns = |f: &mut Fields, name: &'static str| -> Result<Vec<Pattern>, MessageError> {
            f.all(name)
                .iter()
                .map(|v| {
                    Pattern::parse(v, Scheme::Im)
                        .map_err(|error| MessageError::InvalidHeader { name, error })
                })
                .collect()
        };
        Ok(Listen {
            inbox: f.url(names::INBOX, Scheme::Im)?,
            only: patterns(&mut f, names::ONLY)?,
            except: patterns(&mut f, names::EXCEPT)?,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        url_header(s, names::INBOX, &self.inbox);
        for (name, list) in [(names::ONLY, &self.only), (names::EXCEPT, &self.except)] {
            for p in list {
                s.put(name.as_bytes());
                s.put(b": ");
                p.write_to(s);
                s.put(b"\r\n");
            }
        }
        write_meta(s, &self.meta)?;
        finish(s, None);
        Ok(())
    }
}
