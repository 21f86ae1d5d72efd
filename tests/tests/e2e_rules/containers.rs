//! Real containers for the container rules: dockerd from
//! `tests/ctr-test-env.sh` (brought up when it is not already running), its
//! busybox image `localhost/test:1`, and Debian's docker CLI.
//!
//! Containers are started with `docker run -d` so that their id is known,
//! and removed when the test is done with them.

use std::path::PathBuf;
use std::process::Command;

use super::pipeline::workspace;

/// Debian's docker CLI (ctr-test-env.sh installs it; /usr/local/bin/docker
/// may be another one).
const DOCKER_CLI: &str = "/usr/bin/docker";

/// The test image ctr-test-env.sh imports.
pub const IMAGE: &str = "localhost/test:1";

/// A dockerd to run containers with.
pub struct Docker {
    pub socket: PathBuf,
}

impl Docker {
    /// Finds the running test dockerd, or starts the test environment.
    pub fn up() -> Result<Docker, String> {
        let base =
            PathBuf::from(std::env::var("CTR_BASE").unwrap_or_else(|_| "/tmp/ctr-test".into()));
        let socket = base.join("docker.sock");
        let docker = Docker { socket };
        if docker.ping() {
            return Ok(docker);
        }
        let script = workspace().join("tests/ctr-test-env.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("up")
            .env("CTR_BASE", &base)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() || !docker.ping() {
            return Err(format!(
                "{} up failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(docker)
    }

    fn ping(&self) -> bool {
        self.socket.exists()
            && std::path::Path::new(DOCKER_CLI).is_file()
            && self
                .cli(&["image", "inspect", IMAGE])
                .map(|o| o.status.success())
                .unwrap_or(false)
    }

    fn cli(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        Command::new(DOCKER_CLI)
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
    }

    /// Runs docker with `args`, failing the test on error; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self
            .cli(args)
            .unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"));
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts a detached container (`docker run -d OPTIONS IMAGE COMMAND`)
    /// and returns its short id, as `container.id` shows it.
    pub fn start(&self, options: &[&str], command: &[&str]) -> Container<'_> {
        let mut args = vec!["run", "-d"];
        args.extend_from_slice(options);
        args.push(IMAGE);
        args.extend_from_slice(command);
        let full = self.run(&args);
        Container {
            docker: self,
            id: full.chars().take(12).collect(),
        }
    }
}

/// A container that is removed when dropped.
pub struct Container<'a> {
    docker: &'a Docker,
    pub id: String,
}

impl Container<'_> {
    /// Waits for the container's command to finish.
    pub fn wait(&self) {
        self.docker.run(&["wait", &self.id]);
    }

    pub fn exec(&self, command: &[&str]) {
        let mut args = vec!["exec", self.id.as_str()];
        args.extend_from_slice(command);
        self.docker.run(&args);
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.docker.cli(&["rm", "-f", &self.id]);
    }
}
