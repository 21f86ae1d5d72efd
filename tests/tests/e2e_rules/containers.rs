//! Real containers for the container rules: dockerd and podman from
//! `tests/ctr-test-env.sh` (brought up when they are not already running),
//! their busybox image `localhost/test:1`, and each runtime's own CLI.
//!
//! Containers are started detached (`run -d`) so that their id is known,
//! and removed when the test is done with them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::pipeline::workspace;

/// Debian's docker CLI (ctr-test-env.sh installs it; /usr/local/bin/docker
/// may be another one).
const DOCKER_CLI: &str = "/usr/bin/docker";

pub use kestrel_tests::cri::IMAGE;

/// One container runtime of the test environment.
pub struct Runtime {
    /// "docker" or "podman", as enrich's `--docker-socket`/`--podman-socket`.
    pub name: &'static str,
    /// Its Docker-compatible API socket, for enrich.
    pub socket: PathBuf,
    base: PathBuf,
}

/// The runtimes of the test environment, started when they are not running.
pub fn up() -> Result<Vec<Runtime>, String> {
    let base = PathBuf::from(std::env::var("CTR_BASE").unwrap_or_else(|_| "/tmp/ctr-test".into()));
    let runtimes = || {
        [("docker", "docker.sock"), ("podman", "podman.sock")].map(|(name, sock)| Runtime {
            name,
            socket: base.join(sock),
            base: base.clone(),
        })
    };
    if runtimes().iter().all(Runtime::ping) {
        return Ok(runtimes().into());
    }
    let script = workspace().join("tests/ctr-test-env.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("up")
        .env("CTR_BASE", &base)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let all = runtimes();
    if !out.status.success() || !all.iter().all(Runtime::ping) {
        return Err(format!(
            "{} up failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(all.into())
}

impl Runtime {
    fn ping(&self) -> bool {
        self.socket.exists()
            && self
                .cli(&["image", "inspect", IMAGE])
                .map(|o| o.status.success())
                .unwrap_or(false)
    }

    /// The runtime's CLI, pointed at the test environment's state.
    fn command(&self) -> Command {
        match self.name {
            "podman" => {
                let mut c = Command::new("podman");
                c.arg("--root")
                    .arg(self.base.join("podman/storage"))
                    .arg("--runroot")
                    .arg(self.base.join("podman/run"))
                    .env("CONTAINERS_CONF", self.base.join("containers.conf"));
                c
            }
            _ => {
                let mut c = Command::new(DOCKER_CLI);
                c.arg("-H").arg(format!("unix://{}", self.socket.display()));
                c
            }
        }
    }

    fn cli(&self, args: &[&str]) -> std::io::Result<Output> {
        self.command().args(args).output()
    }

    /// Runs the CLI with `args`, failing the test on error; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self
            .cli(args)
            .unwrap_or_else(|e| panic!("cannot run {} {args:?}: {e}", self.name));
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// enrich's arguments for this runtime's metadata.
    pub fn enrich_args(&self) -> [String; 2] {
        [
            format!("--{}-socket", self.name),
            self.socket.display().to_string(),
        ]
    }

    /// Starts a detached container (`run -d OPTIONS IMAGE COMMAND`) and
    /// returns it; its id is the short one `container.id` shows.
    pub fn start(&self, options: &[&str], command: &[&str]) -> Container<'_> {
        let mut args = vec!["run", "-d"];
        args.extend_from_slice(options);
        args.push(IMAGE);
        args.extend_from_slice(command);
        let full = self.run(&args);
        Container {
            runtime: self,
            id: full.chars().take(12).collect(),
        }
    }

    /// `-v HOST:/trig:ro`, the way triggers enter containers.
    pub fn trig_mount(dir: &Path) -> String {
        format!("{}:/trig:ro", dir.display())
    }
}

/// A container that is removed when dropped.
pub struct Container<'a> {
    runtime: &'a Runtime,
    pub id: String,
}

impl Container<'_> {
    /// Waits for the container's command to finish.
    pub fn wait(&self) {
        self.runtime.run(&["wait", &self.id]);
    }

    pub fn exec(&self, command: &[&str]) {
        let mut args = vec!["exec", self.id.as_str()];
        args.extend_from_slice(command);
        self.runtime.run(&args);
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.runtime.cli(&["rm", "-f", &self.id]);
    }
}
