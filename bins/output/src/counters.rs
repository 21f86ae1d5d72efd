//! output's own counters, as `output ctl stats` answers them: alerts read,
//! suppressed and raised by output itself, frames ignored, and per sink
//! what was delivered, failed, refused, dropped and is still waiting; and
//! the live subscriptions (`output ctl subscribe`). output is the last
//! stage, so these travel in no `stats` frame: the control socket and
//! /metrics ([`crate::metrics`]) are where they are read.
//!
//! Names follow the stages' convention: dotted, lower case, cumulative
//! except the `queued`/`spooled`/`subscribers` gauges.
//!
//! It is not a place for the pipeline's other stages' counters (those are
//! in [`crate::stats`]).

use std::sync::atomic::Ordering;

use crate::pipeline::Pipeline;

/// output's counters now, as (name, value).
pub fn counters(p: &Pipeline) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    {
        let st = p.stats();
        out.extend([
            ("alerts".to_string(), st.alerts_total),
            ("alerts.suppressed".to_string(), st.suppressed),
            ("alerts.internal".to_string(), st.internal_alerts),
            ("frames_ignored".to_string(), st.frames_ignored),
        ]);
    }
    for s in p.sinks() {
        let d = s.queue.depth();
        for (what, v) in [
            ("delivered", s.stats.delivered.load(Ordering::Relaxed)),
            ("failures", s.stats.failures.load(Ordering::Relaxed)),
            ("refused", s.stats.refused.load(Ordering::Relaxed)),
            ("dropped", d.dropped),
            ("queued", d.memory),
            ("spooled", d.spooled),
        ] {
            out.push((format!("sink.{}.{what}", s.name), v));
        }
    }
    if let Some(f) = schema::control::stage::feed_totals() {
        out.extend([
            ("subscribers".to_string(), f.subscribers),
            ("subscribers.sent".to_string(), f.sent),
            ("subscribers.dropped".to_string(), f.dropped),
        ]);
    }
    out
}

/// Hands the counters to the control socket (a no-op without --control).
pub fn publish(p: &Pipeline) {
    schema::control::stage::publish_counters(&counters(p));
}
