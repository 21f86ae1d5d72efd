//! The real containerd's CRI socket (brought up by `ctr-test-env.sh`, with
//! its CRI plugin): a small CRI client here creates a pod sandbox (host
//! network, so that no CNI is needed) with name, namespace, uid, labels and
//! annotations, then a privileged container with the host's /etc mounted
//! and a plain one, from the busybox image, while the real `capture |
//! enrich --cri-socket` runs. From the first event of each container on,
//! its events must name the pod, namespace, labels, image repository and
//! tag; privileged and the mount must show; the pod's pause container is
//! recognised as the sandbox. Pods and containers are removed after.
//!
//! Needs root, the capture binary and the runtimes, so it is `#[ignore]`d
//! and `tests/run.sh` runs it; there a missing prerequisite fails it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use enrich::runtime::cri::proto::{
    self, runtime_service_client::RuntimeServiceClient, NamespaceMode,
};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};

fn missing(why: String) -> Option<PathBuf> {
    panic!("CRI test prerequisite missing: {why}")
}

/// containerd's socket from the test environment's env file.
fn containerd_socket() -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return missing("needs root to run containers".into());
    }
    let base = std::env::var("CTR_BASE").unwrap_or_else(|_| "/tmp/ctr-test".into());
    let env_file = Path::new(&base).join("env");
    let Ok(text) = std::fs::read_to_string(&env_file) else {
        return missing(format!(
            "{} not found: start the runtimes with tests/ctr-test-env.sh up",
            env_file.display()
        ));
    };
    let sock = text
        .lines()
        .find_map(|l| l.strip_prefix("CONTAINERD_SOCK="))
        .map(PathBuf::from);
    match sock {
        Some(s) if s.exists() => Some(s),
        _ => missing(format!(
            "CONTAINERD_SOCK in {} is missing or not there",
            env_file.display()
        )),
    }
}

/// The capture binary of this workspace (built by `cargo build`).
fn capture_bin() -> Option<PathBuf> {
    let p = std::env::var_os("KESTREL_CAPTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/debug/capture"
            ))
        });
    if p.exists() {
        return Some(p);
    }
    missing(format!(
        "capture binary not built at {} (cargo build -p capture)",
        p.display()
    ))
}

async fn connect(path: &Path) -> RuntimeServiceClient<Channel> {
    let path = path.to_path_buf();
    let channel = Endpoint::from_static("http://cri.invalid")
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                tokio::net::UnixStream::connect(path)
                    .await
                    .map(TokioIo::new)
            }
        }))
        .await
        .expect("connect to containerd's CRI socket");
    RuntimeServiceClient::new(channel)
}

fn kv(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The test pod: its sandbox config, with host network.
fn pod_config(name: &str, uid: &str) -> proto::PodSandboxConfig {
    proto::PodSandboxConfig {
        metadata: Some(proto::PodSandboxMetadata {
            name: name.into(),
            uid: uid.into(),
            namespace: "kestrel-ns".into(),
            attempt: 0,
        }),
        // No hostname: with the host's network the pod has the host's UTS
        // namespace, and runc refuses to set one.
        labels: kv(&[TEST_LABEL, ("tier", "test")]),
        annotations: kv(&[("kestrel.test/annotation", "yes")]),
        linux: Some(proto::LinuxPodSandboxConfig {
            cgroup_parent: format!("/kubepods/besteffort/pod{uid}"),
            security_context: Some(proto::LinuxSandboxSecurityContext {
                // A pod must allow privileged containers to hold one.
                privileged: true,
                namespace_options: Some(proto::NamespaceOption {
                    network: NamespaceMode::Node as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_config(name: &str, privileged: bool) -> proto::ContainerConfig {
    proto::ContainerConfig {
        metadata: Some(proto::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(proto::ImageSpec {
            image: "localhost/test:1".into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into()],
        args: vec!["cat /etc/hostname; sleep 1".into()],
        labels: kv(&[("container-label", name)]),
        mounts: if privileged {
            vec![proto::Mount {
                container_path: "/host/etc".into(),
                host_path: "/etc".into(),
                readonly: true,
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        linux: Some(proto::LinuxContainerConfig {
            security_context: Some(proto::LinuxContainerSecurityContext {
                privileged,
                namespace_options: Some(proto::NamespaceOption {
                    network: NamespaceMode::Node as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What the test created, for the assertions and the clean-up.
struct Pod {
    sandbox: String,
    privileged: String,
    plain: String,
}

/// The label every pod of this test carries, by which the next run finds
/// what a failed one left.
const TEST_LABEL: (&str, &str) = ("app", "kestrel-cri");

/// Runs the pod and its containers; Err(sandbox id, why) when a step after
/// the sandbox failed, so that the caller can still remove it.
async fn run_pod(
    c: &mut RuntimeServiceClient<Channel>,
    name: &str,
    uid: &str,
) -> Result<Pod, (Option<String>, String)> {
    let config = pod_config(name, uid);
    let sandbox = c
        .run_pod_sandbox(proto::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .map_err(|e| (None, format!("RunPodSandbox: {e}")))?
        .into_inner()
        .pod_sandbox_id;
    let failed = |step: &str, e: tonic::Status| (Some(sandbox.clone()), format!("{step}: {e}"));
    let mut ids = Vec::new();
    for (cname, privileged) in [("priv", true), ("plain", false)] {
        let id = c
            .create_container(proto::CreateContainerRequest {
                pod_sandbox_id: sandbox.clone(),
                config: Some(container_config(cname, privileged)),
                sandbox_config: Some(config.clone()),
            })
            .await
            .map_err(|e| failed("CreateContainer", e))?
            .into_inner()
            .container_id;
        c.start_container(proto::StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .map_err(|e| failed("StartContainer", e))?;
        ids.push(id);
    }
    Ok(Pod {
        privileged: ids[0].clone(),
        plain: ids[1].clone(),
        sandbox,
    })
}

/// Removes the pods earlier runs of this test left behind.
async fn remove_leftovers(c: &mut RuntimeServiceClient<Channel>) {
    let req = proto::ListPodSandboxRequest {
        filter: Some(proto::PodSandboxFilter {
            label_selector: kv(&[TEST_LABEL]),
            ..Default::default()
        }),
    };
    if let Ok(r) = c.list_pod_sandbox(req).await {
        for p in r.into_inner().items {
            remove_pod(c, &p.id).await;
        }
    }
}

/// Waits (bounded) for the containers to exit.
async fn wait_exited(c: &mut RuntimeServiceClient<Channel>, ids: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in ids {
        while Instant::now() < deadline {
            let st = c
                .container_status(proto::ContainerStatusRequest {
                    container_id: id.to_string(),
                    verbose: false,
                })
                .await
                .ok()
                .and_then(|r| r.into_inner().status);
            if st.is_some_and(|s| s.state == proto::ContainerState::ContainerExited as i32) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn remove_pod(c: &mut RuntimeServiceClient<Channel>, sandbox: &str) {
    let _ = c
        .stop_pod_sandbox(proto::StopPodSandboxRequest {
            pod_sandbox_id: sandbox.into(),
        })
        .await;
    let _ = c
        .remove_pod_sandbox(proto::RemovePodSandboxRequest {
            pod_sandbox_id: sandbox.into(),
        })
        .await;
}

fn has_label(list: &Value, key: &str, value: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|l| l["key"] == key && l["value"] == value))
}

/// The capture process, stopped with SIGINT (its clean stop, so that
/// enrich sees the end of its input) however the test ends.
struct Capture(std::process::Child);

impl Drop for Capture {
    fn drop(&mut self) {
        // SAFETY: kill only signals the capture process this test started.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs root, the capture binary and containerd's CRI; tests/run.sh runs it"]
fn live_capture_cri_pod_metadata_from_the_first_event() {
    let Some(sock) = containerd_socket() else {
        return;
    };
    let Some(capture) = capture_bin() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut client = rt.block_on(connect(&sock));
    rt.block_on(remove_leftovers(&mut client));
    let uid = format!("kestrel-uid-{}", std::process::id());
    let name = format!("kestrel-cri-{}", std::process::id());

    let mut cap = Capture(
        Command::new(&capture)
            // Process events only: other work on a shared machine must not
            // drown the containers' events.
            .args(["--syscalls", "execve,procexit,clone,clone3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start capture"),
    );
    let enr = Command::new(env!("CARGO_BIN_EXE_enrich"))
        .args(["--cri-socket", sock.to_str().unwrap()])
        .stdin(cap.0.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start enrich");
    // Time for the probe to attach and the snapshot to be taken.
    std::thread::sleep(Duration::from_secs(3));
    let pod = rt.block_on(async {
        let pod = run_pod(&mut client, &name, &uid).await;
        if let Ok(pod) = &pod {
            wait_exited(&mut client, &[&pod.privileged, &pod.plain]).await;
        }
        pod
    });
    std::thread::sleep(Duration::from_millis(500));
    drop(cap);
    let out = enr.wait_with_output().unwrap();
    let sandbox = match &pod {
        Ok(p) => Some(p.sandbox.clone()),
        Err((s, _)) => s.clone(),
    };
    if let Some(sandbox) = sandbox {
        rt.block_on(remove_pod(&mut client, &sandbox));
    }
    let pod = pod.unwrap_or_else(|(_, why)| panic!("{why}"));

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "enrich: {stderr}");
    let all = events(&out.stdout);
    let of = |id: &str| -> Vec<Value> {
        all.iter()
            .filter(|e| s(e, &["container", "fullId"]) == id)
            .cloned()
            .collect()
    };
    for (id, cname, privileged) in [
        (&pod.privileged, "priv", true),
        (&pod.plain, "plain", false),
    ] {
        let ev = of(id);
        assert!(!ev.is_empty(), "no event of container {id}\n{stderr}");
        assert_eq!(s(&ev[0], &["kind"]), "containerStart");
        assert!(
            ev.iter().any(|e| s(e, &["kind"]) == "execve"),
            "the container's exec is there"
        );
        for e in &ev {
            let c = &e["container"];
            assert_eq!(s(c, &["metadata"]), "complete", "{e}\n{stderr}");
            assert_eq!(s(c, &["name"]), cname, "{c}");
            assert_eq!(s(c, &["runtime"]), "containerd", "{c}");
            assert_eq!(s(c, &["imageRepository"]), "localhost/test", "{c}");
            assert_eq!(s(c, &["imageTag"]), "1", "{c}");
            assert_eq!(
                c["privileged"].as_bool().unwrap_or(false),
                privileged,
                "{c}"
            );
            assert!(has_label(&c["labels"], "container-label", cname), "{c}");
            let k = &e["k8s"];
            assert_eq!(s(k, &["podName"]), name, "{e}");
            assert_eq!(s(k, &["namespace"]), "kestrel-ns", "{e}");
            assert_eq!(s(k, &["podUid"]), uid, "{e}");
            assert_eq!(s(k, &["sandboxId"]), pod.sandbox, "{e}");
            assert!(
                has_label(&k["podLabels"], TEST_LABEL.0, TEST_LABEL.1),
                "{k}"
            );
            assert!(has_label(&k["podLabels"], "tier", "test"), "{k}");
            let mounts = c["mounts"].as_array().cloned().unwrap_or_default();
            let etc = mounts
                .iter()
                .any(|m| m["source"] == "/etc" && m["dest"] == "/host/etc");
            assert_eq!(etc, privileged, "{c}");
        }
    }
    // The pod's own pause container, started with the sandbox.
    let ev = of(&pod.sandbox);
    assert!(!ev.is_empty(), "no event of the sandbox {}", pod.sandbox);
    for e in &ev {
        let c = &e["container"];
        assert_eq!(s(c, &["metadata"]), "complete", "{e}");
        assert_eq!(c["podSandbox"].as_bool(), Some(true), "{c}");
        assert_eq!(s(&e["k8s"], &["podName"]), name);
        assert_eq!(s(&e["k8s"], &["sandboxId"]), pod.sandbox);
    }
}
