//! From merged definitions to self-contained rule conditions: parse every
//! macro and rule condition, inline macros (detecting recursion; each macro
//! is expanded once and its body shared by every use as an
//! [`Expr::Inlined`], so that the compiler can also compile it once), expand
//! list names inside `(...)` lists (lists may name lists), add exceptions,
//! check every field against the field registry (through [`FieldCatalog`])
//! and every regex, and compute the event types each rule can match.
//!
//! Warnings: unused lists and macros, rules that match every event type,
//! `evt.type` values kestrel has no event for, and any use of `evt.dir`
//! (exit events only: `evt.dir = <` always holds, `>` never).
//!
//! Limits: expansion is bounded by [`MAX_LIST_ITEMS`] items per list and
//! [`MAX_EXPANDED_NODES`] nodes per rule, so a few lines of YAML cannot make
//! the loader build an exponentially large condition.
//!
//! It is not the type checker or the compiler: operator/type compatibility
//! and compilation belong to [`crate::compile`]-side code of the engine.

pub mod catalog;
pub mod evttypes;
pub mod exceptions;
pub mod names;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use schema::Priority;

use crate::alert::template::{self, Template};
use crate::compile::CompileOnce;
use crate::lang::ast::{CmpOp, Compare, Expr, FieldRef, ListItem, Operand, Span};
use crate::lang::parse;
use crate::loader::diag::{Diagnostic, Diagnostics, ItemKind, Location};
use crate::loader::merge::{Defs, RuleDef};
use crate::loader::source::{CondText, SourceMap};
use evttypes::KindSet;

/// Most items one list may expand to (lists naming lists included). Falco's
/// largest default list has about 150; a million-item list is a mistake or
/// an attack, and would cost memory in every rule that names it.
pub const MAX_LIST_ITEMS: usize = 100_000;

/// Most syntax-tree nodes one rule's condition may expand to once macros
/// and lists are inlined. The compat ruleset's largest rule has a few
/// thousand.
pub const MAX_EXPANDED_NODES: usize = 1_000_000;

/// Answers whether a field exists, for an event source. The engine's field
/// registry implements it; [`AnyField`] accepts everything (parsing-only
/// uses and tests).
pub trait FieldCatalog {
    /// `Ok` when `field` names a field of `source` (`None`: of any source);
    /// `Err` with a message otherwise.
    fn check(&self, source: Option<&str>, field: &FieldRef) -> Result<(), String>;
}

/// A catalog that knows every field.
pub struct AnyField;

impl FieldCatalog for AnyField {
    fn check(&self, _: Option<&str>, _: &FieldRef) -> Result<(), String> {
        Ok(())
    }
}

/// A rule ready for compilation.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// Macros inlined (as [`Expr::Inlined`], shared with every other use of
    /// the macro), lists expanded, exceptions added.
    pub condition: Expr,
    /// The condition as the user wrote it (after append/override).
    pub condition_text: String,
    pub output: Template,
    /// The event types the condition can match (all, for non-syscall
    /// sources).
    pub kinds: KindSet,
    /// Where the rule is defined.
    pub location: Option<Location>,
    /// `condition` compiled, once, by whoever needs it first (the ruleset
    /// or the diagnostics); shared with [`names::Names`].
    pub compiled: CompileOnce,
}

/// Where the expression being walked was written, for locating its spans.
#[derive(Clone, Copy)]
struct Owner<'a> {
    cond: &'a CondText,
    kind: ItemKind,
    name: &'a str,
}

struct Resolver<'a> {
    map: &'a SourceMap,
    defs: &'a Defs,
    catalog: &'a dyn FieldCatalog,
    diags: &'a mut Diagnostics,
    parsed: HashMap<String, Option<Expr>>,
    /// Expanded macro bodies and their node counts; `None` after an error.
    /// A body is expanded once and shared by every rule and macro using it.
    expanded: HashMap<String, Option<(Arc<Expr>, usize)>>,
    lists: HashMap<String, Option<Vec<String>>>,
    stack: Vec<String>,
    used_macros: HashSet<String>,
    used_lists: HashSet<String>,
    /// (macro, source) pairs whose fields were checked, and the outcome.
    checked: HashMap<(String, String), bool>,
    warned_dir: HashSet<String>,
    /// Each rule's condition as parsed, before inlining.
    rule_parsed: HashMap<String, (Expr, CondText)>,
    /// Each rule's compiled condition, once it is compiled.
    rule_compiled: HashMap<String, CompileOnce>,
}

/// Resolves every rule of `defs`. Errors and warnings go to `diags`; rules
/// with errors are left out.
pub fn resolve(
    map: &SourceMap,
    defs: &Defs,
    catalog: &dyn FieldCatalog,
    diags: &mut Diagnostics,
) -> (Vec<Rule>, names::Names) {
    let mut r = Resolver {
        map,
        defs,
        catalog,
        diags,
        parsed: HashMap::new(),
        expanded: HashMap::new(),
        lists: HashMap::new(),
        stack: Vec::new(),
        used_macros: HashSet::new(),
        used_lists: HashSet::new(),
        checked: HashMap::new(),
        warned_dir: HashSet::new(),
        rule_parsed: HashMap::new(),
        rule_compiled: HashMap::new(),
    };
    for m in &defs.macros {
        let owner = Owner {
            cond: &m.cond,
            kind: ItemKind::Macro,
            name: &m.name,
        };
        let p = r.parse(&m.cond, owner);
        r.parsed.insert(m.name.clone(), p);
    }
    let mut out = Vec::new();
    for rule in &defs.rules {
        if let Some(x) = r.rule(rule) {
            out.push(x);
        }
    }
    r.unused();
    let names = names::Names {
        macros: defs
            .macros
            .iter()
            .filter_map(|m| {
                Some((
                    m.name.clone(),
                    (r.parsed.get(&m.name)?.clone()?, m.cond.clone()),
                ))
            })
            .collect(),
        lists: defs
            .lists
            .iter()
            .map(|l| {
                (
                    l.name.clone(),
                    l.items.iter().map(|i| i.value.clone()).collect(),
                )
            })
            .collect(),
        rules: std::mem::take(&mut r.rule_parsed),
        compiled: std::mem::take(&mut r.rule_compiled),
        map: map.clone(),
    };
    (out, names)
}

impl<'a> Resolver<'a> {
    fn error_at(&mut self, owner: Owner<'_>, span: Span, msg: impl Into<String>) {
        let loc = self.map.locate_in(owner.cond, span);
        self.diags
            .push(Diagnostic::error(msg).at(loc).item(owner.kind, owner.name));
    }

    fn warn_at(&mut self, owner: Owner<'_>, span: Span, msg: impl Into<String>) {
        let loc = self.map.locate_in(owner.cond, span);
        self.diags.push(
            Diagnostic::warning(msg)
                .at(loc)
                .item(owner.kind, owner.name),
        );
    }

    fn parse(&mut self, cond: &CondText, owner: Owner<'_>) -> Option<Expr> {
        match parse::parse(&cond.text) {
            Ok(e) => Some(e),
            Err(e) => {
                self.error_at(
                    owner,
                    e.span,
                    format!("syntax error in condition: {}", e.message),
                );
                None
            }
        }
    }

    /// The items of list `name`, expanded; `None` if it is not a list or
    /// could not be expanded (error reported).
    fn list_items(
        &mut self,
        name: &str,
        owner: Owner<'_>,
        span: Span,
    ) -> Option<Option<Vec<String>>> {
        let def = self.defs.list(name)?;
        self.used_lists.insert(name.to_string());
        if let Some(done) = self.lists.get(name) {
            return Some(done.clone());
        }
        if self.stack.iter().any(|s| s == &format!("list:{name}")) {
            let path = self
                .stack
                .iter()
                .filter_map(|s| s.strip_prefix("list:"))
                .chain([name])
                .collect::<Vec<_>>()
                .join(" → ");
            self.error_at(
                owner,
                span,
                format!("list `{name}` refers to itself: {path}"),
            );
            return Some(None);
        }
        self.stack.push(format!("list:{name}"));
        let mut out = Vec::new();
        let mut ok = true;
        let list_owner_cond = CondText::new(name, def.pos);
        for it in def.items.clone() {
            if it.value != name && self.defs.list(&it.value).is_some() {
                let lo = Owner {
                    cond: &list_owner_cond,
                    kind: ItemKind::List,
                    name,
                };
                match self.list_items(&it.value, lo, Span::default()) {
                    Some(Some(v)) => out.extend(v),
                    _ => ok = false,
                }
            } else {
                out.push(it.value);
            }
            if out.len() > MAX_LIST_ITEMS {
                let d = Diagnostic::error(format!(
                    "list `{name}` expands to more than {MAX_LIST_ITEMS} items"
                ))
                .at(self.map.location(def.pos, name.chars().count()))
                .item(ItemKind::List, name);
                self.diags.push(d);
                ok = false;
                break;
            }
        }
        self.stack.pop();
        let res = ok.then_some(out);
        self.lists.insert(name.to_string(), res.clone());
        Some(res)
    }

    /// Inlines macros and expands lists in `e`, written in `owner`.
    fn expand(&mut self, e: &Expr, owner: Owner<'_>, budget: &mut usize) -> Option<Expr> {
        let out = match e {
            Expr::And(v) => Expr::And(
                v.iter()
                    .map(|x| self.expand(x, owner, budget))
                    .collect::<Option<_>>()?,
            ),
            Expr::Or(v) => Expr::Or(
                v.iter()
                    .map(|x| self.expand(x, owner, budget))
                    .collect::<Option<_>>()?,
            ),
            Expr::Not(x) => Expr::Not(Box::new(self.expand(x, owner, budget)?)),
            Expr::Const(b) => Expr::Const(*b),
            Expr::Exists(f) => Expr::Exists(f.clone()),
            Expr::Compare(c) => Expr::Compare(self.expand_compare(c, owner)?),
            Expr::Macro { name, span } => {
                let (body, n) = self.macro_body(name, owner, *span)?;
                if n > *budget {
                    self.error_at(owner, *span, format!("condition grows past {MAX_EXPANDED_NODES} nodes once macros are inlined"));
                    return None;
                }
                *budget -= n;
                return Some(Expr::Inlined {
                    name: Arc::from(name.as_str()),
                    body,
                });
            }
            // Already expanded (the parser never produces it).
            Expr::Inlined { .. } => e.clone(),
        };
        let n = match &out {
            Expr::Compare(Compare {
                rhs: Operand::List { items, .. },
                ..
            }) => 1 + items.len(),
            _ => 1,
        };
        if n > *budget {
            self.error_at(owner, Span::default(), format!("condition grows past {MAX_EXPANDED_NODES} nodes once macros and lists are inlined"));
            return None;
        }
        *budget -= n;
        Some(out)
    }

    fn expand_compare(&mut self, c: &Compare, owner: Owner<'_>) -> Option<Compare> {
        let mut c = c.clone();
        if let Operand::List { items, span } = &c.rhs {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for it in items {
                match it {
                    ListItem::Name { name, span } => match self.list_items(name, owner, *span) {
                        Some(Some(v)) => out.extend(
                            v.into_iter()
                                .map(|text| ListItem::Value { text, span: *span }),
                        ),
                        Some(None) => ok = false,
                        None => out.push(ListItem::Value {
                            text: name.clone(),
                            span: *span,
                        }),
                    },
                    v @ ListItem::Value { .. } => out.push(v.clone()),
                }
                if out.len() > MAX_LIST_ITEMS {
                    self.error_at(
                        owner,
                        *span,
                        format!("list expands to more than {MAX_LIST_ITEMS} items"),
                    );
                    return None;
                }
            }
            if !ok {
                return None;
            }
            c.rhs = Operand::List {
                items: out,
                span: *span,
            };
        }
        Some(c)
    }

    /// The expanded body of macro `name`, referenced at `span` of `owner`.
    fn macro_body(
        &mut self,
        name: &str,
        owner: Owner<'_>,
        span: Span,
    ) -> Option<(Arc<Expr>, usize)> {
        let Some(def) = self.defs.macro_(name) else {
            let hint = if self.defs.list(name).is_some() {
                format!(" (`{name}` is a list: write `field in ({name})`)")
            } else {
                String::new()
            };
            self.error_at(owner, span, format!("undefined macro `{name}`{hint}"));
            return None;
        };
        self.used_macros.insert(name.to_string());
        if self.stack.iter().any(|s| s == name) {
            let start = self.stack.iter().position(|s| s == name).unwrap_or(0);
            let path = self.stack[start..]
                .iter()
                .map(String::as_str)
                .chain([name])
                .collect::<Vec<_>>()
                .join(" → ");
            self.error_at(
                owner,
                span,
                format!("macro `{name}` refers to itself: {path}"),
            );
            self.expanded.insert(name.to_string(), None);
            return None;
        }
        if let Some(done) = self.expanded.get(name) {
            return done.clone();
        }
        let parsed = self.parsed.get(name).cloned().flatten();
        let Some(parsed) = parsed else {
            // The syntax error was reported with the macro.
            return None;
        };
        self.stack.push(name.to_string());
        let mowner = Owner {
            cond: &def.cond,
            kind: ItemKind::Macro,
            name: &def.name,
        };
        let mut budget = MAX_EXPANDED_NODES;
        let body = self.expand(&parsed, mowner, &mut budget);
        self.stack.pop();
        let res = body.map(|b| {
            let n = MAX_EXPANDED_NODES - budget;
            (Arc::new(b), n)
        });
        // A failure inside a recursion cycle was already recorded.
        if !matches!(self.expanded.get(name), Some(None)) {
            self.expanded.insert(name.to_string(), res.clone());
        }
        res
    }

    /// Checks the fields and regexes of `e` (unexpanded, written in `owner`)
    /// for `source`, following macro references. Returns false on error.
    fn check(
        &mut self,
        e: &Expr,
        owner: Owner<'_>,
        source: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> bool {
        match e {
            Expr::And(v) | Expr::Or(v) => {
                let mut ok = true;
                for x in v {
                    ok &= self.check(x, owner, source, errors);
                }
                ok
            }
            Expr::Not(x) => self.check(x, owner, source, errors),
            // Checked when its macro was: only expansion produces it.
            Expr::Const(_) | Expr::Inlined { .. } => true,
            Expr::Exists(f) => self.check_field(f, owner, source, errors),
            Expr::Compare(c) => {
                let mut ok = self.check_field(&c.lhs, owner, source, errors);
                if let Operand::Field(f) = &c.rhs {
                    ok &= self.check_field(f, owner, source, errors);
                }
                if c.op == CmpOp::Regex {
                    ok &= self.check_regex(&c.rhs, owner, errors);
                }
                ok
            }
            Expr::Macro { name, .. } => {
                let key = (name.clone(), source.to_string());
                if let Some(ok) = self.checked.get(&key) {
                    return *ok;
                }
                let (Some(def), Some(Some(body))) =
                    (self.defs.macro_(name), self.parsed.get(name).cloned())
                else {
                    // Undefined or unparsable: reported by expansion.
                    return true;
                };
                self.checked.insert(key.clone(), true);
                let mowner = Owner {
                    cond: &def.cond,
                    kind: ItemKind::Macro,
                    name: &def.name,
                };
                let ok = self.check(&body, mowner, source, errors);
                self.checked.insert(key, ok);
                ok
            }
        }
    }

    fn check_field(
        &mut self,
        f: &FieldRef,
        owner: Owner<'_>,
        source: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> bool {
        if f.name == "evt.dir" && self.warned_dir.insert(owner.name.to_string()) {
            self.warn_at(
                owner,
                f.span,
                "`evt.dir` is deprecated: kestrel sees exit events only, so `evt.dir = <` always holds and `evt.dir = >` never does",
            );
        }
        match self.catalog.check(Some(source), f) {
            Ok(()) => true,
            Err(msg) => {
                let loc = self.map.locate_in(owner.cond, f.span);
                errors.push(Diagnostic::error(msg).at(loc).item(owner.kind, owner.name));
                false
            }
        }
    }

    fn check_regex(
        &mut self,
        rhs: &Operand,
        owner: Owner<'_>,
        errors: &mut Vec<Diagnostic>,
    ) -> bool {
        let pats: Vec<(&str, Span)> = match rhs {
            Operand::Value { text, span } => vec![(text.as_str(), *span)],
            Operand::List { items, .. } => items
                .iter()
                .map(|i| match i {
                    ListItem::Value { text, span } => (text.as_str(), *span),
                    ListItem::Name { name, span } => (name.as_str(), *span),
                })
                .collect(),
            Operand::Field(_) => Vec::new(),
        };
        let mut ok = true;
        for (p, span) in pats {
            if let Err(e) = regex_automata::meta::Regex::new(p) {
                let loc = self.map.locate_in(owner.cond, span);
                let msg = format!(
                    "invalid regex `{p}`: {}",
                    e.to_string().lines().last().unwrap_or("syntax error")
                );
                errors.push(Diagnostic::error(msg).at(loc).item(owner.kind, owner.name));
                ok = false;
            }
        }
        ok
    }

    fn rule(&mut self, rule: &RuleDef) -> Option<Rule> {
        let owner = Owner {
            cond: &rule.cond,
            kind: ItemKind::Rule,
            name: &rule.name,
        };
        let parsed = self.parse(&rule.cond, owner)?;
        self.rule_parsed
            .insert(rule.name.clone(), (parsed.clone(), rule.cond.clone()));
        let mut budget = MAX_EXPANDED_NODES;
        let expanded = self.expand(&parsed, owner, &mut budget);
        let mut field_errors = Vec::new();
        let fields_ok = self.check(&parsed, owner, &rule.source, &mut field_errors);

        let mut excepts = Vec::new();
        let mut ex_ok = true;
        let mut ex_fields_ok = true;
        for ex in &rule.exceptions {
            match exceptions::exception_expr(self.map, &rule.name, ex) {
                Ok(Some(e)) => {
                    let ex_cond = CondText::new(&ex.name.value, ex.pos);
                    let eowner = Owner {
                        cond: &ex_cond,
                        kind: ItemKind::Rule,
                        name: &rule.name,
                    };
                    ex_fields_ok &= self.check(&e, eowner, &rule.source, &mut field_errors);
                    match self.expand(&e, eowner, &mut budget) {
                        Some(x) => excepts.push(x),
                        None => ex_ok = false,
                    }
                }
                Ok(None) => {}
                Err(d) => {
                    self.diags.push(*d);
                    ex_ok = false;
                }
            }
        }

        let output = template::parse(&rule.output.text);
        let out_owner = Owner {
            cond: &rule.output,
            kind: ItemKind::Rule,
            name: &rule.name,
        };
        let mut out_ok = true;
        for (f, _) in output.fields() {
            if let Err(msg) = self.catalog.check(Some(&rule.source), f) {
                let loc = self.map.locate_in(out_owner.cond, f.span);
                field_errors.push(
                    Diagnostic::error(format!("in output: {msg}"))
                        .at(loc)
                        .item(ItemKind::Rule, &rule.name),
                );
                out_ok = false;
            }
        }

        if !(fields_ok && out_ok && ex_fields_ok) {
            if rule.skip_if_unknown_filter {
                for mut d in field_errors {
                    d.severity = crate::loader::diag::Severity::Warning;
                    d.note = Some("rule skipped (skip-if-unknown-filter: true)".into());
                    self.diags.push(d);
                }
                return None;
            }
            for d in field_errors {
                self.diags.push(d);
            }
            return None;
        }
        let expanded = expanded?;
        if !ex_ok {
            return None;
        }
        let condition = exceptions::with_exceptions(expanded, excepts);

        let kinds = if rule.source == "syscall" {
            let k = evttypes::kinds(&condition, false);
            if k.is_all() && rule.warn_evttypes {
                let d = Diagnostic::warning(format!(
                    "rule `{}` matches every event type ({} types): restrict it with `evt.type` so it runs only on the events it needs",
                    rule.name,
                    k.len()
                ))
                .at(self.map.location(rule.pos, rule.name.chars().count()))
                .item(ItemKind::Rule, &rule.name);
                self.diags.push(d);
            }
            k
        } else {
            KindSet::all()
        };
        let compiled = CompileOnce::default();
        self.rule_compiled
            .insert(rule.name.clone(), compiled.clone());
        Some(Rule {
            compiled,
            name: rule.name.clone(),
            desc: rule.desc.clone(),
            priority: rule.priority,
            source: rule.source.clone(),
            tags: rule.tags.clone(),
            enabled: rule.enabled,
            condition,
            condition_text: rule.cond.text.clone(),
            output,
            kinds,
            location: self.map.location(rule.pos, rule.name.chars().count()),
        })
    }

    fn unused(&mut self) {
        for m in &self.defs.macros {
            if !self.used_macros.contains(&m.name) {
                let d = Diagnostic::warning(format!("macro `{}` is never used", m.name))
                    .at(self.map.location(m.pos, m.name.chars().count()))
                    .item(ItemKind::Macro, &m.name);
                self.diags.push(d);
            }
        }
        for l in &self.defs.lists {
            if !self.used_lists.contains(&l.name) {
                let d = Diagnostic::warning(format!("list `{}` is never used", l.name))
                    .at(self.map.location(l.pos, l.name.chars().count()))
                    .item(ItemKind::List, &l.name);
                self.diags.push(d);
            }
        }
    }
}
