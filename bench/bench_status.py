"""Status server benchmark (issue 14): load, slow clients, listen overflows, idle wake-ups.

A ``nodeconf run --source file`` child process serves a small document; then:

* ``wrk -t2 -c50`` on ``/metrics`` and on ``/status`` (requests/s, p50/p99, errors), while a
  thread calls ``/healthz`` on a fresh connection every 100 ms with a 1 s timeout (the
  kubelet's default probe timeout) and counts the calls that failed or were late;
* the kernel's ``TcpExtListenOverflows`` (``nstat -az``) before and after the load;
* 500 slow clients, each sending one byte of a request line every 2 s (so a per-read
  timeout never fires): the daemon's thread count while they are connected, and ``/healthz``
  from a fresh connection meanwhile;
* idle: the daemon's context switches (all threads) over a few seconds with nothing to do.

Targets: ``/healthz`` answers within 1 s during the load and behind the slow clients; the
thread count stays at the documented bound; no listen overflow; no idle wake-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench._daemon import Daemon, proc_status_kib
from bench._report import Result, percentile

__all__ = ["run"]

BENCH = "status"
SLOW_CLIENTS = 500
#: The documented bound on the daemon's threads (docs/operations.md, "Status server").
THREAD_BOUND = 16
DOCUMENT = {"globalConfig": {"cpuQosConfig": {"enable": True}}}


def _nstat(name: str) -> int:
    out = subprocess.run(["nstat", "-az", name], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0


def _healthz(address: tuple[str, int]) -> float | None:
    """Seconds for one ``/healthz`` on a fresh connection; None when it failed or took > 1 s."""
    t0 = time.perf_counter()
    try:
        with socket.create_connection(address, timeout=1.0) as s:
            s.settimeout(max(0.001, 1.0 - (time.perf_counter() - t0)))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return None
    elapsed = time.perf_counter() - t0
    return elapsed if data.startswith(b"HTTP/1.") and b" 200 " in data[:20] else None


class _Prober:
    """Calls ``/healthz`` every 100 ms on a fresh connection until stopped."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.samples: list[float | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-prober")

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append(_healthz(self.address))

    def __enter__(self) -> _Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> tuple[int, int, float]:
        ok = [s for s in self.samples if s is not None]
        return len(self.samples), len(self.samples) - len(ok), max(ok, default=float("nan"))


_WRK_LINE = re.compile(r"^\s+(50|99)\.000%\s+([\d.]+)(us|ms|s)\s*$")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _wrk(address: tuple[str, int], path: str, seconds: int) -> dict[str, float]:
    url = f"http://{address[0]}:{address[1]}{path}"
    argv = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", "--timeout", "5s", url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {"errors": 0.0}
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(line.split()[1])
        elif "Socket errors" in line:
            figures["errors"] += sum(int(n) for n in re.findall(r"\d+", line))
        elif "Non-2xx" in line:
            figures["errors"] += int(line.split()[-1])
        else:
            m = re.match(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", line)
            if m:
                figures[f"p{m.group(1)}"] = float(m.group(2)) * _UNIT[m.group(3)]
    return figures


def _threads(pid: int) -> int:
    return proc_status_kib(pid, "Threads")


def _ctx_switches(pid: int) -> dict[str, int]:
    """Context switches (voluntary and not) of each thread of ``pid``, by thread id."""
    counts: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
                counts[tid] = sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return counts


def _load(daemon: Daemon, address: tuple[str, int], path: str, seconds: int) -> list[Result]:
    before = _nstat("TcpExtListenOverflows")
    with _Prober(address) as prober:
        figures = _wrk(address, path, seconds)
    overflows = _nstat("TcpExtListenOverflows") - before
    calls, failed, worst = prober.summary()
    return [
        Result(
            BENCH,
            f"wrk -c50 {path}: requests/s",
            figures.get("rps", 0.0),
            "req/s",
            extra={
                "p50 ms": f"{figures.get('p50', float('nan')):.2f}",
                "p99 ms": f"{figures.get('p99', float('nan')):.2f}",
                "errors": f"{figures['errors']:.0f}",
                "listen overflows": str(overflows),
                "threads after": str(_threads(daemon.pid)),
            },
        ),
        Result(
            BENCH,
            f"/healthz during {path} load: failed or > 1 s",
            failed,
            "calls",
            target="0",
            met=failed == 0,
            extra={"calls": str(calls), "slowest ok ms": f"{worst * 1e3:.1f}"},
        ),
    ]


def _slow_clients(daemon: Daemon, address: tuple[str, int], hold_seconds: float) -> list[Result]:
    stop = threading.Event()
    clients: list[socket.socket] = []
    for _ in range(SLOW_CLIENTS):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(address)
        clients.append(s)
    request = b"GET /status HTTP/1.1\r\n"

    def trickle() -> None:
        sent = 0
        while not stop.is_set() and sent < len(request):
            for s in clients:
                try:
                    s.send(request[sent : sent + 1])
                except OSError:
                    continue
            sent += 1
            stop.wait(2.0)

    trickler = threading.Thread(target=trickle, name="bench-trickle")
    trickler.start()
    samples: list[float | None] = []
    peak_threads = 0
    deadline = time.perf_counter() + hold_seconds
    try:
        while time.perf_counter() < deadline:
            peak_threads = max(peak_threads, _threads(daemon.pid))
            samples.append(_healthz(address))
            stop.wait(0.25)
        peak_threads = max(peak_threads, _threads(daemon.pid))
    finally:
        stop.set()
        trickler.join()
        for s in clients:
            s.close()
    failed = sum(1 for s in samples if s is None)
    ok = [s for s in samples if s is not None]
    return [
        Result(
            BENCH,
            f"{SLOW_CLIENTS} slow clients: daemon threads (peak)",
            peak_threads,
            "threads",
            target=f"<= {THREAD_BOUND}",
            met=peak_threads <= THREAD_BOUND,
        ),
        Result(
            BENCH,
            f"{SLOW_CLIENTS} slow clients: /healthz failed or > 1 s",
            failed,
            "calls",
            target="0",
            met=failed == 0,
            extra={
                "calls": str(len(samples)),
                "p50 ms": f"{percentile(ok, 50) * 1e3:.1f}",
                "slowest ok ms": f"{max(ok, default=float('nan')) * 1e3:.1f}",
            },
        ),
    ]


def _idle(daemon: Daemon, seconds: float) -> Result:
    idle = threading.Event()
    idle.wait(2.0)  # let the start-up's last log lines and thread exits settle
    before = _ctx_switches(daemon.pid)
    idle.wait(seconds)
    after = _ctx_switches(daemon.pid)
    switches = sum(n - before.get(tid, 0) for tid, n in after.items())
    return Result(
        BENCH,
        f"idle {seconds:g} s: context switches",
        switches,
        "",
        target="0",
        met=switches == 0,
        extra={
            "threads": str(_threads(daemon.pid)),
            "RSS MiB": f"{proc_status_kib(daemon.pid, 'VmRSS') / 1024:.1f}",
        },
    )


def run(quick: bool) -> list[Result]:
    if shutil.which("wrk") is None or shutil.which("nstat") is None:
        raise RuntimeError("bench status needs wrk and nstat (apt-get install wrk iproute2)")
    seconds = 3 if quick else 10
    with tempfile.TemporaryDirectory(prefix="nodeconf-bench-") as tmp:
        path = Path(tmp) / "doc.json"
        path.write_text(json.dumps(DOCUMENT), encoding="utf-8")
        daemon = Daemon(["--source", "file", "--path", str(path), "--node-labels", "a=b"])
        try:
            daemon.wait_for(b"synced to every listener")  # start-up has ended
            address = daemon.status_address()
            results = [_idle(daemon, seconds)]
            results += _load(daemon, address, "/metrics", seconds)
            results += _load(daemon, address, "/status", seconds)
            results += _slow_clients(daemon, address, seconds)
        finally:
            code, stop_seconds = daemon.stop()
        results.append(
            Result(
                BENCH,
                "SIGTERM -> exit after the load",
                stop_seconds,
                "s",
                extra={"exit code": str(code), "log bytes": str(daemon.log_bytes())},
            )
        )
    return results
