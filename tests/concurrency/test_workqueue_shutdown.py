"""WorkQueue shutdowns: immediate and drain, both reporting what they leave undone."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from nodeconf.concurrency import DEFAULT_CLOCK, FakeClock, QueueShutDown, QueueState, WorkQueue

pytestmark = pytest.mark.concurrency


class HeldKey:
    """A worker thread that takes one key and holds it until released."""

    def __init__(self, queue: WorkQueue[str], background) -> None:
        self.queue = queue
        self.got = threading.Event()
        self.release = threading.Event()
        self.key: str | None = None
        self.handle = background(self._run)
        assert self.got.wait(10.0), "worker did not get a key"

    def _run(self) -> None:
        self.key = self.queue.get()
        self.got.set()
        assert self.release.wait(10.0), "never released"
        self.queue.done(self.key)

    def finish(self) -> None:
        self.release.set()
        self.handle.result()


def test_shut_down_wakes_blocked_workers_at_once(background) -> None:
    """Workers blocked in get raise QueueShutDown as soon as the queue is shut down."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    workers = [background(queue.get) for _ in range(3)]
    assert clock.wait_for_waiters(3)
    queue.shut_down()
    for worker in workers:
        assert isinstance(worker.error(), QueueShutDown)


def test_shut_down_returns_every_key_it_drops(background) -> None:
    """Immediate shutdown lists queued keys as dropped, delayed ones as pending, held ones."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("held")
    worker = HeldKey(queue, background)
    queue.add("held")  # re-added while processing: will never be handed out now
    queue.add("b")
    queue.add("a")
    queue.add_after("later", 30.0)
    queue.add_after("soon", 5.0)
    clock.advance(1.0)
    report = queue.shut_down()
    assert report.dropped == ("b", "a", "held")
    assert report.pending_retries == (("soon", 4.0), ("later", 29.0))
    assert report.in_flight == ("held",)
    assert report.completed is False
    with pytest.raises(QueueShutDown):
        queue.get(timeout=0)
    worker.finish()
    assert queue.in_flight() == 0
    assert len(queue) == 0


def test_shut_down_of_an_idle_queue_is_complete() -> None:
    """Shutting down a queue with nothing queued or processing reports completed."""
    queue = WorkQueue[str](clock=FakeClock())
    report = queue.shut_down()
    assert report.completed is True
    assert (report.dropped, report.pending_retries, report.in_flight) == ((), (), ())


def test_adds_after_shut_down_are_refused_and_reported() -> None:
    """After shutdown, add returns False and the key appears in the next report's dropped."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.shut_down()
    assert queue.add("a") is False
    assert queue.add_after("b", 3.0) is False
    assert queue.add_rate_limited("c") is False
    report = queue.shut_down()
    assert report.dropped == ("a",)
    assert [key for key, _ in report.pending_retries] == ["c", "b"]
    assert queue.stats().refused_total == 3


def test_shut_down_is_idempotent() -> None:
    """A second immediate shutdown reports the same dropped keys."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    first = queue.shut_down()
    second = queue.shut_down()
    assert first == second
    assert first.dropped == ("a",)
    assert queue.state is QueueState.SHUT_DOWN
    assert queue.shutting_down is True


def test_drain_waits_for_queued_and_in_flight_keys(background) -> None:
    """Drain returns only after every queued key was handed out and every one is done."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    for key in ["a", "b", "c"]:
        queue.add(key)
    log: list[str] = []
    log_lock = threading.Lock()

    def drain():
        report = queue.shut_down_with_drain()
        with log_lock:
            log.append("drained")
        return report

    drainer = background(drain)
    assert clock.wait_for_waiters(1)  # the drainer is parked: it did not return early
    assert queue.shutting_down is True
    while True:
        try:
            key = queue.get()
        except QueueShutDown:
            break
        with log_lock:
            log.append(key)
        queue.done(key)
    report = drainer.result()
    assert log == ["a", "b", "c", "drained"]
    assert report.completed is True
    assert (report.dropped, report.in_flight, report.pending_retries) == ((), (), ())


def test_drain_reports_pending_retries_instead_of_waiting(background) -> None:
    """Delayed keys not yet due are not waited for: the drain returns them with their due-in."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("retry", 100.0)
    queue.add_after("due", 1.0)
    clock.advance(2.0)  # "due" is due when the drain starts: it is drained like a queued key
    drainer = background(queue.shut_down_with_drain)
    assert queue.get() == "due"
    queue.done("due")
    report = drainer.result()
    assert report.completed is True
    assert report.pending_retries == (("retry", 98.0),)
    assert queue.delayed() == 1  # still on record, never promoted
    clock.advance(200.0)
    with pytest.raises(QueueShutDown):
        queue.get(timeout=0)


def test_re_add_during_drain_of_a_processing_key_is_handed_out(background) -> None:
    """A key re-added before the drain, while processing, is handed out again during it."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    key = queue.get()
    queue.add("a")
    drainer = background(queue.shut_down_with_drain)
    assert clock.wait_for_waiters(1)
    queue.done(key)
    assert queue.get() == "a"
    queue.done("a")
    assert drainer.result().completed is True


def test_drain_refuses_new_keys_and_reports_them() -> None:
    """Adds of keys not already pending are refused during a drain and listed as dropped."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    key = queue.get(timeout=0)
    queue.add("b")
    first = queue.shut_down_with_drain(timeout=0)
    assert first.completed is False  # "b" still queued
    assert queue.add("b") is True  # collapses into the pending "b"
    assert queue.add("c") is False  # refused
    assert queue.get(timeout=0) == "b"
    queue.done("b")
    queue.done(key)
    report = queue.shut_down_with_drain(timeout=0)
    assert report.completed is True
    assert report.dropped == ("c",)


def test_drain_timeout_reports_keys_still_in_flight(background) -> None:
    """A drain that times out reports what is still processing (and queued) at its deadline."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("slow")
    queue.add("queued")
    worker = HeldKey(queue, background)
    drainer = background(queue.shut_down_with_drain, 5.0)
    assert clock.wait_for_waiters(1)
    clock.advance(5.0)
    report = drainer.result()
    assert report.completed is False
    assert report.in_flight == ("slow",)
    assert report.dropped == ("queued",)
    worker.finish()


def test_shut_down_after_a_timed_out_drain_stops_hand_outs() -> None:
    """After a drain timed out, shut_down drops what is still queued and ends hand-outs."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    queue.add("b")
    assert queue.shut_down_with_drain(timeout=0).completed is False
    assert queue.get(timeout=0) == "a"  # draining still hands out
    report = queue.shut_down()
    assert report.dropped == ("b",)
    assert report.caller_in_flight == ("a",)
    with pytest.raises(QueueShutDown):
        queue.get(timeout=0)
    queue.done("a")


def test_drain_from_inside_a_worker_does_not_wait_for_itself(background) -> None:
    """A worker holding a key can drain: it waits for the others, not for its own key."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("other's")
    queue.add("mine")
    other = HeldKey(queue, background)  # takes "other's" (first in line) and holds it

    def drain_while_holding():
        key = queue.get()
        report = queue.shut_down_with_drain()  # no timeout: must not deadlock
        queue.done(key)
        return key, report

    inner = background(drain_while_holding)
    assert clock.wait_for_waiters(1)  # parked waiting for the other worker's key
    other.finish()
    key, report = inner.result()
    assert key == "mine"
    assert report.completed is True
    assert report.caller_in_flight == ("mine",)
    assert report.in_flight == ()


def test_drain_from_a_worker_alone_returns_at_once() -> None:
    """The only worker draining from inside its own key returns without waiting."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    key = queue.get(timeout=0)
    queue.add("a")  # re-added: comes back when done, and the drain cannot wait for that
    report = queue.shut_down_with_drain()
    assert report.completed is True
    assert report.caller_in_flight == ("a",)
    assert report.dropped == ()
    queue.done(key)
    assert queue.get(timeout=0) == "a"  # handed out after the drain returned
    queue.done("a")


def test_concurrent_drains_wait_for_the_same_completion(background) -> None:
    """Several threads draining at once all return once the work is done, with equal reports."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    worker = HeldKey(queue, background)
    drainers = [background(queue.shut_down_with_drain) for _ in range(3)]
    assert clock.wait_for_waiters(3)
    worker.finish()
    reports = [drainer.result() for drainer in drainers]
    assert all(report.completed for report in reports)
    assert reports[0] == reports[1] == reports[2]


def test_each_drainer_is_bounded_by_its_own_timeout(background) -> None:
    """A drainer with a short timeout returns at its deadline; one without keeps waiting."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    worker = HeldKey(queue, background)
    patient = background(queue.shut_down_with_drain)
    hasty = background(queue.shut_down_with_drain, 1.0)
    assert clock.wait_for_waiters(2)
    clock.advance(1.0)
    assert hasty.result().in_flight == ("a",)
    assert not patient.finished.is_set()
    worker.finish()
    assert patient.result().completed is True


def test_workers_exit_when_a_drain_has_nothing_left(background) -> None:
    """Workers blocked in get raise QueueShutDown once a drain finds nothing left to hand out."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    workers = [background(queue.get) for _ in range(2)]
    assert clock.wait_for_waiters(2)
    assert queue.shut_down_with_drain().completed is True
    for worker in workers:
        assert isinstance(worker.error(), QueueShutDown)


def test_wait_idle_is_true_at_once_on_an_idle_queue() -> None:
    """wait_idle returns True immediately when nothing is ready or processing."""
    queue = WorkQueue[str](clock=FakeClock())
    assert queue.wait_idle(timeout=0) is True


@pytest.mark.parametrize(
    "release",
    [
        pytest.param(lambda q: q.done(q.get(timeout=0)), id="done-of-the-last-key"),
        pytest.param(lambda q: q.shut_down(), id="immediate-shutdown"),
    ],
)
def test_wait_idle_returns_the_moment_the_queue_becomes_idle(
    background, release: Callable[[WorkQueue[str]], object]
) -> None:
    """A thread in wait_idle is released (True) by whatever leaves the queue idle: the done
    of the last key, or an immediate shutdown that drops what was queued."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    waiter = background(queue.wait_idle)
    assert clock.wait_for_waiters(1)
    release(queue)
    assert waiter.result() is True


def test_wait_idle_is_false_on_timeout(background) -> None:
    """wait_idle returns False when its timeout passes on the queue's clock with work left."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    waiter = background(queue.wait_idle, 3.0)
    assert clock.wait_for_waiters(1)
    clock.advance(3.0)
    assert waiter.result() is False


def test_wait_idle_ignores_delayed_keys_until_they_are_due() -> None:
    """A delayed key not yet due does not count as work; once due, it does."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("a", 2.0)
    assert queue.wait_idle(timeout=0) is True
    clock.advance(2.0)
    assert queue.wait_idle(timeout=0) is False


def test_drain_can_be_bounded_in_real_time_on_a_fake_clock_queue(background) -> None:
    """With timeout_clock=DEFAULT_CLOCK a drain gives up after real seconds, whatever the
    queue's fake clock says."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("slow")
    worker = HeldKey(queue, background)
    report = queue.shut_down_with_drain(0.01, timeout_clock=DEFAULT_CLOCK)  # observing
    assert report.completed is False
    assert report.in_flight == ("slow",)
    assert clock.now() == 0.0
    worker.finish()


def test_wait_idle_can_be_bounded_in_real_time_on_a_fake_clock_queue() -> None:
    """With timeout_clock=DEFAULT_CLOCK, wait_idle gives up after real seconds."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    assert queue.wait_idle(0.01, timeout_clock=DEFAULT_CLOCK) is False  # observing


def test_every_worker_waiting_on_a_re_added_key_exits_once_it_is_done(background) -> None:
    """During a drain, workers kept waiting by a re-added key held elsewhere all exit once that
    key has been handed out again and finished: the last done wakes every one of them."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    holder = HeldKey(queue, background)
    queue.add("a")  # re-added while processing: comes back when the holder is done

    def work() -> list[str]:
        keys = []
        while True:
            try:
                key = queue.get()
            except QueueShutDown:
                return keys
            keys.append(key)
            queue.done(key)

    workers = [background(work) for _ in range(2)]
    assert clock.wait_for_waiters(2)
    assert queue.shut_down_with_drain(timeout=0).completed is False  # "a" will come back
    # The drain's notify leaves both counted until they look again; advance(0) wakes them and
    # takes them out of the parked count, so this waits until both re-checked and parked again.
    clock.advance(0.0)
    assert clock.wait_for_parked(2)  # both still waiting for "a" to come back
    holder.finish()
    results = [worker.result() for worker in workers]
    assert sorted(key for keys in results for key in keys) == ["a"]
    assert queue.shut_down_with_drain(timeout=0).completed is True


def test_shut_down_ends_a_drain_waiting_for_keys_nobody_takes(background) -> None:
    """A drain waiting for queued keys that no worker takes returns as soon as an immediate
    shutdown drops them, and both reports say the work was not completed."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    queue.add("b")
    drainer = background(queue.shut_down_with_drain)
    assert clock.wait_for_waiters(1)
    immediate = queue.shut_down()
    drained = drainer.result()
    assert (immediate.completed, drained.completed) == (False, False)
    assert immediate.dropped == drained.dropped == ("a", "b")
