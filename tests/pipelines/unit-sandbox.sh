#!/usr/bin/env bash
# Starts each systemd unit's process under that unit's own restrictions, as
# far as a machine whose PID 1 is not systemd can emulate them, and runs the
# chain capture -> enrich -> evaluate -> output to a real alert:
#   CapabilityBoundingSet=   setpriv --bounding-set (and no inheritable or
#                            ambient capabilities)
#   NoNewPrivileges=yes      setpriv --no-new-privs
#   DynamicUser=yes          setpriv to a fresh uid/gid of its own
#   SupplementaryGroups=     setpriv --groups (the kestrel group: a fresh gid)
#   ProtectSystem=strict     a mount namespace with every mount read-only
#   PrivateTmp=yes           a tmpfs on /tmp and /var/tmp
#   StateDirectory=          a writable directory, $STATE_DIRECTORY
#   .socket units            systemd-socket-activate, the socket chowned to
#                            the kestrel group, mode 0660
# Not emulated (written down in pipelines/README.md): the cgroup limits
# MemoryMax= and TasksMax= (checked instead against what each process uses
# once the alert came through), SystemCallFilter=, RestrictAddressFamilies=,
# PrivateDevices=, the Protect{Kernel*,ControlGroups,Clock,Hostname}= mounts.
# Usage: unit-sandbox.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: unit-sandbox.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
units=$here/../../pipelines/systemd
fail() { echo "unit-sandbox.sh: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root"
for t in setpriv unshare systemd-socket-activate; do command -v $t >/dev/null || fail "$t is missing (pipelines/deps.sh)"; done
# The binaries must be reachable by the unprivileged uids (a checkout under
# /root is not): a copy in a directory they can read.
# Not under /tmp, which PrivateTmp= hides.
work=$(mktemp -d /run/kestrel-units.XXXXXX)
chmod 0755 "$work"
cleanup() {
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin" "$work/run" "$work/state"
for s in capture enrich evaluate output; do install -m 0755 "$bin/$s" "$work/bin/$s"; done
kgid=$((61000 + $$ % 1000))
# prop UNIT KEY: the value of KEY= in the unit file (last one wins)
prop() { sed -n "s/^$2=//p" "$units/$1" | tail -1; }
# sandboxed UNIT UID CMD...: CMD under UNIT's restrictions (see above)
sandboxed() {
  local unit=$1 uid=$2; shift 2
  local caps bounding=-all c
  caps=$(prop "$unit" CapabilityBoundingSet)
  for c in $caps; do c=${c#CAP_}; bounding+=",+${c,,}"; done
  local priv=(setpriv --bounding-set="$bounding" --inh-caps=-all --ambient-caps=-all)
  [ "$(prop "$unit" NoNewPrivileges)" = yes ] && priv+=(--no-new-privs)
  if [ "$(prop "$unit" DynamicUser)" = yes ]; then
    priv+=(--reuid="$uid" --regid="$uid")
    if [ -n "$(prop "$unit" SupplementaryGroups)" ]; then
      [ "$(prop "$unit" SupplementaryGroups)" = kestrel ] \
        || fail "$unit: SupplementaryGroups=$(prop "$unit" SupplementaryGroups): only kestrel is emulated"
      priv+=(--groups="$kgid")
    else
      priv+=(--clear-groups)
    fi
  fi
  local setup=""
  if [ "$(prop "$unit" ProtectSystem)" = strict ]; then
    setup+='awk '"'"'{print $2}'"'"' /proc/self/mounts | sort -u | while read -r m; do
      case $m in /proc*|/sys*|/dev*) ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac
    done;'
  fi
  if [ "$(prop "$unit" PrivateTmp)" = yes ]; then
    setup+='mount -t tmpfs -o mode=1777 tmpfs /tmp; mount -t tmpfs -o mode=1777 tmpfs /var/tmp;'
  fi
  if [ -n "$(prop "$unit" StateDirectory)" ]; then
    mkdir -p "$work/state/$unit"; chown "$uid:$uid" "$work/state/$unit"
    setup+="mount --bind $work/state/$unit $work/state/$unit; mount -o remount,bind,rw $work/state/$unit;"
    export STATE_DIRECTORY=$work/state/$unit
  fi
  # The bounding set is applied last, after the mounts that need
  # CAP_SYS_ADMIN; --propagation private keeps them from the host.
  # exec: under systemd-socket-activate, LISTEN_PID names this process.
  exec unshare --mount --propagation private -- sh -c "$setup"' exec "$@"' sandboxed "${priv[@]}" -- "$@"
}
# socket PATH: the .socket units' ownership and mode, once it exists
socket() {
  for _ in $(seq 50); do [ -S "$1" ] && break; sleep 0.1; done
  [ -S "$1" ] || fail "no socket at $1"
  chgrp "$kgid" "$1"; chmod 0660 "$1"
}
for u in kestrel-capture.socket kestrel-evaluate.socket kestrel-output.socket; do
  [ "$(prop $u SocketMode)" = 0660 ] && [ "$(prop $u SocketGroup)" = kestrel ] || fail "$u: not mode 0660 group kestrel"
done

(while :; do cat /etc/shadow > /dev/null; sleep 0.2; done) &
s_cap=$work/run/capture.sock s_ev=$work/run/evaluate.sock s_out=$work/run/output.sock
systemd-socket-activate -l "$s_out" bash -c "$(declare -f sandboxed prop fail); work=$work units=$units kgid=$kgid; sandboxed kestrel-output.service 61101 $work/bin/output --input systemd" \
  > "$work/alerts.txt" 2> "$work/output.err" &
socket "$s_out"
systemd-socket-activate -l "$s_ev" bash -c "$(declare -f sandboxed prop fail); work=$work units=$units kgid=$kgid; sandboxed kestrel-evaluate.service 61102 $work/bin/evaluate --input systemd --output unix:$s_out --format frames" \
  2> "$work/evaluate.err" &
socket "$s_ev"
systemd-socket-activate -l "$s_cap" bash -c "$(declare -f sandboxed prop fail); work=$work units=$units kgid=$kgid; sandboxed kestrel-capture.service 0 $work/bin/capture --output systemd --duration 60" \
  2> "$work/capture.err" &
socket "$s_cap"
sandboxed kestrel-enrich.service 61103 "$work/bin/enrich" --input "unix:$s_cap" --output "unix:$s_ev" \
  2> "$work/enrich.err" &
last() { tail -2 "$work/$1.err" 2>/dev/null | tr '\n' ' '; }
for _ in $(seq 600); do grep -q 'Credential file read' "$work/alerts.txt" 2>/dev/null && break; sleep 0.1; done
grep -q 'Credential file read' "$work/alerts.txt" \
  || fail "no alert through the sandboxed units; capture: $(last capture) enrich: $(last enrich) evaluate: $(last evaluate) output: $(last output)"
echo "chain: ok (each unit's process under its bounding set, uid, groups, no_new_privs, read-only system)"

# What each process uses, against its unit's MemoryMax= and TasksMax=.
for s in capture enrich evaluate output; do
  pid=$(pgrep -n -f "^$work/bin/$s ") || fail "$s is not running: $(last $s)"
  st=/proc/$pid/status
  rss=$(awk '/^VmRSS:/ {print $2}' "$st") threads=$(awk '/^Threads:/ {print $2}' "$st")
  max=$(prop kestrel-$s.service MemoryMax) tasks=$(prop kestrel-$s.service TasksMax)
  [ -n "$max" ] && [ -n "$tasks" ] || fail "kestrel-$s.service has no MemoryMax= or TasksMax="
  [ $((rss * 1024)) -lt $(( ${max%M} << 20 )) ] || fail "$s uses ${rss} KiB, over MemoryMax=$max"
  [ "$threads" -lt "$tasks" ] || fail "$s runs $threads threads, TasksMax=$tasks"
  bnd=$(awk '/^CapBnd:/ {print $2}' "$st") uid=$(awk '/^Uid:/ {print $2}' "$st")
  echo "  $s: uid $uid, CapBnd $bnd, ${rss} KiB resident (MemoryMax=$max), $threads threads (TasksMax=$tasks)"
done
echo "unit sandbox: ok"
