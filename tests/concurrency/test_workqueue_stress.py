"""Stress: many producers and workers on a tiny key space with a tiny switch interval.

Final-state checks, per key: the last processing start came after the last add (so no add was
ever lost), and no key was ever held by two workers at once. The storm runs in rounds, each
ending with the queue going idle and the check, so that each round's last adds (which often
land while their key is processing) are checked too. Runs on the free-threaded build as well
(``make test-ft``), where unlocked races actually show.
"""

from __future__ import annotations

import sys
import threading

import pytest
from tests.concurrency.queuekit import serve

from nodeconf.concurrency import WorkQueue

pytestmark = [pytest.mark.concurrency, pytest.mark.stress]

PRODUCERS = 8
ADDS_PER_PRODUCER = 10_000
ROUNDS = 20
WORKERS = 4
KEYS = [f"key-{i}" for i in range(6)]
#: Iterations of busy work per processing, so that adds often land while a key is processing.
WORK_SPIN = 200


class Ledger:
    """A global sequence of events: adds and processing starts, stamped under one lock.

    A producer stamps its add *before* calling ``queue.add`` (the state changed, then the
    queue was told); a worker stamps the start of processing right after ``get`` (the
    moment it would read the latest state). No add is lost iff, for every key, some start
    is stamped after the key's last add.

    Thread-safety: ``_lock`` guards every field.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0  # guarded by _lock
        self._last_add: dict[str, int] = {}  # guarded by _lock
        self._last_start: dict[str, int] = {}  # guarded by _lock
        self._holders: dict[str, int] = {}  # guarded by _lock: key -> worker thread ident
        self._overlaps: list[str] = []  # guarded by _lock
        self._starts = 0  # guarded by _lock

    def stamp_add(self, key: str) -> None:
        with self._lock:
            self._seq += 1
            self._last_add[key] = self._seq

    def begin(self, key: str) -> None:
        me = threading.get_ident()
        with self._lock:
            self._seq += 1
            self._last_start[key] = self._seq
            self._starts += 1
            if key in self._holders:
                self._overlaps.append(f"{key}: {self._holders[key]} and {me}")
            self._holders[key] = me

    def end(self, key: str) -> None:
        with self._lock:
            del self._holders[key]

    def lost(self) -> dict[str, tuple[int, int]]:
        """Keys whose last add was never followed by a processing start."""
        with self._lock:
            return {
                key: (added, self._last_start.get(key, -1))
                for key, added in self._last_add.items()
                if self._last_start.get(key, -1) < added
            }

    def overlaps(self) -> list[str]:
        with self._lock:
            return list(self._overlaps)

    def starts(self) -> int:
        with self._lock:
            return self._starts


def test_no_add_is_lost_and_no_key_is_processed_twice_at_once(background) -> None:
    """8 producers x 10,000 adds, 4 workers: after every round each key was processed after its
    last add, and no key was ever held by two workers at once."""
    queue = WorkQueue[str](name="stress")
    ledger = Ledger()
    adds_per_round = ADDS_PER_PRODUCER // ROUNDS
    round_start = threading.Barrier(PRODUCERS + 1)
    round_end = threading.Barrier(PRODUCERS + 1)

    def produce(offset: int) -> None:
        for _ in range(ROUNDS):
            round_start.wait(60.0)
            for i in range(adds_per_round):
                key = KEYS[(i * 7 + offset) % len(KEYS)]
                ledger.stamp_add(key)
                queue.add(key)
            round_end.wait(60.0)

    def handle(key: str) -> None:
        ledger.begin(key)
        for _ in range(WORK_SPIN):  # busy work: widen the window for re-adds
            pass
        ledger.end(key)

    def work() -> None:
        serve(queue, handle)

    lost_by_round: list[dict[str, tuple[int, int]]] = []
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [background(work) for _ in range(WORKERS)]
        producers = [background(produce, n) for n in range(PRODUCERS)]
        try:
            for _ in range(ROUNDS):
                round_start.wait(60.0)
                round_end.wait(60.0)
                assert queue.wait_idle(timeout=60.0), f"queue never went idle: {queue!r}"
                lost_by_round.append(ledger.lost())
        finally:
            report = queue.shut_down_with_drain(timeout=60.0)
            round_start.abort()  # frees producers if a round failed part-way
            round_end.abort()
            for handle in [*producers, *workers]:
                handle.error(60.0)
    finally:
        sys.setswitchinterval(previous)

    assert report.completed is True
    assert report.dropped == ()
    assert ledger.overlaps() == []
    assert [lost for lost in lost_by_round if lost] == []
    stats = queue.stats()
    assert stats.handed_out_total == stats.done_total == ledger.starts()
    assert stats.adds_total + stats.collapsed_total == PRODUCERS * ADDS_PER_PRODUCER
