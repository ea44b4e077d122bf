"""``PodConditionPublisher``: the agent's config state as a condition on its own Pod.

The condition ``nodeconf.io/ConfigApplied`` (its content: ``podstatus``) is written through the
``pods/status`` subresource with a strategic merge patch, so the list of conditions is merged
by ``type``: the kubelet's own conditions (``Ready``, ``PodScheduled``, ...) are never touched,
and a pod's ``readinessGates`` can name this one. RBAC: ``patch`` on ``pods/status`` only.

Cost: at most one write per change of the published state. An outcome marks the state
dirty; the write happens after a random jitter in ``[0, jitter_seconds]`` (on the injected
clock, from an injectable ``random.Random``), and the state is computed at write time, so a
burst of outcomes coalesces into one write with the latest state. Nothing is written when the
state equals the last one written. A failed write is retried after the source's backoff
(``BackoffSettings``), again with the latest state.

Threads and locks: ``emit`` (the manager's worker threads) only marks the state dirty; one
thread, ``nodeconf-podstatus``, started by the first ``emit``, reads the manager's status and
does every request; it owns the client, the backoff and the last written state. ``_cond``
guards the dirty flag, the due time, the lifecycle flags and the statistics. No user code
runs under ``_cond``.

Thread-safety: every public method is safe from any thread; ``emit`` never blocks and never
raises.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from nodeconf.concurrency.clock import Clock, default_clock
from nodeconf.errors import SourceError
from nodeconf.manager.outcomes import Outcome
from nodeconf.manager.reports import ManagerStatus
from nodeconf.sources.kubernetes.apierrors import ApiStatusError
from nodeconf.sources.kubernetes.backoff import Backoff, BackoffSettings
from nodeconf.sources.kubernetes.client import KIND_PODS, KubeClient
from nodeconf.sources.kubernetes.connections import join_or_interrupt
from nodeconf.sources.kubernetes.podstatus import CONDITION_TYPE, ConfigState, compute_state

__all__ = ["PodConditionPublisher", "PodConditionSettings", "PodConditionStats"]

_log = logging.getLogger("nodeconf.sources.kubernetes.podstatus")


class _Manager(Protocol):
    """What the publisher reads from a ``ConfigManager``."""

    def status(self) -> ManagerStatus: ...

    @property
    def current(self) -> Any: ...

    @property
    def schema(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class PodConditionSettings:
    """How the publisher paces itself: ``jitter_seconds`` bounds the random delay before a
    write; ``backoff`` spaces retries of failed writes. Thread-safety: immutable."""

    jitter_seconds: float = 2.0
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    request_timeout_seconds: float = 5.0
    close_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not 0 <= self.jitter_seconds < float("inf"):
            raise ValueError(
                f"jitter_seconds must be a finite number >= 0, got {self.jitter_seconds!r}"
            )


@dataclass(frozen=True, slots=True)
class PodConditionStats:
    """``written`` (successful PATCHes), ``failed`` (failed ones, and failures to compute
    the state; each retried),
    ``unchanged`` (due writes skipped because the state equals the last written).
    Thread-safety: immutable."""

    written: int = 0
    failed: int = 0
    unchanged: int = 0

    @property
    def attempts(self) -> int:
        """Every due write handled: written, failed or skipped as unchanged."""
        return self.written + self.failed + self.unchanged


class PodConditionPublisher:
    """An ``OutcomeSink`` publishing ``CONDITION_TYPE`` on the agent's pod; see the module
    docstring. ``bind(manager)`` before the manager starts; ``close()`` when done.

    Thread-safety: every method is safe from any thread; ``emit`` never blocks.
    """

    def __init__(
        self,
        *,
        namespace: str,
        pod_name: str,
        client: KubeClient,
        clock: Clock | None = None,
        settings: PodConditionSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not namespace or not pod_name:
            raise ValueError("namespace and pod_name must be non-empty strings")
        self.namespace = namespace
        self.pod_name = pod_name
        self._settings = settings if settings is not None else PodConditionSettings()
        self._clock = clock if clock is not None else default_clock()
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter
        self._client = client.fork()  # owned by the writer thread; closed by close()
        self._manager: _Manager | None = None  # set once by bind, before the first emit
        self._cond = threading.Condition()
        # -- guarded by _cond ------------------------------------------------------------
        self._dirty = False
        self._due: float | None = None  # clock time of the next write (None: none planned)
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._stats = PodConditionStats()
        # -- owned by the writer thread --------------------------------------------------
        self._backoff = Backoff(self._settings.backoff, rng=self._rng)
        self._written: ConfigState | None = None
        self._transition = ""

    def bind(self, manager: _Manager) -> None:
        """The manager whose state is published (call before it starts)."""
        self._manager = manager

    # -- OutcomeSink -----------------------------------------------------------------------

    def emit(self, outcome: Outcome) -> None:
        """Mark the published state as possibly changed (never blocks, never raises)."""
        if outcome.kind in ("slow",):
            return
        try:
            with self._cond:
                if self._closing or self._manager is None:
                    return
                self._dirty = True
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="nodeconf-podstatus", daemon=True
                    )
                    self._thread.start()
                self._cond.notify_all()
        except Exception:  # the contract: a sink never raises into the manager
            _log.exception("cannot schedule the pod condition for outcome %r", outcome)

    # -- observation -----------------------------------------------------------------------

    def stats(self) -> PodConditionStats:
        with self._cond:
            return self._stats

    def scheduled(self, timeout: float | None = None) -> float | None:
        """Wait (real seconds, a failure bound) until a write is planned; its clock time."""
        with self._cond:
            self._cond.wait_for(lambda: self._due is not None or self._closing, timeout)
            return self._due

    def wait_stats(
        self, predicate: Callable[[PodConditionStats], bool], timeout: float | None = None
    ) -> bool:
        """Wait (real seconds, a failure bound) until ``predicate(stats())`` holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._stats), timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is dirty or planned and no request is in progress."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._dirty and self._due is None and not self._busy, timeout
            )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> bool:
        """Stop the writer thread (a planned write is dropped). Idempotent; False when the
        thread outlived the bound (a request still on the wire is interrupted first)."""
        bound = self._settings.close_timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + max(0.0, bound)
        with self._cond:
            self._closing = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and not join_or_interrupt(thread, self._client.interrupt, deadline):
            return False
        self._client.close()
        return True

    def __enter__(self) -> PodConditionPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing:
                    if self._dirty and self._due is None:
                        self._due = self._clock.now() + self._rng.uniform(
                            0.0, self._settings.jitter_seconds
                        )
                        self._cond.notify_all()
                    if self._due is not None and self._clock.now() >= self._due:
                        break
                    self._clock.wait_until(self._cond, self._due)
                if self._closing:
                    self._busy = False
                    self._cond.notify_all()
                    return
                self._dirty = False
                self._due = None
                self._busy = True
            retry_in: float | None = None
            try:
                retry_in = self._publish()
            except Exception:  # a bug must not end the writer: log, retry after the backoff
                _log.exception("cannot compute or publish the pod condition")
                retry_in = self._backoff.failure(self._clock.now())
                with self._cond:
                    self._bump("failed")
            finally:
                with self._cond:
                    if retry_in is not None:
                        self._dirty = True
                        self._due = self._clock.now() + retry_in
                    self._busy = False
                    self._cond.notify_all()

    def _publish(self) -> float | None:
        """Write the current state if it changed; the retry delay after a failure."""
        manager = self._manager
        assert manager is not None  # emit starts the thread only after bind
        state = compute_state(manager.status(), manager.current, manager.schema)
        if state == self._written:
            with self._cond:
                self._bump("unchanged")
            return None
        status = "True" if state.status else "False"
        if self._written is None or self._written.status != state.status or not self._transition:
            transition = _timestamp(self._clock.wall())
        else:
            transition = self._transition
        condition = {
            "type": CONDITION_TYPE,
            "status": status,
            "reason": state.reason,
            "message": state.message,
            "lastTransitionTime": transition,
        }
        try:
            self._client.status_patch(
                KIND_PODS,
                self.pod_name,
                {"status": {"conditions": [condition]}},
                namespace=self.namespace,
            )
        except SourceError as exc:
            retry_after = exc.retry_after_seconds if isinstance(exc, ApiStatusError) else None
            delay = self._backoff.failure(self._clock.now(), retry_after_seconds=retry_after)
            with self._cond:
                self._bump("failed")
            _log.warning("cannot publish the pod condition (retry in %.1fs): %s", delay, exc)
            return delay
        self._backoff.reset()
        self._written = state
        self._transition = transition
        with self._cond:
            self._bump("written")
        return None

    def _bump(self, name: str) -> None:
        # caller holds _cond
        self._stats = replace(self._stats, **{name: getattr(self._stats, name) + 1})


def _timestamp(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
