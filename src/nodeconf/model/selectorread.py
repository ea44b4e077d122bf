"""Reading a label selector's decoded JSON into a compiled selector, every problem reported.

``compile_selector(raw, path, findings)`` and ``compile_override_selector(raw, index,
findings)`` (the selector of ``nodesConfig[index]``; its path is built only to report) give
what ``nodeconf.model.selectors`` describes: the semantics, which problems are errors and which
warnings, and the Go decoder's quirks are stated there.

Fast paths come first, for the shapes documents are made of: a plain ``matchLabels`` with
valid labels (kept as its own dict, which costs nothing to build), a plain ``matchExpressions``
of one ``In`` requirement (kept as its ``InPair``) and any plain ``matchExpressions`` (each
item exactly ``key``, ``operator`` and, for ``In``/``NotIn``, a non-empty array of strings;
every label valid). They report nothing: anything else, and every selector with a problem,
is read by the general reader, which reports each problem at its path in Kubernetes' order.
The label syntax verdicts come from the parse's ``Findings.labels``: labels it has seen
valid cost one C pass per selector part.

Thread-safety: pure apart from the ``Findings`` given (owned by the caller; its label verdicts
are safe to share).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from nodeconf.model.findings import Findings
from nodeconf.model.jsontext import join_path
from nodeconf.model.keymatch import FoldedNames
from nodeconf.model.labels import NAME_MAX, VALUE_PATTERN, LabelVerdicts
from nodeconf.model.selectors import (
    EVERYTHING,
    INVALID,
    NOTHING,
    OPERATORS,
    CompiledSelector,
    Requirement,
    Selector,
    as_selector,
)

__all__ = ["compile_override_selector", "compile_selector"]

_IN, _NOT_IN, _EXISTS, _DOES_NOT_EXIST = OPERATORS
_SELECTOR_KEYS: Final = ("matchLabels", "matchExpressions")
_EXPRESSION_KEYS: Final = ("key", "operator", "values")
_SELECTOR_FOLD: Final = FoldedNames(_SELECTOR_KEYS)
_EXPRESSION_FOLD: Final = FoldedNames(_EXPRESSION_KEYS)
#: ``Selector`` without the Python ``__new__`` of a ``NamedTuple``: ``(Selector, fields)``.
_new_selector: Final = tuple.__new__


def compile_selector(raw: object, path: str, findings: Findings | None = None) -> Selector:
    """Compile a selector's decoded JSON (``None`` when missing) found at ``path``.

    Problems go to ``findings`` (a fresh, discarded one when not given); see the module
    docstring for which are errors and which warnings.
    """
    return as_selector(_compile(raw, path, findings if findings is not None else Findings()))


def _base(where: str | int) -> str:
    return where if isinstance(where, str) else f"nodesConfig[{where}].selector"


def _compile(raw: object, where: str | int, f: Findings) -> CompiledSelector:
    if type(raw) is dict and len(raw) == 1:
        verdicts = f.labels
        match_labels = raw.get("matchLabels")
        if match_labels:
            # ``{"matchLabels": {k: v, ...}}``: kept as it is when every label is valid. A
            # value not seen valid before is checked here and remembered (one regex at most).
            # A matchLabels that is not an object has no ``items``, a value that is not a
            # string no ``isalnum`` (or no hash): the general reading reports them.
            try:
                for key, value in match_labels.items():
                    if value not in verdicts.values:
                        # Letters and digits pass without the regex (a value that is not a
                        # string has no ``isalnum``).
                        if (
                            not (value.isalnum() and value.isascii() and len(value) <= _NAME_MAX)
                            and _VALUE_FULLMATCH(value) is None
                        ):
                            break
                        # ``remember_valid`` inline (a call costs as much as the rest)
                        if len(verdicts.values) >= _LIMIT:
                            verdicts.values.clear()
                        verdicts.values[value] = None
                    if key not in verdicts.keys and verdicts.key(key) is not None:
                        break
                else:
                    f.keys += 1 + len(match_labels)
                    return match_labels  # type: ignore[no-any-return] # an object, checked
            except (AttributeError, TypeError):
                pass
        else:
            expressions = raw.get("matchExpressions")
            if type(expressions) is list and len(expressions) == 1:
                # ``[{"key": k, "operator": "In", "values": [...]}]``: kept as its ``InPair``.
                item = expressions[0]
                try:  # an item not an object, a missing field, an array or object value raise
                    if item["operator"] == _IN and len(item) == 3:
                        key = item["key"]
                        values = item["values"]
                        if (
                            type(values) is list
                            and values
                            and (
                                key in verdicts.keys  # seen valid: a string
                                or (type(key) is str and verdicts.key(key) is None)
                            )
                        ):
                            for value in values:
                                if value not in verdicts.values and (
                                    type(value) is not str or verdicts.value(value) is not None
                                ):
                                    break
                            else:
                                f.keys += 4
                                return (key, values)
                except (KeyError, TypeError):
                    pass  # then read by ``_plain_expressions`` or the general reading
            plain_expressions = _plain_expressions(expressions, f)
            if plain_expressions is not None:
                return _new_selector(Selector, ("requirements", (), plain_expressions))
    return _compile_general(raw, where, f)


def _plain_expressions(raw: object, f: Findings) -> tuple[Requirement, ...] | None:
    """The requirements of a plain ``matchExpressions`` (each item exactly ``key``,
    ``operator`` and, for ``In``/``NotIn``, a non-empty ``values`` of strings; every label
    valid), counting their keys as ``_compile_general`` does; ``None`` (nothing counted) for
    anything else, which ``_compile_general`` then reads and reports."""
    if type(raw) is not list or not raw:
        return None
    out: list[Requirement] = []
    keys = 1
    verdicts = f.labels
    for item in raw:
        if type(item) is not dict:
            return None
        n = len(item)
        key = item.get("key")
        op = item.get("operator")
        if type(key) is not str or (key not in verdicts.keys and verdicts.key(key) is not None):
            return None
        if op in (_IN, _NOT_IN):
            values = item.get("values")
            if n != 3 or type(values) is not list or not values:
                return None
            try:
                found: frozenset[str] = frozenset(values)
            except TypeError:  # an array or object item
                return None
            for value in found:
                if value not in verdicts.values and (
                    type(value) is not str or verdicts.value(value) is not None
                ):
                    return None
            out.append((key, op, found))
        elif op in (_EXISTS, _DOES_NOT_EXIST) and n == 2:
            out.append((key, op, _NO_VALUES))
        else:
            return None
        keys += n
    f.keys += keys
    return tuple(out)


_NO_VALUES: Final[frozenset[str]] = frozenset()
_NAME_MAX: Final = NAME_MAX
_LIMIT: Final = LabelVerdicts.LIMIT
_VALUE_FULLMATCH: Final = re.compile(VALUE_PATTERN).fullmatch


#: ``compile_selector`` for the selector of ``nodesConfig[index]``: ``(raw, index, findings)``;
#: the path is built only if there is something to report. Returns a ``CompiledSelector``.
compile_override_selector: Callable[[object, int, Findings], CompiledSelector] = _compile


def _compile_general(raw: object, where: str | int, f: Findings) -> Selector:
    if raw is None:
        f.warn(_base(where), None, "no selector: this override applies to no node")
        return NOTHING
    if type(raw) is not dict:
        f.wrong_type(_base(where), raw, "an object (a label selector)")
        return INVALID
    n = len(raw)
    f.keys += n
    match_labels = raw.get("matchLabels")
    match_expressions = raw.get("matchExpressions")
    if n != ("matchLabels" in raw) + ("matchExpressions" in raw):
        match_labels, match_expressions = _selector_fields(raw, where, f)
    ok = True
    equal: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()
    if match_labels is not None:
        if type(match_labels) is dict:
            f.keys += len(match_labels)
            verdicts = f.labels
            pairs: list[tuple[str, str]] = []
            for key, written in match_labels.items():
                value = "" if written is None else written  # Go stores a null map value as ""
                if type(value) is not str:
                    f.wrong_type(_labels_path(where, key), value, "a string")
                    ok = False
                    continue
                reason = verdicts.key(key)
                if reason is None:
                    reason = verdicts.value(value)
                if reason is not None:
                    f.warn(
                        _labels_path(where, key), value, f"{_INVALID}{reason}", "invalid selector"
                    )
                    ok = False
                pairs.append((key, value))
            if ok:
                equal = tuple(pairs)
        else:
            f.wrong_type(
                f"{_base(where)}.matchLabels", match_labels, "an object of label keys to values"
            )
            ok = False
    if match_expressions is not None:
        found = _match_expressions(match_expressions, where, f)
        if found is None:
            ok = False
        else:
            expressions = found
    if not ok:
        return INVALID
    if not equal and not expressions:
        return EVERYTHING
    return Selector("requirements", equal, expressions)


def _selector_fields(
    raw: dict[str, object], where: str | int, f: Findings
) -> tuple[object, object]:
    """``matchLabels`` and ``matchExpressions`` of a selector with other keys, read as Go does.

    Keys differing only in case count (and are reported); a later ``matchLabels`` is merged
    into an earlier one (Go reuses the map), ``null`` resets it; for ``matchExpressions`` the
    last one wins.
    """
    match_labels: object = None
    match_expressions: object = None
    for name, value in raw.items():
        field = name if name in _SELECTOR_KEYS else _SELECTOR_FOLD.match(name)
        if field is None:
            f.unknown(_base(where), name, value, _SELECTOR_KEYS)
            continue
        if field != name:
            f.folded(_base(where), name, value, field)
        if field == "matchExpressions":
            match_expressions = value
        elif type(match_labels) is dict and type(value) is dict:
            match_labels = {**match_labels, **value}
        else:
            match_labels = value
    return match_labels, match_expressions


_INVALID: Final = "invalid selector, override ignored: "


def _labels_path(where: str | int, key: str) -> str:
    return join_path(f"{_base(where)}.matchLabels", key)


def _expressions_path(where: str | int) -> str:
    return f"{_base(where)}.matchExpressions"


def _match_expressions(
    raw: object, where: str | int, f: Findings
) -> tuple[Requirement, ...] | None:
    if type(raw) is not list:
        f.wrong_type(_expressions_path(where), raw, "an array of label selector requirements")
        return None
    ok = True
    out: list[Requirement] = []
    for i, item in enumerate(raw):
        requirement = _requirement(item, where, i, f)
        if requirement is None:
            ok = False
        else:
            out.append(requirement)
    return tuple(out) if ok else None


def _requirement(raw: object, where: str | int, index: int, f: Findings) -> Requirement | None:
    """``matchExpressions[index]`` of the selector at ``where``; its path is built only to
    report a problem."""

    def path() -> str:
        return f"{_expressions_path(where)}[{index}]"

    if raw is None:  # Go decodes a null item as an empty requirement (operator "": invalid)
        raw = {}
    if type(raw) is not dict:
        f.wrong_type(path(), raw, "an object with key, operator and values")
        return None
    f.keys += len(raw)
    key: object = ""
    op: object = ""
    values: object = None
    for name, value in raw.items():
        field = name if name in _EXPRESSION_KEYS else _EXPRESSION_FOLD.match(name)
        if field is None:
            f.unknown(path(), name, value, _EXPRESSION_KEYS)
            continue
        if field != name:
            f.folded(path(), name, value, field)
        if field == "key":
            if value is not None:  # null leaves a Go string as it is
                key = value
        elif field == "operator":
            if value is not None:
                op = value
        else:
            values = value
    typed = True
    if type(key) is not str:
        f.wrong_type(f"{path()}.key", key, "a string")
        typed = False
    if type(op) is not str:
        f.wrong_type(f"{path()}.operator", op, "a string")
        typed = False
    items: list[str] = []
    if values is not None:
        if type(values) is not list:
            f.wrong_type(f"{path()}.values", values, "an array of strings")
            typed = False
        else:
            for j, v in enumerate(values):
                if v is None:  # Go decodes a null item of a []string as ""
                    items.append("")
                elif type(v) is not str:
                    f.wrong_type(f"{path()}.values[{j}]", v, "a string")
                    typed = False
                else:
                    items.append(v)
    if not typed:
        return None
    assert isinstance(key, str)
    assert isinstance(op, str)
    return _checked_requirement(key, op, items, path, f)


def _checked_requirement(
    key: str, op: str, values: list[str], path: Callable[[], str], f: Findings
) -> Requirement | None:
    def invalid(where: str, value: object, reason: str) -> None:
        f.warn(where, value, f"{_INVALID}{reason}", "invalid selector")

    # The checks in the order ``metav1.LabelSelectorAsSelector`` makes them: the operator,
    # then (``labels.NewRequirement``) the key, the number of values, each value.
    if op not in OPERATORS:
        invalid(
            f"{path()}.operator",
            op,
            f"{op!r} is not a valid label selector operator (use {', '.join(OPERATORS)})",
        )
        return None
    reason = f.labels.key(key)
    if reason:
        invalid(f"{path()}.key", key, reason)
        return None
    if op in (_IN, _NOT_IN):
        if not values:
            invalid(f"{path()}.values", values, f"operator {op} needs at least one value")
            return None
    elif values:
        invalid(f"{path()}.values", values, f"operator {op} must have no values")
        return None
    for j, v in enumerate(values):
        reason = f.labels.value(v)
        if reason:
            invalid(f"{path()}.values[{j}]", v, reason)
            return None
    return (key, op, frozenset(values))
