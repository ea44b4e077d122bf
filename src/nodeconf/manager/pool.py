"""The worker pool: threads that carry out what the scheduler decides, and nothing else.

``WorkerPool`` owns every worker thread of a manager: it starts them, wakes them, replaces
one that dies, and lets them go. Each worker loops: in one locked step it records the result
of its last job with the scheduler and takes the next job (``Scheduler.next_job``), then runs
that job with no lock held (``Runner.run``): a sync, a listener call, a batch of outcomes for
the sink, or (after a fallback) the source's resumed start-up. While it has nothing to do it
sleeps on its own condition.

Who is available. A worker is *idle* (asleep, possibly with a deadline), *woken* (it will
look at the scheduler before it sleeps again) or *busy* (running a job: a sync, a listener
call or a batch of outcomes for the sink). A busy worker never counts as available, neither
for queued work nor to watch a deadline. After every event that may create work or move a
deadline, ``cover_locked`` makes sure some available worker will see it: nothing when a
worker is already woken; otherwise it wakes an idle worker (the one sleeping with a deadline
first, so it re-times itself), or, when every worker is busy, grows the pool (at most
``Scheduler.thread_cap`` workers: one per possible listener call, plus one free).

Quiet when idle. At most one idle worker sleeps with a timeout, the earliest deadline the
scheduler names (a retry coming due, running work becoming slow); every other worker sleeps
without one, and with nothing scheduled nobody has a timeout at all. A deadline that no
longer applies is cancelled by waking its sleeper.

Death. A job that raises a ``BaseException`` (a listener's ``SystemExit``, say) is recorded
as a failure through ``Runner.aborted`` (so nothing is lost and the listener is retried),
the death is logged, a replacement worker is started and the dying thread ends.

Thread-safety: ``lock`` guards the scheduler, every ``_Worker`` field and every field here;
``cond`` (on ``lock``) wakes threads outside the pool (``start``, ``stop``, ``wait_idle``).
The runner is always called with ``lock`` released. Lock order: ``lock`` -> clock (FakeClock's
own lock); nothing called under ``lock`` calls back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from nodeconf.concurrency.clock import Clock
from nodeconf.manager.jobs import (
    CallFailed,
    CallJob,
    Evaluated,
    Job,
    Resumed,
    ResumeJob,
    SyncFailed,
    SyncJob,
)
from nodeconf.manager.scheduler import Scheduler

__all__ = ["Runner", "WorkerPool"]

log = logging.getLogger("nodeconf.manager")

_IDLE, _WOKEN, _BUSY, _LEFT = range(4)

Result = Evaluated | SyncFailed | CallFailed | Resumed | None


class Runner(Protocol):
    """What a job means; called by workers with no lock held."""

    def run(self, job: Job) -> Result:
        """Carry out ``job``; an ``Exception`` of user code is part of the result."""
        ...

    def aborted(self, job: Job, error: BaseException) -> Result:
        """The result to record for ``job`` when it ended by ``error`` (a BaseException)."""
        ...


class _Worker:
    """One worker's state; guarded by the pool's lock (``cond`` is on that lock)."""

    __slots__ = ("cond", "name", "state", "thread", "wake_at")

    def __init__(self, lock: threading.Lock, name: str) -> None:
        self.cond = threading.Condition(lock)
        self.name = name
        self.state = _WOKEN  # a new worker looks for work as soon as it runs
        self.wake_at: float | None = None  # the clock deadline it sleeps until (idle only)
        self.thread: threading.Thread | None = None  # set once, before the thread starts


class WorkerPool:
    """Runs the scheduler's jobs on worker threads (see the module docstring).

    Thread-safety: every method is safe from any thread; methods ending in ``_locked`` need
    ``lock`` held, and the threads they return must be started with ``start_threads`` after
    releasing it.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        runner: Runner,
        *,
        clock: Clock,
        min_workers: int,
        name: str = "nodeconf-worker",
    ) -> None:
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        # Per thread: ``thread``, the pool's own Thread object on a worker or the stopper
        # (``stop()`` from there must not wait for itself). Written by that thread only.
        self.local = threading.local()
        self._scheduler = scheduler
        self._runner = runner
        self._clock = clock
        self._min_workers = min_workers
        self._name = name
        # ---- guarded by lock ----
        self._launched = False
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []  # most recently idled last
        self._woken = 0
        self._seq = 0
        self._growth_failed = False  # a thread could not start: no growth until a job ends
        self._waiters = 0  # threads in wait_locked
        # Threads started (or about to be) that have not finished their last locked step.
        self.threads: set[threading.Thread] = set()

    # ------------------------------------------------------------------ lifecycle

    def launch_locked(self) -> list[threading.Thread]:
        """Create the first workers; start the returned threads after releasing ``lock``."""
        self._launched = True
        return [self._new_worker_locked() for _ in range(self._min_workers)]

    def start_threads(self, threads: Iterable[threading.Thread]) -> None:
        """Start threads made under the lock (outside it). A thread that cannot start is
        taken out of the pool again and logged; the pool carries on with the others."""
        for thread in threads:
            try:
                thread.start()
            except RuntimeError:
                log.exception("could not start the manager thread %s", thread.name)
                with self.lock:
                    self._growth_failed = True
                    for worker in self._workers:
                        if worker.name == thread.name:
                            self._leave_locked(worker)
                            break
                    self.threads.discard(thread)
                    self.notify_waiters_locked()

    def release_idle_locked(self) -> None:
        """Wake every idle worker (after ``Scheduler.close``: they see it and exit)."""
        for worker in list(self._idle):
            self._wake_locked(worker)

    def join(self, timeout_at: Callable[[], float]) -> None:
        """Wait until every pool thread but the caller has ended, within ``timeout_at()``
        seconds (re-read at each step: a shared deadline). A thread is in ``threads`` until
        its last locked step, so threads whose ``start()`` has not returned yet are covered
        too; the ones still alive after leaving it are joined for their last lines."""
        me = getattr(self.local, "thread", None)
        with self.lock:
            threads = [t for t in self.threads if t is not me]
            self.wait_locked(lambda: not any(t in self.threads for t in threads), timeout_at())
        for thread in threads:
            if thread.is_alive():  # alive implies started: join cannot raise
                thread.join(timeout_at())

    # ------------------------------------------------------------------ waiting

    def on_pool_thread(self) -> bool:
        """True on a worker or a stopper thread of this pool (not a plain caller)."""
        return getattr(self.local, "thread", None) is not None

    def wait_locked(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """``cond.wait_for`` that registers the waiter, so workers know to notify."""
        self._waiters += 1
        try:
            return self.cond.wait_for(predicate, timeout)
        finally:
            self._waiters -= 1

    def notify_waiters_locked(self) -> None:
        if self._waiters:
            self.cond.notify_all()

    # ------------------------------------------------------------------ covering work

    def cover_locked(self) -> list[threading.Thread]:
        """Make sure an available worker will see the work and the earliest deadline; the
        returned threads (growth) must be started after releasing ``lock``."""
        if self._woken or not self._launched:
            return []
        scheduler = self._scheduler
        if not scheduler.has_work():
            due = scheduler.next_deadline()
            # A sleeper whose deadline went stale (a retry cancelled) is woken to re-time.
            if self._retime_idle_locked(due) or self._woken or due is None:
                return []
        if self._idle:
            timed = [w for w in self._idle if w.wake_at is not None]
            self._wake_locked(timed[0] if timed else self._idle[-1])
            return []
        thread = self._grow_locked()
        return [thread] if thread is not None else []

    def _grow_locked(self) -> threading.Thread | None:
        if self._scheduler.closed or self._growth_failed:
            return None
        if len(self._workers) >= self._scheduler.thread_cap(self._min_workers):
            return None
        return self._new_worker_locked()

    def _new_worker_locked(self) -> threading.Thread:
        self._seq += 1
        worker = _Worker(self.lock, f"{self._name}-{self._seq}")
        thread = threading.Thread(target=self._work, args=(worker,), name=worker.name)
        worker.thread = thread
        thread.daemon = True
        self._workers.append(worker)
        self._woken += 1
        self.threads.add(thread)
        return thread

    def _wake_locked(self, worker: _Worker) -> None:
        self._idle.remove(worker)
        worker.state = _WOKEN
        worker.wake_at = None
        self._woken += 1
        worker.cond.notify()

    def _leave_locked(self, worker: _Worker) -> None:
        if worker.state == _WOKEN:
            self._woken -= 1
        elif worker.state == _IDLE:
            self._idle.remove(worker)
        worker.state = _LEFT
        self._workers.remove(worker)

    # ------------------------------------------------------------------ a worker

    def _work(self, worker: _Worker) -> None:
        """A worker's loop (see the module docstring)."""
        job: Job | None = None
        result: Result = None
        died: BaseException | None = None
        me = worker.thread
        self.local.thread = me
        try:
            while True:
                with self.lock:
                    grown: list[threading.Thread] = []
                    now = self._clock.now()
                    if job is not None:
                        self._finish_locked(worker, job, result, now)
                        job = None
                        if died is not None:
                            self._leave_locked(worker)
                            grown = self._replace_locked()
                    if died is None:
                        job = self._take_locked(worker, now)
                        if job is not None:
                            grown = self.cover_locked()
                if grown:
                    self.start_threads(grown)
                if died is not None:
                    log.error(
                        "manager thread %s ended by %s: %s; %s",
                        worker.name,
                        type(died).__name__,
                        died,
                        f"replaced by {grown[0].name}" if grown else "not replaced",
                    )
                    return
                if job is None:
                    return
                try:
                    result = self._runner.run(job)
                except BaseException as exc:  # the thread ends; the job is recorded first
                    died = exc
                    result = self._runner.aborted(job, exc)
        finally:
            replacement: list[threading.Thread] = []
            with self.lock:
                if worker.state != _LEFT:  # ended by an error of our own
                    self._leave_locked(worker)
                    replacement = self._replace_locked()
                self.threads.discard(me)
                self.notify_waiters_locked()
            self.start_threads(replacement)

    def _finish_locked(self, worker: _Worker, job: Job, result: Result, now: float) -> None:
        """Record ``job``'s result at clock time ``now``; the worker is available again."""
        scheduler = self._scheduler
        if isinstance(job, CallJob):
            assert isinstance(result, CallFailed | None)
            scheduler.call_finished(job, result, now, self._clock.wall())
            self._growth_failed = False  # a call slot changed: growing may work again
        elif isinstance(job, SyncJob):
            assert isinstance(result, Evaluated | SyncFailed)
            scheduler.sync_finished(job, result, now, self._clock.wall())
        elif isinstance(job, ResumeJob):
            assert isinstance(result, Resumed)
            scheduler.resume_finished(result)
        else:
            scheduler.emit_finished()
        worker.state = _WOKEN
        self._woken += 1
        if self._waiters:
            self.cond.notify_all()

    def _replace_locked(self) -> list[threading.Thread]:
        """A worker died: start another one while the manager is live."""
        if self._scheduler.closed or len(self._workers) >= self._min_workers:
            return self.cover_locked()
        return [self._new_worker_locked()]

    def _take_locked(self, worker: _Worker, now: float) -> Job | None:
        """The next job for ``worker`` asking at ``now``, sleeping while there is none;
        None: leave."""
        scheduler = self._scheduler
        while True:
            job = scheduler.next_job(now)
            if job is not None:
                worker.state = _BUSY
                self._woken -= 1
                return job
            workers = len(self._workers)
            if scheduler.closed or (
                workers > self._min_workers and workers > scheduler.thread_cap(self._min_workers)
            ):  # the pool shrinks lazily, down to what the listeners may need
                self._leave_locked(worker)
                self.notify_waiters_locked()
                return None
            if self._waiters:  # slow work noticed, idle reached: tell waiters
                self.cond.notify_all()
            self._sleep_locked(worker)
            now = self._clock.now()

    def _sleep_locked(self, worker: _Worker) -> None:
        """Sleep until woken or until the earliest deadline, unless another idle worker
        already watches it; with nothing scheduled, sleep without a timeout."""
        due = self._scheduler.next_deadline()
        carried = self._retime_idle_locked(due)
        worker.wake_at = None if carried else due
        worker.state = _IDLE
        self._woken -= 1
        self._idle.append(worker)
        self._clock.wait_until(worker.cond, worker.wake_at)
        if worker.state == _IDLE:  # its deadline, the clock, or a spurious wake-up
            self._idle.remove(worker)
            worker.state = _WOKEN
            worker.wake_at = None
            self._woken += 1

    def _retime_idle_locked(self, due: float | None) -> bool:
        """Keep at most one idle worker sleeping with a deadline, one no later than ``due``;
        wake every other timed sleeper (its deadline is stale). True when one remains."""
        carrier = False
        for other in list(self._idle):
            wake_at = other.wake_at
            if wake_at is None:
                continue
            if not carrier and due is not None and wake_at <= due:
                carrier = True
            else:
                self._wake_locked(other)
        return carrier
