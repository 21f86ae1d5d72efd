# Shared by run.sh and machinery.sh (sourced, not run): waiting for a
# program under test to say it is ready. Each script defines its own die().

# Seconds to wait for a program to signal readiness before giving up.
READY_TIMEOUT=30

# wait_ready FILE PID LOG DIED TIMEOUT: waits until FILE exists; dies with
# DIED (after printing LOG) if PID exits first, with TIMEOUT after
# READY_TIMEOUT seconds.
wait_ready() {
  local file=$1 pid=$2 logfile=$3 died=$4 timeout=$5 waited=0
  while [ ! -e "$file" ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "$died"; }
    sleep 0.1
    waited=$((waited + 1))
    [ "$waited" -lt $((READY_TIMEOUT * 10)) ] || die "$timeout"
  done
}
