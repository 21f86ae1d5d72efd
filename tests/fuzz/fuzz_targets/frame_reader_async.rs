//! The async frame reader (`schema::aio::AsyncFrameReader`) against the
//! blocking one on the same bytes, split the same way: both must find the
//! same header, the same frames at the same offsets, and end the same way
//! (clean end, or the same error). Each frame is decoded whole.
#![no_main]

use kestrel_fuzz::{Chunked, MAX_FRAMES};
use libfuzzer_sys::fuzz_target;
use schema::aio::AsyncFrameReader;
use schema::FrameReader;

/// What a reader saw: the header check's outcome, each frame's offset and
/// bytes, and how the stream ended.
#[derive(Debug, PartialEq)]
struct Seen {
    header: String,
    frames: Vec<(u64, Vec<u8>)>,
    end: String,
}

fn blocking(data: &[u8]) -> Seen {
    let mut r = FrameReader::new(Chunked::from_input(data));
    let header = format!("{:?}", r.read_header().map_err(|e| e.to_string()));
    let mut frames = Vec::new();
    let end = loop {
        if frames.len() == MAX_FRAMES {
            break "cap".to_string();
        }
        match r.next() {
            Ok(Some(f)) => {
                if let Ok(root) = f.root() {
                    let _ = schema::json::frame_to_json(root);
                }
                frames.push((f.offset(), f.raw().to_vec()));
            }
            Ok(None) => break "end".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    Seen {
        header,
        frames,
        end,
    }
}

async fn nonblocking(data: &[u8]) -> Seen {
    let mut r = AsyncFrameReader::new(Chunked::from_input(data));
    let header = format!("{:?}", r.read_header().await.map_err(|e| e.to_string()));
    let mut frames = Vec::new();
    let end = loop {
        if frames.len() == MAX_FRAMES {
            break "cap".to_string();
        }
        match r.next().await {
            Ok(Some(f)) => {
                if let Ok(root) = f.root() {
                    let _ = schema::json::frame_to_json(root);
                }
                frames.push((f.offset, f.raw.to_vec()));
            }
            Ok(None) => break "end".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    Seen {
        header,
        frames,
        end,
    }
}

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
    }
    let got = RT.with(|rt| rt.block_on(nonblocking(data)));
    assert_eq!(got, blocking(data), "async and blocking readers agree");
});
