"""File source (issue 5): kubelet-style swap -> listener called; idle wake-ups; memory.

Latency. A directory laid out like a mounted ConfigMap is updated the way kubelet does it
(new timestamped directory, ``..data_tmp`` symlink renamed over ``..data``, old directory
removed). The clock starts just before the ``rename`` (the one atomic step: before it nothing
is visible) and stops when the consumer has the new content. Consumers, measured in the same
run, interleaved in rounds so machine noise hits them alike:

* ``floor``: a bare inotify loop (ctypes ``inotify_init1``/``inotify_add_watch``, a blocking
  ``read`` on a thread) that only re-reads the file: the floor of any inotify-based design;
* ``floor-handoff``: the same loop handing the text to a second thread, timed there: the floor
  of any design that, like nodeconf, never runs callbacks on the watching thread;
* ``nodeconf``: ``FileSource`` + ``ConfigManager`` with one listener (the listener call is the
  end): what issue 5 judges;
* ``source-only``: ``FileSource`` alone, until its ``notify`` (to see the manager's share);
* ``watchdog-observer``: watchdog's default ``Observer`` with a handler that re-reads the file
  (the design ``FileSource`` measured and chose not to use);
* ``watchfiles``: a default ``watchfiles.watch`` loop that re-reads the file (what many tools do).

The writer is a child process (kubelet is another process): a writer thread here would fight
the consumer for the GIL and measure that. ``time.monotonic`` is system-wide, so the child's
rename time and this process's arrival time are on one clock.

Idle. A child process runs just ``FileSource`` + ``ConfigManager`` on an unchanging directory
created directly in the (busy) temporary directory; its context switches (voluntary +
involuntary, from ``/proc/<pid>/task/*/status``, per thread name) are counted over a window
(60 s; 5 s with ``quick``), next to a child running a default ``watchfiles`` loop. RSS of the
nodeconf child is compared with a bare Python child.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench._report import Result, percentile, round_ratios

__all__ = ["run"]

BENCH = "file"
KEY = "colocation-config"
SAMPLE_TIMEOUT_SECONDS = 5.0

# ---------------------------------------------------------------------------------------------
# the document and kubelet's swap


def _doc(value: int) -> str:
    evicting = {"evictingCPUHighWatermark": value, "evictingCPULowWatermark": 30}
    return json.dumps({"globalConfig": {"evictingConfig": evicting}}, indent=2)


def _swap(directory: str, text: str) -> float:
    """Publish ``text`` kubelet-style; return ``time.monotonic()`` just before the rename."""
    data_link = os.path.join(directory, "..data")
    old = os.readlink(data_link) if os.path.islink(data_link) else None
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    ts_dir = tempfile.mkdtemp(prefix=stamp, dir=directory)
    os.chmod(ts_dir, 0o755)
    with open(os.path.join(ts_dir, KEY), "w", encoding="utf-8") as f:
        f.write(text)
    tmp_link = os.path.join(directory, "..data_tmp")
    os.symlink(os.path.basename(ts_dir), tmp_link)
    t0 = time.monotonic()
    os.rename(tmp_link, data_link)
    visible = os.path.join(directory, KEY)
    if not os.path.lexists(visible):
        os.symlink(os.path.join("..data", KEY), visible)
    if old:
        shutil.rmtree(os.path.join(directory, old))
    return t0


# ---------------------------------------------------------------------------------------------
# consumers: start(directory, arrived) -> stop; arrived(text) is called with the new content


Arrived = Callable[..., None]  # (text, at=None): ``at`` is when it arrived, default now
Stop = Callable[[], None]


def _read(directory: str) -> str:
    with open(os.path.join(directory, KEY), encoding="utf-8") as f:
        return f.read()


def _start_floor(directory: str, arrived: Arrived) -> Stop:
    libc = ctypes.CDLL(None, use_errno=True)
    in_cloexec, in_moved_to, in_close_write, in_create = 0o2000000, 0x80, 0x08, 0x100
    fd = libc.inotify_init1(in_cloexec)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    mask = in_moved_to | in_close_write | in_create
    if libc.inotify_add_watch(fd, directory.encode(), mask) < 0:
        raise OSError(ctypes.get_errno(), "inotify_add_watch")
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            buf = os.read(fd, 65536)
            offset, relevant = 0, False
            while offset < len(buf):
                _, _, _, length = struct.unpack_from("iIII", buf, offset)
                name = buf[offset + 16 : offset + 16 + length].rstrip(b"\0")
                offset += 16 + length
                relevant = relevant or name in (b"..data", KEY.encode())
            if relevant:
                arrived(_read(directory))

    thread = threading.Thread(target=loop, name="bench-floor")
    thread.start()

    def stop() -> None:
        stopping.set()
        open(os.path.join(directory, ".wake"), "w").close()  # an event wakes the read
        thread.join()
        os.close(fd)

    return stop


def _start_floor_handoff(directory: str, arrived: Arrived) -> Stop:
    """The floor plus one thread hand-off: the inotify thread re-reads the file and hands the
    text to a consumer thread (``queue.SimpleQueue``), which is "called". Any design that
    keeps the callbacks off the watching thread (nodeconf's manager does) pays this hop."""
    import queue

    handed: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def consume() -> None:
        while (text := handed.get()) is not None:
            arrived(text)

    consumer = threading.Thread(target=consume, name="bench-floor-consumer")
    consumer.start()
    stop_floor = _start_floor(directory, handed.put)

    def stop() -> None:
        stop_floor()
        handed.put(None)
        consumer.join()

    return stop


def _start_nodeconf(directory: str, arrived: Arrived) -> Stop:
    from nodeconf.manager import ConfigManager
    from nodeconf.sources.file import FileSource

    def listener(config: Any) -> None:
        at = time.monotonic()  # the listener is called: what follows is the bench's own work
        arrived(_doc(config.to_json()["evictingConfig"]["evictingCPUHighWatermark"]), at)

    manager = ConfigManager(FileSource(directory), [listener])
    manager.start(10.0)
    return lambda: _must(manager.stop(10.0).completed, "manager stop")


def _start_source_only(directory: str, arrived: Arrived) -> Stop:
    from nodeconf.manager.source import SourceEvent
    from nodeconf.sources.file import FileSource

    source = FileSource(directory)

    class Context:
        def notify(self, key: str) -> None:
            at = time.monotonic()
            document = source.snapshot().document
            arrived(document if isinstance(document, str) else "", at)

        def label_keys(self) -> frozenset[str]:
            return frozenset()

        def report(self, event: SourceEvent) -> None:
            return None

    source.start(Context())
    return lambda: _must(source.stop(10.0), "source stop")


def _start_watchdog_observer(directory: str, arrived: Arrived) -> Stop:
    import logging

    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    # Its emitter logs an error when the observer stops with an event still in flight (the
    # next round's directory removal): harmless here, and not nodeconf's output.
    logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            names = {os.path.basename(str(event.src_path)), os.path.basename(str(event.dest_path))}
            if "..data" in names or KEY in names:
                arrived(_read(directory))

    observer = Observer()
    observer.schedule(Handler(), directory, recursive=False)
    observer.start()

    def stop() -> None:
        observer.stop()
        observer.join()

    return stop


def _start_watchfiles(directory: str, arrived: Arrived) -> Stop:
    import watchfiles

    stopping = threading.Event()
    ready = threading.Event()

    def loop() -> None:
        watcher = watchfiles.watch(directory, stop_event=stopping, yield_on_timeout=True)
        ready.set()
        for _changes in watcher:
            if stopping.is_set():
                return
            arrived(_read(directory))

    thread = threading.Thread(target=loop, name="bench-watchfiles")
    thread.start()
    ready.wait(5)
    time.sleep(0.2)  # the Rust watcher arms after the first next(); let it

    def stop() -> None:
        stopping.set()
        thread.join()

    return stop


class _Writer:
    """The kubelet stand-in: a child process that performs swaps on request.

    Kubelet is another process: a writer in this process would compete with the consumer for
    the GIL and measure that instead. ``time.monotonic`` is system-wide, so the child's
    "just before the rename" and this process's "arrived" are on one clock.
    """

    def __init__(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-c", "from bench.bench_file import _writer_main; _writer_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )

    def swap(self, directory: str, value: int) -> float:
        assert self._child.stdin is not None
        assert self._child.stdout is not None
        self._child.stdin.write(f"{value} {directory}\n")
        self._child.stdin.flush()
        return float(self._child.stdout.readline())

    def close(self) -> None:
        assert self._child.stdin is not None
        assert self._child.stdout is not None
        self._child.stdin.close()
        self._child.wait(10)
        self._child.stdout.close()


def _writer_main() -> None:
    """The writer child: ``<value> <directory>`` per line in, the rename's time per line out."""
    for line in sys.stdin:
        value, directory = line.rstrip("\n").split(" ", 1)
        print(repr(_swap(directory, _doc(int(value)))), flush=True)


def _must(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"{what} did not complete")


@dataclass
class _Consumer:
    name: str
    start: Callable[[str, Arrived], Stop]
    samples_per_round: int
    latencies_ms: list[float]
    rounds_ms: list[list[float]] = field(default_factory=list)  # each round's samples


# ---------------------------------------------------------------------------------------------
# latency


class _Arrivals:
    """Times at which each content arrived (first arrival only). Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._at: dict[str, float] = {}  # guarded by _cond

    def arrived(self, text: str, at: float | None = None) -> None:
        t = time.monotonic() if at is None else at
        with self._cond:
            self._at.setdefault(text, t)
            self._cond.notify_all()

    def wait(self, text: str) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: text in self._at, SAMPLE_TIMEOUT_SECONDS):
                raise TimeoutError("the new content did not arrive")
            return self._at[text]


_values = iter(range(1000, 10**9))


def _measure(consumer: _Consumer, root: str, writer: _Writer, warmup: int = 3) -> None:
    directory = tempfile.mkdtemp(prefix=f"{consumer.name}-", dir=root)
    _swap(directory, _doc(next(_values)))
    arrivals = _Arrivals()
    stop = consumer.start(directory, arrivals.arrived)
    this_round: list[float] = []
    consumer.rounds_ms.append(this_round)
    try:
        for i in range(warmup + consumer.samples_per_round):
            value = next(_values)
            t0 = writer.swap(directory, value)
            t1 = arrivals.wait(_doc(value))
            if i >= warmup:
                consumer.latencies_ms.append((t1 - t0) * 1e3)
                this_round.append((t1 - t0) * 1e3)
    finally:
        stop()
        shutil.rmtree(directory)


def _latency(quick: bool) -> dict[str, _Consumer]:
    rounds = 3 if quick else 5
    fast = 20 if quick else 100
    slow = 5 if quick else 20
    consumers = [
        _Consumer("floor", _start_floor, fast, []),
        _Consumer("floor-handoff", _start_floor_handoff, fast, []),
        _Consumer("nodeconf", _start_nodeconf, fast, []),
        _Consumer("source-only", _start_source_only, fast, []),
        _Consumer("watchdog-observer", _start_watchdog_observer, fast, []),
        _Consumer("watchfiles", _start_watchfiles, slow, []),
    ]
    root = tempfile.mkdtemp(prefix="nodeconf-bench-file-")
    writer = _Writer()
    try:
        for _ in range(rounds):
            for consumer in consumers:
                gc.collect()
                _measure(consumer, root, writer)
    finally:
        writer.close()
        shutil.rmtree(root, ignore_errors=True)
    return {c.name: c for c in consumers}


# ---------------------------------------------------------------------------------------------
# idle wake-ups and memory, in child processes

_NODECONF_CHILD = """
import json, sys, threading
from nodeconf.manager import ConfigManager
from nodeconf.sources.file import FileSource
manager = ConfigManager(FileSource(sys.argv[1]), [lambda config: None])
manager.start(10.0)
names = {t.native_id: t.name for t in threading.enumerate()}
print("ready", json.dumps(names), flush=True)
sys.stdin.read()
sys.exit(0 if manager.stop(10.0).completed else 1)
"""

_WATCHFILES_CHILD = """
import sys, threading, watchfiles
stop = threading.Event()
print("ready", flush=True)
for _ in watchfiles.watch(sys.argv[1], stop_event=stop):
    pass
"""

_BARE_CHILD = """
import sys
print("ready", flush=True)
sys.stdin.read()
"""


def _switches(pid: int) -> dict[int, int]:
    """Context switches (voluntary + involuntary) per thread of ``pid``."""
    out: dict[int, int] = {}
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/status", encoding="ascii") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except FileNotFoundError:
            continue
        out[int(tid)] = int(fields["voluntary_ctxt_switches"]) + int(
            fields["nonvoluntary_ctxt_switches"]
        )
    return out


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class _Idle:
    switches: int
    per_thread: dict[str, int]  # thread name (or tid) -> context switches in the window
    rss_mib: float
    threads: int


def _idle_child(script: str, directory: str, window_seconds: float) -> _Idle:
    child = subprocess.Popen(
        [sys.executable, "-c", script, directory],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ready, _, names_json = child.stdout.readline().strip().partition(" ")
        if ready != "ready":
            raise RuntimeError("child did not start")
        names = {int(k): v for k, v in json.loads(names_json).items()} if names_json else {}
        time.sleep(0.5)  # settle: start-up work (first sync, first listener call) is not idle
        before = _switches(child.pid)
        time.sleep(window_seconds)  # the measurement window itself
        after = _switches(child.pid)
        rss = _rss_mib(child.pid)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.terminate()
            child.wait(15)
        if child.stdout is not None:
            child.stdout.close()
    per_thread = {names.get(tid, str(tid)): after[tid] - before.get(tid, 0) for tid in after}
    return _Idle(sum(per_thread.values()), per_thread, rss, len(after))


def _idle(quick: bool) -> tuple[_Idle, _Idle, _Idle, float]:
    window = 5.0 if quick else 60.0
    # Directly in the temporary directory: a busy parent (other programs create and delete
    # files there) must not wake the file source either.
    root = directory = tempfile.mkdtemp(prefix="nodeconf-bench-idle-")
    try:
        _swap(directory, _doc(80))
        nodeconf = _idle_child(_NODECONF_CHILD, directory, window)
        watchfiles = _idle_child(_WATCHFILES_CHILD, directory, window)
        bare = _idle_child(_BARE_CHILD, directory, 0.1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return nodeconf, watchfiles, bare, window


# ---------------------------------------------------------------------------------------------


def run(quick: bool) -> list[Result]:
    """Measure; see the module docstring."""
    consumers = _latency(quick)
    lat = {name: c.latencies_ms for name, c in consumers.items()}
    p50 = {name: percentile(samples, 50) for name, samples in lat.items()}
    p99 = {name: percentile(samples, 99) for name, samples in lat.items()}
    per_round = round_ratios(consumers["nodeconf"].rounds_ms, consumers["floor"].rounds_ms)
    floor50, floor99 = p50["floor"], p99["floor"]
    n = len(lat["nodeconf"])
    results = [
        Result(
            BENCH,
            "swap -> listener p50 (FileSource+ConfigManager)",
            p50["nodeconf"],
            "ms",
            baseline=floor50,
            baseline_name="bare inotify",
            # Issue 10's decision: <= 3x the floor plus one thread hand-off (the least any
            # design pays that never runs listeners on the watching thread), and below a bare
            # watchdog Observer handler in the same run.
            target="<= 1 ms, <= 3x (floor + hand-off), < watchdog Observer",
            met=p50["nodeconf"] <= 1.0
            and p50["nodeconf"] <= 3 * p50["floor-handoff"]
            and p50["nodeconf"] < p50["watchdog-observer"],
            extra={
                "samples": n,
                "p90 ms": round(percentile(lat["nodeconf"], 90), 4),
                "p50 ratio per round": per_round,
            },
        ),
        Result(
            BENCH,
            "swap -> listener p99 (FileSource+ConfigManager)",
            p99["nodeconf"],
            "ms",
            baseline=floor99,
            baseline_name="bare inotify",
            target="<= 10 ms",
            met=p99["nodeconf"] <= 10.0,
            extra={"max ms": round(max(lat["nodeconf"]), 4)},
        ),
        Result(
            BENCH,
            "swap -> listener p50, vs the floor plus one thread hand-off",
            p50["nodeconf"],
            "ms",
            baseline=p50["floor-handoff"],
            baseline_name="inotify + hand-off",
            extra={"hand-off p99 ms": round(p99["floor-handoff"], 4)},
        ),
        Result(
            BENCH,
            "swap -> notify p50 (FileSource alone)",
            p50["source-only"],
            "ms",
            baseline=floor50,
            baseline_name="bare inotify",
            extra={"p99 ms": round(p99["source-only"], 4)},
        ),
        Result(
            BENCH,
            "swap -> handler p50 (watchdog Observer)",
            p50["watchdog-observer"],
            "ms",
            baseline=floor50,
            baseline_name="bare inotify",
            extra={"p99 ms": round(p99["watchdog-observer"], 4)},
        ),
        Result(
            BENCH,
            "swap -> re-read p50 (default watchfiles loop)",
            p50["watchfiles"],
            "ms",
            baseline=floor50,
            baseline_name="bare inotify",
            extra={"p99 ms": round(p99["watchfiles"], 4), "samples": len(lat["watchfiles"])},
        ),
        Result(
            BENCH,
            "bare inotify floor p50 / p99",
            floor50,
            "ms",
            extra={"p99 ms": round(floor99, 4), "samples": len(lat["floor"])},
        ),
    ]
    nodeconf, watchfiles, bare, window = _idle(quick)
    results.append(
        Result(
            BENCH,
            f"idle context switches over {window:g} s (FileSource+ConfigManager)",
            nodeconf.switches,
            "count",
            baseline=watchfiles.switches,
            baseline_name="default watchfiles",
            target="0",
            met=nodeconf.switches == 0,
            extra={
                "default watchfiles switches": watchfiles.switches,
                "threads": nodeconf.threads,
                "per thread": " ".join(f"{t}={c}" for t, c in sorted(nodeconf.per_thread.items())),
            },
        )
    )
    results.append(
        Result(
            BENCH,
            "RSS of a FileSource+ConfigManager process",
            nodeconf.rss_mib,
            "MiB",
            baseline=bare.rss_mib,
            baseline_name="bare python",
            target="<= 30 MiB",
            met=nodeconf.rss_mib <= 30.0,
        )
    )
    return results
