"""Reading document text as JSON, safely: the only place that touches raw bytes.

Promises:

* ``decode_object`` returns a ``dict`` (or, when asked, ``None`` for the text ``null``) or
  raises ``DocumentError``; never anything else, whatever it is given (too large, not UTF-8,
  bad JSON, ``NaN``, nesting deep enough to exhaust the interpreter's recursion limit, an
  integer literal too long to convert, not an object);
* JSON errors carry the line and column; undecodable bytes carry the line and column of the
  first bad byte;
* every decoded string is valid Unicode: a lone UTF-16 surrogate escape becomes U+FFFD, as Go
  decodes it;
* the decode is a single ``json.loads`` with no per-object Python hook, so it costs what the
  C decoder costs. Duplicate keys (the last one wins, as in Go for a scalar) are found cheaply
  afterwards: every key in the text is followed by a ``:`` outside a string, so when a count of
  colons that includes every key's equals the number of keys in the decoded tree there can be
  no duplicate (``may_have_duplicates``). Only when none of its counts does is the text
  decoded again, by ``find_duplicates``, with a hook that names the duplicated keys and paths.

Paths use dots for identifier-like keys (``globalConfig.evictingConfig``), ``[n]`` for array
items and ``["..."]`` for other keys (label keys: ``matchLabels["kubernetes.io/os"]``).

Thread-safety: pure functions, safe from any thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final, overload

from nodeconf.errors import DocumentError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "count_keys",
    "decode_object",
    "decode_text",
    "find_duplicates",
    "join_path",
    "json_type_name",
    "may_have_duplicates",
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
    """Check the size limit and decode UTF-8; raise ``DocumentError`` on either failure.

    Text given as ``str`` must be encodable as UTF-8 (no lone surrogate code points), as the
    bytes of a ConfigMap are.
    """
    if type(data) is bytes and len(data) <= MAX_DOCUMENT_BYTES:
        try:  # the common case: one C call (``bytes.decode``'s default is strict UTF-8)
            return data.decode()
        except UnicodeDecodeError as exc:
            raise _not_utf8(data, exc) from exc
    if isinstance(data, str):
        size = len(data)
        if not data.isascii():
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
        raise _not_utf8(raw, exc) from exc


def _not_utf8(raw: bytes, exc: UnicodeDecodeError) -> DocumentError:
    """The error for bytes that are not UTF-8, at the line and column of the first bad byte."""
    line = raw.count(b"\n", 0, exc.start) + 1
    column = exc.start - raw.rfind(b"\n", 0, exc.start)
    return DocumentError(
        f"document is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", line=line, column=column
    )


#: A run of digits longer than any integer the decoder converts (``sys.int_info``'s default
#: limit is 4,300 digits; no valid int64 has more than 19).
_LONG_DIGITS: Final = re.compile(r"\d{4301,}")


def _too_many_digits(text: str) -> DocumentError:
    """The error for a number too long to decode, in our words, at the number's position."""
    found = _LONG_DIGITS.search(text)
    if found is None:
        return DocumentError("invalid JSON: a number with too many digits")
    line, column = _line_column(text, found.start())
    digits = found.end() - found.start()
    return DocumentError(
        f"invalid JSON: a number of {digits} digits (no field takes more than 19)",
        line=line,
        column=column,
    )


def _check_size(size: int) -> None:
    if size > MAX_DOCUMENT_BYTES:
        # The size is not named: a source may hand on only the first bytes of a larger file.
        raise DocumentError(
            f"document is over the ConfigMap limit of {MAX_DOCUMENT_BYTES} bytes (1 MiB)"
        )


class _ConstantError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


#: One decoder for every call: ``json.loads`` with keyword arguments would build a new one
#: (and its C scanner) per call. Shared across threads exactly as ``json.loads`` shares
#: ``json``'s own default decoder in every program (the C scanner keeps no state between calls;
#: checked under free-threaded 3.13 too); the only Python hook, ``parse_constant``, keeps no
#: state and just raises.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


#: The C scanner ``JSONDecoder.decode`` calls (typeshed does not declare the attribute).
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
#: JSON's blanks, as ``json.decoder`` skips them.
_BLANKS: Final = " \t\n\r"


def _decode(text: str) -> Any:
    """``_DECODER.decode(text)``, same value and same errors, without its two Python frames and
    two regex matches (the scanner is what it calls)."""
    start = 0 if text[:1] == "{" else len(text) - len(text.lstrip(_BLANKS))
    try:
        value, end = _SCAN(text, start)
    except StopIteration as exc:
        raise json.JSONDecodeError("Expecting value", text, exc.value) from None
    if end != len(text):
        rest = text[end:]
        blanks = len(rest) - len(rest.lstrip(_BLANKS))
        if blanks != len(rest):
            raise json.JSONDecodeError("Extra data", text, end + blanks)
    return value


@overload
def decode_object(text: str) -> dict[str, Any]: ...


@overload
def decode_object(text: str, *, allow_null: bool) -> dict[str, Any] | None: ...


def decode_object(text: str, *, allow_null: bool = False) -> dict[str, Any] | None:
    """Decode ``text`` (already size-checked) into a JSON object; ``DocumentError`` otherwise.

    With ``allow_null``, the text ``null`` gives ``None`` (Go decodes it into a struct as "no
    fields"). A lone UTF-16 surrogate escape (``"\\ud800"``) becomes U+FFFD, as in Go, so every
    string decoded is valid Unicode.
    """
    try:
        tree = _decode(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
    except _ConstantError as exc:
        line, column = _locate_constant(text)
        raise DocumentError(
            f"invalid JSON: {exc.name} is not a JSON value", line=line, column=column
        ) from exc
    except RecursionError as exc:
        raise DocumentError("invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # an integer literal with more digits than Python converts
        raise _too_many_digits(text) from exc
    if type(tree) is not dict:
        if tree is None and allow_null:
            return None
        raise DocumentError(f"document must be a JSON object, got {json_type_name(tree)}")
    found: dict[str, Any] = tree
    if "\\" in text and _SURROGATE_ESCAPE.search(text) is not None:  # no escape: no surrogate
        found = _replace_lone_surrogates(found)
    return found


#: A ``\\uD800``..``\\uDFFF`` escape: the only way a decoded string can hold a surrogate.
#: (An escaped backslash before ``u`` matches too; the replacement walk is then a no-op.)
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


def _fix(text: str) -> str:
    return _LONE_SURROGATE.sub("\N{REPLACEMENT CHARACTER}", text)


def _replace_lone_surrogates(tree: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``tree`` with every lone surrogate (in keys and strings) replaced by U+FFFD."""

    def fixed(value: Any, depth: int) -> Any:
        if type(value) is str:
            return _fix(value)
        if depth > _MAX_WALK_DEPTH:
            return value
        if type(value) is dict:
            return {_fix(k): fixed(v, depth + 1) for k, v in value.items()}
        if type(value) is list:
            return [fixed(v, depth + 1) for v in value]
        return value

    out: dict[str, Any] = fixed(tree, 0)
    return out


#: How deep ``_replace_lone_surrogates`` looks (it recurses); far below any recursion limit
#: and far above any meaningful document (which is at most 8 levels deep).
_MAX_WALK_DEPTH: Final = 200


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


#: The end of a key: its closing quote, optional whitespace, the colon.
_KEY_END: Final = re.compile(r'"[ \t\r\n]*:')


def may_have_duplicates(text: str, keys: int) -> bool:
    """Whether ``text`` (valid JSON whose decoded tree has ``keys`` object keys) may hold a
    duplicate key; ``False`` is a proof there is none.

    Every key written in the text is a string followed, after optional blanks, by a ``:``
    outside any string, so the ``W`` keys written are at most any count below that includes
    every key's colon; ``W >= keys``, with equality exactly when no key was collapsed. So when
    a count equals ``keys``, there is no duplicate. Cheapest first:

    1. every ``:`` (a document whose strings hold no colon: one pass);
    2. every ``:`` less those of ``://`` (a key's colon is never followed by ``//``: the
       value after it starts with a quote, digit, ``-``, ``{``, ``[`` or a letter);
    3. the same, less as many other colons as it takes to reach ``keys``, found one by one
       from the start (and no further once enough are found): a colon that follows neither
       a ``"`` nor a blank is no key's (a key's colon follows its closing quote, directly or
       after blanks), and one not followed by ``//`` was not taken off already. A URL with
       a port, a time of day: usually found among the first few colons (more than
       ``_FEW_OTHER_COLONS`` to find: all of them, by one ``findall``);
    4. every closing quote followed by a colon (after optional blanks).
    """
    excess = text.count(":") - keys
    if not excess:
        return False
    excess -= text.count("://")
    if not excess:
        return False
    if excess > _FEW_OTHER_COLONS:  # many to find: one C pass finds them all
        if len(_OTHER_COLONS(text)) == excess:
            return False
    elif excess > 0:
        pos = 0
        while (found := _OTHER_COLON(text, pos)) is not None:
            excess -= 1
            if not excess:
                return False
            pos = found.end()
    return len(_KEY_END.findall(text)) != keys


#: A colon that follows neither a quote nor a blank (so is no key's colon) and is not
#: followed by ``//`` (so was not counted among those of ``://``): the next one, and all.
_OTHER_COLON_PATTERN: Final = re.compile(r':(?<![" \t\r\n]:)(?!//)')
_OTHER_COLON: Final = _OTHER_COLON_PATTERN.search
_OTHER_COLONS: Final = _OTHER_COLON_PATTERN.findall
#: Up to this many other colons to find, they are found one by one (and the search stops once
#: enough are found); more, by one ``findall`` (a Python step per colon would cost more).
_FEW_OTHER_COLONS: Final = 8


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
    count says duplicates may exist. The hook costs a stack frame that ``decode_object`` did
    not need, so a document nested just below the recursion limit can fail here: that is a
    ``DocumentError`` ("nested too deeply"), as it would have been with a little less stack.
    """
    try:
        tree = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise DocumentError("invalid JSON: nested too deeply") from exc
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
