//! Where an event's parts lie in its frame: which of Event's pointer
//! fields holds each part that can come from another segment (found once
//! by building events), and where an event's pointer section starts in a
//! one-segment frame. Both the zero-copy writer ([`crate::writer::splice`]) and the
//! raw parameter reader ([`crate::writer::rawparams`]) need them.
//!
//! It is not a place for building or copying frames.

use std::sync::OnceLock;

use capnp::message::Builder;
use schema::kestrel_capnp::frame;

use crate::writer::wire::{follow, pointer_at, PointerKind, WORD};

/// The event fields that can come from other segments, in the order of
/// `Slots`: the cached parts, and the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Thread,
    User,
    Group,
    LoginUser,
    Container,
    K8s,
    Params,
}

/// Every part, in the order of [`Part`]'s ordinals.
pub const ALL_PARTS: [Part; 7] = [
    Part::Thread,
    Part::User,
    Part::Group,
    Part::LoginUser,
    Part::Container,
    Part::K8s,
    Part::Params,
];

/// Index of each part among Event's pointer fields, found once by building
/// an event with only that part set.
struct Slots([u32; ALL_PARTS.len()]);

impl Slots {
    fn find() -> Slots {
        let mut slots = [0; ALL_PARTS.len()];
        for (i, part) in ALL_PARTS.iter().enumerate() {
            let mut msg = Builder::new_default();
            let mut ev = msg.init_root::<frame::Builder>().init_event();
            match part {
                Part::Thread => ev.reborrow().init_thread().set_tid(1),
                Part::User => ev.reborrow().init_user().set_uid(1),
                Part::Group => ev.reborrow().init_group().set_gid(1),
                Part::LoginUser => ev.reborrow().init_login_user().set_uid(1),
                Part::Container => ev.reborrow().init_container().set_id("x"),
                Part::K8s => ev.reborrow().init_k8s().set_pod_name("x"),
                Part::Params => ev.reborrow().init_params(1).get(0).set_int(1),
            }
            let segments = msg.get_segments_for_output();
            let seg = segments[0];
            if let Some((at, n)) = event_pointers(seg) {
                slots[i] = (0..n as u32)
                    .find(|&s| pointer_at(seg, at + s as usize).is_some_and(|p| !p.is_null()))
                    .unwrap_or(0);
            }
        }
        Slots(slots)
    }

    fn of(&self, part: Part) -> u32 {
        self.0[part as usize]
    }
}

/// Index of `part` among Event's pointer fields.
pub fn slot_of(part: Part) -> u32 {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(Slots::find).of(part)
}

/// The word index of the event's (or state's: the union's members share
/// one pointer) pointer section in a single-segment Frame, and its number
/// of pointers. The event is Frame's first pointer.
pub fn event_pointers(seg: &[u8]) -> Option<(usize, usize)> {
    let words = seg.len() / WORD;
    let (frame, frame_at) = follow(seg, 0, PointerKind::Struct)?;
    let frame_data = usize::from(frame.struct_data_words());
    if frame.struct_pointer_count() == 0 || frame_at + frame.struct_words() > words {
        return None;
    }
    let (ev, ev_at) = follow(seg, frame_at + frame_data, PointerKind::Struct)?;
    let ev_ptrs = usize::from(ev.struct_pointer_count());
    let ev_data = usize::from(ev.struct_data_words());
    (ev_at + ev.struct_words() <= words).then_some((ev_at + ev_data, ev_ptrs))
}
