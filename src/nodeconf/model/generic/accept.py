"""A quick yes for a valid config: ``acceptor(spec)(value)``, generated per ``Spec``.

Most configs an evaluation checks are valid, and for a valid config the only answer needed
is "no problems". ``acceptor(spec)`` is a predicate that says so with the least work: no path,
no problem list, and one generated function (``codegen``) that checks the whole schema
inline, without a call per schema node.

The promise is one-sided: **``True`` means the value is valid** (the validator of
``nodeconf.model.generic.compiled`` would report nothing); ``False`` means "not shown here",
and the caller runs that validator, which finds every problem with its path or finds none
(a value the quick forms do not cover, such as ``3.0`` for an integer, or ``1.0`` for the enum
value ``1``). So a schema node gets a quick form only where its whole meaning fits one; any
other node (several JSON types, constraints of another type than its own, an ``enum`` beside
other constraints) is judged by a call to the full validator of that node, so the predicate is
exact there.

Quick forms: a number (its type and bounds), a string (its type, length and pattern), a
boolean, ``null``, an ``enum`` or ``const`` of scalars (compared with their JSON types, so
``true`` is not ``1``), an array (its length and each item), an object (required keys, each
property, ``additionalProperties``); each optionally with ``null`` also allowed. A schema node
deeper than ``_INLINE_DEPTH`` is checked by a call to its own predicate.

``acceptor_over(spec, defaults)`` is the same predicate for configs merged over the layer
``defaults`` (``Layers.defaults``): a value that *is* the default found at its place (the very
object, which merges share rather than copy) and that was found valid when compiling is passed
by without a check, and so is a missing key that has such a default. Most of an effective
config is usually its defaults. It says yes wherever ``acceptor`` does, and sometimes where
``acceptor`` leaves the value to the validator (a default the validator found valid that the
quick check alone would not vouch for, such as ``0.0`` in ``enum: [0]``); still only for a
value without problems.

``acceptor`` compiles once per ``Spec`` and keeps the result on it (a benign race, as in
``compiled``); ``acceptor_over`` compiles anew on each call (once per ``Layers``).

Thread-safety: the generated functions are pure; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from nodeconf.model.generic.check import validate
from nodeconf.model.generic.codegen import Source, Writer
from nodeconf.model.generic.compiled import checker
from nodeconf.model.generic.spec import UNSET, Spec, compiled

__all__ = ["Accept", "acceptor", "acceptor_over"]

#: A value -> ``True`` only if it is valid (``False``: ask the validator).
Accept = Callable[[Any], bool]

_SCALARS: Final = (str, int, float, bool, type(None))
#: Schema nodes written inline below the root; a deeper node is a call.
_INLINE_DEPTH: Final = 8
#: Properties of an object written one by one; an object with more is checked by a table.
_INLINE_PROPERTIES: Final = 32
#: A key's value in an object that lacks the key (matches no value).
_ABSENT: Final = object()


def acceptor(spec: Spec) -> Accept:
    """The quick acceptance predicate of ``spec`` (compiled once, kept on the spec)."""
    result: Accept = compiled(spec, "compiled_accept", lambda s: _generate(s, None))
    return result


def acceptor_over(spec: Spec, defaults: object) -> Accept:
    """The quick acceptance predicate of ``spec`` for values merged over ``defaults`` (see the
    module docstring); ``acceptor(spec)`` itself where ``defaults`` is not an object."""
    if type(defaults) is not dict:
        return acceptor(spec)
    return _generate(spec, defaults)


def _generate(spec: Spec, defaults: dict[str, Any] | None) -> Accept:
    src = Source("accept")
    _Writer(src).check(spec, "value", defaults, 0)
    src.line("return True")
    fn: Accept = src.function("accept(value)")
    return fn


def _wide_object(spec: Spec, defaults: dict[str, Any] | None) -> Accept:
    """The properties of an object with many of them (type, required keys and closed objects
    are checked by the caller): one table lookup per key present, not a statement per
    property."""
    properties = {k: acceptor(v) for k, v in spec.properties.items()}
    additional = spec.additional
    extra = acceptor(additional) if isinstance(additional, Spec) else None
    valid = {k: v for k, v in (defaults or {}).items() if k in properties and properties[k](v)}

    def accept(value: dict[str, Any]) -> bool:
        get, default = properties.get, valid.get
        for key, item in value.items():
            if item is default(key, _ABSENT):
                continue
            sub = get(key, extra)
            if sub is not None and not sub(item):
                return False
        return True

    return accept


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


#: Required keys tested one by one (``k in value``); more are tested as one set.
_FEW_REQUIRED: Final = 3


class _Writer(Writer):
    """Writes the statements that ``return False`` unless a value is acceptable."""

    __slots__ = ()

    def fail_unless(self, condition: str) -> None:
        self.src.line(f"if not ({condition}): return False")

    def call(self, accept: Accept, var: str) -> None:
        self.fail_unless(f"{self.src.const(accept)}({var})")

    def check(self, spec: Spec, var: str, defaults: dict[str, Any] | None, depth: int) -> None:
        """The checks of ``var`` against ``spec``, written ``depth`` nodes below the root (a
        ``Spec`` is acyclic, so the depth is bounded by the schema's)."""
        if depth > _INLINE_DEPTH or (depth > 0 and not self.src.roomy()):
            self.call(acceptor(spec), var)
            return
        groups = _groups(spec)
        types = spec.types
        if types is None:
            if groups == {"enum"}:
                self.enum(spec, var, None)
            elif groups:
                self.call(_by_validator(spec), var)
            return
        nullable = "null" in types and len(types) > 1
        rest = types - {"null"} if nullable else types
        kind = "number" if rest <= {"integer", "number"} else next(iter(rest))
        if len(rest) > 1 and kind != "number":
            self.call(_by_validator(spec), var)
        elif groups == {"enum"}:
            self.enum(spec, var, types)
        elif not groups <= {kind}:
            self.call(_by_validator(spec), var)
        elif nullable:
            with self.src.block(f"if {var} is not None:"):
                self.kind(kind, spec, var, defaults, depth + 1)
        else:
            self.kind(kind, spec, var, defaults, depth + 1)

    def kind(
        self,
        kind: str,
        spec: Spec,
        var: str,
        defaults: dict[str, Any] | None,
        depth: int,
    ) -> None:
        if kind == "number":
            self.number(spec, var)
        elif kind == "string":
            self.string(spec, var)
        elif kind == "boolean":
            self.fail_unless(f"type({var}) is bool")
        elif kind == "null":
            self.fail_unless(f"{var} is None")
        elif kind == "array":
            self.array(spec, var, depth)
        else:
            self.object(spec, var, defaults, depth)

    def enum(self, spec: Spec, var: str, types: frozenset[str] | None) -> None:
        c = self.src.const
        if spec.enum is not None and spec.const is not UNSET:
            self.call(_by_validator(spec), var)  # both: rare, and the value must satisfy both
            return
        values = spec.enum if spec.enum is not None else (spec.const,)
        if types is None and all(type(v) is str for v in values):
            self.fail_unless(f"type({var}) is str and {var} in {c(frozenset(values))}")
            return
        typed = frozenset((type(v), v) for v in values if type(v) in _SCALARS)
        allowed = _SCALARS if types is None else tuple(set(_python_types(types)) & set(_SCALARS))
        self.fail_unless(f"type({var}) in {c(allowed)} and (type({var}), {var}) in {c(typed)}")

    def number(self, spec: Spec, var: str) -> None:
        c = self.src.const
        assert spec.types is not None
        if "number" in spec.types:
            conditions = [f"(type({var}) is int or type({var}) is float)"]
        else:
            conditions = [f"type({var}) is int"]
        if spec.minimum is not None:
            conditions.append(f"{c(spec.minimum)} <= {var}")
        if spec.maximum is not None:
            conditions.append(f"{var} <= {c(spec.maximum)}")
        if spec.exclusive_minimum is not None:
            conditions.append(f"{c(spec.exclusive_minimum)} < {var}")
        if spec.exclusive_maximum is not None:
            conditions.append(f"{var} < {c(spec.exclusive_maximum)}")
        self.fail_unless(" and ".join(conditions))

    def length(self, low: int | None, high: int | None, var: str) -> list[str]:
        """The conditions of a length between ``low`` and ``high`` (``None``: no bound; a
        lower bound of 0 is none)."""
        c = self.src.const
        found = [f"{c(low)} <= len({var})"] if low else []
        if high is not None:
            found.append(f"len({var}) <= {c(high)}")
        return found

    def string(self, spec: Spec, var: str) -> None:
        c = self.src.const
        conditions = [f"type({var}) is str", *self.length(spec.min_length, spec.max_length, var)]
        if spec.pattern is not None:
            conditions.append(f"{c(spec.pattern.search)}({var}) is not None")
        self.fail_unless(" and ".join(conditions))

    def array(self, spec: Spec, var: str, depth: int) -> None:
        conditions = [f"type({var}) is list", *self.length(spec.min_items, spec.max_items, var)]
        self.fail_unless(" and ".join(conditions))
        if spec.items is None:
            return
        item = self.src.var()
        start = self.src.mark()
        with self.src.block(f"for {item} in {var}:"):
            inner = self.src.mark()
            self.check(spec.items, item, None, depth)
        if not self.src.wrote_since(inner):
            self.src.cut(start)  # every item is acceptable: no loop

    def object(self, spec: Spec, var: str, defaults: dict[str, Any] | None, depth: int) -> None:
        src, c = self.src, self.src.const
        self.fail_unless(f"type({var}) is dict")
        if 0 < len(spec.required) <= _FEW_REQUIRED:  # a test each: cheaper than a view
            self.fail_unless(" and ".join(f"{c(k)} in {var}" for k in spec.required))
        elif spec.required:
            self.fail_unless(f"{var}.keys() >= {c(frozenset(spec.required))}")
        additional = spec.additional
        if additional is False:
            self.fail_unless(f"{var}.keys() <= {c(frozenset(spec.properties))}")
        if len(spec.properties) > _INLINE_PROPERTIES:
            self.call(_wide_object(spec, defaults), var)
            return
        for key, sub in spec.properties.items():
            default = defaults.get(key, _ABSENT) if defaults else _ABSENT
            valid_default = default is not _ABSENT and not validate(sub, default)
            item = src.var()
            # A missing key reads as its valid default: one test passes by both.
            absent = c(default if valid_default else _ABSENT)
            src.line(f"{item} = {var}.get({c(key)}, {absent})")
            start = src.mark()
            with src.block(f"if {item} is not {absent}:"):
                inner = src.mark()
                below = default if type(default) is dict else None
                self.check(sub, item, below, depth)
            if not src.wrote_since(inner):
                src.cut(start - 1)  # every value is acceptable: not even read
        if isinstance(additional, Spec):
            key, item = src.var(), src.var()
            start = src.mark()
            with (
                src.block(f"for {key}, {item} in {var}.items():"),
                src.block(f"if {key} not in {c(frozenset(spec.properties))}:"),
            ):
                inner = src.mark()
                self.check(additional, item, None, depth)
            if not src.wrote_since(inner):
                src.cut(start)
