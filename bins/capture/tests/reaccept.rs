//! capture's `listen:` output outlives its reader, with the real binary: the
//! first reader goes away, capture keeps running, the next reader gets a
//! fresh header and a stats frame that counts the gap in
//! `drops.downstream_disconnected`, and capture still ends cleanly at its
//! `--duration`.

mod common;

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use schema::{frame, FrameReader, Stage};

/// How long capture may take to bind its socket.
const BIND_TIMEOUT: Duration = Duration::from_secs(10);

/// capture's run; the second reader stays until capture ends.
const DURATION_SECS: &str = "6";

fn connect_when_there(path: &Path) -> UnixStream {
    let start = Instant::now();
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return s,
            Err(e) if start.elapsed() > BIND_TIMEOUT => {
                panic!("capture did not listen on {}: {e}", path.display())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A capture stats frame's counter, if `f` is one.
fn capture_counter(f: &schema::InFrame<'_>, name: &str) -> Option<u64> {
    let Ok(frame::Stats(Ok(s))) = f.root().ok()?.which() else {
        return None;
    };
    if s.get_stage().ok()? != Stage::Capture {
        return None;
    }
    let counters = s.get_counters().ok()?;
    counters
        .iter()
        .find(|c| c.get_name().ok().and_then(|n| n.to_str().ok()) == Some(name))
        .map(|c| c.get_value())
}

fn socket_path() -> PathBuf {
    std::env::temp_dir().join(format!("capture-reaccept-{}.sock", std::process::id()))
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn a_listen_output_takes_the_next_reader_and_reports_the_gap() {
    common::require_kernel();
    let path = socket_path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_capture"))
        .args(["--no-snapshot", "--duration", DURATION_SECS, "--output"])
        .arg(format!("listen:{}", path.display()))
        .spawn()
        .expect("starting capture");

    // The first reader takes the header and one frame, then goes away.
    let mut first = FrameReader::new(connect_when_there(&path));
    let header = first.read_header().expect("a header").expect("not empty");
    assert_eq!(header.stage, Some(Stage::Capture));
    first
        .next()
        .expect("a frame")
        .expect("a frame before the end");
    drop(first);

    // Events while nobody reads: these must be counted, not lost silently.
    for _ in 0..50 {
        let _ = std::fs::read("/etc/hostname");
    }
    std::thread::sleep(Duration::from_millis(300));

    let mut second = FrameReader::new(connect_when_there(&path));
    let header = second
        .read_header()
        .expect("a fresh header for the new reader")
        .expect("not empty");
    assert_eq!(header.stage, Some(Stage::Capture));
    let mut gap = None;
    let mut frames = 0u64;
    while let Some(f) = second.next().expect("whole, valid frames") {
        frames += 1;
        if gap.is_none() {
            gap = capture_counter(&f, "drops.downstream_disconnected");
            if let Some(n) = gap {
                let drops = capture_counter(&f, "drops").expect("a drops total");
                assert!(drops >= n, "drops {drops} < downstream_disconnected {n}");
            }
        }
    }
    let status = child.wait().expect("waiting for capture");
    let _ = std::fs::remove_file(&path);
    assert!(status.success(), "capture failed: {status}");
    let gap = gap.expect("the new reader got a capture stats frame");
    assert!(
        gap > 0,
        "drops.downstream_disconnected is 0 after a reader left"
    );
    assert!(frames > 1, "the new reader got only {frames} frames");
}
