//! Every frame kind through every transport: stdio between two processes,
//! `unix:`/`listen:` (with the socket's mode), `fd:N`, and `systemd` socket
//! activation under the real launcher, both with a listening socket and with
//! `--accept`. The relay (`kestrel-relay`) stands in for a stage, so what is
//! tested is the pipe alone.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kestrel_tests::frames::{body_frames, valid_stream};
use kestrel_tests::run::{have_program, require, run_with_input, split_frames, RUN_TIMEOUT};
use schema::kestrel_capnp::{frame, Stage};

const RELAY: &str = env!("CARGO_BIN_EXE_kestrel-relay");

fn relay() -> Command {
    Command::new(RELAY)
}

/// The stage and instance of a stats frame, or `None` for other kinds.
fn stats_of(raw: &[u8]) -> Option<(Stage, String, u64)> {
    let mut slice = raw;
    let msg =
        capnp::serialize::read_message_from_flat_slice(&mut slice, Default::default()).ok()?;
    match msg.get_root::<frame::Reader>().ok()?.which().ok()? {
        frame::Stats(Ok(s)) => {
            let frames = s
                .get_counters()
                .ok()?
                .iter()
                .find(|c| c.get_name().ok().and_then(|n| n.to_str().ok()) == Some("frames"))
                .map(|c| c.get_value())
                .unwrap_or(0);
            Some((
                s.get_stage().ok()?,
                s.get_instance().ok()?.to_str().ok()?.to_string(),
                frames,
            ))
        }
        _ => None,
    }
}

/// Checks a relay's output for [`valid_stream`] passed through `hops`
/// relays: the last relay's header, the body frames byte for byte, then one
/// final stats frame per relay, each counting what it received.
fn check_relayed(out: &[u8], hops: usize) {
    let frames = split_frames(out);
    let body = body_frames();
    assert_eq!(
        frames.len(),
        1 + body.len() + hops,
        "expected header, {} body frames and {hops} stats frames",
        body.len()
    );
    let mut r = schema::FrameReader::new(&frames[0][..]);
    let h = r
        .read_header()
        .expect("the relay's header is valid")
        .expect("a header is there");
    assert_eq!(
        h.stage,
        Some(Stage::Unknown),
        "the relay writes its own header"
    );
    for (i, want) in body.iter().enumerate() {
        assert!(frames[1 + i] == *want, "body frame {i} changed in transit");
    }
    for hop in 0..hops {
        let (stage, instance, counted) =
            stats_of(&frames[1 + body.len() + hop]).expect("a stats frame after the body");
        assert_eq!(
            (stage, instance.as_str()),
            (Stage::Unknown, "kestrel-relay")
        );
        // Each relay counts the frames after its input header: the body,
        // plus the stats frames of the relays before it.
        assert_eq!(
            counted,
            (body.len() + hop) as u64,
            "relay {hop}'s frame count"
        );
    }
}

fn wait_for_socket(path: &Path) {
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `child` (started by this test) and returns its stdout; panics on
/// a non-zero exit, with its stderr.
fn finish(child: Child) -> Vec<u8> {
    let out = child.wait_with_output().expect("waiting for the relay");
    assert!(
        out.status.success(),
        "relay failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn stdio_between_two_processes() {
    let mut second = relay()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second relay");
    let pipe = second.stdin.take().expect("piped");
    let mut first = relay()
        .stdin(Stdio::piped())
        .stdout(Stdio::from(pipe))
        .spawn()
        .expect("start the first relay");
    first
        .stdin
        .take()
        .expect("piped")
        .write_all(&valid_stream())
        .expect("feed the first relay");
    assert!(first.wait().expect("wait").success());
    check_relayed(&finish(second), 2);
}

#[test]
fn empty_stdin_is_a_clean_stop() {
    let out = run_with_input(&mut relay(), b"");
    assert!(out.status.success(), "exit status {}", out.status);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

/// `listen:` on the writing side, `unix:` on the reading side, then the
/// other way round; the socket has mode `want_mode`.
fn through_socket(mode_suffix: &str, want_mode: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    for listen_on_output in [true, false] {
        let sock = dir.path().join(format!("hop-{listen_on_output}.sock"));
        let listen = format!("listen:{}{mode_suffix}", sock.display());
        let connect = format!("unix:{}", sock.display());
        let (out_ep, in_ep) = if listen_on_output {
            (listen.as_str(), connect.as_str())
        } else {
            (connect.as_str(), listen.as_str())
        };
        // The listening side starts first; the test checks the mode before
        // the other side connects.
        let mut writer = relay();
        writer
            .args(["--output", out_ep])
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let mut reader = relay();
        reader
            .args(["--input", in_ep])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (mut writer, reader) = if listen_on_output {
            let mut w = writer.spawn().expect("start writer");
            // The writer opens its output after reading the header.
            w.stdin
                .as_mut()
                .expect("piped")
                .write_all(&valid_stream())
                .expect("feed");
            wait_for_socket(&sock);
            check_mode(&sock, want_mode);
            (w, reader.spawn().expect("start reader"))
        } else {
            let r = reader.spawn().expect("start reader");
            wait_for_socket(&sock);
            check_mode(&sock, want_mode);
            let mut w = writer.spawn().expect("start writer");
            w.stdin
                .as_mut()
                .expect("piped")
                .write_all(&valid_stream())
                .expect("feed");
            (w, r)
        };
        drop(writer.stdin.take());
        assert!(writer.wait().expect("wait").success(), "writer failed");
        check_relayed(&finish(reader), 2);
    }
}

fn check_mode(path: &Path, want: u32) {
    let mode = std::fs::metadata(path)
        .expect("stat socket")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, want, "socket {} has mode {mode:o}", path.display());
}

#[test]
fn unix_and_listen_with_default_mode_0600() {
    through_socket("", 0o600);
}

#[test]
fn listen_mode_override() {
    through_socket(":mode=0660", 0o660);
}

#[test]
fn inherited_descriptors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.kst");
    let output = dir.path().join("out.kst");
    std::fs::write(&input, valid_stream()).expect("write input");
    let in_file = std::fs::File::open(&input).expect("open input");
    let out_file = std::fs::File::create(&output).expect("create output");
    let (in_fd, out_fd) = (in_file.as_raw_fd(), out_file.as_raw_fd());
    let mut cmd = relay();
    cmd.args(["--input", "fd:7", "--output", "fd:8"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; the descriptors stay open in the
    // parent until the child has started.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(in_fd, 7) < 0 || libc::dup2(out_fd, 8) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_with_input(&mut cmd, b"");
    assert!(out.status.success(), "relay failed: {}", out.stderr);
    check_relayed(&std::fs::read(&output).expect("read output"), 1);
}

/// Runs the relay under `systemd-socket-activate` (with `extra` options),
/// sends a stream to the activation socket and collects what the relay
/// writes to a socket this test listens on.
fn through_systemd(extra: &[&str]) {
    require(
        "systemd-socket-activate (Debian package systemd)",
        have_program("systemd-socket-activate"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let activation = dir.path().join("activate.sock");
    let collect = dir.path().join("collect.sock");
    let collector = UnixListener::bind(&collect).expect("bind collector");
    let mut launcher = Command::new("systemd-socket-activate");
    launcher
        .arg("--listen")
        .arg(&activation)
        .args(extra)
        .arg(RELAY)
        .args(["--input", "systemd", "--output"])
        .arg(format!("unix:{}", collect.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut launcher = launcher.spawn().expect("start systemd-socket-activate");
    let result = std::panic::catch_unwind(|| {
        wait_for_socket(&activation);
        let mut conn = connect_retrying(&activation);
        conn.write_all(&valid_stream()).expect("send the stream");
        conn.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let (mut peer, _) = collector.accept().expect("the relay connects back");
        peer.set_read_timeout(Some(RUN_TIMEOUT)).expect("timeout");
        let mut out = Vec::new();
        peer.read_to_end(&mut out).expect("read relayed frames");
        out
    });
    // In accept mode the launcher keeps listening: stop the one we started.
    let _ = launcher.kill();
    let status = launcher.wait_with_output().expect("wait for launcher");
    match result {
        Ok(out) => check_relayed(&out, 1),
        Err(e) => {
            eprintln!(
                "launcher stderr: {}",
                String::from_utf8_lossy(&status.stderr)
            );
            std::panic::resume_unwind(e)
        }
    }
}

/// The launcher creates the socket file just before it listens.
fn connect_retrying(path: &PathBuf) -> UnixStream {
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot connect to {}: {e}", path.display()),
        }
    }
}

#[test]
#[ignore = "needs systemd-socket-activate; tests/run.sh installs and runs it"]
fn systemd_listening_socket() {
    through_systemd(&[]);
}

#[test]
#[ignore = "needs systemd-socket-activate; tests/run.sh installs and runs it"]
fn systemd_accept_mode() {
    through_systemd(&["--accept"]);
}

#[test]
fn unix_waits_for_a_listener_that_starts_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("late.sock");
    // The reader starts first and must wait for the socket to appear.
    let reader = relay()
        .args(["--input", &format!("unix:{}", sock.display())])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reader");
    std::thread::sleep(Duration::from_millis(300));
    let mut writer = relay()
        .args(["--output", &format!("listen:{}", sock.display())])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start writer");
    writer
        .stdin
        .take()
        .expect("piped")
        .write_all(&valid_stream())
        .expect("feed");
    assert!(writer.wait().expect("wait").success(), "writer failed");
    check_relayed(&finish(reader), 2);
}
