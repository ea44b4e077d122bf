"""``Spec``: one node of a config schema, whichever way the schema was written.

A JSON Schema (``fromjsonschema``) and a dataclass (``fromdataclass``) both compile to a tree
of ``Spec``; the checks (``check``), the layering (``layered``) and the generated document
schema (``docschema``) only ever read that tree. A ``Spec`` holds the supported keyword
subset of JSON Schema draft 2020-12, already resolved (no ``$ref`` left) and checked.

Invariants: a ``Spec`` is immutable and acyclic; ``types`` is ``None`` (any JSON type) or a
non-empty set of JSON type names; ``pattern`` is compiled; ``default`` is ``UNSET`` or a JSON
value (decoded form: dict, list, str, int, float, bool, None) that nobody mutates.

Thread-safety: immutable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

__all__ = ["JSON_TYPES", "UNSET", "Spec", "compiled", "json_equal", "show", "type_of"]

#: The JSON Schema type names.
JSON_TYPES: Final = ("null", "boolean", "object", "array", "number", "string", "integer")


class _Unset:
    """The marker for "no value" (``default`` not given, ``const`` not given)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

_EMPTY: Final[Mapping[str, Spec]] = MappingProxyType({})


@dataclass(frozen=True, slots=True, eq=False)
class Spec:
    """One schema node: its types and constraints; children for objects and arrays.

    ``additional`` is ``additionalProperties``: ``None`` when the schema does not say (unknown
    keys are warned about and dropped), ``True`` (allowed and kept), ``False`` (forbidden: an
    error), or a ``Spec`` (kept and checked against it).

    Thread-safety: immutable.
    """

    types: frozenset[str] | None = None
    properties: Mapping[str, Spec] = field(default_factory=lambda: _EMPTY)
    required: tuple[str, ...] = ()
    additional: Spec | bool | None = None
    items: Spec | None = None
    enum: tuple[object, ...] | None = None
    const: object = UNSET
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: int | float | None = None
    exclusive_maximum: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    min_items: int | None = None
    max_items: int | None = None
    default: object = UNSET
    title: str | None = None
    description: str | None = None
    #: The compiled validator (``nodeconf.model.generic.compiled``), quick acceptance
    #: (``accept``), scans (``scan``), merge and clean (``merge``), set on first use.
    compiled_check: Any = field(default=None, init=False, repr=False, compare=False)
    compiled_accept: Any = field(default=None, init=False, repr=False, compare=False)
    compiled_scan: Any = field(default=None, init=False, repr=False, compare=False)
    compiled_entry_scan: Any = field(default=None, init=False, repr=False, compare=False)
    compiled_merge: Any = field(default=None, init=False, repr=False, compare=False)
    compiled_clean: Any = field(default=None, init=False, repr=False, compare=False)


def compiled(spec: Spec, field_name: str, build: Callable[[Spec], Any]) -> Any:
    """``spec``'s compiled ``field_name`` (a ``compiled_*`` field), built by ``build`` on first
    use and kept on the spec.

    Thread-safety: any thread. Two threads meeting a spec's first use may both build it; the
    builds are equal and pure, and the attribute is replaced whole, so either one is kept.
    """
    found = getattr(spec, field_name)
    if found is None:
        found = build(spec)
        object.__setattr__(spec, field_name, found)
    return found


def type_of(value: object) -> str:
    """The JSON Schema type name of a decoded value (``integer`` for ints; not bools)."""
    if value is None:
        return "null"
    t = type(value)
    if t is bool:
        return "boolean"
    if t is int:
        return "integer"
    if t is float:
        return "number"
    if t is str:
        return "string"
    if t is list or t is tuple:
        return "array"
    return "object"


def json_equal(a: object, b: object) -> bool:
    """JSON Schema equality: numbers by value (``1 == 1.0``), booleans apart from numbers,
    arrays item by item, objects key by key."""
    ta, tb = type_of(a), type_of(b)
    numbers = ("integer", "number")
    if ta in numbers and tb in numbers:
        return a == b
    if ta != tb:
        return False
    if ta == "array":
        assert isinstance(a, (list, tuple))
        assert isinstance(b, (list, tuple))
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta == "object":
        assert isinstance(a, Mapping)
        assert isinstance(b, Mapping)
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a == b


def show(value: object) -> str:
    """A value as JSON text, for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
