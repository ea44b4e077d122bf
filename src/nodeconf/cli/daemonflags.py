"""The flags of ``nodeconf run`` and their defaults (documented in docs/operations.md).

``add_run_arguments`` adds them to the ``run`` sub-command's parser;
``nodeconf.cli.daemonoptions`` checks what was given, and ``nodeconf.cli.daemon`` runs with
the result. The defaults live here, beside the help text that names them:
``DEFAULT_CONFIGMAP`` and ``DEFAULT_KEY`` are also those of ``nodeconf prepare`` and
``nodeconf rollout``; the Kubernetes ones are ``KubernetesSettings``' own, written out so that
``--help`` does not import lightkube. ``STARTUP_TIMEOUT_SECONDS`` is not a flag: it bounds the
daemon's start-up, and ``--restore-after`` with it.

Thread-safety: ``add_run_arguments`` runs on the thread that builds the parser (the main
thread); the constants are immutable.
"""

from __future__ import annotations

import argparse

from nodeconf.cli.schemaopt import add_schema_option

__all__ = ["add_run_arguments"]

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
