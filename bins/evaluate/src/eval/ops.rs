//! Predicates on single values and the transformers, shared by every test
//! of the compiled form.
//!
//! It is not a place for shapes (ancestors, both ends of a socket, lists)
//! or negation: [`super`] applies those around these predicates.

use std::borrow::Cow;

use crate::compile::node::{NumOp, Pred};
use crate::fields::{EventView, Value};
use crate::lang::ast::{CmpOp, Transformer};

/// Applies `trs` (innermost first) to `v`.
pub fn transform<'a>(trs: &[Transformer], v: &Value<'a>) -> Value<'a> {
    let mut cur = v.clone();
    for t in trs {
        let Value::Bytes(b) = &cur else { return cur };
        cur = match t {
            Transformer::ToLower => Value::owned(b.to_ascii_lowercase()),
            Transformer::ToUpper => Value::owned(b.to_ascii_uppercase()),
            Transformer::Basename => {
                let base = match memchr::memrchr(b'/', b) {
                    Some(i) => b[i + 1..].to_vec(),
                    None => b.to_vec(),
                };
                Value::owned(base)
            }
            Transformer::B64 => match b64_decode(b) {
                Some(d) => Value::owned(d),
                // Falco leaves a value that is not base64 as it is.
                None => Value::Bytes(Cow::Owned(b.to_vec())),
            },
            Transformer::Len => Value::Uint(b.len() as u64),
        };
    }
    cur
}

/// Standard base64 (RFC 4648, with or without padding).
pub fn b64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.iter().copied().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn num(op: NumOp, a: i128, b: i128) -> bool {
    match op {
        NumOp::Eq => a == b,
        NumOp::Lt => a < b,
        NumOp::Le => a <= b,
        NumOp::Gt => a > b,
        NumOp::Ge => a >= b,
    }
}

/// The predicate `p` on one value.
pub fn pred(p: &Pred, v: &Value<'_>, ev: &EventView<'_>) -> bool {
    match (p, v) {
        (Pred::Str(m), Value::Bytes(b)) => m.matches(b),
        (Pred::Num(op, n), v) => v.as_num().is_some_and(|x| num(*op, x, *n)),
        (Pred::NumIn(set), v) => v.as_num().is_some_and(|x| set.contains(&x)),
        (Pred::Bool(b), Value::Bool(x)) => b == x,
        (Pred::Ip { addrs, nets }, Value::Ip(ip)) => {
            addrs.contains(ip) || nets.iter().any(|n| n.contains(ip))
        }
        (Pred::Dyn { num: Some(n), .. }, Value::Int(_) | Value::Uint(_)) => pred(n, v, ev),
        (Pred::Dyn { text, .. }, Value::Bytes(b)) => text.matches(b),
        (
            Pred::Field {
                other,
                transformers,
                op,
            },
            v,
        ) => {
            let ov = other.extract(ev);
            let Some(o) = ov.iter().next() else {
                return false;
            };
            let o = if transformers.is_empty() {
                o.clone()
            } else {
                transform(transformers, o)
            };
            compare_values(*op, v, &o)
        }
        _ => false,
    }
}

/// `a op b` for two extracted values (`val()` comparisons).
pub fn compare_values(op: CmpOp, a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Bytes(x), Value::Bytes(y)) => match op {
            CmpOp::Eq => x == y,
            CmpOp::Contains => memchr::memmem::find(x, y).is_some(),
            CmpOp::IContains => {
                memchr::memmem::find(&x.to_ascii_lowercase(), &y.to_ascii_lowercase()).is_some()
            }
            CmpOp::StartsWith => x.starts_with(y),
            CmpOp::EndsWith => x.ends_with(y),
            _ => false,
        },
        (Value::Ip(x), Value::Ip(y)) => op == CmpOp::Eq && x == y,
        (Value::Bool(x), Value::Bool(y)) => op == CmpOp::Eq && x == y,
        _ => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => match op {
                CmpOp::Eq => x == y,
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                CmpOp::Ge => x >= y,
                _ => false,
            },
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transformers() {
        let v = Value::borrowed(b"/usr/bin/Bash");
        assert_eq!(
            transform(&[Transformer::Basename], &v),
            Value::owned("Bash")
        );
        assert_eq!(
            transform(&[Transformer::Basename, Transformer::ToLower], &v),
            Value::owned("bash")
        );
        assert_eq!(
            transform(&[Transformer::ToUpper], &v),
            Value::owned("/USR/BIN/BASH")
        );
        assert_eq!(transform(&[Transformer::Len], &v), Value::Uint(13));
        assert_eq!(
            transform(&[Transformer::B64], &Value::borrowed(b"aGVsbG8=")),
            Value::owned("hello")
        );
        assert_eq!(
            transform(&[Transformer::B64], &Value::borrowed(b"a!")),
            Value::owned("a!")
        );
    }
}
