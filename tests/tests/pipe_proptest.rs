//! Property tests of the frame readers: random bytes and mutated valid
//! streams never make `FrameReader` or `AsyncFrameReader` panic, every error
//! names an offset inside the stream, both readers agree frame for frame,
//! and reads split at arbitrary points give the same frames as one read.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use schema::aio::AsyncFrameReader;
use schema::{FrameError, FrameReader};
use tokio::io::{AsyncRead, ReadBuf};

use kestrel_tests::frames::valid_stream;
use kestrel_tests::run::split_frames;

/// What a reader made of a stream: each frame's offset and bytes, then how it
/// ended (`None`: clean EOF).
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<(u64, Vec<u8>)>,
    end: Option<String>,
}

/// Checks an error against the stream it came from and describes it.
fn ended(e: FrameError, len: usize) -> Option<String> {
    assert!(
        (e.offset() as usize) < len,
        "error offset {} outside a stream of {len} bytes: {e}",
        e.offset()
    );
    Some(e.to_string())
}

/// Decodes everything in a frame, as `output --raw` does, to reach the
/// deepest pointers; decoding errors are allowed, panics are not.
fn walk(root: Result<schema::frame::Reader<'_>, FrameError>) {
    if let Ok(root) = root {
        let _ = schema::json::frame_to_json(root);
    }
}

fn read_blocking<R: Read>(r: R, len: usize) -> Outcome {
    let mut r = FrameReader::new(r);
    let mut out = Outcome {
        frames: Vec::new(),
        end: None,
    };
    match r.read_header() {
        Ok(None) => {
            assert_eq!(len, 0, "a non-empty stream reported as empty");
            return out;
        }
        Ok(Some(_)) => out.frames.push((0, Vec::new())),
        Err(e) => {
            out.end = ended(e, len);
            return out;
        }
    }
    loop {
        match r.next() {
            Ok(Some(f)) => {
                walk(f.root());
                out.frames.push((f.offset(), f.raw().to_vec()));
            }
            Ok(None) => return out,
            Err(e) => {
                out.end = ended(e, len);
                return out;
            }
        }
    }
}

fn read_async<R: AsyncRead + Unpin>(r: R, len: usize) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let mut r = AsyncFrameReader::new(r);
        let mut out = Outcome {
            frames: Vec::new(),
            end: None,
        };
        match r.read_header().await {
            Ok(None) => {
                assert_eq!(len, 0, "a non-empty stream reported as empty");
                return out;
            }
            Ok(Some(_)) => out.frames.push((0, Vec::new())),
            Err(e) => {
                out.end = ended(e, len);
                return out;
            }
        }
        loop {
            match r.next().await {
                Ok(Some(f)) => {
                    walk(f.root());
                    out.frames.push((f.offset, f.raw.to_vec()));
                }
                Ok(None) => return out,
                Err(e) => {
                    out.end = ended(e, len);
                    return out;
                }
            }
        }
    })
}

/// Both readers on `bytes`, which must agree.
fn read_both(bytes: &[u8]) -> Outcome {
    let a = read_blocking(bytes, bytes.len());
    let b = read_async(bytes, bytes.len());
    assert_eq!(a, b, "blocking and async readers disagree");
    a
}

/// A source that hands out at most `sizes[i]` bytes per read, cycling.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    i: usize,
}

impl Chunked<'_> {
    fn next_chunk(&mut self, room: usize) -> &[u8] {
        let n = self.sizes[self.i % self.sizes.len()]
            .min(room)
            .min(self.data.len());
        self.i += 1;
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let chunk = self.next_chunk(buf.len());
        buf[..chunk.len()].copy_from_slice(chunk);
        Ok(chunk.len())
    }
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let chunk = self.next_chunk(buf.remaining());
        buf.put_slice(chunk);
        Poll::Ready(Ok(()))
    }
}

/// The offsets at which frames of [`valid_stream`] start: where a length
/// field is, and so where mutations hurt most.
fn frame_starts(stream: &[u8]) -> Vec<usize> {
    let mut at = 0;
    split_frames(stream)
        .iter()
        .map(|f| {
            let start = at;
            at += f.len();
            start
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in vec(any::<u8>(), 0..4096)) {
        read_both(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header(tail in vec(any::<u8>(), 0..4096)) {
        let mut s = kestrel_tests::frames::current_header(schema::Stage::Capture);
        s.extend_from_slice(&tail);
        read_both(&s);
    }

    #[test]
    fn mutated_valid_streams(
        flips in vec((any::<Index>(), any::<u8>()), 0..8),
        lengths in vec((any::<Index>(), 0usize..8, any::<u32>()), 0..3),
        cut in proptest::option::of(any::<Index>()),
    ) {
        let mut s = valid_stream();
        for (at, byte) in flips {
            let i = at.index(s.len());
            s[i] ^= byte;
        }
        // Rewrite a segment-count or segment-size word at a frame start.
        let starts = frame_starts(&valid_stream());
        for (frame, word, value) in lengths {
            let at = starts[frame.index(starts.len())] + 4 * (word % 2);
            s[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        if let Some(cut) = cut {
            s.truncate(cut.index(s.len() + 1));
        }
        read_both(&s);
    }

    #[test]
    fn split_reads_give_the_same_frames(sizes in vec(1usize..200, 1..32)) {
        let s = valid_stream();
        let whole = read_both(&s);
        prop_assert!(whole.end.is_none());
        let blocking = read_blocking(Chunked { data: &s, sizes: sizes.clone(), i: 0 }, s.len());
        let asynchronous = read_async(Chunked { data: &s, sizes, i: 0 }, s.len());
        prop_assert_eq!(&blocking, &whole);
        prop_assert_eq!(&asynchronous, &whole);
    }
}
