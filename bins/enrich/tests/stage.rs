//! The enrich binary as a pipeline stage: exit codes and messages for empty,
//! foreign and truncated input, and that what was read before a break is
//! still written.

mod common;

use common::*;
use schema::Kind;

#[test]
fn empty_input_is_a_silent_clean_stop() {
    let (code, out, err) = run_bin(b"", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert!(err.is_empty(), "{err}");
}

#[test]
fn foreign_input_is_refused_in_one_line() {
    let (code, out, err) = run_bin(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &[]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("enrich: error: "), "{err}");
    assert!(err.contains("byte 0"), "{err}");
}

#[test]
fn truncated_stream_writes_what_was_read_then_fails_with_the_offset() {
    let mut st = Stream::new();
    st.snap(&Snap::new(100, 1, "bash"));
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(3)]);
    let full = st.bytes();
    let cut = &full[..full.len() - 5];
    let (code, out, err) = run_bin(cut, &[]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("enrich: error: truncated frame at byte "),
        "{err}"
    );
    let ev = events(&out);
    assert_eq!(ev.len(), 1, "the complete snapshot event was written");
    assert_eq!(s(&ev[0], &["thread", "name"]), "bash");
}

#[test]
fn corrupt_frame_is_an_error_not_a_panic() {
    let mut st = Stream::new();
    st.snap(&Snap::new(100, 1, "bash"));
    let mut bytes = st.bytes();
    // A frame claiming one segment of 2 words whose root pointer is garbage.
    bytes.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0]);
    bytes.extend_from_slice(&[0xff; 16]);
    let (code, out, err) = run_bin(&bytes, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("enrich: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(events(&out).len(), 1);
}

#[test]
fn closed_output_ends_cleanly() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut st = Stream::new();
    for i in 0..20_000 {
        st.ev(Kind::Close, 100, 100, 0, &[P::Int(i)]);
    }
    let bytes = st.bytes();
    let mut child = Command::new(env!("CARGO_BIN_EXE_enrich"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(&bytes);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.trim(), "enrich: output closed");
}
