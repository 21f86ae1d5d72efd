//! End-to-end proof that kestrel's default rules detect on the real kernel:
//! the live pipeline `capture | enrich | evaluate --format json` with the
//! rules of `rules/`, the trigger programs of `tests/triggers/` run on the
//! host, in real docker and podman containers and in a Kubernetes pod made
//! through containerd's CRI, and a benign workload
//! that must stay quiet.
//!
//! These tests need root (capture loads the eBPF probe), the built stage
//! binaries, a C compiler for the triggers and, for the container test, the
//! runtimes of `tests/ctr-test-env.sh`. So they are `#[ignore]`d
//! and run by tests/run.sh. The rules' unit-level fixtures
//! are `rules/tests/`, run by `rules_fixtures.rs`.

#[path = "e2e_rules/containers.rs"]
mod containers;
#[path = "e2e_rules/expect.rs"]
mod expect;
#[path = "e2e_rules/pipeline.rs"]
mod pipeline;
#[path = "e2e_rules/triggers.rs"]
mod triggers;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use kestrel_tests::cri;
use kestrel_tests::run::require;

use expect::Expect;
use pipeline::{Alert, Config, Pipeline};

/// One pipeline at a time: they would see each other's triggers, and the
/// machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// How long the pipeline may take from start to its first alert (probe
/// load, /proc snapshot).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an event may take to come out as an alert once the pipeline runs
/// (enrich holds a new container's events back while it fetches metadata).
const ALERT_TIMEOUT: Duration = Duration::from_secs(20);

const STAGES: [&str; 3] = ["capture", "enrich", "evaluate"];

/// The default rule that ships disabled (it may cost every syscall, see
/// rules/process.yaml); the host test enables it.
const COMPAT_RULE: &str = "32-bit syscall ABI used";

/// What every test needs; `None` when something is missing and the test is
/// skipped.
struct Env {
    bin: PathBuf,
    triggers: PathBuf,
    work: tempfile::TempDir,
}

fn env() -> Option<Env> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    require("root (capture loads the eBPF probe)", root);
    let bin = pipeline::bin_dir(&STAGES);
    require(
        "the capture, enrich and evaluate binaries (cargo build -p capture -p enrich -p evaluate)",
        bin.is_some(),
    );
    let triggers = triggers::build();
    if let Err(e) = &triggers {
        require(
            &format!("a C compiler with static libc for tests/triggers ({e})"),
            false,
        );
    }
    let work = tempfile::Builder::new()
        .prefix("kt-e2e-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"));
    Some(Env {
        bin: bin?,
        triggers: triggers.ok()?,
        work,
    })
}

fn rules_dir() -> PathBuf {
    pipeline::workspace().join("rules")
}

/// What a test changes in the pipeline: the rules, and extra stage
/// arguments.
struct Stages {
    rules: Vec<PathBuf>,
    enrich: Vec<String>,
    evaluate: Vec<String>,
}

impl Stages {
    fn default_rules() -> Stages {
        Stages {
            rules: vec![rules_dir()],
            enrich: Vec::new(),
            evaluate: Vec::new(),
        }
    }
}

/// Starts the pipeline and waits until it is live: the marker trigger is run
/// until its alert comes out.
fn start(env: &Env, test: &str, stages: Stages, marker: &dyn Fn(&str)) -> Pipeline {
    let logs = logs_dir(test);
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("mkdir logs: {e}"));
    let mut p = Pipeline::start(Config {
        bin: &env.bin,
        rules: stages.rules,
        enrich_args: stages.enrich,
        evaluate_args: stages.evaluate,
        logs: &logs,
    });
    let start = std::time::Instant::now();
    let mut n = 0;
    loop {
        n += 1;
        let tag = format!("kt-start-{n}");
        marker(&tag);
        if p.wait_for(Duration::from_secs(2), |a| is_marker(a, &tag)) {
            return p;
        }
        assert!(
            start.elapsed() < START_TIMEOUT,
            "the pipeline produced no alert for the marker trigger within {START_TIMEOUT:?}\n{}",
            p.logs_text()
        );
    }
}

/// Where a test's stage logs and alerts are kept (target/tmp/e2e-rules/TEST),
/// replaced at each run and left for reading after a failure.
fn logs_dir(test: &str) -> PathBuf {
    let dir = logs_dir_path(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn logs_dir_path(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-rules")
        .join(test)
}

/// The alert of the marker trigger run with `tag`: kt-readshadow's read of
/// /etc/shadow.
fn is_marker(a: &Alert, tag: &str) -> bool {
    a.rule() == "Credential file read by an unexpected program"
        && a.field("proc.cmdline").is_some_and(|c| c.ends_with(tag))
}

/// Runs the marker once more and waits for it, so that every event before it
/// has been through the pipeline; then stops the pipeline.
fn finish(mut p: Pipeline, marker: &dyn Fn(&str)) -> Vec<Alert> {
    marker("kt-end");
    let seen = p.wait_for(ALERT_TIMEOUT, |a| is_marker(a, "kt-end"));
    assert!(seen, "the end marker's alert never came\n{}", p.logs_text());
    p.stop()
}

/// Checks every expectation against `alerts`, reporting all misses at once.
fn check(alerts: &[Alert], expected: &[Expect], logs: &Path) {
    let misses: Vec<String> = expected
        .iter()
        .filter(|e| !alerts.iter().any(|a| e.matches(a)))
        .map(|e| format!("  {e}"))
        .collect();
    if misses.is_empty() {
        return;
    }
    let seen: Vec<String> = alerts
        .iter()
        .map(|a| {
            format!(
                "  {}: {}",
                a.rule(),
                a.0.get("output").and_then(|o| o.as_str()).unwrap_or("")
            )
        })
        .collect();
    panic!(
        "{} expected alert(s) missing:\n{}\nalerts seen ({}):\n{}\n(all logs in {})",
        misses.len(),
        misses.join("\n"),
        seen.len(),
        seen.join("\n"),
        logs.display()
    );
}

#[test]
#[ignore = "needs root, the kernel probe, the built stages and container runtimes; tests/run.sh runs it"]
fn host_triggers_fire_their_rules() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(env) = env() else { return };
    let t = |name: &str| env.triggers.join(format!("kt-{name}"));
    let marker = |tag: &str| triggers::run(&t("readshadow"), &[tag]);
    let stages = Stages {
        evaluate: vec!["--enable".into(), COMPAT_RULE.into()],
        ..Stages::default_rules()
    };
    let p = start(&env, "host", stages, &marker);

    let scratch = env.work.path().join("home");
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let dir = scratch.to_str().unwrap_or_default().to_string();
    for name in [
        "binwrite",
        "etcwrite",
        "hardlink",
        "permchange",
        "logtamper",
        "unshare",
        "relagent",
    ] {
        triggers::run(&t(name), &[]);
    }
    for name in ["sshkey", "cloudcreds", "symlink", "setuidbit", "history"] {
        triggers::run(&t(name), &[&dir]);
    }
    for name in [
        "revshell", "memfd", "modload", "ptrace", "bpfload", "compat32",
    ] {
        triggers::run(&t(name), &[]);
    }
    // The same do-nothing program, run from each scratch directory.
    let shm = tempfile::Builder::new()
        .prefix("kt-e2e-")
        .tempdir_in("/dev/shm")
        .unwrap_or_else(|e| panic!("cannot make a directory in /dev/shm: {e}"));
    let mut scratch_exes = Vec::new();
    for d in [Path::new("/tmp"), shm.path()] {
        let exe = tempfile::Builder::new()
            .prefix("kt-")
            .tempdir_in(d)
            .unwrap_or_else(|e| panic!("mkdir in {}: {e}", d.display()));
        let path = exe.path().join("kt-tmpexec");
        std::fs::copy(t("tmpexec"), &path).unwrap_or_else(|e| panic!("copy kt-tmpexec: {e}"));
        triggers::run(&path, &[]);
        scratch_exes.push((exe, path));
    }

    // Near misses, named by a directory outside /tmp (running a program
    // from /tmp is itself a trigger).
    let near = pipeline::exec_root().join("kt-near-misses");
    let near_text = near.display().to_string();
    let script = pipeline::workspace().join("tests/triggers/near-misses.sh");
    triggers::run(
        Path::new("bash"),
        &[&script.display().to_string(), &near_text],
    );

    let alerts = finish(p, &marker);
    let near_alerts: Vec<String> = alerts
        .iter()
        .filter(|a| {
            a.field("proc.cmdline")
                .is_some_and(|c| c.contains(&near_text))
        })
        .map(|a| {
            format!(
                "  {}: {}",
                a.rule(),
                a.0.get("output").and_then(|o| o.as_str()).unwrap_or("")
            )
        })
        .collect();
    assert!(
        near_alerts.is_empty(),
        "near misses raised {} alert(s):\n{}",
        near_alerts.len(),
        near_alerts.join("\n")
    );
    let mut expected = expect::host(&dir);
    for (_, path) in &scratch_exes {
        expected.push(
            Expect::new("Program run from a temporary directory")
                .field("proc.exepath", &path.display().to_string()),
        );
    }
    check(&alerts, &expected, &logs_dir_path("host"));
}

#[test]
#[ignore = "needs root, the kernel probe, the built stages and container runtimes; tests/run.sh runs it"]
fn container_triggers_fire_their_rules() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(env) = env() else { return };
    let runtimes = containers::up();
    if let Err(e) = &runtimes {
        require(
            &format!("container runtimes from tests/ctr-test-env.sh ({e})"),
            false,
        );
    }
    let Ok(runtimes) = runtimes else { return };
    let t = |name: &str| env.triggers.join(format!("kt-{name}"));
    let marker = |tag: &str| triggers::run(&t("readshadow"), &[tag]);
    let cri_socket = cri::socket();
    if let Err(e) = &cri_socket {
        require(&format!("containerd's CRI socket ({e})"), false);
    }
    let Ok(cri_socket) = cri_socket else { return };
    let mut enrich_args: Vec<String> = runtimes.iter().flat_map(|r| r.enrich_args()).collect();
    enrich_args.extend(["--cri-socket".into(), cri_socket.display().to_string()]);
    let stages = Stages {
        enrich: enrich_args,
        ..Stages::default_rules()
    };
    let mut p = start(&env, "containers", stages, &marker);

    // The setuid trigger must be root-owned with the set-user-ID bit; the
    // container runs it as an unprivileged user.
    let suid = env.work.path().join("suid");
    std::fs::create_dir_all(&suid).unwrap_or_else(|e| panic!("mkdir: {e}"));
    triggers::set_mode(&suid, 0o755).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(t("suidroot"), suid.join("kt-suidroot")).unwrap_or_else(|e| panic!("copy: {e}"));
    triggers::set_mode(&suid.join("kt-suidroot"), 0o4755).unwrap_or_else(|e| panic!("{e}"));

    let mut expected = Vec::new();
    let mut started = Vec::new();
    for rt in &runtimes {
        let set = run_container_triggers(rt, &env.triggers, &suid, &mut p);
        expected.extend(expect::containers(&set.ids()));
        started.push(set);
    }
    // The same containers in a Kubernetes pod, through containerd's CRI:
    // every alert names the pod and its namespace.
    let pod = run_cri_triggers(&cri_socket, &env.triggers, &suid, &mut p);
    expected.extend(expect::containers(&pod.ids()).into_iter().map(|e| {
        e.field("k8s.pod.name", &pod.pod.name)
            .field("k8s.ns.name", cri::NAMESPACE)
    }));
    let alerts = finish(p, &marker);
    check(&alerts, &expected, &logs_dir_path("containers"));
    drop(started);
    drop(pod);
}

/// The containers of one runtime, kept until the alerts are checked.
struct ContainerSet<'a> {
    busy: containers::Container<'a>,
    privileged: containers::Container<'a>,
    host_mount: containers::Container<'a>,
    setuid: containers::Container<'a>,
    outbound: containers::Container<'a>,
}

impl ContainerSet<'_> {
    fn ids(&self) -> expect::ContainerIds<'_> {
        expect::ContainerIds {
            busy: &self.busy.id,
            privileged: &self.privileged.id,
            host_mount: &self.host_mount.id,
            setuid: &self.setuid.id,
            outbound: &self.outbound.id,
        }
    }
}

/// Starts the trigger containers on `rt` (see [`expect::ContainerIds`]) and
/// waits until their triggers have run.
fn run_container_triggers<'a>(
    rt: &'a containers::Runtime,
    triggers: &Path,
    suid: &Path,
    p: &mut Pipeline,
) -> ContainerSet<'a> {
    let trig = containers::Runtime::trig_mount(triggers);
    let suid = containers::Runtime::trig_mount(suid);
    let busy = rt.start(
        &["--network", "none", "-v", &trig],
        &["sh", "-c", BUSY_SCRIPT],
    );
    let privileged = rt.start(
        &["--privileged", "--network", "none", "-v", &trig],
        &["sh", "-c", "/trig/kt-sysctl; /trig/kt-capset"],
    );
    let host_mount = rt.start(&["--network", "none", "-v", "/etc:/host-etc:ro"], &["true"]);
    let setuid = rt.start(
        &["--network", "none", "--user", "1000:1000", "-v", &suid],
        &["/trig/kt-suidroot"],
    );
    let outbound = rt.start(&["--network", "host", "-v", &trig], &["/trig/kt-connect"]);
    for c in [&privileged, &host_mount, &setuid, &outbound] {
        c.wait();
    }
    // The script's triggers have run once its reverse shell is seen; the
    // shell exec'd afterwards is then a second process in the container.
    let in_busy = |a: &Alert| a.field("container.id").as_deref() == Some(busy.id.as_str());
    if !p.wait_for(ALERT_TIMEOUT, |a| in_busy(a) && a.rule() == "Reverse shell") {
        eprintln!(
            "NOTE: no reverse shell alert from {} container {} yet",
            rt.name, busy.id
        );
    }
    busy.exec(&["sh", "-c", "exit 0"]);
    ContainerSet {
        busy,
        privileged,
        host_mount,
        setuid,
        outbound,
    }
}

/// What the busy container runs. The image is busybox with few applet
/// links: `busybox cp` and `busybox mkdir` name the applets directly.
const BUSY_SCRIPT: &str = "/trig/kt-unshare; /trig/kt-mount; /trig/kt-listen; /trig/kt-etcwrite; \
                  busybox mkdir -p /usr/local/bin && /trig/kt-binwrite; \
                  busybox cp /trig/kt-tmpexec /tmp/kt-tmpexec && /tmp/kt-tmpexec; \
                  /trig/kt-memfd; /trig/kt-revshell; exec sleep 60";

/// The trigger containers in one pod on containerd's CRI, kept (with the
/// pod) until the alerts are checked.
struct CriSet {
    pod: cri::Pod,
    /// Full ids, in [`expect::ContainerIds`]'s order.
    ids: [String; 5],
}

impl CriSet {
    fn ids(&self) -> expect::ContainerIds<'_> {
        // `container.id` is the first 12 characters, as for the others.
        let short = |i: usize| &self.ids[i][..12.min(self.ids[i].len())];
        expect::ContainerIds {
            busy: short(0),
            privileged: short(1),
            host_mount: short(2),
            setuid: short(3),
            outbound: short(4),
        }
    }
}

/// [`run_container_triggers`] in a pod created through containerd's CRI.
/// The pod shares the host's network (no CNI here), so the busy container
/// does too.
fn run_cri_triggers(socket: &Path, triggers: &Path, suid: &Path, p: &mut Pipeline) -> CriSet {
    let name = format!("kt-e2e-{}", std::process::id());
    let mut pod = cri::Pod::run(socket, &name).unwrap_or_else(|e| panic!("CRI pod: {e}"));
    let trig = [(triggers, "/trig")];
    let busy = pod.start(&cri::Spec {
        name: "busy",
        command: &["sh", "-c", BUSY_SCRIPT],
        mounts: &trig,
        ..Default::default()
    });
    let privileged = pod.start(&cri::Spec {
        name: "privileged",
        command: &["sh", "-c", "/trig/kt-sysctl; /trig/kt-capset"],
        mounts: &trig,
        privileged: true,
        ..Default::default()
    });
    let host_mount = pod.start(&cri::Spec {
        name: "host-mount",
        command: &["true"],
        mounts: &[(Path::new("/etc"), "/host-etc")],
        ..Default::default()
    });
    let setuid = pod.start(&cri::Spec {
        name: "setuid",
        command: &["/trig/kt-suidroot"],
        mounts: &[(suid, "/trig")],
        user: Some(1000),
        ..Default::default()
    });
    let outbound = pod.start(&cri::Spec {
        name: "outbound",
        command: &["/trig/kt-connect"],
        mounts: &trig,
        ..Default::default()
    });
    for id in [&privileged, &host_mount, &setuid, &outbound] {
        pod.wait(id);
    }
    let short: String = busy.chars().take(12).collect();
    let in_busy = |a: &Alert| a.field("container.id").as_deref() == Some(short.as_str());
    if !p.wait_for(ALERT_TIMEOUT, |a| in_busy(a) && a.rule() == "Reverse shell") {
        eprintln!("NOTE: no reverse shell alert from CRI container {short} yet");
    }
    pod.exec(&busy, &["sh", "-c", "exit 0"]);
    CriSet {
        pod,
        ids: [busy, privileged, host_mount, setuid, outbound],
    }
}

/// Name of the shell that runs the benign workload: every process of the
/// workload has it as an ancestor, which is how its alerts are told apart
/// from the rest of the machine's.
const BENIGN_ROOT: &str = "kt-benign";

#[test]
#[ignore = "needs root, the kernel probe, the built stages and container runtimes; tests/run.sh runs it"]
fn benign_workload_raises_nothing_at_warning_or_above() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(env) = env() else { return };
    let have_cargo = kestrel_tests::run::have_program("cargo");
    require("cargo, for the benign workload's Rust build", have_cargo);
    // The root shell lives in the target directory, not in /tmp, where
    // running it would be exactly what "Program run from a temporary
    // directory" reports.
    let root = pipeline::exec_root().join(BENIGN_ROOT);
    let bash = ["/bin/bash", "/usr/bin/bash"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file());
    require("bash, for the benign workload", bash.is_some());
    std::fs::copy(bash.unwrap_or(Path::new("/bin/bash")), &root)
        .unwrap_or_else(|e| panic!("copy bash: {e}"));
    // Limit every rule to the workload's process tree.
    let scope = env.work.path().join("benign-scope.yaml");
    std::fs::write(&scope, expect::scope_to_ancestor(&rules_dir(), BENIGN_ROOT))
        .unwrap_or_else(|e| panic!("write {}: {e}", scope.display()));
    let readshadow = env.triggers.join("kt-readshadow");
    let marker = |tag: &str| {
        // Not the last command, so that bash forks for it instead of
        // replacing itself: the marker must have the workload's root as an
        // ancestor.
        let cmd = format!("{} {tag}; true", readshadow.display());
        triggers::run(&root, &["-c", &cmd]);
    };
    // Every rule that matches an event alerts, so that a Notice rule
    // matching first cannot hide a Warning one.
    let stages = Stages {
        rules: vec![rules_dir(), scope],
        enrich: Vec::new(),
        evaluate: vec!["--rule-matching".into(), "all".into()],
    };
    let p = start(&env, "benign", stages, &marker);

    let script = pipeline::workspace().join("tests/triggers/benign-workload.sh");
    let out = std::process::Command::new(&root)
        .arg(&script)
        .arg(env.work.path().join("benign"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the benign workload failed ({})",
        out.status
    );

    let alerts = finish(p, &marker);
    let loud: Vec<String> = alerts
        .iter()
        .filter(|a| a.field("proc.name").as_deref() != Some("kt-readshadow"))
        .filter(|a| {
            matches!(
                a.priority(),
                "Emergency" | "Alert" | "Critical" | "Error" | "Warning"
            )
        })
        .map(|a| {
            format!(
                "  {} [{}]: {}",
                a.rule(),
                a.priority(),
                a.0.get("output").and_then(|o| o.as_str()).unwrap_or("")
            )
        })
        .collect();
    assert!(
        loud.is_empty(),
        "the benign workload raised {} alert(s) at Warning or above:\n{}",
        loud.len(),
        loud.join("\n")
    );
}
