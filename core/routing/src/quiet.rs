//! Quiet hours: a daily window in a time zone during which notifications
//! below a priority are held until the window ends, or dropped.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use tocsin_abi::Priority;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuietAction {
    /// Deliver when the window ends.
    Hold,
    /// Do not deliver at all (the delivery is recorded as expired).
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// "HH:MM" local time; the window may cross midnight (22:00–07:00).
    pub start: String,
    pub end: String,
    /// IANA zone, e.g. "Europe/Berlin".
    pub tz: String,
    pub action: QuietAction,
    /// Events at or above this priority ignore quiet hours.
    #[serde(default = "urgent")]
    pub bypass_priority: Priority,
}

fn urgent() -> Priority {
    Priority::Urgent
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietVerdict {
    Deliver,
    HoldUntil(i64),
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietError {
    #[error("time {0:?} is not HH:MM")]
    BadTime(String),
    #[error("unknown time zone {0:?}")]
    BadZone(String),
    #[error("quiet hours start and end are equal")]
    Empty,
}

fn parse_time(s: &str) -> Result<Time, QuietError> {
    let bad = || QuietError::BadTime(s.to_string());
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

impl QuietHours {
    pub fn validate(&self) -> Result<(), QuietError> {
        let s = parse_time(&self.start)?;
        let e = parse_time(&self.end)?;
        if s == e {
            return Err(QuietError::Empty);
        }
        TimeZone::get(&self.tz).map_err(|_| QuietError::BadZone(self.tz.clone()))?;
        Ok(())
    }

    /// What to do with a notification of `priority` at `now_ms`.
    pub fn verdict(&self, now_ms: i64, priority: Priority) -> Result<QuietVerdict, QuietError> {
        if priority >= self.bypass_priority {
            return Ok(QuietVerdict::Deliver);
        }
        let start = parse_time(&self.start)?;
        let end = parse_time(&self.end)?;
        let tz = TimeZone::get(&self.tz).map_err(|_| QuietError::BadZone(self.tz.clone()))?;
        let now = Timestamp::from_millisecond(now_ms)
            .map_err(|_| QuietError::BadTime(now_ms.to_string()))?
            .to_zoned(tz.clone());
        let t = now.time();
        let inside = if start < end {
            t >= start && t < end
        } else {
            t >= start || t < end
        };
        if !inside {
            return Ok(QuietVerdict::Deliver);
        }
        match self.action {
            QuietAction::Drop => Ok(QuietVerdict::Drop),
            QuietAction::Hold => {
                // The window ends today at `end` if we are before it,
                // otherwise tomorrow (an overnight window, evening side).
                let mut date = now.date();
                if t >= end {
                    date = date
                        .tomorrow()
                        .map_err(|_| QuietError::BadTime(now.to_string()))?;
                }
                let until: Zoned = date
                    .to_datetime(end)
                    .to_zoned(tz)
                    .map_err(|_| QuietError::BadTime(now.to_string()))?;
                Ok(QuietVerdict::HoldUntil(until.timestamp().as_millisecond()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn q(action: QuietAction) -> QuietHours {
        QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
            tz: "Europe/Berlin".into(),
            action,
            bypass_priority: Priority::Urgent,
        }
    }

    #[test]
    fn overnight_window_in_a_zone() {
        let h = q(QuietAction::Hold);
        // 12:00 UTC = 13:00 Berlin (winter): outside.
        assert_eq!(
            h.verdict(ms("2026-01-15T12:00:00Z"), Priority::Normal),
            Ok(QuietVerdict::Deliver)
        );
        // 22:30 UTC = 23:30 Berlin: inside, held until 07:00 Berlin next day = 06:00 UTC.
        assert_eq!(
            h.verdict(ms("2026-01-15T22:30:00Z"), Priority::Normal),
            Ok(QuietVerdict::HoldUntil(ms("2026-01-16T06:00:00Z")))
        );
        // 04:00 UTC = 05:00 Berlin: inside, until 06:00 UTC the same day.
        assert_eq!(
            h.verdict(ms("2026-01-16T04:00:00Z"), Priority::Low),
            Ok(QuietVerdict::HoldUntil(ms("2026-01-16T06:00:00Z")))
        );
        // Urgent bypasses.
        assert_eq!(
            h.verdict(ms("2026-01-16T04:00:00Z"), Priority::Urgent),
            Ok(QuietVerdict::Deliver)
        );
        // Summer time: 07:00 Berlin = 05:00 UTC.
        assert_eq!(
            h.verdict(ms("2026-07-01T01:00:00Z"), Priority::Normal),
            Ok(QuietVerdict::HoldUntil(ms("2026-07-01T05:00:00Z")))
        );
        let d = q(QuietAction::Drop);
        assert_eq!(
            d.verdict(ms("2026-01-16T04:00:00Z"), Priority::High),
            Ok(QuietVerdict::Drop)
        );
    }

    #[test]
    fn daytime_window_and_validation() {
        let mut h = q(QuietAction::Hold);
        h.start = "12:00".into();
        h.end = "13:30".into();
        h.tz = "UTC".into();
        assert_eq!(
            h.verdict(ms("2026-03-03T12:10:00Z"), Priority::Normal),
            Ok(QuietVerdict::HoldUntil(ms("2026-03-03T13:30:00Z")))
        );
        assert_eq!(
            h.verdict(ms("2026-03-03T13:30:00Z"), Priority::Normal),
            Ok(QuietVerdict::Deliver)
        );
        assert!(h.validate().is_ok());
        h.tz = "Mars/Olympus".into();
        assert!(matches!(h.validate(), Err(QuietError::BadZone(_))));
        h.tz = "UTC".into();
        h.start = "25:00".into();
        assert!(h.validate().is_err());
        h.start = "13:30".into();
        assert_eq!(h.validate(), Err(QuietError::Empty));
    }
}
