//! Composes each output event: its own fields and descriptor, and its
//! thread, user, group, login user, container and k8s. Those parts come
//! from the thread's and the process's cached parts ([`crate::writer::splice`],
//! with the parameters copied as a block): by default written once in a
//! `state` frame that the thread's events then name by its `stateGen`
//! ([`crate::writer::statelink`]), or, with `--inline-state`, spliced into every
//! event. Events by reference carry their stdio types themselves
//! (`Event.stdioTypes`), so that a dup2 onto stdio does not change the
//! state. Held events, parts too big to cache and
//! `Enricher::set_splicing(false)` build every event whole, field by field
//! (`stateGen` 0): readers take both.
//!
//! It reads the tables only; what an event changes is [`crate::apply`]'s,
//! and when an event is written or held back is [`crate::engine`]'s.

use std::io::{self, Write};

use capnp::message::Builder;
use schema::kestrel_capnp::{event, frame, user};
use schema::{FrameWriter, Kind};

use crate::engine::{Enricher, Ev, EvFd};
use crate::tables::containers;
use crate::tables::threads::{Proc, Thread, UID_UNSET};
use crate::writer::emit::{write_stdio_types, write_thread, Stdio, STDIO_FDS};
use crate::writer::fit;
use crate::writer::fit::to_io;
use crate::writer::splice::{Cached, Part, Parts, RawParams, Splicer, Target};

/// The parts of an event that depend on its process alone, cached per
/// process.
const IDENTITY_PARTS: [Part; 5] = [
    Part::User,
    Part::Group,
    Part::LoginUser,
    Part::Container,
    Part::K8s,
];

/// What [`Enricher::fill_event`] writes besides the event's own fields
/// and descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Parameters, thread, user, group and login user.
    All,
    /// Parameters only: the caller splices in the cached parts.
    NoParts,
    /// Neither: the caller splices in the cached parts and the parameters.
    NoPartsNoParams,
}

impl Enricher {
    /// Writes `e` at once, after its thread's `state` frame if the reader
    /// does not hold that state yet. Its thread, user, group, login user and
    /// container come from the thread's and the process's caches when the
    /// state they show has not changed since (see [`crate::writer::splice`]).
    pub(crate) fn write_now<W: Write>(
        &self,
        e: &Ev<'_>,
        cid: &str,
        w: &mut FrameWriter<W>,
    ) -> io::Result<()> {
        let tp = e
            .proc_pid
            .and_then(|pid| self.threads.thread(e.tid).zip(self.threads.proc(pid)));
        // A snapshot is a thread's first event and, for most threads of a
        // host, its last for a long while: its parts are built in place,
        // not cached, so that idle threads hold no serialised copy.
        let cache = self.splicing && e.kind != Kind::ProcSnapshot;
        if let (Some((t, p)), true) = (tp, cache) {
            let stdio = self.stdio_place();
            // By reference the cached `thread` leaves stdio out, so that its
            // changes neither rebuild it nor resend the state.
            let stdio_key = (stdio == Stdio::InThread).then_some(p.stdio_ver);
            let key = (p.ver, t.ver, self.threads.epoch, stdio_key);
            let thread = t.cache.get(key, || {
                self.thread_builds.set(self.thread_builds.get() + 1);
                self.splicer.borrow_mut().cached(&[Part::Thread], |parts| {
                    if let Some(b) = parts.thread() {
                        write_thread(&self.threads, t, p, stdio, b);
                    }
                })
            });
            let identity_key = (p.ver, self.users.reloads, self.containers.generation());
            let identity = p.identity.get(identity_key, || {
                self.splicer
                    .borrow_mut()
                    .cached(&IDENTITY_PARTS, |parts| self.write_identity(p, cid, parts))
            });
            if let (Some(thread), Some(identity)) = (&*thread, &*identity) {
                let params = e.raw.map(|list| RawParams {
                    list,
                    rewrites: e.paths,
                });
                let mut splicer = self.splicer.borrow_mut();
                let (gen, parts): (u64, &[&Cached]) = if self.inline_state {
                    (0, &[thread, identity])
                } else {
                    match self.state_for(e, t, [thread, identity], &mut splicer, w)? {
                        Some(gen) => (gen, &[]),
                        None => (0, &[thread, identity]),
                    }
                };
                let written =
                    splicer.write(w, Target::Event, parts, params, |mut out, copied| {
                        let fill = if copied {
                            Fill::NoPartsNoParams
                        } else {
                            Fill::NoParts
                        };
                        if gen != 0 {
                            out.set_state_gen(gen);
                        }
                        if stdio == Stdio::OnEvent {
                            write_stdio_types(p, out.reborrow().init_stdio_types(STDIO_FDS));
                        }
                        self.fill_event(e, Some((t, p)), out, fill)
                    })?;
                if written {
                    return Ok(());
                }
            }
        }
        let built = w.build(|f| -> io::Result<()> {
            self.fill_whole(e, cid, f.init_event()).map_err(to_io)
        });
        match built {
            // Over the wire limit: built again on the heap, to be cut.
            Err(err) if fit::too_large(&err) => {
                let mut msg = Builder::new_default();
                self.fill_whole(e, cid, msg.init_root::<frame::Builder<'_>>().init_event())
                    .map_err(to_io)?;
                self.write_event_msg(msg, cid, w)
            }
            other => other,
        }
    }

    /// Fills `out` with everything `e` carries, field by field.
    fn fill_whole(&self, e: &Ev<'_>, cid: &str, mut out: event::Builder<'_>) -> capnp::Result<()> {
        let tp = self.threads.thread(e.tid).zip(self.threads.proc_of(e.tid));
        self.fill_event(e, tp, out.reborrow(), Fill::All)?;
        self.write_container(cid, out);
        Ok(())
    }

    /// Where events written from cached parts show their stdio types:
    /// by reference, on the event (see [`Stdio::OnEvent`]); inline, in the
    /// `thread` as every self-contained event does.
    fn stdio_place(&self) -> Stdio {
        if self.inline_state {
            Stdio::InThread
        } else {
            Stdio::OnEvent
        }
    }

    /// The `stateGen` of the state of `t` whose parts are `parts` (its
    /// `thread`, then its identity), after writing it in a `state` frame if
    /// the reader does not hold it yet; None if it could not be written
    /// that way (the event then carries the parts itself).
    fn state_for<W: Write>(
        &self,
        e: &Ev<'_>,
        t: &Thread,
        parts: [&Cached; 2],
        splicer: &mut Splicer,
        w: &mut FrameWriter<W>,
    ) -> io::Result<Option<u64>> {
        let [thread, identity] = parts;
        if let Some(gen) = self.link.held(&t.sent, thread.id(), identity.id()) {
            return Ok(Some(gen));
        }
        let gen = self.link.new_gen();
        let written = splicer.write(w, Target::State, &parts, None, |mut out, _| {
            out.set_ts_ns(e.ts);
            out.set_tid(e.tid);
            out.set_pid(e.pid);
            out.set_state_gen(gen);
            Ok(())
        })?;
        if !written {
            return Ok(None);
        }
        self.link.record(&t.sent, thread.id(), identity.id(), gen);
        Ok(Some(gen))
    }

    /// Fills an output event but its container, and but what `fill` says
    /// the caller splices in.
    pub(crate) fn fill_event(
        &self,
        e: &Ev<'_>,
        tp: Option<(&Thread, &Proc)>,
        mut out: event::Builder<'_>,
        fill: Fill,
    ) -> capnp::Result<()> {
        out.set_ts_ns(e.ts);
        out.set_cpu(e.cpu);
        out.set_tid(e.tid);
        out.set_pid(e.pid);
        out.set_kind(e.kind);
        out.set_ret(e.ret);
        out.set_flags(e.flags);
        let list = match fill {
            Fill::NoPartsNoParams => None,
            Fill::All | Fill::NoParts => e.event.and_then(|ev| ev.get_params().ok()),
        };
        if let Some(list) = list {
            out.set_params(list)?;
            if !e.paths.is_empty() {
                let mut pl = out.reborrow().get_params()?;
                for (i, path) in e.paths {
                    pl.reborrow().get(*i as u32).set_bytes(path);
                }
            }
        }
        let Some((t, p)) = tp else {
            return Ok(());
        };
        if fill == Fill::All {
            let thread = out.reborrow().init_thread();
            write_thread(&self.threads, t, p, Stdio::InThread, thread);
            self.users.write_user(p.euid, out.reborrow().init_user());
            self.users.write_group(p.egid, out.reborrow().init_group());
            self.write_login_user(p, out.reborrow().init_login_user());
        }

        let written = match &e.fd {
            Some(EvFd::Table { num, changed }) => match p.fds.get(*num) {
                Some(entry) => {
                    entry.write(*num, *changed, out.reborrow().init_fd());
                    true
                }
                None => false,
            },
            Some(EvFd::Detached {
                num,
                entry,
                changed,
            }) => {
                entry.write(*num, *changed, out.reborrow().init_fd());
                true
            }
            None => false,
        };
        if let (true, Some(raw)) = (written, e.raw_name) {
            out.get_fd()?.set_name_raw(raw);
        }
        Ok(())
    }

    /// The login user: no name for processes outside a login.
    fn write_login_user(&self, p: &Proc, mut b: user::Builder<'_>) {
        if p.loginuid == UID_UNSET {
            b.set_uid(p.loginuid);
        } else {
            self.users.write_user(p.loginuid, b);
        }
    }

    /// The process-wide parts of `p`'s events ([`IDENTITY_PARTS`]), for its
    /// cache; `cid` is its container.
    fn write_identity(&self, p: &Proc, cid: &str, parts: &mut Parts<'_>) {
        if let Some(b) = parts.user() {
            self.users.write_user(p.euid, b);
        }
        if let Some(b) = parts.group() {
            self.users.write_group(p.egid, b);
        }
        if let Some(b) = parts.login_user() {
            self.write_login_user(p, b);
        }
        match self.containers.get(cid).filter(|_| !cid.is_empty()) {
            Some(c) => {
                if let Some(b) = parts.container() {
                    c.write_container(b);
                }
                if c.has_k8s() {
                    if let Some(b) = parts.k8s() {
                        c.write_k8s(b);
                    }
                }
            }
            None => {
                if let Some(b) = parts.container() {
                    containers::write_host(b);
                }
            }
        }
    }

    pub(crate) fn write_container(&self, cid: &str, out: event::Builder<'_>) {
        match self.containers.get(cid) {
            Some(c) if !cid.is_empty() => c.write(out),
            _ => containers::write_host(out.init_container()),
        }
    }
}
