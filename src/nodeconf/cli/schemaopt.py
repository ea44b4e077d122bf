"""``--schema FILE``: the config format of every command (``validate``, ``render``, ``schema``,
``default``, ``run``).

Without ``--schema`` a command serves Volcano's colocation document, as before. With it, the
file is a JSON Schema (draft 2020-12 subset, see docs/schema.md) of one agent's config, and
the document is the layered document of that config (``globalConfig`` then ``nodesConfig``).
A schema file that cannot be read or used is a ``SchemaError`` (one line naming the file and
the problem; ``nodeconf.cli.main`` prints it and exits 2).

``render --schema`` prints the effective config as JSON on stdout and exits 0; when the
config is invalid for that node it prints nothing on stdout, one line per problem (then each
warning) on stderr, and exits 1.

Thread-safety: each function runs once, on the calling thread.
"""

from __future__ import annotations

# ruff: noqa: PLC0415 - the generic schema is loaded only when --schema is given
import argparse
import json
from typing import Any, BinaryIO, TextIO

__all__ = ["add_schema_option", "render_with_schema", "selected_schema"]


def add_schema_option(parser: argparse.ArgumentParser | Any) -> None:
    """Add ``--schema FILE`` to a command (or an argument group)."""
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="a JSON Schema of your agent's config: the document is then globalConfig and "
        "nodesConfig of that config (default: Volcano's colocation format)",
    )


def selected_schema(args: argparse.Namespace) -> Any:
    """The schema the command serves: ``--schema FILE`` compiled, or the colocation schema.

    Raises ``SchemaError`` (one line naming the file) when the file cannot be used.
    """
    path = getattr(args, "schema", None)
    if path is None:
        from nodeconf.model.colocation import COLOCATION

        return COLOCATION
    from nodeconf.schemafile import load_json_schema

    return load_json_schema(path)


def render_with_schema(
    args: argparse.Namespace, *, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    """``nodeconf render DOC --schema FILE``: see the module docstring."""
    from nodeconf.cli.inputs import read_input
    from nodeconf.cli.labels import node_labels
    from nodeconf.cli.main import UsageError
    from nodeconf.cli.offline import EXIT_INVALID, EXIT_OK, format_issue
    from nodeconf.errors import DocumentError

    if args.features:
        raise UsageError("nodeconf render: --features applies to the colocation format only")
    schema = selected_schema(args)
    loaded = read_input(args.file, key=args.key, stdin=stdin)
    labels = node_labels(args.node_labels, args.labels_file)
    try:
        document = schema.parse(loaded.data)
    except DocumentError as exc:
        raise exc.with_source(loaded.source) from exc.__cause__
    evaluation = schema.evaluate(document, labels)
    if not evaluation.valid:
        for issue in (*evaluation.errors, *document.warnings):
            print(format_issue(issue, loaded.source), file=stderr)
        return EXIT_INVALID
    print(json.dumps(evaluation.config.to_json(), indent=2), file=stdout)
    for issue in document.warnings:
        print(format_issue(issue, loaded.source), file=stderr)
    return EXIT_OK
