"""The daemon's built-in listeners, for agents written in any language.

* ``WriteEffective(path)`` (``--write-effective PATH``): writes the effective config as JSON,
  atomically: a temporary file in the same directory, fsync, mode 0644, rename over ``path``,
  fsync of the directory. A reader sees the old file or the new one, never a partial one.
* ``ExecHook(argv, timeout_seconds)`` (``--exec CMD [ARG...]``): runs ``argv`` (no shell) in a
  new process group with the effective config as JSON on stdin and ``NODECONF_REVISION`` and
  ``NODECONF_CHANGED_SECTIONS`` (comma separated) in the environment. A non-zero exit, a
  failure to start, or running past ``timeout_seconds`` raises, so the manager retries this
  listener with backoff; at the timeout the whole process group is killed first. The hook's
  stdout and stderr are the daemon's.

Thread-safety: the manager calls one listener one call at a time; state touched by
``sync_config`` is owned by that calling thread, except ``ExecHook._running`` which is guarded
by ``ExecHook._lock`` so ``kill_running()`` may be called from any thread (the daemon calls it
after a stop that timed out).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodeconf.manager.listeners import Change
    from nodeconf.model.seam import EffectiveConfig

__all__ = ["ExecHook", "HookError", "WriteEffective", "effective_json", "write_atomically"]

_log = logging.getLogger("nodeconf.daemon")


def effective_json(config: Any) -> bytes:
    """The effective config as pretty JSON bytes, ending with a newline."""
    return (json.dumps(config.to_json(), indent=2) + "\n").encode()


def write_atomically(path: str, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically and durably (see the module docstring)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class WriteEffective:
    """Listener: write each effective config to ``path`` (atomic, mode 0644).

    Thread-safety: stateless apart from its constructor arguments.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"write-effective:{path}"

    def sync_config(self, config: Any) -> None:
        write_atomically(self.path, effective_json(config))


class HookError(RuntimeError):
    """The ``--exec`` hook exited non-zero, could not start, or timed out.

    Thread-safety: immutable after construction.
    """


class ExecHook:
    """Listener: run a command with the effective config on stdin.

    The manager passes a ``Change`` beside the config; its revision and sections (what changed
    since this hook's own last successful run) become ``NODECONF_REVISION`` and
    ``NODECONF_CHANGED_SECTIONS``.

    Thread-safety: see the module docstring.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout_seconds: float,
    ) -> None:
        if not argv:
            raise ValueError("ExecHook needs a command")
        self.argv = tuple(argv)
        self.timeout_seconds = timeout_seconds
        self.name = f"exec:{os.path.basename(self.argv[0])}"
        self._lock = threading.Lock()
        self._running: subprocess.Popen[bytes] | None = None  # guarded by _lock

    def sync_config(self, config: EffectiveConfig, change: Change[Any]) -> None:
        env = dict(os.environ)
        env["NODECONF_REVISION"] = str(change.revision)
        env["NODECONF_CHANGED_SECTIONS"] = ",".join(sorted(change.sections))
        try:
            proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, env=env, start_new_session=True
            )
        except OSError as exc:
            raise HookError(f"{self.argv[0]}: cannot start: {exc.strerror or exc}") from exc
        with self._lock:
            self._running = proc
        try:
            try:
                proc.communicate(effective_json(config), timeout=self.timeout_seconds)
            except subprocess.TimeoutExpired:
                self._kill_group(proc)
                raise HookError(
                    f"{self.argv[0]}: timed out after {self.timeout_seconds:g}s "
                    "(process group killed)"
                ) from None
        finally:
            with self._lock:
                self._running = None
        if proc.returncode != 0:
            raise HookError(f"{self.argv[0]}: {_describe_exit(proc.returncode)}")

    def kill_running(self) -> bool:
        """Kill the hook's process group if a hook is running; True if one was."""
        with self._lock:
            proc = self._running
        if proc is None:
            return False
        self._kill_group(proc)
        return True

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own
            os.killpg(proc.pid, signal.SIGKILL)  # the hook ran in its own session/group
        proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"
