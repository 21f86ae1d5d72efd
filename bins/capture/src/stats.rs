//! capture's counters, sent in-band as `stats` frames: events per kind as
//! they reach the output, drops per reason as the probe counted them in the
//! kernel, records rejected as malformed, and whatever the start-up (the
//! /proc snapshot) reports. Cumulative since capture started.
//!
//! It does not decide when to send (the stream loop does).

use std::io::{self, Write};

use schema::table;
use schema::{FrameWriter, Kind, Stage};

use crate::layout::DROP_REASONS;

/// Cumulative counters.
pub struct Stats {
    per_kind: Vec<u64>,
    /// Records that failed [`crate::record::parse`].
    pub bad_records: u64,
    /// Latest per-reason drop totals read from the probe.
    pub drops: [u64; DROP_REASONS.len()],
    /// Fixed counters added at start-up, e.g. `snapshot.threads`.
    pub extra: Vec<(String, u64)>,
    hostname: String,
}

impl Stats {
    /// `hostname` is read once up front: after the privilege drop /proc is
    /// out of reach.
    pub fn new(hostname: String) -> Self {
        Stats {
            per_kind: vec![0; table::TABLE.len()],
            bad_records: 0,
            drops: [0; DROP_REASONS.len()],
            extra: Vec::new(),
            hostname,
        }
    }

    pub fn count(&mut self, kind: Kind) {
        if let Some(n) = self.per_kind.get_mut(kind as usize) {
            *n += 1;
        }
    }

    /// Events counted so far, all kinds.
    pub fn events(&self) -> u64 {
        self.per_kind.iter().sum()
    }

    /// The counters as (name, value): `events`, `events.KIND` for each kind
    /// seen, `drops`, `drops.REASON`, `bad_records`, then the extras.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut out = vec![("events".to_string(), self.events())];
        for (i, &n) in self.per_kind.iter().enumerate() {
            if n > 0 {
                out.push((format!("events.{}", table::TABLE[i].name), n));
            }
        }
        out.push(("drops".into(), self.drops.iter().sum()));
        for (reason, &n) in DROP_REASONS.iter().zip(&self.drops) {
            out.push((format!("drops.{reason}"), n));
        }
        out.push(("bad_records".into(), self.bad_records));
        out.extend(self.extra.iter().cloned());
        out
    }

    /// Writes one `stats` frame.
    pub fn write_frame<W: Write>(&self, w: &mut FrameWriter<W>) -> io::Result<()> {
        let counters = self.counters();
        w.build(|f| -> io::Result<()> {
            let mut s = f.init_stats();
            s.set_stage(Stage::Capture);
            s.set_time_ns(schema::now_ns());
            s.set_hostname(self.hostname.as_str());
            let mut list = s.init_counters(counters.len() as u32);
            for (i, (name, value)) in counters.iter().enumerate() {
                let mut c = list.reborrow().get(i as u32);
                c.set_name(name.as_str());
                c.set_value(*value);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_name_kinds_and_drop_reasons() {
        let mut s = Stats::new("h".into());
        s.count(Kind::Openat);
        s.count(Kind::Openat);
        s.count(Kind::Close);
        s.drops = [3, 0, 1];
        let c = s.counters();
        let get = |n: &str| c.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
        assert_eq!(get("events"), Some(3));
        assert_eq!(get("events.openat"), Some(2));
        assert_eq!(get("events.close"), Some(1));
        assert_eq!(get("events.execve"), None);
        assert_eq!(get("drops"), Some(4));
        assert_eq!(get("drops.ringbuf_full"), Some(3));
        assert_eq!(get("drops.exec_entry_lost"), Some(1));
    }
}
