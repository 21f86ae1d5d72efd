//! The rules for changing the selection of a running capture, and how a
//! change is made visible.
//!
//! A selection that captures nothing, or less than before, blinds every
//! rule that needed the kinds it drops, so a request must say `force` to
//! make one; a request that only adds kinds needs nothing. Every accepted
//! change is counted in capture's in-band `stats` frames
//! (`selection.changes`, and the number of kinds selected as
//! `selection.kinds`), so the consumers downstream see it, not only
//! capture's log; an empty selection is also recorded as capture's last
//! error, which `capture ctl health` shows.
//!
//! It does not parse names or touch the kernel map (the control server, which
//! applies a change through [`crate::probe::Selector`], does).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use schema::table;
use schema::Kind;

/// Counter of the kinds selected now, in capture's stats.
pub const KINDS_COUNTER: &str = "selection.kinds";
/// Counter of the selection changes made since capture started.
pub const CHANGES_COUNTER: &str = "selection.changes";

/// What the stats frames say about the selection. Written by the control
/// thread, read by the streaming loop when it writes a stats frame.
#[derive(Debug, Default)]
pub struct SelectionState {
    kinds: AtomicU64,
    changes: AtomicU64,
}

impl SelectionState {
    /// The state of a selection of `kinds` kinds made at start.
    pub fn new(kinds: usize) -> Arc<Self> {
        Arc::new(SelectionState {
            kinds: AtomicU64::new(kinds as u64),
            changes: AtomicU64::new(0),
        })
    }

    /// Records a change to a selection of `kinds` kinds.
    pub fn changed(&self, kinds: usize) {
        self.kinds.store(kinds as u64, Ordering::Relaxed);
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters for a stats frame.
    pub fn counters(&self, c: &mut stage::Counters) {
        c.gauge(KINDS_COUNTER, self.kinds.load(Ordering::Relaxed))
            .count(CHANGES_COUNTER, self.changes.load(Ordering::Relaxed));
    }
}

/// A change refused because it would capture less without `force`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("refusing an empty selection: capture would report no events at all (pass --force to do it anyway)")]
    Empty,
    #[error("refusing to stop capturing {}: rules that need them would go blind (pass --force to do it anyway, or include them)", .0.join(","))]
    Removes(Vec<&'static str>),
}

/// Whether going from `current` to `wanted` is allowed.
pub fn check(current: &[Kind], wanted: &[Kind], force: bool) -> Result<(), Refused> {
    if force {
        return Ok(());
    }
    if wanted.is_empty() {
        return Err(Refused::Empty);
    }
    let removed: Vec<&'static str> = current
        .iter()
        .filter(|k| !wanted.contains(k))
        .map(|k| table::info(*k).name)
        .collect();
    if removed.is_empty() {
        Ok(())
    } else {
        Err(Refused::Removes(removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_narrower_needs_force_and_wider_does_not() {
        let (o, u) = (Kind::Openat, Kind::Unlinkat);
        assert_eq!(check(&[o], &[], false), Err(Refused::Empty));
        assert_eq!(check(&[], &[], false), Err(Refused::Empty));
        assert_eq!(
            check(&[o, u], &[o], false),
            Err(Refused::Removes(vec!["unlinkat"]))
        );
        assert_eq!(check(&[o], &[o, u], false), Ok(()));
        assert_eq!(check(&[o], &[o], false), Ok(()));
        assert_eq!(check(&[o, u], &[], true), Ok(()));
        assert_eq!(check(&[o, u], &[u], true), Ok(()));
        assert!(Refused::Empty.to_string().contains("--force"));
    }

    #[test]
    fn state_counts_changes_and_kinds() {
        let s = SelectionState::new(3);
        let pairs = |s: &SelectionState| {
            let mut c = stage::Counters::new();
            s.counters(&mut c);
            c.pairs()
        };
        assert_eq!(
            pairs(&s),
            [(KINDS_COUNTER.into(), 3), (CHANGES_COUNTER.into(), 0)]
        );
        s.changed(0);
        s.changed(1);
        assert_eq!(
            pairs(&s),
            [(KINDS_COUNTER.into(), 1), (CHANGES_COUNTER.into(), 2)]
        );
    }
}
