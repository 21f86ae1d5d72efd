//! Container ids from cgroup paths, for every common runtime and layout:
//! docker (cgroupfs `/docker/<id>`, systemd `docker-<id>.scope`), podman
//! (`/libpod_parent/libpod-<id>`, `libpod-<id>.scope`), containerd CRI
//! (`<parent>/<id>`, `cri-containerd-<id>.scope`), CRI-O (`/crio/<id>`,
//! `crio-<id>.scope`) and kubepods under both cgroup drivers.
//!
//! It only parses: metadata comes from [`crate::runtime`].

/// The runtime a cgroup layout names, as `container.type` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Docker,
    Podman,
    Containerd,
    CriO,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
        }
    }

    /// The runtime a `container.type` names; Docker for any other name.
    pub fn from_name(name: &str) -> Runtime {
        match name {
            "podman" => Runtime::Podman,
            "containerd" => Runtime::Containerd,
            "cri-o" => Runtime::CriO,
            _ => Runtime::Docker,
        }
    }

    /// True for the runtimes served by CRI rather than the Docker API.
    pub fn is_cri(self) -> bool {
        matches!(self, Runtime::Containerd | Runtime::CriO)
    }
}

/// A container found in a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupContainer {
    /// The 64-hex full id.
    pub id: String,
    pub runtime: Runtime,
    /// Pod uid from a kubepods path (dashes restored), if any.
    pub pod_uid: Option<String>,
}

/// Length of a full container id.
pub const FULL_ID_LEN: usize = 64;
/// Length of the short id (`container.id`).
pub const SHORT_ID_LEN: usize = 12;

/// The container of a process from its cgroup lines (`N:controllers:/path`
/// or `controllers:/path`); `None` for host processes.
pub fn container_of<S: AsRef<str>>(lines: &[S]) -> Option<CgroupContainer> {
    lines.iter().find_map(|l| {
        let l = l.as_ref();
        l.find('/').and_then(|i| from_path(&l[i..]))
    })
}

/// The container named by one cgroup path. The innermost component that
/// names a container wins (nested runtimes, sub-cgroups of a container).
pub fn from_path(path: &str) -> Option<CgroupContainer> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let kube = parts.iter().any(|p| p.starts_with("kubepods"));
    for (i, part) in parts.iter().enumerate().rev() {
        let Some((id, runtime)) = component(part, parts.get(i.wrapping_sub(1)).copied()) else {
            continue;
        };
        // A bare id under kubepods with no runtime prefix is CRI: containerd
        // or CRI-O (the latter is named by a `crio` parent).
        let runtime = match runtime {
            Some(r) => r,
            None if parts.contains(&"crio") => Runtime::CriO,
            None => Runtime::Containerd,
        };
        return Some(CgroupContainer {
            id: id.to_string(),
            runtime,
            pod_uid: if kube { pod_uid(&parts) } else { None },
        });
    }
    None
}

/// The id and runtime a single path component names.
fn component<'a>(part: &'a str, parent: Option<&str>) -> Option<(&'a str, Option<Runtime>)> {
    let stem = part.strip_suffix(".scope").unwrap_or(part);
    const PREFIXES: [(&str, Runtime); 4] = [
        ("docker-", Runtime::Docker),
        ("libpod-", Runtime::Podman),
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::CriO),
    ];
    for (prefix, rt) in PREFIXES {
        if let Some(id) = stem.strip_prefix(prefix) {
            // `libpod-conmon-<id>` and `crio-conmon-<id>` hold the monitor,
            // a host process.
            return is_full_id(id).then_some((id, Some(rt)));
        }
    }
    if !is_full_id(stem) {
        return None;
    }
    let rt = match parent {
        Some("docker") => Some(Runtime::Docker),
        Some("crio") => Some(Runtime::CriO),
        Some("libpod_parent") => Some(Runtime::Podman),
        _ => None,
    };
    Some((stem, rt))
}

fn is_full_id(s: &str) -> bool {
    s.len() == FULL_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The pod uid of a kubepods path: `pod<uid>` (cgroupfs) or
/// `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd).
fn pod_uid(parts: &[&str]) -> Option<String> {
    parts.iter().rev().find_map(|p| {
        let stem = p.strip_suffix(".slice").unwrap_or(p);
        let at = stem.rfind("pod")?;
        let uid = &stem[at + 3..];
        let ok = !uid.is_empty()
            && uid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| uid.replace('_', "-"))
    })
}

/// The 12-hex short id of a full id.
pub fn short_id(full: &str) -> &str {
    full.get(..SHORT_ID_LEN).unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

    fn check(path: &str, runtime: Runtime, pod: Option<&str>) {
        let c = from_path(&path.replace("ID", ID)).unwrap_or_else(|| panic!("no id in {path}"));
        assert_eq!(c.id, ID, "{path}");
        assert_eq!(c.runtime, runtime, "{path}");
        assert_eq!(c.pod_uid.as_deref(), pod, "{path}");
    }

    #[test]
    fn docker_cgroupfs() {
        check("/docker/ID", Runtime::Docker, None);
    }

    #[test]
    fn docker_systemd() {
        check("/system.slice/docker-ID.scope", Runtime::Docker, None);
    }

    #[test]
    fn podman_cgroupfs() {
        check("/libpod_parent/libpod-ID", Runtime::Podman, None);
    }

    #[test]
    fn podman_systemd() {
        check("/machine.slice/libpod-ID.scope", Runtime::Podman, None);
        check(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-ID.scope/container",
            Runtime::Podman,
            None,
        );
    }

    #[test]
    fn podman_conmon_is_a_host_process() {
        assert_eq!(
            from_path(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
    }

    #[test]
    fn containerd_cri_cgroupfs() {
        check("/k8s.io/ID", Runtime::Containerd, None);
        check(
            "/kubepods/besteffort/pod1234-abcd/ID",
            Runtime::Containerd,
            Some("1234-abcd"),
        );
    }

    #[test]
    fn containerd_cri_systemd() {
        check(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/cri-containerd-ID.scope",
            Runtime::Containerd,
            Some("12-34"),
        );
        check(
            "/system.slice/cri-containerd-ID.scope",
            Runtime::Containerd,
            None,
        );
    }

    #[test]
    fn crio_both_drivers() {
        check("/crio/ID", Runtime::CriO, None);
        check("/system.slice/crio-ID.scope", Runtime::CriO, None);
        check(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab_cd.slice/crio-ID.scope",
            Runtime::CriO,
            Some("ab-cd"),
        );
        assert_eq!(
            from_path(&format!("/system.slice/crio-conmon-{ID}.scope")),
            None
        );
    }

    #[test]
    fn kubepods_cgroupfs_with_docker() {
        check(
            "/kubepods/burstable/podxyz/ID",
            Runtime::Containerd,
            Some("xyz"),
        );
        check(
            "/kubepods.slice/kubepods-pod9_9.slice/docker-ID.scope",
            Runtime::Docker,
            Some("9-9"),
        );
    }

    #[test]
    fn host_processes_have_no_container() {
        for p in [
            "/",
            "/init.scope",
            "/user.slice/user-0.slice/session-1.scope",
            "/system.slice/docker.service",
            "/docker",
        ] {
            assert_eq!(from_path(p), None, "{p}");
        }
    }

    #[test]
    fn lines_of_proc_cgroup() {
        let lines = ["12:pids:/", format!("0::/docker/{ID}").as_str()].map(String::from);
        assert_eq!(container_of(&lines).unwrap().id, ID);
        assert_eq!(container_of(&["0::/init.scope"]), None);
        assert_eq!(short_id(ID), &ID[..12]);
    }
}
