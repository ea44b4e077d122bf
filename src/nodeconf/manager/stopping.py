"""The two-phase stop, and the report of what it left undone.

``stop()`` runs in two phases. Phase 1 stops the source: when ``Source.stop`` returns, no
notification follows. Phase 2 drains: the scheduler closes its intake, queues the retries due
now, and the workers finish every job queued and every call in progress, until the deadline.
Then the scheduler *closes*: no job is handed out any more, and what was left is reported
(retries not yet due, keys never run, calls still running). The lifecycle goes from
``STOPPING`` to ``STOPPED`` once nothing is in hand.

Who drives it. Exactly one caller drives the sequence; every other ``stop()`` waits for it
within its own timeout and returns the same report. A ``stop()`` called on a thread the
sequence would wait for (a worker: inside a listener or a sink; or ``start()``'s own thread,
inside a source's start-up step) hands the sequence to a short-lived *stopper* thread
("nodeconf-stop") with the caller's deadline, and returns at once (``stopped_from_listener``).

Phase 1 and ``start()``. ``transition`` serialises ``start()``'s source steps with phase 1,
so ``Source.stop`` never races ``Source.start``. When ``start()`` is inside them, the driver
asks a ``Cancellable`` source to cut them short and waits for ``transition`` within its
deadline; ``start()`` then sees ``STOPPING`` and ends the stop itself (``abort_start``).
The steps resumed on a worker after a fallback (``starting.SourceSteps.resume``) hold
``transition`` too and are cut short the same way; they end without starting anything, and
the driver goes on with phase 1.

Thread-safety: ``transition`` as above; every other field is guarded by the pool's lock.
The source's ``stop``/``cancel`` and the sink run with no lock held.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from nodeconf.concurrency.clock import seconds_left
from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.reports import StopReport
from nodeconf.manager.source import Cancellable, Source

if TYPE_CHECKING:
    from collections.abc import Callable

    from nodeconf.concurrency.clock import Clock
    from nodeconf.manager.outcomes import Outcome
    from nodeconf.manager.pool import WorkerPool
    from nodeconf.manager.scheduler import Scheduler

__all__ = ["StopSequence"]

log = logging.getLogger("nodeconf.manager")

_LIVE = (Lifecycle.STARTING, Lifecycle.RUNNING)


class StopSequence:
    """Drives a manager's stop (see the module docstring).

    Thread-safety: ``stop`` is safe from any thread; ``abort_start`` is called by ``start()``
    holding ``transition``.
    """

    def __init__(
        self,
        pool: WorkerPool,
        *,
        scheduler: Scheduler,
        source: Source,
        clock: Clock,
        emit: Callable[[tuple[Outcome, ...]], None],
        source_stop_seconds: float,
    ) -> None:
        self.transition = threading.Lock()
        self._pool = pool
        self._scheduler = scheduler
        self._source = source
        self._clock = clock
        self._emit = emit
        self._source_stop_seconds = source_stop_seconds
        # ---- guarded by pool.lock ----
        self.source_started = False  # start() reached Source.start: phase 1 must stop it
        self.start_ident: int | None = None  # start()'s thread while in its source steps
        self._begun = False  # a driver runs (or ran) the sequence
        self.report: StopReport | None = None  # set when the sequence ended

    def stop(self, deadline: float) -> StopReport:
        """``ConfigManager.stop`` with an absolute ``deadline`` (``time.monotonic``)."""
        pool, scheduler = self._pool, self._scheduler
        me = threading.get_ident()
        on_pool = pool.on_pool_thread()
        with pool.lock:
            if scheduler.lifecycle is Lifecycle.NEW:
                scheduler.close(self._clock.now())
                scheduler.lifecycle = Lifecycle.STOPPED
                self._begun = True
                self.report = StopReport(completed=True)
                pool.notify_waiters_locked()
            inside = on_pool or me == self.start_ident
            drive = not self._begun
            self._begun = True
            if scheduler.lifecycle in _LIVE:
                scheduler.lifecycle = Lifecycle.STOPPING
                pool.notify_waiters_locked()
            running = scheduler.running_names()
            stopper = None
            if inside and drive:
                box: list[threading.Thread] = []
                stopper = threading.Thread(
                    target=lambda: self._drive_from_inside(box[0], deadline), name="nodeconf-stop"
                )
                box.append(stopper)
                stopper.daemon = True
                pool.threads.add(stopper)
        if inside:
            if stopper is not None:
                # Thread hand-off: the sequence moves to the stopper thread, so this listener,
                # sink or start() step returns without waiting for itself.
                try:
                    stopper.start()
                except RuntimeError:  # no thread left: undo, the next stop() drives it
                    log.exception("could not start the stop thread")
                    with pool.lock:
                        pool.threads.discard(stopper)
                        self._begun = False
                        pool.notify_waiters_locked()
            return StopReport(completed=False, still_running=running, stopped_from_listener=True)
        if drive:
            self._drive(deadline)
        return self._await(deadline)

    def live(self) -> bool:
        """No stop has begun (the manager is starting or running)."""
        with self._pool.lock:
            return self._scheduler.lifecycle in _LIVE

    def mark_source_started(self) -> None:
        """``start()`` reached ``Source.start``: phase 1 must stop the source."""
        with self._pool.lock:
            self.source_started = True

    def abort_start(self) -> None:
        """``start()`` failed or was stopped during its source steps: stop the source (if
        started) and end ``STOPPED`` (``transition`` is held by the caller)."""
        pool, scheduler = self._pool, self._scheduler
        with pool.lock:
            started = self.source_started
            scheduler.intake_closed = True
        source_stopped = True
        if started:
            try:
                source_stopped = bool(self._source.stop(self._source_stop_seconds))
            except Exception:
                log.exception("source.stop() failed while aborting start()")
                source_stopped = False
        with pool.lock:
            scheduler.close(self._clock.now())
            scheduler.lifecycle = Lifecycle.STOPPED
            self._begun = True
            self.report = StopReport(completed=source_stopped, source_stopped=source_stopped)
            pool.release_idle_locked()
            pool.notify_waiters_locked()
            left = scheduler.take_outbox()
        self._emit(left)

    def _drive_from_inside(self, me: threading.Thread, deadline: float) -> None:
        self._pool.local.thread = me
        try:
            self._drive(deadline)
        finally:
            with self._pool.lock:
                self._pool.threads.discard(me)
                self._pool.notify_waiters_locked()

    def _drive(self, deadline: float) -> None:
        """Run both phases (exactly one thread per manager gets here); phase 1 holds
        ``transition``, phase 2 does not (a resumed start-up waiting for it then ends)."""
        if not self.transition.acquire(blocking=False):
            # start() (or its steps resumed after a fallback) is inside the source's steps:
            # end them early if the source can; start() then sees STOPPING and finishes the
            # stop itself, a resumed start-up just ends.
            if isinstance(self._source, Cancellable):
                try:
                    self._source.cancel()
                except Exception:
                    log.exception("source.cancel() failed")
            if not self.transition.acquire(timeout=seconds_left(deadline) or 0.0):
                with self._pool.lock:
                    self._begun = False  # the next stop() call finishes the job
                log.warning("stop(): start() still busy with the source at the deadline")
                return
        try:
            source_stopped = self._phase1(deadline)
        finally:
            self.transition.release()
        if source_stopped is not None:
            self._phase2(deadline, source_stopped)

    def _phase1(self, deadline: float) -> bool | None:
        """Stop the source (``transition`` held); whether it stopped in time. None: ``start()``
        failed or aborted, the manager is already stopped."""
        with self._pool.lock:
            if self.report is not None:
                return None
            started = self.source_started
        # When the source's stop returns, no further notification arrives.
        source_stopped = True
        if started:
            try:
                source_stopped = bool(self._source.stop(seconds_left(deadline)))
            except Exception:
                log.exception("source.stop() failed")
                source_stopped = False
        return source_stopped

    def _phase2(self, deadline: float, source_stopped: bool) -> None:
        """Drain what is queued (retries due now included) within the deadline, close the
        scheduler, report, and wait for the threads."""
        pool, scheduler = self._pool, self._scheduler
        with pool.lock:
            scheduler.close_intake(self._clock.now())
            grown = pool.cover_locked()
        pool.start_threads(grown)
        with pool.lock:
            pool.wait_locked(scheduler.drained, seconds_left(deadline))
            left = scheduler.close(self._clock.now())
            report = StopReport(
                completed=source_stopped and not left.dropped and not left.still_running,
                pending_retries=left.pending_retries,
                still_running=left.still_running,
                dropped=left.dropped,
                source_stopped=source_stopped,
            )
            self.report = report
            pool.release_idle_locked()  # they see the close and leave
            pool.notify_waiters_locked()
        if report.pending_retries:
            log.info("stopped with retries pending: %s", report.pending_retries)
        if report.still_running:
            log.warning(
                "stop deadline passed with listeners still running: %s", report.still_running
            )
        if report.dropped:
            log.warning("stop deadline passed with work not done: %s", ", ".join(report.dropped))
        pool.join(lambda: seconds_left(deadline) or 0.0)

    def _await(self, deadline: float) -> StopReport:
        """Wait (bounded) for the sequence and the threads; return the report."""
        pool, scheduler = self._pool, self._scheduler
        with pool.lock:
            pool.wait_locked(lambda: self.report is not None, seconds_left(deadline))
        pool.join(lambda: seconds_left(deadline) or 0.0)
        with pool.lock:
            report = self.report
            if report is None:  # another thread drives the sequence and has not finished
                running = scheduler.running_names()
                return StopReport(completed=False, still_running=running, source_stopped=False)
            if scheduler.lifecycle is Lifecycle.STOPPED and not report.completed:
                # Whatever outlived the first deadline has finished since: say so, once.
                report = replace(
                    report, completed=report.source_stopped and not report.dropped, still_running=()
                )
                self.report = report
            elif scheduler.lifecycle is not Lifecycle.STOPPED:
                report = replace(report, completed=False, still_running=scheduler.running_names())
            return report
