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
//! [`crate::splice::Cached::id`]); for the stream, the generation counter,
//! and the connection epoch, which moves when the output lost its reader
//! (`schema::reconnect::readers_lost`: the next reader holds none of the
//! states, so each is sent again before its thread's next event); and the
//! `stateGone` frames owed for threads that left the table.
//!
//! It does not build the frames ([`crate::compose`] and [`crate::splice`]
//! do) nor decide when a thread leaves the table ([`crate::threads`]).

use std::cell::Cell;
use std::io::{self, Write};

use schema::FrameWriter;

/// What a thread's reader was last sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    /// The connection epoch it was sent in.
    conn: u64,
    /// Content id of the `thread` part sent.
    thread: u64,
    /// Content id of the user, group, login user, container and k8s parts.
    identity: u64,
    /// The state frame's `stateGen`.
    gen: u64,
}

/// Per thread: the state its reader holds, if any.
#[derive(Debug, Default)]
pub struct SentMark(Cell<Option<Sent>>);

/// A clone belongs to another thread (a fork child): its reader holds no
/// state of it yet, whatever the original's.
impl Clone for SentMark {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl SentMark {
    /// The connection epoch this thread's state was last sent in, if ever.
    pub fn conn(&self) -> Option<u64> {
        self.0.get().map(|s| s.conn)
    }
}

/// The stream's side: generations, connection epoch, counters.
#[derive(Debug)]
pub struct StateLink {
    /// Bumped each time the output lost its reader.
    conn: Cell<u64>,
    /// `schema::reconnect::readers_lost` when last looked at.
    readers_lost: Cell<u64>,
    /// The last `stateGen` handed out; 0 means "no state" on the wire, so
    /// the first is 1.
    last_gen: Cell<u64>,
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
            conn: Cell::new(0),
            readers_lost: Cell::new(schema::reconnect::readers_lost()),
            last_gen: Cell::new(0),
            sent: Cell::new(0),
            gone_sent: 0,
        }
    }

    /// The current connection epoch.
    pub fn conn(&self) -> u64 {
        self.conn.get()
    }

    /// Moves the connection epoch if the output lost its reader since the
    /// last look (one relaxed atomic load).
    pub fn check_reader(&self) {
        let lost = schema::reconnect::readers_lost();
        if lost != self.readers_lost.get() {
            self.readers_lost.set(lost);
            self.new_reader();
        }
    }

    /// The reader holds no state from now on: every thread's is sent again
    /// before its next event.
    pub fn new_reader(&self) {
        self.conn.set(self.conn.get() + 1);
    }

    /// The `stateGen` of the state `mark`'s reader holds, if it holds the
    /// one with these parts (content ids).
    pub fn held(&self, mark: &SentMark, thread: u64, identity: u64) -> Option<u64> {
        mark.0
            .get()
            .filter(|s| s.conn == self.conn.get() && s.thread == thread && s.identity == identity)
            .map(|s| s.gen)
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
        mark.0.set(Some(Sent {
            conn: self.conn.get(),
            thread,
            identity,
            gen,
        }));
    }

    /// Writes a `stateGone` frame for each tid of `gone` (a tid and the
    /// connection epoch its state was sent in) whose state the current
    /// reader holds, and empties `gone`.
    pub fn write_gone<W: Write>(
        &mut self,
        gone: &mut Vec<(i32, u64)>,
        w: &mut FrameWriter<W>,
    ) -> io::Result<()> {
        let conn = self.conn.get();
        for (tid, sent_in) in gone.drain(..) {
            if sent_in != conn {
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
        assert_eq!(link.new_gen(), 2, "never reused");
        assert_eq!(link.states_sent(), 1);
        assert_eq!(mark.clone().conn(), None, "a clone starts unsent");
    }

    #[test]
    fn gone_is_written_only_for_states_the_reader_holds() {
        let mut link = StateLink::new();
        let mut w = FrameWriter::new(Vec::new());
        let mut gone = vec![(7, 0), (8, 0)];
        link.new_reader();
        gone.push((9, link.conn()));
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
