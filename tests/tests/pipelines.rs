//! The ready-made deployments of `pipelines/`, tested as far as these
//! machines allow: systemd units verified, their socket-activation handoff
//! run with systemd's own launcher, and each unit's process started under
//! the unit's own restrictions; the Kubernetes manifests rendered with
//! kustomize and validated offline against the API schemas, and the
//! DaemonSet's pod run for real as podman containers (an attack raising an
//! alert, probes, each container killed once); the container images built
//! and run with a real dockerd. Each check is a script in `tests/pipelines/` (they drive shell
//! tools); this file runs them against the binaries of this build.
//!
//! Needs root and the four binaries (`cargo build --workspace --bins`), so
//! the tests are `#[ignore]`d and `tests/run.sh` runs them.

use std::path::PathBuf;
use std::process::Command;

use kestrel_tests::run::require;

const STAGES: [&str; 4] = ["capture", "enrich", "evaluate", "output"];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The directory holding this build's binaries, if they are all there.
fn bin_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KESTREL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target"))
                .join("debug")
        });
    STAGES.iter().all(|s| dir.join(s).is_file()).then_some(dir)
}

fn run_script(name: &str, needs_root: bool) {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if needs_root {
        require("root", root);
    }
    let bin = bin_dir();
    require(
        "the four binaries (cargo build --workspace --bins)",
        bin.is_some(),
    );
    let Some(bin) = bin else { return };
    let script = workspace().join("tests/pipelines").join(name);
    let out = Command::new("bash")
        .arg(&script)
        .arg(&bin)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(": ok"),
        "{name} printed no verdict:\n{stdout}"
    );
}

#[test]
#[ignore = "needs root and the built stages; tests/run.sh runs it"]
fn systemd_units_verify_and_hand_off_by_socket_activation() {
    let have = kestrel_tests::run::have_program("systemd-analyze")
        && kestrel_tests::run::have_program("systemd-socket-activate");
    require(
        "systemd-analyze and systemd-socket-activate (Debian's systemd)",
        have,
    );
    run_script("units.sh", true);
}

#[test]
#[ignore = "needs root and the built stages; tests/run.sh runs it"]
fn systemd_units_processes_start_under_their_own_restrictions() {
    let have = kestrel_tests::run::have_program("setpriv")
        && kestrel_tests::run::have_program("unshare")
        && kestrel_tests::run::have_program("systemd-socket-activate");
    require(
        "setpriv and unshare (util-linux), systemd-socket-activate (systemd)",
        have,
    );
    run_script("unit-sandbox.sh", true);
}

#[test]
#[ignore = "needs root and the built stages; tests/run.sh runs it"]
fn kubernetes_manifests_validate_offline() {
    run_script("k8s.sh", false);
}

#[test]
#[ignore = "needs root and the built stages; tests/run.sh runs it"]
fn kubernetes_pod_runs_for_real_with_podman() {
    let have = kestrel_tests::run::have_program("podman");
    require(
        "podman (tests/ctr-test-env.sh installs it; tests/run.sh starts it)",
        have,
    );
    run_script("k8s-pod.sh", true);
}

#[test]
#[ignore = "needs root and the built stages; tests/run.sh runs it"]
fn container_images_build_and_run_with_dockerd() {
    run_script("images.sh", true);
}
