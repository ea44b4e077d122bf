"""A ``Spec`` compiled into closures: the validator.

Each ``Spec`` node becomes one closure that holds only the checks that node has (a leaf with
just a type is a set-membership test), with its children's closures bound in. This runs for
every override of every document, so two rules keep it cheap: nothing is allocated for a
value that passes, and a path is a chain of ``(parent, key)`` pairs turned into parts only for
a problem or a warning.

``checker(spec)`` compiles once per ``Spec`` and keeps the result on it (a benign race: two
threads may both compile; they get equal closures and one is kept). The unknown-key scan is
``scan``, the merge ``merge``, the quick yes for a valid config ``accept``.

Thread-safety: the closures are pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from nodeconf.model.generic.spec import UNSET, Spec, compiled, json_equal, show
from nodeconf.model.jsontext import join_path

__all__ = ["Chain", "Problem", "checker", "flatten", "render"]

#: A path being walked: ``()`` at the root, else ``(parent chain, key or index)``.
Chain = tuple[Any, ...]
#: One problem: its parts (keys and indices), the value (``None`` when missing), the rule.
Problem = tuple[tuple[str | int, ...], object, str]
Check = Callable[[object, Chain, list[Problem]], None]

_PY: Final[dict[str, tuple[type, ...]]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "number": (int, float),
    "string": (str,),
    "integer": (int,),
}
_NAME: Final[dict[type, str]] = {
    type(None): "null",
    bool: "boolean",
    dict: "object",
    list: "array",
    int: "integer",
    float: "number",
    str: "string",
}
_ARTICLE: Final = {
    "null": "null",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "number": "a number",
    "string": "a string",
    "integer": "an integer",
}


def flatten(chain: Chain) -> tuple[str | int, ...]:
    """The parts of a chain, root first."""
    parts: list[str | int] = []
    while chain:
        chain, part = chain
        parts.append(part)
    parts.reverse()
    return tuple(parts)


def render(prefix: str, parts: tuple[str | int, ...]) -> str:
    """``prefix`` followed by ``parts``: ``nodesConfig[1].limits.rate``, ``tags[0]``."""
    path = prefix
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else join_path(path, part)
    return path


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def checker(spec: Spec) -> Check:
    """The validator closure of ``spec`` (compiled once, kept on the spec)."""
    result: Check = compiled(spec, "compiled_check", _compile_check)
    return result


def _compile_check(spec: Spec) -> Check:
    steps: list[Check] = []
    if spec.const is not UNSET:
        const, const_msg = spec.const, f"must be {show(spec.const)} (const)"

        def check_const(value: object, chain: Chain, out: list[Problem]) -> None:
            if not json_equal(value, const):
                out.append((flatten(chain), value, const_msg))

        steps.append(check_const)
    if spec.enum is not None:
        enum = spec.enum
        enum_msg = f"must be one of {', '.join(show(v) for v in enum)} (enum)"

        enum_strings = frozenset(v for v in enum if type(v) is str)

        def check_enum(value: object, chain: Chain, out: list[Problem]) -> None:
            if type(value) is str and value in enum_strings:
                return
            for v in enum:
                if json_equal(value, v):
                    return
            out.append((flatten(chain), value, enum_msg))

        steps.append(check_enum)
    numbers = _number_checks(spec)
    strings = _string_checks(spec)
    arrays = _array_check(spec)
    objects = _object_check(spec)
    types = spec.types
    accepts: tuple[type, ...] = ()
    integral = False
    expected = ""
    if types is not None:
        accepts = tuple({t for name in types for t in _PY[name]})
        integral = "integer" in types and "number" not in types
        expected = " or ".join(_ARTICLE[t] for t in sorted(types))

    def check(value: object, chain: Chain, out: list[Problem]) -> None:
        t = type(value)
        if (
            types is not None
            and t not in accepts
            and not (integral and t is float and value.is_integer())  # type: ignore[attr-defined]
        ):
            got = _NAME.get(t, "object")
            out.append((flatten(chain), value, f"must be {expected}, got {got} (type)"))
            return
        for step in steps:
            step(value, chain, out)
        if t is int or t is float:
            if numbers is not None:
                numbers(value, chain, out)
        elif t is str:
            if strings is not None:
                strings(value, chain, out)
        elif t is list:
            if arrays is not None:
                arrays(value, chain, out)
        elif t is dict and objects is not None:
            objects(value, chain, out)

    return check


def _number_checks(spec: Spec) -> Check | None:
    bounds: list[tuple[Callable[[Any], bool], str]] = []
    if spec.minimum is not None:
        low = spec.minimum
        bounds.append((lambda v: v < low, f"must be >= {show(low)} (minimum)"))
    if spec.exclusive_minimum is not None:
        xlow = spec.exclusive_minimum
        bounds.append((lambda v: v <= xlow, f"must be > {show(xlow)} (exclusiveMinimum)"))
    if spec.maximum is not None:
        high = spec.maximum
        bounds.append((lambda v: v > high, f"must be <= {show(high)} (maximum)"))
    if spec.exclusive_maximum is not None:
        xhigh = spec.exclusive_maximum
        bounds.append((lambda v: v >= xhigh, f"must be < {show(xhigh)} (exclusiveMaximum)"))
    if not bounds:
        return None

    def check(value: object, chain: Chain, out: list[Problem]) -> None:
        for broken, message in bounds:
            if broken(value):
                out.append((flatten(chain), value, message))

    return check


def _string_checks(spec: Spec) -> Check | None:
    low, high, pattern = spec.min_length, spec.max_length, spec.pattern
    if low is None and high is None and pattern is None:
        return None
    search = pattern.search if pattern is not None else None
    low_msg = f"must be at least {_plural(low, 'character')} (minLength)" if low else ""
    high_msg = (
        f"must be at most {_plural(high, 'character')} (maxLength)" if high is not None else ""
    )
    pattern_msg = f"must match {show(pattern.pattern)} (pattern)" if pattern is not None else ""

    def check(value: Any, chain: Chain, out: list[Problem]) -> None:
        n = len(value)  # code points, as JSON Schema counts
        if low is not None and n < low:
            out.append((flatten(chain), value, low_msg))
        if high is not None and n > high:
            out.append((flatten(chain), value, high_msg))
        if search is not None and search(value) is None:
            out.append((flatten(chain), value, pattern_msg))

    return check


def _array_check(spec: Spec) -> Check | None:
    low, high = spec.min_items, spec.max_items
    items = checker(spec.items) if spec.items is not None else None
    if low is None and high is None and items is None:
        return None
    low_msg = f"must have at least {_plural(low, 'item')} (minItems)" if low is not None else ""
    high_msg = f"must have at most {_plural(high, 'item')} (maxItems)" if high is not None else ""

    def check(value: Any, chain: Chain, out: list[Problem]) -> None:
        n = len(value)
        if low is not None and n < low:
            out.append((flatten(chain), value, low_msg))
        if high is not None and n > high:
            out.append((flatten(chain), value, high_msg))
        if items is not None:
            for i, item in enumerate(value):
                items(item, (chain, i), out)

    return check


_FORBIDDEN: Final = "unknown key, not allowed (additionalProperties: false)"


def _object_check(spec: Spec) -> Check | None:
    required = spec.required
    properties = {k: checker(v) for k, v in spec.properties.items()}
    additional = spec.additional
    extra = checker(additional) if isinstance(additional, Spec) else None
    forbid = additional is False
    if not required and not properties and extra is None and not forbid:
        return None

    def check(value: Any, chain: Chain, out: list[Problem]) -> None:
        for key in required:
            if key not in value:
                out.append(((*flatten(chain), key), None, "required, missing (required)"))
        get = properties.get
        for key, item in value.items():
            sub = get(key)
            if sub is not None:
                sub(item, (chain, key), out)
            elif extra is not None:
                extra(item, (chain, key), out)
            elif forbid:
                out.append(((*flatten(chain), key), item, _FORBIDDEN))

    return check
