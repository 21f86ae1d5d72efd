//! containerd's CRI, driven as a kubelet would drive it, for the container
//! rules: one pod sandbox (host network, so that no CNI is needed; allowed
//! to hold privileged containers) with a name, namespace, uid and labels,
//! and the trigger containers created and started in it through
//! `CreateContainer` and `StartContainer`, from the test image
//! `localhost/test:1` that `tests/ctr-test-env.sh` imports into containerd.
//!
//! The end-to-end rules test starts its trigger containers this way, and
//! `kestrel-cri-churn` (the CRI churn benchmark) starts and removes
//! containers at a steady rate from several connections at once.
//!
//! It is not a CRI library: each call is the one these need, and the pod
//! (with its containers) is removed when the [`Pod`] is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enrich::runtime::cri::proto::{
    self, runtime_service_client::RuntimeServiceClient, NamespaceMode,
};
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint};

/// The test image `tests/ctr-test-env.sh` imports into every runtime.
pub const IMAGE: &str = "localhost/test:1";

/// The namespace the test pod is created in.
pub const NAMESPACE: &str = "kt-e2e";

/// The label every pod of this test carries, by which a later run finds
/// what a failed one left behind.
const TEST_LABEL: (&str, &str) = ("app", "kestrel-e2e");

/// How long a container may take to run its command to the end.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// containerd's CRI socket from the test environment's env file (written by
/// `ctr-test-env.sh up`).
pub fn socket() -> Result<PathBuf, String> {
    let base = std::env::var("CTR_BASE").unwrap_or_else(|_| "/tmp/ctr-test".into());
    let env_file = Path::new(&base).join("env");
    let text =
        std::fs::read_to_string(&env_file).map_err(|e| format!("{}: {e}", env_file.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("CONTAINERD_SOCK="))
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .ok_or_else(|| format!("no live CONTAINERD_SOCK in {}", env_file.display()))
}

/// One connection to the CRI socket, with the runtime that drives it.
pub struct Client {
    rt: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
}

/// A pod sandbox and the containers started in it.
pub struct Pod {
    client: Client,
    pub name: String,
    pub sandbox: Sandbox,
}

/// What a container is created in: the sandbox's id and the config it ran
/// with (`CreateContainer` wants both).
#[derive(Clone)]
pub struct Sandbox {
    pub id: String,
    config: proto::PodSandboxConfig,
}

/// A container to start in the pod: what `docker run` options say for the
/// other runtimes.
#[derive(Default)]
pub struct Spec<'a> {
    pub name: &'a str,
    pub command: &'a [&'a str],
    /// (host path, container path), read-only.
    pub mounts: &'a [(&'a Path, &'a str)],
    pub privileged: bool,
    /// Runs as this uid and gid.
    pub user: Option<i64>,
}

fn kv(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Client {
    pub fn connect(socket: &Path) -> Result<Client, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let path = socket.to_path_buf();
        let channel = rt
            .block_on(
                Endpoint::from_static("http://cri.invalid").connect_with_connector(
                    tower::service_fn(move |_| {
                        let path = path.clone();
                        async move {
                            tokio::net::UnixStream::connect(path)
                                .await
                                .map(TokioIo::new)
                        }
                    }),
                ),
            )
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        Ok(Client {
            rt,
            client: RuntimeServiceClient::new(channel),
        })
    }

    /// Creates and starts a container in `sandbox`; returns its full id.
    pub fn start(&mut self, sandbox: &Sandbox, spec: &Spec<'_>) -> Result<String, String> {
        let id = self
            .rt
            .block_on(self.client.create_container(proto::CreateContainerRequest {
                pod_sandbox_id: sandbox.id.clone(),
                config: Some(container_config(spec)),
                sandbox_config: Some(sandbox.config.clone()),
            }))
            .map_err(|e| format!("CreateContainer {}: {e}", spec.name))?
            .into_inner()
            .container_id;
        self.rt
            .block_on(self.client.start_container(proto::StartContainerRequest {
                container_id: id.clone(),
            }))
            .map_err(|e| format!("StartContainer {}: {e}", spec.name))?;
        Ok(id)
    }

    /// Waits (bounded) for container `id` to exit.
    pub fn wait(&mut self, id: &str) -> Result<(), String> {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            let state = self
                .rt
                .block_on(self.client.container_status(proto::ContainerStatusRequest {
                    container_id: id.into(),
                    verbose: false,
                }))
                .ok()
                .and_then(|r| r.into_inner().status)
                .map(|s| s.state);
            if state == Some(proto::ContainerState::ContainerExited as i32) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "CRI container {id} did not exit within {EXIT_TIMEOUT:?}"
        ))
    }

    /// Removes container `id` (stopped or not).
    pub fn remove(&mut self, id: &str) -> Result<(), String> {
        self.rt
            .block_on(self.client.remove_container(proto::RemoveContainerRequest {
                container_id: id.into(),
            }))
            .map(drop)
            .map_err(|e| format!("RemoveContainer {id}: {e}"))
    }

    /// Runs `command` in container `id` (`ExecSync`, as `kubectl exec`).
    pub fn exec(&mut self, id: &str, command: &[&str]) -> Result<(), String> {
        let r = self
            .rt
            .block_on(self.client.exec_sync(proto::ExecSyncRequest {
                container_id: id.into(),
                cmd: command.iter().map(|s| s.to_string()).collect(),
                timeout: EXIT_TIMEOUT.as_secs() as i64,
            }))
            .map_err(|e| format!("ExecSync {command:?} in {id}: {e}"))?
            .into_inner();
        if r.exit_code != 0 {
            return Err(format!(
                "ExecSync {command:?} in {id} exited {}: {}",
                r.exit_code,
                String::from_utf8_lossy(&r.stderr)
            ));
        }
        Ok(())
    }

    fn remove_pod(&mut self, sandbox: &str) {
        let _ = self
            .rt
            .block_on(self.client.stop_pod_sandbox(proto::StopPodSandboxRequest {
                pod_sandbox_id: sandbox.into(),
            }));
        let _ = self.rt.block_on(
            self.client
                .remove_pod_sandbox(proto::RemovePodSandboxRequest {
                    pod_sandbox_id: sandbox.into(),
                }),
        );
    }
}

fn container_config(spec: &Spec<'_>) -> proto::ContainerConfig {
    let user = spec.user.map(|value| proto::Int64Value { value });
    proto::ContainerConfig {
        metadata: Some(proto::ContainerMetadata {
            name: spec.name.into(),
            attempt: 0,
        }),
        image: Some(proto::ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: spec.command.iter().map(|s| s.to_string()).collect(),
        mounts: spec
            .mounts
            .iter()
            .map(|(host, inside)| proto::Mount {
                container_path: inside.to_string(),
                host_path: host.display().to_string(),
                readonly: true,
                ..Default::default()
            })
            .collect(),
        linux: Some(proto::LinuxContainerConfig {
            security_context: Some(proto::LinuxContainerSecurityContext {
                privileged: spec.privileged,
                run_as_user: user,
                run_as_group: user,
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

impl Pod {
    /// Connects to `socket`, removes pods an earlier run left, and runs a
    /// new pod sandbox named `name`.
    pub fn run(socket: &Path, name: &str) -> Result<Pod, String> {
        let mut client = Client::connect(socket)?;
        let leftovers = client
            .rt
            .block_on(
                client
                    .client
                    .list_pod_sandbox(proto::ListPodSandboxRequest {
                        filter: Some(proto::PodSandboxFilter {
                            label_selector: kv(&[TEST_LABEL]),
                            ..Default::default()
                        }),
                    }),
            )
            .map(|r| r.into_inner().items)
            .unwrap_or_default();
        for p in leftovers {
            client.remove_pod(&p.id);
        }
        let uid = format!("kt-e2e-uid-{}", std::process::id());
        let config = proto::PodSandboxConfig {
            metadata: Some(proto::PodSandboxMetadata {
                name: name.into(),
                uid: uid.clone(),
                namespace: NAMESPACE.into(),
                attempt: 0,
            }),
            labels: kv(&[TEST_LABEL]),
            linux: Some(proto::LinuxPodSandboxConfig {
                cgroup_parent: format!("/kubepods/besteffort/pod{uid}"),
                security_context: Some(proto::LinuxSandboxSecurityContext {
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
        };
        let id = client
            .rt
            .block_on(client.client.run_pod_sandbox(proto::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            }))
            .map_err(|e| format!("RunPodSandbox: {e}"))?
            .into_inner()
            .pod_sandbox_id;
        Ok(Pod {
            client,
            name: name.into(),
            sandbox: Sandbox { id, config },
        })
    }

    /// Creates and starts a container; returns its full id.
    pub fn start(&mut self, spec: &Spec<'_>) -> String {
        self.client
            .start(&self.sandbox, spec)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits (bounded) for container `id` to exit.
    pub fn wait(&mut self, id: &str) {
        self.client.wait(id).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Runs `command` in container `id`, which must succeed.
    pub fn exec(&mut self, id: &str, command: &[&str]) {
        self.client
            .exec(id, command)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let id = self.sandbox.id.clone();
        self.client.remove_pod(&id);
    }
}
