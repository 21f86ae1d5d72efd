//! Inputs the fuzzers found (`tests/fuzz/regressions/`), read as a stage
//! reads them: each must end in a frame error or clean, promptly and
//! without unbounded memory, however it is cut.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use schema::FrameReader;

/// Longest one input may take, in a debug build, through the reader and
/// the JSON rendering of every frame.
const PATIENCE: Duration = Duration::from_secs(20);

fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz/regressions")
        .join(target);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.expect("entry").path();
        let bytes = std::fs::read(&p).expect("read");
        out.push((p, bytes));
    }
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

#[test]
fn frame_reader_regressions_end_promptly() {
    for (path, bytes) in regressions("frame_reader_async") {
        let start = Instant::now();
        // The fuzz input's first byte is how it was cut into reads; the
        // stream is the rest.
        let stream = bytes.get(1..).unwrap_or_default();
        let mut r = FrameReader::new(stream);
        while let Ok(Some(f)) = r.next() {
            if let Ok(root) = f.root() {
                let _ = schema::json::frame_to_json(root);
            }
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{} took {:?}",
            path.display(),
            start.elapsed()
        );
    }
}
