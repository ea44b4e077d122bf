"""The fallback when inotify cannot be used: look again every ``interval_seconds``.

``Poller`` runs ``tick`` on its own thread (``nodeconf-file-poller``) once per interval,
measured on the injected clock (``nodeconf.concurrency.clock``), so tests drive it with a
``FakeClock`` instead of sleeping. ``tick`` re-reads the followed files; the content hash
decides whether anything changed, so a rewrite inside one mtime tick is not missed.

Thread-safety: ``start``, ``stop`` and ``join`` are safe from any thread (``join`` from the
poller thread itself returns at once); ``_cond`` guards ``_stopping``. ``tick`` runs on the
poller thread only and must not raise (exceptions are logged).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from nodeconf.concurrency.clock import Clock

__all__ = ["Poller"]

_log = logging.getLogger("nodeconf.sources.file")


class Poller:
    """Calls ``tick`` every ``interval_seconds`` on a thread of its own until stopped.

    Thread-safety: public methods are safe from any thread; ``tick`` runs on the poller thread.
    """

    def __init__(
        self,
        tick: Callable[[], None],
        *,
        interval_seconds: float,
        clock: Clock,
        thread_name: str = "nodeconf-file-poller",
    ) -> None:
        self._tick = tick
        self._interval_seconds = interval_seconds
        self._clock = clock
        self._cond = threading.Condition()
        self._stopping = False  # guarded by _cond
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (it finishes a tick in progress first). Never waits."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: float | None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        if self._thread is threading.current_thread() or self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def alive(self) -> bool:
        with self._cond:
            stopping = self._stopping
        return self._thread.is_alive() and not stopping

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = self._clock.now() + self._interval_seconds
                while not self._stopping and self._clock.now() < deadline:
                    self._clock.wait_until(self._cond, deadline)
                if self._stopping:
                    return
            try:
                self._tick()
            except Exception:  # the poller must survive a bad tick
                _log.exception("file source: polling failed")
