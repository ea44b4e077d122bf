"""Small hand-offs explored schedule by schedule with a controlled scheduler (interleave-test).

Each model is a tiny scenario (a waiter and an advance; the manager's workers and a push, an
added listener or a stop) run
under ``interleave_test.explore``: one thread runs at a time and the tool chooses who runs next
at every line of our code and at every lock/condition operation. ``strategy="dfs"`` with
``max_preemptions=2`` enumerates *every* schedule with at most two preemptions
(``result.exhausted`` proves the bounded space was covered), ``"pct"`` samples deeper schedules
with a fixed seed. The manager models build a ``ConfigManager`` inside the model, so its
real worker threads, locks and conditions are the tool's; they run through far more lines
per schedule than a bounded-exhaustive search can cover in CI's budget, so they are sampled
with seeded PCT (preempting inside ``nodeconf/manager`` and at lock and condition
operations); the pure scheduler they drive is covered exhaustively in spirit by the
hypothesis state machine of tests/manager/test_scheduler_machine.py.
A lost wake-up shows as ``DeadlockError`` (every thread blocked), a broken invariant as
``RaceFound``; either names the schedule, which ``interleave_test.replay`` re-runs
exactly. This is the deterministic complement of test_concurrency_races.py, which samples the
same races with real threads (and catches them reliably only on the free-threaded build).

interleave-test needs Python >= 3.12 (it is built on ``sys.monitoring``): on the 3.11 default
interpreter this module is skipped; it runs under ``make test-ft`` (CPython 3.13t).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.concurrency.clockkit import wait_out

import nodeconf.manager
from nodeconf import ConfigManager, Lifecycle
from nodeconf.concurrency import FakeClock
from nodeconf.testing import RecordingListener, StaticSource

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
#: for the clock models, and (cheaper) for the manager models.
CLOCK_PREEMPTIONS = 2
#: Sampled schedules per manager model (PCT, fixed seed).
MANAGER_PCT_RUNS = 150
#: Where the engine's code lives: the manager models preempt only there (and at primitives).
MANAGER_DIR = str(Path(nodeconf.manager.__file__).parent)
#: Logical seconds a manager model may wait (timeouts are virtual under the tool).
WAIT = 10.0
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


# -- the manager's real threads ----------------------------------------------------------------


def doc(n: int) -> dict[str, object]:
    """A valid document whose effective config differs for each ``n``."""
    return {"globalConfig": {"networkQosConfig": {"qosCheckInterval": n}}}


def interval(listener: RecordingListener) -> int:
    """The qosCheckInterval of the last config ``listener`` applied."""
    value = listener.applied[-1].to_json()["networkQosConfig"]["qosCheckInterval"]
    assert isinstance(value, int)
    return value


def explore_manager(model: Callable[[], None]) -> None:
    """Explore a manager model with seeded PCT sampling, preempting among the lines of the
    engine (``nodeconf/manager``) and at every lock or condition operation. The manager, its
    worker threads and its locks are all built inside the model, so they are the tool's
    modelled threads and primitives. (A bounded-exhaustive search of these models does not
    finish in CI's budget: the engine runs too many lines per schedule.)"""
    sampled = it.explore(
        model,
        strategy="pct",
        iterations=MANAGER_PCT_RUNS,
        seed=PCT_SEED,
        granularity="line",
        include=[MANAGER_DIR],
    )
    assert sampled.ok


def test_every_schedule_of_a_push_racing_the_workers_going_idle_delivers_it() -> None:
    """Whatever the schedule, a push from another thread while the workers that delivered the
    first revision go to sleep is delivered (no lost wake-up), and stop completes."""

    def model() -> None:
        source = StaticSource(doc(1))
        listener = RecordingListener()
        manager = ConfigManager(source, [listener], clock=FakeClock())
        manager.start(WAIT)
        pusher = it.spawn(source.set_document, doc(2))
        pusher.join()
        assert manager.wait_idle(WAIT)
        assert interval(listener) == 2
        assert manager.stop(WAIT).completed

    explore_manager(model)


def test_every_schedule_of_a_listener_added_during_a_push_ends_with_the_newest() -> None:
    """Whatever the schedule, a listener added while a push is being synced ends holding the
    newest revision, and nobody is called twice at once."""

    def model() -> None:
        source = StaticSource(doc(1))
        first = RecordingListener()
        manager = ConfigManager(source, [first], clock=FakeClock())
        manager.start(WAIT)
        late = RecordingListener()
        adder = it.spawn(manager.add_listener, late)
        source.set_document(doc(2))
        adder.join()
        assert manager.wait_idle(WAIT)
        assert (interval(first), interval(late)) == (2, 2)
        assert manager.stop(WAIT).completed

    explore_manager(model)


def test_every_schedule_of_stop_racing_a_push_calls_nobody_after_it_returned() -> None:
    """Whatever the schedule, once stop() returned complete no listener is called again,
    whether the racing push landed before the source stopped or not."""

    def model() -> None:
        source = StaticSource(doc(1))
        listener = RecordingListener()
        manager = ConfigManager(source, [listener], clock=FakeClock())
        manager.start(WAIT)
        pusher = it.spawn(source.set_document, doc(2))
        report = manager.stop(WAIT)
        calls = listener.call_count
        pusher.join()
        assert report.completed
        assert listener.call_count == calls

    explore_manager(model)


def test_every_schedule_of_stop_from_a_listener_racing_a_push_ends_stopped() -> None:
    """Whatever the schedule, a listener that calls stop() (handing the sequence to a stopper
    thread) while another push arrives leaves the manager stopped with nothing running."""

    def model() -> None:
        source = StaticSource(doc(1))
        holder: list[ConfigManager[object]] = []

        def stopping(config: object) -> None:
            if holder[0].status().last_known_good_revision == 2:
                holder[0].stop(WAIT)

        manager: ConfigManager[object] = ConfigManager(source, [stopping], clock=FakeClock())
        holder.append(manager)
        manager.start(WAIT)
        pusher = it.spawn(source.set_document, doc(3))
        source.set_document(doc(2))
        pusher.join()
        report = manager.stop(WAIT)
        assert report.still_running == ()
        assert manager.lifecycle is Lifecycle.STOPPED

    explore_manager(model)
