//! capture's control socket against the real binary and the real probe:
//! `capture ctl set-syscalls` changes what is captured while capture runs;
//! bad clients do not disturb it; another uid is refused; and with the
//! control thread running, capture still holds no privilege. Needs root:
//! `#[ignore]`d, run by tests/run.sh.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{cstr, events, require_kernel, unique_path, Capture};
use serde_json::Value;
use stage::control::client::{answers, bootstrap_request};

/// The uid and gid of `nobody` on Debian.
const NOBODY: u32 = 65534;

/// A control socket path, removed when the test ends: capture cannot
/// remove it itself once locked down.
struct Sock(String);

impl Sock {
    fn new(tag: &str) -> Sock {
        Sock(unique_path(tag))
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl std::ops::Deref for Sock {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

fn our_pid() -> i64 {
    std::process::id() as i64
}

/// Runs `capture ctl ARGS… --control SOCK`.
fn ctl(sock: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_capture"))
        .arg("ctl")
        .args(args)
        .args(["--control", sock])
        .output()
        .expect("running capture ctl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ctl_json(sock: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = ctl(sock, &all);
    assert!(
        o.status.success(),
        "capture ctl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&stdout(&o)).expect("ctl --json prints JSON")
}

/// unlinkat(AT_FDCWD, path, 0) of a file made for it.
fn unlinkat(path: &str) {
    std::fs::write(path, b"x").expect("creating the file to unlink");
    let c = cstr(path);
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::unlinkat(libc::AT_FDCWD, c.as_ptr(), 0) };
    assert_eq!(rc, 0, "unlinkat: {}", std::io::Error::last_os_error());
}

fn unlinked(frames: &[Value], path: &str) -> bool {
    events(frames, "unlinkat", our_pid())
        .iter()
        .any(|e| e["params"]["name"] == path)
}

fn opened(frames: &[Value], path: &str) -> bool {
    events(frames, "openat", our_pid())
        .iter()
        .any(|e| e["params"]["name"] == path)
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn set_syscalls_changes_the_selection_while_capture_runs() {
    require_kernel();
    let sock = Sock::new("ctl-select");
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat", "--control", &sock]);
    assert_eq!(
        ctl_json(&sock, &["syscalls"])["selected"],
        serde_json::json!(["openat"])
    );

    let before = unique_path("unlink-before");
    unlinkat(&before);

    let widened = ctl(&sock, &["set-syscalls", "openat,unlinkat"]);
    assert!(widened.status.success(), "{widened:?}");
    assert_eq!(stdout(&widened), "selected (2): openat,unlinkat\n");
    let during = unique_path("unlink-during");
    unlinkat(&during);

    // An unknown name changes nothing and says why.
    let refused = ctl(&sock, &["set-syscalls", "openat,nosuchcall"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        stdout(&refused).contains("unknown syscall \"nosuchcall\""),
        "{}",
        stdout(&refused)
    );
    let still = unique_path("unlink-still");
    unlinkat(&still);

    let narrowed = ctl_json(&sock, &["set-syscalls", "openat", "--force"]);
    assert_eq!(narrowed["selected"], serde_json::json!(["openat"]));
    assert_eq!(narrowed["errors"], serde_json::json!([]));
    let after = unique_path("unlink-after");
    unlinkat(&after);

    let frames = c.stop();
    assert!(
        !unlinked(&frames, &before),
        "unlinkat captured before it was selected"
    );
    assert!(
        unlinked(&frames, &during),
        "unlinkat not captured once selected"
    );
    assert!(
        unlinked(&frames, &still),
        "a refused setSyscalls changed the selection"
    );
    assert!(
        !unlinked(&frames, &after),
        "unlinkat captured after it was deselected"
    );
    // openat stayed selected throughout (the files were created by open).
    for p in [&before, &during, &still, &after] {
        assert!(opened(&frames, p), "openat of {p} missing");
    }
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn health_and_stats_answer_with_the_in_band_counters() {
    require_kernel();
    let sock = Sock::new("ctl-stats");
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat", "--control", &sock]);
    let mode = std::fs::metadata(&*sock)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "control socket mode");
    let h = ctl_json(&sock, &["health"]);
    assert_eq!(h["stage"], "capture");
    assert_eq!(h["pid"], c.pid());
    assert_eq!(h["output_connected"], true);
    for _ in 0..20 {
        let _ = std::fs::read("/etc/hostname");
    }
    // Counters are published with each in-band stats frame (every second).
    let start = std::time::Instant::now();
    let counters = loop {
        let s = ctl_json(&sock, &["stats"]);
        if s["counters"]["events.openat"].as_u64().unwrap_or(0) > 0 {
            break s["counters"].clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no events.openat in capture ctl stats: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(counters["events"].as_u64() >= counters["events.openat"].as_u64());
    assert!(counters.get("drops.ringbuf_full").is_some(), "{counters}");
    let v = ctl(&sock, &["version"]);
    assert!(stdout(&v).starts_with("capture "), "{}", stdout(&v));
    let frames = c.stop();
    let last = frames
        .iter()
        .rev()
        .find_map(|f| f.get("stats"))
        .expect("a final stats frame");
    assert_eq!(last["stage"], "capture");
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn bad_clients_do_not_disturb_capture() {
    require_kernel();
    let sock = Sock::new("ctl-garbage");
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat", "--control", &sock]);
    let whole = bootstrap_request();
    for i in 0..30 {
        let mut s = UnixStream::connect(&*sock).expect("connect");
        let _ = match i % 3 {
            0 => s.write_all(&[0xff; 512]),
            1 => s.write_all(&whole[..whole.len() / 2]),
            _ => s.write_all(&whole),
        };
        drop(s);
    }
    // A set-syscalls request cut off mid-call by a client that leaves.
    let mut half = UnixStream::connect(&*sock).expect("connect");
    let _ = half.write_all(&whole);
    drop(half);
    std::thread::sleep(Duration::from_millis(200));
    let marker = unique_path("after-garbage");
    std::fs::write(&marker, b"x").expect("write marker");
    std::fs::remove_file(&marker).ok();
    let h = ctl_json(&sock, &["health"]);
    assert_eq!(h["stage"], "capture", "control still answers");
    assert_eq!(
        ctl_json(&sock, &["syscalls"])["selected"],
        serde_json::json!(["openat"])
    );
    let frames = c.stop();
    assert!(opened(&frames, &marker), "capture stopped streaming");
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn another_uid_is_refused() {
    require_kernel();
    let sock = Sock::new("ctl-uid");
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat", "--control", &sock]);
    // Open the mode: only the SO_PEERCRED check can refuse now.
    std::fs::set_permissions(&*sock, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    assert!(answers(Path::new(&*sock)).expect("root connects"));
    assert_eq!(
        stage::control::client::answers_as(Path::new(&*sock), NOBODY, NOBODY).expect("fork"),
        stage::control::client::AsUser::Refused,
        "uid {NOBODY}, with the socket at mode 0666, must be refused by the SO_PEERCRED check"
    );
    assert!(
        answers(Path::new(&*sock)).expect("root connects"),
        "root is still served"
    );
    c.stop();
}

/// The control thread starts after the lock-down, so it holds nothing the
/// streaming thread does not: no capability, no_new_privs, the seccomp
/// filter (checked per thread, in /proc/PID/task/TID/status).
#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn with_control_every_thread_holds_no_privilege() {
    require_kernel();
    let sock = Sock::new("ctl-privs");
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat", "--control", &sock]);
    // The control thread exists once the socket answers.
    let _ = ctl_json(&sock, &["health"]);
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{}/task", c.pid()))
        .expect("capture's tasks")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(
        tasks.len(),
        2,
        "capture runs a streaming and a control thread"
    );
    for t in tasks {
        let text = std::fs::read_to_string(t.path().join("status")).expect("task status");
        let name = field(&text, "Name:");
        assert_eq!(field(&text, "Seccomp:"), "2", "{name}: seccomp");
        assert_eq!(field(&text, "NoNewPrivs:"), "1", "{name}: no_new_privs");
        for caps in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            assert_eq!(field(&text, caps), "0000000000000000", "{name}: {caps}");
        }
    }
    let marker = unique_path("privs");
    std::fs::write(&marker, b"x").expect("write marker");
    std::fs::remove_file(&marker).ok();
    let frames = c.stop();
    assert!(opened(&frames, &marker), "no event after the lock-down");
}

/// The value of counter `name` in a `stats` frame rendered as JSON.
fn frame_counter(stats: &Value, name: &str) -> Option<u64> {
    stats["counters"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)?["value"]
        .as_u64()
}

/// Polls `capture ctl stats` until counter `name` is `want` (counters
/// are published with each in-band stats frame, every second).
fn wait_for_counter(sock: &str, name: &str, want: u64) {
    let start = std::time::Instant::now();
    loop {
        let s = ctl_json(sock, &["stats"]);
        if s["counters"][name].as_u64() == Some(want) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name} never became {want} in capture ctl stats: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A selection that would blind capture, entirely or for some kinds, is
/// refused unless forced; once forced it shows in-band (the stats frames'
/// `selection.kinds` and `selection.changes`) and, when empty, in health.
#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn set_syscalls_refuses_an_empty_or_narrower_selection_unless_forced() {
    require_kernel();
    let sock = Sock::new("ctl-blind");
    let c = Capture::start(&[
        "--no-snapshot",
        "--syscalls",
        "openat,unlinkat",
        "--control",
        &sock,
    ]);
    let both = serde_json::json!(["openat", "unlinkat"]);
    for list in ["", "openat", "execve"] {
        let refused = ctl(&sock, &["set-syscalls", list]);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "set-syscalls {list:?}: {refused:?}"
        );
        assert!(
            stdout(&refused).contains("--force"),
            "set-syscalls {list:?}: {}",
            stdout(&refused)
        );
        assert_eq!(
            ctl_json(&sock, &["syscalls"])["selected"],
            both,
            "set-syscalls {list:?} changed the selection"
        );
    }
    let kept = unique_path("unlink-kept");
    unlinkat(&kept);
    assert!(
        ctl_json(&sock, &["health"])["last_error"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "a refusal is not an error of capture's"
    );
    wait_for_counter(&sock, "selection.kinds", 2);
    wait_for_counter(&sock, "selection.changes", 0);

    // Widening needs no force, and is counted.
    let wider = ctl_json(&sock, &["set-syscalls", "openat,unlinkat,mkdirat"]);
    assert_eq!(wider["errors"], serde_json::json!([]));
    wait_for_counter(&sock, "selection.changes", 1);

    let blind = ctl_json(&sock, &["set-syscalls", "", "--force"]);
    assert_eq!(blind["selected"], serde_json::json!([]));
    assert_eq!(blind["errors"], serde_json::json!([]));
    let gone = unique_path("unlink-gone");
    unlinkat(&gone);
    let h = ctl_json(&sock, &["health"]);
    assert!(
        h["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("selection is empty")),
        "health does not say the selection is empty: {h}"
    );
    wait_for_counter(&sock, "selection.kinds", 0);
    wait_for_counter(&sock, "selection.changes", 2);

    let frames = c.stop();
    assert!(unlinked(&frames, &kept), "a refused change blinded capture");
    assert!(
        !unlinked(&frames, &gone),
        "captured with an empty selection"
    );
    let last = frames
        .iter()
        .rev()
        .find_map(|f| f.get("stats"))
        .expect("a final stats frame");
    assert_eq!(frame_counter(last, "selection.kinds"), Some(0), "{last}");
    assert_eq!(frame_counter(last, "selection.changes"), Some(2), "{last}");
}

/// Needs no kernel: the client's own errors.
#[test]
fn ctl_reports_a_missing_socket_or_flag_in_one_line() {
    let sock = Sock::new("ctl-absent");
    let o = ctl(&sock, &["health"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "capture: error: cannot connect to control socket {}",
            &*sock
        )),
        "{err}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_capture"))
        .args(["ctl", "syscalls"])
        .output()
        .expect("running capture ctl");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "capture: error: ctl needs --control PATH\n"
    );
}
