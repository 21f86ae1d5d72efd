//! The alert as output handles it: an owned copy of an `Alert` frame, so it
//! can wait in queues and spools after the frame's buffer is reused, and the
//! priority scale with Falco's names.
//!
//! Rendering is not here ([`crate::format`]), nor delivery ([`crate::sink`]).

use std::fmt;
use std::str::FromStr;

use schema::FrameError;
use serde::{Deserialize, Serialize};

/// Falco's priorities, most severe first, so `a <= b` means "a is at least
/// as severe as b".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
}

impl Priority {
    /// Falco's spelling, as in its text and JSON outputs.
    pub fn name(self) -> &'static str {
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

    /// The syslog severity (RFC 5424), which uses the same scale.
    pub fn severity(self) -> u8 {
        self as u8
    }

    /// Whether an alert of this priority passes a sink's minimum.
    pub fn at_least(self, minimum: Priority) -> bool {
        self <= minimum
    }
}

impl From<schema::Priority> for Priority {
    fn from(p: schema::Priority) -> Self {
        match p {
            schema::Priority::Emergency => Priority::Emergency,
            schema::Priority::Alert => Priority::Alert,
            schema::Priority::Critical => Priority::Critical,
            schema::Priority::Error => Priority::Error,
            schema::Priority::Warning => Priority::Warning,
            schema::Priority::Notice => Priority::Notice,
            schema::Priority::Informational => Priority::Informational,
            schema::Priority::Debug => Priority::Debug,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Priority {
    type Err = String;

    /// Case-insensitive, with Falco's aliases (`info`, `warn`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = match s.to_ascii_lowercase().as_str() {
            "emergency" | "emerg" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" | "crit" => Priority::Critical,
            "error" | "err" => Priority::Error,
            "warning" | "warn" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => {
                return Err(format!(
                    "unknown priority {s:?} (expected emergency, alert, critical, error, warning, notice, informational or debug)"
                ))
            }
        };
        Ok(p)
    }
}

impl<'de> serde::de::Deserialize<'de> for PriorityName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(PriorityName)
            .map_err(serde::de::Error::custom)
    }
}

/// A priority as users spell it in the config file ("warning", "INFO").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityName(pub Priority);

/// One alert, owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Time of the event that raised it, ns since the Unix epoch.
    pub time_ns: u64,
    pub rule: String,
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
    /// The rule's output, formatted by evaluate.
    pub output: String,
    /// Output fields in the rule's order; absent values are "<NA>".
    pub fields: Vec<(String, String)>,
    pub hostname: String,
    /// When evaluate read the event (ns since the epoch; 0 if unknown), for
    /// measuring latency up to delivery.
    #[serde(default)]
    pub eval_ts_ns: u64,
}

impl Alert {
    /// Copies an `Alert` frame read at byte `offset`.
    pub fn from_frame(a: schema::alert::Reader<'_>, offset: u64) -> Result<Alert, FrameError> {
        let bad = |e: capnp::Error| FrameError::corrupt(offset, e);
        let text = |r: capnp::Result<capnp::text::Reader<'_>>| -> Result<String, FrameError> {
            Ok(String::from_utf8_lossy(r.map_err(bad)?.as_bytes()).into_owned())
        };
        let priority = a
            .get_priority()
            .map_err(|e| FrameError::corrupt(offset, format!("unknown alert priority {}", e.0)))?;
        let mut tags = Vec::new();
        for t in a.get_tags().map_err(bad)?.iter() {
            tags.push(text(t)?);
        }
        let mut fields = Vec::new();
        for f in a.get_fields().map_err(bad)?.iter() {
            fields.push((text(f.get_name())?, text(f.get_value())?));
        }
        Ok(Alert {
            time_ns: a.get_time_ns(),
            rule: text(a.get_rule())?,
            priority: priority.into(),
            source: text(a.get_source())?,
            tags,
            output: text(a.get_output())?,
            fields,
            hostname: text(a.get_hostname())?,
            eval_ts_ns: a.get_eval_ts_ns(),
        })
    }

    /// An alert raised by output itself (drops, rate limiting, spool loss).
    pub fn internal(
        rule: &str,
        priority: Priority,
        output: String,
        fields: Vec<(String, String)>,
    ) -> Alert {
        Alert {
            time_ns: schema::now_ns(),
            rule: rule.to_string(),
            priority,
            source: "internal".to_string(),
            tags: Vec::new(),
            output,
            fields,
            hostname: schema::hostname(),
            eval_ts_ns: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_order_by_severity_and_parse_falco_spellings() {
        assert!(Priority::Critical.at_least(Priority::Warning));
        assert!(Priority::Warning.at_least(Priority::Warning));
        assert!(!Priority::Notice.at_least(Priority::Warning));
        assert_eq!("INFO".parse::<Priority>(), Ok(Priority::Informational));
        assert_eq!("Warning".parse::<Priority>(), Ok(Priority::Warning));
        assert!("loud".parse::<Priority>().is_err());
        assert_eq!(Priority::Emergency.severity(), 0);
        assert_eq!(Priority::Debug.severity(), 7);
    }
}
