"""The worker pool: one thread hand-off per change, and isolation kept without extra ones.

The worker that computes a revision goes straight on to deliver it (the change crosses
threads once: source -> worker). Isolation does not depend on that worker: when its listener
hangs, another worker takes the next changes and the other listeners.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from manager.kit import TIMEOUT, cpu_qos, doc
from nodeconf.manager import Change, ConfigManager, Settings
from nodeconf.model.colocation import COLOCATION
from nodeconf.model.seam import Document, Evaluation
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


class ThreadNotingSchema:
    """The colocation schema, noting which thread evaluated which config.

    Thread-safety: ``_lock`` guards ``evaluated_on``; the rest delegates to the (pure) schema.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.evaluated_on: dict[Any, str] = {}  # config -> thread name (latest evaluation)

    def __getattr__(self, name: str) -> Any:
        return getattr(COLOCATION, name)

    def evaluate(self, document: Document | None, node_labels: Mapping[str, str]) -> Evaluation:
        evaluation = COLOCATION.evaluate(document, node_labels)
        with self._lock:
            self.evaluated_on[evaluation.config] = threading.current_thread().name
        return evaluation


def test_the_worker_that_computes_a_revision_delivers_it() -> None:
    """A listener is called on the very worker thread that evaluated the new config: one
    thread hand-off (source -> worker) per change, not two."""
    schema = ThreadNotingSchema()
    source = StaticSource(cpu_qos(False))
    calls: list[tuple[Any, str]] = []

    def listener(config: Any) -> None:
        calls.append((config, threading.current_thread().name))

    with ConfigManager(source, [listener], schema=schema, clock=FakeClock()) as manager:  # type: ignore[arg-type]
        # Every revision a different config: evaluated_on is keyed by the config.
        for document in (
            cpu_qos(True),
            doc(cpuBurstConfig={"enable": True}),
            doc(memoryQosConfig={"enable": False}),
        ):
            source.set_document(document)
            assert manager.wait_idle(TIMEOUT)
    assert len(calls) == 4
    for config, thread in calls[1:]:
        assert thread.startswith("nodeconf-worker-")
        assert thread == schema.evaluated_on[config]


def test_a_listener_hanging_on_the_syncing_worker_holds_back_nobody() -> None:
    """The first listener hangs on the worker that computed the revision; the next changes
    are still computed and still reach the second listener."""
    gate = threading.Event()
    gate.set()
    hung = RecordingListener(gate=gate)
    healthy = RecordingListener()
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, clock=FakeClock())
    manager.add_listener(hung, name="hung")
    manager.add_listener(healthy, name="healthy")
    manager.start(TIMEOUT)
    try:
        gate.clear()
        source.set_document(cpu_qos(True))
        assert hung.wait_for_calls(2, TIMEOUT)  # hanging in revision 2
        assert healthy.wait_for_calls(2, TIMEOUT)
        source.set_document(doc(cpuBurstConfig={"enable": True}))
        assert healthy.wait_for_calls(3, TIMEOUT), "revision 3 was held back by the hung call"
        assert manager.status().revision == 3
        assert hung.call_count == 2
    finally:
        gate.set()
        assert manager.stop(TIMEOUT).completed
    assert hung.call_count == 3  # released, it goes straight to the newest revision
    assert hung.last == healthy.last


class Tracker:
    """A listener that lets a test wait until it received a given config.

    Thread-safety: ``_cond`` guards ``_received``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._received: list[Any] = []

    def sync_config(self, config: Any) -> None:
        with self._cond:
            self._received.append(config)
            self._cond.notify_all()

    def wait_for(self, config: Any) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: config in self._received, TIMEOUT)


def test_changes_pushed_during_a_long_call_reach_that_listener_as_one_call() -> None:
    """Revisions computed while a listener is busy reach it as one call with the newest,
    whose Change spans everything since its last apply."""
    gate = threading.Event()
    gate.set()
    changes: list[Change] = []
    entered = threading.Semaphore(0)

    def busy(config: Any, change: Change) -> None:
        changes.append(change)
        entered.release()
        assert gate.wait(TIMEOUT)

    tracker = Tracker()
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, clock=FakeClock())
    manager.add_listener(busy, with_change=True)
    manager.add_listener(tracker)
    with manager:
        assert entered.acquire(timeout=TIMEOUT)  # the first call (start)
        gate.clear()
        source.set_document(cpu_qos(True))
        assert entered.acquire(timeout=TIMEOUT)  # revision 2, held at the gate
        for n in range(3, 7):
            source.set_document(doc(networkQosConfig={"qosCheckInterval": n}))
        text = source.document
        assert isinstance(text, str)
        final = COLOCATION.evaluate(COLOCATION.parse(text), {}).config
        assert tracker.wait_for(final)  # the newest revision exists
        newest = manager.status().revision
        gate.set()
        assert manager.wait_idle(TIMEOUT)
    assert [c.revision for c in changes] == [1, 2, newest]
    assert changes[2].previous_revision == 2
    assert changes[2].sections == {"cpuQosConfig", "networkQosConfig"}


def test_serial_settings_still_sync_while_a_call_hangs() -> None:
    """With max_dispatch_threads=1 calls wait for each other, but the manager keeps
    computing revisions (status shows the newest) while a call hangs."""
    gate = threading.Event()
    gate.set()
    hung = RecordingListener(gate=gate)
    source = StaticSource(cpu_qos(False))
    settings = Settings(max_dispatch_threads=1)
    manager = ConfigManager(source, [hung], clock=FakeClock(), settings=settings)
    manager.start(TIMEOUT)
    try:
        gate.clear()
        source.set_document(cpu_qos(True))
        assert hung.wait_for_calls(2, TIMEOUT)
        source.set_document(doc(cpuBurstConfig={"enable": True}))
        assert manager.wait_idle(0.05) is False  # observing: the call still hangs
        assert manager.status().revision == 3
    finally:
        gate.set()
        assert manager.stop(TIMEOUT).completed
    assert hung.call_count == 3


FIRST_TWO = frozenset({"nodeconf-worker-1", "nodeconf-worker-2"})


@pytest.mark.thread_unsafe(reason="makes starting any new manager thread fail")
def test_a_worker_that_cannot_start_does_not_wedge_delivery(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the pool must grow but the thread cannot start, the free worker delivers
    anyway (isolation degrades, progress does not) and stop() still completes. Three
    listeners, two workers: with one worker hung and the other calling the second listener,
    the third is queued with every worker busy, so the pool must try to grow."""
    gate = threading.Event()
    gate.set()
    hung = RecordingListener(gate=gate)
    healthy = RecordingListener()
    healthy2 = RecordingListener()
    source = StaticSource(cpu_qos(False))
    manager = ConfigManager(source, clock=FakeClock())
    manager.add_listener(hung, name="hung")
    manager.add_listener(healthy, name="healthy")
    manager.add_listener(healthy2, name="healthy2")
    start = threading.Thread.start

    def only_two_workers(thread: threading.Thread) -> None:
        """The pool's first two workers start; any further one cannot."""
        if thread.name.startswith("nodeconf-worker-") and thread.name not in FIRST_TWO:
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", only_two_workers)
    manager.start(TIMEOUT)
    assert manager.wait_idle(TIMEOUT)
    caplog.clear()
    try:
        gate.clear()
        source.set_document(cpu_qos(True))
        assert hung.wait_for_calls(2, TIMEOUT)  # one worker hangs here
        assert healthy.wait_for_calls(2, TIMEOUT), "the other worker did not deliver"
        assert healthy2.wait_for_calls(2, TIMEOUT), "the other worker did not deliver"
    finally:
        gate.set()
    monkeypatch.undo()
    assert manager.stop(TIMEOUT).completed
    assert "could not start the manager thread" in caplog.text  # the pool did try to grow


@pytest.mark.thread_unsafe(reason="counts the process's manager threads")
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_dispatch_threads_starts_that_many_workers(threads: int) -> None:
    """``Settings(dispatch_threads=N)`` starts exactly N worker threads (issue 10: it used to
    start N + 1)."""
    settings = Settings(dispatch_threads=threads)
    before = {t for t in threading.enumerate() if t.name.startswith("nodeconf-worker")}
    with ConfigManager(StaticSource(cpu_qos(True)), settings=settings, clock=FakeClock()) as m:
        assert m.wait_idle(TIMEOUT)
        mine = {t for t in threading.enumerate() if t.name.startswith("nodeconf-worker")} - before
        assert len(mine) == threads
