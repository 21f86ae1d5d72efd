//! The IR's smart constructors: [`Node::and`], [`Node::or`] and `!node`
//! (`std::ops::Not`) build a node already simplified — nested `and`/`or`
//! flattened, `true`/`false` folded, double negations and negated kind sets
//! removed, repeated tests dropped, tests of one field merged into one
//! matcher, and siblings ordered cheapest first — so that every producer of
//! nodes (the checker, [`super::kinds::specialize`]) gets the same shapes
//! and the evaluator never sees a redundant tree.
//!
//! It is not a place for checking conditions ([`super::check`]) nor for
//! the matchers' algorithms ([`super::matcher`]): a constructor only
//! rearranges nodes it was given and never fails.

use std::collections::HashSet;

use crate::fields::{Field, FieldType, Shape};

use super::kinds::KindSet;
use super::matcher::{self, AffixSet, StrMatcher};
use super::node::{Node, Pred, Test};

impl Node {
    /// `and` of `items`: nested `and`s flattened, `true` dropped, `false`
    /// absorbing, kind sets intersected into one, repeated tests dropped,
    /// and the rest ordered (event type, then tests, then exclusions;
    /// cheapest first within each).
    pub fn and(items: Vec<Node>) -> Node {
        let mut out = Vec::with_capacity(items.len());
        for n in items {
            match n {
                Node::Const(true) => {}
                Node::Const(false) => return Node::Const(false),
                Node::And(inner) => out.extend(inner),
                n => out.push(n),
            }
        }
        // Adjacent kind sets merge into one test.
        merge_kinds(&mut out, KindSet::intersect);
        dedup(&mut out);
        // Event-type tests first, then what the rule looks for, then its
        // exclusions (`not …`): exclusions rarely fail, so they seldom
        // short-circuit, while the positive tests usually do. Within each
        // group, cheapest first; equal costs in a fixed order, so that rules
        // with the same tests start with the same ones and a rule set can test
        // the shared start once for all of them.
        out.sort_by(|a, b| {
            (and_group(a), cost(a))
                .cmp(&(and_group(b), cost(b)))
                .then_with(|| leaf_key(a).cmp(leaf_key(b)))
        });
        match out.len() {
            0 => Node::Const(true),
            1 => out.pop().unwrap_or(Node::Const(true)),
            _ => Node::And(out),
        }
    }

    /// `or` of `items`: nested `or`s flattened, `false` dropped, `true`
    /// absorbing, kind sets united into one, repeated tests dropped,
    /// alternatives on one field merged into one matcher, cheapest first.
    pub fn or(items: Vec<Node>) -> Node {
        let mut out = Vec::with_capacity(items.len());
        for n in items {
            match n {
                Node::Const(false) => {}
                Node::Const(true) => return Node::Const(true),
                Node::Or(inner) => out.extend(inner),
                n => out.push(n),
            }
        }
        merge_kinds(&mut out, KindSet::union);
        // Before merging, so that a merged matcher holds each value once.
        dedup(&mut out);
        merge_alternatives(&mut out);
        out.sort_by_key(cost);
        match out.len() {
            0 => Node::Const(false),
            1 => out.pop().unwrap_or(Node::Const(false)),
            _ => Node::Or(out),
        }
    }

    /// What running the node costs at most, relative to its siblings.
    pub fn cost(&self) -> u32 {
        cost(self)
    }
}

/// Drops the second and later copies of a test (or negated test) among
/// siblings: `a and a` is `a`, `a or a` is `a`. Two tests are the same when
/// their keys are (see [`Test::key`]); other nodes are kept as they are,
/// since comparing subtrees costs more than it saves.
fn dedup(out: &mut Vec<Node>) {
    fn key(n: &Node) -> Option<(bool, &str)> {
        match n {
            Node::Test(t) => Some((false, &t.key)),
            Node::Not(inner) => match &**inner {
                Node::Test(t) => Some((true, &t.key)),
                _ => None,
            },
            _ => None,
        }
    }
    if out.len() < 2 {
        return;
    }
    // Keys are borrowed, not cloned: this runs for every `and` and `or`.
    let mut seen: HashSet<(bool, &str)> = HashSet::with_capacity(out.len());
    let repeated: Vec<bool> = out
        .iter()
        .map(|n| key(n).is_some_and(|k| !seen.insert(k)))
        .collect();
    if !repeated.contains(&true) {
        return;
    }
    let mut flags = repeated.into_iter();
    out.retain(|_| !flags.next().unwrap_or(false));
}

impl std::ops::Not for Node {
    type Output = Node;

    /// `not` of the node: constants flipped, a double negation removed, a kind
    /// set complemented (so event-type tests stay indexable).
    fn not(self) -> Node {
        match self {
            Node::Const(b) => Node::Const(!b),
            Node::Not(inner) => *inner,
            Node::Kind(s) => Node::Kind(s.complement()),
            n => Node::Not(Box::new(n)),
        }
    }
}

/// What reading a field costs, roughly: computed strings and ancestor walks
/// cost more than a number in the frame.
pub(super) fn field_cost(f: &Field) -> u32 {
    let name = f.def.name;
    let computed = matches!(
        name,
        "proc.cmdline"
            | "proc.args"
            | "proc.pcmdline"
            | "proc.exeline"
            | "proc.env"
            | "evt.args"
            | "evt.arg"
            | "thread.cap_effective"
            | "thread.cap_permitted"
            | "thread.cap_inheritable"
            | "container.mounts"
            | "fd.containername"
            | "fd.containerdirectory"
            | "evt.time"
            | "evt.datetime"
            | "proc.acmdline"
    );
    match (f.shape(), computed) {
        (Shape::AnyOf | Shape::List, _) => 6,
        (_, true) => 5,
        _ if f.ty() == FieldType::Str => 2,
        _ => 1,
    }
}

pub(super) fn pred_cost(p: &Pred) -> u32 {
    match p {
        Pred::Str(m) => m.cost(),
        Pred::Dyn { text, .. } => text.cost() + 1,
        Pred::Field { .. } => 4,
        _ => 0,
    }
}

fn cost(n: &Node) -> u32 {
    match n {
        Node::Const(_) | Node::Kind(_) => 0,
        Node::Exists(f) => field_cost(f),
        Node::Test(t) => t.cost,
        Node::Not(inner) => cost(inner),
        // An upper bound: the cost when no child short-circuits.
        Node::And(items) | Node::Or(items) => items.iter().map(cost).sum(),
    }
}

/// The key of a test or negated test, for ordering; empty for the rest.
fn leaf_key(n: &Node) -> &str {
    match n {
        Node::Test(t) => &t.key,
        Node::Not(inner) => match &**inner {
            Node::Test(t) => &t.key,
            _ => "",
        },
        _ => "",
    }
}

fn and_group(n: &Node) -> u8 {
    match n {
        Node::Const(_) | Node::Kind(_) => 0,
        Node::Not(_) => 2,
        Node::Test(t) if t.negate => 2,
        _ => 1,
    }
}

/// How the tests of one `or` on one field can combine into one matcher.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Combine {
    Set,
    Prefix,
    Suffix,
    Substring,
}

/// The strings a string test looks for, and how they combine.
fn alternatives(t: &Test) -> Option<(Combine, Vec<Vec<u8>>)> {
    if t.negate || t.all_items || !t.transformers.is_empty() {
        return None;
    }
    let Pred::Str(m) = &t.pred else { return None };
    Some(match m {
        StrMatcher::Eq(x) => (Combine::Set, vec![x.to_vec()]),
        StrMatcher::In(set) => (Combine::Set, set.iter().map(|x| x.to_vec()).collect()),
        StrMatcher::StartsWith(x) => (Combine::Prefix, vec![x.to_vec()]),
        StrMatcher::EndsWith(x) => (Combine::Suffix, vec![x.to_vec()]),
        StrMatcher::Affix(a) => (
            if a.is_suffix() {
                Combine::Suffix
            } else {
                Combine::Prefix
            },
            a.items().map(<[u8]>::to_vec).collect(),
        ),
        StrMatcher::Contains(f) => (Combine::Substring, vec![f.needle().to_vec()]),
        _ => return None,
    })
}

/// Folds `f = a or f = b`, `f endswith a or f endswith b`… into one test
/// per field and kind of match, so that a chain of alternatives costs one
/// lookup, as a list would. (`any v: p(v)` or `any v: q(v)` is
/// `any v: p(v) or q(v)`, so this holds for every shape.)
fn merge_alternatives(out: &mut Vec<Node>) {
    let mut groups: Vec<(Field, Combine, Vec<usize>)> = Vec::new();
    for (i, n) in out.iter().enumerate() {
        let Node::Test(t) = n else { continue };
        let Some((how, _)) = alternatives(t) else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|(f, h, _)| *f == t.field && *h == how)
        {
            Some((_, _, members)) => members.push(i),
            None => groups.push((t.field.clone(), how, vec![i])),
        }
    }
    let mut remove = Vec::new();
    let mut merged = Vec::new();
    for (_, how, members) in groups.into_iter().filter(|g| g.2.len() > 1) {
        let mut items = Vec::new();
        let mut keys = Vec::new();
        let mut first: Option<&Test> = None;
        for &i in &members {
            if let Node::Test(t) = &out[i] {
                items.extend(alternatives(t).map(|a| a.1).unwrap_or_default());
                keys.push(t.key.to_string());
                first.get_or_insert(t);
            }
        }
        let Some(first) = first else { continue };
        let matcher = match how {
            Combine::Set => StrMatcher::In(items.into_iter().map(Vec::into_boxed_slice).collect()),
            Combine::Prefix => StrMatcher::Affix(AffixSet::new(&items, false)),
            Combine::Suffix => StrMatcher::Affix(AffixSet::new(&items, true)),
            Combine::Substring => match matcher::contains_any(&items, false) {
                Ok(ac) => StrMatcher::ContainsAny(Box::new(ac)),
                Err(_) => continue,
            },
        };
        keys.sort();
        let pred = Pred::Str(matcher);
        merged.push(Node::Test(Box::new(Test {
            field: first.field.clone(),
            shape: first.shape,
            transformers: Vec::new(),
            negate: false,
            all_items: false,
            cost: field_cost(&first.field) + pred_cost(&pred),
            pred,
            key: keys.join("\u{2}").into_boxed_str(),
        })));
        remove.extend(members);
    }
    remove.sort_unstable();
    for i in remove.into_iter().rev() {
        out.remove(i);
    }
    out.extend(merged);
}

fn merge_kinds(out: &mut Vec<Node>, f: fn(KindSet, KindSet) -> KindSet) {
    let mut merged: Option<KindSet> = None;
    out.retain(|n| match n {
        Node::Kind(s) => {
            merged = Some(merged.map_or(*s, |m| f(m, *s)));
            false
        }
        _ => true,
    });
    if let Some(s) = merged {
        out.push(Node::Kind(s));
    }
}

#[cfg(test)]
mod tests {
    use schema::Kind;

    use super::*;
    use crate::compile::{compile, NoNames};
    use crate::lang::parse::parse;

    /// The node of a one-test condition, built by the checker.
    fn leaf(src: &str) -> Node {
        let expr = parse(src).expect("test condition parses");
        compile(&expr, &NoNames)
            .expect("test condition compiles")
            .node
    }

    fn kind(k: Kind) -> Node {
        Node::Kind(KindSet::of(k))
    }

    fn keys(n: &Node) -> Vec<String> {
        match n {
            Node::And(v) | Node::Or(v) => v.iter().flat_map(keys).collect(),
            Node::Not(inner) => keys(inner).into_iter().map(|k| format!("!{k}")).collect(),
            Node::Test(t) => vec![t.key.to_string()],
            Node::Kind(s) => vec![format!("kind{:?}", s.names())],
            Node::Exists(f) => vec![format!("exists {}", f.display_name())],
            Node::Const(b) => vec![b.to_string()],
        }
    }

    #[test]
    fn and_folds_constants() {
        let a = leaf("proc.name = a");
        assert!(matches!(Node::and(vec![]), Node::Const(true)));
        assert!(matches!(
            Node::and(vec![Node::Const(true), Node::Const(true)]),
            Node::Const(true)
        ));
        assert!(matches!(
            Node::and(vec![a.clone(), Node::Const(false)]),
            Node::Const(false)
        ));
        // `true` is the identity: what is left is the test alone.
        assert!(matches!(
            Node::and(vec![Node::Const(true), a]),
            Node::Test(_)
        ));
    }

    #[test]
    fn or_folds_constants() {
        let a = leaf("proc.name = a");
        assert!(matches!(Node::or(vec![]), Node::Const(false)));
        assert!(matches!(
            Node::or(vec![a.clone(), Node::Const(true)]),
            Node::Const(true)
        ));
        assert!(matches!(
            Node::or(vec![Node::Const(false), a]),
            Node::Test(_)
        ));
    }

    #[test]
    fn and_flattens_nested_ands() {
        let inner = Node::and(vec![leaf("proc.name = a"), leaf("fd.name = /x")]);
        assert!(matches!(inner, Node::And(ref v) if v.len() == 2));
        let outer = Node::and(vec![inner, leaf("user.name = root")]);
        let Node::And(items) = &outer else {
            panic!("expected an and: {outer:?}")
        };
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|n| matches!(n, Node::Test(_))));
    }

    #[test]
    fn or_flattens_nested_ors() {
        let inner = Node::or(vec![leaf("proc.name = a"), leaf("fd.name = /x")]);
        let outer = Node::or(vec![inner, leaf("user.name = root")]);
        let Node::Or(items) = &outer else {
            panic!("expected an or: {outer:?}")
        };
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|n| !matches!(n, Node::Or(_))));
    }

    #[test]
    fn not_removes_double_negation_and_flips_constants() {
        let a = leaf("proc.name = a");
        let twice = !!a.clone();
        assert_eq!(keys(&twice), keys(&a));
        assert!(matches!(twice, Node::Test(_)));
        assert!(matches!(!(Node::Const(true)), Node::Const(false)));
        assert!(matches!(!(Node::Const(false)), Node::Const(true)));
        assert!(matches!(!(a), Node::Not(_)));
    }

    #[test]
    fn not_complements_kind_sets() {
        let Node::Kind(s) = !kind(Kind::Execve) else {
            panic!("a negated kind set stays a kind set")
        };
        assert!(!s.contains(Kind::Execve));
        assert!(s.contains(Kind::Openat));
    }

    #[test]
    fn kind_sets_merge() {
        let both = Node::and(vec![
            Node::Kind(KindSet::of(Kind::Open).with(Kind::Openat)),
            leaf("proc.name = a"),
            Node::Kind(KindSet::of(Kind::Openat).with(Kind::Execve)),
        ]);
        let Node::And(items) = &both else {
            panic!("expected an and: {both:?}")
        };
        assert_eq!(items.len(), 2);
        // Event-type tests come first.
        assert!(matches!(&items[0], Node::Kind(s) if *s == KindSet::of(Kind::Openat)));

        let either = Node::or(vec![kind(Kind::Open), kind(Kind::Execve)]);
        assert!(matches!(either, Node::Kind(s) if s == KindSet::of(Kind::Open).with(Kind::Execve)));
    }

    #[test]
    fn repeated_tests_are_dropped() {
        let a = leaf("proc.name = a");
        let b = leaf("fd.name = /x");
        let and = Node::and(vec![a.clone(), b.clone(), a.clone()]);
        assert_eq!(keys(&and).len(), 2, "{and:?}");
        let not_a = !a.clone();
        let and = Node::and(vec![not_a.clone(), b.clone(), not_a.clone()]);
        assert_eq!(keys(&and).len(), 2, "{and:?}");
        // A test and its negation are different children.
        let and = Node::and(vec![a.clone(), not_a]);
        assert_eq!(keys(&and).len(), 2, "{and:?}");
        // `x = a or x = a` is the test alone, not a merged set.
        let or = Node::or(vec![a.clone(), a.clone()]);
        assert!(
            matches!(&or, Node::Test(t) if t.key == leaf_key(&a).into()),
            "{or:?}"
        );
    }

    #[test]
    fn alternatives_on_one_field_merge() {
        let or = Node::or(vec![
            leaf("proc.name = a"),
            leaf("proc.name = b"),
            leaf("proc.name = a"),
        ]);
        let Node::Test(t) = &or else {
            panic!("expected one merged test: {or:?}")
        };
        let Pred::Str(StrMatcher::In(set)) = &t.pred else {
            panic!("expected a set: {t:?}")
        };
        assert_eq!(set.iter().count(), 2);
        assert!(set.contains(b"a") && set.contains(b"b"));
    }

    #[test]
    fn and_orders_kinds_then_tests_then_exclusions() {
        let n = Node::and(vec![
            !leaf("proc.name = a"),
            leaf("proc.cmdline contains x"),
            leaf("proc.pid = 1"),
            kind(Kind::Execve),
        ]);
        let Node::And(items) = &n else {
            panic!("expected an and: {n:?}")
        };
        assert!(matches!(items[0], Node::Kind(_)));
        assert!(matches!(items[3], Node::Not(_)));
        assert!(items[1].cost() <= items[2].cost());
    }
}
