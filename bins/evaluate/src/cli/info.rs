//! The subcommands that inspect rules without reading a stream: `validate`,
//! `list-rules`, `list-fields` and `syscalls`.
//!
//! They print their answer on stdout and diagnostics on stderr. It is not a
//! place for evaluation.

use std::io::Write;

use anyhow::Context;
use clap::ArgMatches;

use super::{load, toggles, RuleArgs, RulePaths};
use crate::fields;
use crate::ruleset::{self, RuleMatching, RuleSet};

/// Syscalls enrich needs to keep its process and fd tables right, whatever
/// the rules: process lifecycle, working directory, and every call that
/// creates, duplicates, renames or closes a descriptor.
pub const ENRICH_SYSCALLS: &[&str] = &[
    "clone", "clone3", "fork", "vfork", "execve", "execveat", "procexit", "chdir", "fchdir",
    "open", "openat", "openat2", "creat", "close", "dup", "dup2", "dup3", "fcntl", "socket",
    "connect", "accept", "accept4", "bind",
];

/// Event kinds that are not syscalls capture can be asked for.
const NOT_SYSCALLS: &[&str] = &["unknown", "procinfo", "container"];

/// `validate`: 0 when the rules load and compile. Warnings and errors go to
/// stderr; a one-line summary to stdout.
pub fn validate(args: &RulePaths) -> i32 {
    let loaded = match load(args) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{d}");
            let n = d.errors().count();
            println!(
                "rules failed to load: {n} error{}",
                if n == 1 { "" } else { "s" }
            );
            return 1;
        }
    };
    eprint!("{}", loaded.warnings);
    let total = loaded.rules.len();
    let warnings = loaded.warnings.items.len();
    match RuleSet::compile(loaded.rules, RuleMatching::All) {
        Ok((set, other)) => {
            let mut warnings = warnings;
            for c in &set.rules {
                for w in loaded.names.locate_warnings(&c.rule.name, &c.cond.warnings) {
                    eprint!("{w}");
                    warnings += 1;
                }
            }
            println!(
                "ok: {total} rules ({} syscall, {} for other sources), {} macros, {} lists, {warnings} warning{}",
                set.rules.len(),
                other.len(),
                loaded.macros.len(),
                loaded.lists.len(),
                if warnings == 1 { "" } else { "s" }
            );
            0
        }
        Err(errs) => {
            for e in &errs {
                eprint!("{}", loaded.names.locate(&e.rule, &e.message));
            }
            println!(
                "rules failed to compile: {} error{}",
                errs.len(),
                if errs.len() == 1 { "" } else { "s" }
            );
            1
        }
    }
}

/// `list-rules`: one rule per line, tab-separated: name, priority, source,
/// enabled (after --enable/--disable), tags.
pub fn list_rules(args: &RuleArgs, m: &ArgMatches) -> anyhow::Result<i32> {
    let loaded = match load(&args.paths) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{d}");
            return Ok(1);
        }
    };
    let mut rules = loaded.rules;
    for t in toggles(m) {
        let (pat, on) = match &t {
            ruleset::Toggle::Enable(p) => (p, true),
            ruleset::Toggle::Disable(p) => (p, false),
        };
        for r in rules.iter_mut().filter(|r| ruleset::selects(pat, r)) {
            r.enabled = on;
        }
    }
    let mut out = std::io::stdout().lock();
    for r in rules
        .iter()
        .filter(|r| (r.priority as u16) <= (args.min_priority as u16))
    {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            r.name,
            r.priority.name(),
            r.source,
            if r.enabled { "enabled" } else { "disabled" },
            r.tags.join(",")
        )
        .context("writing to stdout")?;
    }
    Ok(0)
}

/// `list-fields`: one field per line: name, type, description.
pub fn list_fields() -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    for def in fields::FIELDS {
        let name = match def.arg {
            fields::ArgKind::None => def.name.to_string(),
            fields::ArgKind::OptIndex => format!("{}[N]", def.name),
            fields::ArgKind::Key => format!("{}[KEY]", def.name),
            fields::ArgKind::OptKey => format!("{}[KEY]", def.name),
            fields::ArgKind::IndexOrKey => format!("{}[N|NAME]", def.name),
        };
        writeln!(out, "{name}\t{}\t{}", def.ty.name(), fields::describe(def))
            .context("writing to stdout")?;
    }
    writeln!(out, "ka.*\tk8s_audit\tKubernetes audit fields: rules of source k8s_audit load; the source is not evaluated yet")
        .context("writing to stdout")?;
    writeln!(
        out,
        "jevt.*\tk8s_audit\tJSON fields of the k8s_audit source: as ka.*"
    )
    .context("writing to stdout")?;
    Ok(0)
}

/// `syscalls`: the syscalls the selected rules need plus enrich's, sorted
/// and comma-separated; with `matched`, only the event kinds the rules can
/// match, whatever they are (for `enrich --forward`).
pub fn syscalls(args: &RuleArgs, m: &ArgMatches, matched: bool) -> anyhow::Result<i32> {
    let loaded = match load(&args.paths) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{d}");
            return Ok(1);
        }
    };
    let rules = ruleset::select(loaded.rules, &toggles(m), args.min_priority);
    // The compiled conditions' event types: exactly what the ruleset will
    // look at when it runs.
    let set = match RuleSet::compile(rules, RuleMatching::All) {
        Ok((set, _)) => set,
        Err(errs) => {
            for e in &errs {
                eprint!("{}", loaded.names.locate(&e.rule, &e.message));
            }
            return Ok(1);
        }
    };
    let rule_kinds = set.kinds().into_iter().map(|k| schema::table::info(k).name);
    let mut names: Vec<&str> = if matched {
        rule_kinds.filter(|n| *n != "unknown").collect()
    } else {
        let mut n = ENRICH_SYSCALLS.to_vec();
        n.extend(rule_kinds);
        n.retain(|n| !NOT_SYSCALLS.contains(n));
        n
    };
    names.sort_unstable();
    names.dedup();
    println!("{}", names.join(","));
    Ok(0)
}
