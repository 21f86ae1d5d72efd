//! Copies an input event's parameter list into an output frame as one block
//! of words, instead of re-encoding it parameter by parameter: the block
//! becomes a segment of the output frame (see [`crate::splice`]), whose
//! first word is the landing pad the event's `params` far pointer lands on.
//!
//! Only the common shape is copied this way: a single-segment input frame
//! whose parameters are integers and byte strings lying after the list.
//! Anything else (socket addresses, argument lists, pointers elsewhere) is
//! left to the ordinary re-encoding, so a hostile stream gains nothing
//! here: every pointer of the block is checked to stay inside it, and the
//! block is bounded by [`MAX_PARAMS_BLOCK_WORDS`].
//!
//! Paths that enrich resolved are rewritten in the copy: the new bytes are
//! appended to the block and the parameter's pointer moved to them.

use crate::splice::{event_pointers, follow, word, WORD};

/// Largest parameter block copied as a block, in words (64 KiB); larger
/// lists are re-encoded.
const MAX_PARAMS_BLOCK_WORDS: usize = 8192;

/// Pointer kind of a list pointer (low two bits).
const LIST: u64 = 1;
/// List element size code of byte lists (`Data`).
const ELEMENTS_BYTES: u64 = 2;
/// List element size code of inline-composite (struct) lists.
const ELEMENTS_COMPOSITE: u64 = 7;

/// The input event's parameter list, located in its frame.
struct Located<'a> {
    seg: &'a [u8],
    /// The `params` list pointer.
    pointer: u64,
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

/// Builds in `out` the parameter segment for the event of `raw` (one frame
/// exactly as read) whose `params` is Event pointer `slot`, with the byte
/// parameters of `rewrites` (index, new bytes) replaced. False, with `out`
/// unspecified, when the list is not of the simple shape described above.
pub fn params_segment(
    raw: &[u8],
    slot: usize,
    rewrites: &[(usize, Vec<u8>)],
    out: &mut Vec<u8>,
) -> bool {
    let Some(l) = locate(raw, slot) else {
        return false;
    };
    out.clear();
    // The pad: the same list pointer, with its target right after it.
    let pad = LIST | (l.pointer & !0xffff_ffff);
    out.extend_from_slice(&pad.to_le_bytes());
    out.extend_from_slice(&l.seg[l.tag_at * WORD..l.end * WORD]);
    for (i, bytes) in rewrites {
        if *i >= l.count || l.stride == l.data {
            return false;
        }
        // Word of the parameter's pointer (union members share slot 0).
        let at = 1 + 1 + i * l.stride + l.data;
        let blob = out.len() / WORD;
        let Ok(len) = u32::try_from(bytes.len()) else {
            return false;
        };
        if len >= 1 << 29 || blob + bytes.len() / WORD > MAX_PARAMS_BLOCK_WORDS {
            return false;
        }
        out.extend_from_slice(bytes);
        out.resize(out.len().next_multiple_of(WORD), 0);
        let offset = (blob - (at + 1)) as u64;
        let p = LIST | (offset << 2) | (ELEMENTS_BYTES << 32) | (u64::from(len) << 35);
        out[at * WORD..at * WORD + WORD].copy_from_slice(&p.to_le_bytes());
    }
    true
}

/// Finds and checks the parameter list of a single-segment event frame.
fn locate(raw: &[u8], slot: usize) -> Option<Located<'_>> {
    // Segment table of one segment: count - 1 (zero), then its size.
    if word(raw, 0)? as u32 != 0 {
        return None;
    }
    let words = (word(raw, 0)? >> 32) as usize;
    let seg = raw.get(WORD..WORD + words * WORD)?;
    let (ptrs_at, ptrs) = event_pointers(seg)?;
    if slot >= ptrs {
        return None;
    }
    let at = ptrs_at + slot;
    let pointer = word(seg, at)?;
    let (tag_at, upper) = follow(seg, at, LIST)?;
    if upper & 7 != ELEMENTS_COMPOSITE {
        return None;
    }
    let list_words = (upper >> 3) as usize;
    let tag = word(seg, tag_at)?;
    if tag & 3 != 0 {
        return None;
    }
    let count = (tag as u32 >> 2) as usize;
    let data = ((tag >> 32) & 0xffff) as usize;
    let stride = data + (tag >> 48) as usize;
    if count * stride != list_words {
        return None;
    }
    let first = tag_at + 1;
    let list_end = first + list_words;
    let mut end = list_end;
    for e in 0..count {
        for k in data..stride {
            let at = first + e * stride + k;
            if word(seg, at)? == 0 {
                continue;
            }
            let (blob, upper) = follow(seg, at, LIST)?;
            if upper & 7 != ELEMENTS_BYTES {
                return None;
            }
            let blob_end = blob + ((upper >> 3) as usize).div_ceil(WORD);
            if blob < list_end || blob_end * WORD > seg.len() {
                return None;
            }
            end = end.max(blob_end);
        }
    }
    if end - tag_at > MAX_PARAMS_BLOCK_WORDS || end * WORD > seg.len() {
        return None;
    }
    Some(Located {
        seg,
        pointer,
        tag_at,
        stride,
        data,
        count,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnp::message::Builder;
    use schema::kestrel_capnp::{event, frame, param};

    /// Event pointer slot of `params`, as the splicer finds it.
    fn params_slot() -> usize {
        let mut msg = Builder::new_default();
        msg.init_root::<frame::Builder>()
            .init_event()
            .init_params(1)
            .get(0)
            .set_int(1);
        let seg = msg.get_segments_for_output()[0].to_vec();
        let (at, n) = event_pointers(&seg).unwrap();
        (0..n).find(|&s| word(&seg, at + s).unwrap() != 0).unwrap()
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
        assert!(params_segment(&raw, params_slot(), &[], &mut seg));
        assert_eq!(
            read_back(&seg),
            ["int -100", "bytes ../data/x.json", "uint 577", "bytes tail"]
        );
        let rewrites = [(1, b"/var/lib/data/x.json".to_vec())];
        assert!(params_segment(&raw, params_slot(), &rewrites, &mut seg));
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

    #[test]
    fn other_shapes_are_left_to_re_encoding() {
        let slot = params_slot();
        let mut seg = Vec::new();
        let with_addr = frame_of(|e| {
            e.init_params(1).get(0).init_sockaddr().set_port(80);
        });
        assert!(!params_segment(&with_addr, slot, &[], &mut seg));
        let without = frame_of(|mut e| e.set_tid(1));
        assert!(!params_segment(&without, slot, &[], &mut seg));
        // A rewrite of a parameter the list does not have.
        assert!(!params_segment(
            &openat(),
            slot,
            &[(9, b"/x".to_vec())],
            &mut seg
        ));
        // Two segments.
        let mut two = openat();
        two[0] = 1;
        assert!(!params_segment(&two, slot, &[], &mut seg));
    }

    proptest::proptest! {
        #[test]
        fn corrupt_frames_never_panic(flips in proptest::collection::vec((0usize..400, 0u8..=255), 1..8)) {
            let mut raw = openat();
            for (at, v) in flips {
                let n = raw.len();
                raw[at % n] = v;
            }
            let mut seg = Vec::new();
            if params_segment(&raw, params_slot(), &[(1, b"/p".to_vec())], &mut seg) {
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
