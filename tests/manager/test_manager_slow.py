"""Slow and hung listeners: they never hold back the others, and they are reported."""

from __future__ import annotations

import threading

import pytest

from manager.kit import TIMEOUT, RecordingSink, cpu_qos
from nodeconf.manager import ConfigManager, Settings
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def test_a_hung_listener_does_not_block_the_others() -> None:
    """While one listener hangs, the others receive every newer revision."""
    gate = threading.Event()
    hung = RecordingListener(gate=gate)
    healthy = RecordingListener()
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, clock=FakeClock())
    manager.add_listener(healthy, name="healthy")
    manager.start(TIMEOUT)
    try:
        manager.add_listener(hung, name="hung")
        assert hung.wait_for_calls(1, TIMEOUT)
        for n, enable in enumerate((True, False, True), start=2):
            source.set_document(cpu_qos(enable))
            assert healthy.wait_for_calls(n, TIMEOUT), "held back by the hung listener"
        assert hung.call_count == 1
    finally:
        gate.set()
        manager.stop(TIMEOUT)
    # Released, the hung listener goes straight to the newest revision.
    assert hung.call_count == 2
    assert hung.last == healthy.last


def test_many_hung_listeners_cannot_starve_a_healthy_one() -> None:
    """With the default pool bound, ten hung listeners still leave room for the eleventh."""
    gate = threading.Event()
    hung = [RecordingListener(gate=gate) for _ in range(10)]
    healthy = RecordingListener()
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, clock=FakeClock())
    manager.start(TIMEOUT)
    try:
        for listener in hung:
            manager.add_listener(listener)
        assert all(listener.wait_for_calls(1, TIMEOUT) for listener in hung)
        manager.add_listener(healthy)
        assert healthy.wait_for_calls(1, TIMEOUT)
        source.set_document(cpu_qos(True))
        assert healthy.wait_for_calls(2, TIMEOUT)
    finally:
        gate.set()
        assert manager.stop(TIMEOUT).completed


def test_a_slow_call_is_reported_after_the_threshold() -> None:
    """A call running past slow_listener_seconds (clock) emits "slow" and shows in status."""
    clock = FakeClock()
    sink = RecordingSink()
    gate = threading.Event()
    slow = RecordingListener(gate=gate)
    settings = Settings(slow_listener_seconds=30.0)
    manager = ConfigManager(StaticSource(), clock=clock, sink=sink, settings=settings)
    manager.start(TIMEOUT)
    try:
        manager.add_listener(slow, name="slow")
        assert slow.wait_for_calls(1, TIMEOUT)
        clock.advance(29.5)
        assert manager.status().listener("slow").slow is False
        clock.advance(0.5)
        assert sink.wait_for(lambda outcomes: any(o.kind == "slow" for o in outcomes))
        status = manager.status().listener("slow")
        assert (status.slow, status.busy_since) == (True, 0.0)
        [outcome] = sink.of("slow")
        assert (outcome.listener, outcome.revision) == ("slow", 1)
    finally:
        gate.set()
        manager.stop(TIMEOUT)
    assert manager.status().listener("slow").slow is False


def test_start_does_not_wait_past_the_slow_threshold() -> None:
    """start() returns once a hung first call has been reported slow."""
    clock = FakeClock()
    gate = threading.Event()
    hung = RecordingListener(gate=gate)
    manager = ConfigManager(StaticSource(), [hung], clock=clock)
    starter = threading.Thread(target=manager.start, args=(TIMEOUT,))
    starter.start()
    try:
        assert hung.wait_for_calls(1, TIMEOUT)
        clock.advance(manager.settings.slow_listener_seconds)
        starter.join(TIMEOUT)
        assert not starter.is_alive()
        assert hung.active == 1
    finally:
        gate.set()
        starter.join(TIMEOUT)
        manager.stop(TIMEOUT)


def test_serial_pool_trades_isolation_for_order() -> None:
    """With max_dispatch_threads=1 a hung listener does hold back the next one (documented)."""
    gate = threading.Event()
    first = RecordingListener(gate=gate)
    second = RecordingListener()
    settings = Settings(max_dispatch_threads=1)
    manager = ConfigManager(StaticSource(), clock=FakeClock(), settings=settings)
    manager.start(TIMEOUT)
    try:
        manager.add_listener(first)
        assert first.wait_for_calls(1, TIMEOUT)
        manager.add_listener(second)
        assert not second.wait_for_calls(1, 0.05)  # observing: nothing may happen
    finally:
        gate.set()
        manager.stop(TIMEOUT)
    assert second.call_count == 1
