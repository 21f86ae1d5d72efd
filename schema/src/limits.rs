//! Named limits that bound what a reader will accept, so that a corrupt or
//! hostile stream cannot make a stage allocate without bound or recurse deeply.
//!
//! Every stage reads with these; raising one is a format decision, recorded in
//! `schema/README.md`.

/// Largest frame, segment table included. The biggest legitimate frames are
/// snapshot events of processes with many open descriptors; 4 MiB holds tens
/// of thousands of them.
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// Most segments one frame may have. Writers here produce one for typical
/// frames and about a dozen for the largest (the heap allocator doubles each
/// new segment); 511 is the most the `capnp` crate itself accepts.
pub const MAX_SEGMENTS: usize = 511;

/// Cap'n Proto traversal limit in 8-byte words per frame: how much data a
/// reader may visit, counting revisits. Eight times the largest frame leaves
/// room for fields read more than once without letting an amplification
/// attack (many pointers to one object) run away.
pub const TRAVERSAL_LIMIT_WORDS: usize = 8 * (MAX_FRAME_BYTES / 8);

/// Cap'n Proto nesting limit: how deep pointers may nest. kestrel's schema
/// nests at most about six levels (frame → event → thread → ancestors → item
/// → args → item).
pub const NESTING_LIMIT: i32 = 16;

/// Bytes a [`crate::FrameWriter`] buffers before writing: batching turns many
/// small frames into few `write(2)` calls.
pub const WRITE_BATCH_BYTES: usize = 256 << 10;

/// Bytes a [`crate::FrameReader`] reads ahead.
pub const READ_BUFFER_BYTES: usize = 256 << 10;

/// Reader options that apply the limits above.
pub fn reader_options() -> capnp::message::ReaderOptions {
    let mut o = capnp::message::ReaderOptions::new();
    o.traversal_limit_in_words(Some(TRAVERSAL_LIMIT_WORDS));
    o.nesting_limit(NESTING_LIMIT);
    o
}
