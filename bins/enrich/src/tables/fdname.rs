//! A descriptor's name, shared by every table and entry that holds it, and
//! the byte budget every descriptor table charges what it owns to: the
//! memory bound on enrich's descriptor tables, whatever processes do.
//!
//! It is not a place for the tables themselves ([`crate::tables::fdtable`]) nor
//! for what a descriptor is ([`crate::tables::fd`]).

use std::cell::Cell;
use std::mem::size_of;
use std::rc::Rc;

use crate::limits::FD_BUDGET_BYTES;

/// What a name is charged beyond its bytes: its shared header (counts and
/// the budget it is charged to) and the allocator's rounding.
pub const FD_NAME_OVERHEAD_BYTES: usize = 2 * size_of::<usize>() + size_of::<NameBuf>() + 16;

/// The byte budget shared by all descriptor tables of one thread table.
/// Not `Send`: the tables live on the engine's thread, and every open and
/// close charges it, so its counts are plain cells, not atomics.
#[derive(Debug, Clone)]
pub struct FdBudget(Rc<BudgetInner>);

#[derive(Debug)]
struct BudgetInner {
    used: Cell<usize>,
    limit: Cell<usize>,
    /// Names and descriptors left out because the budget was spent.
    cuts: Cell<u64>,
}

impl Default for FdBudget {
    fn default() -> Self {
        FdBudget::new(FD_BUDGET_BYTES)
    }
}

impl FdBudget {
    pub fn new(limit: usize) -> FdBudget {
        FdBudget(Rc::new(BudgetInner {
            used: Cell::new(0),
            limit: Cell::new(limit),
            cuts: Cell::new(0),
        }))
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.0.used.get()
    }

    pub fn limit(&self) -> usize {
        self.0.limit.get()
    }

    /// Sets the limit; what is charged already stays until released.
    pub fn set_limit(&self, limit: usize) {
        self.0.limit.set(limit);
    }

    /// Names and descriptors left out for the budget so far.
    pub fn cuts(&self) -> u64 {
        self.0.cuts.get()
    }

    pub(crate) fn count_cut(&self, n: u64) {
        self.0.cuts.set(self.0.cuts.get() + n);
    }

    /// Charges `n` bytes if they fit.
    #[inline]
    pub(crate) fn try_charge(&self, n: usize) -> bool {
        let used = self.used().saturating_add(n);
        if used > self.limit() {
            return false;
        }
        self.0.used.set(used);
        true
    }

    /// Charges `n` bytes that are spent already (a table copied on write);
    /// the caller trims back under the limit.
    pub(crate) fn charge(&self, n: usize) {
        self.0.used.set(self.used().saturating_add(n));
    }

    #[inline]
    pub(crate) fn release(&self, n: usize) {
        // Saturating: a release can never make the count wrap, whatever
        // the order of drops.
        self.0.used.set(self.used().saturating_sub(n));
    }

    pub(crate) fn over(&self) -> bool {
        self.used() > self.limit()
    }
}

/// A descriptor's name: shared by every table and entry that holds it
/// (fork copies, dups), charged to a budget once, released when its last
/// holder drops it.
#[derive(Clone, Default)]
pub struct FdName(Option<Rc<NameBuf>>);

struct NameBuf {
    bytes: Box<[u8]>,
    /// The budget this name's bytes are charged to, once a table holds it.
    charged: Option<FdBudget>,
}

impl Drop for NameBuf {
    fn drop(&mut self) {
        if let Some(b) = &self.charged {
            b.release(name_cost(self.bytes.len()));
        }
    }
}

pub(crate) fn name_cost(len: usize) -> usize {
    len + FD_NAME_OVERHEAD_BYTES
}

impl FdName {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_deref().map_or(&[], |n| &n.bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub(crate) fn is_charged(&self) -> bool {
        self.0.as_ref().is_none_or(|n| n.charged.is_some())
    }

    /// What charging this name would cost (0 when it is charged already).
    pub(crate) fn cost(&self) -> usize {
        if self.is_charged() {
            0
        } else {
            name_cost(self.len())
        }
    }

    /// Marks this name charged to `budget` (the caller charged
    /// [`Self::cost`]); a name shared while uncharged is copied, so that
    /// the charge is released with the copy the table holds.
    #[inline]
    pub(crate) fn mark_charged(&mut self, budget: &FdBudget) {
        let Some(arc) = &mut self.0 else { return };
        if arc.charged.is_some() {
            return;
        }
        match Rc::get_mut(arc) {
            Some(n) => n.charged = Some(budget.clone()),
            None => {
                *arc = Rc::new(NameBuf {
                    bytes: arc.bytes.clone(),
                    charged: Some(budget.clone()),
                })
            }
        }
    }
}

impl From<Vec<u8>> for FdName {
    #[inline]
    fn from(v: Vec<u8>) -> FdName {
        if v.is_empty() {
            return FdName(None);
        }
        FdName(Some(Rc::new(NameBuf {
            bytes: v.into_boxed_slice(),
            charged: None,
        })))
    }
}

impl From<&[u8]> for FdName {
    fn from(v: &[u8]) -> FdName {
        FdName::from(v.to_vec())
    }
}

impl std::ops::Deref for FdName {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for FdName {
    fn eq(&self, other: &FdName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for FdName {}

impl std::fmt::Debug for FdName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}
