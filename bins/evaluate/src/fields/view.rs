//! [`EventView`]: one enriched event as the field extractors see it, with the
//! per-stream facts a frame does not carry (event number, hostname).
//!
//! It does not copy the event: every accessor reads the Cap'n Proto message
//! in place, and a missing or malformed part reads as absent, never as an
//! error, because a field that cannot be read is `<NA>` in Falco's language.

use std::cell::OnceCell;

use capnp::enum_list;
use schema::kestrel_capnp::{container, fd, group, k8s, param, thread, user, FdType};
use schema::state::State;
use schema::table::{self, KindInfo, ParamInfo};
use schema::{event, Kind};

/// An enriched event, ready for field extraction.
#[derive(Clone)]
pub struct EventView<'a> {
    ev: event::Reader<'a>,
    /// The thread's state this event refers to (`Event.stateGen`, resolved
    /// by the caller through a `schema::state::StateTable`): where its
    /// thread, user, group, login user, container and k8s are when the
    /// event does not carry them itself.
    state: Option<&'a State<'a>>,
    // The parts most fields read, followed at most once per event rather
    // than once per field (each Cap'n Proto pointer hop is bounds-checked),
    // and only when a field asks: most events meet no rule at all.
    thread: OnceCell<Option<thread::Reader<'a>>>,
    fd: OnceCell<Option<fd::Reader<'a>>>,
    container: OnceCell<Option<container::Reader<'a>>>,
    params: OnceCell<Option<capnp::struct_list::Reader<'a, param::Owned>>>,
    open_flags: OnceCell<Option<u64>>,
    fd_name: OnceCell<Option<&'a [u8]>>,
    kind: Kind,
    info: &'static KindInfo,
    num: u64,
    hostname: &'a str,
    scratch: Option<&'a Scratch>,
}

/// Strings computed from an event (command lines, argument lists), kept for
/// the rest of that event's evaluation so that every rule testing
/// `proc.cmdline` shares one copy. Make one per event (it is empty until a
/// field needs it, so this costs nothing) and pass it to
/// [`EventView::with_scratch`].
#[derive(Debug, Default)]
pub struct Scratch {
    pub(super) cmdline: OnceCell<Vec<u8>>,
    pub(super) args: OnceCell<Vec<u8>>,
    pub(super) pcmdline: OnceCell<Option<Vec<u8>>>,
}

impl<'a> EventView<'a> {
    /// Wraps `ev`; `num` is its position in the stream (`evt.num`) and
    /// `hostname` the producing host's name (`evt.hostname`).
    #[inline]
    pub fn new(ev: event::Reader<'a>, num: u64, hostname: &'a str) -> Self {
        // An enumerant this build does not know reads as `unknown`, which no
        // rule names.
        let kind = ev.get_kind().unwrap_or(Kind::Unknown);
        EventView {
            ev,
            state: None,
            thread: OnceCell::new(),
            fd: OnceCell::new(),
            container: OnceCell::new(),
            params: OnceCell::new(),
            open_flags: OnceCell::new(),
            fd_name: OnceCell::new(),
            kind,
            info: table::info(kind),
            num,
            hostname,
            scratch: None,
        }
    }

    /// Like [`EventView::new`], keeping computed strings in `scratch` (one
    /// per event) so that they are built once, not once per test.
    #[inline]
    pub fn with_scratch(
        ev: event::Reader<'a>,
        num: u64,
        hostname: &'a str,
        scratch: &'a Scratch,
    ) -> Self {
        EventView {
            scratch: Some(scratch),
            ..EventView::new(ev, num, hostname)
        }
    }

    /// Takes the event's thread, user, group, login user, container and
    /// k8s from `state` (the `state` frame it refers to) where the event
    /// itself lacks them.
    #[inline]
    pub fn with_state(self, state: Option<&'a State<'a>>) -> Self {
        EventView { state, ..self }
    }

    /// The id of the state this event takes all of its thread, user,
    /// group, login user, container and k8s from (it carries none of them
    /// itself): every field that reads only those
    /// ([`super::FieldDef::state_only`]) has the same value for every
    /// event with this id. `None` when the event carries any part itself
    /// or names no state.
    #[inline]
    pub fn state_id(&self) -> Option<u64> {
        let st = self.state?;
        let e = &self.ev;
        let own = e.has_thread()
            || e.has_user()
            || e.has_group()
            || e.has_login_user()
            || e.has_container()
            || e.has_k8s();
        (!own).then_some(st.id)
    }

    pub fn scratch(&self) -> Option<&'a Scratch> {
        self.scratch
    }

    pub fn raw(&self) -> event::Reader<'a> {
        self.ev
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The event table row of this event's kind.
    pub fn info(&self) -> &'static KindInfo {
        self.info
    }

    pub fn num(&self) -> u64 {
        self.num
    }

    pub fn hostname(&self) -> &'a str {
        self.hostname
    }

    pub fn ts(&self) -> u64 {
        self.ev.get_ts_ns()
    }

    pub fn ret(&self) -> i64 {
        self.ev.get_ret()
    }

    /// The event's own part if it has one, else its state's (found when
    /// the state arrived).
    #[inline]
    fn part<T>(
        &self,
        has: impl Fn(&event::Reader<'a>) -> bool,
        get: impl Fn(&event::Reader<'a>) -> capnp::Result<T>,
        of_state: impl Fn(&State<'a>) -> Option<T>,
    ) -> Option<T> {
        if has(&self.ev) {
            if let Ok(v) = get(&self.ev) {
                return Some(v);
            }
        }
        self.state.and_then(of_state)
    }

    pub fn thread(&self) -> Option<thread::Reader<'a>> {
        cached(&self.thread, || {
            self.part(|e| e.has_thread(), |e| e.get_thread(), |s| s.thread)
        })
    }

    /// The types of the thread's fds 0, 1 and 2 (`fd.types[N]`): the
    /// event's own when it has them (enrich sends them with each event
    /// that refers to a state, so that a dup2 onto stdio does not change
    /// the state), else its thread's.
    pub fn stdio_types(&self) -> Option<enum_list::Reader<'a, FdType>> {
        if self.ev.has_stdio_types() {
            return self.ev.get_stdio_types().ok();
        }
        self.thread().and_then(|t| t.get_stdio_types().ok())
    }

    pub fn fd(&self) -> Option<fd::Reader<'a>> {
        let ev = self.ev;
        cached(&self.fd, || ev.has_fd().then(|| ev.get_fd().ok()).flatten())
    }

    /// The fd's name: the most read string of all (`fd.name`,
    /// `fd.directory`, `fd.filename` and their rule-set groups each want
    /// it), so read from the frame once.
    pub fn fd_name(&self) -> Option<&'a [u8]> {
        cached(&self.fd_name, || self.fd().and_then(|f| data(f.get_name())))
    }

    pub fn user(&self) -> Option<user::Reader<'a>> {
        self.part(|e| e.has_user(), |e| e.get_user(), |s| s.user)
    }

    pub fn login_user(&self) -> Option<user::Reader<'a>> {
        self.part(
            |e| e.has_login_user(),
            |e| e.get_login_user(),
            |s| s.login_user,
        )
    }

    pub fn group(&self) -> Option<group::Reader<'a>> {
        self.part(|e| e.has_group(), |e| e.get_group(), |s| s.group)
    }

    pub fn container(&self) -> Option<container::Reader<'a>> {
        cached(&self.container, || {
            self.part(
                |e| e.has_container(),
                |e| e.get_container(),
                |s| s.container,
            )
        })
    }

    pub fn k8s(&self) -> Option<k8s::Reader<'a>> {
        self.part(|e| e.has_k8s(), |e| e.get_k8s(), |s| s.k8s)
    }

    /// The open flags, computed by `read` the first time they are asked
    /// for (the field registry knows which parameter holds them).
    pub fn open_flags(&self, read: impl FnOnce() -> Option<u64>) -> Option<u64> {
        cached(&self.open_flags, read)
    }

    /// The `i`-th parameter with its table description.
    pub fn param_at(&self, i: usize) -> Option<(ParamInfo, param::Reader<'a>)> {
        let info = *self.info.params.get(i)?;
        let ev = self.ev;
        let params = cached(&self.params, || ev.get_params().ok())?;
        if i >= params.len() as usize {
            return None;
        }
        Some((info, params.get(i as u32)))
    }

    /// The parameter named `name` (`evt.arg.NAME`).
    pub fn param(&self, name: &str) -> Option<(ParamInfo, param::Reader<'a>)> {
        let i = self.info.params.iter().position(|p| p.name == name)?;
        self.param_at(i)
    }
}

/// The value in `cell`, computed by `init` the first time. Unlike
/// `OnceCell::get_or_init`, the first call returns the value it computed
/// rather than reading it back from the cell: a reader is several words
/// written just before, and reading it back at once stalls on the stores.
#[inline]
fn cached<T: Copy>(cell: &OnceCell<T>, init: impl FnOnce() -> T) -> T {
    if let Some(v) = cell.get() {
        return *v;
    }
    let v = init();
    let _ = cell.set(v);
    v
}

/// Reads a Text field as bytes; absent or malformed text is `None`.
pub fn text<'a>(t: capnp::Result<capnp::text::Reader<'a>>) -> Option<&'a [u8]> {
    t.ok().map(|t| t.as_bytes())
}

/// Reads a Data field; absent or malformed data is `None`.
pub fn data(d: capnp::Result<&[u8]>) -> Option<&[u8]> {
    d.ok()
}
