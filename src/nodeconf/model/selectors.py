"""Kubernetes label selectors, with the exact semantics of ``metav1.LabelSelectorAsSelector``.

* A missing (or ``null``) selector matches **no** node.
* An empty selector (``{}``, or empty ``matchLabels`` and ``matchExpressions``) matches
  **every** node.
* ``matchLabels`` ``{k: v}`` requires label ``k`` with value ``v``.
* ``matchExpressions`` items: ``In`` (label present, value in ``values``), ``NotIn`` (label
  absent, or value not in ``values``), ``Exists`` (present), ``DoesNotExist`` (absent). ``In``
  and ``NotIn`` need a non-empty ``values``; ``Exists`` and ``DoesNotExist`` must have none;
  operators are case-sensitive and any other operator is invalid.
* Every key must be a valid label key and every value a valid label value
  (``nodeconf.model.labels``). The checks run in Kubernetes' order (operator, then key, then
  the number of values, then each value), so the first problem reported is the one Kubernetes
  would name.
* As Volcano's Go decoder reads the JSON: a ``null`` ``matchLabels`` value or ``values`` item is
  ``""``; a ``null`` ``matchExpressions`` item is an empty requirement (operator ``""``:
  invalid); the field names (``matchLabels``, ``key``, ...) also match case-insensitively
  (reported as a warning); label keys inside ``matchLabels`` never do.

An *invalid* selector (bad syntax, bad operator, wrong number of values) never raises: the
selector compiles to one that matches nothing (its override is inert, as Volcano skips it) and
a **warning** with the path of the offending part is recorded. A selector whose JSON *types* are
wrong (``matchLabels`` an array, a value a number) is an **error** instead: Volcano cannot
decode such a document at all, so nodeconf never delivers it either.

This module holds the compiled form and its matching; ``nodeconf.model.selectorread`` reads a
selector's JSON into it (once per document); ``Selector.matches`` is then a few dict lookups.

Thread-safety: ``Selector`` is immutable; the functions are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, NamedTuple

__all__ = [
    "EVERYTHING",
    "INVALID",
    "NOTHING",
    "OPERATORS",
    "CompiledSelector",
    "InPair",
    "Requirement",
    "Selector",
    "SelectorKind",
    "as_selector",
    "selector_matches",
]

SelectorKind = Literal["nothing", "everything", "invalid", "requirements"]

_IN, _NOT_IN, _EXISTS, _DOES_NOT_EXIST = "In", "NotIn", "Exists", "DoesNotExist"
#: The operators Kubernetes accepts in ``matchExpressions`` (case-sensitive).
OPERATORS: Final = (_IN, _NOT_IN, _EXISTS, _DOES_NOT_EXIST)

Requirement = tuple[str, str, frozenset[str]]


class Selector(NamedTuple):
    """A compiled label selector.

    ``kind`` is ``nothing`` (missing selector), ``everything`` (empty selector), ``invalid``
    (matches nothing; a warning or error was recorded) or ``requirements``: ``equal`` holds
    the ``matchLabels`` pairs and ``expressions`` the ``(key, operator, values)`` of
    ``matchExpressions``.

    Thread-safety: immutable.
    """

    kind: SelectorKind
    equal: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        """The label keys this selector reads (none unless it is ``requirements``)."""
        return frozenset([k for k, _ in self.equal] + [k for k, _, _ in self.expressions])

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a node with ``labels`` is selected."""
        kind = self.kind
        if kind != "requirements":
            return kind == "everything"
        for key, value in self.equal:  # ``labels.get`` in place: cheaper than a bound ``get``
            if labels.get(key) != value:
                return False
        for key, op, values in self.expressions:
            actual = labels.get(key)
            if op == _IN:
                if actual is None or actual not in values:
                    return False
            elif op == _NOT_IN:
                if actual is not None and actual in values:
                    return False
            elif op == _EXISTS:
                if actual is None:
                    return False
            elif actual is not None:  # DoesNotExist
                return False
        return True


NOTHING: Final = Selector("nothing")
EVERYTHING: Final = Selector("everything")
INVALID: Final = Selector("invalid")


#: One ``In`` requirement kept on its own: ``(key, values)``, a plain ``tuple`` (never a
#: ``Selector``) of a valid label key and the non-empty list of valid label values as written
#: (never changed), which selects a node whose label ``key`` is one of ``values``.
InPair = tuple[str, list[str]]

#: What the parser keeps per override: a ``Selector``; for the common plain
#: ``{"matchLabels": {...}}`` with valid labels, that (already checked) label dict itself,
#: which costs nothing to build; for a plain ``{"matchExpressions": [...]}`` of one valid
#: ``In`` requirement, its ``InPair`` (``get(key) in values`` is its whole match: a label
#: value is never ``None``; the list is searched in order, as short as the document made it).
#: ``as_selector`` and ``selector_matches`` accept all three; tell them apart by ``type()``
#: (``dict``, ``tuple``, else ``Selector``).
CompiledSelector = Selector | dict[str, str] | InPair


def as_selector(compiled: CompiledSelector) -> Selector:
    """The ``Selector`` of a compiled selector."""
    if type(compiled) is dict:
        return Selector("requirements", tuple(compiled.items()))
    if type(compiled) is tuple:
        pair: InPair = compiled  # type: ignore[assignment] # mypy keeps Selector (a tuple too)
        return Selector("requirements", (), ((pair[0], _IN, frozenset(pair[1])),))
    assert isinstance(compiled, Selector)
    return compiled


def selector_matches(compiled: CompiledSelector, labels: Mapping[str, str]) -> bool:
    """Whether a compiled selector selects a node with ``labels``."""
    if type(compiled) is dict:
        for key, value in compiled.items():  # noqa: SIM110 - a plain loop is faster than all()
            if labels.get(key) != value:
                return False
        return True
    if type(compiled) is tuple:
        return labels.get(compiled[0]) in compiled[1]
    assert isinstance(compiled, Selector)
    return compiled.matches(labels)
