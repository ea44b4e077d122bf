"""Validation rules, declared as data so one table drives checks, messages and the JSON Schema.

Each rule names the fields it reads by their JSON names (within one section) and carries
Volcano's exact message. ``compile`` binds the names to positions in the flat value tuple of an
effective config (see ``nodeconf.model.fields``) and returns a checker: a function from the
values to a list of ``Violation``.

A rule only looks at *set* fields (``None`` means unset), like Volcano's ``Validate`` methods.

A ``Violation`` names the candidate fields that may be blamed, the rule's subject first. The
validator blames the candidate whose value came from the most specific layer (override over
global over defaults), and the subject when two candidates tie (see
``nodeconf.model.validation``).

Thread-safety: rules and compiled checkers are immutable and pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AtLeast",
    "Checker",
    "CommaSeparatedChoice",
    "NotAbove",
    "Positive",
    "Rule",
    "Violation",
    "Within",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: the message and the blameable field positions, subject first."""

    message: str
    candidates: tuple[int, ...]


Checker = Callable[[Sequence[object]], list[Violation]]


@dataclass(frozen=True, slots=True)
class Positive:
    """``field <= 0`` is an error (``field`` must be a positive number)."""

    field: str
    message: str

    def compile(self, index: Mapping[str, int]) -> Checker:
        i = index[self.field]
        violation = [Violation(self.message, (i,))]

        def check(values: Sequence[object]) -> list[Violation]:
            v = values[i]
            if v is not None and v <= 0:  # type: ignore[operator]
                return violation
            return []

        return check

    def schema(self) -> dict[str, Any]:
        return {"minimum": 1}


@dataclass(frozen=True, slots=True)
class Within:
    """``field`` outside ``low..high`` (inclusive) is an error."""

    field: str
    low: int
    high: int
    message: str

    def compile(self, index: Mapping[str, int]) -> Checker:
        i, low, high = index[self.field], self.low, self.high
        violation = [Violation(self.message, (i,))]

        def check(values: Sequence[object]) -> list[Violation]:
            v = values[i]
            if v is not None and not low <= v <= high:  # type: ignore[operator]
                return violation
            return []

        return check

    def schema(self) -> dict[str, Any]:
        return {"minimum": self.low, "maximum": self.high}


@dataclass(frozen=True, slots=True)
class AtLeast:
    """``field < low`` is an error."""

    field: str
    low: int
    message: str

    def compile(self, index: Mapping[str, int]) -> Checker:
        i, low = index[self.field], self.low
        violation = [Violation(self.message, (i,))]

        def check(values: Sequence[object]) -> list[Violation]:
            v = values[i]
            if v is not None and v < low:  # type: ignore[operator]
                return violation
            return []

        return check

    def schema(self) -> dict[str, Any]:
        return {"minimum": self.low}


@dataclass(frozen=True, slots=True)
class NotAbove:
    """Cross-field: ``low > high`` is an error when both are set.

    ``subject`` ("low" or "high") is the field the message is about; it is blamed when both
    values come from the same layer.
    """

    low: str
    high: str
    message: str
    subject: str = "low"

    def compile(self, index: Mapping[str, int]) -> Checker:
        lo, hi = index[self.low], index[self.high]
        order = (lo, hi) if self.subject == "low" else (hi, lo)
        violation = [Violation(self.message, order)]

        def check(values: Sequence[object]) -> list[Violation]:
            a, b = values[lo], values[hi]
            if a is not None and b is not None and a > b:  # type: ignore[operator]
                return violation
            return []

        return check

    def schema(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class CommaSeparatedChoice:
    """A comma-separated string whose every part is one of ``choices``.

    Unset or the empty string is fine. Every other part that is not exactly one of the choices
    (including an empty part, as in ``"cpu,,memory"``) is one violation, its message made by
    ``message_format.format(part=part)``.
    """

    field: str
    choices: tuple[str, ...]
    message_format: str

    def compile(self, index: Mapping[str, int]) -> Checker:
        i, choices, fmt = index[self.field], frozenset(self.choices), self.message_format

        def check(values: Sequence[object]) -> list[Violation]:
            v = values[i]
            if not v:
                return []
            assert isinstance(v, str)
            return [
                Violation(fmt.format(part=part), (i,))
                for part in v.split(",")
                if part not in choices
            ]

        return check

    def schema(self) -> dict[str, Any]:
        one = "(" + "|".join(self.choices) + ")"
        return {"pattern": f"^({one}(,{one})*)?$"}


Rule = Positive | Within | AtLeast | NotAbove | CommaSeparatedChoice
