//! Typed access to an event's positional parameters, by the name the event
//! table (`schema::table`) gives them: each [`Arg`] is found at the position
//! resolved once for the event's kind ([`crate::args`]). A parameter that is
//! missing, of another wire type, or undecodable reads as `None`: capture
//! may leave any parameter out, and a hostile stream must not fail an event.
//!
//! Integers and byte strings are read straight from the frame's bytes when
//! the list has the simple shape [`RawList`] checks (most events), through
//! Cap'n Proto's readers otherwise; both give the same values.

use std::cell::OnceCell;

use capnp::struct_list;
use schema::kestrel_capnp::{event, param, sock_addr, sock_tuple};
use schema::table::KindInfo;
use schema::Kind;

use crate::args::{self, Arg, Positions};
use crate::writer::rawparams::RawList;

pub use crate::writer::rawparams::Value;

/// An event's parameters with the table row that names them.
pub struct Params<'a> {
    pub info: &'static KindInfo,
    /// Where this kind has each [`Arg`].
    positions: &'static Positions,
    ev: event::Reader<'a>,
    /// The list as Cap'n Proto reads it, got only when a parameter is not
    /// read from `raw`.
    list: OnceCell<Option<struct_list::Reader<'a, param::Owned>>>,
    raw: Option<RawList<'a>>,
}

impl<'a> Params<'a> {
    /// The parameters of `ev`, an event of `kind`; `raw` is its list
    /// located in the frame's bytes, if it could be.
    pub fn new(kind: Kind, ev: event::Reader<'a>, raw: Option<RawList<'a>>) -> Params<'a> {
        Params {
            info: schema::table::info(kind),
            positions: args::positions(kind),
            ev,
            list: OnceCell::new(),
            raw,
        }
    }

    /// Position of `arg` in this kind's row; None when the kind has no
    /// such parameter.
    #[inline]
    pub fn position(&self, arg: Arg) -> Option<usize> {
        self.positions.of(arg)
    }

    /// The `i`th parameter's value; None when it is missing or cannot be
    /// decoded.
    pub fn at(&self, i: usize) -> Option<Value<'a>> {
        if let Some(raw) = &self.raw {
            if i >= raw.len() {
                return None;
            }
            if let Some(v) = raw.value(i) {
                return Some(v);
            }
        }
        let list = (*self.list.get_or_init(|| self.ev.get_params().ok()))?;
        if i >= list.len() as usize {
            return None;
        }
        Some(match list.get(i as u32).which().ok()? {
            param::None(()) => Value::None,
            param::Int(v) => Value::Int(v),
            param::Uint(v) => Value::Uint(v),
            param::Bytes(b) => Value::Bytes(b.ok()?),
            param::Sockaddr(a) => Value::Sockaddr(a.ok()?),
            param::Tuple(t) => Value::Tuple(t.ok()?),
            param::List(l) => Value::List(l.ok()?),
        })
    }

    fn get(&self, arg: Arg) -> Option<Value<'a>> {
        self.at(self.position(arg)?)
    }

    /// A signed parameter (fds, pids); unsigned values are accepted too.
    pub fn int(&self, arg: Arg) -> Option<i64> {
        match self.get(arg)? {
            Value::Int(v) => Some(v),
            Value::Uint(v) => Some(v as i64),
            _ => None,
        }
    }

    /// An unsigned parameter (flags, uids); signed values are accepted too.
    pub fn uint(&self, arg: Arg) -> Option<u64> {
        match self.get(arg)? {
            Value::Uint(v) => Some(v),
            Value::Int(v) => Some(v as u64),
            _ => None,
        }
    }

    pub fn bytes(&self, arg: Arg) -> Option<&'a [u8]> {
        match self.get(arg)? {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A list of byte strings (argv, cgroups).
    pub fn list(&self, arg: Arg) -> Option<Vec<&'a [u8]>> {
        match self.get(arg)? {
            Value::List(l) => Some(l.iter().filter_map(Result::ok).collect()),
            _ => None,
        }
    }

    pub fn sockaddr(&self, arg: Arg) -> Option<sock_addr::Reader<'a>> {
        match self.get(arg)? {
            Value::Sockaddr(a) => Some(a),
            _ => None,
        }
    }

    pub fn tuple(&self, arg: Arg) -> Option<sock_tuple::Reader<'a>> {
        match self.get(arg)? {
            Value::Tuple(t) => Some(t),
            _ => None,
        }
    }
}
