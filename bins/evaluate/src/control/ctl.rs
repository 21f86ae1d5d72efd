//! `evaluate ctl …`: the client of a running evaluate's control socket.
//! Prints text for people, or one JSON document with `--json`.
//!
//! It is not a place for the generic client machinery (that is
//! `stage::control::client`).

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use schema::control_capnp::{evaluate_control, reload_result};
use serde_json::{json, Value};
use stage::control::client;

/// What `evaluate ctl` asks.
#[derive(Debug, Clone, Subcommand)]
pub enum CtlCommand {
    /// Re-read the rule files and swap the new ruleset in (the old one stays
    /// if the files have errors; exit 1 then).
    Reload,
    /// Every loaded rule: name, enabled, priority, tags, source, hits.
    ListRules,
    /// Enable the rules whose name (or tag, with `tag:PATTERN`) matches;
    /// `*` and `?` are wildcards.
    Enable { pattern: String },
    /// Disable the rules whose name (or tag, with `tag:PATTERN`) matches.
    Disable { pattern: String },
}

impl stage::ctl::StageCtl for CtlCommand {
    fn run(&self, path: &Path, as_json: bool) -> anyhow::Result<i32> {
        let (v, ok) = client::block_on(call(self, path))?
            .with_context(|| format!("control socket {}", path.display()))?;
        if as_json {
            println!("{v}");
        } else {
            print!("{}", text(self, &v));
        }
        Ok(if ok { 0 } else { 1 })
    }
}

/// Calls the evaluate-specific method of `cmd`; its answer as JSON and
/// whether it succeeded.
pub async fn call(cmd: &CtlCommand, path: &Path) -> anyhow::Result<(Value, bool)> {
    let c: evaluate_control::Client = client::connect(path).await?;
    Ok(match cmd {
        CtlCommand::Reload => {
            let r = c.reload_request().send().promise.await?;
            outcome_json(r.get()?.get_result()?)?
        }
        CtlCommand::Enable { pattern } | CtlCommand::Disable { pattern } => {
            let mut req = c.set_enabled_request();
            req.get().set_pattern(pattern.as_str());
            req.get()
                .set_enabled(matches!(cmd, CtlCommand::Enable { .. }));
            let r = req.send().promise.await?;
            let r = r.get()?;
            let (mut v, ok) = outcome_json(r.get_result()?)?;
            v["matched"] = json!(r.get_matched());
            (v, ok)
        }
        CtlCommand::ListRules => {
            let r = c.list_rules_request().send().promise.await?;
            let mut rows = Vec::new();
            for rule in r.get()?.get_rules()? {
                let tags: Vec<String> = rule
                    .get_tags()?
                    .iter()
                    .filter_map(|t| t.ok().and_then(|t| t.to_string().ok()))
                    .collect();
                rows.push(json!({
                    "name": rule.get_name()?.to_str().unwrap_or("?"),
                    "enabled": rule.get_enabled(),
                    "priority": rule.get_priority().map(|p| p.name()).unwrap_or("?"),
                    "tags": tags,
                    "source": rule.get_source()?.to_str().unwrap_or("?"),
                    "hits": rule.get_hits(),
                }));
            }
            (Value::Array(rows), true)
        }
    })
}

fn outcome_json(r: reload_result::Reader<'_>) -> Result<(Value, bool), capnp::Error> {
    let mut errors = Vec::new();
    for e in r.get_errors()? {
        errors.push(e?.to_str().unwrap_or("?").to_string());
    }
    Ok((
        json!({
            "ok": r.get_ok(),
            "errors": errors,
            "warnings": r.get_warnings(),
            "rules_running": r.get_rules_running(),
            "compile_ns": r.get_compile_ns(),
            "swap_ns": r.get_swap_ns(),
            "generation": r.get_generation(),
        }),
        r.get_ok(),
    ))
}

fn text(cmd: &CtlCommand, v: &Value) -> String {
    if let CtlCommand::ListRules = cmd {
        let mut out = String::new();
        for r in v.as_array().into_iter().flatten() {
            let tags: Vec<&str> = r["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\thits={}\t[{}]\n",
                if r["enabled"] == true { "on " } else { "off" },
                r["priority"].as_str().unwrap_or("?"),
                r["source"].as_str().unwrap_or("?"),
                r["name"].as_str().unwrap_or("?"),
                r["hits"],
                tags.join(", "),
            ));
        }
        return out;
    }
    let mut out = String::new();
    if let Some(m) = v.get("matched") {
        out.push_str(&format!("{m} rules matched\n"));
    }
    if v["ok"] == true {
        out.push_str(&format!(
            "ok: generation {}, {} rules running, compiled in {:.1} ms, swapped in {}\n",
            v["generation"],
            v["rules_running"],
            v["compile_ns"].as_f64().unwrap_or(0.0) / 1e6,
            match v["swap_ns"].as_u64() {
                Some(0) | None => "(not yet: no events flowing)".to_string(),
                Some(ns) => format!("{:.1} µs", ns as f64 / 1e3),
            }
        ));
    } else {
        for e in v["errors"].as_array().into_iter().flatten() {
            out.push_str(e.as_str().unwrap_or("?"));
            out.push('\n');
        }
        out.push_str(&format!(
            "rejected: {} errors, the running rules stay (generation {})\n",
            v["errors"].as_array().map_or(0, Vec::len),
            v["generation"]
        ));
    }
    out
}
