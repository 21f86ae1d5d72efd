//! The live pipeline under test, `capture | enrich | evaluate --format json`,
//! run from the workspace's built binaries, with its alerts collected as
//! they arrive so that a test can wait for the ones it expects.
//!
//! It is not a place for expectations or triggers: those are the test's.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the pipeline may take to stop after capture is told to, before
/// its stages are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How often a waiting test looks at the alerts collected so far.
const POLL: Duration = Duration::from_millis(100);

/// The workspace root (this crate lives in `tests/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where the tests put the programs they run (triggers, the benign root
/// shell, near misses). Not under the target directory: a checkout may itself
/// live below /tmp (CI clones do), and running a program from there is exactly
/// what "Program run from a temporary directory" reports. The e2e tests run as
/// root, so a fixed directory under /var/lib is theirs to use.
pub fn exec_root() -> PathBuf {
    let dir = PathBuf::from("/var/lib/kestrel-tests");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    // Containers that run as an unprivileged user enter it (bind mounts).
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
    dir
}

/// The directory holding the built stage binaries: `$KESTREL_BIN`, or the
/// one of target/debug and target/release with the newest `evaluate`.
/// `None` when none of them has all of `names`.
pub fn bin_dir(names: &[&str]) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KESTREL_BIN") {
        return Some(PathBuf::from(dir));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    ["debug", "release"]
        .iter()
        .map(|p| target.join(p))
        .filter(|d| names.iter().all(|n| d.join(n).is_file()))
        .max_by_key(|d| {
            std::fs::metadata(d.join(names[0]))
                .and_then(|m| m.modified())
                .ok()
        })
}

/// Where the kernel lists its syscall tracepoints.
const SYSCALL_EVENTS: &str = "/sys/kernel/tracing/events/syscalls";

/// Whether this kernel has the syscall `name` (its exit tracepoint
/// exists). A kernel built without module support has no init_module, for
/// example. Names that are not one syscall's (`procexit`, and
/// `compat_syscall`, for which capture itself warns and goes on where the
/// kernel has no 32-bit entry) count as present.
pub fn kernel_has(name: &str) -> bool {
    let syscalls = Path::new(SYSCALL_EVENTS);
    matches!(name, "procexit" | "compat_syscall")
        || !syscalls.is_dir()
        || syscalls.join(format!("sys_exit_{name}")).exists()
}

/// The `--enable`/`--disable` pairs of evaluate's arguments: they change
/// which rules run, so `evaluate syscalls` must see them too.
fn toggles(evaluate_args: &[String]) -> Vec<&str> {
    evaluate_args
        .windows(2)
        .filter(|w| matches!(w[0].as_str(), "--enable" | "--disable"))
        .flat_map(|w| [w[0].as_str(), w[1].as_str()])
        .collect()
}

/// One alert as evaluate's JSON output has it (Falco's shape).
#[derive(Debug, Clone)]
pub struct Alert(pub Value);

impl Alert {
    pub fn rule(&self) -> &str {
        self.0.get("rule").and_then(Value::as_str).unwrap_or("")
    }

    pub fn priority(&self) -> &str {
        self.0.get("priority").and_then(Value::as_str).unwrap_or("")
    }

    /// An output field rendered as text (numbers and booleans too), or
    /// `None` when the alert does not carry it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self.0.get("output_fields")?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// A running pipeline.
pub struct Pipeline {
    capture: Child,
    enrich: Child,
    evaluate: Child,
    alerts: Arc<Mutex<Vec<Alert>>>,
    reader: Option<JoinHandle<()>>,
    logs: PathBuf,
}

/// What to start.
pub struct Config<'a> {
    pub bin: &'a Path,
    /// Rule files or directories for evaluate's `-r`.
    pub rules: Vec<PathBuf>,
    /// Extra arguments for enrich (runtime sockets).
    pub enrich_args: Vec<String>,
    /// Extra arguments for evaluate.
    pub evaluate_args: Vec<String>,
    /// Where the stages' stderr goes, one file per stage.
    pub logs: &'a Path,
}

impl Pipeline {
    pub fn start(cfg: Config<'_>) -> Pipeline {
        let log = |name: &str| {
            File::create(cfg.logs.join(format!("{name}.log")))
                .unwrap_or_else(|e| panic!("cannot create {name}.log: {e}"))
        };
        let mut rule_args = Vec::new();
        for r in &cfg.rules {
            rule_args.push("-r".to_string());
            rule_args.push(r.display().to_string());
        }
        // Capture what the rules need, as the shipped live pipeline does.
        let syscalls = Command::new(cfg.bin.join("evaluate"))
            .arg("syscalls")
            .args(&rule_args)
            .args(toggles(&cfg.evaluate_args))
            .output()
            .unwrap_or_else(|e| panic!("cannot run evaluate syscalls: {e}"));
        assert!(
            syscalls.status.success(),
            "evaluate syscalls failed: {}",
            String::from_utf8_lossy(&syscalls.stderr)
        );
        let syscalls = String::from_utf8_lossy(&syscalls.stdout)
            .trim()
            .split(',')
            .filter(|name| kernel_has(name))
            .collect::<Vec<_>>()
            .join(",");

        let mut capture = Command::new(cfg.bin.join("capture"))
            .args(["--syscalls", &syscalls])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log("capture"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start capture: {e}"));
        let mut enrich = Command::new(cfg.bin.join("enrich"))
            .args(&cfg.enrich_args)
            .stdin(
                capture
                    .stdout
                    .take()
                    .map(Stdio::from)
                    .unwrap_or_else(Stdio::null),
            )
            .stdout(Stdio::piped())
            .stderr(log("enrich"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start enrich: {e}"));
        let mut evaluate = Command::new(cfg.bin.join("evaluate"))
            .args(["--format", "json"])
            .args(&rule_args)
            .args(&cfg.evaluate_args)
            .stdin(
                enrich
                    .stdout
                    .take()
                    .map(Stdio::from)
                    .unwrap_or_else(Stdio::null),
            )
            .stdout(Stdio::piped())
            .stderr(log("evaluate"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start evaluate: {e}"));
        let out = evaluate.stdout.take().expect("evaluate's stdout was piped");
        let alerts = Arc::new(Mutex::new(Vec::new()));
        let sink = alerts.clone();
        let raw = File::create(cfg.logs.join("alerts.jsonl")).ok();
        let reader = std::thread::spawn(move || {
            let mut raw = raw;
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(f) = raw.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{line}");
                }
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if let Ok(mut a) = sink.lock() {
                        a.push(Alert(v));
                    }
                }
            }
        });
        Pipeline {
            capture,
            enrich,
            evaluate,
            alerts,
            reader: Some(reader),
            logs: cfg.logs.to_path_buf(),
        }
    }

    /// The alerts collected so far.
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Waits until an alert satisfies `pred`, up to `timeout`.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Alert) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.alerts().iter().any(&pred) {
                return true;
            }
            self.check_alive();
            std::thread::sleep(POLL);
        }
        false
    }

    /// Fails the test with the stages' logs if one of them has exited.
    pub fn check_alive(&mut self) {
        let mut exited = None;
        for (name, child) in [
            ("capture", &mut self.capture),
            ("enrich", &mut self.enrich),
            ("evaluate", &mut self.evaluate),
        ] {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some((name, status));
                break;
            }
        }
        if let Some((name, status)) = exited {
            panic!("{name} exited early ({status})\n{}", self.logs_text());
        }
    }

    /// The stages' stderr so far, for failure messages.
    pub fn logs_text(&self) -> String {
        let mut s = String::new();
        for name in ["capture", "enrich", "evaluate"] {
            let text =
                std::fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            s.push_str(&format!("--- {name} stderr (last lines) ---\n"));
            for l in tail.into_iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }

    /// Stops capture with SIGINT and lets the rest drain, then returns every
    /// alert.
    pub fn stop(mut self) -> Vec<Alert> {
        self.shutdown();
        self.alerts()
    }

    fn shutdown(&mut self) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.capture.id() as libc::pid_t, libc::SIGINT) };
        let end = Instant::now() + STOP_TIMEOUT;
        for child in [&mut self.capture, &mut self.enrich, &mut self.evaluate] {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < end => std::thread::sleep(POLL),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.shutdown();
        }
    }
}
