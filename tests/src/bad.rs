//! The streams every stage must refuse cleanly: a one-line error naming the
//! problem and the byte offset, a non-zero exit, no panic, bounded memory.
//! Each generator is deterministic, so a failure reproduces.
//!
//! [`cases`] lists them all with the words the error must contain; a stage's
//! tests feed each to the stage and check its stderr and exit code.

use schema::kestrel_capnp::Stage;
use schema::limits::MAX_FRAME_BYTES;

use crate::frames;
use crate::run::Outcome;

/// Peak resident memory a stage may reach while refusing a bad stream, in
/// KiB: the reader's bound is one `MAX_FRAME_BYTES` frame plus its read-ahead
/// buffer; the rest is the program itself.
pub const PEAK_RSS_LIMIT_KIB: i64 = 24 << 10;

/// A bad stream and what a reader must say about it.
pub struct Case {
    /// Short name for test output.
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Words the one-line error must contain (lowercase match), the byte
    /// offset among them.
    pub expect: Vec<String>,
}

/// Deterministic pseudo-random bytes (xorshift64*), so that tests need no
/// random-number crate and failures reproduce from the seed.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A valid stream whose last frame is cut in half: the error is at that
/// frame's offset.
pub fn truncated() -> (Vec<u8>, u64) {
    let mut s = frames::current_header(Stage::Capture);
    let at = s.len() as u64;
    let ev = frames::frame_bytes(|f| frames::full_event(f.init_event()));
    s.extend_from_slice(&ev[..ev.len() / 2]);
    (s, at)
}

/// A header, then a frame whose segment table claims one byte more than
/// [`MAX_FRAME_BYTES`] (the body is not sent: a reader must refuse on the
/// table alone, before allocating).
pub fn oversized() -> (Vec<u8>, u64) {
    let mut s = frames::current_header(Stage::Capture);
    let at = s.len() as u64;
    let words = (MAX_FRAME_BYTES / 8) as u32; // + 8-byte table > limit
    s.extend_from_slice(&0u32.to_le_bytes());
    s.extend_from_slice(&words.to_le_bytes());
    // Some body, so the refusal is not mistaken for truncation.
    s.extend_from_slice(&[0u8; 4096]);
    (s, at)
}

/// A stream that starts with an event instead of a header.
pub fn no_header() -> Vec<u8> {
    let mut s = Vec::new();
    for f in frames::body_frames() {
        s.extend_from_slice(&f);
    }
    s
}

/// A stream from a newer major format version, otherwise valid.
pub fn newer_major() -> Vec<u8> {
    let mut s = frames::header(Stage::Capture, schema::kestrel_capnp::FORMAT_MAJOR + 1, 0);
    for f in frames::body_frames() {
        s.extend_from_slice(&f);
    }
    s
}

/// Every bad stream, with the words its error must contain.
pub fn cases() -> Vec<Case> {
    let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let (trunc, trunc_at) = truncated();
    let (big, big_at) = oversized();
    let mut random = Vec::new();
    for seed in 1..=4u64 {
        random.push(Case {
            name: ["random-1", "random-2", "random-3", "random-4"][seed as usize - 1],
            bytes: random_bytes(seed, 64 << 10),
            expect: words(&["not a kestrel stream", "byte 0"]),
        });
    }
    let mut all = vec![
        Case {
            name: "truncated",
            bytes: trunc,
            expect: vec!["truncated".into(), format!("byte {trunc_at}")],
        },
        Case {
            name: "oversized",
            bytes: big,
            expect: vec!["over the limit".into(), format!("byte {big_at}")],
        },
        Case {
            name: "no-header",
            bytes: no_header(),
            expect: words(&["not a kestrel stream", "byte 0", "event"]),
        },
        Case {
            name: "newer-major",
            bytes: newer_major(),
            expect: vec![
                "newer".into(),
                "byte 0".into(),
                format!(
                    "format version {}.0",
                    schema::kestrel_capnp::FORMAT_MAJOR + 1
                ),
            ],
        },
    ];
    all.append(&mut random);
    all
}

/// Checks how program `name` handled `case` (run with
/// [`crate::run::run_with_input`]): exit code 1, exactly one stderr line
/// `NAME: error: ...` containing every expected word, no panic, peak RSS
/// under [`PEAK_RSS_LIMIT_KIB`]. Panics with the details otherwise.
pub fn assert_refused(name: &str, case: &Case, out: &Outcome) {
    let lines = out.stderr_lines();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: exit status {} (stderr: {})",
        case.name,
        out.status,
        out.stderr
    );
    assert_eq!(
        lines.len(),
        1,
        "{}: expected one line, got {lines:?}",
        case.name
    );
    let line = lines[0].to_lowercase();
    let prefix = format!("{name}: error: ");
    assert!(
        line.starts_with(&prefix),
        "{}: {line:?} does not start with {prefix:?}",
        case.name
    );
    assert!(!line.contains("panicked"), "{}: {line}", case.name);
    for word in &case.expect {
        assert!(
            line.contains(&word.to_lowercase()),
            "{}: {line:?} does not contain {word:?}",
            case.name
        );
    }
    assert!(
        out.max_rss_kib < PEAK_RSS_LIMIT_KIB,
        "{}: peak RSS {} KiB over {} KiB",
        case.name,
        out.max_rss_kib,
        PEAK_RSS_LIMIT_KIB
    );
}
