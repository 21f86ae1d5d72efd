#!/usr/bin/env bash
# Validates the Kubernetes manifests offline against the API schemas
# (kubernetes-validate from PyPI, installed when missing), then checks the
# privilege split the manifests promise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=$here/../../pipelines/k8s/base
fail() { echo "k8s.sh: FAIL: $*" >&2; exit 1; }
if ! command -v kubernetes-validate >/dev/null; then
  pip install -q kubernetes-validate >/dev/null 2>&1 || fail "cannot install kubernetes-validate from PyPI"
fi
for f in "$base"/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] && continue
  kubernetes-validate --strict --quiet "$f" || fail "$f does not validate"
done
python3 - "$base/daemonset.yaml" "$base/kustomization.yaml" <<'PY'
import sys, yaml, os
ds = yaml.safe_load(open(sys.argv[1]))
spec = ds["spec"]["template"]["spec"]
assert spec.get("hostPID") is True, "hostPID"
cs = {c["name"]: c for c in spec["containers"]}
assert set(cs) == {"capture", "enrich", "evaluate", "output"}, cs.keys()
assert cs["capture"]["securityContext"].get("privileged") is True, "capture privileged"
for n in ("enrich", "evaluate", "output"):
    sc = cs[n]["securityContext"]
    assert not sc.get("privileged"), n
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"], n
    assert sc["allowPrivilegeEscalation"] is False, n
    assert sc["capabilities"]["drop"] == ["ALL"], n
for c in cs.values():
    r = c["resources"]
    assert r["requests"] and r["limits"], c["name"]
    assert any(m["name"] == "sockets" for m in c["volumeMounts"]), c["name"]
vols = {v["name"]: v for v in spec["volumes"]}
assert "emptyDir" in vols["sockets"], "shared emptyDir for sockets"
for m in cs["capture"]["volumeMounts"]:
    if m["name"] in ("proc", "sys-kernel"):
        assert m.get("readOnly"), m
k = yaml.safe_load(open(sys.argv[2]))
for r in k["resources"]:
    assert os.path.exists(os.path.join(os.path.dirname(sys.argv[2]), r)), r
PY
echo "k8s: ok"
