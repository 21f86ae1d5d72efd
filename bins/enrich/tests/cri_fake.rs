//! The CRI client against a fake runtime: a tonic server on a temporary
//! Unix socket that answers as CRI-O does (no CRI-O package exists here),
//! with hand-written answers, and sockets that misbehave: missing, not
//! speaking gRPC, too slow, gone and back. Requests go in as the engine
//! sends them (`enrich::runtime::start`), answers come out as the engine
//! receives them.
//!
//! Also: CRI-O's cgroup layout, socket selection, and the enrich binary
//! with an unreachable CRI socket (one warning, every event still out, the
//! misses counted in-band).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use enrich::input::Msg;
use enrich::runtime::cri::proto::{
    self,
    runtime_service_server::{RuntimeService, RuntimeServiceServer},
};
use enrich::tables::cgroup::{from_path, Runtime};
use enrich::tables::containers::ContainerMeta;
use enrich::{FetchRequest, MetaUpdate};
use tonic::{Request, Response, Status};

const CID: &str = "c0ffee0000000000000000000000000000000000000000000000000000000001";
const CID_GONE: &str = "c0ffee0000000000000000000000000000000000000000000000000000000002";
const SID: &str = "5a4db0c000000000000000000000000000000000000000000000000000000001";
const UNKNOWN: &str = "0000000000000000000000000000000000000000000000000000000000000bad";

/// What the fake runtime does.
#[derive(Clone, Default)]
struct Fake {
    /// Answers ContainerStatus only after this long.
    delay: Duration,
    /// Streams these container events, then ends the stream.
    events: Vec<(String, proto::ContainerEventType)>,
    /// Set once the event stream has been asked for.
    followed: Arc<AtomicBool>,
    /// Answers `Unimplemented` to the event stream, as containerd 1.6.
    no_events: bool,
    /// What `ListContainers` answers.
    listed: Arc<std::sync::Mutex<Vec<String>>>,
}

fn container_status(id: &str) -> proto::ContainerStatusResponse {
    // CRI-O's verbose info: sandboxID, privileged and the OCI spec at the
    // top level.
    let info = serde_json::json!({
        "sandboxID": SID,
        "pid": 4321,
        "privileged": true,
        "runtimeSpec": {"process": {"args": ["nginx", "-g", "daemon off;"]}}
    });
    proto::ContainerStatusResponse {
        status: Some(proto::ContainerStatus {
            id: id.into(),
            metadata: Some(proto::ContainerMetadata {
                name: "nginx".into(),
                attempt: 0,
            }),
            state: proto::ContainerState::ContainerRunning as i32,
            created_at: 1_700_000_000_000_000_000,
            started_at: 1_700_000_000_500_000_000,
            image: Some(proto::ImageSpec {
                image: "quay.io/shop/nginx:1.27".into(),
                ..Default::default()
            }),
            image_ref: "quay.io/shop/nginx@sha256:abcdef0123456789".into(),
            labels: HashMap::from([(
                "io.kubernetes.container.name".to_string(),
                "nginx".to_string(),
            )]),
            mounts: vec![proto::Mount {
                container_path: "/var/log".into(),
                host_path: "/var/log/pods/x".into(),
                readonly: false,
                propagation: proto::MountPropagation::PropagationBidirectional as i32,
                ..Default::default()
            }],
            ..Default::default()
        }),
        info: HashMap::from([("info".to_string(), info.to_string())]),
    }
}

fn sandbox_status() -> proto::PodSandboxStatusResponse {
    proto::PodSandboxStatusResponse {
        status: Some(proto::PodSandboxStatus {
            id: SID.into(),
            metadata: Some(proto::PodSandboxMetadata {
                name: "shop-7f9c".into(),
                uid: "8d3c1e2a-0000-4000-8000-000000000001".into(),
                namespace: "shop".into(),
                attempt: 0,
            }),
            state: proto::PodSandboxState::SandboxReady as i32,
            network: Some(proto::PodSandboxNetworkStatus {
                ip: "10.88.0.7".into(),
                ..Default::default()
            }),
            labels: HashMap::from([("app".to_string(), "shop".to_string())]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

type EventStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::ContainerEventResponse, Status>> + Send>>;

#[tonic::async_trait]
impl RuntimeService for Fake {
    async fn version(
        &self,
        _: Request<proto::VersionRequest>,
    ) -> Result<Response<proto::VersionResponse>, Status> {
        Ok(Response::new(proto::VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "cri-o".into(),
            runtime_version: "1.31.0".into(),
            runtime_api_version: "v1".into(),
        }))
    }

    async fn container_status(
        &self,
        req: Request<proto::ContainerStatusRequest>,
    ) -> Result<Response<proto::ContainerStatusResponse>, Status> {
        tokio::time::sleep(self.delay).await;
        let id = req.into_inner().container_id;
        if id == CID || id == CID_GONE {
            Ok(Response::new(container_status(&id)))
        } else {
            Err(Status::not_found(format!("container {id} not found")))
        }
    }

    async fn pod_sandbox_status(
        &self,
        req: Request<proto::PodSandboxStatusRequest>,
    ) -> Result<Response<proto::PodSandboxStatusResponse>, Status> {
        if req.into_inner().pod_sandbox_id == SID {
            Ok(Response::new(sandbox_status()))
        } else {
            Err(Status::not_found("no such sandbox"))
        }
    }

    async fn list_containers(
        &self,
        _: Request<proto::ListContainersRequest>,
    ) -> Result<Response<proto::ListContainersResponse>, Status> {
        let listed = self.listed.lock().map(|l| l.clone()).unwrap_or_default();
        Ok(Response::new(proto::ListContainersResponse {
            containers: listed
                .into_iter()
                .map(|id| proto::Container {
                    id,
                    pod_sandbox_id: SID.into(),
                    ..Default::default()
                })
                .collect(),
        }))
    }

    async fn list_pod_sandbox(
        &self,
        _: Request<proto::ListPodSandboxRequest>,
    ) -> Result<Response<proto::ListPodSandboxResponse>, Status> {
        Ok(Response::new(proto::ListPodSandboxResponse {
            items: vec![proto::PodSandbox {
                id: SID.into(),
                ..Default::default()
            }],
        }))
    }

    async fn get_container_events(
        &self,
        _: Request<proto::GetEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        self.followed.store(true, Ordering::SeqCst);
        if self.no_events {
            return Err(Status::unimplemented("no event stream"));
        }
        let events: Vec<_> = self
            .events
            .iter()
            .map(|(id, t)| {
                Ok(proto::ContainerEventResponse {
                    container_id: id.clone(),
                    container_event_type: *t as i32,
                    ..Default::default()
                })
            })
            .collect();
        // Ends after the events, as a runtime that restarts would; the
        // client follows it again.
        let stream = tokio_stream::iter(events);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// A fake runtime serving on `path` until dropped.
struct Server {
    /// Runs the server; dropped last, which ends it.
    _rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    fn start(path: &Path, fake: Fake) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let _ = std::fs::remove_file(path);
        let listener = {
            let _g = rt.enter();
            tokio::net::UnixListener::bind(path).expect("bind the fake CRI socket")
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(RuntimeServiceServer::new(fake))
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
        Server {
            _rt: rt,
            stop: Some(stop),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The runtime clients as the engine runs them, on the CRI sockets only.
struct Clients {
    tx: std::sync::mpsc::Sender<FetchRequest>,
    rx: Receiver<Msg>,
}

impl Clients {
    fn start(cri: &[PathBuf]) -> Clients {
        let (utx, rx) = sync_channel(64);
        let sockets = enrich::runtime::Sockets {
            cri: cri.to_vec(),
            ..Default::default()
        };
        let tx = enrich::runtime::start(&sockets, utx).expect("a client for a CRI socket");
        Clients { tx, rx }
    }

    fn ask(&self, id: &str, runtime: Runtime) {
        self.tx
            .send(FetchRequest {
                full_id: id.into(),
                runtime,
            })
            .unwrap();
    }

    fn next(&self, within: Duration) -> MetaUpdate {
        match self.rx.recv_timeout(within) {
            Ok(Msg::Update(u)) => u,
            Ok(_) => panic!("not an update"),
            Err(e) => panic!("no update within {within:?}: {e}"),
        }
    }

    /// Asks for `id` and returns the answer for it.
    fn fetch(&self, id: &str, runtime: Runtime) -> Result<ContainerMeta, String> {
        self.ask(id, runtime);
        loop {
            match self.next(Duration::from_secs(10)) {
                MetaUpdate::Fetched { full_id, result } if full_id == id => {
                    return result.map(|m| *m)
                }
                _ => continue,
            }
        }
    }
}

fn sock(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn a_cri_o_container_and_its_pod_from_a_fake_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "crio.sock");
    let _server = Server::start(&path, Fake::default());
    let c = Clients::start(std::slice::from_ref(&path));
    let m = c.fetch(CID, Runtime::CriO).expect("metadata");
    assert_eq!(m.runtime, "cri-o");
    assert_eq!(m.name, "nginx");
    assert_eq!(m.image_repository, "quay.io/shop/nginx");
    assert_eq!(m.image_tag, "1.27");
    assert_eq!(m.image_digest, "sha256:abcdef0123456789");
    assert!(m.privileged);
    assert_eq!(m.cmdline, "nginx -g daemon off;");
    assert_eq!(m.start_ts_ns, 1_700_000_000_500_000_000);
    assert_eq!(m.mounts[0].source, "/var/log/pods/x");
    assert_eq!(m.mounts[0].propagation, "rshared");
    assert!(m.mounts[0].rw);
    assert_eq!(m.ip, "10.88.0.7");
    let pod = m.pod.expect("the pod");
    assert_eq!(pod.name, "shop-7f9c");
    assert_eq!(pod.namespace, "shop");
    assert_eq!(pod.uid, "8d3c1e2a-0000-4000-8000-000000000001");
    assert_eq!(pod.sandbox_id, SID);
    assert_eq!(pod.labels, [("app".to_string(), "shop".to_string())]);
    assert!(!m.pod_sandbox);

    // The pod's own pause container: a sandbox id, no container.
    let s = c.fetch(SID, Runtime::CriO).expect("the sandbox");
    assert!(s.pod_sandbox);
    assert_eq!(s.name, "shop-7f9c");
    assert_eq!(s.pod.map(|p| p.namespace).as_deref(), Some("shop"));

    let e = c.fetch(UNKNOWN, Runtime::CriO).unwrap_err();
    assert!(e.contains("not found"), "{e}");
}

#[test]
fn docker_containers_are_unasked_when_only_cri_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "crio.sock");
    let _server = Server::start(&path, Fake::default());
    let c = Clients::start(&[path]);
    c.ask(CID, Runtime::Docker);
    match c.next(Duration::from_secs(5)) {
        MetaUpdate::Unasked(id) => assert_eq!(id, CID),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_event_stream_reports_created_containers_before_they_are_asked_and_deleted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "crio.sock");
    let fake = Fake {
        events: vec![
            (
                CID_GONE.to_string(),
                proto::ContainerEventType::ContainerCreatedEvent,
            ),
            (
                CID_GONE.to_string(),
                proto::ContainerEventType::ContainerDeletedEvent,
            ),
        ],
        ..Fake::default()
    };
    let _server = Server::start(&path, fake);
    let c = Clients::start(&[path]);
    let (mut fetched, mut removed) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(fetched && removed) && Instant::now() < deadline {
        match c.next(Duration::from_secs(10)) {
            MetaUpdate::Fetched { full_id, result } if full_id == CID_GONE => {
                assert_eq!(result.expect("metadata").name, "nginx");
                fetched = true;
            }
            MetaUpdate::Removed(id) if id == CID_GONE => removed = true,
            _ => {}
        }
    }
    assert!(fetched && removed, "fetched {fetched}, removed {removed}");
}

#[test]
fn without_an_event_stream_containers_the_runtime_no_longer_lists_are_reported_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "containerd.sock");
    let listed = Arc::new(std::sync::Mutex::new(vec![
        CID.to_string(),
        CID_GONE.to_string(),
    ]));
    let fake = Fake {
        no_events: true,
        listed: listed.clone(),
        ..Fake::default()
    };
    let _server = Server::start(&path, fake);
    let c = Clients::start(&[path]);
    assert_eq!(c.fetch(CID, Runtime::Containerd).unwrap().name, "nginx");
    assert_eq!(
        c.fetch(CID_GONE, Runtime::Containerd).unwrap().name,
        "nginx"
    );
    // The kubelet removes one of them.
    listed.lock().unwrap().retain(|id| id != CID_GONE);
    let deadline = Instant::now() + enrich::limits::CRI_SWEEP_INTERVAL * 3;
    let mut removed = Vec::new();
    while Instant::now() < deadline && removed.is_empty() {
        if let Ok(Msg::Update(MetaUpdate::Removed(id))) =
            c.rx.recv_timeout(Duration::from_millis(200))
        {
            removed.push(id);
        }
    }
    assert_eq!(
        removed,
        vec![CID_GONE.to_string()],
        "only the one no longer listed"
    );
    // Nothing else goes in the next sweep either.
    let quiet = Instant::now() + enrich::limits::CRI_SWEEP_INTERVAL + Duration::from_secs(1);
    while Instant::now() < quiet {
        if let Ok(Msg::Update(MetaUpdate::Removed(id))) =
            c.rx.recv_timeout(Duration::from_millis(200))
        {
            panic!("{id} reported removed while still listed");
        }
    }
}

#[test]
fn a_missing_socket_fails_fast_with_one_reason_and_is_found_once_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "late.sock");
    let c = Clients::start(std::slice::from_ref(&path));
    let first = c.fetch(CID, Runtime::CriO).unwrap_err();
    assert!(first.contains("unavailable"), "{first}");
    let t = Instant::now();
    let second = c.fetch(CID_GONE, Runtime::CriO).unwrap_err();
    assert_eq!(first, second, "the same reason for every container");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // The runtime comes up: within the longest backoff the client finds it.
    let _server = Server::start(&path, Fake::default());
    let deadline = Instant::now() + enrich::limits::CRI_RECONNECT_MAX * 2;
    loop {
        match c.fetch(CID, Runtime::CriO) {
            Ok(m) => {
                assert_eq!(m.name, "nginx");
                break;
            }
            Err(e) if Instant::now() < deadline => {
                assert!(e.contains("unavailable"), "{e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("still failing: {e}"),
        }
    }
}

#[test]
fn a_socket_that_goes_away_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "crio.sock");
    let server = Server::start(&path, Fake::default());
    let c = Clients::start(std::slice::from_ref(&path));
    assert!(c.fetch(CID, Runtime::CriO).is_ok());
    drop(server);
    std::fs::remove_file(&path).ok();
    // Answers already had stay cached; a new container finds no runtime.
    assert!(c.fetch(CID, Runtime::CriO).is_ok(), "cached answer");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = c.fetch(SID, Runtime::CriO);
        if e.as_ref().is_err_and(|e| e.contains("unavailable")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the socket's loss went unnoticed: {e:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _server = Server::start(&path, Fake::default());
    let deadline = Instant::now() + enrich::limits::CRI_RECONNECT_MAX * 2;
    while c.fetch(SID, Runtime::CriO).is_err() {
        assert!(Instant::now() < deadline, "not reconnected");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_socket_that_is_not_grpc_gives_no_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "garbage.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        for conn in listener.incoming().take(16) {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n\x00\xff garbage \xfe\xfd");
        }
    });
    let c = Clients::start(&[path]);
    let t = Instant::now();
    let e = c.fetch(CID, Runtime::Containerd).unwrap_err();
    assert!(e.contains("unavailable"), "{e}");
    assert!(
        t.elapsed() < enrich::limits::CRI_CONNECT_TIMEOUT * 3,
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn a_slow_runtime_times_out_and_events_do_not_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = sock(&dir, "slow.sock");
    let fake = Fake {
        delay: enrich::limits::RUNTIME_REQUEST_TIMEOUT * 3,
        ..Fake::default()
    };
    let _server = Server::start(&path, fake);
    let c = Clients::start(&[path]);
    let t = Instant::now();
    let e = c.fetch(CID, Runtime::CriO).unwrap_err();
    let took = t.elapsed();
    assert!(
        took < enrich::limits::RUNTIME_REQUEST_TIMEOUT * 2,
        "{took:?}: {e}"
    );
    // Marked down: the next container fails at once.
    let t = Instant::now();
    assert!(c.fetch(CID_GONE, Runtime::CriO).is_err());
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn cri_o_cgroup_paths() {
    let id = "ab".repeat(32);
    for path in [
        format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b_3c4d.slice/crio-{id}.scope"),
        format!("/kubepods.slice/kubepods-pod1a2b_3c4d.slice/crio-{id}.scope"),
    ] {
        let c = from_path(&path).unwrap_or_else(|| panic!("no container in {path}"));
        assert_eq!(c.id, id);
        assert_eq!(c.runtime, Runtime::CriO);
        assert_eq!(c.pod_uid.as_deref(), Some("1a2b-3c4d"));
    }
    // The container's monitor is a host process.
    assert_eq!(
        from_path(&format!("/kubepods.slice/crio-conmon-{id}.scope")),
        None
    );
}

#[test]
fn well_known_sockets_are_used_only_when_none_is_given() {
    use enrich::runtime::cri::{sockets, sockets_among, WELL_KNOWN_SOCKETS};
    assert!(WELL_KNOWN_SOCKETS.contains(&"/run/crio/crio.sock"));
    let dir = tempfile::tempdir().unwrap();
    let crio = sock(&dir, "crio.sock");
    let _l = std::os::unix::net::UnixListener::bind(&crio).unwrap();
    let known = [sock(&dir, "containerd.sock"), crio.clone()];
    assert_eq!(
        sockets_among(&[], false, &known),
        std::slice::from_ref(&crio)
    );
    let given = [PathBuf::from("/elsewhere.sock")];
    assert_eq!(sockets_among(&given, false, &known), given);
    assert!(sockets_among(&[], true, &known).is_empty());
    assert!(sockets(&given, true).is_empty());
}

/// `enrich --cri-socket MISSING` over a stream with two containerd
/// containers: every event comes out, each container's metadata counted
/// missing, and the missing socket warned about once, not per container.
#[test]
fn the_binary_with_an_unreachable_cri_socket_warns_once_and_counts_misses() {
    let dir = tempfile::tempdir().unwrap();
    let missing = sock(&dir, "gone.sock");
    let mut st = Stream::new();
    st.snap(&Snap::new(100, 1, "bash"));
    for (pid, id) in [(200, CID), (300, CID_GONE)] {
        let cgroup = format!("0::/kubepods/besteffort/podu-{pid}/{id}");
        exec(&mut st, pid, 100, &["sleep", "1"], 0, &cgroup);
        openat(&mut st, pid, 3, "/etc/hostname");
    }
    // The input stays open a while after the events, as a live capture's
    // would: the answers (failures) arrive before the end of input.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_enrich"))
        .args(["--cri-socket", missing.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start enrich");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&st.bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_secs(1));
    }
    let done = child.wait_with_output().unwrap();
    let (out, err) = (
        done.stdout,
        String::from_utf8_lossy(&done.stderr).into_owned(),
    );
    assert!(done.status.success(), "{err}");
    let ev = events(&out);
    let of = |id: &str| {
        ev.iter()
            .filter(|e| s(e, &["container", "fullId"]) == id)
            .count()
    };
    assert_eq!(of(CID), 3, "containerStart, execve, openat");
    assert_eq!(of(CID_GONE), 3);
    let warnings = err.lines().filter(|l| l.contains("WARN")).count();
    let socket_warnings = err
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("gone.sock"))
        .count();
    // One for the socket missing at start, one for the connection that
    // failed, one for the first container's miss: none per container after.
    assert!(socket_warnings <= 3, "{err}");
    assert_eq!(warnings, socket_warnings, "{err}");
    let frames = frames(&out);
    let last = frames
        .iter()
        .rev()
        .find(|f| f.get("stats").is_some())
        .expect("a stats frame");
    let misses = last["stats"]["counters"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "meta_misses"))
        .and_then(|c| c["value"].as_u64());
    assert_eq!(misses, Some(2), "{last}");
}
