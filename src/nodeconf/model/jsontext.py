"""Reading document text as JSON, safely: the only place that touches raw bytes.

Promises:

* ``decode_object`` returns a ``dict`` or raises ``DocumentError``; never anything else,
  whatever it is given (too large, not UTF-8, bad JSON, ``NaN``, nesting deep enough to exhaust
  the interpreter's recursion limit, an integer literal too long to convert, not an object);
* JSON errors carry the line and column; undecodable bytes carry the line and column of the
  first bad byte;
* the decode is a single ``json.loads`` with no per-object Python hook, so it costs what the
  C decoder costs. Duplicate keys (last one wins, as in Go) are found cheaply afterwards:
  every key in the text is followed by a ``:`` outside a string, so when the number of ``:``
  characters in the text equals the number of keys in the decoded tree there can be neither
  a duplicate nor a ``:`` inside a string. Only when the counts differ does
  ``find_duplicates`` decode again with a hook to name the duplicated keys and their paths.

Paths use dots for identifier-like keys (``globalConfig.evictingConfig``), ``[n]`` for array
items and ``["..."]`` for other keys (label keys: ``matchLabels["kubernetes.io/os"]``).

Thread-safety: pure functions, safe from any thread.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from nodeconf.errors import DocumentError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "colons",
    "count_keys",
    "decode_object",
    "decode_text",
    "find_duplicates",
    "join_path",
    "json_type_name",
]

#: Kubernetes refuses ConfigMaps larger than this (``corev1.MaxSecretSize``, 1 MiB).
MAX_DOCUMENT_BYTES: Final = 1_048_576

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN', re.DOTALL)


def join_path(parent: str, key: str) -> str:
    """``parent.key`` for identifier-like keys, ``parent["key"]`` otherwise."""
    if _IDENT.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type (``object``, ``array``, ``string``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _line_column(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return line, column


def decode_text(data: str | bytes) -> str:
    """Check the size limit and decode UTF-8; raise ``DocumentError`` on either failure."""
    if isinstance(data, str):
        size = len(data)
        if size * 4 > MAX_DOCUMENT_BYTES:
            try:
                size = len(data.encode("utf-8"))
            except UnicodeEncodeError as exc:
                line, column = _line_column(data, exc.start)
                raise DocumentError(
                    "document is not valid UTF-8 (lone surrogate)", line=line, column=column
                ) from exc
        _check_size(size)
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DocumentError(f"document must be text or bytes, got {type(data).__name__}")
    raw = bytes(data)
    _check_size(len(raw))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise DocumentError(
            f"document is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            line=line,
            column=column,
        ) from exc


def _check_size(size: int) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            f"document is {size} bytes, over the ConfigMap limit of "
            f"{MAX_DOCUMENT_BYTES} bytes (1 MiB)"
        )


class _ConstantError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


#: One decoder for every call: ``json.loads`` with keyword arguments would build a new one
#: (and its C scanner) per call. Shared like ``json``'s own default decoder: it keeps no state
#: between calls.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def decode_object(text: str) -> dict[str, Any]:
    """Decode ``text`` (already size-checked) into a JSON object; ``DocumentError`` otherwise."""
    try:
        tree = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
    except _ConstantError as exc:
        line, column = _locate_constant(text)
        raise DocumentError(
            f"invalid JSON: {exc.name} is not a JSON value", line=line, column=column
        ) from exc
    except RecursionError as exc:
        raise DocumentError("invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer literal with more digits than Python converts
        raise DocumentError(f"invalid JSON: {exc}") from exc
    if type(tree) is not dict:
        raise DocumentError(f"document must be a JSON object, got {json_type_name(tree)}")
    return tree


def _locate_constant(text: str) -> tuple[int | None, int | None]:
    for m in _CONSTANT_OR_STRING.finditer(text):
        if not m.group().startswith('"'):
            return _line_column(text, m.start())
    return None, None  # pragma: no cover - the decoder found one, so does the scan


def count_keys(value: object) -> int:
    """Total number of object keys anywhere inside ``value`` (iterative: any depth)."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            total += len(v)
            stack.extend(v.values())
        elif type(v) is list:
            stack.extend(v)
    return total


def colons(text: str) -> int:
    """Number of ``:`` characters in ``text`` (an upper bound of the number of keys)."""
    return text.count(":")


class _Duplicates(dict[str, Any]):
    """A decoded object that had duplicate keys; ``duplicates`` lists them in text order."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    dup = _Duplicates(d)
    seen: set[str] = set()
    dup.duplicates = []
    for key, _ in pairs:
        if key in seen and key not in dup.duplicates:
            dup.duplicates.append(key)
        seen.add(key)
    return dup


def find_duplicates(text: str) -> list[tuple[str, str, object]]:
    """``(path, key, kept value)`` of every duplicated key in ``text`` (a valid JSON object).

    Slower than ``decode_object`` (a Python hook per object): call it only when the cheap
    count says duplicates may exist.
    """
    tree = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant)
    found: list[tuple[str, str, object]] = []
    stack: list[tuple[str, object]] = [("", tree)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, dict):
            if isinstance(v, _Duplicates):
                found.extend((join_path(path, k), k, v[k]) for k in v.duplicates)
            stack.extend((join_path(path, k), child) for k, child in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(v))))
    return found
