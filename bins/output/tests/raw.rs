//! `output --raw`: every frame printed as one JSON object per line.

mod common;

use common::{run_output, stderr, stdout_lines, Stream, TestAlert};
use schema::{Kind, Stage};

#[test]
fn prints_every_frame_kind_with_the_header_first() {
    let input = Stream::new()
        .event(Kind::Openat, 42)
        .alert(&TestAlert::new("Read sensitive file", "file opened"))
        .stats(Stage::Capture, &[("events", 10), ("drops.buffer", 2)])
        .bytes();
    let out = run_output(&["--raw"], &input);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let v: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(v[0]["header"]["stage"], "evaluate");
    assert_eq!(
        v[0]["header"]["formatMajor"],
        schema::kestrel_capnp::FORMAT_MAJOR
    );
    assert_eq!(v[1]["event"]["pid"], 42);
    assert_eq!(v[1]["event"]["type"], "openat");
    assert_eq!(v[2]["alert"]["rule"], "Read sensitive file");
    assert_eq!(v[2]["alert"]["priority"], "warning");
    assert_eq!(v[3]["stats"]["counters"][1]["name"], "drops.buffer");
    assert_eq!(v[3]["stats"]["counters"][1]["value"], 2);
}

#[test]
fn empty_input_is_a_clean_stop() {
    let out = run_output(&["--raw"], b"");
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));
}

#[test]
fn a_stream_without_header_is_refused_in_one_line() {
    let input = Stream::headerless()
        .alert(&TestAlert::new("r", "o"))
        .bytes();
    let out = run_output(&["--raw"], &input);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("output: error: not a kestrel stream"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_truncated_frame_names_its_byte_offset() {
    let full = Stream::new().alert(&TestAlert::new("r", "o")).bytes();
    let header_len = Stream::new().bytes().len();
    let cut = &full[..full.len() - 5];
    let out = run_output(&["--raw"], cut);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("truncated frame at byte {header_len}")),
        "{err}"
    );
    // The header before the damage was still printed.
    assert_eq!(stdout_lines(&out).len(), 1);
}

#[test]
fn random_bytes_are_not_a_stream() {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = run_output(&["--raw"], &junk);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("output: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_closed_stdout_ends_with_one_line_and_exit_zero() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut s = Stream::new();
    for _ in 0..5_000 {
        s = s.alert(&TestAlert::new("rule", "some output to fill the pipe"));
    }
    let input = s.bytes();
    let mut child = Command::new(env!("CARGO_BIN_EXE_output"))
        .arg("--raw")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end of stdout before output writes anything.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out).trim(), "output: output closed");
}
