#!/usr/bin/python3
"""Runs the pod of a rendered DaemonSet as real containers with podman, the
way a kubelet would run it on one node, for tests/pipelines/k8s-pod.sh.

    kube-pod.py RENDERED.yaml --podman 'podman --root …' --name POD
                --node NODE --workdir DIR

Why not `podman kube play`: this machine's podman (4.3) ignores `hostPID`,
which capture needs, and chowns emptyDir volumes to one container's user.
So this driver maps each field of the pod spec to podman's own options and
refuses any field it does not know, so a manifest cannot gain a setting the
test silently leaves out. What it cannot do the way a kubelet does (probes,
restart back-off, resource requests) is listed in NOT_EMULATED and printed;
the test script does the probes itself.

It is not a Kubernetes implementation: one pod, one node, no API server.
"""

import argparse
import os
import shlex
import subprocess
import sys

import yaml

# Fields a kubelet acts on that this driver does not, and why that is fine
# for the test (the test script covers the probes).
NOT_EMULATED = {
    "priorityClassName": "scheduling only",
    "tolerations": "scheduling only",
    "serviceAccountName": "no API server: no token is mounted (automount is off anyway)",
    "automountServiceAccountToken": "no API server",
    "readinessProbe": "run by the test script (GET /healthz from the pod's network)",
    "livenessProbe": "run by the test script (GET /healthz from the pod's network)",
    "ports": "containerPort is informational; the pod's network is reached from its namespace",
    "requests": "scheduling only; limits are applied",
}

POD_KEYS = {"hostPID", "containers", "volumes", "securityContext",
            "terminationGracePeriodSeconds"} | set(NOT_EMULATED)
CONTAINER_KEYS = {"name", "image", "args", "command", "env", "securityContext",
                  "resources", "volumeMounts"} | set(NOT_EMULATED)
SC_KEYS = {"runAsUser", "runAsGroup", "runAsNonRoot", "privileged",
           "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities",
           "seccompProfile"}


def die(msg):
    print(f"kube-pod.py: {msg}", file=sys.stderr)
    sys.exit(1)


def check_keys(what, obj, known):
    unknown = set(obj) - known
    if unknown:
        die(f"{what}: fields this harness cannot run: {', '.join(sorted(unknown))}")


def quantity_bytes(q):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 1000, "M": 10**6, "G": 10**9}
    q = str(q)
    for u, mul in units.items():
        if q.endswith(u):
            return int(float(q[: -len(u)]) * mul)
    return int(q)


def quantity_cpus(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def volumes(spec, config_maps, workdir):
    """Host paths for each volume, made the way a kubelet makes them."""
    out = {}
    for v in spec.get("volumes", []):
        name = v["name"]
        if "emptyDir" in v:
            path = os.path.join(workdir, "volumes", name)
            os.makedirs(path, exist_ok=True)
            ed = v["emptyDir"] or {}
            if ed.get("medium") == "Memory":
                size = quantity_bytes(ed.get("sizeLimit", "64Mi"))
                run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", path])
            # A kubelet makes emptyDir world-writable; file modes inside
            # are the containers' business.
            os.chmod(path, 0o777)
            out[name] = path
        elif "hostPath" in v:
            hp = v["hostPath"]
            path, kind = hp["path"], hp.get("type", "")
            checks = {"Directory": os.path.isdir, "File": os.path.isfile,
                      "Socket": lambda p: os.path.exists(p) and not os.path.isdir(p) and not os.path.isfile(p),
                      "": lambda p: True}
            if kind not in checks:
                die(f"volume {name}: hostPath type {kind!r} is not emulated")
            if not checks[kind](path):
                die(f"volume {name}: hostPath {path} is not a {kind}; a kubelet would not start the pod")
            out[name] = path
        elif "configMap" in v:
            cm = v["configMap"]
            path = os.path.join(workdir, "configmaps", name)
            os.makedirs(path, exist_ok=True)
            data = config_maps.get(cm["name"])
            if data is None and not cm.get("optional"):
                die(f"volume {name}: ConfigMap {cm['name']} is not in the rendered manifests")
            for key, text in (data or {}).items():
                with open(os.path.join(path, key), "w") as f:
                    f.write(text)
            os.chmod(path, 0o755)
            out[name] = path
        else:
            die(f"volume {name}: kind {sorted(v)} is not emulated")
    return out


def container_args(pod, c, spec, vols, node):
    check_keys(f"container {c['name']}", c, CONTAINER_KEYS)
    sc = c.get("securityContext", {})
    check_keys(f"container {c['name']} securityContext", sc, SC_KEYS)
    a = ["--pod", pod, "--name", f"{pod}-{c['name']}", "--restart", "always"]
    if spec.get("hostPID"):
        # podman 4.3 gives a pod's --pid to its infra container only.
        a += ["--pid", "host"]
    uid, gid = sc.get("runAsUser"), sc.get("runAsGroup")
    if sc.get("runAsNonRoot") and uid in (None, 0):
        die(f"container {c['name']}: runAsNonRoot with uid {uid}: a kubelet refuses to start it")
    if uid is not None:
        a += ["--user", f"{uid}:{gid if gid is not None else uid}"]
    if sc.get("privileged"):
        a += ["--privileged"]
    caps = sc.get("capabilities", {})
    for cap in caps.get("drop", []):
        a += ["--cap-drop", cap.lower()]
    for cap in caps.get("add", []):
        a += ["--cap-add", f"CAP_{cap}"]
    if sc.get("allowPrivilegeEscalation") is False:
        a += ["--security-opt", "no-new-privileges"]
    if sc.get("readOnlyRootFilesystem"):
        a += ["--read-only", "--read-only-tmpfs=false"]
    seccomp = sc.get("seccompProfile") or spec.get("securityContext", {}).get("seccompProfile")
    if seccomp and seccomp.get("type") == "Unconfined":
        a += ["--security-opt", "seccomp=unconfined"]
    elif seccomp and seccomp.get("type") != "RuntimeDefault":
        die(f"container {c['name']}: seccompProfile {seccomp} is not emulated")
    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        a += ["--memory", str(quantity_bytes(limits["memory"]))]
    if "cpu" in limits:
        a += ["--cpus", str(quantity_cpus(limits["cpu"]))]
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None:
        a += ["--stop-timeout", str(grace)]
    for e in c.get("env", []):
        if "value" in e:
            a += ["--env", f"{e['name']}={e['value']}"]
        elif e.get("valueFrom") == {"fieldRef": {"fieldPath": "spec.nodeName"}}:
            a += ["--env", f"{e['name']}={node}"]
        else:
            die(f"container {c['name']}: env {e['name']} is not emulated")
    for m in c.get("volumeMounts", []):
        src = vols[m["name"]]
        if "subPath" in m:
            src = os.path.join(src, m["subPath"])
        opts = "ro" if m.get("readOnly") else "rw"
        a += ["--volume", f"{src}:{m['mountPath']}:{opts}"]
    if "command" in c:
        a += ["--entrypoint", c["command"][0]]
        rest = c["command"][1:]
    else:
        rest = []
    return a + [c["image"]] + rest + [str(x) for x in c.get("args", [])]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("rendered")
    p.add_argument("--podman", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--node", required=True)
    p.add_argument("--workdir", required=True)
    o = p.parse_args()
    with open(o.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    sets = [d for d in docs if d["kind"] == "DaemonSet"]
    if len(sets) != 1:
        die(f"expected one DaemonSet in {o.rendered}, found {len(sets)}")
    spec = sets[0]["spec"]["template"]["spec"]
    check_keys("pod spec", spec, POD_KEYS)
    pod_sc = spec.get("securityContext", {})
    check_keys("pod securityContext", pod_sc, {"seccompProfile"})
    podman = shlex.split(o.podman)
    for key in sorted(set(spec) & set(NOT_EMULATED)):
        print(f"not emulated: pod {key} ({NOT_EMULATED[key]})")
    vols = volumes(spec, config_maps, o.workdir)
    create = podman + ["pod", "create", "--name", o.name, "--hostname", o.node]
    if spec.get("hostPID"):
        create += ["--pid", "host", "--share", "ipc,net,uts"]
    run(create, stdout=subprocess.DEVNULL)
    for c in spec["containers"]:
        run(podman + ["create"] + container_args(o.name, c, spec, vols, o.node),
            stdout=subprocess.DEVNULL)
        print(f"container {c['name']}: {o.name}-{c['name']}")
    run(podman + ["pod", "start", o.name], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
