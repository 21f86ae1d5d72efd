//! Sets of event kinds, and the analysis that finds which kinds a condition
//! can match, so that rules are indexed by event type and only candidate
//! rules run for an event.
//!
//! It is not a place for evaluation: a set answers "could this rule match
//! this kind", never "does it".

use schema::table::TABLE;
use schema::Kind;

use super::node::Node;

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

/// The kinds `node` can be true for. Exact when the node is only a test of
/// the event type (so its negation is the complement); otherwise an upper
/// bound, and a negation must assume any kind.
pub fn candidates(node: &Node) -> KindSet {
    analyse(node).0
}

fn analyse(node: &Node) -> (KindSet, bool) {
    match node {
        Node::Const(true) => (KindSet::all(), true),
        Node::Const(false) => (KindSet::EMPTY, true),
        Node::Kind(set) => (*set, true),
        Node::And(items) => items.iter().fold((KindSet::all(), true), |(s, e), n| {
            let (s2, e2) = analyse(n);
            (s.intersect(s2), e && e2)
        }),
        Node::Or(items) => items.iter().fold((KindSet::EMPTY, true), |(s, e), n| {
            let (s2, e2) = analyse(n);
            (s.union(s2), e && e2)
        }),
        Node::Not(inner) => match analyse(inner) {
            (s, true) => (s.complement(), true),
            (_, false) => (KindSet::all(), false),
        },
        Node::Exists(..) | Node::Test(_) => (KindSet::all(), false),
    }
}

/// `node` as it reads for events of `kind` alone: every event-type test
/// becomes a constant and the tree is folded again, so branches for other
/// kinds disappear and a rule set can drop the rules that cannot match.
pub fn specialize(node: &Node, kind: Kind) -> Node {
    match node {
        Node::Kind(set) => Node::Const(set.contains(kind)),
        Node::And(items) => Node::and(items.iter().map(|n| specialize(n, kind)).collect()),
        Node::Or(items) => Node::or(items.iter().map(|n| specialize(n, kind)).collect()),
        Node::Not(inner) => !specialize(inner, kind),
        Node::Const(_) | Node::Exists(_) | Node::Test(_) => node.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_analysis() {
        let open = KindSet::of(Kind::Open).with(Kind::Openat);
        assert!(open.contains(Kind::Openat));
        assert!(!open.contains(Kind::Execve));
        assert_eq!(open.names(), vec!["open", "openat"]);
        assert_eq!(open.complement().len(), TABLE.len() - 2);
        let exec = Node::Kind(KindSet::of(Kind::Execve));
        let other = Node::Const(true);
        assert_eq!(
            candidates(&Node::And(vec![Node::Kind(open), other.clone()])),
            open
        );
        assert_eq!(
            candidates(&Node::Or(vec![Node::Kind(open), exec.clone()])),
            open.with(Kind::Execve)
        );
        assert_eq!(
            candidates(&Node::Not(Box::new(exec.clone()))),
            KindSet::of(Kind::Execve).complement()
        );
        assert_eq!(candidates(&Node::Const(false)), KindSet::EMPTY);
        assert_eq!(
            candidates(&Node::Not(Box::new(Node::Const(false)))),
            KindSet::all()
        );
        let either = Node::Or(vec![Node::Kind(open), Node::Not(Box::new(exec.clone()))]);
        assert!(matches!(
            specialize(&either, Kind::Openat),
            Node::Const(true)
        ));
        assert!(matches!(
            specialize(&either, Kind::Execve),
            Node::Const(false)
        ));
        assert!(matches!(
            specialize(&either, Kind::Connect),
            Node::Const(true)
        ));
    }
}
