//! The CRI client: container and pod metadata from containerd and CRI-O
//! through the Kubernetes Container Runtime Interface (`runtime.v1` gRPC
//! on the runtime's Unix socket), off the event path.
//!
//! One thread runs a single-threaded tokio runtime. It answers the
//! engine's [`FetchRequest`]s for CRI containers (cgroup layouts of
//! containerd and CRI-O, [`crate::tables::cgroup`]) with [`MetaUpdate`]s, each
//! lookup in a task of its own so that a slow socket delays only its own
//! answers; and per socket it follows `GetContainerEvents` where the
//! runtime has it (containerd 1.7 and later, CRI-O): a created or started
//! container is looked up and reported before its first events ask, so the
//! engine's hold-back is not even needed, and a deleted one leaves the
//! caches after [`REMOVED_CONTAINER_GRACE`]. Where the runtime has no event
//! stream (containerd 1.6 answers `Unimplemented`), the lookup on first
//! sight does it all (a CRI container stays queryable after it exits, until
//! the kubelet, or whoever created it, removes it), and every
//! [`CRI_SWEEP_INTERVAL`] the runtime's containers and sandboxes are
//! listed: one it answered for that is no longer listed is reported
//! removed, as a delete event would have.
//!
//! A lookup asks `ContainerStatus` (verbose), then the pod's
//! `PodSandboxStatus` (cached per pod, [`MAX_CRI_PODS`]); an id that is no
//! container but a sandbox is the pod's own pause container. Answers are
//! cached until the runtime reports the container deleted.
//!
//! Faults: a socket that is missing, refuses, does not speak gRPC, answers
//! too slowly ([`RUNTIME_REQUEST_TIMEOUT`], [`CRI_CONNECT_TIMEOUT`]) or
//! disappears is marked down with one warning, and tried again with a
//! backoff from [`CRI_RECONNECT_MIN`] to [`CRI_RECONNECT_MAX`]; while it is
//! down its lookups fail at once with the same reason for every container
//! (the engine counts each as `meta_misses` and warns once). Answers that
//! do not decode fail that lookup only.
//!
//! It is not a Kubernetes API client: what only the API server knows
//! (deployments, services, namespace labels) is not here.
//!
//! # Fields
//!
//! | field | from |
//! |---|---|
//! | `container.id`, `container.full_id` | the cgroup path (before any answer) |
//! | `container.name` | `ContainerStatus.metadata.name` (the pod's name for its sandbox) |
//! | `container.type` | the runtime's `Version.runtime_name`: `containerd`, `cri-o` |
//! | `container.image` | `ContainerStatus.image.image`, else containerd's `info.config.image.image`, else `image_ref` |
//! | `container.image.repository`, `.tag` | split from `container.image` |
//! | `container.image.digest` | the image reference's `@sha256:…`, else `image_ref`'s (CRI-O's repo digest); empty when the runtime gives only an image id (containerd with images imported without a registry) |
//! | `container.image.id` | `ContainerStatus.image_id`, else an `image_ref` of the form `sha256:…`, 12 hex digits |
//! | `container.privileged` | containerd: `info.config.linux.security_context.privileged`; CRI-O: `info.privileged`. False when the runtime gives no verbose info |
//! | `container.mounts`, `container.mount.*` | `ContainerStatus.mounts`: host path, container path, `ro`/`rw`, propagation (`private`, `rslave`, `rshared`) |
//! | `container.start_ts` | `ContainerStatus.started_at`, else `created_at` |
//! | `container.labels`, `container.label[K]` | `ContainerStatus.labels` |
//! | `Container.cmdline` (on the wire; no Falco field) | `info.runtimeSpec.process.args`, else containerd's `info.config.command` + `args` |
//! | `container.ip`, `k8s.pod.ip` | `PodSandboxStatus.network.ip` (IPv4 or IPv6 as given; additional IPs are not kept) |
//! | `container.host_network`, `.host_pid`, `.host_ipc` | the sandbox's namespace options: `NODE` |
//! | `Container.podSandbox` (on the wire; Falco shows it as `container.id` = `k8s.pod.sandbox_id`) | true when the id is a sandbox's (`PodSandboxStatus` knows it, `ContainerStatus` does not) |
//! | `k8s.pod.name`, `k8s.ns.name`, `k8s.pod.uid` | `PodSandboxStatus.metadata` (else the kubelet's `io.kubernetes.pod.*` labels on the container; the uid also from a kubepods cgroup path) |
//! | `k8s.pod.labels`, `k8s.pod.label[K]` | `PodSandboxStatus.labels` |
//! | `k8s.pod.sandbox_id`, `k8s.pod.full_sandbox_id` | the sandbox id: containerd's and CRI-O's `info.sandboxID`, else `ListContainers`' `pod_sandbox_id` |
//!
//! Not given by CRI, so empty: `container.healthcheck` and the probes (the
//! kubelet runs them, the runtime does not know them), `k8s.pod.cni.json`
//! (not carried; CNI results are in containerd's sandbox info only), pod
//! and container annotations (read, not kept: no field shows them),
//! `container.image.digest` for images without a repo digest. With a
//! runtime that does not answer verbose (`info` empty), privileged, the
//! command line and (unless `ListContainers` answers) the pod are unknown.

pub mod parse;
pub mod proto;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use rustc_hash::{FxHashMap, FxHashSet};
use tokio::net::UnixStream;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

use crate::engine::{FetchRequest, MetaUpdate};
use crate::limits::{
    CRI_CONNECT_TIMEOUT, CRI_RECONNECT_MAX, CRI_RECONNECT_MIN, CRI_SWEEP_INTERVAL, MAX_CONTAINERS,
    MAX_CRI_MESSAGE_BYTES, MAX_CRI_PODS, REMOVED_CONTAINER_GRACE, RUNTIME_REQUEST_TIMEOUT,
};
use crate::tables::cgroup::Runtime;
use crate::tables::containers::ContainerMeta;
use parse::PodPart;
use proto::runtime_service_client::RuntimeServiceClient;

/// The sockets used when none is given: containerd's, CRI-O's and k3s's
/// containerd's default paths. Only those that exist at start are used.
pub const WELL_KNOWN_SOCKETS: [&str; 3] = [
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/k3s/containerd/containerd.sock",
];

/// The CRI sockets to use: those `given` (`--cri-socket`), else the
/// [`WELL_KNOWN_SOCKETS`] that exist; none with `disabled` (`--no-cri`).
pub fn sockets(given: &[PathBuf], disabled: bool) -> Vec<PathBuf> {
    sockets_among(given, disabled, &WELL_KNOWN_SOCKETS.map(PathBuf::from))
}

/// [`sockets`] with another list of well-known paths, for tests.
pub fn sockets_among(given: &[PathBuf], disabled: bool, well_known: &[PathBuf]) -> Vec<PathBuf> {
    if disabled {
        return Vec::new();
    }
    if !given.is_empty() {
        return given.to_vec();
    }
    well_known.iter().filter(|p| p.exists()).cloned().collect()
}

/// Where the engine's requests for CRI containers go.
#[derive(Clone)]
pub struct Cri {
    tx: UnboundedSender<FetchRequest>,
}

impl Cri {
    /// Queues a lookup; false when the client has stopped.
    pub fn ask(&self, req: FetchRequest) -> bool {
        self.tx.send(req).is_ok()
    }
}

/// Starts the client on `paths`; answers and removals go to `updates`.
pub fn start(paths: Vec<PathBuf>, updates: Sender<MetaUpdate>) -> std::io::Result<Cri> {
    for p in &paths {
        if !p.exists() {
            tracing::warn!(
                "CRI socket {} does not exist; its containers will have no metadata until it appears",
                p.display()
            );
        }
    }
    let (tx, rx) = unbounded_channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("enrich-cri".into())
        .spawn(move || {
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, serve(paths, rx, updates));
        })?;
    Ok(Cri { tx })
}

/// One CRI socket and the state of its connection.
struct Socket {
    path: PathBuf,
    conn: tokio::sync::Mutex<Conn>,
    /// What `container.type` its runtime said when last connected; empty
    /// before.
    kind: RefCell<String>,
    /// The containers and sandboxes this socket answered for: what a sweep
    /// looks for in the runtime's lists.
    answered: RefCell<Bounded<()>>,
}

#[derive(Default)]
struct Conn {
    /// The connected client and what `container.type` says for its answers.
    client: Option<(RuntimeServiceClient<Channel>, String)>,
    /// Down until then (after a failure), and the next wait.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// The failure that made it go down, warned once.
    down_because: Option<String>,
}

/// Why one socket gave no answer.
#[derive(Debug)]
enum Miss {
    /// It does not know the id.
    NotFound,
    /// It is down; the reason is the same for every container.
    Down(String),
    /// It answered, but not usably, for this container.
    Bad(String),
}

/// The state shared by the client's tasks (all on one thread).
struct Client {
    sockets: Vec<Rc<Socket>>,
    updates: Sender<MetaUpdate>,
    answers: RefCell<Bounded<ContainerMeta>>,
    pods: RefCell<Bounded<PodPart>>,
}

/// A map that keeps at most `max` entries, dropping the oldest.
struct Bounded<V> {
    map: FxHashMap<String, V>,
    order: VecDeque<String>,
    max: usize,
}

impl<V: Clone> Bounded<V> {
    fn new(max: usize) -> Self {
        Bounded {
            map: FxHashMap::default(),
            order: VecDeque::new(),
            max,
        }
    }

    fn get(&self, k: &str) -> Option<V> {
        self.map.get(k).cloned()
    }

    fn insert(&mut self, k: String, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
        }
        while self.map.len() > self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    fn remove(&mut self, k: &str) {
        if self.map.remove(k).is_some() {
            self.order.retain(|o| o != k);
        }
    }
}

async fn serve(
    paths: Vec<PathBuf>,
    mut rx: UnboundedReceiver<FetchRequest>,
    updates: Sender<MetaUpdate>,
) {
    let client = Rc::new(Client {
        sockets: paths
            .into_iter()
            .map(|path| {
                Rc::new(Socket {
                    path,
                    conn: tokio::sync::Mutex::new(Conn {
                        backoff: CRI_RECONNECT_MIN,
                        ..Conn::default()
                    }),
                    kind: RefCell::new(String::new()),
                    answered: RefCell::new(Bounded::new(MAX_CONTAINERS)),
                })
            })
            .collect(),
        updates,
        answers: RefCell::new(Bounded::new(MAX_CONTAINERS)),
        pods: RefCell::new(Bounded::new(MAX_CRI_PODS)),
    });
    for s in &client.sockets {
        tokio::task::spawn_local(follow_events(client.clone(), s.clone()));
    }
    while let Some(req) = rx.recv().await {
        let client = client.clone();
        tokio::task::spawn_local(async move {
            let result = client.fetch(&req.full_id, req.runtime).await;
            let _ = client.updates.send(MetaUpdate::Fetched {
                full_id: req.full_id,
                result: result.map(Box::new),
            });
        });
    }
}

/// What `container.type` says for a runtime's `Version.runtime_name`.
fn runtime_type(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.contains("containerd") {
        "containerd".into()
    } else if lower.contains("cri-o") || lower == "crio" {
        "cri-o".into()
    } else {
        lower
    }
}

/// Connects to the socket at `path` and asks its runtime's name.
async fn connect(path: &Path) -> Result<(RuntimeServiceClient<Channel>, String), String> {
    let target = path.to_path_buf();
    // The URI is required by the API and unused: the connector dials the
    // socket.
    let endpoint = Endpoint::from_static("http://cri.invalid")
        .connect_timeout(CRI_CONNECT_TIMEOUT)
        .timeout(RUNTIME_REQUEST_TIMEOUT);
    let connecting = endpoint.connect_with_connector(tower::service_fn(move |_| {
        let target = target.clone();
        async move { UnixStream::connect(target).await.map(TokioIo::new) }
    }));
    let channel = tokio::time::timeout(CRI_CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| format!("no connection within {CRI_CONNECT_TIMEOUT:?}"))?
        .map_err(|e| error_chain(&e))?;
    let mut client =
        RuntimeServiceClient::new(channel).max_decoding_message_size(MAX_CRI_MESSAGE_BYTES);
    let version = tokio::time::timeout(
        RUNTIME_REQUEST_TIMEOUT,
        client.version(proto::VersionRequest {
            version: "v1".into(),
        }),
    )
    .await
    .map_err(|_| format!("no answer to Version within {RUNTIME_REQUEST_TIMEOUT:?}"))?
    .map_err(|s| match s.code() {
        Code::Unimplemented => "does not serve CRI runtime.v1".to_string(),
        _ => status_text(&s),
    })?
    .into_inner();
    Ok((client, runtime_type(&version.runtime_name)))
}

/// An error with its causes, one line (hyper's and tonic's errors put the
/// reason in their sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn status_text(s: &tonic::Status) -> String {
    let msg = s.message();
    if msg.is_empty() {
        format!("{:?}", s.code())
    } else {
        format!("{:?}: {msg}", s.code())
    }
}

/// True for a status that says the connection, not the request, failed.
fn is_transport(s: &tonic::Status) -> bool {
    matches!(
        s.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown
    )
}

impl Socket {
    /// The connected client, connecting when the backoff allows; Err with
    /// the reason (the same for every caller) while down.
    async fn client(&self) -> Result<(RuntimeServiceClient<Channel>, String), String> {
        let mut c = self.conn.lock().await;
        if let Some(client) = &c.client {
            return Ok(client.clone());
        }
        if let (Some(at), Some(why)) = (c.retry_at, &c.down_because) {
            if Instant::now() < at {
                return Err(why.clone());
            }
        }
        match connect(&self.path).await {
            Ok(client) => {
                if c.down_because.take().is_some() {
                    tracing::warn!("CRI socket {}: reachable again", self.path.display());
                }
                c.retry_at = None;
                c.backoff = CRI_RECONNECT_MIN;
                self.kind.replace(client.1.clone());
                c.client = Some(client.clone());
                Ok(client)
            }
            Err(e) => Err(self.down(&mut c, e)),
        }
    }

    /// Marks the socket down after a failure `e`; returns the reason every
    /// lookup gives until it is back.
    fn down(&self, c: &mut Conn, e: String) -> String {
        c.client = None;
        c.retry_at = Some(Instant::now() + c.backoff);
        c.backoff = (c.backoff * 2).min(CRI_RECONNECT_MAX);
        let why = format!("CRI socket {} unavailable", self.path.display());
        if c.down_because.is_none() {
            tracing::warn!(
                "CRI socket {}: {e}; retrying with backoff up to {CRI_RECONNECT_MAX:?}, \
                 its containers have no metadata meanwhile",
                self.path.display()
            );
            c.down_because = Some(why.clone());
        }
        why
    }

    /// Takes the socket down after a call failed at the transport.
    async fn failed(&self, e: String) -> String {
        let mut c = self.conn.lock().await;
        self.down(&mut c, e)
    }

    /// Classifies a failed call.
    async fn miss(&self, call: &str, s: tonic::Status) -> Miss {
        if s.code() == Code::NotFound {
            Miss::NotFound
        } else if is_transport(&s) {
            Miss::Down(self.failed(format!("{call}: {}", status_text(&s))).await)
        } else {
            Miss::Bad(format!(
                "CRI socket {}: {call}: {}",
                self.path.display(),
                status_text(&s)
            ))
        }
    }
}

impl Client {
    /// Asks each socket for `id`, the one whose runtime matches the
    /// cgroup's first.
    async fn fetch(&self, id: &str, runtime: Runtime) -> Result<ContainerMeta, String> {
        if let Some(m) = self.answers.borrow().get(id) {
            return Ok(m);
        }
        let mut order: Vec<&Rc<Socket>> = self.sockets.iter().collect();
        // A CRI-O cgroup is asked of CRI-O sockets first, containerd's of
        // the others: by the runtime's own name once connected, by the
        // socket's path before.
        let crio = |s: &Socket| match s.kind.borrow().as_str() {
            "" => s.path.to_string_lossy().contains("crio"),
            k => k == "cri-o",
        };
        order.sort_by_key(|s| crio(s) != (runtime == Runtime::CriO));
        let mut why = Vec::new();
        for s in order {
            match self.lookup(s, id).await {
                Ok(m) => return Ok(m),
                Err(Miss::NotFound) => {
                    why.push(format!("CRI socket {}: not found", s.path.display()))
                }
                Err(Miss::Down(w) | Miss::Bad(w)) => why.push(w),
            }
        }
        Err(why.join("; "))
    }

    /// One socket's answer for `id`, cached.
    async fn lookup(&self, s: &Socket, id: &str) -> Result<ContainerMeta, Miss> {
        let m = self.ask(s, id).await?;
        self.answers.borrow_mut().insert(id.to_string(), m.clone());
        s.answered.borrow_mut().insert(id.to_string(), ());
        Ok(m)
    }

    /// One socket's answer for `id`: a container, or a pod's sandbox.
    async fn ask(&self, s: &Socket, id: &str) -> Result<ContainerMeta, Miss> {
        let (mut c, kind) = s.client().await.map_err(Miss::Down)?;
        let status = c
            .container_status(proto::ContainerStatusRequest {
                container_id: id.to_string(),
                verbose: true,
            })
            .await;
        let resp = match status {
            Ok(r) => r.into_inner(),
            Err(e) if e.code() == Code::NotFound => {
                return self.lookup_sandbox(s, &mut c, &kind, id).await;
            }
            Err(e) => return Err(s.miss("ContainerStatus", e).await),
        };
        let sandbox = match parse::sandbox_id_of(&resp) {
            Some(sid) => Some(sid),
            None => self.sandbox_of(s, &mut c, id).await,
        };
        let pod = match sandbox {
            Some(sid) => self.pod(s, &mut c, &sid).await,
            None => None,
        };
        parse::container(&resp, pod.as_ref(), &kind)
            .map_err(|e| Miss::Bad(format!("CRI socket {}: {e}", s.path.display())))
    }

    /// `id` as a pod's sandbox (its pause container), if it is one.
    async fn lookup_sandbox(
        &self,
        s: &Socket,
        c: &mut RuntimeServiceClient<Channel>,
        kind: &str,
        id: &str,
    ) -> Result<ContainerMeta, Miss> {
        let resp = c
            .pod_sandbox_status(proto::PodSandboxStatusRequest {
                pod_sandbox_id: id.to_string(),
                verbose: true,
            })
            .await;
        match resp {
            Ok(r) => {
                let r = r.into_inner();
                if let Some(p) = parse::pod(&r) {
                    self.pods.borrow_mut().insert(id.to_string(), p);
                }
                parse::sandbox(&r, kind)
                    .map_err(|e| Miss::Bad(format!("CRI socket {}: {e}", s.path.display())))
            }
            Err(e) => Err(s.miss("PodSandboxStatus", e).await),
        }
    }

    /// The sandbox of container `id` from `ListContainers`, for runtimes
    /// whose status info does not name it.
    async fn sandbox_of(
        &self,
        s: &Socket,
        c: &mut RuntimeServiceClient<Channel>,
        id: &str,
    ) -> Option<String> {
        let req = proto::ListContainersRequest {
            filter: Some(proto::ContainerFilter {
                id: id.to_string(),
                ..Default::default()
            }),
        };
        match c.list_containers(req).await {
            Ok(r) => r
                .into_inner()
                .containers
                .into_iter()
                .find(|k| k.id == id)
                .map(|k| k.pod_sandbox_id)
                .filter(|s| !s.is_empty()),
            Err(e) => {
                tracing::debug!("CRI socket {}: ListContainers: {e}", s.path.display());
                None
            }
        }
    }

    /// Pod `sid`'s part, cached.
    async fn pod(
        &self,
        s: &Socket,
        c: &mut RuntimeServiceClient<Channel>,
        sid: &str,
    ) -> Option<PodPart> {
        if let Some(p) = self.pods.borrow().get(sid) {
            return Some(p);
        }
        let resp = c
            .pod_sandbox_status(proto::PodSandboxStatusRequest {
                pod_sandbox_id: sid.to_string(),
                verbose: false,
            })
            .await;
        match resp {
            Ok(r) => {
                let p = parse::pod(&r.into_inner())?;
                self.pods.borrow_mut().insert(sid.to_string(), p.clone());
                Some(p)
            }
            Err(e) => {
                tracing::debug!("CRI socket {}: PodSandboxStatus: {e}", s.path.display());
                None
            }
        }
    }

    /// Tells the engine container `id` is gone and forgets it once its last
    /// events have had time to arrive; false when the engine is gone.
    fn report_removed(self: &Rc<Self>, id: String) -> bool {
        if self.updates.send(MetaUpdate::Removed(id.clone())).is_err() {
            return false;
        }
        self.forget_later(id);
        true
    }

    /// Forgets a deleted container once its last events have had time to
    /// arrive.
    fn forget_later(self: &Rc<Self>, id: String) {
        let me = self.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(REMOVED_CONTAINER_GRACE).await;
            me.answers.borrow_mut().remove(&id);
            me.pods.borrow_mut().remove(&id);
        });
    }
}

/// Follows one socket's container events while it has them: looks up
/// created and started containers before their events ask, and reports
/// deleted ones.
async fn follow_events(client: Rc<Client>, socket: Rc<Socket>) {
    use proto::ContainerEventType as T;
    loop {
        let (mut c, _) = match socket.client().await {
            Ok(c) => c,
            Err(_) => {
                wait_retry(&socket).await;
                continue;
            }
        };
        let mut stream = match c.get_container_events(proto::GetEventsRequest {}).await {
            Ok(s) => s.into_inner(),
            Err(e) if e.code() == Code::Unimplemented => {
                tracing::info!(
                    "CRI socket {}: no container event stream; containers are looked up on first sight \
                     and listed every {CRI_SWEEP_INTERVAL:?} to find the ones removed",
                    socket.path.display()
                );
                return sweep_removed(client, socket).await;
            }
            Err(e) => {
                if is_transport(&e) {
                    socket
                        .failed(format!("GetContainerEvents: {}", status_text(&e)))
                        .await;
                }
                wait_retry(&socket).await;
                continue;
            }
        };
        loop {
            let ev = match stream.message().await {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => {
                    socket
                        .failed(format!("container event stream: {}", status_text(&e)))
                        .await;
                    break;
                }
            };
            let id = ev.container_id;
            match T::try_from(ev.container_event_type) {
                Ok(T::ContainerCreatedEvent | T::ContainerStartedEvent) => {
                    let client = client.clone();
                    let socket = socket.clone();
                    tokio::task::spawn_local(async move {
                        if client.answers.borrow().get(&id).is_some() {
                            return;
                        }
                        if let Ok(m) = client.lookup(&socket, &id).await {
                            let _ = client.updates.send(MetaUpdate::Fetched {
                                full_id: id,
                                result: Ok(Box::new(m)),
                            });
                        }
                    });
                }
                Ok(T::ContainerDeletedEvent) if !client.report_removed(id) => return,
                _ => {}
            }
        }
        wait_retry(&socket).await;
    }
}

/// For a runtime without an event stream: every [`CRI_SWEEP_INTERVAL`],
/// reports removed the containers and sandboxes this socket answered for
/// that the runtime no longer lists.
async fn sweep_removed(client: Rc<Client>, socket: Rc<Socket>) {
    // A list the runtime refuses (or one over MAX_CRI_MESSAGE_BYTES, on a
    // node with very many containers) is warned of once: removed containers
    // then leave the caches only by their bound.
    let mut warned = false;
    loop {
        tokio::time::sleep(CRI_SWEEP_INTERVAL).await;
        if socket.answered.borrow().map.is_empty() {
            continue;
        }
        let Ok((mut c, _)) = socket.client().await else {
            continue;
        };
        let containers = c
            .list_containers(proto::ListContainersRequest { filter: None })
            .await;
        let sandboxes = c
            .list_pod_sandbox(proto::ListPodSandboxRequest { filter: None })
            .await;
        let (containers, sandboxes) = match (containers, sandboxes) {
            (Ok(c), Ok(s)) => (c.into_inner().containers, s.into_inner().items),
            (Err(e), _) | (_, Err(e)) => {
                if is_transport(&e) {
                    socket
                        .failed(format!("listing containers: {}", status_text(&e)))
                        .await;
                } else if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(
                        "CRI socket {}: cannot list containers to find removed ones ({}); \
                         they leave the caches only when full",
                        socket.path.display(),
                        status_text(&e)
                    );
                }
                continue;
            }
        };
        let live: FxHashSet<String> = containers
            .into_iter()
            .map(|c| c.id)
            .chain(sandboxes.into_iter().map(|s| s.id))
            .collect();
        let gone: Vec<String> = socket
            .answered
            .borrow()
            .map
            .keys()
            .filter(|id| !live.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            socket.answered.borrow_mut().remove(&id);
            if !client.report_removed(id) {
                return;
            }
        }
    }
}

/// Sleeps until the socket may be tried again (at least the shortest
/// backoff, so that a stream that ends at once does not spin).
async fn wait_retry(socket: &Socket) {
    let at = socket.conn.lock().await.retry_at;
    let now = Instant::now();
    let wait = at
        .map(|t| t.saturating_duration_since(now))
        .unwrap_or_default()
        .max(CRI_RECONNECT_MIN);
    tokio::time::sleep(wait).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names() {
        assert_eq!(runtime_type("containerd"), "containerd");
        assert_eq!(runtime_type("cri-o"), "cri-o");
        assert_eq!(runtime_type("CRI-O"), "cri-o");
        assert_eq!(runtime_type("k3s-containerd"), "containerd");
    }
}
