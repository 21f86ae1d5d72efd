//! Typed counters: what a stage reports in its `stats` frames and through
//! `ctl stats`. A counter carries its meaning ([`Kind`]) and, for drops,
//! its reason, on the wire as well (`Counter.kind`, `Counter.reason`), so
//! no reader has to take a name apart to learn what it counts.
//!
//! Names stay what dashboards already use: `events_in`, `drops.REASON`,
//! `threads`. A drop's name is made from its reason, so the two cannot
//! disagree.
//!
//! It is not a metrics library: there are no rates, histograms or labels
//! here; output turns these into Prometheus series.

use std::borrow::Cow;

use schema::kestrel_capnp::{stats, CounterKind};

/// What a counter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Events through the stage, cumulative: its throughput.
    Events,
    /// Events lost, cumulative; the reason is the counter's.
    Drops,
    /// A current size (entries in a table), not cumulative.
    Gauge,
    /// Any other cumulative count.
    Other,
}

impl Kind {
    fn wire(self) -> CounterKind {
        match self {
            Kind::Events => CounterKind::Events,
            Kind::Drops => CounterKind::Drops,
            Kind::Gauge => CounterKind::Gauge,
            Kind::Other => CounterKind::Other,
        }
    }

    /// The kind of a counter read from the wire; unknown kinds (a newer
    /// producer) read as [`Kind::Other`].
    pub fn from_wire(k: Result<CounterKind, capnp::NotInSchema>) -> Kind {
        match k {
            Ok(CounterKind::Events) => Kind::Events,
            Ok(CounterKind::Drops) => Kind::Drops,
            Ok(CounterKind::Gauge) => Kind::Gauge,
            Ok(CounterKind::Other) | Err(_) => Kind::Other,
        }
    }
}

/// One counter and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub name: Cow<'static, str>,
    pub kind: Kind,
    /// Why the events were lost, for [`Kind::Drops`]; empty otherwise.
    pub reason: Cow<'static, str>,
    pub value: u64,
}

/// Events lost because the reader of a reconnecting output was away: the
/// one drop reason every stage with a socket output has.
pub const DOWNSTREAM_DISCONNECTED: &str = "downstream_disconnected";

/// Frames written to a reader that died before reading them (see
/// `reconnect::lost_unread_frames`).
pub const LOST_UNREAD: &str = "lost_unread";

/// The counters of one report, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(Vec<Counter>);

impl Counters {
    pub fn new() -> Self {
        Counters(Vec::new())
    }

    /// Events through the stage.
    pub fn events(&mut self, name: impl Into<Cow<'static, str>>, value: u64) -> &mut Self {
        self.push(name.into(), Kind::Events, Cow::Borrowed(""), value)
    }

    /// Events lost for `reason`, named `drops.REASON`.
    pub fn drops(&mut self, reason: impl Into<Cow<'static, str>>, value: u64) -> &mut Self {
        let reason = reason.into();
        let name = Cow::Owned(format!("drops.{reason}"));
        self.push(name, Kind::Drops, reason, value)
    }

    /// A current size.
    pub fn gauge(&mut self, name: impl Into<Cow<'static, str>>, value: u64) -> &mut Self {
        self.push(name.into(), Kind::Gauge, Cow::Borrowed(""), value)
    }

    /// Any other cumulative count.
    pub fn count(&mut self, name: impl Into<Cow<'static, str>>, value: u64) -> &mut Self {
        self.push(name.into(), Kind::Other, Cow::Borrowed(""), value)
    }

    fn push(
        &mut self,
        name: Cow<'static, str>,
        kind: Kind,
        reason: Cow<'static, str>,
        value: u64,
    ) -> &mut Self {
        self.0.push(Counter {
            name,
            kind,
            reason,
            value,
        });
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = &Counter> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of the counter called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|c| c.name == name).map(|c| c.value)
    }

    /// (name, value) pairs, as the control plane's `stats` answers them.
    pub fn pairs(&self) -> Vec<(String, u64)> {
        self.0
            .iter()
            .map(|c| (c.name.to_string(), c.value))
            .collect()
    }

    /// Writes a `stats` frame of `stage` with these counters.
    pub fn write<W: std::io::Write>(
        &self,
        w: &mut schema::FrameWriter<W>,
        stage: schema::Stage,
        hostname: &str,
    ) -> std::io::Result<()> {
        w.build(|f| {
            let mut s = f.init_stats();
            s.set_stage(stage);
            s.set_time_ns(schema::now_ns());
            s.set_hostname(hostname);
            self.fill(&mut s);
            Ok(())
        })
    }

    /// Fills a `stats` frame's counter list.
    pub fn fill(&self, s: &mut stats::Builder<'_>) {
        let mut list = s.reborrow().init_counters(self.0.len() as u32);
        for (i, c) in self.0.iter().enumerate() {
            let mut e = list.reborrow().get(i as u32);
            e.set_name(&*c.name);
            e.set_value(c.value);
            e.set_kind(c.kind.wire());
            if !c.reason.is_empty() {
                e.set_reason(&*c.reason);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_named_from_their_reason_and_typed_on_the_wire() {
        let mut c = Counters::new();
        c.events("events_in", 7)
            .drops("ringbuf_full", 3)
            .gauge("threads", 2);
        assert_eq!(c.get("drops.ringbuf_full"), Some(3));
        let mut msg = capnp::message::Builder::new_default();
        {
            let f = msg.init_root::<schema::frame::Builder>();
            let mut s = f.init_stats();
            c.fill(&mut s);
        }
        let r = msg
            .get_root_as_reader::<schema::frame::Reader>()
            .expect("root");
        let schema::frame::Stats(Ok(s)) = r.which().expect("union") else {
            panic!("not stats")
        };
        let l = s.get_counters().expect("counters");
        assert_eq!(Kind::from_wire(l.get(0).get_kind()), Kind::Events);
        assert_eq!(Kind::from_wire(l.get(1).get_kind()), Kind::Drops);
        assert_eq!(l.get(1).get_reason().expect("reason"), "ringbuf_full");
        assert_eq!(Kind::from_wire(l.get(2).get_kind()), Kind::Gauge);
    }
}
