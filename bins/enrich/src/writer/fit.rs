//! Keeps every event frame enrich writes within the wire limit
//! (`schema::limits::MAX_FRAME_BYTES`). Every reader refuses a bigger
//! frame, so `FrameWriter` refuses to write one; an event whose frame would
//! be over it (an input event near the limit, with enrich's parts added)
//! goes out instead with its biggest parts cut, in two steps: its container
//! without labels and mounts; then also without its parameters and its
//! thread's lists (arguments, environment, cgroups, ancestors' arguments).
//! Only an event that does not fit even then is dropped. Either is counted
//! (`parts_trimmed`, `drops.frame_too_large`); neither stops enrich.
//!
//! It does not bound what enrich keeps ([`crate::limits`] does) nor decide
//! what an event carries ([`crate::engine::compose`] does).

use std::io::{self, Write};

use capnp::message::{Allocator, Builder, HeapAllocator};
use schema::kestrel_capnp::{container, event, frame};
use schema::limits::MAX_FRAME_BYTES;
use schema::FrameWriter;

/// How an event frame went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fitted {
    Whole,
    /// Written with parts cut.
    Trimmed,
    /// Not written: too big even cut.
    Dropped,
}

/// True for `FrameWriter`'s refusal of a frame over the wire limit, which
/// it documents as [`io::ErrorKind::InvalidInput`] (enrich's own errors
/// while building a frame are Cap'n Proto's, of another kind).
pub fn too_large(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidInput
}

/// The serialised size of `msg`, segment table included.
pub fn size<A: Allocator>(msg: &Builder<A>) -> usize {
    capnp::serialize::compute_serialized_size_in_words(msg) * 8
}

/// A copy of `msg` holding only what its root reaches: parts replaced in
/// place still take their bytes in the original.
fn compact(msg: &Builder<HeapAllocator>) -> capnp::Result<Builder<HeapAllocator>> {
    let mut fresh = Builder::new_default();
    fresh.set_root(msg.get_root_as_reader::<frame::Reader<'_>>()?)?;
    Ok(fresh)
}

fn event_of(msg: &mut Builder<HeapAllocator>) -> capnp::Result<Option<event::Builder<'_>>> {
    match msg.get_root::<frame::Builder<'_>>()?.which()? {
        frame::Event(ev) => Ok(Some(ev?)),
        _ => Ok(None),
    }
}

/// Cuts the parameters and the thread's lists of `ev`.
fn cut_lists(mut ev: event::Builder<'_>) -> capnp::Result<()> {
    if ev.has_params() {
        ev.reborrow().init_params(0);
    }
    if ev.has_snapshot_fds() {
        ev.reborrow().init_snapshot_fds(0);
    }
    if !ev.has_thread() {
        return Ok(());
    }
    let mut t = ev.get_thread()?;
    t.reborrow().init_args(0);
    t.reborrow().init_env(0);
    t.reborrow().init_cgroups(0);
    t.set_args_truncated(true);
    if t.has_ancestors() {
        let mut anc = t.get_ancestors()?;
        for i in 0..anc.len() {
            let mut a = anc.reborrow().get(i);
            a.reborrow().init_args(0);
            a.set_args_truncated(true);
        }
    }
    Ok(())
}

/// Writes `msg`, a frame holding an event, cut as the wire limit needs;
/// `summary` writes the event's container without labels and mounts.
pub fn write_fitted<W: Write>(
    w: &mut FrameWriter<W>,
    mut msg: Builder<HeapAllocator>,
    summary: impl FnOnce(container::Builder<'_>),
) -> io::Result<Fitted> {
    if size(&msg) <= MAX_FRAME_BYTES {
        w.write(&msg)?;
        return Ok(Fitted::Whole);
    }
    let Some(ev) = event_of(&mut msg).map_err(to_io)? else {
        return Ok(Fitted::Dropped);
    };
    if ev.has_container() {
        summary(ev.init_container());
    }
    let mut msg = compact(&msg).map_err(to_io)?;
    if size(&msg) <= MAX_FRAME_BYTES {
        w.write(&msg)?;
        return Ok(Fitted::Trimmed);
    }
    if let Some(ev) = event_of(&mut msg).map_err(to_io)? {
        cut_lists(ev).map_err(to_io)?;
    }
    let msg = compact(&msg).map_err(to_io)?;
    if size(&msg) <= MAX_FRAME_BYTES {
        w.write(&msg)?;
        return Ok(Fitted::Trimmed);
    }
    Ok(Fitted::Dropped)
}

/// A Cap'n Proto error met while building a frame, as the writer's I/O
/// error (the frame writer's callers speak `io::Result`).
pub(crate) fn to_io(e: capnp::Error) -> io::Error {
    io::Error::other(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::FrameReader;

    fn event_with(params: usize, label_bytes: usize) -> Builder<HeapAllocator> {
        let mut msg = Builder::new_default();
        let mut ev = msg.init_root::<frame::Builder<'_>>().init_event();
        ev.set_tid(7);
        ev.reborrow()
            .init_params(1)
            .get(0)
            .set_bytes(&vec![b'p'; params]);
        ev.reborrow().init_thread().init_args(1).set(0, b"arg");
        let mut c = ev.init_container();
        c.set_id("c1");
        let mut l = c.init_labels(1).get(0);
        l.set_key("big");
        l.set_value(&*"v".repeat(label_bytes));
        msg
    }

    fn read_one(bytes: &[u8]) -> (i32, bool, usize) {
        let mut r = FrameReader::new(bytes);
        let f = r.next().unwrap().unwrap();
        let frame::Event(Ok(ev)) = f.root().unwrap().which().unwrap() else {
            panic!("not an event")
        };
        let labels = ev.get_container().unwrap().get_labels().unwrap().len() as usize;
        (ev.get_tid(), ev.has_params(), labels)
    }

    #[test]
    fn frames_over_the_wire_limit_go_out_cut_and_the_writer_keeps_writing() {
        let summary = |mut c: container::Builder<'_>| c.set_id("c1");
        let mut w = FrameWriter::new(Vec::new());
        // The container part is what is too big: it goes without labels.
        let fitted = write_fitted(&mut w, event_with(10, MAX_FRAME_BYTES), summary).unwrap();
        assert_eq!(fitted, Fitted::Trimmed);
        w.flush().unwrap();
        let n = w.get_ref().len();
        assert!(n <= MAX_FRAME_BYTES);
        assert_eq!(read_one(w.get_ref()), (7, true, 0));
        // The parameters are: they go too.
        let fitted = write_fitted(&mut w, event_with(MAX_FRAME_BYTES, 10), summary).unwrap();
        assert_eq!(fitted, Fitted::Trimmed);
        w.flush().unwrap();
        let (tid, _, _) = read_one(&w.get_ref()[n..]);
        assert_eq!(tid, 7);
        // A frame within the limit goes out whole, after both.
        let fitted = write_fitted(&mut w, event_with(10, 10), summary).unwrap();
        assert_eq!(fitted, Fitted::Whole);
    }
}
