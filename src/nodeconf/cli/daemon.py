"""``nodeconf run``: the daemon, for agents in any language (sidecar mode).

What it does, in order:

1. checks every flag and path (a bad flag, a ``--path``, ``--labels-file`` or
   ``--kubeconfig`` that does not exist or cannot be read, a ``--write-effective``
   directory that is missing, an ``--exec`` command that cannot be found: one line on
   stderr, exit 2);
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
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any, BinaryIO, TextIO

from nodeconf.cli.labels import parse_label_list, read_labels_file
from nodeconf.cli.listeners import ExecHook, WriteEffective
from nodeconf.cli.main import UsageError
from nodeconf.cli.schemaopt import add_schema_option, selected_schema
from nodeconf.errors import SourceError
from nodeconf.manager.config_manager import ConfigManager
from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.outcomes import FanOutSink, OutcomeSink
from nodeconf.manager.settings import Settings
from nodeconf.model.colocation import COLOCATION
from nodeconf.status.address import parse_address
from nodeconf.status.changelog import ChangeLog
from nodeconf.status.logformat import configure_logging, reset_logging
from nodeconf.status.outcomelog import LogSink

__all__ = ["Daemon", "DaemonOptions", "add_run_arguments", "options_from_args", "run_daemon"]

_log = logging.getLogger("nodeconf.daemon")

DEFAULT_STATUS_ADDR = "127.0.0.1:9808"
DEFAULT_CONFIGMAP = "volcano-agent-configuration"
DEFAULT_KEY = "colocation-config"
DEFAULT_EXEC_TIMEOUT_SECONDS = 30.0
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 20.0
DEFAULT_POLL_INTERVAL_SECONDS = 1.0
#: Bound on start-up (prepare, first complete state, first listener calls). Preparing the
#: ConfigMap alone may retry for a minute (spec section 3).
STARTUP_TIMEOUT_SECONDS = 120.0
DEFAULT_RESTORE_AFTER_SECONDS = 10.0

#: KubernetesSettings' defaults, for the help text (a test pins them to the dataclass; the
#: kubernetes package is imported only when the kubernetes source is used).
DEFAULT_WATCH_IDLE_TIMEOUT_SECONDS = 150.0
DEFAULT_BACKOFF_MAX_DELAY_SECONDS = 30.0
DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
DEFAULT_POD_CONDITION_JITTER_SECONDS = 2.0

EXIT_OK = 0
EXIT_FAILED = 1


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``nodeconf run`` (documented in docs/operations.md)."""
    src = parser.add_argument_group("source")
    src.add_argument(
        "--source",
        choices=("file", "kubernetes"),
        help="where the document comes from (default: kubernetes inside a pod, "
        "i.e. when KUBERNETES_SERVICE_HOST is set; otherwise file)",
    )
    src.add_argument(
        "--path",
        metavar="P",
        help="--source file: a directory laid out like a mounted ConfigMap, or the document file",
    )
    src.add_argument(
        "--kubeconfig",
        metavar="F",
        help="kubeconfig file (default: the in-cluster service account, "
        "else $KUBECONFIG or ~/.kube/config)",
    )
    src.add_argument("--namespace", help="the agent's namespace (default: $POD_NAMESPACE)")
    src.add_argument("--node-name", help="this node's name (default: $NODE_NAME)")
    src.add_argument("--pod-name", help="the agent pod's name, for Events (default: $POD_NAME)")
    src.add_argument(
        "--configmap", default=DEFAULT_CONFIGMAP, help="ConfigMap name (default: %(default)s)"
    )
    src.add_argument(
        "--key", default=DEFAULT_KEY, help="data key of the document (default: %(default)s)"
    )
    add_schema_option(src)
    src.add_argument(
        "--prepare",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="--source kubernetes: create or backfill the ConfigMap at start-up, as every "
        "Volcano agent does; needs create and update on ConfigMaps for every agent (see "
        "docs/operations.md; default: off, run `nodeconf prepare` once instead)",
    )
    kube = parser.add_argument_group("kubernetes (--source kubernetes)")
    kube.add_argument(
        "--pod-condition",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="publish the nodeconf.io/ConfigApplied condition on the agent's pod (needs a pod "
        "name and patch on pods/status; default: on)",
    )
    kube.add_argument(
        "--pod-condition-jitter",
        type=float,
        default=DEFAULT_POD_CONDITION_JITTER_SECONDS,
        metavar="SECONDS",
        help="spread each condition write by a random delay of up to this long, so thousands "
        "of agents do not write at once (default: %(default)g)",
    )
    kube.add_argument(
        "--watch-idle-timeout",
        type=float,
        metavar="SECONDS",
        help="reopen a watch that delivered nothing, not even a bookmark, for this long "
        f"(default: {DEFAULT_WATCH_IDLE_TIMEOUT_SECONDS:g})",
    )
    kube.add_argument(
        "--backoff-max-delay",
        type=float,
        metavar="SECONDS",
        help="longest wait between reconnect attempts after failures "
        f"(default: {DEFAULT_BACKOFF_MAX_DELAY_SECONDS:g})",
    )
    kube.add_argument(
        "--request-timeout",
        type=float,
        metavar="SECONDS",
        help="bound of every API request other than a watch "
        f"(default: {DEFAULT_REQUEST_TIMEOUT_SECONDS:g})",
    )
    src.add_argument(
        "--poll-interval",
        type=float,
        metavar="SECONDS",
        help="--source file: how often to re-read the files where inotify cannot be used "
        f"(default: {DEFAULT_POLL_INTERVAL_SECONDS:g})",
    )
    src.add_argument(
        "--force-polling",
        action="store_true",
        help="--source file: poll even where inotify works (network file systems, where "
        "inotify misses changes made on other hosts)",
    )
    labels = parser.add_argument_group("node labels (--source file)")
    labels.add_argument("--node-labels", metavar="K=V,...", help="the node's labels")
    labels.add_argument("--labels-file", metavar="F", help="a file of key=value lines, watched")
    out = parser.add_argument_group("listeners")
    out.add_argument(
        "--write-effective",
        metavar="PATH",
        help="write the effective config as JSON to PATH (atomically, mode 0644)",
    )
    out.add_argument(
        "--state-dir",
        metavar="DIR",
        help="persist each applied revision in DIR (created if missing; must be writable), "
        "e.g. a hostPath such as /var/lib/nodeconf; at start, when the source gives no first "
        "state within --restore-after, the persisted config is delivered until the live "
        "document supersedes it",
    )
    out.add_argument(
        "--restore-after",
        type=float,
        default=DEFAULT_RESTORE_AFTER_SECONDS,
        metavar="SECONDS",
        help="with --state-dir: how long to wait at start for the source's first state "
        "before delivering the persisted config (default: %(default)g)",
    )
    out.add_argument(
        "--exec-timeout",
        type=float,
        default=DEFAULT_EXEC_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="kill the --exec command's process group after this long (default: %(default)g)",
    )
    out.add_argument(
        "--exec",
        dest="exec_argv",
        nargs=argparse.REMAINDER,
        metavar="CMD [ARG...]",
        help="run CMD (no shell) with the effective config on stdin for each change; "
        "must be the last option: everything after it is the command",
    )
    ops = parser.add_argument_group("operation")
    ops.add_argument(
        "--status-addr",
        default=DEFAULT_STATUS_ADDR,
        metavar="HOST:PORT",
        help="serve /healthz /readyz /metrics /status here; 0 disables (default: %(default)s)",
    )
    ops.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines on stderr: text for people, json (one object a line) for a log "
        "collector (default: %(default)s)",
    )
    ops.add_argument(
        "--shutdown-timeout",
        type=float,
        default=DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="bound on the two-phase stop after SIGTERM/SIGINT (default: %(default)g)",
    )


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """The checked flags of ``nodeconf run``.

    Thread-safety: immutable.
    """

    source: str
    path: str | None
    kubeconfig: str | None
    namespace: str | None
    node_name: str | None
    pod_name: str | None
    configmap: str
    key: str
    prepare: bool
    node_labels: Mapping[str, str]
    labels_file: str | None
    poll_interval_seconds: float
    force_polling: bool
    write_effective: str | None
    exec_argv: tuple[str, ...]
    exec_timeout_seconds: float
    status_addr: tuple[str, int] | None
    log_format: str
    shutdown_timeout_seconds: float
    kubernetes_settings: Any = None  # KubernetesSettings (lazy import: lightkube)
    #: ``--state-dir``: where each applied revision is persisted (``None``: nowhere).
    state_dir: str | None = None
    #: ``--restore-after``: seconds to wait for the source before restoring the state dir's.
    restore_after_seconds: float = 10.0
    pod_condition: bool = True
    pod_condition_jitter_seconds: float = 2.0
    #: ``--schema FILE`` compiled (a ``JsonSchemaConfig``); ``None``: the colocation schema.
    schema: Any = None


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> DaemonOptions:
    """Check the flags; raise ``UsageError`` (one line) for anything unusable."""
    source = args.source or (
        "file"
        if args.path is not None or not environ.get("KUBERNETES_SERVICE_HOST")
        else "kubernetes"
    )
    namespace = args.namespace or environ.get("POD_NAMESPACE")
    node_name = args.node_name or environ.get("NODE_NAME")
    if source == "file":
        _check_file_source(args)
    else:
        _check_kubernetes_source(args, namespace, node_name)
    try:
        labels = parse_label_list(args.node_labels or "")
        if args.labels_file is not None:
            read_labels_file(args.labels_file)  # unreadable now: exit 2 rather than wait
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.write_effective is not None:
        directory = os.path.dirname(os.path.abspath(args.write_effective))
        if not os.path.isdir(directory):
            raise UsageError(
                f"--write-effective {args.write_effective}: directory {directory} does not exist"
            )
    if args.state_dir is not None:
        from nodeconf.cli.statestore import StateStore  # noqa: PLC0415

        try:
            StateStore(args.state_dir).check_writable()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UsageError(f"--state-dir {args.state_dir}: cannot write: {reason}") from exc
    poll_interval = (
        DEFAULT_POLL_INTERVAL_SECONDS if args.poll_interval is None else args.poll_interval
    )
    if not 0 <= args.pod_condition_jitter < float("inf"):
        raise UsageError("--pod-condition-jitter must be a number of seconds >= 0")
    for flag, value in (
        ("--exec-timeout", args.exec_timeout),
        ("--shutdown-timeout", args.shutdown_timeout),
        ("--poll-interval", poll_interval),
    ):
        if not 0 < value < float("inf"):
            raise UsageError(f"{flag} must be a positive number of seconds")
    if not 0 <= args.restore_after <= STARTUP_TIMEOUT_SECONDS:
        raise UsageError(
            f"--restore-after must be a number of seconds from 0 to {STARTUP_TIMEOUT_SECONDS:g}"
            f" (the start-up timeout), got {args.restore_after:g}"
        )
    kube_settings = _kubernetes_settings(args) if source == "kubernetes" else None
    try:
        status_addr = parse_address(args.status_addr)
    except ValueError as exc:
        raise UsageError(f"--status-addr: {exc}") from exc
    # An unusable --schema file: SchemaError, one line naming the file (exit 2).
    schema = selected_schema(args) if getattr(args, "schema", None) is not None else None
    return DaemonOptions(
        source=source,
        path=args.path,
        kubeconfig=args.kubeconfig,
        namespace=namespace,
        node_name=node_name,
        pod_name=args.pod_name or environ.get("POD_NAME"),
        configmap=args.configmap,
        key=args.key,
        prepare=args.prepare,
        node_labels=labels,
        labels_file=args.labels_file,
        poll_interval_seconds=poll_interval,
        force_polling=args.force_polling,
        write_effective=args.write_effective,
        exec_argv=_exec_argv(args.exec_argv),
        exec_timeout_seconds=args.exec_timeout,
        status_addr=status_addr,
        log_format=args.log_format,
        shutdown_timeout_seconds=args.shutdown_timeout,
        kubernetes_settings=kube_settings,
        schema=schema,
        state_dir=args.state_dir,
        restore_after_seconds=args.restore_after,
        pod_condition=args.pod_condition,
        pod_condition_jitter_seconds=args.pod_condition_jitter,
    )


_KUBE_FLAGS = (
    ("--watch-idle-timeout", "watch_idle_timeout"),
    ("--backoff-max-delay", "backoff_max_delay"),
    ("--request-timeout", "request_timeout"),
)


def _kubernetes_settings(args: argparse.Namespace) -> Any:
    """``KubernetesSettings`` from the flags (the defaults for those not given)."""
    from nodeconf.sources.kubernetes.settings import KubernetesSettings  # noqa: PLC0415

    for flag, attr in _KUBE_FLAGS:
        value = getattr(args, attr)
        if value is not None and not 0 < value < float("inf"):
            raise UsageError(f"{flag} must be a positive number of seconds")
    d = KubernetesSettings()
    backoff = d.backoff
    if args.backoff_max_delay is not None:
        initial = min(backoff.initial_delay_seconds, args.backoff_max_delay)
        backoff = replace(
            backoff, initial_delay_seconds=initial, max_delay_seconds=args.backoff_max_delay
        )
    return replace(
        d,
        watch_idle_timeout_seconds=(
            d.watch_idle_timeout_seconds
            if args.watch_idle_timeout is None
            else args.watch_idle_timeout
        ),
        request_timeout_seconds=(
            d.request_timeout_seconds if args.request_timeout is None else args.request_timeout
        ),
        backoff=backoff,
    )


def _check_file_source(args: argparse.Namespace) -> None:
    if args.path is None:
        raise UsageError("--source file needs --path P")
    if not os.path.exists(args.path):
        raise UsageError(f"--path {args.path}: no such file or directory")
    _check_document_readable(args.path, args.key)
    if args.prepare:
        raise UsageError("--prepare needs --source kubernetes")
    for flag, attr in _KUBE_FLAGS:
        if getattr(args, attr) is not None:
            raise UsageError(f"{flag} needs --source kubernetes")
    for flag in ("kubeconfig", "namespace", "node_name", "pod_name"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag.replace('_', '-')} needs --source kubernetes")


def _check_document_readable(path: str, key: str) -> None:
    """Read the document once, as the file source will: one that cannot be read at start-up
    (not a regular file, too large, permission denied) is a usage error, like a labels file.
    An absent one (a directory without ``key`` yet) is not: the defaults apply until it
    appears. Once running, any such problem is reported and waited for, never fatal."""
    from nodeconf.sources.file import MAX_DOCUMENT_BYTES  # noqa: PLC0415 - the file source
    from nodeconf.sources.file.reading import UnreadableFile, read_file  # noqa: PLC0415

    document = os.path.join(path, key) if os.path.isdir(path) else path
    try:
        read_file(document, MAX_DOCUMENT_BYTES)
    except UnreadableFile as exc:
        raise UsageError(f"--path: {exc}") from exc


def _check_kubernetes_source(
    args: argparse.Namespace, namespace: str | None, node_name: str | None
) -> None:
    if args.path is not None:
        raise UsageError("--path needs --source file")
    if args.node_labels is not None or args.labels_file is not None:
        raise UsageError(
            "--node-labels and --labels-file need --source file "
            "(the kubernetes source reads the Node's labels)"
        )
    if args.poll_interval is not None or args.force_polling:
        raise UsageError("--poll-interval and --force-polling need --source file")
    if args.kubeconfig is not None:
        if not os.path.isfile(args.kubeconfig):
            raise UsageError(f"--kubeconfig {args.kubeconfig}: no such file")
        from nodeconf.sources.kubernetes.client import load_config  # noqa: PLC0415 - lightkube

        try:
            load_config(args.kubeconfig)  # unreadable now: exit 2 rather than fail at start
        except SourceError as exc:
            raise UsageError(f"--kubeconfig: {exc}") from exc
    missing = [
        f"--{flag} (or ${env})"
        for flag, env, value in (
            ("namespace", "POD_NAMESPACE", namespace),
            ("node-name", "NODE_NAME", node_name),
        )
        if not value
    ]
    if missing:
        raise UsageError(f"--source kubernetes needs {' and '.join(missing)}")


def _exec_argv(given: list[str] | None) -> tuple[str, ...]:
    """The --exec command (a leading ``--`` dropped), checked to be runnable."""
    if given is None:
        return ()
    argv = tuple(given[1:] if given[:1] == ["--"] else given)
    if not argv:
        raise UsageError("--exec needs a command")
    if shutil.which(argv[0]) is None:
        raise UsageError(f"--exec {argv[0]}: command not found")
    return argv


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
        sinks: list[OutcomeSink] = [LogSink()]
        if opts.status_addr is not None:  # metrics only when something can scrape them
            from nodeconf.status.metrics import MetricsSink  # noqa: PLC0415 - prometheus_client

            metrics = MetricsSink()
            sinks.append(metrics)
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
