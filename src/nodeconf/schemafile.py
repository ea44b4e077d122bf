"""``load_json_schema(path)``: a config schema from a JSON Schema file.

The one place that reads a schema file: the pure model (``nodeconf.model.generic``) compiles
text and never touches the file system. Every failure is a ``SchemaError`` whose message is
one line naming the file: ``gpu.schema.json: cannot read: No such file or directory``,
``gpu.schema.json: 3:7: invalid JSON: ...``, ``gpu.schema.json: properties.x.oneOf: keyword
'oneOf' is not supported ...``.

Thread-safety: pure apart from reading the file; safe from any thread.
"""

from __future__ import annotations

import os

from nodeconf.errors import SchemaError
from nodeconf.model.generic import JsonRules, JsonSchemaConfig

__all__ = ["load_json_schema"]


def load_json_schema(
    path: str | os.PathLike[str],
    *,
    overrides: str | None = None,
    rules: JsonRules | None = None,
) -> JsonSchemaConfig:
    """Read and compile the JSON Schema at ``path``; ``SchemaError`` naming the file if it
    cannot be read or used.

    ``overrides`` (``"last-match"`` or ``"every-match"``) replaces the schema's own
    ``x-nodeconf.overrides``; ``rules`` are optional cross-field rules over the merged JSON.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise SchemaError(f"cannot read: {exc.strerror or exc}", source=source) from exc
    return JsonSchemaConfig.from_text(data, source=source, overrides=overrides, rules=rules)
