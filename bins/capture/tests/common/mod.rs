//! Harness of the kernel tests: checks the prerequisites (root, BTF,
//! tracefs), starts the real `capture` binary, waits until its probe is
//! attached (its header arrives only then), and collects every frame it
//! writes as JSON until it is stopped.
//!
//! Not a decoder of its own: frames are read with `schema::FrameReader` and
//! rendered with `schema::json`, as `output --raw` does.

#![allow(dead_code)] // Each test binary uses a different part.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// How long capture may take to load and attach its probe.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Fails the test, naming what is missing, unless the kernel tests can run
/// here. Those tests are `#[ignore]`d, so a plain `cargo test` lists them
/// as ignored rather than passing them; `tests/run.sh` runs them.
pub fn require_kernel() {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root");
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        missing.push("kernel BTF (/sys/kernel/btf/vmlinux)");
    }
    if !std::path::Path::new("/sys/kernel/tracing/events/syscalls").is_dir() {
        missing.push("tracefs (mount -t tracefs nodev /sys/kernel/tracing)");
    }
    assert!(
        missing.is_empty(),
        "kernel test needs {}",
        missing.join(", ")
    );
}

/// A running capture.
pub struct Capture {
    child: Child,
    frames: Option<JoinHandle<Vec<Value>>>,
}

impl Capture {
    /// Starts capture with `args` and returns once its probe is attached.
    pub fn start(args: &[&str]) -> Capture {
        let mut child = Command::new(env!("CARGO_BIN_EXE_capture"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting capture");
        let stdout = child.stdout.take().expect("capture's stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        let frames = std::thread::spawn(move || {
            let mut r = schema::FrameReader::new(stdout);
            let header = r.read_header();
            let ok = matches!(header, Ok(Some(_)));
            let _ = ready_tx.send(header.map(|_| ()).map_err(|e| e.to_string()));
            let mut out = Vec::new();
            if !ok {
                return out;
            }
            while let Ok(Some(f)) = r.next() {
                let root = f.root().expect("frame root");
                out.push(schema::json::frame_to_json(root).expect("frame as JSON"));
            }
            out
        });
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("capture wrote no header: {e}"),
            Err(_) => panic!("capture did not attach within {START_TIMEOUT:?}"),
        }
        Capture {
            child,
            frames: Some(frames),
        }
    }

    /// capture's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops capture with SIGINT and returns every frame after the header.
    pub fn stop(mut self) -> Vec<Value> {
        // Let the probe's last records reach the ring buffer.
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let status = self.child.wait().expect("waiting for capture");
        assert!(status.success(), "capture exited with {status}");
        self.frames
            .take()
            .expect("frames")
            .join()
            .expect("frame reader")
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.frames.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The events of `frames` of type `ty` (evt.type spelling) made by `pid`.
pub fn events<'a>(frames: &'a [Value], ty: &str, pid: i64) -> Vec<&'a Value> {
    frames
        .iter()
        .filter_map(|f| f.get("event"))
        .filter(|e| e["type"] == ty && e["pid"] == pid)
        .collect()
}

/// The one event that `pred` picks, with a readable failure otherwise.
pub fn the_event<'a>(
    frames: &'a [Value],
    ty: &str,
    pid: i64,
    pred: impl Fn(&Value) -> bool,
) -> &'a Value {
    let all = events(frames, ty, pid);
    let picked: Vec<_> = all.iter().copied().filter(|e| pred(e)).collect();
    assert_eq!(
        picked.len(),
        1,
        "expected exactly one matching {ty} event of pid {pid}, got {}; all {ty} events of that pid: {:#?}",
        picked.len(),
        all
    );
    picked[0]
}

/// A path under /tmp unique to this test run.
pub fn unique_path(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("/tmp/kestrel-test-{tag}-{}-{nanos}", std::process::id())
}

/// The current thread's id.
pub fn gettid() -> i64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as i64 }
}

pub fn cstr(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).expect("no NUL in test strings")
}
