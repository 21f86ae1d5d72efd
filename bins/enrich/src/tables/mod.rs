//! What enrich remembers: threads and processes with their descriptor
//! tables, descriptor names and the byte budget they share, users and
//! groups, containers and the cgroups that name them, paths.
//!
//! It is not a place for turning events into table changes (the loop's
//! `apply`) nor for writing frames (`writer`).

pub mod cgroup;
pub mod containers;
pub mod fd;
pub mod fdname;
pub mod fdtable;
pub mod path;
pub mod threads;
pub mod users;
