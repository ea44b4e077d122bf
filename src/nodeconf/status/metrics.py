"""Prometheus metrics for a running manager.

Two kinds of metrics, kept apart on purpose:

* **counters of outcomes** (``MetricsSink.emit``): configs applied and apply failures per
  listener, retries, invalid documents, watch restarts. They are incremented by the manager's
  threads as outcomes happen (``OutcomeSink`` contract: thread-safe, non-blocking, never raises);
* **gauges of manager state** (``ManagerCollector``): queue depth, current and last-known-good
  revision, seconds since the last successful apply, per-listener consecutive failures. They are
  read from ``manager.status()`` at scrape time, on the scraping thread, so nothing polls and a
  scrape always shows the state of that instant.

Every metric lives in the ``registry`` given to ``MetricsSink`` (a fresh
``CollectorRegistry`` by default, so two sinks never collide and each test gets its own).
Names start with ``nodeconf_``; the list is in ``docs/operations.md``.

Thread-safety: ``emit`` is called from any manager thread (prometheus-client's metric values are
thread-safe); ``bind`` is called once, before the manager starts; scrapes may run on any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily

from nodeconf.concurrency.clock import Clock, MonotonicClock
from nodeconf.manager.outcomes import Outcome
from nodeconf.manager.reports import ManagerStatus

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = ["ManagerCollector", "MetricsSink", "StatusProvider"]

_log = logging.getLogger("nodeconf.status")


class StatusProvider(Protocol):
    """Anything with ``status()``; a ``ConfigManager`` is one.

    Thread-safety: ``status()`` must be safe from any thread (it runs on scraping threads).
    """

    def status(self) -> ManagerStatus: ...


class MetricsSink:
    """An ``OutcomeSink`` that counts outcomes into Prometheus metrics.

    ``registry`` defaults to a fresh ``CollectorRegistry``; pass
    ``prometheus_client.REGISTRY`` to expose the metrics with the process defaults. Call
    ``bind(manager)`` once to add the state gauges read from ``manager.status()``. ``clock``
    (the manager's, a ``FakeClock`` in tests) gives the wall time that "seconds since the last
    successful apply" is measured against.

    Thread-safety: ``emit`` is safe from any thread; ``bind`` once, before scraping matters.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, clock: Clock | None = None
    ) -> None:
        self._clock = clock if clock is not None else MonotonicClock()
        self.registry: CollectorRegistry = (
            registry if registry is not None else CollectorRegistry(auto_describe=True)
        )
        reg = self.registry
        self._applied = Counter(
            "nodeconf_configs_applied",
            "Revisions applied successfully, per listener.",
            ["listener"],
            registry=reg,
        )
        self._failures = Counter(
            "nodeconf_apply_failures",
            "Listener calls that raised (retried) or rejected a revision, per listener.",
            ["listener", "kind"],
            registry=reg,
        )
        self._retries = Counter(
            "nodeconf_retries",
            "Listener calls that were retries of an earlier failed attempt, per listener.",
            ["listener"],
            registry=reg,
        )
        self._invalid = Counter(
            "nodeconf_invalid_documents",
            "Documents or effective configs rejected as unreadable or invalid.",
            registry=reg,
        )
        self._synced = Counter(
            "nodeconf_revisions_synced",
            "Revisions that every listener ended up holding.",
            registry=reg,
        )
        self._source_events = Counter(
            "nodeconf_source_events",
            "Events reported by the source, by kind (document-deleted, watch-restarted, ...).",
            ["kind"],
            registry=reg,
        )
        self._watch_restarts = Counter(
            "nodeconf_watch_restarts",
            "Times the source had to restart a watch.",
            registry=reg,
        )
        self._bound = False  # written once by ``bind`` (start-up thread)

    def bind(self, manager: StatusProvider) -> None:
        """Add the state gauges, read from ``manager.status()`` at every scrape."""
        if self._bound:
            raise RuntimeError("MetricsSink.bind() may be called only once")
        self._bound = True
        self.registry.register(ManagerCollector(manager.status, self._clock.wall))

    def emit(self, outcome: Outcome) -> None:
        """Count one outcome. Never raises (the ``OutcomeSink`` contract)."""
        try:
            self._count(outcome)
        except Exception:  # a metrics bug must never reach the manager's threads
            _log.exception("metrics: could not count outcome %r", outcome)

    def _count(self, outcome: Outcome) -> None:
        kind = outcome.kind
        listener = outcome.listener
        if kind in ("applied", "failed", "rejected") and outcome.attempt > 1:
            self._retries.labels(listener=listener).inc()
        if kind == "applied":
            self._applied.labels(listener=listener).inc()
        elif kind in ("failed", "rejected"):
            self._failures.labels(listener=listener, kind=kind).inc()
        elif kind == "invalid":
            self._invalid.inc()
        elif kind == "synced":
            self._synced.inc()
        elif kind == "source":
            event = outcome.detail or "unknown"
            self._source_events.labels(kind=event).inc()
            if event == "watch-restarted":
                self._watch_restarts.inc()


class ManagerCollector:
    """Gauges read from a status snapshot at scrape time.

    ``read_status`` is ``manager.status``; it is called once per scrape, on the scraping
    thread; ``wall`` reads the clock the manager stamps ``last_success_wall`` with. A snapshot
    that cannot be read yields no gauges (and a log line) rather than a failed scrape.

    Thread-safety: stateless apart from ``read_status``, which must be thread-safe.
    """

    def __init__(self, read_status: Callable[[], ManagerStatus], wall: Callable[[], float]) -> None:
        self._read_status = read_status
        self._wall = wall

    def describe(self) -> Iterable[Metric]:
        return ()  # unchecked collector: its gauges appear only when a snapshot has them

    def collect(self) -> Iterator[Metric]:
        try:
            view = StateView.of(self._read_status(), self._wall())
        except Exception:
            _log.exception("metrics: manager status could not be read")
            return
        yield GaugeMetricFamily(
            "nodeconf_queue_depth", "Keys waiting in the manager's queue.", view.queue_depth
        )
        yield GaugeMetricFamily(
            "nodeconf_current_revision",
            "Revision of the latest effective config computed (0 before the first).",
            view.current_revision,
        )
        yield GaugeMetricFamily(
            "nodeconf_last_known_good_revision",
            "Revision of the latest valid effective config (0 before the first).",
            view.last_known_good_revision,
        )
        yield GaugeMetricFamily(
            "nodeconf_restored_config",
            "1 while the config in force is a persisted last-known-good restored at start "
            "(the source gave no first state in time), else 0.",
            view.restored,
        )
        if view.seconds_since_last_apply is not None:
            yield GaugeMetricFamily(
                "nodeconf_seconds_since_last_successful_apply",
                "Seconds since a listener last applied a revision successfully.",
                view.seconds_since_last_apply,
            )
        failures = GaugeMetricFamily(
            "nodeconf_listener_consecutive_failures",
            "Failures of a listener since its last successful apply.",
            labels=["listener"],
        )
        for name, count in view.consecutive_failures.items():
            failures.add_metric([name], count)
        yield failures


class StateView:
    """The few numbers the gauges need, taken from one status snapshot.

    Thread-safety: immutable after construction.
    """

    __slots__ = (
        "consecutive_failures",
        "current_revision",
        "last_known_good_revision",
        "queue_depth",
        "restored",
        "seconds_since_last_apply",
    )

    def __init__(
        self,
        *,
        queue_depth: int,
        current_revision: int,
        last_known_good_revision: int,
        seconds_since_last_apply: float | None,
        consecutive_failures: dict[str, int],
        restored: int = 0,
    ) -> None:
        self.restored = restored
        self.queue_depth = queue_depth
        self.current_revision = current_revision
        self.last_known_good_revision = last_known_good_revision
        self.seconds_since_last_apply = seconds_since_last_apply
        self.consecutive_failures = consecutive_failures

    @classmethod
    def of(cls, status: ManagerStatus, now_wall: float) -> StateView:
        """Read the numbers from a ``ManagerStatus`` snapshot taken at ``now_wall``."""
        last = status.last_success_wall
        return cls(
            queue_depth=status.sync_queue_depth + status.delivery_queue_depth,
            current_revision=status.revision or 0,
            last_known_good_revision=status.last_known_good_revision or 0,
            seconds_since_last_apply=None if last is None else max(0.0, now_wall - last),
            restored=1 if status.restored_from else 0,
            consecutive_failures={
                listener.name: listener.consecutive_failures for listener in status.listeners
            },
        )
