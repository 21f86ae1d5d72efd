//! Bad input to a process that reads frames: each bad stream of
//! `kestrel_tests::bad` gives one error line naming the problem and the byte
//! offset, a non-zero exit, no panic, and bounded memory; empty input and a
//! closed output are clean stops.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use kestrel_tests::bad;
use kestrel_tests::frames::{body_frames, current_header};
use kestrel_tests::run::{run_with_input, wait_with_timeout, RUN_TIMEOUT};
use schema::kestrel_capnp::Stage;

const RELAY: &str = env!("CARGO_BIN_EXE_kestrel-relay");

/// Address space the relay may map. The reader's own bound is one frame of
/// `MAX_FRAME_BYTES` plus its read-ahead buffer; the rest is the program.
const ADDRESS_SPACE_LIMIT: u64 = 256 << 20;

/// The relay, with its address space capped so that an unbounded
/// allocation fails instead of succeeding quietly.
fn capped_relay() -> Command {
    let mut cmd = Command::new(RELAY);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_LIMIT,
                rlim_max: ADDRESS_SPACE_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

#[test]
fn every_bad_stream_is_refused_in_one_line() {
    for case in bad::cases() {
        let out = run_with_input(&mut capped_relay(), &case.bytes);
        bad::assert_refused("kestrel-relay", &case, &out);
    }
}

#[test]
fn empty_input_is_a_clean_stop() {
    let out = run_with_input(&mut capped_relay(), b"");
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "no header is written for empty input"
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn header_only_input_is_a_clean_stop() {
    let out = run_with_input(&mut capped_relay(), &current_header(Stage::Capture));
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    // The relay's own header and final stats frame.
    assert_eq!(kestrel_tests::run::split_frames(&out.stdout).len(), 2);
}

// Reaped by `wait_with_timeout` (wait4), which clippy cannot see.
#[allow(clippy::zombie_processes)]
#[test]
fn closed_output_is_a_clean_stop() {
    let mut child = Command::new(RELAY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relay");
    // The reader goes away before anything is written.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().expect("piped");
    let mut stream = current_header(Stage::Capture);
    let body = body_frames();
    // Several write batches' worth, so the relay must write (and fail)
    // before its input ends.
    while stream.len() < 4 << 20 {
        for f in &body {
            stream.extend_from_slice(f);
        }
    }
    // The relay stops reading once its output is gone.
    let _ = stdin.write_all(&stream);
    drop(stdin);
    let mut stderr = child.stderr.take().expect("piped");
    let pid = child.id() as libc::pid_t;
    let (status, _) = wait_with_timeout(pid, RUN_TIMEOUT);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut err).expect("read stderr");
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(err.trim(), "kestrel-relay: output closed");
}

#[test]
fn concatenated_streams_are_joined_and_checked() {
    let mut two = kestrel_tests::frames::valid_stream();
    two.extend_from_slice(&kestrel_tests::frames::valid_stream());
    let out = run_with_input(&mut capped_relay(), &two);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    // One header (the relay's), both bodies, the relay's stats.
    let frames = kestrel_tests::run::split_frames(&out.stdout);
    assert_eq!(frames.len(), 1 + 2 * body_frames().len() + 1);

    // A newer stream appended to a current one is refused at its offset.
    let mut mixed = kestrel_tests::frames::valid_stream();
    let at = mixed.len();
    mixed.extend_from_slice(&bad::newer_major());
    let out = run_with_input(&mut capped_relay(), &mixed);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let line = out.stderr.trim();
    assert!(
        line.contains(&format!("byte {at}")) && line.contains("newer"),
        "{line}"
    );
}
