"""The two-phase stop: exact, bounded, reporting, idempotent, callable from anywhere."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from manager.kit import TIMEOUT, HeldSnapshotSource, cpu_qos
from nodeconf.manager import ConfigManager, Lifecycle, PendingRetry, Settings, StopReport
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def test_stop_delivers_everything_already_queued() -> None:
    """Changes pushed right before stop() still reach the listeners before it returns."""
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener()
    manager = ConfigManager(source, [listener], clock=FakeClock())
    manager.start(TIMEOUT)
    source.set_document(cpu_qos(True))
    report = manager.stop(TIMEOUT)
    assert report.completed
    assert listener.last.to_json()["cpuQosConfig"] == {"enable": True}


def test_nothing_runs_after_stop_returns() -> None:
    """After stop() returns no listener is running and no new call ever starts."""
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener()
    manager = ConfigManager(source, [listener], clock=FakeClock())
    manager.start(TIMEOUT)
    manager.stop(TIMEOUT)
    calls = listener.call_count
    assert listener.active == 0
    source.set_document(cpu_qos(True))  # the source is stopped: nobody is told
    manager.add_listener(RecordingListener())
    assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == calls
    assert manager.lifecycle is Lifecycle.STOPPED


def test_pending_retries_are_reported_not_run() -> None:
    """A retry waiting for its backoff at stop time is listed in the report, never run."""
    clock = FakeClock()
    listener = RecordingListener(fail_times=1)
    manager = ConfigManager(StaticSource(), [listener], clock=clock)
    manager.start(TIMEOUT)
    report = manager.stop(TIMEOUT)
    clock.advance(10.0)
    assert report.completed
    assert report.pending_retries == (PendingRetry("listener", "RecordingListener", 1, 0.5),)
    assert listener.call_count == 1


def test_stop_with_a_hung_listener_returns_within_its_timeout() -> None:
    """A listener that does not return is reported in still_running; stop keeps its deadline."""
    gate = threading.Event()
    hung = RecordingListener(gate=gate)
    manager = ConfigManager(StaticSource(), clock=FakeClock())
    manager.start(TIMEOUT)
    manager.add_listener(hung, name="hung")
    assert hung.wait_for_calls(1, TIMEOUT)
    try:
        started = time.monotonic()
        report = manager.stop(0.2)
        elapsed = time.monotonic() - started
        assert elapsed < 0.2 + 1.0  # bound with slack for a loaded machine
        assert (report.completed, report.still_running) == (False, ("hung",))
        assert manager.lifecycle is Lifecycle.STOPPING
    finally:
        gate.set()
    final = manager.stop(TIMEOUT)
    assert final.completed
    assert final.still_running == ()
    assert manager.lifecycle is Lifecycle.STOPPED


def test_concurrent_stops_all_return_the_same_completed_report() -> None:
    """Several threads calling stop() at once all get a completed report; one sequence ran."""
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, [RecordingListener()], clock=FakeClock())
    manager.start(TIMEOUT)
    source.set_document(cpu_qos(True))
    reports: list[StopReport] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def stop() -> None:
        barrier.wait(TIMEOUT)
        report = manager.stop(TIMEOUT)
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=stop) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(reports) == 6
    assert all(report.completed for report in reports)
    assert manager.lifecycle is Lifecycle.STOPPED


def test_stop_from_inside_a_listener_does_not_deadlock() -> None:
    """A listener calling stop() gets an immediate report; the manager then stops fully."""
    reports: list[StopReport] = []
    manager: ConfigManager

    def stopper(config: Any) -> None:
        reports.append(manager.stop(TIMEOUT))

    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, clock=FakeClock())
    manager.start(TIMEOUT)
    manager.add_listener(stopper)
    final = manager.stop(TIMEOUT)  # waits for the background stop started by the listener
    assert [r.stopped_from_listener for r in reports] == [True]
    assert reports[0].still_running == ("stopper",)
    assert final.completed
    assert manager.lifecycle is Lifecycle.STOPPED


def test_stop_from_a_listener_during_start() -> None:
    """A listener stopping the manager during its first call makes start() return early."""
    manager: ConfigManager

    def stopper(config: Any) -> None:
        manager.stop(TIMEOUT)

    manager = ConfigManager(StaticSource(), [stopper], clock=FakeClock())
    manager.start(TIMEOUT)
    assert manager.lifecycle in (Lifecycle.STOPPING, Lifecycle.STOPPED)
    assert manager.stop(TIMEOUT).completed


def test_stop_races_pushes_from_other_threads() -> None:
    """Pushes racing stop() never produce a call after stop() returns."""
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener()
    manager = ConfigManager(source, [listener], clock=FakeClock())
    manager.start(TIMEOUT)
    halt = threading.Event()

    def push() -> None:
        enable = False
        while not halt.is_set():
            enable = not enable
            source.set_document(cpu_qos(enable))

    pushers = [threading.Thread(target=push) for _ in range(3)]
    for thread in pushers:
        thread.start()
    try:
        assert listener.wait_for_calls(3, TIMEOUT)
        report = manager.stop(TIMEOUT)
        after_stop = listener.call_count
    finally:
        halt.set()
        for thread in pushers:
            thread.join(TIMEOUT)
    assert report.completed
    assert listener.call_count == after_stop
    assert listener.active == 0


@pytest.mark.thread_unsafe(reason="compares the process's thread list")
def test_stop_leaves_no_thread_behind() -> None:
    """Every thread the manager started has ended when a completed stop() returns."""
    before = set(threading.enumerate())
    gate = threading.Event()
    gate.set()
    listeners = [RecordingListener(gate=gate) for _ in range(20)]
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, listeners, clock=FakeClock())
    manager.start(TIMEOUT)
    source.set_document(cpu_qos(True))
    assert manager.stop(TIMEOUT).completed
    assert set(threading.enumerate()) == before


def test_stop_report_is_json_serialisable() -> None:
    """StopReport.to_json() holds the pending retries with names and delays."""
    import json

    manager = ConfigManager(StaticSource(), [RecordingListener(fail_times=1)], clock=FakeClock())
    manager.start(TIMEOUT)
    data = json.loads(json.dumps(manager.stop(TIMEOUT).to_json()))
    assert data["completed"] is True
    assert data["pending_retries"] == [
        {"kind": "listener", "target": "RecordingListener", "revision": 1, "due_in_seconds": 0.5}
    ]


# ---- stop(0), and what may still happen after stop() returns -------------------------------


def test_stop_zero_on_an_idle_manager_completes() -> None:
    """stop(0) when nothing is queued or running reports completed (threads that only have
    to return are not work left undone) and leaves the manager STOPPED."""
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener()
    manager = ConfigManager(source, [listener], clock=FakeClock())
    manager.start(TIMEOUT)
    source.set_document(cpu_qos(True))
    assert manager.wait_idle(TIMEOUT)
    report = manager.stop(0)
    assert (report.completed, report.still_running, report.dropped) == (True, (), ())
    assert manager.lifecycle is Lifecycle.STOPPED
    assert manager.stop(TIMEOUT).completed  # joins the threads (the fixture checks it)


def test_stop_zero_with_a_call_in_progress_reports_it() -> None:
    """stop(0) while a listener call runs returns at once, not completed, naming the call."""
    gate = threading.Event()
    busy = RecordingListener(gate=gate)
    manager = ConfigManager(StaticSource(), clock=FakeClock())
    manager.start(TIMEOUT)
    manager.add_listener(busy, name="busy")
    assert busy.wait_for_calls(1, TIMEOUT)
    try:
        report = manager.stop(0)
        assert (report.completed, report.still_running) == (False, ("busy",))
    finally:
        gate.set()
    assert manager.stop(TIMEOUT).completed


def test_a_delivery_queued_at_the_deadline_never_starts() -> None:
    """A delivery still waiting when stop()'s deadline passes is reported as dropped and is
    never made, even once the call it waited behind has returned."""
    gate = threading.Event()
    first = RecordingListener(gate=gate)
    second = RecordingListener()
    serial = Settings(max_dispatch_threads=1)  # `second` waits behind `first`
    manager = ConfigManager(StaticSource(), clock=FakeClock(), settings=serial)
    manager.start(TIMEOUT)
    manager.add_listener(first, name="first")
    assert first.wait_for_calls(1, TIMEOUT)
    manager.add_listener(second, name="second")
    try:
        report = manager.stop(0.05)
        assert (report.still_running, report.dropped) == (("first",), ("second",))
    finally:
        gate.set()
    final = manager.stop(TIMEOUT)
    assert (final.completed, final.still_running) == (False, ())
    assert manager.lifecycle is Lifecycle.STOPPED
    assert second.call_count == 0


def test_a_sync_in_progress_at_the_deadline_reaches_no_listener() -> None:
    """A sync still reading the source when stop()'s deadline passes is reported as dropped;
    what it reads afterwards is never delivered."""
    source = HeldSnapshotSource(cpu_qos(False))
    listener = RecordingListener()
    manager = ConfigManager(source, [listener], clock=FakeClock())
    manager.start(TIMEOUT)
    source.hold()
    source.set_document(cpu_qos(True))
    assert source.entered.wait(TIMEOUT)  # a worker is inside snapshot()
    try:
        report = manager.stop(0.05)
        assert (report.completed, report.dropped, report.still_running) == (
            False,
            ("configmap",),
            (),
        )
    finally:
        source.release()
    final = manager.stop(TIMEOUT)
    assert final.dropped == ("configmap",)
    assert manager.lifecycle is Lifecycle.STOPPED
    assert listener.call_count == 1
    assert manager.current is not None
    assert manager.current.number == 1  # type: ignore[union-attr]
