"""The unknown-key scan of one layer of a document, compiled per ``Spec``.

``scanner(spec)(value, prefix, chain, findings)`` warns about every key of ``value`` (found at
``prefix`` followed by the path ``chain``) that the schema does not know where it does not say
whether other keys are allowed, and adds the number of object keys it passes to
``findings.keys`` (for the duplicate-key check of ``nodeconf.model.jsontext``).
``entry_scanner(spec, skip)`` is the same for an override, whose key ``skip`` (its selector)
is not looked at: the selector's parser counts its keys.

The scan runs for every override of every document, so the common case costs little: one
table lookup per key says whether to pass the key by (a scalar property, the selector),
check its value inline (an object of scalars: one set comparison) or visit it (a value that
may hold keys), and the path of a key is built only to warn. Keys inside a value of the wrong type
(an object where the schema wants a string) are not counted: the count is then short and the
duplicate check takes its slow, exact path; the count is never too high.

Compiled once per ``Spec`` and kept on it (a benign race, as in ``compiled``).

Thread-safety: the closures are pure (they write only the caller's ``Findings``).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, repeat
from typing import Any, Final

from nodeconf.model.findings import Findings
from nodeconf.model.generic.compiled import Chain, flatten, render
from nodeconf.model.generic.spec import Spec, compiled
from nodeconf.model.jsontext import count_keys

__all__ = ["Batch", "Scan", "entry_scanners", "scanner"]

#: ``(value, prefix, chain, findings)``: warn about the unknown keys of ``value``.
Scan = Callable[[Any, str, Chain, Findings], None]
#: Values of one spec (every override, or every value of one property) -> the number of keys
#: in them, or ``None`` when some key may be unknown (then scan each value). The batch of the
#: overrides (``entry_scanners``) takes objects only.
Batch = Callable[[list[Any]], "int | None"]
#: A property the scan visits: the key set of an object of scalars (checked inline by the
#: parent; ``None`` for anything else) and the property's scan.
_Child = tuple["frozenset[str] | None", Scan]
#: What the scan's table gives for a key the schema does not know.
_UNKNOWN: Final[Any] = object()


def scanner(spec: Spec) -> Scan:
    """The scan of ``spec`` (compiled once, kept on the spec)."""
    result: Scan = compiled(spec, "compiled_scan", lambda s: _compile(s, None))
    return result


def entry_scanners(spec: Spec, skip: str) -> tuple[Scan, Batch]:
    """The scan of one override of ``spec``, which does not look at its key ``skip``, and the
    batch scan of every override at once (compiled once, kept on the spec; ``skip`` is always
    the same key)."""
    found: tuple[str, Scan, Batch] | None = spec.compiled_entry_scan
    if found is None or found[0] != skip:
        found = (skip, _compile(spec, skip), _batch(spec, skip))
        object.__setattr__(spec, "compiled_entry_scan", found)
    return found[1], found[2]


def _free(value: Any, prefix: str, chain: Chain, f: Findings) -> None:
    f.keys += count_keys(value)


def _keyless(spec: Spec) -> bool:
    """Whether no valid value of ``spec`` holds an object key (a scalar, or an array of them)."""
    types = spec.types
    if types is None or "object" in types:
        return False
    return spec.items is None or _keyless(spec.items)


def _flat(spec: Spec) -> bool:
    """Whether ``spec`` is an object of scalars: its scan is one set comparison."""
    return (
        bool(spec.properties)
        and spec.additional is None
        and all(_keyless(v) for v in spec.properties.values())
    )


def _compile(spec: Spec, skip: str | None) -> Scan:
    additional = spec.additional
    if skip is None and not spec.properties:
        if not isinstance(additional, Spec) and (spec.items is None or additional is False):
            return _free  # a leaf (a dict here is a type error, reported by the validator)
        if additional is None and scanner(spec.items) is _free:  # type: ignore[arg-type]
            return _free  # an array of leaves
    known = tuple(spec.properties)
    # Each key the scan may meet: a property whose values may hold keys (with its key set
    # when it is an object of scalars, checked inline), or ``None`` for a key to pass by.
    table: dict[str, _Child | None] = {
        k: (frozenset(v.properties) if _flat(v) else None, scanner(v)) if not _keyless(v) else None
        for k, v in spec.properties.items()
    }
    if skip is not None:
        table[skip] = None
    extra: _Child | None = (
        (None, scanner(additional))
        if isinstance(additional, Spec)
        else (None, _free)
        if additional or not spec.properties
        else None
    )
    items = scanner(spec.items) if spec.items is not None else _free

    def scan(value: Any, prefix: str, chain: Chain, f: Findings) -> None:
        t = type(value)
        if t is dict:
            n = len(value)
            get = table.get
            for key, item in value.items():
                child = get(key, _UNKNOWN)
                if child is None:
                    continue
                if child is _UNKNOWN:
                    if extra is None:
                        f.unknown(render(prefix, flatten(chain)), key, item, known)
                        continue
                    child = extra
                flat, visit = child
                if type(item) is dict:
                    if flat is not None and flat.issuperset(item):
                        n += len(item)
                        continue
                elif type(item) is not list:
                    continue
                visit(item, prefix, (chain, key), f)
            f.keys += n
        elif t is list:
            for i, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    items(item, prefix, (chain, i), f)

    return scan


_DICT: Final = frozenset({dict})
_LIST: Final = frozenset({list})
_CONTAINERS: Final = frozenset({dict, list})


def _no_keys(values: list[Any]) -> int | None:
    """The batch of values that should hold no object or array."""
    return None if set(map(type, values)) & _CONTAINERS else 0


def _batch(spec: Spec, skip: str | None) -> Batch:
    """The batch scan of ``spec``: what the scan of each value would count when it would warn
    about nothing, found with a few passes in C per property (see ``Batch``)."""
    items = _batch(spec.items, None) if spec.items is not None else _no_keys
    if not spec.properties:

        def leaves(values: list[Any]) -> int | None:
            """Scalars (passed by) or arrays; an object here is left to the scan."""
            types = set(map(type, values))
            if types == _LIST:
                return items(list(chain.from_iterable(values)))
            return None if types & _CONTAINERS else 0

        return leaves
    allowed = frozenset(spec.properties) if skip is None else frozenset((*spec.properties, skip))
    children = {k: _batch(v, None) for k, v in spec.properties.items() if not _keyless(v)}

    def objects(values: list[dict[str, Any]]) -> int | None:
        keys = set().union(*values)
        if not allowed.issuperset(keys):
            return None
        n = sum(map(len, values))
        for key in keys.intersection(children):
            # Falsy values (null, {}, [], 0, "") hold no key: the scan passes them by too.
            found = children[key](list(filter(None, map(dict.get, values, repeat(key)))))
            if found is None:
                return None
            n += found
        return n

    if skip is not None:
        return objects  # the overrides, every one an object (the caller checked)

    def batch(values: list[Any]) -> int | None:
        types = set(map(type, values))
        if types == _DICT:
            return objects(values)
        if types == _LIST:
            return items(list(chain.from_iterable(values)))
        return None if types & _CONTAINERS else 0

    return batch
