"""A quick yes for a valid config: ``acceptor(spec)(value)``, compiled per ``Spec``.

Most configs an evaluation checks are valid, and for a valid config the only answer needed
is "no problems". ``acceptor(spec)`` is a predicate that says so with the least work: no path,
no problem list, and, for the common kinds of schema node, one closure that does the type
check and every constraint in one expression.

The promise is one-sided: **``True`` means the value is valid** (the validator of
``nodeconf.model.generic.compiled`` would report nothing); ``False`` means "not shown here",
and the caller runs that validator, which finds every problem with its path or finds none
(a value the quick forms do not cover, such as ``3.0`` for an integer, or ``1.0`` for the enum
value ``1``). So a schema node gets a quick form only where its whole meaning fits one; any
other node (several JSON types, constraints of another type than its own, an ``enum`` beside
other constraints) is judged by the full validator of that node, so the predicate is exact
there.

Quick forms: a number (its type and bounds), a string (its type, length and pattern), a
boolean, ``null``, an ``enum`` or ``const`` of scalars (compared with their JSON types, so
``true`` is not ``1``), an array (its length and each item), an object (required keys, each
property, ``additionalProperties``); each optionally with ``null`` also allowed.

Compiled once per ``Spec`` and kept on it (a benign race, as in ``compiled``).

Thread-safety: the closures are pure; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from nodeconf.model.generic.compiled import checker
from nodeconf.model.generic.spec import UNSET, Spec, compiled

__all__ = ["Accept", "acceptor"]

#: A value -> ``True`` only if it is valid (``False``: ask the validator).
Accept = Callable[[Any], bool]

_INF: Final = float("inf")
_SCALARS: Final = (str, int, float, bool, type(None))


def acceptor(spec: Spec) -> Accept:
    """The quick acceptance predicate of ``spec`` (compiled once, kept on the spec)."""
    result: Accept = compiled(spec, "compiled_accept", _compile)
    return result


def _always(value: object) -> bool:
    return True


def _by_validator(spec: Spec) -> Accept:
    """The exact predicate: the full validator finds nothing."""
    check = checker(spec)

    def accept(value: object) -> bool:
        out: list[Any] = []
        check(value, (), out)
        return not out

    return accept


def _groups(spec: Spec) -> set[str]:
    """Which kinds of constraint ``spec`` has (``types`` aside)."""
    found = set()
    if spec.enum is not None or spec.const is not UNSET:
        found.add("enum")
    if (
        spec.minimum is not None
        or spec.maximum is not None
        or spec.exclusive_minimum is not None
        or spec.exclusive_maximum is not None
    ):
        found.add("number")
    if spec.min_length is not None or spec.max_length is not None or spec.pattern is not None:
        found.add("string")
    if spec.items is not None or spec.min_items is not None or spec.max_items is not None:
        found.add("array")
    if spec.properties or spec.required or spec.additional not in (None, True):
        found.add("object")
    return found


def _compile(spec: Spec) -> Accept:
    groups = _groups(spec)
    types = spec.types
    if types is None:
        if not groups:
            return _always
        if groups == {"enum"}:
            return _enum(spec, None)
        return _by_validator(spec)
    nullable = "null" in types and len(types) > 1
    rest = types - {"null"} if nullable else types
    kind = "number" if rest <= {"integer", "number"} else next(iter(rest))
    if len(rest) > 1 and kind != "number":
        return _by_validator(spec)
    if groups == {"enum"}:
        return _enum(spec, types)
    if not groups <= {kind}:
        return _by_validator(spec)
    inner = _KINDS[kind](spec)
    if not nullable:
        return inner

    def accept(value: object) -> bool:
        return value is None or inner(value)

    return accept


def _enum(spec: Spec, types: frozenset[str] | None) -> Accept:
    values = spec.enum if spec.enum is not None else (spec.const,)
    if types is None and all(type(v) is str for v in values):
        strings = frozenset(values)

        def accept_string(value: object) -> bool:
            return type(value) is str and value in strings

        return accept_string
    typed = frozenset((type(v), v) for v in values if type(v) in _SCALARS)
    allowed = _SCALARS if types is None else tuple(set(_python_types(types)) & set(_SCALARS))

    def accept(value: object) -> bool:
        t = type(value)
        return t in allowed and (t, value) in typed

    return accept


def _python_types(types: frozenset[str]) -> tuple[type, ...]:
    """The Python types of decoded values that surely have one of ``types`` (an integral
    float for ``integer`` is left to the validator)."""
    table: dict[str, tuple[type, ...]] = {
        "null": (type(None),),
        "boolean": (bool,),
        "object": (dict,),
        "array": (list,),
        "number": (int, float),
        "string": (str,),
        "integer": (int,),
    }
    return tuple({t for name in types for t in table[name]})


def _number(spec: Spec) -> Accept:
    low = spec.minimum if spec.minimum is not None else -_INF
    high = spec.maximum if spec.maximum is not None else _INF
    xlow = spec.exclusive_minimum if spec.exclusive_minimum is not None else -_INF
    xhigh = spec.exclusive_maximum if spec.exclusive_maximum is not None else _INF
    assert spec.types is not None
    other = int if "number" not in spec.types else float  # ``int`` twice: integers only

    def accept(value: Any) -> bool:
        t = type(value)
        return (t is int or t is other) and low <= value <= high and xlow < value < xhigh

    return accept


def _string(spec: Spec) -> Accept:
    low = spec.min_length or 0
    high = spec.max_length if spec.max_length is not None else _INF
    search = spec.pattern.search if spec.pattern is not None else None
    if search is None:

        def accept_length(value: Any) -> bool:
            return type(value) is str and low <= len(value) <= high

        return accept_length

    def accept(value: Any) -> bool:
        return type(value) is str and low <= len(value) <= high and search(value) is not None

    return accept


def _boolean(spec: Spec) -> Accept:
    return lambda value: type(value) is bool


def _null(spec: Spec) -> Accept:
    return lambda value: value is None


def _array(spec: Spec) -> Accept:
    low = spec.min_items or 0
    high = spec.max_items if spec.max_items is not None else _INF
    items = acceptor(spec.items) if spec.items is not None else _always

    def accept(value: Any) -> bool:
        if type(value) is not list or not low <= len(value) <= high:
            return False
        if items is not _always:
            for item in value:
                if not items(item):
                    return False
        return True

    return accept


def _object(spec: Spec) -> Accept:
    required = spec.required
    properties = {k: acceptor(v) for k, v in spec.properties.items()}
    additional = spec.additional
    extra = acceptor(additional) if isinstance(additional, Spec) else None
    forbid = additional is False

    def accept(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for key in required:
            if key not in value:
                return False
        get = properties.get
        for key, item in value.items():
            sub = get(key, extra)
            if sub is None:
                if forbid:
                    return False
            elif not sub(item):
                return False
        return True

    return accept


_KINDS: Final[dict[str, Callable[[Spec], Accept]]] = {
    "number": _number,
    "string": _string,
    "boolean": _boolean,
    "null": _null,
    "array": _array,
    "object": _object,
}
