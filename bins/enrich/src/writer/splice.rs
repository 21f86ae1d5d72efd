//! Writes an event whose state parts (`thread`, `user`, `group`,
//! `loginUser`, `container`, `k8s`) are cached, already serialised
//! segments, without copying them field by field; its parameters, too, can
//! be a block copied from the input frame ([`crate::writer::rawparams`]).
//!
//! A cached segment ([`Cached`]) is a message whose root is a list of
//! pointers, one per part it holds; each part's object lies in the same
//! segment. An event is built in a scratch segment with those parts left
//! null; each of their pointers is then set to a Cap'n Proto far pointer
//! whose landing pad is the part's element of the cached root list, and
//! the cached segments follow the event's as segments 1, 2, ... The result
//! is an ordinary multi-segment message that any reader decodes.
//!
//! Why: a thread with its ancestors is most of an enriched event (about
//! 1.4 KB of a 1.5 KB frame) and rarely changes between a thread's events,
//! and user, group, login user and container change even more rarely.
//! Copying them as blocks instead of rebuilding ~70 pointers per event is
//! what lets enrich keep up with capture (BENCHMARKS.md).
//!
//! It relies only on the Cap'n Proto encoding spec (struct, list and far
//! pointer layouts, segment table: [`crate::writer::wire`]), checked by the tests
//! below and by every test that reads enrich's output.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use capnp::any_pointer_list;
use capnp::message::Builder;
use capnp::traits::FromPointerBuilder;
use schema::arena::ReusedArena;
use schema::kestrel_capnp::{container, event, frame, group, k8s, thread, user};
use schema::FrameWriter;

use crate::writer::fit::to_io;
use crate::writer::rawparams::RawList;
pub use crate::writer::slots::{event_pointers, slot_of, Part, ALL_PARTS};
use crate::writer::wire::{self, follow, pointer_at, PointerKind, WirePointer, WORD};

/// Words of the scratch segment an event (without its cached parts) is
/// built in; a bigger event spills into a second segment, and is then
/// written the ordinary way by the caller.
const SCRATCH_WORDS: usize = 4096;

/// Words of the first segment a cached part is built in; parts that do not
/// fit (a huge argv or env) are not cached.
const CACHED_SEGMENT_WORDS: usize = 8192;

/// Most cached segments one event is spliced from.
pub const MAX_CACHED_SEGMENTS: usize = 4;

/// The last content id handed out (see [`Cached::id`]); process-wide, so
/// that ids never repeat, whichever engine or cache took them.
static CONTENT_IDS: AtomicU64 = AtomicU64::new(0);

fn fresh_content_id() -> u64 {
    CONTENT_IDS.fetch_add(1, Ordering::Relaxed) + 1
}

/// Parts of events, serialised once to be attached to many.
#[derive(Debug, Clone)]
pub struct Cached {
    /// One Cap'n Proto segment: a root pointer list, then the parts. Its
    /// size never changes, so no capacity is kept (every live thread holds
    /// one of these).
    segment: Box<[u8]>,
    /// (Event pointer slot, landing pad word) of each part present, the
    /// first `present` of them; inline and small, as every live thread
    /// holds one.
    pads: [(u8, u8); ALL_PARTS.len()],
    present: u8,
    /// See [`Cached::id`].
    id: u64,
}

impl Cached {
    fn pads(&self) -> &[(u8, u8)] {
        &self.pads[..self.present as usize]
    }

    /// Names this content: two parts with the same id hold the same bytes.
    /// A new part gets an id never used before (the bytes of a part never
    /// change), so a reader that was sent the part with some id still holds what
    /// this part shows ([`crate::writer::statelink`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Takes `old`'s id when this part, built afresh, holds the same bytes:
    /// a rebuild caused by a change that does not show here (most do not)
    /// then does not make the reader be sent the same state again.
    pub fn keep_id_of(&mut self, old: &Cached) {
        if self.segment == old.segment && self.pads() == old.pads() {
            self.id = old.id;
        }
    }
}

/// Where a cached segment's parts are built; each part may be set once.
pub struct Parts<'a> {
    list: any_pointer_list::Builder<'a>,
    declared: &'a [Part],
}

impl Parts<'_> {
    fn init<'b, T: FromPointerBuilder<'b>>(&'b mut self, part: Part) -> Option<T> {
        let i = self.declared.iter().position(|p| *p == part)?;
        Some(self.list.reborrow().try_get(i as u32)?.init_as::<T>())
    }

    /// The `thread` part; None if it was not declared.
    pub fn thread(&mut self) -> Option<thread::Builder<'_>> {
        self.init(Part::Thread)
    }

    pub fn user(&mut self) -> Option<user::Builder<'_>> {
        self.init(Part::User)
    }

    pub fn group(&mut self) -> Option<group::Builder<'_>> {
        self.init(Part::Group)
    }

    pub fn login_user(&mut self) -> Option<user::Builder<'_>> {
        self.init(Part::LoginUser)
    }

    pub fn container(&mut self) -> Option<container::Builder<'_>> {
        self.init(Part::Container)
    }

    /// The `k8s` part; left unset, events carry none.
    pub fn k8s(&mut self) -> Option<k8s::Builder<'_>> {
        self.init(Part::K8s)
    }
}

/// The frame [`Splicer::write`] writes: an `event`, or a thread's `state`
/// (an Event-shaped struct in the same slot of Frame's union, so both are
/// spliced alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Event,
    State,
}

/// An input event's parameter list, to be copied as a block, with the
/// byte parameters to replace on the way (index, new bytes).
#[derive(Clone, Copy)]
pub struct RawParams<'a> {
    pub list: RawList<'a>,
    pub rewrites: &'a [(usize, Vec<u8>)],
}

/// Builds cached segments and writes spliced frames.
pub struct Splicer {
    scratch: ReusedArena,
    cached_scratch: ReusedArena,
    /// The parameter segment of the event being written.
    params: Vec<u8>,
    out: Vec<u8>,
}

impl Default for Splicer {
    fn default() -> Self {
        Self::new()
    }
}

impl Splicer {
    pub fn new() -> Splicer {
        Splicer {
            scratch: ReusedArena::new(SCRATCH_WORDS),
            cached_scratch: ReusedArena::new(CACHED_SEGMENT_WORDS),
            params: Vec::with_capacity(1 << 10),
            out: Vec::with_capacity(16 << 10),
        }
    }

    /// Builds a cached segment holding `parts`, filled by `fill`; None if it
    /// needs more than one segment (its parts are then written the ordinary
    /// way).
    pub fn cached<F>(&mut self, parts: &[Part], fill: F) -> Option<Cached>
    where
        F: FnOnce(&mut Parts<'_>),
    {
        let mut msg = Builder::new(&mut self.cached_scratch);
        {
            let root = msg.init_root::<capnp::any_pointer::Builder>();
            let list = root.initn_as::<any_pointer_list::Builder>(parts.len() as u32);
            fill(&mut Parts {
                list,
                declared: parts,
            });
        }
        let segments = msg.get_segments_for_output();
        let [seg] = &segments[..] else {
            return None;
        };
        let (_, list_at) = follow(seg, 0, PointerKind::List)?;
        let mut cached = Cached {
            segment: Box::default(),
            pads: [(0, 0); ALL_PARTS.len()],
            present: 0,
            id: fresh_content_id(),
        };
        for (i, part) in parts.iter().enumerate().take(ALL_PARTS.len()) {
            let pad = list_at + i;
            // A part the fill left unset stays absent on events.
            if pointer_at(seg, pad).is_none_or(WirePointer::is_null) {
                continue;
            }
            let slot = u8::try_from(slot_of(*part)).ok()?;
            cached.pads[cached.present as usize] = (slot, u8::try_from(pad).ok()?);
            cached.present += 1;
        }
        cached.segment = Box::from(*seg);
        Some(cached)
    }

    /// Writes one `target` frame: `fill` builds everything but the parts of
    /// `cached`, which are attached as they are, and but its parameters
    /// when they could be copied from `params` (`fill`'s flag then says so).
    /// Returns false, having written nothing, when the event outgrew the
    /// scratch segment: the caller then writes it the ordinary way.
    pub fn write<W, F>(
        &mut self,
        w: &mut FrameWriter<W>,
        target: Target,
        cached: &[&Cached],
        params: Option<RawParams<'_>>,
        fill: F,
    ) -> io::Result<bool>
    where
        W: Write,
        F: FnOnce(event::Builder<'_>, bool) -> capnp::Result<()>,
    {
        if cached.len() > MAX_CACHED_SEGMENTS {
            return Ok(false);
        }
        let params_slot = slot_of(Part::Params) as usize;
        let with_params = params.is_some_and(|p| p.list.segment(p.rewrites, &mut self.params));
        let mut msg = Builder::new(&mut self.scratch);
        let root = msg.init_root::<frame::Builder>();
        let out = match target {
            Target::Event => root.init_event(),
            Target::State => root.init_state(),
        };
        fill(out, with_params).map_err(to_io)?;
        let segments = msg.get_segments_for_output();
        let [seg0] = &segments[..] else {
            return Ok(false);
        };
        let extra: &[u8] = if with_params { &self.params } else { &[] };
        // The event's segment, the cached ones, then the parameters'.
        let mut sizes = [0; 2 + MAX_CACHED_SEGMENTS];
        let mut count = 0;
        let segs = std::iter::once(*seg0)
            .chain(cached.iter().map(|c| &*c.segment))
            .chain(with_params.then_some(extra));
        for (size, seg) in sizes.iter_mut().zip(segs) {
            *size = seg.len() / WORD;
            count += 1;
        }
        self.out.clear();
        if wire::put_segment_table(&mut self.out, &sizes[..count]).is_none() {
            return Ok(false);
        }
        let Some((ptrs_at, ptrs)) = event_pointers(seg0) else {
            return Ok(false);
        };
        let base = self.out.len();
        self.out.extend_from_slice(seg0);
        let params_pad = [(params_slot as u8, 0)];
        let pads = cached
            .iter()
            .map(|c| c.pads())
            .chain(with_params.then_some(&params_pad[..]));
        for (i, pads) in pads.enumerate() {
            for &(slot, pad) in pads {
                if slot as usize >= ptrs {
                    return Ok(false);
                }
                let at = ptrs_at + slot as usize;
                let Some(far) = u32::try_from(i + 1)
                    .ok()
                    .and_then(|segment| WirePointer::new_far(segment, u32::from(pad)))
                else {
                    return Ok(false);
                };
                let far = far.to_word().to_le_bytes();
                self.out[base + at * WORD..base + at * WORD + WORD].copy_from_slice(&far);
            }
        }
        for c in cached {
            self.out.extend_from_slice(&c.segment);
        }
        self.out.extend_from_slice(extra);
        // Copied parameters can take a frame past the wire limit, which
        // `write_raw` does not check: such an event is left to the
        // caller's ordinary path, which cuts it to fit.
        if self.out.len() > schema::limits::MAX_FRAME_BYTES {
            return Ok(false);
        }
        w.write_raw(&self.out)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{FrameReader, Kind};

    fn read_all(bytes: &[u8], mut check: impl FnMut(usize, event::Reader<'_>)) -> usize {
        let mut r = FrameReader::new(bytes);
        let mut n = 0;
        while let Some(f) = r.next().unwrap() {
            let frame::Event(Ok(ev)) = f.root().unwrap().which().unwrap() else {
                panic!("not an event")
            };
            check(n, ev);
            n += 1;
        }
        n
    }

    #[test]
    fn spliced_frames_read_back_whole() {
        let mut s = Splicer::new();
        let thread = s
            .cached(&[Part::Thread], |p| {
                let mut t = p.thread().unwrap();
                t.set_tid(42);
                t.set_name(b"bash");
                let mut a = t.init_ancestors(2);
                a.reborrow().get(0).set_name(b"sshd");
                a.reborrow().get(1).set_name(b"systemd");
            })
            .unwrap();
        let identity = s
            .cached(
                &[Part::User, Part::Group, Part::Container, Part::K8s],
                |p| {
                    p.user().unwrap().set_name("root");
                    p.group().unwrap().set_gid(7);
                    p.container().unwrap().set_id("host");
                    // k8s left unset: events carry none.
                },
            )
            .unwrap();
        let mut w = FrameWriter::new(Vec::new());
        for i in 0..3 {
            let written = s
                .write(
                    &mut w,
                    Target::Event,
                    &[&thread, &identity],
                    None,
                    |mut e, _| {
                        e.set_tid(42);
                        e.set_kind(Kind::Close);
                        e.reborrow().init_fd().set_num(i);
                        e.init_params(1).get(0).set_int(i);
                        Ok(())
                    },
                )
                .unwrap();
            assert!(written);
        }
        w.flush().unwrap();
        let n = read_all(w.get_ref(), |i, ev| {
            assert_eq!(ev.get_fd().unwrap().get_num(), i as i64);
            let t = ev.get_thread().unwrap();
            assert_eq!(t.get_tid(), 42);
            assert_eq!(t.get_name().unwrap(), b"bash");
            assert_eq!(
                t.get_ancestors().unwrap().get(1).get_name().unwrap(),
                b"systemd"
            );
            assert_eq!(ev.get_user().unwrap().get_name().unwrap(), "root");
            assert_eq!(ev.get_group().unwrap().get_gid(), 7);
            assert_eq!(ev.get_container().unwrap().get_id().unwrap(), "host");
            assert!(!ev.has_k8s(), "an unset part stays absent");
            assert!(!ev.has_login_user(), "an undeclared part stays absent");
            let schema::kestrel_capnp::param::Int(v) =
                ev.get_params().unwrap().get(0).which().unwrap()
            else {
                panic!("not an int")
            };
            assert_eq!(v, i as i64);
        });
        assert_eq!(n, 3);
    }

    #[test]
    fn one_cached_segment_frames_pad_their_segment_table() {
        let mut s = Splicer::new();
        let thread = s.cached(&[Part::Thread], |p| {
            p.thread().unwrap().set_tid(9);
        });
        let thread = thread.unwrap();
        let mut w = FrameWriter::new(Vec::new());
        for _ in 0..2 {
            s.write(&mut w, Target::Event, &[&thread], None, |mut e, _| {
                e.set_pid(3);
                Ok(())
            })
            .unwrap();
        }
        w.flush().unwrap();
        let n = read_all(w.get_ref(), |_, ev| {
            assert_eq!(ev.get_pid(), 3);
            assert_eq!(ev.get_thread().unwrap().get_tid(), 9);
        });
        assert_eq!(n, 2);
    }

    #[test]
    fn state_frames_are_spliced_like_events() {
        let mut s = Splicer::new();
        let thread = s
            .cached(&[Part::Thread], |p| p.thread().unwrap().set_name(b"sh"))
            .unwrap();
        let identity = s
            .cached(&[Part::User], |p| p.user().unwrap().set_name("root"))
            .unwrap();
        let mut w = FrameWriter::new(Vec::new());
        let written = s
            .write(
                &mut w,
                Target::State,
                &[&thread, &identity],
                None,
                |mut e, _| {
                    e.set_tid(5);
                    e.set_state_gen(3);
                    Ok(())
                },
            )
            .unwrap();
        assert!(written);
        w.flush().unwrap();
        let mut r = FrameReader::new(&w.get_ref()[..]);
        let f = r.next().unwrap().unwrap();
        let frame::State(Ok(st)) = f.root().unwrap().which().unwrap() else {
            panic!("not a state")
        };
        assert_eq!((st.get_tid(), st.get_state_gen()), (5, 3));
        assert_eq!(st.get_thread().unwrap().get_name().unwrap(), b"sh");
        assert_eq!(st.get_user().unwrap().get_name().unwrap(), "root");
    }

    #[test]
    fn content_ids_name_bytes() {
        let mut s = Splicer::new();
        let build = |s: &mut Splicer, name: &[u8]| {
            s.cached(&[Part::Thread], |p| {
                let mut t = p.thread().unwrap();
                t.set_name(name);
            })
            .unwrap()
        };
        let a = build(&mut s, b"a");
        let mut again = build(&mut s, b"a");
        let mut other = build(&mut s, b"b");
        assert_ne!(a.id(), again.id(), "every build is new until compared");
        again.keep_id_of(&a);
        assert_eq!(a.id(), again.id(), "the same bytes keep the id");
        other.keep_id_of(&a);
        assert_ne!(a.id(), other.id(), "other bytes do not");
    }

    #[test]
    fn parts_not_declared_are_refused() {
        let mut s = Splicer::new();
        let c = s.cached(&[Part::User], |p| {
            assert!(p.thread().is_none());
            assert!(p.user().is_some());
        });
        assert!(c.is_some());
    }

    #[test]
    fn events_too_big_for_the_scratch_segment_are_left_to_the_caller() {
        let mut s = Splicer::new();
        let thread = s
            .cached(&[Part::Thread], |p| p.thread().unwrap().set_tid(7))
            .unwrap();
        let mut w = FrameWriter::new(Vec::new());
        let big = vec![b'x'; SCRATCH_WORDS * 8 + 100];
        let written = s
            .write(&mut w, Target::Event, &[&thread], None, |e, _| {
                e.init_params(1).get(0).set_bytes(&big);
                Ok(())
            })
            .unwrap();
        assert!(!written);
        assert_eq!(w.pending(), 0, "nothing written");
    }
}
