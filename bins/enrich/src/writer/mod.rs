//! How enrich writes frames fast: events spliced from the words capture
//! wrote and parts serialised once ([`splice`], [`partcache`]), read through
//! one typed wire-pointer module ([`wire`]) and the event's layout
//! ([`slots`]); raw parameter lists ([`rawparams`]); each thread's state
//! sent once and named by its events ([`statelink`]); frames kept within
//! the wire limit ([`fit`]); the synthesised events ([`emit`]).
//!
//! It is not a place for deciding what an event carries (the loop's
//! `engine`) nor for the tables themselves (`tables`).

pub mod emit;
pub mod fit;
pub mod partcache;
pub mod rawparams;
pub mod slots;
pub mod splice;
pub mod statelink;
pub mod wire;
