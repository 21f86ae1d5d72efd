//! Command-line options every stage takes besides its own, flattened into
//! each stage's clap parser so they are spelled and documented once.
//!
//! It is not a place for a stage's own options, nor for `--input` and
//! `--output`, whose help differs per stage.

use clap::Args;

/// The options every stage shares.
#[derive(Debug, Clone, Default, Args)]
pub struct Common {
    /// The name this node goes by in headers, stats and alerts' `hostname`.
    /// Default: $KESTREL_HOSTNAME, else $NODE_NAME (a DaemonSet sets it
    /// from spec.nodeName), else the kernel's hostname.
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
}

impl Common {
    /// Makes the options take effect for the rest of the process. Call
    /// before anything writes a header.
    pub fn apply(&self) {
        if let Some(h) = &self.hostname {
            schema::set_hostname(h);
        }
    }
}
