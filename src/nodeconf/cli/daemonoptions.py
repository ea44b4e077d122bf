"""Checking the flags of ``nodeconf run`` into ``DaemonOptions``, before anything starts.

``options_from_args`` turns the parsed flags (``nodeconf.cli.daemonflags``) and the
environment (``POD_NAMESPACE``, ``NODE_NAME``, ``POD_NAME``, ``KUBERNETES_SERVICE_HOST``) into
one immutable ``DaemonOptions``, or raises ``UsageError`` (one line naming the flag, the value
and the rule; exit 2): a flag of the other source, a ``--path``, ``--labels-file`` or
``--kubeconfig`` that does not exist or cannot be read, a ``--write-effective`` directory
that is missing, a ``--state-dir`` that cannot be written, an ``--exec`` command that cannot
be found, a number out of range. The files are read once here, as the daemon will read them,
so that an unusable one fails at once rather than after start-up.

Thread-safety: ``options_from_args`` runs on the calling thread (the main thread, once per
run) and only reads the file system; ``DaemonOptions`` is immutable.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nodeconf.cli.daemonflags import DEFAULT_POLL_INTERVAL_SECONDS, STARTUP_TIMEOUT_SECONDS
from nodeconf.cli.labels import parse_label_list, read_labels_file
from nodeconf.cli.main import UsageError
from nodeconf.cli.schemaopt import selected_schema
from nodeconf.errors import SourceError
from nodeconf.status.address import parse_address

__all__ = ["DaemonOptions", "options_from_args"]


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
