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

use stage::control::feed::AlertFeed;
use stage::Counters;

use crate::pipeline::Pipeline;

/// output's counters now.
pub fn counters(p: &Pipeline, feed: Option<&AlertFeed>, c: &mut Counters) {
    {
        let st = p.stats();
        c.events("alerts", st.alerts_total)
            .count("alerts.suppressed", st.suppressed)
            .count("alerts.internal", st.internal_alerts)
            .count("frames_ignored", st.frames_ignored);
    }
    for s in p.sinks() {
        let d = s.queue.depth();
        let name = |what: &str| format!("sink.{}.{what}", s.name);
        c.count(name("delivered"), s.stats.delivered.load(Ordering::Relaxed))
            .count(name("failures"), s.stats.failures.load(Ordering::Relaxed))
            .count(name("refused"), s.stats.refused.load(Ordering::Relaxed))
            .count(name("dropped"), d.dropped)
            .gauge(name("queued"), d.memory)
            .gauge(name("spooled"), d.spooled);
    }
    if let Some(f) = feed {
        let f = f.totals();
        c.gauge("subscribers", f.subscribers)
            .count("subscribers.sent", f.sent)
            .count("subscribers.dropped", f.dropped);
    }
}
