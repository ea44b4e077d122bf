"""``constructor(shape)``: ``fromdataclass.build(shape, value, checked=True)`` compiled once.

``build`` walks a ``Shape`` for every value, comparing its kind at each node; the constructor
is a tree of closures, one per shape node, chosen once per schema. A plain field (``bool``,
``str``, a ``Literal``) is taken as it is, without a call. Dataclasses are still built by their
own constructors, with keyword arguments, so a ``__post_init__`` runs (and may raise
``ValueError``/``TypeError``, as with ``build``). ``tests/model/test_generic_construct.py``
checks that both agree.

Thread-safety: a constructor is immutable; calling it is pure apart from the dataclass's own
constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from nodeconf.model.generic.fromdataclass import Shape

__all__ = ["Construct", "constructor"]

Construct = Callable[[Any], Any]

_MISSING: Final = object()


def constructor(shape: Shape) -> Construct:
    """A function equal to ``build(shape, value, checked=True)`` (see the module docstring)."""
    kind = shape.kind
    if kind == "plain":
        return _plain
    if kind == "float":
        return _float
    if kind == "int":
        return _int
    if kind == "optional":
        assert shape.inner is not None
        inner = constructor(shape.inner)
        return lambda value: None if value is None else inner(value)
    if kind == "enum":
        return _enum(shape)
    if kind == "tuple":
        assert shape.inner is not None
        item = constructor(shape.inner)
        if item is _plain:
            return lambda value: tuple(value) if type(value) is list else value
        return lambda value: tuple(map(item, value)) if type(value) is list else value
    return _dataclass(shape)


def _plain(value: Any) -> Any:
    return value


def _float(value: Any) -> Any:
    return float(value) if type(value) is int else value


def _int(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


def _enum(shape: Shape) -> Construct:
    members = shape.members
    assert members is not None
    get = members.get
    target = shape.target

    def construct(value: Any) -> Any:
        try:
            found = get(value, _MISSING)
        except TypeError:  # unhashable: the enum refuses it
            found = _MISSING
        return target(value) if found is _MISSING else found

    return construct


def _dataclass(shape: Shape) -> Construct:
    target = shape.target
    plain = tuple(name for name, sub in shape.fields if sub.kind == "plain")
    other = tuple((name, constructor(sub)) for name, sub in shape.fields if sub.kind != "plain")

    def construct(value: Any) -> Any:
        if type(value) is not dict:
            return value
        given = {name: value[name] for name in plain if name in value}
        for name, sub in other:
            if name in value:
                given[name] = sub(value[name])
        return target(**given)

    return construct
