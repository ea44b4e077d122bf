"""``FileSource``: the document and the node labels from files, followed live.

See the package docstring (``nodeconf.sources.file``) for what is followed and how; this
module holds the state machine that decides *when* to look at the files (at start, on an
inotify event, on a polling tick) and where to watch; what a look found and what it means
(changed, deleted, restored, unreadable, synced) is ``FileLooks``' (``looks.py``).

Fields and their guards:

* ``_phase`` - ``_phase_lock``: new -> running -> stopped.
* ``_work_lock`` (re-entrant) serialises every look at the file system, every change of the
  watched set and every call into the ``SourceContext``; it guards ``_closed``, ``_context``,
  ``_mode``, ``_watcher``, ``_poller``, ``_fallback_reported`` and every field of
  ``_looks``, whose methods run only under it. Two exceptions, both single
  reference loads: ``mode`` and ``alive`` read ``_mode``/``_watcher``/``_poller`` without it
  (a health probe must never wait behind a slow read), and ``stop`` sets ``_closed`` without
  it when the lock could not be had within its timeout (see ``stop``).
* ``_looks.state`` - an immutable ``SourceState`` replaced whole under ``_work_lock``;
  ``snapshot`` reads the reference without a lock (one atomic load), so the manager never
  waits on a read. ``_looks.errors_view`` likewise: a read-only copy of the last error per
  file, replaced whole under ``_work_lock`` whenever one changes, read lock-free by
  ``status_json``.
* ``_doc_location``/``_labels_location`` - immutable ``Location``s (where each file is, as
  the symlinks point) replaced whole under ``_work_lock`` by ``_arm_locked``, always *before*
  the watches they describe are added; ``_on_notice`` reads them without the lock (one
  atomic load each) to decide whether an event concerns us. Only the reader thread and
  ``start`` (before its first read) replace them, so the reader never judges an event by a
  stale location of its own making; one judged during ``start`` is covered by ``start``'s
  own first read.
* ``_looks.synced`` - a ``Latch`` (its own lock), set once; ``cancel`` releases
  ``wait_synced``.
* ``_snapshot_taken`` - a ``threading.Event`` (its own lock): cleared by ``_notify_locked``
  just before a notify, set by ``snapshot`` (any thread), by the reader at the start of each
  event and by ``stop``; only the reader waits on it (see below).

Context calls (``notify``, ``report``, ``label_keys``; ``_looks`` makes them through
``_notify_locked``, ``_report_locked`` and ``_label_keys_locked``) happen only under
``_work_lock`` and only while ``_closed`` is False; ``stop`` sets ``_closed`` under that lock,
so once ``stop`` has taken it, no context call can ever happen again.

Handling one inotify event (reader thread, ``_on_notice``): relevance is decided without the
lock (``notices.py``); the concerned files are read (and notified) first; then, when the event
can have moved a file (anything but ``IN_CLOSE_WRITE``/``IN_ATTRIB`` on its names, a directory
above it, a lost watch), both files are located again and the watches moved (``_arm_locked``);
when a directory was newly watched, both files are read once more: a change made there before
its watch existed produced no event. After a kubelet swap that is one re-arm (about ten system
calls) and one more read, after the notify. The manager's worker that the notify woke shares
the GIL with this work, and a thread making short system calls keeps re-taking the GIL from a
waiting one; so when this event notified, the reader first waits, without any lock, until the
consumer reads ``snapshot()`` (``_snapshot_taken``; at most ``_HANDOFF_TIMEOUT_SECONDS``,
which bounds a consumer that never reads it), and re-arms after. Events arriving meanwhile
wait in the kernel's queue; the second read covers a change in a directory not yet watched;
``stop`` sets the event so the wait never delays it. Like any read caused by an event other
than ``IN_CLOSE_WRITE``, the second read can meet an in-place writer half-way; the writer's
``IN_CLOSE_WRITE`` then brings the complete text (a partial JSON document is rejected by the
manager, which keeps the last valid config).

Thread-safety: see ``FileSource``.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from nodeconf.concurrency.clock import Clock, default_clock, seconds_left
from nodeconf.errors import LifecycleError
from nodeconf.manager.source import SourceContext, SourceEvent, SourceState
from nodeconf.sources.file.inotify import Notice
from nodeconf.sources.file.labels import check_labels
from nodeconf.sources.file.layout import (
    NOWHERE,
    FollowedFile,
    Location,
    absolute_path,
    check_key,
    content_only_dirs,
)
from nodeconf.sources.file.looks import FileLooks
from nodeconf.sources.file.notices import creates_file, relevance, unclosed_file
from nodeconf.sources.file.poller import Poller
from nodeconf.sources.file.watcher import DirectoryWatcher, WatchUnavailable

if TYPE_CHECKING:
    from nodeconf.model.seam import ConfigSchema

__all__ = ["DEFAULT_KEY", "FileSource"]

_log = logging.getLogger("nodeconf.sources.file")

#: The ConfigMap data key that holds the document (Volcano's).
DEFAULT_KEY = "colocation-config"
#: How many look-and-watch rounds one event may take while the tree keeps moving.
_MAX_ARM_ROUNDS = 8
#: How long, at most, the reader lets the notified consumer go first before re-arming (the
#: wait ends as soon as the consumer reads ``snapshot()``; this bounds one that never does).
_HANDOFF_TIMEOUT_SECONDS = 0.005

Mode = Literal["inotify", "polling"]


class _Phase(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


def _fresh_regular_file(notice: Notice, followed: FollowedFile, location: Location) -> bool:
    """An ``IN_CREATE`` of a new regular file where ``followed`` is (its name, or its real
    path behind symlinks) that its writer has not closed yet: not to be read now.

    The decision is ``notices.py``'s; this does the ``lstat``s it needs, only for an
    ``IN_CREATE`` (this runs before every read an event causes).
    """
    if not creates_file(notice):
        return False
    for path in (followed.current_file(), location.file):
        if path not in notice.paths:
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if unclosed_file(st):
            return True
    return False


class FileSource:
    """A ``Source`` that follows a document file and, optionally, a labels file.

    ``path`` is a directory laid out like a mounted ConfigMap (the document is the file named
    ``key`` in it; kubelet's ``..data`` symlink swap is followed) or the document file itself.
    ``node_labels`` are fixed labels; ``labels_file`` holds ``key=value`` lines (see
    ``nodeconf.sources.file.labels``) and is followed live; for a key in both,
    ``node_labels`` wins. ``clock`` and ``poll_interval_seconds`` drive the polling fallback,
    used when inotify is unavailable or a watch cannot be added, or always with
    ``force_polling=True``.

    Neither path has to exist at start: the source waits for them (a missing document is
    "no document": the defaults apply). A document that disappears later keeps its last text
    in ``snapshot()`` (last-known-good stays) and is reported as ``document-deleted``; its
    return is reported as ``document-restored``.

    Raises ``ValueError`` for a bad ``key``, ``poll_interval_seconds`` or label.

    Thread-safety: ``snapshot``, ``wait_synced``, ``mode``, ``alive``, ``status_json`` and
    ``cancel`` are safe from any thread at any time (none of them waits for a look at the
    files); ``prepare``, ``start`` and ``stop`` are for the owner (the manager), ``stop`` being
    idempotent and safe from any thread. ``stop``
    must not be called while holding a lock that the context's ``notify``/``report`` take.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: str = DEFAULT_KEY,
        node_labels: Mapping[str, str] | None = None,
        labels_file: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        poll_interval_seconds: float = 1.0,
        force_polling: bool = False,
    ) -> None:
        check_key(key)
        if not (poll_interval_seconds > 0 and math.isfinite(poll_interval_seconds)):
            raise ValueError(f"poll_interval_seconds must be > 0, got {poll_interval_seconds!r}")
        self._document = FollowedFile(absolute_path(path), key)
        self._labels_file = FollowedFile(absolute_path(labels_file)) if labels_file else None
        self._static_labels = check_labels(node_labels or {})
        self._clock = clock if clock is not None else default_clock()
        self._poll_interval_seconds = float(poll_interval_seconds)
        self._force_polling = force_polling

        self._phase_lock = threading.Lock()
        self._phase = _Phase.NEW  # guarded by _phase_lock

        self._work_lock = threading.RLock()
        self._closed = False  # guarded by _work_lock
        self._context: SourceContext | None = None  # guarded by _work_lock
        self._mode: Mode | None = None  # guarded by _work_lock (read without it by `mode`)
        self._watcher: DirectoryWatcher | None = None  # guarded by _work_lock
        self._poller: Poller | None = None  # guarded by _work_lock
        self._fallback_reported = False  # guarded by _work_lock
        # Replaced whole under _work_lock, read lock-free by _on_notice (module docstring).
        self._doc_location: Location = NOWHERE
        self._labels_location: Location = NOWHERE
        # Its methods run under _work_lock; its state and errors_view are read lock-free.
        self._looks = FileLooks(
            self._document,
            self._labels_file,
            self._static_labels,
            notify=self._notify_locked,
            report=self._report_locked,
            label_keys=self._label_keys_locked,
        )
        # Set by snapshot() (any thread) and by the reader; cleared just before a notify. The
        # reader waits on it before re-arming after a notify (see _on_notice).
        self._snapshot_taken = threading.Event()
        self._snapshot_taken.set()

    def __repr__(self) -> str:
        labels = f", labels_file={self._labels_file.root!r}" if self._labels_file else ""
        return f"FileSource({self._document.root!r}, key={self._document.key!r}{labels})"

    # -- Source protocol ----------------------------------------------------------------------

    def prepare(self, schema: ConfigSchema, timeout: float | None) -> None:
        """Nothing to prepare: a file source never writes the document (mounts are read-only)."""
        return None

    def start(self, context: SourceContext) -> None:
        """Arm the watches (or the poller) and read both files once; returns promptly.

        Raises ``LifecycleError`` when called twice or after ``stop``.
        """
        with self._phase_lock:
            if self._phase is not _Phase.NEW:
                raise LifecycleError(f"FileSource.start: already {self._phase.value}")
            self._phase = _Phase.RUNNING
        try:
            with self._work_lock:
                self._context = context
                if self._force_polling:
                    self._start_polling_locked("polling was asked for (force_polling)")
                else:
                    watcher = DirectoryWatcher(self._on_notice)
                    try:
                        watcher.start()
                    except WatchUnavailable as exc:
                        self._start_polling_locked(str(exc))
                    else:
                        self._watcher = watcher
                        self._mode = "inotify"
                        self._arm_locked()  # may fall back to polling
                self._looks.refresh_document_locked(initial=True)
                self._looks.refresh_labels_locked(initial=True)
        except BaseException:
            self.stop(5.0)  # leave no thread behind, then let the caller see the error
            raise

    def wait_synced(self, timeout: float | None) -> bool:
        """True once both files were looked at successfully (present or confirmed absent).

        An unreadable file (permission, not a regular file) or an invalid labels file keeps
        the source unsynced until it is fixed; the problem is reported as ``source-error``.
        """
        return self._looks.synced.wait(timeout)

    def cancel(self) -> None:
        """Make a ``wait_synced`` in progress return now, and every later one at once (the
        manager calls this when it is stopped during ``start()``). Never blocks."""
        self._looks.synced.cancel()

    def snapshot(self) -> SourceState:
        """The latest state; never blocks."""
        state = self._looks.state
        taken = self._snapshot_taken
        if not taken.is_set():  # the notified consumer's turn has begun (see _on_notice)
            taken.set()
        return state

    def stop(self, timeout: float | None) -> bool:
        """Stop watching: afterwards no ``notify`` or ``report`` happens. Idempotent.

        Waits up to ``timeout`` for a look in progress and for the threads to end; returns
        False when the timeout was hit.
        """
        # The deadline bounds real thread joins, so it is real time, not the injected clock.
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._phase_lock:
            self._phase = _Phase.STOPPED
        acquired = self._work_lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout))
        try:
            # Without the lock (a look hung past the timeout) the flag still ends every
            # later look; the hung one may still notify once, which is why we return False.
            self._closed = True
            watcher, poller = self._watcher, self._poller
            self._snapshot_taken.set()  # a reader waiting to re-arm goes on (and finds _closed)
        finally:
            if acquired:
                self._work_lock.release()
        done = acquired
        if watcher is not None:
            watcher.close()
            done = watcher.join(seconds_left(deadline)) and done
        if poller is not None:
            poller.stop()
            done = poller.join(seconds_left(deadline)) and done
        return done

    # -- extras -------------------------------------------------------------------------------

    @property
    def mode(self) -> Mode | None:
        """``"inotify"``, ``"polling"`` (the fallback), or ``None`` before ``start``."""
        return self._mode

    def status_json(self) -> dict[str, object]:
        """What this source says about itself, for ``/status`` (JSON-serialisable): the
        paths it follows, how (``inotify`` or ``polling``), whether it is synced, and the
        last problem with each file (an empty mapping when there is none)."""
        errors = dict(self._looks.errors_view)  # never waits behind a slow read
        return {
            "kind": "file",
            "path": self._document.root,
            "key": self._document.key,
            "labels_file": self._labels_file.root if self._labels_file else None,
            "mode": self._mode,
            "synced": self._looks.synced.is_set(),
            "errors": errors,
        }

    def alive(self) -> bool:
        """True while running and the thread that follows the files is alive (for health)."""
        with self._phase_lock:
            if self._phase is not _Phase.RUNNING:
                return False
        watcher, poller = self._watcher, self._poller
        if self._mode == "polling":
            return poller is not None and poller.alive()
        return watcher is not None and watcher.alive()

    # -- events -------------------------------------------------------------------------------

    def _on_notice(self, notice: Notice) -> None:
        """An inotify event (reader thread): look again at what it may have changed."""
        # Relevance is decided from immutable data, before taking the lock: most events in a
        # watched directory (kubelet's new timestamped directory, other files) are not ours.
        document, labels_file = self._document, self._labels_file
        asks = relevance(notice, document, self._doc_location, labels_file, self._labels_location)
        doc, labels, moved = asks.document, asks.labels, asks.moved
        if not (doc or labels):
            return
        with self._work_lock:
            if self._closed or self._mode != "inotify":
                return
            # Read first (the latency that counts), then re-arm. When the watched set changed,
            # read again: a change made before the new watches existed is caught by that
            # second read (identical bytes never notify), any later one by the new watches.
            self._snapshot_taken.set()  # cleared by a notify below
            if doc and not _fresh_regular_file(notice, document, self._doc_location):
                self._looks.refresh_document_locked()
            if (
                labels_file is not None
                and labels
                and not _fresh_regular_file(notice, labels_file, self._labels_location)
            ):
                self._looks.refresh_labels_locked()
            if not moved:
                return
            notified = not self._snapshot_taken.is_set()
        if notified:
            # Let the notified consumer (the manager's worker, waiting for the GIL) go first:
            # block without the lock until it reads snapshot(). Without this, the re-arm and
            # the second read below would hold the GIL while the worker waits for it. Events
            # meanwhile queue in the kernel; the second read covers the new directories.
            self._snapshot_taken.wait(_HANDOFF_TIMEOUT_SECONDS)
        self._rearm()

    def _rearm(self) -> None:
        """Move the watches after an event that can have moved a file (reader thread)."""
        with self._work_lock:
            if self._closed or self._mode != "inotify":
                return
            if self._arm_locked() and self._mode == "inotify":
                self._looks.refresh_document_locked()
                self._looks.refresh_labels_locked()

    def _poll_tick(self) -> None:
        """One polling round (poller thread)."""
        with self._work_lock:
            if self._closed:
                return
            self._looks.refresh_document_locked()
            self._looks.refresh_labels_locked()

    # -- watching -----------------------------------------------------------------------------

    def _arm_locked(self) -> bool:
        """Watch the directories the files' current locations need (``FollowedFile.locate``:
        where each name lives, the directories holding its symlinks, the one holding the real
        file). Returns True when a directory was newly watched, so that the caller reads the
        files again (a change there before the watch existed made no event).

        Locates again while a new watch could have hidden a change of the layout itself
        (bounded by ``_MAX_ARM_ROUNDS``); a new watch on a content directory alone (kubelet's
        new timestamped directory) cannot, so a swap costs one round. Falls back to polling
        when a watch cannot be added (then ``_mode`` is ``"polling"``).
        """
        watcher = self._watcher
        if watcher is None:
            return False
        added = False
        try:
            for _ in range(_MAX_ARM_ROUNDS):
                self._doc_location = doc = self._document.locate()  # before its watches
                locations = [doc]
                if self._labels_file is not None:
                    self._labels_location = labels = self._labels_file.locate()
                    locations.append(labels)
                synced = watcher.sync(
                    {p: i for loc in locations for p, i in loc.dirs.items()},
                    {p: i for loc in locations for p, i in loc.guards.items()},
                )
                added = added or bool(synced.added)
                if not synced.missed and synced.added <= content_only_dirs(locations):
                    break
        except WatchUnavailable as exc:
            self._start_polling_locked(str(exc))
            return True
        return added

    def _start_polling_locked(self, reason: str) -> None:
        if self._watcher is not None:
            self._watcher.close()  # never waits; stop() joins its thread
        self._mode = "polling"
        self._poller = Poller(
            self._poll_tick, interval_seconds=self._poll_interval_seconds, clock=self._clock
        )
        self._poller.start()
        if not self._fallback_reported:
            self._fallback_reported = True
            detail = f"{reason}; polling every {self._poll_interval_seconds:g}s instead"
            _log.warning("file source: %s", detail)
            self._report_locked(SourceEvent("fallback-polling", detail))

    # -- context calls (under _work_lock, never after stop) -------------------------------------

    def _notify_locked(self, key: str) -> None:
        if self._context is not None and not self._closed:
            self._snapshot_taken.clear()
            self._context.notify(key)

    def _report_locked(self, event: SourceEvent) -> None:
        if self._context is not None and not self._closed:
            self._context.report(event)

    def _label_keys_locked(self) -> frozenset[str]:
        if self._context is not None and not self._closed:
            return self._context.label_keys()
        return frozenset()
