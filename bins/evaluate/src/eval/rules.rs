//! [`CompiledRuleset`]: many rules, compiled for each event kind into one
//! program. For each kind, every candidate rule's condition is specialised
//! to that kind (event-type tests become constants, so branches for other
//! kinds vanish and rules that cannot match are dropped), flattened into a
//! branching program ([`super::program`]), and its string tests on one
//! field grouped so that one lookup answers them all ([`super::group`]).
//! Each distinct test runs at most once per event, whichever rules use it.
//!
//! It is not a place for what tests mean ([`super::test`]) nor for rule
//! selection or alert formatting ([`crate::ruleset`]).

use std::cell::RefCell;

use schema::table::TABLE;

use super::group::{self, Group, MAX_GROUP_TESTS};
use super::program::{self, Leaf, Leaves, Step, FALSE, NO_GROUP, TRUE};
use crate::compile::kinds::specialize;
use crate::compile::node::Test;
use crate::compile::{Condition, KindSet, Node};
use crate::fields::EventView;
use crate::fields::{Field, Value, Values};

/// Per-event results of a rule set's leaves. A slot is valid while its
/// stamp equals the current epoch, so starting a new event costs one
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

    fn get(&self, slot: usize) -> Option<bool> {
        (self.stamp.get(slot) == Some(&self.epoch)).then(|| self.value[slot])
    }

    fn set(&mut self, slot: usize, v: bool) {
        if slot < self.stamp.len() {
            self.stamp[slot] = self.epoch;
            self.value[slot] = v;
        }
    }
}

/// The rules that can match one event kind, as one program.
#[derive(Debug, Clone, Default)]
struct KindProgram {
    steps: Vec<Step>,
    /// (entry step, caller's rule number), in rule order.
    rules: Vec<(u32, usize)>,
    groups: Vec<Group>,
}

/// Compiled rules, indexed by event kind, sharing tests: a test several
/// rules use (`evt.is_open_read = true`, `fd.typechar = f`…) runs at most
/// once per event.
#[derive(Debug, Clone, Default)]
pub struct CompiledRuleset {
    leaves: Leaves,
    /// One program per kind ordinal.
    by_kind: Vec<KindProgram>,
    memo: RefCell<Memo>,
}

impl CompiledRuleset {
    /// Indexes `rules`: (caller's rule number, compiled condition), in
    /// priority order (the order alerts come out in).
    pub fn new(rules: impl IntoIterator<Item = (usize, Condition)>) -> Self {
        let rules: Vec<(usize, Condition)> = rules.into_iter().collect();
        let mut leaves = Leaves::default();
        let by_kind = TABLE
            .iter()
            .map(|row| {
                let mut prog = KindProgram::default();
                for (id, cond) in rules.iter().filter(|(_, c)| c.kinds.contains(row.kind)) {
                    let node = specialize(&cond.node, row.kind);
                    if matches!(node, Node::Const(false)) {
                        continue;
                    }
                    let entry = program::emit(&node, TRUE, FALSE, &mut prog.steps, &mut leaves);
                    prog.rules.push((entry, *id));
                }
                prog.groups = build_groups(&mut prog.steps, &leaves);
                prog
            })
            .collect();
        let slots = leaves.items.len();
        CompiledRuleset {
            leaves,
            by_kind,
            memo: RefCell::new(Memo::new(slots)),
        }
    }

    pub fn len(&self) -> usize {
        self.by_kind
            .iter()
            .flat_map(|p| p.rules.iter().map(|r| r.1))
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.iter().all(|p| p.rules.is_empty())
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
        let Some(prog) = self.by_kind.get(ev.kind() as usize) else {
            return;
        };
        if prog.rules.is_empty() {
            return;
        }
        let mut memo = self.memo.borrow_mut();
        memo.next_event();
        for &(entry, id) in &prog.rules {
            if self.run(prog, entry, ev, &mut memo) {
                out.push(id);
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
            .map(|p| p.rules.len())
            .sum()
    }

    fn run(&self, prog: &KindProgram, entry: u32, ev: &EventView<'_>, memo: &mut Memo) -> bool {
        let mut pc = entry;
        loop {
            match pc {
                TRUE => return true,
                FALSE => return false,
                _ => {}
            }
            let Some(step) = prog.steps.get(pc as usize) else {
                return false;
            };
            pc = if self.leaf(prog, step, ev, memo) {
                step.on_true
            } else {
                step.on_false
            };
        }
    }

    fn leaf(&self, prog: &KindProgram, step: &Step, ev: &EventView<'_>, memo: &mut Memo) -> bool {
        let slot = step.leaf as usize;
        if let Some(v) = memo.get(slot) {
            return v;
        }
        if let Some(g) = prog.groups.get(step.group as usize) {
            self.run_group(g, ev, memo);
            if let Some(v) = memo.get(slot) {
                return v;
            }
        }
        let v = match self.leaves.items.get(slot) {
            Some(Leaf::Test(t)) => super::test(t, ev),
            Some(Leaf::Exists(f)) => !f.extract(ev).is_na(),
            Some(Leaf::Kind(set)) => set.contains(ev.kind()),
            None => false,
        };
        memo.set(slot, v);
        v
    }

    /// Reads the group's field once and records every member's result.
    fn run_group(&self, g: &Group, ev: &EventView<'_>, memo: &mut Memo) {
        match g.field.extract(ev) {
            Values::One(Value::Bytes(b)) => {
                let hits = g.hits(&b);
                for (i, &(slot, negate)) in g.members.iter().enumerate() {
                    memo.set(slot as usize, (hits >> i & 1 != 0) != negate);
                }
            }
            // No value: every comparison is false, `!=` included.
            Values::Na => {
                for &(slot, _) in &g.members {
                    memo.set(slot as usize, false);
                }
            }
            // Not a plain string after all: the members run alone.
            _ => {}
        }
    }
}

/// Groups the groupable tests of one kind's program by field, and points
/// their steps at their group. A field with a single such test keeps it
/// alone: a group would only add work.
fn build_groups(steps: &mut [Step], leaves: &Leaves) -> Vec<Group> {
    let mut by_field: Vec<(Field, Vec<(u32, &Test)>)> = Vec::new();
    for s in steps.iter() {
        let Some(Leaf::Test(t)) = leaves.items.get(s.leaf as usize) else {
            continue;
        };
        if !group::groupable(t) {
            continue;
        }
        match by_field.iter_mut().find(|(f, _)| *f == t.field) {
            Some((_, members)) if members.iter().any(|m| m.0 == s.leaf) => {}
            Some((_, members)) => members.push((s.leaf, t)),
            None => by_field.push((t.field.clone(), vec![(s.leaf, t)])),
        }
    }
    let mut groups = Vec::new();
    for (field, members) in by_field.into_iter().filter(|(_, m)| m.len() > 1) {
        for chunk in members.chunks(MAX_GROUP_TESTS) {
            let id = groups.len() as u32;
            for s in steps.iter_mut() {
                if chunk.iter().any(|m| m.0 == s.leaf) {
                    s.group = id;
                }
            }
            groups.push(Group::new(field.clone(), chunk));
        }
    }
    debug_assert!(steps
        .iter()
        .all(|s| s.group == NO_GROUP || (s.group as usize) < groups.len()));
    groups
}
