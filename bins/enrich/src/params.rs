//! Typed, by-name access to an event's positional parameters, through the
//! event table (`schema::table`). A parameter that is missing, of another
//! wire type, or undecodable reads as `None`: capture may leave any parameter
//! out, and a hostile stream must not fail an event.
//!
//! Integers and byte strings are read straight from the frame's bytes when
//! the list has the simple shape [`RawList`] checks (most events), through
//! Cap'n Proto's readers otherwise; both give the same values.

use std::cell::OnceCell;

use capnp::{data_list, struct_list};
use schema::kestrel_capnp::{event, param, sock_addr, sock_tuple};
use schema::table::KindInfo;
use schema::Kind;

use crate::rawparams::RawList;

/// One parameter's value.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    None,
    Int(i64),
    Uint(u64),
    Bytes(&'a [u8]),
    Sockaddr(sock_addr::Reader<'a>),
    Tuple(sock_tuple::Reader<'a>),
    List(data_list::Reader<'a>),
}

/// An event's parameters with the table row that names them.
pub struct Params<'a> {
    pub info: &'static KindInfo,
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
            ev,
            list: OnceCell::new(),
            raw,
        }
    }

    /// Position of parameter `name` in this kind's row. Length and first
    /// byte are compared before the whole name: most names differ there,
    /// and this runs several times per event.
    pub fn index(&self, name: &str) -> Option<usize> {
        let (len, first) = (name.len(), name.as_bytes().first());
        self.info.params.iter().position(|p| {
            p.name.len() == len && p.name.as_bytes().first() == first && p.name == name
        })
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

    fn get(&self, name: &str) -> Option<Value<'a>> {
        self.at(self.index(name)?)
    }

    /// A signed parameter (fds, pids); unsigned values are accepted too.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Int(v) => Some(v),
            Value::Uint(v) => Some(v as i64),
            _ => None,
        }
    }

    /// An unsigned parameter (flags, uids); signed values are accepted too.
    pub fn uint(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::Uint(v) => Some(v),
            Value::Int(v) => Some(v as u64),
            _ => None,
        }
    }

    pub fn bytes(&self, name: &str) -> Option<&'a [u8]> {
        match self.get(name)? {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A list of byte strings (argv, cgroups).
    pub fn list(&self, name: &str) -> Option<Vec<&'a [u8]>> {
        match self.get(name)? {
            Value::List(l) => Some(l.iter().filter_map(Result::ok).collect()),
            _ => None,
        }
    }

    pub fn sockaddr(&self, name: &str) -> Option<sock_addr::Reader<'a>> {
        match self.get(name)? {
            Value::Sockaddr(a) => Some(a),
            _ => None,
        }
    }

    pub fn tuple(&self, name: &str) -> Option<sock_tuple::Reader<'a>> {
        match self.get(name)? {
            Value::Tuple(t) => Some(t),
            _ => None,
        }
    }
}
