"""Listener registration and delivery: shapes, Change, sections, add/remove while running."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from manager.kit import TIMEOUT, cpu_qos, doc
from nodeconf.manager import Change, ConfigManager, Settings
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def make_source() -> StaticSource:
    """A fresh source per test (a fixture would be shared by pytest-run-parallel's threads)."""
    return StaticSource(cpu_qos(False))


def test_a_plain_callable_is_a_listener() -> None:
    """A function taking one argument is called with the effective config."""
    source = make_source()
    received: list[Any] = []
    with ConfigManager(source, [received.append], clock=FakeClock()):
        pass
    assert len(received) == 1
    assert received[0].to_json()["cpuQosConfig"] == {"enable": False}


def test_an_object_with_sync_config_is_a_listener() -> None:
    """An object with sync_config(config) is called through that method."""
    source = make_source()

    class Applier:
        def __init__(self) -> None:
            self.configs: list[Any] = []

        def sync_config(self, config: Any) -> None:
            self.configs.append(config)

    applier = Applier()
    with ConfigManager(source, [applier], clock=FakeClock()):
        pass
    assert len(applier.configs) == 1


def test_a_non_callable_is_refused() -> None:
    """Registering something that is neither callable nor has sync_config raises TypeError."""
    source = make_source()
    manager = ConfigManager(source)
    with pytest.raises(TypeError, match="sync_config"):
        manager.add_listener(42)  # type: ignore[type-var]


def test_a_listener_cannot_be_registered_twice() -> None:
    """The same listener object registered twice raises ValueError."""
    source = make_source()
    listener = RecordingListener()
    manager = ConfigManager(source, [listener])
    with pytest.raises(ValueError, match="already registered"):
        manager.add_listener(listener)


def test_listeners_registered_with_change_receive_a_change() -> None:
    """A listener added with with_change=True gets a Change: every section the first time,
    then only the sections that differ from what it applied last."""
    source = make_source()
    changes: list[Change] = []

    def listener(config: Any, change: Change) -> None:
        changes.append(change)

    manager = ConfigManager(source, clock=FakeClock())
    manager.add_listener(listener, with_change=True)
    with manager:
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
    first, second = changes
    assert (first.revision, first.previous_revision, first.previous) == (1, 0, None)
    assert first.sections == frozenset(manager.schema.section_names())
    assert (second.revision, second.previous_revision) == (2, 1)
    assert second.sections == {"cpuQosConfig"}
    assert second.previous is not None
    assert second.previous.to_json()["cpuQosConfig"] == {"enable": False}


def test_a_second_parameter_with_a_default_is_not_given_a_change() -> None:
    """Receiving a Change is explicit: ``sync_config(config, dry_run=False)`` registered
    without with_change is called with the config alone (issue 10: it used to receive a
    Change as ``dry_run``, because the manager counted parameters)."""
    received: list[object] = []

    class Agent:
        def sync_config(self, config: Any, dry_run: bool = False) -> None:
            received.append(dry_run)

    with ConfigManager(make_source(), [Agent()], clock=FakeClock()) as manager:
        assert manager.wait_idle(TIMEOUT)
    assert received == [False]


def test_change_spans_revisions_the_listener_skipped() -> None:
    """A section-filtered listener's Change covers everything since its own last apply."""
    source = make_source()
    changes: list[Change] = []

    def listener(config: Any, change: Change) -> None:
        changes.append(change)

    with ConfigManager(source, clock=FakeClock()) as manager:
        manager.add_listener(listener, sections=["cpuBurstConfig"], with_change=True)
        assert manager.wait_idle(TIMEOUT)
        source.set_document(doc(cpuQosConfig={"enable": True}))  # revision 2: ignored
        assert manager.wait_idle(TIMEOUT)
        source.set_document(
            doc(cpuQosConfig={"enable": True}, cpuBurstConfig={"enable": True})
        )  # revision 3
        assert manager.wait_idle(TIMEOUT)
    assert [c.revision for c in changes] == [1, 3]
    assert changes[1].previous_revision == 1
    assert changes[1].sections == {"cpuQosConfig", "cpuBurstConfig"}


def test_changes_for_reports_what_the_listener_lacks() -> None:
    """changes_for(listener) names the sections between its last apply and the current
    revision (empty when it is up to date)."""
    source = make_source()
    gate = threading.Event()
    slow = RecordingListener(gate=gate)
    with ConfigManager(source, clock=FakeClock()) as manager:
        gate.set()
        manager.add_listener(slow)
        assert manager.wait_idle(TIMEOUT)
        up_to_date = manager.changes_for(slow)
        assert up_to_date is not None
        assert up_to_date.sections == frozenset()
        gate.clear()
        source.set_document(cpu_qos(True))
        assert slow.wait_for_calls(2, TIMEOUT)  # holding revision 2 at the gate
        lacking = manager.changes_for(slow)
        gate.set()
        assert manager.wait_idle(TIMEOUT)
    assert lacking is not None
    assert (lacking.revision, lacking.previous_revision) == (2, 1)
    assert lacking.sections == {"cpuQosConfig"}


def test_section_filtered_listener_is_called_only_for_its_sections() -> None:
    """With sections=[...], a change elsewhere does not call the listener but advances it."""
    source = make_source()
    listener = RecordingListener()
    with ConfigManager(source, clock=FakeClock()) as manager:
        manager.add_listener(listener, sections={"memoryQosConfig"})
        assert manager.wait_idle(TIMEOUT)
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        assert listener.call_count == 1
        assert manager.status().listeners[0].applied_revision == 2
        source.set_document(doc(cpuQosConfig={"enable": True}, memoryQosConfig={"enable": True}))
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 2


def test_unknown_sections_are_refused() -> None:
    """sections naming no section of the schema raise ValueError listing the valid ones."""
    source = make_source()
    manager = ConfigManager(source)
    with pytest.raises(ValueError, match=r"cpuQos.*cpuQosConfig"):
        manager.add_listener(RecordingListener(), sections=["cpuQos"])


def test_a_string_is_not_a_section_list() -> None:
    """sections="cpuQosConfig" (a string, not a list) raises TypeError."""
    source = make_source()
    manager = ConfigManager(source)
    with pytest.raises(TypeError, match="not a string"):
        manager.add_listener(RecordingListener(), sections="cpuQosConfig")


def test_listener_added_while_running_gets_the_current_config() -> None:
    """A listener added to a running manager receives the current revision promptly."""
    source = make_source()
    with ConfigManager(source, clock=FakeClock()) as manager:
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        late = RecordingListener()
        manager.add_listener(late)
        assert manager.wait_idle(TIMEOUT)
        assert late.call_count == 1
        assert late.last.to_json()["cpuQosConfig"] == {"enable": True}


def test_removed_listener_is_not_called_again() -> None:
    """After remove_listener returns, newer revisions do not reach the listener."""
    source = make_source()
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        assert manager.remove_listener(listener)
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 1


def test_removing_an_unknown_listener_returns_false() -> None:
    """remove_listener of something never registered returns False."""
    source = make_source()
    manager = ConfigManager(source)
    assert manager.remove_listener(RecordingListener()) is False


def test_listener_names_are_unique_and_shown_in_status() -> None:
    """Default names come from the class or function; duplicates get #2, #3."""
    source = make_source()
    manager = ConfigManager(source)
    manager.add_listener(RecordingListener())
    manager.add_listener(RecordingListener())
    manager.add_listener(print, name="printer")
    names = [listener.name for listener in manager.status().listeners]
    assert names == ["RecordingListener", "RecordingListener#2", "printer"]


def test_serial_delivery_follows_registration_order() -> None:
    """With max_dispatch_threads=1, listeners are called one after another in registration
    order (Volcano's order)."""
    source = make_source()
    order: list[str] = []
    lock = threading.Lock()

    def make(name: str) -> Any:
        def listener(config: Any) -> None:
            with lock:
                order.append(name)

        return listener

    settings = Settings(max_dispatch_threads=1)
    names = [f"l{i}" for i in range(10)]
    with ConfigManager(
        source, [make(n) for n in names], clock=FakeClock(), settings=settings
    ) as manager:
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
    assert order == names + names


def test_a_listener_is_never_called_concurrently_with_itself() -> None:
    """Many revisions in a row never overlap two calls of one listener."""
    source = make_source()
    active = 0
    overlaps = 0
    lock = threading.Lock()

    def listener(config: Any) -> None:
        nonlocal active, overlaps
        with lock:
            active += 1
            overlaps += active > 1
        with lock:
            active -= 1

    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        for i in range(200):
            source.set_document(cpu_qos(i % 2 == 0))
        assert manager.wait_idle(TIMEOUT)
    assert overlaps == 0


def test_listener_revisions_never_go_backwards() -> None:
    """Under a burst of pushes a listener's revisions only increase, ending at the newest."""
    source = make_source()
    revisions: list[int] = []

    def listener(config: Any, change: Change) -> None:
        revisions.append(change.revision)

    manager = ConfigManager(source, clock=FakeClock())
    manager.add_listener(listener, with_change=True)
    with manager:
        for i in range(300):
            source.set_document(doc(networkQosConfig={"qosCheckInterval": i + 1}))
        assert manager.wait_idle(TIMEOUT)
        newest = manager.status().last_known_good_revision
    assert revisions == sorted(set(revisions))
    assert revisions[-1] == newest


def test_a_listener_may_add_and_remove_listeners() -> None:
    """Inside a call, add_listener and remove_listener work (no lock is held)."""
    source = make_source()
    late = RecordingListener()
    manager = ConfigManager(source, clock=FakeClock())

    def organiser(config: Any) -> None:
        manager.add_listener(late)
        manager.remove_listener(organiser)

    manager.add_listener(organiser)
    with manager:
        assert manager.wait_idle(TIMEOUT)
        assert manager.listeners == (late,)
    assert late.call_count == 1


def test_wait_idle_is_false_while_a_listener_is_busy() -> None:
    """wait_idle(timeout) returns False when a call is still running at the timeout."""
    gate = threading.Event()
    busy = RecordingListener(gate=gate)
    manager = ConfigManager(make_source(), clock=FakeClock())
    manager.start(TIMEOUT)
    try:
        manager.add_listener(busy)
        assert busy.wait_for_calls(1, TIMEOUT)
        assert manager.wait_idle(0.05) is False  # observing: the call is held at the gate
    finally:
        gate.set()
        manager.stop(TIMEOUT)
