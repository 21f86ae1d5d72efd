# kestrel's wire format: the contract between capture, enrich, evaluate and
# output. Every message on a stream is one `Frame` in the standard Cap'n Proto
# stream framing. Evolution is additive only (see ../README.md): new fields
# and enumerants take new ordinals; nothing is renumbered, retyped or reused.

@0xd3a9c6b1e2f40a17;

# Major version of the stream format. A reader refuses a stream whose major
# version is newer than its own; minor versions only add fields.
# 2: enrich sends a thread's state once (`state` frames) and its events refer
# to it (`Event.stateGen`); a version-1 reader would read those events as
# having no thread, user or container, so it must refuse them.
const formatMajor :UInt16 = 2;
# Minor version: fields added within the major version. A field added after
# a stream's minor reads as its default (false, 0, empty) because its
# producer did not know it, not because it was so.
# 1: `OutputField.isNumber`, `Counter.kind`, `Counter.reason`.
# 2: `Container.ip`, `Container.podSandbox`, `K8s.podIp`, `K8s.sandboxId`.
const formatMinor :UInt16 = 2;

struct Frame {
  union {
    header @0 :Header;
    event @1 :Event;
    alert @2 :Alert;
    stats @3 :Stats;
    # An event of the k8s_audit source.
    audit @4 :AuditEvent;
    # A thread's state as enrich last saw it: the `thread`, `user`, `group`,
    # `loginUser`, `container` and `k8s` of the events of `tid` that follow
    # and carry this frame's `stateGen`. Only those fields and `tsNs`,
    # `tid`, `pid` and `stateGen` are set. A later `state` of the same tid
    # replaces it. Written before the first event that refers to it on each
    # connection, and again whenever any of it changes.
    state @5 :Event;
    # The thread with this tid is gone from enrich's tables: readers drop
    # its `state`. Written only for threads whose state was sent.
    stateGone @6 :Int32;
  }
}

# A Kubernetes audit event (audit.k8s.io/v1 Event), kept as the JSON the API
# server sent so that ka.* and jevt.* fields can read any of it.
struct AuditEvent {
  tsNs @0 :UInt64;
  json @1 :Data;
}

enum Stage {
  unknown @0;
  capture @1;
  enrich @2;
  evaluate @3;
  output @4;
}

# First frame of every stream.
struct Header {
  formatMajor @0 :UInt16;
  formatMinor @1 :UInt16;
  stage @2 :Stage;
  hostname @3 :Text;
  # Wall-clock time of boot, ns since the Unix epoch: lets a reader turn
  # monotonic kernel times (process start times) into wall-clock times.
  bootTimeNs @4 :UInt64;
  # Wall-clock time the producing stage started, ns since the Unix epoch.
  startTimeNs @5 :UInt64;
  # Free-form producer version, e.g. "kestrel 0.1.0".
  producer @6 :Text;
}

# What an event is. Syscalls are named after the syscall; the others after
# the kernel hook or the stage that synthesises them.
enum Kind {
  unknown @0;
  # One per live thread, read from /proc when capture starts.
  procSnapshot @1;
  # sched_process_exit.
  procExit @2;

  clone @3;
  clone3 @4;
  fork @5;
  vfork @6;
  execve @7;
  execveat @8;
  setuid @9;
  setgid @10;
  setreuid @11;
  setregid @12;
  setresuid @13;
  setresgid @14;
  capset @15;
  setns @16;
  unshare @17;
  ptrace @18;
  prctl @19;
  chdir @20;
  fchdir @21;
  chroot @22;
  kill @23;
  memfdCreate @24;
  initModule @25;
  finitModule @26;
  bpf @27;
  userfaultfd @28;
  mount @29;
  umount2 @30;

  open @31;
  openat @32;
  openat2 @33;
  creat @34;
  close @35;
  dup @36;
  dup2 @37;
  dup3 @38;
  fcntl @39;
  unlink @40;
  unlinkat @41;
  rename @42;
  renameat @43;
  renameat2 @44;
  mkdir @45;
  mkdirat @46;
  rmdir @47;
  symlink @48;
  symlinkat @49;
  link @50;
  linkat @51;
  chmod @52;
  fchmod @53;
  fchmodat @54;
  chown @55;
  fchown @56;
  lchown @57;
  fchownat @58;

  socket @59;
  socketpair @60;
  connect @61;
  accept @62;
  accept4 @63;
  bind @64;
  listen @65;
  sendto @66;
  sendmsg @67;
  recvfrom @68;
  recvmsg @69;

  # Synthesised by enrich the first time it sees a container's first process.
  containerStart @70;

  # A 32-bit (ia32 compat) syscall, seen at entry: int 0x80, sysenter, or
  # syscall from a 32-bit process. The per-syscall tracepoints never fire
  # for these, so this one kind covers all of them.
  compatSyscall @71;
}

struct Event {
  # Wall-clock time, ns since the Unix epoch.
  tsNs @0 :UInt64;
  cpu @1 :UInt16;
  # Host (init pid namespace) thread id and thread-group id.
  tid @2 :Int32;
  pid @3 :Int32;
  kind @4 :Kind;
  # The syscall's return value (negative errno on failure); 0 for
  # non-syscall kinds.
  ret @5 :Int64;
  # Positional parameters; names and meanings come from the event table in
  # the schema crate (`schema::table`), so they are not repeated per event.
  params @6 :List(Param);
  # Flags about the capture of this event (bit 0: a parameter was truncated).
  flags @7 :UInt32;

  # Filled by enrich; absent in capture's output.
  thread @8 :Thread;
  fd @9 :Fd;
  user @10 :User;
  group @11 :Group;
  container @12 :Container;
  k8s @13 :K8s;
  # For procSnapshot events: the process's open file descriptors.
  snapshotFds @14 :List(Fd);
  # The login user (user.loginuid / user.loginname).
  loginUser @15 :User;
  # Nonzero: this event's `thread`, `user`, `group`, `loginUser`,
  # `container` and `k8s` are not in it but in the last `state` frame of
  # its tid, whose `stateGen` is this value (fields set in the event itself
  # take precedence). 0: the event carries its own, or has none. Numbers
  # are unique within a stream, never reused, so a reader can tell a state
  # it missed (a restart downstream) from the one meant.
  stateGen @16 :UInt64;
  # Types of the thread's fds 0, 1 and 2 at this event (fd.types[N]), when they are not in its thread part: enrich sends them with each event that refers to a state, so that a dup2 onto stdio does not resend the state.
  stdioTypes @17 :List(FdType);
}

struct Param {
  union {
    # Not captured, or not applicable.
    none @0 :Void;
    # Signed integers: fds, pids, errnos, offsets.
    int @1 :Int64;
    # Unsigned integers: flags, modes, uids, gids, devices, inodes,
    # capability sets.
    uint @2 :UInt64;
    # Byte strings: paths, names. Paths are bytes, not text: Linux paths need
    # not be UTF-8.
    bytes @3 :Data;
    # Socket addresses.
    sockaddr @4 :SockAddr;
    # A (local, remote) pair, for connect and accept.
    tuple @5 :SockTuple;
    # Lists of byte strings: argv, env.
    list @6 :List(Data);
  }
}

enum Family {
  unspec @0;
  unix @1;
  inet @2;
  inet6 @3;
  netlink @4;
  other @5;
}

struct SockAddr {
  family @0 :Family;
  # 4 bytes for inet, 16 for inet6, empty otherwise.
  addr @1 :Data;
  port @2 :UInt16;
  # Unix socket path (abstract names start with a NUL byte).
  path @3 :Data;
  # The raw AF_* value, for families not decoded above.
  rawFamily @4 :UInt16;
}

struct SockTuple {
  local @0 :SockAddr;
  remote @1 :SockAddr;
}

struct Ancestor {
  pid @0 :Int32;
  name @1 :Data;
  exe @2 :Data;
  exepath @3 :Data;
  args @4 :List(Data);
  # Arguments were left out or cut: enrich carries whole argument lists for
  # the parent only, and at most MAX_ANCESTOR_ARGS_BYTES for ancestors
  # further up (their command lines are most of an event's bytes).
  argsTruncated @5 :Bool;
}

struct Thread {
  tid @0 :Int32;
  pid @1 :Int32;
  ppid @2 :Int32;
  # Ids in the thread's own pid namespace.
  vtid @3 :Int32;
  vpid @4 :Int32;
  sid @5 :Int32;
  pgid @6 :Int32;
  # comm: the kernel's 16-byte task name.
  name @7 :Data;
  # argv[0] as given.
  exe @8 :Data;
  # Full path of the executable.
  exepath @9 :Data;
  # argv[1..].
  args @10 :List(Data);
  cwd @11 :Data;
  tty @12 :UInt32;
  uid @13 :UInt32;
  gid @14 :UInt32;
  euid @15 :UInt32;
  egid @16 :UInt32;
  loginuid @17 :UInt32;
  capEffective @18 :UInt64;
  capPermitted @19 :UInt64;
  capInheritable @20 :UInt64;
  # Wall-clock start time of the process, ns since the Unix epoch.
  startTsNs @21 :UInt64;
  exeUpperLayer @22 :Bool;
  exeFromMemfd @23 :Bool;
  # Nearest first: ancestors[0] is the parent.
  ancestors @24 :List(Ancestor);
  # Whether argv was truncated at capture.
  argsTruncated @25 :Bool;
  # cgroup paths, "controller:path" per line of /proc/PID/cgroup.
  cgroups @26 :List(Text);
  # Session leader and process group leader's names (proc.sname etc.).
  sname @27 :Data;
  # True when the thread table entry was built lazily (no snapshot, no
  # clone seen) and may lack fields.
  partial @28 :Bool;
  # Environment, when captured.
  env @29 :List(Data);
  # Process's pid namespace inode, 0 if unknown.
  pidnsIno @30 :UInt64;
  # Executable's inode and its ctime/mtime (wall-clock ns), for
  # proc.exe_ino.*; 0 if unknown.
  exeIno @31 :UInt64;
  exeCtimeNs @32 :UInt64;
  exeMtimeNs @33 :UInt64;
  # Process group id in the thread's pid namespace, and the group leader's
  # name and exe (proc.vpgid, proc.vpgid.name, proc.vpgid.exe).
  vpgid @34 :Int32;
  vpgidName @35 :Data;
  vpgidExe @36 :Data;
  # Parent's start time (proc.ppid.duration).
  parentStartTsNs @37 :UInt64;
  # Types of fds 0, 1 and 2, for fd.types[N]; unknown when closed.
  stdioTypes @38 :List(FdType);
}

enum FdType {
  unknown @0;
  file @1;
  directory @2;
  ipv4 @3;
  ipv6 @4;
  unix @5;
  pipe @6;
  event @7;
  signalfd @8;
  eventpoll @9;
  inotify @10;
  timerfd @11;
  netlink @12;
  bpf @13;
  userfaultfd @14;
  ioUring @15;
  memfd @16;
  pidfd @17;
}

enum L4Proto {
  unknown @0;
  tcp @1;
  udp @2;
  icmp @3;
  raw @4;
}

struct Fd {
  num @0 :Int64;
  type @1 :FdType;
  # Full path for files, "ip:port->ip:port" style rendering is left to
  # readers; for unix sockets the path; for pipes "pipe:[ino]".
  name @2 :Data;
  l4proto @3 :L4Proto;
  local @4 :SockAddr;
  remote @5 :SockAddr;
  # True when this end accepted the connection (server side): fd.sip is
  # then the local address.
  isServer @6 :Bool;
  connected @7 :Bool;
  # True when this event changed the fd's name (open, connect, accept…).
  nameChanged @8 :Bool;
  openFlags @9 :UInt32;
  dev @10 :UInt64;
  ino @11 :UInt64;
  # Socket type (SOCK_STREAM...) for sockets.
  sockType @12 :UInt32;
  # The path as the process passed it, before resolution (fd.nameraw,
  # e.g. "../../etc/passwd"); empty when it equals `name`.
  nameRaw @13 :Data;
}

struct User {
  uid @0 :UInt32;
  name @1 :Text;
  homedir @2 :Text;
  shell @3 :Text;
}

struct Group {
  gid @0 :UInt32;
  name @1 :Text;
}

struct Label {
  key @0 :Text;
  value @1 :Text;
}

struct Mount {
  source @0 :Text;
  dest @1 :Text;
  mode @2 :Text;
  rw @3 :Bool;
  propagation @4 :Text;
}

enum MetadataState {
  # No metadata was asked for (host process, or no runtime client).
  none @0;
  complete @1;
  # The bounded wait ran out before the runtime answered.
  timedOut @2;
  # The runtime did not know the container or failed.
  failed @3;
}

struct Container {
  # "host" for host processes; 12-hex short id otherwise.
  id @0 :Text;
  fullId @1 :Text;
  name @2 :Text;
  image @3 :Text;
  imageRepository @4 :Text;
  imageTag @5 :Text;
  imageId @6 :Text;
  imageDigest @7 :Text;
  # docker, podman, containerd, cri-o.
  runtime @8 :Text;
  privileged @9 :Bool;
  labels @10 :List(Label);
  mounts @11 :List(Mount);
  startTsNs @12 :UInt64;
  metadata @13 :MetadataState;
  hostNetwork @14 :Bool;
  hostPid @15 :Bool;
  hostIpc @16 :Bool;
  cmdline @17 :Text;
  # The container's (its pod's, under CRI) primary IP address.
  ip @18 :Text;
  # True for a Kubernetes pod's own sandbox ("pause") container, whose id is
  # the pod's sandbox id (K8s.sandboxId).
  podSandbox @19 :Bool;
}

struct K8s {
  podName @0 :Text;
  podUid @1 :Text;
  namespace @2 :Text;
  podLabels @3 :List(Label);
  # The pod's IP address (CRI PodSandboxStatus.network.ip).
  podIp @4 :Text;
  # The pod's full (64-hex) sandbox id: its pause container's id.
  sandboxId @5 :Text;
}

enum Priority {
  emergency @0;
  alert @1;
  critical @2;
  error @3;
  warning @4;
  notice @5;
  informational @6;
  debug @7;
}

struct OutputField {
  name @0 :Text;
  # Rendered value; absent values are "<NA>".
  value @1 :Text;
  # The field is of a numeric type (evaluate's field registry says so), so
  # JSON renderings show `value` as a number rather than a string. Set since
  # format minor 1; in older streams every field reads as text.
  isNumber @2 :Bool;
}

struct Alert {
  timeNs @0 :UInt64;
  rule @1 :Text;
  priority @2 :Priority;
  source @3 :Text;
  tags @4 :List(Text);
  output @5 :Text;
  fields @6 :List(OutputField);
  hostname @7 :Text;
  # Wall-clock ns at which evaluate read the event, for latency measurement.
  evalTsNs @8 :UInt64;
}

struct Counter {
  name @0 :Text;
  value @1 :UInt64;
  # What the counter measures, so that readers (output's metrics) need not
  # read meaning into names. Producers older than format 2.1 leave it
  # `other`.
  kind @2 :CounterKind;
  # For `drops`: why the events were lost (`ringbuf_full`,
  # `downstream_disconnected`); the name is then `drops.REASON`.
  reason @3 :Text;
}

enum CounterKind {
  # A count with no meaning readers rely on (lookups, cache hits).
  other @0;
  # Events that went through the stage: what its throughput is read from.
  events @1;
  # Events lost, for `reason`.
  drops @2;
  # A current size (table entries, states held), not cumulative.
  gauge @3;
}

# Counters of one stage, cumulative since that stage started. Each stage
# forwards the stats frames it reads and adds its own.
struct Stats {
  stage @0 :Stage;
  timeNs @1 :UInt64;
  hostname @2 :Text;
  counters @3 :List(Counter);
  # Distinguishes several instances of one stage.
  instance @4 :Text;
}
