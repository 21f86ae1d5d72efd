//! A reusable first segment for building frames: [`ReusedArena`].
//!
//! Building a frame needs zeroed memory. Allocating it per frame (the heap
//! allocator) or re-zeroing a whole scratch buffer per frame (`capnp`'s
//! `ScratchSpaceHeapAllocator::new`) costs more than building a typical
//! event; this arena owns one buffer for the writer's life and re-zeroes only
//! the words the last frame used. It is not a general allocator: frames that
//! outgrow the buffer spill to the heap.

use std::ptr::NonNull;

use capnp::message::{Allocator, HeapAllocator};

/// One owned, word-aligned first segment, reused frame after frame.
pub struct ReusedArena {
    scratch: Box<[capnp::Word]>,
    /// Whether a message currently holds the scratch segment.
    in_use: bool,
    heap: HeapAllocator,
}

impl ReusedArena {
    /// An arena whose first segment holds `words` words.
    pub fn new(words: usize) -> Self {
        ReusedArena {
            scratch: vec![capnp::word(0, 0, 0, 0, 0, 0, 0, 0); words].into_boxed_slice(),
            in_use: false,
            heap: HeapAllocator::new(),
        }
    }

    fn scratch_ptr(&mut self) -> NonNull<u8> {
        NonNull::from(&mut self.scratch[..]).cast::<u8>()
    }
}

// SAFETY: the scratch segment is handed to at most one message at a time
// (`in_use`), is zeroed when first made and re-zeroed over every word a
// message used before it is handed out again, so every segment returned is
// zeroed as `Allocator` requires. Other segments come from the heap
// allocator and go back to it.
unsafe impl Allocator for ReusedArena {
    fn allocate_segment(&mut self, minimum_size: u32) -> (NonNull<u8>, u32) {
        let words = self.scratch.len();
        if !self.in_use && minimum_size as usize <= words {
            self.in_use = true;
            // The length fits: `new` callers pass small sizes, and a segment
            // longer than u32::MAX words could not be addressed anyway.
            (self.scratch_ptr(), u32::try_from(words).unwrap_or(u32::MAX))
        } else {
            self.heap.allocate_segment(minimum_size)
        }
    }

    unsafe fn deallocate_segment(&mut self, ptr: NonNull<u8>, word_size: u32, words_used: u32) {
        if ptr == self.scratch_ptr() {
            let used = (words_used as usize).min(self.scratch.len());
            self.scratch[..used].fill(capnp::word(0, 0, 0, 0, 0, 0, 0, 0));
            self.in_use = false;
        } else {
            // SAFETY: the caller passes back a segment this allocator gave
            // out, and it did not come from the scratch buffer, so from the heap.
            unsafe { self.heap.deallocate_segment(ptr, word_size, words_used) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnp::message::Builder;

    #[test]
    fn reuse_starts_from_zeroed_memory_and_spills_to_the_heap() {
        let mut arena = ReusedArena::new(16);
        for round in 0..3u64 {
            let mut msg = Builder::new(&mut arena);
            let mut root = msg.init_root::<capnp::any_pointer::Builder>();
            // Larger than the scratch segment on the last round.
            let len = if round == 2 { 64 } else { 8 };
            let data = root.reborrow().initn_as::<capnp::data::Builder>(len);
            assert!(
                data.iter().all(|b| *b == 0),
                "round {round}: memory not zeroed"
            );
            data.fill(0xAB);
        }
    }
}
