//! CRI answers turned into [`ContainerMeta`]: a `ContainerStatus` (asked
//! verbose, so that its `info` carries what the status itself lacks) and its
//! pod's `PodSandboxStatus`, or a sandbox's status alone for the pod's own
//! pause container.
//!
//! Pure functions over the decoded messages, so recorded or hand-written
//! answers test them without a runtime. Every field is optional: a runtime
//! that leaves one out, or sends `info` that is not the JSON expected,
//! yields empty values, not an error.
//!
//! What each field comes from, and what CRI cannot give, is in the table of
//! [`crate::runtime::cri`]'s documentation.

use serde_json::Value;

use super::proto::{
    ContainerStatus, ContainerStatusResponse, MountPropagation, NamespaceMode, PodSandboxStatus,
    PodSandboxStatusResponse,
};
use crate::limits::MAX_CRI_INFO_BYTES;
use crate::runtime::inspect::split_image;
use crate::tables::containers::{ContainerMeta, MountInfo, PodMeta};

/// The `info` entry holding a verbose status's JSON (containerd and CRI-O
/// both use this key).
const INFO_KEY: &str = "info";

/// A verbose answer's `info` JSON, or Null when it is missing, too large or
/// not JSON.
fn info_json(info: &std::collections::HashMap<String, String>) -> Value {
    match info.get(INFO_KEY) {
        Some(s) if s.len() <= MAX_CRI_INFO_BYTES => serde_json::from_str(s).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The sandbox (pod) id a container belongs to, from its verbose info
/// (`sandboxID` in containerd's and CRI-O's), if given.
pub fn sandbox_id_of(resp: &ContainerStatusResponse) -> Option<String> {
    let info = info_json(&resp.info);
    info.get("sandboxID")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// What a pod's containers share with it, from its sandbox status, cut to
/// the limits: kept per pod by the CRI client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodPart {
    pub pod: PodMeta,
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
}

/// The pod part of a sandbox status; None when it has no status.
pub fn pod(resp: &PodSandboxStatusResponse) -> Option<PodPart> {
    let st = resp.status.as_ref()?;
    let mut m = ContainerMeta::default();
    apply_pod(&mut m, st);
    m.limit();
    Some(PodPart {
        pod: m.pod.unwrap_or_default(),
        host_network: m.host_network,
        host_pid: m.host_pid,
        host_ipc: m.host_ipc,
    })
}

/// A container's metadata from its status and, when known, its pod's.
/// `runtime` is what `container.type` says (containerd, cri-o).
pub fn container(
    resp: &ContainerStatusResponse,
    pod: Option<&PodPart>,
    runtime: &str,
) -> Result<ContainerMeta, String> {
    let Some(st) = &resp.status else {
        return Err("ContainerStatus answer has no status".into());
    };
    if st.id.is_empty() {
        return Err("ContainerStatus answer has no container id".into());
    }
    let info = info_json(&resp.info);
    let image = image_name(st, &info);
    let (repo, tag, digest_in_name) = split_image(&image);
    let digest = if digest_in_name.is_empty() {
        digest_of(&st.image_ref)
    } else {
        digest_in_name
    };
    let mut meta = ContainerMeta {
        name: st
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        image,
        image_repository: repo,
        image_tag: tag,
        image_id: image_id(st),
        image_digest: digest,
        runtime: runtime.to_string(),
        privileged: privileged(&info),
        labels: sorted_labels(&st.labels),
        mounts: st.mounts.iter().map(mount).collect(),
        start_ts_ns: timestamp(if st.started_at > 0 {
            st.started_at
        } else {
            st.created_at
        }),
        cmdline: cmdline(&info),
        ..ContainerMeta::default()
    };
    if let Some(p) = pod {
        meta.host_network = p.host_network;
        meta.host_pid = p.host_pid;
        meta.host_ipc = p.host_ipc;
        meta.ip = p.pod.ip.clone();
        meta.pod = Some(p.pod.clone());
    }
    meta.limit();
    Ok(meta)
}

/// The metadata of a pod's own sandbox (pause) container, whose id is the
/// sandbox id: the pod's, with the sandbox image when the runtime's verbose
/// info names it.
pub fn sandbox(resp: &PodSandboxStatusResponse, runtime: &str) -> Result<ContainerMeta, String> {
    let Some(st) = &resp.status else {
        return Err("PodSandboxStatus answer has no status".into());
    };
    if st.id.is_empty() {
        return Err("PodSandboxStatus answer has no sandbox id".into());
    }
    let info = info_json(&resp.info);
    let image = info
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let (repo, tag, digest) = split_image(&image);
    let mut meta = ContainerMeta {
        name: st
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        image,
        image_repository: repo,
        image_tag: tag,
        image_digest: digest,
        runtime: runtime.to_string(),
        labels: sorted_labels(&st.labels),
        start_ts_ns: timestamp(st.created_at),
        cmdline: cmdline(&info),
        pod_sandbox: true,
        ..ContainerMeta::default()
    };
    apply_pod(&mut meta, st);
    meta.limit();
    Ok(meta)
}

/// Fills the pod's part (and the host namespaces and IP, which a pod's
/// containers share with its sandbox).
fn apply_pod(meta: &mut ContainerMeta, pod: &PodSandboxStatus) {
    let md = pod.metadata.clone().unwrap_or_default();
    let ip = pod
        .network
        .as_ref()
        .map(|n| n.ip.clone())
        .unwrap_or_default();
    if let Some(ns) = pod
        .linux
        .as_ref()
        .and_then(|l| l.namespaces.as_ref())
        .and_then(|n| n.options.as_ref())
    {
        let node = NamespaceMode::Node as i32;
        meta.host_network = ns.network == node;
        meta.host_pid = ns.pid == node;
        meta.host_ipc = ns.ipc == node;
    }
    meta.ip = ip.clone();
    meta.pod = Some(PodMeta {
        name: md.name,
        namespace: md.namespace,
        uid: md.uid,
        sandbox_id: pod.id.clone(),
        ip,
        labels: sorted_labels(&pod.labels),
    });
}

/// Labels in key order: the order enrich's tables and the wire keep.
fn sorted_labels(labels: &std::collections::HashMap<String, String>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort();
    v
}

/// The image as the container was created from: the status's image spec
/// (containerd resolves it to the image's first repo tag), else the
/// image the container's config asked for (containerd's verbose info).
fn image_name(st: &ContainerStatus, info: &Value) -> String {
    let spec = st.image.as_ref().map(|i| i.image.as_str()).unwrap_or("");
    let name = if !spec.is_empty() && !spec.starts_with("sha256:") {
        spec
    } else if let Some(s) = info
        .pointer("/config/image/image")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        s
    } else if !st.image_ref.starts_with("sha256:") {
        st.image_ref.as_str()
    } else {
        spec
    };
    name.to_string()
}

/// `sha256:…` from a repo digest reference (`repo@sha256:…`).
fn digest_of(image_ref: &str) -> String {
    image_ref
        .split_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

/// The 12-hex image id: from `image_id` (newer runtimes), else an
/// `image_ref` that is an image id (`sha256:<hex>`).
fn image_id(st: &ContainerStatus) -> String {
    let id = [st.image_id.as_str(), st.image_ref.as_str()]
        .into_iter()
        .find(|s| s.starts_with("sha256:"))
        .unwrap_or("");
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex).to_string()
}

/// Privileged: containerd keeps the container's CRI config in its info
/// (`config.linux.security_context.privileged`), CRI-O says it at the top
/// (`privileged`).
fn privileged(info: &Value) -> bool {
    info.pointer("/config/linux/security_context/privileged")
        .or_else(|| info.get("privileged"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The command line: the OCI spec's process arguments (both runtimes put
/// the spec in their info as `runtimeSpec`), else containerd's CRI config's
/// command and args.
fn cmdline(info: &Value) -> String {
    let words = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let args = words(info.pointer("/runtimeSpec/process/args"));
    let all = if args.is_empty() {
        let mut a = words(info.pointer("/config/command"));
        a.extend(words(info.pointer("/config/args")));
        a
    } else {
        args
    };
    all.join(" ")
}

/// A CRI mount as `container.mount` shows it; propagation named as the
/// Docker API names the same modes.
fn mount(m: &super::proto::Mount) -> MountInfo {
    let propagation = match MountPropagation::try_from(m.propagation) {
        Ok(MountPropagation::PropagationPrivate) => "private",
        Ok(MountPropagation::PropagationHostToContainer) => "rslave",
        Ok(MountPropagation::PropagationBidirectional) => "rshared",
        Err(_) => "",
    };
    MountInfo {
        source: m.host_path.clone(),
        dest: m.container_path.clone(),
        mode: if m.readonly { "ro" } else { "rw" }.to_string(),
        rw: !m.readonly,
        propagation: propagation.to_string(),
    }
}

/// CRI times are ns since the epoch; a negative or zero one is unknown.
fn timestamp(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::proto::{
        ContainerMetadata, ImageSpec, LinuxPodSandboxStatus, Mount, Namespace, NamespaceOption,
        PodSandboxMetadata, PodSandboxNetworkStatus,
    };
    use super::*;

    const CID: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const SID: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    /// A containerd 1.6 verbose answer, as recorded from the test
    /// environment's containerd, cut to the keys read.
    fn containerd_status() -> ContainerStatusResponse {
        let info = serde_json::json!({
            "sandboxID": SID,
            "pid": 4242,
            "config": {
                "metadata": {"name": "web"},
                "image": {"image": "localhost/test:1"},
                "command": ["sleep"], "args": ["30"],
                "linux": {"security_context": {"privileged": true}}
            },
            "runtimeSpec": {"process": {"args": ["sleep", "30"]}}
        });
        ContainerStatusResponse {
            status: Some(ContainerStatus {
                id: CID.into(),
                metadata: Some(ContainerMetadata {
                    name: "web".into(),
                    attempt: 0,
                }),
                created_at: 1_700_000_000_000_000_000,
                started_at: 1_700_000_001_000_000_000,
                image: Some(ImageSpec {
                    image: "localhost/test:1".into(),
                    ..Default::default()
                }),
                image_ref:
                    "sha256:26723ef71f80b4cf2a8928d23b9ef11128578cbbad0f5c5041b4806b9ca044ca".into(),
                labels: [("app".to_string(), "web".to_string())].into(),
                mounts: vec![Mount {
                    container_path: "/host/etc".into(),
                    host_path: "/etc".into(),
                    readonly: true,
                    propagation: MountPropagation::PropagationHostToContainer as i32,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            info: [("info".to_string(), info.to_string())].into(),
        }
    }

    fn pod_status() -> PodSandboxStatusResponse {
        PodSandboxStatusResponse {
            status: Some(PodSandboxStatus {
                id: SID.into(),
                metadata: Some(PodSandboxMetadata {
                    name: "web-0".into(),
                    uid: "u-1".into(),
                    namespace: "shop".into(),
                    attempt: 0,
                }),
                created_at: 1_600_000_000_000_000_000,
                network: Some(PodSandboxNetworkStatus {
                    ip: "10.1.2.3".into(),
                    ..Default::default()
                }),
                linux: Some(LinuxPodSandboxStatus {
                    namespaces: Some(Namespace {
                        options: Some(NamespaceOption {
                            network: NamespaceMode::Node as i32,
                            pid: NamespaceMode::Container as i32,
                            ipc: NamespaceMode::Pod as i32,
                            ..Default::default()
                        }),
                    }),
                }),
                labels: [("tier".to_string(), "front".to_string())].into(),
                ..Default::default()
            }),
            info: [(
                "info".to_string(),
                r#"{"image":"localhost/pause:1"}"#.to_string(),
            )]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_containerd_container_with_its_pod() {
        let resp = containerd_status();
        assert_eq!(sandbox_id_of(&resp).as_deref(), Some(SID));
        let m = container(&resp, pod(&pod_status()).as_ref(), "containerd").unwrap();
        assert_eq!(m.name, "web");
        assert_eq!(m.runtime, "containerd");
        assert_eq!(m.image, "localhost/test:1");
        assert_eq!(m.image_repository, "localhost/test");
        assert_eq!(m.image_tag, "1");
        assert_eq!(m.image_id, "26723ef71f80");
        assert!(m.privileged);
        assert_eq!(m.start_ts_ns, 1_700_000_001_000_000_000);
        assert_eq!(m.cmdline, "sleep 30");
        assert_eq!(m.label("app"), Some("web"));
        assert_eq!(
            m.mounts,
            [MountInfo {
                source: "/etc".into(),
                dest: "/host/etc".into(),
                mode: "ro".into(),
                rw: false,
                propagation: "rslave".into(),
            }]
        );
        assert!(m.host_network && !m.host_pid && !m.host_ipc);
        assert_eq!(m.ip, "10.1.2.3");
        let p = m.pod.as_ref().unwrap();
        assert_eq!(
            (p.name.as_str(), p.namespace.as_str(), p.uid.as_str()),
            ("web-0", "shop", "u-1")
        );
        assert_eq!(p.sandbox_id, SID);
        assert_eq!(p.labels, [("tier".to_string(), "front".to_string())]);
        assert!(!m.pod_sandbox);
    }

    #[test]
    fn a_cri_o_container() {
        // CRI-O: privileged at the top of its info, repo digest as image_ref.
        let info = serde_json::json!({"sandboxID": SID, "privileged": true,
            "runtimeSpec": {"process": {"args": ["/bin/sh", "-c", "true"]}}});
        let resp = ContainerStatusResponse {
            status: Some(ContainerStatus {
                id: CID.into(),
                image: Some(ImageSpec {
                    image: "quay.io/team/app:v2".into(),
                    ..Default::default()
                }),
                image_ref: "quay.io/team/app@sha256:feedbeef".into(),
                ..Default::default()
            }),
            info: [("info".to_string(), info.to_string())].into(),
        };
        let m = container(&resp, None, "cri-o").unwrap();
        assert!(m.privileged);
        assert_eq!(m.image_repository, "quay.io/team/app");
        assert_eq!(m.image_tag, "v2");
        assert_eq!(m.image_digest, "sha256:feedbeef");
        assert_eq!(m.cmdline, "/bin/sh -c true");
        assert!(m.pod.is_none());
    }

    #[test]
    fn the_pods_own_sandbox_container() {
        let m = sandbox(&pod_status(), "containerd").unwrap();
        assert!(m.pod_sandbox);
        assert_eq!(m.name, "web-0");
        assert_eq!(m.image, "localhost/pause:1");
        assert_eq!(m.pod.as_ref().unwrap().sandbox_id, SID);
        assert_eq!(m.start_ts_ns, 1_600_000_000_000_000_000);
    }

    #[test]
    fn garbage_and_missing_parts_do_not_fail_wholesale() {
        assert!(container(&ContainerStatusResponse::default(), None, "containerd").is_err());
        assert!(sandbox(&PodSandboxStatusResponse::default(), "containerd").is_err());
        let mut resp = containerd_status();
        resp.info.insert("info".into(), "{not json".into());
        let m = container(&resp, None, "containerd").unwrap();
        assert!(!m.privileged && m.cmdline.is_empty());
        assert_eq!(sandbox_id_of(&resp), None);
        resp.info
            .insert("info".into(), " ".repeat(MAX_CRI_INFO_BYTES + 1));
        assert_eq!(sandbox_id_of(&resp), None);
        // Negative times and unknown enum values.
        if let Some(st) = resp.status.as_mut() {
            st.started_at = -5;
            st.created_at = -5;
            st.mounts[0].propagation = 99;
        }
        let m = container(&resp, None, "containerd").unwrap();
        assert_eq!(m.start_ts_ns, 0);
        assert_eq!(m.mounts[0].propagation, "");
    }

    #[test]
    fn oversized_answers_are_cut_to_the_limits() {
        use crate::limits::{MAX_CONTAINER_LABELS, MAX_CONTAINER_MOUNTS};
        let mut resp = containerd_status();
        if let Some(st) = resp.status.as_mut() {
            st.labels = (0..5000)
                .map(|i| (format!("k{i}"), "v".repeat(100)))
                .collect();
            st.mounts = vec![Mount::default(); 5000];
        }
        let mut p = pod_status();
        if let Some(st) = p.status.as_mut() {
            st.labels = (0..5000).map(|i| (format!("p{i}"), "x".into())).collect();
        }
        let part = pod(&p).unwrap();
        assert_eq!(part.pod.labels.len(), MAX_CONTAINER_LABELS);
        let m = container(&resp, Some(&part), "containerd").unwrap();
        assert!(m.labels.len() <= MAX_CONTAINER_LABELS);
        assert!(m.mounts.len() <= MAX_CONTAINER_MOUNTS);
        assert!(m.pod.as_ref().unwrap().labels.len() <= MAX_CONTAINER_LABELS);
        assert!(m.cut > 0);
    }
}
