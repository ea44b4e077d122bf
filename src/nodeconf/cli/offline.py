"""The commands that need no cluster and no daemon: ``validate``, ``render``, ``schema``,
``default``.

Exit codes (shared with ``nodeconf run``, see ``nodeconf.cli.main``): 0 valid, 1 invalid (one
line per problem on stderr), 2 unreadable or malformed input (one line with file, line and
column) or bad flags.

Problem lines read ``SOURCE: SEVERITY: PATH = VALUE: MESSAGE``, e.g.::

    cm.yaml: error: nodesConfig[2].evictingConfig.evictingCPULowWatermark = 90: cpu
    evicting low watermark is higher than high watermark

(one line in reality; wrapped here).

Values are shown as JSON, cut at ``MAX_VALUE_CHARS``.

Thread-safety: each command runs once on the calling thread.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any, BinaryIO, TextIO

from nodeconf.cli.inputs import Loaded, read_input
from nodeconf.cli.labels import node_labels
from nodeconf.cli.schemaopt import add_schema_option, render_with_schema, selected_schema
from nodeconf.errors import DocumentError, Issue
from nodeconf.model.colocation import COLOCATION
from nodeconf.model.seam import Document

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_VALUE_CHARS",
    "add_default_arguments",
    "add_render_arguments",
    "add_schema_arguments",
    "add_validate_arguments",
    "format_issue",
    "run_default",
    "run_render",
    "run_schema",
    "run_validate",
]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

#: Longest value shown in a problem line; longer ones end with "...".
MAX_VALUE_CHARS = 80

DEFAULT_KEY = "colocation-config"


def format_issue(issue: Issue, source: str) -> str:
    """One problem as one line: ``source: severity: path = value: message``."""
    try:
        shown = json.dumps(issue.value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(issue.value)
    if len(shown) > MAX_VALUE_CHARS:
        shown = shown[: MAX_VALUE_CHARS - 3] + "..."
    message = " ".join(issue.message.split())
    return f"{source}: {issue.severity}: {issue.path} = {shown}: {message}"


def _parse(loaded: Loaded, schema: Any = COLOCATION) -> Document:
    """Parse the document; its ``DocumentError`` names the file it came from."""
    try:
        return schema.parse(loaded.data)  # type: ignore[no-any-return]
    except DocumentError as exc:
        raise exc.with_source(loaded.source) from exc.__cause__


def _print_issues(issues: Iterable[Issue], source: str, stderr: TextIO) -> None:
    for issue in issues:
        print(format_issue(issue, source), file=stderr)


def _add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the JSON document, a ConfigMap manifest (YAML or JSON), a mounted-ConfigMap "
        "directory, or - for standard input",
    )
    parser.add_argument(
        "--key",
        default=DEFAULT_KEY,
        help="data key of the document in a ConfigMap (default: %(default)s)",
    )
    parser.add_argument(
        "--node-labels",
        metavar="K=V,...",
        help="the node's labels, comma separated (override those of --labels-file)",
    )
    parser.add_argument(
        "--labels-file", metavar="F", help="a file of key=value lines with the node's labels"
    )
    add_schema_option(parser)


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_file_arguments(parser)
    parser.add_argument(
        "--strict", action="store_true", help="warnings (unknown or duplicate keys) fail too"
    )


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    _add_file_arguments(parser)
    parser.add_argument(
        "--features",
        action="store_true",
        help='print {"config": ..., "features": {...}} with the nine feature gates',
    )
    parser.add_argument(
        "--show-invalid",
        action="store_true",
        help='when the config is invalid, still print the merge, wrapped as {"invalid": true, '
        '"config": ...} (a value of the wrong type shows as its default); exit 1 all the same',
    )


def add_schema_arguments(parser: argparse.ArgumentParser) -> None:
    add_schema_option(parser)


def add_default_arguments(parser: argparse.ArgumentParser) -> None:
    add_schema_option(parser)


def run_validate(
    args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    """Check a document. Without node labels: the global config and each override over it."""
    schema = selected_schema(args)
    loaded = read_input(args.file, key=args.key, stdin=stdin)
    document = _parse(loaded, schema)
    if args.node_labels is not None or args.labels_file is not None:
        errors = schema.evaluate(document, node_labels(args.node_labels, args.labels_file)).errors
    else:
        errors = schema.check_document(document)
    warnings = document.warnings
    _print_issues(errors, loaded.source, stderr)
    _print_issues(warnings, loaded.source, stderr)
    failed = bool(errors) or (args.strict and bool(warnings))
    if failed:
        return EXIT_INVALID
    note = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
    print(f"{loaded.source}: valid{note}", file=stdout)
    return EXIT_OK


def run_render(args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Print one node's effective config; when it is invalid, print only its problems on
    stderr and exit 1, so ``nodeconf render doc > file`` never writes an invalid config.
    ``--show-invalid`` prints the invalid merge anyway, marked ``"invalid": true``."""
    if args.schema is not None:
        return render_with_schema(args, stdin=stdin, stdout=stdout, stderr=stderr)
    loaded = read_input(args.file, key=args.key, stdin=stdin)
    labels = node_labels(args.node_labels, args.labels_file)
    document = _parse(loaded)
    evaluation = COLOCATION.evaluate(document, labels)
    _print_issues(evaluation.errors, loaded.source, stderr)
    _print_issues(document.warnings, loaded.source, stderr)
    if not evaluation.valid and not args.show_invalid:
        return EXIT_INVALID
    config: dict[str, Any] = evaluation.config.to_json()
    out: dict[str, Any] = config
    if args.features:
        out = {"config": config, "features": COLOCATION.features(evaluation.config)}
    if not evaluation.valid:
        out = {"invalid": True, **(out if args.features else {"config": config})}
    print(json.dumps(out, indent=2), file=stdout)
    return EXIT_OK if evaluation.valid else EXIT_INVALID


def run_schema(args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Print the JSON Schema of the document."""
    print(json.dumps(selected_schema(args).json_schema(), indent=2), file=stdout)
    return EXIT_OK


def run_default(
    args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    """Print the default document (what is written when the ConfigMap does not exist)."""
    text = selected_schema(args).default_document_text()
    stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
