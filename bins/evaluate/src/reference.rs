//! A deliberately simple interpreter of the condition language, straight
//! over the syntax tree: every value is re-parsed, every list scanned, every
//! pattern matched by the obvious algorithm. It exists so that property
//! tests can check the compiled engine ([`crate::compile`], [`crate::eval`])
//! against an implementation short enough to be read and trusted.
//!
//! It is not for production: it is slow on purpose, and it assumes the
//! condition passed the checker (an ill-typed comparison is simply false).

use std::net::IpAddr;

use crate::compile::Names;
use crate::fields::{self, EventView, FieldType, Shape, Value};
use crate::lang::ast::{CmpOp, Compare, Expr, FieldRef, ListItem, Modifier, Operand, Transformer};

/// Evaluates `e` for `ev`, expanding macros and lists through `names`.
pub fn eval(e: &Expr, names: &dyn Names, ev: &EventView<'_>) -> bool {
    match e {
        Expr::Const(b) => *b,
        Expr::And(items) => items.iter().all(|i| eval(i, names, ev)),
        Expr::Or(items) => items.iter().any(|i| eval(i, names, ev)),
        Expr::Not(i) => !eval(i, names, ev),
        Expr::Macro { name, .. } => names
            .macro_condition(name)
            .is_some_and(|m| eval(m, names, ev)),
        Expr::Inlined { body, .. } => eval(body, names, ev),
        Expr::Exists(f) => !values(f, ev).0.is_empty(),
        Expr::Compare(c) => compare(c, names, ev),
    }
}

/// A field's values after its transformers, its type and its shape.
fn values<'a>(f: &FieldRef, ev: &EventView<'a>) -> (Vec<Value<'a>>, FieldType, Shape) {
    let Ok(field) = fields::lookup(&f.name, f.arg.as_deref()) else {
        return (Vec::new(), FieldType::Str, Shape::One);
    };
    let mut ty = field.ty();
    let mut shape = field.shape();
    let mut vals: Vec<Value<'a>> = field.extract(ev).iter().cloned().collect();
    for t in &f.transformers {
        vals = vals.into_iter().map(|v| apply(*t, v)).collect();
        if *t == Transformer::Len {
            ty = FieldType::Uint64;
        }
        if shape == Shape::List {
            shape = Shape::One;
        }
    }
    (vals, ty, shape)
}

fn apply<'a>(t: Transformer, v: Value<'a>) -> Value<'a> {
    let Value::Bytes(b) = &v else { return v };
    match t {
        Transformer::ToLower => {
            Value::owned(b.iter().map(|c| c.to_ascii_lowercase()).collect::<Vec<_>>())
        }
        Transformer::ToUpper => {
            Value::owned(b.iter().map(|c| c.to_ascii_uppercase()).collect::<Vec<_>>())
        }
        Transformer::Basename => {
            let s = b.rsplit(|c| *c == b'/').next().unwrap_or_default();
            Value::owned(s.to_vec())
        }
        Transformer::Len => Value::Uint(b.len() as u64),
        Transformer::B64 => Value::owned(crate::eval::b64_decode(b).unwrap_or_else(|| b.to_vec())),
    }
}

/// The right-hand side's values, lists expanded.
fn operands(c: &Compare, names: &dyn Names) -> Vec<String> {
    let mut out = Vec::new();
    let push_name = |name: &str, out: &mut Vec<String>| match names.list_items(name) {
        Some(_) => expand(name, names, out, 0),
        None => out.push(name.to_string()),
    };
    match &c.rhs {
        Operand::Value { text, .. }
            if matches!(c.op, CmpOp::In | CmpOp::Intersects | CmpOp::Pmatch) =>
        {
            push_name(text, &mut out)
        }
        Operand::Value { text, .. } => out.push(text.clone()),
        Operand::List { items, .. } => {
            for it in items {
                match it {
                    ListItem::Value { text, .. } => {
                        let quoted =
                            text.len() >= 2 && text.starts_with('"') && text.ends_with('"');
                        out.push(if quoted {
                            text[1..text.len() - 1].to_string()
                        } else {
                            text.clone()
                        })
                    }
                    ListItem::Name { name, .. } => push_name(name, &mut out),
                }
            }
        }
        Operand::Field(_) => {}
    }
    out
}

fn expand(name: &str, names: &dyn Names, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    for item in names.list_items(name).unwrap_or_default() {
        let item = item.trim();
        let quoted = item.len() >= 2
            && (item.starts_with('"') && item.ends_with('"')
                || item.starts_with('\'') && item.ends_with('\''));
        if quoted {
            out.push(item[1..item.len() - 1].to_string());
        } else if names.list_items(item).is_some() {
            expand(item, names, out, depth + 1);
        } else {
            out.push(item.to_string());
        }
    }
}

fn compare(c: &Compare, names: &dyn Names, ev: &EventView<'_>) -> bool {
    let (vals, ty, shape) = values(&c.lhs, ev);
    if vals.is_empty() {
        return false;
    }
    let op = if c.op == CmpOp::Ne { CmpOp::Eq } else { c.op };
    let test = |v: &Value<'_>| -> bool {
        if let Operand::Field(other) = &c.rhs {
            let (o, _, _) = values(other, ev);
            return o
                .first()
                .is_some_and(|o| crate::eval::compare_values(op, v, o));
        }
        let rhs = operands(c, names);
        let one = |r: &String| single(op, ty, v, r);
        match (c.modifier, op) {
            (Some(Modifier::AllOf), _) => rhs.iter().all(one),
            (Some(Modifier::OneOf), _) => rhs.iter().filter(|r| one(r)).count() == 1,
            _ => rhs.iter().any(one),
        }
    };
    match (shape, c.op) {
        (Shape::AnyOf, CmpOp::Ne) => vals.iter().any(|v| !test(v)),
        (_, CmpOp::Ne) => !vals.iter().any(test),
        (Shape::List, CmpOp::In) => vals.iter().all(test),
        _ => vals.iter().any(test),
    }
}

/// `v op r` for one right-hand value `r`, parsed for the field's type.
fn single(op: CmpOp, ty: FieldType, v: &Value<'_>, r: &str) -> bool {
    match v {
        Value::Bytes(b) => {
            if ty == FieldType::Dynamic
                && matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
            {
                return false;
            }
            string_op(op, b, r)
        }
        Value::Bool(x) => match r.to_ascii_lowercase().as_str() {
            "true" | "1" => *x,
            "false" | "0" => !*x,
            _ => false,
        },
        Value::Ip(ip) => ip_op(ip, r),
        Value::Uint(_) | Value::Int(_) => {
            let (Some(a), Some(b)) = (v.as_num(), crate::compile::parse_num(r)) else {
                return false;
            };
            match op {
                CmpOp::Eq | CmpOp::In | CmpOp::Intersects => a == b,
                CmpOp::Lt => a < b,
                CmpOp::Le => a <= b,
                CmpOp::Gt => a > b,
                CmpOp::Ge => a >= b,
                _ => false,
            }
        }
    }
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    n.is_empty() || h.windows(n.len()).any(|w| w == n)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn string_op(op: CmpOp, b: &[u8], r: &str) -> bool {
    let r_b = r.as_bytes();
    match op {
        CmpOp::Eq | CmpOp::In | CmpOp::Intersects => b == r_b,
        CmpOp::Contains => contains(b, r_b),
        CmpOp::IContains => contains(&b.to_ascii_lowercase(), &r_b.to_ascii_lowercase()),
        CmpOp::BContains => contains(b, &unhex(r)),
        CmpOp::StartsWith => b.starts_with(r_b),
        CmpOp::BStartsWith => b.starts_with(&unhex(r)),
        CmpOp::EndsWith => b.ends_with(r_b),
        CmpOp::Glob => glob(r_b, b),
        CmpOp::IGlob => glob(&r_b.to_ascii_lowercase(), &b.to_ascii_lowercase()),
        CmpOp::Regex => {
            regex_automata::meta::Regex::new(&format!("^(?:{r})$")).is_ok_and(|re| re.is_match(b))
        }
        CmpOp::Pmatch => {
            let p = if r_b.len() > 1 {
                r_b.strip_suffix(b"/").unwrap_or(r_b)
            } else {
                r_b
            };
            let is_glob = p.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
            let mut prefixes: Vec<&[u8]> = (1..b.len())
                .filter(|&i| b[i] == b'/')
                .map(|i| &b[..i])
                .collect();
            prefixes.push(b);
            if b.starts_with(b"/") {
                prefixes.push(b"/");
            }
            prefixes
                .iter()
                .any(|x| if is_glob { glob(p, x) } else { *x == p })
        }
        CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => false,
    }
}

/// Textbook recursive wildcard matching.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && glob(&p[2..], &s[1..]),
        Some(b'[') => {
            let Some(c) = s.first() else { return false };
            let body = &p[1..];
            let (neg, body) = match body.first() {
                Some(b'!' | b'^') => (true, &body[1..]),
                _ => (false, body),
            };
            // The first byte of a class may be `]` itself.
            let Some(end) = body.iter().skip(1).position(|x| *x == b']').map(|i| i + 1) else {
                return *c == b'[' && glob(&p[1..], &s[1..]);
            };
            let class = &body[..end];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            let rest = &body[end + 1..];
            hit != neg && glob(rest, &s[1..])
        }
        Some(x) => s.first() == Some(x) && glob(&p[1..], &s[1..]),
    }
}

fn ip_op(ip: &IpAddr, r: &str) -> bool {
    match r.trim().split_once('/') {
        Some((a, len)) => {
            let (Ok(net), Ok(len)) = (a.parse::<IpAddr>(), len.parse::<u32>()) else {
                return false;
            };
            match (net, ip) {
                (IpAddr::V4(n), IpAddr::V4(x)) if len <= 32 => {
                    len == 0 || (u32::from(n) >> (32 - len)) == (u32::from(*x) >> (32 - len))
                }
                (IpAddr::V6(n), IpAddr::V6(x)) if len <= 128 => {
                    len == 0 || (u128::from(n) >> (128 - len)) == (u128::from(*x) >> (128 - len))
                }
                _ => false,
            }
        }
        None => r.trim().parse::<IpAddr>().is_ok_and(|x| x == *ip),
    }
}
