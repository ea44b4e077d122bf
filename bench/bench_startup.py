"""Start-up benchmark (issue 5): process start to first applied config, and import cost.

Measured, each as the median of several runs, next to floors measured in the same run:

* ``python -c pass``: the interpreter's own start (the floor for anything below);
* ``import nodeconf``: a process that only imports the package (the public door stays light:
  no YAML, Prometheus, inotify_simple or lightkube);
* ``nodeconf run`` to first applied config: ``python -m nodeconf run --source file`` on a
  kubelet-style directory with ``--write-effective`` and the status server on a free port,
  from ``Popen`` until the daemon logs that the ``write-effective`` listener applied revision
  1 (the file is written before that line; the bench checks it exists). Target <= 400 ms.

The daemon's log is read from its pipe with ``selectors`` (no sleeps); each daemon is stopped
with SIGTERM and must exit 0.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._report import Result

__all__ = ["run"]

BENCH = "startup"
TARGET_SECONDS = 0.400
HEAVY = ("yaml", "prometheus_client", "inotify_simple", "lightkube", "http.server")
DOCUMENT = {"globalConfig": {"cpuQosConfig": {"enable": True}}}
APPLIED = b"listener write-effective applied revision 1"


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=_env())
    return time.perf_counter() - t0


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def _kubelet_dir(root: Path) -> Path:
    stamp = root / "..2026_01_01_00_00_00.000000001"
    stamp.mkdir(parents=True)
    (stamp / "colocation-config").write_text(json.dumps(DOCUMENT), encoding="utf-8")
    (root / "..data").symlink_to(stamp.name)
    (root / "colocation-config").symlink_to("..data/colocation-config")
    return root


def _first_apply(workdir: Path, index: int) -> float:
    """Seconds from Popen to the daemon's log line saying revision 1 was written."""
    root = _kubelet_dir(workdir / f"cm{index}")
    out = workdir / f"effective{index}.json"
    argv = [sys.executable, "-m", "nodeconf", "run", "--source", "file", "--path", str(root)]
    argv += ["--write-effective", str(out), "--status-addr", "127.0.0.1:0"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_env()
    )
    assert proc.stdout is not None
    elapsed = None
    buffer = b""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            deadline = t0 + 30
            while elapsed is None:
                if not selector.select(max(0.0, deadline - time.perf_counter())):
                    raise RuntimeError("nodeconf run did not apply its first config in 30 s")
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError(f"nodeconf run exited early:\n{buffer.decode()}")
                buffer += chunk
                if APPLIED in buffer:
                    elapsed = time.perf_counter() - t0
        if not out.exists():
            raise RuntimeError("the effective file was not written")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"nodeconf run exited {proc.returncode} after SIGTERM")
    return elapsed


def _import_leaks() -> list[str]:
    code = f"import sys, nodeconf; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=_env()
    )
    return proc.stdout.split()


def run(quick: bool) -> list[Result]:
    rounds = 3 if quick else 11
    baseline, imports, starts = [], [], []
    with tempfile.TemporaryDirectory(prefix="nodeconf-bench-") as tmp:
        workdir = Path(tmp)
        for i in range(rounds):  # interleaved, so load hits all three alike
            baseline.append(_wall([sys.executable, "-c", "pass"]))
            imports.append(_wall([sys.executable, "-c", "import nodeconf"]))
            starts.append(_first_apply(workdir, i))
    floor = statistics.median(baseline)
    leaks = _import_leaks()
    first_apply = statistics.median(starts)
    return [
        Result(
            BENCH,
            "import nodeconf (process)",
            statistics.median(imports) * 1e3,
            "ms",
            baseline=floor * 1e3,
            baseline_name="python -c pass",
            target="no heavy import",
            met=not leaks,
            extra={"heavy modules imported": ", ".join(leaks) or "none"},
        ),
        Result(
            BENCH,
            "start -> first applied config (file)",
            first_apply * 1e3,
            "ms",
            baseline=floor * 1e3,
            baseline_name="python -c pass",
            target="<= 400 ms",
            met=first_apply <= TARGET_SECONDS,
            extra={
                "p90 ms": f"{sorted(starts)[int(0.9 * (len(starts) - 1))] * 1e3:.1f}",
                "rounds": str(rounds),
            },
        ),
    ]
