//! An input event's parameter list read straight from the frame's bytes,
//! for the common shape: a single-segment frame whose parameters are
//! integers, nothing, or byte strings lying after the list. Such a list is
//! checked once ([`RawList::locate`]); then each parameter is read with a
//! few loads instead of through Cap'n Proto's readers, and the whole list
//! is copied into the output frame as one block of words ([`RawList::segment`],
//! a segment of the frame the splicer builds, see [`crate::writer::splice`]).
//!
//! Anything else (socket addresses, argument lists, pointers elsewhere,
//! more parameters than any kind has) is left to Cap'n Proto, so a hostile
//! stream gains nothing here: every pointer of the block is checked to stay
//! inside it, and the block is bounded by `MAX_PARAMS_BLOCK_WORDS`.
//!
//! Paths that enrich resolved are rewritten in the copy: the new bytes are
//! appended to the block and the parameter's pointer moved to them.

use capnp::data_list;
use schema::kestrel_capnp::{sock_addr, sock_tuple};

use crate::writer::slots::{event_pointers, slot_of, Part};
use crate::writer::wire::{
    self, follow, pointer_at, word, ElementSize, PointerKind, WirePointer, WORD,
};

/// One parameter's value.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    None,
    Int(i64),
    Uint(u64),
    Bytes(&'a [u8]),
    Sockaddr(sock_addr::Reader<'a>),
    Tuple(sock_tuple::Reader<'a>),
    List(data_list::Reader<'a>),
}

/// Largest parameter block read here, in words (64 KiB); larger lists are
/// left to Cap'n Proto.
const MAX_PARAMS_BLOCK_WORDS: usize = 8192;

/// Most parameters a list read here may have: more than any kind's row in
/// the event table, so that a hostile count cannot make the check long.
const MAX_PARAMS: usize = 64;

/// `Param`'s union discriminants, in the schema's declaration order
/// (checked against the generated readers by the tests below). The
/// discriminant is Param's first 16-bit data field; `int` and `uint` are
/// its second 64-bit field, and the byte string its first pointer.
const PARAM_NONE: u16 = 0;
const PARAM_INT: u16 = 1;
const PARAM_UINT: u16 = 2;
const PARAM_BYTES: u16 = 3;

/// An event's parameter list, located and checked in its frame.
#[derive(Clone, Copy)]
pub struct RawList<'a> {
    seg: &'a [u8],
    /// The `params` list pointer.
    pointer: WirePointer,
    /// Word index of the list's tag word.
    tag_at: usize,
    /// Words per element, and data words of each.
    stride: usize,
    data: usize,
    count: usize,
    /// One past the last word of the list and of every byte string it
    /// points to.
    end: usize,
}

impl<'a> RawList<'a> {
    /// The parameter list of `raw` (one event frame exactly as read), if it
    /// has the shape described above.
    pub fn locate(raw: &'a [u8]) -> Option<RawList<'a>> {
        let seg = wire::single_segment(raw)?;
        let (ptrs_at, ptrs) = event_pointers(seg)?;
        let slot = slot_of(Part::Params) as usize;
        if slot >= ptrs {
            return None;
        }
        let at = ptrs_at + slot;
        let (pointer, tag_at) = follow(seg, at, PointerKind::List)?;
        if pointer.list_element_size() != ElementSize::InlineComposite {
            return None;
        }
        let list_words = pointer.list_inline_composite_word_count() as usize;
        let tag = pointer_at(seg, tag_at)?;
        if tag.kind() != PointerKind::Struct {
            return None;
        }
        let count = tag.inline_composite_element_count() as usize;
        let data = usize::from(tag.struct_data_words());
        let stride = tag.struct_words();
        if count > MAX_PARAMS || count * stride != list_words {
            return None;
        }
        let first = tag_at + 1;
        let list_end = first + list_words;
        let mut end = list_end;
        for e in 0..count {
            for k in data..stride {
                let at = first + e * stride + k;
                if pointer_at(seg, at)?.is_null() {
                    continue;
                }
                let (p, blob) = follow(seg, at, PointerKind::List)?;
                if p.list_element_size() != ElementSize::Byte {
                    return None;
                }
                let blob_end = blob + (p.list_element_count() as usize).div_ceil(WORD);
                if blob < list_end || blob_end * WORD > seg.len() {
                    return None;
                }
                end = end.max(blob_end);
            }
        }
        if end - tag_at > MAX_PARAMS_BLOCK_WORDS || end * WORD > seg.len() {
            return None;
        }
        Some(RawList {
            seg,
            pointer,
            tag_at,
            stride,
            data,
            count,
            end,
        })
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Parameter `i` (below [`Self::len`]), or None when it is of a kind
    /// this view leaves to Cap'n Proto.
    pub fn value(&self, i: usize) -> Option<Value<'a>> {
        if i >= self.count || self.data < 2 {
            return None;
        }
        let at = self.tag_at + 1 + i * self.stride;
        let discriminant = word(self.seg, at)? as u16;
        match discriminant {
            PARAM_NONE => Some(Value::None),
            PARAM_INT => Some(Value::Int(word(self.seg, at + 1)? as i64)),
            PARAM_UINT => Some(Value::Uint(word(self.seg, at + 1)?)),
            PARAM_BYTES if self.stride > self.data => {
                let ptr = at + self.data;
                if pointer_at(self.seg, ptr)?.is_null() {
                    return Some(Value::Bytes(&[]));
                }
                let (p, blob) = follow(self.seg, ptr, PointerKind::List)?;
                let len = p.list_element_count() as usize;
                Some(Value::Bytes(self.seg.get(blob * WORD..blob * WORD + len)?))
            }
            _ => None,
        }
    }

    /// Builds in `out` the segment that carries this list in an output
    /// frame: a landing pad, then the list and its byte strings, with the
    /// byte parameters of `rewrites` (index, new bytes) replaced. False,
    /// with `out` unspecified, when a rewrite does not fit.
    pub fn segment(&self, rewrites: &[(usize, Vec<u8>)], out: &mut Vec<u8>) -> bool {
        out.clear();
        // The pad: the same list pointer, with its target right after it.
        let Some(pad) = self.pointer.with_offset(0) else {
            return false;
        };
        out.extend_from_slice(&pad.to_word().to_le_bytes());
        out.extend_from_slice(&self.seg[self.tag_at * WORD..self.end * WORD]);
        for (i, bytes) in rewrites {
            if *i >= self.count || self.stride == self.data {
                return false;
            }
            // Word of the parameter's pointer (union members share slot 0).
            let at = 1 + 1 + i * self.stride + self.data;
            let blob = out.len() / WORD;
            if blob + bytes.len() / WORD > MAX_PARAMS_BLOCK_WORDS {
                return false;
            }
            let p = u32::try_from(bytes.len()).ok().and_then(|len| {
                let offset = i32::try_from(blob - (at + 1)).ok()?;
                WirePointer::new_list(offset, ElementSize::Byte, len)
            });
            let Some(p) = p else {
                return false;
            };
            out.extend_from_slice(bytes);
            out.resize(out.len().next_multiple_of(WORD), 0);
            out[at * WORD..at * WORD + WORD].copy_from_slice(&p.to_word().to_le_bytes());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnp::message::Builder;
    use schema::kestrel_capnp::{event, frame, param};

    /// Builds the parameter segment of `raw`, if its list has the shape.
    fn params_segment(raw: &[u8], rewrites: &[(usize, Vec<u8>)], out: &mut Vec<u8>) -> bool {
        RawList::locate(raw).is_some_and(|l| l.segment(rewrites, out))
    }

    fn frame_of(fill: impl FnOnce(event::Builder<'_>)) -> Vec<u8> {
        let mut msg = Builder::new_default();
        fill(msg.init_root::<frame::Builder>().init_event());
        capnp::serialize::write_message_to_words(&msg)
    }

    /// Reads the parameter segment back through its landing pad.
    fn read_back(seg: &[u8]) -> Vec<String> {
        let mut framed = 0u64.to_le_bytes().to_vec();
        framed[4..8].copy_from_slice(&((seg.len() / WORD) as u32).to_le_bytes());
        framed.extend_from_slice(seg);
        let msg = capnp::serialize::read_message(&mut &framed[..], Default::default()).unwrap();
        let list = msg
            .get_root::<capnp::struct_list::Reader<param::Owned>>()
            .unwrap();
        list.iter()
            .map(|p| match p.which().unwrap() {
                param::Int(v) => format!("int {v}"),
                param::Uint(v) => format!("uint {v}"),
                param::Bytes(b) => format!("bytes {}", String::from_utf8_lossy(b.unwrap())),
                param::None(()) => "none".to_string(),
                _ => "other".to_string(),
            })
            .collect()
    }

    fn openat() -> Vec<u8> {
        frame_of(|e| {
            let mut l = e.init_params(4);
            l.reborrow().get(0).set_int(-100);
            l.reborrow().get(1).set_bytes(b"../data/x.json");
            l.reborrow().get(2).set_uint(0o1101);
            l.reborrow().get(3).set_bytes(b"tail");
        })
    }

    #[test]
    fn copies_the_list_and_rewrites_paths() {
        let raw = openat();
        let mut seg = Vec::new();
        assert!(params_segment(&raw, &[], &mut seg));
        assert_eq!(
            read_back(&seg),
            ["int -100", "bytes ../data/x.json", "uint 577", "bytes tail"]
        );
        let rewrites = [(1, b"/var/lib/data/x.json".to_vec())];
        assert!(params_segment(&raw, &rewrites, &mut seg));
        assert_eq!(
            read_back(&seg),
            [
                "int -100",
                "bytes /var/lib/data/x.json",
                "uint 577",
                "bytes tail"
            ]
        );
    }

    /// What Cap'n Proto's readers say parameter `i` is, in the terms of
    /// [`Value`].
    fn through_capnp(raw: &[u8], i: usize) -> Option<String> {
        let msg = capnp::serialize::read_message_from_flat_slice(&mut &raw[..], Default::default())
            .ok()?;
        let root = msg.get_root::<frame::Reader>().ok()?;
        let frame::Event(Ok(ev)) = root.which().ok()? else {
            return None;
        };
        let list = ev.get_params().ok()?;
        if i >= list.len() as usize {
            return None;
        }
        Some(match list.get(i as u32).which().ok()? {
            param::None(()) => "none".into(),
            param::Int(v) => format!("int {v}"),
            param::Uint(v) => format!("uint {v}"),
            param::Bytes(b) => format!("bytes {:?}", b.ok()?),
            _ => "other".into(),
        })
    }

    fn is_event(raw: &[u8]) -> bool {
        let Ok(msg) =
            capnp::serialize::read_message_from_flat_slice(&mut &raw[..], Default::default())
        else {
            return false;
        };
        msg.get_root::<frame::Reader>()
            .is_ok_and(|r| matches!(r.which(), Ok(frame::Event(Ok(_)))))
    }

    fn directly(raw: &[u8], i: usize) -> Option<String> {
        Some(match RawList::locate(raw)?.value(i)? {
            Value::None => "none".into(),
            Value::Int(v) => format!("int {v}"),
            Value::Uint(v) => format!("uint {v}"),
            Value::Bytes(b) => format!("bytes {b:?}"),
            _ => "other".into(),
        })
    }

    #[test]
    fn values_read_directly_are_what_capnp_reads() {
        let raw = frame_of(|e| {
            let mut l = e.init_params(6);
            l.reborrow().get(0).set_int(-7);
            l.reborrow().get(1).set_uint(u64::MAX);
            l.reborrow().get(2).set_bytes(b"/etc/passwd");
            l.reborrow().get(3).set_bytes(b"");
            l.reborrow().get(4).set_none(());
            // Index 5 left as capnp initialises it: `none`.
        });
        for i in 0..7 {
            assert_eq!(directly(&raw, i), through_capnp(&raw, i), "parameter {i}");
        }
        assert_eq!(
            directly(&raw, 2).unwrap(),
            format!("bytes {:?}", b"/etc/passwd")
        );
    }

    #[test]
    fn other_shapes_are_left_to_re_encoding() {
        let mut seg = Vec::new();
        let with_addr = frame_of(|e| {
            e.init_params(1).get(0).init_sockaddr().set_port(80);
        });
        assert!(!params_segment(&with_addr, &[], &mut seg));
        let without = frame_of(|mut e| e.set_tid(1));
        assert!(!params_segment(&without, &[], &mut seg));
        // A rewrite of a parameter the list does not have.
        assert!(!params_segment(&openat(), &[(9, b"/x".to_vec())], &mut seg));
        // Two segments.
        let mut two = openat();
        two[0] = 1;
        assert!(!params_segment(&two, &[], &mut seg));
    }

    proptest::proptest! {
        #[test]
        fn corrupt_frames_never_panic(flips in proptest::collection::vec((0usize..400, 0u8..=255), 1..8)) {
            let mut raw = openat();
            for (at, v) in flips {
                let n = raw.len();
                raw[at % n] = v;
            }
            // enrich reads parameters directly only from frames Cap'n
            // Proto reads as events; there the two must agree.
            if is_event(&raw) {
                for i in 0..6 {
                    let direct = directly(&raw, i);
                    if direct.is_some() {
                        proptest::prop_assert_eq!(direct, through_capnp(&raw, i));
                    }
                }
            }
            let mut seg = Vec::new();
            if params_segment(&raw, &[(1, b"/p".to_vec())], &mut seg) {
                // What was accepted must decode within its own bounds.
                let mut framed = 0u64.to_le_bytes().to_vec();
                framed[4..8].copy_from_slice(&((seg.len() / WORD) as u32).to_le_bytes());
                framed.extend_from_slice(&seg);
                let msg = capnp::serialize::read_message(&mut &framed[..], Default::default()).unwrap();
                let list = msg.get_root::<capnp::struct_list::Reader<param::Owned>>().unwrap();
                for p in list.iter() {
                    if let Ok(param::Bytes(b)) = p.which() {
                        proptest::prop_assert!(b.is_ok());
                    }
                }
            }
        }
    }
}
