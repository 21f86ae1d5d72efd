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

use crate::cgroup::{short_id, CgroupContainer, Runtime};
use crate::limits::MAX_CONTAINERS;

/// One bind or volume mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountInfo {
    pub source: String,
    pub dest: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
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
}

impl ContainerMeta {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
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

    /// Writes the `container` part.
    pub fn write_container(&self, mut c: container::Builder<'_>) {
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

fn write_k8s(mut k: k8s::Builder<'_>, m: Option<&ContainerMeta>, cgroup_uid: Option<&str>) {
    if let Some(m) = m {
        if let Some(v) = m.label(POD_NAME_LABEL) {
            k.set_pod_name(v);
        }
        if let Some(v) = m.label(POD_NAMESPACE_LABEL) {
            k.set_namespace(v);
        }
        if let Some(v) = m.label(POD_UID_LABEL).or(cgroup_uid) {
            k.set_pod_uid(v);
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
