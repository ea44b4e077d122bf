"""A ``nodeconf run`` child process for the benchmarks: start it, wait for a log line, read its
peak RSS, stop it.

The daemon's log (stderr) is drained by one reader thread for the whole life of the process,
so a daemon that logs a lot never blocks on a full pipe; waiting for a line is a wait on a
condition, never a sleep.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

__all__ = ["Daemon", "proc_status_kib"]

_LISTENING = re.compile(rb"status server listening on http://([0-9.]+):(\d+)")
#: Log bytes kept (the head, for the port and the markers; a few MiB of warnings are dropped).
_KEEP_BYTES = 256 * 1024


def proc_status_kib(pid: int, field: str) -> int:
    """``field`` (``VmHWM``, ``VmRSS``) of ``/proc/<pid>/status``, KiB; ``Threads`` as a count."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class Daemon:
    """``python -m nodeconf run ARGS --status-addr 127.0.0.1:0``, its log drained on a thread."""

    def __init__(self, args: Sequence[str]) -> None:
        argv = [sys.executable, "-m", "nodeconf", "run", *args, "--status-addr", "127.0.0.1:0"]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        self._cond = threading.Condition()
        self._log = bytearray()  # guarded by _cond
        self._log_bytes = 0  # guarded by _cond
        self._eof = False  # guarded by _cond
        self._seen: dict[bytes, float] = {}  # marker -> perf_counter when first seen
        self._markers: tuple[bytes, ...] = ()
        self._reader = threading.Thread(target=self._drain, name="bench-daemon-log")
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        tail = b""
        while chunk := os.read(fd, 1 << 16):
            now = time.perf_counter()
            with self._cond:
                self._log_bytes += len(chunk)
                if len(self._log) < _KEEP_BYTES:
                    self._log += chunk[: _KEEP_BYTES - len(self._log)]
                window = tail + chunk
                for marker in self._markers:
                    if marker not in self._seen and marker in window:
                        self._seen[marker] = now
                tail = window[-512:]
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for(self, *markers: bytes, timeout: float = 120.0) -> tuple[bytes, float]:
        """The first of ``markers`` the log shows and the seconds from start to it."""
        with self._cond:
            self._markers = tuple({*self._markers, *markers})
            for marker in markers:  # already in the kept head?
                if marker not in self._seen and marker in self._log:
                    self._seen[marker] = time.perf_counter()

            def found() -> bool:
                return self._eof or any(m in self._seen for m in markers)

            if not self._cond.wait_for(found, timeout):
                raise RuntimeError(f"daemon did not log any of {markers} in {timeout:g} s")
            hits = sorted((self._seen[m], m) for m in markers if m in self._seen)
            if not hits:
                raise RuntimeError(f"daemon exited early:\n{self.log_head()}")
            return hits[0][1], hits[0][0] - self.started

    def status_address(self) -> tuple[str, int]:
        """The status server's address, from its log line."""
        self.wait_for(b"status server listening on")
        with self._cond:
            match = _LISTENING.search(bytes(self._log))
        if match is None:
            raise RuntimeError("no status address in the log")
        return match.group(1).decode(), int(match.group(2))

    def log_head(self) -> str:
        with self._cond:
            return bytes(self._log[:4000]).decode(errors="replace")

    def log_bytes(self) -> int:
        with self._cond:
            return self._log_bytes

    def stop(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM, wait; ``(exit code, seconds from the signal to the exit)``."""
        t0 = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        elapsed = time.perf_counter() - t0
        self._reader.join()
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code, elapsed
