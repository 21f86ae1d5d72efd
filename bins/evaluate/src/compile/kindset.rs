//! A set of event kinds, one bit per kind: what a condition can match,
//! what a rule is indexed by.
//!
//! It is not a place for the analysis that computes such sets (that is
//! [`super::kinds`]).

use schema::table::TABLE;
use schema::Kind;

/// A set of event kinds, one bit per [`Kind`] ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KindSet(u128);

impl KindSet {
    pub const EMPTY: KindSet = KindSet(0);

    /// Every kind the event table knows.
    pub fn all() -> KindSet {
        KindSet(match TABLE.len() {
            n if n >= 128 => u128::MAX,
            n => (1u128 << n) - 1,
        })
    }

    pub fn of(kind: Kind) -> KindSet {
        KindSet::EMPTY.with(kind)
    }

    pub fn with(self, kind: Kind) -> KindSet {
        match 1u128.checked_shl(kind as u32) {
            Some(bit) => KindSet(self.0 | bit),
            None => self,
        }
    }

    pub fn contains(self, kind: Kind) -> bool {
        match 1u128.checked_shl(kind as u32) {
            Some(bit) => self.0 & bit != 0,
            // A kind beyond the set's width is only in the full set.
            None => self == KindSet::all(),
        }
    }

    pub fn union(self, o: KindSet) -> KindSet {
        KindSet(self.0 | o.0)
    }

    pub fn intersect(self, o: KindSet) -> KindSet {
        KindSet(self.0 & o.0)
    }

    pub fn complement(self) -> KindSet {
        KindSet(!self.0 & KindSet::all().0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in ordinal order.
    pub fn iter(self) -> impl Iterator<Item = Kind> {
        TABLE
            .iter()
            .map(|row| row.kind)
            .filter(move |k| self.contains(*k))
    }

    /// The `evt.type` names of the kinds in the set.
    pub fn names(self) -> Vec<&'static str> {
        TABLE
            .iter()
            .filter(|row| self.contains(row.kind))
            .map(|row| row.name)
            .collect()
    }
}
