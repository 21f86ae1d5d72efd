//! Writes an event whose `thread` is a cached, already serialised segment,
//! without copying it field by field: the event is built in a scratch
//! segment with `thread` left null, that pointer is then set to a Cap'n
//! Proto far pointer into a second segment, and the second segment is the
//! cached `Thread` message's only segment, whose root pointer is the landing
//! pad. The result is an ordinary two-segment message that any reader
//! decodes.
//!
//! Why: a thread with its ancestors is most of an enriched event (about
//! 1.4 KB of a 1.5 KB frame), and it rarely changes between a thread's
//! events. Copying it as one block instead of rebuilding ~60 pointers per
//! event is what lets enrich keep up with capture (BENCHMARKS.md).
//!
//! It relies only on the Cap'n Proto encoding spec (struct and far pointer
//! layouts, segment table), checked by the tests below and by every test
//! that reads enrich's output.

use std::io::{self, Write};

use std::ptr::NonNull;

use capnp::message::{Allocator, Builder, HeapAllocator};
use schema::kestrel_capnp::{event, frame, thread};
use schema::FrameWriter;

/// Words of the scratch segment an event (without its thread) is built in;
/// a bigger event spills into a second segment and is written the slow way.
const SCRATCH_WORDS: usize = 4096;

/// Words of the first segment a cached thread is built in; a thread that
/// does not fit (huge argv or env) is not cached.
const THREAD_SEGMENT_WORDS: u32 = 8192;

/// A reusable first segment: handed out zeroed, and re-zeroed on return
/// only as far as it was used. (capnp's own scratch allocator zeroes its
/// whole buffer each time one is made, which costs more than the event.)
struct Scratch {
    words: Vec<capnp::Word>,
    in_use: bool,
    heap: HeapAllocator,
}

impl Scratch {
    fn new(words: usize) -> Scratch {
        Scratch {
            words: vec![capnp::word(0, 0, 0, 0, 0, 0, 0, 0); words],
            in_use: false,
            heap: HeapAllocator::new(),
        }
    }
}

// SAFETY: segments handed out are zeroed (the scratch is zeroed at creation
// and re-zeroed up to `words_used` on return; other segments come from the
// heap allocator), and the scratch is handed out at most once at a time.
unsafe impl Allocator for Scratch {
    fn allocate_segment(&mut self, minimum_size: u32) -> (NonNull<u8>, u32) {
        if !self.in_use && minimum_size as usize <= self.words.len() {
            self.in_use = true;
            let ptr = capnp::Word::words_to_bytes_mut(&mut self.words).as_mut_ptr();
            // A Vec's buffer pointer is never null.
            let ptr = NonNull::new(ptr).unwrap_or(NonNull::dangling());
            return (ptr, self.words.len() as u32);
        }
        self.heap.allocate_segment(minimum_size)
    }

    unsafe fn deallocate_segment(&mut self, ptr: NonNull<u8>, word_size: u32, words_used: u32) {
        let own = capnp::Word::words_to_bytes_mut(&mut self.words);
        if ptr.as_ptr() == own.as_mut_ptr() {
            let used = (words_used as usize * 8).min(own.len());
            own[..used].fill(0);
            self.in_use = false;
        } else {
            // SAFETY: the segment came from `self.heap` with these sizes.
            unsafe { self.heap.deallocate_segment(ptr, word_size, words_used) };
        }
    }
}

/// Builds and writes spliced frames.
pub struct Splicer {
    scratch: Scratch,
    thread_scratch: Scratch,
    out: Vec<u8>,
    /// Index of `thread` among Event's pointer fields.
    thread_slot: usize,
}

fn to_io(e: capnp::Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn word(b: &[u8], i: usize) -> Option<u64> {
    let s = b.get(i * 8..i * 8 + 8)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// The target word index of the struct pointer at word `at`, with its data
/// and pointer section sizes.
fn follow_struct(b: &[u8], at: usize) -> Option<(usize, usize, usize)> {
    let p = word(b, at)?;
    if p & 3 != 0 {
        return None;
    }
    let offset = (p as u32 as i32) >> 2;
    let target = (at as i64 + 1 + offset as i64) as usize;
    let data = ((p >> 32) & 0xffff) as usize;
    let ptrs = (p >> 48) as usize;
    Some((target, data, ptrs))
}

/// Word index of the event's pointer slot `slot` in a single-segment Frame.
fn event_slot(seg: &[u8], slot: usize) -> Option<usize> {
    let (frame_at, frame_data, frame_ptrs) = follow_struct(seg, 0)?;
    if frame_ptrs == 0 {
        return None;
    }
    let (ev_at, ev_data, ev_ptrs) = follow_struct(seg, frame_at + frame_data)?;
    (slot < ev_ptrs).then_some(ev_at + ev_data + slot)
}

impl Default for Splicer {
    fn default() -> Self {
        Self::new()
    }
}

impl Splicer {
    pub fn new() -> Splicer {
        Splicer {
            scratch: Scratch::new(SCRATCH_WORDS),
            thread_scratch: Scratch::new(THREAD_SEGMENT_WORDS as usize),
            out: Vec::with_capacity(16 << 10),
            thread_slot: find_thread_slot(),
        }
    }

    /// Writes one event frame: `fill` builds everything but `thread`,
    /// `thread_segment` (from [`thread_segment`]) is attached as is.
    pub fn write<W, F>(
        &mut self,
        w: &mut FrameWriter<W>,
        thread_segment: &[u8],
        fill: F,
    ) -> io::Result<()>
    where
        W: Write,
        F: FnOnce(event::Builder<'_>) -> capnp::Result<()>,
    {
        let mut msg = Builder::new(&mut self.scratch);
        fill(msg.init_root::<frame::Builder>().init_event()).map_err(to_io)?;
        let segments = msg.get_segments_for_output();
        let slot = match &segments[..] {
            [seg] => event_slot(seg, self.thread_slot),
            _ => None,
        };
        let Some(slot) = slot else {
            // Rare: the event did not fit one scratch segment. Copy the
            // thread in the ordinary way.
            let thread = read_segment(thread_segment).map_err(to_io)?;
            let root = msg.get_root::<frame::Builder>().map_err(to_io)?;
            if let Ok(frame::Event(Ok(mut ev))) = root.which() {
                ev.set_thread(thread.get_root::<thread::Reader>().map_err(to_io)?)
                    .map_err(to_io)?;
            }
            return w.write(&msg);
        };
        let seg0 = segments[0];
        let n0 = seg0.len() / 8;
        let n1 = thread_segment.len() / 8;
        self.out.clear();
        // Segment table: count - 1, two sizes, padding to a word.
        self.out.extend_from_slice(&1u32.to_le_bytes());
        self.out.extend_from_slice(&(n0 as u32).to_le_bytes());
        self.out.extend_from_slice(&(n1 as u32).to_le_bytes());
        self.out.extend_from_slice(&0u32.to_le_bytes());
        let base = self.out.len();
        self.out.extend_from_slice(seg0);
        // A single far pointer to word 0 of segment 1: the landing pad is
        // the cached message's root pointer.
        let far: u64 = 2 | (1u64 << 32);
        self.out[base + slot * 8..base + slot * 8 + 8].copy_from_slice(&far.to_le_bytes());
        self.out.extend_from_slice(thread_segment);
        w.write_raw(&self.out)
    }

    /// A thread, built by `fill`, as one segment; None if it needs more
    /// than one (it is then written the ordinary way).
    pub fn thread_segment<F>(&mut self, fill: F) -> Option<Vec<u8>>
    where
        F: FnOnce(thread::Builder<'_>),
    {
        let mut msg = Builder::new(&mut self.thread_scratch);
        fill(msg.init_root::<thread::Builder>());
        let segments = msg.get_segments_for_output();
        match &segments[..] {
            [seg] => Some(seg.to_vec()),
            _ => None,
        }
    }
}

fn read_segment(
    seg: &[u8],
) -> capnp::Result<capnp::message::Reader<capnp::serialize::OwnedSegments>> {
    let mut framed = Vec::with_capacity(seg.len() + 8);
    framed.extend_from_slice(&0u32.to_le_bytes());
    framed.extend_from_slice(&((seg.len() / 8) as u32).to_le_bytes());
    framed.extend_from_slice(seg);
    capnp::serialize::read_message(&mut &framed[..], schema::limits::reader_options())
}

/// Finds which of Event's pointer slots holds `thread` by building an event
/// with only a thread set.
fn find_thread_slot() -> usize {
    let mut msg = Builder::new_default();
    msg.init_root::<frame::Builder>()
        .init_event()
        .init_thread()
        .set_tid(1);
    let segments = msg.get_segments_for_output();
    let seg = segments[0];
    (0..64)
        .find(|&slot| {
            event_slot(seg, slot)
                .and_then(|at| word(seg, at))
                .is_some_and(|w| w != 0)
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{FrameReader, Kind};

    #[test]
    fn spliced_frames_read_back_whole() {
        let mut s = Splicer::new();
        let seg = s
            .thread_segment(|mut t| {
                t.set_tid(42);
                t.set_name(b"bash");
                let mut a = t.init_ancestors(2);
                a.reborrow().get(0).set_name(b"sshd");
                a.reborrow().get(1).set_name(b"systemd");
            })
            .unwrap();
        let mut w = FrameWriter::new(Vec::new());
        for i in 0..3 {
            s.write(&mut w, &seg, |mut e| {
                e.set_tid(42);
                e.set_kind(Kind::Close);
                e.reborrow().init_fd().set_num(i);
                e.init_params(1).get(0).set_int(i);
                Ok(())
            })
            .unwrap();
        }
        w.flush().unwrap();
        let bytes = w.get_ref().clone();
        let mut r = FrameReader::new(&bytes[..]);
        for i in 0..3 {
            let f = r.next().unwrap().unwrap();
            let frame::Event(Ok(ev)) = f.root().unwrap().which().unwrap() else {
                panic!("not an event")
            };
            assert_eq!(ev.get_fd().unwrap().get_num(), i);
            let t = ev.get_thread().unwrap();
            assert_eq!(t.get_tid(), 42);
            assert_eq!(t.get_name().unwrap(), b"bash");
            assert_eq!(
                t.get_ancestors().unwrap().get(1).get_name().unwrap(),
                b"systemd"
            );
            let schema::kestrel_capnp::param::Int(v) =
                ev.get_params().unwrap().get(0).which().unwrap()
            else {
                panic!("not an int")
            };
            assert_eq!(v, i);
        }
        assert!(r.next().unwrap().is_none());
    }

    #[test]
    fn events_too_big_for_the_scratch_segment_still_carry_the_thread() {
        let mut s = Splicer::new();
        let seg = s.thread_segment(|mut t| t.set_tid(7)).unwrap();
        let mut w = FrameWriter::new(Vec::new());
        let big = vec![b'x'; SCRATCH_WORDS * 8 + 100];
        s.write(&mut w, &seg, |e| {
            e.init_params(1).get(0).set_bytes(&big);
            Ok(())
        })
        .unwrap();
        w.flush().unwrap();
        let bytes = w.get_ref().clone();
        let mut r = FrameReader::new(&bytes[..]);
        let f = r.next().unwrap().unwrap();
        let frame::Event(Ok(ev)) = f.root().unwrap().which().unwrap() else {
            panic!("not an event")
        };
        assert_eq!(ev.get_thread().unwrap().get_tid(), 7);
        let schema::kestrel_capnp::param::Bytes(Ok(b)) =
            ev.get_params().unwrap().get(0).which().unwrap()
        else {
            panic!("not bytes")
        };
        assert_eq!(b.len(), big.len());
    }
}
