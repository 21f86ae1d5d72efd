@0x97b52ccbf576a1dd;
# kestrel's control plane: the Cap'n Proto RPC interfaces each stage serves on
# its `--control PATH` Unix socket, beside the frames of kestrel.capnp. Tools
# query a running pipeline and change it through these without restarting it.
# Evolution is additive only, as for the frames: new methods and fields take
# new ordinals; nothing is renumbered, retyped or reused.

using K = import "kestrel.capnp";

# What every stage answers. The bootstrap capability of a stage's socket is
# this interface or one that extends it.
interface StageControl {
  health @0 () -> (health :Health);
  # The same counters the stage sends in-band in its `stats` frames.
  stats @1 () -> (stats :K.Stats);
  version @2 () -> (version :Version);
}

struct Health {
  stage @0 :K.Stage;
  # Wall-clock time the stage started, ns since the Unix epoch.
  upSinceNs @1 :UInt64;
  inputConnected @2 :Bool;
  outputConnected @3 :Bool;
  # The last error the stage recorded, empty if none.
  lastError @4 :Text;
  # Wall-clock time of that error, 0 if none.
  lastErrorNs @5 :UInt64;
  pid @6 :UInt32;
}

struct Version {
  # The binary's name, e.g. "evaluate".
  program @0 :Text;
  # Its crate version.
  version @1 :Text;
  # The wire format it writes.
  formatMajor @2 :UInt16;
  formatMinor @3 :UInt16;
}

# evaluate: its rules, live.
interface EvaluateControl extends(StageControl) {
  # Every loaded rule of the current rule files, enabled or not.
  listRules @0 () -> (rules :List(RuleInfo));
  # Enables or disables the rules whose name matches `pattern`, or whose tags
  # match it when it is written `tag:PATTERN`; `*` and `?` are wildcards.
  # The change survives reloads. `matched` counts the rules it selected.
  setEnabled @1 (pattern :Text, enabled :Bool) -> (matched :UInt32, result :ReloadResult);
  # Re-reads the rule files; the new ruleset replaces the running one between
  # two events, or not at all if it has errors.
  reload @2 () -> (result :ReloadResult);
}

struct RuleInfo {
  name @0 :Text;
  enabled @1 :Bool;
  priority @2 :K.Priority;
  tags @3 :List(Text);
  source @4 :Text;
  # Alerts this rule raised since the stage started (kept across reloads).
  hits @5 :UInt64;
}

struct ReloadResult {
  # False: the rules had errors, the running ruleset did not change.
  ok @0 :Bool;
  # Each error, located (file:line:col) when the loader knows where.
  errors @1 :List(Text);
  warnings @2 :UInt32;
  # Rules that run after the change.
  rulesRunning @3 :UInt32;
  # Time spent reading and compiling, off the event path.
  compileNs @4 :UInt64;
  # Time from handing the new ruleset over to the event loop taking it;
  # 0 if the loop had not taken it yet when the call returned (no events
  # were flowing).
  swapNs @5 :UInt64;
  # Counts every ruleset that went live, the first one being 1.
  generation @6 :UInt64;
}

# output: follow alerts live, as Falco's former gRPC output API allowed.
interface OutputControl extends(StageControl) {
  # Streams the alerts that `filter` selects to `sink` until either side
  # goes away. `filter`: empty for all; a rule name, or `tag:PATTERN`, or
  # `priority:LEVEL` (that level and more severe); `*` and `?` are
  # wildcards. A subscriber that reads slower than alerts come loses the
  # excess (counted) rather than slowing the sinks.
  subscribe @0 (filter :Text, sink :AlertSink) -> (subscription :Subscription);
}

# Implemented by the subscriber.
interface AlertSink {
  # One alert; flow-controlled, so a slow sink holds back only its own
  # stream.
  alert @0 (alert :K.Alert) -> stream;
  # The stage ends the feed (its input ended). Answered after every alert
  # sent before it has been taken, so the stage knows the last ones arrived.
  done @1 () -> ();
}

interface Subscription {
  # Alerts sent to the sink and alerts dropped because its backlog was
  # full, so far.
  counts @0 () -> (sent :UInt64, dropped :UInt64);
}

# capture: which event kinds the probe emits, changed while it runs. Names
# are the event table's (`evt.type` spelling, plus `procexit`), as
# `capture --syscalls` takes them.
interface CaptureControl extends(StageControl) {
  # Replaces the selection with `syscalls`. Each unknown name, or one this
  # kernel cannot capture, is listed in `errors`, and then nothing changes.
  # An empty selection, or one that leaves out kinds selected now, is
  # refused the same way unless `force`. `selected` is the selection in
  # force when the call returns.
  setSyscalls @0 (syscalls :List(Text), force :Bool) -> (selected :List(Text), errors :List(Text));
  # The selection in force.
  syscalls @1 () -> (selected :List(Text));
}
