//! Typed, by-name access to an event's positional parameters, through the
//! event table (`schema::table`). A parameter that is missing, of another
//! wire type, or undecodable reads as `None`: capture may leave any parameter
//! out, and a hostile stream must not fail an event.

use capnp::struct_list;
use schema::kestrel_capnp::{param, sock_addr, sock_tuple};
use schema::table::KindInfo;
use schema::Kind;

/// An event's parameters with the table row that names them.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    pub info: &'static KindInfo,
    list: Option<struct_list::Reader<'a, param::Owned>>,
}

impl<'a> Params<'a> {
    pub fn new(kind: Kind, list: Option<struct_list::Reader<'a, param::Owned>>) -> Params<'a> {
        Params {
            info: schema::table::info(kind),
            list,
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

    /// The `i`th parameter's wire value.
    pub fn at(&self, i: usize) -> Option<param::WhichReader<'a>> {
        let list = self.list?;
        if i >= list.len() as usize {
            return None;
        }
        list.get(i as u32).which().ok()
    }

    fn get(&self, name: &str) -> Option<param::WhichReader<'a>> {
        self.at(self.index(name)?)
    }

    /// A signed parameter (fds, pids); unsigned values are accepted too.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            param::Int(v) => Some(v),
            param::Uint(v) => Some(v as i64),
            _ => None,
        }
    }

    /// An unsigned parameter (flags, uids); signed values are accepted too.
    pub fn uint(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            param::Uint(v) => Some(v),
            param::Int(v) => Some(v as u64),
            _ => None,
        }
    }

    pub fn bytes(&self, name: &str) -> Option<&'a [u8]> {
        match self.get(name)? {
            param::Bytes(Ok(b)) => Some(b),
            _ => None,
        }
    }

    /// A list of byte strings (argv, cgroups).
    pub fn list(&self, name: &str) -> Option<Vec<&'a [u8]>> {
        match self.get(name)? {
            param::List(Ok(l)) => Some(l.iter().filter_map(Result::ok).collect()),
            _ => None,
        }
    }

    pub fn sockaddr(&self, name: &str) -> Option<sock_addr::Reader<'a>> {
        match self.get(name)? {
            param::Sockaddr(Ok(a)) => Some(a),
            _ => None,
        }
    }

    pub fn tuple(&self, name: &str) -> Option<sock_tuple::Reader<'a>> {
        match self.get(name)? {
            param::Tuple(Ok(t)) => Some(t),
            _ => None,
        }
    }
}
