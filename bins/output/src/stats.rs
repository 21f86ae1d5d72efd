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
    /// Every counter, as (name, value), for the generic listing.
    pub counters: Vec<(String, u64)>,
    /// The first counter of kind `events`: what went through the stage.
    pub events: Option<u64>,
    /// The counters of kind `drops`, as (reason, value).
    pub drops: Vec<(String, u64)>,
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
        let mut events = None;
        let mut drops = Vec::new();
        for c in s.get_counters()?.iter() {
            let name = text(c.get_name())?;
            let value = c.get_value();
            match stage::Kind::from_wire(c.get_kind()) {
                stage::Kind::Events if events.is_none() => events = Some(value),
                stage::Kind::Drops => drops.push((text(c.get_reason())?, value)),
                _ => {}
            }
            counters.push((name, value));
        }
        Ok(StageStats {
            key: StageKey {
                stage,
                instance: text(s.get_instance())?,
                hostname: text(s.get_hostname())?,
            },
            time_ns: s.get_time_ns(),
            counters,
            events,
            drops,
        })
    }
}

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
