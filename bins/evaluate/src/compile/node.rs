//! The compiled form of a condition: a tree whose leaves hold a resolved
//! field and a prepared right-hand side, with `and`/`or` children ordered
//! cheapest first. [`crate::eval`] runs it.
//!
//! It is not a place for checking: a [`Node`] is built only from a condition
//! that passed the checker, so running it cannot fail.

use std::net::IpAddr;

use crate::fields::{Field, Shape};
use crate::lang::ast::{CmpOp, Transformer};

use super::kindset::KindSet;
use super::matcher::{FastSet, StrMatcher};

#[derive(Debug, Clone)]
pub enum Node {
    Const(bool),
    /// `evt.type` tests, folded into a set of kinds.
    Kind(KindSet),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `field exists`.
    Exists(Field),
    Test(Box<Test>),
}

/// One comparison.
#[derive(Debug, Clone)]
pub struct Test {
    pub field: Field,
    pub shape: Shape,
    /// Applied to each value before the predicate, innermost first.
    pub transformers: Vec<Transformer>,
    /// `!=`: the predicate is equality, and the result is negated as Falco
    /// does for the field's shape.
    pub negate: bool,
    /// `in` on a list field: every item must match (else: any item).
    pub all_items: bool,
    pub pred: Pred,
    /// Relative cost, for ordering siblings.
    pub cost: u32,
    /// What the test checks, spelled out: equal keys are the same test, so
    /// a rule set computes it once per event however many rules use it.
    pub key: Box<str>,
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An IP network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Net {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(*a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(*a) & mask
            }
            _ => false,
        }
    }
}

/// The prepared right-hand side: a predicate on one value.
#[derive(Debug, Clone)]
pub enum Pred {
    Str(StrMatcher),
    Num(NumOp, i128),
    NumIn(FastSet<i128>),
    Bool(bool),
    /// Equal to one of the addresses, or inside one of the networks.
    Ip {
        addrs: FastSet<IpAddr>,
        nets: Vec<Net>,
    },
    /// `evt.rawarg.*`: numbers compare as numbers when the literal is one,
    /// strings as strings.
    Dyn {
        num: Option<Box<Pred>>,
        text: StrMatcher,
    },
    /// `val(field)`: against another field of the same event.
    Field {
        other: Field,
        transformers: Vec<Transformer>,
        op: CmpOp,
    },
}
