//! Tests of the real thing: each forks a child (a child of fork has one
//! thread, as capture has when it locks down), locks the child down, lets it
//! try what capture must no longer be able to do, and inspects it from the
//! outside through /proc/PID/status.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::*;

/// Fails the test unless it runs as root (BPF maps and programs). The tests that
/// need it are `#[ignore]`d; `tests/run.sh` runs them as root.
fn require_root(test: &str) {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "{test}: needs root (BPF maps and programs)");
}

/// `union bpf_attr`, as a zeroed block the size the kernel accepts, with the
/// fields each command uses written at their offsets.
#[repr(C, align(8))]
struct BpfAttr([u8; 128]);

impl BpfAttr {
    fn new() -> Self {
        BpfAttr([0; 128])
    }
    fn u32_at(mut self, off: usize, v: u32) -> Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64_at(mut self, off: usize, v: u64) -> Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_PROG_LOAD: i64 = 5;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

fn bpf(cmd: i64, attr: &BpfAttr) -> io::Result<i64> {
    // SAFETY: attr is a valid, fully initialised bpf_attr of the size passed.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *const BpfAttr, 128u32) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// A one-entry array map (u32 key, u64 value).
fn create_map() -> io::Result<OwnedFd> {
    let attr = BpfAttr::new()
        .u32_at(0, BPF_MAP_TYPE_ARRAY)
        .u32_at(4, 4)
        .u32_at(8, 8)
        .u32_at(12, 1);
    let fd = bpf(BPF_MAP_CREATE, &attr)?;
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn map_elem(cmd: i64, map: i32, value: &mut u64) -> io::Result<()> {
    let key: u32 = 0;
    let attr = BpfAttr::new()
        .u32_at(0, map as u32)
        .u64_at(8, &key as *const u32 as u64)
        .u64_at(16, value as *mut u64 as u64);
    bpf(cmd, &attr).map(|_| ())
}

/// Tries to load `r0 = 0; exit`, the smallest valid program.
fn load_prog() -> io::Result<i64> {
    let insns: [u64; 2] = [0x0000_0000_0000_00b7, 0x0000_0000_0000_0095];
    let license = b"GPL\0";
    let attr = BpfAttr::new()
        .u32_at(0, BPF_PROG_TYPE_SOCKET_FILTER)
        .u32_at(4, 2)
        .u64_at(8, insns.as_ptr() as u64)
        .u64_at(16, license.as_ptr() as u64);
    bpf(BPF_PROG_LOAD, &attr)
}

fn open_hostname() -> io::Result<std::fs::File> {
    std::fs::File::open("/etc/hostname")
}

/// Serialises the forking tests: a child forked by one test would otherwise
/// inherit another test's pipe ends and keep them open.
static FORK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `body` in a forked child. The child reports `body`'s result (empty
/// on success) through a pipe, then waits until the parent has inspected it
/// with `inspect`, then exits. Returns the child's report.
fn in_child(body: impl FnOnce() -> Result<(), String>, inspect: impl FnOnce(i32)) -> String {
    let _serial = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (mut report_r, report_w) = pipe();
    let (release_r, mut release_w) = pipe();
    // SAFETY: the child only runs `body` and leaves with _exit, never returning
    // into the test harness; glibc keeps malloc usable after fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        drop(report_r);
        drop(release_w);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
            .unwrap_or_else(|_| Err("child panicked".into()));
        let msg = result.err().unwrap_or_default();
        let mut w = report_w;
        let _ = w.write_all(msg.as_bytes());
        drop(w);
        let mut byte = [0u8; 1];
        let mut r = release_r;
        let _ = r.read(&mut byte);
        // SAFETY: ends the child without running the harness's destructors.
        unsafe { libc::_exit(0) };
    }
    drop(report_w);
    drop(release_r);
    let mut msg = String::new();
    report_r.read_to_string(&mut msg).expect("child report");
    inspect(pid);
    let _ = release_w.write_all(b"x");
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child ended abnormally: status {status:#x}"
    );
    msg
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both fds are new and owned here.
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

fn status_fields(pid: i32) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("read /proc/PID/status")
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn locked_down_child_cannot_open_or_load_but_reads_its_map() {
    require_root("locked_down_child_cannot_open_or_load_but_reads_its_map");
    let map = create_map().expect("create a BPF array map");
    let mut v = 42u64;
    map_elem(BPF_MAP_UPDATE_ELEM, map.as_raw_fd(), &mut v).expect("seed the map");
    // Sanity: before lock-down the same actions succeed, so the denials below
    // are the sandbox's doing.
    assert!(open_hostname().is_ok() || !std::path::Path::new("/etc/hostname").exists());
    assert!(
        load_prog().is_ok(),
        "BPF_PROG_LOAD must work before lock-down"
    );

    let map_fd = map.as_raw_fd();
    let report = in_child(
        move || {
            lock_down(&SandboxConfig::default()).map_err(|e| format!("lock_down: {e}"))?;
            if open_hostname().is_ok() {
                return Err("open(/etc/hostname) succeeded after lock-down".into());
            }
            match load_prog() {
                Ok(_) => return Err("BPF_PROG_LOAD succeeded after lock-down".into()),
                Err(e) if e.raw_os_error() != Some(libc::EPERM) => {
                    return Err(format!("BPF_PROG_LOAD failed with {e}, not EPERM"))
                }
                Err(_) => {}
            }
            if create_map().is_ok() {
                return Err("BPF_MAP_CREATE succeeded after lock-down".into());
            }
            let mut got = 0u64;
            map_elem(BPF_MAP_LOOKUP_ELEM, map_fd, &mut got)
                .map_err(|e| format!("map lookup after lock-down: {e}"))?;
            if got != 42 {
                return Err(format!("map lookup returned {got}, not 42"));
            }
            // SAFETY: fork in the child; a new process must be refused.
            let pid = unsafe { libc::fork() };
            if pid >= 0 {
                if pid == 0 {
                    // SAFETY: the grandchild must not run on.
                    unsafe { libc::_exit(0) };
                }
                return Err("fork succeeded after lock-down".into());
            }
            // Threads still start (clone3 → ENOSYS → clone with CLONE_THREAD).
            let t = std::thread::spawn(|| 7).join();
            if t.ok() != Some(7) {
                return Err("a thread could not be started after lock-down".into());
            }
            Ok(())
        },
        |pid| {
            let st = status_fields(pid);
            assert_eq!(st.get("NoNewPrivs").map(String::as_str), Some("1"));
            assert_eq!(st.get("Seccomp").map(String::as_str), Some("2"));
            for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                assert_eq!(
                    st.get(set).map(String::as_str),
                    Some("0000000000000000"),
                    "{set} not cleared"
                );
            }
        },
    );
    assert_eq!(report, "", "child reported a failure");
}

#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn landlock_alone_denies_opening_files_but_keeps_open_ones() {
    require_root("landlock_alone_denies_opening_files_but_keeps_open_ones");
    let report = in_child(
        || {
            let mut before = std::fs::File::open("/proc/self/stat")
                .map_err(|e| format!("open before Landlock: {e}"))?;
            set_no_new_privs().map_err(|e| e.to_string())?;
            let status = landlock::restrict(true).map_err(|e| e.to_string())?;
            if !matches!(status, landlock::LandlockStatus::Enforced { abi } if abi >= 1) {
                return Err(format!("Landlock not enforced: {status:?}"));
            }
            match open_hostname() {
                Ok(_) => return Err("open succeeded under Landlock".into()),
                Err(e) if e.raw_os_error() != Some(libc::EACCES) => {
                    return Err(format!("open failed with {e}, not EACCES"))
                }
                Err(_) => {}
            }
            let mut s = String::new();
            before
                .read_to_string(&mut s)
                .map_err(|e| format!("reading a file opened before Landlock: {e}"))?;
            Ok(())
        },
        |_| {},
    );
    assert_eq!(report, "", "child reported a failure");
}

/// `CAP_SYS_BOOT`: a capability capture never needs, narrowed out of the
/// bounding set before the lock-down to stand for what a unit's
/// `CapabilityBoundingSet=` leaves out.
const CAP_SYS_BOOT: u32 = 22;
const CAP_SETPCAP: u32 = 8;

/// Removes `cap` from the calling thread's effective and permitted sets.
fn give_up(cap: u32) -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset read and write two Data for version 3.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
            return Err(format!("capget: {}", io::Error::last_os_error()));
        }
        let half = &mut data[(cap / 32) as usize];
        half.effective &= !(1 << (cap % 32));
        half.permitted &= !(1 << (cap % 32));
        if libc::syscall(libc::SYS_capset, &header, data.as_ptr()) != 0 {
            return Err(format!("capset: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// A capture started with a narrowed bounding set and without
/// `CAP_SETPCAP` (a least-privileged systemd unit or container) locks down
/// all the same: the sets it can clear are cleared, the bounding set is left
/// as its parent narrowed it.
#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn locks_down_without_setpcap_keeping_the_narrowed_bounding_set() {
    require_root("locks_down_without_setpcap_keeping_the_narrowed_bounding_set");
    let report = in_child(
        || {
            // SAFETY: prctl with integer arguments only.
            if unsafe {
                libc::prctl(
                    libc::PR_CAPBSET_DROP,
                    CAP_SYS_BOOT as libc::c_ulong,
                    0,
                    0,
                    0,
                )
            } != 0
            {
                return Err(format!(
                    "narrowing the bounding set: {}",
                    io::Error::last_os_error()
                ));
            }
            give_up(CAP_SETPCAP)?;
            lock_down(&SandboxConfig::default()).map_err(|e| format!("lock_down: {e}"))
        },
        |pid| {
            let st = status_fields(pid);
            assert_eq!(st.get("NoNewPrivs").map(String::as_str), Some("1"));
            assert_eq!(st.get("Seccomp").map(String::as_str), Some("2"));
            for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
                assert_eq!(
                    st.get(set).map(String::as_str),
                    Some("0000000000000000"),
                    "{set} not cleared"
                );
            }
            let bnd = st
                .get("CapBnd")
                .and_then(|v| u64::from_str_radix(v, 16).ok())
                .expect("CapBnd in /proc/PID/status");
            assert_eq!(
                bnd & (1 << CAP_SYS_BOOT),
                0,
                "CAP_SYS_BOOT back in the bounding set"
            );
            assert_ne!(bnd, 0, "the bounding set was dropped without CAP_SETPCAP");
        },
    );
    assert_eq!(report, "", "child reported a failure");
}

#[test]
fn refuses_a_process_with_several_threads() {
    let report = in_child(
        || {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let t = std::thread::spawn(move || rx.recv());
            let result = lock_down(&SandboxConfig::default());
            drop(tx);
            let _ = t.join();
            match result {
                Err(SandboxError::MultiThreaded { threads: 2 }) => Ok(()),
                other => Err(format!(
                    "expected MultiThreaded {{ threads: 2 }}, got {other:?}"
                )),
            }
        },
        |_| {},
    );
    assert_eq!(report, "", "child reported a failure");
}

/// What the control thread (`--control`) does under the sandbox: a thread
/// started after the lock-down accepts on a socket bound before it, learns
/// who connected with `SO_PEERCRED` and reads the request; but no new
/// socket can be made and no other socket option read.
#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn a_thread_started_after_lock_down_serves_a_socket_bound_before() {
    require_root("a_thread_started_after_lock_down_serves_a_socket_bound_before");
    let dir = std::env::temp_dir().join(format!("kestrel-sandbox-ctl-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let sock = dir.join("ctl.sock");
    let _ = std::fs::remove_file(&sock);
    let report = in_child(
        move || {
            use std::os::unix::net::{UnixListener, UnixStream};
            let listener = UnixListener::bind(&sock).map_err(|e| format!("bind: {e}"))?;
            let mut client = UnixStream::connect(&sock).map_err(|e| format!("connect: {e}"))?;
            client
                .write_all(b"ping")
                .map_err(|e| format!("write: {e}"))?;
            lock_down(&SandboxConfig::default()).map_err(|e| format!("lock_down: {e}"))?;
            let served = std::thread::spawn(move || -> Result<(), String> {
                let (mut conn, _) = listener.accept().map_err(|e| format!("accept4: {e}"))?;
                let mut cred = libc::ucred {
                    pid: 0,
                    uid: u32::MAX,
                    gid: 0,
                };
                let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
                // SAFETY: cred and len are valid for the kernel to write.
                let rc = unsafe {
                    libc::getsockopt(
                        conn.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_PEERCRED,
                        &mut cred as *mut libc::ucred as *mut libc::c_void,
                        &mut len,
                    )
                };
                if rc != 0 || cred.uid != 0 {
                    return Err(format!(
                        "SO_PEERCRED: rc {rc}, uid {} ({})",
                        cred.uid,
                        io::Error::last_os_error()
                    ));
                }
                let mut ty: libc::c_int = 0;
                let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                // SAFETY: ty and len are valid for the kernel to write.
                let rc = unsafe {
                    libc::getsockopt(
                        conn.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_TYPE,
                        &mut ty as *mut libc::c_int as *mut libc::c_void,
                        &mut len,
                    )
                };
                if rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
                    return Err(format!("getsockopt(SO_TYPE) was not refused (rc {rc})"));
                }
                let mut buf = [0u8; 4];
                conn.read_exact(&mut buf)
                    .map_err(|e| format!("read: {e}"))?;
                if &buf != b"ping" {
                    return Err(format!("read {buf:?}"));
                }
                Ok(())
            })
            .join()
            .map_err(|_| "the serving thread panicked".to_string())?;
            served?;
            if UnixStream::connect(&sock).is_ok() {
                return Err("a new socket was made after lock-down".into());
            }
            Ok(())
        },
        |_| {},
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(report, "", "child reported a failure");
}

/// A path whose metadata the locked-down process must not learn.
fn secret_path() -> &'static str {
    if std::path::Path::new("/etc/shadow").exists() {
        "/etc/shadow"
    } else {
        "/etc/passwd"
    }
}

/// `newfstatat(AT_FDCWD, path, &st, flags)` as the raw syscall, so no
/// library picks another call.
fn raw_newfstatat(path: &std::ffi::CStr, flags: i32) -> io::Result<()> {
    // SAFETY: st is valid for the kernel to write; path is NUL-terminated.
    let rc = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::syscall(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            path.as_ptr(),
            &mut st as *mut libc::stat,
            flags,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `statx(AT_FDCWD, path, flags, STATX_BASIC_STATS, &stx)` as the raw
/// syscall.
fn raw_statx(path: &std::ffi::CStr, flags: i32) -> io::Result<()> {
    // SAFETY: stx is valid for the kernel to write; path is NUL-terminated.
    let rc = unsafe {
        let mut stx: libc::statx = std::mem::zeroed();
        libc::syscall(
            libc::SYS_statx,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            libc::STATX_BASIC_STATS,
            &mut stx as *mut libc::statx,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends one byte and descriptor `fd` over unix socket `sock` as
/// SCM_RIGHTS ancillary data.
fn send_fd(sock: i32, fd: i32) -> io::Result<()> {
    let mut byte = [b'x'];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for one cmsghdr carrying one int, aligned as the kernel wants.
    let mut control = [0u64; 4];
    // SAFETY: msg points at live buffers of the sizes given; CMSG_* stay
    // within `control`, which is large enough for one int.
    let rc = unsafe {
        let space = libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) as usize;
        assert!(space <= std::mem::size_of_val(&control));
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd);
        libc::sendmsg(sock, &msg, 0)
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn refused_with_eperm(what: &str, res: io::Result<()>) -> Result<(), String> {
    match res {
        Ok(()) => Err(format!("{what} succeeded after lock-down")),
        Err(e) if e.raw_os_error() != Some(libc::EPERM) => {
            Err(format!("{what} failed with {e}, not EPERM"))
        }
        Err(_) => Ok(()),
    }
}

/// After the lock-down no path can be stat'ed, however the call is
/// spelled (AT_EMPTY_PATH with a non-empty path is an ordinary lookup),
/// and no descriptor can be passed out over a socket; a descriptor held
/// can still be fstat'ed and a socket still written.
#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn locked_down_child_cannot_stat_paths_or_pass_descriptors() {
    require_root("locked_down_child_cannot_stat_paths_or_pass_descriptors");
    let secret = std::ffi::CString::new(secret_path()).expect("no NUL");
    // Sanity: before lock-down each of these works, so the refusals below
    // are the sandbox's doing.
    raw_newfstatat(&secret, libc::AT_EMPTY_PATH).expect("newfstatat before lock-down");
    raw_statx(&secret, libc::AT_EMPTY_PATH).expect("statx before lock-down");
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let held = std::fs::File::open(secret_path()).expect("open before lock-down");
    send_fd(ours.as_raw_fd(), held.as_raw_fd()).expect("SCM_RIGHTS before lock-down");
    let report = in_child(
        move || {
            let mut ours = ours;
            lock_down(&SandboxConfig::default()).map_err(|e| format!("lock_down: {e}"))?;
            for flags in [0, libc::AT_EMPTY_PATH, libc::AT_SYMLINK_NOFOLLOW] {
                refused_with_eperm(
                    &format!("newfstatat of a path (flags {flags:#x})"),
                    raw_newfstatat(&secret, flags),
                )?;
                refused_with_eperm(
                    &format!("statx of a path (flags {flags:#x})"),
                    raw_statx(&secret, flags),
                )?;
            }
            if std::fs::metadata(secret_path()).is_ok() {
                return Err("std::fs::metadata of a path succeeded after lock-down".into());
            }
            refused_with_eperm(
                "sendmsg with SCM_RIGHTS",
                send_fd(ours.as_raw_fd(), held.as_raw_fd()),
            )?;
            // What stays: fstat of a descriptor held, writing a socket.
            // SAFETY: st is valid for the kernel to write.
            let rc = unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                libc::syscall(
                    libc::SYS_fstat,
                    held.as_raw_fd(),
                    &mut st as *mut libc::stat,
                )
            };
            if rc != 0 {
                return Err(format!(
                    "fstat of a held descriptor: {}",
                    io::Error::last_os_error()
                ));
            }
            ours.write_all(b"still streams")
                .map_err(|e| format!("writing a socket after lock-down: {e}"))?;
            Ok(())
        },
        |_| {},
    );
    assert_eq!(report, "", "child reported a failure");
    // The one byte sent before the lock-down, then what the child wrote.
    let mut theirs = theirs;
    theirs
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let mut got = [0u8; 14];
    theirs.read_exact(&mut got).expect("the child's write");
    assert_eq!(&got, b"xstill streams");
}
