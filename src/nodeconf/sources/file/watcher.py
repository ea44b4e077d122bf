"""Watching a changing set of directories with one inotify instance.

``DirectoryWatcher`` uses ``inotify_simple`` (a small ctypes binding of ``inotify_init1``,
``inotify_add_watch``, ``inotify_rm_watch`` and the event parser, all public API) and one
reader thread of its own, which blocks in ``poll()`` on the inotify descriptor and a wake-up
pipe. It used watchdog's ``inotify_c.InotifyFD`` before (outside watchdog's documented API);
docs/performance.md compares the two on the file bench. watchdog's ``Observer`` is not used
either: it adds two more threads per watch (an emitter and a dispatcher) and holds every
unpaired ``IN_MOVED_FROM`` for 0.5 s to pair it with its ``IN_MOVED_TO``, which delays every
later event of that watch. We need no pairing: every event only says "look again".

The kernel's events, and the masks asked for: ``inotify.py``. Guards (directories above the
followed ones, watched with ``GUARD_MASK`` for their own removal or renaming only) never share
a watch descriptor with full watches: a guard on a directory already watched in full adds
nothing, a full watch replaces a guard, and a guard is added with ``IN_MASK_ADD`` so that, in
a race, it can only widen a mask.

Threads and locks:

* the reader thread (``nodeconf-file-inotify``) calls ``on_notice`` for every event, with no
  lock held, so ``on_notice`` may call ``sync``; it owns the inotify descriptor's and the
  pipe's closing (after ``close``, or if reading fails);
* ``sync``, ``close`` and ``join`` may be called from any thread, including from inside
  ``on_notice``; ``close`` never waits and is safe from the reader thread (it writes one
  byte to the wake-up pipe);
* ``_lock`` guards ``_wd_of_path``, ``_paths_of_wd``, ``_guard_paths``, ``_closed`` and
  ``_inotify`` (the instance, ``None`` once the reader closed it). Every
  ``inotify_add_watch``/``inotify_rm_watch`` runs under it, so the reader never closes the
  descriptor under a call that uses it. It is never held while ``on_notice`` runs.

Thread-safety: every public method is safe from any thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nodeconf.sources.file.inotify import (
    GUARD_MASK,
    IN_DELETE_SELF,
    IN_IGNORED,
    IN_MASK_ADD,
    IN_MOVE_SELF,
    IN_Q_OVERFLOW,
    IN_UNMOUNT,
    WATCH_MASK,
    Notice,
)
from nodeconf.sources.file.layout import DirId

__all__ = ["DirectoryWatcher", "Synced", "WatchUnavailable"]

_log = logging.getLogger("nodeconf.sources.file")

_SELF_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT
_NO_GUARDS: Mapping[str, DirId] = MappingProxyType({})


class WatchUnavailable(Exception):  # noqa: N818 - a condition of the system, handled by falling back
    """inotify cannot be used (no inotify, instance or watch limit reached, permission).

    Thread-safety: immutable after construction.
    """


@dataclass(frozen=True, slots=True)
class Synced:
    """What ``DirectoryWatcher.sync`` did that the caller must know.

    ``added``: directories newly watched in full; a change in them between the caller's look
    and the watch produced no event (the caller reads again what it follows there).
    ``missed``: wanted directories or guards that vanished or were replaced before their
    watch was in place (the caller looks again). Removed watches are not reported: they hide
    nothing still wanted.

    Thread-safety: immutable.
    """

    added: frozenset[str]
    missed: frozenset[str]


class DirectoryWatcher:
    """Non-recursive inotify watches on a set of directories; see the module docstring.

    ``start()`` opens the inotify instance and starts its reader thread; ``sync(wanted,
    guards)`` makes the watched set equal ``wanted`` (path -> identity; several paths naming
    one directory share one watch) and the guarded set equal ``guards``; ``on_notice``
    receives one
    ``Notice`` per event on the reader thread and must not raise (exceptions are logged).

    Thread-safety: every public method is safe from any thread; ``on_notice`` runs on the
    reader thread only, never under ``_lock``.
    """

    def __init__(
        self, on_notice: Callable[[Notice], None], *, thread_name: str = "nodeconf-file-inotify"
    ) -> None:
        self._on_notice = on_notice
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None  # set once by start()
        self._wake_w: int | None = None  # the pipe's write end; guarded by _lock
        self._lock = threading.Lock()
        self._inotify: Any = None  # guarded by _lock: the inotify_simple.INotify, or None
        self._wd_of_path: dict[str, tuple[int, DirId]] = {}  # guarded by _lock
        self._paths_of_wd: dict[int, set[str]] = {}  # guarded by _lock
        # guarded by _lock: the paths in _wd_of_path watched as guards (GUARD_MASK). A
        # descriptor's paths are all guards or all full watches, never both.
        self._guard_paths: set[str] = set()
        self._closed = False  # guarded by _lock

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Open the inotify instance and start the reader thread (once).

        Raises ``WatchUnavailable`` when inotify cannot be used here.
        """
        try:
            # Imported here: only the inotify mode needs it (polling does not).
            from inotify_simple import INotify  # noqa: PLC0415

            inotify = INotify()  # loads libc's inotify_init1; OSError at the instance limit
        except (ImportError, OSError, AttributeError) as exc:  # AttributeError: no inotify in libc
            raise WatchUnavailable(f"cannot create an inotify instance: {exc}") from exc
        wake_r, wake_w = os.pipe()
        thread = threading.Thread(
            target=self._read_loop,
            args=(inotify, wake_r),
            name=self._thread_name,
            daemon=True,  # never keeps the process alive; close() + join() end it
        )
        with self._lock:
            self._inotify = inotify
            self._wake_w = wake_w
        self._thread = thread
        try:
            thread.start()
        except RuntimeError as exc:  # cannot start a thread: the instance is of no use
            with self._lock:
                self._inotify = self._wake_w = None
            for close in (inotify.close, lambda: os.close(wake_r), lambda: os.close(wake_w)):
                close()
            raise WatchUnavailable(f"cannot start the inotify reader: {exc}") from exc

    def close(self) -> None:
        """Stop watching and ask the reader thread to end. Never waits; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wd_of_path.clear()
            self._paths_of_wd.clear()
            self._guard_paths.clear()
            wake_w, self._wake_w = self._wake_w, None
        if wake_w is not None:
            # Wakes the reader's poll(); it closes the inotify descriptor (the kernel drops
            # every watch) and the read end. Closing the write end also wakes it (POLLHUP).
            with contextlib.suppress(OSError):
                os.write(wake_w, b"x")
            os.close(wake_w)

    def join(self, timeout: float | None) -> bool:
        """Wait for the reader thread to end (call ``close`` first). True when it has."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def alive(self) -> bool:
        """True while the reader thread runs and ``close`` was not called."""
        thread = self._thread
        with self._lock:
            closed = self._closed
        return thread is not None and thread.is_alive() and not closed

    # -- the watched set ----------------------------------------------------------------------

    def sync(self, wanted: Mapping[str, DirId], guards: Mapping[str, DirId] = _NO_GUARDS) -> Synced:
        """Watch exactly the directories in ``wanted`` (path -> identity at the caller's look),
        and ``guards`` for their own removal or renaming only (``GUARD_MASK``).

        Watches no longer wanted (or whose directory was replaced) are removed. Returns what
        the caller may have missed since its look (see ``Synced``); when ``missed`` is not
        empty, the caller should look at the file system again and re-sync. Raises
        ``WatchUnavailable`` when a wanted directory that exists cannot be watched (watch
        limit reached, permission). Guards are best effort: one that cannot be added for any
        other reason than having vanished is left out (logged at debug level).
        """
        added: set[str] = set()
        missed: set[str] = set()
        with self._lock:
            fd = self._inotify
            if self._closed or self._thread is None:
                return Synced(frozenset(), frozenset())
            if fd is None:
                raise WatchUnavailable("the inotify reader stopped")
            for path, (_, ident) in list(self._wd_of_path.items()):
                guard = path in self._guard_paths
                if (guards if guard else wanted).get(path) != ident or (guard and path in wanted):
                    self._forget_path_locked(path)  # a guard now wanted in full is re-added
            for path, ident in wanted.items():
                if path in self._wd_of_path:
                    continue
                for other in [p for p in self._guard_paths if self._wd_of_path[p][1] == ident]:
                    self._forget_path_locked(other)  # a guard-only watch lacks the entry events
                alias = next((wd for wd, i in self._wd_of_path.values() if i == ident), None)
                if alias is not None:  # the same directory under another name: one watch
                    self._record_locked(path, alias, ident)
                    added.add(path)  # its events carried only the other name until now
                    continue
                try:
                    wd = fd.add_watch(path, WATCH_MASK)
                except OSError as exc:
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                        missed.add(path)  # gone since the caller looked: it looks again
                        continue
                    raise WatchUnavailable(f"cannot watch {path}: {exc.strerror or exc}") from exc
                self._record_locked(path, int(wd), ident)
                if _identity_now(path) == ident:
                    added.add(path)
                else:  # replaced between the caller's look and the watch
                    self._forget_path_locked(path)
                    missed.add(path)
            for path, ident in guards.items():
                known = path in self._wd_of_path or path in wanted
                if not known and not self._add_guard_locked(fd, path, ident):
                    missed.add(path)
        return Synced(frozenset(added), frozenset(missed))

    def _add_guard_locked(self, fd: Any, path: str, ident: DirId) -> bool:
        """Watch ``path`` as a guard; False when it vanished or was replaced meanwhile."""
        for wd, i in list(self._wd_of_path.values()):
            if i == ident:
                if wd in self._paths_of_wd and self._paths_of_wd[wd] <= self._guard_paths:
                    self._record_locked(path, wd, ident)  # another guard's name for it
                    self._guard_paths.add(path)
                return True  # a full watch of the directory reports its removal already
        try:
            # IN_MASK_ADD: if the directory turns out to be watched in full under a name we
            # do not know yet (it moved since the caller looked), its mask is not narrowed.
            wd = fd.add_watch(path, GUARD_MASK | IN_MASK_ADD)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return False
            _log.debug("file source: cannot guard %s: %s", path, exc.strerror or exc)
            return True
        self._record_locked(path, int(wd), ident)
        self._guard_paths.add(path)
        if _identity_now(path) != ident:  # replaced between the caller's look and the watch
            self._forget_path_locked(path)
            return False
        return True

    def guarded(self) -> frozenset[str]:
        """The paths watched as guards right now (for tests and status)."""
        with self._lock:
            return frozenset(self._guard_paths)

    def watched(self) -> frozenset[str]:
        """The paths watched in full right now (for tests and status)."""
        with self._lock:
            return frozenset(self._wd_of_path.keys() - self._guard_paths)

    def _record_locked(self, path: str, wd: int, ident: DirId) -> None:
        self._wd_of_path[path] = (wd, ident)
        self._paths_of_wd.setdefault(wd, set()).add(path)

    def _forget_path_locked(self, path: str) -> None:
        wd, _ = self._wd_of_path.pop(path)
        self._guard_paths.discard(path)
        paths = self._paths_of_wd.get(wd)
        if paths is not None:
            paths.discard(path)
            if not paths:
                del self._paths_of_wd[wd]
                self._remove_watch_locked(wd)

    def _remove_watch_locked(self, wd: int) -> None:
        fd = self._inotify
        if fd is None:
            return
        try:
            fd.rm_watch(wd)
        except OSError:  # EINVAL: the kernel dropped it already (its IN_IGNORED is on the way)
            _log.debug("removing inotify watch %d failed", wd, exc_info=True)

    # -- reader thread ------------------------------------------------------------------------

    def _read_loop(self, inotify: Any, wake_r: int) -> None:
        """The reader thread: wait for events (no timeout: idle means no wake-up), dispatch
        them, end when ``close`` writes to the pipe; then close the descriptors."""
        poller = select.poll()
        poller.register(inotify.fileno(), select.POLLIN)
        poller.register(wake_r, select.POLLIN)
        try:
            while True:
                ready = {fd for fd, _ in poller.poll()}
                if wake_r in ready:
                    return
                for event in inotify.read(timeout=0):
                    self._dispatch(int(event.wd), int(event.mask), event.name)
        except Exception:  # a failed read: alive() turns False, the owner's health check sees it
            _log.exception("file source: reading inotify events failed")
        finally:
            with self._lock:  # no add/rm_watch runs on the descriptor while it is closed
                self._inotify = None
                inotify.close()
            os.close(wake_r)

    def _dispatch(self, wd: int, mask: int, name: str) -> None:
        if mask & IN_Q_OVERFLOW:
            self._on_overflow()
        elif wd < 0:
            return  # no other event without a watch exists
        elif mask & IN_IGNORED:
            self._on_watch_deleted(wd)
        else:
            self._on_event(wd, mask, name)

    def _on_event(self, wd: int, mask: int, name: str) -> None:
        with self._lock:
            if self._closed:
                return
            watched = self._paths_of_wd.get(wd)
            if not watched:
                return
            dirs = tuple(watched) if len(watched) == 1 else tuple(sorted(watched))
            lost = bool(mask & _SELF_GONE)
            if lost:  # the watch no longer means "this path": drop it, the owner re-syncs
                for path in dirs:
                    self._forget_path_locked(path)
        entry = name
        paths = tuple(os.path.join(d, entry) for d in dirs) if entry else dirs
        self._call_owner(Notice(paths, mask, lost))

    def _on_watch_deleted(self, wd: int) -> None:
        # The kernel dropped the watch (IN_IGNORED: directory deleted, file system unmounted).
        with self._lock:
            if self._closed:
                return
            dirs = tuple(sorted(self._paths_of_wd.pop(wd, ())))
            for path in dirs:
                self._wd_of_path.pop(path, None)
        if dirs:
            self._call_owner(Notice(dirs, lost=True))

    def _on_overflow(self) -> None:
        with self._lock:
            if self._closed:
                return
        self._call_owner(Notice((), lost=True))

    def _call_owner(self, notice: Notice) -> None:
        # Called without _lock: the owner may call sync() (and takes its own lock first).
        try:
            self._on_notice(notice)
        except Exception:  # the reader thread must survive anything the owner does
            _log.exception("file source: handling an inotify event failed")


def _identity_now(path: str) -> DirId | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
