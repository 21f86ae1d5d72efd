//! Cap'n Proto's wire pointers and stream segment table, decoded and
//! encoded by hand: typed accessors over one 64-bit pointer word
//! ([`WirePointer`]), each implementing one rule of the Cap'n Proto
//! encoding spec, in the manner of capnproto-rust's own (private)
//! `WirePointer`.
//!
//! It is for enrich's zero-copy paths, which read and write frames as
//! words: the splicer ([`crate::writer::splice`]) and the direct parameter reader
//! ([`crate::writer::rawparams`]). It is not a reader: it follows no pointer across
//! segments and checks nothing beyond "is this word in the slice"; its
//! callers check the shapes they accept. Everything else reads and builds
//! messages through the `capnp` crate.

/// Bytes per Cap'n Proto word.
pub const WORD: usize = 8;

/// Largest element count (or word count, for inline-composite lists) a
/// list pointer can hold: its 29-bit field.
pub const MAX_LIST_COUNT: u32 = (1 << 29) - 1;

/// Largest landing pad offset a far pointer can hold: its 29-bit field.
pub const MAX_LANDING_PAD: u32 = (1 << 29) - 1;

/// Smallest offset a struct or list pointer can hold: its field is 30
/// bits, signed.
const MIN_OFFSET: i32 = -(1 << 29);
/// Largest offset a struct or list pointer can hold; also the largest
/// element count of an inline-composite tag, which uses that field.
const MAX_OFFSET: i32 = (1 << 29) - 1;

/// The low two bits of a pointer word (field A of every pointer layout),
/// which say its kind.
const KIND_MASK: u64 = 3;
/// Field A of a struct pointer (and of an inline-composite tag).
const KIND_STRUCT: u64 = 0;
/// Field A of a list pointer.
const KIND_LIST: u64 = 1;
/// Field A of a far pointer.
const KIND_FAR: u64 = 2;
/// Bit 2 of a far pointer: its landing pad is itself a far pointer.
const FAR_DOUBLE: u64 = 4;
/// The three bits of a list pointer's element size code, once shifted down.
const ELEMENT_SIZE_MASK: u64 = 7;
/// Bits 2..32 of a struct or list pointer: the offset field.
const OFFSET_MASK: u64 = 0xffff_fffc;

/// Word `i` of `b`, if `b` holds it; words are little-endian.
#[inline]
pub fn word(b: &[u8], i: usize) -> Option<u64> {
    let start = i.checked_mul(WORD)?;
    let s = b.get(start..start.checked_add(WORD)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// The pointer at word `i` of `b`, if `b` holds it.
#[inline]
pub fn pointer_at(b: &[u8], i: usize) -> Option<WirePointer> {
    word(b, i).map(WirePointer::from_word)
}

/// The non-null pointer of kind `kind` (struct or list) at word `at` of
/// `seg`, and the word its target starts at; None for any other pointer,
/// or a target before the segment's start.
#[inline]
pub fn follow(seg: &[u8], at: usize, kind: PointerKind) -> Option<(WirePointer, usize)> {
    let p = pointer_at(seg, at)?;
    if p.kind() != kind || p.is_null() {
        return None;
    }
    Some((p, p.target(at)?))
}

/// What a pointer points at: its low two bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerKind {
    /// 0: a struct (and the null pointer, all zero).
    Struct,
    /// 1: a list.
    List,
    /// 2: a landing pad in another segment.
    Far,
    /// 3: a capability, or reserved.
    Other,
}

/// A list's element size code: bits 32..35 of a list pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ElementSize {
    Void = 0,
    Bit = 1,
    Byte = 2,
    TwoBytes = 3,
    FourBytes = 4,
    /// Eight bytes that are not a pointer.
    EightBytes = 5,
    Pointer = 6,
    /// Structs, preceded by a tag word ([`WirePointer::inline_composite_tag`]).
    InlineComposite = 7,
}

impl ElementSize {
    /// The size named by the low three bits of `code`.
    #[inline]
    fn from_code(code: u64) -> ElementSize {
        match code & ELEMENT_SIZE_MASK {
            0 => ElementSize::Void,
            1 => ElementSize::Bit,
            2 => ElementSize::Byte,
            3 => ElementSize::TwoBytes,
            4 => ElementSize::FourBytes,
            5 => ElementSize::EightBytes,
            6 => ElementSize::Pointer,
            _ => ElementSize::InlineComposite,
        }
    }
}

/// One pointer word, as the encoding spec lays it out (bit 0 is the least
/// significant bit of the little-endian word):
///
/// - struct: `A` (bits 0..2) = 0, `B` (2..32) signed offset in words from
///   the end of the pointer to the struct's data section, `C` (32..48) data
///   section size in words, `D` (48..64) pointer section size in pointers;
/// - list: `A` = 1, `B` offset as for structs, `C` (32..35) element size,
///   `D` (35..64) element count, or, for inline-composite lists, the list's
///   words not counting its tag;
/// - far: `A` = 2, `B` (bit 2) double-far, `C` (3..32) landing pad's word
///   offset in the target segment, unsigned, `D` (32..64) target segment id;
/// - other: `A` = 3 (capabilities).
///
/// All zero is the null pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WirePointer(u64);

impl WirePointer {
    pub const NULL: WirePointer = WirePointer(0);

    #[inline]
    pub const fn from_word(w: u64) -> WirePointer {
        WirePointer(w)
    }

    /// The pointer's word, to store little-endian.
    #[inline]
    pub const fn to_word(self) -> u64 {
        self.0
    }

    /// Null pointers are all zero (an empty struct is not null: its
    /// offset is -1).
    #[inline]
    pub const fn is_null(self) -> bool {
        self.0 == 0
    }

    /// Field `A`, bits 0..2.
    #[inline]
    pub fn kind(self) -> PointerKind {
        match self.0 & KIND_MASK {
            KIND_STRUCT => PointerKind::Struct,
            KIND_LIST => PointerKind::List,
            KIND_FAR => PointerKind::Far,
            _ => PointerKind::Other,
        }
    }

    /// Field `B` of a struct or list pointer, bits 2..32: the signed offset
    /// in words from the end of the pointer to its target.
    #[inline]
    pub const fn offset(self) -> i32 {
        (self.0 as u32 as i32) >> 2
    }

    /// The word index of the target of a struct or list pointer stored at
    /// word `at`: the word after the pointer, plus [`Self::offset`]. None
    /// when that falls before word 0.
    #[inline]
    pub fn target(self, at: usize) -> Option<usize> {
        usize::try_from(at as i64 + 1 + i64::from(self.offset())).ok()
    }

    /// Field `C` of a struct pointer, bits 32..48: the data section's size
    /// in words.
    #[inline]
    pub const fn struct_data_words(self) -> u16 {
        (self.0 >> 32) as u16
    }

    /// Field `D` of a struct pointer, bits 48..64: the pointer section's
    /// size in pointers (words).
    #[inline]
    pub const fn struct_pointer_count(self) -> u16 {
        (self.0 >> 48) as u16
    }

    /// A struct's size in words: its data section, then its pointers.
    #[inline]
    pub const fn struct_words(self) -> usize {
        self.struct_data_words() as usize + self.struct_pointer_count() as usize
    }

    /// Field `C` of a list pointer, bits 32..35.
    #[inline]
    pub fn list_element_size(self) -> ElementSize {
        ElementSize::from_code(self.0 >> 32)
    }

    /// Field `D` of a list pointer, bits 35..64: the number of elements
    /// (not for inline-composite lists, whose tag holds it).
    #[inline]
    pub const fn list_element_count(self) -> u32 {
        (self.0 >> 35) as u32
    }

    /// Field `D` of an inline-composite list pointer: the list's words,
    /// not counting the tag word.
    #[inline]
    pub const fn list_inline_composite_word_count(self) -> u32 {
        self.list_element_count()
    }

    /// The element count of an inline-composite list's tag word: a word
    /// laid out as a struct pointer (giving each element's size) whose
    /// offset field, unsigned, holds the number of elements.
    #[inline]
    pub const fn inline_composite_element_count(self) -> u32 {
        (self.0 as u32) >> 2
    }

    /// Field `B` of a far pointer, bit 2: the landing pad is itself a far
    /// pointer, followed by a tag giving the target's shape.
    #[inline]
    pub const fn far_is_double(self) -> bool {
        self.0 & FAR_DOUBLE != 0
    }

    /// Field `C` of a far pointer, bits 3..32: the landing pad's word
    /// offset from the start of the target segment.
    #[inline]
    pub const fn far_landing_pad(self) -> u32 {
        (self.0 as u32) >> 3
    }

    /// Field `D` of a far pointer, bits 32..64: the target segment's id
    /// (its index in the segment table).
    #[inline]
    pub const fn far_segment_id(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Field `B` as it is stored: `offset` in its 30 bits. None when it
    /// does not fit.
    #[inline]
    fn offset_bits(offset: i32) -> Option<u64> {
        (MIN_OFFSET..=MAX_OFFSET)
            .contains(&offset)
            .then_some(u64::from((offset as u32) << 2))
    }

    /// A struct pointer to a struct `offset` words after the pointer's end,
    /// with `data_words` words of data and `pointers` pointers. None when
    /// the offset does not fit in 30 bits.
    #[inline]
    pub fn new_struct(offset: i32, data_words: u16, pointers: u16) -> Option<WirePointer> {
        let b = Self::offset_bits(offset)?;
        Some(WirePointer(
            KIND_STRUCT | b | u64::from(data_words) << 32 | u64::from(pointers) << 48,
        ))
    }

    /// A list pointer to `count` elements of `size` (for inline-composite
    /// lists: the words after the tag) `offset` words after the pointer's
    /// end. None when the offset or the count does not fit.
    #[inline]
    pub fn new_list(offset: i32, size: ElementSize, count: u32) -> Option<WirePointer> {
        let b = Self::offset_bits(offset)?;
        if count > MAX_LIST_COUNT {
            return None;
        }
        Some(WirePointer(
            KIND_LIST | b | (size as u64) << 32 | u64::from(count) << 35,
        ))
    }

    /// The tag word of an inline-composite list of `count` structs of
    /// `data_words` data words and `pointers` pointers each. None when the
    /// count does not fit in 30 bits.
    #[inline]
    pub fn inline_composite_tag(count: u32, data_words: u16, pointers: u16) -> Option<WirePointer> {
        if count > MAX_OFFSET as u32 {
            return None;
        }
        Some(WirePointer(
            KIND_STRUCT
                | u64::from(count) << 2
                | u64::from(data_words) << 32
                | u64::from(pointers) << 48,
        ))
    }

    /// A single far pointer to the landing pad at word `landing_pad` of
    /// segment `segment`; the pad is an ordinary pointer whose offset
    /// counts from the pad. None when the pad's offset does not fit in 29
    /// bits.
    #[inline]
    pub fn new_far(segment: u32, landing_pad: u32) -> Option<WirePointer> {
        if landing_pad > MAX_LANDING_PAD {
            return None;
        }
        Some(WirePointer(
            KIND_FAR | u64::from(landing_pad) << 3 | u64::from(segment) << 32,
        ))
    }

    /// This struct or list pointer, pointing `offset` words after its end
    /// instead (the same kind and sizes). None when the offset does not
    /// fit.
    #[inline]
    pub fn with_offset(self, offset: i32) -> Option<WirePointer> {
        let b = Self::offset_bits(offset)?;
        Some(WirePointer((self.0 & !OFFSET_MASK) | b))
    }
}

/// The one segment of `frame`, a message in stream framing (a segment table,
/// then the segments) that has exactly one segment; None for any other.
///
/// The segment table is: the number of segments minus one (u32), each
/// segment's size in words (u32), and padding to a whole word.
#[inline]
pub fn single_segment(frame: &[u8]) -> Option<&[u8]> {
    let table = word(frame, 0)?;
    if table as u32 != 0 {
        return None;
    }
    let words = (table >> 32) as usize;
    frame.get(WORD..WORD.checked_add(words.checked_mul(WORD)?)?)
}

/// Appends to `out` the segment table (see [`single_segment`]) of a message
/// whose segments are `sizes` words long. None, with `out` unchanged, when
/// there are none or a size does not fit in 32 bits.
#[inline(always)]
pub fn put_segment_table(out: &mut Vec<u8>, sizes: &[usize]) -> Option<()> {
    let count = u32::try_from(sizes.len()).ok()?.checked_sub(1)?;
    let start = out.len();
    out.reserve((sizes.len() / 2 + 1) * WORD);
    out.extend_from_slice(&count.to_le_bytes());
    for &s in sizes {
        let Ok(s) = u32::try_from(s) else {
            out.truncate(start);
            return None;
        };
        out.extend_from_slice(&s.to_le_bytes());
    }
    // The count and the sizes are u32s: an even number of sizes leaves
    // the table half a word short.
    if sizes.len().is_multiple_of(2) {
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnp::message::{AllocationStrategy, Builder, HeapAllocator};
    use capnp::private::layout::StructSize;
    use capnp::traits::HasStructSize;
    use capnp::{data, data_list, primitive_list, struct_list};
    use schema::kestrel_capnp::{event, frame, param};

    fn size_of<'a, T: HasStructSize + capnp::traits::FromPointerBuilder<'a>>() -> StructSize {
        T::STRUCT_SIZE
    }

    /// The words of each segment of `msg`.
    fn segments(msg: &Builder<HeapAllocator>) -> Vec<Vec<u8>> {
        msg.get_segments_for_output()
            .iter()
            .map(|s| s.to_vec())
            .collect()
    }

    /// A message whose every object lands in a segment of its own, so that
    /// its pointers across segments are far pointers.
    fn one_object_per_segment() -> Builder<HeapAllocator> {
        let alloc = HeapAllocator::new()
            .first_segment_words(1)
            .allocation_strategy(AllocationStrategy::FixedSize);
        let mut msg = Builder::new(alloc);
        let mut ev = msg.init_root::<frame::Builder>().init_event();
        ev.set_tid(42);
        ev.init_params(2).get(1).set_bytes(b"far away");
        msg
    }

    #[test]
    fn struct_pointers_decode_as_capnp_encodes_them() {
        let mut msg = Builder::new_default();
        msg.init_root::<frame::Builder>().init_event().set_tid(7);
        let seg = &segments(&msg)[0];
        let frame_size = size_of::<frame::Builder>();
        let event_size = size_of::<event::Builder>();

        let root = pointer_at(seg, 0).unwrap();
        assert_eq!(root.kind(), PointerKind::Struct);
        assert_eq!(root.offset(), 0, "the root struct follows its pointer");
        assert_eq!(root.target(0), Some(1));
        assert_eq!(root.struct_data_words(), frame_size.data);
        assert_eq!(root.struct_pointer_count(), frame_size.pointers);
        assert_eq!(
            root.struct_words(),
            (frame_size.data + frame_size.pointers) as usize
        );

        // The union's member is Frame's first pointer.
        let at = 1 + root.struct_data_words() as usize;
        let (ev, ev_at) = follow(seg, at, PointerKind::Struct).unwrap();
        assert_eq!(ev_at as i64, at as i64 + 1 + i64::from(ev.offset()));
        assert_eq!(ev.struct_data_words(), event_size.data);
        assert_eq!(ev.struct_pointer_count(), event_size.pointers);
        assert!(ev_at + ev.struct_words() <= seg.len() / WORD);

        for p in [root, ev] {
            let again = WirePointer::new_struct(
                p.offset(),
                p.struct_data_words(),
                p.struct_pointer_count(),
            );
            assert_eq!(again, Some(p), "{p:?} encodes back to itself");
        }
    }

    /// Builds a message's root.
    type InitRoot = fn(&mut Builder<HeapAllocator>);

    /// The root list pointer of a message whose root is a list made by
    /// `init`, and the message's one segment.
    fn root_list(init: impl FnOnce(&mut Builder<HeapAllocator>)) -> (WirePointer, usize, Vec<u8>) {
        let mut msg = Builder::new_default();
        init(&mut msg);
        let seg = segments(&msg).remove(0);
        let (p, at) = follow(&seg, 0, PointerKind::List).unwrap();
        (p, at, seg)
    }

    #[test]
    fn list_pointers_decode_every_element_size() {
        let cases: [(ElementSize, u32, InitRoot); 7] = [
            (ElementSize::Void, 3, |m| {
                m.initn_root::<primitive_list::Builder<()>>(3);
            }),
            (ElementSize::Bit, 9, |m| {
                m.initn_root::<primitive_list::Builder<bool>>(9)
                    .set(8, true);
            }),
            (ElementSize::Byte, 5, |m| {
                m.initn_root::<data::Builder>(5).copy_from_slice(b"hello");
            }),
            (ElementSize::TwoBytes, 4, |m| {
                m.initn_root::<primitive_list::Builder<u16>>(4).set(0, 1);
            }),
            (ElementSize::FourBytes, 2, |m| {
                m.initn_root::<primitive_list::Builder<u32>>(2).set(1, 2);
            }),
            (ElementSize::EightBytes, 6, |m| {
                m.initn_root::<primitive_list::Builder<u64>>(6).set(5, 3);
            }),
            (ElementSize::Pointer, 2, |m| {
                m.initn_root::<data_list::Builder>(2).set(0, b"x");
            }),
        ];
        for (size, count, init) in cases {
            let (p, at, _) = root_list(init);
            assert_eq!(p.kind(), PointerKind::List);
            assert_eq!(p.list_element_size(), size);
            assert_eq!(p.list_element_count(), count, "{size:?}");
            assert_eq!(at, 1, "{size:?}: the list follows its pointer");
            assert_eq!(WirePointer::new_list(0, size, count), Some(p));
        }
        let (p, _, seg) = root_list(|m| {
            m.initn_root::<data::Builder>(5).copy_from_slice(b"hello");
        });
        let at = p.target(0).unwrap();
        assert_eq!(&seg[at * WORD..at * WORD + 5], b"hello");
    }

    #[test]
    fn inline_composite_lists_decode_their_tag() {
        let elements = 4;
        let (p, tag_at, seg) = root_list(|m| {
            let mut l = m.initn_root::<struct_list::Builder<param::Owned>>(elements);
            l.reborrow().get(3).set_int(-1);
        });
        let size = size_of::<param::Builder>();
        assert_eq!(p.list_element_size(), ElementSize::InlineComposite);
        assert_eq!(
            p.list_inline_composite_word_count(),
            elements * u32::from(size.data + size.pointers)
        );
        let tag = pointer_at(&seg, tag_at).unwrap();
        assert_eq!(tag.kind(), PointerKind::Struct);
        assert_eq!(tag.inline_composite_element_count(), elements);
        assert_eq!(tag.struct_data_words(), size.data);
        assert_eq!(tag.struct_pointer_count(), size.pointers);
        assert_eq!(
            WirePointer::inline_composite_tag(elements, size.data, size.pointers),
            Some(tag)
        );
        assert_eq!(
            WirePointer::new_list(
                0,
                ElementSize::InlineComposite,
                p.list_inline_composite_word_count()
            ),
            Some(p)
        );
    }

    #[test]
    fn far_pointers_decode_their_landing_pad() {
        let msg = one_object_per_segment();
        let segs = segments(&msg);
        assert!(segs.len() > 2, "capnp spread the message over segments");
        let root = pointer_at(&segs[0], 0).unwrap();
        assert_eq!(root.kind(), PointerKind::Far);
        assert!(!root.far_is_double());
        assert_eq!(
            WirePointer::new_far(root.far_segment_id(), root.far_landing_pad()),
            Some(root)
        );
        // The pad is an ordinary pointer to the frame, in its segment.
        let target = &segs[root.far_segment_id() as usize];
        let pad = root.far_landing_pad() as usize;
        let (frame_ptr, _) = follow(target, pad, PointerKind::Struct).unwrap();
        let frame_size = size_of::<frame::Builder>();
        assert_eq!(frame_ptr.struct_data_words(), frame_size.data);
        assert_eq!(frame_ptr.struct_pointer_count(), frame_size.pointers);
        // The frame's event is in a segment of its own too: reached the
        // same way, from the frame's first pointer.
        let (frame_seg, frame_at) = (root.far_segment_id() as usize, pad + 1);
        let at = frame_at + usize::from(frame_ptr.struct_data_words());
        let to_event = pointer_at(&segs[frame_seg], at).unwrap();
        assert_eq!(to_event.kind(), PointerKind::Far);
        let target = &segs[to_event.far_segment_id() as usize];
        let (ev, _) = follow(
            target,
            to_event.far_landing_pad() as usize,
            PointerKind::Struct,
        )
        .unwrap();
        let event_size = size_of::<event::Builder>();
        assert_eq!(ev.struct_data_words(), event_size.data);
        assert_eq!(ev.struct_pointer_count(), event_size.pointers);
    }

    #[test]
    fn double_far_is_bit_two() {
        let single = WirePointer::new_far(3, 5).unwrap();
        let double = WirePointer::from_word(single.to_word() | FAR_DOUBLE);
        assert!(!single.far_is_double());
        assert!(double.far_is_double());
        assert_eq!(double.kind(), PointerKind::Far);
        assert_eq!((double.far_segment_id(), double.far_landing_pad()), (3, 5));
    }

    #[test]
    fn constructors_refuse_what_does_not_fit() {
        let max = MAX_LIST_COUNT;
        assert!(WirePointer::new_list(0, ElementSize::Byte, max).is_some());
        assert!(WirePointer::new_list(0, ElementSize::Byte, max + 1).is_none());
        assert!(WirePointer::new_struct(MAX_OFFSET, 1, 1).is_some());
        assert!(WirePointer::new_struct(MAX_OFFSET + 1, 1, 1).is_none());
        assert_eq!(
            WirePointer::new_struct(MIN_OFFSET, 0, 0).map(WirePointer::offset),
            Some(MIN_OFFSET)
        );
        assert!(WirePointer::new_struct(MIN_OFFSET - 1, 0, 0).is_none());
        assert!(WirePointer::new_far(u32::MAX, MAX_LANDING_PAD).is_some());
        assert!(WirePointer::new_far(0, MAX_LANDING_PAD + 1).is_none());
        let list = WirePointer::new_list(-3, ElementSize::Pointer, 9).unwrap();
        let moved = list.with_offset(12).unwrap();
        assert_eq!(moved.offset(), 12);
        assert_eq!(moved.list_element_size(), ElementSize::Pointer);
        assert_eq!(moved.list_element_count(), 9);
    }

    #[test]
    fn follow_refuses_null_other_kinds_and_targets_before_the_segment() {
        let mut seg = Vec::new();
        seg.extend_from_slice(&0u64.to_le_bytes());
        let list = WirePointer::new_list(0, ElementSize::Byte, 1).unwrap();
        seg.extend_from_slice(&list.to_word().to_le_bytes());
        let back = WirePointer::new_struct(-4, 1, 0).unwrap();
        seg.extend_from_slice(&back.to_word().to_le_bytes());
        assert!(follow(&seg, 0, PointerKind::Struct).is_none(), "null");
        assert!(follow(&seg, 1, PointerKind::Struct).is_none(), "a list");
        assert_eq!(follow(&seg, 1, PointerKind::List), Some((list, 2)));
        assert!(follow(&seg, 2, PointerKind::Struct).is_none(), "before 0");
        assert!(
            follow(&seg, 3, PointerKind::Struct).is_none(),
            "past the end"
        );
        assert_eq!(word(&seg, usize::MAX), None);
    }

    #[test]
    fn segment_tables_are_the_ones_capnp_writes() {
        let mut one = Builder::new_default();
        one.init_root::<frame::Builder>().init_event().set_tid(1);
        let many = one_object_per_segment();
        for msg in [&one, &many] {
            let segs = segments(msg);
            let mut ours = Vec::new();
            let sizes: Vec<usize> = segs.iter().map(|s| s.len() / WORD).collect();
            put_segment_table(&mut ours, &sizes).unwrap();
            for s in &segs {
                ours.extend_from_slice(s);
            }
            let theirs = capnp::serialize::write_message_to_words(msg);
            assert_eq!(ours, theirs, "{} segments", segs.len());
            let single = single_segment(&theirs);
            match segs.len() {
                1 => assert_eq!(single, Some(&segs[0][..])),
                _ => assert_eq!(single, None),
            }
        }
        // Two segments: the table is padded to a whole word.
        let mut two = Vec::new();
        put_segment_table(&mut two, &[3, 4]).unwrap();
        assert_eq!(two, [1, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(put_segment_table(&mut Vec::new(), &[]), None);
        assert_eq!(single_segment(&[0; 4]), None, "shorter than a word");
    }
}
