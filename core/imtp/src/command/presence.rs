//! The PITP commands a remote gateway must understand (section 15):
//! fetch, subscribe, unsubscribe, change-notify, terminate-notify. Other
//! PITP methods travel as [`super::CommandBody`].

use super::fields::{Fields, Meta, content_type, subscription_header, url_header, write_meta};
use crate::encoder::{Sink, finish};
use crate::error::{EncodeError, MessageError};
use crate::header::names;
use crate::subscription::Subscription;
use crate::url::{Scheme, Url};

const P: Scheme = Scheme::Presence;

/// `fetch`: Watcher (source), Presentity (target). The ok carries the PI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub watcher: Url,
    pub presentity: Url,
    pub meta: Meta,
}

/// `subscribe` / `unsubscribe`: Subscription (source), Presentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub subscription: Subscription,
    pub presentity: Url,
    pub meta: Meta,
}

/// `change-notify`: Presentity, Subscription, new PI as payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeNotify {
    pub presentity: Url,
    pub subscription: Subscription,
    /// `None`: the PITP default `application/presence`.
    pub content_type: Option<String>,
    pub payload: Vec<u8>,
    pub meta: Meta,
}

/// `terminate-notify`: Presentity, Subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateNotify {
    pub presentity: Url,
    pub subscription: Subscription,
    pub meta: Meta,
}

impl Fetch {
    pub(crate) fn parse(mut f: Fields) -> Result<Fetch, MessageError> {
        Ok(Fetch {
            watcher: f.url(names::WATCHER, P)?,
            presentity: f.url(names::PRESENTITY, P)?,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        url_header(s, names::WATCHER, &self.watcher);
        url_header(s, names::PRESENTITY, &self.presentity);
        write_meta(s, &self.meta)?;
        finish(s, None);
        Ok(())
    }
}

impl Subscribe {
    pub(crate) fn parse(mut f: Fields) -> Result<Subscribe, MessageError> {
        Ok(Subscribe {
            subscription: f.subscription()?,
            presentity: f.url(names::PRESENTITY, P)?,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        subscription_header(s, &self.subscription)?;
        url_header(s, names::PRESENTITY, &self.presentity);
        write_meta(s, &self.meta)?;
        finish(s, None);
        Ok(())
    }
}

impl ChangeNotify {
    pub(crate) fn parse(
        mut f: Fields,
        payload: Option<Vec<u8>>,
    ) -> Result<ChangeNotify, MessageError> {
        Ok(ChangeNotify {
            presentity: f.url(names::PRESENTITY, P)?,
            subscription: f.subscription()?,
            content_type: f.first(names::CONTENT_TYPE),
            payload: payload.ok_or(MessageError::MissingPayload)?,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        url_header(s, names::PRESENTITY, &self.presentity);
        subscription_header(s, &self.subscription)?;
        content_type(s, self.content_type.as_deref())?;
        write_meta(s, &self.meta)?;
        finish(s, Some(&self.payload));
        Ok(())
    }
}

impl TerminateNotify {
    pub(crate) fn parse(mut f: Fields) -> Result<TerminateNotify, MessageError> {
        Ok(TerminateNotify {
            presentity: f.url(names::PRESENTITY, P)?,
            subscription: f.subscription()?,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        url_header(s, names::PRESENTITY, &self.presentity);
        subscription_header(s, &self.subscription)?;
        write_meta(s, &self.meta)?;
        finish(s, None);
        Ok(())
    }
}
