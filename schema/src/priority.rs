//! Alert priorities as people write and read them: Falco's names for the
//! wire enum [`Priority`], the one parser every stage and tool uses
//! (rules files, `--min-priority`, config files, subscription filters),
//! and the severity order.
//!
//! The scale is syslog's (RFC 5424 severities 0–7), most severe first, as
//! the enum's ordinals are: `Emergency` is 0, `Debug` 7. So [`Ord`] puts
//! the more severe priority first (`Critical < Warning`), and
//! [`Priority::at_least`] is the question filters ask.
//!
//! It is not a place for what a priority means to a sink (colours,
//! thresholds): that is the renderer's and the stages' business.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub use crate::kestrel_capnp::Priority;

/// Every priority, most severe first.
pub const ALL: [Priority; 8] = [
    Priority::Emergency,
    Priority::Alert,
    Priority::Critical,
    Priority::Error,
    Priority::Warning,
    Priority::Notice,
    Priority::Informational,
    Priority::Debug,
];

/// A priority name no spelling matches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown priority `{0}` (expected emergency, alert, critical, error, warning, notice, informational or debug)"
)]
pub struct UnknownPriority(pub String);

impl Priority {
    /// Falco's spelling, as in its text and JSON outputs: `Warning`.
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// Parses a priority, ignoring case and surrounding whitespace. Falco
    /// accepts its names and `info`; the syslog abbreviations (`emerg`,
    /// `crit`, `err`, `warn`) are accepted too, since operators type them.
    pub fn parse(s: &str) -> Result<Priority, UnknownPriority> {
        let p = match s.trim().to_ascii_lowercase().as_str() {
            "emergency" | "emerg" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" | "crit" => Priority::Critical,
            "error" | "err" => Priority::Error,
            "warning" | "warn" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return Err(UnknownPriority(s.to_string())),
        };
        Ok(p)
    }

    /// The RFC 5424 severity, the same scale: `Emergency` 0 … `Debug` 7.
    pub const fn severity(self) -> u8 {
        self as u8
    }

    /// Whether this priority is `minimum` or more severe: the test of every
    /// `--min-priority` and `priority:LEVEL` filter.
    pub fn at_least(self, minimum: Priority) -> bool {
        self.severity() <= minimum.severity()
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Most severe first, as the ordinals: `Emergency < Debug`.
impl Ord for Priority {
    fn cmp(&self, other: &Self) -> Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl std::hash::Hash for Priority {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.severity().hash(state)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Priority {
    type Err = UnknownPriority;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_falco_spellings_in_any_case() {
        for p in ALL {
            assert_eq!(Priority::parse(p.name()), Ok(p));
            assert_eq!(Priority::parse(&p.name().to_uppercase()), Ok(p));
            assert_eq!(p.to_string().parse::<Priority>(), Ok(p));
        }
        for (s, p) in [
            ("info", Priority::Informational),
            ("INFO", Priority::Informational),
            ("crit", Priority::Critical),
            ("err", Priority::Error),
            ("Warn", Priority::Warning),
            ("emerg", Priority::Emergency),
            (" notice ", Priority::Notice),
        ] {
            assert_eq!(Priority::parse(s), Ok(p), "{s}");
        }
        let e = Priority::parse("loud").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown priority `loud` (expected emergency, alert, critical, error, warning, notice, informational or debug)"
        );
        assert!(Priority::parse("").is_err());
    }

    #[test]
    fn orders_most_severe_first() {
        assert!(Priority::Critical < Priority::Warning);
        assert!(Priority::Critical.at_least(Priority::Warning));
        assert!(Priority::Warning.at_least(Priority::Warning));
        assert!(!Priority::Notice.at_least(Priority::Warning));
        assert_eq!(Priority::Emergency.severity(), 0);
        assert_eq!(Priority::Debug.severity(), 7);
        let mut sorted = ALL;
        sorted.reverse();
        sorted.sort();
        assert_eq!(sorted, ALL);
    }
}
