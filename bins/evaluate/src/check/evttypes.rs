//! The event types a condition can match, computed from its `evt.type`
//! comparisons over the event table ([`schema::table::TABLE`]): used to warn
//! about rules that match every event type, and by `evaluate syscalls` to
//! tell capture which syscalls the rules need.
//!
//! The walk follows Falco's: `evt.type = X` and `evt.type in (...)` give
//! their types, `!=` the complement; `and` intersects, `or` unites, and
//! `not` swaps the two (De Morgan). Any other check says nothing about the
//! type, so it allows every type.
//!
//! It is not the compiler's event-type index (the engine builds its own),
//! though both must agree on which events a rule can see.

use schema::table::TABLE;
use schema::Kind;

use crate::lang::ast::{CmpOp, Expr, ListItem, Modifier, Operand};

/// A set of event kinds, one bit per row of the event table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindSet(u128);

const _: () = assert!(TABLE.len() <= 128, "KindSet holds at most 128 kinds");

impl KindSet {
    /// Every kind a rule can see (all rows but `unknown`).
    pub fn all() -> Self {
        let mut bits = 0u128;
        for (i, _) in TABLE.iter().enumerate().skip(1) {
            bits |= 1 << i;
        }
        KindSet(bits)
    }

    pub fn empty() -> Self {
        KindSet(0)
    }

    pub fn insert(&mut self, k: Kind) {
        self.0 |= 1 << (k as u32);
    }

    pub fn contains(self, k: Kind) -> bool {
        self.0 & (1 << (k as u32)) != 0
    }

    pub fn union(self, o: Self) -> Self {
        KindSet(self.0 | o.0)
    }

    pub fn intersect(self, o: Self) -> Self {
        KindSet(self.0 & o.0)
    }

    pub fn complement(self) -> Self {
        KindSet(Self::all().0 & !self.0)
    }

    pub fn is_all(self) -> bool {
        self == Self::all()
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds, in table order.
    pub fn kinds(self) -> impl Iterator<Item = Kind> {
        TABLE
            .iter()
            .filter(move |r| self.contains(r.kind))
            .map(|r| r.kind)
    }

    /// The names of the kinds (`evt.type` spelling).
    pub fn names(self) -> Vec<&'static str> {
        TABLE
            .iter()
            .filter(|r| self.contains(r.kind))
            .map(|r| r.name)
            .collect()
    }
}

/// The kinds named by an `evt.type` operand, and the names that are not
/// event types kestrel knows.
fn named(rhs: &Operand) -> (KindSet, Vec<String>) {
    let mut set = KindSet::empty();
    let mut unknown = Vec::new();
    let mut add = |text: &str| match schema::table::by_name(text) {
        Some(info) => set.insert(info.kind),
        None => unknown.push(text.to_string()),
    };
    match rhs {
        Operand::Value { text, .. } => add(text),
        Operand::List { items, .. } => {
            for i in items {
                match i {
                    ListItem::Value { text, .. } => add(text),
                    ListItem::Name { name, .. } => add(name),
                }
            }
        }
        Operand::Field(_) => return (KindSet::all(), unknown),
    }
    (set, unknown)
}

/// The kinds `e` can match (`negated`: the kinds `not e` can match).
pub fn kinds(e: &Expr, negated: bool) -> KindSet {
    match e {
        Expr::And(v) => {
            let it = v.iter().map(|x| kinds(x, negated));
            if negated {
                it.fold(KindSet::empty(), KindSet::union)
            } else {
                it.fold(KindSet::all(), KindSet::intersect)
            }
        }
        Expr::Or(v) => {
            let it = v.iter().map(|x| kinds(x, negated));
            if negated {
                it.fold(KindSet::all(), KindSet::intersect)
            } else {
                it.fold(KindSet::empty(), KindSet::union)
            }
        }
        Expr::Not(x) => kinds(x, !negated),
        Expr::Inlined { body, .. } => kinds(body, negated),
        Expr::Const(b) => {
            if *b != negated {
                KindSet::all()
            } else {
                KindSet::empty()
            }
        }
        Expr::Compare(c)
            if c.lhs.name == "evt.type" && c.lhs.arg.is_none() && c.lhs.transformers.is_empty() =>
        {
            let (set, _) = named(&c.rhs);
            let positive = match (c.op, c.modifier) {
                (CmpOp::Eq | CmpOp::In | CmpOp::Intersects, None | Some(Modifier::AnyOf)) => {
                    Some(set)
                }
                (CmpOp::Ne, None | Some(Modifier::AllOf)) => Some(set.complement()),
                _ => None,
            };
            match positive {
                Some(p) if negated => p.complement(),
                Some(p) => p,
                None => KindSet::all(),
            }
        }
        _ => KindSet::all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse;

    fn names(src: &str) -> Vec<&'static str> {
        kinds(&parse(src).unwrap(), false).names()
    }

    #[test]
    fn equality_and_lists() {
        assert_eq!(names("evt.type = execve"), vec!["execve"]);
        assert_eq!(
            names("evt.type in (open, openat) and proc.name = x"),
            vec!["open", "openat"]
        );
        assert_eq!(
            names("evt.type = open or evt.type = close"),
            vec!["open", "close"]
        );
    }

    #[test]
    fn negation_complements() {
        let s = kinds(&parse("evt.type != open").unwrap(), false);
        assert_eq!(s.len(), KindSet::all().len() - 1);
        assert!(!s.contains(Kind::Open));
        assert_eq!(names("not evt.type != open"), vec!["open"]);
        // not (A and B) = not A or not B
        let s = kinds(
            &parse("not (evt.type = open and proc.name = x)").unwrap(),
            false,
        );
        assert!(s.is_all());
        assert_eq!(
            names("evt.type in (open, close) and not evt.type = close"),
            vec!["open"]
        );
    }

    #[test]
    fn unrestricted_conditions_match_all() {
        assert!(kinds(&parse("proc.name = bash").unwrap(), false).is_all());
        assert!(kinds(
            &parse("evt.type = open or proc.name = bash").unwrap(),
            false
        )
        .is_all());
    }
}
