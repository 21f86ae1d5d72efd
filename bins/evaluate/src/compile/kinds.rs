//! The analysis that finds which kinds of event a condition can match, so
//! that rules are indexed by event type and only candidate rules run for an
//! event; and a condition specialised for one kind.
//!
//! It is not a place for evaluation: it answers "could this rule match this
//! kind", never "does it".

use schema::Kind;

pub use super::kindset::KindSet;
use super::node::Node;

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
    use schema::table::TABLE;

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
