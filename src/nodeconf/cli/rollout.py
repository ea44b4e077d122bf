"""``nodeconf rollout status``: has every node applied the ConfigMap, and which rejected it?

Reads the ConfigMap, the Nodes and the agent Pods (one paginated LIST each, never a request
per node), computes every node's expected effective config with the pure model and compares
its hash with the ``nodeconf.io/ConfigApplied`` condition that node's agent published
(``nodeconf.sources.kubernetes.rollout``). Prints a table ending with a summary line
(``4/5 nodes up to date, 1 rejected``) or, with ``-o json``, ``{"summary": {...},
"nodes": [...]}``.

``--wait`` watches the agent pods (a WATCH from the LIST's resourceVersion, our own loop on
lightkube's connection) and re-assesses on every change, returning as soon as every node with
an agent is settled (up to date or rejected); when a watch ends or fails, the three LISTs are
done again (after the backoff on a failure), which also picks up ConfigMap and Node changes.

Exit codes: 0 every node with an agent is up to date; 1 any node rejected or failing; 2
usage, kubeconfig or connection errors (one line); 3 nodes still pending or unknown (with
``--wait``: when ``--timeout`` passed first).

Thread-safety: runs on the main thread; starts no thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import threading
import time
from typing import Any, BinaryIO, TextIO

from nodeconf.cli.daemonflags import DEFAULT_CONFIGMAP, DEFAULT_KEY
from nodeconf.cli.main import UsageError
from nodeconf.cli.schemaopt import add_schema_option, selected_schema

__all__ = ["add_rollout_arguments", "parse_duration", "run_rollout"]

DEFAULT_SELECTOR = "app.kubernetes.io/name=nodeconf"
DEFAULT_TIMEOUT = "5m"
EXIT_USAGE = 2
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h`` -> seconds; ``ValueError`` for anything else."""
    unit = _UNITS.get(text[-1:])
    number = text[:-1] if unit is not None else text
    seconds = float(number) * (unit or 1.0)
    if not 0 < seconds < math.inf:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def add_rollout_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``nodeconf rollout status`` (documented in docs/operations.md)."""
    parser.add_argument("action", choices=["status"], help="what to do (status)")
    parser.add_argument(
        "--kubeconfig",
        metavar="F",
        help="kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--namespace", help="the agents' namespace (default: $POD_NAMESPACE, else kubeconfig's)"
    )
    parser.add_argument(
        "--configmap", default=DEFAULT_CONFIGMAP, help="ConfigMap name (default: %(default)s)"
    )
    parser.add_argument(
        "--key", default=DEFAULT_KEY, help="data key of the document (default: %(default)s)"
    )
    add_schema_option(parser)
    parser.add_argument(
        "--selector",
        default=DEFAULT_SELECTOR,
        help="label selector of the agent pods (default: %(default)s)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="watch until every node with an agent is up to date or rejected",
    )
    parser.add_argument(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        metavar="DURATION",
        help="with --wait: give up after this long (90s, 5m, 1h; default: %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", choices=["table", "json"], default="table", help="output format"
    )


def run_rollout(
    args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    """Assess (and with ``--wait`` follow) the rollout; print it; return the exit code."""
    from nodeconf.errors import SourceError  # noqa: PLC0415 - lazy imports
    from nodeconf.model.colocation import COLOCATION  # noqa: PLC0415
    from nodeconf.sources.kubernetes.client import KubeClient  # noqa: PLC0415 - lightkube

    try:
        timeout = parse_duration(args.timeout)
    except ValueError as exc:
        raise UsageError(f"nodeconf rollout status: --timeout: {exc}") from exc
    if args.kubeconfig is not None and not os.path.isfile(args.kubeconfig):
        raise UsageError(f"nodeconf rollout status: --kubeconfig {args.kubeconfig}: no such file")
    schema = selected_schema(args) if args.schema is not None else COLOCATION
    try:
        client = KubeClient.connect(args.kubeconfig)
    except SourceError as exc:
        raise UsageError(f"nodeconf rollout status: --kubeconfig: {exc}") from exc
    namespace = args.namespace or os.environ.get("POD_NAMESPACE") or client.default_namespace
    try:
        report = _follow(client, args, schema, namespace, timeout)
    except SourceError as exc:
        print(f"nodeconf rollout status: {exc}", file=stderr)
        return EXIT_USAGE
    finally:
        client.close()
    if args.output == "json":
        print(json.dumps(report.to_json(), indent=2), file=stdout)
    else:
        print(_table(report), file=stdout)
    return int(report.exit_code)


def _follow(
    client: Any, args: argparse.Namespace, schema: Any, namespace: str, timeout: float
) -> Any:
    """Assess once; with ``--wait``, watch the pods until settled or the deadline. A failed
    LIST or WATCH during ``--wait`` is retried after the backoff (the first LIST's failure
    ends the command)."""
    from nodeconf.errors import SourceError  # noqa: PLC0415
    from nodeconf.sources.kubernetes.backoff import Backoff, BackoffSettings  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    backoff = Backoff(BackoffSettings())
    pause = threading.Event()  # never set: a bounded wait between retries
    report = None
    while True:
        try:
            report, pods, assess_with = _snapshot(client, args, schema, namespace)
            if not args.wait or report.settled:
                return report
            for event in _watch(client, args, namespace, pods.resource_version, deadline):
                _apply(pods.items_by_name, event)
                report = assess_with(pods.items_by_name.values())
                if report.settled:
                    return report
        except SourceError:
            if report is None or time.monotonic() >= deadline:
                raise
            pause.wait(min(backoff.failure(time.monotonic()), deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            return report


class _Pods:
    """The agent pods of the last LIST, by name (mutated by watch events)."""

    def __init__(self, resource_version: str, items: tuple[dict[str, Any], ...]) -> None:
        self.resource_version = resource_version
        self.items_by_name = {str(p["metadata"]["name"]): p for p in items}


def _snapshot(client: Any, args: argparse.Namespace, schema: Any, namespace: str) -> Any:
    from nodeconf.sources.kubernetes.client import (  # noqa: PLC0415
        KIND_CONFIGMAPS,
        KIND_NODES,
        KIND_PODS,
    )
    from nodeconf.sources.kubernetes.rollout import assess  # noqa: PLC0415

    configmap = client.list_named(KIND_CONFIGMAPS, args.configmap, namespace=namespace)
    text = None
    version = ""
    if configmap.items:
        version = str(configmap.items[0]["metadata"].get("resourceVersion", ""))
        text = (configmap.items[0].get("data") or {}).get(args.key)
    nodes = client.list_all(KIND_NODES).items
    listed = client.list_all(KIND_PODS, namespace=namespace, label_selector=args.selector)
    pods = _Pods(listed.resource_version, listed.items)

    def assess_with(current: Any) -> Any:
        return assess(schema, text, version, nodes, current)

    return assess_with(pods.items_by_name.values()), pods, assess_with


def _watch(
    client: Any, args: argparse.Namespace, namespace: str, version: str, deadline: float
) -> Any:
    from nodeconf.sources.kubernetes.apierrors import status_of  # noqa: PLC0415
    from nodeconf.sources.kubernetes.client import KIND_PODS  # noqa: PLC0415

    remaining = max(1, math.ceil(deadline - time.monotonic()))
    with client.watch_collection(
        KIND_PODS,
        namespace=namespace,
        label_selector=args.selector,
        resource_version=version,
        timeout_seconds=remaining,
        idle_timeout_seconds=remaining + 5.0,
    ) as stream:
        for event in stream:
            if event.type == "ERROR":
                raise status_of(event)
            if event.type != "BOOKMARK":
                yield event


def _apply(pods: dict[str, Any], event: Any) -> None:
    name = str(event.object["metadata"]["name"])
    if event.type == "DELETED":
        pods.pop(name, None)
    else:
        pods[name] = event.object


def _table(report: Any) -> str:
    rows = [("NODE", "STATE", "POD", "REVISION", "MESSAGE")]
    for n in report.nodes:
        revision = "" if n.revision is None else str(n.revision)
        rows.append((n.node, n.state, n.pod or "-", revision or "-", n.message))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    lines = [line.rstrip() for line in lines]
    lines.append(report.summary_line())
    return "\n".join(lines)
