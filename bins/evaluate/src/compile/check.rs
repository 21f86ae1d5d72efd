//! Checking: macro and list inlining, field resolution, type checks of
//! operators and values, and the leaves of the [`Node`] tree (prepared
//! predicates). Inner nodes are built through [`Node::and`], [`Node::or`]
//! and `!` ([`super::build`]), which do the simplifying.
//!
//! It is not a place for running conditions ([`crate::eval`]), for the
//! matchers' algorithms ([`super::matcher`]) nor for rearranging nodes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use memchr::memmem;

use crate::fields::{self, Field, FieldType, Shape};
use crate::lang::ast::{
    CmpOp, Compare, Expr, FieldRef, ListItem, Modifier, Operand, Span, Transformer,
};
use crate::lang::parse::{op_name, takes_list};

use super::build::{field_cost, pred_cost};
use super::kinds::{candidates, KindSet};
use super::matcher::{self, AffixSet, FastSet, Glob, PathPrefixes, StrMatcher};
use super::node::{Net, Node, NumOp, Pred, Test};
use super::{CompileError, CompileWarning, Condition, Names, Resolve};

/// Deepest chain of macros using macros. Real rule sets nest fewer than
/// ten; the bound turns a runaway expansion into an error.
pub const MAX_MACRO_DEPTH: usize = 64;

/// Most values one list operand may expand to, after nested lists are
/// inlined. Falco's default lists have at most a few hundred items.
pub const MAX_LIST_ITEMS: usize = 100_000;

/// Deepest chain of lists naming lists.
const MAX_LIST_DEPTH: usize = 32;

pub struct Checker<'n, 'c> {
    names: &'n dyn Names,
    resolver: &'n dyn Resolve,
    /// Macro bodies already compiled in this session.
    cache: &'c mut MacroCache,
    /// Macros being expanded, outermost first.
    stack: Vec<String>,
    /// The longest `stack` has been while compiling the current macro body.
    deepest: usize,
    warnings: Vec<CompileWarning>,
    used_macros: Vec<String>,
    used_lists: Vec<String>,
}

/// Compiled macro bodies, shared by the conditions of one compilation
/// session ([`super::Compiler`]).
#[derive(Default)]
pub struct MacroCache {
    units: HashMap<MacroKey, Result<Unit, CompileError>>,
}

/// A macro body, by name when it comes from [`Names`], by address when the
/// loader inlined it ([`Expr::Inlined`]): every use of one macro shares the
/// one `Arc`.
#[derive(PartialEq, Eq, Hash)]
enum MacroKey {
    Named(String),
    Inlined(ByAddr),
}

/// An `Arc<Expr>` compared and hashed by address. Holding the `Arc` keeps
/// the address from being reused while the cache lives.
struct ByAddr(Arc<Expr>);

impl PartialEq for ByAddr {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

impl Eq for ByAddr {}

impl std::hash::Hash for ByAddr {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        Arc::as_ptr(&self.0).hash(h)
    }
}

/// One macro body, compiled. Warnings and errors name the macros below
/// this one only (`macros` starts with this macro's name): each use adds
/// the chain of macros it is reached through.
#[derive(Clone)]
struct Unit {
    node: Node,
    warnings: Vec<CompileWarning>,
    used_macros: Vec<String>,
    used_lists: Vec<String>,
    /// Levels of macros the body nests, itself included.
    depth: usize,
}

/// One value of a right-hand side, with where it was written.
struct Item {
    text: String,
    span: Span,
}

impl<'n, 'c> Checker<'n, 'c> {
    pub fn new(names: &'n dyn Names, resolver: &'n dyn Resolve, cache: &'c mut MacroCache) -> Self {
        Checker {
            names,
            resolver,
            cache,
            stack: Vec::new(),
            deepest: 0,
            warnings: Vec::new(),
            used_macros: Vec::new(),
            used_lists: Vec::new(),
        }
    }

    pub fn condition(mut self, e: &Expr) -> Result<Condition, CompileError> {
        let node = self.expr(e)?;
        let kinds = candidates(&node);
        self.used_macros.sort();
        self.used_macros.dedup();
        self.used_lists.sort();
        self.used_lists.dedup();
        Ok(Condition {
            node,
            kinds,
            warnings: self.warnings,
            used_macros: self.used_macros,
            used_lists: self.used_lists,
        })
    }

    fn err<T>(&self, span: Span, message: impl Into<String>) -> Result<T, CompileError> {
        Err(CompileError {
            message: message.into(),
            span,
            macros: self.stack.clone(),
        })
    }

    fn warn(&mut self, span: Span, message: impl Into<String>) {
        self.warnings.push(CompileWarning {
            message: message.into(),
            span,
            macros: self.stack.clone(),
        });
    }

    fn expr(&mut self, e: &Expr) -> Result<Node, CompileError> {
        Ok(match e {
            Expr::Const(b) => Node::Const(*b),
            Expr::And(items) => Node::and(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(items) => Node::or(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => !self.expr(inner)?,
            Expr::Exists(f) => {
                let field = self.field(f)?;
                Node::Exists(field)
            }
            Expr::Compare(c) => self.compare(c)?,
            Expr::Macro { name, span } => self.macro_ref(name, *span)?,
            Expr::Inlined { name, body } => self.macro_node(
                MacroKey::Inlined(ByAddr(Arc::clone(body))),
                name,
                body,
                // Inlined bodies are finite trees: no recursion error, and
                // a depth error has no span in this text to point at.
                Span::default(),
            )?,
        })
    }

    fn macro_ref(&mut self, name: &str, span: Span) -> Result<Node, CompileError> {
        let Some(body) = self.names.macro_condition(name) else {
            return self.err(span, format!("unknown macro `{name}`"));
        };
        self.macro_node(MacroKey::Named(name.to_string()), name, body, span)
    }

    /// The node of macro `name`, used at `span`: compiled the first time
    /// the session meets it, cloned from the cache after that.
    fn macro_node(
        &mut self,
        key: MacroKey,
        name: &str,
        body: &Expr,
        span: Span,
    ) -> Result<Node, CompileError> {
        if let Some(unit) = self.cache.units.get(&key).cloned() {
            return self.reuse(unit, span);
        }
        if self.stack.iter().any(|m| m == name) {
            let chain = [self.stack.as_slice(), &[name.to_string()]]
                .concat()
                .join(" → ");
            return self.err(span, format!("macro `{name}` uses itself: {chain}"));
        }
        if self.stack.len() >= MAX_MACRO_DEPTH {
            return self.err(
                span,
                format!("macros nest deeper than {MAX_MACRO_DEPTH} levels"),
            );
        }
        // The body compiles on its own: what it reports is kept relative
        // to it, so that any later use can add its own chain of macros.
        let base = self.stack.len();
        let outer = (
            std::mem::take(&mut self.warnings),
            std::mem::take(&mut self.used_macros),
            std::mem::take(&mut self.used_lists),
            self.deepest,
        );
        self.stack.push(name.to_string());
        self.deepest = self.stack.len();
        let node = self.expr(body);
        self.stack.pop();
        let unit = match node {
            Ok(node) => {
                let mut used_macros = std::mem::take(&mut self.used_macros);
                used_macros.push(name.to_string());
                Ok(Unit {
                    node,
                    warnings: std::mem::take(&mut self.warnings)
                        .into_iter()
                        .map(|mut w| {
                            w.macros.drain(..base.min(w.macros.len()));
                            w
                        })
                        .collect(),
                    used_macros,
                    used_lists: std::mem::take(&mut self.used_lists),
                    depth: self.deepest - base,
                })
            }
            Err(mut e) => {
                e.macros.drain(..base.min(e.macros.len()));
                Err(e)
            }
        };
        (
            self.warnings,
            self.used_macros,
            self.used_lists,
            self.deepest,
        ) = outer;
        super::count_macro();
        self.cache.units.insert(key, unit.clone());
        self.reuse(unit, span)
    }

    /// Adds a compiled macro body where it is used.
    fn reuse(
        &mut self,
        unit: Result<Unit, CompileError>,
        span: Span,
    ) -> Result<Node, CompileError> {
        let unit = match unit {
            Ok(u) => u,
            Err(mut e) => {
                e.macros.splice(..0, self.stack.iter().cloned());
                return Err(e);
            }
        };
        let depth = self.stack.len() + unit.depth;
        if depth > MAX_MACRO_DEPTH {
            return self.err(
                span,
                format!("macros nest deeper than {MAX_MACRO_DEPTH} levels"),
            );
        }
        self.deepest = self.deepest.max(depth);
        for mut w in unit.warnings {
            w.macros.splice(..0, self.stack.iter().cloned());
            self.warnings.push(w);
        }
        self.used_macros.extend(unit.used_macros);
        self.used_lists.extend(unit.used_lists);
        Ok(unit.node)
    }

    fn field(&self, f: &FieldRef) -> Result<Field, CompileError> {
        let field = match fields::lookup(&f.name, f.arg.as_deref()) {
            Ok(field) => field,
            Err(e) => return self.err(f.span, e.to_string()),
        };
        if field.ty() != FieldType::Str && !f.transformers.is_empty() {
            return self.err(
                f.span,
                format!(
                    "transformers apply to string fields; `{}` is {}",
                    f.name,
                    field.ty().name()
                ),
            );
        }
        if f.transformers
            .iter()
            .rev()
            .skip(1)
            .any(|t| *t == Transformer::Len)
        {
            return self.err(f.span, "len() gives a number; no transformer can follow it");
        }
        Ok(field)
    }

    /// The type a field has after its transformers.
    fn effective_type(field: &Field, trs: &[Transformer]) -> FieldType {
        if trs.contains(&Transformer::Len) {
            FieldType::Uint64
        } else {
            field.ty()
        }
    }

    /// Expands list names in `items`, and unquotes quoted list items.
    fn items(&mut self, items: &[ListItem]) -> Result<Vec<Item>, CompileError> {
        let mut out = Vec::new();
        for it in items {
            match it {
                // A YAML list item written with its quotes ('"(systemd)"')
                // is a quoted value in Falco's language; loaders that paste
                // list items in may leave the quotes on.
                ListItem::Value { text, span } => out.push(Item {
                    text: unquote(text).unwrap_or(text).to_string(),
                    span: *span,
                }),
                ListItem::Name { name, span } => {
                    if self.names.list_items(name).is_some() {
                        self.list(name, *span, 0, &mut out)?;
                    } else {
                        out.push(Item {
                            text: name.clone(),
                            span: *span,
                        });
                    }
                }
            }
            if out.len() > MAX_LIST_ITEMS {
                return self.err(
                    it_span(it),
                    format!("list has more than {MAX_LIST_ITEMS} items"),
                );
            }
        }
        Ok(out)
    }

    fn list(
        &mut self,
        name: &str,
        span: Span,
        depth: usize,
        out: &mut Vec<Item>,
    ) -> Result<(), CompileError> {
        if depth >= MAX_LIST_DEPTH {
            return self.err(
                span,
                format!("lists nest deeper than {MAX_LIST_DEPTH} levels (a list naming itself?)"),
            );
        }
        self.used_lists.push(name.to_string());
        let Some(items) = self.names.list_items(name) else {
            return Ok(());
        };
        for raw in items {
            let raw = raw.trim();
            if let Some(v) = unquote(raw) {
                out.push(Item {
                    text: v.to_string(),
                    span,
                });
            } else if self.names.list_items(raw).is_some() {
                self.list(raw, span, depth + 1, out)?;
            } else {
                out.push(Item {
                    text: raw.to_string(),
                    span,
                });
            }
            if out.len() > MAX_LIST_ITEMS {
                return self.err(
                    span,
                    format!("list `{name}` has more than {MAX_LIST_ITEMS} items"),
                );
            }
        }
        Ok(())
    }

    fn compare(&mut self, c: &Compare) -> Result<Node, CompileError> {
        let field = self.field(&c.lhs)?;
        let trs = c.lhs.transformers.clone();
        let ty = Self::effective_type(&field, &trs);
        let op = c.op;
        let opname = op_name(op);

        // Operands: a list, one value, or another field.
        let (items, single) = match &c.rhs {
            Operand::Field(other) => return self.field_compare(c, field, trs, ty, other),
            Operand::List { items, span } => {
                if !takes_list(op) && c.modifier.is_none() {
                    return self.err(*span, format!("`{opname}` compares with one value; use `in` for a list, or a modifier (anyof, allof, oneof)"));
                }
                (self.items(items)?, false)
            }
            Operand::Value { text, span } => (
                vec![Item {
                    text: text.clone(),
                    span: *span,
                }],
                true,
            ),
        };
        // A list name written alone after `in` arrives as a value.
        let items = if single && takes_list(op) {
            self.items(&[ListItem::Name {
                name: items[0].text.clone(),
                span: items[0].span,
            }])?
        } else {
            items
        };

        if c.lhs.name == "evt.type" && trs.is_empty() && c.modifier.is_none() {
            if let Some(node) = self.kind_test(op, &items) {
                return Ok(node);
            }
        }
        if let Some(ip_field) = c
            .lhs
            .name
            .strip_suffix(".name")
            .filter(|n| n.ends_with("ip") && n.starts_with("fd."))
        {
            if trs.is_empty() && matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In) {
                return Ok(self.name_test(c, ip_field, &items));
            }
        }
        if matches!(op, CmpOp::In | CmpOp::Intersects | CmpOp::Pmatch) && items.is_empty() {
            // `x in ()` holds for no value.
            return Ok(Node::Const(false));
        }

        let shape = if trs.is_empty() || field.shape() != Shape::List {
            field.shape()
        } else {
            Shape::One
        };
        let negate = op == CmpOp::Ne;
        let pred = self.pred(c, ty, op, c.modifier, &items)?;
        let cost = field_cost(&field) + pred_cost(&pred) + trs.len() as u32 * 2;
        let key = test_key(
            &field,
            &trs,
            op,
            c.modifier,
            items.iter().map(|i| i.text.as_str()),
        );
        Ok(Node::Test(Box::new(Test {
            all_items: op == CmpOp::In && shape == Shape::List,
            field,
            shape,
            transformers: trs,
            negate,
            pred,
            cost,
            key,
        })))
    }

    /// `fd.sip.name = NAME`: the name resolved now, the address compared
    /// per event.
    fn name_test(&mut self, c: &Compare, ip_field: &str, items: &[Item]) -> Node {
        let mut addrs = FastSet::default();
        for it in items {
            let found = match it.text.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => self.resolver.resolve(&it.text),
            };
            if found.is_empty() {
                self.warn(
                    it.span,
                    format!(
                        "`{}` does not resolve to an address now; `{}` cannot match it",
                        it.text, c.lhs.name
                    ),
                );
            }
            addrs.extend(found);
        }
        let field = match fields::lookup(ip_field, None) {
            Ok(f) => f,
            Err(_) => return Node::Const(false),
        };
        let key = test_key(
            &field,
            &[],
            c.op,
            None,
            addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        );
        Node::Test(Box::new(Test {
            shape: field.shape(),
            cost: field_cost(&field) + 1,
            key,
            field,
            transformers: Vec::new(),
            negate: c.op == CmpOp::Ne,
            all_items: false,
            pred: Pred::Ip {
                addrs,
                nets: Vec::new(),
            },
        }))
    }

    /// `evt.type = x`, `evt.type != x`, `evt.type in (…)` as kind sets.
    fn kind_test(&mut self, op: CmpOp, items: &[Item]) -> Option<Node> {
        if !matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In) {
            return None;
        }
        let mut set = KindSet::EMPTY;
        for it in items {
            match schema::table::by_name(&it.text) {
                Some(row) => set = set.with(row.kind),
                None => self.warn(
                    it.span,
                    format!(
                        "`{}` is not an event type kestrel captures; it matches nothing",
                        it.text
                    ),
                ),
            }
        }
        Some(if op == CmpOp::Ne {
            !Node::Kind(set)
        } else {
            Node::Kind(set)
        })
    }

    fn pred(
        &self,
        c: &Compare,
        ty: FieldType,
        op: CmpOp,
        m: Option<Modifier>,
        items: &[Item],
    ) -> Result<Pred, CompileError> {
        let opname = op_name(op);
        let bad_op = |me: &Self| {
            me.err(
                c.span,
                format!(
                    "operator `{opname}` does not apply to `{}` ({})",
                    c.lhs.name,
                    ty.name()
                ),
            )
        };
        match ty {
            FieldType::Str => self.str_pred(op, m, items).map(Pred::Str),
            FieldType::Dynamic => {
                if !matches!(
                    op,
                    CmpOp::Eq
                        | CmpOp::Ne
                        | CmpOp::In
                        | CmpOp::Lt
                        | CmpOp::Le
                        | CmpOp::Gt
                        | CmpOp::Ge
                ) {
                    return Ok(Pred::Dyn {
                        num: None,
                        text: self.str_pred(op, m, items)?,
                    });
                }
                let num = items
                    .iter()
                    .map(|i| parse_num(&i.text))
                    .collect::<Option<Vec<_>>>()
                    .map(|nums| Box::new(num_pred(op, &nums)));
                let text = if matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In) {
                    self.str_pred(op, m, items)?
                } else if num.is_none() {
                    return self.err(
                        items.first().map_or(c.span, |i| i.span),
                        format!("`{opname}` needs a number"),
                    );
                } else {
                    // Ordering applies to numbers only; a string value never matches.
                    StrMatcher::Any(Vec::new())
                };
                Ok(Pred::Dyn { num, text })
            }
            t if t.is_numeric() => {
                if !matches!(
                    op,
                    CmpOp::Eq
                        | CmpOp::Ne
                        | CmpOp::Lt
                        | CmpOp::Le
                        | CmpOp::Gt
                        | CmpOp::Ge
                        | CmpOp::In
                        | CmpOp::Intersects
                ) {
                    return bad_op(self);
                }
                if m.is_some() && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return self.err(c.span, "modifiers on numbers apply to `=` and `!=` only");
                }
                let mut nums = Vec::with_capacity(items.len());
                for it in items {
                    match parse_num(&it.text) {
                        Some(n) => nums.push(n),
                        None => {
                            return self.err(
                                it.span,
                                format!(
                                    "`{}` is {}: expected a number, found `{}`",
                                    c.lhs.name,
                                    ty.name(),
                                    it.text
                                ),
                            )
                        }
                    }
                }
                if m == Some(Modifier::AllOf) && nums.len() > 1 {
                    // A value cannot equal two different numbers.
                    let first = nums[0];
                    nums.dedup();
                    if nums.iter().any(|n| *n != first) {
                        return Ok(Pred::NumIn(FastSet::default()));
                    }
                }
                Ok(num_pred(op, &nums))
            }
            FieldType::Bool => {
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) || items.len() != 1 {
                    return bad_op(self);
                }
                match items[0].text.to_ascii_lowercase().as_str() {
                    "true" | "1" => Ok(Pred::Bool(true)),
                    "false" | "0" => Ok(Pred::Bool(false)),
                    t => self.err(
                        items[0].span,
                        format!(
                            "`{}` is BOOL: expected true or false, found `{t}`",
                            c.lhs.name
                        ),
                    ),
                }
            }
            FieldType::IpAddr | FieldType::IpNet => {
                if !matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects) {
                    return bad_op(self);
                }
                let mut addrs = FastSet::default();
                let mut nets = Vec::new();
                for it in items {
                    match parse_ip_or_net(&it.text) {
                        Some(IpOrNet::Ip(ip)) => {
                            addrs.insert(ip);
                        }
                        Some(IpOrNet::Net(n)) => nets.push(n),
                        None => {
                            return self.err(
                                it.span,
                                format!(
                                    "`{}` is {}: expected an IP address or network, found `{}`",
                                    c.lhs.name,
                                    ty.name(),
                                    it.text
                                ),
                            )
                        }
                    }
                }
                Ok(Pred::Ip { addrs, nets })
            }
            _ => bad_op(self),
        }
    }

    fn str_pred(
        &self,
        op: CmpOp,
        m: Option<Modifier>,
        items: &[Item],
    ) -> Result<StrMatcher, CompileError> {
        let bytes: Vec<Vec<u8>> = items.iter().map(|i| i.text.as_bytes().to_vec()).collect();
        let first_span = items.first().map_or(Span::default(), |i| i.span);
        let hexed = |me: &Self| -> Result<Vec<Vec<u8>>, CompileError> {
            items
                .iter()
                .map(|i| match matcher::hex(&i.text) {
                    Some(b) => Ok(b),
                    None => me.err(
                        i.span,
                        format!(
                            "`{}` needs hexadecimal bytes (e.g. 7f454c46), found `{}`",
                            op_name(op),
                            i.text
                        ),
                    ),
                })
                .collect()
        };
        // One matcher per value, for modifiers without a set form.
        let each = |me: &Self, vals: &[Vec<u8>]| -> Result<Vec<StrMatcher>, CompileError> {
            items
                .iter()
                .zip(vals)
                .map(|(it, v)| me.single(op, v, it))
                .collect()
        };
        let vals = if matches!(op, CmpOp::BContains | CmpOp::BStartsWith) {
            hexed(self)?
        } else {
            bytes
        };
        match m {
            Some(Modifier::AllOf) => return Ok(StrMatcher::All(each(self, &vals)?)),
            Some(Modifier::OneOf) => return Ok(StrMatcher::One(each(self, &vals)?)),
            _ => {}
        }
        if vals.len() == 1 && !matches!(op, CmpOp::In | CmpOp::Intersects | CmpOp::Pmatch) {
            return self.single(op, &vals[0], &items[0]);
        }
        Ok(match op {
            CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects => {
                StrMatcher::In(vals.into_iter().map(Vec::into_boxed_slice).collect())
            }
            CmpOp::Pmatch => StrMatcher::Pmatch(PathPrefixes::new(&vals)),
            CmpOp::StartsWith | CmpOp::BStartsWith => {
                StrMatcher::Affix(AffixSet::new(&vals, false))
            }
            CmpOp::EndsWith => StrMatcher::Affix(AffixSet::new(&vals, true)),
            CmpOp::Contains | CmpOp::BContains | CmpOp::IContains => {
                match matcher::contains_any(&vals, op == CmpOp::IContains) {
                    Ok(ac) => StrMatcher::ContainsAny(Box::new(ac)),
                    Err(e) => return self.err(first_span, e),
                }
            }
            _ => StrMatcher::Any(each(self, &vals)?),
        })
    }

    /// A matcher for one value.
    fn single(&self, op: CmpOp, v: &[u8], it: &Item) -> Result<StrMatcher, CompileError> {
        Ok(match op {
            CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects => StrMatcher::Eq(v.into()),
            CmpOp::Contains | CmpOp::BContains => {
                StrMatcher::Contains(Box::new(memmem::Finder::new(v).into_owned()))
            }
            CmpOp::IContains => match matcher::contains_any(&[v.to_vec()], true) {
                Ok(ac) => StrMatcher::ContainsAny(Box::new(ac)),
                Err(e) => return self.err(it.span, e),
            },
            CmpOp::StartsWith | CmpOp::BStartsWith => StrMatcher::StartsWith(v.into()),
            CmpOp::EndsWith => StrMatcher::EndsWith(v.into()),
            CmpOp::Glob => StrMatcher::Glob(Glob::new(v, false)),
            CmpOp::IGlob => StrMatcher::Glob(Glob::new(v, true)),
            CmpOp::Pmatch => StrMatcher::Pmatch(PathPrefixes::new(&[v.to_vec()])),
            CmpOp::Regex => match matcher::regex(&it.text) {
                Ok(r) => StrMatcher::Regex(Box::new(r)),
                Err(e) => return self.err(it.span, format!("invalid regex: {e}")),
            },
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
                return self.err(
                    it.span,
                    format!("`{}` compares numbers; this field is a string", op_name(op)),
                )
            }
        })
    }

    fn field_compare(
        &self,
        c: &Compare,
        field: Field,
        trs: Vec<Transformer>,
        ty: FieldType,
        other: &FieldRef,
    ) -> Result<Node, CompileError> {
        let of = self.field(other)?;
        let oty = Self::effective_type(&of, &other.transformers);
        let class = |t: FieldType| if t.is_numeric() { FieldType::Uint64 } else { t };
        if class(ty) != class(oty) {
            return self.err(
                other.span,
                format!(
                    "cannot compare `{}` ({}) with `{}` ({})",
                    c.lhs.name,
                    ty.name(),
                    other.name,
                    oty.name()
                ),
            );
        }
        let ok = match ty {
            FieldType::Str => matches!(
                c.op,
                CmpOp::Eq
                    | CmpOp::Ne
                    | CmpOp::Contains
                    | CmpOp::IContains
                    | CmpOp::StartsWith
                    | CmpOp::EndsWith
            ),
            t if t.is_numeric() => matches!(
                c.op,
                CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge
            ),
            _ => matches!(c.op, CmpOp::Eq | CmpOp::Ne),
        };
        if !ok || c.modifier.is_some() {
            return self.err(
                c.span,
                format!(
                    "operator `{}` cannot compare two fields of type {}",
                    op_name(c.op),
                    ty.name()
                ),
            );
        }
        let cost = field_cost(&field) + field_cost(&of) + 4;
        let other_name = format!("val({}{:?})", of.display_name(), other.transformers);
        let key = test_key(
            &field,
            &trs,
            c.op,
            None,
            std::iter::once(other_name.as_str()),
        );
        Ok(Node::Test(Box::new(Test {
            key,
            shape: if trs.is_empty() {
                field.shape()
            } else {
                Shape::One
            },
            field,
            transformers: trs,
            negate: c.op == CmpOp::Ne,
            all_items: false,
            pred: Pred::Field {
                other: of,
                transformers: other.transformers.clone(),
                op: if c.op == CmpOp::Ne { CmpOp::Eq } else { c.op },
            },
            cost,
        })))
    }
}

/// The canonical spelling of a test, for sharing it between rules.
fn test_key<'a>(
    field: &Field,
    trs: &[Transformer],
    op: CmpOp,
    m: Option<Modifier>,
    items: impl Iterator<Item = &'a str>,
) -> Box<str> {
    let mut k = format!("{}\u{1}{trs:?}\u{1}{op:?}\u{1}{m:?}", field.display_name());
    for it in items {
        k.push('\u{0}');
        k.push_str(it);
    }
    k.into_boxed_str()
}

fn it_span(it: &ListItem) -> Span {
    match it {
        ListItem::Value { span, .. } | ListItem::Name { span, .. } => *span,
    }
}

/// The value of a quoted list item (`'"(systemd)"'` in YAML), or `None`.
fn unquote(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        Some(&s[1..s.len() - 1])
    } else {
        None
    }
}

/// Parses a number as Falco does: decimal, optionally signed; `0x` hex.
pub fn parse_num(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(if neg { -n } else { n })
}

enum IpOrNet {
    Ip(IpAddr),
    Net(Net),
}

fn parse_ip_or_net(s: &str) -> Option<IpOrNet> {
    let s = s.trim();
    match s.split_once('/') {
        Some((a, p)) => {
            let addr: IpAddr = a.parse().ok()?;
            let prefix: u8 = p.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            (prefix <= max).then_some(IpOrNet::Net(Net { addr, prefix }))
        }
        None => s.parse().ok().map(IpOrNet::Ip),
    }
}

fn num_pred(op: CmpOp, nums: &[i128]) -> Pred {
    let op1 = match op {
        CmpOp::Lt => NumOp::Lt,
        CmpOp::Le => NumOp::Le,
        CmpOp::Gt => NumOp::Gt,
        CmpOp::Ge => NumOp::Ge,
        _ => NumOp::Eq,
    };
    if nums.len() == 1 {
        Pred::Num(op1, nums[0])
    } else {
        Pred::NumIn(nums.iter().copied().collect())
    }
}
