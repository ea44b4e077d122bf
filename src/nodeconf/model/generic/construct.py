"""``constructor(shape)``: ``fromdataclass.build(shape, value, checked=True)`` compiled once.

``build`` walks a ``Shape`` for every value, comparing its kind at each node; the constructor
is chosen once per schema: a dataclass is one generated function (``codegen``) that reads each
field and builds the nested dataclasses inline, other shapes are closures. A plain field
(``bool``, ``str``, a ``Literal``) is taken as it is, an ``int``/``float`` converted inline.
Dataclasses are still built by their own constructors (by position when every field is
given, as in a checked config, unless they take keywords only; else by keyword), so a
``__post_init__`` runs (and may raise
``ValueError``/``TypeError``, as with ``build``). A value that is one of the schema's default
objects (a merge shares them) is converted once, when the constructor is made, and that
conversion is handed out each time: the default sections of a config are the same frozen
instances from one evaluation to the next. ``tests/model/test_generic_construct.py`` checks
that both agree.

Thread-safety: a constructor is immutable; calling it is pure apart from the dataclass's own
constructor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final

from nodeconf.model.generic.codegen import Source, Writer
from nodeconf.model.generic.fromdataclass import Shape

__all__ = ["Construct", "constructor"]

Construct = Callable[[Any], Any]

_MISSING: Final = object()


def constructor(shape: Shape, defaults: object = _MISSING) -> Construct:
    """A function equal to ``build(shape, value, checked=True)`` (see the module docstring).

    ``defaults``: the schema's defaults at this place (a JSON value), if known. A value that
    *is* one of their objects (a merge shares them) is then not converted again: its
    conversion is made here, once, and handed out each time (equal to a new one; for a
    dataclass, the same frozen instance)."""
    kind = shape.kind
    if kind == "plain":
        return _plain
    if kind == "float":
        return _float
    if kind == "int":
        return _int
    if kind == "optional":
        assert shape.inner is not None
        inner = constructor(shape.inner, defaults)
        return lambda value: None if value is None else inner(value)
    if kind == "enum":
        return _enum(shape)
    if kind == "tuple":
        assert shape.inner is not None
        item = constructor(shape.inner)
        if item is _plain:
            return lambda value: tuple(value) if type(value) is list else value
        return lambda value: tuple(map(item, value)) if type(value) is list else value
    return _dataclass(shape, defaults)


def _positional(cls: type) -> bool:
    """Whether ``cls`` takes every field by position, in the order of its fields."""
    return not any(f.kw_only for f in dataclasses.fields(cls))


#: Kinds converted inline at the cost of a type test: not worth a conversion made in advance.
_CHEAP: Final = frozenset(("plain", "int", "float"))


def _prebuilt(shape: Shape, default: object) -> object:
    """The conversion of the default ``default`` (``_MISSING``: none, it is refused, or its
    conversion is cheaper than a test: a plain value, an ``int`` or a ``float``)."""
    if default is _MISSING or shape.kind in _CHEAP:
        return _MISSING
    try:
        return constructor(shape, default)(default)
    except (ValueError, TypeError):  # the dataclass refuses it: convert it each time
        return _MISSING


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


def _dataclass(shape: Shape, defaults: object) -> Construct:
    """One generated function (``codegen``) that builds the dataclass and, inline, the
    dataclasses of its fields a few levels deep; each still by its own constructor."""
    src = Source("construct")
    src.line("if type(value) is not dict: return value")
    src.line(f"return {_Writer(src).dataclass(shape, 'value', 0, defaults)}")
    fn: Construct = src.function("construct(value)")
    return fn


#: Levels of nested dataclasses built inline; a deeper one is a call to its own constructor.
_INLINE_DEPTH: Final = 4


class _Writer(Writer):
    """Writes the statements that convert a value; each method returns the expression of the
    converted value."""

    __slots__ = ()

    def dataclass(self, shape: Shape, var: str, depth: int, defaults: object) -> str:
        """Build ``shape``'s dataclass from ``var`` (known to be an object; ``defaults``: the
        defaults at its place, see ``constructor``). With every field given (a checked config
        always has them) the dataclass is called with positional arguments, which costs less
        than a dict of keywords; otherwise with the keywords of the fields given."""
        src, c = self.src, self.src.const
        missing = c(_MISSING)
        values: list[tuple[str, str]] = []
        for name, sub in shape.fields:
            default = defaults.get(name, _MISSING) if type(defaults) is dict else _MISSING
            built = _prebuilt(sub, default)
            item = src.var()
            values.append((name, item))
            src.line(f"{item} = {var}.get({c(name)}, {missing})")
            with src.block(f"if {item} is not {missing}:"):
                if built is not _MISSING:
                    with src.block(f"if {item} is {c(default)}:"):
                        src.line(f"{item} = {c(built)}")
                    with src.block("else:"):
                        src.line(f"{item} = {self.convert(sub, item, depth, default)}")
                else:
                    src.line(f"{item} = {self.convert(sub, item, depth, default)}")
        target = c(shape.target)
        out = src.var()
        if values and _positional(shape.target):
            every = " and ".join(f"{item} is not {missing}" for _, item in values)
            with src.block(f"if {every}:"):
                src.line(f"{out} = {target}({', '.join(item for _, item in values)})")
            with src.block("else:"):
                self._by_keyword(target, values, out)
        else:
            self._by_keyword(target, values, out)
        return out

    def _by_keyword(self, target: str, values: list[tuple[str, str]], out: str) -> None:
        """``out = target(**{the fields given})``."""
        src, c = self.src, self.src.const
        given = src.var()
        src.line(f"{given} = {{}}")
        for name, item in values:
            src.line(f"if {item} is not {c(_MISSING)}: {given}[{c(name)}] = {item}")
        src.line(f"{out} = {target}(**{given})")

    def either(self, condition: str, then: Callable[[], str], otherwise: Callable[[], str]) -> str:
        """A new local set to ``then()`` when ``condition`` holds, else to ``otherwise()``; each
        writes its statements inside its own branch."""
        out = self.src.var()
        with self.src.block(f"if {condition}:"):
            self.src.line(f"{out} = {then()}")
        with self.src.block("else:"):
            self.src.line(f"{out} = {otherwise()}")
        return out

    def convert(self, shape: Shape, var: str, depth: int, defaults: object = _MISSING) -> str:
        """The value of the field ``shape`` for the JSON value ``var`` (``defaults``: those at
        its place, for a dataclass's fields)."""
        src, c = self.src, self.src.const
        kind = shape.kind
        if kind == "plain":
            return var
        if kind == "float":
            return f"(float({var}) if type({var}) is int else {var})"
        if kind == "int":
            return f"(int({var}) if type({var}) is float and {var}.is_integer() else {var})"
        if kind == "optional":
            inner = shape.inner
            assert inner is not None
            return self.either(
                f"{var} is None", lambda: "None", lambda: self.convert(inner, var, depth, defaults)
            )
        if kind == "enum":
            assert shape.members is not None
            out = src.var()
            with src.block("try:"):
                src.line(f"{out} = {c(shape.members.get)}({var}, {c(_MISSING)})")
            with src.block("except TypeError:"):  # unhashable: the enum refuses it
                src.line(f"{out} = {c(_MISSING)}")
            with src.block(f"if {out} is {c(_MISSING)}:"):
                src.line(f"{out} = {c(shape.target)}({var})")
            return out
        if kind == "tuple":
            assert shape.inner is not None
            item = constructor(shape.inner)
            if item is _plain:
                return f"(tuple({var}) if type({var}) is list else {var})"
            return f"(tuple(map({c(item)}, {var})) if type({var}) is list else {var})"
        if kind == "dataclass" and depth < _INLINE_DEPTH:
            return self.either(
                f"type({var}) is dict",
                lambda: self.dataclass(shape, var, depth + 1, defaults),
                lambda: var,
            )
        # a dataclass deeper than the inline depth
        return f"{c(constructor(shape, defaults))}({var})"
