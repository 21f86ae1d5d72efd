#!/usr/bin/env bash
# Validates the Kubernetes manifests offline: renders the base and each
# component with the pinned kubectl's kustomize (tests/pipelines/kubectl.sh),
# validates every rendered object against the Kubernetes API schemas with
# kubernetes-validate (from PyPI, pinned, in a virtualenv of Debian's
# python3, since Debian 12 refuses pip outside one), then checks the
# privilege split and the Falco habits the manifests promise, field by
# field, with Debian's python3-yaml (pipelines/deps.sh installs both).
# Usage: k8s.sh [BIN_DIR]   (BIN_DIR: evaluate, to check capture's --syscalls)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s=$(cd "$here/../../pipelines/k8s" && pwd)
fail() { echo "k8s.sh: FAIL: $*" >&2; exit 1; }
validate_version=1.33.0
py=/usr/bin/python3
$py -c 'import yaml' 2>/dev/null || fail "Debian's python3-yaml is missing (pipelines/deps.sh installs it)"
kubectl=$("$here/kubectl.sh") || fail "no kubectl to render the manifests"
venv=${KESTREL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kestrel-tests}/kubernetes-validate-$validate_version
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  $py -m venv "$venv" >/dev/null 2>&1 || fail "cannot make a virtualenv (Debian's python3-venv; pipelines/deps.sh installs it)"
  "$venv/bin/pip" install -q "kubernetes-validate==$validate_version" >/dev/null 2>&1 \
    || fail "cannot install kubernetes-validate $validate_version from PyPI"
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# Every component together, as an overlay in the base's namespace.
mkdir -p "$work/all"
rel=$(realpath --relative-to="$work/all" "$k8s")
cat > "$work/all/kustomization.yaml" <<EOF2
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: kestrel
resources: [$rel/base]
components:
$(for c in "$k8s"/components/*/; do echo "  - $rel/components/$(basename "$c")"; done)
EOF2
"$kubectl" kustomize "$k8s/base" > "$work/base.yaml" || fail "kustomize of base failed"
"$kubectl" kustomize "$work/all" > "$work/all.yaml" || fail "kustomize of base with every component failed"
# ServiceMonitor is a CRD: no schema to check it against.
for f in base all; do
  $py - "$work/$f.yaml" "$work/$f-objects" <<'PY'
import sys, yaml, os
os.makedirs(sys.argv[2], exist_ok=True)
for i, d in enumerate(x for x in yaml.safe_load_all(open(sys.argv[1])) if x):
    if d["kind"] != "ServiceMonitor":
        yaml.safe_dump(d, open(os.path.join(sys.argv[2], f"{i:02}-{d['kind']}.yaml"), "w"))
PY
  for o in "$work/$f-objects"/*.yaml; do
    "$venv/bin/kubernetes-validate" --strict --quiet "$o" || fail "$f: $(basename "$o") does not validate"
  done
done

evaluate=
[ -n "${1:-}" ] && evaluate=$(cd "$1" && pwd)/evaluate
$py - "$work/base.yaml" "$work/all.yaml" "$evaluate" <<'PY'
import subprocess, sys, yaml
def load(p):
    return [d for d in yaml.safe_load_all(open(p)) if d]
base, full = load(sys.argv[1]), load(sys.argv[2])
def one(docs, kind, name=None):
    got = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(got) == 1, (kind, name, len(got))
    return got[0]
ds = one(base, "DaemonSet")
spec = ds["spec"]["template"]["spec"]
assert spec.get("hostPID") is True, "hostPID (capture's /proc snapshot and own pid)"
assert spec["automountServiceAccountToken"] is False
assert ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"], "maxUnavailable"
assert all(t.get("key") for t in spec["tolerations"]), "a toleration without a key schedules on every tainted node"
cs = {c["name"]: c for c in spec["containers"]}
assert list(cs) == ["capture", "enrich", "evaluate", "output"], list(cs)
cap = cs["capture"]["securityContext"]
assert not cap.get("privileged"), "capture privileged"
assert cap["capabilities"]["drop"] == ["ALL"]
assert set(cap["capabilities"]["add"]) <= {"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"}, cap
assert cap["readOnlyRootFilesystem"] and cap["allowPrivilegeEscalation"] is False
uids = set()
for n in ("enrich", "evaluate", "output"):
    sc = cs[n]["securityContext"]
    assert not sc.get("privileged"), n
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"], n
    assert sc["allowPrivilegeEscalation"] is False, n
    assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], n
    assert sc["runAsUser"] != 0, n
    uids.add(sc["runAsUser"])
assert len(uids) == 3, f"each unprivileged stage its own uid: {uids}"
vols = {v["name"]: v for v in spec["volumes"]}
mounts = {n: {m["name"]: m for m in c["volumeMounts"]} for n, c in cs.items()}
# each hop's socket volume is mounted in its two containers only
for vol, pair in {"capture-enrich": {"capture", "enrich"}, "enrich-evaluate": {"enrich", "evaluate"},
                  "evaluate-output": {"evaluate", "output"}}.items():
    assert vols[vol]["emptyDir"]["medium"] == "Memory", vol
    assert {n for n in cs if vol in mounts[n]} == pair, vol
assert "mode=0660" in " ".join(cs["capture"]["args"]), "capture's socket mode"
assert cap["runAsGroup"] == cs["enrich"]["securityContext"]["runAsGroup"], "capture's socket group is enrich's"
for m in mounts["capture"].values():
    if m["name"] not in ("capture-enrich",):
        assert m.get("readOnly"), m
# no runtime socket in the base: a component adds the one enrich reads
assert not any("hostPath" in vols[m] and "sock" in vols[m]["hostPath"]["path"] for m in mounts["enrich"]), "runtime socket in base"
for c in cs.values():
    env = {e["name"]: e for e in c.get("env", [])}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName", c["name"]
    r = c["resources"]
    assert r["requests"] and r["limits"], c["name"]
ev = cs["evaluate"]["args"]
assert "--builtin" in ev and "--rules=/etc/kestrel/rules.d" in ev, ev
assert vols["rules"]["configMap"] == {"name": "kestrel-rules", "optional": True}
out = cs["output"]["args"]
assert any(a.startswith("--spool-dir=/var/lib/kestrel") for a in out), out
assert mounts["output"]["spool"]["mountPath"] == "/var/lib/kestrel"
conf = yaml.safe_load(one(base, "ConfigMap", "kestrel-output")["data"]["output.yaml"])
spooled = sum(1 for s in conf["sinks"] if s["type"] in ("http", "syslog", "program") and s.get("spool", True))
limit = int(vols["spool"]["emptyDir"]["sizeLimit"].rstrip("Mi")) << 20
assert spooled * conf["spool_bytes"] < limit, "spools do not fit the spool volume"
# capture's and enrich's selections are what the built-in rules need
if sys.argv[3]:
    need = subprocess.check_output([sys.argv[3], "syscalls"], text=True).strip()
    fwd = subprocess.check_output([sys.argv[3], "syscalls", "--matched"], text=True).strip()
    assert f"--syscalls={need}" in cs["capture"]["args"], "capture's --syscalls is not `evaluate syscalls`"
    assert f"--forward={fwd}" in cs["enrich"]["args"], "enrich's --forward is not `evaluate syscalls --matched`"
# with every component: falcosidekick deployed and named by output's http sink
svc = one(full, "Service", "falcosidekick")
one(full, "Deployment", "falcosidekick")
port = svc["spec"]["ports"][0]["port"]
conf = yaml.safe_load(one(full, "ConfigMap", "kestrel-output")["data"]["output.yaml"])
urls = [s["url"] for s in conf["sinks"] if s["type"] == "http"]
assert urls == [f"http://falcosidekick:{port}/"], urls
one(full, "ServiceMonitor")
dsf = one(full, "DaemonSet")
enrich = next(c for c in dsf["spec"]["template"]["spec"]["containers"] if c["name"] == "enrich")
assert "--docker-socket=/host/run/docker.sock" in enrich["args"], enrich["args"]
PY
echo "k8s: ok (base and $(ls -d "$k8s"/components/*/ | wc -l) components rendered and validated)"
