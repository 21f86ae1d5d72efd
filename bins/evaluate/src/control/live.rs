//! The live ruleset and its hand-over: a new ruleset is read and compiled
//! on the control thread, parked in a slot, and taken by the event loop
//! between two events, so every event meets exactly one ruleset.
//!
//! The event loop pays one relaxed atomic load per frame to look for a
//! parked ruleset; everything else (reading files, compiling, listing) runs
//! elsewhere, under locks the event loop never takes except to pick up a
//! new ruleset.
//!
//! It is not a place for the RPC methods (see [`super::server`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use schema::Priority;
use stage::control::StageStatus;

use crate::check::names::Names;
use crate::check::Rule;
use crate::cli::{load, RulePaths};
use crate::loader::diag::Diagnostics;
use crate::ruleset::{self, RuleMatching, RuleSet, Toggle};

/// What selects and shapes the ruleset, fixed at start.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    pub paths: RulePaths,
    /// The command line's `--enable`/`--disable`, in order.
    pub toggles: Vec<Toggle>,
    pub min_priority: Priority,
    pub matching: RuleMatching,
}

/// A compiled ruleset as the event loop runs it.
pub struct Live {
    pub set: RuleSet,
    /// Alert counter of each rule of `set`, by index: shared with the
    /// control thread and kept across reloads by rule name.
    pub hits: Vec<Arc<AtomicU64>>,
    pub generation: u64,
}

/// The result of a reload or a change of selection.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ok: bool,
    pub errors: Vec<String>,
    pub warnings: u32,
    pub rules_running: u32,
    pub compile_ns: u64,
    /// Filled in once the event loop has taken the new ruleset.
    pub swap_ns: u64,
    pub generation: u64,
}

/// One row of `listRules`.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub name: String,
    pub enabled: bool,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub source: String,
    pub hits: u64,
}

/// The last rule files that loaded without errors.
struct Source {
    rules: Vec<Rule>,
    names: Names,
    warnings: u32,
}

struct State {
    source: Source,
    /// `setEnabled` calls, in order, applied after the command line's.
    runtime_toggles: Vec<Toggle>,
    generation: u64,
}

/// Why the first ruleset could not be built: the diagnostics, ready to
/// print.
#[derive(Debug)]
pub struct StartError {
    pub report: String,
    pub summary: String,
}

/// The ruleset's owner outside the event loop.
pub struct Controller {
    config: RuleConfig,
    state: Mutex<State>,
    /// True while `slot` holds a ruleset the event loop has not taken.
    pending: AtomicBool,
    slot: Mutex<Option<(Live, Instant)>>,
    /// The ruleset the event loop replaced, waiting to be freed.
    retired: Mutex<Option<Live>>,
    hits: Mutex<HashMap<String, Arc<AtomicU64>>>,
    live_generation: AtomicU64,
    last_swap_ns: AtomicU64,
    pub status: Arc<StageStatus>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these leaves whole values behind.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Controller {
    /// Loads and compiles the first ruleset. Warnings go to the log.
    pub fn start(
        config: RuleConfig,
        status: Arc<StageStatus>,
    ) -> Result<(Arc<Controller>, Live), StartError> {
        let loaded = load(&config.paths).map_err(|d| StartError {
            report: d.to_string(),
            summary: format!("rules failed to load ({} errors)", d.errors().count()),
        })?;
        for w in loaded.warnings.items.iter() {
            tracing::warn!("{}", w.to_string().trim_end());
        }
        let source = Source {
            rules: loaded.rules,
            names: loaded.names,
            warnings: loaded.warnings.items.len() as u32,
        };
        let ctl = Controller {
            config,
            state: Mutex::new(State {
                source,
                runtime_toggles: Vec::new(),
                generation: 0,
            }),
            pending: AtomicBool::new(false),
            slot: Mutex::new(None),
            retired: Mutex::new(None),
            hits: Mutex::new(HashMap::new()),
            live_generation: AtomicU64::new(1),
            last_swap_ns: AtomicU64::new(0),
            status,
        };
        let live = {
            let mut st = lock(&ctl.state);
            let live = ctl.compile(&st, &st.source).map_err(|errs| StartError {
                summary: format!("{} rules failed to compile", errs.len()),
                report: errs.iter().map(|e| format!("{e}\n")).collect(),
            })?;
            st.generation = 1;
            for c in live
                .set
                .rules
                .iter()
                .filter(|c| !c.cond.warnings.is_empty())
            {
                for w in st.source.names.compile_warnings(&c.rule.name) {
                    tracing::warn!("{}", w.to_string().trim_end());
                }
            }
            live
        };
        Ok((Arc::new(ctl), live))
    }

    /// True when a new ruleset waits for the event loop: one relaxed load,
    /// cheap enough for every frame.
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Puts the parked ruleset in `current`, for the event loop to run
    /// from the next event on. The old ruleset is not freed here but handed
    /// back to be freed off the event path (freeing a compiled ruleset,
    /// its automata and regexes, costs the event loop time it owes to
    /// events). Returns whether it swapped.
    pub fn take(&self, current: &mut Live) -> bool {
        let Some((live, handed)) = lock(&self.slot).take() else {
            return false;
        };
        self.pending.store(false, Ordering::Relaxed);
        let old = std::mem::replace(current, live);
        self.last_swap_ns
            .store(handed.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.live_generation
            .store(current.generation, Ordering::Release);
        // A ruleset retired earlier and not yet freed is freed here after
        // all; that needs two swaps with no control call in between.
        *lock(&self.retired) = Some(old);
        true
    }

    /// Frees the ruleset the event loop last replaced. Call it off the
    /// event path.
    pub fn free_retired(&self) {
        let old = lock(&self.retired).take();
        drop(old);
    }

    /// The generation the event loop runs.
    pub fn live_generation(&self) -> u64 {
        self.live_generation.load(Ordering::Acquire)
    }

    /// Time the last hand-over waited for the event loop.
    pub fn last_swap_ns(&self) -> u64 {
        self.last_swap_ns.load(Ordering::Relaxed)
    }

    /// Re-reads the rule files and, if they load and compile, hands the new
    /// ruleset to the event loop. Blocks while compiling: call it off the
    /// event path.
    pub fn reload(&self) -> Outcome {
        let started = Instant::now();
        let loaded = match load(&self.config.paths) {
            Ok(l) => l,
            Err(d) => {
                let out = rejected(&d, started, self.live_generation());
                self.status
                    .record_error(format!("reload rejected: {} errors", out.errors.len()));
                return out;
            }
        };
        let source = Source {
            rules: loaded.rules,
            names: loaded.names,
            warnings: loaded.warnings.items.len() as u32,
        };
        let mut st = lock(&self.state);
        let out = self.rebuild(&mut st, Some(source), started);
        if !out.ok {
            self.status
                .record_error(format!("reload rejected: {} errors", out.errors.len()));
        }
        out
    }

    /// Enables or disables the rules `pattern` selects (name, or
    /// `tag:PATTERN`), remembers it across reloads, and rebuilds the
    /// ruleset. Returns how many loaded rules the pattern selects.
    pub fn set_enabled(&self, pattern: &str, on: bool) -> (u32, Outcome) {
        let started = Instant::now();
        let mut st = lock(&self.state);
        let matched = st
            .source
            .rules
            .iter()
            .filter(|r| ruleset::selects(pattern, r))
            .count() as u32;
        let t = if on {
            Toggle::Enable(pattern.to_string())
        } else {
            Toggle::Disable(pattern.to_string())
        };
        st.runtime_toggles.push(t);
        let out = self.rebuild(&mut st, None, started);
        if !out.ok {
            st.runtime_toggles.pop();
        }
        (matched, out)
    }

    /// Every loaded rule with its selection state and hits.
    pub fn list(&self) -> Vec<RuleRow> {
        let st = lock(&self.state);
        let hits = lock(&self.hits);
        let mut rules = st.source.rules.clone();
        apply_toggles(&mut rules, &self.all_toggles(&st));
        rules
            .into_iter()
            .map(|r| RuleRow {
                enabled: r.enabled && (r.priority as u16) <= (self.config.min_priority as u16),
                hits: hits.get(&r.name).map_or(0, |h| h.load(Ordering::Relaxed)),
                name: r.name,
                priority: r.priority,
                tags: r.tags,
                source: r.source,
            })
            .collect()
    }

    fn all_toggles(&self, st: &State) -> Vec<Toggle> {
        let mut t = self.config.toggles.clone();
        t.extend(st.runtime_toggles.iter().cloned());
        t
    }

    /// Compiles `source` (or the current one) with the current toggles;
    /// on success parks the result for the event loop and keeps `source`.
    fn rebuild(&self, st: &mut State, source: Option<Source>, started: Instant) -> Outcome {
        let built = self.compile(st, source.as_ref().unwrap_or(&st.source));
        let compile_ns = started.elapsed().as_nanos() as u64;
        let mut live = match built {
            Ok(l) => l,
            Err(errors) => {
                return Outcome {
                    ok: false,
                    errors,
                    compile_ns,
                    generation: self.live_generation(),
                    ..Outcome::default()
                }
            }
        };
        if let Some(s) = source {
            st.source = s;
        }
        st.generation += 1;
        live.generation = st.generation;
        let out = Outcome {
            ok: true,
            errors: Vec::new(),
            warnings: st.source.warnings,
            rules_running: live.set.rules.len() as u32,
            compile_ns,
            swap_ns: 0,
            generation: st.generation,
        };
        *lock(&self.slot) = Some((live, Instant::now()));
        self.pending.store(true, Ordering::Release);
        out
    }

    fn compile(&self, st: &State, source: &Source) -> Result<Live, Vec<String>> {
        let rules = ruleset::select(
            source.rules.clone(),
            &self.all_toggles(st),
            self.config.min_priority,
        );
        let (set, other) = RuleSet::compile(rules, self.config.matching).map_err(|errs| {
            errs.iter()
                .map(|e| {
                    let d = source.names.locate(&e.rule, &e.message);
                    d.to_string().trim_end().to_string()
                })
                .collect::<Vec<_>>()
        })?;
        if !other.is_empty() {
            tracing::warn!("{} rules of the k8s_audit source are loaded but not evaluated: that source does not exist yet", other.len());
        }
        let mut registry = lock(&self.hits);
        let hits = set
            .rules
            .iter()
            .map(|c| registry.entry(c.rule.name.clone()).or_default().clone())
            .collect();
        Ok(Live {
            set,
            hits,
            generation: st.generation,
        })
    }
}

fn apply_toggles(rules: &mut [Rule], toggles: &[Toggle]) {
    for t in toggles {
        let (pat, on) = match t {
            Toggle::Enable(p) => (p, true),
            Toggle::Disable(p) => (p, false),
        };
        for r in rules.iter_mut().filter(|r| ruleset::selects(pat, r)) {
            r.enabled = on;
        }
    }
}

fn rejected(d: &Diagnostics, started: Instant, generation: u64) -> Outcome {
    Outcome {
        ok: false,
        errors: d
            .errors()
            .map(|e| e.to_string().trim_end().to_string())
            .collect(),
        generation,
        warnings: d.warnings().count() as u32,
        compile_ns: started.elapsed().as_nanos() as u64,
        ..Outcome::default()
    }
}
