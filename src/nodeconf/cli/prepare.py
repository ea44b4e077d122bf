"""``nodeconf prepare``: the one-time backfill of the ConfigMap, as an administrator's step.

Volcano's agents each create or backfill the shared ConfigMap at start-up, so every agent
needs ``create`` and ``update`` on ConfigMaps, and one compromised node can rewrite the
configuration of every node. nodeconf moves that write out of the agents: this command (run
once with an administrator's kubeconfig, or as the one-shot Job in ``deploy/prepare/``) does
what Volcano's start-up does (``nodeconf.sources.kubernetes.prepare``): create the ConfigMap
with the default document when it is missing, add the missing sections otherwise, never
overwrite a concurrent edit. ``nodeconf run`` then only reads (its ``--prepare`` flag brings
Volcano's behaviour back, with its risk).

Prints one line saying what was done (``created``, ``backfilled``, ``key-added``,
``unchanged``) and exits 0; exits 1 with one line on stderr when the document cannot be read
(nothing is written) or the API server cannot be reached within ``--timeout``.

Thread-safety: runs on the main thread; starts no thread.
"""

from __future__ import annotations

import argparse
import os
from typing import BinaryIO, TextIO

from nodeconf.cli.daemonflags import DEFAULT_CONFIGMAP, DEFAULT_KEY
from nodeconf.cli.main import UsageError

__all__ = ["add_prepare_arguments", "run_prepare"]

DEFAULT_TIMEOUT_SECONDS = 60.0
RETRY_INTERVAL_SECONDS = 1.0
EXIT_OK = 0
EXIT_FAILED = 1


def add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``nodeconf prepare`` (documented in docs/operations.md)."""
    parser.add_argument(
        "--kubeconfig",
        metavar="F",
        help="kubeconfig file (default: the in-cluster service account, "
        "else $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--namespace",
        help="the ConfigMap's namespace (default: $POD_NAMESPACE, else the kubeconfig's)",
    )
    parser.add_argument(
        "--configmap", default=DEFAULT_CONFIGMAP, help="ConfigMap name (default: %(default)s)"
    )
    parser.add_argument(
        "--key", default=DEFAULT_KEY, help="data key of the document (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="retry failed requests for this long (default: %(default)g)",
    )


def run_prepare(
    args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    """Create or backfill the ConfigMap once; print what was done."""
    from nodeconf.concurrency.clock import default_clock  # noqa: PLC0415 - lazy imports
    from nodeconf.errors import SourceError  # noqa: PLC0415
    from nodeconf.model.colocation import COLOCATION  # noqa: PLC0415
    from nodeconf.sources.kubernetes.client import KubeClient  # noqa: PLC0415 - lightkube
    from nodeconf.sources.kubernetes.prepare import prepare_configmap  # noqa: PLC0415

    if not 0 < args.timeout < float("inf"):
        raise UsageError("nodeconf prepare: --timeout must be a positive number of seconds")
    if args.kubeconfig is not None and not os.path.isfile(args.kubeconfig):
        raise UsageError(f"nodeconf prepare: --kubeconfig {args.kubeconfig}: no such file")
    try:
        client = KubeClient.connect(args.kubeconfig)
    except SourceError as exc:
        raise UsageError(f"nodeconf prepare: --kubeconfig: {exc}") from exc
    namespace = args.namespace or os.environ.get("POD_NAMESPACE") or client.default_namespace
    where = f"ConfigMap {namespace}/{args.configmap} key {args.key}"
    clock = default_clock()
    try:
        result = prepare_configmap(
            client,
            namespace=namespace,
            name=args.configmap,
            key=args.key,
            schema=COLOCATION,
            clock=clock,
            retry_interval_seconds=RETRY_INTERVAL_SECONDS,
            deadline=clock.now() + args.timeout,
        )
    except SourceError as exc:
        print(f"nodeconf prepare: {where}: {exc}", file=stderr)
        return EXIT_FAILED
    finally:
        client.close()
    if result.action == "unreadable":
        print(f"nodeconf prepare: {where}: left unchanged: {result.error}", file=stderr)
        return EXIT_FAILED
    print(f"{where}: {result.action}", file=stdout)
    return EXIT_OK
