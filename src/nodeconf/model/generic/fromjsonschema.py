"""Compile a JSON Schema (draft 2020-12, a subset) into a ``Spec``.

Supported, with their JSON Schema meaning: ``type`` (a name or a list of names), ``properties``,
``required``, ``additionalProperties`` (a boolean or a schema), ``items`` (one schema for every
item), ``enum``, ``const``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``
(numbers, as in 2020-12), ``minLength``, ``maxLength``, ``pattern`` (unanchored, read as a Python
regular expression), ``minItems``, ``maxItems``, ``default`` at any depth, and ``$defs`` with
``$ref`` to ``#/$defs/NAME`` (or any JSON pointer into the same file; the referenced schema's
keywords apply, and only annotations may sit beside a ``$ref``). Annotations are accepted and
kept or ignored: ``$schema`` (must be draft 2020-12), ``$id``, ``$comment``, ``title``,
``description``, ``examples``, ``deprecated``, ``readOnly``, ``writeOnly``, ``format`` (an
annotation in 2020-12: not checked). ``x-nodeconf`` at the root holds nodeconf's own options
(``{"overrides": "last-match" | "every-match"}``).

**Anything else is refused**, never ignored: ``SchemaError`` names the keyword and where it is
(``properties.limits.oneOf: keyword 'oneOf' is not supported ...``). So is a wrongly typed
keyword value, a ``pattern`` that does not compile, a ``$ref`` outside the file or in a cycle,
``true``/``false`` as a whole schema other than in ``additionalProperties``, and a ``default``
that breaks its own schema.

Thread-safety: pure; each call compiles afresh.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from nodeconf.errors import DocumentError, SchemaError
from nodeconf.model.generic.check import render_path, validate
from nodeconf.model.generic.spec import JSON_TYPES, UNSET, Spec, show
from nodeconf.model.jsontext import decode_object, decode_text

__all__ = ["DIALECT", "OPTIONS_KEYWORD", "OVERRIDE_MODES", "compile_json_schema", "read_schema"]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
OPTIONS_KEYWORD: Final = "x-nodeconf"
#: How overrides apply: the last matching one (Volcano's rule) or every match in order.
OVERRIDE_MODES: Final = ("last-match", "every-match")

_ANNOTATIONS: Final = frozenset(
    {
        "$comment",
        "$id",
        "$schema",
        "title",
        "description",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "default",
    }
)
_CHECKS: Final = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "$defs",
        "$ref",
    }
)
_SUPPORTED: Final = "type, properties, required, additionalProperties, items, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, minItems, maxItems, default, $defs, $ref"  # noqa: E501


def read_schema(data: str | bytes, source: str = "<schema>") -> dict[str, Any]:
    """Decode schema text into a JSON object; ``SchemaError`` naming ``source`` otherwise."""
    try:
        return decode_object(decode_text(data))
    except DocumentError as exc:
        where = f"{exc.line}:{exc.column}: " if exc.line is not None else ""
        raise SchemaError(f"{where}{exc.reason}", source=source) from exc


class _Compiler:
    """Compiles one schema document; ``_active`` holds the ``$ref`` targets being compiled
    (a cycle is refused), ``_done`` the compiled ones. Owned by one call."""

    def __init__(self, root: Mapping[str, Any], source: str) -> None:
        self.root = root
        self.source = source
        self._done: dict[str, Spec] = {}
        self._active: set[str] = set()

    def fail(self, path: str, reason: str) -> SchemaError:
        return SchemaError(reason, path=path or "(root)", source=self.source)

    def compile(self, raw: object, path: str) -> Spec:
        if raw is True:
            return Spec()
        if type(raw) is not dict:
            raise self.fail(path, f"a schema must be an object, got {show(raw)}")
        unknown = [
            k
            for k in raw
            if k not in _ANNOTATIONS and k not in _CHECKS and (path or k != OPTIONS_KEYWORD)
        ]
        if unknown:
            key = unknown[0]
            raise self.fail(
                _at(path, key),
                f"keyword {key!r} is not supported (nodeconf supports {_SUPPORTED}, "
                "and annotations)",
            )
        if path and ("$schema" in raw or "$defs" in raw):
            key = "$schema" if "$schema" in raw else "$defs"
            raise self.fail(_at(path, key), f"{key!r} is only supported at the root")
        if "$ref" in raw:
            return self._ref(raw, path)
        return self._plain(raw, path)

    def _ref(self, raw: dict[str, Any], path: str) -> Spec:
        ref = raw["$ref"]
        where = _at(path, "$ref")
        beside = sorted(k for k in raw if k in _CHECKS and k not in ("$ref", "$defs"))
        if beside:
            raise self.fail(
                where, f"only annotations may sit beside '$ref' here, found {beside[0]!r}"
            )
        if type(ref) is not str or not ref.startswith("#"):
            raise self.fail(where, f"only references inside this file ('#/...'), got {show(ref)}")
        if ref in self._active:
            raise self.fail(where, f"recursive reference {ref!r} is not supported")
        spec = self._done.get(ref)
        if spec is None:
            target = self._resolve(ref, where)
            self._active.add(ref)
            try:
                spec = self.compile(target, ref[1:].lstrip("/").replace("/", "."))
            finally:
                self._active.discard(ref)
            self._done[ref] = spec
        extra = _annotations(raw)
        if extra:
            spec = dataclasses.replace(spec, **extra)
            self._check_default(spec, path)
        return spec

    def _resolve(self, ref: str, where: str) -> object:
        node: object = self.root
        pointer = ref[1:]
        if pointer and not pointer.startswith("/"):
            raise self.fail(
                where, f"only JSON pointers ('#/$defs/name') are supported, got {ref!r}"
            )
        for token in pointer.split("/")[1:] if pointer else ():
            name = token.replace("~1", "/").replace("~0", "~")
            if type(node) is dict and name in node:
                node = node[name]
            elif type(node) is list and name.isdigit() and int(name) < len(node):
                node = node[int(name)]
            else:
                raise self.fail(where, f"reference {ref!r} points to nothing")
        if node is self.root:
            raise self.fail(where, "recursive reference '#' is not supported")
        return node

    def _plain(self, raw: dict[str, Any], path: str) -> Spec:
        def at(key: str) -> str:
            return _at(path, key)

        fields: dict[str, Any] = _annotations(raw)
        if "$defs" in raw and type(raw["$defs"]) is not dict:
            raise self.fail(at("$defs"), "must be an object of schemas")
        if "type" in raw:
            fields["types"] = self._types(raw["type"], at("type"))
        if "properties" in raw:
            props = raw["properties"]
            if type(props) is not dict:
                raise self.fail(at("properties"), "must be an object of schemas")
            fields["properties"] = MappingProxyType(
                {k: self.compile(v, _at(at("properties"), k)) for k, v in props.items()}
            )
        if "required" in raw:
            required = raw["required"]
            if type(required) is not list or any(type(k) is not str for k in required):
                raise self.fail(at("required"), "must be an array of property names")
            fields["required"] = tuple(dict.fromkeys(required))
        if "properties" not in raw and "additionalProperties" not in raw:
            fields["additional"] = True  # an object without properties: any keys, all kept
        if "additionalProperties" in raw:
            extra = raw["additionalProperties"]
            fields["additional"] = (
                extra if type(extra) is bool else self.compile(extra, at("additionalProperties"))
            )
        if "items" in raw:
            if type(raw["items"]) is bool and raw["items"] is False:
                fields["max_items"] = 0
            else:
                fields["items"] = self.compile(raw["items"], at("items"))
        if "enum" in raw:
            enum = raw["enum"]
            if type(enum) is not list or not enum:
                raise self.fail(at("enum"), "must be a non-empty array")
            fields["enum"] = tuple(enum)
        if "const" in raw:
            fields["const"] = raw["const"]
        for key, name in _NUMBERS:
            if key in raw:
                value = raw[key]
                if type(value) not in (int, float) or not math.isfinite(value):
                    raise self.fail(at(key), f"must be a number, got {show(value)}")
                fields[name] = value
        for key, name in _COUNTS:
            if key in raw:
                value = raw[key]
                if type(value) is float and value.is_integer():
                    value = int(value)
                if type(value) is not int or value < 0:
                    raise self.fail(at(key), f"must be a non-negative integer, got {show(value)}")
                if "max_items" in fields and name == "max_items":
                    value = min(value, fields["max_items"])
                fields[name] = value
        if "pattern" in raw:
            pattern = raw["pattern"]
            if type(pattern) is not str:
                raise self.fail(at("pattern"), f"must be a string, got {show(pattern)}")
            try:
                fields["pattern"] = re.compile(pattern)
            except re.error as exc:
                raise self.fail(at("pattern"), f"not a valid regular expression: {exc}") from exc
        spec = Spec(**fields)
        self._check_default(spec, path)
        return spec

    def _types(self, raw: object, where: str) -> frozenset[str]:
        names = [raw] if type(raw) is str else raw
        if type(names) is not list or not names or any(n not in JSON_TYPES for n in names):
            raise self.fail(where, f"must be one of {', '.join(JSON_TYPES)} or a list of them")
        return frozenset(names)

    def _check_default(self, spec: Spec, path: str) -> None:
        if spec.default is UNSET:
            return
        problems = validate(spec, spec.default)
        if problems:
            parts, value, message = problems[0]
            raise self.fail(
                render_path(_at(path, "default"), parts),
                f"the default breaks its own schema: {show(value)} {message}",
            )


_NUMBERS: Final = (
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("exclusiveMinimum", "exclusive_minimum"),
    ("exclusiveMaximum", "exclusive_maximum"),
)
_COUNTS: Final = (
    ("minLength", "min_length"),
    ("maxLength", "max_length"),
    ("minItems", "min_items"),
    ("maxItems", "max_items"),
)


def _at(path: str, key: str) -> str:
    """A place in the schema, dotted: ``properties.limits.oneOf``."""
    return f"{path}.{key}" if path else key


def _annotations(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "default" in raw:
        out["default"] = raw["default"]
    for key in ("title", "description"):
        if type(raw.get(key)) is str:
            out[key] = raw[key]
    return out


def compile_json_schema(schema: Mapping[str, Any], source: str = "<schema>") -> tuple[Spec, str]:
    """``(spec, override mode)`` of a JSON Schema's decoded root; ``SchemaError`` if unusable.

    The root must describe an object (``type: object``, or properties without a type).
    """
    if not isinstance(schema, Mapping):
        raise SchemaError(f"a schema must be a JSON object, got {show(schema)}", source=source)
    dialect = schema.get("$schema", DIALECT)
    if dialect not in (DIALECT, DIALECT + "#"):
        raise SchemaError(
            f"only JSON Schema draft 2020-12 is supported ({DIALECT!r}), got {show(dialect)}",
            path="$schema",
            source=source,
        )
    mode = _mode(schema.get(OPTIONS_KEYWORD, {}), source)
    compiler = _Compiler(schema, source)
    spec = compiler.compile(dict(schema), "")
    defs = schema.get("$defs")
    for name in defs if type(defs) is dict else ():  # unused ones are checked too
        compiler.compile({"$ref": "#/$defs/" + name.replace("~", "~0").replace("/", "~1")}, "")
    if spec.types is None and spec.properties:
        spec = dataclasses.replace(spec, types=frozenset({"object"}))
    if spec.types != frozenset({"object"}):
        raise SchemaError(
            'the config must be an object: give the root "type": "object"',
            path="type",
            source=source,
        )
    return spec, mode


def _mode(options: object, source: str) -> str:
    if type(options) is not dict:
        raise SchemaError("must be an object", path=OPTIONS_KEYWORD, source=source)
    for key, value in options.items():
        if key != "overrides":
            raise SchemaError(
                f"unknown option {key!r} (nodeconf has 'overrides')",
                path=OPTIONS_KEYWORD,
                source=source,
            )
        if value not in OVERRIDE_MODES:
            raise SchemaError(
                f"must be one of {', '.join(OVERRIDE_MODES)}, got {show(value)}",
                path=f"{OPTIONS_KEYWORD}.overrides",
                source=source,
            )
    mode = options.get("overrides", OVERRIDE_MODES[0])
    assert isinstance(mode, str)
    return mode
