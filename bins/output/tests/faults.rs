//! Faults of an alert destination, each with its documented outcome: a file
//! sink whose disk fills up loses nothing and tears no line, and resumes
//! when there is room again; output killed in the middle of its writes
//! leaves no partial line behind after a restart.
//!
//! The disk-full test mounts a small tmpfs, so it needs root: it is
//! `#[ignore]`d and `tests/run.sh` runs it; there a missing prerequisite
//! fails it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{eventually, file_lines, number_of, run_output, stderr, Stream};

/// A tmpfs of `bytes` mounted on `dir`, unmounted when dropped.
struct SmallDisk<'a>(&'a Path);

impl<'a> SmallDisk<'a> {
    fn mount(dir: &'a Path, bytes: u64) -> SmallDisk<'a> {
        // SAFETY: geteuid has no preconditions.
        assert!(
            unsafe { libc::geteuid() } == 0,
            "fault test prerequisite missing: root, to mount a small tmpfs"
        );
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "kt-full"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "fault test prerequisite missing: mount -t tmpfs");
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

/// Every line is a whole JSON alert; returns their numbers in file order.
fn numbers_of_json_lines(path: &Path) -> Vec<u32> {
    file_lines(path)
        .iter()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn line {l:?}: {e}"));
            let out = v["output"].as_str().expect("output").to_string();
            number_of(&out).unwrap_or_else(|| panic!("no number in {out:?}"))
        })
        .collect()
}

#[test]
#[ignore = "needs root to mount a small tmpfs; tests/run.sh runs it"]
fn a_full_disk_loses_no_alert_and_tears_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(dir.path(), 256 << 10);
    let filler = disk.0.join("filler");
    // Leave room for a few alerts only.
    let room = 4096;
    let size = 256 << 10;
    std::fs::write(&filler, vec![b'x'; size - room]).unwrap_or_default();
    let path = disk.0.join("alerts.json");
    const N: u32 = 200;
    let input = Stream::new().numbered("r", 0..N).bytes();
    let p = path.to_str().unwrap().to_string();
    let runner = std::thread::spawn(move || {
        run_output(
            &[
                "--file",
                &p,
                "--file-format",
                "json",
                "--backoff-min",
                "0.05",
                "--backoff-max",
                "0.2",
            ],
            &input,
        )
    });
    // The disk fills: some alerts are in, the rest wait.
    let some = eventually(Duration::from_secs(15), || {
        let n = file_lines(&path).len();
        n > 0 && n < N as usize
    });
    assert!(
        some,
        "the disk did not fill part way: {:?}",
        file_lines(&path).len()
    );
    std::thread::sleep(Duration::from_millis(500));
    let stuck = numbers_of_json_lines(&path);
    assert!(
        stuck.len() < N as usize,
        "nothing was held back by the full disk"
    );
    // Room again.
    std::fs::remove_file(&filler).unwrap();
    let out = runner.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "the full disk was reported: {}",
        stderr(&out)
    );
    assert_eq!(
        numbers_of_json_lines(&path),
        (0..N).collect::<Vec<_>>(),
        "every alert once, in order, none torn"
    );
}

#[test]
fn a_partial_last_line_left_by_a_killed_output_is_cut_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    let p = path.to_str().unwrap();
    let args = ["--file", p, "--file-format", "json"];
    let first = run_output(&args, &Stream::new().numbered("r", 0..3).bytes());
    assert!(first.status.success(), "{}", stderr(&first));
    // What a process killed inside its write leaves: part of a line.
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(br#"{"hostname":"h","output":"n=3"#);
    std::fs::write(&path, text).unwrap();
    let second = run_output(&args, &Stream::new().numbered("r", 3..5).bytes());
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("cut a partial last line"),
        "{}",
        stderr(&second)
    );
    assert_eq!(numbers_of_json_lines(&path), vec![0, 1, 2, 3, 4]);
}
