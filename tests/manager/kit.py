"""Helpers shared by the manager's tests (importable as ``manager.kit``).

Documents are built with ``doc(...)``; ``INVALID`` is a document whose effective config breaks
a validation rule; ``RecordingSink`` collects outcomes; ``DeadlineClock`` is a fake clock that
also shows the deadline of every wait in progress; ``TIMEOUT`` bounds every wait (it only
bounds failures: the tests never wait for it to pass).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from nodeconf.concurrency.clock import Clock, FakeClock
from nodeconf.concurrency.latch import Latch
from nodeconf.errors import SourceError
from nodeconf.manager.outcomes import Outcome
from nodeconf.manager.source import SourceContext, SourceState
from nodeconf.testing import StaticSource

__all__ = [
    "INVALID",
    "TIMEOUT",
    "BlockingSource",
    "DeadlineClock",
    "HeldSnapshotSource",
    "RecordingSink",
    "ScriptedSource",
    "cpu_qos",
    "doc",
]

#: Real seconds any wait in these tests may take before the test fails.
TIMEOUT = 10.0


def doc(**sections: dict[str, Any]) -> dict[str, Any]:
    """A document whose globalConfig holds ``sections``."""
    return {"globalConfig": dict(sections)}


def cpu_qos(enable: bool) -> dict[str, Any]:
    """A valid document differing from others only in ``cpuQosConfig.enable``."""
    return doc(cpuQosConfig={"enable": enable})


#: The effective config breaks "evictingCPUHighWatermark must be a positive number".
INVALID = doc(evictingConfig={"evictingCPUHighWatermark": -1})


class RecordingSink:
    """Collects every outcome, thread-safely; ``wait_for`` blocks on a predicate."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._outcomes: list[Outcome] = []  # guarded by _cond

    def emit(self, outcome: Outcome) -> None:
        with self._cond:
            self._outcomes.append(outcome)
            self._cond.notify_all()

    @property
    def outcomes(self) -> list[Outcome]:
        with self._cond:
            return list(self._outcomes)

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def wait_for(
        self, predicate: Callable[[list[Outcome]], bool], timeout: float = TIMEOUT
    ) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._outcomes), timeout)


class ScriptedSource:
    """A source whose prepare/wait_synced/stop results are chosen by the test.

    ``prepare_error`` is raised by ``prepare``; ``synced`` is what ``wait_synced`` returns;
    ``prepare_gate``, when given, makes ``prepare`` wait for it (``prepare_entered`` is set on
    entry). Records the calls it received, in order.
    """

    def __init__(
        self,
        *,
        prepare_error: Exception | None = None,
        synced: bool = True,
        prepare_gate: threading.Event | None = None,
    ) -> None:
        self.prepare_error = prepare_error
        self.synced = synced
        self.prepare_gate = prepare_gate
        self.prepare_entered = threading.Event()
        self._lock = threading.Lock()
        self._calls: list[str] = []  # guarded by _lock

    @property
    def calls(self) -> list[str]:
        with self._lock:
            return list(self._calls)

    def _record(self, name: str) -> None:
        with self._lock:
            self._calls.append(name)

    def prepare(self, schema: object, timeout: float | None) -> None:
        self._record("prepare")
        self.prepare_entered.set()
        if self.prepare_gate is not None:
            assert self.prepare_gate.wait(TIMEOUT)
        if self.prepare_error is not None:
            raise self.prepare_error

    def start(self, context: SourceContext) -> None:
        self._record("start")

    def wait_synced(self, timeout: float | None) -> bool:
        self._record("wait_synced")
        return self.synced

    def snapshot(self) -> SourceState:
        return SourceState(document=None)

    def stop(self, timeout: float | None) -> bool:
        self._record("stop")
        return True


class BlockingSource(ScriptedSource):
    """A ``ScriptedSource`` that is also ``Cancellable``: ``prepare`` (``block_in="prepare"``)
    or ``wait_synced`` (``block_in="wait_synced"``) blocks until ``cancel`` (bounded by
    ``TIMEOUT``, which fails the test); then ``prepare`` raises ``SourceError`` and
    ``wait_synced`` returns False, as a source stuck on an unreachable API server would.
    ``blocked`` is set once it blocks."""

    def __init__(self, block_in: str) -> None:
        super().__init__()
        self.block_in = block_in
        self.blocked = threading.Event()
        self._released = Latch()

    def cancel(self) -> None:
        self._record("cancel")
        self._released.cancel()

    def prepare(self, schema: object, timeout: float | None) -> None:
        super().prepare(schema, timeout)
        if self.block_in == "prepare":
            self.blocked.set()
            self._released.wait(TIMEOUT)
            assert self._released.cancelled, "prepare was never cancelled"
            raise SourceError("prepare cancelled")

    def wait_synced(self, timeout: float | None) -> bool:
        if self.block_in != "wait_synced":
            return super().wait_synced(timeout)
        self._record("wait_synced")
        self.blocked.set()
        synced = self._released.wait(TIMEOUT)
        assert self._released.cancelled, "wait_synced was never cancelled"
        return synced


class DeadlineClock:
    """A clock (by default a ``FakeClock``: time moves only with ``advance``) that also
    records, for every thread blocked in ``wait_until``, the deadline it waits for (``None``:
    no timeout). Give it another clock (``DEFAULT_CLOCK``) to observe real-time waits.

    ``wait_for_deadlines(predicate)`` blocks until ``predicate`` holds for the list of those
    deadlines (event-driven: re-checked whenever a wait begins or ends).

    Thread-safety: safe from any thread; ``_cond`` guards ``_deadlines``.
    """

    def __init__(self, inner: Clock | None = None) -> None:
        self._inner: Clock = inner if inner is not None else FakeClock()
        self._cond = threading.Condition()
        self._deadlines: dict[object, float | None] = {}  # guarded by _cond

    def now(self) -> float:
        return self._inner.now()

    def wall(self) -> float:
        return self._inner.wall()

    def advance(self, seconds: float) -> None:
        """Move the inner ``FakeClock`` forward (see ``FakeClock.advance``)."""
        assert isinstance(self._inner, FakeClock), "only a FakeClock can be advanced"
        self._inner.advance(seconds)

    def wait(self, cond: threading.Condition, timeout: float | None) -> bool:
        deadline = None if timeout is None else self._inner.now() + timeout
        return self.wait_until(cond, deadline)

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> bool:
        token = object()
        with self._cond:
            self._deadlines[token] = deadline
            self._cond.notify_all()
        try:
            return self._inner.wait_until(cond, deadline)
        finally:
            with self._cond:
                del self._deadlines[token]
                self._cond.notify_all()

    def deadlines(self) -> list[float | None]:
        """The deadlines of the waits in progress right now."""
        with self._cond:
            return list(self._deadlines.values())

    def wait_for_deadlines(
        self, predicate: Callable[[list[float | None]], bool], timeout: float = TIMEOUT
    ) -> bool:
        """True once ``predicate(deadlines of the waits in progress)`` holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(list(self._deadlines.values())), timeout)


class HeldSnapshotSource(StaticSource):
    """A ``StaticSource`` whose ``snapshot()`` can be held: after ``hold()``, the next
    snapshot sets ``entered`` and waits until ``release()`` (bounded by ``TIMEOUT``).

    Thread-safety: ``held``, ``entered`` and ``released`` are Events.
    """

    def __init__(self, document: Any = None) -> None:
        super().__init__(document)
        self.held = threading.Event()
        self.entered = threading.Event()
        self.released = threading.Event()

    def hold(self) -> None:
        self.released.clear()
        self.held.set()

    def release(self) -> None:
        self.held.clear()
        self.released.set()

    def snapshot(self) -> SourceState:
        if self.held.is_set():
            self.entered.set()
            assert self.released.wait(TIMEOUT), "the held snapshot was never released"
        return super().snapshot()
