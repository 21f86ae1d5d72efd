//! The program sink: alerts written as lines to a command's stdin
//! (`sh -c COMMAND`), like Falco's program_output. If the command exits or
//! stops reading, it is started again and the alert is written again.
//!
//! Lines already written into the pipe when the command dies may be lost
//! with it: the pipe gives no receipt.

use std::io::{BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::{DeliveryError, Sink};
use crate::alert::Alert;
use crate::format::{self, Format};

pub struct ProgramSink {
    command: String,
    format: Format,
    child: Option<(Child, BufWriter<ChildStdin>)>,
}

impl ProgramSink {
    pub fn new(command: String, format: Format) -> Self {
        ProgramSink {
            command,
            format,
            child: None,
        }
    }

    fn spawn(&self) -> std::io::Result<(Child, BufWriter<ChildStdin>)> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
        tracing::info!(
            "program sink: started {:?} (pid {})",
            self.command,
            child.id()
        );
        Ok((child, BufWriter::new(stdin)))
    }

    /// Ends the current child, if any, and reaps it.
    fn reap(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            match child.wait() {
                Ok(status) => tracing::warn!("program sink: {:?} ended ({status})", self.command),
                Err(e) => tracing::warn!("program sink: {:?}: {e}", self.command),
            }
        }
    }

    fn alive(&mut self) -> bool {
        match &mut self.child {
            Some((child, _)) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Sink for ProgramSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        if !self.alive() {
            self.reap();
            let c = self.spawn().map_err(|e| {
                DeliveryError::Retry(format!("cannot start {:?}: {e}", self.command))
            })?;
            self.child = Some(c);
        }
        let mut line = format::render(alert, self.format, false)?;
        line.push('\n');
        let res = match &mut self.child {
            Some((_, stdin)) => stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()),
            None => Ok(()),
        };
        res.map_err(|e| {
            self.reap();
            DeliveryError::Retry(format!("{:?} stopped reading: {e}", self.command))
        })
    }
}

/// How long a command may take to finish after its stdin is closed at
/// exit, before it is killed.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

impl Drop for ProgramSink {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            // Closing stdin lets the command finish its work and exit.
            drop(stdin);
            let deadline = std::time::Instant::now() + EXIT_GRACE;
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
