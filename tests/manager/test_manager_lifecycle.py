"""The manager's lifecycle: states, misuse errors, start failures, the context manager."""

from __future__ import annotations

import threading

import pytest

from manager.kit import INVALID, TIMEOUT, BlockingSource, ScriptedSource, doc
from nodeconf.errors import LifecycleError, SourceError
from nodeconf.manager import ConfigManager, Lifecycle, Outcome, Started
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


@pytest.mark.thread_unsafe(reason="compares the process's thread list")
def test_a_new_manager_is_new() -> None:
    """A manager that was only constructed reports Lifecycle.NEW and starts no thread."""
    before = threading.active_count()
    manager = ConfigManager(StaticSource())
    assert manager.lifecycle is Lifecycle.NEW
    assert threading.active_count() == before


def test_start_then_stop_goes_running_then_stopped() -> None:
    """start() leaves the manager RUNNING; stop() leaves it STOPPED."""
    manager = ConfigManager(StaticSource(), clock=FakeClock())
    manager.start(TIMEOUT)
    assert manager.lifecycle is Lifecycle.RUNNING
    manager.stop(TIMEOUT)
    assert manager.lifecycle is Lifecycle.STOPPED


def test_start_twice_raises_lifecycle_error() -> None:
    """A second start() raises LifecycleError instead of hanging or starting twice."""
    manager = ConfigManager(StaticSource(), clock=FakeClock())
    manager.start(TIMEOUT)
    try:
        with pytest.raises(LifecycleError, match="starts once"):
            manager.start(TIMEOUT)
    finally:
        manager.stop(TIMEOUT)


def test_start_after_stop_raises_lifecycle_error() -> None:
    """start() after stop() raises LifecycleError."""
    manager = ConfigManager(StaticSource(), clock=FakeClock())
    manager.start(TIMEOUT)
    manager.stop(TIMEOUT)
    with pytest.raises(LifecycleError, match="stopped"):
        manager.start(TIMEOUT)


def test_stop_before_start_marks_stopped_and_start_is_refused() -> None:
    """stop() on a new manager completes at once; start() is then refused."""
    manager = ConfigManager(StaticSource())
    report = manager.stop(TIMEOUT)
    assert report.completed
    assert manager.lifecycle is Lifecycle.STOPPED
    with pytest.raises(LifecycleError):
        manager.start(TIMEOUT)


def test_stop_is_idempotent() -> None:
    """Calling stop() again returns an equal completed report."""
    manager = ConfigManager(StaticSource(), clock=FakeClock())
    manager.start(TIMEOUT)
    first = manager.stop(TIMEOUT)
    second = manager.stop(TIMEOUT)
    assert first.completed
    assert second == first


def test_context_manager_starts_and_stops() -> None:
    """`with ConfigManager(...)` is RUNNING inside and STOPPED after."""
    with ConfigManager(StaticSource(), clock=FakeClock()) as manager:
        assert manager.lifecycle is Lifecycle.RUNNING
    assert manager.lifecycle is Lifecycle.STOPPED


def test_start_drives_the_source_in_order() -> None:
    """start() calls prepare, start, wait_synced in that order; stop() calls source.stop."""
    source = ScriptedSource()
    manager = ConfigManager(source, clock=FakeClock())
    manager.start(TIMEOUT)
    assert source.calls == ["prepare", "start", "wait_synced"]
    manager.stop(TIMEOUT)
    assert source.calls == ["prepare", "start", "wait_synced", "stop"]


def test_start_fails_when_the_source_never_syncs() -> None:
    """wait_synced() returning False makes start() raise SourceError and stop the source."""
    source = ScriptedSource(synced=False)
    manager = ConfigManager(source, clock=FakeClock())
    with pytest.raises(SourceError, match="first complete state"):
        manager.start(0.01)
    assert manager.lifecycle is Lifecycle.STOPPED
    assert source.calls[-1] == "stop"


@pytest.mark.thread_unsafe(reason="compares the process's thread list")
def test_start_fails_when_prepare_fails() -> None:
    """An exception from prepare() propagates; the manager ends STOPPED, no thread left."""
    before = set(threading.enumerate())
    source = ScriptedSource(prepare_error=SourceError("cannot create the ConfigMap"))
    manager = ConfigManager(source, clock=FakeClock())
    with pytest.raises(SourceError, match="cannot create"):
        manager.start(TIMEOUT)
    assert manager.lifecycle is Lifecycle.STOPPED
    assert set(threading.enumerate()) == before
    assert manager.stop(TIMEOUT).completed


def test_stop_during_start_ends_stopped() -> None:
    """stop() called while start() is inside the source's prepare ends the manager STOPPED."""
    gate = threading.Event()
    source = ScriptedSource(prepare_gate=gate)
    manager = ConfigManager(source, clock=FakeClock())
    starter = threading.Thread(target=manager.start, args=(TIMEOUT,))
    starter.start()
    assert source.prepare_entered.wait(TIMEOUT)
    stopper = threading.Thread(target=manager.stop, args=(TIMEOUT,))
    stopper.start()
    gate.set()
    starter.join(TIMEOUT)
    stopper.join(TIMEOUT)
    assert manager.lifecycle is Lifecycle.STOPPED
    assert manager.stop(TIMEOUT).completed


@pytest.mark.parametrize(
    ("block_in", "source_calls"),
    [
        pytest.param("prepare", ["prepare", "cancel"], id="prepare"),
        pytest.param(
            "wait_synced", ["prepare", "start", "wait_synced", "cancel", "stop"], id="wait_synced"
        ),
    ],
)
def test_stop_cancels_a_blocked_source_step_and_completes(
    block_in: str, source_calls: list[str]
) -> None:
    """stop() while start() is blocked in a cancellable source's prepare or wait_synced (an
    API server that cannot be reached): the step is cancelled, the stop completes, and
    start() returns without raising (the stop cut it short; it did not fail)."""
    source = BlockingSource(block_in)
    manager = ConfigManager(source, clock=FakeClock())
    raised: list[BaseException] = []

    def start() -> None:
        try:
            manager.start(None)  # no timeout of its own: only the cancel can end the wait
        except BaseException as exc:
            raised.append(exc)

    starter = threading.Thread(target=start, name="t-start")
    starter.start()
    assert source.blocked.wait(TIMEOUT)
    report = manager.stop(TIMEOUT)
    starter.join(TIMEOUT)
    assert not starter.is_alive()
    assert report.completed
    assert raised == []
    assert manager.lifecycle is Lifecycle.STOPPED
    assert source.calls == source_calls


def test_start_returns_after_every_listener_was_called_once() -> None:
    """When start() returns, each registered listener has received revision 1."""
    listeners = [RecordingListener() for _ in range(5)]
    with ConfigManager(StaticSource(), listeners, clock=FakeClock()):
        assert [listener.call_count for listener in listeners] == [1] * 5


def test_a_failing_first_call_does_not_fail_start() -> None:
    """A listener raising on its first call is logged and retried; start() succeeds."""
    listener = RecordingListener(fail_times=1)
    with ConfigManager(StaticSource(), [listener], clock=FakeClock()) as manager:
        assert manager.lifecycle is Lifecycle.RUNNING
        assert listener.call_count == 1
        assert manager.status().listeners[0].consecutive_failures == 1


def test_an_invalid_first_config_starts_without_calling_listeners() -> None:
    """An invalid document at start: start succeeds, no listener is called, status says why."""
    listener = RecordingListener()
    source = StaticSource({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": -1}}})
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        status = manager.status()
        assert listener.call_count == 0
        assert status.revision is None
        assert status.last_known_good_revision is None
        assert "evictingCPUHighWatermark must be a positive number" in status.last_error


def test_start_does_not_wait_for_outcomes_of_later_changes() -> None:
    """start() waits until the sink has had the outcomes of the first deliveries, not those
    of a change that arrived meanwhile: with the sink held on a later outcome, start() still
    returns APPLIED (before, it waited for the outbox to be empty, so a quick edit after the
    first revision kept start() and /readyz waiting)."""
    source = StaticSource(doc())
    held = threading.Event()
    release = threading.Event()

    class EditingSink:
        """On the first "synced", edit the document; hold the sink on the "invalid" it causes."""

        def emit(self, outcome: Outcome) -> None:
            if outcome.kind == "synced" and outcome.revision == 1:
                source.set_document(INVALID)
            elif outcome.kind == "invalid":
                held.set()
                assert release.wait(TIMEOUT)

    manager = ConfigManager(source, clock=FakeClock(), sink=EditingSink())
    manager.add_listener(RecordingListener())
    try:
        started: list[Started] = []
        starter = threading.Thread(target=lambda: started.append(manager.start(TIMEOUT)))
        starter.start()
        assert held.wait(TIMEOUT)
        starter.join(TIMEOUT)
        assert started == [Started.APPLIED]
        assert manager.lifecycle is Lifecycle.RUNNING
    finally:
        release.set()
        assert manager.stop(TIMEOUT).completed
