"""Running ``nodeconf run`` as a real process in tests, and waiting on what it logs.

``Daemon`` starts ``python -m nodeconf run --log-format json ...`` with its stderr on a pipe.
``wait_for(match)`` reads that pipe on the calling thread (``selectors``, no helper thread)
until a log record satisfies ``match`` or the bounding timeout passes; every record read is
kept in ``records`` for later assertions and for the failure message. Nothing sleeps: the
test wakes up when the daemon writes.

``kubelet_dir`` / ``kubelet_swap`` lay out and update a directory the way kubelet does for a
mounted ConfigMap (timestamped directory, ``..data`` symlink swapped atomically).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Daemon", "get", "kubelet_dir", "kubelet_swap", "pid_alive"]

#: Bound on any single wait for the daemon (only reached when something is broken).
WAIT_SECONDS = 30.0

Record = dict[str, Any]
_counter = itertools.count(2)


def kubelet_dir(root: Path, document: object, key: str = "colocation-config") -> Path:
    """Create ``root`` laid out like a mounted ConfigMap holding ``document``."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = root / "..2026_01_01_00_00_00.000000001"
    stamp.mkdir()
    (stamp / key).write_text(_text(document), encoding="utf-8")
    (root / "..data").symlink_to(stamp.name)
    (root / key).symlink_to(f"..data/{key}")
    return root


def kubelet_swap(root: Path, document: object, key: str = "colocation-config") -> None:
    """Replace the document the way kubelet does: new directory, atomic ``..data`` swap."""
    old = os.readlink(root / "..data")
    stamp = root / f"..2026_01_01_00_00_00.{next(_counter):09d}"
    stamp.mkdir()
    (stamp / key).write_text(_text(document), encoding="utf-8")
    tmp = root / "..data_tmp"
    tmp.symlink_to(stamp.name)
    os.rename(tmp, root / "..data")
    for child in (root / old).iterdir():
        child.unlink()
    (root / old).rmdir()


def _text(document: object) -> str:
    return document if isinstance(document, str) else json.dumps(document, indent=2)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def get(address: tuple[str, int], path: str) -> tuple[int, str]:
    """GET ``path`` from the daemon's status server: (status, body)."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class Daemon:
    """One ``nodeconf run`` process. Use as a context manager: leaving it kills a daemon that
    is still running (a test that wants a clean exit calls ``terminate`` itself)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.argv = [sys.executable, "-m", "nodeconf", "run", "--log-format", "json", *args]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.records: list[Record] = []
        self.raw: list[str] = []
        self._buffer = b""
        self._cursor = 0  # records before this index were already matched or skipped
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Daemon:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT_SECONDS)
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    # -- reading the log ------------------------------------------------------------------

    def _read_some(self, deadline: float) -> bool | None:
        """Read what the daemon wrote (waiting until ``deadline``): True when something was
        read, False at end of file, None at the deadline."""
        assert self.proc is not None
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            if not selector.select(max(0.0, deadline - time.monotonic())):
                return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            text = line.decode(errors="replace")
            self.raw.append(text)
            try:
                record = json.loads(text)
            except ValueError:
                record = {"message": text, "level": "RAW"}
            self.records.append(record if isinstance(record, dict) else {"message": text})
        return True

    def wait_for(
        self, match: str | Callable[[Record], bool], timeout: float = WAIT_SECONDS
    ) -> Record:
        """The next record (after the previous match) whose message contains ``match`` (or
        that satisfies it); fails the test with the log so far when none comes in time."""
        predicate = match if callable(match) else (lambda r: match in str(r.get("message")))
        deadline = time.monotonic() + timeout
        while True:
            while self._cursor < len(self.records):
                record = self.records[self._cursor]
                self._cursor += 1
                if predicate(record):
                    return record
            if not self._read_some(deadline):  # end of file or deadline
                log = "\n".join(self.raw[-40:])
                raise AssertionError(f"daemon never logged {match!r}; its log:\n{log}")

    def read_to_end(self, timeout: float = WAIT_SECONDS) -> None:
        """Read the log until every writer closed it: the daemon exited and so did every
        process it started (they inherit its output), else fail."""
        deadline = time.monotonic() + timeout
        while (more := self._read_some(deadline)) is not False:
            if more is None:
                raise AssertionError("the daemon or a process it started kept running")

    def messages(self) -> list[str]:
        return [str(r.get("message")) for r in self.records]

    # -- status server and signals ----------------------------------------------------------

    def status_address(self) -> tuple[str, int]:
        """Wait for the status server's log line and return its (host, port)."""
        record = self.wait_for("status server listening on http://")
        host, port = str(record["message"]).rsplit("http://", 1)[1].rsplit(":", 1)
        return host, int(port)

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = WAIT_SECONDS) -> int:
        """Send ``sig``, read the log to its end, and return the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.read_to_end(timeout)
        return self.proc.wait(timeout)
