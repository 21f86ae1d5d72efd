//! A cached, serialised part of events ([`crate::writer::splice::Cached`]) together
//! with the key of the state it was built from: the thread's `thread` is
//! kept on each thread, the process's user, group, login user and container
//! on each process.
//!
//! A key is made of version numbers that move whenever the state the part
//! shows may have changed (see [`crate::tables::threads`] for the thread and
//! process versions and the table epoch, [`crate::tables::users`] and
//! [`crate::tables::containers`] for theirs). It does not decide what goes in a
//! part: the engine's builders do.

use std::cell::{Ref, RefCell};

use crate::writer::splice::Cached;

/// One cached part and the key it was built at. A part that could not be
/// cached (it needed more than one segment) is remembered as such, so it
/// is not tried again until the state changes.
#[derive(Debug)]
pub struct PartCache<K> {
    entry: RefCell<(Option<K>, Option<Cached>)>,
}

impl<K> Default for PartCache<K> {
    fn default() -> Self {
        PartCache {
            entry: RefCell::new((None, None)),
        }
    }
}

/// A clone belongs to another thread or process (a fork child, a process
/// rebuilt from a snapshot), whose versions start afresh: it starts with
/// nothing cached, so that a version number it shares with the original
/// cannot pass the original's part off as its own.
impl<K> Clone for PartCache<K> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<K: PartialEq + Copy> PartCache<K> {
    /// The part for `key`. When the cached one was built at another key,
    /// `build` rebuilds it, and the rebuilt part keeps the old one's
    /// content id if its bytes are the same ([`Cached::keep_id_of`]).
    pub fn get(&self, key: K, build: impl FnOnce() -> Option<Cached>) -> Ref<'_, Option<Cached>> {
        {
            let mut e = self.entry.borrow_mut();
            if e.0 != Some(key) {
                let mut fresh = build();
                if let (Some(fresh), Some(old)) = (fresh.as_mut(), e.1.as_ref()) {
                    fresh.keep_id_of(old);
                }
                *e = (Some(key), fresh);
            }
        }
        Ref::map(self.entry.borrow(), |e| &e.1)
    }
}
