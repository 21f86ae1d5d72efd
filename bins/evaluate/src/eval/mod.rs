//! Running compiled conditions: [`run`] evaluates one [`Node`] tree against
//! one event, and [`CompiledRuleset`] compiles many rules, per event kind,
//! into programs that share their tests, so that an event only meets the
//! rules that can match its type and each test runs once.
//!
//! It is not a place for checking or building trees ([`crate::compile`]),
//! nor for alert formatting (the front's).

mod group;
mod ops;
mod program;
mod rules;

use crate::compile::node::Test;
use crate::compile::Node;
use crate::fields::{EventView, Shape};

pub use ops::{b64_decode, compare_values, transform};
pub use rules::CompiledRuleset;

/// True when `cond` holds for `ev`: its kind is one the condition can
/// match, and the condition's tree is true for it.
pub fn matches(cond: &crate::compile::Condition, ev: &EventView<'_>) -> bool {
    cond.kinds.contains(ev.kind()) && run(&cond.node, ev)
}

/// Evaluates `node` for `ev`.
pub fn run(node: &Node, ev: &EventView<'_>) -> bool {
    match node {
        Node::Const(b) => *b,
        Node::Kind(set) => set.contains(ev.kind()),
        Node::And(items) => items.iter().all(|n| run(n, ev)),
        Node::Or(items) => items.iter().any(|n| run(n, ev)),
        Node::Not(inner) => !run(inner, ev),
        Node::Exists(f) => !f.extract(ev).is_na(),
        Node::Test(t) => test(t, ev),
    }
}

/// One comparison for `ev`.
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
