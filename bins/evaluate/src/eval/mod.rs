//! Running compiled conditions: [`run`] evaluates one [`Node`] tree against
//! one event, and [`CompiledRuleset`] indexes many rules by event kind so
//! that an event only meets the rules that can match its type.
//!
//! It is not a place for checking or building trees ([`crate::compile`]),
//! nor for alert formatting (the front's).

mod ops;

use crate::compile::{Condition, KindSet, Node};
use crate::fields::{EventView, Shape};
use schema::table::TABLE;

pub use ops::{b64_decode, compare_values, transform};

/// Evaluates `node` for `ev`.
pub fn run(node: &Node, ev: &EventView<'_>) -> bool {
    match node {
        Node::Const(b) => *b,
        Node::Kind(set) => set.contains(ev.kind()),
        Node::And(items) => items.iter().all(|n| run(n, ev)),
        Node::Or(items) => items.iter().any(|n| run(n, ev)),
        Node::Not(inner) => !run(inner, ev),
        Node::Exists(f) => !f.extract(ev).is_na(),
        Node::Test(t) => {
            let vals = t.field.extract(ev);
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
    }
}

/// One rule's condition, and the caller's number for the rule.
#[derive(Debug, Clone)]
struct Entry {
    id: usize,
    node: Node,
}

/// Compiled rules, indexed by event kind.
#[derive(Debug, Clone, Default)]
pub struct CompiledRuleset {
    entries: Vec<Entry>,
    /// For each kind ordinal, the entries that can match it, in the order
    /// the rules were given.
    by_kind: Vec<Vec<u32>>,
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
        CompiledRuleset { entries, by_kind }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller's numbers of the rules `ev` matches, in rule order.
    pub fn evaluate<'s, 'e>(
        &'s self,
        ev: &'e EventView<'e>,
    ) -> impl Iterator<Item = usize> + use<'s, 'e> {
        let candidates: &'s [u32] = self
            .by_kind
            .get(ev.kind() as usize)
            .map_or(&[], Vec::as_slice);
        candidates.iter().filter_map(move |&i| {
            let e = &self.entries[i as usize];
            run(&e.node, ev).then_some(e.id)
        })
    }

    /// The first matching rule (Falco's `rule_matching: first`).
    pub fn first(&self, ev: &EventView<'_>) -> Option<usize> {
        self.evaluate(ev).next()
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
