//! State frames: which threads' states enrich's reader holds, so that an
//! event can name its thread's state instead of carrying it.
//!
//! A thread's `thread` (with its ancestors' command lines) and its
//! process's user, group, login user, container and k8s are most of an
//! enriched event, and they rarely change between the thread's events. So
//! enrich writes them in a `state` frame when the reader does not hold
//! them yet, and each event that follows carries only that frame's
//! `stateGen` (see `Frame.state` in schema/capnp/kestrel.capnp; readers
//! resolve it with `schema::state::StateTable`).
//!
//! This module keeps the books: per thread, a [`SentMark`] of what its
//! reader was last sent (named by the content ids of the cached parts,
//! [`crate::writer::splice::Cached::id`], and the `stateGen` it was sent as); for
//! the stream, the generation counter, and which generations the current
//! reader holds: when the output lost its reader
//! (`stage::reconnect::reader_changes`), the next one holds none of the
//! states, so each is sent again before its thread's next event; and the
//! `stateGone` frames owed for threads that left the table.
//!
//! It does not build the frames ([`crate::engine::compose`] and [`crate::writer::splice`]
//! do) nor decide when a thread leaves the table ([`crate::tables::threads`]).

use std::cell::Cell;
use std::io::{self, Write};

use schema::FrameWriter;

/// What a thread's reader was last sent. Kept in every thread, so small:
/// the connection it was sent on is told by its generation (see
/// [`StateLink::held`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sent {
    /// Content id of the `thread` part sent.
    thread: u64,
    /// Content id of the user, group, login user, container and k8s parts.
    identity: u64,
    /// The state frame's `stateGen`; 0: none sent.
    gen: u64,
}

/// Per thread: the state its reader holds, if any.
#[derive(Debug, Default)]
pub struct SentMark(Cell<Sent>);

/// A clone belongs to another thread (a fork child): its reader holds no
/// state of it yet, whatever the original's.
impl Clone for SentMark {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl SentMark {
    /// The `stateGen` of this thread's state last sent, if any.
    pub fn gen(&self) -> Option<u64> {
        Some(self.0.get().gen).filter(|&g| g != 0)
    }
}

/// The stream's side: generations, readers, counters.
#[derive(Debug)]
pub struct StateLink {
    /// The last `stateGen` handed out; 0 means "no state" on the wire, so
    /// the first is 1.
    last_gen: Cell<u64>,
    /// Generations up to this one were sent to readers lost since: the
    /// current reader holds only later ones. Generations only grow, so
    /// this one number tells every thread's state's connection apart.
    reader_floor: Cell<u64>,
    /// `stage::reconnect::reader_changes` when last looked at.
    reader_changes: Cell<u64>,
    /// `state` frames written.
    sent: Cell<u64>,
    /// `stateGone` frames written.
    gone_sent: u64,
}

impl Default for StateLink {
    fn default() -> Self {
        Self::new()
    }
}

impl StateLink {
    pub fn new() -> StateLink {
        StateLink {
            last_gen: Cell::new(0),
            reader_floor: Cell::new(0),
            reader_changes: Cell::new(stage::reconnect::reader_changes()),
            sent: Cell::new(0),
            gone_sent: 0,
        }
    }

    /// Moves to a new reader if the output lost its reader or took a new
    /// one since the last look (two relaxed atomic loads). Both count:
    /// states written while no reader was there were dropped, so the new
    /// reader must be sent them again too.
    pub fn check_reader(&self) {
        let changes = stage::reconnect::reader_changes();
        if changes != self.reader_changes.get() {
            self.reader_changes.set(changes);
            self.new_reader();
        }
    }

    /// The reader holds no state from now on: every thread's is sent again
    /// before its next event.
    pub fn new_reader(&self) {
        self.reader_floor.set(self.last_gen.get());
    }

    /// True when state `gen` was sent to the current reader.
    fn reader_holds(&self, gen: u64) -> bool {
        gen > self.reader_floor.get()
    }

    /// The `stateGen` of the state `mark`'s reader holds, if it holds the
    /// one with these parts (content ids).
    pub fn held(&self, mark: &SentMark, thread: u64, identity: u64) -> Option<u64> {
        let s = mark.0.get();
        (s.gen != 0 && self.reader_holds(s.gen) && s.thread == thread && s.identity == identity)
            .then_some(s.gen)
    }

    /// A `stateGen` never handed out before, for a state about to be
    /// written (one that then could not be is simply never used).
    pub fn new_gen(&self) -> u64 {
        let gen = self.last_gen.get() + 1;
        self.last_gen.set(gen);
        gen
    }

    /// Records that `mark`'s reader was sent the state `gen` with these
    /// parts (content ids).
    pub fn record(&self, mark: &SentMark, thread: u64, identity: u64, gen: u64) {
        self.sent.set(self.sent.get() + 1);
        mark.0.set(Sent {
            thread,
            identity,
            gen,
        });
    }

    /// Writes a `stateGone` frame for each thread of `gone` (its tid and
    /// the `stateGen` last sent for it) whose state the current reader
    /// holds, and empties `gone`.
    pub fn write_gone<W: Write>(
        &mut self,
        gone: &mut Vec<(i32, u64)>,
        w: &mut FrameWriter<W>,
    ) -> io::Result<()> {
        for (tid, gen) in gone.drain(..) {
            if !self.reader_holds(gen) {
                continue;
            }
            w.build(|mut f| -> io::Result<()> {
                f.set_state_gone(tid);
                Ok(())
            })?;
            self.gone_sent += 1;
        }
        Ok(())
    }

    /// `state` frames written so far.
    pub fn states_sent(&self) -> u64 {
        self.sent.get()
    }

    /// `stateGone` frames written so far.
    pub fn states_gone_sent(&self) -> u64 {
        self.gone_sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_held_until_its_parts_or_the_reader_change() {
        let link = StateLink::new();
        let mark = SentMark::default();
        assert_eq!(link.held(&mark, 1, 2), None, "nothing sent yet");
        let gen = link.new_gen();
        assert_eq!(gen, 1, "generations start at 1 (0 is no state)");
        link.record(&mark, 1, 2, gen);
        assert_eq!(link.held(&mark, 1, 2), Some(1));
        assert_eq!(link.held(&mark, 3, 2), None, "another thread part");
        assert_eq!(link.held(&mark, 1, 3), None, "another identity");
        link.new_reader();
        assert_eq!(link.held(&mark, 1, 2), None, "a new reader holds nothing");
        let again = link.new_gen();
        assert_eq!(again, 2, "never reused");
        link.record(&mark, 1, 2, again);
        assert_eq!(link.held(&mark, 1, 2), Some(2));
        assert_eq!(link.states_sent(), 2);
        assert_eq!(mark.gen(), Some(2));
        assert_eq!(mark.clone().gen(), None, "a clone starts unsent");
    }

    #[test]
    fn gone_is_written_only_for_states_the_reader_holds() {
        let mut link = StateLink::new();
        let mut w = FrameWriter::new(Vec::new());
        let (old7, old8) = (link.new_gen(), link.new_gen());
        link.new_reader();
        let new9 = link.new_gen();
        let mut gone = vec![(7, old7), (8, old8), (9, new9)];
        link.write_gone(&mut gone, &mut w).unwrap();
        assert!(gone.is_empty());
        assert_eq!(link.states_gone_sent(), 1);
        w.flush().unwrap();
        let mut r = schema::FrameReader::new(&w.get_ref()[..]);
        let f = r.next().unwrap().unwrap();
        assert!(matches!(
            f.root().unwrap().which(),
            Ok(schema::frame::StateGone(9))
        ));
        assert!(r.next().unwrap().is_none());
    }
}
