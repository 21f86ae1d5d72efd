//! capture's counters, sent in-band as `stats` frames: events per kind as
//! they reach the output, drops per reason as the probe counted them in the
//! kernel, events that no reader was there to take
//! (`drops.downstream_disconnected`), records rejected as malformed, the
//! selection's size and changes ([`crate::selection`]), and whatever the
//! start-up (the /proc snapshot) reports. Cumulative since
//! capture started.
//!
//! It does not decide when to send (the stream loop does).

use std::sync::Arc;

use schema::table;
use schema::Kind;
use stage::counters::DOWNSTREAM_DISCONNECTED;
use stage::Counters;

use crate::layout::DROP_REASONS;
use crate::selection::SelectionState;

/// Cumulative counters.
pub struct Stats {
    per_kind: Vec<u64>,
    /// Records that failed [`crate::record::parse`].
    pub bad_records: u64,
    /// Latest per-reason drop totals read from the probe.
    pub drops: [u64; DROP_REASONS.len()],
    /// Events read from the ring buffer while the output had no reader,
    /// never encoded.
    pub skipped_no_reader: u64,
    /// Frames the output dropped when its reader went away in the middle
    /// of a batch (those events were counted in `events` too), as the
    /// output last reported.
    pub undelivered_frames: u64,
    /// Frames the output had written to a reader that died before reading
    /// them, as the output last reported (counted in `events` too).
    pub lost_unread: u64,
    /// Fixed counters added at start-up, e.g. `snapshot.threads`.
    pub extra: Vec<(String, u64)>,
    /// The selection's counters (`selection.kinds`, `selection.changes`),
    /// once the probe is attached.
    pub selection: Option<Arc<SelectionState>>,
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            per_kind: vec![0; table::TABLE.len()],
            bad_records: 0,
            drops: [0; DROP_REASONS.len()],
            skipped_no_reader: 0,
            undelivered_frames: 0,
            lost_unread: 0,
            extra: Vec::new(),
            selection: None,
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

    /// Events lost because no reader was there to take them.
    pub fn downstream_disconnected(&self) -> u64 {
        self.skipped_no_reader + self.undelivered_frames
    }

    /// The counters: `events` and `events.KIND` for each kind seen,
    /// `drops` (every reason, summed), `drops.REASON` for the probe's
    /// reasons and `drops.downstream_disconnected`, `bad_records`, the
    /// selection's counters, then the extras.
    pub fn counters(&self, c: &mut Counters) {
        c.events("events", self.events());
        for (i, &n) in self.per_kind.iter().enumerate() {
            if n > 0 {
                c.count(format!("events.{}", table::TABLE[i].name), n);
            }
        }
        let in_kernel: u64 = self.drops.iter().sum();
        c.count(
            "drops",
            in_kernel + self.downstream_disconnected() + self.lost_unread,
        );
        for (reason, &n) in DROP_REASONS.iter().zip(&self.drops) {
            c.drops(*reason, n);
        }
        c.drops(DOWNSTREAM_DISCONNECTED, self.downstream_disconnected());
        c.count("bad_records", self.bad_records);
        if let Some(sel) = &self.selection {
            sel.counters(c);
        }
        for (name, v) in &self.extra {
            c.count(name.clone(), *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_name_kinds_and_drop_reasons() {
        let mut s = Stats::new();
        s.count(Kind::Openat);
        s.count(Kind::Openat);
        s.count(Kind::Close);
        s.drops = [3, 0, 1];
        s.skipped_no_reader = 5;
        s.undelivered_frames = 2;
        let mut c = Counters::new();
        s.counters(&mut c);
        let get = |n: &str| c.get(n);
        assert_eq!(get("events"), Some(3));
        assert_eq!(get("events.openat"), Some(2));
        assert_eq!(get("events.close"), Some(1));
        assert_eq!(get("events.execve"), None);
        assert_eq!(get("drops"), Some(11));
        assert_eq!(get("drops.downstream_disconnected"), Some(7));
        assert_eq!(get("drops.ringbuf_full"), Some(3));
        assert_eq!(get("drops.exec_entry_lost"), Some(1));
    }
}
