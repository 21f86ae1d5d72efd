//! Resolves an enriched event's reference to its thread's state.
//!
//! enrich does not repeat a thread's `thread`, `user`, `group`,
//! `loginUser`, `container` and `k8s` in every event: it sends them once in
//! a `state` frame and again when they change, and each event names the
//! state it was enriched with (`Event.stateGen`). Those parts are most of
//! an enriched event (the ancestors' command lines alone are often a
//! kilobyte or two), so this keeps events a few hundred bytes.
//!
//! A reader of enrich's stream keeps a [`StateTable`]: it gives each `state`
//! and `stateGone` frame to [`StateTable::apply`] and asks
//! [`StateTable::get`] for an event's [`State`], whose parts were found
//! once, when the state arrived. The table is bounded
//! ([`MAX_STATES`], [`MAX_STATE_BYTES`]); what it had to give up and what it
//! could not find are counted, never silent.
//!
//! It does not decide when a state is sent or what goes in it: enrich does.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use capnp::message::{Reader, ReaderOptions};
use capnp::serialize::OwnedSegments;
use rustc_hash::FxHashMap;

use crate::kestrel_capnp::{container, event, frame, group, k8s, thread, user};
use crate::limits::NESTING_LIMIT;

/// Most states a table holds. enrich sends `stateGone` when it forgets a
/// thread, so a table holds about as many states as there are live threads
/// whose events were forwarded; this bound only matters when those frames
/// were lost (a restart) or the producer is hostile.
pub const MAX_STATES: usize = 65_536;

/// Most bytes of states a table holds: their frames as received plus each
/// entry's own keeping ([`ENTRY_BYTES`]). At the usual 1–3 KB per state,
/// [`MAX_STATES`] reaches this first only for threads with huge command
/// lines.
pub const MAX_STATE_BYTES: usize = 128 << 20;

/// What a state costs the table beyond its frame: the entry with its
/// resolved parts (several hundred bytes of readers) and the boxed
/// message. Counted against [`MAX_STATE_BYTES`], so that the bound holds
/// for many small states too.
const ENTRY_BYTES: usize =
    std::mem::size_of::<Entry>() + std::mem::size_of::<Reader<OwnedSegments>>();

/// Stale eviction-order entries (of states replaced or gone) tolerated
/// beyond twice the live ones before the order is compacted: enough that a
/// small table is not compacted on every insertion.
const ORDER_SLACK: usize = 1024;

/// A thread's state as its events read it: the `state` record and its
/// parts, each found when the state arrived rather than for every event
/// naming it (every part is a bounds-checked pointer hop, and a thread's
/// state is read for each of its events). A part the record lacks or that
/// does not decode is `None`.
#[derive(Clone, Copy)]
pub struct State<'a> {
    /// Unique among all the states this process's tables have held (never
    /// 0, never reused, even when a producer reuses a tid or a generation
    /// or a stream is read again): what a reader keys anything it derives
    /// from the state by.
    pub id: u64,
    pub record: event::Reader<'a>,
    pub thread: Option<thread::Reader<'a>>,
    pub user: Option<user::Reader<'a>>,
    pub group: Option<group::Reader<'a>>,
    pub login_user: Option<user::Reader<'a>>,
    pub container: Option<container::Reader<'a>>,
    pub k8s: Option<k8s::Reader<'a>>,
}

impl<'a> State<'a> {
    /// Finds the parts of `record`.
    fn new(id: u64, record: event::Reader<'a>) -> Self {
        fn part<T>(has: bool, get: impl FnOnce() -> capnp::Result<T>) -> Option<T> {
            if has {
                get().ok()
            } else {
                None
            }
        }
        let r = record;
        State {
            id,
            record,
            thread: part(r.has_thread(), || r.get_thread()),
            user: part(r.has_user(), || r.get_user()),
            group: part(r.has_group(), || r.get_group()),
            login_user: part(r.has_login_user(), || r.get_login_user()),
            container: part(r.has_container(), || r.get_container()),
            k8s: part(r.has_k8s(), || r.get_k8s()),
        }
    }
}

/// The next [`State::id`]; ids start at 1.
fn next_state_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One thread's state: its frame, decoded once.
struct Entry {
    gen: u64,
    bytes: usize,
    /// Position in [`StateTable::order`], to skip stale order entries.
    seq: u64,
    /// The state's record and parts. They borrow `_msg`, which is boxed so
    /// that it never moves while the entry lives, and never mutated;
    /// declared first so that it is dropped first.
    state: State<'static>,
    _msg: Box<Reader<OwnedSegments>>,
}

impl Entry {
    /// Decodes a stored `state` frame; None if it is not one.
    fn new(seq: u64, bytes: usize, msg: Reader<OwnedSegments>) -> Option<Entry> {
        let msg = Box::new(msg);
        let record = match msg.get_root::<frame::Reader>().ok()?.which() {
            Ok(frame::State(Ok(s))) => s,
            _ => return None,
        };
        // SAFETY: `record` points into the message's segments, owned by
        // the box that this entry owns alongside it: the heap allocation
        // does not move when the entry does, nothing mutates it, and `get`
        // hands the state out only for as long as the table is borrowed.
        let record =
            unsafe { std::mem::transmute::<event::Reader<'_>, event::Reader<'static>>(record) };
        Some(Entry {
            gen: record.get_state_gen(),
            bytes,
            seq,
            state: State::new(next_state_id(), record),
            _msg: msg,
        })
    }
}

/// Counters of a [`StateTable`], for the stage's stats.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StateCounters {
    /// `state` frames taken.
    pub states: u64,
    /// States dropped to stay within [`MAX_STATES`] / [`MAX_STATE_BYTES`].
    pub evicted: u64,
    /// `state` frames that could not be decoded (their thread's events
    /// then find no state).
    pub corrupt: u64,
    /// Events that named a state the table does not hold (lost in a
    /// restart downstream of enrich, or evicted).
    pub missing: u64,
}

/// The states of a stream's threads, keyed by tid.
pub struct StateTable {
    by_tid: FxHashMap<i32, Entry>,
    /// Insertion order, oldest first, for eviction; entries whose seq no
    /// longer matches the table's are skipped.
    order: VecDeque<(u64, i32)>,
    next_seq: u64,
    bytes: usize,
    max_states: usize,
    max_bytes: usize,
    pub counters: StateCounters,
}

impl Default for StateTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Options for reading a stored state. A stored message is read again for
/// every event of its thread, and Cap'n Proto's traversal limit counts
/// every read over the reader's life, so it would run out; each event
/// reads a bounded number of fields of it, so the limit is off here. The
/// nesting limit still applies.
fn stored_options() -> ReaderOptions {
    let mut o = ReaderOptions::new();
    o.traversal_limit_in_words(None);
    o.nesting_limit(NESTING_LIMIT);
    o
}

impl StateTable {
    pub fn new() -> Self {
        Self::with_limits(MAX_STATES, MAX_STATE_BYTES)
    }

    /// A table with other bounds (tests).
    pub fn with_limits(max_states: usize, max_bytes: usize) -> Self {
        StateTable {
            by_tid: FxHashMap::default(),
            order: VecDeque::new(),
            next_seq: 0,
            bytes: 0,
            max_states: max_states.max(1),
            max_bytes,
            counters: StateCounters::default(),
        }
    }

    /// States held now.
    pub fn len(&self) -> usize {
        self.by_tid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_tid.is_empty()
    }

    /// Takes `root` if it is a `state` or `stateGone` frame (`raw` is the
    /// frame as read, segment table included) and says whether it was one.
    pub fn apply(&mut self, root: frame::Reader<'_>, raw: &[u8]) -> bool {
        match root.which() {
            Ok(frame::State(st)) => {
                let tid = st.map(|s| s.get_tid());
                let msg = capnp::serialize::read_message(&mut &raw[..], stored_options());
                let entry = msg
                    .ok()
                    .and_then(|msg| Entry::new(self.next_seq, raw.len() + ENTRY_BYTES, msg));
                match (tid, entry) {
                    (Ok(tid), Some(entry)) => self.insert(tid, entry),
                    _ => self.counters.corrupt += 1,
                }
                true
            }
            Ok(frame::StateGone(tid)) => {
                self.remove(tid);
                true
            }
            _ => false,
        }
    }

    fn insert(&mut self, tid: i32, entry: Entry) {
        self.counters.states += 1;
        self.remove(tid);
        let seq = entry.seq;
        self.next_seq += 1;
        self.bytes += entry.bytes;
        self.by_tid.insert(tid, entry);
        self.order.push_back((seq, tid));
        while self.by_tid.len() > self.max_states || self.bytes > self.max_bytes {
            let Some((seq, old)) = self.order.pop_front() else {
                break;
            };
            if self.by_tid.get(&old).is_some_and(|e| e.seq == seq) {
                self.remove(old);
                self.counters.evicted += 1;
            }
        }
        // Order entries of replaced or removed states pile up only until
        // they reach the front; compact when they outnumber live ones.
        if self.order.len() > 2 * self.by_tid.len() + ORDER_SLACK {
            let live = &self.by_tid;
            self.order
                .retain(|(seq, tid)| live.get(tid).is_some_and(|e| e.seq == *seq));
        }
    }

    fn remove(&mut self, tid: i32) {
        if let Some(e) = self.by_tid.remove(&tid) {
            self.bytes -= e.bytes;
        }
    }

    /// The state `ev` refers to, if it refers to one and the table holds
    /// it (a miss is counted).
    pub fn get(&mut self, ev: event::Reader<'_>) -> Option<&State<'_>> {
        let gen = ev.get_state_gen();
        if gen == 0 {
            return None;
        }
        match self.by_tid.get(&ev.get_tid()).filter(|e| e.gen == gen) {
            Some(e) => Some(&e.state),
            None => {
                self.counters.missing += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnp::message::Builder;

    fn state_frame(tid: i32, gen: u64, name: &str) -> Vec<u8> {
        let mut b = Builder::new_default();
        let mut st = b.init_root::<frame::Builder>().init_state();
        st.set_tid(tid);
        st.set_state_gen(gen);
        st.init_thread().set_name(name.as_bytes());
        capnp::serialize::write_message_to_words(&b)
    }

    fn gone_frame(tid: i32) -> Vec<u8> {
        let mut b = Builder::new_default();
        b.init_root::<frame::Builder>().set_state_gone(tid);
        capnp::serialize::write_message_to_words(&b)
    }

    fn event_frame(tid: i32, gen: u64) -> Vec<u8> {
        let mut b = Builder::new_default();
        let mut ev = b.init_root::<frame::Builder>().init_event();
        ev.set_tid(tid);
        ev.set_state_gen(gen);
        capnp::serialize::write_message_to_words(&b)
    }

    fn apply(t: &mut StateTable, raw: &[u8]) -> bool {
        let msg = capnp::serialize::read_message(&mut &raw[..], ReaderOptions::new()).unwrap();
        t.apply(msg.get_root::<frame::Reader>().unwrap(), raw)
    }

    /// The thread name of the state `(tid, gen)` resolves to, if any.
    fn name_of(t: &mut StateTable, tid: i32, gen: u64) -> Option<String> {
        let raw = event_frame(tid, gen);
        let msg = capnp::serialize::read_message(&mut &raw[..], ReaderOptions::new()).unwrap();
        let ev = match msg.get_root::<frame::Reader>().unwrap().which() {
            Ok(frame::Event(Ok(e))) => e,
            _ => unreachable!(),
        };
        let st = t.get(ev)?;
        let name = st.thread?.get_name().ok()?;
        Some(String::from_utf8_lossy(name).into_owned())
    }

    #[test]
    fn state_ids_are_never_reused_across_replacements_and_tables() {
        let id_of = |t: &mut StateTable, tid: i32, gen: u64| {
            let raw = event_frame(tid, gen);
            let msg = capnp::serialize::read_message(&mut &raw[..], ReaderOptions::new()).unwrap();
            let Ok(frame::Event(Ok(ev))) = msg.get_root::<frame::Reader>().unwrap().which() else {
                unreachable!()
            };
            t.get(ev).map(|s| s.id)
        };
        let mut ids = Vec::new();
        for _ in 0..2 {
            // A fresh table, as for a stream read again: same tids and
            // generations, new ids.
            let mut t = StateTable::new();
            apply(&mut t, &state_frame(7, 1, "bash"));
            ids.push(id_of(&mut t, 7, 1).unwrap());
            apply(&mut t, &state_frame(7, 1, "cat"));
            ids.push(id_of(&mut t, 7, 1).unwrap());
        }
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "{ids:?}");
        assert!(!ids.contains(&0));
    }

    #[test]
    fn events_resolve_to_the_latest_state_of_their_thread() {
        let mut t = StateTable::new();
        assert!(apply(&mut t, &state_frame(7, 1, "bash")));
        assert_eq!(name_of(&mut t, 7, 1).as_deref(), Some("bash"));
        assert!(apply(&mut t, &state_frame(7, 5, "cat")));
        assert_eq!(name_of(&mut t, 7, 5).as_deref(), Some("cat"));
        assert_eq!(t.len(), 1);
        assert_eq!(t.counters.states, 2);
        assert_eq!(t.counters.missing, 0);
    }

    #[test]
    fn a_state_missed_or_superseded_is_counted_not_guessed() {
        let mut t = StateTable::new();
        apply(&mut t, &state_frame(7, 5, "cat"));
        // Generation 1 was replaced: an event naming it gets nothing.
        assert_eq!(name_of(&mut t, 7, 1), None);
        // A thread never sent.
        assert_eq!(name_of(&mut t, 8, 2), None);
        assert_eq!(t.counters.missing, 2);
        // An event that carries no reference is not a miss.
        assert_eq!(name_of(&mut t, 7, 0), None);
        assert_eq!(t.counters.missing, 2);
    }

    #[test]
    fn state_gone_forgets_the_thread() {
        let mut t = StateTable::new();
        apply(&mut t, &state_frame(7, 1, "bash"));
        assert!(apply(&mut t, &gone_frame(7)));
        assert!(t.is_empty());
        assert_eq!(name_of(&mut t, 7, 1), None);
        assert!(!apply(&mut t, &event_frame(7, 1)));
    }

    #[test]
    fn the_oldest_states_go_first_when_the_table_is_full() {
        let mut t = StateTable::with_limits(3, usize::MAX);
        for tid in 1..=5 {
            apply(&mut t, &state_frame(tid, tid as u64, "x"));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.counters.evicted, 2);
        assert_eq!(name_of(&mut t, 1, 1), None);
        assert_eq!(name_of(&mut t, 5, 5).as_deref(), Some("x"));
        // Bytes bound too, each state's entry counted with its frame.
        let one = state_frame(1, 1, "x").len() + ENTRY_BYTES;
        let mut t = StateTable::with_limits(100, 2 * one);
        for tid in 1..=4 {
            apply(&mut t, &state_frame(tid, 1, "x"));
        }
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_corrupt_state_frame_is_counted() {
        let mut t = StateTable::new();
        let mut raw = state_frame(7, 1, "bash");
        // Claim more segment words than the frame holds.
        raw[4] = 0xff;
        let good = state_frame(7, 1, "bash");
        let msg = capnp::serialize::read_message(&mut &good[..], ReaderOptions::new()).unwrap();
        assert!(t.apply(msg.get_root::<frame::Reader>().unwrap(), &raw));
        assert_eq!(t.counters.corrupt, 1);
        assert!(t.is_empty());
    }
}
