//! The trigger programs of `tests/triggers/`: compiled once per test run
//! into static binaries named `kt-<name>` (static, so that the same binary
//! runs in the busybox test container), and run with a check that they did
//! their part.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::pipeline::workspace;

/// Compiles every `tests/triggers/*.c` into `dir`, once per test process.
/// Returns the directory, or the compiler's complaint.
pub fn build() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build_all).clone()
}

fn build_all() -> Result<PathBuf, String> {
    let src = workspace().join("tests/triggers");
    let out = super::pipeline::exec_root().join("kt-triggers");
    std::fs::create_dir_all(&out).map_err(|e| format!("mkdir {}: {e}", out.display()))?;
    // The directory is bind-mounted into containers that run as an
    // unprivileged user, who must be able to enter it.
    set_mode(&out, 0o755)?;
    let entries = std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let bin = out.join(format!("kt-{stem}"));
        let result = Command::new("cc")
            .args(["-static", "-O1", "-Wall", "-Werror", "-o"])
            .arg(&bin)
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run cc: {e}"))?;
        if !result.status.success() {
            return Err(format!(
                "cc {} failed:\n{}",
                path.display(),
                String::from_utf8_lossy(&result.stderr)
            ));
        }
    }
    Ok(out)
}

pub fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// Runs `program` with `args` and fails the test if it fails: a trigger that
/// did not do its part would make a missing alert look like a rule's fault.
pub fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}): {}{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
