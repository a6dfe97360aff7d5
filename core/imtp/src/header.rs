//! Header lists: ordered, case-sensitive names, repeats kept.

/// Header names the draft defines (section 11). Names are case-sensitive
/// (section 10): `AStrength` is *not* `Astrength`.
pub mod names {
    pub const ABORT: &str = "Abort";
    pub const ASTRENGTH: &str = "Astrength";
    pub const CONTENT_LENGTH: &str = "Content-Length";
    pub const CONTENT_TRANSFER_ENCODING: &str = "Content-Transfer-Encoding";
    pub const CONTENT_TYPE: &str = "Content-Type";
    pub const ERROR_DESCRIPTION: &str = "Error-Description";
    pub const ERROR_ORIGINATOR: &str = "Error-Originator";
    pub const ERROR_TYPE: &str = "Error-Type";
    pub const EXCEPT: &str = "Except";
    pub const INBOX: &str = "Inbox";
    pub const MAPPING: &str = "Mapping";
    pub const MECHANISM: &str = "Mechanism";
    pub const ONLY: &str = "Only";
    pub const ORIG_INBOX: &str = "Orig-Inbox";
    pub const ORIG_SENDER: &str = "Orig-Sender";
    pub const PRESENTITY: &str = "Presentity";
    pub const SENDER: &str = "Sender";
    pub const SUBSCRIPTION: &str = "Subscription";
    pub const UNRELIABLE: &str = "Unreliable";
    pub const VISITED: &str = "Visited";
    pub const WATCHER: &str = "Watcher";
    pub const WPATTERN: &str = "Wpattern";
}

/// One header. The value is unfolded (CRLFs of folding removed, the
/// whitespace kept) and trimmed of leading and trailing WSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Headers in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header::new(name, value));
    }

    /// The first value: what counts for a header that must not repeat.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|h| h.name == name)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Header> {
        self.0
    }

    pub(crate) fn iter_mut(&mut self) -> std::slice::IterMut<'_, Header> {
        self.0.iter_mut()
    }

    pub(crate) fn last_mut(&mut self) -> Option<&mut Header> {
        self.0.last_mut()
    }

    pub(crate) fn retain(&mut self, f: impl FnMut(&Header) -> bool) {
        self.0.retain(f)
    }
}

impl From<Vec<Header>> for Headers {
    fn from(v: Vec<Header>) -> Headers {
        Headers(v)
    }
}
