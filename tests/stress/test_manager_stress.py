"""Stress: many threads share one manager under a tiny switch interval; exact final states.

Each test starts its own threads (pushers, listener churners, stoppers), joins them, and then
checks the final state exactly: every listener holds the final config, revisions only went up,
no listener was ever called concurrently with itself or with an invalid config, and nothing ran
after ``stop()`` returned. On the free-threaded build (``make test-ft``) they run one at a time.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nodeconf.manager import Change, ConfigManager, Lifecycle
from nodeconf.model.colocation import COLOCATION
from nodeconf.model.seam import EffectiveConfig
from nodeconf.testing import FakeClock, StaticSource

pytestmark = [pytest.mark.stress, pytest.mark.concurrency]

TIMEOUT = 120.0  # real seconds; only bounds a failure
PUSH_THREADS = 8
PUSHES_PER_THREAD = 10_000
LISTENERS = 50


def valid_text(n: int) -> str:
    return json.dumps({"globalConfig": {"networkQosConfig": {"qosCheckInterval": n + 1}}})


#: 16 valid documents, each with its own effective config, and 2 invalid ones.
VALID_TEXTS = [valid_text(n) for n in range(16)]
INVALID_TEXTS = [
    json.dumps({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": -1}}}),
    '{"globalConfig": ',
]
VALID_CONFIGS = frozenset(
    COLOCATION.evaluate(COLOCATION.parse(text), {}).config for text in VALID_TEXTS
)


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    """Switch threads as often as the interpreter allows (restored afterwards)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class CheckingListener:
    """Checks, on every call, what the manager promises; records violations for the test.

    Thread-safety: ``_lock`` guards every field.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0  # calls in progress
        self.overlaps = 0  # calls that began while another was in progress
        self.invalid = 0  # configs outside VALID_CONFIGS
        self.revisions: list[int] = []
        self.last: EffectiveConfig | None = None
        self.started = 0

    def sync_config(self, config: EffectiveConfig, change: Change) -> None:
        with self._lock:
            self.started += 1
            self.active += 1
            self.overlaps += self.active > 1
            self.invalid += config not in VALID_CONFIGS
        with self._lock:
            self.revisions.append(change.revision)
            self.last = config
            self.active -= 1

    def check(self) -> tuple[int, int, bool]:
        """(overlapping calls, invalid configs, revisions never went down).

        Removed and added again, a listener is a new registration that receives the current
        revision, which it may have had before: revisions repeat but never go back.
        """
        with self._lock:
            revisions = self.revisions
            ordered = all(a <= b for a, b in itertools.pairwise(revisions))
            return self.overlaps, self.invalid, ordered

    def calls(self) -> int:
        with self._lock:
            return self.started


def run_threads(*targets: Any) -> None:
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker thread did not finish"


@pytest.mark.usefixtures("tiny_switch_interval")
def test_eight_threads_push_while_fifty_listeners_come_and_go() -> None:
    """8 threads x 10,000 pushes (valid and invalid) while 50 listeners are added and removed
    concurrently: afterwards every listener holds the final config, with no invalid config,
    no overlapping call and strictly increasing revisions."""
    source = StaticSource(VALID_TEXTS[0])
    listeners = [CheckingListener() for _ in range(LISTENERS)]
    manager = ConfigManager(source, clock=FakeClock())
    manager.start(TIMEOUT)
    errors: list[BaseException] = []

    def pusher(index: int) -> None:
        try:
            for i in range(PUSHES_PER_THREAD):
                k = index * 31 + i
                text = INVALID_TEXTS[k % 2] if k % 9 == 0 else VALID_TEXTS[k % 16]
                source.set_document(text)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    def churner(mine: list[CheckingListener]) -> None:
        try:
            for round_ in range(20):
                for listener in mine:
                    manager.add_listener(listener, with_change=True)
                if round_ < 19:
                    for listener in mine:
                        assert manager.remove_listener(listener)
        except BaseException as exc:
            errors.append(exc)

    half = LISTENERS // 2
    run_threads(
        *[lambda i=i: pusher(i) for i in range(PUSH_THREADS)],
        lambda: churner(listeners[:half]),
        lambda: churner(listeners[half:]),
    )
    assert errors == []
    source.set_document(VALID_TEXTS[5])  # the final state is known
    assert manager.wait_idle(TIMEOUT)
    final = COLOCATION.evaluate(COLOCATION.parse(VALID_TEXTS[5]), {}).config
    status = manager.status()
    report = manager.stop(TIMEOUT)

    assert report.completed
    assert manager.current is not None
    assert manager.current.config == final  # type: ignore[union-attr]
    assert status.synced
    assert len(status.listeners) == LISTENERS
    for listener in listeners:
        assert listener.check() == (0, 0, True)
        assert listener.last == final


def race_stop_against_pushes_and_churn() -> None:
    """One round: two pushers, a listener churner and stop() start together."""
    source = StaticSource(VALID_TEXTS[0])
    listeners = [CheckingListener() for _ in range(8)]
    manager = ConfigManager(source, clock=FakeClock())
    for listener in listeners[:4]:
        manager.add_listener(listener, with_change=True)
    manager.start(TIMEOUT)
    reports: list[Any] = []
    frozen: list[int] = []

    def total() -> int:
        return sum(listener.calls() for listener in listeners)

    def pusher(offset: int) -> None:
        for i in range(300):
            source.set_document(VALID_TEXTS[(offset + i) % 16])

    def churner() -> None:
        for _ in range(30):
            for listener in listeners[4:]:
                manager.add_listener(listener, with_change=True)
            for listener in listeners[4:]:
                manager.remove_listener(listener)

    def stopper() -> None:
        reports.append(manager.stop(TIMEOUT))
        frozen.append(total())

    run_threads(lambda: pusher(0), lambda: pusher(7), churner, stopper)
    assert reports[0].completed, reports[0]
    assert manager.lifecycle is Lifecycle.STOPPED
    assert total() == frozen[0]  # nothing started after stop() returned
    for listener in listeners:
        assert listener.check() == (0, 0, True)


@pytest.mark.usefixtures("tiny_switch_interval")
def test_threads_sharing_one_manager_with_stop_racing_the_worker() -> None:
    """Pushers, listener churn and a stop() racing them, 30 times: stop completes, no call
    starts after it returned, and every call saw a valid config."""
    for _ in range(30):
        race_stop_against_pushes_and_churn()


@pytest.mark.usefixtures("tiny_switch_interval")
def test_reading_listener_state_right_after_stop_is_race_free() -> None:
    """The seed article's race, inverted: a listener writes a plain attribute with no lock;
    the test reads it right after stop(), 300 times, and always sees the final value."""

    class Flag:
        def __init__(self) -> None:
            self.called_with: Any = None  # written by a dispatcher, read after stop()

        def sync_config(self, config: Any) -> None:
            self.called_with = config

    final = COLOCATION.evaluate(COLOCATION.parse(VALID_TEXTS[3]), {}).config
    for _ in range(300):
        flag = Flag()
        source = StaticSource(VALID_TEXTS[0])
        manager = ConfigManager(source, [flag], clock=FakeClock())
        manager.start(TIMEOUT)
        source.set_document(VALID_TEXTS[3])
        assert manager.stop(TIMEOUT).completed
        assert flag.called_with == final


class EntryLog:
    """Numbers every listener entry, process-wide; the test reads the counter right after
    ``stop()`` returns and later checks who entered after that.

    Thread-safety: ``_cond`` guards ``entries``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.entries: list[str] = []  # listener names, in entry order

    def listener(self, name: str) -> Any:
        def enter(config: Any) -> None:
            with self._cond:
                self.entries.append(name)
                self._cond.notify_all()

        return enter

    def count(self) -> int:
        with self._cond:
            return len(self.entries)

    def wait_for_count(self, n: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.entries) >= n, TIMEOUT)

    def since(self, index: int) -> list[str]:
        with self._cond:
            return self.entries[index:]


def stop_at_a_deadline_while_pushing(timeout: float) -> None:
    """One round: listeners are being called for a stream of pushes when stop(timeout) hits
    its deadline; whatever enters a listener after stop() returned was in still_running."""
    log = EntryLog()
    source = StaticSource(VALID_TEXTS[0])
    manager = ConfigManager(source, clock=FakeClock())
    for i in range(6):
        manager.add_listener(log.listener(f"l{i}"), name=f"l{i}")
    manager.start(TIMEOUT)
    halt = threading.Event()

    def pusher() -> None:
        i = 0
        while not halt.is_set():
            i += 1
            source.set_document(VALID_TEXTS[i % 16])

    thread = threading.Thread(target=pusher)
    thread.start()
    try:
        assert log.wait_for_count(log.count() + 12)  # deliveries are flowing
        report = manager.stop(timeout)
        returned_at = log.count()
    finally:
        halt.set()
        thread.join(TIMEOUT)
    final = manager.stop(TIMEOUT)
    assert manager.lifecycle is Lifecycle.STOPPED
    late = log.since(returned_at)
    assert sorted(late) == sorted(set(late)), late  # at most one late entry per listener
    assert set(late) <= set(report.still_running), (late, report)
    assert final.still_running == ()


@pytest.mark.usefixtures("tiny_switch_interval")
def test_nothing_enters_a_listener_after_stop_unless_reported_running() -> None:
    """stop() with deadlines of 0 to 1 ms racing deliveries, 200 times: every listener entry
    after stop() returned belongs to a call it listed in still_running."""
    for round_ in range(200):
        stop_at_a_deadline_while_pushing((round_ % 3) * 0.0005)
