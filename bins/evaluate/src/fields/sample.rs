//! Enriched events built from plain Rust values, for tests, property tests
//! and benchmarks: the same wire form enrich writes, without running enrich.
//!
//! It is not a model of enrich's logic: callers say what each field holds.

use capnp::message::{Builder, HeapAllocator};
use schema::kestrel_capnp::{event, frame, sock_addr, Family, FdType, L4Proto};
use schema::Kind;

/// One socket address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Addr {
    /// 4 or 16 bytes; empty for none.
    pub ip: Vec<u8>,
    pub port: u16,
    pub path: Vec<u8>,
}

impl Addr {
    pub fn v4(ip: [u8; 4], port: u16) -> Self {
        Addr {
            ip: ip.to_vec(),
            port,
            path: Vec::new(),
        }
    }
}

/// One positional parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    None,
    Int(i64),
    Uint(u64),
    Bytes(Vec<u8>),
    Addr(Addr),
    Tuple(Addr, Addr),
    List(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ancestor {
    pub pid: i32,
    pub name: String,
    pub exe: String,
    pub exepath: String,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub tid: i32,
    pub pid: i32,
    pub ppid: i32,
    pub vpid: i32,
    pub sid: i32,
    pub vpgid: i32,
    pub name: String,
    pub exe: String,
    pub exepath: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub tty: u32,
    pub euid: u32,
    pub loginuid: u32,
    pub cap_effective: u64,
    pub start_ts: u64,
    pub parent_start_ts: u64,
    pub exe_upper_layer: bool,
    pub exe_from_memfd: bool,
    pub exe_ctime: u64,
    pub exe_mtime: u64,
    pub sname: String,
    pub vpgid_name: String,
    pub vpgid_exe: String,
    pub ancestors: Vec<Ancestor>,
    pub stdio: Vec<FdType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fd {
    pub num: i64,
    pub ty: FdType,
    pub name: String,
    pub name_raw: String,
    pub l4proto: L4Proto,
    pub local: Addr,
    pub remote: Addr,
    pub is_server: bool,
    pub connected: bool,
    pub name_changed: bool,
}

impl Default for Fd {
    fn default() -> Self {
        Fd {
            num: 3,
            ty: FdType::File,
            name: String::new(),
            name_raw: String::new(),
            l4proto: L4Proto::Unknown,
            local: Addr::default(),
            remote: Addr::default(),
            is_server: false,
            connected: false,
            name_changed: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mount {
    pub source: String,
    pub dest: String,
    pub rw: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image_repository: String,
    pub image_tag: String,
    pub privileged: bool,
    pub start_ts: u64,
    pub mounts: Vec<Mount>,
    pub labels: Vec<(String, String)>,
}

/// An enriched event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: Kind,
    pub ts: u64,
    pub ret: i64,
    pub params: Vec<Param>,
    pub thread: Option<Thread>,
    pub fd: Option<Fd>,
    /// (uid, name)
    pub user: Option<(u32, String)>,
    pub login_user: Option<(u32, String)>,
    /// (gid, name)
    pub group: Option<(u32, String)>,
    pub container: Option<Container>,
    /// (namespace, pod name)
    pub k8s: Option<(String, String)>,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            kind: Kind::Unknown,
            ts: 0,
            ret: 0,
            params: Vec::new(),
            thread: None,
            fd: None,
            user: None,
            login_user: None,
            group: None,
            container: None,
            k8s: None,
        }
    }
}

fn fill_addr(mut b: sock_addr::Builder<'_>, a: &Addr) {
    b.set_family(match a.ip.len() {
        4 => Family::Inet,
        16 => Family::Inet6,
        _ if !a.path.is_empty() => Family::Unix,
        _ => Family::Unspec,
    });
    b.set_addr(&a.ip[..]);
    b.set_port(a.port);
    b.set_path(&a.path[..]);
}

fn set_strings(mut l: capnp::data_list::Builder<'_>, items: &[String]) {
    for (i, s) in items.iter().enumerate() {
        l.set(i as u32, s.as_bytes());
    }
}

fn set_types(mut l: capnp::enum_list::Builder<'_, FdType>, items: &[FdType]) {
    for (i, ty) in items.iter().enumerate() {
        l.set(i as u32, *ty);
    }
}

impl Event {
    /// The event as a one-frame message.
    pub fn to_message(&self) -> Builder<HeapAllocator> {
        let mut msg = Builder::new_default();
        let mut ev = msg.init_root::<frame::Builder>().init_event();
        self.fill_own(ev.reborrow());
        self.fill_parts(ev, true);
        msg
    }

    /// The event as enrich writes it by reference: a `state` frame holding
    /// its thread (without its stdio types), user, group, login user,
    /// container and k8s for thread `tid` at generation `gen`, and the
    /// event frame naming it and carrying the stdio types.
    pub fn to_state_messages(
        &self,
        tid: i32,
        gen: u64,
    ) -> (Builder<HeapAllocator>, Builder<HeapAllocator>) {
        let mut state = Builder::new_default();
        let mut st = state.init_root::<frame::Builder>().init_state();
        st.set_tid(tid);
        st.set_state_gen(gen);
        self.fill_parts(st, false);
        let mut msg = Builder::new_default();
        let mut ev = msg.init_root::<frame::Builder>().init_event();
        ev.set_tid(tid);
        ev.set_state_gen(gen);
        if let Some(t) = &self.thread {
            set_types(
                ev.reborrow().init_stdio_types(t.stdio.len() as u32),
                &t.stdio,
            );
        }
        self.fill_own(ev);
        (state, msg)
    }

    /// The event's own fields: kind, time, return value, parameters, fd.
    fn fill_own(&self, mut ev: event::Builder<'_>) {
        ev.set_kind(self.kind);
        ev.set_ts_ns(self.ts);
        ev.set_ret(self.ret);
        let mut params = ev.reborrow().init_params(self.params.len() as u32);
        for (i, p) in self.params.iter().enumerate() {
            let mut b = params.reborrow().get(i as u32);
            match p {
                Param::None => b.set_none(()),
                Param::Int(v) => b.set_int(*v),
                Param::Uint(v) => b.set_uint(*v),
                Param::Bytes(v) => b.set_bytes(&v[..]),
                Param::Addr(a) => fill_addr(b.init_sockaddr(), a),
                Param::Tuple(l, r) => {
                    let mut t = b.init_tuple();
                    fill_addr(t.reborrow().init_local(), l);
                    fill_addr(t.init_remote(), r);
                }
                Param::List(items) => {
                    let mut l = b.init_list(items.len() as u32);
                    for (j, it) in items.iter().enumerate() {
                        l.set(j as u32, &it[..]);
                    }
                }
            }
        }
        if let Some(f) = &self.fd {
            let mut b = ev.reborrow().init_fd();
            b.set_num(f.num);
            b.set_type(f.ty);
            b.set_name(f.name.as_bytes());
            b.set_name_raw(f.name_raw.as_bytes());
            b.set_l4proto(f.l4proto);
            fill_addr(b.reborrow().init_local(), &f.local);
            fill_addr(b.reborrow().init_remote(), &f.remote);
            b.set_is_server(f.is_server);
            b.set_connected(f.connected);
            b.set_name_changed(f.name_changed);
        }
    }

    /// The parts enrich may send in a `state` frame instead; the thread's
    /// stdio types only if `stdio`.
    fn fill_parts(&self, mut ev: event::Builder<'_>, stdio: bool) {
        if let Some(t) = &self.thread {
            let mut b = ev.reborrow().init_thread();
            b.set_tid(t.tid);
            b.set_pid(t.pid);
            b.set_ppid(t.ppid);
            b.set_vpid(t.vpid);
            b.set_sid(t.sid);
            b.set_vpgid(t.vpgid);
            b.set_name(t.name.as_bytes());
            b.set_exe(t.exe.as_bytes());
            b.set_exepath(t.exepath.as_bytes());
            set_strings(b.reborrow().init_args(t.args.len() as u32), &t.args);
            set_strings(b.reborrow().init_env(t.env.len() as u32), &t.env);
            b.set_cwd(t.cwd.as_bytes());
            b.set_tty(t.tty);
            b.set_euid(t.euid);
            b.set_loginuid(t.loginuid);
            b.set_cap_effective(t.cap_effective);
            b.set_start_ts_ns(t.start_ts);
            b.set_parent_start_ts_ns(t.parent_start_ts);
            b.set_exe_upper_layer(t.exe_upper_layer);
            b.set_exe_from_memfd(t.exe_from_memfd);
            b.set_exe_ctime_ns(t.exe_ctime);
            b.set_exe_mtime_ns(t.exe_mtime);
            b.set_sname(t.sname.as_bytes());
            b.set_vpgid_name(t.vpgid_name.as_bytes());
            b.set_vpgid_exe(t.vpgid_exe.as_bytes());
            if stdio {
                set_types(
                    b.reborrow().init_stdio_types(t.stdio.len() as u32),
                    &t.stdio,
                );
            }
            let mut anc = b.init_ancestors(t.ancestors.len() as u32);
            for (i, a) in t.ancestors.iter().enumerate() {
                let mut x = anc.reborrow().get(i as u32);
                x.set_pid(a.pid);
                x.set_name(a.name.as_bytes());
                x.set_exe(a.exe.as_bytes());
                x.set_exepath(a.exepath.as_bytes());
                set_strings(x.init_args(a.args.len() as u32), &a.args);
            }
        }
        if let Some((uid, name)) = &self.user {
            let mut u = ev.reborrow().init_user();
            u.set_uid(*uid);
            u.set_name(name.as_str());
        }
        if let Some((uid, name)) = &self.login_user {
            let mut u = ev.reborrow().init_login_user();
            u.set_uid(*uid);
            u.set_name(name.as_str());
        }
        if let Some((gid, name)) = &self.group {
            let mut g = ev.reborrow().init_group();
            g.set_gid(*gid);
            g.set_name(name.as_str());
        }
        if let Some(c) = &self.container {
            let mut b = ev.reborrow().init_container();
            b.set_id(c.id.as_str());
            b.set_name(c.name.as_str());
            b.set_image_repository(c.image_repository.as_str());
            b.set_image_tag(c.image_tag.as_str());
            b.set_privileged(c.privileged);
            b.set_start_ts_ns(c.start_ts);
            let mut m = b.reborrow().init_mounts(c.mounts.len() as u32);
            for (i, x) in c.mounts.iter().enumerate() {
                let mut mb = m.reborrow().get(i as u32);
                mb.set_source(x.source.as_str());
                mb.set_dest(x.dest.as_str());
                mb.set_rw(x.rw);
            }
            let mut l = b.init_labels(c.labels.len() as u32);
            for (i, (k, v)) in c.labels.iter().enumerate() {
                let mut lb = l.reborrow().get(i as u32);
                lb.set_key(k.as_str());
                lb.set_value(v.as_str());
            }
        }
        if let Some((ns, pod)) = &self.k8s {
            let mut k = ev.init_k8s();
            k.set_namespace(ns.as_str());
            k.set_pod_name(pod.as_str());
        }
    }

    /// The event as framed bytes, as a stage writes it on a stream.
    pub fn to_frame_bytes(&self) -> Vec<u8> {
        capnp::serialize::write_message_to_words(&self.to_message())
    }
}

/// The event of a one-frame message built here.
pub fn event_of(msg: &Builder<HeapAllocator>) -> event::Reader<'_> {
    let root = msg
        .get_root_as_reader::<frame::Reader>()
        .expect("a message built here has a frame root");
    match root.which() {
        Ok(frame::Which::Event(Ok(e))) => e,
        _ => unreachable!("a message built here holds an event"),
    }
}

/// Calls `f` with a view of `ev` (event number `num`, host `test-host`).
pub fn with_view<R>(ev: &Event, num: u64, f: impl FnOnce(&super::EventView<'_>) -> R) -> R {
    let msg = ev.to_message();
    f(&super::EventView::new(event_of(&msg), num, "test-host"))
}

/// Like [`with_view`], with `ev` sent as enrich sends it by reference (a
/// `state` frame of thread 101, then the event naming it) and resolved
/// through a `schema::state::StateTable` as evaluate does.
pub fn with_state_view<R>(ev: &Event, num: u64, f: impl FnOnce(&super::EventView<'_>) -> R) -> R {
    let (state, msg) = ev.to_state_messages(101, 9);
    let state_raw = capnp::serialize::write_message_to_words(&state);
    let mut table = schema::state::StateTable::new();
    let state_root = state
        .get_root_as_reader::<frame::Reader>()
        .expect("a message built here has a frame root");
    assert!(table.apply(state_root, &state_raw), "a state frame");
    let e = event_of(&msg);
    let st = table.get(e);
    assert!(st.is_some(), "the event resolves to its state");
    f(&super::EventView::new(e, num, "test-host").with_state(st))
}

/// Like [`with_view`], with a per-event [`super::Scratch`] for computed
/// strings.
pub fn with_scratch_view<R>(ev: &Event, num: u64, f: impl FnOnce(&super::EventView<'_>) -> R) -> R {
    let msg = ev.to_message();
    let scratch = super::Scratch::default();
    f(&super::EventView::with_scratch(
        event_of(&msg),
        num,
        "test-host",
        &scratch,
    ))
}
