//! capture's behaviour at its edges, with the real binary: the one-line
//! errors for a missing privilege or a bad flag, the clean stop of
//! `--duration`, and the one-line exit when the reader goes away.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::require_kernel;

/// Longest a stop may take: one stats interval and a poll timeout, with
/// room for a slow machine.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

fn capture() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capture"))
}

fn wait_with_timeout(child: &mut std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > STOP_TIMEOUT {
            let _ = child.kill();
            panic!("capture did not stop within {STOP_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn an_unprivileged_user_gets_one_clear_line() {
    require_kernel();
    // The binary must be reachable by the unprivileged user, and the
    // checkout may be under a directory it cannot enter (/root): run a copy
    // from a directory of its own that anyone may read.
    let dir = std::env::temp_dir().join(format!("kestrel-capture-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("capture");
    std::fs::copy(env!("CARGO_BIN_EXE_capture"), &copy).unwrap();
    for (path, mode) in [(&dir, 0o755), (&copy, 0o755)] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
    let out = Command::new(&copy)
        .arg("--no-snapshot")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("capture: error: capture needs root, or CAP_BPF and CAP_PERFMON"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_syscall_name_is_refused_before_loading() {
    let out = capture()
        .args(["--syscalls", "openat,nosuchcall"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("capture: error: unknown syscall \"nosuchcall\""),
        "{err}"
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn duration_stops_cleanly_with_a_final_stats_frame() {
    require_kernel();
    let start = Instant::now();
    let out = capture()
        .args(["--no-snapshot", "--syscalls", "openat", "--duration", "0.5"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(start.elapsed() < STOP_TIMEOUT);
    let mut r = schema::FrameReader::new(&out.stdout[..]);
    assert!(r.read_header().unwrap().is_some());
    let mut last_is_stats = false;
    while let Some(f) = r.next().unwrap() {
        last_is_stats = matches!(f.root().unwrap().which(), Ok(schema::frame::Stats(_)));
    }
    assert!(last_is_stats, "the stream must end with capture's stats");
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn a_closed_output_ends_capture_with_one_line() {
    require_kernel();
    let mut child = capture()
        .args(["--no-snapshot", "--syscalls", "openat"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    // The header arrives once the probe is attached; then the reader leaves.
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    // Something to write (the stats frame within a second would do too).
    for _ in 0..100 {
        let _ =
            std::fs::metadata("/proc/self/status").and_then(|_| std::fs::read("/proc/self/stat"));
    }
    let status = wait_with_timeout(&mut child);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status}, stderr {err}");
    assert_eq!(err, "capture: output closed\n");
}
