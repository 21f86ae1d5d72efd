//! The container table: every container seen in a cgroup path, its metadata
//! state (not asked, pending, complete, failed) and the metadata itself once
//! the runtime answered, bounded by [`MAX_CONTAINERS`].
//!
//! Fetching is [`crate::runtime`]'s; holding events back while a fetch is
//! pending is [`crate::holdback`]'s.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;
use schema::kestrel_capnp::{container, event, k8s, MetadataState};

use crate::limits::{
    MAX_CONTAINERS, MAX_CONTAINER_CMDLINE_BYTES, MAX_CONTAINER_LABELS, MAX_CONTAINER_META_BYTES,
    MAX_CONTAINER_MOUNTS, MAX_CONTAINER_TEXT_BYTES, MAX_LABEL_KEY_BYTES,
};
use crate::tables::cgroup::{short_id, CgroupContainer, Runtime};

/// One bind or volume mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountInfo {
    pub source: String,
    pub dest: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
}

/// What a CRI runtime told about a container's pod (its sandbox).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    /// The full sandbox id (the pause container's id).
    pub sandbox_id: String,
    pub ip: String,
    pub labels: Vec<(String, String)>,
}

/// What a runtime told about a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerMeta {
    pub name: String,
    pub image: String,
    pub image_repository: String,
    pub image_tag: String,
    pub image_id: String,
    pub image_digest: String,
    /// The runtime that answered (docker, podman).
    pub runtime: String,
    pub privileged: bool,
    pub labels: Vec<(String, String)>,
    pub mounts: Vec<MountInfo>,
    pub start_ts_ns: u64,
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
    pub cmdline: String,
    /// Primary IP address (under CRI, the pod's).
    pub ip: String,
    /// The pod, from a CRI runtime's sandbox status. Docker-API runtimes
    /// leave it out: their pod comes from the kubelet's labels.
    pub pod: Option<PodMeta>,
    /// This is a pod's own sandbox (pause) container.
    pub pod_sandbox: bool,
    /// Labels, mounts and texts cut to the limits by [`Self::limit`].
    pub cut: u64,
}

/// Cuts `s` to at most `max` bytes, at a character boundary; true if it
/// was cut.
fn cut_text(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

impl ContainerMeta {
    /// Cuts this metadata to the named limits ([`MAX_CONTAINER_LABELS`],
    /// [`MAX_LABEL_KEY_BYTES`], [`MAX_CONTAINER_TEXT_BYTES`],
    /// [`MAX_CONTAINER_CMDLINE_BYTES`], [`MAX_CONTAINER_MOUNTS`] and
    /// [`MAX_CONTAINER_META_BYTES`] in all), whoever built it: what a
    /// runtime answers is outside input, and it ends up in the part of
    /// every event of the container. Adds what was cut to [`Self::cut`]
    /// and returns that number. The pod's labels are kept first, so that
    /// many others cannot push them out.
    pub fn limit(&mut self) -> u64 {
        let mut cut = 0u64;
        let mut text = |s: &mut String, max: usize| {
            if cut_text(s, max) {
                cut += 1;
            }
        };
        for s in [
            &mut self.name,
            &mut self.image,
            &mut self.image_repository,
            &mut self.image_tag,
            &mut self.image_id,
            &mut self.image_digest,
            &mut self.runtime,
        ] {
            text(s, MAX_CONTAINER_TEXT_BYTES);
        }
        text(&mut self.ip, MAX_CONTAINER_TEXT_BYTES);
        if let Some(p) = &mut self.pod {
            for s in [
                &mut p.name,
                &mut p.namespace,
                &mut p.uid,
                &mut p.sandbox_id,
                &mut p.ip,
            ] {
                text(s, MAX_CONTAINER_TEXT_BYTES);
            }
        }
        text(&mut self.cmdline, MAX_CONTAINER_CMDLINE_BYTES);
        let pod_texts = self.pod.as_ref().map_or(0, |p| {
            p.name.len() + p.namespace.len() + p.uid.len() + p.sandbox_id.len() + p.ip.len()
        });
        let mut left = MAX_CONTAINER_META_BYTES.saturating_sub(
            self.name.len()
                + self.image.len()
                + self.image_repository.len()
                + self.image_tag.len()
                + self.image_id.len()
                + self.image_digest.len()
                + self.runtime.len()
                + self.cmdline.len()
                + self.ip.len()
                + pod_texts,
        );
        let is_pod = |k: &str| POD_LABELS.contains(&k);
        // Stable: the pod's labels first, the rest in the order given.
        self.labels.sort_by_key(|(k, _)| !is_pod(k));
        cut += limit_labels(&mut self.labels, &mut left);
        if let Some(p) = &mut self.pod {
            cut += limit_labels(&mut p.labels, &mut left);
        }
        let mut mounts = Vec::with_capacity(self.mounts.len().min(MAX_CONTAINER_MOUNTS));
        for mut m in std::mem::take(&mut self.mounts) {
            if mounts.len() >= MAX_CONTAINER_MOUNTS {
                cut += 1;
                continue;
            }
            for s in [&mut m.source, &mut m.dest, &mut m.mode, &mut m.propagation] {
                if cut_text(s, MAX_CONTAINER_TEXT_BYTES) {
                    cut += 1;
                }
            }
            let size = m.source.len() + m.dest.len() + m.mode.len() + m.propagation.len();
            if size > left {
                cut += 1;
                continue;
            }
            left -= size;
            mounts.push(m);
        }
        self.mounts = mounts;
        self.cut += cut;
        cut
    }

    /// The pod's name, namespace and uid: from the CRI sandbox when a CRI
    /// runtime answered, else from the kubelet's labels on the container.
    fn pod_field(&self, pick: fn(&PodMeta) -> &str, label: &str) -> Option<&str> {
        match &self.pod {
            Some(p) if !pick(p).is_empty() => Some(pick(p)),
            _ => self.label(label),
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Cuts `labels` to [`MAX_CONTAINER_LABELS`] and the bytes `left`, which
/// it lowers by what it keeps; returns how many were cut or shortened.
fn limit_labels(labels: &mut Vec<(String, String)>, left: &mut usize) -> u64 {
    let mut cut = 0;
    let mut kept = Vec::with_capacity(labels.len().min(MAX_CONTAINER_LABELS));
    for (k, mut v) in std::mem::take(labels) {
        if k.len() > MAX_LABEL_KEY_BYTES || kept.len() >= MAX_CONTAINER_LABELS {
            cut += 1;
            continue;
        }
        if cut_text(&mut v, MAX_CONTAINER_TEXT_BYTES) {
            cut += 1;
        }
        let size = k.len() + v.len();
        if size > *left {
            cut += 1;
            continue;
        }
        *left -= size;
        kept.push((k, v));
    }
    *labels = kept;
    cut
}

/// Where a container's metadata stands.
#[derive(Debug, Clone)]
pub enum Meta {
    /// No runtime client is configured: nothing will come.
    NotAsked,
    /// Asked at the given time; events wait (bounded) for the answer.
    Pending(Instant),
    Complete(Arc<ContainerMeta>),
    /// Still asked, but the bounded wait ran out: events no longer wait.
    TimedOut,
    /// The runtime did not know the container, or failed.
    Failed,
}

/// One container.
#[derive(Debug, Clone)]
pub struct ContainerEntry {
    pub full_id: String,
    pub runtime: Runtime,
    pub pod_uid: Option<String>,
    pub meta: Meta,
    /// Whether its containerStart event was written.
    pub announced: bool,
}

impl ContainerEntry {
    /// Writes `container` and `k8s` for an event of this container. An event
    /// written while the fetch is still pending was released because its
    /// wait ran out: `timedOut`.
    pub fn write(&self, mut ev: event::Builder<'_>) {
        self.write_container(ev.reborrow().init_container());
        if self.has_k8s() {
            self.write_k8s(ev.init_k8s());
        }
    }

    /// True when this container's events carry a `k8s` part.
    pub fn has_k8s(&self) -> bool {
        matches!(self.meta, Meta::Complete(_)) || self.pod_uid.is_some()
    }

    /// Writes the `k8s` part (see [`Self::has_k8s`]).
    pub fn write_k8s(&self, k: k8s::Builder<'_>) {
        let meta = match &self.meta {
            Meta::Complete(m) => Some(&**m),
            _ => None,
        };
        write_k8s(k, meta, self.pod_uid.as_deref());
    }

    /// Writes the `container` part without its labels and mounts: for an
    /// event whose frame would not fit the wire limit whole.
    pub fn write_container_summary(&self, c: container::Builder<'_>) {
        self.write_container_as(c, false);
    }

    /// Writes the `container` part.
    pub fn write_container(&self, c: container::Builder<'_>) {
        self.write_container_as(c, true);
    }

    fn write_container_as(&self, mut c: container::Builder<'_>, detail: bool) {
        c.set_id(short_id(&self.full_id));
        c.set_full_id(self.full_id.as_str());
        let state = match &self.meta {
            Meta::NotAsked => MetadataState::None,
            Meta::Pending(_) | Meta::TimedOut => MetadataState::TimedOut,
            Meta::Complete(_) => MetadataState::Complete,
            Meta::Failed => MetadataState::Failed,
        };
        c.set_metadata(state);
        let Meta::Complete(m) = &self.meta else {
            c.set_runtime(self.runtime.as_str());
            return;
        };
        c.set_runtime(if m.runtime.is_empty() {
            self.runtime.as_str()
        } else {
            m.runtime.as_str()
        });
        c.set_name(m.name.as_str());
        c.set_image(m.image.as_str());
        c.set_image_repository(m.image_repository.as_str());
        c.set_image_tag(m.image_tag.as_str());
        c.set_image_id(m.image_id.as_str());
        c.set_image_digest(m.image_digest.as_str());
        c.set_privileged(m.privileged);
        c.set_start_ts_ns(m.start_ts_ns);
        c.set_host_network(m.host_network);
        c.set_host_pid(m.host_pid);
        c.set_host_ipc(m.host_ipc);
        c.set_cmdline(m.cmdline.as_str());
        c.set_ip(m.ip.as_str());
        c.set_pod_sandbox(m.pod_sandbox);
        if !detail {
            return;
        }
        let mut labels = c.reborrow().init_labels(m.labels.len() as u32);
        for (i, (key, value)) in m.labels.iter().enumerate() {
            let mut l = labels.reborrow().get(i as u32);
            l.set_key(key.as_str());
            l.set_value(value.as_str());
        }
        let mut mounts = c.reborrow().init_mounts(m.mounts.len() as u32);
        for (i, mi) in m.mounts.iter().enumerate() {
            let mut b = mounts.reborrow().get(i as u32);
            b.set_source(mi.source.as_str());
            b.set_dest(mi.dest.as_str());
            b.set_mode(mi.mode.as_str());
            b.set_rw(mi.rw);
            b.set_propagation(mi.propagation.as_str());
        }
    }
}

/// Kubernetes labels set by the kubelet (and by hand in tests) on a pod's
/// containers.
const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";
/// The labels the `k8s` part is read from.
const POD_LABELS: [&str; 3] = [POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL];

fn write_k8s(mut k: k8s::Builder<'_>, m: Option<&ContainerMeta>, cgroup_uid: Option<&str>) {
    if let Some(m) = m {
        if let Some(v) = m.pod_field(|p| &p.name, POD_NAME_LABEL) {
            k.set_pod_name(v);
        }
        if let Some(v) = m.pod_field(|p| &p.namespace, POD_NAMESPACE_LABEL) {
            k.set_namespace(v);
        }
        if let Some(v) = m.pod_field(|p| &p.uid, POD_UID_LABEL).or(cgroup_uid) {
            k.set_pod_uid(v);
        }
        if let Some(p) = &m.pod {
            k.set_pod_ip(p.ip.as_str());
            k.set_sandbox_id(p.sandbox_id.as_str());
            let mut labels = k.init_pod_labels(p.labels.len() as u32);
            for (i, (key, value)) in p.labels.iter().enumerate() {
                let mut l = labels.reborrow().get(i as u32);
                l.set_key(key.as_str());
                l.set_value(value.as_str());
            }
        }
    } else if let Some(uid) = cgroup_uid {
        k.set_pod_uid(uid);
    }
}

/// Writes the host's `container` (id and name "host", no metadata).
pub fn write_host(mut c: container::Builder<'_>) {
    c.set_id("host");
    c.set_full_id("host");
    c.set_name("host");
    c.set_metadata(MetadataState::None);
}

/// All containers seen.
#[derive(Default)]
pub struct Containers {
    map: FxHashMap<String, ContainerEntry>,
    order: VecDeque<String>,
    pub evictions: u64,
    /// Moves on every change that may show on events (any entry added,
    /// changed or removed); keys the processes' cached containers.
    generation: u64,
}

impl Containers {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, full_id: &str) -> Option<&ContainerEntry> {
        self.map.get(full_id)
    }

    /// An entry, for a change: cached containers are stale then. Changes
    /// that do not show on events go through [`Self::mark_announced`].
    pub fn get_mut(&mut self, full_id: &str) -> Option<&mut ContainerEntry> {
        self.generation += 1;
        self.map.get_mut(full_id)
    }

    /// The generation: it moves whenever what an event shows of any
    /// container may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Marks container `full_id` announced (its containerStart written);
    /// true if it was not yet.
    pub fn mark_announced(&mut self, full_id: &str) -> bool {
        match self.map.get_mut(full_id) {
            Some(c) if !c.announced => {
                c.announced = true;
                true
            }
            _ => false,
        }
    }

    /// Adds a container first seen in a cgroup path, with `meta` as its
    /// starting state. Returns false if it was already known.
    pub fn insert(&mut self, c: &CgroupContainer, meta: Meta) -> bool {
        if self.map.contains_key(&c.id) {
            return false;
        }
        self.generation += 1;
        while self.map.len() >= MAX_CONTAINERS {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if self.map.remove(&old).is_some() {
                self.evictions += 1;
            }
        }
        self.map.insert(
            c.id.clone(),
            ContainerEntry {
                full_id: c.id.clone(),
                runtime: c.runtime,
                pod_uid: c.pod_uid.clone(),
                meta,
                announced: false,
            },
        );
        self.order.push_back(c.id.clone());
        true
    }

    /// Forgets a container the runtime reported destroyed.
    pub fn remove(&mut self, full_id: &str) {
        if self.map.remove(full_id).is_some() {
            self.generation += 1;
            self.order.retain(|id| id != full_id);
        }
    }

    /// Containers whose metadata is pending since before `deadline`.
    pub fn pending_before(&self, deadline: Instant) -> Vec<String> {
        self.map
            .values()
            .filter(|c| matches!(c.meta, Meta::Pending(t) if t <= deadline))
            .map(|c| c.full_id.clone())
            .collect()
    }

    /// The earliest time a pending fetch was asked, if any is pending.
    pub fn oldest_pending(&self) -> Option<Instant> {
        self.map
            .values()
            .filter_map(|c| match c.meta {
                Meta::Pending(t) => Some(t),
                _ => None,
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_cut_to_the_limits_and_the_pod_labels_survive() {
        let mut m = ContainerMeta {
            name: "n".repeat(5000),
            image: "é".repeat(MAX_CONTAINER_TEXT_BYTES),
            labels: (0..20_000)
                .map(|i| (format!("a{i:05}"), "v".repeat(200)))
                .chain([(POD_NAME_LABEL.to_string(), "pod-a".to_string())])
                .chain([("k".repeat(MAX_LABEL_KEY_BYTES + 1), String::new())])
                .collect(),
            mounts: vec![MountInfo::default(); 1000],
            ..ContainerMeta::default()
        };
        let cut = m.limit();
        assert_eq!(m.name.len(), MAX_CONTAINER_TEXT_BYTES);
        assert!(m.image.len() <= MAX_CONTAINER_TEXT_BYTES && m.image.chars().all(|c| c == 'é'));
        assert!(m.labels.len() <= MAX_CONTAINER_LABELS);
        assert_eq!(m.label(POD_NAME_LABEL), Some("pod-a"));
        assert_eq!(m.mounts.len(), MAX_CONTAINER_MOUNTS);
        let bytes: usize = m.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(bytes <= MAX_CONTAINER_META_BYTES);
        // 2 texts, 20,001 - 128 labels, 1000 - 64 mounts at least.
        assert!(cut >= 2 + 19_873 + 936, "{cut}");
        assert_eq!(m.cut, cut);
        assert_eq!(m.limit(), 0, "cutting again cuts nothing");
    }
}
