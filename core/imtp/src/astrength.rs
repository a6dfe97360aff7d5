//! The `Astrength` header (section 11.4).

use crate::error::SyntaxError;

/// Authentication strength of the path a message took, weakest first so
/// that `min` is "the weaker of".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Astrength {
    None,
    Weak,
    Medium,
    Strong,
}

impl Astrength {
    /// Case-sensitive: the draft spells each value in hex.
    pub fn parse(s: &str) -> Result<Astrength, SyntaxError> {
        match s {
            "strong" => Ok(Astrength::Strong),
            "medium" => Ok(Astrength::Medium),
            "weak" => Ok(Astrength::Weak),
            "none" => Ok(Astrength::None),
            _ => Err(SyntaxError::new(
                "Astrength",
                "expected strong, medium, weak or none",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Astrength::Strong => "strong",
            Astrength::Medium => "medium",
            Astrength::Weak => "weak",
            Astrength::None => "none",
        }
    }

    /// What a relay forwards: the weaker of the received value (absent =
    /// strong, the sender being the originator) and its own link's.
    pub fn relayed(received: Option<Astrength>, link: Astrength) -> Astrength {
        received.unwrap_or(Astrength::Strong).min(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weaker_wins() {
        assert_eq!(
            Astrength::relayed(None, Astrength::Medium),
            Astrength::Medium
        );
        assert_eq!(
            Astrength::relayed(Some(Astrength::None), Astrength::Strong),
            Astrength::None
        );
        assert!(Astrength::parse("Strong").is_err());
    }
}
