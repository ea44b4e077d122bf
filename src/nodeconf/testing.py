"""The public test kit: drive a ``ConfigManager`` from a test, deterministically, without sleeps.

* ``StaticSource``: an in-memory source; ``set_document``, ``set_node_labels`` and
  ``delete_document`` queue the change before they return.
* ``RecordingListener``: records every config it receives (thread-safe), can fail on chosen
  calls, and can hold its calls at a gate (to test slow listeners).
* ``FakeClock``: time that moves only when the test says so; retries and the slow-listener
  threshold run on it.

The pattern: push a change, then ``manager.wait_idle()`` (it returns the moment nothing is
queued, due or running); to let a retry happen, advance the fake clock past it (the delay is in
``manager.status()``), then ``wait_idle()`` again::

    clock = FakeClock()
    source = StaticSource({"globalConfig": {}})
    listener = RecordingListener(fail_on={2})
    with ConfigManager(source, [listener], clock=clock) as manager:
        source.set_document({"globalConfig": {"cpuQosConfig": {"enable": True}}})
        assert manager.wait_idle(5)          # call 2 failed; its retry is scheduled
        clock.advance(manager.status().listeners[0].next_retry_at - clock.now())
        assert manager.wait_idle(5)          # call 3 applied it
    assert listener.call_count == 3

The pytest fixtures in ``nodeconf.pytest_plugin`` build these for you.

Thread-safety: ``RecordingListener`` and ``StaticSource`` are safe from any thread;
``FakeClock`` too (never advance it while holding a lock a manager thread may need).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nodeconf.concurrency.clock import FakeClock
from nodeconf.manager.listeners import Change
from nodeconf.sources.static import StaticSource

__all__ = ["FakeClock", "PlannedError", "RecordingListener", "StaticSource"]


class PlannedError(RuntimeError):
    """What a ``RecordingListener`` raises on a call it was told to fail.

    Thread-safety: immutable after construction.
    """

    def __init__(self, call_number: int) -> None:
        self.call_number = call_number
        super().__init__(f"planned failure of call {call_number}")


class RecordingListener:
    """A listener that records what it receives, for assertions.

    ``fail_times``: the first N calls raise ``PlannedError``. ``fail_on``: call numbers
    (1-based) that raise ``PlannedError``, or a mapping from call number to the exception to
    raise (``RetryLater``, ``Reject``, anything). ``gate``: if given, every call waits for it
    to be set before returning (bounded by ``gate_timeout_seconds``; a call that times out
    raises ``TimeoutError``), to play a slow or hung listener.

    A call is recorded when it begins, so ``calls`` includes a call still in progress and
    ``wait_for_calls(n)`` returns as soon as the n-th call has begun. ``applied`` holds only
    the configs of calls that returned normally.

    Thread-safety: safe from any thread; ``_cond`` guards every list.
    """

    def __init__(
        self,
        fail_times: int = 0,
        *,
        fail_on: Iterable[int] | Mapping[int, BaseException] = (),
        gate: threading.Event | None = None,
        gate_timeout_seconds: float = 10.0,
    ) -> None:
        if fail_times < 0:
            raise ValueError(f"fail_times must be >= 0, got {fail_times!r}")
        planned: dict[int, BaseException | None] = dict.fromkeys(range(1, fail_times + 1))
        if isinstance(fail_on, Mapping):
            planned.update(fail_on)
        else:
            planned.update(dict.fromkeys(fail_on))
        self._planned = planned
        self._gate = gate
        self._gate_timeout_seconds = gate_timeout_seconds
        self._cond = threading.Condition()
        # ---- guarded by _cond ----
        self._calls: list[Any] = []
        self._changes: list[Change[Any] | None] = []
        self._applied: list[Any] = []
        self._active = 0

    def sync_config(self, config: Any, change: Change[Any] | None = None) -> None:
        """Record ``config`` (and ``change``), then wait at the gate, then maybe fail."""
        with self._cond:
            self._calls.append(config)
            self._changes.append(change)
            number = len(self._calls)
            self._active += 1
            self._cond.notify_all()
        try:
            if self._gate is not None and not self._gate.wait(self._gate_timeout_seconds):
                raise TimeoutError(f"call {number}: gate not opened within the timeout")
            if number in self._planned:
                planned = self._planned[number]
                raise planned if planned is not None else PlannedError(number)
            with self._cond:
                self._applied.append(config)
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    # -- reading ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Any]:
        """A copy of every config received, in order (failed calls included)."""
        with self._cond:
            return list(self._calls)

    @property
    def changes(self) -> list[Change[Any] | None]:
        """A copy of the ``Change`` passed with each call, in order."""
        with self._cond:
            return list(self._changes)

    @property
    def applied(self) -> list[Any]:
        """A copy of the configs of the calls that returned normally, in order."""
        with self._cond:
            return list(self._applied)

    @property
    def call_count(self) -> int:
        """How many calls have begun."""
        with self._cond:
            return len(self._calls)

    @property
    def last(self) -> Any:
        """The config of the most recent call (``None`` before the first)."""
        with self._cond:
            return self._calls[-1] if self._calls else None

    @property
    def active(self) -> int:
        """Calls in progress right now (0 or 1 under a ``ConfigManager``)."""
        with self._cond:
            return self._active

    def wait_for_calls(self, n: int, timeout: float | None = 10.0) -> bool:
        """Block until at least ``n`` calls have begun; False if ``timeout`` (real seconds,
        a failure bound) passes first."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._calls) >= n, timeout)

    def wait_applied(self, predicate: Callable[[Any], bool], timeout: float | None = 10.0) -> bool:
        """Block until the config of the last call that returned normally satisfies
        ``predicate``; False if ``timeout`` (real seconds, a failure bound) passes first."""
        with self._cond:
            return self._cond.wait_for(
                lambda: bool(self._applied) and predicate(self._applied[-1]), timeout
            )

    def __repr__(self) -> str:
        with self._cond:
            return f"<RecordingListener calls={len(self._calls)} applied={len(self._applied)}>"
