"""The public test kit: RecordingListener, the documented pattern, the pytest fixtures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import distributions
from typing import Any

import pytest

import nodeconf.manager
import nodeconf.testing
from manager.kit import TIMEOUT, cpu_qos
from nodeconf.errors import Reject
from nodeconf.manager import ConfigManager
from nodeconf.testing import FakeClock, PlannedError, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def _plugin_installed() -> bool:
    """Does pytest load nodeconf.pytest_plugin through a pytest11 entry point (pip install)?

    Asked the way pytest itself discovers plugins: every installed distribution, not only the
    first of each name (an editable install can leave two, only one of which declares it).
    """
    return any(
        ep.group == "pytest11" and ep.value == "nodeconf.pytest_plugin"
        for dist in distributions()
        for ep in dist.entry_points
    )


if not _plugin_installed():  # registering it twice would be an error
    pytest_plugins = ("nodeconf.pytest_plugin",)


def test_testing_exports() -> None:
    """nodeconf.testing exports exactly the kit."""
    assert sorted(nodeconf.testing.__all__) == [
        "FakeClock",
        "PlannedError",
        "RecordingListener",
        "StaticSource",
    ]


def test_manager_exports() -> None:
    """nodeconf.manager exports the engine's public names."""
    assert sorted(nodeconf.manager.__all__) == sorted(
        [
            "KEY_DOCUMENT",
            "KEY_NODE",
            "Cancellable",
            "Fallback",
            "Change",
            "ChangeListener",
            "ConfigListener",
            "ConfigManager",
            "FanOutSink",
            "Lifecycle",
            "Listener",
            "ListenerStatus",
            "ManagerStatus",
            "NullSink",
            "Outcome",
            "OutcomeKind",
            "OutcomeSink",
            "PendingRetry",
            "Revision",
            "Settings",
            "Source",
            "SourceContext",
            "SourceEvent",
            "SourceState",
            "Started",
            "StopReport",
        ]
    )


def test_recording_listener_records_in_order() -> None:
    """calls, call_count and last reflect the calls in order."""
    listener = RecordingListener()
    listener.sync_config("a")
    listener.sync_config("b")
    assert (listener.calls, listener.call_count, listener.last) == (["a", "b"], 2, "b")
    assert listener.applied == ["a", "b"]


def test_recording_listener_calls_is_a_copy() -> None:
    """Mutating the returned list does not change the record."""
    listener = RecordingListener()
    listener.sync_config("a")
    listener.calls.clear()
    assert listener.call_count == 1


def test_fail_times_fails_the_first_calls() -> None:
    """fail_times=2 raises PlannedError on calls 1 and 2 only."""
    listener = RecordingListener(fail_times=2)
    for number in (1, 2):
        with pytest.raises(PlannedError, match=f"call {number}"):
            listener.sync_config(number)
    listener.sync_config(3)
    assert (listener.calls, listener.applied) == ([1, 2, 3], [3])


def test_fail_on_a_mapping_raises_the_given_exception() -> None:
    """fail_on={n: exc} raises exc on call n."""
    listener = RecordingListener(fail_on={2: Reject("no")})
    listener.sync_config("a")
    with pytest.raises(Reject):
        listener.sync_config("b")


def test_wait_for_calls_returns_when_the_call_begins() -> None:
    """wait_for_calls(1) returns while the call is still held at the gate."""
    gate = threading.Event()
    listener = RecordingListener(gate=gate)
    worker = threading.Thread(target=listener.sync_config, args=("a",))
    worker.start()
    try:
        assert listener.wait_for_calls(1, TIMEOUT)
        assert listener.active == 1
        assert listener.applied == []
    finally:
        gate.set()
        worker.join(TIMEOUT)
    assert listener.applied == ["a"]


def test_wait_for_calls_times_out() -> None:
    """wait_for_calls returns False when the calls do not come."""
    assert RecordingListener().wait_for_calls(1, 0.01) is False


def test_the_documented_pattern() -> None:
    """The nodeconf.testing docstring example works as written."""
    clock = FakeClock()
    source = StaticSource({"globalConfig": {}})
    listener = RecordingListener(fail_on={2})
    with ConfigManager(source, [listener], clock=clock) as manager:
        source.set_document({"globalConfig": {"cpuQosConfig": {"enable": True}}})
        assert manager.wait_idle(5)
        due = manager.status().listeners[0].next_retry_at
        assert due is not None
        clock.advance(due - clock.now())
        assert manager.wait_idle(5)
    assert listener.call_count == 3


@pytest.mark.thread_unsafe(reason="one manager shared through fixtures")
def test_fixture_manager_is_started_with_the_listener(
    nodeconf_manager: ConfigManager,
    nodeconf_listener: RecordingListener,
    nodeconf_source: StaticSource,
) -> None:
    """nodeconf_manager is running, and nodeconf_listener already received revision 1."""
    assert nodeconf_listener.call_count == 1
    nodeconf_source.set_document(cpu_qos(True))
    assert nodeconf_manager.wait_idle(TIMEOUT)
    assert nodeconf_listener.call_count == 2


@pytest.mark.thread_unsafe(reason="one manager shared through fixtures")
def test_fixture_clock_drives_retries(
    nodeconf_manager_factory: Callable[..., ConfigManager], nodeconf_clock: FakeClock
) -> None:
    """Managers from the factory run on nodeconf_clock."""
    listener = RecordingListener(fail_times=1)
    manager = nodeconf_manager_factory(listeners=[listener])
    nodeconf_clock.advance(0.5)
    assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 2


@pytest.mark.thread_unsafe(reason="one manager shared through fixtures")
def test_fixture_factory_accepts_manager_arguments(
    nodeconf_manager_factory: Callable[..., ConfigManager],
) -> None:
    """Keyword arguments reach ConfigManager (here: a sink)."""
    seen: list[Any] = []

    class Sink:
        def emit(self, outcome: Any) -> None:
            seen.append(outcome.kind)

    nodeconf_manager_factory(sink=Sink())
    assert "synced" in seen
