//! The snapshot of this test process itself, after it opened one descriptor
//! of each common kind: every one must come back with its type, name,
//! addresses and flags, on the thread group leader's event only.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use schema::kestrel_capnp::{event, frame, FdType, Kind, L4Proto};
use schema::{FrameReader, FrameWriter};

use super::*;

/// Snapshots every process (ours included unless `exclude` names it) into
/// memory and returns the frames.
fn snapshot_bytes(exclude: i32) -> (Vec<u8>, SnapshotStats) {
    let mut w = FrameWriter::new(Vec::new());
    let stats = write_snapshot(&mut w, exclude).expect("snapshot");
    w.flush().expect("flush");
    (w.get_ref().clone(), stats)
}

/// Calls `f` on every snapshot event of process `pid`.
fn for_events_of(bytes: &[u8], pid: i32, mut f: impl FnMut(event::Reader<'_>)) {
    let mut r = FrameReader::new(bytes);
    while let Some(fr) = r.next().expect("frame") {
        let root = fr.root().expect("root");
        let Ok(frame::Event(Ok(ev))) = root.which() else {
            panic!("snapshot wrote a frame that is not an event");
        };
        assert_eq!(ev.get_kind(), Ok(Kind::ProcSnapshot));
        if ev.get_pid() == pid {
            f(ev);
        }
    }
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

#[test]
fn our_own_process_and_its_descriptors() {
    let me = std::process::id() as i32;
    let dir = std::env::temp_dir();
    let file_path = dir.join(format!("kestrel-snapshot-{me}.txt"));
    let mut file = std::fs::File::create(&file_path).expect("create temp file");
    file.write_all(b"x").expect("write");
    let listener = TcpListener::bind("127.0.0.1:0").expect("tcp listener");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    let sock_path = dir.join(format!("kestrel-snapshot-{me}.sock"));
    let _ = std::fs::remove_file(&sock_path);
    let unix = UnixListener::bind(&sock_path).expect("unix listener");
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new fds, owned below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are new and owned here.
    let (pipe_r, _pipe_w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    // SAFETY: each call returns a new fd (checked below) that we then own.
    let anon = unsafe {
        [
            libc::memfd_create(c"kestrel-snap".as_ptr(), libc::MFD_CLOEXEC),
            libc::eventfd(0, libc::EFD_CLOEXEC),
            libc::epoll_create1(libc::EPOLL_CLOEXEC),
        ]
    };
    assert!(
        anon.iter().all(|&fd| fd >= 0),
        "memfd/eventfd/epoll: {anon:?}"
    );
    // SAFETY: the fds are new and owned here.
    let _anon: Vec<OwnedFd> = anon
        .iter()
        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();

    // A second thread of ours, alive while the snapshot runs.
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let helper = std::thread::spawn(move || {
        let _ = tid_tx.send(gettid());
        let _ = done_rx.recv();
    });
    let helper_tid = tid_rx.recv().expect("helper tid");

    let (bytes, stats) = snapshot_bytes(0);
    let _ = done_tx.send(());
    let _ = helper.join();
    assert!(
        stats.processes >= 1 && stats.threads >= 2 && stats.fds >= 7,
        "{stats:?}"
    );

    let mut leader_seen = false;
    let mut helper_seen = false;
    for_events_of(&bytes, me, |ev| {
        let th = ev.get_thread().expect("thread");
        assert_eq!(th.get_pid(), me);
        assert_eq!(th.get_tid(), ev.get_tid());
        let exe = std::env::current_exe().expect("exe");
        assert_eq!(
            th.get_exepath().expect("exepath"),
            exe.as_os_str().as_encoded_bytes()
        );
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            th.get_cwd().expect("cwd"),
            cwd.as_os_str().as_encoded_bytes()
        );
        let want_args: Vec<String> = std::env::args().skip(1).collect();
        let got_args: Vec<String> = th
            .get_args()
            .expect("args")
            .iter()
            .map(|a| String::from_utf8_lossy(a.expect("arg")).into_owned())
            .collect();
        if !th.get_args_truncated() {
            assert_eq!(got_args, want_args);
        }
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        assert_eq!((th.get_uid(), th.get_gid()), (uid, gid));
        let start = th.get_start_ts_ns();
        assert!(start >= schema::header::boot_time_ns() && start <= schema::now_ns());
        assert!(th.get_pidns_ino() > 0 && th.get_exe_ino() > 0 && th.get_vtid() > 0);
        assert!(!th.get_cgroups().expect("cgroups").is_empty());
        let fds = ev.get_snapshot_fds().expect("fds");
        if ev.get_tid() == helper_tid {
            helper_seen = true;
            assert_eq!(fds.len(), 0, "fds belong on the leader's event only");
        }
        if ev.get_tid() != me {
            return;
        }
        leader_seen = true;
        let by_num = |n: i32| {
            fds.iter()
                .find(|f| f.get_num() == n as i64)
                .unwrap_or_else(|| panic!("fd {n} missing from the snapshot"))
        };
        let f = by_num(file.as_raw_fd());
        assert_eq!(f.get_type(), Ok(FdType::File));
        assert_eq!(
            f.get_name().expect("name"),
            file_path.as_os_str().as_encoded_bytes()
        );
        assert_eq!(
            f.get_open_flags() & libc::O_ACCMODE as u32,
            libc::O_WRONLY as u32
        );
        assert!(f.get_ino() > 0);

        let l = by_num(listener.as_raw_fd());
        assert_eq!(
            (l.get_type(), l.get_l4proto()),
            (Ok(FdType::Ipv4), Ok(L4Proto::Tcp))
        );
        let local = l.get_local().expect("local");
        assert_eq!(
            (local.get_addr().expect("addr"), local.get_port()),
            (&[127, 0, 0, 1][..], port)
        );
        assert!(!l.get_connected());

        let c = by_num(client.as_raw_fd());
        assert!(c.get_connected() && !c.get_is_server());
        assert_eq!(c.get_remote().expect("remote").get_port(), port);
        let s = by_num(server.as_raw_fd());
        assert!(s.get_connected() && s.get_is_server());
        assert_eq!(s.get_local().expect("local").get_port(), port);
        assert_eq!(
            s.get_remote().expect("remote").get_port(),
            client.local_addr().expect("client addr").port()
        );

        let u = by_num(unix.as_raw_fd());
        assert_eq!(u.get_type(), Ok(FdType::Unix));
        assert_eq!(
            u.get_name().expect("name"),
            sock_path.as_os_str().as_encoded_bytes()
        );

        let kinds: Vec<_> = anon.iter().map(|&n| by_num(n).get_type()).collect();
        assert_eq!(
            kinds,
            [Ok(FdType::Memfd), Ok(FdType::Event), Ok(FdType::Eventpoll)]
        );

        let p = by_num(pipe_r.as_raw_fd());
        assert_eq!(p.get_type(), Ok(FdType::Pipe));
        assert!(p.get_name().expect("name").starts_with(b"pipe:["));
    });
    let _ = std::fs::remove_file(&file_path);
    let _ = std::fs::remove_file(&sock_path);
    assert!(leader_seen, "no event for our thread group leader");
    assert!(helper_seen, "no event for our second thread");
}

#[test]
fn capture_leaves_itself_out() {
    let me = std::process::id() as i32;
    let (bytes, stats) = snapshot_bytes(me);
    let mut ours = 0;
    for_events_of(&bytes, me, |_| ours += 1);
    assert_eq!(ours, 0);
    // pid 1 always exists and is not us.
    let mut init = 0;
    for_events_of(&bytes, 1, |_| init += 1);
    assert!(init >= 1 && stats.threads >= 1);
}

/// Fails the test unless it runs as root (mounts an overlay). The tests that
/// need it are `#[ignore]`d; `tests/run.sh` runs them as root.
fn require_root(test: &str) {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "{test}: needs root (mounts an overlay)");
}

/// Kills the overlay test's processes and removes its directory, however the
/// test ends.
struct OverlayFixture {
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl Drop for OverlayFixture {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            // The shell's pid is the upper-layer sleep; its child (the lower
            // one) ends with the process group.
            // SAFETY: signals our own child's process group.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn exe_in_an_overlay_upper_layer() {
    require_root("exe_in_an_overlay_upper_layer");
    use std::os::unix::process::CommandExt;
    let me = std::process::id();
    let dir = std::env::temp_dir().join(format!("kestrel-ovl-{me}"));
    let mut fx = OverlayFixture {
        dir: dir.clone(),
        child: None,
    };
    for d in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir_all(dir.join(d)).expect("overlay dirs");
    }
    std::fs::copy("/bin/sleep", dir.join("lower/lowsleep")).expect("copy sleep into lower");
    let d = dir.display();
    // In a private mount namespace: mount the overlay, copy a binary into
    // it (so it lands in the upper dir), start the lower one, become the
    // upper one.
    let script = format!(
        "mount -t overlay overlay -o lowerdir={d}/lower,upperdir={d}/upper,workdir={d}/work {d}/merged \
         && cp /bin/sleep {d}/merged/upsleep && ({d}/merged/lowsleep 30 &) && exec {d}/merged/upsleep 30"
    );
    let child = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .process_group(0)
        .spawn()
        .expect("start unshare");
    let pid = child.id() as i32;
    fx.child = Some(child);
    let comm = |p: i32| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while comm(pid).trim() != "upsleep" {
        assert!(
            std::time::Instant::now() < deadline,
            "the overlay child did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let (bytes, _) = snapshot_bytes(me as i32);
    let mut upper = None;
    let mut lower = None;
    let mut r = FrameReader::new(&bytes[..]);
    while let Some(fr) = r.next().expect("frame") {
        let root = fr.root().expect("root");
        let Ok(frame::Event(Ok(ev))) = root.which() else {
            continue;
        };
        let th = ev.get_thread().expect("thread");
        match th.get_name().expect("name") {
            b"upsleep" if th.get_pid() == pid => upper = Some(th.get_exe_upper_layer()),
            b"lowsleep" if th.get_pgid() == pid => lower = Some(th.get_exe_upper_layer()),
            _ => {}
        }
    }
    assert_eq!(
        upper,
        Some(true),
        "exe copied into the overlay is in the upper layer"
    );
    assert_eq!(lower, Some(false), "exe from the lower dir is not");
}

#[test]
fn exe_run_from_a_memfd() {
    let bin = std::fs::read("/bin/sleep").expect("read /bin/sleep");
    // SAFETY: memfd_create returns a new fd (checked), owned by `memfd`.
    let fd = unsafe { libc::memfd_create(c"kestrel-memfd-exe".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    // SAFETY: fd is new and owned here.
    let mut memfd = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    memfd.write_all(&bin).expect("fill the memfd");
    // Executing /proc/self/fd/N runs the memfd's contents; the kernel opens
    // it before close-on-exec applies.
    let mut child = std::process::Command::new(format!("/proc/self/fd/{fd}"))
        .arg("30")
        .spawn()
        .expect("exec the memfd");
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.as_os_str().as_encoded_bytes().starts_with(b"/memfd:"))
        .unwrap_or(false)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the memfd child did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (bytes, _) = snapshot_bytes(std::process::id() as i32);
    let _ = child.kill();
    let _ = child.wait();
    let mut from_memfd = None;
    for_events_of(&bytes, pid, |ev| {
        from_memfd = Some(ev.get_thread().expect("thread").get_exe_from_memfd());
    });
    assert_eq!(from_memfd, Some(true));
}

#[test]
fn descriptors_are_bounded_by_bytes() {
    // A path of about 3.8 KB: 15 directories of 250 bytes.
    let base = std::env::temp_dir().join(format!("kestrel-longfd-{}", std::process::id()));
    let mut path = base.clone();
    for i in 0..15 {
        path.push(format!("{i:02}{}", "d".repeat(248)));
    }
    std::fs::create_dir_all(&path).expect("long directory chain");
    path.push("f");
    std::fs::write(&path, b"x").expect("file at the end of the chain");
    let each = path.as_os_str().len() + 256;
    let count = fds::MAX_FD_BYTES_PER_PROCESS / each + 50;

    // A forked child holds the descriptors, so this test's many fds do not
    // reach the other tests' snapshots of this process.
    let mut ready = [0; 2];
    let mut release = [0; 2];
    // SAFETY: pipe2 writes two fds per call into the arrays.
    unsafe {
        assert_eq!(libc::pipe2(ready.as_mut_ptr(), libc::O_CLOEXEC), 0);
        assert_eq!(libc::pipe2(release.as_mut_ptr(), libc::O_CLOEXEC), 0);
    }
    let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: the child only makes raw system calls and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: raw calls on fds and memory this child owns.
        unsafe {
            for _ in 0..count {
                libc::open(cpath.as_ptr(), libc::O_RDONLY);
            }
            libc::write(ready[1], b"r".as_ptr().cast(), 1);
            let mut b = 0u8;
            libc::read(release[0], (&mut b as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    let mut b = 0u8;
    // SAFETY: reads one byte from our pipe end.
    unsafe { libc::read(ready[0], (&mut b as *mut u8).cast(), 1) };
    let (bytes, stats) = snapshot_bytes(std::process::id() as i32);
    // SAFETY: releases and reaps our own child; closes our pipe ends.
    unsafe {
        libc::write(release[1], b"x".as_ptr().cast(), 1);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        for fd in ready.into_iter().chain(release) {
            libc::close(fd);
        }
    }
    let _ = std::fs::remove_dir_all(&base);

    let mut reported = None;
    for_events_of(&bytes, pid, |ev| {
        if ev.get_tid() == pid {
            reported = Some(ev.get_snapshot_fds().expect("fds").len() as usize);
        }
    });
    let reported = reported.expect("the child's event");
    assert!(
        reported > 0 && reported < count,
        "{reported} of {count} fds reported"
    );
    assert!(stats.fds_left_out >= (count - reported) as u64, "{stats:?}");
}
