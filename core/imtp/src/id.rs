//! Command ids: `id = 1*(ALPHA / DIGIT)` (section 10).

use crate::error::SyntaxError;
use crate::syntax::is_alnum;
use std::fmt;

/// A command id. Grammar-checked on construction; the configurable length
/// limit is applied by the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

impl Id {
    pub fn parse(s: &str) -> Result<Id, SyntaxError> {
        if s.is_empty() {
            return Err(SyntaxError::new("id", "empty"));
        }
        if !s.bytes().all(is_alnum) {
            return Err(SyntaxError::new(
                "id",
                "only letters and digits are allowed",
            ));
        }
        Ok(Id(s.to_owned()))
    }

    /// The id our allocator uses for sequence number `n` (decimal, the
    /// draft's own suggestion).
    pub fn from_seq(n: u64) -> Id {
        Id(n.to_string())
    }

    /// The sequence number if this id is one our allocator could have made.
    pub(crate) fn as_seq(&self) -> Option<u64> {
        if self.0.len() > 1 && self.0.starts_with('0') {
            return None;
        }
        self.0.parse().ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert!(Id::parse("A3X").is_ok());
        assert!(Id::parse("").is_err());
        assert!(Id::parse("a-b").is_err());
        assert_eq!(Id::from_seq(42).as_seq(), Some(42));
        assert_eq!(Id::parse("042").map(|i| i.as_seq()), Ok(None));
    }
}
