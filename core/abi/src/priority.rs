use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Five levels, as ntfy and the S2S protocol use them; stored as 1..=5.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Min = 1,
    Low = 2,
    #[default]
    Normal = 3,
    High = 4,
    Urgent = 5,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::Min,
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Validates a number that arrived from outside (ABI, wire, database).
    pub fn from_u8(v: u8) -> Option<Priority> {
        match v {
            1 => Some(Priority::Min),
            2 => Some(Priority::Low),
            3 => Some(Priority::Normal),
            4 => Some(Priority::High),
            5 => Some(Priority::Urgent),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Min => "min",
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid priority {0:?}: expected 1..5 or min, low, normal, high, urgent")]
pub struct ParsePriorityError(pub String);

impl FromStr for Priority {
    type Err = ParsePriorityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Ok(n) = t.parse::<u8>() {
            return Priority::from_u8(n).ok_or_else(|| ParsePriorityError(s.to_string()));
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(t))
            .or(match t.to_ascii_lowercase().as_str() {
                "default" => Some(Priority::Normal),
                "max" => Some(Priority::Urgent),
                _ => None,
            })
            .ok_or_else(|| ParsePriorityError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_and_numbers() {
        assert_eq!("urgent".parse::<Priority>(), Ok(Priority::Urgent));
        assert_eq!("HIGH".parse::<Priority>(), Ok(Priority::High));
        assert_eq!("1".parse::<Priority>(), Ok(Priority::Min));
        assert!("0".parse::<Priority>().is_err());
        assert!("6".parse::<Priority>().is_err());
        assert!("loud".parse::<Priority>().is_err());
        for p in Priority::ALL {
            assert_eq!(Priority::from_u8(p.as_u8()), Some(p));
        }
    }
}
