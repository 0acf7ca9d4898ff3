#!/usr/bin/env python3
"""soak_podman_api.py - the soak's podman containers through podman's REST
API (a `podman system service` the test started), from one process.

    soak_podman_api.py SOCKET ROOTFS NAME_PREFIX FIRST COUNT PARALLEL OUTDIR
                       [PODMAN_RUN_OPT...]

Runs COUNT containers (named NAME_PREFIX<i>, i from FIRST), PARALLEL at a
time, each `renice -n -1 -p 1` on ROOTFS with CAP_SYS_NICE added and no
network, as `podman run --rm` would: create, start, wait for the exit,
remove. PODMAN_RUN_OPTs are the test's PODMAN_RUN_OPTS (--runtime=R,
--ulimit=TYPE=SOFT:HARD), given to the API as the same settings.

The containers are the ones `podman run` makes (libpod, conmon, runc, the
same cleanup at exit); only the podman client process per container is
saved, about a quarter of the CPU a container costs on the 2-core test
machines. Appends each container's id to OUTDIR/ids.podman.api, its index
to OUTDIR/done, and failures to OUTDIR/worker.err; exit 1 if any failed.
"""
import http.client
import json
import os
import socket
import sys
import threading

TIMEOUT = 120  # seconds per request, as `timeout 120 podman run` had


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("podman", timeout=TIMEOUT)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self.path)


def spec_options(opts):
    spec = {"r_limits": []}
    for opt in opts:
        name, _, value = opt.partition("=")
        if name == "--runtime" and value:
            spec["oci_runtime"] = value
        elif name == "--ulimit" and value.count("=") == 1:
            kind, limits = value.split("=")
            soft, _, hard = limits.partition(":")
            spec["r_limits"].append(
                {"type": kind, "soft": int(soft), "hard": int(hard or soft)})
        else:
            sys.exit("soak_podman_api.py: unsupported podman run option '%s'" % opt)
    return spec


def main():
    if len(sys.argv) < 8:
        sys.exit(__doc__.split("\n\n")[1])
    sock, rootfs, prefix = sys.argv[1:4]
    first, count, parallel = (int(a) for a in sys.argv[4:7])
    out = sys.argv[7]
    base = spec_options(sys.argv[8:])
    lock = threading.Lock()
    failures = []
    next_index = [first]

    def note(path, line):
        with lock, open(os.path.join(out, path), "a") as f:
            f.write(line + "\n")

    def call(conn, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, "/v4.0.0/libpod" + path,
                     body=None if body is None else json.dumps(body), headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace").strip()

    def run_one(conn, i):
        name = "%s%d" % (prefix, i)
        spec = dict(base, name=name, rootfs=rootfs,
                    command=["renice", "-n", "-1", "-p", "1"],
                    cap_add=["SYS_NICE"], netns={"nsmode": "none"})
        status, text = call(conn, "POST", "/containers/create", spec)
        if status != 201:
            return "create %s: HTTP %d %s" % (name, status, text[:200])
        cid = json.loads(text)["Id"]
        note("ids.podman.api", cid)
        try:
            status, text = call(conn, "POST", "/containers/%s/start" % cid)
            if status != 204:
                return "start %s: HTTP %d %s" % (name, status, text[:200])
            status, text = call(conn, "POST", "/containers/%s/wait?condition=exited" % cid)
            if status != 200 or text != "0":
                return "wait %s: HTTP %d, exit status %s" % (name, status, text[:200])
        finally:
            status, text = call(conn, "DELETE", "/containers/%s?force=true" % cid)
            if status != 200:
                err = "remove %s: HTTP %d %s" % (name, status, text[:200])
                failures.append(err)
                note("worker.err", "podman API: " + err)
        return None

    def worker():
        conn = UnixHTTP(sock)
        while True:
            with lock:
                i = next_index[0]
                if i >= first + count:
                    return
                next_index[0] += 1
            try:
                err = run_one(conn, i)
            except (OSError, http.client.HTTPException, ValueError) as e:
                err = "container %d: %s" % (i, e)
                conn.close()
                conn = UnixHTTP(sock)
            if err:
                failures.append(err)
                note("worker.err", "podman API: " + err)
            note("done", str(i))

    threads = [threading.Thread(target=worker) for _ in range(max(1, parallel))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
