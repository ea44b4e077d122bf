"""The unknown-key scan of one layer of a document, compiled per ``Spec``.

``scanner(spec)(value, prefix, chain, findings)`` warns about every key of ``value`` (found at
``prefix`` followed by the path ``chain``) that the schema does not know where it does not say
whether other keys are allowed, and adds the number of object keys it passes to
``findings.keys`` (for the duplicate-key check of ``nodeconf.model.jsontext``).
``entry_scanner(spec, skip)`` is the same for an override, whose key ``skip`` (its selector)
is not looked at: the selector's parser counts its keys.

The scan runs for every override of every document, so the common case costs little: it is
one generated function (``codegen``) per ``Spec``, with objects three levels deep scanned
inline; one set lookup per key passes the key by (a property whose valid values hold no key: a
scalar, an array of scalars, an enum of scalars; or the selector), an object of such
properties is checked with one set comparison, a value that may hold keys is visited, and
the path of a key is built only to warn. Keys inside a value of the wrong type
(an object where the schema wants a string) are not counted: the count is then short and the
duplicate check takes its slow, exact path; the count is never too high.

Compiled once per ``Spec`` and kept on it (a benign race, as in ``compiled``).

Thread-safety: the functions are pure (they write only the caller's ``Findings``).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, repeat
from typing import Any, Final

from nodeconf.model.findings import Findings
from nodeconf.model.generic.codegen import Source, Writer
from nodeconf.model.generic.compiled import Chain, flatten, render
from nodeconf.model.generic.spec import UNSET, Spec, compiled
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
    """Whether no valid value of ``spec`` holds an object key (a scalar, or an array of them;
    an ``enum`` or ``const`` of scalars whatever its type)."""
    if spec.enum is not None and not any(type(v) in _CONTAINER_TYPES for v in spec.enum):
        return True
    if spec.const is not UNSET and type(spec.const) not in _CONTAINER_TYPES:
        return True
    types = spec.types
    if types is None or "object" in types:
        return False
    return spec.items is None or _keyless(spec.items)


_CONTAINER_TYPES: Final = (dict, list, tuple)


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
    src = Source("scan")
    _ScanWriter(src).body(spec, "value", "chain", skip, 0)
    fn: Scan = src.function("scan(value, prefix, chain, f)")
    return fn


#: Levels of objects scanned inline below the root; a deeper one is a call to its own scan.
_INLINE_DEPTH: Final = 3
#: Properties of one object dispatched one by one; an object with more uses a table.
_INLINE_KEYS: Final = 16


class _ScanWriter(Writer):
    """Writes the statements of one scan (see the module docstring for what a scan does)."""

    __slots__ = ()

    def body(self, spec: Spec, value: str, chain: str, skip: str | None, depth: int) -> None:
        """The scan of ``value`` (any JSON value) against ``spec``; ``chain``: the expression
        of its path's chain, built only to warn."""
        src, c = self.src, self.src.const
        additional = spec.additional
        passed = {k for k, v in spec.properties.items() if _keyless(v)}
        if skip is not None:
            passed.add(skip)
        visited = {k: v for k, v in spec.properties.items() if k not in passed}
        count, key, item = src.var(), src.var(), src.var()
        with src.block(f"if type({value}) is dict:"):
            src.line(f"{count} = len({value})")
            with src.block(f"for {key}, {item} in {value}.items():"):
                if passed:
                    src.line(f"if {key} in {c(frozenset(passed))}: continue")
                below = f"({chain}, {key})"
                if len(visited) > _INLINE_KEYS:
                    self.table(visited, key, item, count, below)
                    visited = {}
                for name, sub in visited.items():
                    with src.block(f"if {key} == {c(name)}:"):
                        self.child(sub, item, count, below, depth)
                        src.line("continue")
                if isinstance(additional, Spec):
                    self.child(additional, item, count, below, depth)
                elif additional or not spec.properties:
                    self.child(None, item, count, below, depth)  # any value: every key counted
                else:
                    render_path = f"{c(render)}(prefix, {c(flatten)}({chain}))"
                    known = c(tuple(spec.properties))
                    src.line(f"f.unknown({render_path}, {key}, {item}, {known})")
            src.line(f"f.keys += {count}")
        items = spec.items
        index = src.var()
        with (
            src.block(f"elif type({value}) is list:"),
            src.block(f"for {index}, {item} in enumerate({value}):"),
            src.block(f"if type({item}) is dict or type({item}) is list:"),
        ):
            self.visit(items, item, f"({chain}, {index})", depth)

    def child(self, spec: Spec | None, item: str, count: str, chain: str, depth: int) -> None:
        """The scan of a property's (or another key's) value ``item``: an object of scalars
        is one set comparison; a scalar is passed by."""
        src = self.src
        if spec is not None and _flat(spec):
            keys = src.const(frozenset(spec.properties))
            self.counted(f"{keys}.issuperset({item})", item, count)
        else:
            src.line(f"if type({item}) is not dict and type({item}) is not list: continue")
        self.visit(spec, item, chain, depth)

    def counted(self, known: str, item: str, count: str) -> None:
        """Pass ``item`` by: counted whole when it is an object and ``known`` (its keys are
        those of an object of scalars), skipped when it is a scalar; an array goes on."""
        src = self.src
        with src.block(f"if type({item}) is dict:"), src.block(f"if {known}:"):
            src.line(f"{count} += len({item})")
            src.line("continue")
        src.line(f"elif type({item}) is not list: continue")

    def table(self, visited: dict[str, Spec], key: str, item: str, count: str, chain: str) -> None:
        """The visited properties of a wide object: one table lookup per key, then a call."""
        src = self.src
        table = {
            k: (frozenset(v.properties) if _flat(v) else None, scanner(v))
            for k, v in visited.items()
        }
        found, keys, visit = src.var(), src.var(), src.var()
        src.line(f"{found} = {src.const(table.get)}({key})")
        with src.block(f"if {found} is not None:"):
            src.line(f"{keys}, {visit} = {found}")
            self.counted(f"{keys} is not None and {keys}.issuperset({item})", item, count)
            src.line(f"{visit}({item}, prefix, {chain}, f)")
            src.line("continue")

    def visit(self, spec: Spec | None, item: str, chain: str, depth: int) -> None:
        """The scan of ``item`` (an object or an array) against ``spec`` (``None``: any)."""
        found = _free if spec is None else scanner(spec)
        if found is _free:
            self.src.line(f"f.keys += {self.src.const(count_keys)}({item})")
        elif depth >= _INLINE_DEPTH or not self.src.roomy():
            self.src.line(f"{self.src.const(found)}({item}, prefix, {chain}, f)")
        else:
            assert spec is not None
            self.body(spec, item, chain, None, depth + 1)


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
