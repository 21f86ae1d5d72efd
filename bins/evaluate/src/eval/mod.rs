//! Running compiled conditions: [`run`] evaluates one [`Node`] tree against
//! one event, and [`CompiledRuleset`] indexes many rules by event kind so
//! that an event only meets the rules that can match its type.
//!
//! It is not a place for checking or building trees ([`crate::compile`]),
//! nor for alert formatting (the front's).

mod ops;

use std::cell::RefCell;
use std::collections::HashMap;

use crate::compile::node::Test;
use crate::compile::{Condition, KindSet, Node};
use crate::fields::{EventView, Shape};
use schema::table::TABLE;

pub use ops::{b64_decode, compare_values, transform};

/// Evaluates `node` for `ev`.
pub fn run(node: &Node, ev: &EventView<'_>) -> bool {
    eval(node, ev, &mut NoMemo)
}

/// Results of shared tests for the current event.
trait Cache {
    fn get(&self, slot: u32) -> Option<bool>;
    fn set(&mut self, slot: u32, v: bool);
}

struct NoMemo;

impl Cache for NoMemo {
    fn get(&self, _: u32) -> Option<bool> {
        None
    }
    fn set(&mut self, _: u32, _: bool) {}
}

/// Per-event results of a rule set's shared tests. A slot is valid while
/// its stamp equals the current epoch, so starting a new event costs one
/// increment rather than clearing every slot.
#[derive(Debug, Clone, Default)]
struct Memo {
    epoch: u32,
    stamp: Vec<u32>,
    value: Vec<bool>,
}

impl Memo {
    fn new(slots: usize) -> Self {
        Memo {
            epoch: 1,
            stamp: vec![0; slots],
            value: vec![false; slots],
        }
    }

    fn next_event(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
    }
}

impl Cache for Memo {
    fn get(&self, slot: u32) -> Option<bool> {
        let i = slot as usize;
        (self.stamp.get(i) == Some(&self.epoch)).then(|| self.value[i])
    }

    fn set(&mut self, slot: u32, v: bool) {
        let i = slot as usize;
        if i < self.stamp.len() {
            self.stamp[i] = self.epoch;
            self.value[i] = v;
        }
    }
}

fn eval(node: &Node, ev: &EventView<'_>, memo: &mut impl Cache) -> bool {
    match node {
        Node::Const(b) => *b,
        Node::Kind(set) => set.contains(ev.kind()),
        Node::And(items) => items.iter().all(|n| eval(n, ev, memo)),
        Node::Or(items) => items.iter().any(|n| eval(n, ev, memo)),
        Node::Not(inner) => !eval(inner, ev, memo),
        Node::Exists(f) => !f.extract(ev).is_na(),
        Node::Test(t) => {
            if let Some(v) = memo.get(t.slot) {
                return v;
            }
            let v = test(t, ev);
            memo.set(t.slot, v);
            v
        }
    }
}

fn test(t: &Test, ev: &EventView<'_>) -> bool {
    let vals = t.field.extract(ev);
    // The common case, one value and no transformer, without iterators.
    if let (crate::fields::Values::One(v), true) = (&vals, t.transformers.is_empty()) {
        let hit = ops::pred(&t.pred, v, ev);
        return if t.negate { !hit } else { hit };
    }
    if vals.is_na() {
        return false;
    }
    let hit = |v: &crate::fields::Value<'_>| {
        if t.transformers.is_empty() {
            ops::pred(&t.pred, v, ev)
        } else {
            ops::pred(&t.pred, &transform(&t.transformers, v), ev)
        }
    };
    match (t.shape, t.negate) {
        // Falco tests each ancestor with the operator as written.
        (Shape::AnyOf, true) => vals.iter().any(|v| !hit(v)),
        (_, true) => !vals.iter().any(hit),
        (_, false) if t.all_items => vals.iter().all(hit),
        (_, false) => vals.iter().any(hit),
    }
}

/// Gives every distinct test of `nodes` a memo slot; returns the count.
fn assign_slots<'a>(nodes: impl Iterator<Item = &'a mut Node>) -> usize {
    let mut slots: HashMap<Box<str>, u32> = HashMap::new();
    fn walk(n: &mut Node, slots: &mut HashMap<Box<str>, u32>) {
        match n {
            Node::And(items) | Node::Or(items) => items.iter_mut().for_each(|i| walk(i, slots)),
            Node::Not(inner) => walk(inner, slots),
            Node::Test(t) => {
                let next = slots.len() as u32;
                t.slot = *slots.entry(t.key.clone()).or_insert(next);
            }
            Node::Const(_) | Node::Kind(_) | Node::Exists(_) => {}
        }
    }
    for n in nodes {
        walk(n, &mut slots);
    }
    slots.len()
}

/// One rule's condition, and the caller's number for the rule.
#[derive(Debug, Clone)]
struct Entry {
    id: usize,
    node: Node,
}

/// Compiled rules, indexed by event kind, sharing tests: a test several
/// rules use (`evt.is_open_read = true`, `fd.typechar = f`…) runs at most
/// once per event.
#[derive(Debug, Clone, Default)]
pub struct CompiledRuleset {
    entries: Vec<Entry>,
    /// For each kind ordinal, the entries that can match it, in the order
    /// the rules were given.
    by_kind: Vec<Vec<u32>>,
    memo: RefCell<Memo>,
}

impl CompiledRuleset {
    /// Indexes `rules`: (caller's rule number, compiled condition), in
    /// priority order (the order alerts come out in).
    pub fn new(rules: impl IntoIterator<Item = (usize, Condition)>) -> Self {
        let mut entries = Vec::new();
        let mut by_kind = vec![Vec::new(); TABLE.len()];
        for (id, cond) in rules {
            let idx = entries.len() as u32;
            for k in cond.kinds.iter() {
                if let Some(slot) = by_kind.get_mut(k as usize) {
                    slot.push(idx);
                }
            }
            entries.push(Entry {
                id,
                node: cond.node,
            });
        }
        let slots = assign_slots(entries.iter_mut().map(|e| &mut e.node));
        CompiledRuleset {
            entries,
            by_kind,
            memo: RefCell::new(Memo::new(slots)),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller's numbers of the rules `ev` matches, in rule order.
    pub fn evaluate(&self, ev: &EventView<'_>) -> std::vec::IntoIter<usize> {
        let mut out = Vec::new();
        self.matches(ev, false, &mut out);
        out.into_iter()
    }

    /// Puts the caller's numbers of the rules `ev` matches into `out` (at
    /// most one when `first`, Falco's `rule_matching: first`).
    pub fn matches(&self, ev: &EventView<'_>, first: bool, out: &mut Vec<usize>) {
        out.clear();
        let Some(candidates) = self.by_kind.get(ev.kind() as usize) else {
            return;
        };
        if candidates.is_empty() {
            return;
        }
        let mut memo = self.memo.borrow_mut();
        memo.next_event();
        for &i in candidates {
            let e = &self.entries[i as usize];
            if eval(&e.node, ev, &mut *memo) {
                out.push(e.id);
                if first {
                    return;
                }
            }
        }
    }

    /// The first matching rule (Falco's `rule_matching: first`).
    pub fn first(&self, ev: &EventView<'_>) -> Option<usize> {
        let mut out = Vec::new();
        self.matches(ev, true, &mut out);
        out.pop()
    }

    /// Number of rules that can match events of each kind (for reports).
    pub fn candidates(&self, kinds: KindSet) -> usize {
        kinds
            .iter()
            .filter_map(|k| self.by_kind.get(k as usize))
            .map(Vec::len)
            .sum()
    }
}
