#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ from the project's own
files: recorded streams (tests/fixtures/enrich/shell.kst, and enrich's and
evaluate's output for it when given), rule files (rules/, tests/compat/),
output's example config and hand-written runtime answers.

    tests/fuzz/seeds.py [ENRICHED.kst] [ALERTS.kst]

Streams are cut into small seeds: the header frame and a window of the
frames after it, at most WINDOW_BYTES each, with the frame targets' leading
byte (how many bytes each read returns; 0 for all at once) in front. Not
for anything but seeding: the fuzzer grows its own corpus from these.
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")
# Small seeds mutate faster; a few frames carry every shape of interest.
WINDOW_BYTES = 6 << 10
MAX_SEEDS = 24
# Items per seed cut from a large rule file.
RULE_ITEMS = 6


def frames(data):
    """Splits a Cap'n Proto stream into its messages."""
    out, off = [], 0
    while off + 4 <= len(data):
        nseg = struct.unpack_from("<I", data, off)[0] + 1
        table = 4 * (nseg + 1)
        table += table % 8
        sizes = struct.unpack_from("<%dI" % nseg, data, off + 4)
        end = off + table + 8 * sum(sizes)
        out.append(data[off:end])
        off = end
    return out


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def stream_seeds(targets, path, steps=(0, 7)):
    fs = frames(open(path, "rb").read())
    header, rest = fs[0], fs[1:]
    windows, cur = [], []
    for f in rest:
        if cur and sum(map(len, cur)) + len(f) > WINDOW_BYTES:
            windows.append(cur)
            cur = []
        cur.append(f)
    if cur:
        windows.append(cur)
    pick = windows[:: max(1, len(windows) // MAX_SEEDS)][:MAX_SEEDS]
    for i, w in enumerate(pick):
        body = header + b"".join(w)
        for t in targets:
            put(t, bytes([steps[i % len(steps)]]) + body)


def rule_items(text):
    """Cuts a rule file into its top-level items (`- rule:`, `- macro:`...)."""
    items, cur = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("- ") and cur:
            items.append("".join(cur))
            cur = []
        cur.append(line)
    if cur:
        items.append("".join(cur))
    return items


def rules():
    files = []
    for d in ("rules", "rules/tests"):
        for n in sorted(os.listdir(os.path.join(ROOT, d))):
            if n.endswith(".yaml"):
                files.append(os.path.join(ROOT, d, n))
    for n in ("falco_rules.yaml", "k8s_audit_rules.yaml"):
        files.append(os.path.join(ROOT, "tests/compat", n))
    for p in files:
        items = rule_items(open(p).read())
        for i in range(0, len(items), RULE_ITEMS):
            put("rules_load", "".join(items[i : i + RULE_ITEMS]).encode())
        # Conditions, one per seed, for the condition language.
        for it in items:
            for line in it.splitlines():
                s = line.strip()
                if s.startswith("condition:"):
                    put("condition", s[len("condition:") :].strip().encode())


def configs():
    put("output_config", open(os.path.join(ROOT, "pipelines/output.example.yaml"), "rb").read())
    put("output_config", b"sinks:\n  - type: stdout\n    format: json\n")
    put("output_config", b"sinks:\n  - type: syslog\n    target: udp:127.0.0.1:514\n    facility: local0\n")
    put("output_config", b"rate_limit: {rate: 1.5, burst: 3, summary_interval: 60}\n"
        b"drop_alert: {threshold: 0.01}\nsinks:\n  - {type: http, url: 'http://127.0.0.1:1/', headers: {A: b}}\n")
    for req in (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /metrics?x=1 HTTP/1.0\r\n\r\n",
                b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                b"GET /nothing HTTP/1.1\n\n"):
        put("output_http", req)


INSPECT = (b'{"Id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",'
           b'"Name":"/web","Created":"2024-05-06T07:08:09.123456789Z",'
           b'"State":{"StartedAt":"2024-05-06T07:08:10+02:00"},'
           b'"Config":{"Image":"docker.io/library/nginx:1.25@sha256:abcdef","Labels":'
           b'{"io.kubernetes.pod.name":"p","io.kubernetes.pod.namespace":"n"},"User":"0"},'
           b'"Image":"sha256:0123456789abcdef","HostConfig":{"Privileged":true,'
           b'"NetworkMode":"host","PidMode":"","IpcMode":"private"},'
           b'"Mounts":[{"Source":"/a","Destination":"/b","Mode":"ro","RW":false,"Propagation":"rprivate"}]}')
EVENT = (b'{"Type":"container","Action":"start","Actor":{"ID":'
         b'"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}')


def runtimes():
    put("runtime_inspect", INSPECT)
    put("runtime_inspect", INSPECT.replace(b'"Privileged":true', b'"Privileged":false').replace(b"Labels", b"Lab"))
    put("runtime_events", b"\x00" + EVENT + b"\n" + EVENT.replace(b"start", b"destroy"))
    put("runtime_events", b"\x05" + EVENT.replace(b'"Type"', b'"type"').replace(b'"Action"', b'"status"'))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    put("runtime_http", head + b"Content-Length: %d\r\n\r\n" % len(INSPECT) + INSPECT)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(INSPECT[i : i + 100]), INSPECT[i : i + 100])
                      for i in range(0, len(INSPECT), 100))
    put("runtime_http", head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    put("runtime_http", b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"no such container\"}")


def records():
    """Ring records as the probe writes them: a 32-byte header (ts, ret,
    tid, pid, kind, nparams, flags, cpu), u16 lengths, then the bytes.
    The parameter count is fixed up by the target; these give it shapes."""
    def rec(kind, params, ret=0, flags=0):
        h = struct.pack("<QqiiHHHH", 7, ret, 11, 10, kind, len(params), flags, 1)
        lens = b"".join(struct.pack("<H", 0xFFFF if p is None else len(p)) for p in params)
        return h + lens + b"".join(p for p in params if p is not None)
    sin = struct.pack("<HH4s", 2, 0x5000, bytes([127, 0, 0, 1]))
    for kind in range(0, 40, 3):
        put("capture_record", rec(kind, [b"/etc/passwd\x00", struct.pack("<q", -100), struct.pack("<Q", 0o644)]))
        put("capture_record", rec(kind, [struct.pack("<q", 3), sin, None], ret=-111, flags=1))


def procfs():
    """Shapes of /proc files and of the passwd and group files, written
    here rather than read from the machine, so that seeds do not change
    with it."""
    put("capture_procfs", b"4242 (we) ird) name) S 1 4242 4242 34816 4242 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0\n")
    put("capture_procfs", b"Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n"
        b"CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n"
        b"NStgid:\t4242\t7\nNSpid:\t4242\t7\nNSpgid:\t4242\t7\n")
    put("capture_procfs", b"/bin/sh\0-c\0echo hi\0")
    put("capture_procfs", b"0::/system.slice/docker-0123456789abcdef.scope\n12:cpu,cpuacct:/x\n")
    put("capture_procfs", b"4294967295\n")
    put("enrich_users", b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n"
        b"+::::::\n#comment\nbad line\n")
    put("enrich_users", b"root:x:0:\nusers:x:100:alice,bob\nnogroup:x:65534:\n")


def main():
    kst = os.path.join(ROOT, "tests/fixtures/enrich/shell.kst")
    stream_seeds(["frame_reader", "frame_reader_async", "enrich_events"], kst)
    if len(sys.argv) > 1:
        stream_seeds(["frame_reader", "frame_reader_async", "state_table"], sys.argv[1])
    if len(sys.argv) > 2:
        stream_seeds(["frame_reader", "alert_render"], sys.argv[2])
    rules()
    configs()
    runtimes()
    records()
    procfs()


if __name__ == "__main__":
    main()
