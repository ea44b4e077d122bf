"""Our own list-watch loop for one named object, on one thread.

The loop (``ListWatch``) keeps a one-object cache (the object, or ``None`` when it does not
exist) and its resourceVersion ("RV"), and turns what the API server says into cache changes
for its ``ListWatchHandler`` (``WatchTarget``, ``WatchStats`` and ``ListWatchHandler`` live in
``watchtypes``):

1. LIST (field selector ``metadata.name=<name>``, a consistent read); diff the answer against
   the cache, so an object deleted or changed while we were not watching still yields its
   change; remember the list's RV.
2. WATCH from that RV with ``allowWatchBookmarks=true`` and a random ``timeoutSeconds``; apply
   each event; every event and every BOOKMARK advances the RV.
3. When the watch ends:

   * cleanly, at its server-side timeout: watch again from the RV at once;
   * cleanly but early (an API server shutting down), or by any error (dropped or reset
     connection, refused reconnect, 5xx, 429, the read watchdog): wait a jittered, capped,
     growing delay (``Backoff``; a ``Retry-After`` is a floor) and watch again from the RV;
   * with 410 Gone, as an HTTP status or as an ERROR event inside the stream: go back to 1
     (LIST and diff) at once; a second 410 in a row waits a backoff delay first, so a server
     that keeps answering 410 cannot drive a hot loop.

   A watch that stayed open for ``BackoffSettings.reset_after_seconds`` resets the delays.

The read watchdog is the connection's read timeout (``watch_idle_timeout_seconds``): a watch
that delivers nothing at all, not even a bookmark, for that long fails and is reopened.

Progress: every step of the loop (a LIST answered, a WATCH opened, an event or bookmark, a
failure, the end of a backoff wait) records the clock's time. Every blocking step is bounded
(a request by ``request_timeout_seconds``, a watch read by the watchdog, a wait by the
backoff wait's own length), so a loop whose last progress is older than
``KubernetesSettings.stuck_after_seconds`` (twice the longer of the first two) is stuck
(``stalled_seconds``), not merely failing: a server that cannot be reached makes the loop
fail and wait over and over, which is progress.

Threads: ``start`` starts one thread (named by the caller, e.g. ``nodeconf-watch-node``) that
runs the loop and calls the handler; nothing else calls the handler. ``stop`` may be called
from any thread: it sets the stop flag, interrupts the loop's client (shutting down its
connection, which wakes a blocked read at once) and wakes a backoff wait; ``join`` waits for
the thread. The loop never calls the handler after it has seen the stop flag.

Invariants: the handler sees changes in resourceVersion order, one object at a time, with
``previous`` equal to what the previous call left in the cache; ``on_listed`` follows every
successful LIST, after the changes that LIST revealed.

Thread-safety: see above; ``_cond`` guards ``_stopping``, the statistics and the time of the
last step (``stats`` and ``stalled_seconds`` may be called from any thread).
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from typing import Any

from nodeconf.concurrency.clock import Clock
from nodeconf.errors import SourceError
from nodeconf.sources.kubernetes.apierrors import ApiConnectionError, ApiStatusError, status_of
from nodeconf.sources.kubernetes.backoff import Backoff
from nodeconf.sources.kubernetes.client import KubeClient
from nodeconf.sources.kubernetes.settings import KubernetesSettings
from nodeconf.sources.kubernetes.watchtypes import ListWatchHandler, WatchStats, WatchTarget
from nodeconf.sources.kubernetes.wire import WatchEvent

__all__ = ["ListWatch"]

_log = logging.getLogger("nodeconf.sources.kubernetes")

#: The integer fields of ``WatchStats``.
_COUNTERS = (
    "lists",
    "watches",
    "events",
    "bookmarks",
    "expired",
    "failures",
    "consecutive_failures",
)
#: How many recent reconnect delays ``WatchStats`` keeps.
_DELAY_HISTORY = 64


class _Stopped(Exception):  # noqa: N818 - control flow, never escapes the loop
    """Raised inside the loop when the stop flag is seen."""


class ListWatch:
    """One list-watch loop on one thread: see the module docstring.

    ``client`` should be used by this loop only (``KubeClient.fork()``): ``stop`` interrupts
    it. The loop closes nothing it was given; the owner closes ``client`` after ``join``.

    Thread-safety: ``start``/``join`` by the owner; ``stop`` and ``stats`` from any thread.
    """

    def __init__(
        self,
        client: KubeClient,
        target: WatchTarget,
        handler: ListWatchHandler,
        *,
        settings: KubernetesSettings,
        clock: Clock,
        rng: random.Random,
        thread_name: str,
    ) -> None:
        self._client = client
        self._target = target
        self._handler = handler
        self._settings = settings
        self._clock = clock
        self._rng = rng  # used by the loop thread only (after start)
        self._backoff = Backoff(settings.backoff, rng=rng)  # loop thread only
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        # Owned by the loop thread: the cache and the resourceVersion to watch from.
        self._cached: dict[str, Any] | None = None
        self._rv = ""
        self._progressed = False  # did the current attempt receive any event or bookmark?
        self._cond = threading.Condition()
        # Guarded by _cond: the stop flag and the statistics.
        self._stopping = False
        self._counts: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        self._delays: deque[float] = deque(maxlen=_DELAY_HISTORY)
        self._last_error = ""
        self._published_rv = ""  # the resourceVersion as of the last counted step
        self._processed_rv = 0  # every change up to this version reached the handler
        # Guarded by _cond: the clock's time at the loop's last step (or the end of the wait in
        # progress). Written by the loop thread, read by stalled_seconds (any thread).
        self._last_progress = clock.now()

    @property
    def target(self) -> WatchTarget:
        return self._target

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end now (idempotent, any thread, never blocks on the loop)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        # Wakes the loop wherever it is in a request: a blocked read or the wait for headers.
        self._client.interrupt()

    def join(self, timeout: float | None) -> bool:
        """Wait for the loop's thread to end; True when it has (or never started)."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stalled_seconds(self) -> float:
        """Clock seconds since the loop's last step, or since the end of the backoff wait in
        progress (negative during the wait; see the module docstring)."""
        with self._cond:
            return self._clock.now() - self._last_progress

    def stats(self) -> WatchStats:
        with self._cond:
            return WatchStats(
                **self._counts,
                reconnect_delays=tuple(self._delays),
                last_error=self._last_error,
                resource_version=self._published_rv,
            )

    # -- the loop (runs on self._thread) ---------------------------------------------------

    def _stopped(self) -> bool:
        with self._cond:
            return self._stopping

    def wait_processed(self, resource_version: int, timeout: float | None) -> bool:
        """Block until every change up to ``resource_version`` reached the handler (True),
        or ``timeout`` real seconds passed (False). Versions compare as integers, which holds
        for etcd-backed API servers (Kubernetes calls them opaque: a test and tooling aid)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._processed_rv >= resource_version, timeout)

    def _processed(self, rv: str) -> None:
        try:
            version = int(rv)
        except ValueError:
            return
        with self._cond:
            if version > self._processed_rv:
                self._processed_rv = version
                self._cond.notify_all()

    def _count(self, counter: str) -> None:
        with self._cond:
            self._counts[counter] += 1
            self._published_rv = self._rv
            self._last_progress = self._clock.now()

    def _run(self) -> None:
        try:
            self._loop()
        except _Stopped:
            pass
        except Exception:  # a bug: say so loudly, never die silently
            _log.exception("list-watch loop of %s crashed", self._target)
            raise

    def _loop(self) -> None:
        need_list = True
        expired_in_a_row = 0
        while True:
            if self._stopped():
                raise _Stopped
            delay = 0.0
            retry_reason = ""
            self._progressed = False
            try:
                if need_list:
                    self._relist()
                    need_list = False
                ended = self._watch_once()
            except ApiStatusError as exc:
                if self._stopped():
                    raise _Stopped from exc
                if exc.gone:
                    need_list = True
                    expired_in_a_row = 1 if self._progressed else expired_in_a_row + 1
                    self._count("expired")
                    retry_reason = f"resourceVersion expired ({exc})"
                    if expired_in_a_row > 1:
                        delay = self._fail(exc)
                else:
                    retry_reason = str(exc)
                    delay = self._fail(exc, retry_after_seconds=exc.retry_after_seconds)
            except SourceError as exc:  # ApiConnectionError and anything else a request raises
                if self._stopped():
                    raise _Stopped from exc
                retry_reason = str(exc)
                delay = self._fail(exc)
            else:
                if ended == "expired":
                    need_list = True
                    expired_in_a_row = 1 if self._progressed else expired_in_a_row + 1
                    self._count("expired")
                    retry_reason = "resourceVersion expired (410 error event)"
                    if expired_in_a_row > 1:
                        delay = self._fail(SourceError("410 again right after a relist"))
                elif ended == "early":
                    retry_reason = "watch ended before its timeout (API server going away?)"
                    delay = self._fail(SourceError(retry_reason))
                else:
                    retry_reason = ""  # the server-side timeout: reconnect from the RV at once
                if ended != "expired":
                    expired_in_a_row = 0
            if retry_reason:
                _log.info("watch of %s restarts in %.3fs: %s", self._target, delay, retry_reason)
                self._handler.on_restart(self._target, retry_reason)
            if delay > 0:
                self._wait(delay)

    def _fail(self, exc: BaseException, *, retry_after_seconds: float | None = None) -> float:
        delay = self._backoff.failure(self._clock.now(), retry_after_seconds=retry_after_seconds)
        with self._cond:
            self._last_progress = self._clock.now()
            self._delays.append(delay)
            self._counts["failures"] += 1
            self._counts["consecutive_failures"] = self._backoff.failures
            self._last_error = str(exc)
            self._published_rv = self._rv
        return delay

    def _wait(self, delay: float) -> None:
        """Wait ``delay`` seconds on the clock, or until ``stop``."""
        with self._cond:
            deadline = self._clock.now() + delay
            # A wait is planned progress, however long (a Retry-After is not capped): count
            # from its end.
            self._last_progress = deadline
            while not self._stopping:
                if not self._clock.wait_until(self._cond, deadline):
                    break
            if self._stopping:
                raise _Stopped
            self._last_progress = self._clock.now()

    def _relist(self) -> None:
        t = self._target
        result = self._client.list_named(t.kind, t.name, namespace=t.namespace)
        if self._stopped():
            raise _Stopped
        current = next((i for i in result.items if _name(i) == t.name), None)
        self._apply(current)
        self._rv = result.resource_version or _rv(current) or self._rv
        self._count("lists")
        self._processed(self._rv)
        self._handler.on_listed(t, current)

    def _watch_once(self) -> str:
        """One WATCH; returns how it ended: ``timeout`` (at its server-side timeout), ``early``
        (cleanly, before it) or ``expired`` (a 410 ERROR event). Errors raise."""
        t = self._target
        s = self._settings
        timeout_seconds = self._rng.randint(
            s.watch_timeout_min_seconds, s.watch_timeout_max_seconds
        )
        opened_at = self._clock.now()
        stream = self._client.watch_named(
            t.kind,
            t.name,
            namespace=t.namespace,
            resource_version=self._rv,
            timeout_seconds=timeout_seconds,
            idle_timeout_seconds=s.watch_idle_timeout_seconds,
        )
        self._backoff.healthy(opened_at)
        self._count("watches")
        with stream:
            for event in stream:
                if self._stopped():
                    raise _Stopped
                if event.type == "ERROR":
                    error = status_of(event)
                    if error.gone:
                        return "expired"
                    raise error
                self._on_event(event)
        if self._stopped():
            raise _Stopped
        elapsed = self._clock.now() - opened_at
        # The server ends a watch at timeoutSeconds; allow for timer granularity on its side.
        on_time = elapsed >= timeout_seconds - max(0.5, 0.1 * timeout_seconds)
        return "timeout" if on_time else "early"

    def _on_event(self, event: WatchEvent) -> None:
        obj = event.object
        rv = event.resource_version
        self._progressed = True
        if event.type == "BOOKMARK":
            if rv:
                self._rv = rv
            self._count("bookmarks")
            self._processed(rv)
            return
        if _name(obj) != self._target.name:
            return  # not ours (a server ignoring the field selector): skip, keep the RV
        if event.type not in ("ADDED", "MODIFIED", "DELETED"):
            raise ApiConnectionError(f"unknown watch event type {event.type!r}", method="WATCH")
        if rv:
            self._rv = rv
        self._count("events")
        # Last: the handler's notify wakes the manager's worker, which then waits for this
        # thread to release the GIL; keep the work after it minimal.
        self._apply(obj if event.type != "DELETED" else None)
        self._processed(rv)

    def _apply(self, current: dict[str, Any] | None) -> None:
        previous = self._cached
        if previous is None and current is None:
            return
        if previous is not None and current is not None and _rv(previous) == _rv(current):
            return
        self._cached = current
        if self._stopped():
            raise _Stopped
        self._handler.on_change(self._target, previous, current)


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("name") or "")


def _rv(obj: dict[str, Any] | None) -> str:
    if obj is None:
        return ""
    meta = obj.get("metadata") or {}
    return str(meta.get("resourceVersion") or "")
