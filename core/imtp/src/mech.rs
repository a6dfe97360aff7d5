//! SASL mechanism names: `mechname = 1*20(ALPHA / DIGIT / "-" / "_")`.

use crate::error::SyntaxError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MechName(String);

impl MechName {
    pub const PLAIN: &'static str = "PLAIN";
    pub const EXTERNAL: &'static str = "EXTERNAL";

    pub fn parse(s: &str) -> Result<MechName, SyntaxError> {
        if s.is_empty() || s.len() > 20 {
            return Err(SyntaxError::new(
                "mechanism name",
                "must be 1 to 20 characters",
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SyntaxError::new(
                "mechanism name",
                "only letters, digits, '-' and '_'",
            ));
        }
        Ok(MechName(s.to_owned()))
    }

    pub fn plain() -> MechName {
        MechName(Self::PLAIN.to_owned())
    }

    pub fn external() -> MechName {
        MechName(Self::EXTERNAL.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MechName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
