"""Memory benchmark (issue 14): the worst documents under the 1 MiB ConfigMap limit.

For each document below a ``nodeconf run --source file`` child process is started on it; the
bench waits until the daemon has applied it (``applied revision``) or rejected it (``document
invalid``), then sends four concurrent ``/status`` and four concurrent ``/metrics`` requests
and reads every body, then reads the child's peak RSS (``VmHWM`` in ``/proc/<pid>/status``) and
stops it with SIGTERM (it must exit 0).

Documents (each under 1 MiB; ``--quick`` builds them ten times smaller):

* ``empty-overrides``: 100,000 overrides ``{}`` (no selector: each is a warning);
* ``unknown-key``: 100,000 overrides ``{"x": 0}`` (two warnings each);
* ``wrong-type``: 30,000 overrides ``{"cpuQosConfig": {"enable": 1}}`` (an error each: rejected);
* ``selectors``: 12,000 overrides with a ``matchLabels`` selector and a value, the last matches;
* ``duplicate-keys``: 100,000 duplicated keys in ``globalConfig`` (a warning each);
* ``long-string``: a 1,000,000-character string under an unknown key;
* ``wide-object``: an unknown key holding an object of 80,000 keys;
* ``deep-nesting``: an unknown key holding arrays nested 900 deep (legal JSON);
* ``small`` (the baseline): the default-like document of one field.

Target: peak RSS below three quarters of the DaemonSet's memory limit (96 Mi), 72 MiB.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench._daemon import Daemon, proc_status_kib
from bench._report import Result

__all__ = ["run"]

BENCH = "memory"
LIMIT_MIB = 96
TARGET_MIB = LIMIT_MIB * 3 / 4
ACCEPTED = b"applied revision"
REJECTED = b"document invalid"


def _doc(tree: object) -> bytes:
    return json.dumps(tree, separators=(",", ":")).encode()


def _documents(scale: int) -> dict[str, Callable[[], bytes]]:
    n = 100_000 // scale
    return {
        "small": lambda: _doc({"globalConfig": {"cpuQosConfig": {"enable": True}}}),
        "empty-overrides": lambda: _doc({"globalConfig": {}, "nodesConfig": [{}] * n}),
        "unknown-key": lambda: _doc({"globalConfig": {}, "nodesConfig": [{"x": 0}] * n}),
        "wrong-type": lambda: _doc(
            {
                "globalConfig": {},
                "nodesConfig": [{"cpuQosConfig": {"enable": 1}}] * (30_000 // scale),
            }
        ),
        "selectors": lambda: _doc(
            {
                "globalConfig": {},
                "nodesConfig": [
                    {
                        "selector": {"matchLabels": {"node": f"n{i}"}},
                        "cpuQosConfig": {"enable": True},
                    }
                    for i in range(12_000 // scale)
                ],
            }
        ),
        "duplicate-keys": lambda: b'{"globalConfig":{' + b",".join([b'"x":0'] * n) + b"}}",
        "long-string": lambda: _doc({"globalConfig": {"x": "a" * (1_000_000 // scale)}}),
        "wide-object": lambda: _doc(
            {"globalConfig": {"x": {f"k{i}": 0 for i in range(80_000 // scale)}}}
        ),
        "deep-nesting": lambda: b'{"globalConfig":{"x":' + b"[" * 900 + b"]" * 900 + b"}}",
    }


def _get(address: tuple[str, int], path: str, sizes: list[int]) -> None:
    conn = http.client.HTTPConnection(*address, timeout=60)
    try:
        conn.request("GET", path)
        body = conn.getresponse().read()
        sizes.append(len(body))
    finally:
        conn.close()


def _concurrent(address: tuple[str, int]) -> tuple[float, int, int]:
    """Four /status and four /metrics at once: (seconds, /status bytes, /metrics bytes)."""
    status: list[int] = []
    metrics: list[int] = []
    threads = [
        threading.Thread(target=_get, args=(address, path, sizes))
        for path, sizes in (("/status", status), ("/metrics", metrics))
        for _ in range(4)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(status) != 4 or len(metrics) != 4:
        raise RuntimeError("a /status or /metrics request failed")
    return time.perf_counter() - t0, max(status), max(metrics)


def _measure(workdir: Path, name: str, text: bytes) -> Result:
    path = workdir / f"{name}.json"
    path.write_bytes(text)
    daemon = Daemon(["--source", "file", "--path", str(path), "--node-labels", "node=n0"])
    try:
        marker, seconds = daemon.wait_for(ACCEPTED, REJECTED)
        address = daemon.status_address()
        requests_s, status_bytes, metrics_bytes = _concurrent(address)
        hwm = proc_status_kib(daemon.pid, "VmHWM") / 1024
        rss = proc_status_kib(daemon.pid, "VmRSS") / 1024
    finally:
        code, _ = daemon.stop()
    if code != 0:
        raise RuntimeError(f"{name}: daemon exited {code}\n{daemon.log_head()}")
    return Result(
        BENCH,
        f"{name}: peak RSS (VmHWM)",
        hwm,
        "MiB",
        target=f"< {TARGET_MIB:g} MiB",
        met=hwm < TARGET_MIB,
        extra={
            "document KiB": f"{len(text) / 1024:.0f}",
            "verdict": "accepted" if marker == ACCEPTED else "rejected",
            "start -> verdict s": f"{seconds:.2f}",
            "RSS after MiB": f"{rss:.1f}",
            "4 /status + 4 /metrics s": f"{requests_s:.2f}",
            "/status bytes": str(status_bytes),
            "/metrics bytes": str(metrics_bytes),
            "log bytes": str(daemon.log_bytes()),
        },
    )


def run(quick: bool) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="nodeconf-bench-") as tmp:
        for name, build in _documents(10 if quick else 1).items():
            results.append(_measure(Path(tmp), name, build()))
    floor = results[0].value
    for r in results[1:]:
        r.baseline, r.baseline_name = floor, "small document"
    return results
