//! The header frame that opens every stream: building it, and checking the
//! one a reader receives.

use crate::error::FrameError;
use crate::kestrel_capnp::{frame, header, Stage, FORMAT_MAJOR, FORMAT_MINOR};

/// What a reader learnt from a stream's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    pub format_major: u16,
    pub format_minor: u16,
    pub stage: Option<Stage>,
    pub hostname: String,
    pub boot_time_ns: u64,
    pub start_time_ns: u64,
    pub producer: String,
}

/// Fills a header for a stream produced by `stage` on this machine.
pub fn fill(mut h: header::Builder<'_>, stage: Stage) {
    h.set_format_major(FORMAT_MAJOR);
    h.set_format_minor(FORMAT_MINOR);
    h.set_stage(stage);
    h.set_hostname(crate::hostname().as_str());
    h.set_boot_time_ns(boot_time_ns());
    h.set_start_time_ns(crate::now_ns());
    h.set_producer(concat!("kestrel ", env!("CARGO_PKG_VERSION")));
}

/// Checks a stream's first frame: it must be a header (see [`check`]).
pub fn check_frame(root: Result<frame::Reader<'_>, FrameError>) -> Result<HeaderInfo, FrameError> {
    let no = |reason: String| FrameError::NoHeader { reason };
    let root = root.map_err(|e| no(e.to_string()))?;
    match root.which() {
        Ok(frame::Header(Ok(h))) => check(h),
        Ok(frame::Header(Err(e))) => Err(no(format!("unreadable header: {e}"))),
        Ok(frame::Event(_)) => Err(no("it is an event frame".into())),
        Ok(frame::Alert(_)) => Err(no("it is an alert frame".into())),
        Ok(frame::Stats(_)) => Err(no("it is a stats frame".into())),
        Ok(frame::Audit(_)) => Err(no("it is an audit frame".into())),
        Ok(frame::State(_)) => Err(no("it is a state frame".into())),
        Ok(frame::StateGone(_)) => Err(no("it is a stateGone frame".into())),
        Err(e) => Err(no(format!("unknown frame kind {}", e.0))),
    }
}

/// Turns an error met while reading the first frame into the "not a kestrel
/// stream" error users should see, keeping I/O errors as they are (those are
/// not the stream's fault).
pub fn not_a_header(e: FrameError) -> FrameError {
    match e {
        e @ (FrameError::Io { .. }
        | FrameError::NoHeader { .. }
        | FrameError::NewerVersion { .. }) => e,
        e => FrameError::NoHeader {
            reason: e.to_string(),
        },
    }
}

/// Checks a received header: a newer major version is refused.
pub fn check(h: header::Reader<'_>) -> Result<HeaderInfo, FrameError> {
    let major = h.get_format_major();
    let minor = h.get_format_minor();
    if major == 0 {
        return Err(FrameError::NoHeader {
            reason: "format version 0".into(),
        });
    }
    if major > FORMAT_MAJOR {
        return Err(FrameError::NewerVersion {
            major,
            minor,
            ours: FORMAT_MAJOR,
        });
    }
    let text = |r: capnp::Result<capnp::text::Reader<'_>>| {
        r.ok()
            .and_then(|t| t.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    Ok(HeaderInfo {
        format_major: major,
        format_minor: minor,
        stage: h.get_stage().ok(),
        hostname: text(h.get_hostname()),
        boot_time_ns: h.get_boot_time_ns(),
        start_time_ns: h.get_start_time_ns(),
        producer: text(h.get_producer()),
    })
}

/// Wall-clock time of boot, ns since the Unix epoch (now minus
/// CLOCK_BOOTTIME).
pub fn boot_time_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let since_boot = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    crate::now_ns().saturating_sub(since_boot)
}
