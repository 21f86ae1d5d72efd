//! A process's descriptor table, shared copy-on-write between the processes
//! that inherited it, and the byte budget that bounds all tables together.
//!
//! A fork gives the child a logically separate copy of its parent's table.
//! Copied eagerly, it would let one process with thousands of descriptors
//! on long paths multiply enrich's memory by forking; so the child shares the
//! parent's table until either side changes it, and even then the copy
//! shares every descriptor's name ([`FdName`]). Every byte a table owns (its
//! slots, socket paths, names) is charged to one [`FdBudget`] per thread
//! table, so the total is bounded whatever the input: past the budget a new
//! descriptor is kept without its name, or not kept at all, and each such
//! cut is counted.
//!
//! It is not what a descriptor is ([`crate::tables::fd`]) nor which syscall changes
//! which descriptor ([`crate::apply`]).

use std::mem::size_of;

use std::collections::hash_map::Entry;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::limits::MAX_FDS_PER_PROCESS;
use crate::tables::fd::{Addr, FdEntry};
pub use crate::tables::fdname::{FdBudget, FdName};

/// How sparse a table may get before its allocation is given back: it is
/// shrunk when it holds fewer than one entry per this many slots of
/// capacity. Not 2: a process that opens and closes one file beside a
/// few others sits on the edge of a power of two, and a table that shrank
/// at half empty was reallocated, and every entry moved, twice per
/// open/close pair.
const SHRINK_BELOW_ONE_IN: usize = 4;

/// What one descriptor's slot in a table is charged, whatever its name:
/// five buckets (key, entry and control byte), because a table holds at
/// most that many per live entry: at most [`SHRINK_BELOW_ONE_IN`] capacity
/// per entry, and hashbrown allocates 8/7 of its capacity in buckets (one
/// more than capacity for tables of four).
pub const FD_SLOT_BYTES: usize = (SHRINK_BELOW_ONE_IN + 1) * (size_of::<(i64, FdEntry)>() + 1);

fn addr_bytes(a: &Option<Box<Addr>>) -> usize {
    a.as_ref().map_or(0, |a| size_of::<Addr>() + a.path.len())
}

/// Bytes an entry owns besides its name: its slot and socket paths (its
/// name is shared and charged on its own).
#[inline]
fn entry_cost(e: &FdEntry) -> usize {
    FD_SLOT_BYTES + addr_bytes(&e.local) + addr_bytes(&e.remote)
}

/// Takes out what an entry owns beyond its slot and addresses: name and
/// socket paths.
fn strip(e: &mut FdEntry) {
    e.name = FdName::default();
    for a in [&mut e.local, &mut e.remote].into_iter().flatten() {
        a.path = Vec::new();
    }
}

/// How a descriptor was taken into its table.
#[derive(Debug)]
pub enum Placed {
    /// Kept whole.
    Whole,
    /// Kept without its name and socket paths: the budget was spent. The
    /// entry as it was given, for the event that made it.
    Nameless(FdEntry),
    /// Not kept: the process has [`MAX_FDS_PER_PROCESS`] descriptors.
    TableFull(FdEntry),
    /// Not kept: the budget was spent, even for a nameless slot.
    NoBudget(FdEntry),
}

impl Placed {
    /// The entry as given, when the table does not hold it whole.
    pub fn into_cut(self) -> Option<FdEntry> {
        match self {
            Placed::Whole => None,
            Placed::Nameless(e) | Placed::TableFull(e) | Placed::NoBudget(e) => Some(e),
        }
    }
}

/// A process's descriptors. Cloning shares them; the first change on
/// either side copies the table (not its names).
#[derive(Debug, Clone, Default)]
pub struct FdTable(Rc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    map: FxHashMap<i64, FdEntry>,
    /// Bytes charged for the entries (slots and socket paths), to `budget`.
    bytes: usize,
    budget: Option<FdBudget>,
}

/// A copy made on write owns a second set of entries: charged as spent
/// (the budget cannot refuse a fork), then trimmed by the writer.
impl Clone for Inner {
    fn clone(&self) -> Inner {
        if let Some(b) = &self.budget {
            b.charge(self.bytes);
        }
        Inner {
            map: self.map.clone(),
            bytes: self.bytes,
            budget: self.budget.clone(),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.release(self.bytes);
        }
    }
}

impl Inner {
    #[inline]
    fn forget(&mut self, e: &FdEntry) {
        let n = entry_cost(e);
        self.bytes = self.bytes.saturating_sub(n);
        if let Some(b) = &self.budget {
            b.release(n);
        }
    }

    /// Gives back a mostly empty allocation: the slots charged per entry
    /// assume it ([`FD_SLOT_BYTES`]).
    #[inline]
    fn shrink(&mut self) {
        if self.map.len() * SHRINK_BELOW_ONE_IN < self.map.capacity() {
            self.map.shrink_to(self.map.len());
        }
    }

    /// Takes `e` as descriptor `num` if `budget` affords it, stripped of
    /// its name if only that fits.
    fn place(&mut self, num: i64, mut e: FdEntry, budget: &FdBudget) -> Placed {
        if self.budget.is_none() {
            self.budget = Some(budget.clone());
        }
        let Inner { map, bytes, .. } = self;
        let slot = match map.entry(num) {
            Entry::Vacant(slot) => slot,
            Entry::Occupied(old) => {
                // The old entry goes first, so that what it frees can pay
                // for the new one.
                let old = old.remove();
                self.forget(&old);
                drop(old);
                return self.place(num, e, budget);
            }
        };
        let own = entry_cost(&e);
        let name = e.name.cost();
        if budget.try_charge(own + name) {
            e.name.mark_charged(budget);
            *bytes += own;
            slot.insert(e);
            return Placed::Whole;
        }
        budget.count_cut(1);
        let mut kept = e.clone();
        strip(&mut kept);
        let own = entry_cost(&kept);
        if budget.try_charge(own) {
            *bytes += own;
            slot.insert(kept);
            return Placed::Nameless(e);
        }
        self.shrink();
        Placed::NoBudget(e)
    }

    /// After a copy on write pushed the budget over its limit: drops this
    /// copy's highest descriptors (stdio last) until it fits, or none is
    /// left; returns how many went.
    fn trim(&mut self, budget: &FdBudget) -> u64 {
        if !budget.over() {
            return 0;
        }
        let mut nums: Vec<i64> = self.map.keys().copied().collect();
        nums.sort_unstable_by(|a, b| b.cmp(a));
        let mut dropped = 0;
        for num in nums {
            if !budget.over() {
                break;
            }
            if let Some(e) = self.map.remove(&num) {
                self.forget(&e);
                dropped += 1;
            }
        }
        self.shrink();
        budget.count_cut(dropped);
        dropped
    }
}

impl FdTable {
    pub fn get(&self, num: i64) -> Option<&FdEntry> {
        self.0.map.get(&num)
    }

    pub fn contains(&self, num: i64) -> bool {
        self.0.map.contains_key(&num)
    }

    pub fn len(&self) -> usize {
        self.0.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.map.is_empty()
    }

    /// True when `other` is this very table (not a copy).
    pub fn shares_with(&self, other: &FdTable) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// This table, for a change: copied first if another process shares it
    /// (the copy then trimmed back under `budget`).
    #[inline]
    fn own(&mut self, budget: &FdBudget) -> &mut Inner {
        let shared = Rc::strong_count(&self.0) > 1;
        let inner = Rc::make_mut(&mut self.0);
        if shared {
            inner.trim(budget);
        }
        inner
    }

    /// Adds or replaces descriptor `num`, charging `budget`.
    pub fn insert(&mut self, num: i64, e: FdEntry, budget: &FdBudget) -> Placed {
        if self.len() >= MAX_FDS_PER_PROCESS && !self.contains(num) {
            return Placed::TableFull(e);
        }
        self.own(budget).place(num, e, budget)
    }

    /// Changes descriptor `num` in place; what it then owns is charged
    /// again (a name or socket path that no longer fits is dropped and
    /// counted). None if the table has no such descriptor.
    pub fn update<R>(
        &mut self,
        num: i64,
        budget: &FdBudget,
        f: impl FnOnce(&mut FdEntry) -> R,
    ) -> Option<R> {
        if !self.contains(num) {
            return None;
        }
        let inner = self.own(budget);
        let mut e = inner.map.remove(&num)?;
        inner.forget(&e);
        let r = f(&mut e);
        // `place` charges the entry afresh: its slot, paths and a new name.
        let _ = inner.place(num, e, budget);
        Some(r)
    }

    /// Removes descriptor `num`.
    pub fn remove(&mut self, num: i64, budget: &FdBudget) -> Option<FdEntry> {
        // A shared table is not copied for a descriptor it does not have.
        if Rc::strong_count(&self.0) > 1 && !self.contains(num) {
            return None;
        }
        let inner = self.own(budget);
        let e = inner.map.remove(&num)?;
        inner.forget(&e);
        inner.shrink();
        Some(e)
    }

    /// Keeps only the descriptors `keep` accepts.
    pub fn retain(&mut self, budget: &FdBudget, mut keep: impl FnMut(i64, &FdEntry) -> bool) {
        if self.0.map.iter().all(|(n, e)| keep(*n, e)) {
            return;
        }
        let inner = self.own(budget);
        let mut gone = 0;
        inner.map.retain(|n, e| {
            let k = keep(*n, e);
            if !k {
                gone += entry_cost(e);
            }
            k
        });
        inner.bytes = inner.bytes.saturating_sub(gone);
        if let Some(b) = &inner.budget {
            b.release(gone);
        }
        inner.shrink();
    }

    /// Empties the table; a shared one is left to its other holders.
    pub fn clear(&mut self) {
        *self = FdTable::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::fdname::name_cost;
    use schema::kestrel_capnp::FdType;

    fn file(name: &str) -> FdEntry {
        let mut e = FdEntry::new(FdType::File);
        e.name = FdName::from(name.as_bytes());
        e
    }

    #[test]
    fn a_fork_shares_until_either_side_changes_and_then_they_differ() {
        let budget = FdBudget::new(1 << 20);
        let mut parent = FdTable::default();
        for n in 0..10 {
            parent.insert(n, file(&format!("/f{n}")), &budget);
        }
        let one_table = budget.used();
        let mut child = parent.clone();
        assert!(child.shares_with(&parent));
        assert_eq!(budget.used(), one_table, "a fork costs nothing");
        child.remove(3, &budget);
        assert!(!child.shares_with(&parent));
        assert!(child.get(3).is_none());
        assert_eq!(
            parent.get(3).map(|e| e.name.as_bytes()),
            Some(&b"/f3"[..]),
            "the child's close does not touch its parent"
        );
        child.insert(20, file("/child"), &budget);
        assert!(parent.get(20).is_none());
        parent.insert(4, file("/parent"), &budget);
        assert_eq!(child.get(4).unwrap().name.as_bytes(), b"/f4");
        // The copy shares the names it did not change: only its slots and
        // the two new names were charged.
        assert_eq!(
            budget.used(),
            one_table + child.len() * FD_SLOT_BYTES + name_cost(6) + name_cost(7)
        );
        drop(child);
        drop(parent);
        assert_eq!(budget.used(), 0, "everything charged is given back");
    }

    #[test]
    fn past_the_budget_names_then_descriptors_are_left_out_and_counted() {
        let long = "x".repeat(1000);
        // Three whole, two nameless, then none.
        let budget = FdBudget::new(3 * (FD_SLOT_BYTES + name_cost(1000)) + 5 * FD_SLOT_BYTES / 2);
        let mut t = FdTable::default();
        let mut placed = Vec::new();
        for n in 0..12 {
            placed.push(t.insert(n, file(&long), &budget));
        }
        assert!(budget.used() <= budget.limit());
        assert!(matches!(placed[0], Placed::Whole));
        let nameless = placed
            .iter()
            .position(|p| matches!(p, Placed::Nameless(_)))
            .expect("some descriptor kept without its name");
        assert!(matches!(placed[11], Placed::NoBudget(_)));
        assert_eq!(t.get(0).unwrap().name.len(), 1000);
        assert!(t.get(nameless as i64).unwrap().name.is_empty());
        assert!(t.get(11).is_none());
        let cut = placed
            .iter()
            .filter(|p| !matches!(p, Placed::Whole))
            .count();
        assert_eq!(budget.cuts(), cut as u64);
    }

    #[test]
    fn a_copy_on_write_over_the_budget_is_trimmed_from_the_top() {
        let budget = FdBudget::new(1 << 20);
        let mut parent = FdTable::default();
        for n in 0..100 {
            parent.insert(n, file("/f"), &budget);
        }
        budget.set_limit(budget.used() + 10 * FD_SLOT_BYTES);
        let mut child = parent.clone();
        child.remove(50, &budget);
        assert!(budget.used() <= budget.limit());
        assert!(child.get(0).is_some(), "stdio goes last");
        assert!(child.get(99).is_none());
        assert_eq!(parent.len(), 100, "the parent keeps its own");
    }

    #[test]
    fn an_open_close_loop_beside_stdio_keeps_its_allocation() {
        let budget = FdBudget::new(1 << 20);
        let mut t = FdTable::default();
        for n in 0..3 {
            t.insert(n, file("/dev/pts/0"), &budget);
        }
        t.insert(3, file("/etc/hosts"), &budget);
        t.remove(3, &budget);
        let cap = t.0.map.capacity();
        let charged = budget.used();
        for _ in 0..100 {
            t.insert(3, file("/etc/hosts"), &budget);
            t.remove(3, &budget);
            assert_eq!(t.0.map.capacity(), cap, "no reallocation per pair");
        }
        assert_eq!(budget.used(), charged);
    }

    #[test]
    fn a_table_is_charged_at_least_what_it_allocates() {
        // Whatever the order of inserts and removes, the buckets
        // allocated stay within what the entries are charged.
        let budget = FdBudget::new(1 << 30);
        let mut t = FdTable::default();
        let bucket = size_of::<(i64, FdEntry)>() + 1;
        let mut n = 0;
        for round in 0..6 {
            for _ in 0..(50 << round) {
                t.insert(n, FdEntry::new(FdType::File), &budget);
                n += 1;
            }
            for k in (0..n).step_by(3) {
                t.remove(k, &budget);
                let buckets = (t.0.map.capacity() * 8).div_ceil(7).next_power_of_two();
                assert!(buckets * bucket <= t.len().max(1) * FD_SLOT_BYTES || t.is_empty());
            }
        }
    }

    #[test]
    fn updates_charge_the_new_name() {
        let budget = FdBudget::new(1 << 20);
        let mut t = FdTable::default();
        t.insert(3, FdEntry::new(FdType::Ipv4), &budget);
        let before = budget.used();
        t.update(3, &budget, |e| {
            e.name = FdName::from(&b"1.2.3.4:5->6.7.8.9:10"[..])
        });
        assert_eq!(budget.used(), before + name_cost(21));
        t.remove(3, &budget);
        assert_eq!(budget.used(), 0);
    }
}
