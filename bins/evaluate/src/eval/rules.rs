//! [`CompiledRuleset`]: many rules, compiled for each event kind into one
//! decision structure.
//!
//! For each kind, every candidate rule's condition is specialised to that
//! kind (event-type tests become constants, so branches for other kinds
//! vanish and rules that cannot match are dropped). The tests a rule starts
//! with (`evt.is_open_read = true and fd.num >= 0 and fd.typechar = f…`)
//! become a path in a trie shared by all the kind's rules, so a failing
//! start skips every rule that shares it at once; the rest of each rule is
//! a branching program ([`super::program`]). String tests on one field are
//! answered together by one lookup ([`super::group`]), and every distinct
//! test runs at most once per event, whichever rules use it.
//!
//! Tests on fields that read only a thread's state (`proc.name`,
//! `user.name`, `container.id`…, see `FieldDef::state_only`) give the same
//! answer for every event that takes its parts from the same `state`
//! frame, so their answers are kept per state ([`StateSlot`]) and computed
//! once for all of that thread's events rather than once per event.
//!
//! It is not a place for what tests mean ([`super::test`]) nor for rule
//! selection or alert formatting ([`crate::ruleset`]).

use std::cell::RefCell;

use schema::table::TABLE;

use super::group::{self, Group, MAX_GROUP_TESTS};
use super::program::{self, Leaf, LeafRef, Leaves, Step, FALSE, NO_GROUP, TRUE};
use crate::compile::kinds::specialize;
use crate::compile::node::{Pred, Test};
use crate::compile::{Condition, KindSet, Node};
use crate::fields::{EventView, Field, Value, Values};

/// What a group's field held for the current event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum GroupState {
    /// Not read yet for this event.
    #[default]
    Unknown,
    /// No value: every member is false.
    Na,
    /// One or more strings: the members that matched any of them, and
    /// those that matched all of them.
    Hits { any: u128, all: u128 },
    /// Not a plain string: each member runs alone.
    Other,
}

/// Per-event results. A leaf slot holds `epoch << 1 | value` once computed
/// for the current event, so starting a new event costs one increment
/// rather than clearing every slot.
#[derive(Debug, Clone, Default)]
struct Memo {
    epoch: u32,
    leaves: Vec<u32>,
    groups: Vec<(u32, GroupState)>,
    /// Per-state answers, and the slot of the current event's state when
    /// it takes all of its state parts from one (`EventView::state_id`).
    states: Vec<StateSlot>,
    current: Option<usize>,
}

/// Epochs stay below this, so that `epoch << 1` fits a slot.
const MAX_EPOCH: u32 = u32::MAX >> 1;

/// States whose test answers are kept, direct-mapped by state id: a
/// thread's state usually serves a run of its events, and a few hundred
/// busy threads at once is a lot. A slot holds a byte per state-only test
/// and a 48-byte group answer per state-only group, so this bounds that
/// memory: the default rules (compat + kestrel's) have 174 such tests and
/// 56 such groups, 2.9 KB a slot, 1.5 MB in all, allocated on first use.
const STATE_MEMO_SLOTS: usize = 512;

/// Not a state-only leaf or group.
const NOT_STATE: u32 = u32::MAX;

/// The answers of state-only tests and groups for one thread state.
#[derive(Debug, Clone, Default)]
struct StateSlot {
    /// `schema::state::State::id`; 0 for a slot never used.
    id: u64,
    /// Per state-only leaf: 0 not computed, 1 false, 2 true.
    leaves: Vec<u8>,
    groups: Vec<GroupState>,
}

impl Memo {
    fn new(leaves: usize, groups: usize) -> Self {
        Memo {
            epoch: 1,
            leaves: vec![0; leaves],
            groups: vec![(0, GroupState::Unknown); groups],
            states: Vec::new(),
            current: None,
        }
    }

    /// Points the per-state answers at the state `id` (the current
    /// event's), starting its slot afresh if it held another state.
    fn enter_state(&mut self, id: Option<u64>, leaves: usize, groups: usize) {
        self.current = None;
        let Some(id) = id else { return };
        if leaves == 0 && groups == 0 {
            return;
        }
        if self.states.is_empty() {
            self.states = vec![StateSlot::default(); STATE_MEMO_SLOTS];
        }
        let i = (id % STATE_MEMO_SLOTS as u64) as usize;
        let Some(slot) = self.states.get_mut(i) else {
            return;
        };
        if slot.id != id {
            slot.id = id;
            slot.leaves.clear();
            slot.leaves.resize(leaves, 0);
            slot.groups.clear();
            slot.groups.resize(groups, GroupState::Unknown);
        }
        self.current = Some(i);
    }

    fn state_slot(&mut self) -> Option<&mut StateSlot> {
        let i = self.current?;
        self.states.get_mut(i)
    }

    fn next_event(&mut self) {
        self.epoch += 1;
        if self.epoch >= MAX_EPOCH {
            self.leaves.iter_mut().for_each(|s| *s = 0);
            self.groups.iter_mut().for_each(|g| g.0 = 0);
            self.epoch = 1;
        }
    }

    fn leaf(&self, slot: usize) -> Option<bool> {
        let s = *self.leaves.get(slot)?;
        (s >> 1 == self.epoch).then_some(s & 1 != 0)
    }

    fn set_leaf(&mut self, slot: usize, v: bool) {
        if let Some(s) = self.leaves.get_mut(slot) {
            *s = self.epoch << 1 | v as u32;
        }
    }

    fn group(&self, g: usize) -> GroupState {
        match self.groups.get(g) {
            Some(&(stamp, state)) if stamp == self.epoch => state,
            _ => GroupState::Unknown,
        }
    }

    fn set_group(&mut self, g: usize, state: GroupState) {
        if let Some(slot) = self.groups.get_mut(g) {
            *slot = (self.epoch, state);
        }
    }
}

/// A node of the trie of rule starts, in preorder: when its test gives
/// `want`, its rules run and its children are visited; otherwise the whole
/// subtree is skipped.
#[derive(Debug, Clone)]
struct Gate {
    test: LeafRef,
    want: bool,
    /// The index just past this node's subtree.
    skip: u32,
    /// (entry step of the rule's rest, rule's position in the kind's
    /// rules), for the rules whose start ends here.
    rules: Vec<(u32, u32)>,
}

/// The rules that can match one event kind.
#[derive(Debug, Clone, Default)]
struct KindProgram {
    steps: Vec<Step>,
    /// Rules that start with no shared test: (entry, position).
    open: Vec<(u32, u32)>,
    gates: Vec<Gate>,
    groups: Vec<Group>,
    /// Per group: its slot among the rule set's state-only groups, or
    /// [`NOT_STATE`].
    state_groups: Vec<u32>,
    /// The caller's number of each of the kind's rules, in rule order.
    ids: Vec<usize>,
}

/// Compiled rules, indexed by event kind, sharing tests: a test several
/// rules use (`evt.is_open_read = true`, `fd.typechar = f`…) runs at most
/// once per event.
#[derive(Debug, Clone, Default)]
pub struct CompiledRuleset {
    leaves: Leaves,
    /// Per leaf: its slot among the state-only leaves, or [`NOT_STATE`].
    state_leaf: Vec<u32>,
    state_leaves: usize,
    state_groups: usize,
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
        let mut by_kind: Vec<KindProgram> = TABLE
            .iter()
            .map(|row| {
                let candidates = rules
                    .iter()
                    .filter(|(_, c)| c.kinds.contains(row.kind))
                    .map(|(id, c)| (*id, specialize(&c.node, row.kind)))
                    .filter(|(_, n)| !matches!(n, Node::Const(false)));
                KindProgram::new(candidates, &mut leaves)
            })
            .collect();
        let groups = by_kind.iter().map(|p| p.groups.len()).max().unwrap_or(0);
        let memo = Memo::new(leaves.items.len(), groups);
        let mut state_leaves = 0;
        let state_leaf = leaves
            .items
            .iter()
            .map(|l| match state_only(l) {
                true => {
                    state_leaves += 1;
                    state_leaves as u32 - 1
                }
                false => NOT_STATE,
            })
            .collect();
        let mut state_groups = 0;
        for prog in &mut by_kind {
            prog.state_groups = prog
                .groups
                .iter()
                .map(|g| match g.field.state_only() {
                    true => {
                        state_groups += 1;
                        state_groups as u32 - 1
                    }
                    false => NOT_STATE,
                })
                .collect();
        }
        CompiledRuleset {
            leaves,
            state_leaf,
            state_leaves,
            state_groups,
            by_kind,
            memo: RefCell::new(memo),
        }
    }

    /// The number of rules that can match some event kind.
    pub fn len(&self) -> usize {
        let mut ids: Vec<usize> = self.by_kind.iter().flat_map(|p| p.ids.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.iter().all(|p| p.ids.is_empty())
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
        if prog.ids.is_empty() {
            return;
        }
        let mut memo = self.memo.borrow_mut();
        memo.next_event();
        memo.enter_state(ev.state_id(), self.state_leaves, self.state_groups);
        let run = |rules: &[(u32, u32)], memo: &mut Memo, out: &mut Vec<usize>| {
            for &(entry, pos) in rules {
                if self.run(prog, entry, ev, memo) {
                    out.push(pos as usize);
                }
            }
        };
        run(&prog.open, &mut memo, out);
        let mut i = 0;
        while let Some(gate) = prog.gates.get(i) {
            if self.value(prog, gate.test, ev, &mut memo) == gate.want {
                run(&gate.rules, &mut memo, out);
                i += 1;
            } else {
                i = gate.skip as usize;
            }
        }
        // The trie visits rules out of order: restore rule order, then
        // positions become the caller's numbers.
        out.sort_unstable();
        if first {
            out.truncate(1);
        }
        for x in out.iter_mut() {
            *x = prog.ids.get(*x).copied().unwrap_or(usize::MAX);
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
            .map(|p| p.ids.len())
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
            pc = if self.value(prog, step.test, ev, memo) {
                step.on_true
            } else {
                step.on_false
            };
        }
    }

    /// The value of one leaf for the current event.
    fn value(&self, prog: &KindProgram, r: LeafRef, ev: &EventView<'_>, memo: &mut Memo) -> bool {
        if r.group != NO_GROUP {
            let g = r.group as usize;
            let mut state = memo.group(g);
            if state == GroupState::Unknown {
                state = self.group_state(prog, g, ev, memo);
                memo.set_group(g, state);
            }
            match state {
                // `!=` holds when some value differs: for one value, when it
                // differs; for ancestors, when one of them does.
                GroupState::Hits { any, all } => {
                    return match r.negate {
                        false => any >> r.bit & 1 != 0,
                        true => all >> r.bit & 1 == 0,
                    }
                }
                GroupState::Na => return false,
                GroupState::Unknown | GroupState::Other => {}
            }
        }
        let slot = r.leaf as usize;
        if let Some(v) = memo.leaf(slot) {
            return v;
        }
        let of_state = self.state_leaf.get(slot).copied().unwrap_or(NOT_STATE);
        let known = match (of_state, memo.state_slot()) {
            (NOT_STATE, _) | (_, None) => None,
            (i, Some(st)) => match st.leaves.get(i as usize) {
                Some(1) => Some(false),
                Some(2) => Some(true),
                _ => None,
            },
        };
        let v = known.unwrap_or_else(|| {
            let v = match self.leaves.items.get(slot) {
                Some(Leaf::Test(t)) => super::test(t, ev),
                Some(Leaf::Exists(f)) => !f.extract(ev).is_na(),
                Some(Leaf::Kind(set)) => set.contains(ev.kind()),
                None => false,
            };
            if let (true, Some(st)) = (of_state != NOT_STATE, memo.state_slot()) {
                if let Some(b) = st.leaves.get_mut(of_state as usize) {
                    *b = 1 + v as u8;
                }
            }
            v
        });
        memo.set_leaf(slot, v);
        v
    }

    /// Group `g`'s answer for the current event: kept from an earlier
    /// event of the same state when the group's field is state-only.
    fn group_state(
        &self,
        prog: &KindProgram,
        g: usize,
        ev: &EventView<'_>,
        memo: &mut Memo,
    ) -> GroupState {
        let of_state = prog.state_groups.get(g).copied().unwrap_or(NOT_STATE);
        if of_state != NOT_STATE {
            if let Some(st) = memo.state_slot() {
                let kept = st.groups.get(of_state as usize).copied();
                if let Some(s) = kept.filter(|s| *s != GroupState::Unknown) {
                    return s;
                }
            }
        }
        let state = prog
            .groups
            .get(g)
            .map_or(GroupState::Other, |g| read(g, ev));
        if of_state != NOT_STATE {
            if let Some(slot) = memo
                .state_slot()
                .and_then(|st| st.groups.get_mut(of_state as usize))
            {
                *slot = state;
            }
        }
        state
    }
}

/// Whether a leaf's answer depends only on the thread's state: a test or
/// `exists` on a state-only field, not compared with another field
/// (`val(fd.name)` reads the event).
fn state_only(leaf: &Leaf) -> bool {
    match leaf {
        Leaf::Test(t) => t.field.state_only() && !matches!(t.pred, Pred::Field { .. }),
        Leaf::Exists(f) => f.state_only(),
        Leaf::Kind(_) => false,
    }
}

/// Reads a group's field once and matches it against every member.
fn read(g: &Group, ev: &EventView<'_>) -> GroupState {
    match g.field.extract(ev) {
        Values::One(Value::Bytes(b)) => {
            let h = g.hits(&b);
            GroupState::Hits { any: h, all: h }
        }
        Values::Many(vals) if !vals.is_empty() => {
            let (mut any, mut all) = (0, u128::MAX);
            for v in &vals {
                let Value::Bytes(b) = v else {
                    return GroupState::Other;
                };
                let h = g.hits(b);
                any |= h;
                all &= h;
            }
            GroupState::Hits { any, all }
        }
        Values::Na | Values::Many(_) => GroupState::Na,
        Values::One(_) | Values::Two(..) => GroupState::Other,
    }
}

/// A trie node while building: its test, rules and children.
struct BuildGate {
    leaf: u32,
    want: bool,
    rules: Vec<(u32, u32)>,
    children: Vec<BuildGate>,
}

impl KindProgram {
    /// Builds the program of one kind from its candidate rules (caller's
    /// number, condition specialised to the kind), in rule order.
    fn new(rules: impl Iterator<Item = (usize, Node)>, leaves: &mut Leaves) -> Self {
        let mut prog = KindProgram::default();
        let mut roots: Vec<BuildGate> = Vec::new();
        for (id, node) in rules {
            let pos = prog.ids.len() as u32;
            prog.ids.push(id);
            let (start, rest) = split_start(node, leaves);
            let entry = program::emit(&rest, TRUE, FALSE, &mut prog.steps, leaves);
            let mut level = &mut roots;
            let mut rules = &mut prog.open;
            for (leaf, want) in start {
                let i = match level.iter().position(|g| g.leaf == leaf && g.want == want) {
                    Some(i) => i,
                    None => {
                        level.push(BuildGate {
                            leaf,
                            want,
                            rules: Vec::new(),
                            children: Vec::new(),
                        });
                        level.len() - 1
                    }
                };
                let gate = &mut level[i];
                rules = &mut gate.rules;
                level = &mut gate.children;
            }
            rules.push((entry, pos));
        }
        flatten(roots, &mut prog.gates);
        prog.groups = build_groups(&mut prog, leaves);
        prog
    }
}

/// Splits a rule into the leaves it starts with (leaf, value it needs) and
/// the rest: the leading tests (or negated tests) of a top-level `and`.
fn split_start(node: Node, leaves: &mut Leaves) -> (Vec<(u32, bool)>, Node) {
    fn as_leaf(n: &Node, leaves: &mut Leaves) -> Option<(u32, bool)> {
        match n {
            Node::Not(inner) => as_leaf(inner, leaves).map(|(l, want)| (l, !want)),
            Node::And(_) | Node::Or(_) | Node::Const(_) => None,
            leaf => leaves.of(leaf).map(|l| (l, true)),
        }
    }
    match node {
        Node::And(items) => {
            let mut start = Vec::new();
            let mut rest = Vec::new();
            for n in items {
                match as_leaf(&n, leaves) {
                    Some(l) if rest.is_empty() => start.push(l),
                    _ => rest.push(n),
                }
            }
            let rest = match rest.len() {
                0 => Node::Const(true),
                1 => rest.pop().unwrap_or(Node::Const(true)),
                _ => Node::And(rest),
            };
            (start, rest)
        }
        n => match as_leaf(&n, leaves) {
            Some(l) => (vec![l], Node::Const(true)),
            None => (Vec::new(), n),
        },
    }
}

/// Lays the trie out in preorder, each node knowing where its subtree ends.
fn flatten(level: Vec<BuildGate>, out: &mut Vec<Gate>) {
    for g in level {
        let at = out.len();
        out.push(Gate {
            test: LeafRef::alone(g.leaf),
            want: g.want,
            skip: 0,
            rules: g.rules,
        });
        flatten(g.children, out);
        out[at].skip = out.len() as u32;
    }
}

/// Groups the groupable tests of one kind's program by field, and points
/// their steps and gates at their group. A field with a single such test
/// keeps it alone: a group would only add work.
fn build_groups(prog: &mut KindProgram, leaves: &Leaves) -> Vec<Group> {
    let used = prog
        .steps
        .iter()
        .map(|s| s.test.leaf)
        .chain(prog.gates.iter().map(|g| g.test.leaf));
    let mut by_field: Vec<(Field, Vec<(u32, &Test)>)> = Vec::new();
    for leaf in used {
        let Some(Leaf::Test(t)) = leaves.items.get(leaf as usize) else {
            continue;
        };
        if !group::groupable(t) {
            continue;
        }
        match by_field.iter_mut().find(|(f, _)| *f == t.field) {
            Some((_, members)) if members.iter().any(|m| m.0 == leaf) => {}
            Some((_, members)) => members.push((leaf, t)),
            None => by_field.push((t.field.clone(), vec![(leaf, t)])),
        }
    }
    let mut groups = Vec::new();
    for (field, members) in by_field.into_iter().filter(|(_, m)| m.len() > 1) {
        for chunk in members.chunks(MAX_GROUP_TESTS) {
            let Ok(id) = u16::try_from(groups.len()) else {
                return groups;
            };
            if id == NO_GROUP {
                return groups;
            }
            let refs = prog
                .steps
                .iter_mut()
                .map(|s| &mut s.test)
                .chain(prog.gates.iter_mut().map(|g| &mut g.test));
            for r in refs {
                if let Some(bit) = chunk.iter().position(|m| m.0 == r.leaf) {
                    r.group = id;
                    r.bit = bit as u8;
                    r.negate = chunk[bit].1.negate;
                }
            }
            let tests: Vec<&Test> = chunk.iter().map(|m| m.1).collect();
            groups.push(Group::new(field.clone(), &tests));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, NoNames};
    use crate::fields::sample::{self, Ancestor, Event, Thread};
    use crate::lang::parse;
    use schema::Kind;

    fn set(srcs: &[&str]) -> CompiledRuleset {
        CompiledRuleset::new(
            srcs.iter()
                .map(|s| compile(&parse(s).unwrap(), &NoNames).unwrap())
                .enumerate(),
        )
    }

    fn exec_with_ancestors(names: &[&str]) -> Event {
        Event {
            kind: Kind::Execve,
            thread: Some(Thread {
                name: "cat".into(),
                ancestors: names
                    .iter()
                    .map(|n| Ancestor {
                        name: n.to_string(),
                        ..Ancestor::default()
                    })
                    .collect(),
                ..Thread::default()
            }),
            ..Event::default()
        }
    }

    #[test]
    fn memo_forgets_across_events_and_epoch_wraps() {
        let mut m = Memo::new(2, 1);
        m.set_leaf(0, true);
        m.set_group(0, GroupState::Na);
        assert_eq!(m.leaf(0), Some(true));
        assert_eq!(m.leaf(1), None);
        m.next_event();
        assert_eq!(m.leaf(0), None);
        assert_eq!(m.group(0), GroupState::Unknown);
        // The last epoch before the wrap, then the wrap: nothing recorded
        // before it may read as current.
        m.epoch = MAX_EPOCH - 1;
        m.set_leaf(1, false);
        m.set_group(0, GroupState::Other);
        m.next_event();
        assert_eq!(m.epoch, 1);
        assert_eq!(m.leaf(1), None);
        assert_eq!(m.group(0), GroupState::Unknown);
        m.set_leaf(1, true);
        assert_eq!(m.leaf(1), Some(true));
    }

    #[test]
    fn a_state_slot_taken_by_another_state_starts_afresh() {
        let mut m = Memo::new(1, 1);
        m.enter_state(Some(1), 2, 1);
        let st = m.state_slot().expect("a slot for state 1");
        st.leaves[1] = 2;
        st.groups[0] = GroupState::Na;
        // The same state, another event: the answers are still there.
        m.enter_state(Some(1), 2, 1);
        assert_eq!(m.state_slot().map(|s| s.leaves[1]), Some(2));
        // No state, or an event with its own parts: no slot.
        m.enter_state(None, 2, 1);
        assert!(m.state_slot().is_none());
        // A state whose id maps to the same slot: nothing of state 1 shows.
        m.enter_state(Some(1 + STATE_MEMO_SLOTS as u64), 2, 1);
        let st = m.state_slot().expect("a slot");
        assert_eq!(st.leaves, vec![0, 0]);
        assert_eq!(st.groups, vec![GroupState::Unknown]);
        // And back: state 1's answers were dropped with the slot.
        m.enter_state(Some(1), 2, 1);
        assert_eq!(m.state_slot().map(|s| s.leaves[1]), Some(0));
    }

    #[test]
    fn grouped_ancestor_tests_read_as_falco_does() {
        // Both tests on proc.aname share one group.
        let rules = set(&["proc.aname != bash", "proc.aname in (sh, zsh)"]);
        let hits = |names: &[&str]| {
            sample::with_view(&exec_with_ancestors(names), 1, |v| {
                rules.evaluate(v).collect::<Vec<_>>()
            })
        };
        // `!=` holds when some ancestor differs.
        assert_eq!(hits(&["bash", "sh"]), vec![0, 1]);
        assert_eq!(hits(&["bash", "bash"]), Vec::<usize>::new());
        assert_eq!(hits(&["zsh"]), vec![0, 1]);
        // No ancestor: every comparison is false.
        assert_eq!(hits(&[]), Vec::<usize>::new());
    }

    #[test]
    fn rule_starts_are_shared_and_order_is_kept() {
        let rules = set(&[
            "proc.name = cat and proc.pid = 0 and proc.exe = x",
            "proc.name = cat and proc.pid = 0",
            "proc.name = cat",
            "proc.pid = 1 or proc.name = cat",
        ]);
        let prog = &rules.by_kind[Kind::Execve as usize];
        // Tests are ordered cheapest first (`proc.pid` before `proc.exe`
        // and `proc.name`): the first two rules share their `proc.pid`
        // gate, so five gates hold the six tests the three rules start with.
        assert_eq!(prog.gates.len(), 5, "{:?}", prog.gates);
        assert_eq!(prog.open.len(), 1, "the `or` rule starts with no gate");
        let ev = exec_with_ancestors(&[]);
        sample::with_view(&ev, 1, |v| {
            assert_eq!(rules.evaluate(v).collect::<Vec<_>>(), vec![1, 2, 3]);
            assert_eq!(rules.first(v), Some(1));
        });
    }
}
