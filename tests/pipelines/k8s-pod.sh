#!/usr/bin/env bash
# Runs the Kubernetes DaemonSet's pod for real on this node, as far as a
# machine without a kubelet allows:
#  1. renders an overlay of pipelines/k8s/base with the pinned kubectl's
#     kustomize (tests/pipelines/kubectl.sh): the runtime-docker component,
#     a kestrel-rules ConfigMap of a user's own (a new rule and an override
#     of a built-in one), and what this node differs in (the Docker socket's
#     path and group, the syscalls this kernel has);
#  2. builds the four images with the real podman of tests/ctr-test-env.sh;
#  3. runs the pod with tests/pipelines/kube-pod.py (podman, the pod spec's
#     fields mapped one by one: hostPID, per-container uids, capabilities,
#     read-only roots, emptyDir, hostPath, ConfigMap volumes, limits,
#     NODE_NAME from spec.nodeName);
#  4. checks capture loaded the probe with named capabilities only (not
#     privileged), its socket's owner and mode, /healthz (the probes' URL,
#     from the pod's network), and that an attack in a container of the real
#     dockerd (writing below /etc, reading /etc/shadow) comes out of the
#     output container's sink (its log) with pod, namespace, image and the
#     node's name, for a built-in rule and the ConfigMap's rule;
#  5. kills each container once (SIGKILL) and checks the pod recovers: the
#     container is restarted (restartPolicy Always), alerts flow again and
#     /healthz answers (pipelines/README.md, "What happens when a stage
#     restarts");
#  6. prints each container's memory use and each image's size.
# Differences from a kubelet are in pipelines/README.md ("Tested").
# Usage: k8s-pod.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: k8s-pod.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fail() { echo "k8s-pod.sh: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root (capture loads the probe; podman runs the pod)"
export CTR_BASE=${CTR_BASE:-/tmp/ctr-test}
if ! [ -S "$CTR_BASE/docker.sock" ] || ! [ -f "$CTR_BASE/env" ]; then
  bash "$root/tests/ctr-test-env.sh" up >/dev/null || fail "ctr-test-env.sh up failed"
fi
set -a; . "$CTR_BASE/env"; set +a
podman="podman --root $CTR_BASE/podman/storage --runroot $CTR_BASE/podman/run"
docker="/usr/bin/docker -H unix://$DOCKER_SOCK"
kubectl=$("$here/kubectl.sh") || fail "no kubectl to render the manifests"
for t in /usr/bin/python3 curl nsenter; do command -v "$t" >/dev/null || fail "$t is missing (pipelines/deps.sh installs it)"; done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (pipelines/deps.sh installs it)"

pod=kestrel-k8s-test-$$
node=node-$$
attacker=kestrel-k8s-attacker-$$
work=$(mktemp -d /tmp/kestrel-k8s-pod.XXXXXX)
cleanup() {
  $podman pod rm -f -t 0 "$pod" >/dev/null 2>&1 || true
  $docker rm -f "$attacker" >/dev/null 2>&1 || true
  for m in "$work"/volumes/*; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
  rm -rf "$work"
}
[ -n "${KESTREL_KEEP:-}" ] || trap cleanup EXIT

# 1. the overlay a user of this node would write
overlay=$work/overlay
mkdir -p "$overlay"
rel=$(realpath --relative-to="$overlay" "$root/pipelines/k8s")
docker_gid=$(stat -c %g "$DOCKER_SOCK")
syscalls=$("$root/pipelines/filter-syscalls.sh" "$("$bin/evaluate" syscalls)" 2>/dev/null)
cat > "$overlay/my_rules.yaml" <<'EOF'
- rule: Marker file written in a pod
  desc: a site rule of the user's own, loaded beside the built-in rules
  condition: >
    evt.type in (open, openat, openat2) and evt.is_open_write = true
    and fd.name = /tmp/kestrel-k8s-marker and container.id != host
  output: marker written (file=%fd.name pod=%k8s.pod.name ns=%k8s.ns.name image=%container.image.repository)
  priority: WARNING
  source: syscall
  tags: [site]
- rule: Write below /etc by an unexpected program
  priority: CRITICAL
  override:
    priority: replace
EOF
cat > "$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: kestrel
resources:
  - $rel/base
components:
  - $rel/components/runtime-docker
configMapGenerator:
  - name: kestrel-rules
    files: [my_rules.yaml]
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: kestrel}
      spec:
        template:
          spec:
            volumes:
              - {name: runtime-socket, hostPath: {path: "$DOCKER_SOCK", type: Socket}}
            containers:
              - {name: capture, securityContext: {runAsGroup: $docker_gid}}
              - {name: enrich, securityContext: {runAsGroup: $docker_gid}}
  - target: {kind: DaemonSet, name: kestrel}
    patch: |-
      - {op: test, path: /spec/template/spec/containers/0/args/1, value: "--syscalls=$("$bin/evaluate" syscalls)"}
      - {op: replace, path: /spec/template/spec/containers/0/args/1, value: "--syscalls=$syscalls"}
EOF
"$kubectl" kustomize "$overlay" > "$work/rendered.yaml" 2> "$work/kustomize.err" \
  || fail "kustomize: $(cat "$work/kustomize.err")"
/usr/bin/python3 - "$work/rendered.yaml" <<'PY' || fail "the DaemonSet does not mount the generated kestrel-rules ConfigMap"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cms = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
ds = next(d for d in docs if d["kind"] == "DaemonSet")
vols = {v["name"]: v for v in ds["spec"]["template"]["spec"]["volumes"]}
name = vols["rules"]["configMap"]["name"]
assert name.startswith("kestrel-rules-") and name in cms, name
PY
echo "render: ok ($(grep -c '^kind:' "$work/rendered.yaml") objects)"

# 2. images
DOCKER=$podman KESTREL_BIN=$bin "$root/pipelines/images/build.sh" > "$work/images.txt" \
  || fail "image build failed"
sed 's/^/  /' "$work/images.txt"

# 3. the pod
/usr/bin/python3 "$here/kube-pod.py" "$work/rendered.yaml" --podman "$podman" \
  --name "$pod" --node "$node" --workdir "$work" > "$work/driver.txt" \
  || fail "the pod did not start"
sed 's/^/  /' "$work/driver.txt"

wait_for() {
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" && return 0; sleep 0.2; done
  fail "$what"
}
cpid() { $podman inspect -f '{{.State.Pid}}' "$pod-$1" 2>/dev/null; }
restarts() { $podman inspect -f '{{.RestartCount}}' "$pod-$1" 2>/dev/null; }
logs() { $podman logs "$pod-$1" 2>&1 | tail -"${2:-5}"; }
infra=$($podman pod inspect -f '{{.InfraContainerID}}' "$pod")
netns_pid=$($podman inspect -f '{{.State.Pid}}' "$infra")
# What a kubelet's httpGet probe does: GET from outside the container, to
# the pod's address.
healthz() { nsenter -t "$netns_pid" -n curl -sf -m 2 http://127.0.0.1:8765/healthz >/dev/null; }
wait_for 60 "output's /healthz never answered; output: $(logs output)" healthz
echo "probes: ok (GET /healthz answers 200 from the pod's network)"

# 4. least privilege, as running
running() { [ "$($podman inspect -f '{{.State.Running}}' "$pod-$1" 2>/dev/null)" = true ]; }
for c in capture enrich evaluate output; do
  wait_for 30 "$c is not running: $(logs $c 3)" running $c
done
cap=$(cpid capture)
[ "$($podman inspect -f '{{.HostConfig.Privileged}}' "$pod-capture")" = false ] || fail "capture runs privileged"
[ "$(readlink /proc/"$cap"/ns/pid)" = "$(readlink /proc/self/ns/pid)" ] || fail "capture is not in the node's pid namespace (hostPID): $(logs capture 3)"
for c in enrich evaluate output; do
  st=/proc/$(cpid $c)/status
  grep -q '^CapEff:\s*0*$' "$st" || fail "$c holds capabilities: $(grep CapEff "$st")"
  uid=$(awk '/^Uid:/ {print $2}' "$st")
  [ "$uid" -ge 65101 ] || fail "$c runs as uid $uid"
  echo "$uid" >> "$work/uids"
done
[ "$(sort -u "$work/uids" | wc -l)" -eq 3 ] || fail "the unprivileged stages share a uid: $(tr '\n' ' ' < "$work/uids")"
# capture attached the probe with the named capabilities, then locked
# itself down: nothing effective, no_new_privs, its own seccomp filter.
locked() { grep -q '^CapEff:\s*0*$' "/proc/$(cpid capture)/status" && grep -q '^NoNewPrivs:\s*1' "/proc/$(cpid capture)/status"; }
wait_for 30 "capture did not lock down after attaching: $(logs capture 3)" locked
bnd=$(awk '/^CapBnd:/ {print $2}' "/proc/$(cpid capture)/status")
[ $((16#$bnd & ~(1 << 2 | 1 << 19 | 1 << 24 | 1 << 38 | 1 << 39))) -eq 0 ] \
  || fail "capture's bounding set $bnd holds more than BPF, PERFMON, SYS_RESOURCE, SYS_PTRACE, DAC_READ_SEARCH"
sock=$work/volumes/capture-enrich/capture.sock
wait_for 30 "capture did not listen; capture: $(logs capture)" test -S "$sock"
[ "$(stat -c '%a %u %g' "$sock")" = "660 0 $docker_gid" ] \
  || fail "capture's socket is $(stat -c '%a %u:%g' "$sock"), not 660 root:$docker_gid"
echo "privileges: ok (capture not privileged, bounding set $bnd, locked down after attaching, in the node's pid namespace, socket 0660 root:$docker_gid; enrich, evaluate, output without capabilities as uids $(sort -u "$work/uids" | tr '\n' ' '))"

# The attack: a container of the real dockerd, labelled as a kubelet labels
# a pod's containers, writes below /etc, reads /etc/shadow, writes a marker.
# The checks after each restart count the reads of /etc/shadow: `cat` is a
# new process each time, while the loop's shell is a long-lived thread whose
# state a restarted reader may lack (pipelines/README.md, "Tested").
$docker run -d --name "$attacker" --network none \
  --label io.kubernetes.pod.name=web-7f9c --label io.kubernetes.pod.namespace=shop \
  --label io.kubernetes.container.name=web localhost/test:1 \
  sh -c 'while :; do echo "x:*:1:0:99999:7:::" > /etc/shadow; cat /etc/shadow > /dev/null; cat /etc/hostname > /tmp/kestrel-k8s-marker; sleep 0.5; done' \
  >/dev/null || fail "cannot start the attacker container"
alerts() { $podman logs "$pod-output" 2>/dev/null | grep -c "\"rule\":\"$1\"" || true; }
# an alert of rule $1 with the container's image and the node's name, and
# the pod's name and namespace when the rule's output names them (the
# ConfigMap's rule does; Falco, too, shows only the fields an output names)
alert_ok() {
  $podman logs "$pod-output" 2>/dev/null | grep "\"rule\":\"$1\"" \
    | grep '"container.image.repository":"localhost/test"' | grep "\"hostname\":\"$node\"" \
    | { if [ -n "${2:-}" ]; then grep '"k8s.pod.name":"web-7f9c"' | grep '"k8s.ns.name":"shop"'; else cat; fi; } \
    | grep -q .
}
rules=("Credential file read by an unexpected program" "Marker file written in a pod")
wait_for 60 "no '${rules[0]}' alert with image and node name in output's sink; capture: $(logs capture 3) enrich: $(logs enrich 3) evaluate: $(logs evaluate 3) output: $(logs output 3 | cut -c1-400)" \
  alert_ok "${rules[0]}"
wait_for 30 "no '${rules[1]}' alert (the ConfigMap's rule) with pod, namespace, image and node name; evaluate: $(logs evaluate 3)" \
  alert_ok "${rules[1]}" k8s
$podman logs "$pod-output" 2>/dev/null | grep '"rule":"Write below /etc by an unexpected program"' \
  | grep -q '"priority":"Critical"' || fail "the ConfigMap's override of a built-in rule did not apply"
echo "attack: ok (built-in and ConfigMap rules alerted with k8s.pod.name=web-7f9c k8s.ns.name=shop image=localhost/test hostname=$node)"

# 5. each container killed once
for c in output evaluate enrich capture; do
  before=$(restarts $c) old=$(cpid $c) n=$(alerts "${rules[0]}")
  kill -9 "$old"
  wait_for 60 "$c was not restarted after SIGKILL" eval '[ "$(restarts '$c')" -gt "$before" ] && [ "$(cpid '$c')" != 0 ] && [ "$(cpid '$c')" != "$old" ]'
  wait_for 90 "no alert after $c was killed; capture: $(logs capture 2) enrich: $(logs enrich 2) evaluate: $(logs evaluate 2) output: $(logs output 2 | cut -c1-300)" \
    eval '[ "$(alerts "${rules[0]}")" -gt "$n" ]'
  wait_for 30 "/healthz did not answer after $c was killed" healthz
  echo "restart $c: ok (restarted by the pod's restart policy; alerts flow again)"
done

# 6. what it takes
$podman stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.CPUPerc}}' \
  "$pod-capture" "$pod-enrich" "$pod-evaluate" "$pod-output" | sed "s/^$pod-/  memory: /"
echo "k8s pod: ok"
