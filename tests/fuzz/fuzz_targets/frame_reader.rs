//! The blocking frame reader (`schema::FrameReader`) on arbitrary bytes,
//! split between reads as the input's first byte says: the header check
//! (`schema::header::check_frame`, hence `check`) on the first frame, then
//! every frame decoded whole by `schema::json::frame_to_json`. Frames must
//! sit end to end: each one's offset is the previous one's plus its size.
#![no_main]

use kestrel_fuzz::{Chunked, MAX_FRAMES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = schema::FrameReader::new(Chunked::from_input(data));
    if !matches!(r.read_header(), Ok(Some(_))) {
        // Not a stream; the frames that follow are still fair game for the
        // decoder, as a reader that skips the check would see them.
        r = schema::FrameReader::new(Chunked::from_input(data));
    }
    let mut expect = r.offset();
    for _ in 0..MAX_FRAMES {
        let Ok(Some(f)) = r.next() else { break };
        assert_eq!(f.offset(), expect, "frames are contiguous");
        expect += f.raw().len() as u64;
        let Ok(root) = f.root() else { continue };
        let _ = schema::header::check_frame(Ok(root));
        let _ = schema::json::frame_to_json(root);
    }
});
