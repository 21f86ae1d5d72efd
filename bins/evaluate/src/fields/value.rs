//! What a field extracts from an event: zero, one or several [`Value`]s,
//! borrowed from the frame whenever the wire already holds the bytes.
//!
//! It is not a place for comparison semantics; the compiler and the
//! reference interpreter own those.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

/// One extracted value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Strings are bytes: Linux paths and command lines need not be UTF-8.
    Bytes(Cow<'a, [u8]>),
    Uint(u64),
    Int(i64),
    Bool(bool),
    Ip(IpAddr),
}

impl<'a> Value<'a> {
    /// A string borrowed from the frame.
    pub fn borrowed(b: &'a [u8]) -> Self {
        Value::Bytes(Cow::Borrowed(b))
    }

    /// A string computed for this event.
    pub fn owned(s: impl Into<Vec<u8>>) -> Self {
        Value::Bytes(Cow::Owned(s.into()))
    }

    /// The value as a signed 128-bit number, for numeric comparisons that
    /// must order `u64` and `i64` values together.
    pub fn as_num(&self) -> Option<i128> {
        match self {
            Value::Uint(u) => Some(*u as i128),
            Value::Int(i) => Some(*i as i128),
            Value::Bool(b) => Some(*b as i128),
            Value::Bytes(_) | Value::Ip(_) => None,
        }
    }

    /// Appends the value as Falco prints it in outputs.
    pub fn render(&self, out: &mut String) {
        match self {
            Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
            Value::Uint(u) => {
                let _ = write!(out, "{u}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Ip(ip) => {
                let _ = write!(out, "{ip}");
            }
        }
    }
}

/// The values of one field for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Values<'a> {
    /// Not available (`<NA>`): every comparison on it is false.
    Na,
    One(Value<'a>),
    /// Both ends of a connection (client first), for `fd.ip`, `fd.port` and
    /// `fd.net`.
    Two(Value<'a>, Value<'a>),
    /// Ancestors or list items.
    Many(Vec<Value<'a>>),
}

impl<'a> Values<'a> {
    /// The values as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &Value<'a>> {
        let (a, b, c): (Option<&Value<'a>>, Option<&Value<'a>>, &[Value<'a>]) = match self {
            Values::Na => (None, None, &[]),
            Values::One(v) => (Some(v), None, &[]),
            Values::Two(x, y) => (Some(x), Some(y), &[]),
            Values::Many(v) => (None, None, v.as_slice()),
        };
        a.into_iter().chain(b).chain(c.iter())
    }

    /// True when there is no value (an empty list counts as none).
    pub fn is_na(&self) -> bool {
        match self {
            Values::Na => true,
            Values::Many(v) => v.is_empty(),
            _ => false,
        }
    }

    /// Appends the values as Falco prints them: `<NA>` when absent; several
    /// values joined by commas.
    pub fn render(&self, out: &mut String) {
        if self.is_na() {
            out.push_str(NA);
            return;
        }
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.render(out);
        }
    }
}

/// How an absent value prints.
pub const NA: &str = "<NA>";

/// A single borrowed string.
pub fn str_of(b: &[u8]) -> Values<'_> {
    Values::One(Value::borrowed(b))
}
