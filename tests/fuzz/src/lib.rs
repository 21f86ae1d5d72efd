//! Shared pieces of kestrel's fuzz targets (`fuzz_targets/`), and the
//! parsers of the two binary crates, capture and output, included here by
//! path so that the targets can call them without those crates growing a
//! library target.
//!
//! The included modules are compiled exactly as in their binaries: their
//! `crate::` paths resolve to this crate's root, which is why they sit here
//! at the root under their own names. Only what the parsers need from each
//! binary is included. Not for anything but fuzzing.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

// capture: the ring-record parser and the frame encoder it feeds.
#[allow(dead_code)]
#[path = "../../../bins/capture/src/encode.rs"]
pub mod encode;
// capture: the /proc parsers of its startup snapshot (self-contained).
#[allow(dead_code)]
#[path = "../../../bins/capture/src/layout.rs"]
pub mod layout;
#[allow(dead_code)]
#[path = "../../../bins/capture/src/snapshot/proc.rs"]
pub mod procfs;
#[allow(dead_code)]
#[path = "../../../bins/capture/src/record.rs"]
pub mod record;

// output: its whole module tree (the config and the HTTP server reach most
// of it), without `main`.
#[allow(dead_code)]
#[path = "../../../bins/output/src/alert.rs"]
pub mod alert;
#[allow(dead_code)]
#[path = "../../../bins/output/src/cli.rs"]
pub mod cli;
#[allow(dead_code)]
#[path = "../../../bins/output/src/config.rs"]
pub mod config;
#[allow(dead_code)]
#[path = "../../../bins/output/src/counters.rs"]
pub mod counters;
#[allow(dead_code)]
#[path = "../../../bins/output/src/ctl.rs"]
pub mod ctl;
#[allow(dead_code)]
#[path = "../../../bins/output/src/drops.rs"]
pub mod drops;
#[allow(dead_code)]
#[path = "../../../bins/output/src/format.rs"]
pub mod format;
#[allow(dead_code)]
#[path = "../../../bins/output/src/latency.rs"]
pub mod latency;
#[allow(dead_code)]
#[path = "../../../bins/output/src/metrics.rs"]
pub mod metrics;
#[allow(dead_code)]
#[path = "../../../bins/output/src/pipeline.rs"]
pub mod pipeline;
#[allow(dead_code)]
#[path = "../../../bins/output/src/queue.rs"]
pub mod queue;
#[allow(dead_code)]
#[path = "../../../bins/output/src/ratelimit.rs"]
pub mod ratelimit;
#[allow(dead_code)]
#[path = "../../../bins/output/src/raw.rs"]
pub mod raw;
#[allow(dead_code)]
#[path = "../../../bins/output/src/run.rs"]
pub mod run;
#[allow(dead_code)]
#[path = "../../../bins/output/src/sink/mod.rs"]
pub mod sink;
#[allow(dead_code)]
#[path = "../../../bins/output/src/spool.rs"]
pub mod spool;
#[allow(dead_code)]
#[path = "../../../bins/output/src/stats.rs"]
pub mod stats;

/// Most frames a target reads from one input: bounds the time of one run
/// on inputs of many tiny frames.
pub const MAX_FRAMES: usize = 4096;

/// A reader handing out at most `step` bytes per read, so that the frame
/// readers meet every way a frame can be split between reads.
pub struct Chunked<'a> {
    data: &'a [u8],
    step: usize,
}

impl<'a> Chunked<'a> {
    /// The input's first byte picks the step (0: everything at once); the
    /// rest is the stream.
    pub fn from_input(input: &'a [u8]) -> Self {
        let (step, data) = match input.split_first() {
            Some((&0, rest)) => (usize::MAX, rest),
            Some((&s, rest)) => (usize::from(s), rest),
            None => (usize::MAX, input),
        };
        Chunked { data, step }
    }

    fn next_piece(&mut self, want: usize) -> &'a [u8] {
        let n = want.min(self.step).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head = self.next_piece(buf.len());
        buf[..head.len()].copy_from_slice(head);
        Ok(head.len())
    }
}

impl tokio::io::AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let head = self.next_piece(buf.remaining());
        buf.put_slice(head);
        Poll::Ready(Ok(()))
    }
}

/// Reads every frame of `bytes` (a whole stream, header first) and checks
/// each decodes to JSON: what anything written by a stage must do.
/// Returns the frames' JSON.
pub fn reread(bytes: &[u8]) -> Vec<serde_json::Value> {
    reread_framing(bytes, true)
}

/// [`reread`], or with `whole` false only the framing and each frame's
/// root: what a stage that forwards its input's contents as they are
/// guarantees for an input whose contents do not decode.
pub fn reread_framing(bytes: &[u8], whole: bool) -> Vec<serde_json::Value> {
    let mut r = schema::FrameReader::new(bytes);
    let mut out = Vec::new();
    loop {
        match r.next() {
            Ok(Some(f)) => {
                let root = f.root().expect("a written frame has a root");
                if whole {
                    out.push(
                        schema::json::frame_to_json(root).expect("a written frame reads whole"),
                    );
                }
            }
            Ok(None) => return out,
            Err(e) => panic!("written stream does not read back: {e}"),
        }
    }
}
