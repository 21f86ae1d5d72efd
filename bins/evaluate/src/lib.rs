//! The `evaluate` library: Falco-compatible rules, from YAML files to alerts.
//!
//! The pipeline is lex → parse ([`lang`]) → load rule files ([`loader`]) →
//! check and compile against the field registry → evaluate each enriched
//! event → format alerts. The binary (`src/main.rs`) only wires these to
//! frame streams and the command line.
//!
//! It is not a place for state across events: evaluate is stateless, so a
//! recorded enriched stream always gives the same alerts.

pub mod alert;
pub mod builtin;
pub mod check;
pub mod cli;
pub mod compile;
pub mod eval;
pub mod fields;
pub mod lang;
pub mod loader;
pub mod reference;
pub mod ruleset;
