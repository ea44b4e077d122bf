"""Per-listener outcomes: retries with each listener's own backoff, RetryLater, Reject."""

from __future__ import annotations

import pytest

from manager.kit import TIMEOUT, RecordingSink, cpu_qos, doc
from nodeconf.errors import Reject, RetryLater
from nodeconf.manager import ConfigManager, ManagerStatus, Settings
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def advance_to_retry(clock: FakeClock, status: ManagerStatus, name: str) -> None:
    """Move the fake clock exactly to the listener's next retry."""
    due = status.listener(name).next_retry_at
    assert due is not None, f"{name} has no retry scheduled"
    clock.advance(due - clock.now())


def test_a_failure_retries_only_that_listener() -> None:
    """When one listener fails, only it is called again; the healthy one is not re-run."""
    clock = FakeClock()
    source = StaticSource(cpu_qos(False))
    healthy = RecordingListener()
    failing = RecordingListener(fail_on={2})
    with ConfigManager(source, clock=clock) as manager:
        manager.add_listener(healthy, name="healthy")
        manager.add_listener(failing, name="failing")
        assert manager.wait_idle(TIMEOUT)
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        advance_to_retry(clock, manager.status(), "failing")
        assert manager.wait_idle(TIMEOUT)
    assert healthy.call_count == 2
    assert failing.call_count == 3
    assert failing.applied[-1] == healthy.applied[-1]


def test_backoff_doubles_per_listener_on_the_clock() -> None:
    """Consecutive failures are retried after 0.5 s, 1 s, 2 s (clock seconds)."""
    clock = FakeClock()
    listener = RecordingListener(fail_times=3)
    delays = []
    with ConfigManager(StaticSource(), [listener], clock=clock) as manager:
        for _ in range(3):
            status = manager.status()
            due = status.listener("RecordingListener").next_retry_at
            assert due is not None
            delays.append(due - clock.now())
            clock.advance(due - clock.now())
            assert manager.wait_idle(TIMEOUT)
        final = manager.status().listener("RecordingListener")
    assert delays == [0.5, 1.0, 2.0]
    assert listener.call_count == 4
    assert (final.consecutive_failures, final.next_retry_at, final.applied_revision) == (0, None, 1)


def test_a_retry_does_not_happen_before_it_is_due() -> None:
    """Advancing the clock to just before the retry leaves the listener alone."""
    clock = FakeClock()
    listener = RecordingListener(fail_times=1)
    with ConfigManager(StaticSource(), [listener], clock=clock) as manager:
        clock.advance(0.375)
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 1
        clock.advance(0.125)
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 2


def test_backoff_settings_are_honoured() -> None:
    """retry_base_delay_seconds sets the first retry delay."""
    clock = FakeClock()
    settings = Settings(retry_base_delay_seconds=3.0, retry_max_delay_seconds=10.0)
    with ConfigManager(
        StaticSource(), [RecordingListener(fail_times=1)], clock=clock, settings=settings
    ) as manager:
        assert manager.status().listeners[0].next_retry_at == 3.0


def test_a_newer_revision_is_delivered_without_waiting_for_the_backoff() -> None:
    """A failing listener gets a newer revision at once; the pending retry becomes a no-op."""
    clock = FakeClock()
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener(fail_on={2})
    with ConfigManager(source, [listener], clock=clock) as manager:
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        source.set_document(doc(cpuBurstConfig={"enable": True}))
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 3
        clock.advance(1000.0)
        assert manager.wait_idle(TIMEOUT)
        assert manager.status().listeners[0].applied_revision == 3
    assert listener.call_count == 3


def test_a_revision_equal_to_what_the_listener_holds_is_not_delivered() -> None:
    """A -> B (fails) -> A: the listener already holds A, so revision 3 needs no call."""
    clock = FakeClock()
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener(fail_on={2})
    with ConfigManager(source, [listener], clock=clock) as manager:
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        source.set_document(cpu_qos(False))
        assert manager.wait_idle(TIMEOUT)
        status = manager.status().listeners[0]
    assert listener.call_count == 2
    assert (status.applied_revision, status.next_retry_at) == (3, None)
    assert (status.consecutive_failures, status.last_error) == (0, "")


def test_an_applied_revision_is_never_delivered_again() -> None:
    """Re-syncing an unchanged document calls nobody: no new revision, nothing to redo."""
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        for _ in range(5):
            source.set_document(cpu_qos(True))
            source.set_node_labels({"unrelated": "label"})
        assert manager.wait_idle(TIMEOUT)
        assert manager.status().last_known_good_revision == 1
    assert listener.call_count == 1


def test_retry_later_uses_the_listeners_delay() -> None:
    """RetryLater(7) retries after 7 clock seconds, not after the backoff."""
    clock = FakeClock()
    listener = RecordingListener(fail_on={1: RetryLater(7.0, "device busy")})
    with ConfigManager(StaticSource(), [listener], clock=clock) as manager:
        status = manager.status().listeners[0]
        assert status.next_retry_at == 7.0
        assert "device busy" in status.last_error
        clock.advance(6.5)
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 1
        clock.advance(0.5)
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 2


def test_reject_is_not_retried_until_a_newer_revision() -> None:
    """Reject stops retries for that revision; the next revision is delivered normally."""
    clock = FakeClock()
    sink = RecordingSink()
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener(fail_on={1: Reject("unsupported on this kernel")})
    with ConfigManager(source, [listener], clock=clock, sink=sink) as manager:
        status = manager.status().listeners[0]
        assert (status.rejected_revision, status.next_retry_at) == (1, None)
        clock.advance(10_000.0)
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 1
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 2
    assert manager.status().listeners[0].applied_revision == 2
    rejected = sink.of("rejected")
    assert [(o.revision, o.listener) for o in rejected] == [(1, "RecordingListener")]
    assert "unsupported on this kernel" in rejected[0].error


def test_failure_status_records_the_error_and_next_retry() -> None:
    """A failing listener's status shows failures, the error and when it will be retried."""
    clock = FakeClock()
    with ConfigManager(StaticSource(), [RecordingListener(fail_times=2)], clock=clock) as manager:
        status = manager.status().listeners[0]
    assert status.consecutive_failures == 1
    assert status.applied_revision == 0
    assert status.next_retry_at == 0.5
    assert "planned failure of call 1" in status.last_error


def test_each_listener_has_its_own_backoff() -> None:
    """Two failing listeners back off independently: one's failures do not delay the other."""
    clock = FakeClock()
    often = RecordingListener(fail_times=3)
    once = RecordingListener(fail_times=1)
    with ConfigManager(StaticSource(), clock=clock) as manager:
        manager.add_listener(often, name="often")
        manager.add_listener(once, name="once")
        assert manager.wait_idle(TIMEOUT)
        clock.advance(0.5)
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert status.listener("once").applied_revision == 1
    assert status.listener("once").next_retry_at is None
    assert status.listener("often").next_retry_at == 0.5 + 1.0
    assert (often.call_count, once.call_count) == (2, 2)
