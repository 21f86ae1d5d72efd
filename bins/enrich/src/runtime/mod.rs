//! Container runtime clients: container metadata from Docker-compatible APIs
//! over Unix sockets (dockerd's, podman's) and from CRI runtimes
//! (containerd, CRI-O: [`cri`]), fetched in the background.
//!
//! One thread answers the engine's [`FetchRequest`]s: those for CRI cgroup
//! layouts go to the CRI client when one runs, the others to each Docker
//! API socket in turn (the one matching the cgroup's runtime first); a
//! request no client serves is answered [`MetaUpdate::Unasked`]. One thread per
//! socket follows the runtime's `/events` stream: a created or started
//! container's metadata is fetched before its first events ask for it, and a
//! destroyed container leaves the cache (after a grace period, for its last
//! events still in flight). A socket that is missing or answers garbage
//! gives a warning; events keep flowing without metadata.

pub mod cri;
pub mod http;
pub mod inspect;

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender, SyncSender};

use serde_json::Value;

use crate::engine::{FetchRequest, MetaUpdate};
use crate::input::Msg;
use crate::limits::{RUNTIME_RECONNECT_DELAY, RUNTIME_REQUEST_TIMEOUT};
use crate::tables::cgroup::Runtime;

/// The sockets given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Sockets {
    pub docker: Vec<PathBuf>,
    pub podman: Vec<PathBuf>,
    /// CRI sockets, as chosen by [`cri::sockets`].
    pub cri: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
struct Api {
    path: PathBuf,
    /// "docker" or "podman": what `container.type` says for its answers.
    name: &'static str,
}

/// Every socket given, dockerd's first.
fn apis(sockets: &Sockets) -> Vec<Api> {
    let docker = sockets.docker.iter().map(|p| (p, "docker"));
    let podman = sockets.podman.iter().map(|p| (p, "podman"));
    docker
        .chain(podman)
        .map(|(p, name)| Api {
            path: p.clone(),
            name,
        })
        .collect()
}

/// Starts the clients; updates go to `tx`. Returns where fetch requests go,
/// or None when no socket was given.
pub fn start(sockets: &Sockets, tx: SyncSender<Msg>) -> Option<Sender<FetchRequest>> {
    let apis = apis(sockets);
    if apis.is_empty() && sockets.cri.is_empty() {
        return None;
    }
    for api in &apis {
        if !api.path.exists() {
            tracing::warn!("{} socket {} does not exist; its containers will have no metadata until it appears", api.name, api.path.display());
        }
    }
    // Every report reaches the engine through one forwarding thread: a
    // blocking send from the fetch or event-stream threads would stop them
    // while enrich's input queue is full (a slow downstream), and a
    // container created and removed during that stall would be inspected
    // too late, after the runtime has forgotten it.
    let (updates, updates_rx) = channel::<MetaUpdate>();
    {
        let spawned = std::thread::Builder::new()
            .name("enrich-updates".into())
            .spawn(move || {
                while let Ok(u) = updates_rx.recv() {
                    if tx.send(Msg::Update(u)).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the metadata thread: {e}");
            return None;
        }
    }
    let cri = if sockets.cri.is_empty() {
        None
    } else {
        match cri::start(sockets.cri.clone(), updates.clone()) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("cannot start the CRI client: {e}");
                None
            }
        }
    };
    let (req_tx, req_rx) = channel::<FetchRequest>();
    {
        let apis = apis.clone();
        let updates = updates.clone();
        let spawned = std::thread::Builder::new()
            .name("enrich-fetch".into())
            .spawn(move || fetch_loop(&apis, cri.as_ref(), req_rx, updates));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the metadata thread: {e}");
            return None;
        }
    }
    for api in apis {
        let updates = updates.clone();
        let req_tx = req_tx.clone();
        let name = format!("enrich-events-{}", api.name);
        if let Err(e) = std::thread::Builder::new()
            .name(name)
            .spawn(move || events_loop(&api, req_tx, updates))
        {
            tracing::warn!("cannot start an event stream thread: {e}");
        }
    }
    Some(req_tx)
}

fn fetch_loop(
    apis: &[Api],
    cri: Option<&cri::Cri>,
    rx: Receiver<FetchRequest>,
    updates: Sender<MetaUpdate>,
) {
    while let Ok(req) = rx.recv() {
        if req.runtime.is_cri() {
            if let Some(cri) = cri {
                if cri.ask(req.clone()) {
                    continue;
                }
            }
        }
        if apis.is_empty() {
            if updates.send(MetaUpdate::Unasked(req.full_id)).is_err() {
                return;
            }
            continue;
        }
        let result = fetch(apis, &req).map(Box::new);
        let update = MetaUpdate::Fetched {
            full_id: req.full_id,
            result,
        };
        if updates.send(update).is_err() {
            return;
        }
    }
}

/// Asks each API for container `req.full_id`, the runtime's own first.
pub fn fetch_one(
    sockets: &Sockets,
    full_id: &str,
    runtime: Runtime,
) -> Result<crate::tables::containers::ContainerMeta, String> {
    let apis = apis(sockets);
    fetch(
        &apis,
        &FetchRequest {
            full_id: full_id.to_string(),
            runtime,
        },
    )
}

fn fetch(
    apis: &[Api],
    req: &FetchRequest,
) -> Result<crate::tables::containers::ContainerMeta, String> {
    let preferred = if req.runtime == Runtime::Podman {
        "podman"
    } else {
        "docker"
    };
    let mut order: Vec<&Api> = apis.iter().filter(|a| a.name == preferred).collect();
    order.extend(apis.iter().filter(|a| a.name != preferred));
    let mut why = Vec::new();
    for api in order {
        let path = format!("/containers/{}/json", req.full_id);
        let answer = http::get(&api.path, &path, Some(RUNTIME_REQUEST_TIMEOUT)).and_then(|r| {
            let status = r.status;
            r.body().map(|b| (status, b))
        });
        match answer {
            Ok((200, body)) => match inspect::parse(&body, api.name) {
                Ok(m) => return Ok(m),
                Err(e) => {
                    tracing::warn!("{} socket {}: {e}", api.name, api.path.display());
                    why.push(format!("{}: {e}", api.path.display()));
                }
            },
            Ok((404, _)) => why.push(format!("{}: not found", api.path.display())),
            Ok((status, _)) => why.push(format!("{}: HTTP {status}", api.path.display())),
            Err(e) => {
                tracing::warn!("{} socket {}: {e}", api.name, api.path.display());
                why.push(format!("{}: {e}", api.path.display()));
            }
        }
    }
    Err(why.join("; "))
}

/// `/events` filtered to containers, URL-encoded `{"type":["container"]}`.
const EVENTS_PATH: &str = "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D";

fn events_loop(api: &Api, req_tx: Sender<FetchRequest>, updates: Sender<MetaUpdate>) {
    let runtime = if api.name == "podman" {
        Runtime::Podman
    } else {
        Runtime::Docker
    };
    let mut warned = false;
    loop {
        let result = follow(api, runtime, &req_tx, &updates);
        match result {
            Ok(true) => return,
            Ok(false) => warned = false,
            Err(e) => {
                if !warned {
                    tracing::warn!(
                        "{} event stream on {}: {e}; retrying every {:?}",
                        api.name,
                        api.path.display(),
                        RUNTIME_RECONNECT_DELAY
                    );
                    warned = true;
                }
            }
        }
        std::thread::sleep(RUNTIME_RECONNECT_DELAY);
    }
}

/// Follows one event stream until it ends. Ok(true): enrich is stopping.
fn follow(
    api: &Api,
    runtime: Runtime,
    req_tx: &Sender<FetchRequest>,
    updates: &Sender<MetaUpdate>,
) -> Result<bool, String> {
    let mut resp = http::get(&api.path, EVENTS_PATH, None).map_err(|e| e.to_string())?;
    if resp.status != 200 {
        return Err(format!("HTTP {}", resp.status));
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = resp.read_some(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(false);
        }
        pending.extend_from_slice(&buf[..n]);
        if let Some(stop) = drain_events(&mut pending, |v| on_event(v, runtime, req_tx, updates))? {
            return Ok(stop);
        }
    }
}

/// Gives each whole JSON object at the front of `pending` (an event
/// stream as received so far) to `each`, and drops those it parsed; a
/// partial object stays for the next read. Stops at the first `Some` of
/// `each` and returns it. Err when `pending` has outgrown the body limit
/// without a whole object at its front. pub for fuzzing.
pub fn drain_events(
    pending: &mut Vec<u8>,
    mut each: impl FnMut(&Value) -> Option<bool>,
) -> Result<Option<bool>, String> {
    let mut consumed = 0;
    let mut it = serde_json::Deserializer::from_slice(pending).into_iter::<Value>();
    while let Some(Ok(v)) = it.next() {
        consumed = it.byte_offset();
        if let Some(stop) = each(&v) {
            return Ok(Some(stop));
        }
    }
    if consumed == 0 && pending.len() > crate::limits::MAX_HTTP_BODY_BYTES {
        return Err("event stream sent an oversized or unparseable object".into());
    }
    pending.drain(..consumed);
    Ok(None)
}

/// Acts on one runtime event; Some(true) when enrich is stopping (pub for
/// fuzzing).
pub fn on_event(
    v: &Value,
    runtime: Runtime,
    req_tx: &Sender<FetchRequest>,
    updates: &Sender<MetaUpdate>,
) -> Option<bool> {
    let ty = v
        .get("Type")
        .or_else(|| v.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if ty != "container" {
        return None;
    }
    let action = v
        .get("Action")
        .or_else(|| v.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let id = v
        .get("Actor")
        .and_then(|a| a.get("ID"))
        .or_else(|| v.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if id.len() != crate::tables::cgroup::FULL_ID_LEN {
        return None;
    }
    tracing::debug!(?runtime, action, container = id, "runtime event");
    let sent = match action {
        // `create` too: a short-lived container (`docker run --rm`) can be
        // gone before its `start` is read, and inspect answers from create on.
        "create" | "start" => req_tx
            .send(FetchRequest {
                full_id: id.to_string(),
                runtime,
            })
            .is_ok(),
        "destroy" | "remove" => updates.send(MetaUpdate::Removed(id.to_string())).is_ok(),
        _ => true,
    };
    (!sent).then_some(true)
}
