"""The five concurrency defects of issue 10, as regression tests on the public API.

Each test failed on ``main`` before the engine was rebuilt (commit a00f3db: a hang, a lost
delivery or a broken promise of docs/threading.md) and passes now. Waits are bounded by
``TIMEOUT`` (they only bound failures); where a test checks that a call returned *promptly*,
it compares against a bound far below the timeout the call was given.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from manager.kit import (
    TIMEOUT,
    DeadlineClock,
    HeldSnapshotSource,
    RecordingSink,
    cpu_qos,
    doc,
)
from nodeconf import ConfigManager, Lifecycle, Outcome, RetryLater, Settings, StopReport
from nodeconf.concurrency.clock import DEFAULT_CLOCK, FakeClock
from nodeconf.manager.source import SourceState
from nodeconf.testing import RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency

# -- 1. a sink that reacts to a source event ---------------------------------------------------


class _ReadingSink(RecordingSink):
    """On ``document-deleted``, reads the source's document (takes the source's lock)."""

    def __init__(self, source: StaticSource) -> None:
        super().__init__()
        self.source = source
        self.seen: list[object] = []

    def emit(self, outcome: Outcome) -> None:
        if outcome.kind == "source" and outcome.detail == "document-deleted":
            self.seen.append(self.source.document)
        super().emit(outcome)


def test_a_sink_may_read_the_source_on_a_source_event() -> None:
    """A sink that reads ``source.document`` on ``document-deleted`` does not deadlock
    ``delete_document()`` (before: the source called the sink under its own lock)."""
    source = StaticSource(cpu_qos(True))
    sink = _ReadingSink(source)
    with ConfigManager(source, [RecordingListener()], sink=sink, clock=FakeClock()) as manager:
        deleter = threading.Thread(target=source.delete_document, daemon=True)
        deleter.start()
        deleter.join(TIMEOUT)
        assert not deleter.is_alive(), "delete_document() never returned"
        assert manager.wait_idle(TIMEOUT)
    assert sink.seen == [None]


def test_a_sink_may_stop_the_manager_on_a_source_event() -> None:
    """A sink that calls ``manager.stop(2.0)`` on ``document-deleted`` returns, and the
    manager ends stopped (before: ``stop`` waited for the source lock its caller held)."""
    source = StaticSource(cpu_qos(True))
    reports: list[StopReport] = []
    holder: list[ConfigManager[Any]] = []

    class StoppingSink(RecordingSink):
        def emit(self, outcome: Outcome) -> None:
            super().emit(outcome)
            if outcome.detail == "document-deleted":
                reports.append(holder[0].stop(2.0))

    sink = StoppingSink()
    manager: ConfigManager[Any] = ConfigManager(source, [RecordingListener()], sink=sink)
    holder.append(manager)
    manager.start(TIMEOUT)
    deleter = threading.Thread(target=source.delete_document, daemon=True)
    deleter.start()
    deleter.join(TIMEOUT)
    assert not deleter.is_alive(), "delete_document() never returned"
    final = manager.stop(TIMEOUT)
    assert final.completed, final
    assert manager.lifecycle is Lifecycle.STOPPED
    assert len(reports) == 1


# -- 2. stop() from a sink during start() ------------------------------------------------------


def test_stop_from_a_sink_during_the_first_sync_returns_promptly() -> None:
    """``stop(10)`` called by a sink on the first sync's ``invalid`` outcome, while
    ``start()`` runs, returns at once and the manager stops (before: it waited its whole
    timeout, because ``start()``'s thread held the lock the stop needed)."""
    given = 10.0
    took: list[float] = []
    holder: list[ConfigManager[Any]] = []

    class StoppingSink(RecordingSink):
        def emit(self, outcome: Outcome) -> None:
            super().emit(outcome)
            if outcome.kind == "invalid":
                began = time.monotonic()
                holder[0].stop(given)
                took.append(time.monotonic() - began)

    source = StaticSource(doc(cpuQosConfig={"enable": "yes"}))
    manager: ConfigManager[Any] = ConfigManager(source, [RecordingListener()], sink=StoppingSink())
    holder.append(manager)
    manager.start(TIMEOUT)
    assert manager.stop(TIMEOUT).completed
    assert manager.lifecycle is Lifecycle.STOPPED
    assert len(took) == 1
    assert took[0] < given / 2, f"stop() from the sink took {took[0]:.2f}s of its {given}s"


# -- 3. a slow sync stalls nothing else --------------------------------------------------------


def test_a_listener_added_during_a_slow_sync_is_called_at_once() -> None:
    """While one worker is held inside ``Source.snapshot()``, a listener added meanwhile
    receives the current revision from the other, idle worker (before: nobody looked until
    the sync ended, because the syncing worker counted as awake)."""
    clock = FakeClock()
    source = HeldSnapshotSource(cpu_qos(True))
    with ConfigManager(source, clock=clock) as manager:
        assert manager.wait_idle(TIMEOUT)
        assert clock.wait_for_waiters(2, TIMEOUT)  # both workers asleep
        source.hold()
        source.set_document(cpu_qos(False))
        assert source.entered.wait(TIMEOUT)
        late = RecordingListener()
        manager.add_listener(late)
        called = late.wait_for_calls(1, TIMEOUT)
        source.release()
        assert called, "the listener waited for the slow sync"
        assert manager.wait_idle(TIMEOUT)


def test_a_retry_comes_due_during_a_slow_sync() -> None:
    """A listener retry that comes due (real clock) while a sync is held runs without waiting
    for the sync (before: the worker carrying the retry's deadline was the one woken for the
    sync, and nobody else had a timeout)."""
    clock = DeadlineClock(DEFAULT_CLOCK)
    source = HeldSnapshotSource(cpu_qos(True))
    flaky = RecordingListener(fail_on={1: RetryLater(1.0)})
    with ConfigManager(source, [flaky], clock=clock) as manager:
        assert flaky.wait_for_calls(1, TIMEOUT)
        # One worker sleeps until the retry is due, the other without a timeout.
        assert clock.wait_for_deadlines(
            lambda ds: len(ds) == 2 and sum(d is not None for d in ds) == 1
        ), clock.deadlines()
        source.hold()
        source.set_document(cpu_qos(False))
        assert source.entered.wait(TIMEOUT)
        retried = flaky.wait_for_calls(2, TIMEOUT)
        source.release()
        assert retried, "the retry waited for the slow sync"
        assert manager.wait_idle(TIMEOUT)


def test_a_slow_sync_is_reported() -> None:
    """A sync running longer than ``slow_listener_seconds`` is reported as ``slow``."""
    clock = FakeClock()
    sink = RecordingSink()
    source = HeldSnapshotSource(cpu_qos(True))
    settings = Settings(slow_listener_seconds=5.0)
    with ConfigManager(source, settings=settings, clock=clock, sink=sink) as manager:
        source.hold()
        source.set_document(cpu_qos(False))
        assert source.entered.wait(TIMEOUT)
        clock.advance(5.0)
        reported = sink.wait_for(lambda os: any(o.kind == "slow" for o in os))
        source.release()
        assert reported, sink.outcomes
        assert manager.wait_idle(TIMEOUT)
    slow = sink.of("slow")[0]
    assert slow.listener == ""
    assert slow.detail.startswith("sync running for")


# -- 4. stop(timeout) from a listener ----------------------------------------------------------


@pytest.mark.thread_unsafe(reason="looks for the stopper thread among all of the process's")
def test_stop_from_a_listener_honours_its_timeout() -> None:
    """``stop(0.2)`` from a listener, with another listener hung, runs its stop sequence to a
    0.2 s deadline: the stopper thread is done long before ``Settings.stop_timeout_seconds``
    (before: it used the settings' 60 s and outlived the caller's timeout)."""
    gate = threading.Event()
    hung = RecordingListener(gate=gate, gate_timeout_seconds=TIMEOUT * 3)
    holder: list[ConfigManager[Any]] = []
    inner: list[StopReport] = []
    stopped = threading.Event()

    def stopper(config: Any) -> None:
        if holder[0].status().last_known_good_revision == 2:
            inner.append(holder[0].stop(0.2))
            stopped.set()

    source = StaticSource(cpu_qos(False))
    settings = Settings(stop_timeout_seconds=60.0)
    manager: ConfigManager[Any] = ConfigManager(source, settings=settings, clock=FakeClock())
    holder.append(manager)
    gate.set()
    manager.add_listener(hung, name="hung")
    manager.start(TIMEOUT)
    gate.clear()
    manager.add_listener(stopper, name="stopper")
    source.set_document(cpu_qos(True))
    try:
        assert stopped.wait(TIMEOUT)
        assert inner[0].stopped_from_listener
        threads = [t for t in threading.enumerate() if t.name == "nodeconf-stop"]
        for thread in threads:
            thread.join(TIMEOUT)
        assert threads, "stop() from a listener hands the sequence to a stopper thread"
        assert not any(t.is_alive() for t in threads), "the stopper outlived the caller's 0.2s"
    finally:
        gate.set()
    assert manager.stop(TIMEOUT).completed


# -- 5. a BaseException from a listener or a sync ----------------------------------------------


def test_a_listener_raising_systemexit_is_retried_and_its_worker_replaced() -> None:
    """A listener that raises ``SystemExit`` is retried with its backoff, and the pool still
    serves every listener afterwards (before: the worker ended silently, the listener was
    never retried and the worker was not replaced)."""
    clock = FakeClock()
    exiting = RecordingListener(fail_on={1: SystemExit(3)})
    other = RecordingListener()
    source = StaticSource(cpu_qos(False))
    with ConfigManager(source, [exiting, other], clock=clock) as manager:
        assert exiting.wait_for_calls(1, TIMEOUT)
        assert manager.wait_idle(TIMEOUT)
        status = manager.status().listener("RecordingListener")
        assert status.last_error == "SystemExit: 3"
        assert status.next_retry_at is not None
        clock.advance(status.next_retry_at)
        assert exiting.wait_for_calls(2, TIMEOUT)
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        assert exiting.applied[-1].to_json()["cpuQosConfig"] == {"enable": True}
        assert other.applied[-1].to_json()["cpuQosConfig"] == {"enable": True}
    assert manager.lifecycle is Lifecycle.STOPPED


class _ExitingSnapshotSource(StaticSource):
    """A ``StaticSource`` whose next snapshot raises ``SystemExit`` once ``arm()`` was
    called. Thread-safety: ``armed`` is an Event."""

    def __init__(self, document: Any) -> None:
        super().__init__(document)
        self.armed = threading.Event()

    def arm(self) -> None:
        self.armed.set()

    def snapshot(self) -> SourceState:
        if self.armed.is_set():
            self.armed.clear()
            raise SystemExit("snapshot")
        return super().snapshot()


def test_a_sync_ended_by_systemexit_loses_no_notification() -> None:
    """A ``SystemExit`` inside the sync is retried with the sync's backoff; the change it
    was reading is delivered (before: the keys were cleared when the sync was taken, so the
    notification was lost)."""
    clock = FakeClock()
    source = _ExitingSnapshotSource(cpu_qos(False))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=clock) as manager:
        assert manager.wait_idle(TIMEOUT)
        source.arm()
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        assert manager.status().source_error == "SystemExit: snapshot"
        clock.advance(1.0)
        assert manager.wait_idle(TIMEOUT)
    assert listener.applied[-1].to_json()["cpuQosConfig"] == {"enable": True}
