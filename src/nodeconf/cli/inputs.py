"""Reading the FILE argument of ``validate`` and ``render``.

FILE is one of:

* the JSON document itself;
* a ConfigMap manifest, YAML or JSON, whose ``data.<key>`` (``colocation-config``) holds the
  document as a string; in a multi-document YAML stream the first ConfigMap is used;
* a directory laid out like a mounted ConfigMap (the document is the file named ``<key>``);
* ``-``: standard input (a document or a manifest).

Everything that goes wrong while reading becomes a ``DocumentError`` naming the file, and the
line and column where they are known: unreadable files, non-UTF-8 bytes, invalid YAML, a
manifest that is not a ConfigMap or lacks the key, input over ``MAX_INPUT_BYTES``, nesting too
deep for the parser. The document text itself is parsed later by the schema, which reports its
own errors; for a manifest the ``source`` then reads ``file[data.colocation-config]`` and the
line and column count inside that string.

Thread-safety: pure functions apart from the one read of the file or stream.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from nodeconf.errors import DocumentError

__all__ = ["MAX_INPUT_BYTES", "Loaded", "extract_document", "read_input"]

#: Bound on what is read at all. The document inside is capped again, at the ConfigMap limit
#: of 1 MiB, by the schema's parser; a manifest may be somewhat larger than its document.
MAX_INPUT_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Loaded:
    """The document text to parse and the name to use for it in messages.

    Thread-safety: immutable.
    """

    data: str | bytes
    source: str


def read_input(path: str, *, key: str, stdin: BinaryIO) -> Loaded:
    """Read FILE (or stdin for ``-``) and return the document text inside it."""
    source = "<stdin>" if path == "-" else path
    raw = _read_bytes(path, key=key, stdin=stdin)
    if path != "-" and os.path.isdir(path):
        return Loaded(raw, os.path.join(path, key))
    return extract_document(raw, source=source, key=key)


def _read_bytes(path: str, *, key: str, stdin: BinaryIO) -> bytes:
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = stdin.read(MAX_INPUT_BYTES + 1)
        else:
            target = os.path.join(path, key) if os.path.isdir(path) else path
            name = target
            with open(target, "rb") as f:
                raw = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DocumentError(f"cannot read: {reason}", source=name) from exc
    if len(raw) > MAX_INPUT_BYTES:
        raise DocumentError(
            f"input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB "
            "(a ConfigMap holds at most 1 MiB)",
            source=name,
        )
    return raw


def extract_document(raw: bytes, *, source: str, key: str) -> Loaded:
    """The document in ``raw``: ``raw`` itself, or ``data.<key>`` of a ConfigMap manifest."""
    body = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if body.startswith((b"{", b"[")):
        manifest = _json_manifest(raw)
        if manifest is None:  # the document itself; the schema reports any error in it
            return Loaded(raw, source)
    else:
        manifest = _yaml_manifest(raw, source=source)
    return _from_manifest(manifest, source=source, key=key)


def _json_manifest(raw: bytes) -> dict[str, Any] | None:
    """A JSON object with ``apiVersion`` and ``kind``, or None (then it is a document)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict) and "apiVersion" in value and "kind" in value:
        return value
    return None


def _yaml_manifest(raw: bytes, *, source: str) -> dict[str, Any]:
    import yaml  # noqa: PLC0415 - 25 ms to import; only YAML manifests need it

    text = _decode(raw, source=source)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    other_kind: object = None  # the kind of the first other manifest, for the message
    try:
        for item in yaml.load_all(text, Loader=loader):
            if isinstance(item, dict) and item.get("kind") == "ConfigMap":
                return item
            if isinstance(item, dict) and other_kind is None:
                other_kind = item.get("kind")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise DocumentError(
            f"invalid YAML: {exc.problem or exc.context or 'syntax error'}",
            source=source,
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {_one_line(str(exc))}", source=source) from exc
    except RecursionError as exc:
        raise DocumentError("invalid YAML: nested too deeply", source=source) from exc
    if isinstance(other_kind, str):
        raise DocumentError(
            f"a manifest of kind {other_kind!r}, expected a ConfigMap", source=source
        )
    raise DocumentError(
        "neither a JSON document nor a ConfigMap manifest (expected a JSON object, "
        "or YAML with kind: ConfigMap)",
        source=source,
        line=1,
        column=1,
    )


def _from_manifest(manifest: dict[str, Any], *, source: str, key: str) -> Loaded:
    kind = manifest.get("kind")
    if kind != "ConfigMap":
        raise DocumentError(f"a manifest of kind {kind!r}, expected a ConfigMap", source=source)
    data = manifest.get("data")
    if not isinstance(data, dict) or key not in data:
        raise DocumentError(f"the ConfigMap has no data key {key!r}", source=source)
    document = data[key]
    if not isinstance(document, str):
        raise DocumentError(
            f"data.{key} must be a string holding the JSON document, not {type(document).__name__}",
            source=source,
        )
    return Loaded(document, f"{source}[data.{key}]")


def _decode(raw: bytes, *, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = raw.count(b"\n", 0, start) + 1
        column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
        raise DocumentError(
            f"not valid UTF-8 (byte 0x{raw[start]:02x})", source=source, line=line, column=column
        ) from exc


def _one_line(text: str) -> str:
    return " ".join(text.split())
