"""``KubernetesEventSink``: apply outcomes as core/v1 Events on the agent's pod.

Volcano's agent posts ``ConfigApplySuccess`` (Normal, ``Successfully applied config``) and
``ConfigApplyFailed`` (Warning, ``Failed to apply config(<error>)``) on its own pod through
client-go's event recorder. This sink posts the same Events, the way that recorder does
(``involvedObject`` = the Pod with its uid, ``source.component`` = ``nodeconf``,
``source.host`` = the node, ``count``/``firstTimestamp``/``lastTimestamp``), and protects the
API server better:

* **Only changes are posted.** An outcome becomes an Event only when it differs from the last
  one of the same reason: a new revision, a different error. A listener retrying the same
  revision, or the same invalid document being re-read, posts nothing more.
* **Identical repeats are aggregated** (client-go's ``EventCorrelator``): an Event with the
  same type, reason and message as one posted within ``aggregate_window_seconds`` becomes a
  PATCH of that Event's ``count`` and ``lastTimestamp`` instead of a new Event; a burst of
  identical Events waiting in the queue is sent as one request with the summed count.
* **Repeats are paced.** A repeat of an Event that had a request less than
  ``repeat_interval_seconds`` ago is held and counted, then sent as one PATCH when the
  interval has passed (or at ``close``): a listener failing on every revision of an update
  storm costs one POST and a PATCH per interval, not a request per revision.
* **A budget per object** like client-go's spam filter (a token bucket, ``burst`` 25, one
  token per ``refill_seconds`` = 5 minutes, on the injected clock): a request beyond it is
  dropped and counted, never retried in a loop.
* **Never blocks the manager.** ``emit`` maps the outcome and appends it to a bounded queue
  (``queue_size``; when full the oldest entry is dropped and counted), then returns. One
  thread, ``nodeconf-events``, started on the first ``emit``, does every request.

Which outcome becomes which Event (and when two outcomes are the same change) is
``eventmap``'s business; the settings and counters are in ``eventsettings``.

Threads and locks: ``emit`` from any thread; the sender thread owns the client, the pod uid,
the aggregation cache and the token bucket. ``_cond`` guards the queue, the lifecycle flags
and the statistics. ``close(timeout)`` lets the sender flush what is queued within the bound,
then interrupts a request still on the wire and joins the thread.

Thread-safety: every public method is safe from any thread; ``emit`` never blocks and never
raises.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from lightkube import Client as LightkubeClient

from nodeconf.concurrency.clock import Clock, default_clock
from nodeconf.errors import SourceError
from nodeconf.manager.outcomes import Outcome
from nodeconf.sources.kubernetes.apierrors import ApiStatusError
from nodeconf.sources.kubernetes.client import KIND_EVENTS, KIND_PODS, KubeClient
from nodeconf.sources.kubernetes.connections import join_or_interrupt
from nodeconf.sources.kubernetes.eventmap import Pending, coalesce, map_outcome
from nodeconf.sources.kubernetes.eventsettings import EventSinkSettings, EventSinkStats

__all__ = ["KubernetesEventSink"]

_MAX_MESSAGE_CHARS: Final = 1024  # the API server's limit for an Event's note

_log = logging.getLogger("nodeconf.sources.kubernetes.events")


@dataclass(slots=True)
class _Posted:
    """An Event already on the server (sender thread only)."""

    name: str
    count: int
    first_timestamp: str
    posted_at: float


class KubernetesEventSink:
    """An ``OutcomeSink`` that posts core/v1 Events on the agent's pod; see module docstring.

    ``client`` is a ``KubeClient`` or a lightkube ``Client`` (the sink uses a fork of it, with
    connections of its own); default: built from ``kubeconfig`` or the environment.
    ``clock`` paces the budget and stamps the Events; ``settings`` is ``EventSinkSettings``.
    Call ``close()`` when done (it is also a context manager).

    Thread-safety: every method is safe from any thread; ``emit`` never blocks.
    """

    def __init__(
        self,
        *,
        namespace: str,
        pod_name: str,
        node_name: str = "",
        client: KubeClient | LightkubeClient | None = None,
        kubeconfig: str | None = None,
        clock: Clock | None = None,
        settings: EventSinkSettings | None = None,
    ) -> None:
        if not namespace or not pod_name:
            raise ValueError("namespace and pod_name must be non-empty strings")
        self.namespace = namespace
        self.pod_name = pod_name
        self.node_name = node_name
        self._settings = settings if settings is not None else EventSinkSettings()
        self._clock = clock if clock is not None else default_clock()
        timeout = self._settings.request_timeout_seconds
        if isinstance(client, KubeClient):
            self._base: KubeClient | None = None
            base = client
        elif client is not None:
            self._base = None
            base = KubeClient(client, request_timeout_seconds=timeout)
        else:
            self._base = base = KubeClient.connect(kubeconfig, request_timeout_seconds=timeout)
        self._client = base.fork()  # owned by the sender thread; closed by close()
        self._names = itertools.count()
        self._cond = threading.Condition()
        # -- guarded by _cond ------------------------------------------------------------
        self._queue: deque[Pending] = deque()
        self._last_by_reason: dict[str, tuple[object, ...]] = {}
        self._thread: threading.Thread | None = None
        self._closing = False
        self._flush_deadline: float | None = None  # time.monotonic() value, set by close
        self._busy = False  # the sender is working on a batch
        self._stats = EventSinkStats()
        # -- owned by the sender thread --------------------------------------------------
        self._pod_uid = ""
        self._recent: OrderedDict[tuple[str, str, str], _Posted] = OrderedDict()
        # repeats held for their paced PATCH: identity -> (the summed repeats, when due)
        self._held: dict[tuple[str, str, str], tuple[Pending, float]] = {}
        self._tokens = float(self._settings.burst)
        self._tokens_at = self._clock.now()

    # -- OutcomeSink -----------------------------------------------------------------------

    def emit(self, outcome: Outcome) -> None:
        """Queue the Event this outcome maps to, if any (never blocks, never raises)."""
        try:
            mapped = map_outcome(outcome)
            if mapped is None:
                return
            pending, dedupe_key = mapped
            with self._cond:
                if self._closing:
                    return
                if self._last_by_reason.get(pending.reason) == dedupe_key:
                    self._bump("skipped")
                    return
                self._last_by_reason[pending.reason] = dedupe_key
                if len(self._queue) >= self._settings.queue_size:
                    self._queue.popleft()
                    self._bump("dropped_queue_full")
                self._queue.append(pending)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="nodeconf-events", daemon=True
                    )
                    self._thread.start()
                self._cond.notify_all()
        except Exception:  # the contract: a sink never raises into the manager
            _log.exception("cannot queue an Event for outcome %r", outcome)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> bool:
        """Flush what is queued (within ``timeout``, default ``close_timeout_seconds``), then
        stop the sender thread. Idempotent. False when the thread outlived the bound."""
        bound = self._settings.close_timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + max(0.0, bound)
        with self._cond:
            if not self._closing:
                self._closing = True
                self._flush_deadline = deadline
            thread = self._thread
            self._cond.notify_all()
        joined = thread is None or join_or_interrupt(thread, self._client.interrupt, deadline)
        if joined:
            self._client.close()
            if self._base is not None:
                self._base.close()
        return joined

    stop = close

    def __enter__(self) -> KubernetesEventSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> EventSinkStats:
        with self._cond:
            return self._stats

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is queued and no request is in progress (for tests and
        shutdown ordering); False on timeout. Held repeats (``stats().held``) wait for their
        time and are not waited for here; ``close`` sends them."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _bump(self, field: str, n: int = 1) -> None:
        # caller holds _cond
        self._stats = replace(self._stats, **{field: getattr(self._stats, field) + n})

    # -- the sender thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                # Asleep until an emit, close, or the next held repeat falls due.
                while not self._queue and not self._closing and not self._held_due():
                    self._clock.wait_until(self._cond, self._next_held_due())
                if not self._queue and self._closing and not self._held:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._busy = True
                closing = self._closing
                deadline = self._flush_deadline
            try:
                groups = coalesce(batch)
                for index, pending in enumerate(groups):
                    if deadline is not None and time.monotonic() >= deadline:
                        with self._cond:
                            self._bump("dropped_at_close", sum(g.count for g in groups[index:]))
                        break
                    self._send(pending)
                self._send_held(everything=closing, deadline=deadline)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next_held_due(self) -> float | None:
        return min((due for _, due in self._held.values()), default=None)

    def _held_due(self) -> bool:
        due = self._next_held_due()
        return due is not None and self._clock.now() >= due

    def _send_held(self, *, everything: bool, deadline: float | None) -> None:
        """Send the held repeats that are due (all of them when closing), each as one
        PATCH with the summed count; at the close deadline the rest are dropped, counted."""
        now = self._clock.now()
        for identity, (pending, due) in list(self._held.items()):
            if not everything and due > now:
                continue
            del self._held[identity]
            with self._cond:
                self._bump("held", -pending.count)
                if deadline is not None and time.monotonic() >= deadline:
                    self._bump("dropped_at_close", pending.count)
                    continue
            self._send(pending, pace=False)

    def _take_token(self) -> bool:
        s = self._settings
        now = self._clock.now()
        self._tokens = min(
            float(s.burst), self._tokens + (now - self._tokens_at) / s.refill_seconds
        )
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _send(self, pending: Pending, *, pace: bool = True) -> None:
        now = self._clock.now()
        posted = self._recent.get(pending.identity)
        interval = self._settings.repeat_interval_seconds
        if (
            pace
            and posted is not None
            and now - posted.posted_at < interval
            and now - posted.posted_at <= self._settings.aggregate_window_seconds
        ):
            # A repeat too soon after the last request for this Event: hold it, summed.
            held, due = self._held.get(pending.identity, (None, posted.posted_at + interval))
            total = pending if held is None else replace(held, count=held.count + pending.count)
            self._held[pending.identity] = (total, due)
            with self._cond:
                self._bump("held", pending.count)
            return
        if not self._take_token():
            with self._cond:
                self._bump("dropped_rate_limited")
            _log.warning("event budget exhausted; dropped %s: %s", pending.reason, pending.message)
            return
        stamp = _timestamp(self._clock.wall())
        try:
            if (
                posted is not None
                and now - posted.posted_at <= self._settings.aggregate_window_seconds
            ):
                try:
                    self._client.merge_patch(
                        KIND_EVENTS,
                        posted.name,
                        {"count": posted.count + pending.count, "lastTimestamp": stamp},
                        namespace=self.namespace,
                    )
                except ApiStatusError as exc:
                    if not exc.not_found:
                        raise
                    posted = None  # expired on the server: post a new one below
                else:
                    posted.count += pending.count
                    posted.posted_at = now
                    self._recent.move_to_end(pending.identity)
                    with self._cond:
                        self._bump("patched")
                        self._bump("aggregated", pending.count)
                    return
            self._post(pending, stamp, now)
        except SourceError as exc:
            with self._cond:
                self._bump("failed")
            _log.warning("cannot post Event %s: %s", pending.reason, exc)

    def _post(self, pending: Pending, stamp: str, now: float) -> None:
        if not self._pod_uid:
            with contextlib.suppress(SourceError):
                pod = self._client.get(KIND_PODS, self.pod_name, namespace=self.namespace)
                if pod is not None:
                    self._pod_uid = str((pod.get("metadata") or {}).get("uid") or "")
        wall_ns = int(self._clock.wall() * 1e9)
        name = f"{self.pod_name}.{wall_ns:x}{next(self._names):02x}"
        involved: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": self.pod_name,
            "namespace": self.namespace,
        }
        if self._pod_uid:
            involved["uid"] = self._pod_uid
        source = {"component": self._settings.component}
        if self.node_name:
            source["host"] = self.node_name
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": self.namespace},
            "involvedObject": involved,
            "reason": pending.reason,
            "message": pending.message[:_MAX_MESSAGE_CHARS],
            "type": pending.type,
            "source": source,
            "count": pending.count,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "reportingComponent": self._settings.component,
            "reportingInstance": self.node_name,
        }
        self._client.create(KIND_EVENTS, body, namespace=self.namespace)
        self._recent[pending.identity] = _Posted(name, pending.count, stamp, now)
        self._recent.move_to_end(pending.identity)
        while len(self._recent) > 64:
            self._recent.popitem(last=False)
        with self._cond:
            self._bump("posted")
            if pending.count > 1:
                self._bump("aggregated", pending.count - 1)


def _timestamp(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
