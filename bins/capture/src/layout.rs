//! The binary layout of the records the probe writes into the ring buffer,
//! and the limits that bound them.
//!
//! This file is the single source of these numbers: `build.rs` includes it and
//! writes them into `layout.h` for the C probe, whose `_Static_assert`s check
//! its own structs against them at compile time. So nothing here is mirrored
//! by hand. It is not the decoder; [`crate::record`] is.
//!
//! A record is: a fixed header of [`REC_HDR_BYTES`], then one `u16` length per
//! parameter (`nparams` of them, [`PARAM_NONE`] for an absent one), then the
//! parameters' bytes back to back, in the order of `schema::table`. All
//! integers are little-endian (the probe runs on the same host).

// Most limits are read only by build.rs, for the C side.
#![allow(dead_code)]

/// Size of the fixed record header.
pub const REC_HDR_BYTES: usize = 32;
/// `u64`: CLOCK_BOOTTIME of the event, ns.
pub const OFF_TS: usize = 0;
/// `i64`: the syscall's return value.
pub const OFF_RET: usize = 8;
/// `u32`: host thread id.
pub const OFF_TID: usize = 16;
/// `u32`: host thread-group id.
pub const OFF_PID: usize = 20;
/// `u16`: `schema::Kind` ordinal.
pub const OFF_KIND: usize = 24;
/// `u16`: number of parameter lengths that follow the header.
pub const OFF_NPARAMS: usize = 26;
/// `u16`: `FLAG_*` bits.
pub const OFF_FLAGS: usize = 28;
/// `u16`: the CPU the event was captured on.
pub const OFF_CPU: usize = 30;

/// Parameter length that marks an absent parameter (not captured, not
/// applicable, or unreadable user memory).
pub const PARAM_NONE: u16 = 0xffff;

/// Most parameters one record may carry (execveat has 29). A power of two so
/// the probe can mask indexes for the verifier.
pub const MAX_PARAMS: usize = 32;

/// Largest record, header included. A power of two so the probe can mask
/// offsets for the verifier. Sized for the worst exec record: four paths of
/// [`MAX_PATH_BYTES`], argv of [`MAX_ARGS_BYTES`] and the cgroup list.
pub const MAX_RECORD_BYTES: usize = 32 << 10;

/// Longest single string read from memory (a user path: `PATH_MAX`).
pub const MAX_STR_BYTES: usize = 4096;

/// Longest path the probe rebuilds from dentries (cwd, executable path).
pub const MAX_PATH_BYTES: usize = 4096;

/// Most path components walked when rebuilding a path from dentries. Deeper
/// paths are cut at the top and the record is flagged truncated.
pub const MAX_PATH_DEPTH: usize = 32;

/// Most bytes of argv an exec record carries; longer argv is cut and
/// flagged (`args_truncated`).
pub const MAX_ARGS_BYTES: usize = 4096;

/// Most bytes of the cgroup path list of an exec record.
pub const MAX_CGROUPS_BYTES: usize = 4096;

/// Largest socket address read from user memory (`sizeof(struct
/// sockaddr_storage)`).
pub const MAX_SOCKADDR_BYTES: usize = 128;

/// Record flag: some parameter was cut to fit a limit above.
pub const FLAG_TRUNCATED: u16 = 1;

/// Why the probe lost an event, in the order of the per-CPU `drops` map. The
/// names become stats counters `drops.NAME`.
pub const DROP_REASONS: [&str; 3] = [
    // The ring buffer had no room: the reader is too slow.
    "ringbuf_full",
    // The per-CPU scratch buffer was not available (should not happen).
    "no_scratch",
    // An exec's entry parameters could not be stored, so its filename is
    // missing (the event itself is still sent).
    "exec_entry_lost",
];
