//! The pipeline's health as output sees it: the latest in-band stats frame
//! of every stage instance, and output's own counts of the alerts it read.
//!
//! Counter naming, shared by the stages: `events` is what a stage counted
//! through it (capture: events captured; `events_in` and `events_evaluated`
//! are read too, as enrich and evaluate name it); `drops.REASON` (or
//! `drops_REASON`) counts events lost for REASON; any other name is
//! exported as is.
//!
//! Rendering for Prometheus is [`crate::metrics`]; not here.

use std::collections::BTreeMap;

use crate::alert::{Alert, Priority};

/// Identifies one stage instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageKey {
    pub stage: String,
    pub instance: String,
    pub hostname: String,
}

/// One stats frame, owned.
#[derive(Debug, Clone)]
pub struct StageStats {
    pub key: StageKey,
    pub time_ns: u64,
    pub counters: Vec<(String, u64)>,
}

impl StageStats {
    /// Copies a stats frame; undecodable names are skipped, not fatal.
    pub fn from_frame(s: schema::stats::Reader<'_>) -> capnp::Result<StageStats> {
        let text = |r: capnp::Result<capnp::text::Reader<'_>>| -> capnp::Result<String> {
            Ok(String::from_utf8_lossy(r?.as_bytes()).into_owned())
        };
        let stage = match s.get_stage() {
            Ok(st) => stage_name(st).to_string(),
            Err(e) => format!("stage{}", e.0),
        };
        let mut counters = Vec::new();
        for c in s.get_counters()?.iter() {
            counters.push((text(c.get_name())?, c.get_value()));
        }
        Ok(StageStats {
            key: StageKey {
                stage,
                instance: text(s.get_instance())?,
                hostname: text(s.get_hostname())?,
            },
            time_ns: s.get_time_ns(),
            counters,
        })
    }

    /// Events counted through the stage: the `events` counter, or else the
    /// first of the names the stages use today for what they took in.
    pub fn events(&self) -> Option<u64> {
        EVENT_COUNTERS
            .iter()
            .find_map(|want| self.counters.iter().find(|(n, _)| n == want))
            .map(|(_, v)| *v)
    }

    /// Drops by reason. A bare `drops` counter is reason "all", used only
    /// when no per-reason counter exists, so nothing is counted twice.
    pub fn drops(&self) -> Vec<(String, u64)> {
        let per_reason: Vec<(String, u64)> = self
            .counters
            .iter()
            .filter_map(|(n, v)| drop_reason(n).map(|r| (r.to_string(), *v)))
            .collect();
        if !per_reason.is_empty() {
            return per_reason;
        }
        self.counters
            .iter()
            .filter(|(n, _)| n == "drops")
            .map(|(_, v)| ("all".to_string(), *v))
            .collect()
    }
}

/// Counter names that mean "events through this stage", by preference:
/// capture's `events`, enrich's `events_in`, evaluate's `events_evaluated`.
const EVENT_COUNTERS: [&str; 4] = [
    "events",
    "events_in",
    "events_evaluated",
    "events_processed",
];

/// The schema's name of a stage, as `--raw` spells it.
pub fn stage_name(stage: schema::Stage) -> &'static str {
    match stage {
        schema::Stage::Unknown => "unknown",
        schema::Stage::Capture => "capture",
        schema::Stage::Enrich => "enrich",
        schema::Stage::Evaluate => "evaluate",
        schema::Stage::Output => "output",
    }
}

/// REASON of a `drops.REASON` / `drops_REASON` counter.
pub fn drop_reason(name: &str) -> Option<&str> {
    name.strip_prefix("drops.")
        .or_else(|| name.strip_prefix("drops_"))
        .filter(|r| !r.is_empty())
}

/// Everything output has learnt about the pipeline.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub stages: BTreeMap<StageKey, StageStats>,
    pub alerts: BTreeMap<(String, Priority), u64>,
    pub alerts_total: u64,
    pub suppressed: u64,
    pub internal_alerts: u64,
    pub frames_ignored: u64,
}

impl PipelineStats {
    pub fn record_stats(&mut self, s: StageStats) {
        self.stages.insert(s.key.clone(), s);
    }

    pub fn record_alert(&mut self, a: &Alert) {
        self.alerts_total += 1;
        // Bounded by the ruleset; a producer inventing names could grow it,
        // so past the limit alerts are counted under one name.
        let rule = if self.alerts.len() >= crate::ratelimit::MAX_TRACKED_RULES
            && !self.alerts.contains_key(&(a.rule.clone(), a.priority))
        {
            "(other)".to_string()
        } else {
            a.rule.clone()
        };
        *self.alerts.entry((rule, a.priority)).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_prefer_reasons() {
        let s = StageStats {
            key: StageKey {
                stage: "capture".into(),
                instance: String::new(),
                hostname: "h".into(),
            },
            time_ns: 0,
            counters: vec![
                ("events".into(), 100),
                ("drops".into(), 7),
                ("drops.ringbuf_full".into(), 5),
                ("drops_too_long".into(), 2),
            ],
        };
        assert_eq!(s.events(), Some(100));
        let enrich = StageStats {
            counters: vec![("events_out".into(), 9), ("events_in".into(), 10)],
            ..s.clone()
        };
        assert_eq!(enrich.events(), Some(10));
        assert_eq!(
            s.drops(),
            vec![("ringbuf_full".to_string(), 5), ("too_long".to_string(), 2)]
        );
    }
}
