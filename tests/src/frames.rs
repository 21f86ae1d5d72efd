//! Sample frames: one of every kind with every field filled, and the typical
//! enriched syscall event the pipe benchmark sends. Tests compare what comes
//! out of a transport or a stage with these.

use capnp::message::{Builder, HeapAllocator};
use schema::kestrel_capnp::{
    alert, audit_event, event, frame, stats, Family, FdType, Kind, L4Proto, MetadataState,
    Priority, Stage,
};

/// Serializes one message into stream framing.
pub fn to_bytes(msg: &Builder<HeapAllocator>) -> Vec<u8> {
    capnp::serialize::write_message_to_words(msg)
}

/// Builds a frame with `fill` and serializes it.
pub fn frame_bytes(fill: impl FnOnce(frame::Builder<'_>)) -> Vec<u8> {
    let mut msg = Builder::new_default();
    fill(msg.init_root::<frame::Builder>());
    to_bytes(&msg)
}

/// A header frame from `stage`, with the given format version.
pub fn header(stage: Stage, major: u16, minor: u16) -> Vec<u8> {
    frame_bytes(|f| {
        let mut h = f.init_header();
        schema::header::fill(h.reborrow(), stage);
        h.set_format_major(major);
        h.set_format_minor(minor);
    })
}

/// A current-version header frame from `stage`.
pub fn current_header(stage: Stage) -> Vec<u8> {
    header(
        stage,
        schema::kestrel_capnp::FORMAT_MAJOR,
        schema::kestrel_capnp::FORMAT_MINOR,
    )
}

/// An event that uses every `Param` variant and fills every enrichment
/// struct, so a round trip exercises every pointer type of the schema.
pub fn full_event(e: event::Builder<'_>) {
    let mut e = e;
    e.set_ts_ns(1_700_000_000_123_456_789);
    e.set_cpu(1);
    e.set_tid(4242);
    e.set_pid(4240);
    e.set_kind(Kind::Connect);
    e.set_ret(-111);
    e.set_flags(1);
    {
        let mut ps = e.reborrow().init_params(7);
        ps.reborrow().get(0).set_none(());
        ps.reborrow().get(1).set_int(-3);
        ps.reborrow().get(2).set_uint(u64::MAX);
        // Not UTF-8, as Linux paths may be.
        ps.reborrow().get(3).set_bytes(b"/tmp/\xff\xfename");
        {
            let mut a = ps.reborrow().get(4).init_sockaddr();
            a.set_family(Family::Inet6);
            a.set_addr(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            a.set_port(443);
            a.set_raw_family(10);
        }
        {
            let mut t = ps.reborrow().get(5).init_tuple();
            let mut l = t.reborrow().init_local();
            l.set_family(Family::Unix);
            l.set_path(b"\0abstract");
            l.set_raw_family(1);
            let mut r = t.init_remote();
            r.set_family(Family::Inet);
            r.set_addr(&[10, 0, 0, 1]);
            r.set_port(8080);
        }
        {
            let mut l = ps.get(6).init_list(3);
            l.set(0, b"curl");
            l.set(1, b"-s");
            l.set(2, b"http://10.0.0.1:8080/");
        }
    }
    fill_thread(e.reborrow().init_thread(), 3);
    {
        let mut fd = e.reborrow().init_fd();
        fill_fd(fd.reborrow(), 5);
        fd.set_name_changed(true);
    }
    {
        let mut u = e.reborrow().init_user();
        u.set_uid(1000);
        u.set_name("alice");
        u.set_homedir("/home/alice");
        u.set_shell("/bin/bash");
    }
    {
        let mut u = e.reborrow().init_login_user();
        u.set_uid(1001);
        u.set_name("bob");
    }
    {
        let mut g = e.reborrow().init_group();
        g.set_gid(1000);
        g.set_name("alice");
    }
    fill_container(e.reborrow().init_container());
    {
        let mut k = e.reborrow().init_k8s();
        k.set_pod_name("web-7d9f");
        k.set_pod_uid("0f8e4c1a-2b3c-4d5e-8f90-123456789abc");
        k.set_namespace("prod");
        let mut l = k.init_pod_labels(1);
        l.reborrow().get(0).set_key("app");
        l.get(0).set_value("web");
    }
    {
        let mut fds = e.init_snapshot_fds(2);
        fill_fd(fds.reborrow().get(0), 0);
        fill_fd(fds.get(1), 1);
    }
}

/// A thread with `ancestors` ancestors and every field set.
fn fill_thread(mut t: schema::kestrel_capnp::thread::Builder<'_>, ancestors: u32) {
    t.set_tid(4242);
    t.set_pid(4240);
    t.set_ppid(4100);
    t.set_vtid(42);
    t.set_vpid(40);
    t.set_sid(4000);
    t.set_pgid(4100);
    t.set_name(b"curl");
    t.set_exe(b"curl");
    t.set_exepath(b"/usr/bin/curl");
    {
        let mut a = t.reborrow().init_args(2);
        a.set(0, b"-s");
        a.set(1, b"http://10.0.0.1:8080/");
    }
    t.set_cwd(b"/home/alice");
    t.set_tty(34816);
    t.set_uid(1000);
    t.set_gid(1000);
    t.set_euid(0);
    t.set_egid(0);
    t.set_loginuid(1000);
    t.set_cap_effective(0x1ff_ffff_ffff);
    t.set_cap_permitted(0x1ff_ffff_ffff);
    t.set_cap_inheritable(0);
    t.set_start_ts_ns(1_700_000_000_000_000_000);
    t.set_exe_upper_layer(true);
    t.set_exe_from_memfd(false);
    {
        let names: [&[u8]; 4] = [b"bash", b"sshd", b"sshd", b"systemd"];
        let paths: [&[u8]; 4] = [
            b"/usr/bin/bash",
            b"/usr/sbin/sshd",
            b"/usr/sbin/sshd",
            b"/usr/lib/systemd/systemd",
        ];
        let mut list = t.reborrow().init_ancestors(ancestors);
        for i in 0..ancestors {
            let n = i as usize % names.len();
            let mut a = list.reborrow().get(i);
            a.set_pid(4100 - i as i32 * 50);
            a.set_name(names[n]);
            a.set_exe(names[n]);
            a.set_exepath(paths[n]);
            if i == 0 {
                let mut args = a.init_args(1);
                args.set(0, b"-i");
            }
        }
    }
    t.set_args_truncated(false);
    {
        let mut c = t.reborrow().init_cgroups(1);
        c.set(0, "0::/docker/3f2a9c1e5b7d");
    }
    t.set_sname(b"sshd");
    t.set_partial(false);
    {
        let mut env = t.reborrow().init_env(2);
        env.set(0, b"HOME=/home/alice");
        env.set(1, b"PATH=/usr/bin:/bin");
    }
    t.set_pidns_ino(4026531836);
    t.set_exe_ino(1_234_567);
    t.set_exe_ctime_ns(1_600_000_000_000_000_000);
    t.set_exe_mtime_ns(1_600_000_000_000_000_001);
    t.set_vpgid(41);
    t.set_vpgid_name(b"bash");
    t.set_vpgid_exe(b"/usr/bin/bash");
    t.set_parent_start_ts_ns(1_699_999_999_000_000_000);
    {
        let mut s = t.init_stdio_types(3);
        s.set(0, FdType::Unix);
        s.set(1, FdType::Pipe);
        s.set(2, FdType::File);
    }
}

fn fill_fd(mut fd: schema::kestrel_capnp::fd::Builder<'_>, num: i64) {
    fd.set_num(num);
    fd.set_type(FdType::Ipv4);
    fd.set_name(b"10.0.0.2:51234->10.0.0.1:8080");
    fd.set_l4proto(L4Proto::Tcp);
    {
        let mut l = fd.reborrow().init_local();
        l.set_family(Family::Inet);
        l.set_addr(&[10, 0, 0, 2]);
        l.set_port(51234);
    }
    {
        let mut r = fd.reborrow().init_remote();
        r.set_family(Family::Inet);
        r.set_addr(&[10, 0, 0, 1]);
        r.set_port(8080);
    }
    fd.set_is_server(false);
    fd.set_connected(true);
    fd.set_open_flags(0o2000002);
    fd.set_dev(0x801);
    fd.set_ino(98765);
    fd.set_sock_type(1);
}

fn fill_container(mut c: schema::kestrel_capnp::container::Builder<'_>) {
    c.set_id("3f2a9c1e5b7d");
    c.set_full_id("3f2a9c1e5b7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071");
    c.set_name("web");
    c.set_image("docker.io/library/nginx:1.27");
    c.set_image_repository("docker.io/library/nginx");
    c.set_image_tag("1.27");
    c.set_image_id("sha256:0123456789abcdef");
    c.set_image_digest("sha256:fedcba9876543210");
    c.set_runtime("docker");
    c.set_privileged(true);
    {
        let mut l = c.reborrow().init_labels(2);
        l.reborrow().get(0).set_key("tier");
        l.reborrow().get(0).set_value("front");
        l.reborrow().get(1).set_key("owner");
        l.get(1).set_value("team-a");
    }
    {
        let mut m = c.reborrow().init_mounts(1).get(0);
        m.set_source("/var/run/docker.sock");
        m.set_dest("/var/run/docker.sock");
        m.set_mode("rw");
        m.set_rw(true);
        m.set_propagation("rprivate");
    }
    c.set_start_ts_ns(1_699_000_000_000_000_000);
    c.set_metadata(MetadataState::Complete);
    c.set_host_network(true);
    c.set_host_pid(false);
    c.set_host_ipc(true);
    c.set_cmdline("nginx -g daemon off;");
}

/// An alert with every field filled.
pub fn full_alert(mut a: alert::Builder<'_>) {
    a.set_time_ns(1_700_000_000_200_000_000);
    a.set_rule("Terminal shell in container");
    a.set_priority(Priority::Notice);
    a.set_source("syscall");
    {
        let mut t = a.reborrow().init_tags(2);
        t.set(0, "container");
        t.set(1, "mitre_execution");
    }
    a.set_output("A shell was spawned in a container (user=alice container=web)");
    {
        let mut f = a.reborrow().init_fields(2);
        f.reborrow().get(0).set_name("user.name");
        f.reborrow().get(0).set_value("alice");
        f.reborrow().get(1).set_name("container.name");
        f.get(1).set_value("web");
    }
    a.set_hostname("node-1");
    a.set_eval_ts_ns(1_700_000_000_200_000_100);
}

/// A stats frame with two counters.
pub fn full_stats(mut s: stats::Builder<'_>) {
    s.set_stage(Stage::Capture);
    s.set_time_ns(1_700_000_001_000_000_000);
    s.set_hostname("node-1");
    {
        let mut c = s.reborrow().init_counters(2);
        c.reborrow().get(0).set_name("events");
        c.reborrow().get(0).set_value(123_456);
        c.reborrow().get(1).set_name("drops.ringbuf_full");
        c.get(1).set_value(7);
    }
    s.set_instance("cpu0");
}

/// A Kubernetes audit event.
pub fn full_audit(mut a: audit_event::Builder<'_>) {
    a.set_ts_ns(1_700_000_002_000_000_000);
    a.set_json(br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"create"}"#);
}

/// The frames after the header of [`valid_stream`]: one event, alert, stats
/// and audit frame, each serialized on its own.
pub fn body_frames() -> Vec<Vec<u8>> {
    vec![
        frame_bytes(|f| full_event(f.init_event())),
        frame_bytes(|f| full_alert(f.init_alert())),
        frame_bytes(|f| full_stats(f.init_stats())),
        frame_bytes(|f| full_audit(f.init_audit())),
    ]
}

/// A complete, valid stream: a header from capture, then [`body_frames`].
pub fn valid_stream() -> Vec<u8> {
    let mut out = current_header(Stage::Capture);
    for f in body_frames() {
        out.extend_from_slice(&f);
    }
    out
}

/// The `openat` of [`typical_event`] as capture emits it, before enrich adds
/// anything.
pub fn capture_event(e: event::Builder<'_>, seq: u64) {
    let mut e = e;
    e.set_ts_ns(1_700_000_000_000_000_000 + seq);
    e.set_cpu((seq & 1) as u16);
    e.set_tid(31337);
    e.set_pid(31337);
    e.set_kind(Kind::Openat);
    e.set_ret(3);
    let mut ps = e.init_params(6);
    ps.reborrow().get(0).set_int(-100);
    ps.reborrow().get(1).set_bytes(b"/etc/shadow");
    ps.reborrow().get(2).set_uint(0o2000000);
    ps.reborrow().get(3).set_uint(0);
    ps.reborrow().get(4).set_uint(0x803);
    ps.get(5).set_uint(131_075);
}

/// The typical enriched syscall event of the pipe benchmark: an `openat` by
/// a shell in a container, with its parent and grandparent, the opened file,
/// user, group and container, as enrich emits it: 1080 bytes framed (444
/// packed), because Cap'n Proto lays out every field of a struct, set or not.
pub fn typical_event(e: event::Builder<'_>, seq: u64) {
    let mut e = e;
    capture_event(e.reborrow(), seq);
    typical_fd(e.reborrow());
    typical_state_parts(e);
}

/// The typical event as enrich sends it by reference: the event's own
/// fields and fd, naming the `state` frame of [`typical_state`] (see
/// `schema::state`): 360 bytes framed.
pub fn referenced_event(e: event::Builder<'_>, seq: u64) {
    let mut e = e;
    capture_event(e.reborrow(), seq);
    typical_fd(e.reborrow());
    e.set_state_gen(TYPICAL_STATE_GEN);
}

/// The generation of [`typical_state`].
pub const TYPICAL_STATE_GEN: u64 = 1;

/// The `state` frame [`referenced_event`] refers to: the typical event's
/// thread, user, group and container, sent once.
pub fn typical_state(e: event::Builder<'_>) {
    let mut e = e;
    e.set_tid(31337);
    e.set_pid(31337);
    e.set_state_gen(TYPICAL_STATE_GEN);
    typical_state_parts(e);
}

fn typical_fd(e: event::Builder<'_>) {
    let mut fd = e.init_fd();
    fd.set_num(3);
    fd.set_type(FdType::File);
    fd.set_name(b"/etc/shadow");
    fd.set_open_flags(0o2000000);
}

/// The typical event's thread (with two ancestors), user, group and
/// container.
fn typical_state_parts(e: event::Builder<'_>) {
    let mut e = e;
    {
        let mut t = e.reborrow().init_thread();
        t.set_tid(31337);
        t.set_pid(31337);
        t.set_ppid(31300);
        t.set_vpid(7);
        t.set_vtid(7);
        t.set_sid(1);
        t.set_name(b"cat");
        t.set_exe(b"cat");
        t.set_exepath(b"/usr/bin/cat");
        t.reborrow().init_args(1).set(0, b"/etc/shadow");
        t.set_cwd(b"/root");
        t.set_uid(0);
        t.set_euid(0);
        t.set_loginuid(u32::MAX);
        t.set_cap_effective(0xa80425fb);
        t.set_start_ts_ns(1_699_999_999_000_000_000);
        let mut a = t.init_ancestors(2);
        {
            let mut p = a.reborrow().get(0);
            p.set_pid(31300);
            p.set_name(b"bash");
            p.set_exepath(b"/usr/bin/bash");
        }
        let mut p = a.get(1);
        p.set_pid(31200);
        p.set_name(b"containerd-shim");
        p.set_exepath(b"/usr/bin/containerd-shim-runc-v2");
    }
    {
        let mut u = e.reborrow().init_user();
        u.set_uid(0);
        u.set_name("root");
    }
    e.reborrow().init_group().set_name("root");
    let mut c = e.init_container();
    c.set_id("3f2a9c1e5b7d");
    c.set_name("web");
    c.set_image_repository("docker.io/library/nginx");
    c.set_image_tag("1.27");
}
