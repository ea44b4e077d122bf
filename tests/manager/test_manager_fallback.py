"""``start(fallback=...)``: a persisted last-known-good delivered when the source gives no
first state in time, superseded by the source's first valid state, and stopped cleanly."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from manager.kit import INVALID, TIMEOUT, RecordingSink, cpu_qos, doc
from nodeconf.concurrency.latch import Latch
from nodeconf.errors import SourceError
from nodeconf.manager import ConfigManager, Fallback, Lifecycle, SourceContext, Started
from nodeconf.model.colocation import COLOCATION
from nodeconf.model.config import ColocationConfig
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


class OutageSource(StaticSource):
    """A ``StaticSource`` behind an outage: ``wait_synced`` returns True only after
    ``come_back`` (False at its timeout, or once cancelled); ``prepare`` raises a temporary
    ``SourceError`` while the outage lasts when ``prepare_fails``. Cancellable."""

    def __init__(self, document: Any = None, *, prepare_fails: bool = False) -> None:
        super().__init__(document)
        self.prepare_fails = prepare_fails
        self.online = Latch()
        self.cancelled = threading.Event()
        self.started = threading.Event()
        self.waiting = threading.Event()  # a wait without a timeout began (the resumed one)
        self.prepares = 0  # written by the manager's start-up steps, one at a time

    def prepare(self, schema: Any, timeout: float | None) -> None:
        self.prepares += 1
        if self.prepare_fails and not self.online.is_set():
            raise SourceError("the API server refused the request", temporary=True)
        super().prepare(schema, timeout)

    def start(self, context: SourceContext) -> None:
        super().start(context)
        self.started.set()

    def wait_synced(self, timeout: float | None) -> bool:
        if timeout is None:
            self.waiting.set()
        return self.online.wait(timeout)

    def cancel(self) -> None:
        self.cancelled.set()
        self.online.cancel()

    def come_back(self) -> None:
        self.online.set()


def _config(enable: bool) -> ColocationConfig:
    document = COLOCATION.parse(json.dumps(cpu_qos(enable)))
    evaluation = COLOCATION.evaluate(document, {})
    assert evaluation.valid
    return evaluation.config


def _fallback(enable: bool = True, **kw: Any) -> Fallback[ColocationConfig]:
    fields: dict[str, Any] = {
        "after_seconds": 0.0,
        "revision": 7,
        "document_version": "rv-41",
        "origin": "state dir /var/lib/nodeconf",
    }
    fields.update(kw)
    return Fallback(_config(enable), **fields)


def _manager(
    source: StaticSource, listener: RecordingListener, sink: RecordingSink | None = None
) -> ConfigManager[ColocationConfig]:
    manager: ConfigManager[ColocationConfig] = ConfigManager(
        source, clock=FakeClock(), sink=sink or RecordingSink()
    )
    manager.add_listener(listener, with_change=True)
    return manager


def test_the_fallback_is_delivered_when_the_source_gives_no_first_state() -> None:
    """The source stays unsynced: start() returns RESTORED after delivering the fallback's
    config, marked restored, and status() names where it came from."""
    source, listener, sink = OutageSource(doc()), RecordingListener(), RecordingSink()
    manager = _manager(source, listener, sink)
    try:
        assert manager.start(TIMEOUT, fallback=_fallback()) is Started.RESTORED
        assert listener.applied == [_config(True)]
        change = listener.changes[0]
        assert change is not None
        assert change.restored
        assert change.revision == 1
        current = manager.current
        assert current is not None
        assert current.restored
        assert current.number == 1
        status = manager.status()
        assert status.restored_from == "state dir /var/lib/nodeconf"
        assert status.restored_revision == 7
        assert status.document_version == "rv-41"
        assert status.evaluations_total == 0
        assert status.synced
        assert sink.wait_for(lambda seen: any(o.kind == "restored" for o in seen))
        restored = sink.of("restored")[0]
        assert restored.revision == 1
        assert "state dir /var/lib/nodeconf" in restored.detail
        assert "revision 7" in restored.detail
    finally:
        report = manager.stop(TIMEOUT)
    assert report.completed


def test_the_live_document_supersedes_the_fallback() -> None:
    """When the source comes back, its config is delivered as revision 2, not restored, and
    status() no longer names a fallback."""
    source, listener = OutageSource(cpu_qos(False)), RecordingListener()
    manager = _manager(source, listener)
    try:
        assert manager.start(TIMEOUT, fallback=_fallback(True)) is Started.RESTORED
        source.come_back()
        assert listener.wait_applied(lambda config: config == _config(False), TIMEOUT)
        change = listener.changes[-1]
        assert change is not None
        assert not change.restored
        assert change.revision == 2
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
        assert status.restored_from == ""
        assert status.restored_revision is None
        assert status.revision == 2
        assert status.evaluations_total == 1
    finally:
        assert manager.stop(TIMEOUT).completed


def test_a_live_config_equal_to_the_fallback_supersedes_it_without_a_call() -> None:
    """The live config equals the fallback: revision 2 replaces it, and the listener, which
    already holds that config, is advanced without being called again."""
    source, listener = OutageSource(cpu_qos(True)), RecordingListener()
    manager = _manager(source, listener)
    try:
        assert manager.start(TIMEOUT, fallback=_fallback(True)) is Started.RESTORED
        source.come_back()
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
        assert status.evaluations_total == 1
        assert status.restored_from == ""
        assert status.last_known_good_revision == 2
        assert status.listener(status.listeners[0].name).applied_revision == 2
        assert len(listener.calls) == 1
        current = manager.current
        assert current is not None
        assert not current.restored
    finally:
        assert manager.stop(TIMEOUT).completed


def test_notifications_before_the_first_state_run_no_sync() -> None:
    """A source that notifies during the outage does not make the manager read its
    incomplete state: the sync waits for the source's first complete state."""
    source, listener = OutageSource(doc()), RecordingListener()
    manager = _manager(source, listener)
    try:
        assert manager.start(TIMEOUT, fallback=_fallback()) is Started.RESTORED
        assert source.started.wait(TIMEOUT)
        source.set_document(cpu_qos(False))  # notifies the manager
        # A worker hands out a wanted sync before any listener call: once a listener added
        # after the notification has applied, a sync that could run has been handed out.
        later = RecordingListener()
        manager.add_listener(later)
        assert later.wait_for_calls(1, TIMEOUT)
        assert later.wait_applied(lambda config: config == _config(True), TIMEOUT)
        status = manager.status()
        assert status.evaluations_total == 0
        assert status.sync_queue_depth == 1
        assert status.restored_from != ""
        source.come_back()
        assert listener.wait_applied(lambda config: config == _config(False), TIMEOUT)
    finally:
        assert manager.stop(TIMEOUT).completed


def test_an_invalid_live_document_leaves_the_fallback_in_force() -> None:
    """The source comes back with a document invalid for this node: nothing is delivered,
    the fallback stays the last-known-good, and status() says both."""
    source, listener = OutageSource(INVALID), RecordingListener()
    manager = _manager(source, listener)
    try:
        assert manager.start(TIMEOUT, fallback=_fallback()) is Started.RESTORED
        source.come_back()
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
        assert status.evaluations_total == 1
        assert status.last_error != ""
        assert status.last_known_good_revision == 1
        assert status.restored_from == "state dir /var/lib/nodeconf"
        assert listener.applied == [_config(True)]
    finally:
        assert manager.stop(TIMEOUT).completed


def test_a_failing_prepare_is_retried_once_in_the_background_then_the_source_starts() -> None:
    """prepare() fails at start: the fallback is delivered; in the background prepare is
    tried once more, its failure reported, and the source started anyway; when it comes back
    its document supersedes the fallback."""
    source = OutageSource(cpu_qos(False), prepare_fails=True)
    listener, sink = RecordingListener(), RecordingSink()
    manager = _manager(source, listener, sink)
    try:
        assert manager.start(TIMEOUT, fallback=_fallback()) is Started.RESTORED
        assert source.started.wait(TIMEOUT)
        assert sink.wait_for(lambda seen: any(o.detail == "source-error" for o in seen))
        error = next(o for o in sink.outcomes if o.detail == "source-error").error
        assert error.startswith("prepare: SourceError")
        assert "refused" in error
        assert source.prepares == 2
        assert manager.status().source_error == error
        source.come_back()
        assert listener.wait_applied(lambda config: config == _config(False), TIMEOUT)
    finally:
        assert manager.stop(TIMEOUT).completed


def test_a_source_synced_in_time_never_sees_the_fallback() -> None:
    """With the source synced before after_seconds, the fallback is not used."""
    source, listener = StaticSource(cpu_qos(False)), RecordingListener()
    manager = _manager(source, listener)
    try:
        started = manager.start(TIMEOUT, fallback=_fallback(after_seconds=TIMEOUT))
        assert started is Started.APPLIED
        assert listener.applied == [_config(False)]
        assert manager.status().restored_from == ""
    finally:
        assert manager.stop(TIMEOUT).completed


def test_without_a_fallback_a_source_that_never_syncs_still_fails_start() -> None:
    """No fallback: start() raises SourceError as before and the manager is stopped."""
    source = OutageSource(doc())
    manager = _manager(source, RecordingListener())
    with pytest.raises(SourceError, match="first complete state"):
        manager.start(0.0)
    assert manager.lifecycle is Lifecycle.STOPPED


def test_stop_during_the_background_wait_is_complete_and_prompt() -> None:
    """stop() while the resumed start-up waits for the source: the wait is cancelled, the
    source stopped, the report complete, and no source thread or worker is left."""
    source, listener = OutageSource(doc()), RecordingListener()
    manager = _manager(source, listener)
    assert manager.start(TIMEOUT, fallback=_fallback()) is Started.RESTORED
    assert source.waiting.wait(TIMEOUT)
    report = manager.stop(TIMEOUT)
    assert report.completed
    assert report.source_stopped
    assert manager.lifecycle is Lifecycle.STOPPED
    assert source.cancelled.is_set()


def test_stop_from_the_listener_receiving_the_fallback_is_complete() -> None:
    """A listener that calls stop() on receiving the fallback hands the stop to a stopper
    thread; the stop completes (the background wait is cancelled)."""
    source = OutageSource(doc())
    reports: list[Any] = []
    box: list[ConfigManager[ColocationConfig]] = []

    def stop_on_restored(config: ColocationConfig) -> None:
        reports.append(box[0].stop(TIMEOUT))

    manager: ConfigManager[ColocationConfig] = ConfigManager(source, clock=FakeClock())
    box.append(manager)
    manager.add_listener(stop_on_restored)
    started = manager.start(TIMEOUT, fallback=_fallback())
    assert started in (Started.RESTORED, Started.STOPPED)
    assert manager.stop(TIMEOUT).completed
    assert reports
    assert reports[0].stopped_from_listener


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"after_seconds": -1.0}, "after_seconds must be a finite number >= 0, got -1.0"),
        ({"after_seconds": float("inf")}, "after_seconds must be a finite number >= 0"),
        ({"revision": -2}, "revision must be >= 0, got -2"),
        ({"origin": ""}, "origin must not be empty"),
    ],
)
def test_a_bad_fallback_is_refused_with_the_field_named(
    fields: dict[str, Any], message: str
) -> None:
    """Fallback's fields are checked at construction; the error names field and value."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Fallback(_config(True), **fields)
