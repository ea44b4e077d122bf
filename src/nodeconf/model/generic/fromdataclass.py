"""A config schema from a frozen Python dataclass: ``dataclass_schema(GpuConfig)``.

The dataclass is read once, into the same ``Spec`` a JSON Schema compiles to, plus a *shape*
that turns a checked, merged JSON config back into an instance. What a field may be:

======================================  ======================================================
``bool``, ``int``, ``float``, ``str``   ``boolean``, ``integer``, ``number`` (an integer is
                                        accepted and becomes a float), ``string``
``Literal["a", "b", 1]``                ``enum`` of those values
an ``Enum`` subclass                    ``enum`` of its members' values; the instance holds
                                        the member
``X | None`` (``Optional[X]``)          ``X`` or ``null``
``tuple[X, ...]``                       an array of ``X`` (a tuple: the config stays hashable)
a frozen dataclass                      a nested object
``Annotated[X, {...}]``                 ``X`` with the constraints in the dict
======================================  ======================================================

Constraints (``Annotated`` dicts, or ``field(metadata={...})``) use the JSON Schema names:
``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``,
``maxLength``, ``pattern``, ``minItems``, ``maxItems``, ``description``, ``title``. An
``Annotated`` dict with any other key is refused; ``metadata`` is shared with other libraries,
so its other keys are ignored. A field's default (``default`` or ``default_factory``, called
once here) is its default in the schema; a field without one is required (a nested dataclass
whose fields all have defaults is filled in by them).

Anything else (``list``, ``dict``, ``Any``, another union, a fixed-length tuple, a dataclass
that is not frozen, that refers to itself or has ``init=False`` fields, a default that breaks
the field's own constraints) raises ``TypeError`` naming the class and the field.

Keys in the document are the field names. Unknown keys are warnings (the dataclass cannot hold
them). Thread-safety: a ``Shape`` is immutable; building an instance is pure.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from nodeconf.model.generic.check import render_path, validate
from nodeconf.model.generic.spec import UNSET, Spec, show

__all__ = ["Shape", "build", "compile_dataclass", "to_json"]

ShapeKind = Literal["plain", "float", "int", "enum", "tuple", "optional", "dataclass"]


@dataclass(frozen=True, slots=True)
class Shape:
    """How to turn a checked JSON value into the field's Python value.

    Thread-safety: immutable.
    """

    kind: ShapeKind
    target: Any = None  # the Enum or dataclass type
    inner: Shape | None = None
    fields: tuple[tuple[str, Shape], ...] = ()
    #: An enum's members by value (what ``Enum(value)`` looks up first, without its call).
    members: Mapping[object, Any] | None = None


_PLAIN: Final = Shape("plain")
_MISSING: Final = object()
_CONSTRAINTS: Final = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_items",
    "maxItems": "max_items",
    "description": "description",
    "title": "title",
}
_SCALARS: Final[dict[Any, tuple[str, Shape]]] = {
    bool: ("boolean", _PLAIN),
    int: ("integer", Shape("int")),
    float: ("number", Shape("float")),
    str: ("string", _PLAIN),
}


def compile_dataclass(cls: type) -> tuple[Spec, Shape]:
    """The spec and shape of a frozen dataclass; ``TypeError`` naming what it cannot handle."""
    return _Reader().dataclass(cls, cls.__name__ if isinstance(cls, type) else repr(cls))


class _Reader:
    """Reads one dataclass tree; ``_active`` holds the classes being read (no recursion)."""

    def __init__(self) -> None:
        self._active: set[type] = set()

    def dataclass(self, cls: object, where: str) -> tuple[Spec, Shape]:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise TypeError(f"{where}: expected a dataclass, got {cls!r}")
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise TypeError(
                f"{where}: dataclass {cls.__name__} must be frozen (@dataclass(frozen=True)): "
                "every listener shares one immutable config"
            )
        if cls in self._active:
            raise TypeError(f"{where}: dataclass {cls.__name__} refers to itself")
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:  # NameError for an unresolved forward reference, mostly
            raise TypeError(
                f"{where}: cannot resolve the field types of {cls.__name__}: {exc}"
            ) from exc
        self._active.add(cls)
        try:
            properties: dict[str, Spec] = {}
            shapes: list[tuple[str, Shape]] = []
            required: list[str] = []
            for f in dataclasses.fields(cls):
                here = f"{cls.__name__}.{f.name}"
                if not f.init:
                    raise TypeError(f"{here}: fields with init=False are not supported")
                spec, shape = self.type(hints[f.name], here)
                spec = _constrain(spec, f.metadata, here, strict=False)
                default = _default_of(f, here)
                if default is UNSET:
                    required.append(f.name)
                else:
                    spec = dataclasses.replace(spec, default=default)
                    problems = validate(spec, default)
                    if problems:
                        parts, value, message = problems[0]
                        raise TypeError(
                            f"{render_path(here, parts)}: the default {show(value)} breaks the "
                            f"field's own rule: {message}"
                        )
                properties[f.name] = spec
                shapes.append((f.name, shape))
        finally:
            self._active.discard(cls)
        spec = Spec(
            types=frozenset({"object"}),
            properties=MappingProxyType(properties),
            required=tuple(required),
            description=_doc(cls),
        )
        return spec, Shape("dataclass", cls, fields=tuple(shapes))

    def type(self, tp: Any, where: str) -> tuple[Spec, Shape]:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            base, *extras = typing.get_args(tp)
            spec, shape = self.type(base, where)
            for extra in extras:
                if isinstance(extra, Mapping):
                    spec = _constrain(spec, extra, where, strict=True)
            return spec, shape
        scalar = next((v for k, v in _SCALARS.items() if tp is k), None)  # tp may not hash
        if scalar is not None:
            name, shape = scalar
            return Spec(types=frozenset({name})), shape
        if origin is Literal:
            values = typing.get_args(tp)
            for v in values:
                if v is not None and type(v) not in (bool, int, str):
                    raise TypeError(f"{where}: Literal value {v!r} is not a JSON scalar")
            return Spec(enum=tuple(values)), _PLAIN
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = tuple(m.value for m in tp)
            for v in values:
                if v is not None and type(v) not in (bool, int, float, str):
                    raise TypeError(
                        f"{where}: enum {tp.__name__} has a value {v!r} that is not a JSON scalar"
                    )
            members = MappingProxyType({m.value: m for m in tp})
            return Spec(enum=values), Shape("enum", tp, members=members)
        if origin is typing.Union or origin is types.UnionType:
            args = typing.get_args(tp)
            others = [a for a in args if a is not type(None)]
            if len(others) != 1 or len(args) != 2:
                raise TypeError(f"{where}: only X | None unions are supported, got {tp!r}")
            spec, shape = self.type(others[0], where)
            if spec.types is not None:
                spec = dataclasses.replace(spec, types=spec.types | {"null"})
            if spec.enum is not None:
                spec = dataclasses.replace(spec, enum=(*spec.enum, None))
            return spec, Shape("optional", inner=shape)
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) != 2 or args[1] is not Ellipsis:
                raise TypeError(f"{where}: use tuple[X, ...] for a list of values, got {tp!r}")
            item_spec, item_shape = self.type(args[0], f"{where}[]")
            return Spec(types=frozenset({"array"}), items=item_spec), Shape(
                "tuple", inner=item_shape
            )
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self.dataclass(tp, where)
        base = origin if origin is not None else tp
        if base is list:
            reason = "use tuple[X, ...] (a config must be hashable)"
        elif base is dict:
            reason = "use a nested frozen dataclass"
        else:
            reason = (
                "supported: bool, int, float, str, Literal, Enum, X | None, tuple[X, ...], "
                "Annotated, frozen dataclasses"
            )
        raise TypeError(f"{where}: type {tp!r} is not supported ({reason})")


def _doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):  # the generated signature
        return None
    return " ".join(doc.split())


def _constrain(spec: Spec, given: Mapping[str, Any], where: str, *, strict: bool) -> Spec:
    changes: dict[str, Any] = {}
    for key, value in given.items():
        name = _CONSTRAINTS.get(key)
        if name is None:
            if strict:
                raise TypeError(
                    f"{where}: unknown constraint {key!r} (use {', '.join(_CONSTRAINTS)})"
                )
            continue
        if name == "pattern":
            try:
                changes[name] = re.compile(value)
            except (re.error, TypeError) as exc:
                raise TypeError(
                    f"{where}: pattern {value!r} is not a valid regular expression"
                ) from exc
            continue
        if name in ("description", "title"):
            if type(value) is not str:
                raise TypeError(f"{where}: {key} must be a string, got {value!r}")
        elif type(value) not in (int, float) or (
            name.startswith(("min_", "max_")) and type(value) is not int
        ):
            raise TypeError(f"{where}: {key} must be a number, got {value!r}")
        changes[name] = value
    return dataclasses.replace(spec, **changes) if changes else spec


def _default_of(f: dataclasses.Field[Any], where: str) -> object:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return UNSET
    try:
        return to_json(value)
    except TypeError as exc:
        raise TypeError(f"{where}: the default {value!r} cannot be written as JSON") from exc


def to_json(value: object) -> Any:
    """A config (or any value inside one) as JSON: dataclasses as objects, enums as their
    values, tuples as arrays."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    raise TypeError(f"{value!r} cannot be written as JSON")


def build(shape: Shape, value: Any, *, checked: bool) -> Any:
    """The Python value of ``value``. ``checked``: ``value`` passed the schema, so the real
    constructors run (and a ``__post_init__`` may raise ``ValueError``/``TypeError``);
    otherwise the instance is assembled without them, from whatever is there (it is never
    delivered: it only fills ``Evaluation.config`` of an invalid evaluation)."""
    kind = shape.kind
    if kind == "plain":
        return value
    if kind == "float":
        return float(value) if type(value) is int else value
    if kind == "int":
        return int(value) if type(value) is float and value.is_integer() else value
    if kind == "optional":
        assert shape.inner is not None
        return None if value is None else build(shape.inner, value, checked=checked)
    if kind == "enum":
        try:
            found = shape.members.get(value, _MISSING)  # type: ignore[union-attr]
        except TypeError:  # an unhashable value (unchecked): the enum refuses it below
            found = _MISSING
        try:
            return shape.target(value) if found is _MISSING else found
        except ValueError:
            if checked:
                raise
            return value
    if kind == "tuple":
        assert shape.inner is not None
        if type(value) is not list:
            return value
        return tuple(build(shape.inner, v, checked=checked) for v in value)
    if type(value) is not dict:
        return value
    given = {
        name: build(sub, value[name], checked=checked)
        for name, sub in shape.fields
        if name in value
    }
    if checked:
        return shape.target(**given)
    instance = object.__new__(shape.target)
    for name, _ in shape.fields:
        object.__setattr__(instance, name, given.get(name))
    return instance
