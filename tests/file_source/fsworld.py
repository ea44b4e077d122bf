"""Test kit for the file source: real files written the way real writers write them.

* ``kubelet_write(directory, files)`` mimics kubelet's ``AtomicWriter.Write`` step by step: a
  new timestamped directory ``..YYYY_MM_DD_HH_MM_SS.<random>`` with the payload, a
  ``..data_tmp`` symlink to it renamed over ``..data`` (the one atomic step), user-visible
  ``key -> ..data/key`` symlinks created when missing, old keys' links removed, and the old
  timestamped directory removed last.
* ``write_in_place`` (open with truncate, write in pieces, close), ``rename_over`` (write a
  temporary file beside, rename it over), ``json_doc`` (a small valid document).
* ``inotify_watched_inodes()``: the inode of every directory this process's inotify instances
  watch in full, as the kernel sees them (``/proc/self/fdinfo``): no book-keeping of ours
  involved; ``inotify_watched_inodes(guards=True)``: those watched for their own removal or
  renaming only (no entry events in their mask); ``within=dir`` counts only ``dir`` and the
  directories below it.
* ``OutcomeRecorder``: an outcome sink for a real ``ConfigManager`` that records outcomes.
* ``RecordingContext``: a thread-safe ``SourceContext`` that records every ``notify`` with the
  source's snapshot at that moment, and every ``report``; ``wait_for`` blocks on a condition
  until a predicate holds (event-driven; the timeout only bounds a failure).

Thread-safety: ``RecordingContext`` is safe from any thread; ``_cond`` guards its lists.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nodeconf.manager.outcomes import Outcome
from nodeconf.manager.source import SourceEvent, SourceState
from nodeconf.sources.file import FileSource
from nodeconf.sources.file.inotify import IN_CREATE

__all__ = [
    "WAIT_SECONDS",
    "Notified",
    "OutcomeRecorder",
    "RecordingContext",
    "StartSource",
    "inode",
    "inotify_watched_inodes",
    "json_doc",
    "kubelet_write",
    "rename_over",
    "write_in_place",
]

#: Bound on every wait for an event that must happen (a failure bound, not a delay).
WAIT_SECONDS = 10.0
#: How long a test observes that something does *not* happen.
OBSERVE_SECONDS = 0.3


def json_doc(cpu_high: int = 80, **extra: object) -> str:
    """A small valid colocation document whose CPU high watermark is ``cpu_high``."""
    evicting = {"evictingCPUHighWatermark": cpu_high, "evictingCPULowWatermark": 30}
    return json.dumps({"globalConfig": {"evictingConfig": evicting, **extra}}, indent=2)


def kubelet_write(directory: str | os.PathLike[str], files: Mapping[str, str | bytes]) -> str:
    """Publish ``files`` into ``directory`` exactly as kubelet updates a ConfigMap volume.

    Returns the new timestamped directory's name.
    """
    target = os.fspath(directory)
    os.makedirs(target, exist_ok=True)
    data_link = os.path.join(target, "..data")
    old_ts = os.readlink(data_link) if os.path.islink(data_link) else None
    old_keys = set(os.listdir(os.path.join(target, old_ts))) if old_ts else set()
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    ts_dir = tempfile.mkdtemp(prefix=stamp, dir=target)
    os.chmod(ts_dir, 0o755)
    for key, content in files.items():
        path = os.path.join(ts_dir, key)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        os.chmod(path, 0o644)
    tmp_link = os.path.join(target, "..data_tmp")
    os.symlink(os.path.basename(ts_dir), tmp_link)
    os.rename(tmp_link, data_link)  # the atomic step
    for key in files:
        visible = os.path.join(target, key)
        if not os.path.lexists(visible):
            os.symlink(os.path.join("..data", key), visible)
    for key in old_keys - set(files):
        os.unlink(os.path.join(target, key))
    if old_ts:
        shutil.rmtree(os.path.join(target, old_ts))
    return os.path.basename(ts_dir)


def write_in_place(path: str | os.PathLike[str], text: str, *, pieces: int = 3) -> None:
    """Truncate and rewrite ``path`` in place, in ``pieces`` writes, then close it."""
    with open(path, "w", encoding="utf-8") as f:
        step = max(1, len(text) // pieces)
        for i in range(0, len(text), step):
            f.write(text[i : i + step])
            f.flush()


def rename_over(path: str | os.PathLike[str], text: str) -> None:
    """Write a temporary file beside ``path`` and rename it over ``path`` (what editors do)."""
    target = os.fspath(path)
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.swp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, target)


def inode(path: str | os.PathLike[str]) -> int:
    """``path``'s inode number (symlinks followed)."""
    return os.stat(path).st_ino


def inotify_watched_inodes(
    *, guards: bool = False, within: str | os.PathLike[str] | None = None
) -> list[int]:
    """The inode of every watch of every inotify instance of this process, sorted, with
    repeats (one entry per watch descriptor), read from ``/proc/self/fdinfo``: the full
    watches (their mask has ``IN_CREATE``), or with ``guards=True`` the others. With
    ``within``, only the watches of that directory and the directories below it count, so
    that an instance that another part of the process has open (another test's, still being
    closed) cannot change the answer."""
    mine = None if within is None else _directory_inodes(within)
    inodes: list[int] = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                lines = info.read().splitlines()
        except OSError:  # closed meanwhile (the listing's own fd, or another test's)
            continue
        for line in lines:
            if line.startswith("inotify wd:"):
                fields = dict(f.split(":", 1) for f in line.split()[1:] if ":" in f)
                full = bool(int(fields["mask"], 16) & IN_CREATE)
                ino = int(fields["ino"], 16)
                if full != guards and (mine is None or ino in mine):
                    inodes.append(ino)
    return sorted(inodes)


def _directory_inodes(top: str | os.PathLike[str]) -> set[int]:
    found = {os.stat(top).st_ino}
    for parent, dirs, _files in os.walk(top):
        found.update(os.stat(os.path.join(parent, d)).st_ino for d in dirs)
    return found


@dataclass(frozen=True)
class Notified:
    """One ``notify`` call: the key, and the source's snapshot when it was made."""

    key: str
    state: SourceState | None


class RecordingContext:
    """A ``SourceContext`` that records what a source tells it.

    ``source`` (set after constructing the source) lets ``notify`` record the snapshot the
    manager would read. ``keys`` is what ``label_keys()`` answers.

    Thread-safety: every method is safe from any thread; ``_cond`` guards the records.
    """

    def __init__(self, keys: frozenset[str] = frozenset()) -> None:
        self.keys = keys
        self.source: object | None = None
        self._cond = threading.Condition()
        self._notified: list[Notified] = []  # guarded by _cond
        self._events: list[SourceEvent] = []  # guarded by _cond
        self._threads: set[str] = set()  # guarded by _cond: names of threads that called us

    def notify(self, key: str) -> None:
        snapshot = getattr(self.source, "snapshot", None)
        state = snapshot() if snapshot is not None else None
        with self._cond:
            self._notified.append(Notified(key, state))
            self._threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def label_keys(self) -> frozenset[str]:
        return self.keys

    def report(self, event: SourceEvent) -> None:
        with self._cond:
            self._events.append(event)
            self._threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def notified(self, key: str | None = None) -> list[Notified]:
        with self._cond:
            return [n for n in self._notified if key is None or n.key == key]

    def events(self, kind: str | None = None) -> list[SourceEvent]:
        with self._cond:
            return [e for e in self._events if kind is None or e.kind == kind]

    def caller_threads(self) -> set[str]:
        with self._cond:
            return set(self._threads)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
        """Block until ``predicate()`` holds (re-checked on every notify/report)."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_notified(self, key: str, count: int = 1, timeout: float = WAIT_SECONDS) -> bool:
        return self.wait_for(lambda: len(self.notified(key)) >= count, timeout)

    def wait_event(self, kind: str, count: int = 1, timeout: float = WAIT_SECONDS) -> bool:
        return self.wait_for(lambda: len(self.events(kind)) >= count, timeout)

    def observe_quiet(self, seconds: float = OBSERVE_SECONDS) -> int:
        """Watch for ``seconds`` (a deliberate "nothing happens" observation); return how
        many records arrived meanwhile."""
        with self._cond:
            before = len(self._notified) + len(self._events)
            self._cond.wait_for(
                lambda: len(self._notified) + len(self._events) > before, seconds
            )  # observing
            return len(self._notified) + len(self._events) - before


class OutcomeRecorder:
    """An ``OutcomeSink`` that records every outcome and lets a test wait for one.

    Thread-safety: safe from any thread; ``_cond`` guards ``_outcomes``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._outcomes: list[Outcome] = []  # guarded by _cond

    def emit(self, outcome: Outcome) -> None:
        with self._cond:
            self._outcomes.append(outcome)
            self._cond.notify_all()

    def outcomes(self, kind: str | None = None) -> list[Outcome]:
        with self._cond:
            return [o for o in self._outcomes if kind is None or o.kind == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = WAIT_SECONDS) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.outcomes(kind)) >= count, timeout)


#: The ``start_source`` fixture's type (see ``conftest.py``).
StartSource = Callable[..., tuple[FileSource, RecordingContext]]
