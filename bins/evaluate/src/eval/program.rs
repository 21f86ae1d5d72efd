//! Conditions as branching programs: a condition tree flattened into an
//! array of steps, each testing one leaf and naming the step to go to when
//! the leaf holds and when it does not. Running a rule is a loop over steps
//! with no recursion and no dispatch over `and`/`or`/`not` nodes: they
//! exist only as jump targets, so short-circuiting costs nothing.
//!
//! It is not a place for what a leaf tests ([`super`] runs leaves) nor for
//! choosing which rules run ([`super::rules`]).

use std::collections::HashMap;

use crate::compile::node::Test;
use crate::compile::{KindSet, Node};
use crate::fields::Field;

/// Jump target: the condition holds.
pub const TRUE: u32 = u32::MAX;
/// Jump target: the condition does not hold.
pub const FALSE: u32 = u32::MAX - 1;
/// [`LeafRef::group`] of a leaf that runs alone.
pub const NO_GROUP: u16 = u16::MAX;

/// Which leaf a step tests, and how.
#[derive(Debug, Clone, Copy)]
pub struct LeafRef {
    /// Index into the rule set's [`Leaves`], which is also the leaf's slot
    /// in the per-event memo.
    pub leaf: u32,
    /// The field group ([`super::group`]) that answers this leaf along
    /// with its siblings, or [`NO_GROUP`]; then `bit` is the leaf's bit in
    /// the group's answer and `negate` says it is a `!=` test.
    pub group: u16,
    pub bit: u8,
    pub negate: bool,
}

impl LeafRef {
    /// Leaf `leaf`, answered alone until a group takes it.
    pub fn alone(leaf: u32) -> Self {
        LeafRef {
            leaf,
            group: NO_GROUP,
            bit: 0,
            negate: false,
        }
    }
}

/// One step: test a leaf, then jump.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub test: LeafRef,
    pub on_true: u32,
    pub on_false: u32,
}

/// What a step tests.
#[derive(Debug, Clone)]
pub enum Leaf {
    Test(Box<Test>),
    Exists(Field),
    Kind(KindSet),
}

/// The distinct leaves of a rule set: equal tests (same spelled-out key)
/// are one leaf, so they run at most once per event.
#[derive(Debug, Clone, Default)]
pub struct Leaves {
    pub items: Vec<Leaf>,
    by_key: HashMap<Box<str>, u32>,
}

impl Leaves {
    fn intern(&mut self, key: Box<str>, leaf: impl FnOnce() -> Leaf) -> u32 {
        let next = self.items.len() as u32;
        *self.by_key.entry(key).or_insert_with(|| {
            self.items.push(leaf());
            next
        })
    }

    /// The leaf number of `node` when it is a leaf (a test, `exists` or an
    /// event-type test), interning it.
    pub fn of(&mut self, node: &Node) -> Option<u32> {
        Some(match node {
            Node::Test(t) => self.intern(t.key.clone(), || Leaf::Test(t.clone())),
            Node::Exists(f) => {
                let key = format!("\u{3}exists\u{1}{}", f.display_name()).into_boxed_str();
                self.intern(key, || Leaf::Exists(f.clone()))
            }
            Node::Kind(set) => {
                let key = format!("\u{3}kind\u{1}{:?}", set.names()).into_boxed_str();
                self.intern(key, || Leaf::Kind(*set))
            }
            Node::Const(_) | Node::And(_) | Node::Or(_) | Node::Not(_) => return None,
        })
    }
}

/// Appends the steps of `node` to `steps` and returns its entry: the step
/// to start at, or [`TRUE`]/[`FALSE`] for a constant. Each leaf is emitted
/// once; `and`, `or` and `not` only wire the targets (`a and b`: when `a`
/// holds go to `b`, else to the `and`'s false target; `not` swaps them).
pub fn emit(
    node: &Node,
    on_true: u32,
    on_false: u32,
    steps: &mut Vec<Step>,
    leaves: &mut Leaves,
) -> u32 {
    match node {
        Node::Const(true) => on_true,
        Node::Const(false) => on_false,
        Node::Not(inner) => emit(inner, on_false, on_true, steps, leaves),
        // Built from the last child back, so each child knows its
        // successor's entry.
        Node::And(items) => items
            .iter()
            .rev()
            .fold(on_true, |next, n| emit(n, next, on_false, steps, leaves)),
        Node::Or(items) => items
            .iter()
            .rev()
            .fold(on_false, |next, n| emit(n, on_true, next, steps, leaves)),
        leaf => {
            let Some(leaf) = leaves.of(leaf) else {
                return on_false;
            };
            steps.push(Step {
                test: LeafRef::alone(leaf),
                on_true,
                on_false,
            });
            (steps.len() - 1) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, NoNames};
    use crate::lang::parse;

    /// Runs a program whose leaves take the truth values `truth`.
    fn run(steps: &[Step], entry: u32, truth: &[bool]) -> bool {
        let mut pc = entry;
        while pc != TRUE && pc != FALSE {
            let s = steps[pc as usize];
            pc = if truth[s.test.leaf as usize] {
                s.on_true
            } else {
                s.on_false
            };
        }
        pc == TRUE
    }

    /// The tree's value when its leaves take the truth values `truth`.
    fn tree(n: &Node, leaves: &Leaves, truth: &[bool]) -> bool {
        let of = |key: &str| {
            let i = leaves
                .items
                .iter()
                .position(|l| matches!(l, Leaf::Test(t) if &*t.key == key));
            truth[i.expect("every test has a leaf")]
        };
        match n {
            Node::Const(b) => *b,
            Node::And(xs) => xs.iter().all(|x| tree(x, leaves, truth)),
            Node::Or(xs) => xs.iter().any(|x| tree(x, leaves, truth)),
            Node::Not(x) => !tree(x, leaves, truth),
            Node::Test(t) => of(&t.key),
            other => panic!("unexpected node {other:?}"),
        }
    }

    #[test]
    fn one_step_per_leaf_and_the_same_truth_table() {
        let src = "proc.name = a and (proc.pid = 1 or not fd.num = 2) \
                   and not (proc.pid = 1 and user.name = b)";
        let c = compile(&parse(src).unwrap(), &NoNames).unwrap();
        let (mut steps, mut leaves) = (Vec::new(), Leaves::default());
        let entry = emit(&c.node, TRUE, FALSE, &mut steps, &mut leaves);
        // `proc.pid = 1` is written twice but is one leaf.
        assert_eq!(leaves.items.len(), 4);
        assert_eq!(steps.len(), 5);
        for bits in 0..16u8 {
            let t: Vec<bool> = (0..4).map(|i| bits & (1 << i) != 0).collect();
            assert_eq!(
                run(&steps, entry, &t),
                tree(&c.node, &leaves, &t),
                "leaves {bits:04b}"
            );
        }
    }

    #[test]
    fn constants_need_no_step() {
        let c = compile(&parse("proc.name in ()").unwrap(), &NoNames).unwrap();
        let (mut steps, mut leaves) = (Vec::new(), Leaves::default());
        assert_eq!(emit(&c.node, TRUE, FALSE, &mut steps, &mut leaves), FALSE);
        assert!(steps.is_empty());
    }
}
