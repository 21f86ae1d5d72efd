//! Rule exceptions become conditions, as Falco defines them: for a rule with
//! condition C and exceptions E1..En, the effective condition is
//! `C and not (E1 or ... or En)`, where each exception is the `or` of its
//! value tuples, and a tuple is the `and` of `field comp value` for each of
//! the exception's fields:
//!
//! ```text
//! fields: [proc.name, fd.directory]    values: [[apk, /usr/lib], [npm, /usr/bin]]
//! comps:  [=, =]
//! => not ((proc.name = apk and fd.directory = /usr/lib)
//!         or (proc.name = npm and fd.directory = /usr/bin))
//! ```
//!
//! The one-field form (`fields: fd.name`, `comps: in` by default, `values: [a,
//! b]`) gives `fd.name in (a, b)`; its comparison must take a list (`in`,
//! `pmatch`, `intersects`, or any operator with `oneof`/`anyof`/`allof`).
//! Without `comps`, the list form compares with `=`. An exception without
//! values adds nothing.
//!
//! It is not a place for list expansion: bare values that name lists are
//! left as [`ListItem::Name`] for the resolver to expand, as in conditions.

use crate::lang::ast::{CmpOp, Compare, Expr, FieldRef, ListItem, Modifier, Operand, Span};
use crate::lang::lex::is_identifier;
use crate::lang::parse::{parse_field, takes_list};
use crate::loader::diag::{Diagnostic, ItemKind};
use crate::loader::items::{Str, Val};
use crate::loader::merge::ExceptionDef;
use crate::loader::source::{Pos, SourceMap};

/// Reads an exception comparison: an operator, optionally followed by a
/// modifier (`startswith anyof`).
pub fn parse_comp(s: &str) -> Option<(CmpOp, Option<Modifier>)> {
    let mut words = s.split_whitespace();
    let op = match words.next()? {
        "=" | "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Ge,
        "contains" => CmpOp::Contains,
        "icontains" => CmpOp::IContains,
        "bcontains" => CmpOp::BContains,
        "startswith" => CmpOp::StartsWith,
        "bstartswith" => CmpOp::BStartsWith,
        "endswith" => CmpOp::EndsWith,
        "glob" => CmpOp::Glob,
        "iglob" => CmpOp::IGlob,
        "regex" => CmpOp::Regex,
        "in" => CmpOp::In,
        "intersects" => CmpOp::Intersects,
        "pmatch" => CmpOp::Pmatch,
        _ => return None,
    };
    let modifier = match words.next() {
        None => None,
        Some("oneof") => Some(Modifier::OneOf),
        Some("anyof") => Some(Modifier::AnyOf),
        Some("allof") => Some(Modifier::AllOf),
        Some(_) => return None,
    };
    if words.next().is_some() || (modifier.is_some() && takes_list(op)) {
        return None;
    }
    Some((op, modifier))
}

struct Ctx<'a> {
    map: &'a SourceMap,
    rule: &'a str,
    exception: &'a str,
}

impl Ctx<'_> {
    fn err(&self, pos: Pos, len: usize, msg: impl Into<String>) -> Box<Diagnostic> {
        Box::new(
            Diagnostic::error(format!("exception `{}`: {}", self.exception, msg.into()))
                .at(self.map.location(pos, len))
                .item(ItemKind::Rule, self.rule),
        )
    }

    fn field(&self, s: &Str) -> Result<FieldRef, Box<Diagnostic>> {
        parse_field(&s.value).map_err(|e| {
            self.err(
                s.pos,
                s.value.chars().count().max(1),
                format!("bad field `{}`: {}", s.value, e.message),
            )
        })
    }

    fn comp(&self, s: &Str) -> Result<(CmpOp, Option<Modifier>), Box<Diagnostic>> {
        parse_comp(&s.value).ok_or_else(|| {
            self.err(
                s.pos,
                s.value.chars().count().max(1),
                format!("unknown comparison `{}`", s.value),
            )
        })
    }

    fn scalar<'v>(&self, v: &'v Val, what: &str) -> Result<&'v Str, Box<Diagnostic>> {
        match v {
            Val::Scalar(s) => Ok(s),
            other => Err(self.err(other.pos(), 1, format!("{what} must be a single value"))),
        }
    }
}

fn item(s: &Str) -> ListItem {
    if is_identifier(&s.value) {
        ListItem::Name {
            name: s.value.clone(),
            span: Span::default(),
        }
    } else {
        ListItem::Value {
            text: s.value.clone(),
            span: Span::default(),
        }
    }
}

fn compare(field: &FieldRef, op: CmpOp, modifier: Option<Modifier>, rhs: Operand) -> Expr {
    Expr::Compare(Compare {
        lhs: field.clone(),
        op,
        modifier,
        rhs,
        span: Span::default(),
    })
}

/// The operand of one tuple element.
fn operand(ctx: &Ctx<'_>, v: &Val, list: bool) -> Result<Operand, Box<Diagnostic>> {
    if list {
        let items = match v {
            Val::Scalar(s) => vec![item(s)],
            Val::Seq(vs, _) => vs
                .iter()
                .map(|x| ctx.scalar(x, "a list item").map(item))
                .collect::<Result<_, _>>()?,
            Val::Map(p) => return Err(ctx.err(*p, 1, "a value must be a string or a list")),
        };
        return Ok(Operand::List {
            items,
            span: Span::default(),
        });
    }
    let s = ctx.scalar(v, "a value for this comparison")?;
    Ok(Operand::Value {
        text: s.value.clone(),
        span: Span::default(),
    })
}

/// The condition that excepts events matching `ex`, or `None` when it has
/// no values yet.
pub fn exception_expr(
    map: &SourceMap,
    rule: &str,
    ex: &ExceptionDef,
) -> Result<Option<Expr>, Box<Diagnostic>> {
    let ctx = Ctx {
        map,
        rule,
        exception: &ex.name.value,
    };
    let Some(fields) = &ex.fields else {
        return Err(ctx.err(ex.pos, 1, "no `fields`"));
    };
    match fields {
        Val::Scalar(f) => {
            let field = ctx.field(f)?;
            let (op, modifier) = match &ex.comps {
                None => (CmpOp::In, None),
                Some(c) => ctx.comp(ctx.scalar(c, "`comps` of a one-field exception")?)?,
            };
            if !takes_list(op) && modifier.is_none() {
                let pos = ex.comps.as_ref().map(Val::pos).unwrap_or(ex.pos);
                return Err(ctx.err(pos, 1, "with one field, `comps` must take a list: `in`, `pmatch`, `intersects`, or an operator with `oneof`/`anyof`/`allof`"));
            }
            if ex.values.is_empty() {
                return Ok(None);
            }
            let mut items = Vec::new();
            for v in &ex.values {
                match v {
                    Val::Scalar(s) => items.push(item(s)),
                    Val::Seq(vs, _) => {
                        for x in vs {
                            items.push(item(ctx.scalar(x, "a value of a one-field exception")?));
                        }
                    }
                    Val::Map(p) => return Err(ctx.err(*p, 1, "a value must be a string")),
                }
            }
            Ok(Some(compare(
                &field,
                op,
                modifier,
                Operand::List {
                    items,
                    span: Span::default(),
                },
            )))
        }
        Val::Seq(fs, _) => {
            let fields = fs
                .iter()
                .map(|f| ctx.scalar(f, "a field").and_then(|s| ctx.field(s)))
                .collect::<Result<Vec<_>, _>>()?;
            let comps = match &ex.comps {
                None => vec![(CmpOp::Eq, None); fields.len()],
                Some(Val::Seq(cs, p)) => {
                    if cs.len() != fields.len() {
                        return Err(ctx.err(
                            *p,
                            1,
                            format!("{} fields but {} comps", fields.len(), cs.len()),
                        ));
                    }
                    cs.iter()
                        .map(|c| ctx.scalar(c, "a comparison").and_then(|s| ctx.comp(s)))
                        .collect::<Result<Vec<_>, _>>()?
                }
                Some(other) => {
                    return Err(ctx.err(
                        other.pos(),
                        1,
                        "with a list of fields, `comps` must be a list of the same length",
                    ))
                }
            };
            let mut tuples = Vec::new();
            for v in &ex.values {
                let Val::Seq(vals, p) = v else {
                    return Err(ctx.err(
                        v.pos(),
                        1,
                        format!(
                            "each value must be a list of {} items, one per field",
                            fields.len()
                        ),
                    ));
                };
                if vals.len() != fields.len() {
                    return Err(ctx.err(
                        *p,
                        1,
                        format!("{} values for {} fields", vals.len(), fields.len()),
                    ));
                }
                let mut conj = Vec::with_capacity(fields.len());
                for ((f, (op, m)), val) in fields.iter().zip(&comps).zip(vals) {
                    let rhs = operand(&ctx, val, takes_list(*op) || m.is_some())?;
                    conj.push(compare(f, *op, *m, rhs));
                }
                tuples.push(if conj.len() == 1 {
                    conj.remove(0)
                } else {
                    Expr::And(conj)
                });
            }
            Ok(match tuples.len() {
                0 => None,
                1 => tuples.pop(),
                _ => Some(Expr::Or(tuples)),
            })
        }
        Val::Map(p) => Err(ctx.err(*p, 1, "`fields` must be a field or a list of fields")),
    }
}

/// `cond and not (e1 or e2 ...)`, or `cond` when no exception has values.
pub fn with_exceptions(cond: Expr, excepts: Vec<Expr>) -> Expr {
    if excepts.is_empty() {
        return cond;
    }
    let ex = if excepts.len() == 1 {
        excepts.into_iter().next().unwrap_or(Expr::Const(false))
    } else {
        Expr::Or(excepts)
    };
    Expr::And(vec![cond, Expr::Not(Box::new(ex))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comps() {
        assert_eq!(parse_comp("="), Some((CmpOp::Eq, None)));
        assert_eq!(
            parse_comp("startswith anyof"),
            Some((CmpOp::StartsWith, Some(Modifier::AnyOf)))
        );
        assert_eq!(parse_comp("in anyof"), None);
        assert_eq!(parse_comp("like"), None);
        assert_eq!(parse_comp("= anyof extra"), None);
    }
}
