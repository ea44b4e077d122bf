"""``nodeconf`` (and ``python -m nodeconf``): the command line.

Commands: ``validate``, ``render``, ``schema``, ``default`` (``nodeconf.cli.offline``) and
``run``, the daemon (``nodeconf.cli.daemon``).

Exit codes, for every command:

* 0 - success (valid document; daemon stopped cleanly within ``--shutdown-timeout``);
* 1 - the document is invalid (``validate``/``render``), or the daemon failed at run time or
  could not finish its stop in time;
* 2 - bad flags, or input that cannot be read at all (missing file, bad JSON/YAML, not UTF-8,
  too large, a ``--path`` that does not exist at start-up).

Nothing ends in a traceback: every error the user can cause is a ``NodeconfError``, an
``OSError`` or a usage error, printed as one line on stderr; anything else is a bug, printed
as one line too (``internal error``), with the traceback only when ``NODECONF_DEBUG=1``.
Every such line starts with ``nodeconf: ``, whichever command printed it; an error about a
path given with a flag names the flag (``nodeconf: --labels-file /nope: cannot read: ...``).

Thread-safety: ``main`` runs on the calling thread; it is not meant to run twice at once.
"""

from __future__ import annotations

# ruff: noqa: PLC0415 - commands are imported when chosen, so `nodeconf validate` does not pay
# for the daemon's imports (and `--help` for neither)
import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

__all__ = ["UsageError", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad flags; the message is one line. Thread-safety: immutable after construction."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises ``UsageError`` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (the ``run`` flags come from ``nodeconf.cli.daemonflags``)."""
    from nodeconf import __version__
    from nodeconf.cli import daemon, daemonflags, offline, prepare, rollout

    parser = _Parser(
        prog="nodeconf",
        description="Live, validated, per-node configuration for Kubernetes node agents.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"nodeconf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    table: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = [
        (
            "validate",
            "check a document; exit 1 and one line per problem when invalid",
            offline.add_validate_arguments,
            offline.run_validate,
        ),
        (
            "render",
            "print a node's effective config as JSON",
            offline.add_render_arguments,
            offline.run_render,
        ),
        (
            "schema",
            "print the JSON Schema of the document",
            offline.add_schema_arguments,
            offline.run_schema,
        ),
        (
            "default",
            "print the default document",
            offline.add_default_arguments,
            offline.run_default,
        ),
        (
            "run",
            "run the daemon: watch the document, apply each change to the listeners",
            daemonflags.add_run_arguments,
            daemon.run_daemon,
        ),
        (
            "prepare",
            "create or backfill the ConfigMap once (an administrator's step)",
            prepare.add_prepare_arguments,
            prepare.run_prepare,
        ),
        (
            "rollout",
            "rollout status: which nodes applied the ConfigMap, which rejected it",
            rollout.add_rollout_arguments,
            rollout.run_rollout,
        ),
    ]
    for name, summary, add_arguments, handler in table:
        sub = commands.add_parser(name, help=summary, description=summary, allow_abbrev=False)
        add_arguments(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nodeconf`` with ``argv`` (``sys.argv[1:]`` by default); return the exit code."""
    from nodeconf.cli.labels import LabelsError
    from nodeconf.errors import NodeconfError

    stderr = sys.stderr
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[..., int] = args.handler
        return handler(args, stdin=sys.stdin.buffer, stdout=sys.stdout, stderr=stderr)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except (UsageError, LabelsError) as exc:
        _error(str(exc), stderr)
        return EXIT_USAGE
    except NodeconfError as exc:
        _error(str(exc), stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (| head): not an error worth a message
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        _error(f"internal error: {type(exc).__name__}: {exc}", stderr)
        if os.environ.get("NODECONF_DEBUG") == "1":
            traceback.print_exc(file=stderr)
        return EXIT_FAILED


def _error(message: str, stderr: object) -> None:
    """Print ``message`` as the one line ``nodeconf: MESSAGE`` (messages carry no prefix)."""
    print(f"nodeconf: {' '.join(message.split())}", file=stderr)  # type: ignore[call-overload]


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (tests capture it): nothing to silence
        pass
