//! The methods every stage answers (`health`, `stats`, `version`), filled
//! from a [`StageStatus`], and [`StageServer`], the whole server of a stage
//! that has nothing more to offer.
//!
//! It is not a place for stage-specific methods: a stage with more (like
//! capture) implements `stage_control::Server` for its own server with
//! [`stage_control_methods!`](crate::stage_control_methods), or by calling
//! [`fill_health`], [`fill_stats`] and [`fill_version`].

use std::sync::Arc;

use super::status::StageStatus;
use schema::control_capnp::{health, stage_control, version};
use schema::kestrel_capnp::{stats, FORMAT_MAJOR, FORMAT_MINOR};

/// Fills a `Health` answer.
pub fn fill_health(status: &StageStatus, mut h: health::Builder<'_>) {
    h.set_stage(status.stage);
    h.set_up_since_ns(status.up_since_ns);
    h.set_input_connected(status.input_connected());
    h.set_output_connected(status.output_connected());
    if let Some((at, msg)) = status.last_error() {
        h.set_last_error_ns(at);
        h.set_last_error(msg.as_str());
    }
    h.set_pid(std::process::id());
}

/// Fills a `Stats` answer with the counters last published in-band.
pub fn fill_stats(status: &StageStatus, mut s: stats::Builder<'_>) {
    let counters = status.counters();
    s.set_stage(status.stage);
    s.set_time_ns(schema::now_ns());
    s.set_hostname(status.hostname.as_str());
    let mut list = s.init_counters(counters.len() as u32);
    for (i, (name, value)) in counters.iter().enumerate() {
        let mut c = list.reborrow().get(i as u32);
        c.set_name(name.as_str());
        c.set_value(*value);
    }
}

/// Fills a `Version` answer.
pub fn fill_version(status: &StageStatus, mut v: version::Builder<'_>) {
    v.set_program(status.program);
    v.set_version(status.version);
    v.set_format_major(FORMAT_MAJOR);
    v.set_format_minor(FORMAT_MINOR);
}

/// The control server of a stage that answers only the generic methods.
pub struct StageServer {
    pub status: Arc<StageStatus>,
}

impl stage_control::Server for StageServer {
    crate::stage_control_methods!();
}

/// The generic methods of `stage_control::Server`, for a server type with
/// a `status: Arc<StageStatus>` field (or the field path given, as in
/// `stage_control_methods!(ctl.status)`), so each stage's own interface does
/// not spell them out again:
///
/// ```text
/// impl stage_control::Server for MyServer {
///     stage::stage_control_methods!();
/// }
/// ```
///
/// The crate using it needs `capnp` among its dependencies (any crate that
/// implements a Cap'n Proto server has it).
#[macro_export]
macro_rules! stage_control_methods {
    () => {
        $crate::stage_control_methods!(status);
    };
    ($($field:ident).+) => {
        async fn health(
            self: ::std::rc::Rc<Self>,
            _: $crate::schema::control_capnp::stage_control::HealthParams,
            mut results: $crate::schema::control_capnp::stage_control::HealthResults,
        ) -> ::std::result::Result<(), ::capnp::Error> {
            $crate::control::generic::fill_health(&self.$($field).+, results.get().init_health());
            Ok(())
        }

        async fn stats(
            self: ::std::rc::Rc<Self>,
            _: $crate::schema::control_capnp::stage_control::StatsParams,
            mut results: $crate::schema::control_capnp::stage_control::StatsResults,
        ) -> ::std::result::Result<(), ::capnp::Error> {
            $crate::control::generic::fill_stats(&self.$($field).+, results.get().init_stats());
            Ok(())
        }

        async fn version(
            self: ::std::rc::Rc<Self>,
            _: $crate::schema::control_capnp::stage_control::VersionParams,
            mut results: $crate::schema::control_capnp::stage_control::VersionResults,
        ) -> ::std::result::Result<(), ::capnp::Error> {
            $crate::control::generic::fill_version(&self.$($field).+, results.get().init_version());
            Ok(())
        }
    };
}

/// A bootstrap maker for [`super::spawn`] serving [`StageServer`].
pub fn bootstrap(status: Arc<StageStatus>) -> impl Fn() -> capnp::capability::Client + Send {
    move || {
        let c: stage_control::Client = capnp_rpc::new_client(StageServer {
            status: status.clone(),
        });
        c.client
    }
}
