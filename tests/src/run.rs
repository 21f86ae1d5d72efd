//! Running a stage (or any program) under test: feed it bytes, collect what it
//! writes, its exit status and its peak memory, and never hang the suite.
//! Also the rule for tests whose prerequisites may be missing.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long any one program under test may run before it is killed and the
/// test fails. Every pipe test finishes in well under a second.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// What a finished program did.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Peak resident set size, in KiB (from `wait4`'s rusage).
    pub max_rss_kib: i64,
}

impl Outcome {
    /// The stderr lines, without empty ones.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

/// Runs `cmd` with `input` on its stdin, collecting stdout and stderr. The
/// program is killed after [`RUN_TIMEOUT`].
// The child is reaped by `wait_with_timeout` (wait4, for its rusage), which
// clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Outcome {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = input.to_vec();
    // A reader that stops early closes its stdin: the broken pipe is fine.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut out = child.stdout.take().expect("stdout was piped");
    let mut err = child.stderr.take().expect("stderr was piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let (status, max_rss_kib) = wait_with_timeout(pid, RUN_TIMEOUT);
    let _ = feeder.join();
    let stdout = out_t.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    Outcome {
        status,
        stdout,
        stderr,
        max_rss_kib,
    }
}

/// Reaps `pid` with `wait4`, killing it first if it outlives `timeout`.
/// Returns its status and peak RSS in KiB. The caller must not also wait on
/// the process (std's `Child::wait`).
pub fn wait_with_timeout(pid: libc::pid_t, timeout: Duration) -> (ExitStatus, i64) {
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let step = Duration::from_millis(10);
            let mut waited = Duration::ZERO;
            while waited < timeout {
                if done.load(Ordering::SeqCst) {
                    return false;
                }
                std::thread::sleep(step);
                waited += step;
            }
            if !done.load(Ordering::SeqCst) {
                // SAFETY: kill only sends a signal; the pid is our unreaped child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return true;
            }
            false
        })
    };
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into locals we own.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    let killed = watchdog.join().unwrap_or(false);
    assert!(
        rc == pid,
        "wait4({pid}) failed: {}",
        std::io::Error::last_os_error()
    );
    assert!(
        !killed,
        "process {pid} ran longer than {timeout:?} and was killed"
    );
    (ExitStatus::from_raw(status), usage.ru_maxrss)
}

/// Fails the test, naming `what`, unless `ok`. Tests with prerequisites
/// a plain `cargo test` may lack (root, built binaries, container runtimes)
/// are `#[ignore]`d with the reason, so they show as ignored rather than
/// passing; `tests/run.sh` runs them, and there a missing prerequisite is
/// a failure.
pub fn require(what: &str, ok: bool) {
    assert!(ok, "prerequisite missing: {what}");
}

/// Whether `program` is on the PATH.
pub fn have_program(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// Splits a valid frame stream into its frames (raw bytes), panicking with
/// the reader's error if it is not valid.
pub fn split_frames(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut r = schema::FrameReader::new(stream);
    let mut out = Vec::new();
    loop {
        match r.next() {
            Ok(Some(f)) => out.push(f.raw().to_vec()),
            Ok(None) => return out,
            Err(e) => panic!("not a valid frame stream: {e}"),
        }
    }
}
