//! What a `send` response means for a notification (docs/imtp.md,
//! "Delivery outcomes").

use crate::error_type::ErrorType;
use crate::origin::Origin;
use crate::response::Outcome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The inbox received it. `unreliable` names the point past which a
    /// gateway could not confirm final delivery (record it);
    /// `auto_reply` is a "vacation"-style payload.
    Delivered {
        unreliable: Option<Origin>,
        auto_reply: Option<Vec<u8>>,
    },
    /// Temporary: try again later (with backoff).
    RetryLater(ErrorType),
    /// Permanent: give up and report.
    Failed(ErrorType),
}

impl Outcome {
    pub fn delivery(&self) -> Delivery {
        match self {
            Outcome::Ok(r) => Delivery::Delivered {
                unreliable: r.unreliable.clone(),
                auto_reply: r.payload.clone().filter(|p| !p.is_empty()),
            },
            Outcome::Error(e) if e.error_type.is_transient() => {
                Delivery::RetryLater(e.error_type.clone())
            }
            Outcome::Error(e) => Delivery::Failed(e.error_type.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_table() {
        let d = |t: ErrorType| Outcome::error(t, "x").delivery();
        for t in [
            ErrorType::NoListeners,
            ErrorType::Communications,
            ErrorType::Resources,
            ErrorType::Quota,
        ] {
            assert_eq!(d(t.clone()), Delivery::RetryLater(t));
        }
        for t in [
            ErrorType::TargetNotFound,
            ErrorType::TargetAuthorization,
            ErrorType::Loop,
            ErrorType::Malformed,
            ErrorType::SourceAuthorization,
            ErrorType::Other("auth".into()),
        ] {
            assert_eq!(d(t.clone()), Delivery::Failed(t));
        }
        assert_eq!(
            Outcome::ok().delivery(),
            Delivery::Delivered {
                unreliable: None,
                auto_reply: None
            }
        );
    }
}
