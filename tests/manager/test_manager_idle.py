"""Idle means idle: no manager thread wakes up while nothing is queued, running or scheduled.

A worker waits with a deadline only while a listener call runs (to notice it becoming slow)
or a retry is pending; that deadline is dropped as soon as it no longer applies. The
``DeadlineClock`` shows the deadline of every wait on the manager's clock, so these tests wait
for the expected set of deadlines instead of sleeping. (The same, counted in context switches
by the kernel over a real-time window, is measured by ``bench/bench_manager.py`` and
``bench/bench_file.py``: a window is a timing measurement, not a unit test.)
"""

from __future__ import annotations

import threading

import pytest

from manager.kit import TIMEOUT, DeadlineClock, cpu_qos
from nodeconf.manager import ConfigManager, Settings
from nodeconf.testing import RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency

#: Default settings: the pool keeps dispatch_threads = 2 workers, which one fast
#: listener never makes grow.
WORKERS = 2


def all_parked_without_deadline(deadlines: list[float | None]) -> bool:
    return len(deadlines) == WORKERS and all(d is None for d in deadlines)


def test_idle_workers_wait_without_a_deadline() -> None:
    """After a change was delivered, every worker waits with no timeout at all."""
    clock = DeadlineClock()
    source = StaticSource(cpu_qos(False))
    with ConfigManager(source, [RecordingListener()], clock=clock) as manager:
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        assert clock.wait_for_deadlines(all_parked_without_deadline), clock.deadlines()


def test_a_running_call_is_watched_only_until_it_ends() -> None:
    """While a call runs, one worker waits for the moment it becomes slow; once the call
    ends, that deadline is dropped (it would otherwise wake a thread for nothing)."""
    clock = DeadlineClock()
    gate = threading.Event()
    slow = RecordingListener(gate=gate)
    settings = Settings(slow_listener_seconds=30.0)
    manager = ConfigManager(StaticSource(), clock=clock, settings=settings)
    manager.start(TIMEOUT)
    try:
        clock.advance(5.0)
        manager.add_listener(slow)
        assert slow.wait_for_calls(1, TIMEOUT)
        assert clock.wait_for_deadlines(lambda ds: ds.count(35.0) == 1), clock.deadlines()
        gate.set()
        assert manager.wait_idle(TIMEOUT)
        assert clock.wait_for_deadlines(all_parked_without_deadline), clock.deadlines()
    finally:
        gate.set()
        assert manager.stop(TIMEOUT).completed


def test_a_pending_retry_is_watched_by_one_worker_until_it_ran() -> None:
    """A retry waiting for its backoff is the one deadline (one worker waits for it); after
    the retry succeeded, no deadline is left."""
    clock = DeadlineClock()
    listener = RecordingListener(fail_times=1)
    with ConfigManager(StaticSource(), [listener], clock=clock) as manager:
        assert manager.wait_idle(TIMEOUT)
        assert clock.wait_for_deadlines(
            lambda ds: len(ds) == WORKERS and ds.count(0.5) == 1 and ds.count(None) == 1
        ), clock.deadlines()
        clock.advance(0.5)
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 2
        assert clock.wait_for_deadlines(all_parked_without_deadline), clock.deadlines()


def test_removing_a_listener_cancels_its_retry_deadline() -> None:
    """remove_listener() drops the pending retry, and with it the worker's deadline."""
    clock = DeadlineClock()
    listener = RecordingListener(fail_times=1)
    with ConfigManager(StaticSource(), [listener], clock=clock) as manager:
        assert clock.wait_for_deadlines(lambda ds: 0.5 in ds), clock.deadlines()
        assert manager.remove_listener(listener)
        assert clock.wait_for_deadlines(all_parked_without_deadline), clock.deadlines()
        clock.advance(1.0)
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 1
