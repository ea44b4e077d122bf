"""``nodeconf run``: the daemon, for agents in any language (sidecar mode).

What it does, in order:

1. checks every flag and path (``nodeconf.cli.daemonoptions``: a bad flag, a ``--path``,
   ``--labels-file`` or ``--kubeconfig`` that does not exist or cannot be read, a
   ``--write-effective`` directory that is missing, an ``--exec`` command that cannot be
   found: one line on stderr, exit 2);
2. builds the source (``FileSource`` for ``--source file``, ``KubernetesSource`` for
   ``--source kubernetes``, the default inside a pod), the listeners (``ChangeLog`` first, then
   ``--write-effective``, then ``--exec``) and the outcome sinks (log lines, Prometheus metrics,
   and, with the Kubernetes source and a pod name, Kubernetes Events and the
   ``nodeconf.io/ConfigApplied`` pod condition unless ``--no-pod-condition``);
3. starts the status server (``--status-addr``; port 0 picks a free port, logged as
   ``status server listening on http://HOST:PORT``), then starts the manager on a starter
   thread;
4. the main thread blocks (``select``, no timeout) on a pipe that the interpreter's signal
   wake-up fd and a start-up failure write to, until the SIGTERM/SIGINT handler or the failure
   has set one ``threading.Event``. A plain ``Event.wait`` is not enough: the kernel may hand
   the signal to another thread, and the main thread, blocked in a lock, would never run the
   Python handler (no polling either way);
5. runs the two-phase stop, kills an ``--exec`` hook still running and stops the status
   server, all within one ``--shutdown-timeout`` budget, and exits 0 when the stop completed
   in time, 1 otherwise (an overrun is logged as an error), or when start-up failed.

Threads: the main thread (waits, then stops everything), ``nodeconf-start`` (runs
``manager.start``; joined within the shutdown timeout, and a daemon thread so that a source
stuck in start-up cannot keep the process alive after a signal), the status server's threads
(joined by its ``stop`` within what remains of the shutdown budget, at least 0.5 s), and
the manager's and the source's own threads (joined by ``manager.stop``).

Thread-safety: ``run_daemon`` is called once, on the main thread (signal handlers can only be
installed there). ``Daemon._start_error`` is written by the starter thread before it sets
``_wake`` and read by the main thread after ``_wake`` is set (the Event orders them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, BinaryIO, TextIO

from nodeconf.cli.daemonflags import STARTUP_TIMEOUT_SECONDS
from nodeconf.cli.daemonoptions import DaemonOptions, options_from_args
from nodeconf.cli.listeners import ExecHook, WriteEffective
from nodeconf.cli.main import UsageError
from nodeconf.manager.config_manager import ConfigManager
from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.outcomes import FanOutSink, OutcomeSink
from nodeconf.manager.settings import Settings
from nodeconf.model.colocation import COLOCATION
from nodeconf.status.changelog import ChangeLog
from nodeconf.status.logformat import configure_logging, reset_logging
from nodeconf.status.outcomelog import LogSink

__all__ = ["Daemon", "run_daemon"]

_log = logging.getLogger("nodeconf.daemon")

EXIT_OK = 0
EXIT_FAILED = 1


def run_daemon(args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """``nodeconf run``: check flags, run until SIGTERM/SIGINT, stop; return the exit code."""
    options = options_from_args(args, dict(os.environ))
    handler = configure_logging(options.log_format, stream=stderr)  # type: ignore[arg-type]
    try:
        return Daemon(options).run()
    finally:
        reset_logging(handler)


class Daemon:
    """One run of the daemon: build, start, wait for a signal, stop.

    Thread-safety: ``run`` on the main thread, once; see the module docstring.
    """

    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self._wake = threading.Event()  # set by a signal handler or by a failed start
        # Written to by the interpreter when a signal arrives (set_wakeup_fd), on whichever
        # thread, and by a failed start: the main thread's select wakes on it. Set in run().
        self._wake_pipe: tuple[int, int] | None = None
        self._start_error: BaseException | None = None  # written by the starter before _wake

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        _log.info("received %s, stopping", signal.Signals(signum).name)
        self._wake.set()

    def run(self) -> int:
        opts = self.options
        source, event_sink, publisher = self._build_source()
        closers: list[Any] = [s for s in (event_sink, publisher) if s is not None]
        metrics = None
        sinks: list[OutcomeSink] = []
        if opts.status_addr is not None:  # metrics only when something can scrape them
            from nodeconf.status.metrics import MetricsSink  # noqa: PLC0415 - prometheus_client

            metrics = MetricsSink()
            sinks.append(metrics)
        # The metrics count an outcome before its log line is written: whoever reads the line
        # and then scrapes /metrics finds it counted.
        sinks.append(LogSink())
        sinks.extend(closers)
        manager: ConfigManager[Any] = ConfigManager(
            source,
            schema=opts.schema if opts.schema is not None else COLOCATION,
            settings=Settings(stop_timeout_seconds=opts.shutdown_timeout_seconds),
            sink=FanOutSink(sinks),
        )
        if publisher is not None:
            publisher.bind(manager)
        manager.add_listener(ChangeLog().sync_config, name="changelog", with_change=True)
        if opts.write_effective is not None:
            manager.add_listener(WriteEffective(opts.write_effective), name="write-effective")
        fallback = None
        if opts.state_dir is not None:
            from nodeconf.cli.statestore import attach  # noqa: PLC0415

            fallback = attach(manager, source, opts.state_dir, opts.restore_after_seconds)
        hook: ExecHook | None = None
        if opts.exec_argv:
            hook = ExecHook(opts.exec_argv, timeout_seconds=opts.exec_timeout_seconds)
            manager.add_listener(hook.sync_config, name="exec", with_change=True)
        server = None
        if metrics is not None and opts.status_addr is not None:
            metrics.bind(manager)
            server = _status_server(opts.status_addr, manager, metrics.registry, source)
            if server is None:
                for closer in closers:
                    closer.close()
                return EXIT_FAILED
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        # A daemon thread: if the source never returns from its start-up (an API server that
        # is never reachable) the process can still exit after a signal.
        starter = threading.Thread(
            target=self._start, args=(manager, fallback), name="nodeconf-start", daemon=True
        )
        server_stopped = True
        deadline: float | None = None
        self._wake_pipe = os.pipe()
        for fd in self._wake_pipe:
            os.set_blocking(fd, False)
        previous_fd = signal.set_wakeup_fd(self._wake_pipe[1], warn_on_full_buffer=False)
        try:
            starter.start()
            self._wait_for_wake()  # a signal, or a failed start; never a timeout
            # One budget for the whole stop: the manager, the starter and the status server.
            deadline = time.monotonic() + opts.shutdown_timeout_seconds
            report = manager.stop(opts.shutdown_timeout_seconds)
            starter.join(max(0.0, deadline - time.monotonic()))
        finally:
            signal.set_wakeup_fd(previous_fd)
            for fd in self._wake_pipe:
                os.close(fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if hook is not None and hook.kill_running():
                _log.warning("killed the --exec command still running at shutdown")
            if server is not None:
                server_stopped = server.stop(_server_budget(deadline, opts))
            for closer in closers:
                closer.close()
        return self._exit_code(report, starter, server_stopped)

    def _wait_for_wake(self) -> None:
        """Main thread: block until ``_wake`` is set. Every wake-up source also writes to the
        pipe, and the Python signal handler runs on this thread once ``select`` returns."""
        assert self._wake_pipe is not None
        read_end = self._wake_pipe[0]
        while not self._wake.is_set():
            select.select([read_end], [], [])
            with contextlib.suppress(BlockingIOError):  # drained by an earlier round
                os.read(read_end, 512)

    def _start(self, manager: Any, fallback: Any) -> None:
        # Starter thread: manager.start() may wait long for a first complete state (an API
        # server that is not reachable yet); the main thread stays free to react to signals.
        try:
            manager.start(STARTUP_TIMEOUT_SECONDS, fallback=fallback)
        except BaseException as exc:  # reported by the main thread
            self._start_error = exc
            self._wake.set()
            if self._wake_pipe is not None:
                os.write(self._wake_pipe[1], b"!")  # wake the main thread's select
        else:
            if manager.lifecycle in (Lifecycle.STARTING, Lifecycle.RUNNING):
                _log.info("started: following %s", self._describe_source())
            else:  # a signal arrived first: start() returned early, the stop goes on
                _log.info("start-up ended early: stopping")

    def _exit_code(self, report: Any, starter: threading.Thread, server_stopped: bool) -> int:
        if self._start_error is not None:
            _log.error("start-up failed: %s", self._start_error)
            return EXIT_FAILED
        if starter.is_alive():
            _log.error("start-up did not return within the shutdown timeout")
            return EXIT_FAILED
        if not server_stopped:
            _log.error(
                "status server did not stop within the shutdown timeout of %gs",
                self.options.shutdown_timeout_seconds,
            )
            return EXIT_FAILED
        if report.pending_retries:
            _log.warning(
                "stopped with %d pending retr%s: %s",
                len(report.pending_retries),
                "y" if len(report.pending_retries) == 1 else "ies",
                ", ".join(f"{p.target} (revision {p.revision})" for p in report.pending_retries),
            )
        if not report.completed:
            _log.error("stop incomplete: %s", json.dumps(report.to_json()))
            return EXIT_FAILED
        _log.info("stopped cleanly")
        return EXIT_OK

    def _describe_source(self) -> str:
        opts = self.options
        if opts.source == "file":
            return f"file {opts.path}"
        return f"ConfigMap {opts.namespace}/{opts.configmap} and Node {opts.node_name}"

    def _build_source(self) -> tuple[Any, Any, Any]:
        """The source and, for Kubernetes with a pod name, its Event sink and (unless
        ``--no-pod-condition``) its pod condition publisher."""
        opts = self.options
        if opts.source == "file":
            from nodeconf.sources.file import FileSource  # noqa: PLC0415 - inotify_simple

            try:
                source = FileSource(
                    opts.path or "",
                    key=opts.key,
                    node_labels=opts.node_labels or None,
                    labels_file=opts.labels_file,
                    poll_interval_seconds=opts.poll_interval_seconds,
                    force_polling=opts.force_polling,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
            return source, None, None
        from nodeconf.sources.kubernetes import KubernetesSource  # noqa: PLC0415 - lightkube

        try:
            k8s = KubernetesSource(
                namespace=opts.namespace or "",
                node_name=opts.node_name or "",
                pod_name=opts.pod_name,
                configmap=opts.configmap,
                key=opts.key,
                prepare=opts.prepare,
                kubeconfig=opts.kubeconfig,
                settings=opts.kubernetes_settings,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if not opts.pod_name:
            _log.warning(
                "no --pod-name (or $POD_NAME): apply outcomes are not posted as Events "
                "nor published as a pod condition"
            )
            return k8s, None, None
        publisher = None
        if opts.pod_condition:
            publisher = k8s.pod_condition_publisher(
                jitter_seconds=opts.pod_condition_jitter_seconds
            )
        return k8s, k8s.event_sink(), publisher


#: The status server's stop gets what remains of the shutdown budget, but at least this long
#: (closing its sockets takes a millisecond; a page stuck in a check is what can overrun).
SERVER_STOP_MIN_SECONDS = 0.5


def _server_budget(deadline: float | None, opts: DaemonOptions) -> float:
    if deadline is None:  # the stop never began (an error before it)
        return opts.shutdown_timeout_seconds
    return max(SERVER_STOP_MIN_SECONDS, deadline - time.monotonic())


def _status_server(
    addr: tuple[str, int], manager: ConfigManager[Any], registry: Any, source: Any
) -> Any:
    """Start the status server; log its address. ``None`` (logged) when it cannot listen."""
    from nodeconf.status.server import StatusServer  # noqa: PLC0415 - http.server, prometheus

    source_status = getattr(source, "status_json", None)
    server = StatusServer(
        addr,
        manager,
        registry,
        checks=[_source_check(source)],
        source_status=source_status if callable(source_status) else None,
    )
    try:
        server.start()
    except OSError as exc:
        _log.error("status server: cannot listen on %s: %s", _show(addr), exc)
        return None
    host, port = server.address
    _log.info("status server listening on http://%s:%d", host, port)
    return server


def _source_check(source: Any) -> Callable[[], list[str]]:
    """A health check for ``source``: its ``health_problems()`` if it has one, else its
    ``alive()`` (a file source whose watcher thread died is unhealthy)."""
    problems = getattr(source, "health_problems", None)
    if callable(problems):
        return lambda: list(problems())
    alive = getattr(source, "alive", None)
    if callable(alive):
        return lambda: [] if alive() else [f"source {source!r} is not following its input"]
    return list


def _show(addr: tuple[str, int]) -> str:
    return f"{addr[0]}:{addr[1]}"
