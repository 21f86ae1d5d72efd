//! kestrel's default rules (`rules/`) load without a warning, are the ones
//! built into evaluate, and pass their fixtures (`rules/tests/`): for every
//! rule, the events that must trigger it do, and the near misses do not. The
//! live-kernel proof is `e2e_rules.rs`.
//!
//! Needs the built `evaluate` binary: `#[ignore]`d, run by tests/run.sh,
//! which builds it.

use std::path::{Path, PathBuf};
use std::process::Command;

use kestrel_tests::run::require;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The newest built `evaluate` (`$KESTREL_BIN`, target/debug or
/// target/release).
fn evaluate() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KESTREL_BIN") {
        return Some(PathBuf::from(dir).join("evaluate"));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    ["debug", "release"]
        .iter()
        .map(|p| target.join(p).join("evaluate"))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

fn run(args: &[&str]) -> Option<(bool, String)> {
    let bin = evaluate();
    require(
        "the evaluate binary (cargo build -p evaluate)",
        bin.is_some(),
    );
    let bin = bin?;
    let out = Command::new(&bin)
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

#[test]
#[ignore = "needs the built evaluate binary; tests/run.sh runs it"]
fn default_rules_load_without_warnings() {
    let Some((ok, text)) = run(&["validate", "-r", "rules"]) else {
        return;
    };
    assert!(ok, "evaluate validate -r rules failed:\n{text}");
    // Diagnostics start with their severity, as rustc's do; the summary
    // line ("…, 0 warnings") does not.
    let warned = text.lines().any(|l| l.trim_start().starts_with("warning"));
    assert!(
        !warned,
        "evaluate validate -r rules printed warnings:\n{text}"
    );
}

#[test]
#[ignore = "needs the built evaluate binary; tests/run.sh runs it"]
fn default_rules_pass_their_fixtures() {
    let Some((ok, text)) = run(&["test", "-r", "rules", "rules/tests"]) else {
        return;
    };
    assert!(ok, "evaluate test -r rules rules/tests failed:\n{text}");
}

#[test]
#[ignore = "needs the built evaluate binary; tests/run.sh runs it"]
fn evaluate_embeds_the_default_rules() {
    let Some((ok, builtin)) = run(&["list-rules"]) else {
        return;
    };
    assert!(ok, "evaluate list-rules failed:\n{builtin}");
    let Some((ok, from_dir)) = run(&["list-rules", "-r", "rules"]) else {
        return;
    };
    assert!(ok, "evaluate list-rules -r rules failed:\n{from_dir}");
    assert_eq!(
        builtin, from_dir,
        "the evaluate binary's built-in rules differ from rules/: rebuild it (cargo build -p evaluate)"
    );
}
