//! Kernel tests: the real capture binary with the real probe in the running
//! kernel. Each test starts capture, runs a trigger, stops capture, and
//! asserts the exact event and parameters the trigger caused, picked out by
//! the trigger's pid (and a unique path or port), so other activity on the
//! host does not matter. Needs root: `#[ignore]`d, run by tests/run.sh.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use common::{cstr, events, gettid, require_kernel, the_event, unique_path, Capture};
use serde_json::{json, Value};

fn our_pid() -> i64 {
    std::process::id() as i64
}

/// A userspace `st_dev` in the kernel's own encoding (major << 20 | minor),
/// which the probe reports.
fn kernel_dev(st_dev: u64) -> u64 {
    let major = (st_dev >> 8) & 0xfff;
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & 0xfff00);
    (major << 20) | minor
}

/// The params of an event.
fn params(e: &Value) -> &Value {
    &e["params"]
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn openat_creating_a_file() {
    require_kernel();
    let path = unique_path("openat");
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat"]);
    let p = cstr(&path);
    // SAFETY: a valid C string; the fd is closed below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            p.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY,
            0o640,
        )
    };
    let tid = gettid();
    assert!(fd >= 0, "openat failed");
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd as i32) };
    let frames = c.stop();
    let meta = std::fs::metadata(&path).expect("created file");
    std::fs::remove_file(&path).ok();

    let e = the_event(&frames, "openat", our_pid(), |e| {
        params(e)["name"] == path.as_str()
    });
    assert_eq!(e["tid"], tid);
    assert_eq!(e["ret"], fd);
    assert_eq!(
        *params(e),
        json!({
            "dirfd": libc::AT_FDCWD,
            "name": path,
            "flags": libc::O_CREAT | libc::O_WRONLY,
            "mode": 0o640,
            "dev": kernel_dev(meta.dev()),
            "ino": meta.ino(),
        })
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn execve_with_its_argv() {
    require_kernel();
    let cwd = std::env::current_dir().unwrap();
    let c = Capture::start(&["--no-snapshot", "--syscalls", "execve"]);
    let child = Command::new("/bin/echo")
        .args(["kestrel-arg", "two words"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child_pid = child.id() as i64;
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let frames = c.stop();

    let e = the_event(&frames, "execve", child_pid, |_| true);
    let p = params(e);
    assert_eq!(e["ret"], 0);
    assert_eq!(e["tid"], child_pid);
    assert_eq!(p["filename"], "/bin/echo");
    assert_eq!(p["args"], json!(["/bin/echo", "kestrel-arg", "two words"]));
    assert_eq!(p["args_truncated"], 0);
    let exe = std::fs::canonicalize("/bin/echo").unwrap();
    assert_eq!(p["exepath"], exe.to_str().unwrap());
    assert_eq!(p["cwd"], cwd.to_str().unwrap());
    assert_eq!(p["comm"], "echo");
    assert_eq!(p["ppid"], our_pid());
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(
        (p["uid"].clone(), p["euid"].clone()),
        (json!(uid), json!(uid))
    );
    assert_eq!(
        (p["gid"].clone(), p["egid"].clone()),
        (json!(gid), json!(gid))
    );
    assert_eq!(p["exe_ino"], std::fs::metadata(&exe).unwrap().ino());
    assert_eq!(p["exe_from_memfd"], 0);
    assert!(
        p["cgroups"].as_array().is_some_and(|c| !c.is_empty()),
        "cgroups: {}",
        p["cgroups"]
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn connect_and_accept_carry_both_ports() {
    require_kernel();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_port = listener.local_addr().unwrap().port() as i64;
    let c = Capture::start(&["--no-snapshot", "--syscalls", "connect,accept,accept4"]);
    let mut client = TcpStream::connect(("127.0.0.1", server_port as u16)).unwrap();
    let client_port = client.local_addr().unwrap().port() as i64;
    let (mut served, _) = listener.accept().unwrap();
    client.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    served.read_exact(&mut b).unwrap();
    let frames = c.stop();

    let loopback = "\u{7f}\u{0}\u{0}\u{1}";
    let inet = |port: i64| json!({"family": "inet", "addr": loopback, "port": port, "rawFamily": libc::AF_INET});
    let e = the_event(&frames, "connect", our_pid(), |e| {
        params(e)["addr"]["port"] == server_port
    });
    assert_eq!(e["ret"], 0);
    assert_eq!(params(e)["addr"], inet(server_port));
    assert_eq!(
        params(e)["tuple"],
        json!({"local": inet(client_port), "remote": inet(server_port)})
    );

    // std's accept is accept4.
    let e = the_event(&frames, "accept4", our_pid(), |e| {
        params(e)["tuple"]["remote"]["port"] == client_port
    });
    assert!(e["ret"].as_i64().unwrap() >= 0);
    assert_eq!(
        params(e)["tuple"],
        json!({"local": inet(server_port), "remote": inet(client_port)})
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn symlinkat_fchmodat_fchownat() {
    require_kernel();
    let file = unique_path("attrs");
    let link = format!("{file}.link");
    std::fs::write(&file, b"x").unwrap();
    let c = Capture::start(&["--no-snapshot", "--syscalls", "symlinkat,fchmodat,fchownat"]);
    let (f, l) = (cstr(&file), cstr(&link));
    let target = cstr("some/relative/target");
    // SAFETY: valid C strings.
    let rcs = unsafe {
        [
            libc::syscall(
                libc::SYS_symlinkat,
                target.as_ptr(),
                libc::AT_FDCWD,
                l.as_ptr(),
            ),
            libc::syscall(libc::SYS_fchmodat, libc::AT_FDCWD, f.as_ptr(), 0o604),
            libc::syscall(
                libc::SYS_fchownat,
                libc::AT_FDCWD,
                f.as_ptr(),
                1234,
                5678,
                0,
            ),
        ]
    };
    let frames = c.stop();
    std::fs::remove_file(&file).ok();
    std::fs::remove_file(&link).ok();
    assert_eq!(rcs, [0, 0, 0]);

    let e = the_event(&frames, "symlinkat", our_pid(), |e| {
        params(e)["linkpath"] == link.as_str()
    });
    assert_eq!(e["ret"], 0);
    assert_eq!(
        *params(e),
        json!({"target": "some/relative/target", "linkdirfd": libc::AT_FDCWD, "linkpath": link})
    );
    let e = the_event(&frames, "fchmodat", our_pid(), |e| {
        params(e)["filename"] == file.as_str()
    });
    assert_eq!(e["ret"], 0);
    assert_eq!(
        *params(e),
        json!({"dirfd": libc::AT_FDCWD, "filename": file, "mode": 0o604})
    );
    let e = the_event(&frames, "fchownat", our_pid(), |e| {
        params(e)["pathname"] == file.as_str()
    });
    assert_eq!(e["ret"], 0);
    assert_eq!(
        *params(e),
        json!({"dirfd": libc::AT_FDCWD, "pathname": file, "uid": 1234, "gid": 5678, "flags": 0})
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn setns_into_a_namespace_made_by_unshare() {
    require_kernel();
    let c = Capture::start(&["--no-snapshot", "--syscalls", "unshare,setns"]);
    // A process in a new UTS namespace, made by unshare(CLONE_NEWUTS).
    let mut holder = Command::new("unshare")
        .args(["--uts", "sleep", "10"])
        .spawn()
        .unwrap();
    let holder_pid = holder.id() as i64;
    let ns = cstr(&format!("/proc/{holder_pid}/ns/uts"));
    // Wait until unshare has switched and exec'd sleep.
    let own_uts = std::fs::read_link("/proc/self/ns/uts").unwrap();
    for _ in 0..200 {
        let theirs = std::fs::read_link(format!("/proc/{holder_pid}/ns/uts")).ok();
        let comm = std::fs::read_to_string(format!("/proc/{holder_pid}/comm")).unwrap_or_default();
        if theirs.is_some_and(|t| t != own_uts) && comm.trim() == "sleep" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // A child that joins it: fork, open, setns, _exit only.
    // SAFETY: the child calls only async-signal-safe functions.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: as above.
        unsafe {
            let fd = libc::open(ns.as_ptr(), libc::O_RDONLY);
            let rc = libc::setns(fd, libc::CLONE_NEWUTS);
            libc::_exit(if fd >= 0 && rc == 0 { fd } else { 255 });
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    holder.kill().ok();
    holder.wait().ok();
    let frames = c.stop();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 255,
        "setns in the child failed"
    );
    let child_fd = libc::WEXITSTATUS(status) as i64;

    let e = the_event(&frames, "unshare", holder_pid, |_| true);
    assert_eq!(e["ret"], 0);
    assert_eq!(params(e)["flags"], libc::CLONE_NEWUTS);
    let e = the_event(&frames, "setns", child as i64, |_| true);
    assert_eq!(e["ret"], 0);
    assert_eq!(
        *params(e),
        json!({"fd": child_fd, "nstype": libc::CLONE_NEWUTS})
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn clone_whose_child_calls_execve() {
    require_kernel();
    let c = Capture::start(&["--no-snapshot", "--syscalls", "clone,execve"]);
    let path = cstr("/bin/true");
    let argv = [path.as_ptr(), std::ptr::null()];
    // glibc's fork() is clone(SIGCHLD | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID).
    // SAFETY: the child only calls execv and _exit.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: as above.
        unsafe {
            libc::execv(path.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let frames = c.stop();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    let child = child as i64;

    let parent = the_event(&frames, "clone", our_pid(), |e| e["ret"] == child);
    let flags = params(parent)["flags"].as_u64().unwrap();
    assert_eq!(
        flags & 0xff,
        libc::SIGCHLD as u64,
        "exit signal in flags {flags:#x}"
    );
    assert_eq!(
        flags & libc::CLONE_CHILD_SETTID as u64,
        libc::CLONE_CHILD_SETTID as u64
    );
    // The child's side of the same clone.
    let child_side = the_event(&frames, "clone", child, |_| true);
    assert_eq!(
        (child_side["ret"].clone(), child_side["tid"].clone()),
        (json!(0), json!(child))
    );
    let exec = the_event(&frames, "execve", child, |_| true);
    assert_eq!(exec["ret"], 0);
    assert_eq!(params(exec)["filename"], "/bin/true");
    assert_eq!(params(exec)["args"], json!(["/bin/true"]));
    assert_eq!(params(exec)["ppid"], our_pid());
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn snapshot_reports_a_process_started_before_capture() {
    require_kernel();
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleeper.id() as i64;
    // Until it has exec'd sleep.
    for _ in 0..200 {
        if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let c = Capture::start(&["--syscalls", "procexit"]);
    let frames = c.stop();
    sleeper.kill().ok();
    sleeper.wait().ok();

    let e = the_event(&frames, "procinfo", pid, |_| true);
    let t = &e["thread"];
    assert_eq!(
        (t["pid"].clone(), t["tid"].clone(), t["ppid"].clone()),
        (json!(pid), json!(pid), json!(our_pid()))
    );
    assert_eq!(t["name"], "sleep");
    assert_eq!(t["args"], json!(["30"]));
    // Snapshot events come before any live event.
    let first_live = frames
        .iter()
        .position(|f| f.get("event").is_some_and(|e| e["type"] != "procinfo"));
    let last_snap = frames
        .iter()
        .rposition(|f| f.get("event").is_some_and(|e| e["type"] == "procinfo"));
    if let (Some(live), Some(snap)) = (first_live, last_snap) {
        assert!(
            snap < live,
            "a live event came before the end of the snapshot"
        );
    }
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn stats_frames_count_events_per_kind_and_drops() {
    require_kernel();
    let c = Capture::start(&["--no-snapshot", "--syscalls", "openat"]);
    let path = unique_path("stats");
    for _ in 0..10 {
        std::fs::write(&path, b"x").unwrap();
    }
    std::fs::remove_file(&path).ok();
    let frames = c.stop();
    let ours = events(&frames, "openat", our_pid())
        .into_iter()
        .filter(|e| params(e)["name"] == path.as_str())
        .count();
    assert_eq!(ours, 10);
    let last = frames
        .iter()
        .rev()
        .find_map(|f| f.get("stats"))
        .expect("a final stats frame");
    assert_eq!(last["stage"], "capture");
    let counter = |name: &str| {
        last["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["value"].as_u64().unwrap())
    };
    let openats = frames.iter().filter(|f| f.get("event").is_some()).count() as u64;
    assert_eq!(counter("events"), Some(openats));
    assert_eq!(counter("events.openat"), Some(openats));
    assert_eq!(counter("drops.ringbuf_full"), Some(0));
    assert_eq!(counter("bad_records"), Some(0));
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn execveat_of_a_memfd_is_flagged() {
    require_kernel();
    let image = std::fs::read("/bin/true").unwrap();
    let name = cstr("kestrel-memfd");
    let empty = cstr("");
    let argv0 = cstr("memfd-true");
    let argv = [argv0.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let c = Capture::start(&["--no-snapshot", "--syscalls", "execveat"]);
    // SAFETY: the child only calls memfd_create, write, execveat and _exit.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: as above; `image` outlives the writes.
        unsafe {
            let fd = libc::memfd_create(name.as_ptr(), 0);
            let mut off = 0;
            while off < image.len() {
                let n = libc::write(fd, image[off..].as_ptr().cast(), image.len() - off);
                if n <= 0 {
                    libc::_exit(126);
                }
                off += n as usize;
            }
            libc::syscall(
                libc::SYS_execveat,
                fd,
                empty.as_ptr(),
                argv.as_ptr(),
                envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
            libc::_exit(127);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let frames = c.stop();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );

    let e = the_event(&frames, "execveat", child as i64, |_| true);
    let p = params(e);
    assert_eq!(e["ret"], 0);
    assert!(p["dirfd"].as_i64().unwrap() >= 0);
    assert_eq!(p["pathname"], "");
    assert_eq!(p["flags"], libc::AT_EMPTY_PATH);
    assert_eq!(p["args"], json!(["memfd-true"]));
    assert_eq!(p["exe_from_memfd"], 1);
    assert!(
        p["exepath"]
            .as_str()
            .unwrap()
            .contains("memfd:kestrel-memfd"),
        "{}",
        p["exepath"]
    );
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn a_full_ring_buffer_is_counted_as_drops() {
    require_kernel();
    // A 1 MiB ring and a reader that does not read: capture blocks on its
    // output, the ring fills, and the probe must count what it cannot send.
    let mut child = Command::new(env!("CARGO_BIN_EXE_capture"))
        .args([
            "--no-snapshot",
            "--syscalls",
            "openat",
            "--buffer-size",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    stdout.read_exact(&mut first).unwrap();
    let path = cstr(&unique_path("flood"));
    const OPENS: usize = 100_000;
    for _ in 0..OPENS {
        // SAFETY: a valid C string; the fd is closed at once.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CREAT, 0o600);
            libc::close(fd);
        }
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    std::fs::remove_file(path.to_str().unwrap()).ok();

    let mut stream = first.to_vec();
    stream.extend(rest);
    let mut r = schema::FrameReader::new(&stream[..]);
    r.read_header().unwrap();
    let (mut events, mut last_stats) = (0u64, None);
    while let Some(f) = r.next().unwrap() {
        let v = schema::json::frame_to_json(f.root().unwrap()).unwrap();
        if v.get("event").is_some() {
            events += 1;
        } else if let Some(s) = v.get("stats") {
            last_stats = Some(s.clone());
        }
    }
    let s = last_stats.expect("final stats");
    let counter = |name: &str| {
        s["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_u64())
            .unwrap()
    };
    let dropped = counter("drops.ringbuf_full");
    assert!(
        dropped > 0,
        "no drops with a blocked reader and {OPENS} opens into a 1 MiB ring"
    );
    assert_eq!(counter("events"), events, "every event frame is counted");
    assert!(
        events + dropped >= OPENS as u64,
        "{events} sent + {dropped} dropped < {OPENS} opens"
    );
}

/// Issue 3 item 5, on the real binary: once capture has started streaming it
/// has no_new_privs, a seccomp filter and no capability left, so it can
/// neither open a file (Landlock, and no CAP_DAC_*) nor load a BPF program
/// (no CAP_BPF/CAP_SYS_ADMIN, and seccomp refuses BPF_PROG_LOAD). The
/// refusals themselves are exercised in the sandbox's forked-child tests;
/// this checks that the real process is in that state.
#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn after_start_up_capture_holds_no_privilege() {
    require_kernel();
    let c = Capture::start(&["--syscalls", "openat"]);
    let status_path = format!("/proc/{}/status", c.pid());
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    // The snapshot comes before the lock-down: wait for it.
    let start = std::time::Instant::now();
    let status = loop {
        let text = std::fs::read_to_string(&status_path).expect("capture's /proc status");
        if field(&text, "Seccomp:") == "2" {
            break text;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "capture never installed its seccomp filter:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(field(&status, "NoNewPrivs:"), "1");
    for caps in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        assert_eq!(
            field(&status, caps),
            "0000000000000000",
            "{caps} of a locked-down capture"
        );
    }
    // And it still streams afterwards.
    let path = unique_path("locked");
    std::fs::write(&path, b"x").unwrap();
    std::fs::remove_file(&path).ok();
    let frames = c.stop();
    assert!(
        events(&frames, "openat", our_pid())
            .iter()
            .any(|e| params(e)["name"] == path.as_str()),
        "no event after the lock-down"
    );
}

/// The bytes of `args` as the kernel lays argv out: each argument and its
/// NUL, back to back.
fn argv_bytes(args: &[String]) -> Vec<u8> {
    args.iter()
        .flat_map(|a| a.bytes().chain(std::iter::once(0)))
        .collect()
}

/// What the probe should record of argv bytes `real`: at most
/// `MAX_ARGS_BYTES` of them, read as a NUL-separated list.
fn expected_args(real: &[u8]) -> (Vec<String>, u64) {
    let cut = real.len() > MAX_ARGS_BYTES;
    let kept = &real[..real.len().min(MAX_ARGS_BYTES)];
    let kept = kept.strip_suffix(&[0]).unwrap_or(kept);
    let list = kept
        .split(|&b| b == 0)
        .map(|s| String::from_utf8(s.to_vec()).expect("ASCII arguments"))
        .collect();
    (list, u64::from(cut))
}

/// The probe's argv limit (capture's `layout::MAX_ARGS_BYTES`).
const MAX_ARGS_BYTES: usize = 4096;

/// An argv of `total` bytes (NULs included) that starts with /bin/true and
/// `marker`, padded with arguments whose every byte says where it is, so a
/// byte from anywhere else cannot pass for one of them.
fn padded_argv(marker: &str, total: usize) -> Vec<String> {
    let mut args = vec!["/bin/true".to_string(), marker.to_string()];
    let mut len = argv_bytes(&args).len();
    let mut i = 0;
    while len < total {
        // Each pad is at most 100 bytes with its NUL; the last one fills
        // exactly up to `total`.
        let room = (total - len).min(100);
        let pad: String = format!("pad{i:04}-")
            .chars()
            .cycle()
            .take(room - 1)
            .collect();
        len += pad.len() + 1;
        args.push(pad);
        i += 1;
    }
    assert_eq!(argv_bytes(&args).len(), total);
    args
}

/// argv of the probe's limit and beyond: the record holds exactly the first
/// MAX_ARGS_BYTES of the real arguments (the limit itself included, not
/// one byte less), never memory of earlier records, and says whether it
/// cut them.
#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn execve_with_argv_at_and_beyond_the_limit_records_only_real_bytes() {
    require_kernel();
    let c = Capture::start(&["--no-snapshot", "--syscalls", "execve"]);
    // Earlier execs with other, long arguments fill the probe's working
    // memory with bytes that must not reappear.
    let decoy: Vec<String> = (0..80).map(|i| format!("decoy{i:03}-").repeat(8)).collect();
    let st = Command::new("/bin/true").args(&decoy).status().unwrap();
    assert!(st.success());
    let mut cases = Vec::new();
    for total in [
        MAX_ARGS_BYTES - 1,
        MAX_ARGS_BYTES,
        MAX_ARGS_BYTES + 1,
        3 * MAX_ARGS_BYTES,
    ] {
        let marker = format!("kestrel-argv-marker-{total}");
        let args = padded_argv(&marker, total);
        let mut child = Command::new(&args[0]).args(&args[1..]).spawn().unwrap();
        let pid = child.id() as i64;
        assert!(child.wait().unwrap().success());
        cases.push((total, pid, args));
    }
    let frames = c.stop();
    for (total, pid, args) in cases {
        let e = the_event(&frames, "execve", pid, |_| true);
        let p = params(e);
        assert_eq!(e["ret"], 0);
        let (list, cut) = expected_args(&argv_bytes(&args));
        assert_eq!(
            p["args"].as_array().map(Vec::len),
            Some(list.len()),
            "argv of {total} bytes: {}",
            p["args"]
        );
        assert_eq!(p["args"][1], args[1], "argv of {total} bytes: the marker");
        assert_eq!(p["args"], json!(list), "argv of {total} bytes");
        assert_eq!(p["args_truncated"], cut, "argv of {total} bytes");
    }
}

/// The generic user-bytes reader at and beyond its bound, and on memory
/// that cannot be read: connect's address (MAX_SOCKADDR_BYTES, 128). An
/// abstract unix name is every byte after the family, so the record shows
/// exactly how many bytes were read and from where.
#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn connect_address_at_and_beyond_the_limit_records_only_real_bytes() {
    require_kernel();
    const MAX_SOCKADDR_BYTES: usize = 128;
    // SAFETY: a plain socket call; the fd is closed below.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0);
    let mut buf = vec![0u8; 4 * MAX_SOCKADDR_BYTES];
    buf[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
    buf[2] = 0;
    for (i, b) in buf.iter_mut().enumerate().skip(3) {
        *b = b'a' + (i % 26) as u8;
    }
    let c = Capture::start(&["--no-snapshot", "--syscalls", "connect"]);
    let lens = [MAX_SOCKADDR_BYTES - 1, MAX_SOCKADDR_BYTES, buf.len()];
    for len in lens {
        // SAFETY: buf holds `len` bytes; the calls fail (the name is too
        // long or not listening), which is what is recorded.
        unsafe { libc::connect(fd, buf.as_ptr().cast(), len as libc::socklen_t) };
    }
    // An address that cannot be read: a page that is not mapped.
    // SAFETY: the kernel only tries to read it and fails with EFAULT.
    let unmapped = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        libc::connect(fd, p.cast(), 16);
        libc::munmap(p, 4096);
        p as usize
    };
    assert_ne!(unmapped, libc::MAP_FAILED as usize);
    let frames = c.stop();
    // SAFETY: closing the socket made above.
    unsafe { libc::close(fd) };
    let ours: Vec<&Value> = events(&frames, "connect", our_pid())
        .into_iter()
        .filter(|e| e["params"]["fd"] == fd)
        .collect();
    assert_eq!(ours.len(), lens.len() + 1, "{ours:#?}");
    for (e, len) in ours.iter().zip(lens) {
        let recorded = len.min(MAX_SOCKADDR_BYTES);
        let name = String::from_utf8(buf[2..recorded].to_vec()).unwrap();
        assert_eq!(
            params(e)["addr"]["path"],
            name,
            "an address of {len} bytes: {}",
            params(e)["addr"]
        );
    }
    assert_eq!(
        params(ours[lens.len()])["addr"],
        Value::Null,
        "{}",
        ours[lens.len()]
    );
}
