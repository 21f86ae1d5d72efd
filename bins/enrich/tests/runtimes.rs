//! Real container runtimes (dockerd and podman's API service, brought up by
//! `ctr-test-env.sh`): a container is started with Kubernetes pod labels, its
//! cgroup paths are read from /proc, and a stream whose container process has
//! exactly those cgroups goes through the enrich binary with
//! `--docker-socket`/`--podman-socket`. From the first event on (the
//! synthesised containerStart), events must carry the container's id, name,
//! image, labels, pod and namespace.
//!
//! Needs root and the runtimes, so the tests are `#[ignore]`d and
//! `tests/run.sh` runs them; there a missing prerequisite fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use schema::Kind;
use serde_json::Value;

/// The runtime sockets of a running test environment, bringing it up when
/// it is not.
fn env() -> Option<(PathBuf, PathBuf)> {
    let base = std::env::var("CTR_BASE").unwrap_or_else(|_| "/tmp/ctr-test".into());
    let env_file = Path::new(&base).join("env");
    let missing = |why: String| -> Option<(PathBuf, PathBuf)> {
        panic!("container runtime test prerequisite missing: {why}")
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return missing("needs root to run containers".into());
    }
    if !env_file.exists() {
        let script = [
            std::env::var("CTR_ENV_SCRIPT").unwrap_or_default(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ctr-test-env.sh").to_string(),
        ]
        .into_iter()
        .find(|p| !p.is_empty() && Path::new(p).exists());
        let Some(script) = script else {
            return missing("ctr-test-env.sh not found and no environment is up".into());
        };
        let ok = Command::new("bash")
            .arg(&script)
            .arg("up")
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !env_file.exists() {
            return missing(format!("{script} up failed"));
        }
    }
    let text = std::fs::read_to_string(&env_file).ok()?;
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(PathBuf::from)
    };
    match (get("DOCKER_SOCK"), get("PODMAN_SOCK")) {
        (Some(d), Some(p)) if d.exists() && p.exists() => Some((d, p)),
        _ => missing(format!(
            "runtime sockets listed in {} are not there",
            env_file.display()
        )),
    }
}

fn sh(cmd: &str, envs: &[(&str, &str)]) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .envs(envs.iter().copied())
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A stream in which the container's process (host pid `pid`, cgroups as
/// read from /proc) executes and opens a file, after a host shell.
fn stream_for(pid: i32, cgroups: &[String]) -> Vec<u8> {
    let mut st = Stream::new();
    st.snap(&Snap::new(100, 1, "bash"));
    let mut exec = vec![
        b("/bin/sleep"),
        b("/bin/sleep"),
        list(&["sleep", "30"]),
        P::Uint(0),
        b("/"),
    ];
    exec.extend([0u64, 0, 0, 0, u32::MAX as u64, 0].map(P::Uint));
    exec.extend([1i64, 1, 1, 1, 100].map(P::Int));
    exec.extend([
        b("sleep"),
        P::List(cgroups.iter().map(|c| c.as_bytes().to_vec()).collect()),
    ]);
    st.ev(Kind::Execve, pid, pid, 0, &exec);
    st.ev(
        Kind::Openat,
        pid,
        pid,
        3,
        &[
            P::Int(-100),
            b("/etc/passwd"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.bytes()
}

fn check(ev: &[Value], id: &str, name: &str, runtime: &str) {
    let kinds: Vec<String> = ev.iter().map(|e| s(e, &["kind"])).collect();
    assert_eq!(
        kinds,
        ["procSnapshot", "containerStart", "execve", "openat"]
    );
    assert_eq!(s(&ev[0], &["container", "id"]), "host");
    for e in &ev[1..] {
        let c = &e["container"];
        assert_eq!(s(c, &["metadata"]), "complete", "{e}");
        assert_eq!(s(c, &["id"]), &id[..12]);
        assert_eq!(s(c, &["fullId"]), id);
        assert_eq!(s(c, &["name"]), name);
        assert_eq!(s(c, &["runtime"]), runtime);
        assert!(s(c, &["image"]).ends_with("test:1"), "{c}");
        assert_eq!(s(c, &["imageTag"]), "1");
        let labels = c["labels"].as_array().unwrap();
        assert!(
            labels
                .iter()
                .any(|l| l["key"] == "io.kubernetes.pod.name" && l["value"] == "pod-e"),
            "{c}"
        );
        assert_eq!(s(e, &["k8s", "podName"]), "pod-e");
        assert_eq!(s(e, &["k8s", "namespace"]), "ns-e");
    }
}

fn run_case(cli: &str, flag: &str, sock: &Path, runtime: &str) {
    let name = format!("enrich-test-{runtime}-{}", std::process::id());
    let envs = [("CONTAINERS_CONF", "/tmp/ctr-test/containers.conf")];
    let id = sh(
        &format!("{cli} run -d --network none --name {name} --label io.kubernetes.pod.name=pod-e --label io.kubernetes.pod.namespace=ns-e localhost/test:1 sleep 30"),
        &envs,
    );
    let id = id.lines().last().unwrap_or("").to_string();
    let result = std::panic::catch_unwind(|| {
        let pid: i32 = sh(
            &format!("{cli} inspect -f '{{{{.State.Pid}}}}' {id}"),
            &envs,
        )
        .parse()
        .unwrap();
        let cgroups: Vec<String> = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once(':').map(|(_, r)| r.to_string()))
            .collect();
        let (code, out, err) = run_bin(&stream_for(pid, &cgroups), &[flag, sock.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        check(&events(&out), &id, &name, runtime);
    });
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("{cli} rm -f {name}"))
        .envs(envs)
        .output();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
#[ignore = "needs root and the container runtimes of tests/ctr-test-env.sh; tests/run.sh runs it"]
fn docker_container_metadata_from_the_first_event() {
    let Some((docker, _)) = env() else { return };
    let cli = format!("/usr/bin/docker -H unix://{}", docker.display());
    run_case(&cli, "--docker-socket", &docker, "docker");
}

#[test]
#[ignore = "needs root and the container runtimes of tests/ctr-test-env.sh; tests/run.sh runs it"]
fn podman_container_metadata_from_the_first_event() {
    let Some((_, podman)) = env() else { return };
    let base = podman.parent().unwrap().display().to_string();
    let cli = format!("podman --root {base}/podman/storage --runroot {base}/podman/run");
    run_case(&cli, "--podman-socket", &podman, "podman");
}

/// The capture binary of this workspace (built by `cargo build`), if any.
fn capture_bin() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/debug/capture"
    ));
    let p = std::env::var_os("KESTREL_CAPTURE")
        .map(PathBuf::from)
        .unwrap_or(p);
    if p.exists() {
        return Some(p);
    }
    let why = format!(
        "capture binary not built at {} (cargo build -p capture)",
        p.display()
    );
    panic!("{why}")
}

/// The real pipeline: `capture | enrich --docker-socket S --podman-socket S`
/// while a container starts with each runtime and runs a command.
/// With `rm`, the container is a `run --rm` one that exits at once: the
/// runtime removes it within milliseconds, likely before enrich has read
/// its events.
fn live_case(cli: &str, runtime: &str, docker: &Path, podman: &Path, rm: bool) {
    use std::process::Stdio;
    let Some(capture) = capture_bin() else { return };
    let envs = [("CONTAINERS_CONF", "/tmp/ctr-test/containers.conf")];
    let name = format!("enrich-live-{runtime}-{}", std::process::id());
    // One live capture at a time: they would see each other's containers
    // and double the load of a shared machine.
    static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let mut cap = Command::new(&capture)
        // Process events only: other work on a shared machine (open/close
        // storms of benchmarks) must not drown the container's events.
        .args(["--syscalls", "execve,procexit,clone,clone3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start capture");
    let enr = Command::new(env!("CARGO_BIN_EXE_enrich"))
        .args([
            "--docker-socket",
            docker.to_str().unwrap(),
            "--podman-socket",
            podman.to_str().unwrap(),
        ])
        .stdin(cap.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start enrich");
    // Time for the probe to attach and the snapshot to be taken.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let labels = "--label io.kubernetes.pod.name=pod-e --label io.kubernetes.pod.namespace=ns-e";
    let cidfile = std::env::temp_dir().join(format!("{name}.cid"));
    let _ = std::fs::remove_file(&cidfile);
    let script = if rm {
        format!(
            "{cli} run --rm --cidfile {cid} --network none --name {name} {labels} \
             localhost/test:1 sh -c 'cat /etc/hostname' >/dev/null && cat {cid}",
            cid = cidfile.display()
        )
    } else {
        format!(
            "{cli} run -d --network none --name {name} {labels} \
             localhost/test:1 sh -c 'cat /etc/hostname; sleep 1' >/dev/null \
             && {cli} wait {name} >/dev/null && {cli} inspect -f '{{{{.Id}}}}' {name}"
        )
    };
    let started = Command::new("sh")
        .arg("-c")
        .arg(script)
        .envs(envs.iter().copied())
        .output()
        .expect("run the container");
    // Stop capture with SIGINT, its clean stop, so enrich sees the end of
    // its input once the container has exited.
    std::thread::sleep(std::time::Duration::from_secs(1));
    // SAFETY: kill only signals the capture process this test started.
    unsafe { libc::kill(cap.id() as i32, libc::SIGINT) };
    let out = enr.wait_with_output().unwrap();
    let _ = cap.wait();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("{cli} rm -f {name}"))
        .envs(envs)
        .output();
    let _ = std::fs::remove_file(&cidfile);
    assert!(
        started.status.success(),
        "container: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let id = String::from_utf8_lossy(&started.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(
        out.status.success(),
        "enrich: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: Vec<Value> = events(&out.stdout)
        .into_iter()
        .filter(|e| s(e, &["container", "fullId"]) == id)
        .collect();
    assert!(!ev.is_empty(), "no event of container {id}");
    assert_eq!(
        s(&ev[0], &["kind"]),
        "containerStart",
        "announced before its first event"
    );
    for e in &ev {
        let c = &e["container"];
        assert_eq!(
            s(c, &["metadata"]),
            "complete",
            "{e}\nenrich said: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(s(c, &["name"]), name);
        assert!(s(c, &["image"]).ends_with("test:1"), "{c}");
        assert_eq!(s(e, &["k8s", "podName"]), "pod-e");
        assert_eq!(s(e, &["k8s", "namespace"]), "ns-e");
    }
    assert!(
        ev.iter()
            .any(|e| s(e, &["kind"]) == "execve" && s(e, &["thread", "exe"]) == "sh"),
        "the container's entrypoint exec is there"
    );
}

#[test]
#[ignore = "needs root and the container runtimes of tests/ctr-test-env.sh; tests/run.sh runs it"]
fn live_capture_docker_run_rm_container_carries_metadata_from_the_first_event() {
    let Some((docker, podman)) = env() else {
        return;
    };
    let cli = format!("/usr/bin/docker -H unix://{}", docker.display());
    live_case(&cli, "docker", &docker, &podman, true);
}

#[test]
#[ignore = "needs root and the container runtimes of tests/ctr-test-env.sh; tests/run.sh runs it"]
fn live_capture_podman_container_carries_metadata_from_the_first_event() {
    let Some((docker, podman)) = env() else {
        return;
    };
    let base = podman.parent().unwrap().display().to_string();
    let cli = format!("podman --root {base}/podman/storage --runroot {base}/podman/run");
    live_case(&cli, "podman", &docker, &podman, false);
}
