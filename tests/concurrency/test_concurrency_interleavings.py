"""Small hand-offs explored schedule by schedule with a controlled scheduler (interleave-test).

Each model is a tiny scenario (a waiter and an advance; a worker and add/done/shutdown) run
under ``interleave_test.explore``: one thread runs at a time and the tool chooses who runs next
at every line of our code and at every lock/condition operation. ``strategy="dfs"`` with
``max_preemptions=2`` enumerates *every* schedule with at most two preemptions
(``result.exhausted`` proves the bounded space was covered), ``"pct"`` samples deeper schedules
with a fixed seed. The work-queue models, which run through many more lines, are explored
exhaustively up to one preemption only (to keep ``make test-ft`` short), plus the same PCT
sampling. A lost wake-up shows as ``DeadlockError`` (every thread blocked), a broken
invariant as ``RaceFound``; either names the schedule, which ``interleave_test.replay`` re-runs
exactly. This is the deterministic complement of test_concurrency_races.py, which samples the
same races with real threads (and catches them reliably only on the free-threaded build).

interleave-test needs Python >= 3.12 (it is built on ``sys.monitoring``): on the 3.11 default
interpreter this module is skipped; it runs under ``make test-ft`` (CPython 3.13t).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from tests.concurrency.clockkit import wait_out
from tests.concurrency.queuekit import serve

from nodeconf.concurrency import FakeClock, QueueShutDown, WorkQueue

it = pytest.importorskip(
    "interleave_test",
    reason=(
        "interleave-test is not installed: it needs Python >= 3.12 (sys.monitoring), so it is"
        " pinned for, and runs under, `make test-ft` (CPython 3.13t)"
    ),
)

# explore() is not reentrant: one exploration per process at a time.
pytestmark = [pytest.mark.concurrency, pytest.mark.thread_unsafe]

#: Every schedule with at most this many preemptions, at line granularity, is explored:
#: for the clock models, and (cheaper) for the work-queue models.
CLOCK_PREEMPTIONS = 2
QUEUE_PREEMPTIONS = 1
#: Cap on schedules for the bounded-exhaustive search (a model that needs more fails).
DFS_CAP = 20_000
#: Sampled deeper schedules per model (PCT), with a fixed seed so a failure replays.
PCT_RUNS = 200
PCT_SEED = 20_260_501


def explore_all(model: Callable[[], None], preemptions: int) -> None:
    """Explore ``model`` exhaustively up to ``preemptions``, then with seeded PCT sampling."""
    result = it.explore(
        model,
        strategy="dfs",
        max_preemptions=preemptions,
        iterations=DFS_CAP,
        granularity="line",
    )
    assert result.ok
    assert result.exhausted, f"the bounded search did not finish within {DFS_CAP} schedules"
    sampled = it.explore(model, strategy="pct", iterations=PCT_RUNS, seed=PCT_SEED)
    assert sampled.ok


def test_every_schedule_of_an_advance_racing_a_new_waiter_wakes_it() -> None:
    """Whatever the schedule, a FakeClock advance past a deadline ends the wait of a thread
    that is registering at the same time (the suspected lost wake-up does not exist)."""

    def model() -> None:
        clock = FakeClock()
        cond = threading.Condition()

        task = it.spawn(wait_out, clock, cond, 1.0)
        clock.advance(1.0)
        task.join()

    explore_all(model, CLOCK_PREEMPTIONS)


def test_every_schedule_of_wait_for_parked_then_advance_delivers_each_tick() -> None:
    """Whatever the schedule, wait_for_parked + advance, twice, gives a ticker on a relative
    timeout exactly two ticks: a waiter woken by an advance is not counted until it re-parks."""

    def model() -> None:
        clock = FakeClock()
        cond = threading.Condition()
        ticks: list[float] = []

        def ticker() -> None:
            with cond:
                while len(ticks) < 2:
                    if not clock.wait(cond, 1.0):
                        ticks.append(clock.now())

        task = it.spawn(ticker)
        for _ in range(2):
            assert clock.wait_for_parked(1, timeout=None)
            clock.advance(1.0)
        task.join()
        assert ticks == [1.0, 2.0]

    explore_all(model, CLOCK_PREEMPTIONS)


def test_every_schedule_of_a_re_add_racing_done_then_a_drain_processes_it_again() -> None:
    """Whatever the schedule: a key re-added while a worker processes it is processed again,
    never by two at once, and the drain that follows completes with nothing dropped."""

    def model() -> None:
        queue = WorkQueue[str](clock=FakeClock())
        processing: list[str] = []
        starts: list[str] = []

        def handle(key: str) -> None:
            assert key not in processing, f"{key} handed out twice at once"
            processing.append(key)
            starts.append(key)
            processing.remove(key)

        task = it.spawn(lambda: serve(queue, handle))
        queue.add("a")
        queue.add("a")
        report = queue.shut_down_with_drain()
        task.join()
        assert report.completed
        assert report.dropped == ()
        assert starts in (["a"], ["a", "a"])  # the adds collapse, or the second re-queues

    explore_all(model, QUEUE_PREEMPTIONS)


def test_every_schedule_of_a_due_key_racing_a_parking_worker_hands_it_out() -> None:
    """Whatever the schedule, a delayed key made due by an advance reaches a worker that is
    entering get at the same time."""

    def model() -> None:
        clock = FakeClock()
        queue = WorkQueue[str](clock=clock)
        got: list[str] = []
        task = it.spawn(lambda: got.append(queue.get()))
        queue.add_after("k", 1.0)
        clock.advance(1.0)
        task.join()
        assert got == ["k"]

    explore_all(model, QUEUE_PREEMPTIONS)


def test_every_schedule_of_a_shutdown_racing_get_stops_the_worker() -> None:
    """Whatever the schedule, an immediate shutdown makes a worker's get raise QueueShutDown,
    parked or not yet."""

    def model() -> None:
        queue = WorkQueue[str](clock=FakeClock())
        stopped: list[bool] = []

        def worker() -> None:
            try:
                queue.get()
            except QueueShutDown:
                stopped.append(True)

        task = it.spawn(worker)
        queue.shut_down()
        task.join()
        assert stopped == [True]

    explore_all(model, QUEUE_PREEMPTIONS)


def test_every_schedule_of_wait_idle_racing_done_and_add_returns() -> None:
    """Whatever the schedule, wait_idle racing a done, a new add and its done returns True:
    every transition to idle wakes it (see test_workqueue_edges.py for the fleeting one)."""

    def model() -> None:
        queue = WorkQueue[str](clock=FakeClock())
        queue.add("a")
        key = queue.get(timeout=0)
        idle: list[bool] = []
        task = it.spawn(lambda: idle.append(queue.wait_idle()))
        queue.done(key)
        queue.add("b")
        queue.done(queue.get(timeout=0))
        task.join()
        assert idle == [True]

    explore_all(model, QUEUE_PREEMPTIONS)


def test_every_schedule_of_workers_waiting_for_a_re_added_key_during_a_drain_ends_them() -> None:
    """Whatever the schedule, when a drainer holding a re-added key finishes it, the key is
    handed out once more and every worker waiting for it exits."""

    def model() -> None:
        queue = WorkQueue[str](clock=FakeClock())
        queue.add("a")
        key = queue.get(timeout=0)
        queue.add("a")  # re-added while we hold it: comes back when done
        handled: list[str] = []

        tasks = [it.spawn(lambda: serve(queue, handled.append)) for _ in range(2)]
        report = queue.shut_down_with_drain()  # returns at once: only our own key is left
        assert report.caller_in_flight == ("a",)
        queue.done(key)
        for task in tasks:
            task.join()
        assert handled == ["a"]

    explore_all(model, QUEUE_PREEMPTIONS)


def test_every_schedule_of_a_drain_with_two_workers_and_a_re_add_ends_them_all() -> None:
    """Whatever the schedule (sampled: the space is large), a drain racing two workers, one of
    which re-adds its key while processing it, hands out every accepted key, completes, and
    both workers exit."""

    def model() -> None:
        queue = WorkQueue[str](clock=FakeClock())
        queue.add("a")
        queue.add("b")
        handled: list[str] = []
        re_added: list[bool] = []

        def handle(key: str) -> None:
            if key == "a" and "a" not in handled:
                # Accepted before the drain starts: must come back once; refused after.
                re_added.append(queue.add("a"))
            handled.append(key)

        tasks = [it.spawn(lambda: serve(queue, handle)) for _ in range(2)]
        report = queue.shut_down_with_drain()
        for task in tasks:
            task.join()
        assert report.completed
        assert sorted(handled) == (["a", "a", "b"] if re_added == [True] else ["a", "b"])

    sampled = it.explore(model, strategy="pct", iterations=PCT_RUNS, seed=PCT_SEED)
    assert sampled.ok
